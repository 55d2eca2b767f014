/*
 * ctlca.c: airlockctl's CA commands. They run at the signer host's console
 * as an operator who may read the CA directories (root, or the signer's
 * user):
 *
 *   root init          makes a root or subroot directory: a new key (or a
 *                      key already on a PKCS#11 token) and a self-signed
 *                      certificate, one signed by a parent directory, or a
 *                      request (ca.csr) for an offline parent
 *   root install-cert  puts the offline parent's certificate in place
 *   root rollover      a root's next key generation (ctlroll.c)
 *   roots              the configured roots: key, validity, counts
 *   export-index       ca.db as an OpenSSL index.txt
 *   import-openssl-ca  an `openssl ca` directory into ca.db, resumable,
 *                      each run recorded in the audit chain
 *
 * Passphrases and PINs come from files (first line) or, on a terminal,
 * from a prompt without echo; they are cleared after use. Errors are
 * reported with errx() on the spot, like any command-line tool.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ca.h"
#include "caindex.h"
#include "crlsign.h"
#include "crypto.h"
#include "ctlca.h"
#include "store.h"
#include "util.h"
#include "castore.h"

#define CTLCA_SECRET_MAX	1024

/* A secret for root init: the first line of a file. */
struct ctlca_secret {
	char	 s[CTLCA_SECRET_MAX + 1];
	int	 set;
};

static void
ctlca_usage(const char *what)
{
	fprintf(stderr, "usage: airlockctl %s\n", what);
	exit(2);
}

static void
ctlca_read_secret(const char *path, struct ctlca_secret *sec)
{
	struct buf b;
	size_t n;

	buf_init(&b);
	if (read_file(path, &b, CTLCA_SECRET_MAX + 2) == -1)
		err(1, "%s", path);
	for (n = 0; n < b.len && b.p[n] != '\n' && b.p[n] != '\r'; n++)
		;
	if (n > CTLCA_SECRET_MAX || memchr(b.p, '\0', n) != NULL) {
		buf_free(&b);
		errx(1, "%s: the first line is too long or not text", path);
	}
	if (n > 0)
		memcpy(sec->s, b.p, n);
	sec->s[n] = '\0';
	sec->set = 1;
	buf_free(&b);		/* clears the bytes */
}

/* A new passphrase typed twice. */
static void
ctlca_ask_new(struct ctlca_secret *sec)
{
	char again[CTLCA_SECRET_MAX + 1];

	if (askpass("New passphrase for the CA key: ", sec->s,
	    sizeof(sec->s)) == -1 || askpass("Again: ", again,
	    sizeof(again)) == -1)
		errx(1, "cannot read a passphrase (standard input and error must be a "
		    "terminal)");
	if (strcmp(sec->s, again) != 0 || sec->s[0] == '\0') {
		crypto_cleanse(again, sizeof(again));
		errx(1, "the passphrases differ or are empty");
	}
	crypto_cleanse(again, sizeof(again));
	sec->set = 1;
}

static uint32_t
ctlca_number(const char *s, const char *what, unsigned long max)
{
	long long v;

	if (parse_num(s, 0, (long long)max, &v) == -1)
		errx(2, "%s must be a number up to %lu", what, max);
	return (uint32_t)v;
}

struct ctlca_init {
	struct ca_root_params rp;
	struct ctlca_secret pass, parent_pass, pin;
	int	 ask_pass;
};

