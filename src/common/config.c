/*
 * config.c: reads the libconfig file into struct cfg. The only module that
 * includes libconfig.h. Every error names the file and line and says what is
 * wrong; unknown settings are errors too, so a typo is never silently ignored.
 * Relative paths are taken relative to the directory of the config file.
 */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"
#include "psl.h"
#include "util.h"

struct flag_name {
	const char	*name;
	unsigned	 bit;
};

static const struct flag_name ku_names[] = {
	{ "digitalSignature", CFG_KU_DIGITAL_SIGNATURE },
	{ "nonRepudiation", CFG_KU_NON_REPUDIATION },
	{ "keyEncipherment", CFG_KU_KEY_ENCIPHERMENT },
	{ "dataEncipherment", CFG_KU_DATA_ENCIPHERMENT },
	{ "keyAgreement", CFG_KU_KEY_AGREEMENT },
	{ "keyCertSign", CFG_KU_KEY_CERT_SIGN },
	{ "cRLSign", CFG_KU_CRL_SIGN },
	{ NULL, 0 }
};
static const struct flag_name eku_names[] = {
	{ "serverAuth", CFG_EKU_SERVER },
	{ "clientAuth", CFG_EKU_CLIENT },
	{ "codeSigning", CFG_EKU_CODE },
	{ "emailProtection", CFG_EKU_EMAIL },
	{ "timeStamping", CFG_EKU_TIMESTAMP },
	{ "OCSPSigning", CFG_EKU_OCSP },
	{ "msSmartcardLogin", CFG_EKU_SMARTCARD },
	{ NULL, 0 }
};
static const struct flag_name san_names[] = {
	{ "dns", SAN_DNS }, { "email", SAN_EMAIL }, { "ip", SAN_IP }, { "uri", SAN_URI },
	{ "xmpp", SAN_XMPP }, { NULL, 0 }
};
static const struct flag_name key_names[] = {
	{ "rsa", KEYT_RSA }, { "ec", KEYT_EC }, { "ed25519", KEYT_ED25519 },
	{ NULL, 0 }
};

struct cfg_ctx {
	const char	*file;
	char		 dir[CFG_PATH];	/* directory of the file */
	char		*why;
	size_t		 whysz;
	const config_setting_t *state_dir_setting;	/* for errors found later */
};

static int
cfg_err(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_err(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a setting from an @include'd file is reported against that file */
	snprintf(x->why, x->whysz, "%s:%d: %s",
	    s && config_setting_source_file(s) ? config_setting_source_file(s) : x->file,
	    s ? config_setting_source_line(s) : 0, msg);
	return -1;
}

/* Groups must be groups and lists lists: `link = 5;` is not an empty link. */
static int
cfg_shapes(struct cfg_ctx *x, const config_setting_t *top)
{
	static const struct { const char *name; int list; } shapes[] = {
		{ "link", 0 }, { "signer", 0 }, { "client", 0 }, { "time", 0 },
		{ "profiles", 1 }, { "roots", 1 }, { "v1", 0 }, { "ocsp", 0 },
	};
	const config_setting_t *s;
	size_t i;

	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		if ((s = config_setting_get_member(top, shapes[i].name)) == NULL)
			continue;
		if (shapes[i].list && !config_setting_is_list(s))
			return cfg_err(x, s, "\"%s\" must be a list: ( { ... }, ... )",
			    shapes[i].name);
		if (!shapes[i].list && !config_setting_is_group(s))
			return cfg_err(x, s, "\"%s\" must be a group: { ... }",
			    shapes[i].name);
	}
	return 0;
}

/* Keys allowed in a group, so that a misspelt setting is an error. */
static int
cfg_known(struct cfg_ctx *x, const config_setting_t *g, const char *const *keys)
{
	int i, j, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);

		for (j = 0; keys[j] != NULL; j++)
			if (name && strcmp(name, keys[j]) == 0)
				break;
		if (keys[j] == NULL)
			return cfg_err(x, s, "unknown setting \"%s\"", name ? name : "?");
	}
	return 0;
}

static int
cfg_str(struct cfg_ctx *x, const config_setting_t *g, const char *key,
    char *out, size_t outsz)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	if (s == NULL)
		return 0;
	if ((v = config_setting_get_string(s)) == NULL)
		return cfg_err(x, s, "\"%s\" must be a string", key);
	if (strlen(v) >= outsz)
		return cfg_err(x, s, "\"%s\" is too long", key);
	strcpy(out, v);
	return 0;
}

static int
cfg_path(struct cfg_ctx *x, const config_setting_t *g, const char *key,
    char *out, size_t outsz)
{
	char tmp[CFG_PATH];

	tmp[0] = '\0';
	if (cfg_str(x, g, key, tmp, sizeof(tmp)) == -1)
		return -1;
	if (tmp[0] == '\0')
		return 0;
	if (tmp[0] == '/') {
		snprintf(out, outsz, "%s", tmp);
		return 0;
	}
	if ((size_t)snprintf(out, outsz, "%s/%s", x->dir, tmp) >= outsz)
		return cfg_err(x, config_setting_get_member(g, key), "path too long");
	return 0;
}

