/*
 * ctlbackup.h: airlockctl backup, backup --verify and restore
 * (src/ctl/ctlbackup.c, docs/operations.md).
 */
#ifndef CTLBACKUP_H
#define CTLBACKUP_H

struct cfg;

/* ctlbackup.c */
int	 ctlbackup_backup(const struct cfg *, int argc, char **argv);
int	 ctlbackup_restore(int argc, char **argv);	/* needs no configuration */

#endif
