/*
 * state.h: airlock-client's state (src/client/state.c), private to
 * src/client/.
 */
#ifndef STATE_H
#define STATE_H

#include "config.h"

struct db;

/* Opens outbox.db for the command cmd (its argc, argv), making state only
 * for the commands that write (see state.c): 0, or -1. A query with no
 * outbox.db yet gets 0 and *db NULL. */
int	 state_open(const struct cfg *, const char *cmd, int argc, char **argv,
	    struct db **db);

#endif
