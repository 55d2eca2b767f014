/*
 * fuzz_auditrec.c: libFuzzer target for the AUDIT_RECS parser, which
 * airlock-client runs on bytes from the cable (src/pki/auditrec.c). Any
 * input must parse or be refused without a crash; every record that parses
 * must encode again to exactly the bytes it came from (the link form is
 * canonical, so webdb's byte comparison of a re-sent record is sound), go
 * through the chain check and the JSON export without a crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auditrec.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t prev[AUDIT_HASH_LEN];
	struct audit_check c;
	struct audit_raw w;
	struct buf b;
	size_t off = 0, at;
	char why[256];
	int r;

	memset(prev, 0, sizeof(prev));
	memset(&c, 0, sizeof(c));
	buf_init(&b);
	for (;;) {
		at = off;
		r = audit_wire_next(data, size, &off, &w, why, sizeof(why));
		if (r == 0)
			break;
		if (r == -1) {
			if (why[0] == '\0' || off != at)
				abort();	/* a refusal names itself, moves nothing */
			break;
		}
		if (off <= at)
			abort();
		buf_reset(&b);
		if (audit_wire_put(&b, &w) == -1 || b.len != off - at ||
		    memcmp(b.p, data + at, b.len) != 0)
			abort();
		if (audit_check_one(&w, c.head_seq + 1, prev, &c) == 0) {
			memcpy(prev, w.hash.p, AUDIT_HASH_LEN);
			c.head_seq = w.seq;
		}
		buf_reset(&b);
		if (audit_json(&w, &b) == -1)
			abort();
	}
	buf_free(&b);
	return 0;
}
