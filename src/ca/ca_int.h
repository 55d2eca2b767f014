/*
 * ca_int.h: private to the CA engine (src/ca/), the X.509 engine of the
 * signer: the CA and request structures and the helpers its files share.
 * The engine is, with the CRL reader (src/pki/crl.c) and crypto.c, the only
 * code that includes the OpenSSL X.509, PEM and EVP headers (checked by
 * `make walls`). Its files:
 *   ca_load.c     loading CA directories and keys (PEM, encrypted, PKCS#11)
 *   ca_request.c  parsing requests (PKCS#10 DER/PEM, SPKAC)
 *   ca_policy.c   checking a request against a profile
 *   ca_build.c    building and signing certificates
 *   ca_create.c   creating CA directories, and finishing one for an
 *                 offline parent
 *   ca_info.c     describing directories and certificates (airlockctl)
 *   ca_gen.c      a root's key generations: listing, loading, rollover
 *
 * The engine It loads a CA directory, checks
 * certificate requests against a profile and issues certificates in-process
 * (it never runs the openssl program). Requests come from the cable: every
 * byte is untrusted, every rejection is an AL_E_* code plus one sentence.
 *
 * A CA directory holds:
 *   ca.crt     the CA certificate, PEM.
 *   chain.pem  the certificates above it, PEM, nearest issuer first. For a
 *              self-signed root ca_root_init writes it empty; ca_load also
 *              accepts it absent. ca_chain_der() is ca.crt || chain, DER.
 *   ca.key     the private key, PEM (PKCS#8, encrypted or not, or any form
 *              OpenSSL reads). The passphrase is the first line of the
 *              root's pass_file, or, after ca_allow_prompt(1) and with no
 *              pass_file, typed on the terminal (one try).
 *   key.uri    instead of ca.key: first line a "pkcs11:" URI loaded through
 *              the OpenSSL ENGINE "pkcs11" (libp11); optional further line
 *              "module=/path/to/module.so". The first line of pass_file, if
 *              any, is the token PIN (else asked for like a passphrase).
 *              When key.uri exists ca.key is ignored.
 *   ca.csr     made by ca_root_init for an offline parent; ca_root_install
 *              then puts the parent's certificate in place.
 *   root.info  a note for people of how ca_root_init made the directory.
 * Each certificate of chain.pem must have issued the one before it.
 *
 * Requests (struct ca_request):
 *   MSG_CSR_PKCS10  DER, or PEM "CERTIFICATE REQUEST" / "NEW CERTIFICATE
 *                   REQUEST". Bytes after a DER request are refused. Of the
 *                   request's extensions only subjectAltName is used.
 *   MSG_CSR_SPKAC   text lines in the format of "openssl ca -spkac":
 *                   "NAME=value" lines give the subject, in order (NAME is
 *                   an attribute short name such as CN, O or emailAddress;
 *                   the value is UTF-8), and one line "SPKAC=<base64>" or a
 *                   bare base64 line gives the signed public key and
 *                   challenge. Example: "CN=alice\nSPKAC=MIIB...". The
 *                   attribute lines may also follow the SPKAC line (the
 *                   client's spool format starts the CSR at "SPKAC=").
 *                   Any other line without '=' is refused (CSR_PARSE).
 *                   An SPKAC carries no subjectAltName.
 *
 * Checks, in order: parse (AL_E_CSR_PARSE), key type (KEY_TYPE), key size
 * (KEY_SIZE: RSA from min_rsa_bits up to 8192 bits, exponent odd,
 * >= 65537 and < 2^256; EC only on P-256, P-384, P-521, point on the
 * curve), request
 * digest (DIGEST: SHA-256/384/512 or Ed25519; RSASSA-PSS requests are
 * refused), self-signature (CSR_SIG), subject (SUBJECT), subjectAltName
 * (SAN), DNS names (a dNSName: SAN; a CN that is a host name: SUBJECT;
 * no wildcard directly under a public suffix, within the profile's
 * allowed_domains; src/psl.c), validity (VALIDITY). A validity that would outlive the CA
 * certificate is refused, never shortened.
 *
 * A subject attribute or subjectAltName type the profile does not allow
 * refuses the request; nothing is silently dropped.
 *
 * Issued certificates: v3; issuer is the CA subject; the subject is the
 * request's, as encoded; extensions come from the profile. Signature
 * digest by CA key: RSA SHA-256 (any size), EC P-256 SHA-256, P-384
 * SHA-384, P-521 SHA-512, Ed25519 none. basicConstraints is always present
 * and critical; keyUsage is critical when the profile sets bits; a
 * timeStamping-only EKU is critical (RFC 3161), any other EKU is not.
 * SKI and AKI unless the profile turns them off; CRL distribution point,
 * AIA, certificate policies (each with the CPS qualifier) and OCSP
 * no-check as the profile says.
 *
 * Speed: OpenSSL 3.0 decodes and re-encodes public keys through generic
 * decoder and encoder searches that cost more than an ECDSA signature.
 * Requests are parsed in a library context without providers and their
 * key rebuilt from its fields (csr_pubkey), and the certificate gets the
 * request's SubjectPublicKeyInfo as encoded (ca_copy_pubkey); see
 * `make bench-sign`.
 */
