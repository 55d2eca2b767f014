/*
 * signer_pool.c: airlock-signerd's signing threads, so that an RSA-4096
 * root signs on every core. The keys stay in this process; the threads
 * only compute.
 *
 * A batch (signer_handle_batch) is handled in order, one request after
 * the other in one transaction, as before. Ahead of that, signer_pre_issue
 * goes through the batch's SIGN requests once: for each that decodes, has
 * no stored answer yet, names a root and a profile the root issues, it
 * draws the serial (a read of ca.db, on the main thread) and then the
 * checks and the signature (ca_issue, which reads no database) run on the
 * pool's threads and the main thread together. In the ordered pass do_sign
 * takes the result waiting for its request id (signer_pre_take) instead
 * of signing again; nothing else changes: the answer is recorded, audited
 * and committed where and when it was, so exactly-once and the group
 * commit are as before. A result nobody takes (a request id twice in the
 * batch, a root paused by the clock check meanwhile, a batch that fails)
 * is dropped unrecorded: a certificate exists only once committed.
 *
 * Threads: one fewer than the online CPUs (at most SIGNER_POOL_MAX), none
 * on one CPU or when a root's key is on a PKCS#11 token (the engine is
 * not known to sign from several threads at once). They are started
 * before the sandbox, and it waits until each has run (a thread makes its
 * first system calls, set_robust_list and rseq, when it first runs), so the
 * seccomp filter (docs/hardening.md) allows none of clone, set_robust_list
 * and rseq to the signer; they wait on a condition variable (futex)
 * between batches, block the signals the main thread handles, and exit at
 * the stop.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "castore.h"
#include "msg.h"
#include "signer.h"

#define SIGNER_POOL_MAX		7	/* threads besides the main one */

struct signer_pre {
	struct msg	 m;		/* the decoded request */
	int		 root;		/* index in cfg->roots */
	const struct cfg_profile *profile;
	uint8_t		 serial[SIGNER_SERIAL_LEN];
	int		 ready;		/* signed (or refused): waits to be taken */
	int		 code;
	struct ca_issued issued;
	char		 why[512];
};

struct signer_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 go, done;
	pthread_t	 th[SIGNER_POOL_MAX];
	int		 nthreads;
	int		 stop;
	uint64_t	 round;		/* a new batch of work */
	struct signer	*s;
	struct signer_pre *pre;		/* the batch's, SIGNER_BATCH_MAX */
	size_t		 n;		/* slots in use */
	size_t		 next;		/* the next slot to sign */
	size_t		 finished;
	int		 running;	/* threads that have started */
};

static void
pre_sign(struct signer *s, struct signer_pre *p)
{
	struct ca_request cr;

	memset(&cr, 0, sizeof(cr));
	cr.csr = p->m.csr.p;
	cr.csr_len = p->m.csr.len;
	cr.format = p->m.csr_format;
	cr.days = p->m.days;
	cr.now = time(NULL);
	cr.psl = s->psl;
	if (MSG_HAS(&p->m, T_SUBJECT)) {
		cr.subject = p->m.subject.p;
		cr.subject_len = p->m.subject.len;
	}
	if (MSG_HAS(&p->m, T_SAN)) {
		cr.san = p->m.san.p ? p->m.san.p : (const uint8_t *)"";
		cr.san_len = p->m.san.len;
	}
	p->code = ca_issue(s->ca[p->root], p->profile, &cr, p->serial,
	    sizeof(p->serial), &p->issued, p->why, sizeof(p->why));
}

/* Takes slots until none is left; on the pool's threads and the main one. */
static void
pool_work(struct signer_pool *pl)
{
	size_t i;

	pthread_mutex_lock(&pl->mu);
	while (pl->next < pl->n) {
		i = pl->next++;
		pthread_mutex_unlock(&pl->mu);
		pre_sign(pl->s, &pl->pre[i]);
		pthread_mutex_lock(&pl->mu);
		pl->pre[i].ready = 1;
		if (++pl->finished == pl->n)
			pthread_cond_broadcast(&pl->done);
	}
	pthread_mutex_unlock(&pl->mu);
}

static void *
pool_thread(void *arg)
{
	struct signer_pool *pl = arg;
	uint64_t seen = 0;
	sigset_t set;

	/* SIGTERM and the like go to the main thread (its poll wakes); the
	 * sandbox's SIGSYS and the faults stay deliverable here */
	sigfillset(&set);
	sigdelset(&set, SIGSYS);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGFPE);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGABRT);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
	pthread_mutex_lock(&pl->mu);
	pl->running++;			/* glibc's start-up calls are behind us */
	pthread_cond_broadcast(&pl->done);
	for (;;) {
		while (!pl->stop && pl->round == seen)
			pthread_cond_wait(&pl->go, &pl->mu);
		if (pl->stop)
			break;
		seen = pl->round;
		pthread_mutex_unlock(&pl->mu);
		pool_work(pl);
		pthread_mutex_lock(&pl->mu);
	}
	pthread_mutex_unlock(&pl->mu);
	return NULL;
}

