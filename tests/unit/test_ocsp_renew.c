/*
 * test_ocsp_renew.c: the pieces of airlock-ocspd's certificate renewal
 * that need no spool and no signer (src/pki/ocsp_key.c, src/ocspd/renew.c):
 * a new key of the kind of the old one (RSA of its size, EC of its curve,
 * P-256 without one), a request with the configured subject, the old
 * certificate's or the fallback, subjects refused with a sentence, a
 * certificate for another key refused, and when a certificate is renewed
 * (the last third, renew_days, never before half the life of one the
 * renewal made itself, at once without one).
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

#include "ocsp.h"
#include "ocspd.h"

static char dir[] = "/tmp/test_ocsp_renew.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_key(const char *path, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

static void
test_key_like(void **state)
{
	char path[64], kind[32], why[256];
	struct buf pem;
	EVP_PKEY *k;

	(void)state;
	buf_init(&pem);
	assert_int_equal(ocsp_key_new(NULL, &pem, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_string_equal(kind, "ec:P-256");
	assert_non_null(memmem(pem.p, pem.len, "BEGIN PRIVATE KEY", 17));
	snprintf(path, sizeof(path), "%s/none.key", dir);
	assert_int_equal(ocsp_key_new(path, &pem, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_string_equal(kind, "ec:P-256");	/* no file: the default */

	snprintf(path, sizeof(path), "%s/rsa.key", dir);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	write_key(path, k);
	EVP_PKEY_free(k);
	assert_int_equal(ocsp_key_new(path, &pem, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_string_equal(kind, "rsa:2048");

	snprintf(path, sizeof(path), "%s/p384.key", dir);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	write_key(path, k);
	EVP_PKEY_free(k);
	assert_int_equal(ocsp_key_new(path, &pem, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_string_equal(kind, "ec:P-384");

	snprintf(path, sizeof(path), "%s/ed.key", dir);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	write_key(path, k);
	EVP_PKEY_free(k);
	assert_int_equal(ocsp_key_new(path, &pem, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_string_equal(kind, "ed25519");
	buf_free(&pem);
}

/* The subject of a PEM request, one line. */
static void
csr_subject(const struct buf *csr, char *out, size_t outsz)
{
	BIO *bio = BIO_new_mem_buf(csr->p, (int)csr->len);
	X509_REQ *r = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);

	assert_non_null(r);
	assert_int_equal(X509_REQ_verify(r, X509_REQ_get0_pubkey(r)), 1);
	X509_NAME_oneline(X509_REQ_get_subject_name(r), out, (int)outsz);
	X509_REQ_free(r);
	BIO_free(bio);
}

static void
test_csr_subject(void **state)
{
	char kind[32], why[256], subj[256], path[64];
	struct buf key, csr;

	(void)state;
	buf_init(&key);
	buf_init(&csr);
	assert_int_equal(ocsp_key_new(NULL, &key, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_int_equal(ocsp_csr_new(key.p, key.len, "/CN=resp\\/1/O=Example", NULL,
	    "/CN=fallback", &csr, why, sizeof(why)), 0);
	csr_subject(&csr, subj, sizeof(subj));
	assert_string_equal(subj, "/CN=resp\\/1/O=Example");	/* oneline escapes it */
	snprintf(path, sizeof(path), "%s/missing.crt", dir);
	assert_int_equal(ocsp_csr_new(key.p, key.len, "", path, "/CN=demo OCSP responder",
	    &csr, why, sizeof(why)), 0);
	csr_subject(&csr, subj, sizeof(subj));
	assert_string_equal(subj, "/CN=demo OCSP responder");
	assert_int_equal(ocsp_csr_new(key.p, key.len, "/CN=x/NOSUCH=y", NULL, "/CN=f",
	    &csr, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "expected /TYPE=value/"));
	assert_int_equal(ocsp_csr_new((const uint8_t *)"junk", 4, NULL, NULL, "/CN=f",
	    &csr, why, sizeof(why)), -1);
	assert_string_equal(why, "cannot read the new key");
	assert_int_equal(ocsp_subject_ok("/CN=ok/O=fine", why, sizeof(why)), 0);
	assert_int_equal(ocsp_subject_ok("CN=no slash", why, sizeof(why)), -1);
	assert_int_equal(ocsp_subject_ok("/CN=", why, sizeof(why)), -1);
	buf_free(&key);
	buf_free(&csr);
}

/* A certificate for one key never loads with another. */
static void
test_other_key_refused(void **state)
{
	char kind[32], why[256], path[64];
	struct ocsp_issuer *is;
	struct ocsp_signer *s = (struct ocsp_signer *)1;
	struct buf key, cert;
	int64_t until;
	EVP_PKEY *ca, *k;
	X509 *x;
	FILE *f;
	BIO *bio;
	char *p;
	long n;

	(void)state;
	/* a self-signed "CA", and a certificate it issues for key k */
	ca = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"test CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, ca);
	X509_sign(x, ca, EVP_sha256());
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	assert_non_null(f = fopen(path, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	assert_int_equal(ocsp_issuer_load(path, &is, why, sizeof(why)), 0);
	X509_set_pubkey(x, k);
	X509_sign(x, ca, EVP_sha256());
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, x);
	n = BIO_get_mem_data(bio, &p);
	buf_init(&cert);
	buf_put(&cert, p, (size_t)n);
	BIO_free(bio);
	/* a new key of ours: the certificate is someone else's */
	buf_init(&key);
	assert_int_equal(ocsp_key_new(NULL, &key, kind, sizeof(kind), why, sizeof(why)), 0);
	assert_int_equal(ocsp_signer_load_mem(is, key.p, key.len, cert.p, cert.len,
	    time(NULL), &s, &until, why, sizeof(why)), -1);
	assert_null(s);
	assert_string_equal(why, "the responder certificate does not match its key");
	assert_int_equal(ocsp_signer_load_mem(is, key.p, key.len, (const uint8_t *)"x", 1,
	    time(NULL), &s, &until, why, sizeof(why)), -1);
	assert_string_equal(why, "not a certificate");
	buf_free(&key);
	buf_free(&cert);
	ocsp_issuer_free(is);
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ca);
}

static void
test_renew_at(void **state)
{
	static struct cfg c;
	static struct ocspd o;
	struct ocspd_root *r = &o.roots[0];
	struct ocspd_pair *conf = &r->pair[OCSPD_CONF], *ren = &r->pair[OCSPD_RENEWED];
	const int64_t day = 86400, t0 = 1700000000;

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	o.c = &c;
	assert_int_equal(ocspd_renew_at(&o, r), 0);	/* none valid: now */
	conf->signer = (struct ocsp_signer *)1;		/* loaded: never used here */
	conf->not_before = t0;
	conf->not_after = t0 + 30 * day;
	assert_int_equal(ocspd_renew_at(&o, r), t0 + 20 * day);	/* the last third */
	c.ocsp.renew_days = 14;
	assert_int_equal(ocspd_renew_at(&o, r), t0 + 16 * day);	/* renew_days first */
	c.ocsp.renew_days = 2;
	conf->not_after = t0 + day;
	assert_int_equal(ocspd_renew_at(&o, r), t0 - day);	/* in the window at once */
	/* one the renewal made: never before half its life */
	c.ocsp.renew_days = 60;
	ren->signer = (struct ocsp_signer *)1;
	ren->not_before = t0;
	ren->not_after = t0 + 30 * day;
	assert_int_equal(ocspd_renew_at(&o, r), t0 + 15 * day);
	/* a renewed one that is not in use (the first lasts longer) counts:
	 * 90 days with renew_days 60 gives t0 + 30; the renewed one, t0 + 15 */
	conf->not_after = t0 + 90 * day;
	assert_int_equal(ocspd_renew_at(&o, r), t0 + 30 * day);
	ren->not_after = t0 + 80 * day;	/* half of 80 days: t0 + 40 */
	assert_int_equal(ocspd_renew_at(&o, r), t0 + 40 * day);
	conf->signer = ren->signer = NULL;
	assert_string_equal(ocspd_renew_state_name(RENEW_WAITING), "waiting");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_like),
		cmocka_unit_test(test_csr_subject),
		cmocka_unit_test(test_other_key_refused),
		cmocka_unit_test(test_renew_at),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
