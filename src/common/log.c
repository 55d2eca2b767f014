/*
 * log.c: logging to stderr or syslog (journald reads both). Every line a
 * daemon logs about a request starts with its request id, by convention of
 * the callers ("req=<hex> ...").
 * Under systemd the units log to stderr, which is a journal stream
 * ($JOURNAL_STREAM names its device and inode): each line then starts with
 * its priority as sd-daemon(3) prefixes it ("<3>" for an error) and without
 * a time stamp, which journald adds. AIRLOCK_LOG_PREFIX=1 forces the
 * prefixes (tests).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

static int log_where = LOG_TO_STDERR;
static int log_verbose;
static int log_journal;		/* stderr is journald's: "<N>" prefixes */

/* $JOURNAL_STREAM is "DEV:INODE" of the stream systemd gave as stderr */
static int
log_to_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM"), *f = getenv("AIRLOCK_LOG_PREFIX");
	unsigned long long dev, ino;
	struct stat st;

	if (f != NULL && strcmp(f, "1") == 0)
		return 1;
	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(2, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}
static const char *log_ident = "airlock";
static void (*log_hook_fn)(int, const char *);

void
log_hook(void (*fn)(int pri, const char *line))
{
	log_hook_fn = fn;
}

void
log_init(const char *ident, int where, int verbose)
{
	log_ident = ident;
	log_where = where;
	log_verbose = verbose;
	log_journal = log_to_journal();
	if (where & LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
    __attribute__((format(printf, 2, 0)));

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[2048];
	struct timespec ts;
	struct tm tm;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_where & LOG_TO_SYSLOG)
		syslog(pri, "%s%s%s", msg, suffix ? ": " : "", suffix ? suffix : "");
	if ((log_where & LOG_TO_STDERR) && log_journal)
		fprintf(stderr, "<%d>%s: %s%s%s\n", pri, log_ident, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	else if (log_where & LOG_TO_STDERR) {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s%s%s\n", tm.tm_hour,
		    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
	}
	if (log_hook_fn != NULL && pri <= LOG_WARNING) {
		if (suffix != NULL)
			snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), ": %s", suffix);
		log_hook_fn(pri, msg);
	}
}

#define LOG_BODY(pri, suffix) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	vlog(pri, fmt, ap, suffix);		\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_WARNING, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, NULL);
}

void
log_crit(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
}

void
log_err(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_ERR, e);
}

void
log_errx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY(LOG_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_CRIT, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
	exit(1);
}
