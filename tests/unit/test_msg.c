/*
 * test_msg.c: the message codec. A known-answer vector written by hand from
 * the wire format, round trips of every type with all optional fields,
 * every prefix of valid messages, and a table of malformed inputs, each with
 * the error code the decoder must give. Inputs are copied into buffers of
 * their exact size so that valgrind or ASan sees any read past the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "airlock.h"
#include "msg.h"
#include "util.h"

#define BIT(t)		(1ull << (t))
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Hex fragments; spaces are ignored by t_hex(). */
#define REQID		"000102030405060708090a0b0c0d0e0f"
#define HDR(type)	"01" type REQID
#define F_ROOT		" 0001 00000008 64656d6f2d727361"	/* demo-rsa */
#define F_PROFILE	" 0002 00000006 736572766572"		/* server */
#define F_DAYS		" 0003 00000004 0000005a"		/* 90 */
#define F_CSR		" 0004 00000005 3003020100"
#define F_SERIAL	" 0006 00000002 1234"
#define F_CRLNUM	" 0009 00000001 05"
#define F_TIME		" 000a 00000008 0000000000000001"
#define F_CERT		" 000c 00000003 300100"
#define F_CRL		" 000e 00000003 300100"
#define F_KIND		" 000f 00000001 00"
#define F_CODE		" 0010 00000002 0064"
#define F_TEXT		" 0011 00000002 6f6b"			/* ok */
#define F_TIME2		" 0012 00000008 0000000000000002"
#define TEXT(len, hex)	" 0011 000000" len " " hex
#define F_AFTER		" 002e 00000008 0000000000000007"
#define F_SLIST		" 0030 00000007 02 1003 03 400102"	/* 0x1003, 0x400102 */
#define F_SLAST		" 0031 00000008 0000000000000009"
#define F_SEND		" 0032 00000008 000000000000000c"

#define SIGN_OK		HDR("01") F_ROOT F_PROFILE F_CSR
#define REVOKE_OK	HDR("02") F_ROOT F_SERIAL
#define FETCH_OK	HDR("03") F_ROOT
#define TIME_OK		HDR("04") F_TIME
#define STATUS_OK	HDR("05")
#define ERROR_OK	HDR("83") F_CODE F_TEXT
#define REPLY(len, hex)	HDR("85") TEXT(len, hex)
#define SFETCH_OK	HDR("09") F_ROOT F_AFTER
#define SERIALS_OK	HDR("8a") F_ROOT F_SLIST F_SLAST F_SEND

/* SIGN, reqid 00..0f, root demo-rsa, profile server, days 90, csr 3003020100 */
static const char kat_hex[] =
    "01"				/* version */
    "01"				/* type SIGN */
    "000102030405060708090a0b0c0d0e0f"	/* request id */
    "0001" "00000008" "64656d6f2d727361"	/* T_ROOT "demo-rsa" */
    "0002" "00000006" "736572766572"		/* T_PROFILE "server" */
    "0003" "00000004" "0000005a"		/* T_DAYS 90 */
    "0004" "00000005" "3003020100";		/* T_CSR */

static const uint8_t t_reqid[AIRLOCK_REQID_LEN] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};
static const uint8_t t_csr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
static const uint8_t t_serial[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab };
static const uint8_t t_crlnum[] = { 0x2a };
static const uint8_t t_cert[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
static const uint8_t t_chain[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };
static const uint8_t t_crl[] = { 0x30, 0x03, 0x02, 0x01, 0x03 };
static const uint8_t t_crlsig[] = { 0x00, 0x11, 0x22, 0x33 };
static const uint8_t t_delta[] = { 0x30, 0x03, 0x02, 0x01, 0x04 };
static const uint8_t t_head[48] = { 0, 0, 0, 0, 0, 0, 0, 9, 0xaa };
static const uint8_t t_sig[64] = { 0x5a, 0xa5 };
/* SERIALS_LIST: 0x1003, then 0x40 01 .. 0f (16 bytes), then 20 bytes 0x7f.. */
static const uint8_t t_serials[] = {
	0x02, 0x10, 0x03,
	0x10, 0x40, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
	0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x14, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* The spec's table, written again here so the code is checked against it. */
static const struct {
	int		 type;
	const char	*name;
	int		 request;
	uint64_t	 required, optional;
} t_types[] = {
	{ MSG_SIGN, "SIGN", 1, BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_CSR),
	    BIT(T_DAYS) | BIT(T_CSR_FORMAT) | BIT(T_SUBJECT) | BIT(T_SAN) },
	{ MSG_REVOKE, "REVOKE", 1, BIT(T_ROOT) | BIT(T_SERIAL),
	    BIT(T_REASON) | BIT(T_INVALIDITY) },
	{ MSG_CRL_FETCH, "CRL_FETCH", 1, BIT(T_ROOT),
	    BIT(T_CRL_NUMBER) | BIT(T_CRL_KIND) | BIT(T_KEY_GEN) },
	{ MSG_TIME, "TIME", 1, BIT(T_TIME_NS),
	    BIT(T_SYNC) | BIT(T_TIME_PREV) | BIT(T_RTT_NS) },
	{ MSG_STATUS, "STATUS", 1, 0, 0 },
	{ MSG_PGP_CERTIFY, "PGP_CERTIFY", 1,
	    BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_PGP_KEY) | BIT(T_EMAILS), BIT(T_DAYS) },
	{ MSG_PGP_CERTIFIED, "PGP_CERTIFIED", 0, BIT(T_ROOT) | BIT(T_PGP_SIGS), 0 },
	{ MSG_AUDIT_FETCH, "AUDIT_FETCH", 1, BIT(T_AUDIT_AFTER),
	    BIT(T_AUDIT_HEAD) | BIT(T_AUDIT_MAX) | BIT(T_AUDIT_CHECK) },
	{ MSG_AUDIT_LOG, "AUDIT_LOG", 0, BIT(T_AUDIT_HEAD) | BIT(T_AUDIT_RECS),
	    BIT(T_AUDIT_SIG) },
	{ MSG_CATCHUP, "CATCHUP", 1, 0, BIT(T_CATCHUP_ITEMS) | BIT(T_CATCHUP_END) },
	{ MSG_CATCHUP_STATE, "CATCHUP_STATE", 0, BIT(T_CATCHUP_PHASE) | BIT(T_AUDIT_HEAD),
	    BIT(T_TEXT) },
	{ MSG_SERIALS_FETCH, "SERIALS_FETCH", 1, BIT(T_ROOT) | BIT(T_SERIALS_AFTER),
	    BIT(T_SERIALS_MAX) },
	{ MSG_SERIALS, "SERIALS", 0, BIT(T_ROOT) | BIT(T_SERIALS_LIST) |
	    BIT(T_SERIALS_LAST) | BIT(T_SERIALS_END), 0 },
	{ MSG_CERT, "CERT", 0, BIT(T_CERT),
	    BIT(T_SERIAL) | BIT(T_CHAIN) | BIT(T_ROOT) },
	{ MSG_CRL, "CRL", 0,
	    BIT(T_ROOT) | BIT(T_CRL_NUMBER) | BIT(T_CRL_KIND),
	    BIT(T_CRL) | BIT(T_CRL_SIG) | BIT(T_DELTA_CRL) | BIT(T_KEY_GEN) |
	    BIT(T_KEY_NEWEST) | BIT(T_CERT) | BIT(T_CHAIN) },
	{ MSG_ERROR, "ERROR", 0, BIT(T_CODE) | BIT(T_TEXT), 0 },
	{ MSG_TIME_ACK, "TIME_ACK", 0, BIT(T_TIME_NS) | BIT(T_TIME2_NS), 0 },
	{ MSG_STATUS_REPLY, "STATUS_REPLY", 0, BIT(T_TEXT), 0 },
	{ MSG_REVOKED, "REVOKED", 0, BIT(T_ROOT) | BIT(T_SERIAL),
	    BIT(T_REASON) | BIT(T_INVALIDITY) | BIT(T_TIME2_NS) },
};

