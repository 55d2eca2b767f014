/*
 * auditrec.c: audit records as bytes (include/auditrec.h): the canonical
 * form, the hash chain check one record at a time, the link form of the
 * records and of the signed chain head, and the Ed25519 audit key.
 *
 * A record's hash is SHA-256(prev || canonical), where prev is the hash of
 * the record before it (32 zero bytes before record 1) and canonical is
 *
 *   "airlock-audit-v1" (16 bytes) || seq (u64) || time (u64, two's
 *   complement) || kind || reqid || root || actor (each u16 length ||
 *   bytes; reqid is 0 or 16 bytes) || text (u32 length || bytes)
 *
 * all big-endian. seq is in the hash, so moving a record changes nothing
 * but still breaks the chain; lengths are in the hash, so no two records
 * share canonical bytes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auditrec.h"
#include "crypto.h"

#define AUDIT_LABEL	"airlock-audit-v1"

static const char *const audit_kinds[] = {
	NULL, "issue", "reject", "revoke", "crl", "time", "operator", "pgp-certify",
	"daemon", "warning", "integrity"
};

static int
audit_bad(struct audit_check *c, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
audit_bad(struct audit_check *c, int64_t seq, const char *fmt, ...)
{
	va_list ap;

	c->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return 1;
}

const char *
audit_kind_name(int k)
{
	if (k < AUDIT_ISSUE || k > AUDIT_KIND_LAST)
		return "?";
	return audit_kinds[k];
}

static int
audit_put_col(struct buf *b, const struct audit_col *c, int wide)
{
	if (wide ? buf_put_u32(b, (uint32_t)c->n) : buf_put_u16(b, (uint16_t)c->n))
		return -1;
	return c->n ? buf_put(b, c->p, c->n) : 0;
}

/* Appends the canonical bytes of r to b. */
int
audit_encode(const struct audit_raw *r, struct buf *b)
{
	if (r->kind.n > UINT16_MAX || r->reqid.n > UINT16_MAX ||
	    r->root.n > UINT16_MAX || r->actor.n > UINT16_MAX ||
	    r->text.n > UINT32_MAX)
		return -1;
	if (buf_put(b, AUDIT_LABEL, strlen(AUDIT_LABEL)) == -1 ||
	    buf_put_u64(b, (uint64_t)r->seq) == -1 ||
	    buf_put_u64(b, (uint64_t)r->time) == -1 ||
	    audit_put_col(b, &r->kind, 0) == -1 ||
	    audit_put_col(b, &r->reqid, 0) == -1 ||
	    audit_put_col(b, &r->root, 0) == -1 ||
	    audit_put_col(b, &r->actor, 0) == -1 ||
	    audit_put_col(b, &r->text, 1) == -1)
		return -1;
	return 0;
}

static void
audit_col_str(struct audit_col *c, const char *s)
{
	c->p = (const uint8_t *)s;
	c->n = strlen(s);
}

/* The raw view of a record held in a struct audit_rec. */
void
audit_raw_of(const struct audit_rec *r, struct audit_raw *w)
{
	memset(w, 0, sizeof(*w));
	w->seq = r->seq;
	w->time = r->time;
	audit_col_str(&w->kind, r->kind);
	if (r->has_reqid) {
		w->reqid.p = r->reqid;
		w->reqid.n = AIRLOCK_REQID_LEN;
	}
	audit_col_str(&w->root, r->root);
	audit_col_str(&w->actor, r->actor);
	audit_col_str(&w->text, r->text);
}

int
audit_canonical(const struct audit_rec *r, struct buf *b)
{
	struct audit_raw w;

	audit_raw_of(r, &w);
	buf_reset(b);
	return audit_encode(&w, b);
}

