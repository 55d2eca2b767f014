/*
 * pgp_encrypt.c: OpenPGP encryption of a file to public keys (RFC 4880
 * sections 5.1, 5.9, 5.13, 5.14; RFC 6637 for ECDH), for backups sealed
 * to a custodian's key (docs/operations.md). What it writes:
 *
 *   one Public-Key Encrypted Session Key packet (tag 1, version 3) per
 *   recipient, each holding the same AES-256 session key, then one
 *   Symmetrically Encrypted Integrity Protected Data packet (tag 18,
 *   version 1): AES-256 CFB with a zero IV over a 16-byte random prefix,
 *   its last two bytes again, a Literal Data packet (tag 11, binary) and
 *   the Modification Detection Code packet (tag 19, SHA-1).
 *
 * A recipient's key is a transferable public key (binary or armoured, as
 * `gpg --export` gives it). The key used is its newest subkey that a valid
 * binding signature of the primary key marks for encryption, is neither
 * revoked nor expired, and is RSA or ECDH on Curve25519 (else the primary
 * key, when its self-signature marks it for encryption and it is RSA); the
 * primary key itself must be valid (pgp_key_usable). Any other key is refused with a
 * sentence saying why. Decryption is the key holder's: `gpg --decrypt`.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"
#include "pgp.h"

#define SYM_AES256	9
#define SESSION_LEN	32
#define ANON_SENDER	"Anonymous Sender    "	/* RFC 6637 section 8, 20 bytes */

static const uint8_t cv25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };

/* The session key as a recipient's algorithm wraps it: alg || key || sum. */
static void
session_block(const uint8_t *sk, uint8_t out[1 + SESSION_LEN + 2])
{
	unsigned sum = 0, i;

	out[0] = SYM_AES256;
	for (i = 0; i < SESSION_LEN; i++) {
		out[1 + i] = sk[i];
		sum += sk[i];
	}
	out[1 + SESSION_LEN] = (uint8_t)(sum >> 8);
	out[2 + SESSION_LEN] = (uint8_t)sum;
}

static int
esk_rsa(const struct pgp_pub *k, const uint8_t *block, size_t blen, struct buf *out)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k->pkey, NULL);
	uint8_t ct[1024];
	size_t cl = sizeof(ct);
	int ok;

	ok = c != NULL && EVP_PKEY_encrypt_init(c) > 0 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
	    EVP_PKEY_encrypt(c, ct, &cl, block, blen) > 0 && pgp_put_mpi(out, ct, cl) == 0;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : -1;
}

/* RFC 6637 section 8 on X25519: KEK = H(00000001 || Z || param), the block
 * padded as PKCS#5 to 8 bytes and wrapped with AES key wrap (RFC 3394). */
