/*
 * test_ca.c: the X.509 engine against real keys. A group setup makes a
 * throwaway estate under /tmp (an RSA-2048 root and an EC P-384 subroot
 * with an encrypted key); requests are built here with the OpenSSL API,
 * good ones are issued and verified with X509_verify_cert, bad ones must
 * give their exact error code. Only RSA-2048 and EC keys, to stay fast.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>


#include "airlock.h"
#include "ca.h"
#include "crypto.h"
#include "msg.h"
#include "util.h"
#include "rmtree.h"

#define SUB_PASS	"sub secret passphrase"
#define DAY		86400

static struct {
	char		 tmp[64];		/* mkdtemp */
	char		 root_dir[PATH_MAX];	/* RSA-2048, self-signed */
	char		 sub_dir[PATH_MAX];	/* EC P-384, under root, encrypted key */
	char		 sub_pass[PATH_MAX];	/* pass_file for sub */
	struct ca	*root;
	struct ca	*sub;
	EVP_PKEY	*p256;			/* requester keys */
	EVP_PKEY	*rsa2048;
	time_t		 now;
} T;

static const uint8_t serial16[16] = {
	0x4a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

/* --- helpers --- */

static void
tpath(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", T.tmp, name);
}

static void
dpath(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
copy_file(const char *from, const char *to)
{
	struct buf b;

	buf_init(&b);
	assert_int_equal(read_file(from, &b, 1 << 20), 0);
	assert_int_equal(write_file_atomic(to, b.p, b.len, 0600), 0);
	buf_free(&b);
}

static void
fill_root(struct cfg_root *r, const char *name, const char *dir,
    const char *pass_file)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->pass_file, sizeof(r->pass_file), "%s", pass_file);
}

static void
fill_profile(struct cfg_profile *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "tls");
	p->max_days = 397;
	p->default_days = 90;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE | CFG_KU_KEY_ENCIPHERMENT;
	p->ext_key_usage = CFG_EKU_SERVER | CFG_EKU_CLIENT;
	p->pathlen = -1;
	p->san_types = SAN_DNS | SAN_IP;
	snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.example.test/sub.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.example.test/");
	snprintf(p->issuer_url, sizeof(p->issuer_url), "http://ca.example.test/sub.crt");
	snprintf(p->policy_oid, sizeof(p->policy_oid), "1.3.6.1.4.1.55555.1.1");
}

static void
fill_params(struct ca_root_params *rp, const char *dir, const char *subject,
    const char *key_type, uint32_t days)
{
	memset(rp, 0, sizeof(*rp));
	rp->dir = dir;
	rp->subject = subject;
	rp->key_type = key_type;
	rp->days = days;
	rp->pathlen = -1;
}

static EVP_PKEY *
rsa_key(int bits, unsigned long e)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	BIGNUM *bn = BN_new();

	assert_non_null(ctx);
	assert_non_null(bn);
	assert_int_equal(BN_set_word(bn, e), 1);
	assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits), 1);
	assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn), 1);
	assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
	BN_free(bn);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static EVP_PKEY *
ec_key(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	assert_non_null(k);
	return k;
}

static X509_EXTENSION *
san_conf(const char *conf)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
	    conf);

	assert_non_null(e);
	return e;
}

static X509_EXTENSION *
san_ip_raw(const uint8_t *ip, int len)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *e;

	assert_non_null(gens);
	assert_non_null(gn);
	assert_non_null(os);
	assert_int_equal(ASN1_OCTET_STRING_set(os, ip, len), 1);
	GENERAL_NAME_set0_value(gn, GEN_IPADD, os);
	assert_int_not_equal(sk_GENERAL_NAME_push(gens, gn), 0);
	e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	assert_non_null(e);
	GENERAL_NAMES_free(gens);
	return e;
}

/*
 * attrs: name, value pairs, NULL-terminated. A name starting with '!' is
 * stored raw as a UTF8String, bypassing OpenSSL's own checks. san is
 * consumed.
 */
static X509_REQ *
make_req(EVP_PKEY *key, const EVP_MD *md, const char *const *attrs,
    X509_EXTENSION *san)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n;
	STACK_OF(X509_EXTENSION) *exts;
	const char *name;
	int i, type;

	assert_non_null(r);
	n = X509_REQ_get_subject_name(r);
	for (i = 0; attrs != NULL && attrs[i] != NULL; i += 2) {
		name = attrs[i];
		type = MBSTRING_UTF8;
		if (name[0] == '!')
			name++, type = V_ASN1_UTF8STRING;
		assert_int_equal(X509_NAME_add_entry_by_txt(n, name, type,
		    (const unsigned char *)attrs[i + 1], -1, -1, 0), 1);
	}
	assert_int_equal(X509_REQ_set_pubkey(r, key), 1);
	if (san != NULL) {
		exts = sk_X509_EXTENSION_new_null();
		assert_non_null(exts);
		assert_int_not_equal(sk_X509_EXTENSION_push(exts, san), 0);
		assert_int_equal(X509_REQ_add_extensions(r, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	assert_true(X509_REQ_sign(r, key, md) > 0);
	return r;
}

static void
req_der(X509_REQ *r, struct buf *b)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(r, &der);

	assert_true(n > 0);
	buf_init(b);
	assert_int_equal(buf_put(b, der, (size_t)n), 0);
	OPENSSL_free(der);
}

static void
req_pem(X509_REQ *r, int new_label, struct buf *b)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *bm;

	assert_non_null(bio);
	assert_int_equal(new_label ? PEM_write_bio_X509_REQ_NEW(bio, r) :
	    PEM_write_bio_X509_REQ(bio, r), 1);
	BIO_get_mem_ptr(bio, &bm);
	buf_init(b);
	assert_int_equal(buf_put(b, bm->data, bm->length), 0);
	BIO_free(bio);
}

/* Builds, encodes as DER and frees a request in one go. */
static void
der_of(EVP_PKEY *key, const EVP_MD *md, const char *const *attrs,
    X509_EXTENSION *san, struct buf *b)
{
	X509_REQ *r = make_req(key, md, attrs, san);

	req_der(r, b);
	X509_REQ_free(r);
}

static void
fill_req(struct ca_request *rq, const struct buf *b, int format, uint32_t days)
{
	memset(rq, 0, sizeof(*rq));
	rq->csr = b->p;
	rq->csr_len = b->len;
	rq->format = format;
	rq->days = days;
	rq->now = T.now;
}

/* ca_check_request, then ca_issue must agree; returns the code. */
static int
check_both(struct ca *ca, const struct cfg_profile *p, const struct buf *b,
    int format, uint32_t days, char *why, size_t whysz)
{
	struct ca_request rq;
	struct ca_issued out;
	int rc1, rc2;

	fill_req(&rq, b, format, days);
	rc1 = ca_check_request(ca, p, &rq, why, whysz);
	memset(&out, 0xa5, sizeof(out));
	rc2 = ca_issue(ca, p, &rq, serial16, sizeof(serial16), &out, why, whysz);
	assert_int_equal(rc1, rc2);
	if (rc2 != AL_OK) {
		assert_null(out.der.p);
		assert_int_equal(out.der.len, 0);
		assert_true(why[0] != '\0');
	}
	buf_free(&out.der);
	return rc2;
}

/*
 * An issued certificate, parsed. ca_issue assembles the DER around the TBS
 * it signed (ca_sign_der): OpenSSL must encode it back byte for byte (DER,
 * no stray length forms), and the TBS must name the outer signature
 * algorithm (RFC 5280 4.1.1.2).
 */
static X509 *
cert_of(const struct buf *b)
{
	const unsigned char *p = b->p;
	X509 *x = d2i_X509(NULL, &p, (long)b->len);
	const X509_ALGOR *outer;
	unsigned char *der = NULL;

	assert_non_null(x);
	assert_ptr_equal(p, b->p + b->len);
	X509_get0_signature(NULL, &outer, x);
	assert_int_equal(X509_ALGOR_cmp(outer, X509_get0_tbs_sigalg(x)), 0);
	assert_int_equal(i2d_re_X509_tbs(x, &der) > 0, 1);	/* re-encode */
	OPENSSL_free(der);
	der = NULL;
	assert_int_equal(i2d_X509(x, &der), (int)b->len);
	assert_memory_equal(der, b->p, b->len);
	OPENSSL_free(der);
	return x;
}

/* Splits ca_chain_der() back into certificates. */
static STACK_OF(X509) *
chain_of(const struct ca *ca)
{
	const struct buf *b = ca_chain_der(ca);
	const unsigned char *p = b->p, *end = b->p + b->len;
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509 *x;

	assert_non_null(sk);
	while (p < end) {
		x = d2i_X509(NULL, &p, (long)(end - p));
		assert_non_null(x);
		assert_int_not_equal(sk_X509_push(sk, x), 0);
	}
	return sk;
}

