/*
 * backup_cmd.c: the command-line halves both hosts' backup commands share
 * (airlockctl backup|restore, airlock-client backup|restore): options,
 * --verify, the summary line and writing every entry back.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "util.h"

int
bk_opts_parse(int argc, char **argv, struct bk_opts *o)
{
	static const struct option lo[] = {
		{ "pass-file", required_argument, NULL, 'p' },
		{ "no-encrypt", no_argument, NULL, 'n' },
		{ "verify", no_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->ask = isatty(STDIN_FILENO);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1)
		switch (ch) {
		case 'p': o->pass_file = optarg; break;
		case 'n': o->plain = 1; break;
		case 'v': o->verify = 1; break;
		case 'f': o->force = 1; break;
		case 't':
			if (o->nto == PGP_MAX_RECIPIENTS)
				return -1;
			o->to[o->nto++] = optarg;
			break;
		default: return -1;
		}
	if (o->nto > 0 && (o->plain || o->pass_file != NULL || o->verify || o->force))
		return -1;	/* --to seals a new backup, to keys only */
	return optind == argc - 1 ? optind : -1;
}

void
bk_summary(const struct bk_archive *a, const char *verb, const char *file)
{
	const struct bk_entry *h = bk_find(a, BK_HEAD_NAME);

	printf("%s %s: %zu files, %llu bytes", verb, file, a->n,
	    (unsigned long long)a->data.len);
	if (h != NULL)
		printf(", audit head %.*s", (int)(h->size ? h->size - 1 : 0),
		    (const char *)a->data.p + h->off);
	printf("\n");
}

int
bk_verify_file(const char *file, const struct bk_opts *o)
{
	struct bk_archive a;
	struct buf m;
	char why[1024];

	bk_init(&a);
	buf_init(&m);
	if (bk_read_in(file, o->pass_file, o->ask, &a, why, sizeof(why)) == -1) {
		bk_free(&a);
		errx(1, "%s: %s", file, why);
	}
	if (bk_manifest(&a, &m) == 0)
		fwrite(m.p, 1, m.len, stdout);
	bk_summary(&a, "verified", file);
	buf_free(&m);
	bk_free(&a);
	return 0;
}

int
bk_seal_prepare(const struct bk_opts *o, struct bk_seal *s, char *why, size_t whysz)
{
	struct buf k;
	char reason[512];
	size_t used;
	int i;

	memset(s, 0, sizeof(*s));
	if (o->plain) {
		snprintf(s->what, sizeof(s->what), "wrote (not encrypted)");
		return 0;
	}
	if (o->nto == 0) {
		snprintf(s->what, sizeof(s->what), "wrote (sealed to a passphrase)");
		return bk_passphrase(o->pass_file, o->ask, 1, s->pass, sizeof(s->pass), why, whysz);
	}
	used = (size_t)snprintf(s->what, sizeof(s->what), "wrote (encrypted to OpenPGP key");
	buf_init(&k);
	for (i = 0; i < o->nto; i++) {
		k.len = 0;
		if (read_file(o->to[i], &k, PGP_MAX_KEY) == -1) {
			say(why, whysz, "%s: cannot read: %s", o->to[i], strerror(errno));
			break;
		}
		if (pgp_enc_key(k.p, k.len, time(NULL), &s->to[i], reason, sizeof(reason)) == -1) {
			say(why, whysz, "%s: %s", o->to[i], reason);
			break;
		}
		s->nto++;
		if (used < sizeof(s->what))
			used += (size_t)snprintf(s->what + used, sizeof(s->what) - used,
			    " %s", s->to[i].primary_hex);
	}
	buf_free(&k);
	if (s->nto < o->nto) {
		bk_seal_free(s);
		return -1;
	}
	if (used < sizeof(s->what))
		snprintf(s->what + used, sizeof(s->what) - used, ")");
	return 0;
}

int
bk_seal_write(const struct bk_archive *a, const char *file, const struct bk_seal *s,
    char *why, size_t whysz)
{
	struct buf out, msg;
	int rv = -1;

	buf_init(&out);
	buf_init(&msg);
	if (s->nto > 0) {
		if (bk_encode(a, NULL, &msg, why, whysz) == -1 ||
		    pgp_encrypt(s->to, s->nto, "airlock-backup", (uint32_t)time(NULL), msg.p,
		    msg.len, &out, why, whysz) == -1)
			goto done;
	} else if (bk_encode(a, s->pass[0] ? s->pass : NULL, &out, why, whysz) == -1)
		goto done;
	if (write_file_atomic(file, out.p, out.len, 0600) == -1)
		say(why, whysz, "%s: %s", file, strerror(errno));
	else
		rv = 0;
done:
	buf_free(&msg);
	buf_free(&out);
	return rv;
}

void
bk_seal_free(struct bk_seal *s)
{
	int i;

	for (i = 0; i < s->nto; i++)
		pgp_enc_key_free(&s->to[i]);
	explicit_bzero(s->pass, sizeof(s->pass));
	s->nto = 0;
}

int
bk_put_all(const struct bk_archive *a, char *why, size_t whysz)
{
	size_t k;

	for (k = 0; k < a->n; k++) {
		if (a->e[k].path[0] != '/')
			continue;	/* the audit head: not a file */
		if (bk_put_entry(a, &a->e[k], why, whysz) == -1)
			return -1;
		bk_progress("restore", k + 1, a->n, a->e[k].off + a->e[k].size);
	}
	return 0;
}
