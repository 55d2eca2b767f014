/*
 * pgp_cert.c: OpenPGP certification, both ends of it.
 *
 * The signer (pgp_certify) checks a user's transferable public key against
 * a profile and certifies the user IDs whose e-mail address webdb verified.
 * Checks, in order, each refusal an AL_E_* code and one sentence
 * (docs/openpgp.md has the table):
 *   size and armour (PGP_SIZE, PGP_PARSE); packets and shape (PGP_PARSE);
 *   version 4 (PGP_VERSION); primary key algorithm and size against the
 *   profile (KEY_TYPE, KEY_SIZE); a valid self-revocation of the key
 *   (PGP_REVOKED); the address list (MSG_VALUE); for every user ID whose
 *   address is listed: a valid self-signature (PGP_SELFSIG) made with
 *   SHA-256 or stronger (DIGEST), not revoked (PGP_REVOKED), the user ID's
 *   and the key's expiry (PGP_EXPIRED); at least one such user ID
 *   (PGP_UID); validity days against the profile (VALIDITY).
 * The certifications are generic (0x10), SHA-256, created at the signer's
 * clock, expiring after the profile's days, with the root's fingerprint.
 *
 * The client (pgp_merge) takes those signatures, checks each against the
 * root's public key and a user ID of the key it submitted, and writes the
 * key with the signatures merged after their user IDs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "airlock.h"
#include "config.h"
#include "crypto.h"
#include "pgp.h"

#define DAY	86400u

static int
refuse(char *why, size_t whysz, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
refuse(char *why, size_t whysz, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return code;
}

/* The primary key's algorithm and size against the profile. */
static int
key_policy(const struct pgp_pub *k, const struct cfg_profile *p, char *why, size_t whysz)
{
	unsigned types = p->key_types ? p->key_types : KEYT_RSA | KEYT_EC | KEYT_ED25519;
	uint32_t minrsa = p->min_rsa_bits ? p->min_rsa_bits : 2048;

	switch (k->alg) {
	case PGP_PK_RSA: case PGP_PK_RSA_S:
		if (!(types & KEYT_RSA))
			break;
		if ((uint32_t)k->bits < minrsa || k->bits > 16384)
			return refuse(why, whysz, AL_E_KEY_SIZE, "the primary key is "
			    "RSA-%d; profile %s needs %u to 16384 bits", k->bits, p->name, minrsa);
		/* as for a CSR's key: with e = 1 anyone makes its self-signatures */
		if (crypto_rsa_public_ok(k->pkey, why, whysz) == -1)
			return AL_E_KEY_SIZE;
		return AL_OK;
	case PGP_PK_ECDSA:
		if (!(types & KEYT_EC))
			break;
		if (k->curve != PGP_CURVE_P256 && k->curve != PGP_CURVE_P384)
			return refuse(why, whysz, AL_E_KEY_SIZE, "the primary key's "
			    "curve is not P-256 or P-384");
		return AL_OK;
	case PGP_PK_EDDSA: case PGP_PK_ED25519:
		if (!(types & KEYT_ED25519))
			break;
		if (k->curve != PGP_CURVE_ED25519)
			return refuse(why, whysz, AL_E_KEY_SIZE, "the primary key's "
			    "EdDSA curve is not Ed25519");
		return AL_OK;
	}
	return refuse(why, whysz, AL_E_KEY_TYPE, "the primary key's algorithm "
	    "(%d%s) is not allowed by profile %s", k->alg, k->alg == PGP_PK_DSA ? ", DSA" :
	    k->alg == PGP_PK_ELG ? ", ElGamal" : "", p->name);
}

static int
sig_by_self(const struct pgp_sig *s, const struct pgp_pub *k)
{
	if (s->has_fpr)
		return memcmp(s->issuer_fpr, k->fpr, PGP_FPR_LEN) == 0;
	return !s->has_issuer || memcmp(s->issuer, k->fpr + 12, 8) == 0;
}

static int
strong_hash(int h)
{
	return h == PGP_H_SHA256 || h == PGP_H_SHA384 || h == PGP_H_SHA512;
}