static int
verify_with(X509 *leaf, STACK_OF(X509) *chain, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int i, n = sk_X509_num(chain), ok;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	/* the last certificate is the trust anchor, the others are untrusted */
	assert_int_equal(X509_STORE_add_cert(store, sk_X509_value(chain, n - 1)), 1);
	for (i = 0; i < n - 1; i++)
		assert_int_not_equal(sk_X509_push(untrusted, sk_X509_value(chain, i)), 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	X509_STORE_CTX_set_time(ctx, 0, T.now + 60);
	if (purpose)
		assert_int_equal(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		print_message("verify: %s\n", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	return ok;
}

static int
ext_critical(X509 *x, int nid)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	assert_true(idx >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, idx));
}

/* --- fixtures --- */

static int
group_setup(void **state)
{
	struct ca_root_params rp;
	struct cfg_root r;
	char why[512];

	(void)state;
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/test_ca.XXXXXX");
	if (mkdtemp(T.tmp) == NULL)
		return -1;
	tpath(T.root_dir, "root");
	tpath(T.sub_dir, "sub");
	tpath(T.sub_pass, "sub.pass");
	T.now = time(NULL);

	fill_params(&rp, T.root_dir, "/CN=Test Root/O=Airlock Test/C=DE",
	    "rsa:2048", 3650);
	rp.pathlen = 1;
	if (ca_root_init(&rp, why, sizeof(why)) != 0) {
		print_error("root: %s\n", why);
		return -1;
	}
	fill_params(&rp, T.sub_dir, "/CN=Test Sub/O=Airlock Test", "ec:P-384",
	    1825);
	rp.parent_dir = T.root_dir;
	rp.pass = SUB_PASS;
	rp.pathlen = 0;
	if (ca_root_init(&rp, why, sizeof(why)) != 0) {
		print_error("sub: %s\n", why);
		return -1;
	}
	write_text(T.sub_pass, SUB_PASS "\n");
	fill_root(&r, "root", T.root_dir, "");
	if (ca_load(&r, &T.root, why, sizeof(why)) != 0) {
		print_error("load root: %s\n", why);
		return -1;
	}
	fill_root(&r, "sub", T.sub_dir, T.sub_pass);
	if (ca_load(&r, &T.sub, why, sizeof(why)) != 0) {
		print_error("load sub: %s\n", why);
		return -1;
	}
	T.p256 = ec_key("P-256");
	T.rsa2048 = rsa_key(2048, 65537);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	ca_free(T.root);
	ca_free(T.sub);
	EVP_PKEY_free(T.p256);
	EVP_PKEY_free(T.rsa2048);
	if (T.tmp[0] != '\0')
		rmtree(T.tmp);
	return 0;
}

static const char *const good_attrs[] = {
	"CN", "www.example.test", "O", "Example", "C", "DE", NULL,
};

/* --- CA directories --- */

static void
test_root_layout(void **state)
{
	char path[PATH_MAX];
	struct stat st;
	struct buf b;

	(void)state;
	dpath(path, T.root_dir, "ca.key");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_init(&b);
	assert_int_equal(read_file(path, &b, 1 << 20), 0);
	assert_non_null(memmem(b.p, b.len, "-----BEGIN PRIVATE KEY-----", 27));
	dpath(path, T.sub_dir, "ca.key");
	assert_int_equal(read_file(path, &b, 1 << 20), 0);
	assert_non_null(memmem(b.p, b.len, "BEGIN ENCRYPTED PRIVATE KEY", 27));
	/* a self-signed root has an empty chain.pem */
	dpath(path, T.root_dir, "chain.pem");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	dpath(path, T.sub_dir, "chain.pem");
	assert_int_equal(read_file(path, &b, 1 << 20), 0);
	assert_non_null(memmem(b.p, b.len, "BEGIN CERTIFICATE", 17));
	buf_free(&b);
}

static void
test_root_certs(void **state)
{
	STACK_OF(X509) *rc = chain_of(T.root), *sc = chain_of(T.sub);
	X509 *root, *sub;

	(void)state;
	assert_int_equal(sk_X509_num(rc), 1);
	assert_int_equal(sk_X509_num(sc), 2);
	root = sk_X509_value(rc, 0);
	sub = sk_X509_value(sc, 0);
	/* the subroot's chain is its own certificate, then the root */
	assert_int_equal(X509_cmp(sk_X509_value(sc, 1), root), 0);
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	assert_int_equal(X509_check_issued(root, sub), X509_V_OK);
	assert_int_equal(X509_get_version(root), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(root), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_get_signature_nid(sub), NID_sha256WithRSAEncryption);
	assert_true(X509_get_extension_flags(root) & EXFLAG_CA);
	assert_true(X509_get_extension_flags(sub) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(root), 1);
	assert_int_equal(X509_get_pathlen(sub), 0);
	assert_int_equal(X509_get_key_usage(sub),
	    X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN);
	assert_int_equal(ext_critical(sub, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(sub, NID_key_usage), 1);
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(sub),
	    X509_get0_subject_key_id(root)), 0);
	assert_int_equal(verify_with(sub, rc, 0), 1);
	assert_true(ca_not_after(T.sub) - (T.now + 1825 * DAY) < 120);
	assert_true(ca_not_after(T.root) > ca_not_after(T.sub));
	sk_X509_pop_free(rc, X509_free);
	sk_X509_pop_free(sc, X509_free);
}

static void
test_root_serial(void **state)
{
	STACK_OF(X509) *sc = chain_of(T.sub);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(
	    sk_X509_value(sc, 0)), NULL);

	(void)state;
	assert_non_null(bn);
	/* 16 random bytes, top bit clear: a positive 127-bit number */
	assert_int_equal(BN_num_bits(bn), 127);
	assert_int_equal(BN_is_negative(bn), 0);
	BN_free(bn);
	sk_X509_pop_free(sc, X509_free);
}

static void
test_root_init_refuses_nonempty(void **state)
{
	struct ca_root_params rp;
	struct cfg_root r;
	struct ca *ca;
	char why[512];

	(void)state;
	fill_params(&rp, T.root_dir, "/CN=Again", "ec:P-256", 100);
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, T.root_dir));
	assert_non_null(strstr(why, "not empty"));
	/* and left the existing CA alone */
	fill_root(&r, "root", T.root_dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), 0);
	ca_free(ca);
}

static void
test_root_init_bad_params(void **state)
{
	struct ca_root_params rp;
	char dir[PATH_MAX], why[512];
	struct stat st;

	(void)state;
	tpath(dir, "badkey");
	fill_params(&rp, dir, "/CN=X", "dsa:1024", 100);
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "dsa:1024"));
	/* the directory it made is gone again */
	assert_int_equal(stat(dir, &st), -1);
	assert_int_equal(errno, ENOENT);

	fill_params(&rp, dir, "CN=no-slash", "ec:P-256", 100);
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "subject"));
	assert_int_equal(stat(dir, &st), -1);

	/* a subroot may not outlive its parent */
	fill_params(&rp, dir, "/CN=Too Long", "ec:P-256", 3651 + 10);
	rp.parent_dir = T.root_dir;
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "outlive"));
	assert_int_equal(stat(dir, &st), -1);

	/* the parent's key needs its passphrase */
	fill_params(&rp, dir, "/CN=Under Sub", "ec:P-256", 30);
	rp.parent_dir = T.sub_dir;
	rp.parent_pass = "not the passphrase";
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ca.key"));
	assert_non_null(strstr(why, "wrong passphrase"));
	assert_int_equal(stat(dir, &st), -1);
}

/* Ed25519 root in an existing empty directory; issues with no digest. */
static void
test_root_ed25519(void **state)
{
	struct ca_root_params rp;
	struct cfg_profile p;
	struct cfg_root r;
	struct ca_request rq;
	struct ca_issued out;
	struct buf csr;
	STACK_OF(X509) *chain;
	struct ca *ca;
	char dir[PATH_MAX], why[512];
	X509 *x;

	(void)state;
	tpath(dir, "ed");
	assert_int_equal(mkdir(dir, 0700), 0);
	fill_params(&rp, dir, "/CN=Ed Root/O=Airlock Test", "ed25519", 365);
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), 0);
	fill_root(&r, "ed", dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), 0);

	fill_profile(&p);
	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 30);
	assert_int_equal(ca_issue(ca, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	x = cert_of(&out.der);
	assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
	chain = chain_of(ca);
	assert_int_equal(verify_with(x, chain, X509_PURPOSE_SSL_SERVER), 1);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	buf_free(&out.der);
	buf_free(&csr);
	ca_free(ca);
}

/* --- loading --- */

static void
test_load_wrong_pass(void **state)
{
	struct cfg_root r;
	struct ca *ca = (struct ca *)1;
	char pf[PATH_MAX], keypath[PATH_MAX], why[512];

	(void)state;
	tpath(pf, "wrong.pass");
	write_text(pf, "this is not it\n");
	dpath(keypath, T.sub_dir, "ca.key");
	fill_root(&r, "sub", T.sub_dir, pf);
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_null(ca);
	assert_non_null(strstr(why, keypath));
	assert_non_null(strstr(why, "wrong passphrase"));
}

static void
test_load_no_pass(void **state)
{
	struct cfg_root r;
	struct ca *ca;
	char pf[PATH_MAX], why[512];

	(void)state;
	fill_root(&r, "sub", T.sub_dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ca.key"));
	assert_non_null(strstr(why, "no passphrase"));

	tpath(pf, "missing.pass");
	fill_root(&r, "sub", T.sub_dir, pf);
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, pf));
}

