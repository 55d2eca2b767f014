/*
 * link.h: the session and reliability layer over the frame codec
 * (docs/protocol.md, "Session" and "Reliability"). Pure: the caller feeds
 * received bytes and the time, and writes out what the link puts in l->out.
 * It carries a stream of messages, each prefixed by its 32-bit length, in
 * DATA frames under a sliding window with cumulative and selective
 * acknowledgement; the whole stream is authenticated per frame with
 * HMAC-SHA256 under a session key derived from the pre-shared link key and
 * fresh nonces from both ends.
 */
#ifndef LINK_H
#define LINK_H

#include <stdint.h>

#include "crypto.h"
#include "frame.h"
#include "util.h"

#define LINK_MAX_WINDOW	32		/* the SACK bitmap covers this many */
#define LINK_NONCE_LEN	16
#define LINK_REPORT_MS	10000		/* at most one warning about input per period */
#define LINK_REVISION	3		/* link revision offered by default */
#define LINK_PIECE_HDR	4		/* PIECE payload: u16 offset, u16 total (revision 3) */
#define LINK_RESUME_LEN	41		/* RESUME payload (an ACK's, revision 2) */
#define LINK_RESUME_SEEN	0x01	/* RESUME flag: I hold your RESUME */
#define LINK_RESUME_REPLY	0x02	/* RESUME flag: an answer, not to be answered */

enum link_role { LINK_INITIATOR = 0, LINK_RESPONDER = 1 };
enum link_state { LINK_DOWN = 0, LINK_HELLO = 1, LINK_UP = 2 };

struct link_params {
	int		 baud;		/* line rate, for the timers; 0: fast (USB) */
	int		 max_payload;	/* DATA payload bytes, <= FRAME_MAX_PAYLOAD */
	int		 window;	/* DATA frames in flight, <= LINK_MAX_WINDOW */
	uint32_t	 keepalive_ms;	/* send an ACK when idle this long */
	uint32_t	 dead_ms;	/* session is dead after this long silent */
	uint32_t	 hello_ms;	/* initiator repeats HELLO this often */
	int		 revision;	/* offered in the handshake: 3, 2 (no re-cut) or 1 (no resume) */
};

struct link_cb {
	void	(*up)(void *);				/* a new session is up */
	void	(*down)(void *);			/* the session ended */
	void	(*message)(void *, const uint8_t *, size_t);	/* one whole message */
	void	(*delivered)(void *, uint64_t tag);	/* peer acknowledged it */
};

struct link_stats {
	uint64_t	 frames_in, frames_out;
	uint64_t	 data_out, retransmits, timeouts;
	uint64_t	 bad_mac, bad_session, dup, out_of_window;
	uint64_t	 sessions, resets_sent, resets_rcvd, protocol_errors;
	uint64_t	 msgs_in, msgs_out, bytes_in, bytes_out;
	uint64_t	 resizes;	/* frame size adapted to the error rate */
	uint64_t	 stale_acks;	/* an ack below the window: old, not an error */
	uint64_t	 outages;	/* silences that ended with frames in flight */
	uint64_t	 outage_retx;	/* retransmissions of frames lost to them */
	uint64_t	 resumes;	/* sessions that continued the streams */
	uint64_t	 fresh;		/* revision 2 sessions that started them anew */
	uint64_t	 early_data;	/* DATA before the peer's RESUME: dropped */
	uint64_t	 pieces_out;	/* PIECE frames sent: retransmissions re-cut */
	uint64_t	 pieces_in;	/* PIECE frames received */
};

/* What a RESUME says (docs/protocol.md 5.5). */
struct link_resume {
	uint8_t		 flags;		/* LINK_RESUME_SEEN, LINK_RESUME_REPLY */
	uint64_t	 tx_id;		/* the sender's outbound stream; 0 none */
	uint64_t	 tx_base;	/* its first byte the sender still holds */
	uint64_t	 tx_hw;		/* the end of what it ever sent in DATA */
	uint64_t	 rx_id;		/* the peer's stream the sender holds; 0 none */
	uint64_t	 rx_off;	/* bytes of it received in order */
};

struct link_seg {
	uint32_t	 seq;
	uint16_t	 len;
	uint8_t		 sacked;	/* peer has it, beyond the cumulative ack */
	uint8_t		 lost;		/* retransmit at the next chance */
	uint8_t		 retx;		/* sent more than once: no RTT sample */
	uint8_t		 outage;	/* lost to an outage, not to noise */
	uint16_t	 rpos;		/* re-cut retransmission: next piece's offset */
	uint64_t	 sent_ms;	/* last transmission */
	uint64_t	 txno;		/* transmission order, for loss detection */
	uint8_t		 data[FRAME_MAX_PAYLOAD];
};

struct link_rseg {
	uint16_t	 len;		/* the frame's payload length (PIECE: total) */
	uint16_t	 got;		/* bytes of it held so far */
	uint8_t		 have;		/* all of them: the frame is received */
	uint8_t		 map[FRAME_MAX_PAYLOAD / 8];	/* which bytes, for PIECEs */
	uint8_t		 data[FRAME_MAX_PAYLOAD];
};

struct link_pend {
	uint64_t	 end;		/* stream offset just past the message */
	uint64_t	 tag;
};

