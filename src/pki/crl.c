/*
 * crl.c: reading CRLs, for webdb and the signer alike: checks CRLs against
 * an issuing CA certificate, inspects them, and rebuilds a full CRL from
 * the previous one, a delta CRL and the new full CRL's signature value.
 * Building and signing them with a CA key is src/ca/crl_build.c; what they
 * look like is described here because the rebuild must match it byte for
 * byte.
 *
 * A CRL built here:
 *   version 2; issuer = the CA certificate's subject, as encoded there;
 *   thisUpdate, nextUpdate (UTCTime up to 2049, GeneralizedTime after);
 *   entries sorted by serial number (X509_CRL_sort), each with
 *   reasonCode (absent for unspecified, RFC 5280 5.3.1) and
 *   invalidityDate (GeneralizedTime) when there is one;
 *   extensions in this order: authorityKeyIdentifier (the CA's SKI),
 *   cRLNumber, then deltaCRLIndicator (critical) in a delta CRL, or
 *   freshestCRL and expiredCertsOnCRL in a full one when configured.
 * A delta CRL lists the entries added since its base and, with reason
 * removeFromCRL, those dropped since (expired past the grace period), and
 * carries the thisUpdate and nextUpdate of the full CRL of its number.
 *
 * Why the signer does not call X509_CRL_diff: it needs both full CRLs
 * decoded in memory (about 35 MB each at 100,000 entries) and cannot say
 * "removed"; the entries a delta needs come straight from ca.db, in
 * O(changes). The unit tests check the result against X509_CRL_diff.
 *
 * Signing encodes the TBSCertList once: the empty CRL is signed first
 * only to fix both signature algorithm fields, the entries are added, the
 * TBS is encoded (i2d_re_X509_CRL_tbs) and signed with EVP_DigestSign, the
 * signature is checked with the CA certificate's key, and the CertificateList
 * is put together from the TBS, the algorithm and the signature with
 * ASN1_put_object. crl_rebuild puts a rebuilt TBS together the same way,
 * which is what makes the rebuilt CRL byte-identical to the signer's.
 * Everything that comes from outside (CRL files, answers from the cable) is
 * parsed with d2i and must be one whole DER object; nothing here crashes or
 * writes past a buffer on bad input, it returns -1 with a sentence.
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

#include "crl.h"
#include "crl_x509.h"

#define CRL_CERT_MAX		(1024 * 1024)	/* an issuer certificate file */


struct crl_issuer {
	X509		*cert;
};

const char *
crl_ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r != NULL ? r : "unknown OpenSSL error";
}

