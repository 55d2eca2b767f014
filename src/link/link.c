/*
 * link.c: session handshake and sliding-window ARQ over frames.
 *
 * Handshake: the initiator (webdb's client) sends HELLO with a fresh nonce,
 * repeated until answered; the responder (linkd) answers HELLO_ACK with both
 * nonces and starts a session whose key is HMAC(link key, label || nonce_i ||
 * nonce_r). HELLO, HELLO_ACK and RESET are authenticated with the link key,
 * DATA and ACK with the session key. A frame for another session is dropped
 * and counted; the responder answers it with RESET so a restarted peer
 * finds out at once instead of after the dead timer.
 *
 * Reliability: DATA frames carry consecutive sequence numbers; every frame
 * carries the next expected sequence number (cumulative ACK) and a 32-bit
 * bitmap of later frames already held (selective ACK). The cable delivers in
 * order, so when a frame sent after frame X is acknowledged and X is not, X
 * was lost and is retransmitted at once. A retransmission timer covers the
 * tail of a burst: it starts from the line rate and the window size and then
 * follows the measured round trip (RFC 6298, Karn's rule). Like Nagle's
 * algorithm, a segment shorter than the frame size leaves only when nothing
 * is in flight, so a busy line carries full frames.
 *
 * Frame size: large frames waste little on headers, small ones lose little
 * to a bit error. The sender estimates the error rate per byte from its
 * losses and picks the payload size that maximises the expected useful
 * fraction s / (s + h) * exp(-e (s + h)) (link_timer.c).
 *
 * Outages: a pulled cable delivers nothing, noise delivers damaged bytes.
 * Silence with frames in flight is an outage: its losses do not count as
 * errors (the frame size stays), the timer backs off, and when bytes come
 * back whatever was on the line meanwhile goes again at once. Under link
 * revision 2 (the handshake's former reserved byte) a receiver answers
 * damaged frames with an ACK, so that noise is never silent, and the
 * message streams outlive the session (link_stream.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_int.h"
#include "msg.h"

static const char session_label[] = "airlock link session v1";

#define LINK_NOISE_ACK_MS	100	/* ACKs in answer to damaged frames, at most */
#define LINK_CUT_MS		500	/* a pause in a frame that ends it */

void
link_params_default(struct link_params *p, int baud)
{
	memset(p, 0, sizeof(*p));
	p->baud = baud;
	p->max_payload = 1024;
	p->window = 16;
	p->keepalive_ms = 2000;
	p->dead_ms = 15000;
	p->hello_ms = 1000;
	p->revision = LINK_REVISION;
}

int
link_ready(const struct link *l)
{
	return l->state == LINK_UP && !l->resuming;
}

const char *
link_state_name(int s)
{
	static const char *const names[] = { "down", "hello", "up" };

	return s >= 0 && s <= LINK_UP ? names[s] : "?";
}

struct link *
link_new(int role, const uint8_t key[LINK_KEY_LEN], const struct link_params *p,
    const struct link_cb *cb, void *arg)
{
	struct link *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->role = role;
	l->p = *p;
	if (l->p.max_payload <= 0 || l->p.max_payload > FRAME_MAX_PAYLOAD)
		l->p.max_payload = FRAME_MAX_PAYLOAD;
	if (l->p.window <= 0 || l->p.window > LINK_MAX_WINDOW)
		l->p.window = LINK_MAX_WINDOW;
	if (l->p.revision < 1 || l->p.revision > LINK_REVISION)
		l->p.revision = LINK_REVISION;
	l->cb = *cb;
	l->arg = arg;
	memcpy(l->key, key, LINK_KEY_LEN);
	buf_init(&l->txq);
	buf_init(&l->rxq);
	buf_init(&l->out);
	frame_decoder_init(&l->dec);
	link_update_rto(l);
	l->state = role == LINK_INITIATOR ? LINK_HELLO : LINK_DOWN;
	return l;
}

void
link_free(struct link *l)
{
	if (l == NULL)
		return;
	crypto_cleanse(l->key, sizeof(l->key));
	crypto_cleanse(l->skey, sizeof(l->skey));
	buf_free(&l->txq);
	buf_free(&l->rxq);
	buf_free(&l->out);
	free(l->pend);
	free(l);
}

