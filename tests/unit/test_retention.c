/*
 * test_retention.c: pruning (src/common/retention.c, queue_prune, castore_prune,
 * outbox_prune and db_prune in src/common/db.c) on real SQLite files in a fresh
 * directory under /tmp.
 *
 * Rows are written through the stores' own functions, in every state, and
 * then aged with an UPDATE on a side connection. The points: exactly the
 * finished rows older than the retention go (delivered and failed in
 * queue.db, done and failed in outbox.db, answers to CRL_FETCH in ca.db);
 * a request not yet answered, or not yet delivered, stays however old it
 * is, and so does every SIGN, REVOKE and TIME answer; the boundary is
 * "older than"; the row with the highest id stays, so ids are never used
 * twice; retention 0 prunes nothing; batches have the size asked for; the
 * statements use their partial indexes; free pages are reused, and given
 * back in auto_vacuum=INCREMENTAL mode; secure_delete is restored; and the
 * schedule (first run soon after start, then hourly, in slices, an error
 * retried at the next run) holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "airlock.h"
#include "db.h"
#include "msg.h"
#include "retention.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"
#include "queue.h"
#include "outbox.h"
#include "castore.h"

#define DAY		86400
#define OLD		(91 * DAY)	/* past the 90 days of every test */

static char tmpdir[64];

/* --- helpers --- */

static void
reqid_of(uint8_t id[AIRLOCK_REQID_LEN], unsigned n)
{
	unsigned i;

	for (i = 0; i < AIRLOCK_REQID_LEN; i++)
		id[i] = (uint8_t)(0x3c + i * 11 + n * 7);
	put_be32(id + 12, n);
}

static void
bytes_of(struct buf *b, unsigned n, size_t len)
{
	size_t i;

	buf_init(b);
	for (i = 0; i < len; i++)
		assert_int_equal(buf_put_u8(b, (uint8_t)(i % 7 == 0 ? 0 : (i * 13 + n))), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_retention.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(tmpdir);
}

static void
fresh(char *path, const char *name)
{
	char side[PATH_MAX + 8];

	assert_true(snprintf(path, PATH_MAX, "%s/%s", tmpdir, name) < PATH_MAX);
	unlink(path);
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
}

static sqlite3 *
side_open(const char *path)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	return h;
}

