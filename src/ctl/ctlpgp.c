/*
 * ctlpgp.c: airlockctl's OpenPGP roots: `pgp-root init` makes a new root
 * (Ed25519 or RSA-4096 primary key, one user ID), `pgp-root import` keeps an
 * existing v4 secret key (DSA included) so that its web of trust stays, and
 * the OpenPGP part of `roots`. The secret key is stored encrypted under a
 * passphrase from --pass-file or typed twice at the console (docs/openpgp.md).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "ctlpgp.h"
#include "pgp.h"
#include "pgp_root.h"
#include "util.h"

static const char pgp_usage[] =
	"pgp-root init --dir DIR --uid \"NAME <ADDR>\" [--key ed25519|rsa4096]\n"
	"            [--pass-file F | --no-pass]\n"
	"       airlockctl pgp-root import --dir DIR --secret-key FILE\n"
	"            [--key-pass-file F] [--pass-file F | --no-pass]";

static void
ctlpgp_usage(void)
{
	fprintf(stderr, "usage: airlockctl %s\n", pgp_usage);
	exit(2);
}

static void
ctlpgp_ask_new(char *pass, size_t n)
{
	char again[1024];

	if (askpass("New passphrase for the OpenPGP root key: ", pass, n) == -1 ||
	    askpass("Again: ", again, sizeof(again)) == -1)
		errx(1, "cannot read a passphrase (standard input and error must be a "
		    "terminal; or use --pass-file)");
	if (strcmp(pass, again) != 0 || pass[0] == '\0') {
		crypto_cleanse(again, sizeof(again));
		errx(1, "the passphrases differ or are empty");
	}
	crypto_cleanse(again, sizeof(again));
}

int
ctlpgp_root(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "uid", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "pass-file", required_argument, NULL, 'p' },
		{ "no-pass", no_argument, NULL, 'n' },
		{ "secret-key", required_argument, NULL, 's' },
		{ "key-pass-file", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	struct pgp_root_params pp = { NULL, "ed25519", NULL, NULL, NULL, NULL, 0 };
	char pass[1024] = "", kpass[1024] = "", fpr[41], why[512];
	const char *pass_file = NULL, *kpass_file = NULL;
	int c, nopass = 0, import;

	if (argc < 2 || (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "import") != 0))
		ctlpgp_usage();
	import = strcmp(argv[1], "import") == 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (c) {
		case 'd': pp.dir = optarg; break;
		case 'u': pp.uid = optarg; break;
		case 'k': pp.alg = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'n': nopass = 1; break;
		case 's': pp.import = optarg; break;
		case 'P': kpass_file = optarg; break;
		default: ctlpgp_usage();
		}
	if (optind != argc || pp.dir == NULL || (import ? pp.import == NULL || pp.uid != NULL :
	    pp.uid == NULL || pp.import != NULL) || (nopass && pass_file != NULL))
		ctlpgp_usage();
	if (!import && (strlen(pp.uid) == 0 || strlen(pp.uid) > 200))
		errx(2, "--uid must have 1 to 200 bytes");
	if (pass_file != NULL && pgp_read_pass(pass_file, pass, sizeof(pass), why,
	    sizeof(why)) == -1)
		errx(1, "%s", why);
	if (pass_file == NULL && !nopass)
		ctlpgp_ask_new(pass, sizeof(pass));
	if (kpass_file != NULL && pgp_read_pass(kpass_file, kpass, sizeof(kpass), why,
	    sizeof(why)) == -1)
		errx(1, "%s", why);
	if (import && kpass_file == NULL && askpass("Passphrase of the key to import "
	    "(empty if none): ", kpass, sizeof(kpass)) == -1)
		kpass[0] = '\0';
	pp.pass = nopass ? NULL : pass;
	pp.import_pass = kpass;
	pp.now = time(NULL);
	c = pgp_root_init(&pp, fpr, why, sizeof(why));
	crypto_cleanse(pass, sizeof(pass));
	crypto_cleanse(kpass, sizeof(kpass));
	if (c == -1)
		errx(1, "%s", why);
	printf("OpenPGP root in %s, fingerprint %s\n", pp.dir, fpr);
	printf("add it to pgp_roots in airlock.conf; give %s/ca.asc to webdb\n", pp.dir);
	return 0;
}

static const char *
ctlpgp_alg(const struct pgp_pub *k, char *out, size_t n)
{
	switch (k->alg) {
	case PGP_PK_RSA: case PGP_PK_RSA_S: snprintf(out, n, "RSA-%d", k->bits); break;
	case PGP_PK_DSA: snprintf(out, n, "DSA-%d", k->bits); break;
	case PGP_PK_ECDSA: snprintf(out, n, "ECDSA-%d", k->bits); break;
	case PGP_PK_EDDSA: snprintf(out, n, "Ed25519"); break;
	default: snprintf(out, n, "alg %d", k->alg);
	}
	return out;
}

int
ctlpgp_roots(const struct cfg *c)
{
	struct pgp_root *r;
	char fpr[41], alg[32], why[512];
	int i, rc = 0;

	if (c->npgp_roots == 0)
		return 0;
	printf("\n%-14s %-10s %-40s %s\n", "OPENPGP ROOT", "ALG", "FINGERPRINT", "USER ID");
	for (i = 0; i < c->npgp_roots; i++) {
		if (pgp_root_load_public(c->pgp_roots[i].dir, &r, why, sizeof(why)) == -1) {
			printf("%-14s %s\n", c->pgp_roots[i].name, why);
			rc = 1;
			continue;
		}
		pgp_fpr_hex(r->key->pub.fpr, fpr);
		printf("%-14s %-10s %-40s %s\n", c->pgp_roots[i].name,
		    ctlpgp_alg(&r->key->pub, alg, sizeof(alg)), fpr, r->uid);
		pgp_root_free(r);
	}
	return rc;
}
