/*
 * sandbox.h: the seccomp allow-list and the Landlock rules of each airlock
 * program. Called once, right after proc_drop(), once the keys and the
 * configuration are loaded and the log socket is connected (files can
 * still be opened: the filter is about system calls, Landlock about where
 * to write, the user's permissions about what to read). Afterwards the
 * process cannot make or connect a socket (EACCES; a NETLINK_KOBJECT_UEVENT
 * socket is allowed for the usb-pl2501 transport, whose libusb watches for
 * hot-plug events), cannot map memory executable (EACCES), cannot exec or
 * fork (EPERM), creates, writes, removes and renames files only in its
 * own folders (EACCES, with Landlock), and dies by SIGSYS, after one line
 * on stderr naming the system call, on any system call that is not on its
 * role's list (docs/hardening.md).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include "config.h"

/* sandbox.c */
/* role: "linkd", "signer", "client" or "ocspd" (the daemons), "ctl", "timesync" or
 * "client-cmd" (the one-shot programs). Does nothing but log when the
 * configuration says "sandbox = false" or in a sanitizer build; fatal if
 * the filter cannot be installed. */
void	 sandbox_enter(const char *role, const struct cfg *);
/* 1 if this build can install the filter (not a sanitizer build). */
int	 sandbox_available(void);

/* sandbox_fs.c */
/* Landlock: the role may create, write, remove and rename files only in
 * its own folders (docs/hardening.md). 1 if installed, 0 if the kernel
 * cannot (logged); fatal on error. Needs no-new-privileges. */
int	 sandbox_fs_enter(const char *role, const struct cfg *);
/* Landlock's ABI version, or -1 (errno) when the kernel has none. */
int	 sandbox_fs_abi(void);

#endif
