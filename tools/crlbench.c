/*
 * crlbench.c: the in-process half of `make bench-crl` (scripts/bench-crl.sh
 * runs the rest, and `openssl ca -gencrl` beside it). Three commands:
 *
 *   crlbench populate SIGNER_CONF ROOT ISSUED REVOKED
 *       ISSUED synthetic certificates of ROOT straight into ca.db (serial,
 *       validity, subject, a placeholder DER), every (ISSUED/REVOKED)th of
 *       them revoked (reasons of a typical mix, keyCompromise ones with an
 *       invalidity date), through the import API in chunks; then CRL 1,
 *       which puts all the revocations on a CRL. Not timed.
 *   crlbench index SIGNER_CONF ROOT FILE
 *       The revoked certificates of ROOT as an `openssl ca` index.txt
 *       (caindex_format), for `openssl ca -gencrl` on the same entries.
 *       airlockctl export-index would do, but it reads each certificate's
 *       DER, which synthetic rows do not have.
 *   crlbench full SIGNER_CONF ROOT
 *       One full CRL of ROOT as airlock-signerd makes it when a CRL_FETCH
 *       finds one due (crlsign_issue: number, entries streamed from ca.db,
 *       sort, sign, store), timed with CLOCK_MONOTONIC; the process's peak
 *       RSS (getrusage) covers signer_init and everything before. Prints
 *       "full_s=S rss_mb=M entries=E bytes=B".
 *   crlbench delta SIGNER_CONF CLIENT_CONF ROOT N
 *       webdb and the signer in one process, joined by two struct link over
 *       a simulated 115200-baud line (virtual time): webdb fetches the full
 *       CRL (its first one), N certificates are revoked with REVOKE messages
 *       over the link, and webdb refreshes its CRL with one CRL_FETCH. The
 *       bytes of that refresh on the line, both ways, frames, MACs and
 *       acknowledgements included, are what bringing webdb up to date
 *       costs. Then the delta of N entries is built again five times
 *       (crlsign_delta) for its time, and webdb's file is compared with the
 *       signer's full CRL. Prints "delta_ms=.. fetch_bytes=..
 *       bytes_per_revocation=.. identical=0|1" and informative figures.
 */
#include <err.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "caindex.h"
#include "config.h"
#include "crl.h"
#include "crypto.h"
#include "link.h"
#include "msg.h"
#include "signer.h"
#include "store.h"
#include "util.h"
#include "castore.h"
#include "crlsign.h"
#include "crlsync.h"
#include "revoke.h"

#define CHUNK		10000
#define BAUD		115200
#define WIRE_MAX	4096		/* chunks in flight on one direction */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

static void
load(const char *conf, struct cfg *c, struct signer *s, int with_signer)
{
	char why[1024];

	if (config_load(conf, c, why, sizeof(why)) == -1)
		errx(1, "%s", why);
	if (with_signer && signer_init(s, c, why, sizeof(why)) == -1)
		errx(1, "%s", why);
}

static int
root_index(const struct cfg *c, const char *root)
{
	const struct cfg_root *r = config_root(c, root, strlen(root));

	if (r == NULL)
		errx(1, "%s: no such root", root);
	return (int)(r - c->roots);
}

/* --- populate --- */

static void
synth_row(struct castore_row *r, uint8_t serial[16], uint64_t i, int revoke,
    time_t now)
{
	static const int reasons[10] = { -1, 1, 1, 4, 4, 4, 5, 5, 3, 9 };
	uint32_t rnd;

	crypto_random(serial, 16);
	serial[0] = (uint8_t)((serial[0] & 0x3f) | 0x40);
	rnd = get_be32(serial + 12);
	memset(r, 0, sizeof(*r));
	r->serial = serial;
	r->serial_len = 16;
	r->der = (const uint8_t *)"\x30\x00";
	r->der_len = 2;
	r->not_before = now - 400 * 86400;
	r->not_after = now + 86400 + (time_t)(rnd % (365 * 86400));
	r->subject = "CN=synthetic,O=airlock bench";
	r->reason = -1;
	if (!revoke)
		return;
	r->revoked = now - 86400 - (time_t)(rnd % (300 * 86400));
	r->reason = reasons[i % 10];
	if (r->reason == 1 && i % 20 == 1)	/* keyCompromise, some with a date */
		r->invalidity = r->revoked - 3 * 86400;
}

