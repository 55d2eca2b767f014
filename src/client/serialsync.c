/*
 * serialsync.c: crl_dir/ROOT.serials, the serial of every certificate the
 * signer host holds for each client.crl_roots entry, one hex serial a
 * line, for airlock-ocspd (docs/ocsp.md). The file is only ever appended
 * to, 0644 in the 0750 crl_dir. Three sources:
 *  - a certificate that comes back in a CERT answer, signed by the root's
 *    ca_cert, as it arrives (serialsync_publish_cert);
 *  - at start, when the file is missing (an upgrade, a lost file), the
 *    certificates of the answers outbox.db holds: the file is written
 *    whole (serialsync_new);
 *  - SERIALS_FETCH (docs/protocol.md section 9.9): the others, those
 *    imported on the signer host with airlockctl import-openssl-ca, those
 *    whose answer webdb lost, those of a root's later keys.
 *
 * Per root a cursor, the signer's position of the last serial appended,
 * is kept in outbox.db (table cursors). A SERIALS answer is appended to
 * the file and put on the disk before the cursor moves: a crash between
 * the two sends the batch again, and its serials are only repeated in the
 * file (airlock-ocspd keeps each once). The cursor starts again at 0 when
 * the file is missing (it was lost; at start it is then written whole from
 * the outbox, without what the signer alone sent), when the
 * signer's newest position is below it (its ca.db is older than what was
 * read: restored), and when the signer waits for a catch-up after a
 * restore.
 *
 * Pacing, as the audit mirror's (mirror.c): one fetch in flight, the roots
 * in turn. With nothing waiting for an answer, batches of up to 64 KiB,
 * again at once while the signer says more remain, then every
 * client.audit_interval; while requests wait, one batch of 2 KiB per
 * client.audit_busy_interval. A signer that does not know the message
 * (ERROR 101, an older airlock) is not asked again in that session, nor a
 * root it does not have (ERROR 200); each is logged once and counted.
 *
 * Serials that serialsync_publish_cert appended in this run are remembered
 * (a small table, emptied when full) and not appended again when a SERIALS
 * answer brings them; after a restart they may be, once.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crlsync.h"
#include "crypto.h"
#include "msg.h"
#include "ocsp.h"
#include "outbox.h"
#include "serialsync.h"
#include "util.h"

#define SERIALSYNC_TIMEOUT_MS	120000	/* a fetch without an answer is given up */
#define SERIALSYNC_IDLE_MAX	MSG_SERIALS_MAX	/* SERIALS_LIST bytes asked for when idle */
#define SERIALSYNC_BUSY_MAX	2048	/* ... and while requests wait */
#define SERIALSYNC_RECENT	4096	/* slots of the table of published serials */
#define SERIALSYNC_BACKFILL	512	/* outbox answers read at a time */

struct serialsync_root {
	char		 name[AIRLOCK_NAME_MAX];
	char		 key[AIRLOCK_NAME_MAX + 16];	/* "serials:NAME" in outbox.db */
	int64_t		 after;		/* position of the last serial appended */
	uint64_t	 next_ms;	/* when it is asked next */
	int		 off;		/* ERROR 200: not asked in this session */
	int		 told_off;	/* ... said once */
};

struct serialsync_recent {
	uint8_t		 used, root, len;
	uint8_t		 serial[MSG_SERIAL_MAX];
};

struct serialsync {
	const struct cfg *c;
	struct db	*outbox;
	int		(*send)(void *, const uint8_t *, size_t);
	void		*arg;
	struct serialsync_root roots[CFG_MAX_ROOTS];
	int		 n;
	int		 cur;		/* root of the fetch in flight; -1 none */
	uint8_t		 fetch_id[AIRLOCK_REQID_LEN];
	int64_t		 asked_after;	/* the SERIALS_AFTER it carried */
	uint64_t	 sent_ms;
	int		 unsupported;	/* ERROR 101 in this session */
	int		 told_unsupported;
	int		 restored;	/* cursors started again for a catch-up */
	struct ocsp_issuer *issuer[CFG_MAX_ROOTS];	/* of crl_roots[i], loaded once */
	int		 issuer_tried[CFG_MAX_ROOTS];
	struct serialsync_recent recent[SERIALSYNC_RECENT];
	int		 nrecent;
	struct buf	 msg, lines;
	struct {
		uint64_t fetches, answers, serials, repeated, unsupported, refused,
		    bad, timeouts, storage_errors, restarts;
	}		 st;
};

