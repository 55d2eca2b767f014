/*
 * v1_pgp.c: OpenPGP certification for the v1 listener (action 1, system 2).
 */
#include <string.h>

#include "v1_int.h"

void
v1_do_pgp(struct v1 *v, const struct v1_req *r, uint64_t now)
{
	(void)r;
	v->st.pgps++;
	v1_refuse(v, V1_ACT_SIGN, now, "OpenPGP over v1 is not available");
}

void
v1_pgp_answer(struct v1 *v, const struct msg *m, int64_t tag, uint64_t now)
{
	(void)m;
	(void)tag;
	v1_refuse(v, V1_ACT_SIGN, now, "OpenPGP over v1 is not available");
}
