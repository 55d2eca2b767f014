/*
 * msg.h: the message codec (docs/protocol.md, "Messages").
 *
 * A message is: version (1 byte) || type (1) || request id (16) || fields,
 * each field tag (2 bytes) || length (4) || value, big-endian. The decoder
 * checks every length before touching the bytes, refuses duplicate and
 * unknown fields (tags >= 0x8000 are optional and skipped), and checks the
 * per-type table of required and allowed fields. Byte fields point into the
 * input buffer: they stay valid as long as it does.
 */
#ifndef MSG_H
#define MSG_H

#include <stddef.h>
#include <stdint.h>

#include "airlock.h"
#include "util.h"

#define MSG_VERSION	1
#define MSG_HDR_LEN	(2 + AIRLOCK_REQID_LEN)
#define MSG_MAX_LEN	(16u << 20)	/* hard limit on one message (CRLs) */
#define MSG_KEY_GEN_MAX	1000000		/* KEY_GEN, KEY_NEWEST: highest generation */
#define MSG_SERIAL_MAX	20		/* bytes of a serial number (RFC 5280) */
#define MSG_SERIALS_MAX	(64u << 10)	/* SERIALS_LIST, SERIALS_MAX: bytes at most */

enum msg_type {
	MSG_SIGN	= 0x01,	/* webdb -> signer */
	MSG_REVOKE	= 0x02,
	MSG_CRL_FETCH	= 0x03,
	MSG_TIME	= 0x04,
	MSG_STATUS	= 0x05,
	MSG_PGP_CERTIFY	= 0x06,	/* certify an OpenPGP key's user IDs */
	MSG_AUDIT_FETCH	= 0x07,	/* the signer's audit records after a seq */
	MSG_CATCHUP	= 0x08,	/* after a restore: what the signer no longer knows */
	MSG_SERIALS_FETCH = 0x09,	/* the serials of a root's certificates after a position */
	MSG_CERT	= 0x81,	/* signer -> webdb */
	MSG_CRL		= 0x82,
	MSG_ERROR	= 0x83,
	MSG_TIME_ACK	= 0x84,
	MSG_STATUS_REPLY = 0x85,
	MSG_REVOKED	= 0x86,
	MSG_PGP_CERTIFIED = 0x87,	/* the new certification signatures */
	MSG_AUDIT_LOG	= 0x88,	/* audit records and the signed chain head */
	MSG_CATCHUP_STATE = 0x89,	/* whether the signer waits for a catch-up */
	MSG_SERIALS	= 0x8a,	/* a batch of serials and where it ends */
};

enum msg_tag {
	T_ROOT		= 1,	/* utf8, root or subroot name */
	T_PROFILE	= 2,	/* utf8, profile name */
	T_DAYS		= 3,	/* u32, requested validity in days */
	T_CSR		= 4,	/* bytes, PKCS#10 DER or PEM, or SPKAC */
	T_CSR_FORMAT	= 5,	/* u8, enum msg_csr_format */
	T_SERIAL	= 6,	/* bytes, unsigned big-endian */
	T_REASON	= 7,	/* u8, RFC 5280 CRLReason */
	T_INVALIDITY	= 8,	/* u64, unix seconds */
	T_CRL_NUMBER	= 9,	/* bytes, unsigned big-endian */
	T_TIME_NS	= 10,	/* u64, unix time in ns */
	T_SYNC		= 11,	/* u8, enum msg_sync */
	T_CERT		= 12,	/* bytes, certificate DER */
	T_CHAIN		= 13,	/* bytes, concatenated issuer chain DER */
	T_CRL		= 14,	/* bytes, CRL DER */
	T_CRL_KIND	= 15,	/* u8, enum msg_crl_kind */
	T_CODE		= 16,	/* u16, enum al_err */
	T_TEXT		= 17,	/* utf8, human sentence or status text */
	T_TIME2_NS	= 18,	/* u64, the answering side's time in ns */
	T_CRL_SIG	= 19,	/* bytes, signature value of the full CRL */
	T_DELTA_CRL	= 20,	/* bytes, delta CRL DER beside a full CRL */
	T_TIME_PREV	= 21,	/* bytes(16), request id of the TIME before */
	T_RTT_NS	= 22,	/* u64, round trip of that TIME, in ns */
	T_PGP_KEY	= 23,	/* bytes, OpenPGP public key, binary or armour */
	T_EMAILS	= 24,	/* utf8, verified e-mail addresses, one per line */
	T_PGP_SIGS	= 25,	/* bytes, OpenPGP signature packets */
	T_SUBJECT	= 26,	/* utf8, subject DN "/CN=.../O=..." replacing the CSR's */
	T_SAN		= 27,	/* utf8, subjectAltName "DNS:a,email:b" replacing the CSR's */
	/* 28..31 are kept free */
	T_AUDIT_AFTER	= 32,	/* u64, the last audit seq webdb holds */
	T_AUDIT_HEAD	= 33,	/* bytes(48), a chain head: seq || hash || time */
	T_AUDIT_RECS	= 34,	/* bytes, audit records (auditrec.h) */
	T_AUDIT_SIG	= 35,	/* bytes(64), Ed25519 signature of AUDIT_HEAD */
	T_AUDIT_MAX	= 36,	/* u32, most AUDIT_RECS bytes wanted */
	T_AUDIT_CHECK	= 37,	/* u64, first seq of records to send again */
	T_CATCHUP_ITEMS	= 38,	/* bytes, catch-up items (section 9.8.1) */
	T_CATCHUP_END	= 39,	/* u8 1: the sender has sent everything */
	T_CATCHUP_PHASE	= 40,	/* u8, enum msg_catchup_phase */
	/* 41..43 are kept free */
	T_KEY_GEN	= 44,	/* u32, a root's CA key generation (1: the first) */
	T_KEY_NEWEST	= 45,	/* u32, the generation of the root's issuing key */
	T_SERIALS_AFTER	= 46,	/* u64, the last position whose serial webdb holds */
	T_SERIALS_MAX	= 47,	/* u32, most SERIALS_LIST bytes wanted */
	T_SERIALS_LIST	= 48,	/* bytes, serials: u8 length || big-endian, each */
	T_SERIALS_LAST	= 49,	/* u64, the position the answer covers up to */
	T_SERIALS_END	= 50,	/* u64, the position of the root's newest certificate */
	T_MAX_TAG	= 50,
};

