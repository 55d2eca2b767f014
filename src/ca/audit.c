/*
 * audit.c: the audit chain in ca.db (include/audit.h); the records' bytes,
 * hash and check are in src/pki/auditrec.c.
 *
 * The verifier hashes the column bytes exactly as stored, checks that seq
 * runs 1, 2, 3 ... without a gap, that each record's prev is the hash
 * before it, and that its hash is its own, and names the first record
 * where any of that fails. A chain cut short at its end looks intact; an
 * earlier head (seq and hash) kept elsewhere catches that, which is what
 * `audit verify --head`, the export and webdb's mirror are for.
 */
#include <errno.h>
#include <fcntl.h>
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
	" hash BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_mirror ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" hash BLOB,"
	" time INTEGER NOT NULL,"
	" agrees INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_held ("
	" id INTEGER PRIMARY KEY, time INTEGER NOT NULL, kind TEXT NOT NULL,"
	" reqid BLOB, root TEXT NOT NULL, actor TEXT NOT NULL, text TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_state ("
	" key TEXT PRIMARY KEY,"
	" value TEXT NOT NULL);";

int
audit_init(struct db *d)
{
	return db_exec(d, audit_schema);
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

/*
 * After a restore (ca.db.restored beside ca.db) the chain's tail is on
 * webdb: a record appended now would fork from the mirror. Records made
 * meanwhile are held in audit_held and appended, in order and with their
 * own times, after the records webdb sends back (audit_release_held).
 */
static int audit_restoring = -1;	/* -1: not looked yet */

int
audit_restore_pending(struct db *d)
{
	char p[sizeof(d->path) + 16];
	int fd;

	if (audit_restoring == -1) {
		snprintf(p, sizeof(p), "%s.restored", d->path);
		fd = open(p, O_RDONLY | O_CLOEXEC);
		audit_restoring = fd != -1;
		if (fd != -1)
			close(fd);
	}
	return audit_restoring;
}

void
audit_restore_hold(int on)
{
	audit_restoring = on;
}

int
audit_restore_clear(struct db *d)
{
	char p[sizeof(d->path) + 16];

	snprintf(p, sizeof(p), "%s.restored", d->path);
	if (unlink(p) == -1 && errno != ENOENT)
		return -1;
	audit_restoring = 0;
	return 0;
}

static int
audit_hold(struct db *d, int64_t when, const char *kind, const uint8_t *reqid,
    const char *root, const char *actor, const char *text)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT INTO audit_held (time, kind, reqid, root, "
	    "actor, text) VALUES (?,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, when);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	if (reqid != NULL)
		sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, root ? root : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, actor ? actor : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, text ? text : "", -1, SQLITE_STATIC);
	return db_step_done(d, st);
}

