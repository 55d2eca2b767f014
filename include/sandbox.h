/*
 * sandbox.h: the seccomp allow-list of each airlock daemon. Called once,
 * right after proc_drop(), once the keys and the configuration are loaded
 * (files can still be opened: the filter is about system calls, the
 * user's permissions are about files). Afterwards the process cannot
 * make a network socket (socket() of any family but AF_UNIX fails with
 * EACCES; a NETLINK_KOBJECT_UEVENT socket is allowed as well for the
 * usb-pl2501 transport, whose libusb watches for hot-plug events), cannot
 * exec or fork (EPERM), and dies by SIGSYS, after one line on stderr naming
 * the system call, on any system call that is not on its role's list
 * (docs/hardening.md).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include "config.h"

/* sandbox.c */
/* role: "linkd", "signer", "client" or "ocspd". Does nothing but log when the
 * configuration says "sandbox = false" or in a sanitizer build; fatal if
 * the filter cannot be installed. */
void	 sandbox_enter(const char *role, const struct cfg *);
/* 1 if this build can install the filter (not a sanitizer build). */
int	 sandbox_available(void);

#endif
