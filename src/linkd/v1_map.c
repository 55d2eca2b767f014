/*
 * v1_map.c: v1 requests to airlock requests, and airlock answers back to
 * what the old webdb client expects (docs/legacy-v1.md, "Mapping").
 *
 * v1 has no request ids. A signing or revocation request gets an id
 * derived from its content (SHA-256 over a label and the request's bytes),
 * so the old client's repeat after a timeout or a crash is answered from
 * the queue with the same certificate. CRL refreshes and time samples are
 * worth nothing later and get fresh random ids.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "v1_int.h"

/* The SIGN digests v1 offers: 0 (the profile's), sha256, sha384, sha512. */
static const char *const v1_md_names[] = {
	"default", "md5", "sha1", "rmd160", "?", "?", "?", "?", "sha256",
	"sha384", "sha512"
};

/* A content-derived request id: SHA-256(label || parts...) cut to 16. */
static void
v1_reqid(uint8_t out[AIRLOCK_REQID_LEN], const char *label, const uint8_t *a,
    size_t alen, const struct v1_req *r)
{
	uint8_t h[32];
	struct buf b;

	buf_init(&b);
	buf_put(&b, label, strlen(label) + 1);
	buf_put_u32(&b, (uint32_t)alen);
	buf_put(&b, a, alen);
	if (r != NULL) {
		buf_put_u32(&b, (uint32_t)r->f1_len);
		buf_put(&b, r->f1, r->f1_len);
		buf_put_u32(&b, (uint32_t)r->f2_len);
		buf_put(&b, r->f2, r->f2_len);
		buf_put_u32(&b, (uint32_t)r->f3_len);
		buf_put(&b, r->f3, r->f3_len);
	}
	crypto_sha256(b.p, b.len, h);
	memcpy(out, h, AIRLOCK_REQID_LEN);
	buf_free(&b);
}

/* Puts m on linkd's normal path and waits for its answer as job kind. */
void
v1_submit(struct v1 *v, struct msg *m, int kind, int action, uint64_t now)
{
	struct buf b;

	buf_init(&b);
	if (msg_encode_checked(m, &b) == -1) {
		buf_free(&b);
		v1_refuse(v, action, AL_E_MSG_VALUE, now, "the request does not make a valid %s "
		    "message (a field is too long or not UTF-8)", msg_type_name(m->type));
		return;
	}
	if (kind != V1_JOB_NONE) {
		memcpy(v->job.reqid, m->reqid, AIRLOCK_REQID_LEN);
		v->job.kind = kind;
		v->job.deadline = now + V1_JOB_MS;
	}
	v->h.request(v->h.arg, b.p, b.len);	/* may answer at once */
	buf_free(&b);
}

static void
v1_set(struct msg_bytes *f, const void *p, size_t n)
{
	f->p = n ? p : (const uint8_t *)"";
	f->len = n;
}

static const char *
v1_root(const struct v1 *v, unsigned idx)
{
	if (idx >= (unsigned)v->c->v1.nroots || v->c->v1.roots[idx][0] == '\0')
		return NULL;
	return v->c->v1.roots[idx];
}

void
v1_do_keepalive(struct v1 *v, const struct v1_req *r, uint64_t now)
{
	static uint64_t bad;
	struct msg m;
	int64_t t;

	v->st.keepalives++;
	v1_send(v, V1_ACT_NUL, NULL, 0, -1, now);
	if (r->f1_len == 0)
		return;
	if (v1_time_parse(r->f1, r->f1_len, &t) == -1) {
		bad++;
		if ((bad & (bad - 1)) == 0)	/* 1, 2, 4, 8, ... */
			log_warnx("v1: keepalive time \"%.*s\" is not MMDDhhmmYYYY.SS "
			    "(UTC); no time sample (%llu so far)",
			    (int)(r->f1_len < 32 ? r->f1_len : 32), r->f1,
			    (unsigned long long)bad);
		return;
	}
	if (now < v->time_next)
		return;
	v->time_next = now + (uint64_t)v->c->v1.time_interval * 1000;
	memset(&m, 0, sizeof(m));
	m.type = MSG_TIME;
	crypto_random(m.reqid, sizeof(m.reqid));
	/* whole seconds, truncated by webdb: the middle of that second */
	m.time_ns = (uint64_t)t * 1000000000ULL + 500000000ULL;
	MSG_SET(&m, T_TIME_NS);
	v->st.time_samples++;
	v1_submit(v, &m, V1_JOB_NONE, V1_ACT_NUL, now);
}

/* The header checks of a v1 X.509 signing request: AL_OK, or a code
 * with a sentence in why. */
