/*
 * crlsign.c: what the signer does with REVOKE and CRL_FETCH
 * (docs/protocol.md 9.4 and 9.5). Both run inside the request's savepoint
 * of the signer's group commit (signer.c), so a revocation, a new CRL and
 * the answer that reports them are committed together or not at all.
 *
 * REVOKE marks one certificate of one root revoked, once: an unknown serial
 * (or one of another root), a second revocation, a reason that cannot be
 * requested and an impossible invalidity date are refused with their own
 * codes. The entry joins the next CRL number.
 *
 * CRL_FETCH carries the number of the full CRL webdb holds (none: it holds
 * nothing that verifies). A new CRL number is issued when revocations wait,
 * when the newest CRL has lived half its period, or when there is none.
 * The answer is then one of:
 *   CURRENT  webdb holds the newest CRL already;
 *   DELTA    the delta CRL from webdb's number to the newest, and the newest
 *            full CRL's signature value, from which webdb rebuilds it;
 *   FULL     the newest full CRL (and the delta CRL from the number before,
 *            so that webdb always publishes a matching pair): when webdb
 *            holds nothing, asks for it, holds a number this signer never
 *            issued, or when the delta would be longer than the full CRL.
 * A number above the newest is refused (303); webdb then asks for a full
 * CRL. Deltas are made on demand from ca.db and not kept.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "crl.h"
#include "castore.h"
#include "crlsign.h"

#define CRLSIGN_DAY		86400
#define CRLSIGN_TIME_MAX	253402300799LL	/* 9999-12-31T23:59:59Z */

void
crlsign_out_free(struct crlsign_out *o)
{
	buf_free(&o->crl);
	buf_free(&o->delta);
	buf_free(&o->sig);
}

static size_t
crlsign_serial(const struct msg *req, const uint8_t **s, char hex[2 * CRL_SERIAL_MAX + 1])
{
	size_t n = req->serial.len;

	*s = req->serial.p;
	while (n > 0 && **s == 0)
		(*s)++, n--;
	if (n == 0)
		snprintf(hex, 3, "00");
	else
		hex_encode(*s, n, hex);
	return n;
}

static int
crlsign_reason(const struct msg *req, int64_t now, int *reason, int64_t *inv,
    char *why, size_t whysz)
{
	*reason = MSG_HAS(req, T_REASON) ? req->reason : CRL_REASON_UNSPECIFIED;
	*inv = MSG_HAS(req, T_INVALIDITY) ? (int64_t)req->invalidity : 0;
	if (*reason == CRL_REASON_REMOVE) {
		snprintf(why, whysz, "reason 8 (removeFromCRL) appears only in delta "
		    "CRLs; it cannot be requested");
		return AL_E_REASON;
	}
	if (*reason == CRL_REASON_HOLD) {
		snprintf(why, whysz, "reason 6 (certificateHold) is not supported: "
		    "a hold could never be released");
		return AL_E_REASON;
	}
	if (MSG_HAS(req, T_INVALIDITY) && (req->invalidity == 0 ||
	    req->invalidity > (uint64_t)CRLSIGN_TIME_MAX ||
	    *inv > now + CRL_SKEW)) {
		snprintf(why, whysz, "invalidity date %llu is zero or in the future",
		    (unsigned long long)req->invalidity);
		return AL_E_INVALIDITY;
	}
	return AL_OK;
}

/* A serial the root does not know: say which root issued it, if any. */
static int
crlsign_unknown(struct db *d, const struct cfg *c, const char *root,
    const uint8_t *s, size_t n, const char *hex, char *why, size_t whysz)
{
	struct crlstore_cert cert;
	int i, f;

	for (i = 0; n > 0 && i < c->nroots; i++) {
		if (strcmp(c->roots[i].name, root) == 0)
			continue;
		if ((f = crlstore_cert(d, c->roots[i].name, s, n, &cert)) == -1)
			break;
		if (f == 1) {
			snprintf(why, whysz, "serial %s was issued by root %s, not by %s",
			    hex, c->roots[i].name, root);
			return AL_E_SERIAL;
		}
	}
	snprintf(why, whysz, "serial %s is not a certificate of root %s", hex, root);
	return AL_E_SERIAL;
}

static void
crlsign_revoked_msg(const struct msg *req, int reason, int64_t now, struct msg *ans)
{
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_REVOKED;
	memcpy(ans->reqid, req->reqid, AIRLOCK_REQID_LEN);
	ans->root = req->root;
	ans->serial = req->serial;
	ans->reason = (uint8_t)reason;
	ans->time2_ns = (uint64_t)now * 1000000000ull;
	ans->present = 1u << T_ROOT | 1u << T_SERIAL | 1u << T_REASON | 1u << T_TIME2_NS;
	if (MSG_HAS(req, T_INVALIDITY)) {
		ans->invalidity = req->invalidity;
		MSG_SET(ans, T_INVALIDITY);
	}
}