static int
t_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Appends the bytes of a hex string (spaces ignored) to b. */
static void
t_hex(const char *s, struct buf *b)
{
	int hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		v = t_nibble(*s);
		assert_true(v >= 0);
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_int_equal(buf_put_u8(b, (uint8_t)(hi << 4 | v)), 0);
		hi = -1;
	}
	assert_int_equal(hi, -1);
}

/* Decodes a copy of exactly len bytes, so overreads are caught. */
static int
t_decode(const uint8_t *p, size_t len, struct msg *m)
{
	uint8_t *copy;
	int rc;

	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	rc = msg_decode(copy, len, m);
	free(copy);
	/* byte fields pointed into copy: forget them */
	memset(&m->root, 0, offsetof(struct msg, days) -
	    offsetof(struct msg, root));
	return rc;
}

static void
t_bytes(struct msg_bytes *mb, const void *p, size_t len)
{
	mb->p = p;
	mb->len = len;
}

/* Sets a sample value for one field. */
static void
t_set(struct msg *m, int tag)
{
	switch (tag) {
	case T_ROOT:		t_bytes(&m->root, "demo-rsa", 8); break;
	case T_PROFILE:		t_bytes(&m->profile, "server", 6); break;
	case T_DAYS:		m->days = 0xfedcba98; break;
	case T_CSR:		t_bytes(&m->csr, t_csr, sizeof(t_csr)); break;
	case T_CSR_FORMAT:	m->csr_format = MSG_CSR_SPKAC; break;
	case T_SERIAL:		t_bytes(&m->serial, t_serial, sizeof(t_serial)); break;
	case T_REASON:		m->reason = 10; break;
	case T_INVALIDITY:	m->invalidity = 0x0102030405060708ULL; break;
	case T_CRL_NUMBER:	t_bytes(&m->crl_number, t_crlnum, sizeof(t_crlnum)); break;
	case T_TIME_NS:		m->time_ns = 0xf1f2f3f4f5f6f7f8ULL; break;
	case T_SYNC:		m->sync = MSG_SYNC_NO; break;
	case T_CERT:		t_bytes(&m->cert, t_cert, sizeof(t_cert)); break;
	case T_CHAIN:		t_bytes(&m->chain, t_chain, sizeof(t_chain)); break;
	case T_CRL:		t_bytes(&m->crl, t_crl, sizeof(t_crl)); break;
	case T_CRL_KIND:	m->crl_kind = MSG_CRL_DELTA; break;
	case T_CODE:		m->code = AL_E_STORAGE; break;
	case T_TEXT:		t_bytes(&m->text, "d\xc3\xa9j\xc3\xa0 \xe2\x82\xac \xf0\x9f\x98\x80", 15); break;
	case T_TIME2_NS:	m->time2_ns = 0x1112131415161718ULL; break;
	case T_CRL_SIG:		t_bytes(&m->crl_sig, t_crlsig, sizeof(t_crlsig)); break;
	case T_DELTA_CRL:	t_bytes(&m->delta_crl, t_delta, sizeof(t_delta)); break;
	case T_TIME_PREV:	t_bytes(&m->time_prev, t_reqid, sizeof(t_reqid)); break;
	case T_RTT_NS:		m->rtt_ns = 0x0000000012345678ULL; break;
	case T_PGP_KEY:		t_bytes(&m->pgp_key, "\x98\x33\x04", 3); break;
	case T_EMAILS:		t_bytes(&m->emails, "a@b.example\nc@d.example", 23); break;
	case T_PGP_SIGS:	t_bytes(&m->pgp_sigs, "\xc2\x01\x04", 3); break;
	case T_SUBJECT:		t_bytes(&m->subject, "/CN=a.example/O=d\xc3\xa9mo", 21); break;
	case T_SAN:		t_bytes(&m->san, "DNS:a.example,email:x@a.example", 31); break;
	case T_AUDIT_AFTER:	m->audit_after = 0x0000010203040506ULL; break;
	case T_AUDIT_HEAD:	t_bytes(&m->audit_head, t_head, sizeof(t_head)); break;
	case T_AUDIT_RECS:	t_bytes(&m->audit_recs, t_crl, sizeof(t_crl)); break;
	case T_AUDIT_SIG:	t_bytes(&m->audit_sig, t_sig, sizeof(t_sig)); break;
	case T_AUDIT_MAX:	m->audit_max = 4096; break;
	case T_AUDIT_CHECK:	m->audit_check = 77; break;
	case T_CATCHUP_ITEMS:	t_bytes(&m->catchup_items, t_crl, sizeof(t_crl)); break;
	case T_CATCHUP_END:	m->catchup_end = 1; break;
	case T_CATCHUP_PHASE:	m->catchup_phase = MSG_CATCHUP_FINISHED; break;
	case T_KEY_GEN:		m->key_gen = 2; break;
	case T_KEY_NEWEST:	m->key_newest = 3; break;
	case T_SERIALS_AFTER:	m->serials_after = 0x0000000100000002ULL; break;
	case T_SERIALS_MAX:	m->serials_max = 65536; break;
	case T_SERIALS_LIST:	t_bytes(&m->serials_list, t_serials, sizeof(t_serials)); break;
	case T_SERIALS_LAST:	m->serials_last = 0x7fffffffffffffffULL; break;
	case T_SERIALS_END:	m->serials_end = 12345; break;
	default:		fail();
	}
	MSG_SET(m, tag);
}

static void
t_fill(struct msg *m, int type, uint64_t tags)
{
	int tag;

	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	memcpy(m->reqid, t_reqid, sizeof(m->reqid));
	for (tag = 1; tag <= T_MAX_TAG; tag++)
		if (tags & BIT(tag))
			t_set(m, tag);
}

static void
t_bytes_equal(const struct msg_bytes *a, const struct msg_bytes *b)
{
	assert_int_equal(a->len, b->len);
	if (a->len)
		assert_memory_equal(a->p, b->p, a->len);
}

static void
t_msg_equal(const struct msg *a, const struct msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_memory_equal(a->reqid, b->reqid, AIRLOCK_REQID_LEN);
	assert_int_equal(a->present, b->present);
	t_bytes_equal(&a->root, &b->root);
	t_bytes_equal(&a->profile, &b->profile);
	t_bytes_equal(&a->csr, &b->csr);
	t_bytes_equal(&a->serial, &b->serial);
	t_bytes_equal(&a->crl_number, &b->crl_number);
	t_bytes_equal(&a->cert, &b->cert);
	t_bytes_equal(&a->chain, &b->chain);
	t_bytes_equal(&a->crl, &b->crl);
	t_bytes_equal(&a->text, &b->text);
	t_bytes_equal(&a->crl_sig, &b->crl_sig);
	t_bytes_equal(&a->delta_crl, &b->delta_crl);
	t_bytes_equal(&a->time_prev, &b->time_prev);
	t_bytes_equal(&a->subject, &b->subject);
	t_bytes_equal(&a->san, &b->san);
	t_bytes_equal(&a->audit_head, &b->audit_head);
	t_bytes_equal(&a->audit_recs, &b->audit_recs);
	t_bytes_equal(&a->audit_sig, &b->audit_sig);
	assert_int_equal(a->audit_max, b->audit_max);
	assert_true(a->audit_after == b->audit_after);
	assert_true(a->audit_check == b->audit_check);
	t_bytes_equal(&a->catchup_items, &b->catchup_items);
	assert_int_equal(a->catchup_end, b->catchup_end);
	assert_int_equal(a->catchup_phase, b->catchup_phase);
	assert_int_equal(a->key_gen, b->key_gen);
	assert_int_equal(a->key_newest, b->key_newest);
	t_bytes_equal(&a->serials_list, &b->serials_list);
	assert_int_equal(a->serials_max, b->serials_max);
	assert_true(a->serials_after == b->serials_after);
	assert_true(a->serials_last == b->serials_last);
	assert_true(a->serials_end == b->serials_end);
	assert_int_equal(a->days, b->days);
	assert_int_equal(a->csr_format, b->csr_format);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->sync, b->sync);
	assert_int_equal(a->crl_kind, b->crl_kind);
	assert_int_equal(a->code, b->code);
	assert_true(a->invalidity == b->invalidity);
	assert_true(a->time_ns == b->time_ns);
	assert_true(a->time2_ns == b->time2_ns);
	assert_true(a->rtt_ns == b->rtt_ns);
}

