/*
 * ca_scan.c: ca_cert_scan, what ca_cert_info tells about a certificate,
 * for the paths that read a great many of them (airlockctl
 * import-openssl-ca and export-index).
 *
 * OpenSSL 3.0's d2i_X509 decodes the SubjectPublicKeyInfo into a key,
 * through a search of the library context's decoders that takes about
 * 100 microseconds a certificate (four times an RSA-2048 signature check),
 * and these paths never use the key. Here the certificate is decoded with
 * OpenSSL's ASN.1 templates as RFC 5280 section 4.1 lays it out, but with
 * the SubjectPublicKeyInfo left as an opaque element, and tbsCertificate
 * kept as encoded: the issuer's signature is checked over exactly those
 * bytes with ASN1_item_verify, so every algorithm OpenSSL verifies is
 * covered as in X509_verify (which also requires the signature algorithm
 * inside and outside tbsCertificate to be the same: so does this).
 */
#include "ca_int.h"

#include <openssl/asn1t.h>

/* tbsCertificate with the public key undecoded */
typedef struct {
	ASN1_INTEGER	*version;
	ASN1_INTEGER	*serial;
	X509_ALGOR	*sig_alg;
	X509_NAME	*issuer;
	X509_VAL	*validity;
	X509_NAME	*subject;
	ASN1_TYPE	*spki;
	ASN1_BIT_STRING	*issuer_uid;
	ASN1_BIT_STRING	*subject_uid;
	STACK_OF(X509_EXTENSION) *exts;
} CA_SCAN_TBS;

ASN1_SEQUENCE(CA_SCAN_TBS) = {
	ASN1_EXP_OPT(CA_SCAN_TBS, version, ASN1_INTEGER, 0),
	ASN1_SIMPLE(CA_SCAN_TBS, serial, ASN1_INTEGER),
	ASN1_SIMPLE(CA_SCAN_TBS, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CA_SCAN_TBS, issuer, X509_NAME),
	ASN1_SIMPLE(CA_SCAN_TBS, validity, X509_VAL),
	ASN1_SIMPLE(CA_SCAN_TBS, subject, X509_NAME),
	ASN1_SIMPLE(CA_SCAN_TBS, spki, ASN1_ANY),
	ASN1_IMP_OPT(CA_SCAN_TBS, issuer_uid, ASN1_BIT_STRING, 1),
	ASN1_IMP_OPT(CA_SCAN_TBS, subject_uid, ASN1_BIT_STRING, 2),
	ASN1_EXP_SEQUENCE_OF_OPT(CA_SCAN_TBS, exts, X509_EXTENSION, 3),
} static_ASN1_SEQUENCE_END(CA_SCAN_TBS)

/* Certificate, tbsCertificate as encoded (an ASN1_ANY keeps a SEQUENCE's
 * whole encoding, and writes it back byte for byte) */
typedef struct {
	ASN1_TYPE	*tbs;
	X509_ALGOR	*sig_alg;
	ASN1_BIT_STRING	*sig;
} CA_SCAN_CERT;

ASN1_SEQUENCE(CA_SCAN_CERT) = {
	ASN1_SIMPLE(CA_SCAN_CERT, tbs, ASN1_ANY),
	ASN1_SIMPLE(CA_SCAN_CERT, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CA_SCAN_CERT, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CA_SCAN_CERT)

/* The DER of a PEM "CERTIFICATE" (text before it, as openssl ca writes
 * into newcerts/, is skipped); into out. */
static int
ca_scan_pem(const uint8_t *p, size_t n, struct buf *out)
{
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long len = 0;
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new_mem_buf(p, (int)n)) == NULL)
		return -1;
	if (PEM_read_bio(bio, &name, &header, &data, &len) == 1 &&
	    (strcmp(name, PEM_STRING_X509) == 0 ||
	    strcmp(name, PEM_STRING_X509_OLD) == 0) && header[0] == '\0')
		rc = buf_put(out, data, (size_t)len);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(data);
	BIO_free(bio);
	return rc;
}


