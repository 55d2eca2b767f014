/*
 * timestore.c: the time_samples table of ca.db (include/timesync.h).
 *
 * castore.c creates the table with the columns of the first version (id,
 * webdb_ns, local_ns, mono_ns, sync); timestore_init adds what the
 * correction needs: the TIME's request id (so that the client's later
 * report of the round trip finds its sample), the boot the monotonic time
 * belongs to, the round trips, and the auth flag. Only the signer sets
 * auth, and only for a TIME that came through linkd from the
 * HMAC-authenticated link; a row added any other way (by hand) has 0 and
 * airlock-timesync refuses it.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "timesync.h"
#include "castore.h"

static const struct {
	const char	*name;
	const char	*decl;
} timestore_cols[] = {
	{ "reqid", "reqid BLOB" },
	{ "boot_id", "boot_id TEXT NOT NULL DEFAULT ''" },
	{ "rtt_ns", "rtt_ns INTEGER" },
	{ "rtt_prev_ns", "rtt_prev_ns INTEGER" },
	{ "auth", "auth INTEGER NOT NULL DEFAULT 0" },
};

#define NCOLS	(sizeof(timestore_cols) / sizeof(timestore_cols[0]))

/* 1 if time_samples has column name, 0 if not, -1 error */
static int
timestore_has(struct db *d, const char *name)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(d, &st, "SELECT 1 FROM pragma_table_info('time_samples') "
	    "WHERE name = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
timestore_init(struct db *d)
{
	char sql[128];
	size_t i;
	int r;

	for (i = 0; i < NCOLS; i++) {
		if ((r = timestore_has(d, timestore_cols[i].name)) == -1)
			return -1;
		if (r == 1)
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE time_samples ADD COLUMN %s",
		    timestore_cols[i].decl);
		if (db_exec(d, sql) == -1)
			return -1;
	}
	return db_exec(d, "CREATE INDEX IF NOT EXISTS time_samples_reqid "
	    "ON time_samples(reqid)");
}

static void
timestore_bind_opt(sqlite3_stmt *st, int col, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, col);
	else
		sqlite3_bind_int64(st, col, v);
}

int
timestore_add(struct db *d, const struct time_sample *s)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT INTO time_samples (webdb_ns, local_ns, "
	    "mono_ns, sync, reqid, boot_id, rtt_ns, rtt_prev_ns, auth) "
	    "VALUES (?,?,?,?,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, s->webdb_ns);
	sqlite3_bind_int64(st, 2, s->local_ns);
	sqlite3_bind_int64(st, 3, s->mono_ns);
	sqlite3_bind_int(st, 4, s->sync);
	if (s->has_reqid)
		sqlite3_bind_blob(st, 5, s->reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, s->boot_id, -1, SQLITE_STATIC);
	timestore_bind_opt(st, 7, s->rtt_ns);
	timestore_bind_opt(st, 8, s->rtt_prev_ns);
	sqlite3_bind_int(st, 9, s->auth ? 1 : 0);
	return db_step_done(d, st);
}

int
timestore_set_rtt(struct db *d, const uint8_t *reqid, int64_t rtt_ns)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE time_samples SET rtt_ns = ? WHERE "
	    "reqid = ? AND rtt_ns IS NULL AND auth = 1") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, rtt_ns);
	sqlite3_bind_blob(st, 2, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	return db_step_done(d, st);
}

#define TS_COLS "id, webdb_ns, local_ns, mono_ns, sync, reqid, boot_id, " \
	"coalesce(rtt_ns, -1), coalesce(rtt_prev_ns, -1), auth"

static void
timestore_row(sqlite3_stmt *st, struct time_sample *s)
{
	const unsigned char *t;

	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->webdb_ns = sqlite3_column_int64(st, 1);
	s->local_ns = sqlite3_column_int64(st, 2);
	s->mono_ns = sqlite3_column_int64(st, 3);
	s->sync = sqlite3_column_int(st, 4);
	if (sqlite3_column_bytes(st, 5) == AIRLOCK_REQID_LEN) {
		s->has_reqid = 1;
		memcpy(s->reqid, sqlite3_column_blob(st, 5), AIRLOCK_REQID_LEN);
	}
	if ((t = sqlite3_column_text(st, 6)) != NULL)
		snprintf(s->boot_id, sizeof(s->boot_id), "%s", t);
	s->rtt_ns = sqlite3_column_int64(st, 7);
	s->rtt_prev_ns = sqlite3_column_int64(st, 8);
	s->auth = sqlite3_column_int(st, 9) == 1;
}

int
timestore_recent(struct db *d, int max,
    int (*fn)(void *, const struct time_sample *), void *arg)
{
	struct time_sample s;
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT " TS_COLS " FROM time_samples "
	    "ORDER BY id DESC LIMIT ?") == -1)
		return -1;
	sqlite3_bind_int(st, 1, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		timestore_row(st, &s);
		if (fn(arg, &s) == -1) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
timestore_copy(void *arg, const struct time_sample *s)
{
	*(struct time_sample *)arg = *s;
	return -1;	/* the first is enough */
}

int
timestore_latest(struct db *d, struct time_sample *s)
{
	s->id = 0;
	if (timestore_recent(d, 1, timestore_copy, s) == -1)
		return -1;
	return s->id != 0;
}
