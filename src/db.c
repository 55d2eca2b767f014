/*
 * db.c: what the three databases share: opening with the durability
 * settings (WAL, synchronous=FULL, a busy timeout so that airlockctl can
 * read while a daemon writes), schema creation, transactions, error text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int
db_open(const char *path, int readonly, const char *schema, struct db **out)
{
	struct db *d;
	int flags = readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

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
	if (!readonly && (db_exec(d, "PRAGMA journal_mode=WAL") == -1 ||
	    db_exec(d, "PRAGMA synchronous=FULL") == -1 ||
	    db_exec(d, "PRAGMA foreign_keys=ON") == -1 ||
	    db_exec(d, schema) == -1)) {
		db_close(d);
		return -1;
	}
	*out = d;
	return 0;
}

void
db_close(struct db *d)
{
	if (d == NULL)
		return;
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
		log_warnx("%s: %s", d->path, err ? err : sqlite3_errmsg(d->h));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

int
db_prepare(struct db *d, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(d->h, sql, -1, st, NULL) != SQLITE_OK) {
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
		*st = NULL;
		return -1;
	}
	return 0;
}

int
db_begin(struct db *d)
{
	char sql[32];

	/* at depth 0 a transaction must not be open; above, it must still be
	 * (SQLite rolls everything back by itself after some I/O errors) */
	if ((d->depth == 0) != (sqlite3_get_autocommit(d->h) != 0))
		return -1;
	if (d->depth == 0)
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", d->depth);
	if (db_exec(d, sql) == -1)
		return -1;
	d->depth++;
	return 0;
}

int
db_commit(struct db *d)
{
	char sql[32];

	if (d->depth <= 1)
		snprintf(sql, sizeof(sql), "COMMIT");
	else
		snprintf(sql, sizeof(sql), "RELEASE s%d", d->depth - 1);
	if (sqlite3_get_autocommit(d->h) || db_exec(d, sql) == -1) {
		db_rollback(d);
		return -1;
	}
	if (d->depth > 0)
		d->depth--;
	return 0;
}

/* Undoes the innermost level only. */
void
db_rollback(struct db *d)
{
	char sql[64];

	if (d->depth <= 1) {
		if (!sqlite3_get_autocommit(d->h))
			sqlite3_exec(d->h, "ROLLBACK", NULL, NULL, NULL);
		d->depth = 0;
		return;
	}
	d->depth--;
	snprintf(sql, sizeof(sql), "ROLLBACK TO s%d; RELEASE s%d", d->depth,
	    d->depth);
	sqlite3_exec(d->h, sql, NULL, NULL, NULL);
}

int
db_step_done(struct db *d, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
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
