/*
 * ca.c: the X.509 engine of the signer, and the only module that includes
 * the OpenSSL X.509, PEM and EVP headers. It loads a CA directory, checks
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
	int		 sig_nid;	/* signature algorithm of the request */
};

struct ca_pw {
	const char	*pass;		/* NULL: none configured */
	int		 asked;		/* OpenSSL wanted one */
	const char	*file;		/* ask on the console for this key, or NULL */
	int		 prompted;	/* the operator typed it */
};

static int	 ca_prompt_ok;		/* ca_allow_prompt() */

/* what ca_root_init may create, removed again if it fails */
static const char *ca_file_names[] = {
	"ca.key", "key.uri", "ca.crt", "chain.pem", "ca.csr", "root.info",
};

static const struct {
	unsigned	 bit;		/* CFG_EKU_* */
	int		 nid;
} ca_ekus[] = {
	{ CFG_EKU_SERVER,		NID_server_auth },
	{ CFG_EKU_CLIENT,		NID_client_auth },
	{ CFG_EKU_CODE,		NID_code_sign },
	{ CFG_EKU_EMAIL,		NID_email_protect },
	{ CFG_EKU_TIMESTAMP,	NID_time_stamp },
	{ CFG_EKU_OCSP,		NID_OCSP_sign },
	{ CFG_EKU_SMARTCARD,	NID_ms_smartcard_login },
};

static const struct {
	const char	*name;		/* ca_root_params key_type */
	const char	*alg;		/* EVP_PKEY_Q_keygen type */
	size_t		 bits;		/* RSA, else 0 */
	const char	*curve;		/* EC, else NULL */
} ca_keytypes[] = {
	{ "rsa:2048",	"RSA",		2048,	NULL },
	{ "rsa:3072",	"RSA",		3072,	NULL },
	{ "rsa:4096",	"RSA",		4096,	NULL },
	{ "ec:P-256",	"EC",		0,	"P-256" },
	{ "ec:P-384",	"EC",		0,	"P-384" },
	{ "ec:P-521",	"EC",		0,	"P-521" },
	{ "ed25519",	"ED25519",	0,	NULL },
};

/* The innermost OpenSSL reason, which is the most specific one. */
static const char *
ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_error());

	return r != NULL ? r : "unknown OpenSSL error";
}

/* The console prompt; OpenSSL clears out after use. */
static int
ca_pw_ask(struct ca_pw *pw, char *out, size_t size)
{
	char prompt[PATH_MAX + 32];

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", pw->file);
	if (askpass(prompt, out, size) == -1)
		return -1;
	pw->prompted = 1;
	return (int)strlen(out);
}

/* Only at a console: the prompt goes to stderr, the answer comes from stdin
 * (a daemon under a test harness or systemd has neither on a terminal). */
void
ca_allow_prompt(int on)
{
	ca_prompt_ok = on && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

static int
ca_pw_cb(char *out, int size, int rwflag, void *u)
{
	struct ca_pw *pw = u;
	size_t n;

	(void)rwflag;
	pw->asked = 1;
	if (pw->pass == NULL && pw->file != NULL && ca_prompt_ok && size > 0)
		return ca_pw_ask(pw, out, (size_t)size);
	if (pw->pass == NULL || size <= 0)
		return -1;
	n = strlen(pw->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(out, pw->pass, n);
	return (int)n;
}

static int
ca_path(char *out, const char *dir, const char *name, char *why, size_t whysz)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		say(why, whysz, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

static int
ca_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

static void
ca_fmt_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outsz, "@%lld", (long long)t);
}

static int
ca_put_der(struct buf *b, X509 *x)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_X509(x, &der)) <= 0)
		return -1;
	rc = buf_put(b, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* Reads a whole file into b (cleared on free); why names the file. */
static int
ca_slurp(const char *path, struct buf *b, char *why, size_t whysz)
{
	if (read_file(path, b, CA_PEM_MAX) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static BIO *
ca_mem_bio(const struct buf *b)
{
	static const uint8_t empty;

	if (b->len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(b->len ? b->p : &empty, (int)b->len);
}

static int
ca_read_cert(const char *path, X509 **out, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL ||
	    (*out = PEM_read_bio_X509(bio, NULL, ca_pw_cb, &pw)) == NULL) {
		say(why, whysz, "%s: not a PEM certificate (%s)", path,
		    ssl_reason());
		goto done;
	}
	rc = 0;
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

static int
ca_read_chain_bio(BIO *bio, STACK_OF(X509) *chain, const char *path,
    char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	unsigned long e;
	X509 *x;

	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, ca_pw_cb, &pw)) != NULL) {
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			say(why, whysz, "%s: out of memory", path);
			return -1;
		}
	}
	/* the loop ends on "no start line" at the end of the file */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return 0;
	}
	say(why, whysz, "%s: certificate %d does not parse (%s)", path,
	    sk_X509_num(chain) + 1, ssl_reason());
	return -1;
}

