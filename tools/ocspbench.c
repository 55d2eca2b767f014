/*
 * ocspbench.c: the client half of `make bench-ocsp` (scripts/bench-ocsp.sh
 * runs airlock-ocspd and `openssl ocsp -index ... -port` beside it).
 *
 *   ocspbench PORT ISSUER_CERT EXPECTED N CONNECTIONS
 *
 * EXPECTED has one line per serial: "HEX good", "HEX revoked REASON" or
 * "HEX unknown". One OCSP request per serial (SHA-1 CertID, no nonce,
 * RFC 5019) is built with OpenSSL; then N requests, the serials in turn,
 * are POSTed to 127.0.0.1:PORT over CONNECTIONS HTTP/1.1 connections kept
 * alive (RFC 5019 section 5; opened again whenever the server closes one),
 * each sending its next request when its last answer is in; only this
 * loop is timed. The client is made cheap per request (each serial's
 * whole HTTP request built beforehand, epoll, answers gathered in one
 * arena), since at 8 connections it was the side that used a whole CPU. Afterwards every response is
 * checked: successful, the status (and reason) expected for its serial,
 * and, for the first response of each serial, the signature and the
 * responder's delegation verified up to ISSUER_CERT (OCSP_basic_verify).
 * Prints "responses=N ok=K per_s=X revoked_ok=0|1 unknown_ok=0|1".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <err.h>
#include <stdint.h>
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
	unsigned char	*req;		/* the DER request */
	int		 reqlen;
	char		*http;		/* the whole POST, headers and body */
	size_t		 httplen;
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
		s->httplen = (size_t)snprintf(NULL, 0, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: keep-alive\r\nContent-Type: application/ocsp-request\r\n"
		    "Content-Length: %d\r\n\r\n", s->reqlen);
		if ((s->http = malloc(s->httplen + (size_t)s->reqlen + 1)) == NULL)
			err(1, "malloc");
		snprintf(s->http, s->httplen + 1, "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		    "Connection: keep-alive\r\nContent-Type: application/ocsp-request\r\n"
		    "Content-Length: %d\r\n\r\n", s->reqlen);
		memcpy(s->http + s->httplen, s->req, (size_t)s->reqlen);
		s->httplen += (size_t)s->reqlen;
	}
	BN_free(bn);
	fclose(f);
	if (nserials == 0)
		errx(1, "%s: no serials", path);
}

/* One of the connections in flight. */
struct conn {
	int		 fd;
	long		 i;		/* the request it carries, -1 none */
	int		 tries;
	unsigned char	*buf;
	size_t		 len, cap, hlen, clen;	/* clen SIZE_MAX: until EOF */
	int		 closes;
};

static int port, epfd;
static long n, issued;
static unsigned char *arena;		/* every answer's body, one after another */
static size_t arena_len, arena_cap;
static size_t *respoff, *resplen;	/* per request; resplen 0: none */

static int
conn_open(struct conn *c)
{
	struct sockaddr_in sa;
	struct epoll_event ev;
	int one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
		err(1, "epoll_ctl");
	return 0;
}

/* Sends request c->i (a new one if -1): 0, or -1 when all are issued. */
static int
conn_send(struct conn *c)
{
	const struct serial *s;

	if (c->i == -1) {
		if (issued >= n) {	/* done: a server serving one connection at a
					 * time (openssl ocsp) moves on to the next */
			if (c->fd != -1)
				close(c->fd);
			c->fd = -1;
			return -1;
		}
		c->i = issued++;
		c->tries = 0;
	}
	if (c->fd == -1 && conn_open(c) == -1)
		err(1, "connect to port %d", port);
	s = &serials[c->i % nserials];
	c->len = c->hlen = 0;
	c->clen = SIZE_MAX;
	c->closes = 0;
	/* one write: a second small one would wait for Nagle's algorithm */
	if (write(c->fd, s->http, s->httplen) != (ssize_t)s->httplen) {
		close(c->fd);
		c->fd = -1;
		if (++c->tries > 3)
			errx(1, "cannot send to port %d", port);
		return conn_send(c);
	}
	return 0;
}

/* The response is complete: keep its body, send the next request. */
static int
conn_done(struct conn *c)
{
	size_t blen = c->clen == SIZE_MAX ? c->len - c->hlen : c->clen;

	while (arena_len + blen > arena_cap)
		if ((arena = realloc(arena, arena_cap = arena_cap ? arena_cap * 2 :
		    1u << 20)) == NULL)
			err(1, "realloc");
	memcpy(arena + arena_len, c->buf + c->hlen, blen);
	respoff[c->i] = arena_len;
	resplen[c->i] = blen;
	arena_len += blen;
	if (c->closes || c->clen == SIZE_MAX) {
		close(c->fd);
		c->fd = -1;
	}
	c->i = -1;
	return conn_send(c);
}

