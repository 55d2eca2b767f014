/*
 * test_crl.c: revocation and CRLs (src/pki/crl.c, crlstore.c, crlsign.c,
 * crlsync.c) on real CAs, a real ca.db and real files.
 *
 * A group setup makes two throwaway CAs under /tmp with ca_root_init: "r1"
 * (RSA-2048, Freshest CRL pointer, 30-day grace) and "r2" (Ed25519, keeps
 * expired entries), a signer on them (signer_init, as airlock-signerd
 * has it), and a webdb configuration whose crl_dir is in the same
 * directory. Certificates are rows put into ca.db with castore_record.
 * Requests go through signer_handle (decoding, dispatch, group commit,
 * the answers table); answers are applied with crlsync_answer, which
 * writes the files webdb publishes.
 *
 * The points: every REVOKE refusal has its own code; a revocation is
 * idempotent by request id; a CRL_FETCH is answered with FULL, DELTA or
 * CURRENT as docs/protocol.md says, and 303 for a number from the future;
 * the full CRL webdb rebuilds from a delta is byte for byte the signer's,
 * over many random rounds, with expiries in between; the signer's delta
 * has the entries X509_CRL_diff finds; CRL contents follow RFC 5280
 * (sorted, reason codes, invalidity dates, CRL number, AKI, delta
 * indicator, Freshest CRL, expiredCertsOnCRL); a lost, damaged or
 * replaced CRL on webdb is recovered, and nothing that does not verify is
 * ever written; the delta queries use their partial indexes, a range of
 * one key's (root, cakey); after a key rollover each key's CRLs list only
 * what that key issued; the CRL settings parse, and their mistakes are
 * refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sqlite3.h>

#include "airlock.h"
#include "ca.h"
#include "config.h"
#include "crl.h"
#include "msg.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "rmtree.h"
#include "castore.h"
#include "crlsign.h"
#include "crlsync.h"
#include "revoke.h"

#define DAY	86400

static struct {
	char		 tmp[64];
	char		 ca_db[PATH_MAX];
	struct cfg	 cfg;		/* the signer host's */
	struct cfg	 web;		/* webdb's */
	struct signer	 s;
	unsigned	 next_cert;	/* serials handed out */
	unsigned	 next_id;
	uint64_t	 rng;
} T;

/* --- helpers --- */

static uint64_t
rnd(void)
{
	uint64_t z = (T.rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
new_reqid(uint8_t id[AIRLOCK_REQID_LEN])
{
	memset(id, 0x5a, AIRLOCK_REQID_LEN);
	put_be32(id, 0xc0de0000u);
	put_be32(id + 12, ++T.next_id);
}

/* A 16-byte serial, top bits 01 like the signer's, distinct per call. */
static void
new_serial(uint8_t s[16])
{
	uint64_t a = rnd();

	put_be64(s, a);
	put_be32(s + 8, 0x11223344u);
	put_be32(s + 12, ++T.next_cert);
	s[0] = (uint8_t)((s[0] & 0x3f) | 0x40);
}

/* A certificate row of root, valid from a year ago until not_after. */
static void
add_cert(const char *root, const uint8_t s[16], time_t not_after)
{
	uint8_t id[AIRLOCK_REQID_LEN], der[3] = { 0x30, 0x01, 0x00 };
	struct castore_cert c;

	new_reqid(id);
	c = (struct castore_cert){ root, s, 16, id, time(NULL) - 365 * DAY,
	    not_after, "CN=test", der, sizeof(der), 1 };
	assert_int_equal(castore_record(T.s.db, id, MSG_SIGN, root, 0, der,
	    sizeof(der), &c), 0);
}

static void
ask(const struct buf *req, struct buf *ans, struct msg *m)
{
	buf_reset(ans);
	signer_handle(&T.s, req->p, req->len, ans);
	assert_int_equal(msg_decode(ans->p, ans->len, m), AL_OK);
}

static void
revoke_req(struct buf *out, const char *root, const uint8_t *serial, size_t len,
    int reason, int64_t inv, const uint8_t *reqid)
{
	struct revoke_req rr;

	memset(&rr, 0, sizeof(rr));
	snprintf(rr.root, sizeof(rr.root), "%s", root);
	memcpy(rr.serial, serial, len);
	rr.serial_len = len;
	rr.reason = reason;
	rr.invalidity = inv;
	if (reqid != NULL)
		memcpy(rr.reqid, reqid, AIRLOCK_REQID_LEN);
	else
		new_reqid(rr.reqid);
	assert_int_equal(revoke_msg(&rr, out), 0);
}

/* REVOKE through the signer; the answer's type and code. */
static int
t_revoke(const char *root, const uint8_t *serial, size_t len, int reason, int64_t inv)
{
	struct buf req, ans;
	struct msg m;
	int rc;

	buf_init(&req);
	buf_init(&ans);
	revoke_req(&req, root, serial, len, reason, inv, NULL);
	ask(&req, &ans, &m);
	rc = m.type == MSG_REVOKED ? 0 : m.code;
	if (m.type == MSG_ERROR)
		assert_true(m.text.len > 10);
	buf_free(&req);
	buf_free(&ans);
	return rc;
}

/* CRL_FETCH through the signer; the answer stays in ans. */
static void
fetch(const char *root, int full, int64_t have, struct buf *ans, struct msg *m)
{
	uint8_t id[AIRLOCK_REQID_LEN];
	struct buf req;

	buf_init(&req);
	new_reqid(id);
	assert_int_equal(crlsync_fetch_msg(&T.web, root, full, have, id, &req), 0);
	ask(&req, ans, m);
	buf_free(&req);
}

static int64_t
num_of(const struct msg *m)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < m->crl_number.len; i++)
		v = v << 8 | m->crl_number.p[i];
	return v;
}

