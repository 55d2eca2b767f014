/*
 * audit.c: the audit chain in ca.db (include/audit.h).
 *
 * A record's hash is SHA-256(prev || canonical), where prev is the hash of
 * the record before it (32 zero bytes before record 1) and canonical is
 *
 *   "airlock-audit-v1" (16 bytes) || seq (u64) || time (u64, two's
 *   complement) || kind || reqid || root || actor (each u16 length ||
 *   bytes; reqid is 0 or 16 bytes) || text (u32 length || bytes)
 *
 * all big-endian. seq is in the hash, so moving a record changes nothing
 * but still breaks the chain; lengths are in the hash, so no two records
 * share canonical bytes. The verifier hashes the column bytes exactly as
 * stored, checks that seq runs 1, 2, 3 ... without a gap, that each
 * record's prev is the hash before it, and that its hash is its own, and
 * names the first record where any of that fails. A chain cut short at its
 * end looks intact; an earlier head (seq and hash) kept elsewhere catches
 * that, which is what `audit verify --head` and the export are for.
 */
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "db.h"

#define AUDIT_LABEL	"airlock-audit-v1"

static const char audit_schema[] =
	"CREATE TABLE IF NOT EXISTS audit ("
	" seq INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" reqid BLOB,"
	" root TEXT NOT NULL DEFAULT '',"
	" actor TEXT NOT NULL DEFAULT '',"
	" text TEXT NOT NULL DEFAULT '',"
	" prev BLOB NOT NULL,"
	" hash BLOB NOT NULL);";

static const char *const audit_kinds[] = {
	NULL, "issue", "reject", "revoke", "crl", "time", "operator", "pgp-certify"
};

/* A column as stored: pointer and length (valid until the next step). */
struct audit_col {
	const uint8_t	*p;
	size_t		 n;
};

struct audit_raw {
	int64_t		 seq, time;
	struct audit_col kind, reqid, root, actor, text, prev, hash;
};

const char *
audit_kind_name(int k)
{
	if (k < AUDIT_ISSUE || k > AUDIT_KIND_LAST)
		return "?";
	return audit_kinds[k];
}

int
audit_init(struct db *d)
{
	return db_exec(d, audit_schema);
}

static int
audit_put_col(struct buf *b, const struct audit_col *c, int wide)
{
	if (wide ? buf_put_u32(b, (uint32_t)c->n) : buf_put_u16(b, (uint16_t)c->n))
		return -1;
	return c->n ? buf_put(b, c->p, c->n) : 0;
}

/* Appends the canonical bytes of r to b. */
static int
audit_encode(const struct audit_raw *r, struct buf *b)
{
	if (r->kind.n > UINT16_MAX || r->reqid.n > UINT16_MAX ||
	    r->root.n > UINT16_MAX || r->actor.n > UINT16_MAX ||
	    r->text.n > UINT32_MAX)
		return -1;
	if (buf_put(b, AUDIT_LABEL, strlen(AUDIT_LABEL)) == -1 ||
	    buf_put_u64(b, (uint64_t)r->seq) == -1 ||
	    buf_put_u64(b, (uint64_t)r->time) == -1 ||
	    audit_put_col(b, &r->kind, 0) == -1 ||
	    audit_put_col(b, &r->reqid, 0) == -1 ||
	    audit_put_col(b, &r->root, 0) == -1 ||
	    audit_put_col(b, &r->actor, 0) == -1 ||
	    audit_put_col(b, &r->text, 1) == -1)
		return -1;
	return 0;
}

static void
audit_col_str(struct audit_col *c, const char *s)
{
	c->p = (const uint8_t *)s;
	c->n = strlen(s);
}

/* The raw view of a record held in a struct audit_rec. */
static void
audit_raw_of(const struct audit_rec *r, struct audit_raw *w)
{
	memset(w, 0, sizeof(*w));
	w->seq = r->seq;
	w->time = r->time;
	audit_col_str(&w->kind, r->kind);
	if (r->has_reqid) {
		w->reqid.p = r->reqid;
		w->reqid.n = AIRLOCK_REQID_LEN;
	}
	audit_col_str(&w->root, r->root);
	audit_col_str(&w->actor, r->actor);
	audit_col_str(&w->text, r->text);
}

