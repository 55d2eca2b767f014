/*
 * queue.c: airlock-linkd's durable queue (queue.db). A request is committed
 * here before the link acknowledges the frame that carried it; its answer is
 * committed here before it is sent. The request id is unique, so a request
 * retransmitted for any reason finds its row and, once answered, its answer.
 * Delivered and failed rows go after the retention period (queue_prune); a
 * request repeated after that is a new row, and the signer answers it from
 * ca.db with the bytes it gave the first time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "queue.h"

static const char queue_schema[] =
	"CREATE TABLE IF NOT EXISTS queue ("
	" id INTEGER PRIMARY KEY,"
	" reqid BLOB NOT NULL UNIQUE,"
	" type INTEGER NOT NULL,"
	" root TEXT NOT NULL DEFAULT '',"
	" state INTEGER NOT NULL,"
	" received INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" request BLOB NOT NULL,"
	" answer BLOB,"
	" code INTEGER NOT NULL DEFAULT 0,"
	" reason TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX IF NOT EXISTS queue_state ON queue(state, id);"
	/* what queue_prune looks for, delivered and failed rows by age */
	"CREATE INDEX IF NOT EXISTS queue_finished ON queue(updated) WHERE state >= 3;";

/* the SQL says "state >= 3" literally, or the partial index is not used */
_Static_assert(Q_DELIVERED == 3 && Q_FAILED == 4 && Q_NSTATES == 5,
    "queue_finished covers delivered and failed rows");

static const char *const queue_states[Q_NSTATES] = {
	"received", "handed", "answered", "delivered", "failed"
};

const char *
queue_state_name(int s)
{
	return s >= 0 && s < Q_NSTATES ? queue_states[s] : "?";
}

int
queue_open(const char *path, int mode, struct db **d)
{
	return db_open_busy(path, mode, queue_schema, d);
}

