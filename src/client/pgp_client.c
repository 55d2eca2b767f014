/*
 * pgp_client.c: airlock-client's OpenPGP requests. A spool file
 * spool/in/NAME.req that starts with the line "type=pgp":
 *
 *   type=pgp
 *   root=ROOT
 *   profile=PROFILE
 *   email=alice@example.org        (one line per verified address)
 *   days=366                       (optional)
 *   id=32 HEX DIGITS               (optional)
 *   -----BEGIN PGP PUBLIC KEY BLOCK-----
 *   ...
 *
 * (or an empty line and then the binary key), and the command
 * `airlock-client pgp-certify`. The answer's signatures are checked against
 * the root's public key, state_dir/pgp/ROOT.asc (put there by the operator,
 * from the root's ca.asc), merged into the submitted key, and the result is
 * spool/out/NAME.asc; anything wrong gives spool/err/NAME.err.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "msg.h"
#include "pgp.h"
#include "pgp_client.h"
#include "outbox.h"

int
pgp_spool_is(const struct buf *f)
{
	return f->len >= 9 && memcmp(f->p, "type=pgp\n", 9) == 0;
}

static int
spool_email(struct pgp_spool *s, const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || s->emailslen + n + 1 >= sizeof(s->emails))
		return -1;
	if (s->emailslen > 0)
		s->emails[s->emailslen++] = '\n';
	memcpy(s->emails + s->emailslen, a, n);
	s->emailslen += n;
	s->emails[s->emailslen] = '\0';
	return 0;
}

/* One header line; 0 or -1. */
static int
spool_line(struct pgp_spool *s, const char *l)
{
	long long v;

	if (strncmp(l, "root=", 5) == 0 && name_ok(l + 5, strlen(l + 5)))
		snprintf(s->root, sizeof(s->root), "%s", l + 5);
	else if (strncmp(l, "profile=", 8) == 0 && name_ok(l + 8, strlen(l + 8)))
		snprintf(s->profile, sizeof(s->profile), "%s", l + 8);
	else if (strncmp(l, "email=", 6) == 0)
		return spool_email(s, l + 6);
	else if (strncmp(l, "days=", 5) == 0 && parse_num(l + 5, 1, 36500, &v) == 0)
		s->days = (uint32_t)v;
	else if (strncmp(l, "id=", 3) == 0 && hex_decode(l + 3, s->reqid,
	    AIRLOCK_REQID_LEN) == 0)
		s->have_id = 1;
	else if (strcmp(l, "type=pgp") != 0 && l[0] != '#')
		return -1;
	return 0;
}

int
pgp_spool_parse(const struct buf *f, struct pgp_spool *s, char *why, size_t whysz)
{
	const char *p = (const char *)f->p, *end = p != NULL ? p + f->len : p, *nl;
	char line[512];

	memset(s, 0, sizeof(*s));
	while (p < end && !(end - p >= 5 && memcmp(p, "-----", 5) == 0)) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
			return pgp_fail(why, whysz, "header line too long or unterminated");
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (line[0] == '\0')
			break;	/* a binary key follows */
		if (spool_line(s, line) == -1)
			return pgp_fail(why, whysz, "unknown or bad header line \"%.60s\"", line);
	}
	if (s->root[0] == '\0' || s->profile[0] == '\0' || s->emailslen == 0 || p >= end)
		return pgp_fail(why, whysz, "needs root=, profile=, email= and a key after them");
	s->key = (const uint8_t *)p;
	s->keylen = (size_t)(end - p);
	return 0;
}

int
pgp_spool_msg(const struct pgp_spool *s, struct buf *out)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_PGP_CERTIFY;
	memcpy(m.reqid, s->reqid, AIRLOCK_REQID_LEN);
	m.root = (struct msg_bytes){ (const uint8_t *)s->root, strlen(s->root) };
	m.profile = (struct msg_bytes){ (const uint8_t *)s->profile, strlen(s->profile) };
	m.pgp_key = (struct msg_bytes){ s->key, s->keylen };
	m.emails = (struct msg_bytes){ (const uint8_t *)s->emails, s->emailslen };
	m.present = 1u << T_ROOT | 1u << T_PROFILE | 1u << T_PGP_KEY | 1u << T_EMAILS;
	if (s->days) {
		m.days = s->days;
		MSG_SET(&m, T_DAYS);
	}
	return msg_encode_checked(&m, out);
}

