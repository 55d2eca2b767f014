/*
 * ca_load.c: loading a CA directory: its certificate, chain and key (PEM,
 * encrypted PEM with a passphrase from pass_file or the console, or a
 * PKCS#11 URI through the libp11 engine).
 */
#include "ca_int.h"

static int	 ca_prompt_ok;		/* ca_allow_prompt() */
const char *
ssl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_error());

	return r != NULL ? r : "unknown OpenSSL error";
}

/* The console prompt; OpenSSL clears out after use. */
static int
ca_pw_ask(struct ca_pw *pw, char *out, size_t size)
{
	char prompt[PATH_MAX + 32];

	snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", pw->file);
	if (askpass(prompt, out, size) == -1)
		return -1;
	pw->prompted = 1;
	return (int)strlen(out);
}

/* Only at a console: the prompt goes to stderr, the answer comes from stdin
 * (a daemon under a test harness or systemd has neither on a terminal). */
void
ca_allow_prompt(int on)
{
	ca_prompt_ok = on && isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
}

int
ca_pw_cb(char *out, int size, int rwflag, void *u)
{
	struct ca_pw *pw = u;
	size_t n;

	(void)rwflag;
	pw->asked = 1;
	if (pw->pass == NULL && pw->file != NULL && ca_prompt_ok && size > 0)
		return ca_pw_ask(pw, out, (size_t)size);
	if (pw->pass == NULL || size <= 0)
		return -1;
	n = strlen(pw->pass);
	if (n > (size_t)size)
		return -1;
	memcpy(out, pw->pass, n);
	return (int)n;
}

int
ca_path(char *out, const char *dir, const char *name, char *why, size_t whysz)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		say(why, whysz, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

int
ca_key_on_token(const struct ca *ca)
{
	return ca->engine != NULL;
}

int
ca_asn1_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

void
ca_fmt_time(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outsz, "@%lld", (long long)t);
}

