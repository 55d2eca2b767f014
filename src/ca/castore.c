/*
 * castore.c: airlock-signerd's CA database (ca.db). The request id is the
 * primary key of the answers table, and (root, serial) and the request id
 * are unique in the certificates table: a retransmitted request gets the
 * stored answer byte for byte and is never signed twice, and a serial can
 * never be issued twice by one issuer. An answer and its certificate are
 * committed in one transaction, before the answer leaves the signer.
 * Answers are kept for ever, except those to CRL_FETCH (large, and worth
 * nothing once a newer CRL exists), which castore_prune removes after the
 * retention period.
 *
 * Counts (schema step "counts", made once by the first writer that opens a
 * ca.db without it, in one transaction): cert_counts holds per root the
 * certificates issued and revoked, kept by triggers on certs when a row is
 * revoked or deleted and by the code that inserts rows (castore_count_add;
 * schema step "counts-insert" drops the insert trigger of older ca.db: it
 * had SQLite keep a statement journal for every certificate, about 40 % of
 * the signer's bookkeeping a certificate at P-256 rates), and the
 * partial index certs_live orders the certificates not revoked by expiry;
 * together they answer airlockctl status and roots without reading a
 * million rows. A reader opening a ca.db that has not had the step yet
 * counts the rows instead.
 *
 * Schema step "order" (made the same way): the index certs_by_root on
 * certs(root), whose entries SQLite orders by root and then rowid, so the
 * certificates of one root in the order they were stored (issued or
 * imported) are an index range from any row id on: SERIALS_FETCH
 * (castore_each_serial) reads a batch of them without touching the rest.
 */
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "msg.h"
#include "castore.h"

static const char castore_schema[] =
	"CREATE TABLE IF NOT EXISTS answers ("
	" reqid BLOB PRIMARY KEY,"
	" type INTEGER NOT NULL,"
	" root TEXT NOT NULL,"
	" code INTEGER NOT NULL,"
	" answered INTEGER NOT NULL,"
	" answer BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS certs ("
	" root TEXT NOT NULL,"
	" serial BLOB NOT NULL,"
	" reqid BLOB UNIQUE,"
	" not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL,"
	" subject TEXT NOT NULL,"
	" der BLOB NOT NULL,"
	" revoked INTEGER,"
	" reason INTEGER,"
	" invalidity INTEGER,"
	" PRIMARY KEY (root, serial));"
	"CREATE TABLE IF NOT EXISTS time_samples ("
	" id INTEGER PRIMARY KEY,"
	" webdb_ns INTEGER NOT NULL,"
	" local_ns INTEGER NOT NULL,"
	" mono_ns INTEGER NOT NULL,"
	" sync INTEGER NOT NULL);"
	/* what castore_prune looks for: CRL answers by age */
	"CREATE INDEX IF NOT EXISTS answers_crl ON answers(answered) WHERE type = 3;";

/*
 * Pages of 8 KiB for a new ca.db (an older one keeps its 4 KiB): a row
 * holds a whole certificate, and a page wastes on average half a row at
 * its end, 9% of a 4 KiB page for a 700-byte certificate, 4% of 8 KiB.
 */
#define CASTORE_PAGE	8192

static const char castore_counts_step[] =
	"CREATE TABLE cert_counts ("
	" root TEXT PRIMARY KEY,"
	" issued INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO cert_counts SELECT root, count(*), count(revoked)"
	" FROM certs GROUP BY root;"
	"CREATE TRIGGER cert_counts_insert AFTER INSERT ON certs BEGIN"
	" INSERT INTO cert_counts VALUES (NEW.root, 1, NEW.revoked IS NOT NULL)"
	" ON CONFLICT (root) DO UPDATE SET issued = issued + 1,"
	" revoked = revoked + (NEW.revoked IS NOT NULL); END;"
	"CREATE TRIGGER cert_counts_revoke AFTER UPDATE OF revoked ON certs BEGIN"
	" UPDATE cert_counts SET revoked = revoked + (NEW.revoked IS NOT NULL)"
	" - (OLD.revoked IS NOT NULL) WHERE root = NEW.root; END;"
	"CREATE TRIGGER cert_counts_delete AFTER DELETE ON certs BEGIN"
	" UPDATE cert_counts SET issued = issued - 1,"
	" revoked = revoked - (OLD.revoked IS NOT NULL) WHERE root = OLD.root; END;"
	"CREATE INDEX certs_live ON certs(root, not_after) WHERE revoked IS NULL;";

static const char castore_order_step[] =
	"CREATE INDEX certs_by_root ON certs(root);";

