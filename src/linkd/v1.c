/*
 * v1.c: the CommModule v1 listener of airlock-linkd (docs/legacy-v1.md).
 *
 * v1 is strict stop-and-wait: webdb's old client sends one request and
 * waits up to 120 s for one answer. This module receives the request with
 * v1frame.c, turns it into airlock requests (SIGN, PGP_CERTIFY, REVOKE,
 * CRL_FETCH, TIME) that linkd puts on its normal path, and sends the
 * answer the old client understands. v1 has no request ids, no error
 * answer and no authentication; the ids are derived from the request's
 * content (so a repeat gets the stored answer), a refusal is an empty
 * answer (the old client records a failure), and the mode is off unless
 * configured.
 *
 * Nothing from the cable is fatal: every refusal is a log line with a
 * sentence, a counter, and an answer the old client can live with.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "msg.h"
#include "v1.h"
#include "v1_int.h"
#include "v1frame.h"

struct v1 *
v1_new(const struct cfg *c, const struct v1_host *h)
{
	struct v1 *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->c = c;
	v->h = *h;
	v1_dec_init(&v->dec);
	buf_init(&v->out);
	buf_init(&v->frame);
	return v;
}

void
v1_free(struct v1 *v)
{
	if (v == NULL)
		return;
	buf_free(&v->out);
	buf_free(&v->frame);
	buf_free(&v->job.key);
	v1_crl_forget(&v->crls);
	free(v);
}

struct buf *
v1_out(struct v1 *v)
{
	return &v->out;
}

void
v1_reset(struct v1 *v)
{
	if (v->tx != V1_TX_IDLE)
		v->st.tx_lost++;
	v->tx = V1_TX_IDLE;
	v1_dec_init(&v->dec);
	buf_reset(&v->out);
}

static void
v1_byte(struct v1 *v, uint8_t c)
{
	buf_put_u8(&v->out, c);
}

/* Starts sending an answer: STX, then the frame once the peer ACKs. */
void
v1_send(struct v1 *v, int action, const uint8_t *p, size_t n, int64_t tag, uint64_t now)
{
	buf_reset(&v->frame);
	if (v1_answer_encode(action, p, n, &v->frame) == -1) {
		log_warnx("v1: cannot encode an answer of %zu bytes", n);
		return;
	}
	if (v->tx != V1_TX_IDLE)
		v->st.tx_lost++;
	v1_byte(v, V1_STX);
	v->tx = V1_TX_STX;
	v->tx_at = now + V1_ACK_MS;
	v->tx_tag = tag;
	v->tx_naks = 0;
}

/* A refusal: log line, counter, and the empty answer (docs/legacy-v1.md). */
void
v1_refuse(struct v1 *v, int action, int code, uint64_t now, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	v->st.refused++;
	log_warnx("v1: %s request refused: error %d: %s (answered empty; %llu "
	    "refused so far)", action == V1_ACT_NUL ? "keepalive" :
	    action == V1_ACT_SIGN ? "sign" : "revoke/CRL", code, text,
	    (unsigned long long)v->st.refused);
	v->job.kind = V1_JOB_NONE;
	v1_send(v, action, NULL, 0, -1, now);
}

/* Our answer frame was acknowledged, refused or met a new transfer. */
static int
v1_tx_byte(struct v1 *v, uint8_t c, uint64_t now)
{
	if (c == V1_STX) {		/* the old client restarted: listen */
		log_warnx("v1: the peer started a new transfer instead of taking our answer");
		v->st.tx_lost++;
		v->tx = V1_TX_IDLE;
		return 0;
	}
	if (v->tx == V1_TX_STX && c == V1_ACK) {
		buf_put(&v->out, v->frame.p, v->frame.len);
		v->tx = V1_TX_FRAME;
		v->tx_at = now + V1_ACK_MS;
	} else if (v->tx == V1_TX_FRAME && c == V1_ACK) {
		v->tx = V1_TX_IDLE;
		v->st.answered++;
		if (v->tx_tag > 0)
			v->h.delivered(v->h.arg, (uint64_t)v->tx_tag);
	} else if (v->tx == V1_TX_FRAME && c == V1_NAK) {
		if (++v->tx_naks > V1_MAX_NAKS) {
			log_warnx("v1: the peer refused our answer %d times; dropped "
			    "(a repeat of its request gets it again)", v->tx_naks);
			v->st.tx_lost++;
			v->tx = V1_TX_IDLE;
		} else {
			buf_put(&v->out, v->frame.p, v->frame.len);
			v->tx_at = now + V1_ACK_MS;
		}
	} else
		v->dec.st.garbage++;
	return 1;
}

static void
v1_frame(struct v1 *v, uint64_t now)
{
	struct v1_req r;
	char why[256];

	v->st.requests++;
	if (v->job.kind != V1_JOB_NONE) {
		log_warnx("v1: a new request overtakes the one in progress; its "
		    "answer stays in the queue for a repeat");
		v->st.abandoned++;
		v->job.kind = V1_JOB_NONE;
	}
	if (v1_req_parse(v->dec.body, v->dec.len, &r, why, sizeof(why)) == -1) {
		v1_refuse(v, v->dec.len >= 5 && v->dec.body[4] <= V1_ACT_REVOKE ?
		    v->dec.body[4] : V1_ACT_NUL, AL_E_MSG, now, "%s", why);
		return;
	}
	switch (r.action) {
	case V1_ACT_NUL:
		v1_do_keepalive(v, &r, now);
		break;
	case V1_ACT_SIGN:
		if (r.system == V1_SYS_OPENPGP)
			v1_do_pgp(v, &r, now);
		else
			v1_do_sign(v, &r, now);
		break;
	default:
		v1_do_revoke(v, &r, now);
	}
}