#ifndef CA_INT_H
#define CA_INT_H

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rand.h>
#include <openssl/ui.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>


#include "airlock.h"
#include "ca.h"
#include "msg.h"
#include "psl.h"
#include "util.h"

#define CA_CSR_MAX		(64 * 1024)	/* bytes in one request */
#define CA_PEM_MAX		(1024 * 1024)	/* ca.crt, chain.pem, ca.key */
#define CA_PASS_MAX		1024		/* passphrase bytes */
#define CA_RSA_MAX_BITS		8192		/* larger keys cost too much */
#define CA_DEFAULT_RSA_BITS	2048
#define CA_DEFAULT_ATTRS	"CN,O,OU,C,L,ST,emailAddress"
#define CA_DAY			86400

struct ca {
	X509		*cert;		/* ca.crt */
	STACK_OF(X509)	*chain;		/* chain.pem, nearest issuer first */
	EVP_PKEY	*key;		/* in memory, or a handle on a token */
	ENGINE		*engine;	/* pkcs11 engine holding key, or NULL */
	struct buf	 chain_der;	/* ca.crt || chain, DER */
	time_t		 not_after;	/* of ca.crt */
};

/* A request once parsed, whichever its format. */
struct csr {
	X509_REQ	*req;		/* PKCS#10, or NULL */
	NETSCAPE_SPKI	*spki;		/* SPKAC, or NULL */
	EVP_PKEY	*pub;		/* the requester's key */
	X509_NAME	*subject;	/* the request's, or SPKAC's own */
	int		 subject_owned;	/* SPKAC: built here, freed here */
	GENERAL_NAMES	*san;		/* from the request, or NULL */
	int		 san_given;	/* san is SIGN's SAN field, not the request's */
	int		 sig_nid;	/* signature algorithm of the request */
	char		 subject_line[sizeof(((struct ca_issued *)0)->subject)];
					/* RFC 2253, set by csr_check */
};

struct ca_pw {
	const char	*pass;		/* NULL: none configured */
	int		 asked;		/* OpenSSL wanted one */
	const char	*file;		/* ask on the console for this key, or NULL */
	int		 prompted;	/* the operator typed it */
};


/* Shared between the engine's files (each defined in one of them). */
int ca_load_dir(const char *dir, const char *pass, int with_key, struct ca **out,
    char *why, size_t whysz);
int ca_check_chain(const struct ca *ca, const char *crt, char *why, size_t whysz);
int ca_token_key(struct ca *ca, const char *uri, const char *module,
    const char *pin, const char *path, char *why, size_t whysz);
int ca_read_chain(const char *path, STACK_OF(X509) **out, char *why, size_t whysz);
int ca_read_cert(const char *path, X509 **out, char *why, size_t whysz);
BIO * ca_mem_bio(const struct buf *b);
int ca_slurp(const char *path, struct buf *b, char *why, size_t whysz);
int ca_put_der(struct buf *b, X509 *x);
void ca_fmt_time(time_t t, char *out, size_t outsz);
int ca_asn1_time(const ASN1_TIME *t, time_t *out);
int ca_path(char *out, const char *dir, const char *name, char *why, size_t whysz);
int ca_pw_cb(char *out, int size, int rwflag, void *u);
int ca_read_pass(const char *path, char *pass, size_t passsz, char *why,
    size_t whysz);
const char * ssl_reason(void);
int csr_parse(const struct ca_request *req, struct csr *c, char *why,
    size_t whysz);
void csr_free(struct csr *c);
/* ca_override.c: SIGN's SUBJECT and SAN in place of the request's. */
int csr_override(const struct ca_request *req, struct csr *c, char *why, size_t whysz);
int csr_check(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, struct csr *c, time_t *not_after, char *why,
    size_t whysz);
int ca_name_string(const X509_NAME *name, char *out, size_t outsz);
int ca_sign(X509 *x, EVP_PKEY *key, char *why, size_t whysz);
int ca_sign_md(EVP_PKEY *key, const EVP_MD **md, char *why, size_t whysz);
int ca_set_times(X509 *x, time_t nb, time_t na);
int ca_set_serial(X509 *x, const uint8_t *serial, size_t len);
int ca_ext_aki(X509 *x, X509 *issuer);
int ca_ext_ski(X509 *x);
int ca_ext_ku(X509 *x, unsigned bits);
int ca_ext_basic(X509 *x, int is_ca, int pathlen);

/* ca_info.c: a certificate's serial (positive, not zero) into ci. */
int	 ca_serial_bin(const ASN1_INTEGER *, struct ca_certinfo *);

#endif
