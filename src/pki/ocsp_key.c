/*
 * ocsp_key.c: the OCSP responder's own keys, for airlock-ocspd's renewal
 * of its certificates (docs/ocsp.md, "Responder certificates"): a new key
 * like the one in use (same type, size or curve; P-256 when there is
 * none), and a PKCS#10 request for it with the subject of the certificate
 * in use, a configured one or a default. The new key leaves this file
 * only as PEM in the caller's buffer (buf_free clears it); the request
 * is what goes into the spool. The "/CN=x/O=y" subject parser is shared
 * with the CA engine (airlockctl root init).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crl_x509.h"
#include "ocsp.h"
#include "util.h"

#define OCSP_KEY_RSA_MIN	2048	/* a smaller key is renewed at this size */
#define OCSP_KEY_RSA_MAX	8192

X509_NAME *
x509_parse_subject(const char *subject, char *why, size_t whysz)
{
	X509_NAME *name = NULL;
	char *copy = NULL, *p, *type, *val, *w;

	if (subject == NULL || subject[0] != '/' ||
	    (copy = strdup(subject + 1)) == NULL ||
	    (name = X509_NAME_new()) == NULL)
		goto fail;
	for (p = copy; *p != '\0';) {
		type = p;
		if ((p = strchr(p, '=')) == NULL || p == type)
			goto fail;
		*p++ = '\0';
		for (val = w = p; *p != '\0' && *p != '/'; *w++ = *p++)
			if (*p == '\\' && p[1] != '\0')
				p++;
		if (*p == '/')
			p++;
		*w = '\0';
		if (*val == '\0' || !X509_NAME_add_entry_by_txt(name, type,
		    MBSTRING_UTF8, (const unsigned char *)val, -1, -1, 0))
			goto fail;
	}
	if (X509_NAME_entry_count(name) == 0)
		goto fail;
	free(copy);
	return name;
fail:
	ERR_clear_error();
	say(why, whysz, "subject \"%s\": expected /TYPE=value/... with known "
	    "types and valid values", subject ? subject : "");
	free(copy);
	X509_NAME_free(name);
	return NULL;
}

int
ocsp_subject_ok(const char *s, char *why, size_t whysz)
{
	X509_NAME *n = x509_parse_subject(s, why, whysz);

	X509_NAME_free(n);
	return n != NULL ? 0 : -1;
}

static EVP_PKEY *
ocsp_key_read(const char *path)
{
	EVP_PKEY *k = NULL;
	struct buf b;
	BIO *bio;

	buf_init(&b);
	if (path != NULL && path[0] != '\0' && read_file(path, &b, 1 << 20) == 0 &&
	    b.len <= INT_MAX && (bio = BIO_new_mem_buf(b.p, (int)b.len)) != NULL) {
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	buf_free(&b);	/* clears the old key's bytes */
	return k;
}

/* A key of the kind of like (NULL: P-256); its kind in words. */
static EVP_PKEY *
ocsp_key_like(const EVP_PKEY *like, char *kind, size_t kindsz)
{
	char group[64];
	const char *nist;
	size_t glen;
	int id = like ? EVP_PKEY_get_base_id(like) : EVP_PKEY_NONE, bits;

	if (id == EVP_PKEY_RSA) {
		bits = EVP_PKEY_get_bits(like);
		bits = bits < OCSP_KEY_RSA_MIN ? OCSP_KEY_RSA_MIN :
		    bits > OCSP_KEY_RSA_MAX ? OCSP_KEY_RSA_MAX : bits;
		snprintf(kind, kindsz, "rsa:%d", bits);
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	}
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448) {
		snprintf(kind, kindsz, "%s", id == EVP_PKEY_ED25519 ? "ed25519" : "ed448");
		return EVP_PKEY_Q_keygen(NULL, NULL, id == EVP_PKEY_ED25519 ?
		    "ED25519" : "ED448");
	}
	if (id != EVP_PKEY_EC || EVP_PKEY_get_group_name(like, group, sizeof(group),
	    &glen) != 1)
		snprintf(group, sizeof(group), "P-256");
	nist = EC_curve_nid2nist(OBJ_txt2nid(group));	/* prime256v1: P-256 */
	snprintf(kind, kindsz, "ec:%s", nist != NULL ? nist : group);
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
}

