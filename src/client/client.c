/*
 * client.c: airlock-client, the webdb end of the cable. The web application
 * hands it requests through a spool directory (spool/in/NAME.req: a few
 * "key=value" lines, then the PEM CSR) or the `submit` command; each is
 * committed to outbox.db under a 128-bit request id before anything else
 * happens, sent over the link, and kept until its answer is committed.
 * Results appear atomically as spool/out/NAME.crt (certificate PEM) with
 * NAME.chain.pem, or spool/err/NAME.err ("CODE sentence"). After a restart
 * of either side, every unanswered request goes again under its id.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crl.h"
#include "crypto.h"
#include "link.h"
#include "msg.h"
#include "pgp.h"
#include "pgp_client.h"
#include "proc.h"
#include "retention.h"
#include "sandbox.h"
#include "spool.h"
#include "state.h"
#include "store.h"
#include "timesync.h"
#include "transport.h"
#include "util.h"
#include "outbox.h"
#include "client_maint.h"
#include "crlsync.h"
#include "mirror.h"
#include "revoke.h"
#include "serialsync.h"
#include "client_int.h"

#define CLIENT_BACKLOG	(64 * 1024)	/* bytes queued on the link at most */
#define CLIENT_SCAN_MS	250		/* spool and outbox scan period */
#define CLIENT_RESEND_MS 5000		/* after a retryable failure */
#define CLIENT_TIME_RETRY_MS 2000	/* a TIME the signer could not take */

static const char usage[] =
	"usage: airlock-client [-dv] [-c config] command [args] | -n | --version\n"
	"  -c FILE   configuration (default /etc/airlock/airlock-client.conf)\n"
	"commands:\n"
	"  run                      run the link to the signer host (daemon)\n"
	"  submit --root R --profile P [--days N] [--id HEX] [--name NAME]\n"
	"         [--spkac] CSRFILE  queue a signing request; prints its id\n"
	"  result ID                print the certificate (exit 0), the error\n"
	"                           (exit 1) or \"pending\" (exit 3)\n"
	"  wait [--timeout S] ID... wait until every ID is answered\n"
	"  status                   outbox counts\n"
	"  status --signer [--timeout S]  ask airlock-linkd on the signer host\n"
	"                           for its queue and clock (through run)\n"
	"  prune                    delete answered requests older than\n"
	"                           client.retention_days now\n"
	"  revoke --root R --serial HEX [--reason N] [--invalidity T] [--id HEX]\n"
	"         [--name NAME]     queue a revocation; prints its id\n"
	"  crl --root R [--full] [--have N]   queue a CRL fetch; prints its id\n"
	"  crl --list               the CRLs published in crl_dir\n"
	"  pgp-certify --root R --profile P --email ADDR [--email ADDR ...]\n"
	"         [--days N] [--id HEX] [--name NAME] KEYFILE\n"
	"                           queue an OpenPGP certification; prints its id\n"
	"  audit verify | tail [-n N] | export --json   the signer's audit chain\n"
	"                           as mirrored here (exit 1 on an alarm)\n"
	"  backup [--pass-file F | --no-encrypt] FILE | backup --verify FILE\n"
	"                           outbox.db, audit.db, keys, CRLs in one file\n"
	"  restore [--pass-file F] [--force] FILE   write a backup back\n"
	"  usb                      USB devices, the one in use, peer, counters\n";

void
errx_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "airlock-client: %s\n", why);
	fputs(usage, stderr);
	exit(2);
}


/* The path of a spool result; -1 (logged) for a name that is not a spool name. */
static int
client_paths(const struct cfg *c, const char *sub, const char *name,
    const char *ext, char *out, size_t outsz)
{
	char shown[64];

	if (spool_path(c->spool_dir, sub, name, ext, out, outsz) == 0)
		return 0;
	spool_name_show(name, shown, sizeof(shown));
	log_warnx("no spool file made for the name \"%s\": %s", shown,
	    errno == EINVAL ? "not a spool name" : strerror(errno));
	return -1;
}

/*
 * Builds a SIGN message; text is the CSR (PEM, DER or SPKAC). A PEM request
 * goes as the DER of its first CERTIFICATE REQUEST block, what the signer
 * would take from it: a quarter fewer bytes on the cable, and no base64 for
 * the signer to decode (docs/protocol.md 9.1). Text that does not read as
 * such PEM goes as it is, for the signer to refuse with its sentence.
 */
