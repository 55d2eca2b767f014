/*
 * backup_cmd.c: the command-line halves both hosts' backup commands share
 * (airlockctl backup|restore, airlock-client backup|restore): options,
 * --verify, the summary line and writing every entry back.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"

int
bk_opts_parse(int argc, char **argv, struct bk_opts *o)
{
	static const struct option lo[] = {
		{ "pass-file", required_argument, NULL, 'p' },
		{ "no-encrypt", no_argument, NULL, 'n' },
		{ "verify", no_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
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
		default: return -1;
		}
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
