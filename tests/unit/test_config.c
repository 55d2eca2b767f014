/*
 * test_config.c: config_load and the lookups (src/common/config.c).
 *
 * Each test writes a configuration file into a fresh directory under /tmp
 * and loads it. A full file must give exactly the values written, the
 * documented defaults for what it leaves out, and paths resolved against
 * the file's own directory. Every error must read "file:line: sentence",
 * naming the line of the offending setting: a syntax error, an unknown
 * setting at the top, in a profile, in a root or in the link group (a
 * typo is never silently ignored), an unknown flag name, a root naming an
 * undefined profile, a name defined twice, a bad transport, a number out of
 * range or of the wrong type, and a file that is not there; retention_days
 * only in the signer and client groups. Three tests
 * are kept under #if 0: they show defects (BUG, below) and fail until
 * those are fixed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock.h"
#include "config.h"
#include "util.h"
#include "rmtree.h"

static char tmpdir[64];
static char conf_path[PATH_MAX];
static struct cfg C;			/* about half a megabyte: not on the stack */
static char why[1024];

static void
put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void
in_tmp(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", tmpdir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

/* Writes text as tmpdir/airlock.conf and loads it. */
static int
load(const char *text)
{
	put_text(conf_path, text);
	memset(why, 0, sizeof(why));
	memset(&C, 0xa5, sizeof(C));
	return config_load(conf_path, &C, why, sizeof(why));
}

/* The load must fail with "conf_path:line: ..." containing words. */
static void
expect_error(const char *text, int line, const char *words)
{
	char prefix[PATH_MAX + 32];

	if (load(text) != -1)
		fail_msg("loaded, but wanted an error at line %d (%s)", line, words);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", conf_path, line);
	if (strncmp(why, prefix, strlen(prefix)) != 0 || strstr(why, words) == NULL ||
	    strlen(why) <= strlen(prefix))
		fail_msg("error \"%s\", wanted \"%s...%s...\"", why, prefix, words);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/airlock.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(tmpdir);
}

/* --- a whole file --- */

static const char full_conf[] =
	"# a signer host and a client in one file\n"		/* 1 */
	"state_dir = \"state\";\n"				/* 2 */
	"run_dir = \"/run/airlock-test\";\n"			/* 3 */
	"link_user = \"airlock-link\";\n"			/* 4 */
	"signer_user = \"airlock-signer\";\n"			/* 5 */
	"verbose = 2;\n"					/* 6 */
	"link = {\n"						/* 7 */
	"  transport = \"serial\";\n"				/* 8 */
	"  device = \"/dev/ttyUSB3\";\n"			/* 9 */
	"  baud = 57600;\n"					/* 10 */
	"  rtscts = true;\n"					/* 11 */
	"  key_file = \"keys/link.key\";\n"			/* 12 */
	"  usb_id = \"067b:25a1\";\n"				/* 13 */
	"  usb_path = \"1-2.3\";\n"				/* 14 */
	"  max_payload = 512;\n"				/* 15 */
	"  window = 8;\n"					/* 16 */
	"};\n"							/* 17 */
	"signer = { ca_db = \"/srv/ca/ca.db\"; };\n"		/* 18 */
	"client = { spool_dir = \"spool-in\"; time_interval = 30; };\n"	/* 19 */
	"profiles = (\n"					/* 20 */
	"  { name = \"server\"; max_days = 397; default_days = 90;\n"	/* 21 */
	"    key_usage = [\"digitalSignature\", \"keyEncipherment\"];\n"	/* 22 */
	"    ext_key_usage = [\"serverAuth\"];\n"		/* 23 */
	"    san = [\"dns\", \"ip\"]; key_types = [\"ec\", \"ed25519\"];\n"	/* 24 */
	"    min_rsa_bits = 3072; subject = \"CN,O\";\n"	/* 25 */
	"    crl_url = \"http://crl.example.test/c1.crl\";\n"	/* 26 */
	"    ocsp_url = \"http://ocsp.example.test/\";\n"	/* 27 */
	"    issuer_url = \"http://ca.example.test/c1.crt\";\n"	/* 28 */
	"    policy_oid = \"1.3.6.1.4.1.55555.1\"; },\n"	/* 29 */
	"  { name = \"client\"; },\n"				/* 30 */
	"  { name = \"subca\"; ca = true; pathlen = 0; max_days = 3650;\n"	/* 31 */
	"    default_days = 1825; key_usage = [\"keyCertSign\", \"cRLSign\"];\n"	/* 32 */
	"    ext_key_usage = [\"clientAuth\", \"codeSigning\", \"emailProtection\",\n"	/* 33 */
	"      \"timeStamping\", \"OCSPSigning\"]; san = []; }\n"	/* 34 */
	");\n"							/* 35 */
	"roots = (\n"						/* 36 */
	"  { name = \"class1\"; dir = \"ca/class1\"; pass_file = \"/etc/c1.pass\";\n"	/* 37 */
	"    profiles = [\"server\", \"client\"]; crl_days = 3; crl_grace_days = 0; },\n"	/* 38 */
	"  { name = \"sub-2.x_y\"; dir = \"/abs/ca/sub\"; profiles = [\"subca\"]; }\n"	/* 39 */
	");\n";							/* 40 */

static void
test_full(void **state)
{
	const struct cfg_profile *p;
	const struct cfg_root *r;
	char want[PATH_MAX];

	(void)state;
	if (load(full_conf) != 0)
		fail_msg("%s", why);
	assert_string_equal(C.path, conf_path);
	in_tmp(want, "state");
	assert_string_equal(C.state_dir, want);
	assert_string_equal(C.run_dir, "/run/airlock-test");
	assert_string_equal(C.link_user, "airlock-link");
	assert_string_equal(C.signer_user, "airlock-signer");
	assert_int_equal(C.verbose, 2);
	/* link */
	assert_string_equal(C.link.transport, "serial");
	assert_string_equal(C.link.device, "/dev/ttyUSB3");
	assert_int_equal(C.link.baud, 57600);
	assert_int_equal(C.link.rtscts, 1);
	in_tmp(want, "keys/link.key");
	assert_string_equal(C.link.key_file, want);
	assert_string_equal(C.link.usb_id, "067b:25a1");
	assert_string_equal(C.link.usb_path, "1-2.3");
	assert_int_equal(C.link.max_payload, 512);
	assert_int_equal(C.link.window, 8);
	/* databases: the one given, the others below state_dir */
	in_tmp(want, "state/queue.db");
	assert_string_equal(C.queue_db, want);
	assert_string_equal(C.ca_db, "/srv/ca/ca.db");
	in_tmp(want, "state/outbox.db");
	assert_string_equal(C.outbox_db, want);
	in_tmp(want, "spool-in");
	assert_string_equal(C.spool_dir, want);
	assert_int_equal(C.time_interval, 30);
	/* profiles */
	assert_int_equal(C.nprofiles, 3);
	p = config_profile(&C, "server", 6);
	assert_ptr_equal(p, &C.profiles[0]);
	assert_string_equal(p->name, "server");
	assert_int_equal(p->max_days, 397);
	assert_int_equal(p->default_days, 90);
	assert_int_equal(p->key_usage, CFG_KU_DIGITAL_SIGNATURE | CFG_KU_KEY_ENCIPHERMENT);
	assert_int_equal(p->ext_key_usage, CFG_EKU_SERVER);
	assert_int_equal(p->san_types, SAN_DNS | SAN_IP);
	assert_int_equal(p->key_types, KEYT_EC | KEYT_ED25519);
	assert_int_equal(p->min_rsa_bits, 3072);
	assert_int_equal(p->ca, 0);
	assert_int_equal(p->pathlen, -1);
	assert_string_equal(p->subject_attrs, "CN,O");
	assert_string_equal(p->crl_url, "http://crl.example.test/c1.crl");
	assert_string_equal(p->ocsp_url, "http://ocsp.example.test/");
	assert_string_equal(p->issuer_url, "http://ca.example.test/c1.crt");
	assert_string_equal(p->policy_oid, "1.3.6.1.4.1.55555.1");
	/* a profile that says nothing gets the defaults */
	p = config_profile(&C, "client", 6);
	assert_ptr_equal(p, &C.profiles[1]);
	assert_int_equal(p->max_days, 397);
	assert_int_equal(p->default_days, 365);
	assert_int_equal(p->key_usage, 0);
	assert_int_equal(p->ext_key_usage, 0);
	assert_int_equal(p->san_types, SAN_DNS | SAN_EMAIL | SAN_IP);
	assert_int_equal(p->key_types, 0);
	assert_int_equal(p->min_rsa_bits, 0);
	assert_int_equal(p->ca, 0);
	assert_int_equal(p->pathlen, -1);
	assert_string_equal(p->subject_attrs, "");
	assert_string_equal(p->crl_url, "");
	assert_string_equal(p->policy_oid, "");
	p = config_profile(&C, "subca", 5);
	assert_non_null(p);
	assert_int_equal(p->ca, 1);
	assert_int_equal(p->pathlen, 0);
	assert_int_equal(p->max_days, 3650);
	assert_int_equal(p->default_days, 1825);
	assert_int_equal(p->key_usage, CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN);
	assert_int_equal(p->ext_key_usage, CFG_EKU_CLIENT | CFG_EKU_CODE |
	    CFG_EKU_EMAIL | CFG_EKU_TIMESTAMP | CFG_EKU_OCSP);
	assert_int_equal(p->san_types, 0);	/* an empty list allows none */
	/* roots */
	assert_int_equal(C.nroots, 2);
	r = config_root(&C, "class1", 6);
	assert_ptr_equal(r, &C.roots[0]);
	in_tmp(want, "ca/class1");
	assert_string_equal(r->dir, want);
	assert_string_equal(r->pass_file, "/etc/c1.pass");
	assert_int_equal(r->nprofiles, 2);
	assert_string_equal(r->profiles[0], "server");
	assert_string_equal(r->profiles[1], "client");
	assert_int_equal(r->crl_days, 3);
	assert_int_equal(r->crl_grace_days, 0);
	r = config_root(&C, "sub-2.x_y", 9);
	assert_ptr_equal(r, &C.roots[1]);
	assert_string_equal(r->dir, "/abs/ca/sub");
	assert_string_equal(r->pass_file, "");
	assert_int_equal(r->crl_days, 7);
	assert_int_equal(r->crl_grace_days, 30);
}

/* The USB transport and its settings. */
static void
test_usb_transport(void **state)
{
	(void)state;
	if (load("link = {\n"
	    "  transport = \"usb-pl2501\";\n"
	    "  usb_id = \"067b:2501\";\n"
	    "  usb_path = \"2-1.4\";\n"
	    "};\n") != 0)
		fail_msg("%s", why);
	assert_string_equal(C.link.transport, "usb-pl2501");
	assert_string_equal(C.link.usb_id, "067b:2501");
	assert_string_equal(C.link.usb_path, "2-1.4");
}

/* An empty file: every default. */
static void
test_defaults(void **state)
{
	(void)state;
	if (load("# nothing\n") != 0)
		fail_msg("%s", why);
	assert_string_equal(C.state_dir, "/var/lib/airlock");
	assert_string_equal(C.run_dir, "/run/airlock");
	assert_string_equal(C.queue_db, "/var/lib/airlock/queue.db");
	assert_string_equal(C.ca_db, "/var/lib/airlock/ca.db");
	assert_string_equal(C.outbox_db, "/var/lib/airlock/outbox.db");
	assert_string_equal(C.spool_dir, "/var/lib/airlock/spool");
	assert_string_equal(C.link_user, "");
	assert_string_equal(C.signer_user, "");
	assert_int_equal(C.verbose, 0);
	assert_string_equal(C.link.transport, "serial");
	assert_string_equal(C.link.device, "/dev/ttyS0");
	assert_string_equal(C.link.key_file, "/etc/airlock/link.key");
	assert_string_equal(C.link.usb_id, "067b:2501");
	assert_string_equal(C.link.usb_path, "");
	assert_int_equal(C.link.baud, 115200);
	assert_int_equal(C.link.rtscts, 0);
	assert_int_equal(C.link.max_payload, 8192);
	assert_int_equal(C.link.window, 32);
	assert_int_equal(C.time_interval, 60);
	assert_int_equal(C.signer_retention_days, 90);
	assert_int_equal(C.client_retention_days, 90);
	assert_int_equal(C.nroots, 0);
	assert_int_equal(C.nprofiles, 0);
	assert_null(config_root(&C, "class1", 6));
	assert_null(config_profile(&C, "server", 6));
}

/* Absolute state_dir: the databases follow it; given ones stay as written. */
static void
test_db_paths(void **state)
{
	char want[PATH_MAX];

	(void)state;
	if (load("state_dir = \"/var/lib/al-test\";\n"
	    "signer = { queue_db = \"q/queue.db\"; };\n"
	    "client = { outbox_db = \"/x/outbox.db\"; };\n") != 0)
		fail_msg("%s", why);
	in_tmp(want, "q/queue.db");
	assert_string_equal(C.queue_db, want);
	assert_string_equal(C.ca_db, "/var/lib/al-test/ca.db");
	assert_string_equal(C.outbox_db, "/x/outbox.db");
	assert_string_equal(C.spool_dir, "/var/lib/al-test/spool");
}

/* A relative file name: paths go to the file's directory, not the cwd. */
static void
test_relative_file_name(void **state)
{
	char cwd[PATH_MAX], sub[PATH_MAX];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	in_tmp(sub, "etc");
	assert_int_equal(mkdir(sub, 0700), 0);
	in_tmp(sub, "etc/al.conf");
	put_text(sub, "state_dir = \"st\";\nlink = { key_file = \"link.key\"; };\n");
	assert_int_equal(chdir(tmpdir), 0);
	if (config_load("etc/al.conf", &C, why, sizeof(why)) != 0) {
		assert_int_equal(chdir(cwd), 0);
		fail_msg("%s", why);
	}
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(C.state_dir, "etc/st");
	assert_string_equal(C.queue_db, "etc/st/queue.db");
	assert_string_equal(C.link.key_file, "etc/link.key");
}

/* --- errors --- */

static void
test_error_syntax(void **state)
{
	(void)state;
	expect_error("state_dir = \"/x\";\n"
	    "link = {\n"
	    "  baud = ;\n"
	    "};\n", 3, "syntax error");
	expect_error("state_dir = \"/x\";\n"
	    "run_dir \"/y\";\n", 2, "syntax error");
	expect_error("profiles = (\n"
	    "  { name = \"a\"; },\n"
	    "  { name = \"b\"; \n"
	    ");\n", 4, "syntax error");
}

static void
test_error_unknown_top(void **state)
{
	(void)state;
	expect_error("state_dir = \"/x\";\n"
	    "\n"
	    "stat_dir = \"/y\";\n", 3, "unknown setting \"stat_dir\"");
	expect_error("verbose = 1;\n"
	    "keyfile = \"/k\";\n", 2, "unknown setting \"keyfile\"");
}

static void
test_error_unknown_in_groups(void **state)
{
	(void)state;
	/* a typo in a profile */
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    max_days = 397;\n"
	    "    default_day = 90; }\n"
	    ");\n", 4, "unknown setting \"default_day\"");
	/* in a root */
	expect_error("profiles = ( { name = \"server\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r1\"; dir = \"/ca\";\n"
	    "    profiles = [\"server\"];\n"
	    "    crl_day = 7; }\n"
	    ");\n", 5, "unknown setting \"crl_day\"");
	/* in the link group */
	expect_error("link = {\n"
	    "  baud = 115200;\n"
	    "  rts_cts = true;\n"
	    "};\n", 3, "unknown setting \"rts_cts\"");
	/* in the signer and client groups */
	expect_error("signer = {\n  cadb = \"/x\";\n};\n", 2, "unknown setting \"cadb\"");
	expect_error("client = {\n  time_intervall = 5;\n};\n", 2,
	    "unknown setting \"time_intervall\"");
}

