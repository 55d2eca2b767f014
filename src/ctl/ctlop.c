/*
 * ctlop.c: dual control at the console (docs/ca-layout.md section 10).
 *
 *   operator add NAME [--secret-file F]   a new operator and their secret
 *   operator list
 *   held                                  requests waiting for approval
 *   approve ID --operator NAME [--secret-file F]
 *   deny ID --operator NAME [--secret-file F]
 *
 * Each operator has a secret of their own (at least 8 bytes), kept in the
 * signer's state directory as state_dir/operators (mode 0600, owned by
 * whoever runs airlockctl there: the signer's user or root), one line per
 * operator: "NAME scrypt N r p SALT HASH", SALT 16 random bytes and HASH
 * 32 bytes of scrypt (RFC 7914, N = 2^15, r = 8, p = 1: 32 MiB and about a
 * tenth of a second per guess), both in hex. A decision is taken only with
 * the operator's secret (typed without echo, or the first line of
 * --secret-file) and is recorded in ca.db's approvals table with an audit
 * record naming the operator, in one transaction. The signer counts
 * distinct operators; one denial ends the request.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "castore.h"
#include "crypto.h"
#include "ctlca.h"
#include "holdstore.h"
#include "store.h"
#include "util.h"

#define OP_SECRET_MIN	8
#define OP_SECRET_MAX	1024
#define OP_SALT		16
#define OP_HASH		32
#define OP_N		32768u		/* scrypt cost: 2^15 */
#define OP_R		8u
#define OP_P		1u
#define OP_FILE_MAX	(256 * 1024)

struct op_secret {
	char	 s[OP_SECRET_MAX + 1];
	size_t	 len;
};

static void
op_path(const struct cfg *c, char *out, size_t outsz)
{
	if (snprintf(out, outsz, "%s/operators", c->state_dir) >= (int)outsz)
		errx(1, "%s/operators: path too long", c->state_dir);
}

static void
op_read_secret(const char *file, int confirm, struct op_secret *sec)
{
	struct op_secret again;
	struct buf b;
	size_t n;

	memset(sec, 0, sizeof(*sec));
	if (file != NULL) {
		buf_init(&b);
		if (read_file(file, &b, OP_SECRET_MAX + 2) == -1)
			err(1, "%s", file);
		for (n = 0; n < b.len && b.p[n] != '\n' && b.p[n] != '\r'; n++)
			;
		if (n > OP_SECRET_MAX)
			errx(1, "%s: the secret is longer than %d bytes", file,
			    OP_SECRET_MAX);
		memcpy(sec->s, b.p, n);
		sec->len = n;
		crypto_cleanse(b.p, b.len);
		buf_free(&b);
	} else {
		if (askpass("Operator secret: ", sec->s, sizeof(sec->s)) == -1)
			errx(1, "no terminal to ask for the secret on: use --secret-file");
		sec->len = strlen(sec->s);
		if (confirm) {
			if (askpass("The same again: ", again.s, sizeof(again.s)) == -1 ||
			    strcmp(again.s, sec->s) != 0)
				errx(1, "the two secrets differ");
			crypto_cleanse(&again, sizeof(again));
		}
	}
	if (sec->len < OP_SECRET_MIN)
		errx(1, "an operator secret has at least %d bytes", OP_SECRET_MIN);
}

/* The operator's line of the file: 1 and the hash inputs, 0 no such operator. */
static int
op_find(const struct buf *f, const char *name, uint8_t salt[OP_SALT],
    uint8_t hash[OP_HASH])
{
	char line[512], n[AIRLOCK_NAME_MAX], sh[2 * OP_SALT + 1], hh[2 * OP_HASH + 1];
	const char *p = (const char *)f->p, *end = p != NULL ? p + f->len : p, *nl;
	unsigned long cn, cr, cp;
	size_t len;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len == 0 || len >= sizeof(line))
			continue;
		memcpy(line, p, len);
		line[len] = '\0';
		if (sscanf(line, "%63s scrypt %lu %lu %lu %32s %64s", n, &cn, &cr, &cp,
		    sh, hh) != 6 || strcmp(n, name) != 0)
			continue;
		if (cn != OP_N || cr != OP_R || cp != OP_P ||
		    strlen(sh) != 2 * OP_SALT || strlen(hh) != 2 * OP_HASH ||
		    hex_decode(sh, salt, OP_SALT) == -1 ||
		    hex_decode(hh, hash, OP_HASH) == -1)
			errx(1, "operators file: the line of %s is damaged", name);
		return 1;
	}
	return 0;
}

