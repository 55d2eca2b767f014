/*
 * ctl.c: airlockctl, the operator's console on the signer host: option
 * parsing and dispatch. It reads the databases read-only, except for the
 * operator actions (retry, reject, revoke, prune), which are audited; it also
 * creates link keys and CA directories. The commands live in console.c
 * and console_audit.c (status, queue, time, audit ...), top.c, ctlca.c
 * and ctlcrl.c. Output is plain text for an 80-column serial console;
 * exit codes are 0 ok, 1 failure, 2 usage (console.h has the rest).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditrec.h"
#include "ca.h"
#include "console.h"
#include "crypto.h"
#include "ctlbackup.h"
#include "ctlca.h"
#include "ctlcrl.h"
#include "ctlpgp.h"
#include "msg.h"
#include "proc.h"
#include "sandbox.h"
#include "store.h"
#include "transport.h"
#include "util.h"

static const char usage[] =
	"usage: airlockctl [-c config] [--json] command [args] | --version\n"
	"commands:\n"
	"  status                    link, queue, certificates, clock, audit log\n"
	"  queue [--state S] [-n N]  pending, in flight and failed requests (S:\n"
	"                            received handed answered delivered failed)\n"
	"  show ID                   one request in full\n"
	"  retry ID                  hand a request that is not answered again\n"
	"  reject ID --reason TEXT   answer a request that is not answered with\n"
	"                            error 400 (operator action, audited)\n"
	"  prune                     delete delivered and failed requests and CRL\n"
	"                            answers older than signer.retention_days now\n"
	"  certs --root R [--since WHEN] [-n N]\n"
	"                            certificates issued by a root\n"
	"  time [--check] [-n N]     the clock against webdb's: offset, samples\n"
	"  audit verify [--head SEQ:HASH] [--file EXPORT]\n"
	"  audit tail [-n N] | audit export [-o FILE]\n"
	"                            the audit chain: check it, read it, export it\n"
	"  top [-d SECONDS]          live full-screen view; q quits\n"
	"  usb                       USB devices, the one in use, peer, counters\n"
	"  link-key new FILE         create a link key (0600) for both hosts\n"
	"  audit-key new SECRET PUBLIC  create the audit key: SECRET (0600) for\n"
	"                            signer.audit_key, PUBLIC for webdb's\n"
	"                            client.audit_pubkey\n"
	"  root init --dir DIR --subject /CN=.. [--key rsa:4096|ec:P-384|...]\n"
	"            [--days N] [--pathlen N] [--pass-file F | --ask-pass]\n"
	"            [--parent DIR [--parent-pass-file F] | --csr]\n"
	"            [--key-uri pkcs11:... [--module SO] [--pin-file F]]\n"
	"                            create a root or subroot CA directory\n"
	"  root install-cert DIR CERT [--chain FILE]\n"
	"                            finish a directory made with --csr\n"
	"  root rollover NAME [--key TYPE] [--days N] [--key-uri URI [--module SO]] [--csr]\n"
	"                            a new key for a configured root (DIR/gen/N)\n"
	"  operator add NAME [--secret-file F] | operator list\n"
	"                            operators of dual control (approvals = N)\n"
	"  held                      requests waiting for operators' approval\n"
	"  approve|deny ID --operator NAME [--secret-file F]\n"
	"                            an operator's decision on a held request\n"
	"  pgp-root init --dir DIR --uid \"NAME <ADDR>\" [--key ed25519|rsa4096]\n"
	"            [--pass-file F | --no-pass]\n"
	"  pgp-root import --dir DIR --secret-key FILE [--key-pass-file F]\n"
	"            [--pass-file F | --no-pass]\n"
	"                            create or import an OpenPGP root\n"
	"  roots                     the roots: key, validity, certificate counts\n"
	"  export-index ROOT [-o F]  the root's certificates as an OpenSSL index.txt\n"
	"  import-openssl-ca ROOT DIR [--limit N]\n"
	"                            migrate an openssl ca directory (resumable)\n"
	"  revoke ROOT SERIAL [--reason N] [--invalidity UNIXTIME]\n"
	"                            revoke a certificate (operator action)\n"
	"  crl [ROOT]                each root's newest CRL, revocations pending\n"
	"  backup FILE [--pass-file F | --no-encrypt | --to KEYFILE ...] | backup --verify FILE\n"
	"                            a consistent backup of the running signer host,\n"
	"                            sealed to a passphrase or to OpenPGP public keys\n"
	"  restore FILE|- [--pass-file F] [--force]\n"
	"                            write a backup back (refuses live state)\n";

static struct cfg cfg;
/* the filter's settings for the commands that read no configuration */
static struct cfg nocfg = { .sandbox = 1 };

static void
ctl_usage(void)
{
	fputs(usage, stderr);
	exit(2);
}

/* --json anywhere (airlockctl --json status, airlockctl status --json):
 * taken out of argv; 1 if it was there. */
static int
ctl_take_json(int *argc, char **argv)
{
	int i, j, found = 0;

	for (i = j = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			found = 1;
		else
			argv[j++] = argv[i];
	}
	argv[j] = NULL;
	*argc = j;
	return found;
}

/* A command that is not one: said in one line, then the usage, exit 2. */
static void
ctl_unknown(const char *cmd)
{
	static const char *const known[] = { "status", "queue", "show", "retry",
	    "reject", "prune", "certs", "time", "audit", "top", "usb", "link-key", "audit-key",
	    "root", "pgp-root", "roots", "operator", "held", "approve", "deny", "export-index", "import-openssl-ca",
	    "revoke", "crl", "backup", "restore" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(cmd, known[i]) == 0)
			return;
	fprintf(stderr, "airlockctl: unknown command \"%.40s\"\n", cmd);
	ctl_usage();
}

