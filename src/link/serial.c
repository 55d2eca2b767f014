/*
 * serial.c: the RS-232 transport. Raw 8N1 at the configured speed, no
 * echo, no line discipline, optional RTS/CTS. The device is opened with
 * O_NOCTTY and O_NONBLOCK and flock(2)ed so that two daemons cannot both
 * drive one cable. Not TIOCEXCL: the flag outlives the process that set it
 * while anything else holds the line open (a pty's other end, a getty), so
 * a restart as the unprivileged user got EBUSY (issue 16, item 3); the
 * device's mode (root:dialout 0660) and the units' DeviceAllow= keep
 * other programs off it. A read or write error other than EAGAIN means the
 * device went away: the caller closes it and opens it again later.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "transport.h"
#include "util.h"

static const struct {
	int	baud;
	speed_t	speed;
} speeds[] = {
	{ 1200, B1200 }, { 2400, B2400 }, { 4800, B4800 }, { 9600, B9600 },
	{ 19200, B19200 }, { 38400, B38400 }, { 57600, B57600 },
	{ 115200, B115200 }, { 230400, B230400 }, { 460800, B460800 },
	{ 921600, B921600 }, { 1000000, B1000000 }, { 2000000, B2000000 },
	{ 4000000, B4000000 },
};

static int
serial_speed(int baud, speed_t *sp)
{
	size_t i;

	for (i = 0; i < sizeof(speeds) / sizeof(speeds[0]); i++)
		if (speeds[i].baud == baud) {
			*sp = speeds[i].speed;
			return 0;
		}
	return -1;
}

/* An advisory lock on the device node itself: two airlock daemons never share a cable. */
static int
serial_lock(struct transport *t, char *why, size_t whysz)
{
	if (flock(t->fd, LOCK_EX | LOCK_NB) == -1) {
		snprintf(why, whysz, "%s: in use by another process", t->cfg->device);
		return -1;
	}
	return 0;
}

/* A Unix98 pty's slave end (majors 136..143): the only device pace = 0 may drive. */
static int
serial_is_pty(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISCHR(st.st_mode))
		return 0;
	return major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143;
}

static int
serial_open(struct transport *t, char *why, size_t whysz)
{
	struct termios tio;
	speed_t sp;

	if (serial_speed(t->cfg->baud, &sp) == -1) {
		snprintf(why, whysz, "baud rate %d is not supported", t->cfg->baud);
		return -1;
	}
	t->fd = open(t->cfg->device, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (t->fd == -1) {
		snprintf(why, whysz, "%s: %s", t->cfg->device, strerror(errno));
		goto fail;
	}
	if (serial_lock(t, why, whysz) == -1)
		goto fail;
	if (!t->cfg->pace && !serial_is_pty(t->fd)) {
		snprintf(why, whysz, "%s: pace = 0 is for a pty (benchmarks, tests), "
		    "and this is not one: a real line must be paced", t->cfg->device);
		goto fail;
	}
	/* one set by an older version or another program: cleared */
	if (ioctl(t->fd, TIOCNXCL) == -1 && errno != ENOTTY)
		log_warn("%s: TIOCNXCL", t->cfg->device);
	if (tcgetattr(t->fd, &tio) == -1) {
		snprintf(why, whysz, "%s: not a serial device: %s", t->cfg->device,
		    strerror(errno));
		goto fail;
	}
	cfmakeraw(&tio);
	tio.c_cflag &= ~(CSTOPB | PARENB | CSIZE | CRTSCTS);
	tio.c_cflag |= CS8 | CLOCAL | CREAD;
	if (t->cfg->rtscts)
		tio.c_cflag |= CRTSCTS;
	tio.c_iflag &= ~(IXON | IXOFF | IXANY);
	/* VMIN 1: with O_NONBLOCK an empty line reads as EAGAIN, not as EOF */
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	cfsetispeed(&tio, sp);
	cfsetospeed(&tio, sp);
	if (tcsetattr(t->fd, TCSANOW, &tio) == -1) {
		snprintf(why, whysz, "%s: cannot set raw %d 8N1: %s", t->cfg->device,
		    t->cfg->baud, strerror(errno));
		goto fail;
	}
	tcflush(t->fd, TCIOFLUSH);
	return 0;
fail:
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	return -1;
}

static void
serial_close(struct transport *t)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

static ssize_t
serial_read(struct transport *t, void *p, size_t n)
{
	ssize_t r = read(t->fd, p, n);

	if (r > 0)
		return r;
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r == 0)
		return 0;	/* no data on some drivers; a hang-up shows as EIO */
	return -1;	/* EIO, ENODEV: hung up or unplugged */
}

static ssize_t
serial_write(struct transport *t, const void *p, size_t n)
{
	ssize_t r = write(t->fd, p, n);

	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return -1;
}

static int
serial_status(struct transport *t, char *out, size_t outsz)
{
	snprintf(out, outsz, "serial %s %d 8N1%s %s", t->cfg->device, t->cfg->baud,
	    t->cfg->rtscts ? " rtscts" : "", t->fd == -1 ? "closed" : "open");
	return 0;
}

/* A three-wire null-modem cable cannot tell whether anyone listens. */
static int
serial_link_status(struct transport *t)
{
	(void)t;
	return -1;
}

const struct transport_ops serial_ops = {
	.name = "serial",
	.open = serial_open,
	.close = serial_close,
	.read = serial_read,
	.write = serial_write,
	.status = serial_status,
	.link_status = serial_link_status,
};
