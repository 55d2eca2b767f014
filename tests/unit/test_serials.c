/*
 * test_serials.c: SERIALS_FETCH end to end without a cable
 * (docs/protocol.md section 9.9): the signer's side (signer_serials.c,
 * castore_each_serial) on a real ca.db, and airlock-client's side
 * (serialsync.c, reached by including it) writing real files and its
 * cursor in a real outbox.db. The client's messages go through
 * signer_handle and the answers back into serialsync_answer, as the two
 * daemons would pass them.
 *
 * The points: a root of many imported certificates, interleaved with
 * another root's, streams in batches within the byte budget, in the order
 * stored, each serial once, and the cursor follows; the query is an index
 * range; SERIALS_FETCH is a read (never recorded, any request id, no
 * audit record); an unknown root is ERROR 200, asked again only in the
 * next session; an old signer's ERROR 101 stops the asking for the session
 * and is counted; a signer whose positions went back, a lost file and a
 * catch-up after a restore start the cursor again; answers that cannot be
 * right are refused without touching the file; a file that cannot be
 * written leaves the cursor where it was; serials published from CERT
 * answers are not appended twice; while requests wait the batches are
 * small and seldom.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "airlock.h"
#include "ca.h"
#include "castore.h"
#include "config.h"
#include "db.h"
#include "msg.h"
#include "outbox.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"

#include "../../src/client/serialsync.c"

#define SEC	1000ull		/* ms */

static struct {
	char		 tmp[64];
	struct cfg	 cfg, web;	/* the signer host's, webdb's */
	struct signer	 s;
	struct db	*outbox;
	struct serialsync *ss;
	struct buf	 sent;		/* the last message serialsync sent */
	int		 nsent;
	int		 refuse_send;	/* the link takes nothing */
	uint32_t	 next;		/* serial counter */
	int		 imports;	/* import runs, one source each */
} T;

static int
t_send(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	if (T.refuse_send)
		return -1;
	buf_reset(&T.sent);
	assert_int_equal(buf_put(&T.sent, p, n), 0);
	T.nsent++;
	return 0;
}

static void
make_root(const char *name)
{
	struct ca_root_params rp;
	struct cfg_root *r;
	char dir[PATH_MAX], why[512];

	snprintf(dir, sizeof(dir), "%s/%s", T.tmp, name);
	memset(&rp, 0, sizeof(rp));
	rp.dir = dir;
	rp.subject = "/CN=Airlock Serials Test/O=Airlock Test";
	rp.key_type = "ec:P-256";
	rp.days = 3650;
	rp.pathlen = -1;
	if (ca_root_init(&rp, why, sizeof(why)) != 0)
		fail_msg("ca_root_init: %s", why);
	r = &T.cfg.roots[T.cfg.nroots++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->profiles[r->nprofiles++], AIRLOCK_NAME_MAX, "server");
	r->crl_days = 7;
	r->crl_grace_days = 30;
}

static void
web_root(const char *name)
{
	struct cfg_crl_root *cr = &T.web.crl_roots[T.web.ncrl_roots++];
	char tmp[sizeof(T.tmp)];

	memcpy(tmp, T.tmp, sizeof(tmp));
	snprintf(cr->name, sizeof(cr->name), "%s", name);
	snprintf(cr->ca_cert, sizeof(cr->ca_cert), "%s/r1/ca.crt", tmp);
}

static void
t_serial(uint32_t k, uint8_t s[16])
{
	memset(s, 0x5a, 16);
	s[0] = 0x40;
	put_be32(s + 12, k);
}

/* n imported rows of root (serials T.next + 1 ...), as import-openssl-ca
 * puts them: without a request id or an answer. */
static void
seed(const char *root, size_t n)
{
	static const uint8_t der[3] = { 0x30, 0x01, 0x00 };
	struct castore_row *rows;
	uint8_t (*ser)[16];
	char src[32];
	size_t i, conflict;

	rows = calloc(n, sizeof(*rows));
	ser = calloc(n, 16);
	assert_true(rows != NULL && ser != NULL);
	snprintf(src, sizeof(src), "/old/%d", ++T.imports);
	assert_int_equal(castore_import_start(T.s.db, root, src, (int64_t)n), 0);
	for (i = 0; i < n; i++) {
		t_serial(++T.next, ser[i]);
		rows[i] = (struct castore_row){ ser[i], 16, der, sizeof(der),
		    time(NULL) - 86400, time(NULL) + 86400, "CN=old", 0, -1, 0 };
	}
	assert_int_equal(castore_import_chunk(T.s.db, root, src, rows, n,
	    (int64_t)n, &conflict), 0);
	free(rows);
	free(ser);
}

