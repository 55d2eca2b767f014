/*
 * v1_pgp.c: OpenPGP certification for the v1 listener (action 1, system 2;
 * docs/legacy-v1.md, "OpenPGP").
 *
 * v1 sends only the user's key; PGP_CERTIFY also wants the e-mail
 * addresses webdb has verified. The old system certified every user ID of
 * a key webdb sent, so the v1 listener lists the addresses of all the
 * key's user IDs: webdb's checks before it queues a key are what decide,
 * as before. The signer still applies every other check of the OpenPGP
 * path (self-signatures, algorithms, expiry, revocation, profile).
 *
 * PGP_CERTIFIED carries only the new signature packets; the old client
 * wants the whole key back, ASCII-armoured, with each certification after
 * its user ID. A signature is matched to its user ID by the left 16 bits
 * of its hash (RFC 4880 5.2.3), computed here over the key and each user
 * ID; nothing here verifies a signature (webdb's GnuPG does).
 *
 * The packet walker only reads what it needs, checks every length before
 * it is used, and refuses partial and indeterminate lengths.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "v1_int.h"

#define V1_PGP_MAX_PKTS	256
#define V1_PGP_MAX_UIDS	16

struct v1_pkt {
	uint8_t		 tag;
	size_t		 off;		/* header start */
	size_t		 body;		/* body start */
	size_t		 len;		/* body length */
};

/* The packets of a binary key; -1 when one does not fit the rules above. */
static int
v1_pgp_walk(const uint8_t *p, size_t n, struct v1_pkt *pk, int max)
{
	size_t off = 0, hl, len;
	int k = 0;
	uint8_t b;

	while (off < n) {
		if (k == max || !((b = p[off]) & 0x80))
			return -1;
		if (b & 0x40) {		/* new format */
			pk[k].tag = b & 0x3f;
			if (off + 2 > n)
				return -1;
			if (p[off + 1] < 192) {
				hl = 2;
				len = p[off + 1];
			} else if (p[off + 1] < 224) {
				if (off + 3 > n)
					return -1;
				hl = 3;
				len = ((size_t)(p[off + 1] - 192) << 8) + p[off + 2] + 192;
			} else if (p[off + 1] == 255) {
				if (off + 6 > n)
					return -1;
				hl = 6;
				len = get_be32(p + off + 2);
			} else
				return -1;	/* partial length */
		} else {		/* old format */
			pk[k].tag = (b >> 2) & 0x0f;
			if ((b & 3) == 3)
				return -1;	/* indeterminate */
			hl = 1 + ((size_t)1 << (b & 3));
			if (off + hl > n)
				return -1;
			for (len = 0, b = 1; b < hl; b++)
				len = len << 8 | p[off + b];
		}
		if (pk[k].tag == 0 || len > n - off - hl)
			return -1;
		pk[k].off = off;
		pk[k].body = off + hl;
		pk[k].len = len;
		off += hl + len;
		k++;
	}
	return k;
}

/* A key: packets, the first a public key. */
static int
v1_pgp_key(const uint8_t *p, size_t n, struct v1_pkt *pk, int max)
{
	int k = v1_pgp_walk(p, n, pk, max);

	return k > 0 && pk[0].tag == 6 ? k : -1;
}

/* The address of a user ID: between its last '<' and a final '>', or the
 * whole of it when it is a bare address. 0 (address in a, alen), or -1. */
static int
v1_pgp_addr(const uint8_t *u, size_t n, const uint8_t **a, size_t *alen)
{
	size_t i, lt = n;

	for (i = 0; i < n; i++)
		if (u[i] == '<')
			lt = i;
	if (lt < n && n > 0 && u[n - 1] == '>') {
		*a = u + lt + 1;
		*alen = n - lt - 2;
	} else {
		*a = u;
		*alen = n;
	}
	if (*alen == 0 || *alen > 254 || memchr(*a, '@', *alen) == NULL ||
	    memchr(*a, ' ', *alen) || memchr(*a, '\n', *alen) || memchr(*a, '<', *alen))
		return -1;
	return 0;
}

/* The binary key: armour (headers, base64, a '=' checksum line) or as is. */
static int
v1_pgp_binary(const uint8_t *p, size_t n, struct buf *out)
{
	static const char begin[] = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
	size_t i, line, k = strlen(begin);
	uint32_t acc = 0;
	int bits = 0, v, body = 0;

	buf_reset(out);
	for (i = 0; i + k <= n && memcmp(p + i, begin, k) != 0; i++)
		;
	if (i + k > n)		/* not armoured */
		return n > 0 && (p[0] & 0x80) ? buf_put(out, p, n) : -1;
	for (i += k; i < n && p[i] != '\n'; i++)	/* the rest of that line */
		;
	for (i++; i < n; i = line + 1) {
		for (line = i; line < n && p[line] != '\n'; line++)
			;
		if (!body) {	/* armour headers end at an empty line */
			body = line == i || (line == i + 1 && p[i] == '\r');
			continue;
		}
		if (p[i] == '=' || p[i] == '-')
			break;
		for (; i < line; i++) {
			if (p[i] == '\r' || p[i] == ' ')
				continue;
			if ((v = b64_value(p[i])) < 0)
				return p[i] == '=' ? 0 : -1;
			acc = acc << 6 | (uint32_t)v;
			if ((bits += 6) >= 8) {
				bits -= 8;
				if (buf_put_u8(out, (uint8_t)(acc >> bits)) == -1)
					return -1;
			}
		}
	}
	return out->len > 0 ? 0 : -1;
}

