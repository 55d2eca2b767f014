/*
 * scalegen.c: the `openssl ca` directory behind `make bench-scale`
 * (scripts/bench-scale.sh): ten years of issuance by one root, made in
 * process rather than by `openssl ca` once per certificate.
 *
 *   scalegen DIR N
 *
 * DIR gets what openssl ca leaves: ca.key (RSA-2048, unencrypted), ca.crt
 * (self-signed), index.txt with N lines, serial, crlnumber, and
 * newcerts/SERIAL.pem for every line. The certificates are issued one
 * after another over the ten years before now, each valid for 398 days,
 * serials counting up from 1000 (hexadecimal), all with one P-256 key. One
 * in ten is revoked (R, with a rotating reason, some with keyTime and an
 * invalidity date); the other expired ones are E, as after `openssl ca
 * -updatedb`; the rest are V and valid for at least a year more, so that
 * an export taken within the year says V for them too. The signing runs on
 * two threads; index.txt is written in order by the main thread.
 */
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DAY		86400LL
#define YEARS10		(3652LL * DAY)
#define LIFE		(398LL * DAY)
#define THREADS		2

struct gen {
	const char	*dir;
	long		 n;
	time_t		 now;
	EVP_PKEY	*cakey;
	X509		*cacert;
	EVP_PKEY	*leafkey;
};

struct job {
	struct gen	*g;
	long		 from, to;
};

static const char *const reasons[] = { NULL, "keyCompromise", "superseded",
    "cessationOfOperation", "affiliationChanged", "keyTime", "unspecified",
    "CACompromise" };
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

static void
times_of(const struct gen *g, long i, int64_t *nb, int64_t *na)
{
	*nb = (int64_t)g->now - YEARS10 + (int64_t)((double)i * YEARS10 / g->n);
	*na = *nb + LIFE;
	/* not expired yet: valid for a year more at least */
	if (*na > (int64_t)g->now - DAY && *na < (int64_t)g->now + 366 * DAY)
		*na = (int64_t)g->now + 366 * DAY + (i % 1000);
}

static int
is_revoked(long i)
{
	return i % 10 == 7;
}

static void
utc_text(int64_t t, char out[16], int gen)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (!gen && tm.tm_year + 1900 < 2050)
		snprintf(out, 16, "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, 16, "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
serial_hex(long i, char out[32])
{
	unsigned long s = 0x1000ul + (unsigned long)i;
	int n = snprintf(out, 32, "%lX", s);

	if (n % 2) {		/* whole octets, as openssl ca writes them */
		memmove(out + 1, out, (size_t)n + 1);
		out[0] = '0';
	}
}

static void
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL ||
	    !X509_add_ext(x, e, -1))
		errx(1, "extension %d", nid);
	X509_EXTENSION_free(e);
}

static void
make_cert(struct gen *g, long i, X509_EXTENSION *const *fixed, size_t nfixed)
{
	char hex[32], cn[64], san[80], path[PATH_MAX];
	int64_t nb, na;
	BIGNUM *bn = NULL;
	X509_NAME *name;
	X509 *x;
	FILE *f;
	size_t k;

	times_of(g, i, &nb, &na);
	serial_hex(i, hex);
	snprintf(cn, sizeof(cn), "host%07ld.scale.example", i);
	snprintf(san, sizeof(san), "DNS:%s", cn);
	if ((x = X509_new()) == NULL || !X509_set_version(x, 2) ||
	    !BN_hex2bn(&bn, hex) ||
	    !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(g->cacert)) ||
	    !X509_set_pubkey(x, g->leafkey))
		errx(1, "certificate %ld", i);
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Scale Test", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0))
		errx(1, "subject %ld", i);
	for (k = 0; k < nfixed; k++)
		if (!X509_add_ext(x, fixed[k], -1))
			errx(1, "extension");
	ext_add(x, g->cacert, NID_subject_alt_name, san);
	if (X509_sign(x, g->cakey, EVP_sha256()) <= 0)
		errx(1, "signing %ld", i);
	snprintf(path, sizeof(path), "%s/newcerts/%s.pem", g->dir, hex);
	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	if (!PEM_write_X509(f, x) || fclose(f) != 0)
		errx(1, "%s: cannot write", path);
	BN_free(bn);
	X509_free(x);
}

static void *
worker(void *arg)
{
	struct job *j = arg;
	X509_EXTENSION *fixed[4];
	X509V3_CTX ctx;
	size_t k;
	long i;

	X509V3_set_ctx(&ctx, j->g->cacert, NULL, NULL, NULL, 0);
	fixed[0] = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    "critical,CA:FALSE");
	fixed[1] = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
	    "critical,digitalSignature");
	fixed[2] = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage,
	    "serverAuth");
	fixed[3] = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always");
	for (k = 0; k < 4; k++)
		if (fixed[k] == NULL)
			errx(1, "extension %zu", k);
	for (i = j->from; i < j->to; i++)
		make_cert(j->g, i, fixed, 4);
	for (k = 0; k < 4; k++)
		X509_EXTENSION_free(fixed[k]);
	return NULL;
}

