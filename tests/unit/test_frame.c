/*
 * test_frame.c: the frame codec (src/link/frame.c).
 *
 * Known answers: CRC-32C (RFC 3720 B.4), COBS (the examples of Cheshire and
 * Baker's paper, as tabulated on Wikipedia) in both directions, and the exact
 * wire bytes of one small DATA frame, derived independently of this code and
 * quoted in docs/protocol.md. Then the decoder, fed whole, one byte at a
 * time and in random pieces: every payload size round trips; several frames,
 * leading garbage and idle 0x00 fill in one stream; frames with a flipped
 * bit, cut short, oversize, with a lying length, a wrong version or type are
 * dropped and counted, and the next good frame still comes through. The
 * random generator has a fixed seed, so a failure repeats.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "frame.h"
#include "util.h"

#define MAX_GOT		64		/* frames in one test stream */
#define STREAM_MAX	(1 << 20)	/* bytes of one test stream */

enum chunking {
	CHUNK_WHOLE,			/* one call with everything */
	CHUNK_BYTE,			/* one byte per call */
	CHUNK_RANDOM,			/* random pieces, small or large */
};
static const enum chunking chunkings[] = {
	CHUNK_WHOLE, CHUNK_BYTE, CHUNK_RANDOM
};
#define NCHUNKINGS	(sizeof(chunkings) / sizeof(chunkings[0]))

struct tframe {
	struct frame_hdr h;
	uint8_t		 payload[FRAME_MAX_PAYLOAD];
	uint8_t		 mac[FRAME_MAC_LEN];
};

static struct frame_decoder dec;
static struct tframe	 want[MAX_GOT];	/* frames put in */
static size_t		 nwant;
static struct tframe	 got[MAX_GOT];	/* frames decoded */
static size_t		 ngot;
static uint8_t		 stream[STREAM_MAX];
static size_t		 slen;
static uint64_t		 rng = 0x9e3779b97f4a7c15ULL;
static const uint8_t	 nul[1] = { 0 };

/* xorshift64*: fixed seed, same bytes on every run */
static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Random bytes; about one in zero_one_in is 0x00 (never if 0). */
static void
fill_random(uint8_t *p, size_t n, uint32_t zero_one_in)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (zero_one_in != 0 && rnd() % zero_one_in == 0)
			p[i] = 0;
		else
			p[i] = (uint8_t)(1 + rnd() % 255);
	}
}

static size_t
unhex(const char *s, uint8_t *out)
{
	size_t	 n = strlen(s) / 2;

	assert_int_equal(hex_decode(s, out, n), 0);
	return n;
}

static void
random_frame(struct tframe *t, size_t len)
{
	static const uint32_t density[] = { 0, 256, 8, 2 };

	memset(t, 0, sizeof(*t));
	t->h.version = FRAME_VERSION;
	t->h.type = (uint8_t)(FRAME_HELLO + rnd() % 5);
	t->h.len = (uint16_t)len;
	t->h.session = rnd();
	t->h.seq = rnd();
	t->h.ack = rnd() % 3 ? rnd() : 0;
	t->h.sack = rnd() % 3 ? rnd() : 0;
	fill_random(t->payload, len, density[rnd() % 4]);
	fill_random(t->mac, FRAME_MAC_LEN, 16);
}

/* Append bytes to the test stream. */
static void
put(const uint8_t *p, size_t n)
{
	assert_true(n <= STREAM_MAX - slen);
	memcpy(stream + slen, p, n);
	slen += n;
}

/* Encode t, append it to the stream and to the expected frames. */
static size_t
put_frame(const struct tframe *t)
{
	uint8_t	 wire[FRAME_MAX_WIRE];
	size_t	 n;

	n = frame_encode(&t->h, t->payload, t->mac, wire);
	assert_true(n > 0 && n <= FRAME_MAX_WIRE);
	assert_int_equal(wire[n - 1], 0);
	assert_null(memchr(wire, 0, n - 1));
	put(wire, n);
	assert_true(nwant < MAX_GOT);
	want[nwant++] = *t;
	return n;
}

static void
reset(void)
{
	frame_decoder_init(&dec);
	slen = nwant = ngot = 0;
}

static void
record(const struct frame *f)
{
	struct tframe	*t;

	assert_true(ngot < MAX_GOT);
	assert_true(f->h.len <= FRAME_MAX_PAYLOAD);
	assert_ptr_equal(f->authed, f->payload - FRAME_HDR_LEN);
	assert_int_equal(f->authed_len, FRAME_HDR_LEN + f->h.len);
	assert_ptr_equal(f->mac, f->payload + f->h.len);
	t = &got[ngot++];
	t->h = f->h;
	memcpy(t->payload, f->payload, f->h.len);
	memcpy(t->mac, f->mac, FRAME_MAC_LEN);
}

