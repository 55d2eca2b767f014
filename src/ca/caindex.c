/*
 * caindex.c: the `openssl ca` text database, index.txt, for migrating an
 * old CA into ca.db (airlockctl import-openssl-ca) and for tools that still
 * want the file (airlockctl export-index).
 *
 * A line is six fields separated by tabs:
 *   status      V valid, R revoked, E expired (after `openssl ca -updatedb`)
 *   expiry      the certificate's notAfter as encoded: YYMMDDHHMMSSZ
 *               (UTCTime) or YYYYMMDDHHMMSSZ (GeneralizedTime, from 2050)
 *   revocation  empty unless R: "time", "time,reason", "time,keyTime,date",
 *               "time,CAkeyTime,date" or "time,holdInstruction,OID"
 *   serial      hexadecimal, upper case
 *   file        the certificate's file name, in practice "unknown"
 *   subject     OpenSSL's one-line form, "/C=DE/O=Example/CN=name"
 *
 * The import reads the certificates themselves from newcerts/SERIAL.pem
 * (openssl ca's new_certs_dir), certs/SERIAL.pem or SERIAL.pem, checks
 * that the root's CA certificate issued and signed each one and that its
 * serial is the line's, and commits them in chunks with the count of lines
 * done (castore_import_chunk), so that a killed import resumes where it
 * stopped. holdInstruction's OID is not kept: such an entry comes back as
 * certificateHold. index.txt is read line by line and the export written
 * as it goes, so memory does not grow with the number of certificates; the
 * certificates of a chunk are checked on two threads (the signature check
 * is most of an import's work).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "ca.h"
#include "caindex.h"
#include "castore.h"

#define CAINDEX_CHUNK		2048		/* certificates per transaction */
#define CAINDEX_MAX		(1024L << 20)	/* index.txt bytes */
#define CAINDEX_SMALL_MAX	4096		/* serial, crlnumber */

static const char *const caindex_reasons[] = {
	"unspecified", "keyCompromise", "CACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", NULL,
	"removeFromCRL",
};
#define CAINDEX_NREASONS	(sizeof(caindex_reasons) / sizeof(caindex_reasons[0]))
#define REASON_KEY_COMPROMISE	1
#define REASON_CA_COMPROMISE	2
#define REASON_HOLD		6

