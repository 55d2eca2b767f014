/*
 * sandbox_fs.c: where a daemon may write, with Landlock (Linux 5.13+,
 * through its raw system calls: glibc has no wrappers). seccomp sees only
 * numbers and cannot check a path, so this is the half of the sandbox that
 * confines file creation, writing, removal and renaming to the daemon's
 * own directories:
 *   linkd   state_dir, the queue database's and the status file's folders,
 *           run_dir (FIFOs, lock, health file); write-only opens under /dev
 *           (the cable, whatever pty or tty it resolves to)
 *   signer  state_dir, the CA database's folder, run_dir
 *   client  state_dir, the outbox's, spool's, CRL's and status file's
 *           folders, run_dir; write-only opens under /dev
 *   ocspd   ocsp.cache_dir; with ocsp.renew, regular files in spool/in
 *           (its renewal requests: made, written, renamed within)
 * Reads are not confined here (the users' permissions do that, and the
 * USB emulation of the tests reads a redirected /sys and /dev); execution
 * is refused everywhere. In its own folders a daemon may write files, make
 * regular files and folders, remove files and rename them between its
 * folders; it may not make links, FIFOs, sockets or device nodes (its FIFOs
 * exist before it is sandboxed), except that the client may move such
 * things, left in its spool by the web application, into rejected/.
 *
 * Landlock ABI 2 (Linux 5.19) is needed: version 1 refuses every rename
 * between two folders, which the spool does. An older kernel, or one built
 * without Landlock, gets one log line and the seccomp list only. A refusal
 * shows as EACCES (EXDEV for a rename out of the allowed folders) from the
 * open, mkdir, unlink or rename that was refused.
 *
 * Tests only: with the usb-pl2501 transport and UMOCKDEV_DIR in the
 * environment (umockdev's preload library redirects /dev and /sys there),
 * that folder gets the same write-only rule as /dev.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "sandbox.h"
#include "util.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset	444
#define SYS_landlock_add_rule		445
#define SYS_landlock_restrict_self	446
#endif

/* everything Landlock ABI 2 can refuse, except reading */
#define FS_HANDLED	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)
/* a daemon's own folders: files and folders, no links, FIFOs or nodes */
#define FS_OWN		(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_REFER)
/* the spool: also rename whatever the web application left there (a link,
 * a FIFO, a device node, a folder) into rejected/; making those needs
 * system calls that are on no seccomp list (symlink, mknod, link) */
#define FS_SPOOL	(FS_OWN | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_MAKE_FIFO | \
	LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_BLOCK | \
	LANDLOCK_ACCESS_FS_MAKE_SOCK)
/* airlock-ocspd's requests in spool/in: a file written under a temporary
 * name and renamed within the folder (to Landlock a removal and a making) */
#define FS_SPOOL_IN	(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE)
/* tests: umockdev's preload library binds its hot-plug socket there */
#define FS_MOCK		(LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE)
/* the cable: open an existing device for writing, nothing else */
#define FS_DEVICE	LANDLOCK_ACCESS_FS_WRITE_FILE

#define SANDBOX_FS_ABI	2	/* LANDLOCK_ACCESS_FS_REFER */

/* Landlock's ABI version, or -1 with errno (ENOSYS, EOPNOTSUPP: not there) */
int
sandbox_fs_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
}

/* One rule: path and everything below it. A missing path is skipped. */
static int
sandbox_fs_rule(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr pb;
	int fd, rc;

	if (path[0] == '\0')
		return 0;
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			log_info("sandbox: %s does not exist: no write rule for it", path);
			return 0;
		}
		log_warn("sandbox: %s", path);
		return -1;
	}
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0);
	if (rc == -1)
		log_warn("sandbox: landlock rule for %s", path);
	close(fd);
	return rc == -1 ? -1 : 0;
}

/* The folder a file is in (the file itself may not exist yet). */
static int
sandbox_fs_dir_of(int ruleset, const char *file)
{
	char tmp[CFG_PATH];

	if (file[0] == '\0')
		return 0;
	snprintf(tmp, sizeof(tmp), "%s", file);
	return sandbox_fs_rule(ruleset, dirname(tmp), FS_OWN);
}