void
v1_do_pgp(struct v1 *v, const struct v1_req *r, uint64_t now)
{
	struct v1_pkt pk[V1_PGP_MAX_PKTS];
	const struct cfg_profile *pr;
	const uint8_t *a;
	struct buf emails;
	struct msg m;
	size_t alen;
	uint32_t days = r->days;
	uint8_t hdr[4] = { r->root, r->profile, (uint8_t)(r->days >> 8), (uint8_t)r->days };
	int i, k, naddr = 0;

	v->st.pgps++;
	if (v->c->v1.pgp_root[0] == '\0') {
		v1_refuse(v, V1_ACT_SIGN, AL_E_ROOT, now, "OpenPGP is off (v1.pgp_root is not set)");
		return;
	}
	if (v1_pgp_binary(r->f1, r->f1_len, &v->job.key) == -1 ||
	    (k = v1_pgp_key(v->job.key.p, v->job.key.len, pk, V1_PGP_MAX_PKTS)) == -1) {
		v1_refuse(v, V1_ACT_SIGN, AL_E_PGP_PARSE, now, "the OpenPGP key does not decode");
		return;
	}
	buf_init(&emails);
	for (i = 0; i < k && naddr < V1_PGP_MAX_UIDS; i++)
		if (pk[i].tag == 13 && v1_pgp_addr(v->job.key.p + pk[i].body,
		    pk[i].len, &a, &alen) == 0) {
			if (naddr++ > 0)
				buf_put_u8(&emails, '\n');
			buf_put(&emails, a, alen);
		}
	if (naddr == 0) {
		buf_free(&emails);
		v1_refuse(v, V1_ACT_SIGN, AL_E_PGP_UID, now, "the OpenPGP key has no user ID with an "
		    "e-mail address");
		return;
	}
	pr = config_profile(v->c, v->c->v1.pgp_profile, strlen(v->c->v1.pgp_profile));
	if (pr != NULL && pr->max_days && days > pr->max_days)
		days = pr->max_days;
	memset(&m, 0, sizeof(m));
	m.type = MSG_PGP_CERTIFY;
	{
		uint8_t h[32];
		struct buf b;

		buf_init(&b);
		buf_put(&b, "airlock v1 pgp", 15);
		buf_put(&b, hdr, sizeof(hdr));
		buf_put(&b, r->f1, r->f1_len);
		crypto_sha256(b.p, b.len, h);
		memcpy(m.reqid, h, AIRLOCK_REQID_LEN);
		buf_free(&b);
	}
	m.root.p = (const uint8_t *)v->c->v1.pgp_root;
	m.root.len = strlen(v->c->v1.pgp_root);
	m.profile.p = (const uint8_t *)v->c->v1.pgp_profile;
	m.profile.len = strlen(v->c->v1.pgp_profile);
	m.pgp_key.p = r->f1;
	m.pgp_key.len = r->f1_len;
	m.emails.p = emails.p;
	m.emails.len = emails.len;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_PROFILE);
	MSG_SET(&m, T_PGP_KEY);
	MSG_SET(&m, T_EMAILS);
	if (days) {
		m.days = days;
		MSG_SET(&m, T_DAYS);
	}
	v1_submit(v, &m, V1_JOB_PGP, V1_ACT_SIGN, now);
	buf_free(&emails);
}

/* Left 16 bits of the SHA-256 certification hash of uid by sig: 0/-1. */
static int
v1_pgp_left16(const uint8_t *key, const struct v1_pkt *pub, const struct v1_pkt *uid,
    const uint8_t *sig, size_t slen, uint8_t out[2])
{
	uint8_t h[32], hdr[5];
	size_t hl;
	struct buf b;

	if (slen < 6 || sig[0] != 4 || sig[3] != 8 || pub->len > 0xffff)
		return -1;
	hl = get_be16(sig + 4);
	if (6 + hl > slen)
		return -1;
	buf_init(&b);
	hdr[0] = 0x99;
	put_be16(hdr + 1, (uint16_t)pub->len);
	buf_put(&b, hdr, 3);
	buf_put(&b, key + pub->body, pub->len);
	hdr[0] = 0xb4;
	put_be32(hdr + 1, (uint32_t)uid->len);
	buf_put(&b, hdr, 5);
	buf_put(&b, key + uid->body, uid->len);
	buf_put(&b, sig, 6 + hl);
	hdr[0] = 4;
	hdr[1] = 0xff;
	buf_put(&b, hdr, 2);
	buf_put_u32(&b, (uint32_t)(6 + hl));
	crypto_sha256(b.p, b.len, h);
	buf_free(&b);
	memcpy(out, h, 2);
	return 0;
}