/* What webdb holds now, by fetching and applying; the published number. */
static int64_t
sync_root(const char *root, int *kind)
{
	struct crl_info info;
	struct buf ans;
	struct msg m;
	char why[512];
	int r;

	buf_init(&ans);
	fetch(root, 0, -1, &ans, &m);
	assert_int_equal(m.type, MSG_CRL);
	*kind = m.crl_kind;
	r = crlsync_answer(&T.web, root, &m, 0, &info, why, sizeof(why));
	if (r != CRLSYNC_PUBLISHED && r != CRLSYNC_CURRENT)
		print_error("crlsync_answer: %d %s\n", r, why);
	assert_true(r == CRLSYNC_PUBLISHED || r == CRLSYNC_CURRENT);
	buf_free(&ans);
	return crlsync_have(&T.web, root, &info, why, sizeof(why));
}

static void
read_crl_file(const char *root, const char *suffix, struct buf *b)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s%s", T.web.crl_dir, root, suffix);
	assert_int_equal(read_file(path, b, MSG_MAX_LEN), 0);
}

/* webdb's ROOT.crl is byte for byte the signer's newest full CRL. */
static void
assert_identical(const char *root)
{
	struct crlstore_crl cur, c;
	struct buf mine, theirs;

	buf_init(&mine);
	buf_init(&theirs);
	assert_int_equal(crlstore_current(T.s.db, root, &cur), 1);
	assert_int_equal(crlstore_get(T.s.db, root, cur.number, &c, &theirs, NULL), 1);
	read_crl_file(root, ".crl", &mine);
	assert_int_equal(mine.len, theirs.len);
	assert_memory_equal(mine.p, theirs.p, mine.len);
	buf_free(&mine);
	buf_free(&theirs);
}

static X509_CRL *
d2i_crl(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);

	assert_non_null(crl);
	return crl;
}

