/*
 * renew.c: airlock-ocspd renews its responder certificates itself
 * (docs/ocsp.md, "Responder certificates"). The key never leaves
 * cache_dir: the responder makes it, and sends the offline CA only a
 * PKCS#10 request, through the normal request path, the spool that the
 * web application writes too (docs/architecture.md section 6):
 *
 *   1. the certificate in use is in its renewal window (ocspd_renew_at),
 *      or there is none that is valid: a new key like the old one goes to
 *      cache_dir/ROOT.next.key (0600), then cache_dir/ROOT.renew says
 *      "pending" with the request's spool name and id;
 *   2. spool/in/NAME.req (0640, the client's group reads it) with root=,
 *      profile=, id= and the request; ROOT.renew then says "submitted",
 *      and the file is never written again for that id;
 *   3. each refresh looks for out/NAME.crt or err/NAME.err. A certificate
 *      is taken only if it matches the new key, was issued by the root,
 *      carries OCSPSigning and is valid now (ocsp_signer_load_mem); key
 *      and certificate then go into cache_dir/ROOT.responder.pem in one
 *      rename, and the responder switches to it at once. An error answer
 *      or a refused certificate is logged and counted, and a new attempt
 *      (a new key and id) follows 10 minutes later, then 20, 40, ... up
 *      to a day; SIGHUP tries again at once.
 *
 * Every step is written down before the next one begins, so a crash
 * anywhere loses nothing and submits nothing twice: a pending request
 * not yet marked submitted is written again with the same id (the client
 * answers one id once), and an answer found again after a crash between
 * installing and forgetting the request is installed again, the same.
 * Nothing read from the spool is trusted: the answer files are read
 * without following links (spool_read), and a certificate for any other
 * key is refused, whoever wrote it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "ocspd.h"

#define RENEW_FIRST_WAIT	600	/* seconds after a first failure */
#define RENEW_MAX_WAIT		86400
#define RENEW_ANSWER_MAX	(64 * 1024)	/* bytes of out/NAME.crt */
#define RENEW_WARN_AFTER	86400	/* a renewal this old is warned about daily */
#define RENEW_EARLY_MAX		3600	/* an answer valid this much later is waited for */

static const char *const renew_states[] = { "idle", "pending", "waiting" };

const char *
ocspd_renew_state_name(int s)
{
	return s >= RENEW_IDLE && s <= RENEW_WAITING ? renew_states[s] : "?";
}

/* When one pair should be renewed. */
static int64_t
renew_pair_at(const struct ocspd *o, const struct ocspd_pair *p, int which)
{
	int64_t life = p->not_after - p->not_before, win = life / 3;

	if ((int64_t)o->c->ocsp.renew_days * 86400 > win)
		win = (int64_t)o->c->ocsp.renew_days * 86400;
	/* one it made itself is not renewed before half its life, so that a
	 * renew_days longer than the profile's validity cannot loop */
	if (which == OCSPD_RENEWED && win > life / 2)
		win = life / 2;
	return p->not_after - win;
}

/* The latest of the pairs' renewal points: a renewed certificate that is
 * not in use (the configured one lasts longer) still counts, or a profile
 * with a shorter validity than the first certificate's would renew over
 * and over. */
int64_t
ocspd_renew_at(const struct ocspd *o, const struct ocspd_root *r)
{
	int64_t at = 0, t;
	int i;

	for (i = 0; i < OCSPD_NPAIRS; i++)
		if (r->pair[i].signer != NULL &&
		    (t = renew_pair_at(o, &r->pair[i], i)) > at)
			at = t;
	return at;
}

static void
renew_path(const struct ocspd *o, const struct ocspd_root *r, const char *ext,
    char *out, size_t outsz)
{
	snprintf(out, outsz, "%s/%s%s", o->c->ocsp.cache_dir, r->cfg->name, ext);
}

/* A folder's entries reach the disk (after a rename into it). */
static void
renew_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd != -1) {
		(void)fsync(fd);
		close(fd);
	}
}

/* --- cache_dir/ROOT.renew --- */

static int
renew_save(const struct ocspd *o, const struct ocspd_root *r)
{
	const struct ocspd_renewal *w = &r->renewal;
	char path[CFG_PATH + 80], text[600];
	int n;

	renew_path(o, r, ".renew", path, sizeof(path));
	if (w->state == RENEW_IDLE) {
		if (unlink(path) == -1 && errno != ENOENT) {
			log_warn("%s", path);
			return -1;
		}
		return 0;
	}
	n = snprintf(text, sizeof(text), "state=%s\nname=%s\nid=%s\nsubmitted=%d\n"
	    "since=%lld\nretry_at=%lld\nfailures=%u\nerror=%s\n",
	    ocspd_renew_state_name(w->state), w->name, w->id, w->submitted,
	    (long long)w->since, (long long)w->retry_at, w->failures, w->error);
	if (write_file_atomic(path, text, (size_t)n, 0600) == -1) {
		log_warn("%s", path);
		return -1;
	}
	renew_sync_dir(o->c->ocsp.cache_dir);
	return 0;
}