static void
test_kat_encode(void **state)
{
	struct buf want, got;
	struct msg m;

	(void)state;
	buf_init(&want);
	buf_init(&got);
	t_hex(kat_hex, &want);
	assert_int_equal(want.len, 65);
	t_fill(&m, MSG_SIGN, BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_CSR));
	m.days = 90;
	MSG_SET(&m, T_DAYS);
	assert_int_equal(msg_encode(&m, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);
	buf_free(&want);
	buf_free(&got);
}

static void
test_kat_decode(void **state)
{
	struct buf b;
	struct msg m;

	(void)state;
	buf_init(&b);
	t_hex(kat_hex, &b);
	assert_int_equal(msg_decode(b.p, b.len, &m), AL_OK);
	assert_int_equal(m.type, MSG_SIGN);
	assert_memory_equal(m.reqid, t_reqid, sizeof(t_reqid));
	assert_int_equal(m.present,
	    BIT(T_ROOT) | BIT(T_PROFILE) | BIT(T_DAYS) | BIT(T_CSR));
	/* byte fields point into the input, at the value offsets */
	assert_ptr_equal(m.root.p, b.p + 24);
	assert_int_equal(m.root.len, 8);
	assert_memory_equal(m.root.p, "demo-rsa", 8);
	assert_ptr_equal(m.profile.p, b.p + 38);
	assert_int_equal(m.profile.len, 6);
	assert_memory_equal(m.profile.p, "server", 6);
	assert_int_equal(m.days, 90);
	assert_ptr_equal(m.csr.p, b.p + 60);
	assert_int_equal(m.csr.len, sizeof(t_csr));
	assert_memory_equal(m.csr.p, t_csr, sizeof(t_csr));
	assert_int_equal(m.csr_format, 0);
	buf_free(&b);
}

/* Encode, decode, compare, encode again: same bytes. */
static void
t_round_trip(const struct msg *m)
{
	struct buf b1, b2;
	struct msg d;

	buf_init(&b1);
	buf_init(&b2);
	assert_int_equal(msg_encode(m, &b1), 0);
	assert_int_equal(msg_decode(b1.p, b1.len, &d), AL_OK);
	t_msg_equal(m, &d);
	assert_int_equal(msg_encode(&d, &b2), 0);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.p, b2.p, b1.len);
	buf_free(&b1);
	buf_free(&b2);
}

static void
test_round_trip_all_types(void **state)
{
	struct msg m;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t_types); i++) {
		t_fill(&m, t_types[i].type,
		    t_types[i].required | t_types[i].optional);
		t_round_trip(&m);
		t_fill(&m, t_types[i].type, t_types[i].required);
		t_round_trip(&m);
	}
}

/* Each optional field alone, on top of the required ones. */
static void
test_round_trip_each_optional(void **state)
{
	struct msg m;
	size_t i;
	int tag, n = 0;

	(void)state;
	for (i = 0; i < NELEM(t_types); i++) {
		for (tag = 1; tag <= T_MAX_TAG; tag++) {
			if (!(t_types[i].optional & BIT(tag)))
				continue;
			t_fill(&m, t_types[i].type,
			    t_types[i].required | BIT(tag));
			t_round_trip(&m);
			n++;
		}
	}
	assert_int_equal(n, 34);	/* 18, PGP_CERTIFY's DAYS, SIGN's SUBJECT and SAN, AUDIT_FETCH's 3,
					 * AUDIT_LOG's 1, CATCHUP's 2, CATCHUP_STATE's 1, CRL_FETCH's
					 * KEY_GEN, CRL's KEY_GEN, KEY_NEWEST, CERT, CHAIN,
					 * SERIALS_FETCH's SERIALS_MAX */
}

/* Offsets at which a field starts (or the message ends). */
static int
t_boundary(const uint8_t *p, size_t len, size_t at)
{
	size_t off = MSG_HDR_LEN;

	while (off < len) {
		if (at == off)
			return 1;
		off += 6 + get_be32(p + off + 2);
	}
	return at == off;
}

static void
t_prefixes(const struct msg *m, int all_required)
{
	struct buf b;
	struct msg d;
	size_t n;
	int rc;

	buf_init(&b);
	assert_int_equal(msg_encode(m, &b), 0);
	for (n = 0; n < b.len; n++) {
		rc = t_decode(b.p, n, &d);
		if (all_required || !t_boundary(b.p, b.len, n))
			assert_int_not_equal(rc, AL_OK);
		if (!t_boundary(b.p, b.len, n))
			assert_int_equal(rc, AL_E_MSG);
		else
			assert_true(rc == AL_OK || rc == AL_E_MSG_FIELD);
	}
	assert_int_equal(t_decode(b.p, b.len, &d), AL_OK);
	buf_free(&b);
}

static void
test_truncated_kat(void **state)
{
	struct buf b;
	struct msg m;
	size_t n;

	(void)state;
	buf_init(&b);
	t_hex(kat_hex, &b);
	for (n = 0; n < b.len; n++)
		assert_int_not_equal(t_decode(b.p, n, &m), AL_OK);
	assert_int_equal(t_decode(b.p, b.len, &m), AL_OK);
	buf_free(&b);
}

static void
test_truncated_all_types(void **state)
{
	struct msg m;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t_types); i++) {
		t_fill(&m, t_types[i].type, t_types[i].required);
		t_prefixes(&m, 1);
		t_fill(&m, t_types[i].type,
		    t_types[i].required | t_types[i].optional);
		t_prefixes(&m, 0);
	}
}