static size_t
chunk_len(enum chunking how, size_t left)
{
	size_t	 n;

	switch (how) {
	case CHUNK_BYTE:
		n = 1;
		break;
	case CHUNK_RANDOM:
		n = rnd() % 2 ? 1 + rnd() % 8 : 1 + rnd() % 3000;
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

/* Push one piece until all of it is used, recording the frames. */
static void
feed_piece(const uint8_t *p, size_t left)
{
	struct frame	 f;
	size_t		 used;
	int		 r;

	while (left > 0) {
		used = (size_t)-1;
		r = frame_decoder_push(&dec, p, left, &used, &f);
		assert_true(used <= left);
		if (r == 1) {
			assert_true(used > 0);
			assert_int_equal(p[used - 1], 0);
			record(&f);
		} else {
			assert_int_equal(r, 0);
			assert_int_equal(used, left);
		}
		assert_true(dec.n < FRAME_MAX_WIRE);
		p += used;
		left -= used;
	}
}

static void
feed(enum chunking how)
{
	size_t	 off, n;

	for (off = 0; off < slen; off += n) {
		n = chunk_len(how, slen - off);
		feed_piece(stream + off, n);
	}
}

static void
assert_same_frame(const struct tframe *a, const struct tframe *b)
{
	assert_int_equal(a->h.version, b->h.version);
	assert_int_equal(a->h.type, b->h.type);
	assert_int_equal(a->h.len, b->h.len);
	assert_int_equal(a->h.session, b->h.session);
	assert_int_equal(a->h.seq, b->h.seq);
	assert_int_equal(a->h.ack, b->h.ack);
	assert_int_equal(a->h.sack, b->h.sack);
	assert_memory_equal(a->payload, b->payload, a->h.len);
	assert_memory_equal(a->mac, b->mac, FRAME_MAC_LEN);
}

/* The decoder returned exactly the frames put in, in order. */
static void
assert_got_want(void)
{
	size_t	 i;

	assert_int_equal(ngot, nwant);
	assert_int_equal(dec.st.frames, nwant);
	for (i = 0; i < ngot; i++)
		assert_same_frame(&got[i], &want[i]);
}

static uint64_t
errors(const struct frame_stats *st)
{
	return st->bad_crc + st->bad_cobs + st->runt + st->oversize +
	    st->bad_header;
}

/* ---- CRC-32C ---- */

static uint32_t
crc32c_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffff;
	int	 k;

	while (n-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
	return ~crc;
}

static void
test_crc32c_vectors(void **state)
{
	static const struct {
		const char	*name;
		const char	*hex;
		uint32_t	 crc;
	} v[] = {
		{ "empty", "", 0x00000000 },
		{ "123456789", "313233343536373839", 0xe3069283 },
		{ "32 x 00",
		    "00000000000000000000000000000000"
		    "00000000000000000000000000000000", 0x8a9136aa },
		{ "32 x ff",
		    "ffffffffffffffffffffffffffffffff"
		    "ffffffffffffffffffffffffffffffff", 0x62a8ab43 },
		{ "00..1f",
		    "000102030405060708090a0b0c0d0e0f"
		    "101112131415161718191a1b1c1d1e1f", 0x46dd794e },
		{ "1f..00",
		    "1f1e1d1c1b1a19181716151413121110"
		    "0f0e0d0c0b0a09080706050403020100", 0x113fdb5c },
	};
	uint8_t	 b[64];
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = unhex(v[i].hex, b);
		print_message("crc32c %s\n", v[i].name);
		assert_int_equal(crc32c(0, b, n), v[i].crc);
	}
}

static void
test_crc32c_chained(void **state)
{
	uint8_t	 b[1000];
	uint32_t whole, c;
	size_t	 k, j;

	(void)state;
	fill_random(b, sizeof(b), 4);
	whole = crc32c(0, b, sizeof(b));
	for (k = 0; k <= sizeof(b); k++) {
		c = crc32c(crc32c(0, b, k), b + k, sizeof(b) - k);
		assert_int_equal(c, whole);
	}
	for (k = 0; k < sizeof(b); k += 37) {
		j = k + (sizeof(b) - k) / 2;
		c = crc32c(crc32c(crc32c(0, b, k), b + k, j - k), b + j,
		    sizeof(b) - j);
		assert_int_equal(c, whole);
	}
	assert_int_equal(crc32c(whole, b, 0), whole);
}

/* Every table entry, through every single byte, and random buffers. */
static void
test_crc32c_matches_bitwise(void **state)
{
	uint8_t	 b[300];
	size_t	 i, n;

	(void)state;
	for (i = 0; i < 256; i++) {
		b[0] = (uint8_t)i;
		assert_int_equal(crc32c(0, b, 1), crc32c_bitwise(b, 1));
	}
	for (i = 0; i < 200; i++) {
		n = rnd() % sizeof(b);
		fill_random(b, n, 3);
		assert_int_equal(crc32c(0, b, n), crc32c_bitwise(b, n));
	}
}

/* ---- COBS ---- */

/* A byte string as segments: a range lo..hi-1, or hex. */
struct seg {
	int		 lo, hi;
	const char	*hex;
};
#define RANGE(a, b)	{ (a), (b) + 1, NULL }
#define HEX(s)		{ 0, 0, (s) }

static size_t
build(const struct seg *s, uint8_t *out)
{
	size_t	 n = 0;
	int	 c;

	for (; s->hex != NULL || s->hi != 0; s++) {
		if (s->hex != NULL)
			n += unhex(s->hex, out + n);
		for (c = s->lo; c < s->hi; c++)
			out[n++] = (uint8_t)c;
	}
	return n;
}

static void
test_cobs_vectors(void **state)
{
	static const struct {
		const char	*name;
		struct seg	 dec[4];
		struct seg	 enc[4];
	} v[] = {
		{ "nothing", { HEX("") }, { HEX("01") } },
		{ "00", { HEX("00") }, { HEX("0101") } },
		{ "00 00", { HEX("0000") }, { HEX("010101") } },
		{ "00 11 00", { HEX("001100") }, { HEX("01021101") } },
		{ "11 22 00 33", { HEX("11220033") }, { HEX("0311220233") } },
		{ "11 22 33 44", { HEX("11223344") }, { HEX("0511223344") } },
		{ "11 00 00 00", { HEX("11000000") }, { HEX("0211010101") } },
		{ "01..fe (254)", { RANGE(0x01, 0xfe) },
		    { HEX("ff"), RANGE(0x01, 0xfe) } },
		{ "00 01..fe (255)", { HEX("00"), RANGE(0x01, 0xfe) },
		    { HEX("01ff"), RANGE(0x01, 0xfe) } },
		{ "01..ff (255)", { RANGE(0x01, 0xff) },
		    { HEX("ff"), RANGE(0x01, 0xfe), HEX("02ff") } },
		{ "02..ff 00 (255)", { RANGE(0x02, 0xff), HEX("00") },
		    { HEX("ff"), RANGE(0x02, 0xff), HEX("0101") } },
		{ "03..ff 00 01 (255)", { RANGE(0x03, 0xff), HEX("0001") },
		    { HEX("fe"), RANGE(0x03, 0xff), HEX("0201") } },
	};
	uint8_t	 d[512], e[512], out[512];
	size_t	 i, dn, en;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		print_message("cobs %s\n", v[i].name);
		dn = build(v[i].dec, d);
		en = build(v[i].enc, e);
		assert_int_equal(cobs_encode(d, dn, out), en);
		assert_memory_equal(out, e, en);
		assert_true(en <= COBS_MAX_ENCODED(dn));
		/* exactly the room needed, then one byte too little */
		assert_int_equal(cobs_decode(e, en, out, dn), (long)dn);
		assert_memory_equal(out, d, dn);
		if (dn > 0)
			assert_int_equal(cobs_decode(e, en, out, dn - 1), -1);
	}
}

