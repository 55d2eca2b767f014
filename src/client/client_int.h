/*
 * client_int.h: airlock-client's own state, shared by client.c (the
 * daemon, the spool, the answers) and client_cmd.c (the one-shot
 * commands). Private to src/client.
 */
#ifndef CLIENT_INT_H
#define CLIENT_INT_H

#include "config.h"
#include "link.h"
#include "retention.h"
#include "spool.h"
#include "transport.h"
#include "util.h"

#define CLIENT_MAX_REQ	(64 * 1024)	/* a spool request file, a CSR */

struct crlsync;
struct mirror;
struct serialsync;
struct db;

struct client {
	struct cfg	 c;
	struct db	*db;
	struct transport t;
	struct link	*l;
	int64_t		 sent_upto;	/* outbox ids sent in this session */
	uint64_t	 next_scan, next_time, retry_at;
	uint64_t	 resend_at;	/* send every unanswered request again */
	int		 resend_all;	/* ... not only those set back to new */
	int		 send_now;	/* the link has room: send pending requests */
	struct buf	 tmp;
	uint64_t	 answers, duplicates, undecodable;
	uint64_t	 spool_rejected;	/* files refused from spool/in */
	struct crlsync	*crl;		/* CRL refresh of client.crl_roots */
	struct mirror	*mirror;	/* the signer's audit chain (mirror.c) */
	struct serialsync *serials;	/* every certificate's serial (serialsync.c) */
	uint8_t		 time_id[AIRLOCK_REQID_LEN];	/* the last TIME sent */
	uint64_t	 time_sent_ms;	/* when; 0 when it is answered */
	uint8_t		 rtt_id[AIRLOCK_REQID_LEN];	/* a TIME whose round trip */
	uint64_t	 rtt_ns;	/* ... is this; 0 nothing to report */
	struct retention ret;		/* pruning of outbox.db */
	struct spool_batch results;	/* the result files of this read */
	uint64_t	 result_errors;	/* answers not stored: no result file */
	uint64_t	 result_logged_ms;	/* the last line about it */
};

/* client.c */
void	 errx_usage(const char *why);	/* the usage, exit 2 */
/* A SIGN message; csr is the request (PEM, DER or SPKAC). */
int	 client_sign_msg(const uint8_t reqid[AIRLOCK_REQID_LEN], const char *root,
	    const char *profile, uint32_t days, int spkac, const uint8_t *csr,
	    size_t csrlen, struct buf *out);
/* client_cmd.c: submit, result, wait, status; exit statuses */
int	 client_submit(struct client *, int argc, char **argv);
int	 client_result_one(struct client *, const char *hex, int print);
int	 client_wait(struct client *, int argc, char **argv);
int	 client_status(struct client *, int argc, char **argv);

#endif
