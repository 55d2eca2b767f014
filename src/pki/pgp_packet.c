/*
 * pgp_packet.c: OpenPGP bytes without cryptography (RFC 4880, RFC 9580):
 * ASCII armour, packet headers, public-key and signature packets, and the
 * shape of a transferable public key. Every byte comes from a web user, so:
 *  - a length is checked against what is left before any pointer is formed;
 *  - partial body lengths and indeterminate old-format lengths are refused
 *    (no key packet needs them), as are unknown packet tags inside a key;
 *  - a key has at most PGP_MAX_PACKETS packets and the caller caps its size;
 *  - only version 4 keys and signatures are parsed; anything else is
 *    reported, never guessed at.
 * Parsed structures point into the input and copy nothing.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgp.h"

int
pgp_fail(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whysz > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whysz, fmt, ap);
		va_end(ap);
	}
	return -1;
}


/* ---- ASCII armour ---- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint32_t
pgp_crc24(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xb704ceu;
	int i;

	while (n-- > 0) {
		crc ^= (uint32_t)*p++ << 16;
		for (i = 0; i < 8; i++) {
			crc <<= 1;
			if (crc & 0x1000000u)
				crc ^= 0x1864cfbu;
		}
	}
	return crc & 0xffffffu;
}

/* Strict base64 of s (n chars, no whitespace) appended to out. */
static int
b64_decode(const char *s, size_t n, struct buf *out)
{
	uint32_t acc = 0;
	size_t i, pad = 0;
	int v, bits = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '=') {
			if (i + 2 < n || (i + 1 < n && s[i + 1] != '='))
				return -1;
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_put_u8(out, (uint8_t)(acc >> bits)) == -1)
				return -1;
		}
	}
	return pad > 2 ? -1 : 0;
}

static int
b64_encode(const uint8_t *p, size_t n, struct buf *out, int wrap)
{
	size_t i, col = 0;
	uint32_t v;
	char q[4];

	for (i = 0; i < n; i += 3) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		if (buf_put(out, q, 4) == -1)
			return -1;
		col += 4;
		if (wrap && col == 64 && i + 3 < n) {
			if (buf_put_u8(out, '\n') == -1)
				return -1;
			col = 0;
		}
	}
	return 0;
}

int
pgp_armor(const char *label, const uint8_t *p, size_t n, struct buf *out)
{
	uint8_t crc[3];
	uint32_t c = pgp_crc24(p, n);
	char line[80];

	crc[0] = (uint8_t)(c >> 16);
	crc[1] = (uint8_t)(c >> 8);
	crc[2] = (uint8_t)c;
	snprintf(line, sizeof(line), "-----BEGIN PGP %s-----\n\n", label);
	if (buf_put(out, line, strlen(line)) == -1 || b64_encode(p, n, out, 1) == -1 ||
	    buf_put(out, "\n=", 2) == -1 || b64_encode(crc, 3, out, 0) == -1)
		return -1;
	snprintf(line, sizeof(line), "\n-----END PGP %s-----\n", label);
	return buf_put(out, line, strlen(line));
}

/* One line of p starting at *off, without its end of line; NULL at the end. */
static const char *
armor_line(const uint8_t *p, size_t n, size_t *off, size_t *len)
{
	const char *s = (const char *)p + *off;
	const char *nl;

	if (*off >= n)
		return NULL;
	nl = memchr(s, '\n', n - *off);
	*len = nl != NULL ? (size_t)(nl - s) : n - *off;
	*off += *len + (nl != NULL);
	while (*len > 0 && (s[*len - 1] == '\r' || s[*len - 1] == ' ' ||
	    s[*len - 1] == '\t'))
		(*len)--;
	return s;
}