static void
op_load(const struct cfg *c, struct buf *f)
{
	char path[PATH_MAX];

	op_path(c, path, sizeof(path));
	buf_init(f);
	if (read_file(path, f, OP_FILE_MAX) == -1 && errno != ENOENT)
		err(1, "%s", path);
}

static int
op_add(const struct cfg *c, const char *name, const char *file)
{
	char path[PATH_MAX], line[256], sh[2 * OP_SALT + 1], hh[2 * OP_HASH + 1];
	uint8_t salt[OP_SALT], hash[OP_HASH], s2[OP_SALT], h2[OP_HASH];
	struct op_secret sec;
	struct buf f;

	if (!name_ok(name, strlen(name)))
		errx(2, "an operator name is letters, digits, '.', '_' or '-'");
	op_load(c, &f);
	if (op_find(&f, name, s2, h2))
		errx(1, "operator %s exists already", name);
	op_read_secret(file, 1, &sec);
	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    crypto_scrypt(sec.s, sec.len, salt, sizeof(salt), OP_N, OP_R, OP_P,
	    hash, sizeof(hash)) == -1)
		errx(1, "scrypt failed");
	crypto_cleanse(&sec, sizeof(sec));
	hex_encode(salt, sizeof(salt), sh);
	hex_encode(hash, sizeof(hash), hh);
	snprintf(line, sizeof(line), "%s scrypt %u %u %u %s %s\n", name, OP_N, OP_R,
	    OP_P, sh, hh);
	op_path(c, path, sizeof(path));
	if (buf_put(&f, line, strlen(line)) == -1 ||
	    write_file_atomic(path, f.p, f.len, 0600) == -1)
		err(1, "%s", path);
	buf_free(&f);
	printf("operator %s added to %s\n", name, path);
	return 0;
}

/* The operator's secret, checked; exits when it is wrong. */
static void
op_check(const struct cfg *c, const char *name, const char *file)
{
	uint8_t salt[OP_SALT], hash[OP_HASH], got[OP_HASH];
	struct op_secret sec;
	struct buf f;

	op_load(c, &f);
	if (!op_find(&f, name, salt, hash))
		errx(1, "no operator %s (airlockctl operator add)", name);
	buf_free(&f);
	op_read_secret(file, 0, &sec);
	if (crypto_scrypt(sec.s, sec.len, salt, sizeof(salt), OP_N, OP_R, OP_P, got,
	    sizeof(got)) == -1)
		errx(1, "scrypt failed");
	crypto_cleanse(&sec, sizeof(sec));
	if (crypto_memeq(got, hash, sizeof(hash)) != 1) {
		log_warnx("operator %s: wrong secret", name);
		errx(1, "wrong secret for operator %s", name);
	}
}

static int
op_print(void *arg, const struct hold *h)
{
	char id[33], until[32];
	struct tm tm;
	time_t t = (time_t)h->expires;

	(void)arg;
	reqid_hex(h->reqid, id);
	gmtime_r(&t, &tm);
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s %s %s approved=%d/%d%s%s until=%s subject=%s\n", id, h->root,
	    h->profile, h->approved, h->needed, h->approvers[0] ? " by=" : "",
	    h->approvers, until, h->subject);
	return 0;
}

static struct db *
op_db(const struct cfg *c)
{
	struct db *d;

	if (castore_open(c->ca_db, DB_RW_EXISTING, &d) == -1 || holdstore_init(d) == -1 ||
	    audit_init(d) == -1)
		errx(1, "%s: cannot open the CA database", c->ca_db);
	return d;
}