/* Where the signature goes: after the packets of its user ID. -1: none. */
static int
v1_pgp_place(const uint8_t *key, const struct v1_pkt *pk, int k, const uint8_t *sig,
    size_t slen)
{
	uint8_t l16[2];
	size_t hl, ul;
	int i, end;

	if (slen < 6)
		return -1;
	hl = get_be16(sig + 4);
	if (8 + hl > slen || 8 + hl + (ul = get_be16(sig + 6 + hl)) + 2 > slen)
		return -1;
	for (i = 1; i < k; i++) {
		if (pk[i].tag != 13 || v1_pgp_left16(key, &pk[0], &pk[i], sig, slen, l16) == -1 ||
		    memcmp(l16, sig + 8 + hl + ul, 2) != 0)
			continue;
		for (end = i + 1; end < k && pk[end].tag == 2; end++)
			;
		return end;
	}
	return -1;
}

static uint32_t
v1_crc24(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xb704ce;
	int i;

	while (n--) {
		crc ^= (uint32_t)*p++ << 16;
		for (i = 0; i < 8; i++)
			if ((crc <<= 1) & 0x1000000)
				crc ^= 0x1864cfb;
	}
	return crc & 0xffffff;
}

static void
v1_b64_put(struct buf *out, const uint8_t *p, size_t n, int wrap)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t x;
	size_t i;
	char q[4];

	for (i = 0; i < n; i += 3) {
		x = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		    (i + 2 < n ? p[i + 2] : 0);
		q[0] = t[x >> 18];
		q[1] = t[(x >> 12) & 63];
		q[2] = i + 1 < n ? t[(x >> 6) & 63] : '=';
		q[3] = i + 2 < n ? t[x & 63] : '=';
		buf_put(out, q, 4);
		if (wrap && (i / 3 + 1) % 16 == 0 && i + 3 < n)
			buf_put_u8(out, '\n');
	}
}

static void
v1_pgp_armour(const uint8_t *p, size_t n, struct buf *out)
{
	uint8_t crc[3];
	uint32_t c = v1_crc24(p, n);

	crc[0] = (uint8_t)(c >> 16);
	crc[1] = (uint8_t)(c >> 8);
	crc[2] = (uint8_t)c;
	buf_put(out, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n", 38);
	v1_b64_put(out, p, n, 1);
	buf_put(out, "\n=", 2);
	v1_b64_put(out, crc, 3, 0);
	buf_put(out, "\n-----END PGP PUBLIC KEY BLOCK-----\n", 36);
}

void
v1_pgp_answer(struct v1 *v, const struct msg *m, int64_t tag, uint64_t now)
{
	struct v1_pkt pk[V1_PGP_MAX_PKTS], sg[V1_PGP_MAX_UIDS];
	const uint8_t *key = v->job.key.p;
	struct buf merged, out;
	int k, ns, i, j, at[V1_PGP_MAX_UIDS];

	if (m->type != MSG_PGP_CERTIFIED ||
	    (k = v1_pgp_key(key, v->job.key.len, pk, V1_PGP_MAX_PKTS)) == -1 ||
	    (ns = v1_pgp_walk(m->pgp_sigs.p, m->pgp_sigs.len, sg, V1_PGP_MAX_UIDS)) <= 0) {
		v1_refuse(v, V1_ACT_SIGN, AL_E_INTERNAL, now, "no certification in the answer");
		return;
	}
	for (j = 0; j < ns; j++)
		if (sg[j].tag != 2 || (at[j] = v1_pgp_place(key, pk, k,
		    m->pgp_sigs.p + sg[j].body, sg[j].len)) == -1) {
			v1_refuse(v, V1_ACT_SIGN, AL_E_INTERNAL, now, "certification %d does not belong "
			    "to a user ID of the key", j + 1);
			return;
		}
	buf_init(&merged);
	for (i = 0; i <= k; i++) {
		for (j = 0; j < ns; j++)
			if (at[j] == i)
				buf_put(&merged, m->pgp_sigs.p + sg[j].off,
				    sg[j].body + sg[j].len - sg[j].off);
		if (i < k)
			buf_put(&merged, key + pk[i].off, pk[i].body + pk[i].len - pk[i].off);
	}
	buf_init(&out);
	v1_pgp_armour(merged.p, merged.len, &out);
	v->job.kind = V1_JOB_NONE;
	v1_send(v, V1_ACT_SIGN, out.p, out.len, tag, now);
	buf_free(&merged);
	buf_free(&out);
}