int
audit_canonical(const struct audit_rec *r, struct buf *b)
{
	struct audit_raw w;

	audit_raw_of(r, &w);
	buf_reset(b);
	return audit_encode(&w, b);
}

/* hash = SHA-256(prev || canonical) */
static int
audit_hash(const struct audit_raw *r, const uint8_t prev[AUDIT_HASH_LEN],
    uint8_t out[AUDIT_HASH_LEN])
{
	struct buf b;
	int rv = -1;

	buf_init(&b);
	if (buf_put(&b, prev, AUDIT_HASH_LEN) == 0 && audit_encode(r, &b) == 0) {
		crypto_sha256(b.p, b.len, out);
		rv = 0;
	}
	buf_free(&b);
	return rv;
}

int
audit_last_seq(struct db *d, int64_t *seq)
{
	return db_int64(d, "SELECT coalesce(max(seq), 0) FROM audit", seq);
}

/* The last record's seq and hash (seq 0 and zeros for an empty chain). */
static int
audit_head(struct db *d, int64_t *seq, uint8_t hash[AUDIT_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memset(hash, 0, AUDIT_HASH_LEN);
	if (db_cached(d, &st, "SELECT seq, hash FROM audit ORDER BY seq DESC "
	    "LIMIT 1") == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == AUDIT_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), AUDIT_HASH_LEN);
		else
			rc = SQLITE_CORRUPT;	/* cannot chain onto a broken head */
	}
	sqlite3_reset(st);
	if (rc == SQLITE_CORRUPT)
		log_warnx("%s: the last audit record has no valid hash; run "
		    "airlockctl audit verify", d->path);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
