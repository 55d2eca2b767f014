/*
 * console_ops.c: airlockctl's commands that change or list more than the
 * snapshot: retry, reject, prune, certs and time (console.c has status,
 * queue and show, and the rules all of them follow).
 */
#include <err.h>
#include <errno.h>
#include <unistd.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "audit.h"
#include "ca.h"
#include "console.h"
#include "health.h"
#include "msg.h"
#include "retention.h"
#include "timesync.h"
#include "queue.h"
#include "castore.h"

#define CONSOLE_SAMPLES		1000	/* time samples for the drift trend */
#define CONSOLE_LINK_STALE	10	/* seconds: linkd writes every second */
#define CONSOLE_REASON_MAX	200


/* --- retry and reject --- */

/* The request, which must be unanswered; exits with a sentence if not. */
static struct db *
console_pending(const struct cfg *cfg, const char *hex, const uint8_t *reqid,
    struct queue_item *it)
{
	struct db *q;
	int r;

	/* never created here: a queue.db made by root would shut linkd out */
	if (access(cfg->queue_db, F_OK) == -1)
		err(CONSOLE_FAIL, "%s: no queue database (airlock-linkd makes it "
		    "at its first start), so there is no request to act on",
		    cfg->queue_db);
	if (queue_open(cfg->queue_db, DB_RW_EXISTING, &q) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the queue database for writing",
		    cfg->queue_db);
	if ((r = queue_get(q, reqid, it, NULL, NULL)) != 1)
		errx(CONSOLE_FAIL, "%s: %s", hex, r == 0 ? "no such request" :
		    db_last_error(q));
	if (it->state == Q_FAILED)
		errx(CONSOLE_FAIL, "%s has failed with a final answer (%d %.60s); "
		    "webdb may already have it, so it stays as it is: the web "
		    "application must submit a new request", hex, it->code, it->reason);
	if (it->state >= Q_ANSWERED)
		errx(CONSOLE_FAIL, "%s is already answered (%s); there is nothing "
		    "to do", hex, queue_state_name(it->state));
	return q;
}

/* ca.db for writing; it must exist (the signer creates it). */
static struct db *
console_ca_rw(const struct cfg *cfg)
{
	struct stat sb;
	struct db *ca;

	if (stat(cfg->ca_db, &sb) == -1)
		err(CONSOLE_FAIL, "%s", cfg->ca_db);
	if (castore_open(cfg->ca_db, DB_RW_EXISTING, &ca) == -1 || audit_init(ca) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the CA database for writing",
		    cfg->ca_db);
	return ca;
}

int
console_retry(const struct cfg *cfg, int argc, char **argv)
{
	uint8_t reqid[AIRLOCK_REQID_LEN];
	struct queue_item it;
	struct db *q, *ca;
	char actor[AUDIT_ACTOR_MAX], age[16];
	int64_t seq;

	if (argc != 2)
		return CONSOLE_USAGE;
	console_parse_id(argv[1], reqid);
	q = console_pending(cfg, argv[1], reqid, &it);
	ca = console_ca_rw(cfg);
	if (queue_requeue(q, reqid) != 1)
		errx(CONSOLE_FAIL, "%s: its state changed meanwhile; look again "
		    "with airlockctl show", argv[1]);
	audit_actor("airlockctl", actor, sizeof(actor));
	console_age(time(NULL) - it.updated, age, sizeof(age));
	if ((seq = audit_addf(ca, AUDIT_OPERATOR, reqid, it.root, actor, "retry: "
	    "%s request, %s for %s, handed to the signer again",
	    msg_type_name(it.type), queue_state_name(it.state), age)) == -1)
		errx(CONSOLE_FAIL, "%s: queued again, but the audit record could "
		    "not be written: %s", argv[1], db_last_error(ca));
	printf("%s: queued for the signer again (it was %s for %s); audit "
	    "record %lld\n", argv[1], queue_state_name(it.state), age, (long long)seq);
	printf("linkd hands it over within a second while the signer is up\n");
	db_close(ca);
	db_close(q);
	return CONSOLE_OK;
}

