/*
 * test_sandbox.c: the seccomp allow-lists and the Landlock rules, without
 * root (both need only no-new-privileges). Each case runs in a child
 * process, since neither can be removed: the child enters a role's
 * sandbox, tries something and reports by its exit status. The seccomp
 * cases skip in sanitizer builds, where sandbox_enter() installs no
 * filter; the Landlock cases skip on a kernel without Landlock ABI 2.
 * The roles' folders are a scratch "own" folder (state_dir and run_dir);
 * "other" beside it stands for everywhere else.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"
#include "util.h"

/* What the child tried; its result becomes the exit status. */
enum {
	TRY_INET = 1, TRY_INET6, TRY_UNIX, TRY_NETLINK, TRY_PAIR_INET, TRY_EXEC,
	TRY_FORK, TRY_FORBIDDEN, TRY_FILE, TRY_NETLINK_ROUTE, TRY_PAIR_UNIX,
	TRY_CONNECT, TRY_SENDTO_ADDR, TRY_SEND, TRY_MMAP_EXEC, TRY_MPROTECT_EXEC,
	TRY_MMAP_RW, TRY_CREATE_OWN, TRY_CREATE_OTHER, TRY_UNLINK_OTHER,
	TRY_RENAME_OUT, TRY_MKDIR_OTHER, TRY_DEVNULL, TRY_SYSLOG, TRY_SYSLOG_LOST,
	TRY_SPOOL_IN, TRY_SPOOL_OUT,
};

static char dir_own[64], dir_other[64];	/* scratch folders, made by main() */
static int pre_sv[2] = { -1, -1 };	/* a connected pair made before the sandbox, like the log socket */
static int ocsp_renew = 1;	/* role ocspd: its cache is dir_own, its spool dir_other */

