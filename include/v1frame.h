/*
 * v1frame.h: the wire of CAcert's old CommModule ("v1"), as the webdb's
 * old client speaks it (docs/legacy-v1.md has the bytes and the mapping).
 *
 * A transfer is: STX (0x02) from the sender, ACK (0x10) from the receiver,
 * then the frame  len24 || body || xor || "rie4Ech7",  where len24 is the
 * big-endian length of body and xor is the XOR of len24 and body; the
 * receiver answers ACK, or NAK (0x11) after which the sender repeats the
 * frame (not the STX). A request body is four len24-prefixed fields: a
 * 9-byte header, then three strings; an answer body the same with a 4-byte
 * header.
 *
 * Everything here is pure: no I/O, no clock, no database. The receiver is
 * a state machine fed bytes; the caller tells it when the line has been
 * quiet for a while (v1_dec_quiet). It is fuzzed (tests/fuzz/fuzz_v1frame.c).
 */
#ifndef V1FRAME_H
#define V1FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define V1_STX		0x02
#define V1_ACK		0x10
#define V1_NAK		0x11
#define V1_TRAILER	"rie4Ech7"
#define V1_TRAILER_LEN	8
#define V1_VERSION	1
#define V1_REQ_HDR_LEN	9
#define V1_ANS_HDR_LEN	4
#define V1_MAX_BODY	(256u << 10)	/* a request body; answers may be larger */
#define V1_MAX_WIRE	(3 + V1_MAX_BODY + 1 + V1_TRAILER_LEN)
#define V1_MAX_NAKS	3		/* NAKs for one transfer, then silence */
#define V1_MAX_FIELD1	(64u << 10)	/* CSR, certificate or OpenPGP key */
#define V1_MAX_FIELD2	4096		/* SAN */
#define V1_MAX_FIELD3	1024		/* subject DN or CRL hash */

enum v1_action { V1_ACT_NUL = 0, V1_ACT_SIGN = 1, V1_ACT_REVOKE = 2 };
enum v1_system { V1_SYS_X509 = 1, V1_SYS_OPENPGP = 2 };

/* What a push or a quiet line means for the caller. */
enum v1_ev {
	V1_EV_NONE	= 0,	/* all bytes used, nothing to do */
	V1_EV_STX	= 1,	/* answer ACK: a transfer starts */
	V1_EV_FRAME	= 2,	/* answer ACK: a good frame is in body/len */
	V1_EV_NAK	= 3,	/* answer NAK: the sender repeats the frame */
	V1_EV_GIVEUP	= 4,	/* answer nothing: the transfer is dropped */
};

/* Why a frame was refused (the counter it went to). */
enum v1_bad {
	V1_BAD_XOR	= 1,	/* XOR byte does not match */
	V1_BAD_LENGTH	= 2,	/* length disagrees with where the trailer is */
	V1_BAD_TRAILER	= 3,	/* no trailer where the length says */
	V1_BAD_OVERSIZE	= 4,	/* longer than V1_MAX_BODY */
	V1_BAD_STALL	= 5,	/* the line went quiet inside a frame */
};

struct v1_dec_stats {
	uint64_t	 frames;	/* good frames */
	uint64_t	 garbage;	/* bytes outside a transfer */
	uint64_t	 bad_xor, bad_length, bad_trailer, oversize, stalls;
	uint64_t	 naks, giveups;
};

enum v1_dec_state { V1D_IDLE = 0, V1D_FRAME = 1, V1D_DRAIN = 2 };

struct v1_dec {
	int		 state;		/* enum v1_dec_state */
	size_t		 n;		/* bytes of the frame so far */
	uint8_t		 x;		/* XOR of those bytes */
	int		 naks;		/* NAKs in this transfer */
	int		 last_bad;	/* enum v1_bad of the last refusal */
	const uint8_t	*body;		/* V1_EV_FRAME: the body, inside buf */
	size_t		 len;
	struct v1_dec_stats st;
	uint8_t		 buf[V1_MAX_WIRE];
};

/* A decoded request; the byte fields point into the frame's body. */
struct v1_req {
	uint8_t		 version, action, system, root, profile, md, flag;
	uint16_t	 days;
	const uint8_t	*f1, *f2, *f3;	/* request, SAN, subject (or CRL hash) */
	size_t		 f1_len, f2_len, f3_len;
};

/* v1frame.c */
void	 v1_dec_init(struct v1_dec *);
/* Feed bytes; *used says how many were taken. Returns an enum v1_ev: on
 * anything but V1_EV_NONE call again with the rest after acting on it. */
int	 v1_dec_push(struct v1_dec *, const uint8_t *, size_t, size_t *used);
/* The line has been quiet for the gap the caller chose (docs/legacy-v1.md):
 * a frame left incomplete is refused (V1_EV_NAK) or dropped. */
int	 v1_dec_quiet(struct v1_dec *);
/* Checks a request body. Returns 0, or -1 with a sentence in why. */
int	 v1_req_parse(const uint8_t *, size_t, struct v1_req *, char *why, size_t whysz);
/* Appends len24 || body || xor || trailer to out. -1: too long, no memory. */
int	 v1_frame_encode(const uint8_t *body, size_t len, struct buf *out);
/* Appends a whole answer frame: header {1, action, 0, 0}, content, "", "". */
int	 v1_answer_encode(int action, const uint8_t *, size_t, struct buf *out);
/* Appends a request body (the peer's side; tests and the bench). */
int	 v1_req_encode(const struct v1_req *, struct buf *out);
/* "MMDDhhmmYYYY.SS" (webdb's UTC) to Unix seconds: 0, or -1. */
int	 v1_time_parse(const uint8_t *, size_t, int64_t *out);
/* The DER inside the first PEM block labelled label ("CERTIFICATE"): 0/-1. */
int	 v1_pem_der(const uint8_t *, size_t, const char *label, struct buf *out);
/* The serial number of a DER certificate: a pointer into it, without
 * leading zero octets. 0, or -1 if it is not a certificate's shape. */
int	 v1_cert_serial(const uint8_t *, size_t, const uint8_t **, size_t *);
const char *v1_bad_name(int);

#endif
