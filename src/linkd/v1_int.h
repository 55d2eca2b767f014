/*
 * v1_int.h: the inside of the CommModule v1 listener, shared by v1.c (the
 * transfers), v1_map.c (requests to airlock messages and answers back) and
 * v1_crl.c (the CRLs webdb may hold, and xdelta patches against them).
 */
#ifndef LINKD_V1_INT_H
#define LINKD_V1_INT_H

#include <stdarg.h>

#include "airlock.h"
#include "msg.h"
#include "v1.h"
#include "v1frame.h"

enum v1_tx { V1_TX_IDLE = 0, V1_TX_STX = 1, V1_TX_FRAME = 2 };
enum v1_job_kind {
	V1_JOB_NONE	= 0,
	V1_JOB_SIGN	= 1,	/* SIGN: CERT becomes the PEM answer */
	V1_JOB_PGP	= 2,	/* PGP_CERTIFY: the key with the new signatures */
	V1_JOB_REVOKE	= 3,	/* REVOKE, then a CRL_FETCH */
	V1_JOB_CRL	= 4,	/* CRL_FETCH: the CRL or a patch to it */
};

#define V1_SHA1_LEN	20
#define V1_CRL_SLOTS	8		/* CRLs remembered for patches, all roots */
#define V1_CRL_MAX	(16u << 20)	/* larger ones are not remembered */

struct v1_crl {
	char		 root[AIRLOCK_NAME_MAX];
	uint8_t		 sha1[V1_SHA1_LEN];	/* how webdb names it */
	struct buf	 der;
	uint64_t	 used;		/* 0 empty; else last use, for replacement */
};

struct v1_crls {
	struct v1_crl	 c[V1_CRL_SLOTS];
	uint64_t	 clock;
};

struct v1_job {
	int		 kind;		/* enum v1_job_kind */
	uint8_t		 reqid[AIRLOCK_REQID_LEN];	/* what we wait for */
	char		 root[AIRLOCK_NAME_MAX];
	uint8_t		 held[V1_SHA1_LEN];	/* SHA-1 of webdb's CRL */
	int		 have_held;
	struct buf	 key;		/* PGP: the key as webdb sent it */
	uint64_t	 deadline;
};

struct v1 {
	const struct cfg *c;
	struct v1_host	 h;
	struct v1_dec	 dec;
	struct buf	 out;		/* bytes for the cable */
	struct buf	 frame;		/* the answer frame, for NAK and repeat */
	int		 tx;		/* enum v1_tx */
	int		 tx_naks;
	uint64_t	 tx_at;		/* give up waiting for the peer's ACK */
	int64_t		 tx_tag;	/* queue row of the answer, or -1 */
	uint64_t	 last_rx;
	uint64_t	 time_next;	/* next keepalive that becomes a time sample */
	struct v1_job	 job;
	struct v1_crls	 crls;		/* CRLs sent, for patches */
	struct v1_stats	 st;
};

/* v1.c */
void	 v1_send(struct v1 *, int action, const uint8_t *, size_t, int64_t tag, uint64_t now);
/* code: the enum al_err it would have been in airlock's protocol, for the log */
void	 v1_refuse(struct v1 *, int action, int code, uint64_t now, const char *, ...)
	    __attribute__((format(printf, 5, 6)));

/* v1_map.c */
/* Puts m on linkd's normal path; with a job kind, waits for its answer. */
void	 v1_submit(struct v1 *, struct msg *, int kind, int action, uint64_t now);
void	 v1_do_keepalive(struct v1 *, const struct v1_req *, uint64_t now);
void	 v1_do_sign(struct v1 *, const struct v1_req *, uint64_t now);
void	 v1_do_pgp(struct v1 *, const struct v1_req *, uint64_t now);
void	 v1_do_revoke(struct v1 *, const struct v1_req *, uint64_t now);
void	 v1_job_answer(struct v1 *, const struct msg *, int64_t tag, uint64_t now);

/* v1_xdelta.c */
/* An xdelta 1.1 patch (uncompressed, MD5-checked) turning old into new. */
int	 v1_xdelta(const uint8_t *old, size_t olen, const uint8_t *new, size_t nlen,
	    struct buf *out);
/* The answer to a CRL request: an xdelta patch from the CRL webdb holds
 * (held: its SHA-1, or NULL) when that is one we sent and the patch is
 * smaller, else the full CRL as PEM. The CRL is remembered. 0, or -1. */
int	 v1_crl_answer(struct v1_crls *, const char *root, const uint8_t *held,
	    const uint8_t *der, size_t len, struct buf *out, int *patched);
void	 v1_crl_forget(struct v1_crls *);

/* v1_pgp.c */
void	 v1_pgp_answer(struct v1 *, const struct msg *, int64_t tag, uint64_t now);

#endif
