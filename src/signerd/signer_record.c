/*
 * signer_record.c: what the signer puts in its audit chain besides the
 * answers (issue 17; docs/architecture.md, "The audit chain"), so that
 * webdb's mirror carries it out of the room:
 *  - a "daemon" record at each start, saying how the run before ended
 *    (a clean stop leaves a mark in audit_state; a crash does not);
 *  - an "integrity" report at start and every day: SHA-256 of the
 *    programs, the configuration, the unit files and the CA certificates,
 *    and what changed since the last report. The files are opened at start
 *    (before the sandbox) and read again through those descriptors: an
 *    edit in place shows in the next report; a file replaced by a new one
 *    (a package upgrade) shows at the next start, which the upgrade brings;
 *  - "warning" records: every warning and error the signer logs, and those
 *    airlock-linkd sends over the request FIFO (IPC_LOG), at most
 *    RECORD_WARN_PER_MIN a minute each, the rest counted in one record.
 * Records are written between batches, never inside a request's
 * transaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "crypto.h"
#include "signer.h"
#include "util.h"

#define RECORD_WARN_PER_MIN	10
#define RECORD_WARN_QUEUE	16
#define RECORD_FILE_MAX		(256u << 20)	/* bytes hashed of one file */
#define RECORD_INTEGRITY_S	86400

struct record_file {
	char		 path[PATH_MAX];
	int		 fd;
};

struct signer_record {
	struct record_file files[64];
	int		 nfiles;
	int64_t		 next_integrity;	/* monotonic seconds */
	/* warnings waiting for the next tick, per source */
	char		 warn[RECORD_WARN_QUEUE][AUDIT_TEXT_MAX / 4];
	char		 warn_actor[RECORD_WARN_QUEUE][24];
	int		 nwarn;
	uint64_t	 window_ms;		/* this minute's window */
	int		 in_window[2];		/* signerd, linkd */
	uint64_t	 suppressed[2];
	int		 recording;		/* no hook while writing records */
};

static struct signer_record *rec;	/* the hook has no argument */

static void
record_file_add(struct signer_record *r, const char *path)
{
	int i, fd;

	if (r->nfiles == (int)(sizeof(r->files) / sizeof(r->files[0])))
		return;
	for (i = 0; i < r->nfiles; i++)
		if (strcmp(r->files[i].path, path) == 0)
			return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return;		/* not installed this way: not reported */
	snprintf(r->files[r->nfiles].path, sizeof(r->files[0].path), "%s", path);
	r->files[r->nfiles].fd = fd;
	r->nfiles++;
}

static void
record_glob(struct signer_record *r, const char *pattern)
{
	glob_t g;
	size_t i;

	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++)
		record_file_add(r, g.gl_pathv[i]);
	globfree(&g);
}

/* What the report covers: the programs beside this one, the configuration,
 * the unit files, every root's certificates. */
static void
record_files(struct signer_record *r, const struct cfg *c, const char *config)
{
	static const char *const progs[] = {
		"airlock-signerd", "airlock-linkd", "airlock-timesync", "airlockctl",
	};
	static const char *const units[] = {
		"/lib/systemd/system/airlock*", "/usr/lib/systemd/system/airlock*",
		"/etc/systemd/system/airlock*",
	};
	char exe[PATH_MAX], p[PATH_MAX + 64], *dir;
	ssize_t n;
	size_t i;
	int k;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		record_file_add(r, exe);
		dir = dirname(exe);
		for (i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
			snprintf(p, sizeof(p), "%s/%s", dir, progs[i]);
			record_file_add(r, p);
		}
	}
	if (config != NULL)
		record_file_add(r, config);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		record_glob(r, units[i]);
	for (k = 0; k < c->nroots; k++) {
		snprintf(p, sizeof(p), "%s/ca.crt", c->roots[k].dir);
		record_file_add(r, p);
		snprintf(p, sizeof(p), "%s/chain.pem", c->roots[k].dir);
		record_file_add(r, p);
	}
	for (k = 0; k < c->npgp_roots; k++) {
		snprintf(p, sizeof(p), "%s/pgp.pub", c->pgp_roots[k].dir);
		record_file_add(r, p);
	}
}

