/*
 * test_audit.c: the audit chain in ca.db (src/ca/audit.c), on real files.
 *
 * Each test makes a fresh ca.db with five records, then plays the
 * attacker with a second, plain SQLite connection, the way someone with
 * the file would: a field edited, an edited record re-hashed, a record
 * deleted (first, middle, last), two records swapped by contents and by
 * sequence number. audit_verify must find every one of them and name the
 * first bad record, except a cut at the end, which only a head kept
 * elsewhere shows (and then must). Also: the canonical bytes are exactly
 * the documented layout, fields cannot slide into each other, a record
 * appended inside a transaction that is rolled back leaves nothing, and
 * the record-at-a-time check used for exports agrees with the walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "airlock.h"
#include "audit.h"
#include "auditrec.h"
#include "crypto.h"
#include "store.h"
#include "util.h"
#include "castore.h"

#define NREC	5

static struct {
	char		 dir[64];
	char		 path[PATH_MAX];
	struct db	*db;
	int		 n;		/* databases made */
} T;

static const uint8_t t_reqid[AIRLOCK_REQID_LEN] = {
	0xa0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff
};

/* A fresh ca.db with NREC records. */
static int
t_setup(void **state)
{
	int i;

	(void)state;
	snprintf(T.path, sizeof(T.path), "%s/ca%d.db", T.dir, ++T.n);
	if (castore_open(T.path, 0, &T.db) == -1 || audit_init(T.db) == -1)
		return -1;
	for (i = 1; i <= NREC; i++)
		if (audit_addf(T.db, i % 2 ? AUDIT_ISSUE : AUDIT_REJECT,
		    i == 3 ? NULL : t_reqid, "demo-rsa", "test", "record %d of "
		    "the chain\twith a tab", i) != i)
			return -1;
	return 0;
}

static int
t_teardown(void **state)
{
	(void)state;
	db_close(T.db);
	T.db = NULL;
	return 0;
}