static void
poke(const char *path, const char *sql)
{
	sqlite3 *h = side_open(path);
	char *err = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static int64_t
peek_int(const char *path, const char *sql)
{
	sqlite3 *h = side_open(path);
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* Moves a row's time back by secs: sql has ?1 for secs, ?2 for the reqid. */
static void
age(const char *path, const char *sql, const uint8_t *reqid, int64_t secs)
{
	sqlite3 *h = side_open(path);
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, secs);
	sqlite3_bind_blob(st, 2, reqid, AIRLOCK_REQID_LEN, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(h), 1);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* A whole run, as the prune commands do it. */
static int64_t
run(struct db *d, retention_fn fn, uint32_t days)
{
	struct retention r;
	int64_t n = -1;

	retention_init(&r, d, fn, "test.db", "rows", days, 0);
	assert_int_equal(retention_run(&r, time(NULL), &n), 0);
	assert_int_equal((int64_t)r.pruned, n);
	return n;
}

static int
pragma(struct db *d, const char *sql)
{
	sqlite3_stmt *st;
	int v;

	assert_int_equal(sqlite3_prepare_v2(d->h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* --- queue.db --- */

#define Q_AGE	"UPDATE queue SET updated = updated - ?1 WHERE reqid = ?2"

/* A request taken to state s through linkd's own calls. */
static void
queue_row_in(struct db *d, const uint8_t *id, int s)
{
	struct buf req, ans;
	struct queue_item it;

	bytes_of(&req, id[12], 400);
	bytes_of(&ans, id[13], 900);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r1", req.p, req.len, &ans), 1);
	if (s >= Q_HANDED)
		assert_int_equal(queue_set_state(d, id, Q_HANDED), 0);
	if (s == Q_FAILED)
		assert_int_equal(queue_set_answer(d, id, ans.p, ans.len, AL_E_CSR_SIG,
		    "the CSR's self-signature does not verify"), 0);
	else if (s >= Q_ANSWERED)
		assert_int_equal(queue_set_answer(d, id, ans.p, ans.len, 0, NULL), 0);
	if (s == Q_DELIVERED) {
		assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
		assert_int_equal(queue_set_delivered(d, it.id), 0);
	}
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	assert_int_equal(it.state, s);
	buf_free(&req);
	buf_free(&ans);
}

/* Every state, new and old; only old delivered and failed rows go. */
static void
test_queue_rows(void **state)
{
	static const struct {
		int	 state;
		int64_t	 age;
		int	 goes;
	} rows[] = {
		{ Q_RECEIVED, 0, 0 }, { Q_RECEIVED, OLD, 0 },
		{ Q_HANDED, 0, 0 }, { Q_HANDED, OLD, 0 },
		{ Q_ANSWERED, 0, 0 }, { Q_ANSWERED, 10 * OLD, 0 },
		{ Q_DELIVERED, 0, 0 }, { Q_DELIVERED, OLD, 1 },
		{ Q_FAILED, 0, 0 }, { Q_FAILED, OLD, 1 },
		/* the boundary: older than 90 days goes, younger stays */
		{ Q_DELIVERED, 90 * DAY - 120, 0 }, { Q_DELIVERED, 90 * DAY + 120, 1 },
		{ Q_FAILED, 90 * DAY - 120, 0 }, { Q_FAILED, 90 * DAY + 120, 1 },
		{ Q_RECEIVED, 0, 0 },		/* the newest */
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN];
	struct queue_item it;
	int64_t n[Q_NSTATES], oldest, gone = 0;
	struct db *d;
	size_t i;

	(void)state;
	fresh(path, "queue.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		queue_row_in(d, id, rows[i].state);
		if (rows[i].age > 0)
			age(path, Q_AGE, id, rows[i].age);
		gone += rows[i].goes;
	}
	assert_int_equal(gone, 4);
	assert_int_equal(run(d, queue_prune, 90), gone);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		if (queue_get(d, id, &it, NULL, NULL) != !rows[i].goes)
			fail_msg("row %zu (%s, %lld s old) should %s", i,
			    queue_state_name(rows[i].state), (long long)rows[i].age,
			    rows[i].goes ? "have gone" : "have stayed");
		if (!rows[i].goes)
			assert_int_equal(it.state, rows[i].state);
	}
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), (int64_t)nrows - gone);
	/* unanswered requests, old or not, are still handed to the signer */
	assert_int_equal(queue_counts(d, n, &oldest), 0);
	assert_int_equal(n[Q_RECEIVED], 3);
	assert_int_equal(n[Q_HANDED], 2);
	assert_int_equal(n[Q_ANSWERED], 2);
	/* a second run finds nothing more */
	assert_int_equal(run(d, queue_prune, 90), 0);
	db_close(d);
}

/* A request repeated after its row went is a new request to the queue. */
static void
test_queue_repeat_after_prune(void **state)
{
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN], last[AIRLOCK_REQID_LEN];
	struct buf req, ans;
	struct queue_item it;
	struct db *d;

	(void)state;
	fresh(path, "queue-repeat.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	reqid_of(id, 1);
	reqid_of(last, 2);
	queue_row_in(d, id, Q_DELIVERED);
	queue_row_in(d, last, Q_RECEIVED);
	age(path, Q_AGE, id, OLD);
	assert_int_equal(run(d, queue_prune, 90), 1);
	bytes_of(&req, 1, 400);
	buf_init(&ans);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r1", req.p, req.len, &ans), 1);
	assert_int_equal(ans.len, 0);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	assert_int_equal(it.state, Q_RECEIVED);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

/* The highest id stays, however old, so no id is ever used twice. */
static void
test_queue_newest_id_stays(void **state)
{
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN];
	struct queue_item it;
	int64_t top = 0;
	struct db *d;
	unsigned i;

	(void)state;
	fresh(path, "queue-ids.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	for (i = 0; i < 3; i++) {
		reqid_of(id, i);
		queue_row_in(d, id, i == 1 ? Q_FAILED : Q_DELIVERED);
		age(path, Q_AGE, id, OLD);
		assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
		top = it.id;
	}
	assert_int_equal(run(d, queue_prune, 90), 2);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);	/* the last one */
	assert_int_equal(it.id, top);
	reqid_of(id, 9);
	queue_row_in(d, id, Q_RECEIVED);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	assert_int_equal(it.id, top + 1);
	db_close(d);
}

/* Batches are as large as asked and no larger. */
static void
test_queue_batches(void **state)
{
	char path[PATH_MAX];
	int64_t n, before = (int64_t)time(NULL) - 90 * DAY;
	struct db *d;

	(void)state;
	fresh(path, "queue-batch.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	/* 1203 old delivered rows, in one transaction on the side */
	poke(path, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < 1203) INSERT INTO queue (reqid, type, state, received, "
	    "updated, request, answer) SELECT randomblob(16), 1, 3, "
	    "strftime('%s') - 200 * 86400, strftime('%s') - 200 * 86400, x'00', "
	    "x'01' FROM n");
	assert_int_equal(queue_prune(d, before, RETENTION_BATCH, &n), 0);
	assert_int_equal(n, RETENTION_BATCH);
	assert_int_equal(queue_prune(d, before, RETENTION_BATCH, &n), 0);
	assert_int_equal(n, RETENTION_BATCH);
	assert_int_equal(queue_prune(d, before, 7, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 1203 - 1007);
	assert_int_equal(run(d, queue_prune, 90), 1203 - 1007 - 1);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 1);
	db_close(d);
}

/* Retention 0 keeps everything: nothing is deleted, nothing even tried. */
static int zero_calls;

static int
zero_prune(struct db *d, int64_t before, int max, int64_t *n)
{
	zero_calls++;
	return queue_prune(d, before, max, n);
}

static void
test_retention_zero(void **state)
{
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN];
	struct retention r;
	struct db *d;
	unsigned i;

	(void)state;
	fresh(path, "queue-zero.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	for (i = 0; i < 4; i++) {
		reqid_of(id, i);
		queue_row_in(d, id, i % 2 ? Q_FAILED : Q_DELIVERED);
		age(path, Q_AGE, id, 3650 * (int64_t)DAY);
	}
	reqid_of(id, 99);
	queue_row_in(d, id, Q_RECEIVED);
	assert_int_equal(run(d, zero_prune, 0), 0);
	retention_init(&r, d, zero_prune, "queue.db", "rows", 0, 0);
	assert_int_equal(retention_tick(&r, RETENTION_FIRST_MS), 0);
	assert_int_equal(retention_tick(&r, 100 * (uint64_t)RETENTION_EVERY_MS), 0);
	assert_int_equal(zero_calls, 0);
	assert_int_equal(r.pruned, 0);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 5);
	/* the same rows with a retention: four go */
	assert_int_equal(run(d, zero_prune, 1), 4);
	assert_true(zero_calls > 0);
	db_close(d);
}

