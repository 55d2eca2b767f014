/*
 * test_scale.c: what lets one signer hold a million certificates:
 *  - ca_cert_scan (src/ca/ca_scan.c) tells the same as ca_cert_info about
 *    certificates in DER and in PEM after openssl ca's text, and refuses
 *    what ca_cert_info refuses: another issuer's signature, a changed
 *    byte, trailing bytes, another issuer name, an inner signature
 *    algorithm that differs from the outer one;
 *  - the schema step "counts" (src/ca/castore.c): a ca.db made before it
 *    gets cert_counts filled from its rows on the first writer's open, and
 *    issued, revoked, valid and expired stay equal to a count of the rows
 *    through inserts (a signed certificate, castore_record, and an imported
 *    revoked one, castore_import_chunk: counted by the code that inserts,
 *    the step "counts-insert" having dropped the insert trigger), and
 *    revocations, un-revocations and deletes (the triggers);
 *    a reader on a ca.db without the step counts rows;
 *  - castore_each_recent lists the newest first, at most max.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "ca.h"
#include "castore.h"
#include "db.h"
#include "util.h"

static char tmp[64];

static X509 *
make_cert(EVP_PKEY *signer, const char *issuer_cn, EVP_PKEY *subject_key,
    const char *cn, long serial, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n;
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 30);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Scale Test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	n = X509_get_issuer_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)issuer_cn, -1, -1, 0);
	X509_set_pubkey(x, subject_key);
	if (ca) {
		X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
		    "critical,CA:TRUE");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	assert_true(X509_sign(x, signer, EVP_sha256()) > 0);
	return x;
}

static void
der_of(X509 *x, struct buf *b)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	assert_true(n > 0);
	buf_init(b);
	assert_int_equal(buf_put(b, p, (size_t)n), 0);
	OPENSSL_free(p);
}

static void
same_info(const struct ca_certinfo *a, const struct ca_certinfo *b)
{
	assert_int_equal(a->serial_len, b->serial_len);
	assert_memory_equal(a->serial, b->serial, a->serial_len);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_string_equal(a->not_after_text, b->not_after_text);
	assert_string_equal(a->subject, b->subject);
	assert_string_equal(a->subject_oneline, b->subject_oneline);
	assert_int_equal(a->der.len, b->der.len);
	assert_memory_equal(a->der.p, b->der.p, a->der.len);
}

static void
test_cert_scan(void **state)
{
	EVP_PKEY *cakey = EVP_RSA_gen(2048), *other = EVP_EC_gen("P-256"),
	    *leaf = EVP_EC_gen("P-256");
	X509 *cacert, *x, *y, *z;
	struct ca_certinfo a, b;
	struct buf der, bad;
	struct ca *ca;
	char path[128], why[256];
	FILE *f;
	BIO *mem;
	char *pem;
	long pemlen;

	(void)state;
	assert_non_null(cakey);
	assert_non_null(other);
	cacert = make_cert(cakey, "Scale Root", cakey, "Scale Root", 1, 1);
	/* the CA certificate's subject is O=..,CN=..; the issuer names of
	 * the leaves must be the same: build them from it */
	x = make_cert(cakey, "x", leaf, "host1.example", 4096, 0);
	X509_set_issuer_name(x, X509_get_subject_name(cacert));
	assert_true(X509_sign(x, cakey, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/ca.crt", tmp);
	assert_non_null(f = fopen(path, "w"));
	assert_true(PEM_write_X509(f, cacert));
	fclose(f);
	snprintf(path, sizeof(path), "%s/chain.pem", tmp);
	assert_non_null(f = fopen(path, "w"));
	fclose(f);
	assert_int_equal(ca_load_public(tmp, &ca, why, sizeof(why)), 0);

	/* DER: the same as ca_cert_info */
	der_of(x, &der);
	assert_int_equal(ca_cert_info(der.p, der.len, ca, &a, why, sizeof(why)), 0);
	assert_int_equal(ca_cert_scan(der.p, der.len, ca, &b, why, sizeof(why)), 0);
	same_info(&a, &b);
	ca_certinfo_free(&b);
	/* PEM after the text openssl ca writes before it */
	assert_non_null(mem = BIO_new(BIO_s_mem()));
	BIO_puts(mem, "Certificate:\n    Data:\n        Version: 3 (0x2)\n");
	assert_true(PEM_write_bio_X509(mem, x));
	pemlen = BIO_get_mem_data(mem, &pem);
	assert_int_equal(ca_cert_scan((const uint8_t *)pem, (size_t)pemlen, ca,
	    &b, why, sizeof(why)), 0);
	same_info(&a, &b);
	ca_certinfo_free(&b);
	BIO_free(mem);
	ca_certinfo_free(&a);

	/* a changed byte in tbsCertificate (in the subject's CN) */
	buf_init(&bad);
	buf_put(&bad, der.p, der.len);
	{
		uint8_t *h = memmem(bad.p, bad.len, "host1", 5);

		assert_non_null(h);
		h[4] = '2';
	}
	assert_int_equal(ca_cert_scan(bad.p, bad.len, ca, &b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not issued by this root"));
	assert_int_equal(ca_cert_info(bad.p, bad.len, ca, &a, why, sizeof(why)), -1);
	/* trailing bytes */
	buf_reset(&bad);
	buf_put(&bad, der.p, der.len);
	buf_put_u8(&bad, 0);
	assert_int_equal(ca_cert_scan(bad.p, bad.len, ca, &b, why, sizeof(why)), -1);
	assert_int_equal(ca_cert_scan(der.p, der.len - 1, ca, &b, why, sizeof(why)), -1);
	/* the same issuer name, another key */
	y = make_cert(other, "x", leaf, "host3.example", 4098, 0);
	X509_set_issuer_name(y, X509_get_subject_name(cacert));
	assert_true(X509_sign(y, other, EVP_sha256()) > 0);
	buf_free(&bad);
	der_of(y, &bad);
	assert_int_equal(ca_cert_scan(bad.p, bad.len, ca, &b, why, sizeof(why)), -1);
	assert_int_equal(ca_cert_info(bad.p, bad.len, ca, &a, why, sizeof(why)), -1);
	/* without an issuer it is described, not checked */
	assert_int_equal(ca_cert_scan(bad.p, bad.len, NULL, &b, why, sizeof(why)), 0);
	ca_certinfo_free(&b);
	/* the right key, another issuer name */
	z = make_cert(cakey, "Some Other Root", leaf, "host4.example", 4099, 0);
	buf_free(&bad);
	der_of(z, &bad);
	assert_int_equal(ca_cert_scan(bad.p, bad.len, ca, &b, why, sizeof(why)), -1);
	/* not a certificate */
	assert_int_equal(ca_cert_scan((const uint8_t *)"hello", 5, ca, &b, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not a certificate"));
	buf_free(&bad);
	buf_free(&der);
	X509_free(x);
	X509_free(y);
	X509_free(z);
	X509_free(cacert);
	ca_free(ca);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(other);
	EVP_PKEY_free(leaf);
}

/* The counts of root by a walk through its rows. */
static void
brute(const char *path, const char *root, time_t now, struct castore_counts *c)
{
	sqlite3 *h;
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*),"
	    " count(revoked), coalesce(sum(revoked IS NULL AND not_after >= ?2), 0)"
	    " FROM certs NOT INDEXED WHERE root = ?1", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	c->issued = sqlite3_column_int64(st, 0);
	c->revoked = sqlite3_column_int64(st, 1);
	c->valid = sqlite3_column_int64(st, 2);
	c->expired = c->issued - c->revoked - c->valid;
	sqlite3_finalize(st);
	sqlite3_close(h);
}

static void
counts_agree(struct db *d, const char *path, time_t now)
{
	static const char *const roots[] = { "a", "b", "none" };
	struct castore_counts x, y;
	size_t i;
	int64_t all = 0;

	for (i = 0; i < 3; i++) {
		assert_int_equal(castore_root_counts(d, roots[i], now, &x), 0);
		brute(path, roots[i], now, &y);
		assert_int_equal(x.issued, y.issued);
		assert_int_equal(x.revoked, y.revoked);
		assert_int_equal(x.valid, y.valid);
		assert_int_equal(x.expired, y.expired);
		assert_int_equal(castore_cert_count(d, roots[i]), y.issued);
		all += y.issued;
	}
	assert_int_equal(castore_cert_count(d, NULL), all);
}

static void
exec(const char *path, const char *sql)
{
	sqlite3 *h;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(h);
}

static int64_t
one_int(const char *path, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static int
newest(void *arg, const struct castore_row *r)
{
	int64_t *seen = arg;

	seen[++seen[0]] = r->not_before;
	return 0;
}

static void
test_counts_step(void **state)
{
	char path[128], sql[512];
	time_t now = time(NULL);
	struct db *d;
	int64_t seen[8];
	int i;
	static const uint8_t s9999[] = { 0x99, 0x99 }, s01[] = { 0x01 },
	    der[] = { 0x30 }, one[] = { 0x01 };
	uint8_t reqid[AIRLOCK_REQID_LEN];
	const struct castore_cert signed_c = { "a", s9999, sizeof(s9999), reqid,
	    1, 2, "CN=y", der, sizeof(der), 0 };
	const struct castore_row imported = { s01, sizeof(s01), der, sizeof(der),
	    1, 9999999999, "CN=z", 1700000001, 1, 0 };
	size_t conflict;

	(void)state;
	memset(reqid, 0x5c, sizeof(reqid));
	snprintf(path, sizeof(path), "%s/old-ca.db", tmp);
	unlink(path);
	/* ca.db as main made it: certs without the counts */
	exec(path, "CREATE TABLE certs (root TEXT NOT NULL, serial BLOB NOT NULL,"
	    " reqid BLOB UNIQUE, not_before INTEGER NOT NULL, not_after INTEGER"
	    " NOT NULL, subject TEXT NOT NULL, der BLOB NOT NULL, revoked INTEGER,"
	    " reason INTEGER, invalidity INTEGER, PRIMARY KEY (root, serial));");
	for (i = 1; i <= 300; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO certs VALUES ('%s', x'%04x',"
		    " NULL, %lld, %lld, 'CN=x', x'30', %s, NULL, NULL)",
		    i % 3 ? "a" : "b", i, (long long)now - 1000 + i,
		    (long long)now + (i % 2 ? 86400 : -86400),
		    i % 7 ? "NULL" : "1700000000");
		exec(path, sql);
	}
	/* a reader before the step: rows counted */
	assert_int_equal(castore_open(path, DB_RO, &d), 0);
	assert_int_equal(castore_has_counts(d), 0);
	counts_agree(d, path, now);
	db_close(d);
	/* the first writer makes the step, from the rows */
	assert_int_equal(castore_open(path, 0, &d), 0);
	assert_int_equal(castore_has_counts(d), 1);
	counts_agree(d, path, now);
	db_close(d);
	/* kept by the code that inserts: a certificate signed, one imported
	 * (revoked, of a root without certificates so far) */
	assert_int_equal(castore_open(path, 0, &d), 0);
	assert_int_equal(castore_record(d, reqid, 1, "a", 0, one, 1, &signed_c), 0);
	assert_int_equal(castore_import_start(d, "none", "old", 1), 0);
	assert_int_equal(castore_import_chunk(d, "none", "old", &imported, 1, 1,
	    &conflict), 0);
	db_close(d);
	assert_int_equal(one_int(path, "SELECT count(*) FROM sqlite_master WHERE"
	    " type = 'trigger' AND name = 'cert_counts_insert'"), 0);
	/* and by the triggers */
	exec(path, "UPDATE certs SET revoked = 1700000002 WHERE serial = x'0005';"
	    "UPDATE certs SET revoked = NULL WHERE serial = x'0007';"
	    "UPDATE certs SET revoked = 1700000003 WHERE serial = x'000e';"
	    "DELETE FROM certs WHERE serial IN (x'0003', x'0015', x'0008');");
	assert_int_equal(castore_open(path, 0, &d), 0);
	counts_agree(d, path, now);
	/* the step is made once: a second writer leaves it */
	assert_int_equal(castore_has_counts(d), 1);
	/* newest first, at most max */
	seen[0] = 0;
	assert_int_equal(castore_each_recent(d, "b", 0, 3, newest, seen), 0);
	assert_int_equal(seen[0], 3);
	assert_int_equal(seen[1], (int64_t)now - 1000 + 300);
	assert_int_equal(seen[2], (int64_t)now - 1000 + 297);
	assert_int_equal(castore_count_since(d, "b", 0), castore_cert_count(d, "b"));
	assert_int_equal(castore_count_since(d, "b", (int64_t)now - 1000 + 295), 2);
	db_close(d);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_scale.XXXXXX");
	return mkdtemp(tmp) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_scan),
		cmocka_unit_test(test_counts_step),
	};

	log_init("test_scale", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
