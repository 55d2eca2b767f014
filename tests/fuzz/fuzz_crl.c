/*
 * fuzz_crl.c: libFuzzer target for what webdb does with CRLs from the cable
 * (src/crl.c): crl_inspect on each part, and crl_rebuild of a full CRL from
 * a "held" full CRL, a delta CRL and a signature value. Input:
 * len1 (u16) || len2 (u16) || held (len1) || delta (len2) || signature.
 * Nothing may crash or leak; a rebuilt CRL must itself parse and carry the
 * delta's number.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "crl.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct crl_info a, b, c;
	size_t l1, l2;
	struct buf out;
	char why[256];
	int da;

	if (n < 4)
		return 0;
	l1 = get_be16(p);
	l2 = get_be16(p + 2);
	p += 4;
	n -= 4;
	if (l1 > n || l2 > n - l1)
		return 0;
	buf_init(&out);
	crl_inspect(p, l1, &a, why, sizeof(why));
	da = crl_inspect(p + l1, l2, &b, why, sizeof(why));
	if (crl_rebuild(p, l1, p + l1, l2, p + l1 + l2, n - l1 - l2, &out, why,
	    sizeof(why)) == 0) {
		if (da != 0 || crl_inspect(out.p, out.len, &c, why, sizeof(why)) != 0 ||
		    c.number != b.number || c.base != 0)
			abort();
	}
	buf_free(&out);
	return 0;
}
