/*
 * test_link_resume.c: link revision 2 (src/link/link_stream.c) and the way
 * the link tells an outage from noise (src/link/link.c), between two
 * struct link in one process.
 *
 * The line is simple on purpose: each direction carries baud/10 bytes a
 * second, with no delay beyond that; it can be cut (every byte in either
 * direction lost, as linksim's cable pull) and can flip bits at a given
 * error rate. A sniffer decodes each frame as it leaves a sender, to see
 * DATA payload sizes and RESUMEs. Messages are numbered: a receiver checks
 * that each arrives exactly once, in order and intact, and a sender that
 * each tag comes back once, in order.
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
#define MSG_LEN		3000
#define NMSG_MAX	200

struct end {
	struct link	*l;
	struct link_params p;
	int		 role;
	uint32_t	 rx, sent, delivered;	/* messages */
	int		 ups, downs, last_resumed;
	double		 credit;		/* line bytes it may send now */
	struct frame_decoder sniff;		/* what it sends, decoded */
	uint32_t	 data_frames, data_max, resumes_sent, data_after;
	int		 count_after;		/* count DATA frames from now on */
};


static size_t
gen(uint32_t i, uint8_t *m)
{
	size_t k;

	put_be32(m, i);
	for (k = 4; k < MSG_LEN; k++)
		m[k] = (uint8_t)(i * 7 + k);
	return MSG_LEN;
}

static void sniff(struct end *, const uint8_t *, size_t);
#define LINKLINE_SEED	12345ull
#include "linkline.h"

static void
cb_up(void *arg)
{
	struct end *e = arg;

	e->ups++;
	e->last_resumed = e->l->resumed;
}

static void
cb_down(void *arg)
{
	((struct end *)arg)->downs++;
}

static const struct link_cb cbs = { cb_up, cb_down, cb_message, cb_delivered };

static void
end_start(struct end *e, int role, int rev, int max_payload)
{
	memset(e, 0, sizeof(*e));
	e->role = role;
	link_params_default(&e->p, BAUD);
	e->p.revision = rev;
	e->p.max_payload = max_payload;
	e->l = link_new(role, key, &e->p, &cbs, e);
	assert_non_null(e->l);
	frame_decoder_init(&e->sniff);
}

static void
world(int rev_a, int rev_b, int max_payload)
{
	size_t i;

	if (A.l != NULL)
		link_free(A.l);
	if (B.l != NULL)
		link_free(B.l);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd();
	end_start(&A, LINK_INITIATOR, rev_a, max_payload);
	end_start(&B, LINK_RESPONDER, rev_b, max_payload);
	now = 1000;
	cut = 0;
	ber = 0;
}

static void
sniff(struct end *e, const uint8_t *p, size_t n)
{
	struct frame f;
	size_t used;

	while (n > 0) {
		if (!frame_decoder_push(&e->sniff, p, n, &used, &f))
			break;
		if (f.h.type == FRAME_DATA && f.h.len > 0) {
			e->data_frames++;
			/* the first frames after count_after was set (the
			 * frame size may grow again after a few) */
			if (e->count_after && e->data_after++ < 4 && f.h.len > e->data_max)
				e->data_max = f.h.len;
		}
		if (f.h.type == FRAME_ACK && f.h.len == LINK_RESUME_LEN)
			e->resumes_sent++;
		p += used;
		n -= used;
	}
}

static void
run_until_done(uint32_t n, uint64_t ms)
{
	uint64_t end = now + ms;

	while (now < end && !(B.rx == n && A.rx == n && A.delivered == n && B.delivered == n))
		run_ms(10);
	assert_int_equal(B.rx, n);
	assert_int_equal(A.rx, n);
	assert_int_equal(A.delivered, n);
	assert_int_equal(B.delivered, n);
}

/* --- the pure parts --- */