/* Since "counts-insert" the code that inserts certificates counts them. */
static const char castore_counts_insert_step[] =
	"DROP TRIGGER cert_counts_insert;";

/* the SQL says "type = 3" literally, or the partial index is not used */
_Static_assert(MSG_CRL_FETCH == 3, "answers_crl holds the answers to CRL_FETCH");

/* 1 if ca.db has the table or index name (a schema step was made), 0 if
 * not, -1 on error */
static int
castore_has(struct db *d, const char *type, const char *name)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_prepare(d, &st, "SELECT 1 FROM sqlite_master WHERE type = ?"
	    " AND name = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		found = 1;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
castore_has_counts(struct db *d)
{
	return castore_has(d, "table", "cert_counts");
}

static const struct {
	const char	*step;
	const char	*type, *name;	/* what the step makes, or drops (gone) */
	const char	*sql;
	const char	*what;		/* for the log */
	int		 gone;
} castore_steps[] = {
	{ "counts", "table", "cert_counts", castore_counts_step,
	    "certificate counts per root, kept by triggers", 0 },
	{ "order", "index", "certs_by_root", castore_order_step,
	    "each root's certificates in the order stored, for SERIALS_FETCH", 0 },
	{ "counts-insert", "trigger", "cert_counts_insert",
	    castore_counts_insert_step, "certificates counted as they are "
	    "inserted, without a trigger", 1 },
};

/* Step i, once: 0 (made now or before), -1 on error. */
static int
castore_step(struct db *d, size_t i)
{
	int r, todo = castore_steps[i].gone ? 1 : 0;	/* castore_has's */

	if ((r = castore_has(d, castore_steps[i].type, castore_steps[i].name)) != todo)
		return r == -1 ? -1 : 0;
	if (db_begin(d) == -1)
		return -1;
	/* again inside the transaction: another writer may have done it */
	if ((r = castore_has(d, castore_steps[i].type, castore_steps[i].name)) == -1 ||
	    (r == todo && db_exec(d, castore_steps[i].sql) == -1)) {
		db_rollback(d);
		return -1;
	}
	if (db_commit(d) == -1)
		return -1;
	if (r == todo)
		log_info("%s: schema step \"%s\" made (%s)", d->path,
		    castore_steps[i].step, castore_steps[i].what);
	return 0;
}

static int
castore_migrate(struct db *d)
{
	size_t i;

	for (i = 0; i < sizeof(castore_steps) / sizeof(castore_steps[0]); i++)
		if (castore_step(d, i) == -1)
			return -1;
	return 0;
}

int
castore_open(const char *path, int mode, struct db **d)
{
	char why[256];
	struct stat st;

	*d = NULL;
	/* SQLite takes an empty file for a new database: ca.db never is one */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		log_warnx("%s: the CA database is empty (0 bytes): truncated or "
		    "damaged, so it is not used; restore it from a backup (or "
		    "remove it if this signer has never issued anything)", path);
		return -1;
	}
	if (db_open_paged(path, mode, castore_schema, CASTORE_PAGE, d) == -1)
		return -1;
	/* the writers check it whole at open; readers that report on it
	 * (status, audit verify) call castore_check, others need not (top
	 * opens it every second) */
	if (mode != DB_RO && !db_quick_ok(*d, why, sizeof(why))) {
		log_warnx("%s: the CA database is damaged (integrity check: %s); "
		    "it is not used: restore it from a backup", path, why);
		db_close(*d);
		*d = NULL;
		return -1;
	}
	if (mode != DB_RO && castore_migrate(*d) == -1) {
		log_warnx("%s: cannot add the certificate counts or the index of "
		    "certificates by root to the CA database", path);
		db_close(*d);
		*d = NULL;
		return -1;
	}
	return 0;
}

int
castore_check(struct db *d, const char *path)
{
	char why[256];

	if (db_quick_ok(d, why, sizeof(why)))
		return 0;
	log_warnx("%s: the CA database is damaged (integrity check: %s); "
	    "restore it from a backup", path, why);
	return -1;
}

int
castore_check_bounded(struct db *d, const char *path, int64_t *size)
{
	struct stat st;

	*size = stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
	if (*size > CASTORE_CHECK_MAX)
		return 0;
	return castore_check(d, path) == 0 ? 1 : -1;
}

int
castore_answer(struct db *d, const uint8_t *reqid, struct buf *answer)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	if (db_cached(d, &st, "SELECT answer FROM answers WHERE reqid = ?") == -1)
		return -1;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		found = 1;
		if (db_blob(st, 0, answer) == -1)
			rc = SQLITE_NOMEM;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int
