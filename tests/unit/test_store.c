/*
 * test_store.c: the three SQLite stores (src/common/db.c, queue.c, castore.c,
 * outbox.c) on real files in a fresh directory under /tmp.
 *
 * The request id is the idempotency key everywhere: a second put of the
 * same id adds no row and returns the stored answer byte for byte; the CA
 * store never records a second answer or a second certificate for one id,
 * nor two certificates with one serial under one root, and a refused
 * record leaves nothing behind. Queue states only move forward. Every
 * database runs in WAL mode (checked from a second, independent SQLite
 * connection, as airlockctl would read it), every write is committed when
 * the function returns (visible to that second connection at once) and
 * survives closing and reopening.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "airlock.h"
#include "msg.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"
#include "queue.h"
#include "outbox.h"
#include "castore.h"
#include "db.h"

static char tmpdir[64];

static void
in_tmp(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void
reqid_of(uint8_t id[AIRLOCK_REQID_LEN], unsigned n)
{
	unsigned i;

	for (i = 0; i < AIRLOCK_REQID_LEN; i++)
		id[i] = (uint8_t)(0xa0 + i * 7 + n * 13);
	put_be32(id + 12, n);
}

/* Request or answer bytes that differ with n and contain zeros. */
static void
bytes_of(struct buf *b, unsigned n, size_t len)
{
	size_t i;

	buf_init(b);
	for (i = 0; i < len; i++)
		assert_int_equal(buf_put_u8(b, (uint8_t)(i % 5 == 0 ? 0 : (i * 31 + n))), 0);
}

/* A second, independent connection, as another process would have. */
static sqlite3 *
peek_open(const char *path)
{
	sqlite3 *h = NULL;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	return h;
}

static int64_t
peek_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
peek_text(sqlite3 *h, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* One statement on a writable side connection (for setting up faults). */
static void
poke(const char *path, const char *sql)
{
	sqlite3 *h = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(tmpdir);
}

/* Each test gets databases of its own. */
static void
fresh(char *path, const char *name)
{
	char wal[PATH_MAX + 8];

	in_tmp(path, name);
	unlink(path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	unlink(wal);
	snprintf(wal, sizeof(wal), "%s-shm", path);
	unlink(wal);
}

/* --- queue.db --- */

static void
test_queue_put_idempotent(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, req2, ans, got_req, got_ans;
	struct queue_item it;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n[Q_NSTATES], oldest;
	sqlite3 *h;

	(void)state;
	fresh(path, "q1.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	assert_non_null(d);
	reqid_of(id, 1);
	bytes_of(&req, 1, 1200);
	bytes_of(&req2, 2, 700);
	buf_init(&ans);
	buf_init(&got_req);
	buf_init(&got_ans);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "class1", req.p, req.len, &ans), 1);
	assert_int_equal(ans.len, 0);
	/* the same id again, even with other bytes: known, nothing answered yet */
	assert_int_equal(queue_put(d, id, MSG_SIGN, "class1", req.p, req.len, &ans), 0);
	assert_int_equal(ans.len, 0);
	assert_int_equal(queue_put(d, id, MSG_REVOKE, "other", req2.p, req2.len, &ans), 0);
	assert_int_equal(ans.len, 0);
	assert_int_equal(queue_counts(d, n, &oldest), 0);
	assert_int_equal(n[Q_RECEIVED], 1);
	assert_int_equal(n[Q_HANDED] + n[Q_ANSWERED] + n[Q_DELIVERED] + n[Q_FAILED], 0);
	assert_true(oldest > 0 && oldest <= time(NULL));
	/* the first request is what is stored */
	assert_int_equal(queue_get(d, id, &it, &got_req, &got_ans), 1);
	assert_int_equal(got_req.len, req.len);
	assert_memory_equal(got_req.p, req.p, req.len);
	assert_int_equal(got_ans.len, 0);
	assert_int_equal(it.type, MSG_SIGN);
	assert_string_equal(it.root, "class1");
	assert_int_equal(it.state, Q_RECEIVED);
	assert_memory_equal(it.reqid, id, AIRLOCK_REQID_LEN);
	assert_true(it.id > 0);
	/* committed: another connection sees exactly one row now */
	h = peek_open(path);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM queue"), 1);
	sqlite3_close(h);
	/* an unknown id */
	reqid_of(id, 2);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 0);
	db_close(d);
	buf_free(&req);
	buf_free(&req2);
	buf_free(&ans);
	buf_free(&got_req);
	buf_free(&got_ans);
}

/*
 * linkd's and the client's group commit: rows written in a queue_begin /
 * outbox_begin transaction are seen by nobody else until the commit, and a
 * request id written twice in it is known the second time.
 */
static void
test_queue_turn(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	sqlite3 *h;
	int i;

	(void)state;
	fresh(path, "qturn.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	bytes_of(&req, 3, 900);
	buf_init(&ans);
	assert_int_equal(queue_begin(d), 0);
	for (i = 1; i <= 3; i++) {
		reqid_of(id, i);
		assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len,
		    &ans), 1);
	}
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len, &ans), 0);
	h = peek_open(path);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM queue"), 0);
	assert_int_equal(queue_commit(d), 0);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM queue"), 3);
	/* a commit without a transaction fails, and nothing changes */
	assert_int_equal(queue_commit(d), -1);
	assert_int_equal(outbox_begin(d), 0);	/* the same nesting rules */
	reqid_of(id, 4);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len, &ans), 1);
	assert_int_equal(outbox_commit(d), 0);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM queue"), 4);
	sqlite3_close(h);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

