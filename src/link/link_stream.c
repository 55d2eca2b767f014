/*
 * link_stream.c: the message streams across sessions (link revision 2,
 * docs/protocol.md 5.5).
 *
 * A cable that is pulled for longer than dead_ms, a device that vanishes
 * and comes back, or a HELLO after an outage all end the session. Under
 * revision 1 each end then throws its stream away and the client sends
 * every unanswered request again, which on a flapping line can cost more
 * than a whole connected window. Under revision 2 each end keeps what it
 * has not seen acknowledged (its outbound stream from the first byte the
 * peer has not confirmed) and what it has received of the peer's (a count
 * of in-order bytes and any partial message). The first thing each end
 * sends in the new session is a RESUME (an ACK frame with a 41-byte
 * payload): which stream it sends and from where it still holds it, and
 * which of the peer's streams it holds and how far. Both ends evaluate the
 * same rule on the same two RESUMEs, so they agree without a third
 * message: if both streams continue, each end goes on from the byte the
 * other holds, re-segmented to its current frame size; otherwise both start
 * anew and the layer above resends as under revision 1. No DATA is sent or
 * accepted before the peer's RESUME has arrived.
 */
#include <string.h>

#include "link_int.h"

#define LINK_RESUME_MS		500	/* RESUME again until the peer has ours */
#define LINK_HOLD_MAX		(8u << 20)	/* held while no session is up */

void
link_resume_pack(const struct link_resume *r, uint8_t p[LINK_RESUME_LEN])
{
	p[0] = r->flags;
	put_be64(p + 1, r->tx_id);
	put_be64(p + 9, r->tx_base);
	put_be64(p + 17, r->tx_hw);
	put_be64(p + 25, r->rx_id);
	put_be64(p + 33, r->rx_off);
}

void
link_resume_unpack(const uint8_t p[LINK_RESUME_LEN], struct link_resume *r)
{
	r->flags = p[0];
	r->tx_id = get_be64(p + 1);
	r->tx_base = get_be64(p + 9);
	r->tx_hw = get_be64(p + 17);
	r->rx_id = get_be64(p + 25);
	r->rx_off = get_be64(p + 33);
}

int
link_resume_continues(const struct link_resume *from, const struct link_resume *to)
{
	return from->tx_id != 0 && to->rx_id == from->tx_id &&
	    from->tx_base <= to->rx_off && to->rx_off <= from->tx_hw;
}

/* Forgets both streams: what was queued and what was received. */
void
link_stream_clear(struct link *l)
{
	buf_reset(&l->txq);
	buf_reset(&l->rxq);
	l->seg_off = l->acked_off = l->tx_hw = l->rcv_off = 0;
	l->npend = 0;
	l->tx_id = l->rx_id = 0;
	l->tx_broken = 0;
	l->keep = 0;
}

/*
 * The session ends but the stream stays: what was sent and not
 * acknowledged goes back in front of what was never sent, so that the
 * next session cuts it into frames of its own size.
 */
void
link_stream_fold(struct link *l)
{
	struct buf nb;
	uint32_t s;

	buf_init(&nb);
	for (s = l->snd_una; s != l->snd_nxt; s++) {
		const struct link_seg *g = &l->seg[s % LINK_MAX_WINDOW];

		if (buf_put(&nb, g->data, g->len) == -1)
			fatalx("link: out of memory");
	}
	if (buf_put(&nb, l->txq.p, l->txq.len) == -1)
		fatalx("link: out of memory");
	buf_free(&l->txq);
	l->txq = nb;
	l->seg_off = l->acked_off;
}

/* A stream id for a stream started in this session: both ends compute it. */
static uint64_t
link_stream_id(const struct link *l, int role)
{
	uint8_t h[HMAC_LEN];

	crypto_hmac(l->skey, HMAC_LEN, role == LINK_INITIATOR ? "stream i" : "stream r",
	    8, NULL, 0, h);
	return get_be64(h) | 1;
}

void
link_resume_send(struct link *l, int reply, uint64_t now)
{
	struct link_resume r = l->res_mine;
	uint8_t p[LINK_RESUME_LEN];

	if (!l->resuming)
		r.flags |= LINK_RESUME_SEEN;
	if (reply)
		r.flags |= LINK_RESUME_REPLY;
	link_resume_pack(&r, p);
	link_emit(l, FRAME_ACK, 0, p, sizeof(p), now);
	l->res_at = now + LINK_RESUME_MS;
}

/* A revision 2 session is up: say what we hold, before any DATA. */
void
link_resume_begin(struct link *l, uint64_t now)
{
	struct link_resume *r = &l->res_mine;

	l->resuming = 1;
	l->res_seen = 0;
	memset(r, 0, sizeof(*r));
	r->tx_id = l->tx_broken ? 0 : l->tx_id;
	r->tx_base = l->acked_off;
	r->tx_hw = l->tx_hw;
	r->rx_id = l->rx_id;
	r->rx_off = l->rcv_off;
	/* what is queued from here on is new in this session, whatever comes */
	l->res_mark = l->acked_off + l->txq.len;
	link_resume_send(l, 0, now);
}

/* Both streams continue: go on from the byte the peer holds. */
static void
link_resume_continue(struct link *l, const struct link_resume *peer)
{
	buf_consume(&l->txq, (size_t)(peer->rx_off - l->acked_off));
	l->acked_off = l->seg_off = peer->rx_off;
	l->st.resumes++;
	link_deliver_pending(l);
}

/* Not both: start both streams anew, keeping what was queued after RESUME. */
static void
link_resume_fresh(struct link *l)
{
	size_t i, k = 0;

	buf_consume(&l->txq, (size_t)(l->res_mark - l->acked_off));
	for (i = 0; i < l->npend; i++)
		if (l->pend[i].end > l->res_mark) {
			l->pend[k] = l->pend[i];
			l->pend[k++].end -= l->res_mark;
		}
	l->npend = k;
	l->acked_off = l->seg_off = l->tx_hw = 0;
	buf_reset(&l->rxq);
	l->rcv_off = 0;
	l->tx_broken = 0;
	l->tx_id = link_stream_id(l, l->role);
	l->rx_id = link_stream_id(l, l->role == LINK_INITIATOR ? LINK_RESPONDER : LINK_INITIATOR);
	l->st.fresh++;
}

void
link_on_resume(struct link *l, const uint8_t *payload, uint64_t now)
{
	struct link_resume peer;
	int both;

	link_resume_unpack(payload, &peer);
	if (peer.flags & LINK_RESUME_SEEN)
		l->res_seen = 1;
	if (l->resuming) {
		both = link_resume_continues(&l->res_mine, &peer) &&
		    link_resume_continues(&peer, &l->res_mine);
		if (both)
			link_resume_continue(l, &peer);
		else
			link_resume_fresh(l);
		l->resuming = 0;
		link_announce(l, both);
		if (l->state != LINK_UP)
			return;		/* the callback ended the session */
	}
	if (!(peer.flags & LINK_RESUME_REPLY))
		link_resume_send(l, 1, now);
}

void
link_resume_timer(struct link *l, uint64_t now)
{
	if (l->rev >= 2 && (l->resuming || !l->res_seen) && now >= l->res_at)
		link_resume_send(l, 0, now);
}

/* May link_send() take a message now? (Sets tx_broken when it refuses one.) */
int
link_stream_accepts(struct link *l)
{
	if (l->state == LINK_UP)
		return 1;
	if (!l->keep)
		return 0;
	if (link_backlog(l) > LINK_HOLD_MAX) {
		l->tx_broken = 1;
		return 0;
	}
	return 1;
}