/*
 * Forget everything of the current session. Its streams too, unless it
 * was a revision 2 session and keep_stream is set: then they wait for the
 * next session's RESUME (link_stream.c).
 */
static void
link_clear(struct link *l, int keep_stream)
{
	int was_up = l->state == LINK_UP && l->announced;

	if (l->state == LINK_UP) {
		if (keep_stream && l->rev >= 2) {
			link_stream_fold(l);
			l->keep = 1;
		} else
			link_stream_clear(l);
	}
	l->snd_una = l->snd_nxt = l->rcv_nxt = 0;
	l->ack_pending = 0;
	l->resuming = l->announced = 0;
	l->rev = 0;
	l->backoff = 0;
	l->rto_at = 0;
	l->srtt_ms = l->rttvar_ms = 0;
	link_update_rto(l);
	memset(l->rseg, 0, sizeof(l->rseg));
	crypto_cleanse(l->skey, sizeof(l->skey));
	l->session = 0;
	l->state = l->role == LINK_INITIATOR ? LINK_HELLO : LINK_DOWN;
	l->hello_at = 0;
	if (l->role == LINK_INITIATOR)
		memset(l->nonce_i, 0, sizeof(l->nonce_i));
	if (was_up && l->cb.down)
		l->cb.down(l->arg);
}

/*
 * The frames still waiting for the device belong to a session that ended:
 * the next would drop them as another session's, and they would hold up
 * its handshake (up to a whole frame's line time). A 0x00 ends whatever
 * frame was half written.
 */
static void
link_drop_out(struct link *l)
{
	if (l->out.len == 0)
		return;
	buf_reset(&l->out);
	if (buf_put_u8(&l->out, 0) == -1)
		fatalx("link: out of memory");
}

void
link_reset(struct link *l)
{
	buf_reset(&l->out);
	frame_decoder_init(&l->dec);
	link_clear(l, 1);
}

static void
link_mac(const uint8_t *key, size_t keylen, const uint8_t *hdr,
    const uint8_t *payload, size_t len, uint8_t mac[FRAME_MAC_LEN])
{
	uint8_t full[HMAC_LEN];

	crypto_hmac(key, keylen, hdr, FRAME_HDR_LEN, payload, len, full);
	memcpy(mac, full, FRAME_MAC_LEN);
}

static int
link_uses_link_key(int type)
{
	return type == FRAME_HELLO || type == FRAME_HELLO_ACK || type == FRAME_RESET;
}

static uint32_t
link_sack_bits(const struct link *l)
{
	uint32_t bits = 0;
	int i;

	for (i = 0; i < LINK_MAX_WINDOW; i++)
		if (l->rseg[(l->rcv_nxt + 1 + (uint32_t)i) % LINK_MAX_WINDOW].have)
			bits |= 1u << i;
	return bits;
}

/* Append one frame to l->out. */
void
link_emit(struct link *l, int type, uint32_t seq, const uint8_t *payload,
    size_t len, uint64_t now)
{
	struct frame_hdr h;
	uint8_t hdr[FRAME_HDR_LEN], mac[FRAME_MAC_LEN], wire[FRAME_MAX_WIRE];
	size_t n;

	memset(&h, 0, sizeof(h));
	h.version = FRAME_VERSION;
	h.type = (uint8_t)type;
	h.len = (uint16_t)len;
	h.session = l->session;
	h.seq = seq;
	if (type == FRAME_DATA || type == FRAME_ACK) {
		h.ack = l->rcv_nxt;
		h.sack = link_sack_bits(l);
		l->ack_pending = 0;
	}
	frame_hdr_pack(&h, hdr);
	if (link_uses_link_key(type))
		link_mac(l->key, LINK_KEY_LEN, hdr, payload, len, mac);
	else
		link_mac(l->skey, HMAC_LEN, hdr, payload, len, mac);
	if ((n = frame_encode(&h, payload, mac, wire)) == 0)
		fatalx("link: cannot encode a frame of %zu bytes", len);
	if (buf_put(&l->out, wire, n) == -1)
		fatalx("link: out of memory");
	l->st.frames_out++;
	l->last_tx = now;
}

