/*
 * ocspd.h: airlock-ocspd's parts (private to src/ocspd/): the responder
 * (responder.c: what it knows and how it answers), its sources
 * (sources.c: CRL files, outbox.db, index files, its own known-serial
 * files, the responder certificates in use), the renewal of those
 * certificates through the spool (renew.c) and the HTTP front (http.c,
 * the only libmicrohttpd user).
 */
#ifndef OCSPD_H
#define OCSPD_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "crl.h"
#include "ocsp.h"
#include "spool.h"
#include "util.h"

/* A set of serials, open addressing; for revoked ones, time and reason. */
struct sset_entry {
	uint8_t		 len;		/* 0: empty slot; serial length + 1 */
	int8_t		 reason;	/* CRLReason, -1 none */
	uint8_t		 serial[OCSP_SERIAL_MAX];
	int64_t		 revoked;
};
struct sset {
	struct sset_entry *e;
	size_t		 cap, n;	/* cap a power of two */
};

/* A responder key and certificate: the configured pair, or the one the
 * renewal installed in cache_dir (key and certificate in one file). */
struct ocspd_pair {
	const char	*key, *cert;		/* paths */
	struct ocsp_signer *signer;		/* NULL: none, or refused */
	int64_t		 not_before, not_after;
	char		 serial[2 * OCSP_SERIAL_MAX + 2];	/* hex */
	struct timespec	 key_mtime, cert_mtime;
	off_t		 key_size, cert_size;
	char		 why[256];		/* why it was refused, "" */
};
enum { OCSPD_CONF, OCSPD_RENEWED, OCSPD_NPAIRS };	/* pair[] */

/* The renewal of a root's responder certificate (renew.c), kept in
 * cache_dir/ROOT.renew across restarts. */
enum { RENEW_IDLE, RENEW_PENDING, RENEW_WAITING };
struct ocspd_renewal {
	int		 loaded;		/* ROOT.renew read */
	int		 state;			/* RENEW_* */
	char		 name[SPOOL_NAME_MAX + 1];	/* the spool request's */
	char		 id[33];		/* its request id, hex */
	int		 submitted;		/* in spool/in (never twice) */
	int64_t		 since;			/* the renewal began */
	int64_t		 retry_at;		/* RENEW_WAITING: the next attempt */
	unsigned	 failures;		/* attempts that failed */
	char		 error[200];		/* the last failure, "" */
	int64_t		 warned;		/* the last daily warning */
	int		 early;			/* an answer not valid yet was logged */
};

struct ocspd_root {
	const struct cfg_ocsp_root *cfg;
	const struct cfg_crl_root *cr;
	struct ocsp_issuer *issuer;
	struct crl_issuer *crl_issuer;
	struct ocsp_signer *signer;	/* the active pair's; NULL: answers tryLater */
	int64_t		 signer_until;	/* its notAfter */
	int		 active;	/* OCSPD_CONF, OCSPD_RENEWED, -1 none */
	struct ocspd_pair pair[OCSPD_NPAIRS];
	char		 renewed[CFG_PATH + 80];	/* cache_dir/ROOT.responder.pem */
	struct ocspd_renewal renewal;
	struct sset	 known, revoked;
	int		 have_crl;
	struct crl_info	 crl;
	struct timespec	 crl_mtime;
	off_t		 crl_size;
	struct timespec	 index_mtime;
	off_t		 index_size;
	dev_t		 serials_dev;	/* crl_dir/ROOT.serials (airlock-client) */
	ino_t		 serials_ino;
	off_t		 serials_off;	/* read up to here (whole lines) */
	uint32_t	 gen;		/* bumped when the CRL changes */
};

#define OCSPD_REQ_MAX	160	/* requests up to this size are indexed by their bytes */

struct ocspd_cache_entry {
	uint8_t		 root, alg, len;	/* len: serial length + 1; 0 empty */
	uint8_t		 status;		/* OCSP_GOOD + OC_GOOD order */
	uint8_t		 serial[OCSP_SERIAL_MAX];
	uint32_t	 gen;
	int64_t		 refresh_at, next_update;
	uint8_t		*der;
	size_t		 der_len;
	uint8_t		 req_len;		/* a request answered by it, 0 none */
	uint8_t		 req[OCSPD_REQ_MAX];
};

enum {	/* counters; GOOD, REVOKED, UNKNOWN in CertStatus order */
	OC_REQUESTS, OC_GOOD, OC_REVOKED, OC_UNKNOWN, OC_MALFORMED, OC_UNAUTHORIZED,
	OC_TRYLATER, OC_INTERNAL, OC_CACHE_HITS, OC_SIGNATURES, OC_NONCES,
	OC_OVERSIZED, OC_BAD_HTTP, OC_PRESIGNED, OC_PRESIGN_PASSES,
	OC_RENEW_REQUESTS, OC_RENEW_INSTALLED, OC_RENEW_FAILED, OC_RENEW_REFUSED,
	OC_NCOUNTERS
};

