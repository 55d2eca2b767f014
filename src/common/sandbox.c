/*
 * sandbox.c: a seccomp allow-list per program, with libseccomp; the only
 * module that includes seccomp.h. Installed once, after the privilege drop,
 * when the keys are loaded and the start-up files are open; it can never be
 * lifted (no-new-privileges is set, and a filter only ever tightens).
 * Where a daemon may write is sandbox_fs.c's (Landlock), installed here
 * just before the filter.
 *
 * The lists are what the daemons, glibc, SQLite (WAL: pread/pwrite, fcntl
 * locks, fsync, mmap of the -shm file), OpenSSL (getrandom) and syslog (send
 * on an AF_UNIX datagram socket to /dev/log, connected before the filter)
 * use after start-up, found by running the end-to-end tests under strace
 * and then with the filter on. Three kinds of answer:
 *   - allowed;
 *   - refused with an errno, so that the caller sees an ordinary failure and
 *     the tests can observe it: socket()/socketpair() of any family, connect,
 *     sendmsg and sendto with an address (EACCES: no new socket, and the log
 *     socket cannot be pointed elsewhere), mmap/mprotect with PROT_EXEC
 *     (EACCES), execve/execveat and fork (EPERM), clone3 (ENOSYS, which
 *     makes glibc fall back to clone, whose flags a filter can see);
 *   - anything else: SIGSYS. A handler writes one line naming the system
 *     call number to stderr (the journal under systemd) and the process
 *     then dies by that signal, so a missing entry shows up at once instead
 *     of as a strange error later (scmp_sys_resolver NUMBER names it).
 * ioctl() is allowed for the termios requests of the serial line (and of
 * the one-shot programs' terminal) only, and, with the usb-pl2501
 * transport, for the usbdevfs requests ('U') that libusb makes. That
 * transport also needs threads (libusb's event and hot-plug threads, our
 * worker), eventfd/timerfd/pipes, and a NETLINK_KOBJECT_UEVENT socket for
 * hot-plug, made again whenever the cable is reopened: that one stays.
 * airlock-ocspd's HTTP threads are made before the filter and make none
 * after it, but a thread may first run after it: what glibc and
 * libmicrohttpd do first in a thread (set_robust_list, rseq, naming it
 * with prctl PR_SET_NAME) is allowed there.
 * Under umockdev (tests only: UMOCKDEV_DIR set), whose preload library
 * talks to the emulated devices over AF_UNIX sockets, AF_UNIX stays too.
 *
 * Roles: the daemons (linkd, signer, client) and the one-shot programs
 * (ctl, timesync, client-cmd), which get no Landlock rules.
 *
 * Sanitizer builds skip the filter: ASan and LeakSanitizer need ptrace,
 * clone and /proc at exit. "sandbox = false" in the configuration turns it
 * off for debugging (docs/hardening.md).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SANDBOX_SANITIZER	1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER	0
#endif

/* what a role may do beyond the common list */
enum {
	SB_CABLE	= 1 << 0,	/* the serial line: termios ioctls, flock */
	SB_RENAME	= 1 << 1,	/* replace files: status, health, spool */
	SB_MKDIR	= 1 << 2,	/* the spool directories */
	SB_USB		= 1 << 3,	/* libusb: threads, usbdevfs, netlink */
	SB_NTP		= 1 << 4,	/* read the kernel's NTP status (adjtimex) */
	SB_MOCK		= 1 << 5,	/* tests: umockdev's preload needs AF_UNIX */
	SB_TERM		= 1 << 6,	/* a terminal: termios ioctls (prompts, top) */
	SB_CLOCK	= 1 << 7,	/* set the clock (airlock-timesync, as root) */
	SB_TOOL		= 1 << 8,	/* one-shot program: no Landlock, quiet */
	SB_USBOK	= 1 << 9,	/* may open the usb-pl2501 transport */
	SB_HTTP		= 1 << 10,	/* accept on a listening socket made before */
};

