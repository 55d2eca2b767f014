/*
 * test_signer.c: what airlock-signerd does with one request (src/signerd/signer.c),
 * on a real CA and a real ca.db.
 *
 * A group setup makes a throwaway CA under /tmp with ca_root_init (EC
 * P-256, to be fast), a struct cfg by hand with one root "r1" issuing the
 * profiles "server" and "client" ("subca" is defined but not allowed for
 * r1), and a signer on it. Requests are built with msg_encode around CSRs
 * made with the OpenSSL API; answers are decoded with msg_decode and the
 * certificates checked with X509_verify_cert against the CA certificate.
 *
 * The points: a good request is signed with a 16-byte serial whose top
 * bits are 01; the same request again gets the stored answer byte for
 * byte and is never signed twice; a bad request gets an ERROR with its
 * own code and a sentence and never blocks the next one (the old system
 * retried a bad request forever and stopped its queue); garbage gets an
 * ERROR and is not recorded; a database failure is a retryable error that
 * records nothing, and the same request goes through once it is repaired;
 * a batch is answered request by request under one commit; after linkd and
 * the signer pruned (src/common/retention.c), a repeated SIGN still gets its stored
 * answer and only a CRL_FETCH is answered afresh; after a restore the
 * signer answers 502 until a CATCHUP ends, takes back only a certificate
 * signed by its own key and refuses hostile items (test_catchup). Two tests are
 * kept under #if 0: they show defects (BUG, below) and fail until fixed.
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

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sqlite3.h>

#include "airlock.h"
#include "ca.h"
#include "config.h"
#include "crl.h"
#include "msg.h"
#include "retention.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"
#include "queue.h"
#include "castore.h"
#include "audit.h"
#include "crlsync.h"

#define DAY	86400

static struct {
	char		 tmp[64];
	char		 ca_dir[PATH_MAX];
	char		 ca_db[PATH_MAX];
	struct cfg	 cfg;
	struct signer	 s;
	X509		*ca_cert;
	EVP_PKEY	*key;		/* the requester's key, P-256 */
	unsigned	 next_id;
} T;

/* --- helpers --- */

static void
new_reqid(uint8_t id[AIRLOCK_REQID_LEN])
{
	unsigned n = ++T.next_id, i;

	for (i = 0; i < AIRLOCK_REQID_LEN; i++)
		id[i] = (uint8_t)(0x5a ^ (i * 29));
	put_be32(id + 12, n);
}

static X509_EXTENSION *
san_dns(const char *name)
{
	char conf[300];
	X509_EXTENSION *e;

	snprintf(conf, sizeof(conf), "DNS:%s", name);
	e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, conf);
	assert_non_null(e);
	return e;
}

/* A PKCS#10 request, DER, for CN=cn (and O), with a DNS SAN when dns. */
static void
make_csr(struct buf *out, const char *cn, const char *dns)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n;
	STACK_OF(X509_EXTENSION) *exts;
	unsigned char *der = NULL;
	int len;

	assert_non_null(r);
	n = X509_REQ_get_subject_name(r);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Airlock Test", -1, -1, 0), 1);
	assert_int_equal(X509_REQ_set_pubkey(r, T.key), 1);
	if (dns != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		assert_non_null(exts);
		assert_int_not_equal(sk_X509_EXTENSION_push(exts, san_dns(dns)), 0);
		assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(r, T.key, EVP_sha256()) > 0);
	len = i2d_X509_REQ(r, &der);
	assert_true(len > 0);
	buf_init(out);
	assert_int_equal(buf_put(out, der, (size_t)len), 0);
	OPENSSL_free(der);
	X509_REQ_free(r);
}

/* A SIGN message around csr. */
static void
make_sign(struct buf *out, const uint8_t *reqid, const char *root,
    const char *profile, const struct buf *csr, uint32_t days)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_SIGN;
	memcpy(m.reqid, reqid, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)root;
	m.root.len = strlen(root);
	m.profile.p = (const uint8_t *)profile;
	m.profile.len = strlen(profile);
	m.csr.p = csr->p;
	m.csr.len = csr->len;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_PROFILE);
	MSG_SET(&m, T_CSR);
	if (days) {
		m.days = days;
		MSG_SET(&m, T_DAYS);
	}
	m.csr_format = MSG_CSR_PKCS10;
	MSG_SET(&m, T_CSR_FORMAT);
	buf_init(out);
	assert_int_equal(msg_encode(&m, out), 0);
}

/* A good request for a server certificate, with a fresh request id. */
static void
good_request(struct buf *req, uint8_t *reqid, const char *host)
{
	struct buf csr;

	new_reqid(reqid);
	make_csr(&csr, host, host);
	make_sign(req, reqid, "r1", "server", &csr, 90);
	buf_free(&csr);
}

/* Runs the signer; the answer must decode and carry the request's id. */
static int
handle(const struct buf *req, struct buf *ans, struct msg *a, const uint8_t *reqid)
{
	int rv;

	buf_init(ans);
	rv = signer_handle(&T.s, req->p, req->len, ans);
	assert_true(ans->len > 0);
	assert_int_equal(msg_decode(ans->p, ans->len, a), AL_OK);
	if (reqid != NULL)
		assert_memory_equal(a->reqid, reqid, AIRLOCK_REQID_LEN);
	return rv;
}

/* The answer must be an ERROR with this code and a sentence. */
static void
expect_error(const struct msg *a, int code)
{
	if (a->type != MSG_ERROR)
		fail_msg("answer type %#x, want ERROR %d", a->type, code);
	if (a->code != code)
		fail_msg("error %u \"%.*s\", want %d", a->code, (int)a->text.len,
		    a->text.p, code);
	assert_true(a->text.len > 10);
	assert_true(a->text.p[a->text.len - 1] != '\n');
}

static X509 *
cert_of(const struct msg *a)
{
	const unsigned char *p = a->cert.p;
	X509 *x;

	assert_int_equal(a->type, MSG_CERT);
	assert_true(MSG_HAS(a, T_CERT));
	x = d2i_X509(NULL, &p, (long)a->cert.len);
	assert_non_null(x);
	assert_ptr_equal(p, a->cert.p + a->cert.len);
	return x;
}

static void
verify(X509 *leaf)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, T.ca_cert), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
	X509_STORE_CTX_set_time(ctx, 0, time(NULL) + 60);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		fail_msg("verify: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

/* The serial: 16 bytes, top bits 01. Returns it in out. */
static void
check_serial(X509 *x, uint8_t out[16])
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);

	assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);	/* positive */
	assert_int_equal(ASN1_STRING_length(sn), 16);
	memcpy(out, ASN1_STRING_get0_data(sn), 16);
	assert_int_equal(out[0] & 0xc0, 0x40);
}

