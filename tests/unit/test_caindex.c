/*
 * test_caindex.c: the index.txt line codec of src/ca/caindex.c, table-driven.
 * Lines as `openssl ca` writes them must parse to the right fields and
 * format back to the same bytes (holdInstruction excepted: its OID is not
 * kept); malformed lines must be refused with a sentence; the time
 * conversions must follow RFC 5280's two-digit-year rule (UTCTime up to
 * 2049, GeneralizedTime from 2050).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "caindex.h"
#include "util.h"

static const struct {
	const char	*line;
	char		 status;
	int		 reason;
	int		 invalidity;	/* expected non-zero */
	size_t		 serial_len;
	int		 same;		/* formats back to the same bytes */
} good[] = {
	{ "V\t271122064845Z\t\t1000\tunknown\t/CN=user1.example.test/O=Old Users",
	  'V', -1, 0, 2, 1 },
	{ "E\t210101000000Z\t\t1006\tunknown\t/CN=old", 'E', -1, 0, 2, 1 },
	{ "V\t20510101000000Z\t\t01\tunknown\t/CN=far future", 'V', -1, 0, 1, 1 },
	{ "R\t271122064845Z\t261122064846Z,keyCompromise\t1003\tunknown\t/CN=k",
	  'R', 1, 0, 2, 1 },
	{ "R\t271122064845Z\t261122064846Z\t100A\tunknown\t/CN=plain", 'R', -1, 0,
	  2, 1 },
	{ "R\t271122064845Z\t261122064846Z,keyTime,20240101120000Z\t100C\tunknown\t/CN=t",
	  'R', 1, 1, 2, 1 },
	{ "R\t271122064845Z\t261122064846Z,CAkeyTime,20240101120000Z\t0C\tunknown\t/CN=t",
	  'R', 2, 1, 1, 1 },
	{ "R\t271122064845Z\t261122064846Z,removeFromCRL\t4A3F00FF\tunknown\t/CN=r",
	  'R', 8, 0, 4, 1 },
	{ "R\t271122064845Z\t261122064846Z,holdInstruction,1.2.840.10040.2.2\t0123\tunknown\t/CN=h",
	  'R', 6, 0, 2, 0 },
	{ "V\t271122064845Z\t\t4000000000000000000000000000000000000001\tunknown\t/CN=20 octets",
	  'V', -1, 0, 20, 1 },
};

static const char *const bad[] = {
	"V\t271122064845Z\t\t1000\tunknown",			/* five fields */
	"V\t271122064845Z\t\t1000\tunknown\t/CN=a\textra",	/* seven */
	"X\t271122064845Z\t\t1000\tunknown\t/CN=a",		/* status */
	"V\t2711220648Z\t\t1000\tunknown\t/CN=a",		/* time */
	"V\t271322064845Z\t\t1000\tunknown\t/CN=a",		/* month 13 */
	"V\t271122064845Z\t\t10G0\tunknown\t/CN=a",		/* serial */
	"V\t271122064845Z\t\t00\tunknown\t/CN=a",		/* zero */
	"V\t271122064845Z\t\t\tunknown\t/CN=a",			/* no serial */
	"V\t271122064845Z\t\t400000000000000000000000000000000000000001\tunknown\t/CN=a",
	"R\t271122064845Z\t\t1000\tunknown\t/CN=a",		/* R, no date */
	"V\t271122064845Z\t261122064846Z\t1000\tunknown\t/CN=a",	/* V, a date */
	"R\t271122064845Z\t261122064846Z,madeUp\t1000\tunknown\t/CN=a",
	"R\t271122064845Z\t261122064846Z,keyTime\t1000\tunknown\t/CN=a",
	"V\t271122064845Z\t\t1000\t\t/CN=a",			/* no file name */
};

static void
test_parse_and_format(void **state)
{
	struct caindex_entry e;
	struct buf b;
	char line[512], why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "%s", good[i].line);
		if (caindex_parse(line, &e, why, sizeof(why)) != 0)
			fail_msg("line %zu: %s", i, why);
		assert_int_equal(e.status, good[i].status);
		assert_int_equal(e.reason, good[i].reason);
		assert_int_equal(e.invalidity != 0, good[i].invalidity);
		assert_int_equal(e.serial_len, good[i].serial_len);
		assert_true(e.serial[0] != 0);
		assert_int_equal(e.revoked != 0, good[i].status == 'R');
		buf_init(&b);
		assert_int_equal(caindex_format(&e, &b), 0);
		if (good[i].same) {
			assert_int_equal(b.len, strlen(good[i].line) + 1);
			assert_memory_equal(b.p, good[i].line, b.len - 1);
			assert_int_equal(b.p[b.len - 1], '\n');
		} else
			assert_non_null(memmem(b.p, b.len, ",certificateHold\t", 17));
		buf_free(&b);
	}
}

static void
test_parse_refuses(void **state)
{
	struct caindex_entry e;
	char line[512], why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		why[0] = '\0';
		if (caindex_parse(line, &e, why, sizeof(why)) == 0)
			fail_msg("bad line %zu was accepted", i);
		assert_true(strlen(why) > 10);
	}
}

static void
test_times(void **state)
{
	int64_t t;
	char out[16];

	(void)state;
	assert_int_equal(caindex_time("700101000000Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(caindex_time("491231235959Z", &t), 0);
	assert_int_equal(t, 2524607999LL);		/* 2049-12-31 23:59:59 */
	caindex_time_text(t, out);
	assert_string_equal(out, "491231235959Z");
	caindex_time_text(t + 1, out);
	assert_string_equal(out, "20500101000000Z");
	assert_int_equal(caindex_time("20500101000000Z", &t), 0);
	assert_int_equal(t, 2524608000LL);
	assert_int_equal(caindex_time("500101000000Z", &t), 0);	/* 1950 */
	assert_true(t < 0);
	assert_int_equal(caindex_time("20500101000000", &t), -1);
	assert_int_equal(caindex_time("2050010100000Z", &t), -1);
	assert_int_equal(caindex_time("", &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
