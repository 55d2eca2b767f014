/*
 * linkd.c: airlock-linkd, the signer host's end of the cable and its attack
 * surface. It runs unprivileged, owns the cable and queue.db, and never
 * reads a CA key. Every request from the cable is committed to queue.db
 * before the link acknowledges it, handed to the signer through the FIFO,
 * and its answer is committed before it is sent back. A request id seen
 * before is answered from the queue; one still in progress is not handed
 * twice. Nothing from the cable is fatal: undecodable messages are counted
 * and logged, bad requests get an ERROR answer.
 */
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health.h"
#include "ipc.h"
#include "link.h"
#include "msg.h"
#include "proc.h"
#include "retention.h"
#include "sandbox.h"
#include "store.h"
#include "transport.h"
#include "util.h"
#include "queue.h"
#include "v1.h"

#define LINKD_TURN_MAX	256	/* new requests per queue.db commit */
#define LINKD_RETRY_MS	1000	/* reopen a vanished device */
#define LINKD_SIGNER_MS	100	/* look for the signer's FIFO end (an open(2)) */
#define LINKD_REHAND_MS	5000	/* after a retryable failure */
#define LINKD_HELD_MAX	256	/* held requests asked about one by one */
#define LINKD_HELD_POLL_MS 10000	/* how often the signer is asked about them */
/* bytes waiting for the signer's FIFO at most (one request of any size is
 * always let through, so a large one cannot wait for ever) */
/* the FIFO's buffer cap: signer.in_flight requests of up to 64 KiB */
#define LINKD_PIPE_MAX(d)	((size_t)(d)->c.signer_in_flight * 65536)

static const char usage[] =
	"usage: airlock-linkd [-dvn] [-c config] | --version\n"
	"  -c FILE   configuration (default /etc/airlock/airlock.conf)\n"
	"  -d        stay in the foreground, log to stderr only\n"
	"  -v        more logging\n"
	"  -n        check the configuration and exit\n";

struct linkd_stats {
	uint64_t	 requests, duplicates, answered, undecodable, rejected;
	uint64_t	 storage_errors, signer_restarts;
	uint64_t	 busy;		/* hand-offs refused: signer full or away */
	uint64_t	 held_overflow;	/* held requests past LINKD_HELD_MAX */
	uint64_t	 audit_answers;	/* AUDIT_LOG passed on to webdb */
	uint64_t	 serials_answers;	/* SERIALS passed on to webdb */
	uint64_t	 warn_window_ms;	/* this minute's warnings to the chain */
	int		 warn_in_window;
	uint64_t	 warn_unsent;	/* not sent: over the rate, or no signer */
};

/* The clocks as the last TIME and its TIME_ACK showed them, for STATUS. */
struct linkd_time {
	int64_t		 rtt_ns;	/* the client's last reported round trip */
	int64_t		 offset_ns;	/* signer minus webdb at that sample */
	int64_t		 real_ns;	/* linkd's real time when it passed the ack */
	uint64_t	 mono_ms;	/* ... and monotonic; 0: no sample yet */
};

struct linkd {
	struct cfg	 c;
	struct db	*q;
	struct transport t;
	struct link	*l;
	struct ipc_chan	 req, ans;
	char		 req_path[PATH_MAX], ans_path[PATH_MAX];
	int		 handed;		/* requests at the signer now */
	int		 sweeping;		/* handing every waiting row again */
	int		 checkpoint_due;	/* a storage error: WAL checkpoint after it */
	int		 sweep_busy;		/* the last hand-off found no room */
	int64_t		 sweep_after;		/* ... the rows after this queue id */
	int		 signer_up;
	uint64_t	 retry_at;
	uint64_t	 signer_at;	/* next look for the signer */
	uint64_t	 rehand_at;		/* hand unanswered requests again */
	/* held for approval (dual control): handed again alone, every
	 * LINKD_HELD_POLL_MS, until the signer answers otherwise */
	uint8_t		 held[LINKD_HELD_MAX][AIRLOCK_REQID_LEN];
	uint32_t	 held_text[LINKD_HELD_MAX];	/* hash of the last 503's sentence */
	int		 nheld;
	uint64_t	 held_at;
	struct linkd_stats st;
	struct buf	 tmp;
	struct linkd_time time;
	/* group commit (linkd_turn_begin): one queue.db transaction for what
	 * one read of the cable or of signer.ans brings */
	int		 turn;			/* a turn's transaction is open */
	int		 turn_new;		/* new requests stored in it */
	struct {
		uint8_t	 reqid[AIRLOCK_REQID_LEN];
		int	 type;
		char	 root[AIRLOCK_NAME_MAX];
	}		 turn_req[LINKD_TURN_MAX];
	struct buf	 turn_ans;		/* answers to send once committed */
	struct retention ret;		/* pruning of queue.db */
	struct v1	*v1;		/* link.protocol "commmodule-v1", else NULL */
};

