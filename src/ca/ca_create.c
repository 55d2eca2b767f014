/*
 * ca_create.c: creating a CA directory (airlockctl root init), and finishing
 * one whose certificate came from an offline parent.
 */
#include "ca_int.h"
#include "crl_x509.h"

/* what ca_root_init may create, removed again if it fails */
static const char *ca_file_names[] = {
	"ca.key", "key.uri", "ca.crt", "chain.pem", "ca.csr", "root.info",
	"link.crt",
};
static const struct {
	const char	*name;		/* ca_root_params key_type */
	const char	*alg;		/* EVP_PKEY_Q_keygen type */
	size_t		 bits;		/* RSA, else 0 */
	const char	*curve;		/* EC, else NULL */
} ca_keytypes[] = {
	{ "rsa:2048",	"RSA",		2048,	NULL },
	{ "rsa:3072",	"RSA",		3072,	NULL },
	{ "rsa:4096",	"RSA",		4096,	NULL },
	{ "ec:P-256",	"EC",		0,	"P-256" },
	{ "ec:P-384",	"EC",		0,	"P-384" },
	{ "ec:P-521",	"EC",		0,	"P-521" },
	{ "ed25519",	"ED25519",	0,	NULL },
};

/* --- creating a CA directory --- */

static EVP_PKEY *
ca_keygen(const char *type, char *why, size_t whysz)
{
	EVP_PKEY *k = NULL;
	size_t i;

	for (i = 0; i < sizeof(ca_keytypes) / sizeof(ca_keytypes[0]); i++)
		if (type != NULL && strcmp(type, ca_keytypes[i].name) == 0)
			break;
	if (i == sizeof(ca_keytypes) / sizeof(ca_keytypes[0])) {
		say(why, whysz, "unknown key type \"%s\"", type ? type : "");
		return NULL;
	}
	if (ca_keytypes[i].bits)
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg,
		    ca_keytypes[i].bits);
	else if (ca_keytypes[i].curve)
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg,
		    ca_keytypes[i].curve);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, ca_keytypes[i].alg);
	if (k == NULL)
		say(why, whysz, "key generation failed (%s)", ssl_reason());
	return k;
}

static X509 *
ca_root_cert(const struct ca_root_params *rp, EVP_PKEY *key,
    const struct ca *parent, char *why, size_t whysz)
{
	X509_NAME *name;
	X509 *x = NULL;
	uint8_t serial[16];
	time_t now = time(NULL), na = now + (time_t)rp->days * CA_DAY;

	if ((name = x509_parse_subject(rp->subject, why, whysz)) == NULL)
		return NULL;
	if (parent != NULL && na > parent->not_after) {
		say(why, whysz, "%u days would outlive the parent CA "
		    "certificate in %s", rp->days, rp->parent_dir);
		goto fail;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto ssl_fail;
	serial[0] = (serial[0] & 0x7f) | 0x40;	/* positive, full length */
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    ca_set_serial(x, serial, sizeof(serial)) == -1 ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x,
	    parent ? X509_get_subject_name(parent->cert) : name) ||
	    ca_set_times(x, now, na) == -1 || !X509_set_pubkey(x, key) ||
	    ca_ext_basic(x, 1, rp->pathlen) == -1 ||
	    ca_ext_ku(x, CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN) == -1 ||
	    ca_ext_ski(x) == -1 ||
	    ca_ext_aki(x, parent ? parent->cert : NULL) == -1)
		goto ssl_fail;
	if (ca_sign(x, parent ? parent->key : key, why, whysz) == -1)
		goto fail;
	X509_NAME_free(name);
	return x;
ssl_fail:
	say(why, whysz, "cannot build the CA certificate (%s)", ssl_reason());
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* Creates path (never replacing or following anything) with the bytes. */
static int
ca_write_new(const char *path, const void *p, size_t n, mode_t mode,
    char *why, size_t whysz)
{
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (write_full(fd, p, n) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
	} else if (close(fd) == 0)
		return 0;
	saved = errno;
	unlink(path);
	say(why, whysz, "%s: %s", path, strerror(saved));
	return -1;
}

static int
ca_write_bio(const char *dir, const char *file, BIO *bio, mode_t mode,
    char *why, size_t whysz)
{
	char path[PATH_MAX];
	BUF_MEM *bm;

	if (ca_path(path, dir, file, why, whysz) == -1)
		return -1;
	BIO_get_mem_ptr(bio, &bm);
	return ca_write_new(path, bm->data, bm->length, mode, why, whysz);
}

