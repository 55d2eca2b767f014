/*
 * test_pgp.c: the OpenPGP module without the link: armour known answers,
 * packet headers (old and new format, partial lengths refused), user ID
 * addresses, and the signer's policy and the client's merge on keys made
 * here (an Ed25519 root and Ed25519 user keys self-signed with
 * pgp_sign_cert): a good key is certified and the merge verifies; a
 * flipped bit in the answer is refused; an address not in the list, an
 * expired user ID, a revoked user ID, a bad self-signature, a truncated key
 * and too many days are each refused with their code and a sentence.
 * Keys a backup cannot be encrypted to are refused with a sentence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "airlock.h"
#include "config.h"
#include "pgp.h"
#include "pgp_root.h"
#include "rmtree.h"

#define NOW	1800000000

static char tmpdir[] = "/tmp/airlock-test-pgp.XXXXXX";
static struct pgp_root *root;
static struct cfg_profile prof;

static int
setup(void **state)
{
	struct pgp_root_params pp = { NULL, "ed25519", "test CA <ca@test.example>",
	    NULL, NULL, NULL, NOW - 1000 };
	char sub[128], fpr[41], why[256];

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/root", tmpdir);
	pp.dir = sub;
	if (pgp_root_init(&pp, fpr, why, sizeof(why)) == -1 ||
	    pgp_root_load(sub, NULL, &root, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	snprintf(prof.name, sizeof(prof.name), "openpgp");
	prof.max_days = prof.default_days = 366;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pgp_root_free(root);
	rmtree(tmpdir);
	return 0;
}

/* A user key: Ed25519, the user IDs given, each self-signed (positive),
 * the self-signature expiring after exp seconds (0 never); revoke: a
 * revocation of the first user ID follows its self-signature. */
static void
user_key(const char *const *uids, int n, uint32_t exp, int revoke, struct buf *out)
{
	struct pgp_pub pub;
	struct buf body;
	void *sk;
	char why[256];
	int i;

	buf_init(&body);
	assert_int_equal(pgp_keygen("ed25519", NOW - 500, &sk, &body, why, sizeof(why)), 0);
	assert_int_equal(pgp_parse_pub(body.p, body.len, &pub, NULL, why, sizeof(why)), 0);
	assert_int_equal(pgp_pub_load(&pub, why, sizeof(why)), 0);
	assert_int_equal(pgp_put_hdr(out, PGP_TAG_PUBKEY, body.len), 0);
	assert_int_equal(buf_put(out, body.p, body.len), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(pgp_put_hdr(out, PGP_TAG_UID, strlen(uids[i])), 0);
		assert_int_equal(buf_put(out, uids[i], strlen(uids[i])), 0);
		assert_int_equal(pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)uids[i],
		    strlen(uids[i]), PGP_SIG_POSITIVE, NOW - 400, exp, NULL, out), 0);
		if (revoke && i == 0)
			assert_int_equal(pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)uids[i],
			    strlen(uids[i]), PGP_SIG_CERTREV, NOW - 300, 0, NULL, out), 0);
	}
	pgp_pub_free(&pub);
	pgp_sk_free(sk);
	buf_free(&body);
}

static int
certify(const struct buf *key, const char *emails, uint32_t days, struct pgp_result *res,
    char *why, size_t whysz)
{
	struct pgp_request rq = { key->p, key->len, emails, strlen(emails), days, NOW };

	return pgp_certify(root, &prof, &rq, res, why, whysz);
}