static void
serialsync_recent_clear(struct serialsync *ss)
{
	memset(ss->recent, 0, sizeof(ss->recent));
	ss->nrecent = 0;
}

/* The slot of (root, serial), or of the empty slot where it would go. */
static struct serialsync_recent *
serialsync_recent_slot(struct serialsync *ss, int i, const uint8_t *serial, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a: spreads serials, nothing more */
	struct serialsync_recent *r;
	size_t k;

	h = (h ^ (uint8_t)i) * 16777619u;
	for (k = 0; k < len; k++)
		h = (h ^ serial[k]) * 16777619u;
	for (;; h++) {		/* never full: emptied at three quarters */
		r = &ss->recent[h & (SERIALSYNC_RECENT - 1)];
		if (!r->used || (r->root == i && r->len == len &&
		    memcmp(r->serial, serial, len) == 0))
			return r;
	}
}

void
serialsync_note(struct serialsync *ss, int i, const uint8_t *serial, size_t len)
{
	struct serialsync_recent *r;

	if (ss == NULL || i < 0 || i >= ss->n || len == 0 || len > MSG_SERIAL_MAX)
		return;
	if (ss->nrecent >= SERIALSYNC_RECENT / 4 * 3)
		serialsync_recent_clear(ss);	/* only costs repeated lines */
	r = serialsync_recent_slot(ss, i, serial, len);
	if (r->used)
		return;
	r->used = 1;
	r->root = (uint8_t)i;
	r->len = (uint8_t)len;
	memcpy(r->serial, serial, len);
	ss->nrecent++;
}

/* --- the file --- */

static void
serialsync_path(const struct cfg *c, int i, char *path, size_t pathsz)
{
	snprintf(path, pathsz, "%s/%s.serials", c->crl_dir, c->crl_roots[i].name);
}

/* Appends lines to crl_roots[i]'s file (made 0644, crl_dir 0750 when
 * missing); with sync on the disk before it returns. 0, or -1 with errno. */
