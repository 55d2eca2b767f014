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

/* db.c */
int	 db_open(const char *path, int readonly, const char *schema, struct db **);
void	 db_close(struct db *);
int	 db_integrity_ok(struct db *);		/* PRAGMA integrity_check */
const char *db_last_error(struct db *);
/* A consistent copy of the database src (which may be in use) in the new
 * file dst, without a WAL: 0, or -1 and a sentence in why. */
int	 db_snapshot(const char *src, const char *dst, char *why, size_t whysz);

#endif
