/*
 * pgp_import.c: the secret half of a v4 secret-key packet (RFC 4880 5.5.3),
 * for `airlockctl pgp-root import`: an existing root key (the old system's
 * was DSA-1024) keeps its fingerprint and so the web of trust around it.
 *
 * Accepted: unprotected keys (usage 0, two-octet checksum) and keys
 * protected with usage 254 (SHA-1 check) or 255 (two-octet checksum), S2K
 * simple, salted or iterated+salted (types 0, 1, 3) over SHA-1 or SHA-2,
 * AES-128/192/256 or CAST5 in OpenPGP CFB mode; RSA, DSA, ECDSA and EdDSA
 * (Ed25519) keys. Anything else is refused with a sentence. Decrypted
 * bytes are cleared on every path.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "pgp.h"


static const EVP_MD *
s2k_md(int h)
{
	switch (h) {
	case PGP_H_SHA1: return EVP_sha1();
	case PGP_H_SHA256: return EVP_sha256();
	case PGP_H_SHA384: return EVP_sha384();
	case PGP_H_SHA512: return EVP_sha512();
	case PGP_H_SHA224: return EVP_sha224();
	}
	return NULL;
}

static const EVP_CIPHER *
s2k_cipher(int c)
{
	switch (c) {
	case 3: return EVP_cast5_cfb64();	/* needs the legacy provider */
	case 7: return EVP_aes_128_cfb128();
	case 8: return EVP_aes_192_cfb128();
	case 9: return EVP_aes_256_cfb128();
	}
	return NULL;
}

/* RFC 4880 3.7.1: the key from the passphrase. */
static int
s2k_key(int type, const EVP_MD *md, const uint8_t *salt, uint32_t count,
    const char *pass, uint8_t *key, size_t keylen)
{
	size_t pl = strlen(pass), done = 0, n, total, i;
	uint8_t dg[EVP_MAX_MD_SIZE], zero = 0;
	unsigned dl;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int pass_no, ok = c != NULL;

	for (pass_no = 0; ok && done < keylen; pass_no++) {
		ok = EVP_DigestInit_ex(c, md, NULL);
		for (i = 0; ok && i < (size_t)pass_no; i++)
			ok = EVP_DigestUpdate(c, &zero, 1);
		if (type == 0)
			ok = ok && EVP_DigestUpdate(c, pass, pl);
		else if (type == 1)
			ok = ok && EVP_DigestUpdate(c, salt, 8) && EVP_DigestUpdate(c, pass, pl);
		else {
			total = count < 8 + pl ? 8 + pl : count;
			for (i = 0; ok && i < total;) {
				n = total - i < 8 ? total - i : 8;
				ok = EVP_DigestUpdate(c, salt, n);
				i += n;
				n = total - i < pl ? total - i : pl;
				ok = ok && (n == 0 || EVP_DigestUpdate(c, pass, n));
				i += n;
			}
		}
		ok = ok && EVP_DigestFinal_ex(c, dg, &dl);
		n = keylen - done < dl ? keylen - done : dl;
		if (ok)
			memcpy(key + done, dg, n);
		done += n;
	}
	EVP_MD_CTX_free(c);
	OPENSSL_cleanse(dg, sizeof(dg));
	return ok ? 0 : -1;
}

static int
push_bn(OSSL_PARAM_BLD *b, const char *name, const uint8_t *v, size_t vl, BIGNUM **keep)
{
	*keep = BN_bin2bn(v, (int)vl, NULL);
	return *keep != NULL && OSSL_PARAM_BLD_push_BN(b, name, *keep);
}