static const struct {
	const char	*name;
	unsigned	 groups;
} sandbox_roles[] = {
	{ "linkd",	SB_CABLE | SB_RENAME | SB_USBOK },
	{ "signer",	SB_RENAME },	/* its health file */
	{ "client",	SB_CABLE | SB_RENAME | SB_MKDIR | SB_NTP | SB_USBOK },
	/* the one-shot programs: airlockctl, airlock-timesync, airlock-client's
	 * commands other than run (its "usb" lists the devices with libusb) */
	{ "ctl",	SB_TERM | SB_RENAME | SB_MKDIR | SB_TOOL | SB_USBOK },
	{ "timesync",	SB_TERM | SB_CLOCK | SB_NTP | SB_RENAME | SB_TOOL },
	{ "client-cmd",	SB_TERM | SB_RENAME | SB_MKDIR | SB_NTP | SB_TOOL | SB_USBOK },
	{ "ocspd",	SB_RENAME | SB_HTTP },	/* its status file; HTTP */
};

/* Every role: files and SQLite, memory, time, signals, exit, syslog. */
static const int sandbox_common[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64), SCMP_SYS(preadv),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(pwritev),
	SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(openat), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(fcntl), SCMP_SYS(fsync),
	SCMP_SYS(syncfs),
	SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(readlinkat), SCMP_SYS(getcwd), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(fchmod), SCMP_SYS(fchown),
	SCMP_SYS(getdents64), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(mlock), SCMP_SYS(munlock),
	SCMP_SYS(msync), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getrandom),
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(sysinfo),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(shutdown),
	SCMP_SYS(getsockopt), SCMP_SYS(statfs), SCMP_SYS(fstatfs),
	SCMP_SYS(fadvise64),	/* a hint: an import's files read ahead */
};

static const int sandbox_cable[] = { SCMP_SYS(flock) };
static const int sandbox_rename[] = {
	SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
};
static const int sandbox_mkdir[] = { SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir) };
/* a TIME sample says whether webdb's clock is synchronised: adjtimex(2)
 * with modes 0 only reads; setting the clock needs CAP_SYS_TIME */
static const int sandbox_ntp[] = { SCMP_SYS(adjtimex), SCMP_SYS(clock_adjtime) };
/* airlock-timesync steps the clock (it keeps CAP_SYS_TIME: it runs as root) */
static const int sandbox_clock[] = {
	SCMP_SYS(clock_settime), SCMP_SYS(settimeofday), SCMP_SYS(adjtimex),
	SCMP_SYS(clock_adjtime),
};
static const int sandbox_usb[] = {
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(bind),
	SCMP_SYS(getsockname), SCMP_SYS(setsockopt), SCMP_SYS(uname),
};

/* airlock-ocspd: connections on the socket bound before the filter */
static const int sandbox_http[] = {
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(select),
	SCMP_SYS(pselect6),
	/* what glibc does first in a thread: libmicrohttpd's threads are
	 * made before the filter but may first run after it */
	SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
};

/* termios requests of the serial line (glibc's tc*(3) and isatty(3)) */
static const unsigned long sandbox_tty_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TCFLSH, TCSBRK, TCXONC, TIOCEXCL,
	TIOCNXCL, TIOCMGET, TIOCMSET, TIOCMBIS, TIOCMBIC, TIOCOUTQ, FIONREAD,
	TIOCGWINSZ,
};

static char sandbox_role_name[16];

static int
sandbox_list(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr[i], 0) < 0)
			return -1;
	return 0;
}

#define SANDBOX_LIST(ctx, a)	sandbox_list(ctx, a, sizeof(a) / sizeof(a[0]))

static int
sandbox_ioctls(scmp_filter_ctx ctx, unsigned groups)
{
	size_t i;

	/* the kernel takes the request as 32 bits: compare only those */
	for (i = 0; i < sizeof(sandbox_tty_ioctls) / sizeof(sandbox_tty_ioctls[0]); i++)
		if ((groups & (SB_CABLE | SB_TERM)) && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    sandbox_tty_ioctls[i])) < 0)
			return -1;
	if (!(groups & (SB_CABLE | SB_TERM)) && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
	    SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TCGETS)) < 0)
		return -1;	/* isatty(3) */
	if ((groups & SB_USB) && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
	    SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00u, 'U' << 8)) < 0)
		return -1;	/* usbdevfs */
	return 0;
}

/*
 * The SCMP_A* comparisons name both datums (the second is unused by EQ,
 * NE and GE): libseccomp's macros fill a struct, and clang warns of a
 * missing field initializer otherwise.
 */