int
client_sign_msg(const uint8_t reqid[AIRLOCK_REQID_LEN], const char *root,
    const char *profile, uint32_t days, int spkac, const uint8_t *csr,
    size_t csrlen, struct buf *out)
{
	struct buf der;
	struct msg m;
	int rv;

	memset(&m, 0, sizeof(m));
	m.type = MSG_SIGN;
	memcpy(m.reqid, reqid, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)root;
	m.root.len = strlen(root);
	m.profile.p = (const uint8_t *)profile;
	m.profile.len = strlen(profile);
	buf_init(&der);
	if (!spkac && csr_pem_to_der(csr, csrlen, &der) == 0) {
		csr = der.p;
		csrlen = der.len;
	}
	m.csr.p = csr;
	m.csr.len = csrlen;
	m.present = 1u << T_ROOT | 1u << T_PROFILE | 1u << T_CSR;
	if (days) {
		m.days = days;
		MSG_SET(&m, T_DAYS);
	}
	if (spkac) {
		m.csr_format = MSG_CSR_SPKAC;
		MSG_SET(&m, T_CSR_FORMAT);
	}
	/* the signer host checks again, but a bad request is refused here first */
	rv = msg_encode_checked(&m, out);
	buf_free(&der);
	return rv;
}

/*
 * A spool request: "key=value" lines (root, profile, days, id, format),
 * then the CSR. Returns 0 and the message, or -1 with a sentence.
 */
/*
 * A spool file without id= gets one derived from its name and contents, so
 * that a file read again after a crash (committed, not yet moved) is the
 * same request and cannot be signed twice.
 */
static void
client_spool_id(const char *name, const struct buf *f, uint8_t reqid[AIRLOCK_REQID_LEN])
{
	uint8_t h[HMAC_LEN];

	crypto_hmac((const uint8_t *)"airlock spool id", 16, name, strlen(name) + 1,
	    f->p, f->len, h);
	memcpy(reqid, h, AIRLOCK_REQID_LEN);
}

