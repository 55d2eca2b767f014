/*
 * probe.c: privsep-probe, for tests/integration/t_privsep.sh. Becomes one
 * airlock daemon as far as privileges go -- the same proc_config(),
 * proc_drop() and sandbox_enter() calls, in the same order, with the same
 * configuration -- and then tries what that daemon must not be able to do,
 * printing one line per attempt: "WHAT ARG: ok" or "WHAT ARG: ERRNONAME".
 *
 *   privsep-probe -c CONFIG ROLE CHECK...
 *   ROLE   linkd | signer | client
 *   CHECK  id                   uid, gid, groups, NoNewPrivs, Seccomp, dumpable
 *          read:PATH  write:PATH   open(2) for reading / read-write
 *          socket:FAMILY        inet inet6 unix netlink packet
 *          exec:PATH            execve(2) with no arguments
 *          fork                 fork(2)
 *          create:PATH          open(2) with O_CREAT|O_EXCL (removed again)
 *          unlink:PATH          unlink(2)
 *          connect:PATH         connect(2) an AF_UNIX datagram socket, made
 *                               before the drop like the log socket, to PATH
 *          mmap-exec            an anonymous PROT_READ|PROT_EXEC mapping
 *          mprotect-exec        a read-write mapping made executable
 *          forbidden            ptrace(PTRACE_TRACEME): not on any list, so
 *                               the process dies by SIGSYS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "sandbox.h"
#include "util.h"

static const char usage[] =
	"usage: privsep-probe -c config linkd|signer|client check...\n";

static void
probe_result(const char *what, int rv)
{
	printf("%s: %s\n", what, rv == -1 ? strerrorname_np(errno) : "ok");
	fflush(stdout);
}

/* Groups from /proc: getgroups(2) is not on any role's list. */
static void
probe_id(void)
{
	struct stat sb;
	char line[256];
	FILE *f;

	/* a process that is not dumpable has its /proc entries owned by root
	 * (prctl(2) is not on the lists either) */
	printf("id: uid=%d euid=%d gid=%d dumpable=%d\n", (int)getuid(),
	    (int)geteuid(), (int)getgid(), stat("/proc/self/environ", &sb) == 0 &&
	    sb.st_uid == geteuid());
	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "NoNewPrivs:", 11) == 0 ||
		    strncmp(line, "Seccomp:", 8) == 0 ||
		    strncmp(line, "Groups:", 7) == 0)
			printf("id: %s", line);
	fclose(f);
	fflush(stdout);
}

static int
probe_family(const char *name)
{
	if (strcmp(name, "inet") == 0)
		return AF_INET;
	if (strcmp(name, "inet6") == 0)
		return AF_INET6;
	if (strcmp(name, "unix") == 0)
		return AF_UNIX;
	if (strcmp(name, "netlink") == 0)
		return AF_NETLINK;
	if (strcmp(name, "packet") == 0)
		return AF_PACKET;
	fatalx("unknown family %s", name);
}

static void
probe_socket(const char *check, const char *family)
{
	int fd = socket(probe_family(family), SOCK_DGRAM | SOCK_CLOEXEC, 0);

	probe_result(check, fd);
	if (fd != -1)
		close(fd);
}

static void
probe_open(const char *check, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	probe_result(check, fd);
	if (fd != -1)
		close(fd);
}

/* made before the drop and the filter, as the log socket is */
static int probe_sock = -1;

static void
probe_connect(const char *check, const char *path)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	probe_result(check, connect(probe_sock, (struct sockaddr *)&sun, sizeof(sun)));
}

static void
probe_create(const char *check, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	probe_result(check, fd);
	if (fd != -1) {
		close(fd);
		unlink(path);
	}
}

static void
probe_exec_memory(const char *check, int by_mprotect)
{
	void *p;
	int rv;

	p = mmap(NULL, 4096, by_mprotect ? PROT_READ | PROT_WRITE :
	    PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		probe_result(check, -1);
		return;
	}
	rv = by_mprotect ? mprotect(p, 4096, PROT_READ | PROT_EXEC) : 0;
	probe_result(check, rv);
	munmap(p, 4096);
}

static void
probe_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	probe_result("fork", pid == -1 ? -1 : 0);
}

static void
probe_one(const char *check)
{
	char *const argv[] = { (char *)(uintptr_t)"probe-exec", NULL };

	if (strcmp(check, "id") == 0)
		probe_id();
	else if (strncmp(check, "read:", 5) == 0)
		probe_open(check, check + 5, O_RDONLY);
	else if (strncmp(check, "write:", 6) == 0)
		probe_open(check, check + 6, O_RDWR);
	else if (strncmp(check, "socket:", 7) == 0)
		probe_socket(check, check + 7);
	else if (strncmp(check, "exec:", 5) == 0)
		probe_result(check, execv(check + 5, argv));
	else if (strcmp(check, "fork") == 0)
		probe_fork();
	else if (strncmp(check, "create:", 7) == 0)
		probe_create(check, check + 7);
	else if (strncmp(check, "unlink:", 7) == 0)
		probe_result(check, unlink(check + 7));
	else if (strncmp(check, "connect:", 8) == 0)
		probe_connect(check, check + 8);
	else if (strcmp(check, "mmap-exec") == 0)
		probe_exec_memory(check, 0);
	else if (strcmp(check, "mprotect-exec") == 0)
		probe_exec_memory(check, 1);
	else if (strcmp(check, "forbidden") == 0)
		probe_result(check, (int)ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	else
		fatalx("unknown check %s", check);
}

int
main(int argc, char **argv)
{
	static struct cfg c;
	struct proc_opts o;
	const char *role;
	int i, abi;

	i = proc_options(argc, argv, &o, usage);
	if (argc - i < 1) {
		fputs(usage, stderr);
		return 2;
	}
	o.foreground = 1;
	role = argv[i++];
	proc_config(&o, &c, "privsep-probe");
	if ((probe_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (strcmp(role, "linkd") == 0)
		proc_drop(c.link_user);
	else if (strcmp(role, "signer") == 0)
		proc_drop(c.signer_user);
	abi = sandbox_fs_abi();	/* landlock_create_ruleset is on no list */
	sandbox_enter(role, &c);
	printf("sandbox: %s\n", c.sandbox && sandbox_available() ? "on" : "off");
	printf("landlock: %s\n", c.sandbox && abi >= 2 ? "on" : "off");
	for (; i < argc; i++)
		probe_one(argv[i]);
	return 0;
}
