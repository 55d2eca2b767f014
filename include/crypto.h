/*
 * crypto.h: the link's symmetric cryptography (HMAC-SHA256, SHA-256, the
 * CSPRNG) and the pre-shared link key file. ca.c holds everything X.509.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LINK_KEY_LEN	32
#define HMAC_LEN	32

/* crypto.c */
/* A digest fetched once from the default provider (an EVP_MD), for the
 * OpenSSL calls of the files that include its headers. */
struct evp_md_st;
enum crypto_md { CRYPTO_SHA1, CRYPTO_SHA256, CRYPTO_SHA384, CRYPTO_SHA512,
	CRYPTO_MD_COUNT };
const struct evp_md_st *crypto_md(enum crypto_md);
/* An RSA public key (an EVP_PKEY) fit to certify: e odd, 65537 <= e <
 * 2^256 (NIST SP 800-89); n odd without a prime factor below 752 (CA/B
 * Forum baseline 6.1.6). 0, or -1 with why set. */
struct evp_pkey_st;
int	 crypto_rsa_public_ok(const struct evp_pkey_st *, char *why, size_t whysz);
/* An Ed25519 public key not of small order (for which anyone can make
 * signatures that verify): 0, or -1. */
int	 crypto_ed25519_public_ok(const uint8_t pk[32]);
int	 crypto_random(void *, size_t);
/* HMAC-SHA256 over the concatenation a || b (b may be NULL). */
void	 crypto_hmac(const uint8_t *key, size_t keylen, const void *a, size_t alen,
	    const void *b, size_t blen, uint8_t out[HMAC_LEN]);
void	 crypto_sha256(const void *, size_t, uint8_t out[32]);
/* SHA-256 of a file from its start, read in pieces; -1 if over max bytes. */
int	 crypto_sha256_fd(int fd, uint64_t max, uint8_t out[32]);
/* SHA-1 and MD5 for the old v1 protocol's CRL names and patches: 0, -1. */
int	 crypto_sha1(const void *, size_t, uint8_t out[20]);
int	 crypto_md5(const void *, size_t, uint8_t out[16]);
int	 crypto_memeq(const void *, const void *, size_t);	/* constant time; 1 equal */
void	 crypto_cleanse(void *, size_t);
/* scrypt (RFC 7914) through OpenSSL's EVP_KDF "SCRYPT": out gets outlen
 * bytes from secret and salt with cost N (a power of 2), r and p; 0 or -1. */
int	 crypto_scrypt(const void *secret, size_t len, const uint8_t *salt,
	    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, uint8_t *out,
	    size_t outlen);
/* OpenSSL's secure heap for private keys loaded afterwards: locked in
 * memory (mlock) and left out of core dumps where the limits allow. */
void	 crypto_lock_keys(void);
/* The link key file holds 64 hex digits and a newline, mode 0600 (or 0400),
 * and must not be readable by group or others. */
/* Appends DER as PEM with the given label ("CERTIFICATE", ...). */
int	 pem_encode(const char *label, const uint8_t *der, size_t len, struct buf *out);
/* The DER of the first CERTIFICATE REQUEST block of PEM text p, into out
 * (replaced): 0, or -1 if p is not such PEM (DER, SPKAC, a block with
 * headers, bad base64; out unchanged), or if memory ran out. */
int	 csr_pem_to_der(const uint8_t *p, size_t n, struct buf *out);
/* Appends each certificate of a concatenation of DER certificates as PEM. */
int	 chain_pem(const uint8_t *der, size_t len, struct buf *out);
int	 linkkey_load(const char *path, uint8_t key[LINK_KEY_LEN], char *why, size_t whysz);
int	 linkkey_create(const char *path, char *why, size_t whysz);

#endif
