/*
 * revoke.c: the REVOKE message of a revocation request, as airlock-client
 * (command line and spool files) and airlockctl make it.
 */
#include <string.h>

#include "msg.h"
#include "revoke.h"

int
revoke_msg(const struct revoke_req *rr, struct buf *out)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	m.type = MSG_REVOKE;
	memcpy(m.reqid, rr->reqid, AIRLOCK_REQID_LEN);
	m.root.p = (const uint8_t *)rr->root;
	m.root.len = strlen(rr->root);
	m.serial.p = rr->serial;
	m.serial.len = rr->serial_len;
	m.present = 1u << T_ROOT | 1u << T_SERIAL;
	if (rr->reason != CRL_REASON_UNSPECIFIED) {
		m.reason = (uint8_t)rr->reason;
		MSG_SET(&m, T_REASON);
	}
	if (rr->invalidity != 0) {
		m.invalidity = (uint64_t)rr->invalidity;
		MSG_SET(&m, T_INVALIDITY);
	}
	return msg_encode_checked(&m, out);
}
