/*
 * signer_pool.c: airlock-signerd's signing threads and its pipeline, so
 * that a key signs on every core and no core waits for a commit. The keys
 * stay in this process; the threads only compute.
 *
 * A batch (signer_handle_batch, or signer_batch_ahead, _record and
 * _commit in turn) is recorded in order, one request after the other in
 * one transaction, as before. Ahead of that, signer_batch_ahead goes
 * through the batch's SIGN requests once: for each that decodes, has no
 * stored answer yet, names a root and a profile the root issues, it draws
 * the serial (a read of ca.db, on the main thread) and puts the request in
 * the pool's ring of slots; the checks (the CSR's signature included) and
 * the signature (ca_issue, which reads no database) run on the pool's
 * threads. airlock-signerd keeps up to SIGNER_AHEAD batches signing there
 * while the main thread records the batch before them and commits it
 * (fsync): the threads sign batch k+1 while batch k is committed and
 * answered. When the ordered pass comes to a batch it waits for the
 * batch's slots (signing those not yet started itself), and do_sign takes
 * the result waiting for its request (signer_pre_take) instead of signing
 * again; nothing else changes: the answer is recorded, audited and
 * committed where and when it was, and the commit alone releases answers,
 * so exactly-once and the group commit are as before. A result nobody
 * takes (a request id twice in the batch or answered by an earlier batch
 * meanwhile, a root paused by the clock check, a batch that fails) is
 * dropped unrecorded: a certificate exists only once committed. A serial
 * drawn ahead is checked against ca.db, which may not hold yet the serials
 * of the batches in front of it; two equal ones (2^-126) would meet the
 * unique key (root, serial) when the second is recorded: a 501, retried.
 *
 * Threads: one per online CPU (at most SIGNER_POOL_MAX: the main thread
 * mostly waits for fsync and SQLite meanwhile), none on one CPU or when a
 * root's key is on a PKCS#11 token (the engine is not known to sign from
 * several threads at once). They are started before the sandbox, and it
 * waits until each has run (a thread makes its first system calls,
 * set_robust_list and rseq, when it first runs), so the seccomp filter
 * (docs/hardening.md) allows none of clone, set_robust_list and rseq to
 * the signer; they wait on a condition variable (futex) while no slot
 * waits, block the signals the main thread handles, and exit at the stop.
 * The thread that signs the last slot of the oldest batch ahead writes to
 * an eventfd (made before the sandbox too), which the main thread polls
 * beside the FIFO: it wakes when there is work for it, never to look.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "castore.h"
#include "msg.h"
#include "signer.h"

#define SIGNER_POOL_MAX		8	/* threads besides the main one */
/* slots: the batch being recorded and the batches signed ahead */
#define SIGNER_SLOTS		((SIGNER_AHEAD + 1) * SIGNER_BATCH_MAX)

enum { PRE_WAITS, PRE_SIGNED, PRE_TAKEN };	/* a slot's state */

struct signer_pre {
	struct msg	 m;		/* the decoded request */
	int		 root;		/* index in cfg->roots */
	const struct cfg_profile *profile;
	uint8_t		 serial[SIGNER_SERIAL_LEN];
	int		 state;		/* PRE_* */
	int		 code;
	struct ca_issued issued;
	char		 why[512];
};

struct signer_ahead {
	const uint8_t	*first;		/* the batch's first request, to check */
	size_t		 n;		/* the order it is recorded in */
	uint64_t	 from, to;	/* its slots */
};

struct signer_pool {
	pthread_mutex_t	 mu;
	pthread_cond_t	 go, done;
	pthread_t	 th[SIGNER_POOL_MAX];
	int		 nthreads;
	int		 stop;
	int		 running;	/* threads that have started */
	struct signer	*s;
	struct signer_pre *pre;		/* a ring of SIGNER_SLOTS; slot i is
					 * pre[i % SIGNER_SLOTS] */
	uint64_t	 filled;	/* slots given to the threads */
	uint64_t	 next;		/* the next slot to sign */
	struct signer_ahead ahead[SIGNER_AHEAD];	/* oldest first */
	int		 nahead;
	uint64_t	 cur_from, cur_to;	/* the batch being recorded */
	int		 ready_fd;	/* eventfd: the oldest batch ahead is
					 * signed (signer_ahead_fd) */
};