/* What the self-signatures after packet i say about that user ID (or, with
 * uid NULL, about the key itself). */
struct selfsig {
	int		 nvalid;	/* valid self-certifications */
	int		 weak;		/* ... of which with a weak hash only */
	uint32_t	 cert_time;	/* newest valid strong one */
	uint32_t	 sig_expires, key_expires;
	int		 flags;		/* its key flags; -1 none */
	int		 revoked;	/* a valid revocation after it */
	uint32_t	 rev_time;
};

static int
self_sigs(const struct pgp_key *k, int i, const uint8_t *uid, size_t uidlen,
    time_t now, struct selfsig *ss, char *why, size_t whysz)
{
	struct pgp_sig s;
	int j, r;

	memset(ss, 0, sizeof(*ss));
	for (j = i + 1; j < k->npkt && (k->pkt[j].tag == PGP_TAG_SIG ||
	    k->pkt[j].tag == PGP_TAG_TRUST); j++) {
		if (k->pkt[j].tag != PGP_TAG_SIG)
			continue;
		r = pgp_parse_sig(k->pkt[j].body, k->pkt[j].len, &s, why, whysz);
		if (r == -1)
			return refuse(why, whysz, AL_E_PGP_PARSE, "a signature packet is malformed");
		if (r == -2 || !sig_by_self(&s, &k->pub) || s.created == 0 ||
		    s.critical_unknown || (time_t)s.created > now + 86400)
			continue;
		if (uid != NULL && !(s.type >= 0x10 && s.type <= 0x13) && s.type != PGP_SIG_CERTREV)
			continue;
		if (uid == NULL && s.type != PGP_SIG_KEYREV && s.type != PGP_SIG_DIRECT)
			continue;
		if (!pgp_verify_cert(&k->pub, &k->pub, uid, uidlen, &s, NULL, 0))
			continue;
		if (s.type == PGP_SIG_CERTREV || s.type == PGP_SIG_KEYREV) {
			ss->revoked = 1;
			if (s.created > ss->rev_time)
				ss->rev_time = s.created;
			continue;
		}
		ss->nvalid++;
		if (!strong_hash(s.hashalg)) {
			ss->weak++;
			continue;
		}
		if (s.created >= ss->cert_time) {
			ss->cert_time = s.created;
			ss->sig_expires = s.sig_expires;
			ss->key_expires = s.key_expires;
			ss->flags = s.has_flags ? s.key_flags : -1;
		}
	}
	return AL_OK;
}

/* The request's addresses: one per line (commas are also accepted). */
static int
parse_emails(const char *s, size_t n, char out[PGP_MAX_EMAILS][256], int *count,
    char *why, size_t whysz)
{
	size_t i = 0, j;
	char a[256];

	*count = 0;
	while (i < n) {
		while (i < n && (s[i] == '\n' || s[i] == '\r' || s[i] == ',' || s[i] == ' '))
			i++;
		for (j = i; j < n && s[j] != '\n' && s[j] != '\r' && s[j] != ',' && s[j] != ' '; j++)
			;
		if (j == i)
			break;
		if (*count == PGP_MAX_EMAILS)
			return refuse(why, whysz, AL_E_MSG_VALUE, "more than %d addresses",
			    PGP_MAX_EMAILS);
		if (pgp_uid_email((const uint8_t *)s + i, j - i, a, sizeof(a)) == -1 ||
		    memchr(s + i, '<', j - i) != NULL)
			return refuse(why, whysz, AL_E_MSG_VALUE, "\"%.*s\" is not an "
			    "e-mail address", (int)(j - i > 80 ? 80 : j - i), s + i);
		snprintf(out[(*count)++], 256, "%s", a);
		i = j;
	}
	if (*count == 0)
		return refuse(why, whysz, AL_E_MSG_VALUE, "the request lists no e-mail address");
	return AL_OK;
}

static int
email_listed(const char *a, char list[PGP_MAX_EMAILS][256], int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(a, list[i]) == 0)
			return 1;
	return 0;
}

