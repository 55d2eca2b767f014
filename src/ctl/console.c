/*
 * console.c: airlockctl's operator commands on the signer host: status,
 * queue and show here; retry, reject, prune, certs and time in
 * console_ops.c; the audit commands in console_audit.c, the full-screen
 * view in top.c.
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
#include <unistd.h>

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

const char *
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
/* How far webdb's mirror of the audit chain has got (its last fetch). */
static void
console_status_mirror(struct db *ca, int64_t head, int64_t now)
{
	int64_t seq, when;
	int agrees;
	char age[32];

	if (audit_mirror_get(ca, &seq, &when, &agrees) != 1) {
		printf("        webdb has mirrored none of them yet\n");
		return;
	}
	printf("        webdb holds %lld of them (%lld behind), said %s ago%s\n",
	    (long long)seq, (long long)(head > seq ? head - seq : 0),
	    console_age(now - when, age, sizeof(age)),
	    agrees ? "" : "; ITS COPY DIFFERS from this chain");
}

/* After airlockctl restore: the catch-up's progress (signer_restore.c). */
static void
console_status_restore(struct db *ca)
{
	struct buf v;
	int pending = audit_restore_pending(ca);

	buf_init(&v);
	if (audit_state_get(ca, "restore_progress", &v) == 1 && buf_put_u8(&v, 0) == 0)
		printf("restore %s: %s\n", pending ? "CATCH-UP RUNNING, nothing is "
		    "signed; received so far" : "catch-up finished", (const char *)v.p);
	else if (pending)
		printf("restore RESTORED FROM A BACKUP: nothing is signed until webdb "
		    "has sent back what it holds (it starts once the link is up)\n");
	buf_free(&v);
}

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
	int64_t size;
	int i, checked = 0;

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
		console_status_mirror(c.ca, s.audit_seq, s.now);
		console_status_restore(c.ca);
	}
	if (c.ca != NULL && (checked = castore_check_bounded(c.ca, cfg->ca_db,
	    &size)) == -1) {
		db_close(c.ca);
		c.ca = NULL;
	}
	if (c.ca != NULL && checked == 0)
		printf("  integrity: not checked here, %s is %lld MB (airlock-"
		    "signerd makes it at every start, airlockctl audit verify "
		    "on demand)\n", cfg->ca_db, (long long)(size >> 20));
	if (c.ca == NULL && access(cfg->ca_db, F_OK) == 0) {
		/* damaged or unreadable: castore_open logged why */
		printf("storage\n  %s: DAMAGED or unreadable (see the line "
		    "above); the signer does not start on it\n", cfg->ca_db);
		console_close(&c);
		return CONSOLE_FAIL;
	}
	health_show(cfg->run_dir, stdout);	/* the daemons' storage errors */
	if (s.time_warn) {
		printf("warning: time:\n");
		text_wrap(s.time_why, 2, 76);
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

void
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