static struct signer_pre *
slot(struct signer_pool *pl, uint64_t i)
{
	return &pl->pre[i % SIGNER_SLOTS];
}

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

/* Every slot of the batch signed? (the lock held) */
static int
pool_batch_signed(struct signer_pool *pl, const struct signer_ahead *a)
{
	uint64_t i;

	for (i = a->from; i < a->to; i++)
		if (slot(pl, i)->state != PRE_SIGNED)
			return 0;
	return 1;
}

/*
 * The main thread, polling the FIFO while the oldest batch is signed
 * (airlock-signerd's signerd_wait), wakes: once per batch, when its last
 * certificate is signed. Before, it looked every 2 ms, and each look took
 * a CPU from a signing thread: about 500 preemptions a second end to end.
 */
static void
pool_wake(struct signer_pool *pl)
{
	uint64_t one = 1;

	if (pl->ready_fd != -1 && write(pl->ready_fd, &one, sizeof(one)) == -1 &&
	    errno != EAGAIN)
		log_warn("signer: cannot wake the main thread");
}

/* Signs slot pl->next, then returns with the lock held again. */
static void
pool_sign_next(struct signer_pool *pl)
{
	uint64_t i = pl->next++;

	pthread_mutex_unlock(&pl->mu);
	pre_sign(pl->s, slot(pl, i));
	pthread_mutex_lock(&pl->mu);
	slot(pl, i)->state = PRE_SIGNED;
	pthread_cond_broadcast(&pl->done);
	if (pl->nahead > 0 && i >= pl->ahead[0].from && i < pl->ahead[0].to &&
	    pool_batch_signed(pl, &pl->ahead[0]))
		pool_wake(pl);
}