void
v1_input(struct v1 *v, const uint8_t *p, size_t n, uint64_t now)
{
	size_t used;
	int ev;

	v->last_rx = now;
	while (n > 0) {
		if (v->tx != V1_TX_IDLE && v1_tx_byte(v, *p, now)) {
			p++;
			n--;
			continue;
		}
		ev = v1_dec_push(&v->dec, p, n, &used);
		p += used;
		n -= used;
		switch (ev) {
		case V1_EV_STX:
			v1_byte(v, V1_ACK);
			break;
		case V1_EV_FRAME:
			v1_byte(v, V1_ACK);
			v1_frame(v, now);
			break;
		case V1_EV_NAK:
			log_warnx("v1: frame refused (%s): NAK", v1_bad_name(v->dec.last_bad));
			v1_byte(v, V1_NAK);
			break;
		case V1_EV_GIVEUP:
			log_warnx("v1: transfer dropped (%s); the peer will time out",
			    v1_bad_name(v->dec.last_bad));
			break;
		}
	}
}

void
v1_tick(struct v1 *v, uint64_t now)
{
	if (v->dec.state != V1D_IDLE && now >= v->last_rx + V1_GAP_MS) {
		if (v1_dec_quiet(&v->dec) == V1_EV_NAK) {
			log_warnx("v1: frame refused (%s): NAK", v1_bad_name(v->dec.last_bad));
			v1_byte(v, V1_NAK);
		}
		v->last_rx = now;
	}
	if (v->tx != V1_TX_IDLE && now >= v->tx_at) {
		log_warnx("v1: the peer did not acknowledge our answer in %d s; dropped "
		    "(a repeat of its request gets it again)", V1_ACK_MS / 1000);
		v->st.tx_lost++;
		v->tx = V1_TX_IDLE;
	}
	if (v->job.kind != V1_JOB_NONE && now >= v->job.deadline) {
		log_warnx("v1: no answer from the signer in %d s; the old client "
		    "will time out and ask again", V1_JOB_MS / 1000);
		v->st.abandoned++;
		v->job.kind = V1_JOB_NONE;
	}
}

int
v1_timeout_ms(const struct v1 *v, uint64_t now)
{
	uint64_t at = now + 60000;

	if (v->dec.state != V1D_IDLE && v->last_rx + V1_GAP_MS < at)
		at = v->last_rx + V1_GAP_MS;
	if (v->tx != V1_TX_IDLE && v->tx_at < at)
		at = v->tx_at;
	if (v->job.kind != V1_JOB_NONE && v->job.deadline < at)
		at = v->job.deadline;
	return at <= now ? 0 : (int)(at - now);
}

void
v1_stats_line(const struct v1 *v, char *out, size_t outsz)
{
	const struct v1_dec_stats *d = &v->dec.st;

	snprintf(out, outsz, "state=v1 requests=%llu keepalives=%llu time_samples=%llu "
	    "signs=%llu pgps=%llu revokes=%llu crls=%llu patches=%llu refused=%llu "
	    "answered=%llu tx_lost=%llu abandoned=%llu garbage=%llu bad_xor=%llu "
	    "bad_length=%llu bad_trailer=%llu oversize=%llu stalls=%llu naks=%llu "
	    "giveups=%llu",
	    (unsigned long long)v->st.requests, (unsigned long long)v->st.keepalives,
	    (unsigned long long)v->st.time_samples, (unsigned long long)v->st.signs,
	    (unsigned long long)v->st.pgps, (unsigned long long)v->st.revokes,
	    (unsigned long long)v->st.crls, (unsigned long long)v->st.patches,
	    (unsigned long long)v->st.refused, (unsigned long long)v->st.answered,
	    (unsigned long long)v->st.tx_lost, (unsigned long long)v->st.abandoned,
	    (unsigned long long)d->garbage, (unsigned long long)d->bad_xor,
	    (unsigned long long)d->bad_length, (unsigned long long)d->bad_trailer,
	    (unsigned long long)d->oversize, (unsigned long long)d->stalls,
	    (unsigned long long)d->naks, (unsigned long long)d->giveups);
}

/* An airlock answer: is it the one the current job waits for? */
void
v1_answer(struct v1 *v, const uint8_t *p, size_t n, int64_t tag, uint64_t now)
{
	struct msg m;

	if (msg_decode(p, n, &m) != AL_OK)
		return;
	if (v->job.kind == V1_JOB_NONE ||
	    memcmp(m.reqid, v->job.reqid, AIRLOCK_REQID_LEN) != 0) {
		log_debug("v1: %s for no v1 request in progress", msg_type_name(m.type));
		return;
	}
	if (m.type == MSG_ERROR && (m.code == AL_E_STORAGE || m.code == AL_E_BUSY)) {
		log_info("v1: signer host: %.*s; still waiting", (int)m.text.len, m.text.p);
		return;		/* retryable: it stays queued and goes again */
	}
	v1_job_answer(v, &m, tag, now);
}