static int
esk_x25519(const struct pgp_pub *k, const uint8_t *block, size_t blen, struct buf *out)
{
	const uint8_t *m = k->mat, *pt, *kdf;
	size_t ml = k->matlen, off, ptl;
	EVP_PKEY *peer = NULL, *eph = NULL;
	EVP_PKEY_CTX *c = NULL;
	EVP_CIPHER_CTX *w = NULL;
	const EVP_CIPHER *kw;
	const EVP_MD *md;
	EVP_MD_CTX *h = NULL;
	uint8_t z[32], ep[33], param[128], dg[EVP_MAX_MD_SIZE], padded[48], wrapped[64];
	uint8_t ctr[4] = { 0, 0, 0, 1 };
	size_t zl = sizeof(z), epl = 32, pl = 0, padl;
	int ok = 0, wl = 0, fl = 0;

	off = 1 + (size_t)m[0];
	if (pgp_mpi_get(m, ml, &off, &pt, &ptl) == -1 || ptl != 33 || pt[0] != 0x40 ||
	    off + 4 != ml || m[off] != 3 || m[off + 1] != 1)
		return -1;
	kdf = m + off + 2;		/* hash id, KEK algorithm */
	md = kdf[0] == PGP_H_SHA256 ? EVP_sha256() : kdf[0] == PGP_H_SHA384 ? EVP_sha384() :
	    kdf[0] == PGP_H_SHA512 ? EVP_sha512() : NULL;
	kw = kdf[1] == 7 ? EVP_aes_128_wrap() : kdf[1] == 8 ? EVP_aes_192_wrap() :
	    kdf[1] == 9 ? EVP_aes_256_wrap() : NULL;
	if (md == NULL || kw == NULL)
		return -1;
	/* the KDF's param: curve OID, algorithm 18, KDF parameters, sender, fpr */
	param[pl++] = (uint8_t)sizeof(cv25519_oid);
	memcpy(param + pl, cv25519_oid, sizeof(cv25519_oid));
	pl += sizeof(cv25519_oid);
	param[pl++] = PGP_PK_ECDH;
	memcpy(param + pl, m + off, 4);
	pl += 4;
	memcpy(param + pl, ANON_SENDER, 20);
	pl += 20;
	memcpy(param + pl, k->fpr, PGP_FPR_LEN);
	pl += PGP_FPR_LEN;
	/* PKCS#5 padding of the session block to a multiple of 8 */
	padl = (blen / 8 + 1) * 8;
	memcpy(padded, block, blen);
	memset(padded + blen, (int)(padl - blen), padl - blen);
	ep[0] = 0x40;
	if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pt + 1, 32)) == NULL ||
	    (c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(c) <= 0 || EVP_PKEY_keygen(c, &eph) <= 0 ||
	    EVP_PKEY_get_raw_public_key(eph, ep + 1, &epl) <= 0 || epl != 32)
		goto done;
	EVP_PKEY_CTX_free(c);
	if ((c = EVP_PKEY_CTX_new(eph, NULL)) == NULL || EVP_PKEY_derive_init(c) <= 0 ||
	    EVP_PKEY_derive_set_peer(c, peer) <= 0 || EVP_PKEY_derive(c, z, &zl) <= 0 ||
	    zl != 32)
		goto done;
	if ((h = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(h, md, NULL) ||
	    !EVP_DigestUpdate(h, ctr, 4) || !EVP_DigestUpdate(h, z, zl) ||
	    !EVP_DigestUpdate(h, param, pl) || !EVP_DigestFinal_ex(h, dg, NULL))
		goto done;
	if ((w = EVP_CIPHER_CTX_new()) == NULL)
		goto done;
	EVP_CIPHER_CTX_set_flags(w, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (!EVP_EncryptInit_ex(w, kw, NULL, dg, NULL) ||
	    !EVP_EncryptUpdate(w, wrapped, &wl, padded, (int)padl) ||
	    !EVP_EncryptFinal_ex(w, wrapped + wl, &fl) || (size_t)(wl + fl) != padl + 8)
		goto done;
	ok = pgp_put_mpi(out, ep, 33) == 0 && buf_put_u8(out, (uint8_t)(padl + 8)) == 0 &&
	    buf_put(out, wrapped, padl + 8) == 0;
done:
	crypto_cleanse(z, sizeof(z));
	crypto_cleanse(dg, sizeof(dg));
	crypto_cleanse(padded, sizeof(padded));
	EVP_CIPHER_CTX_free(w);
	EVP_MD_CTX_free(h);
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(eph);
	return ok ? 0 : -1;
}

static int
enc_capable(const struct pgp_pub *s)
{
	/* e = 1 would send the session key as it is */
	if (s->alg == PGP_PK_RSA || s->alg == PGP_PK_RSA_E)
		return s->pkey != NULL && s->bits >= 2048 &&
		    crypto_rsa_public_ok(s->pkey, NULL, 0) == 0;
	return s->alg == PGP_PK_ECDH && s->curve == PGP_CURVE_CV25519;
}

int
pgp_enc_key(const uint8_t *in, size_t inlen, time_t now, struct pgp_enc_key *ek,
    char *why, size_t whysz)
{
	struct buf bin;
	struct pgp_key *k = NULL;
	struct pgp_pub sub;
	struct pgp_sig s;
	uint32_t best = 0, exp;
	int i, j, bound, revoked, seen = 0, pflags, rv = -1;

	memset(ek, 0, sizeof(*ek));
	buf_init(&bin);
	if (pgp_dearmor(in, inlen, &bin, why, whysz) == -1 ||
	    pgp_key_parse(bin.p, bin.len, 0, &k, why, whysz) == -1 ||
	    pgp_pub_load(&k->pub, why, whysz) == -1 || pgp_key_usable(k, now, &pflags, why, whysz) == -1)
		goto done;
	for (i = 1; i < k->npkt; i++) {
		if (k->pkt[i].tag != PGP_TAG_PUBSUB)
			continue;
		if (pgp_parse_pub(k->pkt[i].body, k->pkt[i].len, &sub, NULL, NULL, 0) == -1 ||
		    pgp_pub_load(&sub, NULL, 0) == -1)
			continue;
		seen++;
		bound = revoked = 0;
		exp = 0;
		for (j = i + 1; j < k->npkt && (k->pkt[j].tag == PGP_TAG_SIG ||
		    k->pkt[j].tag == PGP_TAG_TRUST); j++) {
			if (k->pkt[j].tag != PGP_TAG_SIG ||
			    pgp_parse_sig(k->pkt[j].body, k->pkt[j].len, &s, NULL, 0) != 0 ||
			    s.critical_unknown || s.created == 0 || (time_t)s.created > now + 86400 ||
			    !pgp_verify_binding(&k->pub, &sub, &s))
				continue;
			if (s.type == PGP_SIG_SUBREV)
				revoked = 1;
			else if (s.type == PGP_SIG_SUBKEY && s.has_flags && (s.key_flags & 0x0c) &&
			    (s.sig_expires == 0 || (time_t)s.created + (time_t)s.sig_expires > now)) {
				bound = 1;
				exp = s.key_expires;
			}
		}
		if (!bound || revoked || (exp != 0 && (time_t)sub.created + (time_t)exp <= now) ||
		    !enc_capable(&sub) || sub.created < best) {
			pgp_pub_free(&sub);
			continue;
		}
		pgp_pub_free(&ek->sub);
		ek->sub = sub;
		best = sub.created;
		ek->found = 1;
	}
	if (!ek->found && pflags != -1 && (pflags & 0x0c) && enc_capable(&k->pub)) {
		ek->sub = k->pub;	/* the primary key itself encrypts (an RSA key alone) */
		k->pub.pkey = NULL;
		ek->found = 1;
	}
	if (!ek->found) {
		pgp_fail(why, whysz, "the key has no valid encryption subkey (RSA of 2048 "
		    "bits or more, or Curve25519) among its %d subkey(s), and its primary "
		    "key is not one marked for encryption", seen);
		goto done;
	}
	pgp_fpr_hex(k->pub.fpr, ek->primary_hex);
	pgp_fpr_hex(ek->sub.fpr, ek->sub_hex);
	ek->bin = bin;
	buf_init(&bin);
	/* sub points into k->bin, a copy of bin: the same offsets in ek->bin */
	ek->sub.body = ek->bin.p + (ek->sub.body - k->bin.p);
	ek->sub.mat = ek->sub.body + 6;
	rv = 0;
done:
	if (rv == -1)
		pgp_pub_free(&ek->sub);
	pgp_key_free(k);
	buf_free(&bin);
	return rv;
}

void
pgp_enc_key_free(struct pgp_enc_key *ek)
{
	pgp_pub_free(&ek->sub);
	buf_free(&ek->bin);
	memset(ek, 0, sizeof(*ek));
}

/* The SEIPD packet's plaintext: a Literal Data packet and the MDC. */
static int
seipd(const uint8_t *sk, const char *name, uint32_t date, const uint8_t *msg, size_t n,
    struct buf *out)
{
	struct buf pt;
	EVP_CIPHER_CTX *c = NULL;
	uint8_t iv[16] = { 0 }, mdc[20];
	size_t nl = strlen(name) > 255 ? 255 : strlen(name), start;
	int ok = 0, l1 = 0, l2 = 0;

	buf_init(&pt);
	if (buf_reserve(&pt, n + nl + 64) == -1 || crypto_random(iv, 16) == -1)
		goto done;
	/* prefix: 16 random bytes and a repeat of the last two */
	if (buf_put(&pt, iv, 16) == -1 || buf_put(&pt, iv + 14, 2) == -1 ||
	    pgp_put_hdr(&pt, 11, 6 + nl + n) == -1 || buf_put_u8(&pt, 'b') == -1 ||
	    buf_put_u8(&pt, (uint8_t)nl) == -1 || buf_put(&pt, name, nl) == -1 ||
	    buf_put_u32(&pt, date) == -1 || buf_put(&pt, msg, n) == -1 ||
	    buf_put_u8(&pt, 0xd3) == -1 || buf_put_u8(&pt, 0x14) == -1)
		goto done;
	memset(iv, 0, sizeof(iv));
	if (!EVP_Digest(pt.p, pt.len, mdc, NULL, EVP_sha1(), NULL) || buf_put(&pt, mdc, 20) == -1)
		goto done;
	if (pgp_put_hdr(out, 18, 1 + pt.len) == -1 || buf_put_u8(out, 1) == -1 ||
	    buf_reserve(out, pt.len + 16) == -1)
		goto done;
	start = out->len;
	if ((c = EVP_CIPHER_CTX_new()) == NULL ||
	    !EVP_EncryptInit_ex(c, EVP_aes_256_cfb128(), NULL, sk, iv) ||
	    !EVP_EncryptUpdate(c, out->p + start, &l1, pt.p, (int)pt.len) ||
	    !EVP_EncryptFinal_ex(c, out->p + start + l1, &l2) || (size_t)(l1 + l2) != pt.len)
		goto done;
	out->len = start + pt.len;
	ok = 1;
done:
	EVP_CIPHER_CTX_free(c);
	crypto_cleanse(pt.p, pt.cap);
	buf_free(&pt);
	return ok ? 0 : -1;
}

int
pgp_encrypt(const struct pgp_enc_key *to, int nto, const char *name, uint32_t date,
    const uint8_t *msg, size_t n, struct buf *out, char *why, size_t whysz)
{
	struct buf esk;
	uint8_t sk[SESSION_LEN], block[1 + SESSION_LEN + 2];
	int i, rv = -1;

	if (nto < 1 || n > (1ull << 32) - 4096)
		return pgp_fail(why, whysz, "nothing to encrypt to, or the file is over 4 GiB");
	buf_init(&esk);
	if (crypto_random(sk, sizeof(sk)) == -1) {
		pgp_fail(why, whysz, "no random bytes for the session key");
		goto done;
	}
	session_block(sk, block);
	for (i = 0; i < nto; i++) {
		esk.len = 0;
		if (buf_put_u8(&esk, 3) == -1 || buf_put(&esk, to[i].sub.fpr + 12, 8) == -1 ||
		    buf_put_u8(&esk, (uint8_t)to[i].sub.alg) == -1 ||
		    (to[i].sub.alg == PGP_PK_ECDH ? esk_x25519(&to[i].sub, block, sizeof(block), &esk) :
		    esk_rsa(&to[i].sub, block, sizeof(block), &esk)) == -1 ||
		    pgp_put_hdr(out, 1, esk.len) == -1 || buf_put(out, esk.p, esk.len) == -1) {
			pgp_fail(why, whysz, "cannot encrypt the session key to %s", to[i].sub_hex);
			goto done;
		}
	}
	if (seipd(sk, name, date, msg, n, out) == -1) {
		pgp_fail(why, whysz, "cannot encrypt (AES-256 CFB) or out of memory");
		goto done;
	}
	rv = 0;
done:
	crypto_cleanse(sk, sizeof(sk));
	crypto_cleanse(block, sizeof(block));
	buf_free(&esk);
	return rv;
}

int
pgp_recipients(const uint8_t *p, size_t n, char *out, size_t outsz)
{
	struct pgp_pkt pk;
	size_t off = 0, used = 0;
	int r, count = 0;

	out[0] = '\0';
	while ((r = pgp_next(p, n, &off, &pk, NULL, 0)) == 1 && pk.tag == 1) {
		if (pk.len >= 10 && pk.body[0] == 3 && used + 18 < outsz) {
			for (r = 0; r < 8; r++)
				used += (size_t)snprintf(out + used, outsz - used, "%02X", pk.body[1 + r]);
			used += (size_t)snprintf(out + used, outsz - used, " ");
		}
		count++;
	}
	if (used > 0)
		out[used - 1] = '\0';
	return count > 0 && r == 1 && pk.tag == 18 ? count : 0;
}