static X509 *
ca_cert_of(const char *root)
{
	char path[PATH_MAX];
	X509 *x;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/ca.crt", T.tmp, root);
	assert_non_null(f = fopen(path, "r"));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void
make_root(const char *name, const char *key, int keep_expired, const char *url)
{
	struct ca_root_params rp;
	struct cfg_root *r;
	struct cfg_crl_root *cr;
	char dir[PATH_MAX], why[512];

	snprintf(dir, sizeof(dir), "%s/%s", T.tmp, name);
	memset(&rp, 0, sizeof(rp));
	rp.dir = dir;
	rp.subject = keep_expired ? "/CN=Airlock CRL Test R2/O=Airlock Test" :
	    "/CN=Airlock CRL Test R1/O=Airlock Test";
	rp.key_type = key;
	rp.days = 3650;
	rp.pathlen = -1;
	if (ca_root_init(&rp, why, sizeof(why)) != 0)
		fail_msg("ca_root_init: %s", why);
	r = &T.cfg.roots[T.cfg.nroots++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	snprintf(r->profiles[r->nprofiles++], AIRLOCK_NAME_MAX, "server");
	r->crl_days = 7;
	r->crl_grace_days = 30;
	r->crl_keep_expired = keep_expired;
	snprintf(r->freshest_url, sizeof(r->freshest_url), "%s", url);
	cr = &T.web.crl_roots[T.web.ncrl_roots++];
	snprintf(cr->name, sizeof(cr->name), "%s", name);
	snprintf(cr->ca_cert, sizeof(cr->ca_cert), "%s/ca.crt", dir);
}

static int
group_setup(void **state)
{
	struct cfg_profile *p;
	char why[512];

	(void)state;
	log_init("test_crl", LOG_TO_STDERR, 0);
	T.rng = 0x63726c74657374ull;
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/test_crl.XXXXXX");
	if (mkdtemp(T.tmp) == NULL)
		return -1;
	snprintf(T.ca_db, sizeof(T.ca_db), "%s/ca.db", T.tmp);
	memset(&T.cfg, 0, sizeof(T.cfg));
	memset(&T.web, 0, sizeof(T.web));
	snprintf(T.cfg.state_dir, sizeof(T.cfg.state_dir), "%s", T.tmp);
	snprintf(T.cfg.ca_db, sizeof(T.cfg.ca_db), "%s", T.ca_db);
	p = &T.cfg.profiles[T.cfg.nprofiles++];
	snprintf(p->name, sizeof(p->name), "server");
	p->max_days = 397;
	p->default_days = 90;
	p->pathlen = -1;
	snprintf(T.web.crl_dir, sizeof(T.web.crl_dir), "%s/crl", T.tmp);
	T.web.crl_refresh = 3600;
	make_root("r1", "rsa:2048", 0, "http://crl.example.test/r1-delta.crl");
	make_root("r2", "ed25519", 1, "");
	if (signer_init(&T.s, &T.cfg, why, sizeof(why)) != 0) {
		print_error("signer_init: %s\n", why);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	signer_free(&T.s);
	if (getenv("KEEP") != NULL)
		return 0;
	return rmtree(T.tmp);
}

/* --- tests --- */

static void
test_revoke_answers(void **state)
{
	uint8_t s1[16], s2[16], s3[16], padded[18], id[AIRLOCK_REQID_LEN];
	struct buf req, a1, a2;
	struct msg m;

	(void)state;
	new_serial(s1);
	new_serial(s2);
	new_serial(s3);
	add_cert("r1", s1, time(NULL) + 90 * DAY);
	add_cert("r1", s2, time(NULL) + 90 * DAY);
	add_cert("r2", s3, time(NULL) + 90 * DAY);
	assert_int_equal(t_revoke("nosuch", s1, 16, 1, 0), AL_E_ROOT);
	assert_int_equal(t_revoke("r1", s3, 16, 1, 0), AL_E_SERIAL);	/* r2's */
	new_serial(padded);
	assert_int_equal(t_revoke("r1", padded, 16, 1, 0), AL_E_SERIAL);
	assert_int_equal(t_revoke("r1", (const uint8_t *)"\0\0", 2, 1, 0), AL_E_SERIAL);
	assert_int_equal(t_revoke("r1", s1, 16, CRL_REASON_REMOVE, 0), AL_E_REASON);
	assert_int_equal(t_revoke("r1", s1, 16, CRL_REASON_HOLD, 0), AL_E_REASON);
	assert_int_equal(t_revoke("r1", s1, 16, 1, time(NULL) + 3 * DAY), AL_E_INVALIDITY);
	/* a good one, with leading zero octets on the serial */
	memset(padded, 0, 2);
	memcpy(padded + 2, s1, 16);
	buf_init(&req);
	buf_init(&a1);
	buf_init(&a2);
	new_reqid(id);
	revoke_req(&req, "r1", padded, sizeof(padded), 1, time(NULL) - DAY, id);
	ask(&req, &a1, &m);
	assert_int_equal(m.type, MSG_REVOKED);
	assert_int_equal(m.reason, 1);
	assert_true(MSG_HAS(&m, T_INVALIDITY) && MSG_HAS(&m, T_TIME2_NS));
	assert_true(m.time2_ns / 1000000000ull + 5 >= (uint64_t)time(NULL));
	/* the same request id again: the same bytes, nothing done twice */
	ask(&req, &a2, &m);
	assert_int_equal(a1.len, a2.len);
	assert_memory_equal(a1.p, a2.p, a1.len);
	/* another request for the same certificate */
	assert_int_equal(t_revoke("r1", s1, 16, 4, 0), AL_E_REVOKED);
	assert_int_equal(t_revoke("r1", s2, 16, 0, 0), 0);
	assert_int_equal(t_revoke("r2", s3, 16, 5, 0), 0);
	buf_free(&req);
	buf_free(&a1);
	buf_free(&a2);
}

static int
has_ext_oid(X509_CRL *crl, const char *oid)
{
	ASN1_OBJECT *o = OBJ_txt2obj(oid, 1);
	int i = X509_CRL_get_ext_by_OBJ(crl, o, -1);

	ASN1_OBJECT_free(o);
	return i >= 0;
}

/* Entry extensions as RFC 5280 wants them: reasonCode absent for 0. */
static void
check_entries(X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	const X509_REVOKED *r, *prev = NULL;
	ASN1_GENERALIZEDTIME *inv;
	ASN1_ENUMERATED *e;
	int i, crit;

	for (i = 0; revs != NULL && i < sk_X509_REVOKED_num(revs); i++) {
		r = sk_X509_REVOKED_value(revs, i);
		if (prev != NULL)
			assert_true(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(prev),
			    X509_REVOKED_get0_serialNumber(r)) < 0);
		prev = r;
		e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, &crit, NULL);
		if (e != NULL) {
			assert_int_not_equal(ASN1_ENUMERATED_get(e), 0);
			assert_int_equal(crit, 0);
		}
		ASN1_ENUMERATED_free(e);
		inv = X509_REVOKED_get_ext_d2i(r, NID_invalidity_date, &crit, NULL);
		if (inv != NULL)
			assert_int_equal(ASN1_STRING_type(inv), V_ASN1_GENERALIZEDTIME);
		ASN1_GENERALIZEDTIME_free(inv);
	}
}

static void
test_full_crl(void **state)
{
	struct crl_info info;
	struct buf ans;
	X509_CRL *crl;
	X509 *ca;
	struct msg m;
	ASN1_INTEGER *num;
	AUTHORITY_KEYID *akid;
	char why[512];
	int crit;

	(void)state;
	buf_init(&ans);
	fetch("r1", 0, 0, &ans, &m);
	assert_int_equal(m.type, MSG_CRL);
	assert_int_equal(m.crl_kind, MSG_CRL_FULL);
	assert_true(MSG_HAS(&m, T_CRL) && !MSG_HAS(&m, T_CRL_SIG));
	crl = d2i_crl(m.crl.p, m.crl.len);
	ca = ca_cert_of("r1");
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)), 0);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, &crit, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), num_of(&m));
	ASN1_INTEGER_free(num);
	akid = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, &crit, NULL);
	assert_non_null(akid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, X509_get0_subject_key_id(ca)), 0);
	AUTHORITY_KEYID_free(akid);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1) >= 0);
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_delta_crl, -1) < 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	check_entries(crl);
	assert_int_equal(crl_inspect(m.crl.p, m.crl.len, &info, why, sizeof(why)), 0);
	assert_int_equal(info.next_update - info.this_update, 7 * DAY);
	X509_CRL_free(crl);
	X509_free(ca);
	/* r2 keeps expired entries and says so; Ed25519 signs */
	fetch("r2", 0, 0, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_FULL);
	crl = d2i_crl(m.crl.p, m.crl.len);
	ca = ca_cert_of("r2");
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	assert_true(has_ext_oid(crl, "2.5.29.60"));
	assert_true(X509_CRL_get_ext_by_NID(crl, NID_freshest_crl, -1) < 0);
	X509_CRL_free(crl);
	X509_free(ca);
	buf_free(&ans);
}

