/*
 * db.c: what the three databases share: opening with the durability
 * settings (WAL, synchronous=FULL, a busy timeout so that airlockctl can
 * read while a daemon writes), schema creation, transactions, error text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "health.h"

/*
 * A storage error (disk full, I/O error, a file that cannot be opened or
 * written, a lock held too long) goes to the daemon's health file, which
 * airlockctl status shows; the next write that is durable (a COMMIT of a
 * transaction that changed something, or a write outside a transaction)
 * clears it. Constraint errors are not storage errors.
 */
static void
db_health(struct db *d, sqlite3_stmt *st, int rc)
{
	const char *sql = st != NULL ? sqlite3_sql(st) : NULL;
	char what[600];

	switch (rc & 0xff) {
	case SQLITE_DONE:
		/* a COMMIT that wrote nothing says nothing about the disk */
		if (sql != NULL && sqlite3_get_autocommit(d->h) &&
		    (!sqlite3_stmt_readonly(st) || (strncmp(sql, "COMMIT", 6) == 0 &&
		    sqlite3_total_changes64(d->h) != d->begin_changes)))
			health_ok();
		break;
	case SQLITE_FULL: case SQLITE_IOERR: case SQLITE_CANTOPEN:
	case SQLITE_READONLY: case SQLITE_CORRUPT: case SQLITE_NOTADB:
	case SQLITE_PERM: case SQLITE_BUSY: case SQLITE_LOCKED: case SQLITE_NOMEM:
		snprintf(what, sizeof(what), "%s: %s", d->path, sqlite3_errmsg(d->h));
		health_error(what);
		break;
	}
}

/* A failed statement's line (LOG_ERR): every one, unless it is a storage
 * error that lasts, whose lines are rate-limited (health_log_now). */
static void
db_say(struct db *d, const char *text)
{
	uint64_t held = 0;

	if (health_failing() && !health_log_now(&held))
		return;
	if (held > 0)
		log_errx("%s: %s (%llu more such errors not logged)", d->path,
		    text, (unsigned long long)held);
	else
		log_errx("%s: %s", d->path, text);
}