static void
test_queue_answer_replayed(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, a1, a2, got;
	struct queue_item it;
	uint8_t id[AIRLOCK_REQID_LEN], id2[AIRLOCK_REQID_LEN];

	(void)state;
	fresh(path, "q2.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	reqid_of(id, 1);
	reqid_of(id2, 2);
	bytes_of(&req, 1, 300);
	bytes_of(&a1, 7, 1800);
	bytes_of(&a2, 8, 90);
	buf_init(&got);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len, &got), 1);
	assert_int_equal(queue_set_state(d, id, Q_HANDED), 0);
	assert_int_equal(queue_set_answer(d, id, a1.p, a1.len, 0, NULL), 0);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	assert_int_equal(it.state, Q_ANSWERED);
	assert_int_equal(it.code, 0);
	/* a retransmitted request gets the answer, byte for byte */
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len, &got), 0);
	assert_int_equal(got.len, a1.len);
	assert_memory_equal(got.p, a1.p, a1.len);
	/* a second answer does not replace the first */
	assert_int_equal(queue_set_answer(d, id, a2.p, a2.len, AL_E_CSR_SIG, "late"), 0);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "r", req.p, req.len, &got), 0);
	assert_int_equal(got.len, a1.len);
	assert_memory_equal(got.p, a1.p, a1.len);
	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	assert_int_equal(it.state, Q_ANSWERED);
	/* an error answer: failed, with its code and sentence */
	assert_int_equal(queue_put(d, id2, MSG_SIGN, "r", req.p, req.len, &got), 1);
	assert_int_equal(queue_set_answer(d, id2, a2.p, a2.len, AL_E_CSR_SIG,
	    "the CSR's self-signature does not verify"), 0);
	assert_int_equal(queue_get(d, id2, &it, NULL, &got), 1);
	assert_int_equal(it.state, Q_FAILED);
	assert_int_equal(it.code, AL_E_CSR_SIG);
	assert_string_equal(it.reason, "the CSR's self-signature does not verify");
	assert_int_equal(got.len, a2.len);
	assert_memory_equal(got.p, a2.p, a2.len);
	assert_int_equal(queue_put(d, id2, MSG_SIGN, "r", req.p, req.len, &got), 0);
	assert_memory_equal(got.p, a2.p, a2.len);
	db_close(d);
	buf_free(&req);
	buf_free(&a1);
	buf_free(&a2);
	buf_free(&got);
}

static int
state_of(struct db *d, const uint8_t *id)
{
	struct queue_item it;

	assert_int_equal(queue_get(d, id, &it, NULL, NULL), 1);
	return it.state;
}