static void *
pool_thread(void *arg)
{
	struct signer_pool *pl = arg;
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
		while (!pl->stop && pl->next == pl->filled)
			pthread_cond_wait(&pl->go, &pl->mu);
		if (pl->stop)
			break;
		pool_sign_next(pl);
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

	want = cpus > 1 ? (int)cpus : 0;
	if (want > SIGNER_POOL_MAX)
		want = SIGNER_POOL_MAX;
	for (i = 0; i < s->cfg->nroots; i++)
		if (s->ca[i] != NULL && ca_key_on_token(s->ca[i]))
			want = 0;
	if ((pl = calloc(1, sizeof(*pl))) == NULL ||
	    (pl->pre = calloc(SIGNER_SLOTS, sizeof(*pl->pre))) == NULL) {
		free(pl);
		return -1;
	}
	pl->s = s;
	pl->ready_fd = want > 0 ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
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
	log_info("signing on %d thread%s (%ld CPUs%s)", pl->nthreads,
	    pl->nthreads == 1 ? "" : "s", cpus, want == 0 && cpus > 1 ?
	    ", a key on a token: the main thread signs" : "");
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
	for (i = 0; i < SIGNER_SLOTS; i++)
		buf_free(&pl->pre[i].issued.der);
	pthread_mutex_destroy(&pl->mu);
	pthread_cond_destroy(&pl->go);
	pthread_cond_destroy(&pl->done);
	if (pl->ready_fd != -1)
		close(pl->ready_fd);
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

	memset(p, 0, sizeof(*p));	/* a free slot holds no certificate */
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

int
signer_ahead_room(const struct signer *s)
{
	const struct signer_pool *pl = s->pool;

	return pl == NULL ? 1 : pl->nahead < SIGNER_AHEAD;
}

void
signer_batch_ahead(struct signer *s, const struct signer_req *r, size_t n)
{
	struct signer_pool *pl = s->pool;
	struct signer_ahead a;
	char why[256];
	size_t i;

	if (pl == NULL || n == 0)
		return;
	if (pl->nahead == SIGNER_AHEAD)
		fatalx("signer: more than %d batches ahead", SIGNER_AHEAD);
	a.first = r[0].p;
	a.n = n;
	a.from = a.to = pl->filled;
	/* the slots after pl->filled are the main thread's until published;
	 * none of them is still the batch being recorded (SIGNER_SLOTS) */
	if (pl->nthreads > 0 && !s->restoring &&
	    !signer_time_paused(s, why, sizeof(why)))
		for (i = 0; i < n && i < SIGNER_BATCH_MAX; i++)
			if (pre_take_request(s, &r[i], slot(pl, a.to)))
				a.to++;
	pthread_mutex_lock(&pl->mu);
	pl->ahead[pl->nahead++] = a;
	pl->filled = a.to;
	pthread_cond_broadcast(&pl->go);
	pthread_mutex_unlock(&pl->mu);
}

int
signer_ahead_fd(const struct signer *s)
{
	return s->pool == NULL ? -1 : s->pool->ready_fd;
}

void
signer_ahead_drain(const struct signer *s)
{
	uint64_t n;

	if (s->pool != NULL && s->pool->ready_fd != -1)
		(void)read(s->pool->ready_fd, &n, sizeof(n));
}

int
signer_ahead_ready(struct signer *s)
{
	struct signer_pool *pl = s->pool;
	uint64_t i;
	int ready = 1;

	if (pl == NULL)
		return 1;
	pthread_mutex_lock(&pl->mu);
	if (pl->nahead > 0)
		for (i = pl->ahead[0].from; i < pl->ahead[0].to && ready; i++)
			ready = slot(pl, i)->state == PRE_SIGNED;
	pthread_mutex_unlock(&pl->mu);
	return ready;
}

void
signer_pre_wait(struct signer *s, const struct signer_req *r, size_t n)
{
	struct signer_pool *pl = s->pool;
	struct signer_ahead a;
	uint64_t i;

	if (pl == NULL || n == 0)
		return;
	pthread_mutex_lock(&pl->mu);
	if (pl->nahead == 0 || pl->ahead[0].first != r[0].p ||
	    pl->ahead[0].n != n)
		fatalx("signer: a batch recorded out of the order it was "
		    "signed in");
	a = pl->ahead[0];
	memmove(&pl->ahead[0], &pl->ahead[1], --pl->nahead * sizeof(a));
	pl->cur_from = a.from;
	pl->cur_to = a.to;
	/* what no thread has started yet, this one signs */
	while (pl->next < a.to)
		pool_sign_next(pl);
	for (i = a.from; i < a.to; i++)
		while (slot(pl, i)->state != PRE_SIGNED)
			pthread_cond_wait(&pl->done, &pl->mu);
	pthread_mutex_unlock(&pl->mu);
}

int
signer_pre_take(struct signer *s, const struct msg *m, uint8_t *serial,
    struct ca_issued *issued, int *code, char *why, size_t whysz)
{
	struct signer_pool *pl = s->pool;
	struct signer_pre *p;
	uint64_t i;

	if (pl == NULL)
		return 0;
	for (i = pl->cur_from; i < pl->cur_to; i++) {
		p = slot(pl, i);
		/* the same request, not only the same id: its CSR is at the
		 * same place in the same batch buffer */
		if (p->state != PRE_SIGNED || memcmp(p->m.reqid, m->reqid,
		    AIRLOCK_REQID_LEN) != 0 || p->m.csr.p != m->csr.p ||
		    p->m.csr.len != m->csr.len)
			continue;
		p->state = PRE_TAKEN;	/* taken once */
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

int
signer_pre_all(const struct signer *s, size_t n)
{
	const struct signer_pool *pl = s->pool;

	return pl != NULL && n > 0 && pl->cur_to - pl->cur_from == n;
}

void
signer_pre_clear(struct signer *s)
{
	struct signer_pool *pl = s->pool;
	uint64_t i;

	if (pl == NULL)
		return;
	/* what nobody took was never issued */
	for (i = pl->cur_from; i < pl->cur_to; i++) {
		buf_free(&slot(pl, i)->issued.der);
		slot(pl, i)->state = PRE_WAITS;
	}
	pl->cur_from = pl->cur_to;
}
