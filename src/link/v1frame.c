/*
 * v1frame.c: the framing of CAcert's old CommModule protocol ("v1") and
 * the few pure helpers the v1 listener needs (docs/legacy-v1.md).
 *
 * The receiver is fed the raw bytes of the cable and never reads, sleeps,
 * allocates or fails. Its conditions, in order:
 *  - outside a transfer every byte but STX is garbage (counted, dropped);
 *    STX starts a transfer (the caller answers ACK);
 *  - inside a transfer the first three bytes are the body length; one above
 *    V1_MAX_BODY is oversize: the transfer is given up and the rest of it
 *    drained until the line is quiet (a repeat could not be shorter, so a
 *    NAK would only make the old client send it again for ever);
 *  - when the bytes reach the length: XOR byte and trailer right is a good
 *    frame; trailer right and XOR wrong is a NAK (the old server never
 *    checked the XOR); trailer wrong means the length lied or the trailer
 *    is missing, and the receiver goes on gathering;
 *  - at any byte, bytes that end with the trailer preceded by the XOR of
 *    everything before it are a whole transmission; if the length field
 *    disagrees with it, that is a lying length: NAK;
 *  - a quiet line inside a frame (v1_dec_quiet) is a NAK when bytes were
 *    gathered, and the end of the transfer when none were;
 *  - after V1_MAX_NAKS NAKs in one transfer the receiver gives up and stays
 *    silent, so a sender that repeats a broken frame cannot loop for ever.
 * The gathered bytes never exceed the fixed buffer: the length is checked
 * before each copy.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "v1frame.h"

void
v1_dec_init(struct v1_dec *d)
{
	memset(d, 0, offsetof(struct v1_dec, buf));
}

static uint32_t
v1_get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Refuse the frame gathered so far: NAK, or silence after too many. */
static int
v1_dec_refuse(struct v1_dec *d, int why)
{
	uint64_t *c[] = { NULL, &d->st.bad_xor, &d->st.bad_length,
	    &d->st.bad_trailer, &d->st.oversize, &d->st.stalls };

	(*c[why])++;
	d->last_bad = why;
	d->n = 0;
	d->x = 0;
	if (why == V1_BAD_OVERSIZE || ++d->naks > V1_MAX_NAKS) {
		d->state = why == V1_BAD_OVERSIZE ? V1D_DRAIN : V1D_IDLE;
		d->st.giveups++;
		return V1_EV_GIVEUP;
	}
	d->st.naks++;
	return V1_EV_NAK;
}

/* The gathered bytes end with XOR || trailer and the XOR is right. */
static int
v1_dec_whole(const struct v1_dec *d)
{
	uint8_t x = d->x;
	size_t i;

	if (d->n < 3 + 1 + V1_TRAILER_LEN ||
	    memcmp(d->buf + d->n - V1_TRAILER_LEN, V1_TRAILER, V1_TRAILER_LEN) != 0)
		return 0;
	for (i = d->n - V1_TRAILER_LEN - 1; i < d->n; i++)
		x ^= d->buf[i];
	return x == d->buf[d->n - V1_TRAILER_LEN - 1];
}

/* One byte of a frame. */
static int
v1_dec_byte(struct v1_dec *d, uint8_t c)
{
	size_t need;

	d->buf[d->n++] = c;
	d->x ^= c;
	if (d->n < 3)
		return V1_EV_NONE;
	if (v1_get24(d->buf) > V1_MAX_BODY)
		return v1_dec_refuse(d, V1_BAD_OVERSIZE);
	need = 3 + v1_get24(d->buf) + 1 + V1_TRAILER_LEN;
	if (d->n == need && memcmp(d->buf + need - V1_TRAILER_LEN, V1_TRAILER,
	    V1_TRAILER_LEN) == 0) {
		if (!v1_dec_whole(d))
			return v1_dec_refuse(d, V1_BAD_XOR);
		d->body = d->buf + 3;
		d->len = need - 3 - 1 - V1_TRAILER_LEN;
		d->state = V1D_IDLE;
		d->st.frames++;
		return V1_EV_FRAME;
	}
	if (v1_dec_whole(d))
		return v1_dec_refuse(d, V1_BAD_LENGTH);
	if (d->n == sizeof(d->buf))	/* a lying length and no trailer */
		return v1_dec_refuse(d, V1_BAD_OVERSIZE);
	return V1_EV_NONE;
}