/* An EVP key pair from the public material and the secret MPIs. */
static EVP_PKEY *
sk_evp(const struct pgp_pub *pub, const uint8_t *s, size_t sl)
{
	static const char *const rsa_names[] = { OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E };
	static const char *const dsa_names[] = { OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
	    OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY };
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *k = NULL;
	BIGNUM *bn[16] = { 0 }, *t = NULL;
	BN_CTX *bc = BN_CTX_new();
	const uint8_t *v[6], *m = pub->mat;
	size_t vl[6], off = 0, moff = 0, i;
	uint8_t raw[32];
	const char *type = NULL;
	int ok = b != NULL && bc != NULL, nb = 0;

	switch (pub->alg) {
	case PGP_PK_EDDSA:
		moff = 1 + m[0];
		if (pgp_mpi_get(s, sl, &off, &v[0], &vl[0]) == -1 || vl[0] > 32)
			goto done;
		memset(raw, 0, sizeof(raw));
		memcpy(raw + 32 - vl[0], v[0], vl[0]);
		k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw, 32);
		OPENSSL_cleanse(raw, sizeof(raw));
		goto done;
	case PGP_PK_RSA: case PGP_PK_RSA_S:
		type = "RSA";
		for (i = 0; ok && i < 2; i++)
			ok = pgp_mpi_get(m, pub->matlen, &moff, &v[i], &vl[i]) == 0 &&
			    push_bn(b, rsa_names[i], v[i], vl[i], &bn[nb++]);
		for (i = 2; ok && i < 6; i++)	/* d, p, q, u */
			ok = pgp_mpi_get(s, sl, &off, &v[i], &vl[i]) == 0 &&
			    (bn[nb++] = BN_bin2bn(v[i], (int)vl[i], NULL)) != NULL;
		if (!ok)
			goto done;
		/* d mod (p-1), d mod (q-1), q^-1 mod p */
		ok = (t = BN_new()) != NULL && (bn[6] = BN_new()) != NULL &&
		    (bn[7] = BN_new()) != NULL &&
		    BN_sub(t, bn[3], BN_value_one()) && BN_mod(bn[6], bn[2], t, bc) &&
		    BN_sub(t, bn[4], BN_value_one()) && BN_mod(bn[7], bn[2], t, bc) &&
		    (bn[8] = BN_mod_inverse(NULL, bn[4], bn[3], bc)) != NULL &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, bn[2]) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR1, bn[3]) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_FACTOR2, bn[4]) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT1, bn[6]) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_EXPONENT2, bn[7]) &&
		    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bn[8]);
		break;
	case PGP_PK_DSA:
		type = "DSA";
		for (i = 0; ok && i < 4; i++)
			ok = pgp_mpi_get(m, pub->matlen, &moff, &v[i], &vl[i]) == 0 &&
			    push_bn(b, dsa_names[i], v[i], vl[i], &bn[nb++]);
		ok = ok && pgp_mpi_get(s, sl, &off, &v[4], &vl[4]) == 0 &&
		    push_bn(b, OSSL_PKEY_PARAM_PRIV_KEY, v[4], vl[4], &bn[nb++]);
		break;
	case PGP_PK_ECDSA:
		type = "EC";
		moff = 1 + m[0];
		ok = pgp_mpi_get(m, pub->matlen, &moff, &v[0], &vl[0]) == 0 &&
		    pgp_mpi_get(s, sl, &off, &v[1], &vl[1]) == 0 &&
		    OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME,
		    pub->curve == PGP_CURVE_P256 ? "P-256" : pub->curve == PGP_CURVE_P384 ?
		    "P-384" : "P-521", 0) &&
		    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, v[0], vl[0]) &&
		    push_bn(b, OSSL_PKEY_PARAM_PRIV_KEY, v[1], vl[1], &bn[nb++]);
		break;
	default:
		goto done;
	}
	if (ok && (params = OSSL_PARAM_BLD_to_param(b)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEYPAIR, params);
done:
	for (i = 0; i < sizeof(bn) / sizeof(bn[0]); i++)
		BN_clear_free(bn[i]);
	BN_clear_free(t);
	BN_CTX_free(bc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return k;
}

/* Checks the checksum of the plaintext secret part; its length without it. */
static int
sk_check(const uint8_t *p, size_t n, int usage, size_t *len)
{
	uint8_t dg[20];
	unsigned sum = 0;
	size_t i;

	if (usage == 254) {
		if (n < 20 || !EVP_Digest(p, n - 20, dg, NULL, EVP_sha1(), NULL) ||
		    memcmp(dg, p + n - 20, 20) != 0)
			return -1;
		*len = n - 20;
		return 0;
	}
	if (n < 2)
		return -1;
	for (i = 0; i < n - 2; i++)
		sum += p[i];
	if ((sum & 0xffff) != ((unsigned)p[n - 2] << 8 | p[n - 1]))
		return -1;
	*len = n - 2;
	return 0;
}

int
pgp_seckey_decrypt(const uint8_t *body, size_t len, const char *pass, void **sk,
    char *why, size_t whysz)
{
	struct pgp_pub pub;
	const EVP_CIPHER *ciph = NULL;
	const EVP_MD *md = NULL;
	EVP_CIPHER_CTX *c = NULL;
	uint8_t key[32], plain[8192];
	const uint8_t *p, *salt = NULL;
	size_t off, n, sl, blk;
	uint32_t count = 0;
	int usage, type = 0, outl, rc = -1;

	*sk = NULL;
	if (pgp_parse_pub(body, len, &pub, &off, why, whysz) == -1 ||
	    pgp_pub_load(&pub, why, whysz) == -1)
		return -1;
	p = body + off;
	n = len - off;
	if (n < 1)
		goto bad;
	usage = p[0];
	if (usage == 0) {
		if (n - 1 > sizeof(plain))
			goto bad;
		memcpy(plain, p + 1, n - 1);
		sl = n - 1;
	} else if (usage == 254 || usage == 255) {
		if (n < 4 || (ciph = s2k_cipher(p[1])) == NULL) {
			pgp_fail(why, whysz, "the secret key's cipher is not supported");
			goto done;
		}
		type = p[2];
		if ((md = s2k_md(p[3])) == NULL || (type != 0 && type != 1 && type != 3)) {
			pgp_fail(why, whysz, "the secret key's S2K is not supported (a gpg "
			    "card stub or an unknown type?)");
			goto done;
		}
		off = 4;
		if (type != 0) {
			if (n - off < 8)
				goto bad;
			salt = p + off;
			off += 8;
		}
		if (type == 3) {
			if (n - off < 1)
				goto bad;
			count = (uint32_t)(16 + (p[off] & 15)) << ((p[off] >> 4) + 6);
			off++;
		}
		blk = (size_t)EVP_CIPHER_get_iv_length(ciph);
		if (n - off < blk || n - off - blk > sizeof(plain) || pass == NULL ||
		    s2k_key(type, md, salt, count, pass, key,
		    (size_t)EVP_CIPHER_get_key_length(ciph)) == -1)
			goto bad;
		if ((c = EVP_CIPHER_CTX_new()) == NULL ||
		    !EVP_DecryptInit_ex(c, ciph, NULL, key, p + off) ||
		    !EVP_DecryptUpdate(c, plain, &outl, p + off + blk, (int)(n - off - blk)))
			goto bad;
		sl = (size_t)outl;
	} else {
		pgp_fail(why, whysz, "the secret key's protection is not supported");
		goto done;
	}
	if (sk_check(plain, sl, usage, &sl) == -1) {
		pgp_fail(why, whysz, usage ? "wrong passphrase for the secret key, or it is "
		    "corrupt" : "the secret key's checksum is wrong");
		goto done;
	}
	if ((*sk = sk_evp(&pub, plain, sl)) == NULL) {
		pgp_fail(why, whysz, "the secret key's numbers are not a valid key of its type");
		goto done;
	}
	rc = 0;
	goto done;
bad:
	pgp_fail(why, whysz, "the secret key packet is malformed");
done:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	pgp_pub_free(&pub);
	return rc;
}
