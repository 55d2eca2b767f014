/*
 * ctlbackup.c: airlockctl backup, backup --verify and restore
 * (docs/operations.md). A backup of a running signer host: snapshots of
 * ca.db and queue.db through SQLite's online backup API (the daemons keep
 * running), the CA directories as they are (keys stay encrypted, a token
 * key stays a URI), the configuration, the link key, the audit key and
 * the audit head and the operators of dual control, in one file sealed to
 * a passphrase or to OpenPGP public keys (pgp_encrypt.c).
 *
 * A restore writes the files back to the paths they came from and leaves
 * ca.db.restored beside ca.db: the signer then signs nothing, makes no CRL
 * and appends nothing to its chain until webdb has sent back what it no
 * longer knows (docs/protocol.md section 9.8).
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "backup.h"
#include "castore.h"
#include "config.h"
#include "console.h"
#include "ctlbackup.h"
#include "util.h"

#define HEAD_NAME	BK_HEAD_NAME

/* The chain head of the snapshot, as an entry (and printed on restore). */
static int
bk_add_head(struct bk_archive *a, char *why, size_t whysz)
{
	const struct bk_entry *e = bk_find(a, "db/ca.db");
	char tmp[] = "/tmp/airlock-head.XXXXXX", line[128], hex[65];
	uint8_t hash[32] = { 0 };
	struct db *d = NULL;
	int64_t seq = 0;
	int fd, rv = -1;

	if (e == NULL)
		return 0;
	if ((fd = mkstemp(tmp)) == -1 || write_full(fd, a->data.p + e->off, e->size) == -1) {
		say(why, whysz, "scratch file: %s", strerror(errno));
		goto done;
	}
	if (castore_open(tmp, 1, &d) == -1 || audit_last_seq(d, &seq) == -1 ||
	    (seq > 0 && audit_hash_at(d, seq, hash) != 1)) {
		say(why, whysz, "cannot read the audit head of the snapshot");
		goto done;
	}
	hex_encode(hash, 32, hex);
	snprintf(line, sizeof(line), "%lld:%s\n", (long long)seq, hex);
	rv = bk_add(a, HEAD_NAME, "-", 0600, getuid(), getgid(), line, strlen(line), why, whysz);
done:
	db_close(d);
	if (fd != -1) {
		close(fd);
		unlink(tmp);
	}
	return rv;
}

static int
bk_collect_roots(struct bk_archive *a, const struct cfg_root *r, int n, char *why, size_t whysz)
{
	char prefix[BK_NAME_MAX];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "ca/%s", r[i].name);
		if (bk_add_dir(a, prefix, r[i].dir, 2, why, whysz) == -1)
			return -1;
	}
	return 0;
}

static int
bk_collect(const struct cfg *c, struct bk_archive *a, char *why, size_t whysz)
{
	size_t total = 7 + (size_t)c->nroots + (size_t)c->npgp_roots;
	char ops[CFG_PATH + 16];

	if (bk_add_db(a, "db/ca.db", c->ca_db, why, whysz) == -1 ||
	    bk_add_head(a, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, total, a->data.len);
	if (access(c->queue_db, F_OK) == 0 &&
	    bk_add_db(a, "db/queue.db", c->queue_db, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, total, a->data.len);
	snprintf(ops, sizeof(ops), "%s/operators", c->state_dir);
	if (bk_add_file(a, "conf/airlock.conf", c->path, why, whysz) == -1 ||
	    bk_add_file(a, "key/link.key", c->link.key_file, why, whysz) == -1 ||
	    (c->audit_key[0] && bk_add_file(a, "key/audit.key", c->audit_key, why, whysz) == -1) ||
	    (access(ops, F_OK) == 0 && bk_add_file(a, "key/operators", ops, why, whysz) == -1))
		return -1;
	bk_progress("backup", a->n, total, a->data.len);
	if (bk_collect_roots(a, c->roots, c->nroots, why, whysz) == -1 ||
	    bk_collect_roots(a, c->pgp_roots, c->npgp_roots, why, whysz) == -1)
		return -1;
	bk_progress("backup", a->n, a->n, a->data.len);
	return 0;
}

int
ctlbackup_backup(const struct cfg *c, int argc, char **argv)
{
	struct bk_archive a;
	struct bk_opts o;
	struct bk_seal seal;
	char why[1024];
	time_t t0 = time(NULL);
	int i, rv = 1;

	if ((i = bk_opts_parse(argc, argv, &o)) == -1 || o.force)
		return CONSOLE_USAGE;
	if (o.verify)
		return bk_verify_file(argv[i], &o);
	if (bk_seal_prepare(&o, &seal, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	bk_init(&a);
	if (bk_collect(c, &a, why, sizeof(why)) == -1 ||
	    bk_seal_write(&a, argv[i], &seal, why, sizeof(why)) == -1) {
		warnx("backup: %s", why);
		goto done;
	}
	bk_summary(&a, seal.what, argv[i]);
	printf("backup took %lld s\n", (long long)(time(NULL) - t0));
	rv = 0;
done:
	bk_seal_free(&seal);
	bk_free(&a);
	return rv;
}

/* ca.db.restored: the signer waits for webdb's catch-up while it exists. */
static int
bk_mark(const struct bk_archive *a, const struct bk_entry *db, char *why, size_t whysz)
{
	const struct bk_entry *h = bk_find(a, HEAD_NAME);
	struct bk_entry m = *db;
	struct bk_archive one;
	char text[256];
	int rv;

	snprintf(text, sizeof(text), "restored %lld head %.*s\n", (long long)time(NULL),
	    h ? (int)(h->size ? h->size - 1 : 0) : 1, h ? (const char *)a->data.p + h->off : "-");
	bk_init(&one);
	snprintf(m.path, sizeof(m.path), "%s.restored", db->path);
	m.mode = 0600;
	rv = bk_add(&one, "mark", m.path, 0600, 0, 0, text, strlen(text), why, whysz);
	if (rv == 0) {
		snprintf(one.e[0].owner, sizeof(one.e[0].owner), "%s", db->owner);
		snprintf(one.e[0].group, sizeof(one.e[0].group), "%s", db->group);
		rv = bk_put_entry(&one, &one.e[0], why, whysz);
	}
	bk_free(&one);
	return rv;
}

int
ctlbackup_restore(int argc, char **argv)
{
	struct bk_archive a;
	struct bk_opts o;
	const struct bk_entry *db;
	char why[1024];
	time_t t0 = time(NULL);
	int i, rv = 1;

	if ((i = bk_opts_parse(argc, argv, &o)) == -1 || o.plain || o.verify)
		return CONSOLE_USAGE;
	bk_init(&a);
	if (bk_read_in(argv[i], o.pass_file, o.ask, &a, why, sizeof(why)) == -1 ||
	    bk_targets_free(&a, o.force, why, sizeof(why)) == -1) {
		warnx("restore: %s", why);
		goto done;
	}
	if (bk_put_all(&a, why, sizeof(why)) == -1) {
		warnx("restore: %s", why);
		goto done;
	}
	if ((db = bk_find(&a, "db/ca.db")) != NULL && bk_mark(&a, db, why, sizeof(why)) == -1) {
		warnx("restore: %s", why);
		goto done;
	}
	bk_summary(&a, "restored", argv[i]);
	printf("restore took %lld s\n", (long long)(time(NULL) - t0));
	if (db != NULL)
		printf("the signer will sign nothing until webdb has brought it up to date "
		    "(airlockctl status shows the catch-up)\n");
	rv = 0;
done:
	bk_free(&a);
	return rv;
}