/* --- outbox.db --- */

#define O_AGE	"UPDATE outbox SET updated = updated - ?1 WHERE reqid = ?2"

static void
outbox_row_in(struct db *d, const uint8_t *id, int s)
{
	struct outbox_item it;
	struct buf req, ans;

	bytes_of(&req, id[12], 300);
	bytes_of(&ans, id[13], 1200);
	assert_int_equal(outbox_add(d, id, MSG_SIGN, "name", req.p, req.len), 1);
	assert_int_equal(outbox_get(d, id, &it, NULL), 1);
	if (s >= O_SENT)
		assert_int_equal(outbox_set_sent(d, it.id), 0);
	if (s == O_DONE)
		assert_int_equal(outbox_answer(d, id, O_DONE, 0, ans.p, ans.len), 1);
	if (s == O_FAILED)
		assert_int_equal(outbox_answer(d, id, O_FAILED, AL_E_ROOT, ans.p,
		    ans.len), 1);
	assert_int_equal(outbox_get(d, id, &it, NULL), 1);
	assert_int_equal(it.state, s);
	buf_free(&req);
	buf_free(&ans);
}

static void
test_outbox_rows(void **state)
{
	static const struct {
		int	 state;
		int64_t	 age;
		int	 goes;
	} rows[] = {
		{ O_NEW, 0, 0 }, { O_NEW, OLD, 0 },
		{ O_SENT, 0, 0 }, { O_SENT, 10 * OLD, 0 },
		{ O_DONE, 0, 0 }, { O_DONE, OLD, 1 },
		{ O_FAILED, 0, 0 }, { O_FAILED, OLD, 1 },
		{ O_DONE, 90 * DAY - 120, 0 }, { O_DONE, 90 * DAY + 120, 1 },
		{ O_DONE, OLD, 0 },		/* the newest: stays */
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN];
	struct outbox_item it;
	int64_t n[O_NSTATES];
	struct db *d;
	size_t i;
	int pending = 0;

	(void)state;
	fresh(path, "outbox.db");
	assert_int_equal(outbox_open(path, 0, &d), 0);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		outbox_row_in(d, id, rows[i].state);
		if (rows[i].age > 0)
			age(path, O_AGE, id, rows[i].age);
	}
	assert_int_equal(run(d, outbox_prune, 90), 3);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		if (outbox_get(d, id, &it, NULL) != !rows[i].goes)
			fail_msg("row %zu (%s, %lld s old) should %s", i,
			    outbox_state_name(rows[i].state), (long long)rows[i].age,
			    rows[i].goes ? "have gone" : "have stayed");
	}
	assert_int_equal(outbox_counts(d, n), 0);
	assert_int_equal(n[O_NEW] + n[O_SENT], 4);
	assert_int_equal(n[O_DONE] + n[O_FAILED], 4);
	/* every unanswered request is still sent after the next session */
	for (i = 0; i < nrows; i++)
		pending += rows[i].state < O_DONE;
	assert_int_equal(pending, 4);
	db_close(d);
}

