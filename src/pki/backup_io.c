/*
 * backup_io.c: what both hosts' backup commands share (include/backup.h):
 * a live database into the archive (SQLite's online backup API through
 * db_snapshot, so the daemons keep running), a directory's files, the
 * progress line, the passphrase, and writing entries back on restore
 * (refusing to replace anything that exists unless forced).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "store.h"

int
bk_add_db(struct bk_archive *a, const char *name, const char *path,
    char *why, size_t whysz)
{
	char dir[] = "/tmp/airlock-backup.XXXXXX", tmp[PATH_MAX];
	struct stat st;
	int rv = -1;

	if (stat(path, &st) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (mkdtemp(dir) == NULL) {
		say(why, whysz, "cannot make a scratch directory: %s", strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s/snapshot.db", dir);
	if (db_snapshot(path, tmp, why, whysz) == 0 &&
	    bk_add_file(a, name, tmp, why, whysz) == 0) {
		/* the entry keeps the live file's path, mode and owner */
		struct bk_entry *e = &a->e[a->n - 1];

		snprintf(e->path, sizeof(e->path), "%s", path);
		e->mode = st.st_mode & 07777;
		bk_owner_names(st.st_uid, st.st_gid, e);
		rv = 0;
	}
	unlink(tmp);
	rmdir(dir);
	return rv;
}

int
bk_add_dir(struct bk_archive *a, const char *prefix, const char *dir, int depth,
    char *why, size_t whysz)
{
	char path[PATH_MAX], name[BK_NAME_MAX];
	struct dirent **ents;
	struct stat st;
	int i, n, rv = 0;

	if ((n = scandir(dir, &ents, NULL, alphasort)) == -1) {
		say(why, whysz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;

		if (rv == -1 || f[0] == '.' || strchr(f, ' ') || strchr(f, '\n') ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir, f) >= sizeof(path) ||
		    (size_t)snprintf(name, sizeof(name), "%s/%s", prefix, f) >= sizeof(name) ||
		    lstat(path, &st) == -1)
			continue;
		if (S_ISREG(st.st_mode))
			rv = bk_add_file(a, name, path, why, whysz);
		else if (S_ISDIR(st.st_mode) && depth > 0)
			rv = bk_add_dir(a, name, path, depth - 1, why, whysz);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rv;
}

void
bk_progress(const char *what, size_t done, size_t total, uint64_t bytes)
{
	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "\r%s: %zu/%zu files, %.1f MiB%s", what, done, total,
	    (double)bytes / 1048576.0, done == total ? "\n" : "   ");
	fflush(stderr);
}

int
bk_passphrase(const char *pass_file, int ask, int confirm, char *out, size_t outsz,
    char *why, size_t whysz)
{
	struct buf b;
	char again[256];

	buf_init(&b);
	if (pass_file != NULL) {
		if (read_file(pass_file, &b, outsz - 1) == -1) {
			say(why, whysz, "%s: cannot read: %s", pass_file, strerror(errno));
			return -1;
		}
		while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
			b.len--;
		memcpy(out, b.p, b.len);
		out[b.len] = '\0';
		buf_free(&b);
	} else if (!ask || askpass("backup passphrase: ", out, outsz) == -1) {
		say(why, whysz, "no passphrase: give --pass-file F, or run on a terminal");
		return -1;
	} else if (confirm) {
		if (askpass("again: ", again, sizeof(again)) == -1 || strcmp(again, out) != 0) {
			explicit_bzero(again, sizeof(again));
			say(why, whysz, "the passphrases differ");
			return -1;
		}
		explicit_bzero(again, sizeof(again));
	}
	if (strlen(out) < 8) {
		say(why, whysz, "the passphrase is shorter than 8 characters");
		return -1;
	}
	return 0;
}

int
bk_read_in(const char *file, const char *pass_file, int ask, struct bk_archive *a,
    char *why, size_t whysz)
{
	struct buf in;
	char pass[256] = "", keys[128];
	int rv = -1, sealed;

	buf_init(&in);
	if (read_file(strcmp(file, "-") == 0 ? "/dev/stdin" : file, &in, 1ull << 32) == -1) {
		say(why, whysz, "%s: cannot read: %s", file, strerror(errno));
		goto done;
	}
	if (pgp_recipients(in.p, in.len, keys, sizeof(keys)) > 0) {
		say(why, whysz, "the backup is encrypted to OpenPGP key(s) %s: decrypt it where "
		    "the secret key is (gpg --decrypt %s > PLAIN) and give PLAIN, or \"-\" to "
		    "read it from a pipe", keys, strcmp(file, "-") == 0 ? "FILE" : file);
		goto done;
	}
	if ((sealed = bk_sealed(in.p, in.len)) == 1 &&
	    bk_passphrase(pass_file, ask, 0, pass, sizeof(pass), why, whysz) == -1)
		goto done;
	rv = bk_decode(in.p, in.len, sealed == 1 ? pass : NULL, a, why, whysz);
done:
	explicit_bzero(pass, sizeof(pass));
	buf_free(&in);
	return rv;
}

static int
bk_mkdirs(const char *path)
{
	char d[PATH_MAX], *s;

	snprintf(d, sizeof(d), "%s", path);
	if ((s = strrchr(d, '/')) == NULL || s == d)
		return 0;
	*s = '\0';
	for (s = d + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(d, 0700) == -1 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(d, 0700) == -1 && errno != EEXIST ? -1 : 0;
}

/* The entry's file, atomically; its owner by name when we are root. */
int
bk_put_entry(const struct bk_archive *a, const struct bk_entry *e, char *why, size_t whysz)
{
	struct passwd *pw;
	struct group *gr;
	char side[PATH_MAX];

	if (bk_mkdirs(e->path) == -1 ||
	    write_file_atomic(e->path, a->data.p + e->off, e->size, (int)(e->mode & 0777)) == -1) {
		say(why, whysz, "%s: %s", e->path, strerror(errno));
		return -1;
	}
	chmod(e->path, e->mode & 07777);	/* not narrowed by the umask */
	if (geteuid() == 0 && (pw = getpwnam(e->owner)) != NULL &&
	    chown(e->path, pw->pw_uid, (gr = getgrnam(e->group)) ? gr->gr_gid : pw->pw_gid) == -1)
		log_warn("%s: chown", e->path);
	/* a database: what a WAL beside it says belongs to the state replaced */
	snprintf(side, sizeof(side), "%s-wal", e->path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", e->path);
	unlink(side);
	return 0;
}

int
bk_targets_free(const struct bk_archive *a, int force, char *why, size_t whysz)
{
	size_t i, busy = 0;
	const char *first = NULL;

	for (i = 0; i < a->n; i++)
		if (a->e[i].path[0] == '/' && access(a->e[i].path, F_OK) == 0) {
			busy++;
			if (first == NULL)
				first = a->e[i].path;
		}
	if (busy && !force) {
		say(why, whysz, "%zu file(s) of the backup exist already (%s): this is live "
		    "state; stop the daemons and use --force to replace it", busy, first);
		return -1;
	}
	return 0;
}