/* chain.pem may be absent or empty: a self-signed root has no issuers. */
static int
ca_read_chain(const char *path, STACK_OF(X509) **out, char *why, size_t whysz)
{
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	buf_init(&b);
	if ((*out = sk_X509_new_null()) == NULL) {
		say(why, whysz, "%s: out of memory", path);
		goto done;
	}
	if (read_file(path, &b, CA_PEM_MAX) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			say(why, whysz, "%s: %s", path, strerror(errno));
		goto done;
	}
	if ((bio = ca_mem_bio(&b)) == NULL) {
		say(why, whysz, "%s: cannot read", path);
		goto done;
	}
	rc = ca_read_chain_bio(bio, *out, path, why, whysz);
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

static int
ca_read_key(const char *path, const char *pass, EVP_PKEY **out, char *why,
    size_t whysz)
{
	struct ca_pw pw = { pass, 0, path, 0 };
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL) {
		say(why, whysz, "%s: cannot read", path);
		goto done;
	}
	if ((*out = PEM_read_bio_PrivateKey(bio, NULL, ca_pw_cb, &pw)) != NULL)
		rc = 0;
	else if (pw.asked && pass == NULL && !pw.prompted)
		say(why, whysz, "%s: the key is encrypted and no passphrase is "
		    "configured (pass_file)%s", path, ca_prompt_ok ? "" :
		    ", and there is no terminal to ask on");
	else if (pw.asked)
		say(why, whysz, "%s: wrong passphrase or corrupt key", path);
	else
		say(why, whysz, "%s: not a PEM private key (%s)", path,
		    ssl_reason());
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

/* A UI that refuses to ask: no PIN prompt on a terminal, no empty-PIN login. */
static int
ca_ui_refuse(UI *ui, UI_STRING *uis)
{
	(void)ui;
	(void)uis;
	return 0;
}

/* ENGINE is deprecated in OpenSSL 3.0 but is what libp11 offers on Debian 12. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static EVP_PKEY *
ca_engine_load(ENGINE *e, const char *uri)
{
	UI_METHOD *ui;
	EVP_PKEY *k = NULL;

	if ((ui = UI_create_method("airlock")) != NULL &&
	    UI_method_set_reader(ui, ca_ui_refuse) == 0)
		k = ENGINE_load_private_key(e, uri, ui, NULL);
	if (ui != NULL)
		UI_destroy_method(ui);
	return k;
}

static int
ca_engine_key(struct ca *ca, const char *uri, const char *module,
    const char *pin, const char *path, char *why, size_t whysz)
{
	ENGINE *e;

	OPENSSL_init_crypto(OPENSSL_INIT_ENGINE_DYNAMIC, NULL);
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		say(why, whysz, "%s: the OpenSSL engine \"pkcs11\" is not "
		    "available (libengine-pkcs11-openssl)", path);
		return -1;
	}
	if ((module != NULL &&
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0)) ||
	    !ENGINE_init(e)) {
		say(why, whysz, "%s: cannot start the pkcs11 engine (%s)", path,
		    ssl_reason());
		ENGINE_free(e);
		return -1;
	}
	if ((pin != NULL && !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0)) ||
	    (ca->key = ca_engine_load(e, uri)) == NULL) {
		say(why, whysz, "%s: cannot load the key from the token (%s)",
		    path, ssl_reason());
		ENGINE_finish(e);
		ENGINE_free(e);
		return -1;
	}
	ca->engine = e;
	return 0;
}

static void
ca_engine_release(ENGINE *e)
{
	if (e == NULL)
		return;
	ENGINE_finish(e);
	ENGINE_free(e);
}
#pragma GCC diagnostic pop

/* Splits key.uri (NUL-terminated in b) into the URI and an optional module. */
static int
ca_parse_key_uri(char *text, char **uri, char **module, const char *path,
    char *why, size_t whysz)
{
	char *line, *save = NULL;

	*uri = *module = NULL;
	for (line = strtok_r(text, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		line[strcspn(line, " \t")] = '\0';
		if (*line == '\0')
			continue;
		if (*uri == NULL && strncmp(line, "pkcs11:", 7) == 0)
			*uri = line;
		else if (*uri != NULL && strncmp(line, "module=", 7) == 0)
			*module = line + 7;
		else {
			say(why, whysz, "%s: expected a pkcs11: URI and an "
			    "optional module= line", path);
			return -1;
		}
	}
	if (*uri == NULL) {
		say(why, whysz, "%s: no pkcs11: URI", path);
		return -1;
	}
	return 0;
}

/* ca_engine_key, asking for the PIN on the console if none is given. */
static int
ca_token_key(struct ca *ca, const char *uri, const char *module,
    const char *pin, const char *path, char *why, size_t whysz)
{
	char asked[CA_PASS_MAX + 1], prompt[PATH_MAX + 40];
	int rc;

	asked[0] = '\0';
	if (pin == NULL && ca_prompt_ok) {
		snprintf(prompt, sizeof(prompt), "PIN for the token key of %s: ",
		    path);
		if (askpass(prompt, asked, sizeof(asked)) == 0)
			pin = asked;
	}
	rc = ca_engine_key(ca, uri, module, pin, path, why, whysz);
	OPENSSL_cleanse(asked, sizeof(asked));
	return rc;
}

static int
ca_read_key_uri(struct ca *ca, const char *path, const char *pin, char *why,
    size_t whysz)
{
	struct buf b;
	char *uri, *module;
	int rc = -1;

	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((b.len > 0 && memchr(b.p, '\0', b.len) != NULL) ||
	    buf_put_u8(&b, 0) == -1) {
		say(why, whysz, "%s: not a text file", path);
		goto done;
	}
	if (ca_parse_key_uri((char *)b.p, &uri, &module, path, why, whysz) == 0)
		rc = ca_token_key(ca, uri, module, pin, path, why, whysz);
done:
	buf_free(&b);
	return rc;
}

static int
ca_load_key(struct ca *ca, const char *dir, const char *pass, char *why,
    size_t whysz)
{
	char path[PATH_MAX];
	struct stat st;

	if (ca_path(path, dir, "key.uri", why, whysz) == -1)
		return -1;
	if (stat(path, &st) == 0)
		return ca_read_key_uri(ca, path, pass, why, whysz);
	if (errno != ENOENT) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (ca_path(path, dir, "ca.key", why, whysz) == -1)
		return -1;
	return ca_read_key(path, pass, &ca->key, why, whysz);
}

static int
ca_build_chain_der(struct ca *ca)
{
	int i;

	if (ca_put_der(&ca->chain_der, ca->cert) == -1)
		return -1;
	for (i = 0; i < sk_X509_num(ca->chain); i++)
		if (ca_put_der(&ca->chain_der, sk_X509_value(ca->chain, i)) == -1)
			return -1;
	return 0;
}

/* Each certificate of chain.pem must have issued and signed the one before. */
static int
ca_check_chain(const struct ca *ca, const char *crt, char *why, size_t whysz)
{
	X509 *below = ca->cert, *x;
	EVP_PKEY *pk;
	int i;

	for (i = 0; i < sk_X509_num(ca->chain); i++, below = x) {
		x = sk_X509_value(ca->chain, i);
		if (X509_check_issued(x, below) != X509_V_OK ||
		    (pk = X509_get0_pubkey(x)) == NULL ||
		    X509_verify(below, pk) != 1) {
			say(why, whysz, "%s: certificate %d of chain.pem did not "
			    "issue %s", crt, i + 1, i == 0 ? "ca.crt" :
			    "the one before it");
			return -1;
		}
	}
	return 0;
}

static int
ca_check_loaded(struct ca *ca, const char *crt, char *why, size_t whysz)
{
	if (ca->key != NULL && X509_check_private_key(ca->cert, ca->key) != 1) {
		say(why, whysz, "%s: the key does not match this certificate",
		    crt);
		return -1;
	}
	if (X509_check_ca(ca->cert) == 0) {
		say(why, whysz, "%s: not a CA certificate", crt);
		return -1;
	}
	if (ca_asn1_time(X509_get0_notAfter(ca->cert), &ca->not_after) == -1) {
		say(why, whysz, "%s: bad notAfter time", crt);
		return -1;
	}
	if (ca_build_chain_der(ca) == -1) {
		say(why, whysz, "%s: cannot encode the chain", crt);
		return -1;
	}
	return ca_check_chain(ca, crt, why, whysz);
}

/* The loader shared by ca_load, ca_load_public and ca_root_init (parent
 * CA); with_key 0 leaves the key alone. */
static int
ca_load_dir(const char *dir, const char *pass, int with_key, struct ca **out,
    char *why, size_t whysz)
{
	char crt[PATH_MAX], chain[PATH_MAX];
	struct ca *ca;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		say(why, whysz, "%s: out of memory", dir);
		return -1;
	}
	buf_init(&ca->chain_der);
	if (ca_path(crt, dir, "ca.crt", why, whysz) == -1 ||
	    ca_path(chain, dir, "chain.pem", why, whysz) == -1 ||
	    ca_read_cert(crt, &ca->cert, why, whysz) == -1 ||
	    ca_read_chain(chain, &ca->chain, why, whysz) == -1 ||
	    (with_key && ca_load_key(ca, dir, pass, why, whysz) == -1) ||
	    ca_check_loaded(ca, crt, why, whysz) == -1) {
		ca_free(ca);
		return -1;
	}
	*out = ca;
	return 0;
}

/* The passphrase is the first line of the file, without its line end. */
static int
ca_read_pass(const char *path, char *pass, size_t passsz, char *why,
    size_t whysz)
{
	struct buf b;
	size_t n;
	int rc = -1;

	buf_init(&b);
	if (read_file(path, &b, CA_PASS_MAX) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		goto done;
	}
	for (n = 0; n < b.len && b.p[n] != '\n' && b.p[n] != '\r'; n++)
		;
	if (n >= passsz || (n > 0 && memchr(b.p, '\0', n) != NULL)) {
		say(why, whysz, "%s: the passphrase is too long or not text",
		    path);
		goto done;
	}
	if (n)
		memcpy(pass, b.p, n);
	pass[n] = '\0';
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

int
ca_load(const struct cfg_root *root, struct ca **out, char *why, size_t whysz)
{
	char pass[CA_PASS_MAX + 1];
	int rc = -1, have_pass = 0;

	*out = NULL;
	if (root->dir[0] == '\0') {
		say(why, whysz, "root %s: no directory configured", root->name);
		return -1;
	}
	if (root->pass_file[0] != '\0') {
		if (ca_read_pass(root->pass_file, pass, sizeof(pass), why,
		    whysz) == -1)
			goto done;
		have_pass = 1;
	}
	rc = ca_load_dir(root->dir, have_pass ? pass : NULL, 1, out, why, whysz);
done:
	OPENSSL_cleanse(pass, sizeof(pass));
	ERR_clear_error();
	return rc;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	sk_X509_pop_free(ca->chain, X509_free);
	EVP_PKEY_free(ca->key);
	ca_engine_release(ca->engine);
	buf_free(&ca->chain_der);
	free(ca);
}

int
ca_load_public(const char *dir, struct ca **out, char *why, size_t whysz)
{
	int rc = ca_load_dir(dir, NULL, 0, out, why, whysz);

	ERR_clear_error();
	return rc;
}

const struct buf *
ca_chain_der(const struct ca *ca)
{
	return &ca->chain_der;
}

time_t
ca_not_after(const struct ca *ca)
{
	return ca->not_after;
}

/* --- parsing requests --- */

static void
csr_free(struct csr *c)
{
	X509_REQ_free(c->req);
	NETSCAPE_SPKI_free(c->spki);
	EVP_PKEY_free(c->pub);
	if (c->subject_owned)
		X509_NAME_free(c->subject);
	GENERAL_NAMES_free(c->san);
	memset(c, 0, sizeof(*c));
}

/*
 * OpenSSL 3.0 decodes the key in every SubjectPublicKeyInfo it parses by
 * searching all the decoders of the library context, which takes longer
 * than an ECDSA signature. Requests are therefore parsed in a library
 * context holding only the "null" provider, where that search ends at
 * once, and csr_pubkey() builds the key from the parsed fields. Without
 * that context (it could not be made) the default one is used.
 */
static OSSL_LIB_CTX *
csr_parse_ctx(void)
{
	static OSSL_LIB_CTX *ctx;
	static int tried;

	if (!tried) {
		tried = 1;
		if ((ctx = OSSL_LIB_CTX_new()) != NULL &&
		    OSSL_PROVIDER_load(ctx, "null") == NULL) {
			OSSL_LIB_CTX_free(ctx);
			ctx = NULL;
		}
	}
	return ctx;
}

static X509_REQ *
csr_d2i(const unsigned char **q, long n)
{
	return (X509_REQ *)ASN1_item_d2i_ex(NULL, q, n,
	    ASN1_ITEM_rptr(X509_REQ), csr_parse_ctx(), NULL);
}

/*
 * One key per accepted curve, kept as a template: a copy of it with the
 * request's point costs less than a key made from the curve's name, which
 * builds the curve's group again every time.
 */
static struct {
	int		 nid;
	EVP_PKEY	*key;
} csr_ec_templates[3];

static void
csr_ec_keep(int nid, EVP_PKEY *k)
{
	size_t i;

	for (i = 0; i < sizeof(csr_ec_templates) / sizeof(csr_ec_templates[0]);
	    i++)
		if (csr_ec_templates[i].key == NULL) {
			if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 &&
			    nid != NID_secp521r1)
				return;		/* refused later anyway */
			if ((csr_ec_templates[i].key = EVP_PKEY_dup(k)) != NULL)
				csr_ec_templates[i].nid = nid;
			return;
		}
}

static EVP_PKEY *
csr_pubkey_ec_like(int nid, const unsigned char *pk, int pklen)
{
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(csr_ec_templates) / sizeof(csr_ec_templates[0]);
	    i++)
		if (csr_ec_templates[i].key != NULL &&
		    csr_ec_templates[i].nid == nid)
			break;
	if (i == sizeof(csr_ec_templates) / sizeof(csr_ec_templates[0]) ||
	    (k = EVP_PKEY_dup(csr_ec_templates[i].key)) == NULL)
		return NULL;
	/* the key manager checks that the point is on the curve */
	if (EVP_PKEY_set1_encoded_public_key(k, pk, (size_t)pklen) != 1) {
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}

/* EC on a named curve: the point goes to the key manager as it is (it
 * checks that the point is on the curve). */
static EVP_PKEY *
csr_pubkey_ec(const void *curve, const unsigned char *pk, int pklen)
{
	static EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[3];
	EVP_PKEY *k = NULL;
	const char *name;
	int nid = OBJ_obj2nid(curve);

	if (nid == NID_undef || (name = OBJ_nid2sn(nid)) == NULL)
		return NULL;
	if ((k = csr_pubkey_ec_like(nid, pk, pklen)) != NULL)
		return k;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    (char *)(uintptr_t)name, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
	    (void *)(uintptr_t)pk, (size_t)pklen);
	params[2] = OSSL_PARAM_construct_end();
	/* one context for the life of the process: fetching the EC key
	 * manager anew for every request costs as much as the import */
	if (ctx == NULL && (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC",
	    NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return NULL;
	csr_ec_keep(nid, k);
	return k;
}

/* Any other key: the general decoder, in the default library context. */
static EVP_PKEY *
csr_pubkey_any(X509_PUBKEY *xpk)
{
	const unsigned char *q;
	unsigned char *der = NULL;
	EVP_PKEY *k = NULL;
	int n;

	if ((n = i2d_X509_PUBKEY(xpk, &der)) > 0) {
		q = der;
		k = d2i_PUBKEY(NULL, &q, n);
	}
	OPENSSL_free(der);
	return k;
}

static EVP_PKEY *
csr_pubkey(X509_PUBKEY *xpk)
{
	ASN1_OBJECT *alg;
	const unsigned char *pk;
	X509_ALGOR *a;
	const void *pval;
	EVP_PKEY *k = NULL;
	int pklen, ptype;

	if (xpk == NULL ||
	    !X509_PUBKEY_get0_param(&alg, &pk, &pklen, &a, xpk) || pklen <= 0)
		return NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, a);
	if (OBJ_obj2nid(alg) == NID_X9_62_id_ecPublicKey &&
	    ptype == V_ASN1_OBJECT)
		k = csr_pubkey_ec(pval, pk, pklen);
	else if (OBJ_obj2nid(alg) == NID_ED25519 && ptype == V_ASN1_UNDEF)
		k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk,
		    (size_t)pklen);
	return k != NULL ? k : csr_pubkey_any(xpk);
}

static X509_REQ *
csr_der(const uint8_t *p, size_t n, char *why, size_t whysz)
{
	const unsigned char *q = p;
	X509_REQ *r;

	if ((r = csr_d2i(&q, (long)n)) == NULL) {
		say(why, whysz, "the request does not parse as DER PKCS#10 (%s)",
		    ssl_reason());
		return NULL;
	}
	if (q != p + n) {
		say(why, whysz, "%zu trailing bytes follow the DER request",
		    (size_t)(p + n - q));
		X509_REQ_free(r);
		return NULL;
	}
	return r;
}

static X509_REQ *
csr_pem(const uint8_t *p, size_t n, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	const unsigned char *q;
	unsigned char *der = NULL;
	X509_REQ *r = NULL;
	long len = 0;
	BIO *bio;

	/* the first CERTIFICATE REQUEST (or NEW CERTIFICATE REQUEST) block */
	if ((bio = BIO_new_mem_buf(p, (int)n)) != NULL &&
	    PEM_bytes_read_bio(&der, &len, NULL, PEM_STRING_X509_REQ, bio,
	    ca_pw_cb, &pw) == 1) {
		q = der;
		r = csr_d2i(&q, len);
	}
	BIO_free(bio);
	OPENSSL_free(der);
	if (r == NULL)
		say(why, whysz, "the request is not DER and has no valid PEM "
		    "CERTIFICATE REQUEST block (%s)", ssl_reason());
	return r;
}

