/*
 * crlstore.c: revocations and CRLs in ca.db, beside castore.c. The
 * revocation columns of certs (revoked, reason, invalidity: castore_bulk.c)
 * get two more, which say which full CRLs list an entry:
 *   crl_first   the first CRL number that lists it (NULL: revoked since the
 *               newest CRL, pending);
 *   crl_pruned  the first CRL number that no longer lists it, because its
 *               certificate expired more than the grace period before.
 * Full CRL N lists exactly the entries with crl_first <= N and crl_pruned
 * NULL or > N. So the delta from any earlier full CRL B to the newest N is
 * two index range scans: crl_first > B (added; crl_pruned NULL) and
 * crl_pruned > B with crl_first <= B (removed). Both indexes are partial
 * (revoked rows only) and covering, so a CRL never reads the certificates
 * themselves, and a delta costs O(changes) however many rows certs holds.
 *
 * crls keeps one row per CRL number issued (a full CRL; deltas are made on
 * demand and not kept): its times, its entry count, and for the newest one
 * the DER and the signature value. Every function that writes runs inside
 * the caller's transaction if there is one (db_begin nests as savepoints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "db.h"
#include "crlsign.h"

/* The indexes name the CA key (cakey) since key rollover: certs_crl_listed
 * and certs_crl_pruned of earlier versions are replaced. */
static const char crlstore_schema[] =
	"DROP INDEX IF EXISTS certs_crl_listed;"
	"DROP INDEX IF EXISTS certs_crl_pruned;"
	"CREATE INDEX IF NOT EXISTS certs_crl_listed_k ON certs(root, cakey,"
	" crl_first, serial, revoked, reason, invalidity, not_after, crl_pruned)"
	" WHERE revoked IS NOT NULL AND crl_pruned IS NULL;"
	"CREATE INDEX IF NOT EXISTS certs_crl_pruned_k ON certs(root, cakey,"
	" crl_pruned, crl_first, serial, revoked) WHERE crl_pruned IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS crls ("
	" root TEXT NOT NULL,"
	" number INTEGER NOT NULL,"
	" this_update INTEGER NOT NULL,"
	" next_update INTEGER NOT NULL,"
	" entries INTEGER NOT NULL,"
	" der BLOB,"
	" sig BLOB,"
	" PRIMARY KEY (root, number));";

/*
 * A CRL series is a root's key: "ROOT" for its first key (generation 1, as
 * before rollover existed), "ROOT#N" for generation N (ca_gen.c). The crls
 * rows are kept under the series name (?1); the certs rows under the root
 * (?8) and the key's generation, column cakey (?9).
 */
static void
crlstore_bind_series(sqlite3_stmt *st, const char *series)
{
	const char *h = strchr(series, '#');
	long g = h != NULL ? strtol(h + 1, NULL, 10) : 1;

	sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) < 8)
		return;
	sqlite3_bind_text(st, 8, series, h != NULL ? (int)(h - series) : -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, g > 0 ? g : 1);
}

/* The entry columns, in this order, of every query behind crlstore_each. */
static const char *const crlstore_sets[] = {
	[CRLSTORE_LISTED] = "SELECT serial, revoked, reason, invalidity FROM certs"
	    " WHERE root = ?8 AND cakey = ?9 AND revoked IS NOT NULL"
	    " AND crl_pruned IS NULL AND crl_first IS NOT NULL AND ?1 = ?1",
	[CRLSTORE_ADDED] = "SELECT serial, revoked, reason, invalidity FROM certs"
	    " WHERE root = ?8 AND cakey = ?9 AND revoked IS NOT NULL"
	    " AND crl_pruned IS NULL AND crl_first > ?2 AND ?1 = ?1",
	[CRLSTORE_REMOVED] = "SELECT serial, revoked, 8, 0 FROM certs"
	    " WHERE root = ?8 AND cakey = ?9 AND crl_pruned IS NOT NULL"
	    " AND crl_pruned > ?2 AND crl_first <= ?2 AND ?1 = ?1",
};

static int
crlstore_has_column(struct db *d, const char *col)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(d, &st, "SELECT 1 FROM pragma_table_info('certs')"
	    " WHERE name = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, col, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
crlstore_prepare(struct db *d)
{
	const char *cols[] = { "crl_first", "crl_pruned", "cakey" };
	char sql[128];
	size_t i;
	int r;

	if (db_begin(d) == -1)
		return -1;
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		if ((r = crlstore_has_column(d, cols[i])) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "ALTER TABLE certs ADD COLUMN %s INTEGER%s",
		    cols[i], i == 2 ? " NOT NULL DEFAULT 1" : "");
		if (r == 0 && db_exec(d, sql) == -1)
			goto fail;
	}
	if (db_exec(d, crlstore_schema) == -1)
		goto fail;
	return db_commit(d);
fail:
	db_rollback(d);
	return -1;
}