/* SHA-256 of a file read again from the start through its descriptor,
 * in pieces (a program of several MB is never held whole). */
static int
record_hash(int fd, char hex[65])
{
	uint8_t h[32];

	if (crypto_sha256_fd(fd, RECORD_FILE_MAX, h) == -1)
		return -1;
	hex_encode(h, sizeof(h), hex);
	return 0;
}

/* Is line ("path sha256") in the previous report? */
static int
record_had(const struct buf *prev, const char *line)
{
	const char *p = (const char *)prev->p, *end, *nl;
	size_t n = strlen(line);

	if (prev->len == 0)	/* no report before (p may be NULL) */
		return 0;
	for (end = p + prev->len; p < end; ) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if ((size_t)(nl - p) == n && memcmp(p, line, n) == 0)
			return 1;
		p = nl + 1;
	}
	return 0;
}

/* Files of the previous report no longer covered: "path=gone". */
static void
record_gone(const struct buf *prev, const struct signer_record *r,
    struct buf *text, int *changed)
{
	const char *p = (const char *)prev->p, *end, *nl, *sp;
	char line[PATH_MAX + 16];
	int i, found;

	if (prev->len == 0)	/* no report before (p may be NULL) */
		return;
	for (end = p + prev->len; p < end; ) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) != NULL) {
			for (i = 0, found = 0; i < r->nfiles && !found; i++)
				found = strlen(r->files[i].path) == (size_t)(sp - p) &&
				    memcmp(r->files[i].path, p, (size_t)(sp - p)) == 0;
			if (!found) {
				snprintf(line, sizeof(line), "%s%.*s=gone",
				    *changed ? " " : "", (int)(sp - p), p);
				buf_put(text, line, strlen(line));
				(*changed)++;
			}
		}
		p = nl + 1;
	}
}

static void
record_integrity(struct signer *s, struct signer_record *r, const char *why)
{
	struct buf prev, now, text;
	char hex[65], line[PATH_MAX + 80], all[65];
	uint8_t h[32];
	int i, changed = 0;

	buf_init(&prev);
	buf_init(&now);
	buf_init(&text);
	if (audit_state_get(s->db, "integrity", &prev) == -1)
		buf_reset(&prev);
	for (i = 0; i < r->nfiles; i++) {
		if (record_hash(r->files[i].fd, hex) == -1)
			snprintf(hex, sizeof(hex), "unreadable");
		snprintf(line, sizeof(line), "%s %s", r->files[i].path, hex);
		buf_put(&now, line, strlen(line));
		buf_put(&now, "\n", 1);
		if (!record_had(&prev, line)) {
			/* changed or new: named in the record, with its digest */
			snprintf(line, sizeof(line), "%s%s=%s", changed ? " " : "",
			    r->files[i].path, hex);
			buf_put(&text, line, strlen(line));
			changed++;
		}
	}
	record_gone(&prev, r, &text, &changed);
	crypto_sha256(now.p, now.len, h);
	hex_encode(h, sizeof(h), all);
	buf_put(&text, "", 1);
	if (audit_addf(s->db, AUDIT_INTEGRITY, NULL, NULL, "airlock-signerd",
	    "%s: %d files, all=%s, %s%s", why, r->nfiles, all,
	    prev.len == 0 ? "first report: " : changed ? "changed since the last "
	    "report: " : "unchanged since the last report",
	    changed ? (const char *)text.p : "") == -1)
		log_warnx("audit: cannot record the integrity report");
	else {
		buf_put(&now, "", 1);
		audit_state_set(s->db, "integrity", (const char *)now.p);
	}
	buf_free(&prev);
	buf_free(&now);
	buf_free(&text);
}