int
pgp_dearmor(const uint8_t *p, size_t n, struct buf *out, char *why, size_t whysz)
{
	size_t off = 0, len, i;
	const char *s;
	struct buf b64s;
	int in_hdr = 1, rc = -1, have_crc = 0;
	uint8_t crc[3];

	buf_reset(out);
	if (n == 0)
		return pgp_fail(why, whysz, "the key is empty");
	if (p[0] & 0x80)	/* binary: a packet header */
		return buf_put(out, p, n);
	while ((s = armor_line(p, n, &off, &len)) != NULL)
		if (len >= 15 && memcmp(s, "-----BEGIN PGP ", 15) == 0)
			break;
	if (s == NULL || len < 20 || memcmp(s + len - 5, "-----", 5) != 0)
		return pgp_fail(why, whysz, "neither a binary OpenPGP key nor ASCII armour");
	buf_init(&b64s);
	while ((s = armor_line(p, n, &off, &len)) != NULL) {
		if (len >= 9 && memcmp(s, "-----END ", 9) == 0)
			break;
		if (in_hdr && len == 0) {
			in_hdr = 0;
			continue;
		}
		if (in_hdr && memchr(s, ':', len) != NULL)
			continue;	/* an armour header such as "Comment: ..." */
		in_hdr = 0;
		if (len == 5 && s[0] == '=') {
			struct buf c;

			buf_init(&c);
			if (b64_decode(s + 1, 4, &c) == 0 && c.len == 3) {
				memcpy(crc, c.p, 3);
				have_crc = 1;
			}
			buf_free(&c);
			if (!have_crc)
				goto bad;
			continue;
		}
		for (i = 0; i < len; i++)
			if (!isspace((unsigned char)s[i]) && buf_put_u8(&b64s, (uint8_t)s[i]) == -1)
				goto bad;
	}
	if (s == NULL)
		goto bad;
	if (b64_decode((const char *)b64s.p, b64s.len, out) == -1 || out->len == 0)
		goto bad;
	if (have_crc && pgp_crc24(out->p, out->len) !=
	    ((uint32_t)crc[0] << 16 | (uint32_t)crc[1] << 8 | crc[2])) {
		pgp_fail(why, whysz, "the ASCII armour's checksum is wrong");
		goto done;
	}
	rc = 0;
	goto done;
bad:
	pgp_fail(why, whysz, "the ASCII armour is malformed");
done:
	buf_free(&b64s);
	if (rc == -1)
		buf_reset(out);
	return rc;
}

/* ---- packets ---- */

int
pgp_next(const uint8_t *p, size_t len, size_t *off, struct pgp_pkt *pk,
    char *why, size_t whysz)
{
	size_t o = *off, left = len - *off, hl, bl;
	uint8_t b;

	if (*off >= len)
		return 0;
	b = p[o];
	if (!(b & 0x80))
		return pgp_fail(why, whysz, "a packet header is malformed");
	if (b & 0x40) {		/* new format */
		pk->tag = b & 0x3f;
		if (left < 2)
			goto trunc;
		if (p[o + 1] < 192) {
			hl = 2;
			bl = p[o + 1];
		} else if (p[o + 1] < 224) {
			if (left < 3)
				goto trunc;
			hl = 3;
			bl = ((size_t)(p[o + 1] - 192) << 8) + p[o + 2] + 192;
		} else if (p[o + 1] == 255) {
			if (left < 6)
				goto trunc;
			hl = 6;
			bl = (size_t)p[o + 2] << 24 | (size_t)p[o + 3] << 16 |
			    (size_t)p[o + 4] << 8 | p[o + 5];
		} else
			return pgp_fail(why, whysz, "a packet uses partial body lengths");
	} else {		/* old format */
		pk->tag = (b >> 2) & 0x0f;
		switch (b & 3) {
		case 0: hl = 2; break;
		case 1: hl = 3; break;
		case 2: hl = 5; break;
		default:
			return pgp_fail(why, whysz, "a packet has an indeterminate length");
		}
		if (left < hl)
			goto trunc;
		for (bl = 0, o = *off + 1; o < *off + hl; o++)
			bl = bl << 8 | p[o];
		o = *off;
	}
	if (pk->tag == 0)
		return pgp_fail(why, whysz, "a packet has the reserved tag 0");
	if (bl > left - hl)
		goto trunc;
	pk->raw = p + o;
	pk->rawlen = hl + bl;
	pk->body = p + o + hl;
	pk->len = bl;
	*off = o + hl + bl;
	return 1;
trunc:
	return pgp_fail(why, whysz, "a packet is truncated");
}