static void
conn_header(struct conn *c)
{
	unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
	const char *cl;

	if (end == NULL)
		return;
	c->hlen = (size_t)(end - c->buf) + 4;
	*end = '\0';
	if ((cl = strcasestr((char *)c->buf, "\r\nContent-Length:")) != NULL)
		c->clen = strtoul(cl + 17, NULL, 10);
	c->closes = strcasestr((char *)c->buf, "\r\nConnection: close") != NULL ||
	    strncmp((char *)c->buf, "HTTP/1.0", 8) == 0;
	*end = '\r';
}

/* Readable: -1 when the connection has nothing more to do. */
static int
conn_read(struct conn *c)
{
	ssize_t r;

	if (c->len == c->cap && (c->buf = realloc(c->buf, c->cap = c->cap ? c->cap * 2 :
	    8192)) == NULL)
		err(1, "realloc");
	r = read(c->fd, c->buf + c->len, c->cap - c->len);
	if (r <= 0) {
		close(c->fd);
		c->fd = -1;
		if (c->hlen != 0 && c->clen == SIZE_MAX)
			return conn_done(c);
		if (++c->tries > 3)	/* closed before answering: again */
			errx(1, "port %d closes without answering", port);
		return conn_send(c);
	}
	c->len += (size_t)r;
	if (c->hlen == 0)
		conn_header(c);
	if (c->hlen != 0 && c->clen != SIZE_MAX && c->len >= c->hlen + c->clen)
		return conn_done(c);
	return 0;
}

/* All n requests over nconn connections kept alive, each sending its next
 * request when the answer to the last one is in. */
static void
run(int nconn)
{
	struct conn *cs = calloc((size_t)nconn, sizeof(*cs)), *c;
	struct epoll_event *ev = calloc((size_t)nconn, sizeof(*ev));
	int k, r, live = 0;

	if (cs == NULL || ev == NULL)
		err(1, "calloc");
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	for (k = 0; k < nconn; k++) {
		cs[k].fd = -1;
		cs[k].i = -1;
		if (conn_send(&cs[k]) == 0)
			live++;
	}
	while (live > 0) {
		if ((r = epoll_wait(epfd, ev, nconn, 30000)) <= 0)
			errx(1, "port %d: no answer for 30 s", port);
		for (k = 0; k < r; k++) {
			c = ev[k].data.ptr;
			if (c->i != -1 && conn_read(c) == -1)
				live--;
		}
	}
	for (k = 0; k < nconn; k++) {
		if (cs[k].fd != -1)
			close(cs[k].fd);
		free(cs[k].buf);
	}
	free(cs);
	free(ev);
	close(epfd);
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
	X509_STORE *store;
	X509 *issuer;
	FILE *f;
	long i, ok = 0;
	int nconn, seen[3] = { 0, 0, 0 }, good[3] = { 1, 1, 1 };
	double secs;

	if (argc != 6)
		errx(2, "usage: ocspbench PORT ISSUER_CERT EXPECTED N CONNECTIONS");
	port = atoi(argv[1]);
	n = atol(argv[4]);
	if ((nconn = atoi(argv[5])) < 1 || nconn > 256)
		errx(2, "CONNECTIONS: 1 to 256");
	if ((f = fopen(argv[2], "r")) == NULL || (issuer = PEM_read_X509(f, NULL, NULL,
	    NULL)) == NULL)
		errx(1, "%s: cannot read", argv[2]);
	fclose(f);
	load_expected(argv[3], issuer);
	store = X509_STORE_new();
	X509_STORE_add_cert(store, issuer);
	respoff = calloc((size_t)n, sizeof(*respoff));
	resplen = calloc((size_t)n, sizeof(*resplen));
	if (respoff == NULL || resplen == NULL || n < 1)
		errx(1, "N");
	/* room for every answer, touched before the clock starts: growing it
	 * while timing (realloc's copies, page faults) cost this client about
	 * a tenth of its CPU, which the responder it shares the machine with
	 * then lacked */
	arena_cap = (size_t)n * 1024;
	if ((arena = malloc(arena_cap)) == NULL)
		err(1, "malloc");
	memset(arena, 0, arena_cap);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run(nconn);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < n; i++) {
		struct serial *s = &serials[i % nserials];
		int c = resplen[i] != 0 && check(s, arena + respoff[i], resplen[i], store);

		ok += c;
		seen[s->status]++;
		good[s->status] &= c;
	}
	printf("responses=%ld ok=%ld per_s=%.0f revoked_ok=%d unknown_ok=%d good_ok=%d\n",
	    n, ok, (double)n / secs, seen[V_OCSP_CERTSTATUS_REVOKED] &&
	    good[V_OCSP_CERTSTATUS_REVOKED], seen[V_OCSP_CERTSTATUS_UNKNOWN] &&
	    good[V_OCSP_CERTSTATUS_UNKNOWN], seen[V_OCSP_CERTSTATUS_GOOD] &&
	    good[V_OCSP_CERTSTATUS_GOOD]);
	for (i = 0; i < nserials; i++) {	/* for LeakSanitizer in make asan */
		OCSP_CERTID_free(serials[i].id);
		OPENSSL_free(serials[i].req);
		free(serials[i].http);
	}
	free(serials);
	free(arena);
	free(respoff);
	free(resplen);
	X509_STORE_free(store);
	X509_free(issuer);
	return 0;
}
