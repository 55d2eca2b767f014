/*
 * crlsync.c: webdb's side of revocation. It asks the signer host for CRLs
 * (CRL_FETCH with the number of the full CRL it holds), applies the
 * answers to the files it publishes, and turns revocation requests from
 * the spool directory into REVOKE messages.
 *
 * Published files, per root in crl_dir (docs/configuration.md):
 *   ROOT.crl, ROOT.crl.pem              the newest full CRL, DER and PEM;
 *   ROOT-delta.crl, ROOT-delta.crl.pem  the newest delta CRL (its base is
 *                                       the full CRL webdb held before);
 *   ROOT.serials                        the serial of every certificate of
 *                                       the root, for airlock-ocspd
 *                                       (serialsync.c).
 * crl_dir is made 0750 (and the files 0644): the group of airlock-client,
 * which airlock-ocspd's user is in, reads it as deployed.
 * After a key rollover (docs/ca-layout.md section 9) each of the root's keys
 * has its own CRL series: ROOT.* is the first key's (verified with ca_cert),
 * ROOT.gN.* key N's (N >= 2), verified with ROOT.gN.crt, the CA
 * certificate the signer sent with key N's CRLs (ROOT.gN-chain.pem: its
 * issuers). Such a series is named "ROOT.gN" here (a "key name"); a CRL
 * answer's KEY_NEWEST makes the series of a new key known, error 305
 * (the key retired) ends one.
 * Each is written whole (write, fsync, rename), delta before full, PEM
 * before DER, and only after it verified against the root's CA
 * certificate: a file that does not verify, an empty file, or a CRL older
 * than the one held is never published. ROOT.crl itself is the state: the
 * number webdb holds is that of ROOT.crl if it verifies, and nothing
 * otherwise. So a lost or damaged file makes the next fetch ask for the
 * full CRL, and webdb recovers without anyone's help.
 *
 * Answers and what they lead to:
 *   DELTA   rebuild ROOT.crl from the file, the delta and the signature; if
 *           the rebuilt CRL does not verify (or the file changed since the
 *           request), ask again: for a full CRL, or with the new number;
 *   FULL    verify and publish it, and the delta that came with it;
 *   CURRENT nothing to do;
 *   ERROR 303 (the number held is newer than the signer's): ask for a
 *           full CRL.
 * The daemon asks every crl_refresh seconds per root, and more often once
 * the CRL held has lived half its period, so that the signer issues a new
 * one before nextUpdate even when nothing was revoked; one fetch per root
 * is outstanding at a time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crl.h"
#include "crypto.h"
#include "spool.h"
#include "outbox.h"
#include "crlsync.h"
#include "revoke.h"

#define CRLSYNC_RETRY_S		30	/* between fetches after half-life */
#define CRLSYNC_PENDING_S	600	/* give up waiting for an answer */
#define CRLSYNC_TIME_MAX	253402300799LL
#define CRLSYNC_KEYS		(4 * CFG_MAX_ROOTS)	/* series followed at once */
#define CRLSYNC_NAME_MAX	(AIRLOCK_NAME_MAX + 16)	/* "ROOT.gN" */

struct crlsync_root {
	const struct cfg_crl_root *cr;
	char		 name[CRLSYNC_NAME_MAX];	/* key name: ROOT or ROOT.gN */
	int		 gen;		/* 1 for ROOT */
	int		 retired;	/* error 305: no more CRLs for it */
	time_t		 last_queued;
	int		 pending;
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	struct crl_info	 info;		/* of the file, when have_info */
	int		 have_info;
	int		 full;		/* the pending fetch asked for a full CRL */
};

struct crlsync {
	const struct cfg *c;
	struct crlsync_root roots[CRLSYNC_KEYS];
	int		 n;
};

/* "ROOT.gN" -> ROOT and N; "ROOT" -> ROOT and 1. */
static int
crlsync_split(const char *key, char root[AIRLOCK_NAME_MAX], int *gen)
{
	const char *g = strstr(key, ".g");
	long long v;
	size_t n = strlen(key);

	*gen = 1;
	while (g != NULL && parse_num(g + 2, 2, MSG_KEY_GEN_MAX, &v) == -1)
		g = strstr(g + 2, ".g");
	if (g != NULL) {
		*gen = (int)v;
		n = (size_t)(g - key);
	}
	if (n >= AIRLOCK_NAME_MAX)
		return -1;
	memcpy(root, key, n);
	root[n] = '\0';
	return 0;
}