static void
test_resume_codec(void **state)
{
	struct link_resume r = { LINK_RESUME_SEEN, 0x0102030405060708ull, 2, 3,
	    0x1112131415161718ull, 5 }, back;
	static const uint8_t want[LINK_RESUME_LEN] = { 0x01,
	    1, 2, 3, 4, 5, 6, 7, 8,  0, 0, 0, 0, 0, 0, 0, 2,  0, 0, 0, 0, 0, 0, 0, 3,
	    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  0, 0, 0, 0, 0, 0, 0, 5 };
	uint8_t p[LINK_RESUME_LEN];

	(void)state;
	link_resume_pack(&r, p);
	assert_memory_equal(p, want, sizeof(want));
	link_resume_unpack(p, &back);
	assert_memory_equal(&back.tx_id, &r.tx_id, sizeof(r.tx_id));
	assert_int_equal(back.flags, r.flags);
	assert_int_equal(back.tx_base, 2);
	assert_int_equal(back.tx_hw, 3);
	assert_int_equal(back.rx_id, r.rx_id);
	assert_int_equal(back.rx_off, 5);
}

/*
 * docs/protocol.md 12.3: the stream ids of a session that starts anew,
 * from its session key, and the RESUME that answers one.
 */
static void
test_stream_ids_vector(void **state)
{
	static const uint8_t skey[HMAC_LEN] = {
	    0x6d, 0x23, 0x4d, 0x1d, 0xda, 0xea, 0xdc, 0x65, 0x8e, 0xf2, 0x4f, 0x44,
	    0xa4, 0x02, 0x23, 0x61, 0x8e, 0x3f, 0x15, 0xe0, 0x64, 0x9e, 0xdb, 0xaf,
	    0xac, 0x89, 0xad, 0x18, 0x6a, 0x93, 0x43, 0xed };
	uint8_t none[LINK_RESUME_LEN] = { 0 };
	struct frame f;
	size_t used;

	(void)state;
	world(2, 2, 1024);
	memcpy(A.l->skey, skey, sizeof(skey));
	A.l->session = 0xfd9c8793;
	A.l->state = LINK_UP;
	A.l->rev = 2;
	link_resume_begin(A.l, now);		/* A holds nothing: all zero */
	link_on_resume(A.l, none, now);		/* nor does B: anew */
	assert_int_equal(A.last_resumed, 0);
	assert_int_equal(A.ups, 1);
	assert_true(A.l->tx_id == 0x362cf83fc4bb66f3ull);
	assert_true(A.l->rx_id == 0x9749a90b5a3c7247ull);
	/* A's first RESUME, then its answer to B's (SEEN, REPLY) */
	assert_true(frame_decoder_push(&A.sniff, A.l->out.p, A.l->out.len, &used, &f));
	assert_int_equal(f.h.type, FRAME_ACK);
	assert_int_equal(f.h.len, LINK_RESUME_LEN);
	assert_int_equal(f.payload[0], 0);
	assert_true(frame_decoder_push(&A.sniff, A.l->out.p + used, A.l->out.len - used,
	    &used, &f));
	assert_int_equal(f.h.len, LINK_RESUME_LEN);
	assert_int_equal(f.payload[0], LINK_RESUME_SEEN | LINK_RESUME_REPLY);
}

/* A stream continues only with the same id, from a byte its sender holds. */
static void
test_resume_rule(void **state)
{
	static const struct {
		uint64_t tx_id, tx_base, tx_hw, rx_id, rx_off;
		int	 want;
	} t[] = {
		{ 7, 100, 200, 7, 150, 1 },
		{ 7, 100, 200, 7, 100, 1 },	/* nothing got through: from the base */
		{ 7, 100, 200, 7, 200, 1 },	/* everything got through */
		{ 7, 100, 200, 9, 150, 0 },	/* the peer holds another stream */
		{ 7, 100, 200, 0, 0, 0 },	/* the peer holds none (restarted) */
		{ 0, 0, 0, 0, 0, 0 },		/* nothing to continue */
		{ 7, 100, 200, 7, 99, 0 },	/* the sender no longer has byte 99 */
		{ 7, 100, 200, 7, 201, 0 },	/* the peer claims more than was sent */
	};
	struct link_resume from, to;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&from, 0, sizeof(from));
		memset(&to, 0, sizeof(to));
		from.tx_id = t[i].tx_id;
		from.tx_base = t[i].tx_base;
		from.tx_hw = t[i].tx_hw;
		to.rx_id = t[i].rx_id;
		to.rx_off = t[i].rx_off;
		if (link_resume_continues(&from, &to) != t[i].want)
			fail_msg("case %zu", i);
	}
}

