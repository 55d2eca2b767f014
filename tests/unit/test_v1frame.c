/*
 * test_v1frame.c: the CommModule v1 codec (src/link/v1frame.c) and the v1
 * listener's transfers (src/linkd/v1.c, with the host's calls stubbed).
 *
 * Known answers: the exact bytes of the keepalive request and answer as
 * docs/legacy-v1.md spells them. Then the receiver, fed whole and one byte
 * at a time: a good frame after garbage; a wrong XOR byte, a length that
 * says more or less than was sent, a missing trailer, an oversize length,
 * and the same broken frame more than V1_MAX_NAKS times; each is refused
 * as the documentation says and the next good frame comes through. The
 * request parser's refusals, the time text, the PEM and serial helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "v1.h"
#include "v1frame.h"
#include "v1_int.h"
#include "util.h"

/* docs/legacy-v1.md: the keepalive without a time, and its answer */
static const uint8_t keepalive_wire[] = {
	0x00, 0x00, 0x15,				/* body length 21 */
	0x00, 0x00, 0x09, 1, 0, 0, 0, 0, 0, 0, 0, 0,	/* header */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x1d,						/* XOR */
	'r', 'i', 'e', '4', 'E', 'c', 'h', '7',
};
static const uint8_t answer_wire[] = {
	0x00, 0x00, 0x10,
	0x00, 0x00, 0x04, 1, 0, 0, 0,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x15,
	'r', 'i', 'e', '4', 'E', 'c', 'h', '7',
};

static struct v1_dec dec;

static void
keepalive_req(struct v1_req *r)
{
	memset(r, 0, sizeof(*r));
	r->version = 1;
}

static void
test_kat(void **state)
{
	struct v1_req r;
	struct buf b, f;

	(void)state;
	buf_init(&b);
	buf_init(&f);
	keepalive_req(&r);
	assert_int_equal(v1_req_encode(&r, &b), 0);
	assert_int_equal(v1_frame_encode(b.p, b.len, &f), 0);
	assert_int_equal(f.len, sizeof(keepalive_wire));
	assert_memory_equal(f.p, keepalive_wire, sizeof(keepalive_wire));
	buf_reset(&f);
	assert_int_equal(v1_answer_encode(0, NULL, 0, &f), 0);
	assert_int_equal(f.len, sizeof(answer_wire));
	assert_memory_equal(f.p, answer_wire, sizeof(answer_wire));
	buf_free(&b);
	buf_free(&f);
}

/* Feeds n bytes (one at a time when bytewise); returns the events in order. */
static int
feed(const uint8_t *p, size_t n, int bytewise, int *ev, int maxev)
{
	size_t used, step;
	int k = 0, e;

	while (n > 0) {
		step = bytewise ? 1 : n;
		e = v1_dec_push(&dec, p, step, &used);
		assert_true(used <= step);
		p += used;
		n -= used;
		if (e != V1_EV_NONE && k < maxev)
			ev[k++] = e;
	}
	return k;
}

static void
test_good_after_garbage(void **state)
{
	uint8_t in[512];
	int ev[8], k, bw;

	(void)state;
	for (bw = 0; bw < 2; bw++) {
		v1_dec_init(&dec);
		memset(in, 0x55, 100);
		in[7] = V1_ACK;
		in[8] = V1_NAK;
		in[100] = V1_STX;
		memcpy(in + 101, keepalive_wire, sizeof(keepalive_wire));
		k = feed(in, 101 + sizeof(keepalive_wire), bw, ev, 8);
		assert_int_equal(k, 2);
		assert_int_equal(ev[0], V1_EV_STX);
		assert_int_equal(ev[1], V1_EV_FRAME);
		assert_int_equal(dec.len, 21);
		assert_memory_equal(dec.body, keepalive_wire + 3, 21);
		assert_int_equal(dec.st.garbage, 100);
		assert_int_equal(dec.st.frames, 1);
	}
}

/* A broken frame after STX; then the good one, as the old client resends. */
static void
broken(const uint8_t *bad, size_t n, int quiet, uint64_t *counter)
{
	int ev[8], k;
	uint8_t stx = V1_STX;

	v1_dec_init(&dec);
	assert_int_equal(feed(&stx, 1, 0, ev, 8), 1);
	k = feed(bad, n, 1, ev, 8);
	if (quiet) {
		assert_int_equal(k, 0);
		ev[k++] = v1_dec_quiet(&dec);
	}
	assert_int_equal(k, 1);
	assert_int_equal(ev[0], V1_EV_NAK);
	assert_int_equal(*counter, 1);
	k = feed(keepalive_wire, sizeof(keepalive_wire), 0, ev, 8);
	assert_int_equal(k, 1);
	assert_int_equal(ev[0], V1_EV_FRAME);
}

