/*
 * catchup.h: webdb's half of the catch-up after a restore of the signer
 * (src/client/catchup.c, docs/protocol.md section 9.8), driven by the
 * audit mirror (mirror.c), whose audit.db it reads.
 */
#ifndef CATCHUP_H
#define CATCHUP_H

#include <stdint.h>

struct catchup;
struct cfg;
struct db;
struct link;
struct msg;

/* catchup.c */
struct catchup *catchup_new(const struct cfg *);
void	 catchup_free(struct catchup *);
void	 catchup_link_up(struct catchup *);
/* 1 while a restored signer is being sent what webdb holds. */
int	 catchup_active(const struct catchup *);
/* Sends the question, or the next batch, when one is due. */
void	 catchup_tick(struct catchup *, struct link *, uint64_t now, struct db *outbox,
	    struct db *mirror);
/* 1 when m answers the catch-up's message (then it is handled). */
int	 catchup_answer(struct catchup *, const struct msg *m, uint64_t now);

#endif
