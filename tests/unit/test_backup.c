/*
 * test_backup.c: the backup file (src/pki/backup.c) and the restore hold
 * of the audit chain (src/ca/audit.c).
 *
 * The plain layout is checked byte for byte against the documented one
 * (magic, manifest length, manifest line, bytes, SHA-256 of all before);
 * a plain and a sealed file come back as they went in; a wrong passphrase,
 * one flipped bit anywhere in a sealed file, an entry whose bytes no
 * longer match the manifest (the outer sum recomputed, as a forger would),
 * a cut file and trailing bytes are refused; names with blanks and twice
 * the same name are refused when building. On ca.db: with ca.db.restored
 * beside it records are held, not chained; released, they chain on after
 * records taken from elsewhere, which must follow the head to be taken.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "auditrec.h"
#include "backup.h"
#include "castore.h"
#include "crypto.h"
#include "store.h"
#include "util.h"

#define NOBODY	4000000000u	/* a uid and gid with no name: "-" */

static void
t_archive(struct bk_archive *a)
{
	char why[256];

	bk_init(a);
	assert_int_equal(bk_add(a, "db/ca.db", "/var/lib/airlock/ca.db", 0600, NOBODY,
	    NOBODY, "abc", 3, why, sizeof(why)), 0);
	assert_int_equal(bk_add(a, "conf/airlock.conf", "/etc/airlock/my conf", 0640,
	    NOBODY, NOBODY, "", 0, why, sizeof(why)), 0);
}

static void
test_plain_layout(void **state)
{
	static const char line[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 3 0600 - - "
	    "db/ca.db /var/lib/airlock/ca.db\n";
	struct bk_archive a;
	struct buf out, want;
	uint8_t sum[32];
	char why[256];

	(void)state;
	bk_init(&a);
	buf_init(&out);
	buf_init(&want);
	assert_int_equal(bk_add(&a, "db/ca.db", "/var/lib/airlock/ca.db", 0100600,
	    NOBODY, NOBODY, "abc", 3, why, sizeof(why)), 0);
	assert_int_equal(bk_encode(&a, NULL, &out, why, sizeof(why)), 0);
	buf_put(&want, "airlock-backup-v1\n", 18);
	buf_put_u32(&want, sizeof(line) - 1);
	buf_put(&want, line, sizeof(line) - 1);
	buf_put(&want, "abc", 3);
	crypto_sha256(want.p, want.len, sum);
	buf_put(&want, sum, 32);
	assert_int_equal(out.len, want.len);
	assert_memory_equal(out.p, want.p, want.len);
	assert_int_equal(bk_sealed(out.p, out.len), 0);
	buf_free(&out);
	buf_free(&want);
	bk_free(&a);
}

static void
t_same(const struct bk_archive *a, const struct bk_archive *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_string_equal(a->e[i].name, b->e[i].name);
		assert_string_equal(a->e[i].path, b->e[i].path);
		assert_int_equal(a->e[i].mode, b->e[i].mode);
		assert_int_equal(a->e[i].size, b->e[i].size);
		assert_memory_equal(a->e[i].sha, b->e[i].sha, 32);
		if (a->e[i].size)
			assert_memory_equal(a->data.p + a->e[i].off,
			    b->data.p + b->e[i].off, a->e[i].size);
	}
}

static void
test_round_trips(void **state)
{
	struct bk_archive a, b, c;
	struct buf plain, sealed;
	char why[256];

	(void)state;
	t_archive(&a);
	bk_init(&b);
	bk_init(&c);
	buf_init(&plain);
	buf_init(&sealed);
	assert_int_equal(bk_encode(&a, NULL, &plain, why, sizeof(why)), 0);
	assert_int_equal(bk_decode(plain.p, plain.len, NULL, &b, why, sizeof(why)), 0);
	t_same(&a, &b);
	assert_int_equal(bk_encode(&a, "correct horse", &sealed, why, sizeof(why)), 0);
	assert_int_equal(bk_sealed(sealed.p, sealed.len), 1);
	assert_null(memmem(sealed.p, sealed.len, "db/ca.db", 8));	/* nothing in clear */
	assert_int_equal(bk_decode(sealed.p, sealed.len, "correct horse", &c, why,
	    sizeof(why)), 0);
	t_same(&a, &c);
	assert_non_null(bk_find(&c, "conf/airlock.conf"));
	assert_null(bk_find(&c, "conf"));
	buf_free(&plain);
	buf_free(&sealed);
	bk_free(&a);
	bk_free(&b);
	bk_free(&c);
}

static void
test_sealed_refusals(void **state)
{
	struct bk_archive a, b;
	struct buf sealed;
	char why[256];
	size_t i;

	(void)state;
	t_archive(&a);
	buf_init(&sealed);
	assert_int_equal(bk_encode(&a, "correct horse", &sealed, why, sizeof(why)), 0);
	bk_init(&b);
	assert_int_equal(bk_decode(sealed.p, sealed.len, "correct hors", &b, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "wrong passphrase"));
	assert_int_equal(bk_decode(sealed.p, sealed.len, NULL, &b, why, sizeof(why)), -1);
	/* one bit anywhere after the magic: header (associated data), salt,
	 * nonce, ciphertext or tag */
	for (i = 25; i < sealed.len; i += sealed.len / 12 + 1) {
		sealed.p[i] ^= 0x10;
		assert_int_equal(bk_decode(sealed.p, sealed.len, "correct horse", &b,
		    why, sizeof(why)), -1);
		sealed.p[i] ^= 0x10;
		assert_int_equal(b.n, 0);
	}
	assert_int_equal(bk_decode(sealed.p, sealed.len - 1, "correct horse", &b, why,
	    sizeof(why)), -1);
	buf_free(&sealed);
	bk_free(&a);
	bk_free(&b);
}

