/*
 * drift.c: from a time sample to the corrected time, and the drift policy
 * (include/timesync.h). Everything but drift_clock_read and
 * drift_clock_load is a pure function of its arguments.
 *
 * The round trip: webdb's clock was read when the TIME was made, and the
 * signer's when it arrived, one way later. With the round trip r of the
 * exchange, webdb's time at receipt is taken as webdb_ns + r/2; the error
 * is at most r/2 (all of the delay on one side). The sample's own round
 * trip is known only when the client reports it with its next TIME; until
 * then the round trip of the exchange before stands in for it.
 *
 * The monotonic clock is CLOCK_BOOTTIME: it does not jump when the real
 * clock is set, and it counts time spent suspended. It restarts at boot,
 * so a sample is usable only in the boot that recorded it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "timesync.h"

#define DRIFT_BOOT_ID_FILE	"/proc/sys/kernel/random/boot_id"

static void
drift_read_boot_id(char *out, size_t outsz)
{
	FILE *f;
	size_t n;

	out[0] = '\0';
	if ((f = fopen(DRIFT_BOOT_ID_FILE, "r")) == NULL)
		return;
	if (fgets(out, (int)outsz, f) == NULL)
		out[0] = '\0';
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = '\0';
}

int
drift_clock_read(struct drift_clock *c)
{
	struct timespec r, m;

	if (clock_gettime(CLOCK_REALTIME, &r) == -1 ||
	    clock_gettime(CLOCK_BOOTTIME, &m) == -1)
		return -1;
	c->real_ns = (int64_t)r.tv_sec * DRIFT_NS + r.tv_nsec;
	c->mono_ns = (int64_t)m.tv_sec * DRIFT_NS + m.tv_nsec;
	drift_read_boot_id(c->boot_id, sizeof(c->boot_id));
	return 0;
}

/* What chrony, ntpd or systemd-timesyncd told the kernel. */
int
drift_ntp_status(void)
{
	struct timex tx;
	int st;

	memset(&tx, 0, sizeof(tx));
	if ((st = adjtimex(&tx)) == -1)
		return MSG_SYNC_UNKNOWN;
	if (st == TIME_ERROR || (tx.status & STA_UNSYNC))
		return MSG_SYNC_NO;
	return MSG_SYNC_YES;
}

static int
drift_clock_line(const char *line, struct drift_clock *c, unsigned *seen)
{
	char *end;
	long long v;

	if (strncmp(line, "boot_id=", 8) == 0) {
		snprintf(c->boot_id, sizeof(c->boot_id), "%s", line + 8);
		*seen |= 4;
		return 0;
	}
	if (strncmp(line, "real=", 5) != 0 && strncmp(line, "mono=", 5) != 0)
		return line[0] == '\0' || line[0] == '#' ? 0 : -1;
	errno = 0;
	v = strtoll(line + 5, &end, 10);
	if (errno != 0 || end == line + 5 || *end != '\0' || v < 0)
		return -1;
	if (line[0] == 'r') {
		c->real_ns = v;
		*seen |= 1;
	} else {
		c->mono_ns = v;
		*seen |= 2;
	}
	return 0;
}