int
signer_pool_start(struct signer *s)
{
	struct signer_pool *pl;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i, want;

	want = cpus > 1 ? (int)(cpus - 1) : 0;
	if (want > SIGNER_POOL_MAX)
		want = SIGNER_POOL_MAX;
	for (i = 0; i < s->cfg->nroots; i++)
		if (s->ca[i] != NULL && ca_key_on_token(s->ca[i]))
			want = 0;
	if ((pl = calloc(1, sizeof(*pl))) == NULL ||
	    (pl->pre = calloc(SIGNER_BATCH_MAX, sizeof(*pl->pre))) == NULL) {
		free(pl);
		return -1;
	}
	pl->s = s;
	pthread_mutex_init(&pl->mu, NULL);
	pthread_cond_init(&pl->go, NULL);
	pthread_cond_init(&pl->done, NULL);
	for (i = 0; i < want; i++) {
		if (pthread_create(&pl->th[i], NULL, pool_thread, pl) != 0)
			break;
		pl->nthreads++;
	}
	/* a new thread registers itself with the kernel (set_robust_list,
	 * rseq) when it first runs, with every signal blocked: that must be
	 * over before the filter, which allows neither, is installed */
	pthread_mutex_lock(&pl->mu);
	while (pl->running < pl->nthreads)
		pthread_cond_wait(&pl->done, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
	s->pool = pl;
	log_info("signing on %d thread%s (%ld CPUs%s)", pl->nthreads + 1,
	    pl->nthreads ? "s" : "", cpus, want == 0 && cpus > 1 ?
	    ", a key on a token: one" : "");
	return 0;
}

void
signer_pool_stop(struct signer *s)
{
	struct signer_pool *pl = s->pool;
	int i;

	if (pl == NULL)
		return;
	pthread_mutex_lock(&pl->mu);
	pl->stop = 1;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->mu);
	for (i = 0; i < pl->nthreads; i++)
		pthread_join(pl->th[i], NULL);
	signer_pre_clear(s);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->go);
	pthread_cond_destroy(&pl->done);
	free(pl->pre);
	free(pl);
	s->pool = NULL;
}

/* Can this request be signed ahead? Then its slot is filled. */
static int
pre_take_request(struct signer *s, const struct signer_req *r,
    struct signer_pre *p)
{
	const struct cfg *c = s->cfg;
	const struct cfg_root *root;
	struct buf ans;
	int found;

	memset(p, 0, sizeof(*p));
	buf_init(&p->issued.der);
	if (msg_decode(r->p, r->len, &p->m) != AL_OK || p->m.type != MSG_SIGN)
		return 0;
	if ((root = config_root(c, (const char *)p->m.root.p,
	    p->m.root.len)) == NULL || s->ca[root - c->roots] == NULL ||
	    !config_root_allows(root, (const char *)p->m.profile.p,
	    p->m.profile.len) || (p->profile = config_profile(c,
	    (const char *)p->m.profile.p, p->m.profile.len)) == NULL ||
	    p->profile->approvals > 0)
		return 0;		/* refused or held in the ordered pass */
	buf_init(&ans);
	found = castore_answer(s->db, p->m.reqid, &ans);
	buf_free(&ans);
	if (found != 0)
		return 0;		/* answered before (or a read error) */
	p->root = (int)(root - c->roots);
	return signer_serial(s, root->name, p->serial) == 0;
}

void
signer_pre_issue(struct signer *s, const struct signer_req *r, size_t n)
{
	struct signer_pool *pl = s->pool;
	char why[256];
	size_t i, count = 0;

	if (pl == NULL || pl->nthreads == 0 || s->restoring ||
	    signer_time_paused(s, why, sizeof(why)))
		return;
	signer_pre_clear(s);
	/* filled while pl->n is 0: a thread still in the last round sees
	 * nothing to take until the round is published below */
	for (i = 0; i < n && count < SIGNER_BATCH_MAX; i++)
		if (pre_take_request(s, &r[i], &pl->pre[count]))
			count++;
		else
			buf_free(&pl->pre[count].issued.der);
	if (count < 2) {		/* nothing to share: signed in order */
		for (i = 0; i < count; i++)
			buf_free(&pl->pre[i].issued.der);
		return;
	}
	pthread_mutex_lock(&pl->mu);
	pl->n = count;
	pl->next = pl->finished = 0;
	pl->round++;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->mu);
	pool_work(pl);
	pthread_mutex_lock(&pl->mu);
	while (pl->finished < pl->n)
		pthread_cond_wait(&pl->done, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
}

int
signer_pre_take(struct signer *s, const struct msg *m, uint8_t *serial,
    struct ca_issued *issued, int *code, char *why, size_t whysz)
{
	struct signer_pool *pl = s->pool;
	struct signer_pre *p;
	size_t i;

	if (pl == NULL)
		return 0;
	for (i = 0; i < pl->n; i++) {
		p = &pl->pre[i];
		/* the same request, not only the same id: its CSR is at the
		 * same place in the same batch buffer */
		if (!p->ready || memcmp(p->m.reqid, m->reqid, AIRLOCK_REQID_LEN) != 0 ||
		    p->m.csr.p != m->csr.p || p->m.csr.len != m->csr.len)
			continue;
		p->ready = 0;		/* taken once */
		memcpy(serial, p->serial, sizeof(p->serial));
		buf_free(&issued->der);
		*issued = p->issued;	/* the certificate's bytes move */
		buf_init(&p->issued.der);
		*code = p->code;
		snprintf(why, whysz, "%s", p->why);
		return 1;
	}
	return 0;
}

void
signer_pre_clear(struct signer *s)
{
	struct signer_pool *pl = s->pool;
	size_t i, n;

	if (pl == NULL)
		return;
	pthread_mutex_lock(&pl->mu);
	n = pl->n;
	pl->n = pl->next = pl->finished = 0;
	pthread_mutex_unlock(&pl->mu);
	for (i = 0; i < n; i++)
		buf_free(&pl->pre[i].issued.der);
}