static void
test_error_flag_names(void **state)
{
	(void)state;
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    key_usage = [\"digitalSignature\", \"keyEncipher\"]; }\n"
	    ");\n", 3, "unknown name \"keyEncipher\"");
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    ext_key_usage = [\"serverauth\"]; }\n"
	    ");\n", 3, "unknown name \"serverauth\"");
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    san = [\"dns\", \"rfc822\"]; }\n"
	    ");\n", 3, "unknown name \"rfc822\"");
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    key_types = [\"dsa\"]; }\n"
	    ");\n", 3, "unknown name \"dsa\"");
	/* a single name where a list belongs */
	expect_error("profiles = (\n"
	    "  { name = \"server\";\n"
	    "    key_usage = \"digitalSignature\"; }\n"
	    ");\n", 3, "list of names");
}

static void
test_error_root_profile(void **state)
{
	(void)state;
	expect_error("profiles = ( { name = \"server\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r1\"; dir = \"/ca\";\n"
	    "    profiles = [\"server\", \"clinet\"]; }\n"
	    ");\n", 4, "unknown profile \"clinet\"");
	/* with no profiles at all */
	expect_error("roots = (\n"
	    "  { name = \"r1\"; dir = \"/ca\";\n"
	    "    profiles = [\"server\"]; }\n"
	    ");\n", 3, "unknown profile \"server\"");
}

