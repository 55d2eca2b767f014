/*
 * proc.c: process set-up shared by the daemons.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "airlock.h"
#include "proc.h"
#include "util.h"

volatile sig_atomic_t proc_quit;

int
proc_options(int argc, char **argv, struct proc_opts *o, const char *usage)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "check", no_argument, NULL, 'n' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->config = PROC_SIGNER_CONFIG;
	while ((ch = getopt_long(argc, argv, "+c:dvhn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o->check = 1;
			break;
		case 'V':
			printf("%s %s\n", program_invocation_short_name,
			    AIRLOCK_VERSION);
			exit(0);
		case 'c':
			o->config = optarg;
			o->config_given = 1;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
	return optind;
}

/* Before any key is read: no core file, no ptrace by the same user. Under
 * systemd, setrlimit(2) may be filtered (@resources): LimitCORE=0 does it. */
void
proc_nocore(void)
{
	struct rlimit rl = { 0, 0 };

	if (getrlimit(RLIMIT_CORE, &rl) == -1 || rl.rlim_max != 0) {
		rl.rlim_cur = rl.rlim_max = 0;
		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			fatal("cannot disable core dumps");
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
}

static void proc_config_test(const struct proc_opts *, const struct cfg *,
    const char *);

void
proc_config(const struct proc_opts *o, struct cfg *c, const char *ident)
{
	char why[1024];

	proc_nocore();

	log_init(ident, o->foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG | LOG_TO_STDERR,
	    o->verbose);
	if (config_load(o->config, c, why, sizeof(why)) == -1)
		fatalx("%s", why);
	if (c->verbose > o->verbose)
		log_init(ident, o->foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG | LOG_TO_STDERR,
		    c->verbose);
	if (o->check)
		proc_config_test(o, c, ident);
}

static void
proc_print_line(void *arg, const char *line)
{
	int *n = arg;

	fprintf(stderr, "%s: warning: %s\n", program_invocation_short_name, line);
	(*n)++;
}

/* -n: the configuration is read and checked; nothing else happens. */
static void
proc_config_test(const struct proc_opts *o, const struct cfg *c, const char *ident)
{
	int n = 0;

	config_warnings(c, proc_print_line, &n);
	printf("%s: configuration %s is valid (%d warning%s)\n", ident,
	    o->config, n, n == 1 ? "" : "s");
	exit(0);
}

static void
proc_on_signal(int sig)
{
	(void)sig;
	proc_quit = 1;
}

void
proc_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = proc_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/*
 * The fixed order (docs/hardening.md): groups, gid, uid, a check that root
 * cannot be had back, no-new-privileges, not dumpable; the caller then
 * installs its seccomp filter (sandbox_enter). The groups are the user's
 * primary group and its memberships in /etc/group, as systemd's User=
 * gives them: "airlock" for the FIFOs, "dialout" for airlock-linkd's cable.
 */
void
proc_drop(const char *user)
{
	struct passwd *pw;

	if (user != NULL && user[0] != '\0' && geteuid() == 0) {
		if ((pw = getpwnam(user)) == NULL)
			fatalx("unknown user %s", user);
		if (pw->pw_uid == 0)
			fatalx("user %s is root: nothing would be dropped", user);
		if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			fatal("cannot switch to user %s", user);
		if (setresuid(0, 0, 0) != -1)
			fatalx("user %s could become root again", user);
		log_info("running as user %s", user);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE)");
}

/*
 * A one-shot command run as root that writes a daemon's state: it becomes
 * the owner of that state (path: the daemon's state folder), so that no
 * file it makes is root's and shuts the daemon out (issue 16, item 4).
 * Nothing changes when path is root's or missing.
 */
void
proc_as_owner(const char *path)
{
	struct passwd *pw;
	struct stat st;

	if (geteuid() != 0 || stat(path, &st) == -1 || st.st_uid == 0)
		return;
	if ((pw = getpwuid(st.st_uid)) == NULL)
		fatalx("%s: its owner (uid %u) is not a known user", path,
		    (unsigned)st.st_uid);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot switch to %s, the owner of %s", pw->pw_name, path);
}

/*
 * Started as root with a user named, the lock file is given to that user
 * (and a root-owned one left by an older start is taken back), so that a
 * later start as that user, as the unit does it, can open it.
 */
static void
proc_lock_owner(int fd, const char *path, const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0 || user == NULL || user[0] == '\0')
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (fchown(fd, pw->pw_uid, pw->pw_gid) == -1 || fchmod(fd, 0660) == -1)
		fatal("%s: cannot give it to %s", path, user);
}

void
proc_lock(const char *run_dir, const char *name, const char *user, const char *taken)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.lock", run_dir, name);
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0660)) == -1)
		fatal("%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("%s: %s (run_dir %s)", path, taken, run_dir);
		fatal("%s: flock", path);
	}
	proc_lock_owner(fd, path, user);	/* fd stays open: the lock lasts */
}