/* The periodic line gives each window's figures, garbage bytes included. */
static void
test_report_per_window(void **state)
{
	char line[600], stats[2048];
	static const uint8_t junk[] = { 5, 1, 2, 3, 4, 0 };	/* a runt */

	(void)state;
	world(2, 2, 1024);
	assert_int_equal(link_report_line(A.l, line, sizeof(line)), 0);
	link_input(A.l, junk, sizeof(junk), now);
	link_input(A.l, junk, sizeof(junk), now);
	assert_true(link_report_line(A.l, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "2 short, cut or bad header"));
	assert_non_null(strstr(line, "(10 garbage bytes)"));
	link_input(A.l, junk, sizeof(junk), now);
	assert_true(link_report_line(A.l, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "1 short, cut or bad header"));
	assert_non_null(strstr(line, "(5 garbage bytes)"));	/* not 15 */
	assert_int_equal(link_report_line(A.l, line, sizeof(line)), 0);
	A.l->st.out_of_window = 3;
	assert_true(link_report_line(A.l, line, sizeof(line)) > 0);
	assert_non_null(strstr(line, "3 out of window"));
	link_stats_line(A.l, stats, sizeof(stats));
	assert_non_null(strstr(stats, " out_of_window=3 "));
	assert_non_null(strstr(stats, " stale_acks=0 "));
}

/*
 * A cable pulled mid-frame leaves that frame's head in the receiver; the
 * first frame after the pause must not be glued to it (it would be lost,
 * and after an outage that is the HELLO_ACK or the first probe).
 */
static void
test_cut_frame(void **state)
{
	static const uint8_t head[] = { 0x03, 0x01, 0x03, 0x06, 0x45, 0xfd, 0x9c };
	uint8_t hello[128];
	size_t n;

	(void)state;
	world(2, 2, 1024);
	link_pump(A.l, now);			/* A's HELLO */
	n = A.l->out.len;
	assert_true(n > 0 && n <= sizeof(hello));
	memcpy(hello, A.l->out.p, n);
	link_input(B.l, head, sizeof(head), now);
	link_input(B.l, hello, n, now + 10);	/* glued: lost, as always */
	assert_int_equal(B.l->state, LINK_DOWN);
	link_input(B.l, head, sizeof(head), now + 20);
	link_input(B.l, hello, n, now + 20 + 600);	/* after a pause: cut */
	assert_int_equal(B.l->state, LINK_UP);
	assert_int_equal(B.l->dec.st.cut, 1);
}

/* --- outages within a session --- */

/*
 * The cable is out for 1.5 s in the middle of a transfer: the session
 * survives, every message arrives once, and the losses are the outage's:
 * the frame size does not shrink and the error estimate does not move.
 */
static void
test_outage_in_session(void **state)
{
	int size;
	double lost;

	(void)state;
	world(2, 2, 4096);
	run_until_ready(2000);
	send_msgs(&A, 60);
	send_msgs(&B, 60);
	run_ms(4000);
	size = A.l->seg_size;
	lost = A.l->est_lost;
	assert_true(B.rx > 0 && B.rx < 60);
	cut = 1;
	run_ms(1500);
	cut = 0;
	run_until_done(60, 60000);
	assert_int_equal(A.ups + B.ups, 2);		/* one session throughout */
	assert_int_equal(A.downs + B.downs, 0);
	assert_true(A.l->st.outages >= 1 && B.l->st.outages >= 1);
	assert_true(A.l->st.outage_retx >= 1);
	assert_true(A.l->seg_size >= size);
	assert_true(A.l->est_lost <= lost);
	assert_int_equal(A.l->st.protocol_errors + B.l->st.protocol_errors, 0);
}

