/*
 * enospc.c: an LD_PRELOAD shim that makes the disk look full, for
 * tests/integration/t_diskfull.sh. While the file named by
 * AIRLOCK_ENOSPC_CONTROL exists, every write to a file whose path starts
 * with AIRLOCK_ENOSPC_PATH fails with ENOSPC: write, pwrite, writev,
 * pwritev, a growing ftruncate, fallocate, and fsync/fdatasync (a kernel
 * that could not write back dirty pages reports it there). Other files,
 * sockets, FIFOs and terminals are left alone, and nothing changes when the
 * control file is removed: the "disk" has room again.
 *
 * Fault injection from outside, as STYLE.md asks (SQLite's os_unix.c
 * aSyscall[] is the model): the daemons carry no test hooks. Works under
 * the daemons' seccomp filter, which allows stat(2) and readlink(2).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* 1 if a write to fd must fail now */
static int
enospc_now(int fd)
{
	const char *dir = getenv("AIRLOCK_ENOSPC_PATH");
	const char *ctl = getenv("AIRLOCK_ENOSPC_CONTROL");
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int saved = errno;

	if (dir == NULL || ctl == NULL || dir[0] == '\0' || stat(ctl, &st) == -1) {
		errno = saved;
		return 0;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	errno = saved;
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return strncmp(path, dir, strlen(dir)) == 0;
}

#define ENOSPC_NEXT(type, name, args)					\
	static type (*next) args;					\
	if (next == NULL)						\
		next = (type (*) args)dlsym(RTLD_NEXT, name)

#define ENOSPC_FAIL(fd, rv) do {					\
	if (enospc_now(fd)) {						\
		errno = ENOSPC;						\
		return rv;						\
	}								\
} while (0)

ssize_t
write(int fd, const void *p, size_t n)
{
	ENOSPC_NEXT(ssize_t, "write", (int, const void *, size_t));
	ENOSPC_FAIL(fd, -1);
	return next(fd, p, n);
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	ENOSPC_NEXT(ssize_t, "pwrite", (int, const void *, size_t, off_t));
	ENOSPC_FAIL(fd, -1);
	return next(fd, p, n, off);
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off64_t off)
{
	ENOSPC_NEXT(ssize_t, "pwrite64", (int, const void *, size_t, off64_t));
	ENOSPC_FAIL(fd, -1);
	return next(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	ENOSPC_NEXT(ssize_t, "writev", (int, const struct iovec *, int));
	ENOSPC_FAIL(fd, -1);
	return next(fd, iov, cnt);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ENOSPC_NEXT(ssize_t, "pwritev", (int, const struct iovec *, int, off_t));
	ENOSPC_FAIL(fd, -1);
	return next(fd, iov, cnt, off);
}

int
fsync(int fd)
{
	ENOSPC_NEXT(int, "fsync", (int));
	ENOSPC_FAIL(fd, -1);
	return next(fd);
}

int
fdatasync(int fd)
{
	ENOSPC_NEXT(int, "fdatasync", (int));
	ENOSPC_FAIL(fd, -1);
	return next(fd);
}

int
ftruncate(int fd, off_t len)
{
	struct stat st;

	ENOSPC_NEXT(int, "ftruncate", (int, off_t));
	if (fstat(fd, &st) == 0 && len > st.st_size)
		ENOSPC_FAIL(fd, -1);
	return next(fd, len);
}

int
ftruncate64(int fd, off64_t len)
{
	struct stat st;

	ENOSPC_NEXT(int, "ftruncate64", (int, off64_t));
	if (fstat(fd, &st) == 0 && len > st.st_size)
		ENOSPC_FAIL(fd, -1);
	return next(fd, len);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	ENOSPC_NEXT(int, "fallocate", (int, int, off_t, off_t));
	ENOSPC_FAIL(fd, -1);
	return next(fd, mode, off, len);
}

int
posix_fallocate(int fd, off_t off, off_t len)
{
	ENOSPC_NEXT(int, "posix_fallocate", (int, off_t, off_t));
	if (enospc_now(fd))
		return ENOSPC;
	return next(fd, off, len);
}