static void
link_send_hello(struct link *l, uint64_t now)
{
	uint8_t p[LINK_NONCE_LEN + 4];

	if (l->nonce_i[0] == 0 && l->nonce_i[1] == 0 &&
	    crypto_random(l->nonce_i, LINK_NONCE_LEN) == -1)
		fatalx("link: random number generator failed");
	l->nonce_i[0] |= 1;	/* never all zero: zero means "no nonce yet" */
	memcpy(p, l->nonce_i, LINK_NONCE_LEN);
	put_be16(p + LINK_NONCE_LEN, (uint16_t)l->p.max_payload);
	p[LINK_NONCE_LEN + 2] = (uint8_t)l->p.window;
	p[LINK_NONCE_LEN + 3] = (uint8_t)l->p.revision;
	l->session = 0;
	link_emit(l, FRAME_HELLO, 0, p, sizeof(p), now);
	l->hello_at = now + l->p.hello_ms;
}

static void
link_send_reset(struct link *l, uint32_t stale, uint64_t now)
{
	uint8_t p[4];
	uint32_t keep = l->session;

	if (now < l->reset_at)
		return;
	put_be32(p, stale);
	l->session = 0;
	link_emit(l, FRAME_RESET, 0, p, sizeof(p), now);
	l->session = keep;
	l->reset_at = now + 500;
	l->st.resets_sent++;
}

static void
link_derive(struct link *l, const uint8_t *nonce_i, const uint8_t *nonce_r)
{
	uint8_t both[2 * LINK_NONCE_LEN], id[HMAC_LEN];

	memcpy(both, nonce_i, LINK_NONCE_LEN);
	memcpy(both + LINK_NONCE_LEN, nonce_r, LINK_NONCE_LEN);
	crypto_hmac(l->key, LINK_KEY_LEN, session_label, sizeof(session_label) - 1,
	    both, sizeof(both), l->skey);
	crypto_hmac(l->skey, HMAC_LEN, "id", 2, NULL, 0, id);
	l->session = get_be32(id) | 1;
}

static void
link_peer_params(struct link *l, const uint8_t *p)
{
	int mp = get_be16(p), w = p[2];

	l->peer_payload = mp < 64 ? 64 : mp > FRAME_MAX_PAYLOAD ? FRAME_MAX_PAYLOAD : mp;
	l->peer_window = w < 1 ? 1 : w > LINK_MAX_WINDOW ? LINK_MAX_WINDOW : w;
}

int
link_max_seg(const struct link *l)
{
	return l->p.max_payload < l->peer_payload ? l->p.max_payload : l->peer_payload;
}

/* The revision both speak: a peer's 0 (reserved before) means 1. */
static int
link_peer_revision(const struct link *l, uint8_t peer)
{
	int r = peer == 0 ? 1 : peer;

	return r < l->p.revision ? r : l->p.revision;
}

void
link_announce(struct link *l, int resumed)
{
	l->announced = 1;
	l->resumed = resumed;
	if (l->cb.up)
		l->cb.up(l->arg);
}

static void
link_up(struct link *l, int rev, uint64_t now)
{
	int max = link_max_seg(l);

	l->state = LINK_UP;
	l->rev = rev;
	if (!l->keep || l->seg_size <= 0) {
		/* start moderate: grows to the maximum after a clean period or two */
		l->seg_size = max < 1024 ? max : 1024;
		l->per_sent = 0;
		l->est_bytes = l->est_lost = 0;
	} else if (l->seg_size > max)
		l->seg_size = max;	/* the same line: keep what was learnt */
	l->last_rx = l->rx_any = now;
	l->st.sessions++;
	if (rev >= 2) {
		link_resume_begin(l, now);
		return;
	}
	link_stream_clear(l);	/* revision 1: every session starts anew */
	link_announce(l, 0);
}