static int
ca_write_key(const char *dir, EVP_PKEY *key, const char *pass, char *why,
    size_t whysz)
{
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto done;
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key,
	    pass ? EVP_aes_256_cbc() : NULL, pass,
	    pass ? (int)strlen(pass) : 0, NULL, NULL)) {
		say(why, whysz, "%s: cannot encode the key (%s)", dir,
		    ssl_reason());
		goto done;
	}
	rc = ca_write_bio(dir, "ca.key", bio, 0600, why, whysz);
done:
	BIO_free(bio);	/* a secmem BIO clears itself */
	return rc;
}

static int
ca_write_certs(const char *dir, X509 *x, const struct ca *parent, char *why,
    size_t whysz)
{
	BIO *crt, *chain;
	int i, rc = -1;

	crt = BIO_new(BIO_s_mem());
	chain = BIO_new(BIO_s_mem());
	if (crt == NULL || chain == NULL || !PEM_write_bio_X509(crt, x))
		goto fail;
	if (parent != NULL && !PEM_write_bio_X509(chain, parent->cert))
		goto fail;
	for (i = 0; parent != NULL && i < sk_X509_num(parent->chain); i++)
		if (!PEM_write_bio_X509(chain, sk_X509_value(parent->chain, i)))
			goto fail;
	if (ca_write_bio(dir, "ca.crt", crt, 0644, why, whysz) == 0)
		rc = ca_write_bio(dir, "chain.pem", chain, 0644, why, whysz);
	goto done;
fail:
	say(why, whysz, "%s: cannot encode the certificates (%s)", dir,
	    ssl_reason());
done:
	BIO_free(crt);
	BIO_free(chain);
	return rc;
}

/* A CA directory is made fresh, or an empty one is used. */
static int
ca_make_dir(const char *dir, int *created, char *why, size_t whysz)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	*created = 0;
	if (mkdir(dir, 0700) == 0) {
		*created = 1;
		return 0;
	}
	if (errno != EEXIST ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		say(why, whysz, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(fd)) == NULL) {
		say(why, whysz, "%s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	if (n > 0) {
		say(why, whysz, "%s: exists and is not empty", dir);
		return -1;
	}
	return 0;
}

/* Undoes a failed ca_root_init: only what it made. */
static void
ca_unmake_dir(const char *dir, int created)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(ca_file_names) / sizeof(ca_file_names[0]); i++)
		if (ca_path(path, dir, ca_file_names[i], NULL, 0) == 0)
			unlink(path);
	if (created)
		rmdir(dir);
}

/* The new CA's key: generated, or a handle on a token key kept in *tok. */
static EVP_PKEY *
ca_root_key(const struct ca_root_params *rp, struct ca **tok, char *why,
    size_t whysz)
{
	if (rp->key_uri == NULL)
		return ca_keygen(rp->key_type, why, whysz);
	if (strncmp(rp->key_uri, "pkcs11:", 7) != 0 ||
	    rp->key_uri[strcspn(rp->key_uri, " \t\r\n")] != '\0' ||
	    (rp->module != NULL && rp->module[strcspn(rp->module, " \t\r\n")])) {
		say(why, whysz, "the key URI must start with pkcs11: and neither "
		    "it nor the module path may contain blanks");
		return NULL;
	}
	if ((*tok = calloc(1, sizeof(**tok))) == NULL) {
		say(why, whysz, "out of memory");
		return NULL;
	}
	buf_init(&(*tok)->chain_der);
	if (ca_token_key(*tok, rp->key_uri, rp->module, rp->pin, rp->key_uri,
	    why, whysz) == -1 || EVP_PKEY_up_ref((*tok)->key) != 1)
		return NULL;
	return (*tok)->key;
}

static int
ca_write_key_uri(const struct ca_root_params *rp, char *why, size_t whysz)
{
	char path[PATH_MAX], text[2 * PATH_MAX + 32];
	int n;

	n = snprintf(text, sizeof(text), "%s\n%s%s%s", rp->key_uri,
	    rp->module ? "module=" : "", rp->module ? rp->module : "",
	    rp->module ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		say(why, whysz, "the key URI is too long");
		return -1;
	}
	if (ca_path(path, rp->dir, "key.uri", why, whysz) == -1)
		return -1;
	return ca_write_new(path, text, (size_t)n, 0600, why, whysz);
}

