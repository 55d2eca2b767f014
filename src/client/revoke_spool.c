/*
 * revoke_spool.c: webdb's revocation requests in the spool directory
 * (docs/configuration.md): a file that starts with "type=revoke" and its
 * "root=", "serial=" (hex), "reason=" and "invalidity=" lines, turned into
 * the fields of a REVOKE message (src/wire/revoke.c encodes it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crlsync.h"
#include "revoke.h"
#include "spool.h"
#include "util.h"

#define CRLSYNC_TIME_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */

/* --- REVOKE requests --- */

int
revoke_is_spool(const struct buf *f)
{
	const char *p = (const char *)f->p, *end = p != NULL ? p + f->len : p;

	const char *nl;

	while (p < end && (*p == '\n' || *p == '#')) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return 0;
		p = nl + 1;
	}
	return end - p >= 12 && memcmp(p, "type=revoke\n", 12) == 0;
}

/* 1..40 hex digits, an odd count read with a leading 0. */
int
revoke_serial(const char *hex, struct revoke_req *rr)
{
	char tmp[2 * CRL_SERIAL_MAX + 1];
	size_t n = strlen(hex);

	if (n == 0 || n > 2 * CRL_SERIAL_MAX)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s%s", n % 2 ? "0" : "", hex);
	rr->serial_len = (n + 1) / 2;
	return hex_decode(tmp, rr->serial, rr->serial_len);
}

static int
revoke_line(const char *line, struct revoke_req *rr)
{
	long long v;

	if (strcmp(line, "type=revoke") == 0)
		return 0;
	if (strncmp(line, "root=", 5) == 0)
		return name_ok(line + 5, strlen(line + 5)) ?
		    (snprintf(rr->root, sizeof(rr->root), "%s", line + 5), 0) : -1;
	if (strncmp(line, "serial=", 7) == 0)
		return revoke_serial(line + 7, rr);
	if (strncmp(line, "reason=", 7) == 0) {
		if (parse_num(line + 7, 0, 10, &v) == -1 || v == 7)
			return -1;
		rr->reason = (int)v;
		return 0;
	}
	if (strncmp(line, "invalidity=", 11) == 0) {
		if (parse_num(line + 11, 1, CRLSYNC_TIME_MAX, &v) == -1)
			return -1;
		rr->invalidity = v;
		return 0;
	}
	if (strncmp(line, "id=", 3) == 0 && hex_decode(line + 3, rr->reqid,
	    AIRLOCK_REQID_LEN) == 0) {
		rr->have_id = 1;
		return 0;
	}
	return -1;
}

int
revoke_parse_spool(const struct buf *f, struct revoke_req *rr, char *why, size_t whysz)
{
	const char *p = (const char *)f->p, *end = p != NULL ? p + f->len : p;
	char line[256];
	int r;

	memset(rr, 0, sizeof(*rr));
	while ((r = spool_line(&p, end, line, sizeof(line))) != 0) {
		if (r == -1) {
			snprintf(why, whysz, "line too long or unterminated");
			return -1;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (revoke_line(line, rr) == -1) {
			/* not quoted: the file may not be the sender's */
			snprintf(why, whysz, "a line is not type=revoke, root=, serial=, "
			    "reason=, invalidity= or id=, or has a bad value");
			return -1;
		}
	}
	if (rr->root[0] == '\0' || rr->serial_len == 0) {
		snprintf(why, whysz, "a revocation needs root= and serial=");
		return -1;
	}
	return 0;
}