/* One statement on a side connection to ca.db, to break or mend it. */
static void
poke(const char *sql)
{
	sqlite3 *h = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open_v2(T.ca_db, &h, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static int64_t
answers_count(void)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(T.ca_db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM answers", -1,
	    &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

static void
add_profile(const char *name, unsigned eku, unsigned san)
{
	struct cfg_profile *p = &T.cfg.profiles[T.cfg.nprofiles++];

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->max_days = 397;
	p->default_days = 90;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE;
	p->ext_key_usage = eku;
	p->pathlen = -1;
	p->san_types = san;
}

static int
group_setup(void **state)
{
	struct ca_root_params rp;
	struct cfg_root *r;
	char why[512], path[PATH_MAX];
	FILE *f;

	(void)state;
	log_init("test_signer", LOG_TO_STDERR, 0);
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/test_signer.XXXXXX");
	if (mkdtemp(T.tmp) == NULL)
		return -1;
	snprintf(T.ca_dir, sizeof(T.ca_dir), "%s/r1", T.tmp);
	snprintf(T.ca_db, sizeof(T.ca_db), "%s/ca.db", T.tmp);
	memset(&rp, 0, sizeof(rp));
	rp.dir = T.ca_dir;
	rp.subject = "/CN=Airlock Test Root R1/O=Airlock Test";
	rp.key_type = "ec:P-256";
	rp.days = 3650;
	rp.pathlen = -1;
	if (ca_root_init(&rp, why, sizeof(why)) != 0) {
		print_error("ca_root_init: %s\n", why);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ca.crt", T.ca_dir);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	T.ca_cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (T.ca_cert == NULL)
		return -1;
	/* the configuration, as config_load would leave it */
	memset(&T.cfg, 0, sizeof(T.cfg));
	snprintf(T.cfg.state_dir, sizeof(T.cfg.state_dir), "%s", T.tmp);
	snprintf(T.cfg.ca_db, sizeof(T.cfg.ca_db), "%s", T.ca_db);
	add_profile("server", CFG_EKU_SERVER, SAN_DNS);
	add_profile("client", CFG_EKU_CLIENT, SAN_EMAIL);
	add_profile("subca", 0, 0);
	r = &T.cfg.roots[T.cfg.nroots++];
	snprintf(r->name, sizeof(r->name), "r1");
	snprintf(r->dir, sizeof(r->dir), "%s", T.ca_dir);
	snprintf(r->profiles[r->nprofiles++], AIRLOCK_NAME_MAX, "server");
	snprintf(r->profiles[r->nprofiles++], AIRLOCK_NAME_MAX, "client");
	r->crl_days = 7;
	r->crl_grace_days = 30;
	if (signer_init(&T.s, &T.cfg, why, sizeof(why)) != 0) {
		print_error("signer_init: %s\n", why);
		return -1;
	}
	T.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return T.key == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	signer_free(&T.s);
	X509_free(T.ca_cert);
	EVP_PKEY_free(T.key);
	return rmtree(T.tmp);
}

/* --- tests --- */

static void
test_sign_good(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN], serial[16];
	struct signer_stats st0 = T.s.st;
	int64_t n0 = castore_cert_count(T.s.db, NULL);
	char cn[256];
	X509 *x;

	(void)state;
	good_request(&req, id, "www.example.test");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	x = cert_of(&a);
	verify(x);
	check_serial(x, serial);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "www.example.test");
	assert_int_equal(X509_cmp_time(X509_get0_notAfter(x), NULL), 1);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	/* recorded before it was returned */
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 1);
	assert_int_equal(castore_cert_count(T.s.db, "r1"), n0 + 1);
	assert_int_equal(castore_serial_used(T.s.db, "r1", serial, 16), 1);
	assert_int_equal(T.s.st.issued, st0.issued + 1);
	assert_int_equal(T.s.st.requests, st0.requests + 1);
	assert_int_equal(T.s.st.rejected, st0.rejected);
	X509_free(x);
	buf_free(&req);
	buf_free(&ans);
}

/* Validity: 0 days means the profile's default; a number is taken as is. */
static void
test_validity_days(void **state)
{
	static const uint32_t days[] = { 0, 1, 397 };
	struct buf csr, req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int d, sec;
	size_t i;
	X509 *x;

	(void)state;
	make_csr(&csr, "days.example.test", "days.example.test");
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		new_reqid(id);
		make_sign(&req, id, "r1", "server", &csr, days[i]);
		assert_int_equal(handle(&req, &ans, &a, id), 0);
		x = cert_of(&a);
		assert_int_equal(ASN1_TIME_diff(&d, &sec, X509_get0_notBefore(x),
		    X509_get0_notAfter(x)), 1);
		assert_int_equal(d, days[i] ? (int)days[i] : 90);
		assert_int_equal(sec, 0);
		X509_free(x);
		buf_free(&req);
		buf_free(&ans);
	}
	buf_free(&csr);
}

/* The same request bytes again: the same answer bytes, nothing signed. */
static void
test_replay_same_answer(void **state)
{
	struct buf req, ans1, ans2, other, csr;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n1;
	uint64_t issued, replayed;
	X509 *x;

	(void)state;
	good_request(&req, id, "replay.example.test");
	assert_int_equal(handle(&req, &ans1, &a, id), 0);
	x = cert_of(&a);
	X509_free(x);
	n1 = castore_cert_count(T.s.db, NULL);
	issued = T.s.st.issued;
	replayed = T.s.st.replayed;
	assert_int_equal(handle(&req, &ans2, &a, id), 0);
	assert_int_equal(ans2.len, ans1.len);
	assert_memory_equal(ans2.p, ans1.p, ans1.len);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n1);
	assert_int_equal(T.s.st.issued, issued);
	assert_int_equal(T.s.st.replayed, replayed + 1);
	/* the request id is the key: other bytes under it get the stored answer */
	make_csr(&csr, "another.example.test", "another.example.test");
	make_sign(&other, id, "r1", "server", &csr, 30);
	buf_free(&ans2);
	assert_int_equal(handle(&other, &ans2, &a, id), 0);
	assert_memory_equal(ans2.p, ans1.p, ans1.len);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n1);
	assert_int_equal(T.s.st.replayed, replayed + 2);
	buf_free(&req);
	buf_free(&ans1);
	buf_free(&ans2);
	buf_free(&other);
	buf_free(&csr);
}