static void
test_load_missing_and_mismatch(void **state)
{
	struct cfg_root r;
	struct ca *ca;
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX], why[512];

	(void)state;
	tpath(dir, "nothere");
	fill_root(&r, "x", dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "ca.crt"));

	/* root's certificate with sub's key */
	tpath(dir, "mismatch");
	assert_int_equal(mkdir(dir, 0700), 0);
	dpath(from, T.root_dir, "ca.crt");
	dpath(to, dir, "ca.crt");
	copy_file(from, to);
	dpath(from, T.sub_dir, "ca.key");
	dpath(to, dir, "ca.key");
	copy_file(from, to);
	fill_root(&r, "x", dir, T.sub_pass);
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "does not match"));
	assert_null(ca);
}

static void
test_load_chain_variants(void **state)
{
	struct cfg_root r;
	struct ca *ca;
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX], why[512];
	const struct buf *a, *b;

	(void)state;
	/* no chain.pem at all: fine, the chain is just ca.crt */
	tpath(dir, "nochain");
	assert_int_equal(mkdir(dir, 0700), 0);
	dpath(from, T.root_dir, "ca.crt");
	dpath(to, dir, "ca.crt");
	copy_file(from, to);
	dpath(from, T.root_dir, "ca.key");
	dpath(to, dir, "ca.key");
	copy_file(from, to);
	fill_root(&r, "x", dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), 0);
	a = ca_chain_der(ca);
	b = ca_chain_der(T.root);
	assert_int_equal(a->len, b->len);
	assert_memory_equal(a->p, b->p, a->len);
	ca_free(ca);

	/* a chain.pem that is not PEM certificates */
	dpath(to, dir, "chain.pem");
	write_text(to, "-----BEGIN CERTIFICATE-----\nnot base64 !!\n"
	    "-----END CERTIFICATE-----\n");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "chain.pem"));
	unlink(to);

	/* a key.uri that is not a pkcs11 URI (the engine is never reached) */
	dpath(to, dir, "key.uri");
	write_text(to, "file:///etc/passwd\n");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "key.uri"));
	assert_non_null(strstr(why, "pkcs11:"));
	unlink(to);
}

/* --- issuing --- */

static void
test_issue_p256(void **state)
{
	struct cfg_profile p;
	struct ca_request rq;
	struct ca_issued out;
	struct buf csr;
	STACK_OF(X509) *chain;
	STACK_OF(X509) *subc;
	GENERAL_NAMES *gens;
	BIGNUM *bn;
	uint8_t sbuf[32];
	char why[512];
	X509 *x;
	int crit;

	(void)state;
	fill_profile(&p);
	der_of(T.p256, EVP_sha256(), good_attrs,
	    san_conf("DNS:www.example.test,DNS:*.example.test,IP:192.0.2.1"),
	    &csr);
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 90);
	assert_int_equal(ca_check_request(T.sub, &p, &rq, why, sizeof(why)),
	    AL_OK);
	assert_int_equal(ca_issue(T.sub, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	x = cert_of(&out.der);

	chain = chain_of(T.sub);
	assert_int_equal(verify_with(x, chain, X509_PURPOSE_SSL_SERVER), 1);
	assert_int_equal(verify_with(x, chain, X509_PURPOSE_SSL_CLIENT), 1);
	subc = chain;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(sk_X509_value(subc, 0))), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), T.p256), 1);
	assert_string_equal(out.subject, "C=DE,O=Example,CN=www.example.test");

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(bn);
	assert_int_equal(BN_bn2bin(bn, sbuf), sizeof(serial16));
	assert_memory_equal(sbuf, serial16, sizeof(serial16));
	BN_free(bn);

	assert_int_equal(out.not_before, T.now);
	assert_int_equal(out.not_after, T.now + 90 * DAY);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), T.now), 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(x),
	    T.now + 90 * DAY), 0);

	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(ext_critical(x, NID_basic_constraints), 1);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_key_usage(x),
	    X509v3_KU_DIGITAL_SIGNATURE | X509v3_KU_KEY_ENCIPHERMENT);
	assert_int_equal(ext_critical(x, NID_ext_key_usage), 0);
	assert_int_equal(X509_get_extended_key_usage(x),
	    XKU_SSL_SERVER | XKU_SSL_CLIENT);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
	    X509_get0_subject_key_id(sk_X509_value(subc, 0))), 0);

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
	GENERAL_NAMES_free(gens);
	assert_true(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1) >= 0);
	assert_true(X509_get_ext_by_NID(x, NID_info_access, -1) >= 0);
	assert_true(X509_get_ext_by_NID(x, NID_certificate_policies, -1) >= 0);

	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	buf_free(&out.der);
	buf_free(&csr);
}

