/*
 * ipc.c: the FIFO records between linkd and the signer (see ipc.h).
 * Both ends are opened non-blocking: a read end open(2)s at once; a write
 * end fails with ENXIO until the reader is there, and is retried. Linux
 * reports POLLHUP on a read end once its last writer has gone; the reader
 * then drops a partial record and reopens.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc.h"
#include "msg.h"

/* A FIFO at path: made, or one that is there already; anything else is refused. */
static int
ipc_make_fifo(const char *path)
{
	struct stat st;

	if (mkfifo(path, 0660) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (lstat(path, &st) == -1)
		return -1;
	if (!S_ISFIFO(st.st_mode)) {
		log_warnx("%s exists and is not a FIFO", path);
		errno = EEXIST;
		return -1;
	}
	return 0;
}

int
ipc_make_fifos(const char *run_dir, char *req, char *ans, size_t sz)
{
	if ((size_t)snprintf(req, sz, "%s/signer.req", run_dir) >= sz ||
	    (size_t)snprintf(ans, sz, "%s/signer.ans", run_dir) >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (ipc_make_fifo(req) == -1 || ipc_make_fifo(ans) == -1)
		return -1;
	return 0;
}

void
ipc_init(struct ipc_chan *c, const char *path, int reading)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->path = path;
	c->reading = reading;
	buf_init(&c->in);
	buf_init(&c->out);
}

int
ipc_open(struct ipc_chan *c)
{
	struct stat before, st;
	int fl = (c->reading ? O_RDONLY : O_WRONLY) | O_NONBLOCK | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC;

	if (c->fd != -1)
		return 0;
	/* the type first: nothing but a FIFO is opened, and not through a link */
	if (lstat(c->path, &before) == -1)
		return -1;
	if (!S_ISFIFO(before.st_mode)) {
		log_warnx("%s: not a FIFO; not opened", c->path);
		errno = EINVAL;
		return -1;
	}
	if ((c->fd = open(c->path, fl)) == -1)
		return -1;
	if (fstat(c->fd, &st) == -1 || !S_ISFIFO(st.st_mode) ||
	    st.st_ino != before.st_ino || st.st_dev != before.st_dev) {
		log_warnx("%s: not a FIFO, or replaced while opened", c->path);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

void
ipc_close(struct ipc_chan *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	buf_reset(&c->in);
	buf_reset(&c->out);
}

int
ipc_queue(struct ipc_chan *c, uint32_t type, const uint8_t *p, size_t n)
{
	uint8_t h[IPC_HDR_LEN];

	if (n > MSG_MAX_LEN)
		return -1;
	put_be32(h, IPC_MAGIC);
	put_be32(h + 4, type);
	put_be32(h + 8, (uint32_t)n);
	if (buf_put(&c->out, h, sizeof(h)) == -1 || buf_put(&c->out, p, n) == -1)
		return -1;
	return 0;
}

int
ipc_flush(struct ipc_chan *c)
{
	ssize_t r;

	while (c->out.len > 0) {
		r = write(c->fd, c->out.p, c->out.len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return 0;
		if (r == -1)
			return -1;	/* EPIPE: the reader has gone */
		buf_consume(&c->out, (size_t)r);
	}
	return 0;
}

int
ipc_fill(struct ipc_chan *c)
{
	uint8_t tmp[65536];
	ssize_t r;
	int got = 0;

	for (;;) {
		r = read(c->fd, tmp, sizeof(tmp));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return got;
		if (r <= 0)
			return got ? 1 : -1;	/* EOF: every writer has gone */
		if (buf_put(&c->in, tmp, (size_t)r) == -1)
			fatalx("ipc: out of memory");
		got = 1;
	}
}

int
ipc_next(struct ipc_chan *c, uint32_t *type, const uint8_t **p, size_t *n)
{
	uint32_t len;

	if (c->in.len < IPC_HDR_LEN)
		return 0;
	if (get_be32(c->in.p) != IPC_MAGIC)
		fatalx("%s: IPC record with a bad magic number", c->path);
	*type = get_be32(c->in.p + 4);
	len = get_be32(c->in.p + 8);
	if (*type != IPC_REQUEST && *type != IPC_ANSWER && *type != IPC_LOG)
		fatalx("%s: IPC record of unknown type %u", c->path, *type);
	if (len == 0 || len > MSG_MAX_LEN)
		fatalx("%s: IPC record of impossible length %u", c->path, len);
	if (c->in.len - IPC_HDR_LEN < len)
		return 0;
	*p = c->in.p + IPC_HDR_LEN;
	*n = len;
	return 1;
}

void
ipc_consume(struct ipc_chan *c)
{
	if (c->in.len >= IPC_HDR_LEN)
		buf_consume(&c->in, IPC_HDR_LEN + (size_t)get_be32(c->in.p + 8));
}