static void
test_cobs_decode_invalid(void **state)
{
	static const struct {
		const char	*name;
		const char	*hex;
		size_t		 outsz;
	} v[] = {
		{ "empty input", "", 16 },
		{ "a lone 00", "00", 16 },
		{ "00 as code byte", "021100", 16 },
		{ "00 inside a run", "04110022", 16 },
		{ "00 ends a run", "031100", 16 },
		{ "00 at the end", "031122" "00", 16 },
		{ "code runs past the end", "051122", 16 },
		{ "second code runs past", "021103", 16 },
		{ "ff without its 254 bytes", "ff0102", 512 },
		{ "run overflows output", "0411223344", 2 },
		{ "implied zero overflows", "02110211", 2 },
		{ "output of size 0", "0211", 0 },
	};
	uint8_t	 in[64], out[512];
	size_t	 i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		print_message("cobs_decode %s\n", v[i].name);
		n = unhex(v[i].hex, in);
		assert_int_equal(cobs_decode(in, n, out, v[i].outsz), -1);
	}
}

static void
test_cobs_round_trip(void **state)
{
	static const uint32_t density[] = { 0, 2, 8, 300 };
	static uint8_t in[5000], enc[COBS_MAX_ENCODED(5000)], out[5000];
	size_t	 i, n, en;

	(void)state;
	for (i = 0; i < 400; i++) {
		n = i < 300 ? i : rnd() % sizeof(in);
		fill_random(in, n, density[i % 4]);
		en = cobs_encode(in, n, enc);
		assert_true(en <= COBS_MAX_ENCODED(n));
		assert_null(memchr(enc, 0, en));
		assert_int_equal(cobs_decode(enc, en, out, n), (long)n);
		assert_memory_equal(out, in, n);
	}
}