static int
cfg_int(struct cfg_ctx *x, const config_setting_t *g, const char *key,
    long long lo, long long hi, long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_BOOL)
		v = config_setting_get_bool(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else
		return cfg_err(x, s, "\"%s\" must be a number", key);
	if (v < lo || v > hi)
		return cfg_err(x, s, "\"%s\" = %lld is out of range %lld..%lld", key, v, lo, hi);
	*out = v;
	return 0;
}

#define CFG_INT(x, g, key, lo, hi, dst) do {				\
	long long v_ = (long long)(dst);				\
	if (cfg_int(x, g, key, lo, hi, &v_) == -1)			\
		return -1;						\
	(dst) = v_;							\
} while (0)

static int
cfg_flags(struct cfg_ctx *x, const config_setting_t *g, const char *key,
    const struct flag_name *names, unsigned *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	int i, j, n;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_err(x, s, "\"%s\" must be a list of names", key);
	*out = 0;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);

		for (j = 0; names[j].name != NULL; j++)
			if (v && strcmp(v, names[j].name) == 0)
				break;
		if (names[j].name == NULL)
			return cfg_err(x, s, "\"%s\": unknown name \"%s\"", key, v ? v : "?");
		*out |= names[j].bit;
	}
	return 0;
}

static const char *const profile_keys[] = {
	"name", "max_days", "default_days", "key_usage", "ext_key_usage", "ca",
	"pathlen", "san", "key_types", "min_rsa_bits", "subject", "crl_url",
	"ocsp_url", "issuer_url", "policy_oid", "cps_url", "ocsp_nocheck", "ski",
	"aki", "freshest_crl_url", "allowed_domains", "max_san",
	"max_subject_attrs", "approvals", "approval_timeout", NULL
};

/* A domain of allowed_domains: LDH labels of 1..63, no wildcard. */
static int
cfg_domain_ok(const char *s)
{
	size_t label = 0;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; ; s++) {
		if (*s == '.' || *s == '\0') {
			if (label == 0 || label > 63)
				return 0;
			if (*s == '\0')
				return 1;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '-')
			label++;
		else
			return 0;
	}
}

