/*
 * ctlcrl.c: airlockctl's revocation commands (docs/architecture.md,
 * "airlockctl"). `revoke` is an operator action at the signer's console:
 * it opens ca.db read-write and records the revocation exactly as a REVOKE
 * from the cable would be (crlsign_revoke), under a fresh request id, with
 * its answer and an audit record in the same transaction; the next CRL
 * lists it, and webdb learns of it with its next CRL refresh. `crl` shows,
 * read-only, each root's newest CRL and the revocations waiting for the
 * next one.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "crl.h"
#include "crypto.h"
#include "ctlcrl.h"
#include "castore.h"
#include "crlsign.h"
#include "revoke.h"

static int
ctlcrl_args(int argc, char **argv, struct revoke_req *rr)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "invalidity", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	long long v;
	int ch;

	memset(rr, 0, sizeof(*rr));
	optind = 0;	/* 0: glibc forgets the "+" of proc_options */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r' && ch != 'i')
			return -1;
		if (parse_num(optarg, ch == 'r' ? 0 : 1, ch == 'r' ? 10 : 253402300799LL,
		    &v) == -1 || (ch == 'r' && v == 7))
			return -1;
		if (ch == 'r')
			rr->reason = (int)v;
		else
			rr->invalidity = v;
	}
	if (optind != argc - 2 || !name_ok(argv[optind], strlen(argv[optind])))
		return -1;
	snprintf(rr->root, sizeof(rr->root), "%s", argv[optind]);
	rr->serial_len = (strlen(argv[optind + 1]) + 1) / 2;
	if (strlen(argv[optind + 1]) % 2 == 1 || rr->serial_len == 0 ||
	    rr->serial_len > CRL_SERIAL_MAX ||
	    hex_decode(argv[optind + 1], rr->serial, rr->serial_len) == -1)
		return -1;
	return 0;
}

/* In one transaction: the revocation, its answer, its audit record. */
static int
ctlcrl_record(struct db *d, const struct cfg *c, const struct msg *req,
    char *why, size_t whysz)
{
	char root[AIRLOCK_NAME_MAX], actor[AUDIT_ACTOR_MAX], hex[41];
	struct buf ans;
	struct msg a;
	int code;

	buf_init(&ans);
	if (castore_begin(d) == -1) {
		snprintf(why, whysz, "cannot start a transaction on ca.db");
		return AL_E_STORAGE;
	}
	code = crlsign_revoke(d, c, req, time(NULL), &a, root, why, whysz);
	hex_encode(req->serial.p, req->serial.len, hex);
	audit_actor("airlockctl", actor, sizeof(actor));
	if (code == AL_OK && (msg_encode(&a, &ans) == -1 ||
	    castore_record(d, req->reqid, MSG_REVOKE, root, 0, ans.p, ans.len,
	    NULL) == -1 || audit_addf(d, AUDIT_REVOKE, req->reqid, root, actor,
	    "serial=%s reason=%d by the operator", hex, a.reason) == -1)) {
		snprintf(why, whysz, "cannot record the revocation in ca.db");
		code = AL_E_STORAGE;
	}
	buf_free(&ans);
	if (code != AL_OK) {
		castore_rollback(d);
		return code;
	}
	if (castore_commit(d) == -1) {
		snprintf(why, whysz, "cannot commit to ca.db");
		return AL_E_STORAGE;
	}
	return AL_OK;
}

int
ctlcrl_revoke(const struct cfg *c, int argc, char **argv)
{
	struct revoke_req rr;
	struct crlstore_crl cur;
	struct buf m;
	struct msg req;
	struct db *d;
	char why[512], hex[2 * CRL_SERIAL_MAX + 1];
	int code;

	if (ctlcrl_args(argc, argv, &rr) == -1)
		errx(2, "usage: revoke ROOT SERIAL_HEX [--reason N] "
		    "[--invalidity UNIXTIME]");
	if (crypto_random(rr.reqid, sizeof(rr.reqid)) == -1)
		errx(1, "random number generator failed");
	buf_init(&m);
	if (revoke_msg(&rr, &m) == -1 || msg_decode(m.p, m.len, &req) != AL_OK)
		errx(2, "the revocation does not make a valid request");
	if (castore_open(c->ca_db, 0, &d) == -1 || crlstore_prepare(d) == -1 ||
	    audit_init(d) == -1)
		errx(1, "%s: cannot open the CA database read-write", c->ca_db);
	if ((code = ctlcrl_record(d, c, &req, why, sizeof(why))) != AL_OK) {
		db_close(d);
		errx(1, "error %d: %s", code, why);
	}
	if (crlstore_current(d, rr.root, &cur) == -1)
		cur.number = 0;
	hex_encode(rr.serial, rr.serial_len, hex);
	printf("revoked %s %s reason %d; CRL %lld of the root will list it\n",
	    rr.root, hex, rr.reason, (long long)cur.number + 1);
	buf_free(&m);
	db_close(d);
	return 0;
}

static void
ctlcrl_when(int64_t t, int64_t now, char *out, size_t outsz)
{
	int64_t a = t > now ? t - now : now - t;
	const char *dir = t > now ? "in " : "";
	const char *ago = t > now ? "" : " ago";

	if (a < 7200)
		snprintf(out, outsz, "%s%lldm%s", dir, (long long)a / 60, ago);
	else if (a < 172800)
		snprintf(out, outsz, "%s%lldh%s", dir, (long long)a / 3600, ago);
	else
		snprintf(out, outsz, "%s%lldd%s", dir, (long long)a / 86400, ago);
}

static void
ctlcrl_row(struct db *d, const char *root, int64_t now)
{
	struct crlstore_crl cur;
	char issued[32], next[32];
	int64_t pending;
	int f;

	pending = crlstore_pending(d, root);
	if ((f = crlstore_current(d, root, &cur)) != 1) {
		printf("%-20s %s\n", root, f == 0 ? "no CRL yet" : "no CRL tables yet");
		return;
	}
	ctlcrl_when(cur.this_update, now, issued, sizeof(issued));
	if (cur.next_update > now)
		ctlcrl_when(cur.next_update, now, next, sizeof(next));
	else
		snprintf(next, sizeof(next), "EXPIRED");
	printf("%-20s %6lld %8lld %8lld %-10s %-10s %9lld\n", root,
	    (long long)cur.number, (long long)cur.entries, (long long)pending, issued,
	    next, (long long)cur.der_len);
}

int
ctlcrl_list(const struct cfg *c, int argc, char **argv)
{
	struct db *d;
	time_t now = time(NULL);
	int i;

	if (argc > 2)
		errx(2, "usage: crl [ROOT]");
	if (argc == 2 && config_root(c, argv[1], strlen(argv[1])) == NULL)
		errx(1, "%s: no such root in the configuration", argv[1]);
	if (castore_open(c->ca_db, 1, &d) == -1)
		errx(1, "%s: cannot open the CA database", c->ca_db);
	printf("%-20s %6s %8s %8s %-10s %-10s %9s\n", "ROOT", "CRL", "ENTRIES",
	    "PENDING", "ISSUED", "NEXT", "BYTES");
	for (i = 0; i < c->nroots; i++)
		if (argc < 2 || strcmp(argv[1], c->roots[i].name) == 0)
			ctlcrl_row(d, c->roots[i].name, now);
	db_close(d);
	return 0;
}