/* basicConstraints and keyUsage asked for in a CA's request, so that a
 * parent that copies requested extensions makes a CA certificate. */
static int
ca_req_exts(X509_REQ *r, int pathlen)
{
	STACK_OF(X509_EXTENSION) *exts;
	X509 *tmp;
	int i, rc = -1;

	if ((tmp = X509_new()) == NULL || (exts = sk_X509_EXTENSION_new_null())
	    == NULL) {
		X509_free(tmp);
		return -1;
	}
	if (ca_ext_basic(tmp, 1, pathlen) == 0 &&
	    ca_ext_ku(tmp, CFG_KU_KEY_CERT_SIGN | CFG_KU_CRL_SIGN) == 0) {
		for (i = 0; i < X509_get_ext_count(tmp); i++)
			if (!sk_X509_EXTENSION_push(exts, X509_get_ext(tmp, i)))
				goto done;
		rc = X509_REQ_add_extensions(r, exts) ? 0 : -1;
	}
done:
	sk_X509_EXTENSION_free(exts);	/* the extensions belong to tmp */
	X509_free(tmp);
	return rc;
}

static X509_REQ *
ca_root_req(const struct ca_root_params *rp, EVP_PKEY *key, char *why,
    size_t whysz)
{
	const EVP_MD *md;
	X509_NAME *name;
	X509_REQ *r = NULL;

	if ((name = x509_parse_subject(rp->subject, why, whysz)) == NULL)
		return NULL;
	if (ca_sign_md(key, &md, why, whysz) == -1)
		goto fail;
	if ((r = X509_REQ_new()) == NULL ||
	    !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_REQ_set_subject_name(r, name) || !X509_REQ_set_pubkey(r, key) ||
	    ca_req_exts(r, rp->pathlen) == -1 || X509_REQ_sign(r, key, md) <= 0) {
		say(why, whysz, "cannot build the certificate request (%s)",
		    ssl_reason());
		goto fail;
	}
	X509_NAME_free(name);
	return r;
fail:
	X509_NAME_free(name);
	X509_REQ_free(r);
	return NULL;
}

static int
ca_write_req(const char *dir, X509_REQ *r, char *why, size_t whysz)
{
	BIO *bio;
	int rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509_REQ(bio,
	    r))
		say(why, whysz, "%s: cannot encode the request", dir);
	else
		rc = ca_write_bio(dir, "ca.csr", bio, 0644, why, whysz);
	BIO_free(bio);
	return rc;
}

static void
ca_now_text(char *out, size_t outsz)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outsz, "@%lld", (long long)now);
}

/* root.info: a record for people of how the directory was made. */
static int
ca_write_info(const struct ca_root_params *rp, char *why, size_t whysz)
{
	char path[PATH_MAX], now[40], text[4 * PATH_MAX];
	int n;

	ca_now_text(now, sizeof(now));
	n = snprintf(text, sizeof(text),
	    "# made by airlockctl root init; for people, the signer does not "
	    "read it\ncreated=%s\nsubject=%s\nkey=%s\nkey_storage=%s\n"
	    "issuer=%s\ndays=%u\npathlen=%d\n%s", now, rp->subject,
	    rp->key_uri ? rp->key_uri : rp->key_type,
	    rp->key_uri ? "pkcs11" : rp->pass ? "encrypted file" : "file",
	    rp->csr_only ? "offline parent (ca.csr)" : rp->parent_dir ?
	    rp->parent_dir : "self-signed", rp->days, rp->pathlen,
	    rp->csr_only ? "state=waiting for the certificate (airlockctl "
	    "root install-cert)\n" : "");
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    ca_path(path, rp->dir, "root.info", why, whysz) == -1) {
		say(why, whysz, "%s: root.info is too long", rp->dir);
		return -1;
	}
	return ca_write_new(path, text, (size_t)n, 0644, why, whysz);
}

/* The old root's key certifies the new key (same subject): link.crt, for
 * relying parties that trust the old root only. It ends with the old
 * certificate at the latest. */
