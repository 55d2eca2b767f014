/*
 * signer.c: what airlock-signerd does with one request. Every byte of the
 * request is untrusted although it came through linkd: it is decoded and
 * checked again here. Dispatch is a table of {type, handler}; each handler
 * fills an answer message and says whether it is to be recorded.
 *
 * Requests come in batches (signer_handle_batch): one ca.db transaction
 * per batch, a savepoint per request, and no answer is returned before the
 * batch is committed. signer_handle is a batch of one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ca.h"
#include "crl.h"
#include "crypto.h"
#include "msg.h"
#include "psl.h"
#include "pgp.h"
#include "signer.h"
#include "timesync.h"
#include "castore.h"
#include "crlsign.h"
#include "holdstore.h"

#define SERIAL_LEN	SIGNER_SERIAL_LEN

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
	struct crlsign_out crl;		/* bytes of a CRL answer */
	struct buf	 cacert, cachain;	/* the CA certificate a CRL answer names */
	struct pgp_result pgp;		/* an OpenPGP certification (signer_pgp.c) */
	struct signer_audit_out audit;	/* an AUDIT_LOG (signer_audit.c) */
	struct buf	 serials;	/* a SERIALS answer's list (signer_serials.c) */
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

/* The public suffix list, read once (before the sandbox): a list that
 * cannot be read stops the start; psl_file "" goes without, with a warning. */
static int
signer_load_psl(struct signer *s, char *why, size_t whysz)
{
	size_t n, idn;

	if (s->cfg->psl_file[0] == '\0') {
		log_warnx("psl: no public suffix list (signer.psl_file is \"\"): "
		    "only wildcards right under a top-level domain are refused");
		return 0;
	}
	if (psl_load(s->cfg->psl_file, &s->psl, why, whysz) == -1)
		return -1;
	n = psl_count(s->psl, &idn);	/* before idn is read: no order in arguments */
	log_info("psl: %zu public suffix rules from %s (%zu IDN rules skipped)",
	    n, s->cfg->psl_file, idn);
	return 0;
}

int
signer_load_keys(struct signer *s, const struct cfg *c, char *why, size_t whysz)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->cfg = c;
	if (signer_load_psl(s, why, whysz) == -1)
		return -1;
	for (i = 0; i < c->nroots; i++) {
		if (ca_load_gens(&c->roots[i], s->keys[i], CA_GEN_SLOTS, &s->nkeys[i],
		    why, whysz) == -1) {
			signer_free(s);
			return -1;
		}
		s->ca[i] = s->keys[i][s->nkeys[i] - 1].ca;
		if (s->nkeys[i] > 1)
			log_info("root %s: issuing with key generation %d; %d older "
			    "key(s) sign CRLs only", c->roots[i].name,
			    signer_key_gen(s, i), s->nkeys[i] - 1);
	}
	if (signer_pgp_load(s, why, whysz) == -1 ||
	    signer_audit_load(s, why, whysz) == -1) {
		signer_free(s);
		return -1;
	}
	return 0;
}

int
signer_open_db(struct signer *s, char *why, size_t whysz)
{
	const struct cfg *c = s->cfg;

	if (castore_open(c->ca_db, 0, &s->db) == -1 || crlstore_prepare(s->db) == -1) {
		snprintf(why, whysz, "%s: cannot open the CA database", c->ca_db);
		db_close(s->db);
		s->db = NULL;
		return -1;
	}
	if (audit_init(s->db) == -1 || timestore_init(s->db) == -1 ||
	    holdstore_init(s->db) == -1) {
		snprintf(why, whysz, "%s: cannot create the audit and time tables",
		    c->ca_db);
		db_close(s->db);
		s->db = NULL;
		return -1;
	}
	signer_restore_start(s);
	return 0;
}