static int
sandbox_fs_cable(int ruleset, const struct cfg *c)
{
	const char *mock = getenv("UMOCKDEV_DIR");

	if (sandbox_fs_rule(ruleset, "/dev", FS_DEVICE) == -1)
		return -1;
	if (strcmp(c->link.transport, "usb-pl2501") == 0 && mock != NULL &&
	    mock[0] == '/') {
		log_info("sandbox: UMOCKDEV_DIR is set (an emulated USB cable): "
		    "devices may be opened for writing below %s", mock);
		return sandbox_fs_rule(ruleset, mock, FS_MOCK);
	}
	return 0;
}

static int
sandbox_fs_rules(int ruleset, const char *role, const struct cfg *c)
{
	char in[CFG_PATH + 8];

	if (strcmp(role, "ocspd") == 0) {	/* its cache, not webdb's state */
		snprintf(in, sizeof(in), "%s/in", c->spool_dir);
		return sandbox_fs_rule(ruleset, c->ocsp.cache_dir, FS_OWN) == -1 ||
		    (c->ocsp.renew && sandbox_fs_rule(ruleset, in, FS_SPOOL_IN) == -1) ?
		    -1 : 0;
	}
	if (sandbox_fs_rule(ruleset, c->state_dir, FS_OWN) == -1 ||
	    sandbox_fs_rule(ruleset, c->run_dir, FS_OWN) == -1)
		return -1;
	if (strcmp(role, "linkd") == 0)
		return sandbox_fs_dir_of(ruleset, c->queue_db) == -1 ||
		    sandbox_fs_dir_of(ruleset, c->link.status_file) == -1 ||
		    sandbox_fs_cable(ruleset, c) == -1 ? -1 : 0;
	if (strcmp(role, "signer") == 0)
		return sandbox_fs_dir_of(ruleset, c->ca_db);
	if (strcmp(role, "client") == 0)
		return sandbox_fs_dir_of(ruleset, c->outbox_db) == -1 ||
		    sandbox_fs_dir_of(ruleset, c->audit_db) == -1 ||
		    sandbox_fs_dir_of(ruleset, c->link.status_file) == -1 ||
		    sandbox_fs_rule(ruleset, c->spool_dir, FS_SPOOL) == -1 ||
		    sandbox_fs_rule(ruleset, c->crl_dir, FS_OWN) == -1 ||
		    sandbox_fs_cable(ruleset, c) == -1 ? -1 : 0;
	return -1;
}

/* A sanitizer build writes its reports where scripts/run-tests.sh says
 * (AL_SANITIZER_DIR); without this rule Landlock refuses the report and
 * a daemon's finding is lost (seen: a UBSan report of signerd). Never in a
 * normal build, whatever the environment says. */
static int
sandbox_fs_sanitizer(int ruleset)
{
	const char *d = getenv("AL_SANITIZER_DIR");

	if (sandbox_available() || d == NULL || d[0] != '/')
		return 0;
	return sandbox_fs_rule(ruleset, d, FS_OWN);
}

int
sandbox_fs_enter(const char *role, const struct cfg *c)
{
	struct landlock_ruleset_attr attr;
	int abi, ruleset;

	if ((abi = sandbox_fs_abi()) < SANDBOX_FS_ABI) {
		if (abi == -1)
			log_warnx("sandbox: no Landlock in this kernel (%s): "
			    "file writes are limited by the user's permissions only",
			    strerror(errno));
		else
			log_warnx("sandbox: Landlock ABI %d, 2 needed (Linux 5.19): "
			    "file writes are limited by the user's permissions only", abi);
		return 0;
	}
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = FS_HANDLED;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset == -1)
		fatal("sandbox: landlock_create_ruleset");
	if (sandbox_fs_rules(ruleset, role, c) == -1)
		fatalx("sandbox: cannot build the %s Landlock rules", role);
	if (sandbox_fs_sanitizer(ruleset) == -1)
		fatalx("sandbox: cannot allow the sanitizer's report folder");
	/* needs no-new-privileges, which proc_drop() or sandbox_enter() set */
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) == -1)
		fatal("sandbox: landlock_restrict_self");
	close(ruleset);
	return 1;
}
