/*
 * castore_bulk.c: the parts of ca.db (castore.c) that handle many rows at
 * once: the transaction around the signer's group commit, per-root counts
 * for airlockctl roots, the walk behind airlockctl export-index, the
 * serials behind SERIALS_FETCH, and the import of an `openssl ca`
 * directory.
 *
 * An import is resumable: the imports table remembers, per root and source
 * directory, how many lines of its index.txt are done, and each chunk of
 * certificates is committed together with that count, so a killed import
 * continues where its last commit ended and never inserts a row twice. A
 * certificate already in ca.db with the same serial is accepted only if it
 * is byte for byte the same.
 *
 * Revocation columns of certs: revoked = revocation time (Unix seconds,
 * NULL: not revoked), reason = CRLReason code (NULL: no reason code),
 * invalidity = invalidity date (Unix seconds, NULL: none).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "castore.h"

static const char castore_bulk_schema[] =
	"CREATE TABLE IF NOT EXISTS imports ("
	" root TEXT NOT NULL,"
	" src TEXT NOT NULL,"
	" total INTEGER NOT NULL,"
	" lines_done INTEGER NOT NULL,"
	" imported INTEGER NOT NULL,"
	" started INTEGER NOT NULL,"
	" finished INTEGER,"
	" next_serial TEXT,"
	" crlnumber TEXT,"
	" PRIMARY KEY (root, src));";

int
castore_begin(struct db *d)
{
	return db_begin(d);
}

int
castore_commit(struct db *d)
{
	return db_commit(d);
}

int
castore_flat(struct db *d)
{
	return db_flat(d);
}

int
castore_doomed(const struct db *d)
{
	return db_doomed(d);
}

void
castore_rollback(struct db *d)
{
	db_rollback(d);
}

int
castore_root_counts(struct db *d, const char *root, time_t now,
    struct castore_counts *c)
{
	sqlite3_stmt *st;
	int rc, r;

	memset(c, 0, sizeof(*c));
	if ((r = castore_has_counts(d)) == -1)
		return -1;
	/* with the counts step: the valid ones by certs_live, which holds
	 * those not revoked; expired = issued - revoked - valid */
	if (db_prepare(d, &st, r ?
	    "SELECT coalesce((SELECT issued FROM cert_counts WHERE root = ?1), 0),"
	    " coalesce((SELECT revoked FROM cert_counts WHERE root = ?1), 0),"
	    " (SELECT count(*) FROM certs WHERE root = ?1 AND revoked IS NULL"
	    "  AND not_after >= ?2)" :
	    "SELECT count(*), coalesce(sum(revoked IS NOT NULL), 0),"
	    " coalesce(sum(revoked IS NULL AND not_after >= ?2), 0)"
	    " FROM certs WHERE root = ?1") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->issued = sqlite3_column_int64(st, 0);
		c->revoked = sqlite3_column_int64(st, 1);
		c->valid = sqlite3_column_int64(st, 2);
		c->expired = c->issued - c->revoked - c->valid;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

static void
castore_row_of(sqlite3_stmt *st, struct castore_row *r)
{
	memset(r, 0, sizeof(*r));
	r->serial = sqlite3_column_blob(st, 0);
	r->serial_len = (size_t)sqlite3_column_bytes(st, 0);
	r->der = sqlite3_column_blob(st, 1);
	r->der_len = (size_t)sqlite3_column_bytes(st, 1);
	r->not_before = sqlite3_column_int64(st, 2);
	r->not_after = sqlite3_column_int64(st, 3);
	r->subject = (const char *)sqlite3_column_text(st, 4);
	r->revoked = sqlite3_column_int64(st, 5);
	r->reason = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(st, 6);
	r->invalidity = sqlite3_column_int64(st, 7);
}

/* Hands each row of st to fn (which may stop the walk with -1), then
 * finalizes st: 0 when every row went, -1 when stopped or on error. */
static int
castore_rows(struct db *d, sqlite3_stmt *st,
    int (*fn)(void *, const struct castore_row *), void *arg)
{
	struct castore_row r;
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		castore_row_of(st, &r);
		if (fn(arg, &r) == -1) {
			rc = SQLITE_ABORT;
			break;
		}
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ABORT)
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}