int
crlsign_revoke(struct db *d, const struct cfg *c, const struct msg *req, int64_t now,
    struct msg *ans, char root[AIRLOCK_NAME_MAX], char *why, size_t whysz)
{
	const struct cfg_root *r;
	struct crlstore_cert cert;
	char hex[2 * CRL_SERIAL_MAX + 1];
	const uint8_t *s;
	int64_t inv;
	int reason, code, f;
	size_t n;

	root[0] = '\0';
	if ((r = config_root(c, (const char *)req->root.p, req->root.len)) == NULL) {
		snprintf(why, whysz, "unknown root \"%.*s\"", (int)req->root.len,
		    req->root.p);
		return AL_E_ROOT;
	}
	snprintf(root, AIRLOCK_NAME_MAX, "%s", r->name);
	n = crlsign_serial(req, &s, hex);
	if ((code = crlsign_reason(req, now, &reason, &inv, why, whysz)) != AL_OK)
		return code;
	if ((f = n > 0 ? crlstore_cert(d, r->name, s, n, &cert) : 0) == 0)
		return crlsign_unknown(d, c, r->name, s, n, hex, why, whysz);
	if (f == 1 && cert.revoked != 0) {
		snprintf(why, whysz, "serial %s of root %s was already revoked at %lld "
		    "(reason %d)", hex, r->name, (long long)cert.revoked, cert.reason);
		return AL_E_REVOKED;
	}
	if (f == -1 || (f = crlstore_revoke(d, r->name, s, n, now, reason, inv)) == -1) {
		snprintf(why, whysz, "cannot record the revocation in ca.db");
		return AL_E_STORAGE;
	}
	if (f == 0) {
		snprintf(why, whysz, "serial %s of root %s was revoked meanwhile", hex,
		    r->name);
		return AL_E_REVOKED;
	}
	crlsign_revoked_msg(req, reason, now, ans);
	log_info("root %s: serial %s revoked, reason %d", r->name, hex, reason);
	return AL_OK;
}

static int64_t
crlsign_period(const struct cfg_root *r)
{
	return r->crl_seconds ? (int64_t)r->crl_seconds :
	    (int64_t)r->crl_days * CRLSIGN_DAY;
}

struct crlsign_add {
	struct crl_builder *b;
	int64_t		 n;
	int		 bad;		/* the builder refused an entry */
};

static int
crlsign_add(void *arg, const struct crl_entry *e)
{
	struct crlsign_add *a = arg;

	if (crl_builder_add(a->b, e) == -1) {
		a->bad = 1;
		return -1;
	}
	a->n++;
	return 0;
}

/* Streams a set of entries from ca.db into the builder. */
static int
crlsign_fill(struct db *d, const char *root, int set, int64_t base,
    struct crlsign_add *a, char *why, size_t whysz)
{
	if (crlstore_each(d, root, set, base, crlsign_add, a) == 0)
		return AL_OK;
	snprintf(why, whysz, a->bad ? "an entry of root %s does not fit in a CRL" :
	    "cannot read the revocations of root %s", root);
	return a->bad ? AL_E_INTERNAL : AL_E_STORAGE;
}

/* Inside the caller's savepoint: number, entries, build, sign, record. */
static int
crlsign_issue_in(struct db *d, struct ca *ca, const struct cfg_root *r, int64_t now,
    struct crlstore_crl *out, struct buf *der, struct buf *sig, char *why,
    size_t whysz)
{
	struct crlsign_add a = { NULL, 0, 0 };
	struct crl_params p;
	int code;

	memset(&p, 0, sizeof(p));
	if ((p.number = crlstore_next_number(d, r->name)) == -1 ||
	    crlstore_assign(d, r->name, p.number, r->crl_keep_expired ? 0 :
	    now - (int64_t)r->crl_grace_days * CRLSIGN_DAY) == -1) {
		snprintf(why, whysz, "cannot number the CRL of root %s", r->name);
		return AL_E_STORAGE;
	}
	p.this_update = now;
	p.next_update = now + crlsign_period(r);
	p.freshest_url = r->freshest_url;
	p.keep_expired = r->crl_keep_expired;
	if (crl_builder_new(ca, &p, &a.b, why, whysz) == -1)
		return AL_E_INTERNAL;
	if ((code = crlsign_fill(d, r->name, CRLSTORE_LISTED, 0, &a, why,
	    whysz)) != AL_OK) {
		crl_builder_free(a.b);
		return code;
	}
	if (crl_builder_finish(a.b, der, sig, why, whysz) == -1)
		return AL_E_INTERNAL;
	*out = (struct crlstore_crl){ p.number, p.this_update, p.next_update, a.n,
	    (int64_t)der->len };
	if (crlstore_put(d, r->name, out, der->p, der->len, sig->p, sig->len) == -1 ||
	    audit_addf(d, AUDIT_CRL, NULL, r->name, "airlock-signerd", "number=%lld "
	    "entries=%lld this_update=%lld next_update=%lld bytes=%zu",
	    (long long)p.number, (long long)a.n, (long long)p.this_update,
	    (long long)p.next_update, der->len) == -1) {
		snprintf(why, whysz, "cannot store CRL %lld of root %s",
		    (long long)p.number, r->name);
		return AL_E_STORAGE;
	}
	return AL_OK;
}