static int
csr_parse_pkcs10(const uint8_t *p, size_t n, struct csr *c, char *why,
    size_t whysz)
{
	/* DER starts with a SEQUENCE tag; anything else is tried as PEM */
	c->req = p[0] == 0x30 ? csr_der(p, n, why, whysz) :
	    csr_pem(p, n, why, whysz);
	if (c->req == NULL)
		return AL_E_CSR_PARSE;
	if (X509_REQ_get_version(c->req) != X509_REQ_VERSION_1) {
		say(why, whysz, "the request has an unknown version");
		return AL_E_CSR_PARSE;
	}
	if ((c->pub = csr_pubkey(X509_REQ_get_X509_PUBKEY(c->req))) == NULL) {
		say(why, whysz, "the request's public key does not decode or "
		    "has an unknown algorithm");
		return AL_E_KEY_TYPE;
	}
	c->subject = X509_REQ_get_subject_name(c->req);	/* lives as long */
	c->sig_nid = X509_REQ_get_signature_nid(c->req);
	return AL_OK;
}

static int
spkac_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* A bare base64 line: whole quads of the base64 alphabet, with at most two
 * '=' as padding at the end only. */
static int
spkac_is_b64(const char *s, size_t n)
{
	size_t i, pad = 0;

	if (n == 0 || n % 4 != 0)
		return 0;
	while (pad < 2 && s[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!spkac_b64_char(s[i]))
			return 0;
	return 1;
}

static int
spkac_decode(struct csr *c, const char *s, size_t n, char *why, size_t whysz)
{
	const ASN1_OBJECT *obj;
	char *b64;

	if (c->spki != NULL) {
		say(why, whysz, "the SPKAC text has more than one SPKAC");
		return AL_E_CSR_PARSE;
	}
	if (n == 0 || n > INT_MAX || (b64 = strndup(s, n)) == NULL) {
		say(why, whysz, "the SPKAC is empty");
		return AL_E_CSR_PARSE;
	}
	c->spki = NETSCAPE_SPKI_b64_decode(b64, (int)n);
	free(b64);
	if (c->spki == NULL) {
		say(why, whysz, "the SPKAC does not decode (%s)", ssl_reason());
		return AL_E_CSR_PARSE;
	}
	if ((c->pub = NETSCAPE_SPKI_get_pubkey(c->spki)) == NULL) {
		say(why, whysz, "the SPKAC's public key does not decode or has "
		    "an unknown algorithm");
		return AL_E_KEY_TYPE;
	}
	X509_ALGOR_get0(&obj, NULL, NULL, &c->spki->sig_algor);
	c->sig_nid = OBJ_obj2nid(obj);
	return AL_OK;
}

static int
spkac_attr(struct csr *c, const char *s, size_t n, int lineno, char *why,
    size_t whysz)
{
	const char *eq = memchr(s, '=', n);
	char name[64];
	size_t nl;
	int nid;

	if (eq == NULL) {
		say(why, whysz, "SPKAC text line %d is neither NAME=value nor a "
		    "base64 SPKAC", lineno);
		return AL_E_CSR_PARSE;
	}
	nl = (size_t)(eq - s);
	if (nl == 0 || nl >= sizeof(name)) {
		say(why, whysz, "SPKAC text line %d: bad attribute name", lineno);
		return AL_E_CSR_PARSE;
	}
	memcpy(name, s, nl);
	name[nl] = '\0';
	if (strcmp(name, "SPKAC") == 0)
		return spkac_decode(c, eq + 1, n - nl - 1, why, whysz);
	if ((nid = OBJ_txt2nid(name)) == NID_undef) {
		say(why, whysz, "SPKAC text line %d: unknown attribute %s",
		    lineno, name);
		return AL_E_SUBJECT;
	}
	if (n - nl - 1 > INT_MAX || !X509_NAME_add_entry_by_NID(c->subject,
	    nid, MBSTRING_UTF8, (const unsigned char *)eq + 1,
	    (int)(n - nl - 1), -1, 0)) {
		say(why, whysz, "SPKAC text line %d: the value of %s is not "
		    "acceptable (%s)", lineno, name, ssl_reason());
		return AL_E_SUBJECT;
	}
	return AL_OK;
}

static int
csr_parse_spkac(const uint8_t *p, size_t n, struct csr *c, char *why,
    size_t whysz)
{
	const char *s = (const char *)p, *end = s + n, *eol;
	size_t len;
	int rc, lineno = 0;

	if (memchr(p, '\0', n) != NULL) {
		say(why, whysz, "the SPKAC text contains a NUL byte");
		return AL_E_CSR_PARSE;
	}
	c->subject_owned = 1;
	if ((c->subject = X509_NAME_new()) == NULL) {
		say(why, whysz, "out of memory");
		return AL_E_INTERNAL;
	}
	for (; s < end; s = eol + 1) {
		if ((eol = memchr(s, '\n', (size_t)(end - s))) == NULL)
			eol = end;
		lineno++;
		for (len = (size_t)(eol - s); len > 0 && (s[len - 1] == '\r' ||
		    s[len - 1] == ' ' || s[len - 1] == '\t'); len--)
			;
		if (len == 0)
			continue;
		rc = spkac_is_b64(s, len) ? spkac_decode(c, s, len, why, whysz) :
		    spkac_attr(c, s, len, lineno, why, whysz);
		if (rc != AL_OK)
			return rc;
	}
	if (c->spki == NULL) {
		say(why, whysz, "the SPKAC text has no SPKAC line");
		return AL_E_CSR_PARSE;
	}
	return AL_OK;
}

static int
csr_parse(const struct ca_request *req, struct csr *c, char *why,
    size_t whysz)
{
	if (req->csr == NULL || req->csr_len == 0) {
		say(why, whysz, "the request is empty");
		return AL_E_CSR_PARSE;
	}
	if (req->csr_len > CA_CSR_MAX) {
		say(why, whysz, "the request is larger than %d bytes",
		    CA_CSR_MAX);
		return AL_E_CSR_PARSE;
	}
	switch (req->format) {
	case MSG_CSR_PKCS10:
		return csr_parse_pkcs10(req->csr, req->csr_len, c, why, whysz);
	case MSG_CSR_SPKAC:
		return csr_parse_spkac(req->csr, req->csr_len, c, why, whysz);
	}
	say(why, whysz, "unknown request format %d", req->format);
	return AL_E_CSR_PARSE;
}

/* --- checking requests --- */

static int
csr_check_rsa(const struct cfg_profile *pr, EVP_PKEY *pub, char *why,
    size_t whysz)
{
	uint32_t min = pr->min_rsa_bits ? pr->min_rsa_bits : CA_DEFAULT_RSA_BITS;
	BIGNUM *e = NULL;
	int bits = EVP_PKEY_get_bits(pub), rc = AL_E_KEY_SIZE;

	if (bits <= 0 || (uint32_t)bits < min)
		say(why, whysz, "the RSA key has %d bits; profile %s requires "
		    "at least %u", bits, pr->name, min);
	else if (bits > CA_RSA_MAX_BITS)
		say(why, whysz, "the RSA key has %d bits; at most %d are "
		    "accepted", bits, CA_RSA_MAX_BITS);
	else if (!EVP_PKEY_get_bn_param(pub, OSSL_PKEY_PARAM_RSA_E, &e) ||
	    !BN_is_odd(e) || BN_num_bits(e) < 17 || BN_num_bits(e) > 256)
		/* NIST SP 800-89: odd, 65537 <= e < 2^256 */
		say(why, whysz, "the RSA public exponent must be odd, at least "
		    "65537 and less than 2^256");
	else
		rc = AL_OK;
	BN_free(e);
	return rc;
}

static int
csr_check_ec(EVP_PKEY *pub, char *why, size_t whysz)
{
	char group[80];
	EVP_PKEY_CTX *ctx;
	int nid, ok;

	if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), NULL)) {
		say(why, whysz, "the EC key does not use a named curve");
		return AL_E_KEY_SIZE;
	}
	nid = OBJ_sn2nid(group);
	if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1 &&
	    nid != NID_secp521r1) {
		say(why, whysz, "the EC curve %s is not accepted; use P-256, "
		    "P-384 or P-521", group);
		return AL_E_KEY_SIZE;
	}
	/* on the curve and not infinity; with cofactor 1 (all three curves)
	 * that already makes the order right, so the full check's scalar
	 * multiplication would add nothing */
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
	ok = ctx != NULL && EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		say(why, whysz, "the EC public key is not a valid point");
		return AL_E_KEY_SIZE;
	}
	return AL_OK;
}

static int
csr_check_key(const struct cfg_profile *pr, EVP_PKEY *pub, char *why,
    size_t whysz)
{
	unsigned allowed = pr->key_types ? pr->key_types : KEYT_RSA | KEYT_EC;
	unsigned bit;
	const char *name;

	switch (EVP_PKEY_get_base_id(pub)) {
	case EVP_PKEY_RSA:
		bit = KEYT_RSA, name = "RSA";
		break;
	case EVP_PKEY_EC:
		bit = KEYT_EC, name = "EC";
		break;
	case EVP_PKEY_ED25519:
		bit = KEYT_ED25519, name = "Ed25519";
		break;
	default:
		say(why, whysz, "the key type %s is not supported",
		    EVP_PKEY_get0_type_name(pub) ? EVP_PKEY_get0_type_name(pub) :
		    "(unknown)");
		return AL_E_KEY_TYPE;
	}
	if (!(allowed & bit)) {
		say(why, whysz, "profile %s does not allow %s keys", pr->name,
		    name);
		return AL_E_KEY_TYPE;
	}
	if (bit == KEYT_RSA)
		return csr_check_rsa(pr, pub, why, whysz);
	if (bit == KEYT_EC)
		return csr_check_ec(pub, why, whysz);
	return AL_OK;
}

static int
csr_check_digest(int sig_nid, char *why, size_t whysz)
{
	int md, pk;

	if (!OBJ_find_sigid_algs(sig_nid, &md, &pk)) {
		say(why, whysz, "the request's signature algorithm %s is not "
		    "supported", sig_nid != NID_undef ? OBJ_nid2sn(sig_nid) :
		    "(unknown)");
		return AL_E_DIGEST;
	}
	if (md == NID_undef && pk == NID_ED25519)
		return AL_OK;
	if (md == NID_sha256 || md == NID_sha384 || md == NID_sha512)
		return AL_OK;
	if (md == NID_undef)
		say(why, whysz, "the request's signature algorithm %s is not "
		    "supported", OBJ_nid2sn(sig_nid));
	else
		say(why, whysz, "the request is signed with %s; SHA-256, "
		    "SHA-384 or SHA-512 is required", OBJ_nid2sn(md));
	return AL_E_DIGEST;
}

static int
csr_check_sig(const struct csr *c, char *why, size_t whysz)
{
	int ok;

	if (c->req != NULL)	/* the default library context, not the parser's */
		ok = X509_REQ_verify_ex(c->req, c->pub, NULL, NULL);
	else
		ok = NETSCAPE_SPKI_verify(c->spki, c->pub);
	if (ok != 1) {
		say(why, whysz, "the request's self-signature does not verify "
		    "with its public key");
		return AL_E_CSR_SIG;
	}
	return AL_OK;
}