static const struct {
	const char	*what;
	const char	*hex;
	int		 rc;
} t_cases[] = {
	/* baselines */
	{ "sign", SIGN_OK, AL_OK },
	{ "sign, fields in reverse order", HDR("01") F_CSR F_PROFILE F_ROOT, AL_OK },
	{ "status, no fields", STATUS_OK, AL_OK },
	{ "error", ERROR_OK, AL_OK },
	{ "revoked with time2", HDR("86") F_ROOT F_SERIAL F_TIME2, AL_OK },

	/* header */
	{ "empty", "", AL_E_MSG },
	{ "version only", "01", AL_E_MSG },
	{ "header short by one", "0105 000102030405060708090a0b0c0d0e", AL_E_MSG },
	{ "version 2", "02" "01" REQID F_ROOT F_PROFILE F_CSR, AL_E_MSG },
	{ "version 0", "00" "05" REQID, AL_E_MSG },
	{ "version 0xff", "ff" "05" REQID, AL_E_MSG },

	/* type */
	{ "type 0x00", HDR("00"), AL_E_MSG_TYPE },
	{ "type 0x0a", HDR("0a"), AL_E_MSG_TYPE },
	{ "type 0x7f", HDR("7f"), AL_E_MSG_TYPE },
	{ "type 0x80", HDR("80"), AL_E_MSG_TYPE },
	{ "type 0x8b", HDR("8b"), AL_E_MSG_TYPE },
	{ "catch-up end 2", HDR("08") " 0027 00000001 02", AL_E_MSG_VALUE },
	{ "catch-up end of 2 bytes", HDR("08") " 0027 00000002 0001", AL_E_MSG_VALUE },
	{ "catch-up phase 3", HDR("89") " 0028 00000001 03", AL_E_MSG_VALUE },
	{ "catch-up phase in a request", HDR("08") " 0028 00000001 01", AL_E_MSG_FIELD },
	{ "catch-up state without a head", HDR("89") " 0028 00000001 01", AL_E_MSG_FIELD },
	{ "empty catch-up", HDR("08"), AL_OK },
	{ "type 0xff", HDR("ff"), AL_E_MSG_TYPE },
	{ "unknown type before bad fields", HDR("42") "00", AL_E_MSG_TYPE },

	/* field headers and lengths */
	{ "field header 1 byte", STATUS_OK " 00", AL_E_MSG },
	{ "field header 5 bytes", STATUS_OK " 0001 000000", AL_E_MSG },
	{ "trailing byte", FETCH_OK " 00", AL_E_MSG },
	{ "length one too long", HDR("03") " 0001 00000009 64656d6f2d727361", AL_E_MSG },
	{ "length 0xffffffff", HDR("03") " 0001 ffffffff 64656d6f2d727361", AL_E_MSG },
	{ "length 0xfffffffa", HDR("03") " 0001 fffffffa 64656d6f2d727361", AL_E_MSG },
	{ "length 0x80000000", HDR("03") " 0001 80000000 64656d6f2d727361", AL_E_MSG },
	{ "lying length, valid field after", HDR("03") " 0001 00000010 64656d6f2d727361" F_KIND, AL_E_MSG },
	{ "extension length lies", FETCH_OK " 8000 00000004 0000", AL_E_MSG },

	/* tags */
	{ "tag 0", STATUS_OK " 0000 00000000", AL_E_MSG_FIELD },
	{ "tag 26 (SUBJECT) in a status", STATUS_OK " 001a 00000001 2f", AL_E_MSG_FIELD },
	{ "tag 28", STATUS_OK " 001c 00000000", AL_E_MSG_FIELD },
	{ "tag 31 (kept free)", FETCH_OK " 001f 00000001 00", AL_E_MSG_FIELD },
	{ "tag 38 in a status", STATUS_OK " 0026 00000000", AL_E_MSG_FIELD },
	{ "tag 41", STATUS_OK " 0029 00000000", AL_E_MSG_FIELD },
	{ "tag 43 (kept free)", FETCH_OK " 002b 00000004 00000001", AL_E_MSG_FIELD },
	{ "tag 51", FETCH_OK " 0033 00000004 00000001", AL_E_MSG_FIELD },
	{ "serials_after in a crl fetch", FETCH_OK F_AFTER, AL_E_MSG_FIELD },
	{ "serials_after of 4 bytes in a crl fetch", FETCH_OK " 002e 00000004 00000001", AL_E_MSG_VALUE },
	{ "key_gen 1 in a fetch", FETCH_OK " 002c 00000004 00000001", AL_OK },
	{ "key_gen 0", FETCH_OK " 002c 00000004 00000000", AL_E_MSG_VALUE },
	{ "key_gen 1000001", FETCH_OK " 002c 00000004 000f4241", AL_E_MSG_VALUE },
	{ "key_gen of 2 bytes", FETCH_OK " 002c 00000002 0001", AL_E_MSG_VALUE },
	{ "key_newest in a fetch", FETCH_OK " 002d 00000004 00000001", AL_E_MSG_FIELD },
	{ "key_gen in a sign", HDR("01") F_ROOT F_PROFILE F_CSR " 002c 00000004 00000002", AL_E_MSG_FIELD },
	{ "audit seq 0 to check", HDR("07") " 0020 00000008 0000000000000000 0025 00000008 0000000000000000", AL_E_MSG_VALUE },
	{ "audit head of 47 bytes", HDR("07") " 0020 00000008 0000000000000000 0021 0000002f 0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", AL_E_MSG_VALUE },
	{ "rtt in a status", STATUS_OK " 0016 00000008 0000000000000001", AL_E_MSG_FIELD },
	{ "crl_sig in a request", FETCH_OK " 0013 00000001 00", AL_E_MSG_FIELD },
	{ "tag 0x7fff", STATUS_OK " 7fff 00000001 00", AL_E_MSG_FIELD },
	{ "extension 0x8000 skipped", FETCH_OK " 8000 00000003 ffffff", AL_OK },
	{ "extension 0xffff empty skipped", STATUS_OK " ffff 00000000", AL_OK },
	{ "extension twice", STATUS_OK " 8001 00000001 00 8001 00000001 00", AL_OK },
	{ "extension before required", HDR("03") " 8000 00000002 0102" F_ROOT, AL_OK },
	{ "extension holding tag-like bytes", STATUS_OK " 9000 00000006 000100000000", AL_OK },

	/* SERIALS_FETCH and SERIALS (docs/protocol.md 9.9) */
	{ "serials fetch", SFETCH_OK, AL_OK },
	{ "serials fetch, budget 256", SFETCH_OK " 002f 00000004 00000100", AL_OK },
	{ "serials fetch, budget 65536", SFETCH_OK " 002f 00000004 00010000", AL_OK },
	{ "serials fetch, budget 255", SFETCH_OK " 002f 00000004 000000ff", AL_E_MSG_VALUE },
	{ "serials fetch, budget 65537", SFETCH_OK " 002f 00000004 00010001", AL_E_MSG_VALUE },
	{ "serials fetch, budget of 2 bytes", SFETCH_OK " 002f 00000002 0100", AL_E_MSG_VALUE },
	{ "serials fetch, after 2^63-1", HDR("09") F_ROOT " 002e 00000008 7fffffffffffffff", AL_OK },
	{ "serials fetch, after 2^63", HDR("09") F_ROOT " 002e 00000008 8000000000000000", AL_E_MSG_VALUE },
	{ "serials fetch, after of 4 bytes", HDR("09") F_ROOT " 002e 00000004 00000000", AL_E_MSG_VALUE },
	{ "serials fetch without root", HDR("09") F_AFTER, AL_E_MSG_FIELD },
	{ "serials fetch without after", HDR("09") F_ROOT, AL_E_MSG_FIELD },
	{ "serials fetch with a list", SFETCH_OK F_SLIST, AL_E_MSG_FIELD },
	{ "serials fetch, root a/b", HDR("09") " 0001 00000003 612f62" F_AFTER, AL_E_MSG_VALUE },
	{ "serials", SERIALS_OK, AL_OK },
	{ "serials, empty list", HDR("8a") F_ROOT " 0030 00000000" F_SLAST F_SEND, AL_OK },
	{ "serials, a 20-byte serial", HDR("8a") F_ROOT " 0030 00000015 14 0102030405060708090a0b0c0d0e0f1011121314" F_SLAST F_SEND, AL_OK },
	{ "serials, a 21-byte serial", HDR("8a") F_ROOT " 0030 00000016 15 0102030405060708090a0b0c0d0e0f101112131415" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials, length 0 entry", HDR("8a") F_ROOT " 0030 00000004 02 1003 00" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials, a leading zero", HDR("8a") F_ROOT " 0030 00000003 02 0080" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials, zero", HDR("8a") F_ROOT " 0030 00000002 01 00" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials, last entry cut", HDR("8a") F_ROOT " 0030 00000005 02 1003 03 0102" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials, length byte alone at the end", HDR("8a") F_ROOT " 0030 00000004 02 1003 01" F_SLAST F_SEND, AL_E_MSG_VALUE },
	{ "serials without end", HDR("8a") F_ROOT F_SLIST F_SLAST, AL_E_MSG_FIELD },
	{ "serials without last", HDR("8a") F_ROOT F_SLIST F_SEND, AL_E_MSG_FIELD },
	{ "serials without list", HDR("8a") F_ROOT F_SLAST F_SEND, AL_E_MSG_FIELD },
	{ "serials without root", HDR("8a") F_SLIST F_SLAST F_SEND, AL_E_MSG_FIELD },
	{ "serials with after", SERIALS_OK F_AFTER, AL_E_MSG_FIELD },
	{ "serials, last 2^63", HDR("8a") F_ROOT F_SLIST " 0031 00000008 8000000000000000" F_SEND, AL_E_MSG_VALUE },
	{ "serials, end of 7 bytes", HDR("8a") F_ROOT F_SLIST F_SLAST " 0032 00000007 00000000000009", AL_E_MSG_VALUE },

	/* duplicates */
	{ "root twice", FETCH_OK F_ROOT, AL_E_MSG_FIELD },
	{ "root twice, other value", FETCH_OK " 0001 00000001 61", AL_E_MSG_FIELD },
	{ "days twice", SIGN_OK F_DAYS F_DAYS, AL_E_MSG_FIELD },
	{ "text twice", ERROR_OK F_TEXT, AL_E_MSG_FIELD },

	/* required */
	{ "sign without csr", HDR("01") F_ROOT F_PROFILE, AL_E_MSG_FIELD },
	{ "sign without root", HDR("01") F_PROFILE F_CSR, AL_E_MSG_FIELD },
	{ "sign without profile", HDR("01") F_ROOT F_CSR, AL_E_MSG_FIELD },
	{ "revoke without serial", HDR("02") F_ROOT, AL_E_MSG_FIELD },
	{ "crl_fetch without root", HDR("03"), AL_E_MSG_FIELD },
	{ "time without time_ns", HDR("04"), AL_E_MSG_FIELD },
	{ "cert without cert", HDR("81") F_SERIAL, AL_E_MSG_FIELD },
	{ "crl without kind", HDR("82") F_ROOT F_CRL F_CRLNUM, AL_E_MSG_FIELD },
	{ "crl without number", HDR("82") F_ROOT F_CRL F_KIND, AL_E_MSG_FIELD },
	{ "crl current, no crl", HDR("82") F_ROOT F_CRLNUM " 000f 00000001 02", AL_OK },
	{ "error without text", HDR("83") F_CODE, AL_E_MSG_FIELD },
	{ "error without code", HDR("83") F_TEXT, AL_E_MSG_FIELD },
	{ "time_ack without time2", HDR("84") F_TIME, AL_E_MSG_FIELD },
	{ "status_reply without text", HDR("85"), AL_E_MSG_FIELD },
	{ "revoked without root", HDR("86") F_SERIAL, AL_E_MSG_FIELD },

	/* not allowed */
	{ "sign with serial", SIGN_OK F_SERIAL, AL_E_MSG_FIELD },
	{ "status with text", STATUS_OK F_TEXT, AL_E_MSG_FIELD },
	{ "crl_fetch with time_ns", FETCH_OK F_TIME, AL_E_MSG_FIELD },
	{ "revoke with time2", REVOKE_OK F_TIME2, AL_E_MSG_FIELD },
	{ "error with root", ERROR_OK F_ROOT, AL_E_MSG_FIELD },
	{ "time with time2", TIME_OK F_TIME2, AL_E_MSG_FIELD },
	{ "cert with crl", HDR("81") F_SERIAL F_CERT F_CRL, AL_E_MSG_FIELD },

	/* fixed sizes */
	{ "days 0 bytes", SIGN_OK " 0003 00000000", AL_E_MSG_VALUE },
	{ "days 3 bytes", SIGN_OK " 0003 00000003 00005a", AL_E_MSG_VALUE },
	{ "days 5 bytes", SIGN_OK " 0003 00000005 000000005a", AL_E_MSG_VALUE },
	{ "csr_format 0 bytes", SIGN_OK " 0005 00000000", AL_E_MSG_VALUE },
	{ "csr_format 2 bytes", SIGN_OK " 0005 00000002 0000", AL_E_MSG_VALUE },
	{ "reason 2 bytes", REVOKE_OK " 0007 00000002 0001", AL_E_MSG_VALUE },
	{ "invalidity 4 bytes", REVOKE_OK " 0008 00000004 00000000", AL_E_MSG_VALUE },
	{ "time_ns 7 bytes", HDR("04") " 000a 00000007 00000000000000", AL_E_MSG_VALUE },
	{ "time_ns 9 bytes", HDR("04") " 000a 00000009 000000000000000000", AL_E_MSG_VALUE },
	{ "sync 2 bytes", TIME_OK " 000b 00000002 0001", AL_E_MSG_VALUE },
	{ "crl_kind 4 bytes", FETCH_OK " 000f 00000004 00000000", AL_E_MSG_VALUE },
	{ "code 1 byte", HDR("83") " 0010 00000001 64" F_TEXT, AL_E_MSG_VALUE },
	{ "code 4 bytes", HDR("83") " 0010 00000004 00000064" F_TEXT, AL_E_MSG_VALUE },
	{ "time2 7 bytes", HDR("84") F_TIME " 0012 00000007 00000000000000", AL_E_MSG_VALUE },

	/* enum values */
	{ "csr_format 0", SIGN_OK " 0005 00000001 00", AL_OK },
	{ "csr_format 1", SIGN_OK " 0005 00000001 01", AL_OK },
	{ "csr_format 2", SIGN_OK " 0005 00000001 02", AL_E_MSG_VALUE },
	{ "csr_format 0xff", SIGN_OK " 0005 00000001 ff", AL_E_MSG_VALUE },
	{ "reason 0", REVOKE_OK " 0007 00000001 00", AL_OK },
	{ "reason 6", REVOKE_OK " 0007 00000001 06", AL_OK },
	{ "reason 7", REVOKE_OK " 0007 00000001 07", AL_E_MSG_VALUE },
	{ "reason 8", REVOKE_OK " 0007 00000001 08", AL_OK },
	{ "reason 10", REVOKE_OK " 0007 00000001 0a", AL_OK },
	{ "reason 11", REVOKE_OK " 0007 00000001 0b", AL_E_MSG_VALUE },
	{ "reason 0xff", REVOKE_OK " 0007 00000001 ff", AL_E_MSG_VALUE },
	{ "revoked reason 7", HDR("86") F_ROOT F_SERIAL " 0007 00000001 07", AL_E_MSG_VALUE },
	{ "sync 2", TIME_OK " 000b 00000001 02", AL_OK },
	{ "sync 3", TIME_OK " 000b 00000001 03", AL_E_MSG_VALUE },
	{ "time rtt", TIME_OK " 0016 00000008 0000000002faf080", AL_OK },
	{ "time rtt 4 bytes", TIME_OK " 0016 00000004 02faf080", AL_E_MSG_VALUE },
	{ "time prev id", TIME_OK " 0015 00000010 000102030405060708090a0b0c0d0e0f", AL_OK },
	{ "time prev id 15 bytes", TIME_OK " 0015 0000000f 000102030405060708090a0b0c0d0e", AL_E_MSG_VALUE },
	{ "crl_kind 1", FETCH_OK " 000f 00000001 01", AL_OK },
	{ "crl_kind 2", FETCH_OK " 000f 00000001 02", AL_OK },
	{ "crl_kind 3", FETCH_OK " 000f 00000001 03", AL_E_MSG_VALUE },
	{ "crl kind 3", HDR("82") F_ROOT F_CRL F_CRLNUM " 000f 00000001 03", AL_E_MSG_VALUE },
	{ "code 0xffff", HDR("83") " 0010 00000002 ffff" F_TEXT, AL_OK },

	/* names */
	{ "root empty", HDR("03") " 0001 00000000", AL_E_MSG_VALUE },
	{ "root a/b", HDR("03") " 0001 00000003 612f62", AL_E_MSG_VALUE },
	{ "root a b", HDR("03") " 0001 00000003 612062", AL_E_MSG_VALUE },
	{ "root with NUL", HDR("03") " 0001 00000003 610062", AL_E_MSG_VALUE },
	{ "root with newline", HDR("03") " 0001 00000002 610a", AL_E_MSG_VALUE },
	{ "root non-ASCII", HDR("03") " 0001 00000002 c3a9", AL_E_MSG_VALUE },
	{ "root ._-", HDR("03") " 0001 00000003 2e5f2d", AL_OK },
	{ "profile a/b", HDR("01") F_ROOT F_CSR " 0002 00000003 612f62", AL_E_MSG_VALUE },
	{ "profile empty", HDR("01") F_ROOT F_CSR " 0002 00000000", AL_E_MSG_VALUE },
	{ "cert root bad", HDR("81") F_SERIAL F_CERT " 0001 00000001 2f", AL_E_MSG_VALUE },

	/* UTF-8 text */
	{ "text empty", REPLY("00", ""), AL_OK },
	{ "text ASCII", REPLY("01", "61"), AL_OK },
	{ "text DEL", REPLY("01", "7f"), AL_OK },
	{ "text U+00E9", REPLY("02", "c3a9"), AL_OK },
	{ "text U+20AC", REPLY("03", "e282ac"), AL_OK },
	{ "text U+D7FF", REPLY("03", "ed9fbf"), AL_OK },
	{ "text U+E000", REPLY("03", "ee8080"), AL_OK },
	{ "text U+1F600", REPLY("04", "f09f9880"), AL_OK },
	{ "text U+10FFFF", REPLY("04", "f48fbfbf"), AL_OK },
	{ "text NUL", REPLY("01", "00"), AL_E_MSG_VALUE },
	{ "text NUL inside", REPLY("03", "610062"), AL_E_MSG_VALUE },
	{ "text overlong 2", REPLY("02", "c0af"), AL_E_MSG_VALUE },
	{ "text overlong 2, c1", REPLY("02", "c1bf"), AL_E_MSG_VALUE },
	{ "text overlong NUL", REPLY("02", "c080"), AL_E_MSG_VALUE },
	{ "text overlong 3", REPLY("03", "e080af"), AL_E_MSG_VALUE },
	{ "text overlong 3, U+07FF", REPLY("03", "e09fbf"), AL_E_MSG_VALUE },
	{ "text overlong 4", REPLY("04", "f08080af"), AL_E_MSG_VALUE },
	{ "text overlong 4, U+FFFF", REPLY("04", "f08fbfbf"), AL_E_MSG_VALUE },
	{ "text surrogate D800", REPLY("03", "eda080"), AL_E_MSG_VALUE },
	{ "text surrogate DFFF", REPLY("03", "edbfbf"), AL_E_MSG_VALUE },
	{ "text U+110000", REPLY("04", "f4908080"), AL_E_MSG_VALUE },
	{ "text lead f5", REPLY("04", "f5808080"), AL_E_MSG_VALUE },
	{ "text 5-byte form", REPLY("05", "f888808080"), AL_E_MSG_VALUE },
	{ "text lead f8, 4 bytes", REPLY("04", "f8a08080"), AL_E_MSG_VALUE },
	{ "text lead fc, 4 bytes", REPLY("04", "fc808080"), AL_E_MSG_VALUE },
	{ "text truncated 3", REPLY("02", "e282"), AL_E_MSG_VALUE },
	{ "text truncated 2", REPLY("01", "c3"), AL_E_MSG_VALUE },
	{ "text truncated 4", REPLY("03", "f09f98"), AL_E_MSG_VALUE },
	{ "text truncated, then ASCII", REPLY("03", "e28261"), AL_E_MSG_VALUE },
	{ "text lone continuation", REPLY("01", "80"), AL_E_MSG_VALUE },
	{ "text 0xfe", REPLY("01", "fe"), AL_E_MSG_VALUE },
	{ "text 0xff", REPLY("01", "ff"), AL_E_MSG_VALUE },
	{ "error text bad", HDR("83") F_CODE TEXT("02", "c0af"), AL_E_MSG_VALUE },

	/* byte fields */
	{ "serial empty", HDR("02") F_ROOT " 0006 00000000", AL_E_MSG_VALUE },
	{ "crl_number empty", FETCH_OK " 0009 00000000", AL_E_MSG_VALUE },
	{ "csr empty", HDR("01") F_ROOT F_PROFILE " 0004 00000000", AL_E_MSG_VALUE },
	{ "cert empty", HDR("81") F_SERIAL " 000c 00000000", AL_E_MSG_VALUE },
	{ "chain empty", HDR("81") F_SERIAL F_CERT " 000d 00000000", AL_E_MSG_VALUE },
	{ "crl empty", HDR("82") F_ROOT F_CRLNUM F_KIND " 000e 00000000", AL_E_MSG_VALUE },
	{ "crl_sig empty", HDR("82") F_ROOT F_CRLNUM F_KIND " 0013 00000000", AL_E_MSG_VALUE },
	{ "delta_crl empty", HDR("82") F_ROOT F_CRLNUM F_KIND " 0014 00000000", AL_E_MSG_VALUE },
};

static void
test_decode_table(void **state)
{
	struct buf b;
	struct msg m;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(t_cases); i++) {
		buf_init(&b);
		t_hex(t_cases[i].hex, &b);
		rc = t_decode(b.p, b.len, &m);
		if (rc != t_cases[i].rc)
			print_error("case \"%s\": got %d, want %d\n",
			    t_cases[i].what, rc, t_cases[i].rc);
		assert_int_equal(rc, t_cases[i].rc);
		if (rc != AL_OK)
			assert_int_equal(m.present, 0);
		buf_free(&b);
	}
}

