/*
 * fuzz_frame.c: libFuzzer target for the frame codec (src/frame.c).
 *
 * The first input byte says how the rest is cut into pieces before it is
 * fed to a decoder: 0 feeds it whole, k > 0 in pieces of 1..k bytes drawn
 * from a generator seeded with k. Each check below abort()s when it fails:
 *  - a push uses no more than it was given, all of it when it returns 0,
 *    and a frame ends on the 0x00 it used last;
 *  - the gathered bytes never reach the size of the wire buffer;
 *  - every decoded frame is what its own wire bytes in the input decode
 *    to with cobs_decode: header, payload, mac and a matching CRC-32C;
 *  - every decoded frame is one that frame_encode accepts, and decoding
 *    the encoding again gives the same header, payload and mac, with no
 *    error and no garbage;
 *  - every non-zero input byte is accounted for exactly once: in the wire
 *    bytes of a good frame, as garbage, or still gathered at the end;
 *  - COBS: the whole input round trips through encode and decode, and
 *    when the input decodes as COBS, encoding and decoding that again
 *    gives the same bytes.
 * Memory errors are ASan's to find.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "util.h"

#define COBS_MAX_IN	20000		/* fuzz.sh -max_len */

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct frame_decoder dec, redec;

struct feed {
	const uint8_t	*in;		/* all after the first byte */
	size_t		 n;
	uint64_t	 good_nonzero;	/* wire bytes of good frames */
};

static void
check(int ok)
{
	if (!ok)
		abort();
}

/* Where the wire bytes of a good frame ending at in[end] start. */
static size_t
wire_start(const uint8_t *in, size_t end)
{
	size_t	 start = end;

	while (start > 0 && in[start - 1] != 0)
		start--;
	return start;
}

/* The frame is what its wire bytes say, decoded here with cobs_decode. */
static void
check_wire(const uint8_t *wire, size_t n, const struct frame *f)
{
	static uint8_t	 body[FRAME_MAX_BODY];
	uint8_t		 hdr[FRAME_HDR_LEN];
	long		 len;
	size_t		 at;

	len = cobs_decode(wire, n, body, sizeof(body));
	check(len == (long)(FRAME_MIN_BODY + f->h.len));
	at = (size_t)len - FRAME_CRC_LEN;
	check(get_be32(body + at) == crc32c(0, body, at));
	frame_hdr_pack(&f->h, hdr);
	check(memcmp(body, hdr, FRAME_HDR_LEN) == 0);
	check(memcmp(body, f->authed, f->authed_len) == 0);
	check(memcmp(body + f->authed_len, f->mac, FRAME_MAC_LEN) == 0);
}

static int
same_frame(const struct frame *a, const struct frame *b)
{
	return a->h.version == b->h.version && a->h.type == b->h.type &&
	    a->h.len == b->h.len && a->h.session == b->h.session &&
	    a->h.seq == b->h.seq && a->h.ack == b->h.ack &&
	    a->h.sack == b->h.sack &&
	    memcmp(a->payload, b->payload, a->h.len) == 0 &&
	    memcmp(a->mac, b->mac, FRAME_MAC_LEN) == 0 &&
	    a->authed_len == b->authed_len &&
	    memcmp(a->authed, b->authed, a->authed_len) == 0;
}

/* Encode a decoded frame again and decode that. */
static void
check_reencode(const struct frame *f)
{
	static uint8_t	 wire[FRAME_MAX_WIRE];
	struct frame	 g;
	size_t		 n, used;

	check(f->authed_len == FRAME_HDR_LEN + f->h.len);
	check(f->payload == f->authed + FRAME_HDR_LEN);
	check(f->mac == f->payload + f->h.len);
	n = frame_encode(&f->h, f->payload, f->mac, wire);
	check(n > 0 && n <= FRAME_MAX_WIRE);
	frame_decoder_init(&redec);
	check(frame_decoder_push(&redec, wire, n, &used, &g) == 1);
	check(used == n);
	check(same_frame(f, &g));
	check(redec.st.frames == 1 && redec.st.garbage == 0);
}

/* Push one piece until it is used up; off is where it starts in fd->in. */
static void
feed_piece(struct feed *fd, size_t off, size_t len)
{
	struct frame	 f;
	size_t		 used, start, end;
	int		 r;

	while (len > 0) {
		r = frame_decoder_push(&dec, fd->in + off, len, &used, &f);
		check(used <= len);
		check(dec.n < sizeof(dec.wire));
		if (r == 1) {
			end = off + used - 1;
			check(used > 0 && fd->in[end] == 0);
			start = wire_start(fd->in, end);
			fd->good_nonzero += end - start;
			check_wire(fd->in + start, end - start, &f);
			check_reencode(&f);
		} else
			check(r == 0 && used == len);
		off += used;
		len -= used;
	}
}

static void
check_decoder(const uint8_t *data, size_t size)
{
	struct feed	 fd;
	uint32_t	 rng = data[0];
	size_t		 off, len, i;
	uint64_t	 nonzero = 0;

	fd.in = data + 1;
	fd.n = size - 1;
	fd.good_nonzero = 0;
	frame_decoder_init(&dec);
	for (off = 0; off < fd.n; off += len) {
		len = fd.n - off;
		if (data[0] != 0) {
			rng = rng * 1103515245 + 12345;
			if (len > 1 + (rng >> 16) % data[0])
				len = 1 + (rng >> 16) % data[0];
		}
		feed_piece(&fd, off, len);
	}
	for (i = 0; i < fd.n; i++)
		nonzero += fd.in[i] != 0;
	check(nonzero == dec.st.garbage + fd.good_nonzero + dec.n);
}

static void
check_cobs(const uint8_t *data, size_t size)
{
	static uint8_t	 enc[COBS_MAX_ENCODED(COBS_MAX_IN)];
	static uint8_t	 out[COBS_MAX_IN + 1], out2[COBS_MAX_IN + 1];
	size_t		 en;
	long		 dn, dn2;

	if (size > COBS_MAX_IN)
		return;
	en = cobs_encode(data, size, enc);
	check(en <= COBS_MAX_ENCODED(size));
	check(memchr(enc, 0, en) == NULL);
	check(cobs_decode(enc, en, out, size) == (long)size);
	check(memcmp(out, data, size) == 0);

	/* the input itself as COBS, into a buffer sized by its first byte */
	dn = cobs_decode(data, size, out, (size_t)data[0] * 64 + 1);
	if (dn < 0)
		return;
	en = cobs_encode(out, (size_t)dn, enc);
	dn2 = cobs_decode(enc, en, out2, sizeof(out2));
	check(dn2 == dn && memcmp(out, out2, (size_t)dn) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	check_decoder(data, size);
	check_cobs(data, size);
	return 0;
}
