/*
 * fuzz_backup.c: libFuzzer target for the backup file reader
 * (src/pki/backup.c), which airlockctl and airlock-client run on a file
 * from a medium that may have been damaged or altered. The outer SHA-256
 * is recomputed over the input first, so that the fuzzer reaches the
 * manifest parser and the per-entry checks behind it. Any input must be
 * read or refused without a crash; what is read must encode again to the
 * same bytes (the plain form is canonical for what it holds) and decode
 * to the same entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backup.h"
#include "crypto.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_archive a, b;
	struct buf in, out;
	char why[256];

	buf_init(&in);
	buf_init(&out);
	bk_init(&a);
	bk_init(&b);
	if (buf_put(&in, data, size) == -1)
		abort();
	if (in.len >= 32 + 22 && bk_sealed(in.p, in.len) == 0)
		crypto_sha256(in.p, in.len - 32, in.p + in.len - 32);
	if (bk_decode(in.p, in.len, NULL, &a, why, sizeof(why)) == 0) {
		if (bk_encode(&a, NULL, &out, why, sizeof(why)) == -1 ||
		    bk_decode(out.p, out.len, NULL, &b, why, sizeof(why)) == -1 ||
		    a.n != b.n || a.data.len != b.data.len ||
		    (a.data.len && memcmp(a.data.p, b.data.p, a.data.len) != 0))
			abort();
	}
	bk_free(&a);
	bk_free(&b);
	buf_free(&in);
	buf_free(&out);
	return 0;
}
