/*
 * test_timesync.c: the time correction (src/common/drift.c) on a fake clock, and
 * the time_samples store (src/ca/timestore.c) on a real ca.db.
 *
 * Latency compensation: webdb's time now is the sample's webdb time plus
 * half its round trip (the sample's own when the client has reported it,
 * else the one before) plus the monotonic time since receipt; a step of
 * the real clock in between changes nothing, and a wait for the operator's
 * answer moves the result on by exactly the wait. Refusals: a stale
 * sample (one nanosecond past time.max_sample_age, not at it), one without
 * the auth flag, one from another boot or "from the future", one from an
 * unsynchronised webdb (unless allowed), an implausible webdb time, and a
 * step above time.max_step (unless forced). The drift trend finds a clock
 * that runs 10 ppm fast, ignoring samples of another boot and corrections.
 * The store: old tables are upgraded, a round trip is filled in once and
 * only for authenticated rows, and a row from before the upgrade (or put
 * in by hand) is refused as unauthenticated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "airlock.h"
#include "msg.h"
#include "store.h"
#include "timesync.h"
#include "util.h"
#include "castore.h"

#define S	DRIFT_NS
#define MS	1000000LL
#define T0	(1795000000LL * S)	/* 2026-11-18 11:06:40 UTC, webdb's clock */
#define M0	(1000LL * S)		/* the signer's monotonic clock */

static char tmpdir[64];

static void
t_sample(struct time_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->id = 42;
	s->has_reqid = 1;
	s->webdb_ns = T0;
	s->local_ns = T0 + 5 * S;	/* the signer is 5 s ahead */
	s->mono_ns = M0;
	snprintf(s->boot_id, sizeof(s->boot_id), "boot-a");
	s->sync = MSG_SYNC_YES;
	s->rtt_ns = 200 * MS;
	s->rtt_prev_ns = 80 * MS;
	s->auth = 1;
}

/* The fake clock, elapsed ns after the sample's receipt. */
static void
t_clock(struct drift_clock *c, int64_t elapsed)
{
	memset(c, 0, sizeof(*c));
	c->real_ns = T0 + 5 * S + elapsed;
	c->mono_ns = M0 + elapsed;
	snprintf(c->boot_id, sizeof(c->boot_id), "boot-a");
}

static void
t_policy(struct drift_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_age_ns = 300 * S;
	p->warn_ns = 10 * S;
	p->max_step_ns = 86400 * S;
}

static void
test_compensation(void **state)
{
	struct time_sample s;
	struct drift_clock c;

	(void)state;
	t_sample(&s);
	t_clock(&c, 30 * S);
	/* webdb now = sent + rtt/2 + elapsed */
	assert_true(drift_webdb_now(&s, &c) == T0 + 100 * MS + 30 * S);
	assert_true(drift_offset_now(&s, &c) == 5 * S - 100 * MS);
	assert_true(drift_offset_at(&s) == 5 * S - 100 * MS);
	assert_true(drift_rtt(&s) == 200 * MS);
}

static void
test_compensation_estimate(void **state)
{
	struct time_sample s;
	struct drift_clock c;

	(void)state;
	t_sample(&s);
	t_clock(&c, 0);
	s.rtt_ns = -1;		/* not reported yet: the exchange before stands in */
	assert_true(drift_webdb_now(&s, &c) == T0 + 40 * MS);
	s.rtt_prev_ns = -1;	/* nothing known: no compensation */
	assert_true(drift_rtt(&s) == -1);
	assert_true(drift_webdb_now(&s, &c) == T0);
}

/* Only the monotonic clock moves the result on. */
static void
test_wait_and_step(void **state)
{
	struct time_sample s;
	struct drift_clock a, b;

	(void)state;
	t_sample(&s);
	t_clock(&a, 12 * S);
	b = a;
	b.mono_ns += 47 * S;		/* the operator took 47 s to say yes */
	assert_true(drift_webdb_now(&s, &b) - drift_webdb_now(&s, &a) == 47 * S);
	b = a;
	b.real_ns -= 3600 * S;		/* someone set the clock meanwhile */
	assert_true(drift_webdb_now(&s, &b) == drift_webdb_now(&s, &a));
	assert_true(drift_offset_now(&s, &b) == drift_offset_now(&s, &a) - 3600 * S);
	/* after a correction to webdb's time now, the offset is zero */
	b = a;
	b.real_ns = drift_webdb_now(&s, &a);
	assert_true(drift_offset_now(&s, &b) == 0);
}

static int
t_verdict(const struct time_sample *s, const struct drift_clock *c,
    const struct drift_policy *p, const char *words)
{
	char why[256];
	int v = drift_check(s, c, p, why, sizeof(why));

	if (words != NULL && strstr(why, words) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, words);
	return v;
}

static void
test_usable(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, 60 * S);
	t_policy(&p);
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
}