static int
ca_scan_fill(const CA_SCAN_TBS *t, struct ca_certinfo *ci, char *why,
    size_t whysz)
{
	const ASN1_TIME *na = t->validity->notAfter;

	if (ca_serial_bin(t->serial, ci) == -1) {
		say(why, whysz, "the serial number is not positive or longer "
		    "than 20 octets");
		return -1;
	}
	if (ca_asn1_time(t->validity->notBefore, &ci->not_before) == -1 ||
	    ca_asn1_time(na, &ci->not_after) == -1 ||
	    (size_t)ASN1_STRING_length(na) >= sizeof(ci->not_after_text)) {
		say(why, whysz, "the validity does not decode");
		return -1;
	}
	memcpy(ci->not_after_text, ASN1_STRING_get0_data(na),
	    (size_t)ASN1_STRING_length(na));
	ci->not_after_text[ASN1_STRING_length(na)] = '\0';
	if (ca_name_string(t->subject, ci->subject, sizeof(ci->subject)) == -1 ||
	    X509_NAME_oneline(t->subject, ci->subject_oneline,
	    sizeof(ci->subject_oneline)) == NULL) {
		say(why, whysz, "the subject is too long");
		return -1;
	}
	return 0;
}

int
ca_cert_scan(const uint8_t *p, size_t n, const struct ca *issuer,
    struct ca_certinfo *ci, char *why, size_t whysz)
{
	CA_SCAN_CERT *c = NULL;
	CA_SCAN_TBS *t = NULL;
	const unsigned char *q;
	const ASN1_STRING *tbs;
	int rc = -1;

	memset(ci, 0, sizeof(*ci));
	buf_init(&ci->der);
	if (n == 0 || n > CA_PEM_MAX ||
	    (p[0] == 0x30 ? buf_put(&ci->der, p, n) : ca_scan_pem(p, n,
	    &ci->der)) == -1) {
		say(why, whysz, "not a certificate in PEM or DER");
		goto done;
	}
	q = ci->der.p;
	if ((c = (CA_SCAN_CERT *)ASN1_item_d2i(NULL, &q, (long)ci->der.len,
	    ASN1_ITEM_rptr(CA_SCAN_CERT))) == NULL ||
	    q != ci->der.p + ci->der.len || c->tbs->type != V_ASN1_SEQUENCE) {
		say(why, whysz, "not a certificate in PEM or DER (%s)",
		    ssl_reason());
		goto done;
	}
	tbs = c->tbs->value.sequence;
	q = ASN1_STRING_get0_data(tbs);
	if ((t = (CA_SCAN_TBS *)ASN1_item_d2i(NULL, &q, ASN1_STRING_length(tbs),
	    ASN1_ITEM_rptr(CA_SCAN_TBS))) == NULL ||
	    q != ASN1_STRING_get0_data(tbs) + ASN1_STRING_length(tbs)) {
		say(why, whysz, "not a certificate in PEM or DER (%s)",
		    ssl_reason());
		goto done;
	}
	if (issuer != NULL && (X509_NAME_cmp(t->issuer,
	    X509_get_subject_name(issuer->cert)) != 0 ||
	    X509_ALGOR_cmp(t->sig_alg, c->sig_alg) != 0 ||
	    ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), c->sig_alg, c->sig,
	    c->tbs, X509_get0_pubkey(issuer->cert)) != 1)) {
		say(why, whysz, "not issued by this root's CA certificate");
		goto done;
	}
	rc = ca_scan_fill(t, ci, why, whysz);
done:
	if (rc == -1)
		buf_free(&ci->der);
	ASN1_item_free((ASN1_VALUE *)t, ASN1_ITEM_rptr(CA_SCAN_TBS));
	ASN1_item_free((ASN1_VALUE *)c, ASN1_ITEM_rptr(CA_SCAN_CERT));
	ERR_clear_error();
	return rc;
}
