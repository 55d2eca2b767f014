/*
 * sources.c: where airlock-ocspd learns what it answers, all of it
 * already on webdb (docs/ocsp.md):
 *   crl_dir/ROOT.crl      the newest full CRL airlock-client published
 *                         (verified against the root's CA certificate);
 *                         a delta's entries are already in it;
 *   outbox.db             the certificates that came back over the cable
 *                         (answered SIGN requests; read-only);
 *   cache_dir/ROOT.known  serials learned from outbox.db, one hex serial
 *                         a line, so they stay known after the outbox's
 *                         retention has pruned the answers;
 *   ocsp.roots[].index    an openssl ca index.txt, for certificates issued
 *                         before airlock (every serial in it is known);
 *   ocsp.roots[].key, .cert and cache_dir/ROOT.responder.pem
 *                         the responder's key and certificate as
 *                         configured, and as its renewal installed them
 *                         (renew.c): the valid one that expires last signs.
 * Each is looked at every ocsp.refresh seconds and read again only when
 * it changed; a file that does not verify leaves the old state in place.
 * crl_dir/ROOT.serials, which airlock-client only appends to (a million
 * lines for a root imported from an `openssl ca` directory), is read from
 * where the last look ended; it is read whole only when it is another file
 * (a new inode) or shorter than what was read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "msg.h"
#include "outbox.h"
#include "ocspd.h"

#define OCSPD_OUTBOX_BATCH	2000	/* answers read per refresh */
#define OCSPD_INDEX_MAX		(256u << 20)

static const char *const ocspd_counter_names[OC_NCOUNTERS] = {
	"requests", "good", "revoked", "unknown", "malformed", "unauthorized",
	"trylater", "internal", "cache_hits", "signatures", "nonces", "oversized",
	"bad_http", "presigned", "presign_passes", "renew_requests", "renew_installed",
	"renew_failed", "renew_refused",
};

const char *
ocspd_counter_name(int i)
{
	return i >= 0 && i < OC_NCOUNTERS ? ocspd_counter_names[i] : "?";
}

/* 1 if path changed since *mtime / *size (which are updated), 0 not, -1 gone. */
static int
ocspd_changed(const char *path, struct timespec *mtime, off_t *size)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	if (st.st_mtim.tv_sec == mtime->tv_sec && st.st_mtim.tv_nsec == mtime->tv_nsec &&
	    st.st_size == *size)
		return 0;
	*mtime = st.st_mtim;
	*size = st.st_size;
	return 1;
}

static int
ocspd_add_revoked(void *arg, const uint8_t *serial, size_t len, int64_t when, int reason)
{
	return sset_add(arg, serial, len, when, reason) == -1 ? -1 : 0;
}

static void
ocspd_refresh_crl(struct ocspd *o, struct ocspd_root *r)
{
	char path[CFG_PATH + 80], why[256];
	struct crl_info info;
	struct sset rev = { NULL, 0, 0 };
	struct buf der;

	snprintf(path, sizeof(path), "%s/%s.crl", o->c->crl_dir, r->cfg->name);
	if (ocspd_changed(path, &r->crl_mtime, &r->crl_size) != 1)
		return;
	buf_init(&der);
	if (read_file(path, &der, 1u << 30) == -1 ||
	    crl_verify(r->crl_issuer, der.p, der.len, MSG_CRL_FULL, &info, why,
	    sizeof(why)) == -1) {
		log_warnx("%s: not taken: %s", path, der.len ? why : "cannot read");
		goto done;
	}
	if (r->have_crl && info.number < r->crl.number) {
		log_warnx("%s: CRL %lld is older than %lld held: not taken", path,
		    (long long)info.number, (long long)r->crl.number);
		goto done;
	}
	if (ocsp_crl_each(der.p, der.len, ocspd_add_revoked, &rev) != 0) {
		log_warnx("%s: cannot read its entries", path);
		sset_free(&rev);
		goto done;
	}
	sset_free(&r->revoked);
	r->revoked = rev;
	r->crl = info;
	r->have_crl = 1;
	r->gen++;
	ocspd_presign_restart(o);
	log_info("root %s: CRL %lld, %zu revoked, next update %lld", r->cfg->name,
	    (long long)info.number, rev.n, (long long)info.next_update);
done:
	buf_free(&der);
}