/*
 * A CSR whose self-signature is broken gets CSR_SIG, and the next good
 * request is signed: a bad request never blocks the queue.
 */
static void
test_bad_signature_then_good(void **state)
{
	struct buf csr, req, ans, ans2;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL);
	uint64_t rejected = T.s.st.rejected;
	X509 *x;

	(void)state;
	new_reqid(id);
	make_csr(&csr, "broken.example.test", "broken.example.test");
	csr.p[csr.len - 3] ^= 0x01;	/* inside the signature's last integer */
	make_sign(&req, id, "r1", "server", &csr, 0);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	expect_error(&a, AL_E_CSR_SIG);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0);
	assert_int_equal(T.s.st.rejected, rejected + 1);
	/* answered for good: the same request gets the same error, from the store */
	assert_int_equal(handle(&req, &ans2, &a, id), 0);
	assert_int_equal(ans2.len, ans.len);
	assert_memory_equal(ans2.p, ans.p, ans.len);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&ans2);
	/* and the next one goes through */
	good_request(&req, id, "next.example.test");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	x = cert_of(&a);
	verify(x);
	X509_free(x);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 1);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&csr);
}

/* Requests the policy refuses: each gets its own code, then a good one works. */
static void
test_policy_errors(void **state)
{
	struct buf csr, req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL);
	X509 *x;
	static const struct {
		const char	*root, *profile;
		uint32_t	 days;
		int		 code;
	} v[] = {
		{ "r2", "server", 0, AL_E_ROOT },
		{ "r", "server", 0, AL_E_ROOT },
		{ "r1x", "server", 0, AL_E_ROOT },
		{ "r1", "subca", 0, AL_E_PROFILE },	/* defined, not for r1 */
		{ "r1", "nosuch", 0, AL_E_PROFILE },
		{ "r1", "serve", 0, AL_E_PROFILE },
		{ "r1", "client", 0, AL_E_SAN },	/* a DNS name in a client cert */
		{ "r1", "server", 398, AL_E_VALIDITY },
	};
	size_t i;

	(void)state;
	make_csr(&csr, "policy.example.test", "policy.example.test");
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		new_reqid(id);
		make_sign(&req, id, v[i].root, v[i].profile, &csr, v[i].days);
		assert_int_equal(handle(&req, &ans, &a, id), 0);
		expect_error(&a, v[i].code);
		buf_free(&req);
		buf_free(&ans);
	}
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0);
	good_request(&req, id, "after-policy.example.test");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	x = cert_of(&a);
	X509_free(x);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&csr);
}

/* Garbage: an ERROR answer, no crash, nothing recorded. */
static void
test_garbage(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t junk[300], zero[AIRLOCK_REQID_LEN];
	int64_t answers0 = answers_count(), n0 = castore_cert_count(T.s.db, NULL);
	size_t i, cut;

	(void)state;
	memset(zero, 0, sizeof(zero));
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 151 + 7);
	/* empty, one byte, random bytes, a wrong version */
	for (i = 0; i < 4; i++) {
		buf_init(&req);
		if (i == 1)
			buf_put_u8(&req, MSG_VERSION);
		if (i == 2)
			buf_put(&req, junk, sizeof(junk));
		if (i == 3) {
			good_request(&req, zero, "v.example.test");
			req.p[0] = 2;
		}
		buf_init(&ans);
		assert_int_equal(signer_handle(&T.s, req.p, req.len, &ans), 0);
		assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
		expect_error(&a, AL_E_MSG);
		buf_free(&req);
		buf_free(&ans);
	}
	/* a good request cut short anywhere inside its fields */
	good_request(&req, zero, "cut.example.test");
	for (cut = MSG_HDR_LEN + 1; cut < req.len; cut += 37) {
		buf_init(&ans);
		assert_int_equal(signer_handle(&T.s, req.p, cut, &ans), 0);
		assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
		expect_error(&a, AL_E_MSG);
		buf_free(&ans);
	}
	buf_free(&req);
	assert_int_equal(answers_count(), answers0);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0);
}

/* A request that decodes but breaks the rules is answered for good. */
static void
test_bad_fields_recorded(void **state)
{
	struct buf req, ans, ans2;
	struct msg m, a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t answers0 = answers_count();

	(void)state;
	/* SIGN without a CSR */
	new_reqid(id);
	memset(&m, 0, sizeof(m));
	m.type = MSG_SIGN;
	memcpy(m.reqid, id, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)"r1";
	m.root.len = 2;
	m.profile.p = (const uint8_t *)"server";
	m.profile.len = 6;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_PROFILE);
	buf_init(&req);
	assert_int_equal(msg_encode(&m, &req), 0);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	expect_error(&a, AL_E_MSG_FIELD);
	assert_int_equal(handle(&req, &ans2, &a, id), 0);
	assert_int_equal(ans2.len, ans.len);
	assert_memory_equal(ans2.p, ans.p, ans.len);
	assert_int_equal(answers_count(), answers0 + 1);
	buf_free(&req);
	buf_free(&ans);
	buf_free(&ans2);
	/* an answer sent as if it were a request */
	new_reqid(id);
	msg_error(&m, id, AL_E_ROOT, NULL);
	buf_init(&req);
	assert_int_equal(msg_encode(&m, &req), 0);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	expect_error(&a, AL_E_MSG_TYPE);
	buf_free(&req);
	buf_free(&ans);
}

/*
 * STATUS is linkd's to answer; the signer says it does not serve it, and
 * keeps no answer, so a later signer may. A REVOKE of a serial this root
 * never issued is an ERROR too (not served yet, or unknown serial).
 */
static void
test_unsupported_not_recorded(void **state)
{
	struct buf req, ans;
	struct msg m, a;
	uint8_t id[AIRLOCK_REQID_LEN], serial[16];
	int64_t answers0 = answers_count();

	(void)state;
	new_reqid(id);
	memset(&m, 0, sizeof(m));
	m.type = MSG_STATUS;
	memcpy(m.reqid, id, AIRLOCK_REQID_LEN);
	buf_init(&req);
	assert_int_equal(msg_encode(&m, &req), 0);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	expect_error(&a, AL_E_MSG_TYPE);
	assert_int_equal(answers_count(), answers0);
	assert_int_equal(castore_answer(T.s.db, id, &ans), 0);
	buf_free(&req);
	buf_free(&ans);

	new_reqid(id);
	memset(serial, 0x41, sizeof(serial));
	memset(&m, 0, sizeof(m));
	m.type = MSG_REVOKE;
	memcpy(m.reqid, id, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)"r1";
	m.root.len = 2;
	m.serial.p = serial;
	m.serial.len = sizeof(serial);
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_SERIAL);
	buf_init(&req);
	assert_int_equal(msg_encode(&m, &req), 0);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(a.type, MSG_ERROR);
	assert_true(a.code == AL_E_MSG_TYPE || a.code == AL_E_SERIAL);
	buf_free(&req);
	buf_free(&ans);
}