static int
pgp_client_usage(const char *why)
{
	fprintf(stderr, "airlock-client: %s\nusage: airlock-client pgp-certify --root R "
	    "--profile P --email ADDR [--email ADDR ...]\n       [--days N] [--id HEX] "
	    "[--name NAME] KEYFILE\n", why);
	return 2;
}

int
pgp_client_command(struct db *outbox, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "email", required_argument, NULL, 'e' },
		{ "days", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct pgp_spool s;
	const char *name = "";
	struct buf key, m;
	char id[33], line[300];
	int ch, r;

	memset(&s, 0, sizeof(s));
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'n') {
			name = optarg;
			continue;
		}
		snprintf(line, sizeof(line), "%s=%s", ch == 'r' ? "root" : ch == 'p' ?
		    "profile" : ch == 'e' ? "email" : ch == 'd' ? "days" : "id", optarg);
		if (ch == '?' || spool_line(&s, line) == -1)
			return pgp_client_usage("pgp-certify: bad option or value");
	}
	if (s.root[0] == '\0' || s.profile[0] == '\0' || s.emailslen == 0 ||
	    optind != argc - 1)
		return pgp_client_usage("pgp-certify needs --root, --profile, --email and a key file");
	buf_init(&key);
	buf_init(&m);
	if (read_file(argv[optind], &key, PGP_MAX_KEY) == -1) {
		fprintf(stderr, "airlock-client: %s: cannot read (or larger than %u bytes)\n",
		    argv[optind], PGP_MAX_KEY);
		return 1;
	}
	s.key = key.p;
	s.keylen = key.len;
	if (!s.have_id && crypto_random(s.reqid, sizeof(s.reqid)) == -1)
		fatalx("random number generator failed");
	if (pgp_spool_msg(&s, &m) == -1 || (r = outbox_add(outbox, s.reqid,
	    MSG_PGP_CERTIFY, name, m.p, m.len)) == -1) {
		buf_free(&key);
		buf_free(&m);
		fprintf(stderr, "airlock-client: cannot queue the request\n");
		return 1;
	}
	buf_free(&key);
	buf_free(&m);
	reqid_hex(s.reqid, id);
	printf("%s\n", id);
	if (r == 0)
		fprintf(stderr, "airlock-client: request %s was already queued\n", id);
	return 0;
}

/* The certified key from a PGP_CERTIFIED answer, ASCII-armoured in out. */
int
pgp_client_merge(const char *state_dir, struct db *outbox, const struct msg *a,
    struct buf *out, char *why, size_t whysz)
{
	char path[4096];
	struct buf req, root;
	struct msg q;
	int rc = -1;

	buf_init(&req);
	buf_init(&root);
	snprintf(path, sizeof(path), "%s/pgp/%.*s.asc", state_dir, (int)a->root.len,
	    a->root.p);
	if (outbox_request(outbox, a->reqid, &req) != 1 ||
	    msg_decode(req.p, req.len, &q) != AL_OK || q.type != MSG_PGP_CERTIFY)
		pgp_fail(why, whysz, "the request of this answer is not in the outbox");
	else if (read_file(path, &root, PGP_MAX_KEY) == -1)
		pgp_fail(why, whysz, "%s: cannot read the root's public key", path);
	else
		rc = pgp_merge(root.p, root.len, q.pgp_key.p, q.pgp_key.len,
		    a->pgp_sigs.p, a->pgp_sigs.len, out, why, whysz);
	buf_free(&req);
	buf_free(&root);
	return rc;
}

int
pgp_client_print(const char *state_dir, struct db *outbox, const struct msg *m,
    FILE *f)
{
	struct buf asc;
	char why[256];
	int rv = 0;

	buf_init(&asc);
	if (pgp_client_merge(state_dir, outbox, m, &asc, why, sizeof(why)) == 0)
		fwrite(asc.p, 1, asc.len, f);
	else {
		fprintf(stderr, "airlock-client: error 500: %s\n", why);
		rv = 1;
	}
	buf_free(&asc);
	return rv;
}