/* The message serialsync sent goes to the signer; its answer comes back.
 * Returns the answer's type; a, when not NULL, gets it (pointing into ans). */
static int
relay(struct buf *ans, struct msg *a, uint64_t now)
{
	struct msg m;

	buf_reset(ans);
	signer_handle(&T.s, T.sent.p, T.sent.len, ans);
	if (a == NULL)
		a = &m;
	assert_int_equal(msg_decode(ans->p, ans->len, a), AL_OK);
	assert_int_equal(serialsync_answer(T.ss, a, now), 1);
	return a->type;
}

/* What serialsync sent last, decoded (pointing into T.sent). */
static void
last_sent(struct msg *q)
{
	assert_int_equal(msg_decode(T.sent.p, T.sent.len, q), AL_OK);
	assert_int_equal(q->type, MSG_SERIALS_FETCH);
}

/* One tick: 1 and the fetch relayed when one was sent. */
static int
step(uint64_t now, int busy, struct buf *ans, struct msg *a)
{
	int before = T.nsent;

	assert_int_equal(outbox_unanswered(T.outbox), busy);
	serialsync_tick(T.ss, now, 0);
	if (T.nsent == before)
		return 0;
	relay(ans, a, now);
	return 1;
}

static void
file_of(const char *root, char *path)
{
	snprintf(path, PATH_MAX, "%s/%s.serials", T.web.crl_dir, root);
}

static size_t
count_lines(const char *root)
{
	char path[PATH_MAX];
	struct buf b;
	size_t i, n = 0;

	file_of(root, path);
	buf_init(&b);
	if (read_file(path, &b, 64u << 20) == -1)
		return 0;
	for (i = 0; i < b.len; i++)
		n += b.p[i] == '\n';
	buf_free(&b);
	return n;
}

static int64_t
cursor_of(const char *root)
{
	char key[96];
	int64_t v;

	snprintf(key, sizeof(key), "serials:%s", root);
	assert_int_not_equal(outbox_cursor_get(T.outbox, key, &v), -1);
	return v;
}

static int64_t
end_of(const char *root)
{
	int64_t end;

	assert_int_equal(castore_serial_end(T.s.db, root, &end), 0);
	return end;
}

static void
new_client(void)
{
	serialsync_free(T.ss);
	assert_non_null(T.ss = serialsync_new(&T.web, T.outbox, t_send, NULL));
	serialsync_link_up(T.ss);
}

static int
group_setup(void **state)
{
	char why[512];

	(void)state;
	log_init("test_serials", LOG_TO_STDERR, 0);
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/test_serials.XXXXXX");
	if (mkdtemp(T.tmp) == NULL)
		return -1;
	snprintf(T.cfg.state_dir, sizeof(T.cfg.state_dir), "%s", T.tmp);
	snprintf(T.cfg.ca_db, sizeof(T.cfg.ca_db), "%s/ca.db", T.tmp);
	snprintf(T.cfg.profiles[T.cfg.nprofiles++].name, AIRLOCK_NAME_MAX, "server");
	make_root("r1");
	make_root("r2");
	if (signer_init(&T.s, &T.cfg, why, sizeof(why)) != 0) {
		print_error("signer_init: %s\n", why);
		return -1;
	}
	snprintf(T.web.crl_dir, sizeof(T.web.crl_dir), "%s/crl", T.tmp);
	snprintf(T.web.outbox_db, sizeof(T.web.outbox_db), "%s/outbox.db", T.tmp);
	T.web.crl_refresh = 3600;
	T.web.audit_interval = 10;
	T.web.audit_busy_interval = 60;
	web_root("r1");
	web_root("r2");
	web_root("r3");		/* not on the signer host */
	buf_init(&T.sent);
	return outbox_open(T.web.outbox_db, DB_RW, &T.outbox);
}

static int
group_teardown(void **state)
{
	(void)state;
	serialsync_free(T.ss);
	db_close(T.outbox);
	signer_free(&T.s);
	buf_free(&T.sent);
	if (getenv("KEEP") != NULL)
		return 0;
	return rmtree(T.tmp);
}

/* --- tests (they run in order, on one ca.db and one outbox) --- */

/* 20,000 imported certificates of r1 and 3,000 of r2 stored between them:
 * batches within the budget, every serial once and in order. */