/* Every entry of X509_CRL_diff(old, new) is in the signer's delta, encoded alike. */
static void
check_against_diff(const struct buf *old, const struct buf *new,
    const struct buf *delta)
{
	X509_CRL *o = d2i_crl(old->p, old->len), *n = d2i_crl(new->p, new->len);
	X509_CRL *d = d2i_crl(delta->p, delta->len), *ref;
	STACK_OF(X509_REVOKED) *rs;
	X509_REVOKED *mine;
	unsigned char *a = NULL, *b = NULL;
	int i, la, lb, added = 0;

	ref = X509_CRL_diff(o, n, NULL, NULL, 0);
	assert_non_null(ref);
	rs = X509_CRL_get_REVOKED(ref);
	for (i = 0; rs != NULL && i < sk_X509_REVOKED_num(rs); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(rs, i);

		assert_int_equal(X509_CRL_get0_by_serial(d, &mine,
		    X509_REVOKED_get0_serialNumber(r)), 1);
		la = i2d_X509_REVOKED(r, &a);
		lb = i2d_X509_REVOKED(mine, &b);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, (size_t)la);
		OPENSSL_free(a);
		OPENSSL_free(b);
		a = b = NULL;
		added++;
	}
	rs = X509_CRL_get_REVOKED(d);
	for (i = 0; rs != NULL && i < sk_X509_REVOKED_num(rs); i++) {
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(sk_X509_REVOKED_value(rs, i),
		    NID_crl_reason, NULL, NULL);

		if (e == NULL || ASN1_ENUMERATED_get(e) != CRL_REASON_REMOVE)
			added--;
		ASN1_ENUMERATED_free(e);
	}
	assert_int_equal(added, 0);
	X509_CRL_free(ref);
	X509_CRL_free(o);
	X509_CRL_free(n);
	X509_CRL_free(d);
}

static void
test_delta_rebuild(void **state)
{
	struct buf old, new, delta, ans;
	struct crl_info info;
	int64_t n1, n2;
	uint8_t s[16];
	struct msg m;
	char why[512];
	int i, kind;

	(void)state;
	buf_init(&old);
	buf_init(&new);
	buf_init(&delta);
	buf_init(&ans);
	n1 = sync_root("r1", &kind);
	assert_true(n1 >= 1);
	assert_identical("r1");
	read_crl_file("r1", ".crl", &old);
	for (i = 0; i < 7; i++) {
		new_serial(s);
		add_cert("r1", s, time(NULL) + 30 * DAY);
		assert_int_equal(t_revoke("r1", s, 16, i % 6, i == 3 ?
		    time(NULL) - 2 * DAY : 0), 0);
	}
	fetch("r1", 0, -1, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_DELTA);
	assert_true(MSG_HAS(&m, T_CRL_SIG));
	n2 = num_of(&m);
	assert_int_equal(n2, n1 + 1);
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, &info, why, sizeof(why)),
	    CRLSYNC_PUBLISHED);
	assert_int_equal(info.number, n2);
	assert_identical("r1");
	read_crl_file("r1", ".crl", &new);
	read_crl_file("r1", "-delta.crl", &delta);
	assert_int_equal(crl_inspect(delta.p, delta.len, &info, why, sizeof(why)), 0);
	assert_int_equal(info.base, n1);
	assert_int_equal(info.entries, 7);
	check_against_diff(&old, &new, &delta);
	/* the answer again: stale, and nothing changes */
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, NULL, why, sizeof(why)),
	    CRLSYNC_STALE);
	/* nothing new: CURRENT */
	fetch("r1", 0, -1, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_CURRENT);
	assert_false(MSG_HAS(&m, T_CRL));
	assert_int_equal(num_of(&m), n2);
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, NULL, why, sizeof(why)),
	    CRLSYNC_CURRENT);
	buf_free(&old);
	buf_free(&new);
	buf_free(&delta);
	buf_free(&ans);
}

static void
test_fetch_rules(void **state)
{
	const struct cfg_root *r = config_root(&T.cfg, "r1", 2);
	struct crlstore_crl cur, next;
	struct crlsign_out out;
	struct buf ans, req;
	struct msg m, a;
	uint8_t id[AIRLOCK_REQID_LEN];
	char why[512];
	int kind;

	(void)state;
	buf_init(&ans);
	buf_init(&req);
	memset(&out, 0, sizeof(out));
	sync_root("r1", &kind);
	assert_int_equal(crlstore_current(T.s.db, "r1", &cur), 1);
	/* from the future: 303 */
	fetch("r1", 0, cur.number + 5, &ans, &m);
	assert_int_equal(m.type, MSG_ERROR);
	assert_int_equal(m.code, AL_E_CRL_NUMBER);
	/* unknown root */
	fetch("nosuch", 0, 0, &ans, &m);
	assert_int_equal(m.code, AL_E_ROOT);
	/* a full CRL asked for: FULL, with the delta from the number before */
	fetch("r1", 1, cur.number, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_FULL);
	assert_true(MSG_HAS(&m, T_DELTA_CRL));
	/* CRL_KIND 2 in a request */
	new_reqid(id);
	assert_int_equal(crlsync_fetch_msg(&T.web, "r1", 0, cur.number, id, &req), 0);
	assert_int_equal(msg_decode(req.p, req.len, &m), AL_OK);
	m.crl_kind = MSG_CRL_CURRENT;
	MSG_SET(&m, T_CRL_KIND);
	buf_reset(&ans);
	assert_int_equal(msg_encode(&m, &ans), 0);
	buf_reset(&req);
	assert_int_equal(buf_put(&req, ans.p, ans.len), 0);
	ask(&req, &ans, &a);
	assert_int_equal(a.code, AL_E_MSG_VALUE);
	/* half the period gone: a new number although nothing was revoked */
	assert_int_equal(msg_decode(req.p, req.len, &m), AL_OK);
	MSG_SET(&m, T_CRL_KIND);
	m.crl_kind = MSG_CRL_DELTA;
	assert_int_equal(crlsign_fetch(T.s.db, T.s.ca[0], r, &m, cur.this_update +
	    (cur.next_update - cur.this_update) / 2 - 10, &a, &out, why, sizeof(why)),
	    AL_OK);
	assert_int_equal(a.crl_kind, MSG_CRL_CURRENT);
	crlsign_out_free(&out);
	memset(&out, 0, sizeof(out));
	assert_int_equal(crlsign_fetch(T.s.db, T.s.ca[0], r, &m, cur.this_update +
	    (cur.next_update - cur.this_update) / 2, &a, &out, why, sizeof(why)), AL_OK);
	assert_int_equal(a.crl_kind, MSG_CRL_DELTA);
	assert_int_equal(crlstore_current(T.s.db, "r1", &next), 1);
	assert_int_equal(next.number, cur.number + 1);
	assert_int_equal(next.entries, cur.entries);
	assert_true(next.this_update > cur.this_update);
	crlsign_out_free(&out);
	buf_free(&ans);
	buf_free(&req);
}