/* Bit errors, by contrast, are noise: the frames get smaller. */
static void
test_noise_shrinks(void **state)
{
	(void)state;
	world(2, 2, 4096);
	run_until_ready(2000);
	A.l->seg_size = 4096;
	ber = 1e-4;
	send_msgs(&A, 40);
	while (A.delivered < 40 && now < 600000)
		run_ms(10);
	assert_int_equal(B.rx, 40);
	assert_true(A.l->st.resizes > 0);
	assert_true(A.l->seg_size < 1024);
	printf("noise: %llu retransmits, %llu taken for an outage's\n",
	    (unsigned long long)A.l->st.retransmits, (unsigned long long)A.l->st.outage_retx);
	assert_true(A.l->st.outage_retx * 4 < A.l->st.retransmits);
}

/*
 * Karn's rule: a frame that had to be sent twice gives no round-trip
 * sample; one sent once does.
 */
static void
test_karn(void **state)
{
	(void)state;
	world(2, 2, 4096);
	run_until_ready(2000);
	A.l->seg_size = 4096;		/* the message is one frame */
	A.l->srtt_ms = A.l->rttvar_ms = 0;
	cut = 1;			/* the first copy is lost */
	send_msgs(&A, 1);
	run_ms(800);
	cut = 0;
	while (A.delivered < 1 && now < 60000)
		run_ms(1);
	assert_int_equal(A.delivered, 1);
	assert_true(A.l->st.retransmits + A.l->st.timeouts > 0);
	assert_int_equal(A.l->srtt_ms, 0);	/* no sample from it */
	send_msgs(&A, 1);
	while (A.delivered < 2 && now < 120000)
		run_ms(1);
	assert_int_equal(A.delivered, 2);
	assert_true(A.l->srtt_ms > 0);		/* this one was sent once */
	assert_true(A.l->srtt_ms < 2000);
}

/* --- sessions that end and resume --- */

/*
 * Longer than dead_ms: both sessions end. The next one resumes both
 * streams: nothing is lost or repeated, a partial message survives, and
 * what is sent again is exactly what the peer did not hold, cut to the
 * frame size of the moment.
 */
static void
test_resume_after_new_session(void **state)
{
	uint64_t hw, held, total = 60 * (4 + MSG_LEN);

	(void)state;
	world(2, 2, 4096);
	run_until_ready(2000);
	assert_int_equal(A.last_resumed, 0);	/* the first: nothing to resume */
	send_msgs(&A, 60);
	run_ms(5000);
	while (B.l->rxq.len == 0)		/* cut inside a message */
		run_ms(1);
	cut = 1;
	run_ms(A.p.dead_ms + 2000);
	hw = A.l->tx_hw;
	held = B.l->rcv_off;
	assert_true(B.rx < 60 && B.l->rxq.len > 0 && held < hw);
	assert_int_equal(A.downs, 1);
	assert_int_equal(B.downs, 1);
	assert_true(link_backlog(A.l) > 0);	/* kept for the next session */
	A.l->seg_size = 512;			/* as if noise had shrunk it */
	A.count_after = 1;
	A.data_max = 0;
	cut = 0;
	run_until_ready(5000);
	assert_int_equal(A.last_resumed, 1);
	assert_int_equal(B.last_resumed, 1);
	assert_int_equal(A.l->st.resumes, 1);
	assert_int_equal(B.l->st.resumes, 1);
	while ((B.rx < 60 || A.delivered < 60) && now < 600000)
		run_ms(10);
	assert_int_equal(B.rx, 60);
	assert_int_equal(A.delivered, 60);
	/* sent again: only what B did not hold */
	assert_int_equal(A.l->st.bytes_out, total + (hw - held));
	assert_true(A.data_after >= 4);
	assert_true(A.data_max <= 512);		/* re-segmented */
	assert_int_equal(B.l->st.dup, 0);
}

