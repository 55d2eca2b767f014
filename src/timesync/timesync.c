/*
 * timesync.c: airlock-timesync, the sysadmin's clock correction on the
 * signer host (it has no time source but webdb's samples).
 *
 * It reads the newest time sample from ca.db, shows its age, the offset
 * and its trend, and computes webdb's time now as the sample's webdb time
 * plus half its round trip plus the monotonic time elapsed since the
 * signer received it (drift.c). It refuses a sample that is older than
 * time.max_sample_age, did not arrive over the authenticated link, comes
 * from before the last boot, from a webdb that said its own clock was not
 * synchronised (unless --allow-unsynced), or that would step the clock by
 * more than time.max_step (unless --force). Then it asks (or takes --yes),
 * sets the clock with clock_settime (and the RTC with hwclock --systohc
 * when asked), and appends the correction to the audit log. The time is
 * recomputed at the moment of setting, so the wait for an answer costs
 * nothing. Nothing is ever handed to a shell: hwclock is run with execv
 * and fixed arguments.
 *
 * Test hook: --test-clock FILE reads "now" from FILE (real=NS, mono=NS,
 * boot_id=ID lines) and writes the clock it would set to FILE.set instead
 * of setting anything; the audit record then says TEST CLOCK. It cannot be
 * combined with --hwclock.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "msg.h"
#include "proc.h"
#include "timesync.h"
#include "castore.h"
#include "proc.h"
#include "sandbox.h"

#define TS_OK		0
#define TS_FAIL		1
#define TS_USAGE	2
#define TS_REFUSED	3	/* the sample cannot be used */
#define TS_DECLINED	4	/* the operator said no, or could not be asked */
#define TS_SAMPLES	1000
#define TS_HWCLOCK	"/sbin/hwclock"
#define TS_TINY_NS	1000000LL	/* within 1 ms: nothing to do */

static const char usage[] =
	"usage: airlock-timesync [-c config] [-n | --dry-run] [-y | --yes]\n"
	"           [--hwclock] [--allow-unsynced] [--force] [--max-age S]\n"
	"           [--test-clock FILE]\n"
	"  -n, --dry-run      report only; change nothing\n"
	"  -y, --yes          do not ask before setting the clock\n"
	"  --hwclock          also set the hardware clock (hwclock --systohc)\n"
	"  --allow-unsynced   accept a sample from a webdb without NTP sync\n"
	"  --force            accept a correction above time.max_step\n"
	"  --max-age S        refuse samples older than S seconds\n"
	"                     (default time.max_sample_age)\n"
	"  --test-clock FILE  tests: read now from FILE, write FILE.set\n"
	"exit: 0 done, 1 error, 2 usage, 3 sample refused, 4 not confirmed\n";

struct ts {
	const char	*config;
	const char	*test_clock;
	int		 dry_run, yes, hwclock;
	struct drift_policy p;
	long		 max_age;	/* --max-age, -1 unset */
	struct cfg	 cfg;
	struct time_sample s;
	struct drift_clock now;
	struct drift_trend trend;
	int		 trend_ok;
	int		 last_hour;	/* samples received in the last hour */
};

static void
ts_usage(void)
{
	fputs(usage, stderr);
	exit(TS_USAGE);
}