/* Expired past the grace period: dropped with removeFromCRL in the delta. */
static void
test_prune(void **state)
{
	const struct cfg_root *r = config_root(&T.cfg, "r1", 2);
	struct crlstore_crl cur;
	struct crlsign_out out;
	struct crl_info info;
	uint8_t s_old[16], s_soon[16];
	struct buf req;
	struct msg m, a;
	char why[512];
	int64_t before, later;
	int kind;

	(void)state;
	buf_init(&req);
	memset(&out, 0, sizeof(out));
	new_serial(s_old);
	new_serial(s_soon);
	add_cert("r1", s_old, time(NULL) - 40 * DAY);	/* expired, past grace */
	add_cert("r1", s_soon, time(NULL) + 5 * DAY);
	assert_int_equal(t_revoke("r1", s_old, 16, 1, 0), 0);
	assert_int_equal(t_revoke("r1", s_soon, 16, 3, 0), 0);
	sync_root("r1", &kind);
	assert_identical("r1");
	assert_int_equal(crlstore_current(T.s.db, "r1", &cur), 1);
	before = cur.entries;
	/* 40 days on: s_soon expired 35 days ago */
	later = time(NULL) + 40 * DAY;
	assert_int_equal(crlsign_issue(T.s.db, T.s.ca[0], r, later, &cur, why,
	    sizeof(why)), AL_OK);
	assert_true(cur.entries < before);
	assert_int_equal(crlstore_count(T.s.db, "r1", CRLSTORE_REMOVED, cur.number - 1),
	    before - cur.entries);
	assert_int_equal(crlsync_fetch_msg(&T.web, "r1", 0, -1, (const uint8_t *)
	    "0123456789abcdef", &req), 0);
	assert_int_equal(msg_decode(req.p, req.len, &m), AL_OK);
	assert_int_equal(crlsign_fetch(T.s.db, T.s.ca[0], r, &m, later, &a, &out, why,
	    sizeof(why)), AL_OK);
	assert_int_equal(a.crl_kind, MSG_CRL_DELTA);
	assert_int_equal(crl_inspect(out.crl.p, out.crl.len, &info, why, sizeof(why)), 0);
	assert_true(info.removals >= 1);
	assert_int_equal(crlsync_answer(&T.web, "r1", &a, 0, NULL, why, sizeof(why)),
	    CRLSYNC_PUBLISHED);
	assert_identical("r1");
	crlsign_out_free(&out);
	buf_free(&req);
}

static void
corrupt_file(const char *root, size_t at)
{
	struct buf b;
	char path[PATH_MAX];

	buf_init(&b);
	read_crl_file(root, ".crl", &b);
	b.p[at % b.len] ^= 0x01;
	snprintf(path, sizeof(path), "%s/%s.crl", T.web.crl_dir, root);
	assert_int_equal(write_file_atomic(path, b.p, b.len, 0644), 0);
	buf_free(&b);
}

static void
test_webdb_recovers(void **state)
{
	struct crl_info info;
	struct buf ans, keep, delta;
	char why[512], path[PATH_MAX];
	uint8_t s[16];
	struct msg m;
	int kind;
	size_t i;

	(void)state;
	buf_init(&ans);
	buf_init(&keep);
	buf_init(&delta);
	sync_root("r1", &kind);
	read_crl_file("r1", ".crl", &keep);
	/* lost: the next fetch asks for everything */
	snprintf(path, sizeof(path), "%s/r1.crl", T.web.crl_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(crlsync_have(&T.web, "r1", &info, why, sizeof(why)), 0);
	assert_true(sync_root("r1", &kind) >= 1);
	assert_int_equal(kind, MSG_CRL_FULL);
	assert_identical("r1");
	/* damaged anywhere: not trusted, full transfer, identical again */
	for (i = 0; i < 5; i++) {
		corrupt_file("r1", 17 + i * 97);
		assert_int_equal(crlsync_have(&T.web, "r1", &info, why, sizeof(why)), 0);
		sync_root("r1", &kind);
		assert_int_equal(kind, MSG_CRL_FULL);
		assert_identical("r1");
	}
	/* a delta arrives while the file is damaged: resync, file untouched */
	new_serial(s);
	add_cert("r1", s, time(NULL) + 30 * DAY);
	assert_int_equal(t_revoke("r1", s, 16, 1, 0), 0);
	fetch("r1", 0, -1, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_DELTA);
	corrupt_file("r1", 40);
	read_crl_file("r1", ".crl", &delta);
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, NULL, why, sizeof(why)),
	    CRLSYNC_RESYNC);
	read_crl_file("r1", ".crl", &keep);
	assert_int_equal(keep.len, delta.len);
	assert_memory_equal(keep.p, delta.p, keep.len);
	sync_root("r1", &kind);
	assert_identical("r1");
	/* a tampered signature in a delta answer: nothing published, resync */
	new_serial(s);
	add_cert("r1", s, time(NULL) + 30 * DAY);
	assert_int_equal(t_revoke("r1", s, 16, 1, 0), 0);
	fetch("r1", 0, -1, &ans, &m);
	assert_int_equal(m.crl_kind, MSG_CRL_DELTA);
	((uint8_t *)(uintptr_t)m.crl_sig.p)[3] ^= 0x40;
	read_crl_file("r1", ".crl", &keep);
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, NULL, why, sizeof(why)),
	    CRLSYNC_RESYNC);
	read_crl_file("r1", ".crl", &delta);
	assert_int_equal(keep.len, delta.len);
	assert_memory_equal(keep.p, delta.p, keep.len);
	sync_root("r1", &kind);
	assert_identical("r1");
	buf_free(&ans);
	buf_free(&keep);
	buf_free(&delta);
}