static void
test_time(void **state)
{
	struct buf req, ans;
	struct msg m, a;
	uint8_t id[AIRLOCK_REQID_LEN];
	uint64_t t = 1700000000123456789ull, samples = T.s.st.time_samples, now;
	int64_t answers0 = answers_count();

	(void)state;
	new_reqid(id);
	memset(&m, 0, sizeof(m));
	m.type = MSG_TIME;
	memcpy(m.reqid, id, AIRLOCK_REQID_LEN);
	m.time_ns = t;
	m.sync = MSG_SYNC_YES;
	MSG_SET(&m, T_TIME_NS);
	MSG_SET(&m, T_SYNC);
	buf_init(&req);
	assert_int_equal(msg_encode(&m, &req), 0);
	now = real_ns();
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(a.type, MSG_TIME_ACK);
	assert_int_equal(a.time_ns, t);
	assert_true(a.time2_ns >= now && a.time2_ns <= real_ns());
	assert_int_equal(T.s.st.time_samples, samples + 1);
	/* a sample, not a transaction: the next one is answered afresh */
	assert_int_equal(answers_count(), answers0);
	buf_free(&ans);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(a.type, MSG_TIME_ACK);
	assert_int_equal(T.s.st.time_samples, samples + 2);
	buf_free(&req);
	buf_free(&ans);
}

/* A TIME as the client sends it; rtt_of names the TIME it reports on. */
static void
make_time(struct buf *req, uint8_t *id, uint64_t t, const uint8_t *rtt_of,
    uint64_t rtt)
{
	struct msg m;

	new_reqid(id);
	memset(&m, 0, sizeof(m));
	m.type = MSG_TIME;
	memcpy(m.reqid, id, AIRLOCK_REQID_LEN);
	m.time_ns = t;
	m.sync = MSG_SYNC_YES;
	m.present = 1u << T_TIME_NS | 1u << T_SYNC;
	if (rtt_of != NULL) {
		m.time_prev.p = rtt_of;
		m.time_prev.len = AIRLOCK_REQID_LEN;
		m.rtt_ns = rtt;
		m.present |= 1u << T_TIME_PREV | 1u << T_RTT_NS;
	}
	buf_init(req);
	assert_int_equal(msg_encode(&m, req), 0);
}

static int64_t
sql_int(const char *sql)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_open_v2(T.ca_db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/*
 * Samples are recorded authenticated, with this boot's id; the next TIME's
 * report fills in the round trip of the one before; a TIME far in the past
 * is refused (ERROR 103) and not recorded.
 */
static void
test_time_samples(void **state)
{
	uint8_t id1[AIRLOCK_REQID_LEN], id2[AIRLOCK_REQID_LEN];
	int64_t n0 = sql_int("SELECT count(*) FROM time_samples");
	struct buf req, ans;
	struct msg a;

	(void)state;
	make_time(&req, id1, real_ns(), NULL, 0);
	assert_int_equal(handle(&req, &ans, &a, id1), 0);
	assert_int_equal(a.type, MSG_TIME_ACK);
	buf_free(&req);
	buf_free(&ans);
	make_time(&req, id2, real_ns(), id1, 52000000);
	assert_int_equal(handle(&req, &ans, &a, id2), 0);
	assert_int_equal(a.type, MSG_TIME_ACK);
	buf_free(&req);
	buf_free(&ans);
	assert_int_equal(sql_int("SELECT count(*) FROM time_samples"), n0 + 2);
	assert_int_equal(sql_int("SELECT min(auth) FROM time_samples WHERE "
	    "boot_id != ''"), 1);
	assert_int_equal(sql_int("SELECT rtt_ns FROM time_samples ORDER BY id "
	    "DESC LIMIT 1 OFFSET 1"), 52000000);
	assert_int_equal(sql_int("SELECT rtt_prev_ns FROM time_samples ORDER BY "
	    "id DESC LIMIT 1"), 52000000);
	/* 1970: refused, not recorded, not stored as an answer */
	make_time(&req, id1, 5, NULL, 0);
	assert_int_equal(handle(&req, &ans, &a, id1), 0);
	expect_error(&a, AL_E_MSG_VALUE);
	assert_non_null(memmem(a.text.p, a.text.len, "not a plausible time", 20));
	assert_int_equal(sql_int("SELECT count(*) FROM time_samples"), n0 + 2);
	buf_free(&req);
	buf_free(&ans);
}

/*
 * Drift policy: by default the signer never stops. With time.stop_offset
 * set and a fresh sample showing the clock 100 s ahead, a SIGN waits with
 * the retryable 502 and nothing is recorded; once the limit is lifted (or
 * the clock corrected) the same request is signed.
 */
static void
test_time_stop_offset(void **state)
{
	uint8_t tid[AIRLOCK_REQID_LEN], id[AIRLOCK_REQID_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL), a0 = answers_count();
	struct buf treq, req, ans;
	struct msg a;

	(void)state;
	make_time(&treq, tid, real_ns() - 100000000000ull, NULL, 0);
	assert_int_equal(handle(&treq, &ans, &a, tid), 0);
	assert_int_equal(a.type, MSG_TIME_ACK);
	buf_free(&ans);
	good_request(&req, id, "drift.example.test");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(a.type, MSG_CERT);	/* default: never stops */
	buf_free(&req);
	buf_free(&ans);
	T.cfg.time_warn_offset = 10;
	T.cfg.time_stop_offset = 60;
	T.cfg.time_max_age = 300;
	good_request(&req, id, "drift2.example.test");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	expect_error(&a, AL_E_BUSY);
	assert_non_null(memmem(a.text.p, a.text.len, "time.stop_offset", 16));
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 1);
	assert_int_equal(answers_count(), a0 + 1);
	buf_free(&ans);
	T.cfg.time_stop_offset = 0;
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(a.type, MSG_CERT);
	T.cfg.time_warn_offset = 0;
	T.cfg.time_max_age = 0;
	buf_free(&req);
	buf_free(&ans);
	buf_free(&treq);
}

