/*
 * ca_override.c: a subject DN and a subjectAltName given as text beside the
 * request, replacing the request's own (SIGN's SUBJECT and SAN fields;
 * the CommModule v1 listener sends what webdb has verified this way).
 *
 * The subject is "/attr=value/attr=value" as `openssl req -subj` writes it;
 * "\xHH" stands for one byte (the old webdb escaped that way). The SAN is
 * "TYPE:value[,TYPE:value...]" with TYPE DNS, email, IP, URI, or
 * otherName:1.3.6.1.5.5.7.8.5;UTF8:jid for XMPP. Nothing here decides
 * whether a name is acceptable: the profile's checks run on the result
 * exactly as on a request's own names.
 */
#include <ctype.h>

#include "ca_int.h"

#define CA_OVR_MAX	4096

/* The text without "\xHH" escapes, NUL-terminated, in out. -1: bad text. */
static int
ovr_unescape(const uint8_t *p, size_t n, char *out, size_t outsz, char *why,
    size_t whysz)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i < n; i++) {
		if (o + 1 >= outsz) {
			say(why, whysz, "the text is longer than %zu bytes", outsz - 1);
			return -1;
		}
		if (p[i] == '\\' && i + 3 < n && p[i + 1] == 'x' &&
		    sscanf((const char *)p + i + 2, "%2x", &v) == 1 &&
		    isxdigit(p[i + 2]) && isxdigit(p[i + 3])) {
			out[o++] = (char)v;
			i += 3;
		} else
			out[o++] = (char)p[i];
		if (out[o - 1] == '\0' || out[o - 1] == '\n' || out[o - 1] == '\r' ||
		    out[o - 1] == '\t') {
			say(why, whysz, "the text holds a control character");
			return -1;
		}
	}
	out[o] = '\0';
	return 0;
}

static int
ovr_subject(const uint8_t *p, size_t n, X509_NAME **out, char *why, size_t whysz)
{
	char s[CA_OVR_MAX], *tok, *save = NULL, *eq;
	X509_NAME *name;

	*out = NULL;
	if (ovr_unescape(p, n, s, sizeof(s), why, whysz) == -1)
		return AL_E_SUBJECT;
	if (s[0] != '/') {
		say(why, whysz, "the subject does not start with '/'");
		return AL_E_SUBJECT;
	}
	if ((name = X509_NAME_new()) == NULL)
		return AL_E_INTERNAL;
	for (tok = strtok_r(s, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if ((eq = strchr(tok, '=')) == NULL || eq == tok || eq[1] == '\0') {
			say(why, whysz, "subject part \"%.64s\" is not attr=value", tok);
			goto bad;
		}
		*eq = '\0';
		if (!X509_NAME_add_entry_by_txt(name, tok, MBSTRING_UTF8,
		    (const unsigned char *)eq + 1, -1, -1, 0)) {
			say(why, whysz, "subject attribute %.32s=%.64s is not acceptable",
			    tok, eq + 1);
			goto bad;
		}
	}
	if (X509_NAME_entry_count(name) == 0) {
		say(why, whysz, "the subject is empty");
		goto bad;
	}
	*out = name;
	return AL_OK;
bad:
	X509_NAME_free(name);
	ERR_clear_error();
	return AL_E_SUBJECT;
}

static const struct { const char *tag; int type; } ovr_san_types[] = {
	{ "DNS", GEN_DNS }, { "email", GEN_EMAIL }, { "IP", GEN_IPADD },
	{ "URI", GEN_URI }, { "otherName", GEN_OTHERNAME },
};

static int
ovr_san_one(char *tok, GENERAL_NAMES *gns, char *why, size_t whysz)
{
	GENERAL_NAME *gn;
	char *colon = strchr(tok, ':');
	size_t i;

	if (colon == NULL || colon[1] == '\0') {
		say(why, whysz, "subjectAltName part \"%.64s\" is not TYPE:value", tok);
		return -1;
	}
	*colon = '\0';
	for (i = 0; i < sizeof(ovr_san_types) / sizeof(ovr_san_types[0]); i++)
		if (strcmp(tok, ovr_san_types[i].tag) == 0)
			break;
	if (i == sizeof(ovr_san_types) / sizeof(ovr_san_types[0])) {
		say(why, whysz, "subjectAltName type \"%.32s\" is not supported", tok);
		return -1;
	}
	if (ovr_san_types[i].type == GEN_OTHERNAME &&
	    strncmp(colon + 1, "1.3.6.1.5.5.7.8.5;UTF8:", 23) != 0) {
		say(why, whysz, "the only otherName supported is XMPP "
		    "(1.3.6.1.5.5.7.8.5;UTF8:...)");
		return -1;
	}
	if ((gn = a2i_GENERAL_NAME(NULL, NULL, NULL, ovr_san_types[i].type,
	    colon + 1, 0)) == NULL || !sk_GENERAL_NAME_push(gns, gn)) {
		GENERAL_NAME_free(gn);
		say(why, whysz, "subjectAltName %s:%.64s does not encode", tok, colon + 1);
		return -1;
	}
	return 0;
}

static int
ovr_san(const uint8_t *p, size_t n, GENERAL_NAMES **out, char *why, size_t whysz)
{
	char s[CA_OVR_MAX], *tok, *save = NULL;
	GENERAL_NAMES *gns;

	*out = NULL;
	if (ovr_unescape(p, n, s, sizeof(s), why, whysz) == -1)
		return AL_E_SAN;
	if ((gns = sk_GENERAL_NAME_new_null()) == NULL)
		return AL_E_INTERNAL;
	for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (ovr_san_one(tok, gns, why, whysz) == -1) {
			GENERAL_NAMES_free(gns);
			ERR_clear_error();
			return AL_E_SAN;
		}
	if (sk_GENERAL_NAME_num(gns) == 0) {
		GENERAL_NAMES_free(gns);
		gns = NULL;
	}
	*out = gns;
	return AL_OK;
}

int
csr_override(const struct ca_request *req, struct csr *c, char *why, size_t whysz)
{
	X509_NAME *name;
	int rc;

	if (req->subject != NULL) {
		if ((rc = ovr_subject(req->subject, req->subject_len, &name, why,
		    whysz)) != AL_OK)
			return rc;
		if (c->subject_owned)
			X509_NAME_free(c->subject);
		c->subject = name;
		c->subject_owned = 1;
	}
	if (req->san != NULL) {
		GENERAL_NAMES_free(c->san);
		c->san = NULL;
		c->san_given = 1;
		return ovr_san(req->san, req->san_len, &c->san, why, whysz);
	}
	return AL_OK;
}