int
db_checkpoint(struct db *d)
{
	int rc = sqlite3_wal_checkpoint_v2(d->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);

	/* not a health error: a failed checkpoint loses nothing, and while the
	 * disk is full the write that failed says more than this */
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * WAL mode and the schema. Two processes opening a new database at once
 * (the client's daemon and a `submit` at its start) can find it locked
 * while the other switches it to WAL, which the busy timeout does not
 * cover: that is retried for up to 5 s.
 */
static int
db_setup(struct db *d, const char *schema, int page_size)
{
	char size[40];
	/* the page size first: it takes effect only in a new, empty file (an
	 * existing one keeps its own), and before WAL is switched on */
	const char *const steps[] = { size, "PRAGMA journal_mode=WAL",
	    "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", schema };
	size_t i = 0;
	int rc, tries = 0;

	if (page_size > 0)
		snprintf(size, sizeof(size), "PRAGMA page_size=%d", page_size);
	else
		snprintf(size, sizeof(size), "SELECT 1");
	while (i < sizeof(steps) / sizeof(steps[0])) {
		rc = sqlite3_exec(d->h, steps[i], NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			i++;
			continue;
		}
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries++ < 100) {
			usleep(50000);
			continue;
		}
		return db_exec(d, steps[i]);	/* again, to log and report it */
	}
	return 0;
}

int
db_open(const char *path, int mode, const char *schema, struct db **out)
{
	return db_open_paged(path, mode, schema, 0, out);
}

int
db_open_paged(const char *path, int mode, const char *schema, int page_size,
    struct db **out)
{
	struct db *d;
	int readonly = mode == DB_RO;
	int flags = readonly ? SQLITE_OPEN_READONLY : mode == DB_RW_EXISTING ?
	    SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	snprintf(d->path, sizeof(d->path), "%s", path);
	if (sqlite3_open_v2(path, &d->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_warnx("%s: cannot open database: %s", path,
		    d->h ? sqlite3_errmsg(d->h) : "out of memory");
		db_close(d);
		return -1;
	}
	sqlite3_busy_timeout(d->h, 5000);
	/* no temporary files: the sandboxes let a daemon write only in its own
	 * folders (sandbox_fs.c), not in /tmp or /var/tmp */
	if (db_exec(d, "PRAGMA temp_store=MEMORY") == -1) {
		db_close(d);
		return -1;
	}
	if (!readonly && db_setup(d, schema, page_size) == -1) {
		db_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

/*
 * The stores every request goes through several times (queue.db, outbox.db):
 * each row is read again for its answer and its delivery, and with SQLite's
 * default 2 MiB of cache a queue of 2,000 requests with their answers was
 * read back from the file system (about four pread(2) a request end to end,
 * 2026-12-06). Up to 16 MiB; the cache grows only as used.
 */
int
db_open_busy(const char *path, int mode, const char *schema, struct db **out)
{
	if (db_open(path, mode, schema, out) == -1)
		return -1;
	if (db_exec(*out, "PRAGMA cache_size=-16384") == -1) {
		db_close(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

void
db_close(struct db *d)
{
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ncache; i++)
		sqlite3_finalize(d->cache[i].st);
	sqlite3_close(d->h);
	free(d);
}

const char *
db_last_error(struct db *d)
{
	return sqlite3_errmsg(d->h);
}

int
db_exec(struct db *d, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(d->h, sql, NULL, NULL, &err) != SQLITE_OK) {
		db_health(d, NULL, sqlite3_errcode(d->h));
		db_say(d, err ? err : sqlite3_errmsg(d->h));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int
db_prepare(struct db *d, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(d->h, sql, -1, st, NULL) != SQLITE_OK) {
		db_say(d, sqlite3_errmsg(d->h));
		*st = NULL;
		return -1;
	}
	return 0;
}

int
db_cached(struct db *d, sqlite3_stmt **st, const char *sql)
{
	int i;

	for (i = 0; i < d->ncache; i++)
		if (d->cache[i].sql == sql) {
			*st = d->cache[i].st;
			sqlite3_reset(*st);
			sqlite3_clear_bindings(*st);
			return 0;
		}
	if (d->ncache == DB_CACHE)
		fatalx("%s: more than %d cached statements", d->path, DB_CACHE);
	if (sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL) != SQLITE_OK) {
		db_say(d, sqlite3_errmsg(d->h));
		*st = NULL;
		return -1;
	}
	d->cache[d->ncache].sql = sql;
	d->cache[d->ncache++].st = *st;
	return 0;
}

int
db_step_reset(struct db *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	db_health(d, st, rc);
	if (rc != SQLITE_DONE)
		db_say(d, sqlite3_errmsg(d->h));
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* One of the transaction statements below, kept prepared. */
static int
db_tx(struct db *d, const char *const *sql, int depth)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, sql[depth]) == -1)
		return -1;
	return db_step_reset(d, st);
}

#define DB_DEPTH_MAX	8
static const char *const db_sp_begin[DB_DEPTH_MAX] = {
	"BEGIN IMMEDIATE", "SAVEPOINT s1", "SAVEPOINT s2", "SAVEPOINT s3",
	"SAVEPOINT s4", "SAVEPOINT s5", "SAVEPOINT s6", "SAVEPOINT s7",
};
static const char *const db_sp_end[DB_DEPTH_MAX] = {
	"COMMIT", "RELEASE s1", "RELEASE s2", "RELEASE s3",
	"RELEASE s4", "RELEASE s5", "RELEASE s6", "RELEASE s7",
};
static const char *const db_sp_undo[DB_DEPTH_MAX] = {
	"ROLLBACK", "ROLLBACK TO s1", "ROLLBACK TO s2", "ROLLBACK TO s3",
	"ROLLBACK TO s4", "ROLLBACK TO s5", "ROLLBACK TO s6", "ROLLBACK TO s7",
};

int
db_begin(struct db *d)
{
	/* at depth 0 a transaction must not be open; above, it must still be
	 * (SQLite rolls everything back by itself after some I/O errors) */
	if ((d->depth == 0) != (sqlite3_get_autocommit(d->h) != 0) ||
	    d->depth == DB_DEPTH_MAX)
		return -1;
	if (d->depth == 0) {
		d->begin_changes = sqlite3_total_changes64(d->h);
		d->flat = d->doomed = 0;
	}
	if ((d->depth == 0 || !d->flat) && db_tx(d, db_sp_begin, d->depth) == -1)
		return -1;
	d->depth++;
	return 0;
}

int
db_flat(struct db *d)
{
	if (d->depth != 1 || sqlite3_get_autocommit(d->h))
		return -1;
	d->flat = 1;
	return 0;
}

int
db_doomed(const struct db *d)
{
	return d->doomed;
}

int
db_commit(struct db *d)
{
	if (d->depth == 0 || sqlite3_get_autocommit(d->h) ||
	    (d->depth == 1 && d->doomed) || ((d->depth == 1 || !d->flat) &&
	    db_tx(d, db_sp_end, d->depth - 1) == -1)) {
		db_rollback(d);
		return -1;
	}
	d->depth--;
	return 0;
}

/* Undoes the innermost level only. */
void
db_rollback(struct db *d)
{
	if (d->depth <= 1) {
		if (!sqlite3_get_autocommit(d->h))
			db_tx(d, db_sp_undo, 0);
		d->depth = 0;
		return;
	}
	d->depth--;
	if (d->flat) {		/* no savepoint to go back to: all of it goes */
		d->doomed = 1;
		return;
	}
	if (!sqlite3_get_autocommit(d->h) && db_tx(d, db_sp_undo, d->depth) == 0)
		db_tx(d, db_sp_end, d->depth);
}

int
db_step_done(struct db *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	db_health(d, st, rc);
	if (rc != SQLITE_DONE)
		db_say(d, sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
db_blob(sqlite3_stmt *st, int col, struct buf *b)
{
	const void *p = sqlite3_column_blob(st, col);
	int n = sqlite3_column_bytes(st, col);

	buf_reset(b);
	return buf_put(b, p, (size_t)n);
}

int
db_integrity_ok(struct db *d)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (db_prepare(d, &st, "PRAGMA integrity_check") == -1)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	return ok;
}

/* PRAGMA quick_check: the pages and their B-trees, in one pass (linear in
 * the file's size); the first problem into why. 1 if sound. */
int
db_quick_ok(struct db *d, char *why, size_t whysz)
{
	sqlite3_stmt *st;
	const char *t;
	int rc, ok = 0;

	snprintf(why, whysz, "%s", "the integrity check could not run");
	if (sqlite3_prepare_v2(d->h, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whysz, "%s", sqlite3_errmsg(d->h));
		return 0;
	}
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(st, 0);
		ok = t != NULL && strcmp(t, "ok") == 0;
		snprintf(why, whysz, "%s", t != NULL ? t : "no answer");
	} else
		snprintf(why, whysz, "%s", sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return ok;
}

int
db_int64(struct db *d, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if (db_prepare(d, &st, sql) == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The integer a PRAGMA reads, or -1. */
static int
db_pragma_int(struct db *d, const char *sql)
{
	int64_t v;

	return db_int64(d, sql, &v) == -1 ? -1 : (int)v;
}

#define DB_VACUUM_PAGES	2048	/* given back to the file system per batch */

/*
 * The space of pruned rows. A database in auto_vacuum=INCREMENTAL mode
 * (only if the operator converted it: airlock creates its databases
 * without auto_vacuum) gives up to DB_VACUUM_PAGES free pages back to the
 * file system; any other keeps them on its freelist for new rows, so the
 * file stops growing once it holds a retention period's rows. The daemons
 * never VACUUM: it rewrites the whole file and holds it meanwhile.
 */
static void
db_reclaim(struct db *d)
{
	char sql[64];

	if (db_pragma_int(d, "PRAGMA auto_vacuum") != 2)
		return;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", DB_VACUUM_PAGES);
	db_exec(d, sql);
}

/*
 * secure_delete=FAST for the batch: Debian's SQLite has secure_delete on,
 * which zeroes every freed page through the WAL (500 CRL answers of 500 KB:
 * 250 MB written and 0.8 s; with FAST 0.5 MB and 0.06 s). FAST still
 * clears the rows out of the b-tree pages; pages on the freelist keep their
 * old bytes until they are reused. A batch that deleted nothing says
 * nothing about the disk, so only one that did clears a storage error.
 */
int
db_prune(struct db *d, const char *sql, int64_t before, int max, int64_t *n)
{
	sqlite3_stmt *st;
	char restore[40];
	int rc, old;

	*n = 0;
	if ((old = db_pragma_int(d, "PRAGMA secure_delete")) == -1 ||
	    db_exec(d, "PRAGMA secure_delete=FAST") == -1)
		return -1;
	snprintf(restore, sizeof(restore), "PRAGMA secure_delete=%d", old);
	if (db_prepare(d, &st, sql) == -1) {
		db_exec(d, restore);
		return -1;
	}
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, max);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*n = sqlite3_changes(d->h);
	else
		db_say(d, sqlite3_errmsg(d->h));
	if (rc != SQLITE_DONE || *n > 0)
		db_health(d, st, rc);
	sqlite3_finalize(st);
	db_exec(d, restore);
	if (*n > 0)
		db_reclaim(d);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The copy's header counters (file change counter at 24, version-valid-for
 * at 92) count the writes the copying made, not the data: both are set to
 * 1, so that a snapshot of a restored snapshot is the same bytes. They stay
 * equal, so the in-header database size stays valid.
 */
static int
db_snapshot_settle(const char *dst, char *why, size_t whysz)
{
	static const uint8_t one[4] = { 0, 0, 0, 1 };
	int fd, rv = 0;

	if ((fd = open(dst, O_WRONLY | O_CLOEXEC)) == -1 ||
	    pwrite(fd, one, 4, 24) != 4 || pwrite(fd, one, 4, 92) != 4 || fsync(fd) == -1) {
		say(why, whysz, "%s: %s", dst, strerror(errno));
		rv = -1;
	}
	if (fd != -1)
		close(fd);
	return rv;
}

/*
 * A consistent copy of a live database with SQLite's online backup API:
 * the daemons keep writing; a step that meets their write lock waits and
 * tries again, and a step after which the source changed starts over
 * (SQLite does that itself), so the copy is one committed state.
 */
int
db_snapshot(const char *src, const char *dst, char *why, size_t whysz)
{
	sqlite3 *s = NULL, *t = NULL;
	sqlite3_backup *b;
	int rc, tries = 0;

	if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		say(why, whysz, "%s: cannot open: %s", src, s ? sqlite3_errmsg(s) : "no memory");
		goto fail;
	}
	sqlite3_busy_timeout(s, 5000);
	if (sqlite3_open_v2(dst, &t, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		say(why, whysz, "%s: cannot create: %s", dst, t ? sqlite3_errmsg(t) : "no memory");
		goto fail;
	}
	if ((b = sqlite3_backup_init(t, "main", s, "main")) == NULL) {
		say(why, whysz, "%s: %s", src, sqlite3_errmsg(t));
		goto fail;
	}
	do {
		rc = sqlite3_backup_step(b, 256);
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries++ < 500)
			sqlite3_sleep(20);
	} while (rc == SQLITE_OK || ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
	    tries <= 500));
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		say(why, whysz, "%s: snapshot failed: %s", src, sqlite3_errstr(rc));
		goto fail;
	}
	/* the copy is one file: no WAL beside it */
	if (sqlite3_exec(t, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
		say(why, whysz, "%s: %s", dst, sqlite3_errmsg(t));
		goto fail;
	}
	sqlite3_close(s);
	if (sqlite3_close(t) != SQLITE_OK)
		return -1;
	return db_snapshot_settle(dst, why, whysz);
fail:
	sqlite3_close(s);
	sqlite3_close(t);
	return -1;
}