/* hash = SHA-256(prev || canonical) */
int
audit_hash(const struct audit_raw *r, const uint8_t prev[AUDIT_HASH_LEN],
    uint8_t out[AUDIT_HASH_LEN])
{
	struct buf b;
	int rv = -1;

	buf_init(&b);
	if (buf_put(&b, prev, AUDIT_HASH_LEN) == 0 && audit_encode(r, &b) == 0) {
		crypto_sha256(b.p, b.len, out);
		rv = 0;
	}
	buf_free(&b);
	return rv;
}

static void
audit_copy_str(char *dst, size_t dstsz, const struct audit_col *c)
{
	size_t n = c->n < dstsz - 1 ? c->n : dstsz - 1;

	memcpy(dst, c->p, n);
	dst[n] = '\0';
}

void
audit_rec_of(const struct audit_raw *w, struct audit_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->seq = w->seq;
	r->time = w->time;
	audit_copy_str(r->kind, sizeof(r->kind), &w->kind);
	if (w->reqid.n == AIRLOCK_REQID_LEN) {
		r->has_reqid = 1;
		memcpy(r->reqid, w->reqid.p, AIRLOCK_REQID_LEN);
	}
	audit_copy_str(r->root, sizeof(r->root), &w->root);
	audit_copy_str(r->actor, sizeof(r->actor), &w->actor);
	audit_copy_str(r->text, sizeof(r->text), &w->text);
	if (w->prev.n == AUDIT_HASH_LEN)
		memcpy(r->prev, w->prev.p, AUDIT_HASH_LEN);
	if (w->hash.n == AUDIT_HASH_LEN)
		memcpy(r->hash, w->hash.p, AUDIT_HASH_LEN);
}

/* One record against the chain so far: 0 good, 1 bad, -1 error. */
int
audit_check_one(const struct audit_raw *w, int64_t want_seq,
    const uint8_t prev[AUDIT_HASH_LEN], struct audit_check *c)
{
	uint8_t h[AUDIT_HASH_LEN];

	if (w->seq > want_seq)
		return audit_bad(c, want_seq, want_seq + 1 == w->seq ?
		    "record %lld is missing (deleted)" :
		    "records %lld to %lld are missing (deleted)",
		    (long long)want_seq, (long long)w->seq - 1);
	if (w->seq < want_seq)
		return audit_bad(c, w->seq, "record %lld is out of sequence",
		    (long long)w->seq);
	if (w->prev.n != AUDIT_HASH_LEN || !crypto_memeq(w->prev.p, prev,
	    AUDIT_HASH_LEN))
		return audit_bad(c, w->seq, w->seq == 1 ? "record 1 does not "
		    "start the chain (replaced, or records moved)" : "record %lld "
		    "does not follow record %lld (records reordered or replaced, "
		    "or record %lld changed and re-hashed)", (long long)w->seq,
		    (long long)w->seq - 1, (long long)w->seq - 1);
	if (audit_hash(w, prev, h) == -1)
		return -1;
	if (w->hash.n != AUDIT_HASH_LEN || !crypto_memeq(w->hash.p, h,
	    AUDIT_HASH_LEN))
		return audit_bad(c, w->seq, "record %lld has been changed (its hash "
		    "does not match its contents)", (long long)w->seq);
	return 0;
}

/* After the walk: the head the caller kept must still be in the chain. */
int
audit_check_head(int64_t head_seq, const uint8_t *head, const uint8_t *at_head,
    struct audit_check *c)
{
	if (head_seq > c->head_seq)
		return audit_bad(c, c->head_seq + 1, "the chain ends at record %lld "
		    "but record %lld was seen before: records were deleted from "
		    "the end", (long long)c->head_seq, (long long)head_seq);
	if (!crypto_memeq(at_head, head, AUDIT_HASH_LEN))
		return audit_bad(c, head_seq, "record %lld is not the record seen "
		    "before (its hash differs from the one given)",
		    (long long)head_seq);
	return 0;
}

