/* db.h: private to the store modules: the SQLite handle and helpers. */
#ifndef DB_H
#define DB_H

#include <sqlite3.h>

#include "store.h"

struct db {
	sqlite3		*h;
	char		 path[4096];
};

int	 db_prepare(struct db *, sqlite3_stmt **, const char *sql);
int	 db_exec(struct db *, const char *sql);
int	 db_begin(struct db *);
int	 db_commit(struct db *);
void	 db_rollback(struct db *);
int	 db_step_done(struct db *, sqlite3_stmt *);	/* step, expect DONE, finalize */
int	 db_blob(sqlite3_stmt *, int col, struct buf *);

#endif