/* --- ca.db --- */

#define A_AGE	"UPDATE answers SET answered = answered - ?1 WHERE reqid = ?2"

static void
test_castore_rows(void **state)
{
	static const struct {
		int	 type;
		int	 code;
		int64_t	 age;
		int	 goes;
	} rows[] = {
		{ MSG_SIGN, 0, 0, 0 }, { MSG_SIGN, 0, 40 * 365 * (int64_t)DAY, 0 },
		{ MSG_SIGN, AL_E_PROFILE, OLD, 0 },
		{ MSG_REVOKE, 0, OLD, 0 }, { MSG_REVOKE, AL_E_SERIAL, OLD, 0 },
		{ MSG_TIME, 0, OLD, 0 },
		{ MSG_CRL_FETCH, 0, 0, 0 }, { MSG_CRL_FETCH, 0, OLD, 1 },
		{ MSG_CRL_FETCH, AL_E_ROOT, OLD, 1 },
		{ MSG_CRL_FETCH, 0, 90 * DAY - 120, 0 },
		{ MSG_CRL_FETCH, 0, 90 * DAY + 120, 1 },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	uint8_t id[AIRLOCK_REQID_LEN], serial[16];
	char path[PATH_MAX];
	struct castore_cert c;
	struct buf ans, got;
	struct db *d;
	size_t i;
	int r;

	(void)state;
	fresh(path, "ca.db");
	assert_int_equal(castore_open(path, 0, &d), 0);
	buf_init(&got);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		bytes_of(&ans, (unsigned)i, rows[i].type == MSG_CRL_FETCH ? 70000 : 800);
		memset(serial, (int)i + 1, sizeof(serial));
		c = (struct castore_cert){ "r1", serial, sizeof(serial), id, 1,
		    2000000000, "CN=x", ans.p, 100, 1 };
		assert_int_equal(castore_record(d, id, rows[i].type, "r1", rows[i].code,
		    ans.p, ans.len, rows[i].type == MSG_SIGN && rows[i].code == 0 ?
		    &c : NULL), 0);
		if (rows[i].age > 0)
			age(path, A_AGE, id, rows[i].age);
		buf_free(&ans);
	}
	assert_int_equal(run(d, castore_prune, 90), 3);
	for (i = 0; i < nrows; i++) {
		reqid_of(id, (unsigned)i);
		r = castore_answer(d, id, &got);
		if (r != !rows[i].goes)
			fail_msg("answer %zu (type %d, code %d, %lld s old) should %s", i,
			    rows[i].type, rows[i].code, (long long)rows[i].age,
			    rows[i].goes ? "have gone" : "have stayed");
		if (r == 1) {
			/* what stays is the same bytes */
			bytes_of(&ans, (unsigned)i, rows[i].type == MSG_CRL_FETCH ?
			    70000 : 800);
			assert_int_equal(got.len, ans.len);
			assert_memory_equal(got.p, ans.p, ans.len);
			buf_free(&ans);
		}
	}
	/* certificates are never touched */
	assert_int_equal(castore_cert_count(d, NULL), 2);
	db_close(d);
	buf_free(&got);
}

