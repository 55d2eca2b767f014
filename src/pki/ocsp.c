/*
 * ocsp.c: OCSP requests and responses with OpenSSL's OCSP API, for
 * airlock-ocspd. Everything that reaches this file from the network is
 * untrusted: a request is parsed whole (no trailing bytes), with at most
 * OCSP_MAX_IDS CertIDs whose hash lengths match their algorithm, serials
 * that are not negative and fit OCSP_SERIAL_MAX bytes, and at most one
 * nonce of 1..32 bytes (RFC 8954); anything else is refused with a
 * sentence, and the daemon answers malformedRequest.
 *
 * The responder signs with a delegated certificate (RFC 6960 4.2.2.2):
 * issued by the CA it answers for, with OCSPSigning, matching its key and
 * valid at the time of signing, or it does not sign at all. Responses
 * name the responder by key hash (smaller, RFC 5019) and carry only the
 * responder's certificate.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crl_x509.h"
#include "ocsp.h"
#include "util.h"

struct ocsp_issuer {
	X509		*cert;
	uint8_t		 name_hash[OCSP_NALGS][OCSP_HASH_MAX];
	uint8_t		 key_hash[OCSP_NALGS][OCSP_HASH_MAX];
	size_t		 hash_len[OCSP_NALGS];
};

struct ocsp_signer {
	X509		*cert;
	EVP_PKEY	*key;
	const EVP_MD	*md;		/* NULL for Ed25519/Ed448 */
};

static const int ocsp_alg_nids[OCSP_NALGS] = {
	NID_sha1, NID_sha256, NID_sha384, NID_sha512
};

static int
ocsp_alg(const ASN1_OBJECT *o)
{
	int i, nid = OBJ_obj2nid(o);

	for (i = 0; i < OCSP_NALGS; i++)
		if (ocsp_alg_nids[i] == nid)
			return i;
	return -1;
}

/* An INTEGER to unsigned big-endian bytes without leading zeros. */
static int
ocsp_int_bytes(const ASN1_INTEGER *a, uint8_t *out, size_t *outlen)
{
	BIGNUM *bn;
	int n, rv = -1;

	if (ASN1_STRING_type(a) == V_ASN1_NEG_INTEGER ||
	    (bn = ASN1_INTEGER_to_BN(a, NULL)) == NULL)
		return -1;
	if ((n = BN_num_bytes(bn)) <= OCSP_SERIAL_MAX) {
		*outlen = (size_t)BN_bn2bin(bn, out);
		rv = 0;
	}
	BN_free(bn);
	return rv;
}

static int
ocsp_req_id(OCSP_ONEREQ *one, struct ocsp_certid *id, char *why, size_t whysz)
{
	ASN1_OCTET_STRING *nh, *kh;
	ASN1_OBJECT *md;
	ASN1_INTEGER *ser;
	int mdlen;

	if (OCSP_id_get0_info(&nh, &md, &kh, &ser, OCSP_onereq_get0_id(one)) != 1) {
		say(why, whysz, "a CertID without its fields");
		return -1;
	}
	if ((id->alg = ocsp_alg(md)) >= 0) {
		mdlen = EVP_MD_get_size(EVP_get_digestbynid(ocsp_alg_nids[id->alg]));
		if (ASN1_STRING_length(nh) != mdlen || ASN1_STRING_length(kh) != mdlen) {
			say(why, whysz, "a CertID hash of the wrong length for its algorithm");
			return -1;
		}
		id->hash_len = (size_t)mdlen;
		memcpy(id->name_hash, ASN1_STRING_get0_data(nh), id->hash_len);
		memcpy(id->key_hash, ASN1_STRING_get0_data(kh), id->hash_len);
	}
	if (ocsp_int_bytes(ser, id->serial, &id->serial_len) == -1) {
		say(why, whysz, "a serial number that is negative or longer than %d bytes",
		    OCSP_SERIAL_MAX);
		return -1;
	}
	return 0;
}

/* RFC 8954: extnValue holds OCTET STRING (SIZE(1..32)); one nonce at most. */
static int
ocsp_req_nonce(OCSP_REQUEST *req, int *has, char *why, size_t whysz)
{
	const unsigned char *p;
	ASN1_OCTET_STRING *v, *inner;
	int i, len;

	*has = 0;
	if ((i = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1)) < 0)
		return 0;
	if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, i) >= 0) {
		say(why, whysz, "two nonce extensions");
		return -1;
	}
	v = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, i));
	p = ASN1_STRING_get0_data(v);
	if ((inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(v))) == NULL ||
	    p != ASN1_STRING_get0_data(v) + ASN1_STRING_length(v)) {
		ASN1_OCTET_STRING_free(inner);
		say(why, whysz, "a nonce that is not an OCTET STRING (RFC 8954)");
		return -1;
	}
	len = ASN1_STRING_length(inner);
	ASN1_OCTET_STRING_free(inner);
	if (len < 1 || len > OCSP_NONCE_MAX) {
		say(why, whysz, "a nonce of %d bytes (RFC 8954: 1 to %d)", len, OCSP_NONCE_MAX);
		return -1;
	}
	*has = 1;
	return 0;
}

