/*
 * linksim.c: a serial cable simulator for tests and benchmarks.
 *
 * Two pseudo-terminals stand in for the two ends of a crossed RS-232 cable.
 * Their slave ends are published as symlinks (--a, --b); the simulator owns
 * both master ends and carries bytes between them as a real 8N1 line would:
 *
 *  - Timing: a character is 10 bit times, so each direction carries at most
 *    baud/10 bytes per second. Delivery times are absolute (CLOCK_MONOTONIC,
 *    counted in whole characters from the start of a busy period), so
 *    scheduling jitter delays a batch but never accumulates into drift.
 *    Bytes are written in small batches as their time comes; poll(2) sleeps
 *    until the next deadline, at least 1 ms, so the loop never spins.
 *  - Back-pressure: a master is read only while its direction's queue holds
 *    fewer than --buffer bytes; a faster writer fills the kernel's pty buffer
 *    and then blocks (or gets EAGAIN), as on a UART.
 *  - Noise: bit errors over all 10 bits of a character, drawn by geometric
 *    skip (the distance to the next error), so a tiny BER costs nothing;
 *    bursts of random bytes; dropped and duplicated bytes; cable pulls that
 *    lose everything in both directions for a while. Bytes that find no room
 *    in the receiving pty are lost, like a UART overrun.
 *  - Closed ports: bytes sent to an end that no client holds open are lost.
 *    inotify counts the clients' opens and closes of each slave.
 *
 * The simulator keeps one fd on each slave so that a master never sees EIO
 * or a hangup when the last client closes; clients may come and go.
 * Random draws are reproducible from --seed, apart from their timing.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LS_NSEC		1000000000ULL
#define LS_CHAR_BITS	10		/* start, 8 data, stop */
#define LS_FRAME_BITS	0x201		/* start and stop bit in a char mask */
#define LS_CHUNK	512		/* bytes per write to a master */
#define LS_MAX_WAIT_MS	60000		/* longest poll sleep with a deadline */
#define LS_TICK_MS	1		/* shortest poll sleep: delivery batch */
#define LS_LOW_WATER_MS	(2 * LS_TICK_MS) /* queue that keeps the line busy */
#define LS_NEVER	UINT64_MAX	/* an event that does not happen */
#define LS_EXIT_USAGE	2

enum ls_counter {
	C_IN,			/* bytes read from the sending master */
	C_OUT,			/* bytes written to the receiving master */
	C_FLIPPED,		/* bits flipped by --ber */
	C_FRAMING,		/* characters with a start or stop bit hit */
	C_FRAMING_DROPPED,	/* of those, bytes lost */
	C_DROPPED,		/* bytes lost to --drop */
	C_DUPLICATED,		/* bytes doubled by --dup */
	C_BURST,		/* bytes replaced by noise bursts */
	C_DISCONNECTS,		/* cable pulls */
	C_OUTAGE_LOST,		/* bytes lost while the cable was out */
	C_OVERRUN_LOST,		/* bytes the receiving pty had no room for */
	C_CLOSED_LOST,		/* bytes sent to a port nobody had open */
	C_UNREAD_LOST,		/* bytes left unread by a client that closed */
	C_NUM
};

static const char *const counter_name[C_NUM] = {
	"bytes_in", "bytes_out", "bits_flipped", "framing_errors",
	"framing_dropped", "bytes_dropped", "bytes_duplicated", "burst_bytes",
	"disconnects", "outage_lost", "overrun_lost", "closed_lost",
	"unread_lost"
};

struct ls_opts {
	const char	*path[2];	/* symlinks for ends A and B */
	const char	*stats;		/* counters file, or NULL */
	const char	*pidfile;
	const char	*ready;
	unsigned long	 baud;
	unsigned long	 buffer;	/* queue bytes per direction */
	double		 ber, drop, dup;
	double		 burst_every;	/* seconds; 0 disables */
	unsigned long	 burst_len;	/* bytes */
	double		 disc_every;	/* seconds; 0 disables */
	unsigned long	 disc_ms;
	uint64_t	 seed;
};

struct ls_rng {
	uint64_t	 s[4];		/* xoshiro256** state */
};

struct ls_skip {			/* geometric sampler for rare events */
	double		 lnq;		/* log(1 - p); 0 when disabled */
	uint64_t	 left;		/* trials before the next event */
};