static int
v1_sign_check(const struct v1 *v, const struct v1_req *r, char *why, size_t whysz)
{
	if (r->system != V1_SYS_X509) {
		snprintf(why, whysz, "system %u is neither X.509 (1) nor OpenPGP (2)", r->system);
		return AL_E_MSG_VALUE;
	}
	if (v1_root(v, r->root) == NULL) {
		snprintf(why, whysz, "root index %u is not mapped (v1.roots)", r->root);
		return AL_E_ROOT;
	}
	if (r->profile >= CFG_V1_PROFILES || v->c->v1.profiles[r->profile][0] == '\0') {
		snprintf(why, whysz, "profile index %u is not mapped (v1.profiles)", r->profile);
		return AL_E_PROFILE;
	}
	if (r->md >= 1 && r->md <= 3) {
		snprintf(why, whysz, "digest %s is refused (sha256, sha384, sha512 or 0)",
		    v1_md_names[r->md]);
		return AL_E_DIGEST;
	}
	if (r->md != 0 && (r->md < 8 || r->md > 10)) {
		snprintf(why, whysz, "digest id %u is unknown", r->md);
		return AL_E_DIGEST;
	}
	if (r->flag > 1) {
		snprintf(why, whysz, "flag %u is neither 0 (PKCS#10) nor 1 (SPKAC)", r->flag);
		return AL_E_MSG_VALUE;
	}
	if (r->f1_len == 0) {
		snprintf(why, whysz, "the request field is empty");
		return AL_E_CSR_PARSE;
	}
	return AL_OK;
}

void
v1_do_sign(struct v1 *v, const struct v1_req *r, uint64_t now)
{
	const struct cfg_profile *pr;
	const char *root, *prof;
	uint8_t hdr[V1_REQ_HDR_LEN];
	char why[256];
	struct msg m;
	uint32_t days = r->days;
	int code;

	v->st.signs++;
	if ((code = v1_sign_check(v, r, why, sizeof(why))) != AL_OK) {
		v1_refuse(v, V1_ACT_SIGN, code, now, "%s", why);
		return;
	}
	root = v1_root(v, r->root);
	prof = v->c->v1.profiles[r->profile];
	if ((pr = config_profile(v->c, prof, strlen(prof))) != NULL && pr->max_days &&
	    days > pr->max_days)
		days = pr->max_days;	/* v1 asked for more than the profile gives */
	memset(&m, 0, sizeof(m));
	m.type = MSG_SIGN;
	hdr[0] = r->system;
	hdr[1] = r->root;
	hdr[2] = r->profile;
	hdr[3] = r->md;
	hdr[4] = (uint8_t)(r->days >> 8);
	hdr[5] = (uint8_t)r->days;
	hdr[6] = r->flag;
	v1_reqid(m.reqid, "airlock v1 sign", hdr, 7, r);
	v1_set(&m.root, root, strlen(root));
	v1_set(&m.profile, prof, strlen(prof));
	v1_set(&m.csr, r->f1, r->f1_len);
	m.csr_format = r->flag ? MSG_CSR_SPKAC : MSG_CSR_PKCS10;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_PROFILE);
	MSG_SET(&m, T_CSR);
	MSG_SET(&m, T_CSR_FORMAT);
	if (days) {
		m.days = days;
		MSG_SET(&m, T_DAYS);
	}
	if (r->f3_len) {
		v1_set(&m.subject, r->f3, r->f3_len);
		MSG_SET(&m, T_SUBJECT);
	}
	/* always: the certificate names only what webdb has checked */
	v1_set(&m.san, r->f2, r->f2_len);
	MSG_SET(&m, T_SAN);
	v1_submit(v, &m, V1_JOB_SIGN, V1_ACT_SIGN, now);
}

static void
v1_fetch_crl(struct v1 *v, uint64_t now)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_CRL_FETCH;
	crypto_random(m.reqid, sizeof(m.reqid));
	v1_set(&m.root, v->job.root, strlen(v->job.root));
	m.crl_kind = MSG_CRL_FULL;
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_CRL_KIND);
	v->st.crls++;
	v1_submit(v, &m, V1_JOB_CRL, V1_ACT_REVOKE, now);
}