/* --- the statements, the space --- */

/* Each prune reads its partial index, not the whole table. */
static void
test_plans(void **state)
{
	static const struct {
		const char	*db, *sql, *index;
	} q[] = {
		{ "plan-q.db", "EXPLAIN QUERY PLAN SELECT id FROM queue WHERE state >= 3 "
		    "AND updated < 5 AND id < (SELECT max(id) FROM queue) LIMIT 500",
		    "queue_finished" },
		{ "plan-o.db", "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE state >= 2 "
		    "AND updated < 5 AND id < (SELECT max(id) FROM outbox) LIMIT 500",
		    "outbox_finished" },
		{ "plan-c.db", "EXPLAIN QUERY PLAN SELECT rowid FROM answers WHERE "
		    "type = 3 AND answered < 5 LIMIT 500", "answers_crl" },
		{ "plan-q.db", "EXPLAIN QUERY PLAN SELECT min(updated) FROM queue "
		    "WHERE state >= 3", "queue_finished" },
	};
	int (*open_fn[])(const char *, int, struct db **) = {
		queue_open, outbox_open, castore_open, queue_open
	};
	char path[PATH_MAX], plan[1024];
	sqlite3_stmt *st;
	struct db *d;
	sqlite3 *h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		fresh(path, q[i].db);
		assert_int_equal(open_fn[i](path, 0, &d), 0);
		db_close(d);
		h = side_open(path);
		plan[0] = '\0';
		assert_int_equal(sqlite3_prepare_v2(h, q[i].sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan), "%s;",
			    (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		sqlite3_close(h);
		if (strstr(plan, q[i].index) == NULL)
			fail_msg("%s: %s", q[i].sql, plan);
	}
}

/* 40 delivered requests with answers of 64 KiB, aged, and a newer one. */
static void
fill_big(struct db *d, const char *path, unsigned from)
{
	uint8_t id[AIRLOCK_REQID_LEN];
	struct buf req, ans, none;
	struct queue_item it;
	unsigned i;

	bytes_of(&req, 1, 200);
	bytes_of(&ans, 2, 64 * 1024);
	buf_init(&none);
	for (i = from; i < from + 40; i++) {
		reqid_of(id, i);
		assert_int_equal(queue_put(d, id, MSG_CRL_FETCH, "r1", req.p, req.len,
		    &none), 1);
		assert_int_equal(queue_set_answer(d, id, ans.p, ans.len, 0, NULL), 0);
		assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
		assert_int_equal(queue_set_delivered(d, it.id), 0);
		age(path, Q_AGE, id, OLD);
	}
	reqid_of(id, from + 1000);
	queue_row_in(d, id, Q_RECEIVED);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&none);
}

