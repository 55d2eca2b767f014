/*
 * pgp_root.h: OpenPGP root directories, in the CA engine (src/ca/pgp_root.c):
 * create, import, load (docs/ca-layout.md, "OpenPGP roots").
 */
#ifndef PGP_ROOT_H
#define PGP_ROOT_H

#include "pgp.h"

/* pgp_root.c */
struct pgp_root_params {
	const char	*dir;
	const char	*alg;		/* "ed25519" or "rsa4096" */
	const char	*uid;
	const char	*pass;		/* NULL: the key is stored in clear */
	const char	*import;	/* a secret key file to import, or NULL */
	const char	*import_pass;	/* its passphrase */
	time_t		 now;
};
int	 pgp_root_init(const struct pgp_root_params *, char fpr[41], char *why, size_t whysz);
/* Loads DIR/pgp.pub and DIR/pgp.key (pass: the passphrase or NULL). */
int	 pgp_root_load(const char *dir, const char *pass, struct pgp_root **,
	    char *why, size_t whysz);
/* Loads only the public key (airlockctl roots). */
int	 pgp_root_load_public(const char *dir, struct pgp_root **, char *why, size_t whysz);
void	 pgp_root_free(struct pgp_root *);
/* A configured root: the passphrase from pass_file, or asked for on the
 * console when there is none and the key is encrypted. */
int	 pgp_root_open(const char *name, const char *dir, const char *pass_file,
	    struct pgp_root **, char *why, size_t whysz);
int	 pgp_read_pass(const char *path, char *pass, size_t passsz, char *why,
	    size_t whysz);

#endif