/* A peer that restarted holds nothing: both streams start anew. */
static void
test_resume_refused_after_restart(void **state)
{
	(void)state;
	world(2, 2, 1024);
	run_until_ready(2000);
	send_msgs(&A, 10);
	send_msgs(&B, 10);
	run_ms(1500);
	link_free(B.l);				/* linkd restarts */
	end_start(&B, LINK_RESPONDER, 2, 1024);
	while (!(link_ready(A.l) && link_ready(B.l)) && now < 60000)
		run_ms(10);
	assert_true(A.ups >= 2);
	assert_int_equal(A.last_resumed, 0);
	assert_int_equal(B.last_resumed, 0);
	assert_true(A.l->st.fresh >= 1);
	assert_int_equal(link_backlog(A.l), 0);	/* the old stream is gone */
	assert_int_equal(A.l->rcv_off, 0);
	/* and the new streams work */
	A.sent = A.delivered = B.rx = 0;
	B.sent = B.delivered = A.rx = 0;
	send_msgs(&A, 5);
	send_msgs(&B, 5);
	run_until_done(5, 60000);
}

/*
 * An old peer (revision 1) and a new one: they speak revision 1, no RESUME
 * goes on the line, messages flow, and a session that ends takes its
 * streams with it, as it always did.
 */
static void
test_old_peer(void **state)
{
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		world(k == 0 ? 2 : 1, k == 0 ? 1 : 2, 1024);
		run_until_ready(2000);
		assert_int_equal(A.l->rev, 1);
		assert_int_equal(B.l->rev, 1);
		send_msgs(&A, 10);
		send_msgs(&B, 10);
		run_until_done(10, 60000);
		assert_int_equal(A.resumes_sent + B.resumes_sent, 0);
		send_msgs(&A, 3);
		run_ms(20);
		link_reset(A.l);
		assert_int_equal(link_backlog(A.l), 0);
		assert_int_equal(link_send(A.l, (const uint8_t *)"x", 1, 99), -1);
	}
}

/* A RESUME lost on the line is sent again; DATA waits for it. */
static void
test_resume_lost(void **state)
{
	(void)state;
	world(2, 2, 1024);
	run_until_ready(2000);
	send_msgs(&A, 5);
	while (A.delivered < 5 && now < 60000)
		run_ms(10);
	link_reset(A.l);
	link_reset(B.l);
	/* A's HELLO gets through, B's HELLO_ACK and RESUME do not */
	while (B.l->state != LINK_UP && now < 60000)
		run_ms(1);
	cut = 1;
	run_ms(1200);
	cut = 0;
	run_until_ready(10000);
	assert_int_equal(A.last_resumed, 1);
	assert_int_equal(B.last_resumed, 1);
	assert_true(B.resumes_sent >= 2);
	A.sent = 5;
	send_msgs(&A, 5);
	while (A.delivered < 10 && now < 120000)
		run_ms(10);
	assert_int_equal(B.rx, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resume_codec),
		cmocka_unit_test(test_resume_rule),
		cmocka_unit_test(test_stream_ids_vector),
		cmocka_unit_test(test_report_per_window),
		cmocka_unit_test(test_cut_frame),
		cmocka_unit_test(test_outage_in_session),
		cmocka_unit_test(test_noise_shrinks),
		cmocka_unit_test(test_karn),
		cmocka_unit_test(test_resume_after_new_session),
		cmocka_unit_test(test_resume_refused_after_restart),
		cmocka_unit_test(test_old_peer),
		cmocka_unit_test(test_resume_lost),
	};
	int rc;

	log_init("test_link_resume", LOG_TO_STDERR, 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	link_free(A.l);
	link_free(B.l);
	return rc;
}
