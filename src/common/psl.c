/*
 * psl.c: the Public Suffix List and the signer's DNS-name policy (psl.h).
 *
 * The list (Debian package publicsuffix) is one rule per line, up to the
 * first white space; "//" starts a comment. A rule is a domain ("com",
 * "co.uk"), a wildcard ("*.ck": any one label under ck) or an exception
 * ("!www.ck": www.ck is not a suffix, ck is). For a name, the prevailing
 * rule is an exception if one matches, else the matching rule with the
 * most labels, else the implicit "*" (one label); the public suffix is the
 * labels that rule covers, one fewer for an exception. The ICANN and the
 * private sections are used alike: a wildcard under a private suffix
 * ("*.github.io") would cover every customer of that provider.
 *
 * Names in certificates are ASCII (IDNs as "xn--" A-labels); the list
 * writes IDN rules as UTF-8 U-labels and, for some, also as A-labels.
 * Rules with any non-ASCII byte are skipped and counted: the A-label
 * rules are matched, a U-label-only rule is not (docs/configuration.md).
 *
 * The rules are kept sorted by their domain, each with the kinds that
 * name it; a lookup is one binary search per suffix of the name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "psl.h"
#include "util.h"

#define PSL_FILE_MAX	(8 * 1024 * 1024)	/* the list is ~230 KB */
#define PSL_NAME_MAX	253			/* a DNS name */
#define PSL_LABELS_MAX	128

enum {
	PSL_NORMAL	= 1 << 0,	/* "co.uk" */
	PSL_WILD	= 1 << 1,	/* "*.ck": stored as "ck" */
	PSL_EXCEPT	= 1 << 2,	/* "!www.ck": stored as "www.ck" */
};

struct psl_rule {
	char		*name;		/* lower case, without "*." or "!" */
	unsigned	 kinds;		/* PSL_* */
};

struct psl {
	struct psl_rule	*rules;		/* sorted by name, names unique */
	size_t		 n, cap;
	size_t		 skipped;	/* IDN rules (non-ASCII) */
};

static int
psl_rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct psl_rule *)a)->name,
	    ((const struct psl_rule *)b)->name);
}

static int
psl_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Lower-cases an LDH name with non-empty labels into out; -1 otherwise. */
static int
psl_lower(const char *s, size_t n, char *out)
{
	size_t i;

	if (n == 0 || n > PSL_NAME_MAX || s[0] == '.' || s[n - 1] == '.')
		return -1;
	for (i = 0; i < n; i++) {
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
		if (!psl_ldh(out[i]) && !(out[i] == '.' && out[i - 1] != '.'))
			return -1;
	}
	out[n] = '\0';
	return 0;
}

static int
psl_add(struct psl *l, const char *name, size_t n, unsigned kind)
{
	struct psl_rule *r;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		if ((r = realloc(l->rules, l->cap * sizeof(*r))) == NULL)
			return -1;
		l->rules = r;
	}
	r = &l->rules[l->n];
	if ((r->name = malloc(n + 1)) == NULL || psl_lower(name, n, r->name) == -1) {
		free(r->name);
		return -1;
	}
	r->kinds = kind;
	l->n++;
	return 0;
}

/* One line of the file; 0 for a rule, a comment or a skipped IDN rule. */
static int
psl_line(struct psl *l, const char *s, size_t n)
{
	unsigned kind = PSL_NORMAL;
	size_t i;

	for (i = 0; i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r'; i++)
		if ((unsigned char)s[i] >= 0x80) {
			l->skipped++;
			return 0;
		}
	n = i;
	if (n == 0 || (n >= 2 && s[0] == '/' && s[1] == '/'))
		return 0;
	if (s[0] == '!')
		kind = PSL_EXCEPT, s++, n--;
	else if (n > 2 && s[0] == '*' && s[1] == '.')
		kind = PSL_WILD, s += 2, n -= 2;
	return psl_add(l, s, n, kind);
}

/* Sorts the rules and merges those of one name ("ck" and "*.ck"). */
static void
psl_merge(struct psl *l)
{
	size_t i, o = 0;

	qsort(l->rules, l->n, sizeof(*l->rules), psl_rule_cmp);
	for (i = 0; i < l->n; i++) {
		if (o > 0 && strcmp(l->rules[o - 1].name, l->rules[i].name) == 0) {
			l->rules[o - 1].kinds |= l->rules[i].kinds;
			free(l->rules[i].name);
		} else
			l->rules[o++] = l->rules[i];
	}
	l->n = o;
}

static int
psl_parse(struct psl *l, const struct buf *b, char *why, size_t whysz,
    const char *path)
{
	const char *s = (const char *)b->p, *end = s + b->len, *eol;
	int lineno = 0;

	for (; s < end; s = eol + 1) {
		lineno++;
		if ((eol = memchr(s, '\n', (size_t)(end - s))) == NULL)
			eol = end;
		if (memchr(s, '\0', (size_t)(eol - s)) != NULL ||
		    psl_line(l, s, (size_t)(eol - s)) == -1) {
			say(why, whysz, "%s line %d: not a public suffix rule", path,
			    lineno);
			return -1;
		}
	}
	if (l->n == 0) {
		say(why, whysz, "%s has no public suffix rules", path);
		return -1;
	}
	psl_merge(l);
	return 0;
}

int
psl_load(const char *path, struct psl **out, char *why, size_t whysz)
{
	struct psl *l;
	struct buf b;
	int rc = -1;

	*out = NULL;
	buf_init(&b);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		say(why, whysz, "out of memory");
		return -1;
	}
	if (read_file(path, &b, PSL_FILE_MAX) == -1)
		say(why, whysz, "cannot read the public suffix list %s: %s", path,
		    strerror(errno));
	else if (psl_parse(l, &b, why, whysz, path) == 0) {
		*out = l;	/* the caller's */
		l = NULL;
		rc = 0;
	}
	buf_free(&b);
	psl_free(l);
	return rc;
}

