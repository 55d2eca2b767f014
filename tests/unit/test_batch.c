/*
 * test_batch.c: the signer's group commit (signer_handle_batch in
 * src/signerd/signer.c, the nesting transactions of src/common/db.c), on a real CA and a
 * real ca.db.
 *
 * The points: a batch is answered in full and committed once; a request
 * id that appears twice in one batch is signed once and both answers are
 * the same bytes; a bad request in a batch gets its error and does not
 * stop the others; a storage failure of one request (a trigger refuses its
 * certificate) undoes that request alone and answers it 501, not recorded,
 * and it goes through once the fault is gone; a failure that loses the
 * whole transaction (a trigger rolls it back) answers every request of the
 * batch 501 and leaves nothing of it in ca.db, and the same batch sent
 * again is signed exactly once. With the signing threads a batch signed
 * ahead is recorded without a savepoint a request; one of its requests
 * failing has it recorded again with them, with the same answers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <sqlite3.h>

#include "airlock.h"
#include "ca.h"
#include "config.h"
#include "msg.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"

#define NB	8

static struct {
	char		 tmp[64];
	char		 ca_dir[PATH_MAX];
	char		 ca_db[PATH_MAX];
	struct cfg	 cfg;
	struct signer	 s;
	EVP_PKEY	*key;
	unsigned	 next_id;
} T;

static void
new_reqid(uint8_t id[AIRLOCK_REQID_LEN])
{
	memset(id, 0xb7, AIRLOCK_REQID_LEN);
	put_be32(id + 12, ++T.next_id);
}

/* A SIGN for CN=cn; garbage instead of a CSR when cn is NULL. */
static void
make_sign(struct buf *out, const uint8_t *reqid, const char *cn)
{
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	X509_REQ *r = X509_REQ_new();
	unsigned char *der = NULL;
	struct msg m;
	int len;

	assert_non_null(r);
	if (cn != NULL) {
		X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
		    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
		assert_int_equal(X509_REQ_set_pubkey(r, T.key), 1);
		assert_true(X509_REQ_sign(r, T.key, EVP_sha256()) > 0);
		len = i2d_X509_REQ(r, &der);
		assert_true(len > 0);
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_SIGN;
	memcpy(m.reqid, reqid, AIRLOCK_REQID_LEN);
	m.root = (struct msg_bytes){ (const uint8_t *)"r1", 2 };
	m.profile = (struct msg_bytes){ (const uint8_t *)"server", 6 };
	m.csr = cn != NULL ? (struct msg_bytes){ der, (size_t)len } :
	    (struct msg_bytes){ junk, sizeof(junk) };
	m.days = 30;
	m.present = 1u << T_ROOT | 1u << T_PROFILE | 1u << T_CSR | 1u << T_DAYS;
	buf_init(out);
	assert_int_equal(msg_encode(&m, out), 0);
	OPENSSL_free(der);
	X509_REQ_free(r);
}

static void
run_batch(struct buf *req, size_t n, struct buf *ans, int want_failed)
{
	struct signer_req r[NB];
	size_t i;

	assert_true(n <= NB);
	for (i = 0; i < n; i++) {
		r[i] = (struct signer_req){ req[i].p, req[i].len };
		buf_init(&ans[i]);
	}
	assert_int_equal(signer_handle_batch(&T.s, r, n, ans), want_failed);
}

static int
answer_type(const struct buf *ans, int *code)
{
	struct msg m;

	assert_int_equal(msg_decode(ans->p, ans->len, &m), AL_OK);
	*code = m.type == MSG_ERROR ? m.code : 0;
	return m.type;
}

static int64_t
count(const char *table)
{
	char sql[80];
	sqlite3 *h;
	sqlite3_stmt *st;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_open_v2(T.ca_db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* SQL on ca.db through a second connection (faults for the signer's). */
static void
on_db(const char *sql)
{
	sqlite3 *h;
	char *err = NULL;

	assert_int_equal(sqlite3_open(T.ca_db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static void
free_all(struct buf *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf_free(&b[i]);
}

static void
test_batch_signed_once(void **state)
{
	struct buf req[NB], ans[NB];
	uint8_t id[5][AIRLOCK_REQID_LEN];
	int64_t before = count("certs");
	char cn[32];
	int i, code;

	(void)state;
	for (i = 0; i < 5; i++) {
		new_reqid(id[i]);
		snprintf(cn, sizeof(cn), "b%d.example.test", i);
		make_sign(&req[i], id[i], cn);
	}
	/* the first request again, in the same batch */
	make_sign(&req[5], id[0], "b0.example.test");
	run_batch(req, 6, ans, 0);
	for (i = 0; i < 6; i++)
		assert_int_equal(answer_type(&ans[i], &code), MSG_CERT);
	assert_int_equal(ans[5].len, ans[0].len);
	assert_memory_equal(ans[5].p, ans[0].p, ans[0].len);
	assert_int_equal(count("certs"), before + 5);
	assert_int_equal(T.s.st.replayed, 1);
	free_all(ans, 6);

	/* the whole batch again: every answer from the store, byte for byte */
	run_batch(req, 5, ans, 0);
	assert_int_equal(count("certs"), before + 5);
	free_all(ans, 5);
	free_all(req, 6);
}

static void
test_batch_bad_request(void **state)
{
	struct buf req[3], ans[3];
	uint8_t id[3][AIRLOCK_REQID_LEN];
	int64_t before = count("certs");
	int i, code;

	(void)state;
	for (i = 0; i < 3; i++)
		new_reqid(id[i]);
	make_sign(&req[0], id[0], "ok1.example.test");
	make_sign(&req[1], id[1], NULL);
	make_sign(&req[2], id[2], "ok2.example.test");
	run_batch(req, 3, ans, 0);
	assert_int_equal(answer_type(&ans[0], &code), MSG_CERT);
	assert_int_equal(answer_type(&ans[1], &code), MSG_ERROR);
	assert_int_equal(code, AL_E_CSR_PARSE);
	assert_int_equal(answer_type(&ans[2], &code), MSG_CERT);
	assert_int_equal(count("certs"), before + 2);
	free_all(ans, 3);
	free_all(req, 3);
}

/* Three answers: the middle one 501, not recorded; the others recorded. */
static void
middle_failed(struct buf *ans, int64_t certs, int64_t answers)
{
	int code;

	assert_int_equal(answer_type(&ans[0], &code), MSG_CERT);
	assert_int_equal(answer_type(&ans[1], &code), MSG_ERROR);
	assert_int_equal(code, AL_E_STORAGE);
	assert_int_equal(answer_type(&ans[2], &code), MSG_CERT);
	assert_int_equal(count("certs"), certs + 2);
	assert_int_equal(count("answers"), answers + 2);
	free_all(ans, 3);
}

static void
test_batch_one_fails(void **state)
{
	struct buf req[3], ans[3];
	uint8_t id[3][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs"), answers = count("answers");
	int i, code;

	(void)state;
	on_db("CREATE TRIGGER poison BEFORE INSERT ON certs "
	    "WHEN NEW.subject LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'disk "
	    "says no'); END");
	for (i = 0; i < 3; i++)
		new_reqid(id[i]);
	make_sign(&req[0], id[0], "fine1.example.test");
	make_sign(&req[1], id[1], "poison.example.test");
	make_sign(&req[2], id[2], "fine2.example.test");
	run_batch(req, 3, ans, 1);
	middle_failed(ans, certs, answers);

	/* repaired: the same request goes through, once */
	on_db("DROP TRIGGER poison");
	run_batch(&req[1], 1, ans, 0);
	assert_int_equal(answer_type(&ans[0], &code), MSG_CERT);
	assert_int_equal(count("certs"), certs + 3);
	free_all(ans, 1);
	free_all(req, 3);
}

static void
test_batch_all_lost(void **state)
{
	struct buf req[4], ans[4], again[4];
	uint8_t id[4][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs"), answers = count("answers");
	char cn[32];
	int i, code;

	(void)state;
	/* the last request's answer takes the whole transaction with it */
	on_db("CREATE TRIGGER lose BEFORE INSERT ON certs "
	    "WHEN NEW.subject LIKE '%last%' BEGIN SELECT RAISE(ROLLBACK, 'gone'); "
	    "END");
	for (i = 0; i < 4; i++) {
		new_reqid(id[i]);
		snprintf(cn, sizeof(cn), "%s%d.example.test", i == 3 ? "last" :
		    "lost", i);
		make_sign(&req[i], id[i], cn);
	}
	run_batch(req, 4, ans, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(answer_type(&ans[i], &code), MSG_ERROR);
		assert_int_equal(code, AL_E_STORAGE);
	}
	assert_int_equal(count("certs"), certs);
	assert_int_equal(count("answers"), answers);

	/* repaired: all four are signed, once each */
	on_db("DROP TRIGGER lose");
	run_batch(req, 4, again, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(answer_type(&again[i], &code), MSG_CERT);
	assert_int_equal(count("certs"), certs + 4);
	free_all(ans, 4);
	free_all(again, 4);
	free_all(req, 4);
}

static void
test_single_handle(void **state)
{
	struct buf req, ans;
	uint8_t id[AIRLOCK_REQID_LEN];
	int code;

	(void)state;
	new_reqid(id);
	make_sign(&req, id, "single.example.test");
	buf_init(&ans);
	assert_int_equal(signer_handle(&T.s, req.p, req.len, &ans), 0);
	assert_int_equal(answer_type(&ans, &code), MSG_CERT);
	buf_free(&ans);
	buf_free(&req);
}

/* --- the pipeline (signer_pool.c) --- */

static void
make_batch(struct buf *req, struct signer_req *r, uint8_t (*id)[AIRLOCK_REQID_LEN],
    size_t n, const char *tag)
{
	char cn[64];
	size_t i;

	for (i = 0; i < n; i++) {
		new_reqid(id[i]);
		snprintf(cn, sizeof(cn), "%s%zu.example.test", tag, i);
		make_sign(&req[i], id[i], cn);
		r[i] = (struct signer_req){ req[i].p, req[i].len };
	}
}

static void
all_certs(struct buf *ans, size_t n)
{
	size_t i;
	int code;

	for (i = 0; i < n; i++)
		assert_int_equal(answer_type(&ans[i], &code), MSG_CERT);
}

/* The pool started, ans ready, and fault (SQL on ca.db) in place if any. */
static void
pipeline_begin(struct buf *ans, const char *fault)
{
	size_t i;

	for (i = 0; i < NB; i++)
		buf_init(&ans[i]);
	assert_int_equal(signer_pool_start(&T.s), 0);
	if (fault != NULL)
		on_db(fault);
}

static void
test_pipeline_order(void **state)
{
	struct buf ra[3], rb[2], rc[2], ans[NB], a1[1];
	struct signer_req a[3], b[2], c[2];
	uint8_t ida[3][AIRLOCK_REQID_LEN], idb[2][AIRLOCK_REQID_LEN],
	    idc[2][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs"), answers = count("answers");

	(void)state;
	pipeline_begin(ans, NULL);
	make_batch(ra, a, ida, 3, "pa");
	make_batch(rb, b, idb, 2, "pb");
	make_batch(rc, c, idc, 2, "pc");
	b[1] = a[1];			/* a request of batch a, again in b */
	signer_batch_ahead(&T.s, a, 3);
	signer_batch_ahead(&T.s, b, 2);
	assert_false(signer_ahead_room(&T.s));
	signer_batch_record(&T.s, a, 3, ans);
	assert_true(signer_ahead_room(&T.s));
	signer_batch_ahead(&T.s, c, 2);	/* signed while a is committed */
	/* recorded, not committed: nothing of it is there for anyone else */
	assert_int_equal(count("answers"), answers);
	assert_int_equal(count("certs"), certs);
	assert_int_equal(signer_batch_commit(&T.s, a, 3, ans), 0);
	all_certs(ans, 3);
	assert_int_equal(count("answers"), answers + 3);
	buf_init(&a1[0]);
	assert_int_equal(buf_put(&a1[0], ans[1].p, ans[1].len), 0);
	free_all(ans, 3);

	signer_batch_record(&T.s, b, 2, ans);
	assert_int_equal(signer_batch_commit(&T.s, b, 2, ans), 0);
	all_certs(ans, 2);
	/* signed once: the answer of a, byte for byte */
	assert_int_equal(ans[1].len, a1[0].len);
	assert_memory_equal(ans[1].p, a1[0].p, a1[0].len);
	assert_int_equal(count("certs"), certs + 4);
	free_all(ans, 2);

	signer_batch_record(&T.s, c, 2, ans);
	assert_int_equal(signer_batch_commit(&T.s, c, 2, ans), 0);
	all_certs(ans, 2);
	assert_int_equal(count("certs"), certs + 6);
	assert_int_equal(count("answers"), answers + 6);
	assert_true(signer_ahead_ready(&T.s));	/* nothing ahead */
	free_all(ans, 2);
	free_all(a1, 1);
	free_all(ra, 3);
	free_all(rb, 2);
	free_all(rc, 2);
	signer_pool_stop(&T.s);
}

static void
test_pipeline_lost_batch(void **state)
{
	struct buf ra[3], rb[3], ans[NB];
	struct signer_req a[3], b[3];
	uint8_t ida[3][AIRLOCK_REQID_LEN], idb[3][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs"), answers = count("answers");
	size_t i;
	int code;

	(void)state;
	pipeline_begin(ans, "CREATE TRIGGER lose2 BEFORE INSERT ON certs "
	    "WHEN NEW.subject LIKE '%plost2%' BEGIN SELECT RAISE(ROLLBACK, "
	    "'gone'); END");
	make_batch(ra, a, ida, 3, "plost");	/* plost2 takes the batch with it */
	make_batch(rb, b, idb, 3, "pkept");
	signer_batch_ahead(&T.s, a, 3);
	signer_batch_ahead(&T.s, b, 3);
	signer_batch_record(&T.s, a, 3, ans);
	assert_int_equal(signer_batch_commit(&T.s, a, 3, ans), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(answer_type(&ans[i], &code), MSG_ERROR);
		assert_int_equal(code, AL_E_STORAGE);
	}
	free_all(ans, 3);
	assert_int_equal(count("certs"), certs);
	/* the batch signed behind it is not touched by the loss */
	signer_batch_record(&T.s, b, 3, ans);
	assert_int_equal(signer_batch_commit(&T.s, b, 3, ans), 0);
	all_certs(ans, 3);
	free_all(ans, 3);
	assert_int_equal(count("certs"), certs + 3);
	/* repaired: the lost batch again, signed once each */
	on_db("DROP TRIGGER lose2");
	assert_int_equal(signer_handle_batch(&T.s, a, 3, ans), 0);
	all_certs(ans, 3);
	assert_int_equal(count("certs"), certs + 6);
	assert_int_equal(count("answers"), answers + 6);
	free_all(ans, 3);
	free_all(ra, 3);
	free_all(rb, 3);
	signer_pool_stop(&T.s);
}

/* A batch signed ahead is recorded without a savepoint a request: when
 * one of its requests cannot be recorded, the batch is recorded again,
 * each request in its savepoint, and the failure stays that request's */
static void
test_pipeline_one_fails(void **state)
{
	struct buf ra[3], ans[NB];
	struct signer_req a[3];
	uint8_t ida[3][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs"), answers = count("answers");
	uint64_t again = T.s.st.batches_again;

	(void)state;
	pipeline_begin(ans, "CREATE TRIGGER poison1 BEFORE INSERT ON certs "
	    "WHEN NEW.subject LIKE '%ppoison1%' BEGIN SELECT RAISE(ABORT, "
	    "'disk says no'); END");
	make_batch(ra, a, ida, 3, "ppoison");	/* ppoison1 cannot be recorded */
	signer_batch_ahead(&T.s, a, 3);
	signer_batch_record(&T.s, a, 3, ans);
	assert_int_equal(T.s.st.batches_again, again + 1);
	assert_int_equal(signer_batch_commit(&T.s, a, 3, ans), 1);
	middle_failed(ans, certs, answers);
	/* repaired: the three again, the two answered from the store and the
	 * third signed, once; no batch recorded twice */
	on_db("DROP TRIGGER poison1");
	assert_int_equal(signer_handle_batch(&T.s, a, 3, ans), 0);
	all_certs(ans, 3);
	assert_int_equal(count("certs"), certs + 3);
	assert_int_equal(count("answers"), answers + 3);
	assert_int_equal(T.s.st.batches_again, again + 1);
	free_all(ans, 3);
	free_all(ra, 3);
	signer_pool_stop(&T.s);
}

#define PB	48		/* requests per batch */
#define PN	10		/* batches: more than the ring's slots */

/* Round the ring of slots: the pipeline as airlock-signerd runs it. */
static void
test_pipeline_ring(void **state)
{
	static struct buf req[PN][PB], ans[PB];
	static struct signer_req r[PN][PB];
	static uint8_t id[PN][PB][AIRLOCK_REQID_LEN];
	int64_t certs = count("certs");
	uint64_t replayed = T.s.st.replayed, again = T.s.st.batches_again;
	char tag[16];
	int head = 0, next = 0, recorded = 0, i;

	(void)state;
	assert_true(PN * PB > (SIGNER_AHEAD + 1) * SIGNER_BATCH_MAX);
	assert_int_equal(signer_pool_start(&T.s), 0);
	for (i = 0; i < PN; i++) {
		snprintf(tag, sizeof(tag), "ring%d-", i);
		make_batch(req[i], r[i], id[i], PB, tag);
	}
	for (i = 0; i < PB; i++)
		buf_init(&ans[i]);
	while (head < PN) {
		while (next < PN && signer_ahead_room(&T.s))
			signer_batch_ahead(&T.s, r[next++], PB);
		if (recorded) {
			assert_int_equal(signer_batch_commit(&T.s, r[head], PB,
			    ans), 0);
			all_certs(ans, PB);
			head++;
			recorded = 0;
			continue;
		}
		signer_batch_record(&T.s, r[head], PB, ans);
		recorded = 1;
	}
	assert_int_equal(count("certs"), certs + PN * PB);
	assert_int_equal(T.s.st.replayed, replayed);
	assert_int_equal(T.s.st.batches_again, again);	/* none failed */
	free_all(ans, PB);
	for (i = 0; i < PN; i++)
		free_all(req[i], PB);
	signer_pool_stop(&T.s);
}

/* --- fixtures --- */

static int
setup(void **state)
{
	struct ca_root_params rp;
	struct cfg_profile *p = &T.cfg.profiles[0];
	struct cfg_root *r = &T.cfg.roots[0];
	char why[512];

	(void)state;
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/test_batch.XXXXXX");
	if (mkdtemp(T.tmp) == NULL)
		return -1;
	snprintf(T.ca_dir, sizeof(T.ca_dir), "%s/ca", T.tmp);
	snprintf(T.ca_db, sizeof(T.ca_db), "%s/ca.db", T.tmp);
	memset(&rp, 0, sizeof(rp));
	rp.dir = T.ca_dir;
	rp.subject = "/CN=Batch Test CA";
	rp.key_type = "ec:P-256";
	rp.days = 365;
	rp.pathlen = -1;
	if (ca_root_init(&rp, why, sizeof(why)) == -1) {
		print_error("%s\n", why);
		return -1;
	}
	snprintf(T.cfg.ca_db, sizeof(T.cfg.ca_db), "%s", T.ca_db);
	T.cfg.nprofiles = T.cfg.nroots = 1;
	snprintf(p->name, sizeof(p->name), "server");
	p->max_days = 90;
	p->default_days = 30;
	p->pathlen = -1;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE;
	p->ext_key_usage = CFG_EKU_SERVER;
	snprintf(r->name, sizeof(r->name), "r1");
	snprintf(r->dir, sizeof(r->dir), "%s", T.ca_dir);
	snprintf(r->profiles[0], sizeof(r->profiles[0]), "server");
	r->nprofiles = 1;
	if (signer_init(&T.s, &T.cfg, why, sizeof(why)) == -1) {
		print_error("%s\n", why);
		return -1;
	}
	T.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return T.key != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	signer_free(&T.s);
	EVP_PKEY_free(T.key);
	rmtree(T.tmp);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_signed_once),
		cmocka_unit_test(test_batch_bad_request),
		cmocka_unit_test(test_batch_one_fails),
		cmocka_unit_test(test_batch_all_lost),
		cmocka_unit_test(test_single_handle),
		cmocka_unit_test(test_pipeline_order),
		cmocka_unit_test(test_pipeline_lost_batch),
		cmocka_unit_test(test_pipeline_one_fails),
		cmocka_unit_test(test_pipeline_ring),
	};

	log_init("test_batch", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
