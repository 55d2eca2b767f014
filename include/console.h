/*
 * console.h: the operator's commands of airlockctl on the signer host
 * (console.c) and its full-screen view (top.c). Output is plain text that
 * fits an 80x24 serial console and reads well without colour. Exit codes,
 * the same for every command: 0 ok, 1 failure or refused, 2 usage,
 * 3 a warning that --check asked about, 4 the audit chain is broken.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdint.h>
#include <time.h>

#include "config.h"
#include "queue.h"
#include "store.h"
#include "timesync.h"

enum {
	CONSOLE_OK	= 0,
	CONSOLE_FAIL	= 1,
	CONSOLE_USAGE	= 2,
	CONSOLE_WARN	= 3,	/* time --check: the clock needs attention */
	CONSOLE_BROKEN	= 4,	/* audit verify: tampering found */
};

/* linkd's status file (transport_publish), as far as the console needs it. */
struct console_link {
	int		 known;		/* the file was read */
	long long	 age;		/* seconds since linkd wrote it */
	long long	 pid;
	char		 state[16];	/* link state: down, hello, up */
	char		 cable[16];	/* open, closed */
	char		 transport[16];
	unsigned long long sessions, frames_in, frames_out, retransmits;
	unsigned long long bad_crc, bad_mac, msgs_in, msgs_out;
	int		 srtt_ms;
};

/* Everything `status` and `top` show, read in one go. */
struct console_snap {
	time_t		 now;
	struct console_link link;
	int		 queue_ok;
	int64_t		 n[Q_NSTATES];
	int64_t		 oldest;		/* oldest pending, Unix time; 0 none */
	int64_t		 rate_1m, rate_10m, rate_1h;	/* requests received */
	int		 ca_ok;
	int64_t		 certs;
	int		 time_ok;		/* a sample was read */
	struct time_sample sample;
	struct drift_clock clock;
	int		 verdict;		/* enum drift_verdict */
	char		 time_why[256];
	int64_t		 offset_ns;		/* signer minus webdb */
	int		 offset_now;		/* ... now; 0: at the sample */
	int		 trend_ok;
	struct drift_trend trend;
	int		 time_warn;		/* the clock needs attention */
	int		 audit_ok;
	int64_t		 audit_seq;
};

/* The databases, read-only; either may be NULL when it cannot be opened. */
struct console {
	const struct cfg *cfg;
	struct db	*q, *ca;
};

/* console.c */
void	 console_open(struct console *, const struct cfg *);
void	 console_close(struct console *);
void	 console_snap(struct console *, struct console_snap *);
int	 console_link_read(const char *path, struct console_link *);
/* "2026-11-22 06:40:12 UTC" */
const char *console_stamp(time_t, char *out, size_t outsz);
/* "12s", "5m", "3h", "2d"; "-" for a negative age */
const char *console_age(int64_t seconds, char *out, size_t outsz);
int	 console_status(const struct cfg *, int, char **);
int	 console_queue(const struct cfg *, int, char **);
int	 console_show(const struct cfg *, int, char **);
int	 console_retry(const struct cfg *, int, char **);
int	 console_reject(const struct cfg *, int, char **);
int	 console_prune(const struct cfg *, int, char **);
int	 console_certs(const struct cfg *, int, char **);
int	 console_time(const struct cfg *, int, char **);
/* console_json.c: `--json` for status, queue, crl, time and roots */
int	 console_json(const struct cfg *, int, char **);

/* console.c, for console_ops.c */
const char *console_date(int64_t, char *out, size_t outsz);
void	 console_parse_id(const char *hex, uint8_t reqid[AIRLOCK_REQID_LEN]);

/* console_audit.c */
/* audit verify | tail | export; cfg is NULL for verify --file */
int	 console_audit(const struct cfg *, int, char **);
/* s in lines of at most width columns, each after indent spaces */

/* top.c (airlockctl only: it links ncurses) */
int	 top_run(const struct cfg *, int, char **);

#endif
