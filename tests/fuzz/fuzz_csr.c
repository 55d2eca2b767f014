/*
 * fuzz_csr.c: libFuzzer target for the signer's request checks,
 * ca_check_request() (src/ca.c): the CSR parser for PKCS#10 in DER and PEM
 * and for SPKAC, the self-signature check, and every policy check against
 * a profile (key type and size, digest, subject attributes, SAN types,
 * validity). These are the bytes from the cable that reach OpenSSL.
 *
 * A test CA (EC P-256) is made once, in a temporary directory, with
 * ca_root_init() and loaded with ca_load(), as the signer loads its roots.
 * The first input byte chooses the format (bit 0: SPKAC), a profile (bit 1:
 * a permissive one that allows every key type, SAN type and subject
 * attribute, or a strict one) and the requested days (bits 2..7, times 30);
 * the rest is the request. Checks: the call returns AL_OK or one of the
 * request error codes, never a crash, never AL_E_INTERNAL (an error of ours
 * for any input is a bug), and a rejection always comes with a sentence.
 * Each input also goes through ca_issue(), the call the signer makes for a
 * SIGN message (signer.c do_sign), which must give the same code, and a
 * certificate exactly when it is AL_OK; so SPKAC text reaches the parser
 * by the signer's own path. Seeds spkac_* include lines without '='.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock.h"
#include "ca.h"
#include "config.h"
#include "msg.h"
#include "util.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct ca *fuzz_ca;
static struct cfg_profile fuzz_profiles[2];

static void
fuzz_make_profiles(void)
{
	struct cfg_profile *p = &fuzz_profiles[0];

	snprintf(p->name, sizeof(p->name), "any");
	p->max_days = 3650;
	p->default_days = 365;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE | CFG_KU_KEY_ENCIPHERMENT;
	p->ext_key_usage = CFG_EKU_SERVER | CFG_EKU_CLIENT;
	p->pathlen = -1;
	p->san_types = SAN_DNS | SAN_EMAIL | SAN_IP | SAN_URI | SAN_XMPP;
	p->key_types = KEYT_RSA | KEYT_EC | KEYT_ED25519;
	p->min_rsa_bits = 1024;
	snprintf(p->subject_attrs, sizeof(p->subject_attrs),
	    "CN,O,OU,C,L,ST,emailAddress,serialNumber,DC,UID");
	p = &fuzz_profiles[1];
	snprintf(p->name, sizeof(p->name), "server");
	p->max_days = 397;
	p->default_days = 90;
	p->key_usage = CFG_KU_DIGITAL_SIGNATURE;
	p->ext_key_usage = CFG_EKU_SERVER;
	p->pathlen = -1;
	p->san_types = SAN_DNS;
	snprintf(p->subject_attrs, sizeof(p->subject_attrs), "CN,O");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/airlock-fuzz-ca.XXXXXX", why[1024];
	struct ca_root_params rp;
	struct cfg_root root;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	memset(&rp, 0, sizeof(rp));
	rp.dir = dir;
	rp.subject = "/CN=airlock fuzz CA";
	rp.key_type = "ec:P-256";
	rp.days = 3650;
	rp.pathlen = -1;
	memset(&root, 0, sizeof(root));
	snprintf(root.name, sizeof(root.name), "fuzz");
	snprintf(root.dir, sizeof(root.dir), "%s", dir);
	if (ca_root_init(&rp, why, sizeof(why)) == -1 ||
	    ca_load(&root, &fuzz_ca, why, sizeof(why)) == -1) {
		fprintf(stderr, "fuzz_csr: test CA: %s\n", why);
		abort();
	}
	/* the CA is in memory now; its files are not needed */
	snprintf(why, sizeof(why), "rm -rf '%s'", dir);
	if (system(why) != 0)
		fprintf(stderr, "fuzz_csr: could not remove %s\n", dir);
	fuzz_make_profiles();
	return 0;
}

static int
fuzz_code_ok(int code)
{
	return code == AL_OK || (code >= AL_E_MSG && code < AL_E_SERIAL);
}

/* The signer's call for the same request: same answer, a certificate iff OK. */
static void
fuzz_issue(const struct ca_request *r, const struct cfg_profile *p, int code)
{
	static const uint8_t serial[16] = { 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct ca_issued out;
	char why[512];
	int rc;

	rc = ca_issue(fuzz_ca, p, r, serial, sizeof(serial), &out, why,
	    sizeof(why));
	if (rc != code || (rc == AL_OK) != (out.der.len > 0)) {
		fprintf(stderr, "fuzz_csr: ca_issue %d, ca_check_request %d: %s\n",
		    rc, code, why);
		abort();
	}
	buf_free(&out.der);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ca_request r;
	char why[512];
	int code;

	if (size < 1)
		return 0;
	memset(&r, 0, sizeof(r));
	r.format = (data[0] & 1) ? MSG_CSR_SPKAC : MSG_CSR_PKCS10;
	r.days = (uint32_t)(data[0] >> 2) * 30;
	r.csr = data + 1;
	r.csr_len = size - 1;
	r.now = 1700000000;
	why[0] = '\0';
	code = ca_check_request(fuzz_ca, &fuzz_profiles[(data[0] >> 1) & 1], &r,
	    why, sizeof(why));
	if (!fuzz_code_ok(code)) {
		fprintf(stderr, "fuzz_csr: code %d: %s\n", code, why);
		abort();
	}
	if (code != AL_OK && why[0] == '\0')
		abort();
	fuzz_issue(&r, &fuzz_profiles[(data[0] >> 1) & 1], code);
	return 0;
}