/* webdb held an older CRL than the request said: asks again with it. */
static void
test_base_mismatch(void **state)
{
	struct buf ans, old;
	char why[512], path[PATH_MAX];
	uint8_t s[16];
	struct msg m;
	int kind;

	(void)state;
	buf_init(&ans);
	buf_init(&old);
	sync_root("r1", &kind);
	read_crl_file("r1", ".crl", &old);
	new_serial(s);
	add_cert("r1", s, time(NULL) + 30 * DAY);
	assert_int_equal(t_revoke("r1", s, 16, 1, 0), 0);
	sync_root("r1", &kind);
	assert_int_equal(kind, MSG_CRL_DELTA);
	new_serial(s);
	add_cert("r1", s, time(NULL) + 30 * DAY);
	assert_int_equal(t_revoke("r1", s, 16, 1, 0), 0);
	fetch("r1", 0, -1, &ans, &m);
	/* the file is replaced by the one before meanwhile */
	snprintf(path, sizeof(path), "%s/r1.crl", T.web.crl_dir);
	assert_int_equal(write_file_atomic(path, old.p, old.len, 0644), 0);
	assert_int_equal(crlsync_answer(&T.web, "r1", &m, 0, NULL, why, sizeof(why)),
	    CRLSYNC_REFETCH);
	/* asked again with the number held: a delta over two steps */
	sync_root("r1", &kind);
	assert_int_equal(kind, MSG_CRL_DELTA);
	assert_identical("r1");
	buf_free(&ans);
	buf_free(&old);
}

static void
test_rebuild_refuses(void **state)
{
	struct crlstore_crl cur, c;
	struct buf full, prev, delta, out, re;
	const struct cfg_root *r = config_root(&T.cfg, "r1", 2);
	char why[512];
	uint8_t s[16];
	int kind;

	(void)state;
	buf_init(&full);
	buf_init(&prev);
	buf_init(&delta);
	buf_init(&out);
	buf_init(&re);
	sync_root("r1", &kind);
	read_crl_file("r1", ".crl", &prev);
	new_serial(s);
	add_cert("r1", s, time(NULL) + 30 * DAY);
	assert_int_equal(t_revoke("r1", s, 16, 1, 0), 0);
	sync_root("r1", &kind);
	assert_int_equal(crlstore_current(T.s.db, "r1", &cur), 1);
	assert_int_equal(crlstore_get(T.s.db, "r1", cur.number, &c, &full, &out), 1);
	assert_int_equal(crlsign_delta(T.s.db, T.s.ca[0], r, &cur, cur.number - 1,
	    &delta, why, sizeof(why)), AL_OK);
	/* the right inputs rebuild the signer's bytes */
	assert_int_equal(crl_rebuild(prev.p, prev.len, delta.p, delta.len, out.p,
	    out.len, &re, why, sizeof(why)), 0);
	assert_int_equal(re.len, full.len);
	assert_memory_equal(re.p, full.p, re.len);
	/* the delta applied to the new full CRL: base mismatch */
	assert_int_equal(crl_rebuild(full.p, full.len, delta.p, delta.len, out.p,
	    out.len, &re, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "base"));
	/* a full CRL where the delta belongs */
	assert_int_equal(crl_rebuild(prev.p, prev.len, prev.p, prev.len, out.p,
	    out.len, &re, why, sizeof(why)), -1);
	/* truncated and padded inputs */
	assert_int_equal(crl_rebuild(prev.p, prev.len - 1, delta.p, delta.len, out.p,
	    out.len, &re, why, sizeof(why)), -1);
	assert_int_equal(buf_put_u8(&delta, 0), 0);
	assert_int_equal(crl_rebuild(prev.p, prev.len, delta.p, delta.len, out.p,
	    out.len, &re, why, sizeof(why)), -1);
	assert_int_equal(crl_rebuild(NULL, 0, delta.p, delta.len, out.p, out.len,
	    &re, why, sizeof(why)), -1);
	assert_int_equal(re.len, 0);
	buf_free(&re);
	buf_free(&full);
	buf_free(&prev);
	buf_free(&delta);
	buf_free(&out);
}

/* Many rounds: revocations, expiries, webdb skipping fetches; always identical. */
static void
test_random_rounds(void **state)
{
	const struct cfg_root *r = config_root(&T.cfg, "r1", 2);
	struct crlstore_crl cur;
	char why[512];
	uint8_t s[16];
	int round, i, n, kind, deltas = 0;
	time_t t = time(NULL);

	(void)state;
	sync_root("r1", &kind);
	for (round = 0; round < 40; round++) {
		n = (int)(rnd() % 40);
		for (i = 0; i < n; i++) {
			new_serial(s);
			/* some expire within days: later rounds drop them */
			add_cert("r1", s, t + (time_t)(rnd() % 4 == 0 ? 2 : 300) * DAY);
			assert_int_equal(t_revoke("r1", s, 16, (int)(rnd() % 6),
			    rnd() % 5 == 0 ? (int64_t)t - 1000 : 0), 0);
		}
		if (rnd() % 3 == 0)	/* a CRL webdb does not see */
			assert_int_equal(crlsign_issue(T.s.db, T.s.ca[0], r, time(NULL) +
			    round * 2 * DAY, &cur, why, sizeof(why)), AL_OK);
		if (rnd() % 4 == 0)
			continue;
		sync_root("r1", &kind);
		deltas += kind == MSG_CRL_DELTA;
		assert_identical("r1");
	}
	assert_true(deltas > 10);
}

