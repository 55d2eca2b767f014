/*
 * queue_op.c: the operator's one change to linkd's queue.db (airlockctl
 * retry and reject): a request not yet answered goes back to "received",
 * and linkd, which looks for such rows every second, hands it to the
 * signer again. The signer answers it from ca.db if it has an answer
 * (including the ERROR 400 that airlockctl reject recorded there), or
 * processes it; the request id keeps it exactly-once either way. Answered
 * rows are never touched: webdb may already have their answer.
 */
#include <time.h>

#include "db.h"
#include "queue.h"

int
queue_requeue(struct db *d, const uint8_t *reqid)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE queue SET state = ?, updated = ? "
	    "WHERE reqid = ? AND state IN (?, ?) AND answer IS NULL") == -1)
		return -1;
	sqlite3_bind_int(st, 1, Q_RECEIVED);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_blob(st, 3, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, Q_RECEIVED);
	sqlite3_bind_int(st, 5, Q_HANDED);
	if (db_step_done(d, st) == -1)
		return -1;
	return sqlite3_changes(d->h) == 1;
}

int
queue_rate(struct db *d, int64_t since, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (db_prepare(d, &st, "SELECT count(*) FROM queue WHERE received >= ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
