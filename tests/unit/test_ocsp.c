/*
 * test_ocsp.c: the OCSP request parser and helpers (src/pki/ocsp.c) and
 * the responder's serial sets and refusals (src/ocspd/responder.c),
 * without a network: a known request made by `openssl ocsp -reqout`
 * (SHA-1 CertID, serial 0x1001, no nonce), the same with a byte more or
 * less, base64 of both alphabets, serials from index files, a set that
 * grows, the answers of a responder that answers for no issuer, and
 * crl_dir/ROOT.serials read as it grows (src/ocspd/sources.c, included to
 * reach its statics): only what was appended, whole lines only, and read
 * whole again when it is another file or shorter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ocsp.h"
#include "ocspd.h"
#include "rmtree.h"

#include "../../src/ocspd/sources.c"

static const uint8_t req_sha1[] = {
	0x30, 0x43, 0x30, 0x41, 0x30, 0x3f, 0x30, 0x3d, 0x30, 0x3b, 0x30, 0x09,
	0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14, 0xf1,
	0x44, 0x39, 0x61, 0xb2, 0xba, 0xed, 0x1d, 0xac, 0x4c, 0xcd, 0x63, 0xde,
	0x9e, 0x7f, 0x30, 0x23, 0xa9, 0x26, 0xc7, 0x04, 0x14, 0xb1, 0x7f, 0x42,
	0x5d, 0x03, 0x46, 0x03, 0x0d, 0xef, 0x12, 0x97, 0x9f, 0x15, 0x1e, 0x20,
	0x7b, 0x8d, 0x4d, 0x11, 0x95, 0x02, 0x02, 0x10, 0x01
};

static void
test_parse_known(void **state)
{
	struct ocsp_req r;
	char why[128];

	(void)state;
	assert_int_equal(ocsp_req_parse(req_sha1, sizeof(req_sha1), &r, why, sizeof(why)), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ids[0].alg, OCSP_SHA1);
	assert_int_equal(r.ids[0].hash_len, 20);
	assert_int_equal(r.ids[0].serial_len, 2);
	assert_int_equal(r.ids[0].serial[0], 0x10);
	assert_int_equal(r.ids[0].serial[1], 0x01);
	assert_int_equal(r.has_nonce, 0);
	ocsp_req_free(&r);
}

static void
test_parse_refused(void **state)
{
	uint8_t more[sizeof(req_sha1) + 1];
	struct ocsp_req r;
	char why[128];

	(void)state;
	memcpy(more, req_sha1, sizeof(req_sha1));
	more[sizeof(req_sha1)] = 0;
	why[0] = '\0';
	assert_int_equal(ocsp_req_parse(more, sizeof(more), &r, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "after the OCSPRequest"));
	assert_null(r.raw);
	assert_int_equal(ocsp_req_parse(req_sha1, sizeof(req_sha1) - 1, &r, why,
	    sizeof(why)), -1);
	assert_int_equal(ocsp_req_parse(req_sha1, 0, &r, why, sizeof(why)), -1);
	memcpy(more, req_sha1, sizeof(req_sha1));
	more[22] = 0x13;	/* issuerNameHash of 19 bytes: no longer SHA-1's */
	assert_int_equal(ocsp_req_parse(more, sizeof(req_sha1), &r, why, sizeof(why)), -1);
}

static void
test_b64(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b);
	assert_int_equal(ocsp_b64_decode("MEMwQQ==", 8, &b), 0);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.p, "\x30\x43\x30\x41", 4);
	assert_int_equal(ocsp_b64_decode("-_8", 3, &b), 0);	/* URL alphabet */
	assert_int_equal(b.len, 2);
	assert_int_equal(b.p[0], 0xfb);
	assert_int_equal(b.p[1], 0xff);
	assert_int_equal(ocsp_b64_decode("+/8=", 4, &b), 0);
	assert_int_equal(b.p[0], 0xfb);
	assert_int_equal(ocsp_b64_decode("M", 1, &b), -1);
	assert_int_equal(ocsp_b64_decode("ME%3D", 5, &b), -1);
	assert_int_equal(ocsp_b64_decode("", 0, &b), -1);
	buf_free(&b);
}

