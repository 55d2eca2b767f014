/*
 * ocsp.h: OCSP (RFC 6960, RFC 5019) as bytes, for airlock-ocspd
 * (src/pki/ocsp.c, the only OCSP module that includes OpenSSL headers).
 * Requests are parsed into plain structs; responses are signed from plain
 * structs; the responder's certificate is checked against its CA when
 * loaded and before every signature (docs/ocsp.md).
 */
#ifndef OCSP_H
#define OCSP_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define OCSP_MAX_IDS		8	/* certificates in one request */
#define OCSP_SERIAL_MAX		32	/* bytes of a serial we look up */
#define OCSP_NONCE_MAX		32	/* RFC 8954 */
#define OCSP_HASH_MAX		64

/* OCSPResponseStatus (RFC 6960 4.2.1) */
enum {
	OCSP_ST_SUCCESSFUL	= 0,
	OCSP_ST_MALFORMED	= 1,	/* malformedRequest */
	OCSP_ST_INTERNAL	= 2,	/* internalError */
	OCSP_ST_TRYLATER	= 3,	/* tryLater */
	OCSP_ST_SIGREQUIRED	= 5,
	OCSP_ST_UNAUTHORIZED	= 6,	/* unauthorized */
};
/* CertStatus */
enum { OCSP_GOOD = 0, OCSP_REVOKED = 1, OCSP_UNKNOWN = 2 };
/* the hash algorithms of a CertID we answer */
enum { OCSP_SHA1 = 0, OCSP_SHA256, OCSP_SHA384, OCSP_SHA512, OCSP_NALGS };

struct ocsp_certid {
	int		 alg;			/* OCSP_SHA* */
	uint8_t		 name_hash[OCSP_HASH_MAX], key_hash[OCSP_HASH_MAX];
	size_t		 hash_len;
	uint8_t		 serial[OCSP_SERIAL_MAX];	/* unsigned big-endian, minimal */
	size_t		 serial_len;
};

struct ocsp_req {
	int		 n;			/* CertIDs, 1..OCSP_MAX_IDS */
	struct ocsp_certid ids[OCSP_MAX_IDS];
	int		 has_nonce;
	void		*raw;			/* the parsed request (owned) */
};

/* What to say about one CertID of a request. */
struct ocsp_single {
	int		 idx;			/* into ocsp_req.ids */
	int		 status;		/* OCSP_GOOD / REVOKED / UNKNOWN */
	int64_t		 revoked;		/* revocationTime, Unix seconds */
	int		 reason;		/* CRLReason; -1 none */
	int64_t		 this_update, next_update;
};

struct ocsp_issuer;
struct ocsp_signer;

/* ocsp.c */
/* 0 and req, or -1 with a sentence (the answer is malformedRequest). */
int	 ocsp_req_parse(const uint8_t *der, size_t len, struct ocsp_req *,
	    char *why, size_t whysz);
void	 ocsp_req_free(struct ocsp_req *);
/* GET: the base64 (RFC 4648, either alphabet, padding optional) in path. */
int	 ocsp_b64_decode(const char *s, size_t len, struct buf *out);
/* The issuing CA's certificate, PEM or DER, with its CertID hashes. */
int	 ocsp_issuer_load(const char *path, struct ocsp_issuer **, char *why, size_t whysz);
void	 ocsp_issuer_free(struct ocsp_issuer *);
int	 ocsp_issuer_match(const struct ocsp_issuer *, const struct ocsp_certid *);
/* A certificate's serial if it was issued and signed by the issuer:
 * 1 and the serial, 0 another issuer or not a certificate. */
int	 ocsp_cert_serial(const struct ocsp_issuer *, const uint8_t *der, size_t len,
	    uint8_t serial[OCSP_SERIAL_MAX], size_t *serial_len);
/* The responder's key and certificate; refused unless the certificate was
 * issued by the issuer, carries OCSPSigning, matches the key and is valid
 * now. *not_after gets its expiry. */
int	 ocsp_signer_load(const struct ocsp_issuer *, const char *key, const char *cert,
	    int64_t now, struct ocsp_signer **, int64_t *not_after, char *why, size_t whysz);
/* The same from memory: the key PEM, the certificate PEM or DER (a
 * renewal's answer, read from the spool). */
int	 ocsp_signer_load_mem(const struct ocsp_issuer *, const uint8_t *key, size_t keylen,
	    const uint8_t *cert, size_t certlen, int64_t now, struct ocsp_signer **,
	    int64_t *not_after, char *why, size_t whysz);
/* Its certificate's serial (hex, as ocsp_serial_line without the newline)
 * and validity. */
void	 ocsp_signer_info(const struct ocsp_signer *, char serial[2 * OCSP_SERIAL_MAX + 2],
	    int64_t *not_before, int64_t *not_after);
void	 ocsp_signer_free(struct ocsp_signer *);
/* A signed successful response with n answers; the nonce of req (if any) is
 * copied. 0 or -1. */
int	 ocsp_resp_sign(const struct ocsp_signer *, const struct ocsp_req *,
	    const struct ocsp_single *, int n, struct buf *out);
/* The same for one serial of the issuer, without a request (responses
 * signed ahead of time for the cache; CertID hashed with alg). */
int	 ocsp_resp_presign(const struct ocsp_signer *, const struct ocsp_issuer *, int alg,
	    const uint8_t *serial, size_t serial_len, const struct ocsp_single *,
	    struct buf *out);
/* An unsigned error response (status != OCSP_ST_SUCCESSFUL). */
void	 ocsp_resp_error(int status, struct buf *out);
const char *ocsp_status_name(int);
/* The entries of a CRL (checked before with crl_verify): fn per entry. */
int	 ocsp_crl_each(const uint8_t *der, size_t len, int (*fn)(void *,
	    const uint8_t *serial, size_t serial_len, int64_t revoked, int reason),
	    void *arg);
/* One serial as a line of the serials files ("01AB\n"; zero is "00\n"),
 * the reverse of ocsp_serial_hex; line holds 2 * OCSP_SERIAL_MAX + 2. */
void	 ocsp_serial_line(const uint8_t *serial, size_t len, char *line);
/* "01AB..." (an openssl ca index serial) into bytes, minimal. 0 or -1. */
int	 ocsp_serial_hex(const char *hex, size_t len, uint8_t serial[OCSP_SERIAL_MAX],
	    size_t *serial_len);

/* ocsp_key.c: the responder's own keys, for its renewal */
/* A new private key of the type, size or curve of the key in the PEM file
 * like (P-256 when like is NULL or holds no key): PEM (PKCS#8) in pem, its
 * kind ("ec:P-256", "rsa:3072", "ed25519") in kind. 0, or -1 with a sentence. */
int	 ocsp_key_new(const char *like, struct buf *pem, char *kind, size_t kindsz,
	    char *why, size_t whysz);
/* A PKCS#10 request (PEM) signed by the key in key_pem. Its subject: subject
 * ("/CN=x/O=y") when not empty, else that of the certificate in the file
 * cert when it can be read, else fallback ("/CN=..."). 0, or -1. */
int	 ocsp_csr_new(const uint8_t *key_pem, size_t keylen, const char *subject,
	    const char *cert, const char *fallback, struct buf *csr, char *why,
	    size_t whysz);
/* 0 if s is a subject ocsp_csr_new takes, or -1 with a sentence. */
int	 ocsp_subject_ok(const char *s, char *why, size_t whysz);

#endif
