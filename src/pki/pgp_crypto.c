/*
 * pgp_crypto.c: the OpenSSL side of the OpenPGP module (with
 * pgp_encrypt.c, the only OpenPGP files that include OpenSSL headers). It turns OpenPGP key material
 * into EVP keys, computes v4 fingerprints and certification hashes
 * (RFC 4880 5.2.4: the key packet as 0x99 || u16 length || body, the user ID
 * as 0xB4 || u32 length || bytes, the signature's hashed part and the v4
 * trailer), verifies and makes signatures, and decrypts S2K-protected
 * secret keys for import (simple, salted and iterated+salted S2K; AES in
 * CFB mode; the SHA-1 or two-octet checksum).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "pgp.h"


static const uint8_t ed25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01 };

/* The MPIs of key material or a signature, in order; n found. */
static int
mpis(const uint8_t *p, size_t len, const uint8_t **v, size_t *vl, int max)
{
	size_t off = 0, bytes;
	int n = 0;

	while (off < len && n < max) {
		if (len - off < 2)
			return -1;
		bytes = (((size_t)p[off] << 8 | p[off + 1]) + 7) / 8;
		if (len - off - 2 < bytes)
			return -1;
		v[n] = p + off + 2;
		vl[n++] = bytes;
		off += 2 + bytes;
	}
	return off == len ? n : -1;
}

static const char *
curve_name(int c)
{
	return c == PGP_CURVE_P256 ? "P-256" : c == PGP_CURVE_P384 ? "P-384" :
	    c == PGP_CURVE_P521 ? "P-521" : NULL;
}

/* An EVP key from big-endian numbers or an EC point. */
static EVP_PKEY *
pkey_from(const char *type, const char *const *names, const uint8_t *const *v,
    const size_t *vl, int n, const char *group, int priv)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn[8] = { 0 };
	int i, ok = bld != NULL;

	if (ok && group != NULL)
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	for (i = 0; ok && i < n && i < 8; i++) {
		if (group != NULL && strcmp(names[i], OSSL_PKEY_PARAM_PUB_KEY) == 0) {
			ok = OSSL_PARAM_BLD_push_octet_string(bld, names[i], v[i], vl[i]);
			continue;
		}
		ok = (bn[i] = BN_bin2bn(v[i], (int)vl[i], NULL)) != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
	}
	if (ok)
		ok = (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
		    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) != NULL &&
		    EVP_PKEY_fromdata_init(ctx) > 0 &&
		    EVP_PKEY_fromdata(ctx, &k, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
		    params) > 0;
	for (i = 0; i < 8; i++)
		BN_clear_free(bn[i]);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/*
 * k if its point is on the curve and not the point at infinity, else NULL
 * (k freed): the key manager takes one zero octet as infinity, for which
 * anyone can make an ECDSA signature that verifies, a self-signature too.
 */
static EVP_PKEY *
ec_point_ok(EVP_PKEY *k)
{
	EVP_PKEY_CTX *ctx;
	int ok;

	if (k == NULL)
		return NULL;
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	ok = ctx != NULL && EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

static EVP_PKEY *
pub_evp(const struct pgp_pub *k)
{
	static const char *const rsa[] = { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E };
	static const char *const dsa[] = { OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
	    OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY };
	static const char *const ec[] = { OSSL_PKEY_PARAM_PUB_KEY };
	const uint8_t *v[4], *m = k->mat;
	size_t vl[4], ml = k->matlen;

	switch (k->alg) {
	case PGP_PK_RSA: case PGP_PK_RSA_S: case PGP_PK_RSA_E:
		return mpis(m, ml, v, vl, 2) == 2 ? pkey_from("RSA", rsa, v, vl, 2, NULL, 0) : NULL;
	case PGP_PK_DSA:
		return mpis(m, ml, v, vl, 4) == 4 ? pkey_from("DSA", dsa, v, vl, 4, NULL, 0) : NULL;
	case PGP_PK_ECDSA:
		if (curve_name(k->curve) == NULL)
			return NULL;
		return mpis(m + 1 + m[0], ml - 1 - m[0], v, vl, 1) == 1 ?
		    ec_point_ok(pkey_from("EC", ec, v, vl, 1, curve_name(k->curve),
		    0)) : NULL;
	case PGP_PK_EDDSA:	/* and not of small order: anyone signs for those */
		if (k->curve != PGP_CURVE_ED25519 || mpis(m + 1 + m[0], ml - 1 - m[0],
		    v, vl, 1) != 1 || vl[0] != 33 || v[0][0] != 0x40 ||
		    crypto_ed25519_public_ok(v[0] + 1) == -1)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, v[0] + 1, 32);
	case PGP_PK_ED25519:
		if (ml < 32 || crypto_ed25519_public_ok(m) == -1)
			return NULL;
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, m, 32);
	}
	return NULL;
}