static void
test_spool(void **state)
{
	static const struct {
		const char	*text;
		int		 ok;
	} cases[] = {
		{ "type=revoke\nroot=r1\nserial=4a01\n", 1 },
		{ "# c\n\ntype=revoke\nroot=r1\nserial=abc\nreason=1\ninvalidity=1700000000\n"
		  "id=000102030405060708090a0b0c0d0e0f\n", 1 },
		{ "type=revoke\nroot=r1\n", 0 },
		{ "type=revoke\nserial=01\n", 0 },
		{ "type=revoke\nroot=r/1\nserial=01\n", 0 },
		{ "type=revoke\nroot=r1\nserial=0x01\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01\nreason=7\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01\nreason=11\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01\nreason=1x\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01\ninvalidity=-5\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01\nprofile=server\n", 0 },
		{ "type=revoke\nroot=r1\nserial=0102030405060708090a0b0c0d0e0f101112131415\n", 0 },
		{ "type=revoke\nroot=r1\nserial=01", 0 },
	};
	struct revoke_req rr;
	struct buf f, msg;
	struct msg m;
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_init(&f);
		buf_init(&msg);
		assert_int_equal(buf_put(&f, cases[i].text, strlen(cases[i].text)), 0);
		assert_true(revoke_is_spool(&f));
		if (revoke_parse_spool(&f, &rr, why, sizeof(why)) != (cases[i].ok ? 0 : -1))
			fail_msg("case %zu: %s", i, why);
		if (cases[i].ok) {
			assert_int_equal(revoke_msg(&rr, &msg), 0);
			assert_int_equal(msg_decode(msg.p, msg.len, &m), AL_OK);
			assert_int_equal(m.type, MSG_REVOKE);
		}
		buf_free(&f);
		buf_free(&msg);
	}
	buf_init(&f);
	assert_int_equal(buf_put(&f, "root=r1\nprofile=x\n", 18), 0);
	assert_false(revoke_is_spool(&f));
	buf_free(&f);
}

