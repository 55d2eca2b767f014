/*
 * frame.c: the link's frame codec (docs/protocol.md, "Framing"): CRC-32C,
 * COBS, and a decoder that turns the raw byte stream from the cable into
 * checked frames.
 *
 * On the wire a frame is COBS(body) followed by one 0x00, where body is
 * header (20) || payload (len) || mac (16) || CRC-32C of all that (4), all
 * big-endian. COBS removes every 0x00 from the body, so a 0x00 on the line
 * always ends a frame and a receiver finds the next frame after any noise.
 *
 * The decoder is a pure function over the bytes it is given: it never reads,
 * allocates or fails, and it trusts nothing that comes from the cable. It
 * keeps the encoded bytes since the last 0x00 in its own fixed buffer, so a
 * frame may arrive in any number of pieces, and one call may hold the end of
 * one frame, several whole frames and the start of another. It returns after
 * each good frame and says how many bytes it used; the caller passes the
 * rest again. The conditions, in the order they are checked:
 *  - a 0x00 with nothing gathered before it is idle fill: ignored, and
 *    counted nowhere;
 *  - a run of bytes longer than the encoding of the largest valid frame is
 *    oversize: what was gathered and everything up to the next 0x00 is
 *    dropped. The length is checked before each copy, so nothing is ever
 *    written past the buffer;
 *  - at a 0x00 the gathered bytes are COBS-decoded into a fixed body
 *    buffer. A code byte that runs past the end, or a body that would not
 *    fit the largest frame, is bad COBS;
 *  - a body shorter than header, mac and CRC together is a runt: what a
 *    frame cut short by noise or by a restarting sender looks like;
 *  - a CRC-32C mismatch is bad CRC (line noise);
 *  - a wrong version, an unknown type, or a length field that does not
 *    match the size of the body or exceeds the maximum payload is a bad
 *    header.
 * Each of these drops the frame, counts it in its own counter and its bytes
 * (not the 0x00 that ended it) as garbage, and returns to the ground state:
 * the next byte starts a new frame. Leading garbage, such as the tail of a
 * frame sent before we started listening, ends up in one of these counters
 * at the first 0x00. A good frame is not copied out: its payload, mac and
 * authenticated bytes point into the decoder and stay valid until the next
 * call. Checking the MAC is the link layer's business.
 *
 * COBS here is Cheshire and Baker's: a block of 254 non-zero bytes takes a
 * code 0xFF and no implied zero, and the encoding of nothing is 0x01, so an
 * empty input is not a valid encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "util.h"

#define COBS_BLOCK	0xff		/* full block: no 0x00 after it */

static int	 frame_hdr_ok(const struct frame_hdr *);
static void	 frame_hdr_unpack(const uint8_t *, struct frame_hdr *);
static int	 frame_crc_ok(const uint8_t *, size_t);
static int	 frame_accept(const uint8_t *, size_t, struct frame *);
static int	 frame_check(struct frame_decoder *, struct frame *);
static size_t	 frame_gather(struct frame_decoder *, const uint8_t *,
		    size_t, int *);
static size_t	 frame_skip(struct frame_decoder *, const uint8_t *,
		    size_t);

