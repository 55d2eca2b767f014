/*
 * fuzz_msg.c: libFuzzer target for the message codec. Any input must decode
 * or be refused without a crash; whatever decodes must survive
 * encode -> decode unchanged, field by field, and encode to the same bytes
 * every time (the encoding is canonical). A SERIALS_LIST that decodes must
 * walk to its end in serials of 1..20 bytes without a leading zero. A
 * mismatch aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "airlock.h"
#include "msg.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_bytes_same(const struct msg_bytes *a, const struct msg_bytes *b)
{
	if (a->len != b->len)
		abort();
	if (a->len > 0 && memcmp(a->p, b->p, a->len) != 0)
		abort();
}

static void
fuzz_msg_same(const struct msg *a, const struct msg *b)
{
	if (a->type != b->type || a->present != b->present ||
	    memcmp(a->reqid, b->reqid, sizeof(a->reqid)) != 0)
		abort();
	fuzz_bytes_same(&a->root, &b->root);
	fuzz_bytes_same(&a->profile, &b->profile);
	fuzz_bytes_same(&a->csr, &b->csr);
	fuzz_bytes_same(&a->serial, &b->serial);
	fuzz_bytes_same(&a->crl_number, &b->crl_number);
	fuzz_bytes_same(&a->cert, &b->cert);
	fuzz_bytes_same(&a->chain, &b->chain);
	fuzz_bytes_same(&a->crl, &b->crl);
	fuzz_bytes_same(&a->text, &b->text);
	fuzz_bytes_same(&a->crl_sig, &b->crl_sig);
	fuzz_bytes_same(&a->delta_crl, &b->delta_crl);
	fuzz_bytes_same(&a->time_prev, &b->time_prev);
	fuzz_bytes_same(&a->audit_head, &b->audit_head);
	fuzz_bytes_same(&a->audit_recs, &b->audit_recs);
	fuzz_bytes_same(&a->audit_sig, &b->audit_sig);
	fuzz_bytes_same(&a->catchup_items, &b->catchup_items);
	fuzz_bytes_same(&a->serials_list, &b->serials_list);
	if (a->serials_after != b->serials_after || a->serials_max != b->serials_max ||
	    a->serials_last != b->serials_last || a->serials_end != b->serials_end)
		abort();
	if (a->audit_after != b->audit_after || a->audit_max != b->audit_max ||
	    a->audit_check != b->audit_check || a->catchup_end != b->catchup_end ||
	    a->catchup_phase != b->catchup_phase)
		abort();
	if (a->days != b->days || a->csr_format != b->csr_format ||
	    a->reason != b->reason || a->sync != b->sync ||
	    a->crl_kind != b->crl_kind || a->code != b->code ||
	    a->invalidity != b->invalidity || a->time_ns != b->time_ns ||
	    a->time2_ns != b->time2_ns || a->rtt_ns != b->rtt_ns)
		abort();
}

static void
fuzz_serials_walk(const struct msg *m)
{
	const uint8_t *p;
	size_t off = 0, n, used = 0;

	while (msg_serials_next(&m->serials_list, &off, &p, &n) == 1) {
		if (n == 0 || n > MSG_SERIAL_MAX || p[0] == 0)
			abort();
		used += 1 + n;
	}
	if (used != m->serials_list.len || off != used)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m1, m2;
	struct buf b1, b2;

	if (msg_decode(data, size, &m1) != AL_OK)
		return 0;
	fuzz_serials_walk(&m1);
	buf_init(&b1);
	buf_init(&b2);
	if (msg_encode(&m1, &b1) == -1)
		abort();
	/* the canonical form is never longer than the input */
	if (b1.len > size)
		abort();
	if (msg_decode(b1.p, b1.len, &m2) != AL_OK)
		abort();
	fuzz_msg_same(&m1, &m2);
	if (msg_encode(&m2, &b2) == -1)
		abort();
	if (b1.len != b2.len || memcmp(b1.p, b2.p, b1.len) != 0)
		abort();
	buf_free(&b1);
	buf_free(&b2);
	return 0;
}
