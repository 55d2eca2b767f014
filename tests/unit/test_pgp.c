/*
 * test_pgp.c: the OpenPGP module without the link: armour known answers,
 * packet headers (old and new format, partial lengths refused), user ID
 * addresses, and the signer's policy and the client's merge on keys made
 * here (an Ed25519 root and Ed25519 user keys self-signed with
 * pgp_sign_cert): a good key is certified and the merge verifies; a
 * flipped bit in the answer is refused; an address not in the list, an
 * expired user ID, a revoked user ID, a bad self-signature, a truncated key
 * and too many days are each refused with their code and a sentence.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock.h"
#include "config.h"
#include "pgp.h"
#include "pgp_root.h"
#include "rmtree.h"

#define NOW	1800000000

static char tmpdir[] = "/tmp/airlock-test-pgp.XXXXXX";
static struct pgp_root *root;
static struct cfg_profile prof;

static int
setup(void **state)
{
	struct pgp_root_params pp = { NULL, "ed25519", "test CA <ca@test.example>",
	    NULL, NULL, NULL, NOW - 1000 };
	char sub[128], fpr[41], why[256];

	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "%s/root", tmpdir);
	pp.dir = sub;
	if (pgp_root_init(&pp, fpr, why, sizeof(why)) == -1 ||
	    pgp_root_load(sub, NULL, &root, why, sizeof(why)) == -1) {
		fprintf(stderr, "%s\n", why);
		return -1;
	}
	snprintf(prof.name, sizeof(prof.name), "openpgp");
	prof.max_days = prof.default_days = 366;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	pgp_root_free(root);
	rmtree(tmpdir);
	return 0;
}

/* A user key: Ed25519, the user IDs given, each self-signed (positive),
 * the self-signature expiring after exp seconds (0 never); revoke: a
 * revocation of the first user ID follows its self-signature. */
static void
user_key(const char *const *uids, int n, uint32_t exp, int revoke, struct buf *out)
{
	struct pgp_pub pub;
	struct buf body;
	void *sk;
	char why[256];
	int i;

	buf_init(&body);
	assert_int_equal(pgp_keygen("ed25519", NOW - 500, &sk, &body, why, sizeof(why)), 0);
	assert_int_equal(pgp_parse_pub(body.p, body.len, &pub, NULL, why, sizeof(why)), 0);
	assert_int_equal(pgp_pub_load(&pub, why, sizeof(why)), 0);
	assert_int_equal(pgp_put_hdr(out, PGP_TAG_PUBKEY, body.len), 0);
	assert_int_equal(buf_put(out, body.p, body.len), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(pgp_put_hdr(out, PGP_TAG_UID, strlen(uids[i])), 0);
		assert_int_equal(buf_put(out, uids[i], strlen(uids[i])), 0);
		assert_int_equal(pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)uids[i],
		    strlen(uids[i]), PGP_SIG_POSITIVE, NOW - 400, exp, NULL, out), 0);
		if (revoke && i == 0)
			assert_int_equal(pgp_sign_cert(&pub, sk, &pub, (const uint8_t *)uids[i],
			    strlen(uids[i]), PGP_SIG_CERTREV, NOW - 300, 0, NULL, out), 0);
	}
	pgp_pub_free(&pub);
	pgp_sk_free(sk);
	buf_free(&body);
}

static int
certify(const struct buf *key, const char *emails, uint32_t days, struct pgp_result *res,
    char *why, size_t whysz)
{
	struct pgp_request rq = { key->p, key->len, emails, strlen(emails), days, NOW };

	return pgp_certify(root, &prof, &rq, res, why, whysz);
}

static void
test_armor(void **state)
{
	static const uint8_t bin[] = { 0xc0 | 13, 3, 'a', '@', 'b' };
	struct buf a, b;
	char why[128];

	(void)state;
	buf_init(&a);
	buf_init(&b);
	assert_int_equal(pgp_armor("PUBLIC KEY BLOCK", bin, sizeof(bin), &a), 0);
	/* known answer: base64 "zQNhQGI=", CRC-24 of the 5 bytes */
	assert_non_null(strstr((const char *)a.p, "\n\nzQNhQGI=\n="));
	assert_int_equal(pgp_dearmor(a.p, a.len, &b, why, sizeof(why)), 0);
	assert_int_equal(b.len, sizeof(bin));
	assert_memory_equal(b.p, bin, sizeof(bin));
	/* a wrong checksum is refused */
	a.p[strstr((const char *)a.p, "\n=") - (const char *)a.p + 2] ^= 1;
	assert_int_equal(pgp_dearmor(a.p, a.len, &b, why, sizeof(why)), -1);
	buf_free(&a);
	buf_free(&b);
}

