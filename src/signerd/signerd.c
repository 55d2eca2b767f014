/*
 * signerd.c: airlock-signerd, the only process that reads CA keys. It never
 * touches the cable: requests arrive from airlock-linkd through the FIFO
 * signer.req and answers leave through signer.ans. Keys are loaded before
 * privileges are dropped; a CA directory that does not load stops the
 * signer at start with a sentence naming the file.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca.h"
#include "crypto.h"
#include "health.h"
#include "ipc.h"
#include "msg.h"
#include "proc.h"
#include "retention.h"
#include "sandbox.h"
#include "castore.h"
#include "signer.h"
#include "util.h"

static const char usage[] =
	"usage: airlock-signerd [-dvn] [-c config] | --version\n"
	"  -c FILE   configuration (default /etc/airlock/airlock.conf)\n"
	"  -d        stay in the foreground, log to stderr only\n"
	"  -v        more logging\n"
	"  -n        check the configuration and exit\n";

#define SIGNERD_MAX_PENDING	(16u << 20)	/* answers waiting for linkd */
#define SIGNERD_SETS		(SIGNER_AHEAD + 1)	/* batches in the pipeline */
/* the longest wait for the threads without a look at the FIFO: they wake
 * the main thread when the oldest batch is signed (signer_ahead_fd), so
 * this is only a bound, not a period (it was 2 ms, polled) */
#define SIGNERD_WAIT_MS		500

/* One batch in the pipeline: its requests' bytes stay here until it is
 * committed (the signing threads read them meanwhile). */
struct signerd_batch {
	struct buf	 req[SIGNER_BATCH_MAX];	/* copies of the requests */
	struct signer_req r[SIGNER_BATCH_MAX];
	size_t		 n;
};

struct signerd {
	struct signer	 s;
	struct ipc_chan	 req, ans;
	char		 req_path[PATH_MAX], ans_path[PATH_MAX];
	struct signerd_batch set[SIGNERD_SETS];	/* a ring */
	unsigned	 head;		/* the oldest batch not yet committed */
	unsigned	 nsets;		/* batches in the ring */
	int		 recorded;	/* the oldest is recorded, not committed */
	struct buf	 answer[SIGNER_BATCH_MAX];
	struct retention ret;		/* pruning of CRL answers in ca.db */
};

static void
signerd_answer(struct signerd *d, const struct buf *answer)
{
	char id[33] = "?";

	if (answer->len >= MSG_HDR_LEN)
		reqid_hex(answer->p + 2, id);	/* version, type, request id */
	/* linkd may be opening its end right now: keep the answer for it */
	if (d->ans.fd == -1)
		ipc_open(&d->ans);
	if (d->ans.out.len > SIGNERD_MAX_PENDING || ipc_queue(&d->ans,
	    IPC_ANSWER, answer->p, answer->len) == -1)
		log_warnx("req=%s answer dropped; it is stored and linkd will ask "
		    "again", id);
}

/* Takes every whole request record there is, up to a batch. */
static size_t
signerd_take(struct signerd *d, struct signerd_batch *b)
{
	const uint8_t *p;
	uint32_t type;
	size_t n, k = 0;
	char line[IPC_LOG_MAX + 1];

	while (k < SIGNER_BATCH_MAX && ipc_next(&d->req, &type, &p, &n) == 1) {
		if (type == IPC_LOG) {
			/* linkd's warning for the audit chain: text, bounded */
			if (n > IPC_LOG_MAX || !utf8_text_ok(p, n))
				fatalx("%s: a log record that is not a line of text", d->req_path);
			snprintf(line, sizeof(line), "%.*s", (int)n, (const char *)p);
			signer_record_warning(&d->s, "airlock-linkd", line, mono_ms());
			ipc_consume(&d->req);
			continue;
		}
		if (type != IPC_REQUEST)
			fatalx("%s: record of type %u where a request belongs", d->req_path, type);
		buf_reset(&b->req[k]);
		if (buf_put(&b->req[k], p, n) == -1)
			fatalx("signer: out of memory");
		ipc_consume(&d->req);
		b->r[k].p = b->req[k].p;
		b->r[k].len = n;
		k++;
	}
	b->n = k;
	return k;
}

/* Reads what linkd has written; linkd gone: its partial record with it. */
static void
signerd_read(struct signerd *d)
{
	if (ipc_fill(&d->req) == -1) {
		ipc_close(&d->req);
		if (ipc_open(&d->req) == -1)
			fatal("%s", d->req_path);
	}
}

/* A new batch from the FIFO, if there is room; it starts signing. */
static void
signerd_more(struct signerd *d)
{
	struct signerd_batch *b;

	/* stopping: the batches taken are finished, no new one is started
	 * (under a steady stream the pipeline would never run dry) */
	if (proc_quit || d->nsets == SIGNERD_SETS || !signer_ahead_room(&d->s))
		return;
	b = &d->set[(d->head + d->nsets) % SIGNERD_SETS];
	if (signerd_take(d, b) == 0)
		return;
	signer_batch_ahead(&d->s, b->r, b->n);
	d->nsets++;
}

/* The oldest batch is durable: its answers go. */
static void
signerd_commit(struct signerd *d)
{
	struct signerd_batch *b = &d->set[d->head];
	size_t i;

	signer_batch_commit(&d->s, b->r, b->n, d->answer);
	for (i = 0; i < b->n; i++)
		signerd_answer(d, &d->answer[i]);
	if (d->ans.fd != -1 && d->ans.out.len > 0 && ipc_flush(&d->ans) == -1) {
		log_warnx("linkd has gone; %zu bytes of answers wait in the "
		    "database", d->ans.out.len);
		ipc_close(&d->ans);
	}
	d->head = (d->head + 1) % SIGNERD_SETS;
	d->nsets--;
	d->recorded = 0;
}