static void
ctlca_init_opts(int argc, char **argv, struct ctlca_init *in)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "subject", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "parent", required_argument, NULL, 'p' },
		{ "pathlen", required_argument, NULL, 'l' },
		{ "pass-file", required_argument, NULL, 'P' },
		{ "ask-pass", no_argument, NULL, 'A' },
		{ "parent-pass-file", required_argument, NULL, 'Q' },
		{ "csr", no_argument, NULL, 'C' },
		{ "key-uri", required_argument, NULL, 'U' },
		{ "module", required_argument, NULL, 'M' },
		{ "pin-file", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 }
	};
	struct ca_root_params *rp = &in->rp;
	int ch;

	optind = 0;	/* GNU getopt: start afresh */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'D': rp->dir = optarg; break;
		case 's': rp->subject = optarg; break;
		case 'k': rp->key_type = optarg; break;
		case 'd': rp->days = ctlca_number(optarg, "--days", 36500); break;
		case 'p': rp->parent_dir = optarg; break;
		case 'l': rp->pathlen = (int)ctlca_number(optarg, "--pathlen", 16); break;
		case 'P': ctlca_read_secret(optarg, &in->pass); break;
		case 'A': in->ask_pass = 1; break;
		case 'Q': ctlca_read_secret(optarg, &in->parent_pass); break;
		case 'C': rp->csr_only = 1; break;
		case 'U': rp->key_uri = optarg; break;
		case 'M': rp->module = optarg; break;
		case 'I': ctlca_read_secret(optarg, &in->pin); break;
		default: ctlca_usage("root init --dir DIR --subject /CN=... [options]");
		}
	}
	if (rp->dir == NULL || rp->subject == NULL || optind != argc)
		errx(2, "root init needs --dir and --subject");
	if (rp->key_uri != NULL && (in->pass.set || in->ask_pass))
		errx(2, "a token key is not encrypted with a passphrase; use "
		    "--pin-file for its PIN");
}

static int
ctlca_root_init(int argc, char **argv)
{
	struct ctlca_init *in;
	char why[1024];
	int rc = 0;

	if ((in = calloc(1, sizeof(*in))) == NULL)
		err(1, NULL);
	in->rp.key_type = "ec:P-384";
	in->rp.days = 3650;
	in->rp.pathlen = -1;
	ctlca_init_opts(argc, argv, in);
	if (in->ask_pass)
		ctlca_ask_new(&in->pass);
	in->rp.pass = in->pass.set ? in->pass.s : NULL;
	in->rp.parent_pass = in->parent_pass.set ? in->parent_pass.s : NULL;
	in->rp.pin = in->pin.set ? in->pin.s : NULL;
	ca_allow_prompt(1);	/* parent passphrase or PIN, if not in a file */
	if (ca_root_init(&in->rp, why, sizeof(why)) == -1) {
		warnx("%s", why);
		rc = 1;
	} else if (in->rp.csr_only)
		printf("created %s; send %s/ca.csr to the parent CA, then run "
		    "airlockctl root install-cert %s CERT\n", in->rp.dir,
		    in->rp.dir, in->rp.dir);
	else
		printf("created %s\n", in->rp.dir);
	crypto_cleanse(in, sizeof(*in));
	free(in);
	return rc;
}

static int
ctlca_root_install(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chain", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *chain = NULL;
	char why[1024];
	int ch;

	optind = 0;	/* GNU getopt: start afresh */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'c')
			ctlca_usage("root install-cert DIR CERT [--chain FILE]");
		chain = optarg;
	}
	if (argc - optind != 2)
		ctlca_usage("root install-cert DIR CERT [--chain FILE]");
	if (ca_root_install(argv[optind], argv[optind + 1], chain, why,
	    sizeof(why)) == -1)
		errx(1, "%s", why);
	printf("installed %s in %s\n", argv[optind + 1], argv[optind]);
	return 0;
}

int
ctlca_root(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return ctlca_root_init(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "install-cert") == 0)
		return ctlca_root_install(argc - 1, argv + 1);
	ctlca_usage("root init ... | root install-cert DIR CERT [--chain FILE] | "
	    "root rollover NAME ...");
	return 2;
}

/* --- roots --- */

static void
ctlca_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d", &tm) == 0)
		snprintf(out, outsz, "-");
}

static void
ctlca_counts(struct db *d, const char *root, time_t now, char *out, size_t n)
{
	struct castore_counts c;

	if (d == NULL || castore_root_counts(d, root, now, &c) == -1)
		snprintf(out, n, "%7s %7s %7s", "-", "-", "-");
	else
		snprintf(out, n, "%7lld %7lld %7lld", (long long)c.issued,
		    (long long)c.revoked, (long long)c.expired);
}