/* One listed user ID: its self-signatures must make it currently valid. */
static int
check_uid(const struct pgp_key *k, int i, const char *addr, time_t now, char *why,
    size_t whysz)
{
	struct selfsig ss;
	int code;

	if ((code = self_sigs(k, i, k->pkt[i].body, k->pkt[i].len, now, &ss, why,
	    whysz)) != AL_OK)
		return code;
	if (ss.nvalid == 0)
		return refuse(why, whysz, AL_E_PGP_SELFSIG, "user ID <%s> has no valid "
		    "self-signature", addr);
	if (ss.cert_time == 0)
		return refuse(why, whysz, AL_E_DIGEST, "user ID <%s> is self-signed "
		    "only with a hash weaker than SHA-256", addr);
	if (ss.revoked && ss.rev_time >= ss.cert_time)
		return refuse(why, whysz, AL_E_PGP_REVOKED, "user ID <%s> is revoked", addr);
	if (ss.sig_expires != 0 && (time_t)ss.cert_time + (time_t)ss.sig_expires <= now)
		return refuse(why, whysz, AL_E_PGP_EXPIRED, "user ID <%s> has expired", addr);
	if (ss.key_expires != 0 && (time_t)k->pub.created + (time_t)ss.key_expires <= now)
		return refuse(why, whysz, AL_E_PGP_EXPIRED, "the key has expired");
	return AL_OK;
}

static int
key_checks(const uint8_t *bin, size_t len, time_t now, const struct cfg_profile *p,
    struct pgp_key **out, char *why, size_t whysz)
{
	struct selfsig ks;
	int code;

	*out = NULL;
	if (pgp_key_parse(bin, len, 0, out, why, whysz) == -1) {
		if (strstr(why, "too many packets") != NULL)
			return AL_E_PGP_SIZE;
		if (strstr(why, "version 4") != NULL)
			return AL_E_PGP_VERSION;
		return AL_E_PGP_PARSE;
	}
	if (pgp_pub_load(&(*out)->pub, why, whysz) == -1)
		return AL_E_KEY_SIZE;
	if ((code = key_policy(&(*out)->pub, p, why, whysz)) != AL_OK)
		return code;
	if ((code = self_sigs(*out, 0, NULL, 0, now, &ks, why, whysz)) != AL_OK)
		return code;
	if (ks.revoked)
		return refuse(why, whysz, AL_E_PGP_REVOKED, "the key is revoked");
	return AL_OK;
}

int
pgp_key_usable(const struct pgp_key *k, time_t now, int *flags, char *why, size_t whysz)
{
	struct selfsig ks, us;
	uint32_t newest = 0, kexp = 0;
	int i, uids = 0;

	*flags = -1;

	if (self_sigs(k, 0, NULL, 0, now, &ks, why, whysz) != AL_OK)
		return -1;
	if (ks.revoked)
		return pgp_fail(why, whysz, "the key is revoked");
	for (i = 1; i < k->npkt; i++) {
		if (k->pkt[i].tag != PGP_TAG_UID)
			continue;
		if (self_sigs(k, i, k->pkt[i].body, k->pkt[i].len, now, &us, why, whysz) != AL_OK)
			return -1;
		if (us.cert_time == 0 || (us.revoked && us.rev_time >= us.cert_time) ||
		    (us.sig_expires != 0 && (time_t)us.cert_time + (time_t)us.sig_expires <= now))
			continue;
		uids++;
		if (us.cert_time >= newest) {
			newest = us.cert_time;
			kexp = us.key_expires;
			*flags = us.flags;
		}
	}
	if (uids == 0)
		return pgp_fail(why, whysz, "the key has no user ID with a valid self-signature "
		    "(SHA-256 or stronger)");
	if (kexp != 0 && (time_t)k->pub.created + (time_t)kexp <= now)
		return pgp_fail(why, whysz, "the key has expired");
	return 0;
}

