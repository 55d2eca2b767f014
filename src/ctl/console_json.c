/*
 * console_json.c: `airlockctl --json` for status, queue, crl, time and
 * roots, for monitoring. One JSON object on one line per command, with
 * the same facts as the text and stable keys; times are Unix seconds,
 * durations seconds, offsets nanoseconds. Strings are escaped here
 * (control characters as \u00XX); nothing is printed before the object.
 */
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "castore.h"
#include "console.h"
#include "crlsign.h"
#include "msg.h"

static void
json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* "key":"value" with a leading comma unless first */
static void
json_kv_str(int *first, const char *k, const char *v)
{
	printf("%s\"%s\":", *first ? "" : ",", k);
	json_str(v);
	*first = 0;
}

static void
json_kv_int(int *first, const char *k, long long v)
{
	printf("%s\"%s\":%lld", *first ? "" : ",", k, v);
	*first = 0;
}

static void
json_kv_raw(int *first, const char *k, const char *raw)
{
	printf("%s\"%s\":%s", *first ? "" : ",", k, raw);
	*first = 0;
}

static void
json_link(const struct console_link *l)
{
	int f = 1;

	printf("\"link\":{");
	json_kv_raw(&f, "known", l->known ? "true" : "false");
	if (l->known) {
		json_kv_str(&f, "state", l->state);
		json_kv_str(&f, "cable", l->cable);
		json_kv_str(&f, "transport", l->transport);
		json_kv_int(&f, "age", l->age);
		json_kv_int(&f, "pid", l->pid);
		json_kv_int(&f, "sessions", (long long)l->sessions);
		json_kv_int(&f, "srtt_ms", l->srtt_ms);
		json_kv_int(&f, "retransmits", (long long)l->retransmits);
		json_kv_int(&f, "bad_crc", (long long)l->bad_crc);
		json_kv_int(&f, "bad_mac", (long long)l->bad_mac);
	}
	putchar('}');
}

static void
json_counts(const int64_t n[Q_NSTATES])
{
	int i, f = 1;

	printf("{");
	for (i = 0; i < Q_NSTATES; i++)
		json_kv_int(&f, queue_state_name(i), (long long)n[i]);
	putchar('}');
}

static void
json_time(const struct console_snap *s)
{
	int f = 1;

	printf("\"time\":{");
	json_kv_raw(&f, "sample", s->time_ok ? "true" : "false");
	if (s->time_ok) {
		json_kv_int(&f, "offset_ns", (long long)s->offset_ns);
		json_kv_raw(&f, "offset_now", s->offset_now ? "true" : "false");
		json_kv_int(&f, "sample_id", (long long)s->sample.id);
		json_kv_int(&f, "sample_received", (long long)(s->sample.local_ns /
		    1000000000));
		json_kv_int(&f, "round_trip_ns", (long long)drift_rtt(&s->sample));
		json_kv_str(&f, "webdb_ntp", drift_sync_name(s->sample.sync));
	}
	json_kv_raw(&f, "warning", s->time_warn ? "true" : "false");
	if (s->time_warn)
		json_kv_str(&f, "why", s->time_why);
	putchar('}');
}

static int
json_status(const struct cfg *cfg)
{
	struct console c;
	struct console_snap s;
	int64_t size;
	int f = 1;

	console_open(&c, cfg);
	if (c.ca != NULL && castore_check_bounded(c.ca, cfg->ca_db, &size) == -1) {
		db_close(c.ca);
		c.ca = NULL;
	}
	console_snap(&c, &s);
	printf("{");
	json_kv_int(&f, "now", (long long)s.now);
	putchar(',');
	json_link(&s.link);
	printf(",\"queue\":");
	if (s.queue_ok) {
		json_counts(s.n);
		printf(",\"oldest_pending\":%lld,\"received_1m\":%lld,"
		    "\"received_10m\":%lld,\"received_1h\":%lld", (long long)s.oldest,
		    (long long)s.rate_1m, (long long)s.rate_10m, (long long)s.rate_1h);
	} else
		printf("null");
	f = 0;
	json_kv_raw(&f, "ca_db", c.ca != NULL ? "\"ok\"" : access(cfg->ca_db,
	    F_OK) == 0 ? "\"damaged\"" : "\"missing\"");
	json_kv_int(&f, "certificates", s.ca_ok ? (long long)s.certs : -1);
	json_kv_int(&f, "audit_records", s.audit_ok ? (long long)s.audit_seq : -1);
	putchar(',');
	json_time(&s);
	printf("}\n");
	console_close(&c);
	return c.ca == NULL && access(cfg->ca_db, F_OK) == 0 ? CONSOLE_FAIL : CONSOLE_OK;
}

struct json_rows {
	int	first;
};

static void
json_queue_row(void *arg, const struct queue_item *it)
{
	struct json_rows *r = arg;
	char id[33];
	int f = 1;

	reqid_hex(it->reqid, id);
	printf("%s{", r->first ? "" : ",");
	r->first = 0;
	json_kv_str(&f, "id", id);
	json_kv_str(&f, "type", msg_type_name(it->type));
	json_kv_str(&f, "state", queue_state_name(it->state));
	json_kv_str(&f, "root", it->root);
	json_kv_int(&f, "received", (long long)it->received);
	json_kv_int(&f, "updated", (long long)it->updated);
	if (it->state == Q_FAILED) {
		json_kv_int(&f, "code", it->code);
		json_kv_str(&f, "reason", it->reason);
	}
	putchar('}');
}

