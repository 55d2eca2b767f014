/*
 * catchup.c: webdb's half of the catch-up after a restore of the signer
 * (docs/protocol.md section 9.8). At every new session, and every
 * CATCHUP_PROBE_MS after, the client asks with an empty CATCHUP whether the
 * signer waits for one. When it does, it sends what it holds, in batches of
 * at most CATCHUP_BATCH bytes, one at a time: every CERT answer of its
 * outbox, every REVOKED answer, every CRL answer (the signer keeps the
 * highest number), then the records of its audit mirror after the
 * signer's head; the last batch carries CATCHUP_END. Between the CRL
 * answers and the audit records go the entries of the CRLs webdb keeps in
 * crl_dir (full and delta, each checked against its key's certificate), as
 * REVOKED messages without a request id: revocations an operator made on the
 * signer host (airlockctl revoke) after the backup are in no answer of the
 * outbox, but they are on the CRLs that followed. Everything is sent
 * again from the start after a break: the signer skips what it knows.
 * CRL answers go without their CRLs (the number is what counts), so a
 * large CRL never makes a batch too large.
 * The signer checks each item against its own keys; the client only reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auditmirror.h"
#include "auditrec.h"
#include "catchup.h"
#include "config.h"
#include "crl.h"
#include "crlsync.h"
#include "crypto.h"
#include "link.h"
#include "msg.h"
#include "outbox.h"
#include "util.h"

#define CATCHUP_PROBE_MS	300000	/* ask again this often when none waits */
#define CATCHUP_RETRY_MS	10000	/* after an error or no answer */
#define CATCHUP_TIMEOUT_MS	120000
#define CATCHUP_BATCH		49152	/* CATCHUP_ITEMS bytes per message */

enum { ST_CERTS, ST_REVOKED, ST_CRLS, ST_CRL_ENTRIES, ST_AUDIT, ST_END };
enum { IT_CERT = 1, IT_REVOKED = 2, IT_CRL = 3, IT_AUDIT = 4, IT_CRL_ENTRY = 5 };

struct catchup {
	const struct cfg *cfg;
	uint8_t		 id[AIRLOCK_REQID_LEN];
	int		 file;		/* ST_CRL_ENTRIES: series * 2 + delta */
	char		 root[AIRLOCK_NAME_MAX];	/* ... its root */
	int		 inflight, active, stage, full;
	uint64_t	 sent_ms, next_ms;
	int64_t		 cursor;	/* outbox row id, or audit seq */
	int64_t		 head;		/* the signer's chain head, last told */
	uint64_t	 items;
	struct buf	 batch, msg;
};

struct catchup *
catchup_new(const struct cfg *cfg)
{
	struct catchup *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->cfg = cfg;
	buf_init(&c->batch);
	buf_init(&c->msg);
	return c;
}

void
catchup_free(struct catchup *c)
{
	if (c == NULL)
		return;
	buf_free(&c->batch);
	buf_free(&c->msg);
	free(c);
}

void
catchup_link_up(struct catchup *c)
{
	c->inflight = 0;
	c->active = 0;		/* a new session: ask first, then send all again */
	c->next_ms = 0;
}

int
catchup_active(const struct catchup *c)
{
	return c->active;
}

static int
cu_put(struct catchup *c, int kind, const uint8_t *p, size_t n)
{
	if (buf_put_u8(&c->batch, (uint8_t)kind) == -1 ||
	    buf_put_u32(&c->batch, (uint32_t)n) == -1 || buf_put(&c->batch, p, n) == -1)
		return -1;
	c->items++;
	return 0;
}

/* A CRL answer without its CRLs: the signer needs only the number. */
static int
cu_crl_only(struct catchup *c, const uint8_t **ans, size_t *n)
{
	struct msg m;

	if (msg_decode(*ans, *n, &m) != AL_OK || m.type != MSG_CRL)
		return 0;	/* sent as it is; the signer refuses it */
	m.present &= 1ull << T_ROOT | 1ull << T_CRL_NUMBER | 1ull << T_CRL_KIND;
	buf_reset(&c->msg);
	if (msg_encode(&m, &c->msg) == -1)
		return -1;
	*ans = c->msg.p;
	*n = c->msg.len;
	return 0;
}