static int
certify_days(const struct cfg_profile *p, uint32_t days, uint32_t *out, char *why,
    size_t whysz)
{
	uint32_t def = p->default_days ? p->default_days : PGP_DEFAULT_DAYS;

	*out = days ? days : def;
	if (p->max_days != 0 && *out > p->max_days)
		return refuse(why, whysz, AL_E_VALIDITY, "%u days asked for; profile %s "
		    "allows at most %u", *out, p->name, p->max_days);
	if (*out > 36500)
		return refuse(why, whysz, AL_E_VALIDITY, "%u days is too long", *out);
	return AL_OK;
}

int
pgp_certify(const struct pgp_root *root, const struct cfg_profile *p,
    const struct pgp_request *rq, struct pgp_result *res, char *why, size_t whysz)
{
	char emails[PGP_MAX_EMAILS][256], addr[256];
	struct pgp_key *k = NULL;
	struct buf bin;
	uint32_t days;
	int code, i, n, nemails;

	buf_init(&bin);
	memset(res, 0, sizeof(*res));
	buf_init(&res->sigs);
	if (rq->keylen > PGP_MAX_KEY) {
		code = refuse(why, whysz, AL_E_PGP_SIZE, "the key is %zu bytes; at most "
		    "%u are accepted", rq->keylen, PGP_MAX_KEY);
		goto done;
	}
	if (pgp_dearmor(rq->key, rq->keylen, &bin, why, whysz) == -1) {
		code = AL_E_PGP_PARSE;
		goto done;
	}
	if ((code = key_checks(bin.p, bin.len, rq->now, p, &k, why, whysz)) != AL_OK ||
	    (code = parse_emails(rq->emails, rq->emailslen, emails, &nemails, why,
	    whysz)) != AL_OK || (code = certify_days(p, rq->days, &days, why,
	    whysz)) != AL_OK)
		goto done;
	pgp_fpr_hex(k->pub.fpr, res->fpr);
	for (i = 1, n = 0; i < k->npkt; i++) {
		if (k->pkt[i].tag != PGP_TAG_UID ||
		    pgp_uid_email(k->pkt[i].body, k->pkt[i].len, addr, sizeof(addr)) == -1 ||
		    !email_listed(addr, emails, nemails))
			continue;
		if (++n > PGP_MAX_CERT_UIDS) {
			code = refuse(why, whysz, AL_E_PGP_SIZE, "more than %d user IDs "
			    "to certify", PGP_MAX_CERT_UIDS);
			goto done;
		}
		if ((code = check_uid(k, i, addr, rq->now, why, whysz)) != AL_OK)
			goto done;
	}
	if (n == 0) {
		code = refuse(why, whysz, AL_E_PGP_UID, "no user ID of key %s has an "
		    "address from the request's list", res->fpr);
		goto done;
	}
	/* every check passed: sign */
	for (i = 1; i < k->npkt; i++) {
		if (k->pkt[i].tag != PGP_TAG_UID ||
		    pgp_uid_email(k->pkt[i].body, k->pkt[i].len, addr, sizeof(addr)) == -1 ||
		    !email_listed(addr, emails, nemails))
			continue;
		if (pgp_sign_cert(&root->key->pub, root->sk, &k->pub, k->pkt[i].body,
		    k->pkt[i].len, PGP_SIG_GENERIC, (uint32_t)rq->now, days * DAY, NULL,
		    &res->sigs) == -1) {
			code = refuse(why, whysz, AL_E_INTERNAL, "signing the certification failed");
			goto done;
		}
		res->nsigs++;
		if (strlen(res->uids) + strlen(addr) + 2 < sizeof(res->uids))
			snprintf(res->uids + strlen(res->uids), sizeof(res->uids) -
			    strlen(res->uids), "%s%s", res->uids[0] ? "," : "", addr);
	}
	res->expires = rq->now + (time_t)days * DAY;
	code = AL_OK;
done:
	pgp_key_free(k);
	buf_free(&bin);
	if (code != AL_OK)
		buf_free(&res->sigs);
	return code;
}

/* ---- the client: verify and merge ---- */

struct merge_sig {
	const struct pgp_pkt *pkt;
	int		 uid;		/* packet index of its user ID */
};