static void
test_error_duplicates(void **state)
{
	(void)state;
	expect_error("profiles = ( { name = \"server\"; }, { name = \"client\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r1\"; dir = \"/ca/1\"; profiles = [\"server\"]; },\n"
	    "  { name = \"r2\"; dir = \"/ca/2\"; profiles = [\"server\"]; },\n"
	    "  { name = \"r1\"; dir = \"/ca/3\"; profiles = [\"client\"]; }\n"
	    ");\n", 5, "root \"r1\" defined twice");
	expect_error("profiles = (\n"
	    "  { name = \"server\"; },\n"
	    "  { name = \"server\"; max_days = 30; default_days = 30; }\n"
	    ");\n", 3, "profile \"server\" defined twice");
	/* the same setting twice in one group is libconfig's to refuse */
	expect_error("link = {\n"
	    "  baud = 9600;\n"
	    "  baud = 19200;\n"
	    "};\n", 3, "duplicate");
}

/* link.protocol and the v1 group (docs/legacy-v1.md) */
static void
test_v1(void **state)
{
	static const char base[] =
	    "profiles = ( { name = \"server\"; max_days = 30; default_days = 30; } );\n"
	    "roots = ( { name = \"r1\"; dir = \"/x\"; profiles = [\"server\"]; } );\n";
	char text[2048];

	(void)state;
	assert_int_equal(load(base), 0);
	assert_string_equal(C.link.protocol, "airlock");
	assert_int_equal(C.v1.nroots, 0);
	assert_int_equal(C.v1.time_interval, 60);
	snprintf(text, sizeof(text), "%slink = { protocol = \"commmodule-v1\"; };\n"
	    "v1 = { roots = [\"\", \"r1\"]; profiles = [\"\", \"\", \"\", \"\", "
	    "\"\", \"server\"]; time_interval = 5; };\n", base);
	assert_int_equal(load(text), 0);
	assert_string_equal(C.link.protocol, "commmodule-v1");
	assert_int_equal(C.v1.nroots, 2);
	assert_string_equal(C.v1.roots[0], "");
	assert_string_equal(C.v1.roots[1], "r1");
	assert_string_equal(C.v1.profiles[5], "server");
	assert_string_equal(C.v1.profiles[6], "");
	assert_int_equal(C.v1.time_interval, 5);
	expect_error("link = { protocol = \"v1\"; };\n", 1,
	    "protocol must be \"airlock\" or \"commmodule-v1\"");
	snprintf(text, sizeof(text), "%sv1 = { roots = [\"nope\"]; };\n", base);
	expect_error(text, 3, "v1.roots: unknown root \"nope\"");
	snprintf(text, sizeof(text), "%sv1 = { profiles = [\"r1\"]; };\n", base);
	expect_error(text, 3, "v1.profiles: unknown profile \"r1\"");
	snprintf(text, sizeof(text), "%sv1 = { profiles = [\"\", \"\", \"\", \"\", "
	    "\"\", \"\", \"\", \"\", \"\", \"\", \"\", \"\", \"\"]; };\n", base);
	expect_error(text, 3, "at most 12");
	snprintf(text, sizeof(text), "%sv1 = { pgp_root = \"r1\"; };\n", base);
	expect_error(text, 3, "unknown OpenPGP root");
	snprintf(text, sizeof(text), "%sv1 = { colour = 1; };\n", base);
	expect_error(text, 3, "unknown setting \"colour\"");
	expect_error("v1 = 3;\n", 1, "must be a group");
}

