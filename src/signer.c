/*
 * signer.c: what airlock-signerd does with one request. Every byte of the
 * request is untrusted although it came through linkd: it is decoded and
 * checked again here. Dispatch is a table of {type, handler}; each handler
 * fills an answer message and says whether it is to be recorded.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "crypto.h"
#include "msg.h"
#include "signer.h"

#define SERIAL_LEN	16	/* 126 random bits: positive, fixed length */

struct signer_job {
	struct signer	*s;
	const struct msg *req;
	struct msg	 ans;
	struct castore_cert cert;	/* filled when a certificate was issued */
	int		 has_cert;
	int		 record;	/* store the answer under the request id */
	char		 why[512];
	struct ca_issued issued;
	uint8_t		 serial[SERIAL_LEN];
	char		 root[AIRLOCK_NAME_MAX];
	char		 subject[512];
};

static void
job_error(struct signer_job *j, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
job_error(struct signer_job *j, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	msg_error(&j->ans, j->req->reqid, code, j->why);
}

int
signer_init(struct signer *s, const struct cfg *c, char *why, size_t whysz)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->cfg = c;
	if (castore_open(c->ca_db, 0, &s->db) == -1) {
		snprintf(why, whysz, "%s: cannot open the CA database", c->ca_db);
		return -1;
	}
	for (i = 0; i < c->nroots; i++)
		if (ca_load(&c->roots[i], &s->ca[i], why, whysz) == -1) {
			signer_free(s);
			return -1;
		}
	return 0;
}

void
signer_free(struct signer *s)
{
	int i;

	for (i = 0; i < CFG_MAX_ROOTS; i++)
		ca_free(s->ca[i]);
	db_close(s->db);
	memset(s, 0, sizeof(*s));
}

static int
signer_new_serial(struct signer_job *j)
{
	int tries, used;

	for (tries = 0; tries < 8; tries++) {
		if (crypto_random(j->serial, sizeof(j->serial)) == -1)
			return -1;
		j->serial[0] = (uint8_t)((j->serial[0] & 0x3f) | 0x40);
		used = castore_serial_used(j->s->db, j->root, j->serial, sizeof(j->serial));
		if (used == 0)
			return 0;
		if (used == -1)
			return -1;
	}
	return -1;
}

/* ERROR 501 to a request: not recorded, so the same request may come again. */
static int
signer_retry_later(struct signer *s, const uint8_t *req, size_t len,
    struct buf *ans)
{
	struct msg m;

	s->st.storage_errors++;
	msg_decode(req, len, &m);	/* only for the request id */
	msg_error(&m, m.reqid, AL_E_STORAGE, NULL);
	buf_reset(ans);
	if (msg_encode(&m, ans) == -1)
		fatalx("signer: out of memory");
	return -1;
}

/* Ends a request's savepoint, keeping what it wrote in the batch. */
static int
signer_release(struct signer *s, const uint8_t *req, size_t len,
    struct buf *ans)
{
	if (castore_commit(s->db) == -1)
		return signer_retry_later(s, req, len, ans);
	return 0;
}

static void
do_sign(struct signer_job *j)
{
	const struct cfg *c = j->s->cfg;
	const struct msg *m = j->req;
	const struct cfg_root *r;
	const struct cfg_profile *p;
	struct ca_request cr;
	int code;

	j->record = 1;
	if ((r = config_root(c, (const char *)m->root.p, m->root.len)) == NULL) {
		job_error(j, AL_E_ROOT, "unknown root \"%.*s\"", (int)m->root.len, m->root.p);
		return;
	}
	snprintf(j->root, sizeof(j->root), "%s", r->name);
	if (!config_root_allows(r, (const char *)m->profile.p, m->profile.len) ||
	    (p = config_profile(c, (const char *)m->profile.p, m->profile.len)) == NULL) {
		job_error(j, AL_E_PROFILE, "root %s does not issue profile \"%.*s\"",
		    r->name, (int)m->profile.len, m->profile.p);
		return;
	}
	if (signer_new_serial(j) == -1) {
		j->record = 0;
		job_error(j, AL_E_STORAGE, "cannot choose a fresh serial number");
		return;
	}
	memset(&cr, 0, sizeof(cr));
	cr.csr = m->csr.p;
	cr.csr_len = m->csr.len;
	cr.format = m->csr_format;
	cr.days = m->days;
	cr.now = time(NULL);
	code = ca_issue(j->s->ca[r - c->roots], p, &cr, j->serial, sizeof(j->serial),
	    &j->issued, j->why, sizeof(j->why));
	if (code != AL_OK) {
		/* a failure of ours, not of the request: a later try may succeed */
		if (code == AL_E_INTERNAL)
			j->record = 0;
		msg_error(&j->ans, m->reqid, code, j->why);
		return;
	}
	memset(&j->ans, 0, sizeof(j->ans));
	j->ans.type = MSG_CERT;
	memcpy(j->ans.reqid, m->reqid, AIRLOCK_REQID_LEN);
	/* the certificate alone: its serial is inside, and the chain is the
	 * same for every answer of a root, so it would only cost line time */
	j->ans.cert.p = j->issued.der.p;
	j->ans.cert.len = j->issued.der.len;
	j->ans.present = 1u << T_CERT;
	j->has_cert = 1;
	j->cert = (struct castore_cert){ j->root, j->serial, sizeof(j->serial),
	    m->reqid, j->issued.not_before, j->issued.not_after, j->issued.subject,
	    j->issued.der.p, j->issued.der.len };
}

