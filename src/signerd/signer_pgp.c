/*
 * signer_pgp.c: the signer's PGP_CERTIFY (docs/protocol.md 9.6): the root
 * and profile from the configuration, the policy and the signatures from
 * pgp_cert.c, the signer's clock for the certifications' creation time.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "msg.h"
#include "pgp.h"
#include "pgp_root.h"
#include "signer.h"

int
signer_pgp_load(struct signer *s, char *why, size_t whysz)
{
	const struct cfg *c = s->cfg;
	char w[400];
	int i;

	for (i = 0; i < c->npgp_roots; i++)
		if (pgp_root_open(c->pgp_roots[i].name, c->pgp_roots[i].dir,
		    c->pgp_roots[i].pass_file, &s->pgp[i], w, sizeof(w)) == -1) {
			snprintf(why, whysz, "OpenPGP root %s: %s", c->pgp_roots[i].name, w);
			return -1;
		}
	return 0;
}

void
signer_pgp_free(struct signer *s)
{
	int i;

	for (i = 0; i < CFG_MAX_ROOTS; i++) {
		pgp_root_free(s->pgp[i]);
		s->pgp[i] = NULL;
	}
}

int
signer_pgp_certify(struct signer *s, const struct msg *m, struct msg *ans,
    struct pgp_result *res, char *root, size_t rootsz, char *why, size_t whysz)
{
	const struct cfg *c = s->cfg;
	const struct cfg_root *r;
	const struct cfg_profile *p;
	struct pgp_request rq;
	int code;

	memset(res, 0, sizeof(*res));
	buf_init(&res->sigs);
	if ((r = config_pgp_root(c, (const char *)m->root.p, m->root.len)) == NULL) {
		snprintf(why, whysz, "unknown OpenPGP root \"%.*s\"", (int)m->root.len,
		    m->root.p);
		return AL_E_ROOT;
	}
	snprintf(root, rootsz, "%s", r->name);
	if (!config_root_allows(r, (const char *)m->profile.p, m->profile.len) ||
	    (p = config_profile(c, (const char *)m->profile.p, m->profile.len)) == NULL) {
		snprintf(why, whysz, "OpenPGP root %s does not use profile \"%.*s\"",
		    r->name, (int)m->profile.len, m->profile.p);
		return AL_E_PROFILE;
	}
	rq = (struct pgp_request){ m->pgp_key.p, m->pgp_key.len,
	    (const char *)m->emails.p, m->emails.len, m->days, time(NULL) };
	code = pgp_certify(s->pgp[r - c->pgp_roots], p, &rq, res, why, whysz);
	if (code != AL_OK)
		return code;
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_PGP_CERTIFIED;
	memcpy(ans->reqid, m->reqid, AIRLOCK_REQID_LEN);
	ans->root = m->root;
	ans->pgp_sigs.p = res->sigs.p;
	ans->pgp_sigs.len = res->sigs.len;
	ans->present = 1u << T_ROOT | 1u << T_PGP_SIGS;
	s->st.pgp_certified++;
	return AL_OK;
}
