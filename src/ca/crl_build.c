/*
 * crl_build.c: builds and signs full and delta CRLs (RFC 5280 v2) with a
 * CA key and OpenSSL's CRL API, in the form src/pki/crl.c describes and
 * rebuilds. Part of the CA engine: it holds a CA key while it signs.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ca.h"
#include "crl_x509.h"
#include "crlsign.h"

#define CRL_OID_EXPIRED		"2.5.29.60"	/* X.509 id-ce-expiredCertsOnCRL */

struct crl_builder {
	X509_CRL	*crl;
	X509		*cacert;
	EVP_PKEY	*key;
	const EVP_MD	*md;		/* NULL for EdDSA */
	ASN1_INTEGER	*serial;	/* scratch values, reused per entry */
	ASN1_TIME	*time;
	ASN1_ENUMERATED	*reason;
	ASN1_GENERALIZEDTIME *gtime;
};

static int
crl_ext_number(X509_CRL *crl, int nid, int64_t v, int crit)
{
	ASN1_INTEGER *ai;
	int rc = -1;

	if ((ai = ASN1_INTEGER_new()) != NULL && ASN1_INTEGER_set_int64(ai, v) &&
	    X509_CRL_add1_ext_i2d(crl, nid, ai, crit, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
	ASN1_INTEGER_free(ai);
	return rc;
}

/* The CA's subjectKeyIdentifier, or RFC 5280 method 1 if it has none. */
static int
crl_ext_aki(struct crl_builder *b)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(b->cacert);
	unsigned char md[EVP_MAX_MD_SIZE];
	AUTHORITY_KEYID *akid;
	unsigned int len;
	int rc = -1;

	if ((akid = AUTHORITY_KEYID_new()) == NULL)
		return -1;
	if (ski != NULL)
		akid->keyid = ASN1_OCTET_STRING_dup(ski);
	else if (X509_pubkey_digest(b->cacert, EVP_sha1(), md, &len) &&
	    (akid->keyid = ASN1_OCTET_STRING_new()) != NULL &&
	    !ASN1_OCTET_STRING_set(akid->keyid, md, (int)len)) {
		ASN1_OCTET_STRING_free(akid->keyid);
		akid->keyid = NULL;
	}
	if (akid->keyid != NULL && X509_CRL_add1_ext_i2d(b->crl,
	    NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) == 1)
		rc = 0;
	AUTHORITY_KEYID_free(akid);
	return rc;
}

/* FreshestCRL has the syntax of CRLDistributionPoints: one URI. */
static int
crl_ext_freshest(X509_CRL *crl, const char *url)
{
	CRL_DIST_POINTS *dps;
	DIST_POINT *dp = NULL;
	GENERAL_NAME *gn = NULL;
	ASN1_IA5STRING *s = NULL;
	int rc = -1;

	if ((dps = sk_DIST_POINT_new_null()) == NULL)
		return -1;
	if ((dp = DIST_POINT_new()) == NULL ||
	    (dp->distpoint = DIST_POINT_NAME_new()) == NULL ||
	    (dp->distpoint->name.fullname = GENERAL_NAMES_new()) == NULL ||
	    (s = ASN1_IA5STRING_new()) == NULL || !ASN1_STRING_set(s, url, -1) ||
	    (gn = GENERAL_NAME_new()) == NULL)
		goto done;
	dp->distpoint->type = 0;	/* fullName */
	GENERAL_NAME_set0_value(gn, GEN_URI, s);
	s = NULL;
	if (!sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto done;
	gn = NULL;
	if (!sk_DIST_POINT_push(dps, dp))
		goto done;
	dp = NULL;
	if (X509_CRL_add1_ext_i2d(crl, NID_freshest_crl, dps, 0,
	    X509V3_ADD_DEFAULT) == 1)
		rc = 0;
done:
	ASN1_IA5STRING_free(s);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return rc;
}

/*
 * expiredCertsOnCRL (X.509, not in OpenSSL's tables): the CRL keeps the
 * entries of certificates that expired on or after this date. With
 * crl_keep_expired nothing is ever dropped, so it is the CA's notBefore.
 */
static int
crl_ext_expired(struct crl_builder *b)
{
	ASN1_GENERALIZEDTIME *t = NULL;
	ASN1_OCTET_STRING *os = NULL;
	X509_EXTENSION *ext = NULL;
	ASN1_OBJECT *obj = NULL;
	unsigned char *der = NULL;
	int64_t since;
	int n, rc = -1;

	if (crl_time(X509_get0_notBefore(b->cacert), &since) == -1 ||
	    (obj = OBJ_txt2obj(CRL_OID_EXPIRED, 1)) == NULL ||
	    (t = ASN1_GENERALIZEDTIME_set(NULL, (time_t)since)) == NULL ||
	    (n = i2d_ASN1_GENERALIZEDTIME(t, &der)) <= 0 ||
	    (os = ASN1_OCTET_STRING_new()) == NULL ||
	    !ASN1_OCTET_STRING_set(os, der, n) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os)) == NULL ||
	    !X509_CRL_add_ext(b->crl, ext, -1))
		goto done;
	rc = 0;
done:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	OPENSSL_free(der);
	ASN1_GENERALIZEDTIME_free(t);
	ASN1_OBJECT_free(obj);
	return rc;
}

