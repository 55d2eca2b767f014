/*
 * frame.h: the link's frame codec (docs/protocol.md, "Framing").
 *
 * On the wire a frame is COBS(body) followed by one 0x00 delimiter, where
 *   body = header (20 bytes) || payload (len bytes) || mac (16) || crc32c (4).
 * The codec is pure: no I/O, no keys. The MAC is computed and checked by the
 * link layer; the codec only carries its bytes.
 */
#ifndef FRAME_H
#define FRAME_H

#include "airlock.h"

#include <stddef.h>
#include <stdint.h>

#define FRAME_VERSION		1
#define FRAME_HDR_LEN		20
#define FRAME_MAC_LEN		16
#define FRAME_CRC_LEN		4
#define FRAME_MIN_BODY		(FRAME_HDR_LEN + FRAME_MAC_LEN + FRAME_CRC_LEN)
#define FRAME_MAX_BODY		(FRAME_MIN_BODY + FRAME_MAX_PAYLOAD)
/* COBS adds one byte per 254 and one at the start; plus the delimiter */
#define COBS_MAX_ENCODED(n)	((n) + (n) / 254 + 1)
#define FRAME_MAX_WIRE		(COBS_MAX_ENCODED(FRAME_MAX_BODY) + 1)

enum frame_type {
	FRAME_HELLO	= 1,	/* initiator opens a session: nonce */
	FRAME_HELLO_ACK	= 2,	/* responder accepts: both nonces */
	FRAME_DATA	= 3,	/* one segment of the message stream */
	FRAME_ACK	= 4,	/* acknowledgement only (also keepalive) */
	FRAME_RESET	= 5,	/* peer does not know this session: start over */
	FRAME_PIECE	= 6,	/* part of a DATA frame, re-cut (link revision 3) */
};

struct frame_hdr {
	uint8_t		version;	/* FRAME_VERSION */
	uint8_t		type;		/* enum frame_type */
	uint16_t	len;		/* payload bytes, <= FRAME_MAX_PAYLOAD */
	uint32_t	session;	/* session id, 0 in HELLO */
	uint32_t	seq;		/* DATA: sequence number; else 0 */
	uint32_t	ack;		/* next DATA seq the sender expects */
	uint32_t	sack;		/* bit i: seq ack+1+i already received */
};

struct frame {
	struct frame_hdr h;
	const uint8_t	*payload;	/* h.len bytes, inside the decoder */
	const uint8_t	*mac;		/* FRAME_MAC_LEN bytes */
	const uint8_t	*authed;	/* header||payload: what the MAC covers */
	size_t		 authed_len;
};

struct frame_stats {
	uint64_t	frames;		/* good frames decoded */
	uint64_t	bad_crc;	/* CRC mismatch (line noise) */
	uint64_t	bad_cobs;	/* invalid COBS encoding */
	uint64_t	runt;		/* shorter than a minimal frame */
	uint64_t	oversize;	/* longer than FRAME_MAX_WIRE */
	uint64_t	bad_header;	/* wrong version, type or length */
	uint64_t	garbage;	/* bytes thrown away */
	uint64_t	cut;		/* partial frames dropped after a pause */
};

struct frame_decoder {
	uint8_t		 wire[FRAME_MAX_WIRE];	/* encoded bytes since last 0x00 */
	size_t		 n;
	int		 skipping;		/* oversize: drop until next 0x00 */
	uint8_t		 body[FRAME_MAX_BODY];	/* decoded frame */
	struct frame_stats st;
};

/* frame.c */
uint32_t crc32c(uint32_t crc, const void *, size_t);
size_t	 cobs_encode(const uint8_t *in, size_t n, uint8_t *out);
long	 cobs_decode(const uint8_t *in, size_t n, uint8_t *out, size_t outsz);
void	 frame_hdr_pack(const struct frame_hdr *, uint8_t out[FRAME_HDR_LEN]);
/* Encode header||payload||mac||crc into out (FRAME_MAX_WIRE bytes), with the
 * trailing 0x00. Returns bytes written, or 0 if the frame is invalid. */
size_t	 frame_encode(const struct frame_hdr *, const uint8_t *payload,
	    const uint8_t mac[FRAME_MAC_LEN], uint8_t *out);
void	 frame_decoder_init(struct frame_decoder *);
/* Feed bytes. Returns 1 when a frame is complete and checked (CRC, header,
 * length), filling *f, which stays valid until the next call; *used says how
 * many bytes were consumed, call again with the rest. Returns 0 when every
 * byte was consumed without completing a frame. Never fails: bad frames are
 * counted in st and dropped. */
int	 frame_decoder_push(struct frame_decoder *, const uint8_t *in, size_t n,
	    size_t *used, struct frame *f);
/* The line paused mid-frame (a cable pull): drop what was gathered, so the
 * next frame does not end up glued to a dead one's head. */
void	 frame_decoder_cut(struct frame_decoder *);

#endif