static int
serialsync_append(const struct cfg *c, int i, const void *lines, size_t len, int sync)
{
	char path[PATH_MAX];
	int fd, e, rc = -1;

	serialsync_path(c, i, path, sizeof(path));
	if (crlsync_mkdir(c) == -1 || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		return -1;
	/* O_CREAT's mode went through the umask */
	if (fchmod(fd, 0644) == 0 && write_full(fd, lines, len) == 0 &&
	    (!sync || fdatasync(fd) == 0))
		rc = 0;
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* 1 when crl_roots[i]'s file exists, 0 not, -1 error. */
static int
serialsync_exists(const struct cfg *c, int i)
{
	char path[PATH_MAX];
	struct stat st;

	serialsync_path(c, i, path, sizeof(path));
	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -1;
}

/* The crl_roots entry whose ca_cert signed der (-1 none), its serial in
 * serial and *slen; each issuer is loaded once. */
static int
serialsync_cert_root(struct serialsync *ss, const uint8_t *der, size_t len,
    uint8_t serial[OCSP_SERIAL_MAX], size_t *slen)
{
	const struct cfg *c = ss->c;
	char why[256];
	int i;

	for (i = 0; i < ss->n; i++) {
		if (!ss->issuer_tried[i]) {
			ss->issuer_tried[i] = 1;
			why[0] = '\0';
			if (ocsp_issuer_load(c->crl_roots[i].ca_cert, &ss->issuer[i], why,
			    sizeof(why)) == -1)
				log_warnx("crl_roots %s: %s: the serials of the certificates "
				    "that come back are not published", c->crl_roots[i].name, why);
		}
		if (ss->issuer[i] != NULL &&
		    ocsp_cert_serial(ss->issuer[i], der, len, serial, slen))
			return i;
	}
	return -1;
}

void
serialsync_publish_cert(struct serialsync *ss, const uint8_t *der, size_t len)
{
	uint8_t serial[OCSP_SERIAL_MAX];
	char path[PATH_MAX], line[2 * OCSP_SERIAL_MAX + 2];
	size_t slen;
	int i;

	if ((i = serialsync_cert_root(ss, der, len, serial, &slen)) == -1)
		return;
	ocsp_serial_line(serial, slen, line);
	if (serialsync_append(ss->c, i, line, strlen(line), 0) == -1) {
		serialsync_path(ss->c, i, path, sizeof(path));
		log_warn("%s", path);
		return;
	}
	serialsync_note(ss, i, serial, slen);
}

struct serialsync_backfill {
	struct serialsync *ss;
	struct buf	 lines[CFG_MAX_ROOTS];
	int		 missing[CFG_MAX_ROOTS];
	int64_t		 after;
	size_t		 n;
};

static int
serialsync_backfill_one(void *arg, const struct outbox_item *it, const uint8_t *ans,
    size_t len)
{
	struct serialsync_backfill *bf = arg;
	uint8_t serial[OCSP_SERIAL_MAX];
	char line[2 * OCSP_SERIAL_MAX + 2];
	size_t slen;
	struct msg m;
	int i;

	bf->after = it->id;
	if (msg_decode(ans, len, &m) != AL_OK || m.type != MSG_CERT || !MSG_HAS(&m, T_CERT))
		return 0;
	i = serialsync_cert_root(bf->ss, m.cert.p, m.cert.len, serial, &slen);
	if (i == -1 || !bf->missing[i])
		return 0;
	ocsp_serial_line(serial, slen, line);
	if (buf_put(&bf->lines[i], line, strlen(line)) == -1)
		return -1;
	bf->n++;
	return 0;
}

/* Each missing file written whole from the certificates of outbox.db. */
static void
serialsync_backfill(struct serialsync *ss, const int missing[CFG_MAX_ROOTS])
{
	const struct cfg *c = ss->c;
	struct serialsync_backfill bf;
	char path[PATH_MAX];
	int i, n;

	memset(&bf, 0, sizeof(bf));
	bf.ss = ss;
	memcpy(bf.missing, missing, sizeof(bf.missing));
	for (i = 0; i < ss->n; i++)
		buf_init(&bf.lines[i]);
	do {
		n = outbox_answers(ss->outbox, bf.after, MSG_SIGN, SERIALSYNC_BACKFILL,
		    serialsync_backfill_one, &bf);
	} while (n == SERIALSYNC_BACKFILL);
	for (i = 0; i < ss->n; i++) {
		if (!bf.missing[i])
			continue;
		serialsync_path(c, i, path, sizeof(path));
		/* a whole file or none: an interrupted start backfills again */
		if (n == -1 || crlsync_mkdir(c) == -1 ||
		    write_file_atomic(path, bf.lines[i].p ? bf.lines[i].p : (uint8_t *)"",
		    bf.lines[i].len, 0644) == -1)
			log_warnx("%s: not written whole (%s); serials are appended to it "
			    "as they come", path, n == -1 ? "outbox.db could not be read" :
			    strerror(errno));
		buf_free(&bf.lines[i]);
	}
	if (n != -1 && bf.n)
		log_info("%zu serials of earlier certificates published in %s", bf.n,
		    c->crl_dir);
}

/* --- SERIALS_FETCH --- */

/* Root i's cursor, in memory and in outbox.db (logged when it cannot be
 * kept: then a restart asks for some serials again). */
static void
serialsync_set(struct serialsync *ss, int i, int64_t after)
{
	struct serialsync_root *r = &ss->roots[i];

	r->after = after;
	if (outbox_cursor_set(ss->outbox, r->key, after) == -1) {
		ss->st.storage_errors++;
		log_warnx("serials: root %s: cannot keep the position %lld in %s; "
		    "some serials will be asked for again", r->name, (long long)after,
		    ss->c->outbox_db);
	}
}

/* From the start again (the file or the signer's database went back). */
static void
serialsync_restart(struct serialsync *ss, int i, const char *why)
{
	log_info("serials: root %s: %s; its serials are asked for again from "
	    "the start", ss->roots[i].name, why);
	ss->st.restarts++;
	serialsync_set(ss, i, 0);
	ss->roots[i].next_ms = 0;
}

struct serialsync *
serialsync_new(const struct cfg *c, struct db *outbox,
    int (*send)(void *, const uint8_t *, size_t), void *arg)
{
	struct serialsync *ss;
	struct serialsync_root *r;
	int i, missing[CFG_MAX_ROOTS], any = 0;

	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return NULL;
	ss->c = c;
	ss->outbox = outbox;
	ss->send = send;
	ss->arg = arg;
	ss->cur = -1;
	buf_init(&ss->msg);
	buf_init(&ss->lines);
	for (i = 0; i < c->ncrl_roots && i < CFG_MAX_ROOTS; i++) {
		r = &ss->roots[ss->n++];
		snprintf(r->name, sizeof(r->name), "%s", c->crl_roots[i].name);
		snprintf(r->key, sizeof(r->key), "serials:%s", c->crl_roots[i].name);
		if (outbox_cursor_get(outbox, r->key, &r->after) == -1)
			r->after = 0;	/* logged; asked again from the start */
		any |= missing[i] = serialsync_exists(c, i) == 0;
		/* the file written below has none of what the cursor says */
		if (missing[i] && r->after > 0)
			serialsync_restart(ss, i, "crl_dir has no ROOT.serials");
	}
	if (any)
		serialsync_backfill(ss, missing);
	return ss;
}

void
serialsync_free(struct serialsync *ss)
{
	int i;

	if (ss == NULL)
		return;
	log_info("serials: %llu fetches, %llu answers, %llu serials appended "
	    "(%llu already there), %llu restarts, %llu unsupported, %llu refused, "
	    "%llu bad answers, %llu timeouts, %llu storage errors",
	    (unsigned long long)ss->st.fetches, (unsigned long long)ss->st.answers,
	    (unsigned long long)ss->st.serials, (unsigned long long)ss->st.repeated,
	    (unsigned long long)ss->st.restarts, (unsigned long long)ss->st.unsupported,
	    (unsigned long long)ss->st.refused, (unsigned long long)ss->st.bad,
	    (unsigned long long)ss->st.timeouts, (unsigned long long)ss->st.storage_errors);
	for (i = 0; i < ss->n; i++)
		ocsp_issuer_free(ss->issuer[i]);
	buf_free(&ss->msg);
	buf_free(&ss->lines);
	free(ss);
}

void
serialsync_link_up(struct serialsync *ss)
{
	int i;

	ss->cur = -1;
	ss->unsupported = 0;
	for (i = 0; i < ss->n; i++) {
		ss->roots[i].off = 0;
		ss->roots[i].next_ms = 0;
	}
}

/* The root asked for longest ago among those due; -1 none. */
static int
serialsync_due(const struct serialsync *ss, uint64_t now)
{
	int i, best = -1;

	for (i = 0; i < ss->n; i++) {
		if (ss->roots[i].off || ss->roots[i].next_ms > now)
			continue;
		if (best == -1 || ss->roots[i].next_ms < ss->roots[best].next_ms)
			best = i;
	}
	return best;
}

static void
serialsync_ask(struct serialsync *ss, int i, uint64_t now, int busy)
{
	struct serialsync_root *r = &ss->roots[i];
	struct msg q;

	/* a lost file: the cursor says what it held, not what it holds */
	if (r->after > 0 && serialsync_exists(ss->c, i) == 0)
		serialsync_restart(ss, i, "its ROOT.serials has gone");
	memset(&q, 0, sizeof(q));
	q.type = MSG_SERIALS_FETCH;
	if (crypto_random(q.reqid, sizeof(q.reqid)) == -1)
		return;
	q.root.p = (const uint8_t *)r->name;
	q.root.len = strlen(r->name);
	q.serials_after = (uint64_t)r->after;
	q.serials_max = busy ? SERIALSYNC_BUSY_MAX : SERIALSYNC_IDLE_MAX;
	q.present = 1ull << T_ROOT | 1ull << T_SERIALS_AFTER | 1ull << T_SERIALS_MAX;
	buf_reset(&ss->msg);
	if (msg_encode(&q, &ss->msg) == -1 ||
	    ss->send(ss->arg, ss->msg.p, ss->msg.len) == -1)
		return;
	memcpy(ss->fetch_id, q.reqid, sizeof(ss->fetch_id));
	ss->cur = i;
	ss->asked_after = r->after;
	ss->sent_ms = now;
	/* until the answer says otherwise */
	r->next_ms = now + (uint64_t)ss->c->audit_interval * 1000;
	ss->st.fetches++;
}

void
serialsync_tick(struct serialsync *ss, uint64_t now, int restoring)
{
	int i, busy;

	if (restoring) {
		/* the signer's ca.db is a backup's: its positions are not those
		 * the cursors hold; after the catch-up everything comes again */
		if (!ss->restored)
			for (i = 0; i < ss->n; i++)
				if (ss->roots[i].after > 0)
					serialsync_restart(ss, i, "the signer host was "
					    "restored from a backup");
		ss->restored = 1;
		serialsync_recent_clear(ss);
		return;
	}
	ss->restored = 0;
	if (ss->unsupported)
		return;
	if (ss->cur != -1) {
		if (now - ss->sent_ms < SERIALSYNC_TIMEOUT_MS)
			return;
		ss->st.timeouts++;
		log_info("serials: no answer for root %s within %d s; asked again",
		    ss->roots[ss->cur].name, SERIALSYNC_TIMEOUT_MS / 1000);
		ss->roots[ss->cur].next_ms = now;
		ss->cur = -1;
	}
	if ((i = serialsync_due(ss, now)) == -1)
		return;
	/* while requests wait, at most one small fetch per busy interval */
	busy = outbox_unanswered(ss->outbox) != 0;
	if (busy && ss->sent_ms != 0 &&
	    now - ss->sent_ms < (uint64_t)ss->c->audit_busy_interval * 1000)
		return;
	serialsync_ask(ss, i, now, busy);
}

/* An ERROR to the fetch of root i. */
static void
serialsync_error(struct serialsync *ss, int i, const struct msg *a, uint64_t now)
{
	struct serialsync_root *r = &ss->roots[i];

	switch (a->code) {
	case AL_E_MSG_TYPE:	/* an airlock from before SERIALS_FETCH */
		ss->unsupported = 1;
		ss->st.unsupported++;
		if (!ss->told_unsupported)
			log_warnx("serials: the signer host does not know SERIALS_FETCH "
			    "(error 101: %.*s): certificates imported there stay "
			    "unknown to airlock-ocspd until it is upgraded; not asked "
			    "again in this session", (int)a->text.len, a->text.p);
		ss->told_unsupported = 1;
		return;
	case AL_E_ROOT:
		r->off = 1;
		ss->st.refused++;
		if (!r->told_off)
			log_warnx("serials: the signer host has no root %s (error 200: "
			    "%.*s); client.crl_roots names it; not asked again in this "
			    "session", r->name, (int)a->text.len, a->text.p);
		r->told_off = 1;
		return;
	case AL_E_STORAGE:
	case AL_E_BUSY:		/* busy, or restored and waiting: later */
		log_debug("serials: root %s: %u %.*s", r->name, a->code,
		    (int)a->text.len, a->text.p);
		r->next_ms = now + (uint64_t)ss->c->audit_interval * 1000;
		return;
	default:
		ss->st.refused++;
		log_warnx("serials: root %s: error %u: %.*s; asked again in %d s",
		    r->name, a->code, (int)a->text.len, a->text.p, ss->c->crl_refresh);
		r->next_ms = now + (uint64_t)ss->c->crl_refresh * 1000;
	}
}

/* An answer that cannot be right: said, counted, asked again much later. */
static void
serialsync_bad(struct serialsync *ss, int i, uint64_t now, const char *what)
{
	ss->st.bad++;
	log_warnx("serials: root %s: the answer is not usable (%s); asked again "
	    "in %d s", ss->roots[i].name, what, ss->c->crl_refresh);
	ss->roots[i].next_ms = now + (uint64_t)ss->c->crl_refresh * 1000;
}

/* The lines of the batch's serials not already in the file. */
static int
serialsync_lines(struct serialsync *ss, int i, const struct msg *a, size_t *n)
{
	char line[2 * OCSP_SERIAL_MAX + 2];
	const uint8_t *serial;
	size_t off = 0, len;

	buf_reset(&ss->lines);
	*n = 0;
	while (msg_serials_next(&a->serials_list, &off, &serial, &len) == 1) {
		if (serialsync_recent_slot(ss, i, serial, len)->used) {
			ss->st.repeated++;
			continue;
		}
		ocsp_serial_line(serial, len, line);
		if (buf_put(&ss->lines, line, strlen(line)) == -1)
			return -1;
		(*n)++;
	}
	return 0;
}

/* A SERIALS answer for root i: append, then move the cursor. */
static void
serialsync_batch(struct serialsync *ss, int i, const struct msg *a, uint64_t now)
{
	struct serialsync_root *r = &ss->roots[i];
	int64_t last = (int64_t)a->serials_last, end = (int64_t)a->serials_end;
	size_t n;

	if (end < ss->asked_after) {
		serialsync_restart(ss, i, "the signer host's newest position is below "
		    "the one webdb holds (its ca.db was restored or replaced)");
		return;
	}
	if (last < ss->asked_after || last > end ||
	    (a->serials_list.len > 0 && last == ss->asked_after)) {
		serialsync_bad(ss, i, now, "positions out of order");
		return;
	}
	if (ss->asked_after > 0 && serialsync_exists(ss->c, i) == 0) {
		serialsync_restart(ss, i, "its ROOT.serials has gone");
		return;
	}
	if (serialsync_lines(ss, i, a, &n) == -1 || (n > 0 &&
	    serialsync_append(ss->c, i, ss->lines.p, ss->lines.len, 1) == -1)) {
		ss->st.storage_errors++;
		log_warn("serials: root %s: %s/%s.serials not written; asked again",
		    r->name, ss->c->crl_dir, r->name);
		r->next_ms = now + (uint64_t)ss->c->audit_interval * 1000;
		return;
	}
	ss->st.serials += n;
	if (last != r->after)
		serialsync_set(ss, i, last);
	/* more remain: at once (the tick keeps to the busy interval) */
	r->next_ms = last < end ? now : now + (uint64_t)ss->c->audit_interval * 1000;
	if (n > 0)
		log_debug("serials: root %s: %zu appended, up to %lld of %lld", r->name,
		    n, (long long)last, (long long)end);
}

int
serialsync_answer(struct serialsync *ss, const struct msg *a, uint64_t now)
{
	const struct serialsync_root *r;
	int i = ss->cur;

	if (i == -1 || memcmp(a->reqid, ss->fetch_id, sizeof(ss->fetch_id)) != 0)
		return 0;
	ss->cur = -1;
	r = &ss->roots[i];
	if (a->type == MSG_ERROR) {
		serialsync_error(ss, i, a, now);
		return 1;
	}
	ss->st.answers++;
	if (a->type != MSG_SERIALS)
		serialsync_bad(ss, i, now, msg_type_name(a->type));
	else if (a->root.len != strlen(r->name) ||
	    memcmp(a->root.p, r->name, a->root.len) != 0)
		serialsync_bad(ss, i, now, "another root");
	else
		serialsync_batch(ss, i, a, now);
	return 1;
}