static void
test_error_transport(void **state)
{
	(void)state;
	expect_error("link = {\n"
	    "  device = \"/dev/ttyS1\";\n"
	    "  transport = \"usb\";\n"
	    "};\n", 3, "transport must be \"serial\" or \"usb-pl2501\"");
	expect_error("link = {\n"
	    "  transport = \"\";\n"
	    "};\n", 2, "transport");
	expect_error("link = {\n"
	    "  transport = 1;\n"
	    "};\n", 2, "must be a string");
}

static void
test_error_ranges(void **state)
{
	(void)state;
	expect_error("link = {\n"
	    "  baud = 300;\n"
	    "};\n", 2, "\"baud\" = 300 is out of range 1200..4000000");
	expect_error("link = {\n"
	    "  baud = 5000000;\n"
	    "};\n", 2, "\"baud\" = 5000000 is out of range");
	expect_error("link = {\n"
	    "  baud = 8589934592L;\n"
	    "};\n", 2, "out of range");
	expect_error("link = {\n"
	    "  baud = \"115200\";\n"
	    "};\n", 2, "\"baud\" must be a number");
	expect_error("link = {\n"
	    "  baud = 115200.0;\n"
	    "};\n", 2, "\"baud\" must be a number");
	expect_error("link = { window = 33; };\n", 1, "\"window\" = 33 is out of range 1..32");
	expect_error("link = { max_payload = 8193; };\n", 1, "\"max_payload\"");
	expect_error("verbose = 4;\n", 1, "\"verbose\"");
	expect_error("client = { time_interval = 0; };\n", 1, "\"time_interval\"");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    max_days = 0; }\n"
	    ");\n", 3, "\"max_days\" = 0 is out of range");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    pathlen = -2; }\n"
	    ");\n", 3, "\"pathlen\"");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    min_rsa_bits = 512; }\n"
	    ");\n", 3, "\"min_rsa_bits\"");
	expect_error("profiles = ( { name = \"p\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r\"; dir = \"/ca\"; profiles = [\"p\"];\n"
	    "    crl_days = 0; }\n"
	    ");\n", 4, "\"crl_days\"");
}

