/*
 * ctlcrl.h: airlockctl's revocation commands (src/ctl/ctlcrl.c). Each takes the
 * command's arguments (argv[0] is the command word) and returns the exit
 * status: 0 ok, 1 failure, 2 usage.
 */
#ifndef CTLCRL_H
#define CTLCRL_H

#include "config.h"

/* ctlcrl.c */
int	 ctlcrl_revoke(const struct cfg *, int argc, char **argv);	/* revoke ROOT SERIAL */
int	 ctlcrl_list(const struct cfg *, int argc, char **argv);	/* crl [ROOT] */

#endif