static int
cu_row(void *arg, const struct outbox_item *it, const uint8_t *ans, size_t n)
{
	struct catchup *c = arg;
	int kind = it->type == MSG_SIGN ? IT_CERT : it->type == MSG_REVOKE ?
	    IT_REVOKED : IT_CRL;

	if (kind == IT_CRL && cu_crl_only(c, &ans, &n) == -1)
		return -1;
	if (c->batch.len > 0 && c->batch.len + n + 5 > CATCHUP_BATCH) {
		c->full = 1;
		return -1;	/* the next batch */
	}
	if (n + 5 > CATCHUP_BATCH) {
		log_warnx("catch-up: answer of row %lld is too large to send; skipped",
		    (long long)it->id);
		c->cursor = it->id;
		return 0;
	}
	if (cu_put(c, kind, ans, n) == -1)
		return -1;
	c->cursor = it->id;
	return 0;
}

/* One CRL entry as a REVOKED message without a request id (9.8.1, kind 5). */
static int
cu_entry(void *arg, const struct crl_entry *e)
{
	struct catchup *c = arg;
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_REVOKED;
	m.root.p = (const uint8_t *)c->root;
	m.root.len = strlen(c->root);
	m.serial.p = e->serial;
	m.serial.len = e->serial_len;
	m.time2_ns = (uint64_t)e->revoked * 1000000000ull;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_SERIAL);
	MSG_SET(&m, T_TIME2_NS);
	if (e->reason > 0 && e->reason <= 10) {
		m.reason = (uint8_t)e->reason;
		MSG_SET(&m, T_REASON);
	}
	if (e->invalidity > 0) {
		m.invalidity = (uint64_t)e->invalidity;
		MSG_SET(&m, T_INVALIDITY);
	}
	buf_reset(&c->msg);
	if (msg_encode(&m, &c->msg) == -1)
		return 0;	/* an entry the link cannot carry: skipped */
	if (c->batch.len + c->msg.len + 5 > CATCHUP_BATCH) {
		c->full = 1;
		return -1;
	}
	return cu_put(c, IT_CRL_ENTRY, c->msg.p, c->msg.len);
}

/* The entries of the CRL files, one file after the other; 1 when all went. */
static int
cu_crl_entries(struct catchup *c)
{
	struct buf der;
	char why[512];
	int n;

	buf_init(&der);
	while (c->cfg != NULL && c->file < crlsync_nseries(c->cfg) * 2) {
		if (crlsync_held(c->cfg, c->file / 2, c->file % 2, c->root,
		    sizeof(c->root), &der, why, sizeof(why)) == 1) {
			n = crl_entries(der.p, der.len, (size_t)c->cursor, SIZE_MAX,
			    cu_entry, c, why, sizeof(why));
			if (n == -1)
				log_warnx("catch-up: a CRL of %s: %s; its entries are not "
				    "sent", c->root, why);
			else
				c->cursor += n;
			if (c->full)
				break;	/* the next batch goes on from the cursor */
		}
		c->file++;
		c->cursor = 0;
	}
	buf_free(&der);
	return !c->full;
}

static int
cu_audit(struct catchup *c, struct db *mirror)
{
	struct buf w;
	int64_t last;
	int f = 1;

	if (mirror == NULL || amirror_head(mirror, &last, (uint8_t[32]){ 0 }) == -1)
		return -1;
	buf_init(&w);
	while (c->cursor < last) {
		if ((f = amirror_get(mirror, c->cursor + 1, &w)) != 1)
			break;
		if (c->batch.len > 0 && c->batch.len + w.len + 5 > CATCHUP_BATCH)
			break;
		if (cu_put(c, IT_AUDIT, w.p, w.len) == -1) {
			f = -1;
			break;
		}
		c->cursor++;
	}
	buf_free(&w);
	return f == -1 ? -1 : c->cursor >= last;
}