static void
test_error_profile_and_root_rules(void **state)
{
	(void)state;
	expect_error("profiles = (\n"
	    "  { name = \"p\"; max_days = 30; }\n"
	    ");\n", 2, "default_days exceeds max_days");
	expect_error("profiles = (\n"
	    "  { max_days = 30; default_days = 30; }\n"
	    ");\n", 2, "profile needs a name");
	expect_error("profiles = (\n"
	    "  { name = \"a b\"; }\n"
	    ");\n", 2, "profile needs a name");
	expect_error("profiles = ( { name = \"p\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r\"; profiles = [\"p\"]; }\n"
	    ");\n", 3, "\"dir\" is required");
	expect_error("profiles = ( { name = \"p\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r\"; dir = \"/ca\"; }\n"
	    ");\n", 3, "\"profiles\" is required");
	expect_error("profiles = ( { name = \"p\"; } );\n"
	    "roots = (\n"
	    "  { name = \"../r\"; dir = \"/ca\"; profiles = [\"p\"]; }\n"
	    ");\n", 3, "root needs a name");
	expect_error("link_user = \"a-user-name-that-is-longer-than-32\";\n", 1, "too long");
}

static void
test_error_missing_file(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];

	(void)state;
	in_tmp(path, "no-such.conf");
	assert_int_equal(config_load(path, &C, why, sizeof(why)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	assert_string_equal(why, want);
}

/* The error goes to the caller whole, or cut at the buffer's end. */
static void
test_error_small_buffer(void **state)
{
	char small[12];

	(void)state;
	put_text(conf_path, "bogus = 1;\n");
	memset(small, 'x', sizeof(small));
	assert_int_equal(config_load(conf_path, &C, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, conf_path, sizeof(small) - 1);
}

/* Three former bugs, fixed in src/common/config.c: the tests now run. */
/*
 * Was a bug: src/common/config.c:73 (cfg_err; lines as of f71faac) always prints
 * x->file, the file given to config_load, with the line from
 * config_setting_source_line(), which is a line of whichever file the
 * setting came from. An error inside an
 * @include'd file names the main file with the included file's line
 * number. config_setting_source_file(s) gives the right name. Failing
 * input: main file "verbose = 1;\n@include \"/tmp/.../profiles.inc\"\n",
 * profiles.inc with a misspelt "max_dayz" on its line 3: the error reads
 * "airlock.conf:3: unknown setting ..." (airlock.conf has 2 lines).
 */
static void
test_error_in_include(void **state)
{
	char inc[PATH_MAX], text[PATH_MAX + 64], want[PATH_MAX + 16];

	(void)state;
	in_tmp(inc, "profiles.inc");
	put_text(inc, "# included\n"
	    "profiles = ( { name = \"p\";\n"
	    "  max_dayz = 3; } );\n");
	snprintf(text, sizeof(text), "verbose = 1;\n@include \"%s\"\n", inc);
	assert_int_equal(load(text), -1);
	snprintf(want, sizeof(want), "%s:3: ", inc);
	if (strncmp(why, want, strlen(want)) != 0)
		fail_msg("error \"%s\", wanted \"%s...\"", why, want);
}

/*
 * Was a bug: src/common/config.c never checks the shape of a group or list setting
 * other than a root's "profiles": config_setting_length() of a scalar is 0
 * and config_setting_get_member() of a scalar is NULL, so a scalar where
 * a group or a list belongs loads silently as "empty": "link = 5;" keeps
 * every link default (cfg_link, src/common/config.c:355 at f71faac),
 * "roots = \"class1\";" gives no roots and "profiles = 7;" no profiles
 * (cfg_groups, :446 and :460), and "signer" and "client" likewise. The
 * file header promises that a mistake is never silently ignored. Failing
 * input: "verbose = 1;\nlink = 5;\n" loads with rv 0.
 */
static void
test_error_wrong_shape(void **state)
{
	(void)state;
	expect_error("verbose = 1;\nlink = 5;\n", 2, "link");
	expect_error("verbose = 1;\nroots = \"class1\";\n", 2, "roots");
	expect_error("verbose = 1;\nprofiles = 7;\n", 2, "profiles");
	expect_error("verbose = 1;\nsigner = \"q\";\n", 2, "signer");
}

/*
 * Was a bug: src/common/config.c:415 (cfg_derive, at f71faac) reports a state_dir too
 * long for the derived database paths with cfg_err(x, NULL, ...), i.e.
 * as line 0: "airlock.conf:0: state_dir is too long". Failing input: an absolute
 * state_dir of PATH_MAX - 9 characters on line 2.
 */
static void
test_error_state_dir_too_long(void **state)
{
	char *text, *p;
	size_t n = PATH_MAX - 8;

	(void)state;
	text = malloc(n + 64);
	assert_non_null(text);
	p = text + sprintf(text, "verbose = 1;\nstate_dir = \"/");
	memset(p, 'd', n - 2);
	strcpy(p + n - 2, "\";\n");
	expect_error(text, 2, "too long");
	free(text);
}


/* A single name where a root's list of profiles belongs is refused. */
static void
test_error_root_profiles_not_list(void **state)
{
	(void)state;
	expect_error("profiles = ( { name = \"server\"; } );\n"
	    "roots = (\n"
	    "  { name = \"r1\"; dir = \"/ca\";\n"
	    "    profiles = \"server\"; }\n"
	    ");\n", 4, "\"profiles\" must be a list");
}

/* A state_dir too long for the databases is refused (whatever the line). */
static void
test_error_state_dir_long(void **state)
{
	char *text, *p;
	size_t n = PATH_MAX - 8;

	(void)state;
	text = malloc(n + 64);
	assert_non_null(text);
	p = text + sprintf(text, "verbose = 1;\nstate_dir = \"/");
	memset(p, 'd', n - 2);
	strcpy(p + n - 2, "\";\n");
	assert_int_equal(load(text), -1);
	assert_non_null(strstr(why, "state_dir is too long"));
	assert_memory_equal(why, conf_path, strlen(conf_path));
	free(text);
}

/* --- lookups --- */

static void
test_lookups(void **state)
{
	const struct cfg_root *r;

	(void)state;
	if (load(full_conf) != 0)
		fail_msg("%s", why);
	/* names from the cable are counted, not NUL-terminated */
	assert_ptr_equal(config_root(&C, "class1xyz", 6), &C.roots[0]);
	assert_null(config_root(&C, "class", 5));
	assert_null(config_root(&C, "class12", 7));
	assert_null(config_root(&C, "CLASS1", 6));
	assert_null(config_root(&C, "", 0));
	assert_ptr_equal(config_profile(&C, "server\0junk", 6), &C.profiles[0]);
	assert_null(config_profile(&C, "serve", 5));
	assert_null(config_profile(&C, "servers", 7));
	assert_null(config_profile(&C, "", 0));
	r = config_root(&C, "class1", 6);
	assert_non_null(r);
	assert_int_equal(config_root_allows(r, "server", 6), 1);
	assert_int_equal(config_root_allows(r, "client", 6), 1);
	assert_int_equal(config_root_allows(r, "clientX", 6), 1);
	assert_int_equal(config_root_allows(r, "subca", 5), 0);	/* defined, not listed */
	assert_int_equal(config_root_allows(r, "serv", 4), 0);
	assert_int_equal(config_root_allows(r, "", 0), 0);
	r = config_root(&C, "sub-2.x_y", 9);
	assert_non_null(r);
	assert_int_equal(config_root_allows(r, "subca", 5), 1);
	assert_int_equal(config_root_allows(r, "server", 6), 0);
}

/*
 * The example files shipped in conf/ load. They are found from the test
 * binary (build/tests/test_config) or else from the current directory.
 */
static int
find_conf(char *out, const char *name)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;
	int up;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (up = 0; up < 3 && (slash = strrchr(exe, '/')) != NULL; up++)
			*slash = '\0';
		if (up == 3 && snprintf(out, PATH_MAX, "%s/conf/%s", exe, name) <
		    PATH_MAX && access(out, R_OK) == 0)
			return 0;
	}
	snprintf(out, PATH_MAX, "conf/%s", name);
	return access(out, R_OK);
}