/* index.txt's times are ASN.1 UTCTime or GeneralizedTime text: OpenSSL reads them. */
int
caindex_time(const char *s, int64_t *out)
{
	ASN1_TIME *t;
	struct tm tm;
	int ok;

	if ((t = ASN1_TIME_new()) == NULL)
		return -1;
	/* RFC 5280 forms only: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ */
	ok = (strlen(s) == 13 || strlen(s) == 15) &&
	    ASN1_TIME_set_string_X509(t, s) == 1 && ASN1_TIME_to_tm(t, &tm) == 1;
	ASN1_TIME_free(t);
	if (!ok)
		return -1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

void
caindex_time_text(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 16, "700101000000Z");
		return;
	}
	/* UTCTime's two-digit year (RFC 5280 4.1.2.5), else four digits */
	if (tm.tm_year + 1900 < 2050 && tm.tm_year + 1900 >= 1950)
		snprintf(out, 16, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, 16, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
caindex_gtime_text(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL)
		snprintf(out, 16, "19700101000000Z");
	else
		snprintf(out, 16, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int
caindex_serial(const char *hex, struct caindex_entry *e)
{
	uint8_t tmp[21];
	size_t n = strlen(hex), i, k = 0;
	int v;

	if (n == 0 || n > 40 || n >= sizeof(e->serial_hex))
		return -1;
	memset(tmp, 0, sizeof(tmp));
	for (i = 0; i < n; i++) {
		char c = hex[i];

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return -1;
		/* right-aligned: an odd count gets a leading zero nibble */
		k = (n - 1 - i) / 2;
		tmp[20 - k] |= (uint8_t)((n - 1 - i) % 2 ? v << 4 : v);
	}
	for (i = 0; i < sizeof(tmp) && tmp[i] == 0; i++)
		;
	if (i == sizeof(tmp))
		return -1;			/* zero is not a serial */
	e->serial_len = sizeof(tmp) - i;
	memcpy(e->serial, tmp + i, e->serial_len);
	snprintf(e->serial_hex, sizeof(e->serial_hex), "%s", hex);
	return 0;
}

static int
caindex_reason(const char *name)
{
	size_t i;

	for (i = 0; i < CAINDEX_NREASONS; i++)
		if (caindex_reasons[i] != NULL &&
		    strcmp(caindex_reasons[i], name) == 0)
			return (int)i;
	return -1;
}

/* "time[,reason[,extra]]" */
static int
caindex_revocation(char *s, struct caindex_entry *e)
{
	char *reason, *extra;

	if ((reason = strchr(s, ',')) != NULL)
		*reason++ = '\0';
	if (caindex_time(s, &e->revoked) == -1)
		return -1;
	if (reason == NULL)
		return 0;
	if ((extra = strchr(reason, ',')) != NULL)
		*extra++ = '\0';
	if (strcmp(reason, "keyTime") == 0 || strcmp(reason, "CAkeyTime") == 0) {
		e->reason = reason[0] == 'k' ? REASON_KEY_COMPROMISE :
		    REASON_CA_COMPROMISE;
		return extra != NULL && caindex_time(extra, &e->invalidity) == 0 ?
		    0 : -1;
	}
	if (strcmp(reason, "holdInstruction") == 0) {
		e->reason = REASON_HOLD;
		return extra != NULL ? 0 : -1;
	}
	if ((e->reason = caindex_reason(reason)) == -1 || extra != NULL)
		return -1;
	return 0;
}

static int
caindex_fields(char *line, char *f[6])
{
	int n;

	for (n = 0; n < 5; n++) {
		f[n] = line;
		if ((line = strchr(line, '\t')) == NULL)
			return -1;
		*line++ = '\0';
	}
	f[5] = line;
	return strchr(line, '\t') == NULL ? 0 : -1;
}

int
caindex_parse(char *line, struct caindex_entry *e, char *why, size_t whysz)
{
	char *f[6];
	int64_t t;

	memset(e, 0, sizeof(*e));
	e->reason = -1;
	if (caindex_fields(line, f) == -1) {
		say(why, whysz, "not six fields separated by tabs");
		return -1;
	}
	if (strlen(f[0]) != 1 || strchr("VRE", f[0][0]) == NULL) {
		say(why, whysz, "status \"%s\" is not V, R or E", f[0]);
		return -1;
	}
	e->status = f[0][0];
	if (strlen(f[1]) >= sizeof(e->expiry) || caindex_time(f[1], &t) == -1) {
		say(why, whysz, "expiry \"%s\" is not a time", f[1]);
		return -1;
	}
	snprintf(e->expiry, sizeof(e->expiry), "%s", f[1]);
	if ((e->status == 'R') != (f[2][0] != '\0') ||
	    (e->status == 'R' && caindex_revocation(f[2], e) == -1)) {
		say(why, whysz, "revocation field \"%s\" does not fit status %c",
		    f[2], e->status);
		return -1;
	}
	if (caindex_serial(f[3], e) == -1) {
		say(why, whysz, "serial \"%s\" is not a positive hexadecimal "
		    "number of at most 20 octets", f[3]);
		return -1;
	}
	if (f[4][0] == '\0' || strlen(f[4]) >= sizeof(e->file) ||
	    strlen(f[5]) >= sizeof(e->subject)) {
		say(why, whysz, "file name or subject empty or too long");
		return -1;
	}
	snprintf(e->file, sizeof(e->file), "%s", f[4]);
	snprintf(e->subject, sizeof(e->subject), "%s", f[5]);
	return 0;
}

int
caindex_format(const struct caindex_entry *e, struct buf *b)
{
	char line[1024], rev[64], t[16], inv[16];
	int n;

	rev[0] = '\0';
	if (e->status == 'R') {
		caindex_time_text(e->revoked, t);
		/* openssl ca writes the invalidity date as GeneralizedTime */
		caindex_gtime_text(e->invalidity, inv);
		if (e->invalidity && (e->reason == REASON_KEY_COMPROMISE ||
		    e->reason == REASON_CA_COMPROMISE))
			snprintf(rev, sizeof(rev), "%s,%s,%s", t, e->reason ==
			    REASON_KEY_COMPROMISE ? "keyTime" : "CAkeyTime", inv);
		else if (e->reason >= 0 && (size_t)e->reason < CAINDEX_NREASONS &&
		    caindex_reasons[e->reason] != NULL)
			snprintf(rev, sizeof(rev), "%s,%s", t,
			    caindex_reasons[e->reason]);
		else
			snprintf(rev, sizeof(rev), "%s", t);
	}
	n = snprintf(line, sizeof(line), "%c\t%s\t%s\t%s\t%s\t%s\n", e->status,
	    e->expiry, rev, e->serial_hex, e->file, e->subject);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return buf_put(b, line, (size_t)n);
}

/* --- export --- */

#define CAINDEX_FLUSH		(256 << 10)	/* export: bytes per write */

struct caindex_export {
	struct buf	 out;
	int		 fd;
	time_t		 now;
	char		*why;
	size_t		 whysz;
};

static int
caindex_export_flush(struct caindex_export *x)
{
	if (x->out.len > 0 && write_full(x->fd, x->out.p, x->out.len) == -1) {
		say(x->why, x->whysz, "cannot write the index: %s",
		    strerror(errno));
		return -1;
	}
	x->out.len = 0;
	return 0;
}

/* The line's subject and expiry as the certificate encodes them: only
 * those need the certificate decoded, the rest is in the row. */
static int
caindex_export_row(void *arg, const struct castore_row *r)
{
	struct caindex_export *x = arg;
	struct caindex_entry e;
	struct ca_certinfo ci;
	char why[256];
	size_t i;
	int rc = -1;

	if (ca_cert_scan(r->der, r->der_len, NULL, &ci, why, sizeof(why)) == -1) {
		say(x->why, x->whysz, "a certificate in the CA database does "
		    "not decode: %s", why);
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.status = r->revoked ? 'R' : r->not_after < x->now ? 'E' : 'V';
	e.revoked = r->revoked;
	e.reason = r->reason;
	e.invalidity = r->invalidity;
	snprintf(e.expiry, sizeof(e.expiry), "%s", ci.not_after_text);
	for (i = 0; i < r->serial_len && i < 20; i++)
		snprintf(e.serial_hex + 2 * i, 3, "%02X", r->serial[i]);
	snprintf(e.file, sizeof(e.file), "unknown");
	snprintf(e.subject, sizeof(e.subject), "%s", ci.subject_oneline);
	if (caindex_format(&e, &x->out) == -1) {
		say(x->why, x->whysz, "an index.txt line is too long");
		goto done;
	}
	rc = x->out.len >= CAINDEX_FLUSH ? caindex_export_flush(x) : 0;
done:
	ca_certinfo_free(&ci);
	return rc;
}

int
caindex_export(struct db *d, const char *root, time_t now, int fd,
    char *why, size_t whysz)
{
	struct caindex_export x = { .fd = fd, .now = now, .why = why,
	    .whysz = whysz };
	int rc;

	buf_init(&x.out);
	why[0] = '\0';
	rc = castore_each_cert(d, root, caindex_export_row, &x);
	if (rc == 0)
		rc = caindex_export_flush(&x);
	else if (why[0] == '\0')
		say(why, whysz, "cannot read the certificates of %s from the "
		    "CA database", root);
	buf_free(&x.out);
	return rc;
}

/* --- import --- */

/*
 * Lines are taken in chunks. The main thread parses a chunk's lines, then
 * it and CAINDEX_THREADS - 1 helpers read and check the chunk's
 * certificates (the signature check is most of the work), each a share of
 * the slots; then a committer thread writes the chunk to ca.db while the
 * next chunk is parsed and checked: two chunks take turns. Only whole
 * chunks are committed, in order; the first line that fails stops the
 * import there (the chunks before it are committed, none after).
 * index.txt is read line by line, never held whole.
 */
#define CAINDEX_THREADS		2

struct caindex_slot {
	struct caindex_entry e;
	int64_t		 lineno;
	int		 rc;
	char		 why[384];
};

struct caindex_import;

struct caindex_chunk {
	struct caindex_import *im;
	struct caindex_slot slot[CAINDEX_CHUNK];
	struct ca_certinfo ci[CAINDEX_CHUNK];
	struct castore_row rows[CAINDEX_CHUNK];
	size_t		 n;
	int		 rc;		/* castore_import_chunk's */
	size_t		 conflict;
};

struct caindex_import {
	struct db	*db;
	const struct ca	*ca;
	const char	*root;
	const char	*dir;
	struct caindex_chunk chunk[2];
	struct caindex_chunk *committing;	/* its committer thread runs */
	pthread_t	 committer;
	int		 joinable;	/* committer is a thread of its own */
	struct caindex_ahead *ahead;	/* reads the next chunks' files ahead */
	char		*why;
	size_t		 whysz;
};

struct caindex_share {
	struct caindex_chunk *c;
	size_t		 first;
};

static int
caindex_path(char *out, const char *dir, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s%s", dir, a, b);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* A certificate file, opened for reading without touching its access
 * time where the caller may (an import reads a million files once: under
 * relatime each first read in a day would dirty an inode to be written). */
static int
caindex_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);

	if (fd == -1 && errno == EPERM)		/* not the file's owner */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd;
}

int
caindex_cert_open(const char *dir, const struct caindex_entry *e, char *path)
{
	static const char *const where[] = { "newcerts/", "certs/", "" };
	size_t i;
	int fd;

	if (strcmp(e->file, "unknown") != 0 && strchr(e->file, '/') == NULL &&
	    caindex_path(path, dir, "", e->file) == 0 &&
	    (fd = caindex_open(path)) != -1)
		return fd;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		if (caindex_path(path, dir, where[i], e->serial_hex) == -1 ||
		    strlen(path) + 5 > PATH_MAX)
			return -1;
		strcat(path, ".pem");
		if ((fd = caindex_open(path)) != -1)
			return fd;
	}
	caindex_path(path, dir, "newcerts/", e->serial_hex);
	strcat(path, ".pem");
	return -1;
}

/* The certificate of an entry: where openssl ca puts it, or the named file. */
static int
caindex_read_cert(const struct caindex_import *im, const struct caindex_entry *e,
    struct buf *b, char *path)
{
	int fd = caindex_cert_open(im->dir, e, path);

	return fd == -1 ? -1 : read_fd_close(fd, b, 1 << 20);
}

/* Reads and checks slot i's certificate; on any thread. */
static void
caindex_take(struct caindex_chunk *c, size_t i)
{
	struct caindex_slot *s = &c->slot[i];
	const struct caindex_entry *e = &s->e;
	struct ca_certinfo *ci = &c->ci[i];
	char path[PATH_MAX], why[256];
	struct buf b;

	s->rc = -1;
	buf_init(&b);
	if (caindex_read_cert(c->im, e, &b, path) == -1) {
		say(s->why, sizeof(s->why), "index.txt line %lld: no certificate "
		    "for serial %s (%s: %s)", (long long)s->lineno,
		    e->serial_hex, path, strerror(errno));
		goto done;
	}
	if (ca_cert_scan(b.p, b.len, c->im->ca, ci, why, sizeof(why)) == -1) {
		say(s->why, sizeof(s->why), "%s: %s", path, why);
		goto done;
	}
	if (ci->serial_len != e->serial_len ||
	    memcmp(ci->serial, e->serial, e->serial_len) != 0) {
		say(s->why, sizeof(s->why), "%s: its serial is not %s as "
		    "index.txt line %lld says", path, e->serial_hex,
		    (long long)s->lineno);
		ca_certinfo_free(ci);
		goto done;
	}
	c->rows[i] = (struct castore_row){ ci->serial, ci->serial_len,
	    ci->der.p, ci->der.len, ci->not_before, ci->not_after, ci->subject,
	    e->status == 'R' ? e->revoked : 0, e->reason, e->invalidity };
	s->rc = 0;
done:
	buf_free(&b);
}

static void *
caindex_share_run(void *arg)
{
	struct caindex_share *sh = arg;
	size_t i;

	for (i = sh->first; i < sh->c->n; i += CAINDEX_THREADS)
		caindex_take(sh->c, i);
	return NULL;
}

/* Every slot's certificate, on CAINDEX_THREADS threads; the main thread
 * does a share itself (and all of them if a thread cannot be started). */
static void
caindex_take_all(struct caindex_chunk *c)
{
	struct caindex_share sh[CAINDEX_THREADS];
	pthread_t th[CAINDEX_THREADS];
	int started[CAINDEX_THREADS];
	size_t t;

	for (t = 0; t < CAINDEX_THREADS; t++) {
		sh[t] = (struct caindex_share){ c, t };
		started[t] = t > 0 && c->n > t &&
		    pthread_create(&th[t], NULL, caindex_share_run, &sh[t]) == 0;
	}
	for (t = 0; t < CAINDEX_THREADS; t++)
		if (!started[t])
			caindex_share_run(&sh[t]);
	for (t = 1; t < CAINDEX_THREADS; t++)
		if (started[t])
			pthread_join(th[t], NULL);
}

static void
caindex_free_chunk(struct caindex_chunk *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->slot[i].rc == 0)
			ca_certinfo_free(&c->ci[i]);
	c->n = 0;
}