static int
crl_set_times(struct crl_builder *b, const struct crl_params *p)
{
	if (ASN1_TIME_set(b->time, (time_t)p->this_update) == NULL ||
	    !X509_CRL_set1_lastUpdate(b->crl, b->time) ||
	    ASN1_TIME_set(b->time, (time_t)p->next_update) == NULL ||
	    !X509_CRL_set1_nextUpdate(b->crl, b->time))
		return -1;
	return 0;
}

static int
crl_extensions(struct crl_builder *b, const struct crl_params *p)
{
	int full = p->base == 0;

	if (crl_ext_aki(b) == -1 ||
	    crl_ext_number(b->crl, NID_crl_number, p->number, 0) == -1 ||
	    (!full && crl_ext_number(b->crl, NID_delta_crl, p->base, 1) == -1) ||
	    (full && p->freshest_url != NULL && p->freshest_url[0] != '\0' &&
	    crl_ext_freshest(b->crl, p->freshest_url) == -1) ||
	    (full && p->keep_expired && crl_ext_expired(b) == -1))
		return -1;
	return 0;
}

int
crl_builder_new(struct ca *ca, const struct crl_params *p, struct crl_builder **out,
    char *why, size_t whysz)
{
	struct crl_builder *b;
	void *cert, *key;
	const void *md;

	*out = NULL;
	if (p->number < 1 || p->base < 0 || (p->base > 0 && p->base >= p->number) ||
	    p->next_update <= p->this_update) {
		say(why, whysz, "bad CRL parameters");
		return -1;
	}
	if (ca_crl_signer(ca, &cert, &key, &md) == -1) {
		say(why, whysz, "the CA key type cannot sign CRLs");
		return -1;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	b->cacert = cert;
	b->key = key;
	b->md = md;
	if ((b->crl = X509_CRL_new()) == NULL ||
	    (b->serial = ASN1_INTEGER_new()) == NULL ||
	    (b->time = ASN1_TIME_new()) == NULL ||
	    (b->reason = ASN1_ENUMERATED_new()) == NULL ||
	    (b->gtime = ASN1_GENERALIZEDTIME_new()) == NULL ||
	    !X509_CRL_set_version(b->crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(b->crl, X509_get_subject_name(b->cacert)) ||
	    crl_set_times(b, p) == -1)
		goto fail;
	/* fixes both signature algorithm fields; the signature comes later */
	if (X509_CRL_sign(b->crl, b->key, b->md) <= 0 || crl_extensions(b, p) == -1)
		goto fail;
	*out = b;
	return 0;
fail:
	say(why, whysz, "cannot start CRL %lld (%s)", (long long)p->number,
	    crl_ssl_reason());
	crl_builder_free(b);
	ERR_clear_error();
	return -1;
}

void
crl_builder_free(struct crl_builder *b)
{
	if (b == NULL)
		return;
	X509_CRL_free(b->crl);
	ASN1_INTEGER_free(b->serial);
	ASN1_TIME_free(b->time);
	ASN1_ENUMERATED_free(b->reason);
	ASN1_GENERALIZEDTIME_free(b->gtime);
	free(b);
}

static int
crl_entry_exts(struct crl_builder *b, X509_REVOKED *r, const struct crl_entry *e)
{
	if (e->reason != CRL_REASON_UNSPECIFIED &&
	    (!ASN1_ENUMERATED_set(b->reason, e->reason) ||
	    X509_REVOKED_add1_ext_i2d(r, NID_crl_reason, b->reason, 0,
	    X509V3_ADD_DEFAULT) != 1))
		return -1;
	if (e->invalidity != 0 &&
	    (ASN1_GENERALIZEDTIME_set(b->gtime, (time_t)e->invalidity) == NULL ||
	    X509_REVOKED_add1_ext_i2d(r, NID_invalidity_date, b->gtime, 0,
	    X509V3_ADD_DEFAULT) != 1))
		return -1;
	return 0;
}

int
crl_builder_add(struct crl_builder *b, const struct crl_entry *e)
{
	const uint8_t *s = e->serial;
	size_t n = e->serial_len;
	X509_REVOKED *r;

	while (n > 0 && s[0] == 0)
		s++, n--;
	if (n == 0 || n > CRL_SERIAL_MAX || e->reason < 0 || e->reason > 10 ||
	    e->revoked <= 0 || e->invalidity < 0)
		return -1;
	if ((r = X509_REVOKED_new()) == NULL)
		return -1;
	if (!ASN1_STRING_set(b->serial, s, (int)n) ||
	    !X509_REVOKED_set_serialNumber(r, b->serial) ||
	    ASN1_TIME_set(b->time, (time_t)e->revoked) == NULL ||
	    !X509_REVOKED_set_revocationDate(r, b->time) ||
	    crl_entry_exts(b, r, e) == -1 || !X509_CRL_add0_revoked(b->crl, r)) {
		X509_REVOKED_free(r);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signature } */
static int
crl_sign_tbs(struct crl_builder *b, const unsigned char *tbs, size_t tbslen,
    unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *ctx;
	int rc = -1;

	*sig = NULL;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, b->md, NULL, b->key) == 1 &&
	    EVP_DigestSign(ctx, NULL, siglen, tbs, tbslen) == 1 &&
	    (*sig = OPENSSL_malloc(*siglen)) != NULL &&
	    EVP_DigestSign(ctx, *sig, siglen, tbs, tbslen) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	if (rc == 0) {
		/* a key on a token could misbehave: check before anything leaves */
		rc = -1;
		if ((ctx = EVP_MD_CTX_new()) != NULL && EVP_DigestVerifyInit(ctx,
		    NULL, b->md, NULL, X509_get0_pubkey(b->cacert)) == 1 &&
		    EVP_DigestVerify(ctx, *sig, *siglen, tbs, tbslen) == 1)
			rc = 0;
		EVP_MD_CTX_free(ctx);
	}
	if (rc == -1) {
		OPENSSL_free(*sig);
		*sig = NULL;
	}
	return rc;
}

int
crl_builder_finish(struct crl_builder *b, struct buf *der, struct buf *sig,
    char *why, size_t whysz)
{
	unsigned char *tbs = NULL, *alg = NULL, *s = NULL;
	const X509_ALGOR *palg;
	int tbslen, alglen, rc = -1;
	size_t slen = 0;

	buf_reset(der);
	if (sig != NULL)
		buf_reset(sig);
	X509_CRL_get0_signature(b->crl, NULL, &palg);
	if (!X509_CRL_sort(b->crl) || (tbslen = i2d_re_X509_CRL_tbs(b->crl, &tbs)) <= 0 ||
	    (alglen = i2d_X509_ALGOR(palg, &alg)) <= 0) {
		say(why, whysz, "cannot encode the CRL (%s)", crl_ssl_reason());
		goto done;
	}
	/* the decoded CRL is the largest thing here: gone before signing */
	X509_CRL_free(b->crl);
	b->crl = NULL;
	if (crl_sign_tbs(b, tbs, (size_t)tbslen, &s, &slen) == -1) {
		say(why, whysz, "signing the CRL failed (%s)", crl_ssl_reason());
		goto done;
	}
	if (crl_assemble(tbs, (size_t)tbslen, alg, (size_t)alglen, s, slen, der) == -1 ||
	    (sig != NULL && buf_put(sig, s, slen) == -1)) {
		say(why, whysz, "cannot put the CRL together");
		goto done;
	}
	rc = 0;
done:
	OPENSSL_free(tbs);
	OPENSSL_free(alg);
	OPENSSL_free(s);
	crl_builder_free(b);
	ERR_clear_error();
	return rc;
}
