/*
 * msg.c: the message codec (docs/protocol.md, "Messages").
 *
 * A message is version (1) || type (1) || request id (16) || fields, each
 * field tag (u16) || length (u32) || value, big-endian. The bytes come from
 * the cable, so the decoder trusts nothing:
 *  - the total length is bounded (MSG_MAX_LEN) before the header is read;
 *  - a field header needs 6 bytes and its length must fit in what is left,
 *    checked by subtraction so that no sum can overflow, before any pointer
 *    to the value is formed;
 *  - tags 1..T_MAX_TAG are known and may appear once; tags >= 0x8000 are
 *    optional extensions and are skipped; any other tag is refused;
 *  - every known field has a type: an integer of exact width with a value
 *    range, or a byte string with a length range and an optional content
 *    check (names, UTF-8 text);
 *  - a per-type table lists the required and the allowed fields.
 * Byte fields point into the input, nothing is copied or allocated. On an
 * error only the type and request id survive in the struct (when the header
 * was readable), so a half-decoded message can never be acted upon.
 *
 * The encoder writes the present fields in ascending tag order, so one struct
 * always gives the same bytes. It does not judge values (the decoder does)
 * but sizes the whole message first: it fails without touching the buffer
 * when the message would exceed MSG_MAX_LEN or a byte field has no data.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "airlock.h"
#include "msg.h"
#include "util.h"

#define FLD_HDR_LEN	6		/* tag (2) || length (4) */
#define TAG_EXT		0x8000		/* first optional extension tag */
#define AUDIT_HEAD_BYTES	48	/* auditrec.h AUDIT_HEAD_LEN */
#define BIT(t)		(1ull << (t))

enum msg_field_kind {
	F_NONE = 0,			/* no such tag */
	F_UINT,				/* big-endian integer of exact width */
	F_BYTES,			/* byte string, points into the input */
};

struct msg_field {
	uint8_t		 kind;		/* enum msg_field_kind */
	uint8_t		 width;		/* F_UINT: size on the wire */
	size_t		 off;		/* member of struct msg */
	uint64_t	 lo, hi;	/* F_UINT: values; F_BYTES: lengths */
	int		(*ok)(const uint8_t *, size_t);	/* extra check or NULL */
};

struct msg_kind {
	uint8_t		 type;		/* enum msg_type */
	const char	*name;
	uint64_t	 required;	/* BIT(tag) mask */
	uint64_t	 optional;	/* BIT(tag) mask */
};

static int	 msg_name_ok(const uint8_t *, size_t);
static int	 msg_reason_ok(const uint8_t *, size_t);
static int	 msg_text_ok(const uint8_t *, size_t);
static int	 msg_serials_ok(const uint8_t *, size_t);

#define UINT_F(w, member, l, h, f) \
	{ F_UINT, (w), offsetof(struct msg, member), (l), (h), (f) }
#define BYTES_F(member, l, h, f) \
	{ F_BYTES, 0, offsetof(struct msg, member), (l), (h), (f) }