static void
linkd_send(struct linkd *d, const uint8_t *ans, size_t len, int64_t tag)
{
	char id[33];

	if (d->v1 != NULL) {		/* the v1 listener makes its own answer */
		v1_answer(d->v1, ans, len, tag, mono_ms());
		return;
	}
	if (link_send(d->l, ans, len, (uint64_t)tag) == -1 && len >= MSG_HDR_LEN) {
		reqid_hex(ans + 2, id);		/* version, type, request id */
		log_debug("req=%s link down: the answer waits in the queue", id);
	}
}

/*
 * Group commit. What one read brings (requests from the cable, answers
 * from the signer, delivery notes) is stored in one queue.db transaction,
 * committed before anything that depends on it leaves linkd: the link's
 * acknowledgements go out in transport_link_write, after the commit; a
 * stored answer waits in turn_ans until the commit, new requests are
 * handed to the signer after it. A turn that cannot be committed answers
 * its new requests 501 (webdb sends them again), as a request that cannot
 * be stored always was, and sends none of its stored answers (the signer
 * is asked again later). Without a transaction (queue_begin failed) every
 * statement commits alone, as before.
 */
static void
linkd_turn_begin(struct linkd *d)
{
	d->turn = queue_begin(d->q) == 0;
	d->turn_new = 0;
	buf_reset(&d->turn_ans);
}

/* A stored answer: sent now, or once the turn is committed ("answered"
 * logged then, when fresh). */
#define LINKD_TURN_HDR	13	/* tag, length, fresh */
static void
linkd_send_stored(struct linkd *d, const uint8_t *p, size_t n, int64_t tag,
    int fresh)
{
	uint8_t h[LINKD_TURN_HDR];
	char id[33];

	if (!d->turn) {
		if (fresh) {
			reqid_hex(p + 2, id);	/* version, type, request id */
			log_info("req=%s answered: %s", id, msg_type_name(p[1]));
		}
		linkd_send(d, p, n, tag);
		return;
	}
	put_be64(h, (uint64_t)tag);
	put_be32(h + 8, (uint32_t)n);
	h[12] = (uint8_t)fresh;
	if (buf_put(&d->turn_ans, h, sizeof(h)) == -1 ||
	    buf_put(&d->turn_ans, p, n) == -1)
		fatalx("linkd: out of memory");
}

static void linkd_error(struct linkd *, const struct msg *, int, const char *);
static void linkd_hand(struct linkd *, int);

static void
linkd_turn_failed(struct linkd *d)
{
	struct msg m;
	int i;

	/* the failed COMMIT is logged (rate-limited) where it failed, each
	 * new request's 501 by linkd_error */
	d->st.storage_errors++;
	for (i = 0; i < d->turn_new; i++) {
		memset(&m, 0, sizeof(m));
		memcpy(m.reqid, d->turn_req[i].reqid, AIRLOCK_REQID_LEN);
		m.type = d->turn_req[i].type;
		linkd_error(d, &m, AL_E_STORAGE,
		    "the signer host cannot store the request now");
	}
	if (d->turn_ans.len > 0)
		d->rehand_at = mono_ms() + LINKD_REHAND_MS;
}

static void
linkd_turn_end(struct linkd *d)
{
	const uint8_t *p;
	size_t off, n;
	char id[33];
	int i;

	if (!d->turn)
		return;
	d->turn = 0;
	if (queue_commit(d->q) == -1) {
		linkd_turn_failed(d);
		buf_reset(&d->turn_ans);
		return;
	}
	for (i = 0; i < d->turn_new; i++) {
		reqid_hex(d->turn_req[i].reqid, id);
		log_info("req=%s %s received root=%s", id,
		    msg_type_name(d->turn_req[i].type), d->turn_req[i].root);
	}
	for (off = 0; off + LINKD_TURN_HDR <= d->turn_ans.len;
	    off += LINKD_TURN_HDR + n) {
		p = d->turn_ans.p + off;
		n = get_be32(p + 8);
		if (p[12]) {
			reqid_hex(p + LINKD_TURN_HDR + 2, id);
			log_info("req=%s answered: %s", id,
			    msg_type_name(p[LINKD_TURN_HDR + 1]));
		}
		linkd_send(d, p + LINKD_TURN_HDR, n, (int64_t)get_be64(p));
	}
	buf_reset(&d->turn_ans);
	if (d->turn_new > 0)
		linkd_hand(d, 1);
}

/* While queue.db's disk is full every request fails alike: their lines are
 * rate-limited with the database's (health_log_now). 1: log this one. */
