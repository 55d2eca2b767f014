/*
 * signer_restore.c: the signer after a restore (docs/protocol.md section
 * 9.8, docs/operations.md). airlockctl restore leaves ca.db.restored; while
 * it exists the signer signs nothing, revokes nothing, makes no CRL, sends
 * no audit records and holds its own (audit.c), answering 502, until webdb
 * has sent back with CATCHUP what the restored ca.db no longer knows:
 *
 *   certificates  (its CERT answers): each must verify under one of our CA
 *                 keys and be unknown here; stored with its request id, so
 *                 a repeated request gets the same bytes;
 *   revocations   (its REVOKED answers) of certificates known here;
 *   CRL numbers   (its CRL answers): the next CRL is numbered above all;
 *   audit records (its mirror): each must be the next one and chain on.
 *
 * What fails a check is refused, logged and counted, never applied; the
 * rest goes on. CATCHUP with CATCHUP_END applies the last batch, appends
 * the held records and a summary record, and once that is committed the
 * mark goes and signing resumes. Every step is idempotent: webdb may send
 * everything again after any break.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "ca.h"
#include "castore.h"
#include "crlsign.h"
#include "msg.h"
#include "signer.h"
#include "util.h"

enum { CU_CERT = 1, CU_REVOKED = 2, CU_CRL = 3, CU_AUDIT = 4, CU_CRL_ENTRY = 5 };

void
signer_restore_start(struct signer *s)
{
	int64_t n;

	s->restoring = audit_restore_pending(s->db);
	if (s->restoring) {
		log_warnx("restore: ca.db was restored from a backup; nothing is signed "
		    "until webdb has sent back what it holds (airlockctl status)");
		return;
	}
	/* the mark removed by hand (webdb lost too): what was held is chained */
	if (audit_release_held(s->db, &n) == 0 && n > 0)
		log_warnx("restore: the catch-up mark was removed by hand; %lld held "
		    "audit records appended without webdb's", (long long)n);
}

int
signer_restoring(struct signer *s, int type, char *why, size_t whysz)
{
	if (!s->restoring || type == MSG_TIME || type == MSG_CATCHUP)
		return 0;
	snprintf(why, whysz, "the signer was restored from a backup and waits for "
	    "webdb's catch-up before it signs (airlockctl status)");
	return 1;
}

static void
cu_refuse(struct signer *s, int kind, const char *what)
{
	s->cu.refused++;
	log_warnx("restore: catch-up item of kind %d refused: %s (%llu refused)", kind,
	    what, (unsigned long long)s->cu.refused);
}

static int
cu_cert(struct signer *s, const uint8_t *p, size_t n)
{
	struct ca_certinfo ci;
	struct castore_cert c;
	struct buf old;
	struct msg m;
	char why[256];
	int i, k = -1, f, rv = 0;

	if (msg_decode(p, n, &m) != AL_OK || m.type != MSG_CERT) {
		cu_refuse(s, CU_CERT, "not a CERT answer");
		return 0;
	}
	buf_init(&old);
	if ((f = castore_answer(s->db, m.reqid, &old)) != 0) {
		buf_free(&old);
		if (f == 1)
			s->cu.known++;
		return f == -1 ? -1 : 0;
	}
	for (i = 0; i < s->cfg->nroots; i++) {
		for (k = s->nkeys[i] - 1; k >= 0; k--)
			if (ca_cert_info(m.cert.p, m.cert.len, s->keys[i][k].ca, &ci,
			    why, sizeof(why)) == 0)
				break;
		if (k >= 0)
			break;
	}
	if (i == s->cfg->nroots) {
		cu_refuse(s, CU_CERT, "a certificate not signed by any of our CA keys");
		return 0;
	}
	if ((f = castore_serial_used(s->db, s->cfg->roots[i].name, ci.serial,
	    ci.serial_len)) != 0) {
		if (f == 1)
			s->cu.known++;
		ca_certinfo_free(&ci);
		return f == -1 ? -1 : 0;
	}
	c = (struct castore_cert){ s->cfg->roots[i].name, ci.serial, ci.serial_len,
	    m.reqid, ci.not_before, ci.not_after, ci.subject, ci.der.p, ci.der.len,
	    s->keys[i][k].gen };
	if (castore_record(s->db, m.reqid, MSG_SIGN, s->cfg->roots[i].name, 0, p, n,
	    &c) == -1)
		rv = -1;
	else
		s->cu.certs++;
	ca_certinfo_free(&ci);
	return rv;
}