castore_serial_used(struct db *d, const char *root, const uint8_t *serial, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if (db_cached(d, &st, "SELECT 1 FROM certs WHERE root = ? AND serial = ?") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, serial, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
castore_put_cert(struct db *d, const struct castore_cert *c)
{
	sqlite3_stmt *st;

	/* cakey (crlstore_prepare) only when a later key issued it */
	if (db_cached(d, &st, c->gen > 1 ? "INSERT INTO certs (root, serial, reqid,"
	    " not_before, not_after, subject, der, cakey) VALUES (?,?,?,?,?,?,?,?)" :
	    "INSERT INTO certs (root, serial, reqid, not_before, "
	    "not_after, subject, der) VALUES (?,?,?,?,?,?,?)") == -1)
		return -1;
	if (c->gen > 1)
		sqlite3_bind_int(st, 8, c->gen);
	sqlite3_bind_text(st, 1, c->root, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c->serial, (int)c->serial_len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, c->reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->not_before);
	sqlite3_bind_int64(st, 5, c->not_after);
	sqlite3_bind_text(st, 6, c->subject, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, c->der, (int)c->der_len, SQLITE_STATIC);
	if (db_step_reset(d, st) == -1)
		return -1;
	return castore_count_add(d, c->root, 1, 0);
}

int
castore_count_add(struct db *d, const char *root, int64_t issued,
    int64_t revoked)
{
	sqlite3_stmt *st;
	int i;

	if (issued == 0 && revoked == 0)
		return 0;
	for (i = 0; i < 2; i++) {
		if (db_cached(d, &st, i == 0 ? "UPDATE cert_counts SET issued ="
		    " issued + ?2, revoked = revoked + ?3 WHERE root = ?1" :
		    "INSERT INTO cert_counts (root, issued, revoked)"
		    " VALUES (?1, ?2, ?3)") == -1)
			return -1;
		sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, issued);
		sqlite3_bind_int64(st, 3, revoked);
		if (db_step_reset(d, st) == -1)
			return -1;
		if (sqlite3_changes(d->h) == 1)
			return 0;	/* the root's row, or a new one */
	}
	return -1;
}

int
castore_record(struct db *d, const uint8_t *reqid, int type, const char *root,
    int code, const uint8_t *answer, size_t anslen, const struct castore_cert *c)
{
	sqlite3_stmt *st;

	if (db_begin(d) == -1)
		return -1;
	if (c != NULL && castore_put_cert(d, c) == -1)
		goto fail;
	if (db_cached(d, &st, "INSERT INTO answers (reqid, type, root, code, "
	    "answered, answer) VALUES (?,?,?,?,?,?)") == -1)
		goto fail;
	sqlite3_bind_blob(st, 1, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, type);
	sqlite3_bind_text(st, 3, root ? root : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, code);
	sqlite3_bind_int64(st, 5, time(NULL));
	sqlite3_bind_blob(st, 6, answer, (int)anslen, SQLITE_STATIC);
	if (db_step_reset(d, st) == -1)
		goto fail;
	return db_commit(d);
fail:
	db_rollback(d);
	return -1;
}

int
castore_time_sample(struct db *d, uint64_t webdb_ns, uint64_t local_ns,
    uint64_t mono_ns, int sync)
{
	sqlite3_stmt *st;

	if (db_prepare(d, &st, "INSERT INTO time_samples (webdb_ns, local_ns, "
	    "mono_ns, sync) VALUES (?,?,?,?)") == -1)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)webdb_ns);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)local_ns);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)mono_ns);
	sqlite3_bind_int(st, 4, sync);
	return db_step_done(d, st);
}

int64_t
castore_cert_count(struct db *d, const char *root)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	int r;

	if ((r = castore_has_counts(d)) == -1 || db_prepare(d, &st, r ?
	    "SELECT coalesce(sum(issued), 0) FROM cert_counts"
	    " WHERE ?1 IS NULL OR root = ?1" :
	    "SELECT count(*) FROM certs WHERE ?1 IS NULL OR root = ?1") == -1)
		return -1;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Stored answers to CRL_FETCH given before before. Only those: a SIGN or
 * REVOKE answer is the proof that its request id was handled and must be
 * answered with the same bytes for ever; a CRL_FETCH asked again is simply
 * answered with the CRL of that day.
 */
int
castore_prune(struct db *d, int64_t before, int max, int64_t *n)
{
	return db_prune(d, "DELETE FROM answers WHERE rowid IN (SELECT rowid FROM "
	    "answers WHERE type = 3 AND answered < ?1 LIMIT ?2)", before, max, n);
}
