/*
 * ca_request.c: parsing certificate requests: PKCS#10 (DER or PEM) and SPKAC
 * text, in a library context without providers (see ca_int.h).
 */
#include <pthread.h>

#include "ca_int.h"

/* --- parsing requests --- */

void
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
/*
 * airlock-signerd's signing threads (src/signerd/signer_pool.c) check
 * requests at the same time: what this file keeps between requests (that
 * context, the curve templates below, one key-import context) is made
 * under csr_lock; a template, once made, is only copied, outside it.
 */
static pthread_mutex_t csr_lock = PTHREAD_MUTEX_INITIALIZER;

static OSSL_LIB_CTX *
csr_parse_ctx(void)
{
	static OSSL_LIB_CTX *ctx;
	static int tried;
	OSSL_LIB_CTX *c;

	pthread_mutex_lock(&csr_lock);
	if (!tried) {
		tried = 1;
		if ((ctx = OSSL_LIB_CTX_new()) != NULL &&
		    OSSL_PROVIDER_load(ctx, "null") == NULL) {
			OSSL_LIB_CTX_free(ctx);
			ctx = NULL;
		}
	}
	c = ctx;
	pthread_mutex_unlock(&csr_lock);
	return c;
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

/* The template for a curve, or NULL; under csr_lock. A template, once
 * kept, is never changed or freed: it is only read (copied) afterwards. */
static EVP_PKEY *
csr_ec_template(int nid)
{
	size_t i;

	for (i = 0; i < sizeof(csr_ec_templates) / sizeof(csr_ec_templates[0]);
	    i++)
		if (csr_ec_templates[i].key != NULL &&
		    csr_ec_templates[i].nid == nid)
			return csr_ec_templates[i].key;
	return NULL;
}

/* A copy of the template with the request's point, outside the lock: the
 * signing threads check requests of one curve at the same time. */
static EVP_PKEY *
csr_pubkey_ec_like(EVP_PKEY *tmpl, const unsigned char *pk, int pklen)
{
	EVP_PKEY *k;

	if ((k = EVP_PKEY_dup(tmpl)) == NULL)
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
csr_pubkey_ec_locked(const void *curve, const unsigned char *pk, int pklen)
{
	static EVP_PKEY_CTX *ctx;
	OSSL_PARAM params[3];
	EVP_PKEY *k = NULL;
	const char *name;
	int nid = OBJ_obj2nid(curve);

	if (nid == NID_undef || (name = OBJ_nid2sn(nid)) == NULL)
		return NULL;
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

static EVP_PKEY *
csr_pubkey_ec(const void *curve, const unsigned char *pk, int pklen)
{
	EVP_PKEY *k, *tmpl;

	pthread_mutex_lock(&csr_lock);
	tmpl = csr_ec_template(OBJ_obj2nid(curve));
	pthread_mutex_unlock(&csr_lock);
	if (tmpl != NULL)
		return csr_pubkey_ec_like(tmpl, pk, pklen);
	pthread_mutex_lock(&csr_lock);
	k = csr_pubkey_ec_locked(curve, pk, pklen);
	pthread_mutex_unlock(&csr_lock);
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

int
csr_parse(const struct ca_request *req, struct csr *c, char *why,
    size_t whysz)
{
	int rc;

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
		rc = csr_parse_pkcs10(req->csr, req->csr_len, c, why, whysz);
		break;
	case MSG_CSR_SPKAC:
		rc = csr_parse_spkac(req->csr, req->csr_len, c, why, whysz);
		break;
	default:
		say(why, whysz, "unknown request format %d", req->format);
		return AL_E_CSR_PARSE;
	}
	return rc != AL_OK ? rc : csr_override(req, c, why, whysz);
}
