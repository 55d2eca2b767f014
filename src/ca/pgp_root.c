/*
 * pgp_root.c: OpenPGP root directories (docs/ca-layout.md, "OpenPGP
 * roots"). A directory holds:
 *   pgp.pub   the root's transferable public key, binary: primary key,
 *             user IDs with their self-signatures (and public subkeys of an
 *             imported key). The signer certifies with its primary key.
 *   ca.asc    the same, ASCII-armoured, for webdb and for users.
 *   pgp.key   the primary secret key, PKCS#8 PEM, encrypted with AES-256
 *             under the root's passphrase (pass_file or the console), 0600,
 *             created with O_EXCL|O_NOFOLLOW.
 *   root.info a note for people of how the directory was made.
 * A new root gets an Ed25519 (EdDSA, v4) or RSA-4096 primary key and one
 * user ID with a positive self-certification (certify and sign flags).
 * An imported root keeps its v4 primary key and self-signatures as they
 * were (DSA included), so that existing certifications stay valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <unistd.h>

#include "pgp.h"
#include "pgp_root.h"


static void
join(char *out, size_t n, const char *dir, const char *f)
{
	snprintf(out, n, "%s/%s", dir, f);
}

static int
write_new(const char *dir, const char *f, const void *p, size_t n, int mode,
    char *why, size_t whysz)
{
	char path[4096];
	int fd, ok;

	join(path, sizeof(path), dir, f);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode)) == -1)
		return pgp_fail(why, whysz, "%s: cannot create (it may exist already)", path);
	ok = write_full(fd, p, n) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return ok ? 0 : pgp_fail(why, whysz, "%s: cannot write", path);
}

/* A new root's public key: key packet, user ID, positive self-certification. */
static int
root_pub_new(const struct pgp_root_params *pp, void *sk, const struct buf *body,
    struct buf *out, char *why, size_t whysz)
{
	struct pgp_pub pub;
	struct buf extra;
	size_t ul = strlen(pp->uid);
	/* key flags: certify, sign; preferred hashes: SHA-512, SHA-256 */
	static const uint8_t sub[] = { 2, 27, 0x03, 3, 21, PGP_H_SHA512, PGP_H_SHA256 };
	int rc = -1;

	buf_init(&extra);
	if (pgp_parse_pub(body->p, body->len, &pub, NULL, why, whysz) == -1 ||
	    pgp_pub_load(&pub, why, whysz) == -1)
		return -1;
	if (buf_put(&extra, sub, sizeof(sub)) == -1 ||
	    pgp_put_hdr(out, PGP_TAG_PUBKEY, body->len) == -1 ||
	    buf_put(out, body->p, body->len) == -1 ||
	    pgp_put_hdr(out, PGP_TAG_UID, ul) == -1 || buf_put(out, pp->uid, ul) == -1 ||
	    pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)pp->uid, ul, PGP_SIG_POSITIVE,
	    (uint32_t)pp->now, 0, &extra, out) == -1)
		pgp_fail(why, whysz, "%s", "cannot make the root's self-certification");
	else
		rc = 0;
	pgp_pub_free(&pub);
	buf_free(&extra);
	return rc;
}