int
signer_init(struct signer *s, const struct cfg *c, char *why, size_t whysz)
{
	if (signer_load_keys(s, c, why, whysz) == -1)
		return -1;
	if (signer_open_db(s, why, whysz) == -1) {
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
		while (s->nkeys[i] > 0)
			ca_free(s->keys[i][--s->nkeys[i]].ca);
	psl_free(s->psl);
	signer_pgp_free(s);
	audit_key_free(s->audit_key);
	db_close(s->db);
	buf_free(&s->outcomes);
	memset(s, 0, sizeof(*s));
}

int
signer_key_gen(const struct signer *s, int i)
{
	return s->nkeys[i] > 0 ? s->keys[i][s->nkeys[i] - 1].gen : 1;
}

int
signer_serial(struct signer *s, const char *root, uint8_t serial[SERIAL_LEN])
{
	int tries, used;

	for (tries = 0; tries < 8; tries++) {
		/* one call to the DRBG for 64 serials: each call costs it a
		 * lock and a fork check, 2 % of a P-256 certificate */
		if (s->serial_left == 0) {
			if (crypto_random(s->serial_rand, sizeof(s->serial_rand)) == -1)
				return -1;
			s->serial_left = SIGNER_SERIAL_DRAW;
		}
		s->serial_left--;
		memcpy(serial, s->serial_rand + s->serial_left * SERIAL_LEN, SERIAL_LEN);
		memset(s->serial_rand + s->serial_left * SERIAL_LEN, 0, SERIAL_LEN);
		serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
		used = castore_serial_used(s->db, root, serial, SERIAL_LEN);
		if (used == 0)
			return 0;
		if (used == -1)
			return -1;
	}
	return -1;
}

static int
signer_new_serial(struct signer_job *j)
{
	return signer_serial(j->s, j->root, j->serial);
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
	memset(&cr, 0, sizeof(cr));
	cr.csr = m->csr.p;
	cr.csr_len = m->csr.len;
	cr.format = m->csr_format;
	cr.days = m->days;
	cr.now = time(NULL);
	cr.psl = j->s->psl;
	if (MSG_HAS(m, T_SUBJECT)) {
		cr.subject = m->subject.p;
		cr.subject_len = m->subject.len;
	}
	if (MSG_HAS(m, T_SAN)) {
		cr.san = m->san.p ? m->san.p : (const uint8_t *)"";
		cr.san_len = m->san.len;
	}
	/* dual control: signed only once enough operators approved */
	if (p->approvals > 0 && (code = signer_hold(j->s, m, r, p,
	    j->s->ca[r - c->roots], &cr, &j->record, j->why, sizeof(j->why))) != AL_OK) {
		msg_error(&j->ans, m->reqid, code, j->why);
		return;
	}
	/* signed ahead on the signing threads (signer_pool.c)? Never a held
	 * profile's: the pool leaves those to this ordered pass */
	if (signer_pre_take(j->s, m, j->serial, &j->issued, &code, j->why,
	    sizeof(j->why)))
		goto answer;
	if (signer_new_serial(j) == -1) {
		j->record = 0;
		job_error(j, AL_E_STORAGE, "cannot choose a fresh serial number");
		return;
	}
	code = ca_issue(j->s->ca[r - c->roots], p, &cr, j->serial, sizeof(j->serial),
	    &j->issued, j->why, sizeof(j->why));
answer:
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
	    j->issued.der.p, j->issued.der.len, signer_key_gen(j->s, (int)(r - c->roots)) };
}

/* A time sample (signer_time.c); an implausible one is refused, not kept. */
static void
do_time(struct signer_job *j)
{
	struct drift_clock now;
	char t[40];

	j->record = 0;		/* a sample, not a transaction */
	if (drift_clock_read(&now) == -1)
		fatal("signer: cannot read the clocks");
	if ((int64_t)j->req->time_ns < DRIFT_TIME_MIN_NS ||
	    (int64_t)j->req->time_ns > DRIFT_TIME_MAX_NS) {
		job_error(j, AL_E_MSG_VALUE, "TIME_NS %s is not a plausible time "
		    "(2020..2100); the sample is not recorded", drift_fmt_time(
		    (int64_t)j->req->time_ns, t, sizeof(t)));
		return;
	}
	if (signer_time_record(j->s, j->req, &now) == 0)
		j->s->st.time_samples++;
	memset(&j->ans, 0, sizeof(j->ans));
	j->ans.type = MSG_TIME_ACK;
	memcpy(j->ans.reqid, j->req->reqid, AIRLOCK_REQID_LEN);
	j->ans.time_ns = j->req->time_ns;
	j->ans.time2_ns = (uint64_t)now.real_ns;
	j->ans.present = 1u << T_TIME_NS | 1u << T_TIME2_NS;
}

