/*
 * ctlroll.c: airlockctl root rollover, and the key generations that
 * `airlockctl roots` shows (docs/ca-layout.md section 9).
 *
 *   root rollover NAME [--key TYPE] [--days N] [--key-uri URI [--module SO]]
 *                      [--csr]
 *
 * makes the next key generation of a configured root in DIR/gen/N
 * (ca_gen.c). The root's pass_file encrypts the new key (or is the PIN of
 * the token holding it), so the signer loads every generation the same way.
 * The switch happens when airlock-signerd next starts: it issues with the
 * newest generation from then on, and the older ones sign CRLs for what
 * they issued until the last of those certificates has expired. Each run
 * that made something leaves an `operator` record in the audit chain.
 */
#include <err.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "ca.h"
#include "castore.h"
#include "crlsign.h"
#include "ctlca.h"
#include "store.h"
#include "util.h"

static const char ctlroll_usage[] = "root rollover NAME [--key TYPE] [--days N] "
	"[--key-uri URI [--module SO]] [--csr]";

static void
ctlroll_opts(int argc, char **argv, struct ca_rollover_params *p)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "key-uri", required_argument, NULL, 'U' },
		{ "module", required_argument, NULL, 'M' },
		{ "csr", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	long long v;
	int ch;

	optind = 0;	/* GNU getopt: start afresh */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': p->key_type = optarg; break;
		case 'd':
			if (parse_num(optarg, 1, 36500, &v) == -1)
				errx(2, "--days must be a number from 1 to 36500");
			p->days = (uint32_t)v;
			break;
		case 'U': p->key_uri = optarg; break;
		case 'M': p->module = optarg; break;
		case 'C': p->csr_only = 1; break;
		default:
			fprintf(stderr, "usage: airlockctl %s\n", ctlroll_usage);
			exit(2);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: airlockctl %s\n", ctlroll_usage);
		exit(2);
	}
}

static void
ctlroll_audit(const struct cfg *c, const char *root, int gen, const char *dir,
    const struct ca_rollover_params *p)
{
	char actor[AUDIT_ACTOR_MAX];
	struct db *d;

	if (access(c->ca_db, F_OK) == -1)
		return;		/* no chain yet: the signer starts it */
	if (castore_open(c->ca_db, 0, &d) == -1 || audit_init(d) == -1) {
		warnx("%s: the audit record of the rollover could not be written",
		    c->ca_db);
		db_close(d);
		return;
	}
	audit_actor("airlockctl", actor, sizeof(actor));
	if (audit_addf(d, AUDIT_OPERATOR, NULL, root, actor, "root rollover: key "
	    "generation %d in %s, key %s%s", gen, dir, p->key_uri ? "on a token" :
	    p->key_type ? p->key_type : "ec:P-384", p->csr_only ?
	    ", request for the offline parent (ca.csr)" : "") == -1)
		warnx("the audit record of the rollover could not be written");
	db_close(d);
}

int
ctlroll_rollover(const struct cfg *c, int argc, char **argv)
{
	struct ca_rollover_params p;
	const struct cfg_root *r;
	char dir[PATH_MAX], why[1024];
	int gen;

	memset(&p, 0, sizeof(p));
	ctlroll_opts(argc, argv, &p);
	if ((r = config_root(c, argv[optind], strlen(argv[optind]))) == NULL)
		errx(1, "no root \"%s\" in the configuration", argv[optind]);
	if (strlen(r->name) > 55)
		errx(1, "root %s: a name of more than 55 characters leaves no room "
		    "for the key generation in its CRL series", r->name);
	ca_allow_prompt(1);	/* a passphrase or PIN not in a pass_file */
	if (ca_rollover(c, r, &p, &gen, dir, sizeof(dir), why, sizeof(why)) == -1)
		errx(1, "%s", why);
	ctlroll_audit(c, r->name, gen, dir, &p);
	if (p.csr_only)
		printf("created key generation %d of %s in %s; send %s/ca.csr to the "
		    "parent CA, then run airlockctl root install-cert %s CERT "
		    "[--chain FILE] and restart airlock-signerd\n", gen, r->name, dir,
		    dir, dir);
	else
		printf("created key generation %d of %s in %s; airlock-signerd "
		    "issues with it from its next start\n", gen, r->name, dir);
	return 0;
}

static void
ctlroll_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (t == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d", &tm) == 0)
		snprintf(out, outsz, "-");
}

/* One line per key generation, when the root has more than one. */
void
ctlroll_show(const struct cfg_root *r, struct db *d, time_t now)
{
	struct ca_gen_entry *e;
	struct ca_dirinfo di;
	int64_t live, last;
	char why[1024], end[16], state[64];
	int i, n, newest = -1;

	if ((e = calloc(CA_GEN_SLOTS, sizeof(*e))) == NULL)
		err(1, NULL);
	if (ca_gen_list(r->dir, e, CA_GEN_SLOTS, &n, why, sizeof(why)) == -1) {
		printf("    keys: %s\n", why);
		free(e);
		return;
	}
	for (i = 0; i < n; i++)
		if (!e[i].pending)
			newest = i;
	for (i = 0; n > 1 && i < n; i++) {
		if (ca_dir_info(e[i].dir, &di, why, sizeof(why)) == -1) {
			printf("    key %d: %s\n", e[i].gen, why);
			continue;
		}
		live = last = 0;
		if (e[i].pending)
			snprintf(state, sizeof(state), "pending (ca.csr)");
		else if (i == newest)
			snprintf(state, sizeof(state), "current");
		else if (d != NULL && crlstore_key_certs(d, r->name, e[i].gen, now,
		    &live, &last) == 0 && live == 0)
			snprintf(state, sizeof(state), "retired");
		else if (d != NULL)
			snprintf(state, sizeof(state), "retiring (%lld valid)",
			    (long long)live);
		else
			snprintf(state, sizeof(state), "retiring");
		ctlroll_date(e[i].pending ? 0 : di.not_after, end, sizeof(end));
		printf("    key %d: %-22s %-9.9s %-9.9s %s %s\n", e[i].gen, state,
		    strcmp(di.key, "encrypted file") == 0 ? "encrypted" : di.key,
		    di.key_alg, end, e[i].gen == 1 ? "." : e[i].dir + strlen(r->dir) + 1);
	}
	free(e);
}