static int
cmd_populate(int argc, char **argv)
{
	static struct cfg c;
	static struct signer s;
	struct castore_row *rows;
	struct crlstore_crl cur;
	uint8_t (*serials)[16];
	uint64_t issued, revoked, every, i, done = 0;
	size_t n, conflict;
	time_t now = time(NULL);
	char why[512];

	if (argc != 6)
		errx(2, "populate SIGNER_CONF ROOT ISSUED REVOKED");
	load(argv[2], &c, &s, 1);
	issued = strtoull(argv[4], NULL, 10);
	revoked = strtoull(argv[5], NULL, 10);
	every = revoked ? issued / revoked : issued + 1;
	if ((rows = calloc(CHUNK, sizeof(*rows))) == NULL ||
	    (serials = calloc(CHUNK, 16)) == NULL)
		err(1, "calloc");
	if (castore_import_start(s.db, argv[3], "crlbench", (int64_t)issued) == -1)
		errx(1, "cannot start the import");
	for (i = 0; i < issued; i += n) {
		for (n = 0; n < CHUNK && i + n < issued; n++)
			synth_row(&rows[n], serials[n], i + n, (i + n) % every == 0 &&
			    (i + n) / every < revoked, now);
		done += n;
		if (castore_import_chunk(s.db, argv[3], "crlbench", rows, n,
		    (int64_t)done, &conflict) != 0)
			errx(1, "cannot insert rows");
	}
	if (castore_import_finish(s.db, argv[3], "crlbench", "", "") == -1 ||
	    crlsign_issue(s.db, s.ca[root_index(&c, argv[3])], &c.roots[root_index(&c,
	    argv[3])], now, &cur, why, sizeof(why)) != AL_OK)
		errx(1, "CRL 1: %s", why);
	printf("populated %llu certificates, %lld on CRL %lld\n",
	    (unsigned long long)issued, (long long)cur.entries, (long long)cur.number);
	signer_free(&s);
	return 0;
}

/* --- index --- */