static void
test_serial_hex(void **state)
{
	uint8_t s[OCSP_SERIAL_MAX];
	size_t n;

	(void)state;
	assert_int_equal(ocsp_serial_hex("1001", 4, s, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], 0x10);
	assert_int_equal(ocsp_serial_hex("0000ABC", 7, s, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(s[0], 0x0a);
	assert_int_equal(s[1], 0xbc);
	assert_int_equal(ocsp_serial_hex("00", 2, s, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ocsp_serial_hex("12G4", 4, s, &n), -1);
	assert_int_equal(ocsp_serial_hex("", 0, s, &n), -1);
}

static void
test_sset(void **state)
{
	struct sset s = { NULL, 0, 0 };
	uint8_t k[4];
	uint32_t i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		put_be32(k, i * 2654435761u);
		assert_int_equal(sset_add(&s, k, 4, i, (int)(i % 11) - 1), 1);
	}
	put_be32(k, 0);
	assert_int_equal(sset_add(&s, k, 4, 0, -1), 0);	/* there already */
	assert_int_equal(s.n, 5000);
	for (i = 0; i < 5000; i++) {
		const struct sset_entry *e;

		put_be32(k, i * 2654435761u);
		assert_non_null(e = sset_find(&s, k, 4));
		assert_int_equal(e->revoked, i);
	}
	assert_null(sset_find(&s, k, 3));
	sset_free(&s);
}

static void
test_answer_no_root(void **state)
{
	static struct cfg c;
	static struct ocspd o;
	struct buf out;
	int64_t max_age;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.ocsp.cache_entries = 64;
	c.ocsp.validity = 3600;
	assert_int_equal(ocspd_init(&o, &c), 0);
	buf_init(&out);
	ocspd_answer(&o, req_sha1, sizeof(req_sha1), 1700000000, &out, &max_age);
	assert_int_equal(out.len, 5);
	assert_int_equal(out.p[4], OCSP_ST_UNAUTHORIZED);
	assert_int_equal(max_age, 0);
	ocspd_answer(&o, (const uint8_t *)"junk", 4, 1700000000, &out, &max_age);
	assert_int_equal(out.p[4], OCSP_ST_MALFORMED);
	assert_int_equal(o.count[OC_REQUESTS], 2);
	assert_int_equal(o.count[OC_UNAUTHORIZED], 1);
	assert_int_equal(o.count[OC_MALFORMED], 1);
	buf_free(&out);
	ocspd_free(&o);
}

static void
t_append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	assert_true(fd != -1);
	assert_int_equal(write_full(fd, text, strlen(text)), 0);
	close(fd);
}

static int
t_known(const struct ocspd *o, const char *hex)
{
	uint8_t s[OCSP_SERIAL_MAX];
	size_t n;

	assert_int_equal(ocsp_serial_hex(hex, strlen(hex), s, &n), 0);
	return sset_find(&o->roots[0].known, s, n) != NULL;
}

static void
test_serials_file(void **state)
{
	static struct cfg c;
	static struct cfg_ocsp_root root = { .name = "r" };
	static struct ocspd o;
	char dir[] = "/tmp/test_ocsp.XXXXXX", path[64], tmp[64];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/r.serials", dir);
	memset(&c, 0, sizeof(c));
	c.ocsp.cache_entries = 64;
	assert_int_equal(ocspd_init(&o, &c), 0);
	o.n = 1;
	o.roots[0].cfg = &root;
	ocspd_refresh_serials(&o, 0, path);		/* none yet */
	assert_int_equal(o.roots[0].known.n, 0);
	t_append(path, "00AA\n01BB\n");
	ocspd_refresh_serials(&o, 0, path);
	assert_int_equal(o.roots[0].known.n, 2);
	assert_true(t_known(&o, "AA") && t_known(&o, "01BB"));
	/* a line being written: taken when it is whole */
	t_append(path, "02CC\n03D");
	ocspd_refresh_serials(&o, 0, path);
	assert_int_equal(o.roots[0].known.n, 3);
	assert_false(t_known(&o, "03D"));
	t_append(path, "D\n");
	ocspd_refresh_serials(&o, 0, path);
	assert_int_equal(o.roots[0].known.n, 4);
	assert_true(t_known(&o, "03DD"));
	/* only what was appended is read: a line changed in place is not */
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, "0FFF", 4, 0), 4);
	close(fd);
	t_append(path, "04EE\n");
	ocspd_refresh_serials(&o, 0, path);
	assert_int_equal(o.roots[0].known.n, 5);
	assert_false(t_known(&o, "0FFF"));
	/* another file (written whole, renamed over it): read from its start */
	snprintf(tmp, sizeof(tmp), "%s/new", dir);
	t_append(tmp, "0FFF\n05AB\n");
	assert_int_equal(rename(tmp, path), 0);
	ocspd_refresh_serials(&o, 0, path);
	assert_true(t_known(&o, "0FFF") && t_known(&o, "05AB"));
	assert_int_equal(o.roots[0].known.n, 7);
	/* the same file, shorter: read again from its start */
	assert_int_equal(truncate(path, 0), 0);
	t_append(path, "06CD\n");
	ocspd_refresh_serials(&o, 0, path);
	assert_true(t_known(&o, "06CD"));
	assert_int_equal(o.roots[0].known.n, 8);
	ocspd_free(&o);
	assert_int_equal(rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_known),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_serial_hex),
		cmocka_unit_test(test_sset),
		cmocka_unit_test(test_answer_no_root),
		cmocka_unit_test(test_serials_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
