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

#include "ipc.h"
#include "proc.h"
#include "signer.h"
#include "util.h"

static const char usage[] =
	"usage: airlock-signerd [-dv] [-c config]\n"
	"  -c FILE   configuration (default /etc/airlock/airlock.conf)\n"
	"  -d        stay in the foreground, log to stderr only\n"
	"  -v        more logging\n";

struct signerd {
	struct signer	 s;
	struct ipc_chan	 req, ans;
	char		 req_path[PATH_MAX], ans_path[PATH_MAX];
	struct buf	 answer;
};

static void
signerd_serve(struct signerd *d)
{
	const uint8_t *p;
	uint32_t type;
	size_t n;

	while (ipc_next(&d->req, &type, &p, &n) == 1) {
		if (type != IPC_REQUEST)
			fatalx("%s: record of type %u where a request belongs", d->req_path, type);
		signer_handle(&d->s, p, n, &d->answer);
		ipc_consume(&d->req);
		if (d->ans.fd == -1 || ipc_queue(&d->ans, IPC_ANSWER, d->answer.p,
		    d->answer.len) == -1)
			continue;	/* linkd will ask again; the answer is stored */
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
			if (ipc_fill(&d->req) == -1) {
				/* linkd has gone; a partial record dies with it */
				ipc_close(&d->req);
				if (ipc_open(&d->req) == -1)
					fatal("%s", d->req_path);
			}
			signerd_serve(d);
		}
		if (d->ans.fd != -1 && d->ans.out.len && ipc_flush(&d->ans) == -1) {
			log_warnx("linkd has gone; answers wait in the database");
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
	if (signer_init(&d.s, &c, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (ipc_make_fifos(c.run_dir, d.req_path, d.ans_path, sizeof(d.req_path)) == -1)
		fatal("%s: cannot create the FIFOs", c.run_dir);
	proc_drop(c.signer_user);
	ipc_init(&d.req, d.req_path, 1);
	ipc_init(&d.ans, d.ans_path, 0);
	buf_init(&d.answer);
	if (ipc_open(&d.req) == -1)
		fatal("%s", d.req_path);
	log_info("started: %d roots, database %s", c.nroots, c.ca_db);
	signerd_loop(&d);
	log_info("stopping: %llu requests, %llu issued, %llu rejected, %llu replayed",
	    (unsigned long long)d.s.st.requests, (unsigned long long)d.s.st.issued,
	    (unsigned long long)d.s.st.rejected, (unsigned long long)d.s.st.replayed);
	signer_free(&d.s);
	return 0;
}