static void
test_stream(void **state)
{
	struct buf ans, want, have;
	struct msg a, q;
	char path[PATH_MAX], line[40];
	uint8_t s[16];
	uint64_t now = 1000 * SEC;
	uint32_t k;
	size_t batches = 0, r1 = 0;
	int64_t after = 0;

	(void)state;
	buf_init(&ans);
	buf_init(&want);
	buf_init(&have);
	seed("r1", 10000);
	seed("r2", 3000);
	seed("r1", 10000);
	new_client();
	for (;;) {
		if (!step(now, 0, &ans, &a))
			break;
		last_sent(&q);
		if (q.root.len == 2 && memcmp(q.root.p, "r3", 2) == 0) {
			assert_int_equal(a.type, MSG_ERROR);	/* test_unknown_root */
			continue;
		}
		assert_int_equal(a.type, MSG_SERIALS);
		assert_true(a.serials_list.len <= q.serials_max);
		assert_int_equal(q.serials_max, MSG_SERIALS_MAX);
		if (q.root.len == 2 && memcmp(q.root.p, "r1", 2) == 0) {
			/* from where the last answer ended */
			assert_true(q.serials_after == (uint64_t)after);
			after = (int64_t)a.serials_last;
			r1 += a.serials_list.len / 17;
			batches++;
		}
		assert_true(batches < 100);
	}
	/* 17 bytes a serial: 3855 in 64 KiB, so 6 batches for 20,000 */
	assert_int_equal(r1, 20000);
	assert_int_equal(batches, 6);
	assert_int_equal(count_lines("r1"), 20000);
	assert_int_equal(count_lines("r2"), 3000);
	assert_true(cursor_of("r1") == end_of("r1"));
	assert_true(cursor_of("r2") == end_of("r2"));
	/* r1's file, line for line: serials 1..10000 and 13001..23000 */
	for (k = 1; k <= 23000; k++) {
		if (k == 10001)
			k = 13001;
		t_serial(k, s);
		ocsp_serial_line(s, 16, line);
		assert_int_equal(buf_put(&want, line, strlen(line)), 0);
	}
	file_of("r1", path);
	assert_int_equal(read_file(path, &have, 64u << 20), 0);
	assert_int_equal(have.len, want.len);
	assert_memory_equal(have.p, want.p, want.len);
	/* caught up: nothing before audit_interval, then an empty answer */
	assert_int_equal(step(now + 9 * SEC, 0, &ans, &a), 0);
	assert_int_equal(step(now + 10 * SEC, 0, &ans, &a), 1);
	assert_int_equal(a.serials_list.len, 0);
	assert_true(a.serials_last == a.serials_end);
	assert_int_equal(count_lines("r1") + count_lines("r2"), 23000);
	buf_free(&ans);
	buf_free(&want);
	buf_free(&have);
}