/* An imported secret key: the secret primary key and the public key. */
static int
root_import(const struct pgp_root_params *pp, void **sk, struct buf *out, char *why,
    size_t whysz)
{
	struct pgp_key *k = NULL;
	struct pgp_pub pub;
	struct buf f, bin;
	size_t pubend;
	int i, rc = -1, tag;

	buf_init(&f);
	buf_init(&bin);
	if (read_file(pp->import, &f, PGP_MAX_KEY * 4) == -1) {
		pgp_fail(why, whysz, "%s: cannot read", pp->import);
		goto done;
	}
	if (pgp_dearmor(f.p, f.len, &bin, why, whysz) == -1 ||
	    pgp_key_parse(bin.p, bin.len, 1, &k, why, whysz) == -1 ||
	    pgp_seckey_decrypt(k->pkt[0].body, k->pkt[0].len, pp->import_pass, sk,
	    why, whysz) == -1)
		goto done;
	for (i = 0; i < k->npkt; i++) {
		tag = k->pkt[i].tag;
		if (tag == PGP_TAG_TRUST)
			continue;
		if (tag != PGP_TAG_SECKEY && tag != PGP_TAG_SECSUB) {
			if (buf_put(out, k->pkt[i].raw, k->pkt[i].rawlen) == -1)
				goto done;
			continue;
		}
		if (pgp_parse_pub(k->pkt[i].body, k->pkt[i].len, &pub, &pubend, why,
		    whysz) == -1)
			goto done;
		if (pgp_put_hdr(out, tag == PGP_TAG_SECKEY ? PGP_TAG_PUBKEY :
		    PGP_TAG_PUBSUB, pubend) == -1 || buf_put(out, k->pkt[i].body, pubend) == -1)
			goto done;
	}
	rc = 0;
done:
	if (rc == -1) {
		pgp_sk_free(*sk);
		*sk = NULL;
	}
	pgp_key_free(k);
	buf_free(&f);
	buf_free(&bin);
	return rc;
}

static int
root_parse(struct pgp_root *r, char *why, size_t whysz)
{
	int i;

	if (pgp_key_parse(r->pub.p, r->pub.len, 0, &r->key, why, whysz) == -1 ||
	    pgp_pub_load(&r->key->pub, why, whysz) == -1)
		return -1;
	if (r->key->pub.alg != PGP_PK_RSA && r->key->pub.alg != PGP_PK_RSA_S &&
	    r->key->pub.alg != PGP_PK_DSA && r->key->pub.alg != PGP_PK_ECDSA &&
	    r->key->pub.alg != PGP_PK_EDDSA)
		return pgp_fail(why, whysz, "%s", "the root's primary key cannot sign");
	for (i = 1; i < r->key->npkt; i++)
		if (r->key->pkt[i].tag == PGP_TAG_UID) {
			snprintf(r->uid, sizeof(r->uid), "%.*s", (int)r->key->pkt[i].len,
			    (const char *)r->key->pkt[i].body);
			break;
		}
	return 0;
}

int
pgp_root_init(const struct pgp_root_params *pp, char fpr[41], char *why, size_t whysz)
{
	struct pgp_root r;
	struct buf body, asc, info;
	char note[1024];
	int rc = -1;

	memset(&r, 0, sizeof(r));
	buf_init(&r.pub);
	buf_init(&body);
	buf_init(&asc);
	buf_init(&info);
	if (mkdir(pp->dir, 0700) == -1 && errno != EEXIST) {
		pgp_fail(why, whysz, "%s: cannot create the directory", pp->dir);
		goto done;
	}
	if (pp->import != NULL) {
		if (root_import(pp, &r.sk, &r.pub, why, whysz) == -1)
			goto done;
	} else if (pgp_keygen(pp->alg, (uint32_t)pp->now, &r.sk, &body, why, whysz) == -1 ||
	    root_pub_new(pp, r.sk, &body, &r.pub, why, whysz) == -1)
		goto done;
	if (root_parse(&r, why, whysz) == -1)
		goto done;
	if (!pgp_sk_matches(r.sk, &r.key->pub)) {
		pgp_fail(why, whysz, "%s", "the secret key does not belong to the public key");
		goto done;
	}
	pgp_fpr_hex(r.key->pub.fpr, fpr);
	snprintf(note, sizeof(note), "OpenPGP root made by airlockctl pgp-root %s\n"
	    "fingerprint %s\nuser ID %s\n", pp->import ? "import" : "init", fpr, r.uid);
	if (pgp_armor("PUBLIC KEY BLOCK", r.pub.p, r.pub.len, &asc) == -1 ||
	    pgp_sk_write_dir(pp->dir, r.sk, pp->pass, why, whysz) == -1 ||
	    write_new(pp->dir, "pgp.pub", r.pub.p, r.pub.len, 0644, why, whysz) == -1 ||
	    write_new(pp->dir, "ca.asc", asc.p, asc.len, 0644, why, whysz) == -1 ||
	    write_new(pp->dir, "root.info", note, strlen(note), 0644, why, whysz) == -1)
		goto done;
	rc = 0;
done:
	pgp_key_free(r.key);
	pgp_sk_free(r.sk);
	buf_free(&r.pub);
	buf_free(&body);
	buf_free(&asc);
	buf_free(&info);
	return rc;
}

