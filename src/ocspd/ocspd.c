/*
 * ocspd.c: airlock-ocspd, the OCSP responder on the webdb host
 * (docs/ocsp.md, airlock-ocspd(8)). It reads the ocsp group of webdb's
 * configuration, loads each root's CA certificate and responder key,
 * listens, drops to its user, enters its seccomp allow-list, and then
 * loops: serve HTTP for a second, and every ocsp.refresh seconds look at
 * the CRL files, the outbox and the index files, and write its counters
 * to cache_dir/ocspd.status. SIGHUP makes the next look happen now.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ocspd.h"
#include "proc.h"
#include "sandbox.h"

#define OCSPD_PRESIGN_BATCH	16	/* signatures between two looks at HTTP */

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
	struct http *h;
	int64_t now, next = 0;
	int busy;

	proc_options(argc, argv, &po, "usage: airlock-ocspd [-dv] [-c config]");
	proc_config(&po, &c, "airlock-ocspd");
	if (c.ocsp.nroots == 0)
		fatalx("%s: no ocsp.roots: nothing to answer for", c.path);
	if (ocspd_init(&o, &c) == -1)
		fatalx("cannot start");
	if ((h = http_start(&o, c.ocsp.listen, c.ocsp.port, c.ocsp.max_request)) == NULL)
		fatalx("cannot start the HTTP server");
	proc_signals();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ocspd_on_hup;
	sigaction(SIGHUP, &sa, NULL);
	proc_drop(c.ocsp.user);
	sandbox_enter("ocspd", &c);
	log_info("listening on %s port %d for %d root(s)", c.ocsp.listen, c.ocsp.port,
	    o.n);
	while (!proc_quit) {
		now = time(NULL);
		if (now >= next || ocspd_hup) {
			ocspd_hup = 0;
			ocspd_refresh(&o, now);
			ocspd_status_write(&o);
			next = now + c.ocsp.refresh;
		}
		/* presign in small batches between requests */
		busy = ocspd_presign(&o, now, OCSPD_PRESIGN_BATCH);
		http_run(h, busy ? 0 : 1000);
	}
	ocspd_status_write(&o);
	http_stop(h);
	ocspd_free(&o);
	log_info("stopped");
	return 0;
}
