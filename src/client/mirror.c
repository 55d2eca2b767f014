/*
 * mirror.c: webdb's mirror of the signer's audit chain (include/mirror.h,
 * docs/protocol.md section 9.7).
 *
 * The client asks with AUDIT_FETCH for the records after the last one it
 * holds, saying which one that is (the signer keeps it for `airlockctl
 * status`). Each record that comes back must be the next one and chain onto
 * the one before; each record asked for again must be byte for byte the
 * copy held; the signer's head must be in the chain held (or ahead of it)
 * and carry a good signature by the pinned audit key. Anything else is an
 * alarm: a LOG_CRIT line and a row in audit.db that only an operator
 * removes; the mirror never overwrites what it holds.
 *
 * The traffic is low priority: while requests wait for answers the client
 * sends one small fetch per client.audit_busy_interval; when the line is
 * idle it catches up in answers of up to 32 KiB, then asks every
 * client.audit_interval. audit.db is its own file: when it cannot be
 * written the mirror waits and certificates keep moving.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auditmirror.h"
#include "auditrec.h"
#include "catchup.h"
#include "crypto.h"
#include "link.h"
#include "mirror.h"
#include "msg.h"
#include "outbox.h"
#include "util.h"

#define MIRROR_TIMEOUT_MS	120000	/* a fetch without an answer is given up */
#define MIRROR_IDLE_MAX		32768	/* AUDIT_RECS bytes asked for when idle */
#define MIRROR_BUSY_MAX		2048	/* ... and while requests wait */
#define MIRROR_DB_RETRY_MS	60000

struct mirror {
	const struct cfg *c;
	struct db	*db;
	struct audit_key *pub;		/* client.audit_pubkey, or NULL */
	uint8_t		 fetch_id[AIRLOCK_REQID_LEN];
	int		 inflight;
	uint64_t	 sent_ms, next_ms, db_retry_ms;
	int64_t		 recheck;	/* next held record to have sent again */
	struct buf	 tmp, held;
	struct {
		uint64_t fetches, answers, records, alarms, storage_errors;
	}		 st;
	struct catchup	*cu;		/* after a restore of the signer (catchup.c) */
};

struct mirror *
mirror_new(const struct cfg *c)
{
	struct mirror *m;
	char why[512];

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->c = c;
	m->recheck = 1;
	if ((m->cu = catchup_new(c)) == NULL) {
		free(m);
		return NULL;
	}
	buf_init(&m->tmp);
	buf_init(&m->held);
	if (c->audit_pubkey[0] != '\0' &&
	    (m->pub = audit_key_load(c->audit_pubkey, 0, why, sizeof(why))) == NULL)
		fatalx("%s", why);
	if (m->pub == NULL)
		log_warnx("audit: no client.audit_pubkey: the mirror cannot check "
		    "the signer's head signatures");
	return m;
}

void
mirror_free(struct mirror *m)
{
	if (m == NULL)
		return;
	log_info("audit mirror: %llu fetches, %llu answers, %llu records stored, "
	    "%llu alarms, %llu storage errors", (unsigned long long)m->st.fetches,
	    (unsigned long long)m->st.answers, (unsigned long long)m->st.records,
	    (unsigned long long)m->st.alarms, (unsigned long long)m->st.storage_errors);
	db_close(m->db);
	catchup_free(m->cu);
	audit_key_free(m->pub);
	buf_free(&m->tmp);
	buf_free(&m->held);
	free(m);
}

int
mirror_catchup_active(const struct mirror *m)
{
	return catchup_active(m->cu);
}

void
mirror_link_up(struct mirror *m)
{
	m->inflight = 0;
	m->next_ms = 0;
	catchup_link_up(m->cu);
}

/* audit.db, opened when first needed and again after a failure. */
static struct db *
mirror_db(struct mirror *m, uint64_t now)
{
	if (m->db != NULL || now < m->db_retry_ms)
		return m->db;
	if (amirror_open(m->c->audit_db, 0, &m->db) == -1) {
		m->st.storage_errors++;
		log_warnx("audit: %s cannot be opened; the mirror waits (certificate "
		    "traffic goes on)", m->c->audit_db);
		m->db = NULL;
		m->db_retry_ms = now + MIRROR_DB_RETRY_MS;
	}
	return m->db;
}