/* Length limits, built with the encoder (which does not judge values). */
static const struct {
	int		 type;
	int		 tag;
	size_t		 len;
	int		 rc;
} t_sizes[] = {
	{ MSG_SIGN, T_ROOT, 63, AL_OK },
	{ MSG_SIGN, T_ROOT, 64, AL_E_MSG_VALUE },
	{ MSG_SIGN, T_PROFILE, 63, AL_OK },
	{ MSG_SIGN, T_PROFILE, 64, AL_E_MSG_VALUE },
	{ MSG_SIGN, T_CSR, 1, AL_OK },
	{ MSG_SIGN, T_CSR, 65536, AL_OK },
	{ MSG_SIGN, T_CSR, 65537, AL_E_MSG_VALUE },
	{ MSG_SIGN, T_SUBJECT, 1024, AL_OK },
	{ MSG_SIGN, T_SUBJECT, 1025, AL_E_MSG_VALUE },
	{ MSG_SIGN, T_SAN, 4096, AL_OK },
	{ MSG_SIGN, T_SAN, 4097, AL_E_MSG_VALUE },
	{ MSG_CERT, T_CERT, 65536, AL_OK },
	{ MSG_CERT, T_CERT, 65537, AL_E_MSG_VALUE },
	{ MSG_CERT, T_CHAIN, 262144, AL_OK },
	{ MSG_CERT, T_CHAIN, 262145, AL_E_MSG_VALUE },
	{ MSG_STATUS_REPLY, T_TEXT, 65536, AL_OK },
	{ MSG_STATUS_REPLY, T_TEXT, 65537, AL_E_MSG_VALUE },
	{ MSG_REVOKE, T_SERIAL, 1, AL_OK },
	{ MSG_REVOKE, T_SERIAL, 20, AL_OK },
	{ MSG_REVOKE, T_SERIAL, 21, AL_E_MSG_VALUE },
	{ MSG_CERT, T_SERIAL, 21, AL_E_MSG_VALUE },
	{ MSG_CRL_FETCH, T_CRL_NUMBER, 20, AL_OK },
	{ MSG_CRL_FETCH, T_CRL_NUMBER, 21, AL_E_MSG_VALUE },
	{ MSG_CRL, T_CRL_NUMBER, 21, AL_E_MSG_VALUE },
	{ MSG_CRL, T_CRL, 1 << 20, AL_OK },
	{ MSG_CRL, T_CRL_SIG, 1024, AL_OK },
	{ MSG_CRL, T_CRL_SIG, 1025, AL_E_MSG_VALUE },
	{ MSG_CRL, T_DELTA_CRL, 1 << 20, AL_OK },
};