static void
console_reason_ok(const char *r)
{
	size_t n = strlen(r), i;

	if (n == 0 || n > CONSOLE_REASON_MAX)
		errx(CONSOLE_USAGE, "--reason needs 1 to %d characters",
		    CONSOLE_REASON_MAX);
	for (i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			errx(CONSOLE_USAGE, "--reason must be printable text on "
			    "one line");
}

/* The ERROR 400 answer; the codec checks the text is UTF-8. */
static void
console_reject_answer(const uint8_t *reqid, const char *reason, struct buf *b)
{
	char text[CONSOLE_REASON_MAX + 64];
	struct msg m;

	snprintf(text, sizeof(text), "rejected by the operator: %s", reason);
	msg_error(&m, reqid, AL_E_OPERATOR, text);
	if (msg_encode(&m, b) == -1 || msg_decode(b->p, b->len, &m) != AL_OK)
		errx(CONSOLE_USAGE, "--reason is not valid UTF-8 text");
}

/* One transaction in ca.db: the answer and its audit record. */
static int64_t
console_reject_record(struct db *ca, const char *hex, const struct queue_item *it,
    const struct buf *ans, const char *reason)
{
	char actor[AUDIT_ACTOR_MAX];
	struct buf old;
	struct msg m;
	int64_t seq;

	buf_init(&old);
	if (castore_begin(ca) == -1)
		errx(CONSOLE_FAIL, "%s: %s", hex, db_last_error(ca));
	if (castore_answer(ca, it->reqid, &old) != 0) {
		castore_rollback(ca);
		if (msg_decode(old.p, old.len, &m) != AL_OK)
			m.type = 0;
		errx(CONSOLE_FAIL, "the signer has already answered %s (%s); "
		    "airlockctl retry delivers that answer", hex, msg_type_name(m.type));
	}
	audit_actor("airlockctl", actor, sizeof(actor));
	if (castore_record(ca, it->reqid, it->type, it->root, AL_E_OPERATOR, ans->p,
	    ans->len, NULL) == -1 || (seq = audit_addf(ca, AUDIT_OPERATOR, it->reqid,
	    it->root, actor, "reject: %s request: %s", msg_type_name(it->type),
	    reason)) == -1 || castore_commit(ca) == -1) {
		castore_rollback(ca);
		errx(CONSOLE_FAIL, "%s: cannot record the rejection: %s", hex,
		    db_last_error(ca));
	}
	buf_free(&old);
	return seq;
}

int
console_reject(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t reqid[AIRLOCK_REQID_LEN];
	const char *reason = NULL;
	struct queue_item it;
	struct db *q, *ca;
	struct buf ans;
	int64_t seq;
	int ch;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return CONSOLE_USAGE;
		reason = optarg;
	}
	if (optind != argc - 1 || reason == NULL)
		errx(CONSOLE_USAGE, "usage: airlockctl reject ID --reason TEXT");
	console_parse_id(argv[optind], reqid);
	console_reason_ok(reason);
	buf_init(&ans);
	console_reject_answer(reqid, reason, &ans);
	q = console_pending(cfg, argv[optind], reqid, &it);
	ca = console_ca_rw(cfg);
	seq = console_reject_record(ca, argv[optind], &it, &ans, reason);
	printf("%s: rejected with error %d; audit record %lld\n", argv[optind],
	    AL_E_OPERATOR, (long long)seq);
	if (queue_requeue(q, reqid) == 1)
		printf("linkd hands it to the signer, which answers with the "
		    "rejection, and webdb gets it over the link\n");
	else
		printf("the signer answers with the rejection whenever the "
		    "request reaches it again\n");
	buf_free(&ans);
	db_close(ca);
	db_close(q);
	return CONSOLE_OK;
}

/* --- prune --- */

/* A whole run on one database; prints what went. */
static int
console_prune_one(struct db *d, retention_fn fn, const char *path,
    const char *rows, uint32_t days, int64_t *n)
{
	struct retention r;

	retention_init(&r, d, fn, path, rows, days, 0);
	if (retention_run(&r, time(NULL), n) == -1) {
		printf("%s: pruning stopped by the error above after %lld %s\n",
		    path, (long long)*n, rows);
		return -1;
	}
	printf("pruned %lld %s older than %u days from %s\n", (long long)*n, rows,
	    days, path);
	return 0;
}

/* A database the daemon has not made yet has nothing to prune. */
static int
console_prune_exists(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0)
		return 1;
	printf("%s: %s; nothing to prune there\n", path, strerror(errno));
	return 0;
}

