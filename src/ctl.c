/*
 * ctl.c: airlockctl, the operator's console on the signer host. It reads
 * the databases (read-only), and creates link keys and CA directories.
 * Output is plain text for an 80-column serial console; exit codes are
 * 0 ok, 1 failure, 2 usage.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "crypto.h"
#include "msg.h"
#include "proc.h"
#include "store.h"
#include "util.h"

static const char usage[] =
	"usage: airlockctl [-c config] command [args]\n"
	"commands:\n"
	"  status                    queue counts, oldest pending request, certificates\n"
	"  queue [--state S] [-n N]  recent requests (S: received handed answered\n"
	"                            delivered failed)\n"
	"  show ID                   one request in full\n"
	"  link-key new FILE         create a link key (0600) for both hosts\n"
	"  root init --dir DIR --subject /CN=.. [--key rsa:4096|ec:P-384|...]\n"
	"            [--days N] [--parent DIR] [--pathlen N]\n"
	"                            create a root or subroot CA directory\n";

static struct cfg cfg;

static void
ctl_usage(void)
{
	fputs(usage, stderr);
	exit(2);
}

static const char *
ctl_age(int64_t t, char *out, size_t n)
{
	int64_t a = time(NULL) - t;

	if (t == 0)
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

static struct db *
ctl_queue_db(void)
{
	struct db *q;

	if (queue_open(cfg.queue_db, 1, &q) == -1)
		errx(1, "%s: cannot open the queue database", cfg.queue_db);
	return q;
}

static int
ctl_status(void)
{
	struct db *q = ctl_queue_db(), *ca;
	int64_t n[Q_NSTATES], oldest;
	char age[32];
	int i;

	if (queue_counts(q, n, &oldest) == -1)
		errx(1, "%s: %s", cfg.queue_db, db_last_error(q));
	printf("queue %s\n", cfg.queue_db);
	for (i = 0; i < Q_NSTATES; i++)
		printf("  %-10s %8lld\n", queue_state_name(i), (long long)n[i]);
	printf("  oldest pending: %s\n", ctl_age(oldest, age, sizeof(age)));
	if (castore_open(cfg.ca_db, 1, &ca) == 0) {
		printf("ca %s\n  certificates %lld\n", cfg.ca_db,
		    (long long)castore_cert_count(ca, NULL));
		for (i = 0; i < cfg.nroots; i++)
			printf("  root %-20s %8lld issued\n", cfg.roots[i].name,
			    (long long)castore_cert_count(ca, cfg.roots[i].name));
		db_close(ca);
	}
	db_close(q);
	return 0;
}

static void
ctl_queue_row(void *arg, const struct queue_item *it)
{
	char id[33], age[32];

	(void)arg;
	reqid_hex(it->reqid, id);
	printf("%-32s %-9s %-9s %5s %-12.12s", id, msg_type_name(it->type),
	    queue_state_name(it->state), ctl_age(it->received, age, sizeof(age)),
	    it->root);
	if (it->state == Q_FAILED)
		printf(" %d %s", it->code, it->reason);
	printf("\n");
}

static int
ctl_queue(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, state = -1, max = 20, i;
	struct db *q;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			for (i = 0; i < Q_NSTATES; i++)
				if (strcmp(optarg, queue_state_name(i)) == 0)
					state = i;
			if (state == -1)
				errx(2, "unknown state \"%s\"", optarg);
			break;
		case 'n':
			max = atoi(optarg);
			break;
		default:
			ctl_usage();
		}
	}
	q = ctl_queue_db();
	printf("%-32s %-9s %-9s %5s %s\n", "REQUEST", "TYPE", "STATE", "AGE", "ROOT");
	if (queue_list(q, state, max, ctl_queue_row, NULL) == -1)
		errx(1, "%s: %s", cfg.queue_db, db_last_error(q));
	db_close(q);
	return 0;
}

static int
ctl_show(const char *hex)
{
	uint8_t reqid[AIRLOCK_REQID_LEN];
	struct queue_item it;
	struct buf req, ans;
	struct db *q;
	struct msg m;
	char age[32];
	int r;

	if (hex_decode(hex, reqid, sizeof(reqid)) == -1)
		errx(2, "a request id is 32 hex digits");
	q = ctl_queue_db();
	buf_init(&req);
	buf_init(&ans);
	if ((r = queue_get(q, reqid, &it, &req, &ans)) != 1)
		errx(1, "%s: %s", hex, r == 0 ? "no such request" : db_last_error(q));
	printf("request  %s\ntype     %s\nroot     %s\nstate    %s\nreceived %s ago\n",
	    hex, msg_type_name(it.type), it.root, queue_state_name(it.state),
	    ctl_age(it.received, age, sizeof(age)));
	if (msg_decode(req.p, req.len, &m) == AL_OK && m.type == MSG_SIGN)
		printf("profile  %.*s\ndays     %u\ncsr      %zu bytes\n",
		    (int)m.profile.len, m.profile.p, m.days, m.csr.len);
	if (ans.len && msg_decode(ans.p, ans.len, &m) == AL_OK) {
		printf("answer   %s (%zu bytes)\n", msg_type_name(m.type), ans.len);
		if (m.type == MSG_ERROR)
			printf("error    %u %.*s\n", m.code, (int)m.text.len, m.text.p);
	}
	buf_free(&req);
	buf_free(&ans);
	db_close(q);
	return 0;
}

static int
ctl_root_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "subject", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "days", required_argument, NULL, 'd' },
		{ "parent", required_argument, NULL, 'p' },
		{ "pathlen", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct ca_root_params rp;
	char why[1024];
	int ch;

	memset(&rp, 0, sizeof(rp));
	rp.key_type = "ec:P-384";
	rp.days = 3650;
	rp.pathlen = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'D': rp.dir = optarg; break;
		case 's': rp.subject = optarg; break;
		case 'k': rp.key_type = optarg; break;
		case 'd': rp.days = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'p': rp.parent_dir = optarg; break;
		case 'l': rp.pathlen = atoi(optarg); break;
		default: ctl_usage();
		}
	}
	if (rp.dir == NULL || rp.subject == NULL || optind != argc)
		errx(2, "root init needs --dir and --subject");
	if (ca_root_init(&rp, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	printf("created %s\n", rp.dir);
	return 0;
}

int
main(int argc, char **argv)
{
	struct proc_opts o;
	char why[1024];
	int i;

	i = proc_options(argc, argv, &o, usage);
	if (i >= argc)
		ctl_usage();
	argc -= i;
	argv += i;
	log_init("airlockctl", LOG_TO_STDERR, o.verbose);
	if (strcmp(argv[0], "link-key") == 0) {
		if (argc != 3 || strcmp(argv[1], "new") != 0)
			ctl_usage();
		if (linkkey_create(argv[2], why, sizeof(why)) == -1)
			errx(1, "%s", why);
		printf("created %s; copy it to the other host over a physical medium\n",
		    argv[2]);
		return 0;
	}
	if (strcmp(argv[0], "root") == 0) {
		if (argc < 2 || strcmp(argv[1], "init") != 0)
			ctl_usage();
		return ctl_root_init(argc - 1, argv + 1);
	}
	if (config_load(o.config, &cfg, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	if (strcmp(argv[0], "status") == 0 && argc == 1)
		return ctl_status();
	if (strcmp(argv[0], "queue") == 0)
		return ctl_queue(argc, argv);
	if (strcmp(argv[0], "show") == 0 && argc == 2)
		return ctl_show(argv[1]);
	ctl_usage();
	return 2;
}