static void
test_armor(void **state)
{
	static const uint8_t bin[] = { 0xc0 | 13, 3, 'a', '@', 'b' };
	struct buf a, b;
	char why[128];

	(void)state;
	buf_init(&a);
	buf_init(&b);
	assert_int_equal(pgp_armor("PUBLIC KEY BLOCK", bin, sizeof(bin), &a), 0);
	/* known answer: base64 "zQNhQGI=", CRC-24 of the 5 bytes */
	assert_non_null(strstr((const char *)a.p, "\n\nzQNhQGI=\n="));
	assert_int_equal(pgp_dearmor(a.p, a.len, &b, why, sizeof(why)), 0);
	assert_int_equal(b.len, sizeof(bin));
	assert_memory_equal(b.p, bin, sizeof(bin));
	/* a wrong checksum is refused */
	a.p[strstr((const char *)a.p, "\n=") - (const char *)a.p + 2] ^= 1;
	assert_int_equal(pgp_dearmor(a.p, a.len, &b, why, sizeof(why)), -1);
	buf_free(&a);
	buf_free(&b);
}

static void
test_headers(void **state)
{
	static const uint8_t oldfmt[] = { 0x99, 0x00, 0x02, 'x', 'y' };	/* tag 6, 2-byte len */
	static const uint8_t partial[] = { 0xc6, 0xe1, 'x', 'y' };
	static const uint8_t trunc[] = { 0xc6, 0x05, 'x' };
	static const uint8_t indet[] = { 0x9b, 'x' };
	struct pgp_pkt pk;
	size_t off = 0;
	char why[128];

	(void)state;
	assert_int_equal(pgp_next(oldfmt, sizeof(oldfmt), &off, &pk, why, sizeof(why)), 1);
	assert_int_equal(pk.tag, 6);
	assert_int_equal(pk.len, 2);
	assert_int_equal(off, sizeof(oldfmt));
	off = 0;
	assert_int_equal(pgp_next(partial, sizeof(partial), &off, &pk, why, sizeof(why)), -1);
	off = 0;
	assert_int_equal(pgp_next(trunc, sizeof(trunc), &off, &pk, why, sizeof(why)), -1);
	off = 0;
	assert_int_equal(pgp_next(indet, sizeof(indet), &off, &pk, why, sizeof(why)), -1);
}

static void
test_uid_email(void **state)
{
	char a[256];

	(void)state;
	assert_int_equal(pgp_uid_email((const uint8_t *)"Al Ice <al@x.org>", 17, a, sizeof(a)), 0);
	assert_string_equal(a, "al@x.org");
	assert_int_equal(pgp_uid_email((const uint8_t *)"al@x.org", 8, a, sizeof(a)), 0);
	assert_int_equal(pgp_uid_email((const uint8_t *)"Al Ice", 6, a, sizeof(a)), -1);
	assert_int_equal(pgp_uid_email((const uint8_t *)"<a@b@c>", 7, a, sizeof(a)), -1);
}

static void
test_certify_and_merge(void **state)
{
	static const char *const uids[] = { "Alice <alice@x.org>", "Alice Work <alice@work.org>" };
	struct pgp_result res;
	struct buf key, out;
	char why[256];

	(void)state;
	buf_init(&key);
	buf_init(&out);
	user_key(uids, 2, 0, 0, &key);
	assert_int_equal(certify(&key, "ALICE@x.org", 0, &res, why, sizeof(why)), AL_OK);
	assert_int_equal(res.nsigs, 1);		/* the listed address only */
	assert_int_equal(res.expires, NOW + 366 * 86400);
	assert_int_equal(pgp_merge(root->pub.p, root->pub.len, key.p, key.len, res.sigs.p,
	    res.sigs.len, &out, why, sizeof(why)), 0);
	assert_non_null(strstr((const char *)out.p, "BEGIN PGP PUBLIC KEY BLOCK"));
	/* a forgery: one bit of the signature value flipped */
	res.sigs.p[res.sigs.len - 1] ^= 1;
	assert_int_equal(pgp_merge(root->pub.p, root->pub.len, key.p, key.len, res.sigs.p,
	    res.sigs.len, &out, why, sizeof(why)), -1);
	buf_free(&res.sigs);
	buf_free(&key);
	buf_free(&out);
}

/* An ECDSA key's point as pgp_pub_load sees it: the P-256 OID, then the
 * point as an MPI of bits bits. */