audit_insert(struct db *d, const struct audit_raw *r, const uint8_t *prev,
    const uint8_t *hash)
{
	sqlite3_stmt *st;

	/* kept prepared: one of these goes with every certificate issued */
	if (db_cached(d, &st, "INSERT INTO audit (seq, time, kind, reqid, root, "
	    "actor, text, prev, hash) VALUES (?,?,?,?,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, r->seq);
	sqlite3_bind_int64(st, 2, r->time);
	sqlite3_bind_text(st, 3, (const char *)r->kind.p, (int)r->kind.n, SQLITE_STATIC);
	if (r->reqid.n)
		sqlite3_bind_blob(st, 4, r->reqid.p, (int)r->reqid.n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_text(st, 5, (const char *)r->root.p, (int)r->root.n, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, (const char *)r->actor.p, (int)r->actor.n, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, (const char *)r->text.p, (int)r->text.n, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, prev, AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	return db_step_reset(d, st);
}

int64_t
audit_add(struct db *d, int kind, const uint8_t *reqid, const char *root,
    const char *actor, const char *text)
{
	struct audit_rec r;
	struct audit_raw w;
	uint8_t prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	int64_t last;

	if (kind < AUDIT_ISSUE || kind > AUDIT_KIND_LAST)
		return -1;
	memset(&r, 0, sizeof(r));
	r.time = time(NULL);
	snprintf(r.kind, sizeof(r.kind), "%s", audit_kind_name(kind));
	if (reqid != NULL) {
		r.has_reqid = 1;
		memcpy(r.reqid, reqid, AIRLOCK_REQID_LEN);
	}
	snprintf(r.root, sizeof(r.root), "%s", root ? root : "");
	snprintf(r.actor, sizeof(r.actor), "%s", actor ? actor : "");
	snprintf(r.text, sizeof(r.text), "%s", text ? text : "");
	/* the head is read and the record written under one write lock */
	if (db_begin(d) == -1)
		return -1;
	if (audit_head(d, &last, prev) == -1)
		goto fail;
	r.seq = last + 1;
	audit_raw_of(&r, &w);
	if (audit_hash(&w, prev, hash) == -1 || audit_insert(d, &w, prev, hash) == -1)
		goto fail;
	if (db_commit(d) == -1)
		return -1;
	return r.seq;
fail:
	db_rollback(d);
	return -1;
}

int64_t
audit_addf(struct db *d, int kind, const uint8_t *reqid, const char *root,
    const char *actor, const char *fmt, ...)
{
	char text[AUDIT_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return audit_add(d, kind, reqid, root, actor, text);
}

#define AUDIT_COLS "seq, time, kind, reqid, root, actor, text, prev, hash"

static void
audit_col(sqlite3_stmt *st, int i, struct audit_col *c)
{
	if (sqlite3_column_type(st, i) == SQLITE_BLOB)
		c->p = sqlite3_column_blob(st, i);
	else
		c->p = sqlite3_column_text(st, i);
	c->n = (size_t)sqlite3_column_bytes(st, i);
	if (c->p == NULL)
		c->n = 0;
}

static void
audit_raw_row(sqlite3_stmt *st, struct audit_raw *w)
{
	memset(w, 0, sizeof(*w));
	w->seq = sqlite3_column_int64(st, 0);
	w->time = sqlite3_column_int64(st, 1);
	audit_col(st, 2, &w->kind);
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		audit_col(st, 3, &w->reqid);
	audit_col(st, 4, &w->root);
	audit_col(st, 5, &w->actor);
	audit_col(st, 6, &w->text);
	audit_col(st, 7, &w->prev);
	audit_col(st, 8, &w->hash);
}

static void
audit_copy_str(char *dst, size_t dstsz, const struct audit_col *c)
{
	size_t n = c->n < dstsz - 1 ? c->n : dstsz - 1;

	memcpy(dst, c->p, n);
	dst[n] = '\0';
}

static void
audit_rec_of(const struct audit_raw *w, struct audit_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->seq = w->seq;
	r->time = w->time;
	audit_copy_str(r->kind, sizeof(r->kind), &w->kind);
	if (w->reqid.n == AIRLOCK_REQID_LEN) {
		r->has_reqid = 1;
		memcpy(r->reqid, w->reqid.p, AIRLOCK_REQID_LEN);
	}
	audit_copy_str(r->root, sizeof(r->root), &w->root);
	audit_copy_str(r->actor, sizeof(r->actor), &w->actor);
	audit_copy_str(r->text, sizeof(r->text), &w->text);
	if (w->prev.n == AUDIT_HASH_LEN)
		memcpy(r->prev, w->prev.p, AUDIT_HASH_LEN);
	if (w->hash.n == AUDIT_HASH_LEN)
		memcpy(r->hash, w->hash.p, AUDIT_HASH_LEN);
}

static int
audit_bad(struct audit_check *c, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
audit_bad(struct audit_check *c, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	c->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return 1;
}

/* One record against the chain so far: 0 good, 1 bad, -1 error. */
static int
audit_check_one(const struct audit_raw *w, int64_t want_seq,
    const uint8_t prev[AUDIT_HASH_LEN], struct audit_check *c)
{
	uint8_t h[AUDIT_HASH_LEN];

	if (w->seq > want_seq)
		return audit_bad(c, want_seq, want_seq + 1 == w->seq ?
		    "record %lld is missing (deleted)" :
		    "records %lld to %lld are missing (deleted)",
		    (long long)want_seq, (long long)w->seq - 1);
	if (w->seq < want_seq)
		return audit_bad(c, w->seq, "record %lld is out of sequence",
		    (long long)w->seq);
	if (w->prev.n != AUDIT_HASH_LEN || !crypto_memeq(w->prev.p, prev,
	    AUDIT_HASH_LEN))
		return audit_bad(c, w->seq, w->seq == 1 ? "record 1 does not "
		    "start the chain (replaced, or records moved)" : "record %lld "
		    "does not follow record %lld (records reordered or replaced, "
		    "or record %lld changed and re-hashed)", (long long)w->seq,
		    (long long)w->seq - 1, (long long)w->seq - 1);
	if (audit_hash(w, prev, h) == -1)
		return -1;
	if (w->hash.n != AUDIT_HASH_LEN || !crypto_memeq(w->hash.p, h,
	    AUDIT_HASH_LEN))
		return audit_bad(c, w->seq, "record %lld has been changed (its hash "
		    "does not match its contents)", (long long)w->seq);
	return 0;
}

/* After the walk: the head the caller kept must still be in the chain. */
static int
audit_check_head(int64_t head_seq, const uint8_t *head, const uint8_t *at_head,
    struct audit_check *c)
{
	if (head_seq > c->head_seq)
		return audit_bad(c, c->head_seq + 1, "the chain ends at record %lld "
		    "but record %lld was seen before: records were deleted from "
		    "the end", (long long)c->head_seq, (long long)head_seq);
	if (!crypto_memeq(at_head, head, AUDIT_HASH_LEN))
		return audit_bad(c, head_seq, "record %lld is not the record seen "
		    "before (its hash differs from the one given)",
		    (long long)head_seq);
	return 0;
}

int
audit_verify(struct db *d, int64_t head_seq, const uint8_t *head,
    struct audit_check *c)
{
	uint8_t prev[AUDIT_HASH_LEN], at_head[AUDIT_HASH_LEN];
	struct audit_raw w;
	sqlite3_stmt *st;
	int rc, bad = 0;

	memset(c, 0, sizeof(*c));
	memset(prev, 0, sizeof(prev));
	memset(at_head, 0, sizeof(at_head));
	if (db_prepare(d, &st, "SELECT " AUDIT_COLS " FROM audit ORDER BY seq") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_raw_row(st, &w);
		c->records++;
		if ((bad = audit_check_one(&w, c->head_seq + 1, prev, c)) != 0)
			break;
		memcpy(prev, w.hash.p, AUDIT_HASH_LEN);
		c->head_seq = w.seq;
		if (w.seq == head_seq)
			memcpy(at_head, prev, AUDIT_HASH_LEN);
	}
	sqlite3_finalize(st);
	if (bad == -1 || (rc != SQLITE_ROW && rc != SQLITE_DONE))
		return -1;
	if (bad)
		return 1;
	memcpy(c->head, prev, AUDIT_HASH_LEN);
	if (head_seq > 0 && head != NULL)
		return audit_check_head(head_seq, head, at_head, c);
	return 0;
}

int
audit_check_next(struct audit_check *c, uint8_t prev[AUDIT_HASH_LEN],
    const struct audit_rec *r)
{
	struct audit_raw w;
	int bad;

	audit_raw_of(r, &w);
	w.prev.p = r->prev;
	w.prev.n = AUDIT_HASH_LEN;
	w.hash.p = r->hash;
	w.hash.n = AUDIT_HASH_LEN;
	c->records++;
	if ((bad = audit_check_one(&w, c->head_seq + 1, prev, c)) != 0)
		return bad;
	memcpy(prev, r->hash, AUDIT_HASH_LEN);
	memcpy(c->head, r->hash, AUDIT_HASH_LEN);
	c->head_seq = r->seq;
	return 0;
}

int
audit_each(struct db *d, int64_t after, int64_t max, const uint8_t *reqid,
    int (*fn)(void *, const struct audit_rec *), void *arg)
{
	struct audit_rec *r;
	struct audit_raw w;
	sqlite3_stmt *st;
	int rc;

	if ((r = malloc(sizeof(*r))) == NULL)
		return -1;
	if (db_prepare(d, &st, "SELECT " AUDIT_COLS " FROM audit WHERE seq > ? "
	    "AND (?3 IS NULL OR reqid = ?3) ORDER BY seq LIMIT ?2") == -1) {
		free(r);
		return -1;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, max > 0 ? max : -1);
	if (reqid != NULL)
		sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_raw_row(st, &w);
		audit_rec_of(&w, r);
		if (fn(arg, r) == -1) {
			rc = SQLITE_ABORT;
			break;
		}
	}
	sqlite3_finalize(st);
	free(r);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
audit_actor(const char *prog, char *out, size_t outsz)
{
	const char *who = getenv("SUDO_USER");
	struct passwd *pw;
	char uid[24];

	if (who == NULL || *who == '\0' || getuid() != 0) {
		if ((pw = getpwuid(getuid())) != NULL)
			who = pw->pw_name;
		else {
			snprintf(uid, sizeof(uid), "uid %u", (unsigned)getuid());
			who = uid;
		}
	}
	snprintf(out, outsz, "%s:%s", prog, who);
}