int
crl_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* The whole buffer must be one CRL. */
X509_CRL *
crl_d2i(const uint8_t *der, size_t len, const char *what, char *why, size_t whysz)
{
	const unsigned char *p = der;
	X509_CRL *crl;

	if (der == NULL || len == 0 || len > (size_t)MSG_MAX_LEN) {
		say(why, whysz, "%s is empty or too large", what);
		return NULL;
	}
	if ((crl = d2i_X509_CRL(NULL, &p, (long)len)) == NULL) {
		say(why, whysz, "%s does not parse as a CRL (%s)", what,
		    crl_ssl_reason());
		return NULL;
	}
	if (p != der + len) {
		say(why, whysz, "%s has %zu bytes after the CRL", what,
		    (size_t)(der + len - p));
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

/* --- building --- */

int
crl_assemble(const unsigned char *tbs, size_t tbslen, const unsigned char *alg,
    size_t alglen, const unsigned char *sig, size_t siglen, struct buf *out)
{
	unsigned char hdr[16], *p = hdr, *bits = NULL;
	ASN1_BIT_STRING *bs;
	size_t inner;
	int bitslen, rc = -1;

	buf_reset(out);
	if (siglen > INT_MAX || (bs = ASN1_BIT_STRING_new()) == NULL)
		return -1;
	if (!ASN1_STRING_set(bs, sig, (int)siglen))
		goto done;
	/* whole octets: no unused bits, whatever the last byte holds */
	bs->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bs->flags |= ASN1_STRING_FLAG_BITS_LEFT;
	if ((bitslen = i2d_ASN1_BIT_STRING(bs, &bits)) <= 0)
		goto done;
	inner = tbslen + alglen + (size_t)bitslen;
	if (inner > (size_t)MSG_MAX_LEN)
		goto done;
	ASN1_put_object(&p, 1, (int)inner, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	if (buf_reserve(out, (size_t)(p - hdr) + inner) == -1 ||
	    buf_put(out, hdr, (size_t)(p - hdr)) == -1 ||
	    buf_put(out, tbs, tbslen) == -1 || buf_put(out, alg, alglen) == -1 ||
	    buf_put(out, bits, (size_t)bitslen) == -1)
		goto done;
	rc = 0;
done:
	OPENSSL_free(bits);
	ASN1_BIT_STRING_free(bs);
	return rc;
}

/* --- checking --- */

int
crl_issuer_load(const char *path, struct crl_issuer **out, char *why, size_t whysz)
{
	struct crl_issuer *is = NULL;
	const unsigned char *p;
	struct buf f;
	BIO *bio = NULL;
	X509 *x = NULL;

	*out = NULL;
	buf_init(&f);
	if (read_file(path, &f, CRL_CERT_MAX) == -1 || f.len == 0) {
		say(why, whysz, "%s: cannot read the CA certificate", path);
		goto done;
	}
	if ((bio = BIO_new_mem_buf(f.p, (int)f.len)) != NULL)
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x == NULL) {
		p = f.p;
		x = d2i_X509(NULL, &p, (long)f.len);
	}
	if (x == NULL) {
		say(why, whysz, "%s: not a certificate, PEM or DER", path);
		goto done;
	}
	if ((is = calloc(1, sizeof(*is))) == NULL) {
		X509_free(x);
		goto done;
	}
	is->cert = x;
	*out = is;
done:
	BIO_free(bio);
	buf_free(&f);
	ERR_clear_error();
	return *out != NULL ? 0 : -1;
}

void
crl_issuer_free(struct crl_issuer *is)
{
	if (is == NULL)
		return;
	X509_free(is->cert);
	free(is);
}

static int
crl_ext_int(X509_CRL *crl, int nid, int64_t *out)
{
	ASN1_INTEGER *ai;
	int crit, rc = -1;

	*out = 0;
	if ((ai = X509_CRL_get_ext_d2i(crl, nid, &crit, NULL)) == NULL)
		return crit == -1 ? 0 : -1;	/* -1: absent; else twice or bad */
	if (ASN1_INTEGER_get_int64(out, ai) && *out >= 1)
		rc = 1;
	ASN1_INTEGER_free(ai);
	return rc;
}

static size_t
crl_count_removals(STACK_OF(X509_REVOKED) *revs)
{
	ASN1_ENUMERATED *e;
	size_t n = 0;
	int i, crit;

	for (i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		e = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(revs, i),
		    NID_crl_reason, &crit, NULL);
		if (e != NULL && ASN1_ENUMERATED_get(e) == CRL_REASON_REMOVE)
			n++;
		ASN1_ENUMERATED_free(e);
	}
	return n;
}

static int
crl_fill_info(X509_CRL *crl, struct crl_info *info, char *why, size_t whysz)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);

	memset(info, 0, sizeof(*info));
	if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
		say(why, whysz, "not a version 2 CRL");
		return -1;
	}
	if (crl_ext_int(crl, NID_crl_number, &info->number) != 1) {
		say(why, whysz, "no usable CRL number");
		return -1;
	}
	if (crl_ext_int(crl, NID_delta_crl, &info->base) == -1 ||
	    (info->base != 0 && info->base >= info->number)) {
		say(why, whysz, "bad delta CRL indicator");
		return -1;
	}
	if (crl_time(X509_CRL_get0_lastUpdate(crl), &info->this_update) == -1 ||
	    crl_time(X509_CRL_get0_nextUpdate(crl), &info->next_update) == -1 ||
	    info->next_update <= info->this_update) {
		say(why, whysz, "thisUpdate and nextUpdate missing or out of order");
		return -1;
	}
	info->entries = revs != NULL ? (size_t)sk_X509_REVOKED_num(revs) : 0;
	if (info->base != 0 && revs != NULL)
		info->removals = crl_count_removals(revs);
	return 0;
}

