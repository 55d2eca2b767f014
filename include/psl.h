/*
 * psl.h: the Public Suffix List (publicsuffix.org) and the DNS-name policy
 * of the signer built on it: no wildcard directly under a public suffix
 * ("*.com", "*.co.uk", "*.github.io"), and a profile's allowed domains.
 * The list is read once at signer start, before the sandbox; lookups are
 * pure functions over the loaded rules (docs/configuration.md, "signer").
 */
#ifndef PSL_H
#define PSL_H

#include <stddef.h>

#define PSL_DEFAULT_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

/* psl.c */
/* Reads the list at path (UTF-8 text, the format of publicsuffix.org):
 * normal, wildcard ("*.") and exception ("!") rules, ICANN and private
 * sections alike. Rules with non-ASCII labels are skipped (certificates
 * carry A-labels; the list's IDN rules are U-labels). 0, or -1 and a
 * sentence. */
int	 psl_load(const char *path, struct psl **out, char *why, size_t whysz);
void	 psl_free(struct psl *);
/* Rules read, and IDN rules skipped. */
size_t	 psl_count(const struct psl *, size_t *skipped);
/* Labels in the public suffix of name (ASCII, any case, no trailing dot)
 * by the prevailing rule, or 1 by the implicit rule "*"; a NULL list has
 * only the implicit rule. */
size_t	 psl_suffix_labels(const struct psl *, const char *name, size_t n);
/* 1 if name is itself a public suffix. */
int	 psl_is_public_suffix(const struct psl *, const char *name, size_t n);
/* 1 unless name is "*." followed by a public suffix. */
int	 psl_wildcard_ok(const struct psl *, const char *name, size_t n);
/* 1 if name (a leading "*." ignored) equals or is under one of domains,
 * a comma-separated list of lower-case names; "" allows every name. */
int	 psl_domain_allowed(const char *domains, const char *name, size_t n);

#endif
