/*
 * link_timer.c: the link's clocks and sizes: the line time of some bytes,
 * the retransmission timer (RFC 6298 from round-trip samples under Karn's
 * rule, floored by the line time of what is queued, backed off further
 * while nothing comes back), the frame size for the error rate seen lately,
 * and what counts as a silence (an outage) rather than noise.
 */
#include <math.h>

#include "link_int.h"

#define LINK_ADAPT_FRAMES	8	/* frames per adaptation period */
#define LINK_MIN_SEG		128
#define LINK_RTO_MAX_MS		3000	/* RTT-based timer, backed off, at most */
#define LINK_QUIET_RTO_MAX_MS	6000	/* the timer then, at most */

/* Milliseconds the line needs for n bytes (10 bits a byte at 8N1). */
uint64_t
link_line_ms(const struct link *l, uint64_t n)
{
	if (l->p.baud <= 0)
		return 1;
	return n * 10 * 1000 / (uint64_t)l->p.baud + 1;
}

void
link_update_rto(struct link *l)
{
	uint64_t inflight = 2 * (uint64_t)(l->p.max_payload + 64);

	if (l->srtt_ms > 0) {
		l->rto_ms = (uint32_t)(l->srtt_ms + 4 * l->rttvar_ms);
		if (l->rto_ms < 200)
			l->rto_ms = 200;
		if (l->rto_ms > LINK_RTO_MAX_MS)
			l->rto_ms = LINK_RTO_MAX_MS;
		return;
	}
	/* before a sample: two frames out, a full reverse queue back, a margin;
	 * link_rto() adds the line time of whatever else is queued ahead */
	l->rto_ms = (uint32_t)(2 * link_line_ms(l, inflight + 8192) + 250);
}

/*
 * The timer for a frame sent now: the RTT-based timeout, doubled once
 * after an expiry without progress, but to no more than LINK_RTO_MAX_MS
 * (or the timeout itself, before the first sample on a slow line), and
 * never shorter than the line needs for everything ahead of it and a full
 * frame back, whatever the RTT said. The line is the link's alone, so
 * backing off protects nothing; what it cost was measured: a frame
 * acknowledged only after an outage gives a round-trip sample of seconds,
 * and three doublings of that (up to 20 s each) stalled t_stress for
 * 20 s to 2 minutes at a time while the oldest frame waited its turn.
 */
uint64_t
link_rto(const struct link *l)
{
	uint64_t floor, t, cap, ahead = l->seg_off - l->acked_off + l->out.len;

	floor = link_line_ms(l, ahead + 2 * (uint64_t)(l->p.max_payload + 64)) * 3 / 2 + 200;
	cap = l->backoff > LINK_BACKOFF_MAX ? LINK_QUIET_RTO_MAX_MS : LINK_RTO_MAX_MS;
	if (l->rto_ms > cap)
		cap = l->rto_ms;
	t = (uint64_t)l->rto_ms << l->backoff;
	if (t > cap)
		t = cap;
	return floor > t ? floor : t;
}

void
link_rtt_sample(struct link *l, int32_t r)
{
	int32_t d;

	if (l->srtt_ms == 0) {
		l->srtt_ms = r > 0 ? r : 1;
		l->rttvar_ms = r / 2;
	} else {
		d = l->srtt_ms - r;
		l->rttvar_ms += ((d < 0 ? -d : d) - l->rttvar_ms) / 4;
		l->srtt_ms += (r - l->srtt_ms) / 8;
		if (l->srtt_ms <= 0)
			l->srtt_ms = 1;
	}
	link_update_rto(l);
}

/*
 * Picks the frame size for the error rate seen lately: per-byte error rate
 * e = losses / bytes sent, both sums decaying by a quarter each period, with
 * a quarter of a loss as prior so that a clean line goes to the largest size.
 */
void
link_adapt(struct link *l)
{
	double e, h = LINK_FRAME_OVERHEAD, s;
	int max = link_max_seg(l), n;

	if (l->per_sent < LINK_ADAPT_FRAMES)
		return;
	e = (l->est_lost + 0.25) / (l->est_bytes > 1 ? l->est_bytes : 1);
	s = (-h + sqrt(h * h + 4.0 * h / e)) / 2.0;
	n = s > max ? max : (int)s & ~63;
	if (n < LINK_MIN_SEG)
		n = LINK_MIN_SEG < max ? LINK_MIN_SEG : max;
	if (n != l->seg_size)
		l->st.resizes++;
	l->seg_size = n;
	l->per_sent = 0;
	l->est_bytes *= 0.75;
	l->est_lost *= 0.75;
}

/* No bytes at all for this long, with frames in flight, is an outage. */
uint64_t
link_quiet_ms(const struct link *l)
{
	return link_line_ms(l, (uint64_t)l->seg_size + LINK_FRAME_OVERHEAD) * 3 / 4 + 250;
}

/* Silent since: the last byte in, or the first frame out if that is later
 * (a peer with nothing to acknowledge may well say nothing). */
uint64_t
link_quiet_since(const struct link *l)
{
	return l->rx_any > l->busy_since ? l->rx_any : l->busy_since;
}

/* Was frame g on the line during the latest silence (sent while, or just
 * before, no bytes came back)? Then its loss is the outage's, not noise. */
int
link_in_quiet(const struct link *l, const struct link_seg *g)
{
	return l->quiet_to != 0 && g->sent_ms <= l->quiet_to &&
	    g->sent_ms + link_line_ms(l, g->len + LINK_FRAME_OVERHEAD) + 100 >= l->quiet_from;
}

/* Karn's rule: no sample from a frame sent twice (which copy came back?),
 * and none across an outage, which measures the outage, not the line. */
int
link_rtt_ok(const struct link *l, const struct link_seg *g)
{
	return !g->retx && !g->sacked && g->sent_ms > l->quiet_to;
}