int
pgp_pub_load(struct pgp_pub *k, char *why, size_t whysz)
{
	uint8_t hdr[3] = { 0x99, (uint8_t)(k->len >> 8), (uint8_t)k->len };
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c != NULL && k->len <= 0xffff && EVP_DigestInit_ex(c, EVP_sha1(), NULL) &&
	    EVP_DigestUpdate(c, hdr, 3) && EVP_DigestUpdate(c, k->body, k->len) &&
	    EVP_DigestFinal_ex(c, k->fpr, NULL);
	EVP_MD_CTX_free(c);
	if (!ok)
		return pgp_fail(why, whysz, "%s", "cannot compute the key's fingerprint");
	k->pkey = pub_evp(k);
	if (k->pkey == NULL && (k->alg <= PGP_PK_RSA_S || k->alg == PGP_PK_DSA ||
	    k->alg == PGP_PK_ECDSA || k->alg == PGP_PK_EDDSA || k->alg == PGP_PK_ED25519) &&
	    (k->alg != PGP_PK_ECDSA || curve_name(k->curve) != NULL) &&
	    (k->alg != PGP_PK_EDDSA || k->curve == PGP_CURVE_ED25519))
		return pgp_fail(why, whysz, "%s", "the key's numbers are not a valid public key");
	return 0;
}

