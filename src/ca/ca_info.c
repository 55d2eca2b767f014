/*
 * ca_info.c: describing CA directories and certificates for airlockctl.
 */
#include "ca_int.h"

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

/* A certificate's serial, positive and not zero, into ci (ca_scan.c too). */
int
ca_serial_bin(const ASN1_INTEGER *a, struct ca_certinfo *ci)
{
	BIGNUM *bn;
	int n = -1;

	if ((bn = ASN1_INTEGER_to_BN(a, NULL)) != NULL && !BN_is_negative(bn) &&
	    !BN_is_zero(bn) && BN_num_bytes(bn) <= (int)sizeof(ci->serial))
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

	if (ca_serial_bin(X509_get0_serialNumber(x), ci) == -1) {
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