int
castore_each_cert(struct db *d, const char *root,
    int (*fn)(void *, const struct castore_row *), void *arg)
{
	sqlite3_stmt *st;

	/* rowid order: the order of issue, or of the imported index */
	if (db_prepare(d, &st, "SELECT serial, der, not_before, not_after,"
	    " subject, revoked, reason, invalidity FROM certs WHERE root = ?"
	    " ORDER BY rowid") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	return castore_rows(d, st, fn, arg);
}

int
castore_each_recent(struct db *d, const char *root, int64_t since,
    size_t max, int (*fn)(void *, const struct castore_row *), void *arg)
{
	sqlite3_stmt *st;

	/* newest first: a walk back from the end of the table that stops at
	 * max rows, however many the root has ("+root": not through the
	 * (root, serial) index, which would sort all of the root's rows) */
	if (db_prepare(d, &st, "SELECT serial, der, not_before, not_after,"
	    " subject, revoked, reason, invalidity FROM certs WHERE +root = ?1"
	    " AND not_before >= ?2 ORDER BY rowid DESC LIMIT ?3") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)max);
	return castore_rows(d, st, fn, arg);
}

int64_t
castore_count_since(struct db *d, const char *root, int64_t since)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (since <= 0)
		return castore_cert_count(d, root);
	if (db_prepare(d, &st, "SELECT count(*) FROM certs WHERE root = ?1"
	    " AND not_before >= ?2") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * SERIALS_FETCH (docs/protocol.md 9.9): a root's certificates after a row
 * id, in row id order, through the index certs_by_root (castore.c), so a
 * batch costs its own rows whatever the table holds. Not cached
 * statements: the signer's connection keeps few (DB_CACHE), and preparing
 * costs little beside a batch.
 */
int
castore_each_serial(struct db *d, const char *root, int64_t after,
    int (*fn)(void *, int64_t, const uint8_t *, size_t), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (db_prepare(d, &st, "SELECT rowid, serial FROM certs WHERE root = ?1"
	    " AND rowid > ?2 ORDER BY rowid") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn(arg, sqlite3_column_int64(st, 0), sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1)) == -1) {
			rc = SQLITE_DONE;
			break;
		}
	if (rc != SQLITE_DONE)
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
castore_serial_end(struct db *d, const char *root, int64_t *end)
{
	sqlite3_stmt *st;
	int rc;

	*end = 0;
	if (db_prepare(d, &st, "SELECT coalesce(max(rowid), 0) FROM certs"
	    " WHERE root = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*end = sqlite3_column_int64(st, 0);
	else
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* --- import --- */

static int
castore_bulk_schema_ok(struct db *d)
{
	return db_exec(d, castore_bulk_schema);
}

static void
castore_text(sqlite3_stmt *st, int col, char *out, size_t outsz)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, outsz, "%s", t != NULL ? (const char *)t : "");
}

int
castore_import_get(struct db *d, const char *root, const char *src,
    struct castore_import *im)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	memset(im, 0, sizeof(*im));
	if (castore_bulk_schema_ok(d) == -1 || db_prepare(d, &st,
	    "SELECT total, lines_done, imported, finished, next_serial,"
	    " crlnumber FROM imports WHERE root = ? AND src = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		im->total = sqlite3_column_int64(st, 0);
		im->lines_done = sqlite3_column_int64(st, 1);
		im->imported = sqlite3_column_int64(st, 2);
		im->finished = sqlite3_column_int64(st, 3);
		castore_text(st, 4, im->next_serial, sizeof(im->next_serial));
		castore_text(st, 5, im->crlnumber, sizeof(im->crlnumber));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
castore_import_start(struct db *d, const char *root, const char *src,
    int64_t total)
{
	sqlite3_stmt *st;

	if (castore_bulk_schema_ok(d) == -1 || db_prepare(d, &st,
	    "INSERT INTO imports (root, src, total, lines_done, imported,"
	    " started) VALUES (?, ?, ?, 0, 0, ?)") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, total);
	sqlite3_bind_int64(st, 4, time(NULL));
	return db_step_done(d, st);
}

static void
castore_bind_opt(sqlite3_stmt *st, int col, int64_t v, int present)
{
	if (present)
		sqlite3_bind_int64(st, col, v);
	else
		sqlite3_bind_null(st, col);
}

/* 1 inserted, 0 the same certificate is there already, -1 error, -2 conflict */
static int
castore_import_row(struct db *d, sqlite3_stmt *ins, sqlite3_stmt *same,
    const char *root, const struct castore_row *r)
{
	int rc;

	sqlite3_reset(ins);
	sqlite3_bind_text(ins, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 2, r->serial, (int)r->serial_len, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 3, r->not_before);
	sqlite3_bind_int64(ins, 4, r->not_after);
	sqlite3_bind_text(ins, 5, r->subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 6, r->der, (int)r->der_len, SQLITE_STATIC);
	castore_bind_opt(ins, 7, r->revoked, r->revoked != 0);
	castore_bind_opt(ins, 8, r->reason, r->revoked != 0 && r->reason >= 0);
	castore_bind_opt(ins, 9, r->invalidity, r->invalidity != 0);
	if (sqlite3_step(ins) != SQLITE_DONE)
		return -1;
	if (sqlite3_changes(d->h) == 1)
		return 1;
	sqlite3_reset(same);
	sqlite3_bind_text(same, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(same, 2, r->serial, (int)r->serial_len, SQLITE_STATIC);
	sqlite3_bind_blob(same, 3, r->der, (int)r->der_len, SQLITE_STATIC);
	rc = sqlite3_step(same);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -2 : -1;
}

static int
castore_import_progress(struct db *d, const char *root, const char *src,
    int64_t lines_done, int64_t added)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE imports SET lines_done = ?,"
	    " imported = imported + ? WHERE root = ? AND src = ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, lines_done);
	sqlite3_bind_int64(st, 2, added);
	sqlite3_bind_text(st, 3, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, src, -1, SQLITE_STATIC);
	return db_step_done(d, st);
}

int
castore_import_chunk(struct db *d, const char *root, const char *src,
    const struct castore_row *rows, size_t n, int64_t lines_done,
    size_t *conflict)
{
	sqlite3_stmt *ins = NULL, *same = NULL;
	int64_t added = 0, revoked = 0;
	size_t i;
	int rc = -1, r;

	*conflict = n;
	if (db_begin(d) == -1)
		return -1;
	if (db_prepare(d, &ins, "INSERT INTO certs (root, serial, not_before,"
	    " not_after, subject, der, revoked, reason, invalidity)"
	    " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING") == -1 ||
	    db_prepare(d, &same, "SELECT 1 FROM certs WHERE root = ? AND"
	    " serial = ? AND der = ?") == -1)
		goto done;
	for (i = 0; i < n; i++) {
		if ((r = castore_import_row(d, ins, same, root, &rows[i])) < 0) {
			if (r == -2)
				*conflict = i;
			else
				log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
			goto done;
		}
		added += r;
		revoked += r == 1 && rows[i].revoked != 0;
	}
	if (castore_count_add(d, root, added, revoked) == 0)
		rc = castore_import_progress(d, root, src, lines_done, added);
done:
	sqlite3_finalize(ins);
	sqlite3_finalize(same);
	if (rc == 0)
		return db_commit(d);
	db_rollback(d);
	return *conflict < n ? -2 : -1;
}

int
castore_import_finish(struct db *d, const char *root, const char *src,
    const char *next_serial, const char *crlnumber)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE imports SET finished = ?,"
	    " next_serial = ?, crlnumber = ? WHERE root = ? AND src = ?") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_text(st, 2, next_serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, crlnumber, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, src, -1, SQLITE_STATIC);
	return db_step_done(d, st);
}
