/*
 * console.c: airlockctl's operator commands on the signer host: status,
 * queue, show, retry, reject, prune, certs and time (the audit commands are
 * in console_audit.c, the full-screen view in top.c).
 *
 * The console reads queue.db and ca.db read-only and linkd's status file
 * (transport_publish). Three commands write, and only when the operator
 * asks: retry puts a request that is not answered back to "received" in
 * queue.db (linkd hands such rows to the signer within a second); reject
 * records the operator's final ERROR 400 in ca.db, where the signer finds
 * it and answers with it, then does the same. Both append an audit record
 * first thing after the change, in ca.db. Answered requests are never
 * changed: webdb may already hold their answer. prune deletes at once what
 * linkd and the signer would prune at their next hourly run (finished
 * requests, CRL answers), with an audit record when it deleted anything.
 * Everything fits 80 columns and needs no colour; exit codes are those of
 * console.h.
 */
#include <err.h>
#include <errno.h>
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

#define CONSOLE_SAMPLES		1000	/* time samples for the drift trend */
#define CONSOLE_LINK_STALE	10	/* seconds: linkd writes every second */
#define CONSOLE_REASON_MAX	200

const char *
console_age(int64_t a, char *out, size_t n)
{
	if (a < 0)
		snprintf(out, n, "-");
	else if (a < 120)
		snprintf(out, n, "%llds", (long long)a);
	else if (a < 7200)
		snprintf(out, n, "%lldm", (long long)a / 60);
	else if (a < 172800)
		snprintf(out, n, "%lldh", (long long)a / 3600);
	else
		snprintf(out, n, "%lldd", (long long)a / 86400);
	return out;
}

const char *
console_stamp(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(out, n, "-");
	else
		strftime(out, n, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return out;
}

static const char *
console_date(int64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, n, "-");
	else
		strftime(out, n, "%Y-%m-%d %H:%M", &tm);
	return out;
}

void
console_open(struct console *c, const struct cfg *cfg)
{
	c->cfg = cfg;
	if (queue_open(cfg->queue_db, 1, &c->q) == -1)
		c->q = NULL;
	if (castore_open(cfg->ca_db, 1, &c->ca) == -1)
		c->ca = NULL;
}

void
console_close(struct console *c)
{
	db_close(c->q);
	db_close(c->ca);
	c->q = c->ca = NULL;
}

/* --- linkd's status file --- */

static void
console_link_kv(struct console_link *l, const char *k, const char *v)
{
	static const struct {
		const char	*key;
		size_t		 off;
	} keys[] = {
		{ "sessions", offsetof(struct console_link, sessions) },
		{ "frames_in", offsetof(struct console_link, frames_in) },
		{ "frames_out", offsetof(struct console_link, frames_out) },
		{ "retransmits", offsetof(struct console_link, retransmits) },
		{ "bad_crc", offsetof(struct console_link, bad_crc) },
		{ "bad_mac", offsetof(struct console_link, bad_mac) },
		{ "msgs_in", offsetof(struct console_link, msgs_in) },
		{ "msgs_out", offsetof(struct console_link, msgs_out) },
	};
	size_t i;

	if (strcmp(k, "state") == 0)
		snprintf(l->state, sizeof(l->state), "%s", v);
	else if (strcmp(k, "srtt_ms") == 0)
		l->srtt_ms = atoi(v);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(k, keys[i].key) == 0)
			*(unsigned long long *)(void *)((char *)l + keys[i].off) =
			    strtoull(v, NULL, 10);
}

/* "link state=up sessions=3 ..." */
static void
console_link_line(struct console_link *l, char *line)
{
	char *tok, *save = NULL, *eq;

	for (tok = strtok_r(line + 5, " \n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \n", &save))
		if ((eq = strchr(tok, '=')) != NULL) {
			*eq = '\0';
			console_link_kv(l, tok, eq + 1);
		}
}

int
console_link_read(const char *path, struct console_link *l)
{
	char line[2048];
	long long updated = 0;
	FILE *f;

	memset(l, 0, sizeof(*l));
	if (path[0] == '\0' || (f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "pid %lld", &l->pid) == 1 ||
		    sscanf(line, "updated %lld", &updated) == 1 ||
		    sscanf(line, "transport %15s", l->transport) == 1 ||
		    sscanf(line, "cable %15s", l->cable) == 1)
			continue;
		if (strncmp(line, "link ", 5) == 0)
			console_link_line(l, line);
	}
	fclose(f);
	l->known = 1;
	l->age = (long long)time(NULL) - updated;
	return 0;
}

