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
 *                         before airlock (every serial in it is known).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"
#include "outbox.h"
#include "ocspd.h"

#define OCSPD_OUTBOX_BATCH	2000	/* answers read per refresh */
#define OCSPD_INDEX_MAX		(256u << 20)

static const char *const ocspd_counter_names[OC_NCOUNTERS] = {
	"requests", "good", "revoked", "unknown", "malformed", "unauthorized",
	"trylater", "internal", "cache_hits", "signatures", "nonces", "oversized",
	"bad_http", "presigned", "presign_passes",
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

static void
ocspd_refresh_signer(struct ocspd *o, struct ocspd_root *r, int64_t now)
{
	struct ocsp_signer *s;
	char why[256];
	int64_t until;
	int ch = ocspd_changed(r->cfg->cert, &r->signer_mtime, &r->signer_size);

	if (ch == 0 && r->signer != NULL && now < r->signer_until)
		goto warn;
	if (ch == 0 && r->signer == NULL)
		return;		/* the same refused file */
	if (ocsp_signer_load(r->issuer, r->cfg->key, r->cfg->cert, now, &s, &until, why,
	    sizeof(why)) == -1) {
		log_warnx("root %s: responder certificate %s refused: %s", r->cfg->name,
		    r->cfg->cert, why);
		ocsp_signer_free(r->signer);
		r->signer = NULL;
		return;
	}
	ocsp_signer_free(r->signer);
	r->signer = s;
	r->signer_until = until;
	r->gen++;
	ocspd_presign_restart(o);
	log_info("root %s: responder certificate valid until %lld", r->cfg->name,
	    (long long)until);
warn:
	if (r->signer_until - now < (int64_t)o->c->ocsp.renew_days * 86400 &&
	    now - r->renew_warned >= 86400) {
		r->renew_warned = now;
		log_warnx("root %s: the responder certificate expires in %lld hours: "
		    "request a new one with profile ocsp (docs/ocsp.md)", r->cfg->name,
		    (long long)(r->signer_until - now) / 3600);
	}
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

size_t
ocspd_status_line(const struct ocspd *o, char *line, size_t size)
{
	size_t off = 0;
	int i;

	for (i = 0; i < OC_NCOUNTERS && off < size; i++)
		off += (size_t)snprintf(line + off, size - off, "%s%s=%llu",
		    i ? " " : "", ocspd_counter_names[i], (unsigned long long)o->count[i]);
	if (off > size - 2)
		off = size - 2;
	line[off++] = '\n';
	line[off] = '\0';
	return off;
}

void
ocspd_status_write(const struct cfg *c, const char *line, size_t len)
{
	char path[CFG_PATH + 32];

	snprintf(path, sizeof(path), "%s/ocspd.status", c->ocsp.cache_dir);
	if (write_file_atomic(path, line, len, 0644) == -1)
		log_warn("%s", path);
}