/* The certificate that key's CRLs verify with. */
static const char *
crlsync_ca_cert(const struct cfg *c, const char *key, char *path, char *why,
    size_t whysz)
{
	const struct cfg_crl_root *cr;
	char root[AIRLOCK_NAME_MAX];
	int gen;

	if (crlsync_split(key, root, &gen) == -1 ||
	    (cr = config_crl_root(c, root)) == NULL) {
		snprintf(why, whysz, "root %s is not in client.crl_roots", key);
		return NULL;
	}
	if (gen == 1)
		return cr->ca_cert;
	snprintf(path, PATH_MAX, "%s/%s.crt", c->crl_dir, key);
	return path;
}

static void
crlsync_path(const struct cfg *c, const char *root, const char *suffix, char *out)
{
	snprintf(out, PATH_MAX, "%s/%s%s", c->crl_dir, root, suffix);
}

/* Reads and verifies a CRL file; 0 and its bytes, -1 with a sentence. */
static int
crlsync_read(const struct cfg *c, const char *root, const char *suffix, int kind,
    struct buf *der, struct crl_info *info, char *why, size_t whysz)
{
	struct crl_issuer *is;
	char path[PATH_MAX], cpath[PATH_MAX];
	const char *cert;
	int rc;

	memset(info, 0, sizeof(*info));
	if ((cert = crlsync_ca_cert(c, root, cpath, why, whysz)) == NULL)
		return -1;
	crlsync_path(c, root, suffix, path);
	if (read_file(path, der, MSG_MAX_LEN) == -1) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (crl_issuer_load(cert, &is, why, whysz) == -1)
		return -1;
	rc = crl_verify(is, der->p, der->len, kind, info, why, whysz);
	crl_issuer_free(is);
	return rc;
}

int64_t
crlsync_have(const struct cfg *c, const char *root, struct crl_info *info, char *why,
    size_t whysz)
{
	struct buf der;
	int rc;

	buf_init(&der);
	rc = crlsync_read(c, root, ".crl", MSG_CRL_FULL, &der, info, why, whysz);
	buf_free(&der);
	return rc == 0 ? info->number : 0;
}

int
crlsync_fetch_msg(const struct cfg *c, const char *root, int full, int64_t have,
    const uint8_t reqid[AIRLOCK_REQID_LEN], struct buf *out)
{
	struct crl_info info;
	uint8_t num[8];
	struct msg m;
	char why[256], name[AIRLOCK_NAME_MAX];
	size_t n = 0;
	int i, gen;

	if (crlsync_split(root, name, &gen) == -1)
		return -1;
	if (have < 0)
		have = full ? 0 : crlsync_have(c, root, &info, why, sizeof(why));
	memset(&m, 0, sizeof(m));
	m.type = MSG_CRL_FETCH;
	memcpy(m.reqid, reqid, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)name;
	m.root.len = strlen(name);
	MSG_SET(&m, T_ROOT);
	if (gen > 1) {
		m.key_gen = (uint32_t)gen;
		MSG_SET(&m, T_KEY_GEN);
	}
	if (have > 0) {
		for (i = 0; i < 8; i++)
			num[i] = (uint8_t)((uint64_t)have >> (56 - 8 * i));
		while (n < 7 && num[n] == 0)
			n++;
		m.crl_number.p = num + n;
		m.crl_number.len = 8 - n;
		MSG_SET(&m, T_CRL_NUMBER);
	}
	if (full) {
		m.crl_kind = MSG_CRL_FULL;
		MSG_SET(&m, T_CRL_KIND);
	}
	return msg_encode_checked(&m, out);
}

int
crlsync_queue(const struct cfg *c, struct db *outbox, const char *root, int full,
    int64_t have, uint8_t reqid[AIRLOCK_REQID_LEN])
{
	struct buf m;
	int rc = -1;

	buf_init(&m);
	if (crypto_random(reqid, AIRLOCK_REQID_LEN) == 0 &&
	    crlsync_fetch_msg(c, root, full, have, reqid, &m) == 0 &&
	    outbox_add(outbox, reqid, MSG_CRL_FETCH, root, m.p, m.len) == 1)
		rc = 0;
	buf_free(&m);
	return rc;
}

static int
crlsync_write(const struct cfg *c, const char *root, const char *suffix,
    const struct buf *der, char *why, size_t whysz)
{
	char path[PATH_MAX], pempath[PATH_MAX];
	struct buf pem;
	int rc = -1;

	buf_init(&pem);
	crlsync_path(c, root, suffix, path);
	snprintf(pempath, sizeof(pempath), "%s.pem", path);
	if (pem_encode("X509 CRL", der->p, der->len, &pem) == -1)
		snprintf(why, whysz, "out of memory");
	else if (write_file_atomic(pempath, pem.p, pem.len, 0644) == -1)
		snprintf(why, whysz, "%s: %s", pempath, strerror(errno));
	else if (write_file_atomic(path, der->p, der->len, 0644) == -1)
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	buf_free(&pem);
	return rc;
}

