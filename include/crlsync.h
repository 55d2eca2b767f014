/*
 * crlsync.h: webdb's side of revocation and CRLs (src/client/crlsync.c):
 * CRL_FETCH requests, applying CRL answers to the published files, REVOKE
 * requests from the command line and spool files.
 */
#ifndef CRLSYNC_H
#define CRLSYNC_H

#include "crl.h"
#include "revoke.h"

struct db;
struct outbox_item;

/* crlsync.c: webdb's side */
enum crlsync_result {
	CRLSYNC_PUBLISHED,		/* new files written */
	CRLSYNC_CURRENT,		/* the files are current */
	CRLSYNC_STALE,			/* an old answer: nothing to do */
	CRLSYNC_REFETCH,		/* ask again with the number held now */
	CRLSYNC_RESYNC,			/* ask for a full CRL */
	CRLSYNC_FAILED,			/* nothing published; try at the next refresh */
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
/* crl_dir, made 0750 when missing: 0, or -1 with errno. */
int	 crlsync_mkdir(const struct cfg *);
void	 crlsync_tick(struct crlsync *, struct db *outbox, time_t now);
/* An answer (CRL or ERROR) to a CRL_FETCH of the outbox. */
void	 crlsync_on_answer(struct crlsync *, struct db *outbox,
	    const struct outbox_item *, const struct msg *);
int	 crlsync_queue(const struct cfg *, struct db *outbox, const char *root, int full,
	    int64_t have, uint8_t reqid[AIRLOCK_REQID_LEN]);
/* The CRL series webdb may hold, and one of their CRL files, checked
 * (catch-up after a restore: 1 and the bytes, 0 none). */
int	 crlsync_nseries(const struct cfg *);
int	 crlsync_held(const struct cfg *, int i, int delta, char *root, size_t rootsz,
	    struct buf *der, char *why, size_t whysz);
void	 crlsync_list(const struct cfg *, FILE *);
/* airlock-client revoke / crl: exit status 0, 1 or 2 (usage). */
int	 revoke_command(const struct cfg *, struct db *outbox, int argc, char **argv);
int	 crlsync_command(const struct cfg *, struct db *outbox, int argc, char **argv);
/* "revoked ROOT SERIAL reason=N time=T\n" for spool/out/NAME.revoked */
int	 crlsync_revoked_line(const struct msg *, char *, size_t);
/* One line about a REVOKED or CRL answer, for airlock-client result. */
void	 crlsync_print(const struct msg *, FILE *);
/* revoke_spool.c */
/* A serial in hex (1..40 digits) into rr; 0 or -1. */
int	 revoke_serial(const char *hex, struct revoke_req *rr);
/* A spool file that starts with "type=revoke". */
int	 revoke_is_spool(const struct buf *);
int	 revoke_parse_spool(const struct buf *, struct revoke_req *, char *why, size_t whysz);

#endif
