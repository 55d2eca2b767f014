/*
 * test_link_piece.c: link revision 3 (src/link/link_piece.c): a frame
 * retransmitted after the frame size shrank goes out as PIECE frames of the
 * new size, and the receiver puts the pieces together exactly once, in
 * order, whatever the cut and however the pieces are lost, repeated or
 * shuffled; revision 1 and 2 peers keep the old rule (a frame goes again
 * whole).
 *
 * Two struct link in one process over a line of baud/10 bytes a second
 * that can be cut or flip bits; a sniffer decodes what each side sends.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "frame.h"
#include "link.h"
#include "link_int.h"
#include "util.h"

#define BAUD		115200
#define BIG_LEN		7996	/* with its length prefix: one 8000-byte frame */
#define MSG_LEN		BIG_LEN

struct end {
	struct link	*l;
	struct link_params p;
	uint32_t	 rx, sent, delivered;	/* messages */
	double		 credit;
	struct frame_decoder sniff;
	uint32_t	 data_big;	/* DATA frames longer than big_from */
	uint32_t	 pieces, piece_max;	/* PIECE frames and their largest payload */
};

static uint32_t big_from = FRAME_MAX_PAYLOAD;	/* count DATA longer than this */

static size_t
gen(uint32_t i, uint8_t *m)
{
	size_t k;

	put_be32(m, i);
	for (k = 4; k < BIG_LEN; k++)
		m[k] = (uint8_t)(i * 13 + k * 7 + (k >> 8));
	return BIG_LEN;
}

static void sniff(struct end *, const uint8_t *, size_t);
#define LINKLINE_SEED	777ull
#include "linkline.h"

static const struct link_cb cbs = { NULL, NULL, cb_message, cb_delivered };

static void
end_start(struct end *e, int role, int rev)
{
	memset(e, 0, sizeof(*e));
	link_params_default(&e->p, BAUD);
	e->p.revision = rev;
	e->p.max_payload = FRAME_MAX_PAYLOAD;
	e->p.window = 8;
	e->l = link_new(role, key, &e->p, &cbs, e);
	assert_non_null(e->l);
	frame_decoder_init(&e->sniff);
}

static void
world(int rev_a, int rev_b)
{
	size_t i;

	if (A.l != NULL)
		link_free(A.l);
	if (B.l != NULL)
		link_free(B.l);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd();
	end_start(&A, LINK_INITIATOR, rev_a);
	end_start(&B, LINK_RESPONDER, rev_b);
	now = 1000;
	cut = 0;
	ber = 0;
	big_from = FRAME_MAX_PAYLOAD;
}

static void
sniff(struct end *e, const uint8_t *p, size_t n)
{
	struct frame f;
	size_t used;

	while (n > 0) {
		if (!frame_decoder_push(&e->sniff, p, n, &used, &f))
			break;
		if (f.h.type == FRAME_DATA && f.h.len > big_from)
			e->data_big++;
		if (f.h.type == FRAME_PIECE) {
			e->pieces++;
			if (f.h.len > e->piece_max)
				e->piece_max = f.h.len;
		}
		p += used;
		n -= used;
	}
}

/*
 * One 8000-byte frame is lost to a short pull; meanwhile the frame size
 * has come down to 1024 (a line that turned noisy). Revision 3 sends it
 * again as eight PIECEs of at most 1024 bytes; revisions 1 and 2 (either
 * side) send it whole, as before.
 */
static void
recut(int rev_a, int rev_b, int want_pieces)
{
	world(rev_a, rev_b);
	run_until_ready(3000);
	assert_int_equal(A.l->rev, rev_a < rev_b ? rev_a : rev_b);
	A.l->seg_size = FRAME_MAX_PAYLOAD;
	big_from = 1024 + LINK_PIECE_HDR;
	cut = 1;
	send_msgs(&A, 1);
	run_ms(100);			/* the frame leaves, into the void */
	assert_int_equal(A.l->snd_nxt, 1);
	A.l->seg_size = 1024;		/* the frame size shrank */
	run_ms(1000);
	cut = 0;
	while (A.delivered < 1 && now < 60000)
		run_ms(1);
	assert_int_equal(A.delivered, 1);
	assert_int_equal(B.rx, 1);
	assert_true(A.l->st.retransmits >= 1);
	if (want_pieces) {
		assert_true(A.pieces >= 8);
		assert_int_equal(A.piece_max, 1024 + LINK_PIECE_HDR);
		assert_int_equal(A.data_big, 1);	/* only the first copy was whole */
		assert_int_equal(A.l->st.pieces_out, A.pieces);
		assert_true(B.l->st.pieces_in >= 8);
		assert_int_equal(A.l->snd_nxt, 1);	/* one sequence number */
	} else {
		assert_int_equal(A.pieces, 0);
		assert_true(A.data_big >= 2);		/* the old rule: whole again */
	}
	assert_int_equal(A.l->st.protocol_errors + B.l->st.protocol_errors, 0);
}