/* Well-formed UTF-8 (no overlongs, no surrogates), no C0/C1 controls or DEL. */
static int
ca_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80)
			cp = s[i], len = 1, min = 0;
		else if ((s[i] & 0xe0) == 0xc0)
			cp = s[i] & 0x1f, len = 2, min = 0x80;
		else if ((s[i] & 0xf0) == 0xe0)
			cp = s[i] & 0x0f, len = 3, min = 0x800;
		else if ((s[i] & 0xf8) == 0xf0)
			cp = s[i] & 0x07, len = 4, min = 0x10000;
		else
			return 0;
		if (len > n - i)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

static int
ca_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
ca_is_alnum(int c)
{
	return ca_is_alpha(c) || (c >= '0' && c <= '9');
}

/* LDH host name; with wildcard, "*." may be the whole left-most label. */
static int
ca_dns_ok(const unsigned char *s, size_t n, int wildcard)
{
	size_t i, label = 0;

	if (wildcard && n > 2 && s[0] == '*' && s[1] == '.')
		s += 2, n -= 2;
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return 0;
			label = 0;
		} else if (ca_is_alnum(s[i]) || s[i] == '-')
			label++;
		else
			return 0;
	}
	return 1;
}

/* local@domain: a dot-atom local part and an LDH domain. */
static int
ca_email_ok(const unsigned char *s, size_t n)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const unsigned char *at = memchr(s, '@', n);
	size_t i, local;

	if (at == NULL || (local = (size_t)(at - s)) == 0 || local > 64)
		return 0;
	if (s[0] == '.' || s[local - 1] == '.')
		return 0;
	for (i = 0; i < local; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
		if (!ca_is_alnum(s[i]) && s[i] != '.' &&
		    strchr(atext, s[i]) == NULL)
			return 0;
	}
	return ca_dns_ok(at + 1, n - local - 1, 0);
}

/* scheme ":" then printable ASCII without spaces */
static int
ca_uri_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !ca_is_alpha(s[0]))
		return 0;
	while (i < n && (ca_is_alnum(s[i]) || s[i] == '+' || s[i] == '-' ||
	    s[i] == '.'))
		i++;
	if (i == n || s[i] != ':' || i + 1 == n)
		return 0;
	for (; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
ca_attr_listed(const char *list, int nid)
{
	const char *sn = OBJ_nid2sn(nid), *ln = OBJ_nid2ln(nid), *p = list;
	size_t len;

	while (*p != '\0') {
		p += strspn(p, " ,");
		len = strcspn(p, " ,");
		if (len > 0 && ((sn != NULL && strlen(sn) == len &&
		    strncasecmp(p, sn, len) == 0) || (ln != NULL &&
		    strlen(ln) == len && strncasecmp(p, ln, len) == 0)))
			return 1;
		p += len;
	}
	return 0;
}

static int
csr_check_value(int nid, const char *name, const unsigned char *u, int len,
    char *why, size_t whysz)
{
	if (len == 0)
		say(why, whysz, "the subject attribute %s is empty", name);
	else if (!ca_utf8_ok(u, (size_t)len))
		say(why, whysz, "the subject attribute %s is not valid UTF-8 "
		    "or contains control characters", name);
	else if (nid == NID_countryName && (len != 2 || !ca_is_alpha(u[0]) ||
	    !ca_is_alpha(u[1])))
		say(why, whysz, "the country (C) must be two letters");
	else if (nid == NID_pkcs9_emailAddress && !ca_email_ok(u, (size_t)len))
		say(why, whysz, "the subject emailAddress is not of the form "
		    "local@domain");
	else
		return AL_OK;
	return AL_E_SUBJECT;
}

static int
csr_check_entry(const struct cfg_profile *pr, const char *allowed,
    const X509_NAME_ENTRY *ent, char *why, size_t whysz)
{
	const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ent);
	unsigned char *u = NULL;
	char name[80];
	int nid = OBJ_obj2nid(obj), len, rc;

	if (nid != NID_undef)
		snprintf(name, sizeof(name), "%s", OBJ_nid2sn(nid));
	else
		OBJ_obj2txt(name, sizeof(name), obj, 1);
	if (nid == NID_undef || !ca_attr_listed(allowed, nid)) {
		say(why, whysz, "the subject attribute %s is not allowed by "
		    "profile %s", name, pr->name);
		return AL_E_SUBJECT;
	}
	if ((len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(ent))) < 0) {
		say(why, whysz, "the subject attribute %s is not a valid string",
		    name);
		return AL_E_SUBJECT;
	}
	rc = csr_check_value(nid, name, u, len, why, whysz);
	OPENSSL_free(u);
	return rc;
}

static int
ca_name_string(const X509_NAME *name, char *out, size_t outsz)
{
	BIO *bio;
	char *p;
	long n;
	int rc = -1;

	out[0] = '\0';
	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0 &&
	    (n = BIO_get_mem_data(bio, &p)) >= 0 && (size_t)n < outsz) {
		memcpy(out, p, (size_t)n);
		out[n] = '\0';
		rc = 0;
	}
	BIO_free(bio);
	return rc;
}

static int
csr_check_subject(const struct cfg_profile *pr, const X509_NAME *name,
    char *why, size_t whysz)
{
	const char *allowed = pr->subject_attrs[0] ? pr->subject_attrs :
	    CA_DEFAULT_ATTRS;
	char line[sizeof(((struct ca_issued *)0)->subject)];
	int i, n = X509_NAME_entry_count(name), rc;

	if (n == 0) {
		say(why, whysz, "the subject is empty");
		return AL_E_SUBJECT;
	}
	for (i = 0; i < n; i++) {
		rc = csr_check_entry(pr, allowed, X509_NAME_get_entry(name, i),
		    why, whysz);
		if (rc != AL_OK)
			return rc;
	}
	if (ca_name_string(name, line, sizeof(line)) == -1) {
		say(why, whysz, "the subject is longer than %zu characters",
		    sizeof(line) - 1);
		return AL_E_SUBJECT;
	}
	return AL_OK;
}

static const struct {
	int		 gen;		/* GEN_* */
	unsigned	 bit;		/* SAN_* */
	const char	*name;
} ca_san_types[] = {
	{ GEN_DNS,	SAN_DNS,	"DNS name" },
	{ GEN_EMAIL,	SAN_EMAIL,	"email address" },
	{ GEN_IPADD,	SAN_IP,		"IP address" },
	{ GEN_URI,	SAN_URI,	"URI" },
	{ GEN_OTHERNAME, SAN_XMPP,	"XMPP address" },
};

/* id-on-xmppAddr: a UTF8String "[local@]domain" with an LDH domain. */
static int
csr_xmpp_ok(const OTHERNAME *on)
{
	const unsigned char *s, *at;
	size_t n;

	if (OBJ_obj2nid(on->type_id) != NID_XmppAddr || on->value == NULL ||
	    on->value->type != V_ASN1_UTF8STRING)
		return 0;
	s = ASN1_STRING_get0_data(on->value->value.utf8string);
	n = (size_t)ASN1_STRING_length(on->value->value.utf8string);
	if (!ca_utf8_ok(s, n))
		return 0;
	if ((at = memchr(s, '@', n)) != NULL) {
		if (at == s)
			return 0;
		n -= (size_t)(at + 1 - s);
		s = at + 1;
	}
	return ca_dns_ok(s, n, 0);
}

static int
csr_san_value_ok(int type, const ASN1_STRING *v)
{
	const unsigned char *s = ASN1_STRING_get0_data(v);
	size_t n = (size_t)ASN1_STRING_length(v);

	switch (type) {
	case GEN_DNS:
		return ca_dns_ok(s, n, 1);
	case GEN_EMAIL:
		return ca_email_ok(s, n);
	case GEN_IPADD:
		return n == 4 || n == 16;
	case GEN_URI:
		return ca_uri_ok(s, n);
	}
	return 0;
}

static int
csr_check_gn(const struct cfg_profile *pr, const GENERAL_NAME *gn, int idx,
    char *why, size_t whysz)
{
	const ASN1_STRING *v;
	size_t i;
	int type;

	v = GENERAL_NAME_get0_value(gn, &type);
	for (i = 0; i < sizeof(ca_san_types) / sizeof(ca_san_types[0]); i++)
		if (ca_san_types[i].gen == type)
			break;
	/* of the otherName forms only id-on-xmppAddr is known */
	if (type == GEN_OTHERNAME &&
	    OBJ_obj2nid(gn->d.otherName->type_id) != NID_XmppAddr)
		i = sizeof(ca_san_types) / sizeof(ca_san_types[0]);
	if (i == sizeof(ca_san_types) / sizeof(ca_san_types[0])) {
		say(why, whysz, "subjectAltName entry %d has a type that is not "
		    "supported", idx + 1);
		return AL_E_SAN;
	}
	if (!(pr->san_types & ca_san_types[i].bit)) {
		say(why, whysz, "profile %s does not allow subjectAltName "
		    "entries of type %s", pr->name, ca_san_types[i].name);
		return AL_E_SAN;
	}
	if (type == GEN_OTHERNAME ? !csr_xmpp_ok(gn->d.otherName) :
	    !csr_san_value_ok(type, v)) {
		say(why, whysz, "subjectAltName entry %d is not a valid %s",
		    idx + 1, ca_san_types[i].name);
		return AL_E_SAN;
	}
	return AL_OK;
}

/* Extracts the request's subjectAltName into c->san. */
static int
csr_get_san(struct csr *c, char *why, size_t whysz)
{
	STACK_OF(X509_EXTENSION) *exts;
	int idx, rc = AL_E_SAN;

	if ((exts = X509_REQ_get_extensions(c->req)) == NULL) {
		say(why, whysz, "the request's extensions do not decode");
		return AL_E_CSR_PARSE;
	}
	if ((idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1)) < 0)
		rc = AL_OK;
	else if (X509v3_get_ext_by_NID(exts, NID_subject_alt_name, idx) >= 0)
		say(why, whysz, "the request has two subjectAltName extensions");
	else if ((c->san = X509V3_EXT_d2i(X509v3_get_ext(exts, idx))) == NULL)
		say(why, whysz, "the request's subjectAltName does not decode");
	else if (sk_GENERAL_NAME_num(c->san) == 0)
		say(why, whysz, "the request's subjectAltName is empty");
	else
		rc = AL_OK;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

static int
csr_check_san(const struct cfg_profile *pr, struct csr *c, char *why,
    size_t whysz)
{
	int i, rc;

	if (c->req == NULL)
		return AL_OK;
	if ((rc = csr_get_san(c, why, whysz)) != AL_OK || c->san == NULL)
		return rc;
	for (i = 0; i < sk_GENERAL_NAME_num(c->san); i++) {
		rc = csr_check_gn(pr, sk_GENERAL_NAME_value(c->san, i), i, why,
		    whysz);
		if (rc != AL_OK)
			return rc;
	}
	return AL_OK;
}

/* A DNS name of the request (a dNSName, or a CN that is a host name):
 * no wildcard directly under a public suffix, within the profile's
 * allowed_domains (psl.h). */
static int
csr_check_dns(const struct cfg_profile *pr, const struct psl *psl,
    const char *what, const unsigned char *u, size_t n, char *why, size_t whysz)
{
	const char *s = (const char *)u;

	if (!psl_wildcard_ok(psl, s, n)) {
		say(why, whysz, "%s (%.*s) is a wildcard directly under the public "
		    "suffix %.*s", what, (int)n, s, (int)(n - 2), s + 2);
		return -1;
	}
	if (!psl_domain_allowed(pr->allowed_domains, s, n)) {
		say(why, whysz, "%s (%.*s) is not within the domains profile %s "
		    "allows", what, (int)n, s, pr->name);
		return -1;
	}
	return 0;
}