static const char *
in(const char *dir, const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int
try_memory(int what)
{
	int prot = what == TRY_MMAP_EXEC ? PROT_READ | PROT_EXEC : PROT_READ | PROT_WRITE;
	void *p = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return errno;
	if (what == TRY_MPROTECT_EXEC && mprotect(p, 4096, PROT_READ | PROT_EXEC) == -1)
		return errno;
	return 0;
}

static int
try_socket_ops(int what)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", in(dir_other, "sock"));
	switch (what) {
	case TRY_CONNECT:
		return connect(pre_sv[0], (struct sockaddr *)&sun, sizeof(sun)) == -1 ? errno : 0;
	case TRY_SENDTO_ADDR:
		return sendto(pre_sv[0], "x", 1, 0, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1 ? errno : 0;
	case TRY_SEND:
		return send(pre_sv[0], "x", 1, 0) == 1 ? 0 : errno;
	}
	return 255;
}

static int log_listener = -1;	/* /dev/log in the child's own mount namespace */

/*
 * As root: a private /dev (a tmpfs in a new mount namespace, so the host's
 * is untouched) with a datagram socket bound at /dev/log, and syslog's
 * socket connected to it (openlog with LOG_NDELAY, as log_init does), all
 * before the filter.
 */
static int
syslog_setup(void)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/dev/log");
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", "/dev", "tmpfs", 0, "mode=0755") == -1 ||
	    (log_listener = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(log_listener, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	openlog("test_sandbox", LOG_NDELAY, LOG_USER);
	return 0;
}

/* A line logged under the filter arrives (0); or, once syslog's socket is
 * closed, cannot be sent again and is lost without a kill (0). */
static int
try_syslog(int what)
{
	char line[512];
	ssize_t n;

	if (what == TRY_SYSLOG_LOST)
		closelog();	/* what glibc does when a send fails */
	syslog(LOG_INFO, "logged under the filter");
	n = recv(log_listener, line, sizeof(line) - 1, MSG_DONTWAIT);
	if (what == TRY_SYSLOG_LOST)
		return n == -1 && errno == EAGAIN ? 0 : 1;
	if (n <= 0)
		return 2;
	line[n] = '\0';
	return strstr(line, "logged under the filter") != NULL ? 0 : 3;
}

static int
try_files(int what)
{
	char dst[128];
	int fd;

	switch (what) {
	case TRY_CREATE_OWN:
	case TRY_CREATE_OTHER:
		fd = open(in(what == TRY_CREATE_OWN ? dir_own : dir_other, "new"),
		    O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd == -1)
			return errno;
		close(fd);
		return unlink(in(what == TRY_CREATE_OWN ? dir_own : dir_other, "new")) == -1 ?
		    errno : 0;
	case TRY_UNLINK_OTHER:
		return unlink(in(dir_other, "victim")) == -1 ? errno : 0;
	case TRY_RENAME_OUT:
		snprintf(dst, sizeof(dst), "%s", in(dir_other, "moved"));
		return rename(in(dir_own, "mine"), dst) == -1 ? errno : 0;
	case TRY_MKDIR_OTHER:
		return mkdir(in(dir_other, "d"), 0700) == -1 ? errno : 0;
	case TRY_SPOOL_IN:	/* airlock-ocspd's request: written, renamed within in/ */
	case TRY_SPOOL_OUT:
		snprintf(dst, sizeof(dst), "%s", in(dir_other, what == TRY_SPOOL_IN ?
		    "in/r.req" : "out/r.crt"));
		if ((fd = open(in(dir_other, what == TRY_SPOOL_IN ? "in/r.tmp" : "out/r.tmp"),
		    O_WRONLY | O_CREAT | O_EXCL, 0640)) == -1)
			return errno;
		close(fd);
		return rename(in(dir_other, what == TRY_SPOOL_IN ? "in/r.tmp" : "out/r.tmp"),
		    dst) == -1 ? errno : 0;
	case TRY_DEVNULL:
		if ((fd = open("/dev/null", O_WRONLY)) == -1 || write(fd, "x", 1) != 1)
			return errno;
		return close(fd) == -1 ? errno : 0;
	case TRY_SYSLOG:
	case TRY_SYSLOG_LOST:
		return try_syslog(what);
	}
	return 255;
}

static int
try(int what)
{
	char *const argv[] = { (char *)(uintptr_t)"true", NULL };
	int fd, sv[2];
	pid_t pid;

	switch (what) {
	case TRY_INET:
		return socket(AF_INET, SOCK_STREAM, 0) == -1 ? errno : 0;
	case TRY_INET6:
		return socket(AF_INET6, SOCK_DGRAM, 0) == -1 ? errno : 0;
	case TRY_UNIX:
		return socket(AF_UNIX, SOCK_DGRAM, 0) == -1 ? errno : 0;
	case TRY_NETLINK:
		return socket(AF_NETLINK, SOCK_RAW, 15) == -1 ? errno : 0;	/* uevents */
	case TRY_NETLINK_ROUTE:
		return socket(AF_NETLINK, SOCK_RAW, 0) == -1 ? errno : 0;
	case TRY_PAIR_INET:
		return socketpair(AF_INET, SOCK_STREAM, 0, sv) == -1 ? errno : 0;
	case TRY_PAIR_UNIX:
		return socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ? errno : 0;
	case TRY_CONNECT:
	case TRY_SENDTO_ADDR:
	case TRY_SEND:
		return try_socket_ops(what);
	case TRY_MMAP_EXEC:
	case TRY_MPROTECT_EXEC:
	case TRY_MMAP_RW:
		return try_memory(what);
	case TRY_EXEC:
		execv("/bin/true", argv);
		return errno;
	case TRY_FORK:
		if ((pid = fork()) == 0)
			_exit(0);
		return pid == -1 ? errno : 0;
	case TRY_FORBIDDEN:
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		return 0;
	case TRY_FILE:
		if ((fd = open(in(dir_own, "mine"), O_RDWR)) == -1 || write(fd, "x", 1) != 1)
			return errno;
		return close(fd) == -1 ? errno : 0;
	}
	return try_files(what);
}

/* The child's wait status after role's sandbox (with transport) and what. */
static int
run(const char *role, const char *transport, int on, int what)
{
	struct cfg c;
	int st;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.sandbox = on;
	snprintf(c.link.transport, sizeof(c.link.transport), "%s", transport);
	snprintf(c.path, sizeof(c.path), "test");
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", dir_own);
	snprintf(c.run_dir, sizeof(c.run_dir), "%s", dir_own);
	snprintf(c.ocsp.cache_dir, sizeof(c.ocsp.cache_dir), "%s", dir_own);
	if (strcmp(role, "ocspd") == 0)	/* the others' spool would be theirs */
		snprintf(c.spool_dir, sizeof(c.spool_dir), "%s", dir_other);
	c.ocsp.renew = ocsp_renew;
	if ((pid = fork()) == 0) {
		log_init("test_sandbox", LOG_TO_STDERR, 0);
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pre_sv) == -1)
			_exit(254);
		if ((what == TRY_SYSLOG || what == TRY_SYSLOG_LOST) && syslog_setup() == -1)
			_exit(253);
		sandbox_enter(role, &c);
		_exit(try(what));
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int
exits(int st, int code)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == code;
}

/* In a test's body: cmocka counts a skip() in a setup as an error. */
static void
need_sandbox(void)
{
	if (!sandbox_available())
		skip();
}

/* In a test's body: Landlock ABI 2 or a skip. */
static void
need_landlock(void)
{
	if (sandbox_fs_abi() < 2)
		skip();
}

/* Before each case: "own" holds "mine", "other" holds "victim". */
static int
fresh(void **state)
{
	char cmd[256];
	int fd;

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s/* %s/*", dir_own, dir_other);
	if (system(cmd) != 0)
		return -1;
	if ((fd = open(in(dir_own, "mine"), O_WRONLY | O_CREAT, 0600)) == -1)
		return -1;
	close(fd);
	if ((fd = open(in(dir_other, "victim"), O_WRONLY | O_CREAT, 0600)) == -1)
		return -1;
	close(fd);
	return 0;
}

static const char *const roles[] = { "linkd", "signer", "client" };

static void
test_network_refused(void **state)
{
	size_t i;

	(void)state;
	need_sandbox();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_INET), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_INET6), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_NETLINK), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_PAIR_INET), EACCES));
		/* the log socket is connected before the filter: no new socket */
		assert_true(exits(run(roles[i], "serial", 1, TRY_UNIX), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_PAIR_UNIX), EACCES));
	}
}