static const struct msg_field msg_fields[T_MAX_TAG + 1] = {
	[T_ROOT]	= BYTES_F(root, 1, AIRLOCK_NAME_MAX - 1, msg_name_ok),
	[T_PROFILE]	= BYTES_F(profile, 1, AIRLOCK_NAME_MAX - 1, msg_name_ok),
	[T_DAYS]	= UINT_F(4, days, 0, UINT32_MAX, NULL),
	[T_CSR]		= BYTES_F(csr, 1, 64u << 10, NULL),
	[T_CSR_FORMAT]	= UINT_F(1, csr_format, 0, MSG_CSR_SPKAC, NULL),
	[T_SERIAL]	= BYTES_F(serial, 1, 20, NULL),
	/* RFC 5280 CRLReason: 7 is not used */
	[T_REASON]	= UINT_F(1, reason, 0, 10, msg_reason_ok),
	[T_INVALIDITY]	= UINT_F(8, invalidity, 0, UINT64_MAX, NULL),
	[T_CRL_NUMBER]	= BYTES_F(crl_number, 1, 20, NULL),
	[T_TIME_NS]	= UINT_F(8, time_ns, 0, UINT64_MAX, NULL),
	[T_SYNC]	= UINT_F(1, sync, 0, MSG_SYNC_NO, NULL),
	[T_CERT]	= BYTES_F(cert, 1, 64u << 10, NULL),
	[T_CHAIN]	= BYTES_F(chain, 1, 256u << 10, NULL),
	[T_CRL]		= BYTES_F(crl, 1, MSG_MAX_LEN, NULL),
	[T_CRL_KIND]	= UINT_F(1, crl_kind, 0, MSG_CRL_CURRENT, NULL),
	[T_CODE]	= UINT_F(2, code, 0, UINT16_MAX, NULL),
	[T_TEXT]	= BYTES_F(text, 0, 64u << 10, msg_text_ok),
	[T_TIME2_NS]	= UINT_F(8, time2_ns, 0, UINT64_MAX, NULL),
	[T_CRL_SIG]	= BYTES_F(crl_sig, 1, 1024, NULL),
	[T_DELTA_CRL]	= BYTES_F(delta_crl, 1, MSG_MAX_LEN, NULL),
	[T_TIME_PREV]	= BYTES_F(time_prev, AIRLOCK_REQID_LEN, AIRLOCK_REQID_LEN, NULL),
	[T_RTT_NS]	= UINT_F(8, rtt_ns, 0, UINT64_MAX, NULL),
	[T_PGP_KEY]	= BYTES_F(pgp_key, 1, 64u << 10, NULL),
	[T_EMAILS]	= BYTES_F(emails, 1, 4096, msg_text_ok),
	[T_PGP_SIGS]	= BYTES_F(pgp_sigs, 1, 64u << 10, NULL),
	[T_SUBJECT]	= BYTES_F(subject, 1, 1024, msg_text_ok),
	[T_SAN]		= BYTES_F(san, 0, 4096, msg_text_ok),
	[T_AUDIT_AFTER]	= UINT_F(8, audit_after, 0, INT64_MAX, NULL),
	[T_AUDIT_HEAD]	= BYTES_F(audit_head, AUDIT_HEAD_BYTES, AUDIT_HEAD_BYTES, NULL),
	[T_AUDIT_RECS]	= BYTES_F(audit_recs, 0, 64u << 10, NULL),
	[T_AUDIT_SIG]	= BYTES_F(audit_sig, 64, 64, NULL),
	[T_AUDIT_MAX]	= UINT_F(4, audit_max, 256, 64u << 10, NULL),
	[T_AUDIT_CHECK]	= UINT_F(8, audit_check, 1, INT64_MAX, NULL),
	[T_CATCHUP_ITEMS] = BYTES_F(catchup_items, 0, 64u << 10, NULL),
	[T_CATCHUP_END]	= UINT_F(1, catchup_end, 1, 1, NULL),
	[T_CATCHUP_PHASE] = UINT_F(1, catchup_phase, 0, 2, NULL),
	[T_KEY_GEN]	= UINT_F(4, key_gen, 1, MSG_KEY_GEN_MAX, NULL),
	[T_KEY_NEWEST]	= UINT_F(4, key_newest, 1, MSG_KEY_GEN_MAX, NULL),
	[T_SERIALS_AFTER] = UINT_F(8, serials_after, 0, INT64_MAX, NULL),
	[T_SERIALS_MAX]	= UINT_F(4, serials_max, 256, MSG_SERIALS_MAX, NULL),
	[T_SERIALS_LIST] = BYTES_F(serials_list, 0, MSG_SERIALS_MAX, msg_serials_ok),
	[T_SERIALS_LAST] = UINT_F(8, serials_last, 0, INT64_MAX, NULL),
	[T_SERIALS_END]	= UINT_F(8, serials_end, 0, INT64_MAX, NULL),
};