/* The DNS names of a checked request: dNSNames, and CNs that are host
 * names (LDH with a dot), after csr_check_subject and csr_check_san. */
static int
csr_check_names(const struct cfg_profile *pr, const struct ca_request *req,
    const struct csr *c, char *why, size_t whysz)
{
	const ASN1_STRING *v;
	char what[48];
	int i, type;

	for (i = 0; c->san != NULL && i < sk_GENERAL_NAME_num(c->san); i++) {
		v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(c->san, i), &type);
		snprintf(what, sizeof(what), "subjectAltName entry %d", i + 1);
		if (type == GEN_DNS && csr_check_dns(pr, req->psl, what,
		    ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), why,
		    whysz) == -1)
			return AL_E_SAN;
	}
	for (i = -1; (i = X509_NAME_get_index_by_NID(c->subject, NID_commonName,
	    i)) >= 0; ) {
		v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(c->subject, i));
		if (ca_dns_ok(ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), 1) &&
		    memchr(ASN1_STRING_get0_data(v), '.', (size_t)ASN1_STRING_length(v)) &&
		    csr_check_dns(pr, req->psl, "the subject's CN",
		    ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v), why,
		    whysz) == -1)
			return AL_E_SUBJECT;
	}
	return AL_OK;
}

static int
csr_check_validity(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, time_t *not_after, char *why, size_t whysz)
{
	uint32_t days = req->days ? req->days : pr->default_days;
	char end[40], ca_end[40];

	if (days == 0) {
		say(why, whysz, "no validity was requested and profile %s has "
		    "no default", pr->name);
		return AL_E_VALIDITY;
	}
	if (days > pr->max_days) {
		say(why, whysz, "%u days requested; profile %s allows at most %u",
		    days, pr->name, pr->max_days);
		return AL_E_VALIDITY;
	}
	*not_after = req->now + (time_t)days * CA_DAY;
	if (req->now >= ca->not_after) {
		say(why, whysz, "the CA certificate has expired");
		return AL_E_VALIDITY;
	}
	if (*not_after > ca->not_after) {
		ca_fmt_time(*not_after, end, sizeof(end));
		ca_fmt_time(ca->not_after, ca_end, sizeof(ca_end));
		say(why, whysz, "the certificate would end on %s, after the CA "
		    "certificate (%s); at most %lld days can be issued", end,
		    ca_end, (long long)((ca->not_after - req->now) / CA_DAY));
		return AL_E_VALIDITY;
	}
	return AL_OK;
}

static int
csr_check(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, struct csr *c, time_t *not_after, char *why,
    size_t whysz)
{
	int rc;

	if ((rc = csr_check_key(pr, c->pub, why, whysz)) != AL_OK ||
	    (rc = csr_check_digest(c->sig_nid, why, whysz)) != AL_OK ||
	    (rc = csr_check_sig(c, why, whysz)) != AL_OK ||
	    (rc = csr_check_subject(pr, c->subject, why, whysz)) != AL_OK ||
	    (rc = csr_check_san(pr, c, why, whysz)) != AL_OK ||
	    (rc = csr_check_names(pr, req, c, why, whysz)) != AL_OK ||
	    (rc = csr_check_validity(ca, pr, req, not_after, why, whysz)) != AL_OK)
		return rc;
	return AL_OK;
}

int
ca_check_request(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, char *why, size_t whysz)
{
	struct csr c;
	time_t not_after;
	int rc;

	memset(&c, 0, sizeof(c));
	say(why, whysz, "%s", "");
	if ((rc = csr_parse(req, &c, why, whysz)) == AL_OK)
		rc = csr_check(ca, pr, req, &c, &not_after, why, whysz);
	csr_free(&c);
	ERR_clear_error();
	return rc;
}

/* --- building certificates --- */

static int
ca_add_ext(X509 *x, int nid, void *value, int crit)
{
	return X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_DEFAULT) == 1 ?
	    0 : -1;
}

