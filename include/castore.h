/*
 * castore.h: airlock-signerd's CA database, ca.db (certificates, stored
 * answers, time samples). Part of the CA engine (src/ca/): the link side
 * never includes it. Opened with db_open (store.h); functions return
 * 0 / -1 (errors are logged) unless noted.
 */
#ifndef CASTORE_H
#define CASTORE_H

#include <stdint.h>
#include <time.h>

#include "airlock.h"
#include "store.h"
#include "timesync.h"
#include "util.h"

/* castore.c: airlock-signerd's CA database */
struct castore_cert {
	const char	*root;
	const uint8_t	*serial;
	size_t		 serial_len;
	const uint8_t	*reqid;
	time_t		 not_before, not_after;
	const char	*subject;
	const uint8_t	*der;
	size_t		 der_len;
	int		 gen;		/* the CA key's generation; 0 or 1: the first */
};
/* DB_RW, DB_RO, DB_RW_EXISTING. An empty file is refused; opened to write,
 * a database that fails SQLite's quick_check is refused too. */
int	 castore_open(const char *path, int mode, struct db **);
/* quick_check of an open ca.db: 0, or -1 with a log line saying so */
int	 castore_check(struct db *, const char *path);
/* castore_check for the console's status: 1 sound, -1 damaged, 0 not
 * checked because the file (*size bytes) is larger than CASTORE_CHECK_MAX
 * (the check reads all of it; airlock-signerd makes it at every start and
 * airlockctl audit verify on demand). */
#define CASTORE_CHECK_MAX	(64LL << 20)
int	 castore_check_bounded(struct db *, const char *path, int64_t *size);
/* 1 and the stored answer bytes if this request id was answered, 0 if not */
int	 castore_answer(struct db *, const uint8_t *reqid, struct buf *answer);
int	 castore_serial_used(struct db *, const char *root, const uint8_t *serial, size_t len);
/* One transaction: the answer, and the certificate if c is not NULL. */
int	 castore_record(struct db *, const uint8_t *reqid, int type, const char *root,
	    int code, const uint8_t *answer, size_t anslen, const struct castore_cert *c);
int	 castore_time_sample(struct db *, uint64_t webdb_ns, uint64_t local_ns,
	    uint64_t mono_ns, int sync);
int64_t	 castore_cert_count(struct db *, const char *root);
/* Has ca.db had the schema step "counts" (castore.c)? 1, 0, -1 error. */
int	 castore_has_counts(struct db *);
/* Deletes at most max stored answers to CRL_FETCH given before the Unix
 * time before (never any other answer); *n: how many. */
int	 castore_prune(struct db *, int64_t before, int max, int64_t *n);

/* castore_bulk.c: group commit, counts, export and import of ca.db */
/* Nesting transactions: the outermost is durable at its commit; inner
 * ones are savepoints (the signer's group commit wraps castore_record). */
int	 castore_begin(struct db *);
int	 castore_commit(struct db *);
void	 castore_rollback(struct db *);
/* cert_counts for certificates just inserted into certs (the code that
 * inserts them counts them: there is no trigger on insert) */
int	 castore_count_add(struct db *, const char *root, int64_t issued,
	    int64_t revoked);
/* db_flat and db_doomed (db.h): a transaction without inner savepoints */
int	 castore_flat(struct db *);
int	 castore_doomed(const struct db *);
struct castore_counts {
	int64_t		 issued;	/* every certificate of the root */
	int64_t		 valid;		/* not revoked, not expired */
	int64_t		 revoked;
	int64_t		 expired;	/* not revoked, notAfter passed */
};
int	 castore_root_counts(struct db *, const char *root, time_t now,
	    struct castore_counts *);
struct castore_row {
	const uint8_t	*serial;	/* unsigned big-endian, no leading zero */
	size_t		 serial_len;
	const uint8_t	*der;
	size_t		 der_len;
	time_t		 not_before, not_after;
	const char	*subject;	/* RFC 2253 */
	int64_t		 revoked;	/* revocation time; 0 not revoked */
	int		 reason;	/* CRLReason; -1 none */
	int64_t		 invalidity;	/* invalidity date; 0 none */
};
/* Calls fn for each certificate of root in the order of issue (or of
 * import); fn returning -1 stops the walk and makes this return -1. */
int	 castore_each_cert(struct db *, const char *root,
	    int (*fn)(void *, const struct castore_row *), void *arg);
/* The newest max certificates of root issued at or after since (Unix
 * seconds; 0 all), newest first. */
int	 castore_each_recent(struct db *, const char *root, int64_t since,
	    size_t max, int (*fn)(void *, const struct castore_row *), void *arg);
/* How many certificates root issued at or after since; since 0: all, from
 * the counts (a walk through the root's rows otherwise). -1 on error. */
int64_t	 castore_count_since(struct db *, const char *root, int64_t since);
/* SERIALS_FETCH: fn(arg, row id, serial, length) for each certificate of
 * root stored after the row id after, in the order stored (issued or
 * imported), until fn returns -1 (then that row is not taken). 0 or -1. */
int	 castore_each_serial(struct db *, const char *root, int64_t after,
	    int (*fn)(void *, int64_t, const uint8_t *, size_t), void *arg);
/* The row id of root's newest certificate; 0 none. 0 or -1. */
int	 castore_serial_end(struct db *, const char *root, int64_t *end);
struct castore_import {
	int64_t		 total;		/* lines of index.txt */
	int64_t		 lines_done;	/* committed so far */
	int64_t		 imported;	/* certificates added */
	int64_t		 finished;	/* Unix time; 0 not yet */
	char		 next_serial[80];	/* the source's serial file */
	char		 crlnumber[80];		/* the source's crlnumber file */
};
/* 1 found, 0 no import of src into root yet, -1 error */
int	 castore_import_get(struct db *, const char *root, const char *src,
	    struct castore_import *);
int	 castore_import_start(struct db *, const char *root, const char *src,
	    int64_t total);
/* One transaction: the rows and lines_done. 0 ok, -1 error, -2 rows[*conflict]
 * has a serial that ca.db holds with other bytes (nothing is committed). */
int	 castore_import_chunk(struct db *, const char *root, const char *src,
	    const struct castore_row *rows, size_t n, int64_t lines_done,
	    size_t *conflict);
int	 castore_import_finish(struct db *, const char *root, const char *src,
	    const char *next_serial, const char *crlnumber);

/* timestore.c: time_samples in ca.db */
/* Adds the columns this version needs to an older table (read-write). */
int	 timestore_init(struct db *);
int	 timestore_add(struct db *, const struct time_sample *);
/* The client's report of a sample's round trip, once per sample. */
int	 timestore_set_rtt(struct db *, const uint8_t *reqid, int64_t rtt_ns);
/* 1 and the newest sample, 0 none, -1 error */
int	 timestore_latest(struct db *, struct time_sample *);
/* Calls fn for up to max samples, newest first; -1 from fn stops. */
int	 timestore_recent(struct db *, int max,
	    int (*fn)(void *, const struct time_sample *), void *arg);

#endif