/* From the RSA root, an RSA request, a CA profile, defaults for days. */
static void
test_issue_rsa_ca_profile(void **state)
{
	static const char *const attrs[] = { "CN", "Issuing CA", NULL };
	struct cfg_profile p;
	struct ca_request rq;
	struct ca_issued out;
	struct buf csr;
	STACK_OF(X509) *chain;
	char why[512];
	X509 *x;

	(void)state;
	fill_profile(&p);
	p.ca = 1;
	p.pathlen = 0;
	p.key_usage = CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN;
	p.ext_key_usage = 0;
	p.crl_url[0] = p.ocsp_url[0] = p.issuer_url[0] = p.policy_oid[0] = '\0';
	der_of(T.rsa2048, EVP_sha256(), attrs, NULL, &csr);
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 0);
	assert_int_equal(ca_issue(T.root, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	assert_int_equal(out.not_after, T.now + 90 * DAY);
	x = cert_of(&out.der);
	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	assert_true(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(x), 0);
	assert_int_equal(X509_get_key_usage(x),
	    X509v3_KU_KEY_CERT_SIGN | X509v3_KU_CRL_SIGN);
	assert_int_equal(X509_get_ext_by_NID(x, NID_ext_key_usage, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_crl_distribution_points, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_info_access, -1), -1);
	chain = chain_of(T.root);
	assert_int_equal(verify_with(x, chain, 0), 1);
	assert_string_equal(out.subject, "CN=Issuing CA");
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	buf_free(&out.der);
	buf_free(&csr);
}

static void
test_pem_and_der(void **state)
{
	struct cfg_profile p;
	static const char hdr[] = "-----BEGIN CERTIFICATE REQUEST-----\n"
	    "Proc-Type: 4,ENCRYPTED\n"
	    "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n";
	struct buf der, pem, pem_new, junk, conv;
	X509_REQ *r;
	char why[512];

	(void)state;
	fill_profile(&p);
	r = make_req(T.p256, EVP_sha384(), good_attrs, NULL);
	req_der(r, &der);
	req_pem(r, 0, &pem);
	req_pem(r, 1, &pem_new);
	X509_REQ_free(r);
	assert_non_null(memmem(pem.p, pem.len, "BEGIN CERTIFICATE REQUEST", 25));
	assert_non_null(memmem(pem_new.p, pem_new.len,
	    "BEGIN NEW CERTIFICATE REQUEST", 29));
	assert_int_equal(check_both(T.sub, &p, &der, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	assert_int_equal(check_both(T.sub, &p, &pem, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	assert_int_equal(check_both(T.sub, &p, &pem_new, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);

	/* a PEM block of another kind is not a request */
	buf_init(&junk);
	assert_int_equal(buf_put(&junk, "-----BEGIN CERTIFICATE-----\n", 28), 0);
	assert_int_equal(buf_put(&junk, pem.p + 36, pem.len - 36), 0);
	assert_int_equal(check_both(T.sub, &p, &junk, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	/* airlock-client sends a PEM request as its DER (csr_pem_to_der): the
	 * bytes are the request's own, under either label */
	buf_init(&conv);
	assert_int_equal(csr_pem_to_der(pem.p, pem.len, &conv), 0);
	assert_int_equal(conv.len, der.len);
	assert_memory_equal(conv.p, der.p, der.len);
	assert_int_equal(csr_pem_to_der(pem_new.p, pem_new.len, &conv), 0);
	assert_int_equal(conv.len, der.len);
	assert_memory_equal(conv.p, der.p, der.len);
	/* the first request block of two, as the signer takes it */
	assert_int_equal(buf_put(&pem_new, pem.p, pem.len), 0);
	assert_int_equal(csr_pem_to_der(pem_new.p, pem_new.len, &conv), 0);
	assert_int_equal(conv.len, der.len);
	/* what it cannot read stays as it was, for the signer's sentence:
	 * another kind of block, DER, base64 broken, a block with headers
	 * (a password is never asked for), nothing */
	assert_int_equal(csr_pem_to_der(junk.p, junk.len, &conv), -1);
	assert_int_equal(csr_pem_to_der(der.p, der.len, &conv), -1);
	buf_reset(&junk);
	assert_int_equal(buf_put(&junk, hdr, strlen(hdr)), 0);
	assert_int_equal(buf_put(&junk, pem.p + 36, pem.len - 36), 0);
	assert_int_equal(csr_pem_to_der(junk.p, junk.len, &conv), -1);
	pem.p[40] = '*';
	assert_int_equal(csr_pem_to_der(pem.p, pem.len, &conv), -1);
	assert_int_equal(csr_pem_to_der(pem.p, 0, &conv), -1);
	assert_int_equal(conv.len, der.len);	/* untouched by the refusals */
	assert_memory_equal(conv.p, der.p, der.len);
	buf_free(&conv);
	buf_free(&junk);
	buf_free(&der);
	buf_free(&pem);
	buf_free(&pem_new);
}

/* --- refusals --- */

static void
test_bad_signature(void **state)
{
	struct cfg_profile p;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	/* the signature is the last field: its last byte is part of s */
	csr.p[csr.len - 1] ^= 0x01;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_SIG);
	assert_non_null(strstr(why, "self-signature"));
	buf_free(&csr);
}

static void
test_parse_errors(void **state)
{
	static const char text[] = "hello, this is not a certificate request";
	static const uint8_t fake_der[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01 };
	struct cfg_profile p;
	struct buf csr, b;
	char why[512];

	(void)state;
	fill_profile(&p);
	buf_init(&b);
	assert_int_equal(buf_put(&b, text, sizeof(text) - 1), 0);
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_reset(&b);
	assert_int_equal(buf_put(&b, fake_der, sizeof(fake_der)), 0);
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_reset(&b);
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	assert_non_null(strstr(why, "empty"));

	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	/* truncated */
	csr.len -= 10;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	csr.len += 10;
	/* trailing bytes */
	assert_int_equal(buf_put_u8(&csr, 0), 0);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	assert_non_null(strstr(why, "follow"));
	csr.len--;
	/* an unknown format */
	assert_int_equal(check_both(T.sub, &p, &csr, 7, 30, why, sizeof(why)),
	    AL_E_CSR_PARSE);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
	buf_free(&b);
}

static void
test_key_size(void **state)
{
	struct cfg_profile p;
	EVP_PKEY *small, *e3, *k1;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	small = rsa_key(1024, 65537);
	der_of(small, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "1024"));
	buf_free(&csr);

	/* 2048 is the default minimum; the profile may raise it */
	der_of(T.rsa2048, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	p.min_rsa_bits = 3072;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_SIZE);
	p.min_rsa_bits = 0;
	buf_free(&csr);

	e3 = rsa_key(2048, 3);
	der_of(e3, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "exponent"));
	buf_free(&csr);

	k1 = ec_key("secp256k1");
	der_of(k1, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "secp256k1"));
	buf_free(&csr);
	EVP_PKEY_free(small);
	EVP_PKEY_free(e3);
	EVP_PKEY_free(k1);
}

/* r's key replaced by the P-256 point pt (as encoded in the BIT STRING). */
static void
req_set_point(X509_REQ *r, const unsigned char *pt, int len)
{
	unsigned char *bits = OPENSSL_memdup(pt, (size_t)len);

	assert_non_null(bits);
	assert_int_equal(X509_PUBKEY_set0_param(X509_REQ_get_X509_PUBKEY(r),
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_X9_62_prime256v1), bits, len), 1);
}

/*
 * ECDSA by hand over r's TBS with private scalar d: s = (e + r*d)/k. With d
 * NULL (zero) it signs for the point at infinity, which anyone can do: with
 * Q = O the verifier's u1*G + u2*Q is u1*G = k*G for s = e/k.
 */
static void
req_sign_ecdsa(X509_REQ *r, const BIGNUM *d)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	BN_CTX *bc = BN_CTX_new();
	BIGNUM *k = BN_new(), *e, *x = BN_new(), *rr = BN_new(), *s = BN_new(),
	    *kinv = BN_new();
	EC_POINT *R;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	unsigned char *tbs = NULL, *der = NULL, md[32];
	const BIGNUM *n;
	int tbslen, derlen;

	assert_non_null(g);
	assert_non_null(sig);
	assert_non_null(alg);
	assert_non_null(bs);
	n = EC_GROUP_get0_order(g);
	R = EC_POINT_new(g);
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ecdsa_with_SHA256),
	    V_ASN1_UNDEF, NULL), 1);
	assert_int_equal(X509_REQ_set1_signature_algo(r, alg), 1);
	tbslen = i2d_re_X509_REQ_tbs(r, &tbs);
	assert_true(tbslen > 0);
	crypto_sha256(tbs, (size_t)tbslen, md);
	e = BN_bin2bn(md, sizeof(md), NULL);
	assert_int_equal(BN_rand_range(k, n), 1);
	assert_int_equal(EC_POINT_mul(g, R, k, NULL, NULL, bc), 1);
	assert_int_equal(EC_POINT_get_affine_coordinates(g, R, x, NULL, bc), 1);
	assert_int_equal(BN_nnmod(rr, x, n, bc), 1);
	assert_non_null(BN_mod_inverse(kinv, k, n, bc));
	if (d != NULL) {	/* e += r*d */
		assert_int_equal(BN_mod_mul(s, rr, d, n, bc), 1);
		assert_int_equal(BN_mod_add(e, e, s, n, bc), 1);
	}
	assert_int_equal(BN_mod_mul(s, e, kinv, n, bc), 1);
	assert_int_equal(ECDSA_SIG_set0(sig, rr, s), 1);
	derlen = i2d_ECDSA_SIG(sig, &der);
	assert_true(derlen > 0);
	assert_int_equal(ASN1_BIT_STRING_set(bs, der, derlen), 1);
	/* no unused bits: without the flag OpenSSL would count the last
	 * byte's trailing zeros as unused, which a verifier refuses */
	bs->flags = (bs->flags & ~0x07) | ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(r, bs);
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	ECDSA_SIG_free(sig);
	X509_ALGOR_free(alg);
	BN_free(k);
	BN_free(e);
	BN_free(x);
	BN_free(kinv);
	EC_POINT_free(R);
	BN_CTX_free(bc);
	EC_GROUP_free(g);
}

/*
 * r's key the Ed25519 identity point, signed for it without any private
 * key: with A the identity, s*B = R + h*A holds for R = s*B whatever the
 * message. R and s from a random key: its public key and its secret
 * scalar (SHA-512 of the seed, clamped) mod L.
 */
static void
req_ed25519_identity(X509_REQ *r)
{
	static const uint8_t identity[32] = { 0x01 };
	uint8_t seed[32], h[64], be[32], sig[64];
	EVP_PKEY *id = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    identity, sizeof(identity)), *rk;
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_BIT_STRING *bs = ASN1_BIT_STRING_new();
	BIGNUM *a, *L = NULL;
	BN_CTX *bc = BN_CTX_new();
	size_t len = 32;
	int i;

	assert_non_null(id);
	assert_non_null(alg);
	assert_non_null(bs);
	assert_int_equal(X509_REQ_set_pubkey(r, id), 1);
	assert_int_equal(crypto_random(seed, sizeof(seed)), 0);
	rk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(rk);
	assert_int_equal(EVP_PKEY_get_raw_public_key(rk, sig, &len), 1);	/* R */
	assert_int_equal(EVP_Digest(seed, 32, h, NULL, EVP_sha512(), NULL), 1);
	h[0] &= 248, h[31] &= 127, h[31] |= 64;
	for (i = 0; i < 32; i++)
		be[i] = h[31 - i];
	a = BN_bin2bn(be, 32, NULL);
	assert_true(BN_hex2bn(&L, "1000000000000000000000000000000014def9dea2f"
	    "79cd65812631a5cf5d3ed") > 0);
	assert_int_equal(BN_nnmod(a, a, L, bc), 1);
	assert_int_equal(BN_bn2lebinpad(a, sig + 32, 32), 32);	/* s */
	assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(NID_ED25519),
	    V_ASN1_UNDEF, NULL), 1);
	assert_int_equal(X509_REQ_set1_signature_algo(r, alg), 1);
	assert_true(i2d_re_X509_REQ_tbs(r, NULL) > 0);
	assert_int_equal(ASN1_BIT_STRING_set(bs, sig, sizeof(sig)), 1);
	bs->flags = (bs->flags & ~0x07) | ASN1_STRING_FLAG_BITS_LEFT;
	X509_REQ_set0_signature(r, bs);
	assert_int_equal(X509_REQ_verify(r, id), 1);	/* it does verify */
	X509_ALGOR_free(alg);
	EVP_PKEY_free(rk);
	EVP_PKEY_free(id);
	BN_free(a);
	BN_free(L);
	BN_CTX_free(bc);
}