struct ls_end {				/* one pty: one end of the cable */
	const char	*path;		/* symlink published for clients */
	char		 name[64];	/* /dev/pts/N */
	int		 master;
	int		 slave;		/* kept open: no hangup on client close */
	int		 watch;		/* inotify watch descriptor */
	int		 clients;	/* opens minus closes by clients */
};

struct ls_dir {				/* one direction of the line */
	const char	*name;		/* "a2b" or "b2a" */
	struct ls_end	*src, *dst;
	uint8_t		*q;		/* ring of bytes on the wire */
	size_t		 qcap, qhead, qlen;
	uint64_t	 busy_start;	/* when the current busy period began */
	uint64_t	 sent;		/* characters finished since busy_start */
	struct ls_rng	 rng;		/* per-byte noise */
	struct ls_skip	 ber, drop, dup;
	uint64_t	 next_burst;	/* time of the next noise burst */
	uint64_t	 burst_left;	/* bytes the current burst still hits */
	int		 full;		/* --baud 0: the receiving pty took less
					 * than offered; wait for POLLOUT */
	uint64_t	 c[C_NUM];
};

struct ls_sim {
	const struct ls_opts *o;
	struct ls_end	 end[2];
	struct ls_dir	 dir[2];
	struct ls_rng	 rng;		/* event schedule */
	int		 ino;		/* inotify fd, or -1 */
	size_t		 low_water;	/* bytes the line sends in LS_LOW_WATER_MS */
	uint64_t	 next_cut;	/* next cable pull */
	uint64_t	 cut_start, cut_end; /* the latest outage */
};

static volatile sig_atomic_t got_term, got_usr1;
static int sig_pipe[2] = { -1, -1 };

static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f,
	    "usage: linksim --a PATH --b PATH [--baud N] [--buffer BYTES]\n"
	    "\t[--ber P] [--burst-every SECONDS] [--burst-len BYTES]\n"
	    "\t[--drop P] [--dup P] [--disconnect-every SECONDS]\n"
	    "\t[--disconnect-for MS] [--seed N] [--stats FILE]\n"
	    "\t[--pidfile FILE] [--ready FILE]\n");
	if (status != 0)
		exit(status);
	fprintf(f, "\n"
	    "Simulates an RS-232 cable (8N1) between two pseudo-terminals.\n"
	    "  --a, --b PATH          symlinks to the two slave ends (required)\n"
	    "  --baud N               line speed, default 115200\n"
	    "  --buffer BYTES         queue per direction, default 4096\n"
	    "  --ber P                probability that a bit flips, default 0\n"
	    "  --burst-every SECONDS  mean interval of noise bursts, 0 = none\n"
	    "  --burst-len BYTES      bytes replaced per burst, default 16\n"
	    "  --drop P, --dup P      per-byte drop / duplicate probability\n"
	    "  --disconnect-every S   mean interval of cable pulls, 0 = none\n"
	    "  --disconnect-for MS    length of a cable pull, default 500\n"
	    "  --seed N               random seed, default from the clock\n"
	    "  --stats FILE           counters, written on SIGUSR1 and at exit\n"
	    "  --pidfile FILE         write the process id\n"
	    "  --ready FILE           written once the links are in place\n");
	exit(0);
}

static unsigned long
parse_ulong(const char *opt, const char *s, unsigned long min,
    unsigned long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		errx(LS_EXIT_USAGE, "--%s: \"%s\" is not an integer in %lu..%lu",
		    opt, s, min, max);
	return (unsigned long)v;
}

static double
parse_double(const char *opt, const char *s, double min, double max)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < min || v > max)
		errx(LS_EXIT_USAGE, "--%s: \"%s\" is not a number in %g..%g",
		    opt, s, min, max);
	return v;
}

static double
parse_prob(const char *opt, const char *s)
{
	double v = parse_double(opt, s, 0, 1);

	if (v >= 1)
		errx(LS_EXIT_USAGE, "--%s: a probability must be below 1", opt);
	return v;
}

static uint64_t
seed_from_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * LS_NSEC + (uint64_t)ts.tv_nsec) ^
	    ((uint64_t)getpid() << 32);
}

enum {
	O_A = 256, O_B, O_BAUD, O_BUFFER, O_BER, O_BURST_EVERY, O_BURST_LEN,
	O_DROP, O_DUP, O_DISC_EVERY, O_DISC_FOR, O_SEED, O_STATS, O_PIDFILE,
	O_READY
};

