/*
 * queue.h: airlock-linkd's queue.db (src/store/queue.c) and airlockctl's
 * changes to it (queue_op.c).
 * Functions return 0 / -1 (errors are logged) unless noted.
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <stdint.h>
#include <time.h>

#include "airlock.h"
#include "store.h"
#include "util.h"

/* queue.c: airlock-linkd's queue of requests from the cable */
enum queue_state {
	Q_RECEIVED	= 0,	/* committed, not yet given to the signer */
	Q_HANDED	= 1,	/* written to the signer FIFO */
	Q_ANSWERED	= 2,	/* answer stored, not yet acknowledged by the peer */
	Q_DELIVERED	= 3,	/* the peer's link acknowledged the answer */
	Q_FAILED	= 4,	/* answered with an error; terminal too */
	Q_NSTATES
};
struct queue_item {
	int64_t		 id;
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	int		 type;
	int		 state;
	int		 code;		/* error code of a failed request */
	int64_t		 received;	/* unix seconds */
	int64_t		 updated;
	char		 reason[256];	/* error sentence */
	char		 root[AIRLOCK_NAME_MAX];
};
const char *queue_state_name(int);
int	 queue_open(const char *path, int mode, struct db **);	/* DB_RW, DB_RO, DB_RW_EXISTING */
/* linkd's group commit: what is written between begin and commit is made
 * durable by the commit alone (rolled back when it fails); 0 or -1. */
int	 queue_begin(struct db *);
int	 queue_commit(struct db *);
/* 1: new row committed (or written in the open transaction); 0: already known (answer, if any, in *answer); -1 error */
int	 queue_put(struct db *, const uint8_t *reqid, int type, const char *root,
	    const uint8_t *req, size_t reqlen, struct buf *answer);
int	 queue_set_state(struct db *, const uint8_t *reqid, int state);
/* Stores the answer; state becomes Q_ANSWERED, or Q_FAILED with code/reason. */
int	 queue_set_answer(struct db *, const uint8_t *reqid, const uint8_t *ans,
	    size_t anslen, int code, const char *reason);
/* Calls fn for each request not yet answered (only_received: not yet
 * handed either) whose queue id is above after, oldest first, at most max;
 * stops when fn returns -1. The number of rows seen, or -1. */
int	 queue_pending(struct db *, int only_received, int64_t after, int max,
	    int (*fn)(void *, int64_t id, const uint8_t *req, size_t len), void *arg);
int	 queue_set_delivered(struct db *, int64_t id);	/* answered -> delivered */
int	 queue_counts(struct db *, int64_t counts[Q_NSTATES], int64_t *oldest_pending);
int	 queue_list(struct db *, int state, int max,
	    void (*fn)(void *, const struct queue_item *), void *arg);
int	 queue_get(struct db *, const uint8_t *reqid, struct queue_item *,
	    struct buf *req, struct buf *ans);	/* 1 found, 0 not, -1 error */
/* Deletes at most max delivered and failed rows last changed before the
 * Unix time before (never the row with the highest id); *n: how many. */
int	 queue_prune(struct db *, int64_t before, int max, int64_t *n);
/* When the oldest delivered or failed row last changed; 0 none. */
int	 queue_oldest_finished(struct db *, int64_t *t);

/* queue_op.c: airlockctl's changes to queue.db */
/* An unanswered request (received or handed) back to received, for linkd
 * to hand again: 1 done, 0 not in such a state, -1 error. */
int	 queue_requeue(struct db *, const uint8_t *reqid);
/* Requests received since a Unix time. */
int	 queue_rate(struct db *, int64_t since, int64_t *n);

#endif