static int
ctlca_root_line(const struct cfg_root *r, struct db *d, time_t now)
{
	struct ca_dirinfo di;
	char why[1024], end[16], counts[40], days[16];

	if (ca_dir_info(r->dir, &di, why, sizeof(why)) == -1) {
		printf("%-14.14s error: %s\n", r->name, why);
		return -1;
	}
	ctlca_date(di.not_after, end, sizeof(end));
	ctlca_counts(d, r->name, now, counts, sizeof(counts));
	if (di.pending)
		snprintf(days, sizeof(days), "-");
	else
		snprintf(days, sizeof(days), "%lld",
		    (long long)(di.not_after - now) / 86400);
	printf("%-14.14s %-9.9s %-9.9s %-10s %5s %s\n", r->name,
	    strcmp(di.key, "encrypted file") == 0 ? "encrypted" : di.key,
	    di.key_alg, end, days, counts);
	printf("    %s\n", di.subject);
	if (di.pending)
		printf("    waiting for its certificate (ca.csr; airlockctl root "
		    "install-cert)\n");
	else
		printf("    issuer: %s\n", di.self_signed ? "self-signed" :
		    di.issuer);
	ctlroll_show(r, d, now);
	return 0;
}

int
ctlca_roots(const struct cfg *c, int argc, char **argv)
{
	struct db *d = NULL;
	time_t now = time(NULL);
	int i, rc = 0;

	(void)argv;
	if (argc != 1)
		ctlca_usage("roots");
	/* no database yet: no certificates, the counts show "-" */
	if (access(c->ca_db, F_OK) == -1 || castore_open(c->ca_db, 1, &d) == -1)
		d = NULL;
	printf("%-14s %-9s %-9s %-10s %5s %7s %7s %7s\n", "ROOT", "KEY", "ALG",
	    "NOT AFTER", "DAYS", "ISSUED", "REVOKED", "EXPIRED");
	for (i = 0; i < c->nroots; i++)
		if (ctlca_root_line(&c->roots[i], d, now) == -1)
			rc = 1;
	db_close(d);
	return rc;
}

/* --- export-index --- */

int
ctlca_export_index(const struct cfg *c, int argc, char **argv)
{
	const char *out = NULL;
	char why[1024], tmp[PATH_MAX];
	struct db *d;
	int fd = STDOUT_FILENO, rc;

	if (argc == 4 && strcmp(argv[2], "-o") == 0)
		out = argv[3];
	else if (argc != 2)
		ctlca_usage("export-index ROOT [-o FILE]");
	if (config_root(c, argv[1], strlen(argv[1])) == NULL)
		errx(1, "no root \"%s\" in %s", argv[1], c->path);
	if (castore_open(c->ca_db, 1, &d) == -1)
		errx(1, "%s: cannot open the CA database", c->ca_db);
	/* -o: written beside FILE as it goes, then renamed into place */
	if (out != NULL) {
		if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out,
		    (long)getpid()) >= sizeof(tmp))
			errx(1, "%s: name too long", out);
		if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644)) == -1)
			err(1, "%s", tmp);
		if (fchmod(fd, 0644) == -1)
			err(1, "%s", tmp);
	}
	rc = caindex_export(d, argv[1], time(NULL), fd, why, sizeof(why));
	db_close(d);
	if (out == NULL) {
		if (rc == -1)
			errx(1, "%s", why);
		return 0;
	}
	if (rc == 0 && (fsync(fd) == -1 || rename(tmp, out) == -1)) {
		snprintf(why, sizeof(why), "%s: %s", out, strerror(errno));
		rc = -1;
	}
	close(fd);
	if (rc == -1) {
		unlink(tmp);
		errx(1, "%s", why);
	}
	return 0;
}

/* --- import-openssl-ca --- */

/*
 * A bar on a terminal, redrawn at most ten times a second, with the time
 * left at the rate of this run so far (shown after the first second).
 */