int
crlsign_issue(struct db *d, struct ca *ca, const struct cfg_root *r, int64_t now,
    struct crlstore_crl *out, char *why, size_t whysz)
{
	struct buf der, sig;
	int code;

	memset(out, 0, sizeof(*out));
	if (castore_begin(d) == -1) {
		snprintf(why, whysz, "cannot start a transaction on ca.db");
		return AL_E_STORAGE;
	}
	buf_init(&der);
	buf_init(&sig);
	code = crlsign_issue_in(d, ca, r, now, out, &der, &sig, why, whysz);
	buf_free(&der);
	buf_free(&sig);
	if (code != AL_OK) {
		castore_rollback(d);
		return code;
	}
	if (castore_commit(d) == -1) {	/* rolled back already */
		snprintf(why, whysz, "cannot commit CRL %lld of root %s",
		    (long long)out->number, r->name);
		return AL_E_STORAGE;
	}
	log_info("root %s: CRL %lld issued, %lld entries, %lld bytes", r->name,
	    (long long)out->number, (long long)out->entries, (long long)out->der_len);
	return AL_OK;
}

int
crlsign_delta(struct db *d, struct ca *ca, const struct cfg_root *r,
    const struct crlstore_crl *cur, int64_t base, struct buf *der, char *why,
    size_t whysz)
{
	struct crlsign_add a = { NULL, 0, 0 };
	struct crl_params p;
	int code;

	memset(&p, 0, sizeof(p));
	p.number = cur->number;
	p.base = base;
	p.this_update = cur->this_update;
	p.next_update = cur->next_update;
	if (crl_builder_new(ca, &p, &a.b, why, whysz) == -1)
		return AL_E_INTERNAL;
	if ((code = crlsign_fill(d, r->name, CRLSTORE_ADDED, base, &a, why,
	    whysz)) != AL_OK || (code = crlsign_fill(d, r->name, CRLSTORE_REMOVED,
	    base, &a, why, whysz)) != AL_OK) {
		crl_builder_free(a.b);
		return code;
	}
	return crl_builder_finish(a.b, der, NULL, why, whysz) == 0 ? AL_OK :
	    AL_E_INTERNAL;
}

/* The number webdb holds: 0 none; above INT64_MAX counts as the future. */
static int
crlsign_have(const struct msg *req, int64_t *have, char *why, size_t whysz)
{
	const uint8_t *p = req->crl_number.p;
	size_t n = req->crl_number.len, i;
	uint64_t v = 0;

	*have = 0;
	if (!MSG_HAS(req, T_CRL_NUMBER))
		return AL_OK;
	while (n > 0 && *p == 0)
		p++, n--;
	if (n > 8 || (n == 8 && (p[0] & 0x80))) {
		snprintf(why, whysz, "CRL number of %zu octets is newer than any CRL", n);
		return AL_E_CRL_NUMBER;
	}
	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	*have = (int64_t)v;
	return AL_OK;
}

static int
crlsign_due(struct db *d, const struct cfg_root *r, int found,
    const struct crlstore_crl *cur, int64_t now)
{
	int64_t pending;

	if (!found || cur->der_len == 0)
		return 1;
	if ((pending = crlstore_pending(d, r->name)) != 0)
		return pending == -1 ? -1 : 1;
	return now >= cur->this_update + (cur->next_update - cur->this_update) / 2;
}

static void
crlsign_head(const struct msg *req, const struct crlstore_crl *cur, struct msg *ans,
    struct crlsign_out *out)
{
	int64_t v = cur->number;
	size_t i, n = 0;

	for (i = 0; i < 8; i++)
		out->number[i] = (uint8_t)(v >> (56 - 8 * i));
	while (n < 7 && out->number[n] == 0)
		n++;
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_CRL;
	memcpy(ans->reqid, req->reqid, AIRLOCK_REQID_LEN);
	ans->root = req->root;
	ans->crl_number.p = out->number + n;
	ans->crl_number.len = 8 - n;
	ans->present = 1u << T_ROOT | 1u << T_CRL_NUMBER | 1u << T_CRL_KIND;
}

static void
crlsign_set(struct msg *ans, int tag, struct msg_bytes *mb, const struct buf *b)
{
	mb->p = b->p;
	mb->len = b->len;
	MSG_SET(ans, tag);
}

