/*
 * client_cmd.c: airlock-client's one-shot commands: submit (a SIGN into
 * outbox.db), result, wait, status (the outbox's counts, or the signer
 * host's queue and clock through the running daemon).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crl.h"
#include "crypto.h"
#include "link.h"
#include "msg.h"
#include "pgp.h"
#include "pgp_client.h"
#include "proc.h"
#include "retention.h"
#include "sandbox.h"
#include "spool.h"
#include "state.h"
#include "store.h"
#include "timesync.h"
#include "transport.h"
#include "util.h"
#include "outbox.h"
#include "client_maint.h"
#include "crlsync.h"
#include "mirror.h"
#include "revoke.h"
#include "serialsync.h"
#include "client_int.h"


int
client_submit(struct client *cl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "days", required_argument, NULL, 'D' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ "spkac", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *root = NULL, *profile = NULL, *name = "";
	uint8_t reqid[AIRLOCK_REQID_LEN];
	long long days = 0;
	int ch, spkac = 0, have_id = 0, r;
	struct buf csr, m;
	char id[33];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': root = optarg; break;
		case 'p': profile = optarg; break;
		case 'D':
			if (parse_num(optarg, 0, 36500, &days) == -1)
				errx_usage("--days needs a number of days up to 36500 "
				    "(0: the profile's)");
			break;
		case 'n':
			if (!spool_name_ok(optarg))
				errx_usage("--name needs 1 to 100 of A-Z a-z 0-9 . _ -, "
				    "not starting with a dot");
			name = optarg;
			break;
		case 's': spkac = 1; break;
		case 'i':
			if (hex_decode(optarg, reqid, sizeof(reqid)) == -1)
				errx_usage("--id needs 32 hex digits");
			have_id = 1;
			break;
		default:
			errx_usage(NULL);
		}
	}
	if (root == NULL || profile == NULL || optind != argc - 1)
		errx_usage("submit needs --root, --profile and one CSR file");
	buf_init(&csr);
	buf_init(&m);
	if (read_file(argv[optind], &csr, CLIENT_MAX_REQ) == -1)
		fatal("%s", argv[optind]);
	if (!have_id && crypto_random(reqid, sizeof(reqid)) == -1)
		fatalx("random number generator failed");
	if (client_sign_msg(reqid, root, profile, (uint32_t)days, spkac, csr.p, csr.len,
	    &m) == -1)
		fatalx("%s: root, profile or CSR cannot form a valid request", argv[optind]);
	if ((r = outbox_add(cl->db, reqid, MSG_SIGN, name, m.p, m.len)) == -1)
		fatalx("%s: cannot store the request", cl->c.outbox_db);
	reqid_hex(reqid, id);
	printf("%s\n", id);
	if (r == 0)
		fprintf(stderr, "airlock-client: request %s was already queued\n", id);
	buf_free(&csr);
	buf_free(&m);
	return 0;
}

/* 0 done (certificate printed), 1 failed, 3 pending, 2 unknown */
int
client_result_one(struct client *cl, const char *hex, int print)
{
	uint8_t reqid[AIRLOCK_REQID_LEN];
	struct outbox_item it;
	struct buf ans, pem;
	struct msg m;
	int rv = 3;

	if (hex_decode(hex, reqid, sizeof(reqid)) == -1)
		errx_usage("a request id is 32 hex digits");
	buf_init(&ans);
	buf_init(&pem);
	if (cl->db == NULL || outbox_get(cl->db, reqid, &it, &ans) != 1) {
		fprintf(stderr, "airlock-client: %s: no such request\n", hex);
		return 2;
	}
	if (it.state >= O_DONE && msg_decode(ans.p, ans.len, &m) == AL_OK) {
		if (m.type == MSG_ERROR) {
			if (print)
				fprintf(stderr, "error %u: %.*s\n", m.code, (int)m.text.len,
				    m.text.p);
			rv = 1;
		} else {
			if (print && m.type == MSG_CERT &&
			    pem_encode("CERTIFICATE", m.cert.p, m.cert.len, &pem) == 0)
				fwrite(pem.p, 1, pem.len, stdout);
			else if (print && m.type == MSG_STATUS_REPLY)
				fwrite(m.text.p, 1, m.text.len, stdout);
			else if (print && m.type == MSG_PGP_CERTIFIED)
				rv = pgp_client_print(cl->c.state_dir, cl->db, &m, stdout);
			else if (print)
				crlsync_print(&m, stdout);
			if (m.type != MSG_PGP_CERTIFIED || !print)
				rv = 0;
		}
	} else if (print && it.code == AL_E_HELD &&
	    msg_decode(ans.p, ans.len, &m) == AL_OK && m.type == MSG_ERROR)
		printf("held (503): %.*s\n", (int)m.text.len, m.text.p);
	else if (print)
		printf("pending (%s)\n", outbox_state_name(it.state));
	buf_free(&ans);
	buf_free(&pem);
	return rv;
}