static void
renew_field(struct ocspd_renewal *w, const char *k, const char *v, int *bad)
{
	long long n;

	if (strcmp(k, "state") == 0)
		w->state = strcmp(v, "pending") == 0 ? RENEW_PENDING :
		    strcmp(v, "waiting") == 0 ? RENEW_WAITING : (*bad = 1, RENEW_IDLE);
	else if (strcmp(k, "name") == 0)
		*bad |= snprintf(w->name, sizeof(w->name), "%s", v) >= (int)sizeof(w->name);
	else if (strcmp(k, "id") == 0)
		*bad |= snprintf(w->id, sizeof(w->id), "%s", v) >= (int)sizeof(w->id);
	else if (strcmp(k, "error") == 0)
		snprintf(w->error, sizeof(w->error), "%s", v);
	else if (parse_num(v, 0, INT64_MAX, &n) == -1)
		*bad = 1;
	else if (strcmp(k, "submitted") == 0)
		w->submitted = n != 0;
	else if (strcmp(k, "since") == 0)
		w->since = n;
	else if (strcmp(k, "retry_at") == 0)
		w->retry_at = n;
	else if (strcmp(k, "failures") == 0)
		w->failures = (unsigned)(n > 1000 ? 1000 : n);
}

/* ROOT.renew as the last run left it; a file that does not read is
 * forgotten (said once): the renewal begins again. */
static void
renew_load(const struct ocspd *o, struct ocspd_root *r)
{
	struct ocspd_renewal *w = &r->renewal;
	char path[CFG_PATH + 80], *line, *next, *eq;
	struct buf b;
	int bad = 0;

	w->loaded = 1;
	renew_path(o, r, ".renew", path, sizeof(path));
	buf_init(&b);
	if (read_file(path, &b, 4096) == -1 || buf_put_u8(&b, 0) == -1) {
		buf_free(&b);
		return;
	}
	for (line = (char *)b.p; line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL) {
			bad = 1;
			continue;
		}
		*eq = '\0';
		renew_field(w, line, eq + 1, &bad);
	}
	buf_free(&b);
	if (w->state == RENEW_PENDING && (!spool_name_ok(w->name) || strlen(w->id) != 32))
		bad = 1;
	if (bad) {
		log_warnx("root %s: %s does not read as a renewal: forgotten, the renewal "
		    "begins again", r->cfg->name, path);
		memset(w, 0, sizeof(*w));
		w->loaded = 1;
		return;
	}
	if (w->state == RENEW_PENDING)
		log_info("root %s: renewal request %s %s before the restart", r->cfg->name,
		    w->name, w->submitted ? "is still waiting for its answer" :
		    "was not yet submitted");
}

/* --- the steps --- */

/* A failure: logged and counted by the caller; the next attempt later. */
static void
renew_failed(struct ocspd *o, struct ocspd_root *r, int64_t now, const char *error)
{
	struct ocspd_renewal *w = &r->renewal;
	char key[CFG_PATH + 80];
	int64_t wait = RENEW_FIRST_WAIT;
	unsigned i;

	for (i = 0; i < w->failures && wait < RENEW_MAX_WAIT; i++)
		wait *= 2;
	if (wait > RENEW_MAX_WAIT)
		wait = RENEW_MAX_WAIT;
	w->failures++;
	w->state = RENEW_WAITING;
	w->retry_at = now + wait;
	w->submitted = 0;
	w->name[0] = w->id[0] = '\0';
	snprintf(w->error, sizeof(w->error), "%s", error);
	renew_path(o, r, ".next.key", key, sizeof(key));
	(void)unlink(key);
	(void)renew_save(o, r);
	log_warnx("root %s: renewal failed (%u so far): %s; next attempt in %lld s",
	    r->cfg->name, w->failures, error, (long long)wait);
}

/* The key to copy the kind of: the pair in use, else the configured one. */
static const struct ocspd_pair *
renew_model(const struct ocspd_root *r)
{
	return r->active >= 0 ? &r->pair[r->active] : &r->pair[OCSPD_CONF];
}