static void
do_time(struct signer_job *j)
{
	uint64_t now = real_ns();

	j->record = 0;		/* a sample, not a transaction */
	if (castore_time_sample(j->s->db, j->req->time_ns, now, mono_ms() * 1000000ull,
	    MSG_HAS(j->req, T_SYNC) ? j->req->sync : MSG_SYNC_UNKNOWN) == 0)
		j->s->st.time_samples++;
	memset(&j->ans, 0, sizeof(j->ans));
	j->ans.type = MSG_TIME_ACK;
	memcpy(j->ans.reqid, j->req->reqid, AIRLOCK_REQID_LEN);
	j->ans.time_ns = j->req->time_ns;
	j->ans.time2_ns = now;
	j->ans.present = 1u << T_TIME_NS | 1u << T_TIME2_NS;
}

static void
do_unsupported(struct signer_job *j)
{
	j->record = 0;		/* a later signer may answer it */
	job_error(j, AL_E_MSG_TYPE, "%s requests are not served by this signer",
	    msg_type_name(j->req->type));
}

static const struct {
	int	 type;
	void	(*fn)(struct signer_job *);
} signer_handlers[] = {
	{ MSG_SIGN, do_sign },
	{ MSG_TIME, do_time },
	{ MSG_REVOKE, do_unsupported },
	{ MSG_CRL_FETCH, do_unsupported },
	{ MSG_STATUS, do_unsupported },
};

static void
signer_dispatch(struct signer_job *j)
{
	size_t i;

	for (i = 0; i < sizeof(signer_handlers) / sizeof(signer_handlers[0]); i++)
		if (signer_handlers[i].type == j->req->type) {
			signer_handlers[i].fn(j);
			return;
		}
	j->record = 1;
	job_error(j, AL_E_MSG_TYPE, "message type %d is not a request", j->req->type);
}

static int
signer_finish(struct signer *s, struct signer_job *j, struct buf *ans)
{
	char id[33];

	reqid_hex(j->req->reqid, id);
	if (msg_encode(&j->ans, ans) == -1)
		fatalx("signer: out of memory");
	if (j->ans.type == MSG_ERROR) {
		s->st.rejected++;
		log_info("req=%s %s rejected: %d %s", id, msg_type_name(j->req->type),
		    j->ans.code, j->why);
	}
	if (j->record && castore_record(s->db, j->req->reqid, j->req->type, j->root,
	    j->ans.type == MSG_ERROR ? j->ans.code : 0, ans->p, ans->len,
	    j->has_cert ? &j->cert : NULL) == -1) {
		s->st.storage_errors++;
		log_warnx("req=%s cannot record the answer: %s", id, db_last_error(s->db));
		buf_reset(ans);
		msg_error(&j->ans, j->req->reqid, AL_E_STORAGE, NULL);
		if (msg_encode(&j->ans, ans) == -1)
			fatalx("signer: out of memory");
		return -1;
	}
	if (j->has_cert) {
		s->st.issued++;
		log_info("req=%s issued root=%s subject=\"%s\"", id, j->root, j->issued.subject);
	}
	return 0;
}

/* One request inside the batch's transaction, in a savepoint of its own. */
static int
signer_handle_one(struct signer *s, const uint8_t *req, size_t len,
    struct buf *ans)
{
	struct signer_job *j;
	struct msg m;
	int code, rv, found;
	char id[33];

	s->st.requests++;
	if (castore_begin(s->db) == -1)
		return signer_retry_later(s, req, len, ans);
	buf_reset(ans);
	code = msg_decode(req, len, &m);	/* zeroes the request id first */
	reqid_hex(m.reqid, id);
	found = code == AL_E_MSG ? 0 : castore_answer(s->db, m.reqid, ans);
	if (found == 1) {
		s->st.replayed++;
		log_info("req=%s answered again from the store", id);
		return signer_release(s, req, len, ans);
	}
	if (found == -1) {
		castore_rollback(s->db);
		return signer_retry_later(s, req, len, ans);
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatalx("signer: out of memory");
	j->s = s;
	j->req = &m;
	buf_init(&j->issued.der);
	if (code != AL_OK) {
		/* no request id to file it under when the message did not decode */
		j->record = code != AL_E_MSG;
		job_error(j, code, "%s", al_strerror(code));
	} else
		signer_dispatch(j);
	rv = signer_finish(s, j, ans);
	buf_free(&j->issued.der);
	free(j);
	if (rv == -1) {
		castore_rollback(s->db);	/* whatever the handler wrote too */
		return -1;
	}
	return signer_release(s, req, len, ans);
}

/*
 * Group commit: the batch runs in one transaction and its answers are
 * returned only after that transaction is durable. Inside, each request
 * has a savepoint, so a storage error undoes that request alone; a request
 * id seen twice in one batch finds the first one's answer (uncommitted,
 * on the same connection) and is not processed again.
 */
int
signer_handle_batch(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	struct signer_stats before = s->st;
	size_t i;
	int failed = 0;

	if (castore_begin(s->db) == -1) {
		log_warnx("cannot start a transaction: %s", db_last_error(s->db));
		s->st.requests += n;
		for (i = 0; i < n; i++)
			signer_retry_later(s, r[i].p, r[i].len, &ans[i]);
		return (int)n;
	}
	for (i = 0; i < n; i++)
		if (signer_handle_one(s, r[i].p, r[i].len, &ans[i]) == -1)
			failed++;
	if (castore_commit(s->db) == 0)
		return failed;
	log_warnx("cannot commit %zu answers: %s; every one is withdrawn and "
	    "will be asked for again", n, db_last_error(s->db));
	s->st = before;
	s->st.requests += n;
	for (i = 0; i < n; i++)
		signer_retry_later(s, r[i].p, r[i].len, &ans[i]);
	return (int)n;
}

int
signer_handle(struct signer *s, const uint8_t *req, size_t len, struct buf *ans)
{
	struct signer_req r = { req, len };

	return signer_handle_batch(s, &r, 1, ans) == 0 ? 0 : -1;
}
