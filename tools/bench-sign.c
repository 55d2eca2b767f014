/*
 * bench-sign.c: the in-process half of `make bench-sign` (scripts/bench-
 * sign.sh runs the rest). Three commands:
 *
 *   bench-sign gen DIR N
 *       N P-256 CSRs (SHA-256, CN and a DNS subjectAltName) as
 *       DIR/NNNNN.csr, PEM. Not timed.
 *   bench-sign run CADIR CSRDIR N CADB
 *       (a) airlock's signer path for the N CSRs: SIGN messages (built
 *       before the clock starts) through signer_handle_batch in batches of
 *       SIGNER_BATCH_MAX, as airlock-signerd does, each batch one durable
 *       commit to CADB (WAL, synchronous=FULL); every answer must be a
 *       CERT. (c) the CA key's bare signature rate in the same process,
 *       like `openssl speed`: N signatures of a SHA-256 digest with
 *       EVP_PKEY_sign (RSA PKCS#1 v1.5, or ECDSA). The two alternate in
 *       rounds of one batch, so that both see the same machine (other
 *       load, clock changes). Prints "sign N SECONDS PER_S cpu CPU_SECONDS"
 *       and the same for "raw": wall-clock time, and this process's CPU
 *       time.
 *
 * CADIR is a CA directory with an unencrypted ca.key (airlockctl root
 * init). Timing is CLOCK_MONOTONIC around the loops only.
 */
#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "crypto.h"
#include "msg.h"
#include "signer.h"
#include "util.h"

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double
cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void
gen_one(const char *dir, int i)
{
	char path[PATH_MAX], cn[64], san[80];
	STACK_OF(X509_EXTENSION) *exts;
	X509_EXTENSION *ext;
	X509_REQ *r;
	EVP_PKEY *k;
	FILE *f;

	snprintf(cn, sizeof(cn), "host%d.bench.example", i);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) == NULL ||
	    (r = X509_REQ_new()) == NULL || (exts = sk_X509_EXTENSION_new_null())
	    == NULL || (ext = X509V3_EXT_conf_nid(NULL, NULL,
	    NID_subject_alt_name, san)) == NULL)
		errx(1, "cannot make a request");
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "O",
	    MBSTRING_UTF8, (const unsigned char *)"airlock bench", -1, -1, 0);
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN",
	    MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	sk_X509_EXTENSION_push(exts, ext);
	if (!X509_REQ_set_pubkey(r, k) || !X509_REQ_add_extensions(r, exts) ||
	    X509_REQ_sign(r, k, EVP_sha256()) <= 0)
		errx(1, "cannot sign a request");
	snprintf(path, sizeof(path), "%s/%05d.csr", dir, i);
	if ((f = fopen(path, "w")) == NULL || !PEM_write_X509_REQ(f, r) ||
	    fclose(f) != 0)
		err(1, "%s", path);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	EVP_PKEY_free(k);
}

static int
cmd_gen(const char *dir, int n)
{
	int i;

	if (mkdir(dir, 0755) == -1)
		err(1, "%s", dir);
	for (i = 0; i < n; i++)
		gen_one(dir, i);
	return 0;
}

static void
bench_cfg(struct cfg *c, const char *cadir, const char *db)
{
	struct cfg_profile *p = &c->profiles[0];
	struct cfg_root *r = &c->roots[0];

	memset(c, 0, sizeof(*c));
	snprintf(c->ca_db, sizeof(c->ca_db), "%s", db);
	c->nprofiles = c->nroots = 1;
	snprintf(p->name, sizeof(p->name), "server");
	p->max_days = 397;
	p->default_days = 365;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE | CFG_KU_KEY_ENCIPHERMENT;
	p->ext_key_usage = CFG_EKU_SERVER;
	p->pathlen = -1;
	p->san_types = SAN_DNS;
	snprintf(p->subject_attrs, sizeof(p->subject_attrs), "CN,O");
	snprintf(p->crl_url, sizeof(p->crl_url), "http://crl.bench.example/ca.crl");
	snprintf(p->ocsp_url, sizeof(p->ocsp_url), "http://ocsp.bench.example/");
	snprintf(r->name, sizeof(r->name), "bench");
	snprintf(r->dir, sizeof(r->dir), "%s", cadir);
	snprintf(r->profiles[0], sizeof(r->profiles[0]), "server");
	r->nprofiles = 1;
}

