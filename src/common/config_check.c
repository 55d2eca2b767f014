/*
 * config_check.c: warnings about a configuration that loads but is
 * probably not what its operator meant. The daemons log them at start;
 * `-n` prints them. Errors (what cannot work) stay in config.c.
 */
#include <stdio.h>

#include "config.h"

/*
 * Delta CRLs (docs/crl.md): webdb publishes ROOT-delta.crl for every root.
 * An OpenSSL relying party (-use_deltas, X509_V_FLAG_USE_DELTAS) uses a
 * delta only when the full CRL names it in a Freshest CRL extension, so a
 * root without freshest_crl_url publishes deltas that are ignored.
 */
static void
config_check_deltas(const struct cfg *c, void (*say)(void *, const char *),
    void *arg)
{
	char line[512];
	int i;

	for (i = 0; i < c->nroots; i++) {
		if (c->roots[i].freshest_url[0] != '\0')
			continue;
		snprintf(line, sizeof(line), "root \"%s\" has no freshest_crl_url: "
		    "its full CRLs carry no Freshest CRL pointer, so OpenSSL relying "
		    "parties ignore the delta CRLs webdb publishes for it (set "
		    "freshest_crl_url to where %s-delta.crl is published)",
		    c->roots[i].name, c->roots[i].name);
		say(arg, line);
	}
}

void
config_warnings(const struct cfg *c, void (*say)(void *, const char *), void *arg)
{
	config_check_deltas(c, say, arg);
}