/* Revocation and CRLs: crlsign.c; a storage failure is not recorded. */
static void
do_revoke(struct signer_job *j)
{
	int code;

	j->record = 1;
	code = crlsign_revoke(j->s->db, j->s->cfg, j->req, time(NULL), &j->ans,
	    j->root, j->why, sizeof(j->why));
	if (code == AL_OK)
		return;
	j->record = code != AL_E_STORAGE;
	msg_error(&j->ans, j->req->reqid, code, j->why);
}

/* The key generation a CRL_FETCH names (KEY_GEN; absent: the first), or
 * -1 and an error 305 when there is none or it has retired. */
static int
signer_crl_key(struct signer_job *j, int i, const struct cfg_root *r)
{
	uint32_t g = MSG_HAS(j->req, T_KEY_GEN) ? j->req->key_gen : 1;
	int64_t live, last;
	char when[32];
	struct tm tm;
	int k;

	for (k = 0; k < j->s->nkeys[i]; k++)
		if (j->s->keys[i][k].gen == (int)g)
			break;
	if (k == j->s->nkeys[i]) {
		job_error(j, AL_E_KEY_GEN, "root %s has no key generation %u", r->name, g);
		return -1;
	}
	if (k == j->s->nkeys[i] - 1)
		return k;	/* the issuing key never retires */
	if (crlstore_key_certs(j->s->db, r->name, (int)g, time(NULL), &live,
	    &last) == -1) {
		j->record = 0;
		job_error(j, AL_E_STORAGE, "cannot count the certificates of key "
		    "generation %u of root %s", g, r->name);
		return -1;
	}
	if (live > 0)
		return k;
	gmtime_r(&(time_t){ (time_t)last }, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	job_error(j, AL_E_KEY_GEN, "key generation %u of root %s has retired: the "
	    "last certificate it issued expired %s", g, r->name, last ? when : "(none)");
	return -1;
}

/* A root with several keys: the answer names the key and its certificate. */
static int
signer_crl_names(struct signer_job *j, int i, int k)
{
	if (j->s->nkeys[i] < 2)
		return 0;
	if (ca_cert_der(j->s->keys[i][k].ca, &j->cacert, &j->cachain) == -1)
		return -1;
	j->ans.key_gen = (uint32_t)j->s->keys[i][k].gen;
	j->ans.key_newest = (uint32_t)signer_key_gen(j->s, i);
	j->ans.cert.p = j->cacert.p;
	j->ans.cert.len = j->cacert.len;
	MSG_SET(&j->ans, T_KEY_GEN);
	MSG_SET(&j->ans, T_KEY_NEWEST);
	MSG_SET(&j->ans, T_CERT);
	if (j->cachain.len > 0) {
		j->ans.chain.p = j->cachain.p;
		j->ans.chain.len = j->cachain.len;
		MSG_SET(&j->ans, T_CHAIN);
	}
	return 0;
}

static void
do_crl_fetch(struct signer_job *j)
{
	const struct cfg *c = j->s->cfg;
	const struct cfg_root *r;
	struct cfg_root series;
	int code, i, k;

	j->record = 1;
	if ((r = config_root(c, (const char *)j->req->root.p, j->req->root.len)) == NULL) {
		job_error(j, AL_E_ROOT, "unknown root \"%.*s\"", (int)j->req->root.len,
		    j->req->root.p);
		return;
	}
	snprintf(j->root, sizeof(j->root), "%s", r->name);
	i = (int)(r - c->roots);
	if ((k = signer_crl_key(j, i, r)) == -1)
		return;
	/* each key has its own CRL series: "ROOT", then "ROOT#N" (crlstore.c) */
	series = *r;
	if (j->s->keys[i][k].gen > 1)
		snprintf(series.name, sizeof(series.name), "%.55s#%d", r->name,
		    j->s->keys[i][k].gen);
	code = crlsign_fetch(j->s->db, j->s->keys[i][k].ca, &series, j->req,
	    time(NULL), &j->ans, &j->crl, j->why, sizeof(j->why));
	if (code == AL_OK && signer_crl_names(j, i, k) == -1)
		code = AL_E_INTERNAL;
	if (code == AL_OK)
		return;
	j->record = code != AL_E_STORAGE && code != AL_E_INTERNAL;
	msg_error(&j->ans, j->req->reqid, code, j->why);
}

static void
do_pgp_certify(struct signer_job *j)
{
	int code;

	j->record = 1;
	code = signer_pgp_certify(j->s, j->req, &j->ans, &j->pgp, j->root,
	    sizeof(j->root), j->why, sizeof(j->why));
	if (code == AL_OK)
		return;
	j->record = code != AL_E_INTERNAL;	/* ours, not the request's */
	msg_error(&j->ans, j->req->reqid, code, j->why);
}

/* The audit chain for webdb's mirror: a read, never recorded. */
static void
do_audit_fetch(struct signer_job *j)
{
	int code;

	j->record = 0;
	code = signer_audit_fetch(j->s, j->req, &j->ans, &j->audit, j->why,
	    sizeof(j->why));
	if (code != AL_OK)
		msg_error(&j->ans, j->req->reqid, code, j->why);
}

/* The serials of a root's certificates for webdb's OCSP responder: a read,
 * never recorded. */
static void
do_serials_fetch(struct signer_job *j)
{
	int code;

	j->record = 0;
	code = signer_serials_fetch(j->s, j->req, &j->ans, &j->serials, j->root,
	    sizeof(j->root), j->why, sizeof(j->why));
	if (code != AL_OK)
		msg_error(&j->ans, j->req->reqid, code, j->why);
}

/* After a restore: what webdb sends back (signer_restore.c); never recorded. */
static void
do_catchup(struct signer_job *j)
{
	int code;

	j->record = 0;
	code = signer_catchup(j->s, j->req, &j->ans, &j->audit, j->why, sizeof(j->why));
	if (code != AL_OK)
		msg_error(&j->ans, j->req->reqid, code, j->why);
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
	{ MSG_REVOKE, do_revoke },
	{ MSG_CRL_FETCH, do_crl_fetch },
	{ MSG_STATUS, do_unsupported },
	{ MSG_PGP_CERTIFY, do_pgp_certify },
	{ MSG_AUDIT_FETCH, do_audit_fetch },
	{ MSG_CATCHUP, do_catchup },
	{ MSG_SERIALS_FETCH, do_serials_fetch },
};

static void
signer_dispatch(struct signer_job *j)
{
	size_t i;

	/* after a restore: nothing until webdb has brought ca.db up to date */
	if (msg_is_request(j->req->type) &&
	    signer_restoring(j->s, j->req->type, j->why, sizeof(j->why))) {
		j->record = 0;
		msg_error(&j->ans, j->req->reqid, AL_E_BUSY, j->why);
		return;
	}
	/* time.stop_offset: nothing that signs while the clock is known bad
	 * (the reads go on) */
	if (j->req->type != MSG_TIME && j->req->type != MSG_AUDIT_FETCH &&
	    j->req->type != MSG_CATCHUP && j->req->type != MSG_SERIALS_FETCH &&
	    msg_is_request(j->req->type) &&
	    signer_time_paused(j->s, j->why, sizeof(j->why))) {
		j->record = 0;
		msg_error(&j->ans, j->req->reqid, AL_E_BUSY, j->why);
		return;
	}
	for (i = 0; i < sizeof(signer_handlers) / sizeof(signer_handlers[0]); i++)
		if (signer_handlers[i].type == j->req->type) {
			signer_handlers[i].fn(j);
			return;
		}
	j->record = 1;
	job_error(j, AL_E_MSG_TYPE, "message type %d is not a request", j->req->type);
}

/* The audit record of a recorded answer, in the same transaction. */
static int
signer_audit(struct signer *s, const struct signer_job *j)
{
	const struct msg *q = j->req, *a = &j->ans;
	char serial[41], until[32];
	struct tm tm;
	size_t n;

	if (a->type == MSG_ERROR)
		return audit_addf(s->db, AUDIT_REJECT, q->reqid, j->root,
		    "airlock-signerd", "%s refused: %u %.*s", msg_type_name(q->type),
		    a->code, (int)a->text.len, a->text.p) == -1 ? -1 : 0;
	if (j->has_cert) {
		hex_encode(j->serial, sizeof(j->serial), serial);
		gmtime_r(&j->issued.not_after, &tm);
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
		return audit_addf(s->db, AUDIT_ISSUE, q->reqid, j->root,
		    "airlock-signerd", "serial=%s profile=%.*s not_after=%s "
		    "subject=%s", serial, (int)q->profile.len, q->profile.p, until,
		    j->issued.subject) == -1 ? -1 : 0;
	}
	if (a->type == MSG_PGP_CERTIFIED)
		return audit_addf(s->db, AUDIT_PGP, q->reqid, j->root,
		    "airlock-signerd", "fingerprint=%s uids=%s signatures=%d "
		    "profile=%.*s expires=%lld", j->pgp.fpr, j->pgp.uids, j->pgp.nsigs,
		    (int)q->profile.len, q->profile.p, (long long)j->pgp.expires) == -1 ? -1 : 0;
	if (q->type == MSG_REVOKE) {
		n = q->serial.len < 20 ? q->serial.len : 20;
		hex_encode(q->serial.p, n, serial);
		return audit_addf(s->db, AUDIT_REVOKE, q->reqid, j->root,
		    "airlock-signerd", "serial=%s reason=%d", serial,
		    MSG_HAS(q, T_REASON) ? q->reason : -1) == -1 ? -1 : 0;
	}
	return 0;
}

/*
 * A request's outcome ("issued", "rejected", "certified") is logged only
 * once the batch's transaction is durable: with the disk full, a
 * certificate that the failed commit withdraws was never issued (issue 16,
 * item 7). The lines wait in s->outcomes, one per line.
 */
static void
signer_outcome(struct signer *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
signer_outcome(struct signer *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (buf_put(&s->outcomes, line, (size_t)n) == -1 ||
	    buf_put(&s->outcomes, "\n", 1) == -1)
		log_info("%s", line);	/* no memory to wait: said now */
}

static void
signer_outcomes_flush(struct signer *s)
{
	const char *p = (const char *)s->outcomes.p, *end, *nl;

	if (s->outcomes.len == 0)
		return;	/* nothing waits (and p may be NULL) */
	end = p + s->outcomes.len;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		log_info("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
	buf_reset(&s->outcomes);
}

static int
signer_finish(struct signer *s, struct signer_job *j, struct buf *ans)
{
	char id[33];

	reqid_hex(j->req->reqid, id);
	if (msg_encode(&j->ans, ans) == -1)
		fatalx("signer: out of memory");
	if (j->ans.type == MSG_ERROR && j->ans.code != AL_E_HELD) {
		s->st.rejected++;
		signer_outcome(s, "req=%s %s rejected: %d %s", id,
		    msg_type_name(j->req->type), j->ans.code, j->why);
	}
	if (j->record && (castore_record(s->db, j->req->reqid, j->req->type, j->root,
	    j->ans.type == MSG_ERROR ? j->ans.code : 0, ans->p, ans->len,
	    j->has_cert ? &j->cert : NULL) == -1 || signer_audit(s, j) == -1)) {
		s->st.storage_errors++;
		log_warnx("req=%s cannot record the answer: %s", id, db_last_error(s->db));
		buf_reset(ans);
		msg_error(&j->ans, j->req->reqid, AL_E_STORAGE, NULL);
		if (msg_encode(&j->ans, ans) == -1)
			fatalx("signer: out of memory");
		return -1;
	}
	if (j->ans.type == MSG_PGP_CERTIFIED)
		signer_outcome(s, "req=%s certified OpenPGP key %s root=%s uids=%s",
		    id, j->pgp.fpr, j->root, j->pgp.uids);
	if (j->has_cert) {
		s->st.issued++;
		signer_outcome(s, "req=%s issued root=%s subject=\"%s\"", id, j->root,
		    j->issued.subject);
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
	buf_init(&j->audit.recs);
	buf_init(&j->cacert);
	buf_init(&j->cachain);
	buf_init(&j->serials);
	if (code != AL_OK) {
		/* no request id to file it under when the message did not decode */
		j->record = code != AL_E_MSG;
		job_error(j, code, "%s", al_strerror(code));
	} else
		signer_dispatch(j);
	rv = signer_finish(s, j, ans);
	buf_free(&j->issued.der);
	crlsign_out_free(&j->crl);
	buf_free(&j->cacert);
	buf_free(&j->cachain);
	buf_free(&j->pgp.sigs);
	buf_free(&j->audit.recs);
	buf_free(&j->serials);
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
 * on the same connection) and is not processed again. Its SIGN requests
 * were signed ahead on the pool's threads (signer_pool.c), when there are.
 *
 * A batch whose requests were all signed ahead (SIGN requests of profiles
 * without approvals, none answered before) is recorded without those
 * savepoints: SQLite copies every page a savepoint changes before changing
 * it, about ten pages of 8 KiB a certificate, which was a third of the
 * main thread's work a request at P-256 rates. If one of its requests then
 * cannot be recorded, the transaction is doomed (db_flat): it is rolled
 * back and the batch recorded again, each request in its savepoint as
 * above, so the failure stays that request's (signer_batch_again).
 */
/* No transaction for the batch: every request of it is to be asked again. */
static void
signer_batch_lost(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	size_t i;

	log_warnx("cannot start a transaction: %s", db_last_error(s->db));
	s->st.requests += n;
	for (i = 0; i < n; i++)
		signer_retry_later(s, r[i].p, r[i].len, &ans[i]);
	s->batch.failed = (int)n;
}

static void
signer_batch_again(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	size_t i;

	castore_rollback(s->db);		/* the whole transaction */
	buf_reset(&s->outcomes);		/* none of them happened */
	s->st = s->batch.before;
	s->st.batches_again++;
	s->batch.failed = 0;
	log_warnx("a request of a batch of %zu could not be recorded: the "
	    "batch is recorded again, each request in a savepoint of its own", n);
	if (castore_begin(s->db) == -1) {
		s->batch.open = 0;
		signer_batch_lost(s, r, n, ans);
		return;
	}
	for (i = 0; i < n; i++)
		if (signer_handle_one(s, r[i].p, r[i].len, &ans[i]) == -1)
			s->batch.failed++;
}

void
signer_batch_record(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	size_t i;
	int flat;

	s->batch.before = s->st;
	s->batch.failed = 0;
	s->batch.open = 0;
	/* AUDIT_FETCH answers with committed records only */
	if (audit_last_seq(s->db, &s->audit_committed) == -1)
		s->audit_committed = -1;	/* AUDIT_FETCH: a storage error */
	if (castore_begin(s->db) == -1) {
		signer_pre_wait(s, r, n);
		signer_pre_clear(s);
		signer_batch_lost(s, r, n, ans);
		return;
	}
	s->batch.open = 1;
	buf_reset(&s->outcomes);
	signer_pre_wait(s, r, n);	/* signed ahead, on every core */
	flat = signer_pre_all(s, n) && castore_flat(s->db) == 0;
	for (i = 0; i < n; i++) {
		if (signer_handle_one(s, r[i].p, r[i].len, &ans[i]) == -1)
			s->batch.failed++;
		if (flat && castore_doomed(s->db)) {
			signer_batch_again(s, r, n, ans);
			break;
		}
	}
	signer_pre_clear(s);		/* what nobody took was never issued */
}

int
signer_batch_commit(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	size_t i;

	if (!s->batch.open)
		return s->batch.failed;
	s->batch.open = 0;
	if (castore_commit(s->db) == 0) {
		signer_outcomes_flush(s);
		signer_restore_committed(s, 1);
		return s->batch.failed;
	}
	buf_reset(&s->outcomes);	/* none of them happened */
	signer_restore_committed(s, 0);
	log_warnx("cannot commit %zu answers: %s; every one is withdrawn and "
	    "will be asked for again", n, db_last_error(s->db));
	s->st = s->batch.before;
	s->st.requests += n;
	for (i = 0; i < n; i++)
		signer_retry_later(s, r[i].p, r[i].len, &ans[i]);
	return (int)n;
}

int
signer_handle_batch(struct signer *s, const struct signer_req *r, size_t n,
    struct buf *ans)
{
	signer_batch_ahead(s, r, n);
	signer_batch_record(s, r, n, ans);
	return signer_batch_commit(s, r, n, ans);
}

int
signer_handle(struct signer *s, const uint8_t *req, size_t len, struct buf *ans)
{
	struct signer_req r = { req, len };

	return signer_handle_batch(s, &r, 1, ans) == 0 ? 0 : -1;
}