static int
client_parse_spool(const char *name, const struct buf *f, struct buf *msg,
    uint8_t reqid[AIRLOCK_REQID_LEN], char *why, size_t whysz)
{
	char root[AIRLOCK_NAME_MAX] = "", profile[AIRLOCK_NAME_MAX] = "", line[256];
	const char *p = (const char *)f->p, *end = p != NULL ? p + f->len : p;
	long long days = 0;
	int spkac = 0, have_id = 0, r;

	/* the header ends where the request starts: "-----BEGIN" or "SPKAC=" */
	while (p < end && *p != '-' && !((size_t)(end - p) >= 6 &&
	    memcmp(p, "SPKAC=", 6) == 0)) {
		if ((r = spool_line(&p, end, line, sizeof(line))) == 0)
			break;
		if (r == -1) {
			snprintf(why, whysz, "header line too long or unterminated");
			return -1;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (strncmp(line, "root=", 5) == 0)
			snprintf(root, sizeof(root), "%s", line + 5);
		else if (strncmp(line, "profile=", 8) == 0)
			snprintf(profile, sizeof(profile), "%s", line + 8);
		else if (strncmp(line, "days=", 5) == 0 &&
		    parse_num(line + 5, 0, 36500, &days) == 0)
			;
		else if (strcmp(line, "format=spkac") == 0)
			spkac = 1;
		else if (strncmp(line, "id=", 3) == 0 && hex_decode(line + 3, reqid,
		    AIRLOCK_REQID_LEN) == 0)
			have_id = 1;
		else {
			/* the line is not quoted: the file may not be the sender's */
			if (strncmp(line, "days=", 5) == 0)
				say(why, whysz, "the days= value is not a number of days "
				    "up to 36500");
			else if (strncmp(line, "id=", 3) == 0)
				say(why, whysz, "the id= value is not 32 hex digits");
			else
				say(why, whysz, "a header line is not root=, profile=, "
				    "days=, id= or format=spkac");
			return -1;
		}
	}
	if (!name_ok(root, strlen(root)) || !name_ok(profile, strlen(profile)) ||
	    p >= end) {
		snprintf(why, whysz, "needs root=, profile= and a CSR after them");
		return -1;
	}
	if (!have_id)
		client_spool_id(name, f, reqid);
	if (client_sign_msg(reqid, root, profile, (uint32_t)days, spkac,
	    (const uint8_t *)p, (size_t)(end - p), msg) == -1) {
		snprintf(why, whysz, "the request does not make a valid message");
		return -1;
	}
	return 0;
}

/* A SIGN request, or a REVOKE when the file starts with "type=revoke". */
static int
client_spool_parse(const char *name, const struct buf *f, struct buf *msg,
    uint8_t reqid[AIRLOCK_REQID_LEN], int *type, char *why, size_t whysz)
{
	struct revoke_req rr;
	struct pgp_spool ps;

	if (pgp_spool_is(f)) {
		*type = MSG_PGP_CERTIFY;
		if (pgp_spool_parse(f, &ps, why, whysz) == -1)
			return -1;
		if (!ps.have_id)
			client_spool_id(name, f, ps.reqid);
		memcpy(reqid, ps.reqid, AIRLOCK_REQID_LEN);
		if (pgp_spool_msg(&ps, msg) == -1) {
			snprintf(why, whysz, "the request does not make a valid message");
			return -1;
		}
		return 0;
	}
	if (!revoke_is_spool(f)) {
		*type = MSG_SIGN;
		return client_parse_spool(name, f, msg, reqid, why, whysz);
	}
	*type = MSG_REVOKE;
	if (revoke_parse_spool(f, &rr, why, whysz) == -1)
		return -1;
	if (!rr.have_id)
		client_spool_id(name, f, rr.reqid);
	memcpy(reqid, rr.reqid, AIRLOCK_REQID_LEN);
	if (revoke_msg(&rr, msg) == -1) {
		snprintf(why, whysz, "the revocation does not make a valid message");
		return -1;
	}
	return 0;
}

/* Moves spool/in/name to rejected/ and, when the name is usable, says why in err/. */
static void
client_spool_reject(struct client *cl, int dirfd, const char *name,
    const char *stem, const char *why)
{
	char dst[PATH_MAX], shown[64], text[512];
	struct stat st;
	int n, rfd;

	cl->spool_rejected++;
	spool_name_show(name, shown, sizeof(shown));
	log_warnx("spool file \"%s\" rejected: %s (%llu rejected so far)", shown,
	    why, (unsigned long long)cl->spool_rejected);
	if (stem != NULL && client_paths(&cl->c, "err", stem, ".err", dst,
	    sizeof(dst)) == 0) {
		n = snprintf(text, sizeof(text), "%d %s\n", AL_E_MSG_VALUE, why);
		if (write_file_atomic(dst, text, (size_t)n, 0640) == -1)
			log_warn("%s", dst);
	}
	/* the entry itself moves, whatever it is: a link is not followed; but a
	 * second name of another file (a hard link) is only removed, so that
	 * nothing of the client's own files is kept in the spool */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISDIR(st.st_mode) && st.st_nlink > 1) {
		if (unlinkat(dirfd, name, 0) == -1)
			log_warn("spool file \"%s\" cannot be removed", shown);
		return;
	}
	snprintf(dst, sizeof(dst), "%s/rejected", cl->c.spool_dir);
	rfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rfd == -1 || renameat(dirfd, name, rfd, name) == -1) {
		log_warn("spool file \"%s\" cannot be moved to rejected/", shown);
		if (unlinkat(dirfd, name, 0) == -1 && errno == EISDIR)
			unlinkat(dirfd, name, AT_REMOVEDIR);
	}
	if (rfd != -1)
		close(rfd);
}

static void
client_spool_one(struct client *cl, int dirfd, const char *name)
{
	char dst[PATH_MAX], stem[SPOOL_NAME_MAX + 1], why[256];
	uint8_t reqid[AIRLOCK_REQID_LEN];
	struct buf f, m;
	size_t len = strlen(name);
	int type = MSG_SIGN, afd;

	if (len - 4 > SPOOL_NAME_MAX) {
		client_spool_reject(cl, dirfd, name, NULL, "the name is too long");
		return;
	}
	snprintf(stem, sizeof(stem), "%.*s", (int)(len - 4), name);
	if (!spool_name_ok(stem)) {
		client_spool_reject(cl, dirfd, name, NULL, "the name is not "
		    "[A-Za-z0-9_-][A-Za-z0-9._-]* followed by .req");
		return;
	}
	buf_init(&f);
	buf_init(&m);
	if (spool_read(dirfd, name, &f, CLIENT_MAX_REQ, why, sizeof(why)) == -1 ||
	    client_spool_parse(name, &f, &m, reqid, &type, why, sizeof(why)) == -1) {
		client_spool_reject(cl, dirfd, name, stem, why);
		goto out;
	}
	if (outbox_add(cl->db, reqid, type, stem, m.p, m.len) == -1)
		goto out;	/* the file stays; tried again on the next scan */
	hex_encode(reqid, sizeof(reqid), why);
	snprintf(dst, sizeof(dst), "%s/accepted", cl->c.spool_dir);
	afd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd == -1 || renameat(dirfd, name, afd, name) == -1)
		log_warn("req=%s %s/in/%s", why, cl->c.spool_dir, name);
	if (afd != -1)
		close(afd);
	log_info("req=%s queued from spool file %s", why, name);