static void
test_stale(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_policy(&p);
	t_clock(&c, 300 * S);
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
	t_clock(&c, 300 * S + 1);
	assert_int_equal(t_verdict(&s, &c, &p, "300 s old, more than "
	    "time.max_sample_age (300 s)"), DRIFT_STALE);
	t_clock(&c, 3 * 86400 * S);
	assert_int_equal(t_verdict(&s, &c, &p, "259200 s old"), DRIFT_STALE);
	p.max_age_ns = 86400 * 4 * S;	/* --max-age */
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
}

static void
test_unauthenticated(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, S);
	t_policy(&p);
	s.auth = 0;
	assert_int_equal(t_verdict(&s, &c, &p, "authenticated link"), DRIFT_UNAUTH);
	/* even a fresh, synchronised one: the flag comes first */
	p.allow_unsync = p.allow_step = 1;
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_UNAUTH);
}

static void
test_other_boot(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, S);
	t_policy(&p);
	snprintf(c.boot_id, sizeof(c.boot_id), "boot-b");
	assert_int_equal(t_verdict(&s, &c, &p, "last started"), DRIFT_REBOOT);
	s.boot_id[0] = '\0';		/* a row from before boot ids */
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_REBOOT);
	t_clock(&c, -S);		/* same boot, received after now */
	t_sample(&s);
	assert_int_equal(t_verdict(&s, &c, &p, "after now"), DRIFT_FUTURE);
}

static void
test_unsynchronised(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, S);
	t_policy(&p);
	s.sync = MSG_SYNC_NO;
	assert_int_equal(t_verdict(&s, &c, &p, "not synchronised"), DRIFT_UNSYNC);
	p.allow_unsync = 1;
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
	s.sync = MSG_SYNC_UNKNOWN;	/* not known is not refused */
	p.allow_unsync = 0;
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
}

/* A TIME far in the past or future. */
static void
test_implausible(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, S);
	t_policy(&p);
	p.allow_step = 1;
	s.webdb_ns = 0;
	assert_int_equal(t_verdict(&s, &c, &p, "2020..2100"), DRIFT_IMPLAUSIBLE);
	s.webdb_ns = DRIFT_TIME_MAX_NS + 1;
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_IMPLAUSIBLE);
}

/* A dead RTC: the signer believes it is 2001; webdb's time is fine. */
static void
test_big_step(void **state)
{
	struct time_sample s;
	struct drift_clock c;
	struct drift_policy p;

	(void)state;
	t_sample(&s);
	t_clock(&c, S);
	t_policy(&p);
	c.real_ns = 1000000000LL * S;
	assert_int_equal(t_verdict(&s, &c, &p, "time.max_step"), DRIFT_BIGSTEP);
	p.allow_step = 1;		/* --force */
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_OK);
	assert_true(drift_webdb_now(&s, &c) == T0 + 100 * MS + S);
}

static void
test_none(void **state)
{
	struct drift_clock c;
	struct drift_policy p;
	struct time_sample s;

	(void)state;
	t_clock(&c, 0);
	t_policy(&p);
	assert_int_equal(t_verdict(NULL, &c, &p, "no time sample"), DRIFT_NONE);
	memset(&s, 0, sizeof(s));
	assert_int_equal(t_verdict(&s, &c, &p, NULL), DRIFT_NONE);
}

/* A clock 10 ppm fast, sampled every minute for an hour. */
static void
test_trend(void **state)
{
	struct time_sample v[64], ref;
	struct drift_trend t;
	int i;

	(void)state;
	for (i = 0; i < 60; i++) {
		t_sample(&v[i]);
		v[i].id = 60 - i;
		v[i].webdb_ns = T0 + (int64_t)i * 60 * S;
		v[i].mono_ns = M0 + (int64_t)i * 60 * S + (int64_t)i * 60 * 10000;
		/* a correction at half time moves the real clock, not mono */
		v[i].local_ns = v[i].webdb_ns + (i < 30 ? 5 * S : 0);
		v[i].rtt_ns = (i % 3) * 10 * MS;
	}
	t_sample(&v[60]);		/* another boot: ignored */
	snprintf(v[60].boot_id, sizeof(v[60].boot_id), "boot-z");
	v[60].mono_ns = M0 + 3 * S;
	t_sample(&v[61]);		/* put in by hand: ignored */
	v[61].auth = 0;
	v[61].webdb_ns = T0 - 50 * S;
	ref = v[59];
	assert_int_equal(drift_trend(v, 62, &ref, &t), 0);
	assert_int_equal(t.n, 60);
	assert_true(t.ppm > 9.5 && t.ppm < 10.5);
	assert_true(t.span_s > 3500);
	/* too few, or too short */
	assert_int_equal(drift_trend(v, 1, &ref, &t), -1);
	for (i = 0; i < 5; i++)
		v[i].mono_ns = M0 + i * S;
	assert_int_equal(drift_trend(v, 5, &ref, &t), -1);
}

static void
test_format(void **state)
{
	char b[40];

	(void)state;
	assert_string_equal(drift_fmt_offset(1340 * MS, b, sizeof(b)), "+1.340 s");
	assert_string_equal(drift_fmt_offset(-12 * MS, b, sizeof(b)), "-0.012 s");
	assert_string_equal(drift_fmt_time(T0 + 123 * MS, b, sizeof(b)),
	    "2026-11-18 11:06:40.123 UTC");
}