static uint64_t
t_required(int type)
{
	size_t i;

	for (i = 0; i < NELEM(t_types); i++)
		if (t_types[i].type == type)
			return t_types[i].required;
	fail();
	return 0;
}

static struct msg_bytes *
t_field(struct msg *m, int tag)
{
	switch (tag) {
	case T_ROOT:		return &m->root;
	case T_PROFILE:		return &m->profile;
	case T_CSR:		return &m->csr;
	case T_SERIAL:		return &m->serial;
	case T_CRL_NUMBER:	return &m->crl_number;
	case T_CERT:		return &m->cert;
	case T_CHAIN:		return &m->chain;
	case T_CRL:		return &m->crl;
	case T_TEXT:		return &m->text;
	case T_CRL_SIG:		return &m->crl_sig;
	case T_DELTA_CRL:	return &m->delta_crl;
	case T_TIME_PREV:	return &m->time_prev;
	case T_SUBJECT:		return &m->subject;
	case T_SAN:		return &m->san;
	}
	fail();
	return NULL;
}

static void
test_size_limits(void **state)
{
	struct msg m, d;
	struct buf b;
	uint8_t *fill;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t_sizes); i++) {
		fill = malloc(t_sizes[i].len);
		assert_non_null(fill);
		memset(fill, 'a', t_sizes[i].len);
		t_fill(&m, t_sizes[i].type,
		    t_required(t_sizes[i].type) | BIT(t_sizes[i].tag));
		t_bytes(t_field(&m, t_sizes[i].tag), fill, t_sizes[i].len);
		buf_init(&b);
		assert_int_equal(msg_encode(&m, &b), 0);
		assert_int_equal(t_decode(b.p, b.len, &d), t_sizes[i].rc);
		if (t_sizes[i].rc == AL_OK) {
			assert_int_equal(msg_decode(b.p, b.len, &d), AL_OK);
			assert_int_equal(t_field(&d, t_sizes[i].tag)->len,
			    t_sizes[i].len);
		}
		buf_free(&b);
		free(fill);
	}
}

