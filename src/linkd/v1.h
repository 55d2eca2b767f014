/*
 * v1.h: airlock-linkd's CommModule v1 listener (link.protocol =
 * "commmodule-v1"; docs/legacy-v1.md). It turns each v1 request into
 * airlock requests that go down linkd's normal path (queue, signer,
 * policy, audit) and turns their answers into what the old webdb client
 * expects. Pure apart from the clock the caller passes in: it never reads
 * or writes a device; the caller feeds bytes in and writes v1_out() out.
 */
#ifndef LINKD_V1_H
#define LINKD_V1_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

#define V1_GAP_MS	1000	/* a quiet line inside a frame: NAK */
#define V1_ACK_MS	5000	/* the peer's ACK of our STX or frame */
#define V1_JOB_MS	100000	/* the old client waits 120 s for an answer */

/* linkd's side: where the airlock requests go, and delivery reports. */
struct v1_host {
	void	(*request)(void *, const uint8_t *, size_t);
	void	(*delivered)(void *, uint64_t tag);
	void	*arg;
};

struct v1_stats {
	uint64_t	 requests;	/* good v1 frames */
	uint64_t	 keepalives, time_samples, signs, pgps, revokes, crls;
	uint64_t	 refused;	/* answered empty (docs/legacy-v1.md) */
	uint64_t	 answered;	/* answers the peer acknowledged */
	uint64_t	 tx_lost;	/* answers the peer never acknowledged */
	uint64_t	 abandoned;	/* jobs overtaken by a new request or too slow */
	uint64_t	 patches;	/* CRL answers sent as xdelta patches */
};

struct v1;

/* v1.c */
struct v1 *v1_new(const struct cfg *, const struct v1_host *);
void	 v1_free(struct v1 *);
void	 v1_input(struct v1 *, const uint8_t *, size_t, uint64_t now_ms);
/* An airlock answer from linkd (stored or fresh); tag as for link_send. */
void	 v1_answer(struct v1 *, const uint8_t *, size_t, int64_t tag, uint64_t now_ms);
void	 v1_tick(struct v1 *, uint64_t now_ms);
int	 v1_timeout_ms(const struct v1 *, uint64_t now_ms);
struct buf *v1_out(struct v1 *);
void	 v1_reset(struct v1 *);		/* the cable went away */
void	 v1_stats_line(const struct v1 *, char *, size_t);

#endif
