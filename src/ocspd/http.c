/*
 * http.c: airlock-ocspd's HTTP front, the only libmicrohttpd user. RFC
 * 5019 section 5: POST with Content-Type application/ocsp-request and the
 * DER request as body, or GET with the base64 of the DER request as the
 * last part of the path. libmicrohttpd's own threads (ocsp.threads, one
 * per CPU by default) read, parse HTTP and write; each takes the
 * responder's lock only for ocspd_answer, a cache lookup for the common
 * request, so the threads spend their time in the system calls side by
 * side, and the main thread's refreshes and presigning take turns with
 * them one signature at a time.
 *
 * Refused before the responder sees them, each with an HTTP status, a
 * log line (rate-limited) and a counter: a body or path over max_request
 * bytes (413, before the body is read when Content-Length says so), other
 * methods (405), a GET path that is not base64 (400). A request the
 * responder cannot parse gets an OCSP malformedRequest (HTTP 200).
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "ocspd.h"
#include "proc.h"

#define HTTP_CONN_LIMIT		1024
#define HTTP_CONN_TIMEOUT	10	/* seconds without traffic */

struct http {
	struct MHD_Daemon *d;
	struct ocspd	*o;
	size_t		 max_request;
};

struct http_req {
	struct buf	 body;
	int		 too_big;
};

static enum MHD_Result
http_send(struct MHD_Connection *conn, unsigned code, const uint8_t *p, size_t len,
    const char *type, int64_t max_age)
{
	struct MHD_Response *r;
	enum MHD_Result rv;
	char cc[96];

	if ((r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)p,
	    MHD_RESPMEM_MUST_COPY)) == NULL)
		return MHD_NO;
	(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (max_age > 0) {
		snprintf(cc, sizeof(cc), "max-age=%lld, public, no-transform, must-revalidate",
		    (long long)max_age);
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
	} else
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rv = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rv;
}

static enum MHD_Result
http_refuse(struct http *h, struct MHD_Connection *conn, unsigned code, int counter,
    const char *sentence)
{
	char body[128];

	pthread_mutex_lock(&h->o->lock);
	h->o->count[counter]++;
	ocspd_bad(h->o, time(NULL), "HTTP %u: %s", code, sentence);
	pthread_mutex_unlock(&h->o->lock);
	snprintf(body, sizeof(body), "%s\n", sentence);
	return http_send(conn, code, (const uint8_t *)body, strlen(body), "text/plain", 0);
}

static enum MHD_Result
http_ocsp(struct http *h, struct MHD_Connection *conn, const uint8_t *der, size_t len)
{
	struct buf out;
	int64_t max_age;
	enum MHD_Result rv;

	buf_init(&out);
	pthread_mutex_lock(&h->o->lock);
	ocspd_answer(h->o, der, len, time(NULL), &out, &max_age);
	pthread_mutex_unlock(&h->o->lock);
	rv = http_send(conn, MHD_HTTP_OK, out.p, out.len, "application/ocsp-response",
	    max_age);
	buf_free(&out);
	return rv;
}

static enum MHD_Result
http_get(struct http *h, struct MHD_Connection *conn, const char *url)
{
	const char *b64 = url;
	struct buf der;
	enum MHD_Result rv;

	/* the request is what follows the responder's path: "/" + base64,
	 * whose own "/" characters may be left unescaped by clients */
	while (*b64 == '/')
		b64++;
	if (strlen(url) > h->max_request)
		return http_refuse(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, OC_OVERSIZED,
		    "request too large");
	buf_init(&der);
	if (ocsp_b64_decode(b64, strlen(b64), &der) == -1) {
		buf_free(&der);
		return http_refuse(h, conn, MHD_HTTP_BAD_REQUEST, OC_BAD_HTTP,
		    "GET path is not a base64 OCSP request");
	}
	rv = http_ocsp(h, conn, der.p, der.len);
	buf_free(&der);
	return rv;
}

static enum MHD_Result
http_post_start(struct http *h, struct MHD_Connection *conn, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	struct http_req *r;

	if (cl != NULL && strtoull(cl, NULL, 10) > h->max_request)
		return http_refuse(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, OC_OVERSIZED,
		    "request too large");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return MHD_NO;
	buf_init(&r->body);
	*con_cls = r;
	return MHD_YES;
}

static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **con_cls)
{
	struct http *h = cls;
	struct http_req *r = *con_cls;

	(void)version;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		return http_get(h, conn, url);
	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return http_refuse(h, conn, MHD_HTTP_METHOD_NOT_ALLOWED, OC_BAD_HTTP,
		    "only GET and POST");
	if (r == NULL)
		return http_post_start(h, conn, con_cls);
	if (*upload_len != 0) {
		if (r->too_big || r->body.len + *upload_len > h->max_request)
			r->too_big = 1;
		else if (buf_put(&r->body, upload, *upload_len) == -1)
			return MHD_NO;
		*upload_len = 0;
		return MHD_YES;
	}
	if (r->too_big)
		return http_refuse(h, conn, MHD_HTTP_CONTENT_TOO_LARGE, OC_OVERSIZED,
		    "request too large");
	return http_ocsp(h, conn, r->body.p, r->body.len);
}

static void
http_done(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct http_req *r = *con_cls;

	(void)cls, (void)conn, (void)why;
	if (r != NULL) {
		buf_free(&r->body);
		free(r);
		*con_cls = NULL;
	}
}

struct http *
http_start(struct ocspd *o, const char *addr, int port, size_t max_request,
    unsigned nthreads)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_ERROR_LOG | MHD_USE_EPOLL | MHD_USE_TURBO |
	    MHD_USE_INTERNAL_POLLING_THREAD;
	struct http *h;
	size_t mem;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		log_warnx("ocsp.listen \"%s\" is not an IP address", addr);
		return NULL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->o = o;
	h->max_request = max_request;
	/* each connection's pool (headers, the GET path, buffers): a path up
	 * to twice max_request still reaches http_get and its 413, longer ones
	 * get libmicrohttpd's 414. No bigger: the pool is cleared for every
	 * request, and at 32 KiB that clearing was a tenth of the answering */
	mem = max_request * 2 + 4096;
	if (mem < 8192)
		mem = 8192;
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, http_handler, h,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 512u,
	    MHD_OPTION_NOTIFY_COMPLETED, http_done, h,
	    MHD_OPTION_THREAD_POOL_SIZE, nthreads > 1 ? nthreads : 0u,
	    MHD_OPTION_END);
	if (h->d == NULL) {
		log_warnx("cannot listen on %s port %d", addr, port);
		free(h);
		return NULL;
	}
	return h;
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
