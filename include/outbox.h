/*
 * outbox.h: airlock-client's outbox.db on webdb (src/store/outbox.c).
 * Functions return 0 / -1 (errors are logged) unless noted.
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stdint.h>
#include <time.h>

#include "airlock.h"
#include "store.h"
#include "util.h"

/* outbox.c: airlock-client's outbox on webdb */
enum outbox_state {
	O_NEW		= 0,	/* waiting to be sent */
	O_SENT		= 1,	/* the signer host's link acknowledged it */
	O_DONE		= 2,	/* answered with a certificate / CRL / ack */
	O_FAILED	= 3,	/* answered with an error */
	O_NSTATES
};
struct outbox_item {
	int64_t		 id;
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	int		 type;
	int		 state;
	int		 code;
	int64_t		 created;
	char		 name[128];	/* spool file name or "" */
};
const char *outbox_state_name(int);
int	 outbox_open(const char *path, int mode, struct db **);	/* DB_RW, DB_RO, DB_RW_EXISTING */
/* 1 added, 0 the request id exists already, -1 error */
int	 outbox_add(struct db *, const uint8_t *reqid, int type, const char *name,
	    const uint8_t *req, size_t len);
/* Calls fn for each request not answered whose row id is above after, in order. */
int	 outbox_pending(struct db *, int64_t after, int max, int (*fn)(void *,
	    const struct outbox_item *, const uint8_t *req, size_t len), void *arg);
/* The same for answered rows (done) of one request type, with the answer
 * (the catch-up after a restore, airlock-ocspd's certificates): how many
 * were seen (fn returning -1 stops the walk), or -1 on an error. */
int	 outbox_answers(struct db *, int64_t after, int type, int max, int (*fn)(void *,
	    const struct outbox_item *, const uint8_t *ans, size_t len), void *arg);
int	 outbox_set_state(struct db *, const uint8_t *reqid, int state);
int	 outbox_set_sent(struct db *, int64_t id);	/* new -> sent */
/* 1 stored, 0 unknown or already answered (a duplicate answer), -1 error */
/* The client's group commit: what is written between begin and commit is
 * made durable by the commit alone (rolled back when it fails); 0 or -1. */
int	 outbox_begin(struct db *);
int	 outbox_commit(struct db *);
void	 outbox_rollback(struct db *);	/* undoes outbox_begin's turn */
int	 outbox_answer(struct db *, const uint8_t *reqid, int state, int code,
	    const uint8_t *ans, size_t len);
int	 outbox_get(struct db *, const uint8_t *reqid, struct outbox_item *,
	    struct buf *ans);		/* 1 found, 0 not, -1 error */
/* 1 and the request bytes as queued, 0 unknown, -1 error */
int	 outbox_request(struct db *, const uint8_t *reqid, struct buf *req);
int	 outbox_counts(struct db *, int64_t counts[O_NSTATES]);
/* 1 when a request waits for its answer, 0 none, -1 error (cheap: an index) */
int	 outbox_unanswered(struct db *);
/* Deletes at most max answered rows (done, failed) last changed before the
 * Unix time before (never the row with the highest id); *n: how many. */
int	 outbox_prune(struct db *, int64_t before, int max, int64_t *n);
/* A named cursor (serialsync.c: "serials:ROOT"): 1 and its value, 0 none
 * (*value 0), -1 error. */
int	 outbox_cursor_get(struct db *, const char *name, int64_t *value);
int	 outbox_cursor_set(struct db *, const char *name, int64_t value);	/* durable */

#endif