/* Responder: a HELLO starts a new session, unless it repeats the current one. */
static void
link_on_hello(struct link *l, const struct frame *f, uint64_t now)
{
	uint8_t nonce_r[LINK_NONCE_LEN], p[2 * LINK_NONCE_LEN + 4];
	size_t mark;

	if (l->role != LINK_RESPONDER || f->h.len != LINK_NONCE_LEN + 4)
		return;
	if (l->state == LINK_UP && memcmp(f->payload, l->nonce_i, LINK_NONCE_LEN) == 0) {
		buf_put(&l->out, l->hello_ack, l->hello_ack_len);
		return;
	}
	link_clear(l, 1);
	link_drop_out(l);
	memcpy(l->nonce_i, f->payload, LINK_NONCE_LEN);
	link_peer_params(l, f->payload + LINK_NONCE_LEN);
	if (crypto_random(nonce_r, sizeof(nonce_r)) == -1)
		fatalx("link: random number generator failed");
	memcpy(p, l->nonce_i, LINK_NONCE_LEN);
	memcpy(p + LINK_NONCE_LEN, nonce_r, LINK_NONCE_LEN);
	put_be16(p + 2 * LINK_NONCE_LEN, (uint16_t)l->p.max_payload);
	p[2 * LINK_NONCE_LEN + 2] = (uint8_t)l->p.window;
	p[2 * LINK_NONCE_LEN + 3] = (uint8_t)l->p.revision;
	link_derive(l, l->nonce_i, nonce_r);
	mark = l->out.len;
	link_emit(l, FRAME_HELLO_ACK, 0, p, sizeof(p), now);
	l->hello_ack_len = l->out.len - mark;
	memcpy(l->hello_ack, l->out.p + mark, l->hello_ack_len);
	link_up(l, link_peer_revision(l, f->payload[LINK_NONCE_LEN + 3]), now);
}

static void
link_on_hello_ack(struct link *l, const struct frame *f, uint64_t now)
{
	if (l->role != LINK_INITIATOR || l->state != LINK_HELLO ||
	    f->h.len != 2 * LINK_NONCE_LEN + 4 ||
	    memcmp(f->payload, l->nonce_i, LINK_NONCE_LEN) != 0)
		return;		/* an answer to an older HELLO: ignore */
	link_derive(l, l->nonce_i, f->payload + LINK_NONCE_LEN);
	if (l->session != f->h.session) {
		l->st.protocol_errors++;
		link_clear(l, 1);
		return;
	}
	link_peer_params(l, f->payload + 2 * LINK_NONCE_LEN);
	link_up(l, link_peer_revision(l, f->payload[2 * LINK_NONCE_LEN + 3]), now);
}

static void
link_on_reset(struct link *l, const struct frame *f)
{
	if (f->h.len != 4 || l->role != LINK_INITIATOR)
		return;
	if (l->state != LINK_UP || get_be32(f->payload) != l->session)
		return;		/* not about our session: stale or replayed */
	l->st.resets_rcvd++;
	link_clear(l, 1);
	link_drop_out(l);
}

static int
link_seq_in(uint32_t s, uint32_t lo, uint32_t hi)	/* lo <= s < hi, modulo 2^32 */
{
	return s - lo < hi - lo;
}

void
link_deliver_pending(struct link *l)
{
	size_t i = 0;

	while (i < l->npend && l->pend[i].end <= l->acked_off)
		i++;
	if (i == 0)
		return;
	/* callbacks last, on a consistent state: one may queue more messages */
	{
		struct link_pend done[64];
		size_t n = i < 64 ? i : 64, k;

		memcpy(done, l->pend, n * sizeof(done[0]));
		memmove(l->pend, l->pend + n, (l->npend - n) * sizeof(l->pend[0]));
		l->npend -= n;
		for (k = 0; k < n; k++)
			if (l->cb.delivered)
				l->cb.delivered(l->arg, done[k].tag);
	}
	link_deliver_pending(l);
}