int
audit_check_next(struct audit_check *c, uint8_t prev[AUDIT_HASH_LEN],
    const struct audit_rec *r)
{
	struct audit_raw w;
	int bad;

	audit_raw_of(r, &w);
	w.prev.p = r->prev;
	w.prev.n = AUDIT_HASH_LEN;
	w.hash.p = r->hash;
	w.hash.n = AUDIT_HASH_LEN;
	c->records++;
	if ((bad = audit_check_one(&w, c->head_seq + 1, prev, c)) != 0)
		return bad;
	memcpy(prev, r->hash, AUDIT_HASH_LEN);
	memcpy(c->head, r->hash, AUDIT_HASH_LEN);
	c->head_seq = r->seq;
	return 0;
}

int
audit_wire_put(struct buf *b, const struct audit_raw *w)
{
	size_t at = b->len;

	if (w->prev.n != AUDIT_HASH_LEN || w->hash.n != AUDIT_HASH_LEN ||
	    buf_put_u32(b, 0) == -1 || audit_encode(w, b) == -1 ||
	    b->len - at - 4 > UINT32_MAX)
		goto fail;
	put_be32(b->p + at, (uint32_t)(b->len - at - 4));
	if (buf_put(b, w->prev.p, AUDIT_HASH_LEN) == -1 ||
	    buf_put(b, w->hash.p, AUDIT_HASH_LEN) == -1)
		goto fail;
	return 0;
fail:
	b->len = at;
	return -1;
}

/* A u16- or u32-counted column of canonical bytes at *off. */
static int
wire_col(const uint8_t *p, size_t n, size_t *off, int wide, struct audit_col *c)
{
	size_t w = wide ? 4 : 2, len;

	if (n - *off < w)
		return -1;
	len = wide ? get_be32(p + *off) : get_be16(p + *off);
	*off += w;
	if (n - *off < len)
		return -1;
	c->p = p + *off;
	c->n = len;
	*off += len;
	return 0;
}

int
audit_wire_next(const uint8_t *p, size_t n, size_t *off, struct audit_raw *w,
    char *why, size_t whysz)
{
	size_t len, o, end, label = strlen(AUDIT_LABEL);

	memset(w, 0, sizeof(*w));
	if (*off == n)
		return 0;
	if (n - *off < 4 || (len = get_be32(p + *off)) > n - *off - 4 ||
	    n - *off - 4 - len < 2 * AUDIT_HASH_LEN) {
		snprintf(why, whysz, "audit record at byte %zu runs past the end", *off);
		return -1;
	}
	o = *off + 4;
	end = o + len;
	if (len < label + 16 || memcmp(p + o, AUDIT_LABEL, label) != 0) {
		snprintf(why, whysz, "audit record at byte %zu has no record label", *off);
		return -1;
	}
	o += label;
	w->seq = (int64_t)get_be64(p + o);
	w->time = (int64_t)get_be64(p + o + 8);
	o += 16;
	if (wire_col(p, end, &o, 0, &w->kind) == -1 ||
	    wire_col(p, end, &o, 0, &w->reqid) == -1 ||
	    wire_col(p, end, &o, 0, &w->root) == -1 ||
	    wire_col(p, end, &o, 0, &w->actor) == -1 ||
	    wire_col(p, end, &o, 1, &w->text) == -1 || o != end ||
	    (w->reqid.n != 0 && w->reqid.n != AIRLOCK_REQID_LEN) || w->seq < 1) {
		snprintf(why, whysz, "audit record at byte %zu is malformed", *off);
		return -1;
	}
	w->prev.p = p + end;
	w->prev.n = AUDIT_HASH_LEN;
	w->hash.p = p + end + AUDIT_HASH_LEN;
	w->hash.n = AUDIT_HASH_LEN;
	*off = end + 2 * AUDIT_HASH_LEN;
	return 1;
}

void
audit_head_put(const struct audit_head *h, uint8_t out[AUDIT_HEAD_LEN])
{
	put_be64(out, (uint64_t)h->seq);
	memcpy(out + 8, h->hash, AUDIT_HASH_LEN);
	put_be64(out + 8 + AUDIT_HASH_LEN, (uint64_t)h->time);
}