static void *
caindex_commit_run(void *arg)
{
	struct caindex_chunk *c = arg;
	struct caindex_import *im = c->im;

	c->rc = castore_import_chunk(im->db, im->root, im->dir, c->rows, c->n,
	    c->slot[c->n - 1].lineno, &c->conflict);
	return NULL;
}

/* Waits for the chunk being committed, if any: its result, and progress. */
static int
caindex_commit_wait(struct caindex_import *im, struct caindex_result *res,
    void (*progress)(void *, int64_t, int64_t), void *arg)
{
	struct caindex_chunk *c = im->committing;
	int64_t lines_done;

	if (c == NULL)
		return 0;
	if (im->joinable)
		pthread_join(im->committer, NULL);
	im->committing = NULL;
	lines_done = c->slot[c->n - 1].lineno;
	if (c->rc == -2)
		say(im->why, im->whysz, "index.txt line %lld (%s): its serial "
		    "is in the CA database already, with another certificate",
		    (long long)c->slot[c->conflict].lineno, c->ci[c->conflict].subject);
	else if (c->rc == -1)
		say(im->why, im->whysz, "cannot write the CA database");
	if (c->rc == 0)
		res->added += (int64_t)c->n;
	caindex_free_chunk(c);
	if (c->rc != 0)
		return -1;
	res->done = lines_done;
	if (progress != NULL)
		progress(arg, lines_done, res->lines);
	return 0;
}