static int64_t
audit_add_at(struct db *d, int64_t when, const char *kind, const uint8_t *reqid,
    const char *root, const char *actor, const char *text)
{
	struct audit_rec r;
	struct audit_raw w;
	uint8_t prev[AUDIT_HASH_LEN], hash[AUDIT_HASH_LEN];
	int64_t last;

	memset(&r, 0, sizeof(r));
	r.time = when;
	snprintf(r.kind, sizeof(r.kind), "%s", kind);
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
audit_add(struct db *d, int kind, const uint8_t *reqid, const char *root,
    const char *actor, const char *text)
{
	if (kind < AUDIT_ISSUE || kind > AUDIT_KIND_LAST)
		return -1;
	if (audit_restore_pending(d))
		return audit_hold(d, time(NULL), audit_kind_name(kind), reqid, root,
		    actor, text) == -1 ? -1 : 0;
	return audit_add_at(d, time(NULL), audit_kind_name(kind), reqid, root, actor, text);
}

int
audit_release_held(struct db *d, int64_t *n)
{
	sqlite3_stmt *st;
	uint8_t reqid[AIRLOCK_REQID_LEN];
	int rc;

	*n = 0;
	if (db_prepare(d, &st, "SELECT time, kind, reqid, root, actor, text FROM "
	    "audit_held ORDER BY id") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int has = sqlite3_column_bytes(st, 2) == AIRLOCK_REQID_LEN;

		if (has)
			memcpy(reqid, sqlite3_column_blob(st, 2), AIRLOCK_REQID_LEN);
		if (audit_add_at(d, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), has ? reqid : NULL,
		    (const char *)sqlite3_column_text(st, 3),
		    (const char *)sqlite3_column_text(st, 4),
		    (const char *)sqlite3_column_text(st, 5)) == -1) {
			sqlite3_finalize(st);
			return -1;
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return db_exec(d, "DELETE FROM audit_held");
}

int
audit_append_raw(struct db *d, const struct audit_raw *w, char *why, size_t whysz)
{
	struct audit_check c;
	uint8_t prev[AUDIT_HASH_LEN], mine[AUDIT_HASH_LEN];
	int64_t last;

	if (audit_head(d, &last, prev) == -1) {
		say(why, whysz, "cannot read the chain head");
		return -1;
	}
	if (w->seq <= last) {	/* held already: it must be the same record */
		if (audit_hash_at(d, w->seq, mine) != 1 || w->hash.n != AUDIT_HASH_LEN ||
		    memcmp(mine, w->hash.p, AUDIT_HASH_LEN) != 0) {
			say(why, whysz, "record %lld differs from this chain's", (long long)w->seq);
			return 1;
		}
		return 0;
	}
	memset(&c, 0, sizeof(c));
	if (audit_check_one(w, last + 1, prev, &c) != 0) {
		say(why, whysz, "record %lld does not follow this chain: %s",
		    (long long)w->seq, c.why);
		return 1;
	}
	return audit_insert(d, w, w->prev.p, w->hash.p) == -1 ? -1 : 2;
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
audit_each_raw(struct db *d, int64_t after, int64_t max, const uint8_t *reqid,
    int (*fn)(void *, const struct audit_raw *), void *arg)
{
	struct audit_raw w;
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT " AUDIT_COLS " FROM audit WHERE seq > ? "
	    "AND (?3 IS NULL OR reqid = ?3) ORDER BY seq LIMIT ?2") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, max > 0 ? max : -1);
	if (reqid != NULL)
		sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		audit_raw_row(st, &w);
		if (fn(arg, &w) == -1) {
			rc = SQLITE_ABORT;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct audit_each_arg {
	struct audit_rec *r;
	int	(*fn)(void *, const struct audit_rec *);
	void	*arg;
};

static int
audit_each_one(void *arg, const struct audit_raw *w)
{
	struct audit_each_arg *a = arg;

	audit_rec_of(w, a->r);
	return a->fn(a->arg, a->r);
}

int
audit_each(struct db *d, int64_t after, int64_t max, const uint8_t *reqid,
    int (*fn)(void *, const struct audit_rec *), void *arg)
{
	struct audit_each_arg a = { NULL, fn, arg };
	int rv;

	if ((a.r = malloc(sizeof(*a.r))) == NULL)
		return -1;
	rv = audit_each_raw(d, after, max, reqid, audit_each_one, &a);
	free(a.r);
	return rv;
}

int
audit_hash_at(struct db *d, int64_t seq, uint8_t hash[AUDIT_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT hash FROM audit WHERE seq = ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == AUDIT_HASH_LEN) {
		memcpy(hash, sqlite3_column_blob(st, 0), AUDIT_HASH_LEN);
		found = 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
audit_mirror_set(struct db *d, int64_t seq, const uint8_t *hash, int64_t when,
    int agrees)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "INSERT OR REPLACE INTO audit_mirror (id, seq, hash, "
	    "time, agrees) VALUES (1, ?, ?, ?, ?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, when);
	sqlite3_bind_int(st, 4, agrees);
	return db_step_reset(d, st);
}

int
audit_mirror_get(struct db *d, int64_t *seq, int64_t *when, int *agrees)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(d, &st, "SELECT seq, time, agrees FROM audit_mirror "
	    "WHERE id = 1") == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		*when = sqlite3_column_int64(st, 1);
		*agrees = sqlite3_column_int(st, 2);
		found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
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

int
audit_state_get(struct db *d, const char *key, struct buf *out)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(d, &st, "SELECT value FROM audit_state WHERE key = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	buf_reset(out);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		found = buf_put(out, sqlite3_column_text(st, 0),
		    (size_t)sqlite3_column_bytes(st, 0)) == 0 ? 1 : -1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
audit_state_set(struct db *d, const char *key, const char *value)
{
	sqlite3_stmt *st;

	if (value == NULL) {
		if (db_prepare(d, &st, "DELETE FROM audit_state WHERE key = ?") == -1)
			return -1;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		return db_step_done(d, st);
	}
	if (db_prepare(d, &st, "INSERT OR REPLACE INTO audit_state (key, value) "
	    "VALUES (?, ?)") == -1)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return db_step_done(d, st);
}
