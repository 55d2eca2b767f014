/*
 * fuzz_config.c: libFuzzer target for the configuration reader,
 * config_load() (src/config.c over libconfig). The input is written to a
 * temporary file, which config_load reads as airlock's daemons read
 * /etc/airlock/airlock.conf. Any input must load or be refused with a
 * sentence naming the file, and a configuration that loads must hold what
 * the rest of airlock takes for granted: counts within their arrays,
 * strings terminated, every path absolute, a profile's default validity
 * within its maximum, roots and profiles with valid names.
 *
 * Inputs with "@include" are skipped: libconfig would open whatever file
 * they name (a FIFO or /dev/zero would hang the fuzzer), and the
 * configuration file is trusted, root-owned input anyway.
 *
 * libconfig before 1.7 (Debian 12 has 1.5) leaks the text of a string
 * token it drops while recovering from a syntax error (hyperrealm/libconfig
 * issue #142, fixed by pull request #155): that leak is suppressed here,
 * by its allocation sites in libconfig's scanner, and no other.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static char fuzz_path[4096];
static struct cfg fuzz_cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	/* in $TMPDIR, which scripts/fuzz.sh removes after the run: libFuzzer
	 * ends the process with no chance to clean up */
	if ((size_t)snprintf(fuzz_path, sizeof(fuzz_path), "%s/airlock-fuzz-conf.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp") >= sizeof(fuzz_path) ||
	    (fd = mkstemp(fuzz_path)) == -1)
		abort();
	close(fd);
	return 0;
}

static void
fuzz_str(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
fuzz_abs(const char *s, size_t size)
{
	fuzz_str(s, size);
	if (s[0] != '\0' && s[0] != '/')
		abort();
}

static void
fuzz_check(const struct cfg *c)
{
	int i, j;

	if (c->nroots < 0 || c->nroots > CFG_MAX_ROOTS || c->nprofiles < 0 ||
	    c->nprofiles > CFG_MAX_PROFILES || c->ncrl_roots < 0 ||
	    c->ncrl_roots > CFG_MAX_ROOTS)
		abort();
	fuzz_abs(c->state_dir, sizeof(c->state_dir));
	fuzz_abs(c->run_dir, sizeof(c->run_dir));
	fuzz_abs(c->queue_db, sizeof(c->queue_db));
	fuzz_abs(c->ca_db, sizeof(c->ca_db));
	fuzz_abs(c->outbox_db, sizeof(c->outbox_db));
	fuzz_abs(c->spool_dir, sizeof(c->spool_dir));
	fuzz_abs(c->link.key_file, sizeof(c->link.key_file));
	fuzz_str(c->link.device, sizeof(c->link.device));
	if (c->link.window < 1 || c->link.window > 32 || c->sandbox < 0 || c->sandbox > 1)
		abort();
	for (i = 0; i < c->nprofiles; i++) {
		fuzz_str(c->profiles[i].name, sizeof(c->profiles[i].name));
		if (!name_ok(c->profiles[i].name, strlen(c->profiles[i].name)) ||
		    c->profiles[i].default_days > c->profiles[i].max_days)
			abort();
	}
	for (i = 0; i < c->nroots; i++) {
		fuzz_str(c->roots[i].name, sizeof(c->roots[i].name));
		fuzz_abs(c->roots[i].dir, sizeof(c->roots[i].dir));
		if (!name_ok(c->roots[i].name, strlen(c->roots[i].name)) ||
		    c->roots[i].nprofiles < 0 || c->roots[i].nprofiles > CFG_MAX_PROFILES)
			abort();
		for (j = 0; j < c->roots[i].nprofiles; j++)
			fuzz_str(c->roots[i].profiles[j], sizeof(c->roots[i].profiles[j]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[1024];
	FILE *f;

	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if ((f = fopen(fuzz_path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	if (fclose(f) != 0)
		abort();
	why[0] = '\0';
	if (config_load(fuzz_path, &fuzz_cfg, why, sizeof(why)) == 0)
		fuzz_check(&fuzz_cfg);
	else if (strncmp(why, fuzz_path, strlen(fuzz_path)) != 0)
		abort();	/* every refusal names the file */
	return 0;
}