int
pgp_put_hdr(struct buf *out, int tag, size_t len)
{
	if (buf_put_u8(out, (uint8_t)(0xc0 | tag)) == -1)
		return -1;
	if (len < 192)
		return buf_put_u8(out, (uint8_t)len);
	if (len < 8384)
		return buf_put_u8(out, (uint8_t)(((len - 192) >> 8) + 192)) == -1 ? -1 :
		    buf_put_u8(out, (uint8_t)(len - 192));
	return buf_put_u8(out, 255) == -1 ? -1 : buf_put_u32(out, (uint32_t)len);
}

int
pgp_put_mpi(struct buf *out, const uint8_t *p, size_t n)
{
	unsigned bits;
	int i;

	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	bits = (unsigned)n * 8;
	for (i = 7; n > 0 && i >= 0 && !(p[0] >> i & 1); i--)
		bits--;
	if (bits > 65535 || buf_put_u16(out, (uint16_t)bits) == -1)
		return -1;
	return buf_put(out, p, n);
}

int
pgp_mpi_get(const uint8_t *p, size_t n, size_t *off, const uint8_t **v, size_t *vlen)
{
	size_t bytes;

	if (n - *off < 2)
		return -1;
	bytes = (((size_t)p[*off] << 8 | p[*off + 1]) + 7) / 8;
	if (n - *off - 2 < bytes)
		return -1;
	*v = p + *off + 2;
	*vlen = bytes;
	*off += 2 + bytes;
	return 0;
}

static const struct {
	uint8_t		 len;
	uint8_t		 oid[10];
	int		 curve;
	int		 bits;
} pgp_curves[] = {
	{ 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 }, PGP_CURVE_P256, 256 },
	{ 5, { 0x2b, 0x81, 0x04, 0x00, 0x22 }, PGP_CURVE_P384, 384 },
	{ 5, { 0x2b, 0x81, 0x04, 0x00, 0x23 }, PGP_CURVE_P521, 521 },
	{ 9, { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01 }, PGP_CURVE_ED25519, 255 },
	{ 10, { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 }, PGP_CURVE_CV25519, 255 },
};

static int
pgp_curve(const uint8_t *oid, size_t len, int *bits)
{
	size_t i;

	for (i = 0; i < sizeof(pgp_curves) / sizeof(pgp_curves[0]); i++)
		if (pgp_curves[i].len == len && memcmp(pgp_curves[i].oid, oid, len) == 0) {
			*bits = pgp_curves[i].bits;
			return pgp_curves[i].curve;
		}
	*bits = 0;
	return PGP_CURVE_OTHER;
}