struct ocspd {
	const struct cfg *c;
	struct ocspd_root roots[CFG_MAX_ROOTS];
	int		 n;
	struct db	*outbox;
	int64_t		 outbox_after;	/* row id of the last answer read */
	struct ocspd_cache_entry *cache;
	size_t		 cache_n;
	uint32_t	*req_idx;	/* request bytes -> cache entry + 1 */
	uint64_t	 count[OC_NCOUNTERS];
	int		 ps_root, ps_set;	/* where the presigning pass is */
	size_t		 ps_slot;
	int64_t		 ps_next;	/* the next pass; 0 one is under way */
	int64_t		 log_second;	/* rate limit of bad-input lines */
	int		 log_lines;
	/* all of the above: the HTTP threads answer under it, the main
	 * thread refreshes, presigns and writes the status under it */
	pthread_mutex_t	 lock;
};

/* responder.c */
int	 sset_add(struct sset *, const uint8_t *serial, size_t len, int64_t revoked,
	    int reason);			/* 1 added, 0 there already, -1 */
const struct sset_entry *sset_find(const struct sset *, const uint8_t *, size_t);
void	 sset_free(struct sset *);
int	 ocspd_init(struct ocspd *, const struct cfg *);
void	 ocspd_free(struct ocspd *);
/* One request's DER (POST body or decoded GET) -> the response's DER in out;
 * *max_age: seconds a cache may keep it (0: do not cache). Never fails:
 * bad input gets an error response, a log line and a counter. */
void	 ocspd_answer(struct ocspd *, const uint8_t *der, size_t len, int64_t now,
	    struct buf *out, int64_t *max_age);
/* Signs at most max responses of known and revoked serials ahead of time
 * (SHA-1 CertIDs, RFC 5019); 1 while a pass is under way. */
int	 ocspd_presign(struct ocspd *, int64_t now, int max);
/* The same in three steps, so that the signature needs no lock: pick the
 * next serial to sign and its status (1, or 0 when the pass is over; under
 * the lock), sign it (without: only the thread that refreshes changes the
 * signers), put it in the cache (under the lock; not when the root's CRL
 * changed in between). */
struct ocspd_presign_job {
	int		 root;
	uint8_t		 serial[OCSP_SERIAL_MAX];
	size_t		 len;
	uint32_t	 gen;
	struct ocsp_single a;
};
int	 ocspd_presign_pick(struct ocspd *, int64_t now, struct ocspd_presign_job *);
int	 ocspd_presign_sign(const struct ocspd *, const struct ocspd_presign_job *,
	    struct buf *der);
void	 ocspd_presign_put(struct ocspd *, const struct ocspd_presign_job *, int signed_ok,
	    const struct buf *der);
void	 ocspd_presign_restart(struct ocspd *);	/* something changed */
void	 ocspd_cache_drop(struct ocspd *, int root, const uint8_t *serial, size_t len);
/* A rate-limited warning about bad input (the counter is the caller's). */
void	 ocspd_bad(struct ocspd *, int64_t now, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* sources.c */
/* Looks at every source and takes in what changed. */
void	 ocspd_refresh(struct ocspd *, int64_t now);
/* The status: the counters on one line, then a line per root (its
 * certificate and renewal), into st (under the lock); st into
 * cache_dir/ocspd.status (outside it: the file is synced); and the file
 * in words for `airlock-ocspd status` (0, or -1 when it cannot be read). */
void	 ocspd_status_text(const struct ocspd *, int64_t now, struct buf *st);
void	 ocspd_status_write(const struct cfg *, const struct buf *st);
int	 ocspd_status_print(const struct cfg *, int64_t now);
const char *ocspd_counter_name(int);

/* renew.c */
/* When the root's certificate should be renewed: the latest renewal point
 * of its pairs that loaded (0: now, none did). */
int64_t	 ocspd_renew_at(const struct ocspd *, const struct ocspd_root *);
/* One step of each root's renewal, on the main thread without the lock
 * (it makes keys and writes files; only this thread changes the roots'
 * pairs): 1 when a new pair was installed (refresh now), else 0. */
int	 ocspd_renew(struct ocspd *, int64_t now);
/* SIGHUP: a renewal waiting after a failure tries again now. */
void	 ocspd_renew_retry_now(struct ocspd *);
const char *ocspd_renew_state_name(int);

/* http.c */
struct http;
/* Listens and answers on nthreads threads of its own (each request under
 * o->lock); the caller's signal mask is theirs. */
struct http *http_start(struct ocspd *, const char *addr, int port, size_t max_request,
	    unsigned nthreads);
void	 http_stop(struct http *);

#endif
