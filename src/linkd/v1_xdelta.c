/*
 * v1_xdelta.c: CRL answers of the v1 listener as xdelta 1.1 patches
 * (docs/legacy-v1.md, "CRLs"), written here from the file format, without
 * libxdelta: the old client applies them with `xdelta patch`.
 *
 * A patch file is: "%XDZ004%"; six 32-bit big-endian words (flags, the
 * two names' lengths as from << 16 | to, four zero words); the from and
 * to names; the data segment (the bytes the new CRL has that the old one
 * has not); the control; the control's offset (32 bits); "%XDZ004%". The
 * control is a serialised XdeltaControl: type 0x8003, an allocation size,
 * the MD5 and length of the result, a has-data byte, the sources (name,
 * MD5, length, is-data, sequential) and the instructions (source, offset,
 * length), numbers as little-endian base-128. The sources are the data
 * segment (sequential) and the CRL webdb holds, so `xdelta patch` checks
 * both MD5s and the result's. No compression (flags 0).
 *
 * The delta: the old CRL is indexed in 16-byte blocks; the new one is
 * scanned for blocks found there, each match extended both ways; what no
 * match covers goes to the data segment. Linear in the two sizes.
 *
 * The listener remembers the last CRLs it sent per root (by SHA-1, the
 * name webdb uses), in memory only: after a restart, or for a CRL it did
 * not send, the answer is the full CRL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "v1_int.h"

#define XD_MAGIC	"%XDZ004%"
#define XD_BLOCK	16
#define XD_DATA_NAME	"(patch data)"
#define XD_FILE_NAME	"crl"

struct xd_inst {
	int		 src;		/* 0 data, 1 the old file */
	size_t		 off, len;
};

struct xd_delta {
	struct buf	 data;		/* the data segment */
	struct xd_inst	*inst;
	size_t		 n, cap;
};

static int
xd_add(struct xd_delta *d, int src, size_t off, size_t len)
{
	struct xd_inst *p;

	if (len == 0)
		return 0;
	if (d->n > 0 && d->inst[d->n - 1].src == src && (src == 0 ||
	    d->inst[d->n - 1].off + d->inst[d->n - 1].len == off)) {
		d->inst[d->n - 1].len += len;
		return 0;
	}
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		if ((p = reallocarray(d->inst, d->cap, sizeof(*p))) == NULL)
			return -1;
		d->inst = p;
	}
	d->inst[d->n].src = src;
	d->inst[d->n].off = off;
	d->inst[d->n].len = len;
	d->n++;
	return 0;
}