static int
linkd_storage_line(const char *id)
{
	uint64_t held;

	if (!health_failing())
		return 1;
	if (!health_log_now(&held))
		return 0;
	if (held == 0)
		return 1;
	log_warnx("req=%s and %llu more lines like it: not stored while the "
	    "storage error lasts; webdb sends them again", id,
	    (unsigned long long)held);
	return 0;
}

/*
 * The WAL after a storage error: tried each second while it lasts (on a
 * full disk a checkpoint moves the WAL's pages home and truncates it, which
 * frees space) and once when it is over, so that the WAL left by the
 * failed writes does not keep the space (issue 16, item 8).
 */
static void
linkd_checkpoint(struct linkd *d)
{
	if (health_failing()) {
		d->checkpoint_due = 1;
		db_checkpoint(d->q);
		return;
	}
	if (d->checkpoint_due && db_checkpoint(d->q) == 0) {
		d->checkpoint_due = 0;
		log_info("%s: WAL checkpointed after the storage error", d->c.queue_db);
	}
}

static void
linkd_error(struct linkd *d, const struct msg *req, int code, const char *text)
{
	struct msg e;
	char id[33];

	reqid_hex(req->reqid, id);
	if (code != AL_E_STORAGE || linkd_storage_line(id))
		log_warnx("req=%s %s: error %d: %s", id, msg_type_name(req->type),
		    code, text ? text : al_strerror(code));
	msg_error(&e, req->reqid, code, text);
	buf_reset(&d->tmp);
	if (msg_encode(&e, &d->tmp) == 0)
		linkd_send(d, d->tmp.p, d->tmp.len, -1);
}

#define LINKD_WARN_PER_MIN	10

static struct linkd *linkd_self;	/* for the log hook */

/*
 * linkd's warnings and errors go into the signer's audit chain too (and so
 * to webdb's mirror): one IPC_LOG record each, at most LINKD_WARN_PER_MIN a
 * minute; the rest, and those while the signer is away, stay in the
 * journal only and are counted in the next one sent.
 */
static void
linkd_log_hook(int pri, const char *line)
{
	struct linkd *d = linkd_self;
	uint64_t now = mono_ms();
	char text[IPC_LOG_MAX];
	size_t n;

	(void)pri;
	if (d == NULL)
		return;
	if (now - d->st.warn_window_ms >= 60000) {
		d->st.warn_window_ms = now;
		d->st.warn_in_window = 0;
	}
	if (!d->signer_up || d->st.warn_in_window >= LINKD_WARN_PER_MIN ||
	    d->req.out.len > LINKD_PIPE_MAX(d) / 2) {
		d->st.warn_unsent++;
		return;
	}
	if (d->st.warn_unsent > 0)
		snprintf(text, sizeof(text), "%s (and %llu earlier warnings only in "
		    "the journal)", line, (unsigned long long)d->st.warn_unsent);
	else
		snprintf(text, sizeof(text), "%s", line);
	/* a cut may split a UTF-8 sequence: cut back to a whole one */
	for (n = strlen(text); n > 0 && !utf8_text_ok((const uint8_t *)text, n); n--)
		;
	if (ipc_queue(&d->req, IPC_LOG, (const uint8_t *)text, n) == 0) {
		d->st.warn_in_window++;
		d->st.warn_unsent = 0;
	}
}

/* The privilege boundary: linkd's half of the signer's API. */
/*
 * Every hand-off, TIME samples included, counts against the in-flight limit
 * and the FIFO's buffer cap: a peer that floods cannot grow linkd's memory.
 */
static int
signer_submit(struct linkd *d, const uint8_t *req, size_t len)
{
	if (!d->signer_up || d->handed >= (int)d->c.signer_in_flight ||
	    (d->req.out.len > 0 && d->req.out.len + len > LINKD_PIPE_MAX(d)) ||
	    ipc_queue(&d->req, IPC_REQUEST, req, len) == -1) {
		d->st.busy++;
		return -1;
	}
	d->handed++;
	return 0;
}

static void linkd_hand(struct linkd *, int);

static int
linkd_hand_one(void *arg, int64_t id, const uint8_t *req, size_t len)
{
	struct linkd *d = arg;
	struct msg m;

	if (msg_decode(req, len, &m) != AL_OK || signer_submit(d, req, len) == -1) {
		d->sweep_busy = 1;
		return -1;
	}
	queue_set_state(d->q, m.reqid, Q_HANDED);
	if (d->sweeping)
		d->sweep_after = id;
	return 0;
}

/*
 * Starts handing every waiting row again, in id order and within the
 * in-flight limit, whatever its state says: on a signer's (re)connection
 * and after a retryable storage error. Before, only the first 32 went
 * again and the rest waited for the next restart (issue 16, item 7).
 */
static void
linkd_sweep(struct linkd *d)
{
	d->sweeping = 1;
	d->sweep_after = 0;
	linkd_hand(d, 0);
}