static int
index_row(void *arg, const struct castore_row *r)
{
	struct buf *b = arg;
	struct caindex_entry e;

	if (r->revoked == 0 || r->serial_len > sizeof(e.serial))
		return 0;
	memset(&e, 0, sizeof(e));
	e.status = 'R';
	caindex_time_text(r->not_after, e.expiry);
	e.revoked = r->revoked;
	e.reason = r->reason;
	e.invalidity = r->invalidity;
	hex_encode(r->serial, r->serial_len, e.serial_hex);
	for (char *c = e.serial_hex; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	snprintf(e.file, sizeof(e.file), "unknown");
	snprintf(e.subject, sizeof(e.subject), "/CN=synthetic/O=airlock bench");
	return caindex_format(&e, b);
}

static int
cmd_index(int argc, char **argv)
{
	static struct cfg c;
	static struct signer s;
	struct buf b;

	if (argc != 5)
		errx(2, "index SIGNER_CONF ROOT FILE");
	load(argv[2], &c, &s, 1);
	buf_init(&b);
	if (castore_each_cert(s.db, argv[3], index_row, &b) == -1 ||
	    write_file_atomic(argv[4], b.p, b.len, 0644) == -1)
		errx(1, "cannot write %s", argv[4]);
	buf_free(&b);
	signer_free(&s);
	return 0;
}

/* --- full --- */

static int
cmd_full(int argc, char **argv)
{
	static struct cfg c;
	static struct signer s;
	struct crlstore_crl cur;
	char why[512];
	double t0, t1;
	int i;

	if (argc != 4)
		errx(2, "full SIGNER_CONF ROOT");
	load(argv[2], &c, &s, 1);
	i = root_index(&c, argv[3]);
	t0 = now_s();
	if (crlsign_issue(s.db, s.ca[i], &c.roots[i], time(NULL), &cur, why,
	    sizeof(why)) != AL_OK)
		errx(1, "%s", why);
	t1 = now_s();
	printf("full_s=%.3f rss_mb=%.1f entries=%lld bytes=%lld number=%lld\n",
	    t1 - t0, rss_mb(), (long long)cur.entries, (long long)cur.der_len,
	    (long long)cur.number);
	signer_free(&s);
	return 0;
}

/* --- delta: two links over a simulated line --- */

struct wire {
	struct buf	 bytes;			/* in flight, in order */
	size_t		 len[WIRE_MAX];		/* chunks of bytes */
	uint64_t	 at[WIRE_MAX];		/* when each has arrived, us */
	size_t		 head, n;
	uint64_t	 free_us;		/* the line is busy until */
	uint64_t	 total;			/* bytes put on the line */
};

struct side {
	struct link	*l;
	struct wire	 w;			/* what this side sends */
	struct buf	 last;			/* the last message received */
	int		 got;
};

struct bench {
	struct side	 web, sig;
	struct signer	 s;
	struct buf	 ans;
	double		 signer_s;		/* CPU time in signer_handle */
};

static void
web_msg(void *arg, const uint8_t *p, size_t n)
{
	struct bench *b = arg;

	buf_reset(&b->web.last);
	if (buf_put(&b->web.last, p, n) == -1)
		errx(1, "out of memory");
	b->web.got++;
}

static void
sig_msg(void *arg, const uint8_t *p, size_t n)
{
	struct bench *b = arg;
	double t0 = now_s();

	signer_handle(&b->s, p, n, &b->ans);
	b->signer_s += now_s() - t0;
	if (link_send(b->sig.l, b->ans.p, b->ans.len, 0) == -1)
		errx(1, "link_send");
}

static void
nop(void *arg)
{
	(void)arg;
}

static void
nop_tag(void *arg, uint64_t tag)
{
	(void)arg;
	(void)tag;
}

/* Puts what the side may write now on its line; 8N1: 10 bits a byte. */
static void
wire_send(struct side *s, uint64_t now_ms)
{
	struct wire *w = &s->w;
	uint64_t now_us = now_ms * 1000;
	size_t n, k;

	link_pump(s->l, now_ms);
	while (s->l->out.len > 0 && w->n < WIRE_MAX &&
	    (n = link_write_allowance(s->l, now_ms)) > 0) {
		n = n < s->l->out.len ? n : s->l->out.len;
		if (w->free_us < now_us)
			w->free_us = now_us;
		w->free_us += (uint64_t)n * 10000000ull / BAUD;
		k = (w->head + w->n++) % WIRE_MAX;
		w->len[k] = n;
		w->at[k] = w->free_us;
		if (buf_put(&w->bytes, s->l->out.p, n) == -1)
			errx(1, "out of memory");
		w->total += n;
		buf_consume(&s->l->out, n);
		link_wrote(s->l, n, now_ms);
		link_pump(s->l, now_ms);
	}
}

static void
wire_deliver(struct wire *w, struct link *to, uint64_t now_ms)
{
	size_t n;

	while (w->n > 0 && w->at[w->head] <= now_ms * 1000) {
		n = w->len[w->head];
		link_input(to, w->bytes.p, n, now_ms);
		buf_consume(&w->bytes, n);
		w->head = (w->head + 1) % WIRE_MAX;
		w->n--;
	}
}

static int
idle(const struct bench *b)
{
	return b->web.w.n == 0 && b->sig.w.n == 0 && b->web.l->out.len == 0 &&
	    b->sig.l->out.len == 0 && link_backlog(b->web.l) == 0 &&
	    link_backlog(b->sig.l) == 0;
}

/* Runs virtual time until want answers came and the line is quiet. */
static void
run(struct bench *b, uint64_t *now, int want)
{
	uint64_t limit = *now + 3600 * 1000;

	for (; *now < limit; (*now)++) {
		wire_send(&b->web, *now);
		wire_send(&b->sig, *now);
		wire_deliver(&b->web.w, b->sig.l, *now);
		wire_deliver(&b->sig.w, b->web.l, *now);
		if (b->web.got >= want && b->web.l->state == LINK_UP && idle(b))
			return;
	}
	errx(1, "the simulated link did not finish");
}

static void
links_new(struct bench *b, const struct cfg *c)
{
	static const struct link_cb wcb = { nop, nop, web_msg, nop_tag };
	static const struct link_cb scb = { nop, nop, sig_msg, nop_tag };
	uint8_t key[LINK_KEY_LEN];
	struct link_params lp;

	crypto_random(key, sizeof(key));
	link_params_default(&lp, BAUD);
	lp.max_payload = c->link.max_payload;
	lp.window = c->link.window;
	if ((b->web.l = link_new(LINK_INITIATOR, key, &lp, &wcb, b)) == NULL ||
	    (b->sig.l = link_new(LINK_RESPONDER, key, &lp, &scb, b)) == NULL)
		errx(1, "link_new");
}

static uint64_t
line_bytes(const struct bench *b)
{
	return b->web.w.total + b->sig.w.total;
}

/* One request over the link; its answer decoded into m (bytes in web.last). */
static void
exchange(struct bench *b, uint64_t *now, const struct buf *req, struct msg *m)
{
	int want = b->web.got + 1;

	if (link_send(b->web.l, req->p, req->len, 0) == -1)
		errx(1, "link not up");
	run(b, now, want);
	if (msg_decode(b->web.last.p, b->web.last.len, m) != AL_OK)
		errx(1, "undecodable answer");
}

struct pick {
	uint8_t		(*serials)[16];
	int		 n, want;
};

static int
pick_one(void *arg, const struct castore_row *r)
{
	struct pick *p = arg;

	if (r->revoked != 0 || r->serial_len != 16)
		return 0;
	memcpy(p->serials[p->n++], r->serial, 16);
	return p->n == p->want ? -1 : 0;
}

static void
fetch(struct bench *b, const struct cfg *web, const char *root, uint64_t *now,
    const char *what)
{
	uint8_t id[AIRLOCK_REQID_LEN];
	struct buf req;
	struct msg m;
	char why[512];
	int r;

	buf_init(&req);
	crypto_random(id, sizeof(id));
	if (crlsync_fetch_msg(web, root, 0, -1, id, &req) == -1)
		errx(1, "crlsync_fetch_msg");
	exchange(b, now, &req, &m);
	if (m.type != MSG_CRL)
		errx(1, "%s: answer %s", what, msg_type_name(m.type));
	r = crlsync_answer(web, root, &m, 0, NULL, why, sizeof(why));
	if (r != CRLSYNC_PUBLISHED)
		errx(1, "%s: webdb did not publish: %d %s", what, r, why);
	buf_free(&req);
}

static void
revoke_n(struct bench *b, const char *root, struct pick *p, uint64_t *now)
{
	struct revoke_req rr;
	struct buf req;
	struct msg m;
	int i;

	buf_init(&req);
	for (i = 0; i < p->n; i++) {
		memset(&rr, 0, sizeof(rr));
		snprintf(rr.root, sizeof(rr.root), "%s", root);
		memcpy(rr.serial, p->serials[i], 16);
		rr.serial_len = 16;
		rr.reason = i % 3 ? 4 : 1;
		crypto_random(rr.reqid, sizeof(rr.reqid));
		if (revoke_msg(&rr, &req) == -1)
			errx(1, "revoke_msg");
		exchange(b, now, &req, &m);
		if (m.type != MSG_REVOKED)
			errx(1, "revocation %d refused", i);
	}
	buf_free(&req);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The delta of the last refresh, built again: median of five, in ms. */
static double
delta_ms(struct bench *b, const struct cfg *c, int i)
{
	struct crlstore_crl cur;
	struct buf der;
	double t[5], t0;
	char why[512];
	int k;

	buf_init(&der);
	if (crlstore_current(b->s.db, c->roots[i].name, &cur) != 1)
		errx(1, "no CRL");
	for (k = 0; k < 5; k++) {
		t0 = now_s();
		if (crlsign_delta(b->s.db, b->s.ca[i], &c->roots[i], &cur, cur.number - 1,
		    &der, why, sizeof(why)) != AL_OK)
			errx(1, "%s", why);
		t[k] = (now_s() - t0) * 1000;
	}
	qsort(t, 5, sizeof(t[0]), cmp_double);
	buf_free(&der);
	return t[2];
}

static int
identical(struct bench *b, const struct cfg *web, const char *root)
{
	struct crlstore_crl cur, c;
	struct buf mine, theirs;
	char path[PATH_MAX];
	int same;

	buf_init(&mine);
	buf_init(&theirs);
	snprintf(path, sizeof(path), "%s/%s.crl", web->crl_dir, root);
	same = read_file(path, &mine, MSG_MAX_LEN) == 0 &&
	    crlstore_current(b->s.db, root, &cur) == 1 &&
	    crlstore_get(b->s.db, root, cur.number, &c, &theirs, NULL) == 1 &&
	    mine.len == theirs.len && memcmp(mine.p, theirs.p, mine.len) == 0;
	buf_free(&mine);
	buf_free(&theirs);
	return same;
}

static int
cmd_delta(int argc, char **argv)
{
	static struct cfg c, web;
	static struct bench b;
	struct pick p = { NULL, 0, 0 };
	uint64_t now = 1, full_bytes, rev_bytes, fetch_bytes;
	double t0, fetch_s, signer_s;
	int i;

	if (argc != 6)
		errx(2, "delta SIGNER_CONF CLIENT_CONF ROOT N");
	load(argv[2], &c, &b.s, 1);
	load(argv[3], &web, NULL, 0);
	i = root_index(&c, argv[4]);
	p.want = atoi(argv[5]);
	if (p.want < 1 || (p.serials = calloc((size_t)p.want, 16)) == NULL)
		errx(2, "N must be a positive number");
	castore_each_cert(b.s.db, argv[4], pick_one, &p);
	if (p.n != p.want)
		errx(1, "only %d certificates left to revoke", p.n);
	buf_init(&b.ans);
	links_new(&b, &c);
	run(&b, &now, 0);				/* the handshake */
	fetch(&b, &web, argv[4], &now, "first fetch");	/* the full CRL */
	full_bytes = line_bytes(&b);
	revoke_n(&b, argv[4], &p, &now);
	rev_bytes = line_bytes(&b) - full_bytes;
	b.signer_s = 0;
	t0 = now_s();
	fetch(&b, &web, argv[4], &now, "refresh");
	fetch_s = now_s() - t0;
	signer_s = b.signer_s;
	fetch_bytes = line_bytes(&b) - full_bytes - rev_bytes;
	printf("delta_ms=%.1f fetch_bytes=%llu bytes_per_revocation=%.1f identical=%d\n",
	    delta_ms(&b, &c, i), (unsigned long long)fetch_bytes,
	    (double)fetch_bytes / p.n, identical(&b, &web, argv[4]));
	printf("info: first full transfer %llu bytes on the line; %d revocations "
	    "%llu bytes; refresh %.0f ms of CPU (signer %.0f ms: new full CRL and "
	    "delta; webdb: rebuild, verify, write); rss %.1f MB\n",
	    (unsigned long long)full_bytes, p.n, (unsigned long long)rev_bytes,
	    fetch_s * 1000, signer_s * 1000, rss_mb());
	link_free(b.web.l);
	link_free(b.sig.l);
	signer_free(&b.s);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("crlbench", LOG_TO_STDERR, 0);
	if (argc >= 2 && strcmp(argv[1], "populate") == 0)
		return cmd_populate(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "index") == 0)
		return cmd_index(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "full") == 0)
		return cmd_full(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "delta") == 0)
		return cmd_delta(argc, argv);
	fprintf(stderr, "usage: crlbench populate|full|delta ...\n");
	return 2;
}