/* Loads a pair again when one of its files changed (1; else 0); a pair
 * that cannot be used says why once. */
static int
ocspd_pair_look(const struct ocspd_root *r, struct ocspd_pair *p, int which, int64_t now)
{
	struct ocsp_signer *s = NULL;
	char why[256] = "";
	int64_t until;
	int chk = ocspd_changed(p->key, &p->key_mtime, &p->key_size);
	int chc = ocspd_changed(p->cert, &p->cert_mtime, &p->cert_size);

	if (chk == 0 && chc == 0)
		return 0;
	ocsp_signer_free(p->signer);
	p->signer = NULL;
	if (chk == -1 && chc == -1 && which == OCSPD_RENEWED)
		return 1;	/* nothing renewed yet, or no longer */
	if (ocsp_signer_load(r->issuer, p->key, p->cert, now, &s, &until, why,
	    sizeof(why)) == -1) {
		if (strcmp(why, p->why) != 0)
			log_warnx("root %s: responder certificate %s refused: %s",
			    r->cfg->name, p->cert, why);
		snprintf(p->why, sizeof(p->why), "%s", why);
		return 1;
	}
	p->signer = s;
	p->why[0] = '\0';
	ocsp_signer_info(s, p->serial, &p->not_before, &p->not_after);
	return 1;
}

/* The pair that signs: valid now, and of those the one that expires
 * last (the renewed one when they tie). */
static int
ocspd_pair_best(const struct ocspd_root *r, int64_t now)
{
	int i, best = -1;

	for (i = 0; i < OCSPD_NPAIRS; i++) {
		const struct ocspd_pair *p = &r->pair[i];

		if (p->signer != NULL && now >= p->not_before && now < p->not_after &&
		    (best == -1 || p->not_after >= r->pair[best].not_after))
			best = i;
	}
	return best;
}

static void
ocspd_refresh_signer(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	int i, best, reloaded[OCSPD_NPAIRS];

	for (i = 0; i < OCSPD_NPAIRS; i++)
		reloaded[i] = ocspd_pair_look(r, &r->pair[i], i, now);
	best = ocspd_pair_best(r, now);
	/* the same pair, not read again (a new signer may reuse the old's
	 * address: the pointers cannot tell) */
	if (best == r->active && (best == -1 || !reloaded[best]))
		return;
	r->active = best;
	r->signer = best == -1 ? NULL : r->pair[best].signer;
	r->signer_until = best == -1 ? 0 : r->pair[best].not_after;
	r->gen++;	/* every response of the root is signed again */
	ocspd_presign_restart(o);
	if (best == -1)
		log_warnx("root %s: no valid responder certificate: it answers tryLater",
		    r->cfg->name);
	else
		log_info("root %s: responder certificate %s (%s) valid until %lld",
		    r->cfg->name, r->pair[best].serial, best == OCSPD_CONF ? r->cfg->cert :
		    r->renewed, (long long)r->signer_until);
}

/* The serials of text (NUL-terminated): a hex serial per line, or openssl
 * ca's index.txt (index set), whose fourth tab-separated field is the
 * serial. Logs what it added, naming path. */
static void
ocspd_add_serials(struct ocspd *o, int ri, char *text, int index, const char *path)
{
	struct ocspd_root *r = &o->roots[ri];
	uint8_t serial[OCSP_SERIAL_MAX];
	size_t slen, n = 0, bad = 0;
	char *line, *next, *f;
	int k;

	for (line = text; line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		f = line;
		for (k = 0; index && k < 3 && f; k++)
			f = (f = strchr(f, '\t')) ? f + 1 : NULL;
		if (f == NULL || ocsp_serial_hex(f, strcspn(f, "\t\r"), serial, &slen) == -1) {
			bad++;
			continue;
		}
		if (sset_add(&r->known, serial, slen, 0, -1) == 1) {
			ocspd_cache_drop(o, ri, serial, slen);
			n++;
		}
	}
	if (n)
		ocspd_presign_restart(o);
	if (n || bad)
		log_info("root %s: %zu serials from %s%s", r->cfg->name, n, path,
		    bad ? " (some lines not understood)" : "");
}