/* The log socket keeps working; it cannot be pointed anywhere else. */
static void
test_connect_refused(void **state)
{
	size_t i;

	(void)state;
	need_sandbox();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_CONNECT), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_SENDTO_ADDR), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_SEND), 0));
	}
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_CONNECT), EACCES));
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_UNIX), EACCES));
}

/* The log socket, connected before, still carries lines (root: a mount
 * namespace for a private /dev/log); a new one cannot be made. */
static void
test_syslog_works(void **state)
{
	size_t i;

	(void)state;
	need_sandbox();
	if (geteuid() != 0)
		skip();	/* needs a mount namespace for its own /dev/log */
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_SYSLOG), 0));
		assert_true(exits(run(roles[i], "serial", 1, TRY_SYSLOG_LOST), 0));
	}
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_SYSLOG), 0));
}

static void
test_no_exec_memory(void **state)
{
	size_t i;

	(void)state;
	need_sandbox();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_MMAP_EXEC), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_MPROTECT_EXEC), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_MMAP_RW), 0));
	}
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_MMAP_EXEC), EACCES));
}

/* Landlock: own folders yes, anywhere else no, whatever the permissions. */
static void
test_writes_confined(void **state)
{
	size_t i;
	int st;

	(void)state;
	need_landlock();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_CREATE_OWN), 0));
		assert_true(exits(run(roles[i], "serial", 1, TRY_CREATE_OTHER), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_UNLINK_OTHER), EACCES));
		st = run(roles[i], "serial", 1, TRY_RENAME_OUT);
		assert_true(exits(st, EACCES) || exits(st, EXDEV));
	}
	/* mkdir(2) is on the client's seccomp list only (its spool) */
	assert_true(exits(run("client", "serial", 1, TRY_MKDIR_OTHER), EACCES));
	/* the cable's roles may open a device for writing, the signer not */
	assert_true(exits(run("linkd", "serial", 1, TRY_DEVNULL), 0));
	assert_true(exits(run("client", "serial", 1, TRY_DEVNULL), 0));
	assert_true(exits(run("signer", "serial", 1, TRY_DEVNULL), EACCES));
	/* the switch is real */
	assert_true(exits(run("linkd", "serial", 0, TRY_CREATE_OTHER), 0));
}

/* airlock-ocspd: its cache, and regular files in the spool's in/ (its
 * renewal requests) only while renewal is on; not out/, not the spool */
static void
test_ocspd_writes(void **state)
{
	int st;

	(void)state;
	need_landlock();
	assert_int_equal(mkdir(in(dir_other, "in"), 0700), 0);
	assert_int_equal(mkdir(in(dir_other, "out"), 0700), 0);
	assert_true(exits(run("ocspd", "serial", 1, TRY_CREATE_OWN), 0));
	assert_true(exits(run("ocspd", "serial", 1, TRY_SPOOL_IN), 0));
	assert_int_equal(access(in(dir_other, "in/r.req"), F_OK), 0);
	assert_true(exits(run("ocspd", "serial", 1, TRY_SPOOL_OUT), EACCES));
	assert_true(exits(run("ocspd", "serial", 1, TRY_CREATE_OTHER), EACCES));
	assert_true(exits(run("ocspd", "serial", 1, TRY_UNLINK_OTHER), EACCES));
	st = run("ocspd", "serial", 1, TRY_RENAME_OUT);
	assert_true(exits(st, EACCES) || exits(st, EXDEV));
	assert_true(exits(run("ocspd", "serial", 1, TRY_DEVNULL), EACCES));
	assert_int_equal(unlink(in(dir_other, "in/r.req")), 0);
	ocsp_renew = 0;
	assert_true(exits(run("ocspd", "serial", 1, TRY_SPOOL_IN), EACCES));
	ocsp_renew = 1;
}