static const struct option long_opts[] = {
	{ "a",			required_argument, NULL, O_A },
	{ "b",			required_argument, NULL, O_B },
	{ "baud",		required_argument, NULL, O_BAUD },
	{ "buffer",		required_argument, NULL, O_BUFFER },
	{ "ber",		required_argument, NULL, O_BER },
	{ "burst-every",	required_argument, NULL, O_BURST_EVERY },
	{ "burst-len",		required_argument, NULL, O_BURST_LEN },
	{ "drop",		required_argument, NULL, O_DROP },
	{ "dup",		required_argument, NULL, O_DUP },
	{ "disconnect-every",	required_argument, NULL, O_DISC_EVERY },
	{ "disconnect-for",	required_argument, NULL, O_DISC_FOR },
	{ "seed",		required_argument, NULL, O_SEED },
	{ "stats",		required_argument, NULL, O_STATS },
	{ "pidfile",		required_argument, NULL, O_PIDFILE },
	{ "ready",		required_argument, NULL, O_READY },
	{ "help",		no_argument,	   NULL, 'h' },
	{ NULL,			0,		   NULL, 0 }
};

/* One option's value; long_opts[] is in the order of the O_* values. */
static void
opts_set(struct ls_opts *o, int ch, const char *arg)
{
	const char *name = long_opts[ch - O_A].name;

	switch (ch) {
	case O_A:
	case O_B:
		o->path[ch - O_A] = arg;
		break;
	case O_BAUD:
		o->baud = strcmp(arg, "0") == 0 ? 0 : parse_ulong(name, arg, 50, 20000000);
		break;
	case O_BUFFER:
		o->buffer = parse_ulong(name, arg, 1, 1UL << 24);
		break;
	case O_BER:
		o->ber = parse_prob(name, arg);
		break;
	case O_BURST_EVERY:
		o->burst_every = parse_double(name, arg, 0, 1e6);
		break;
	case O_BURST_LEN:
		o->burst_len = parse_ulong(name, arg, 1, 1UL << 24);
		break;
	case O_DROP:
		o->drop = parse_prob(name, arg);
		break;
	case O_DUP:
		o->dup = parse_prob(name, arg);
		break;
	case O_DISC_EVERY:
		o->disc_every = parse_double(name, arg, 0, 1e6);
		break;
	case O_DISC_FOR:
		o->disc_ms = parse_ulong(name, arg, 1, 86400000);
		break;
	case O_SEED:
		o->seed = parse_ulong(name, arg, 0, ULONG_MAX);
		break;
	case O_STATS:
		o->stats = arg;
		break;
	case O_PIDFILE:
		o->pidfile = arg;
		break;
	case O_READY:
		o->ready = arg;
		break;
	}
}