void
psl_free(struct psl *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->rules[i].name);
	free(l->rules);
	free(l);
}

size_t
psl_count(const struct psl *l, size_t *skipped)
{
	if (skipped != NULL)
		*skipped = l ? l->skipped : 0;
	return l ? l->n : 0;
}

static unsigned
psl_kinds(const struct psl *l, const char *name)
{
	struct psl_rule key = { (char *)(uintptr_t)name, 0 };
	const struct psl_rule *r;

	if (l == NULL || l->n == 0)
		return 0;
	r = bsearch(&key, l->rules, l->n, sizeof(*l->rules), psl_rule_cmp);
	return r ? r->kinds : 0;
}

/* The labels of a lower-case name: start offsets, count in *nl. */
static void
psl_labels(const char *d, size_t off[], size_t *nl)
{
	size_t i, k = 0;

	off[k++] = 0;
	for (i = 0; d[i] != '\0'; i++)
		if (d[i] == '.' && k < PSL_LABELS_MAX)
			off[k++] = i + 1;
	*nl = k;
}

static size_t
psl_prevailing(const struct psl *l, const char *d, const size_t off[], size_t nl)
{
	size_t k, best = 1;
	unsigned kinds;

	for (k = 1; k <= nl; k++) {
		kinds = psl_kinds(l, d + off[nl - k]);
		if (kinds & PSL_EXCEPT)
			return k - 1;	/* an exception prevails */
		if ((kinds & PSL_NORMAL) && k > best)
			best = k;
		if ((kinds & PSL_WILD) && k < nl && k + 1 > best)
			best = k + 1;
	}
	return best;
}

size_t
psl_suffix_labels(const struct psl *l, const char *name, size_t n)
{
	char d[PSL_NAME_MAX + 1];
	size_t off[PSL_LABELS_MAX], nl;

	if (psl_lower(name, n, d) == -1)
		return 1;
	psl_labels(d, off, &nl);
	return psl_prevailing(l, d, off, nl);
}

int
psl_is_public_suffix(const struct psl *l, const char *name, size_t n)
{
	char d[PSL_NAME_MAX + 1];
	size_t off[PSL_LABELS_MAX], nl;

	if (psl_lower(name, n, d) == -1)
		return 0;
	psl_labels(d, off, &nl);
	return psl_prevailing(l, d, off, nl) >= nl;
}

int
psl_wildcard_ok(const struct psl *l, const char *name, size_t n)
{
	if (n < 2 || name[0] != '*' || name[1] != '.')
		return 1;
	return !psl_is_public_suffix(l, name + 2, n - 2);
}

/* --- the domains a profile allows --- */

/* 1 if the lower-case d equals dom (len dn) or ends in "." dom. */
static int
psl_under(const char *d, size_t n, const char *dom, size_t dn)
{
	if (dn == 0 || dn > n || memcmp(d + n - dn, dom, dn) != 0)
		return 0;
	return dn == n || d[n - dn - 1] == '.';
}

int
psl_domain_allowed(const char *domains, const char *name, size_t n)
{
	char d[PSL_NAME_MAX + 1];
	const char *p, *comma;

	if (domains == NULL || domains[0] == '\0')
		return 1;
	if (n > 2 && name[0] == '*' && name[1] == '.')
		name += 2, n -= 2;
	if (psl_lower(name, n, d) == -1)
		return 0;
	for (p = domains; *p != '\0'; p = comma + 1) {
		if ((comma = strchr(p, ',')) == NULL)
			comma = p + strlen(p);
		if (psl_under(d, n, p, (size_t)(comma - p)))
			return 1;
		if (*comma == '\0')
			break;
	}
	return 0;
}
