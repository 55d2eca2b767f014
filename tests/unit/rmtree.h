/*
 * rmtree.h: removes a test's temporary directory tree (made with mkdtemp
 * in its setup), for the cmocka suites that write real files.
 */
#ifndef RMTREE_H
#define RMTREE_H

#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>

static int
rmtree_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* 0, or -1 when something in the tree could not be removed. */
static int
rmtree(const char *path)
{
	return nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