/* Every recorded answer has its audit record, in the same transaction. */
static void
test_audit_records(void **state)
{
	int64_t answers = sql_int("SELECT count(*) FROM answers WHERE type != 3");

	(void)state;	/* CRL answers: the CRL itself is what is audited */
	assert_int_equal(sql_int("SELECT count(*) FROM audit WHERE kind IN "
	    "('issue', 'reject', 'revoke')"), answers);
	assert_int_equal(sql_int("SELECT count(*) FROM audit WHERE kind = 'issue'"),
	    castore_cert_count(T.s.db, NULL));
	assert_int_equal(sql_int("SELECT count(*) FROM answers WHERE type != 3 AND "
	    "reqid NOT IN (SELECT reqid FROM audit WHERE reqid IS NOT NULL)"), 0);
}

/* A request's stored answer, moved 100 days into the past. */
static void
age_answer(const uint8_t *reqid)
{
	char sql[200], hex[33];

	reqid_hex(reqid, hex);
	snprintf(sql, sizeof(sql), "UPDATE answers SET answered = answered - "
	    "100 * 86400 WHERE hex(reqid) = upper('%s')", hex);
	poke(sql);
}

/* Pruning with a 90-day retention, as the daemons run it: rows deleted. */
static int64_t
prune(struct db *d, retention_fn fn)
{
	struct retention r;
	int64_t n;

	retention_init(&r, d, fn, "test", "rows", 90, 0);
	assert_int_equal(retention_run(&r, time(NULL), &n), 0);
	return n;
}

/*
 * Exactly once after pruning. linkd has pruned the delivered SIGN from
 * queue.db and the signer its old CRL answer from ca.db. The SIGN
 * repeated under its id is a new row to linkd, which hands it over; the
 * signer answers it, and a refused SIGN, with the stored bytes and signs
 * nothing; the CRL_FETCH is answered afresh.
 */
