/*
 * crl.h: revocation and CRLs (docs/protocol.md 9.4 and 9.5, docs/crl.md).
 *
 * The CRL code is in four places, one per boundary:
 *   src/pki/crl.c       (this header) checks, inspects and rebuilds CRLs with
 *                       OpenSSL's CRL API, for webdb and the signer alike;
 *   src/ca/crl_build.c  builds and signs CRLs with a CA key (crlsign.h);
 *   src/ca/crlstore.c, src/ca/crlsign.c  ca.db's revocations and the
 *                       signer's REVOKE and CRL_FETCH (crlsign.h);
 *   src/client/crlsync.c  webdb's side (crlsync.h).
 *
 * The rule that makes a CRL refresh cost O(changes) on the cable: a delta
 * CRL N with base B, plus the signature value of full CRL N, turn full CRL
 * B into full CRL N byte for byte. Full CRLs are encoded deterministically:
 * entries in serial order (X509_CRL_sort), each entry encoded the same way
 * wherever it is built, extensions in a fixed order, the delta carrying the
 * full CRL's thisUpdate and nextUpdate.
 */
#ifndef CRL_H
#define CRL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "airlock.h"
#include "config.h"
#include "msg.h"
#include "revoke.h"
#include "store.h"
#include "util.h"

#define CRL_SKEW		86400	/* invalidity dates this far ahead pass */

struct ca;

/* One CRL entry, as ca.db holds it. */
struct crl_entry {
	const uint8_t	*serial;	/* unsigned big-endian, no leading zero */
	size_t		 serial_len;
	int64_t		 revoked;	/* revocationDate, Unix seconds */
	int		 reason;	/* CRLReason; 0: no reasonCode extension */
	int64_t		 invalidity;	/* invalidityDate; 0: none */
};

/* Everything in a CRL but its entries. */
struct crl_params {
	int64_t		 number;	/* cRLNumber, >= 1 */
	int64_t		 base;		/* delta CRL: BaseCRLNumber; 0: a full CRL */
	int64_t		 this_update, next_update;	/* Unix seconds */
	const char	*freshest_url;	/* full CRL: Freshest CRL URI; NULL or "" none */
	int		 keep_expired;	/* full CRL: ExpiredCertsOnCRL (CA's notBefore) */
};

/* What a checked CRL says about itself. */
struct crl_info {
	int64_t		 number;
	int64_t		 base;		/* delta: BaseCRLNumber; 0 full */
	int64_t		 this_update, next_update;
	size_t		 entries;	/* revokedCertificates */
	size_t		 removals;	/* of which removeFromCRL */
};

struct crl_builder;
struct crl_issuer;

/* crl.c */
/* The issuing CA certificate (PEM or DER file) that CRLs are checked with. */
int	 crl_issuer_load(const char *path, struct crl_issuer **, char *why, size_t whysz);
void	 crl_issuer_free(struct crl_issuer *);
/* Parses and checks a CRL: whole DER, v2, issued and signed by the issuer,
 * with a CRL number, full (MSG_CRL_FULL) or delta (MSG_CRL_DELTA) as asked,
 * thisUpdate before nextUpdate. 0 and info, or -1 with a sentence. */
int	 crl_verify(const struct crl_issuer *, const uint8_t *, size_t, int kind,
	    struct crl_info *, char *why, size_t whysz);
/* The same without the signature and issuer checks, for listings. */
int	 crl_inspect(const uint8_t *, size_t, struct crl_info *, char *why, size_t whysz);
/* Its entries from index from, at most max (removeFromCRL skipped); fn may
 * stop the walk with -1. The number passed, or -1 with a sentence. */
int	 crl_entries(const uint8_t *, size_t, size_t from, size_t max,
	    int (*fn)(void *, const struct crl_entry *), void *arg, char *why,
	    size_t whysz);
/* Full CRL B + delta CRL N (base B) + full CRL N's signature value -> full
 * CRL N, encoded the way the signer encodes it. The caller verifies it. */
int	 crl_rebuild(const uint8_t *full, size_t fulllen, const uint8_t *delta,
	    size_t deltalen, const uint8_t *sig, size_t siglen, struct buf *out,
	    char *why, size_t whysz);

#endif
