/*
 * backup.c: the backup file (include/backup.h, docs/operations.md).
 *
 * Plain:  "airlock-backup-v1\n" || u32 L || manifest (L bytes of text)
 *         || each entry's bytes in manifest order || SHA-256 of all before
 * Sealed: "airlock-backup-sealed-v1\n" || kdf (1 = scrypt) || log2 N || r || p
 *         || salt (16) || nonce (12) || AES-256-GCM(plain) || tag (16),
 *         the header (everything before the ciphertext) as associated data.
 *
 * Every length is checked before it is used and every entry's sum is
 * checked on reading, so a damaged or altered file is refused as a whole
 * (a sealed one already by its tag). The passphrase and the derived key
 * are cleared on every path.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "backup.h"
#include "crypto.h"

#define BK_MAGIC	"airlock-backup-v1\n"
#define BK_SMAGIC	"airlock-backup-sealed-v1\n"
#define BK_SALT		16
#define BK_NONCE	12
#define BK_TAG		16
#define BK_SHDR		(sizeof(BK_SMAGIC) - 1 + 4 + BK_SALT + BK_NONCE)
#define BK_LOG2N	15	/* scrypt N = 32768, r = 8: 32 MiB, under a second */
#define BK_R		8
#define BK_P		1
#define BK_MAX		(4ull << 30)	/* refuse a file claiming more */

void
bk_init(struct bk_archive *a)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->data);
}

void
bk_free(struct bk_archive *a)
{
	free(a->e);
	buf_free(&a->data);
	memset(a, 0, sizeof(*a));
}

static int
bk_word_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

void
bk_owner_names(uint32_t uid, uint32_t gid, struct bk_entry *e)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrgid(gid);

	snprintf(e->owner, sizeof(e->owner), "%s", pw && bk_word_ok(pw->pw_name) ? pw->pw_name : "-");
	snprintf(e->group, sizeof(e->group), "%s", gr && bk_word_ok(gr->gr_name) ? gr->gr_name : "-");
}

static struct bk_entry *
bk_new(struct bk_archive *a, const char *name, const char *path, char *why, size_t whysz)
{
	struct bk_entry *e;
	size_t cap;

	if (!bk_word_ok(name) || strlen(name) >= BK_NAME_MAX || bk_find(a, name) ||
	    strlen(path) >= BK_PATH_MAX || strchr(path, '\n') || *path == '\0') {
		say(why, whysz, "%s: a name or path that cannot go into a backup", name);
		return NULL;
	}
	if (a->n == a->cap) {
		cap = a->cap ? a->cap * 2 : 16;
		if ((e = realloc(a->e, cap * sizeof(*e))) == NULL) {
			say(why, whysz, "out of memory");
			return NULL;
		}
		a->e = e;
		a->cap = cap;
	}
	e = &a->e[a->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->path, sizeof(e->path), "%s", path);
	return e;
}

int
bk_add(struct bk_archive *a, const char *name, const char *path, uint32_t mode,
    uint32_t uid, uint32_t gid, const void *p, size_t n, char *why, size_t whysz)
{
	struct bk_entry *e;

	if ((e = bk_new(a, name, path, why, whysz)) == NULL)
		return -1;
	e->mode = mode & 07777;
	e->size = n;
	e->off = a->data.len;
	bk_owner_names(uid, gid, e);
	crypto_sha256(p, n, e->sha);
	if (buf_put(&a->data, p, n) == -1) {
		say(why, whysz, "out of memory");
		return -1;
	}
	a->n++;
	return 0;
}

int
bk_add_file(struct bk_archive *a, const char *name, const char *path,
    char *why, size_t whysz)
{
	struct buf b;
	struct stat st;
	int rv = -1;

	buf_init(&b);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		say(why, whysz, "%s: %s", path, errno ? strerror(errno) : "not a file");
		goto done;
	}
	if (read_file(path, &b, BK_MAX) == -1) {
		say(why, whysz, "%s: cannot read: %s", path, strerror(errno));
		goto done;
	}
	rv = bk_add(a, name, path, st.st_mode, st.st_uid, st.st_gid, b.p, b.len, why, whysz);
done:
	buf_free(&b);
	return rv;
}

const struct bk_entry *
bk_find(const struct bk_archive *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->e[i].name, name) == 0)
			return &a->e[i];
	return NULL;
}

int
bk_manifest(const struct bk_archive *a, struct buf *out)
{
	char hex[65], line[BK_PATH_MAX + BK_NAME_MAX + 256];
	size_t i;
	int n;

	for (i = 0; i < a->n; i++) {
		hex_encode(a->e[i].sha, 32, hex);
		n = snprintf(line, sizeof(line), "%s %llu %04o %s %s %s %s\n", hex,
		    (unsigned long long)a->e[i].size, (unsigned)a->e[i].mode,
		    a->e[i].owner, a->e[i].group, a->e[i].name, a->e[i].path);
		if (n < 0 || (size_t)n >= sizeof(line) || buf_put(out, line, (size_t)n) == -1)
			return -1;
	}
	return 0;
}

