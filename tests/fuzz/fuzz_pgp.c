/*
 * fuzz_pgp.c: libFuzzer target for the OpenPGP request path: pgp_certify()
 * (src/pgp_cert.c) on a key from the cable, binary or ASCII armour: the
 * armour decoder, the packet walker, key and signature parsing, the
 * self-signature checks with OpenSSL and the profile, and the client's
 * pgp_merge() of those bytes as an answer. An Ed25519 OpenPGP root is made
 * once in a temporary directory with pgp_root_init() and loaded as the
 * signer loads it. The first input byte chooses the profile (bit 0: one
 * allowing RSA-1024) and whether the rest is wrapped in armour (bit 1).
 * The same bytes as a backup custodian's key (pgp_enc_key, pgp_encrypt)
 * and as an encrypted backup (pgp_recipients).
 * Checks: AL_OK or a request error code with a sentence, never a crash,
 * never AL_E_INTERNAL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "airlock.h"
#include "config.h"
#include "pgp.h"
#include "pgp_root.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct pgp_root *fuzz_root;
static struct cfg_profile fuzz_profiles[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct pgp_root_params pp = { NULL, "ed25519", "fuzz CA <ca@fuzz.example>",
	    NULL, NULL, NULL, 1700000000 };
	char dir[4096], sub[4200], fpr[41], why[256];

	(void)argc;
	(void)argv;
	/* in $TMPDIR, which scripts/fuzz.sh removes after the run */
	if ((size_t)snprintf(dir, sizeof(dir), "%s/airlock-fuzz-pgp.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp") >= sizeof(dir) ||
	    mkdtemp(dir) == NULL)
		abort();
	snprintf(sub, sizeof(sub), "%s/root", dir);
	pp.dir = sub;
	if (pgp_root_init(&pp, fpr, why, sizeof(why)) == -1 ||
	    pgp_root_load(sub, NULL, &fuzz_root, why, sizeof(why)) == -1) {
		fprintf(stderr, "fuzz_pgp: %s\n", why);
		abort();
	}
	snprintf(fuzz_profiles[0].name, AIRLOCK_NAME_MAX, "openpgp");
	fuzz_profiles[0].max_days = fuzz_profiles[0].default_days = 366;
	fuzz_profiles[1] = fuzz_profiles[0];
	fuzz_profiles[1].min_rsa_bits = 1024;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static const char emails[] = "alice@example.org\nbob@example.org";
	struct pgp_request rq;
	struct pgp_result res;
	struct buf in, merged;
	char why[512] = "";
	int code;

	if (n < 1)
		return 0;
	buf_init(&in);
	buf_init(&merged);
	if (p[0] & 2)
		pgp_armor("PUBLIC KEY BLOCK", p + 1, n - 1, &in);
	else
		buf_put(&in, p + 1, n - 1);
	rq = (struct pgp_request){ in.p, in.len, emails, sizeof(emails) - 1, 0, 2000000000 };
	code = pgp_certify(fuzz_root, &fuzz_profiles[p[0] & 1], &rq, &res, why, sizeof(why));
	if (code == AL_E_INTERNAL || (code != AL_OK && why[0] == '\0'))
		abort();
	if (code == AL_OK) {
		/* the client's merge of a genuine answer must succeed */
		if (pgp_merge(fuzz_root->pub.p, fuzz_root->pub.len, in.p, in.len,
		    res.sigs.p, res.sigs.len, &merged, why, sizeof(why)) == -1)
			abort();
		buf_free(&res.sigs);
	}
	/* as a backup custodian's key: refused with a sentence, or it encrypts */
	{
		struct pgp_enc_key ek;
		char ids[64];

		if (pgp_enc_key(in.p, in.len, 2000000000, &ek, why, sizeof(why)) == 0) {
			buf_reset(&merged);
			if (pgp_encrypt(&ek, 1, "f", 0, p, n, &merged, why, sizeof(why)) == -1 ||
			    pgp_recipients(merged.p, merged.len, ids, sizeof(ids)) != 1)
				abort();
			pgp_enc_key_free(&ek);
		} else if (why[0] == '\0')
			abort();
		pgp_recipients(p, n, ids, sizeof(ids));
	}
	/* and the input as a hostile answer: refused or merged, never a crash */
	if (in.len > 0)
		pgp_merge(fuzz_root->pub.p, fuzz_root->pub.len, in.p, in.len, p, n,
		    &merged, why, sizeof(why));
	buf_free(&in);
	buf_free(&merged);
	return 0;
}
