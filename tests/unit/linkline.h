/*
 * linkline.h: two struct link in one process over a simulated line of
 * BAUD/10 bytes a second that can be cut (cut) or flip bits (ber), one
 * millisecond at a time; shared by the link unit tests.
 *
 * The including test defines first:
 *   BAUD, MSG_LEN (the length of each test message), LINKLINE_SEED;
 *   struct end, with at least: struct link *l; uint32_t rx, sent,
 *     delivered; double credit;
 *   static size_t gen(uint32_t i, uint8_t *m): message i, MSG_LEN bytes;
 *   static void sniff(struct end *, const uint8_t *, size_t): sees what
 *     an end sends, before the line damages it.
 */
#ifndef LINKLINE_H
#define LINKLINE_H

static struct end A, B;
static uint8_t key[LINK_KEY_LEN];
static uint64_t now;
static int cut;
static double ber;
static uint64_t rng = LINKLINE_SEED;

static uint32_t
rnd(void)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33);
}

/* messages arrive whole, once, in order */
static void
cb_message(void *arg, const uint8_t *m, size_t n)
{
	struct end *e = arg;
	uint8_t want[MSG_LEN];

	assert_int_equal(n, MSG_LEN);
	gen(e->rx, want);
	if (memcmp(m, want, n) != 0)
		fail_msg("message %u: got %u (lost, repeated or damaged)", e->rx, get_be32(m));
	e->rx++;
}

static void
cb_delivered(void *arg, uint64_t tag)
{
	struct end *e = arg;

	assert_int_equal(tag, e->delivered + 1);
	e->delivered++;
}

/* One millisecond of one direction. */
static void
line(struct end *from, struct end *to)
{
	uint8_t buf[64];
	size_t n, i;

	link_pump(from->l, now);
	from->credit += BAUD / 10000.0;
	if (from->credit > sizeof(buf))
		from->credit = sizeof(buf);
	n = from->l->out.len < (size_t)from->credit ? from->l->out.len : (size_t)from->credit;
	if (n == 0)
		return;
	memcpy(buf, from->l->out.p, n);
	buf_consume(&from->l->out, n);
	link_wrote(from->l, n, now);
	from->credit -= (double)n;
	sniff(from, buf, n);
	if (cut)
		return;
	for (i = 0; ber > 0 && i < n * 8; i++)
		if (rnd() < ber * 4294967296.0 / 2)
			buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	link_input(to->l, buf, n, now);
}

static void
run_ms(uint64_t ms)
{
	uint64_t end = now + ms;

	for (; now < end; now++) {
		line(&A, &B);
		line(&B, &A);
	}
}

static void
run_until_ready(uint64_t ms)
{
	uint64_t end = now + ms;

	while (now < end && !(link_ready(A.l) && link_ready(B.l)))
		run_ms(1);
	assert_true(link_ready(A.l) && link_ready(B.l));
}

static void
send_msgs(struct end *e, uint32_t k)
{
	uint8_t m[MSG_LEN];

	while (k-- > 0) {
		gen(e->sent, m);
		assert_int_equal(link_send(e->l, m, MSG_LEN, e->sent + 1), 0);
		e->sent++;
	}
}

#endif
