/*
 * crlsign.h: the signer's side of revocation and CRLs, in the CA engine
 * (src/ca/): building and signing CRLs with a CA key (crl_build.c), the
 * revocations and CRLs in ca.db (crlstore.c), REVOKE and CRL_FETCH
 * (crlsign.c). The link side never includes it.
 */
#ifndef CRLSIGN_H
#define CRLSIGN_H

#include "castore.h"
#include "crl.h"

struct crl_builder;

/* crl_build.c */
int	 crl_builder_new(struct ca *, const struct crl_params *, struct crl_builder **,
	    char *why, size_t whysz);
int	 crl_builder_add(struct crl_builder *, const struct crl_entry *);
/* Sorts, signs, checks the signature; der gets the CRL, sig (if not NULL)
 * its signature value. Frees the builder whatever happens. */
int	 crl_builder_finish(struct crl_builder *, struct buf *der, struct buf *sig,
	    char *why, size_t whysz);
void	 crl_builder_free(struct crl_builder *);

/* crlstore.c: revocations and CRLs in ca.db */
struct crlstore_crl {
	int64_t		 number;
	int64_t		 this_update, next_update;
	int64_t		 entries;
	int64_t		 der_len;	/* 0: the DER is no longer kept */
};
struct crlstore_cert {
	int64_t		 not_after;
	int64_t		 revoked;	/* 0: not revoked */
	int		 reason;
	int64_t		 invalidity;
	int64_t		 crl_first;	/* first CRL number listing it; 0 none yet */
};
enum crlstore_set {
	CRLSTORE_LISTED,		/* entries of the newest full CRL */
	CRLSTORE_ADDED,			/* on the newest, not on full CRL base */
	CRLSTORE_REMOVED,		/* on full CRL base, dropped since */
};
/* Adds what revocation needs to ca.db (columns, indexes, crls); idempotent. */
int	 crlstore_prepare(struct db *);
int	 crlstore_cert(struct db *, const char *root, const uint8_t *serial, size_t len,
	    struct crlstore_cert *);			/* 1 found, 0 not, -1 error */
/* 1 revoked now, 0 no such unrevoked certificate, -1 error */
int	 crlstore_revoke(struct db *, const char *root, const uint8_t *serial, size_t len,
	    int64_t when, int reason, int64_t invalidity);
int	 crlstore_current(struct db *, const char *root, struct crlstore_crl *);	/* 1/0/-1 */
/* 1 and the kept DER and signature value (either may be NULL), 0 unknown, -1 */
int	 crlstore_get(struct db *, const char *root, int64_t number, struct crlstore_crl *,
	    struct buf *der, struct buf *sig);
int64_t	 crlstore_pending(struct db *, const char *root);	/* not on a CRL yet */
int64_t	 crlstore_next_number(struct db *, const char *root);
/* Lists the pending revocations from CRL number on, and drops from it the
 * entries whose certificate expired before prune_before (0: none). */
int	 crlstore_assign(struct db *, const char *root, int64_t number, int64_t prune_before);
int	 crlstore_each(struct db *, const char *root, int set, int64_t base,
	    int (*fn)(void *, const struct crl_entry *), void *arg);
int64_t	 crlstore_count(struct db *, const char *root, int set, int64_t base);
/* Records a new full CRL; older ones keep their numbers and times only. */
int	 crlstore_put(struct db *, const char *root, const struct crlstore_crl *,
	    const uint8_t *der, size_t derlen, const uint8_t *sig, size_t siglen);

/* crlsign.c: the signer's side */
struct crlsign_out {			/* bytes a CRL answer points to */
	struct buf	 crl, delta, sig;
	uint8_t		 number[8];
};
void	 crlsign_out_free(struct crlsign_out *);
/* REVOKE: checks and records the revocation (in the caller's transaction)
 * and fills ans with REVOKED; root gets the root's name. An AL_E_* code and
 * a sentence otherwise; AL_E_STORAGE means nothing was done. */
int	 crlsign_revoke(struct db *, const struct cfg *, const struct msg *req,
	    int64_t now, struct msg *ans, char root[AIRLOCK_NAME_MAX], char *why,
	    size_t whysz);
/* Issues the next full CRL of the root now. */
int	 crlsign_issue(struct db *, struct ca *, const struct cfg_root *, int64_t now,
	    struct crlstore_crl *, char *why, size_t whysz);
/* The delta CRL from full CRL base to the newest one, cur. */
int	 crlsign_delta(struct db *, struct ca *, const struct cfg_root *,
	    const struct crlstore_crl *cur, int64_t base, struct buf *der, char *why,
	    size_t whysz);
/* Certificates of a root's key generation gen: how many are valid at now
 * (live) and the last notAfter among them all (0: none). */
int	 crlstore_key_certs(struct db *, const char *root, int gen, int64_t now,
	    int64_t *live, int64_t *last);
/* CRL_FETCH: issues a CRL if one is due and fills ans (bytes in out). */
int	 crlsign_fetch(struct db *, struct ca *, const struct cfg_root *,
	    const struct msg *req, int64_t now, struct msg *ans, struct crlsign_out *out,
	    char *why, size_t whysz);

#endif