static uint32_t
xd_hash(const uint8_t *p)
{
	uint32_t h = 2166136261u;
	int i;

	for (i = 0; i < XD_BLOCK; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int
xd_literal(struct xd_delta *d, const uint8_t *p, size_t n)
{
	size_t at = d->data.len;

	return n == 0 ? 0 : buf_put(&d->data, p, n) == -1 ? -1 : xd_add(d, 0, at, n);
}

/* The instructions that make new from old. */
static int
xd_delta(const uint8_t *old, size_t olen, const uint8_t *new, size_t nlen,
    struct xd_delta *d)
{
	size_t bits = 10, mask, i = 0, lit = 0, k, p, len;
	uint32_t *tab;
	int rc = -1;

	while (((size_t)1 << bits) < olen / XD_BLOCK * 2 && bits < 24)
		bits++;
	mask = ((size_t)1 << bits) - 1;
	if ((tab = calloc(mask + 1, sizeof(*tab))) == NULL)
		return -1;
	for (k = 0; k + XD_BLOCK <= olen; k += XD_BLOCK)
		tab[xd_hash(old + k) & mask] = (uint32_t)k + 1;
	while (i + XD_BLOCK <= nlen) {
		p = tab[xd_hash(new + i) & mask];
		if (p == 0 || memcmp(old + p - 1, new + i, XD_BLOCK) != 0) {
			i++;
			continue;
		}
		p--;
		while (i > lit && p > 0 && old[p - 1] == new[i - 1]) {
			i--;
			p--;
		}
		for (len = 0; p + len < olen && i + len < nlen && old[p + len] == new[i + len]; )
			len++;
		if (xd_literal(d, new + lit, i - lit) == -1 || xd_add(d, 1, p, len) == -1)
			goto out;
		i += len;
		lit = i;
	}
	rc = xd_literal(d, new + lit, nlen - lit);
out:
	free(tab);
	return rc;
}

/* Little-endian base-128, as the control's numbers are written. */
static void
xd_num(struct buf *b, size_t v)
{
	do {
		buf_put_u8(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
		v >>= 7;
	} while (v > 0);
}

static void
xd_source(struct buf *c, const char *name, const uint8_t md5[16], size_t len, int isdata)
{
	xd_num(c, strlen(name));
	buf_put(c, name, strlen(name));
	buf_put(c, md5, 16);
	xd_num(c, len);
	buf_put_u8(c, (uint8_t)isdata);
	buf_put_u8(c, (uint8_t)isdata);	/* the data segment is read in order */
}

static size_t
xd_round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

int
v1_xdelta(const uint8_t *old, size_t olen, const uint8_t *new, size_t nlen,
    struct buf *out)
{
	uint8_t md_new[16], md_old[16], md_data[16], w[24];
	struct xd_delta d;
	struct buf c;
	size_t i, ctl, nsrc, hint;
	int fsrc, rc = -1;

	memset(&d, 0, sizeof(d));
	buf_init(&d.data);
	buf_init(&c);
	if (xd_delta(old, olen, new, nlen, &d) == -1 || crypto_md5(new, nlen, md_new) == -1 ||
	    crypto_md5(old, olen, md_old) == -1 ||
	    crypto_md5(d.data.p ? d.data.p : (const uint8_t *)"", d.data.len, md_data) == -1)
		goto out;
	nsrc = d.data.len > 0 ? 2 : 1;
	fsrc = (int)nsrc - 1;
	/* what the reader allocates: a fixed part, each source, its name with
	 * its NUL in 8-byte units, and each instruction */
	hint = 72 + 64 * nsrc + xd_round8(sizeof(XD_FILE_NAME)) + 16 * d.n +
	    (nsrc == 2 ? xd_round8(sizeof(XD_DATA_NAME)) : 0);
	buf_put_u32(&c, 0x8003);
	buf_put_u32(&c, (uint32_t)hint);
	buf_put(&c, md_new, 16);
	xd_num(&c, nlen);
	buf_put_u8(&c, nsrc == 2);
	xd_num(&c, nsrc);
	if (nsrc == 2)
		xd_source(&c, XD_DATA_NAME, md_data, d.data.len, 1);
	xd_source(&c, XD_FILE_NAME, md_old, olen, 0);
	xd_num(&c, d.n);
	for (i = 0; i < d.n; i++) {
		xd_num(&c, d.inst[i].src == 0 ? 0 : (size_t)fsrc);
		xd_num(&c, d.inst[i].src == 0 ? 0 : d.inst[i].off);
		xd_num(&c, d.inst[i].len);
	}
	memset(w, 0, sizeof(w));
	put_be32(w + 4, (uint32_t)(sizeof(XD_FILE_NAME) - 1) << 16 |
	    (uint32_t)(sizeof(XD_FILE_NAME) - 1));
	buf_reset(out);
	buf_put(out, XD_MAGIC, 8);
	buf_put(out, w, sizeof(w));
	buf_put(out, XD_FILE_NAME, sizeof(XD_FILE_NAME) - 1);
	buf_put(out, XD_FILE_NAME, sizeof(XD_FILE_NAME) - 1);
	buf_put(out, d.data.p, d.data.len);
	ctl = out->len;
	buf_put(out, c.p, c.len);
	buf_put_u32(out, (uint32_t)ctl);
	rc = buf_put(out, XD_MAGIC, 8);
out:
	buf_free(&d.data);
	buf_free(&c);
	free(d.inst);
	return rc;
}

void
v1_crl_forget(struct v1_crls *s)
{
	size_t i;

	for (i = 0; i < V1_CRL_SLOTS; i++)
		buf_free(&s->c[i].der);
	memset(s, 0, sizeof(*s));
}

/* Remembers a CRL sent to webdb, replacing the least recently used. */
static void
v1_crl_keep(struct v1_crls *s, const char *root, const uint8_t sha1[V1_SHA1_LEN],
    const uint8_t *der, size_t len)
{
	struct v1_crl *e = &s->c[0];
	size_t i;

	for (i = 0; i < V1_CRL_SLOTS; i++) {
		if (strcmp(s->c[i].root, root) == 0 &&
		    memcmp(s->c[i].sha1, sha1, V1_SHA1_LEN) == 0) {
			s->c[i].used = ++s->clock;
			return;
		}
		if (s->c[i].used < e->used)
			e = &s->c[i];
	}
	buf_reset(&e->der);
	if (len > V1_CRL_MAX || buf_put(&e->der, der, len) == -1) {
		buf_free(&e->der);
		e->used = 0;
		e->root[0] = '\0';
		return;
	}
	snprintf(e->root, sizeof(e->root), "%s", root);
	memcpy(e->sha1, sha1, V1_SHA1_LEN);
	e->used = ++s->clock;
}

int
v1_crl_answer(struct v1_crls *s, const char *root, const uint8_t *held,
    const uint8_t *der, size_t len, struct buf *out, int *patched)
{
	uint8_t sha1[V1_SHA1_LEN];
	struct buf patch;
	size_t i;

	*patched = 0;
	buf_reset(out);
	if (pem_encode("X509 CRL", der, len, out) == -1)
		return -1;
	buf_init(&patch);
	for (i = 0; held != NULL && i < V1_CRL_SLOTS; i++) {
		if (s->c[i].used == 0 || strcmp(s->c[i].root, root) != 0 ||
		    memcmp(s->c[i].sha1, held, V1_SHA1_LEN) != 0)
			continue;
		s->c[i].used = ++s->clock;
		if (v1_xdelta(s->c[i].der.p, s->c[i].der.len, der, len, &patch) == 0 &&
		    patch.len < out->len) {
			buf_reset(out);
			if (buf_put(out, patch.p, patch.len) == -1) {
				buf_free(&patch);
				return -1;
			}
			*patched = 1;
		}
		break;
	}
	buf_free(&patch);
	if (crypto_sha1(der, len, sha1) == 0)
		v1_crl_keep(s, root, sha1, der, len);
	return 0;
}
