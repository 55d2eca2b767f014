/*
 * crl_x509.h: the OpenSSL-level helpers of src/pki/ that the CA engine
 * shares: src/pki/crl.c's with the CRL builder (src/ca/crl_build.c), so
 * that a CRL built by the signer and one rebuilt on webdb are assembled by
 * the same code (and a certificate by ca_issue); src/pki/ocsp_key.c's subject parser with root init and
 * airlock-ocspd's requests. Only OpenSSL modules include it.
 */
#ifndef CRL_X509_H
#define CRL_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "util.h"

const char *crl_ssl_reason(void);		/* the first OpenSSL error, or "" */
int	 crl_time(const ASN1_TIME *, int64_t *out);	/* to Unix seconds */
/* One whole DER CRL, or NULL with a sentence naming what. */
X509_CRL *crl_d2i(const uint8_t *der, size_t len, const char *what, char *why,
	    size_t whysz);
/* CertificateList = SEQUENCE { tbs, algorithm, BIT STRING sig } into out
 * (emptied first); a Certificate has the same form (ca_build.c). */
int	 crl_assemble(const unsigned char *tbs, size_t tbslen, const unsigned char *alg,
	    size_t alglen, const unsigned char *sig, size_t siglen, struct buf *out);
/* ocsp_key.c: "/CN=x/O=y" (a backslash escapes the next character, "\/"),
 * or NULL with a sentence. */
X509_NAME *x509_parse_subject(const char *subject, char *why, size_t whysz);

#endif
