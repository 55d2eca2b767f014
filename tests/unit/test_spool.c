/*
 * test_spool.c: the spool as a trust boundary (src/common/spool.c) and the FIFO
 * opening of the IPC channel (src/wire/ipc.c). The web application may leave
 * anything in spool/in: each hostile kind of entry is refused with a
 * sentence that never quotes the content, and nothing blocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "ipc.h"
#include "spool.h"
#include "rmtree.h"

#define SECRET	"5eb63bbbe01eeed093cb22bb8f5acdc3"	/* stands for the link key */

static char tmpdir[64];
static int dfd = -1;

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	return dfd == -1 ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	close(dfd);
	return rmtree(tmpdir);
}

static void
put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

/* spool_read refuses name with a sentence containing want, never the secret */
static void
refused(const char *name, const char *want)
{
	char why[256] = "";
	struct buf b;

	buf_init(&b);
	assert_int_equal(spool_read(dfd, name, &b, 4096, why, sizeof(why)), -1);
	assert_int_equal(b.len, 0);
	if (strstr(why, want) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", name, why, want);
	assert_null(strstr(why, "5eb63b"));
	buf_free(&b);
}

static void
test_regular(void **state)
{
	char why[256];
	struct buf b;

	(void)state;
	put("ok.req", "root=a\nprofile=b\n");
	buf_init(&b);
	assert_int_equal(spool_read(dfd, "ok.req", &b, 4096, why, sizeof(why)), 0);
	assert_int_equal(b.len, 17);
	assert_memory_equal(b.p, "root=a\nprofile=b\n", 17);
	buf_free(&b);
}

static void
test_symlink(void **state)
{
	char target[128];

	(void)state;
	put("secret.key", SECRET "\n");
	snprintf(target, sizeof(target), "%s/secret.key", tmpdir);
	assert_int_equal(symlinkat(target, dfd, "x.req"), 0);
	refused("x.req", "symbolic link");
	assert_int_equal(symlinkat("/dev/tty", dfd, "tty.req"), 0);
	refused("tty.req", "symbolic link");
}

/* A FIFO with no writer: an open(2) without O_NONBLOCK would never return. */
static void
test_fifo(void **state)
{
	(void)state;
	assert_int_equal(mkfifoat(dfd, "f.req", 0600), 0);
	refused("f.req", "a FIFO");
}

static void
test_hardlink(void **state)
{
	(void)state;
	put("secret2.key", SECRET "\n");
	assert_int_equal(linkat(dfd, "secret2.key", dfd, "h.req", 0), 0);
	refused("h.req", "2 hard links");
}

static void
test_huge(void **state)
{
	char p[256];

	(void)state;
	snprintf(p, sizeof(p), "%s/big.req", tmpdir);
	put("big.req", "");
	assert_int_equal(truncate(p, 1LL << 40), 0);	/* 1 TiB, sparse */
	refused("big.req", "more than the 4096");
}

static void
test_dir_and_device(void **state)
{
	(void)state;
	assert_int_equal(mkdirat(dfd, "d.req", 0700), 0);
	refused("d.req", "a directory");
	if (geteuid() != 0) {
		print_message("not root: the device case (mknod) is skipped\n");
		return;
	}
	assert_int_equal(mknodat(dfd, "null.req", S_IFCHR | 0600, makedev(1, 3)), 0);
	refused("null.req", "a device");
}

static void
test_missing(void **state)
{
	(void)state;
	refused("gone.req", "cannot read");
}

static void
test_names(void **state)
{
	static const struct {
		const char	*name;
		int		 ok;
	} t[] = {
		{ "req-1", 1 }, { "a.b_c-D9", 1 }, { "_x", 1 }, { "-x", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { ".hidden", 0 },
		{ "../../x", 0 }, { "a/b", 0 }, { "a b", 0 }, { "a\nb", 0 },
		{ "a\x1b[2Jb", 0 }, { "\xc3\xa9t\xc3\xa9", 0 },
	};
	char long_name[SPOOL_NAME_MAX + 2], out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (spool_name_ok(t[i].name) != t[i].ok)
			fail_msg("spool_name_ok(\"%s\") != %d", t[i].name, t[i].ok);
	memset(long_name, 'a', sizeof(long_name));
	long_name[SPOOL_NAME_MAX] = '\0';
	assert_int_equal(spool_name_ok(long_name), 1);
	long_name[SPOOL_NAME_MAX] = 'a';
	long_name[SPOOL_NAME_MAX + 1] = '\0';
	assert_int_equal(spool_name_ok(long_name), 0);
	/* where a path is built, the name is checked again */
	assert_int_equal(spool_path("/s", "out", "../../x", ".crt", out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(spool_path("/s", "out", "r1", ".crt", out, sizeof(out)), 0);
	assert_string_equal(out, "/s/out/r1.crt");
	spool_name_show("a\nb\x1b", out, sizeof(out));
	assert_string_equal(out, "a\\x0ab\\x1b");
}

/* ipc_open: a FIFO is opened; a link to one, or a regular file, is not. */
static void
test_ipc_open(void **state)
{
	char fifo[128], link[128], reg[128];
	struct ipc_chan c;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/signer.req", tmpdir);
	snprintf(link, sizeof(link), "%s/link.req", tmpdir);
	snprintf(reg, sizeof(reg), "%s/regular", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(fifo, link), 0);
	put("regular", "x");
	ipc_init(&c, fifo, 1);
	assert_int_equal(ipc_open(&c), 0);
	ipc_close(&c);
	ipc_init(&c, link, 1);
	assert_int_equal(ipc_open(&c), -1);
	assert_int_equal(c.fd, -1);
	ipc_init(&c, reg, 1);
	assert_int_equal(ipc_open(&c), -1);
	assert_int_equal(c.fd, -1);
	buf_free(&c.in);
	buf_free(&c.out);
}

/* ipc_make_fifos: an existing FIFO is kept; a regular file in its place is refused. */
static void
test_make_fifos(void **state)
{
	char sub[128], req[256], ans[256];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/run", tmpdir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(ipc_make_fifos(sub, req, ans, sizeof(req)), 0);
	assert_int_equal(ipc_make_fifos(sub, req, ans, sizeof(req)), 0);
	unlink(ans);
	assert_int_equal(symlink("/etc/passwd", ans), 0);
	assert_int_equal(ipc_make_fifos(sub, req, ans, sizeof(req)), -1);
}

/* entries of dir whose name contains part */
static int
count_names(const char *dir, const char *part)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -c -F -- '%s'", dir, part);
	assert_non_null(f = popen(cmd, "r"));
	assert_int_equal(fscanf(f, "%d", &n), 1);
	pclose(f);
	return n;
}

/*
 * The client's result files of one read: nothing under a final name before
 * the commit, every file whole under its name and with its mode (whatever
 * the umask) after it; an abort and a failed rename leave no temporary file.
 */
static void
test_batch(void **state)
{
	struct spool_batch b;
	char out[256], err[256], p[300], q[300], buf[64];
	struct stat st;
	mode_t old;
	FILE *f;
	int i;

	(void)state;
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	snprintf(err, sizeof(err), "%s/err", tmpdir);
	assert_int_equal(mkdir(out, 0750), 0);
	assert_int_equal(mkdir(err, 0750), 0);
	old = umask(077);
	spool_batch_init(&b);
	for (i = 0; i < 100; i++) {	/* past the first growth of the array */
		snprintf(p, sizeof(p), "%s/r%03d.crt", out, i);
		snprintf(buf, sizeof(buf), "certificate %d\n", i);
		assert_int_equal(spool_batch_put(&b, p, buf, strlen(buf), 0644), 0);
	}
	snprintf(p, sizeof(p), "%s/r000.err", err);
	assert_int_equal(spool_batch_put(&b, p, "400 no\n", 7, 0644), 0);
	/* the same name twice in a read: the last one put wins, as before */
	snprintf(p, sizeof(p), "%s/r001.crt", out);
	assert_int_equal(spool_batch_put(&b, p, "again\n", 6, 0644), 0);
	assert_int_equal(spool_batch_count(&b), 102);
	assert_int_equal(count_names(out, ".crt"), 101);	/* temporary names */
	assert_int_equal(access(p, F_OK), -1);			/* none final yet */
	assert_int_equal(spool_batch_commit(&b), 0);
	assert_int_equal(spool_batch_count(&b), 0);
	assert_int_equal(count_names(out, ".tmp."), 0);
	assert_int_equal(count_names(out, ".crt"), 100);
	assert_int_equal(count_names(err, ".err"), 1);
	snprintf(q, sizeof(q), "%s/r042.crt", out);
	assert_int_equal(stat(q, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_non_null(f = fopen(q, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "certificate 42\n");
	assert_non_null(f = fopen(p, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "again\n");

	/* an abort: no temporary file and no final name */
	snprintf(p, sizeof(p), "%s/gone.crt", out);
	assert_int_equal(spool_batch_put(&b, p, "x", 1, 0644), 0);
	spool_batch_abort(&b);
	assert_int_equal(count_names(out, "gone"), 0);

	/* a rename that fails (a folder under the name): -1, the files put
	 * after it removed, the one before it in place */
	snprintf(p, sizeof(p), "%s/a.crt", out);
	assert_int_equal(spool_batch_put(&b, p, "a", 1, 0644), 0);
	snprintf(q, sizeof(q), "%s/b.crt", out);
	assert_int_equal(mkdir(q, 0700), 0);
	assert_int_equal(spool_batch_put(&b, q, "b", 1, 0644), 0);
	snprintf(q, sizeof(q), "%s/c.crt", out);
	assert_int_equal(spool_batch_put(&b, q, "c", 1, 0644), 0);
	assert_int_equal(spool_batch_commit(&b), -1);
	assert_int_equal(spool_batch_count(&b), 0);
	assert_int_equal(access(p, F_OK), 0);
	assert_int_equal(access(q, F_OK), -1);
	assert_int_equal(count_names(out, ".tmp."), 0);

	/* a file that cannot be written (no folder): -1, nothing left */
	snprintf(p, sizeof(p), "%s/none/x.crt", tmpdir);
	assert_int_equal(spool_batch_put(&b, p, "x", 1, 0644), -1);
	assert_int_equal(spool_batch_count(&b), 0);
	assert_int_equal(spool_batch_commit(&b), 0);	/* empty: nothing to do */

	/* at the start: a batch's leftovers go, nothing else */
	put("out/left.crt.tmp.123.7", "x");
	put("err/left.err.tmp.9.0", "x");
	put("out/other.crt.tmp.123", "x");	/* write_file_atomic's */
	put("out/d.crt.tmp.1.2.crt", "x");
	put("out/e.crt.tmp..2", "x");
	assert_int_equal(spool_batch_sweep(tmpdir), 2);
	assert_int_equal(count_names(out, "left"), 0);
	assert_int_equal(count_names(err, "left"), 0);
	assert_int_equal(count_names(out, ".tmp."), 3);
	assert_int_equal(count_names(out, "a.crt"), 1);
	umask(old);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_hardlink),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_dir_and_device),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_ipc_open),
		cmocka_unit_test(test_make_fifos),
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