/* Hands queued requests to the signer, up to the in-flight limit: new
 * ones, or during a sweep every waiting one after the sweep's cursor. */
static void
linkd_hand(struct linkd *d, int only_received)
{
	int max, n;

	if (!d->signer_up || d->handed >= (int)d->c.signer_in_flight)
		return;
	max = (int)d->c.signer_in_flight - d->handed;
	if (!d->sweeping) {
		queue_pending(d->q, only_received, 0, max, linkd_hand_one, d);
		return;
	}
	d->sweep_busy = 0;
	n = queue_pending(d->q, 0, d->sweep_after, max, linkd_hand_one, d);
	if (n >= 0 && n < max && !d->sweep_busy)
		d->sweeping = 0;	/* every waiting row has gone again */
}

/*
 * The clock lines of STATUS. The offset is the signer's clock minus
 * webdb's at the last sample (compensated by half the client's round
 * trip), moved on by whatever the real clock has done since apart from
 * running (a correction shows at once). linkd never opens ca.db: it reads
 * the offset off the TIME and TIME_ACK it passes on.
 */
static void
linkd_time_status(const struct linkd *d, char *out, size_t outsz)
{
	const struct linkd_time *t = &d->time;
	int64_t off, warn = (int64_t)d->c.time_warn_offset * 1000000000LL;
	uint64_t now = mono_ms();

	if (t->mono_ms == 0) {
		snprintf(out, outsz, "time_sample_age=none\ntime_offset=unknown\n"
		    "time_warn=0\n");
		return;
	}
	off = t->offset_ns + ((int64_t)real_ns() - t->real_ns) -
	    (int64_t)(now - t->mono_ms) * 1000000;
	snprintf(out, outsz, "time_sample_age=%llu\ntime_offset=%+.3f\n"
	    "time_warn=%d\n", (unsigned long long)((now - t->mono_ms) / 1000),
	    (double)off / 1e9, off > warn || -off > warn ||
	    now - t->mono_ms > (uint64_t)d->c.time_max_age * 1000);
}

static void
linkd_time_ack(struct linkd *d, const struct msg *m, const char *id)
{
	struct linkd_time *t = &d->time;

	t->offset_ns = (int64_t)m->time2_ns - (int64_t)m->time_ns -
	    (t->rtt_ns > 0 ? t->rtt_ns / 2 : 0);
	t->real_ns = (int64_t)real_ns();
	t->mono_ms = mono_ms();
	log_debug("req=%s TIME_ACK: signer %+.3f s from webdb", id,
	    (double)t->offset_ns / 1e9);
}

static void
linkd_status(struct linkd *d, const struct msg *req)
{
	int64_t n[Q_NSTATES], oldest;
	struct msg a;
	char text[1536];
	size_t len;

	if (queue_counts(d->q, n, &oldest) == -1) {
		linkd_error(d, req, AL_E_STORAGE, NULL);
		return;
	}
	snprintf(text, sizeof(text), "airlock-linkd %s\nsigner=%s\nreceived=%lld\n"
	    "handed=%lld\nanswered=%lld\ndelivered=%lld\nfailed=%lld\n"
	    "undecodable=%llu\npruned=%llu\nin_flight=%d\nfifo_bytes=%zu\n"
	    "busy=%llu\naudit_answers=%llu\nserials_answers=%llu\nheld=%d\n"
	    "held_overflow=%llu\n",
	    AIRLOCK_VERSION,
	    d->signer_up ? "up" : "down",
	    (long long)n[Q_RECEIVED], (long long)n[Q_HANDED], (long long)n[Q_ANSWERED],
	    (long long)n[Q_DELIVERED], (long long)n[Q_FAILED],
	    (unsigned long long)d->st.undecodable, (unsigned long long)d->ret.pruned,
	    d->handed, d->req.out.len, (unsigned long long)d->st.busy,
	    (unsigned long long)d->st.audit_answers,
	    (unsigned long long)d->st.serials_answers, d->nheld,
	    (unsigned long long)d->st.held_overflow);
	len = strlen(text);
	linkd_time_status(d, text + len, sizeof(text) - len);
	memset(&a, 0, sizeof(a));
	a.type = MSG_STATUS_REPLY;
	memcpy(a.reqid, req->reqid, AIRLOCK_REQID_LEN);
	a.text.p = (const uint8_t *)text;
	a.text.len = strlen(text);
	MSG_SET(&a, T_TEXT);
	buf_reset(&d->tmp);
	if (msg_encode(&a, &d->tmp) == 0)
		linkd_send(d, d->tmp.p, d->tmp.len, -1);
}