static int
ecdsa_load(const uint8_t *pt, size_t len, unsigned bits, char *why, size_t whysz)
{
	static const uint8_t oid[] = { 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	    0x07 };
	uint8_t mat[sizeof(oid) + 2 + 65];
	struct pgp_pub k;
	int rc;

	assert_true(len <= 65);
	memcpy(mat, oid, sizeof(oid));
	mat[sizeof(oid)] = (uint8_t)(bits >> 8);
	mat[sizeof(oid) + 1] = (uint8_t)bits;
	memcpy(mat + sizeof(oid) + 2, pt, len);
	memset(&k, 0, sizeof(k));
	k.version = 4;
	k.created = NOW;
	k.alg = PGP_PK_ECDSA;
	k.curve = PGP_CURVE_P256;
	k.body = mat;		/* only hashed for the fingerprint here */
	k.len = sizeof(oid) + 2 + len;
	k.mat = mat;
	k.matlen = sizeof(oid) + 2 + len;
	rc = pgp_pub_load(&k, why, whysz);
	pgp_pub_free(&k);
	return rc;
}

/* An EdDSA (Ed25519) key's point as pgp_pub_load sees it: the curve's
 * OID, then 0x40 and the point as an MPI of 263 bits. */
static int
eddsa_load(const uint8_t pt[32], char *why, size_t whysz)
{
	static const uint8_t oid[] = { 9, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47,
	    0x0f, 0x01 };
	uint8_t mat[sizeof(oid) + 3 + 32];
	struct pgp_pub k;
	int rc;

	memcpy(mat, oid, sizeof(oid));
	mat[sizeof(oid)] = 0x01;
	mat[sizeof(oid) + 1] = 0x07;
	mat[sizeof(oid) + 2] = 0x40;
	memcpy(mat + sizeof(oid) + 3, pt, 32);
	memset(&k, 0, sizeof(k));
	k.version = 4;
	k.created = NOW;
	k.alg = PGP_PK_EDDSA;
	k.curve = PGP_CURVE_ED25519;
	k.body = k.mat = mat;
	k.len = k.matlen = sizeof(mat);
	rc = pgp_pub_load(&k, why, whysz);
	pgp_pub_free(&k);
	return rc;
}

/* Ed25519 points of small order (the identity, y = -1, y = 0 and one of
 * order 8) are not keys: for them anyone makes signatures that verify. A
 * real key's point is. */
static void
test_eddsa_small_order(void **state)
{
	static const uint8_t small[4][32] = {
		{ 0x01 },
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0x00 },
		{ 0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
		  0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
		  0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0xfa },
	};
	EVP_PKEY *real = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	uint8_t pk[32];
	size_t len = sizeof(pk), i;
	char why[256];

	(void)state;
	assert_non_null(real);
	assert_int_equal(EVP_PKEY_get_raw_public_key(real, pk, &len), 1);
	assert_int_equal(eddsa_load(pk, why, sizeof(why)), 0);
	for (i = 0; i < 4; i++) {
		why[0] = '\0';
		assert_int_equal(eddsa_load(small[i], why, sizeof(why)), -1);
		assert_non_null(strstr(why, "not a valid public key"));
	}
	EVP_PKEY_free(real);
}

/* An ECDSA key must be a point of its curve other than the point at
 * infinity (for which anyone can make a signature that verifies, so a
 * self-signature proves nothing); the generator of P-256 is one. */