static const struct msg_kind msg_kinds[] = {
	{ MSG_SIGN, "SIGN",
	    BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_CSR),
	    BIT(T_DAYS) | BIT(T_CSR_FORMAT) | BIT(T_SUBJECT) | BIT(T_SAN) },
	{ MSG_REVOKE, "REVOKE",
	    BIT(T_ROOT) | BIT(T_SERIAL),
	    BIT(T_REASON) | BIT(T_INVALIDITY) },
	{ MSG_CRL_FETCH, "CRL_FETCH",
	    BIT(T_ROOT),
	    BIT(T_CRL_NUMBER) | BIT(T_CRL_KIND) | BIT(T_KEY_GEN) },
	{ MSG_TIME, "TIME",
	    BIT(T_TIME_NS),
	    BIT(T_SYNC) | BIT(T_TIME_PREV) | BIT(T_RTT_NS) },
	{ MSG_STATUS, "STATUS", 0, 0 },
	{ MSG_PGP_CERTIFY, "PGP_CERTIFY",
	    BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_PGP_KEY) | BIT(T_EMAILS),
	    BIT(T_DAYS) },
	{ MSG_AUDIT_FETCH, "AUDIT_FETCH",
	    BIT(T_AUDIT_AFTER),
	    BIT(T_AUDIT_HEAD) | BIT(T_AUDIT_MAX) | BIT(T_AUDIT_CHECK) },
	{ MSG_CATCHUP, "CATCHUP",
	    0,
	    BIT(T_CATCHUP_ITEMS) | BIT(T_CATCHUP_END) },
	{ MSG_SERIALS_FETCH, "SERIALS_FETCH",
	    BIT(T_ROOT) | BIT(T_SERIALS_AFTER),
	    BIT(T_SERIALS_MAX) },
	{ MSG_CERT, "CERT",
	    BIT(T_CERT),
	    BIT(T_SERIAL) | BIT(T_CHAIN) | BIT(T_ROOT) },
	{ MSG_CRL, "CRL",
	    BIT(T_ROOT) | BIT(T_CRL_NUMBER) | BIT(T_CRL_KIND),
	    BIT(T_CRL) | BIT(T_CRL_SIG) | BIT(T_DELTA_CRL) | BIT(T_KEY_GEN) |
	    BIT(T_KEY_NEWEST) | BIT(T_CERT) | BIT(T_CHAIN) },
	{ MSG_ERROR, "ERROR",
	    BIT(T_CODE) | BIT(T_TEXT), 0 },
	{ MSG_TIME_ACK, "TIME_ACK",
	    BIT(T_TIME_NS) | BIT(T_TIME2_NS), 0 },
	{ MSG_STATUS_REPLY, "STATUS_REPLY",
	    BIT(T_TEXT), 0 },
	{ MSG_REVOKED, "REVOKED",
	    BIT(T_ROOT) | BIT(T_SERIAL),
	    BIT(T_REASON) | BIT(T_INVALIDITY) | BIT(T_TIME2_NS) },
	{ MSG_PGP_CERTIFIED, "PGP_CERTIFIED",
	    BIT(T_ROOT) | BIT(T_PGP_SIGS), 0 },
	{ MSG_AUDIT_LOG, "AUDIT_LOG",
	    BIT(T_AUDIT_HEAD) | BIT(T_AUDIT_RECS),
	    BIT(T_AUDIT_SIG) },
	{ MSG_CATCHUP_STATE, "CATCHUP_STATE",
	    BIT(T_CATCHUP_PHASE) | BIT(T_AUDIT_HEAD),
	    BIT(T_TEXT) },
	{ MSG_SERIALS, "SERIALS",
	    BIT(T_ROOT) | BIT(T_SERIALS_LIST) | BIT(T_SERIALS_LAST) |
	    BIT(T_SERIALS_END), 0 },
};

#define NKINDS	(sizeof(msg_kinds) / sizeof(msg_kinds[0]))

static const struct msg_kind *
msg_kind_find(int type)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (msg_kinds[i].type == type)
			return &msg_kinds[i];
	return NULL;
}

static const struct msg_bytes *
msg_bytes_at(const struct msg *m, const struct msg_field *f)
{
	return (const struct msg_bytes *)(const void *)
	    ((const uint8_t *)m + f->off);
}

static int
msg_name_ok(const uint8_t *p, size_t len)
{
	return name_ok((const char *)p, len);
}

static int
msg_reason_ok(const uint8_t *p, size_t len)
{
	return len == 1 && p[0] != 7;
}

static int
msg_text_ok(const uint8_t *p, size_t len)
{
	return utf8_text_ok(p, len);
}

/* SERIALS_LIST: entries u8 length (1..20) || serial, the serial's first
 * byte not 0 (positive, no leading zero), the last one ending the field. */
static int
msg_serials_ok(const uint8_t *p, size_t len)
{
	size_t off = 0, n;

	while (off < len) {
		n = p[off++];
		if (n == 0 || n > MSG_SERIAL_MAX || n > len - off || p[off] == 0)
			return 0;
		off += n;
	}
	return 1;
}