/* ---- the header and the known-answer frame ---- */

static void
test_frame_hdr_pack(void **state)
{
	static const struct frame_hdr h = {
		.version = 0x01, .type = 0x02, .len = 0x0304,
		.session = 0x05060708, .seq = 0x090a0b0c, .ack = 0x0d0e0f10,
		.sack = 0x11121314,
	};
	uint8_t	 out[FRAME_HDR_LEN + 1], want_b[FRAME_HDR_LEN];

	(void)state;
	out[FRAME_HDR_LEN] = 0xee;
	frame_hdr_pack(&h, out);
	unhex("0102030405060708090a0b0c0d0e0f1011121314", want_b);
	assert_memory_equal(out, want_b, FRAME_HDR_LEN);
	assert_int_equal(out[FRAME_HDR_LEN], 0xee);
}

/*
 * The worked example of docs/protocol.md: DATA, session 0x01020304, seq 1,
 * ack 0, sack 0, payload "hi", mac 16 x 0xaa. The body is 42 bytes:
 *   01 03 0002 01020304 00000001 00000000 00000000 6869 aa x 16 60288db6
 * with CRC-32C 0x60288db6 over the first 38. Derived with a separate bitwise
 * CRC and a COBS encoder written from the paper (python3), not this code.
 * Each COBS code byte stands for the first 0x00 named in its comment (the
 * first code for none) and counts itself and the non-zero bytes after it.
 */
static const uint8_t ka_wire[] = {
	0x03, 0x01, 0x03,			/* -, version 01, type 03 */
	0x06, 0x02, 0x01, 0x02, 0x03, 0x04,	/* len 00 02, session */
	0x01,					/* seq 00 */
	0x01,					/* seq 00 */
	0x02, 0x01,				/* seq 00 01 */
	0x01, 0x01, 0x01, 0x01,			/* ack 00 00 00 00 */
	0x01, 0x01, 0x01,			/* sack 00 00 00 */
	0x17, 0x68, 0x69,			/* sack 00, payload "hi" */
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,	/* mac */
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
	0x60, 0x28, 0x8d, 0xb6,			/* crc32c */
	0x00,					/* delimiter */
};

static void
ka_frame(struct tframe *t)
{
	memset(t, 0, sizeof(*t));
	t->h.version = FRAME_VERSION;
	t->h.type = FRAME_DATA;
	t->h.len = 2;
	t->h.session = 0x01020304;
	t->h.seq = 1;
	memcpy(t->payload, "hi", 2);
	memset(t->mac, 0xaa, FRAME_MAC_LEN);
}

static void
test_frame_known_answer(void **state)
{
	struct tframe	 t;
	uint8_t		 wire[FRAME_MAX_WIRE];
	size_t		 i;

	(void)state;
	ka_frame(&t);
	assert_int_equal(sizeof(ka_wire), 44);
	assert_int_equal(frame_encode(&t.h, t.payload, t.mac, wire),
	    sizeof(ka_wire));
	assert_memory_equal(wire, ka_wire, sizeof(ka_wire));
	for (i = 0; i < NCHUNKINGS; i++) {
		reset();
		put(ka_wire, sizeof(ka_wire));
		want[nwant++] = t;
		feed(chunkings[i]);
		assert_got_want();
		assert_int_equal(dec.st.garbage, 0);
		assert_int_equal(errors(&dec.st), 0);
	}
}

static void
test_frame_encode_rejects(void **state)
{
	static const struct {
		const char	*name;
		uint8_t		 version, type;
		uint16_t	 len;
		int		 ok;
	} v[] = {
		{ "smallest", 1, FRAME_HELLO, 0, 1 },
		{ "largest", 1, FRAME_RESET, FRAME_MAX_PAYLOAD, 1 },
		{ "payload 4097", 1, FRAME_DATA, FRAME_MAX_PAYLOAD + 1, 0 },
		{ "payload 65535", 1, FRAME_DATA, 65535, 0 },
		{ "version 0", 0, FRAME_DATA, 10, 0 },
		{ "version 2", 2, FRAME_DATA, 10, 0 },
		{ "type 0", 1, 0, 10, 0 },
		{ "type 7", 1, 7, 10, 0 },
		{ "type 255", 1, 255, 10, 0 },
	};
	static uint8_t	 payload[65535], wire[FRAME_MAX_WIRE];
	struct frame_hdr h;
	uint8_t		 mac[FRAME_MAC_LEN];
	size_t		 i, n;

	(void)state;
	memset(mac, 0x55, sizeof(mac));
	fill_random(payload, sizeof(payload), 0);
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		print_message("frame_encode %s\n", v[i].name);
		memset(&h, 0, sizeof(h));
		h.version = v[i].version;
		h.type = v[i].type;
		h.len = v[i].len;
		n = frame_encode(&h, payload, mac, wire);
		if (v[i].ok)
			assert_true(n > FRAME_MIN_BODY && n <= FRAME_MAX_WIRE);
		else
			assert_int_equal(n, 0);
	}
}