void
mirror_tick(struct mirror *m, struct link *l, uint64_t now, struct db *outbox)
{
	uint8_t hash[AUDIT_HASH_LEN], head[AUDIT_HEAD_LEN];
	struct audit_head h;
	struct msg q;
	int64_t seq;
	int busy;

	/* a restored signer first gets back what webdb holds; the mirror waits */
	catchup_tick(m->cu, l, now, outbox, mirror_db(m, now));
	if (catchup_active(m->cu) || !link_ready(l) || now < m->next_ms)
		return;
	if (m->inflight && now - m->sent_ms < MIRROR_TIMEOUT_MS)
		return;
	busy = outbox_unanswered(outbox) != 0;
	/* while requests wait, at most one small fetch per busy interval */
	if (busy && m->sent_ms != 0 &&
	    now - m->sent_ms < (uint64_t)m->c->audit_busy_interval * 1000)
		return;
	if (mirror_db(m, now) == NULL || amirror_head(m->db, &seq, hash) == -1)
		return;
	memset(&q, 0, sizeof(q));
	q.type = MSG_AUDIT_FETCH;
	if (crypto_random(q.reqid, sizeof(q.reqid)) == -1)
		return;
	q.audit_after = (uint64_t)seq;
	MSG_SET(&q, T_AUDIT_AFTER);
	h.seq = seq;
	memcpy(h.hash, hash, sizeof(h.hash));
	h.time = time(NULL);
	audit_head_put(&h, head);
	q.audit_head.p = head;
	q.audit_head.len = sizeof(head);
	MSG_SET(&q, T_AUDIT_HEAD);
	q.audit_max = busy ? MIRROR_BUSY_MAX : MIRROR_IDLE_MAX;
	MSG_SET(&q, T_AUDIT_MAX);
	if (!busy && seq > 0) {
		if (m->recheck < 1 || m->recheck > seq)
			m->recheck = 1;
		q.audit_check = (uint64_t)m->recheck;
		MSG_SET(&q, T_AUDIT_CHECK);
	}
	buf_reset(&m->tmp);
	if (msg_encode(&q, &m->tmp) == -1 ||
	    link_send(l, m->tmp.p, m->tmp.len, 0) == -1)
		return;
	memcpy(m->fetch_id, q.reqid, sizeof(m->fetch_id));
	m->inflight = 1;
	m->sent_ms = now;
	/* the busy rule above keeps to audit_busy_interval while requests wait */
	m->next_ms = now + (uint64_t)m->c->audit_interval * 1000;
	m->st.fetches++;
}

