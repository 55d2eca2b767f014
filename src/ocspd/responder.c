/*
 * responder.c: what airlock-ocspd answers. For each root it holds the
 * serials it knows were issued (the certificates that came back over the
 * cable, an imported index) and the serials its newest verified full CRL
 * revokes. A serial on the CRL is revoked (time and reason from the CRL),
 * else a known serial is good, else unknown.
 *
 * Responses are pre-signed: a request for one certificate without a nonce
 * is answered from a cache slot per (root, hash algorithm, serial) that
 * stays valid until the root's CRL changes (its generation), the serial
 * is learned, or three quarters of the way to nextUpdate. A request with
 * a nonce (RFC 8954) or several certificates is signed on the spot. The
 * cache is a fixed table (cache_entries slots, a newer response replaces
 * an older one in its slot), so unknown serials cannot grow memory.
 *
 * Nothing is answered good or revoked without a CRL that verifies and has
 * not passed its nextUpdate, nor signed with a responder certificate that
 * has expired: those are tryLater.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "ocspd.h"

#define OCSPD_BAD_LINES	20	/* bad-input log lines per second at most */
#define OCSPD_WAYS	4	/* cache slots per bucket */
#define OCSPD_PRESIGN_PASS	60	/* seconds between passes over the serials */

static uint64_t
ocspd_hash(const uint8_t *p, size_t len, uint64_t h)
{
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static size_t
sset_slot(const struct sset *s, const uint8_t *serial, size_t len)
{
	size_t i = (size_t)ocspd_hash(serial, len, 0xcbf29ce484222325ull) & (s->cap - 1);

	while (s->e[i].len != 0 && (s->e[i].len != len + 1 ||
	    memcmp(s->e[i].serial, serial, len) != 0))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static int
sset_grow(struct sset *s)
{
	struct sset old = *s;
	size_t i;

	s->cap = old.cap ? old.cap * 2 : 1024;
	if ((s->e = calloc(s->cap, sizeof(*s->e))) == NULL) {
		*s = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++)
		if (old.e[i].len != 0)
			s->e[sset_slot(s, old.e[i].serial, old.e[i].len - 1u)] = old.e[i];
	free(old.e);
	return 0;
}

int
sset_add(struct sset *s, const uint8_t *serial, size_t len, int64_t revoked, int reason)
{
	struct sset_entry *e;

	if (len > OCSP_SERIAL_MAX)
		return -1;
	if ((s->n + 1) * 4 > s->cap * 3 && sset_grow(s) == -1)
		return -1;
	e = &s->e[sset_slot(s, serial, len)];
	if (e->len != 0)
		return 0;
	e->len = (uint8_t)(len + 1);
	memcpy(e->serial, serial, len);
	e->revoked = revoked;
	e->reason = (int8_t)reason;
	s->n++;
	return 1;
}

const struct sset_entry *
sset_find(const struct sset *s, const uint8_t *serial, size_t len)
{
	const struct sset_entry *e;

	if (s->cap == 0 || len > OCSP_SERIAL_MAX)
		return NULL;
	e = &s->e[sset_slot(s, serial, len)];
	return e->len != 0 ? e : NULL;
}

void
sset_free(struct sset *s)
{
	free(s->e);
	memset(s, 0, sizeof(*s));
}

void
ocspd_bad(struct ocspd *o, int64_t now, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (now != o->log_second) {
		if (o->log_lines > OCSPD_BAD_LINES)
			log_warnx("%d more bad requests in that second not logged",
			    o->log_lines - OCSPD_BAD_LINES);
		o->log_second = now;
		o->log_lines = 0;
	}
	if (++o->log_lines > OCSPD_BAD_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}

int
ocspd_init(struct ocspd *o, const struct cfg *c)
{
	char why[256];
	int i;

	memset(o, 0, sizeof(*o));
	o->c = c;
	pthread_mutex_init(&o->lock, NULL);
	o->cache_n = c->ocsp.cache_entries / OCSPD_WAYS * OCSPD_WAYS;
	if ((o->cache = calloc(o->cache_n, sizeof(*o->cache))) == NULL ||
	    (o->req_idx = calloc(o->cache_n, sizeof(*o->req_idx))) == NULL) {
		log_warnx("out of memory for %zu cache entries", o->cache_n);
		return -1;
	}
	for (i = 0; i < c->ocsp.nroots; i++) {
		struct ocspd_root *r = &o->roots[i];

		r->cfg = &c->ocsp.roots[i];
		r->cr = config_crl_root(c, r->cfg->name);
		why[0] = '\0';
		r->active = -1;
		r->pair[OCSPD_CONF].key = r->cfg->key;
		r->pair[OCSPD_CONF].cert = r->cfg->cert;
		snprintf(r->renewed, sizeof(r->renewed), "%s/%s.responder.pem",
		    c->ocsp.cache_dir, r->cfg->name);
		r->pair[OCSPD_RENEWED].key = r->pair[OCSPD_RENEWED].cert = r->renewed;
		if (r->cr == NULL || ocsp_issuer_load(r->cr->ca_cert, &r->issuer, why,
		    sizeof(why)) == -1 || crl_issuer_load(r->cr->ca_cert, &r->crl_issuer,
		    why, sizeof(why)) == -1 || (r->cfg->subject[0] != '\0' &&
		    ocsp_subject_ok(r->cfg->subject, why, sizeof(why)) == -1)) {
			log_warnx("ocsp root %s: %s", r->cfg->name, why);
			o->n = i;
			return -1;
		}
		o->n = i + 1;
	}
	return 0;
}

void
ocspd_free(struct ocspd *o)
{
	size_t k;
	int i;

	for (i = 0; i < o->n; i++) {
		ocsp_issuer_free(o->roots[i].issuer);
		crl_issuer_free(o->roots[i].crl_issuer);
		ocsp_signer_free(o->roots[i].pair[OCSPD_CONF].signer);
		ocsp_signer_free(o->roots[i].pair[OCSPD_RENEWED].signer);
		sset_free(&o->roots[i].known);
		sset_free(&o->roots[i].revoked);
	}
	db_close(o->outbox);		/* NULL: never opened */
	for (k = 0; o->cache && k < o->cache_n; k++)
		free(o->cache[k].der);
	free(o->cache);
	free(o->req_idx);
	pthread_mutex_destroy(&o->lock);
	memset(o, 0, sizeof(*o));
}

/* The cache is set-associative: OCSPD_WAYS slots per bucket. */
static struct ocspd_cache_entry *
ocspd_bucket(struct ocspd *o, int root, int alg, const uint8_t *serial, size_t len)
{
	uint64_t h = ocspd_hash(serial, len, 0xcbf29ce484222325ull ^
	    (uint64_t)(root << 8 | alg));

	return &o->cache[(h % (o->cache_n / OCSPD_WAYS)) * OCSPD_WAYS];
}

static int
ocspd_slot_is(const struct ocspd_cache_entry *e, int root, int alg,
    const uint8_t *serial, size_t len)
{
	return e->len == len + 1 && e->root == root && e->alg == alg &&
	    memcmp(e->serial, serial, len) == 0;
}

static int
ocspd_slot_valid(const struct ocspd *o, const struct ocspd_cache_entry *e, int64_t now)
{
	return e->len != 0 && e->gen == o->roots[e->root].gen && now < e->refresh_at &&
	    now < o->roots[e->root].signer_until;
}

/* The serial's slot, or NULL. */
static struct ocspd_cache_entry *
ocspd_slot_find(struct ocspd *o, int root, int alg, const uint8_t *serial, size_t len)
{
	struct ocspd_cache_entry *b = ocspd_bucket(o, root, alg, serial, len);
	int w;

	for (w = 0; w < OCSPD_WAYS; w++)
		if (ocspd_slot_is(&b[w], root, alg, serial, len))
			return &b[w];
	return NULL;
}

/* Where a new response goes: the serial's slot, an empty or stale one,
 * else (force) the one nearest its refresh, else NULL. */
static struct ocspd_cache_entry *
ocspd_slot_for(struct ocspd *o, int root, int alg, const uint8_t *serial, size_t len,
    int64_t now, int force)
{
	struct ocspd_cache_entry *b = ocspd_bucket(o, root, alg, serial, len), *v = NULL;
	int w;

	if ((v = ocspd_slot_find(o, root, alg, serial, len)) != NULL)
		return v;
	for (w = 0; w < OCSPD_WAYS; w++) {
		if (!ocspd_slot_valid(o, &b[w], now))
			return &b[w];
		if (v == NULL || b[w].refresh_at < v->refresh_at)
			v = &b[w];
	}
	return force ? v : NULL;
}

void
ocspd_cache_drop(struct ocspd *o, int root, const uint8_t *serial, size_t len)
{
	struct ocspd_cache_entry *e;
	int alg;

	for (alg = 0; alg < OCSP_NALGS; alg++)
		if ((e = ocspd_slot_find(o, root, alg, serial, len)) != NULL)
			e->len = 0;
}

/* Which root answers for every CertID of the request: its index, or -1. */
static int
ocspd_which_root(const struct ocspd *o, const struct ocsp_req *req)
{
	int i, k, r = -1;

	for (k = 0; k < req->n; k++) {
		for (i = 0; i < o->n; i++)
			if (ocsp_issuer_match(o->roots[i].issuer, &req->ids[k]))
				break;
		if (i == o->n || (r != -1 && r != i))
			return -1;
		r = i;
	}
	return r;
}

/* Why the root cannot answer now, or NULL. */
static const char *
ocspd_not_ready(const struct ocspd_root *r, int64_t now)
{
	if (r->signer == NULL || now >= r->signer_until)
		return "no valid responder certificate";
	if (!r->have_crl)
		return "no CRL that verifies";
	if (now >= r->crl.next_update)
		return "its CRL has passed nextUpdate";
	return NULL;
}

static void
ocspd_status(const struct ocspd *o, const struct ocspd_root *r, const uint8_t *serial,
    size_t len, int64_t now, struct ocsp_single *a)
{
	const struct sset_entry *e;
	int64_t next = now + (int64_t)o->c->ocsp.validity;

	if (next > r->crl.next_update)
		next = r->crl.next_update;
	if (next > r->signer_until)
		next = r->signer_until;
	a->this_update = now;
	a->next_update = next;
	a->reason = -1;
	if ((e = sset_find(&r->revoked, serial, len)) != NULL) {
		a->status = OCSP_REVOKED;
		a->revoked = e->revoked;
		a->reason = e->reason;
	} else if (sset_find(&r->known, serial, len) != NULL)
		a->status = OCSP_GOOD;
	else
		a->status = OCSP_UNKNOWN;
}

static struct ocspd_cache_entry *
ocspd_cache_put(struct ocspd *o, int ri, int alg, const uint8_t *serial, size_t len,
    const struct ocsp_single *a, const struct buf *der)
{
	struct ocspd_cache_entry *e = ocspd_slot_for(o, ri, alg, serial, len,
	    a->this_update, 1);
	uint8_t *p;

	if ((p = malloc(der->len)) == NULL)
		return NULL;
	free(e->der);
	e->req_len = 0;
	memcpy(p, der->p, der->len);
	e->der = p;
	e->der_len = der->len;
	e->root = (uint8_t)ri;
	e->alg = (uint8_t)alg;
	e->len = (uint8_t)(len + 1);
	e->status = (uint8_t)a->status;
	memcpy(e->serial, serial, len);
	e->gen = o->roots[ri].gen;
	e->next_update = a->next_update;
	e->refresh_at = a->next_update - (a->next_update - a->this_update) / 4;
	return e;
}

/* The ways of the request-bytes index for these bytes. */
static uint32_t *
ocspd_req_bucket(struct ocspd *o, const uint8_t *der, size_t len)
{
	uint64_t h = ocspd_hash(der, len, 0x84222325cbf29ce4ull);

	return &o->req_idx[(h % (o->cache_n / OCSPD_WAYS)) * OCSPD_WAYS];
}

/* A valid cached response for exactly these request bytes, or NULL: the
 * common request (one CertID, no nonce) costs no parsing at all. */
static const struct ocspd_cache_entry *
ocspd_req_find(struct ocspd *o, const uint8_t *der, size_t len, int64_t now)
{
	const struct ocspd_cache_entry *e;
	uint32_t *b;
	int w;

	if (len == 0 || len > OCSPD_REQ_MAX)
		return NULL;
	b = ocspd_req_bucket(o, der, len);
	for (w = 0; w < OCSPD_WAYS; w++) {
		if (b[w] == 0)
			continue;
		e = &o->cache[b[w] - 1];
		if (e->req_len == len && memcmp(e->req, der, len) == 0 &&
		    ocspd_slot_valid(o, e, now))
			return e;
	}
	return NULL;
}

/* Remembers that these request bytes are answered by e. */
static void
ocspd_req_attach(struct ocspd *o, struct ocspd_cache_entry *e, const uint8_t *der,
    size_t len, int64_t now)
{
	uint32_t *b, *v = NULL;
	int w;

	if (e == NULL || len == 0 || len > OCSPD_REQ_MAX)
		return;
	b = ocspd_req_bucket(o, der, len);
	for (w = 0; w < OCSPD_WAYS && v == NULL; w++) {
		const struct ocspd_cache_entry *x = b[w] ? &o->cache[b[w] - 1] : NULL;

		if (x == NULL || x == e || !ocspd_slot_valid(o, x, now) ||
		    x->req_len == 0 || x->req_len != len || memcmp(x->req, der, len) != 0)
			v = &b[w];
	}
	if (v == NULL)
		v = &b[0];
	memcpy(e->req, der, len);
	e->req_len = (uint8_t)len;
	*v = (uint32_t)(e - o->cache) + 1;
}

static struct ocspd_cache_entry *
ocspd_cache_get(struct ocspd *o, int ri, const struct ocsp_certid *id, int64_t now)
{
	struct ocspd_cache_entry *e = ocspd_slot_find(o, ri, id->alg, id->serial,
	    id->serial_len);

	return e != NULL && ocspd_slot_valid(o, e, now) ? e : NULL;
}

/* The successful path: cached, or signed now. */
static int
ocspd_sign(struct ocspd *o, int ri, const struct ocsp_req *req, const uint8_t *der,
    size_t len, int64_t now, struct buf *out, int64_t *max_age)
{
	struct ocspd_root *r = &o->roots[ri];
	struct ocspd_cache_entry *e;
	struct ocsp_single a[OCSP_MAX_IDS];
	int k, cacheable = req->n == 1 && !req->has_nonce;

	if (cacheable && (e = ocspd_cache_get(o, ri, &req->ids[0], now)) != NULL) {
		o->count[OC_CACHE_HITS]++;
		o->count[OC_GOOD + e->status]++;
		ocspd_req_attach(o, e, der, len, now);
		buf_reset(out);
		*max_age = e->next_update - now;
		return buf_put(out, e->der, e->der_len);
	}
	for (k = 0; k < req->n; k++) {
		a[k].idx = k;
		ocspd_status(o, r, req->ids[k].serial, req->ids[k].serial_len, now, &a[k]);
	}
	if (ocsp_resp_sign(r->signer, req, a, req->n, out) == -1)
		return -1;
	for (k = 0; k < req->n; k++)
		o->count[OC_GOOD + a[k].status]++;
	o->count[OC_SIGNATURES]++;
	*max_age = req->has_nonce ? 0 : a[0].next_update - now;
	if (cacheable)
		ocspd_req_attach(o, ocspd_cache_put(o, ri, req->ids[0].alg,
		    req->ids[0].serial, req->ids[0].serial_len, &a[0], out), der, len, now);
	return 0;
}

/* The next serial of the pass (known, then revoked, root by root), or NULL
 * at the end of the pass. */
static const struct sset_entry *
ocspd_presign_next(struct ocspd *o, int64_t now)
{
	struct ocspd_root *r;
	struct sset *set;

	while (o->ps_root < o->n) {
		r = &o->roots[o->ps_root];
		set = o->ps_set ? &r->revoked : &r->known;
		if (ocspd_not_ready(r, now) != NULL || o->ps_slot >= set->cap) {
			o->ps_slot = 0;
			if (o->ps_set ^= 1)
				continue;
			o->ps_root++;
			continue;
		}
		if (set->e[o->ps_slot].len != 0)
			return &set->e[o->ps_slot++];
		o->ps_slot++;
	}
	return NULL;
}

int
ocspd_presign_pick(struct ocspd *o, int64_t now, struct ocspd_presign_job *j)
{
	const struct sset_entry *e;
	struct ocspd_cache_entry *slot;
	struct ocspd_root *r;

	if (now < o->ps_next)
		return 0;
	for (;;) {
		if ((e = ocspd_presign_next(o, now)) == NULL) {
			o->ps_root = o->ps_set = 0;
			o->ps_slot = 0;
			o->ps_next = now + OCSPD_PRESIGN_PASS;
			o->count[OC_PRESIGN_PASSES]++;
			return 0;
		}
		r = &o->roots[o->ps_root];
		/* a valid response stays, ours or (a full bucket) other serials' */
		slot = ocspd_slot_for(o, o->ps_root, OCSP_SHA1, e->serial, e->len - 1u,
		    now, 0);
		if ((o->ps_set == 0 && sset_find(&r->revoked, e->serial, e->len - 1u)) ||
		    slot == NULL || ocspd_slot_valid(o, slot, now))
			continue;
		j->root = o->ps_root;
		j->len = e->len - 1u;
		memcpy(j->serial, e->serial, j->len);
		ocspd_status(o, r, j->serial, j->len, now, &j->a);
		j->gen = r->gen;
		return 1;
	}
}

int
ocspd_presign_sign(const struct ocspd *o, const struct ocspd_presign_job *j,
    struct buf *der)
{
	const struct ocspd_root *r = &o->roots[j->root];

	return ocsp_resp_presign(r->signer, r->issuer, OCSP_SHA1, j->serial, j->len,
	    &j->a, der);
}

void
ocspd_presign_put(struct ocspd *o, const struct ocspd_presign_job *j, int signed_ok,
    const struct buf *der)
{
	if (!signed_ok) {
		o->count[OC_INTERNAL]++;
		return;
	}
	o->count[OC_PRESIGNED]++;
	/* what the status was made from changed meanwhile: not this one */
	if (j->gen != o->roots[j->root].gen)
		return;
	ocspd_cache_put(o, j->root, OCSP_SHA1, j->serial, j->len, &j->a, der);
}

int
ocspd_presign(struct ocspd *o, int64_t now, int max)
{
	struct ocspd_presign_job j;
	struct buf der;
	int done;

	buf_init(&der);
	for (done = 0; done < max && ocspd_presign_pick(o, now, &j); done++)
		ocspd_presign_put(o, &j, ocspd_presign_sign(o, &j, &der) == 0, &der);
	buf_free(&der);
	return o->ps_next == 0;	/* 1: the pass goes on */
}

void
ocspd_presign_restart(struct ocspd *o)
{
	o->ps_root = o->ps_set = 0;
	o->ps_slot = 0;
	o->ps_next = 0;
}

void
ocspd_answer(struct ocspd *o, const uint8_t *der, size_t len, int64_t now,
    struct buf *out, int64_t *max_age)
{
	const struct ocspd_cache_entry *e;
	struct ocsp_req req;
	const char *why_not;
	char why[160];
	int ri;

	*max_age = 0;
	o->count[OC_REQUESTS]++;
	if ((e = ocspd_req_find(o, der, len, now)) != NULL) {
		o->count[OC_CACHE_HITS]++;
		o->count[OC_GOOD + e->status]++;
		buf_reset(out);
		*max_age = e->next_update - now;
		if (buf_put(out, e->der, e->der_len) == -1)
			ocsp_resp_error(OCSP_ST_INTERNAL, out);
		return;
	}
	if (ocsp_req_parse(der, len, &req, why, sizeof(why)) == -1) {
		o->count[OC_MALFORMED]++;
		ocspd_bad(o, now, "malformedRequest: %s (%zu bytes)", why, len);
		ocsp_resp_error(OCSP_ST_MALFORMED, out);
		return;
	}
	if (req.has_nonce)
		o->count[OC_NONCES]++;
	if ((ri = ocspd_which_root(o, &req)) == -1) {
		o->count[OC_UNAUTHORIZED]++;
		ocspd_bad(o, now, "unauthorized: a CertID of an issuer this responder "
		    "does not answer for");
		ocsp_resp_error(OCSP_ST_UNAUTHORIZED, out);
	} else if ((why_not = ocspd_not_ready(&o->roots[ri], now)) != NULL) {
		o->count[OC_TRYLATER]++;
		ocspd_bad(o, now, "tryLater: root %s has %s", o->roots[ri].cfg->name, why_not);
		ocsp_resp_error(OCSP_ST_TRYLATER, out);
	} else if (ocspd_sign(o, ri, &req, der, len, now, out, max_age) == -1) {
		o->count[OC_INTERNAL]++;
		log_warnx("internalError: root %s: cannot sign a response",
		    o->roots[ri].cfg->name);
		ocsp_resp_error(OCSP_ST_INTERNAL, out);
		*max_age = 0;
	}
	ocsp_req_free(&req);
}