/* A profile that takes Ed25519 still refuses such a key (205). */
static void
test_ed25519_small_order(void **state)
{
	struct cfg_profile p;
	struct buf csr;
	X509_REQ *r;
	char why[512];

	(void)state;
	fill_profile(&p);
	p.key_types = KEYT_ED25519;
	r = make_req(T.p256, EVP_sha256(), good_attrs, NULL);
	req_ed25519_identity(r);
	req_der(r, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "small order"));
	buf_free(&csr);
	X509_REQ_free(r);
}

/* An EC key that is not a point of the curve, or is the point at
 * infinity, is refused as a key error, never issued. */
static void
test_ec_point_invalid(void **state)
{
	unsigned char pt[65], *p = pt;
	const unsigned char inf[1] = { 0x00 };
	struct cfg_profile pr;
	BIGNUM *d = NULL;
	struct buf csr;
	X509_REQ *r;
	char why[512];
	int rc;

	(void)state;
	fill_profile(&pr);
	/* a real point with its last byte changed: off the curve */
	assert_int_equal(i2d_PublicKey(T.p256, &p), (int)sizeof(pt));
	pt[64] ^= 0x01;
	r = make_req(T.p256, EVP_sha256(), good_attrs, NULL);
	req_set_point(r, pt, (int)sizeof(pt));
	assert_true(i2d_re_X509_REQ_tbs(r, NULL) > 0);	/* encoded anew */
	req_der(r, &csr);
	rc = check_both(T.sub, &pr, &csr, MSG_CSR_PKCS10, 30, why, sizeof(why));
	assert_true(rc == AL_E_KEY_TYPE || rc == AL_E_KEY_SIZE);
	buf_free(&csr);
	X509_REQ_free(r);

	/* the signing by hand is right: with the key's own scalar, OpenSSL
	 * verifies the request and the signer takes it */
	assert_int_equal(EVP_PKEY_get_bn_param(T.p256, OSSL_PKEY_PARAM_PRIV_KEY,
	    &d), 1);
	r = make_req(T.p256, EVP_sha256(), good_attrs, NULL);
	req_sign_ecdsa(r, d);
	assert_int_equal(X509_REQ_verify(r, T.p256), 1);
	req_der(r, &csr);
	assert_int_equal(check_both(T.sub, &pr, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
	X509_REQ_free(r);
	BN_clear_free(d);

	/* the point at infinity, with a signature that verifies for it */
	r = make_req(T.p256, EVP_sha256(), good_attrs, NULL);
	req_set_point(r, inf, (int)sizeof(inf));
	req_sign_ecdsa(r, NULL);
	req_der(r, &csr);
	rc = check_both(T.sub, &pr, &csr, MSG_CSR_PKCS10, 30, why, sizeof(why));
	assert_true(rc == AL_E_KEY_TYPE || rc == AL_E_KEY_SIZE);
	buf_free(&csr);
	X509_REQ_free(r);
}

static void
test_key_type(void **state)
{
	struct cfg_profile p;
	EVP_PKEY *ed;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(ed);
	der_of(ed, NULL, good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_TYPE);
	assert_non_null(strstr(why, "Ed25519"));
	p.key_types = KEYT_ED25519;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
	/* EC is then not allowed any more */
	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_KEY_TYPE);
	buf_free(&csr);
	EVP_PKEY_free(ed);
}

static void
test_digest(void **state)
{
	struct cfg_profile p;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	der_of(T.p256, EVP_sha1(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_DIGEST);
	assert_non_null(strstr(why, "SHA1"));
	buf_free(&csr);
	der_of(T.rsa2048, EVP_sha224(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_DIGEST);
	buf_free(&csr);
	der_of(T.rsa2048, EVP_sha512(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
	/* MD5, which the old system offered */
	der_of(T.rsa2048, EVP_md5(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_DIGEST);
	assert_non_null(strstr(why, "MD5"));
	buf_free(&csr);
	der_of(T.p256, EVP_sha384(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
}

static void
test_validity(void **state)
{
	struct cfg_profile p;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 397, why,
	    sizeof(why)), AL_OK);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 398, why,
	    sizeof(why)), AL_E_VALIDITY);
	assert_non_null(strstr(why, "397"));
	/* longer than the subroot lives: refused, not shortened */
	p.max_days = 10000;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 2000, why,
	    sizeof(why)), AL_E_VALIDITY);
	assert_non_null(strstr(why, "after the CA certificate"));
	/* no days and no default */
	p.default_days = 0;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 0, why,
	    sizeof(why)), AL_E_VALIDITY);
	buf_free(&csr);
}

static void
test_subject(void **state)
{
	static const char *const with_o[] = { "CN", "a", "O", "Org", NULL };
	static const char *const bad_c[] = { "CN", "a", "!C", "DEU", NULL };
	static const char *const ctrl[] = { "!CN", "ali\x01" "ce", NULL };
	static const char *const c1[] = { "!CN", "a\xc2\x85" "b", NULL };
	static const char *const cafe[] = { "CN", "cafe", NULL };
	static const char *const uid[] = { "CN", "a", "UID", "42", NULL };
	static const char *const utf8[] = { "CN", "J\xc3\xbcrgen", NULL };
	struct cfg_profile p;
	struct buf csr;
	uint8_t *p8;
	char why[512];

	(void)state;
	fill_profile(&p);
	snprintf(p.subject_attrs, sizeof(p.subject_attrs), "CN");
	der_of(T.p256, EVP_sha256(), with_o, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "attribute O "));
	buf_free(&csr);
	p.subject_attrs[0] = '\0';

	der_of(T.p256, EVP_sha256(), uid, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), bad_c, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "two letters"));
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), ctrl, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), c1, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "control"));
	buf_free(&csr);
	/* OpenSSL will not sign bad UTF-8, so break it afterwards: no parse */
	der_of(T.p256, EVP_sha256(), cafe, NULL, &csr);
	p8 = memmem(csr.p, csr.len, "cafe", 4);
	assert_non_null(p8);
	p8[3] = 0xc3;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), NULL, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "empty"));
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), utf8, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
}

/* Issue 16, item 9: RFC 5280 upper bounds and the profile's caps, each
 * refusal naming its limit; a 300-character CN was issued before. */
static void
test_bounds(void **state)
{
	char cn[301], conf[4096];
	const char *long_cn[] = { "!CN", cn, NULL };	/* "!": no length check */
	struct cfg_profile p;
	struct buf csr;
	char why[512];
	size_t n = 0;
	int i;

	(void)state;
	fill_profile(&p);
	memset(cn, 'a', 300);
	cn[300] = '\0';
	der_of(T.p256, EVP_sha256(), long_cn, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "300 characters; at most 64"));
	assert_non_null(strstr(why, "ub-common-name"));
	buf_free(&csr);
	cn[64] = '\0';		/* at the bound: allowed as far as its length goes */
	der_of(T.p256, EVP_sha256(), long_cn, NULL, &csr);
	check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why, sizeof(why));
	assert_null(strstr(why, "ub-common-name"));
	buf_free(&csr);

	for (i = 0; i < 101; i++)
		n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%sDNS:h%d.example.test",
		    i ? "," : "", i);
	der_of(T.p256, EVP_sha256(), good_attrs, san_conf(conf), &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "101 subjectAltName entries"));
	assert_non_null(strstr(why, "at most 100 (max_san)"));
	p.max_san = 200;	/* the profile's own cap */
	assert_int_not_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	p.max_san = 5;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "at most 5 (max_san)"));
	buf_free(&csr);
}