static void
test_recut_rev3(void **state)
{
	(void)state;
	recut(3, 3, 1);
}

static void
test_recut_mixed(void **state)
{
	(void)state;
	recut(3, 2, 0);
	recut(2, 3, 0);
	recut(3, 1, 0);
	recut(1, 3, 0);
}

/* Karn's rule holds for a frame that went again in pieces. */
static void
test_recut_karn(void **state)
{
	(void)state;
	recut(3, 3, 1);
	assert_int_equal(A.l->srtt_ms, 0);
}

/* One frame: emitted by A (MAC, session), captured as wire bytes. */
struct wire {
	uint8_t	 b[FRAME_MAX_WIRE];
	size_t	 n;
	uint32_t seq;
	uint16_t off, len;
};

static void
emit_piece(struct wire *w, uint32_t seq, const uint8_t *frame, uint16_t total,
    uint16_t off, uint16_t n)
{
	uint8_t p[FRAME_MAX_PAYLOAD];

	put_be16(p, off);
	put_be16(p + 2, total);
	memcpy(p + LINK_PIECE_HDR, frame + off, n);
	buf_reset(&A.l->out);
	link_emit(A.l, FRAME_PIECE, seq, p, (size_t)n + LINK_PIECE_HDR, now);
	assert_true(A.l->out.len <= sizeof(w->b));
	memcpy(w->b, A.l->out.p, A.l->out.len);
	w->n = A.l->out.len;
	w->seq = seq;
	w->off = off;
	w->len = n;
	buf_reset(&A.l->out);
}

/* Frame i of the stream: message i with its length prefix. */
static uint16_t
frame_of(uint32_t i, uint8_t *f)
{
	put_be32(f, BIG_LEN);
	gen(i, f + 4);
	return BIG_LEN + 4;
}

/*
 * The receiver, fed the pieces of two frames cut three ways (1000, 700
 * and 2500 bytes, overlapping), shuffled, some twice, some lost in the
 * first round: it delivers both messages once, in order, and only when
 * every byte of a frame is there.
 */
static void
test_reassembly(void **state)
{
	static struct wire w[64];
	static const uint16_t cuts[] = { 1000, 700, 2500 };
	uint8_t fr[2][FRAME_MAX_PAYLOAD];
	uint16_t total[2];
	size_t nw = 0, i, j, round;
	uint32_t s;

	(void)state;
	world(3, 3);
	run_until_ready(3000);
	for (s = 0; s < 2; s++)
		total[s] = frame_of(s, fr[s]);
	/* frame 1's pieces first: it must wait for frame 0 */
	for (s = 2; s-- > 0;)
		for (i = 0; i < 3; i++) {
			uint16_t off;

			for (off = 0; off < total[s]; off = (uint16_t)(off + cuts[i])) {
				uint16_t n = (uint16_t)(total[s] - off < cuts[i] ?
				    total[s] - off : cuts[i]);

				assert_true(nw < 64);
				emit_piece(&w[nw++], s, fr[s], total[s], off, n);
			}
		}
	for (round = 0; round < 3; round++) {
		/* shuffle, then feed: round 0 drops every piece of frame 0
		 * that holds its byte 1500, round 1 feeds each piece twice,
		 * round 2 all of them again */
		for (i = nw - 1; i > 0; i--) {
			struct wire t;

			j = rnd() % (i + 1);
			t = w[i];
			w[i] = w[j];
			w[j] = t;
		}
		for (i = 0; i < nw; i++) {
			if (round == 0 && w[i].seq == 0 && w[i].off <= 1500 &&
			    w[i].off + w[i].len > 1500)
				continue;
			link_input(B.l, w[i].b, w[i].n, now);
			if (round == 1)
				link_input(B.l, w[i].b, w[i].n, now);
			assert_true(B.rx <= 2);
		}
		if (round == 0) {
			/* frame 1 may be whole, but waits for frame 0 */
			assert_int_equal(B.rx, 0);
			assert_int_equal(B.l->rcv_nxt, 0);
		}
	}
	assert_int_equal(B.rx, 2);
	assert_int_equal(B.l->rcv_nxt, 2);
	assert_int_equal(B.l->rcv_off, (uint64_t)total[0] + total[1]);
	assert_true(B.l->st.dup > 0);
	assert_int_equal(B.l->st.protocol_errors, 0);
}