static void
test_queue_states_forward(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	struct queue_item it;
	uint8_t a[AIRLOCK_REQID_LEN], f[AIRLOCK_REQID_LEN], r[AIRLOCK_REQID_LEN];
	int s;

	(void)state;
	fresh(path, "q3.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	reqid_of(a, 1);
	reqid_of(f, 2);
	reqid_of(r, 3);
	bytes_of(&req, 1, 50);
	bytes_of(&ans, 2, 60);
	assert_int_equal(queue_put(d, a, MSG_SIGN, "", req.p, req.len, &ans), 1);
	assert_int_equal(queue_put(d, f, MSG_SIGN, "", req.p, req.len, &ans), 1);
	assert_int_equal(queue_put(d, r, MSG_SIGN, "", req.p, req.len, &ans), 1);
	buf_free(&ans);
	bytes_of(&ans, 2, 60);
	assert_int_equal(queue_set_state(d, a, Q_HANDED), 0);
	assert_int_equal(state_of(d, a), Q_HANDED);
	assert_int_equal(queue_set_answer(d, a, ans.p, ans.len, 0, NULL), 0);
	assert_int_equal(queue_set_answer(d, f, ans.p, ans.len, AL_E_ROOT, "no"), 0);
	/* an answered row never goes back */
	for (s = Q_RECEIVED; s <= Q_ANSWERED; s++) {
		assert_int_equal(queue_set_state(d, a, s), 0);
		assert_int_equal(state_of(d, a), Q_ANSWERED);
	}
	/* a failed row is final */
	for (s = Q_RECEIVED; s < Q_NSTATES; s++) {
		assert_int_equal(queue_set_state(d, f, s), 0);
		assert_int_equal(state_of(d, f), Q_FAILED);
	}
	assert_int_equal(queue_get(d, f, &it, NULL, NULL), 1);
	assert_int_equal(queue_set_delivered(d, it.id), 0);
	assert_int_equal(state_of(d, f), Q_FAILED);
	/* answered -> delivered, by row id (the link's tag) */
	assert_int_equal(queue_get(d, a, &it, NULL, NULL), 1);
	assert_int_equal(queue_set_delivered(d, it.id), 0);
	assert_int_equal(state_of(d, a), Q_DELIVERED);
	for (s = Q_RECEIVED; s <= Q_ANSWERED; s++) {
		assert_int_equal(queue_set_state(d, a, s), 0);
		assert_int_equal(state_of(d, a), Q_DELIVERED);
	}
	/* delivered is only for answered rows, by either way in */
	assert_int_equal(queue_get(d, r, &it, NULL, NULL), 1);
	assert_int_equal(queue_set_delivered(d, it.id), 0);
	assert_int_equal(state_of(d, r), Q_RECEIVED);
	for (s = Q_ANSWERED; s < Q_NSTATES; s++) {
		assert_int_equal(queue_set_state(d, r, s), 0);
		assert_int_equal(state_of(d, r), Q_RECEIVED);
	}
	assert_int_equal(queue_set_state(d, r, Q_HANDED), 0);
	assert_int_equal(state_of(d, r), Q_HANDED);
	assert_int_equal(queue_set_state(d, r, Q_DELIVERED), 0);
	assert_int_equal(state_of(d, r), Q_HANDED);
	/* unknown ids change nothing and are not errors */
	reqid_of(r, 99);
	assert_int_equal(queue_set_state(d, r, Q_HANDED), 0);
	assert_int_equal(queue_get(d, r, &it, NULL, NULL), 0);
	assert_string_equal(queue_state_name(Q_DELIVERED), "delivered");
	assert_string_equal(queue_state_name(Q_NSTATES), "?");
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

/*
 * States only move forward: a handed request does not go back to
 * received. A retry after a retryable signer error re-hands it through
 * queue_pending(only_received = 0), as linkd does on its rehand timer.
 * (Until 8ce8cd8 linkd called queue_set_state(Q_RECEIVED) for that and
 * the request stayed handed until the signer restarted.)
 */
static int
count_one(void *arg, int64_t id, const uint8_t *req, size_t len)
{
	(void)id;
	(void)req;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void
test_queue_handed_stays(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	int n = 0;

	(void)state;
	fresh(path, "q9.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	reqid_of(id, 1);
	bytes_of(&req, 1, 50);
	buf_init(&ans);
	assert_int_equal(queue_put(d, id, MSG_SIGN, "", req.p, req.len, &ans), 1);
	assert_int_equal(queue_set_state(d, id, Q_HANDED), 0);
	assert_int_equal(queue_set_state(d, id, Q_RECEIVED), 0);
	assert_int_equal(state_of(d, id), Q_HANDED);
	assert_int_equal(queue_pending(d, 1, 0, 10, count_one, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(queue_pending(d, 0, 0, 10, count_one, &n), 1);
	assert_int_equal(n, 1);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

struct seen {
	int64_t		 ids[16];
	uint8_t		 first[16];	/* first byte of each request */
	size_t		 lens[16];
	int		 n;
	int		 stop_after;	/* return -1 after this many, 0: never */
};

static int
see(void *arg, int64_t id, const uint8_t *req, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	s->ids[s->n] = id;
	s->first[s->n] = len ? req[1] : 0;
	s->lens[s->n] = len;
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? -1 : 0;
}

static void
test_queue_pending(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	struct queue_item it;
	uint8_t id[6][AIRLOCK_REQID_LEN];
	int64_t rowid[6], n[Q_NSTATES], oldest;
	struct seen s;
	int i;

	(void)state;
	fresh(path, "q4.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	buf_init(&ans);
	/* six requests; each request's second byte says which it is */
	for (i = 0; i < 6; i++) {
		reqid_of(id[i], (unsigned)(100 - i));	/* ids not in row order */
		bytes_of(&req, 0, 40 + (size_t)i);
		req.p[1] = (uint8_t)i;
		assert_int_equal(queue_put(d, id[i], MSG_SIGN, "", req.p, req.len, &ans), 1);
		assert_int_equal(queue_get(d, id[i], &it, NULL, NULL), 1);
		rowid[i] = it.id;
		if (i > 0)
			assert_true(rowid[i] > rowid[i - 1]);
		buf_free(&req);
	}
	buf_free(&ans);
	bytes_of(&ans, 9, 10);
	/* 0 received, 1 handed, 2 answered, 3 received, 4 failed, 5 handed */
	assert_int_equal(queue_set_state(d, id[1], Q_HANDED), 0);
	assert_int_equal(queue_set_answer(d, id[2], ans.p, ans.len, 0, NULL), 0);
	assert_int_equal(queue_set_answer(d, id[4], ans.p, ans.len, AL_E_SAN, "x"), 0);
	assert_int_equal(queue_set_state(d, id[5], Q_HANDED), 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 1, 0, 100, see, &s), 2);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ids[0], rowid[0]);
	assert_int_equal(s.ids[1], rowid[3]);
	assert_int_equal(s.first[0], 0);
	assert_int_equal(s.first[1], 3);
	assert_int_equal(s.lens[1], 43);

	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 0, 0, 100, see, &s), 4);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.ids[0], rowid[0]);
	assert_int_equal(s.ids[1], rowid[1]);
	assert_int_equal(s.ids[2], rowid[3]);
	assert_int_equal(s.ids[3], rowid[5]);

	/* at most max, oldest first */
	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 0, 0, 2, see, &s), 2);
	assert_int_equal(s.ids[1], rowid[1]);
	/* the callback may stop the walk */
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_true(queue_pending(d, 0, 0, 100, see, &s) >= 1);
	assert_int_equal(s.n, 1);

	assert_int_equal(queue_counts(d, n, &oldest), 0);
	assert_int_equal(n[Q_RECEIVED], 2);
	assert_int_equal(n[Q_HANDED], 2);
	assert_int_equal(n[Q_ANSWERED], 1);
	assert_int_equal(n[Q_DELIVERED], 0);
	assert_int_equal(n[Q_FAILED], 1);
	assert_true(oldest > 0);
	/* nothing pending: no oldest */
	for (i = 0; i < 6; i++)
		queue_set_answer(d, id[i], ans.p, ans.len, 0, NULL);
	assert_int_equal(queue_counts(d, n, &oldest), 0);
	assert_int_equal(oldest, 0);
	assert_int_equal(n[Q_ANSWERED], 5);
	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 0, 0, 100, see, &s), 0);
	assert_int_equal(s.n, 0);
	db_close(d);
	buf_free(&ans);
}