static void
test_refusals(void **state)
{
	uint8_t w[64];

	(void)state;
	memcpy(w, keepalive_wire, sizeof(keepalive_wire));
	w[24] ^= 1;				/* XOR byte */
	broken(w, sizeof(keepalive_wire), 0, &dec.st.bad_xor);
	memcpy(w, keepalive_wire, sizeof(keepalive_wire));
	w[2] = 0x1a;				/* says 5 more */
	w[24] ^= 0x15 ^ 0x1a;			/* XOR still right */
	broken(w, sizeof(keepalive_wire), 0, &dec.st.bad_length);
	memcpy(w, keepalive_wire, sizeof(keepalive_wire));
	w[2] = 0x11;				/* says 4 fewer */
	w[24] ^= 0x15 ^ 0x11;
	broken(w, sizeof(keepalive_wire), 0, &dec.st.bad_length);
	memcpy(w, keepalive_wire, sizeof(keepalive_wire));
	w[sizeof(keepalive_wire) - 1] = 'X';	/* no trailer */
	broken(w, sizeof(keepalive_wire), 1, &dec.st.bad_trailer);
	broken(keepalive_wire, 10, 1, &dec.st.stalls);	/* cut short */
}

static void
test_oversize_and_naks(void **state)
{
	uint8_t big[] = { V1_STX, 0xff, 0xff, 0xff, 'a', 'b' }, w[64];
	int ev[8], k, i;

	(void)state;
	v1_dec_init(&dec);
	k = feed(big, sizeof(big), 1, ev, 8);
	assert_int_equal(k, 2);
	assert_int_equal(ev[1], V1_EV_GIVEUP);
	assert_int_equal(dec.st.oversize, 1);
	assert_int_equal(dec.state, V1D_DRAIN);
	k = feed(keepalive_wire, sizeof(keepalive_wire), 0, ev, 8);
	assert_int_equal(k, 0);			/* drained */
	assert_int_equal(v1_dec_quiet(&dec), V1_EV_NONE);
	assert_int_equal(dec.state, V1D_IDLE);

	memcpy(w, keepalive_wire, sizeof(keepalive_wire));
	w[24] ^= 1;
	v1_dec_init(&dec);
	k = feed(big, 1, 0, ev, 8);
	for (i = 0; i < V1_MAX_NAKS; i++) {
		k = feed(w, sizeof(keepalive_wire), 0, ev, 8);
		assert_int_equal(k, 1);
		assert_int_equal(ev[0], V1_EV_NAK);
	}
	k = feed(w, sizeof(keepalive_wire), 0, ev, 8);
	assert_int_equal(k, 1);
	assert_int_equal(ev[0], V1_EV_GIVEUP);
	assert_int_equal(dec.state, V1D_IDLE);
}

static void
test_req_parse(void **state)
{
	struct v1_req r;
	struct buf b;
	char why[128];
	uint8_t big[V1_MAX_FIELD3 + 1];

	(void)state;
	buf_init(&b);
	keepalive_req(&r);
	r.action = 1;
	r.system = 1;
	r.days = 0x1234;
	r.f1 = (const uint8_t *)"csr";
	r.f1_len = 3;
	assert_int_equal(v1_req_encode(&r, &b), 0);
	assert_int_equal(v1_req_parse(b.p, b.len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.days, 0x1234);
	assert_int_equal(r.f1_len, 3);
	assert_int_equal(v1_req_parse(b.p, b.len - 1, &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "four"));
	b.p[3] = 2;				/* version */
	assert_int_equal(v1_req_parse(b.p, b.len, &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "version"));
	b.p[3] = 1;
	b.p[4] = 3;				/* action */
	assert_int_equal(v1_req_parse(b.p, b.len, &r, why, sizeof(why)), -1);
	buf_reset(&b);
	keepalive_req(&r);
	memset(big, 'a', sizeof(big));
	r.f3 = big;
	r.f3_len = sizeof(big);
	assert_int_equal(v1_req_encode(&r, &b), 0);
	assert_int_equal(v1_req_parse(b.p, b.len, &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "limit"));
	buf_free(&b);
}

static void
test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(v1_time_parse((const uint8_t *)"120507092026.33", 15, &t), 0);
	assert_true(t == 1796454573);		/* 2026-12-05 07:09:33 UTC */
	assert_int_equal(v1_time_parse((const uint8_t *)"130507092026.33", 15, &t), -1);
	assert_int_equal(v1_time_parse((const uint8_t *)"12050709202633", 14, &t), -1);
	assert_int_equal(v1_time_parse((const uint8_t *)"1205070920$6.33", 15, &t), -1);
	assert_int_equal(v1_time_parse((const uint8_t *)"`rm -rf /`.0000", 15, &t), -1);
}