static void
link_on_ack(struct link *l, uint32_t ack, uint32_t sack, uint64_t now)
{
	uint64_t newest = 0, sample_at = 0;
	uint32_t s;
	int i, progress = 0;

	if (!link_seq_in(ack, l->snd_una, l->snd_nxt + 1)) {
		/* below the window: an old frame again (a duplicate on the
		 * line); above it: no honest peer sends that */
		if (link_seq_in(ack, l->snd_una - 0x80000000u, l->snd_una))
			l->st.stale_acks++;
		else
			l->st.protocol_errors++;
		return;
	}
	for (s = l->snd_una; s != ack; s++) {
		struct link_seg *g = &l->seg[s % LINK_MAX_WINDOW];

		if (g->txno > newest)
			newest = g->txno;
		if (link_rtt_ok(l, g) && g->sent_ms > sample_at)
			sample_at = g->sent_ms;
		l->acked_off += g->len;
		progress = 1;
	}
	l->snd_una = ack;
	for (i = 0; i < LINK_MAX_WINDOW; i++) {
		struct link_seg *g;

		s = ack + 1 + (uint32_t)i;
		if (!(sack >> i & 1) || !link_seq_in(s, l->snd_una, l->snd_nxt))
			continue;
		g = &l->seg[s % LINK_MAX_WINDOW];
		if (!g->sacked) {
			progress = 1;
			if (link_rtt_ok(l, g) && g->sent_ms > sample_at)
				sample_at = g->sent_ms;
		}
		g->sacked = 1;
		g->lost = 0;
		g->rpos = 0;
		if (g->txno > newest)
			newest = g->txno;
	}
	/* in-order line: anything sent before a frame that arrived, and missing, is lost */
	for (s = l->snd_una; s != l->snd_nxt; s++) {
		struct link_seg *g = &l->seg[s % LINK_MAX_WINDOW];

		if (!g->sacked && g->txno < newest && !g->lost) {
			g->lost = 1;
			g->outage = link_in_quiet(l, g);
		}
	}
	if (sample_at)
		link_rtt_sample(l, (int32_t)(now - sample_at));
	if (progress) {
		l->backoff = 0;
		l->rto_at = l->snd_una == l->snd_nxt ? 0 : now + link_rto(l);
	}
	link_deliver_pending(l);
}

static int
link_extract(struct link *l)
{
	uint32_t mlen;

	while (l->rxq.len >= 4) {
		mlen = get_be32(l->rxq.p);
		if (mlen == 0 || mlen > MSG_MAX_LEN)
			return -1;
		if (l->rxq.len - 4 < mlen)
			break;
		l->st.msgs_in++;
		if (l->cb.message)
			l->cb.message(l->arg, l->rxq.p + 4, mlen);
		buf_consume(&l->rxq, 4 + (size_t)mlen);
	}
	return 0;
}

static void
link_protocol_error(struct link *l, uint64_t now)
{
	l->st.protocol_errors++;
	if (l->role == LINK_RESPONDER)
		link_send_reset(l, l->session, now);
	link_clear(l, 0);	/* the stream itself is out of step: not kept */
}

/*
 * DATA, or (revision 3) a PIECE of one: stored by sequence number, the
 * frames received in order go to the stream.
 */
static void
link_on_data(struct link *l, const struct frame *f, uint64_t now)
{
	struct link_rseg *r;
	const uint8_t *p = f->payload;
	uint16_t off = 0, n = f->h.len, total = f->h.len;
	int fresh;

	if (l->resuming) {
		/* the peer has our RESUME, we lack its: ask again, now */
		l->st.early_data++;
		l->res_at = now;
		return;
	}
	l->res_seen = 1;	/* it sends DATA only after it had our RESUME */
	l->ack_pending = 1;
	if (f->h.type == FRAME_PIECE) {
		/* u16 offset in the frame, u16 the frame's length, bytes */
		l->st.pieces_in++;
		if (f->h.len > LINK_PIECE_HDR) {
			off = get_be16(p);
			total = get_be16(p + 2);
			n = (uint16_t)(f->h.len - LINK_PIECE_HDR);
		}
		if (f->h.len <= LINK_PIECE_HDR || total > FRAME_MAX_PAYLOAD ||
		    off >= total || n > total - off) {
			l->st.protocol_errors++;	/* no honest peer: drop it */
			return;
		}
		p += LINK_PIECE_HDR;
	}
	if (n == 0)
		return;
	if (!link_seq_in(f->h.seq, l->rcv_nxt, l->rcv_nxt + LINK_MAX_WINDOW)) {
		if (link_seq_in(f->h.seq, l->rcv_nxt - LINK_MAX_WINDOW * 4, l->rcv_nxt))
			l->st.dup++;
		else
			l->st.out_of_window++;
		return;
	}
	r = &l->rseg[f->h.seq % LINK_MAX_WINDOW];
	if (r->have || (fresh = link_rseg_fill(r, off, n, total, p)) == 0) {
		l->st.dup++;
		return;
	}
	if (fresh == -1) {
		l->st.protocol_errors++;
		return;
	}
	while ((r = &l->rseg[l->rcv_nxt % LINK_MAX_WINDOW])->have) {
		l->st.bytes_in += r->len;
		/* whole messages leave at once, so this bounds one partial message */
		if (l->rxq.len + r->len > MSG_MAX_LEN + 4 + FRAME_MAX_PAYLOAD ||
		    buf_put(&l->rxq, r->data, r->len) == -1) {
			link_protocol_error(l, now);
			return;
		}
		r->have = 0;
		r->got = 0;
		l->rcv_nxt++;
		l->rcv_off += r->len;
		if (link_extract(l) == -1) {
			link_protocol_error(l, now);
			return;
		}
		if (l->state != LINK_UP)
			return;		/* a message callback ended the session */
	}
}