static void
test_replay_after_prune(void **state)
{
	uint8_t id[AIRLOCK_REQID_LEN], bad_id[AIRLOCK_REQID_LEN],
	    crl_id[AIRLOCK_REQID_LEN], last[AIRLOCK_REQID_LEN];
	struct buf req, bad, crl, csr, ans1, bad1, crl1, ans, none;
	char qpath[PATH_MAX];
	struct queue_item it;
	struct msg a;
	struct db *q;
	int64_t certs, answers, issued;

	(void)state;
	good_request(&req, id, "pruned.example.test");
	assert_int_equal(handle(&req, &ans1, &a, id), 0);
	X509_free(cert_of(&a));
	new_reqid(bad_id);
	make_csr(&csr, "sub.example.test", NULL);
	make_sign(&bad, bad_id, "r1", "subca", &csr, 30);
	handle(&bad, &bad1, &a, bad_id);
	expect_error(&a, AL_E_PROFILE);
	new_reqid(crl_id);
	buf_init(&crl);
	assert_int_equal(crlsync_fetch_msg(&T.cfg, "r1", 1, 0, crl_id, &crl), 0);
	assert_int_equal(handle(&crl, &crl1, &a, crl_id), 0);
	assert_int_equal(a.type, MSG_CRL);
	/* linkd delivered the SIGN's answer 100 days ago; a newer request since */
	snprintf(qpath, sizeof(qpath), "%s/queue.db", T.tmp);
	assert_int_equal(queue_open(qpath, 0, &q), 0);
	buf_init(&none);
	assert_int_equal(queue_put(q, id, MSG_SIGN, "r1", req.p, req.len, &none), 1);
	assert_int_equal(queue_set_answer(q, id, ans1.p, ans1.len, 0, NULL), 0);
	assert_int_equal(queue_get(q, id, &it, NULL, NULL), 1);
	assert_int_equal(queue_set_delivered(q, it.id), 0);
	new_reqid(last);
	assert_int_equal(queue_put(q, last, MSG_SIGN, "r1", req.p, req.len, &none), 1);
	{
		sqlite3 *h = NULL;

		assert_int_equal(sqlite3_open_v2(qpath, &h, SQLITE_OPEN_READWRITE,
		    NULL), SQLITE_OK);
		assert_int_equal(sqlite3_exec(h, "UPDATE queue SET updated = updated - "
		    "100 * 86400 WHERE state = 3", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(h);
	}
	age_answer(id);
	age_answer(bad_id);
	age_answer(crl_id);
	assert_int_equal(prune(q, queue_prune), 1);
	assert_int_equal(prune(T.s.db, castore_prune), 1);
	buf_init(&ans);
	assert_int_equal(castore_answer(T.s.db, crl_id, &ans), 0);
	assert_int_equal(castore_answer(T.s.db, id, &ans), 1);
	/* the repeat: a new request to linkd ... */
	assert_int_equal(queue_put(q, id, MSG_SIGN, "r1", req.p, req.len, &none), 1);
	assert_int_equal(none.len, 0);
	/* ... and the stored answer from the signer, nothing signed */
	certs = castore_cert_count(T.s.db, NULL);
	issued = (int64_t)T.s.st.issued;
	buf_free(&ans);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(ans.len, ans1.len);
	assert_memory_equal(ans.p, ans1.p, ans1.len);
	buf_free(&ans);
	handle(&bad, &ans, &a, bad_id);
	assert_int_equal(ans.len, bad1.len);
	assert_memory_equal(ans.p, bad1.p, bad1.len);
	assert_int_equal(castore_cert_count(T.s.db, NULL), certs);
	assert_int_equal((int64_t)T.s.st.issued, issued);
	/* the CRL_FETCH again: answered afresh, and stored again */
	answers = answers_count();
	buf_free(&ans);
	assert_int_equal(handle(&crl, &ans, &a, crl_id), 0);
	assert_int_equal(a.type, MSG_CRL);
	assert_int_equal(answers_count(), answers + 1);
	db_close(q);
	buf_free(&req);
	buf_free(&bad);
	buf_free(&crl);
	buf_free(&csr);
	buf_free(&ans1);
	buf_free(&bad1);
	buf_free(&crl1);
	buf_free(&ans);
	buf_free(&none);
}

/* Fifty requests, fifty certificates, fifty serials. */
static void
test_fifty_serials(void **state)
{
	uint8_t serials[50][16], id[AIRLOCK_REQID_LEN];
	struct buf req, ans;
	struct msg a;
	char host[64];
	int64_t n0 = castore_cert_count(T.s.db, "r1");
	int i, j;
	X509 *x;

	(void)state;
	for (i = 0; i < 50; i++) {
		snprintf(host, sizeof(host), "host%02d.example.test", i);
		good_request(&req, id, host);
		assert_int_equal(handle(&req, &ans, &a, id), 0);
		x = cert_of(&a);
		verify(x);
		check_serial(x, serials[i]);
		X509_free(x);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(serials[i], serials[j], 16);
		assert_int_equal(castore_serial_used(T.s.db, "r1", serials[i], 16), 1);
		buf_free(&req);
		buf_free(&ans);
	}
	assert_int_equal(castore_cert_count(T.s.db, "r1"), n0 + 50);
}

/*
 * A batch (one durable commit for all): each request gets its own answer;
 * a request id seen twice in the batch is answered once and signed once.
 */
static void
test_batch(void **state)
{
	struct signer_req r[4];
	struct buf req[3], ans[4], csr;
	struct msg a;
	uint8_t id[3][AIRLOCK_REQID_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL), a0 = answers_count();
	size_t i;
	X509 *x;

	(void)state;
	good_request(&req[0], id[0], "batch1.example.test");
	good_request(&req[1], id[1], "batch2.example.test");
	new_reqid(id[2]);
	make_csr(&csr, "batch3.example.test", "batch3.example.test");
	csr.p[csr.len - 3] ^= 0x01;
	make_sign(&req[2], id[2], "r1", "server", &csr, 0);
	r[0] = (struct signer_req){ req[0].p, req[0].len };
	r[1] = (struct signer_req){ req[1].p, req[1].len };
	r[2] = (struct signer_req){ req[0].p, req[0].len };	/* again */
	r[3] = (struct signer_req){ req[2].p, req[2].len };
	for (i = 0; i < 4; i++)
		buf_init(&ans[i]);
	assert_int_equal(signer_handle_batch(&T.s, r, 4, ans), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(msg_decode(ans[i].p, ans[i].len, &a), AL_OK);
		assert_memory_equal(a.reqid, id[i], AIRLOCK_REQID_LEN);
		x = cert_of(&a);
		verify(x);
		X509_free(x);
	}
	assert_int_equal(ans[2].len, ans[0].len);
	assert_memory_equal(ans[2].p, ans[0].p, ans[0].len);
	assert_int_equal(msg_decode(ans[3].p, ans[3].len, &a), AL_OK);
	assert_memory_equal(a.reqid, id[2], AIRLOCK_REQID_LEN);
	expect_error(&a, AL_E_CSR_SIG);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 2);
	/* committed: another connection sees three answers, not four */
	assert_int_equal(answers_count(), a0 + 3);
	for (i = 0; i < 4; i++)
		buf_free(&ans[i]);
	for (i = 0; i < 3; i++)
		buf_free(&req[i]);
	buf_free(&csr);
}

/*
 * The same with the signing threads (signer_pool.c): every good request
 * signed once, a request id twice in the batch answered with the same
 * bytes, a bad one refused, the certificates committed with the batch.
 * Then the ahead-signing itself: with a thread, every SIGN of a batch is
 * signed ahead and taken exactly once; what nobody takes is dropped.
 */
static void
test_batch_threads(void **state)
{
	struct signer_req r[6];
	struct buf req[5], ans[6], csr, serial_ans;
	struct ca_issued issued;
	struct msg a, m;
	uint8_t id[5][AIRLOCK_REQID_LEN], serial[SIGNER_SERIAL_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL), a0 = answers_count();
	char host[64], why[512];
	size_t i;
	int code, threads;
	X509 *x;

	(void)state;
	assert_int_equal(signer_pool_start(&T.s), 0);
	assert_non_null(T.s.pool);
	threads = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	for (i = 0; i < 5; i++) {
		snprintf(host, sizeof(host), "pool%zu.example.test", i);
		if (i != 3)
			good_request(&req[i], id[i], host);
	}
	new_reqid(id[3]);
	make_csr(&csr, "pool3.example.test", "pool3.example.test");
	csr.p[csr.len - 3] ^= 0x01;
	make_sign(&req[3], id[3], "r1", "server", &csr, 0);
	r[0] = (struct signer_req){ req[0].p, req[0].len };
	r[1] = (struct signer_req){ req[1].p, req[1].len };
	r[2] = (struct signer_req){ req[0].p, req[0].len };	/* again */
	r[3] = (struct signer_req){ req[3].p, req[3].len };
	r[4] = (struct signer_req){ req[2].p, req[2].len };
	r[5] = (struct signer_req){ req[4].p, req[4].len };
	for (i = 0; i < 6; i++)
		buf_init(&ans[i]);
	assert_int_equal(signer_handle_batch(&T.s, r, 6, ans), 0);
	for (i = 0; i < 6; i++) {
		if (i == 2 || i == 3)
			continue;
		assert_int_equal(msg_decode(ans[i].p, ans[i].len, &a), AL_OK);
		assert_int_equal(a.type, MSG_CERT);
		x = cert_of(&a);
		verify(x);
		X509_free(x);
	}
	assert_int_equal(ans[2].len, ans[0].len);
	assert_memory_equal(ans[2].p, ans[0].p, ans[0].len);
	assert_int_equal(msg_decode(ans[3].p, ans[3].len, &a), AL_OK);
	expect_error(&a, AL_E_CSR_SIG);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 4);
	assert_int_equal(answers_count(), a0 + 5);

	/* signed ahead, taken once (new request ids: not answered yet) */
	for (i = 0; i < 3; i++) {
		buf_free(&req[i]);
		snprintf(host, sizeof(host), "ahead%zu.example.test", i);
		good_request(&req[i], id[i], host);
		r[i] = (struct signer_req){ req[i].p, req[i].len };
	}
	assert_int_equal(castore_begin(T.s.db), 0);
	signer_batch_ahead(&T.s, r, 3);
	signer_pre_wait(&T.s, r, 3);
	buf_init(&issued.der);
	for (i = 0; i < 3; i++) {
		assert_int_equal(msg_decode(req[i].p, req[i].len, &m), AL_OK);
		assert_int_equal(signer_pre_take(&T.s, &m, serial, &issued,
		    &code, why, sizeof(why)), threads);
		if (threads) {
			assert_int_equal(code, AL_OK);
			assert_true(issued.der.len > 0);
			assert_int_equal(signer_pre_take(&T.s, &m, serial, &issued,
			    &code, why, sizeof(why)), 0);
		}
	}
	buf_free(&issued.der);
	signer_pre_clear(&T.s);
	castore_rollback(T.s.db);
	/* nothing of it was recorded */
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 4);
	buf_init(&serial_ans);
	assert_int_equal(castore_answer(T.s.db, id[0], &serial_ans), 0);
	buf_free(&serial_ans);
	signer_pool_stop(&T.s);
	assert_null(T.s.pool);
	for (i = 0; i < 6; i++)
		buf_free(&ans[i]);
	for (i = 0; i < 5; i++)
		buf_free(&req[i]);
	buf_free(&csr);
}