static void
linkd_request(struct linkd *d, const struct msg *m, const uint8_t *p, size_t n)
{
	char root[AIRLOCK_NAME_MAX] = "", id[33];
	struct queue_item it;
	int r;

	if (MSG_HAS(m, T_ROOT))
		snprintf(root, sizeof(root), "%.*s", (int)m->root.len, m->root.p);
	r = queue_put(d->q, m->reqid, m->type, root, p, n, &d->tmp);
	if (r == -1) {
		d->st.storage_errors++;
		linkd_error(d, m, AL_E_STORAGE, "the signer host cannot store the request now");
		return;
	}
	reqid_hex(m->reqid, id);
	if (r == 1 && !d->turn) {
		log_info("req=%s %s received root=%s", id, msg_type_name(m->type), root);
		linkd_hand(d, 1);
		return;
	}
	if (r == 1) {		/* "received" is logged once committed */
		memcpy(d->turn_req[d->turn_new].reqid, m->reqid, AIRLOCK_REQID_LEN);
		d->turn_req[d->turn_new].type = m->type;
		snprintf(d->turn_req[d->turn_new].root,
		    sizeof(d->turn_req[d->turn_new].root), "%s", root);
		if (++d->turn_new == LINKD_TURN_MAX) {	/* commit what there is */
			linkd_turn_end(d);
			linkd_turn_begin(d);
		}
		return;
	}
	d->st.duplicates++;
	if (d->tmp.len > 0 && queue_get(d->q, m->reqid, &it, NULL, NULL) == 1) {
		log_info("req=%s repeated: answered again from the queue", id);
		linkd_send_stored(d, d->tmp.p, d->tmp.len, it.id, 0);
	} else
		log_info("req=%s repeated: still in progress", id);
}

static void
linkd_on_message(void *arg, const uint8_t *p, size_t n)
{
	struct linkd *d = arg;
	struct msg m;
	int code;

	d->st.requests++;
	code = msg_decode(p, n, &m);
	if (code == AL_E_MSG) {
		d->st.undecodable++;
		log_warnx("undecodable message of %zu bytes dropped (%llu so far)", n,
		    (unsigned long long)d->st.undecodable);
		return;
	}
	if (code == AL_OK && !msg_is_request(m.type))
		code = AL_E_MSG_TYPE;
	if (code != AL_OK) {
		d->st.rejected++;
		linkd_error(d, &m, code, NULL);
		return;
	}
	if (m.type == MSG_STATUS)
		linkd_status(d, &m);
	else if (m.type == MSG_TIME) {
		if (MSG_HAS(&m, T_RTT_NS))
			d->time.rtt_ns = (int64_t)(m.rtt_ns & INT64_MAX);
		/* a sample is worth nothing later: not queued, never retried, and
		 * not held back behind the signing queue, but counted in flight */
		if (signer_submit(d, p, n) == -1)
			linkd_error(d, &m, AL_E_BUSY, "the signer cannot take a time sample now");
	} else if (m.type == MSG_AUDIT_FETCH || m.type == MSG_CATCHUP) {
		/* a read of the chain, or a restore's catch-up (which webdb
		 * sends again until it is told it is done): never queued */
		if (signer_submit(d, p, n) == -1)
			linkd_error(d, &m, AL_E_BUSY, "the signer cannot send audit records now");
	} else if (m.type == MSG_SERIALS_FETCH) {
		/* a read of ca.db, asked again under a new id: never queued */
		if (signer_submit(d, p, n) == -1)
			linkd_error(d, &m, AL_E_BUSY, "the signer cannot send serials now");
	} else
		linkd_request(d, &m, p, n);
}

static void
linkd_on_delivered(void *arg, uint64_t tag)
{
	struct linkd *d = arg;

	if ((int64_t)tag > 0)
		queue_set_delivered(d->q, (int64_t)tag);
}

static void
linkd_on_up(void *arg)
{
	(void)arg;
	log_info("link up: new session");
}

static void
linkd_on_down(void *arg)
{
	(void)arg;
	log_info("link down");
}

/*
 * Held requests (dual control). The signer keeps them in ca.db and answers
 * 503 each time one is handed; linkd asks about each one alone every
 * LINKD_HELD_POLL_MS rather than sweeping the queue, and passes a 503 on to
 * webdb only when its sentence changed (an operator approved meanwhile).
 * linkd_held_add returns 1 when the 503 is to be passed on, else 0. When
 * the set is full the queue is swept again after LINKD_HELD_POLL_MS and the
 * 503 passed on each time: slower, never lost. After a restart the first
 * sweep finds them again.
 */
static int
linkd_held_find(const struct linkd *d, const uint8_t *reqid)
{
	int i;

	for (i = 0; i < d->nheld; i++)
		if (memcmp(d->held[i], reqid, AIRLOCK_REQID_LEN) == 0)
			return i;
	return -1;
}

