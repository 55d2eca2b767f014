/*
 * crypto.c: HMAC-SHA256, SHA-256 and random bytes from OpenSSL, and the
 * link key file. The key file is created with O_EXCL|O_NOFOLLOW and mode
 * 0600; loading refuses a file that group or others could read, because
 * whoever holds the key can speak for webdb on the cable.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "util.h"

/*
 * The digests and the MAC, fetched from the default provider once: one named
 * by EVP_sha256() and the like is looked up in the provider store, under its
 * lock, on every use (against the signer's other threads), and the fetch is
 * the expensive part of a small digest or HMAC.
 */
static EVP_MD *crypto_mds[CRYPTO_MD_COUNT];
static EVP_MAC *crypto_hmac_mac;

static void
crypto_fetch(void)
{
	static const char *const names[CRYPTO_MD_COUNT] = {
		[CRYPTO_SHA1] = "SHA1", [CRYPTO_SHA256] = "SHA2-256",
		[CRYPTO_SHA384] = "SHA2-384", [CRYPTO_SHA512] = "SHA2-512",
	};
	int i;

	for (i = 0; i < CRYPTO_MD_COUNT; i++)
		crypto_mds[i] = EVP_MD_fetch(NULL, names[i], NULL);
	crypto_hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static void
crypto_fetch_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crypto_fetch);
}

const struct evp_md_st *
crypto_md(enum crypto_md which)
{
	crypto_fetch_once();
	if (crypto_mds[which] != NULL)
		return crypto_mds[which];
	switch (which) {	/* not fetched: the library's own, looked up each time */
	case CRYPTO_SHA1:
		return EVP_sha1();
	case CRYPTO_SHA384:
		return EVP_sha384();
	case CRYPTO_SHA512:
		return EVP_sha512();
	default:
		return EVP_sha256();
	}
}

/*
 * The product of the primes below 752, made once: a modulus sharing a
 * factor with it has a factor below 752 (the CA/Browser Forum's baseline
 * requirements, 6.1.6).
 */
static BIGNUM *crypto_small_primes;

static void
crypto_small_primes_make(void)
{
	BIGNUM *b = BN_new();
	BN_ULONG q, d;
	int prime;

	if (b == NULL || !BN_one(b))
		goto fail;
	for (q = 2; q < 752; q++) {
		for (prime = 1, d = 2; d * d <= q && prime; d++)
			prime = q % d != 0;
		if (prime && !BN_mul_word(b, q))
			goto fail;
	}
	crypto_small_primes = b;
	return;
fail:
	BN_free(b);
}

int
crypto_rsa_public_ok(const struct evp_pkey_st *k, char *why, size_t whysz)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	BIGNUM *n = NULL, *e = NULL, *g = NULL;
	BN_CTX *bc = NULL;
	int rc = -1;

	pthread_once(&once, crypto_small_primes_make);
	if (!EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e)) {
		say(why, whysz, "the RSA key's numbers cannot be read");
		goto done;
	}
	/* NIST SP 800-89: odd, 65537 <= e < 2^256 (e = 1 or 3 lets a
	 * signature be made without the private key, or nearly) */
	if (!BN_is_odd(e) || BN_num_bits(e) < 17 || BN_num_bits(e) > 256) {
		say(why, whysz, "the RSA public exponent must be odd, at least "
		    "65537 and less than 2^256");
		goto done;
	}
	if (!BN_is_odd(n)) {
		say(why, whysz, "the RSA modulus is even");
		goto done;
	}
	if (crypto_small_primes == NULL || (g = BN_new()) == NULL ||
	    (bc = BN_CTX_new()) == NULL || !BN_gcd(g, n, crypto_small_primes, bc)) {
		say(why, whysz, "out of memory checking the RSA modulus");
		goto done;
	}
	if (!BN_is_one(g)) {
		say(why, whysz, "the RSA modulus has a factor below 752");
		goto done;
	}
	rc = 0;
done:
	BN_free(n);
	BN_free(e);
	BN_free(g);
	BN_CTX_free(bc);
	return rc;
}

/*
 * An Ed25519 public key that is not one of the eight points of small order
 * (in any of their encodings). OpenSSL takes them, and for those a
 * signature of anything can be made without a private key (with A the
 * identity, s*B = R + h*A holds for R = s*B). A point is of small order
 * exactly when its y is 0, 1, -1 or one of the two y of the points of order
 * 8 (y^2 = -x^2, x^2 = (1 +- sqrt(1 + d)) / d on -x^2 + y^2 = 1 + d x^2 y^2);
 * y is the low 255 bits, taken mod p (an encoding of y + p is refused too).
 */