struct listed {
	int64_t		 ids[8];
	int		 states[8];
	int		 n;
};

static void
list_one(void *arg, const struct queue_item *it)
{
	struct listed *l = arg;

	assert_true(l->n < 8);
	l->ids[l->n] = it->id;
	l->states[l->n] = it->state;
	l->n++;
}

static void
test_queue_list(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	struct listed l;
	unsigned i;

	(void)state;
	fresh(path, "q5.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	bytes_of(&req, 1, 20);
	buf_init(&ans);
	for (i = 0; i < 5; i++) {
		reqid_of(id, i);
		assert_int_equal(queue_put(d, id, MSG_SIGN, "", req.p, req.len, &ans), 1);
		if (i % 2)
			assert_int_equal(queue_set_state(d, id, Q_HANDED), 0);
	}
	/* all, newest first, at most max */
	memset(&l, 0, sizeof(l));
	assert_int_equal(queue_list(d, -1, 3, list_one, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(l.ids[0] > l.ids[1] && l.ids[1] > l.ids[2]);
	/* one state */
	memset(&l, 0, sizeof(l));
	assert_int_equal(queue_list(d, Q_HANDED, 10, list_one, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.states[0], Q_HANDED);
	assert_int_equal(l.states[1], Q_HANDED);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

/* Pages the connection touched since the last call (cache hits and misses). */
static int
pages_touched(struct db *d)
{
	int hit = 0, miss = 0, hi;

	sqlite3_db_status(d->h, SQLITE_DBSTATUS_CACHE_HIT, &hit, &hi, 1);
	sqlite3_db_status(d->h, SQLITE_DBSTATUS_CACHE_MISS, &miss, &hi, 1);
	return hit + miss;
}

static int
see_outbox(void *arg, const struct outbox_item *it, const uint8_t *req, size_t len)
{
	(void)req;
	(void)len;
	((int64_t *)arg)[0]++;
	((int64_t *)arg)[1] = it->id;
	return 0;
}

/*
 * What waits is found off the state index, whatever lies before it: with
 * 3,000 answered rows of 4 KiB in front of two new ones, handing them,
 * sweeping, counting and listing one state touch a few pages, not the
 * table. Until 2026-12-06 "state <= ? AND id > ? ORDER BY id" walked
 * every row from the cursor (about 570 pages read per hand for 2,000
 * rows, end to end), and the counts read every row for min(received).
 */
static void
test_waiting_rows_off_the_index(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n[Q_NSTATES], oldest, got[2];
	struct listed l;
	struct seen s;
	unsigned i;

	(void)state;
	fresh(path, "q-index.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	bytes_of(&req, 3, 2048);
	bytes_of(&ans, 4, 2048);
	assert_int_equal(db_begin(d), 0);
	for (i = 0; i < 3002; i++) {
		struct buf old;

		buf_init(&old);
		reqid_of(id, 1000 + i);
		assert_int_equal(queue_put(d, id, MSG_SIGN, "", req.p, req.len, &old), 1);
		buf_free(&old);
		if (i < 3000)
			assert_int_equal(queue_set_answer(d, id, ans.p, ans.len, 0, NULL), 0);
	}
	assert_int_equal(db_commit(d), 0);
	(void)pages_touched(d);

	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 1, 0, 100, see, &s), 2);
	assert_true(pages_touched(d) < 30);
	memset(&s, 0, sizeof(s));
	assert_int_equal(queue_pending(d, 0, 0, 100, see, &s), 2);	/* a sweep */
	assert_true(pages_touched(d) < 30);
	assert_int_equal(queue_counts(d, n, &oldest), 0);
	assert_int_equal(n[Q_RECEIVED], 2);
	assert_int_equal(n[Q_ANSWERED], 3000);
	assert_true(oldest > 0);
	assert_true(pages_touched(d) < 60);	/* the counts read the index */
	memset(&l, 0, sizeof(l));
	assert_int_equal(queue_list(d, Q_RECEIVED, 8, list_one, &l), 0);
	assert_int_equal(l.n, 2);
	assert_true(pages_touched(d) < 30);
	db_close(d);

	/* the client's outbox: the unanswered rows behind 3,000 answered ones */
	fresh(path, "o-index.db");
	assert_int_equal(outbox_open(path, 0, &d), 0);
	assert_int_equal(outbox_begin(d), 0);
	for (i = 0; i < 3002; i++) {
		reqid_of(id, 1000 + i);
		assert_int_equal(outbox_add(d, id, MSG_SIGN, "", req.p, req.len), 1);
		if (i < 3000)
			assert_int_equal(outbox_answer(d, id, O_DONE, 0, ans.p, ans.len), 1);
	}
	assert_int_equal(outbox_commit(d), 0);
	(void)pages_touched(d);
	memset(got, 0, sizeof(got));
	assert_int_equal(outbox_pending(d, 0, 256, see_outbox, got), 2);
	assert_int_equal(got[0], 2);
	assert_true(pages_touched(d) < 30);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

/* --- ca.db --- */

static void
cert_of(struct castore_cert *c, const char *root, const uint8_t *serial,
    const uint8_t *reqid, const struct buf *der)
{
	memset(c, 0, sizeof(*c));
	c->root = root;
	c->serial = serial;
	c->serial_len = 16;
	c->reqid = reqid;
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 90 * 86400;
	c->subject = "CN=www.example.test,O=Example";
	c->der = der->p;
	c->der_len = der->len;
}

static void
test_castore_record_and_replay(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct castore_cert c;
	struct buf der, ans, ans2, got;
	uint8_t id[AIRLOCK_REQID_LEN], id2[AIRLOCK_REQID_LEN], serial[16], serial2[16];
	sqlite3 *h;
	size_t i;

	(void)state;
	fresh(path, "ca1.db");
	assert_int_equal(castore_open(path, 0, &d), 0);
	reqid_of(id, 1);
	reqid_of(id2, 2);
	for (i = 0; i < 16; i++) {
		serial[i] = (uint8_t)(0x40 | i);
		serial2[i] = (uint8_t)(0x41 + i);
	}
	bytes_of(&der, 3, 900);
	bytes_of(&ans, 4, 1500);
	bytes_of(&ans2, 5, 77);
	buf_init(&got);
	assert_int_equal(castore_answer(d, id, &got), 0);
	assert_int_equal(castore_serial_used(d, "class1", serial, 16), 0);
	assert_int_equal(castore_cert_count(d, NULL), 0);

	cert_of(&c, "class1", serial, id, &der);
	assert_int_equal(castore_record(d, id, MSG_SIGN, "class1", 0, ans.p, ans.len, &c), 0);
	assert_int_equal(castore_answer(d, id, &got), 1);
	assert_int_equal(got.len, ans.len);
	assert_memory_equal(got.p, ans.p, ans.len);
	assert_int_equal(castore_cert_count(d, "class1"), 1);
	assert_int_equal(castore_cert_count(d, "class2"), 0);
	assert_int_equal(castore_cert_count(d, NULL), 1);
	assert_int_equal(castore_serial_used(d, "class1", serial, 16), 1);
	assert_int_equal(castore_serial_used(d, "class2", serial, 16), 0);
	assert_int_equal(castore_serial_used(d, "class1", serial2, 16), 0);
	assert_int_equal(castore_serial_used(d, "class1", serial, 15), 0);

	/* the same request id again, with another certificate: refused, nothing added */
	cert_of(&c, "class1", serial2, id, &der);
	assert_int_equal(castore_record(d, id, MSG_SIGN, "class1", 0, ans2.p, ans2.len, &c), -1);
	/* and without a certificate (an error answer) */
	assert_int_equal(castore_record(d, id, MSG_SIGN, "class1", AL_E_CSR_SIG, ans2.p,
	    ans2.len, NULL), -1);
	assert_int_equal(castore_cert_count(d, NULL), 1);
	assert_int_equal(castore_serial_used(d, "class1", serial2, 16), 0);
	assert_int_equal(castore_answer(d, id, &got), 1);
	assert_int_equal(got.len, ans.len);
	assert_memory_equal(got.p, ans.p, ans.len);

	/* another request, same serial, same root: refused, and its answer not kept */
	cert_of(&c, "class1", serial, id2, &der);
	assert_int_equal(castore_record(d, id2, MSG_SIGN, "class1", 0, ans2.p, ans2.len, &c), -1);
	assert_int_equal(castore_answer(d, id2, &got), 0);
	assert_int_equal(castore_cert_count(d, NULL), 1);
	/* the same serial under another root is another certificate */
	cert_of(&c, "class3", serial, id2, &der);
	assert_int_equal(castore_record(d, id2, MSG_SIGN, "class3", 0, ans2.p, ans2.len, &c), 0);
	assert_int_equal(castore_cert_count(d, NULL), 2);
	assert_int_equal(castore_cert_count(d, "class3"), 1);
	assert_int_equal(castore_answer(d, id2, &got), 1);
	assert_memory_equal(got.p, ans2.p, ans2.len);

	/* exactly one row of each, as another process sees it */
	h = peek_open(path);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM answers"), 2);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM certs"), 2);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM certs WHERE root = 'class1' "
	    "AND length(serial) = 16 AND length(der) = 900 AND not_before = 1700000000"), 1);
	sqlite3_close(h);
	db_close(d);
	buf_free(&der);
	buf_free(&ans);
	buf_free(&ans2);
	buf_free(&got);
}

static void
test_castore_error_answers_and_time(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf ans, got;
	uint8_t id[AIRLOCK_REQID_LEN];
	sqlite3 *h;

	(void)state;
	fresh(path, "ca2.db");
	assert_int_equal(castore_open(path, 0, &d), 0);
	reqid_of(id, 5);
	bytes_of(&ans, 6, 120);
	buf_init(&got);
	assert_int_equal(castore_record(d, id, MSG_SIGN, "", AL_E_ROOT, ans.p, ans.len, NULL), 0);
	assert_int_equal(castore_answer(d, id, &got), 1);
	assert_int_equal(got.len, ans.len);
	assert_memory_equal(got.p, ans.p, ans.len);
	assert_int_equal(castore_cert_count(d, NULL), 0);
	assert_int_equal(castore_time_sample(d, 1700000000123456789ull, 1700000000000000000ull,
	    42000000ull, 1), 0);
	assert_int_equal(castore_time_sample(d, 1ull << 63, 5, 6, 0), 0);
	h = peek_open(path);
	assert_int_equal(peek_int(h, "SELECT code FROM answers"), AL_E_ROOT);
	assert_int_equal(peek_int(h, "SELECT count(*) FROM time_samples"), 2);
	assert_int_equal(peek_int(h, "SELECT webdb_ns FROM time_samples ORDER BY id LIMIT 1"),
	    1700000000123456789ll);
	sqlite3_close(h);
	db_close(d);
	buf_free(&ans);
	buf_free(&got);
}

/* The answer and its certificate are one transaction: all or nothing. */
static void
test_castore_atomic(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct castore_cert c;
	struct buf der, ans, got;
	uint8_t id[AIRLOCK_REQID_LEN], serial[16];

	(void)state;
	fresh(path, "ca3.db");
	assert_int_equal(castore_open(path, 0, &d), 0);
	reqid_of(id, 9);
	memset(serial, 0x55, sizeof(serial));
	bytes_of(&der, 1, 500);
	bytes_of(&ans, 2, 600);
	buf_init(&got);
	cert_of(&c, "class1", serial, id, &der);
	/* the answer's insert fails after the certificate's went in */
	poke(path, "CREATE TRIGGER boom BEFORE INSERT ON answers "
	    "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;");
	assert_int_equal(castore_record(d, id, MSG_SIGN, "class1", 0, ans.p, ans.len, &c), -1);
	assert_int_equal(castore_cert_count(d, NULL), 0);
	assert_int_equal(castore_serial_used(d, "class1", serial, 16), 0);
	assert_int_equal(castore_answer(d, id, &got), 0);
	/* the handle is usable afterwards: no transaction left open */
	poke(path, "DROP TRIGGER boom;");
	assert_int_equal(castore_record(d, id, MSG_SIGN, "class1", 0, ans.p, ans.len, &c), 0);
	assert_int_equal(castore_cert_count(d, NULL), 1);
	assert_int_equal(castore_answer(d, id, &got), 1);
	assert_memory_equal(got.p, ans.p, ans.len);
	db_close(d);
	buf_free(&der);
	buf_free(&ans);
	buf_free(&got);
}

/* --- outbox.db --- */

struct opend {
	int64_t		 ids[8];
	int		 states[8];
	uint8_t		 tag[8];	/* first byte of the request */
	int		 n;
};

static int
opend_one(void *arg, const struct outbox_item *it, const uint8_t *req, size_t len)
{
	struct opend *o = arg;

	assert_true(o->n < 8);
	assert_true(len > 0);
	o->ids[o->n] = it->id;
	o->states[o->n] = it->state;
	o->tag[o->n] = req[0];
	o->n++;
	return 0;
}

static void
test_outbox(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans, ans2, got;
	struct outbox_item it;
	uint8_t id[5][AIRLOCK_REQID_LEN];
	int64_t rowid[5], n[O_NSTATES];
	struct opend o;
	int i;

	(void)state;
	fresh(path, "ob.db");
	assert_int_equal(outbox_open(path, 0, &d), 0);
	buf_init(&got);
	bytes_of(&ans, 1, 2000);
	bytes_of(&ans2, 2, 30);
	for (i = 0; i < 5; i++) {
		reqid_of(id[i], (unsigned)(50 - i));
		bytes_of(&req, 3, 100);
		req.p[0] = (uint8_t)(0xe0 + i);
		assert_int_equal(outbox_add(d, id[i], MSG_SIGN, "req-1.csr", req.p, req.len), 1);
		/* idempotent */
		assert_int_equal(outbox_add(d, id[i], MSG_REVOKE, "other", req.p, 10), 0);
		assert_int_equal(outbox_get(d, id[i], &it, NULL), 1);
		assert_int_equal(it.type, MSG_SIGN);
		assert_int_equal(it.state, O_NEW);
		assert_string_equal(it.name, "req-1.csr");
		assert_memory_equal(it.reqid, id[i], AIRLOCK_REQID_LEN);
		assert_true(it.created > 0);
		rowid[i] = it.id;
		buf_free(&req);
	}
	assert_int_equal(outbox_counts(d, n), 0);
	assert_int_equal(n[O_NEW], 5);

	/* answers: once only */
	assert_int_equal(outbox_answer(d, id[1], O_DONE, 0, ans.p, ans.len), 1);
	assert_int_equal(outbox_answer(d, id[1], O_DONE, 0, ans2.p, ans2.len), 0);
	assert_int_equal(outbox_answer(d, id[1], O_FAILED, AL_E_CSR_SIG, ans2.p, ans2.len), 0);
	assert_int_equal(outbox_get(d, id[1], &it, &got), 1);
	assert_int_equal(it.state, O_DONE);
	assert_int_equal(it.code, 0);
	assert_int_equal(got.len, ans.len);
	assert_memory_equal(got.p, ans.p, ans.len);
	assert_int_equal(outbox_answer(d, id[3], O_FAILED, AL_E_PROFILE, ans2.p, ans2.len), 1);
	assert_int_equal(outbox_get(d, id[3], &it, &got), 1);
	assert_int_equal(it.state, O_FAILED);
	assert_int_equal(it.code, AL_E_PROFILE);
	/* an unknown id is "nothing stored" too */
	{
		uint8_t unknown[AIRLOCK_REQID_LEN];

		reqid_of(unknown, 999);
		assert_int_equal(outbox_answer(d, unknown, O_DONE, 0, ans.p, ans.len), 0);
		assert_int_equal(outbox_get(d, unknown, &it, NULL), 0);
	}
	/* sent: new -> sent; an answered row keeps its state */
	assert_int_equal(outbox_set_sent(d, rowid[2]), 0);
	assert_int_equal(outbox_set_sent(d, rowid[1]), 0);
	assert_int_equal(outbox_get(d, id[2], &it, NULL), 1);
	assert_int_equal(it.state, O_SENT);
	assert_int_equal(outbox_get(d, id[1], &it, NULL), 1);
	assert_int_equal(it.state, O_DONE);
	/* a sent request may go back to new (the link lost it); an answered one not */
	assert_int_equal(outbox_set_state(d, id[2], O_NEW), 0);
	assert_int_equal(outbox_get(d, id[2], &it, NULL), 1);
	assert_int_equal(it.state, O_NEW);
	assert_int_equal(outbox_set_state(d, id[1], O_NEW), 0);
	assert_int_equal(outbox_get(d, id[1], &it, NULL), 1);
	assert_int_equal(it.state, O_DONE);
	assert_int_equal(outbox_set_sent(d, rowid[4]), 0);

	/* pending: unanswered rows after the given row id, in order */
	memset(&o, 0, sizeof(o));
	assert_int_equal(outbox_pending(d, 0, 100, opend_one, &o), 3);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.ids[0], rowid[0]);
	assert_int_equal(o.ids[1], rowid[2]);
	assert_int_equal(o.ids[2], rowid[4]);
	assert_int_equal(o.tag[0], 0xe0);
	assert_int_equal(o.tag[2], 0xe4);
	assert_int_equal(o.states[2], O_SENT);
	memset(&o, 0, sizeof(o));
	assert_int_equal(outbox_pending(d, rowid[0], 100, opend_one, &o), 2);
	assert_int_equal(o.ids[0], rowid[2]);
	memset(&o, 0, sizeof(o));
	assert_int_equal(outbox_pending(d, rowid[2], 100, opend_one, &o), 1);
	assert_int_equal(o.ids[0], rowid[4]);
	memset(&o, 0, sizeof(o));
	assert_int_equal(outbox_pending(d, rowid[4], 100, opend_one, &o), 0);
	assert_int_equal(o.n, 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(outbox_pending(d, 0, 1, opend_one, &o), 1);
	assert_int_equal(o.ids[0], rowid[0]);

	assert_int_equal(outbox_counts(d, n), 0);
	assert_int_equal(n[O_NEW], 2);
	assert_int_equal(n[O_SENT], 1);
	assert_int_equal(n[O_DONE], 1);
	assert_int_equal(n[O_FAILED], 1);
	assert_string_equal(outbox_state_name(O_FAILED), "failed");
	assert_string_equal(outbox_state_name(-1), "?");
	db_close(d);
	buf_free(&ans);
	buf_free(&ans2);
	buf_free(&got);
}

/* --- what the three share --- */

static void
check_wal(const char *path)
{
	char mode[32], wal[PATH_MAX + 8];
	struct stat st;
	sqlite3 *h;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &st), 0);
	h = peek_open(path);
	peek_text(h, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	sqlite3_close(h);
}

