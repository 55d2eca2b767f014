/*
 * state.c: what an airlock-client command may do to the client's state
 * (issue 16, item 4). `run` makes the state and spool folders and
 * outbox.db; the commands that queue something make outbox.db if it is
 * missing; the queries (status, result, wait, usb, crl --list) change
 * nothing and make nothing. Run as root, the client first becomes the
 * owner of its state folder, so that nothing it makes is root's and shuts
 * the daemon (user airlock-client) out.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outbox.h"
#include "proc.h"
#include "spool.h"
#include "state.h"
#include "util.h"

static int
state_is_query(const char *cmd, int argc, char **argv)
{
	static const char *const queries[] = { "result", "wait", "usb" };
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (strcmp(cmd, queries[i]) == 0)
			return 1;
	if (strcmp(cmd, "status") == 0 && argc == 1)
		return 1;
	return strcmp(cmd, "crl") == 0 && argc == 2 &&
	    strcmp(argv[1], "--list") == 0;
}

int
state_open(const struct cfg *c, const char *cmd, int argc, char **argv,
    struct db **db)
{
	char why[512];
	int n;

	*db = NULL;
	if (state_is_query(cmd, argc, argv)) {
		if (access(c->outbox_db, F_OK) == -1)
			return 0;	/* nothing queued yet: *db stays NULL */
		return outbox_open(c->outbox_db, DB_RO, db);
	}
	proc_as_owner(c->state_dir);
	if (mkdir(c->state_dir, 0700) == -1 && errno != EEXIST)
		fatal("%s", c->state_dir);
	if (strcmp(cmd, "run") == 0) {
		if (spool_mkdirs(c->spool_dir, why, sizeof(why)) == -1)
			fatalx("%s", why);
		if ((n = spool_batch_sweep(c->spool_dir)) > 0)
			log_info("%s: %d temporary result file%s of an interrupted "
			    "read removed", c->spool_dir, n, n == 1 ? "" : "s");
	}
	return outbox_open(c->outbox_db, DB_RW, db);
}