/* --- the snapshot --- */

struct console_samples {
	struct time_sample *v;
	size_t		 n;
};

static int
console_sample_add(void *arg, const struct time_sample *s)
{
	struct console_samples *a = arg;

	a->v[a->n++] = *s;
	return 0;
}

static void
console_trend(struct console *c, struct console_snap *s)
{
	struct console_samples a;

	if ((a.v = calloc(CONSOLE_SAMPLES, sizeof(*a.v))) == NULL)
		return;
	a.n = 0;
	if (timestore_recent(c->ca, CONSOLE_SAMPLES, console_sample_add, &a) == 0 &&
	    drift_trend(a.v, a.n, &s->sample, &s->trend) == 0)
		s->trend_ok = 1;
	free(a.v);
}

static void
console_time_snap(struct console *c, struct console_snap *s)
{
	struct drift_policy p;
	int r;

	drift_policy_of(c->cfg, &p);
	p.allow_step = 1;
	s->time_warn = 1;
	if (drift_clock_read(&s->clock) == -1 ||
	    (r = timestore_latest(c->ca, &s->sample)) == -1) {
		snprintf(s->time_why, sizeof(s->time_why), "cannot read the time "
		    "samples in %s", c->cfg->ca_db);
		s->verdict = DRIFT_NONE;
		return;
	}
	s->time_ok = r == 1;
	s->verdict = drift_check(r == 1 ? &s->sample : NULL, &s->clock, &p,
	    s->time_why, sizeof(s->time_why));
	if (!s->time_ok)
		return;
	s->offset_now = s->verdict == DRIFT_OK || s->verdict == DRIFT_STALE ||
	    s->verdict == DRIFT_UNSYNC;
	s->offset_ns = s->offset_now ? drift_offset_now(&s->sample, &s->clock) :
	    drift_offset_at(&s->sample);
	s->time_warn = s->verdict != DRIFT_OK || drift_abs(s->offset_ns) > p.warn_ns;
	if (s->verdict == DRIFT_OK && drift_abs(s->offset_ns) > p.warn_ns)
		snprintf(s->time_why, sizeof(s->time_why), "the signer's clock is "
		    "more than time.warn_offset (%u s) off webdb's",
		    c->cfg->time_warn_offset);
	console_trend(c, s);
}

void
console_snap(struct console *c, struct console_snap *s)
{
	int64_t oldest;

	memset(s, 0, sizeof(*s));
	s->now = time(NULL);
	console_link_read(c->cfg->link.status_file, &s->link);
	if (c->q != NULL && queue_counts(c->q, s->n, &oldest) == 0) {
		s->queue_ok = 1;
		s->oldest = oldest;
		queue_rate(c->q, s->now - 60, &s->rate_1m);
		queue_rate(c->q, s->now - 600, &s->rate_10m);
		queue_rate(c->q, s->now - 3600, &s->rate_1h);
	}
	if (c->ca == NULL) {
		snprintf(s->time_why, sizeof(s->time_why), "%s cannot be read",
		    c->cfg->ca_db);
		s->time_warn = 1;
		return;
	}
	s->certs = castore_cert_count(c->ca, NULL);
	s->ca_ok = s->certs >= 0;
	s->audit_ok = audit_last_seq(c->ca, &s->audit_seq) == 0;
	console_time_snap(c, s);
}

/* --- status --- */

/* What pruning keeps; the oldest finished request shows that it runs. */
static void
console_status_retention(struct db *q, const struct cfg *cfg, time_t now)
{
	char age[16];
	int64_t t;

	if (cfg->signer_retention_days == 0) {
		printf("  retention: none, delivered and failed requests stay "
		    "for ever\n");
		return;
	}
	if (queue_oldest_finished(q, &t) == -1)
		return;
	printf("  retention: %u days; the oldest delivered or failed: %s\n",
	    cfg->signer_retention_days, t ? console_age(now - t, age, sizeof(age)) :
	    "-");
}