/*
 * Default mode (airlock's databases): the pages of pruned rows stay on the
 * freelist and new rows take them, so the file does not grow. A database
 * converted to auto_vacuum=INCREMENTAL gives them back to the file system.
 * Either way secure_delete is what it was before the prune.
 */
static void
test_space(void **state)
{
	char plain[PATH_MAX], incr[PATH_MAX];
	struct db *p, *v;
	int64_t pages, vpages;
	int sd;

	(void)state;
	fresh(plain, "space-plain.db");
	fresh(incr, "space-incr.db");
	poke(incr, "PRAGMA auto_vacuum=INCREMENTAL; CREATE TABLE keep(x)");
	assert_int_equal(queue_open(plain, 0, &p), 0);
	assert_int_equal(queue_open(incr, 0, &v), 0);
	assert_int_equal(pragma(p, "PRAGMA auto_vacuum"), 0);
	assert_int_equal(pragma(v, "PRAGMA auto_vacuum"), 2);
	sd = pragma(p, "PRAGMA secure_delete");
	fill_big(p, plain, 0);
	fill_big(v, incr, 0);
	pages = peek_int(plain, "PRAGMA page_count");
	vpages = peek_int(incr, "PRAGMA page_count");
	assert_true(pages > 40 * 16);
	assert_int_equal(peek_int(plain, "PRAGMA freelist_count"), 0);
	assert_int_equal(run(p, queue_prune, 90), 40);
	assert_int_equal(run(v, queue_prune, 90), 40);
	assert_int_equal(pragma(p, "PRAGMA secure_delete"), sd);
	assert_int_equal(pragma(v, "PRAGMA secure_delete"), sd);
	/* plain: the same size, the space free inside */
	assert_int_equal(peek_int(plain, "PRAGMA page_count"), pages);
	assert_true(peek_int(plain, "PRAGMA freelist_count") >= 40 * 16);
	/* incremental: given back */
	assert_true(peek_int(incr, "PRAGMA page_count") < vpages - 40 * 16);
	assert_true(peek_int(incr, "PRAGMA freelist_count") < 4);
	/* plain again: as many new rows fit in the same pages */
	fill_big(p, plain, 2000);
	assert_true(peek_int(plain, "PRAGMA page_count") <= pages + 8);
	db_close(p);
	db_close(v);
}

/* --- an error, and the schedule --- */

/* A prune that fails is logged, leaves everything, and runs again an hour
 * later; the daemon goes on. */
static void
test_error_retried(void **state)
{
	char path[PATH_MAX];
	uint8_t id[AIRLOCK_REQID_LEN];
	struct retention r;
	struct db *d;
	unsigned i;
	int sd;

	(void)state;
	fresh(path, "queue-error.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	for (i = 0; i < 3; i++) {
		reqid_of(id, i);
		queue_row_in(d, id, i < 2 ? Q_DELIVERED : Q_RECEIVED);
		if (i < 2)
			age(path, Q_AGE, id, OLD);
	}
	sd = pragma(d, "PRAGMA secure_delete");
	poke(path, "CREATE TRIGGER no_delete BEFORE DELETE ON queue "
	    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
	retention_init(&r, d, queue_prune, "queue.db", "delivered or failed requests",
	    90, 1000);
	assert_int_equal(retention_tick(&r, 1000 + RETENTION_FIRST_MS), 0);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.pruned, 0);
	assert_int_equal(r.running, 0);
	assert_int_equal(pragma(d, "PRAGMA secure_delete"), sd);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 3);
	poke(path, "DROP TRIGGER no_delete");
	/* not before the next run */
	assert_int_equal(retention_tick(&r, 1000 + RETENTION_FIRST_MS + 60000), 0);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 3);
	assert_int_equal(retention_tick(&r, 1000 + RETENTION_FIRST_MS +
	    RETENTION_EVERY_MS), 0);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.pruned, 2);
	assert_int_equal(peek_int(path, "SELECT count(*) FROM queue"), 1);
	db_close(d);
}

