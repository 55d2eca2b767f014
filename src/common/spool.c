/*
 * spool.c: reading what the web application leaves in spool/in (the
 * client), and names and safe reads for airlock-ocspd, which writes
 * requests there too and reads their answers.
 *
 * The web application shares a group with spool/in and nothing else; it can
 * put any kind of file there: a symbolic link to the client's link key, a
 * hard link, a FIFO that would block an open(2) for ever, a device, a file
 * of gigabytes, a name with "..", control characters or a slash-free name
 * that is still unusable. The client must never read through such a file,
 * never block on it, and never quote what it read in an answer the web
 * application can see (a parse error that echoes a line would echo a key).
 * So: lstat first (nothing but a regular file is even opened), open with
 * O_NOFOLLOW|O_NONBLOCK, fstat the descriptor and compare it with the lstat
 * (a file replaced between scan and open is refused), one link only, and a
 * size cap checked before and while reading.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

int
spool_name_ok(const char *s)
{
	size_t n = strlen(s);

	/* no leading dot: no ".", "..", hidden or temporary names */
	return n > 0 && n <= SPOOL_NAME_MAX && s[0] != '.' && name_chars_ok(s, n);
}

int
spool_path(const char *dir, const char *sub, const char *name, const char *ext,
    char *out, size_t outsz)
{
	if (!spool_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)snprintf(out, outsz, "%s/%s/%s%s", dir, sub, name, ext) >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

void
spool_name_show(const char *s, char *out, size_t outsz)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
	}
	if (outsz > 0)
		out[o < outsz ? o : outsz - 1] = '\0';
}

static const char *
spool_kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" :
	    S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISDIR(m) ? "a directory" :
	    S_ISSOCK(m) ? "a socket" : "not a regular file";
}

/* The checks on the file itself, before and after open. */
static int
spool_check(const struct stat *st, size_t max, char *why, size_t whysz)
{
	if (!S_ISREG(st->st_mode)) {
		say(why, whysz, "refused: %s, not a regular file", spool_kind(st->st_mode));
		return -1;
	}
	if (st->st_nlink != 1) {
		say(why, whysz, "refused: the file has %lu hard links; only a "
		    "file with one link is read", (unsigned long)st->st_nlink);
		return -1;
	}
	if ((unsigned long long)st->st_size > max) {
		say(why, whysz, "refused: %lld bytes, more than the %zu a request "
		    "may have", (long long)st->st_size, max);
		return -1;
	}
	return 0;
}