static void
test_san(void **state)
{
	static const uint8_t ip5[] = { 192, 0, 2, 1, 7 };
	static const char *const bad_dns[] = {
		"DNS:bad_host.example.test", "DNS:foo.*.example.test",
		"DNS:-lead.example.test", "DNS:trailing.example.test.",
		"DNS:*", "DNS:a..example.test", NULL,
	};
	struct cfg_profile p;
	struct buf csr;
	char why[512];
	int i;

	(void)state;
	fill_profile(&p);
	for (i = 0; bad_dns[i] != NULL; i++) {
		der_of(T.p256, EVP_sha256(), good_attrs, san_conf(bad_dns[i]),
		    &csr);
		assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30,
		    why, sizeof(why)), AL_E_SAN);
		assert_non_null(strstr(why, "not a valid DNS name"));
		buf_free(&csr);
	}
	der_of(T.p256, EVP_sha256(), good_attrs, san_ip_raw(ip5, sizeof(ip5)),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	buf_free(&csr);

	/* a type the profile does not allow, then allowed */
	der_of(T.p256, EVP_sha256(), good_attrs,
	    san_conf("email:alice@example.test,URI:https://example.test/a"),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "does not allow"));
	p.san_types = SAN_EMAIL | SAN_URI;
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);

	der_of(T.p256, EVP_sha256(), good_attrs, san_conf("email:not-an-email"),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), good_attrs, san_conf("otherName:"
	    "1.3.6.1.4.1.311.20.2.3;UTF8:alice@example.test"), &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	buf_free(&csr);
}

/* DNS names (issue 22, finding 8): no wildcard directly under a public
 * suffix, even with no list loaded (the implicit rule "*"), and a profile's
 * allowed_domains, for dNSNames (AL_E_SAN) and host-name CNs (SUBJECT). */
static void
test_dns_policy(void **state)
{
	static const char *const cn_wild[] = { "CN", "*.test", NULL };
	static const char *const cn_other[] = { "CN", "www.other.example", NULL };
	static const char *const cn_plain[] = { "CN", "Alice Example", NULL };
	struct cfg_profile p;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	der_of(T.p256, EVP_sha256(), good_attrs, san_conf("DNS:*.com"), &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_string_equal(why, "subjectAltName entry 1 (*.com) is a wildcard "
	    "directly under the public suffix com");
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), cn_wild, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), good_attrs,
	    san_conf("DNS:*.example.test,DNS:a.Example.TEST"), &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	/* allowed_domains */
	snprintf(p.allowed_domains, sizeof(p.allowed_domains), "other.example,example.test");
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	snprintf(p.allowed_domains, sizeof(p.allowed_domains), "a.example.test");
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "entry 1 (*.example.test) is not within the "
	    "domains profile"));
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), cn_other, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	assert_non_null(strstr(why, "the subject's CN (www.other.example) is not"));
	buf_free(&csr);
	/* a CN that is not a host name is not a domain */
	der_of(T.p256, EVP_sha256(), cn_plain, NULL, &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&csr);
}

/* --- SPKAC --- */

static char *
make_spkac(EVP_PKEY *key, const EVP_MD *md, int corrupt)
{
	NETSCAPE_SPKI *spki = NETSCAPE_SPKI_new();
	unsigned char *der = NULL;
	const unsigned char *q;
	char *b64;
	int n;

	assert_non_null(spki);
	assert_int_equal(NETSCAPE_SPKI_set_pubkey(spki, key), 1);
	assert_int_equal(ASN1_STRING_set(spki->spkac->challenge, "chal", -1), 1);
	assert_true(NETSCAPE_SPKI_sign(spki, key, md) > 0);
	if (corrupt) {
		n = i2d_NETSCAPE_SPKI(spki, &der);
		assert_true(n > 0);
		der[n - 1] ^= 1;
		NETSCAPE_SPKI_free(spki);
		q = der;
		spki = d2i_NETSCAPE_SPKI(NULL, &q, n);
		assert_non_null(spki);
		OPENSSL_free(der);
	}
	b64 = NETSCAPE_SPKI_b64_encode(spki);
	assert_non_null(b64);
	NETSCAPE_SPKI_free(spki);
	return b64;
}

static void
spkac_text(struct buf *b, const char *head, const char *b64, const char *tail)
{
	buf_init(b);
	assert_int_equal(buf_put(b, head, strlen(head)), 0);
	assert_int_equal(buf_put(b, b64, strlen(b64)), 0);
	assert_int_equal(buf_put(b, tail, strlen(tail)), 0);
}

static void
test_spkac(void **state)
{
	struct cfg_profile p;
	struct ca_request rq;
	struct ca_issued out;
	STACK_OF(X509) *chain;
	struct buf b;
	char *good, *bad, why[512];
	X509 *x;

	(void)state;
	fill_profile(&p);
	good = make_spkac(T.p256, EVP_sha256(), 0);
	bad = make_spkac(T.p256, EVP_sha256(), 1);

	spkac_text(&b, "CN=bob\r\nO=Example\r\nSPKAC=", good, "\r\n");
	fill_req(&rq, &b, MSG_CSR_SPKAC, 30);
	assert_int_equal(ca_issue(T.sub, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	assert_string_equal(out.subject, "O=Example,CN=bob");
	x = cert_of(&out.der);
	chain = chain_of(T.sub);
	assert_int_equal(verify_with(x, chain, X509_PURPOSE_SSL_CLIENT), 1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	buf_free(&out.der);
	buf_free(&b);

	/* subject lines may follow the SPKAC line, as the client spools it */
	spkac_text(&b, "SPKAC=", good, "\nCN=carol\nO=Example\n");
	fill_req(&rq, &b, MSG_CSR_SPKAC, 30);
	assert_int_equal(ca_issue(T.sub, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	assert_string_equal(out.subject, "O=Example,CN=carol");
	buf_free(&out.der);
	buf_free(&b);
	/* a bare base64 line works too */
	spkac_text(&b, "CN=bob\n", good, "\n");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&b);
	/* no subject */
	spkac_text(&b, "SPKAC=", good, "");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	buf_free(&b);
	/* a subject attribute the profile does not allow */
	spkac_text(&b, "CN=bob\nUID=7\nSPKAC=", good, "");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_SUBJECT);
	buf_free(&b);
	/* broken signature */
	spkac_text(&b, "CN=bob\nSPKAC=", bad, "\n");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_CSR_SIG);
	buf_free(&b);
	/* not base64, and no SPKAC at all */
	spkac_text(&b, "CN=bob\nSPKAC=", "!!!!", "\n");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_free(&b);
	spkac_text(&b, "CN=bob\n", "", "");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_free(&b);
	/* two SPKACs */
	spkac_text(&b, "CN=bob\nSPKAC=", good, "\n");
	assert_int_equal(buf_put(&b, "SPKAC=", 6), 0);
	assert_int_equal(buf_put(&b, good, strlen(good)), 0);
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_E_CSR_PARSE);
	buf_free(&b);
	OPENSSL_free(good);
	OPENSSL_free(bad);
}

/* SPKAC lines without '=' (issue 22, finding 6): a line that is neither
 * NAME=value nor base64 is named as such, whatever its length; before, its
 * attribute name length came from a NULL pointer, and one of 4k bytes was
 * decoded as base64. */
static void
test_spkac_lines_without_eq(void **state)
{
	static const char *const lines[] = {
		"hello", "CN x", "CN:bob!", "a b c d ", "Zm9v YmFy", "MII-",
	};
	struct cfg_profile p;
	struct buf b;
	char *good, why[512];
	size_t i;

	(void)state;
	fill_profile(&p);
	good = make_spkac(T.p256, EVP_sha256(), 0);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		/* before the SPKAC line, and after it */
		spkac_text(&b, "CN=bob\n", lines[i], "\nSPKAC=");
		assert_int_equal(buf_put(&b, good, strlen(good)), 0);
		assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
		    sizeof(why)), AL_E_CSR_PARSE);
		assert_string_equal(why, "SPKAC text line 2 is neither NAME=value "
		    "nor a base64 SPKAC");
		buf_free(&b);
		spkac_text(&b, "CN=bob\nSPKAC=", good, "\n");
		assert_int_equal(buf_put(&b, lines[i], strlen(lines[i])), 0);
		assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
		    sizeof(why)), AL_E_CSR_PARSE);
		assert_string_equal(why, "SPKAC text line 3 is neither NAME=value "
		    "nor a base64 SPKAC");
		buf_free(&b);
	}
	/* a bare base64 line is still one, padding and all */
	spkac_text(&b, "CN=bob\n", good, "\n");
	assert_int_equal(check_both(T.sub, &p, &b, MSG_CSR_SPKAC, 30, why,
	    sizeof(why)), AL_OK);
	buf_free(&b);
	OPENSSL_free(good);
}