int
crypto_ed25519_public_ok(const uint8_t pk[32])
{
	static const char *const small_y[] = {
		"0", "1",
		"7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffec",
		"05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826",
		"7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7",
	};
	uint8_t le[32];
	BIGNUM *y = NULL, *p = NULL, *t = NULL;
	BN_CTX *bc = BN_CTX_new();
	size_t i;
	int ok = 0;

	memcpy(le, pk, sizeof(le));
	le[31] &= 0x7f;		/* the sign of x */
	if (bc == NULL || (y = BN_lebin2bn(le, sizeof(le), NULL)) == NULL ||
	    (t = BN_new()) == NULL || !BN_hex2bn(&p,
	    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed") ||
	    !BN_nnmod(y, y, p, bc))
		goto done;
	for (i = 0; i < sizeof(small_y) / sizeof(small_y[0]); i++) {
		if (!BN_hex2bn(&t, small_y[i]))
			goto done;
		if (BN_cmp(y, t) == 0)
			goto done;
	}
	ok = 1;
done:
	BN_free(y);
	BN_free(p);
	BN_free(t);
	BN_CTX_free(bc);
	return ok ? 0 : -1;
}

int
crypto_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

void
crypto_hmac(const uint8_t *key, size_t keylen, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[HMAC_LEN])
{
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[2];
	size_t outl = 0;

	crypto_fetch_once();
	if (crypto_hmac_mac == NULL)
		fatalx("crypto: HMAC is not available");
	params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)(uintptr_t)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(crypto_hmac_mac)) == NULL ||
	    EVP_MAC_init(ctx, key, keylen, params) != 1 ||
	    EVP_MAC_update(ctx, a, alen) != 1 ||
	    (b != NULL && blen && EVP_MAC_update(ctx, b, blen) != 1) ||
	    EVP_MAC_final(ctx, out, &outl, HMAC_LEN) != 1 || outl != HMAC_LEN)
		fatalx("crypto: HMAC failed");
	EVP_MAC_CTX_free(ctx);
}

void
crypto_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned int len = 32;

	if (EVP_Digest(p, n, out, &len, crypto_md(CRYPTO_SHA256), NULL) != 1)
		fatalx("crypto: SHA-256 failed");
}

/*
 * SHA-256 of what fd holds from its start (pread: the file offset stays),
 * at most max bytes, read 64 KiB at a time: memory does not grow with the
 * file. 0, or -1 (a read error, or more than max bytes).
 */
int
crypto_sha256_fd(int fd, uint64_t max, uint8_t out[32])
{
	uint8_t blk[65536];
	EVP_MD_CTX *c;
	uint64_t total = 0;
	ssize_t n;
	int rc = -1;

	if ((c = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(c,
	    crypto_md(CRYPTO_SHA256), NULL) != 1)
		goto done;
	for (;;) {
		n = pread(fd, blk, sizeof(blk), (off_t)total);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		total += (uint64_t)n;
		if (total > max || EVP_DigestUpdate(c, blk, (size_t)n) != 1)
			goto done;
	}
	if (n == 0 && EVP_DigestFinal_ex(c, out, NULL) == 1)
		rc = 0;
done:
	EVP_MD_CTX_free(c);
	return rc;
}

/* Legacy digests, only to name and check bytes the old CommModule
 * protocol names that way (docs/legacy-v1.md): never for a signature. */
int
crypto_sha1(const void *p, size_t n, uint8_t out[20])
{
	unsigned int len = 20;

	return EVP_Digest(p, n, out, &len, EVP_sha1(), NULL) == 1 ? 0 : -1;
}

int
crypto_md5(const void *p, size_t n, uint8_t out[16])
{
	unsigned int len = 16;

	return EVP_Digest(p, n, out, &len, EVP_md5(), NULL) == 1 ? 0 : -1;
}

int
crypto_memeq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_cleanse(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

#define CRYPTO_SECURE_HEAP	(1 << 20)	/* private keys of 32 roots and more */
#define CRYPTO_SECURE_MIN	64

/*
 * Private key numbers that OpenSSL decodes after this (ca.key) live in an
 * arena that is mlock(2)ed, guarded and marked MADV_DONTDUMP, and cleared
 * when freed. Without RLIMIT_MEMLOCK room the arena still works, unlocked.
 */
void
crypto_lock_keys(void)
{
	switch (CRYPTO_secure_malloc_init(CRYPTO_SECURE_HEAP, CRYPTO_SECURE_MIN)) {
	case 1:
		log_debug("keys: secure heap of %d KiB, locked in memory",
		    CRYPTO_SECURE_HEAP >> 10);
		break;
	case 2:
		log_warnx("keys: secure heap not locked in memory (RLIMIT_MEMLOCK "
		    "too small); keys may be swapped out");
		break;
	default:
		log_warnx("keys: no secure heap; keys live in ordinary memory");
	}
}

int
linkkey_load(const char *path, uint8_t key[LINK_KEY_LEN], char *why, size_t whysz)
{
	char text[2 * LINK_KEY_LEN + 2];
	struct stat st;
	ssize_t r;
	int fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(why, whysz, "%s: cannot open link key: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (st.st_mode & 077) != 0) {
		snprintf(why, whysz, "%s: link key must not be readable by group or "
		    "others (chmod 600)", path);
		goto out;
	}
	memset(text, 0, sizeof(text));
	r = read_full(fd, text, sizeof(text) - 1);
	if (r < 2 * LINK_KEY_LEN || (r > 2 * LINK_KEY_LEN && text[2 * LINK_KEY_LEN] != '\n')) {
		snprintf(why, whysz, "%s: link key must be 64 hex digits and a newline", path);
		goto out;
	}
	text[2 * LINK_KEY_LEN] = '\0';
	if (hex_decode(text, key, LINK_KEY_LEN) == -1) {
		snprintf(why, whysz, "%s: link key must be 64 hex digits and a newline", path);
		goto out;
	}
	rv = 0;
out:
	crypto_cleanse(text, sizeof(text));
	close(fd);
	return rv;
}

int
linkkey_create(const char *path, char *why, size_t whysz)
{
	uint8_t key[LINK_KEY_LEN];
	char text[2 * LINK_KEY_LEN + 2];
	int fd, rv = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(why, whysz, "%s: cannot create link key: %s", path, strerror(errno));
		return -1;
	}
	if (crypto_random(key, sizeof(key)) == -1) {
		snprintf(why, whysz, "random number generator failed");
		goto out;
	}
	hex_encode(key, sizeof(key), text);
	text[2 * LINK_KEY_LEN] = '\n';
	if (write_full(fd, text, 2 * LINK_KEY_LEN + 1) == -1 || fsync(fd) == -1) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		goto out;
	}
	rv = 0;
out:
	crypto_cleanse(key, sizeof(key));
	crypto_cleanse(text, sizeof(text));
	close(fd);
	if (rv == -1)
		unlink(path);
	return rv;
}