out:
	buf_free(&f);
	buf_free(&m);
}

static void
client_scan_spool(struct client *cl)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/in", cl->c.spool_dir);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		/* dot files are the web application's temporary files */
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".req") != 0)
			continue;
		client_spool_one(cl, dirfd(d), e->d_name);
	}
	closedir(d);
}

static int
client_send_one(void *arg, const struct outbox_item *it, const uint8_t *req, size_t len)
{
	struct client *cl = arg;

	if (link_backlog(cl->l) > CLIENT_BACKLOG || link_send(cl->l, req, len,
	    (uint64_t)it->id) == -1)
		return -1;
	cl->sent_upto = it->id;
	return 0;
}

/* Sends again, in this session, what came back with a retryable error;
 * with resend_all, every unanswered request sent (answers of a read that
 * could not be stored: which ones is not known any more). */
static int
client_resend_one(void *arg, const struct outbox_item *it, const uint8_t *req, size_t len)
{
	struct client *cl = arg;

	if (it->id > cl->sent_upto)
		return 0;	/* not sent yet in this session: goes in order */
	if (it->state != O_NEW && !cl->resend_all)
		return 0;	/* on its way; its answer not known lost */
	if (link_send(cl->l, req, len, (uint64_t)it->id) == -1)
		cl->resend_at = mono_ms() + CLIENT_RESEND_MS;
	return 0;
}

/* Sends outbox entries not yet sent in this session, oldest first. */
static void
client_send_pending(struct client *cl)
{
	if (!link_ready(cl->l) || link_backlog(cl->l) > CLIENT_BACKLOG)
		return;
	outbox_pending(cl->db, cl->sent_upto, 64, client_send_one, cl);
}

static void
client_send_time(struct client *cl)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_TIME;
	if (crypto_random(m.reqid, sizeof(m.reqid)) == -1)
		return;
	m.time_ns = real_ns();
	m.sync = (uint8_t)drift_ntp_status();
	m.present = 1u << T_TIME_NS | 1u << T_SYNC;
	if (cl->rtt_ns > 0) {
		/* the round trip of the TIME before, for its sample */
		m.time_prev.p = cl->rtt_id;
		m.time_prev.len = sizeof(cl->rtt_id);
		m.rtt_ns = cl->rtt_ns;
		m.present |= 1u << T_TIME_PREV | 1u << T_RTT_NS;
	}
	buf_reset(&cl->tmp);
	if (msg_encode(&m, &cl->tmp) == 0 &&
	    link_send(cl->l, cl->tmp.p, cl->tmp.len, 0) == 0) {
		memcpy(cl->time_id, m.reqid, sizeof(cl->time_id));
		cl->time_sent_ms = mono_ms();
		cl->rtt_ns = 0;
	}
}

/* The answer to a TIME: measure its round trip. 1 if m was one. */
static int
client_time_answer(struct client *cl, const struct msg *m, const char *id)
{
	uint64_t rtt;

	if (m->type != MSG_TIME_ACK && (m->type != MSG_ERROR ||
	    memcmp(m->reqid, cl->time_id, sizeof(cl->time_id)) != 0))
		return 0;
	if (m->type == MSG_ERROR) {
		log_warnx("req=%s time sample refused: %u %.*s", id, m->code,
		    (int)m->text.len, m->text.p);
		/* the signer was busy or away: try again soon, not a minute later */
		if (m->code == AL_E_BUSY && cl->next_time > mono_ms() + CLIENT_TIME_RETRY_MS)
			cl->next_time = mono_ms() + CLIENT_TIME_RETRY_MS;
		cl->time_sent_ms = 0;
		return 1;
	}
	if (cl->time_sent_ms == 0 ||
	    memcmp(m->reqid, cl->time_id, sizeof(cl->time_id)) != 0) {
		log_debug("req=%s late time acknowledgement ignored", id);
		return 1;
	}
	rtt = (mono_ms() - cl->time_sent_ms) * 1000000ull;
	cl->time_sent_ms = 0;
	memcpy(cl->rtt_id, m->reqid, sizeof(cl->rtt_id));
	cl->rtt_ns = rtt > 0 ? rtt : 1;
	log_info("req=%s time sample acknowledged: signer clock %+.3f s from "
	    "webdb (round trip %.3f s)", id, ((double)m->time2_ns -
	    (double)m->time_ns - (double)rtt / 2) / 1e9, (double)rtt / 1e9);
	return 1;
}