/* Pieces that contradict each other or their frame are dropped, counted. */
static void
test_bad_pieces(void **state)
{
	struct wire w;
	uint8_t fr[FRAME_MAX_PAYLOAD], p[8];
	uint16_t total;

	(void)state;
	world(3, 3);
	run_until_ready(3000);
	total = frame_of(0, fr);
	emit_piece(&w, 0, fr, total, 0, 1000);
	link_input(B.l, w.b, w.n, now);
	emit_piece(&w, 0, fr, (uint16_t)(total - 1), 1000, 1000);	/* other length */
	link_input(B.l, w.b, w.n, now);
	assert_int_equal(B.l->st.protocol_errors, 1);
	/* running past its frame's end */
	put_be16(p, 10);
	put_be16(p + 2, 12);
	memset(p + 4, 1, 4);
	buf_reset(&A.l->out);
	link_emit(A.l, FRAME_PIECE, 1, p, 8, now);
	link_input(B.l, A.l->out.p, A.l->out.len, now);
	buf_reset(&A.l->out);
	assert_int_equal(B.l->st.protocol_errors, 2);
	/* a header alone */
	link_emit(A.l, FRAME_PIECE, 1, p, LINK_PIECE_HDR, now);
	link_input(B.l, A.l->out.p, A.l->out.len, now);
	buf_reset(&A.l->out);
	assert_int_equal(B.l->st.protocol_errors, 3);
	assert_int_equal(B.l->state, LINK_UP);		/* the session goes on */
	assert_int_equal(B.rx, 0);
	/* the rest of frame 0, in the right length: delivered */
	emit_piece(&w, 0, fr, total, 1000, (uint16_t)(total - 1000));
	link_input(B.l, w.b, w.n, now);
	assert_int_equal(B.rx, 1);
}

/* A revision 2 session does not take PIECEs: the peer never meant them. */
static void
test_piece_in_rev2(void **state)
{
	struct wire w;
	uint8_t fr[FRAME_MAX_PAYLOAD];
	uint16_t total;

	(void)state;
	world(2, 3);
	run_until_ready(3000);
	assert_int_equal(B.l->rev, 2);
	total = frame_of(0, fr);
	emit_piece(&w, 0, fr, total, 0, total);
	link_input(B.l, w.b, w.n, now);
	assert_int_equal(B.rx, 0);
	assert_int_equal(B.l->rcv_nxt, 0);
	assert_int_equal(B.l->st.pieces_in, 0);
}

/*
 * Noise on a line whose frames start large: every message arrives once,
 * in order, and frames lost at the old size went again in pieces.
 */
static void
test_noise_recut(void **state)
{
	(void)state;
	world(3, 3);
	run_until_ready(3000);
	A.l->seg_size = FRAME_MAX_PAYLOAD;
	ber = 3e-5;
	send_msgs(&A, 30);
	while (A.delivered < 30 && now < 900000)
		run_ms(10);
	assert_int_equal(A.delivered, 30);
	assert_int_equal(B.rx, 30);
	assert_true(A.l->seg_size < FRAME_MAX_PAYLOAD);
	assert_true(A.l->st.pieces_out > 0);
	printf("noise: %llu retransmits, %llu pieces, frame size %d\n",
	    (unsigned long long)A.l->st.retransmits,
	    (unsigned long long)A.l->st.pieces_out, A.l->seg_size);
}

static int
teardown(void **state)
{
	(void)state;
	link_free(A.l);
	link_free(B.l);
	A.l = B.l = NULL;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recut_rev3),
		cmocka_unit_test(test_recut_mixed),
		cmocka_unit_test(test_recut_karn),
		cmocka_unit_test(test_reassembly),
		cmocka_unit_test(test_bad_pieces),
		cmocka_unit_test(test_piece_in_rev2),
		cmocka_unit_test(test_noise_recut),
	};

	log_init("test_link_piece", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
