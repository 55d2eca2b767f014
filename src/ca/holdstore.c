/*
 * holdstore.c: dual control in ca.db (docs/ca-layout.md section 10). A
 * SIGN for a profile with `approvals = N` is kept in held until N distinct
 * operators have approved it with `airlockctl approve`, one denied it, or
 * its approval_timeout passed:
 *   held       one row per request: root, profile, subject, when it was
 *              held, until when it may wait, how many approvals it needs,
 *              and its outcome (NULL while it waits; "approved", "denied",
 *              "timed out").
 *   approvals  one row per operator and request: approve (1) or deny (0),
 *              and when. The primary key makes each operator count once.
 * The tables are new, created when missing: a ca.db of an earlier version
 * opens unchanged. Writers are the signer (held, outcome) and airlockctl
 * (approvals), each in its own transaction.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "holdstore.h"

static const char holdstore_schema[] =
	"CREATE TABLE IF NOT EXISTS held ("
	" reqid BLOB PRIMARY KEY,"
	" root TEXT NOT NULL,"
	" profile TEXT NOT NULL,"
	" subject TEXT NOT NULL,"
	" held_at INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" needed INTEGER NOT NULL,"
	" outcome TEXT);"
	"CREATE TABLE IF NOT EXISTS approvals ("
	" reqid BLOB NOT NULL,"
	" operator TEXT NOT NULL,"
	" approve INTEGER NOT NULL,"
	" at INTEGER NOT NULL,"
	" PRIMARY KEY (reqid, operator));";

int
holdstore_init(struct db *d)
{
	return db_exec(d, holdstore_schema);
}

static void
holdstore_text(sqlite3_stmt *st, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, outsz, "%s", t != NULL ? (const char *)t : "");
}

#define HOLD_COLS "h.reqid, h.root, h.profile, h.subject, h.held_at, h.expires," \
	" h.needed, h.outcome," \
	" (SELECT count(*) FROM approvals a WHERE a.reqid = h.reqid AND a.approve)," \
	" (SELECT group_concat(operator, ',') FROM approvals a WHERE" \
	"  a.reqid = h.reqid AND a.approve)," \
	" (SELECT min(operator) FROM approvals a WHERE a.reqid = h.reqid AND" \
	"  NOT a.approve)"

static void
holdstore_row(sqlite3_stmt *st, struct hold *h)
{
	const void *id = sqlite3_column_blob(st, 0);

	memset(h, 0, sizeof(*h));
	if (id != NULL && sqlite3_column_bytes(st, 0) == AIRLOCK_REQID_LEN)
		memcpy(h->reqid, id, AIRLOCK_REQID_LEN);
	holdstore_text(st, 1, h->root, sizeof(h->root));
	holdstore_text(st, 2, h->profile, sizeof(h->profile));
	holdstore_text(st, 3, h->subject, sizeof(h->subject));
	h->held_at = sqlite3_column_int64(st, 4);
	h->expires = sqlite3_column_int64(st, 5);
	h->needed = sqlite3_column_int(st, 6);
	holdstore_text(st, 7, h->outcome, sizeof(h->outcome));
	h->approved = sqlite3_column_int(st, 8);
	holdstore_text(st, 9, h->approvers, sizeof(h->approvers));
	holdstore_text(st, 10, h->denied_by, sizeof(h->denied_by));
}

int
holdstore_get(struct db *d, const uint8_t reqid[AIRLOCK_REQID_LEN], struct hold *h)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT " HOLD_COLS " FROM held h WHERE h.reqid = ?")
	    == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		holdstore_row(st, h);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return rc == SQLITE_ROW;
}

int
holdstore_put(struct db *d, const struct hold *h)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT INTO held (reqid, root, profile, subject,"
	    " held_at, expires, needed) VALUES (?,?,?,?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, h->reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, h->root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, h->profile, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, h->subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, h->held_at);
	sqlite3_bind_int64(st, 6, h->expires);
	sqlite3_bind_int(st, 7, h->needed);
	return db_step_done(d, st);
}

int
holdstore_close(struct db *d, const uint8_t reqid[AIRLOCK_REQID_LEN],
    const char *outcome)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE held SET outcome = ? WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	return db_step_done(d, st);
}

int
holdstore_decide(struct db *d, const uint8_t reqid[AIRLOCK_REQID_LEN],
    const char *operator, int approve, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "INSERT OR IGNORE INTO approvals (reqid, operator,"
	    " approve, at) VALUES (?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, operator, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, approve ? 1 : 0);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	return sqlite3_changes(d->h) == 1;
}

int
holdstore_each(struct db *d, int waiting_only, int (*fn)(void *,
    const struct hold *), void *arg)
{
	sqlite3_stmt *st;
	struct hold h;
	int rc;

	if (db_prepare(d, &st, waiting_only ? "SELECT " HOLD_COLS " FROM held h"
	    " WHERE h.outcome IS NULL ORDER BY h.held_at" : "SELECT " HOLD_COLS
	    " FROM held h ORDER BY h.held_at") == -1)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		holdstore_row(st, &h);
		if (fn(arg, &h) == -1)
			break;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}