int
ocsp_key_new(const char *like, struct buf *pem, char *kind, size_t kindsz, char *why,
    size_t whysz)
{
	EVP_PKEY *old = ocsp_key_read(like), *k;
	BIO *bio = NULL;
	char *p;
	long n;
	int rc = -1;

	buf_reset(pem);
	k = ocsp_key_like(old, kind, kindsz);
	EVP_PKEY_free(old);
	if (k == NULL) {
		say(why, whysz, "cannot make a %s key (%s)", kind, crl_ssl_reason());
		goto done;
	}
	if ((bio = BIO_new(BIO_s_secmem())) == NULL ||
	    !PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) ||
	    (n = BIO_get_mem_data(bio, &p)) <= 0 || buf_put(pem, p, (size_t)n) == -1) {
		say(why, whysz, "cannot encode the new key (%s)", crl_ssl_reason());
		buf_reset(pem);
		goto done;
	}
	rc = 0;
done:
	BIO_free(bio);	/* a secure-heap BIO clears its memory */
	EVP_PKEY_free(k);
	ERR_clear_error();
	return rc;
}

/* The subject: the configured one, the certificate's, the fallback. */
static X509_NAME *
ocsp_csr_subject(const char *subject, const char *cert, const char *fallback,
    char *why, size_t whysz)
{
	X509_NAME *name = NULL;
	X509 *x = NULL;
	BIO *bio;

	if (subject != NULL && subject[0] != '\0')
		return x509_parse_subject(subject, why, whysz);
	if (cert != NULL && cert[0] != '\0' && (bio = BIO_new_file(cert, "r")) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	if (x != NULL && X509_NAME_entry_count(X509_get_subject_name(x)) > 0)
		name = X509_NAME_dup(X509_get_subject_name(x));
	X509_free(x);
	return name != NULL ? name : x509_parse_subject(fallback, why, whysz);
}

int
ocsp_csr_new(const uint8_t *key_pem, size_t keylen, const char *subject,
    const char *cert, const char *fallback, struct buf *csr, char *why, size_t whysz)
{
	EVP_PKEY *k = NULL;
	X509_NAME *name = NULL;
	X509_REQ *r = NULL;
	BIO *bio = NULL;
	const EVP_MD *md;
	char *p;
	long n;
	int rc = -1, id;

	buf_reset(csr);
	if (keylen > INT_MAX || (bio = BIO_new_mem_buf(key_pem, (int)keylen)) == NULL ||
	    (k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		say(why, whysz, "cannot read the new key");
		goto done;
	}
	BIO_free(bio);
	bio = NULL;
	if ((name = ocsp_csr_subject(subject, cert, fallback, why, whysz)) == NULL)
		goto done;
	id = EVP_PKEY_get_base_id(k);
	md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
	if ((r = X509_REQ_new()) == NULL || !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(r, name) || !X509_REQ_set_pubkey(r, k) ||
	    X509_REQ_sign(r, k, md) <= 0 || (bio = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509_REQ(bio, r) || (n = BIO_get_mem_data(bio, &p)) <= 0 ||
	    buf_put(csr, p, (size_t)n) == -1) {
		say(why, whysz, "cannot make the certificate request (%s)",
		    crl_ssl_reason());
		buf_reset(csr);
		goto done;
	}
	rc = 0;
done:
	ERR_clear_error();
	BIO_free(bio);
	X509_REQ_free(r);
	X509_NAME_free(name);
	EVP_PKEY_free(k);
	return rc;
}