int
pgp_parse_pub(const uint8_t *p, size_t n, struct pgp_pub *k, size_t *pubend,
    char *why, size_t whysz)
{
	const uint8_t *v;
	size_t off = 6, vl, i, nmpi = 0;

	memset(k, 0, sizeof(*k));
	if (n < 1)
		return pgp_fail(why, whysz, "a key packet is empty");
	k->version = p[0];
	if (k->version != 4)
		return pgp_fail(why, whysz, "the key is not an OpenPGP version 4 key");
	if (n < 6)
		return pgp_fail(why, whysz, "a key packet is truncated");
	k->created = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	k->alg = p[5];
	switch (k->alg) {
	case PGP_PK_RSA: case PGP_PK_RSA_E: case PGP_PK_RSA_S: nmpi = 2; break;
	case PGP_PK_DSA: nmpi = 4; break;
	case PGP_PK_ELG: nmpi = 3; break;
	case PGP_PK_ECDSA: case PGP_PK_ECDH: case PGP_PK_EDDSA:
		if (off >= n || p[off] == 0 || p[off] == 255 || n - off - 1 < p[off])
			return pgp_fail(why, whysz, "a key packet's curve is malformed");
		k->curve = pgp_curve(p + off + 1, p[off], &k->bits);
		off += 1 + p[off];
		nmpi = 1;
		break;
	case PGP_PK_ED25519:
		if (n - off < 32)
			return pgp_fail(why, whysz, "a key packet is truncated");
		k->curve = PGP_CURVE_ED25519;
		k->bits = 255;
		off += 32;
		break;
	default:
		off = n;	/* unknown material: the rest */
	}
	for (i = 0; i < nmpi; i++) {
		if (pgp_mpi_get(p, n, &off, &v, &vl) == -1)
			return pgp_fail(why, whysz, "a key packet's numbers are truncated");
		if (i == 0 && (k->alg <= PGP_PK_RSA_S || k->alg == PGP_PK_DSA ||
		    k->alg == PGP_PK_ELG))
			k->bits = (int)(((size_t)p[off - vl - 2] << 8) | p[off - vl - 1]);
	}
	if (k->alg == PGP_PK_ECDH) {	/* KDF parameters */
		if (off >= n || n - off - 1 < p[off])
			return pgp_fail(why, whysz, "a key packet is truncated");
		off += 1 + p[off];
	}
	k->body = p;
	k->mat = p + 6;
	k->matlen = off - 6;
	k->len = off;
	if (pubend != NULL)
		*pubend = off;
	else if (off != n)
		return pgp_fail(why, whysz, "a key packet has bytes after its key");
	return 0;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Subpackets the module understands; an unknown critical one voids a sig. */
static int
sub_known(int t)
{
	return (t >= 2 && t <= 7) || t == 9 || t == 11 || t == 12 || t == 16 ||
	    (t >= 21 && t <= 28) || t == 29 || t == 30 || t == 31 || t == 32 ||
	    t == 33 || t == 34 || t == 39;
}

static int
sig_subpackets(const uint8_t *p, size_t n, int hashed, struct pgp_sig *s)
{
	const uint8_t *d;
	size_t off = 0, l, hl, dl;
	int t;

	while (off < n) {
		if (p[off] < 192) {
			l = p[off];
			hl = 1;
		} else if (p[off] < 255) {
			if (n - off < 2)
				return -1;
			l = ((size_t)(p[off] - 192) << 8) + p[off + 1] + 192;
			hl = 2;
		} else {
			if (n - off < 5)
				return -1;
			l = get32(p + off + 1);
			hl = 5;
		}
		if (l == 0 || l > n - off - hl)
			return -1;
		t = p[off + hl] & 0x7f;
		if ((p[off + hl] & 0x80) && hashed && !sub_known(t))
			s->critical_unknown = 1;
		d = p + off + hl + 1;
		dl = l - 1;
		off += hl + l;
		if (hashed && t == 2 && dl == 4)
			s->created = get32(d);
		else if (hashed && t == 3 && dl == 4)
			s->sig_expires = get32(d);
		else if (hashed && t == 9 && dl == 4)
			s->key_expires = get32(d);
		else if (hashed && t == 27 && dl >= 1) {
			s->key_flags = d[0];
			s->has_flags = 1;
		}
		else if (t == 16 && dl == 8) {
			memcpy(s->issuer, d, 8);
			s->has_issuer = 1;
		} else if (t == 33 && dl == 21 && d[0] == 4) {
			memcpy(s->issuer_fpr, d + 1, PGP_FPR_LEN);
			s->has_fpr = 1;
		} else if ((t == 2 || t == 3 || t == 9 || t == 16) && hashed)
			return -1;	/* a known subpacket of the wrong size */
	}
	return 0;
}

int
pgp_parse_sig(const uint8_t *p, size_t n, struct pgp_sig *s, char *why, size_t whysz)
{
	size_t hl, ul;

	memset(s, 0, sizeof(*s));
	if (n < 1)
		return pgp_fail(why, whysz, "a signature packet is empty");
	s->version = p[0];
	if (s->version != 4) {
		pgp_fail(why, whysz, "a signature is not version 4");
		return -2;
	}
	if (n < 6)
		return pgp_fail(why, whysz, "a signature packet is truncated");
	s->type = p[1];
	s->pkalg = p[2];
	s->hashalg = p[3];
	hl = (size_t)p[4] << 8 | p[5];
	if (n - 6 < hl + 2)
		return pgp_fail(why, whysz, "a signature packet is truncated");
	s->hashed = p;
	s->hashedlen = 6 + hl;
	ul = (size_t)p[6 + hl] << 8 | p[7 + hl];
	if (n - 8 - hl < ul + 2)
		return pgp_fail(why, whysz, "a signature packet is truncated");
	if (sig_subpackets(p + 6, hl, 1, s) == -1 ||
	    sig_subpackets(p + 8 + hl, ul, 0, s) == -1)
		return pgp_fail(why, whysz, "a signature's subpackets are malformed");
	memcpy(s->left16, p + 8 + hl + ul, 2);
	s->mpis = p + 10 + hl + ul;
	s->mpilen = n - 10 - hl - ul;
	if (s->mpilen == 0)
		return pgp_fail(why, whysz, "a signature has no signature value");
	return 0;
}

/* ---- transferable keys ---- */

void
pgp_key_free(struct pgp_key *k)
{
	if (k == NULL)
		return;
	pgp_pub_free(&k->pub);
	buf_free(&k->bin);
	free(k);
}

/* Packets allowed after the primary key, in the order RFC 4880 11.1 gives. */
static int
key_shape(struct pgp_key *k, int secret, char *why, size_t whysz)
{
	int i, seen_sub = 0, t;

	for (i = 1; i < k->npkt; i++) {
		t = k->pkt[i].tag;
		if (t == PGP_TAG_PUBKEY || t == PGP_TAG_SECKEY)
			return pgp_fail(why, whysz, "the input holds more than one key");
		if (t == PGP_TAG_PUBSUB || (secret && t == PGP_TAG_SECSUB))
			seen_sub = 1;
		else if ((t == PGP_TAG_UID || t == PGP_TAG_UATTR) && seen_sub)
			return pgp_fail(why, whysz, "a user ID follows a subkey");
		else if (t != PGP_TAG_SIG && t != PGP_TAG_UID && t != PGP_TAG_UATTR &&
		    t != PGP_TAG_TRUST)
			return pgp_fail(why, whysz, "the key holds a packet of a type keys do not have");
		if (t == PGP_TAG_UID && k->pkt[i].len > PGP_MAX_UID_LEN)
			return pgp_fail(why, whysz, "a user ID is too long");
	}
	return 0;
}

int
pgp_key_parse(const uint8_t *p, size_t n, int secret, struct pgp_key **out,
    char *why, size_t whysz)
{
	struct pgp_key *k;
	size_t off = 0, pubend;
	int r;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return pgp_fail(why, whysz, "out of memory");
	buf_init(&k->bin);
	if (buf_put(&k->bin, p, n) == -1) {
		free(k);
		return pgp_fail(why, whysz, "out of memory");
	}
	for (;;) {
		if (k->npkt == PGP_MAX_PACKETS) {
			pgp_fail(why, whysz, "the key has too many packets");
			goto fail;
		}
		r = pgp_next(k->bin.p, k->bin.len, &off, &k->pkt[k->npkt], why, whysz);
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		k->npkt++;
	}
	if (k->npkt == 0 || k->pkt[0].tag != (secret ? PGP_TAG_SECKEY : PGP_TAG_PUBKEY)) {
		pgp_fail(why, whysz, secret ? "the input does not start with a secret key" :
		    "the input does not start with a public key");
		goto fail;
	}
	if (key_shape(k, secret, why, whysz) == -1 ||
	    pgp_parse_pub(k->pkt[0].body, k->pkt[0].len, &k->pub,
	    secret ? &pubend : NULL, why, whysz) == -1)
		goto fail;
	*out = k;
	return 0;
fail:
	pgp_key_free(k);
	return -1;
}

int
pgp_uid_email(const uint8_t *u, size_t n, char *out, size_t outsz)
{
	const uint8_t *lt = NULL, *a;
	size_t i, alen, at = 0;

	for (i = 0; i < n; i++)
		if (u[i] == '<')
			lt = u + i;
	if (lt != NULL) {
		if (u[n - 1] != '>')
			return -1;
		a = lt + 1;
		alen = (size_t)(u + n - 1 - a);
	} else {
		a = u;
		alen = n;
	}
	if (alen < 3 || alen >= outsz || alen > 254)
		return -1;
	for (i = 0; i < alen; i++) {
		if (a[i] <= 0x20 || a[i] >= 0x7f || a[i] == '<' || a[i] == '>')
			return -1;
		if (a[i] == '@')
			at++;
	}
	if (at != 1 || a[0] == '@' || a[alen - 1] == '@')
		return -1;
	memcpy(out, a, alen);
	out[alen] = '\0';
	return 0;
}

void
pgp_fpr_hex(const uint8_t fpr[PGP_FPR_LEN], char out[41])
{
	int i;

	for (i = 0; i < PGP_FPR_LEN; i++)
		snprintf(out + 2 * i, 3, "%02X", fpr[i]);
}