/* CRC-32C, reflected polynomial 0x82F63B78: entry i is the CRC of byte i */
static const uint32_t crc32c_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f,
	0x35f1141c, 0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc,
	0x6be22838, 0x9989ab3b, 0x4d43cfd0, 0xbf284cd3, 0xac78bf27,
	0x5e133c24, 0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384, 0x9a879fa0,
	0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29,
	0x33ed7d2a, 0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5, 0x6dfe410e,
	0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa, 0x30e349b1, 0xc288cab2,
	0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad, 0x1642ae59,
	0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc,
	0xb3109ebf, 0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0,
	0x67dafa54, 0x95b17957, 0xcba24573, 0x39c9c670, 0x2a993584,
	0xd8f2b687, 0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927, 0x96bf4dcc,
	0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4,
	0x0f36e6f7, 0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789, 0xeb1fcbad,
	0x197448ae, 0x0a24bb5a, 0xf84f3859, 0x2c855cb2, 0xdeeedfb1,
	0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e, 0x90a324fa,
	0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd,
	0xceb018de, 0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b,
	0x63cd4b8f, 0x91a6c88c, 0x456cac67, 0xb7072f64, 0xa457dc90,
	0x563c5f93, 0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c, 0x92a8fc17,
	0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f,
	0x0b21572c, 0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652, 0x65d122b9,
	0x97baa1ba, 0x84ea524e, 0x7681d14d, 0x2892ed69, 0xdaf96e6a,
	0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975, 0x0e330a81,
	0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06,
	0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a,
	0x1e6dcdee, 0xec064eed, 0xc38d26c4, 0x31e6a5c7, 0x22b65633,
	0xd0ddd530, 0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff, 0x8ecee914,
	0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643,
	0x07198540, 0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a,
	0x115b2b19, 0x020bd8ed, 0xf0605bee, 0x24aa3f05, 0xd6c1bc06,
	0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6, 0x88d28022,
	0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a,
	0xc69f7b69, 0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9,
	0x988c474d, 0x6ae7c44e, 0xbe2da0a5, 0x4c4623a6, 0x5f16d052,
	0xad7d5351,
};

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	const uint8_t	*b = p;

	crc = ~crc;
	while (n-- > 0)
		crc = crc32c_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

size_t
cobs_encode(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t	 i, o = 1, code_at = 0;
	uint8_t	 code = 1;

	for (i = 0; i < n; i++) {
		if (in[i] != 0) {
			out[o++] = in[i];
			code++;
		}
		/* a full block at the very end needs no code after it */
		if (in[i] == 0 || (code == COBS_BLOCK && i + 1 < n)) {
			out[code_at] = code;
			code_at = o++;
			code = 1;
		}
	}
	out[code_at] = code;
	return o;
}

long
cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t outsz)
{
	size_t	 i = 0, o = 0, run;
	uint8_t	 code;

	if (n == 0)
		return -1;
	while (i < n) {
		code = in[i++];
		if (code == 0)
			return -1;
		run = code - 1;
		if (run > n - i || run > outsz - o)
			return -1;
		if (memchr(in + i, 0, run) != NULL)
			return -1;
		memcpy(out + o, in + i, run);
		i += run;
		o += run;
		if (code != COBS_BLOCK && i < n) {
			if (o == outsz)
				return -1;
			out[o++] = 0;
		}
	}
	return (long)o;
}

void
frame_hdr_pack(const struct frame_hdr *h, uint8_t out[FRAME_HDR_LEN])
{
	out[0] = h->version;
	out[1] = h->type;
	put_be16(out + 2, h->len);
	put_be32(out + 4, h->session);
	put_be32(out + 8, h->seq);
	put_be32(out + 12, h->ack);
	put_be32(out + 16, h->sack);
}

static void
frame_hdr_unpack(const uint8_t *p, struct frame_hdr *h)
{
	h->version = p[0];
	h->type = p[1];
	h->len = get_be16(p + 2);
	h->session = get_be32(p + 4);
	h->seq = get_be32(p + 8);
	h->ack = get_be32(p + 12);
	h->sack = get_be32(p + 16);
}

static int
frame_hdr_ok(const struct frame_hdr *h)
{
	return h->version == FRAME_VERSION && h->type >= FRAME_HELLO &&
	    h->type <= FRAME_PIECE && h->len <= FRAME_MAX_PAYLOAD;
}

size_t
frame_encode(const struct frame_hdr *h, const uint8_t *payload,
    const uint8_t mac[FRAME_MAC_LEN], uint8_t *out)
{
	uint8_t	 body[FRAME_MAX_BODY];
	size_t	 n;

	if (!frame_hdr_ok(h))
		return 0;
	frame_hdr_pack(h, body);
	n = FRAME_HDR_LEN;
	if (h->len > 0)
		memcpy(body + n, payload, h->len);
	n += h->len;
	memcpy(body + n, mac, FRAME_MAC_LEN);
	n += FRAME_MAC_LEN;
	put_be32(body + n, crc32c(0, body, n));
	n = cobs_encode(body, n + FRAME_CRC_LEN, out);
	out[n++] = 0;
	return n;
}

