/*
 * proc.h: process set-up shared by the daemons: options, logging,
 * privilege drop, signals.
 */
#ifndef PROC_H
#define PROC_H

#include <signal.h>

#include "config.h"

#define PROC_SIGNER_CONFIG	"/etc/airlock/airlock.conf"	/* the signer host's */
#define PROC_CLIENT_CONFIG	"/etc/airlock/airlock-client.conf" /* webdb's */

struct proc_opts {
	const char	*config;	/* -c, or PROC_SIGNER_CONFIG */
	int		 config_given;	/* -c was given */
	int		 foreground;	/* -d: log to stderr */
	int		 verbose;	/* -v */
	int		 check;		/* -n: test the configuration, exit */
};

extern volatile sig_atomic_t proc_quit;	/* set by SIGTERM / SIGINT */

/* proc.c */
/* Parses -c -d -v -h -n --version; prints usage and exits on -h or a bad
 * option, the version on --version.
 * Returns the index of the first non-option argument. */
int	 proc_options(int, char **, struct proc_opts *, const char *usage);
/* Loads the configuration or exits with the sentence; with -n prints its
 * warnings (config_warnings) and exits 0. */
void	 proc_config(const struct proc_opts *, struct cfg *, const char *ident);
void	 proc_signals(void);
/* No core file, not dumpable: before anything secret is read (the daemons
 * through proc_config; airlockctl and airlock-timesync call it first). */
void	 proc_nocore(void);
/* Switches to user (if we are root and user is set), no-new-privs, no core. */
void	 proc_drop(const char *user);
/* As root: becomes the owner of path (a daemon's state) if it is not root. */
void	 proc_as_owner(const char *path);
/* One instance per run_dir: RUN_DIR/NAME.lock, held by an fd kept open
 * until the process ends (given to user when started as root); exits
 * with "PATH: TAKEN (run_dir DIR)" when another process holds it. */
void	 proc_lock(const char *run_dir, const char *name, const char *user,
	    const char *taken);

#endif
