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
struct psl;

struct ca_request {
	const uint8_t	*csr;		/* PKCS#10 DER or PEM, or SPKAC text */
	size_t		 csr_len;
	int		 format;	/* MSG_CSR_PKCS10 or MSG_CSR_SPKAC */
	uint32_t	 days;		/* 0: profile default */
	time_t		 now;		/* notBefore */
	const struct psl *psl;		/* public suffixes; NULL: only "*" (psl.h) */
	const uint8_t	*subject;	/* "/CN=..." replacing the request's, or NULL */
	size_t		 subject_len;
	const uint8_t	*san;		/* "DNS:a,email:b" replacing it, or NULL */
	size_t		 san_len;
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
	const char	*key_uri;	/* a key already on a PKCS#11 token, or NULL */
	const char	*module;	/* PKCS#11 module for key_uri, or NULL */
	const char	*pin;		/* token PIN for key_uri, or NULL */
	int		 csr_only;	/* write ca.csr for an offline parent, no ca.crt */
	struct ca	*link_from;	/* self-signed rollover: the old key certifies
					 * the new one in link.crt; or NULL */
};

/* One certificate as airlockctl's import and export need it. */
struct ca_certinfo {
	struct buf	 der;		/* the certificate, DER; owned */
	uint8_t		 serial[20];	/* unsigned big-endian, no leading zero */
	size_t		 serial_len;
	time_t		 not_before, not_after;
	char		 not_after_text[24];	/* as encoded: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ */
	char		 subject[512];		/* RFC 2253 */
	char		 subject_oneline[512];	/* "/C=../CN=..", as openssl ca writes index.txt */
};

/* What airlockctl roots shows about a CA directory. */
struct ca_dirinfo {
	int		 pending;		/* ca.csr made, no ca.crt installed yet */
	char		 subject[512];		/* RFC 2253, of ca.crt or ca.csr */
	char		 issuer[512];		/* RFC 2253; "" when pending */
	time_t		 not_before, not_after;
	int		 self_signed;
	char		 key[32];		/* "file", "encrypted file", "pkcs11", "missing" */
	char		 key_alg[32];		/* "RSA-4096", "EC P-384", "Ed25519" */
	int		 chain_len;		/* certificates in chain.pem */
};

/* ca.c */
/* Loads DIR/ca.crt, DIR/chain.pem (optional) and the key (DIR/ca.key,
 * decrypted with the passphrase in root->pass_file, or DIR/key.uri for
 * PKCS#11). Checks key and certificate match. */
int	 ca_load(const struct cfg_root *, struct ca **, char *why, size_t whysz);
void	 ca_free(struct ca *);
/* 1 if the CA's key is on a PKCS#11 token (key.uri), 0 if in memory. */
int	 ca_key_on_token(const struct ca *);
/* Lets ca_load and ca_root_init ask on the console (no echo) for the
 * passphrase of an encrypted key, or a token PIN, when none is configured
 * and standard input and standard error are a terminal. Off by default. */
void	 ca_allow_prompt(int);
/* DER of the CA certificate followed by its chain, for CERT answers. */
const struct buf *ca_chain_der(const struct ca *);
time_t	 ca_not_after(const struct ca *);
/* Validation only: returns AL_OK or an AL_E_* code with why. */
int	 ca_check_request(const struct ca *, const struct cfg_profile *,
	    const struct ca_request *, char *why, size_t whysz);
/* The same, and the subject the certificate would have (RFC 2253). */
int	 ca_check_request_subject(const struct ca *, const struct cfg_profile *,
	    const struct ca_request *, char *subject, size_t subjsz, char *why,
	    size_t whysz);
/* Validate and issue with the given serial (positive, big-endian bytes). */
int	 ca_issue(struct ca *, const struct cfg_profile *, const struct ca_request *,
	    const uint8_t *serial, size_t serial_len, struct ca_issued *out,
	    char *why, size_t whysz);