static int
queue_lookup_answer(struct db *d, const uint8_t *reqid, struct buf *answer)
{
	sqlite3_stmt *st;
	int rc;

	if (db_cached(d, &st, "SELECT answer FROM queue WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	rc = sqlite3_step(st);
	buf_reset(answer);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB)
		rc = db_blob(st, 0, answer) == -1 ? SQLITE_NOMEM : SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
queue_begin(struct db *d)
{
	return db_begin(d);
}

int
queue_commit(struct db *d)
{
	return db_commit(d);	/* rolls back when it fails */
}

int
queue_put(struct db *d, const uint8_t *reqid, int type, const char *root,
    const uint8_t *req, size_t reqlen, struct buf *answer)
{
	sqlite3_stmt *st;
	int64_t now = time(NULL);

	buf_reset(answer);
	if (db_cached(d, &st, "INSERT OR IGNORE INTO queue (reqid, type, root, "
	    "state, received, updated, request) VALUES (?,?,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, type);
	sqlite3_bind_text(st, 3, root ? root : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, Q_RECEIVED);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_blob(st, 7, req, (int)reqlen, SQLITE_STATIC);
	if (db_step_reset(d, st) == -1)
		return -1;
	if (sqlite3_changes(d->h) == 1)
		return 1;
	return queue_lookup_answer(d, reqid, answer) == -1 ? -1 : 0;
}

int
queue_set_state(struct db *d, const uint8_t *reqid, int state)
{
	sqlite3_stmt *st;

	/*
	 * Only moves an unanswered request forward (received -> handed).
	 * Answered, delivered and failed are reached only through
	 * queue_set_answer() and queue_set_delivered(), which check that an
	 * answer is there; an unanswered row must never look delivered.
	 */
	if (state >= Q_ANSWERED)
		return 0;
	if (db_cached(d, &st, "UPDATE queue SET state = ?, updated = ? "
	    "WHERE reqid = ? AND state < ?") == -1)
		return -1;
	sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, state);
	return db_step_reset(d, st);
}

int
queue_set_answer(struct db *d, const uint8_t *reqid, const uint8_t *ans,
    size_t anslen, int code, const char *reason)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "UPDATE queue SET state = ?, updated = ?, answer = ?, "
	    "code = ?, reason = ? WHERE reqid = ? AND answer IS NULL") == -1)
		return -1;
	sqlite3_bind_int(st, 1, code ? Q_FAILED : Q_ANSWERED);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_blob(st, 3, ans, (int)anslen, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, code);
	sqlite3_bind_text(st, 5, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	return db_step_reset(d, st);
}

int
queue_pending(struct db *d, int only_received, int64_t after, int max,
    int (*fn)(void *, int64_t, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	/*
	 * Both walk the index queue_state(state, id), so that the cost is the
	 * rows handed, not the table. "state <= ? AND id > ? ORDER BY id" was
	 * planned as a walk of the whole table in id order from the cursor
	 * (each row read with its request and answer), to skip the delivered
	 * rows in front of the waiting ones: on every hand, about 570 pages
	 * read for a queue of 2,000 rows (2026-12-06). New rows: state = 0 in
	 * id order straight off the index. A sweep (rare): the waiting rows'
	 * ids off the index alone, sorted, then their requests.
	 */
	if (only_received) {
		if (db_cached(d, &st, "SELECT id, request FROM queue WHERE "
		    "state = ?1 AND id > ?3 ORDER BY id LIMIT ?4") == -1)
			return -1;
	} else if (db_cached(d, &st, "SELECT id, request FROM queue WHERE id IN "
	    "(SELECT id FROM queue WHERE state IN (?1, ?2) AND id > ?3 "
	    "ORDER BY id LIMIT ?4) ORDER BY id") == -1)
		return -1;
	sqlite3_bind_int(st, 1, Q_RECEIVED);
	if (!only_received)
		sqlite3_bind_int(st, 2, Q_HANDED);
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int(st, 4, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1)) == -1)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int
queue_counts(struct db *d, int64_t counts[Q_NSTATES], int64_t *oldest_pending)
{
	sqlite3_stmt *st;
	int rc, s;

	memset(counts, 0, sizeof(int64_t) * Q_NSTATES);
	*oldest_pending = 0;
	/* the counts off the index queue_state alone, the oldest waiting
	 * row's time off the waiting rows: min(received) over every row read
	 * the whole table with its requests and answers */
	if (db_prepare(d, &st, "SELECT state, count(*) FROM queue GROUP BY state") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = sqlite3_column_int(st, 0);
		if (s >= 0 && s < Q_NSTATES)
			counts[s] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (db_prepare(d, &st, "SELECT min(received) FROM queue WHERE state IN (?, ?)") == -1)
		return -1;
	sqlite3_bind_int(st, 1, Q_RECEIVED);
	sqlite3_bind_int(st, 2, Q_HANDED);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*oldest_pending = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void
queue_row(sqlite3_stmt *st, struct queue_item *it)
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
	it->received = sqlite3_column_int64(st, 5);
	it->updated = sqlite3_column_int64(st, 6);
	if ((t = sqlite3_column_text(st, 7)) != NULL)
		snprintf(it->reason, sizeof(it->reason), "%s", t);
	if ((t = sqlite3_column_text(st, 8)) != NULL)
		snprintf(it->root, sizeof(it->root), "%s", t);
}

#define QUEUE_COLS "id, reqid, type, state, code, received, updated, reason, root"

int
queue_list(struct db *d, int state, int max,
    void (*fn)(void *, const struct queue_item *), void *arg)
{
	sqlite3_stmt *st;
	struct queue_item it;
	int rc;

	/* one state: off its index, not a walk of every row from the newest */
	if (db_prepare(d, &st, state < 0 ?
	    "SELECT " QUEUE_COLS " FROM queue ORDER BY id DESC LIMIT ?2" :
	    "SELECT " QUEUE_COLS " FROM queue WHERE state = ?1 "
	    "ORDER BY id DESC LIMIT ?2") == -1)
		return -1;
	if (state >= 0)
		sqlite3_bind_int(st, 1, state);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		queue_row(st, &it);
		fn(arg, &it);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
queue_get(struct db *d, const uint8_t *reqid, struct queue_item *it,
    struct buf *req, struct buf *ans)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT " QUEUE_COLS ", request, answer FROM queue "
	    "WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		queue_row(st, it);
		if ((req && db_blob(st, 9, req) == -1) || (ans && db_blob(st, 10, ans) == -1))
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
queue_set_delivered(struct db *d, int64_t id)
{
	sqlite3_stmt *st;

	if (db_cached(d, &st, "UPDATE queue SET state = 3, updated = ? "
	    "WHERE id = ? AND state = 2") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_int64(st, 2, id);
	return db_step_reset(d, st);
}

/*
 * Delivered and failed rows that have not changed since before. Never the
 * row with the highest id: SQLite gives a new row the highest id plus one,
 * and linkd's link tags answers with row ids, so an id must never come
 * back after its row was pruned.
 */
int
queue_prune(struct db *d, int64_t before, int max, int64_t *n)
{
	return db_prune(d, "DELETE FROM queue WHERE id IN (SELECT id FROM queue "
	    "WHERE state >= 3 AND updated < ?1 AND id < (SELECT max(id) FROM queue) "
	    "LIMIT ?2)", before, max, n);
}

int
queue_oldest_finished(struct db *d, int64_t *t)
{
	return db_int64(d, "SELECT min(updated) FROM queue WHERE state >= 3", t);
}