static void
test_usb_netlink_only(void **state)
{
	(void)state;
	need_sandbox();
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_NETLINK), 0));
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_INET), EACCES));
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_NETLINK_ROUTE), EACCES));
	/* the signer never has the cable, whatever the transport */
	assert_true(exits(run("signer", "usb-pl2501", 1, TRY_NETLINK), EACCES));
}

static void
test_no_exec_no_fork(void **state)
{
	(void)state;
	need_sandbox();
	assert_true(exits(run("linkd", "serial", 1, TRY_EXEC), EPERM));
	assert_true(exits(run("signer", "serial", 1, TRY_EXEC), EPERM));
	assert_true(exits(run("client", "usb-pl2501", 1, TRY_EXEC), EPERM));
	assert_true(exits(run("signer", "serial", 1, TRY_FORK), EPERM));
	assert_true(exits(run("linkd", "usb-pl2501", 1, TRY_FORK), EPERM));
}

static void
test_unlisted_call_kills(void **state)
{
	int st;

	(void)state;
	need_sandbox();
	st = run("signer", "serial", 1, TRY_FORBIDDEN);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void
test_files_still_work(void **state)
{
	(void)state;
	need_sandbox();
	assert_true(exits(run("signer", "serial", 1, TRY_FILE), 0));
	assert_true(exits(run("linkd", "serial", 1, TRY_FILE), 0));
}

/* airlockctl, airlock-timesync, airlock-client's commands: the same
 * refusals, no Landlock (they write where the operator says) */
static void
test_oneshot_roles(void **state)
{
	static const char *const tools[] = { "ctl", "timesync", "client-cmd" };
	size_t i;
	int st;

	(void)state;
	need_sandbox();
	for (i = 0; i < sizeof(tools) / sizeof(tools[0]); i++) {
		assert_true(exits(run(tools[i], "serial", 1, TRY_INET), EACCES));
		assert_true(exits(run(tools[i], "serial", 1, TRY_UNIX), EACCES));
		assert_true(exits(run(tools[i], "serial", 1, TRY_CONNECT), EACCES));
		assert_true(exits(run(tools[i], "serial", 1, TRY_EXEC), EPERM));
		assert_true(exits(run(tools[i], "serial", 1, TRY_FORK), EPERM));
		assert_true(exits(run(tools[i], "serial", 1, TRY_MMAP_EXEC), EACCES));
		assert_true(exits(run(tools[i], "serial", 1, TRY_CREATE_OTHER), 0));
		assert_true(exits(run(tools[i], "serial", 1, TRY_FILE), 0));
		st = run(tools[i], "serial", 1, TRY_FORBIDDEN);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
	}
	/* only the programs that may list USB devices get netlink */
	assert_true(exits(run("ctl", "usb-pl2501", 1, TRY_NETLINK), 0));
	assert_true(exits(run("timesync", "usb-pl2501", 1, TRY_NETLINK), EACCES));
}

static void
test_off_by_configuration(void **state)
{
	(void)state;
	assert_true(exits(run("linkd", "serial", 0, TRY_INET), 0));
	assert_true(exits(run("linkd", "serial", 0, TRY_FORBIDDEN), 0));
}

static void
cleanup(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir_own, dir_other);
	(void)!system(cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_refused),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_syslog_works),
		cmocka_unit_test(test_no_exec_memory),
		cmocka_unit_test_setup(test_writes_confined, fresh),
		cmocka_unit_test_setup(test_ocspd_writes, fresh),
		cmocka_unit_test(test_usb_netlink_only),
		cmocka_unit_test(test_no_exec_no_fork),
		cmocka_unit_test(test_unlisted_call_kills),
		cmocka_unit_test_setup(test_files_still_work, fresh),
		cmocka_unit_test_setup(test_oneshot_roles, fresh),
		cmocka_unit_test(test_off_by_configuration),
	};

	int rc;

	snprintf(dir_own, sizeof(dir_own), "/tmp/test_sandbox.own.XXXXXX");
	snprintf(dir_other, sizeof(dir_other), "/tmp/test_sandbox.other.XXXXXX");
	if (mkdtemp(dir_own) == NULL || mkdtemp(dir_other) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	cleanup();
	return rc;
}