static int
linkd_held_add(struct linkd *d, const uint8_t *reqid, const struct msg_bytes *text)
{
	uint32_t h = 2166136261u;	/* FNV-1a: a change detector, not a MAC */
	size_t k;
	int i;

	for (k = 0; k < text->len; k++)
		h = (h ^ text->p[k]) * 16777619u;
	if (d->held_at == 0)
		d->held_at = mono_ms() + LINKD_HELD_POLL_MS;
	if ((i = linkd_held_find(d, reqid)) != -1) {
		if (d->held_text[i] == h)
			return 0;
		d->held_text[i] = h;
		return 1;
	}
	if (d->nheld == LINKD_HELD_MAX) {
		d->st.held_overflow++;
		d->rehand_at = mono_ms() + LINKD_HELD_POLL_MS;
		return 1;
	}
	d->held_text[d->nheld] = h;
	memcpy(d->held[d->nheld++], reqid, AIRLOCK_REQID_LEN);
	return 1;
}

static void
linkd_held_del(struct linkd *d, const uint8_t *reqid)
{
	int i = linkd_held_find(d, reqid);

	if (i == -1)
		return;
	memmove(d->held[i], d->held[i + 1],
	    (size_t)(d->nheld - i - 1) * AIRLOCK_REQID_LEN);
	memmove(&d->held_text[i], &d->held_text[i + 1],
	    (size_t)(d->nheld - i - 1) * sizeof(d->held_text[0]));
	d->nheld--;
}

/* Hands every held request again, as far as the in-flight limit allows
 * (those that find no room go at the next poll). */
static void
linkd_held_poll(struct linkd *d, uint64_t now)
{
	struct queue_item it;
	int i;

	if (d->held_at == 0 || now < d->held_at || !d->signer_up)
		return;
	d->held_at = d->nheld > 0 ? now + LINKD_HELD_POLL_MS : 0;
	for (i = 0; i < d->nheld; i++) {
		buf_reset(&d->tmp);
		if (queue_get(d->q, d->held[i], &it, &d->tmp, NULL) != 1 ||
		    it.state >= Q_ANSWERED) {	/* answered or rejected meanwhile */
			linkd_held_del(d, d->held[i--]);
			continue;
		}
		if (signer_submit(d, d->tmp.p, d->tmp.len) == -1)
			break;
	}
}

/* An answer from the signer: commit it, then send it. */
static void
linkd_answer(struct linkd *d, const uint8_t *p, size_t n)
{
	struct queue_item it;
	struct msg m;
	char id[33], reason[256];
	int code, is_time;

	if ((code = msg_decode(p, n, &m)) != AL_OK || msg_is_request(m.type))
		fatalx("signer sent an answer that does not decode (%d)", code);
	/* TIME, AUDIT_FETCH, CATCHUP and SERIALS_FETCH are not queued: their
	 * answers (TIME_ACK, AUDIT_LOG, CATCHUP_STATE, SERIALS, or an ERROR
	 * for an id the queue does not know) are passed on and not stored */
	is_time = m.type == MSG_TIME_ACK || m.type == MSG_AUDIT_LOG ||
	    m.type == MSG_CATCHUP_STATE || m.type == MSG_SERIALS ||
	    (m.type == MSG_ERROR && queue_get(d->q, m.reqid, &it, NULL, NULL) == 0);
	if (d->handed > 0)
		d->handed--;
	reqid_hex(m.reqid, id);
	if (is_time) {
		if (m.type == MSG_TIME_ACK)
			linkd_time_ack(d, &m, id);
		else if (m.type == MSG_AUDIT_LOG || m.type == MSG_CATCHUP_STATE)
			d->st.audit_answers++;
		else if (m.type == MSG_SERIALS)
			d->st.serials_answers++;
		else
			log_warnx("req=%s (not queued): error %u: %.*s", id,
			    m.code, (int)m.text.len, m.text.p);
		linkd_send(d, p, n, -1);
		return;
	}
	if (m.type == MSG_ERROR && m.code == AL_E_HELD) {
		/* dual control: stays queued; webdb hears it once */
		if (linkd_held_add(d, m.reqid, &m.text) == 1) {
			log_info("req=%s %.*s", id, (int)m.text.len,
			    m.text.p);
			linkd_send(d, p, n, -1);
		}
		return;
	}
	linkd_held_del(d, m.reqid);
	if (m.type == MSG_ERROR && (m.code == AL_E_STORAGE || m.code == AL_E_BUSY)) {
		/* retryable: the request stays queued and goes again later */
		log_warnx("req=%s signer: %.*s; will retry", id, (int)m.text.len,
		    m.text.p);
		d->rehand_at = mono_ms() + LINKD_REHAND_MS;
		linkd_send(d, p, n, -1);
		return;
	}
	snprintf(reason, sizeof(reason), "%.*s", (int)m.text.len, m.text.p);
	if (m.type != MSG_TIME_ACK && queue_set_answer(d->q, m.reqid, p, n,
	    m.type == MSG_ERROR ? m.code : 0, reason) == -1) {
		d->st.storage_errors++;
		if (linkd_storage_line(id))
			log_warnx("req=%s cannot store the answer; the signer will be "
			    "asked again", id);
		d->rehand_at = mono_ms() + LINKD_REHAND_MS;
		return;
	}
	d->st.answered++;
	linkd_send_stored(d, p, n, queue_get(d->q, m.reqid, &it, NULL, NULL) == 1 ?
	    it.id : -1, 1);
}