static int
ca_write_link(const struct ca_root_params *rp, EVP_PKEY *key, char *why,
    size_t whysz)
{
	struct ca_root_params lp = *rp;
	time_t left = rp->link_from->not_after - time(NULL);
	X509 *x;
	BIO *bio;
	int rc = -1;

	if (left < CA_DAY) {
		say(why, whysz, "the old root certificate ends in less than a day: "
		    "no link certificate can be made");
		return -1;
	}
	if ((time_t)lp.days * CA_DAY > left)
		lp.days = (uint32_t)(left / CA_DAY);
	lp.parent_dir = "the old root";
	if ((x = ca_root_cert(&lp, key, rp->link_from, why, whysz)) == NULL)
		return -1;
	if ((bio = BIO_new(BIO_s_mem())) == NULL || !PEM_write_bio_X509(bio, x))
		say(why, whysz, "cannot encode the link certificate (%s)",
		    ssl_reason());
	else
		rc = ca_write_bio(rp->dir, "link.crt", bio, 0644, why, whysz);
	BIO_free(bio);
	X509_free(x);
	return rc;
}

static int
ca_root_outputs(const struct ca_root_params *rp, EVP_PKEY *key,
    const struct ca *parent, char *why, size_t whysz)
{
	X509_REQ *r = NULL;
	X509 *x = NULL;
	int rc = -1;

	if (rp->csr_only) {
		if ((r = ca_root_req(rp, key, why, whysz)) == NULL ||
		    ca_write_req(rp->dir, r, why, whysz) == -1)
			goto done;
	} else if ((x = ca_root_cert(rp, key, parent, why, whysz)) == NULL ||
	    ca_write_certs(rp->dir, x, parent, why, whysz) == -1 ||
	    (rp->link_from != NULL && ca_write_link(rp, key, why, whysz) == -1))
		goto done;
	if ((rp->key_uri ? ca_write_key_uri(rp, why, whysz) :
	    ca_write_key(rp->dir, key, rp->pass, why, whysz)) == -1 ||
	    ca_write_info(rp, why, whysz) == -1)
		goto done;
	rc = 0;
done:
	X509_REQ_free(r);
	X509_free(x);
	return rc;
}

int
ca_root_init_with(const struct ca_root_params *rp, const struct ca *parent,
    const char *pdir, char *why, size_t whysz)
{
	struct ca_root_params p = *rp;
	struct ca *tok = NULL;
	EVP_PKEY *key = NULL;
	int created = 0, rc = -1;

	if (rp->dir == NULL || rp->days == 0) {
		say(why, whysz, "a directory and a validity are required");
		return -1;
	}
	if (rp->csr_only && parent != NULL) {
		say(why, whysz, "a request for an offline parent and a parent "
		    "directory exclude each other");
		return -1;
	}
	p.parent_dir = pdir;
	if (ca_make_dir(rp->dir, &created, why, whysz) == -1)
		return -1;
	if ((key = ca_root_key(&p, &tok, why, whysz)) == NULL ||
	    ca_root_outputs(&p, key, parent, why, whysz) == -1)
		goto done;
	rc = 0;
done:
	if (rc == -1)
		ca_unmake_dir(rp->dir, created);
	EVP_PKEY_free(key);
	ca_free(tok);
	ERR_clear_error();
	return rc;
}

int
ca_root_init(const struct ca_root_params *rp, char *why, size_t whysz)
{
	struct ca *parent = NULL;
	int rc;

	if (rp->csr_only && rp->parent_dir != NULL) {
		say(why, whysz, "a request for an offline parent and a parent "
		    "directory exclude each other");
		return -1;
	}
	if (rp->parent_dir != NULL && ca_load_dir(rp->parent_dir,
	    rp->parent_pass, 1, &parent, why, whysz) == -1) {
		ERR_clear_error();
		return -1;
	}
	rc = ca_root_init_with(rp, parent, rp->parent_dir, why, whysz);
	ca_free(parent);
	return rc;
}

/* --- finishing a directory made for an offline parent --- */

static int
ca_read_req_key(const char *path, EVP_PKEY **out, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	X509_REQ *r = NULL;
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL ||
	    (r = PEM_read_bio_X509_REQ(bio, NULL, ca_pw_cb, &pw)) == NULL ||
	    (*out = X509_REQ_get_pubkey(r)) == NULL) {
		say(why, whysz, "%s: not a PEM certificate request (%s)", path,
		    ssl_reason());
		goto done;
	}
	rc = 0;
done:
	X509_REQ_free(r);
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

/* The certificate for ca.csr: its key, a CA, current, and issued by the
 * first certificate of the chain (or by itself when there is none). */
