/*
 * ca_build.c: building and signing a certificate from a checked request and
 * the profile's extensions (ca_issue), and the CA key for CRLs.
 */

#include "ca_int.h"
#include "crl_x509.h"
#include "crypto.h"

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

	if (!X509_pubkey_digest(x, crypto_md(CRYPTO_SHA1), md, &len) ||
	    (id = ASN1_OCTET_STRING_new()) == NULL)
		return NULL;
	if (!ASN1_OCTET_STRING_set(id, md, (int)len)) {
		ASN1_OCTET_STRING_free(id);
		return NULL;
	}
	return id;
}

int
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

int
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

int
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
int
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
int
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

int
ca_set_times(X509 *x, time_t nb, time_t na)
{
	return ASN1_TIME_set(X509_getm_notBefore(x), nb) != NULL &&
	    ASN1_TIME_set(X509_getm_notAfter(x), na) != NULL ? 0 : -1;
}

/* The digest that goes with a signing key (docs/ca-layout.md 4.3). */
int
ca_sign_md(EVP_PKEY *key, const EVP_MD **md, char *why, size_t whysz)
{
	int bits;

	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		*md = crypto_md(CRYPTO_SHA256);
		return 0;
	case EVP_PKEY_EC:
		bits = EVP_PKEY_get_bits(key);
		*md = crypto_md(bits <= 256 ? CRYPTO_SHA256 : bits <= 384 ?
		    CRYPTO_SHA384 : CRYPTO_SHA512);
		return 0;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		*md = NULL;
		return 0;
	}
	say(why, whysz, "the CA key type is not supported for signing");
	return -1;
}

int
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

/*
 * The signature's AlgorithmIdentifier as the key's provider writes it (what
 * ASN1_item_sign_ctx puts in both places), its DER into aid; its length, or
 * -1: a key of the legacy interface (an engine's) does not say.
 */
static int
ca_sigalg(EVP_PKEY_CTX *pctx, unsigned char *aid, size_t aidsz)
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid, aidsz);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_get_params(pctx, params) <= 0 ||
	    !OSSL_PARAM_modified(&params[0]) || params[0].return_size == 0 ||
	    params[0].return_size > aidsz)
		return -1;
	return (int)params[0].return_size;
}

/* One part of the TBS: i2d's DER of it, appended to b. */
#define CA_TBS_PART(b, i2d, obj) do {					\
	unsigned char *part_ = NULL;					\
	int n_ = (i2d)((obj), &part_);					\
	int ok_ = n_ > 0 && buf_put((b), part_, (size_t)n_) == 0;	\
	OPENSSL_free(part_);						\
	if (!ok_)							\
		goto fail;						\
} while (0)

/* A DER header (tag, definite length) and its content, appended to b. */
static int
ca_der_put(struct buf *b, int tag, int xclass, int constructed,
    const void *p, size_t n)
{
	unsigned char hdr[16], *h = hdr;

	if (n > (size_t)MSG_MAX_LEN)
		return -1;
	ASN1_put_object(&h, constructed, (int)n, tag, xclass);
	return buf_put(b, hdr, (size_t)(h - hdr)) == 0 &&
	    (n == 0 || buf_put(b, p, n) == 0) ? 0 : -1;
}

/*
 * Extensions ::= SEQUENCE OF Extension, each SEQUENCE { extnID, critical
 * BOOLEAN DEFAULT FALSE (left out when false), extnValue OCTET STRING }
 * (RFC 5280 4.1), from x's extensions as they are: OpenSSL's template
 * encoder took 30,000 instructions a certificate for the same bytes.
 */
