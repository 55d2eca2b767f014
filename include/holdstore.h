/*
 * holdstore.h: requests held for operators' approval, in ca.db
 * (src/ca/holdstore.c, docs/ca-layout.md section 10).
 */
#ifndef HOLDSTORE_H
#define HOLDSTORE_H

#include <stdint.h>

#include "airlock.h"

struct db;

struct hold {
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	char		 root[AIRLOCK_NAME_MAX];
	char		 profile[AIRLOCK_NAME_MAX];
	char		 subject[512];		/* RFC 2253, of the request */
	int64_t		 held_at, expires;	/* Unix times */
	int		 needed;		/* approvals the profile asked for */
	char		 outcome[16];		/* "" while waiting */
	int		 approved;		/* distinct operators who approved */
	char		 approvers[512];	/* their names, comma-separated */
	char		 denied_by[64];		/* an operator who denied, or "" */
};

int	 holdstore_init(struct db *);
/* 1 and h, 0 not held, -1 error */
int	 holdstore_get(struct db *, const uint8_t reqid[AIRLOCK_REQID_LEN], struct hold *h);
int	 holdstore_put(struct db *, const struct hold *);
int	 holdstore_close(struct db *, const uint8_t reqid[AIRLOCK_REQID_LEN],
	    const char *outcome);
/* An operator's decision: 1 recorded, 0 that operator decided before, -1 error. */
int	 holdstore_decide(struct db *, const uint8_t reqid[AIRLOCK_REQID_LEN],
	    const char *operator, int approve, int64_t now);
int	 holdstore_each(struct db *, int waiting_only,
	    int (*fn)(void *, const struct hold *), void *arg);

#endif