static void
linkd_signer_gone(struct linkd *d)
{
	if (d->signer_up)
		log_warnx("signer has gone; requests stay queued");
	d->signer_up = 0;
	d->handed = 0;
	ipc_close(&d->req);
	ipc_close(&d->ans);
}

static void
linkd_signer_io(struct linkd *d, short ans_revents)
{
	const uint8_t *p;
	uint32_t type;
	size_t n;

	if (ans_revents & (POLLIN | POLLHUP)) {
		if (ipc_fill(&d->ans) == -1) {
			linkd_signer_gone(d);
			return;
		}
		linkd_turn_begin(d);
		while (ipc_next(&d->ans, &type, &p, &n) == 1) {
			if (type != IPC_ANSWER)
				fatalx("%s: record of type %u where an answer belongs",
				    d->ans_path, type);
			linkd_answer(d, p, n);
			ipc_consume(&d->ans);
		}
		linkd_hand(d, 1);
		linkd_turn_end(d);
	}
	if (d->req.out.len && ipc_flush(&d->req) == -1)
		linkd_signer_gone(d);
}

static void
linkd_reopen(struct linkd *d, uint64_t now)
{
	if (!d->signer_up && now >= d->signer_at) {
		d->signer_at = now + LINKD_SIGNER_MS;
		if (ipc_open(&d->ans) == 0 && ipc_open(&d->req) == 0) {
			log_info("signer connected");
			d->signer_up = 1;
			d->st.signer_restarts++;
			linkd_sweep(d);	/* whatever the last signer had, again */
		}
	}
	if (now < d->retry_at)
		return;
	d->retry_at = now + LINKD_RETRY_MS;
	linkd_checkpoint(d);
	transport_reopen(&d->t, now);
	if (d->signer_up)
		linkd_hand(d, 1);	/* rows airlockctl retry or reject queued again */
	linkd_held_poll(d, now);
	if (d->signer_up && d->rehand_at && now >= d->rehand_at) {
		d->rehand_at = 0;
		d->handed = 0;		/* the signer answers repeats from its store */
		linkd_sweep(d);
	}
}

/* One turn of the cable for the v1 listener: read, run its timers, write. */
static int
linkd_v1_io(struct linkd *d, short revents, uint64_t now)
{
	struct buf *out = v1_out(d->v1);
	uint8_t tmp[4096];
	ssize_t r = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while ((r = d->t.ops->read(&d->t, tmp, sizeof(tmp))) > 0)
			v1_input(d->v1, tmp, (size_t)r, now);
		if (r == -1)
			return -1;
	}
	v1_tick(d->v1, now);
	while (out->len > 0 && (r = d->t.ops->write(&d->t, out->p, out->len)) > 0)
		buf_consume(out, (size_t)r);
	return r == -1 ? -1 : 0;
}

