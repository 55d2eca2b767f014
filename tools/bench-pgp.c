/*
 * bench-pgp.c: the in-process half of `make bench-pgp` (scripts/bench-pgp.sh
 * runs the rest).
 *
 *   bench-pgp run ROOTDIR KEYDIR K N CADB
 *       airlock's signer path for N OpenPGP certifications: PGP_CERTIFY
 *       messages (built before the clock starts) for the K user keys
 *       KEYDIR/0.asc .. K-1.asc in turn, each listing the key's address
 *       "userI@bench.example", through signer_handle_batch in batches of
 *       SIGNER_BATCH_MAX as airlock-signerd runs them: decode, policy
 *       (every self-signature verified), certify, and commit the answer
 *       and its audit record to CADB (WAL, synchronous=FULL). Every answer
 *       must be PGP_CERTIFIED. Prints "pgp N SECONDS PER_S".
 *
 * ROOTDIR is an OpenPGP root with an unencrypted key (pgp-root init --no-pass).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "msg.h"
#include "signer.h"
#include "util.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_cfg(struct cfg *c, const char *rootdir, const char *db)
{
	struct cfg_profile *p = &c->profiles[0];
	struct cfg_root *r = &c->pgp_roots[0];

	memset(c, 0, sizeof(*c));
	snprintf(c->ca_db, sizeof(c->ca_db), "%s", db);
	c->nprofiles = c->npgp_roots = 1;
	snprintf(p->name, sizeof(p->name), "openpgp");
	p->max_days = p->default_days = 366;
	snprintf(r->name, sizeof(r->name), "bench");
	snprintf(r->dir, sizeof(r->dir), "%s", rootdir);
	snprintf(r->profiles[0], sizeof(r->profiles[0]), "openpgp");
	r->nprofiles = 1;
}

static struct buf *
bench_msgs(const char *keydir, int k, int n)
{
	struct buf *m = calloc((size_t)n, sizeof(*m)), *keys = calloc((size_t)k, sizeof(*keys));
	char path[4096], email[64];
	struct msg q;
	int i;

	if (m == NULL || keys == NULL)
		errx(1, "out of memory");
	for (i = 0; i < k; i++) {
		snprintf(path, sizeof(path), "%s/%d.asc", keydir, i);
		buf_init(&keys[i]);
		if (read_file(path, &keys[i], 1u << 16) == -1)
			err(1, "%s", path);
	}
	for (i = 0; i < n; i++) {
		memset(&q, 0, sizeof(q));
		q.type = MSG_PGP_CERTIFY;
		q.reqid[12] = (uint8_t)(i >> 24), q.reqid[13] = (uint8_t)(i >> 16);
		q.reqid[14] = (uint8_t)(i >> 8), q.reqid[15] = (uint8_t)i;
		snprintf(email, sizeof(email), "user%d@bench.example", i % k);
		q.root = (struct msg_bytes){ (const uint8_t *)"bench", 5 };
		q.profile = (struct msg_bytes){ (const uint8_t *)"openpgp", 7 };
		q.pgp_key = (struct msg_bytes){ keys[i % k].p, keys[i % k].len };
		q.emails = (struct msg_bytes){ (const uint8_t *)email, strlen(email) };
		q.present = 1u << T_ROOT | 1u << T_PROFILE | 1u << T_PGP_KEY | 1u << T_EMAILS;
		buf_init(&m[i]);
		if (msg_encode(&q, &m[i]) == -1)
			errx(1, "cannot encode request %d", i);
	}
	for (i = 0; i < k; i++)
		buf_free(&keys[i]);
	free(keys);
	return m;
}

int
main(int argc, char **argv)
{
	struct signer_req r[SIGNER_BATCH_MAX];
	struct buf ans[SIGNER_BATCH_MAX], *m;
	struct signer s;
	struct cfg c;
	struct msg a;
	char why[512];
	double t0, t;
	int i, j, b, k, n, ok = 0;

	if (argc != 7 || strcmp(argv[1], "run") != 0)
		errx(2, "usage: bench-pgp run ROOTDIR KEYDIR K N CADB");
	k = atoi(argv[4]);
	n = atoi(argv[5]);
	if (k < 1 || n < 1)
		errx(2, "K and N must be positive");
	bench_cfg(&c, argv[2], argv[6]);
	if (signer_init(&s, &c, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	m = bench_msgs(argv[3], k, n);
	for (j = 0; j < SIGNER_BATCH_MAX; j++)
		buf_init(&ans[j]);
	t0 = now_s();
	for (i = 0; i < n; i += b) {
		b = n - i < SIGNER_BATCH_MAX ? n - i : SIGNER_BATCH_MAX;
		for (j = 0; j < b; j++)
			r[j] = (struct signer_req){ m[i + j].p, m[i + j].len };
		signer_handle_batch(&s, r, (size_t)b, ans);
		for (j = 0; j < b; j++) {
			if (msg_decode(ans[j].p, ans[j].len, &a) == AL_OK &&
			    a.type == MSG_PGP_CERTIFIED)
				ok++;
			else if (ok == 0 && i == 0 && j == 0)
				warnx("first answer: %.*s", (int)a.text.len, a.text.p);
		}
	}
	t = now_s() - t0;
	printf("pgp %d %.3f %.1f ok %d\n", n, t, n / t, ok);
	for (i = 0; i < n; i++)
		buf_free(&m[i]);
	free(m);
	for (j = 0; j < SIGNER_BATCH_MAX; j++)
		buf_free(&ans[j]);
	signer_free(&s);
	return ok == n ? 0 : 1;
}
