/*
 * link_piece.c: retransmissions, re-cut to the frame size of the moment
 * (link revision 3, docs/protocol.md 6.2).
 *
 * A DATA frame keeps its sequence number for its whole life, so the
 * acknowledgements, the window and Karn's rule do not change. What changes
 * is how it goes again: when the frame size has shrunk below the frame's
 * length since it was first sent (a line turned noisy), a revision 3 sender
 * sends it again as PIECE frames of the current size, each naming the
 * frame's sequence number, the piece's offset in the frame and the frame's
 * length. The receiver gathers the pieces of a frame, any number of times
 * and in any order, and counts the frame received once it holds every byte;
 * a whole DATA frame of the same number fills it too.
 */
#include <string.h>

#include "link_int.h"

void
link_transmit(struct link *l, struct link_seg *g, uint16_t off, uint16_t n,
    uint64_t now)
{
	if (g->txno != 0)
		g->retx = 1;	/* Karn: no round-trip sample from it any more */
	g->txno = ++l->txno;
	g->sent_ms = now;
	if (off == 0 && n == g->len)
		link_emit(l, FRAME_DATA, g->seq, g->data, g->len, now);
	else {
		uint8_t p[FRAME_MAX_PAYLOAD];

		put_be16(p, off);
		put_be16(p + 2, g->len);
		memcpy(p + LINK_PIECE_HDR, g->data + off, n);
		link_emit(l, FRAME_PIECE, g->seq, p, (size_t)n + LINK_PIECE_HDR, now);
		l->st.pieces_out++;
	}
	l->st.data_out++;
	if (l->rto_at == 0)
		l->rto_at = now + link_rto(l);
}

/* Payload bytes of one piece: the frame size now, and the header fits. */
int
link_piece_size(const struct link *l)
{
	int max = link_max_seg(l) - LINK_PIECE_HDR;

	return l->seg_size < max ? l->seg_size : max;
}

/*
 * The oldest frame marked lost goes again: whole, or (revision 3, frame
 * longer than the frame size now) its next piece; it stays marked lost
 * until its last piece has gone.
 */
int
link_send_lost(struct link *l, uint64_t now)
{
	uint32_t s;
	uint16_t n;
	int piece;

	for (s = l->snd_una; s != l->snd_nxt; s++) {
		struct link_seg *g = &l->seg[s % LINK_MAX_WINDOW];

		if (!g->lost || g->sacked)
			continue;
		if (g->rpos == 0) {	/* a new try of the frame */
			l->st.retransmits++;
			if (g->outage)
				l->st.outage_retx++;
			else
				l->est_lost += 1;	/* noise: frames get smaller */
		}
		piece = link_piece_size(l);
		if (l->rev < 3 || (g->rpos == 0 && g->len <= piece)) {
			g->lost = 0;
			link_transmit(l, g, 0, g->len, now);
			return 1;
		}
		n = (uint16_t)(g->len - g->rpos < piece ? g->len - g->rpos : piece);
		link_transmit(l, g, g->rpos, n, now);
		g->rpos = (uint16_t)(g->rpos + n);
		if (g->rpos >= g->len) {
			g->rpos = 0;
			g->lost = 0;
		}
		return 1;
	}
	return 0;
}

/*
 * Bytes [off, off + n) of frame r, of length total: stored unless held.
 * Returns 1 if any byte was new, 0 for a duplicate, -1 if the length does
 * not match what the frame's earlier pieces said (no honest peer does it).
 */
int
link_rseg_fill(struct link_rseg *r, uint16_t off, uint16_t n, uint16_t total,
    const uint8_t *p)
{
	int fresh = 0;
	unsigned i;

	if (r->got == 0) {
		r->len = total;
		memset(r->map, 0, sizeof(r->map));
	} else if (r->len != total)
		return -1;
	if (off == 0 && n == total) {	/* whole: what is held is the same */
		memcpy(r->data, p, n);
		fresh = r->got < total;
		r->got = total;
	} else
		for (i = 0; i < n; i++) {
			unsigned b = off + i;

			if (r->map[b / 8] & (1u << (b % 8)))
				continue;
			r->map[b / 8] |= (uint8_t)(1u << (b % 8));
			r->data[b] = p[i];
			r->got++;
			fresh = 1;
		}
	if (r->got == r->len)
		r->have = 1;
	return fresh;
}