/* The delta sets are index range scans, not walks over certs. */
static void
test_query_plans(void **state)
{
	static const char *const q[] = {
		"EXPLAIN QUERY PLAN SELECT serial FROM certs WHERE root = 'r1'"
		" AND cakey = 1 AND revoked IS NOT NULL AND crl_pruned IS NULL"
		" AND crl_first > 5",
		"EXPLAIN QUERY PLAN SELECT serial FROM certs WHERE root = 'r1'"
		" AND cakey = 1 AND crl_pruned IS NOT NULL AND crl_pruned > 5"
		" AND crl_first <= 5",
	};
	/* each key's series reads a range of its own (root, cakey) */
	static const char *const idx[] = {
		"certs_crl_listed_k (root=? AND cakey=? AND crl_first>?)",
		"certs_crl_pruned_k (root=? AND cakey=? AND crl_pruned>?)" };
	sqlite3 *h;
	sqlite3_stmt *st;
	char plan[1024];
	size_t i;

	(void)state;
	assert_int_equal(sqlite3_open_v2(T.ca_db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (i = 0; i < 2; i++) {
		plan[0] = '\0';
		assert_int_equal(sqlite3_prepare_v2(h, q[i], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW)
			snprintf(plan + strlen(plan), sizeof(plan) - strlen(plan), "%s;",
			    (const char *)sqlite3_column_text(st, 3));
		sqlite3_finalize(st);
		if (strstr(plan, idx[i]) == NULL || strstr(plan, "COVERING") == NULL)
			fail_msg("plan %zu: %s", i, plan);
	}
	sqlite3_close(h);
}

/* Whether a CRL lists a serial. */
static int
crl_lists(const struct buf *der, const uint8_t s[16])
{
	X509_CRL *crl = d2i_crl(der->p, der->len);
	STACK_OF(X509_REVOKED) *rev = X509_CRL_get_REVOKED(crl);
	const ASN1_INTEGER *ai;
	int i, found = 0;

	for (i = 0; i < sk_X509_REVOKED_num(rev); i++) {
		ai = X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(rev, i));
		if (ASN1_STRING_length(ai) == 16 &&
		    memcmp(ASN1_STRING_get0_data(ai), s, 16) == 0)
			found = 1;
	}
	X509_CRL_free(crl);
	return found;
}

/*
 * Key rollover (docs/ca-layout.md section 9): certificates of a root's
 * second key (certs.cakey 2) are revoked through the root like any other,
 * but go on the CRL series "r1#2" only, numbered from 1, and the first
 * key's series "r1" never lists them; crlstore_key_certs counts what each
 * key still has valid.
 */
static void
test_key_series(void **state)
{
	const struct cfg_root *r = config_root(&T.cfg, "r1", 2);
	uint8_t s1[16], s2[16], id[AIRLOCK_REQID_LEN], der[3] = { 0x30, 0x01, 0x00 };
	struct crlstore_crl c1, c2, got;
	struct castore_cert c;
	struct cfg_root series;
	struct buf d1, d2;
	int64_t live, last, before, n2;
	char why[512];

	(void)state;
	buf_init(&d1);
	buf_init(&d2);
	new_serial(s1);
	new_serial(s2);
	add_cert("r1", s1, time(NULL) + 90 * DAY);
	new_reqid(id);
	c = (struct castore_cert){ "r1", s2, 16, id, time(NULL) - DAY,
	    time(NULL) + 30 * DAY, "CN=gen2", der, sizeof(der), 2 };
	assert_int_equal(castore_record(T.s.db, id, MSG_SIGN, "r1", 0, der,
	    sizeof(der), &c), 0);
	assert_int_equal(t_revoke("r1", s1, 16, 1, 0), 0);
	assert_int_equal(t_revoke("r1", s2, 16, 1, 0), 0);
	assert_int_equal(crlstore_pending(T.s.db, "r1#2"), 1);
	before = crlstore_next_number(T.s.db, "r1");
	series = *r;
	snprintf(series.name, sizeof(series.name), "r1#2");
	n2 = crlstore_next_number(T.s.db, "r1#2");
	assert_int_equal(crlsign_issue(T.s.db, T.s.ca[0], &series, time(NULL), &c2,
	    why, sizeof(why)), AL_OK);
	assert_int_equal(c2.number, n2);
	assert_int_equal(crlsign_issue(T.s.db, T.s.ca[0], r, time(NULL), &c1, why,
	    sizeof(why)), AL_OK);
	assert_int_equal(c1.number, before);
	assert_int_equal(crlstore_get(T.s.db, "r1", c1.number, &got, &d1, NULL), 1);
	assert_int_equal(crlstore_get(T.s.db, "r1#2", c2.number, &got, &d2, NULL), 1);
	assert_true(crl_lists(&d1, s1) && !crl_lists(&d1, s2));
	assert_true(crl_lists(&d2, s2) && !crl_lists(&d2, s1));
	assert_int_equal(crlstore_key_certs(T.s.db, "r1", 2, time(NULL), &live, &last), 0);
	assert_int_equal(live, 1);
	assert_int_equal(crlstore_key_certs(T.s.db, "r1", 2, time(NULL) + 31 * DAY,
	    &live, &last), 0);
	assert_int_equal(live, 0);
	assert_true(last > time(NULL));
	buf_free(&d1);
	buf_free(&d2);
}

/* The CRL settings of docs/configuration.md, and the mistakes refused. */
static void
test_config(void **state)
{
	static const struct {
		const char	*text;
		int		 ok;
	} cases[] = {
		{ "roots = ( { name = \"r\"; dir = \"d\"; profiles = []; crl_seconds = 5; } );", 0 },
		{ "roots = ( { name = \"r\"; dir = \"d\"; profiles = []; freshest_crl_url = \"no uri\"; } );", 0 },
		{ "roots = ( { name = \"r\"; dir = \"d\"; profiles = []; crl_keep_expired = 2; } );", 0 },
		{ "client = { crl_roots = ( { name = \"r\"; } ); };", 0 },
		{ "client = { crl_roots = ( { name = \"r/\"; ca_cert = \"c\"; } ); };", 0 },
		{ "client = { crl_roots = ( { name = \"r\"; ca_cert = \"c\"; },"
		  " { name = \"r\"; ca_cert = \"d\"; } ); };", 0 },
		{ "client = { crl_roots = [ \"r\" ]; };", 0 },
		{ "client = { crl_refresh = 0; };", 0 },
		{ "client = { crl_roots = ( { name = \"r\"; ca_cert = \"c\"; x = 1; } ); };", 0 },
	};
	char path[PATH_MAX], why[512];
	static struct cfg c;
	size_t i;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/crl-test.conf", T.tmp);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "state_dir = \"/var/lib/x\";\nprofiles = ( { name = \"server\";"
	    " freshest_crl_url = \"http://crl.example.test/d.crl\"; } );\n"
	    "roots = ( { name = \"r\"; dir = \"ca\"; profiles = [\"server\"];"
	    " crl_seconds = 40; crl_grace_days = 0; crl_keep_expired = true;"
	    " freshest_crl_url = \"http://crl.example.test/r-delta.crl\"; } );\n"
	    "client = { crl_refresh = 600; crl_roots = ( { name = \"r\";"
	    " ca_cert = \"r.crt\"; } ); };\n");
	fclose(f);
	if (config_load(path, &c, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(c.roots[0].crl_seconds, 40);
	assert_int_equal(c.roots[0].crl_grace_days, 0);
	assert_int_equal(c.roots[0].crl_keep_expired, 1);
	assert_string_equal(c.roots[0].freshest_url, "http://crl.example.test/r-delta.crl");
	assert_string_equal(c.profiles[0].freshest_url, "http://crl.example.test/d.crl");
	assert_int_equal(c.crl_refresh, 600);
	assert_string_equal(c.crl_dir, "/var/lib/x/crl");
	assert_int_equal(c.ncrl_roots, 1);
	assert_non_null(config_crl_root(&c, "r"));
	assert_null(config_crl_root(&c, "s"));
	snprintf(why, sizeof(why), "%s/r.crt", T.tmp);
	assert_string_equal(c.crl_roots[0].ca_cert, why);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fprintf(f, "%s\n", cases[i].text);
		fclose(f);
		if ((config_load(path, &c, why, sizeof(why)) == 0) != cases[i].ok)
			fail_msg("case %zu: %s", i, why);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoke_answers),
		cmocka_unit_test(test_full_crl),
		cmocka_unit_test(test_delta_rebuild),
		cmocka_unit_test(test_fetch_rules),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_webdb_recovers),
		cmocka_unit_test(test_base_mismatch),
		cmocka_unit_test(test_rebuild_refuses),
		cmocka_unit_test(test_random_rounds),
		cmocka_unit_test(test_spool),
		cmocka_unit_test(test_query_plans),
		cmocka_unit_test(test_key_series),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
