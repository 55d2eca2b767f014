/*
 * signer_hold.c: dual control in the signer (docs/ca-layout.md section 10).
 * A SIGN for a profile with `approvals = N` is checked like any other; a
 * request that would be refused gets its error at once. One that would be
 * signed is kept in ca.db's held table and answered with the retryable
 * ERROR 503 ("held for approval"), which is not recorded: linkd hands the
 * request again every few seconds (and webdb shows the 503 as its state),
 * and each time the signer looks at the operators' decisions
 * (holdstore.c): N distinct approvals sign it, one denial refuses it with
 * 401, and once approval_timeout has passed it is refused with 402. Those
 * final answers are recorded like any other, so the request id keeps
 * them. Other requests never wait for a held one.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "holdstore.h"
#include "msg.h"
#include "signer.h"

static void
signer_hold_time(int64_t t, char *out, size_t outsz)
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A request seen for the first time: checked, then held. */
static int
signer_hold_new(struct signer *s, const struct msg *m, const struct cfg_root *r,
    const struct cfg_profile *p, struct ca *ca, const struct ca_request *cr,
    int *record, char *why, size_t whysz)
{
	struct hold h;
	char id[33], until[32];
	int code;

	memset(&h, 0, sizeof(h));
	if ((code = ca_check_request_subject(ca, p, cr, h.subject, sizeof(h.subject),
	    why, whysz)) != AL_OK) {
		*record = code != AL_E_INTERNAL;
		return code;
	}
	memcpy(h.reqid, m->reqid, AIRLOCK_REQID_LEN);
	snprintf(h.root, sizeof(h.root), "%s", r->name);
	snprintf(h.profile, sizeof(h.profile), "%s", p->name);
	h.held_at = cr->now;
	h.expires = cr->now + (int64_t)p->approval_timeout;
	h.needed = (int)p->approvals;
	if (holdstore_put(s->db, &h) == -1) {
		*record = 0;
		snprintf(why, whysz, "cannot keep the request for approval");
		return AL_E_STORAGE;
	}
	reqid_hex(m->reqid, id);
	signer_hold_time(h.expires, until, sizeof(until));
	log_info("req=%s held for approval by %d operators until %s: root=%s "
	    "profile=%s subject=\"%s\"", id, h.needed, until, r->name, p->name,
	    h.subject);
	*record = 0;
	snprintf(why, whysz, "held for approval: 0 of %d operators have approved; "
	    "waits until %s (airlockctl approve %s)", h.needed, until, id);
	return AL_E_HELD;
}

int
signer_hold(struct signer *s, const struct msg *m, const struct cfg_root *r,
    const struct cfg_profile *p, struct ca *ca, const struct ca_request *cr,
    int *record, char *why, size_t whysz)
{
	struct hold h;
	char id[33], until[32], by[sizeof(h.approvers) + 4];
	int f;

	if ((f = holdstore_get(s->db, m->reqid, &h)) == 0)
		return signer_hold_new(s, m, r, p, ca, cr, record, why, whysz);
	*record = 1;
	if (f == -1) {
		*record = 0;
		snprintf(why, whysz, "cannot read the approvals of the request");
		return AL_E_STORAGE;
	}
	reqid_hex(m->reqid, id);
	if (h.denied_by[0] != '\0') {
		snprintf(why, whysz, "denied by operator %s", h.denied_by);
		return holdstore_close(s->db, m->reqid, "denied") == 0 ? AL_E_DENIED :
		    (*record = 0, AL_E_STORAGE);
	}
	if (h.approved >= (int)p->approvals) {
		log_info("req=%s approved by %s", id, h.approvers);
		return holdstore_close(s->db, m->reqid, "approved") == 0 ? AL_OK :
		    (*record = 0, AL_E_STORAGE);
	}
	signer_hold_time(h.expires, until, sizeof(until));
	if (cr->now > h.expires) {
		snprintf(why, whysz, "not approved in time: %d of %d operators had "
		    "approved by %s", h.approved, (int)p->approvals, until);
		return holdstore_close(s->db, m->reqid, "timed out") == 0 ?
		    AL_E_NOT_APPROVED : (*record = 0, AL_E_STORAGE);
	}
	*record = 0;
	snprintf(by, sizeof(by), h.approved ? " (%s)" : "%s", h.approvers);
	snprintf(why, whysz, "held for approval: %d of %d operators have approved%s; "
	    "waits until %s (airlockctl approve %s)", h.approved, (int)p->approvals,
	    by, until, id);
	return AL_E_HELD;
}