static int
op_decide(const struct cfg *c, int approve, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "operator", required_argument, NULL, 'o' },
		{ "secret-file", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *op = NULL, *file = NULL, *verb = approve ? "approve" : "deny";
	uint8_t reqid[AIRLOCK_REQID_LEN];
	char actor[AUDIT_ACTOR_MAX];
	struct hold h;
	struct db *d;
	int ch, f, rc = 1;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'o')
			op = optarg;
		else if (ch == 's')
			file = optarg;
		else
			errx(2, "usage: airlockctl %s ID --operator NAME [--secret-file F]",
			    verb);
	}
	if (op == NULL || argc - optind != 1 ||
	    strlen(argv[optind]) != 2 * AIRLOCK_REQID_LEN ||
	    hex_decode(argv[optind], reqid, sizeof(reqid)) == -1)
		errx(2, "usage: airlockctl %s ID --operator NAME [--secret-file F] "
		    "(ID: 32 hex digits, as `airlockctl held` shows it)", verb);
	op_check(c, op, file);
	d = op_db(c);
	if (castore_begin(d) == -1)
		errx(1, "%s: %s", c->ca_db, db_last_error(d));
	if ((f = holdstore_get(d, reqid, &h)) != 1) {
		warnx(f == 0 ? "%s is not a held request" : "%s: cannot read it",
		    argv[optind]);
		goto done;
	}
	if (h.outcome[0] != '\0' || time(NULL) > h.expires) {
		warnx("%s is no longer waiting (%s)", argv[optind], h.outcome[0] ?
		    h.outcome : "its time is up");
		goto done;
	}
	if ((f = holdstore_decide(d, reqid, op, approve, time(NULL))) != 1) {
		warnx(f == 0 ? "operator %s decided on %s before" : "cannot record the "
		    "decision of %s on %s", op, argv[optind]);
		goto done;
	}
	snprintf(actor, sizeof(actor), "airlockctl operator=%s", op);
	if (audit_addf(d, AUDIT_OPERATOR, reqid, h.root, actor, "%s: operator %s "
	    "%s the SIGN of profile %s, subject %s (%d of %d approvals before)",
	    verb, op, approve ? "approved" : "denied", h.profile, h.subject,
	    h.approved, h.needed) == -1) {
		warnx("%s: cannot record the decision: %s", c->ca_db, db_last_error(d));
		goto done;
	}
	if (castore_commit(d) == -1) {	/* rolled back already */
		warnx("%s: cannot record the decision: %s", c->ca_db, db_last_error(d));
		db_close(d);
		return 1;
	}
	printf("%s: %s by operator %s\n", argv[optind], approve ? "approved" :
	    "denied", op);
	rc = 0;
done:
	if (rc != 0)
		castore_rollback(d);
	db_close(d);
	return rc;
}

int
ctlop_command(const struct cfg *c, int argc, char **argv)
{
	struct db *d;
	struct buf f;
	const char *p, *end, *nl;

	if (strcmp(argv[0], "approve") == 0 || strcmp(argv[0], "deny") == 0)
		return op_decide(c, argv[0][0] == 'a', argc, argv);
	if (strcmp(argv[0], "held") == 0 && argc == 1) {
		d = op_db(c);
		if (holdstore_each(d, 1, op_print, NULL) == -1)
			warnx("%s: cannot read the held requests", c->ca_db);
		db_close(d);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "add") == 0) {
		if (argc == 3)
			return op_add(c, argv[2], NULL);
		if (argc == 5 && strcmp(argv[3], "--secret-file") == 0)
			return op_add(c, argv[2], argv[4]);
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		op_load(c, &f);
		for (p = (const char *)f.p, end = p + f.len; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			printf("%.*s\n", (int)strcspn(p, " \n"), p);
		}
		buf_free(&f);
		return 0;
	}
	errx(2, "usage: airlockctl operator add NAME [--secret-file F] | operator list");
}