/* The batch is an index range, whatever the table holds. */
static void
test_query_plan(void **state)
{
	sqlite3_stmt *st;
	int found = 0;

	(void)state;
	assert_int_equal(sqlite3_prepare_v2(T.s.db->h, "EXPLAIN QUERY PLAN SELECT "
	    "rowid, serial FROM certs WHERE root = ?1 AND rowid > ?2 ORDER BY rowid",
	    -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		if (strstr((const char *)sqlite3_column_text(st, 3),
		    "USING INDEX certs_by_root (root=? AND rowid>?)") != NULL)
			found = 1;
	sqlite3_finalize(st);
	assert_true(found);
}

/* A read: not recorded, not audited, answered anew under the same id. */
static void
test_a_read(void **state)
{
	struct buf req, ans;
	struct msg q, a;
	int64_t audit_before, audit_after;

	(void)state;
	buf_init(&req);
	buf_init(&ans);
	memset(&q, 0, sizeof(q));
	q.type = MSG_SERIALS_FETCH;
	memset(q.reqid, 0x77, sizeof(q.reqid));
	q.root.p = (const uint8_t *)"r2";
	q.root.len = 2;
	q.serials_after = (uint64_t)end_of("r2");
	q.present = 1ull << T_ROOT | 1ull << T_SERIALS_AFTER;
	assert_int_equal(msg_encode(&q, &req), 0);
	assert_int_equal(db_int64(T.s.db, "SELECT count(*) FROM audit", &audit_before), 0);
	signer_handle(&T.s, req.p, req.len, &ans);
	assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
	assert_int_equal(a.type, MSG_SERIALS);
	assert_int_equal(a.serials_list.len, 0);
	assert_int_equal(castore_answer(T.s.db, q.reqid, &ans), 0);
	seed("r2", 5);
	buf_reset(&ans);
	signer_handle(&T.s, req.p, req.len, &ans);
	assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
	assert_int_equal(a.serials_list.len, 5 * 17);
	assert_int_equal(db_int64(T.s.db, "SELECT count(*) FROM audit", &audit_after), 0);
	assert_true(audit_after == audit_before);
	/* a root the signer host does not have: 200, not recorded either */
	q.root.p = (const uint8_t *)"r9";
	buf_reset(&req);
	assert_int_equal(msg_encode(&q, &req), 0);
	buf_reset(&ans);
	signer_handle(&T.s, req.p, req.len, &ans);
	assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
	assert_int_equal(a.type, MSG_ERROR);
	assert_int_equal(a.code, AL_E_ROOT);
	assert_int_equal(castore_answer(T.s.db, q.reqid, &ans), 0);
	buf_free(&req);
	buf_free(&ans);
}

/* r3 is not on the signer host: 200 once, not asked again until the next
 * session; the others go on. */
static void
test_unknown_root(void **state)
{
	struct buf ans;
	struct msg a, q;
	uint64_t now = 5000 * SEC;
	int r3 = 0, i;

	(void)state;
	buf_init(&ans);
	new_client();
	for (i = 0; i < 20 && step(now, 0, &ans, &a); i++) {
		last_sent(&q);
		if (q.root.len == 2 && memcmp(q.root.p, "r3", 2) == 0) {
			r3++;
			assert_int_equal(a.type, MSG_ERROR);
			assert_int_equal(a.code, AL_E_ROOT);
		}
	}
	assert_int_equal(r3, 1);
	assert_int_equal(T.ss->st.refused, 1);
	assert_int_equal(count_lines("r2"), 3005);	/* test_a_read's five */
	for (i = 0; i < 10; i++) {	/* later: r1 and r2 only */
		now += 10 * SEC;
		while (step(now, 0, &ans, &a)) {
			last_sent(&q);
			assert_false(q.root.len == 2 && memcmp(q.root.p, "r3", 2) == 0);
		}
	}
	serialsync_link_up(T.ss);
	r3 = 0;
	while (step(now, 0, &ans, &a)) {
		last_sent(&q);
		r3 += q.root.len == 2 && memcmp(q.root.p, "r3", 2) == 0;
	}
	assert_int_equal(r3, 1);
	buf_free(&ans);
}

/* An airlock from before SERIALS_FETCH answers 101: not asked again in
 * that session, said once, counted; asked again after a new session. */
static void
test_old_peer(void **state)
{
	struct msg q, e;
	uint64_t now = 9000 * SEC;
	int n;

	(void)state;
	serialsync_link_up(T.ss);
	serialsync_tick(T.ss, now, 0);
	assert_int_equal(T.ss->cur != -1, 1);
	last_sent(&q);
	msg_error(&e, q.reqid, AL_E_MSG_TYPE, NULL);
	assert_int_equal(serialsync_answer(T.ss, &e, now), 1);
	assert_int_equal(T.ss->st.unsupported, 1);
	n = T.nsent;
	for (; now < 9000 * SEC + 3600 * SEC; now += 5 * SEC)
		serialsync_tick(T.ss, now, 0);
	assert_int_equal(T.nsent, n);
	/* the same answer again, or one for an id never asked: not ours */
	assert_int_equal(serialsync_answer(T.ss, &e, now), 0);
	serialsync_link_up(T.ss);
	serialsync_tick(T.ss, now, 0);
	assert_int_equal(T.nsent, n + 1);
	last_sent(&q);
	msg_error(&e, q.reqid, AL_E_MSG_TYPE, "unknown message type");
	assert_int_equal(serialsync_answer(T.ss, &e, now), 1);
	assert_int_equal(T.ss->st.unsupported, 2);
	assert_int_equal(T.ss->told_unsupported, 1);
	serialsync_link_up(T.ss);
}

/* Answers that cannot be right: refused, counted, the file untouched,
 * asked again after crl_refresh. */
static void
test_bad_answers(void **state)
{
	static const uint8_t one[] = { 0x03, 0x41, 0x42, 0x43 };
	struct msg q, a;
	uint64_t now = 20000 * SEC;
	size_t lines = count_lines("r1");
	int64_t cur = cursor_of("r1");
	int k, before;

	(void)state;
	for (k = 0; k < 4; k++) {
		serialsync_link_up(T.ss);
		serialsync_tick(T.ss, now, 0);
		last_sent(&q);
		assert_int_equal(q.root.len, 2);
		assert_memory_equal(q.root.p, "r1", 2);
		memset(&a, 0, sizeof(a));
		a.type = MSG_SERIALS;
		memcpy(a.reqid, q.reqid, sizeof(a.reqid));
		a.root = q.root;
		a.serials_list.p = one;
		a.serials_list.len = sizeof(one);
		a.serials_last = q.serials_after + 1;
		a.serials_end = q.serials_after + 1;
		a.present = 1ull << T_ROOT | 1ull << T_SERIALS_LIST |
		    1ull << T_SERIALS_LAST | 1ull << T_SERIALS_END;
		switch (k) {
		case 0:		/* behind what was asked */
			a.serials_last = q.serials_after - 1;
			break;
		case 1:		/* beyond the end */
			a.serials_last = q.serials_after + 2;
			break;
		case 2:		/* serials, and no step */
			a.serials_last = q.serials_after;
			break;
		case 3:		/* another root */
			a.root.p = (const uint8_t *)"r2";
			break;
		}
		before = (int)T.ss->st.bad;
		assert_int_equal(serialsync_answer(T.ss, &a, now), 1);
		assert_int_equal((int)T.ss->st.bad, before + 1);
		assert_int_equal(count_lines("r1"), lines);
		assert_true(cursor_of("r1") == cur);
		assert_true(T.ss->roots[0].next_ms == now + 3600 * SEC);
	}
	serialsync_link_up(T.ss);
}

/* The signer's end below the cursor (its ca.db went back), a lost file,
 * a catch-up: the cursor starts at 0 again. */
static void
test_restart(void **state)
{
	struct msg q, a;
	struct buf ans;
	char path[PATH_MAX];
	uint64_t now = 30000 * SEC;
	int64_t end = end_of("r1");

	(void)state;
	buf_init(&ans);
	serialsync_tick(T.ss, now, 0);
	last_sent(&q);
	assert_true(q.serials_after == (uint64_t)end);
	memset(&a, 0, sizeof(a));
	a.type = MSG_SERIALS;
	memcpy(a.reqid, q.reqid, sizeof(a.reqid));
	a.root = q.root;
	a.serials_last = q.serials_after;
	a.serials_end = 100;		/* restored: fewer rows than webdb read */
	a.present = 1ull << T_ROOT | 1ull << T_SERIALS_LIST |
	    1ull << T_SERIALS_LAST | 1ull << T_SERIALS_END;
	assert_int_equal(serialsync_answer(T.ss, &a, now), 1);
	assert_true(cursor_of("r1") == 0);
	serialsync_tick(T.ss, now, 0);
	last_sent(&q);
	assert_true(q.serials_after == 0);
	relay(&ans, NULL, now);
	/* the whole root again, appended: each serial twice now */
	while (step(now, 0, &ans, NULL))
		;
	assert_int_equal(count_lines("r1"), 40000);
	assert_true(cursor_of("r1") == end);

	/* the file lost while the client is down */
	file_of("r1", path);
	assert_int_equal(unlink(path), 0);
	new_client();
	assert_true(cursor_of("r1") == 0);
	while (step(now, 0, &ans, NULL))
		;
	assert_int_equal(count_lines("r1"), 20000);
	/* ... or while it runs */
	assert_int_equal(unlink(path), 0);
	now += 10 * SEC;
	while (step(now, 0, &ans, NULL))
		;
	assert_int_equal(count_lines("r1"), 20000);
	assert_true(cursor_of("r1") == end);

	/* a catch-up after a restore: nothing asked, every cursor at 0 */
	now += 10 * SEC;
	T.nsent = 0;
	serialsync_tick(T.ss, now, 1);
	serialsync_tick(T.ss, now + 60 * SEC, 1);
	assert_int_equal(T.nsent, 0);
	assert_true(cursor_of("r1") == 0 && cursor_of("r2") == 0);
	assert_int_equal(step(now + 60 * SEC, 0, &ans, NULL), 1);
	while (step(now + 60 * SEC, 0, &ans, NULL))
		;
	assert_true(cursor_of("r1") == end);
	buf_free(&ans);
}

/* A file that cannot be written leaves the cursor where it was. */
static void
test_write_fails(void **state)
{
	struct buf ans;
	char saved[CFG_PATH];
	uint64_t now = 40000 * SEC;
	int64_t cur;

	(void)state;
	buf_init(&ans);
	seed("r1", 3);
	cur = cursor_of("r1");
	memcpy(saved, T.web.crl_dir, sizeof(saved));
	/* crl_dir under a regular file: mkdir and open fail (ENOTDIR) */
	snprintf(T.web.crl_dir, sizeof(T.web.crl_dir), "%s/outbox.db/crl", T.tmp);
	assert_int_equal(step(now, 0, &ans, NULL), 1);
	assert_true(cursor_of("r1") == cur);
	assert_true(T.ss->st.storage_errors >= 1);
	memcpy(T.web.crl_dir, saved, sizeof(saved));
	now += 10 * SEC;
	while (step(now, 0, &ans, NULL))
		;
	assert_true(cursor_of("r1") == end_of("r1"));
	assert_int_equal(count_lines("r1"), 40003);	/* test_restart's catch-up: twice */
	buf_free(&ans);
}

/* What serialsync_publish_cert appended is not appended again. */
static void
test_note(void **state)
{
	struct buf ans;
	uint8_t s[16];
	uint64_t now = 50000 * SEC;
	uint32_t k;

	(void)state;
	buf_init(&ans);
	seed("r1", 4);
	for (k = T.next - 3; k <= T.next; k++) {
		t_serial(k, s);
		if (k % 2 == 0)
			serialsync_note(T.ss, 0, s, sizeof(s));
	}
	while (step(now, 0, &ans, NULL))
		;
	assert_int_equal(count_lines("r1"), 40003 + 2);
	assert_int_equal(T.ss->st.repeated, 2);
	assert_true(cursor_of("r1") == end_of("r1"));
	buf_free(&ans);
}

/* While requests wait: 2 KiB batches, one per audit_busy_interval. */
static void
test_busy(void **state)
{
	uint8_t id[AIRLOCK_REQID_LEN];
	struct buf ans;
	struct msg q, a;
	uint64_t now = 60000 * SEC;

	(void)state;
	buf_init(&ans);
	seed("r2", 1000);
	new_client();
	/* a request waits for its answer */
	memset(id, 0x31, sizeof(id));
	assert_int_equal(outbox_add(T.outbox, id, MSG_SIGN, "", id, sizeof(id)), 1);
	assert_int_equal(step(now, 1, &ans, &a), 1);	/* r1: nothing new */
	last_sent(&q);
	assert_int_equal(q.serials_max, 2048);
	assert_int_equal(a.serials_list.len, 0);
	assert_int_equal(step(now + 59 * SEC, 1, &ans, &a), 0);
	assert_int_equal(step(now + 60 * SEC, 1, &ans, &a), 1);	/* r2 */
	last_sent(&q);
	assert_memory_equal(q.root.p, "r2", 2);
	assert_int_equal(q.serials_max, 2048);
	assert_int_equal(a.serials_list.len, 2048 / 17 * 17);
	/* idle again: the rest at once */
	assert_int_equal(outbox_answer(T.outbox, id, O_DONE, 0, id, sizeof(id)), 1);
	while (step(now + 60 * SEC, 0, &ans, &a))
		;
	assert_true(cursor_of("r2") == end_of("r2"));
	assert_int_equal(count_lines("r2"), 2 * 3005 + 1000);
	/* a link that takes nothing: asked again at the next tick */
	T.refuse_send = 1;
	serialsync_tick(T.ss, now + 600 * SEC, 0);
	assert_int_equal(T.ss->cur, -1);
	T.refuse_send = 0;
	buf_free(&ans);
}

/* No answer: given up after two minutes and asked again. */
static void
test_timeout(void **state)
{
	uint64_t now = 70000 * SEC;
	int n;

	(void)state;
	serialsync_link_up(T.ss);
	serialsync_tick(T.ss, now, 0);
	n = T.nsent;
	serialsync_tick(T.ss, now + 119 * SEC, 0);
	assert_int_equal(T.nsent, n);
	serialsync_tick(T.ss, now + 120 * SEC, 0);
	assert_int_equal(T.nsent, n + 1);
	assert_int_equal(T.ss->st.timeouts, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_query_plan),
		cmocka_unit_test(test_a_read),
		cmocka_unit_test(test_unknown_root),
		cmocka_unit_test(test_old_peer),
		cmocka_unit_test(test_bad_answers),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_write_fails),
		cmocka_unit_test(test_note),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_timeout),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