static uint64_t
msg_uint_get(const struct msg *m, const struct msg_field *f)
{
	const uint8_t *q = (const uint8_t *)m + f->off;

	switch (f->width) {
	case 1:
		return *q;
	case 2:
		return *(const uint16_t *)(const void *)q;
	case 4:
		return *(const uint32_t *)(const void *)q;
	default:
		return *(const uint64_t *)(const void *)q;
	}
}

static void
msg_uint_set(struct msg *m, const struct msg_field *f, uint64_t v)
{
	uint8_t *q = (uint8_t *)m + f->off;

	switch (f->width) {
	case 1:
		*q = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)(void *)q = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)(void *)q = (uint32_t)v;
		break;
	default:
		*(uint64_t *)(void *)q = v;
		break;
	}
}

static uint64_t
msg_uint_read(const uint8_t *p, size_t width)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* Checks and stores one known field whose length is already bounded. */
static int
msg_field_decode(struct msg *m, int tag, const uint8_t *p, size_t len)
{
	const struct msg_field *f = &msg_fields[tag];
	struct msg_bytes *mb;
	uint64_t v;

	if (f->kind == F_NONE)		/* a tag kept free */
		return AL_E_MSG_FIELD;
	if (f->kind == F_UINT) {
		if (len != f->width)
			return AL_E_MSG_VALUE;
		v = msg_uint_read(p, len);
		if (v < f->lo || v > f->hi)
			return AL_E_MSG_VALUE;
		msg_uint_set(m, f, v);
	} else {
		if (len < f->lo || len > f->hi)
			return AL_E_MSG_VALUE;
		mb = (struct msg_bytes *)(void *)((uint8_t *)m + f->off);
		mb->p = p;
		mb->len = len;
	}
	if (f->ok != NULL && !f->ok(p, len))
		return AL_E_MSG_VALUE;
	MSG_SET(m, tag);
	return AL_OK;
}

/* Walks the fields after the header; p/len cover exactly those bytes. */
static int
msg_fields_decode(struct msg *m, const uint8_t *p, size_t len)
{
	size_t flen;
	int tag, rc;

	while (len > 0) {
		if (len < FLD_HDR_LEN)
			return AL_E_MSG;
		tag = get_be16(p);
		flen = get_be32(p + 2);
		p += FLD_HDR_LEN;
		len -= FLD_HDR_LEN;
		if (flen > len)
			return AL_E_MSG;
		if (tag < TAG_EXT) {
			if (tag == 0 || tag > T_MAX_TAG || MSG_HAS(m, tag))
				return AL_E_MSG_FIELD;
			if ((rc = msg_field_decode(m, tag, p, flen)) != AL_OK)
				return rc;
		}
		p += flen;
		len -= flen;
	}
	return AL_OK;
}

static int
msg_decode_body(const uint8_t *p, size_t len, struct msg *m)
{
	const struct msg_kind *k;
	int rc;

	if (p == NULL || len < MSG_HDR_LEN || len > MSG_MAX_LEN ||
	    p[0] != MSG_VERSION)
		return AL_E_MSG;
	m->type = p[1];
	memcpy(m->reqid, p + 2, AIRLOCK_REQID_LEN);
	if ((k = msg_kind_find(m->type)) == NULL)
		return AL_E_MSG_TYPE;
	rc = msg_fields_decode(m, p + MSG_HDR_LEN, len - MSG_HDR_LEN);
	if (rc != AL_OK)
		return rc;
	if ((m->present & k->required) != k->required ||
	    (m->present & ~(k->required | k->optional)) != 0)
		return AL_E_MSG_FIELD;
	return AL_OK;
}

int
msg_decode(const uint8_t *p, size_t len, struct msg *m)
{
	uint8_t type, reqid[AIRLOCK_REQID_LEN];
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = msg_decode_body(p, len, m)) == AL_OK)
		return AL_OK;
	/* keep only what the caller needs to address an ERROR answer */
	type = m->type;
	memcpy(reqid, m->reqid, sizeof(reqid));
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->reqid, reqid, sizeof(reqid));
	return rc;
}

/* Size on the wire of field tag of m, or -1 when a byte field has no data. */
static ssize_t
msg_field_size(const struct msg *m, int tag)
{
	const struct msg_field *f = &msg_fields[tag];
	const struct msg_bytes *mb;

	if (f->kind == F_UINT)
		return f->width;
	mb = msg_bytes_at(m, f);
	if (mb->p == NULL && mb->len > 0)
		return -1;
	if (mb->len > MSG_MAX_LEN)
		return -1;
	return (ssize_t)mb->len;
}