/* SIGN messages for the CSRs, with request ids 0..n-1. */
static struct buf *
bench_requests(const char *csrdir, int n)
{
	struct buf *req, csr;
	char path[PATH_MAX];
	struct msg m;
	int i;

	if ((req = calloc((size_t)n, sizeof(*req))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%05d.csr", csrdir, i);
		buf_init(&csr);
		if (read_file(path, &csr, 1 << 16) == -1)
			err(1, "%s", path);
		/* as airlock-client sends it: the DER of the PEM file */
		if (csr_pem_to_der(csr.p, csr.len, &csr) == -1)
			errx(1, "%s: not a PEM request", path);
		memset(&m, 0, sizeof(m));
		m.type = MSG_SIGN;
		put_be32(m.reqid + 12, (uint32_t)i + 1);
		m.root = (struct msg_bytes){ (const uint8_t *)"bench", 5 };
		m.profile = (struct msg_bytes){ (const uint8_t *)"server", 6 };
		m.csr = (struct msg_bytes){ csr.p, csr.len };
		m.days = 90;
		m.present = 1u << T_ROOT | 1u << T_PROFILE | 1u << T_CSR |
		    1u << T_DAYS;
		buf_init(&req[i]);
		if (msg_encode(&m, &req[i]) == -1)
			errx(1, "cannot encode request %d", i);
		buf_free(&csr);
	}
	return req;
}

static int
bench_check(const struct buf *ans, size_t n)
{
	struct msg m;
	size_t i;

	for (i = 0; i < n; i++)
		if (msg_decode(ans[i].p, ans[i].len, &m) != AL_OK ||
		    m.type != MSG_CERT) {
			warnx("answer %zu is not a certificate (%s %.*s)", i,
			    msg_type_name(m.type), (int)m.text.len, m.text.p);
			return -1;
		}
	return 0;
}

#define ROUND	1024	/* requests, then signatures, per round */

struct bench {
	struct signer	 s;
	struct buf	*req;
	struct signer_req *r;		/* the same, as the signer takes them */
	struct buf	 ans[SIGNER_BATCH_MAX];
	EVP_PKEY_CTX	*raw;
	double		 t_sign, t_raw;		/* wall clock */
	double		 c_sign, c_raw;		/* CPU time of this process */
	int		 bad;
};

static int
batch_len(int i, int to)
{
	return to - i < SIGNER_BATCH_MAX ? to - i : SIGNER_BATCH_MAX;
}

/* The next batch starts signing on the pool's threads, if there is room. */
static void
bench_more(struct bench *b, int *i, int to)
{
	int k;

	if (*i >= to || !signer_ahead_room(&b->s))
		return;
	k = batch_len(*i, to);
	signer_batch_ahead(&b->s, &b->r[*i], (size_t)k);
	*i += k;
}

/* airlock-signerd's pipeline (signerd_serve): batch k is recorded and
 * committed while k+1 and k+2 are signed; its answers are checked after
 * its commit. */
static void
bench_sign_round(struct bench *b, int from, int to)
{
	double t0 = now_s(), c0 = cpu_s();
	int head = from, i = from, recorded = 0, k;

	bench_more(b, &i, to);
	while (head < to) {
		bench_more(b, &i, to);
		if (recorded) {
			k = batch_len(head, to);
			if (signer_batch_commit(&b->s, &b->r[head], (size_t)k,
			    b->ans) != 0 || bench_check(b->ans, (size_t)k) == -1)
				b->bad = 1;
			head += k;
			recorded = 0;
		}
		if (head >= to)
			break;
		signer_batch_record(&b->s, &b->r[head], (size_t)batch_len(head,
		    to), b->ans);
		recorded = 1;
	}

	b->t_sign += now_s() - t0;
	b->c_sign += cpu_s() - c0;
}

static void
bench_raw_round(struct bench *b, int n)
{
	unsigned char md[32], sig[1024];
	double t0 = now_s(), c0 = cpu_s();
	size_t len;
	int i;

	memset(md, 0x5a, sizeof(md));
	for (i = 0; i < n; i++) {
		len = sizeof(sig);
		if (EVP_PKEY_sign(b->raw, sig, &len, md, sizeof(md)) <= 0)
			errx(1, "signing failed");
	}
	b->t_raw += now_s() - t0;
	b->c_raw += cpu_s() - c0;
}

static EVP_PKEY *
read_key(const char *cadir)
{
	char path[PATH_MAX];
	EVP_PKEY *k;
	FILE *f;

	snprintf(path, sizeof(path), "%s/ca.key", cadir);
	if ((f = fopen(path, "r")) == NULL)
		err(1, "%s", path);
	if ((k = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		errx(1, "%s: not an unencrypted PEM key", path);
	fclose(f);
	return k;
}

static EVP_PKEY_CTX *
bench_raw_ctx(const char *cadir)
{
	EVP_PKEY *k = read_key(cadir);
	EVP_PKEY_CTX *ctx;

	if ((ctx = EVP_PKEY_CTX_new(k, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0 ||
	    (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0))
		errx(1, "cannot set up signing");
	EVP_PKEY_free(k);	/* the context holds a reference */
	return ctx;
}

static int
cmd_run(const char *cadir, const char *csrdir, int n, const char *db)
{
	static struct cfg c;
	static struct bench b;
	char why[1024];
	int i, to;

	bench_cfg(&c, cadir, db);
	if (signer_init(&b.s, &c, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	if (signer_pool_start(&b.s) == -1)	/* every core, as airlock-signerd */
		errx(1, "no memory for the signing threads");
	b.req = bench_requests(csrdir, n);
	if ((b.r = calloc((size_t)n, sizeof(*b.r))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++)
		b.r[i] = (struct signer_req){ b.req[i].p, b.req[i].len };
	b.raw = bench_raw_ctx(cadir);
	for (i = 0; i < n; i = to) {
		to = i + ROUND < n ? i + ROUND : n;
		bench_sign_round(&b, i, to);
		bench_raw_round(&b, to - i);
	}
	if (b.bad || b.s.st.issued != (uint64_t)n)
		errx(1, "%llu of %d issued", (unsigned long long)b.s.st.issued, n);
	printf("sign %d %.3f %.1f cpu %.3f\n", n, b.t_sign, n / b.t_sign,
	    b.c_sign);
	printf("raw %d %.3f %.1f cpu %.3f\n", n, b.t_raw, n / b.t_raw, b.c_raw);
	for (i = 0; i < n; i++)
		buf_free(&b.req[i]);
	for (i = 0; i < SIGNER_BATCH_MAX; i++)
		buf_free(&b.ans[i]);
	free(b.req);
	free(b.r);
	EVP_PKEY_CTX_free(b.raw);
	signer_pool_stop(&b.s);
	signer_free(&b.s);
	return 0;
}

/* The CA key's bare signature rate alone, on one core: for the end-to-end
 * ratio, measured just before and just after that run. */
static int
cmd_raw(const char *cadir, int n)
{
	static struct bench b;

	memset(&b, 0, sizeof(b));
	b.raw = bench_raw_ctx(cadir);
	bench_raw_round(&b, n);
	printf("raw %d %.3f %.1f cpu %.3f\n", n, b.t_raw, n / b.t_raw, b.c_raw);
	EVP_PKEY_CTX_free(b.raw);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("bench-sign", LOG_TO_STDERR, 0);
	if (argc == 4 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], atoi(argv[3]));
	if (argc == 6 && strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], argv[3], atoi(argv[4]), argv[5]);
	if (argc == 4 && strcmp(argv[1], "raw") == 0 && atoi(argv[3]) > 0)
		return cmd_raw(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: bench-sign gen DIR N | run CADIR CSRDIR N CADB | "
	    "raw CADIR N\n");
	return 2;
}