static void
test_ecdsa_point(void **state)
{
	uint8_t g[65] = { 0x04,
	    0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
	    0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0,
	    0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96,
	    0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
	    0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce,
	    0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5 };
	const uint8_t zero[1] = { 0x00 };
	char why[256];

	(void)state;
	assert_int_equal(ecdsa_load(g, sizeof(g), 515, why, sizeof(why)), 0);
	g[64] ^= 1;	/* off the curve */
	assert_int_equal(ecdsa_load(g, sizeof(g), 515, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a valid public key"));
	/* infinity, as one zero octet (an MPI with a leading zero octet) */
	why[0] = '\0';
	assert_int_equal(ecdsa_load(zero, sizeof(zero), 8, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a valid public key"));
}

/* an MPI: two octets of bit count, then the number */
static void
put_mpi(struct buf *b, const BIGNUM *v)
{
	uint8_t hdr[2] = { (uint8_t)(BN_num_bits(v) >> 8), (uint8_t)BN_num_bits(v) };
	uint8_t num[1024];
	int len = BN_bn2bin(v, num);

	assert_true(len > 0 && (size_t)len <= sizeof(num));
	assert_int_equal(buf_put(b, hdr, 2), 0);
	assert_int_equal(buf_put(b, num, (size_t)len), 0);
}

/*
 * An RSA user key with public exponent 1, self-signed with d = 1: with
 * e = 1 a signature is the padded digest itself, which anyone can write,
 * so the self-signature verifies without anyone holding a private key.
 */
static void
rsa_e1_key(const char *uid, struct buf *out)
{
	EVP_PKEY *real = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), *sk = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	BIGNUM *n = NULL;
	struct pgp_pub pub;
	struct buf body;
	const uint8_t head[6] = { 4, (uint8_t)((NOW - 500) >> 24),
	    (uint8_t)((NOW - 500) >> 16), (uint8_t)((NOW - 500) >> 8),
	    (uint8_t)(NOW - 500), PGP_PK_RSA };
	char why[256];

	assert_non_null(real);
	assert_non_null(ctx);
	assert_non_null(bld);
	assert_int_equal(EVP_PKEY_get_bn_param(real, "n", &n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "n", n), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "e", BN_value_one()), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, "d", BN_value_one()), 1);
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &sk, EVP_PKEY_KEYPAIR, params), 1);
	buf_init(&body);
	assert_int_equal(buf_put(&body, head, sizeof(head)), 0);
	put_mpi(&body, n);
	put_mpi(&body, BN_value_one());
	assert_int_equal(pgp_parse_pub(body.p, body.len, &pub, NULL, why, sizeof(why)), 0);
	assert_int_equal(pgp_pub_load(&pub, why, sizeof(why)), 0);
	assert_int_equal(pgp_put_hdr(out, PGP_TAG_PUBKEY, body.len), 0);
	assert_int_equal(buf_put(out, body.p, body.len), 0);
	assert_int_equal(pgp_put_hdr(out, PGP_TAG_UID, strlen(uid)), 0);
	assert_int_equal(buf_put(out, uid, strlen(uid)), 0);
	assert_int_equal(pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)uid,
	    strlen(uid), PGP_SIG_POSITIVE, NOW - 400, 0, NULL, out), 0);
	pgp_pub_free(&pub);
	buf_free(&body);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(sk);
	EVP_PKEY_free(real);
	BN_free(n);
}

/* Such a key is refused for its exponent (205), not certified. */
static void
test_rsa_exponent(void **state)
{
	struct pgp_result res;
	struct buf key;
	char why[512];

	(void)state;
	buf_init(&key);
	rsa_e1_key("Eve <eve@x.org>", &key);
	memset(&res, 0, sizeof(res));
	assert_int_equal(certify(&key, "eve@x.org", 0, &res, why, sizeof(why)),
	    AL_E_KEY_SIZE);
	assert_non_null(strstr(why, "exponent"));
	buf_free(&res.sigs);
	buf_free(&key);
}

static void
test_refusals(void **state)
{
	static const char *const uids[] = { "Bob <bob@x.org>" };
	struct pgp_result res;
	struct buf key;
	char why[256];

	(void)state;
	buf_init(&key);
	user_key(uids, 1, 0, 0, &key);
	assert_int_equal(certify(&key, "carol@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_UID);
	assert_non_null(strstr(why, "no user ID"));
	assert_int_equal(certify(&key, "bob@x.org", 400, &res, why, sizeof(why)), AL_E_VALIDITY);
	assert_int_equal(certify(&key, "not an address", 0, &res, why, sizeof(why)), AL_E_MSG_VALUE);
	key.len -= 10;		/* truncated */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_PARSE);
	key.len += 10;
	key.p[key.len - 1] ^= 1;	/* bad self-signature */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_SELFSIG);
	buf_reset(&key);
	user_key(uids, 1, 50, 0, &key);		/* the self-signature expired */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_EXPIRED);
	buf_reset(&key);
	user_key(uids, 1, 0, 1, &key);		/* the user ID revoked */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_REVOKED);
	buf_free(&key);
}