/* The attacker's own connection. */
static void
t_sql(const char *sql)
{
	sqlite3 *h;
	char *e = NULL;

	assert_int_equal(sqlite3_open(T.path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	if (sqlite3_exec(h, sql, NULL, NULL, &e) != SQLITE_OK)
		fail_msg("%s: %s", sql, e);
	sqlite3_close(h);
}

static void
t_broken_at(int64_t seq, const char *words)
{
	struct audit_check c;

	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 1);
	assert_int_equal(c.bad_seq, seq);
	if (strstr(c.why, words) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", c.why, words);
}

static void
test_intact(void **state)
{
	struct audit_check c;
	int64_t last;

	(void)state;
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_int_equal(c.records, NREC);
	assert_int_equal(c.head_seq, NREC);
	assert_int_equal(c.bad_seq, 0);
	assert_int_equal(audit_last_seq(T.db, &last), 0);
	assert_int_equal(last, NREC);
	/* the head can be checked against itself */
	assert_int_equal(audit_verify(T.db, NREC, c.head, &c), 0);
}

static void
test_empty_chain(void **state)
{
	struct audit_check c;

	(void)state;
	t_sql("DELETE FROM audit");
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_int_equal(c.records, 0);
	/* and it starts again at 1 */
	assert_int_equal(audit_add(T.db, AUDIT_TIME, NULL, NULL, "t", "x"), 1);
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
}

static void
test_edit_text(void **state)
{
	(void)state;
	t_sql("UPDATE audit SET text = 'record 3 of the chain, forged' WHERE seq = 3");
	t_broken_at(3, "changed");
}

static void
test_edit_each_field(void **state)
{
	static const char *const edits[] = {
		"UPDATE audit SET time = time + 1 WHERE seq = 2",
		"UPDATE audit SET kind = 'issue' WHERE seq = 2",
		"UPDATE audit SET root = 'demo-ec' WHERE seq = 2",
		"UPDATE audit SET actor = 'someone' WHERE seq = 2",
		"UPDATE audit SET reqid = NULL WHERE seq = 2",
		"UPDATE audit SET hash = x'00' WHERE seq = 2",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		t_teardown(NULL);
		assert_int_equal(t_setup(NULL), 0);
		t_sql(edits[i]);
		t_broken_at(2, "changed");
	}
}

/* SHA-256(prev || canonical), written out again here */
static void
t_hash(const uint8_t prev[32], const struct audit_rec *r, uint8_t out[32])
{
	struct buf b, c;

	buf_init(&b);
	buf_init(&c);
	assert_int_equal(buf_put(&b, prev, 32), 0);
	assert_int_equal(audit_canonical(r, &c), 0);
	assert_int_equal(buf_put(&b, c.p, c.len), 0);
	crypto_sha256(b.p, b.len, out);
	buf_free(&b);
	buf_free(&c);
}

/* The edited record re-hashed correctly: the next one no longer follows. */
static void
test_edit_rehashed(void **state)
{
	struct audit_rec r;
	uint8_t h[32], prev[32];
	char sql[512], hex[65];
	sqlite3_stmt *st;
	sqlite3 *db;

	(void)state;
	/* record 4 as stored, with new text, hashed over record 3's hash */
	assert_int_equal(sqlite3_open(T.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT time, prev FROM audit "
	    "WHERE seq = 4", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	memset(&r, 0, sizeof(r));
	r.seq = 4;
	r.time = sqlite3_column_int64(st, 0);
	memcpy(prev, sqlite3_column_blob(st, 1), 32);
	sqlite3_finalize(st);
	sqlite3_close(db);
	snprintf(r.kind, sizeof(r.kind), "reject");
	r.has_reqid = 1;
	memcpy(r.reqid, t_reqid, sizeof(r.reqid));
	snprintf(r.root, sizeof(r.root), "demo-rsa");
	snprintf(r.actor, sizeof(r.actor), "test");
	snprintf(r.text, sizeof(r.text), "nothing happened");
	t_hash(prev, &r, h);
	hex_encode(h, 32, hex);
	snprintf(sql, sizeof(sql), "UPDATE audit SET text = 'nothing happened', "
	    "hash = x'%s' WHERE seq = 4", hex);
	t_sql(sql);
	t_broken_at(5, "does not follow record 4");
}

static void
test_delete_middle(void **state)
{
	(void)state;
	t_sql("DELETE FROM audit WHERE seq = 3");
	t_broken_at(3, "missing");
}

static void
test_delete_two(void **state)
{
	(void)state;
	t_sql("DELETE FROM audit WHERE seq IN (2, 3)");
	t_broken_at(2, "records 2 to 3 are missing");
}

static void
test_delete_first(void **state)
{
	(void)state;
	t_sql("DELETE FROM audit WHERE seq = 1");
	t_broken_at(1, "missing");
}

/* Rows 2 and 3 swap everything but their sequence numbers. */
static void
test_reorder_contents(void **state)
{
	(void)state;
	t_sql("CREATE TEMP TABLE s AS SELECT * FROM audit WHERE seq IN (2, 3);"
	    "UPDATE audit SET (time, kind, reqid, root, actor, text, prev, hash) ="
	    " (SELECT time, kind, reqid, root, actor, text, prev, hash FROM s"
	    "  WHERE s.seq = 5 - audit.seq) WHERE seq IN (2, 3);");
	t_broken_at(2, "does not follow");
}

/* Rows 2 and 3 swap sequence numbers, and so their places. */
static void
test_reorder_seq(void **state)
{
	(void)state;
	t_sql("UPDATE audit SET seq = 100 WHERE seq = 2;"
	    "UPDATE audit SET seq = 2 WHERE seq = 3;"
	    "UPDATE audit SET seq = 3 WHERE seq = 100;");
	t_broken_at(2, "does not follow");
}

/* A cut at the end is invisible to the chain alone; a kept head shows it. */
static void
test_truncate_end(void **state)
{
	struct audit_check c;
	uint8_t head[32];

	(void)state;
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	memcpy(head, c.head, sizeof(head));
	t_sql("DELETE FROM audit WHERE seq = 5");
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_int_equal(c.head_seq, 4);
	assert_int_equal(audit_verify(T.db, 5, head, &c), 1);
	assert_int_equal(c.bad_seq, 5);
	assert_non_null(strstr(c.why, "deleted from the end"));
	/* an earlier head that is still there passes */
	head[0] ^= 1;
	assert_int_equal(audit_verify(T.db, 4, head, &c), 1);
	assert_int_equal(c.bad_seq, 4);
}

/* A record replaced whole, chain rebuilt from there on: the head shows it. */
static void
test_head_differs(void **state)
{
	struct audit_check c;
	uint8_t head[32];

	(void)state;
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	memcpy(head, c.head, sizeof(head));
	t_sql("DELETE FROM audit WHERE seq = 5");
	assert_true(audit_add(T.db, AUDIT_ISSUE, NULL, "demo-rsa", "test",
	    "a different fifth record") == 5);
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_int_equal(audit_verify(T.db, 5, head, &c), 1);
	assert_int_equal(c.bad_seq, 5);
}

/* The documented layout, byte for byte. */
static void
test_canonical_layout(void **state)
{
	static const uint8_t want[] =
	    "airlock-audit-v1"
	    "\0\0\0\0\0\0\0\x07"		/* seq 7 */
	    "\0\0\0\0\x65\x53\xf1\x00"		/* time 1700000000 */
	    "\0\x05" "issue"
	    "\0\x10" "\xa0\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\xff"
	    "\0\x02" "r1"
	    "\0\x01" "a"
	    "\0\0\0\x03" "t\xc3\xa9";
	struct audit_rec r;
	struct buf b;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.time = 1700000000;
	snprintf(r.kind, sizeof(r.kind), "issue");
	r.has_reqid = 1;
	memcpy(r.reqid, t_reqid, sizeof(r.reqid));
	snprintf(r.root, sizeof(r.root), "r1");
	snprintf(r.actor, sizeof(r.actor), "a");
	snprintf(r.text, sizeof(r.text), "t\xc3\xa9");
	buf_init(&b);
	assert_int_equal(audit_canonical(&r, &b), 0);
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.p, want, b.len);
	buf_free(&b);
}

/* Lengths keep fields apart: "ab" + "" differs from "a" + "b". */
static void
test_canonical_unambiguous(void **state)
{
	struct audit_rec r1, r2;
	struct buf a, b;

	(void)state;
	memset(&r1, 0, sizeof(r1));
	snprintf(r1.kind, sizeof(r1.kind), "crl");
	r2 = r1;
	snprintf(r1.root, sizeof(r1.root), "ab");
	snprintf(r2.root, sizeof(r2.root), "a");
	snprintf(r2.actor, sizeof(r2.actor), "b");
	buf_init(&a);
	buf_init(&b);
	assert_int_equal(audit_canonical(&r1, &a), 0);
	assert_int_equal(audit_canonical(&r2, &b), 0);
	assert_true(a.len != b.len || memcmp(a.p, b.p, a.len) != 0);
	buf_free(&a);
	buf_free(&b);
}

/* The stored hashes are SHA-256(prev || canonical), chained from zeros. */
static int
t_check_hash(void *arg, const struct audit_rec *r)
{
	uint8_t *prev = arg, h[32];

	assert_memory_equal(r->prev, prev, 32);
	t_hash(prev, r, h);
	assert_memory_equal(h, r->hash, 32);
	memcpy(prev, r->hash, 32);
	return 0;
}

static void
test_hash_definition(void **state)
{
	uint8_t prev[32];

	(void)state;
	memset(prev, 0, sizeof(prev));
	assert_int_equal(audit_each(T.db, 0, 0, NULL, t_check_hash, prev), 0);
}

/* Appended inside a transaction that is rolled back: nothing remains. */
static void
test_rollback(void **state)
{
	struct audit_check c;
	int64_t last;

	(void)state;
	assert_int_equal(castore_begin(T.db), 0);
	assert_int_equal(audit_add(T.db, AUDIT_ISSUE, t_reqid, "r", "t", "x"), 6);
	castore_rollback(T.db);
	assert_int_equal(audit_last_seq(T.db, &last), 0);
	assert_int_equal(last, NREC);
	assert_int_equal(castore_begin(T.db), 0);
	assert_int_equal(audit_add(T.db, AUDIT_ISSUE, t_reqid, "r", "t", "y"), 6);
	assert_int_equal(castore_commit(T.db), 0);
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_int_equal(c.records, 6);
}

struct t_walk {
	struct audit_check c;
	uint8_t		 prev[32];
	int		 bad;
	int		 tamper;	/* change the text of this record */
};

static int
t_walk_one(void *arg, const struct audit_rec *r)
{
	struct t_walk *w = arg;
	struct audit_rec copy = *r;

	if (copy.seq == w->tamper)
		copy.text[0] ^= 1;
	if (!w->bad)
		w->bad = audit_check_next(&w->c, w->prev, &copy);
	return 0;
}

/* The export checker agrees with the walk. */
static void
test_check_next(void **state)
{
	struct t_walk w;
	struct audit_check c;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(audit_each(T.db, 0, 0, NULL, t_walk_one, &w), 0);
	assert_int_equal(w.bad, 0);
	assert_int_equal(audit_verify(T.db, 0, NULL, &c), 0);
	assert_memory_equal(w.c.head, c.head, 32);
	memset(&w, 0, sizeof(w));
	w.tamper = 4;
	assert_int_equal(audit_each(T.db, 0, 0, NULL, t_walk_one, &w), 0);
	assert_int_equal(w.bad, 1);
	assert_int_equal(w.c.bad_seq, 4);
}

/* tail and show read records back whole, filtered by request id. */
static int
t_count(void *arg, const struct audit_rec *r)
{
	(*(int *)arg)++;
	assert_string_equal(r->root, "demo-rsa");
	assert_non_null(strstr(r->text, "\twith a tab"));
	return 0;
}

static void
test_each(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(audit_each(T.db, 0, 0, NULL, t_count, &n), 0);
	assert_int_equal(n, NREC);
	n = 0;
	assert_int_equal(audit_each(T.db, 0, 0, t_reqid, t_count, &n), 0);
	assert_int_equal(n, NREC - 1);	/* record 3 has no request id */
	n = 0;
	assert_int_equal(audit_each(T.db, 3, 1, NULL, t_count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(audit_add(T.db, 99, NULL, NULL, NULL, "x"), -1);
}

static int
group_setup(void **state)
{
	(void)state;
	log_init("test_audit", LOG_TO_STDERR, 0);
	snprintf(T.dir, sizeof(T.dir), "/tmp/test_audit.XXXXXX");
	return mkdtemp(T.dir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", T.dir);
	return system(cmd) == 0 ? 0 : -1;
}


/* The link form: each record of the chain encodes, decodes to the same
 * columns and encodes again to the same bytes; a cut or a bad label is
 * refused with a sentence, never read past the end. */
static int
t_wire_put(void *arg, const struct audit_raw *w)
{
	return audit_wire_put(arg, w);
}

static void
test_wire_round_trip(void **state)
{
	struct audit_raw w;
	struct buf b, again;
	struct audit_check c;
	uint8_t prev[AUDIT_HASH_LEN];
	size_t off = 0, at, cut;
	char why[256];
	int n = 0, r;

	(void)state;
	buf_init(&b);
	buf_init(&again);
	assert_int_equal(audit_each_raw(T.db, 0, 0, NULL, t_wire_put, &b), 0);
	memset(&c, 0, sizeof(c));
	memset(prev, 0, sizeof(prev));
	for (;;) {
		at = off;
		r = audit_wire_next(b.p, b.len, &off, &w, why, sizeof(why));
		if (r == 0)
			break;
		assert_int_equal(r, 1);
		assert_int_equal(w.seq, ++n);
		buf_reset(&again);
		assert_int_equal(audit_wire_put(&again, &w), 0);
		assert_int_equal(again.len, off - at);
		assert_memory_equal(again.p, b.p + at, again.len);
		/* and it chains, as webdb checks it */
		assert_int_equal(audit_check_one(&w, c.head_seq + 1, prev, &c), 0);
		memcpy(prev, w.hash.p, AUDIT_HASH_LEN);
		c.head_seq = w.seq;
	}
	assert_int_equal(n, NREC);
	/* every cut short of a whole record is refused */
	for (cut = 1; cut < off - at + 1; cut += 7) {
		size_t o = 0;

		memset(why, 0, sizeof(why));
		r = audit_wire_next(b.p, at > 0 ? 1 : 0, &o, &w, why, sizeof(why));
		assert_int_equal(r, -1);
		assert_true(why[0] != '\0');
		o = 0;
		r = audit_wire_next(b.p, (off - at) - cut, &o, &w, why, sizeof(why));
		assert_int_equal(r, -1);
		assert_int_equal(o, 0);
	}
	/* a record without its label */
	b.p[4] ^= 0x20;
	off = 0;
	assert_int_equal(audit_wire_next(b.p, b.len, &off, &w, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "label"));
	buf_free(&b);
	buf_free(&again);
}

/* The audit key: a head signed verifies with the public key, not after a
 * change of seq, hash or time, nor with another key; a secret key readable
 * by others is refused; an existing file is never overwritten. */
static void
test_head_signature(void **state)
{
	char sk[PATH_MAX], pk[PATH_MAX], sk2[PATH_MAX], pk2[PATH_MAX], why[512];
	struct audit_key *s, *p, *p2;
	struct audit_head h = { 42, { 0 }, 1796455176 };
	uint8_t sig[AUDIT_SIG_LEN];

	(void)state;
	snprintf(sk, sizeof(sk), "%s/audit%d.key", T.dir, T.n);
	snprintf(pk, sizeof(pk), "%s/audit%d.pub", T.dir, T.n);
	snprintf(sk2, sizeof(sk2), "%s/other%d.key", T.dir, T.n);
	snprintf(pk2, sizeof(pk2), "%s/other%d.pub", T.dir, T.n);
	assert_int_equal(audit_key_new(sk, pk, why, sizeof(why)), 0);
	assert_int_equal(audit_key_new(sk, pk, why, sizeof(why)), -1);
	assert_int_equal(audit_key_new(sk2, pk2, why, sizeof(why)), 0);
	assert_non_null(s = audit_key_load(sk, 1, why, sizeof(why)));
	assert_non_null(p = audit_key_load(pk, 0, why, sizeof(why)));
	assert_non_null(p2 = audit_key_load(pk2, 0, why, sizeof(why)));
	assert_null(audit_key_load(pk, 1, why, sizeof(why)));	/* not a secret key */
	memset(h.hash, 0x5a, sizeof(h.hash));
	assert_int_equal(audit_head_sign(s, &h, sig), 0);
	assert_int_equal(audit_head_verify(p, &h, sig), 1);
	assert_int_equal(audit_head_verify(p2, &h, sig), 0);
	h.seq++;
	assert_int_equal(audit_head_verify(p, &h, sig), 0);
	h.seq--;
	h.hash[31] ^= 1;
	assert_int_equal(audit_head_verify(p, &h, sig), 0);
	h.hash[31] ^= 1;
	h.time++;
	assert_int_equal(audit_head_verify(p, &h, sig), 0);
	h.time--;
	sig[0] ^= 1;
	assert_int_equal(audit_head_verify(p, &h, sig), 0);
	assert_int_equal(chmod(sk, 0640), 0);
	assert_null(audit_key_load(sk, 1, why, sizeof(why)));
	assert_non_null(strstr(why, "readable by group or others"));
	audit_key_free(s);
	audit_key_free(p);
	audit_key_free(p2);
}

/* export --json: one object per line, strings escaped, bad UTF-8 replaced */
static void
test_json(void **state)
{
	struct audit_rec r;
	struct audit_raw w;
	struct buf b;
	uint8_t h[AUDIT_HASH_LEN] = { 0 };

	(void)state;
	memset(&r, 0, sizeof(r));
	r.seq = 7;
	r.time = 0;
	snprintf(r.kind, sizeof(r.kind), "issue");
	snprintf(r.root, sizeof(r.root), "demo-rsa");
	snprintf(r.actor, sizeof(r.actor), "a\"b");
	snprintf(r.text, sizeof(r.text), "tab\there \xc3\xa9 bad\xff end\\");
	audit_raw_of(&r, &w);
	w.prev.p = h;
	w.prev.n = sizeof(h);
	w.hash.p = h;
	w.hash.n = sizeof(h);
	buf_init(&b);
	assert_int_equal(audit_json(&w, &b), 0);
	assert_int_equal(buf_put(&b, "", 1), 0);
	assert_string_equal((char *)b.p, "{\"seq\":7,\"time\":\"1970-01-01T00:00:00Z\","
	    "\"kind\":\"issue\",\"reqid\":null,\"root\":\"demo-rsa\",\"actor\":\"a\\\"b\","
	    "\"text\":\"tab\\u0009here \xc3\xa9 bad\\ufffd end\\\\\",\"prev\":\""
	    "0000000000000000000000000000000000000000000000000000000000000000\",\"hash\":\""
	    "0000000000000000000000000000000000000000000000000000000000000000\"}\n");
	buf_free(&b);
}

#define T_(f)	cmocka_unit_test_setup_teardown(f, t_setup, t_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T_(test_intact),
		T_(test_empty_chain),
		T_(test_edit_text),
		T_(test_edit_each_field),
		T_(test_edit_rehashed),
		T_(test_delete_middle),
		T_(test_delete_two),
		T_(test_delete_first),
		T_(test_reorder_contents),
		T_(test_reorder_seq),
		T_(test_truncate_end),
		T_(test_head_differs),
		T_(test_canonical_layout),
		T_(test_canonical_unambiguous),
		T_(test_hash_definition),
		T_(test_rollback),
		T_(test_check_next),
		T_(test_each),
		T_(test_wire_round_trip),
		T_(test_head_signature),
		T_(test_json),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