static void
link_frame(struct link *l, const struct frame *f, uint64_t now)
{
	uint8_t mac[FRAME_MAC_LEN];
	int lk = link_uses_link_key(f->h.type);

	if (!lk && (l->state != LINK_UP || f->h.session != l->session)) {
		l->st.bad_session++;
		if (l->role == LINK_RESPONDER)
			link_send_reset(l, f->h.session, now);
		return;
	}
	if (lk)
		link_mac(l->key, LINK_KEY_LEN, f->authed, f->payload, f->h.len, mac);
	else
		link_mac(l->skey, HMAC_LEN, f->authed, f->payload, f->h.len, mac);
	if (!crypto_memeq(mac, f->mac, FRAME_MAC_LEN)) {
		l->st.bad_mac++;
		return;
	}
	l->st.frames_in++;
	switch (f->h.type) {
	case FRAME_HELLO:
		link_on_hello(l, f, now);
		return;
	case FRAME_HELLO_ACK:
		link_on_hello_ack(l, f, now);
		return;
	case FRAME_RESET:
		link_on_reset(l, f);
		return;
	}
	l->last_rx = now;
	link_on_ack(l, f->h.ack, f->h.sack, now);
	if (l->state == LINK_UP && (f->h.type == FRAME_DATA ||
	    (f->h.type == FRAME_PIECE && l->rev >= 3)))
		link_on_data(l, f, now);
	else if (f->h.type == FRAME_ACK && f->h.len == LINK_RESUME_LEN && l->rev >= 2)
		link_on_resume(l, f->payload, now);
}


/*
 * Bytes again after a silence: the cable was out (noise leaves bytes, if
 * wrong ones). What was on the line meanwhile is lost, to the outage and
 * not to noise (the frame size stays); it goes again now, without waiting
 * for a timer that backed off while nothing came back.
 */
static void
link_outage_over(struct link *l, uint64_t now)
{
	uint32_t s;

	l->st.outages++;
	l->quiet_from = link_quiet_since(l);
	l->quiet_to = now;
	for (s = l->snd_una; s != l->snd_nxt; s++) {
		struct link_seg *g = &l->seg[s % LINK_MAX_WINDOW];

		if (!g->sacked && link_in_quiet(l, g)) {
			g->lost = 1;
			g->outage = 1;
		}
	}
	l->backoff = 0;
	l->rto_at = now + link_rto(l);
}

/* Frames the decoder has thrown away: noise, or the ends of an outage. */
static uint64_t
link_rejected(const struct link *l)
{
	const struct frame_stats *s = &l->dec.st;

	return s->bad_crc + s->bad_cobs + s->runt + s->bad_header + s->oversize;
}