/*
 * One result file: spool/SUB/NAME.EXT, written under a temporary name in
 * the read's batch (spool_batch_put). A file that cannot be written fails
 * the answer it belongs to (client_on_message). The batch is synced and
 * renamed once for the whole read (client_sync_results), before the
 * read's answers commit.
 */
static int
client_put(struct client *cl, const char *rid, const char *sub, const char *name,
    const char *ext, const void *p, size_t n)
{
	char path[PATH_MAX];

	if (client_paths(&cl->c, sub, name, ext, path, sizeof(path)) == -1)
		return -1;
	if (spool_batch_put(&cl->results, path, p, n, 0644) == -1) {
		log_warn("req=%s %s", rid, path);
		return -1;
	}
	return 0;
}

/* The read's result files synced, then under their names, their folders
 * synced: 0, or -1 (logged; the files not yet renamed are removed) */
static int
client_sync_results(struct client *cl)
{
	size_t n = spool_batch_count(&cl->results);

	if (spool_batch_commit(&cl->results) == -1) {
		log_warn("%s: cannot make %zu result file%s durable", cl->c.spool_dir,
		    n, n == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* The certified key, verified and merged (pgp_client.c), or why not. */
static int
client_pgp_result(struct client *cl, const struct msg *m, const char *name,
    const char *rid)
{
	char why[512], text[600];
	struct buf asc;
	int n, rc;

	buf_init(&asc);
	if (pgp_client_merge(cl->c.state_dir, cl->db, m, &asc, why, sizeof(why)) == 0) {
		rc = client_put(cl, rid, "out", name, ".asc", asc.p, asc.len);
	} else {
		log_warnx("req=%s the OpenPGP answer is not usable: %s", rid, why);
		n = snprintf(text, sizeof(text), "%d the answer does not verify: %s\n",
		    AL_E_INTERNAL, why);
		rc = client_put(cl, rid, "err", name, ".err", text, (size_t)n);
	}
	buf_free(&asc);
	return rc;
}

/* The answer's result files: 0, or -1 when one could not be written. */
static int
client_write_result(struct client *cl, const struct outbox_item *it, const struct msg *m)
{
	char name[128], text[1024], rid[33];
	struct buf pem;
	int n, rc = 0;

	if (it->type == MSG_CRL_FETCH) {	/* CRL files, not spool results */
		if (cl->crl != NULL)
			crlsync_on_answer(cl->crl, cl->db, it, m);
		return 0;
	}
	reqid_hex(it->reqid, rid);
	/* checked where it entered, and again here where it becomes a path */
	if (it->name[0] != '\0' && spool_name_ok(it->name))
		snprintf(name, sizeof(name), "%s", it->name);
	else
		reqid_hex(it->reqid, name);
	buf_init(&pem);
	if (m->type == MSG_CERT) {
		if (pem_encode("CERTIFICATE", m->cert.p, m->cert.len, &pem) == -1 ||
		    client_put(cl, rid, "out", name, ".crt", pem.p, pem.len) == -1)
			rc = -1;
		if (cl->serials != NULL)	/* for airlock-ocspd */
			serialsync_publish_cert(cl->serials, m->cert.p, m->cert.len);
		buf_reset(&pem);
		if (MSG_HAS(m, T_CHAIN) && chain_pem(m->chain.p, m->chain.len, &pem) == 0 &&
		    client_put(cl, rid, "out", name, ".chain.pem", pem.p, pem.len) == -1)
			rc = -1;
	} else if (m->type == MSG_PGP_CERTIFIED) {
		rc = client_pgp_result(cl, m, name, rid);
	} else if (m->type == MSG_REVOKED) {
		n = crlsync_revoked_line(m, text, sizeof(text));
		rc = client_put(cl, rid, "out", name, ".revoked", text, (size_t)n);
	} else if (m->type == MSG_STATUS_REPLY) {
		rc = client_put(cl, rid, "out", name, ".status", m->text.p, m->text.len);
	} else if (m->type == MSG_ERROR) {
		n = snprintf(text, sizeof(text), "%u %.*s\n", m->code, (int)m->text.len,
		    m->text.p);
		rc = client_put(cl, rid, "err", name, ".err", text, (size_t)n);
	}
	buf_free(&pem);
	return rc;
}

/* An answer not stored for want of its result file (id), or the answers
 * of a read whose files could not be synced (NULL): asked for again. One
 * line per 10 s at most while the disk stays full, with the count. */
static void
client_result_failed(struct client *cl, const char *id)
{
	uint64_t now = mono_ms();

	cl->result_errors++;
	cl->resend_at = now + CLIENT_RESEND_MS;
	if (cl->result_logged_ms != 0 && now - cl->result_logged_ms < 10000)
		return;
	cl->result_logged_ms = now;
	log_warnx("%s%s%s cannot be written to the spool for sure; asked for "
	    "again (%llu such failures since start)", id ? "req=" : "",
	    id ? id : "the result files of this read", id ? "'s result file" : "",
	    (unsigned long long)cl->result_errors);
}

static void
client_on_message(void *arg, const uint8_t *p, size_t n)
{
	struct client *cl = arg;
	struct outbox_item it;
	struct msg m;
	char id[33];
	int r;

	if (msg_decode(p, n, &m) != AL_OK || msg_is_request(m.type)) {
		cl->undecodable++;
		log_warnx("undecodable answer of %zu bytes dropped", n);
		return;
	}
	reqid_hex(m.reqid, id);
	if (client_time_answer(cl, &m, id) || mirror_answer(cl->mirror, &m, mono_ms()) ||
	    serialsync_answer(cl->serials, &m, mono_ms()))
		return;
	if (m.type == MSG_ERROR && m.code == AL_E_HELD) {
		/* dual control: kept as the request's state, asked again */
		if (outbox_get(cl->db, m.reqid, &it, NULL) == 1 && it.code != AL_E_HELD)
			log_info("req=%s held for approval on the signer host: %.*s",
			    id, (int)m.text.len, m.text.p);
		/* no resend: linkd keeps asking the signer and passes on the
		 * final answer (protocol.md 9.1, dual control) */
		(void)outbox_answer(cl->db, m.reqid, O_NEW, AL_E_HELD, p, n);
		return;
	}
	if (m.type == MSG_ERROR && (m.code == AL_E_STORAGE || m.code == AL_E_BUSY)) {
		log_warnx("req=%s signer host: %.*s; will send again", id,
		    (int)m.text.len, m.text.p);
		/* only a request of the outbox goes again; a TIME sample does not */
		if (outbox_set_state(cl->db, m.reqid, O_NEW) == 0 &&
		    outbox_get(cl->db, m.reqid, &it, NULL) == 1)
			cl->resend_at = mono_ms() + CLIENT_RESEND_MS;
		return;
	}
	if (outbox_get(cl->db, m.reqid, &it, NULL) != 1 || it.state >= O_DONE) {
		cl->duplicates++;
		log_debug("req=%s answer for an unknown or answered request", id);
		return;
	}
	/* files first: a crash before the commit gets the same answer again;
	 * an answer whose file cannot be written (a full disk) is not stored
	 * and is asked for again, so that webdb never misses a result */
	if (client_write_result(cl, &it, &m) == -1) {
		(void)outbox_set_state(cl->db, m.reqid, O_NEW);	/* to be resent */
		client_result_failed(cl, id);
		return;
	}
	r = outbox_answer(cl->db, m.reqid, m.type == MSG_ERROR ? O_FAILED : O_DONE,
	    m.type == MSG_ERROR ? m.code : 0, p, n);
	if (r == -1) {
		log_warnx("req=%s cannot store the answer; it will be asked for again", id);
		cl->resend_at = mono_ms() + CLIENT_RESEND_MS;
		return;
	}
	cl->answers++;
	if (m.type == MSG_ERROR)
		log_info("req=%s failed: %u %.*s", id, m.code, (int)m.text.len, m.text.p);
	else
		log_info("req=%s answered: %s", id, msg_type_name(m.type));
}

static void
client_on_delivered(void *arg, uint64_t tag)
{
	struct client *cl = arg;

	if (tag > 0)
		outbox_set_sent(cl->db, (int64_t)tag);
	cl->send_now = 1;	/* room on the link: top it up without waiting */
}

static void
client_on_up(void *arg)
{
	struct client *cl = arg;

	if (cl->l->resumed) {
		/* both streams go on: what linkd holds is not sent again, and
		 * what it sent is still on its way */
		log_info("link up: session resumed; nothing is sent again");
		cl->send_now = 1;
		return;
	}
	log_info("link up: sending every unanswered request");
	cl->sent_upto = 0;
	cl->next_time = 0;
	cl->send_now = 1;
	mirror_link_up(cl->mirror);
	serialsync_link_up(cl->serials);
}

static void
client_on_down(void *arg)
{
	(void)arg;
	log_info("link down");
}

/*
 * Group commit: the answers (and delivery notes) one read of the cable
 * brings are stored in one outbox.db transaction, committed before the
 * link acknowledges them (transport_link_write). A turn that cannot be
 * committed loses its answers' rows, not the result files already
 * written: the requests stay unanswered and are asked for again, as an
 * answer that cannot be stored always was.
 */
static void
client_cable_io(struct client *cl, short revents, uint64_t now)
{
	int r, turn = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR))
		turn = outbox_begin(cl->db) == 0;
	r = transport_link_read(&cl->t, cl->l, revents, now);
	/* the result files' renames are durable before their answers are */
	if (spool_batch_count(&cl->results) > 0 && client_sync_results(cl) == -1 &&
	    turn) {
		outbox_rollback(cl->db);
		turn = 0;
		client_result_failed(cl, NULL);
		cl->resend_all = 1;
	}
	if (turn && outbox_commit(cl->db) == -1) {
		log_warnx("outbox: cannot commit the answers of this read; they "
		    "will be asked for again");
		cl->resend_at = mono_ms() + CLIENT_RESEND_MS;
		cl->resend_all = 1;
	}
	if (r == -1 || transport_link_write(&cl->t, cl->l, now) == -1) {
		log_warnx("cable: device lost; reopening");
		cl->t.ops->close(&cl->t);
		link_reset(cl->l);
	}
}

static void
client_tick(struct client *cl, uint64_t now)
{
	if (cl->t.fd == -1 && now >= cl->retry_at) {
		cl->retry_at = now + 1000;
		transport_reopen(&cl->t, now);
	}
	if (cl->resend_at && now >= cl->resend_at && link_ready(cl->l)) {
		cl->resend_at = 0;
		outbox_pending(cl->db, 0, 256, client_resend_one, cl);
		cl->resend_all = 0;
	}
	if (cl->send_now) {
		cl->send_now = 0;
		client_send_pending(cl);
	}
	if (now >= cl->next_scan) {
		cl->next_scan = now + CLIENT_SCAN_MS;
		client_scan_spool(cl);
		if (cl->crl != NULL)
			crlsync_tick(cl->crl, cl->db, time(NULL));
		client_send_pending(cl);
	}
	if (link_ready(cl->l) && now >= cl->next_time) {
		cl->next_time = now + (uint64_t)cl->c.time_interval * 1000;
		client_send_time(cl);
	}
	mirror_tick(cl->mirror, cl->l, now, cl->db);
	if (link_ready(cl->l))
		serialsync_tick(cl->serials, now, mirror_catchup_active(cl->mirror));
	retention_tick(&cl->ret, now);
}

/* serialsync's way onto the link */
static int
client_link_send(void *arg, const uint8_t *p, size_t n)
{
	struct client *cl = arg;

	return link_send(cl->l, p, n, 0);
}

static int
client_run(struct client *cl)
{
	static const struct link_cb cb = {
		client_on_up, client_on_down, client_on_message, client_on_delivered
	};
	struct link_params lp;
	struct pollfd pfd;
	uint8_t key[LINK_KEY_LEN];
	char why[1024];
	uint64_t now;
	int timeout;

	if (linkkey_load(cl->c.link.key_file, key, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (transport_init(&cl->t, &cl->c.link, why, sizeof(why)) == -1)
		fatalx("%s", why);
	link_params_default(&lp, cl->c.link.pace ? cl->c.link.baud : 0);
	lp.max_payload = cl->c.link.max_payload;
	lp.window = cl->c.link.window;
	lp.revision = cl->c.link.revision;
	if ((cl->l = link_new(LINK_INITIATOR, key, &lp, &cb, cl)) == NULL ||
	    (cl->crl = crlsync_new(&cl->c)) == NULL ||
	    (cl->mirror = mirror_new(&cl->c)) == NULL ||
	    (cl->serials = serialsync_new(&cl->c, cl->db, client_link_send, cl)) == NULL)
		fatalx("out of memory");
	crypto_cleanse(key, sizeof(key));
	proc_signals();
	sandbox_enter("client", &cl->c);
	retention_init(&cl->ret, cl->db, outbox_prune, "outbox.db",
	    "answered requests", cl->c.client_retention_days, mono_ms());
	log_info("started: cable %s, outbox %s, spool %s", cl->c.link.device,
	    cl->c.outbox_db, cl->c.spool_dir);
	while (!proc_quit) {
		now = mono_ms();
		client_tick(cl, now);
		transport_publish(&cl->t, cl->l, now);
		if (cl->t.fd != -1)
			link_pump(cl->l, now);
		/* no cable: nothing to time but the next open and scan */
		timeout = cl->t.fd == -1 ? CLIENT_SCAN_MS : link_timeout_ms(cl->l, now);
		if (timeout > CLIENT_SCAN_MS)
			timeout = CLIENT_SCAN_MS;
		pfd.fd = cl->t.fd;
		pfd.events = POLLIN | (link_write_allowance(cl->l, now) && cl->l->out.len ? POLLOUT : 0);
		if (poll(&pfd, 1, timeout) == -1 && errno != EINTR)
			fatal("poll");
		if (cl->t.fd != -1)
			client_cable_io(cl, pfd.revents, mono_ms());
	}
	link_stats_line(cl->l, why, sizeof(why));
	log_info("stopping: %llu answers, %llu duplicate answers, %llu pruned; "
	    "link %s", (unsigned long long)cl->answers,
	    (unsigned long long)cl->duplicates, (unsigned long long)cl->ret.pruned, why);
	transport_free(&cl->t);
	link_free(cl->l);
	crlsync_free(cl->crl);
	mirror_free(cl->mirror);
	serialsync_free(cl->serials);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct client cl;
	struct proc_opts o;
	const char *cmd;
	int i;

	i = proc_options(argc, argv, &o, usage);
	if (!o.config_given)
		o.config = PROC_CLIENT_CONFIG;	/* its own file, not the signer's */
	if (i >= argc && !o.check) {
		fputs(usage, stderr);
		return 2;
	}
	cmd = i < argc ? argv[i] : "run";
	if (strcmp(cmd, "run") != 0)
		o.foreground = 1;
	if (strcmp(cmd, "restore") == 0)	/* a fresh host: no configuration yet */
		return client_restore_cmd(argc - i, argv + i);
	proc_config(&o, &cl.c, "airlock-client");
	if (strcmp(cmd, "backup") == 0)
		return client_backup_cmd(&cl.c, argc - i, argv + i);
	buf_init(&cl.tmp);
	if (state_open(&cl.c, cmd, argc - i, argv + i, &cl.db) == -1)
		fatalx("%s: cannot open the outbox", cl.c.outbox_db);
	if (strcmp(cmd, "run") == 0)
		return client_run(&cl);
	sandbox_enter("client-cmd", &cl.c);	/* the one-shot commands */
	if (strcmp(cmd, "submit") == 0)
		return client_submit(&cl, argc - i, argv + i);
	if (strcmp(cmd, "result") == 0 && argc - i == 2)
		return client_result_one(&cl, argv[i + 1], 1);
	if (strcmp(cmd, "wait") == 0 && argc - i >= 2)
		return client_wait(&cl, argc - i, argv + i);
	if (strcmp(cmd, "revoke") == 0)
		return revoke_command(&cl.c, cl.db, argc - i, argv + i);
	if (strcmp(cmd, "pgp-certify") == 0)
		return pgp_client_command(cl.db, argc - i, argv + i);
	if (strcmp(cmd, "audit") == 0)
		return mirror_command(&cl.c, argc - i, argv + i);
	if (strcmp(cmd, "crl") == 0)
		return crlsync_command(&cl.c, cl.db, argc - i, argv + i);
	if (strcmp(cmd, "status") == 0)
		return client_status(&cl, argc - i, argv + i);
	if (strcmp(cmd, "prune") == 0 && argc - i == 1)
		return client_prune_cmd(&cl.c, cl.db);
	if (strcmp(cmd, "usb") == 0 && argc - i == 1)
		return transport_show(&cl.c.link, stdout) == 0 ? 0 : 1;
	fputs(usage, stderr);
	return 2;
}