/* RFC 5280 method 1: SHA-1 of the subjectPublicKey bits (an identifier, not a signature). */
static ASN1_OCTET_STRING *
ca_keyid(const X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	ASN1_OCTET_STRING *id;

	if (!X509_pubkey_digest(x, EVP_sha1(), md, &len) ||
	    (id = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (!ASN1_OCTET_STRING_set(id, md, (int)len)) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

static int
ca_ext_basic(X509 *x, int is_ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc;
	int rc = -1;

	if ((bc = BASIC_CONSTRAINTS_new()) == NULL)
		return -1;
	bc->ca = is_ca ? 0xff : 0;
	if (is_ca && pathlen >= 0 && ((bc->pathlen = ASN1_INTEGER_new()) == NULL ||
	    !ASN1_INTEGER_set(bc->pathlen, pathlen)))
		goto done;
	rc = ca_add_ext(x, NID_basic_constraints, bc, 1);
done:
	BASIC_CONSTRAINTS_free(bc);
	return rc;
}

static int
ca_ext_ku(X509 *x, unsigned bits)
{
	ASN1_BIT_STRING *ku;
	int i, rc = -1;

	if ((ku = ASN1_BIT_STRING_new()) == NULL)
		return -1;
	for (i = 0; i < 9; i++)
		if ((bits & 1u << i) && !ASN1_BIT_STRING_set_bit(ku, i, 1))
			goto done;
	rc = ca_add_ext(x, NID_key_usage, ku, 1);
done:
	ASN1_BIT_STRING_free(ku);
	return rc;
}

static int
ca_ext_eku(X509 *x, unsigned bits)
{
	EXTENDED_KEY_USAGE *eku;
	size_t i;
	int rc = -1;

	if ((eku = sk_ASN1_OBJECT_new_null()) == NULL)
		return -1;
	for (i = 0; i < sizeof(ca_ekus) / sizeof(ca_ekus[0]); i++)
		if ((bits & ca_ekus[i].bit) &&
		    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(ca_ekus[i].nid)))
			goto done;
	/* RFC 3161: a time-stamping EKU must be the only one, and critical */
	rc = ca_add_ext(x, NID_ext_key_usage, eku, bits == CFG_EKU_TIMESTAMP);
done:
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return rc;
}

static int
ca_ext_ski(X509 *x)
{
	ASN1_OCTET_STRING *ski;
	int rc;

	if ((ski = ca_keyid(x)) == NULL)
		return -1;
	rc = ca_add_ext(x, NID_subject_key_identifier, ski, 0);
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

/* issuer NULL: self-signed. An issuer without SKI gets its key hashed. */
static int
ca_ext_aki(X509 *x, X509 *issuer)
{
	const ASN1_OCTET_STRING *ski = NULL;
	AUTHORITY_KEYID *akid;
	int rc = -1;

	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return -1;
	if (issuer != NULL)
		ski = X509_get0_subject_key_id(issuer);
	akid->keyid = ski != NULL ? ASN1_OCTET_STRING_dup(ski) :
	    ca_keyid(issuer != NULL ? issuer : x);
	if (akid->keyid != NULL)
		rc = ca_add_ext(x, NID_authority_key_identifier, akid, 0);
	AUTHORITY_KEYID_free(akid);
	return rc;
}

static GENERAL_NAME *
ca_gn_uri(const char *uri)
{
	ASN1_IA5STRING *s;
	GENERAL_NAME *gn;

	if ((s = ASN1_IA5STRING_new()) == NULL)
		return NULL;
	if (!ASN1_STRING_set(s, uri, -1) || (gn = GENERAL_NAME_new()) == NULL) {
		ASN1_IA5STRING_free(s);
		return NULL;
	}
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	return gn;
}

/* CRLDistributionPoints syntax, also that of Freshest CRL (RFC 5280 4.2.1.15) */
static int
ca_ext_crldp(X509 *x, int nid, const char *url)
{
	CRL_DIST_POINTS *dps;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	int rc = -1;

	if ((dps = sk_DIST_POINT_new_null()) == NULL)
		return -1;
	if ((dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto done;
	dp->distpoint->type = 0;	/* fullName */
	if ((dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (gn = ca_gn_uri(url)) == NULL ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto done;
	gn = NULL;
	if (!sk_DIST_POINT_push(dps, dp))
		goto done;
	dp = NULL;
	rc = ca_add_ext(x, nid, dps, 0);
done:
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

static int
ca_aia_add(AUTHORITY_INFO_ACCESS *aia, int nid, const char *url)
{
	ACCESS_DESCRIPTION *ad;
	GENERAL_NAME *gn;

	if ((gn = ca_gn_uri(url)) == NULL)
		return -1;
	if ((ad = ACCESS_DESCRIPTION_new()) == NULL) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(nid);
	GENERAL_NAME_free(ad->location);
	ad->location = gn;
	if (!sk_ACCESS_DESCRIPTION_push(aia, ad)) {
		ACCESS_DESCRIPTION_free(ad);
		return -1;
	}
	return 0;
}

static int
ca_ext_aia(X509 *x, const char *ocsp, const char *issuer)
{
	AUTHORITY_INFO_ACCESS *aia;
	int rc = -1;

	if ((aia = sk_ACCESS_DESCRIPTION_new_null()) == NULL)
		return -1;
	if ((ocsp[0] == '\0' || ca_aia_add(aia, NID_ad_OCSP, ocsp) == 0) &&
	    (issuer[0] == '\0' || ca_aia_add(aia, NID_ad_ca_issuers, issuer) == 0))
		rc = ca_add_ext(x, NID_info_access, aia, 0);
	AUTHORITY_INFO_ACCESS_free(aia);
	return rc;
}

/* A policy qualifier pointing at the CPS (RFC 5280 4.2.1.4). */
static int
ca_policy_cps(POLICYINFO *pi, const char *cps)
{
	POLICYQUALINFO *q;

	if ((pi->qualifiers = sk_POLICYQUALINFO_new_null()) == NULL ||
	    (q = POLICYQUALINFO_new()) == NULL)
		return -1;
	q->pqualid = OBJ_nid2obj(NID_id_qt_cps);
	if ((q->d.cpsuri = ASN1_IA5STRING_new()) == NULL ||
	    !ASN1_STRING_set(q->d.cpsuri, cps, -1) ||
	    !sk_POLICYQUALINFO_push(pi->qualifiers, q)) {
		POLICYQUALINFO_free(q);
		return -1;
	}
	return 0;
}

static int
ca_policy_add(CERTIFICATEPOLICIES *cp, const char *oid, const char *cps)
{
	POLICYINFO *pi;
	ASN1_OBJECT *obj;

	if ((obj = OBJ_txt2obj(oid, 1)) == NULL)
		return -1;
	if ((pi = POLICYINFO_new()) == NULL) {
		ASN1_OBJECT_free(obj);
		return -1;
	}
	ASN1_OBJECT_free(pi->policyid);
	pi->policyid = obj;
	if ((cps[0] != '\0' && ca_policy_cps(pi, cps) == -1) ||
	    !sk_POLICYINFO_push(cp, pi)) {
		POLICYINFO_free(pi);
		return -1;
	}
	return 0;
}

/* oids: dotted OIDs separated by commas or spaces (checked by config.c). */
static int
ca_ext_policy(X509 *x, const char *oids, const char *cps)
{
	CERTIFICATEPOLICIES *cp;
	char oid[128];
	size_t len;
	int rc = -1;

	if ((cp = sk_POLICYINFO_new_null()) == NULL)
		return -1;
	for (oids += strspn(oids, ", "); *oids != '\0';
	    oids += strspn(oids, ", ")) {
		len = strcspn(oids, ", ");
		if (len >= sizeof(oid))
			goto done;
		memcpy(oid, oids, len);
		oid[len] = '\0';
		oids += len;
		if (ca_policy_add(cp, oid, cps) == -1)
			goto done;
	}
	rc = ca_add_ext(x, NID_certificate_policies, cp, 0);
done:
	CERTIFICATEPOLICIES_free(cp);
	return rc;
}

/* id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): the value is NULL. */
static int
ca_ext_nocheck(X509 *x)
{
	ASN1_NULL *n;
	int rc;

	if ((n = ASN1_NULL_new()) == NULL)
		return -1;
	rc = ca_add_ext(x, NID_id_pkix_OCSP_noCheck, n, 0);
	ASN1_NULL_free(n);
	return rc;
}

static int
ca_ext_profile(X509 *x, X509 *issuer, const struct cfg_profile *pr,
    GENERAL_NAMES *san)
{
	if (ca_ext_basic(x, pr->ca, pr->pathlen) == -1 ||
	    (pr->key_usage && ca_ext_ku(x, pr->key_usage) == -1) ||
	    (pr->ext_key_usage && ca_ext_eku(x, pr->ext_key_usage) == -1) ||
	    (!pr->no_ski && ca_ext_ski(x) == -1) ||
	    (!pr->no_aki && ca_ext_aki(x, issuer) == -1) ||
	    (san != NULL && ca_add_ext(x, NID_subject_alt_name, san, 0) == -1) ||
	    (pr->crl_url[0] && ca_ext_crldp(x, NID_crl_distribution_points,
	    pr->crl_url) == -1) ||
	    (pr->freshest_url[0] && ca_ext_crldp(x, NID_freshest_crl,
	    pr->freshest_url) == -1) ||
	    ((pr->ocsp_url[0] || pr->issuer_url[0]) &&
	    ca_ext_aia(x, pr->ocsp_url, pr->issuer_url) == -1) ||
	    (pr->policy_oid[0] && ca_ext_policy(x, pr->policy_oid,
	    pr->cps_url) == -1) ||
	    (pr->ocsp_nocheck && ca_ext_nocheck(x) == -1))
		return -1;
	return 0;
}

/* Unsigned big-endian, non-zero, at most 20 octets once DER-encoded. */
static int
ca_set_serial(X509 *x, const uint8_t *serial, size_t len)
{
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;
	int rc = -1;

	while (len > 0 && serial[0] == 0)
		serial++, len--;
	if (len == 0 || len > 20 || (len == 20 && (serial[0] & 0x80)))
		return -1;
	if ((bn = BN_bin2bn(serial, (int)len, NULL)) != NULL &&
	    (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_set_serialNumber(x, ai))
		rc = 0;
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

static int
ca_set_times(X509 *x, time_t nb, time_t na)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL ? 0 : -1;
}

/* The digest that goes with a signing key (docs/ca-layout.md 4.3). */
static int
ca_sign_md(EVP_PKEY *key, const EVP_MD **md, char *why, size_t whysz)
{
	int bits;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		*md = EVP_sha256();
		return 0;
	case EVP_PKEY_EC:
		bits = EVP_PKEY_get_bits(key);
		*md = bits <= 256 ? EVP_sha256() : bits <= 384 ? EVP_sha384() :
		    EVP_sha512();
		return 0;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		*md = NULL;
		return 0;
	}
	say(why, whysz, "the CA key type is not supported for signing");
	return -1;
}

static int
ca_sign(X509 *x, EVP_PKEY *key, char *why, size_t whysz)
{
	const EVP_MD *md;

	if (ca_sign_md(key, &md, why, whysz) == -1)
		return -1;
	if (X509_sign(x, key, md) <= 0) {
		say(why, whysz, "signing failed (%s)", ssl_reason());
		return -1;
	}
	return 0;
}

static void *
ca_param_dup(int ptype, const void *pval)
{
	switch (ptype) {
	case V_ASN1_OBJECT:
		return OBJ_dup(pval);
	case V_ASN1_SEQUENCE:
	case V_ASN1_OCTET_STRING:
	case V_ASN1_BIT_STRING:
		return ASN1_STRING_dup(pval);
	}
	return NULL;
}

/*
 * The request's SubjectPublicKeyInfo goes into the certificate as it was
 * encoded (it was checked by csr_check). X509_set_pubkey would encode the
 * parsed key and decode it again, which OpenSSL 3.0 does through its
 * encoder and decoder searches at several times the cost of the ECDSA
 * signature itself.
 */
static int
ca_copy_pubkey(X509 *x, const struct csr *c)
{
	X509_PUBKEY *from = c->req != NULL ? X509_REQ_get_X509_PUBKEY(c->req) :
	    c->spki->spkac->pubkey;
	const ASN1_OBJECT *aobj;
	const unsigned char *pk;
	X509_ALGOR *alg;
	const void *pval;
	ASN1_OBJECT *obj = NULL;
	unsigned char *bits = NULL;
	void *param = NULL;
	int ptype, pklen;

	if (!X509_PUBKEY_get0_param(NULL, &pk, &pklen, &alg, from) || pklen <= 0)
		return -1;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF &&
	    (param = ca_param_dup(ptype, pval)) == NULL)
		return -1;
	if ((obj = OBJ_dup(aobj)) == NULL ||
	    (bits = OPENSSL_memdup(pk, (size_t)pklen)) == NULL ||
	    !X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), obj, ptype, param,
	    bits, pklen)) {
		ASN1_OBJECT_free(obj);
		OPENSSL_free(bits);
		if (ptype == V_ASN1_OBJECT)
			ASN1_OBJECT_free(param);
		else
			ASN1_STRING_free(param);
		return -1;
	}
	return 0;
}

static X509 *
ca_build(const struct ca *ca, const struct cfg_profile *pr,
    const struct csr *c, time_t nb, time_t na, const uint8_t *serial,
    size_t serial_len, char *why, size_t whysz)
{
	X509 *x;

	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    !X509_set_subject_name(x, c->subject) ||
	    ca_set_times(x, nb, na) == -1 || ca_copy_pubkey(x, c) == -1) {
		say(why, whysz, "cannot build the certificate (%s)",
		    ssl_reason());
		goto fail;
	}
	if (ca_set_serial(x, serial, serial_len) == -1) {
		say(why, whysz, "the serial number must be positive and at most "
		    "20 octets");
		goto fail;
	}
	if (ca_ext_profile(x, ca->cert, pr, c->san) == -1) {
		say(why, whysz, "cannot add the extensions of profile %s (%s)",
		    pr->name, ssl_reason());
		goto fail;
	}
	return x;
fail:
	X509_free(x);
	return NULL;
}

int
ca_issue(struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, const uint8_t *serial, size_t serial_len,
    struct ca_issued *out, char *why, size_t whysz)
{
	struct csr c;
	X509 *x = NULL;
	time_t not_after = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	buf_init(&out->der);
	out->not_before = out->not_after = 0;
	out->subject[0] = '\0';
	say(why, whysz, "%s", "");
	if ((rc = csr_parse(req, &c, why, whysz)) != AL_OK ||
	    (rc = csr_check(ca, pr, req, &c, &not_after, why, whysz)) != AL_OK)
		goto done;
	rc = AL_E_INTERNAL;
	if ((x = ca_build(ca, pr, &c, req->now, not_after, serial, serial_len,
	    why, whysz)) == NULL || ca_sign(x, ca->key, why, whysz) == -1)
		goto done;
	if (ca_put_der(&out->der, x) == -1 || ca_name_string(
	    X509_get_subject_name(x), out->subject, sizeof(out->subject)) == -1) {
		say(why, whysz, "cannot encode the certificate");
		goto done;
	}
	out->not_before = req->now;
	out->not_after = not_after;
	rc = AL_OK;
done:
	if (rc != AL_OK) {
		buf_free(&out->der);
		out->subject[0] = '\0';
	}
	X509_free(x);
	csr_free(&c);
	ERR_clear_error();
	return rc;
}

/* --- creating a CA directory --- */

/* "/CN=x/O=y"; a backslash escapes the next character ("\/"). */
static X509_NAME *
ca_parse_subject(const char *subject, char *why, size_t whysz)
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
	say(why, whysz, "subject \"%s\": expected /TYPE=value/... with known "
	    "types and valid values", subject ? subject : "");
	free(copy);
	X509_NAME_free(name);
	return NULL;
}

static EVP_PKEY *
ca_keygen(const char *type, char *why, size_t whysz)
{
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(ca_keytypes) / sizeof(ca_keytypes[0]); i++)
		if (type != NULL && strcmp(type, ca_keytypes[i].name) == 0)
			break;
	if (i == sizeof(ca_keytypes) / sizeof(ca_keytypes[0])) {
		say(why, whysz, "unknown key type \"%s\"", type ? type : "");
		return NULL;
	}
	if (ca_keytypes[i].bits)
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg,
		    ca_keytypes[i].bits);
	else if (ca_keytypes[i].curve)
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg,
		    ca_keytypes[i].curve);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg);
	if (k == NULL)
		say(why, whysz, "key generation failed (%s)", ssl_reason());
	return k;
}

static X509 *
ca_root_cert(const struct ca_root_params *rp, EVP_PKEY *key,
    const struct ca *parent, char *why, size_t whysz)
{
	X509_NAME *name;
	X509 *x = NULL;
	uint8_t serial[16];
	time_t now = time(NULL), na = now + (time_t)rp->days * CA_DAY;

	if ((name = ca_parse_subject(rp->subject, why, whysz)) == NULL)
		return NULL;
	if (parent != NULL && na > parent->not_after) {
		say(why, whysz, "%u days would outlive the parent CA "
		    "certificate in %s", rp->days, rp->parent_dir);
		goto fail;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto ssl_fail;
	serial[0] = (serial[0] & 0x7f) | 0x40;	/* positive, full length */
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    ca_set_serial(x, serial, sizeof(serial)) == -1 ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x,
	    parent ? X509_get_subject_name(parent->cert) : name) ||
	    ca_set_times(x, now, na) == -1 || !X509_set_pubkey(x, key) ||
	    ca_ext_basic(x, 1, rp->pathlen) == -1 ||
	    ca_ext_ku(x, CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN) == -1 ||
	    ca_ext_ski(x) == -1 ||
	    ca_ext_aki(x, parent ? parent->cert : NULL) == -1)
		goto ssl_fail;
	if (ca_sign(x, parent ? parent->key : key, why, whysz) == -1)
		goto fail;
	X509_NAME_free(name);
	return x;
ssl_fail:
	say(why, whysz, "cannot build the CA certificate (%s)", ssl_reason());
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* Creates path (never replacing or following anything) with the bytes. */
static int
ca_write_new(const char *path, const void *p, size_t n, mode_t mode,
    char *why, size_t whysz)
{
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (write_full(fd, p, n) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
	} else if (close(fd) == 0)
		return 0;
	saved = errno;
	unlink(path);
	say(why, whysz, "%s: %s", path, strerror(saved));
	return -1;
}

static int
ca_write_bio(const char *dir, const char *file, BIO *bio, mode_t mode,
    char *why, size_t whysz)
{
	char path[PATH_MAX];
	BUF_MEM *bm;

	if (ca_path(path, dir, file, why, whysz) == -1)
		return -1;
	BIO_get_mem_ptr(bio, &bm);
	return ca_write_new(path, bm->data, bm->length, mode, why, whysz);
}

