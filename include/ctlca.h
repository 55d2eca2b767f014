/*
 * ctlca.h: airlockctl's commands for CA directories and the CA database
 * (docs/ca-layout.md): root init, root install-cert, roots, export-index,
 * import-openssl-ca. Each takes the command's arguments (argv[0] is the
 * command word) and returns the exit status: 0 ok, 1 failure, 2 usage.
 */
#ifndef CTLCA_H
#define CTLCA_H

#include <time.h>

#include "config.h"

/* ctlca.c */
int	 ctlca_root(int argc, char **argv);		/* root init | install-cert */
int	 ctlca_roots(const struct cfg *, int argc, char **argv);
int	 ctlca_export_index(const struct cfg *, int argc, char **argv);
int	 ctlca_import(const struct cfg *, int argc, char **argv);
/* ctlop.c: operator add|list, held, approve, deny (dual control) */
int	 ctlop_command(const struct cfg *, int argc, char **argv);
/* ctlroll.c */
struct db;
int	 ctlroll_rollover(const struct cfg *, int argc, char **argv);
void	 ctlroll_show(const struct cfg_root *, struct db *, time_t now);

#endif
