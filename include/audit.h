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

#define AUDIT_HASH_LEN	32
#define AUDIT_TEXT_MAX	2048		/* longest text appended */
#define AUDIT_KIND_MAX	16
#define AUDIT_ACTOR_MAX	64

enum audit_kind {
	AUDIT_ISSUE	= 1,	/* a certificate was issued */
	AUDIT_REJECT	= 2,	/* a request got a final error answer */
	AUDIT_REVOKE	= 3,	/* a certificate was revoked */
	AUDIT_CRL	= 4,	/* a CRL was issued */
	AUDIT_TIME	= 5,	/* the clock was corrected */
	AUDIT_OPERATOR	= 6,	/* airlockctl changed something */
	AUDIT_PGP	= 7,	/* an OpenPGP key was certified */
	AUDIT_KIND_LAST	= 7,
};

/* One record as read back; text is cut to fit, the hash covers all of it. */
struct audit_rec {
	int64_t		 seq;			/* 1, 2, 3 ... */
	int64_t		 time;			/* Unix seconds, the signer's clock */
	char		 kind[AUDIT_KIND_MAX];	/* "issue", "reject", ... */
	int		 has_reqid;
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	char		 root[AIRLOCK_NAME_MAX];
	char		 actor[AUDIT_ACTOR_MAX];	/* program and user */
	char		 text[AUDIT_TEXT_MAX];
	uint8_t		 prev[AUDIT_HASH_LEN];
	uint8_t		 hash[AUDIT_HASH_LEN];
};

/* What audit_verify found. */
struct audit_check {
	int64_t		 records;		/* records read */
	int64_t		 head_seq;		/* last record, 0 none */
	uint8_t		 head[AUDIT_HASH_LEN];	/* its hash */
	int64_t		 bad_seq;		/* first bad record, 0 none */
	char		 why[256];		/* what is wrong with it */
};

/* audit.c */
const char *audit_kind_name(int);
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
/* The same check, one record at a time, for a chain read from an export:
 * start with a zeroed struct audit_check and a zeroed prev; 0 good (prev
 * and c move on), 1 bad (c->bad_seq, c->why). */
int	 audit_check_next(struct audit_check *c, uint8_t prev[AUDIT_HASH_LEN],
	    const struct audit_rec *);
/* Calls fn for each record with seq > after, in order, at most max (0: all),
 * only those of request reqid unless it is NULL; fn returning -1 stops the
 * walk. */
int	 audit_each(struct db *, int64_t after, int64_t max, const uint8_t *reqid,
	    int (*fn)(void *, const struct audit_rec *), void *arg);
int	 audit_last_seq(struct db *, int64_t *seq);	/* 0 when empty */
/* The canonical bytes a record's hash covers (after prev), for tests and
 * export checkers. */
int	 audit_canonical(const struct audit_rec *, struct buf *);
/* The actor for records made by this process: "prog:user". */
void	 audit_actor(const char *prog, char *out, size_t outsz);

#endif