static void
mirror_alarm(struct mirror *m, const char *kind, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
mirror_alarm(struct mirror *m, const char *kind, int64_t seq, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (amirror_alarm(m->db, kind, seq, text) == 0)
		return;		/* raised before */
	m->st.alarms++;
	log_crit("audit ALARM %s at record %lld: %s", kind, (long long)seq, text);
}

/* The wire bytes of one record entry of AUDIT_RECS. */
static int
entry_same(struct mirror *m, int64_t seq, const uint8_t *p, size_t n)
{
	int r = amirror_get(m->db, seq, &m->held);

	if (r != 1)
		return r;
	return m->held.len == n && memcmp(m->held.p, p, n) == 0 ? 1 : 0;
}

/* Records of one answer; returns 0, or -1 when the chain cannot go on. */
static int
mirror_records(struct mirror *m, const struct msg *a, int64_t *seq,
    uint8_t hash[AUDIT_HASH_LEN])
{
	struct audit_check c;
	struct audit_raw w;
	size_t off = 0, at;
	char why[256];
	int r, same;

	for (;;) {
		at = off;
		r = audit_wire_next(a->audit_recs.p, a->audit_recs.len, &off, &w,
		    why, sizeof(why));
		if (r == 0)
			return 0;
		if (r == -1) {
			mirror_alarm(m, "malformed", *seq + 1, "%s", why);
			return -1;
		}
		if (w.seq <= *seq) {		/* held: the same bytes again? */
			same = entry_same(m, w.seq, a->audit_recs.p + at, off - at);
			if (same == 0)
				mirror_alarm(m, "fork", w.seq, "the signer's record %lld "
				    "is not the copy webdb holds: a record already "
				    "mirrored was changed on the signer", (long long)w.seq);
			if (same == -1)
				return -1;
			m->recheck = w.seq + 1;
			continue;
		}
		if (w.seq > *seq + 1) {
			mirror_alarm(m, "gap", *seq + 1, "records %lld to %lld never "
			    "arrived: the signer sent record %lld next",
			    (long long)*seq + 1, (long long)w.seq - 1, (long long)w.seq);
			return -1;
		}
		memset(&c, 0, sizeof(c));
		if ((r = audit_check_one(&w, *seq + 1, hash, &c)) != 0) {
			if (r == 1)
				mirror_alarm(m, "broken", w.seq, "%s", c.why);
			return -1;
		}
		if (amirror_put(m->db, w.seq, a->audit_recs.p + at, off - at,
		    w.hash.p) == -1) {
			m->st.storage_errors++;
			return -1;
		}
		*seq = w.seq;
		memcpy(hash, w.hash.p, AUDIT_HASH_LEN);
		m->st.records++;
	}
}

/* The signer's head against what is held, and its signature. */
static void
mirror_head(struct mirror *m, const struct msg *a, int64_t seq,
    const uint8_t hash[AUDIT_HASH_LEN])
{
	struct amirror_signed sg;
	struct audit_head h;

	audit_head_get(a->audit_head.p, &h);
	if (h.seq < seq)
		mirror_alarm(m, "gap", h.seq + 1, "the signer's chain ends at record "
		    "%lld but webdb holds records up to %lld: records were deleted "
		    "from the end of the signer's chain", (long long)h.seq,
		    (long long)seq);
	else if (h.seq == seq && !crypto_memeq(h.hash, hash, AUDIT_HASH_LEN))
		mirror_alarm(m, "fork", h.seq, "the signer's head, record %lld, is "
		    "not the record webdb holds", (long long)h.seq);
	if (m->pub == NULL)
		return;
	if (!MSG_HAS(a, T_AUDIT_SIG)) {
		mirror_alarm(m, "signature", h.seq, "the signer's chain head is not "
		    "signed, but client.audit_pubkey pins an audit key");
		return;
	}
	if (!audit_head_verify(m->pub, &h, a->audit_sig.p)) {
		mirror_alarm(m, "signature", h.seq, "the signature on the signer's "
		    "chain head (record %lld) does not verify with the pinned audit "
		    "key", (long long)h.seq);
		return;
	}
	memset(&sg, 0, sizeof(sg));
	sg.seq = h.seq;
	memcpy(sg.hash, h.hash, sizeof(sg.hash));
	sg.time = h.time;
	memcpy(sg.sig, a->audit_sig.p, sizeof(sg.sig));
	sg.received = time(NULL);
	if (amirror_set_signed(m->db, &sg) == -1)
		m->st.storage_errors++;
}

int
mirror_answer(struct mirror *m, const struct msg *a, uint64_t now)
{
	uint8_t hash[AUDIT_HASH_LEN];
	struct audit_head h;
	int64_t seq, before;
	int stop;

	if (catchup_answer(m->cu, a, now))
		return 1;
	if (!m->inflight || memcmp(a->reqid, m->fetch_id, sizeof(m->fetch_id)) != 0)
		return 0;
	m->inflight = 0;
	if (a->type == MSG_ERROR) {
		log_warnx("audit: the signer host cannot send audit records now: "
		    "%u %.*s", a->code, (int)a->text.len, a->text.p);
		return 1;
	}
	if (a->type != MSG_AUDIT_LOG) {
		log_warnx("audit: a %s answered an AUDIT_FETCH", msg_type_name(a->type));
		return 1;
	}
	m->st.answers++;
	if (mirror_db(m, now) == NULL || amirror_begin(m->db) == -1)
		return 1;
	if (amirror_head(m->db, &seq, hash) == -1) {
		amirror_rollback(m->db);
		return 1;
	}
	before = seq;
	stop = mirror_records(m, a, &seq, hash) == -1;
	mirror_head(m, a, seq, hash);
	if (amirror_commit(m->db) == -1) {
		m->st.storage_errors++;
		log_warnx("audit: cannot store %lld records in %s; asked for again "
		    "later", (long long)(seq - before), m->c->audit_db);
		return 1;
	}
	audit_head_get(a->audit_head.p, &h);
	if (m->recheck > seq)
		m->recheck = 1;
	/* behind the signer, or new records to confirm to it: ask again at
	 * once (the tick still keeps to the busy interval while requests wait) */
	if (!stop && (h.seq > seq || seq > before))
		m->next_ms = now;
	if (seq > before)
		log_debug("audit: mirrored records %lld to %lld", (long long)before + 1,
		    (long long)seq);
	return 1;
}