/* A stand-in store: records its calls, deletes full batches while asked to. */
static struct {
	int		 calls;
	int64_t		 before[64];
	int		 full;		/* answer every batch with max rows */
	int		 fail;
	unsigned	 sleep_us;
} F;

static int
fake_prune(struct db *d, int64_t before, int max, int64_t *n)
{
	(void)d;
	if (F.calls < 64)
		F.before[F.calls] = before;
	F.calls++;
	if (F.sleep_us)
		usleep(F.sleep_us);
	/* full batches end after 40, so that a run never sliced still ends */
	*n = F.fail ? 0 : F.full && F.calls < 40 ? max : 3;
	return F.fail ? -1 : 0;
}

static void
test_schedule(void **state)
{
	struct retention r;
	int64_t want;
	uint64_t t0 = 5000, next;
	int calls, more;

	(void)state;
	memset(&F, 0, sizeof(F));
	retention_init(&r, NULL, fake_prune, "fake.db", "rows", 30, t0);
	/* the first run: RETENTION_FIRST_MS after start, not before */
	assert_int_equal(retention_tick(&r, t0), 0);
	assert_int_equal(retention_tick(&r, t0 + RETENTION_FIRST_MS - 1), 0);
	assert_int_equal(F.calls, 0);
	want = (int64_t)time(NULL) - 30 * DAY;
	assert_int_equal(retention_tick(&r, t0 + RETENTION_FIRST_MS), 0);
	assert_int_equal(F.calls, 1);
	assert_true(F.before[0] >= want && F.before[0] <= want + 2);
	assert_int_equal(r.pruned, 3);
	/* then hourly */
	next = t0 + RETENTION_FIRST_MS + RETENTION_EVERY_MS;
	assert_int_equal(retention_tick(&r, next - 1), 0);
	assert_int_equal(F.calls, 1);
	assert_int_equal(retention_tick(&r, next), 0);
	assert_int_equal(F.calls, 2);
	/* a long run is cut into slices; the next tick goes on, same cut-off */
	F.full = 1;
	F.sleep_us = 10000;
	next += RETENTION_EVERY_MS;
	more = retention_tick(&r, next);
	assert_int_equal(more, 1);
	calls = F.calls - 2;
	assert_true(calls >= 2 && calls <= RETENTION_SLICE_MS / 10 + 2);
	assert_int_equal(r.pruned, 6 + (uint64_t)calls * RETENTION_BATCH);
	assert_int_equal(retention_tick(&r, next + 1), 1);	/* still going */
	assert_true(F.calls > 2 + calls);
	F.full = 0;
	F.sleep_us = 0;
	assert_int_equal(retention_tick(&r, next + 2), 0);	/* a short batch ends it */
	assert_true(F.calls < 64);
	assert_int_equal(F.before[F.calls - 1], F.before[2]);
	/* and the run after that is an hour after it started */
	calls = F.calls;
	assert_int_equal(retention_tick(&r, next + RETENTION_EVERY_MS - 1), 0);
	assert_int_equal(F.calls, calls);
	assert_int_equal(retention_tick(&r, next + RETENTION_EVERY_MS), 0);
	assert_int_equal(F.calls, calls + 1);
	assert_int_equal(r.errors, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_rows),
		cmocka_unit_test(test_queue_repeat_after_prune),
		cmocka_unit_test(test_queue_newest_id_stays),
		cmocka_unit_test(test_queue_batches),
		cmocka_unit_test(test_retention_zero),
		cmocka_unit_test(test_outbox_rows),
		cmocka_unit_test(test_castore_rows),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_space),
		cmocka_unit_test(test_error_retried),
		cmocka_unit_test(test_schedule),
	};

	/* a failed prune is logged; that message is expected here */
	log_init("test_retention", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
