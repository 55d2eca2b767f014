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
 * certificateHold.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>

#include "ca.h"
#include "caindex.h"
#include "castore.h"

#define CAINDEX_CHUNK		256		/* certificates per transaction */
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

struct caindex_export {
	struct buf	*out;
	time_t		 now;
	char		*why;
	size_t		 whysz;
};

static int
caindex_export_row(void *arg, const struct castore_row *r)
{
	struct caindex_export *x = arg;
	struct caindex_entry e;
	struct ca_certinfo ci;
	size_t i;
	int rc;

	if (ca_cert_info(r->der, r->der_len, NULL, &ci, x->why, x->whysz) == -1)
		return -1;
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
	rc = caindex_format(&e, x->out);
	ca_certinfo_free(&ci);
	return rc;
}

int
caindex_export(struct db *d, const char *root, time_t now, struct buf *out,
    char *why, size_t whysz)
{
	struct caindex_export x = { out, now, why, whysz };

	say(why, whysz, "cannot read the certificates of %s from the CA "
	    "database", root);
	return castore_each_cert(d, root, caindex_export_row, &x);
}

/* --- import --- */

struct caindex_import {
	struct db	*db;
	const struct ca	*ca;
	const char	*root;
	const char	*dir;
	struct ca_certinfo ci[CAINDEX_CHUNK];
	struct castore_row rows[CAINDEX_CHUNK];
	int64_t		 lineno[CAINDEX_CHUNK];
	size_t		 n;
	char		*why;
	size_t		 whysz;
};

static int
caindex_path(char *out, const char *dir, const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s/%s%s", dir, a, b);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* The certificate of an entry: where openssl ca puts it, or the named file. */
static int
caindex_read_cert(const struct caindex_import *im, const struct caindex_entry *e,
    struct buf *b, char *path)
{
	static const char *const where[] = { "newcerts/", "certs/", "" };
	size_t i;

	if (strcmp(e->file, "unknown") != 0 && strchr(e->file, '/') == NULL &&
	    caindex_path(path, im->dir, "", e->file) == 0 &&
	    read_file(path, b, 1 << 20) == 0)
		return 0;
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		if (caindex_path(path, im->dir, where[i], e->serial_hex) == -1 ||
		    strlen(path) + 5 > PATH_MAX)
			return -1;
		strcat(path, ".pem");
		if (read_file(path, b, 1 << 20) == 0)
			return 0;
	}
	caindex_path(path, im->dir, "newcerts/", e->serial_hex);
	strcat(path, ".pem");
	return -1;
}

static int
caindex_take(struct caindex_import *im, const struct caindex_entry *e,
    int64_t lineno)
{
	struct ca_certinfo *ci = &im->ci[im->n];
	struct castore_row *r = &im->rows[im->n];
	char path[PATH_MAX], why[256];
	struct buf b;
	int rc = -1;

	buf_init(&b);
	if (caindex_read_cert(im, e, &b, path) == -1) {
		say(im->why, im->whysz, "index.txt line %lld: no certificate for "
		    "serial %s (%s: %s)", (long long)lineno, e->serial_hex, path,
		    strerror(errno));
		goto done;
	}
	if (ca_cert_info(b.p, b.len, im->ca, ci, why, sizeof(why)) == -1) {
		say(im->why, im->whysz, "%s: %s", path, why);
		goto done;
	}
	if (ci->serial_len != e->serial_len ||
	    memcmp(ci->serial, e->serial, e->serial_len) != 0) {
		say(im->why, im->whysz, "%s: its serial is not %s as index.txt "
		    "line %lld says", path, e->serial_hex, (long long)lineno);
		ca_certinfo_free(ci);
		goto done;
	}
	*r = (struct castore_row){ ci->serial, ci->serial_len, ci->der.p,
	    ci->der.len, ci->not_before, ci->not_after, ci->subject,
	    e->status == 'R' ? e->revoked : 0, e->reason, e->invalidity };
	im->lineno[im->n++] = lineno;
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

static int
caindex_flush(struct caindex_import *im, int64_t lines_done)
{
	size_t i, conflict;
	int rc;

	rc = castore_import_chunk(im->db, im->root, im->dir, im->rows, im->n,
	    lines_done, &conflict);
	if (rc == -2)
		say(im->why, im->whysz, "index.txt line %lld (%s): its serial "
		    "is in the CA database already, with another certificate",
		    (long long)im->lineno[conflict], im->ci[conflict].subject);
	else if (rc == -1)
		say(im->why, im->whysz, "cannot write the CA database");
	for (i = 0; i < im->n; i++)
		ca_certinfo_free(&im->ci[i]);
	im->n = 0;
	return rc == 0 ? 0 : -1;
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

static int64_t
caindex_count_lines(const struct buf *b)
{
	int64_t n = 0;
	size_t i;

	for (i = 0; i < b->len; i++)
		if (b->p[i] == '\n')
			n++;
	if (b->len > 0 && b->p[b->len - 1] != '\n')
		n++;
	return n;
}

/* Commits the chunk with lines_done = lineno. */
static int
caindex_done(struct caindex_import *im, int64_t lineno,
    struct caindex_result *res, void (*progress)(void *, int64_t, int64_t),
    void *arg)
{
	res->added += (int64_t)im->n;
	if (caindex_flush(im, lineno) == -1)
		return -1;
	res->done = lineno;
	if (progress != NULL)
		progress(arg, lineno, res->lines);
	return 0;
}

static int
caindex_walk(struct caindex_import *im, char *text, int64_t from, int64_t to,
    struct caindex_result *res,
    void (*progress)(void *, int64_t, int64_t), void *arg)
{
	struct caindex_entry e;
	char *line, *next, *end = text + strlen(text), why[256];
	int64_t lineno = 0;

	for (line = text; line < end && lineno < to; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = end;
		if (++lineno <= from)
			continue;
		if (caindex_parse(line, &e, why, sizeof(why)) == -1) {
			say(im->why, im->whysz, "%s/index.txt line %lld: %s",
			    im->dir, (long long)lineno, why);
			return -1;
		}
		if (caindex_take(im, &e, lineno) == -1)
			return -1;
		if (im->n == CAINDEX_CHUNK &&
		    caindex_done(im, lineno, res, progress, arg) == -1)
			return -1;
	}
	return im->n > 0 ? caindex_done(im, lineno, res, progress, arg) : 0;
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
	char path[PATH_MAX], serial[80], crlnumber[80];
	struct buf text;
	int64_t to;
	int rc = -1;

	memset(res, 0, sizeof(*res));
	buf_init(&text);
	if ((im = calloc(1, sizeof(*im))) == NULL) {
		say(why, whysz, "out of memory");
		return -1;
	}
	*im = (struct caindex_import){ .db = d, .ca = ca, .root = root,
	    .dir = dir, .why = why, .whysz = whysz };
	errno = 0;
	if (caindex_path(path, dir, "", "index.txt") == -1 ||
	    read_file(path, &text, CAINDEX_MAX) == -1 ||
	    memchr(text.p, '\0', text.len) != NULL) {
		say(why, whysz, "%s: %s", path, errno ? strerror(errno) :
		    "not a text file");
		goto done;
	}
	res->lines = caindex_count_lines(&text);
	if (buf_put_u8(&text, 0) == -1) {
		say(why, whysz, "out of memory");
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
	if (caindex_walk(im, (char *)text.p, res->done, to, res, progress,
	    arg) == -1)
		goto done;
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
	while (im->n > 0)
		ca_certinfo_free(&im->ci[--im->n]);
	free(im);
	buf_free(&text);
	return rc;
}