void
pgp_pub_free(struct pgp_pub *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

static const EVP_MD *
pgp_md(int h)
{
	switch (h) {
	case PGP_H_SHA1: return EVP_sha1();
	case PGP_H_SHA224: return EVP_sha224();
	case PGP_H_SHA256: return EVP_sha256();
	case PGP_H_SHA384: return EVP_sha384();
	case PGP_H_SHA512: return EVP_sha512();
	}
	return NULL;
}

/* The digest a certification signs (RFC 4880 5.2.4). */
static int
cert_hash2(const struct pgp_pub *key, const struct pgp_pub *sub, const uint8_t *uid,
    size_t uidlen, int hashalg, const uint8_t *hashed, size_t hashedlen, uint8_t *out,
    unsigned *outlen)
{
	const EVP_MD *md = pgp_md(hashalg);
	uint8_t kh[3] = { 0x99, (uint8_t)(key->len >> 8), (uint8_t)key->len };
	uint8_t sh[3] = { 0x99, (uint8_t)(sub ? sub->len >> 8 : 0), (uint8_t)(sub ? sub->len : 0) };
	uint8_t uh[5] = { 0xb4, (uint8_t)(uidlen >> 24), (uint8_t)(uidlen >> 16),
	    (uint8_t)(uidlen >> 8), (uint8_t)uidlen };
	uint8_t tr[6] = { 0x04, 0xff, (uint8_t)(hashedlen >> 24), (uint8_t)(hashedlen >> 16),
	    (uint8_t)(hashedlen >> 8), (uint8_t)hashedlen };
	EVP_MD_CTX *c;
	int ok;

	if (md == NULL || (c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, kh, 3) &&
	    EVP_DigestUpdate(c, key->body, key->len) &&
	    (uid == NULL || (EVP_DigestUpdate(c, uh, 5) && EVP_DigestUpdate(c, uid, uidlen))) &&
	    (sub == NULL || (EVP_DigestUpdate(c, sh, 3) && EVP_DigestUpdate(c, sub->body, sub->len))) &&
	    EVP_DigestUpdate(c, hashed, hashedlen) && EVP_DigestUpdate(c, tr, 6) &&
	    EVP_DigestFinal_ex(c, out, outlen);
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

static int
cert_hash(const struct pgp_pub *key, const uint8_t *uid, size_t uidlen,
    int hashalg, const uint8_t *hashed, size_t hashedlen, uint8_t *out, unsigned *outlen)
{
	return cert_hash2(key, NULL, uid, uidlen, hashalg, hashed, hashedlen, out, outlen);
}

/* r || s as a DER SEQUENCE (DSA and ECDSA signatures look alike). */
static int
rs_der(const uint8_t *r, size_t rl, const uint8_t *s, size_t sl, uint8_t **der, size_t *dl)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(r, (int)rl, NULL), *bs = BN_bin2bn(s, (int)sl, NULL);
	int n;

	*der = NULL;
	if (sig == NULL || br == NULL || bs == NULL || !ECDSA_SIG_set0(sig, br, bs)) {
		BN_free(br);
		BN_free(bs);
		ECDSA_SIG_free(sig);
		return -1;
	}
	n = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig);
	if (n <= 0)
		return -1;
	*dl = (size_t)n;
	return 0;
}

static int
verify_digest(const struct pgp_pub *signer, int hashalg, const uint8_t *dg, unsigned dl,
    const uint8_t *m, size_t ml)
{
	const uint8_t *v[2];
	uint8_t sig[1024], *der = NULL;
	size_t vl[2], sl;
	EVP_PKEY_CTX *c = NULL;
	EVP_MD_CTX *mc = NULL;
	int ok = 0, n = mpis(m, ml, v, vl, 2);

	if (signer->alg == PGP_PK_ED25519) {
		if (ml != 64)
			return 0;
		memcpy(sig, m, 64);
		n = 0;
	}
	if (signer->pkey == NULL || n < 0)
		return 0;
	switch (signer->alg) {
	case PGP_PK_EDDSA:
		if (n != 2 || vl[0] > 32 || vl[1] > 32)
			return 0;
		memset(sig, 0, 64);
		memcpy(sig + 32 - vl[0], v[0], vl[0]);
		memcpy(sig + 64 - vl[1], v[1], vl[1]);
		/* FALLTHROUGH */
	case PGP_PK_ED25519:
		ok = (mc = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestVerifyInit(mc, NULL, NULL, NULL, signer->pkey) == 1 &&
		    EVP_DigestVerify(mc, sig, 64, dg, dl) == 1;
		break;
	case PGP_PK_RSA: case PGP_PK_RSA_S:
		sl = (size_t)EVP_PKEY_get_size(signer->pkey);
		if (n != 1 || vl[0] > sl || sl > sizeof(sig))
			return 0;
		memset(sig, 0, sl);
		memcpy(sig + sl - vl[0], v[0], vl[0]);
		ok = (c = EVP_PKEY_CTX_new(signer->pkey, NULL)) != NULL &&
		    EVP_PKEY_verify_init(c) > 0 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(c, pgp_md(hashalg)) > 0 &&
		    EVP_PKEY_verify(c, sig, sl, dg, dl) == 1;
		break;
	case PGP_PK_DSA: case PGP_PK_ECDSA:
		if (n != 2 || rs_der(v[0], vl[0], v[1], vl[1], &der, &sl) == -1)
			return 0;
		ok = (c = EVP_PKEY_CTX_new(signer->pkey, NULL)) != NULL &&
		    EVP_PKEY_verify_init(c) > 0 &&
		    EVP_PKEY_verify(c, der, sl, dg, dl) == 1;
		OPENSSL_free(der);
		break;
	}
	EVP_PKEY_CTX_free(c);
	EVP_MD_CTX_free(mc);
	return ok;
}

int
pgp_verify_cert(const struct pgp_pub *signer, const struct pgp_pub *key,
    const uint8_t *uid, size_t uidlen, const struct pgp_sig *s, const uint8_t *raw,
    size_t rawlen)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned dl;

	(void)raw;
	(void)rawlen;
	if (s->pkalg != signer->alg || cert_hash(key, uid, uidlen, s->hashalg, s->hashed,
	    s->hashedlen, dg, &dl) == -1 || memcmp(dg, s->left16, 2) != 0)
		return 0;
	return verify_digest(signer, s->hashalg, dg, dl, s->mpis, s->mpilen);
}

int
pgp_verify_binding(const struct pgp_pub *primary, const struct pgp_pub *sub,
    const struct pgp_sig *s)
{
	uint8_t dg[EVP_MAX_MD_SIZE];
	unsigned dl;

	if (s->pkalg != primary->alg || sub->len > 0xffff || cert_hash2(primary, sub, NULL, 0,
	    s->hashalg, s->hashed, s->hashedlen, dg, &dl) == -1 || memcmp(dg, s->left16, 2) != 0)
		return 0;
	return verify_digest(primary, s->hashalg, dg, dl, s->mpis, s->mpilen);
}

static int
put_sub(struct buf *b, int type, const uint8_t *p, size_t n)
{
	return buf_put_u8(b, (uint8_t)(n + 1)) == -1 || buf_put_u8(b, (uint8_t)type) == -1 ||
	    buf_put(b, p, n) == -1 ? -1 : 0;
}

/* The signature value of digest dg as OpenPGP MPIs. */
static int
sign_digest(const struct pgp_pub *signer, EVP_PKEY *sk, int hashalg, const uint8_t *dg,
    unsigned dl, struct buf *out)
{
	uint8_t sig[1024];
	const uint8_t *dp;
	size_t sl = sizeof(sig);
	EVP_PKEY_CTX *c = NULL;
	EVP_MD_CTX *mc = NULL;
	ECDSA_SIG *rs = NULL;
	const BIGNUM *r, *s;
	uint8_t rb[128], sb[128];
	int ok = 0;

	switch (signer->alg) {
	case PGP_PK_EDDSA:
		sl = 64;
		ok = (mc = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit(mc, NULL, NULL, NULL, sk) == 1 &&
		    EVP_DigestSign(mc, sig, &sl, dg, dl) == 1 && sl == 64 &&
		    pgp_put_mpi(out, sig, 32) == 0 && pgp_put_mpi(out, sig + 32, 32) == 0;
		break;
	case PGP_PK_RSA: case PGP_PK_RSA_S:
		ok = (c = EVP_PKEY_CTX_new(sk, NULL)) != NULL && EVP_PKEY_sign_init(c) > 0 &&
		    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		    EVP_PKEY_CTX_set_signature_md(c, pgp_md(hashalg)) > 0 &&
		    EVP_PKEY_sign(c, sig, &sl, dg, dl) > 0 && pgp_put_mpi(out, sig, sl) == 0;
		break;
	case PGP_PK_DSA: case PGP_PK_ECDSA:
		ok = (c = EVP_PKEY_CTX_new(sk, NULL)) != NULL && EVP_PKEY_sign_init(c) > 0 &&
		    EVP_PKEY_sign(c, sig, &sl, dg, dl) > 0;
		dp = sig;
		ok = ok && (rs = d2i_ECDSA_SIG(NULL, &dp, (long)sl)) != NULL;
		if (ok) {
			ECDSA_SIG_get0(rs, &r, &s);
			ok = BN_num_bytes(r) <= (int)sizeof(rb) && BN_num_bytes(s) <= (int)sizeof(sb) &&
			    pgp_put_mpi(out, rb, (size_t)BN_bn2bin(r, rb)) == 0 &&
			    pgp_put_mpi(out, sb, (size_t)BN_bn2bin(s, sb)) == 0;
		}
		break;
	}
	ECDSA_SIG_free(rs);
	EVP_PKEY_CTX_free(c);
	EVP_MD_CTX_free(mc);
	OPENSSL_cleanse(sig, sizeof(sig));
	return ok ? 0 : -1;
}

int
pgp_sign_cert(const struct pgp_pub *signer, void *sk, const struct pgp_pub *key,
    const uint8_t *uid, size_t uidlen, int type, uint32_t created, uint32_t expires,
    const struct buf *extra, struct buf *out)
{
	struct buf h, body;
	uint8_t v[21], dg[EVP_MAX_MD_SIZE];
	unsigned dl;
	int rc = -1;

	buf_init(&h);
	buf_init(&body);
	/* hashed part: version, type, algorithms, subpackets */
	if (buf_put_u8(&h, 4) == -1 || buf_put_u8(&h, (uint8_t)type) == -1 ||
	    buf_put_u8(&h, (uint8_t)signer->alg) == -1 || buf_put_u8(&h, PGP_H_SHA256) == -1 ||
	    buf_put_u16(&h, 0) == -1)
		goto done;
	v[0] = (uint8_t)(created >> 24), v[1] = (uint8_t)(created >> 16);
	v[2] = (uint8_t)(created >> 8), v[3] = (uint8_t)created;
	if (put_sub(&h, 2, v, 4) == -1)
		goto done;
	v[0] = (uint8_t)(expires >> 24), v[1] = (uint8_t)(expires >> 16);
	v[2] = (uint8_t)(expires >> 8), v[3] = (uint8_t)expires;
	/* critical, as GnuPG writes it (CAcert's old webdb client reads the
	 * expiry only from a critical one: docs/legacy-v1.md) */
	if (expires != 0 && put_sub(&h, 3 | 0x80, v, 4) == -1)
		goto done;
	v[0] = 4;
	memcpy(v + 1, signer->fpr, PGP_FPR_LEN);
	if (put_sub(&h, 33, v, 21) == -1 ||
	    (extra != NULL && buf_put(&h, extra->p, extra->len) == -1) || h.len - 6 > 0xffff)
		goto done;
	h.p[4] = (uint8_t)((h.len - 6) >> 8);
	h.p[5] = (uint8_t)(h.len - 6);
	if (cert_hash(key, uid, uidlen, PGP_H_SHA256, h.p, h.len, dg, &dl) == -1)
		goto done;
	/* unhashed: the issuer key id; then the left 16 bits and the value */
	if (buf_put(&body, h.p, h.len) == -1 || buf_put_u16(&body, 10) == -1 ||
	    put_sub(&body, 16, signer->fpr + 12, 8) == -1 || buf_put(&body, dg, 2) == -1 ||
	    sign_digest(signer, sk, PGP_H_SHA256, dg, dl, &body) == -1)
		goto done;
	rc = pgp_put_hdr(out, PGP_TAG_SIG, body.len) == -1 ? -1 : buf_put(out, body.p, body.len);
done:
	buf_free(&h);
	buf_free(&body);
	return rc;
}

/* The public key packet body of a new key. */
static int
pub_body(EVP_PKEY *k, int alg, uint32_t t, struct buf *b)
{
	uint8_t raw[600];
	size_t rl = 32;
	BIGNUM *n = NULL, *e = NULL;
	int ok;

	if (buf_put_u8(b, 4) == -1 || buf_put_u32(b, t) == -1 || buf_put_u8(b, (uint8_t)alg) == -1)
		return -1;
	if (alg == PGP_PK_EDDSA) {
		raw[0] = 0x40;
		rl = 32;
		return EVP_PKEY_get_raw_public_key(k, raw + 1, &rl) == 1 && rl == 32 &&
		    buf_put_u8(b, sizeof(ed25519_oid)) == 0 &&
		    buf_put(b, ed25519_oid, sizeof(ed25519_oid)) == 0 &&
		    buf_put_u16(b, 263) == 0 && buf_put(b, raw, 33) == 0 ? 0 : -1;
	}
	ok = EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) &&
	    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e) &&
	    BN_num_bytes(n) <= (int)sizeof(raw) &&
	    pgp_put_mpi(b, raw, (size_t)BN_bn2bin(n, raw)) == 0 &&
	    pgp_put_mpi(b, raw, (size_t)BN_bn2bin(e, raw)) == 0;
	BN_free(n);
	BN_free(e);
	return ok ? 0 : -1;
}

