/*
 * caindex.h: OpenSSL's `openssl ca` database (index.txt) on one side and
 * ca.db on the other: airlockctl import-openssl-ca and export-index.
 * The line codec is pure and tested without files; the import and export
 * drivers go through ca.h for certificates and store.h for ca.db.
 */
#ifndef CAINDEX_H
#define CAINDEX_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"
#include "util.h"

struct ca;

/* One line of index.txt: six tab-separated fields. */
struct caindex_entry {
	char		 status;		/* 'V' valid, 'R' revoked, 'E' expired */
	char		 expiry[24];		/* notAfter as written (UTCTime or GeneralizedTime) */
	int64_t		 revoked;		/* revocation time; 0 none */
	int		 reason;		/* CRLReason; -1 none */
	int64_t		 invalidity;		/* keyTime / CAkeyTime date; 0 none */
	uint8_t		 serial[20];		/* unsigned big-endian, no leading zero */
	size_t		 serial_len;
	char		 serial_hex[41];	/* as written, upper case */
	char		 file[256];		/* usually "unknown" */
	char		 subject[512];		/* "/C=../CN=.." */
};

struct caindex_result {
	int64_t		 lines;			/* lines of index.txt */
	int64_t		 done;			/* lines committed, this run and before */
	int64_t		 added;			/* certificates added by this run */
	int64_t		 resumed_at;		/* 0: a new import */
	int		 finished;		/* every line is in ca.db */
	int		 already;		/* finished by an earlier run: nothing done */
};

/* caindex.c */
/* Parses one line (without its newline; the line is modified). 0 or -1. */
int	 caindex_parse(char *line, struct caindex_entry *, char *why, size_t whysz);
/* Appends the line for e, with its newline. */
int	 caindex_format(const struct caindex_entry *, struct buf *);
/* YYMMDDHHMMSSZ (years 1950-2049) or YYYYMMDDHHMMSSZ to Unix time. */
int	 caindex_time(const char *, int64_t *);
/* The reverse, UTCTime before 2050 as openssl ca writes it. */
void	 caindex_time_text(int64_t, char out[16]);
/* Imports DIR (index.txt, the certificates in newcerts/ or certs/, serial,
 * crlnumber) into root, at most limit lines this run (0: all). Progress
 * is committed with each chunk; a later call resumes. */
int	 caindex_import(struct db *, const struct ca *, const char *root,
	    const char *dir, int64_t limit,
	    void (*progress)(void *, int64_t done, int64_t total), void *arg,
	    struct caindex_result *, char *why, size_t whysz);
/* index.txt of root's certificates, in the order of issue or import,
 * written to fd as it goes (in pieces of 256 KiB). */
int	 caindex_export(struct db *, const char *root, time_t now, int fd,
	    char *why, size_t whysz);
/* An entry's certificate file, opened read-only (path: the file's name, or
 * on failure newcerts/SERIAL.pem); -1 with errno if there is none. */
int	 caindex_cert_open(const char *dir, const struct caindex_entry *,
	    char *path);

/* caindex_ahead.c: the certificate files of index.txt's lines from + 1 to
 * to asked of the kernel ahead of the import, at most window lines past
 * the line given to caindex_ahead_taken. NULL if its threads cannot start
 * (the import goes on without). _stop returns the files asked for. */
struct caindex_ahead;
struct caindex_ahead *caindex_ahead_start(const char *dir, int64_t from,
	    int64_t to, int64_t window);
void	 caindex_ahead_taken(struct caindex_ahead *, int64_t lineno);
uint64_t caindex_ahead_stop(struct caindex_ahead *);

#endif