static int
spool_read_fd(int fd, struct buf *b, size_t max, char *why, size_t whysz)
{
	uint8_t tmp[4096];
	ssize_t r;

	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			say(why, whysz, "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (b->len + (size_t)r > max) {	/* it grew while being read */
			say(why, whysz, "refused: more than the %zu bytes a request "
			    "may have", max);
			r = -1;
			break;
		}
		if (buf_put(b, tmp, (size_t)r) == -1) {
			say(why, whysz, "out of memory");
			r = -1;
			break;
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	return r == 0 ? 0 : -1;
}

int
spool_read(int dirfd, const char *name, struct buf *b, size_t max, char *why,
    size_t whysz)
{
	struct stat before, st;
	int fd, rv = -1;

	buf_reset(b);
	if (fstatat(dirfd, name, &before, AT_SYMLINK_NOFOLLOW) == -1) {
		say(why, whysz, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (spool_check(&before, max, why, whysz) == -1)
		return -1;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno == ELOOP)
			say(why, whysz, "refused: a symbolic link, not a regular file");
		else
			say(why, whysz, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1)
		say(why, whysz, "cannot read: %s", strerror(errno));
	else if (st.st_dev != before.st_dev || st.st_ino != before.st_ino)
		say(why, whysz, "refused: the file was replaced while being read");
	else if (spool_check(&st, max, why, whysz) == 0)
		rv = spool_read_fd(fd, b, max, why, whysz);
	close(fd);
	if (rv == -1)
		buf_reset(b);
	return rv;
}

int
spool_line(const char **p, const char *end, char *line, size_t linesz)
{
	const char *nl;

	if (*p >= end)
		return 0;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL || (size_t)(nl - *p) >= linesz)
		return -1;
	memcpy(line, *p, (size_t)(nl - *p));
	line[nl - *p] = '\0';
	*p = nl + 1;
	return 1;
}

/* One folder: made with its mode, or its mode set if it is ours. */
static int
spool_mkdir_one(const char *path, mode_t mode, char *why, size_t whysz)
{
	struct stat st;

	if (mkdir(path, mode) == -1 && errno != EEXIST) {
		say(why, whysz, "%s: cannot make the spool folder: %s", path,
		    strerror(errno));
		return -1;
	}
	if (lstat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		say(why, whysz, "%s: not a folder", path);
		return -1;
	}
	/* mkdir(2) applies the umask; chmod(2) does not */
	if (st.st_uid == geteuid() && (st.st_mode & 07777) != mode &&
	    chmod(path, mode) == -1) {
		say(why, whysz, "%s: cannot set mode %04o: %s", path,
		    (unsigned)mode, strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_mkdirs(const char *spool_dir, char *why, size_t whysz)
{
	static const struct {
		const char	*sub;
		mode_t		 mode;
	} subs[] = {
		{ "", 02770 }, { "/in", 02770 }, { "/out", 02750 },
		{ "/err", 02750 }, { "/accepted", 02750 }, { "/rejected", 02750 },
	};
	char p[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", spool_dir,
		    subs[i].sub) >= sizeof(p)) {
			say(why, whysz, "%s: path too long", spool_dir);
			return -1;
		}
		if (spool_mkdir_one(p, subs[i].mode, why, whysz) == -1)
			return -1;
	}
	return 0;
}

void
spool_batch_init(struct spool_batch *b)
{
	memset(b, 0, sizeof(*b));
}

/* The folder of path, opened once per batch (before its first file there,
 * so that syncfs reports a write-back error of any file after it): its
 * index, or -1 */
static int
spool_batch_dir(struct spool_batch *b, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	struct stat st;
	int i, fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
	    (int)(slash - path), path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < b->ndir; i++)
		if (strcmp(b->dir[i].path, dir) == 0)
			return i;
	if (b->ndir == SPOOL_BATCH_DIRS) {
		errno = EMFILE;		/* more folders than one read writes */
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return -1;
	}
	snprintf(b->dir[i].path, sizeof(b->dir[i].path), "%s", dir);
	b->dir[i].fd = fd;
	b->dir[i].dev = st.st_dev;
	b->ndir++;
	return i;
}

/* The batch emptied; the temporary files from the first not renamed (from)
 * removed */
static void
spool_batch_clear(struct spool_batch *b, size_t from)
{
	size_t i;
	int saved = errno, d;

	for (i = 0; i < b->n; i++) {
		if (i >= from)
			(void)unlink(b->f[i].tmp);
		free(b->f[i].tmp);
		free(b->f[i].path);
	}
	free(b->f);
	for (d = 0; d < b->ndir; d++)
		close(b->dir[d].fd);
	b->f = NULL;
	b->n = b->cap = 0;
	b->ndir = 0;
	errno = saved;
}

int
spool_batch_put(struct spool_batch *b, const char *path, const void *p, size_t n,
    int mode)
{
	struct spool_file *f;
	char tmp[PATH_MAX];

	if (spool_batch_dir(b, path) == -1)
		return -1;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", path, (long)getpid(),
	    b->seq++) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		if ((f = realloc(b->f, cap * sizeof(*f))) == NULL)
			return -1;
		b->f = f;
		b->cap = cap;
	}
	if (write_file_new(tmp, p, n, mode, 0) == -1)
		return -1;
	f = &b->f[b->n];
	if ((f->tmp = strdup(tmp)) == NULL || (f->path = strdup(path)) == NULL) {
		free(f->tmp);
		unlink(tmp);
		errno = ENOMEM;
		return -1;
	}
	b->n++;
	return 0;
}

int
spool_batch_commit(struct spool_batch *b)
{
	size_t i;
	int d, e;

	/* the data and inodes, once per file system */
	for (d = 0; d < b->ndir; d++) {
		for (e = 0; e < d && b->dir[e].dev != b->dir[d].dev; e++)
			;
		if (e == d && syncfs(b->dir[d].fd) == -1) {
			spool_batch_clear(b, 0);
			return -1;
		}
	}
	for (i = 0; i < b->n; i++)
		if (rename(b->f[i].tmp, b->f[i].path) == -1) {
			spool_batch_clear(b, i);
			return -1;
		}
	/* the names */
	for (d = 0; d < b->ndir; d++)
		if (fsync(b->dir[d].fd) == -1) {
			spool_batch_clear(b, b->n);
			return -1;
		}
	spool_batch_clear(b, b->n);
	return 0;
}

void
spool_batch_abort(struct spool_batch *b)
{
	spool_batch_clear(b, 0);
}

/* NAME.EXT.tmp.PID.N, as spool_batch_put names its files */
static int
spool_batch_name(const char *s)
{
	const char *t = strstr(s, ".tmp.");
	int dots = 0;

	if (t == NULL)
		return 0;
	for (t += 5; *t != '\0'; t++) {
		if (*t == '.' && t[-1] != '.' && t[1] != '\0')
			dots++;
		else if (*t < '0' || *t > '9')
			return 0;
	}
	return dots == 1;
}

int
spool_batch_sweep(const char *spool_dir)
{
	static const char *const subs[] = { "out", "err" };
	char path[PATH_MAX];
	struct dirent *e;
	size_t i;
	DIR *d;
	int n = 0;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", spool_dir, subs[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL)
			if (spool_batch_name(e->d_name) &&
			    unlinkat(dirfd(d), e->d_name, 0) == 0)
				n++;
		closedir(d);
	}
	return n;
}