/* A REVOKED answer (kind 2), or an entry of a CRL webdb holds (kind 5: no
 * request id, nothing stored as an answer). */
static int
cu_revoked(struct signer *s, int kind, const uint8_t *p, size_t n)
{
	const struct cfg_root *r;
	struct crlstore_cert c;
	struct buf old;
	struct msg m;
	int f;

	if (msg_decode(p, n, &m) != AL_OK || m.type != MSG_REVOKED ||
	    (r = config_root(s->cfg, (const char *)m.root.p, m.root.len)) == NULL) {
		cu_refuse(s, kind, "not a REVOKED answer of a configured root");
		return 0;
	}
	if ((f = crlstore_cert(s->db, r->name, m.serial.p, m.serial.len, &c)) != 1) {
		if (f == 0)
			cu_refuse(s, kind, "a revocation of a certificate unknown here");
		return f == -1 ? -1 : 0;
	}
	if (c.revoked)
		s->cu.known++;
	else if (crlstore_revoke(s->db, r->name, m.serial.p, m.serial.len,
	    MSG_HAS(&m, T_TIME2_NS) ? (int64_t)(m.time2_ns / 1000000000ull) : time(NULL),
	    MSG_HAS(&m, T_REASON) ? m.reason : 0,
	    MSG_HAS(&m, T_INVALIDITY) ? (int64_t)m.invalidity : 0) == -1)
		return -1;
	else
		s->cu.revocations++;
	if (kind == CU_CRL_ENTRY)
		return 0;
	buf_init(&old);
	f = castore_answer(s->db, m.reqid, &old);
	buf_free(&old);
	if (f == 0 && castore_record(s->db, m.reqid, MSG_REVOKE, r->name, 0, p, n, NULL) == -1)
		return -1;
	return f == -1 ? -1 : 0;
}

static int
cu_crl(struct signer *s, const uint8_t *p, size_t n)
{
	const struct cfg_root *r;
	struct buf v;
	struct msg m;
	char key[AIRLOCK_NAME_MAX + 16], num[32];
	int64_t number = 0, floor = 0;
	size_t i;
	int rv;

	if (msg_decode(p, n, &m) != AL_OK || m.type != MSG_CRL || m.crl_number.len > 7 ||
	    (r = config_root(s->cfg, (const char *)m.root.p, m.root.len)) == NULL) {
		cu_refuse(s, CU_CRL, "not a CRL answer of a configured root");
		return 0;
	}
	for (i = 0; i < m.crl_number.len; i++)
		number = number << 8 | m.crl_number.p[i];
	snprintf(key, sizeof(key), "crl_floor:%s", r->name);
	buf_init(&v);
	if ((rv = audit_state_get(s->db, key, &v)) == 1 && buf_put_u8(&v, 0) == 0)
		floor = strtoll((const char *)v.p, NULL, 10);
	buf_free(&v);
	if (rv == -1)
		return -1;
	if (number <= floor) {
		s->cu.known++;
		return 0;
	}
	snprintf(num, sizeof(num), "%lld", (long long)number);
	if (audit_state_set(s->db, key, num) == -1)
		return -1;
	if (number > s->cu.crl_max)
		s->cu.crl_max = number;
	return 0;
}

static int
cu_audit(struct signer *s, const uint8_t *p, size_t n)
{
	struct audit_raw w;
	size_t off = 0;
	char why[512];
	int r;

	while ((r = audit_wire_next(p, n, &off, &w, why, sizeof(why))) == 1) {
		switch (audit_append_raw(s->db, &w, why, sizeof(why))) {
		case 2: s->cu.audit++; break;
		case 0: s->cu.known++; break;
		case 1: cu_refuse(s, CU_AUDIT, why); return 0;
		default: return -1;
		}
	}
	if (r == -1)
		cu_refuse(s, CU_AUDIT, why);
	return 0;
}

