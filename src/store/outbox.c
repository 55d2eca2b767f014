/*
 * outbox.c: airlock-client's outbox (outbox.db) on the webdb host. A request
 * stays here until an answer is committed for it; after a restart of either
 * side every unanswered request is sent again under the same request id,
 * which the signer host answers from its stores without signing twice.
 * Answered rows go after the retention period (outbox_prune).
 *
 * The table cursors keeps how far the client has read something the
 * signer host sends in batches: "serials:ROOT", the position of the last
 * serial of ROOT appended to crl_dir/ROOT.serials (serialsync.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "outbox.h"

static const char outbox_schema[] =
	"CREATE TABLE IF NOT EXISTS outbox ("
	" id INTEGER PRIMARY KEY,"
	" reqid BLOB NOT NULL UNIQUE,"
	" type INTEGER NOT NULL,"
	" name TEXT NOT NULL DEFAULT '',"
	" state INTEGER NOT NULL,"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" request BLOB NOT NULL,"
	" answer BLOB,"
	" code INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS outbox_state ON outbox(state, id);"
	/* what outbox_prune looks for, answered rows by age */
	"CREATE INDEX IF NOT EXISTS outbox_finished ON outbox(updated) WHERE state >= 2;"
	"CREATE TABLE IF NOT EXISTS cursors ("
	" name TEXT PRIMARY KEY,"
	" value INTEGER NOT NULL) WITHOUT ROWID;";

/* the SQL says "state >= 2" literally, or the partial index is not used */
_Static_assert(O_DONE == 2 && O_FAILED == 3 && O_NSTATES == 4,
    "outbox_finished covers done and failed rows");

static const char *const outbox_states[O_NSTATES] = {
	"new", "sent", "done", "failed"
};

const char *
outbox_state_name(int s)
{
	return s >= 0 && s < O_NSTATES ? outbox_states[s] : "?";
}

int
outbox_open(const char *path, int mode, struct db **d)
{
	return db_open_busy(path, mode, outbox_schema, d);
}

int
outbox_add(struct db *d, const uint8_t *reqid, int type, const char *name,
    const uint8_t *req, size_t len)
{
	sqlite3_stmt *st;
	int64_t now = time(NULL);

	if (db_cached(d, &st, "INSERT OR IGNORE INTO outbox (reqid, type, name, "
	    "state, created, updated, request) VALUES (?,?,?,0,?,?,?)") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, type);
	sqlite3_bind_text(st, 3, name ? name : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_blob(st, 6, req, (int)len, SQLITE_STATIC);
	if (db_step_reset(d, st) == -1)
		return -1;
	return sqlite3_changes(d->h) == 1 ? 1 : 0;
}

static void
outbox_row(sqlite3_stmt *st, struct outbox_item *it)
{
	const void *id = sqlite3_column_blob(st, 1);
	const unsigned char *t;

	memset(it, 0, sizeof(*it));
	it->id = sqlite3_column_int64(st, 0);
	if (id != NULL && sqlite3_column_bytes(st, 1) == AIRLOCK_REQID_LEN)
		memcpy(it->reqid, id, AIRLOCK_REQID_LEN);
	it->type = sqlite3_column_int(st, 2);
	it->state = sqlite3_column_int(st, 3);
	it->code = sqlite3_column_int(st, 4);
	it->created = sqlite3_column_int64(st, 5);
	if ((t = sqlite3_column_text(st, 6)) != NULL)
		snprintf(it->name, sizeof(it->name), "%s", t);
}

#define OUTBOX_COLS "id, reqid, type, state, code, created, name"

/* Rows of a statement selecting OUTBOX_COLS and one blob (column 7), to fn
 * in order: how many were seen (fn returning -1 stops), or -1 on an error. */
static int
outbox_walk(sqlite3_stmt *st, int (*fn)(void *, const struct outbox_item *,
    const uint8_t *, size_t), void *arg)
{
	struct outbox_item it;
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		outbox_row(st, &it);
		n++;
		if (fn(arg, &it, sqlite3_column_blob(st, 7),
		    (size_t)sqlite3_column_bytes(st, 7)) == -1)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int
outbox_pending(struct db *d, int64_t after, int max, int (*fn)(void *,
    const struct outbox_item *, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt *st;

	/* the unanswered rows' ids off the index outbox_state, then their
	 * requests: "state < 2 AND id > ? ORDER BY id" was planned as a walk
	 * of every row after the cursor, answered ones and their answers too
	 * (queue_pending in queue.c had the same plan) */
	if (db_cached(d, &st, "SELECT " OUTBOX_COLS ", request FROM outbox WHERE "
	    "id IN (SELECT id FROM outbox WHERE state IN (0, 1) AND id > ?1 "
	    "ORDER BY id LIMIT ?2) ORDER BY id") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int(st, 2, max);
	return outbox_walk(st, fn, arg);
}

int
outbox_answers(struct db *d, int64_t after, int type, int max, int (*fn)(void *,
    const struct outbox_item *, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "SELECT " OUTBOX_COLS ", answer FROM outbox WHERE "
	    "state = 2 AND type = ? AND id > ? AND answer IS NOT NULL ORDER BY id "
	    "LIMIT ?") == -1)
		return -1;
	sqlite3_bind_int(st, 1, type);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, max);
	return outbox_walk(st, fn, arg);
}

int
outbox_set_state(struct db *d, const uint8_t *reqid, int state)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "UPDATE outbox SET state = ?, updated = ? "
	    "WHERE reqid = ? AND state < 2") == -1)
		return -1;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	return db_step_reset(d, st);
}