static void
test_pem_serial(void **state)
{
	/* SEQUENCE { SEQUENCE { [0] { INTEGER 2 }, INTEGER 00 81 02 } } */
	static const uint8_t der[] = { 0x30, 0x0c, 0x30, 0x0a, 0xa0, 0x03, 0x02,
	    0x01, 0x02, 0x02, 0x03, 0x00, 0x81, 0x02 };
	static const char pem[] = "junk\n-----BEGIN CERTIFICATE-----\n"
	    "MAwwCqADAgECAgMAgQI=\n-----END CERTIFICATE-----\n";
	const uint8_t *s;
	size_t n;
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(v1_pem_der((const uint8_t *)pem, strlen(pem), "CERTIFICATE", &b), 0);
	assert_int_equal(b.len, sizeof(der));
	assert_memory_equal(b.p, der, sizeof(der));
	assert_int_equal(v1_cert_serial(b.p, b.len, &s, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], 0x81);
	assert_int_equal(v1_cert_serial(b.p, b.len - 1, &s, &n), -1);
	assert_int_equal(v1_pem_der((const uint8_t *)pem, 20, "CERTIFICATE", &b), -1);
	buf_free(&b);
}

/* --- the listener, with the host stubbed -------------------------------- */

static int requests;
static uint8_t last_req[4096];
static size_t last_req_len;

static void
host_request(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	requests++;
	if (n <= sizeof(last_req)) {
		memcpy(last_req, p, n);
		last_req_len = n;
	}
}

static void
host_delivered(void *arg, uint64_t tag)
{
	(void)arg;
	(void)tag;
}

static void
test_listener(void **state)
{
	static struct cfg c;
	static const struct v1_host h = { host_request, host_delivered, NULL };
	static const uint8_t stx = V1_STX, ack = V1_ACK;
	struct v1 *v;
	struct buf *out;
	struct msg m;
	uint8_t csr[] = "-----BEGIN CERTIFICATE REQUEST-----";
	struct v1_req r;
	struct buf b, f;

	(void)state;
	memset(&c, 0, sizeof(c));
	strcpy(c.v1.roots[0], "demo-rsa");
	c.v1.nroots = 1;
	strcpy(c.v1.profiles[5], "server");
	c.v1.time_interval = 60;
	assert_non_null(v = v1_new(&c, &h));
	out = v1_out(v);
	/* a keepalive: ACK, ACK, then our STX; the frame after the peer's ACK */
	v1_input(v, &stx, 1, 1000);
	v1_input(v, keepalive_wire, sizeof(keepalive_wire), 1000);
	assert_int_equal(out->len, 3);
	assert_int_equal(out->p[0], V1_ACK);
	assert_int_equal(out->p[1], V1_ACK);
	assert_int_equal(out->p[2], V1_STX);
	buf_reset(out);
	v1_input(v, &ack, 1, 1001);
	assert_int_equal(out->len, sizeof(answer_wire));
	assert_memory_equal(out->p, answer_wire, sizeof(answer_wire));
	buf_reset(out);
	v1_input(v, &ack, 1, 1002);
	assert_int_equal(out->len, 0);
	assert_int_equal(requests, 0);		/* no time: no sample */

	/* a sign request becomes one SIGN with a content-derived id, twice */
	buf_init(&b);
	buf_init(&f);
	keepalive_req(&r);
	r.action = 1;
	r.system = 1;
	r.profile = 5;
	r.md = 8;
	r.days = 90;
	r.f1 = csr;
	r.f1_len = sizeof(csr) - 1;
	r.f3 = (const uint8_t *)"/CN=a.example.org";
	r.f3_len = 17;
	assert_int_equal(v1_req_encode(&r, &b), 0);
	assert_int_equal(v1_frame_encode(b.p, b.len, &f), 0);
	v1_input(v, &stx, 1, 2000);
	v1_input(v, f.p, f.len, 2000);
	assert_int_equal(requests, 1);
	assert_int_equal(msg_decode(last_req, last_req_len, &m), AL_OK);
	assert_int_equal(m.type, MSG_SIGN);
	assert_true(MSG_HAS(&m, T_SUBJECT) && MSG_HAS(&m, T_SAN));
	assert_int_equal(m.san.len, 0);
	assert_int_equal(m.days, 90);
	{
		uint8_t id1[AIRLOCK_REQID_LEN];

		memcpy(id1, m.reqid, sizeof(id1));
		v1_tick(v, 2000 + V1_JOB_MS);	/* abandoned: no answer came */
		v1_input(v, &stx, 1, 300000);
		v1_input(v, f.p, f.len, 300000);
		assert_int_equal(requests, 2);
		assert_int_equal(msg_decode(last_req, last_req_len, &m), AL_OK);
		assert_memory_equal(m.reqid, id1, sizeof(id1));
	}
	/* md5: refused in linkd, nothing reaches the normal path */
	buf_reset(&b);
	buf_reset(&f);
	r.md = 1;
	assert_int_equal(v1_req_encode(&r, &b), 0);
	assert_int_equal(v1_frame_encode(b.p, b.len, &f), 0);
	buf_reset(out);
	v1_input(v, &stx, 1, 400000);
	v1_input(v, f.p, f.len, 400000);
	assert_int_equal(requests, 2);
	assert_int_equal(out->p[out->len - 1], V1_STX);	/* the empty answer */
	buf_free(&b);
	buf_free(&f);
	v1_free(v);
}