static void
test_wal_and_reopen(void **state)
{
	char qp[PATH_MAX], cp[PATH_MAX], op[PATH_MAX];
	struct db *q, *c, *o;
	struct buf req, ans, got;
	struct castore_cert cert;
	struct queue_item qi;
	struct outbox_item oi;
	uint8_t id[AIRLOCK_REQID_LEN], serial[16];
	int64_t n[Q_NSTATES], oldest;

	(void)state;
	fresh(qp, "wq.db");
	fresh(cp, "wc.db");
	fresh(op, "wo.db");
	reqid_of(id, 77);
	memset(serial, 0x42, sizeof(serial));
	bytes_of(&req, 1, 4000);
	bytes_of(&ans, 2, 5000);
	buf_init(&got);
	assert_int_equal(queue_open(qp, 0, &q), 0);
	assert_int_equal(castore_open(cp, 0, &c), 0);
	assert_int_equal(outbox_open(op, 0, &o), 0);
	assert_int_equal(queue_put(q, id, MSG_SIGN, "r", req.p, req.len, &got), 1);
	assert_int_equal(queue_set_answer(q, id, ans.p, ans.len, 0, NULL), 0);
	cert_of(&cert, "r", serial, id, &req);
	assert_int_equal(castore_record(c, id, MSG_SIGN, "r", 0, ans.p, ans.len, &cert), 0);
	assert_int_equal(outbox_add(o, id, MSG_SIGN, "x", req.p, req.len), 1);
	assert_int_equal(outbox_answer(o, id, O_DONE, 0, ans.p, ans.len), 1);
	/* while open: WAL mode, and the -wal file holds the commits */
	check_wal(qp);
	check_wal(cp);
	check_wal(op);
	assert_int_equal(db_integrity_ok(q), 1);
	assert_int_equal(db_integrity_ok(c), 1);
	assert_int_equal(db_integrity_ok(o), 1);
	db_close(q);
	db_close(c);
	db_close(o);

	/* reopened: everything is there, still WAL */
	assert_int_equal(queue_open(qp, 0, &q), 0);
	assert_int_equal(castore_open(cp, 0, &c), 0);
	assert_int_equal(outbox_open(op, 0, &o), 0);
	assert_int_equal(queue_put(q, id, MSG_SIGN, "r", req.p, req.len, &got), 0);
	assert_int_equal(got.len, ans.len);
	assert_memory_equal(got.p, ans.p, ans.len);
	assert_int_equal(queue_counts(q, n, &oldest), 0);
	assert_int_equal(n[Q_ANSWERED], 1);
	assert_int_equal(castore_answer(c, id, &got), 1);
	assert_memory_equal(got.p, ans.p, ans.len);
	assert_int_equal(castore_cert_count(c, "r"), 1);
	assert_int_equal(castore_serial_used(c, "r", serial, 16), 1);
	assert_int_equal(outbox_get(o, id, &oi, &got), 1);
	assert_int_equal(oi.state, O_DONE);
	assert_memory_equal(got.p, ans.p, ans.len);
	check_wal(qp);
	check_wal(cp);
	check_wal(op);
	assert_int_equal(db_integrity_ok(q), 1);
	db_close(q);
	db_close(c);
	db_close(o);

	/* read-only, as airlockctl opens them: reads work, writes do not */
	assert_int_equal(queue_open(qp, 1, &q), 0);
	assert_int_equal(queue_get(q, id, &qi, NULL, &got), 1);
	assert_int_equal(qi.state, Q_ANSWERED);
	assert_memory_equal(got.p, ans.p, ans.len);
	reqid_of(id, 78);
	assert_int_equal(queue_put(q, id, MSG_SIGN, "r", req.p, req.len, &got), -1);
	assert_int_equal(db_integrity_ok(q), 1);
	assert_non_null(db_last_error(q));
	db_close(q);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&got);
}