static void
test_clock_file(void **state)
{
	struct drift_clock c;
	char path[PATH_MAX], why[256];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/clock", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "# a fake clock\nreal=%lld\nmono=%lld\nboot_id=boot-a\n",
	    (long long)T0, (long long)M0);
	fclose(f);
	assert_int_equal(drift_clock_load(path, &c, why, sizeof(why)), 0);
	assert_true(c.real_ns == T0 && c.mono_ns == M0);
	assert_string_equal(c.boot_id, "boot-a");
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "real=12x\n");
	fclose(f);
	assert_int_equal(drift_clock_load(path, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, ":1:"));
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "real=1\n");
	fclose(f);
	assert_int_equal(drift_clock_load(path, &c, why, sizeof(why)), -1);
	/* the real clock reads, with this boot's id */
	assert_int_equal(drift_clock_read(&c), 0);
	assert_true(c.real_ns > DRIFT_TIME_MIN_NS && c.mono_ns > 0);
}

static void
t_exec(const char *path, const char *sql)
{
	sqlite3 *h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(h));
	sqlite3_close(h);
}

/* An old ca.db, a row of the first version, the upgrade, new samples. */
static void
test_store(void **state)
{
	struct time_sample s, got;
	struct drift_clock c;
	struct drift_policy p;
	char path[PATH_MAX], why[256];
	struct db *d;

	(void)state;
	snprintf(path, sizeof(path), "%s/ca.db", tmpdir);
	assert_int_equal(castore_open(path, 0, &d), 0);
	assert_int_equal(castore_time_sample(d, (uint64_t)T0, (uint64_t)T0,
	    (uint64_t)M0, 1), 0);
	assert_int_equal(timestore_init(d), 0);
	assert_int_equal(timestore_init(d), 0);	/* idempotent */
	assert_int_equal(timestore_latest(d, &got), 1);
	t_clock(&c, S);
	t_policy(&p);
	assert_int_equal(drift_check(&got, &c, &p, why, sizeof(why)), DRIFT_UNAUTH);
	/* a sample as the signer records it */
	t_sample(&s);
	memset(s.reqid, 0x5a, sizeof(s.reqid));
	s.rtt_ns = -1;
	assert_int_equal(timestore_add(d, &s), 0);
	assert_int_equal(timestore_latest(d, &got), 1);
	assert_true(got.webdb_ns == T0 && got.mono_ns == M0 && got.auth == 1);
	assert_true(got.rtt_ns == -1 && got.rtt_prev_ns == 80 * MS);
	assert_string_equal(got.boot_id, "boot-a");
	assert_int_equal(got.has_reqid, 1);
	/* the client's report fills in the round trip, once */
	assert_int_equal(timestore_set_rtt(d, s.reqid, 120 * MS), 0);
	assert_int_equal(timestore_set_rtt(d, s.reqid, 999 * MS), 0);
	assert_int_equal(timestore_latest(d, &got), 1);
	assert_true(got.rtt_ns == 120 * MS);
	assert_int_equal(drift_check(&got, &c, &p, why, sizeof(why)), DRIFT_OK);
	assert_true(drift_webdb_now(&got, &c) == T0 + 60 * MS + S);
	/* a row put in by hand, even newest, is refused */
	t_exec(path, "INSERT INTO time_samples (webdb_ns, local_ns, mono_ns, "
	    "sync, boot_id) VALUES (1795000000000000000, 1795000000000000000, "
	    "1000000000000, 1, 'boot-a')");
	assert_int_equal(timestore_latest(d, &got), 1);
	assert_int_equal(drift_check(&got, &c, &p, why, sizeof(why)), DRIFT_UNAUTH);
	/* nor can a report give it a round trip */
	t_exec(path, "UPDATE time_samples SET reqid = x'00112233445566778899aabbccddeeff'"
	    " WHERE auth = 0");
	memcpy(s.reqid, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb"
	    "\xcc\xdd\xee\xff", sizeof(s.reqid));
	assert_int_equal(timestore_set_rtt(d, s.reqid, 5 * MS), 0);
	assert_int_equal(timestore_latest(d, &got), 1);
	assert_int_equal(got.auth, 0);
	assert_true(got.rtt_ns == -1);
	db_close(d);
}

static int
setup(void **state)
{
	(void)state;
	log_init("test_timesync", LOG_TO_STDERR, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_timesync.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compensation),
		cmocka_unit_test(test_compensation_estimate),
		cmocka_unit_test(test_wait_and_step),
		cmocka_unit_test(test_usable),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_unauthenticated),
		cmocka_unit_test(test_other_boot),
		cmocka_unit_test(test_unsynchronised),
		cmocka_unit_test(test_implausible),
		cmocka_unit_test(test_big_step),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_trend),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_clock_file),
		cmocka_unit_test(test_store),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
