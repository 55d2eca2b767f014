/*
 * ocspd.c: airlock-ocspd, the OCSP responder on the webdb host
 * (docs/ocsp.md, airlock-ocspd(8)). It reads the ocsp group of webdb's
 * configuration, loads each root's CA certificate and responder key,
 * listens (the HTTP threads of http.c answer from then on), drops to its
 * user, enters its seccomp allow-list, and then loops: every ocsp.refresh
 * seconds look at the CRL files, the outbox, the index files and the
 * responder certificates and write its status to cache_dir/ocspd.status,
 * then take the next step of each certificate's renewal (renew.c: keys
 * and files, without the lock), and in between sign responses ahead of
 * time (each picked and cached under the responder's lock, signed outside
 * it), sleeping when there is nothing to sign. SIGHUP makes the next look
 * happen now, and a failed renewal try again. Only this thread takes
 * signals: the HTTP threads are started with all of them blocked but
 * those of a fault (SIGSYS: the sandbox names a system call it refused).
 * `airlock-ocspd status` prints the status file in words and exits.
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ocspd.h"
#include "proc.h"
#include "sandbox.h"

static volatile sig_atomic_t ocspd_hup;

static void
ocspd_on_hup(int sig)
{
	(void)sig;
	ocspd_hup = 1;
}

int
main(int argc, char **argv)
{
	static struct cfg c;
	static struct ocspd o;
	struct proc_opts po;
	struct sigaction sa;
	struct timespec nap;
	sigset_t all, mask;
	struct http *h;
	int64_t now, next = 0;
	struct ocspd_presign_job job;
	struct buf der, st;
	long cpus;
	unsigned nthreads;
	int busy, signed_ok, looked, i;

	i = proc_options(argc, argv, &po, "usage: airlock-ocspd [-dv] [-c config] [status]");
	if (i < argc && (strcmp(argv[i], "status") != 0 || i + 1 < argc)) {
		fprintf(stderr, "airlock-ocspd: unknown command \"%s\" (usage: "
		    "airlock-ocspd [-dv] [-c config] [status])\n", argv[i]);
		return 2;
	}
	if (i < argc)
		po.foreground = 1;	/* a command: its errors on stderr */
	proc_config(&po, &c, "airlock-ocspd");
	if (i < argc)
		return ocspd_status_print(&c, time(NULL)) == 0 ? 0 : 1;
	if (c.ocsp.nroots == 0)
		fatalx("%s: no ocsp.roots: nothing to answer for", c.path);
	if (ocspd_init(&o, &c) == -1)
		fatalx("cannot start");
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	nthreads = c.ocsp.threads ? c.ocsp.threads : cpus > 0 ? (unsigned)cpus : 1u;
	sigfillset(&all);	/* not those a fault raises in the thread itself */
	sigdelset(&all, SIGSYS), sigdelset(&all, SIGSEGV), sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE), sigdelset(&all, SIGILL), sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &mask);
	h = http_start(&o, c.ocsp.listen, c.ocsp.port, c.ocsp.max_request, nthreads);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (h == NULL)
		fatalx("cannot start the HTTP server");
	proc_signals();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ocspd_on_hup;
	sigaction(SIGHUP, &sa, NULL);
	proc_drop(c.ocsp.user);
	/* its only writable place (systemd's CacheDirectory= makes it when
	 * installed); made here when run by hand, as the user it runs as */
	if (mkdir(c.ocsp.cache_dir, 0755) == -1 && errno != EEXIST)
		fatal("ocsp.cache_dir %s cannot be made (it must be writable by the "
		    "user airlock-ocspd runs as)", c.ocsp.cache_dir);
	sandbox_enter("ocspd", &c);
	buf_init(&der);
	buf_init(&st);
	log_info("listening on %s port %d for %d root(s), %u thread(s)", c.ocsp.listen,
	    c.ocsp.port, o.n, nthreads);
	while (!proc_quit) {
		now = time(NULL);
		looked = 0;
		pthread_mutex_lock(&o.lock);
		if (now >= next || ocspd_hup) {
			if (ocspd_hup)
				ocspd_renew_retry_now(&o);
			ocspd_hup = 0;
			ocspd_refresh(&o, now);
			ocspd_status_text(&o, now, &st);
			next = now + c.ocsp.refresh;
			looked = 1;
		}
		busy = ocspd_presign_pick(&o, now, &job);
		pthread_mutex_unlock(&o.lock);
		if (looked) {
			ocspd_status_write(&c, &st);
			if (ocspd_renew(&o, now))
				next = 0;	/* a new certificate: take it now */
		}
		if (busy) {	/* the signature outside the lock */
			signed_ok = ocspd_presign_sign(&o, &job, &der) == 0;
			pthread_mutex_lock(&o.lock);
			ocspd_presign_put(&o, &job, signed_ok, &der);
			pthread_mutex_unlock(&o.lock);
		}
		if (!busy) {	/* a signal cuts the nap short */
			nap.tv_sec = 0;
			nap.tv_nsec = 250 * 1000000L;
			(void)nanosleep(&nap, NULL);
		}
	}
	http_stop(h);
	buf_free(&der);
	ocspd_status_text(&o, time(NULL), &st);
	ocspd_status_write(&c, &st);
	buf_free(&st);
	ocspd_free(&o);
	log_info("stopped");
	return 0;
}
