/*
 * audit.h: the signer's audit log, a hash chain in ca.db. One record per
 * issuance, recorded rejection, revocation, CRL issued, clock correction and
 * operator action. Each record's hash is SHA-256 over the previous record's
 * hash and the record's own canonical bytes (docs/architecture.md, "The
 * audit chain"), so a record that is changed, deleted or moved breaks the
 * chain at that record. Records are appended inside the caller's
 * transaction when there is one (the signer's certificate and its audit
 * record commit together).
 */
#ifndef AUDIT_H
#define AUDIT_H

#include <stdint.h>

#include "airlock.h"
#include "store.h"
#include "util.h"

#include "auditrec.h"

/* audit.c */
/* Creates the table if it is missing (read-write handles only). */
int	 audit_init(struct db *);
/* Appends one record; reqid and root may be NULL. Returns its seq, or -1. */
int64_t	 audit_add(struct db *, int kind, const uint8_t *reqid, const char *root,
	    const char *actor, const char *text);
int64_t	 audit_addf(struct db *, int kind, const uint8_t *reqid, const char *root,
	    const char *actor, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* Walks the whole chain. 0 intact, 1 broken (c->bad_seq, c->why), -1 error.
 * With head_seq > 0 it also checks that record head_seq still exists and
 * has the hash head (a truncated chain is otherwise invisible). */
int	 audit_verify(struct db *, int64_t head_seq, const uint8_t *head,
	    struct audit_check *c);
/* Calls fn for each record with seq > after, in order, at most max (0: all),
 * only those of request reqid unless it is NULL; fn returning -1 stops the
 * walk. */
int	 audit_each(struct db *, int64_t after, int64_t max, const uint8_t *reqid,
	    int (*fn)(void *, const struct audit_rec *), void *arg);
int	 audit_each_raw(struct db *, int64_t after, int64_t max, const uint8_t *reqid,
	    int (*fn)(void *, const struct audit_raw *), void *arg);
int	 audit_last_seq(struct db *, int64_t *seq);	/* 0 when empty */
/* The stored hash of record seq: 1 found, 0 none, -1 error. */
int	 audit_hash_at(struct db *, int64_t seq, uint8_t hash[AUDIT_HASH_LEN]);
/* How far webdb has mirrored the chain, as its last AUDIT_FETCH said, and
 * whether the signer's record at that seq has the hash webdb holds. */
int	 audit_mirror_set(struct db *, int64_t seq, const uint8_t *hash,
	    int64_t when, int agrees);
int	 audit_mirror_get(struct db *, int64_t *seq, int64_t *when, int *agrees);
/* Small values the signer keeps beside the chain (its clean stop, the
 * last integrity digests): 1 found, 0 none, -1 error; value NULL deletes. */
int	 audit_state_get(struct db *, const char *key, struct buf *out);
int	 audit_state_set(struct db *, const char *key, const char *value);
/* After a restore (ca.db.restored exists) records are held, not chained:
 * 1 while that is so. audit_restore_clear removes the mark. */
int	 audit_restore_pending(struct db *);
int	 audit_restore_clear(struct db *);
/* Holds (1) or chains (0) this process's records, whatever the mark says. */
void	 audit_restore_hold(int on);
/* The held records, appended in order with their own times; n of them. */
int	 audit_release_held(struct db *, int64_t *n);
/* A record of webdb's mirror (its link form): 2 appended (the next seq,
 * chaining on), 0 held already with that hash, 1 refused (why), -1 error. */
int	 audit_append_raw(struct db *, const struct audit_raw *, char *why, size_t whysz);
/* The actor for records made by this process: "prog:user". */
void	 audit_actor(const char *prog, char *out, size_t outsz);

#endif
