/*
 * fuzz_crl.c: libFuzzer target for what webdb does with CRLs from the cable
 * (src/pki/crl.c): crl_inspect on each part, crl_entries on the first (the
 * catch-up walk), and crl_rebuild of a full CRL from
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

/* Each entry handed on must be usable as the catch-up uses it. */
static int
fuzz_entry(void *arg, const struct crl_entry *e)
{
	(void)arg;
	if (e->serial == NULL || e->serial_len == 0 || e->serial_len > 64)
		abort();
	return 0;
}

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
	if (crl_inspect(p, l1, &a, why, sizeof(why)) == 0 &&
	    crl_entries(p, l1, 0, SIZE_MAX, fuzz_entry, NULL, why, sizeof(why)) > (int)a.entries)
		abort();	/* the catch-up's walk: never past the end */
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