static void
record_hook(int pri, const char *line)
{
	if (rec == NULL || rec->recording || pri > LOG_WARNING)
		return;
	signer_record_warning(NULL, "airlock-signerd", line, mono_ms());
}

void
signer_record_warning(struct signer *s, const char *actor, const char *line,
    uint64_t now)
{
	struct signer_record *r = s != NULL ? s->record : rec;
	int who = strcmp(actor, "airlock-linkd") == 0;

	if (r == NULL)
		return;
	if (now - r->window_ms >= 60000) {
		r->window_ms = now;
		r->in_window[0] = r->in_window[1] = 0;
	}
	if (r->in_window[who] >= RECORD_WARN_PER_MIN || r->nwarn == RECORD_WARN_QUEUE) {
		r->suppressed[who]++;
		return;
	}
	r->in_window[who]++;
	snprintf(r->warn[r->nwarn], sizeof(r->warn[0]), "%s", line);
	snprintf(r->warn_actor[r->nwarn], sizeof(r->warn_actor[0]), "%s", actor);
	r->nwarn++;
}

int
signer_record_start(struct signer *s, const char *config)
{
	struct signer_record *r;
	struct buf b;
	int found;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	s->record = r;
	rec = r;
	record_files(r, s->cfg, config);
	buf_init(&b);
	found = audit_state_get(s->db, "stopped", &b);
	buf_put(&b, "", 1);
	r->recording = 1;
	if (audit_addf(s->db, AUDIT_DAEMON, NULL, NULL, "airlock-signerd",
	    "started airlock-signerd %s pid %ld; %s%s", AIRLOCK_VERSION,
	    (long)getpid(), found == 1 ? "the run before stopped cleanly at " :
	    "the run before ended without a clean stop (or this is the first "
	    "start)", found == 1 ? (const char *)b.p : "") == -1)
		log_warnx("audit: cannot record the start");
	audit_state_set(s->db, "stopped", NULL);
	record_integrity(s, r, "at start");
	r->recording = 0;
	buf_free(&b);
	r->next_integrity = (int64_t)(mono_ms() / 1000) + RECORD_INTEGRITY_S;
	log_hook(record_hook);
	return 0;
}

void
signer_record_tick(struct signer *s, uint64_t now)
{
	struct signer_record *r = s->record;
	int i;

	if (r == NULL)
		return;
	r->recording = 1;
	for (i = 0; i < r->nwarn; i++)
		if (audit_add(s->db, AUDIT_WARNING, NULL, NULL, r->warn_actor[i],
		    r->warn[i]) == -1)
			break;		/* the chain cannot take it now: dropped */
	r->nwarn = 0;
	for (i = 0; i < 2; i++)
		if (r->suppressed[i] > 0 && now - r->window_ms >= 60000 &&
		    audit_addf(s->db, AUDIT_WARNING, NULL, NULL, i ? "airlock-linkd" :
		    "airlock-signerd", "%llu more warnings in a minute were not "
		    "recorded (see the log)", (unsigned long long)r->suppressed[i]) != -1)
			r->suppressed[i] = 0;
	if ((int64_t)(now / 1000) >= r->next_integrity) {
		record_integrity(s, r, "daily");
		r->next_integrity = (int64_t)(now / 1000) + RECORD_INTEGRITY_S;
	}
	r->recording = 0;
}

void
signer_record_stop(struct signer *s)
{
	struct signer_record *r = s->record;
	char when[32];
	time_t t = time(NULL);
	struct tm tm;
	int i;

	if (r == NULL)
		return;
	log_hook(NULL);
	signer_record_tick(s, mono_ms());
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	audit_state_set(s->db, "stopped", when);
	for (i = 0; i < r->nfiles; i++)
		close(r->files[i].fd);
	free(r);
	s->record = NULL;
	rec = NULL;
}