static int
crlstore_done(struct db *d, sqlite3_stmt *st, int rc)
{
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_warnx("%s: %s", d->path, sqlite3_errmsg(d->h));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
crlstore_cert(struct db *d, const char *root, const uint8_t *serial, size_t len,
    struct crlstore_cert *c)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if (db_prepare(d, &st, "SELECT not_after, revoked, reason, invalidity,"
	    " crl_first FROM certs WHERE root = ? AND serial = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, serial, (int)len, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c->not_after = sqlite3_column_int64(st, 0);
		c->revoked = sqlite3_column_int64(st, 1);
		c->reason = sqlite3_column_int(st, 2);
		c->invalidity = sqlite3_column_int64(st, 3);
		c->crl_first = sqlite3_column_int64(st, 4);
	}
	if (crlstore_done(d, st, rc) == -1)
		return -1;
	return rc == SQLITE_ROW;
}

int
crlstore_revoke(struct db *d, const char *root, const uint8_t *serial, size_t len,
    int64_t when, int reason, int64_t invalidity)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "UPDATE certs SET revoked = ?, reason = ?,"
	    " invalidity = ? WHERE root = ? AND serial = ? AND revoked IS NULL") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, when);
	if (reason != 0)
		sqlite3_bind_int(st, 2, reason);
	else
		sqlite3_bind_null(st, 2);
	if (invalidity != 0)
		sqlite3_bind_int64(st, 3, invalidity);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, serial, (int)len, SQLITE_STATIC);
	if (db_step_done(d, st) == -1)
		return -1;
	return sqlite3_changes(d->h) == 1;
}

static void
crlstore_row(sqlite3_stmt *st, struct crlstore_crl *c)
{
	c->number = sqlite3_column_int64(st, 0);
	c->this_update = sqlite3_column_int64(st, 1);
	c->next_update = sqlite3_column_int64(st, 2);
	c->entries = sqlite3_column_int64(st, 3);
	c->der_len = sqlite3_column_int64(st, 4);
}

int
crlstore_current(struct db *d, const char *root, struct crlstore_crl *c)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if (db_prepare(d, &st, "SELECT number, this_update, next_update, entries,"
	    " coalesce(length(der), 0) FROM crls WHERE root = ?"
	    " ORDER BY number DESC LIMIT 1") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		crlstore_row(st, c);
	if (crlstore_done(d, st, rc) == -1)
		return -1;
	return rc == SQLITE_ROW;
}

int
crlstore_get(struct db *d, const char *root, int64_t number, struct crlstore_crl *c,
    struct buf *der, struct buf *sig)
{
	sqlite3_stmt *st;
	int rc;

	memset(c, 0, sizeof(*c));
	if (db_prepare(d, &st, "SELECT number, this_update, next_update, entries,"
	    " coalesce(length(der), 0), der, sig FROM crls"
	    " WHERE root = ? AND number = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, number);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		crlstore_row(st, c);
		if ((der != NULL && db_blob(st, 5, der) == -1) ||
		    (sig != NULL && db_blob(st, 6, sig) == -1))
			rc = SQLITE_NOMEM;
	}
	if (crlstore_done(d, st, rc) == -1)
		return -1;
	return rc == SQLITE_ROW;
}

static int64_t
crlstore_int(struct db *d, const char *sql, const char *root, int64_t arg)
{
	sqlite3_stmt *st;
	int64_t v = -1;
	int rc;

	if (db_prepare(d, &st, sql) == -1)
		return -1;
	crlstore_bind_series(st, root);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, arg);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (crlstore_done(d, st, rc) == -1)
		return -1;
	return v;
}

int64_t
crlstore_pending(struct db *d, const char *root)
{
	return crlstore_int(d, "SELECT count(*) FROM certs WHERE root = ?8"
	    " AND cakey = ?9 AND revoked IS NOT NULL AND crl_pruned IS NULL"
	    " AND crl_first IS NULL AND ?1 = ?1",
	    root, 0);
}

/* The next number an `openssl ca` directory imported into root would use. */
static int64_t
crlstore_imported_next(struct db *d, const char *root)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int64_t best = 0, v;
	int rc;

	if (db_prepare(d, &st, "SELECT name FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'imports'") == -1)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	if (db_prepare(d, &st, "SELECT crlnumber FROM imports WHERE root = ?"
	    " AND finished IS NOT NULL AND crlnumber IS NOT NULL") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		/* hex, as openssl ca writes it */
		v = t != NULL ? strtoll((const char *)t, NULL, 16) : 0;
		if (v > best && v < INT64_MAX / 2)
			best = v;
	}
	if (crlstore_done(d, st, rc) == -1)
		return -1;
	return best;
}

/* The highest CRL number webdb has seen after a restore (audit_state
 * "crl_floor:ROOT", set by the catch-up): 0 none. */