/* ---- round trips ---- */

/* Every payload size, one decoder for all, whole and in random pieces. */
static void
test_round_trip_every_size(void **state)
{
	static struct tframe t;
	size_t	 len, k, wn;

	(void)state;
	for (k = 0; k < 2; k++) {
		reset();
		for (len = 0; len <= FRAME_MAX_PAYLOAD; len++) {
			slen = nwant = ngot = 0;
			random_frame(&t, len);
			wn = put_frame(&t);
			feed(k == 0 ? CHUNK_WHOLE : CHUNK_RANDOM);
			assert_int_equal(ngot, 1);
			assert_same_frame(&got[0], &t);
			assert_int_equal(dec.n, 0);
			assert_true(wn <= FRAME_MAX_WIRE);
		}
		assert_int_equal(dec.st.frames, FRAME_MAX_PAYLOAD + 1);
		assert_int_equal(errors(&dec.st), 0);
		assert_int_equal(dec.st.garbage, 0);
	}
}

static void
test_round_trip_bytewise(void **state)
{
	static const size_t sizes[] = {
		0, 1, 2, 3, 100, 213, 214, 215, 252, 253, 254, 255, 256,
		507, 508, 509, 1000, 4095, FRAME_MAX_PAYLOAD,
	};
	static struct tframe t;
	size_t	 i;

	(void)state;
	reset();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		random_frame(&t, sizes[i]);
		put_frame(&t);
	}
	feed(CHUNK_BYTE);
	assert_got_want();
	assert_int_equal(errors(&dec.st), 0);
}

/*
 * The longest encoding a valid frame can have (no 0x00 but the low byte of
 * the length) fills the wire buffer exactly.
 */
static void
test_round_trip_longest(void **state)
{
	static struct tframe t;
	size_t	 i, wn;

	(void)state;
	for (i = 0; i < NCHUNKINGS; i++) {
		reset();
		random_frame(&t, FRAME_MAX_PAYLOAD);
		t.h.session = t.h.seq = t.h.ack = t.h.sack = 0x11111111;
		fill_random(t.payload, FRAME_MAX_PAYLOAD, 0);
		fill_random(t.mac, FRAME_MAC_LEN, 0);
		wn = put_frame(&t);
		assert_int_equal(wn, FRAME_MAX_WIRE);
		feed(chunkings[i]);
		assert_got_want();
	}
}

enum lead {
	LEAD_NONE,			/* the stream starts with a frame */
	LEAD_NOISE,			/* random bytes, then 0x00 */
	LEAD_TAIL,			/* the second half of a frame */
};

/* Many frames in one stream, with leading garbage and idle fill. */
static void
test_stream(void **state)
{
	static const struct {
		const char	*name;
		enum lead	 lead;
		int		 fill;		/* idle 0x00s */
	} v[] = {
		{ "frames only", LEAD_NONE, 0 },
		{ "idle fill", LEAD_NONE, 1 },
		{ "leading noise", LEAD_NOISE, 0 },
		{ "leading noise, idle fill", LEAD_NOISE, 1 },
		{ "leading half frame", LEAD_TAIL, 0 },
		{ "leading half frame, idle fill", LEAD_TAIL, 1 },
	};
	static struct tframe t;
	uint8_t		 lead[FRAME_MAX_WIRE], zeros[8];
	size_t		 i, k, j, n, nlead, nz, expect_garbage;

	(void)state;
	memset(zeros, 0, sizeof(zeros));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (k = 0; k < NCHUNKINGS; k++) {
			print_message("stream %s, chunking %zu\n",
			    v[i].name, k);
			reset();
			expect_garbage = 0;
			if (v[i].lead == LEAD_NOISE) {
				nlead = 1 + rnd() % 600;
				fill_random(lead, nlead, 50);
				lead[nlead - 1] = 0;
				put(lead, nlead);
				for (j = 0; j < nlead; j++)
					expect_garbage += lead[j] != 0;
			} else if (v[i].lead == LEAD_TAIL) {
				random_frame(&t, 300);
				n = frame_encode(&t.h, t.payload, t.mac, lead);
				put(lead + n / 2, n - n / 2);
				expect_garbage = n - n / 2 - 1;
			}
			for (j = 0; j < 40; j++) {
				nz = v[i].fill ? rnd() % sizeof(zeros) : 0;
				put(zeros, nz);
				random_frame(&t, rnd() % 3 ? rnd() % 300 :
				    rnd() % (FRAME_MAX_PAYLOAD + 1));
				put_frame(&t);
			}
			feed(chunkings[k]);
			assert_got_want();
			assert_int_equal(dec.st.garbage, expect_garbage);
			assert_int_equal(dec.st.oversize, 0);
			assert_int_equal(dec.st.bad_header, 0);
			if (v[i].lead == LEAD_NONE)
				assert_int_equal(errors(&dec.st), 0);
		}
	}
}

