/*
 * revoke.h: a REVOKE request as webdb and airlockctl make it, and its
 * message (src/wire/revoke.c; docs/protocol.md 9.4).
 */
#ifndef REVOKE_H
#define REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "airlock.h"
#include "util.h"

#define CRL_SERIAL_MAX		20	/* octets of a serial number */
#define CRL_REASON_UNSPECIFIED	0	/* no reasonCode extension (RFC 5280 5.3.1) */
#define CRL_REASON_HOLD		6	/* certificateHold: refused, never released */
#define CRL_REASON_REMOVE	8	/* removeFromCRL: delta CRLs only */

struct revoke_req {
	char		 root[AIRLOCK_NAME_MAX];
	uint8_t		 serial[CRL_SERIAL_MAX];
	size_t		 serial_len;
	int		 reason;
	int64_t		 invalidity;	/* 0 none */
	uint8_t		 reqid[AIRLOCK_REQID_LEN];
	int		 have_id;
};

/* The REVOKE message of r: 0, or -1 when a field does not encode. */
int	 revoke_msg(const struct revoke_req *, struct buf *out);

#endif