static int
ca_exts_der(const STACK_OF(X509_EXTENSION) *exts, struct buf *out)
{
	static const unsigned char crit[] = { 0x01, 0x01, 0xff };
	struct buf all, one;
	int i, rc = -1;

	buf_init(&all);
	buf_init(&one);
	for (i = 0; i < sk_X509_EXTENSION_num(exts); i++) {
		X509_EXTENSION *e = sk_X509_EXTENSION_value(exts, i);
		const ASN1_OBJECT *o = X509_EXTENSION_get_object(e);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(e);

		buf_reset(&one);
		if (OBJ_length(o) == 0 || ca_der_put(&one, V_ASN1_OBJECT,
		    V_ASN1_UNIVERSAL, 0, OBJ_get0_data(o), OBJ_length(o)) == -1 ||
		    (X509_EXTENSION_get_critical(e) &&
		    buf_put(&one, crit, sizeof(crit)) == -1) ||
		    ca_der_put(&one, V_ASN1_OCTET_STRING, V_ASN1_UNIVERSAL, 0,
		    ASN1_STRING_get0_data(v), (size_t)ASN1_STRING_length(v)) == -1 ||
		    ca_der_put(&all, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, one.p,
		    one.len) == -1)
			goto done;
	}
	rc = ca_der_put(out, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, all.p,
	    all.len);
done:
	buf_free(&all);
	buf_free(&one);
	return rc;
}

/*
 * The TBSCertificate (RFC 5280 4.1) of x, put together from the DER of its
 * parts: version 3, x's serial, the signature algorithm aid, the issuer
 * (the CA certificate's subject), x's validity, the subject, x's public
 * key and extensions. x itself carries no names: X509_set_issuer_name and
 * X509_set_subject_name copy a name by encoding and decoding it again, and
 * i2d_re_X509_tbs walks OpenSSL's whole template; together they were a
 * seventh of a P-256 certificate's work outside its two ECDSA operations.
 * What comes out is what OpenSSL writes for these fields: test_ca decodes
 * every certificate it issues, has OpenSSL encode its TBS again and finds
 * the same bytes.
 */
static int
ca_tbs_der(const struct ca *ca, X509 *x, const X509_NAME *subject,
    const unsigned char *aid, size_t aidlen, struct buf *tbs)
{
	static const unsigned char v3[] = { 0xa0, 0x03, 0x02, 0x01, 0x02 };
	const STACK_OF(X509_EXTENSION) *exts = X509_get0_extensions(x);
	struct buf body, times, ext;
	int rc = -1;

	buf_init(&body);
	buf_init(&times);
	buf_init(&ext);
	buf_reset(tbs);
	if (buf_put(&body, v3, sizeof(v3)) == -1)
		goto fail;
	CA_TBS_PART(&body, i2d_ASN1_INTEGER, X509_get0_serialNumber(x));
	if (buf_put(&body, aid, aidlen) == -1)
		goto fail;
	CA_TBS_PART(&body, i2d_X509_NAME, X509_get_subject_name(ca->cert));
	CA_TBS_PART(&times, i2d_ASN1_TIME, X509_get0_notBefore(x));
	CA_TBS_PART(&times, i2d_ASN1_TIME, X509_get0_notAfter(x));
	if (ca_der_put(&body, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, times.p,
	    times.len) == -1)
		goto fail;
	CA_TBS_PART(&body, i2d_X509_NAME, subject);
	CA_TBS_PART(&body, i2d_X509_PUBKEY, X509_get_X509_PUBKEY(x));
	if (sk_X509_EXTENSION_num(exts) > 0 &&	/* [3] EXPLICIT Extensions */
	    (ca_exts_der(exts, &ext) == -1 || ca_der_put(&body, 3,
	    V_ASN1_CONTEXT_SPECIFIC, 1, ext.p, ext.len) == -1))
		goto fail;
	if (ca_der_put(tbs, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL, 1, body.p,
	    body.len) == -1)
		goto fail;
	rc = 0;
fail:
	buf_free(&body);
	buf_free(&times);
	buf_free(&ext);
	return rc;
}
#undef CA_TBS_PART

/*
 * Signs the certificate x (its serial, validity, key and extensions) with
 * subject as its subject and puts its DER in out, encoding the TBS part
 * once (ca_tbs_der): X509_sign encodes it to sign it and i2d_X509 would
 * encode it again. The signature algorithm is the provider's, as X509_sign
 * writes it; a key whose provider does not name it (an engine's) takes
 * X509_sign itself, on x with both names set.
 */