int
v1_dec_push(struct v1_dec *d, const uint8_t *in, size_t n, size_t *used)
{
	size_t i;
	int ev;

	for (i = 0; i < n; i++) {
		switch (d->state) {
		case V1D_IDLE:
			if (in[i] != V1_STX) {
				d->st.garbage++;
				continue;
			}
			d->state = V1D_FRAME;
			d->n = 0;
			d->x = 0;
			d->naks = 0;
			*used = i + 1;
			return V1_EV_STX;
		case V1D_DRAIN:
			d->st.garbage++;
			continue;
		default:
			if ((ev = v1_dec_byte(d, in[i])) != V1_EV_NONE) {
				*used = i + 1;
				return ev;
			}
		}
	}
	*used = n;
	return V1_EV_NONE;
}

int
v1_dec_quiet(struct v1_dec *d)
{
	if (d->state == V1D_FRAME && d->n > 0)
		return v1_dec_refuse(d, d->n >= 3 && d->n >= 3 + v1_get24(d->buf) +
		    1 + V1_TRAILER_LEN ? V1_BAD_TRAILER : V1_BAD_STALL);
	d->state = V1D_IDLE;
	d->n = 0;
	return V1_EV_NONE;
}

const char *
v1_bad_name(int why)
{
	static const char *const names[] = { "none", "wrong XOR byte",
	    "length disagrees with the trailer", "no trailer where the length ends",
	    "frame longer than the limit", "line quiet inside a frame" };

	return why >= 0 && why <= V1_BAD_STALL ? names[why] : "?";
}

/* One len24-prefixed field at *p: 0, or -1 when it runs past end. */
static int
v1_field(const uint8_t **p, const uint8_t *end, const uint8_t **f, size_t *flen)
{
	size_t n;

	if (end - *p < 3)
		return -1;
	n = v1_get24(*p);
	if ((size_t)(end - *p - 3) < n)
		return -1;
	*f = *p + 3;
	*flen = n;
	*p += 3 + n;
	return 0;
}

int
v1_req_parse(const uint8_t *b, size_t len, struct v1_req *r, char *why, size_t whysz)
{
	const uint8_t *p = b, *end = b + len, *h;
	size_t hl;

	memset(r, 0, sizeof(*r));
	if (v1_field(&p, end, &h, &hl) == -1 || v1_field(&p, end, &r->f1, &r->f1_len) == -1 ||
	    v1_field(&p, end, &r->f2, &r->f2_len) == -1 ||
	    v1_field(&p, end, &r->f3, &r->f3_len) == -1 || p != end) {
		say(why, whysz, "the body is not exactly four length-prefixed fields");
		return -1;
	}
	if (hl != V1_REQ_HDR_LEN) {
		say(why, whysz, "the header has %zu bytes, not 9", hl);
		return -1;
	}
	r->version = h[0];
	r->action = h[1];
	r->system = h[2];
	r->root = h[3];
	r->profile = h[4];
	r->md = h[5];
	r->days = (uint16_t)(h[6] << 8 | h[7]);
	r->flag = h[8];
	if (r->version != V1_VERSION) {
		say(why, whysz, "protocol version %u, not 1", r->version);
		return -1;
	}
	if (r->action > V1_ACT_REVOKE) {
		say(why, whysz, "unknown action %u", r->action);
		return -1;
	}
	if (r->f1_len > V1_MAX_FIELD1 || r->f2_len > V1_MAX_FIELD2 ||
	    r->f3_len > V1_MAX_FIELD3) {
		say(why, whysz, "a field is longer than its limit (%u, %u, %u bytes)",
		    V1_MAX_FIELD1, V1_MAX_FIELD2, V1_MAX_FIELD3);
		return -1;
	}
	return 0;
}