/* Garbage that runs straight into a frame spoils it, not the next one. */
static void
test_garbage_without_delimiter(void **state)
{
	static struct tframe a, b;
	uint8_t		 noise[100];
	size_t		 k, na;

	(void)state;
	for (k = 0; k < NCHUNKINGS; k++) {
		reset();
		fill_random(noise, sizeof(noise), 0);
		put(noise, sizeof(noise));
		random_frame(&a, 50);
		na = put_frame(&a);
		random_frame(&b, 50);
		put_frame(&b);
		feed(chunkings[k]);
		assert_int_equal(ngot, 1);
		assert_same_frame(&got[0], &b);
		assert_int_equal(errors(&dec.st), 1);
		assert_int_equal(dec.st.garbage, sizeof(noise) + na - 1);
	}
}

/* used counts the delimiter; the rest is passed again; 0 bytes is fine. */
static void
test_push_used(void **state)
{
	struct frame	 f;
	size_t		 used, half;
	uint8_t		 two[2 * sizeof(ka_wire)];

	(void)state;
	frame_decoder_init(&dec);
	memcpy(two, ka_wire, sizeof(ka_wire));
	memcpy(two + sizeof(ka_wire), ka_wire, sizeof(ka_wire));
	assert_int_equal(frame_decoder_push(&dec, two, sizeof(two), &used,
	    &f), 1);
	assert_int_equal(used, sizeof(ka_wire));
	assert_memory_equal(f.payload, "hi", 2);
	assert_int_equal(frame_decoder_push(&dec, two + used,
	    sizeof(two) - used, &used, &f), 1);
	assert_int_equal(used, sizeof(ka_wire));
	assert_int_equal(f.h.seq, 1);
	assert_int_equal(frame_decoder_push(&dec, two, 0, &used, &f), 0);
	assert_int_equal(used, 0);
	half = sizeof(ka_wire) / 2;
	assert_int_equal(frame_decoder_push(&dec, two, half, &used, &f), 0);
	assert_int_equal(used, half);
	assert_int_equal(dec.n, half);
	assert_int_equal(frame_decoder_push(&dec, two + half,
	    sizeof(ka_wire) - half, &used, &f), 1);
	assert_int_equal(used, sizeof(ka_wire) - half);
	assert_int_equal(f.h.session, 0x01020304);
	assert_int_equal(dec.st.frames, 3);
}

/* ---- bad frames ---- */

enum edit {
	EDIT_FLIP,			/* flip bit val of body byte at */
	EDIT_SET,			/* body byte at = val, CRC fixed */
	EDIT_LEN,			/* length field += val, CRC fixed */
	EDIT_CUT,			/* keep at bytes of body, CRC kept */
	EDIT_CUT_CRC,			/* keep at bytes, CRC fixed */
	EDIT_GROW,			/* val more payload, len, CRC fixed */
};

#define AT_END		(-1)		/* the body's last byte */
#define STAT(m)		offsetof(struct frame_stats, m)

static size_t
body_of(const struct tframe *t, uint8_t *body)
{
	size_t	 n = FRAME_HDR_LEN;

	frame_hdr_pack(&t->h, body);
	memcpy(body + n, t->payload, t->h.len);
	n += t->h.len;
	memcpy(body + n, t->mac, FRAME_MAC_LEN);
	n += FRAME_MAC_LEN;
	put_be32(body + n, crc32c(0, body, n));
	return n + FRAME_CRC_LEN;
}

static void
fix_crc(uint8_t *body, size_t n)
{
	put_be32(body + n - FRAME_CRC_LEN,
	    crc32c(0, body, n - FRAME_CRC_LEN));
}