static int
merge_match(const struct pgp_key *root, const struct pgp_key *k, const struct pgp_pkt *sp,
    int *uid, char *why, size_t whysz)
{
	struct pgp_sig s;
	int i;

	if (sp->tag != PGP_TAG_SIG || pgp_parse_sig(sp->body, sp->len, &s, why, whysz) != 0)
		return refuse(why, whysz, -1, "the answer holds a packet that is not a signature");
	if (s.type < 0x10 || s.type > 0x13 || !s.has_fpr ||
	    memcmp(s.issuer_fpr, root->pub.fpr, PGP_FPR_LEN) != 0)
		return refuse(why, whysz, -1, "the answer holds a signature that is not "
		    "a certification by the root");
	for (i = 1; i < k->npkt; i++)
		if (k->pkt[i].tag == PGP_TAG_UID && pgp_verify_cert(&root->pub, &k->pub,
		    k->pkt[i].body, k->pkt[i].len, &s, NULL, 0)) {
			*uid = i;
			return 0;
		}
	return refuse(why, whysz, -1, "a certification in the answer does not verify "
	    "with the root's key over any user ID of the key");
}

int
pgp_merge(const uint8_t *rootpub, size_t rootlen, const uint8_t *key, size_t keylen,
    const uint8_t *sigs, size_t sigslen, struct buf *out, char *why, size_t whysz)
{
	struct pgp_key *root = NULL, *k = NULL;
	struct merge_sig ms[PGP_MAX_CERT_UIDS];
	struct pgp_pkt sp[PGP_MAX_CERT_UIDS];
	struct buf bin, rbin, merged;
	size_t off = 0;
	int i, j, n = 0, r, rc = -1;

	buf_init(&bin);
	buf_init(&rbin);
	buf_init(&merged);
	if (pgp_dearmor(rootpub, rootlen, &rbin, why, whysz) == -1 ||
	    pgp_key_parse(rbin.p, rbin.len, 0, &root, why, whysz) == -1 ||
	    pgp_pub_load(&root->pub, why, whysz) == -1 ||
	    pgp_dearmor(key, keylen, &bin, why, whysz) == -1 ||
	    pgp_key_parse(bin.p, bin.len, 0, &k, why, whysz) == -1 ||
	    pgp_pub_load(&k->pub, why, whysz) == -1)
		goto done;
	while ((r = pgp_next(sigs, sigslen, &off, &sp[n], why, whysz)) == 1) {
		if (n == PGP_MAX_CERT_UIDS) {
			refuse(why, whysz, -1, "the answer holds too many signatures");
			goto done;
		}
		ms[n].pkt = &sp[n];
		if (merge_match(root, k, &sp[n], &ms[n].uid, why, whysz) == -1)
			goto done;
		n++;
	}
	if (r == -1 || n == 0) {
		if (r != -1)
			refuse(why, whysz, -1, "the answer holds no signature");
		goto done;
	}
	for (i = 0; i < k->npkt; i++) {
		if (buf_put(&merged, k->pkt[i].raw, k->pkt[i].rawlen) == -1)
			goto done;
		/* after the last signature of a user ID: the new ones for it */
		if (i + 1 < k->npkt && (k->pkt[i + 1].tag == PGP_TAG_SIG ||
		    k->pkt[i + 1].tag == PGP_TAG_TRUST))
			continue;
		for (r = i; r > 0 && (k->pkt[r].tag == PGP_TAG_SIG ||
		    k->pkt[r].tag == PGP_TAG_TRUST); r--)
			;
		for (j = 0; j < n; j++)
			if (ms[j].uid == r && buf_put(&merged, ms[j].pkt->raw,
			    ms[j].pkt->rawlen) == -1)
				goto done;
	}
	rc = pgp_armor("PUBLIC KEY BLOCK", merged.p, merged.len, out);
done:
	pgp_key_free(root);
	pgp_key_free(k);
	buf_free(&bin);
	buf_free(&rbin);
	buf_free(&merged);
	return rc;
}