static int
bk_plain(const struct bk_archive *a, struct buf *out)
{
	struct buf m;
	uint8_t sum[32];
	size_t start = out->len, i;
	int rv = -1;

	buf_init(&m);
	if (bk_manifest(a, &m) == -1 || buf_put(out, BK_MAGIC, sizeof(BK_MAGIC) - 1) == -1 ||
	    buf_put_u32(out, (uint32_t)m.len) == -1 || buf_put(out, m.p, m.len) == -1)
		goto done;
	for (i = 0; i < a->n; i++)
		if (buf_put(out, a->data.p + a->e[i].off, a->e[i].size) == -1)
			goto done;
	crypto_sha256(out->p + start, out->len - start, sum);
	rv = buf_put(out, sum, sizeof(sum));
done:
	buf_free(&m);
	return rv;
}

static int
bk_key(const char *pass, const uint8_t *hdr, uint8_t key[32])
{
	const uint8_t *k = hdr + sizeof(BK_SMAGIC) - 1;

	if (k[0] != 1 || k[1] < 10 || k[1] > 22 || k[2] < 1 || k[2] > 32 || k[3] < 1 || k[3] > 16)
		return -1;
	return EVP_PBE_scrypt(pass, strlen(pass), k + 4, BK_SALT, 1ull << k[1], k[2], k[3],
	    1ull << 30, key, 32) == 1 ? 0 : -1;
}

/* AES-256-GCM over in (encrypt: 1) with the header as associated data. */
static int
bk_gcm(int enc, const uint8_t key[32], const uint8_t *hdr, const uint8_t *in,
    size_t n, uint8_t *out, uint8_t tag[BK_TAG])
{
	EVP_CIPHER_CTX *c;
	const uint8_t *nonce = hdr + BK_SHDR - BK_NONCE;
	int len, ok = 0;
	size_t done = 0, step;

	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &len, hdr, (int)BK_SHDR) != 1)
		goto done;
	while (done < n) {	/* in steps: an int length each */
		step = n - done > (1u << 30) ? (1u << 30) : n - done;
		if (EVP_CipherUpdate(c, out + done, &len, in + done, (int)step) != 1)
			goto done;
		done += step;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BK_TAG, tag) != 1)
		goto done;
	if (EVP_CipherFinal_ex(c, out + n, &len) != 1)
		goto done;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BK_TAG, tag) != 1)
		goto done;
	ok = 1;
done:
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int
bk_encode(const struct bk_archive *a, const char *pass, struct buf *out,
    char *why, size_t whysz)
{
	struct buf plain;
	uint8_t hdr[BK_SHDR], key[32], *h = hdr + sizeof(BK_SMAGIC) - 1;
	int rv = -1;

	if (pass == NULL) {
		if (bk_plain(a, out) == -1)
			say(why, whysz, "out of memory");
		return out->len ? 0 : -1;
	}
	buf_init(&plain);
	memcpy(hdr, BK_SMAGIC, sizeof(BK_SMAGIC) - 1);
	h[0] = 1, h[1] = BK_LOG2N, h[2] = BK_R, h[3] = BK_P;
	if (crypto_random(h + 4, BK_SALT + BK_NONCE) == -1 || bk_plain(a, &plain) == -1 ||
	    bk_key(pass, hdr, key) == -1 || buf_put(out, hdr, sizeof(hdr)) == -1 ||
	    buf_reserve(out, plain.len + BK_TAG + 16) == -1) {
		say(why, whysz, "cannot seal the backup (out of memory or no random)");
		goto done;
	}
	if (bk_gcm(1, key, hdr, plain.p, plain.len, out->p + out->len,
	    out->p + out->len + plain.len) == -1) {
		say(why, whysz, "cannot seal the backup: AES-256-GCM failed");
		goto done;
	}
	out->len += plain.len + BK_TAG;
	rv = 0;
done:
	crypto_cleanse(key, sizeof(key));
	buf_free(&plain);
	return rv;
}

int
bk_sealed(const uint8_t *p, size_t n)
{
	if (n >= BK_SHDR + BK_TAG && memcmp(p, BK_SMAGIC, sizeof(BK_SMAGIC) - 1) == 0)
		return 1;
	if (n >= sizeof(BK_MAGIC) - 1 + 4 + 32 && memcmp(p, BK_MAGIC, sizeof(BK_MAGIC) - 1) == 0)
		return 0;
	return -1;
}