static void
ctlca_progress(void *arg, int64_t done, int64_t total)
{
	static const char bar[] = "########################################";
	static uint64_t last, t0;
	static int64_t done0;
	uint64_t now = mono_ms();
	int w = (int)sizeof(bar) - 1, fill;
	char eta[32] = "";
	int64_t left;

	(void)arg;
	if (t0 == 0) {		/* the first call: where this run starts */
		t0 = now;
		done0 = done;
	}
	if (!isatty(STDERR_FILENO) || total <= 0 ||
	    (done < total && now - last < 100))
		return;
	last = now;
	if (done > done0 && done < total && now - t0 >= 1000) {
		left = (int64_t)((double)(total - done) * (double)(now - t0) /
		    (double)(done - done0) / 1000.0 + 0.5);
		snprintf(eta, sizeof(eta), "  ETA %lld:%02lld",
		    (long long)(left / 60), (long long)(left % 60));
	}
	fill = (int)(done * w / total);
	fprintf(stderr, "\r[%-*.*s] %lld/%lld %3d%%%-14s", w, fill, bar,
	    (long long)done, (long long)total, (int)(done * 100 / total), eta);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static void
ctlca_import_opts(int argc, char **argv, int64_t *limit)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	optind = 0;	/* GNU getopt: start afresh */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			ctlca_usage("import-openssl-ca ROOT DIR [--limit N]");
		*limit = ctlca_number(optarg, "--limit", 1ul << 31);
	}
	if (argc - optind != 2)
		ctlca_usage("import-openssl-ca ROOT DIR [--limit N]");
}

static void
ctlca_import_report(const char *root, const char *dir,
    const struct caindex_result *res)
{
	if (res->already)
		printf("%s was imported into %s already (%lld lines)\n", dir,
		    root, (long long)res->lines);
	else if (res->finished)
		printf("imported %lld certificates from %s into %s (%lld "
		    "lines%s)\n", (long long)res->added, dir, root,
		    (long long)res->lines, res->resumed_at ? ", resumed" : "");
	else
		printf("imported %lld certificates; stopped after line %lld of "
		    "%lld; run the same command again to continue\n",
		    (long long)res->added, (long long)res->done,
		    (long long)res->lines);
}

/* The operator action in the audit chain, whatever came of it. */
static void
ctlca_import_audit(struct db *d, const char *root, const char *dir,
    const struct caindex_result *res, const char *failed)
{
	char actor[AUDIT_ACTOR_MAX];

	if (res->already)
		return;
	audit_actor("airlockctl", actor, sizeof(actor));
	if (audit_addf(d, AUDIT_OPERATOR, NULL, root, actor,
	    "import-openssl-ca %s: lines %lld to %lld of %lld, %lld certificates "
	    "added%s%s", dir, (long long)res->resumed_at + 1,
	    (long long)res->done, (long long)res->lines, (long long)res->added,
	    failed ? "; stopped: " : res->finished ? "; finished" : "",
	    failed ? failed : "") == -1)
		warnx("the audit record of the import could not be written");
}

int
ctlca_import(const struct cfg *c, int argc, char **argv)
{
	const struct cfg_root *r;
	struct caindex_result res;
	char dir[PATH_MAX], why[1024];
	struct ca *ca;
	struct db *d;
	int64_t limit = 0;

	ctlca_import_opts(argc, argv, &limit);
	if ((r = config_root(c, argv[optind], strlen(argv[optind]))) == NULL)
		errx(1, "no root \"%s\" in %s", argv[optind], c->path);
	if (realpath(argv[optind + 1], dir) == NULL)
		err(1, "%s", argv[optind + 1]);
	if (ca_load_public(r->dir, &ca, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	/* the CRL columns and indexes first, as the signer makes them: kept
	 * row by row while importing, not built over the whole table at the
	 * signer's next start */
	if (castore_open(c->ca_db, 0, &d) == -1 || audit_init(d) == -1 ||
	    crlstore_prepare(d) == -1)
		errx(1, "%s: cannot open the CA database", c->ca_db);
	if (caindex_import(d, ca, r->name, dir, limit, ctlca_progress, NULL,
	    &res, why, sizeof(why)) == -1) {
		if (isatty(STDERR_FILENO))
			fputc('\n', stderr);
		ctlca_import_audit(d, r->name, dir, &res, why);
		errx(1, "%s; lines 1 to %lld are in the CA database, run again "
		    "to continue after a fix", why, (long long)res.done);
	}
	ctlca_import_audit(d, r->name, dir, &res, NULL);
	ctlca_import_report(r->name, dir, &res);
	db_close(d);
	ca_free(ca);
	return 0;
}