int
crl_inspect(const uint8_t *der, size_t len, struct crl_info *info, char *why,
    size_t whysz)
{
	X509_CRL *crl;
	int rc;

	if ((crl = crl_d2i(der, len, "the CRL", why, whysz)) == NULL)
		return -1;
	rc = crl_fill_info(crl, info, why, whysz);
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

/* Names equal, and the AKI (when both have key identifiers) matches. */
static int
crl_issued_by(X509_CRL *crl, X509 *ca, char *why, size_t whysz)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca);
	AUTHORITY_KEYID *akid;
	int crit, rc = 0;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
		say(why, whysz, "the CRL's issuer is not the configured CA");
		return -1;
	}
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	if (akid == NULL && crit != -1)
		rc = -1;
	else if (akid != NULL && akid->keyid != NULL && ski != NULL &&
	    ASN1_OCTET_STRING_cmp(akid->keyid, ski) != 0)
		rc = -1;
	AUTHORITY_KEYID_free(akid);
	if (rc == -1)
		say(why, whysz, "the CRL's authority key identifier is not the CA's");
	return rc;
}

int
crl_verify(const struct crl_issuer *is, const uint8_t *der, size_t len, int kind,
    struct crl_info *info, char *why, size_t whysz)
{
	X509_CRL *crl;
	int rc = -1;

	memset(info, 0, sizeof(*info));
	if ((crl = crl_d2i(der, len, "the CRL", why, whysz)) == NULL)
		return -1;
	if (crl_issued_by(crl, is->cert, why, whysz) == -1)
		goto done;
	if (X509_CRL_verify(crl, X509_get0_pubkey(is->cert)) != 1) {
		say(why, whysz, "the CRL's signature does not verify");
		goto done;
	}
	if (crl_fill_info(crl, info, why, whysz) == -1)
		goto done;
	if ((kind == MSG_CRL_FULL && info->base != 0) ||
	    (kind == MSG_CRL_DELTA && info->base == 0)) {
		say(why, whysz, "a %s CRL where a %s CRL belongs",
		    info->base ? "delta" : "full",
		    kind == MSG_CRL_FULL ? "full" : "delta");
		goto done;
	}
	if (info->base == 0 && info->entries > 0 &&
	    crl_count_removals(X509_CRL_get_REVOKED(crl)) > 0) {
		say(why, whysz, "a full CRL with removeFromCRL entries");
		goto done;
	}
	rc = 0;
done:
	X509_CRL_free(crl);
	ERR_clear_error();
	return rc;
}

/* --- rebuilding on webdb --- */

static int
crl_rev_cmp(const X509_REVOKED *a, const X509_REVOKED *b)
{
	return ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(a),
	    X509_REVOKED_get0_serialNumber(b));
}

static int
crl_rev_reason(const X509_REVOKED *r)
{
	ASN1_ENUMERATED *e;
	int crit, v = CRL_REASON_UNSPECIFIED;

	if ((e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL)) != NULL)
		v = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return v;
}

/*
 * The entries of a CRL (which the caller has checked), from index from on,
 * at most max of them; removeFromCRL entries of a delta are skipped. fn
 * returning -1 stops the walk before that entry. The number of entries
 * passed (removeFromCRL ones included, the refused one not), or -1 with a
 * sentence.
 */
int
crl_entries(const uint8_t *der, size_t len, size_t from, size_t max,
    int (*fn)(void *, const struct crl_entry *), void *arg, char *why, size_t whysz)
{
	STACK_OF(X509_REVOKED) *revs;
	ASN1_GENERALIZEDTIME *inv;
	const X509_REVOKED *r;
	X509_CRL *crl;
	BIGNUM *bn;
	struct crl_entry e;
	uint8_t serial[64];
	size_t i, n = 0;
	int crit, len_s, rv = 0;

	if ((crl = crl_d2i(der, len, "the CRL", why, whysz)) == NULL)
		return -1;
	revs = X509_CRL_get_REVOKED(crl);
	for (i = from; revs != NULL && i < (size_t)sk_X509_REVOKED_num(revs) &&
	    n < max; i++, n++) {
		r = sk_X509_REVOKED_value(revs, (int)i);
		memset(&e, 0, sizeof(e));
		if ((e.reason = crl_rev_reason(r)) == CRL_REASON_REMOVE)
			continue;
		bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		len_s = bn != NULL && !BN_is_negative(bn) ? BN_num_bytes(bn) : -1;
		if (len_s < 1 || len_s > (int)sizeof(serial) ||
		    BN_bn2bin(bn, serial) != len_s ||
		    crl_time(X509_REVOKED_get0_revocationDate(r), &e.revoked) == -1) {
			BN_free(bn);
			say(why, whysz, "entry %zu of the CRL is unusable", i);
			rv = -1;
			break;
		}
		BN_free(bn);
		e.serial = serial;
		e.serial_len = (size_t)len_s;
		if ((inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit,
		    NULL)) != NULL) {
			if (crl_time(inv, &e.invalidity) == -1)
				e.invalidity = 0;
			ASN1_GENERALIZEDTIME_free(inv);
		}
		if (fn(arg, &e) == -1)
			break;		/* not taken: not counted */
	}
	X509_CRL_free(crl);
	return rv == -1 ? -1 : (int)n;
}