/* The time group: defaults, values, and what is refused. */
static void
test_time_group(void **state)
{
	(void)state;
	assert_int_equal(load("state_dir = \"/x\";\n"), 0);
	assert_int_equal(C.time_max_age, 300);
	assert_int_equal(C.time_warn_offset, 10);
	assert_int_equal(C.time_stop_offset, 0);
	assert_int_equal(C.time_max_step, 86400);
	assert_int_equal(load("time = { max_sample_age = 120; warn_offset = 2;\n"
	    "  stop_offset = 30; max_step = 3600; };\n"), 0);
	assert_int_equal(C.time_max_age, 120);
	assert_int_equal(C.time_warn_offset, 2);
	assert_int_equal(C.time_stop_offset, 30);
	assert_int_equal(C.time_max_step, 3600);
	expect_error("time = {\n  warn_ofset = 2;\n};\n", 2,
	    "unknown setting \"warn_ofset\"");
	expect_error("time = {\n  warn_offset = 20;\n  stop_offset = 5;\n};\n", 3,
	    "must be 0 or at least");
	expect_error("time = {\n  max_sample_age = 5;\n};\n", 2, "out of range");
	expect_error("time = {\n  warn_offset = 0;\n};\n", 2, "out of range");
	expect_error("\ntime = 5;\n", 2, "must be a group");
}

