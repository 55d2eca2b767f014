/*
 * crl.h: revocation and CRLs (docs/protocol.md 9.4 and 9.5, docs/crl.md).
 *
 * Four modules share this header, one per boundary:
 *   crl.c       the X.509 side: builds, signs, checks and rebuilds CRLs with
 *               OpenSSL's CRL API; the only one of the four that includes
 *               OpenSSL headers.
 *   crlstore.c  the revocation columns of ca.db's certs table and its crls
 *               table; the only one that includes sqlite3.h.
 *   crlsign.c   the signer's REVOKE and CRL_FETCH: what to revoke, when to
 *               issue a CRL number, which CRL goes back on the cable.
 *   crlsync.c   webdb's side: CRL_FETCH requests, applying CRL answers to
 *               the published files, REVOKE requests from spool files.
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
#include "store.h"
#include "util.h"

#define CRL_SERIAL_MAX		20	/* octets of a serial number */
#define CRL_REASON_UNSPECIFIED	0	/* no reasonCode extension (RFC 5280 5.3.1) */
#define CRL_REASON_HOLD		6	/* certificateHold: refused, never released */
#define CRL_REASON_REMOVE	8	/* removeFromCRL: delta CRLs only */
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
int	 crl_builder_new(struct ca *, const struct crl_params *, struct crl_builder **,
	    char *why, size_t whysz);
int	 crl_builder_add(struct crl_builder *, const struct crl_entry *);
/* Sorts, signs, checks the signature; der gets the CRL, sig (if not NULL)
 * its signature value. Frees the builder whatever happens. */
int	 crl_builder_finish(struct crl_builder *, struct buf *der, struct buf *sig,
	    char *why, size_t whysz);
void	 crl_builder_free(struct crl_builder *);
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
/* Full CRL B + delta CRL N (base B) + full CRL N's signature value -> full
 * CRL N, encoded the way the signer encodes it. The caller verifies it. */
int	 crl_rebuild(const uint8_t *full, size_t fulllen, const uint8_t *delta,
	    size_t deltalen, const uint8_t *sig, size_t siglen, struct buf *out,
	    char *why, size_t whysz);

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
/* CRL_FETCH: issues a CRL if one is due and fills ans (bytes in out). */
int	 crlsign_fetch(struct db *, struct ca *, const struct cfg_root *,
	    const struct msg *req, int64_t now, struct msg *ans, struct crlsign_out *out,
	    char *why, size_t whysz);

/* crlsync.c: webdb's side */
enum crlsync_result {
	CRLSYNC_PUBLISHED,		/* new files written */
	CRLSYNC_CURRENT,		/* the files are current */
	CRLSYNC_STALE,			/* an old answer: nothing to do */
	CRLSYNC_REFETCH,		/* ask again with the number held now */
	CRLSYNC_RESYNC,			/* ask for a full CRL */
	CRLSYNC_FAILED,			/* nothing published; try at the next refresh */
};
struct revoke_req {
	char		 root[AIRLOCK_NAME_MAX];
	uint8_t		 serial[CRL_SERIAL_MAX];
	size_t		 serial_len;
	int		 reason;
	int64_t		 invalidity;	/* 0 none */
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	int		 have_id;
};
struct crlsync;
/* The newest full CRL number that verifies in crl_dir (0 none), and why not. */
int64_t	 crlsync_have(const struct cfg *, const char *root, struct crl_info *,
	    char *why, size_t whysz);
/* A CRL_FETCH for root; have < 0: the number of the file that verifies. */
int	 crlsync_fetch_msg(const struct cfg *, const char *root, int full, int64_t have,
	    const uint8_t reqid[AIRLOCK_REQID_LEN], struct buf *msg);
/* Applies a CRL answer for root to the files in crl_dir; info (if not NULL)
 * gets what was published. An answer older than the CRL held is stale,
 * unless older is set (the answer to a full fetch after error 303). */
int	 crlsync_answer(const struct cfg *, const char *root, const struct msg *ans,
	    int older, struct crl_info *info, char *why, size_t whysz);
/* The daemon's schedule: a fetch per root every crl_refresh seconds, and
 * soon after a CRL's half-life; follow-ups after answers. */
struct crlsync *crlsync_new(const struct cfg *);
void	 crlsync_free(struct crlsync *);
void	 crlsync_tick(struct crlsync *, struct db *outbox, time_t now);
/* An answer (CRL or ERROR) to a CRL_FETCH of the outbox. */
void	 crlsync_on_answer(struct crlsync *, struct db *outbox,
	    const struct outbox_item *, const struct msg *);
int	 crlsync_queue(const struct cfg *, struct db *outbox, const char *root, int full,
	    int64_t have, uint8_t reqid[AIRLOCK_REQID_LEN]);
void	 crlsync_list(const struct cfg *, FILE *);
/* airlock-client revoke / crl: exit status 0, 1 or 2 (usage). */
int	 revoke_command(const struct cfg *, struct db *outbox, int argc, char **argv);
int	 crlsync_command(const struct cfg *, struct db *outbox, int argc, char **argv);
/* "revoked ROOT SERIAL reason=N time=T\n" for spool/out/NAME.revoked */
int	 crlsync_revoked_line(const struct msg *, char *, size_t);
/* One line about a REVOKED or CRL answer, for airlock-client result. */
void	 crlsync_print(const struct msg *, FILE *);
/* A spool file that starts with "type=revoke". */
int	 revoke_is_spool(const struct buf *);
int	 revoke_parse_spool(const struct buf *, struct revoke_req *, char *why, size_t whysz);
int	 revoke_msg(const struct revoke_req *, struct buf *out);

#endif