/* Total encoded size of m, or 0 when it is too large or unencodable. */
static size_t
msg_size(const struct msg *m)
{
	size_t total = MSG_HDR_LEN;
	ssize_t n;
	int tag;

	for (tag = 1; tag <= T_MAX_TAG; tag++) {
		if (!MSG_HAS(m, tag) || msg_fields[tag].kind == F_NONE)
			continue;	/* bits of tags that do not exist */
		if ((n = msg_field_size(m, tag)) == -1)
			return 0;
		/* total <= MSG_MAX_LEN and n <= MSG_MAX_LEN: no overflow */
		total += FLD_HDR_LEN + (size_t)n;
		if (total > MSG_MAX_LEN)
			return 0;
	}
	return total;
}

/* Writes one field; the caller has reserved the space. */
static void
msg_field_encode(const struct msg *m, int tag, struct buf *b)
{
	const struct msg_field *f = &msg_fields[tag];
	const struct msg_bytes *mb;
	uint8_t t[8];

	buf_put_u16(b, (uint16_t)tag);
	buf_put_u32(b, (uint32_t)msg_field_size(m, tag));
	if (f->kind == F_UINT) {
		put_be64(t, msg_uint_get(m, f));
		buf_put(b, t + sizeof(t) - f->width, f->width);
		return;
	}
	mb = msg_bytes_at(m, f);
	buf_put(b, mb->p, mb->len);
}

int
msg_encode_checked(const struct msg *m, struct buf *b)
{
	struct msg again;

	buf_reset(b);
	if (msg_encode(m, b) == -1)
		return -1;
	return msg_decode(b->p, b->len, &again) == AL_OK ? 0 : -1;
}

int
msg_encode(const struct msg *m, struct buf *b)
{
	size_t total;
	int tag;

	if ((total = msg_size(m)) == 0)
		return -1;
	/* reserved in one go: the puts below cannot fail half-way */
	if (buf_reserve(b, total) == -1)
		return -1;
	buf_put_u8(b, MSG_VERSION);
	buf_put_u8(b, m->type);
	buf_put(b, m->reqid, AIRLOCK_REQID_LEN);
	for (tag = 1; tag <= T_MAX_TAG; tag++)
		if (MSG_HAS(m, tag) && msg_fields[tag].kind != F_NONE)
			msg_field_encode(m, tag, b);
	return 0;
}

const char *
msg_type_name(int type)
{
	const struct msg_kind *k;

	if ((k = msg_kind_find(type)) == NULL)
		return "UNKNOWN";
	return k->name;
}

int
msg_is_request(int type)
{
	return type < 0x80 && msg_kind_find(type) != NULL;
}

void
msg_error(struct msg *m, const uint8_t reqid[AIRLOCK_REQID_LEN], int code,
    const char *text)
{
	uint8_t id[AIRLOCK_REQID_LEN];

	/* reqid may point into *m itself: keep it before clearing */
	memset(id, 0, sizeof(id));
	if (reqid != NULL)
		memcpy(id, reqid, AIRLOCK_REQID_LEN);
	memset(m, 0, sizeof(*m));
	m->type = MSG_ERROR;
	memcpy(m->reqid, id, AIRLOCK_REQID_LEN);
	m->code = (uint16_t)code;
	m->text.p = (const uint8_t *)(text != NULL ? text : al_strerror(code));
	m->text.len = strlen((const char *)m->text.p);
	MSG_SET(m, T_TEXT);
	MSG_SET(m, T_CODE);
}

int
msg_serials_put(struct buf *b, const uint8_t *serial, size_t len)
{
	if (len == 0 || len > MSG_SERIAL_MAX || serial[0] == 0)
		return -1;
	if (buf_put_u8(b, (uint8_t)len) == -1 || buf_put(b, serial, len) == -1)
		return -1;
	return 0;
}

int
msg_serials_next(const struct msg_bytes *list, size_t *off, const uint8_t **serial,
    size_t *len)
{
	size_t n;

	/* checked by msg_serials_ok when the message decoded; again here,
	 * so that a caller's own buffer cannot lead past the end */
	if (*off >= list->len)
		return 0;
	n = list->p[*off];
	if (n == 0 || n > list->len - *off - 1)
		return 0;
	*serial = list->p + *off + 1;
	*len = n;
	*off += 1 + n;
	return 1;
}