int
pgp_keygen(const char *alg, uint32_t t, void **sk, struct buf *pubbody, char *why,
    size_t whysz)
{
	EVP_PKEY *k = NULL;
	int a;

	*sk = NULL;
	if (strcmp(alg, "ed25519") == 0) {
		a = PGP_PK_EDDSA;
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else if (strcmp(alg, "rsa4096") == 0 || strcmp(alg, "rsa:4096") == 0) {
		a = PGP_PK_RSA;
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
	} else
		return pgp_fail(why, whysz, "unknown key type \"%s\" (ed25519 or rsa4096)", alg);
	if (k == NULL || pub_body(k, a, t, pubbody) == -1) {
		EVP_PKEY_free(k);
		return pgp_fail(why, whysz, "%s", "cannot generate the key");
	}
	*sk = k;
	return 0;
}

void
pgp_sk_free(void *sk)
{
	EVP_PKEY_free(sk);
}

int
pgp_sk_matches(void *sk, const struct pgp_pub *pub)
{
	return pub->pkey != NULL && EVP_PKEY_eq(sk, pub->pkey) == 1;
}

int
pgp_sk_write(const char *path, void *sk, const char *pass, char *why, size_t whysz)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	BUF_MEM *bm;
	int fd, ok;

	if (bio == NULL || !PEM_write_bio_PKCS8PrivateKey(bio, sk,
	    pass ? EVP_aes_256_cbc() : NULL, pass, pass ? (int)strlen(pass) : 0, NULL, NULL)) {
		BIO_free(bio);
		return pgp_fail(why, whysz, "%s: cannot encode the key", path);
	}
	BIO_get_mem_ptr(bio, &bm);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		BIO_free(bio);
		return pgp_fail(why, whysz, "%s: cannot create (it may exist already)", path);
	}
	ok = write_full(fd, bm->data, bm->length) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	BIO_free(bio);
	return ok ? 0 : pgp_fail(why, whysz, "%s: cannot write", path);
}

int
pgp_sk_read(const char *path, const char *pass, void **sk, char *why, size_t whysz)
{
	struct buf b;
	BIO *bio = NULL;

	*sk = NULL;
	buf_init(&b);
	if (read_file(path, &b, 1u << 20) == 0 &&
	    (bio = BIO_new_mem_buf(b.p, (int)b.len)) != NULL)
		*sk = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)(uintptr_t)(pass ? pass : ""));
	BIO_free(bio);
	buf_free(&b);
	return *sk != NULL ? 0 : pgp_fail(why, whysz,
	    "%s: cannot read the key (missing, wrong passphrase or corrupt)", path);
}