/* A message of exactly MSG_MAX_LEN bytes passes; one byte more does not. */
static void
test_max_len(void **state)
{
	struct msg m, d;
	struct buf b;
	uint8_t *crl;
	size_t base, n;

	(void)state;
	buf_init(&b);
	t_fill(&m, MSG_CRL, t_required(MSG_CRL) | BIT(T_CRL));
	assert_int_equal(msg_encode(&m, &b), 0);
	base = b.len - m.crl.len;
	n = MSG_MAX_LEN - base;
	crl = calloc(1, n + 1);
	assert_non_null(crl);
	t_bytes(&m.crl, crl, n);
	buf_reset(&b);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(b.len, MSG_MAX_LEN);
	assert_int_equal(msg_decode(b.p, b.len, &d), AL_OK);
	assert_int_equal(d.crl.len, n);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	assert_int_equal(msg_decode(b.p, b.len, &d), AL_E_MSG);
	assert_int_equal(d.type, 0);
	/* the encoder refuses too, and leaves the buffer alone */
	buf_reset(&b);
	assert_int_equal(buf_put_u8(&b, 0xee), 0);
	t_bytes(&m.crl, crl, n + 1);
	assert_int_equal(msg_encode(&m, &b), -1);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.p[0], 0xee);
	t_bytes(&m.crl, crl, SIZE_MAX);
	assert_int_equal(msg_encode(&m, &b), -1);
	assert_int_equal(b.len, 1);
	free(crl);
	buf_free(&b);
}

static void
t_expect_ids(const char *hex, int rc, int type)
{
	struct buf b;
	struct msg m;

	buf_init(&b);
	t_hex(hex, &b);
	memset(&m, 0xaa, sizeof(m));
	assert_int_equal(msg_decode(b.p, b.len, &m), rc);
	assert_int_equal(m.type, type);
	assert_memory_equal(m.reqid, t_reqid, sizeof(t_reqid));
	assert_int_equal(m.present, 0);
	assert_null(m.root.p);
	buf_free(&b);
}

static void
test_ids_on_error(void **state)
{
	struct msg m;
	uint8_t zero[AIRLOCK_REQID_LEN] = { 0 };
	struct buf b;

	(void)state;
	t_expect_ids(HDR("42") F_ROOT, AL_E_MSG_TYPE, 0x42);
	t_expect_ids(HDR("01") F_ROOT F_PROFILE, AL_E_MSG_FIELD, MSG_SIGN);
	t_expect_ids(FETCH_OK F_ROOT, AL_E_MSG_FIELD, MSG_CRL_FETCH);
	t_expect_ids(SIGN_OK " 0003 00000001 00", AL_E_MSG_VALUE, MSG_SIGN);
	t_expect_ids(FETCH_OK " 00", AL_E_MSG, MSG_CRL_FETCH);
	/* no readable header: nothing is filled in, all is zero */
	buf_init(&b);
	t_hex("02" "01" REQID, &b);
	memset(&m, 0xaa, sizeof(m));
	assert_int_equal(msg_decode(b.p, b.len, &m), AL_E_MSG);
	assert_int_equal(m.type, 0);
	assert_memory_equal(m.reqid, zero, sizeof(zero));
	memset(&m, 0xaa, sizeof(m));
	assert_int_equal(msg_decode(b.p, MSG_HDR_LEN - 1, &m), AL_E_MSG);
	assert_int_equal(m.type, 0);
	assert_memory_equal(m.reqid, zero, sizeof(zero));
	buf_free(&b);
	assert_int_equal(msg_decode(NULL, 0, &m), AL_E_MSG);
}

/* Extensions are dropped and fields come out in tag order. */
static void
test_encode_canonical(void **state)
{
	struct buf in, out, want;
	struct msg m;

	(void)state;
	buf_init(&in);
	buf_init(&out);
	buf_init(&want);
	t_hex(HDR("01") F_CSR " 8123 00000002 abcd" F_DAYS F_PROFILE F_ROOT,
	    &in);
	t_hex(kat_hex, &want);
	assert_int_equal(msg_decode(in.p, in.len, &m), AL_OK);
	assert_int_equal(msg_encode(&m, &out), 0);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.p, want.p, want.len);
	buf_free(&in);
	buf_free(&out);
	buf_free(&want);
}

static void
test_encode_edges(void **state)
{
	struct buf b, ref;
	struct msg m;

	(void)state;
	buf_init(&b);
	buf_init(&ref);
	/* appends after what is already there */
	t_fill(&m, MSG_STATUS, 0);
	assert_int_equal(buf_put(&b, "xy", 2), 0);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(b.len, 2 + MSG_HDR_LEN);
	assert_memory_equal(b.p, "xy\x01\x05", 4);
	assert_memory_equal(b.p + 4, t_reqid, sizeof(t_reqid));
	/* a byte field with no data is refused, the buffer untouched */
	t_fill(&m, MSG_SIGN, t_required(MSG_SIGN));
	m.csr.p = NULL;
	assert_int_equal(msg_encode(&m, &b), -1);
	assert_int_equal(b.len, 2 + MSG_HDR_LEN);
	/* an empty one is written as such */
	m.csr.len = 0;
	buf_reset(&b);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(msg_decode(b.p, b.len, &m), AL_E_MSG_VALUE);
	/* bits of tags that do not exist are not encoded */
	t_fill(&m, MSG_SIGN, t_required(MSG_SIGN));
	buf_reset(&b);
	assert_int_equal(msg_encode(&m, &ref), 0);
	m.present |= 1u | 1ull << (T_MAX_TAG + 1) | 1ull << 31 | 1ull << 63;
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(b.len, ref.len);
	assert_memory_equal(b.p, ref.p, ref.len);
	buf_free(&b);
	buf_free(&ref);
}

static void
test_type_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(t_types); i++) {
		assert_string_equal(msg_type_name(t_types[i].type),
		    t_types[i].name);
		assert_int_equal(msg_is_request(t_types[i].type),
		    t_types[i].request);
	}
	assert_string_equal(msg_type_name(0), "UNKNOWN");
	assert_string_equal(msg_type_name(0x0a), "UNKNOWN");
	assert_string_equal(msg_type_name(0x80), "UNKNOWN");
	assert_string_equal(msg_type_name(0x181), "UNKNOWN");
	assert_string_equal(msg_type_name(-1), "UNKNOWN");
	assert_int_equal(msg_is_request(0), 0);
	assert_int_equal(msg_is_request(0x0a), 0);
	assert_int_equal(msg_is_request(MSG_SERIALS), 0);
	assert_int_equal(msg_is_request(0x7f), 0);
	assert_int_equal(msg_is_request(-1), 0);
}

