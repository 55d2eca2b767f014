/*
 * ca_gen.c: the key generations of a root (docs/ca-layout.md section 9).
 * Generation 1 is the CA directory itself (ca.crt, ca.key or key.uri);
 * `airlockctl root rollover` makes generation N+1 as the CA directory
 * DIR/gen/N+1 with a new key: a certificate from the parent when the
 * parent's key is one of this signer's roots, a self-signed certificate
 * and link.crt (the new key certified by the old one) for a self-signed
 * root, or ca.csr for an offline parent (finished with `root install-cert`).
 * Nothing is moved or replaced: a generation exists once its directory
 * holds ca.crt. The signer issues with the newest installed generation and
 * keeps the older ones for their CRLs (signer.c, crlsign.c).
 */
#include "ca_int.h"

static int
ca_gen_dir(const char *dir, int gen, char *out, size_t outsz)
{
	int n = gen <= 1 ? snprintf(out, outsz, "%s", dir) :
	    snprintf(out, outsz, "%s/gen/%d", dir, gen);

	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static int
ca_gen_has(const char *gdir, const char *file)
{
	char p[PATH_MAX];

	return snprintf(p, sizeof(p), "%s/%s", gdir, file) < (int)sizeof(p) &&
	    access(p, F_OK) == 0;
}

static int
ca_gen_cmp(const void *a, const void *b)
{
	const struct ca_gen_entry *x = a, *y = b;

	return (x->gen > y->gen) - (x->gen < y->gen);
}

/* A name of DIR/gen that is a generation number 2..CA_GEN_MAX, or 0. */
static int
ca_gen_number(const char *name)
{
	long long v;

	if (name[0] < '1' || name[0] > '9' || parse_num(name, 2, CA_GEN_MAX, &v) == -1)
		return 0;
	return (int)v;
}

int
ca_gen_list(const char *dir, struct ca_gen_entry *e, int max, int *n, char *why,
    size_t whysz)
{
	char gd[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int g;

	*n = 0;
	memset(&e[0], 0, sizeof(e[0]));
	e[0].gen = 1;
	if (ca_gen_dir(dir, 1, e[0].dir, sizeof(e[0].dir)) == -1)
		goto toolong;
	e[0].pending = !ca_gen_has(dir, "ca.crt") && ca_gen_has(dir, "ca.csr");
	*n = 1;
	if (snprintf(gd, sizeof(gd), "%s/gen", dir) >= (int)sizeof(gd))
		goto toolong;
	if ((d = opendir(gd)) == NULL) {
		if (errno == ENOENT)
			return 0;
		say(why, whysz, "%s: %s", gd, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((g = ca_gen_number(de->d_name)) == 0)
			continue;
		if (*n == max) {
			closedir(d);
			say(why, whysz, "%s: more than %d key generations", gd, max);
			return -1;
		}
		memset(&e[*n], 0, sizeof(e[*n]));
		e[*n].gen = g;
		if (ca_gen_dir(dir, g, e[*n].dir, sizeof(e[*n].dir)) == -1) {
			closedir(d);
			goto toolong;
		}
		e[*n].pending = !ca_gen_has(e[*n].dir, "ca.crt");
		(*n)++;
	}
	closedir(d);
	qsort(e, (size_t)*n, sizeof(*e), ca_gen_cmp);
	return 0;
toolong:
	say(why, whysz, "%s: path too long", dir);
	return -1;
}

/* The root's passphrase or PIN (pass_file), or none: *have 0. */
static int
ca_gen_pass(const struct cfg_root *r, char *pass, size_t passsz, int *have,
    char *why, size_t whysz)
{
	*have = 0;
	if (r->pass_file[0] == '\0')
		return 0;
	if (ca_read_pass(r->pass_file, pass, passsz, why, whysz) == -1)
		return -1;
	*have = 1;
	return 0;
}

/* One generation's directory, with its key (the root's pass_file). */
static int
ca_load_gen_key(const struct cfg_root *r, const char *dir, struct ca **out,
    char *why, size_t whysz)
{
	char pass[CA_PASS_MAX + 1];
	int have, rc = -1;

	if (ca_gen_pass(r, pass, sizeof(pass), &have, why, whysz) == 0)
		rc = ca_load_dir(dir, have ? pass : NULL, 1, out, why, whysz);
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}

int
ca_load_gens(const struct cfg_root *r, struct ca_key *keys, int max, int *n,
    char *why, size_t whysz)
{
	struct ca_gen_entry e[CA_GEN_SLOTS];
	char pass[CA_PASS_MAX + 1];
	int i, ne, have, rc = -1;

	*n = 0;
	if (r->dir[0] == '\0') {
		say(why, whysz, "root %s: no directory configured", r->name);
		return -1;
	}
	if (ca_gen_list(r->dir, e, CA_GEN_SLOTS, &ne, why, whysz) == -1 ||
	    ca_gen_pass(r, pass, sizeof(pass), &have, why, whysz) == -1)
		goto done;
	for (i = 0; i < ne; i++) {
		if (e[i].pending && e[i].gen > 1) {
			log_info("root %s: key generation %d waits for its "
			    "certificate (%s/ca.csr)", r->name, e[i].gen, e[i].dir);
			continue;
		}
		if (*n == max) {
			say(why, whysz, "root %s: more than %d key generations",
			    r->name, max);
			goto done;
		}
		keys[*n].gen = e[i].gen;
		if (ca_load_dir(e[i].dir, have ? pass : NULL, 1, &keys[*n].ca, why,
		    whysz) == -1)
			goto done;
		(*n)++;
	}
	rc = 0;
done:
	if (rc == -1) {
		while (*n > 0)
			ca_free(keys[--(*n)].ca);
	}
	OPENSSL_cleanse(pass, sizeof(pass));
	ERR_clear_error();
	return rc;
}

/* "/CN=x/O=y" from a name, '/' and '\' escaped as ca_parse_subject reads them. */
static int
ca_subject_text(const X509_NAME *name, char *out, size_t outsz)
{
	const X509_NAME_ENTRY *ne;
	unsigned char *v;
	size_t o = 0;
	int i, j, len;
	const char *sn;

	for (i = 0; i < X509_NAME_entry_count(name); i++) {
		ne = X509_NAME_get_entry(name, i);
		sn = OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne)));
		if (sn == NULL || (len = ASN1_STRING_to_UTF8(&v,
		    X509_NAME_ENTRY_get_data(ne))) < 0)
			return -1;
		if (o + strlen(sn) + 2 >= outsz) {
			OPENSSL_free(v);
			return -1;
		}
		o += (size_t)snprintf(out + o, outsz - o, "/%s=", sn);
		for (j = 0; j < len && o + 2 < outsz; j++) {
			if (v[j] == '/' || v[j] == '\\')
				out[o++] = '\\';
			out[o++] = (char)v[j];
		}
		OPENSSL_free(v);
		if (j < len)
			return -1;
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* The configured root one of whose keys issued cur; only its newest key,
 * which signs the new certificate, is loaded with its private key (so no
 * other root's passphrase or PIN is asked for). */
static int
ca_gen_parent(const struct cfg *c, const struct ca *cur, struct ca **parent,
    char *pdir, size_t pdirsz, char *why, size_t whysz)
{
	struct ca_gen_entry *e;
	struct ca *pub;
	int i, j, n, newest, found;

	*parent = NULL;
	if ((e = calloc(CA_GEN_SLOTS, sizeof(*e))) == NULL)
		return -1;
	for (i = 0; i < c->nroots && *parent == NULL; i++) {
		if (ca_gen_list(c->roots[i].dir, e, CA_GEN_SLOTS, &n, why, whysz) == -1)
			continue;	/* another root's trouble is not ours */
		for (j = found = 0, newest = -1; j < n; j++) {
			if (e[j].pending || ca_load_dir(e[j].dir, NULL, 0, &pub, why,
			    whysz) == -1)
				continue;
			newest = j;
			if (X509_cmp(pub->cert, cur->cert) != 0 &&
			    X509_check_issued(pub->cert, cur->cert) == X509_V_OK)
				found = 1;
			ca_free(pub);
		}
		if (!found || newest == -1)
			continue;
		if (ca_load_gen_key(&c->roots[i], e[newest].dir, parent, why,
		    whysz) == -1) {
			free(e);
			ERR_clear_error();
			return -2;	/* found, but its key does not load: why says */
		}
		snprintf(pdir, pdirsz, "%s", e[newest].dir);
	}
	free(e);
	ERR_clear_error();
	return *parent ? 0 : -1;
}

static uint32_t
ca_gen_days(const struct ca *cur, const struct ca *parent, uint32_t days)
{
	time_t nb, left;

	if (days == 0) {
		if (ca_asn1_time(X509_get0_notBefore(cur->cert), &nb) == -1 ||
		    cur->not_after <= nb)
			days = 3650;
		else
			days = (uint32_t)((cur->not_after - nb) / CA_DAY);
	}
	if (parent != NULL) {
		left = parent->not_after - time(NULL);
		if (left / CA_DAY < (time_t)days)
			days = left > CA_DAY ? (uint32_t)(left / CA_DAY) : 1;
	}
	return days;
}

int
ca_rollover(const struct cfg *c, const struct cfg_root *r,
    const struct ca_rollover_params *rp, int *gen, char *dir, size_t dirsz,
    char *why, size_t whysz)
{
	struct ca_gen_entry e[CA_GEN_SLOTS];
	struct ca_key cur[CA_GEN_SLOTS];
	struct ca_root_params p;
	struct ca *parent = NULL;
	char pass[CA_PASS_MAX + 1], subject[1024], pdir[PATH_MAX], gd[PATH_MAX];
	int i, ne, ncur = 0, have, self, rc = -1;
	long pl;

	*gen = 0;
	memset(&p, 0, sizeof(p));
	if (ca_gen_list(r->dir, e, CA_GEN_SLOTS, &ne, why, whysz) == -1)
		return -1;
	if (e[ne - 1].pending) {
		say(why, whysz, "%s waits for its certificate (ca.csr): finish it "
		    "with airlockctl root install-cert first", e[ne - 1].dir);
		return -1;
	}
	if (ne == CA_GEN_SLOTS || e[ne - 1].gen >= CA_GEN_MAX) {
		say(why, whysz, "root %s has %d key generations already", r->name, ne);
		return -1;
	}
	if (ca_load_gens(r, cur, CA_GEN_SLOTS, &ncur, why, whysz) == -1 ||
	    ca_gen_pass(r, pass, sizeof(pass), &have, why, whysz) == -1)
		goto done;
	self = X509_check_issued(cur[ncur - 1].ca->cert, cur[ncur - 1].ca->cert) ==
	    X509_V_OK;
	if (!self && !rp->csr_only && (i = ca_gen_parent(c, cur[ncur - 1].ca,
	    &parent, pdir, sizeof(pdir), why, whysz)) != 0) {
		if (i == -1)
			say(why, whysz, "the parent CA of root %s is not a root of "
			    "this signer: use --csr and install the parent's "
			    "certificate with airlockctl root install-cert", r->name);
		goto done;
	}
	if (ca_subject_text(X509_get_subject_name(cur[ncur - 1].ca->cert), subject,
	    sizeof(subject)) == -1) {
		say(why, whysz, "%s: the subject cannot be written as /TYPE=value",
		    e[ne - 1].dir);
		goto done;
	}
	*gen = e[ne - 1].gen + 1;
	if (snprintf(gd, sizeof(gd), "%s/gen", r->dir) >= (int)sizeof(gd) ||
	    (mkdir(gd, 0700) == -1 && errno != EEXIST) ||
	    ca_gen_dir(r->dir, *gen, dir, dirsz) == -1) {
		say(why, whysz, "%s: %s", gd, strerror(errno));
		goto done;
	}
	pl = X509_get_pathlen(cur[ncur - 1].ca->cert);
	p.dir = dir;
	p.subject = subject;
	p.key_type = rp->key_type ? rp->key_type : "ec:P-384";
	p.days = ca_gen_days(cur[ncur - 1].ca, parent, rp->days);
	p.pathlen = pl >= 0 && pl <= 16 ? (int)pl : -1;
	p.key_uri = rp->key_uri;
	p.module = rp->module;
	p.csr_only = rp->csr_only;
	if (rp->key_uri != NULL)
		p.pin = have ? pass : NULL;
	else
		p.pass = have ? pass : NULL;
	p.link_from = self ? cur[ncur - 1].ca : NULL;
	rc = ca_root_init_with(&p, parent, pdir, why, whysz);
done:
	for (i = 0; i < ncur; i++)
		ca_free(cur[i].ca);
	ca_free(parent);
	OPENSSL_cleanse(pass, sizeof(pass));
	ERR_clear_error();
	return rc;
}

void
ca_key_id(const struct ca *ca, char *out, size_t outsz)
{
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(ca->cert);

	out[0] = '\0';
	if (ski != NULL && (size_t)ASN1_STRING_length(ski) * 2 < outsz)
		hex_encode(ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski),
		    out);
	ERR_clear_error();
}

int
ca_cert_der(const struct ca *ca, struct buf *cert, struct buf *chain)
{
	buf_reset(cert);
	buf_reset(chain);
	if (ca_put_der(cert, ca->cert) == -1 || cert->len > ca->chain_der.len)
		return -1;
	return buf_put(chain, ca->chain_der.p + cert->len,
	    ca->chain_der.len - cert->len);
}