static int
ca_write_key(const char *dir, EVP_PKEY *key, const char *pass, char *why,
    size_t whysz)
{
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto done;
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key,
	    pass ? EVP_aes_256_cbc() : NULL, pass,
	    pass ? (int)strlen(pass) : 0, NULL, NULL)) {
		say(why, whysz, "%s: cannot encode the key (%s)", dir,
		    ssl_reason());
		goto done;
	}
	rc = ca_write_bio(dir, "ca.key", bio, 0600, why, whysz);
done:
	BIO_free(bio);	/* a secmem BIO clears itself */
	return rc;
}

static int
ca_write_certs(const char *dir, X509 *x, const struct ca *parent, char *why,
    size_t whysz)
{
	BIO *crt, *chain;
	int i, rc = -1;

	crt = BIO_new(BIO_s_mem());
	chain = BIO_new(BIO_s_mem());
	if (crt == NULL || chain == NULL || !PEM_write_bio_X509(crt, x))
		goto fail;
	if (parent != NULL && !PEM_write_bio_X509(chain, parent->cert))
		goto fail;
	for (i = 0; parent != NULL && i < sk_X509_num(parent->chain); i++)
		if (!PEM_write_bio_X509(chain, sk_X509_value(parent->chain, i)))
			goto fail;
	if (ca_write_bio(dir, "ca.crt", crt, 0644, why, whysz) == 0)
		rc = ca_write_bio(dir, "chain.pem", chain, 0644, why, whysz);
	goto done;
fail:
	say(why, whysz, "%s: cannot encode the certificates (%s)", dir,
	    ssl_reason());
done:
	BIO_free(crt);
	BIO_free(chain);
	return rc;
}

/* A CA directory is made fresh, or an empty one is used. */
static int
ca_make_dir(const char *dir, int *created, char *why, size_t whysz)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return 0;
	}
	if (errno != EEXIST ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		say(why, whysz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		say(why, whysz, "%s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n > 0) {
		say(why, whysz, "%s: exists and is not empty", dir);
		return -1;
	}
	return 0;
}

/* Undoes a failed ca_root_init: only what it made. */
static void
ca_unmake_dir(const char *dir, int created)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(ca_file_names) / sizeof(ca_file_names[0]); i++)
		if (ca_path(path, dir, ca_file_names[i], NULL, 0) == 0)
			unlink(path);
	if (created)
		rmdir(dir);
}

/* The new CA's key: generated, or a handle on a token key kept in *tok. */
static EVP_PKEY *
ca_root_key(const struct ca_root_params *rp, struct ca **tok, char *why,
    size_t whysz)
{
	if (rp->key_uri == NULL)
		return ca_keygen(rp->key_type, why, whysz);
	if (strncmp(rp->key_uri, "pkcs11:", 7) != 0 ||
	    rp->key_uri[strcspn(rp->key_uri, " \t\r\n")] != '\0' ||
	    (rp->module != NULL && rp->module[strcspn(rp->module, " \t\r\n")])) {
		say(why, whysz, "the key URI must start with pkcs11: and neither "
		    "it nor the module path may contain blanks");
		return NULL;
	}
	if ((*tok = calloc(1, sizeof(**tok))) == NULL) {
		say(why, whysz, "out of memory");
		return NULL;
	}
	buf_init(&(*tok)->chain_der);
	if (ca_token_key(*tok, rp->key_uri, rp->module, rp->pin, rp->key_uri,
	    why, whysz) == -1 || EVP_PKEY_up_ref((*tok)->key) != 1)
		return NULL;
	return (*tok)->key;
}

static int
ca_write_key_uri(const struct ca_root_params *rp, char *why, size_t whysz)
{
	char path[PATH_MAX], text[2 * PATH_MAX + 32];
	int n;

	n = snprintf(text, sizeof(text), "%s\n%s%s%s", rp->key_uri,
	    rp->module ? "module=" : "", rp->module ? rp->module : "",
	    rp->module ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		say(why, whysz, "the key URI is too long");
		return -1;
	}
	if (ca_path(path, rp->dir, "key.uri", why, whysz) == -1)
		return -1;
	return ca_write_new(path, text, (size_t)n, 0600, why, whysz);
}

/* basicConstraints and keyUsage asked for in a CA's request, so that a
 * parent that copies requested extensions makes a CA certificate. */
static int
ca_req_exts(X509_REQ *r, int pathlen)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509 *tmp;
	int i, rc = -1;

	if ((tmp = X509_new()) == NULL || (exts = sk_X509_EXTENSION_new_null())
	    == NULL) {
		X509_free(tmp);
		return -1;
	}
	if (ca_ext_basic(tmp, 1, pathlen) == 0 &&
	    ca_ext_ku(tmp, CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN) == 0) {
		for (i = 0; i < X509_get_ext_count(tmp); i++)
			if (!sk_X509_EXTENSION_push(exts, X509_get_ext(tmp, i)))
				goto done;
		rc = X509_REQ_add_extensions(r, exts) ? 0 : -1;
	}
done:
	sk_X509_EXTENSION_free(exts);	/* the extensions belong to tmp */
	X509_free(tmp);
	return rc;
}

static X509_REQ *
ca_root_req(const struct ca_root_params *rp, EVP_PKEY *key, char *why,
    size_t whysz)
{
	const EVP_MD *md;
	X509_NAME *name;
	X509_REQ *r = NULL;

	if ((name = ca_parse_subject(rp->subject, why, whysz)) == NULL)
		return NULL;
	if (ca_sign_md(key, &md, why, whysz) == -1)
		goto fail;
	if ((r = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(r, name) || !X509_REQ_set_pubkey(r, key) ||
	    ca_req_exts(r, rp->pathlen) == -1 || X509_REQ_sign(r, key, md) <= 0) {
		say(why, whysz, "cannot build the certificate request (%s)",
		    ssl_reason());
		goto fail;
	}
	X509_NAME_free(name);
	return r;
fail:
	X509_NAME_free(name);
	X509_REQ_free(r);
	return NULL;
}

static int
ca_write_req(const char *dir, X509_REQ *r, char *why, size_t whysz)
{
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_REQ(bio,
	    r))
		say(why, whysz, "%s: cannot encode the request", dir);
	else
		rc = ca_write_bio(dir, "ca.csr", bio, 0644, why, whysz);
	BIO_free(bio);
	return rc;
}

static void
ca_now_text(char *out, size_t outsz)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "@%lld", (long long)now);
}

/* root.info: a record for people of how the directory was made. */
static int
ca_write_info(const struct ca_root_params *rp, char *why, size_t whysz)
{
	char path[PATH_MAX], now[40], text[4 * PATH_MAX];
	int n;

	ca_now_text(now, sizeof(now));
	n = snprintf(text, sizeof(text),
	    "# made by airlockctl root init; for people, the signer does not "
	    "read it\ncreated=%s\nsubject=%s\nkey=%s\nkey_storage=%s\n"
	    "issuer=%s\ndays=%u\npathlen=%d\n%s", now, rp->subject,
	    rp->key_uri ? rp->key_uri : rp->key_type,
	    rp->key_uri ? "pkcs11" : rp->pass ? "encrypted file" : "file",
	    rp->csr_only ? "offline parent (ca.csr)" : rp->parent_dir ?
	    rp->parent_dir : "self-signed", rp->days, rp->pathlen,
	    rp->csr_only ? "state=waiting for the certificate (airlockctl "
	    "root install-cert)\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    ca_path(path, rp->dir, "root.info", why, whysz) == -1) {
		say(why, whysz, "%s: root.info is too long", rp->dir);
		return -1;
	}
	return ca_write_new(path, text, (size_t)n, 0644, why, whysz);
}

static int
ca_root_outputs(const struct ca_root_params *rp, EVP_PKEY *key,
    const struct ca *parent, char *why, size_t whysz)
{
	X509_REQ *r = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (rp->csr_only) {
		if ((r = ca_root_req(rp, key, why, whysz)) == NULL ||
		    ca_write_req(rp->dir, r, why, whysz) == -1)
			goto done;
	} else if ((x = ca_root_cert(rp, key, parent, why, whysz)) == NULL ||
	    ca_write_certs(rp->dir, x, parent, why, whysz) == -1)
		goto done;
	if ((rp->key_uri ? ca_write_key_uri(rp, why, whysz) :
	    ca_write_key(rp->dir, key, rp->pass, why, whysz)) == -1 ||
	    ca_write_info(rp, why, whysz) == -1)
		goto done;
	rc = 0;
done:
	X509_REQ_free(r);
	X509_free(x);
	return rc;
}

