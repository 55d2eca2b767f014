/*
 * ca.h: the X.509 engine of the signer, the only place that includes the
 * OpenSSL X.509 headers. Loads a CA directory (docs/ca-layout.md),
 * validates requests against a profile and issues certificates in-process.
 * Every rejection returns an al_err code and a specific sentence in why.
 */
#ifndef CA_H
#define CA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "util.h"

struct ca;

struct ca_request {
	const uint8_t	*csr;		/* PKCS#10 DER or PEM, or SPKAC text */
	size_t		 csr_len;
	int		 format;	/* MSG_CSR_PKCS10 or MSG_CSR_SPKAC */
	uint32_t	 days;		/* 0: profile default */
	time_t		 now;		/* notBefore */
};

struct ca_issued {
	struct buf	 der;		/* certificate DER, owned by caller */
	time_t		 not_before;
	time_t		 not_after;
	char		 subject[512];	/* RFC 2253 one-line subject */
};

struct ca_root_params {
	const char	*dir;		/* created; must not exist or be empty */
	const char	*subject;	/* "/CN=.../O=..." */
	const char	*key_type;	/* "rsa:4096", "ec:P-384", "ec:P-256", "ed25519" */
	uint32_t	 days;
	const char	*parent_dir;	/* NULL: self-signed root; else issuing CA dir */
	const char	*parent_pass;	/* passphrase for parent key, or NULL */
	const char	*pass;		/* encrypt the new key with this, or NULL */
	int		 pathlen;	/* -1 none */
};

/* ca.c */
/* Loads DIR/ca.crt, DIR/chain.pem (optional) and the key (DIR/ca.key,
 * decrypted with the passphrase in root->pass_file, or DIR/key.uri for
 * PKCS#11). Checks key and certificate match. */
int	 ca_load(const struct cfg_root *, struct ca **, char *why, size_t whysz);
void	 ca_free(struct ca *);
/* Lets ca_load and ca_root_init ask on the console (no echo) for the
 * passphrase of an encrypted key, or a token PIN, when none is configured
 * and standard input is a terminal. Off by default. */
void	 ca_allow_prompt(int);
/* DER of the CA certificate followed by its chain, for CERT answers. */
const struct buf *ca_chain_der(const struct ca *);
time_t	 ca_not_after(const struct ca *);
/* Validation only: returns AL_OK or an AL_E_* code with why. */
int	 ca_check_request(const struct ca *, const struct cfg_profile *,
	    const struct ca_request *, char *why, size_t whysz);
/* Validate and issue with the given serial (positive, big-endian bytes). */
int	 ca_issue(struct ca *, const struct cfg_profile *, const struct ca_request *,
	    const uint8_t *serial, size_t serial_len, struct ca_issued *out,
	    char *why, size_t whysz);
/* Create a CA directory: key (0600, O_EXCL), ca.crt, chain.pem. */
int	 ca_root_init(const struct ca_root_params *, char *why, size_t whysz);

#endif