static void
test_plain_refusals(void **state)
{
	struct bk_archive a, b;
	struct buf p;
	char why[256];
	size_t data;

	(void)state;
	t_archive(&a);
	buf_init(&p);
	bk_init(&b);
	assert_int_equal(bk_encode(&a, NULL, &p, why, sizeof(why)), 0);
	/* an entry's byte changed and the outer sum made again */
	data = p.len - 32 - 3;
	p.p[data] ^= 1;
	crypto_sha256(p.p, p.len - 32, p.p + p.len - 32);
	assert_int_equal(bk_decode(p.p, p.len, NULL, &b, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "db/ca.db: SHA-256"));
	p.p[data] ^= 1;
	crypto_sha256(p.p, p.len - 32, p.p + p.len - 32);
	assert_int_equal(bk_decode(p.p, p.len, NULL, &b, why, sizeof(why)), 0);
	bk_free(&b);
	bk_init(&b);
	/* the outer sum catches damage; a cut file is not a backup */
	p.p[20] ^= 1;
	assert_int_equal(bk_decode(p.p, p.len, NULL, &b, why, sizeof(why)), -1);
	p.p[20] ^= 1;
	assert_int_equal(bk_decode(p.p, 30, NULL, &b, why, sizeof(why)), -1);
	/* a byte more before the sum: the manifest no longer accounts for it */
	buf_reset(&p);
	assert_int_equal(bk_encode(&a, NULL, &p, why, sizeof(why)), 0);
	p.len -= 32;
	buf_put_u8(&p, 'x');
	buf_reserve(&p, 32);
	crypto_sha256(p.p, p.len, p.p + p.len);
	p.len += 32;
	assert_int_equal(bk_decode(p.p, p.len, NULL, &b, why, sizeof(why)), -1);
	assert_int_equal(bk_sealed((const uint8_t *)"hello", 5), -1);
	/* names */
	assert_int_equal(bk_add(&a, "a b", "/x", 0600, 0, 0, "", 0, why, sizeof(why)), -1);
	assert_int_equal(bk_add(&a, "db/ca.db", "/y", 0600, 0, 0, "", 0, why, sizeof(why)), -1);
	assert_int_equal(bk_add(&a, "ok", "/x\ny", 0600, 0, 0, "", 0, why, sizeof(why)), -1);
	buf_free(&p);
	bk_free(&a);
	bk_free(&b);
}

/* ca.db.restored: records held, then released after records from webdb. */
static void
test_restore_hold(void **state)
{
	char dir[] = "/tmp/test_backup.XXXXXX", path[128], mark[160], why[256];
	struct audit_check c;
	struct audit_rec r;
	struct audit_raw w;
	struct db *d, *other;
	uint8_t prev[32] = { 0 }, hash[32];
	int64_t seq, n;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ca.db", dir);
	snprintf(mark, sizeof(mark), "%s.restored", path);
	assert_int_equal(castore_open(path, 0, &d), 0);
	assert_int_equal(audit_init(d), 0);
	audit_restore_hold(0);
	assert_true(audit_add(d, AUDIT_DAEMON, NULL, "", "t", "one") == 1);
	assert_int_equal(audit_hash_at(d, 1, prev), 1);
	/* a record "made elsewhere" after 1: what the mirror would send back */
	memset(&r, 0, sizeof(r));
	r.seq = 2;
	r.time = 1700000000;
	snprintf(r.kind, sizeof(r.kind), "issue");
	snprintf(r.text, sizeof(r.text), "serial=01");
	audit_raw_of(&r, &w);
	assert_int_equal(audit_hash(&w, prev, hash), 0);
	w.prev.p = prev, w.prev.n = 32, w.hash.p = hash, w.hash.n = 32;
	/* restored: records are held */
	assert_non_null(f = fopen(mark, "w"));
	fclose(f);
	audit_restore_hold(-1);		/* look at the mark again */
	assert_int_equal(audit_restore_pending(d), 1);
	assert_int_equal(audit_add(d, AUDIT_DAEMON, NULL, "", "t", "held"), 0);
	assert_int_equal(audit_last_seq(d, &seq), 0);
	assert_int_equal(seq, 1);
	/* webdb's record: a forged one is refused, the real one appended */
	hash[0] ^= 1;
	assert_int_equal(audit_append_raw(d, &w, why, sizeof(why)), 1);
	hash[0] ^= 1;
	assert_int_equal(audit_append_raw(d, &w, why, sizeof(why)), 2);
	assert_int_equal(audit_append_raw(d, &w, why, sizeof(why)), 0);	/* known */
	audit_restore_hold(0);
	assert_int_equal(audit_release_held(d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(audit_restore_clear(d), 0);
	assert_int_equal(access(mark, F_OK), -1);
	assert_int_equal(audit_last_seq(d, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(audit_verify(d, 0, NULL, &c), 0);
	/* a second process sees no mark */
	audit_restore_hold(-1);
	assert_int_equal(castore_open(path, 1, &other), 0);
	assert_int_equal(audit_restore_pending(other), 0);
	db_close(other);
	db_close(d);
	unlink(path);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_layout),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_sealed_refusals),
		cmocka_unit_test(test_plain_refusals),
		cmocka_unit_test(test_restore_hold),
	};

	log_init("test_backup", LOG_TO_STDERR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