static void
console_status_link(const struct console_snap *s)
{
	const struct console_link *l = &s->link;
	char age[16];

	if (!l->known) {
		printf("link    no status file from linkd: has it run?\n");
		return;
	}
	console_age(l->age, age, sizeof(age));
	if (l->age > CONSOLE_LINK_STALE)
		printf("link    linkd silent for %s (last: link %s): is it "
		    "running?\n", age, l->state[0] ? l->state : "?");
	else
		printf("link    %s: cable %s (%s), %llu sessions, srtt %d ms "
		    "(linkd pid %lld)\n", l->state, l->cable, l->transport,
		    l->sessions, l->srtt_ms, l->pid);
}

static void
console_status_time(const struct console_snap *s)
{
	char off[32], age[16], rtt[32];
	int64_t r = s->time_ok ? drift_rtt(&s->sample) : -1;

	if (!s->time_ok) {
		printf("time    no sample yet\n");
		return;
	}
	if (r >= 0)
		snprintf(rtt, sizeof(rtt), ", round trip %.3f s", (double)r / 1e9);
	else
		snprintf(rtt, sizeof(rtt), ", round trip unknown");
	printf("time    signer %s from webdb%s; sample %s old%s\n",
	    drift_fmt_offset(s->offset_ns, off, sizeof(off)),
	    s->offset_now ? "" : " (at the sample)",
	    s->verdict == DRIFT_REBOOT ? "(before boot)" :
	    console_age((s->clock.mono_ns - s->sample.mono_ns) / DRIFT_NS, age,
	    sizeof(age)), rtt);
	printf("        webdb's NTP: %s\n", drift_sync_name(s->sample.sync));
}

int
console_status(const struct cfg *cfg, int argc, char **argv)
{
	struct console c;
	struct console_snap s;
	char age[16], now[40];
	int i;

	(void)argv;
	if (argc != 1)
		return CONSOLE_USAGE;
	console_open(&c, cfg);
	if (c.q == NULL)
		errx(CONSOLE_FAIL, "%s: cannot open the queue database", cfg->queue_db);
	console_snap(&c, &s);
	printf("airlock signer host, %s\n", console_stamp(s.now, now, sizeof(now)));
	console_status_link(&s);
	printf("queue %s\n", cfg->queue_db);
	for (i = 0; i < Q_NSTATES; i++)
		printf("  %-10s %8lld\n", queue_state_name(i), (long long)s.n[i]);
	printf("  oldest pending: %s\n", s.oldest ? console_age(s.now - s.oldest,
	    age, sizeof(age)) : "-");
	printf("  received: %lld in the last minute, %lld in 10 minutes, %lld in "
	    "an hour\n", (long long)s.rate_1m, (long long)s.rate_10m,
	    (long long)s.rate_1h);
	console_status_retention(c.q, cfg, s.now);
	if (c.ca != NULL) {
		printf("ca %s\n  certificates %lld\n", cfg->ca_db, (long long)s.certs);
		for (i = 0; i < cfg->nroots; i++)
			printf("  root %-20s %8lld issued\n", cfg->roots[i].name,
			    (long long)castore_cert_count(c.ca, cfg->roots[i].name));
		console_status_time(&s);
		if (s.audit_ok)
			printf("audit   %lld records (airlockctl audit verify "
			    "checks them)\n", (long long)s.audit_seq);
	}
	health_show(cfg->run_dir, stdout);	/* the daemons' storage errors */
	if (s.time_warn) {
		printf("warning: time:\n");
		console_wrap(s.time_why, 2, 76);
	}
	console_close(&c);
	return CONSOLE_OK;
}

/* --- queue --- */

struct console_list {
	int		 n;
	int		 reasons;	/* print the error of failed rows */
	time_t		 now;
};

static void
console_queue_row(void *arg, const struct queue_item *it)
{
	struct console_list *l = arg;
	char id[33], age[16], wait[16];

	reqid_hex(it->reqid, id);
	console_age(l->now - it->received, age, sizeof(age));
	console_age(l->now - it->updated, wait, sizeof(wait));
	printf("%-32s %-9s %-9s %5s %5s %.14s\n", id, msg_type_name(it->type),
	    queue_state_name(it->state), age, wait, it->root);
	if (l->reasons && it->state == Q_FAILED)
		printf("    %d %.72s\n", it->code, it->reason);
	l->n++;
}

