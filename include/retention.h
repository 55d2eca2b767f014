/*
 * retention.h: each daemon's pruning of its database (docs/architecture.md
 * section 3.5). linkd prunes delivered and failed requests from queue.db,
 * the signer the answers to CRL_FETCH from ca.db, the client answered
 * requests from outbox.db, each once shortly after start and then about
 * once an hour, in batches of RETENTION_BATCH rows and slices of at most
 * RETENTION_SLICE_MS, so that the daemon's loop is never held for long.
 * The prune commands of airlockctl and airlock-client run the same
 * batches to the end at once. An error is logged and tried again at the
 * next run; it never stops the daemon.
 */
#ifndef RETENTION_H
#define RETENTION_H

#include <stdint.h>
#include <time.h>

#include "store.h"

#define RETENTION_BATCH		500		/* rows per DELETE */
#define RETENTION_SLICE_MS	50		/* a daemon's loop is held at most */
#define RETENTION_FIRST_MS	(10 * 1000)	/* the first run after start */
#define RETENTION_EVERY_MS	(3600 * 1000)	/* then one an hour */

/* deletes at most max rows last changed before the Unix time before */
typedef int (*retention_fn)(struct db *, int64_t before, int max, int64_t *n);

struct retention {
	struct db	*db;
	retention_fn	 prune;
	const char	*db_name;	/* "queue.db", for the log */
	const char	*rows;		/* "delivered or failed requests" */
	uint32_t	 days;		/* 0: keep everything */
	uint64_t	 due_ms;	/* when the next run starts (monotonic) */
	int		 running;	/* a run goes on at the next tick */
	int64_t		 before;	/* its cut-off, Unix seconds */
	int64_t		 run_rows;	/* deleted so far by that run */
	uint64_t	 pruned;	/* rows deleted since start */
	uint64_t	 errors;	/* runs ended by an error since start */
};

/* retention.c */
void	 retention_init(struct retention *, struct db *, retention_fn,
	    const char *db_name, const char *rows, uint32_t days, uint64_t now_ms);
/* In a daemon's loop: when a run is due or going on, deletes batches for
 * at most RETENTION_SLICE_MS; 1 if the run goes on at the next call. */
int	 retention_tick(struct retention *, uint64_t now_ms);
/* The prune commands: a whole run now, with now as the clock. 0 and the
 * rows deleted in *n (also when the retention is 0: nothing), or -1. */
int	 retention_run(struct retention *, time_t now, int64_t *n);

#endif