/* 1: a delta answer is ready; 0: send the full CRL instead. */
static int
crlsign_try_delta(struct db *d, struct ca *ca, const struct cfg_root *r,
    const struct crlstore_crl *cur, int64_t have, struct msg *ans,
    struct crlsign_out *out, char *why, size_t whysz, int *code)
{
	struct crlstore_crl held, now;
	int64_t added, removed;
	int f;

	*code = AL_E_STORAGE;
	snprintf(why, whysz, "cannot read the CRLs of root %s", r->name);
	if ((f = crlstore_get(d, r->name, have, &held, NULL, NULL)) != 1)
		return f == 0 ? 0 : -1;
	if ((added = crlstore_count(d, r->name, CRLSTORE_ADDED, have)) == -1 ||
	    (removed = crlstore_count(d, r->name, CRLSTORE_REMOVED, have)) == -1 ||
	    crlstore_get(d, r->name, cur->number, &now, NULL, &out->sig) != 1)
		return -1;
	if (added + removed > cur->entries || out->sig.len == 0)
		return 0;
	if ((*code = crlsign_delta(d, ca, r, cur, have, &out->crl, why, whysz)) != AL_OK)
		return -1;
	ans->crl_kind = MSG_CRL_DELTA;
	crlsign_set(ans, T_CRL, &ans->crl, &out->crl);
	crlsign_set(ans, T_CRL_SIG, &ans->crl_sig, &out->sig);
	return 1;
}

static int
crlsign_full(struct db *d, struct ca *ca, const struct cfg_root *r,
    const struct crlstore_crl *cur, struct msg *ans, struct crlsign_out *out,
    char *why, size_t whysz)
{
	struct crlstore_crl prev, c;
	int f, code;

	buf_reset(&out->sig);
	if (crlstore_get(d, r->name, cur->number, &c, &out->crl, NULL) != 1 ||
	    (f = crlstore_get(d, r->name, cur->number - 1, &prev, NULL, NULL)) == -1) {
		snprintf(why, whysz, "cannot read CRL %lld of root %s",
		    (long long)cur->number, r->name);
		return AL_E_STORAGE;
	}
	if (out->crl.len == 0) {
		snprintf(why, whysz, "CRL %lld of root %s is not kept",
		    (long long)cur->number, r->name);
		return AL_E_INTERNAL;
	}
	ans->crl_kind = MSG_CRL_FULL;
	crlsign_set(ans, T_CRL, &ans->crl, &out->crl);
	if (f == 1) {
		if ((code = crlsign_delta(d, ca, r, cur, cur->number - 1, &out->delta,
		    why, whysz)) != AL_OK)
			return code;
		crlsign_set(ans, T_DELTA_CRL, &ans->delta_crl, &out->delta);
	}
	return AL_OK;
}

int
crlsign_fetch(struct db *d, struct ca *ca, const struct cfg_root *r,
    const struct msg *req, int64_t now, struct msg *ans, struct crlsign_out *out,
    char *why, size_t whysz)
{
	struct crlstore_crl cur;
	int64_t have;
	int code, found, due, kind;

	if ((code = crlsign_have(req, &have, why, whysz)) != AL_OK)
		return code;
	kind = MSG_HAS(req, T_CRL_KIND) ? req->crl_kind :
	    have > 0 ? MSG_CRL_DELTA : MSG_CRL_FULL;
	if (kind == MSG_CRL_CURRENT) {
		snprintf(why, whysz, "CRL_KIND 2 (current) is for answers only");
		return AL_E_MSG_VALUE;
	}
	if ((found = crlstore_current(d, r->name, &cur)) == -1 ||
	    (due = crlsign_due(d, r, found, &cur, now)) == -1) {
		snprintf(why, whysz, "cannot read the CRLs of root %s", r->name);
		return AL_E_STORAGE;
	}
	if (have > (found ? cur.number : 0)) {
		snprintf(why, whysz, "CRL %lld is newer than the newest CRL of root %s "
		    "(%lld)", (long long)have, r->name,
		    found ? (long long)cur.number : 0LL);
		return AL_E_CRL_NUMBER;
	}
	if (due && (code = crlsign_issue(d, ca, r, now, &cur, why, whysz)) != AL_OK)
		return code;
	crlsign_head(req, &cur, ans, out);
	if (have == cur.number && kind != MSG_CRL_FULL) {
		ans->crl_kind = MSG_CRL_CURRENT;
		return AL_OK;
	}
	if (have > 0 && kind != MSG_CRL_FULL) {
		switch (crlsign_try_delta(d, ca, r, &cur, have, ans, out, why, whysz,
		    &code)) {
		case 1:
			return AL_OK;
		case -1:
			return code;
		}
	}
	return crlsign_full(d, ca, r, &cur, ans, out, why, whysz);
}
