/*
 * store.h: the three SQLite databases. queue.db belongs to airlock-linkd,
 * ca.db to airlock-signerd, outbox.db to airlock-client. Each is opened in
 * WAL mode with synchronous=FULL: a function that returns 0 after a write
 * has committed it durably, and only then may the caller acknowledge.
 * Only the store modules (db.c, queue.c, castore.c, outbox.c) include
 * sqlite3.h. Functions return 0 / -1 (errors are logged) unless noted.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>
#include <time.h>

#include "airlock.h"
#include "util.h"

struct db;

/* db.c */
int	 db_open(const char *path, int readonly, const char *schema, struct db **);
void	 db_close(struct db *);
int	 db_integrity_ok(struct db *);		/* PRAGMA integrity_check */
const char *db_last_error(struct db *);

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
int	 queue_open(const char *path, int readonly, struct db **);
/* 1: new row committed; 0: already known (answer, if any, in *answer); -1 error */
int	 queue_put(struct db *, const uint8_t *reqid, int type, const char *root,
	    const uint8_t *req, size_t reqlen, struct buf *answer);
int	 queue_set_state(struct db *, const uint8_t *reqid, int state);
/* Stores the answer; state becomes Q_ANSWERED, or Q_FAILED with code/reason. */
int	 queue_set_answer(struct db *, const uint8_t *reqid, const uint8_t *ans,
	    size_t anslen, int code, const char *reason);
/* Calls fn for each request not yet answered, oldest first, at most max. */
int	 queue_pending(struct db *, int only_received, int max, int (*fn)(void *, int64_t id,
	    const uint8_t *req, size_t len), void *arg);
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

/* castore.c: airlock-signerd's CA database */
struct castore_cert {
	const char	*root;
	const uint8_t	*serial;
	size_t		 serial_len;
	const uint8_t	*reqid;
	time_t		 not_before, not_after;
	const char	*subject;
	const uint8_t	*der;
	size_t		 der_len;
};
int	 castore_open(const char *path, int readonly, struct db **);
/* 1 and the stored answer bytes if this request id was answered, 0 if not */
int	 castore_answer(struct db *, const uint8_t *reqid, struct buf *answer);
int	 castore_serial_used(struct db *, const char *root, const uint8_t *serial, size_t len);
/* One transaction: the answer, and the certificate if c is not NULL. */
int	 castore_record(struct db *, const uint8_t *reqid, int type, const char *root,
	    int code, const uint8_t *answer, size_t anslen, const struct castore_cert *c);
int	 castore_time_sample(struct db *, uint64_t webdb_ns, uint64_t local_ns,
	    uint64_t mono_ns, int sync);
int64_t	 castore_cert_count(struct db *, const char *root);
/* Deletes at most max stored answers to CRL_FETCH given before the Unix
 * time before (never any other answer); *n: how many. */
int	 castore_prune(struct db *, int64_t before, int max, int64_t *n);

/* castore_bulk.c: group commit, counts, export and import of ca.db */
/* Nesting transactions: the outermost is durable at its commit; inner
 * ones are savepoints (the signer's group commit wraps castore_record). */
int	 castore_begin(struct db *);
int	 castore_commit(struct db *);
void	 castore_rollback(struct db *);
struct castore_counts {
	int64_t		 issued;	/* every certificate of the root */
	int64_t		 valid;		/* not revoked, not expired */
	int64_t		 revoked;
	int64_t		 expired;	/* not revoked, notAfter passed */
};
int	 castore_root_counts(struct db *, const char *root, time_t now,
	    struct castore_counts *);
struct castore_row {
	const uint8_t	*serial;	/* unsigned big-endian, no leading zero */
	size_t		 serial_len;
	const uint8_t	*der;
	size_t		 der_len;
	time_t		 not_before, not_after;
	const char	*subject;	/* RFC 2253 */
	int64_t		 revoked;	/* revocation time; 0 not revoked */
	int		 reason;	/* CRLReason; -1 none */
	int64_t		 invalidity;	/* invalidity date; 0 none */
};
/* Calls fn for each certificate of root in the order of issue (or of
 * import); fn returning -1 stops the walk and makes this return -1. */
int	 castore_each_cert(struct db *, const char *root,
	    int (*fn)(void *, const struct castore_row *), void *arg);
struct castore_import {
	int64_t		 total;		/* lines of index.txt */
	int64_t		 lines_done;	/* committed so far */
	int64_t		 imported;	/* certificates added */
	int64_t		 finished;	/* Unix time; 0 not yet */
	char		 next_serial[80];	/* the source's serial file */
	char		 crlnumber[80];		/* the source's crlnumber file */
};
/* 1 found, 0 no import of src into root yet, -1 error */
int	 castore_import_get(struct db *, const char *root, const char *src,
	    struct castore_import *);
int	 castore_import_start(struct db *, const char *root, const char *src,
	    int64_t total);
/* One transaction: the rows and lines_done. 0 ok, -1 error, -2 rows[*conflict]
 * has a serial that ca.db holds with other bytes (nothing is committed). */
int	 castore_import_chunk(struct db *, const char *root, const char *src,
	    const struct castore_row *rows, size_t n, int64_t lines_done,
	    size_t *conflict);
int	 castore_import_finish(struct db *, const char *root, const char *src,
	    const char *next_serial, const char *crlnumber);

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
int	 outbox_open(const char *path, int readonly, struct db **);
/* 1 added, 0 the request id exists already, -1 error */
int	 outbox_add(struct db *, const uint8_t *reqid, int type, const char *name,
	    const uint8_t *req, size_t len);
/* Calls fn for each request not answered whose row id is above after, in order. */
int	 outbox_pending(struct db *, int64_t after, int max, int (*fn)(void *,
	    const struct outbox_item *, const uint8_t *req, size_t len), void *arg);
int	 outbox_set_state(struct db *, const uint8_t *reqid, int state);
int	 outbox_set_sent(struct db *, int64_t id);	/* new -> sent */
/* 1 stored, 0 unknown or already answered (a duplicate answer), -1 error */
int	 outbox_answer(struct db *, const uint8_t *reqid, int state, int code,
	    const uint8_t *ans, size_t len);
int	 outbox_get(struct db *, const uint8_t *reqid, struct outbox_item *,
	    struct buf *ans);		/* 1 found, 0 not, -1 error */
int	 outbox_request(struct db *, const uint8_t *reqid, struct buf *req);
int	 outbox_counts(struct db *, int64_t counts[O_NSTATES]);
/* Deletes at most max answered rows (done, failed) last changed before the
 * Unix time before (never the row with the highest id); *n: how many. */
int	 outbox_prune(struct db *, int64_t before, int max, int64_t *n);

#endif