static void
test_serial_refused(void **state)
{
	static const uint8_t zero[] = { 0, 0 };
	uint8_t big[21];
	struct cfg_profile p;
	struct ca_request rq;
	struct ca_issued out;
	struct buf csr;
	char why[512];

	(void)state;
	fill_profile(&p);
	memset(big, 0x11, sizeof(big));
	der_of(T.p256, EVP_sha256(), good_attrs, NULL, &csr);
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 30);
	assert_int_equal(ca_issue(T.sub, &p, &rq, zero, sizeof(zero), &out, why,
	    sizeof(why)), AL_E_INTERNAL);
	assert_null(out.der.p);
	assert_non_null(strstr(why, "serial"));
	assert_int_equal(ca_issue(T.sub, &p, &rq, big, sizeof(big), &out, why,
	    sizeof(why)), AL_E_INTERNAL);
	assert_null(out.der.p);
	/* 20 octets with the top bit clear is the largest allowed */
	big[0] = 0x7f;
	assert_int_equal(ca_issue(T.sub, &p, &rq, big, 20, &out, why,
	    sizeof(why)), AL_OK);
	buf_free(&out.der);
	buf_free(&csr);
}


/* --- profile extensions beyond the basics --- */

static X509 *
issue_with(struct ca *ca, const struct cfg_profile *p, EVP_PKEY *key,
    const char *const *attrs, X509_EXTENSION *san)
{
	struct ca_request rq;
	struct ca_issued out;
	struct buf csr;
	char why[512];
	X509 *x;

	der_of(key, EVP_sha256(), attrs, san, &csr);
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 30);
	if (ca_issue(ca, p, &rq, serial16, sizeof(serial16), &out, why,
	    sizeof(why)) != AL_OK)
		fail_msg("issue: %s", why);
	x = cert_of(&out.der);
	buf_free(&out.der);
	buf_free(&csr);
	return x;
}

static void
test_profile_policies_nocheck(void **state)
{
	CERTIFICATEPOLICIES *cp;
	POLICYINFO *pi;
	POLICYQUALINFO *q;
	struct cfg_profile p;
	X509 *x;
	int i, crit;

	(void)state;
	fill_profile(&p);
	snprintf(p.policy_oid, sizeof(p.policy_oid), "2.999.1.1, 2.999.1.2");
	snprintf(p.cps_url, sizeof(p.cps_url), "http://cps.example.test/");
	p.ocsp_nocheck = 1;
	p.ext_key_usage = CFG_EKU_OCSP | CFG_EKU_SMARTCARD;
	x = issue_with(T.sub, &p, T.p256, good_attrs, NULL);
	cp = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	assert_non_null(cp);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_POLICYINFO_num(cp), 2);
	for (i = 0; i < 2; i++) {
		char oid[32];

		pi = sk_POLICYINFO_value(cp, i);
		OBJ_obj2txt(oid, sizeof(oid), pi->policyid, 1);
		assert_string_equal(oid, i == 0 ? "2.999.1.1" : "2.999.1.2");
		assert_int_equal(sk_POLICYQUALINFO_num(pi->qualifiers), 1);
		q = sk_POLICYQUALINFO_value(pi->qualifiers, 0);
		assert_int_equal(OBJ_obj2nid(q->pqualid), NID_id_qt_cps);
		assert_string_equal((const char *)ASN1_STRING_get0_data(
		    q->d.cpsuri), "http://cps.example.test/");
	}
	CERTIFICATEPOLICIES_free(cp);
	assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >= 0);
	assert_true(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1) >= 0);
	X509_free(x);

	/* SKI and AKI can be left out */
	fill_profile(&p);
	p.no_ski = p.no_aki = 1;
	x = issue_with(T.sub, &p, T.p256, good_attrs, NULL);
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_authority_key_identifier, -1), -1);
	assert_int_equal(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1), -1);
	X509_free(x);
}

static X509_EXTENSION *
san_xmpp(const char *value, int utf8)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_TYPE *t = ASN1_TYPE_new();
	ASN1_STRING *v = ASN1_STRING_type_new(utf8 ? V_ASN1_UTF8STRING :
	    V_ASN1_IA5STRING);
	X509_EXTENSION *e;

	assert_non_null(gens);
	assert_non_null(gn);
	assert_non_null(t);
	assert_non_null(v);
	assert_int_equal(ASN1_STRING_set(v, value, -1), 1);
	ASN1_TYPE_set(t, utf8 ? V_ASN1_UTF8STRING : V_ASN1_IA5STRING, v);
	assert_int_equal(GENERAL_NAME_set0_othername(gn,
	    OBJ_nid2obj(NID_XmppAddr), t), 1);
	assert_int_not_equal(sk_GENERAL_NAME_push(gens, gn), 0);
	e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	assert_non_null(e);
	GENERAL_NAMES_free(gens);
	return e;
}

static void
test_san_xmpp(void **state)
{
	struct cfg_profile p;
	struct buf csr;
	char why[512];
	X509 *x;

	(void)state;
	fill_profile(&p);
	p.san_types = SAN_DNS | SAN_XMPP;
	x = issue_with(T.sub, &p, T.p256, good_attrs, san_xmpp("chat.example.test",
	    1));
	assert_true(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0);
	X509_free(x);
	x = issue_with(T.sub, &p, T.p256, good_attrs, san_xmpp("bot@example.test",
	    1));
	X509_free(x);

	/* not a UTF8String, not a domain, not allowed by the profile */
	der_of(T.p256, EVP_sha256(), good_attrs, san_xmpp("chat.example.test", 0),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "XMPP"));
	buf_free(&csr);
	der_of(T.p256, EVP_sha256(), good_attrs, san_xmpp("bad..domain", 1), &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	buf_free(&csr);
	p.san_types = SAN_DNS;
	der_of(T.p256, EVP_sha256(), good_attrs, san_xmpp("chat.example.test", 1),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "does not allow"));
	buf_free(&csr);
	/* another otherName is unknown even when XMPP is allowed */
	p.san_types = SAN_XMPP;
	der_of(T.p256, EVP_sha256(), good_attrs,
	    san_conf("otherName:1.3.6.1.4.1.311.20.2.3;UTF8:upn@example.test"),
	    &csr);
	assert_int_equal(check_both(T.sub, &p, &csr, MSG_CSR_PKCS10, 30, why,
	    sizeof(why)), AL_E_SAN);
	assert_non_null(strstr(why, "not supported"));
	buf_free(&csr);
}

/* A public key with any exponent, from parameters: the key-size check
 * comes before the self-signature, so the request is signed by another key. */
/* A PKCS#10 request for the RSA public key (n, e), signed by another
 * key: the key's checks come before the signature's. */
static void
rsa_pub_req(const BIGNUM *n, const BIGNUM *e, struct buf *csr)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY *pub = NULL;
	X509_REQ *r = X509_REQ_new();

	assert_non_null(ctx);
	assert_non_null(bld);
	assert_non_null(r);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "n", n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "e", e), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pub, EVP_PKEY_PUBLIC_KEY, params), 1);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
	    MBSTRING_UTF8, (const unsigned char *)"rsa.example.test", -1, -1, 0);
	assert_int_equal(X509_REQ_set_pubkey(r, pub), 1);
	assert_true(X509_REQ_sign(r, T.rsa2048, EVP_sha256()) > 0);
	req_der(r, csr);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pub);
	X509_REQ_free(r);
}

/* check_both's code for such a request under profile p */
static int
rsa_pub_code(const BIGNUM *n, const BIGNUM *e, const struct cfg_profile *p,
    char *why, size_t whysz)
{
	struct buf csr;
	int rc;

	rsa_pub_req(n, e, &csr);
	rc = check_both(T.sub, p, &csr, MSG_CSR_PKCS10, 30, why, whysz);
	buf_free(&csr);
	return rc;
}

static void
test_rsa_exponent_bounds(void **state)
{
	BIGNUM *n = BN_new(), *e = BN_new();
	struct cfg_profile p;
	char why[512];

	(void)state;
	assert_int_equal(BN_rand(n, 2048, BN_RAND_TOP_TWO, BN_RAND_BOTTOM_ODD), 1);
	assert_int_equal(BN_lshift(e, BN_value_one(), 257), 1);	/* 2^257 + 1 */
	assert_int_equal(BN_add_word(e, 1), 1);
	fill_profile(&p);
	assert_int_equal(rsa_pub_code(n, e, &p, why, sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "2^256"));
	BN_free(n);
	BN_free(e);
}

/* CA/B Forum baseline 6.1.6: the modulus odd and without a factor below
 * 752. From a real modulus: plus one (even), times 751 (odd). */
static void
test_rsa_modulus(void **state)
{
	BIGNUM *n = NULL, *e = NULL, *bad = BN_new();
	struct cfg_profile p;
	char why[512];

	(void)state;
	fill_profile(&p);
	assert_int_equal(EVP_PKEY_get_bn_param(T.rsa2048, "n", &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(T.rsa2048, "e", &e), 1);
	assert_non_null(bad);
	/* the real one is taken (rsa_pub_req signs with T.rsa2048: here the
	 * request's own key) */
	assert_int_equal(rsa_pub_code(n, e, &p, why, sizeof(why)), AL_OK);
	assert_non_null(BN_copy(bad, n));
	assert_int_equal(BN_add_word(bad, 1), 1);
	assert_int_equal(rsa_pub_code(bad, e, &p, why, sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "even"));
	assert_non_null(BN_copy(bad, n));
	assert_int_equal(BN_mul_word(bad, 751), 1);
	assert_int_equal(rsa_pub_code(bad, e, &p, why, sizeof(why)), AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "below 752"));
	BN_free(n);
	BN_free(e);
	BN_free(bad);
}