int
outbox_begin(struct db *d)
{
	return db_begin(d);
}

int
outbox_commit(struct db *d)
{
	return db_commit(d);	/* rolls back when it fails */
}

void
outbox_rollback(struct db *d)
{
	db_rollback(d);
}

int
outbox_answer(struct db *d, const uint8_t *reqid, int state, int code,
    const uint8_t *ans, size_t len)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "UPDATE outbox SET state = ?, code = ?, answer = ?, "
	    "updated = ? WHERE reqid = ? AND state < 2") == -1)
		return -1;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int(st, 2, code);
	sqlite3_bind_blob(st, 3, ans, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time(NULL));
	sqlite3_bind_blob(st, 5, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if (db_step_reset(d, st) == -1)
		return -1;
	return sqlite3_changes(d->h) == 1 ? 1 : 0;
}

int
outbox_get(struct db *d, const uint8_t *reqid, struct outbox_item *it, struct buf *ans)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT " OUTBOX_COLS ", answer FROM outbox "
	    "WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		outbox_row(st, it);
		if (ans && db_blob(st, 7, ans) == -1)
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

/* The request bytes stored under reqid (the client merges an OpenPGP
 * answer into the key it sent). 1 found, 0 not, -1 error. */
int
outbox_request(struct db *d, const uint8_t *reqid, struct buf *req)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT request FROM outbox WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		if (db_blob(st, 0, req) == -1)
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
outbox_counts(struct db *d, int64_t counts[O_NSTATES])
{
	sqlite3_stmt *st;
	int rc, s;

	memset(counts, 0, sizeof(int64_t) * O_NSTATES);
	if (db_prepare(d, &st, "SELECT state, count(*) FROM outbox GROUP BY state") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = sqlite3_column_int(st, 0);
		if (s >= 0 && s < O_NSTATES)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
outbox_unanswered(struct db *d)
{
	int64_t n;

	if (db_int64(d, "SELECT EXISTS (SELECT 1 FROM outbox WHERE state < 2)", &n) == -1)
		return -1;
	return n != 0;
}

int
outbox_set_sent(struct db *d, int64_t id)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "UPDATE outbox SET state = 1, updated = ? "
	    "WHERE id = ? AND state = 0") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_int64(st, 2, id);
	return db_step_reset(d, st);
}

/*
 * Answered rows (done, failed) that have not changed since before. Never
 * the row with the highest id: the client sends in id order and remembers
 * the last id sent in a session, so a new row must never get an id below
 * it, as it would if the highest went and SQLite used its id again.
 */
int
outbox_prune(struct db *d, int64_t before, int max, int64_t *n)
{
	return db_prune(d, "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox "
	    "WHERE state >= 2 AND updated < ?1 AND id < (SELECT max(id) FROM outbox) "
	    "LIMIT ?2)", before, max, n);
}

int
outbox_cursor_get(struct db *d, const char *name, int64_t *value)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	*value = 0;
	if (db_prepare(d, &st, "SELECT value FROM cursors WHERE name = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*value = sqlite3_column_int64(st, 0);
		found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
outbox_cursor_set(struct db *d, const char *name, int64_t value)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT INTO cursors (name, value) VALUES (?1, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET value = ?2") == -1)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return db_step_done(d, st);
}