/* 1: a new key in ROOT.next.key, a new name and id in ROOT.renew. */
static int
renew_begin(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	struct ocspd_renewal *w = &r->renewal;
	char path[CFG_PATH + 80], kind[32], why[256];
	uint8_t id[16];
	struct buf key;

	buf_init(&key);
	if (ocsp_key_new(renew_model(r)->key, &key, kind, sizeof(kind), why,
	    sizeof(why)) == -1 || crypto_random(id, sizeof(id)) == -1) {
		buf_free(&key);
		o->count[OC_RENEW_FAILED]++;
		renew_failed(o, r, now, why);
		return 0;
	}
	renew_path(o, r, ".next.key", path, sizeof(path));
	if (write_file_atomic(path, key.p, key.len, 0600) == -1) {
		snprintf(why, sizeof(why), "%s: %s", path, strerror(errno));
		buf_free(&key);
		o->count[OC_RENEW_FAILED]++;
		renew_failed(o, r, now, why);
		return 0;
	}
	buf_free(&key);
	hex_encode(id, sizeof(id), w->id);
	snprintf(w->name, sizeof(w->name), "ocsp-%s-%.16s", r->cfg->name, w->id);
	if (w->state == RENEW_IDLE)
		w->since = now;
	w->state = RENEW_PENDING;
	w->submitted = 0;
	if (renew_save(o, r) == -1) {	/* unrecorded, it could be sent twice */
		o->count[OC_RENEW_FAILED]++;
		renew_failed(o, r, now, "the renewal cannot be recorded in cache_dir");
		return 0;
	}
	log_info("root %s: renewal started: a new %s key, request %s (certificate %s, "
	    "renewal from %lld)", r->cfg->name, kind, w->name, r->active < 0 ? "none valid" :
	    r->pair[r->active].serial, (long long)ocspd_renew_at(o, r));
	return 1;
}

/* The request file's text: header lines, then the PKCS#10 request. */
static int
renew_request(const struct ocspd *o, const struct ocspd_root *r, struct buf *text,
    char *why, size_t whysz)
{
	char path[CFG_PATH + 80], head[300], fallback[AIRLOCK_NAME_MAX + 40];
	struct buf key, csr;
	int n, rc = -1;

	buf_init(&key);
	buf_init(&csr);
	renew_path(o, r, ".next.key", path, sizeof(path));
	snprintf(fallback, sizeof(fallback), "/CN=%s OCSP responder", r->cfg->name);
	if (read_file(path, &key, 1 << 20) == -1)
		say(why, whysz, "%s: %s", path, strerror(errno));
	else if (ocsp_csr_new(key.p, key.len, r->cfg->subject, renew_model(r)->cert,
	    fallback, &csr, why, whysz) == 0) {
		n = snprintf(head, sizeof(head), "# airlock-ocspd: a responder certificate "
		    "for %s\nroot=%s\nprofile=%s\nid=%s\n", r->cfg->name, r->cfg->name,
		    o->c->ocsp.profile, r->renewal.id);
		buf_reset(text);
		rc = buf_put(text, head, (size_t)n) == -1 ||
		    buf_put(text, csr.p, csr.len) == -1 ? -1 : 0;
	}
	buf_free(&key);
	buf_free(&csr);
	return rc;
}

/* 2: spool/in/NAME.req, group-readable for airlock-client. */
static void
renew_submit(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	struct ocspd_renewal *w = &r->renewal;
	char path[CFG_PATH + 160], dir[CFG_PATH + 8], why[400];
	struct buf text;
	int rc;

	buf_init(&text);
	snprintf(dir, sizeof(dir), "%s/in", o->c->spool_dir);
	if ((rc = renew_request(o, r, &text, why, sizeof(why))) == 0 &&
	    (spool_path(o->c->spool_dir, "in", w->name, ".req", path, sizeof(path)) == -1 ||
	    write_file_atomic(path, text.p, text.len, 0640) == -1)) {
		snprintf(why, sizeof(why), "cannot write %s/%s.req: %s", dir, w->name,
		    strerror(errno));
		rc = -1;
	}
	buf_free(&text);
	if (rc == -1) {
		o->count[OC_RENEW_FAILED]++;
		renew_failed(o, r, now, why);
		return;
	}
	renew_sync_dir(dir);
	w->submitted = 1;
	(void)renew_save(o, r);
	o->count[OC_RENEW_REQUESTS]++;
	log_info("root %s: renewal request %s submitted (profile %s, id %s)", r->cfg->name,
	    path, o->c->ocsp.profile, w->id);
}

/* An answer file: 1, 0 when there is none yet, -1 when it (or its folder)
 * cannot be read, with a sentence. */