/* A whole file of serials (ROOT.known, an index.txt). */
static void
ocspd_read_serials(struct ocspd *o, int ri, const char *path, int index)
{
	struct buf b;

	buf_init(&b);
	if (read_file(path, &b, OCSPD_INDEX_MAX) == 0 && buf_put_u8(&b, 0) == 0)
		ocspd_add_serials(o, ri, (char *)b.p, index, path);
	buf_free(&b);
}

/* The bytes of fd from off to size, up to the last whole line; *used: how
 * many. 0, or -1 (logged). */
static int
ocspd_read_tail(int fd, off_t off, off_t size, struct buf *b, size_t *used,
    const char *path)
{
	size_t want = (size_t)(size - off);
	const uint8_t *nl;
	ssize_t n;

	*used = 0;
	if (want > OCSPD_INDEX_MAX)
		want = OCSPD_INDEX_MAX;	/* the rest at the next look */
	if (buf_reserve(b, want + 1) == -1)
		return -1;
	while (b->len < want) {
		n = pread(fd, b->p + b->len, want - b->len, off + (off_t)b->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s", path);
			return -1;
		}
		if (n == 0)
			break;		/* shorter than it said */
		b->len += (size_t)n;
	}
	/* a line being appended now is read with the next look */
	for (nl = b->p + b->len; nl > b->p && nl[-1] != '\n'; nl--)
		;
	*used = (size_t)(nl - b->p);
	b->len = *used;
	return 0;
}

/* crl_dir/ROOT.serials: what was appended since the last look. */
static void
ocspd_refresh_serials(struct ocspd *o, int ri, const char *path)
{
	struct ocspd_root *r = &o->roots[ri];
	struct stat st;
	struct buf b;
	size_t used;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if (st.st_dev != r->serials_dev || st.st_ino != r->serials_ino ||
	    st.st_size < r->serials_off) {
		r->serials_dev = st.st_dev;	/* another file: from its start */
		r->serials_ino = st.st_ino;
		r->serials_off = 0;
	}
	buf_init(&b);
	if (st.st_size > r->serials_off && ocspd_read_tail(fd, r->serials_off,
	    st.st_size, &b, &used, path) == 0 && used > 0 && buf_put_u8(&b, 0) == 0) {
		r->serials_off += (off_t)used;
		ocspd_add_serials(o, ri, (char *)b.p, 0, path);
	}
	buf_free(&b);
	close(fd);
}

struct ocspd_learn {
	struct ocspd	*o;
	size_t		 n;
};

static void
ocspd_known_append(const struct ocspd *o, const struct ocspd_root *r,
    const uint8_t *serial, size_t len)
{
	char path[CFG_PATH + 80], line[2 * OCSP_SERIAL_MAX + 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.known", o->c->ocsp.cache_dir, r->cfg->name);
	ocsp_serial_line(serial, len, line);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0640)) == -1 || write_full(fd, line, strlen(line)) == -1)
		log_warn("%s", path);
	if (fd != -1)
		close(fd);
}

static int
ocspd_learn_one(void *arg, const struct outbox_item *it, const uint8_t *ans, size_t len)
{
	struct ocspd_learn *l = arg;
	struct ocspd *o = l->o;
	uint8_t serial[OCSP_SERIAL_MAX];
	size_t slen;
	struct msg m;
	int i;

	o->outbox_after = it->id;
	if (msg_decode(ans, len, &m) != AL_OK || m.type != MSG_CERT ||
	    !MSG_HAS(&m, T_CERT))
		return 0;
	for (i = 0; i < o->n; i++) {
		if (!ocsp_cert_serial(o->roots[i].issuer, m.cert.p, m.cert.len, serial, &slen))
			continue;
		if (sset_add(&o->roots[i].known, serial, slen, 0, -1) == 1) {
			ocspd_cache_drop(o, i, serial, slen);
			ocspd_known_append(o, &o->roots[i], serial, slen);
			l->n++;
		}
		break;
	}
	return 0;
}

