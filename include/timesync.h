/*
 * timesync.h: the signer host's clock against webdb's. The signer host has
 * no clock source but its own; webdb sends TIME samples over the link and
 * the signer records each with its own real and monotonic time at receipt
 * (timestore.c). drift.c turns a sample into the corrected time now:
 *
 *   webdb now = webdb time in the sample + round trip / 2
 *               + monotonic time elapsed since the signer received it
 *
 * and applies the policy of the configuration's time group: samples older
 * than max_sample_age, not received over the authenticated link, or from
 * before the last boot (the monotonic clock restarted) are refused; an
 * offset above warn_offset is warned about; above stop_offset (0: never)
 * signing pauses. Pure functions take the clocks as a struct so that tests
 * can run them on a fake clock.
 */
#ifndef TIMESYNC_H
#define TIMESYNC_H

#include <stddef.h>
#include <stdint.h>

#include "airlock.h"
#include "config.h"

#define DRIFT_BOOT_ID_LEN	40	/* /proc/sys/kernel/random/boot_id, with NUL */
#define DRIFT_NS		1000000000LL
/* webdb times outside these (2020-01-01, 2100-01-01) are not plausible */
#define DRIFT_TIME_MIN_NS	(1577836800LL * DRIFT_NS)
#define DRIFT_TIME_MAX_NS	(4102444800LL * DRIFT_NS)

struct time_sample {
	int64_t		 id;		/* row id, increasing */
	int		 has_reqid;
	uint8_t		 reqid[AIRLOCK_REQID_LEN];	/* of the TIME message */
	int64_t		 webdb_ns;	/* webdb's clock when it made the TIME */
	int64_t		 local_ns;	/* signer's CLOCK_REALTIME at receipt */
	int64_t		 mono_ns;	/* signer's CLOCK_BOOTTIME at receipt */
	char		 boot_id[DRIFT_BOOT_ID_LEN];	/* boot mono_ns belongs to */
	int		 sync;		/* enum msg_sync: webdb's NTP status */
	int64_t		 rtt_ns;	/* this exchange's round trip; -1 unknown */
	int64_t		 rtt_prev_ns;	/* the exchange before it; -1 unknown */
	int		 auth;		/* arrived over the authenticated link */
};

/* The host's clocks at one instant (or a fake one in tests). */
struct drift_clock {
	int64_t		 real_ns;	/* CLOCK_REALTIME */
	int64_t		 mono_ns;	/* CLOCK_BOOTTIME */
	char		 boot_id[DRIFT_BOOT_ID_LEN];
};

struct drift_policy {
	int64_t		 max_age_ns;	/* refuse older samples */
	int64_t		 warn_ns;	/* warn above this offset */
	int64_t		 stop_ns;	/* pause signing above this; 0 never */
	int64_t		 max_step_ns;	/* airlock-timesync: larger needs --force */
	int		 allow_unsync;	/* accept samples webdb marked unsynchronised */
	int		 allow_step;	/* accept any correction size */
};

enum drift_verdict {
	DRIFT_OK	= 0,	/* usable */
	DRIFT_NONE,		/* no sample */
	DRIFT_UNAUTH,		/* not received over the authenticated link */
	DRIFT_REBOOT,		/* from another boot: mono_ns is meaningless */
	DRIFT_FUTURE,		/* received "after now": bad row or clock */
	DRIFT_STALE,		/* older than max_age */
	DRIFT_UNSYNC,		/* webdb said its clock was not synchronised */
	DRIFT_IMPLAUSIBLE,	/* webdb's time is outside 2024..2100 */
	DRIFT_BIGSTEP,		/* correction larger than max_step */
};

struct drift_trend {
	int		 n;		/* samples used */
	double		 span_s;	/* time they cover */
	double		 ppm;		/* signer clock rate error, + gains */
};

/* drift.c */
int	 drift_clock_read(struct drift_clock *);
/* This host's NTP status from the kernel (adjtimex): enum msg_sync. */
int	 drift_ntp_status(void);
/* The test clock of airlock-timesync: "real=NS", "mono=NS", "boot_id=ID". */
int	 drift_clock_load(const char *path, struct drift_clock *, char *why,
	    size_t whysz);
void	 drift_policy_of(const struct cfg *, struct drift_policy *);
int64_t	 drift_rtt(const struct time_sample *);		/* best known, -1 none */
int64_t	 drift_webdb_now(const struct time_sample *, const struct drift_clock *);
int64_t	 drift_offset_now(const struct time_sample *, const struct drift_clock *);
int64_t	 drift_offset_at(const struct time_sample *);	/* at receipt */
/* DRIFT_OK or why not; a sentence in why. s may be NULL (DRIFT_NONE). */
int	 drift_check(const struct time_sample *, const struct drift_clock *,
	    const struct drift_policy *, char *why, size_t whysz);
/* Least squares over samples of ref's boot (any order). -1 too few. */
int	 drift_trend(const struct time_sample *, size_t n,
	    const struct time_sample *ref, struct drift_trend *);
int64_t	 drift_abs(int64_t);
/* "+1.234 s", "-0.012 s" */
char	*drift_fmt_offset(int64_t ns, char *out, size_t outsz);
/* "2026-11-22 06:30:37.123 UTC" */
char	*drift_fmt_time(int64_t ns, char *out, size_t outsz);
const char *drift_sync_name(int);

#endif
