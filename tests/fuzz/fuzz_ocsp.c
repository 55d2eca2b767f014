/*
 * fuzz_ocsp.c: libFuzzer target for what airlock-ocspd reads from the
 * network: the OCSP request parser (src/pki/ocsp.c), the base64 of GET
 * requests, and the responder's answer path (src/ocspd/responder.c) with a
 * responder that answers for no issuer. Any input must parse or be refused
 * with a sentence, never crash; what parses must hold what the parser
 * promises (1..OCSP_MAX_IDS CertIDs, hash lengths of their algorithm,
 * serials that fit); every answer is one of the OCSP error responses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ocsp.h"
#include "ocspd.h"
#include "util.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const size_t hash_lens[OCSP_NALGS] = { 20, 32, 48, 64 };

static void
check_req(const uint8_t *data, size_t size)
{
	struct ocsp_req r;
	char why[256];
	int i;

	why[0] = '\0';
	if (ocsp_req_parse(data, size, &r, why, sizeof(why)) == -1) {
		if (why[0] == '\0' || r.raw != NULL)
			abort();	/* a refusal names itself, keeps nothing */
		return;
	}
	if (r.n < 1 || r.n > OCSP_MAX_IDS || r.raw == NULL)
		abort();
	for (i = 0; i < r.n; i++) {
		if (r.ids[i].serial_len > OCSP_SERIAL_MAX)
			abort();
		if (r.ids[i].alg >= 0 && (r.ids[i].alg >= OCSP_NALGS ||
		    r.ids[i].hash_len != hash_lens[r.ids[i].alg]))
			abort();
	}
	ocsp_req_free(&r);
}

static void
check_answer(const uint8_t *data, size_t size)
{
	static struct cfg c;
	static struct ocspd o;
	static int ready;
	struct buf out;
	int64_t max_age;

	if (!ready) {
		memset(&c, 0, sizeof(c));
		c.ocsp.cache_entries = 64;
		c.ocsp.validity = 3600;
		if (ocspd_init(&o, &c) == -1)
			abort();
		log_init("fuzz_ocsp", 0, 0);
		ready = 1;
	}
	buf_init(&out);
	ocspd_answer(&o, data, size, 1700000000, &out, &max_age);
	/* no root: malformedRequest or unauthorized, 5 bytes, not cacheable */
	if (out.len != 5 || max_age != 0 || (out.p[4] != OCSP_ST_MALFORMED &&
	    out.p[4] != OCSP_ST_UNAUTHORIZED))
		abort();
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b;

	check_req(data, size);
	check_answer(data, size);
	buf_init(&b);
	if (ocsp_b64_decode((const char *)data, size, &b) == 0) {
		if (b.len > size)
			abort();
		check_req(b.p, b.len);
	}
	buf_free(&b);
	return 0;
}