int
ocsp_req_parse(const uint8_t *der, size_t len, struct ocsp_req *r, char *why,
    size_t whysz)
{
	const unsigned char *p = der;
	OCSP_REQUEST *req;
	int i;

	memset(r, 0, sizeof(*r));
	if (len == 0 || len > INT_MAX) {
		say(why, whysz, "an empty request");
		return -1;
	}
	if ((req = d2i_OCSP_REQUEST(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		say(why, whysz, "not a DER OCSPRequest");
		return -1;
	}
	r->raw = req;
	if (p != der + len) {
		say(why, whysz, "%zu bytes after the OCSPRequest", len - (size_t)(p - der));
		goto bad;
	}
	r->n = OCSP_request_onereq_count(req);
	if (r->n < 1 || r->n > OCSP_MAX_IDS) {
		say(why, whysz, "%d certificates in one request (1 to %d)", r->n,
		    OCSP_MAX_IDS);
		goto bad;
	}
	for (i = 0; i < r->n; i++)
		if (ocsp_req_id(OCSP_request_onereq_get0(req, i), &r->ids[i], why,
		    whysz) == -1)
			goto bad;
	if (ocsp_req_nonce(req, &r->has_nonce, why, whysz) == -1)
		goto bad;
	return 0;
bad:
	ocsp_req_free(r);
	return -1;
}

void
ocsp_req_free(struct ocsp_req *r)
{
	OCSP_REQUEST_free(r->raw);
	r->raw = NULL;
	r->n = 0;
}

/* Both alphabets: RFC 5019 GET paths come in either (RFC 4648 4 and 5). */
static int
ocsp_b64_value(int c)
{
	return c == '-' ? 62 : c == '_' ? 63 : b64_value(c);
}

int
ocsp_b64_decode(const char *s, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	size_t i, pad = 0;
	int bits = 0, v;

	buf_reset(out);
	while (len > 0 && s[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len == 0 || len % 4 == 1 || (pad && (len + pad) % 4 != 0))
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = ocsp_b64_value((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (buf_put_u8(out, (uint8_t)(acc >> bits)) == -1)
				return -1;
		}
	}
	return 0;
}

/* A certificate in PEM (perhaps after text, or after a key: the first
 * CERTIFICATE block) or DER. */
static X509 *
ocsp_parse_cert(const uint8_t *p0, size_t len)
{
	const unsigned char *p = p0;
	X509 *x = NULL;
	BIO *bio;

	if (len > INT_MAX)
		return NULL;
	if (memmem(p0, len, "-----BEGIN", 10) != NULL) {
		if ((bio = BIO_new_mem_buf(p0, (int)len)) != NULL)
			x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	} else
		x = d2i_X509(NULL, &p, (long)len);
	ERR_clear_error();
	return x;
}

static X509 *
ocsp_read_cert(const char *path, char *why, size_t whysz)
{
	struct buf b;
	X509 *x;

	buf_init(&b);
	if (read_file(path, &b, 1 << 20) == -1) {
		say(why, whysz, "%s: cannot read", path);
		return NULL;
	}
	/* PEM, perhaps after text (openssl ca writes the certificate out) */
	x = ocsp_parse_cert(b.p, b.len);
	buf_free(&b);
	if (x == NULL)
		say(why, whysz, "%s: not a certificate", path);
	return x;
}

int
ocsp_issuer_load(const char *path, struct ocsp_issuer **out, char *why, size_t whysz)
{
	struct ocsp_issuer *is;
	unsigned char *name = NULL;
	const ASN1_BIT_STRING *key;
	unsigned int mdlen;
	int i, namelen;

	*out = NULL;
	if ((is = calloc(1, sizeof(*is))) == NULL ||
	    (is->cert = ocsp_read_cert(path, why, whysz)) == NULL)
		goto fail;
	key = X509_get0_pubkey_bitstr(is->cert);
	if ((namelen = i2d_X509_NAME(X509_get_subject_name(is->cert), &name)) <= 0 ||
	    key == NULL)
		goto fail;
	for (i = 0; i < OCSP_NALGS; i++) {
		const EVP_MD *md = EVP_get_digestbynid(ocsp_alg_nids[i]);

		if (EVP_Digest(name, (size_t)namelen, is->name_hash[i], &mdlen, md,
		    NULL) != 1 || EVP_Digest(ASN1_STRING_get0_data(key),
		    (size_t)ASN1_STRING_length(key), is->key_hash[i], &mdlen, md, NULL) != 1)
			goto fail;
		is->hash_len[i] = mdlen;
	}
	OPENSSL_free(name);
	*out = is;
	return 0;
fail:
	OPENSSL_free(name);
	ocsp_issuer_free(is);
	if (why && why[0] == '\0')
		say(why, whysz, "%s: cannot hash the CA certificate", path);
	return -1;
}

void
ocsp_issuer_free(struct ocsp_issuer *is)
{
	if (is == NULL)
		return;
	X509_free(is->cert);
	free(is);
}

int
ocsp_issuer_match(const struct ocsp_issuer *is, const struct ocsp_certid *id)
{
	if (id->alg < 0 || id->alg >= OCSP_NALGS || id->hash_len != is->hash_len[id->alg])
		return 0;
	return memcmp(id->name_hash, is->name_hash[id->alg], id->hash_len) == 0 &&
	    memcmp(id->key_hash, is->key_hash[id->alg], id->hash_len) == 0;
}

/* Issued by the issuer: names and key identifiers agree and the signature verifies. */
static int
ocsp_issued_by(const struct ocsp_issuer *is, X509 *x)
{
	int ok = X509_check_issued(is->cert, x) == X509_V_OK &&
	    X509_verify(x, X509_get0_pubkey(is->cert)) == 1;

	ERR_clear_error();
	return ok;
}

int
ocsp_cert_serial(const struct ocsp_issuer *is, const uint8_t *der, size_t len,
    uint8_t serial[OCSP_SERIAL_MAX], size_t *serial_len)
{
	const unsigned char *p = der;
	X509 *x;
	int rv = 0;

	if (len > INT_MAX || (x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		ERR_clear_error();
		return 0;
	}
	if (ocsp_issued_by(is, x) &&
	    ocsp_int_bytes(X509_get0_serialNumber(x), serial, serial_len) == 0)
		rv = 1;
	X509_free(x);
	return rv;
}

static EVP_PKEY *
ocsp_parse_key(const uint8_t *p, size_t len)
{
	EVP_PKEY *k = NULL;
	BIO *bio;

	if (len <= INT_MAX && (bio = BIO_new_mem_buf(p, (int)len)) != NULL) {
		k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	ERR_clear_error();
	return k;
}

static int
ocsp_signer_check(const struct ocsp_issuer *is, struct ocsp_signer *s, int64_t now,
    int64_t *not_after, char *why, size_t whysz)
{
	int64_t nb, na;

	if (X509_check_private_key(s->cert, s->key) != 1)
		return say(why, whysz, "the responder certificate does not match its key"), -1;
	if (!ocsp_issued_by(is, s->cert))
		return say(why, whysz, "the responder certificate was not issued by the CA"), -1;
	if ((X509_get_extension_flags(s->cert) & EXFLAG_XKUSAGE) == 0 ||
	    (X509_get_extended_key_usage(s->cert) & XKU_OCSP_SIGN) == 0)
		return say(why, whysz, "the responder certificate lacks OCSPSigning"), -1;
	if (crl_time(X509_get0_notBefore(s->cert), &nb) == -1 ||
	    crl_time(X509_get0_notAfter(s->cert), &na) == -1)
		return say(why, whysz, "the responder certificate has bad dates"), -1;
	if (now < nb || now >= na)
		return say(why, whysz, "the responder certificate is %s",
		    now < nb ? "not valid yet" : "expired"), -1;
	*not_after = na;
	return 0;
}

int
ocsp_signer_load_mem(const struct ocsp_issuer *is, const uint8_t *key, size_t keylen,
    const uint8_t *cert, size_t certlen, int64_t now, struct ocsp_signer **out,
    int64_t *not_after, char *why, size_t whysz)
{
	struct ocsp_signer *s;
	int id;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return say(why, whysz, "out of memory"), -1;
	if ((s->cert = ocsp_parse_cert(cert, certlen)) == NULL) {
		say(why, whysz, "not a certificate");
		goto fail;
	}
	if ((s->key = ocsp_parse_key(key, keylen)) == NULL) {
		say(why, whysz, "cannot read the responder key (PEM, unencrypted)");
		goto fail;
	}
	if (ocsp_signer_check(is, s, now, not_after, why, whysz) == -1)
		goto fail;
	id = EVP_PKEY_get_id(s->key);
	s->md = id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448 ? NULL : EVP_sha256();
	*out = s;
	return 0;
fail:
	ocsp_signer_free(s);
	return -1;
}

int
ocsp_signer_load(const struct ocsp_issuer *is, const char *key, const char *cert,
    int64_t now, struct ocsp_signer **out, int64_t *not_after, char *why, size_t whysz)
{
	struct buf k, c;
	X509 *x = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&k);
	buf_init(&c);
	if (read_file(cert, &c, 1 << 20) == -1 || (x = ocsp_parse_cert(c.p, c.len)) == NULL)
		say(why, whysz, "%s: %s", cert, c.len ? "not a certificate" : "cannot read");
	else if (read_file(key, &k, 1 << 20) == -1)
		say(why, whysz, "%s: cannot read the responder key", key);
	else
		rc = ocsp_signer_load_mem(is, k.p, k.len, c.p, c.len, now, out, not_after,
		    why, whysz);
	X509_free(x);
	buf_free(&k);	/* clears the key's bytes */
	buf_free(&c);
	return rc;
}

void
ocsp_signer_info(const struct ocsp_signer *s, char serial[2 * OCSP_SERIAL_MAX + 2],
    int64_t *not_before, int64_t *not_after)
{
	uint8_t b[OCSP_SERIAL_MAX];
	size_t len;

	serial[0] = '\0';
	if (ocsp_int_bytes(X509_get0_serialNumber(s->cert), b, &len) == 0) {
		ocsp_serial_line(b, len, serial);
		serial[strcspn(serial, "\n")] = '\0';
		for (len = 0; serial[len] != '\0'; len++)	/* as openssl x509 -serial */
			serial[len] = (char)toupper((unsigned char)serial[len]);
	}
	if (crl_time(X509_get0_notBefore(s->cert), not_before) == -1)
		*not_before = 0;
	if (crl_time(X509_get0_notAfter(s->cert), not_after) == -1)
		*not_after = 0;
}

void
ocsp_signer_free(struct ocsp_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	EVP_PKEY_free(s->key);
	free(s);
}

static int
ocsp_add_single(OCSP_BASICRESP *bs, OCSP_CERTID *cid, const struct ocsp_single *a)
{
	static const int st[] = { V_OCSP_CERTSTATUS_GOOD, V_OCSP_CERTSTATUS_REVOKED,
		V_OCSP_CERTSTATUS_UNKNOWN };
	ASN1_TIME *thisu, *nextu, *rev = NULL;
	int ok;

	thisu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->this_update);
	nextu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->next_update);
	if (a->status == OCSP_REVOKED)
		rev = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->revoked);
	ok = thisu && nextu && (a->status != OCSP_REVOKED || rev) &&
	    a->status >= 0 && a->status <= OCSP_UNKNOWN &&
	    OCSP_basic_add1_status(bs, cid, st[a->status], a->reason < 0 ?
	    OCSP_REVOKED_STATUS_NOSTATUS : a->reason, rev, thisu, nextu) != NULL;
	ASN1_TIME_free(thisu);
	ASN1_TIME_free(nextu);
	ASN1_TIME_free(rev);
	return ok ? 0 : -1;
}

/* Signs bs (its answers added) and wraps it in a successful OCSPResponse. */
static int
ocsp_finish(const struct ocsp_signer *s, OCSP_BASICRESP *bs, struct buf *out)
{
	OCSP_RESPONSE *resp = NULL;
	unsigned char *der = NULL;
	int len = -1;

	if (OCSP_basic_sign(bs, s->cert, s->key, s->md, NULL, OCSP_RESPID_KEY) == 1 &&
	    (resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs)) != NULL &&
	    (len = i2d_OCSP_RESPONSE(resp, &der)) > 0 && buf_put(out, der, (size_t)len) == -1)
		len = -1;
	ERR_clear_error();
	OPENSSL_free(der);
	OCSP_RESPONSE_free(resp);
	return len > 0 ? 0 : -1;
}

