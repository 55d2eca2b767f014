/*
 * test_caindex.c: the index.txt line codec of src/ca/caindex.c, table-driven.
 * Lines as `openssl ca` writes them must parse to the right fields and
 * format back to the same bytes (holdInstruction excepted: its OID is not
 * kept); malformed lines must be refused with a sentence; the time
 * conversions must follow RFC 5280's two-digit-year rule (UTCTime up to
 * 2049, GeneralizedTime from 2050). And caindex_ahead.c: an import's
 * certificate files are in the page cache before the import reads them
 * (mincore), exactly the lines asked for, within the window given; a
 * garbage line, an oversize one or a serial that is a path is passed over.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* --- reading ahead --- */

#define AH_LINES	1200
#define AH_SIZE		(3 * 4096)	/* bytes of each certificate file */

static char ah_dir[PATH_MAX];

/* lines that must never be read ahead: no file (9), bad lines (5, 50, 60) */
#define AH_BAD(i)	((i) == 9 || (i) == 5 || (i) == 50 || (i) == 60)

static void
ah_name(int line, char *path, size_t n)
{
	/* line 7 names its file, as a few old index.txt do; line 9 has none */
	if (line == 7)
		snprintf(path, n, "%s/named-7.pem", ah_dir);
	else
		snprintf(path, n, "%s/newcerts/%04X.pem", ah_dir, 0x1000 + line);
}

/* 1 if every page of line's file is in the page cache, 0 if none is, 2 if
 * some are, -1 if it cannot tell */
static int
ah_cached(int line)
{
	unsigned char vec[AH_SIZE / 4096];
	char path[PATH_MAX];
	size_t i, in = 0;
	void *p;
	int fd;

	ah_name(line, path, sizeof(path));
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	p = mmap(NULL, AH_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	if (mincore(p, AH_SIZE, vec) == -1) {
		munmap(p, AH_SIZE);
		return -1;
	}
	munmap(p, AH_SIZE);
	for (i = 0; i < sizeof(vec); i++)
		in += vec[i] & 1;
	return in == sizeof(vec) ? 1 : in == 0 ? 0 : 2;
}

static int
ah_evict(int line)
{
	char path[PATH_MAX];
	int fd, rc;

	ah_name(line, path, sizeof(path));
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	return rc == 0 && ah_cached(line) == 0 ? 0 : -1;
}

/* an openssl ca directory of AH_LINES lines, every file out of the cache:
 * 0, or -1 where the page cache cannot be emptied (tmpfs) */
static int
ah_make(void)
{
	char path[PATH_MAX], data[AH_SIZE];
	FILE *f;
	int i, fd;

	snprintf(ah_dir, sizeof(ah_dir), "%s/al-ahead.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(ah_dir));
	snprintf(path, sizeof(path), "%s/newcerts", ah_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/index.txt", ah_dir);
	assert_non_null(f = fopen(path, "w"));
	memset(data, 'c', sizeof(data));
	for (i = 1; i <= AH_LINES; i++) {
		/* bad lines, each with a file the read-ahead must not touch:
		 * 5 garbage, 50 over 20,000 bytes, 60 a serial that is a path */
		if (i == 5)
			fprintf(f, "garbage \x01\x02\t\t\n");
		else if (i == 50)
			fprintf(f, "V\t271122064845Z\t\t%04X\tunknown\t/CN=%020000d\n",
			    0x1000 + i, 0);
		else if (i == 60)
			fprintf(f, "V\t271122064845Z\t\t../%04X\tunknown\t/CN=x\n",
			    0x1000 + i);
		else
			fprintf(f, "V\t271122064845Z\t\t%04X\t%s\t/CN=line %d\n",
			    0x1000 + i, i == 7 ? "named-7.pem" : "unknown", i);
		if (i == 9)
			continue;
		ah_name(i, path, sizeof(path));
		assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1);
		assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
		assert_int_equal(fsync(fd), 0);
		close(fd);
	}
	assert_int_equal(fclose(f), 0);
	for (i = 1; i <= AH_LINES; i++)
		if (i != 9 && ah_evict(i) == -1)
			return -1;
	return 0;
}

/* waits (at most 20 s) until lines a..b are cached; 0 if they are */
static int
ah_wait(int a, int b)
{
	struct timespec ms = { 0, 1000000 };
	int i, k;

	for (k = 0; k < 20000; k++) {
		for (i = a; i <= b; i++)
			if (!AH_BAD(i) && ah_cached(i) != 1)
				break;
		if (i > b)
			return 0;
		nanosleep(&ms, NULL);
	}
	return -1;
}

static void
test_ahead(void **state)
{
	struct caindex_ahead *a;
	char cmd[PATH_MAX + 16];
	int i;

	(void)state;
	if (ah_make() == -1) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", ah_dir);
		assert_int_equal(system(cmd), 0);
		skip();		/* a file system that keeps every page (tmpfs) */
	}
	/* lines 101 to 1100 imported, 300 lines ahead of the import at most */
	assert_non_null(a = caindex_ahead_start(ah_dir, 100, 1100, 300));
	assert_int_equal(ah_wait(101, 400), 0);
	/* in the window: read ahead; past it: not (whatever the timing) */
	for (i = 401; i <= AH_LINES; i++)
		assert_int_equal(ah_cached(i), 0);
	/* the import moved on to line 600: what it reads now is left to it */
	caindex_ahead_taken(a, 600);
	assert_int_equal(ah_wait(601, 900), 0);
	for (i = 401; i <= AH_LINES; i++)
		assert_int_equal(ah_cached(i), i > 600 && i <= 900);
	caindex_ahead_taken(a, 900);
	assert_int_equal(ah_wait(901, 1100), 0);
	/* 101..400, 601..900, 901..1100: each file asked for once */
	assert_int_equal(caindex_ahead_stop(a), 800);
	/* before the import's first line and after its last: never */
	for (i = 1; i <= 100; i++)
		assert_int_equal(ah_cached(i), i == 9 ? -1 : 0);
	for (i = 1101; i <= AH_LINES; i++)
		assert_int_equal(ah_cached(i), 0);
	assert_int_equal(ah_cached(7), 0);	/* the named file: line 7 */

	/* stopped early, while it waits for the import: it stops */
	for (i = 101; i <= 1100; i++)
		assert_true(ah_cached(i) == 0 || ah_evict(i) == 0);
	assert_non_null(a = caindex_ahead_start(ah_dir, 0, AH_LINES, 100));
	assert_int_equal(ah_wait(1, 100), 0);
	/* lines 1..100 but the four bad ones, which it went past */
	assert_int_equal(caindex_ahead_stop(a), 96);
	for (i = 101; i <= AH_LINES; i++)
		assert_int_equal(ah_cached(i), 0);
	assert_int_equal(ah_cached(7), 1);
	assert_int_equal(ah_cached(5), 0);
	assert_int_equal(ah_cached(50), 0);
	assert_int_equal(ah_cached(60), 0);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", ah_dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_parse_refuses),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_ahead),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