struct link {
	int		 role;
	int		 state;
	struct link_params p;
	struct link_cb	 cb;
	void		*arg;
	uint8_t		 key[LINK_KEY_LEN];	/* pre-shared link key */
	uint8_t		 skey[HMAC_LEN];	/* session key */
	uint32_t	 session;
	uint8_t		 nonce_i[LINK_NONCE_LEN];	/* initiator's nonce of this session */
	uint8_t		 hello_ack[FRAME_MAX_WIRE];	/* responder: to repeat */
	size_t		 hello_ack_len;
	int		 peer_payload, peer_window;
	uint64_t	 hello_at, reset_at;
	/* sending */
	struct buf	 txq;		/* stream bytes not yet in a segment */
	uint64_t	 seg_off;	/* stream offset of txq's first byte */
	uint64_t	 acked_off;	/* stream bytes acknowledged in order */
	uint32_t	 snd_una, snd_nxt;
	uint64_t	 txno;
	uint64_t	 rto_at;
	uint32_t	 rto_ms;
	int		 backoff;
	int32_t		 srtt_ms, rttvar_ms;	/* RFC 6298 estimators; srtt 0: none yet */
	int		 seg_size;	/* payload bytes per DATA frame now */
	uint32_t	 per_sent;	/* frames sent in this adaptation period */
	double		 est_bytes, est_lost;	/* decaying sums for the error rate */
	struct link_pend *pend;
	size_t		 npend, pendcap;
	struct link_seg	 seg[LINK_MAX_WINDOW];
	/* receiving */
	uint32_t	 rcv_nxt;
	struct buf	 rxq;		/* in-order stream bytes, not yet a whole message */
	int		 ack_pending;
	uint64_t	 last_rx, last_tx;
	struct link_rseg rseg[LINK_MAX_WINDOW];
	struct frame_decoder dec;
	uint64_t	 report_at;	/* next log line about rejected input */
	uint64_t	 reported[10];	/* counters at the last report */
	uint64_t	 reported_garbage;
	/* outages: no bytes at all for a while (docs/protocol.md 6.1) */
	uint64_t	 rx_any;	/* the last byte of any kind came in */
	uint64_t	 busy_since;	/* frames in flight since (none before) */
	uint64_t	 noise_ack_at;	/* next ACK allowed in answer to noise */
	uint64_t	 quiet_from, quiet_to;	/* the latest silence */
	/* the streams across sessions (revision 2, docs/protocol.md 5.5) */
	int		 rev;		/* this session's: min(own, peer's) */
	int		 keep;		/* the streams outlive the session */
	int		 resuming;	/* up, waiting for the peer's RESUME */
	int		 res_seen;	/* the peer holds our RESUME */
	int		 announced;	/* cb.up called for this session */
	int		 resumed;	/* this session continued the last one's */
	int		 tx_broken;	/* a message was refused: do not continue */
	uint64_t	 tx_id, rx_id;	/* stream ids (struct link_resume) */
	uint64_t	 tx_hw;		/* end of the stream ever sent in DATA */
	uint64_t	 rcv_off;	/* peer's stream received in order */
	uint64_t	 res_mark;	/* stream offset queued after our RESUME */
	uint64_t	 res_at;	/* send our RESUME again */
	struct link_resume res_mine;	/* as sent, for the whole session */
	struct buf	 out;		/* wire bytes for the transport */
	uint64_t	 line_free_us;	/* when the line will have sent what we wrote */
	struct link_stats st;
};

/* link.c */
void	 link_params_default(struct link_params *, int baud);
struct link *link_new(int role, const uint8_t key[LINK_KEY_LEN],
	    const struct link_params *, const struct link_cb *, void *arg);
void	 link_free(struct link *);
/* Bytes from the transport. */
void	 link_input(struct link *, const uint8_t *, size_t, uint64_t now_ms);
/* Timers and output: call after input, after writing, and on timeouts.
 * Fills l->out while it holds less than about one frame. */
void	 link_pump(struct link *, uint64_t now_ms);
/* Queue one message; tag comes back in delivered(). -1 if not up and the
 * streams do not outlive the session, or too much waits already. */
int	 link_send(struct link *, const uint8_t *, size_t, uint64_t tag);
size_t	 link_backlog(const struct link *);	/* bytes queued, unacknowledged */
/* Pacing: bytes of l->out the caller may write now, so that the driver's
 * queue stays short and acknowledgements are not stuck behind old data;
 * and the report of what it wrote. Unlimited when baud is 0. */
size_t	 link_write_allowance(const struct link *, uint64_t now_ms);
void	 link_wrote(struct link *, size_t, uint64_t now_ms);
int	 link_timeout_ms(const struct link *, uint64_t now_ms);
/* The transport went away or came back: drop the session. */
void	 link_reset(struct link *);
const char *link_state_name(int);
/* Up and past the RESUME exchange: messages go out now. */
int	 link_ready(const struct link *);
/* Every counter on one "key=value ..." line, for logs and status answers. */
void	 link_stats_line(const struct link *, char *, size_t);
/* The periodic report of rejected input since the last one; 0: nothing. */
size_t	 link_report_line(struct link *, char *, size_t);
/* link_stream.c: the RESUME exchange (pure parts, for the tests too) */
void	 link_resume_pack(const struct link_resume *, uint8_t p[LINK_RESUME_LEN]);
void	 link_resume_unpack(const uint8_t p[LINK_RESUME_LEN], struct link_resume *);
/* Does from's outbound stream continue at to? */
int	 link_resume_continues(const struct link_resume *from, const struct link_resume *to);

#endif