/*
 * Sockets: the log socket (syslog's AF_UNIX datagram socket to /dev/log)
 * is connected before the filter (openlog(LOG_NDELAY)), so afterwards no
 * socket is made or connected: socket(2), socketpair(2) and connect(2)
 * fail with EACCES, and so do sendto(2) to an address and sendmsg(2); send(2)
 * on the connected log socket stays. libusb's hot-plug socket (AF_NETLINK,
 * NETLINK_KOBJECT_UEVENT, bound, never connected) is made when the cable
 * is opened again, so it stays for usb-pl2501. Under umockdev (tests only)
 * the preload library reaches the emulated devices over an AF_UNIX socket
 * it connects when a device node is opened: AF_UNIX stays for it.
 */
static int
sandbox_sockets(scmp_filter_ctx ctx, unsigned groups)
{
	uint32_t unix_act = (groups & SB_MOCK) ? SCMP_ACT_ALLOW : SCMP_ACT_ERRNO(EACCES);
	/* airlock-ocspd answers on accepted TCP connections with sendmsg(2)
	 * (libmicrohttpd: headers and body in one call); it makes no socket */
	uint32_t msg_act = (groups & SB_HTTP) ? SCMP_ACT_ALLOW : unix_act;
	int fam;

	if (seccomp_rule_add(ctx, unix_act, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) < 0 ||
	    seccomp_rule_add(ctx, unix_act, SCMP_SYS(socketpair), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) < 0 ||
	    seccomp_rule_add(ctx, unix_act, SCMP_SYS(connect), 0) < 0 ||
	    seccomp_rule_add(ctx, msg_act, SCMP_SYS(sendmsg), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socketpair), 1,
	    SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
	    SCMP_A4(SCMP_CMP_EQ, 0, 0)) < 0 ||
	    seccomp_rule_add(ctx, unix_act, SCMP_SYS(sendto), 1,
	    SCMP_A4(SCMP_CMP_NE, 0, 0)) < 0)
		return -1;
	if (!(groups & SB_USB))
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0)) < 0 ? -1 : 0;
	/* hot-plug events only: not NETLINK_ROUTE and the like */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
	    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
	    SCMP_A2(SCMP_CMP_EQ, NETLINK_KOBJECT_UEVENT, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 2,
	    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK, 0),
	    SCMP_A2(SCMP_CMP_NE, NETLINK_KOBJECT_UEVENT, 0)) < 0)
		return -1;
	/* every other family by number: "not AF_UNIX and not AF_NETLINK" is
	 * two conditions on one argument, which a single rule cannot hold */
	for (fam = 0; fam < AF_MAX; fam++)
		if (fam != AF_UNIX && fam != AF_NETLINK &&
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam, 0)) < 0)
			return -1;
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_GE, AF_MAX, 0)) < 0 ? -1 : 0;
}

/* Memory: never executable after start-up (no code is loaded later). */
static int
sandbox_memory(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)) < 0)
		return -1;
	return 0;
}

/* No exec, no fork; new threads only for libusb; signals only to ourselves. */
static int
sandbox_processes(scmp_filter_ctx ctx, unsigned groups)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fork), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(vfork), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0)) < 0)
		return -1;
	if ((groups & SB_USB) && seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
	    SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
	    CLONE_THREAD)) < 0)
		return -1;
	/* libusb's threads and libmicrohttpd's (started before the filter, but
	 * they may run for the first time after it) name themselves; no other
	 * prctl(2) */
	if ((groups & (SB_USB | SB_HTTP)) && (seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
	    SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME, 0)) < 0))
		return -1;
	return 0;
}

static size_t
sandbox_cat(char *out, size_t off, size_t sz, const char *s)
{
	while (*s != '\0' && off + 1 < sz)
		out[off++] = *s++;
	out[off] = '\0';
	return off;
}

/* SIGSYS from SECCOMP_RET_TRAP: one line (async-signal-safe), then die by it. */
static void
sandbox_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[160], num[16];
	int nr = si->si_syscall, i = (int)sizeof(num) - 1;
	size_t n;

	(void)uc;
	num[i] = '\0';
	do {
		num[--i] = (char)('0' + (nr < 0 ? -(nr % 10) : nr % 10));
		nr /= 10;
	} while (nr != 0 && i > 0);
	n = sandbox_cat(msg, 0, sizeof(msg), "airlock sandbox (");
	n = sandbox_cat(msg, n, sizeof(msg), sandbox_role_name);
	n = sandbox_cat(msg, n, sizeof(msg), "): system call ");
	n = sandbox_cat(msg, n, sizeof(msg), num + i);
	n = sandbox_cat(msg, n, sizeof(msg), " is not allowed; stopping\n");
	/* the raw call: a preloaded library may wrap write(2) */
	(void)!syscall(SYS_write, STDERR_FILENO, msg, n);
	signal(sig, SIG_DFL);
	raise(sig);	/* blocked while we are here: delivered on return */
}