/*
 * Until the threads have signed the oldest batch, the main thread reads
 * the FIFO and starts the batches behind it: the FIFO holds 64 KiB, and
 * linkd's next requests would otherwise wait until this batch is done.
 */
static void
signerd_wait(struct signerd *d)
{
	struct pollfd pfd[2];

	signerd_read(d);
	signerd_more(d);
	while (!signer_ahead_ready(&d->s)) {
		pfd[0].fd = d->req.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = signer_ahead_fd(&d->s);
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, SIGNERD_WAIT_MS) > 0) {
			if (pfd[1].revents & POLLIN)
				signer_ahead_drain(&d->s);
			if (pfd[0].revents != 0)
				signerd_read(d);
		}
		signerd_more(d);
	}
}

/*
 * Group commit, pipelined: one durable transaction per batch, then all its
 * answers. While batch k is recorded and committed, batches k+1 and k+2 are
 * being signed on the pool's threads (signer_pool.c); new requests are
 * read between the steps. Returns with every batch committed: no
 * transaction stays open across the poll.
 */
static void
signerd_serve(struct signerd *d)
{
	signerd_more(d);
	while (d->nsets > 0) {
		signerd_more(d);		/* signs during the commit below */
		if (d->recorded)
			signerd_commit(d);
		if (d->nsets == 0)
			break;
		signerd_wait(d);
		signer_batch_record(&d->s, d->set[d->head].r, d->set[d->head].n,
		    d->answer);
		d->recorded = 1;
	}
}

static void
signerd_loop(struct signerd *d)
{
	struct pollfd pfd[2];
	int r;

	while (!proc_quit) {
		if (d->ans.fd == -1 && ipc_open(&d->ans) == 0)
			log_info("connected to linkd");
		pfd[0].fd = d->req.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = d->ans.fd;
		pfd[1].events = d->ans.out.len ? POLLOUT : 0;
		if ((r = poll(pfd, 2, d->ans.fd == -1 ? 200 : 1000)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & (POLLIN | POLLHUP)) {
			signerd_read(d);
			signerd_serve(d);
		}
		/* between batches: no transaction of the signer is open */
		retention_tick(&d->ret, mono_ms());
		signer_record_tick(&d->s, mono_ms());
		/* POLLERR: the reading end has closed (poll reports it even
		 * with no events asked for, so it must end the FIFO, not spin) */
		if (d->ans.fd != -1 && ((pfd[1].revents & POLLERR) ||
		    (d->ans.out.len && ipc_flush(&d->ans) == -1))) {
			/* a warning only when answers were waiting (they stay in
			 * ca.db); linkd stopping between answers is routine */
			if (d->ans.out.len > 0)
				log_warnx("linkd has gone; %zu bytes of answers wait in "
				    "the database", d->ans.out.len);
			else
				log_info("linkd has gone");
			ipc_close(&d->ans);
		}
	}
}

int
main(int argc, char **argv)
{
	struct proc_opts o;
	static struct cfg c;
	static struct signerd d;
	char why[1024];

	if (proc_options(argc, argv, &o, usage) != argc) {
		fputs(usage, stderr);
		return 2;
	}
	proc_config(&o, &c, "airlock-signerd");
	proc_signals();
	ca_allow_prompt(1);	/* encrypted key, no pass_file, started on a console */
	crypto_lock_keys();
	if (signer_load_keys(&d.s, &c, why, sizeof(why)) == -1) {
		if (proc_quit) {	/* SIGTERM or SIGINT at the passphrase prompt */
			log_info("stopped by a signal before the keys were loaded");
			return 0;
		}
		fatalx("%s", why);
	}
	if (ipc_make_fifos(c.run_dir, d.req_path, d.ans_path, sizeof(d.req_path)) == -1)
		fatal("%s: cannot create the FIFOs", c.run_dir);
	proc_drop(c.signer_user);
	if (signer_open_db(&d.s, why, sizeof(why)) == -1)
		fatalx("%s", why);
	/* the files of the integrity report are opened before the sandbox */
	if (signer_record_start(&d.s, o.config) == -1)
		fatalx("signer: out of memory");
	/* the signing threads before the filter, which allows no clone */
	if (signer_pool_start(&d.s) == -1)
		log_warnx("signer: no memory for signing threads; one thread signs");
	sandbox_enter("signer", &c);
	health_init(c.run_dir, "signer");
	ipc_init(&d.req, d.req_path, 1);
	ipc_init(&d.ans, d.ans_path, 0);
	if (ipc_open(&d.req) == -1)
		fatal("%s", d.req_path);
	retention_init(&d.ret, d.s.db, castore_prune, "ca.db", "CRL answers",
	    c.signer_retention_days, mono_ms());
	log_info("started: %d roots, database %s", c.nroots, c.ca_db);
	signerd_loop(&d);
	/* the request FIFO first and at once: linkd, seeing the answer FIFO
	 * close, must find no reader and not hand requests to a signer that is
	 * still freeing its keys (t_console saw them marked handed) */
	ipc_close(&d.req);
	ipc_close(&d.ans);
	log_info("stopping: %llu requests, %llu issued, %llu rejected, %llu replayed, "
	    "%llu storage errors, %llu batches recorded again, %llu CRL answers "
	    "pruned", (unsigned long long)d.s.st.requests,
	    (unsigned long long)d.s.st.issued, (unsigned long long)d.s.st.rejected,
	    (unsigned long long)d.s.st.replayed,
	    (unsigned long long)d.s.st.storage_errors,
	    (unsigned long long)d.s.st.batches_again, (unsigned long long)d.ret.pruned);
	signer_record_stop(&d.s);
	signer_pool_stop(&d.s);
	signer_free(&d.s);
	return 0;
}