/* Checks the chunk, then has it committed (on the committer thread, once
 * the chunk before it is in). */
static int
caindex_flush(struct caindex_import *im, struct caindex_chunk *c,
    struct caindex_result *res,
    void (*progress)(void *, int64_t, int64_t), void *arg)
{
	size_t i;

	caindex_ahead_taken(im->ahead, c->slot[c->n - 1].lineno);
	caindex_take_all(c);
	if (caindex_commit_wait(im, res, progress, arg) == -1) {
		caindex_free_chunk(c);
		return -1;
	}
	for (i = 0; i < c->n; i++)
		if (c->slot[i].rc == -1) {
			say(im->why, im->whysz, "%s", c->slot[i].why);
			caindex_free_chunk(c);
			return -1;
		}
	im->committing = c;
	im->joinable = pthread_create(&im->committer, NULL, caindex_commit_run,
	    c) == 0;
	if (!im->joinable)		/* committed here, then */
		caindex_commit_run(c);
	return 0;
}

/* First line of a small file such as serial or crlnumber; "" if absent. */
static void
caindex_small(const char *dir, const char *name, char *out, size_t outsz)
{
	char path[PATH_MAX];
	struct buf b;

	out[0] = '\0';
	buf_init(&b);
	if (caindex_path(path, dir, "", name) == 0 &&
	    read_file(path, &b, CAINDEX_SMALL_MAX) == 0 &&
	    buf_put_u8(&b, 0) == 0) {
		b.p[strcspn((char *)b.p, "\r\n")] = '\0';
		snprintf(out, outsz, "%s", (char *)b.p);
	}
	buf_free(&b);
}