int
ocsp_resp_sign(const struct ocsp_signer *s, const struct ocsp_req *req,
    const struct ocsp_single *a, int n, struct buf *out)
{
	OCSP_BASICRESP *bs;
	int i, rv = -1;

	buf_reset(out);
	if ((bs = OCSP_BASICRESP_new()) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (ocsp_add_single(bs, OCSP_onereq_get0_id(OCSP_request_onereq_get0(
		    req->raw, a[i].idx)), &a[i]) == -1)
			goto done;
	if (req->has_nonce && OCSP_copy_nonce(bs, req->raw) != 1)
		goto done;
	rv = ocsp_finish(s, bs, out);
done:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	return rv;
}

int
ocsp_resp_presign(const struct ocsp_signer *s, const struct ocsp_issuer *is, int alg,
    const uint8_t *serial, size_t serial_len, const struct ocsp_single *a,
    struct buf *out)
{
	OCSP_BASICRESP *bs = NULL;
	OCSP_CERTID *cid = NULL;
	ASN1_INTEGER *ser = NULL;
	BIGNUM *bn;
	int rv = -1;

	buf_reset(out);
	if (alg < 0 || alg >= OCSP_NALGS || serial_len > INT_MAX ||
	    (bn = BN_bin2bn(serial, (int)serial_len, NULL)) == NULL)
		return -1;
	ser = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	if (ser == NULL || (cid = OCSP_cert_id_new(EVP_get_digestbynid(ocsp_alg_nids[alg]),
	    X509_get_subject_name(is->cert), X509_get0_pubkey_bitstr(is->cert),
	    ser)) == NULL || (bs = OCSP_BASICRESP_new()) == NULL)
		goto done;
	if (ocsp_add_single(bs, cid, a) == 0)
		rv = ocsp_finish(s, bs, out);
done:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(ser);
	return rv;
}

void
ocsp_resp_error(int status, struct buf *out)
{
	/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } */
	uint8_t der[5] = { 0x30, 0x03, 0x0a, 0x01, (uint8_t)status };

	buf_reset(out);
	(void)buf_put(out, der, sizeof(der));
}

