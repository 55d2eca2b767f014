/*
 * mirror_cmd.c: `airlock-client audit verify | tail | export --json`, read
 * from webdb's mirror (audit.db) alone: a review needs neither the signer
 * nor a site visit.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditmirror.h"
#include "auditrec.h"
#include "crypto.h"
#include "mirror.h"
#include "util.h"

struct verify_walk {
	struct audit_check c;
	uint8_t		 prev[AUDIT_HASH_LEN];
	int		 bad;
};

static int
verify_one(void *arg, int64_t seq, const uint8_t *p, size_t n)
{
	struct verify_walk *v = arg;
	struct audit_raw w;
	size_t off = 0;
	char why[256];

	v->c.records++;
	if (audit_wire_next(p, n, &off, &w, why, sizeof(why)) != 1 || off != n ||
	    w.seq != seq) {
		v->c.bad_seq = seq;
		snprintf(v->c.why, sizeof(v->c.why), "record %lld is not stored as "
		    "it came", (long long)seq);
		v->bad = 1;
		return -1;
	}
	if ((v->bad = audit_check_one(&w, v->c.head_seq + 1, v->prev, &v->c)) != 0)
		return -1;
	memcpy(v->prev, w.hash.p, AUDIT_HASH_LEN);
	memcpy(v->c.head, w.hash.p, AUDIT_HASH_LEN);
	v->c.head_seq = w.seq;
	return 0;
}

static int
print_alarm(void *arg, const struct amirror_alarm *a)
{
	char when[32];
	time_t t = (time_t)a->time;
	struct tm tm;

	(void)arg;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("ALARM %s %s record %lld: %s\n", when, a->kind, (long long)a->seq,
	    a->text);
	return 0;
}

/* "head signed" needs the signed head to be the last record held, and
 * its signature to verify with the pinned key now. */
static const char *
verify_head(const struct cfg *c, struct db *d, const struct audit_check *ck,
    char *why, size_t whysz)
{
	struct amirror_signed sg;
	struct audit_key *pub;
	struct audit_head h;
	int good;

	if (c->audit_pubkey[0] == '\0')
		return "head not checked (no client.audit_pubkey)";
	if ((pub = audit_key_load(c->audit_pubkey, 0, why, whysz)) == NULL)
		return why;
	if (amirror_get_signed(d, &sg) != 1) {
		audit_key_free(pub);
		return "head not signed (no signed head received yet)";
	}
	h.seq = sg.seq;
	memcpy(h.hash, sg.hash, sizeof(h.hash));
	h.time = sg.time;
	good = audit_head_verify(pub, &h, sg.sig);
	audit_key_free(pub);
	if (!good)
		return "head signature BAD";
	if (sg.seq != ck->head_seq || !crypto_memeq(sg.hash, ck->head, AUDIT_HASH_LEN)) {
		snprintf(why, whysz, "head signed at record %lld, not at the last "
		    "record held", (long long)sg.seq);
		return why;
	}
	return NULL;
}

static int
cmd_verify(const struct cfg *c, struct db *d)
{
	struct verify_walk v;
	struct amirror_signed sg;
	const char *head;
	char why[512], when[32];
	int64_t alarms = 0;
	struct tm tm;
	time_t t;

	memset(&v, 0, sizeof(v));
	if (amirror_each(d, 0, 0, verify_one, &v) == -1 && !v.bad) {
		fprintf(stderr, "airlock-client: %s: cannot read the mirror\n", c->audit_db);
		return 2;
	}
	if (v.bad) {
		printf("audit: %lld records, chain BROKEN at record %lld: %s\n",
		    (long long)v.c.records, (long long)v.c.bad_seq, v.c.why);
		amirror_alarms(d, print_alarm, NULL);
		return 1;
	}
	head = verify_head(c, d, &v.c, why, sizeof(why));
	printf("audit: %lld records, chain intact, %s\n", (long long)v.c.records,
	    head == NULL ? "head signed" : head);
	if (amirror_get_signed(d, &sg) == 1) {
		t = (time_t)sg.time;
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("signed head: record %lld, signed %s\n", (long long)sg.seq, when);
	}
	amirror_alarm_count(d, &alarms);
	printf("alarms: %lld\n", (long long)alarms);
	amirror_alarms(d, print_alarm, NULL);
	if (alarms > 0)
		return 1;
	return head == NULL || c->audit_pubkey[0] == '\0' ? 0 : 1;
}

struct print_walk {
	int		 json;
	struct buf	 b;
};

static int
print_one(void *arg, int64_t seq, const uint8_t *p, size_t n)
{
	struct print_walk *pw = arg;
	struct audit_raw w;
	size_t off = 0;
	char why[256], when[32];
	struct tm tm;
	time_t t;

	if (audit_wire_next(p, n, &off, &w, why, sizeof(why)) != 1) {
		fprintf(stderr, "airlock-client: record %lld: %s\n", (long long)seq, why);
		return -1;
	}
	if (pw->json) {
		buf_reset(&pw->b);
		if (audit_json(&w, &pw->b) == -1)
			return -1;
		fwrite(pw->b.p, 1, pw->b.len, stdout);
		return 0;
	}
	t = (time_t)w.time;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%lld %s %.*s %.*s %.*s %.*s\n", (long long)w.seq, when,
	    (int)w.kind.n, (const char *)w.kind.p,
	    w.root.n ? (int)w.root.n : 1, w.root.n ? (const char *)w.root.p : "-",
	    (int)w.actor.n, (const char *)w.actor.p,
	    (int)w.text.n, (const char *)w.text.p);
	return 0;
}

static int
audit_usage(void)
{
	fputs("usage: airlock-client audit verify | tail [-n N] | export --json "
	    "[--after SEQ]\n", stderr);
	return 2;
}

int
mirror_command(const struct cfg *c, int argc, char **argv)
{
	struct print_walk pw = { 0, { NULL, 0, 0 } };
	struct db *d;
	long long n = 20, after = 0;
	int64_t head;
	uint8_t hash[AUDIT_HASH_LEN];
	int i, rv;

	if (argc < 2)
		return audit_usage();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc &&
		    parse_num(argv[i + 1], 1, 1000000, &n) == 0)
			i++;
		else if (strcmp(argv[i], "--after") == 0 && i + 1 < argc &&
		    parse_num(argv[i + 1], 0, INT64_MAX, &after) == 0)
			i++;
		else if (strcmp(argv[i], "--json") == 0)
			pw.json = 1;
		else
			return audit_usage();
	}
	if (strcmp(argv[1], "export") == 0 && !pw.json)
		return audit_usage();
	/* a query never creates state */
	if (amirror_open(c->audit_db, 1, &d) == -1) {
		fprintf(stderr, "airlock-client: %s: no audit mirror (has airlock-client "
		    "run reached the signer?)\n", c->audit_db);
		return 2;
	}
	if (strcmp(argv[1], "verify") == 0)
		rv = cmd_verify(c, d);
	else if (strcmp(argv[1], "tail") == 0 || strcmp(argv[1], "export") == 0) {
		buf_init(&pw.b);
		if (strcmp(argv[1], "tail") == 0 && amirror_head(d, &head, hash) == 0 &&
		    head > n)
			after = head - n;
		rv = amirror_each(d, after, 0, print_one, &pw) == 0 ? 0 : 1;
		buf_free(&pw.b);
	} else
		rv = audit_usage();
	db_close(d);
	return rv;
}