/* Lines in f (a last line without a newline counts); -1 if not text. */
static int64_t
caindex_count_lines(FILE *f, char *why, size_t whysz)
{
	char blk[1 << 16];
	int64_t n = 0, bytes = 0;
	size_t k;
	char *p, *end;
	int last = '\n';

	while ((k = fread(blk, 1, sizeof(blk), f)) > 0) {
		if (memchr(blk, '\0', k) != NULL) {
			say(why, whysz, "not a text file");
			return -1;
		}
		for (p = blk, end = blk + k; (p = memchr(p, '\n', (size_t)(end - p)))
		    != NULL; p++)
			n++;
		last = blk[k - 1];
		bytes += (int64_t)k;
		if (bytes > CAINDEX_MAX) {
			say(why, whysz, "larger than %ld bytes", CAINDEX_MAX);
			return -1;
		}
	}
	if (ferror(f) || fseek(f, 0, SEEK_SET) == -1) {
		say(why, whysz, "%s", strerror(errno));
		return -1;
	}
	return last != '\n' ? n + 1 : n;
}

static int
caindex_walk(struct caindex_import *im, FILE *f, int64_t from, int64_t to,
    struct caindex_result *res,
    void (*progress)(void *, int64_t, int64_t), void *arg)
{
	struct caindex_chunk *c = &im->chunk[0];
	struct caindex_slot *s;
	char *line = NULL, why[256];
	size_t cap = 0;
	ssize_t len;
	int64_t lineno = 0;
	int rc = -1;

	while (lineno < to && (len = getline(&line, &cap, f)) != -1) {
		if (++lineno <= from)
			continue;
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		s = &c->slot[c->n];
		if (caindex_parse(line, &s->e, why, sizeof(why)) == -1) {
			say(im->why, im->whysz, "%s/index.txt line %lld: %s",
			    im->dir, (long long)lineno, why);
			goto done;
		}
		s->lineno = lineno;
		s->rc = -1;
		if (++c->n == CAINDEX_CHUNK) {
			if (caindex_flush(im, c, res, progress, arg) == -1)
				goto done;
			c = c == &im->chunk[0] ? &im->chunk[1] : &im->chunk[0];
		}
	}
	if (ferror(f)) {
		say(im->why, im->whysz, "%s/index.txt: %s", im->dir,
		    strerror(errno));
		goto done;
	}
	if (c->n > 0 && caindex_flush(im, c, res, progress, arg) == -1)
		goto done;
	rc = 0;
done:
	/* what is being committed was checked whole: it stays */
	if (caindex_commit_wait(im, res, progress, arg) == -1)
		rc = -1;
	caindex_free_chunk(c);
	free(line);
	return rc;
}