/* allowed_domains = [ "example.org", ... ]: joined with commas. */
static int
cfg_domains(struct cfg_ctx *x, const config_setting_t *g, struct cfg_profile *p)
{
	const config_setting_t *s = config_setting_get_member(g, "allowed_domains");
	size_t off = 0, n;
	const char *v;
	int i;

	if (s == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_err(x, s, "\"allowed_domains\" must be a list of domain names");
	for (i = 0; i < config_setting_length(s); i++) {
		if ((v = config_setting_get_string_elem(s, i)) == NULL || !cfg_domain_ok(v))
			return cfg_err(x, s, "profile %s: \"allowed_domains\": \"%s\" is "
			    "not a lower-case domain name", p->name, v ? v : "?");
		n = strlen(v);
		if (off + n + 2 > sizeof(p->allowed_domains))
			return cfg_err(x, s, "profile %s: \"allowed_domains\" is too long",
			    p->name);
		if (off > 0)
			p->allowed_domains[off++] = ',';
		memcpy(p->allowed_domains + off, v, n + 1);
		off += n;
	}
	return 0;
}

/* Dotted numeric OIDs separated by commas or spaces, at most 8. */
static int
cfg_oids_ok(const char *s)
{
	int n = 0, arcs;
	size_t len;

	for (s += strspn(s, ", "); *s != '\0'; s += strspn(s, ", ")) {
		len = strcspn(s, ", ");
		if (++n > 8 || len < 3 || (s[0] != '0' && s[0] != '1' &&
		    s[0] != '2') || s[1] != '.')
			return 0;
		for (arcs = 1; len > 0; s++, len--) {
			if (*s == '.' && (s[1] == '.' || len == 1))
				return 0;
			if (*s == '.')
				arcs++;
			else if (*s < '0' || *s > '9')
				return 0;
		}
		if (arcs < 2)
			return 0;
	}
	return 1;
}

/* scheme ":" rest, printable ASCII without blanks (RFC 3986 in outline). */
static int
cfg_uri_ok(const char *s)
{
	const char *p = s;

	if (*s == '\0')
		return 1;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789+-.");
	if (*p++ != ':' || *p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return 0;
	return 1;
}

static int
cfg_profile_check(struct cfg_ctx *x, const config_setting_t *g,
    const struct cfg_profile *p)
{
	const char *urls[] = { "crl_url", "ocsp_url", "issuer_url", "cps_url",
	    "freshest_crl_url" };
	const char *vals[] = { p->crl_url, p->ocsp_url, p->issuer_url, p->cps_url,
	    p->freshest_url };
	size_t i;

	if (p->default_days > p->max_days)
		return cfg_err(x, g, "profile %s: default_days exceeds max_days", p->name);
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (!cfg_uri_ok(vals[i]))
			return cfg_err(x, config_setting_get_member(g, urls[i]),
			    "profile %s: \"%s\" is not a URI", p->name, urls[i]);
	if (!cfg_oids_ok(p->policy_oid))
		return cfg_err(x, config_setting_get_member(g, "policy_oid"),
		    "profile %s: \"policy_oid\" must be dotted numeric OIDs "
		    "separated by commas", p->name);
	if (p->cps_url[0] && !p->policy_oid[0])
		return cfg_err(x, config_setting_get_member(g, "cps_url"),
		    "profile %s: \"cps_url\" needs \"policy_oid\"", p->name);
	return 0;
}

static int
cfg_profile(struct cfg_ctx *x, const config_setting_t *g, struct cfg_profile *p)
{
	int ski, aki;

	memset(p, 0, sizeof(*p));
	p->max_days = 397;
	p->default_days = 365;
	p->pathlen = -1;
	p->san_types = SAN_DNS | SAN_EMAIL | SAN_IP;
	p->max_san = CFG_MAX_SAN_DEFAULT;
	p->max_subject_attrs = CFG_MAX_SUBJECT_ATTRS_DEFAULT;
	if (cfg_known(x, g, profile_keys) == -1 ||
	    cfg_str(x, g, "name", p->name, sizeof(p->name)) == -1)
		return -1;
	if (!name_ok(p->name, strlen(p->name)))
		return cfg_err(x, g, "profile needs a name of letters, digits, '.', '_' or '-'");
	CFG_INT(x, g, "max_days", 1, 36500, p->max_days);
	CFG_INT(x, g, "default_days", 1, 36500, p->default_days);
	CFG_INT(x, g, "ca", 0, 1, p->ca);
	CFG_INT(x, g, "pathlen", -1, 16, p->pathlen);
	CFG_INT(x, g, "min_rsa_bits", 1024, 16384, p->min_rsa_bits);
	CFG_INT(x, g, "max_san", 1, CFG_MAX_SAN, p->max_san);
	CFG_INT(x, g, "max_subject_attrs", 1, CFG_MAX_SUBJECT_ATTRS, p->max_subject_attrs);
	CFG_INT(x, g, "ocsp_nocheck", 0, 1, p->ocsp_nocheck);
	p->approval_timeout = 86400;
	CFG_INT(x, g, "approvals", 0, CFG_MAX_APPROVALS, p->approvals);
	CFG_INT(x, g, "approval_timeout", 10, 31536000, p->approval_timeout);
	ski = aki = 1;
	CFG_INT(x, g, "ski", 0, 1, ski);
	CFG_INT(x, g, "aki", 0, 1, aki);
	p->no_ski = !ski;
	p->no_aki = !aki;
	if (cfg_flags(x, g, "key_usage", ku_names, &p->key_usage) == -1 ||
	    cfg_flags(x, g, "ext_key_usage", eku_names, &p->ext_key_usage) == -1 ||
	    cfg_flags(x, g, "san", san_names, &p->san_types) == -1 ||
	    cfg_flags(x, g, "key_types", key_names, &p->key_types) == -1 ||
	    cfg_str(x, g, "subject", p->subject_attrs, sizeof(p->subject_attrs)) == -1 ||
	    cfg_str(x, g, "crl_url", p->crl_url, sizeof(p->crl_url)) == -1 ||
	    cfg_str(x, g, "ocsp_url", p->ocsp_url, sizeof(p->ocsp_url)) == -1 ||
	    cfg_str(x, g, "issuer_url", p->issuer_url, sizeof(p->issuer_url)) == -1 ||
	    cfg_str(x, g, "policy_oid", p->policy_oid, sizeof(p->policy_oid)) == -1 ||
	    cfg_str(x, g, "cps_url", p->cps_url, sizeof(p->cps_url)) == -1 ||
	    cfg_str(x, g, "freshest_crl_url", p->freshest_url,
	    sizeof(p->freshest_url)) == -1 || cfg_domains(x, g, p) == -1)
		return -1;
	return cfg_profile_check(x, g, p);
}

static const char *const root_keys[] = {
	"name", "dir", "pass_file", "profiles", "crl_days", "crl_grace_days",
	"crl_seconds", "crl_keep_expired", "freshest_crl_url", NULL
};

/* The CRL settings of a root (docs/configuration.md, "roots"). */
static int
cfg_root_crl(struct cfg_ctx *x, const config_setting_t *g, struct cfg_root *r)
{
	CFG_INT(x, g, "crl_days", 1, 3650, r->crl_days);
	CFG_INT(x, g, "crl_grace_days", 0, 36500, r->crl_grace_days);
	CFG_INT(x, g, "crl_seconds", 0, 315360000, r->crl_seconds);
	CFG_INT(x, g, "crl_keep_expired", 0, 1, r->crl_keep_expired);
	if (r->crl_seconds != 0 && r->crl_seconds < 10)
		return cfg_err(x, config_setting_get_member(g, "crl_seconds"),
		    "root %s: \"crl_seconds\" must be 0 or at least 10", r->name);
	if (cfg_str(x, g, "freshest_crl_url", r->freshest_url,
	    sizeof(r->freshest_url)) == -1)
		return -1;
	if (!cfg_uri_ok(r->freshest_url))
		return cfg_err(x, config_setting_get_member(g, "freshest_crl_url"),
		    "root %s: \"freshest_crl_url\" is not a URI", r->name);
	return 0;
}

static int
cfg_root(struct cfg_ctx *x, const struct cfg *c, const config_setting_t *g,
    struct cfg_root *r)
{
	const config_setting_t *pl;
	int i;

	memset(r, 0, sizeof(*r));
	r->crl_days = 7;
	r->crl_grace_days = 30;
	if (cfg_known(x, g, root_keys) == -1 ||
	    cfg_str(x, g, "name", r->name, sizeof(r->name)) == -1 ||
	    cfg_path(x, g, "dir", r->dir, sizeof(r->dir)) == -1 ||
	    cfg_path(x, g, "pass_file", r->pass_file, sizeof(r->pass_file)) == -1)
		return -1;
	if (!name_ok(r->name, strlen(r->name)))
		return cfg_err(x, g, "root needs a name of letters, digits, '.', '_' or '-'");
	if (r->dir[0] == '\0')
		return cfg_err(x, g, "root %s: \"dir\" is required", r->name);
	if (cfg_root_crl(x, g, r) == -1)
		return -1;
	if ((pl = config_setting_get_member(g, "profiles")) == NULL)
		return cfg_err(x, g, "root %s: \"profiles\" is required", r->name);
	if (!config_setting_is_array(pl) && !config_setting_is_list(pl))
		return cfg_err(x, pl, "root %s: \"profiles\" must be a list of names, "
		    "like [\"server\"]", r->name);
	for (i = 0; i < config_setting_length(pl); i++) {
		const char *v = config_setting_get_string_elem(pl, i);

		if (v == NULL || config_profile(c, v, strlen(v)) == NULL)
			return cfg_err(x, pl, "root %s: unknown profile \"%s\"",
			    r->name, v ? v : "?");
		if (r->nprofiles == CFG_MAX_PROFILES)
			return cfg_err(x, pl, "root %s: too many profiles", r->name);
		snprintf(r->profiles[r->nprofiles++], AIRLOCK_NAME_MAX, "%s", v);
	}
	return 0;
}

static const char *const link_keys[] = {
	"transport", "device", "baud", "pace", "rtscts", "key_file", "usb_id",
	"usb_path", "max_payload", "window", "protocol", "revision", NULL
};

/* "bus-port[.port...]", as the kernel names where a USB device is plugged */
static int
cfg_usb_path_ok(const char *s)
{
	int sep = '-';

	if (*s == '\0')
		return 1;
	for (;;) {
		if (*s < '0' || *s > '9')
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
		if (*s == '\0')
			return sep == '.';
		if (*s++ != sep)
			return 0;
		sep = '.';
	}
}

static int
cfg_link_usb(struct cfg_ctx *x, const config_setting_t *g, struct cfg_link *l)
{
	const char *hex = "0123456789abcdefABCDEF";

	if (strlen(l->usb_id) != 9 || l->usb_id[4] != ':' || strspn(l->usb_id, hex) != 4 ||
	    strspn(l->usb_id + 5, hex) != 4)
		return cfg_err(x, config_setting_get_member(g, "usb_id"),
		    "usb_id must be vendor:product in hex, like \"067b:2501\"");
	if (!cfg_usb_path_ok(l->usb_path))
		return cfg_err(x, config_setting_get_member(g, "usb_path"),
		    "usb_path must be bus-port[.port...], like \"1-1\" or \"2-1.4\"");
	/* USB has no line rate to pace the link to */
	if (strcmp(l->transport, "usb-pl2501") == 0)
		l->baud = 0;
	return 0;
}

static int
cfg_link(struct cfg_ctx *x, const config_setting_t *g, struct cfg_link *l)
{
	if (g == NULL)
		return 0;
	if (cfg_known(x, g, link_keys) == -1 ||
	    cfg_str(x, g, "transport", l->transport, sizeof(l->transport)) == -1 ||
	    cfg_path(x, g, "device", l->device, sizeof(l->device)) == -1 ||
	    cfg_path(x, g, "key_file", l->key_file, sizeof(l->key_file)) == -1 ||
	    cfg_str(x, g, "usb_id", l->usb_id, sizeof(l->usb_id)) == -1 ||
	    cfg_str(x, g, "usb_path", l->usb_path, sizeof(l->usb_path)) == -1 ||
	    cfg_str(x, g, "protocol", l->protocol, sizeof(l->protocol)) == -1)
		return -1;
	if (strcmp(l->protocol, "airlock") != 0 && strcmp(l->protocol, "commmodule-v1") != 0)
		return cfg_err(x, config_setting_get_member(g, "protocol"),
		    "protocol must be \"airlock\" or \"commmodule-v1\"");
	if (strcmp(l->transport, "serial") != 0 && strcmp(l->transport, "usb-pl2501") != 0)
		return cfg_err(x, config_setting_get_member(g, "transport"),
		    "transport must be \"serial\" or \"usb-pl2501\"");
	CFG_INT(x, g, "baud", 1200, 4000000, l->baud);
	CFG_INT(x, g, "rtscts", 0, 1, l->rtscts);
	CFG_INT(x, g, "pace", 0, 1, l->pace);
	CFG_INT(x, g, "max_payload", 64, FRAME_MAX_PAYLOAD, l->max_payload);
	CFG_INT(x, g, "window", 1, 32, l->window);
	CFG_INT(x, g, "revision", 1, 3, l->revision);
	return cfg_link_usb(x, g, l);
}

static const char *const top_keys[] = {
	"state_dir", "run_dir", "link_user", "signer_user", "verbose", "link",
	"sandbox", "signer", "client", "profiles", "roots", "pgp_roots", "time", "v1",
	"ocsp", NULL
};
static const char *const signer_keys[] = {
	"queue_db", "ca_db", "retention_days", "psl_file", "audit_key", "in_flight",
	NULL
};
static const char *const time_keys[] = {
	"max_sample_age", "warn_offset", "stop_offset", "max_step", NULL
};

/* time = { max_sample_age; warn_offset; stop_offset; max_step; } */
static int
cfg_time(struct cfg_ctx *x, const config_setting_t *g, struct cfg *c)
{
	if (g == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_err(x, g, "\"time\" must be a group { ... }");
	if (cfg_known(x, g, time_keys) == -1)
		return -1;
	CFG_INT(x, g, "max_sample_age", 10, 86400, c->time_max_age);
	CFG_INT(x, g, "warn_offset", 1, 86400, c->time_warn_offset);
	CFG_INT(x, g, "stop_offset", 0, 86400, c->time_stop_offset);
	CFG_INT(x, g, "max_step", 1, 315360000, c->time_max_step);
	if (c->time_stop_offset != 0 && c->time_stop_offset < c->time_warn_offset)
		return cfg_err(x, config_setting_get_member(g, "stop_offset"),
		    "\"stop_offset\" must be 0 or at least \"warn_offset\"");
	return 0;
}
static const char *const client_keys[] = {
	"outbox_db", "spool_dir", "time_interval", "crl_dir", "crl_refresh",
	"crl_roots", "retention_days", "audit_db", "audit_pubkey", "audit_interval",
	"audit_busy_interval", NULL
};
static const char *const crl_root_keys[] = { "name", "ca_cert", NULL };

/* client.crl_roots: ( { name = "..."; ca_cert = "..."; }, ... ) */
static int
cfg_client_crl(struct cfg_ctx *x, const config_setting_t *g, struct cfg *c)
{
	const config_setting_t *l, *s;
	struct cfg_crl_root *r;
	int i;

	if (cfg_path(x, g, "crl_dir", c->crl_dir, sizeof(c->crl_dir)) == -1)
		return -1;
	CFG_INT(x, g, "crl_refresh", 1, 86400, c->crl_refresh);
	if ((l = config_setting_get_member(g, "crl_roots")) == NULL)
		return 0;
	if (!config_setting_is_list(l))
		return cfg_err(x, l, "\"crl_roots\" must be a list of groups");
	for (i = 0; i < config_setting_length(l); i++) {
		s = config_setting_get_elem(l, (unsigned)i);
		if (c->ncrl_roots == CFG_MAX_ROOTS)
			return cfg_err(x, s, "too many crl_roots");
		r = &c->crl_roots[c->ncrl_roots];
		if (!config_setting_is_group(s) || cfg_known(x, s, crl_root_keys) == -1 ||
		    cfg_str(x, s, "name", r->name, sizeof(r->name)) == -1 ||
		    cfg_path(x, s, "ca_cert", r->ca_cert, sizeof(r->ca_cert)) == -1)
			return config_setting_is_group(s) ? -1 :
			    cfg_err(x, s, "each of crl_roots is a group");
		if (!name_ok(r->name, strlen(r->name)) || r->ca_cert[0] == '\0')
			return cfg_err(x, s, "each of crl_roots needs a name and a ca_cert");
		if (config_crl_root(c, r->name) != NULL)
			return cfg_err(x, s, "crl root \"%s\" listed twice", r->name);
		c->ncrl_roots++;
	}
	return 0;
}

static const char *const ocsp_keys[] = {
	"listen", "port", "user", "cache_dir", "validity", "refresh", "max_request",
	"cache_entries", "renew", "renew_days", "profile", "threads", "roots", NULL
};
static const char *const ocsp_root_keys[] = {
	"name", "key", "cert", "index", "subject", NULL
};

/* ocsp.roots: ( { name; key; cert; index; subject; }, ... ), names from
 * client.crl_roots; a subject is checked by airlock-ocspd (OpenSSL's names) */
static int
cfg_ocsp_roots(struct cfg_ctx *x, const config_setting_t *l, struct cfg_ocsp *o)
{
	const config_setting_t *s;
	struct cfg_ocsp_root *r;
	int i, j;

	if (!config_setting_is_list(l))
		return cfg_err(x, l, "\"ocsp.roots\" must be a list of groups");
	for (i = 0; i < config_setting_length(l); i++) {
		s = config_setting_get_elem(l, (unsigned)i);
		if (o->nroots == CFG_MAX_ROOTS)
			return cfg_err(x, s, "too many ocsp roots");
		r = &o->roots[o->nroots];
		if (!config_setting_is_group(s))
			return cfg_err(x, s, "each of ocsp.roots is a group");
		if (cfg_known(x, s, ocsp_root_keys) == -1 ||
		    cfg_str(x, s, "name", r->name, sizeof(r->name)) == -1 ||
		    cfg_path(x, s, "key", r->key, sizeof(r->key)) == -1 ||
		    cfg_path(x, s, "cert", r->cert, sizeof(r->cert)) == -1 ||
		    cfg_path(x, s, "index", r->index, sizeof(r->index)) == -1 ||
		    cfg_str(x, s, "subject", r->subject, sizeof(r->subject)) == -1)
			return -1;
		if (r->subject[0] != '\0' && r->subject[0] != '/')
			return cfg_err(x, s, "ocsp root \"%s\": subject is written "
			    "\"/CN=name/O=organisation\"", r->name);
		if (!name_ok(r->name, strlen(r->name)) || r->key[0] == '\0' ||
		    r->cert[0] == '\0')
			return cfg_err(x, s, "each of ocsp.roots needs a name, a key and a cert");
		for (j = 0; j < o->nroots; j++)
			if (strcmp(o->roots[j].name, r->name) == 0)
				return cfg_err(x, s, "ocsp root \"%s\" listed twice", r->name);
		o->nroots++;
	}
	return 0;
}

/* ocsp = { listen; port; user; cache_dir; ...; roots = ( ... ); } */
static int
cfg_ocsp(struct cfg_ctx *x, const config_setting_t *g, struct cfg *c)
{
	struct cfg_ocsp *o = &c->ocsp;
	const config_setting_t *l;
	int i;

	if (g == NULL)
		return 0;
	if (cfg_known(x, g, ocsp_keys) == -1 ||
	    cfg_str(x, g, "listen", o->listen, sizeof(o->listen)) == -1 ||
	    cfg_str(x, g, "user", o->user, sizeof(o->user)) == -1 ||
	    cfg_str(x, g, "profile", o->profile, sizeof(o->profile)) == -1 ||
	    cfg_path(x, g, "cache_dir", o->cache_dir, sizeof(o->cache_dir)) == -1)
		return -1;
	if (!name_ok(o->profile, strlen(o->profile)))
		return cfg_err(x, g, "ocsp.profile \"%s\" is not a profile name", o->profile);
	CFG_INT(x, g, "port", 1, 65535, o->port);
	CFG_INT(x, g, "validity", 60, 7 * 86400, o->validity);
	CFG_INT(x, g, "refresh", 1, 3600, o->refresh);
	CFG_INT(x, g, "max_request", 256, 65536, o->max_request);
	CFG_INT(x, g, "cache_entries", 16, 1 << 22, o->cache_entries);
	CFG_INT(x, g, "threads", 0, 64, o->threads);
	CFG_INT(x, g, "renew", 0, 1, o->renew);
	CFG_INT(x, g, "renew_days", 0, 365, o->renew_days);
	if ((l = config_setting_get_member(g, "roots")) != NULL &&
	    cfg_ocsp_roots(x, l, o) == -1)
		return -1;
	for (i = 0; i < o->nroots; i++)
		if (config_crl_root(c, o->roots[i].name) == NULL)
			return cfg_err(x, l, "ocsp root \"%s\" is not one of client.crl_roots",
			    o->roots[i].name);
	return 0;
}

static void
cfg_defaults(struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->state_dir, "/var/lib/airlock");
	strcpy(c->run_dir, "/run/airlock");
	strcpy(c->link.transport, "serial");
	strcpy(c->link.protocol, "airlock");
	c->v1.time_interval = 60;
	strcpy(c->link.device, "/dev/ttyS0");
	strcpy(c->link.key_file, "/etc/airlock/link.key");
	strcpy(c->link.usb_id, "067b:2501");
	c->link.baud = 115200;
	c->link.pace = 1;
	c->link.max_payload = 8192;
	c->link.window = 32;
	c->link.revision = 3;
	c->time_interval = 60;
	c->sandbox = 1;
	c->time_max_age = 300;
	c->time_warn_offset = 10;
	c->time_max_step = 86400;
	c->crl_refresh = 3600;
	c->signer_retention_days = CFG_RETENTION_DAYS;
	c->signer_in_flight = CFG_IN_FLIGHT;
	strcpy(c->psl_file, PSL_DEFAULT_FILE);
	c->client_retention_days = CFG_RETENTION_DAYS;
	c->audit_interval = 10;
	c->audit_busy_interval = 60;
	strcpy(c->ocsp.listen, "127.0.0.1");
	c->ocsp.port = 8080;
	c->ocsp.validity = 3600;
	c->ocsp.refresh = 10;
	c->ocsp.max_request = 4096;
	c->ocsp.cache_entries = 65536;
	c->ocsp.renew = 1;
	strcpy(c->ocsp.profile, "ocsp");
}

static int
cfg_derive(struct cfg_ctx *x, struct cfg *c)
{
	struct { char *dst; const char *leaf; } d[] = {
		{ c->queue_db, "queue.db" }, { c->ca_db, "ca.db" },
		{ c->outbox_db, "outbox.db" }, { c->spool_dir, "spool" },
		{ c->crl_dir, "crl" }, { c->link.status_file, "link.status" },
		{ c->audit_db, "audit.db" }, { c->ocsp.cache_dir, "ocsp" },
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		if (d[i].dst[0] != '\0')
			continue;
		if ((size_t)snprintf(d[i].dst, CFG_PATH, "%s/%s", c->state_dir,
		    d[i].leaf) >= CFG_PATH)
			return cfg_err(x, x->state_dir_setting, "state_dir is too long");
	}
	return 0;
}

/* signer.psl_file: a path, or "" for none (the default is set before) */
static int
cfg_psl_file(struct cfg_ctx *x, const config_setting_t *g, struct cfg *c)
{
	const config_setting_t *s = config_setting_get_member(g, "psl_file");
	const char *v;

	if (s != NULL && (v = config_setting_get_string(s)) != NULL && v[0] == '\0') {
		c->psl_file[0] = '\0';
		return 0;
	}
	return cfg_path(x, g, "psl_file", c->psl_file, sizeof(c->psl_file));
}

static const char *const v1_keys[] = {
	"roots", "profiles", "pgp_root", "pgp_profile", "time_interval", NULL
};

/* A list of names for a v1 map: each "" or one that find() knows. */
static int
cfg_v1_list(struct cfg_ctx *x, const struct cfg *c, const config_setting_t *g,
    const char *key, char (*out)[AIRLOCK_NAME_MAX], int max, int *n,
    int want_profile)
{
	const config_setting_t *l = config_setting_get_member(g, key);
	const char *v;
	int i;

	if (l == NULL)
		return 0;
	if (!config_setting_is_array(l) || config_setting_length(l) > max)
		return cfg_err(x, l, "v1.%s must be a list of at most %d names", key, max);
	for (i = 0; i < config_setting_length(l); i++) {
		if ((v = config_setting_get_string_elem(l, i)) == NULL)
			return cfg_err(x, l, "v1.%s: element %d is not a string", key, i);
		if (v[0] != '\0' && (want_profile ? config_profile(c, v, strlen(v)) == NULL :
		    config_root(c, v, strlen(v)) == NULL))
			return cfg_err(x, l, "v1.%s: unknown %s \"%s\"", key,
			    want_profile ? "profile" : "root", v);
		snprintf(out[i], AIRLOCK_NAME_MAX, "%s", v);
	}
	if (n != NULL)
		*n = i;
	return 0;
}

/* v1 = { roots = [...]; profiles = [...]; pgp_root; pgp_profile; time_interval; } */
static int
cfg_v1(struct cfg_ctx *x, const config_setting_t *g, struct cfg *c)
{
	struct cfg_v1 *v = &c->v1;

	if (g == NULL)
		return 0;
	if (cfg_known(x, g, v1_keys) == -1 ||
	    cfg_v1_list(x, c, g, "roots", v->roots, CFG_V1_ROOTS, &v->nroots, 0) == -1 ||
	    cfg_v1_list(x, c, g, "profiles", v->profiles, CFG_V1_PROFILES, NULL, 1) == -1 ||
	    cfg_str(x, g, "pgp_root", v->pgp_root, sizeof(v->pgp_root)) == -1 ||
	    cfg_str(x, g, "pgp_profile", v->pgp_profile, sizeof(v->pgp_profile)) == -1)
		return -1;
	if (v->pgp_root[0] != '\0' && config_pgp_root(c, v->pgp_root, strlen(v->pgp_root)) == NULL)
		return cfg_err(x, config_setting_get_member(g, "pgp_root"),
		    "v1.pgp_root: unknown OpenPGP root \"%s\"", v->pgp_root);
	if (v->pgp_root[0] != '\0' && config_profile(c, v->pgp_profile,
	    strlen(v->pgp_profile)) == NULL)
		return cfg_err(x, g, "v1.pgp_profile must name a profile when pgp_root is set");
	CFG_INT(x, g, "time_interval", 1, 86400, v->time_interval);
	return 0;
}

static int
cfg_groups(struct cfg_ctx *x, config_t *cf, struct cfg *c)
{
	const config_setting_t *top = config_root_setting(cf), *g, *s;
	int i;

	x->state_dir_setting = config_setting_get_member(top, "state_dir");
	if (cfg_known(x, top, top_keys) == -1 || cfg_shapes(x, top) == -1 ||
	    cfg_path(x, top, "state_dir", c->state_dir, sizeof(c->state_dir)) == -1 ||
	    cfg_path(x, top, "run_dir", c->run_dir, sizeof(c->run_dir)) == -1 ||
	    cfg_str(x, top, "link_user", c->link_user, sizeof(c->link_user)) == -1 ||
	    cfg_str(x, top, "signer_user", c->signer_user, sizeof(c->signer_user)) == -1 ||
	    cfg_link(x, config_setting_get_member(top, "link"), &c->link) == -1)
		return -1;
	CFG_INT(x, top, "verbose", 0, 3, c->verbose);
	CFG_INT(x, top, "sandbox", 0, 1, c->sandbox);
	if ((g = config_setting_get_member(top, "signer")) != NULL) {
		if (cfg_known(x, g, signer_keys) == -1 ||
		    cfg_path(x, g, "queue_db", c->queue_db, sizeof(c->queue_db)) == -1 ||
		    cfg_path(x, g, "ca_db", c->ca_db, sizeof(c->ca_db)) == -1 ||
		    cfg_psl_file(x, g, c) == -1 ||
		    cfg_path(x, g, "audit_key", c->audit_key, sizeof(c->audit_key)) == -1)
			return -1;
		CFG_INT(x, g, "retention_days", 0, CFG_RETENTION_MAX,
		    c->signer_retention_days);
		CFG_INT(x, g, "in_flight", 1, CFG_IN_FLIGHT_MAX, c->signer_in_flight);
	}
	if ((g = config_setting_get_member(top, "client")) != NULL) {
		if (cfg_known(x, g, client_keys) == -1 ||
		    cfg_path(x, g, "outbox_db", c->outbox_db, sizeof(c->outbox_db)) == -1 ||
		    cfg_path(x, g, "spool_dir", c->spool_dir, sizeof(c->spool_dir)) == -1 ||
		    cfg_path(x, g, "audit_db", c->audit_db, sizeof(c->audit_db)) == -1 ||
		    cfg_path(x, g, "audit_pubkey", c->audit_pubkey, sizeof(c->audit_pubkey)) == -1)
			return -1;
		CFG_INT(x, g, "time_interval", 1, 86400, c->time_interval);
		CFG_INT(x, g, "audit_interval", 1, 86400, c->audit_interval);
		CFG_INT(x, g, "audit_busy_interval", 1, 86400, c->audit_busy_interval);
		CFG_INT(x, g, "retention_days", 0, CFG_RETENTION_MAX,
		    c->client_retention_days);
		if (cfg_client_crl(x, g, c) == -1)
			return -1;
	}
	if (cfg_time(x, config_setting_get_member(top, "time"), c) == -1 ||
	    cfg_ocsp(x, config_setting_get_member(top, "ocsp"), c) == -1)
		return -1;
	if ((g = config_setting_get_member(top, "profiles")) != NULL) {
		for (i = 0; i < config_setting_length(g); i++) {
			s = config_setting_get_elem(g, (unsigned)i);
			if (c->nprofiles == CFG_MAX_PROFILES)
				return cfg_err(x, s, "too many profiles");
			if (cfg_profile(x, s, &c->profiles[c->nprofiles]) == -1)
				return -1;
			if (config_profile(c, c->profiles[c->nprofiles].name,
			    strlen(c->profiles[c->nprofiles].name)) != NULL)
				return cfg_err(x, s, "profile \"%s\" defined twice",
				    c->profiles[c->nprofiles].name);
			c->nprofiles++;
		}
	}
	if ((g = config_setting_get_member(top, "roots")) != NULL) {
		for (i = 0; i < config_setting_length(g); i++) {
			s = config_setting_get_elem(g, (unsigned)i);
			if (c->nroots == CFG_MAX_ROOTS)
				return cfg_err(x, s, "too many roots");
			if (cfg_root(x, c, s, &c->roots[c->nroots]) == -1)
				return -1;
			if (config_root(c, c->roots[c->nroots].name,
			    strlen(c->roots[c->nroots].name)) != NULL)
				return cfg_err(x, s, "root \"%s\" defined twice",
				    c->roots[c->nroots].name);
			c->nroots++;
		}
	}
	if ((g = config_setting_get_member(top, "pgp_roots")) != NULL) {
		for (i = 0; i < config_setting_length(g); i++) {
			s = config_setting_get_elem(g, (unsigned)i);
			if (c->npgp_roots == CFG_MAX_ROOTS)
				return cfg_err(x, s, "too many pgp_roots");
			if (cfg_root(x, c, s, &c->pgp_roots[c->npgp_roots]) == -1)
				return -1;
			if (config_pgp_root(c, c->pgp_roots[c->npgp_roots].name,
			    strlen(c->pgp_roots[c->npgp_roots].name)) != NULL ||
			    config_root(c, c->pgp_roots[c->npgp_roots].name,
			    strlen(c->pgp_roots[c->npgp_roots].name)) != NULL)
				return cfg_err(x, s, "root \"%s\" defined twice",
				    c->pgp_roots[c->npgp_roots].name);
			c->npgp_roots++;
		}
	}
	if (cfg_v1(x, config_setting_get_member(top, "v1"), c) == -1)
		return -1;
	return cfg_derive(x, c);
}

int
config_load(const char *path, struct cfg *c, char *why, size_t whysz)
{
	struct cfg_ctx x = { path, "", why, whysz, NULL };
	char tmp[CFG_PATH];
	config_t cf;
	int rv = -1;

	cfg_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", path);
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(x.dir, sizeof(x.dir), "%s", dirname(tmp));
	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			snprintf(why, whysz, "%s: cannot read: %s", path, strerror(errno));
		else
			snprintf(why, whysz, "%s:%d: %s", path,
			    config_error_line(&cf), config_error_text(&cf));
		goto out;
	}
	rv = cfg_groups(&x, &cf, c);
out:
	config_destroy(&cf);
	return rv;
}

const struct cfg_root *
config_root(const struct cfg *c, const char *name, size_t len)
{
	int i;

	for (i = 0; i < c->nroots; i++)
		if (strlen(c->roots[i].name) == len &&
		    memcmp(c->roots[i].name, name, len) == 0)
			return &c->roots[i];
	return NULL;
}

const struct cfg_profile *
config_profile(const struct cfg *c, const char *name, size_t len)
{
	int i;

	for (i = 0; i < c->nprofiles; i++)
		if (strlen(c->profiles[i].name) == len &&
		    memcmp(c->profiles[i].name, name, len) == 0)
			return &c->profiles[i];
	return NULL;
}

const struct cfg_root *
config_pgp_root(const struct cfg *c, const char *name, size_t len)
{
	int i;

	for (i = 0; i < c->npgp_roots; i++)
		if (strlen(c->pgp_roots[i].name) == len &&
		    memcmp(c->pgp_roots[i].name, name, len) == 0)
			return &c->pgp_roots[i];
	return NULL;
}

int
config_root_allows(const struct cfg_root *r, const char *profile, size_t len)
{
	int i;

	for (i = 0; i < r->nprofiles; i++)
		if (strlen(r->profiles[i]) == len &&
		    memcmp(r->profiles[i], profile, len) == 0)
			return 1;
	return 0;
}

const struct cfg_crl_root *
config_crl_root(const struct cfg *c, const char *name)
{
	int i;

	for (i = 0; i < c->ncrl_roots; i++)
		if (strcmp(c->crl_roots[i].name, name) == 0)
			return &c->crl_roots[i];
	return NULL;
}