static void
test_shipped_examples(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (find_conf(path, "airlock-client.conf") != 0 ||
	    find_conf(path, "airlock.conf") != 0) {
		print_message("conf/ not found from here\n");
		skip();
	}
	find_conf(path, "airlock-client.conf");
	if (config_load(path, &C, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.nroots, 0);		/* the client's file: no CA */
	assert_true(C.link.baud == 115200);
	assert_int_equal(C.client_retention_days, 90);
	find_conf(path, "airlock.conf");
	if (config_load(path, &C, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_true(C.link.baud == 115200);
	assert_int_equal(C.signer_retention_days, 90);
	assert_int_equal(C.nroots, 2);
	assert_true(C.nprofiles >= 13);		/* the old system's set and X-Road */
	assert_int_equal(config_root_allows(config_root(&C, "class1", 6),
	    "client-codesign", 15), 1);
	assert_non_null(config_profile(&C, "xroad-sign", 10));
	assert_int_equal(config_profile(&C, "xroad-sign", 10)->key_usage,
	    CFG_KU_NON_REPUDIATION);
	assert_int_equal(config_profile(&C, "ocsp", 4)->ocsp_nocheck, 1);
	assert_int_equal(config_root_allows(config_root(&C, "class1", 6), "subca", 5), 0);
}

/* retention_days: in signer (queue.db, ca.db) and client (outbox.db) only. */
static void
test_retention(void **state)
{
	(void)state;
	if (load("signer = { retention_days = 30; };\n"
	    "client = { retention_days = 0; };\n") != 0)
		fail_msg("%s", why);
	assert_int_equal(C.signer_retention_days, 30);
	assert_int_equal(C.client_retention_days, 0);
	if (load("signer = { retention_days = 36500; };\n") != 0)
		fail_msg("%s", why);
	assert_int_equal(C.signer_retention_days, 36500);
	assert_int_equal(C.client_retention_days, 90);
	expect_error("signer = {\n"
	    "  retention_days = -1;\n"
	    "};\n", 2, "\"retention_days\" = -1 is out of range 0..36500");
	expect_error("client = { retention_days = 36501; };\n", 1,
	    "\"retention_days\" = 36501 is out of range");
	expect_error("client = { retention_days = \"90\"; };\n", 1,
	    "\"retention_days\" must be a number");
	expect_error("link = {\n"
	    "  retention_days = 90;\n"
	    "};\n", 2, "unknown setting \"retention_days\"");
	expect_error("retention_days = 90;\n", 1, "unknown setting \"retention_days\"");
}

/* signer.in_flight: linkd's limit of requests at the signer. */
static void
test_in_flight(void **state)
{
	(void)state;
	if (load("signer = { retention_days = 30; };\n") != 0)
		fail_msg("%s", why);
	assert_int_equal(C.signer_in_flight, CFG_IN_FLIGHT);
	if (load("signer = { in_flight = 32; };\n") != 0)
		fail_msg("%s", why);
	assert_int_equal(C.signer_in_flight, 32);
	expect_error("signer = { in_flight = 0; };\n", 1,
	    "\"in_flight\" = 0 is out of range 1..4096");
	expect_error("signer = { in_flight = 4097; };\n", 1, "out of range");
	expect_error("client = { in_flight = 32; };\n", 1,
	    "unknown setting \"in_flight\"");
}

/* The ocsp group's renewal settings: defaults, values, refusals. */
static void
test_ocsp_renew(void **state)
{
	static const char head[] =
	    "client = { crl_roots = ( { name = \"c1\"; ca_cert = \"/ca.crt\"; } ); };\n";
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "%socsp = { roots = ( { name = \"c1\"; key = \"/k\"; "
	    "cert = \"/c\"; } ); };\n", head);
	if (load(text) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.ocsp.renew, 1);
	assert_int_equal(C.ocsp.renew_days, 0);
	assert_string_equal(C.ocsp.profile, "ocsp");
	assert_string_equal(C.ocsp.roots[0].subject, "");
	snprintf(text, sizeof(text), "%socsp = { renew = false; renew_days = 2; "
	    "profile = \"ocsp-short\";\n  roots = ( { name = \"c1\"; key = \"/k\"; "
	    "cert = \"/c\"; subject = \"/CN=c1 responder/O=Example\"; } ); };\n", head);
	if (load(text) != 0)
		fail_msg("%s", why);
	assert_int_equal(C.ocsp.renew, 0);
	assert_int_equal(C.ocsp.renew_days, 2);
	assert_string_equal(C.ocsp.profile, "ocsp-short");
	assert_string_equal(C.ocsp.roots[0].subject, "/CN=c1 responder/O=Example");
	snprintf(text, sizeof(text), "%socsp = {\n  roots = ( { name = \"c1\"; key = \"/k\"; "
	    "cert = \"/c\"; subject = \"CN=x\"; } ); };\n", head);
	expect_error(text, 3, "subject is written \"/CN=name/O=organisation\"");
	snprintf(text, sizeof(text), "%socsp = {\n  profile = \"a b\"; };\n", head);
	expect_error(text, 2, "is not a profile name");
	snprintf(text, sizeof(text), "%socsp = {\n  renew_days = 400; };\n", head);
	expect_error(text, 3, "out of range 0..365");
}

/* The profile settings for the old system's set and X-Road. */
static void
test_profile_extras(void **state)
{
	const struct cfg_profile *p;

	(void)state;
	if (load("profiles = (\n"
	    "  { name = \"ocsp\"; ocsp_nocheck = true; ski = false; aki = false;\n"
	    "    ext_key_usage = [\"OCSPSigning\", \"msSmartcardLogin\"];\n"
	    "    san = [\"dns\", \"xmpp\"];\n"
	    "    policy_oid = \"2.999.1, 1.3.6.1.4.1.1.2\";\n"
	    "    cps_url = \"http://cps.example.test/\"; },\n"
	    "  { name = \"plain\"; }\n"
	    ");\n") != 0)
		fail_msg("%s", why);
	p = config_profile(&C, "ocsp", 4);
	assert_non_null(p);
	assert_int_equal(p->ocsp_nocheck, 1);
	assert_int_equal(p->no_ski, 1);
	assert_int_equal(p->no_aki, 1);
	assert_int_equal(p->ext_key_usage, CFG_EKU_OCSP | CFG_EKU_SMARTCARD);
	assert_int_equal(p->san_types, SAN_DNS | SAN_XMPP);
	assert_string_equal(p->policy_oid, "2.999.1, 1.3.6.1.4.1.1.2");
	assert_string_equal(p->cps_url, "http://cps.example.test/");
	p = config_profile(&C, "plain", 5);
	assert_int_equal(p->ocsp_nocheck, 0);
	assert_int_equal(p->no_ski, 0);
	assert_int_equal(p->no_aki, 0);

	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    policy_oid = \"2.999..1\"; }\n"
	    ");\n", 3, "dotted numeric OIDs");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    policy_oid = \"anyPolicy\"; }\n"
	    ");\n", 3, "dotted numeric OIDs");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    cps_url = \"http://cps.example.test/\"; }\n"
	    ");\n", 3, "needs \"policy_oid\"");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    ocsp_url = \"ocsp example\"; }\n"
	    ");\n", 3, "\"ocsp_url\" is not a URI");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    ski = 2; }\n"
	    ");\n", 3, "\"ski\" = 2 is out of range");
}