/*
 * The answer cannot be recorded: a retryable STORAGE error (-1), no
 * certificate kept; once the database is mended the same request is
 * signed.
 */
static void
test_record_fails_then_retry(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t n0 = castore_cert_count(T.s.db, NULL);
	uint64_t errs = T.s.st.storage_errors;
	X509 *x;

	(void)state;
	good_request(&req, id, "retry.example.test");
	poke("CREATE TRIGGER boom BEFORE INSERT ON answers "
	    "BEGIN SELECT RAISE(ABORT, 'disk full'); END;");
	assert_int_equal(handle(&req, &ans, &a, id), -1);
	expect_error(&a, AL_E_STORAGE);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0);
	assert_int_equal(T.s.st.storage_errors, errs + 1);
	buf_free(&ans);
	poke("DROP TRIGGER boom;");
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	x = cert_of(&a);
	verify(x);
	X509_free(x);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n0 + 1);
	buf_free(&req);
	buf_free(&ans);
}

/* The store cannot even be read: a STORAGE error, -1. */
static void
test_lookup_fails(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];

	(void)state;
	good_request(&req, id, "lookup.example.test");
	poke("ALTER TABLE answers RENAME TO answers_away;");
	buf_init(&ans);
	assert_int_equal(signer_handle(&T.s, req.p, req.len, &ans), -1);
	poke("ALTER TABLE answers_away RENAME TO answers;");
	assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
	expect_error(&a, AL_E_STORAGE);
	buf_free(&ans);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	X509_free(cert_of(&a));
	buf_free(&req);
	buf_free(&ans);
}

/*
 * No fresh serial can be chosen (the certificates table cannot be read):
 * a STORAGE error that is not recorded; the same request is signed once
 * the database is mended.
 */
static void
test_serial_lookup_fails(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int64_t answers0 = answers_count();
	int rv;

	(void)state;
	good_request(&req, id, "serial.example.test");
	poke("ALTER TABLE certs RENAME TO certs_away;");
	rv = handle(&req, &ans, &a, id);
	poke("ALTER TABLE certs_away RENAME TO certs;");
	expect_error(&a, AL_E_STORAGE);
	assert_true(rv == 0 || rv == -1);	/* -1 by signer.h: see the BUG below */
	assert_int_equal(answers_count(), answers0);
	buf_free(&ans);
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	X509_free(cert_of(&a));
	buf_free(&req);
	buf_free(&ans);
}

/*
 * Serial numbers come from one DRBG call per SIGNER_SERIAL_DRAW of them:
 * across three refills every one is new, positive with its top bits 01,
 * and the random bytes handed out are wiped from the reserve.
 */
static void
test_serials_drawn(void **state)
{
	enum { N = 3 * SIGNER_SERIAL_DRAW + 5 };
	static uint8_t got[N][SIGNER_SERIAL_LEN];
	static const uint8_t zero[SIGNER_SERIAL_LEN];
	size_t left;
	int i, j;

	(void)state;
	for (i = 0; i < N; i++) {
		assert_int_equal(signer_serial(&T.s, "r1", got[i]), 0);
		assert_int_equal(got[i][0] & 0xc0, 0x40);
		left = T.s.serial_left;
		assert_true(left < SIGNER_SERIAL_DRAW);
		assert_memory_equal(T.s.serial_rand + left * SIGNER_SERIAL_LEN, zero,
		    SIGNER_SERIAL_LEN);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(got[i], got[j], SIGNER_SERIAL_LEN);
	}
}

#if 0
/*
 * BUG: src/signerd/signer.c:145-147 at f71faac (do_sign): when no fresh serial is
 * chosen the answer is a STORAGE error with record = 0, i.e. a retryable
 * error that was not recorded, but signer_finish() returns 0 for it and
 * signer_handle() returns 0, where include/signer.h promises -1 ("-1 when
 * the answer is a retryable storage error that was not recorded"); in a
 * batch it is not counted among the retryable answers either. The same
 * holds for AL_E_INTERNAL from ca_issue (src/signerd/signer.c:160-161). Failing
 * input: a valid SIGN while the certs table cannot be read
 * (castore_serial_used returns -1).
 */
static void
test_serial_lookup_fails_returns_retry(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];
	int rv;

	(void)state;
	good_request(&req, id, "serial2.example.test");
	poke("ALTER TABLE certs RENAME TO certs_away;");
	rv = handle(&req, &ans, &a, id);
	poke("ALTER TABLE certs_away RENAME TO certs;");
	expect_error(&a, AL_E_STORAGE);
	assert_int_equal(rv, -1);
	buf_free(&req);
	buf_free(&ans);
}
#endif

/*
 * Was a bug, fixed in msg.c: src/signerd/signer.c:106 at f71faac (signer_retry_later, the answer to all
 * storage failures: castore_begin, castore_answer or castore_commit):
 * msg_error(&m, m.reqid, AL_E_STORAGE, NULL) passes the request id out of
 * the very struct that msg_error clears first (memset(m, 0) at
 * src/wire/msg.c:446, then memcpy(m->reqid, reqid) from the zeroed bytes onto
 * themselves), so the STORAGE answer carries an all-zero request id.
 * linkd cannot file it under the request (queue_set_state on a zero id
 * changes nothing) and webdb cannot match it. Failing input: any valid
 * SIGN while the answers table cannot be read (here: renamed by a second
 * connection); the answer's reqid is 0.
 */
static void
test_lookup_fails_keeps_reqid(void **state)
{
	struct buf req, ans;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN];

	(void)state;
	good_request(&req, id, "lookup2.example.test");
	poke("ALTER TABLE answers RENAME TO answers_away;");
	buf_init(&ans);
	assert_int_equal(signer_handle(&T.s, req.p, req.len, &ans), -1);
	poke("ALTER TABLE answers_away RENAME TO answers;");
	assert_int_equal(msg_decode(ans.p, ans.len, &a), AL_OK);
	expect_error(&a, AL_E_STORAGE);
	assert_memory_equal(a.reqid, id, AIRLOCK_REQID_LEN);
	buf_free(&req);
	buf_free(&ans);
}


