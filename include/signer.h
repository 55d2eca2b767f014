/*
 * signer.h: the signer's request handling, apart from its FIFOs, so that
 * tests can call it directly. Every request gets an answer message: a
 * CERT, a TIME_ACK, or an ERROR with a code and a sentence. Answers are
 * committed to ca.db before they are returned, and a request id that was
 * answered before gets the stored answer again, byte for byte.
 */
#ifndef SIGNER_H
#define SIGNER_H

#include "ca.h"
#include "config.h"
#include "store.h"
#include "util.h"

struct ca;
struct psl;
struct pgp_root;
struct pgp_result;
struct audit_key;

struct signer_stats {
	uint64_t	 requests;
	uint64_t	 issued;
	uint64_t	 rejected;	/* answered with an error */
	uint64_t	 replayed;	/* answered from the store */
	uint64_t	 storage_errors;
	uint64_t	 time_samples;
	uint64_t	 pgp_certified;	/* OpenPGP keys certified */
	uint64_t	 batches_again;	/* recorded again, a savepoint a request */
};

#define SIGNER_SERIAL_LEN	16	/* 126 random bits: positive, fixed length */
#define SIGNER_SERIAL_DRAW	64	/* serials per RAND_bytes call */

struct signer {
	const struct cfg *cfg;
	struct db	*db;
	struct ca	*ca[CFG_MAX_ROOTS];	/* by index in cfg->roots: the key
						 * that issues, the last of keys[] */
	struct ca_key	 keys[CFG_MAX_ROOTS][CA_GEN_SLOTS];	/* every generation */
	int		 nkeys[CFG_MAX_ROOTS];
	struct psl	*psl;			/* cfg->psl_file, or NULL */
	struct pgp_root	*pgp[CFG_MAX_ROOTS];	/* by index in cfg->pgp_roots */
	struct signer_stats st;
	int		 drift_warned;		/* the last sample was over time.warn_offset */
	uint64_t	 drift_logged_ms;	/* last drift or pause warning logged */
	struct audit_key *audit_key;		/* signer.audit_key, or NULL */
	int64_t		 audit_committed;	/* chain head before this batch */
	int64_t		 audit_mirrored;	/* what webdb last said it holds */
	int		 audit_disagree_logged;
	struct signer_record *record;		/* signer_record.c */
	struct signer_pool *pool;		/* signer_pool.c, or NULL */
	struct buf	 outcomes;		/* the batch's log lines, until its commit */
	int		 restoring;		/* ca.db.restored: waits for webdb */
	/* random bytes for serial numbers, drawn SIGNER_SERIAL_DRAW serials
	 * at a time (the main thread's; wiped as they are used) */
	uint8_t		 serial_rand[SIGNER_SERIAL_DRAW * SIGNER_SERIAL_LEN];
	size_t		 serial_left;		/* serials left in serial_rand */
	struct {
		struct signer_stats before;	/* to undo a failed commit */
		int	 failed;		/* retryable answers so far */
		int	 open;			/* recorded, not yet committed */
	}		 batch;			/* signer_batch_record */
	struct {
		uint64_t certs, revocations, audit, known, refused, batches;
		int64_t	 crl_max;		/* highest CRL number webdb sent */
		int	 finishing;		/* END applied, not yet committed */
		char	 text[256];		/* the progress, as status shows it */
	}		 cu;			/* signer_restore.c */
};

/* signer.c */
/* Opens ca.db and loads every root's CA; a sentence in why on failure. */
int	 signer_init(struct signer *, const struct cfg *, char *why, size_t whysz);
/* signer_init in two steps, for airlock-signerd: the keys (which may be
 * readable by root only) before the privilege drop, the database after it,
 * so that files SQLite creates belong to the signer's user. */
int	 signer_load_keys(struct signer *, const struct cfg *, char *why, size_t whysz);
int	 signer_open_db(struct signer *, char *why, size_t whysz);
void	 signer_free(struct signer *);
/* Answers one request. Returns 0, or -1 when the answer is a retryable
 * storage error that was not recorded (the request must be sent again). */
int	 signer_handle(struct signer *, const uint8_t *req, size_t len, struct buf *ans);
/* The generation of root i's issuing key (1 before any rollover). */
int	 signer_key_gen(const struct signer *, int i);

#define SIGNER_BATCH_MAX	128	/* requests per group commit in airlock-signerd */

/* A fresh serial for root: random, not in ca.db. 0 or -1. */
int	 signer_serial(struct signer *, const char *root,
	    uint8_t serial[SIGNER_SERIAL_LEN]);

struct signer_req {
	const uint8_t	*p;		/* one request message */
	size_t		 len;
};
/* Answers n requests (ans[i] for r[i]) with one durable commit for all of
 * them: the answers exist only once everything they record is committed.
 * Returns how many answers are retryable storage errors (0: all final).
 * The same as signer_batch_ahead, signer_batch_record, signer_batch_commit. */
int	 signer_handle_batch(struct signer *, const struct signer_req *r, size_t n,
	    struct buf *ans);

/*
 * The pipeline, in three steps per batch (airlock-signerd, bench-sign):
 * signer_batch_ahead starts signing a batch on the pool's threads (up to
 * SIGNER_AHEAD batches, signer_ahead_room; the requests' bytes must stay
 * where they are until the batch is committed); signer_batch_record opens
 * the transaction of the oldest of them and handles its requests in order,
 * filling ans, which are not final yet; signer_batch_commit makes them
 * durable (or turns them all into retryable errors) and returns what
 * signer_handle_batch returns. Only then may the answers leave. Between
 * record and commit of batch k, batch k+2 may be given to
 * signer_batch_ahead: so the threads sign while batch k is committed.
 */