/* allowed_domains in a profile, signer.psl_file (src/psl.c) */
static void
test_domains_and_psl(void **state)
{
	const struct cfg_profile *p;

	(void)state;
	if (load("signer = { psl_file = \"psl.dat\"; };\n"
	    "profiles = (\n"
	    "  { name = \"web\"; allowed_domains = [\"example.org\", \"b.example.net\"]; },\n"
	    "  { name = \"any\"; }\n"
	    ");\n") != 0)
		fail_msg("%s", why);
	p = config_profile(&C, "web", 3);
	assert_string_equal(p->allowed_domains, "example.org,b.example.net");
	assert_string_equal(config_profile(&C, "any", 3)->allowed_domains, "");
	assert_non_null(strstr(C.psl_file, "/psl.dat"));
	assert_true(C.psl_file[0] == '/');
	if (load("signer = { psl_file = \"\"; };\n") != 0)
		fail_msg("%s", why);
	assert_string_equal(C.psl_file, "");
	if (load("verbose = 0;\n") != 0)
		fail_msg("%s", why);
	assert_string_equal(C.psl_file, "/usr/share/publicsuffix/public_suffix_list.dat");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    allowed_domains = [\"*.example.org\"]; }\n"
	    ");\n", 3, "\"*.example.org\" is not a lower-case domain name");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    allowed_domains = [\"Example.org\"]; }\n"
	    ");\n", 3, "not a lower-case domain name");
	expect_error("profiles = (\n"
	    "  { name = \"p\";\n"
	    "    allowed_domains = \"example.org\"; }\n"
	    ");\n", 3, "must be a list of domain names");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_usb_transport),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_db_paths),
		cmocka_unit_test(test_relative_file_name),
		cmocka_unit_test(test_error_syntax),
		cmocka_unit_test(test_error_unknown_top),
		cmocka_unit_test(test_error_unknown_in_groups),
		cmocka_unit_test(test_error_flag_names),
		cmocka_unit_test(test_error_root_profile),
		cmocka_unit_test(test_error_duplicates),
		cmocka_unit_test(test_error_transport),
		cmocka_unit_test(test_error_ranges),
		cmocka_unit_test(test_error_profile_and_root_rules),
		cmocka_unit_test(test_error_missing_file),
		cmocka_unit_test(test_error_small_buffer),
		cmocka_unit_test(test_error_root_profiles_not_list),
		cmocka_unit_test(test_error_in_include),
		cmocka_unit_test(test_error_wrong_shape),
		cmocka_unit_test(test_error_state_dir_too_long),
		cmocka_unit_test(test_error_state_dir_long),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_shipped_examples),
		cmocka_unit_test(test_time_group),
		cmocka_unit_test(test_profile_extras),
		cmocka_unit_test(test_domains_and_psl),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_in_flight),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_ocsp_renew),
	};

	log_init("test_config", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
