/*
 * signer_time.c: the signer's side of the clock (include/timesync.h).
 *
 * A TIME reaches the signer only through linkd, and linkd only passes on
 * messages that arrived in an HMAC-authenticated session, so every sample
 * recorded here is marked authenticated. The TIME may report the round
 * trip of the client's previous TIME (T_TIME_PREV, T_RTT_NS): that fills in
 * the earlier sample's rtt_ns and stands as this one's estimate.
 *
 * Drift policy: above time.warn_offset the signer logs a warning (again at
 * most every SIGNER_DRIFT_LOG_MS while it lasts, and once when it is back
 * within). It never stops by itself unless time.stop_offset is set; then a
 * request that would sign waits with the retryable error 502 while a
 * usable sample (fresh, authenticated, this boot, webdb synchronised)
 * shows the clock further off than that. Without such a sample nothing is
 * known, and signing goes on.
 */
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "signer.h"
#include "timesync.h"
#include "castore.h"

#define SIGNER_DRIFT_LOG_MS	(10 * 60 * 1000)
#define SIGNER_RTT_MAX_NS	(3600LL * DRIFT_NS)	/* a report above is ignored */

static void
signer_time_warn(struct signer *s, const struct time_sample *t)
{
	struct drift_policy p;
	uint64_t now = mono_ms();
	int64_t off = drift_offset_at(t);
	char id[33], a[32];
	int over;

	drift_policy_of(s->cfg, &p);
	over = drift_abs(off) > p.warn_ns;
	reqid_hex(t->reqid, id);
	drift_fmt_offset(off, a, sizeof(a));
	if (over && (!s->drift_warned || s->drift_logged_ms == 0 ||
	    now - s->drift_logged_ms >= SIGNER_DRIFT_LOG_MS)) {
		log_warnx("req=%s clock: the signer's clock is %s off webdb's, more "
		    "than time.warn_offset (%u s)%s; correct it with airlock-timesync",
		    id, a, s->cfg->time_warn_offset, t->sync == MSG_SYNC_NO ?
		    " (but webdb says its own clock is not synchronised)" : "");
		s->drift_logged_ms = now;
	} else if (!over && s->drift_warned)
		log_info("req=%s clock: back within time.warn_offset: %s", id, a);
	s->drift_warned = over;
}

int
signer_time_record(struct signer *s, const struct msg *m,
    const struct drift_clock *now)
{
	struct time_sample t;
	char id[33];
	int rtt_ok;

	reqid_hex(m->reqid, id);
	memset(&t, 0, sizeof(t));
	t.has_reqid = 1;
	memcpy(t.reqid, m->reqid, AIRLOCK_REQID_LEN);
	t.webdb_ns = (int64_t)m->time_ns;
	t.local_ns = now->real_ns;
	t.mono_ns = now->mono_ns;
	snprintf(t.boot_id, sizeof(t.boot_id), "%s", now->boot_id);
	t.sync = MSG_HAS(m, T_SYNC) ? m->sync : MSG_SYNC_UNKNOWN;
	t.rtt_ns = -1;
	t.rtt_prev_ns = -1;
	t.auth = 1;	/* by construction: only the authenticated link gets here */
	rtt_ok = MSG_HAS(m, T_RTT_NS) && m->rtt_ns <= (uint64_t)SIGNER_RTT_MAX_NS;
	if (MSG_HAS(m, T_RTT_NS) && !rtt_ok)
		log_warnx("req=%s clock: a round trip of %llu ns is not believable; "
		    "ignored", id, (unsigned long long)m->rtt_ns);
	if (rtt_ok) {
		t.rtt_prev_ns = (int64_t)m->rtt_ns;
		if (MSG_HAS(m, T_TIME_PREV) &&
		    timestore_set_rtt(s->db, m->time_prev.p, t.rtt_prev_ns) == -1)
			return -1;
	}
	if (timestore_add(s->db, &t) == -1) {
		log_warnx("req=%s cannot record the time sample: %s", id,
		    db_last_error(s->db));
		return -1;
	}
	signer_time_warn(s, &t);
	return 0;
}

int
signer_time_paused(struct signer *s, char *why, size_t whysz)
{
	struct drift_policy p;
	struct drift_clock now;
	struct time_sample t;
	char tmp[256], a[32];
	int64_t off;
	uint64_t ms;

	drift_policy_of(s->cfg, &p);
	if (p.stop_ns == 0)
		return 0;
	p.allow_step = 1;
	if (timestore_latest(s->db, &t) != 1 || drift_clock_read(&now) == -1 ||
	    drift_check(&t, &now, &p, tmp, sizeof(tmp)) != DRIFT_OK)
		return 0;	/* no usable evidence of drift */
	off = drift_offset_now(&t, &now);
	if (drift_abs(off) <= p.stop_ns)
		return 0;
	snprintf(why, whysz, "signing is paused: the signer's clock is %s off "
	    "webdb's, more than time.stop_offset (%u s); correct it with "
	    "airlock-timesync", drift_fmt_offset(off, a, sizeof(a)),
	    s->cfg->time_stop_offset);
	ms = mono_ms();
	if (s->drift_logged_ms == 0 || ms - s->drift_logged_ms >= SIGNER_DRIFT_LOG_MS) {
		log_warnx("clock: %s", why);
		s->drift_logged_ms = ms;
	}
	return 1;
}