/* Many commits from one handle, each visible to a reader at once. */
static void
test_commit_visible_at_once(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	sqlite3 *h;
	unsigned i;

	(void)state;
	fresh(path, "vis.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	h = peek_open(path);
	bytes_of(&req, 1, 64);
	buf_init(&ans);
	for (i = 0; i < 20; i++) {
		reqid_of(id, i);
		assert_int_equal(queue_put(d, id, MSG_SIGN, "", req.p, req.len, &ans), 1);
		assert_int_equal(peek_int(h, "SELECT count(*) FROM queue"), (int64_t)i + 1);
	}
	sqlite3_close(h);
	db_close(d);
	buf_free(&req);
	buf_free(&ans);
}

static void
test_open_errors(void **state)
{
	char path[PATH_MAX];
	struct db *d = (struct db *)&d;
	int fd;

	(void)state;
	/* a directory that is not there */
	in_tmp(path, "no/such/dir/q.db");
	assert_int_equal(queue_open(path, 0, &d), -1);
	assert_null(d);
	/* read-only open of a file that does not exist */
	fresh(path, "absent.db");
	d = (struct db *)&d;
	assert_int_equal(castore_open(path, 1, &d), -1);
	assert_null(d);
	/* a file that is not a database */
	in_tmp(path, "text.db");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "this is not an SQLite database, not at all.\n", 44), 44);
	assert_int_equal(close(fd), 0);
	d = (struct db *)&d;
	assert_int_equal(outbox_open(path, 0, &d), -1);
	assert_null(d);
	db_close(NULL);
}