/* The items of one CATCHUP: kind (u8) || length (u32) || body, in turn. */
static int
cu_items(struct signer *s, const uint8_t *p, size_t n)
{
	size_t off = 0, len;
	int kind, rv = 0;

	while (rv == 0 && off < n) {
		if (n - off < 5 || (len = get_be32(p + off + 1)) > n - off - 5) {
			cu_refuse(s, 0, "an item runs past the end of CATCHUP_ITEMS");
			return 0;
		}
		kind = p[off];
		off += 5;
		switch (kind) {
		case CU_CERT: rv = cu_cert(s, p + off, len); break;
		case CU_REVOKED:
		case CU_CRL_ENTRY: rv = cu_revoked(s, kind, p + off, len); break;
		case CU_CRL: rv = cu_crl(s, p + off, len); break;
		case CU_AUDIT: rv = cu_audit(s, p + off, len); break;
		default: cu_refuse(s, kind, "an unknown kind of item"); break;
		}
		off += len;
	}
	return rv;
}

static void
cu_progress(struct signer *s, char *out, size_t outsz)
{
	snprintf(out, outsz, "certificates %llu, revocations %llu, audit records %llu, "
	    "highest CRL number %lld, already known %llu, refused %llu",
	    (unsigned long long)s->cu.certs, (unsigned long long)s->cu.revocations,
	    (unsigned long long)s->cu.audit, (long long)s->cu.crl_max,
	    (unsigned long long)s->cu.known, (unsigned long long)s->cu.refused);
}

/* The END: held records after webdb's, then the summary, in this batch. */
static int
cu_finish(struct signer *s, const char *progress)
{
	int64_t held;

	if (audit_release_held(s->db, &held) == -1)
		return -1;
	audit_restore_hold(0);
	if (audit_addf(s->db, AUDIT_DAEMON, NULL, "", "airlock-signerd", "restore "
	    "catch-up finished: %s; %lld records held meanwhile appended", progress,
	    (long long)held) == -1) {
		audit_restore_hold(1);
		return -1;
	}
	s->cu.finishing = 1;	/* the mark goes once the batch is committed */
	return 0;
}

void
signer_restore_committed(struct signer *s, int ok)
{
	if (!s->cu.finishing)
		return;
	s->cu.finishing = 0;
	if (!ok) {
		audit_restore_hold(1);
		return;
	}
	if (audit_restore_clear(s->db) == -1)
		log_warn("restore: cannot remove %s.restored", s->cfg->ca_db);
	s->restoring = 0;
	log_info("restore: catch-up finished; signing resumes");
}

int
signer_catchup(struct signer *s, const struct msg *req, struct msg *ans,
    struct signer_audit_out *o, char *why, size_t whysz)
{
	struct audit_head h;
	int phase = MSG_CATCHUP_NONE;

	memset(&h, 0, sizeof(h));
	if (s->restoring) {
		phase = MSG_CATCHUP_WAITING;
		if (MSG_HAS(req, T_CATCHUP_ITEMS) &&
		    cu_items(s, req->catchup_items.p, req->catchup_items.len) == -1) {
			snprintf(why, whysz, "cannot record the catch-up in ca.db");
			return AL_E_STORAGE;
		}
		s->cu.batches++;
		cu_progress(s, s->cu.text, sizeof(s->cu.text));
		if (audit_state_set(s->db, "restore_progress", s->cu.text) == -1)
			return AL_E_STORAGE;
		if (MSG_HAS(req, T_CATCHUP_END)) {
			if (cu_finish(s, s->cu.text) == -1) {
				snprintf(why, whysz, "cannot finish the catch-up in ca.db");
				return AL_E_STORAGE;
			}
			phase = MSG_CATCHUP_FINISHED;
		}
	}
	if (audit_last_seq(s->db, &h.seq) == -1 ||
	    (h.seq > 0 && audit_hash_at(s->db, h.seq, h.hash) != 1)) {
		snprintf(why, whysz, "cannot read the audit chain");
		return AL_E_STORAGE;
	}
	h.time = time(NULL);
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_CATCHUP_STATE;
	memcpy(ans->reqid, req->reqid, AIRLOCK_REQID_LEN);
	ans->catchup_phase = (uint8_t)phase;
	audit_head_put(&h, o->head);
	ans->audit_head.p = o->head;
	ans->audit_head.len = AUDIT_HEAD_LEN;
	MSG_SET(ans, T_CATCHUP_PHASE);
	MSG_SET(ans, T_AUDIT_HEAD);
	if (phase != MSG_CATCHUP_NONE) {
		ans->text.p = (const uint8_t *)s->cu.text;
		ans->text.len = strlen(s->cu.text);
		MSG_SET(ans, T_TEXT);
	}
	return AL_OK;
}
