/*
 * auditmirror.h: webdb's copy of the signer's audit chain (audit.db,
 * src/store/auditmirror.c). Records are kept as they came over the link
 * (the AUDIT_RECS form: length || canonical bytes || prev || hash), never
 * changed once stored; beside them the last signed chain head and the
 * alarms raised. The checks are airlock-client's (src/client/mirror.c).
 */
#ifndef AUDITMIRROR_H
#define AUDITMIRROR_H

#include <stdint.h>

#include "store.h"
#include "util.h"

#define AMIRROR_HASH_LEN	32

struct amirror_signed {
	int64_t		 seq;			/* the head the signer signed */
	uint8_t		 hash[AMIRROR_HASH_LEN];
	int64_t		 time;			/* when it signed it */
	uint8_t		 sig[64];
	int64_t		 received;		/* when webdb got it */
};

struct amirror_alarm {
	int64_t		 time;
	char		 kind[16];		/* "fork", "gap", "broken", "signature" */
	int64_t		 seq;
	char		 text[512];
};

int	 amirror_open(const char *path, int readonly, struct db **);
/* One answer's records and head go in together. */
int	 amirror_begin(struct db *);
int	 amirror_commit(struct db *);
void	 amirror_rollback(struct db *);
/* The last record held: seq (0 none) and its hash. */
int	 amirror_head(struct db *, int64_t *seq, uint8_t hash[AMIRROR_HASH_LEN]);
/* Record seq as stored: 1 found (wire filled), 0 none, -1 error. */
int	 amirror_get(struct db *, int64_t seq, struct buf *wire);
int	 amirror_put(struct db *, int64_t seq, const uint8_t *wire, size_t len,
	    const uint8_t hash[AMIRROR_HASH_LEN]);
/* fn for each record after seq after, in order, at most max (0 all). */
int	 amirror_each(struct db *, int64_t after, int64_t max,
	    int (*fn)(void *, int64_t seq, const uint8_t *wire, size_t len), void *arg);
int	 amirror_count(struct db *, int64_t *n);
int	 amirror_set_signed(struct db *, const struct amirror_signed *);
int	 amirror_get_signed(struct db *, struct amirror_signed *);	/* 1, 0 none, -1 */
/* An alarm is kept once per kind and seq: 1 new, 0 already raised, -1 error. */
int	 amirror_alarm(struct db *, const char *kind, int64_t seq, const char *text);
int	 amirror_alarms(struct db *, int (*fn)(void *, const struct amirror_alarm *),
	    void *arg);
int	 amirror_alarm_count(struct db *, int64_t *n);

#endif