/* v1_xdelta's patches, applied by the xdelta 1.x program (an independent
 * implementation): each must give the new bytes exactly. */
static void
test_xdelta(void **state)
{
	static uint8_t a[300000], b[300000];
	struct { size_t alen, blen; int kind; } cases[] = {
		{ 1000, 1000, 0 },	/* identical */
		{ 5000, 5000, 1 },	/* a few bytes changed */
		{ 5000, 7000, 2 },	/* appended */
		{ 3000, 3000, 3 },	/* nothing in common */
		{ 100, 10, 3 },		/* shorter than a block */
		{ 290000, 299000, 4 },	/* a CRL's shape: start, middle, end change */
	};
	char dir[] = "/tmp/test_v1xd.XXXXXX", path[3][128], cmd[512];
	struct buf p, got;
	uint32_t seed = 7;
	size_t i, k;
	FILE *f;

	(void)state;
	if (system("command -v xdelta >/dev/null 2>&1") != 0) {
		print_message("skipped: no xdelta program\n");
		return;
	}
	assert_non_null(mkdtemp(dir));
	buf_init(&p);
	buf_init(&got);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k < sizeof(a); k++) {
			seed = seed * 1103515245u + 12345u;
			a[k] = (uint8_t)(seed >> 16);
		}
		memcpy(b, a, sizeof(b));
		if (cases[i].kind == 1)
			for (k = 7; k < cases[i].blen; k += 997)
				b[k] ^= 0x5a;
		if (cases[i].kind == 3)
			for (k = 0; k < cases[i].blen; k++)
				b[k] = (uint8_t)~a[k];
		if (cases[i].kind == 4) {
			memmove(b + 150000 + 9000, a + 150000, 140000);
			for (k = 150000; k < 159000; k++)
				b[k] = (uint8_t)(k * 7);
			b[100] ^= 1;
			memset(b + cases[i].blen - 300, 0x33, 300);
		}
		assert_int_equal(v1_xdelta(a, cases[i].alen, b, cases[i].blen, &p), 0);
		if (cases[i].kind == 0 || cases[i].kind == 1)
			assert_true(p.len < cases[i].blen / 4);
		snprintf(path[0], sizeof(path[0]), "%s/old", dir);
		snprintf(path[1], sizeof(path[1]), "%s/patch", dir);
		snprintf(path[2], sizeof(path[2]), "%s/new", dir);
		assert_int_equal(write_file_atomic(path[0], a, cases[i].alen, 0600), 0);
		assert_int_equal(write_file_atomic(path[1], p.p, p.len, 0600), 0);
		unlink(path[2]);
		snprintf(cmd, sizeof(cmd), "xdelta patch %s %s %s", path[1], path[0], path[2]);
		assert_int_equal(system(cmd), 0);
		assert_non_null(f = fopen(path[2], "rb"));
		fclose(f);
		assert_int_equal(read_file(path[2], &got, sizeof(b) + 1), 0);
		assert_int_equal(got.len, cases[i].blen);
		assert_memory_equal(got.p, b, cases[i].blen);
		/* the wrong old file: xdelta refuses a result that does not
		 * check out (a byte the patch copies, so the output changes) */
		if (cases[i].kind == 3)
			continue;
		a[cases[i].alen / 2] ^= 1;
		assert_int_equal(write_file_atomic(path[0], a, cases[i].alen, 0600), 0);
		snprintf(cmd, sizeof(cmd), "xdelta patch %s %s %s 2>/dev/null",
		    path[1], path[0], path[2]);
		assert_int_not_equal(system(cmd), 0);
	}
	for (k = 0; k < 3; k++)
		unlink(path[k]);
	rmdir(dir);
	buf_free(&p);
	buf_free(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat),
		cmocka_unit_test(test_good_after_garbage),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_oversize_and_naks),
		cmocka_unit_test(test_req_parse),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_pem_serial),
		cmocka_unit_test(test_listener),
		cmocka_unit_test(test_xdelta),
	};

	log_init("test_v1frame", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