/* Damage inside a table's pages is found by db_integrity_ok. */
static void
test_integrity_damage(void **state)
{
	char path[PATH_MAX];
	struct db *d;
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN], page[4096];
	struct stat st;
	unsigned i;
	int fd, ok;

	(void)state;
	fresh(path, "dmg.db");
	assert_int_equal(queue_open(path, 0, &d), 0);
	bytes_of(&req, 1, 700);
	buf_init(&ans);
	for (i = 0; i < 60; i++) {
		reqid_of(id, i);
		assert_int_equal(queue_put(d, id, MSG_SIGN, "", req.p, req.len, &ans), 1);
	}
	db_close(d);			/* checkpoints the WAL into the file */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size >= 8 * 4096);
	/* overwrite the middle of the index's pages and a table page with noise */
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	for (i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(i * 7 + 3);
	for (i = 2; i < (unsigned)(st.st_size / 4096); i += 2)
		assert_int_equal(pwrite(fd, page + 100, 200, (off_t)i * 4096 + 1000), 200);
	assert_int_equal(close(fd), 0);
	if (queue_open(path, 0, &d) == -1)
		fail_msg("the damaged file did not open");
	ok = db_integrity_ok(d);
	db_close(d);
	assert_int_equal(ok, 0);
	buf_free(&req);
	buf_free(&ans);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queue_put_idempotent),
		cmocka_unit_test(test_queue_turn),
		cmocka_unit_test(test_queue_answer_replayed),
		cmocka_unit_test(test_queue_states_forward),
		cmocka_unit_test(test_queue_pending),
		cmocka_unit_test(test_queue_handed_stays),
		cmocka_unit_test(test_queue_list),
		cmocka_unit_test(test_waiting_rows_off_the_index),
		cmocka_unit_test(test_castore_record_and_replay),
		cmocka_unit_test(test_castore_error_answers_and_time),
		cmocka_unit_test(test_castore_atomic),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_wal_and_reopen),
		cmocka_unit_test(test_commit_visible_at_once),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_integrity_damage),
	};

	/* the stores log refused writes; the messages are expected here */
	log_init("test_store", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