static int64_t
crlstore_floor(struct db *d, const char *root)
{
	sqlite3_stmt *st;
	char key[AIRLOCK_NAME_MAX + 16];
	int64_t v = 0;
	int rc;

	if (db_prepare(d, &st, "SELECT name FROM sqlite_master WHERE type = 'table'"
	    " AND name = 'audit_state'") == -1)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	snprintf(key, sizeof(key), "crl_floor:%s", root);
	if (db_prepare(d, &st, "SELECT CAST(value AS INTEGER) FROM audit_state"
	    " WHERE key = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? v : -1;
}

int64_t
crlstore_next_number(struct db *d, const char *root)
{
	int64_t last, imported, floor;

	last = crlstore_int(d, "SELECT coalesce(max(number), 0) FROM crls"
	    " WHERE root = ?1", root, 0);
	if (last == -1 || (imported = crlstore_imported_next(d, root)) == -1 ||
	    (floor = crlstore_floor(d, root)) == -1)
		return -1;
	if (floor > last)
		last = floor;	/* numbers continue above what webdb has seen */
	return last + 1 > imported ? last + 1 : imported;
}

static int
crlstore_update(struct db *d, const char *sql, const char *root, int64_t a, int64_t b)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, sql) == -1)
		return -1;
	crlstore_bind_series(st, root);
	sqlite3_bind_int64(st, 2, a);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, b);
	return db_step_done(d, st);
}

int
crlstore_assign(struct db *d, const char *root, int64_t number, int64_t prune_before)
{
	if (crlstore_update(d, "UPDATE certs SET crl_first = ?2 WHERE root = ?8"
	    " AND cakey = ?9 AND revoked IS NOT NULL AND crl_pruned IS NULL"
	    " AND crl_first IS NULL AND ?1 = ?1",
	    root, number, 0) == -1)
		return -1;
	if (prune_before <= 0)
		return 0;
	return crlstore_update(d, "UPDATE certs SET crl_pruned = ?2 WHERE root = ?8"
	    " AND cakey = ?9 AND revoked IS NOT NULL AND crl_pruned IS NULL"
	    " AND crl_first IS NOT NULL AND not_after < ?3 AND ?1 = ?1", root, number,
	    prune_before);
}

int
crlstore_each(struct db *d, const char *root, int set, int64_t base,
    int (*fn)(void *, const struct crl_entry *), void *arg)
{
	struct crl_entry e;
	sqlite3_stmt *st;
	int rc;

	if (set < CRLSTORE_LISTED || set > CRLSTORE_REMOVED ||
	    db_prepare(d, &st, crlstore_sets[set]) == -1)
		return -1;
	crlstore_bind_series(st, root);
	sqlite3_bind_int64(st, 2, base);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e.serial = sqlite3_column_blob(st, 0);
		e.serial_len = (size_t)sqlite3_column_bytes(st, 0);
		e.revoked = sqlite3_column_int64(st, 1);
		e.reason = sqlite3_column_int(st, 2);
		e.invalidity = sqlite3_column_int64(st, 3);
		if (fn(arg, &e) == -1) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	return crlstore_done(d, st, rc);
}

int64_t
crlstore_count(struct db *d, const char *root, int set, int64_t base)
{
	char sql[512];
	const char *from;

	if (set < CRLSTORE_LISTED || set > CRLSTORE_REMOVED)
		return -1;
	from = strstr(crlstore_sets[set], " FROM ");
	snprintf(sql, sizeof(sql), "SELECT count(*)%s", from);
	return crlstore_int(d, sql, root, base);
}

int
crlstore_put(struct db *d, const char *root, const struct crlstore_crl *c,
    const uint8_t *der, size_t derlen, const uint8_t *sig, size_t siglen)
{
	sqlite3_stmt *st;

	if (db_begin(d) == -1)
		return -1;
	if (crlstore_update(d, "UPDATE crls SET der = NULL, sig = NULL"
	    " WHERE root = ?1 AND number < ?2", root, c->number, 0) == -1 ||
	    db_prepare(d, &st, "INSERT INTO crls (root, number, this_update,"
	    " next_update, entries, der, sig) VALUES (?,?,?,?,?,?,?)") == -1)
		goto fail;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->number);
	sqlite3_bind_int64(st, 3, c->this_update);
	sqlite3_bind_int64(st, 4, c->next_update);
	sqlite3_bind_int64(st, 5, c->entries);
	sqlite3_bind_blob64(st, 6, der, derlen, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 7, sig, siglen, SQLITE_STATIC);
	if (db_step_done(d, st) == -1)
		goto fail;
	return db_commit(d);
fail:
	db_rollback(d);
	return -1;
}

int
crlstore_key_certs(struct db *d, const char *root, int gen, int64_t now,
    int64_t *live, int64_t *last)
{
	sqlite3_stmt *st;
	int rc;

	*live = *last = 0;
	if (db_prepare(d, &st, "SELECT count(*) FILTER (WHERE not_after >= ?3),"
	    " coalesce(max(not_after), 0) FROM certs WHERE root = ?1 AND cakey = ?2")
	    == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, gen);
	sqlite3_bind_int64(st, 3, now);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*live = sqlite3_column_int64(st, 0);
		*last = sqlite3_column_int64(st, 1);
	}
	return crlstore_done(d, st, rc);
}
