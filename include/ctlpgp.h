/*
 * ctlpgp.h: airlockctl's OpenPGP roots (ctlpgp.c).
 */
#ifndef CTLPGP_H
#define CTLPGP_H

#include "config.h"

int	 ctlpgp_root(int argc, char **argv);	/* pgp-root init | import */
int	 ctlpgp_roots(const struct cfg *);	/* the OpenPGP part of "roots" */

#endif