static void
console_queue_section(struct db *q, const char *title, int state, int max,
    int64_t total)
{
	struct console_list l = { 0, 1, time(NULL) };

	printf("%s: %lld%s\n", title, (long long)total, total > max ?
	    " (the most recent are listed)" : "");
	if (total > 0 && queue_list(q, state, max, console_queue_row, &l) == -1)
		errx(CONSOLE_FAIL, "cannot read the queue");
}

static const char console_queue_head[] =
    "REQUEST                          TYPE      STATE       AGE  SINCE ROOT\n";

int
console_queue(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct console_list l = { 0, 1, time(NULL) };
	int64_t n[Q_NSTATES], oldest;
	int ch, state = -1, max = 20, i;
	struct db *q;
	char *end;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			for (i = 0; i < Q_NSTATES; i++)
				if (strcmp(optarg, queue_state_name(i)) == 0)
					state = i;
			if (state == -1)
				errx(CONSOLE_USAGE, "unknown state \"%s\" (received, "
				    "handed, answered, delivered, failed)", optarg);
			break;
		case 'n':
			max = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || max < 1)
				errx(CONSOLE_USAGE, "-n needs a number above 0");
			break;
		default:
			return CONSOLE_USAGE;
		}
	}
	if (optind != argc)
		return CONSOLE_USAGE;
	if (queue_open(cfg->queue_db, 1, &q) == -1 || queue_counts(q, n, &oldest) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the queue database", cfg->queue_db);
	printf("%s", console_queue_head);
	if (state >= 0) {
		if (queue_list(q, state, max, console_queue_row, &l) == -1)
			errx(CONSOLE_FAIL, "%s: cannot read the queue", cfg->queue_db);
	} else {
		console_queue_section(q, "pending (received, not yet at the signer)",
		    Q_RECEIVED, max, n[Q_RECEIVED]);
		console_queue_section(q, "in flight (handed to the signer)",
		    Q_HANDED, max, n[Q_HANDED]);
		console_queue_section(q, "failed (final error answers)",
		    Q_FAILED, max, n[Q_FAILED]);
		printf("answered %lld, delivered %lld; AGE: since received, SINCE: "
		    "since the last change\n", (long long)n[Q_ANSWERED],
		    (long long)n[Q_DELIVERED]);
	}
	db_close(q);
	return CONSOLE_OK;
}

/* --- show --- */

static void
console_parse_id(const char *hex, uint8_t reqid[AIRLOCK_REQID_LEN])
{
	if (strlen(hex) != 2 * AIRLOCK_REQID_LEN ||
	    hex_decode(hex, reqid, AIRLOCK_REQID_LEN) == -1)
		errx(CONSOLE_USAGE, "\"%.40s\": a request id is 32 hex digits", hex);
}

static int
console_show_audit(void *arg, const struct audit_rec *r)
{
	char when[24];

	(void)arg;
	printf("audit    #%lld %s %s by %s\n", (long long)r->seq, r->kind,
	    console_date(r->time, when, sizeof(when)), r->actor);
	return 0;
}

static void
console_show_cert(const struct msg *m)
{
	struct ca_certinfo ci;
	char why[256], serial[41], when[24];

	if (ca_cert_info(m->cert.p, m->cert.len, NULL, &ci, why, sizeof(why)) == -1) {
		printf("cert     does not parse: %s\n", why);
		return;
	}
	hex_encode(ci.serial, ci.serial_len, serial);
	printf("serial   %s\nexpires  %s\nsubject  %.70s\n", serial,
	    console_date(ci.not_after, when, sizeof(when)), ci.subject);
	ca_certinfo_free(&ci);
}

/* What ca.db says: the signer's answer and the audit records. */
static void
console_show_ca(const struct cfg *cfg, const uint8_t *reqid)
{
	struct buf ans;
	struct db *ca;
	struct msg m;
	int r;

	if (castore_open(cfg->ca_db, 1, &ca) == -1)
		return;
	buf_init(&ans);
	r = castore_answer(ca, reqid, &ans);
	if (r == 1 && msg_decode(ans.p, ans.len, &m) == AL_OK) {
		printf("signer   answered %s\n", msg_type_name(m.type));
		if (m.type == MSG_CERT)
			console_show_cert(&m);
	} else if (r == 0)
		printf("signer   no answer recorded\n");
	audit_each(ca, 0, 0, reqid, console_show_audit, NULL);
	buf_free(&ans);
	db_close(ca);
}