static void
linkd_cable_io(struct linkd *d, short revents, uint64_t now)
{
	int r;

	if (d->v1 != NULL) {
		if (linkd_v1_io(d, revents, now) == -1) {
			log_warnx("cable: device lost; reopening");
			d->t.ops->close(&d->t);
			v1_reset(d->v1);
		}
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		linkd_turn_begin(d);
	r = transport_link_read(&d->t, d->l, revents, now);
	linkd_turn_end(d);	/* before the acknowledgements are written */
	if (r == -1 || transport_link_write(&d->t, d->l, now) == -1) {
		log_warnx("cable: device lost; reopening");
		d->t.ops->close(&d->t);
		link_reset(d->l);
	}
}

static void
linkd_loop(struct linkd *d)
{
	struct pollfd pfd[3];
	uint64_t now;
	int timeout;

	while (!proc_quit) {
		now = mono_ms();
		linkd_reopen(d, now);
		retention_tick(&d->ret, now);
		if (d->v1 != NULL) {
			char line[1024];

			v1_stats_line(d->v1, line, sizeof(line));
			transport_publish_text(&d->t, line, now);
		} else
			transport_publish(&d->t, d->l, now);
		if (d->v1 != NULL) {
			v1_tick(d->v1, now);
			timeout = v1_timeout_ms(d->v1, now);
		} else {
			if (d->t.fd != -1)
				link_pump(d->l, now);
			timeout = link_timeout_ms(d->l, now);
		}
		if (d->t.fd == -1 && timeout > LINKD_RETRY_MS)
			timeout = LINKD_RETRY_MS;
		if (!d->signer_up && timeout > LINKD_SIGNER_MS)
			timeout = LINKD_SIGNER_MS;
		pfd[0].fd = d->t.fd;
		if (d->v1 != NULL)
			pfd[0].events = POLLIN | (v1_out(d->v1)->len ? POLLOUT : 0);
		else
			pfd[0].events = POLLIN | (link_write_allowance(d->l, now) &&
			    d->l->out.len ? POLLOUT : 0);
		pfd[1].fd = d->signer_up ? d->ans.fd : -1;
		pfd[1].events = POLLIN;
		pfd[2].fd = d->signer_up && d->req.out.len ? d->req.fd : -1;
		pfd[2].events = POLLOUT;
		if (poll(pfd, 3, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		now = mono_ms();
		if (d->signer_up)
			linkd_signer_io(d, pfd[1].revents);
		if (d->t.fd != -1)
			linkd_cable_io(d, pfd[0].revents, now);
	}
}

int
main(int argc, char **argv)
{
	static const struct link_cb cb = {
		linkd_on_up, linkd_on_down, linkd_on_message, linkd_on_delivered
	};
	static struct linkd d;
	static const struct v1_host v1h = { linkd_on_message, linkd_on_delivered, &d };
	struct link_params lp;
	struct proc_opts o;
	uint8_t key[LINK_KEY_LEN];
	char why[1024];

	if (proc_options(argc, argv, &o, usage) != argc) {
		fputs(usage, stderr);
		return 2;
	}
	proc_config(&o, &d.c, "airlock-linkd");
	proc_signals();
	memset(key, 0, sizeof(key));
	if (strcmp(d.c.link.protocol, "commmodule-v1") != 0 &&
	    linkkey_load(d.c.link.key_file, key, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (transport_init(&d.t, &d.c.link, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (ipc_make_fifos(d.c.run_dir, d.req_path, d.ans_path, sizeof(d.req_path)) == -1)
		fatal("%s: cannot create the FIFOs", d.c.run_dir);
	/* one linkd per signer: a second one (another cable, the same run_dir)
	 * would open the signer's FIFOs too and take answers meant for the first */
	proc_lock(d.c.run_dir, "linkd", d.c.link_user,
	    "another airlock-linkd serves this signer");
	proc_drop(d.c.link_user);
	sandbox_enter("linkd", &d.c);
	health_init(d.c.run_dir, "linkd");
	if (queue_open(d.c.queue_db, 0, &d.q) == -1)
		fatalx("%s: cannot open the queue database", d.c.queue_db);
	retention_init(&d.ret, d.q, queue_prune, "queue.db",
	    "delivered or failed requests", d.c.signer_retention_days, mono_ms());
	link_params_default(&lp, d.c.link.pace ? d.c.link.baud : 0);
	lp.max_payload = d.c.link.max_payload;
	lp.window = d.c.link.window;
	lp.revision = d.c.link.revision;
	if ((d.l = link_new(LINK_RESPONDER, key, &lp, &cb, &d)) == NULL)
		fatalx("out of memory");
	crypto_cleanse(key, sizeof(key));
	ipc_init(&d.req, d.req_path, 0);
	ipc_init(&d.ans, d.ans_path, 1);
	buf_init(&d.tmp);
	buf_init(&d.turn_ans);
	if (strcmp(d.c.link.protocol, "commmodule-v1") == 0 &&
	    (d.v1 = v1_new(&d.c, &v1h)) == NULL)
		fatalx("out of memory");
	log_info("started: cable %s, queue %s", d.c.link.device, d.c.queue_db);
	if (d.v1 != NULL)
		log_warnx("link.protocol is commmodule-v1: the old CommModule protocol, "
		    "WITHOUT AUTHENTICATION: whoever reaches %s can ask this signer for "
		    "certificates and revocations within its profiles; move webdb to "
		    "airlock-client (docs/legacy-v1.md)", d.c.link.device);
	linkd_self = &d;
	log_hook(linkd_log_hook);
	linkd_loop(&d);
	log_hook(NULL);
	if (d.v1 != NULL)
		v1_stats_line(d.v1, why, sizeof(why));
	else
		link_stats_line(d.l, why, sizeof(why));
	log_info("stopping: %llu requests, %llu duplicates, %llu answered, "
	    "%llu undecodable, %llu rejected, %llu pruned; link %s",
	    (unsigned long long)d.st.requests,
	    (unsigned long long)d.st.duplicates, (unsigned long long)d.st.answered,
	    (unsigned long long)d.st.undecodable, (unsigned long long)d.st.rejected,
	    (unsigned long long)d.ret.pruned, why);
	transport_free(&d.t);
	link_free(d.l);
	v1_free(d.v1);
	db_close(d.q);
	return 0;
}