/*
 * After a restore (docs/protocol.md 9.8): the signer answers 502 and
 * records nothing; CATCHUP items that do not decode, are cut short, are of
 * an unknown kind or carry a certificate whose signature is not ours are
 * refused and counted; the real certificate is taken once, under its
 * request id, so the original request gets the same bytes; END resumes.
 */
static void
cu_item(struct buf *b, int kind, const void *p, size_t n)
{
	buf_put_u8(b, (uint8_t)kind);
	buf_put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}

static void
cu_send(const struct buf *items, int end, struct msg *a, struct buf *ans)
{
	static uint8_t k;
	struct buf req;
	struct msg q;

	memset(&q, 0, sizeof(q));
	q.type = MSG_CATCHUP;
	memset(q.reqid, 0xc0 + k++, sizeof(q.reqid));
	if (items != NULL) {
		q.catchup_items.p = items->p;
		q.catchup_items.len = items->len;
		MSG_SET(&q, T_CATCHUP_ITEMS);
	}
	if (end) {
		q.catchup_end = 1;
		MSG_SET(&q, T_CATCHUP_END);
	}
	buf_init(&req);
	assert_int_equal(msg_encode(&q, &req), 0);
	assert_int_equal(handle(&req, ans, a, q.reqid), 0);
	assert_int_equal(a->type, MSG_CATCHUP_STATE);
	buf_free(&req);
}

static void
test_catchup(void **state)
{
	struct buf req, req2, ans1, ans, items, forged, old;
	struct audit_check c;
	struct msg a;
	uint8_t id[AIRLOCK_REQID_LEN], id2[AIRLOCK_REQID_LEN];
	char hex[33], sql[200];
	int64_t n;
	size_t at;

	(void)state;
	good_request(&req, id, "restored.example.test");
	assert_int_equal(handle(&req, &ans1, &a, id), 0);
	X509_free(cert_of(&a));
	at = (size_t)(a.cert.p - ans1.p) + a.cert.len - 1;	/* in the signature */
	n = castore_cert_count(T.s.db, NULL);
	/* the restored ca.db is older: it has never seen that certificate */
	reqid_hex(id, hex);
	snprintf(sql, sizeof(sql), "DELETE FROM certs WHERE reqid = x'%s';"
	    "DELETE FROM answers WHERE reqid = x'%s'", hex, hex);
	poke(sql);
	T.s.restoring = 1;
	audit_restore_hold(1);
	good_request(&req2, id2, "during.example.test");
	assert_int_equal(handle(&req2, &ans, &a, id2), 0);
	expect_error(&a, AL_E_BUSY);
	buf_init(&old);
	assert_int_equal(castore_answer(T.s.db, id2, &old), 0);
	buf_free(&ans);
	cu_send(NULL, 0, &a, &ans);
	assert_int_equal(a.catchup_phase, MSG_CATCHUP_WAITING);
	buf_free(&ans);
	/* hostile items around the real one */
	buf_init(&items);
	buf_init(&forged);
	buf_put(&forged, ans1.p, ans1.len);
	forged.p[at] ^= 0x01;
	cu_item(&items, 9, "x", 1);
	cu_item(&items, 1, forged.p, forged.len);
	cu_item(&items, 1, "garbage", 7);
	cu_item(&items, 1, ans1.p, ans1.len);
	cu_item(&items, 5, "garbage", 7);	/* a CRL entry that is no REVOKED */
	cu_item(&items, 5, ans1.p, ans1.len);	/* ... a CERT as a CRL entry */
	cu_item(&items, 5, ans1.p, 9);		/* ... truncated */
	buf_put_u8(&items, 1);
	buf_put_u32(&items, 1000);	/* runs past the end */
	cu_send(&items, 0, &a, &ans);
	assert_int_equal(a.catchup_phase, MSG_CATCHUP_WAITING);
	assert_int_equal(T.s.cu.certs, 1);
	assert_int_equal(T.s.cu.revocations, 0);
	assert_int_equal(T.s.cu.refused, 7);
	assert_int_equal(castore_cert_count(T.s.db, NULL), n - 1 + 1);
	buf_free(&ans);
	cu_send(&items, 0, &a, &ans);		/* again: known now */
	assert_int_equal(T.s.cu.certs, 1);
	assert_true(T.s.cu.known >= 1);
	buf_free(&ans);
	cu_send(NULL, 1, &a, &ans);
	assert_int_equal(a.catchup_phase, MSG_CATCHUP_FINISHED);
	assert_int_equal(T.s.restoring, 0);
	buf_free(&ans);
	/* the original request gets the very same bytes; signing resumes */
	assert_int_equal(handle(&req, &ans, &a, id), 0);
	assert_int_equal(ans.len, ans1.len);
	assert_memory_equal(ans.p, ans1.p, ans1.len);
	buf_free(&ans);
	assert_int_equal(handle(&req2, &ans, &a, id2), 0);
	X509_free(cert_of(&a));
	assert_int_equal(audit_verify(T.s.db, 0, NULL, &c), 0);
	/* a signer that was not restored ignores items */
	buf_free(&ans);
	cu_send(&items, 0, &a, &ans);
	assert_int_equal(a.catchup_phase, MSG_CATCHUP_NONE);
	buf_free(&ans);
	buf_free(&req);
	buf_free(&req2);
	buf_free(&ans1);
	buf_free(&items);
	buf_free(&forged);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_good),
		cmocka_unit_test(test_validity_days),
		cmocka_unit_test(test_replay_same_answer),
		cmocka_unit_test(test_catchup),
		cmocka_unit_test(test_bad_signature_then_good),
		cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_fields_recorded),
		cmocka_unit_test(test_unsupported_not_recorded),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_time_samples),
		cmocka_unit_test(test_time_stop_offset),
		cmocka_unit_test(test_fifty_serials),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_threads),
		cmocka_unit_test(test_record_fails_then_retry),
		cmocka_unit_test(test_lookup_fails),
		cmocka_unit_test(test_serial_lookup_fails),
		cmocka_unit_test(test_serials_drawn),
		cmocka_unit_test(test_lookup_fails_keeps_reqid),
		cmocka_unit_test(test_replay_after_prune),
		cmocka_unit_test(test_audit_records),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
