/*
 * test_sandbox.c: the seccomp allow-lists, without root (a filter needs
 * only no-new-privileges). Each case runs in a child process, since a
 * filter cannot be removed: the child enters a role's sandbox, tries
 * something and reports by its exit status. Skipped in sanitizer builds,
 * where sandbox_enter() installs nothing.
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
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"
#include "util.h"

/* What the child tried; its result becomes the exit status. */
enum {
	TRY_INET = 1, TRY_INET6, TRY_UNIX, TRY_NETLINK, TRY_PAIR_INET, TRY_EXEC,
	TRY_FORK, TRY_FORBIDDEN, TRY_FILE, TRY_NETLINK_ROUTE,
};

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
		if ((fd = open("/dev/null", O_RDWR)) == -1 || write(fd, "x", 1) != 1)
			return errno;
		return close(fd) == -1 ? errno : 0;
	}
	return 255;
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
	if ((pid = fork()) == 0) {
		log_init("test_sandbox", LOG_TO_STDERR, 0);
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

static void
test_network_refused(void **state)
{
	static const char *const roles[] = { "linkd", "signer", "client" };
	size_t i;

	(void)state;
	need_sandbox();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		assert_true(exits(run(roles[i], "serial", 1, TRY_INET), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_INET6), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_NETLINK), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_PAIR_INET), EACCES));
		assert_true(exits(run(roles[i], "serial", 1, TRY_UNIX), 0));	/* syslog */
	}
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

static void
test_off_by_configuration(void **state)
{
	(void)state;
	assert_true(exits(run("linkd", "serial", 0, TRY_INET), 0));
	assert_true(exits(run("linkd", "serial", 0, TRY_FORBIDDEN), 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_network_refused),
		cmocka_unit_test(test_usb_netlink_only),
		cmocka_unit_test(test_no_exec_no_fork),
		cmocka_unit_test(test_unlisted_call_kills),
		cmocka_unit_test(test_files_still_work),
		cmocka_unit_test(test_off_by_configuration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
