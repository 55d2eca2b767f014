/*
 * client_maint.h: airlock-client prune, backup and restore
 * (src/client/client_maint.c, docs/operations.md).
 */
#ifndef CLIENT_MAINT_H
#define CLIENT_MAINT_H

struct cfg;
struct db;

/* client_maint.c */
int	 client_prune_cmd(const struct cfg *, struct db *outbox);
int	 client_backup_cmd(const struct cfg *, int argc, char **argv);
int	 client_restore_cmd(int argc, char **argv);	/* needs no configuration */

#endif
