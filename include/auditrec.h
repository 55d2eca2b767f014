/*
 * auditrec.h: one audit record as bytes (src/pki/auditrec.c): its canonical
 * form and hash, the chain check one record at a time, and the form the
 * records and the signed chain head take on the link (docs/protocol.md
 * section 9.7). No database here: the signer's chain in ca.db (audit.h)
 * and webdb's mirror (mirror.h) both build on it.
 */
#ifndef AUDITREC_H
#define AUDITREC_H

#include <stddef.h>
#include <stdint.h>

#include "airlock.h"
#include "util.h"

#define AUDIT_HASH_LEN	32
#define AUDIT_TEXT_MAX	2048		/* longest text appended */
#define AUDIT_KIND_MAX	16
#define AUDIT_ACTOR_MAX	64
#define AUDIT_HEAD_LEN	48		/* seq (u64) || hash || time (u64) */
#define AUDIT_SIG_LEN	64		/* Ed25519 */
#define AUDIT_WIRE_MAX	65536		/* AUDIT_RECS of one answer at most */

enum audit_kind {
	AUDIT_ISSUE	= 1,	/* a certificate was issued */
	AUDIT_REJECT	= 2,	/* a request got a final error answer */
	AUDIT_REVOKE	= 3,	/* a certificate was revoked */
	AUDIT_CRL	= 4,	/* a CRL was issued */
	AUDIT_TIME	= 5,	/* the clock was corrected */
	AUDIT_OPERATOR	= 6,	/* airlockctl changed something */
	AUDIT_PGP	= 7,	/* an OpenPGP key was certified */
	AUDIT_DAEMON	= 8,	/* airlock-signerd started or stopped */
	AUDIT_WARNING	= 9,	/* a warning or error a daemon logged */
	AUDIT_INTEGRITY	= 10,	/* the integrity report: digests of the installation */
	AUDIT_KIND_LAST	= 10,
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

/* A record's columns as stored: pointer and length, nothing cut. */
struct audit_col {
	const uint8_t	*p;
	size_t		 n;
};
struct audit_raw {
	int64_t		 seq, time;
	struct audit_col kind, reqid, root, actor, text, prev, hash;
};

/* What a chain check found. */
struct audit_check {
	int64_t		 records;		/* records read */
	int64_t		 head_seq;		/* last record, 0 none */
	uint8_t		 head[AUDIT_HASH_LEN];	/* its hash */
	int64_t		 bad_seq;		/* first bad record, 0 none */
	char		 why[256];		/* what is wrong with it */
};

/* The signer's chain head as it signs it. */
struct audit_head {
	int64_t		 seq;			/* 0: an empty chain */
	uint8_t		 hash[AUDIT_HASH_LEN];
	int64_t		 time;			/* when it was signed */
};

const char *audit_kind_name(int);
/* Appends the canonical bytes of r (what its hash covers after prev). */
int	 audit_encode(const struct audit_raw *, struct buf *);
/* The canonical bytes of a record, for tests and export checkers. */
int	 audit_canonical(const struct audit_rec *, struct buf *);
void	 audit_raw_of(const struct audit_rec *, struct audit_raw *);
void	 audit_rec_of(const struct audit_raw *, struct audit_rec *);
/* hash = SHA-256(prev || canonical) */
int	 audit_hash(const struct audit_raw *, const uint8_t prev[AUDIT_HASH_LEN],
	    uint8_t out[AUDIT_HASH_LEN]);
/* One record against the chain so far (want_seq, prev): 0 good, 1 bad
 * (c->bad_seq, c->why), -1 error. */
int	 audit_check_one(const struct audit_raw *, int64_t want_seq,
	    const uint8_t prev[AUDIT_HASH_LEN], struct audit_check *c);
/* After a walk: the head kept elsewhere (head_seq, head) must still be in
 * it; at_head is the hash the walk saw at head_seq. 0 or 1 (c->why). */
int	 audit_check_head(int64_t head_seq, const uint8_t *head,
	    const uint8_t *at_head, struct audit_check *c);
/* The same check, one record at a time, for a chain read from an export:
 * start with a zeroed struct audit_check and a zeroed prev; 0 good (prev
 * and c move on), 1 bad (c->bad_seq, c->why). */
int	 audit_check_next(struct audit_check *c, uint8_t prev[AUDIT_HASH_LEN],
	    const struct audit_rec *);

/* The link form (docs/protocol.md 9.7). One record of AUDIT_RECS:
 * u32 length || canonical bytes || prev || hash. */
int	 audit_wire_put(struct buf *, const struct audit_raw *);
/* The next record of AUDIT_RECS at *off: 1 and w (pointing into p), 0 at
 * the end, -1 malformed (why). */
int	 audit_wire_next(const uint8_t *p, size_t n, size_t *off,
	    struct audit_raw *w, char *why, size_t whysz);
/* One JSON line (with its newline) for a record, for export --json. */
int	 audit_json(const struct audit_raw *, struct buf *);
void	 audit_head_put(const struct audit_head *, uint8_t out[AUDIT_HEAD_LEN]);
void	 audit_head_get(const uint8_t in[AUDIT_HEAD_LEN], struct audit_head *);

/* The audit key: Ed25519, PKCS#8 PEM (secret) and SubjectPublicKeyInfo
 * PEM (public). A head is signed as "airlock-audit-head-v1" || head bytes. */
struct audit_key;
int	 audit_key_new(const char *secret_path, const char *public_path,
	    char *why, size_t whysz);
struct audit_key *audit_key_load(const char *path, int secret, char *why, size_t whysz);
void	 audit_key_free(struct audit_key *);
int	 audit_head_sign(struct audit_key *, const struct audit_head *,
	    uint8_t sig[AUDIT_SIG_LEN]);
int	 audit_head_verify(struct audit_key *, const struct audit_head *,
	    const uint8_t sig[AUDIT_SIG_LEN]);	/* 1 good, 0 bad */

#endif