static void
opts_parse(struct ls_opts *o, int argc, char **argv)
{
	int ch;

	memset(o, 0, sizeof *o);
	o->baud = 115200;
	o->buffer = 4096;
	o->burst_len = 16;
	o->disc_ms = 500;
	o->seed = seed_from_clock();
	while ((ch = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		if (ch == 'h')
			usage(0);
		if (ch < O_A)
			usage(LS_EXIT_USAGE);
		opts_set(o, ch, optarg);
	}
	if (optind != argc)
		errx(LS_EXIT_USAGE, "unexpected argument \"%s\"", argv[optind]);
	if (o->path[0] == NULL || o->path[1] == NULL)
		errx(LS_EXIT_USAGE, "--a PATH and --b PATH are required "
		    "(see --help)");
	if (strcmp(o->path[0], o->path[1]) == 0)
		errx(LS_EXIT_USAGE, "--a and --b must differ");
	if (o->baud == 0 && (o->ber > 0 || o->drop > 0 || o->dup > 0 ||
	    o->burst_every > 0 || o->disc_every > 0))
		errx(LS_EXIT_USAGE, "--baud 0 is an unpaced, faultless cable: "
		    "no --ber, --drop, --dup, --burst-every or --disconnect-every");
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		err(1, "clock_gettime");
	return (uint64_t)ts.tv_sec * LS_NSEC + (uint64_t)ts.tv_nsec;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_seed(struct ls_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ stream * 0xd1342543de82ef95ULL;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(struct ls_rng *r)
{
	uint64_t *s = r->s;
	uint64_t v = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return v;
}

/* Uniform in (0, 1]: never 0, so log() is finite. */
static double
rng_unit(struct ls_rng *r)
{
	return (double)((rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

static uint8_t
rng_byte(struct ls_rng *r)
{
	return (uint8_t)(rng_next(r) >> 56);
}

/* Exponentially distributed interval with the given mean, in ns. */
static uint64_t
rng_exp_ns(struct ls_rng *r, double mean_s)
{
	double ns = -log(rng_unit(r)) * mean_s * 1e9;

	return ns > 1e18 ? (uint64_t)1e18 : (uint64_t)ns + 1;
}

/* Failures before the first success, for success probability p. */
static uint64_t
skip_draw(struct ls_skip *k, struct ls_rng *r)
{
	double v = floor(log(rng_unit(r)) / k->lnq);

	return v >= 1e18 ? LS_NEVER : (uint64_t)v;
}

static void
skip_init(struct ls_skip *k, double p, struct ls_rng *r)
{
	k->lnq = log1p(-p);
	k->left = k->lnq == 0 ? LS_NEVER : skip_draw(k, r);
}

/* One trial: does the event happen now? */
static int
skip_hit(struct ls_skip *k, struct ls_rng *r)
{
	if (k->lnq == 0)
		return 0;
	if (k->left > 0) {
		k->left--;
		return 0;
	}
	k->left = skip_draw(k, r);
	return 1;
}

/* Trials for n bits at once: a mask of the bits that are hit. */
static uint32_t
skip_bits(struct ls_skip *k, struct ls_rng *r, unsigned int n)
{
	uint32_t mask = 0;
	unsigned int pos = 0;

	if (k->lnq == 0)
		return 0;
	while (k->left < n - pos) {
		pos += (unsigned int)k->left;
		mask |= 1U << pos++;
		k->left = skip_draw(k, r);
	}
	k->left -= n - pos;
	return mask;
}

static void
set_nonblock_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		err(1, "fcntl");
}

/* Write a small file atomically: readers see all of it or none. */
static int
file_replace(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >=
	    (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	ok = fputs(text, f) != EOF;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

/* Point path at target, replacing whatever is there in one rename. */
static void
link_publish(const char *target, const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >=
	    (int)sizeof tmp)
		errx(1, "%s: path too long", path);
	(void)unlink(tmp);
	if (symlink(target, tmp) == -1)
		err(1, "symlink %s", tmp);
	if (rename(tmp, path) == -1) {
		(void)unlink(tmp);
		err(1, "rename %s", path);
	}
}

/* Remove our symlink, unless someone has replaced it since. */
static void
link_remove(const char *target, const char *path)
{
	char buf[PATH_MAX];
	ssize_t n;

	n = readlink(path, buf, sizeof buf - 1);
	if (n < 0)
		return;
	buf[n] = '\0';
	if (strcmp(buf, target) == 0)
		(void)unlink(path);
}

static void
end_open(struct ls_end *e, const char *path, int ino)
{
	struct termios t;
	int r;

	e->path = path;
	if (openpty(&e->master, &e->slave, NULL, NULL, NULL) == -1)
		err(1, "openpty");
	if ((r = ptsname_r(e->master, e->name, sizeof e->name)) != 0) {
		errno = r;
		err(1, "ptsname");
	}
	if (tcgetattr(e->slave, &t) == -1)
		err(1, "tcgetattr %s", e->name);
	cfmakeraw(&t);
	if (tcsetattr(e->slave, TCSANOW, &t) == -1)
		err(1, "tcsetattr %s", e->name);
	set_nonblock_cloexec(e->master);
	set_nonblock_cloexec(e->slave);
	e->watch = -1;
	e->clients = 1;		/* without inotify, assume someone listens */
	if (ino != -1) {
		e->watch = inotify_add_watch(ino, e->name, IN_OPEN | IN_CLOSE);
		if (e->watch == -1)
			warn("inotify_add_watch %s", e->name);
		else
			e->clients = 0;
	}
	link_publish(e->name, path);
}

static void
dir_init(struct ls_sim *s, int i)
{
	const struct ls_opts *o = s->o;
	struct ls_dir *d = &s->dir[i];

	d->name = i == 0 ? "a2b" : "b2a";
	d->src = &s->end[i];
	d->dst = &s->end[!i];
	d->qcap = o->buffer;
	if ((d->q = malloc(d->qcap)) == NULL)
		err(1, "malloc");
	rng_seed(&d->rng, o->seed, (uint64_t)i + 1);
	skip_init(&d->ber, o->ber, &d->rng);
	skip_init(&d->drop, o->drop, &d->rng);
	skip_init(&d->dup, o->dup, &d->rng);
	d->next_burst = LS_NEVER;
}

/* Time for k characters at the line speed, rounded up to a whole ns. */
static uint64_t
char_ns(const struct ls_sim *s, uint64_t k)
{
	if (s->o->baud == 0)	/* unpaced: every byte is there at once */
		return 0;
	return (k * LS_CHAR_BITS * LS_NSEC + s->o->baud - 1) / s->o->baud;
}

/* When the character at the head of the queue has arrived. */
static uint64_t
dir_due(const struct ls_sim *s, const struct ls_dir *d)
{
	return d->busy_start + char_ns(s, d->sent + 1);
}

/* A character has finished; rebase every 10 s so the products stay small. */
static void
dir_tick(const struct ls_sim *s, struct ls_dir *d)
{
	if (++d->sent == s->o->baud) {
		d->busy_start += LS_CHAR_BITS * LS_NSEC;
		d->sent = 0;
	}
}

/* Bytes enter an empty queue: the line starts now unless still busy. */
static void
dir_wake(const struct ls_sim *s, struct ls_dir *d, uint64_t now)
{
	if (now > d->busy_start + char_ns(s, d->sent)) {
		d->busy_start = now;
		d->sent = 0;
	}
}

static void
dir_flush(struct ls_dir *d, uint64_t t)
{
	d->c[C_OUTAGE_LOST] += d->qlen;
	d->qlen = 0;
	d->qhead = 0;
	d->busy_start = t;
	d->sent = 0;
}

static uint8_t
dir_pop(struct ls_dir *d)
{
	uint8_t b = d->q[d->qhead];

	d->qhead = (d->qhead + 1) % d->qcap;
	d->qlen--;
	return b;
}

/* Read from the sending master while the queue has room. */
static void
dir_fill(struct ls_sim *s, struct ls_dir *d, uint64_t now)
{
	size_t tail, room;
	ssize_t n;

	while (d->qlen < d->qcap) {
		tail = (d->qhead + d->qlen) % d->qcap;
		room = d->qcap - d->qlen;
		if (room > d->qcap - tail)
			room = d->qcap - tail;
		n = read(d->src->master, d->q + tail, room);
		if (n == -1 && errno != EAGAIN && errno != EINTR &&
		    errno != EIO)
			err(1, "read %s", d->src->name);
		if (n <= 0)
			return;
		if (d->qlen == 0)
			dir_wake(s, d, now);
		d->qlen += (size_t)n;
		d->c[C_IN] += (uint64_t)n;
	}
}

/* Write delivered bytes; what the receiving pty cannot take is lost. */
static void
dir_emit(struct ls_dir *d, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return;
	if (d->dst->clients == 0) {
		d->c[C_CLOSED_LOST] += len;
		return;
	}
	do {
		n = write(d->dst->master, buf, len);
	} while (n == -1 && errno == EINTR);
	if (n == -1 && errno != EAGAIN && errno != EIO)
		err(1, "write %s", d->dst->name);
	if (n < 0)
		n = 0;
	d->c[C_OUT] += (uint64_t)n;
	d->c[C_OVERRUN_LOST] += len - (size_t)n;
}

/* Bit errors in one character; returns 0 if the byte is lost. */
static int
dir_ber(struct ls_dir *d, uint8_t *b)
{
	uint32_t mask;

	if ((mask = skip_bits(&d->ber, &d->rng, LS_CHAR_BITS)) == 0)
		return 1;
	d->c[C_FLIPPED] += (uint64_t)__builtin_popcount(mask);
	*b ^= (uint8_t)(mask >> 1);
	if ((mask & LS_FRAME_BITS) == 0)
		return 1;
	/* The receiver lost the character frame: garbage or nothing. */
	d->c[C_FRAMING]++;
	if (rng_next(&d->rng) & 1) {
		d->c[C_FRAMING_DROPPED]++;
		return 0;
	}
	*b = rng_byte(&d->rng);
	return 1;
}

/* Apply every impairment to one byte due at t; returns bytes produced. */
static size_t
dir_impair(struct ls_sim *s, struct ls_dir *d, uint64_t t, uint8_t b,
    uint8_t *out)
{
	if (t >= s->cut_start && t < s->cut_end) {
		d->c[C_OUTAGE_LOST]++;
		return 0;
	}
	if (skip_hit(&d->drop, &d->rng)) {
		d->c[C_DROPPED]++;
		return 0;
	}
	if (d->burst_left > 0) {
		d->burst_left--;
		d->c[C_BURST]++;
		b = rng_byte(&d->rng);
	} else if (!dir_ber(d, &b))
		return 0;
	out[0] = b;
	if (!skip_hit(&d->dup, &d->rng))
		return 1;
	d->c[C_DUPLICATED]++;
	out[1] = b;
	return 2;
}

/*
 * --baud 0: no line, so no overrun either. The queue goes to the receiving
 * pty as fast as it takes it, and what it cannot take yet stays queued
 * (back-pressure to the sender, as a plain pty pair gives). No impairments.
 */
static void
dir_deliver_unpaced(struct ls_dir *d)
{
	size_t len;
	ssize_t n;

	if (d->dst->clients == 0) {
		d->c[C_CLOSED_LOST] += d->qlen;
		d->qlen = 0;
		d->qhead = 0;
		return;
	}
	while (d->qlen > 0) {
		len = d->qcap - d->qhead < d->qlen ? d->qcap - d->qhead : d->qlen;
		do {
			n = write(d->dst->master, d->q + d->qhead, len);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && errno != EAGAIN && errno != EIO)
			err(1, "write %s", d->dst->name);
		if (n <= 0) {
			d->full = 1;
			return;
		}
		d->qhead = (d->qhead + (size_t)n) % d->qcap;
		d->qlen -= (size_t)n;
		d->c[C_OUT] += (uint64_t)n;
		/* a short write: the pty is full, and another write would
		 * only fail (EAGAIN): half of this tool's system calls were */
		if ((size_t)n < len) {
			d->full = 1;
			return;
		}
	}
}

/* Deliver every byte whose time has come by `until`. */
static void
dir_deliver(struct ls_sim *s, struct ls_dir *d, uint64_t until)
{
	uint8_t out[LS_CHUNK];
	size_t n = 0;
	uint64_t t;

	if (s->o->baud == 0) {
		dir_deliver_unpaced(d);
		return;
	}
	while (d->qlen > 0 && (t = dir_due(s, d)) <= until) {
		n += dir_impair(s, d, t, dir_pop(d), out + n);
		dir_tick(s, d);
		if (n + 2 > sizeof out) {
			dir_emit(d, out, n);
			n = 0;
		}
	}
	dir_emit(d, out, n);
}

/* A client closed the port: what it left unread is gone. */
static void
end_drain(struct ls_sim *s, struct ls_end *e)
{
	struct ls_dir *d = &s->dir[e == &s->end[0]];
	uint8_t buf[4096];
	ssize_t n;

	while ((n = read(e->slave, buf, sizeof buf)) > 0)
		d->c[C_UNREAD_LOST] += (uint64_t)n;
	/* Also what the kernel has not yet passed on to the line discipline. */
	(void)tcflush(e->slave, TCIFLUSH);
}

static void
ino_event(struct ls_sim *s, const struct inotify_event *ev)
{
	struct ls_end *e;
	int i;

	for (i = 0; i < 2; i++) {
		e = &s->end[i];
		if (ev->mask & IN_Q_OVERFLOW)
			e->clients = 1;		/* lost count: keep delivering */
		if (ev->wd != e->watch)
			continue;
		if (ev->mask & IN_OPEN)
			e->clients++;
		/* Drain at once: a quick reopen must not see stale bytes. */
		if ((ev->mask & IN_CLOSE) && e->clients > 0 &&
		    --e->clients == 0)
			end_drain(s, e);
	}
}

static void
ino_read(struct ls_sim *s)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(s->ino, buf, sizeof buf)) > 0) {
		for (p = buf; p < buf + n; p += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			ino_event(s, ev);
		}
	}
}

static uint64_t
sim_next_event(const struct ls_sim *s)
{
	uint64_t t = s->next_cut;

	if (s->dir[0].next_burst < t)
		t = s->dir[0].next_burst;
	if (s->dir[1].next_burst < t)
		t = s->dir[1].next_burst;
	return t;
}

static void
sim_cut(struct ls_sim *s, uint64_t t)
{
	int i;

	s->cut_start = t;
	s->cut_end = t + (uint64_t)s->o->disc_ms * 1000000;
	for (i = 0; i < 2; i++) {
		s->dir[i].c[C_DISCONNECTS]++;
		dir_flush(&s->dir[i], t);
	}
	s->next_cut = s->cut_end + rng_exp_ns(&s->rng, s->o->disc_every);
}

/* Handle the scheduled event at time t. */
static void
sim_event(struct ls_sim *s, uint64_t t)
{
	struct ls_dir *d;
	int i;

	if (s->next_cut == t) {
		sim_cut(s, t);
		return;
	}
	for (i = 0; i < 2; i++) {
		d = &s->dir[i];
		if (d->next_burst != t)
			continue;
		d->burst_left += s->o->burst_len;
		d->next_burst = t + rng_exp_ns(&s->rng, s->o->burst_every);
		return;
	}
}

/* Run the line up to now, events and deliveries in time order. */
static void
sim_advance(struct ls_sim *s, uint64_t now)
{
	uint64_t t;

	while ((t = sim_next_event(s)) <= now) {
		dir_deliver(s, &s->dir[0], t);
		dir_deliver(s, &s->dir[1], t);
		sim_event(s, t);
	}
	dir_deliver(s, &s->dir[0], now);
	dir_deliver(s, &s->dir[1], now);
}

/* Milliseconds until the next deadline, at least a tick; -1 if none. */
static int
sim_timeout(const struct ls_sim *s, uint64_t now)
{
	uint64_t t = sim_next_event(s), ms;
	int i;

	for (i = 0; i < 2; i++)
		if (s->dir[i].qlen > 0 && dir_due(s, &s->dir[i]) < t)
			t = dir_due(s, &s->dir[i]);
	if (t == LS_NEVER)
		return -1;
	ms = t > now ? (t - now + 999999) / 1000000 : 0;
	if (ms < LS_TICK_MS)
		ms = LS_TICK_MS;
	return ms > LS_MAX_WAIT_MS ? LS_MAX_WAIT_MS : (int)ms;
}

static void
sim_schedule(struct ls_sim *s, uint64_t now)
{
	int i;

	s->next_cut = LS_NEVER;
	if (s->o->disc_every > 0)
		s->next_cut = now + rng_exp_ns(&s->rng, s->o->disc_every);
	for (i = 0; i < 2 && s->o->burst_every > 0; i++)
		s->dir[i].next_burst = now +
		    rng_exp_ns(&s->rng, s->o->burst_every);
}

static void
sim_open(struct ls_sim *s, const struct ls_opts *o)
{
	int i;

	memset(s, 0, sizeof *s);
	s->o = o;
	s->low_water = o->baud == 0 ? o->buffer :
	    o->baud / LS_CHAR_BITS * LS_LOW_WATER_MS / 1000 + 1;
	rng_seed(&s->rng, o->seed, 0);
	if ((s->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		warn("inotify_init1 (ports will never count as closed)");
	for (i = 0; i < 2; i++)
		end_open(&s->end[i], o->path[i], s->ino);
	for (i = 0; i < 2; i++)
		dir_init(s, i);
	sim_schedule(s, now_ns());
}

/* Milliseconds the cable has been out so far, the current pull included. */
static uint64_t
sim_down_ms(const struct ls_sim *s)
{
	uint64_t now = now_ns(), pulls = s->dir[0].c[C_DISCONNECTS], t;

	if (pulls == 0)
		return 0;
	t = (pulls - 1) * (uint64_t)s->o->disc_ms * 1000000;
	t += (now < s->cut_end ? now : s->cut_end) - s->cut_start;
	return t / 1000000;
}

static void
stats_print(FILE *f, const struct ls_sim *s)
{
	const struct ls_dir *d;
	int i, k;

	fprintf(f, "seed=%" PRIu64 "\nbaud=%lu\n", s->o->seed, s->o->baud);
	fprintf(f, "down_ms=%" PRIu64 "\n", sim_down_ms(s));
	for (i = 0; i < 2; i++) {
		d = &s->dir[i];
		for (k = 0; k < C_NUM; k++)
			fprintf(f, "%s.%s=%" PRIu64 "\n", d->name,
			    counter_name[k], d->c[k]);
		fprintf(f, "%s.queued=%zu\n", d->name, d->qlen);
	}
}

static void
stats_save(const struct ls_sim *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (s->o->stats == NULL) {
		stats_print(stderr, s);
		return;
	}
	if ((f = open_memstream(&text, &len)) == NULL)
		err(1, "open_memstream");
	stats_print(f, s);
	if (fclose(f) != 0)
		err(1, "open_memstream");
	if (file_replace(s->o->stats, text) == -1)
		warn("%s", s->o->stats);
	free(text);
}

static void
sig_handler(int sig)
{
	int save = errno;
	char c = 0;
	ssize_t r;

	if (sig == SIGUSR1)
		got_usr1 = 1;
	else
		got_term = 1;
	r = write(sig_pipe[1], &c, 1);	/* wake poll; a full pipe is fine */
	(void)r;
	errno = save;
}

static void
sig_setup(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		err(1, "pipe2");
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_handler;
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		err(1, "sigaction");
	signal(SIGPIPE, SIG_IGN);
}

static void
sig_drain(void)
{
	char buf[64];

	while (read(sig_pipe[0], buf, sizeof buf) > 0)
		;
}

enum { P_SIG, P_INO, P_MASTER, P_SLAVE = P_MASTER + 2, P_NUM = P_SLAVE + 2 };

/*
 * Wait for a writer only while its queue could run dry before the next
 * wake-up; otherwise sim_step reads after each delivery. This halves the
 * wake-ups under a fast writer and never spins on a full queue.
 */
static void
sim_pollfds(const struct ls_sim *s, struct pollfd *p)
{
	const struct ls_dir *d;
	int i, j;

	p[P_SIG].fd = sig_pipe[0];
	p[P_INO].fd = s->ino;
	for (i = 0; i < 2; i++) {
		d = &s->dir[i];
		p[P_MASTER + i].fd = d->qlen < d->qcap &&
		    d->qlen < s->low_water ? s->end[i].master : -1;
		p[P_SLAVE + i].fd = s->end[i].clients == 0 ?
		    s->end[i].slave : -1;
	}
	for (i = 0; i < P_NUM; i++) {
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	/* --baud 0: wake when a receiving pty has room for what waits */
	for (i = 0; i < 2 && s->o->baud == 0; i++) {
		d = &s->dir[i];
		if (d->qlen == 0 || d->dst->clients == 0)
			continue;
		j = d->dst == &s->end[0] ? 0 : 1;
		if (p[P_MASTER + j].fd == -1) {
			p[P_MASTER + j].fd = s->end[j].master;
			p[P_MASTER + j].events = POLLOUT;
		} else
			p[P_MASTER + j].events |= POLLOUT;
	}
}

static void
sim_step(struct ls_sim *s)
{
	struct pollfd p[P_NUM];
	uint64_t now;
	int i;

	sim_pollfds(s, p);
	if (poll(p, P_NUM, sim_timeout(s, now_ns())) == -1 && errno != EINTR)
		err(1, "poll");
	if (p[P_SIG].revents)
		sig_drain();
	if (p[P_INO].revents)
		ino_read(s);
	now = now_ns();
	sim_advance(s, now);
	for (i = 0; i < 2; i++) {
		/* A master left out of poll may have data by now. */
		if (p[P_MASTER + i].revents || p[P_MASTER + i].fd == -1)
			dir_fill(s, &s->dir[i], now);
		if (p[P_SLAVE + i].revents && s->end[i].clients == 0)
			end_drain(s, &s->end[i]);
	}
	for (i = 0; i < 2 && s->o->baud == 0; i++) {	/* at once, not next step */
		struct ls_dir *d = &s->dir[i];
		int j = d->dst == &s->end[0] ? 0 : 1;

		if (p[P_MASTER + j].revents & (POLLOUT | POLLERR | POLLHUP))
			d->full = 0;
		if (!d->full || d->dst->clients == 0)
			dir_deliver_unpaced(d);
	}
}

static void
sim_close(struct ls_sim *s)
{
	int i;

	for (i = 0; i < 2; i++) {
		link_remove(s->end[i].name, s->end[i].path);
		(void)close(s->end[i].master);
		(void)close(s->end[i].slave);
		free(s->dir[i].q);
	}
	if (s->ino != -1)
		(void)close(s->ino);
	if (s->o->ready != NULL)
		(void)unlink(s->o->ready);
	if (s->o->pidfile != NULL)
		(void)unlink(s->o->pidfile);
}

static void
write_pidfile(const char *path)
{
	char buf[32];

	snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (file_replace(path, buf) == -1)
		err(1, "%s", path);
}

int
main(int argc, char **argv)
{
	struct ls_opts o;
	struct ls_sim s;

	opts_parse(&o, argc, argv);
	sig_setup();
	sim_open(&s, &o);
	if (o.pidfile != NULL)
		write_pidfile(o.pidfile);
	if (o.ready != NULL && file_replace(o.ready, "ready\n") == -1)
		err(1, "%s", o.ready);
	while (!got_term) {
		sim_step(&s);
		if (got_usr1) {
			got_usr1 = 0;
			stats_save(&s);
		}
	}
	if (o.stats != NULL)
		stats_save(&s);
	stats_print(stderr, &s);
	sim_close(&s);
	return 0;
}