void
frame_decoder_init(struct frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
frame_decoder_cut(struct frame_decoder *d)
{
	if (d->n == 0 && !d->skipping)
		return;
	d->st.cut++;
	d->st.garbage += d->n;
	d->n = 0;
	d->skipping = 0;
}

/* The last 4 bytes of a body of n >= FRAME_CRC_LEN are the CRC of the rest. */
static int
frame_crc_ok(const uint8_t *body, size_t n)
{
	n -= FRAME_CRC_LEN;
	return crc32c(0, body, n) == get_be32(body + n);
}

/* A body whose CRC is right: fill f and return 0 if the header fits it. */
static int
frame_accept(const uint8_t *body, size_t blen, struct frame *f)
{
	struct frame_hdr h;

	frame_hdr_unpack(body, &h);
	if (!frame_hdr_ok(&h) || h.len != blen - FRAME_MIN_BODY)
		return -1;
	f->h = h;
	f->authed = body;
	f->authed_len = FRAME_HDR_LEN + h.len;
	f->payload = body + FRAME_HDR_LEN;
	f->mac = f->payload + h.len;
	return 0;
}

/* At a 0x00: check the gathered bytes, fill f and return 0 for a good frame. */
static int
frame_check(struct frame_decoder *d, struct frame *f)
{
	long	 len;

	len = cobs_decode(d->wire, d->n, d->body, sizeof(d->body));
	if (len < 0)
		d->st.bad_cobs++;
	else if ((size_t)len < FRAME_MIN_BODY)
		d->st.runt++;
	else if (!frame_crc_ok(d->body, (size_t)len))
		d->st.bad_crc++;
	else if (frame_accept(d->body, (size_t)len, f) == -1)
		d->st.bad_header++;
	else {
		d->st.frames++;
		d->n = 0;
		return 0;
	}
	d->st.garbage += d->n;
	d->n = 0;
	return -1;
}

/*
 * Gather bytes up to and including the next 0x00 (*delim says whether one was
 * found); returns the bytes used. A run that would overflow the buffer
 * switches to skipping and uses nothing.
 */
static size_t
frame_gather(struct frame_decoder *d, const uint8_t *in, size_t n, int *delim)
{
	const uint8_t	*z;
	size_t		 run;

	z = memchr(in, 0, n);
	run = z != NULL ? (size_t)(z - in) : n;
	*delim = 0;
	if (run > sizeof(d->wire) - 1 - d->n) {
		d->st.oversize++;
		d->st.garbage += d->n;
		d->n = 0;
		d->skipping = 1;
		return 0;
	}
	memcpy(d->wire + d->n, in, run);
	d->n += run;
	if (z == NULL)
		return run;
	*delim = 1;
	return run + 1;
}

/* Oversize: drop bytes up to and including the next 0x00. */
static size_t
frame_skip(struct frame_decoder *d, const uint8_t *in, size_t n)
{
	const uint8_t	*z;

	if ((z = memchr(in, 0, n)) == NULL) {
		d->st.garbage += n;
		return n;
	}
	d->st.garbage += (size_t)(z - in);
	d->skipping = 0;
	return (size_t)(z - in) + 1;
}

int
frame_decoder_push(struct frame_decoder *d, const uint8_t *in, size_t n,
    size_t *used, struct frame *f)
{
	size_t	 i = 0;
	int	 delim;

	while (i < n) {
		if (d->skipping) {
			i += frame_skip(d, in + i, n - i);
			continue;
		}
		i += frame_gather(d, in + i, n - i, &delim);
		if (!delim || d->n == 0)
			continue;
		if (frame_check(d, f) == 0) {
			*used = i;
			return 1;
		}
	}
	*used = n;
	return 0;
}