static int
ca_sign_der(const struct ca *ca, X509 *x, X509_NAME *subject, struct buf *out,
    char *why, size_t whysz)
{
	unsigned char aid[128], *sig = NULL;
	EVP_MD_CTX *mctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md;
	struct buf tbs;
	size_t siglen = 0;
	int aidlen, rc = -1;

	buf_init(&tbs);
	if (ca_sign_md(ca->key, &md, why, whysz) == -1)
		return -1;
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(mctx, &pctx, md, NULL, ca->key) <= 0)
		goto fail;
	if ((aidlen = ca_sigalg(pctx, aid, sizeof(aid))) == -1) {
		ERR_clear_error();
		if (!X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
		    !X509_set_subject_name(x, subject))
			goto fail;
		rc = ca_sign(x, ca->key, why, whysz) == 0 && ca_put_der(out, x) ==
		    0 ? 0 : -1;
		goto done;
	}
	if (ca_tbs_der(ca, x, subject, aid, (size_t)aidlen, &tbs) == -1) {
		say(why, whysz, "cannot encode the certificate (%s)",
		    ssl_reason());
		goto done;
	}
	if (EVP_DigestSign(mctx, NULL, &siglen, tbs.p, tbs.len) <= 0 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(mctx, sig, &siglen, tbs.p, tbs.len) <= 0)
		goto fail;
	/* Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING },
	 * put together as a CRL is */
	if (crl_assemble(tbs.p, tbs.len, aid, (size_t)aidlen, sig, siglen,
	    out) == -1) {
		say(why, whysz, "cannot encode the certificate");
		goto done;
	}
	rc = 0;
	goto done;
fail:
	say(why, whysz, "signing failed (%s)", ssl_reason());
done:
	buf_free(&tbs);
	OPENSSL_free(sig);
	EVP_MD_CTX_free(mctx);
	return rc;
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

	/* the names are ca_sign_der's (ca_tbs_der) */
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
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
	struct ca_certinfo check;
	struct csr c;
	X509 *x = NULL;
	time_t not_after = 0;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&check, 0, sizeof(check));
	buf_init(&out->der);
	out->not_before = out->not_after = 0;
	out->subject[0] = '\0';
	say(why, whysz, "%s", "");
	if ((rc = csr_parse(req, &c, why, whysz)) != AL_OK ||
	    (rc = csr_check(ca, pr, req, &c, &not_after, why, whysz)) != AL_OK)
		goto done;
	rc = AL_E_INTERNAL;
	if ((x = ca_build(ca, pr, &c, req->now, not_after, serial, serial_len,
	    why, whysz)) == NULL || ca_sign_der(ca, x, c.subject, &out->der,
	    why, whysz) == -1)
		goto done;
	/* a key on a token could misbehave, and a faulty RSA signature can give
	 * the key away to whoever receives it: checked with the CA
	 * certificate's key before the certificate leaves, as the CRL builder
	 * checks its signatures (a key in memory: OpenSSL checks its own RSA
	 * computation) */
	if (ca->engine != NULL && ca_cert_info(out->der.p, out->der.len, ca,
	    &check, why, whysz) == -1) {
		say(why, whysz, "the token's signature on the certificate does "
		    "not verify with the CA certificate; nothing was issued");
		goto done;
	}
	ca_certinfo_free(&check);
	/* the certificate's subject is the request's, printed by csr_check */
	memcpy(out->subject, c.subject_line, sizeof(out->subject));
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

/* --- for crl.c, the other X.509 module --- */

/*
 * The CA certificate (X509 *), its key (EVP_PKEY *) and the digest that
 * ca_issue signs with (const EVP_MD *, NULL for EdDSA), so that a root's
 * CRLs carry the same signature algorithm as its certificates.
 */
int
ca_crl_signer(const struct ca *ca, void **cert, void **key, const void **md)
{
	const EVP_MD *m;
	char why[8];

	if (ca_sign_md(ca->key, &m, why, sizeof(why)) == -1)
		return -1;
	*cert = ca->cert;
	*key = ca->key;
	*md = m;
	return 0;
}