int
console_prune(const struct cfg *cfg, int argc, char **argv)
{
	uint32_t days = cfg->signer_retention_days;
	char actor[AUDIT_ACTOR_MAX];
	struct db *q = NULL, *ca = NULL;
	int64_t nq = 0, nca = 0;
	int rv = CONSOLE_OK;

	(void)argv;
	if (argc != 1)
		return CONSOLE_USAGE;
	if (days == 0) {
		printf("signer.retention_days is 0: everything is kept for ever; "
		    "nothing pruned\n");
		return CONSOLE_OK;
	}
	if (console_prune_exists(cfg->queue_db) &&
	    queue_open(cfg->queue_db, DB_RW_EXISTING, &q) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the queue database for "
		    "writing", cfg->queue_db);
	if (console_prune_exists(cfg->ca_db))
		ca = console_ca_rw(cfg);
	if (q != NULL && console_prune_one(q, queue_prune, cfg->queue_db,
	    "delivered or failed requests", days, &nq) == -1)
		rv = CONSOLE_FAIL;
	if (ca != NULL && console_prune_one(ca, castore_prune, cfg->ca_db,
	    "CRL answers", days, &nca) == -1)
		rv = CONSOLE_FAIL;
	audit_actor("airlockctl", actor, sizeof(actor));
	if (ca != NULL && nq + nca > 0 && audit_addf(ca, AUDIT_OPERATOR, NULL, "",
	    actor, "prune: %lld delivered or failed requests from queue.db, "
	    "%lld CRL answers from ca.db, older than %u days", (long long)nq,
	    (long long)nca, days) == -1) {
		printf("%s: the audit record could not be written: %s\n",
		    cfg->ca_db, db_last_error(ca));
		rv = CONSOLE_FAIL;
	}
	db_close(ca);
	db_close(q);
	return rv;
}

/* --- certs --- */

struct console_cert {
	char		 serial[41];
	int64_t		 not_before, not_after, revoked;
	char		 subject[76];
};

struct console_certs {
	int64_t		 since;
	size_t		 max, n;
	int64_t		 total;
	struct console_cert *ring;	/* the newest max, newest first */
};

static int
console_cert_add(void *arg, const struct castore_row *r)
{
	struct console_certs *c = arg;
	struct console_cert *e;
	size_t n;

	e = &c->ring[c->n++];
	n = r->serial_len < 20 ? r->serial_len : 20;
	hex_encode(r->serial, n, e->serial);
	e->not_before = r->not_before;
	e->not_after = r->not_after;
	e->revoked = r->revoked;
	snprintf(e->subject, sizeof(e->subject), "%s", r->subject ? r->subject : "");
	return 0;
}

/* "2026-11-01", "2026-11-01 12:00", or an age: "7d", "12h", "30m" */
static int64_t
console_since(const char *s)
{
	const char *fmts[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
	    "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	struct tm tm;
	char *end;
	long long n;
	size_t i;

	n = strtoll(s, &end, 10);
	if (end != s && n >= 0 && end[0] != '\0' && end[1] == '\0' &&
	    strchr("dhm", end[0]) != NULL)
		return (int64_t)time(NULL) - n * (end[0] == 'd' ? 86400 :
		    end[0] == 'h' ? 3600 : 60);
	for (i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(s, fmts[i], &tm)) != NULL && *end == '\0')
			return (int64_t)timegm(&tm);
	}
	errx(CONSOLE_USAGE, "--since \"%s\": give a date (2026-11-01, "
	    "\"2026-11-01 12:00\", UTC) or an age (7d, 12h, 30m)", s);
}

static void
console_certs_print(const struct console_certs *c)
{
	const struct console_cert *e;
	char nb[24], na[24];
	time_t now = time(NULL);
	size_t i;

	printf("%-32s %-10s %-10s %s\n", "SERIAL", "ISSUED", "EXPIRES", "STATUS");
	for (i = c->n; i-- > 0;) {	/* oldest first */
		e = &c->ring[i];
		console_date(e->not_before, nb, sizeof(nb));
		console_date(e->not_after, na, sizeof(na));
		printf("%-32.32s %-10.10s %-10.10s %s\n    %s\n", e->serial, nb, na,
		    e->revoked ? "revoked" : e->not_after < now ? "expired" :
		    "valid", e->subject);
	}
	printf("%lld certificates%s\n", (long long)c->total,
	    c->total > (int64_t)c->n ? "; the most recent are listed (-n for more)" : "");
}

int
console_certs(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct console_certs c = { 0, 50, 0, 0, NULL };
	const char *root = NULL;
	struct db *ca;
	char *end;
	int ch;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': root = optarg; break;
		case 's': c.since = console_since(optarg); break;
		case 'n':
			c.max = (size_t)strtoul(optarg, &end, 10);
			if (*end != '\0' || c.max == 0 || c.max > 100000)
				errx(CONSOLE_USAGE, "-n needs a number from 1 to 100000");
			break;
		default: return CONSOLE_USAGE;
		}
	}
	if (root == NULL || optind != argc)
		errx(CONSOLE_USAGE, "usage: airlockctl certs --root R [--since WHEN] [-n N]");
	if (config_root(cfg, root, strlen(root)) == NULL)
		errx(CONSOLE_FAIL, "root \"%s\" is not in %s", root, cfg->path);
	if ((c.ring = calloc(c.max, sizeof(*c.ring))) == NULL)
		err(CONSOLE_FAIL, "calloc");
	if (castore_open(cfg->ca_db, 1, &ca) == -1 ||
	    castore_each_recent(ca, root, c.since, c.max, console_cert_add,
	    &c) == -1 || (c.total = castore_count_since(ca, root, c.since)) < 0)
		errx(CONSOLE_FAIL, "%s: cannot read the certificates", cfg->ca_db);
	console_certs_print(&c);
	free(c.ring);
	db_close(ca);
	return CONSOLE_OK;
}