void
link_input(struct link *l, const uint8_t *p, size_t n, uint64_t now)
{
	struct frame f;
	size_t used;
	uint64_t rejected = link_rejected(l);

	if (n > 0) {
		if (l->state == LINK_UP && l->rx_any != 0 && l->snd_una != l->snd_nxt &&
		    now - link_quiet_since(l) >= link_quiet_ms(l))
			link_outage_over(l, now);
		/* a frame's bytes never pause this long: its head is dead */
		if (now - l->rx_any >= LINK_CUT_MS)
			frame_decoder_cut(&l->dec);
		l->rx_any = now;
	}
	while (n > 0) {
		if (!frame_decoder_push(&l->dec, p, n, &used, &f))
			break;
		/* the authenticated part lies inside the decoder: see frame.h */
		link_frame(l, &f, now);
		p += used;
		n -= used;
	}
	/*
	 * Revision 2: damaged frames are answered with an ACK, at most one
	 * per LINK_NOISE_ACK_MS, so that the sender hears bytes and knows
	 * its frames meet noise, not a pulled cable (which stays silent).
	 */
	if (l->rev >= 2 && link_ready(l) && link_rejected(l) > rejected &&
	    now >= l->noise_ack_at) {
		l->ack_pending = 1;
		l->noise_ack_at = now + LINK_NOISE_ACK_MS;
	}
}

int
link_send(struct link *l, const uint8_t *msg, size_t len, uint64_t tag)
{
	struct link_pend *np;

	if (len == 0 || len > MSG_MAX_LEN || !link_stream_accepts(l))
		return -1;
	if (l->npend == l->pendcap) {
		size_t nc = l->pendcap ? l->pendcap * 2 : 64;

		if ((np = realloc(l->pend, nc * sizeof(*np))) == NULL)
			return -1;
		l->pend = np;
		l->pendcap = nc;
	}
	if (buf_put_u32(&l->txq, (uint32_t)len) == -1 || buf_put(&l->txq, msg, len) == -1)
		return -1;
	l->pend[l->npend].end = l->seg_off + l->txq.len;
	l->pend[l->npend].tag = tag;
	l->npend++;
	l->st.msgs_out++;
	return 0;
}

#define LINK_PACE_SLACK_US	30000	/* what may wait in the driver */

size_t
link_write_allowance(const struct link *l, uint64_t now)
{
	uint64_t now_us = now * 1000, byte_us, limit = now_us + LINK_PACE_SLACK_US;

	if (l->p.baud <= 0)
		return l->out.len;
	if (l->line_free_us >= limit)
		return 0;
	byte_us = 10000000ull / (uint64_t)l->p.baud;
	return (size_t)((limit - (l->line_free_us > now_us ? l->line_free_us : now_us)) /
	    (byte_us ? byte_us : 1)) + 1;
}

void
link_wrote(struct link *l, size_t n, uint64_t now)
{
	uint64_t now_us = now * 1000;

	if (l->p.baud <= 0)
		return;
	if (l->line_free_us < now_us)
		l->line_free_us = now_us;
	l->line_free_us += (uint64_t)n * 10000000ull / (uint64_t)l->p.baud;
}

size_t
link_backlog(const struct link *l)
{
	return l->txq.len + (size_t)(l->seg_off - l->acked_off);
}

static int
link_send_new(struct link *l, uint64_t now)
{
	struct link_seg *g;
	int window = l->p.window < l->peer_window ? l->p.window : l->peer_window;
	size_t max = (size_t)l->seg_size, n;

	if (l->txq.len == 0 || l->snd_nxt - l->snd_una >= (uint32_t)window)
		return 0;
	/* a short segment only when nothing is in flight (Nagle) */
	if (l->txq.len < max && (l->out.len > 0 || l->snd_una != l->snd_nxt))
		return 0;
	n = l->txq.len < max ? l->txq.len : max;
	if (l->snd_una == l->snd_nxt)
		l->busy_since = now;
	g = &l->seg[l->snd_nxt % LINK_MAX_WINDOW];
	g->seq = l->snd_nxt++;
	g->len = (uint16_t)n;
	g->sacked = 0;
	g->retx = 0;
	g->outage = 0;
	g->txno = 0;
	g->rpos = 0;
	g->lost = 0;
	memcpy(g->data, l->txq.p, n);
	buf_consume(&l->txq, n);
	l->seg_off += n;
	if (l->seg_off > l->tx_hw)
		l->tx_hw = l->seg_off;
	l->st.bytes_out += n;
	link_transmit(l, g, 0, (uint16_t)n, now);
	l->per_sent++;
	l->est_bytes += (double)(n + LINK_FRAME_OVERHEAD);
	link_adapt(l);
	return 1;
}

