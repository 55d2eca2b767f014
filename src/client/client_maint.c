/*
 * client_maint.c: airlock-client's maintenance commands: prune (the
 * daemon's hourly pruning, at once), and backup and restore of webdb's
 * state (docs/operations.md): snapshots of outbox.db and the audit mirror
 * audit.db through SQLite's online backup API (the client keeps running),
 * the configuration, the link key, the pinned audit key and the CRL files,
 * in the same file format as the signer host's backup (src/pki/backup.c).
 * webdb's state is what a restored signer is rebuilt from, so it is backed
 * up more often than the signer's (docs/operations.md).
 */
#include <err.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "client_maint.h"
#include "config.h"
#include "outbox.h"
#include "retention.h"
#include "util.h"

int
client_prune_cmd(const struct cfg *c, struct db *db)
{
	struct retention ret;
	int64_t n;

	if (c->client_retention_days == 0) {
		printf("client.retention_days is 0: answered requests are kept "
		    "for ever; nothing pruned\n");
		return 0;
	}
	retention_init(&ret, db, outbox_prune, "outbox.db",
	    "answered requests", c->client_retention_days, 0);
	if (retention_run(&ret, time(NULL), &n) == -1) {
		fprintf(stderr, "airlock-client: %s: pruning stopped by the error "
		    "above after %lld rows\n", c->outbox_db, (long long)n);
		return 1;
	}
	printf("pruned %lld answered requests older than %u days from %s\n",
	    (long long)n, c->client_retention_days, c->outbox_db);
	return 0;
}

static int
client_collect(const struct cfg *c, struct bk_archive *a, char *why, size_t whysz)
{
	if (bk_add_db(a, "db/outbox.db", c->outbox_db, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, 6, a->data.len);
	if (access(c->audit_db, F_OK) == 0 &&
	    bk_add_db(a, "db/audit.db", c->audit_db, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, 6, a->data.len);
	if (bk_add_file(a, "conf/airlock-client.conf", c->path, why, whysz) == -1 ||
	    bk_add_file(a, "key/link.key", c->link.key_file, why, whysz) == -1 ||
	    (c->audit_pubkey[0] &&
	    bk_add_file(a, "key/audit.pub", c->audit_pubkey, why, whysz) == -1))
		return -1;
	if (access(c->crl_dir, F_OK) == 0 && bk_add_dir(a, "crl", c->crl_dir, 0, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, a->n, a->data.len);
	return 0;
}

int
client_backup_cmd(const struct cfg *c, int argc, char **argv)
{
	struct bk_archive a;
	struct bk_opts o;
	struct bk_seal seal;
	char why[1024];
	int i, rv = 1;

	if ((i = bk_opts_parse(argc, argv, &o)) == -1 || o.force)
		errx(2, "usage: airlock-client backup [--pass-file F | --no-encrypt | --to KEYFILE ...] "
		    "FILE | backup --verify [--pass-file F] FILE");
	if (o.verify)
		return bk_verify_file(argv[i], &o);
	if (bk_seal_prepare(&o, &seal, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	bk_init(&a);
	if (client_collect(c, &a, why, sizeof(why)) == -1 ||
	    bk_seal_write(&a, argv[i], &seal, why, sizeof(why)) == -1)
		warnx("backup: %s", why);
	else {
		bk_summary(&a, seal.what, argv[i]);
		rv = 0;
	}
	bk_seal_free(&seal);
	bk_free(&a);
	return rv;
}

int
client_restore_cmd(int argc, char **argv)
{
	struct bk_archive a;
	struct bk_opts o;
	char why[1024];
	int i, rv = 1;

	if ((i = bk_opts_parse(argc, argv, &o)) == -1 || o.plain || o.verify)
		errx(2, "usage: airlock-client restore [--pass-file F] [--force] FILE");
	bk_init(&a);
	if (bk_read_in(argv[i], o.pass_file, o.ask, &a, why, sizeof(why)) == -1 ||
	    bk_find(&a, "db/outbox.db") == NULL ||
	    bk_targets_free(&a, o.force, why, sizeof(why)) == -1 ||
	    bk_put_all(&a, why, sizeof(why)) == -1) {
		warnx("restore: %s", bk_find(&a, "db/outbox.db") || a.n == 0 ? why :
		    "not a backup of webdb (no outbox.db in it)");
		goto done;
	}
	bk_summary(&a, "restored", argv[i]);
	rv = 0;
done:
	bk_free(&a);
	return rv;
}