int
pem_encode(const char *label, const uint8_t *der, size_t len, struct buf *out)
{
	unsigned char line[65 + 1];
	size_t off, n;
	char hdr[80];
	int k;

	snprintf(hdr, sizeof(hdr), "-----BEGIN %s-----\n", label);
	if (buf_put(out, hdr, strlen(hdr)) == -1)
		return -1;
	for (off = 0; off < len; off += n) {
		n = len - off < 48 ? len - off : 48;	/* 48 bytes: a 64-column line */
		k = EVP_EncodeBlock(line, der + off, (int)n);
		line[k] = '\n';
		if (buf_put(out, line, (size_t)k + 1) == -1)
			return -1;
	}
	snprintf(hdr, sizeof(hdr), "-----END %s-----\n", label);
	return buf_put(out, hdr, strlen(hdr));
}

/* Length of the DER element at p (tag, length, contents), or 0 if invalid. */
static size_t
der_element_len(const uint8_t *p, size_t n)
{
	const unsigned char *q = p;
	long len;
	int tag, cls;

	if (n == 0 || n > LONG_MAX)
		return 0;
	/* 0x80 is an error (or indefinite length, which DER does not have) */
	if (ASN1_get_object(&q, &len, &tag, &cls, (long)n) & 0x80)
		return 0;
	return (size_t)(q - p) + (size_t)len;
}

int
chain_pem(const uint8_t *der, size_t len, struct buf *out)
{
	size_t off = 0, n;

	while (off < len) {
		if ((n = der_element_len(der + off, len - off)) == 0)
			return -1;
		if (pem_encode("CERTIFICATE", der + off, n, out) == -1)
			return -1;
		off += n;
	}
	return 0;
}

int
crypto_scrypt(const void *secret, size_t len, const uint8_t *salt, size_t saltlen,
    uint64_t n, uint32_t r, uint32_t p, uint8_t *out, size_t outlen)
{
	OSSL_PARAM params[6], *q = params;
	EVP_KDF_CTX *ctx = NULL;
	EVP_KDF *kdf;
	int rc = -1;

	if ((kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL)) == NULL ||
	    (ctx = EVP_KDF_CTX_new(kdf)) == NULL)
		goto done;
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
	    (void *)(uintptr_t)secret, len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
	    (void *)(uintptr_t)salt, saltlen);
	*q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	*q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	*q = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, outlen, params) == 1)
		rc = 0;
done:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return rc;
}

/* PEM with a Proc-Type header asks for a password: never one here */
static int
pem_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
csr_pem_to_der(const uint8_t *p, size_t n, struct buf *out)
{
	unsigned char *der = NULL;
	long len = 0;
	BIO *bio;
	int rv = -1;

	if (n == 0 || n > INT_MAX || p[0] != '-')
		return -1;
	/* the block the signer takes: the first CERTIFICATE REQUEST (or NEW
	 * CERTIFICATE REQUEST) one, the same call on the same text */
	if ((bio = BIO_new_mem_buf(p, (int)n)) != NULL &&
	    PEM_bytes_read_bio(&der, &len, NULL, PEM_STRING_X509_REQ, bio,
	    pem_no_password, NULL) == 1 && len > 0 && der[0] == 0x30) {
		buf_reset(out);
		rv = buf_put(out, der, (size_t)len);
	}
	ERR_clear_error();
	BIO_free(bio);
	OPENSSL_free(der);
	return rv;
}
