/*
 * health.h: a daemon's last storage error, kept in a small file in the
 * runtime directory (run_dir/NAME.health) so that the operator sees it in
 * `airlockctl status` while the daemon keeps running and retrying. The
 * file exists only while the error lasts: the next durable write removes
 * it. A full disk, an I/O error or a database that cannot be opened for
 * writing are storage errors; a constraint violation is not.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include <stdint.h>
#include <stdio.h>

/* health.c */
/* Names this process (a stale file of an earlier run is removed). Until
 * then the other calls do nothing. */
void	 health_init(const char *run_dir, const char *name);
/* what: "path: sentence". Logged by the caller; written here, at most
 * once a second while it does not change. */
void	 health_error(const char *what);
/* 1 while a storage error lasts */
int	 health_failing(void);
/*
 * While a storage error lasts, the lines about it are rate-limited (a full
 * disk fails every write, several a second): 1 if the caller logs its line
 * now (the error's first, then one per 10 s), with *held the lines held back
 * since the last one; 0 if it holds this one back.
 */
int	 health_log_now(uint64_t *held);
/* A durable write succeeded: the error, if any, is over. */
void	 health_ok(void);
/* Prints one line per daemon with a storage error; returns how many. */
int	 health_show(const char *run_dir, FILE *out);

#endif