/* Apply an edit to a body of n bytes; returns the new length. */
static size_t
edit_body(uint8_t *body, size_t n, enum edit e, int at, int val)
{
	size_t	 pos = at == AT_END ? n - 1 : (size_t)at;

	switch (e) {
	case EDIT_FLIP:
		body[pos] ^= (uint8_t)(1 << val);
		return n;
	case EDIT_SET:
		body[pos] = (uint8_t)val;
		break;
	case EDIT_LEN:
		put_be16(body + 2, (uint16_t)(get_be16(body + 2) + val));
		break;
	case EDIT_CUT:
		return pos;
	case EDIT_CUT_CRC:
		n = pos;
		break;
	case EDIT_GROW:
		n += (size_t)val;
		put_be16(body + 2, (uint16_t)(n - FRAME_MIN_BODY));
		break;
	}
	if (n >= FRAME_CRC_LEN)
		fix_crc(body, n);
	return n;
}

/*
 * A spoilt frame, then a good one: the first is counted where expected and
 * its bytes as garbage, the second comes through.
 */
static void
test_bad_frames(void **state)
{
	static const struct {
		const char	*name;
		enum edit	 e;
		int		 at, val;
		size_t		 stat;
	} v[] = {
		{ "bit flip in version", EDIT_FLIP, 0, 1, STAT(bad_crc) },
		{ "bit flip in length", EDIT_FLIP, 3, 0, STAT(bad_crc) },
		{ "bit flip in seq", EDIT_FLIP, 10, 7, STAT(bad_crc) },
		{ "bit flip in payload", EDIT_FLIP, 80, 3, STAT(bad_crc) },
		{ "bit flip in mac", EDIT_FLIP, 125, 5, STAT(bad_crc) },
		{ "bit flip in crc", EDIT_FLIP, AT_END, 0, STAT(bad_crc) },
		{ "cut to nothing", EDIT_CUT, 0, 0, STAT(runt) },
		{ "cut to 1 byte", EDIT_CUT, 1, 0, STAT(runt) },
		{ "cut to header", EDIT_CUT, FRAME_HDR_LEN, 0, STAT(runt) },
		{ "cut to 39 bytes", EDIT_CUT, 39, 0, STAT(runt) },
		{ "cut to 40 bytes", EDIT_CUT, 40, 0, STAT(bad_crc) },
		{ "cut by one byte", EDIT_CUT, AT_END, 0, STAT(bad_crc) },
		{ "version 0", EDIT_SET, 0, 0, STAT(bad_header) },
		{ "version 2", EDIT_SET, 0, 2, STAT(bad_header) },
		{ "type 0", EDIT_SET, 1, 0, STAT(bad_header) },
		{ "type 7", EDIT_SET, 1, 7, STAT(bad_header) },
		{ "length one more", EDIT_LEN, 0, 1, STAT(bad_header) },
		{ "length one less", EDIT_LEN, 0, -1, STAT(bad_header) },
		{ "length 0xff64", EDIT_SET, 2, 0xff, STAT(bad_header) },
		{ "cut, crc and length lie", EDIT_CUT_CRC, 60, 0,
		    STAT(bad_header) },
		{ "payload 4097 bytes", EDIT_GROW, 0,
		    FRAME_MAX_PAYLOAD + 1 - 100, STAT(bad_cobs) },
	};
	static struct tframe a, b;
	static uint8_t	 body[FRAME_MAX_BODY + 64];
	static uint8_t	 wire[FRAME_MAX_WIRE + 64];
	size_t		 i, k, n;
	uint64_t	 count;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (k = 0; k < NCHUNKINGS; k++) {
			print_message("bad frame: %s, chunking %zu\n",
			    v[i].name, k);
			reset();
			random_frame(&a, 100);
			a.h.type = FRAME_DATA;
			n = body_of(&a, body);
			/* what EDIT_GROW adds; 0x00s keep it below oversize */
			fill_random(body + n, sizeof(body) - n, 8);
			n = edit_body(body, n, v[i].e, v[i].at, v[i].val);
			n = cobs_encode(body, n, wire);
			wire[n++] = 0;
			put(wire, n);
			random_frame(&b, rnd() % 200);
			put_frame(&b);
			feed(chunkings[k]);
			assert_int_equal(ngot, 1);
			assert_same_frame(&got[0], &b);
			memcpy(&count, (const uint8_t *)&dec.st + v[i].stat,
			    sizeof(count));
			assert_int_equal(count, 1);
			assert_int_equal(errors(&dec.st), 1);
			assert_int_equal(dec.st.garbage, n - 1);
		}
	}
}