const char *
ocsp_status_name(int st)
{
	switch (st) {
	case OCSP_ST_SUCCESSFUL:	return "successful";
	case OCSP_ST_MALFORMED:		return "malformedRequest";
	case OCSP_ST_INTERNAL:		return "internalError";
	case OCSP_ST_TRYLATER:		return "tryLater";
	case OCSP_ST_SIGREQUIRED:	return "sigRequired";
	case OCSP_ST_UNAUTHORIZED:	return "unauthorized";
	}
	return "?";
}

static int
ocsp_entry_reason(X509_REVOKED *r)
{
	ASN1_ENUMERATED *e;
	long v;

	if ((e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL)) == NULL)
		return -1;
	v = ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return v >= 0 && v <= 10 ? (int)v : -1;
}

int
ocsp_crl_each(const uint8_t *der, size_t len, int (*fn)(void *, const uint8_t *,
    size_t, int64_t, int), void *arg)
{
	char why[128];
	X509_CRL *crl;
	STACK_OF(X509_REVOKED) *rs;
	uint8_t serial[OCSP_SERIAL_MAX];
	size_t slen;
	int64_t when;
	int i, reason, rv = 0;

	if ((crl = crl_d2i(der, len, "CRL", why, sizeof(why))) == NULL)
		return -1;
	rs = X509_CRL_get_REVOKED(crl);
	for (i = 0; i < sk_X509_REVOKED_num(rs) && rv == 0; i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rs, i);

		reason = ocsp_entry_reason(r);
		if (reason == 8)	/* removeFromCRL: not revoked */
			continue;
		if (ocsp_int_bytes(X509_REVOKED_get0_serialNumber(r), serial, &slen) == -1 ||
		    crl_time(X509_REVOKED_get0_revocationDate(r), &when) == -1)
			continue;
		rv = fn(arg, serial, slen, when, reason);
	}
	X509_CRL_free(crl);
	ERR_clear_error();
	return rv;
}

void
ocsp_serial_line(const uint8_t *serial, size_t len, char *line)
{
	if (len == 0)
		strcpy(line, "00");
	else
		hex_encode(serial, len, line);
	strcat(line, "\n");
}

int
ocsp_serial_hex(const char *hex, size_t len, uint8_t serial[OCSP_SERIAL_MAX],
    size_t *serial_len)
{
	char tmp[2 * OCSP_SERIAL_MAX + 2];
	size_t n;

	while (len > 1 && hex[0] == '0') {
		hex++;
		len--;
	}
	if (len == 0 || len > 2 * OCSP_SERIAL_MAX)
		return -1;
	n = (len + 1) / 2;
	snprintf(tmp, sizeof(tmp), "%s%.*s", len % 2 ? "0" : "", (int)len, hex);
	if (hex_decode(tmp, serial, n) == -1)
		return -1;
	*serial_len = n == 1 && serial[0] == 0 ? 0 : n;
	return 0;
}