static void
ocspd_refresh_outbox(struct ocspd *o)
{
	struct ocspd_learn l = { o, 0 };
	int n;

	if (o->outbox == NULL) {
		if (access(o->c->outbox_db, R_OK) == -1 ||
		    outbox_open(o->c->outbox_db, 1, &o->outbox) == -1)
			return;
	}
	do {
		n = outbox_answers(o->outbox, o->outbox_after, MSG_SIGN, OCSPD_OUTBOX_BATCH,
		    ocspd_learn_one, &l);
	} while (n == OCSPD_OUTBOX_BATCH);
	if (n == -1) {
		db_close(o->outbox);	/* opened again at the next refresh */
		o->outbox = NULL;
	}
	if (l.n) {
		ocspd_presign_restart(o);
		log_info("%zu certificates learned from %s", l.n, o->c->outbox_db);
	}
}

void
ocspd_refresh(struct ocspd *o, int64_t now)
{
	char path[CFG_PATH + 80];
	int i;

	for (i = 0; i < o->n; i++) {
		struct ocspd_root *r = &o->roots[i];

		if (o->outbox_after == 0 && r->known.n == 0) {	/* start: our own file */
			snprintf(path, sizeof(path), "%s/%s.known", o->c->ocsp.cache_dir,
			    r->cfg->name);
			ocspd_read_serials(o, i, path, 0);
		}
		ocspd_refresh_signer(o, r, now);
		ocspd_refresh_crl(o, r);
		if (r->cfg->index[0] && ocspd_changed(r->cfg->index, &r->index_mtime,
		    &r->index_size) == 1)
			ocspd_read_serials(o, i, r->cfg->index, 1);
		/* what airlock-client publishes of the certificates that came
		 * back: readable as deployed, where outbox.db is not */
		snprintf(path, sizeof(path), "%s/%s.serials", o->c->crl_dir, r->cfg->name);
		ocspd_refresh_serials(o, i, path);
	}
	ocspd_refresh_outbox(o);
}

