/*
 * buf.c: a growable byte buffer. Freed buffers are cleared, because they
 * may have held key material or passphrases.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util.h"

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

int
buf_reserve(struct buf *b, size_t more)
{
	size_t ncap;
	uint8_t *np;

	if (b->cap - b->len >= more)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -1;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < more)
		ncap *= 2;
	/* not realloc: the old block is cleared before it is released */
	if ((np = malloc(ncap)) == NULL)
		return -1;
	if (b->len)
		memcpy(np, b->p, b->len);
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
buf_put(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int
buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t t[2];

	put_be16(t, v);
	return buf_put(b, t, sizeof(t));
}

int
buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t t[4];

	put_be32(t, v);
	return buf_put(b, t, sizeof(t));
}

int
buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t t[8];

	put_be64(t, v);
	return buf_put(b, t, sizeof(t));
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}