static void
link_timers(struct link *l, uint64_t now)
{
	uint32_t s;

	if (l->state == LINK_HELLO && now >= l->hello_at) {
		link_send_hello(l, now);
		return;
	}
	if (l->state != LINK_UP)
		return;
	if (now - l->last_rx > l->p.dead_ms) {
		link_clear(l, 1);
		link_drop_out(l);
		return;
	}
	link_resume_timer(l, now);
	if (l->rto_at && now >= l->rto_at && l->snd_una != l->snd_nxt) {
		/* the oldest missing frame goes again; the rest follow as ACKs
		 * tell. In a silence it is a probe: lost to the outage, and the
		 * timer backs off further (bytes coming back end the wait). */
		int quiet = now - link_quiet_since(l) >= link_quiet_ms(l);

		l->st.timeouts++;
		for (s = l->snd_una; s != l->snd_nxt; s++)
			if (!l->seg[s % LINK_MAX_WINDOW].sacked) {
				l->seg[s % LINK_MAX_WINDOW].lost = 1;
				l->seg[s % LINK_MAX_WINDOW].outage = (uint8_t)quiet;
				break;
			}
		if (l->backoff < (quiet ? LINK_QUIET_BACKOFF : LINK_BACKOFF_MAX))
			l->backoff++;
		l->rto_at = now + link_rto(l);
	}
}

/* Would link_send_lost() or link_send_new() send a frame now? */
static int
link_data_ready(const struct link *l)
{
	int window = l->p.window < l->peer_window ? l->p.window : l->peer_window;
	uint32_t s;

	if (l->resuming)
		return 0;
	for (s = l->snd_una; s != l->snd_nxt; s++)
		if (l->seg[s % LINK_MAX_WINDOW].lost && !l->seg[s % LINK_MAX_WINDOW].sacked)
			return 1;
	if (l->txq.len == 0 || l->snd_nxt - l->snd_una >= (uint32_t)window)
		return 0;
	return l->txq.len >= (size_t)l->seg_size || l->snd_una == l->snd_nxt;
}

/*
 * Frames are made just in time: the next one only when the last has been
 * handed to the device (the pacing slack keeps the line busy meanwhile).
 * A shallow queue means a retransmission or an ACK waits at most one frame
 * behind others, which keeps the round trip, and so the window needed, short.
 */
void
link_pump(struct link *l, uint64_t now)
{
	char line[600];

	if (now >= l->report_at) {
		l->report_at = now + LINK_REPORT_MS;
		if (link_report_line(l, line, sizeof(line)) > 0)
			log_warnx("link: %s", line);
	}
	link_timers(l, now);
	if (l->state != LINK_UP)
		return;
	if (!l->resuming && l->out.len == 0 && !link_send_lost(l, now))
		link_send_new(l, now);
	/*
	 * Acknowledge at once (a delayed ACK stalls a peer short of window),
	 * but not in a frame of its own when a data frame follows the queued
	 * bytes anyway: it carries the ACK and gets there as soon.
	 */
	if ((l->ack_pending && (l->out.len == 0 || !link_data_ready(l))) ||
	    now - l->last_tx >= l->p.keepalive_ms)
		link_emit(l, FRAME_ACK, 0, NULL, 0, now);
}

int
link_timeout_ms(const struct link *l, uint64_t now)
{
	uint64_t next = now + 1000;

	if (l->state == LINK_HELLO && l->hello_at < next)
		next = l->hello_at;
	if (l->out.len > 0 && l->p.baud > 0) {
		uint64_t free_ms = (l->line_free_us + 999) / 1000;

		if (free_ms < next)
			next = free_ms > now ? free_ms - LINK_PACE_SLACK_US / 2000 : now;
	}
	if (l->state == LINK_UP) {
		if (l->rto_at && l->rto_at < next)
			next = l->rto_at;
		if (l->last_tx + l->p.keepalive_ms < next)
			next = l->last_tx + l->p.keepalive_ms;
		if (l->rev >= 2 && (l->resuming || !l->res_seen) && l->res_at < next)
			next = l->res_at;
		/* the end of a dead session, on time: the next HELLO waits for it */
		if (l->last_rx + l->p.dead_ms + 1 < next)
			next = l->last_rx + l->p.dead_ms + 1;
	}
	return next <= now ? 0 : (int)(next - now);
}