/* --- time --- */

static int
console_time_row(void *arg, const struct time_sample *t)
{
	const struct drift_clock *now = arg;
	char when[24], age[16], off[32], rtt[16];
	int64_t r = drift_rtt(t);

	if (r >= 0)
		snprintf(rtt, sizeof(rtt), "%7.3f", (double)r / 1e9);
	else
		snprintf(rtt, sizeof(rtt), "%7s", "-");
	printf("%7lld %-16s %6s %11s %s %-4s %s\n", (long long)t->id,
	    console_date(t->local_ns / DRIFT_NS, when, sizeof(when)),
	    strcmp(t->boot_id, now->boot_id) == 0 ? console_age((now->mono_ns -
	    t->mono_ns) / DRIFT_NS, age, sizeof(age)) : "boot-",
	    drift_fmt_offset(drift_offset_at(t), off, sizeof(off)), rtt,
	    t->sync == MSG_SYNC_YES ? "yes" : t->sync == MSG_SYNC_NO ? "NO" : "?",
	    t->auth ? "yes" : "NO");
	return 0;
}

static void
console_time_report(const struct cfg *cfg, const struct console_snap *s)
{
	char a[40], b[40];
	int64_t r = drift_rtt(&s->sample);

	printf("signer clock   %s\n", drift_fmt_time(s->clock.real_ns, a, sizeof(a)));
	if (s->offset_now)
		printf("webdb clock    %s (from sample %lld)\n", drift_fmt_time(
		    drift_webdb_now(&s->sample, &s->clock), a, sizeof(a)),
		    (long long)s->sample.id);
	printf("offset         %s: the signer is %s webdb%s\n", drift_fmt_offset(
	    s->offset_ns, a, sizeof(a)), s->offset_ns >= 0 ? "ahead of" : "behind",
	    s->offset_now ? "" : " (at the sample)");
	if (cfg->time_stop_offset)
		snprintf(b, sizeof(b), "pauses above %u s", cfg->time_stop_offset);
	printf("               (warn above %u s; signing %s)\n",
	    cfg->time_warn_offset, cfg->time_stop_offset ? b : "never pauses");
	if (r >= 0)
		printf("round trip     %.3f s, so the offset is known to +/- %.3f s\n",
		    (double)r / 1e9, (double)r / 2e9);
	else
		printf("round trip     not known yet (the next sample reports it)\n");
	printf("webdb's NTP    %s\n", drift_sync_name(s->sample.sync));
	if (s->trend_ok)
		printf("drift          %+.1f ppm, %+.2f s a day (%d samples over %s)\n",
		    s->trend.ppm, s->trend.ppm * 0.0864, s->trend.n, console_age(
		    (int64_t)s->trend.span_s, a, sizeof(a)));
	else
		printf("drift          not enough samples yet (a minute of them)\n");
}

int
console_time(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	struct console_snap s;
	struct console c;
	int ch, check = 0, n = 10;
	char *end;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (ch == 'C')
			check = 1;
		else if (ch == 'n' && (n = (int)strtol(optarg, &end, 10)) >= 0 &&
		    *end == '\0')
			continue;
		else
			errx(CONSOLE_USAGE, "usage: airlockctl time [--check] [-n N]");
	}
	if (optind != argc)
		errx(CONSOLE_USAGE, "usage: airlockctl time [--check] [-n N]");
	console_open(&c, cfg);
	if (c.ca == NULL)
		errx(CONSOLE_FAIL, "%s: cannot open the CA database", cfg->ca_db);
	console_snap(&c, &s);
	if (s.time_ok)
		console_time_report(cfg, &s);
	if (s.time_warn) {
		printf("state          WARNING:\n");
		text_wrap(s.time_why, 15, 64);
	} else
		printf("state          OK\n");
	if (s.time_ok && n > 0) {
		printf("\n%7s %-16s %6s %11s %7s %-4s %s\n", "SAMPLE", "RECEIVED (UTC)",
		    "AGE", "OFFSET THEN", "RTT", "NTP", "AUTH");
		timestore_recent(c.ca, n, console_time_row, &s.clock);
	}
	if (s.time_warn)
		printf("\nto correct the clock, as root (see airlock-timesync(8)):\n"
		    "  airlock-timesync -c %s\n", cfg->path);
	console_close(&c);
	return check && s.time_warn ? CONSOLE_WARN : CONSOLE_OK;
}