/* One root's line: its certificate and its renewal. */
static void
ocspd_status_root(const struct ocspd *o, const struct ocspd_root *r, struct buf *st)
{
	const struct ocspd_renewal *w = &r->renewal;
	const struct ocspd_pair *p = r->active >= 0 ? &r->pair[r->active] : NULL;
	char line[CFG_PATH + 700];
	int n;

	n = snprintf(line, sizeof(line), "root=%s cert=%s serial=%s not_after=%lld "
	    "renew_at=%lld renewal=%s since=%lld request=%s failures=%u retry_at=%lld "
	    "error=%s\n", r->cfg->name, p == NULL ? "none" : r->active == OCSPD_CONF ?
	    "configured" : "renewed", p ? p->serial : "-", p ? (long long)p->not_after : 0,
	    (long long)ocspd_renew_at(o, r), o->c->ocsp.renew ?
	    ocspd_renew_state_name(w->state) : "off", (long long)w->since,
	    w->name[0] ? w->name : "-", w->failures, (long long)w->retry_at,
	    w->error[0] ? w->error : "-");
	if (n > 0)
		(void)buf_put(st, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void
ocspd_status_text(const struct ocspd *o, int64_t now, struct buf *st)
{
	char item[64];
	int i, n;

	buf_reset(st);
	n = snprintf(item, sizeof(item), "time=%lld", (long long)now);
	(void)buf_put(st, item, (size_t)n);
	for (i = 0; i < OC_NCOUNTERS; i++) {
		n = snprintf(item, sizeof(item), " %s=%llu", ocspd_counter_names[i],
		    (unsigned long long)o->count[i]);
		(void)buf_put(st, item, (size_t)n);
	}
	(void)buf_put_u8(st, '\n');
	for (i = 0; i < o->n; i++)
		ocspd_status_root(o, &o->roots[i], st);
}

void
ocspd_status_write(const struct cfg *c, const struct buf *st)
{
	char path[CFG_PATH + 32];

	snprintf(path, sizeof(path), "%s/ocspd.status", c->ocsp.cache_dir);
	if (write_file_atomic(path, st->p, st->len, 0644) == -1)
		log_warn("%s", path);
}

/* The value of key in a status line ("" none); values hold no blanks but
 * the last (error=), which runs to the end of the line. */
static void
ocspd_status_get(const char *line, const char *key, char *out, size_t outsz)
{
	size_t k = strlen(key), n;
	const char *p;

	out[0] = '\0';
	for (p = line; (p = strstr(p, key)) != NULL; p += k)
		if ((p == line || p[-1] == ' ') && p[k] == '=')
			break;
	if (p == NULL)
		return;
	p += k + 1;
	n = strcmp(key, "error") == 0 ? strcspn(p, "\n") : strcspn(p, " \n");
	snprintf(out, outsz, "%.*s", (int)n, p);
}

static const char *
ocspd_when(const char *unix_time, char *out, size_t outsz)
{
	long long v;
	time_t t;
	struct tm tm;

	if (parse_num(unix_time, 1, INT64_MAX, &v) == -1)
		return "-";
	t = (time_t)v;
	strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	return out;
}

static void
ocspd_status_print_root(const char *line)
{
	char name[64], cert[16], serial[80], na[24], at[24], state[16], since[24],
	    req[128], fail[16], retry[24], err[400], t1[40], t2[40];

	ocspd_status_get(line, "root", name, sizeof(name));
	ocspd_status_get(line, "cert", cert, sizeof(cert));
	ocspd_status_get(line, "serial", serial, sizeof(serial));
	ocspd_status_get(line, "not_after", na, sizeof(na));
	ocspd_status_get(line, "renew_at", at, sizeof(at));
	ocspd_status_get(line, "renewal", state, sizeof(state));
	ocspd_status_get(line, "since", since, sizeof(since));
	ocspd_status_get(line, "request", req, sizeof(req));
	ocspd_status_get(line, "failures", fail, sizeof(fail));
	ocspd_status_get(line, "retry_at", retry, sizeof(retry));
	ocspd_status_get(line, "error", err, sizeof(err));
	if (strcmp(cert, "none") == 0)
		printf("root %s: no valid responder certificate (answers tryLater)\n", name);
	else
		printf("root %s: responder certificate %s (%s), valid until %s, renewed "
		    "from %s\n", name, serial, cert, ocspd_when(na, t1, sizeof(t1)),
		    ocspd_when(at, t2, sizeof(t2)));
	if (strcmp(state, "pending") == 0)
		printf("root %s: renewal pending since %s: request %s, %s failed "
		    "attempt(s)\n", name, ocspd_when(since, t1, sizeof(t1)), req, fail);
	else if (strcmp(state, "waiting") == 0)
		printf("root %s: renewal failing since %s (%s attempt(s)); next attempt "
		    "%s\n", name, ocspd_when(since, t1, sizeof(t1)), fail,
		    ocspd_when(retry, t2, sizeof(t2)));
	else
		printf("root %s: renewal %s\n", name, state);
	if (strcmp(err, "-") != 0 && err[0] != '\0')
		printf("root %s: last renewal error: %s\n", name, err);
}

int
ocspd_status_print(const struct cfg *c, int64_t now)
{
	char path[CFG_PATH + 32], t[24];
	struct buf b;
	char *line, *next;
	long long written;

	snprintf(path, sizeof(path), "%s/ocspd.status", c->ocsp.cache_dir);
	buf_init(&b);
	if (read_file(path, &b, 1 << 20) == -1 || buf_put_u8(&b, 0) == -1) {
		fprintf(stderr, "airlock-ocspd: %s: cannot read it (%s): run as root or "
		    "as the responder's user, once it has run\n", path, strerror(errno));
		buf_free(&b);
		return -1;
	}
	for (line = (char *)b.p; line && *line; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "root=", 5) == 0) {
			ocspd_status_print_root(line);
			continue;
		}
		ocspd_status_get(line, "time", t, sizeof(t));
		if (parse_num(t, 0, INT64_MAX, &written) == 0 &&
		    now - written > 3 * (int64_t)c->ocsp.refresh + 5)
			printf("status written %lld s ago: is airlock-ocspd running?\n",
			    (long long)(now - written));
		printf("counters: %s\n", strchr(line, ' ') ? strchr(line, ' ') + 1 : line);
	}
	buf_free(&b);
	return 0;
}