int
ca_root_init(const struct ca_root_params *rp, char *why, size_t whysz)
{
	struct ca *parent = NULL, *tok = NULL;
	EVP_PKEY *key = NULL;
	int created = 0, rc = -1;

	if (rp->dir == NULL || rp->days == 0) {
		say(why, whysz, "a directory and a validity are required");
		return -1;
	}
	if (rp->csr_only && rp->parent_dir != NULL) {
		say(why, whysz, "a request for an offline parent and a parent "
		    "directory exclude each other");
		return -1;
	}
	if (ca_make_dir(rp->dir, &created, why, whysz) == -1)
		return -1;
	if ((rp->parent_dir != NULL && ca_load_dir(rp->parent_dir,
	    rp->parent_pass, 1, &parent, why, whysz) == -1) ||
	    (key = ca_root_key(rp, &tok, why, whysz)) == NULL ||
	    ca_root_outputs(rp, key, parent, why, whysz) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		ca_unmake_dir(rp->dir, created);
	EVP_PKEY_free(key);
	ca_free(tok);
	ca_free(parent);
	ERR_clear_error();
	return rc;
}

/* --- for crl.c, the other X.509 module --- */

/*
 * The CA certificate (X509 *), its key (EVP_PKEY *) and the digest that
 * ca_issue signs with (const EVP_MD *, NULL for EdDSA), so that a root's
 * CRLs carry the same signature algorithm as its certificates.
 */
int
ca_crl_signer(const struct ca *ca, void **cert, void **key, const void **md)
{
	int bits;

	*cert = ca->cert;
	*key = ca->key;
	switch (EVP_PKEY_get_base_id(ca->key)) {
	case EVP_PKEY_RSA:
		*md = EVP_sha256();
		return 0;
	case EVP_PKEY_EC:
		bits = EVP_PKEY_get_bits(ca->key);
		*md = bits <= 256 ? EVP_sha256() : bits <= 384 ? EVP_sha384() :
		    EVP_sha512();
		return 0;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		*md = NULL;
		return 0;
	}
	return -1;
}

/* --- finishing a directory made for an offline parent --- */

static int
ca_read_req_key(const char *path, EVP_PKEY **out, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	X509_REQ *r = NULL;
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL ||
	    (r = PEM_read_bio_X509_REQ(bio, NULL, ca_pw_cb, &pw)) == NULL ||
	    (*out = X509_REQ_get_pubkey(r)) == NULL) {
		say(why, whysz, "%s: not a PEM certificate request (%s)", path,
		    ssl_reason());
		goto done;
	}
	rc = 0;
done:
	X509_REQ_free(r);
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

/* The certificate for ca.csr: its key, a CA, current, and issued by the
 * first certificate of the chain (or by itself when there is none). */
static int
ca_install_check(struct ca *c, EVP_PKEY *pub, const char *cert, char *why,
    size_t whysz)
{
	time_t nb;

	if (EVP_PKEY_eq(X509_get0_pubkey(c->cert), pub) != 1) {
		say(why, whysz, "%s: its key is not the key of ca.csr", cert);
		return -1;
	}
	if (X509_check_ca(c->cert) == 0 ||
	    ca_asn1_time(X509_get0_notBefore(c->cert), &nb) == -1 ||
	    ca_asn1_time(X509_get0_notAfter(c->cert), &c->not_after) == -1) {
		say(why, whysz, "%s: not a CA certificate with a readable "
		    "validity", cert);
		return -1;
	}
	if (c->not_after <= time(NULL)) {
		say(why, whysz, "%s: has expired", cert);
		return -1;
	}
	if (sk_X509_num(c->chain) == 0 &&
	    (X509_check_issued(c->cert, c->cert) != X509_V_OK ||
	    X509_verify(c->cert, pub) != 1)) {
		say(why, whysz, "%s: not self-signed; give the issuer's "
		    "certificates as the chain", cert);
		return -1;
	}
	return ca_check_chain(c, cert, why, whysz);
}

/* A note in root.info; the certificate is what counts, so no error. */
static void
ca_install_note(const char *dir)
{
	char path[PATH_MAX], now[40];
	FILE *f;

	ca_now_text(now, sizeof(now));
	if (ca_path(path, dir, "root.info", NULL, 0) == 0 &&
	    (f = fopen(path, "a")) != NULL) {
		fprintf(f, "installed=%s\n", now);
		fclose(f);
	}
}

static int
ca_install_write(const char *dir, const struct ca *c, char *why, size_t whysz)
{
	char path[PATH_MAX];
	BIO *crt, *chain;
	int i, ok, rc = -1;

	crt = BIO_new(BIO_s_mem());
	chain = BIO_new(BIO_s_mem());
	ok = crt != NULL && chain != NULL && PEM_write_bio_X509(crt, c->cert);
	for (i = 0; ok && i < sk_X509_num(c->chain); i++)
		ok = PEM_write_bio_X509(chain, sk_X509_value(c->chain, i));
	if (!ok) {
		say(why, whysz, "%s: cannot encode the certificates (%s)", dir,
		    ssl_reason());
		goto done;
	}
	if (ca_write_bio(dir, "ca.crt", crt, 0644, why, whysz) == -1)
		goto done;
	if (ca_write_bio(dir, "chain.pem", chain, 0644, why, whysz) == -1) {
		if (ca_path(path, dir, "ca.crt", NULL, 0) == 0)
			unlink(path);
		goto done;
	}
	ca_install_note(dir);
	rc = 0;
done:
	BIO_free(crt);
	BIO_free(chain);
	return rc;
}

int
ca_root_install(const char *dir, const char *cert, const char *chain,
    char *why, size_t whysz)
{
	char csr[PATH_MAX], crt[PATH_MAX];
	struct stat st;
	struct ca c;
	EVP_PKEY *pub = NULL;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (ca_path(csr, dir, "ca.csr", why, whysz) == -1 ||
	    ca_path(crt, dir, "ca.crt", why, whysz) == -1)
		return -1;
	if (stat(crt, &st) == 0 || errno != ENOENT) {
		say(why, whysz, "%s: already there; only a directory waiting "
		    "for its certificate can take one", crt);
		return -1;
	}
	if (ca_read_req_key(csr, &pub, why, whysz) == -1 ||
	    ca_read_cert(cert, &c.cert, why, whysz) == -1)
		goto done;
	if (chain != NULL ? ca_read_chain(chain, &c.chain, why, whysz) == -1 :
	    (c.chain = sk_X509_new_null()) == NULL)
		goto done;
	if (chain != NULL && sk_X509_num(c.chain) == 0) {
		say(why, whysz, "%s: no certificate in it", chain);
		goto done;
	}
	if (ca_install_check(&c, pub, cert, why, whysz) == 0)
		rc = ca_install_write(dir, &c, why, whysz);
done:
	EVP_PKEY_free(pub);
	X509_free(c.cert);
	sk_X509_pop_free(c.chain, X509_free);
	ERR_clear_error();
	return rc;
}

/* --- describing directories and certificates (airlockctl) --- */

static void
ca_key_alg(EVP_PKEY *k, char *out, size_t outsz)
{
	char group[80];
	const char *nist;

	switch (EVP_PKEY_get_base_id(k)) {
	case EVP_PKEY_RSA:
		snprintf(out, outsz, "RSA-%d", EVP_PKEY_get_bits(k));
		return;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
		    group, sizeof(group), NULL) != 1)
			snprintf(group, sizeof(group), "?");
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(out, outsz, "EC %s", nist ? nist : group);
		return;
	case EVP_PKEY_ED25519:
		snprintf(out, outsz, "Ed25519");
		return;
	}
	snprintf(out, outsz, "%s", EVP_PKEY_get0_type_name(k) ?
	    EVP_PKEY_get0_type_name(k) : "?");
}

/* How the key is kept: a token, a file (encrypted or not), or nothing. */
static void
ca_key_storage(const char *dir, char *out, size_t outsz)
{
	char path[PATH_MAX];
	struct stat st;
	struct buf b;

	if (ca_path(path, dir, "key.uri", NULL, 0) == 0 && stat(path, &st) == 0) {
		snprintf(out, outsz, "pkcs11");
		return;
	}
	buf_init(&b);
	if (ca_path(path, dir, "ca.key", NULL, 0) == -1 ||
	    read_file(path, &b, CA_PEM_MAX) == -1)
		snprintf(out, outsz, "%s", errno == ENOENT ? "missing" :
		    "unreadable");
	else if (memmem(b.p, b.len, "ENCRYPTED", 9) != NULL)
		snprintf(out, outsz, "encrypted file");
	else
		snprintf(out, outsz, "file");
	buf_free(&b);
}

static int
ca_dir_pending(const char *dir, struct ca_dirinfo *di, char *why,
    size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	char csr[PATH_MAX];
	X509_REQ *r = NULL;
	EVP_PKEY *pub = NULL;
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	buf_init(&b);
	if (ca_path(csr, dir, "ca.csr", why, whysz) == -1 ||
	    ca_slurp(csr, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL ||
	    (r = PEM_read_bio_X509_REQ(bio, NULL, ca_pw_cb, &pw)) == NULL ||
	    (pub = X509_REQ_get_pubkey(r)) == NULL) {
		say(why, whysz, "%s: not a PEM certificate request", csr);
		goto done;
	}
	di->pending = 1;
	ca_name_string(X509_REQ_get_subject_name(r), di->subject,
	    sizeof(di->subject));
	ca_key_alg(pub, di->key_alg, sizeof(di->key_alg));
	rc = 0;
done:
	EVP_PKEY_free(pub);
	X509_REQ_free(r);
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

int
ca_dir_info(const char *dir, struct ca_dirinfo *di, char *why, size_t whysz)
{
	char crt[PATH_MAX];
	struct stat st;
	struct ca *ca = NULL;
	int rc = -1;

	memset(di, 0, sizeof(*di));
	ca_key_storage(dir, di->key, sizeof(di->key));
	if (ca_path(crt, dir, "ca.crt", why, whysz) == -1)
		return -1;
	if (stat(crt, &st) == -1 && errno == ENOENT) {
		rc = ca_dir_pending(dir, di, why, whysz);
		goto done;
	}
	if (ca_load_dir(dir, NULL, 0, &ca, why, whysz) == -1)
		goto done;
	ca_name_string(X509_get_subject_name(ca->cert), di->subject,
	    sizeof(di->subject));
	ca_name_string(X509_get_issuer_name(ca->cert), di->issuer,
	    sizeof(di->issuer));
	ca_asn1_time(X509_get0_notBefore(ca->cert), &di->not_before);
	di->not_after = ca->not_after;
	di->self_signed = X509_check_issued(ca->cert, ca->cert) == X509_V_OK;
	di->chain_len = sk_X509_num(ca->chain);
	ca_key_alg(X509_get0_pubkey(ca->cert), di->key_alg, sizeof(di->key_alg));
	rc = 0;
done:
	ca_free(ca);
	ERR_clear_error();
	return rc;
}

static X509 *
ca_cert_parse(const uint8_t *p, size_t n, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	const unsigned char *q = p;
	X509 *x = NULL;
	BIO *bio;

	if (n == 0 || n > CA_PEM_MAX) {
		say(why, whysz, "empty or too large");
		return NULL;
	}
	if (p[0] == 0x30) {
		if ((x = d2i_X509(NULL, &q, (long)n)) != NULL && q != p + n) {
			X509_free(x);
			x = NULL;
		}
	} else if ((bio = BIO_new_mem_buf(p, (int)n)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, ca_pw_cb, &pw);
		BIO_free(bio);
	}
	if (x == NULL)
		say(why, whysz, "not a certificate in PEM or DER (%s)",
		    ssl_reason());
	return x;
}

static int
ca_info_serial(X509 *x, struct ca_certinfo *ci)
{
	BIGNUM *bn;
	int n = -1;

	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    !BN_is_negative(bn) && !BN_is_zero(bn) &&
	    BN_num_bytes(bn) <= (int)sizeof(ci->serial))
		n = BN_bn2bin(bn, ci->serial);
	BN_free(bn);
	if (n <= 0)
		return -1;
	ci->serial_len = (size_t)n;
	return 0;
}

static int
ca_info_fill(X509 *x, struct ca_certinfo *ci, char *why, size_t whysz)
{
	const ASN1_TIME *na = X509_get0_notAfter(x);

	if (ca_info_serial(x, ci) == -1) {
		say(why, whysz, "the serial number is not positive or longer "
		    "than 20 octets");
		return -1;
	}
	if (ca_asn1_time(X509_get0_notBefore(x), &ci->not_before) == -1 ||
	    ca_asn1_time(na, &ci->not_after) == -1 ||
	    (size_t)ASN1_STRING_length(na) >= sizeof(ci->not_after_text)) {
		say(why, whysz, "the validity does not decode");
		return -1;
	}
	memcpy(ci->not_after_text, ASN1_STRING_get0_data(na),
	    (size_t)ASN1_STRING_length(na));
	ci->not_after_text[ASN1_STRING_length(na)] = '\0';
	if (ca_name_string(X509_get_subject_name(x), ci->subject,
	    sizeof(ci->subject)) == -1 || X509_NAME_oneline(
	    X509_get_subject_name(x), ci->subject_oneline,
	    sizeof(ci->subject_oneline)) == NULL) {
		say(why, whysz, "the subject is too long");
		return -1;
	}
	if (ca_put_der(&ci->der, x) == -1) {
		say(why, whysz, "cannot encode the certificate");
		return -1;
	}
	return 0;
}

int
ca_cert_info(const uint8_t *p, size_t n, const struct ca *issuer,
    struct ca_certinfo *ci, char *why, size_t whysz)
{
	X509 *x;
	int rc = -1;

	memset(ci, 0, sizeof(*ci));
	buf_init(&ci->der);
	if ((x = ca_cert_parse(p, n, why, whysz)) == NULL)
		goto done;
	if (issuer != NULL && (X509_check_issued(issuer->cert, x) != X509_V_OK ||
	    X509_verify(x, X509_get0_pubkey(issuer->cert)) != 1)) {
		say(why, whysz, "not issued by this root's CA certificate");
		goto done;
	}
	rc = ca_info_fill(x, ci, why, whysz);
done:
	if (rc == -1)
		buf_free(&ci->der);
	X509_free(x);
	ERR_clear_error();
	return rc;
}

void
ca_certinfo_free(struct ca_certinfo *ci)
{
	buf_free(&ci->der);
}
