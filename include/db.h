/* db.h: private to the store modules: the SQLite handle and helpers. */
#ifndef DB_H
#define DB_H

#include <sqlite3.h>

#include "store.h"

#define DB_CACHE	24	/* statements kept prepared per connection */

struct db {
	sqlite3		*h;
	char		 path[4096];
	int		 depth;		/* open db_begin levels; above 1 they are savepoints */
	int		 flat;		/* this transaction's inner levels: no savepoints */
	int		 doomed;	/* an inner level was rolled back while flat */
	int64_t		 begin_changes;	/* sqlite3_total_changes64 at the outer BEGIN */
	struct {
		const char	*sql;	/* a string literal: its address is the key */
		sqlite3_stmt	*st;
	}		 cache[DB_CACHE];
	int		 ncache;
};

int	 db_prepare(struct db *, sqlite3_stmt **, const char *sql);
int	 db_exec(struct db *, const char *sql);
/* Transactions nest: the outermost db_begin is BEGIN IMMEDIATE and its
 * db_commit makes everything durable; inner ones are savepoints, so a
 * function that commits its own writes can run inside a caller's
 * transaction (the signer's group commit) and still undo only its own. */
int	 db_begin(struct db *);
int	 db_commit(struct db *);
void	 db_rollback(struct db *);
/* Inside a transaction: its inner levels make no savepoints from now on
 * until it ends (a savepoint copies every page it changes first, SQLite's
 * sub-journal). An inner level rolled back then cannot be undone alone: the
 * transaction is doomed (db_doomed), and its db_commit rolls it back. */
int	 db_flat(struct db *);
int	 db_doomed(const struct db *);
int	 db_step_done(struct db *, sqlite3_stmt *);	/* step, expect DONE, finalize */
int	 db_blob(sqlite3_stmt *, int col, struct buf *);
/* The integer in the first column of a query's one row (NULL reads 0): 0, or -1. */
int	 db_int64(struct db *, const char *sql, int64_t *out);
/* For the statements of every request: prepared once per connection and
 * reused (sql must be a string literal). The statement comes back reset,
 * without bindings; never finalize it. db_step_reset steps it expecting
 * DONE and resets it. */
int	 db_cached(struct db *, sqlite3_stmt **, const char *sql);
int	 db_step_reset(struct db *, sqlite3_stmt *);
/* One batch of a prune: sql deletes at most ?2 rows older than ?1. Sets
 * *n to the rows deleted, and lets SQLite reuse or return their space. */
int	 db_prune(struct db *, const char *sql, int64_t before, int max, int64_t *n);

#endif