static int
caindex_begin(struct caindex_import *im, int64_t lines,
    struct caindex_result *res)
{
	struct castore_import st;
	int found;

	if ((found = castore_import_get(im->db, im->root, im->dir, &st)) == -1) {
		say(im->why, im->whysz, "cannot read the CA database");
		return -1;
	}
	if (found && st.lines_done > lines) {
		say(im->why, im->whysz, "%s/index.txt has %lld lines, fewer than "
		    "the %lld imported before", im->dir, (long long)lines,
		    (long long)st.lines_done);
		return -1;
	}
	if (!found && castore_import_start(im->db, im->root, im->dir,
	    lines) == -1) {
		say(im->why, im->whysz, "cannot write the CA database");
		return -1;
	}
	res->resumed_at = found ? st.lines_done : 0;
	res->done = res->resumed_at;
	res->already = found && st.finished && st.lines_done == lines;
	return 0;
}

int
caindex_import(struct db *d, const struct ca *ca, const char *root,
    const char *dir, int64_t limit,
    void (*progress)(void *, int64_t, int64_t), void *arg,
    struct caindex_result *res, char *why, size_t whysz)
{
	struct caindex_import *im;
	char path[PATH_MAX], serial[80], crlnumber[80], w[256];
	FILE *f = NULL;
	int64_t to;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		say(why, whysz, "out of memory");
		return -1;
	}
	*im = (struct caindex_import){ .db = d, .ca = ca, .root = root,
	    .dir = dir, .why = why, .whysz = whysz };
	im->chunk[0].im = im->chunk[1].im = im;
	errno = 0;
	if (caindex_path(path, dir, "", "index.txt") == -1 ||
	    (f = fopen(path, "re")) == NULL) {
		say(why, whysz, "%s: %s", path, errno ? strerror(errno) :
		    "name too long");
		goto done;
	}
	if ((res->lines = caindex_count_lines(f, w, sizeof(w))) == -1) {
		say(why, whysz, "%s: %s", path, w);
		goto done;
	}
	if (caindex_begin(im, res->lines, res) == -1)
		goto done;
	if (res->already) {
		res->finished = 1;
		rc = 0;
		goto done;
	}
	to = limit > 0 && res->done + limit < res->lines ? res->done + limit :
	    res->lines;
	if (progress != NULL)
		progress(arg, res->done, res->lines);
	/* the next two chunks' files are read ahead while one is checked */
	im->ahead = caindex_ahead_start(dir, res->done, to, 2 * CAINDEX_CHUNK);
	rc = caindex_walk(im, f, res->done, to, res, progress, arg);
	caindex_ahead_stop(im->ahead);
	if (rc == -1)
		goto done;
	rc = -1;
	if (to == res->lines) {
		caindex_small(dir, "serial", serial, sizeof(serial));
		caindex_small(dir, "crlnumber", crlnumber, sizeof(crlnumber));
		if (castore_import_chunk(d, root, dir, NULL, 0, res->lines,
		    &(size_t){ 0 }) == -1 || castore_import_finish(d, root, dir,
		    serial, crlnumber) == -1) {
			say(why, whysz, "cannot write the CA database");
			goto done;
		}
		res->done = res->lines;
		res->finished = 1;
	}
	rc = 0;
done:
	free(im);
	if (f != NULL)
		fclose(f);
	return rc;
}