static int
renew_answer(const struct ocspd *o, const char *sub, const char *name,
    const char *ext, struct buf *b, char *why, size_t whysz)
{
	char dir[CFG_PATH + 8], file[SPOOL_NAME_MAX + 16];
	struct stat st;
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s/%s", o->c->spool_dir, sub);
	snprintf(file, sizeof(file), "%s%s", name, ext);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		say(why, whysz, "cannot open %s: %s", dir, strerror(errno));
		return errno == ENOENT ? 0 : -1;	/* the client makes it */
	}
	if (fstatat(fd, file, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		say(why, whysz, "cannot look at it: %s", strerror(errno));
		rc = errno == ENOENT ? 0 : -1;
	} else
		rc = spool_read(fd, file, b, RENEW_ANSWER_MAX, why, whysz) == 0 ? 1 : -1;
	close(fd);
	return rc;
}

/* The first line of an error answer, printable. */
static void
renew_err_line(const struct buf *b, char *out, size_t outsz)
{
	size_t i, n = 0;

	for (i = 0; i < b->len && b->p[i] != '\n' && n + 1 < outsz; i++)
		out[n++] = b->p[i] >= 0x20 && b->p[i] < 0x7f ? (char)b->p[i] : '?';
	out[n] = '\0';
}

/* 3: key and certificate into ROOT.responder.pem, one rename; the
 * request forgotten. */
static int
renew_install(struct ocspd *o, struct ocspd_root *r, const struct buf *key,
    const struct buf *cert, const struct ocsp_signer *s, int64_t now)
{
	struct ocspd_renewal *w = &r->renewal;
	char path[CFG_PATH + 80], serial[2 * OCSP_SERIAL_MAX + 2];
	int64_t nb, na;
	struct buf pem;
	int rc;

	buf_init(&pem);
	rc = buf_put(&pem, key->p, key->len) == -1 || buf_put(&pem, cert->p, cert->len) ==
	    -1 || write_file_atomic(r->renewed, pem.p, pem.len, 0600) == -1 ? -1 : 0;
	buf_free(&pem);
	if (rc == -1) {
		log_warn("root %s: %s", r->cfg->name, r->renewed);
		return -1;	/* the answer stays; tried again at the next look */
	}
	renew_sync_dir(o->c->ocsp.cache_dir);
	ocsp_signer_info(s, serial, &nb, &na);
	o->count[OC_RENEW_INSTALLED]++;
	log_info("root %s: new responder certificate %s installed (%s, valid until %lld; "
	    "request %s, %lld s after the renewal began)", r->cfg->name, serial,
	    r->renewed, (long long)na, w->name, (long long)(now - w->since));
	if (r->active >= 0 && na <= r->pair[r->active].not_after)
		log_warnx("root %s: the new certificate expires no later than the one in "
		    "use (%s): the profile %s gives too short a validity", r->cfg->name,
		    r->pair[r->active].serial, o->c->ocsp.profile);
	renew_path(o, r, ".next.key", path, sizeof(path));
	memset(w, 0, sizeof(*w));
	w->loaded = 1;
	(void)renew_save(o, r);
	(void)unlink(path);
	return 0;
}

/* 1 when the answer fails only for its notBefore, a little ahead: the
 * signer's clock (offline, corrected by hand) runs ahead of webdb's. It is
 * taken once it is valid; until then the pair in use answers. */
static int
renew_early(struct ocspd_root *r, const struct buf *key, const struct buf *cert,
    int64_t now)
{
	struct ocsp_signer *s = NULL;
	char why[256];
	int64_t until;

	if (ocsp_signer_load_mem(r->issuer, key->p, key->len, cert->p, cert->len,
	    now + RENEW_EARLY_MAX, &s, &until, why, sizeof(why)) == -1)
		return 0;
	ocsp_signer_free(s);
	if (!r->renewal.early)
		log_warnx("root %s: the answer to %s is not valid yet (the signer's clock "
		    "is ahead of webdb's): it is installed once it is", r->cfg->name,
		    r->renewal.name);
	r->renewal.early = 1;
	return 1;
}