static void
test_headers(void **state)
{
	static const uint8_t oldfmt[] = { 0x99, 0x00, 0x02, 'x', 'y' };	/* tag 6, 2-byte len */
	static const uint8_t partial[] = { 0xc6, 0xe1, 'x', 'y' };
	static const uint8_t trunc[] = { 0xc6, 0x05, 'x' };
	static const uint8_t indet[] = { 0x9b, 'x' };
	struct pgp_pkt pk;
	size_t off = 0;
	char why[128];

	(void)state;
	assert_int_equal(pgp_next(oldfmt, sizeof(oldfmt), &off, &pk, why, sizeof(why)), 1);
	assert_int_equal(pk.tag, 6);
	assert_int_equal(pk.len, 2);
	assert_int_equal(off, sizeof(oldfmt));
	off = 0;
	assert_int_equal(pgp_next(partial, sizeof(partial), &off, &pk, why, sizeof(why)), -1);
	off = 0;
	assert_int_equal(pgp_next(trunc, sizeof(trunc), &off, &pk, why, sizeof(why)), -1);
	off = 0;
	assert_int_equal(pgp_next(indet, sizeof(indet), &off, &pk, why, sizeof(why)), -1);
}

static void
test_uid_email(void **state)
{
	char a[256];

	(void)state;
	assert_int_equal(pgp_uid_email((const uint8_t *)"Al Ice <al@x.org>", 17, a, sizeof(a)), 0);
	assert_string_equal(a, "al@x.org");
	assert_int_equal(pgp_uid_email((const uint8_t *)"al@x.org", 8, a, sizeof(a)), 0);
	assert_int_equal(pgp_uid_email((const uint8_t *)"Al Ice", 6, a, sizeof(a)), -1);
	assert_int_equal(pgp_uid_email((const uint8_t *)"<a@b@c>", 7, a, sizeof(a)), -1);
}

static void
test_certify_and_merge(void **state)
{
	static const char *const uids[] = { "Alice <alice@x.org>", "Alice Work <alice@work.org>" };
	struct pgp_result res;
	struct buf key, out;
	char why[256];

	(void)state;
	buf_init(&key);
	buf_init(&out);
	user_key(uids, 2, 0, 0, &key);
	assert_int_equal(certify(&key, "ALICE@x.org", 0, &res, why, sizeof(why)), AL_OK);
	assert_int_equal(res.nsigs, 1);		/* the listed address only */
	assert_int_equal(res.expires, NOW + 366 * 86400);
	assert_int_equal(pgp_merge(root->pub.p, root->pub.len, key.p, key.len, res.sigs.p,
	    res.sigs.len, &out, why, sizeof(why)), 0);
	assert_non_null(strstr((const char *)out.p, "BEGIN PGP PUBLIC KEY BLOCK"));
	/* a forgery: one bit of the signature value flipped */
	res.sigs.p[res.sigs.len - 1] ^= 1;
	assert_int_equal(pgp_merge(root->pub.p, root->pub.len, key.p, key.len, res.sigs.p,
	    res.sigs.len, &out, why, sizeof(why)), -1);
	buf_free(&res.sigs);
	buf_free(&key);
	buf_free(&out);
}

static void
test_refusals(void **state)
{
	static const char *const uids[] = { "Bob <bob@x.org>" };
	struct pgp_result res;
	struct buf key;
	char why[256];

	(void)state;
	buf_init(&key);
	user_key(uids, 1, 0, 0, &key);
	assert_int_equal(certify(&key, "carol@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_UID);
	assert_non_null(strstr(why, "no user ID"));
	assert_int_equal(certify(&key, "bob@x.org", 400, &res, why, sizeof(why)), AL_E_VALIDITY);
	assert_int_equal(certify(&key, "not an address", 0, &res, why, sizeof(why)), AL_E_MSG_VALUE);
	key.len -= 10;		/* truncated */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_PARSE);
	key.len += 10;
	key.p[key.len - 1] ^= 1;	/* bad self-signature */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_SELFSIG);
	buf_reset(&key);
	user_key(uids, 1, 50, 0, &key);		/* the self-signature expired */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_EXPIRED);
	buf_reset(&key);
	user_key(uids, 1, 0, 1, &key);		/* the user ID revoked */
	assert_int_equal(certify(&key, "bob@x.org", 0, &res, why, sizeof(why)), AL_E_PGP_REVOKED);
	buf_free(&key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_armor),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_uid_email),
		cmocka_unit_test(test_certify_and_merge),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