static int
ca_install_check(struct ca *c, EVP_PKEY *pub, const char *cert, char *why,
    size_t whysz)
{
	time_t nb;

	if (EVP_PKEY_eq(X509_get0_pubkey(c->cert), pub) != 1) {
		say(why, whysz, "%s: its key is not the key of ca.csr", cert);
		return -1;
	}
	if (X509_check_ca(c->cert) == 0 ||
	    ca_asn1_time(X509_get0_notBefore(c->cert), &nb) == -1 ||
	    ca_asn1_time(X509_get0_notAfter(c->cert), &c->not_after) == -1) {
		say(why, whysz, "%s: not a CA certificate with a readable "
		    "validity", cert);
		return -1;
	}
	if (c->not_after <= time(NULL)) {
		say(why, whysz, "%s: has expired", cert);
		return -1;
	}
	if (sk_X509_num(c->chain) == 0 &&
	    (X509_check_issued(c->cert, c->cert) != X509_V_OK ||
	    X509_verify(c->cert, pub) != 1)) {
		say(why, whysz, "%s: not self-signed; give the issuer's "
		    "certificates as the chain", cert);
		return -1;
	}
	return ca_check_chain(c, cert, why, whysz);
}

/* A note in root.info; the certificate is what counts, so no error. */
static void
ca_install_note(const char *dir)
{
	char path[PATH_MAX], now[40];
	FILE *f;

	ca_now_text(now, sizeof(now));
	if (ca_path(path, dir, "root.info", NULL, 0) == 0 &&
	    (f = fopen(path, "a")) != NULL) {
		fprintf(f, "installed=%s\n", now);
		fclose(f);
	}
}

static int
ca_install_write(const char *dir, const struct ca *c, char *why, size_t whysz)
{
	char path[PATH_MAX];
	BIO *crt, *chain;
	int i, ok, rc = -1;

	crt = BIO_new(BIO_s_mem());
	chain = BIO_new(BIO_s_mem());
	ok = crt != NULL && chain != NULL && PEM_write_bio_X509(crt, c->cert);
	for (i = 0; ok && i < sk_X509_num(c->chain); i++)
		ok = PEM_write_bio_X509(chain, sk_X509_value(c->chain, i));
	if (!ok) {
		say(why, whysz, "%s: cannot encode the certificates (%s)", dir,
		    ssl_reason());
		goto done;
	}
	if (ca_write_bio(dir, "ca.crt", crt, 0644, why, whysz) == -1)
		goto done;
	if (ca_write_bio(dir, "chain.pem", chain, 0644, why, whysz) == -1) {
		if (ca_path(path, dir, "ca.crt", NULL, 0) == 0)
			unlink(path);
		goto done;
	}
	ca_install_note(dir);
	rc = 0;
done:
	BIO_free(crt);
	BIO_free(chain);
	return rc;
}

int
ca_root_install(const char *dir, const char *cert, const char *chain,
    char *why, size_t whysz)
{
	char csr[PATH_MAX], crt[PATH_MAX];
	struct stat st;
	struct ca c;
	EVP_PKEY *pub = NULL;
	int rc = -1;

	memset(&c, 0, sizeof(c));
	if (ca_path(csr, dir, "ca.csr", why, whysz) == -1 ||
	    ca_path(crt, dir, "ca.crt", why, whysz) == -1)
		return -1;
	if (stat(crt, &st) == 0 || errno != ENOENT) {
		say(why, whysz, "%s: already there; only a directory waiting "
		    "for its certificate can take one", crt);
		return -1;
	}
	if (ca_read_req_key(csr, &pub, why, whysz) == -1 ||
	    ca_read_cert(cert, &c.cert, why, whysz) == -1)
		goto done;
	if (chain != NULL ? ca_read_chain(chain, &c.chain, why, whysz) == -1 :
	    (c.chain = sk_X509_new_null()) == NULL)
		goto done;
	if (chain != NULL && sk_X509_num(c.chain) == 0) {
		say(why, whysz, "%s: no certificate in it", chain);
		goto done;
	}
	if (ca_install_check(&c, pub, cert, why, whysz) == 0)
		rc = ca_install_write(dir, &c, why, whysz);
done:
	EVP_PKEY_free(pub);
	X509_free(c.cert);
	sk_X509_pop_free(c.chain, X509_free);
	ERR_clear_error();
	return rc;
}