static void
ts_options(struct ts *t, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "yes", no_argument, NULL, 'y' },
		{ "hwclock", no_argument, NULL, 'H' },
		{ "allow-unsynced", no_argument, NULL, 'U' },
		{ "force", no_argument, NULL, 'F' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "test-clock", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, unsync = 0, force = 0;
	char *end;

	t->config = "/etc/airlock/airlock.conf";
	t->max_age = -1;
	while ((ch = getopt_long(argc, argv, "c:nyh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': t->config = optarg; break;
		case 'n': t->dry_run = 1; break;
		case 'y': t->yes = 1; break;
		case 'H': t->hwclock = 1; break;
		case 'U': unsync = 1; break;
		case 'F': force = 1; break;
		case 'T': t->test_clock = optarg; break;
		case 'a':
			t->max_age = strtol(optarg, &end, 10);
			if (*end != '\0' || t->max_age < 1 || t->max_age > 86400)
				errx(TS_USAGE, "--max-age needs 1..86400 seconds");
			break;
		case 'h': fputs(usage, stdout); exit(TS_OK);
		case 'V': printf("airlock-timesync %s\n", AIRLOCK_VERSION); exit(TS_OK);
		default: ts_usage();
		}
	}
	if (optind != argc)
		ts_usage();
	if (t->test_clock != NULL && t->hwclock)
		errx(TS_USAGE, "--test-clock never touches a clock: no --hwclock");
	t->p.allow_unsync = unsync;
	t->p.allow_step = force;
}

struct ts_vec {
	struct time_sample *v;
	size_t		 n;
};

static int
ts_collect(void *arg, const struct time_sample *s)
{
	struct ts_vec *a = arg;

	a->v[a->n++] = *s;
	return 0;
}

/* The newest sample, the trend and how many came in the last hour. */
static void
ts_read(struct ts *t, struct db *ca)
{
	struct ts_vec a;
	size_t i;

	if ((a.v = calloc(TS_SAMPLES, sizeof(*a.v))) == NULL)
		err(TS_FAIL, "calloc");
	a.n = 0;
	if (timestore_recent(ca, TS_SAMPLES, ts_collect, &a) == -1)
		errx(TS_FAIL, "%s: cannot read the time samples: %s", t->cfg.ca_db,
		    db_last_error(ca));
	t->s.id = 0;
	if (a.n > 0)
		t->s = a.v[0];
	for (i = 0; i < a.n; i++)
		if (strcmp(a.v[i].boot_id, t->now.boot_id) == 0 &&
		    t->now.mono_ns - a.v[i].mono_ns <= 3600LL * DRIFT_NS)
			t->last_hour++;
	if (a.n > 0 && drift_trend(a.v, a.n, &t->s, &t->trend) == 0)
		t->trend_ok = 1;
	free(a.v);
}

/* The configuration's policy, with the options' exceptions. */
static void
ts_policy(struct ts *t)
{
	struct drift_policy p;

	drift_policy_of(&t->cfg, &p);
	p.allow_unsync = t->p.allow_unsync;
	p.allow_step = t->p.allow_step;
	if (t->max_age > 0)
		p.max_age_ns = (int64_t)t->max_age * DRIFT_NS;
	t->p = p;
}

static int
ts_clock(const struct ts *t, struct drift_clock *c)
{
	char why[512];

	if (t->test_clock == NULL)
		return drift_clock_read(c);
	if (drift_clock_load(t->test_clock, c, why, sizeof(why)) == -1)
		errx(TS_FAIL, "%s", why);
	return 0;
}

static void
ts_report(const struct ts *t)
{
	const struct time_sample *s = &t->s;
	char a[40], b[40];
	int64_t rtt = drift_rtt(s), age = t->now.mono_ns - s->mono_ns;

	printf("ca.db            %s\n", t->cfg.ca_db);
	if (s->id == 0)
		return;
	printf("newest sample    #%lld, received %s (signer clock)\n",
	    (long long)s->id, drift_fmt_time(s->local_ns, a, sizeof(a)));
	if (strcmp(s->boot_id, t->now.boot_id) == 0)
		printf("its age          %lld.%03lld s (limit %lld s); %d samples in "
		    "the last hour\n", (long long)(age / DRIFT_NS),
		    (long long)(age % DRIFT_NS / 1000000),
		    (long long)(t->p.max_age_ns / DRIFT_NS), t->last_hour);
	printf("received over    %s\n", s->auth ? "the authenticated link" :
	    "UNKNOWN: not recorded by airlock-signerd");
	printf("webdb's NTP      %s\n", drift_sync_name(s->sync));
	if (rtt >= 0)
		printf("round trip       %.3f s: webdb's time at receipt is taken as "
		    "sent + %.3f s\n", (double)rtt / 1e9, (double)rtt / 2e9);
	else
		printf("round trip       unknown: no compensation (the offset may be "
		    "off by the one-way delay)\n");
	if (strcmp(s->boot_id, t->now.boot_id) != 0)
		return;
	printf("webdb time now   %s\n", drift_fmt_time(drift_webdb_now(s, &t->now),
	    a, sizeof(a)));
	printf("signer clock     %s\n", drift_fmt_time(t->now.real_ns, b, sizeof(b)));
	printf("offset           %s (the signer is %s)\n", drift_fmt_offset(
	    drift_offset_now(s, &t->now), a, sizeof(a)),
	    drift_offset_now(s, &t->now) >= 0 ? "ahead" : "behind");
	if (t->trend_ok)
		printf("trend            %+.1f ppm, %+.2f s a day (%d samples over "
		    "%.0f min)\n", t->trend.ppm, t->trend.ppm * 0.0864, t->trend.n,
		    t->trend.span_s / 60);
	else
		printf("trend            too few samples for a trend\n");
}

static int
ts_confirm(int64_t step)
{
	char line[16], a[32];
	size_t n;

	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "airlock-timesync: not confirmed: run it on a "
		    "terminal, or give --yes\n");
		return -1;
	}
	printf("Step the signer's clock by %s to webdb's time? [y/N] ",
	    drift_fmt_offset(step, a, sizeof(a)));
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return -1;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 ||
	    strcmp(line, "yes") == 0 ? 0 : -1;
}