static int
sandbox_trap_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL);
}

static int
sandbox_build(scmp_filter_ctx ctx, unsigned groups)
{
	if (SANDBOX_LIST(ctx, sandbox_common) == -1 ||
	    ((groups & SB_CABLE) && SANDBOX_LIST(ctx, sandbox_cable) == -1) ||
	    ((groups & SB_RENAME) && SANDBOX_LIST(ctx, sandbox_rename) == -1) ||
	    ((groups & SB_MKDIR) && SANDBOX_LIST(ctx, sandbox_mkdir) == -1) ||
	    ((groups & SB_NTP) && SANDBOX_LIST(ctx, sandbox_ntp) == -1) ||
	    ((groups & SB_CLOCK) && SANDBOX_LIST(ctx, sandbox_clock) == -1) ||
	    ((groups & SB_USB) && SANDBOX_LIST(ctx, sandbox_usb) == -1) ||
	    ((groups & SB_HTTP) && SANDBOX_LIST(ctx, sandbox_http) == -1) ||
	    sandbox_ioctls(ctx, groups) == -1 || sandbox_sockets(ctx, groups) == -1 ||
	    sandbox_memory(ctx) == -1 ||
	    sandbox_processes(ctx, groups) == -1)
		return -1;
	/* every thread, including any a library started before us */
	return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0 ? -1 : 0;
}

static int
sandbox_groups(const char *role, const struct cfg *c, unsigned *groups)
{
	size_t i;

	for (i = 0; i < sizeof(sandbox_roles) / sizeof(sandbox_roles[0]); i++)
		if (strcmp(sandbox_roles[i].name, role) == 0) {
			*groups = sandbox_roles[i].groups;
			if ((*groups & SB_USBOK) &&
			    strcmp(c->link.transport, "usb-pl2501") == 0)
				*groups |= SB_USB;
			/* the tools' "usb" lists USB devices whatever the transport */
			if ((*groups & SB_USBOK) && (*groups & SB_TOOL))
				*groups |= SB_USB;
			if ((*groups & SB_USB) && getenv("UMOCKDEV_DIR") != NULL)
				*groups |= SB_MOCK;
			return 0;
		}
	return -1;
}

int
sandbox_available(void)
{
	return !SANDBOX_SANITIZER;
}

void
sandbox_enter(const char *role, const struct cfg *c)
{
	scmp_filter_ctx ctx;
	unsigned groups;
	int rc, landlock;

	if (sandbox_groups(role, c, &groups) == -1)
		fatalx("sandbox: unknown role %s", role);
	/* the client does not go through proc_drop(): no core with the link key */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
	if (!c->sandbox) {
		if (groups & SB_TOOL)
			log_debug("sandbox: off (\"sandbox = false\" in %s)", c->path);
		else
			log_warnx("sandbox: off (\"sandbox = false\" in %s)", c->path);
		return;
	}
	/* Landlock and seccomp both need it; proc_drop() set it in the daemons */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	/* paths, where seccomp cannot look; also in sanitizer builds */
	landlock = (groups & SB_TOOL) ? 0 : sandbox_fs_enter(role, c);
	if (!sandbox_available()) {
		if (!(groups & SB_TOOL))
			log_info("sandbox: not installed in a sanitizer build");
		return;
	}
	snprintf(sandbox_role_name, sizeof(sandbox_role_name), "%s", role);
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		fatalx("sandbox: seccomp_init failed");
	if (sandbox_build(ctx, groups) == -1 || sandbox_trap_handler() == -1) {
		seccomp_release(ctx);
		fatalx("sandbox: cannot build the %s allow-list", role);
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		fatal("sandbox: cannot install the %s allow-list", role);
	}
	if (groups & SB_TOOL)
		log_debug("sandbox: %s allow-list installed", role);
	else
		log_info("sandbox: %s allow-list installed%s%s", role,
		    (groups & SB_USB) ? " (with libusb)" : "",
		    landlock ? ", writes confined by Landlock" : "");
}
