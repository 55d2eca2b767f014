/*
 * pgp_client.h: airlock-client's OpenPGP requests (src/client/pgp_client.c):
 * spool files, the pgp-certify command, verifying and merging answers.
 */
#ifndef PGP_CLIENT_H
#define PGP_CLIENT_H

#include <stdio.h>

#include "pgp.h"

/* pgp_client.c: airlock-client's spool files, command and answers */
struct db;
struct msg;
struct pgp_spool {
	char		 root[64], profile[64];
	uint32_t	 days;
	char		 emails[4096];	/* one address per line */
	size_t		 emailslen;
	const uint8_t	*key;		/* points into the file */
	size_t		 keylen;
	uint8_t		 reqid[16];
	int		 have_id;
};
int	 pgp_spool_is(const struct buf *);	/* starts with "type=pgp" */
int	 pgp_spool_parse(const struct buf *, struct pgp_spool *, char *why, size_t whysz);
int	 pgp_spool_msg(const struct pgp_spool *, struct buf *);
int	 pgp_client_command(struct db *outbox, int argc, char **argv);
int	 pgp_client_merge(const char *state_dir, struct db *outbox, const struct msg *,
	    struct buf *out, char *why, size_t whysz);
/* `result`: the merged key to f; 0, or 1 with error 500 and why on stderr */
int	 pgp_client_print(const char *state_dir, struct db *outbox,
	    const struct msg *, FILE *f);

#endif