#define SIGNER_AHEAD	2	/* batches signing ahead of the one recorded */
void	 signer_batch_ahead(struct signer *, const struct signer_req *r, size_t n);
void	 signer_batch_record(struct signer *, const struct signer_req *r, size_t n,
	    struct buf *ans);
int	 signer_batch_commit(struct signer *, const struct signer_req *r, size_t n,
	    struct buf *ans);

struct msg;
struct drift_clock;
/* signer_time.c */
/* Records a TIME sample (auth set: it came over the link) and warns about
 * drift; 0 or -1. */
int	 signer_time_record(struct signer *, const struct msg *,
	    const struct drift_clock *);
/* 1 and a sentence when time.stop_offset is set and a usable sample shows
 * the clock further off than that: requests that sign wait (error 502). */
int	 signer_time_paused(struct signer *, char *why, size_t whysz);

/* signer_hold.c: dual control. AL_OK: sign it now; else the code to answer
 * with, and whether that answer is recorded (503 "held" is not). */
struct ca_request;
int	 signer_hold(struct signer *, const struct msg *, const struct cfg_root *,
	    const struct cfg_profile *, struct ca *, const struct ca_request *,
	    int *record, char *why, size_t whysz);

/* signer_pgp.c */
/* The OpenPGP roots of the configuration (signer_load_keys). */
int	 signer_pgp_load(struct signer *, char *why, size_t whysz);
void	 signer_pgp_free(struct signer *);
/* PGP_CERTIFY: fills ans (PGP_CERTIFIED pointing into res->sigs, or an
 * ERROR) and root; returns the code. */
int	 signer_pgp_certify(struct signer *, const struct msg *req, struct msg *ans,
	    struct pgp_result *res, char *root, size_t rootsz, char *why, size_t whysz);

/* signer_record.c: the signer's own records in the audit chain */
struct signer_record;
/* At start, after the database is open and before the sandbox: the
 * "daemon" record, the first integrity report, the warning hook. */
int	 signer_record_start(struct signer *, const char *config);
/* Between batches: queued warnings, the daily integrity report. */
void	 signer_record_tick(struct signer *, uint64_t now_ms);
/* A warning line to record (rate-limited per actor); s NULL: the hook's. */
void	 signer_record_warning(struct signer *, const char *actor, const char *line,
	    uint64_t now_ms);
void	 signer_record_stop(struct signer *);

/* signer_audit.c */
struct signer_audit_out {
	struct buf	 recs;			/* AUDIT_RECS */
	uint8_t		 head[48], sig[64];	/* AUDIT_HEAD, AUDIT_SIG */
};
int	 signer_audit_load(struct signer *, char *why, size_t whysz);
/* AUDIT_FETCH: fills ans (AUDIT_LOG pointing into o); returns the code. */
int	 signer_audit_fetch(struct signer *, const struct msg *req, struct msg *ans,
	    struct signer_audit_out *o, char *why, size_t whysz);

/* signer_serials.c */
/* SERIALS_FETCH: fills ans (SERIALS pointing into list and req) and root;
 * returns the code. */
int	 signer_serials_fetch(struct signer *, const struct msg *req, struct msg *ans,
	    struct buf *list, char *root, size_t rootsz, char *why, size_t whysz);

/* signer_restore.c: after airlockctl restore (docs/protocol.md 9.8) */
void	 signer_restore_start(struct signer *);
/* 1 and a sentence when a request of this type must wait for the catch-up. */
int	 signer_restoring(struct signer *, int type, char *why, size_t whysz);
/* CATCHUP: applies its items, fills ans (CATCHUP_STATE pointing into o and
 * s); returns the code. */
int	 signer_catchup(struct signer *, const struct msg *req, struct msg *ans,
	    struct signer_audit_out *o, char *why, size_t whysz);
/* After the batch's commit (ok 1) or its failure (0). */
void	 signer_restore_committed(struct signer *, int ok);

struct ca_issued;

/* signer_pool.c: signing threads and the pipeline (airlock-signerd).
 * start: before the sandbox; 0 or -1 (no memory: the main thread signs). */
int	 signer_pool_start(struct signer *);
void	 signer_pool_stop(struct signer *);
/* Can one more batch be given to signer_batch_ahead? */
int	 signer_ahead_room(const struct signer *);
/* Is the oldest batch given to signer_batch_ahead signed (or none)? */
int	 signer_ahead_ready(struct signer *);
/* A descriptor that polls readable when a signing thread has finished the
 * oldest batch (-1 without threads); signer_ahead_drain reads it empty. */
int	 signer_ahead_fd(const struct signer *);
void	 signer_ahead_drain(const struct signer *);
/* Before signer_pre_take: waits until the batch r (the oldest given to
 * signer_batch_ahead; none: nothing) is signed, signing what waits. */
void	 signer_pre_wait(struct signer *, const struct signer_req *, size_t n);
/* The result signed ahead for m, taken once: 1 (serial, issued, code and
 * why filled), or 0: none, sign now. */
int	 signer_pre_take(struct signer *, const struct msg *m, uint8_t *serial,
	    struct ca_issued *, int *code, char *why, size_t whysz);
/* After the ordered pass: what nobody took is dropped. */
void	 signer_pre_clear(struct signer *);
/* After signer_pre_wait: were all n requests of the batch signed ahead? */
int	 signer_pre_all(const struct signer *, size_t n);

#endif
