/*
 * fuzz_v1frame.c: libFuzzer target for the CommModule v1 codec
 * (src/link/v1frame.c).
 *
 * The first input byte says how the rest is cut into pieces (0: whole; k:
 * pieces of 1..k bytes from a generator seeded with k) and whether the
 * line goes quiet after each piece (its top bit). Each check abort()s when
 * it fails:
 *  - a push uses no more than it was given, and some byte when it
 *    reports an event; the gathered bytes stay inside the buffer;
 *  - a frame reported good re-encodes, with v1_frame_encode, to exactly
 *    the wire bytes it came from (length, body, XOR, trailer);
 *  - a body the request parser accepts encodes back to the same bytes;
 *  - no more than V1_MAX_NAKS NAKs in a row without an STX between them.
 * The input is also given to the time, PEM and serial helpers, and to a
 * whole v1 listener (src/linkd/v1.c) with a stubbed linkd: everything it
 * puts on linkd's path must be a message that decodes, and an OpenPGP
 * request is answered with PGP_CERTIFIED holding the input's last bytes,
 * so the merge of signatures into the key is fuzzed too. Memory errors
 * are ASan's to find.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "v1.h"
#include "v1_int.h"
#include "v1frame.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct v1_dec dec;

static void
check_frame(void)
{
	struct v1_req r;
	struct buf b;
	char why[128];

	buf_init(&b);
	if (v1_frame_encode(dec.body, dec.len, &b) == -1 || b.len != dec.len + 12 ||
	    memcmp(b.p, dec.buf, b.len) != 0)
		abort();
	buf_reset(&b);
	if (v1_req_parse(dec.body, dec.len, &r, why, sizeof(why)) == 0 &&
	    (v1_req_encode(&r, &b) == -1 || b.len != dec.len ||
	    memcmp(b.p, dec.body, b.len) != 0))
		abort();
	buf_free(&b);
}

static void
helpers(const uint8_t *p, size_t n)
{
	const uint8_t *s;
	struct buf b;
	size_t sl;
	int64_t t;

	(void)v1_time_parse(p, n, &t);
	buf_init(&b);
	if (v1_pem_der(p, n, "CERTIFICATE", &b) == 0 &&
	    v1_cert_serial(b.p, b.len, &s, &sl) == 0 &&
	    (s < b.p || s + sl > b.p + b.len || sl == 0))
		abort();
	(void)v1_cert_serial(p, n, &s, &sl);
	buf_free(&b);
}

static const uint8_t *tail;
static size_t tail_len;
static struct v1 *lis;

/* linkd's side: the request must decode; OpenPGP gets an answer at once. */
static void
host_request(void *arg, const uint8_t *p, size_t n)
{
	struct msg m, a;
	struct buf b;

	(void)arg;
	if (msg_decode(p, n, &m) != AL_OK || !msg_is_request(m.type))
		abort();
	if (m.type != MSG_PGP_CERTIFY || tail_len == 0)
		return;
	memset(&a, 0, sizeof(a));
	a.type = MSG_PGP_CERTIFIED;
	memcpy(a.reqid, m.reqid, sizeof(a.reqid));
	a.root = m.root;
	a.pgp_sigs.p = tail;
	a.pgp_sigs.len = tail_len > 4096 ? 4096 : tail_len;
	MSG_SET(&a, T_ROOT);
	MSG_SET(&a, T_PGP_SIGS);
	buf_init(&b);
	if (msg_encode(&a, &b) == 0)
		v1_answer(lis, b.p, b.len, -1, 0);
	buf_free(&b);
}

static void
host_delivered(void *arg, uint64_t tag)
{
	(void)arg;
	(void)tag;
}

static void
listener(const uint8_t *p, size_t n)
{
	static struct cfg c;
	static const struct v1_host h = { host_request, host_delivered, NULL };
	uint8_t stx = V1_STX;

	if (c.v1.nroots == 0) {
		log_init("fuzz_v1frame", 0, 0);
		strcpy(c.v1.roots[0], "demo-rsa");
		c.v1.nroots = 1;
		strcpy(c.v1.profiles[0], "client");
		strcpy(c.v1.profiles[5], "server");
		strcpy(c.v1.pgp_root, "demo-pgp");
		strcpy(c.v1.pgp_profile, "openpgp");
		c.v1.time_interval = 1;
	}
	if ((lis = v1_new(&c, &h)) == NULL)
		return;
	tail = p + n / 2;
	tail_len = n - n / 2;
	v1_input(lis, &stx, 1, 1);
	v1_input(lis, p, n, 2);
	v1_tick(lis, 5000);
	v1_input(lis, p, n / 2, 6000);
	v1_tick(lis, 500000);
	v1_free(lis);
	lis = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 1, step, used, left;
	unsigned seed, k;
	int ev, naks = 0, quiet;

	if (size < 1)
		return 0;
	k = data[0] & 0x7f;
	quiet = data[0] & 0x80;
	seed = k;
	v1_dec_init(&dec);
	while (off < size) {
		step = size - off;
		if (k > 0) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 16) % k;
			if (step > size - off)
				step = size - off;
		}
		left = step;
		while (left > 0) {
			ev = v1_dec_push(&dec, data + off, left, &used);
			if (used > left || (ev != V1_EV_NONE && used == 0) ||
			    dec.n > sizeof(dec.buf))
				abort();
			off += used;
			left -= used;
			if (ev == V1_EV_STX)
				naks = 0;
			else if (ev == V1_EV_NAK && ++naks > V1_MAX_NAKS)
				abort();
			else if (ev == V1_EV_FRAME)
				check_frame();
		}
		if (quiet && v1_dec_quiet(&dec) == V1_EV_NAK && ++naks > V1_MAX_NAKS)
			abort();
	}
	helpers(data + 1, size - 1);
	listener(data + 1, size - 1);
	return 0;
}