/* hwclock --systohc --utc, by execv: no shell, no input in the arguments */
static int
ts_hwclock(void)
{
	char *const argv[] = { "hwclock", "--systohc", "--utc", NULL };
	pid_t pid;
	int st;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		execv(TS_HWCLOCK, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Sets the clock (or writes the test clock's .set file). */
static void
ts_set(const struct ts *t, int64_t target)
{
	struct timespec ts;
	char path[PATH_MAX], text[64];
	int n;

	if (t->test_clock != NULL) {
		snprintf(path, sizeof(path), "%s.set", t->test_clock);
		n = snprintf(text, sizeof(text), "set=%lld\n", (long long)target);
		if (write_file_atomic(path, text, (size_t)n, 0644) == -1)
			err(TS_FAIL, "%s", path);
		return;
	}
	ts.tv_sec = (time_t)(target / DRIFT_NS);
	ts.tv_nsec = (long)(target % DRIFT_NS);
	if (clock_settime(CLOCK_REALTIME, &ts) == -1)
		err(TS_FAIL, "cannot set the clock%s", errno == EPERM ?
		    " (run airlock-timesync as root)" : "");
}

static void
ts_audit(const struct ts *t, int64_t step, int64_t from, int64_t to, int hw)
{
	char actor[AUDIT_ACTOR_MAX], a[32], b[40], c[40], rtt[32];
	int64_t r = drift_rtt(&t->s), seq;
	struct db *ca;

	if (r >= 0)
		snprintf(rtt, sizeof(rtt), "%.3f s", (double)r / 1e9);
	else
		snprintf(rtt, sizeof(rtt), "unknown");
	audit_actor("airlock-timesync", actor, sizeof(actor));
	if (castore_open(t->cfg.ca_db, 0, &ca) == -1 || audit_init(ca) == -1 ||
	    (seq = audit_addf(ca, AUDIT_TIME, NULL, NULL, actor, "%sclock stepped "
	    "by %s, from %s to %s; sample %lld, %lld s old, round trip %s, webdb "
	    "NTP %s%s", t->test_clock ? "TEST CLOCK, nothing was set: " : "",
	    drift_fmt_offset(step, a, sizeof(a)), drift_fmt_time(from, b, sizeof(b)),
	    drift_fmt_time(to, c, sizeof(c)), (long long)t->s.id,
	    (long long)((t->now.mono_ns - t->s.mono_ns) / DRIFT_NS), rtt,
	    drift_sync_name(t->s.sync), hw ? "; hardware clock set" : "")) == -1)
		errx(TS_FAIL, "THE CLOCK WAS STEPPED BY %s but the audit record "
		    "could not be written to %s: record it by hand", a, t->cfg.ca_db);
	log_info("clock stepped by %s (audit record %lld)", a, (long long)seq);
	printf("recorded         audit record %lld\n", (long long)seq);
	db_close(ca);
}

static int
ts_apply(struct ts *t)
{
	struct drift_clock now;
	int64_t target, step;
	int hw = 0;
	char a[32];

	if (ts_clock(t, &now) == -1)
		err(TS_FAIL, "cannot read the clocks");
	target = drift_webdb_now(&t->s, &now);	/* as of this moment */
	step = target - now.real_ns;
	ts_set(t, target);
	printf("clock stepped    by %s\n", drift_fmt_offset(step, a, sizeof(a)));
	if (t->hwclock) {
		hw = ts_hwclock() == 0;
		printf("hardware clock   %s\n", hw ? "set (hwclock --systohc --utc)" :
		    "NOT set: " TS_HWCLOCK " failed");
	}
	ts_audit(t, step, now.real_ns, target, hw);
	return t->hwclock && !hw ? TS_FAIL : TS_OK;
}

int
main(int argc, char **argv)
{
	static struct ts t;
	char why[1024], a[32];
	int64_t step;
	struct db *ca;
	int v;

	ts_options(&t, argc, argv);
	proc_nocore();	/* it reads ca.db and the configuration */
	log_init("airlock-timesync", LOG_TO_SYSLOG, 0);
	if (config_load(t.config, &t.cfg, why, sizeof(why)) == -1)
		errx(TS_FAIL, "%s", why);
	/* hwclock(8) would inherit the filter: with --hwclock, none */
	if (!t.hwclock)
		sandbox_enter("timesync", &t.cfg);
	ts_policy(&t);
	if (ts_clock(&t, &t.now) == -1)
		err(TS_FAIL, "cannot read the clocks");
	if (castore_open(t.cfg.ca_db, 1, &ca) == -1)
		errx(TS_FAIL, "%s: cannot open the CA database", t.cfg.ca_db);
	ts_read(&t, ca);
	db_close(ca);
	ts_report(&t);
	if ((v = drift_check(&t.s, &t.now, &t.p, why, sizeof(why))) != DRIFT_OK) {
		printf("refused\n");
		text_wrap(why, 17, 62);
		log_warnx("refused: %s", why);
		return TS_REFUSED;
	}
	step = -drift_offset_now(&t.s, &t.now);
	printf("correction       %s\n", drift_fmt_offset(step, a, sizeof(a)));
	if (t.dry_run) {
		printf("dry run          nothing changed\n");
		return TS_OK;
	}
	if (drift_abs(step) < TS_TINY_NS) {
		printf("nothing to do    the clock is right to within a millisecond\n");
		return TS_OK;
	}
	if (!t.yes && ts_confirm(step) == -1) {
		printf("not changed\n");
		return TS_DECLINED;
	}
	return ts_apply(&t);
}
