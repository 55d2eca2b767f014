/*
 * ca_policy.c: checking a parsed request against a profile: key type and size,
 * digest, self-signature, subject, subjectAltName (with the public suffix
 * and allowed-domain rules) and validity. Every refusal is an AL_E_* code
 * and one sentence.
 */
#include "ca_int.h"
#include "crypto.h"

/* --- checking requests --- */

static int
csr_check_rsa(const struct cfg_profile *pr, EVP_PKEY *pub, char *why,
    size_t whysz)
{
	uint32_t min = pr->min_rsa_bits ? pr->min_rsa_bits : CA_DEFAULT_RSA_BITS;
	int bits = EVP_PKEY_get_bits(pub);

	if (bits <= 0 || (uint32_t)bits < min)
		say(why, whysz, "the RSA key has %d bits; profile %s requires "
		    "at least %u", bits, pr->name, min);
	else if (bits > CA_RSA_MAX_BITS)
		say(why, whysz, "the RSA key has %d bits; at most %d are "
		    "accepted", bits, CA_RSA_MAX_BITS);
	else if (crypto_rsa_public_ok(pub, why, whysz) == 0)
		return AL_OK;
	return AL_E_KEY_SIZE;
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

/* not a point of small order, for which anyone signs */
static int
csr_check_ed25519(EVP_PKEY *pub, char *why, size_t whysz)
{
	uint8_t pk[32];
	size_t len = sizeof(pk);

	if (!EVP_PKEY_get_raw_public_key(pub, pk, &len) || len != sizeof(pk) ||
	    crypto_ed25519_public_ok(pk) == -1) {
		say(why, whysz, "the Ed25519 public key is a point of small "
		    "order");
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
	return csr_check_ed25519(pub, why, whysz);
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
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if ((len = utf8_seq(s + i, n - i, &cp)) == 0 || cp < 0x20 ||
		    (cp >= 0x7f && cp <= 0x9f))
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

/* a profile's cap; 0 (a profile made in code) is the default */
#define CA_CAP(v, def)	((v) != 0 ? (v) : (uint32_t)(def))

/* RFC 5280 appendix A.1 (and PKCS #9 for emailAddress): the upper bounds,
 * in characters, of the attributes a profile may allow */
static const struct {
	int		 nid;
	int		 bound;
	const char	*bound_name;
} ca_attr_bounds[] = {
	{ NID_commonName,		64,	"ub-common-name" },
	{ NID_organizationName,		64,	"ub-organization-name" },
	{ NID_organizationalUnitName,	64,	"ub-organizational-unit-name" },
	{ NID_localityName,		128,	"ub-locality-name" },
	{ NID_stateOrProvinceName,	128,	"ub-state-name" },
	{ NID_serialNumber,		64,	"ub-serial-number" },
	{ NID_pkcs9_emailAddress,	255,	"ub-emailaddress-length" },
	{ NID_title,			64,	"ub-title" },
	{ NID_givenName,		32768,	"ub-name" },
	{ NID_surname,			32768,	"ub-name" },
	{ NID_pseudonym,		128,	"ub-pseudonym" },
};

/* Characters (code points) of valid UTF-8: its bytes but continuations. */
static int
ca_utf8_chars(const unsigned char *u, int len)
{
	int i, n = 0;

	for (i = 0; i < len; i++)
		n += (u[i] & 0xc0) != 0x80;
	return n;
}

static int
csr_check_bound(int nid, const char *name, const unsigned char *u, int len,
    char *why, size_t whysz)
{
	size_t i;
	int n;

	for (i = 0; i < sizeof(ca_attr_bounds) / sizeof(ca_attr_bounds[0]); i++) {
		if (ca_attr_bounds[i].nid != nid)
			continue;
		if ((n = ca_utf8_chars(u, len)) <= ca_attr_bounds[i].bound)
			return AL_OK;
		say(why, whysz, "the subject attribute %s has %d characters; "
		    "at most %d are allowed (RFC 5280 %s)", name, n,
		    ca_attr_bounds[i].bound, ca_attr_bounds[i].bound_name);
		return AL_E_SUBJECT;
	}
	return AL_OK;
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
		return csr_check_bound(nid, name, u, len, why, whysz);
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

int
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

/* The subject's RFC 2253 line goes to line (the certificate's subject:
 * ca_issue reports it without printing the name again). */
static int
csr_check_subject(const struct cfg_profile *pr, const X509_NAME *name,
    char *line, size_t linesz, char *why, size_t whysz)
{
	const char *allowed = pr->subject_attrs[0] ? pr->subject_attrs :
	    CA_DEFAULT_ATTRS;
	int i, n = X509_NAME_entry_count(name), rc;

	if (n == 0) {
		say(why, whysz, "the subject is empty");
		return AL_E_SUBJECT;
	}
	if ((uint32_t)n > CA_CAP(pr->max_subject_attrs, CFG_MAX_SUBJECT_ATTRS_DEFAULT)) {
		say(why, whysz, "the subject has %d attributes; profile %s allows "
		    "at most %u (max_subject_attrs)", n, pr->name,
		    CA_CAP(pr->max_subject_attrs, CFG_MAX_SUBJECT_ATTRS_DEFAULT));
		return AL_E_SUBJECT;
	}
	for (i = 0; i < n; i++) {
		rc = csr_check_entry(pr, allowed, X509_NAME_get_entry(name, i),
		    why, whysz);
		if (rc != AL_OK)
			return rc;
	}
	if (ca_name_string(name, line, linesz) == -1) {
		say(why, whysz, "the subject is longer than %zu characters",
		    linesz - 1);
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

	if (c->san_given) {
		if (c->san == NULL)
			return AL_OK;
	} else if (c->req == NULL)
		return AL_OK;
	else if ((rc = csr_get_san(c, why, whysz)) != AL_OK || c->san == NULL)
		return rc;
	/* the count first: each entry's checks are then bounded work */
	if ((uint32_t)sk_GENERAL_NAME_num(c->san) > CA_CAP(pr->max_san,
	    CFG_MAX_SAN_DEFAULT)) {
		say(why, whysz, "the request has %d subjectAltName entries; profile "
		    "%s allows at most %u (max_san)", sk_GENERAL_NAME_num(c->san),
		    pr->name, CA_CAP(pr->max_san, CFG_MAX_SAN_DEFAULT));
		return AL_E_SAN;
	}
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

int
csr_check(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, struct csr *c, time_t *not_after, char *why,
    size_t whysz)
{
	int rc;

	if ((rc = csr_check_key(pr, c->pub, why, whysz)) != AL_OK ||
	    (rc = csr_check_digest(c->sig_nid, why, whysz)) != AL_OK ||
	    (rc = csr_check_sig(c, why, whysz)) != AL_OK ||
	    (rc = csr_check_subject(pr, c->subject, c->subject_line,
	    sizeof(c->subject_line), why, whysz)) != AL_OK ||
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
	return ca_check_request_subject(ca, pr, req, NULL, 0, why, whysz);
}

int
ca_check_request_subject(const struct ca *ca, const struct cfg_profile *pr,
    const struct ca_request *req, char *subject, size_t subjsz, char *why,
    size_t whysz)
{
	struct csr c;
	time_t not_after;
	int rc;

	memset(&c, 0, sizeof(c));
	say(why, whysz, "%s", "");
	if ((rc = csr_parse(req, &c, why, whysz)) == AL_OK)
		rc = csr_check(ca, pr, req, &c, &not_after, why, whysz);
	if (rc == AL_OK && subject != NULL)
		snprintf(subject, subjsz, "%s", c.subject_line);
	csr_free(&c);
	ERR_clear_error();
	return rc;
}