int
drift_clock_load(const char *path, struct drift_clock *c, char *why,
    size_t whysz)
{
	char line[128];
	unsigned seen = 0;
	FILE *f;
	int lineno = 0;

	memset(c, 0, sizeof(*c));
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (drift_clock_line(line, c, &seen) == -1) {
			snprintf(why, whysz, "%s:%d: expected real=NS, mono=NS or "
			    "boot_id=ID", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	if (seen != 7) {
		snprintf(why, whysz, "%s: needs real=, mono= and boot_id= lines", path);
		return -1;
	}
	return 0;
}

void
drift_policy_of(const struct cfg *c, struct drift_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_age_ns = (int64_t)c->time_max_age * DRIFT_NS;
	p->warn_ns = (int64_t)c->time_warn_offset * DRIFT_NS;
	p->stop_ns = (int64_t)c->time_stop_offset * DRIFT_NS;
	p->max_step_ns = (int64_t)c->time_max_step * DRIFT_NS;
}

int64_t
drift_abs(int64_t v)
{
	return v < 0 ? -v : v;
}

int64_t
drift_rtt(const struct time_sample *s)
{
	return s->rtt_ns >= 0 ? s->rtt_ns : s->rtt_prev_ns;
}

/* webdb's clock at receipt, compensated for half the round trip */
static int64_t
drift_webdb_at(const struct time_sample *s)
{
	int64_t rtt = drift_rtt(s);

	return s->webdb_ns + (rtt > 0 ? rtt / 2 : 0);
}

int64_t
drift_webdb_now(const struct time_sample *s, const struct drift_clock *now)
{
	return drift_webdb_at(s) + (now->mono_ns - s->mono_ns);
}

int64_t
drift_offset_now(const struct time_sample *s, const struct drift_clock *now)
{
	return now->real_ns - drift_webdb_now(s, now);
}

int64_t
drift_offset_at(const struct time_sample *s)
{
	return s->local_ns - drift_webdb_at(s);
}

static int
drift_say(char *why, size_t whysz, int verdict, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
drift_say(char *why, size_t whysz, int verdict, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return verdict;
}

/* The checks that do not depend on the policy. */
static int
drift_check_origin(const struct time_sample *s, const struct drift_clock *now,
    char *why, size_t whysz)
{
	long long id = (long long)s->id;

	if (!s->auth)
		return drift_say(why, whysz, DRIFT_UNAUTH, "sample %lld did not "
		    "arrive over the authenticated link (auth flag not set): "
		    "it was not recorded by airlock-signerd", id);
	if (s->boot_id[0] == '\0' || strcmp(s->boot_id, now->boot_id) != 0)
		return drift_say(why, whysz, DRIFT_REBOOT, "sample %lld was "
		    "recorded before the signer host last started; wait for a "
		    "new sample (one a minute)", id);
	if (s->mono_ns > now->mono_ns)
		return drift_say(why, whysz, DRIFT_FUTURE, "sample %lld claims "
		    "to be received after now; the row is not trustworthy", id);
	if (s->webdb_ns < DRIFT_TIME_MIN_NS || s->webdb_ns > DRIFT_TIME_MAX_NS)
		return drift_say(why, whysz, DRIFT_IMPLAUSIBLE, "sample %lld: "
		    "webdb's time is outside 2020..2100; webdb's clock is wrong", id);
	return DRIFT_OK;
}

int
drift_check(const struct time_sample *s, const struct drift_clock *now,
    const struct drift_policy *p, char *why, size_t whysz)
{
	char a[32], b[32];
	int64_t age, off;
	int v;

	if (s == NULL || s->id == 0)
		return drift_say(why, whysz, DRIFT_NONE, "no time sample has been "
		    "recorded yet");
	if ((v = drift_check_origin(s, now, why, whysz)) != DRIFT_OK)
		return v;
	age = now->mono_ns - s->mono_ns;
	if (p->max_age_ns > 0 && age > p->max_age_ns)
		return drift_say(why, whysz, DRIFT_STALE, "sample %lld is %lld s "
		    "old, more than time.max_sample_age (%lld s); is airlock-client "
		    "running and the link up?", (long long)s->id,
		    (long long)(age / DRIFT_NS), (long long)(p->max_age_ns / DRIFT_NS));
	if (s->sync == MSG_SYNC_NO && !p->allow_unsync)
		return drift_say(why, whysz, DRIFT_UNSYNC, "sample %lld: webdb "
		    "reported its own clock as not synchronised", (long long)s->id);
	off = drift_offset_now(s, now);
	if (p->max_step_ns > 0 && !p->allow_step && drift_abs(off) > p->max_step_ns)
		return drift_say(why, whysz, DRIFT_BIGSTEP, "the correction would be "
		    "%s, more than time.max_step (%s)", drift_fmt_offset(-off, a,
		    sizeof(a)), drift_fmt_offset(p->max_step_ns, b, sizeof(b)));
	why[0] = '\0';
	return DRIFT_OK;
}

/*
 * The signer's clock rate against webdb's: the slope of (mono − webdb at
 * receipt) over mono, by least squares, over the samples of ref's boot.
 * The monotonic clock is not stepped by corrections, so a correction in
 * the middle does not bend the line.
 */
int
drift_trend(const struct time_sample *v, size_t n, const struct time_sample *ref,
    struct drift_trend *t)
{
	double sx = 0, sy = 0, sxx = 0, sxy = 0, x, y, lo = 0, hi = 0, den;
	size_t i;
	int k = 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++) {
		if (!v[i].auth || strcmp(v[i].boot_id, ref->boot_id) != 0)
			continue;
		x = (double)(v[i].mono_ns - ref->mono_ns) / 1e9;
		y = (double)((v[i].mono_ns - ref->mono_ns) -
		    (drift_webdb_at(&v[i]) - drift_webdb_at(ref))) / 1e9;
		sx += x;
		sy += y;
		sxx += x * x;
		sxy += x * y;
		lo = k == 0 || x < lo ? x : lo;
		hi = k == 0 || x > hi ? x : hi;
		k++;
	}
	den = k * sxx - sx * sx;
	if (k < 2 || hi - lo < 60 || den <= 0)
		return -1;
	t->n = k;
	t->span_s = hi - lo;
	t->ppm = (k * sxy - sx * sy) / den * 1e6;
	return 0;
}

char *
drift_fmt_offset(int64_t ns, char *out, size_t outsz)
{
	int64_t a = drift_abs(ns);

	snprintf(out, outsz, "%c%lld.%03lld s", ns < 0 ? '-' : '+',
	    (long long)(a / DRIFT_NS), (long long)(a % DRIFT_NS / 1000000));
	return out;
}

char *
drift_fmt_time(int64_t ns, char *out, size_t outsz)
{
	time_t t = (time_t)(ns / DRIFT_NS);
	struct tm tm;

	if (ns < 0 || gmtime_r(&t, &tm) == NULL) {
		snprintf(out, outsz, "(invalid time)");
		return out;
	}
	snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d:%02d.%03lld UTC",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (long long)(ns % DRIFT_NS / 1000000));
	return out;
}

const char *
drift_sync_name(int s)
{
	switch (s) {
	case MSG_SYNC_YES:
		return "synchronised";
	case MSG_SYNC_NO:
		return "NOT synchronised";
	default:
		return "unknown";
	}
}