static int
json_queue(const struct cfg *cfg)
{
	static const int shown[] = { Q_RECEIVED, Q_HANDED, Q_FAILED };
	struct json_rows r = { 1 };
	int64_t n[Q_NSTATES], oldest;
	struct db *q;
	size_t i;

	if (queue_open(cfg->queue_db, DB_RO, &q) == -1 ||
	    queue_counts(q, n, &oldest) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the queue database", cfg->queue_db);
	printf("{\"counts\":");
	json_counts(n);
	printf(",\"oldest_pending\":%lld,\"requests\":[", (long long)oldest);
	for (i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		if (queue_list(q, shown[i], 1000, json_queue_row, &r) == -1)
			errx(CONSOLE_FAIL, "%s: cannot read the queue", cfg->queue_db);
	printf("]}\n");
	db_close(q);
	return CONSOLE_OK;
}

static int
json_crl(const struct cfg *cfg)
{
	struct crlstore_crl cur;
	struct db *d;
	int i, f, r;

	if (castore_open(cfg->ca_db, DB_RO, &d) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the CA database", cfg->ca_db);
	printf("{\"roots\":[");
	for (i = 0; i < cfg->nroots; i++) {
		f = 1;
		printf("%s{", i ? "," : "");
		json_kv_str(&f, "root", cfg->roots[i].name);
		json_kv_int(&f, "pending", (long long)crlstore_pending(d,
		    cfg->roots[i].name));
		if ((r = crlstore_current(d, cfg->roots[i].name, &cur)) == 1) {
			json_kv_int(&f, "number", (long long)cur.number);
			json_kv_int(&f, "entries", (long long)cur.entries);
			json_kv_int(&f, "this_update", (long long)cur.this_update);
			json_kv_int(&f, "next_update", (long long)cur.next_update);
			json_kv_int(&f, "bytes", (long long)cur.der_len);
		} else
			json_kv_raw(&f, "number", "null");
		putchar('}');
	}
	printf("]}\n");
	db_close(d);
	return CONSOLE_OK;
}

static int
json_time_cmd(const struct cfg *cfg)
{
	struct console c;
	struct console_snap s;

	console_open(&c, cfg);
	if (c.ca == NULL)
		errx(CONSOLE_FAIL, "%s: cannot open the CA database", cfg->ca_db);
	console_snap(&c, &s);
	printf("{");
	json_time(&s);
	printf("}\n");
	console_close(&c);
	return CONSOLE_OK;
}

static void
json_root(const struct cfg_root *r, struct db *d, time_t now, int first)
{
	struct castore_counts n;
	struct ca_dirinfo di;
	char why[1024];
	int f = 1;

	printf("%s{", first ? "" : ",");
	json_kv_str(&f, "root", r->name);
	if (ca_dir_info(r->dir, &di, why, sizeof(why)) == -1) {
		json_kv_str(&f, "error", why);
		putchar('}');
		return;
	}
	json_kv_str(&f, "subject", di.subject);
	json_kv_str(&f, "issuer", di.pending ? "" : di.issuer);
	json_kv_raw(&f, "pending", di.pending ? "true" : "false");
	json_kv_str(&f, "key", di.key);
	json_kv_str(&f, "key_alg", di.key_alg);
	json_kv_int(&f, "not_after", (long long)di.not_after);
	if (d != NULL && castore_root_counts(d, r->name, now, &n) == 0) {
		json_kv_int(&f, "issued", (long long)n.issued);
		json_kv_int(&f, "revoked", (long long)n.revoked);
		json_kv_int(&f, "expired", (long long)n.expired);
	}
	putchar('}');
}

static int
json_roots(const struct cfg *cfg)
{
	struct db *d = NULL;
	time_t now = time(NULL);
	int i;

	if (access(cfg->ca_db, F_OK) == -1 || castore_open(cfg->ca_db, DB_RO, &d) == -1)
		d = NULL;
	printf("{\"roots\":[");
	for (i = 0; i < cfg->nroots; i++)
		json_root(&cfg->roots[i], d, now, i == 0);
	printf("]}\n");
	db_close(d);
	return CONSOLE_OK;
}

int
console_json(const struct cfg *cfg, int argc, char **argv)
{
	static const struct {
		const char	*cmd;
		int		(*fn)(const struct cfg *);
	} cmds[] = {
		{ "status", json_status }, { "queue", json_queue },
		{ "crl", json_crl }, { "time", json_time_cmd },
		{ "roots", json_roots },
	};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].cmd) == 0) {
			if (argc != 1)
				errx(CONSOLE_USAGE, "--json %s takes no other "
				    "argument", argv[0]);
			return cmds[i].fn(cfg);
		}
	errx(CONSOLE_USAGE, "--json is for status, queue, crl, time and roots, "
	    "not %s", argv[0]);
}
