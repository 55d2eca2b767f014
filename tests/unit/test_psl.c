/*
 * test_psl.c: the public suffix matcher and the allowed-domain check
 * (src/psl.c). A small list written here covers every kind of rule; the
 * list of the Debian package publicsuffix, when installed, must give the
 * answers the issue asked for (*.com, *.co.uk, *.ck, !www.ck, *.github.io).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "psl.h"
#include "util.h"

static const char small_list[] =
	"// a comment\n"
	"// ===BEGIN ICANN DOMAINS===\n"
	"com\n"
	"uk\n"
	"co.uk\n"
	"*.ck\n"
	"!www.ck\n"
	"jp\n"
	"*.kobe.jp\n"
	"!city.kobe.jp\n"
	"\xe5\x85\xac\xe5\x8f\xb8.cn\n"		/* a U-label rule: skipped */
	"xn--55qx5d.cn   trailing words are ignored\r\n"
	"\n"
	"// ===BEGIN PRIVATE DOMAINS===\n"
	"github.io\n";

static char list_path[64];

static int
write_list(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int
setup(void **state)
{
	int fd;

	snprintf(list_path, sizeof(list_path), "/tmp/test_psl.XXXXXX");
	if ((fd = mkstemp(list_path)) == -1)
		return -1;
	close(fd);
	if (write_list(list_path, small_list) == -1)
		return -1;
	*state = NULL;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(list_path);
	return 0;
}

static int
wild_ok(const struct psl *l, const char *name)
{
	return psl_wildcard_ok(l, name, strlen(name));
}

static void
test_small_list(void **state)
{
	struct psl *l;
	char why[256];
	size_t idn;

	(void)state;
	assert_int_equal(psl_load(list_path, &l, why, sizeof(why)), 0);
	/* com uk co.uk ck www.ck jp kobe.jp city.kobe.jp xn--55qx5d.cn github.io */
	assert_int_equal(psl_count(l, &idn), 10);
	assert_int_equal(idn, 1);
	assert_false(wild_ok(l, "*.com"));
	assert_false(wild_ok(l, "*.COM"));
	assert_false(wild_ok(l, "*.co.uk"));
	assert_true(wild_ok(l, "*.example.com"));
	assert_true(wild_ok(l, "*.example.co.uk"));
	assert_true(wild_ok(l, "www.com"));	/* no wildcard at all */
	/* *.ck: any one label under ck is a suffix, except www.ck */
	assert_false(wild_ok(l, "*.ck"));
	assert_false(wild_ok(l, "*.foo.ck"));
	assert_true(wild_ok(l, "*.bar.foo.ck"));
	assert_true(wild_ok(l, "*.www.ck"));
	assert_int_equal(psl_suffix_labels(l, "a.www.ck", 8), 1);
	assert_int_equal(psl_suffix_labels(l, "a.b.foo.ck", 10), 2);
	assert_false(wild_ok(l, "*.x.kobe.jp"));
	assert_true(wild_ok(l, "*.city.kobe.jp"));
	/* the private section counts too */
	assert_false(wild_ok(l, "*.github.io"));
	assert_true(wild_ok(l, "*.alice.github.io"));
	/* A-label rules match; unknown top-level domains are "*" */
	assert_false(wild_ok(l, "*.xn--55qx5d.cn"));
	assert_false(wild_ok(l, "*.example"));
	assert_true(wild_ok(l, "*.a.example"));
	assert_true(psl_is_public_suffix(l, "co.uk", 5));
	assert_false(psl_is_public_suffix(l, "bbc.co.uk", 9));
	psl_free(l);
}

static void
test_no_list(void **state)
{
	(void)state;
	/* only the implicit rule: one label */
	assert_false(wild_ok(NULL, "*.com"));
	assert_true(wild_ok(NULL, "*.co.uk"));
	assert_int_equal(psl_suffix_labels(NULL, "a.b.c", 5), 1);
	assert_int_equal(psl_count(NULL, NULL), 0);
}

static void
test_load_errors(void **state)
{
	struct psl *l = (struct psl *)1;
	char why[256];

	(void)state;
	assert_int_equal(psl_load("/nonexistent/psl.dat", &l, why, sizeof(why)), -1);
	assert_null(l);
	assert_non_null(strstr(why, "cannot read the public suffix list "
	    "/nonexistent/psl.dat"));
	assert_int_equal(write_list(list_path, "com\nfoo.*.bar\n"), 0);
	assert_int_equal(psl_load(list_path, &l, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "line 2: not a public suffix rule"));
	assert_int_equal(write_list(list_path, "// only a comment\n"), 0);
	assert_int_equal(psl_load(list_path, &l, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "has no public suffix rules"));
	assert_int_equal(write_list(list_path, small_list), 0);
}

/* The Debian package's list, as the signer reads it by default. */
static void
test_system_list(void **state)
{
	struct psl *l;
	char why[256];

	(void)state;
	if (access(PSL_DEFAULT_FILE, R_OK) != 0)
		skip();
	assert_int_equal(psl_load(PSL_DEFAULT_FILE, &l, why, sizeof(why)), 0);
	assert_true(psl_count(l, NULL) > 5000);
	assert_false(wild_ok(l, "*.com"));
	assert_false(wild_ok(l, "*.co.uk"));
	assert_true(wild_ok(l, "*.example.com"));
	assert_false(wild_ok(l, "*.ck"));
	assert_false(wild_ok(l, "*.foo.ck"));
	assert_true(wild_ok(l, "*.www.ck"));
	assert_false(wild_ok(l, "*.github.io"));
	assert_true(wild_ok(l, "*.alice.github.io"));
	assert_false(wild_ok(l, "*.xn--fiqs8s"));	/* .中国, an A-label rule */
	psl_free(l);
}

static void
test_allowed_domains(void **state)
{
	static const char list[] = "example.org,b.example.net";

	(void)state;
	assert_true(psl_domain_allowed("", "anything.test", 13));
	assert_true(psl_domain_allowed(list, "example.org", 11));
	assert_true(psl_domain_allowed(list, "www.Example.ORG", 15));
	assert_true(psl_domain_allowed(list, "*.example.org", 13));
	assert_true(psl_domain_allowed(list, "x.b.example.net", 15));
	assert_false(psl_domain_allowed(list, "badexample.org", 14));
	assert_false(psl_domain_allowed(list, "example.org.evil", 16));
	assert_false(psl_domain_allowed(list, "example.net", 11));
	assert_false(psl_domain_allowed(list, "c.example.net", 13));
	assert_false(psl_domain_allowed(list, "org", 3));
	assert_false(psl_domain_allowed(list, "", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_list),
		cmocka_unit_test(test_no_list),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_system_list),
		cmocka_unit_test(test_allowed_domains),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