void
audit_head_get(const uint8_t in[AUDIT_HEAD_LEN], struct audit_head *h)
{
	h->seq = (int64_t)get_be64(in);
	memcpy(h->hash, in + 8, AUDIT_HASH_LEN);
	h->time = (int64_t)get_be64(in + 8 + AUDIT_HASH_LEN);
}

#define AUDIT_SIG_LABEL	"airlock-audit-head-v1"

struct audit_key {
	EVP_PKEY	*pk;
};

/* The PEM of k's secret (secret) or public half, to b. */
static int
audit_key_pem(EVP_PKEY *k, int secret, struct buf *b)
{
	BIO *bio;
	char *p;
	long n;
	int ok;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	ok = secret ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL) :
	    PEM_write_bio_PUBKEY(bio, k);
	n = BIO_get_mem_data(bio, &p);
	ok = ok && n > 0 && buf_put(b, p, (size_t)n) == 0;
	BIO_free(bio);
	return ok ? 0 : -1;
}

int
audit_key_new(const char *secret_path, const char *public_path, char *why,
    size_t whysz)
{
	EVP_PKEY *k = NULL;
	struct buf s, p;
	int fd, rv = -1;

	buf_init(&s);
	buf_init(&p);
	if ((k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    audit_key_pem(k, 1, &s) == -1 || audit_key_pem(k, 0, &p) == -1) {
		snprintf(why, whysz, "cannot make an Ed25519 key");
		goto done;
	}
	/* a new file: an audit key is never overwritten */
	if ((fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(why, whysz, "%s: %s", secret_path, strerror(errno));
		goto done;
	}
	if (write(fd, s.p, s.len) != (ssize_t)s.len || fsync(fd) == -1) {
		snprintf(why, whysz, "%s: %s", secret_path, strerror(errno));
		close(fd);
		unlink(secret_path);
		goto done;
	}
	close(fd);
	if (write_file_atomic(public_path, p.p, p.len, 0644) == -1) {
		snprintf(why, whysz, "%s: %s", public_path, strerror(errno));
		goto done;
	}
	rv = 0;
done:
	EVP_PKEY_free(k);
	crypto_cleanse(s.p, s.len);
	buf_free(&s);
	buf_free(&p);
	return rv;
}

struct audit_key *
audit_key_load(const char *path, int secret, char *why, size_t whysz)
{
	struct audit_key *ak = NULL;
	EVP_PKEY *k = NULL;
	struct stat st;
	struct buf b;
	BIO *bio = NULL;

	buf_init(&b);
	if (read_file(path, &b, 16384) == -1) {
		snprintf(why, whysz, "%s: %s", path, strerror(errno));
		goto done;
	}
	if (secret && (stat(path, &st) == -1 || (st.st_mode & 077) != 0)) {
		snprintf(why, whysz, "%s: the audit key is readable by group or "
		    "others; chmod 600 it", path);
		goto done;
	}
	if ((bio = BIO_new_mem_buf(b.p, (int)b.len)) == NULL)
		goto done;
	k = secret ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) :
	    PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		snprintf(why, whysz, "%s: not an Ed25519 %s key in PEM", path,
		    secret ? "private" : "public");
		goto done;
	}
	if ((ak = calloc(1, sizeof(*ak))) == NULL)
		goto done;
	ak->pk = k;
	k = NULL;
done:
	BIO_free(bio);
	EVP_PKEY_free(k);
	crypto_cleanse(b.p, b.len);
	buf_free(&b);
	return ak;
}

void
audit_key_free(struct audit_key *ak)
{
	if (ak == NULL)
		return;
	EVP_PKEY_free(ak->pk);
	free(ak);
}

static size_t
audit_sig_input(const struct audit_head *h, uint8_t *m)
{
	size_t l = strlen(AUDIT_SIG_LABEL);

	memcpy(m, AUDIT_SIG_LABEL, l);
	audit_head_put(h, m + l);
	return l + AUDIT_HEAD_LEN;
}