static void
console_show_req(const struct queue_item *it, const struct buf *req,
    const struct buf *ans, time_t now)
{
	char age[16], since[16], when[24];
	struct msg m;

	printf("type     %s\nroot     %s\nstate    %s (for %s)\nreceived %s (%s "
	    "ago)\n", msg_type_name(it->type), it->root[0] ? it->root : "-",
	    queue_state_name(it->state), console_age(now - it->updated, since,
	    sizeof(since)), console_date(it->received, when, sizeof(when)),
	    console_age(now - it->received, age, sizeof(age)));
	if (msg_decode(req->p, req->len, &m) == AL_OK && m.type == MSG_SIGN)
		printf("profile  %.*s\ndays     %u%s\ncsr      %zu bytes\n",
		    (int)m.profile.len, m.profile.p, m.days, m.days ? "" :
		    " (the profile's default)", m.csr.len);
	if (ans->len && msg_decode(ans->p, ans->len, &m) == AL_OK) {
		printf("answer   %s (%zu bytes)\n", msg_type_name(m.type), ans->len);
		if (m.type == MSG_ERROR)
			printf("error    %u %.*s\n", m.code, (int)(m.text.len > 68 ?
			    68 : m.text.len), m.text.p);
	}
}

int
console_show(const struct cfg *cfg, int argc, char **argv)
{
	uint8_t reqid[AIRLOCK_REQID_LEN];
	struct queue_item it;
	struct buf req, ans;
	struct db *q;
	int r;

	if (argc != 2)
		return CONSOLE_USAGE;
	console_parse_id(argv[1], reqid);
	if (queue_open(cfg->queue_db, 1, &q) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the queue database", cfg->queue_db);
	buf_init(&req);
	buf_init(&ans);
	if ((r = queue_get(q, reqid, &it, &req, &ans)) != 1)
		errx(CONSOLE_FAIL, "%s: %s", argv[1], r == 0 ? "no such request" :
		    db_last_error(q));
	printf("request  %s\n", argv[1]);
	console_show_req(&it, &req, &ans, time(NULL));
	console_show_ca(cfg, reqid);
	if (it.state <= Q_HANDED)
		printf("actions  airlockctl retry %.8s... | reject %.8s... "
		    "--reason TEXT\n", argv[1], argv[1]);
	buf_free(&req);
	buf_free(&ans);
	db_close(q);
	return CONSOLE_OK;
}

/* --- retry and reject --- */

/* The request, which must be unanswered; exits with a sentence if not. */
static struct db *
console_pending(const struct cfg *cfg, const char *hex, const uint8_t *reqid,
    struct queue_item *it)
{
	struct db *q;
	int r;

	if (queue_open(cfg->queue_db, 0, &q) == -1)
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
	if (castore_open(cfg->ca_db, 0, &ca) == -1 || audit_init(ca) == -1)
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
	    queue_open(cfg->queue_db, 0, &q) == -1)
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
	size_t		 max, total;
	struct console_cert *ring;	/* the last max certificates */
};

static int
console_cert_add(void *arg, const struct castore_row *r)
{
	struct console_certs *c = arg;
	struct console_cert *e;
	size_t n;

	if (r->not_before < c->since)
		return 0;
	e = &c->ring[c->total++ % c->max];
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
	size_t i, n = c->total < c->max ? c->total : c->max;
	time_t now = time(NULL);

	printf("%-32s %-10s %-10s %s\n", "SERIAL", "ISSUED", "EXPIRES", "STATUS");
	for (i = c->total - n; i < c->total; i++) {
		e = &c->ring[i % c->max];
		console_date(e->not_before, nb, sizeof(nb));
		console_date(e->not_after, na, sizeof(na));
		printf("%-32.32s %-10.10s %-10.10s %s\n    %s\n", e->serial, nb, na,
		    e->revoked ? "revoked" : e->not_after < now ? "expired" :
		    "valid", e->subject);
	}
	printf("%zu certificates%s\n", c->total, c->total > n ?
	    "; the most recent are listed (-n for more)" : "");
}

int
console_certs(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct console_certs c = { 0, 50, 0, NULL };
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
	    castore_each_cert(ca, root, console_cert_add, &c) == -1)
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
		console_wrap(s.time_why, 15, 64);
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