/* The next batch; 1 when it is the last (END), -1 on error. */
static int
cu_fill(struct catchup *c, struct db *outbox, struct db *mirror)
{
	static const int types[] = { MSG_SIGN, MSG_REVOKE, MSG_CRL_FETCH };
	int n, done;

	buf_reset(&c->batch);
	c->full = 0;
	while (c->stage < ST_CRL_ENTRIES) {
		n = outbox_answers(outbox, c->cursor, types[c->stage], 256, cu_row, c);
		if (n == -1)
			return -1;
		if (c->full)
			return 0;	/* send this one; the rest follows */
		if (n == 0) {
			c->stage++;
			c->cursor = 0;
			c->file = 0;
		}
	}
	if (c->stage == ST_CRL_ENTRIES) {
		if (!cu_crl_entries(c))
			return 0;
		c->stage = ST_AUDIT;
		c->cursor = 0;
	}
	if (c->stage == ST_AUDIT) {
		if (c->cursor == 0)
			c->cursor = c->head;
		if ((done = cu_audit(c, mirror)) == -1)
			return -1;
		if (!done)
			return 0;
		c->stage = ST_END;
	}
	return 1;
}

static void
cu_send(struct catchup *c, struct link *l, uint64_t now, int end)
{
	struct msg q;

	memset(&q, 0, sizeof(q));
	q.type = MSG_CATCHUP;
	if (crypto_random(q.reqid, sizeof(q.reqid)) == -1)
		return;
	if (c->active) {
		q.catchup_items.p = c->batch.p;
		q.catchup_items.len = c->batch.len;
		MSG_SET(&q, T_CATCHUP_ITEMS);
	}
	if (end) {
		q.catchup_end = 1;
		MSG_SET(&q, T_CATCHUP_END);
	}
	buf_reset(&c->msg);
	if (msg_encode(&q, &c->msg) == -1 || link_send(l, c->msg.p, c->msg.len, 0) == -1)
		return;
	memcpy(c->id, q.reqid, sizeof(c->id));
	c->inflight = 1;
	c->sent_ms = now;
}

void
catchup_tick(struct catchup *c, struct link *l, uint64_t now, struct db *outbox,
    struct db *mirror)
{
	int end = 0;

	if (!link_ready(l) || now < c->next_ms)
		return;
	if (c->inflight && now - c->sent_ms < CATCHUP_TIMEOUT_MS)
		return;
	if (c->inflight) {	/* no answer: start again from the question */
		c->inflight = c->active = 0;
	}
	if (c->active && (end = cu_fill(c, outbox, mirror)) == -1) {
		log_warnx("catch-up: cannot read outbox.db or audit.db; trying again");
		c->next_ms = now + CATCHUP_RETRY_MS;
		return;
	}
	cu_send(c, l, now, end);
	c->next_ms = now + CATCHUP_RETRY_MS;
}

int
catchup_answer(struct catchup *c, const struct msg *a, uint64_t now)
{
	struct audit_head h;

	if (!c->inflight || memcmp(a->reqid, c->id, sizeof(c->id)) != 0)
		return 0;
	c->inflight = 0;
	if (a->type == MSG_ERROR) {
		/* 501, 502: again soon; anything else (a signer host from before
		 * CATCHUP answers 101): only at the probe interval */
		int retry = a->code == AL_E_STORAGE || a->code == AL_E_BUSY;

		if (retry || c->active)
			log_warnx("catch-up: the signer host answered %u %.*s; again later",
			    a->code, (int)a->text.len, a->text.p);
		c->active = 0;
		c->next_ms = now + (retry ? CATCHUP_RETRY_MS : CATCHUP_PROBE_MS);
		return 1;
	}
	if (a->type != MSG_CATCHUP_STATE)
		return 1;
	audit_head_get(a->audit_head.p, &h);
	c->head = h.seq;
	switch (a->catchup_phase) {
	case MSG_CATCHUP_WAITING:
		if (!c->active) {
			log_warnx("catch-up: the signer was restored from a backup; "
			    "sending it what webdb holds");
			c->active = 1;
			c->stage = ST_CERTS;
			c->cursor = 0;
			c->items = 0;
		} else
			log_info("catch-up: %llu items sent; the signer: %.*s",
			    (unsigned long long)c->items, (int)a->text.len, a->text.p);
		c->next_ms = now;
		break;
	case MSG_CATCHUP_FINISHED:
		log_warnx("catch-up: finished (%llu items sent); the signer: %.*s",
		    (unsigned long long)c->items, (int)a->text.len, a->text.p);
		/* FALLTHROUGH */
	default:
		c->active = 0;
		c->next_ms = now + CATCHUP_PROBE_MS;
	}
	return 1;
}