static void
write_index(const struct gen *g)
{
	char path[PATH_MAX], hex[32], exp[16], rev[64], t[16], inv[16];
	int64_t nb, na, rt;
	FILE *f;
	long i;

	snprintf(path, sizeof(path), "%s/index.txt", g->dir);
	if ((f = fopen(path, "w")) == NULL)
		err(1, "%s", path);
	for (i = 0; i < g->n; i++) {
		const char *st = "V", *why;

		times_of(g, i, &nb, &na);
		serial_hex(i, hex);
		utc_text(na, exp, 0);
		rev[0] = '\0';
		if (is_revoked(i)) {
			st = "R";
			rt = nb + 30 * DAY + i % DAY;
			if (rt > (int64_t)g->now - DAY)
				rt = (int64_t)g->now - DAY;
			utc_text(rt, t, 0);
			why = reasons[(i / 10) % NREASONS];
			if (why == NULL)
				snprintf(rev, sizeof(rev), "%s", t);
			else if (strcmp(why, "keyTime") == 0) {
				utc_text(rt - 7 * DAY, inv, 1);
				snprintf(rev, sizeof(rev), "%s,keyTime,%s", t, inv);
			} else
				snprintf(rev, sizeof(rev), "%s,%s", t, why);
		} else if (na < (int64_t)g->now)
			st = "E";
		fprintf(f, "%s\t%s\t%s\t%s\tunknown\t/O=Scale Test/CN=host%07ld"
		    ".scale.example\n", st, exp, rev, hex, i);
	}
	if (fclose(f) != 0)
		err(1, "%s", path);
}

static void
write_small(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0)
		err(1, "%s", path);
}

static void
make_ca(struct gen *g)
{
	char path[PATH_MAX];
	X509_NAME *name;
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	FILE *f;

	if ((g->cakey = EVP_RSA_gen(2048)) == NULL ||
	    (g->leafkey = EVP_EC_gen("P-256")) == NULL ||
	    (g->cacert = X509_new()) == NULL)
		errx(1, "keys");
	X509_set_version(g->cacert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(g->cacert), 1);
	ASN1_TIME_set(X509_getm_notBefore(g->cacert), g->now - YEARS10 - DAY);
	ASN1_TIME_set(X509_getm_notAfter(g->cacert), g->now + 2 * YEARS10);
	name = X509_get_subject_name(g->cacert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"Scale Test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"Scale Test Root", -1, -1, 0);
	X509_set_issuer_name(g->cacert, name);
	X509_set_pubkey(g->cacert, g->cakey);
	X509V3_set_ctx(&ctx, g->cacert, g->cacert, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(g->cacert, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
	    "critical,keyCertSign,cRLSign");
	X509_add_ext(g->cacert, e, -1);
	X509_EXTENSION_free(e);
	e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(g->cacert, e, -1);
	X509_EXTENSION_free(e);
	if (X509_sign(g->cacert, g->cakey, EVP_sha256()) <= 0)
		errx(1, "CA certificate");
	snprintf(path, sizeof(path), "%s/ca.crt", g->dir);
	if ((f = fopen(path, "w")) == NULL || !PEM_write_X509(f, g->cacert) ||
	    fclose(f) != 0)
		err(1, "%s", path);
	snprintf(path, sizeof(path), "%s/ca.key", g->dir);
	if ((f = fopen(path, "w")) == NULL ||
	    !PEM_write_PrivateKey(f, g->cakey, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0)
		err(1, "%s", path);
}

int
main(int argc, char **argv)
{
	struct gen g;
	struct job jobs[THREADS];
	pthread_t th[THREADS];
	char path[PATH_MAX], hex[40];
	char *end;
	int t;

	if (argc != 3)
		errx(2, "usage: scalegen DIR N");
	memset(&g, 0, sizeof(g));
	g.dir = argv[1];
	errno = 0;
	g.n = strtol(argv[2], &end, 10);
	if (errno || *end || g.n < 1 || g.n > 100000000)
		errx(2, "N: a number from 1 to 100000000");
	g.now = time(NULL);
	snprintf(path, sizeof(path), "%s/newcerts", g.dir);
	if ((mkdir(g.dir, 0755) == -1 && errno != EEXIST) ||
	    (mkdir(path, 0755) == -1 && errno != EEXIST))
		err(1, "%s", path);
	make_ca(&g);
	for (t = 0; t < THREADS; t++) {
		jobs[t] = (struct job){ &g, g.n * t / THREADS,
		    g.n * (t + 1) / THREADS };
		if (pthread_create(&th[t], NULL, worker, &jobs[t]) != 0)
			errx(1, "pthread_create");
	}
	write_index(&g);
	for (t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	serial_hex(g.n, hex);
	strcat(hex, "\n");
	write_small(g.dir, "serial", hex);
	write_small(g.dir, "crlnumber", "1000\n");
	return 0;
}