/* One manifest line into e; the entry's bytes are checked by the caller. */
static int
bk_line(char *line, struct bk_entry *e)
{
	char *f[7], *s = line;
	unsigned long long size;
	unsigned mode;
	int i;

	memset(e, 0, sizeof(*e));
	for (i = 0; i < 6; i++) {	/* six words, then the path (may hold blanks) */
		f[i] = s;
		if ((s = strchr(s, ' ')) == NULL)
			return -1;
		*s++ = '\0';
	}
	f[6] = s;
	if (strlen(f[0]) != 64 || hex_decode(f[0], e->sha, 32) == -1 ||
	    sscanf(f[1], "%llu", &size) != 1 || sscanf(f[2], "%o", &mode) != 1 ||
	    !bk_word_ok(f[5]) || strlen(f[5]) >= BK_NAME_MAX || *f[6] == '\0' ||
	    strlen(f[6]) >= BK_PATH_MAX || strlen(f[3]) >= 64 || strlen(f[4]) >= 64)
		return -1;
	e->size = size;
	e->mode = mode & 07777;
	snprintf(e->owner, sizeof(e->owner), "%s", f[3]);
	snprintf(e->group, sizeof(e->group), "%s", f[4]);
	snprintf(e->name, sizeof(e->name), "%s", f[5]);
	snprintf(e->path, sizeof(e->path), "%s", f[6]);
	return 0;
}

static int
bk_parse(const uint8_t *p, size_t n, struct bk_archive *a, char *why, size_t whysz)
{
	size_t hl = sizeof(BK_MAGIC) - 1, ml, off, ln = 0;
	uint8_t sum[32];
	char *m = NULL, *line, *save;
	struct bk_entry e;
	int rv = -1;

	crypto_sha256(p, n - 32, sum);
	if (!crypto_memeq(sum, p + n - 32, 32)) {
		say(why, whysz, "the backup's checksum does not match: the file is damaged");
		return -1;
	}
	n -= 32;
	ml = get_be32(p + hl);
	if (ml > n - hl - 4 || (m = malloc(ml + 1)) == NULL) {
		say(why, whysz, "the manifest runs past the end of the backup");
		return -1;
	}
	memcpy(m, p + hl + 4, ml);
	m[ml] = '\0';
	off = hl + 4 + ml;
	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		ln++;
		if (bk_line(line, &e) == -1 || e.size > n - off) {
			say(why, whysz, "manifest line %zu is malformed or runs past the end", ln);
			goto done;
		}
		crypto_sha256(p + off, e.size, sum);
		if (!crypto_memeq(sum, e.sha, 32)) {
			say(why, whysz, "%s: SHA-256 does not match the manifest", e.name);
			goto done;
		}
		if (bk_find(a, e.name) || bk_add(a, e.name, e.path, e.mode, 0, 0, p + off,
		    e.size, why, whysz) == -1) {
			say(why, whysz, "%s: twice in the manifest, or out of memory", e.name);
			goto done;
		}
		memcpy(a->e[a->n - 1].owner, e.owner, sizeof(e.owner));
		memcpy(a->e[a->n - 1].group, e.group, sizeof(e.group));
		off += e.size;
	}
	if (off != n) {
		say(why, whysz, "%zu bytes after the last entry", n - off);
		goto done;
	}
	rv = 0;
done:
	free(m);
	return rv;
}

int
bk_decode(const uint8_t *p, size_t n, const char *pass, struct bk_archive *a,
    char *why, size_t whysz)
{
	struct buf plain;
	uint8_t key[32], tag[BK_TAG];
	size_t cn;
	int kind = bk_sealed(p, n), rv = -1;

	if (kind == -1) {
		say(why, whysz, "not an airlock backup (or cut short)");
		return -1;
	}
	if (kind == 0)
		return bk_parse(p, n, a, why, whysz);
	if (pass == NULL) {
		say(why, whysz, "the backup is sealed: a passphrase is needed");
		return -1;
	}
	buf_init(&plain);
	cn = n - BK_SHDR - BK_TAG;
	memcpy(tag, p + n - BK_TAG, BK_TAG);
	if (bk_key(pass, p, key) == -1 || buf_reserve(&plain, cn + 16) == -1) {
		say(why, whysz, "bad key derivation parameters, or out of memory");
		goto done;
	}
	if (bk_gcm(0, key, p, p + BK_SHDR, cn, plain.p, tag) == -1) {
		say(why, whysz, "wrong passphrase, or the backup was altered");
		goto done;
	}
	plain.len = cn;
	if (bk_sealed(plain.p, plain.len) != 0) {
		say(why, whysz, "the sealed content is not a backup");
		goto done;
	}
	rv = bk_parse(plain.p, plain.len, a, why, whysz);
done:
	crypto_cleanse(key, sizeof(key));
	buf_free(&plain);
	return rv;
}