/* crl_dir, made 0750 when missing (mkdir(2) applies the umask, 0077
 * under the unit; fchmod(2) does not, and the sandbox allows it where it
 * refuses chmod(2)): 0, or -1 with errno. */
int
crlsync_mkdir(const struct cfg *c)
{
	int fd, rc, e;

	if (mkdir(c->crl_dir, 0750) == -1)
		return errno == EEXIST ? 0 : -1;
	if ((fd = open(c->crl_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	rc = fchmod(fd, 0750);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

/* Writes the verified delta (if any), then the verified full CRL. */
static int
crlsync_publish(const struct cfg *c, const char *root, const struct buf *full,
    const struct buf *delta, char *why, size_t whysz)
{
	if (crlsync_mkdir(c) == -1) {
		snprintf(why, whysz, "%s: %s", c->crl_dir, strerror(errno));
		return -1;
	}
	if (delta != NULL && delta->len > 0 &&
	    crlsync_write(c, root, "-delta.crl", delta, why, whysz) == -1)
		return -1;
	return crlsync_write(c, root, ".crl", full, why, whysz);
}

/* The answer's CRL_NUMBER as a number, or -1. */
static int64_t
crlsync_number(const struct msg *m)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < m->crl_number.len; i++) {
		if (v >> 55)
			return -1;
		v = v << 8 | m->crl_number.p[i];
	}
	return v >= 1 && v <= INT64_MAX ? (int64_t)v : -1;
}

struct crlsync_ctx {
	const struct cfg *c;
	const char	*root;
	struct crl_issuer *is;
	int64_t		 number;	/* the answer's */
	struct buf	 held;		/* ROOT.crl as read */
	struct crl_info	 hinfo;
	int		 hok;		/* it verified */
	struct buf	 full, delta;
	int		 older;		/* a lower number than held is fine */
	struct crl_info	*out;
	char		*why;
	size_t		 whysz;
};

/*
 * The CRL in an answer: verified, of the right kind and number (-1), not
 * expired (-2: asking again at once would get the same one back when the
 * signer's clock is behind, so that waits for the next scheduled fetch).
 */
static int
crlsync_check(struct crlsync_ctx *x, const uint8_t *p, size_t len, int kind,
    struct crl_info *info)
{
	if (crl_verify(x->is, p, len, kind, info, x->why, x->whysz) == -1)
		return -1;
	if (info->number != x->number) {
		snprintf(x->why, x->whysz, "the CRL is number %lld, the answer says %lld",
		    (long long)info->number, (long long)x->number);
		return -1;
	}
	if (info->next_update <= time(NULL)) {
		snprintf(x->why, x->whysz, "CRL %lld expired at %lld (is the signer's "
		    "clock right?)", (long long)info->number,
		    (long long)info->next_update);
		return -2;
	}
	return 0;
}

static int
crlsync_full(struct crlsync_ctx *x, const struct msg *m)
{
	struct crl_info fi, di;
	const struct buf *delta = NULL;

	if (!MSG_HAS(m, T_CRL)) {
		snprintf(x->why, x->whysz, "a full CRL answer without a CRL");
		return CRLSYNC_FAILED;
	}
	if (x->hok && (x->older ? x->hinfo.number == x->number :
	    x->hinfo.number >= x->number))
		return CRLSYNC_STALE;
	if (crlsync_check(x, m->crl.p, m->crl.len, MSG_CRL_FULL, &fi) < 0)
		return CRLSYNC_FAILED;
	if (buf_put(&x->full, m->crl.p, m->crl.len) == -1)
		return CRLSYNC_FAILED;
	if (MSG_HAS(m, T_DELTA_CRL)) {
		if (crlsync_check(x, m->delta_crl.p, m->delta_crl.len, MSG_CRL_DELTA,
		    &di) == 0 && di.this_update == fi.this_update &&
		    buf_put(&x->delta, m->delta_crl.p, m->delta_crl.len) == 0)
			delta = &x->delta;
		else
			log_warnx("root %s: the delta CRL beside CRL %lld is not "
			    "published: %s", x->root, (long long)x->number, x->why);
	}
	if (crlsync_publish(x->c, x->root, &x->full, delta, x->why, x->whysz) == -1)
		return CRLSYNC_FAILED;
	*x->out = fi;
	return CRLSYNC_PUBLISHED;
}

static int
crlsync_delta(struct crlsync_ctx *x, const struct msg *m)
{
	struct crl_info di, fi;
	int r;

	if (!MSG_HAS(m, T_CRL) || !MSG_HAS(m, T_CRL_SIG)) {
		snprintf(x->why, x->whysz, "a delta answer without a CRL or signature");
		return CRLSYNC_FAILED;
	}
	if (x->hok && x->hinfo.number >= x->number)
		return CRLSYNC_STALE;
	if ((r = crlsync_check(x, m->crl.p, m->crl.len, MSG_CRL_DELTA, &di)) < 0)
		return r == -2 ? CRLSYNC_FAILED : CRLSYNC_RESYNC;
	if (!x->hok)
		return CRLSYNC_RESYNC;
	if (di.base != x->hinfo.number) {
		snprintf(x->why, x->whysz, "the delta's base is CRL %lld, webdb "
		    "holds %lld", (long long)di.base, (long long)x->hinfo.number);
		return CRLSYNC_REFETCH;
	}
	if (crl_rebuild(x->held.p, x->held.len, m->crl.p, m->crl.len, m->crl_sig.p,
	    m->crl_sig.len, &x->full, x->why, x->whysz) == -1 ||
	    crlsync_check(x, x->full.p, x->full.len, MSG_CRL_FULL, &fi) < 0)
		return CRLSYNC_RESYNC;
	if (buf_put(&x->delta, m->crl.p, m->crl.len) == -1 ||
	    crlsync_publish(x->c, x->root, &x->full, &x->delta, x->why, x->whysz) == -1)
		return CRLSYNC_FAILED;
	*x->out = fi;
	return CRLSYNC_PUBLISHED;
}

/* The length of the DER SEQUENCE at p (header included), or 0. */
static size_t
crlsync_der_len(const uint8_t *p, size_t n)
{
	size_t len = 0, hl, i;

	if (n < 2 || p[0] != 0x30)
		return 0;
	if (p[1] < 0x80)
		return 2 + (size_t)p[1] <= n ? 2 + (size_t)p[1] : 0;
	hl = p[1] & 0x7f;
	if (hl == 0 || hl > 3 || n < 2 + hl)
		return 0;
	for (i = 0; i < hl; i++)
		len = len << 8 | p[2 + i];
	return len <= n - 2 - hl ? len + 2 + hl : 0;
}

/*
 * A later key's CA certificate and its issuers, as the signer sent them
 * beside that key's CRL: ROOT.gN.crt and ROOT.gN-chain.pem (PEM). The link
 * is authenticated; the CRL must still verify with the certificate.
 */
static int
crlsync_store_ca(struct crlsync_ctx *x, const struct msg *m, int gen)
{
	char path[PATH_MAX];
	struct buf pem, one;
	const uint8_t *p = m->chain.p, *end = p != NULL ? p + m->chain.len : p;
	size_t len;
	int rc = -1;

	if (!MSG_HAS(m, T_KEY_GEN) || (int)m->key_gen != gen || !MSG_HAS(m, T_CERT))
		return 0;	/* nothing to learn */
	buf_init(&pem);
	buf_init(&one);
	if (crlsync_mkdir(x->c) == -1)
		goto fail;
	if (pem_encode("CERTIFICATE", m->cert.p, m->cert.len, &pem) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s.crt", x->c->crl_dir, x->root);
	if (write_file_atomic(path, pem.p, pem.len, 0644) == -1)
		goto fail;
	buf_reset(&pem);
	/* CHAIN: DER certificates one after the other (SEQUENCE, long form) */
	while (p < end) {
		if ((len = crlsync_der_len(p, (size_t)(end - p))) == 0)
			goto fail;
		if (len > (size_t)(end - p) || pem_encode("CERTIFICATE", p, len,
		    &one) == -1 || buf_put(&pem, one.p, one.len) == -1)
			goto fail;
		buf_reset(&one);
		p += len;
	}
	snprintf(path, sizeof(path), "%s/%s-chain.pem", x->c->crl_dir, x->root);
	if (write_file_atomic(path, pem.p, pem.len, 0644) == 0)
		rc = 0;
fail:
	if (rc == -1)
		snprintf(x->why, x->whysz, "cannot keep the CA certificate of %s: %s",
		    x->root, errno ? strerror(errno) : "it does not encode");
	buf_free(&pem);
	buf_free(&one);
	return rc;
}

static int
crlsync_apply(struct crlsync_ctx *x, const struct msg *m)
{
	char skip[256], cpath[PATH_MAX], root[AIRLOCK_NAME_MAX];
	const char *cert;
	int gen;

	if (crlsync_split(x->root, root, &gen) == -1 ||
	    (cert = crlsync_ca_cert(x->c, x->root, cpath, x->why, x->whysz)) == NULL)
		return CRLSYNC_FAILED;
	if ((x->number = crlsync_number(m)) == -1) {
		snprintf(x->why, x->whysz, "bad CRL number in the answer");
		return CRLSYNC_FAILED;
	}
	if ((MSG_HAS(m, T_KEY_GEN) ? (int)m->key_gen : 1) != gen) {
		snprintf(x->why, x->whysz, "the answer is for key generation %u, "
		    "not %d", m->key_gen, gen);
		return CRLSYNC_FAILED;
	}
	if (gen > 1 && crlsync_store_ca(x, m, gen) == -1)
		return CRLSYNC_FAILED;
	if (crl_issuer_load(cert, &x->is, x->why, x->whysz) == -1)
		return CRLSYNC_FAILED;
	x->hok = crlsync_read(x->c, x->root, ".crl", MSG_CRL_FULL, &x->held, &x->hinfo,
	    skip, sizeof(skip)) == 0;
	switch (m->crl_kind) {
	case MSG_CRL_CURRENT:
		if (x->hok && x->hinfo.number == x->number)
			return CRLSYNC_CURRENT;
		if (x->hok && x->hinfo.number > x->number)
			return CRLSYNC_STALE;
		snprintf(x->why, x->whysz, "the signer says CRL %lld is current, webdb "
		    "holds %s", (long long)x->number, x->hok ? "an older one" : skip);
		return x->hok ? CRLSYNC_REFETCH : CRLSYNC_RESYNC;
	case MSG_CRL_DELTA:
		return crlsync_delta(x, m);
	default:
		return crlsync_full(x, m);
	}
}

int
crlsync_answer(const struct cfg *c, const char *root, const struct msg *ans,
    int older, struct crl_info *info, char *why, size_t whysz)
{
	struct crl_info scratch;
	struct crlsync_ctx x;
	char name[AIRLOCK_NAME_MAX];
	int r, gen;

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.root = root;
	x.older = older;
	x.out = info != NULL ? info : &scratch;
	x.why = why;
	x.whysz = whysz;
	buf_init(&x.held);
	buf_init(&x.full);
	buf_init(&x.delta);
	snprintf(why, whysz, "%s", "");
	if (crlsync_split(root, name, &gen) == -1 || ans->type != MSG_CRL ||
	    ans->root.len != strlen(name) ||
	    memcmp(ans->root.p, name, ans->root.len) != 0) {
		snprintf(why, whysz, "not a CRL answer for root %s", root);
		r = CRLSYNC_FAILED;
	} else
		r = crlsync_apply(&x, ans);
	crl_issuer_free(x.is);
	buf_free(&x.held);
	buf_free(&x.full);
	buf_free(&x.delta);
	return r;
}

/* --- the daemon's schedule --- */

#define CA_KEYS_SCAN	16	/* generations looked for in crl_dir at start */

static struct crlsync_root *
crlsync_add(struct crlsync *cs, const struct cfg_crl_root *cr, int gen)
{
	struct crlsync_root *r;

	if (cs->n == CRLSYNC_KEYS)
		return NULL;
	r = &cs->roots[cs->n++];
	memset(r, 0, sizeof(*r));
	r->cr = cr;
	r->gen = gen;
	if (gen == 1)
		snprintf(r->name, sizeof(r->name), "%s", cr->name);
	else
		snprintf(r->name, sizeof(r->name), "%s.g%d", cr->name, gen);
	return r;
}

struct crlsync *
crlsync_new(const struct cfg *c)
{
	struct crlsync *cs;
	char path[PATH_MAX];
	int i, g;

	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	cs->c = c;
	for (i = 0; i < c->ncrl_roots; i++)
		crlsync_add(cs, &c->crl_roots[i], 1);
	/* the later keys met before: their CA certificates are in crl_dir */
	for (i = 0; i < c->ncrl_roots; i++)
		for (g = 2; g < 2 + CA_KEYS_SCAN; g++) {
			snprintf(path, sizeof(path), "%s/%s.g%d.crt", c->crl_dir,
			    c->crl_roots[i].name, g);
			if (access(path, F_OK) == 0)
				crlsync_add(cs, &c->crl_roots[i], g);
		}
	return cs;
}

void
crlsync_free(struct crlsync *cs)
{
	free(cs);
}

static struct crlsync_root *
crlsync_root(struct crlsync *cs, const char *name)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (strcmp(cs->roots[i].name, name) == 0)
			return &cs->roots[i];
	return NULL;
}

static int
crlsync_due(const struct crlsync *cs, const struct crlsync_root *r, time_t now)
{
	time_t refresh = (time_t)cs->c->crl_refresh, half;

	if (r->retired || (r->pending && now - r->last_queued < CRLSYNC_PENDING_S))
		return 0;
	if (now >= r->last_queued + refresh)
		return 1;
	if (!r->have_info)
		return 0;
	half = (time_t)(r->info.this_update + (r->info.next_update -
	    r->info.this_update) / 2 + 1);
	return now >= half && now >= r->last_queued +
	    (refresh < CRLSYNC_RETRY_S ? refresh : CRLSYNC_RETRY_S);
}

static void
crlsync_ask(struct crlsync *cs, struct db *outbox, struct crlsync_root *r, int full,
    time_t now)
{
	struct crl_info info;
	char why[512], id[33];
	int64_t have = 0;

	r->have_info = 0;
	if (!full) {
		have = crlsync_have(cs->c, r->name, &info, why, sizeof(why));
		if (have == 0)
			log_info("root %s: %s: asking for the full CRL",
			    r->name, why);
		else {
			r->info = info;
			r->have_info = 1;
		}
	}
	r->last_queued = now;
	r->full = full;
	if (crlsync_queue(cs->c, outbox, r->name, full, have, r->reqid) == -1) {
		log_warnx("root %s: cannot queue a CRL_FETCH", r->name);
		return;
	}
	r->pending = 1;
	reqid_hex(r->reqid, id);
	log_info("req=%s CRL_FETCH root=%s have=%lld%s", id, r->name,
	    (long long)have, full ? " full" : "");
}

void
crlsync_tick(struct crlsync *cs, struct db *outbox, time_t now)
{
	int i;

	for (i = 0; i < cs->n; i++)
		if (crlsync_due(cs, &cs->roots[i], now))
			crlsync_ask(cs, outbox, &cs->roots[i], 0, now);
}

static void
crlsync_error(struct crlsync *cs, struct db *outbox, struct crlsync_root *r,
    const struct outbox_item *it, const struct msg *m)
{
	log_warnx("CRL_FETCH root=%s: error %u: %.*s", it->name, m->code,
	    (int)m->text.len, m->text.p);
	if (m->code == AL_E_KEY_GEN && r != NULL) {
		log_info("root %s: no more CRLs for this key; its last ones stay "
		    "published", it->name);
		r->retired = 1;
		return;
	}
	if (m->code == AL_E_CRL_NUMBER && r != NULL) {
		log_warnx("root %s: the signer has no such CRL; asking for the full CRL",
		    it->name);
		crlsync_ask(cs, outbox, r, 1, time(NULL));
	}
}

/* KEY_NEWEST: the root has keys webdb does not follow yet; ask for theirs. */
static void
crlsync_newer_keys(struct crlsync *cs, struct db *outbox,
    const struct crlsync_root *r, const struct msg *m)
{
	char name[CRLSYNC_NAME_MAX];
	struct crlsync_root *k;
	uint32_t g;

	if (!MSG_HAS(m, T_KEY_NEWEST))
		return;
	for (g = 2; g <= m->key_newest && g < 2 + CA_KEYS_SCAN; g++) {
		snprintf(name, sizeof(name), "%s.g%u", r->cr->name, g);
		if (crlsync_root(cs, name) != NULL)
			continue;
		if ((k = crlsync_add(cs, r->cr, (int)g)) == NULL) {
			log_warnx("root %s: too many CRL series to follow", name);
			return;
		}
		log_info("root %s: key generation %u is new; following its CRLs",
		    r->cr->name, g);
		crlsync_ask(cs, outbox, k, 1, time(NULL));
	}
}

void
crlsync_on_answer(struct crlsync *cs, struct db *outbox, const struct outbox_item *it,
    const struct msg *m)
{
	struct crlsync_root *r = crlsync_root(cs, it->name);
	static const char *const names[] = { "published", "current", "stale",
	    "refetch", "resync", "failed" };
	struct crl_info info;
	char why[512];
	int res, mine;

	mine = r != NULL && memcmp(r->reqid, it->reqid, AIRLOCK_REQID_LEN) == 0;
	if (mine)
		r->pending = 0;
	if (m->type == MSG_ERROR) {
		crlsync_error(cs, outbox, r, it, m);
		return;
	}
	res = crlsync_answer(cs->c, it->name, m, mine && r->full, &info, why,
	    sizeof(why));
	if (res == CRLSYNC_PUBLISHED)
		log_info("root %s: CRL %lld published (%s; %zu bytes of CRLs in the "
		    "answer)", it->name, (long long)crlsync_number(m),
		    m->crl_kind == MSG_CRL_DELTA ? "rebuilt from a delta" :
		    "full transfer", m->crl.len + m->crl_sig.len + m->delta_crl.len);
	else if (res != CRLSYNC_CURRENT && res != CRLSYNC_STALE)
		log_warnx("root %s: CRL %lld answer: %s: %s", it->name,
		    (long long)crlsync_number(m), names[res], why);
	if (r == NULL)
		return;
	if (res == CRLSYNC_REFETCH)
		crlsync_ask(cs, outbox, r, 0, time(NULL));
	else if (res == CRLSYNC_RESYNC && m->crl_kind != MSG_CRL_FULL)
		crlsync_ask(cs, outbox, r, 1, time(NULL));
	else if (res == CRLSYNC_PUBLISHED) {
		r->info = info;
		r->have_info = 1;
	}
	if (res != CRLSYNC_FAILED)
		crlsync_newer_keys(cs, outbox, r, m);
}

/* Series i (0 .. crlsync_nseries - 1) of the CRLs webdb follows: a root's
 * first key's ("ROOT") or, when webdb has its certificate, a later key's
 * ("ROOT.gN"); NULL when there is no such series here. */
static const char *
crlsync_series(const struct cfg *c, int i, char *key, size_t keysz)
{
	const char *name = c->crl_roots[i % c->ncrl_roots].name;
	char path[PATH_MAX];
	int g = 1 + i / c->ncrl_roots;

	if (g == 1)
		return name;
	snprintf(key, keysz, "%s.g%d", name, g);
	snprintf(path, sizeof(path), "%s/%s.crt", c->crl_dir, key);
	return access(path, F_OK) == 0 ? key : NULL;
}

int
crlsync_nseries(const struct cfg *c)
{
	return c->ncrl_roots * (1 + CA_KEYS_SCAN);
}

/*
 * For the catch-up after a restore of the signer: the CRL file of series i
 * (full when delta is 0), checked against that key's certificate as every
 * CRL webdb keeps. 1 with its bytes and the configured root's name, 0 when
 * there is none that verifies (why says why).
 */
int
crlsync_held(const struct cfg *c, int i, int delta, char *root, size_t rootsz,
    struct buf *der, char *why, size_t whysz)
{
	struct crl_info info;
	char key[CRLSYNC_NAME_MAX];
	const char *name;

	if (i < 0 || i >= crlsync_nseries(c) ||
	    (name = crlsync_series(c, i, key, sizeof(key))) == NULL) {
		snprintf(why, whysz, "no such series");
		return 0;
	}
	snprintf(root, rootsz, "%s", c->crl_roots[i % c->ncrl_roots].name);
	return crlsync_read(c, name, delta ? "-delta.crl" : ".crl",
	    delta ? MSG_CRL_DELTA : MSG_CRL_FULL, der, &info, why, whysz) == 0;
}

void
crlsync_list(const struct cfg *c, FILE *f)
{
	struct crl_info fi, di;
	struct buf der;
	char why[512], key[CRLSYNC_NAME_MAX];
	int i;

	buf_init(&der);
	for (i = 0; i < crlsync_nseries(c); i++) {
		const char *name;

		if ((name = crlsync_series(c, i, key, sizeof(key))) == NULL)
			continue;

		if (crlsync_read(c, name, ".crl", MSG_CRL_FULL, &der, &fi, why,
		    sizeof(why)) == -1) {
			fprintf(f, "%s none: %s\n", name, why);
			continue;
		}
		fprintf(f, "%s number=%lld entries=%zu this_update=%lld next_update=%lld",
		    name, (long long)fi.number, fi.entries, (long long)fi.this_update,
		    (long long)fi.next_update);
		if (crlsync_read(c, name, "-delta.crl", MSG_CRL_DELTA, &der, &di, why,
		    sizeof(why)) == 0)
			fprintf(f, " delta=%lld base=%lld delta_entries=%zu",
			    (long long)di.number, (long long)di.base, di.entries);
		fprintf(f, "\n");
	}
	buf_free(&der);
}

/* --- airlock-client's revoke and crl commands, and what result prints --- */

int
crlsync_revoked_line(const struct msg *m, char *out, size_t outsz)
{
	char hex[2 * CRL_SERIAL_MAX + 1];
	size_t n = m->serial.len < CRL_SERIAL_MAX ? m->serial.len : CRL_SERIAL_MAX;
	int len;

	hex_encode(m->serial.p, n, hex);
	len = snprintf(out, outsz, "revoked %.*s %s reason=%u time=%llu\n",
	    (int)m->root.len, m->root.p, hex, m->reason,
	    (unsigned long long)(m->time2_ns / 1000000000ull));
	return len < 0 ? 0 : (size_t)len >= outsz ? (int)outsz - 1 : len;
}

void
crlsync_print(const struct msg *m, FILE *f)
{
	static const char *const kinds[] = { "full", "delta", "current" };
	char line[256];

	if (m->type == MSG_REVOKED) {
		crlsync_revoked_line(m, line, sizeof(line));
		fputs(line, f);
	} else if (m->type == MSG_CRL)
		fprintf(f, "crl %.*s number=%lld kind=%s bytes=%zu\n", (int)m->root.len,
		    m->root.p, (long long)crlsync_number(m),
		    kinds[m->crl_kind <= MSG_CRL_CURRENT ? m->crl_kind : 0],
		    m->crl.len + m->delta_crl.len + m->crl_sig.len);
}

static int
crlsync_usage(const char *why)
{
	fprintf(stderr, "airlock-client: %s\n", why);
	return 2;
}

int
revoke_command(const struct cfg *c, struct db *outbox, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "serial", required_argument, NULL, 's' },
		{ "reason", required_argument, NULL, 'R' },
		{ "invalidity", required_argument, NULL, 'I' },
		{ "id", required_argument, NULL, 'i' },
		{ "name", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = "";
	struct revoke_req rr;
	struct buf m;
	long long v;
	char id[33];
	int ch, r;

	(void)c;
	memset(&rr, 0, sizeof(rr));
	optind = 0;	/* 0: glibc forgets the "+" of proc_options */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((ch == 'r' && !name_ok(optarg, strlen(optarg))) ||
		    (ch == 's' && revoke_serial(optarg, &rr) == -1) ||
		    (ch == 'R' && (parse_num(optarg, 0, 10, &v) == -1 || v == 7)) ||
		    (ch == 'I' && parse_num(optarg, 1, CRLSYNC_TIME_MAX, &v) == -1) ||
		    (ch == 'i' && hex_decode(optarg, rr.reqid, sizeof(rr.reqid)) == -1) ||
		    (ch == 'n' && !spool_name_ok(optarg)) || ch == '?')
			return crlsync_usage("revoke: bad option or value");
		if (ch == 'r')
			snprintf(rr.root, sizeof(rr.root), "%s", optarg);
		rr.reason = ch == 'R' ? (int)v : rr.reason;
		rr.invalidity = ch == 'I' ? v : rr.invalidity;
		rr.have_id |= ch == 'i';
		name = ch == 'n' ? optarg : name;
	}
	if (rr.root[0] == '\0' || rr.serial_len == 0 || optind != argc)
		return crlsync_usage("revoke needs --root and --serial");
	if (!rr.have_id && crypto_random(rr.reqid, sizeof(rr.reqid)) == -1)
		fatalx("random number generator failed");
	buf_init(&m);
	if (revoke_msg(&rr, &m) == -1 ||
	    (r = outbox_add(outbox, rr.reqid, MSG_REVOKE, name, m.p, m.len)) == -1) {
		buf_free(&m);
		fprintf(stderr, "airlock-client: cannot queue the revocation\n");
		return 1;
	}
	buf_free(&m);
	reqid_hex(rr.reqid, id);
	printf("%s\n", id);
	if (r == 0)
		fprintf(stderr, "airlock-client: request %s was already queued\n", id);
	return 0;
}

int
crlsync_command(const struct cfg *c, struct db *outbox, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "full", no_argument, NULL, 'f' },
		{ "have", required_argument, NULL, 'h' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t reqid[AIRLOCK_REQID_LEN];
	const char *root = NULL;
	long long have = -1;
	int ch, full = 0, list = 0, gen;
	char id[33], name[AIRLOCK_NAME_MAX];

	optind = 0;	/* 0: glibc forgets the "+" of proc_options */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == '?' || (ch == 'h' && parse_num(optarg, 0, INT64_MAX,
		    &have) == -1) || (ch == 'r' && !name_ok(optarg, strlen(optarg))))
			return crlsync_usage("crl: bad option or value");
		root = ch == 'r' ? optarg : root;
		full |= ch == 'f';
		list |= ch == 'l';
	}
	if (optind != argc || (list ? root != NULL : root == NULL))
		return crlsync_usage("crl needs --root R, or --list");
	if (list) {
		crlsync_list(c, stdout);
		return 0;
	}
	if (crlsync_split(root, name, &gen) == -1 || config_crl_root(c, name) == NULL)
		fprintf(stderr, "airlock-client: root %s is not in client.crl_roots: "
		    "its CRL will not be published\n", root);
	if (crlsync_queue(c, outbox, root, full, have, reqid) == -1) {
		fprintf(stderr, "airlock-client: cannot queue the CRL fetch\n");
		return 1;
	}
	reqid_hex(reqid, id);
	printf("%s\n", id);
	return 0;
}