/* --- directories: offline parent, info, chain, certificate info --- */

static void
write_cert_pem(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	assert_int_equal(fclose(f), 0);
}

/* ca.csr for an offline parent, signed here by the root, installed. */
static void
test_root_csr_install(void **state)
{
	struct ca_root_params rp;
	struct cfg_profile p;
	struct ca_request rq;
	struct ca_issued out;
	struct ca_dirinfo di;
	struct cfg_root r;
	struct ca *ca;
	struct stat st;
	struct buf csr;
	char dir[PATH_MAX], path[PATH_MAX], crt[PATH_MAX], rootcrt[PATH_MAX];
	char why[512];
	X509 *x, *leaf;

	(void)state;
	tpath(dir, "offline");
	fill_params(&rp, dir, "/CN=Offline Sub/O=Airlock Test", "ec:P-256", 400);
	rp.csr_only = 1;
	rp.pathlen = 0;
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), 0);
	dpath(path, dir, "ca.crt");
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(ca_dir_info(dir, &di, why, sizeof(why)), 0);
	assert_int_equal(di.pending, 1);
	assert_string_equal(di.key, "file");
	assert_string_equal(di.key_alg, "EC P-256");

	/* the parent (here the test root) issues it with a sub-CA profile */
	dpath(path, dir, "ca.csr");
	buf_init(&csr);
	assert_int_equal(read_file(path, &csr, 1 << 16), 0);
	fill_profile(&p);
	p.ca = 1;
	p.pathlen = 0;
	p.key_usage = CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN;
	p.ext_key_usage = 0;
	p.san_types = 0;
	fill_req(&rq, &csr, MSG_CSR_PKCS10, 300);
	assert_int_equal(ca_issue(T.root, &p, &rq, serial16, sizeof(serial16),
	    &out, why, sizeof(why)), AL_OK);
	x = cert_of(&out.der);
	tpath(crt, "offline.crt");
	write_cert_pem(crt, x);
	dpath(rootcrt, T.root_dir, "ca.crt");

	/* without the chain: refused, it is not self-signed */
	assert_int_equal(ca_root_install(dir, crt, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "chain"));
	/* someone else's certificate: refused */
	assert_int_equal(ca_root_install(dir, rootcrt, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not the key of ca.csr"));
	assert_int_equal(ca_root_install(dir, crt, rootcrt, why, sizeof(why)), 0);
	assert_int_equal(ca_root_install(dir, crt, rootcrt, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "already there"));

	fill_root(&r, "offline", dir, "");
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), 0);
	leaf = issue_with(ca, &p, T.p256, good_attrs, NULL);
	X509_free(leaf);
	assert_int_equal(ca_dir_info(dir, &di, why, sizeof(why)), 0);
	assert_int_equal(di.pending, 0);
	assert_int_equal(di.chain_len, 1);
	assert_int_equal(di.self_signed, 0);
	ca_free(ca);
	X509_free(x);
	buf_free(&out.der);
	buf_free(&csr);
}

static void
test_root_encrypted_parent(void **state)
{
	struct ca_root_params rp;
	struct ca_dirinfo di;
	char dir[PATH_MAX], why[512];

	(void)state;
	tpath(dir, "under-sub");
	fill_params(&rp, dir, "/CN=Below Sub", "ec:P-256", 100);
	rp.parent_dir = T.sub_dir;		/* its key is encrypted */
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "encrypted"));
	rp.parent_pass = "wrong";
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "wrong passphrase"));
	rp.parent_pass = SUB_PASS;
	rp.pass = "new secret";
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), 0);
	assert_int_equal(ca_dir_info(dir, &di, why, sizeof(why)), 0);
	assert_string_equal(di.key, "encrypted file");
	assert_int_equal(di.chain_len, 2);
	assert_null(strstr(di.issuer, "Root"));

	/* a token key that is not a pkcs11 URI is refused before any engine */
	tpath(dir, "badtoken");
	fill_params(&rp, dir, "/CN=T", "ec:P-256", 100);
	rp.key_uri = "file:/etc/passwd";
	assert_int_equal(ca_root_init(&rp, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "pkcs11:"));
}

static void
test_chain_mismatch(void **state)
{
	struct cfg_root r;
	struct ca *ca;
	char dir[PATH_MAX], from[PATH_MAX], to[PATH_MAX], why[512];

	(void)state;
	/* the subroot with a chain.pem that holds itself instead of the root */
	tpath(dir, "badchain");
	assert_int_equal(mkdir(dir, 0700), 0);
	dpath(from, T.sub_dir, "ca.crt");
	dpath(to, dir, "ca.crt");
	copy_file(from, to);
	dpath(to, dir, "chain.pem");
	copy_file(from, to);
	dpath(from, T.sub_dir, "ca.key");
	dpath(to, dir, "ca.key");
	copy_file(from, to);
	fill_root(&r, "x", dir, T.sub_pass);
	assert_int_equal(ca_load(&r, &ca, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "chain.pem did not issue"));
	assert_int_equal(ca_load_public(dir, &ca, why, sizeof(why)), -1);
}

static void
test_cert_info(void **state)
{
	struct cfg_profile p;
	struct ca_certinfo ci;
	unsigned char *der = NULL;
	char why[512];
	X509 *x;
	BIO *bio;
	BUF_MEM *bm;
	int n;

	(void)state;
	fill_profile(&p);
	x = issue_with(T.sub, &p, T.p256, good_attrs, NULL);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	assert_int_equal(ca_cert_info(der, (size_t)n, T.sub, &ci, why,
	    sizeof(why)), 0);
	assert_int_equal(ci.serial_len, sizeof(serial16));
	assert_memory_equal(ci.serial, serial16, sizeof(serial16));
	assert_string_equal(ci.subject_oneline,
	    "/CN=www.example.test/O=Example/C=DE");
	assert_string_equal(ci.subject, "C=DE,O=Example,CN=www.example.test");
	assert_int_equal(strlen(ci.not_after_text), 13);
	assert_true(ci.not_after - ci.not_before == 30 * DAY);
	assert_int_equal(ci.der.len, (size_t)n);
	ca_certinfo_free(&ci);
	/* the other CA did not issue it */
	assert_int_equal(ca_cert_info(der, (size_t)n, T.root, &ci, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "not issued"));
	/* PEM works as well, trailing DER bytes do not */
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, x), 1);
	BIO_get_mem_ptr(bio, &bm);
	assert_int_equal(ca_cert_info((const uint8_t *)bm->data, bm->length,
	    NULL, &ci, why, sizeof(why)), 0);
	ca_certinfo_free(&ci);
	assert_int_equal(ca_cert_info(der, (size_t)n - 1, NULL, &ci, why,
	    sizeof(why)), -1);
	BIO_free(bio);
	OPENSSL_free(der);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_layout),
		cmocka_unit_test(test_root_certs),
		cmocka_unit_test(test_root_serial),
		cmocka_unit_test(test_root_init_refuses_nonempty),
		cmocka_unit_test(test_root_init_bad_params),
		cmocka_unit_test(test_root_ed25519),
		cmocka_unit_test(test_load_wrong_pass),
		cmocka_unit_test(test_load_no_pass),
		cmocka_unit_test(test_load_missing_and_mismatch),
		cmocka_unit_test(test_load_chain_variants),
		cmocka_unit_test(test_issue_p256),
		cmocka_unit_test(test_issue_rsa_ca_profile),
		cmocka_unit_test(test_pem_and_der),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_key_size),
		cmocka_unit_test(test_key_type),
		cmocka_unit_test(test_ec_point_invalid),
		cmocka_unit_test(test_ed25519_small_order),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_san),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_dns_policy),
		cmocka_unit_test(test_spkac),
		cmocka_unit_test(test_spkac_lines_without_eq),
		cmocka_unit_test(test_serial_refused),
		cmocka_unit_test(test_profile_policies_nocheck),
		cmocka_unit_test(test_san_xmpp),
		cmocka_unit_test(test_rsa_exponent_bounds),
		cmocka_unit_test(test_rsa_modulus),
		cmocka_unit_test(test_root_csr_install),
		cmocka_unit_test(test_root_encrypted_parent),
		cmocka_unit_test(test_chain_mismatch),
		cmocka_unit_test(test_cert_info),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
