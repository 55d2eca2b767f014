/*
 * store.h: opening the SQLite databases. queue.db belongs to airlock-linkd
 * (queue.h), ca.db to airlock-signerd (castore.h), outbox.db to
 * airlock-client (outbox.h). Each is opened in
 * WAL mode with synchronous=FULL: a function that returns 0 after a write
 * has committed it durably, and only then may the caller acknowledge.
 * Only the store modules (db.c, queue.c, castore.c, outbox.c) include
 * sqlite3.h. Functions return 0 / -1 (errors are logged) unless noted.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>
#include <time.h>

#include "airlock.h"
#include "util.h"

struct db;

/* How a database is opened: the daemon that owns it creates it; the
 * operator's commands and the queries never do (a file made by root would
 * lock its daemon out; issue 16, items 4). */
#define DB_RW		0	/* read-write, created if missing (its daemon) */
#define DB_RO		1	/* read-only; it must exist */
#define DB_RW_EXISTING	2	/* read-write; it must exist */

/* db.c */
int	 db_open(const char *path, int mode, const char *schema, struct db **);
/* db_open, and a new file gets pages of page_size bytes (0: SQLite's). */
int	 db_open_paged(const char *path, int mode, const char *schema,
	    int page_size, struct db **);
/* db_open with a page cache of up to 16 MiB (queue.db, outbox.db) */
int	 db_open_busy(const char *path, int mode, const char *schema, struct db **);
void	 db_close(struct db *);
int	 db_integrity_ok(struct db *);		/* PRAGMA integrity_check */
int	 db_quick_ok(struct db *, char *why, size_t whysz);	/* PRAGMA quick_check */
const char *db_last_error(struct db *);
/* PRAGMA wal_checkpoint(TRUNCATE): the WAL into the database, and emptied;
 * 0, or -1 (not logged, not a health error: nothing is lost) */
int	 db_checkpoint(struct db *);
/* A consistent copy of the database src (which may be in use) in the new
 * file dst, without a WAL: 0, or -1 and a sentence in why. */
int	 db_snapshot(const char *src, const char *dst, char *why, size_t whysz);

#endif