enum msg_catchup_phase {
	MSG_CATCHUP_NONE	= 0,	/* no restore waits: nothing to send */
	MSG_CATCHUP_WAITING	= 1,	/* restored: send everything held */
	MSG_CATCHUP_FINISHED	= 2,	/* the END was applied; signing resumes */
};
enum msg_csr_format { MSG_CSR_PKCS10 = 0, MSG_CSR_SPKAC = 1 };
enum msg_crl_kind { MSG_CRL_FULL = 0, MSG_CRL_DELTA = 1, MSG_CRL_CURRENT = 2 };

struct msg_bytes {
	const uint8_t	*p;
	size_t		 len;
};

struct msg {
	uint8_t		 type;				/* enum msg_type */
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	uint64_t	 present;			/* bit (1 << tag) per field */
	struct msg_bytes root, profile, csr, serial, crl_number, cert, chain,
			 crl, text, crl_sig, delta_crl, time_prev,
			 pgp_key, emails, pgp_sigs, subject, san,
			 audit_head, audit_recs, audit_sig, catchup_items,
			 serials_list;
	uint32_t	 days, audit_max, key_gen, key_newest, serials_max;
	uint8_t		 csr_format, reason, sync, crl_kind, catchup_end, catchup_phase;
	uint16_t	 code;
	uint64_t	 invalidity, time_ns, time2_ns, rtt_ns;
	uint64_t	 audit_after, audit_check;
	uint64_t	 serials_after, serials_last, serials_end;
};

#define MSG_HAS(m, tag)	(((m)->present >> (tag)) & 1)
#define MSG_SET(m, tag)	((m)->present |= 1ull << (tag))

/* msg.c */
/* Returns AL_OK, or AL_E_MSG / AL_E_MSG_TYPE / AL_E_MSG_FIELD / AL_E_MSG_VALUE.
 * On AL_E_MSG_TYPE and later errors m->type and m->reqid are filled in, so
 * the caller can address its ERROR answer. */
int	 msg_decode(const uint8_t *, size_t, struct msg *);
/* Appends the encoding of m to b; fields listed in m->present are written. */
int	 msg_encode(const struct msg *, struct buf *);
/* Replaces b with the encoding of m and decodes it again: a request that
 * the signer host would refuse as malformed is refused before it is queued.
 * Returns 0, or -1 (out of memory, or m does not make a valid message). */
int	 msg_encode_checked(const struct msg *, struct buf *);
const char *msg_type_name(int);
int	 msg_is_request(int);
/* Fill an ERROR answer to req. text may be NULL for al_strerror(code). */
void	 msg_error(struct msg *, const uint8_t reqid[AIRLOCK_REQID_LEN], int code, const char *text);
/* SERIALS_LIST (docs/protocol.md 9.9): appends one serial (1..MSG_SERIAL_MAX
 * bytes, no leading zero byte); 0 or -1. */
int	 msg_serials_put(struct buf *, const uint8_t *serial, size_t len);
/* The serial at *off of a SERIALS_LIST that decoded: 1 and the serial
 * (pointing into it), *off moved past it; 0 at the end. */
int	 msg_serials_next(const struct msg_bytes *, size_t *off, const uint8_t **serial,
	    size_t *len);

#endif
