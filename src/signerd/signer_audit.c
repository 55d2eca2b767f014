/*
 * signer_audit.c: AUDIT_FETCH, the audit chain leaving the room
 * (docs/protocol.md section 9.7). The answer carries committed records
 * only (those at or below the head read before the batch began, so a
 * record withdrawn by a failed commit never leaves), records webdb asked
 * to see again, and the chain head signed with the audit key. What webdb
 * says it holds is kept in ca.db (audit_mirror) for `airlockctl status`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "msg.h"
#include "signer.h"
#include "util.h"

#define AUDIT_RECHECK_MAX	8	/* records sent again per answer */
#define AUDIT_DEFAULT_MAX	16384	/* AUDIT_RECS bytes when AUDIT_MAX is absent */

int
signer_audit_load(struct signer *s, char *why, size_t whysz)
{
	if (s->cfg->audit_key[0] == '\0') {
		log_warnx("audit: no audit key (signer.audit_key): webdb's mirror "
		    "gets the chain unsigned");
		return 0;
	}
	if ((s->audit_key = audit_key_load(s->cfg->audit_key, 1, why, whysz)) == NULL)
		return -1;
	return 0;
}

struct fetch_walk {
	struct buf	*out;
	size_t		 max;		/* bytes of AUDIT_RECS at most */
	int64_t		 upto;		/* committed head */
	int		 n, left;	/* records put; records still allowed */
};

static int
fetch_one(void *arg, const struct audit_raw *w)
{
	struct fetch_walk *f = arg;
	size_t at = f->out->len;

	if (w->seq > f->upto || f->left == 0)
		return -1;
	if (audit_wire_put(f->out, w) == -1)
		return -1;
	if (f->out->len > f->max && f->n > 0) {	/* one record always fits */
		f->out->len = at;
		return -1;
	}
	f->n++;
	if (f->left > 0)
		f->left--;
	return 0;
}

/* What webdb holds: remembered, and checked against the chain here. */
static void
fetch_note_mirror(struct signer *s, const struct msg *req)
{
	struct audit_head h;
	uint8_t mine[AUDIT_HASH_LEN];
	int found, agrees;

	if (!MSG_HAS(req, T_AUDIT_HEAD))
		return;
	audit_head_get(req->audit_head.p, &h);
	if (h.seq == 0)
		return;
	found = audit_hash_at(s->db, h.seq, mine);
	agrees = found == 1 && memcmp(mine, h.hash, AUDIT_HASH_LEN) == 0;
	if (found != -1 && !agrees && !s->audit_disagree_logged) {
		log_warnx("audit: webdb's mirror holds record %lld with a hash this "
		    "chain %s; run airlockctl audit verify", (long long)h.seq,
		    found ? "does not have" : "has no record for");
		s->audit_disagree_logged = 1;
	}
	if (agrees)
		s->audit_disagree_logged = 0;
	if (found != -1 && audit_mirror_set(s->db, h.seq, h.hash, time(NULL), agrees) == 0)
		s->audit_mirrored = h.seq;
}

int
signer_audit_fetch(struct signer *s, const struct msg *req, struct msg *ans,
    struct signer_audit_out *o, char *why, size_t whysz)
{
	struct fetch_walk f;
	struct audit_head h;
	int64_t after = (int64_t)req->audit_after;

	buf_reset(&o->recs);
	if (s->audit_committed < 0) {
		snprintf(why, whysz, "cannot read the audit chain now");
		return AL_E_STORAGE;
	}
	memset(&h, 0, sizeof(h));
	h.seq = s->audit_committed;
	if (h.seq > 0 && audit_hash_at(s->db, h.seq, h.hash) != 1) {
		snprintf(why, whysz, "cannot read audit record %lld", (long long)h.seq);
		return AL_E_STORAGE;
	}
	h.time = time(NULL);
	f = (struct fetch_walk){ &o->recs, MSG_HAS(req, T_AUDIT_MAX) ?
	    req->audit_max : AUDIT_DEFAULT_MAX, s->audit_committed, 0,
	    AUDIT_RECHECK_MAX };
	/* records webdb asks to see again, then the new ones; a walk that
	 * stops early (the budget) or fails sends what it has */
	if (MSG_HAS(req, T_AUDIT_CHECK) && (int64_t)req->audit_check <= after)
		(void)audit_each_raw(s->db, (int64_t)req->audit_check - 1,
		    AUDIT_RECHECK_MAX, NULL, fetch_one, &f);
	f.left = -1;
	if (after < s->audit_committed)
		(void)audit_each_raw(s->db, after, 0, NULL, fetch_one, &f);
	fetch_note_mirror(s, req);
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_AUDIT_LOG;
	memcpy(ans->reqid, req->reqid, AIRLOCK_REQID_LEN);
	audit_head_put(&h, o->head);
	ans->audit_head.p = o->head;
	ans->audit_head.len = AUDIT_HEAD_LEN;
	ans->audit_recs.p = o->recs.p;
	ans->audit_recs.len = o->recs.len;
	MSG_SET(ans, T_AUDIT_HEAD);
	MSG_SET(ans, T_AUDIT_RECS);
	if (s->audit_key != NULL) {
		if (audit_head_sign(s->audit_key, &h, o->sig) == -1) {
			snprintf(why, whysz, "cannot sign the audit head");
			return AL_E_INTERNAL;
		}
		ans->audit_sig.p = o->sig;
		ans->audit_sig.len = AUDIT_SIG_LEN;
		MSG_SET(ans, T_AUDIT_SIG);
	}
	log_debug("audit: %d records after %lld sent, head %lld", f.n,
	    (long long)after, (long long)h.seq);
	return AL_OK;
}