/* Sorted, and no serial twice. */
static int
crl_sorted_unique(STACK_OF(X509_REVOKED) *s)
{
	int i;

	if (s == NULL)
		return 0;
	sk_X509_REVOKED_sort(s);
	for (i = 1; i < sk_X509_REVOKED_num(s); i++)
		if (crl_rev_cmp(sk_X509_REVOKED_value(s, i - 1),
		    sk_X509_REVOKED_value(s, i)) >= 0)
			return -1;
	return 0;
}

struct crl_merge {
	X509_REVOKED	**keep;		/* the new list, in order */
	uint8_t		*added;		/* keep[i] is the delta's: to be copied */
	X509_REVOKED	**drop;		/* old entries the delta removes */
	size_t		 nkeep, ndrop;
};

/* Walks both sorted lists and decides; changes nothing yet. */
static int
crl_merge_plan(STACK_OF(X509_REVOKED) *os, STACK_OF(X509_REVOKED) *ds,
    struct crl_merge *m, char *why, size_t whysz)
{
	int no = os ? sk_X509_REVOKED_num(os) : 0, nd = ds ? sk_X509_REVOKED_num(ds) : 0;
	int i = 0, j, c;
	X509_REVOKED *d;

	for (j = 0; j < nd; j++) {
		d = sk_X509_REVOKED_value(ds, j);
		while (i < no && crl_rev_cmp(sk_X509_REVOKED_value(os, i), d) < 0)
			m->keep[m->nkeep++] = sk_X509_REVOKED_value(os, i++);
		c = i < no ? crl_rev_cmp(sk_X509_REVOKED_value(os, i), d) : 1;
		if (crl_rev_reason(d) == CRL_REASON_REMOVE) {
			if (c != 0) {
				say(why, whysz, "the delta removes a serial the CRL "
				    "held does not list");
				return -1;
			}
			m->drop[m->ndrop++] = sk_X509_REVOKED_value(os, i++);
		} else if (c == 0) {
			say(why, whysz, "the delta adds a serial the CRL held lists");
			return -1;
		} else {
			m->added[m->nkeep] = 1;
			m->keep[m->nkeep++] = d;
		}
	}
	while (i < no)
		m->keep[m->nkeep++] = sk_X509_REVOKED_value(os, i++);
	return 0;
}

/* Gives old's stack the planned entries: its own kept, copies of added. */
static int
crl_merge_apply(X509_CRL *old, struct crl_merge *m)
{
	STACK_OF(X509_REVOKED) *os = X509_CRL_get_REVOKED(old);
	size_t i, k;

	for (i = 0; i < m->nkeep; i++)
		if (m->added[i] && (m->keep[i] = X509_REVOKED_dup(m->keep[i])) == NULL) {
			while (i-- > 0)
				if (m->added[i])
					X509_REVOKED_free(m->keep[i]);
			return -1;
		}
	if (os != NULL)
		sk_X509_REVOKED_zero(os);
	/* from here old's stack owns only what was pushed */
	for (k = 0; k < m->nkeep; k++)
		if (!X509_CRL_add0_revoked(old, m->keep[k]))
			break;
	for (i = k; i < m->nkeep; i++)
		X509_REVOKED_free(m->keep[i]);
	for (i = 0; i < m->ndrop; i++)
		X509_REVOKED_free(m->drop[i]);
	return k == m->nkeep ? 0 : -1;
}