int
client_wait(struct client *cl, int argc, char **argv)
{
	uint64_t deadline = 0;
	int i, first = 1, pending;

	long long t;

	if (argc >= 3 && strcmp(argv[1], "--timeout") == 0) {
		if (parse_num(argv[2], 0, 86400 * 365, &t) == -1)
			errx_usage("--timeout needs a number of seconds");
		deadline = mono_ms() + (uint64_t)t * 1000;
		first = 3;
	}
	for (;;) {
		pending = 0;
		for (i = first; i < argc; i++)
			switch (client_result_one(cl, argv[i], 0)) {
			case 3:
				pending++;
				break;
			case 2:
				return 2;	/* no such request: waiting would be forever */
			}
		if (pending == 0)
			return 0;
		if (deadline && mono_ms() > deadline) {
			fprintf(stderr, "airlock-client: %d requests still pending\n", pending);
			return 3;
		}
		usleep(100000);
	}
}

/*
 * status --signer: a STATUS request through the outbox, answered by
 * airlock-linkd on the signer host (its queue and clock), printed here.
 * The running client daemon carries it like any other request.
 */
static int
client_signer_status(struct client *cl, unsigned timeout_s)
{
	uint8_t reqid[AIRLOCK_REQID_LEN];
	char id[33];
	struct buf b;
	struct msg m;
	uint64_t deadline = mono_ms() + (uint64_t)timeout_s * 1000;
	int rv;

	memset(&m, 0, sizeof(m));
	m.type = MSG_STATUS;
	if (crypto_random(reqid, sizeof(reqid)) == -1)
		fatalx("random number generator failed");
	memcpy(m.reqid, reqid, sizeof(reqid));
	buf_init(&b);
	if (msg_encode_checked(&m, &b) == -1 ||
	    outbox_add(cl->db, reqid, MSG_STATUS, "", b.p, b.len) == -1)
		fatalx("%s: cannot store the request", cl->c.outbox_db);
	buf_free(&b);
	reqid_hex(reqid, id);
	while ((rv = client_result_one(cl, id, 0)) == 3 && mono_ms() < deadline)
		usleep(100000);
	if (rv == 3) {
		fprintf(stderr, "airlock-client: no answer from the signer host within "
		    "%u s (is \"airlock-client run\" running, and the link up?); "
		    "request %s stays queued\n", timeout_s, id);
		return 3;
	}
	return client_result_one(cl, id, 1);
}

int
client_status(struct client *cl, int argc, char **argv)
{
	int64_t n[O_NSTATES];
	unsigned timeout_s = 30;
	long long t;
	int i;

	if (argc >= 2 && strcmp(argv[1], "--signer") == 0) {
		if (argc == 4 && strcmp(argv[2], "--timeout") == 0) {
			if (parse_num(argv[3], 0, 86400, &t) == -1)
				errx_usage("status --signer: --timeout needs a number of seconds up to 86400");
			timeout_s = (unsigned)t;
		} else if (argc != 2)
			errx_usage("status --signer [--timeout S]");
		return client_signer_status(cl, timeout_s);
	}
	if (argc != 1)
		errx_usage("status takes no argument but --signer [--timeout S]");
	memset(n, 0, sizeof(n));	/* no outbox.db yet: nothing queued */
	if (cl->db != NULL && outbox_counts(cl->db, n) == -1)
		return 1;
	for (i = 0; i < O_NSTATES; i++)
		printf("%-8s %lld\n", outbox_state_name(i), (long long)n[i]);
	return 0;
}