int
ca_put_der(struct buf *b, X509 *x)
{
	unsigned char *der = NULL;
	int n, rc;

	if ((n = i2d_X509(x, &der)) <= 0)
		return -1;
	rc = buf_put(b, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* Reads a whole file into b (cleared on free); why names the file. */
int
ca_slurp(const char *path, struct buf *b, char *why, size_t whysz)
{
	if (read_file(path, b, CA_PEM_MAX) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

BIO *
ca_mem_bio(const struct buf *b)
{
	static const uint8_t empty;

	if (b->len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(b->len ? b->p : &empty, (int)b->len);
}

int
ca_read_cert(const char *path, X509 **out, char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL ||
	    (*out = PEM_read_bio_X509(bio, NULL, ca_pw_cb, &pw)) == NULL) {
		say(why, whysz, "%s: not a PEM certificate (%s)", path,
		    ssl_reason());
		goto done;
	}
	rc = 0;
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

static int
ca_read_chain_bio(BIO *bio, STACK_OF(X509) *chain, const char *path,
    char *why, size_t whysz)
{
	struct ca_pw pw = { NULL, 0, NULL, 0 };
	unsigned long e;
	X509 *x;

	ERR_clear_error();
	while ((x = PEM_read_bio_X509(bio, NULL, ca_pw_cb, &pw)) != NULL) {
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			say(why, whysz, "%s: out of memory", path);
			return -1;
		}
	}
	/* the loop ends on "no start line" at the end of the file */
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		return 0;
	}
	say(why, whysz, "%s: certificate %d does not parse (%s)", path,
	    sk_X509_num(chain) + 1, ssl_reason());
	return -1;
}

/* chain.pem may be absent or empty: a self-signed root has no issuers. */
int
ca_read_chain(const char *path, STACK_OF(X509) **out, char *why, size_t whysz)
{
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	buf_init(&b);
	if ((*out = sk_X509_new_null()) == NULL) {
		say(why, whysz, "%s: out of memory", path);
		goto done;
	}
	if (read_file(path, &b, CA_PEM_MAX) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			say(why, whysz, "%s: %s", path, strerror(errno));
		goto done;
	}
	if ((bio = ca_mem_bio(&b)) == NULL) {
		say(why, whysz, "%s: cannot read", path);
		goto done;
	}
	rc = ca_read_chain_bio(bio, *out, path, why, whysz);
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

/* A CA key that its group or others may read or write has leaked, or
 * will: it is not used (issue 16). */
static int
ca_key_mode_ok(const char *path, char *why, size_t whysz)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) == 0)
		return 0;
	say(why, whysz, "%s: the CA key is open to its group or to others (mode "
	    "%04o), so it is not used; make it readable by its owner only "
	    "(chmod 0600 %s) and think about whether it was copied",
	    path, (unsigned)(st.st_mode & 07777), path);
	return -1;
}

static int
ca_read_key(const char *path, const char *pass, EVP_PKEY **out, char *why,
    size_t whysz)
{
	struct ca_pw pw = { pass, 0, path, 0 };
	struct buf b;
	BIO *bio = NULL;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if (ca_key_mode_ok(path, why, whysz) == -1 ||
	    ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((bio = ca_mem_bio(&b)) == NULL) {
		say(why, whysz, "%s: cannot read", path);
		goto done;
	}
	if ((*out = PEM_read_bio_PrivateKey(bio, NULL, ca_pw_cb, &pw)) != NULL)
		rc = 0;
	else if (pw.asked && pass == NULL && !pw.prompted)
		say(why, whysz, "%s: the key is encrypted and no passphrase is "
		    "configured (pass_file)%s", path, ca_prompt_ok ? "" :
		    ", and there is no terminal to ask on");
	else if (pw.asked)
		say(why, whysz, "%s: wrong passphrase or corrupt key", path);
	else
		say(why, whysz, "%s: not a PEM private key (%s)", path,
		    ssl_reason());
done:
	BIO_free(bio);
	buf_free(&b);
	return rc;
}

/* A UI that refuses to ask: no PIN prompt on a terminal, no empty-PIN login. */
static int
ca_ui_refuse(UI *ui, UI_STRING *uis)
{
	(void)ui;
	(void)uis;
	return 0;
}

/* ENGINE is deprecated in OpenSSL 3.0 but is what libp11 offers on Debian 12. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static EVP_PKEY *
ca_engine_load(ENGINE *e, const char *uri)
{
	UI_METHOD *ui;
	EVP_PKEY *k = NULL;

	if ((ui = UI_create_method("airlock")) != NULL &&
	    UI_method_set_reader(ui, ca_ui_refuse) == 0)
		k = ENGINE_load_private_key(e, uri, ui, NULL);
	if (ui != NULL)
		UI_destroy_method(ui);
	return k;
}

static int
ca_engine_key(struct ca *ca, const char *uri, const char *module,
    const char *pin, const char *path, char *why, size_t whysz)
{
	ENGINE *e;

	OPENSSL_init_crypto(OPENSSL_INIT_ENGINE_DYNAMIC, NULL);
	if ((e = ENGINE_by_id("pkcs11")) == NULL) {
		say(why, whysz, "%s: the OpenSSL engine \"pkcs11\" is not "
		    "available (libengine-pkcs11-openssl)", path);
		return -1;
	}
	if ((module != NULL &&
	    !ENGINE_ctrl_cmd_string(e, "MODULE_PATH", module, 0)) ||
	    !ENGINE_init(e)) {
		say(why, whysz, "%s: cannot start the pkcs11 engine (%s)", path,
		    ssl_reason());
		ENGINE_free(e);
		return -1;
	}
	if ((pin != NULL && !ENGINE_ctrl_cmd_string(e, "PIN", pin, 0)) ||
	    (ca->key = ca_engine_load(e, uri)) == NULL) {
		say(why, whysz, "%s: cannot load the key from the token (%s)",
		    path, ssl_reason());
		ENGINE_finish(e);
		ENGINE_free(e);
		return -1;
	}
	ca->engine = e;
	return 0;
}

static void
ca_engine_release(ENGINE *e)
{
	if (e == NULL)
		return;
	ENGINE_finish(e);
	ENGINE_free(e);
}
#pragma GCC diagnostic pop

/* Splits key.uri (NUL-terminated in b) into the URI and an optional module. */
static int
ca_parse_key_uri(char *text, char **uri, char **module, const char *path,
    char *why, size_t whysz)
{
	char *line, *save = NULL;

	*uri = *module = NULL;
	for (line = strtok_r(text, "\r\n", &save); line != NULL;
	    line = strtok_r(NULL, "\r\n", &save)) {
		line[strcspn(line, " \t")] = '\0';
		if (*line == '\0')
			continue;
		if (*uri == NULL && strncmp(line, "pkcs11:", 7) == 0)
			*uri = line;
		else if (*uri != NULL && strncmp(line, "module=", 7) == 0)
			*module = line + 7;
		else {
			say(why, whysz, "%s: expected a pkcs11: URI and an "
			    "optional module= line", path);
			return -1;
		}
	}
	if (*uri == NULL) {
		say(why, whysz, "%s: no pkcs11: URI", path);
		return -1;
	}
	return 0;
}

/* ca_engine_key, asking for the PIN on the console if none is given. */
int
ca_token_key(struct ca *ca, const char *uri, const char *module,
    const char *pin, const char *path, char *why, size_t whysz)
{
	char asked[CA_PASS_MAX + 1], prompt[PATH_MAX + 40];
	int rc;

	asked[0] = '\0';
	if (pin == NULL && ca_prompt_ok) {
		snprintf(prompt, sizeof(prompt), "PIN for the token key of %s: ",
		    path);
		if (askpass(prompt, asked, sizeof(asked)) == 0)
			pin = asked;
	}
	rc = ca_engine_key(ca, uri, module, pin, path, why, whysz);
	OPENSSL_cleanse(asked, sizeof(asked));
	return rc;
}

static int
ca_read_key_uri(struct ca *ca, const char *path, const char *pin, char *why,
    size_t whysz)
{
	struct buf b;
	char *uri, *module;
	int rc = -1;

	buf_init(&b);
	if (ca_slurp(path, &b, why, whysz) == -1)
		goto done;
	if ((b.len > 0 && memchr(b.p, '\0', b.len) != NULL) ||
	    buf_put_u8(&b, 0) == -1) {
		say(why, whysz, "%s: not a text file", path);
		goto done;
	}
	if (ca_parse_key_uri((char *)b.p, &uri, &module, path, why, whysz) == 0)
		rc = ca_token_key(ca, uri, module, pin, path, why, whysz);
done:
	buf_free(&b);
	return rc;
}

static int
ca_load_key(struct ca *ca, const char *dir, const char *pass, char *why,
    size_t whysz)
{
	char path[PATH_MAX];
	struct stat st;

	if (ca_path(path, dir, "key.uri", why, whysz) == -1)
		return -1;
	if (stat(path, &st) == 0)
		return ca_read_key_uri(ca, path, pass, why, whysz);
	if (errno != ENOENT) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (ca_path(path, dir, "ca.key", why, whysz) == -1)
		return -1;
	return ca_read_key(path, pass, &ca->key, why, whysz);
}

static int
ca_build_chain_der(struct ca *ca)
{
	int i;

	if (ca_put_der(&ca->chain_der, ca->cert) == -1)
		return -1;
	for (i = 0; i < sk_X509_num(ca->chain); i++)
		if (ca_put_der(&ca->chain_der, sk_X509_value(ca->chain, i)) == -1)
			return -1;
	return 0;
}

/* Each certificate of chain.pem must have issued and signed the one before. */
int
ca_check_chain(const struct ca *ca, const char *crt, char *why, size_t whysz)
{
	X509 *below = ca->cert, *x;
	EVP_PKEY *pk;
	int i;

	for (i = 0; i < sk_X509_num(ca->chain); i++, below = x) {
		x = sk_X509_value(ca->chain, i);
		if (X509_check_issued(x, below) != X509_V_OK ||
		    (pk = X509_get0_pubkey(x)) == NULL ||
		    X509_verify(below, pk) != 1) {
			say(why, whysz, "%s: certificate %d of chain.pem did not "
			    "issue %s", crt, i + 1, i == 0 ? "ca.crt" :
			    "the one before it");
			return -1;
		}
	}
	return 0;
}

static int
ca_check_loaded(struct ca *ca, const char *crt, char *why, size_t whysz)
{
	if (ca->key != NULL && X509_check_private_key(ca->cert, ca->key) != 1) {
		say(why, whysz, "%s: the key does not match this certificate",
		    crt);
		return -1;
	}
	if (X509_check_ca(ca->cert) == 0) {
		say(why, whysz, "%s: not a CA certificate", crt);
		return -1;
	}
	if (ca_asn1_time(X509_get0_notAfter(ca->cert), &ca->not_after) == -1) {
		say(why, whysz, "%s: bad notAfter time", crt);
		return -1;
	}
	if (ca_build_chain_der(ca) == -1) {
		say(why, whysz, "%s: cannot encode the chain", crt);
		return -1;
	}
	return ca_check_chain(ca, crt, why, whysz);
}

/* The loader shared by ca_load, ca_load_public and ca_root_init (parent
 * CA); with_key 0 leaves the key alone. */
int
ca_load_dir(const char *dir, const char *pass, int with_key, struct ca **out,
    char *why, size_t whysz)
{
	char crt[PATH_MAX], chain[PATH_MAX];
	struct ca *ca;

	*out = NULL;
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		say(why, whysz, "%s: out of memory", dir);
		return -1;
	}
	buf_init(&ca->chain_der);
	if (ca_path(crt, dir, "ca.crt", why, whysz) == -1 ||
	    ca_path(chain, dir, "chain.pem", why, whysz) == -1 ||
	    ca_read_cert(crt, &ca->cert, why, whysz) == -1 ||
	    ca_read_chain(chain, &ca->chain, why, whysz) == -1 ||
	    (with_key && ca_load_key(ca, dir, pass, why, whysz) == -1) ||
	    ca_check_loaded(ca, crt, why, whysz) == -1) {
		ca_free(ca);
		return -1;
	}
	*out = ca;
	return 0;
}

/* The passphrase is the first line of the file, without its line end. */
int
ca_read_pass(const char *path, char *pass, size_t passsz, char *why,
    size_t whysz)
{
	struct buf b;
	size_t n;
	int rc = -1;

	buf_init(&b);
	if (read_file(path, &b, CA_PASS_MAX) == -1) {
		say(why, whysz, "%s: %s", path, strerror(errno));
		goto done;
	}
	for (n = 0; n < b.len && b.p[n] != '\n' && b.p[n] != '\r'; n++)
		;
	if (n >= passsz || (n > 0 && memchr(b.p, '\0', n) != NULL)) {
		say(why, whysz, "%s: the passphrase is too long or not text",
		    path);
		goto done;
	}
	if (n)
		memcpy(pass, b.p, n);
	pass[n] = '\0';
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

int
ca_load(const struct cfg_root *root, struct ca **out, char *why, size_t whysz)
{
	char pass[CA_PASS_MAX + 1];
	int rc = -1, have_pass = 0;

	*out = NULL;
	if (root->dir[0] == '\0') {
		say(why, whysz, "root %s: no directory configured", root->name);
		return -1;
	}
	if (root->pass_file[0] != '\0') {
		if (ca_read_pass(root->pass_file, pass, sizeof(pass), why,
		    whysz) == -1)
			goto done;
		have_pass = 1;
	}
	rc = ca_load_dir(root->dir, have_pass ? pass : NULL, 1, out, why, whysz);
done:
	OPENSSL_cleanse(pass, sizeof(pass));
	ERR_clear_error();
	return rc;
}

void
ca_free(struct ca *ca)
{
	if (ca == NULL)
		return;
	X509_free(ca->cert);
	sk_X509_pop_free(ca->chain, X509_free);
	EVP_PKEY_free(ca->key);
	ca_engine_release(ca->engine);
	buf_free(&ca->chain_der);
	free(ca);
}

int
ca_load_public(const char *dir, struct ca **out, char *why, size_t whysz)
{
	int rc = ca_load_dir(dir, NULL, 0, out, why, whysz);

	ERR_clear_error();
	return rc;
}

const struct buf *
ca_chain_der(const struct ca *ca)
{
	return &ca->chain_der;
}

time_t
ca_not_after(const struct ca *ca)
{
	return ca->not_after;
}
