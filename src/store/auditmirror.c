/*
 * auditmirror.c: webdb's audit mirror, audit.db (include/auditmirror.h).
 * A file of its own beside outbox.db: when it cannot be written (a full
 * disk) the mirror waits and certificate traffic goes on.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auditmirror.h"
#include "db.h"

static const char amirror_schema[] =
	"CREATE TABLE IF NOT EXISTS record ("
	" seq INTEGER PRIMARY KEY,"
	" wire BLOB NOT NULL,"
	" hash BLOB NOT NULL,"
	" received INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS signed_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL, hash BLOB NOT NULL, time INTEGER NOT NULL,"
	" sig BLOB NOT NULL, received INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS alarm ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" kind TEXT NOT NULL,"
	" seq INTEGER NOT NULL,"
	" text TEXT NOT NULL,"
	" UNIQUE (kind, seq));";

int
amirror_open(const char *path, int readonly, struct db **d)
{
	return db_open(path, readonly, amirror_schema, d);
}

int
amirror_head(struct db *d, int64_t *seq, uint8_t hash[AMIRROR_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc;

	*seq = 0;
	memset(hash, 0, AMIRROR_HASH_LEN);
	if (db_cached(d, &st, "SELECT seq, hash FROM record ORDER BY seq DESC LIMIT 1") == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_bytes(st, 1) == AMIRROR_HASH_LEN)
			memcpy(hash, sqlite3_column_blob(st, 1), AMIRROR_HASH_LEN);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
amirror_get(struct db *d, int64_t seq, struct buf *wire)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT wire FROM record WHERE seq = ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		buf_reset(wire);
		found = db_blob(st, 0, wire) == 0 ? 1 : -1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
amirror_put(struct db *d, int64_t seq, const uint8_t *wire, size_t len,
    const uint8_t hash[AMIRROR_HASH_LEN])
{
	sqlite3_stmt *st;

	/* never REPLACE: a record once held stays as it came */
	if (db_cached(d, &st, "INSERT INTO record (seq, wire, hash, received) "
	    "VALUES (?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, wire, (int)len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, AMIRROR_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time(NULL));
	return db_step_reset(d, st);
}

int
amirror_each(struct db *d, int64_t after, int64_t max,
    int (*fn)(void *, int64_t, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT seq, wire FROM record WHERE seq > ? "
	    "ORDER BY seq LIMIT ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, max > 0 ? max : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1)) == -1) {
			rc = SQLITE_ABORT;
			break;
		}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
amirror_count(struct db *d, int64_t *n)
{
	return db_int64(d, "SELECT count(*) FROM record", n);
}

int
amirror_set_signed(struct db *d, const struct amirror_signed *h)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "INSERT OR REPLACE INTO signed_head (id, seq, hash, "
	    "time, sig, received) VALUES (1,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, h->seq);
	sqlite3_bind_blob(st, 2, h->hash, AMIRROR_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, h->time);
	sqlite3_bind_blob(st, 4, h->sig, sizeof(h->sig), SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, h->received);
	return db_step_reset(d, st);
}

int
amirror_get_signed(struct db *d, struct amirror_signed *h)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	memset(h, 0, sizeof(*h));
	if (db_prepare(d, &st, "SELECT seq, hash, time, sig, received FROM "
	    "signed_head WHERE id = 1") == -1)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 1) == AMIRROR_HASH_LEN &&
	    sqlite3_column_bytes(st, 3) == (int)sizeof(h->sig)) {
		h->seq = sqlite3_column_int64(st, 0);
		memcpy(h->hash, sqlite3_column_blob(st, 1), AMIRROR_HASH_LEN);
		h->time = sqlite3_column_int64(st, 2);
		memcpy(h->sig, sqlite3_column_blob(st, 3), sizeof(h->sig));
		h->received = sqlite3_column_int64(st, 4);
		found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
amirror_alarm(struct db *d, const char *kind, int64_t seq, const char *text)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT OR IGNORE INTO alarm (time, kind, seq, text) "
	    "VALUES (?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, seq);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	if (db_step_done(d, st) == -1)
		return -1;
	return sqlite3_changes(d->h) > 0 ? 1 : 0;
}

int
amirror_alarms(struct db *d, int (*fn)(void *, const struct amirror_alarm *),
    void *arg)
{
	struct amirror_alarm a;
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT time, kind, seq, text FROM alarm ORDER BY id") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.time = sqlite3_column_int64(st, 0);
		snprintf(a.kind, sizeof(a.kind), "%s", (const char *)sqlite3_column_text(st, 1));
		a.seq = sqlite3_column_int64(st, 2);
		snprintf(a.text, sizeof(a.text), "%s", (const char *)sqlite3_column_text(st, 3));
		if (fn(arg, &a) == -1) {
			rc = SQLITE_ABORT;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
amirror_alarm_count(struct db *d, int64_t *n)
{
	return db_int64(d, "SELECT count(*) FROM alarm", n);
}

int
amirror_begin(struct db *d)
{
	return db_begin(d);
}

int
amirror_commit(struct db *d)
{
	return db_commit(d);
}

void
amirror_rollback(struct db *d)
{
	db_rollback(d);
}