/* For crl.c: the CA certificate (X509 *), key (EVP_PKEY *) and the digest
 * ca_issue uses (const EVP_MD *, NULL for EdDSA); -1 for a key type that
 * cannot sign. */
int	 ca_crl_signer(const struct ca *, void **cert, void **key, const void **md);
/* Create a CA directory: key (0600, O_EXCL) or key.uri, ca.crt and
 * chain.pem (or ca.csr with csr_only), root.info. */
int	 ca_root_init(const struct ca_root_params *, char *why, size_t whysz);
/* ca_root_init with the parent already loaded (borrowed; NULL: none) and
 * its directory's name for sentences. */
int	 ca_root_init_with(const struct ca_root_params *, const struct ca *parent,
	    const char *pdir, char *why, size_t whysz);
/* Finishes a directory made with csr_only: checks that cert (PEM file) is
 * a CA certificate for the key of ca.csr, issued by the first certificate
 * of chain (PEM file, or NULL for a self-signed one), and writes ca.crt and
 * chain.pem. */
int	 ca_root_install(const char *dir, const char *cert, const char *chain,
	    char *why, size_t whysz);
/* Loads ca.crt and chain.pem only (no key), checked as by ca_load. */
int	 ca_load_public(const char *dir, struct ca **, char *why, size_t whysz);
int	 ca_dir_info(const char *dir, struct ca_dirinfo *, char *why, size_t whysz);
/* Parses one certificate, PEM or DER; with issuer (NULL: no check) also
 * checks that issuer issued and signed it. */
int	 ca_cert_info(const uint8_t *, size_t, const struct ca *issuer,
	    struct ca_certinfo *, char *why, size_t whysz);
/* The same as ca_cert_info, four times as fast: the certificate's public
 * key is not decoded (ca_scan.c); der holds the certificate as given. */
int	 ca_cert_scan(const uint8_t *, size_t, const struct ca *issuer,
	    struct ca_certinfo *, char *why, size_t whysz);
void	 ca_certinfo_free(struct ca_certinfo *);

/* ca_gen.c: a root's key generations (docs/ca-layout.md section 9).
 * Generation 1 is the root's directory, generation N >= 2 DIR/gen/N. */
#define CA_GEN_MAX	1000000		/* highest generation number */
#define CA_GEN_SLOTS	16		/* generations one root may hold */
struct ca_gen_entry {
	int		 gen;
	int		 pending;		/* ca.csr, no ca.crt yet */
	char		 dir[4096];
};
struct ca_key {
	int		 gen;
	struct ca	*ca;			/* owned */
};
struct ca_rollover_params {
	const char	*key_type;		/* NULL: ec:P-384 */
	uint32_t	 days;			/* 0: the current certificate's span */
	const char	*key_uri;		/* new key on a token, or NULL */
	const char	*module;
	int		 csr_only;		/* offline parent: write ca.csr */
};
/* The generations in DIR, ascending; at most max. */
int	 ca_gen_list(const char *dir, struct ca_gen_entry *, int max, int *n,
	    char *why, size_t whysz);
/* Loads every installed generation of the root (keys with the root's
 * pass_file), ascending: the last is the one that issues. */
int	 ca_load_gens(const struct cfg_root *, struct ca_key *, int max, int *n,
	    char *why, size_t whysz);
/* Makes the next generation of r (dir: where); *gen its number. */
int	 ca_rollover(const struct cfg *, const struct cfg_root *r,
	    const struct ca_rollover_params *, int *gen, char *dir, size_t dirsz,
	    char *why, size_t whysz);
/* The subjectKeyIdentifier of the CA certificate, hex (40 digits), or "". */
void	 ca_key_id(const struct ca *, char *out, size_t outsz);
/* The CA certificate alone, DER, and its chain (chain.pem), DER. */
int	 ca_cert_der(const struct ca *, struct buf *cert, struct buf *chain);

#endif