static void
test_msg_error(void **state)
{
	struct msg m, d;
	struct buf b;
	const char *s;

	(void)state;
	memset(&m, 0xaa, sizeof(m));
	msg_error(&m, t_reqid, AL_E_SERIAL, NULL);
	s = al_strerror(AL_E_SERIAL);
	assert_int_equal(m.type, MSG_ERROR);
	assert_memory_equal(m.reqid, t_reqid, sizeof(t_reqid));
	assert_int_equal(m.present, BIT(T_CODE) | BIT(T_TEXT));
	assert_int_equal(m.code, AL_E_SERIAL);
	assert_ptr_equal(m.text.p, s);
	assert_int_equal(m.text.len, strlen(s));
	assert_null(m.root.p);
	assert_true(m.time_ns == 0);
	buf_init(&b);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(msg_decode(b.p, b.len, &d), AL_OK);
	t_msg_equal(&m, &d);
	buf_free(&b);

	msg_error(&m, t_reqid, AL_E_BUSY, "try again");
	assert_int_equal(m.code, AL_E_BUSY);
	assert_int_equal(m.text.len, 9);
	assert_memory_equal(m.text.p, "try again", 9);
	msg_error(&m, t_reqid, 999, NULL);
	assert_string_equal((const char *)m.text.p, al_strerror(999));
}

/* docs/protocol.md 12.4: a SERIALS_FETCH and its answer, byte for byte */
static const char kat_sfetch_hex[] =
    "01" "09" REQID
    "0001" "00000007" "64656d6f2d6563"		/* ROOT "demo-ec" */
    "002e" "00000008" "0000000000000000"	/* SERIALS_AFTER 0: none held */
    "002f" "00000004" "00004000";		/* SERIALS_MAX 16384 */
static const char kat_serials_hex[] =
    "01" "8a" REQID
    "0001" "00000007" "64656d6f2d6563"		/* ROOT "demo-ec" */
    "0030" "00000007" "02" "1003" "03" "400102"	/* SERIALS_LIST 0x1003, 0x400102 */
    "0031" "00000008" "0000000000000009"	/* SERIALS_LAST 9 */
    "0032" "00000008" "000000000000000c";	/* SERIALS_END 12: more remain */

static void
test_kat_serials(void **state)
{
	static const uint8_t s1[] = { 0x10, 0x03 }, s2[] = { 0x40, 0x01, 0x02 };
	struct buf want, got, list;
	const uint8_t *p;
	struct msg m, d;
	size_t off = 0, n;

	(void)state;
	buf_init(&want);
	buf_init(&got);
	buf_init(&list);
	t_hex(kat_sfetch_hex, &want);
	assert_int_equal(want.len, 55);
	memset(&m, 0, sizeof(m));
	m.type = MSG_SERIALS_FETCH;
	memcpy(m.reqid, t_reqid, sizeof(m.reqid));
	t_bytes(&m.root, "demo-ec", 7);
	m.serials_max = 16384;
	m.present = BIT(T_ROOT) | BIT(T_SERIALS_AFTER) | BIT(T_SERIALS_MAX);
	assert_int_equal(msg_encode(&m, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);

	buf_reset(&want);
	buf_reset(&got);
	t_hex(kat_serials_hex, &want);
	assert_int_equal(want.len, 72);
	assert_int_equal(msg_serials_put(&list, s1, sizeof(s1)), 0);
	assert_int_equal(msg_serials_put(&list, s2, sizeof(s2)), 0);
	memset(&m, 0, sizeof(m));
	m.type = MSG_SERIALS;
	memcpy(m.reqid, t_reqid, sizeof(m.reqid));
	t_bytes(&m.root, "demo-ec", 7);
	t_bytes(&m.serials_list, list.p, list.len);
	m.serials_last = 9;
	m.serials_end = 12;
	m.present = BIT(T_ROOT) | BIT(T_SERIALS_LIST) | BIT(T_SERIALS_LAST) |
	    BIT(T_SERIALS_END);
	assert_int_equal(msg_encode(&m, &got), 0);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);

	/* and back: the serials one by one */
	assert_int_equal(msg_decode(want.p, want.len, &d), AL_OK);
	assert_int_equal(d.type, MSG_SERIALS);
	assert_true(d.serials_last == 9 && d.serials_end == 12);
	assert_int_equal(msg_serials_next(&d.serials_list, &off, &p, &n), 1);
	assert_int_equal(n, 2);
	assert_memory_equal(p, s1, 2);
	assert_int_equal(msg_serials_next(&d.serials_list, &off, &p, &n), 1);
	assert_int_equal(n, 3);
	assert_memory_equal(p, s2, 3);
	assert_int_equal(msg_serials_next(&d.serials_list, &off, &p, &n), 0);
	assert_int_equal(msg_serials_next(&d.serials_list, &off, &p, &n), 0);
	buf_free(&want);
	buf_free(&got);
	buf_free(&list);
}

/* msg_serials_put refuses what the decoder would; the list's byte limit. */
static void
test_serials_list(void **state)
{
	uint8_t big[21], zero[2] = { 0, 1 }, *fill;
	struct msg m, d;
	struct msg_bytes mb;
	struct buf b, list;
	const uint8_t *p;
	size_t off = 0, n, k;

	(void)state;
	memset(big, 0x55, sizeof(big));
	buf_init(&b);
	buf_init(&list);
	assert_int_equal(msg_serials_put(&list, big, 0), -1);
	assert_int_equal(msg_serials_put(&list, big, 21), -1);
	assert_int_equal(msg_serials_put(&list, zero, 2), -1);
	assert_int_equal(msg_serials_put(&list, zero, 1), -1);
	assert_int_equal(list.len, 0);
	assert_int_equal(msg_serials_put(&list, big, 20), 0);
	assert_int_equal(msg_serials_put(&list, zero + 1, 1), 0);
	assert_int_equal(list.len, 23);
	/* the walk stops at a lying length of a buffer that did not decode */
	mb.p = list.p;
	mb.len = 22;
	assert_int_equal(msg_serials_next(&mb, &off, &p, &n), 1);
	assert_int_equal(n, 20);
	assert_int_equal(msg_serials_next(&mb, &off, &p, &n), 0);

	/* 65536 bytes of serials pass (3120 of 20 bytes and one of 15),
	 * 65537 do not */
	fill = malloc(65537);
	assert_non_null(fill);
	for (k = 0; k < 3120; k++) {
		fill[k * 21] = 20;
		memset(fill + k * 21 + 1, 0x42, 20);
	}
	fill[65520] = 15;
	memset(fill + 65521, 0x42, 15);
	t_fill(&m, MSG_SERIALS, t_required(MSG_SERIALS));
	t_bytes(&m.serials_list, fill, 65536);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(t_decode(b.p, b.len, &d), AL_OK);
	fill[65520] = 16;
	fill[65536] = 0x42;
	t_bytes(&m.serials_list, fill, 65537);
	buf_reset(&b);
	assert_int_equal(msg_encode(&m, &b), 0);
	assert_int_equal(t_decode(b.p, b.len, &d), AL_E_MSG_VALUE);
	free(fill);
	buf_free(&b);
	buf_free(&list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_encode),
		cmocka_unit_test(test_kat_decode),
		cmocka_unit_test(test_kat_serials),
		cmocka_unit_test(test_serials_list),
		cmocka_unit_test(test_round_trip_all_types),
		cmocka_unit_test(test_round_trip_each_optional),
		cmocka_unit_test(test_truncated_kat),
		cmocka_unit_test(test_truncated_all_types),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_max_len),
		cmocka_unit_test(test_ids_on_error),
		cmocka_unit_test(test_encode_canonical),
		cmocka_unit_test(test_encode_edges),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_msg_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