void
v1_do_revoke(struct v1 *v, const struct v1_req *r, uint64_t now)
{
	const uint8_t *serial;
	const char *root;
	char hex[2 * V1_SHA1_LEN + 1];
	struct buf der;
	struct msg m;
	size_t slen;

	if (r->system != V1_SYS_X509 || (root = v1_root(v, r->root)) == NULL) {
		v1_refuse(v, V1_ACT_REVOKE, r->system != V1_SYS_X509 ? AL_E_MSG_VALUE :
		    AL_E_ROOT, now, r->system != V1_SYS_X509 ?
		    "revocation and CRLs are X.509 only (system 1)" :
		    "root index is not mapped (v1.roots)");
		return;
	}
	memset(&v->job, 0, offsetof(struct v1_job, key));
	snprintf(v->job.root, sizeof(v->job.root), "%s", root);
	snprintf(hex, sizeof(hex), "%.*s", (int)(r->f3_len < 40 ? r->f3_len : 40), r->f3);
	v->job.have_held = r->f3_len == 40 &&
	    hex_decode(hex, v->job.held, V1_SHA1_LEN) == 0;
	if (r->f1_len == 0) {
		v1_fetch_crl(v, now);
		return;
	}
	v->st.revokes++;
	buf_init(&der);
	if (v1_pem_der(r->f1, r->f1_len, "CERTIFICATE", &der) == -1 ||
	    v1_cert_serial(der.p, der.len, &serial, &slen) == -1) {
		buf_free(&der);
		v1_refuse(v, V1_ACT_REVOKE, AL_E_MSG_VALUE, now, "the certificate field is not a PEM "
		    "certificate");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = MSG_REVOKE;
	v1_reqid(m.reqid, "airlock v1 revoke", serial, slen, NULL);
	m.reqid[0] ^= (uint8_t)r->root;		/* the same serial under two roots */
	v1_set(&m.root, root, strlen(root));
	v1_set(&m.serial, serial, slen);
	MSG_SET(&m, T_ROOT);
	MSG_SET(&m, T_SERIAL);
	v1_submit(v, &m, V1_JOB_REVOKE, V1_ACT_REVOKE, now);
	buf_free(&der);
}

static void
v1_answer_crl(struct v1 *v, const struct msg *m, int64_t tag, uint64_t now)
{
	struct buf out;
	int patched;

	if (m->type != MSG_CRL || !MSG_HAS(m, T_CRL)) {
		v1_refuse(v, V1_ACT_REVOKE, AL_E_INTERNAL, now, "the signer answered %s without a full CRL",
		    msg_type_name(m->type));
		return;
	}
	buf_init(&out);
	if (v1_crl_answer(&v->crls, v->job.root, v->job.have_held ? v->job.held : NULL,
	    m->crl.p, m->crl.len, &out, &patched) == -1) {
		buf_free(&out);
		v1_refuse(v, V1_ACT_REVOKE, AL_E_INTERNAL, now, "out of memory for the CRL answer");
		return;
	}
	v->st.patches += (uint64_t)patched;
	log_info("v1: CRL of %s sent %s (%zu bytes)", v->job.root,
	    patched ? "as an xdelta patch" : "in full, PEM", out.len);
	v->job.kind = V1_JOB_NONE;
	v1_send(v, V1_ACT_REVOKE, out.p, out.len, tag, now);
	buf_free(&out);
}

void
v1_job_answer(struct v1 *v, const struct msg *m, int64_t tag, uint64_t now)
{
	struct buf pem;

	if (m->type == MSG_ERROR && !(v->job.kind == V1_JOB_REVOKE &&
	    m->code == AL_E_REVOKED)) {
		v1_refuse(v, v->job.kind == V1_JOB_SIGN || v->job.kind == V1_JOB_PGP ?
		    V1_ACT_SIGN : V1_ACT_REVOKE, m->code, now, "signer: %.*s",
		    (int)m->text.len, m->text.p);
		return;
	}
	switch (v->job.kind) {
	case V1_JOB_SIGN:
		buf_init(&pem);
		if (m->type != MSG_CERT || pem_encode("CERTIFICATE", m->cert.p,
		    m->cert.len, &pem) == -1) {
			buf_free(&pem);
			v1_refuse(v, V1_ACT_SIGN, AL_E_INTERNAL, now, "no certificate in the answer");
			return;
		}
		v->job.kind = V1_JOB_NONE;
		v1_send(v, V1_ACT_SIGN, pem.p, pem.len, tag, now);
		buf_free(&pem);
		break;
	case V1_JOB_PGP:
		v1_pgp_answer(v, m, tag, now);
		break;
	case V1_JOB_REVOKE:	/* revoked now or before: either way the CRL */
		if (tag > 0)
			v->h.delivered(v->h.arg, (uint64_t)tag);
		v1_fetch_crl(v, now);
		break;
	case V1_JOB_CRL:
		v1_answer_crl(v, m, tag, now);
		break;
	}
}