int
pgp_sk_write_dir(const char *dir, void *sk, const char *pass, char *why, size_t whysz)
{
	char path[4096];

	join(path, sizeof(path), dir, "pgp.key");
	return pgp_sk_write(path, sk, pass, why, whysz);
}

int
pgp_root_load_public(const char *dir, struct pgp_root **out, char *why, size_t whysz)
{
	struct pgp_root *r;
	char path[4096];

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return pgp_fail(why, whysz, "%s", "out of memory");
	buf_init(&r->pub);
	join(path, sizeof(path), dir, "pgp.pub");
	if (read_file(path, &r->pub, PGP_MAX_KEY * 4) == -1) {
		pgp_root_free(r);
		return pgp_fail(why, whysz, "%s: cannot read", path);
	}
	if (root_parse(r, why, whysz) == -1) {
		pgp_root_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

int
pgp_root_load(const char *dir, const char *pass, struct pgp_root **out, char *why,
    size_t whysz)
{
	char path[4096];

	if (pgp_root_load_public(dir, out, why, whysz) == -1)
		return -1;
	join(path, sizeof(path), dir, "pgp.key");
	if (pgp_sk_read(path, pass, &(*out)->sk, why, whysz) == -1)
		goto fail;
	if (!pgp_sk_matches((*out)->sk, &(*out)->key->pub)) {
		pgp_fail(why, whysz, "%s: the secret key does not belong to pgp.pub", path);
		goto fail;
	}
	return 0;
fail:
	pgp_root_free(*out);
	*out = NULL;
	return -1;
}

void
pgp_root_free(struct pgp_root *r)
{
	if (r == NULL)
		return;
	pgp_key_free(r->key);
	pgp_sk_free(r->sk);
	buf_free(&r->pub);
	free(r);
}

/* The first line of a pass_file, without its line end. */
int
pgp_read_pass(const char *path, char *pass, size_t passsz, char *why, size_t whysz)
{
	struct buf b;
	size_t n;

	buf_init(&b);
	if (read_file(path, &b, 4096) == -1) {
		buf_free(&b);
		return pgp_fail(why, whysz, "%s: cannot read the passphrase", path);
	}
	for (n = 0; n < b.len && b.p[n] != '\n' && b.p[n] != '\r'; n++)
		;
	if (n >= passsz || memchr(b.p, '\0', n) != NULL) {
		buf_free(&b);
		return pgp_fail(why, whysz, "%s: the passphrase is too long or not text", path);
	}
	memcpy(pass, b.p, n);
	pass[n] = '\0';
	buf_free(&b);
	return 0;
}

int
pgp_root_open(const char *name, const char *dir, const char *pass_file,
    struct pgp_root **out, char *why, size_t whysz)
{
	char pass[1024], prompt[128];
	int rc;

	*out = NULL;
	pass[0] = '\0';
	if (pass_file != NULL && pass_file[0] != '\0') {
		if (pgp_read_pass(pass_file, pass, sizeof(pass), why, whysz) == -1)
			return -1;
		rc = pgp_root_load(dir, pass, out, why, whysz);
	} else if ((rc = pgp_root_load(dir, NULL, out, why, whysz)) == -1 &&
	    isatty(0) && isatty(2)) {
		/* an encrypted key and no pass_file: ask on the console, once */
		snprintf(prompt, sizeof(prompt), "Passphrase for OpenPGP root %s: ", name);
		if (askpass(prompt, pass, sizeof(pass)) == 0)
			rc = pgp_root_load(dir, pass, out, why, whysz);
	}
	explicit_bzero(pass, sizeof(pass));
	return rc;
}
