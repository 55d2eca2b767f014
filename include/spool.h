/*
 * spool.h: the spool directory, the boundary with the web application
 * (src/common/spool.c). airlock-client reads spool/in and writes the
 * results; airlock-ocspd, another writer of spool/in, reads the answers
 * to its own requests (docs/ocsp.md). The web application is not
 * trusted: whatever it puts in
 * spool/in is read only if it is a regular file of its own with one link
 * and a bounded size, and names are checked where they enter and again
 * where a path is built from them.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

#define SPOOL_NAME_MAX	100		/* a request's name, without ".req" */

/* [A-Za-z0-9_-][A-Za-z0-9._-]{0,99}: 1 if the name may become a file name */
int	 spool_name_ok(const char *);
/*
 * Reads dirfd/name into b (at most max bytes) when it is a regular file
 * with one link that was not replaced between lstat and open: 0, or -1
 * with a sentence in why that never quotes the file's content.
 */
int	 spool_read(int dirfd, const char *name, struct buf *b, size_t max,
	    char *why, size_t whysz);
/* dir/sub/name+ext into out: 0, or -1 when name is not spool_name_ok */
int	 spool_path(const char *dir, const char *sub, const char *name,
	    const char *ext, char *out, size_t outsz);
/*
 * The next line from *p (before end) into line, without its newline: 1,
 * 0 at the end, -1 for a line too long or unterminated.
 */
int	 spool_line(const char **p, const char *end, char *line, size_t linesz);
/*
 * The spool's folders with their modes, whatever the umask (the units run
 * with UMask=0077): in/ 2770 (the web application, in the group, writes
 * there), out/ and err/ 2750 (it reads results), accepted/ and rejected/
 * 2750; the spool itself 2770 when made here. A folder of the client's
 * with another mode is corrected. 0, or -1 with a sentence in why.
 */
int	 spool_mkdirs(const char *spool_dir, char *why, size_t whysz);
/* A name for a log line: printable ASCII, anything else as \xHH, cut. */
void	 spool_name_show(const char *, char *out, size_t outsz);

/*
 * The result files of one read of the cable, made durable together
 * (airlock-client). spool_batch_put writes a file under a temporary name
 * beside its own, unsynced; spool_batch_commit syncs their file systems
 * once (syncfs(2): the data and inodes of every file), renames each to its
 * name, then fsyncs each folder, so that a name in out/ or err/ never
 * shows a file whose data could be lost in a crash. One file system sync
 * per read instead of an fsync per file: a third of the CPU and no sleep
 * per file (docs/architecture.md, step 8).
 */
#define SPOOL_BATCH_DIRS	4	/* folders one batch may write into */
struct spool_batch {
	struct spool_file { char *tmp, *path; } *f;
	size_t		 n, cap;
	struct {
		char	 path[PATH_MAX];
		int	 fd;	/* opened before the batch's first file there */
		dev_t	 dev;
	}		 dir[SPOOL_BATCH_DIRS];
	int		 ndir;
	unsigned	 seq;
};
void	 spool_batch_init(struct spool_batch *);
/* path written (mode, whatever the umask) under a temporary name: 0, or -1
 * with errno, nothing left behind */
int	 spool_batch_put(struct spool_batch *, const char *path, const void *,
	    size_t, int mode);
/* Everything put since the last commit, synced and renamed: 0, or -1 with
 * errno; after -1 the files not yet renamed are removed. Empty after. */
int	 spool_batch_commit(struct spool_batch *);
/* Removes the temporary files of everything put: the batch is empty. */
void	 spool_batch_abort(struct spool_batch *);
/* At the client's start: the temporary files a batch left in out/ and err/
 * (a crash before its renames) removed; how many */
int	 spool_batch_sweep(const char *spool_dir);
static inline size_t spool_batch_count(const struct spool_batch *b) { return b->n; }

#endif