/* A delimiter at every position inside a frame: one error, then the next. */
static void
test_truncated_anywhere(void **state)
{
	static struct tframe a, b;
	uint8_t		 wire[FRAME_MAX_WIRE];
	size_t		 wn, cut;
	uint64_t	 before;

	(void)state;
	random_frame(&a, 300);
	a.h.session = 0;
	memset(a.payload + 100, 0, 10);
	wn = frame_encode(&a.h, a.payload, a.mac, wire);
	assert_true(wn > 0);
	for (cut = 1; cut < wn - 1; cut++) {
		reset();
		put(wire, cut);
		put(nul, 1);
		random_frame(&b, 20);
		put_frame(&b);
		feed(cut % 2 ? CHUNK_WHOLE : CHUNK_RANDOM);
		assert_int_equal(ngot, 1);
		assert_same_frame(&got[0], &b);
		before = dec.st.runt + dec.st.bad_crc + dec.st.bad_cobs;
		assert_int_equal(before, 1);
		assert_int_equal(errors(&dec.st), 1);
		assert_int_equal(dec.st.garbage, cut);
	}
}

/* Runs of non-zero bytes around the size of the wire buffer. */
static void
test_oversize(void **state)
{
	static const struct {
		const char	*name;
		size_t		 run;
		int		 sep;		/* 0x00 after the run */
		uint64_t	 oversize;
	} v[] = {
		{ "10000 bytes", 10000, 1, 1 },
		{ "10000 bytes into a frame", 10000, 0, 1 },
		{ "largest run kept", FRAME_MAX_WIRE - 1, 1, 0 },
		{ "one byte more", FRAME_MAX_WIRE, 1, 1 },
		{ "100000 bytes", 100000, 1, 1 },
	};
	static struct tframe a, b;
	static uint8_t	 noise[100000];
	size_t		 i, k, na, expect_garbage;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (k = 0; k < NCHUNKINGS; k++) {
			print_message("oversize %s, chunking %zu\n",
			    v[i].name, k);
			reset();
			fill_random(noise, v[i].run, 0);
			put(noise, v[i].run);
			if (v[i].sep)
				put(nul, 1);
			random_frame(&a, 100);
			na = put_frame(&a);
			random_frame(&b, 100);
			put_frame(&b);
			feed(chunkings[k]);
			assert_int_equal(dec.st.oversize, v[i].oversize);
			assert_int_equal(errors(&dec.st), 1);
			expect_garbage = v[i].run;
			if (v[i].sep) {
				assert_got_want();
			} else {
				/* the frame's 0x00 ended the skipping */
				expect_garbage += na - 1;
				assert_int_equal(ngot, 1);
				assert_same_frame(&got[0], &b);
			}
			assert_int_equal(dec.st.garbage, expect_garbage);
		}
	}
}

/* Raw byte strings before a good frame and what they count as. */
static void
test_junk(void **state)
{
	static const struct {
		const char	*name;
		const char	*hex;
		size_t		 stat;		/* or (size_t)-1 */
		uint64_t	 garbage;
	} v[] = {
		{ "idle fill", "00000000", (size_t)-1, 0 },
		{ "code past the end", "05112200", STAT(bad_cobs), 3 },
		{ "ff block too short", "ff01020300", STAT(bad_cobs), 4 },
		{ "one 00 byte", "010100", STAT(runt), 2 },
		{ "short run", "0411223300", STAT(runt), 4 },
		{ "lone bytes", "01000100", STAT(runt), 2 },
	};
	static struct tframe b;
	uint8_t		 junk[64];
	size_t		 i, k, n;
	uint64_t	 count;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		for (k = 0; k < NCHUNKINGS; k++) {
			print_message("junk %s, chunking %zu\n", v[i].name, k);
			reset();
			n = unhex(v[i].hex, junk);
			put(junk, n);
			random_frame(&b, 10);
			put_frame(&b);
			feed(chunkings[k]);
			assert_got_want();
			assert_int_equal(dec.st.garbage, v[i].garbage);
			if (v[i].stat == (size_t)-1) {
				assert_int_equal(errors(&dec.st), 0);
				continue;
			}
			memcpy(&count, (const uint8_t *)&dec.st + v[i].stat,
			    sizeof(count));
			assert_true(count >= 1);
			assert_int_equal(errors(&dec.st), count);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_chained),
		cmocka_unit_test(test_crc32c_matches_bitwise),
		cmocka_unit_test(test_cobs_vectors),
		cmocka_unit_test(test_cobs_decode_invalid),
		cmocka_unit_test(test_cobs_round_trip),
		cmocka_unit_test(test_frame_hdr_pack),
		cmocka_unit_test(test_frame_known_answer),
		cmocka_unit_test(test_frame_encode_rejects),
		cmocka_unit_test(test_round_trip_every_size),
		cmocka_unit_test(test_round_trip_bytewise),
		cmocka_unit_test(test_round_trip_longest),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_garbage_without_delimiter),
		cmocka_unit_test(test_push_used),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_truncated_anywhere),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