/* A certificate in out/NAME.crt: checked against the new key, installed. */
static int
renew_take(struct ocspd *o, struct ocspd_root *r, const struct buf *cert, int64_t now)
{
	struct ocsp_signer *s = NULL;
	char path[CFG_PATH + 80], why[300], error[400];
	int64_t until;
	struct buf key;
	int rc = 0;

	buf_init(&key);
	renew_path(o, r, ".next.key", path, sizeof(path));
	if (read_file(path, &key, 1 << 20) == -1)
		snprintf(why, sizeof(why), "%s: %s", path, strerror(errno));
	else if (memmem(cert->p, cert->len, "-----BEGIN CERTIFICATE", 22) == NULL)
		snprintf(why, sizeof(why), "the certificate is not PEM");
	else if (ocsp_signer_load_mem(r->issuer, key.p, key.len, cert->p, cert->len, now,
	    &s, &until, why, sizeof(why)) == -1 && renew_early(r, &key, cert, now)) {
		buf_free(&key);
		return 0;	/* looked at again at the next refresh */
	}
	if (s == NULL) {
		snprintf(error, sizeof(error), "the answer to %s is refused: %s",
		    r->renewal.name, why);
		o->count[OC_RENEW_REFUSED]++;
		renew_failed(o, r, now, error);
	} else if (renew_install(o, r, &key, cert, s, now) == 0)
		rc = 1;
	ocsp_signer_free(s);
	buf_free(&key);
	return rc;
}

/* 3: an answer yet? 1 when a new pair was installed. */
static int
renew_poll(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	struct ocspd_renewal *w = &r->renewal;
	char why[256], line[200], error[400];
	struct buf b;
	int rc = 0, got;

	buf_init(&b);
	if ((got = renew_answer(o, "out", w->name, ".crt", &b, why, sizeof(why))) == 1)
		rc = renew_take(o, r, &b, now);
	else if (got == -1) {
		snprintf(error, sizeof(error), "out/%s.crt: %s", w->name, why);
		o->count[OC_RENEW_REFUSED]++;
		renew_failed(o, r, now, error);
	} else if ((got = renew_answer(o, "err", w->name, ".err", &b, why,
	    sizeof(why))) != 0) {
		if (got == 1) {
			renew_err_line(&b, line, sizeof(line));
			snprintf(error, sizeof(error), "request %s answered with an "
			    "error: %s", w->name, line);
		} else
			snprintf(error, sizeof(error), "err/%s.err: %s", w->name, why);
		o->count[OC_RENEW_FAILED]++;
		renew_failed(o, r, now, error);
	}
	buf_free(&b);
	return rc;
}

/* Once a day while a renewal has not succeeded for a day, or while the
 * certificate needs one and renewal is off. */
static void
renew_warn(struct ocspd *o, struct ocspd_root *r, int64_t now, int64_t at)
{
	struct ocspd_renewal *w = &r->renewal;
	int64_t left = r->active >= 0 ? r->pair[r->active].not_after - now : 0;

	if (now < at || now - w->warned < 86400)
		return;
	if (o->c->ocsp.renew && (w->state == RENEW_IDLE || now - w->since < RENEW_WARN_AFTER))
		return;
	w->warned = now;
	if (!o->c->ocsp.renew)
		log_warnx("root %s: the responder certificate expires in %lld hours and "
		    "ocsp.renew is off: request a new one with profile %s (docs/ocsp.md)",
		    r->cfg->name, (long long)left / 3600, o->c->ocsp.profile);
	else
		log_warnx("root %s: no new responder certificate after %lld hours of trying "
		    "(%s%s%s); the one in use expires in %lld hours", r->cfg->name,
		    (long long)(now - w->since) / 3600, ocspd_renew_state_name(w->state),
		    w->error[0] ? ": " : "", w->error, (long long)left / 3600);
}

static int
renew_root(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	struct ocspd_renewal *w = &r->renewal;
	int64_t at = ocspd_renew_at(o, r);

	if (!w->loaded)
		renew_load(o, r);
	renew_warn(o, r, now, at);
	if (!o->c->ocsp.renew)
		return 0;
	if (w->state == RENEW_WAITING && now < w->retry_at)
		return 0;
	if (w->state != RENEW_PENDING) {
		if (now < at) {		/* no longer needed (a certificate put in by hand) */
			if (w->state != RENEW_IDLE) {
				memset(w, 0, sizeof(*w));
				w->loaded = 1;
				(void)renew_save(o, r);
			}
			return 0;
		}
		if (!renew_begin(o, r, now))
			return 0;
	}
	if (!w->submitted) {
		renew_submit(o, r, now);
		return 0;
	}
	return renew_poll(o, r, now);
}

int
ocspd_renew(struct ocspd *o, int64_t now)
{
	int i, installed = 0;

	for (i = 0; i < o->n; i++)
		installed |= renew_root(o, &o->roots[i], now);
	return installed;
}

void
ocspd_renew_retry_now(struct ocspd *o)
{
	int i;

	for (i = 0; i < o->n; i++)
		if (o->roots[i].renewal.state == RENEW_WAITING)
			o->roots[i].renewal.retry_at = 0;
}