static int
v1_put24(struct buf *out, size_t n)
{
	uint8_t l[3] = { (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	return buf_put(out, l, 3);
}

int
v1_frame_encode(const uint8_t *body, size_t len, struct buf *out)
{
	uint8_t x = 0;
	size_t i, start = out->len;

	if (len >= 1u << 24 || v1_put24(out, len) == -1 || buf_put(out, body, len) == -1)
		return -1;
	for (i = start; i < out->len; i++)
		x ^= out->p[i];
	return buf_put_u8(out, x) == -1 || buf_put(out, V1_TRAILER, V1_TRAILER_LEN) == -1 ?
	    -1 : 0;
}

static int
v1_put_field(struct buf *b, const uint8_t *p, size_t n)
{
	return v1_put24(b, n) == -1 || buf_put(b, p, n) == -1 ? -1 : 0;
}

int
v1_answer_encode(int action, const uint8_t *c, size_t clen, struct buf *out)
{
	uint8_t hdr[V1_ANS_HDR_LEN] = { V1_VERSION, (uint8_t)action, 0, 0 };
	struct buf b;
	int rc = -1;

	buf_init(&b);
	if (clen < 1u << 24 && v1_put_field(&b, hdr, sizeof(hdr)) == 0 &&
	    v1_put_field(&b, c, clen) == 0 && v1_put_field(&b, NULL, 0) == 0 &&
	    v1_put_field(&b, NULL, 0) == 0)
		rc = v1_frame_encode(b.p, b.len, out);
	buf_free(&b);
	return rc;
}

int
v1_req_encode(const struct v1_req *r, struct buf *out)
{
	uint8_t h[V1_REQ_HDR_LEN] = { r->version, r->action, r->system, r->root,
	    r->profile, r->md, (uint8_t)(r->days >> 8), (uint8_t)r->days, r->flag };

	return v1_put_field(out, h, sizeof(h)) == -1 ||
	    v1_put_field(out, r->f1, r->f1_len) == -1 ||
	    v1_put_field(out, r->f2, r->f2_len) == -1 ||
	    v1_put_field(out, r->f3, r->f3_len) == -1 ? -1 : 0;
}

static int
v1_digits(const uint8_t *p, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* What the old client sends: strftime("%m%d%H%M%Y.%S", gmtime). */
int
v1_time_parse(const uint8_t *p, size_t n, int64_t *out)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (n != 15 || p[12] != '.')
		return -1;
	tm.tm_mon = v1_digits(p, 2) - 1;
	tm.tm_mday = v1_digits(p + 2, 2);
	tm.tm_hour = v1_digits(p + 4, 2);
	tm.tm_min = v1_digits(p + 6, 2);
	tm.tm_year = v1_digits(p + 8, 4) - 1900;
	tm.tm_sec = v1_digits(p + 13, 2);
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 ||
	    tm.tm_sec < 0 || tm.tm_sec > 60 || tm.tm_year < 70 || tm.tm_year > 8000)
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* Base64 between p and end (white space skipped, '=' ends it) into out. */
static int
v1_b64_decode(const uint8_t *p, const uint8_t *end, struct buf *out)
{
	uint32_t acc = 0;
	int bits = 0, v;

	for (; p < end && *p != '='; p++) {
		if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			continue;
		if ((v = b64_value(*p)) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			if (buf_put_u8(out, (uint8_t)(acc >> bits)) == -1)
				return -1;
		}
	}
	return 0;
}

static const uint8_t *
v1_find(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s), i;

	for (i = 0; k <= n && i <= n - k; i++)
		if (memcmp(p + i, s, k) == 0)
			return p + i;
	return NULL;
}

int
v1_pem_der(const uint8_t *p, size_t n, const char *label, struct buf *out)
{
	char begin[64], end[64];
	const uint8_t *b, *e;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if ((b = v1_find(p, n, begin)) == NULL)
		return -1;
	b += strlen(begin);
	if ((e = v1_find(b, (size_t)(p + n - b), end)) == NULL)
		return -1;
	buf_reset(out);
	return v1_b64_decode(b, e, out) == -1 || out->len == 0 ? -1 : 0;
}

/* A DER header at *p: tag, and the content's bounds. 0, or -1. */
static int
v1_der(const uint8_t **p, const uint8_t *end, uint8_t *tag, const uint8_t **c, size_t *clen)
{
	size_t n = 0, k;

	if (end - *p < 2)
		return -1;
	*tag = (*p)[0];
	n = (*p)[1];
	*p += 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k == 0 || k > 3 || (size_t)(end - *p) < k)
			return -1;
		for (n = 0; k > 0; k--)
			n = n << 8 | *(*p)++;
	}
	if ((size_t)(end - *p) < n)
		return -1;
	*c = *p;
	*clen = n;
	*p += n;
	return 0;
}

int
v1_cert_serial(const uint8_t *der, size_t len, const uint8_t **s, size_t *slen)
{
	const uint8_t *p = der, *c, *tbs, *end;
	size_t n;
	uint8_t tag;

	if (v1_der(&p, der + len, &tag, &c, &n) == -1 || tag != 0x30)
		return -1;
	p = c;
	if (v1_der(&p, c + n, &tag, &tbs, &n) == -1 || tag != 0x30)
		return -1;
	p = tbs;
	end = tbs + n;
	if (v1_der(&p, end, &tag, &c, &n) == -1)
		return -1;
	if (tag == 0xa0 && v1_der(&p, end, &tag, &c, &n) == -1)	/* [0] version */
		return -1;
	if (tag != 0x02 || n == 0 || n > 20 + 1)
		return -1;
	while (n > 1 && c[0] == 0) {
		c++;
		n--;
	}
	*s = c;
	*slen = n;
	return 0;
}