int
audit_head_sign(struct audit_key *ak, const struct audit_head *h,
    uint8_t sig[AUDIT_SIG_LEN])
{
	uint8_t m[64 + AUDIT_HEAD_LEN];
	size_t ml = audit_sig_input(h, m), sl = AUDIT_SIG_LEN;
	EVP_MD_CTX *c;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestSignInit(c, NULL, NULL, NULL, ak->pk) == 1 &&
	    EVP_DigestSign(c, sig, &sl, m, ml) == 1 && sl == AUDIT_SIG_LEN;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -1;
}

int
audit_head_verify(struct audit_key *ak, const struct audit_head *h,
    const uint8_t sig[AUDIT_SIG_LEN])
{
	uint8_t m[64 + AUDIT_HEAD_LEN];
	size_t ml = audit_sig_input(h, m);
	EVP_MD_CTX *c;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(c, NULL, NULL, NULL, ak->pk) == 1 &&
	    EVP_DigestVerify(c, sig, AUDIT_SIG_LEN, m, ml) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* A JSON string of c's bytes: invalid UTF-8 and control bytes escaped. */
static int
json_str(struct buf *b, const struct audit_col *c)
{
	char esc[8];
	size_t i = 0, n;
	uint32_t cp;

	if (buf_put(b, "\"", 1) == -1)
		return -1;
	while (i < c->n) {
		uint8_t ch = c->p[i];

		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			if (buf_put(b, esc, 2) == -1)
				return -1;
			i++;
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			if (buf_put(b, esc, 6) == -1)
				return -1;
			i++;
		} else if (ch < 0x80) {
			if (buf_put(b, &c->p[i], 1) == -1)
				return -1;
			i++;
		} else if ((n = utf8_seq(c->p + i, c->n - i, &cp)) > 0) {
			if (buf_put(b, c->p + i, n) == -1)
				return -1;
			i += n;
		} else {
			/* not UTF-8: U+FFFD; the hashes still cover the bytes */
			if (buf_put(b, "\\ufffd", 6) == -1)
				return -1;
			i++;
		}
	}
	return buf_put(b, "\"", 1);
}

int
audit_json(const struct audit_raw *w, struct buf *b)
{
	char num[160], hex[2 * AUDIT_HASH_LEN + 1], id[2 * AIRLOCK_REQID_LEN + 1];
	struct tm tm;
	time_t t = (time_t)w->time;
	char when[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)w->time);
	snprintf(num, sizeof(num), "{\"seq\":%lld,\"time\":\"%s\",\"kind\":",
	    (long long)w->seq, when);
	if (buf_put(b, num, strlen(num)) == -1 || json_str(b, &w->kind) == -1)
		return -1;
	if (w->reqid.n == AIRLOCK_REQID_LEN) {
		hex_encode(w->reqid.p, AIRLOCK_REQID_LEN, id);
		snprintf(num, sizeof(num), ",\"reqid\":\"%s\"", id);
	} else
		snprintf(num, sizeof(num), ",\"reqid\":null");
	if (buf_put(b, num, strlen(num)) == -1 ||
	    buf_put(b, ",\"root\":", 8) == -1 || json_str(b, &w->root) == -1 ||
	    buf_put(b, ",\"actor\":", 9) == -1 || json_str(b, &w->actor) == -1 ||
	    buf_put(b, ",\"text\":", 8) == -1 || json_str(b, &w->text) == -1)
		return -1;
	hex_encode(w->prev.p, AUDIT_HASH_LEN, hex);
	snprintf(num, sizeof(num), ",\"prev\":\"%s\"", hex);
	if (buf_put(b, num, strlen(num)) == -1)
		return -1;
	hex_encode(w->hash.p, AUDIT_HASH_LEN, hex);
	snprintf(num, sizeof(num), ",\"hash\":\"%s\"}\n", hex);
	return buf_put(b, num, strlen(num));
}