static int
crl_merge(X509_CRL *old, X509_CRL *delta, char *why, size_t whysz)
{
	STACK_OF(X509_REVOKED) *os = X509_CRL_get_REVOKED(old);
	STACK_OF(X509_REVOKED) *ds = X509_CRL_get_REVOKED(delta);
	size_t no = os ? (size_t)sk_X509_REVOKED_num(os) : 0;
	size_t nd = ds ? (size_t)sk_X509_REVOKED_num(ds) : 0;
	struct crl_merge m;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	if (crl_sorted_unique(os) == -1 || crl_sorted_unique(ds) == -1) {
		say(why, whysz, "a CRL lists one serial twice");
		return -1;
	}
	if ((m.keep = calloc(no + nd + 1, sizeof(*m.keep))) == NULL ||
	    (m.added = calloc(no + nd + 1, 1)) == NULL ||
	    (m.drop = calloc(nd + 1, sizeof(*m.drop))) == NULL) {
		say(why, whysz, "out of memory");
		goto done;
	}
	if (crl_merge_plan(os, ds, &m, why, whysz) == -1)
		goto done;
	if (crl_merge_apply(old, &m) == -1) {
		say(why, whysz, "out of memory");
		goto done;
	}
	rc = X509_CRL_sort(old) ? 0 : -1;
done:
	free(m.keep);
	free(m.added);
	free(m.drop);
	return rc;
}

/* The delta must be the next step from old: same issuer, key, base. */
static int
crl_delta_fits(X509_CRL *old, X509_CRL *d, ASN1_INTEGER **dnum, char *why,
    size_t whysz)
{
	struct crl_info oi, di;
	const X509_ALGOR *oa, *da;

	if (crl_fill_info(old, &oi, why, whysz) == -1 ||
	    crl_fill_info(d, &di, why, whysz) == -1)
		return -1;
	if (oi.base != 0 || di.base == 0) {
		say(why, whysz, "need a full CRL and a delta CRL");
		return -1;
	}
	if (di.base != oi.number) {
		say(why, whysz, "the delta's base is CRL %lld, the CRL held is %lld",
		    (long long)di.base, (long long)oi.number);
		return -1;
	}
	X509_CRL_get0_signature(old, NULL, &oa);
	X509_CRL_get0_signature(d, NULL, &da);
	if (X509_NAME_cmp(X509_CRL_get_issuer(old), X509_CRL_get_issuer(d)) != 0 ||
	    X509_ALGOR_cmp(oa, da) != 0) {
		say(why, whysz, "the delta has another issuer or signature "
		    "algorithm");
		return -1;
	}
	if ((*dnum = X509_CRL_get_ext_d2i(d, NID_crl_number, NULL, NULL)) == NULL) {
		say(why, whysz, "the delta has no CRL number");
		return -1;
	}
	return 0;
}

int
crl_rebuild(const uint8_t *full, size_t fulllen, const uint8_t *delta,
    size_t deltalen, const uint8_t *sig, size_t siglen, struct buf *out,
    char *why, size_t whysz)
{
	X509_CRL *old = NULL, *d = NULL;
	ASN1_INTEGER *dnum = NULL;
	unsigned char *tbs = NULL, *alg = NULL;
	const X509_ALGOR *oa;
	int tbslen, alglen, rc = -1;

	buf_reset(out);
	if ((old = crl_d2i(full, fulllen, "the CRL held", why, whysz)) == NULL ||
	    (d = crl_d2i(delta, deltalen, "the delta CRL", why, whysz)) == NULL ||
	    crl_delta_fits(old, d, &dnum, why, whysz) == -1 ||
	    crl_merge(old, d, why, whysz) == -1)
		goto done;
	X509_CRL_get0_signature(old, NULL, &oa);
	if (!X509_CRL_set1_lastUpdate(old, X509_CRL_get0_lastUpdate(d)) ||
	    !X509_CRL_set1_nextUpdate(old, X509_CRL_get0_nextUpdate(d)) ||
	    X509_CRL_add1_ext_i2d(old, NID_crl_number, dnum, 0,
	    X509V3_ADD_REPLACE) != 1 ||
	    (tbslen = i2d_re_X509_CRL_tbs(old, &tbs)) <= 0 ||
	    (alglen = i2d_X509_ALGOR(oa, &alg)) <= 0 ||
	    crl_assemble(tbs, (size_t)tbslen, alg, (size_t)alglen, sig, siglen,
	    out) == -1) {
		say(why, whysz, "cannot encode the rebuilt CRL (%s)",
		    crl_ssl_reason());
		buf_reset(out);
		goto done;
	}
	rc = 0;
done:
	OPENSSL_free(tbs);
	OPENSSL_free(alg);
	ASN1_INTEGER_free(dnum);
	X509_CRL_free(old);
	X509_CRL_free(d);
	ERR_clear_error();
	return rc;
}
