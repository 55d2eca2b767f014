/*
 * health.c: the storage error file of a daemon (see health.h). The file is
 * one line,
 *   NAME: storage error since 2024-05-01T10:00:00Z (N, the last at
 *   10:02:13): /var/lib/airlock/signer/ca.db: database or disk is full
 * written atomically (write_file_atomic) in run_dir, which is a tmpfs on a
 * real system: it stays writable when the disk with the databases is full.
 * db.c reports to it; the daemons name themselves with health_init().
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "health.h"
#include "util.h"

#define HEALTH_WRITE_MS	1000	/* rewrite an unchanged error at most this often */
#define HEALTH_SUFFIX	".health"
#define HEALTH_LOG_MS	10000	/* while an error lasts: one log line per this */

static struct {
	char		 path[PATH_MAX];	/* "" until health_init */
	char		 name[32];
	char		 what[512];
	time_t		 since;
	uint64_t	 count;
	uint64_t	 written_ms;
	uint64_t	 logged_ms;	/* the last storage line logged */
	uint64_t	 held;		/* lines held back since */
} health;

void
health_init(const char *run_dir, const char *name)
{
	if ((size_t)snprintf(health.path, sizeof(health.path), "%s/%s%s", run_dir,
	    name, HEALTH_SUFFIX) >= sizeof(health.path)) {
		health.path[0] = '\0';
		return;
	}
	snprintf(health.name, sizeof(health.name), "%s", name);
	if (unlink(health.path) == -1 && errno != ENOENT)
		log_warn("%s", health.path);
}

static void
health_write(void)
{
	char line[1024], since[32], last[16];
	struct tm tm;
	time_t now = time(NULL);
	int n;

	gmtime_r(&health.since, &tm);
	strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&now, &tm);
	strftime(last, sizeof(last), "%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s: storage error since %s (%llu, the "
	    "last at %s): %s\n", health.name, since, (unsigned long long)health.count,
	    last, health.what);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (write_file_atomic(health.path, line, (size_t)n, 0644) == -1)
		log_warn("%s", health.path);
}

void
health_error(const char *what)
{
	uint64_t now = mono_ms();
	int changed;

	if (health.path[0] == '\0')
		return;
	changed = strncmp(health.what, what, sizeof(health.what) - 1) != 0;
	if (health.count++ == 0)
		health.since = time(NULL);
	snprintf(health.what, sizeof(health.what), "%s", what);
	if (changed || health.count == 1 || now >= health.written_ms + HEALTH_WRITE_MS) {
		health.written_ms = now;
		health_write();
	}
}

int
health_failing(void)
{
	return health.count > 0;
}

int
health_log_now(uint64_t *held)
{
	uint64_t now = mono_ms();

	*held = 0;
	if (health.count <= 1 || now >= health.logged_ms + HEALTH_LOG_MS) {
		health.logged_ms = now;
		*held = health.held;
		health.held = 0;
		return 1;
	}
	health.held++;
	return 0;
}

void
health_ok(void)
{
	if (health.path[0] == '\0' || health.count == 0)
		return;
	log_info("storage works again after %llu errors",
	    (unsigned long long)health.count);
	health.count = 0;
	health.held = 0;
	health.what[0] = '\0';
	if (unlink(health.path) == -1 && errno != ENOENT)
		log_warn("%s", health.path);
}

static int
health_show_one(const char *dir, const char *file, FILE *out)
{
	char path[PATH_MAX];
	struct buf b;
	int shown = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return 0;
	buf_init(&b);
	if (read_file(path, &b, 4096) == 0 && b.len > 0) {
		fprintf(out, "  %.*s%s", (int)b.len, b.p, b.p[b.len - 1] == '\n' ? "" : "\n");
		shown = 1;
	}
	buf_free(&b);
	return shown;
}

int
health_show(const char *run_dir, FILE *out)
{
	struct dirent *e;
	size_t n, k = strlen(HEALTH_SUFFIX);
	int shown = 0;
	DIR *d;

	fprintf(out, "storage\n");
	if ((d = opendir(run_dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			n = strlen(e->d_name);
			if (n > k && strcmp(e->d_name + n - k, HEALTH_SUFFIX) == 0)
				shown += health_show_one(run_dir, e->d_name, out);
		}
		closedir(d);
	}
	if (shown == 0)
		fprintf(out, "  ok: no daemon reports a storage error\n");
	return shown;
}