/* A console command's exit code; usage errors print the usage. */
static int
ctl_done(int rv)
{
	if (rv == CONSOLE_USAGE)
		ctl_usage();
	return rv;
}

int
main(int argc, char **argv)
{
	struct proc_opts o;
	char why[1024];
	int i, json;

	json = ctl_take_json(&argc, argv);
	i = proc_options(argc, argv, &o, usage);
	if (i >= argc || o.check)
		ctl_usage();
	argc -= i;
	argv += i;
	ctl_unknown(argv[0]);	/* before the configuration is read */
	proc_nocore();		/* it reads CA keys (root init) and passphrases */
	log_init("airlockctl", LOG_TO_STDERR, o.verbose);
	if (strcmp(argv[0], "link-key") == 0) {
		sandbox_enter("ctl", &nocfg);
		if (argc != 3 || strcmp(argv[1], "new") != 0)
			ctl_usage();
		if (linkkey_create(argv[2], why, sizeof(why)) == -1)
			errx(1, "%s", why);
		printf("created %s; copy it to the other host over a physical medium\n",
		    argv[2]);
		return 0;
	}
	if (strcmp(argv[0], "audit-key") == 0) {
		sandbox_enter("ctl", &nocfg);
		if (argc != 4 || strcmp(argv[1], "new") != 0)
			ctl_usage();
		if (audit_key_new(argv[2], argv[3], why, sizeof(why)) == -1)
			errx(1, "%s", why);
		printf("created %s (signer.audit_key) and %s; copy %s to webdb "
		    "(client.audit_pubkey)\n", argv[2], argv[3], argv[3]);
		return 0;
	}
	/* CA set-up, once: may load a PKCS#11 module (executable mappings) and
	 * writes where the operator says; no filter (docs/hardening.md) */
	if (strcmp(argv[0], "root") == 0 && argc >= 2 &&
	    strcmp(argv[1], "rollover") == 0) {
		if (config_load(o.config, &cfg, why, sizeof(why)) == -1)
			errx(1, "%s", why);
		return ctlroll_rollover(&cfg, argc - 1, argv + 1);
	}
	if (strcmp(argv[0], "root") == 0)
		return ctlca_root(argc, argv);
	if (strcmp(argv[0], "pgp-root") == 0)
		return ctlpgp_root(argc, argv);
	if (strcmp(argv[0], "audit") == 0 && argc >= 3 && strcmp(argv[1], "verify") == 0 &&
	    strncmp(argv[2], "--file", 6) == 0) {
		sandbox_enter("ctl", &nocfg);
		return ctl_done(console_audit(NULL, argc, argv));	/* no config needed */
	}
	/* restore writes where the operator says, like root init: no filter */
	if (strcmp(argv[0], "restore") == 0)
		return ctl_done(ctlbackup_restore(argc, argv));
	if (strcmp(argv[0], "backup") == 0 && argc >= 2 && strcmp(argv[1], "--verify") == 0)
		return ctl_done(ctlbackup_backup(NULL, argc, argv));
	if (config_load(o.config, &cfg, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	sandbox_enter("ctl", &cfg);
	if (json)
		return ctl_done(console_json(&cfg, argc, argv));
	if (strcmp(argv[0], "status") == 0)
		return ctl_done(console_status(&cfg, argc, argv));
	if (strcmp(argv[0], "queue") == 0)
		return ctl_done(console_queue(&cfg, argc, argv));
	if (strcmp(argv[0], "show") == 0)
		return ctl_done(console_show(&cfg, argc, argv));
	if (strcmp(argv[0], "retry") == 0)
		return ctl_done(console_retry(&cfg, argc, argv));
	if (strcmp(argv[0], "reject") == 0)
		return ctl_done(console_reject(&cfg, argc, argv));
	if (strcmp(argv[0], "prune") == 0)
		return ctl_done(console_prune(&cfg, argc, argv));
	if (strcmp(argv[0], "certs") == 0)
		return ctl_done(console_certs(&cfg, argc, argv));
	if (strcmp(argv[0], "time") == 0)
		return ctl_done(console_time(&cfg, argc, argv));
	if (strcmp(argv[0], "audit") == 0)
		return ctl_done(console_audit(&cfg, argc, argv));
	if (strcmp(argv[0], "top") == 0)
		return ctl_done(top_run(&cfg, argc, argv));
	if (strcmp(argv[0], "revoke") == 0)
		return ctlcrl_revoke(&cfg, argc, argv);
	if (strcmp(argv[0], "crl") == 0)
		return ctlcrl_list(&cfg, argc, argv);
	if (strcmp(argv[0], "operator") == 0 || strcmp(argv[0], "held") == 0 ||
	    strcmp(argv[0], "approve") == 0 || strcmp(argv[0], "deny") == 0)
		return ctlop_command(&cfg, argc, argv);
	if (strcmp(argv[0], "roots") == 0)
		return ctlca_roots(&cfg, argc, argv) | ctlpgp_roots(&cfg);
	if (strcmp(argv[0], "export-index") == 0)
		return ctlca_export_index(&cfg, argc, argv);
	if (strcmp(argv[0], "import-openssl-ca") == 0)
		return ctlca_import(&cfg, argc, argv);
	if (strcmp(argv[0], "backup") == 0)
		return ctl_done(ctlbackup_backup(&cfg, argc, argv));
	if (strcmp(argv[0], "usb") == 0 && argc == 1)
		return transport_show(&cfg.link, stdout) == 0 ? 0 : 1;
	ctl_usage();	/* a known command with the wrong arguments */
	return 2;
}