/* Keys a backup may not be encrypted to (pgp_encrypt.c; the good cases,
 * RSA and Curve25519 keys made by gpg, are in t_backup.sh). */
static void
test_enc_key_refusals(void **state)
{
	static const char *const uids[] = { "Custodian <c@x.org>" };
	static const uint8_t cv_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };
	struct pgp_enc_key ek;
	struct buf key, sub;
	uint8_t pt[33];
	char why[512], ids[64];
	time_t now = NOW;

	(void)state;
	buf_init(&key);
	buf_init(&sub);
	user_key(uids, 1, 0, 0, &key);
	assert_int_equal(pgp_enc_key(key.p, key.len, now, &ek, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no valid encryption subkey"));
	/* an ECDH Curve25519 subkey without a binding signature */
	buf_put_u8(&sub, 4);
	buf_put_u32(&sub, NOW - 100);
	buf_put_u8(&sub, PGP_PK_ECDH);
	buf_put_u8(&sub, sizeof(cv_oid));
	buf_put(&sub, cv_oid, sizeof(cv_oid));
	memset(pt, 0x11, sizeof(pt));
	pt[0] = 0x40;
	pgp_put_mpi(&sub, pt, sizeof(pt));
	buf_put(&sub, "\x03\x01\x08\x09", 4);
	pgp_put_hdr(&key, PGP_TAG_PUBSUB, sub.len);
	buf_put(&key, sub.p, sub.len);
	assert_int_equal(pgp_enc_key(key.p, key.len, now, &ek, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "among its 1 subkey(s)"));
	/* ... followed by a signature that is no binding (a copy of the UID's) */
	{
		size_t off = 0;
		struct pgp_pkt pk;

		while (pgp_next(key.p, key.len, &off, &pk, NULL, 0) == 1 && pk.tag != PGP_TAG_SIG)
			;
		buf_reset(&sub);
		buf_put(&sub, pk.raw, pk.rawlen);	/* key.p may move */
		buf_put(&key, sub.p, sub.len);
	}
	assert_int_equal(pgp_enc_key(key.p, key.len, now, &ek, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no valid encryption subkey"));
	/* an expired, a truncated and a garbage key: a sentence each */
	assert_int_equal(pgp_enc_key(key.p, key.len - 7, now, &ek, why, sizeof(why)), -1);
	assert_true(why[0] != '\0');
	assert_int_equal(pgp_enc_key((const uint8_t *)"garbage", 7, now, &ek, why, sizeof(why)), -1);
	assert_true(why[0] != '\0');
	buf_reset(&key);
	user_key(uids, 1, 50, 0, &key);
	assert_int_equal(pgp_enc_key(key.p, key.len, now, &ek, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no user ID with a valid self-signature"));
	/* nothing to encrypt to; and no OpenPGP message is seen in a key */
	assert_int_equal(pgp_encrypt(NULL, 0, "x", 0, (const uint8_t *)"x", 1, &sub, why,
	    sizeof(why)), -1);
	assert_int_equal(pgp_recipients(key.p, key.len, ids, sizeof(ids)), 0);
	buf_free(&key);
	buf_free(&sub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_armor),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_uid_email),
		cmocka_unit_test(test_certify_and_merge),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_ecdsa_point),
		cmocka_unit_test(test_rsa_exponent),
		cmocka_unit_test(test_eddsa_small_order),
		cmocka_unit_test(test_enc_key_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
