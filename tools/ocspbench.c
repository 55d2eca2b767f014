/*
 * ocspbench.c: the client half of `make bench-ocsp` (scripts/bench-ocsp.sh
 * runs airlock-ocspd and `openssl ocsp -index ... -port` beside it).
 *
 *   ocspbench PORT ISSUER_CERT EXPECTED N
 *
 * EXPECTED has one line per serial: "HEX good", "HEX revoked REASON" or
 * "HEX unknown". One OCSP request per serial (SHA-1 CertID, no nonce,
 * RFC 5019) is built with OpenSSL; then N requests, the serials in turn,
 * are POSTed to 127.0.0.1:PORT, one HTTP/1.0 connection each, one after
 * the other, and only this loop is timed. Afterwards every response is
 * checked: successful, the status (and reason) expected for its serial,
 * and, for the first response of each serial, the signature and the
 * responder's delegation verified up to ISSUER_CERT (OCSP_basic_verify).
 * Prints "responses=N ok=K per_s=X revoked_ok=0|1 unknown_ok=0|1".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct serial {
	OCSP_CERTID	*id;
	int		 status, reason;	/* V_OCSP_CERTSTATUS_*, CRL reason or -1 */
	unsigned char	*req;
	int		 reqlen;
	int		 verified;
};

static struct serial *serials;
static int nserials;

static const char *const reason_names[] = {
	"unspecified", "keyCompromise", "CACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", "", "removeFromCRL",
	"privilegeWithdrawn", "AACompromise",
};

static int
reason_of(const char *s)
{
	size_t i;

	for (i = 0; i < sizeof(reason_names) / sizeof(reason_names[0]); i++)
		if (strcmp(s, reason_names[i]) == 0)
			return (int)i;
	return -1;
}

static void
load_expected(const char *path, X509 *issuer)
{
	char line[256], hex[80], st[32], reason[64];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai;
	OCSP_REQUEST *rq;
	FILE *f;
	int n;

	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	while (fgets(line, sizeof(line), f)) {
		struct serial *s;

		reason[0] = '\0';
		if ((n = sscanf(line, "%79s %31s %63s", hex, st, reason)) < 2)
			continue;
		if ((serials = realloc(serials, (size_t)(nserials + 1) * sizeof(*serials))) == NULL)
			err(1, "realloc");
		s = &serials[nserials++];
		memset(s, 0, sizeof(*s));
		if (BN_hex2bn(&bn, hex) == 0 || (ai = BN_to_ASN1_INTEGER(bn, NULL)) == NULL)
			errx(1, "%s: bad serial %s", path, hex);
		s->id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
		    X509_get0_pubkey_bitstr(issuer), ai);
		ASN1_INTEGER_free(ai);
		s->status = strcmp(st, "good") == 0 ? V_OCSP_CERTSTATUS_GOOD :
		    strcmp(st, "revoked") == 0 ? V_OCSP_CERTSTATUS_REVOKED :
		    V_OCSP_CERTSTATUS_UNKNOWN;
		s->reason = n == 3 ? reason_of(reason) : -1;
		if ((rq = OCSP_REQUEST_new()) == NULL ||
		    OCSP_request_add0_id(rq, OCSP_CERTID_dup(s->id)) == NULL ||
		    (s->reqlen = i2d_OCSP_REQUEST(rq, &s->req)) <= 0)
			errx(1, "cannot build a request");
		OCSP_REQUEST_free(rq);
	}
	BN_free(bn);
	fclose(f);
	if (nserials == 0)
		errx(1, "%s: no serials", path);
}

/* One POST; the body of the answer into *out (malloc'd). -1 on error. */
static int
post(int port, const struct serial *s, unsigned char **out, size_t *outlen)
{
	struct sockaddr_in sa;
	char hdr[256];
	unsigned char *buf = NULL, *body;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, hl;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto fail;
	hl = snprintf(hdr, sizeof(hdr), "POST / HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/ocsp-request\r\nContent-Length: %d\r\n\r\n",
	    s->reqlen);
	if (write(fd, hdr, (size_t)hl) != hl ||
	    write(fd, s->req, (size_t)s->reqlen) != s->reqlen)
		goto fail;
	for (;;) {
		if (len == cap && (buf = realloc(buf, cap = cap ? cap * 2 : 4096)) == NULL)
			goto fail;
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if ((body = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		goto fail2;
	body += 4;
	*outlen = len - (size_t)(body - buf);
	memmove(buf, body, *outlen);
	*out = buf;
	return 0;
fail:
	if (fd != -1)
		close(fd);
fail2:
	free(buf);
	return -1;
}

static int
check(struct serial *s, const unsigned char *der, size_t len, X509_STORE *store)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r;
	OCSP_BASICRESP *bs = NULL;
	int status, reason, ok = 0;

	if ((r = d2i_OCSP_RESPONSE(NULL, &p, (long)len)) == NULL ||
	    OCSP_response_status(r) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(r)) == NULL ||
	    OCSP_resp_find_status(bs, s->id, &status, &reason, NULL, NULL, NULL) != 1)
		goto done;
	if (status != s->status || (status == V_OCSP_CERTSTATUS_REVOKED &&
	    s->reason >= 0 && reason != s->reason))
		goto done;
	if (!s->verified) {
		if (OCSP_basic_verify(bs, NULL, store, 0) != 1)
			goto done;
		s->verified = 1;
	}
	ok = 1;
done:
	ERR_clear_error();
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(r);
	return ok;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	unsigned char **resp;
	size_t *resplen;
	X509_STORE *store;
	X509 *issuer;
	FILE *f;
	long i, n, ok = 0;
	int port, seen[3] = { 0, 0, 0 }, good[3] = { 1, 1, 1 };
	double secs;

	if (argc != 5)
		errx(2, "usage: ocspbench PORT ISSUER_CERT EXPECTED N");
	port = atoi(argv[1]);
	n = atol(argv[4]);
	if ((f = fopen(argv[2], "r")) == NULL || (issuer = PEM_read_X509(f, NULL, NULL,
	    NULL)) == NULL)
		errx(1, "%s: cannot read", argv[2]);
	fclose(f);
	load_expected(argv[3], issuer);
	store = X509_STORE_new();
	X509_STORE_add_cert(store, issuer);
	resp = calloc((size_t)n, sizeof(*resp));
	resplen = calloc((size_t)n, sizeof(*resplen));
	if (resp == NULL || resplen == NULL || n < 1)
		errx(1, "N");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		if (post(port, &serials[i % nserials], &resp[i], &resplen[i]) == -1)
			resp[i] = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < n; i++) {
		struct serial *s = &serials[i % nserials];
		int c = resp[i] != NULL && check(s, resp[i], resplen[i], store);

		ok += c;
		seen[s->status]++;
		good[s->status] &= c;
		free(resp[i]);
	}
	printf("responses=%ld ok=%ld per_s=%.0f revoked_ok=%d unknown_ok=%d good_ok=%d\n",
	    n, ok, (double)n / secs, seen[V_OCSP_CERTSTATUS_REVOKED] &&
	    good[V_OCSP_CERTSTATUS_REVOKED], seen[V_OCSP_CERTSTATUS_UNKNOWN] &&
	    good[V_OCSP_CERTSTATUS_UNKNOWN], seen[V_OCSP_CERTSTATUS_GOOD] &&
	    good[V_OCSP_CERTSTATUS_GOOD]);
	return 0;
}
