/*
 * config.h: the configuration, as a plain struct filled by config.c, the
 * only module that includes libconfig.h. One file format serves both hosts;
 * each program reads the groups it needs (docs/configuration.md).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <limits.h>
#include <stdint.h>

#include "airlock.h"

#define CFG_MAX_ROOTS		32
#define CFG_MAX_PROFILES	64
#define CFG_PATH		PATH_MAX
#define CFG_RETENTION_DAYS	90	/* default of signer/client.retention_days */
#define CFG_RETENTION_MAX	36500	/* 0 keeps everything for ever */
#define CFG_IN_FLIGHT		256	/* default of signer.in_flight */
#define CFG_IN_FLIGHT_MAX	4096	/* its highest value */

/* key usage bits (as in X.509 KeyUsage, bit 0 = digitalSignature) */
enum {
	CFG_KU_DIGITAL_SIGNATURE	= 1 << 0,
	CFG_KU_NON_REPUDIATION	= 1 << 1,
	CFG_KU_KEY_ENCIPHERMENT	= 1 << 2,
	CFG_KU_DATA_ENCIPHERMENT	= 1 << 3,
	CFG_KU_KEY_AGREEMENT	= 1 << 4,
	CFG_KU_KEY_CERT_SIGN	= 1 << 5,
	CFG_KU_CRL_SIGN		= 1 << 6,
};
/* extended key usage bits */
enum {
	CFG_EKU_SERVER	= 1 << 0,
	CFG_EKU_CLIENT	= 1 << 1,
	CFG_EKU_CODE	= 1 << 2,
	CFG_EKU_EMAIL	= 1 << 3,
	CFG_EKU_TIMESTAMP	= 1 << 4,
	CFG_EKU_OCSP	= 1 << 5,
	CFG_EKU_SMARTCARD	= 1 << 6,	/* Microsoft smart card logon */
};
/* SAN types a profile may allow */
enum { SAN_DNS = 1 << 0, SAN_EMAIL = 1 << 1, SAN_IP = 1 << 2, SAN_URI = 1 << 3,
	SAN_XMPP = 1 << 4 };	/* XMPP: otherName id-on-xmppAddr (RFC 6120) */
/* key types a profile may allow */
enum { KEYT_RSA = 1 << 0, KEYT_EC = 1 << 1, KEYT_ED25519 = 1 << 2 };

struct cfg_profile {
	char		name[AIRLOCK_NAME_MAX];
	uint32_t	max_days;		/* cap on validity */
	uint32_t	default_days;		/* when the request says 0 */
	unsigned	key_usage;		/* CFG_KU_* */
	unsigned	ext_key_usage;		/* CFG_EKU_* */
	int		ca;			/* basicConstraints cA */
	int		pathlen;		/* -1: none */
	unsigned	san_types;		/* SAN_* the CSR may carry */
	unsigned	key_types;		/* KEYT_*; 0 means RSA|EC */
	uint32_t	min_rsa_bits;		/* 0 means 2048 */
	uint32_t	max_san;		/* subjectAltName entries at most; 0 default */
	uint32_t	max_subject_attrs;	/* subject attributes at most; 0 default */
	char		subject_attrs[128];	/* allowed DN attrs, e.g. "CN,O,OU,C,L,ST,emailAddress" */
	char		crl_url[256];		/* CRL distribution point, "" none */
	char		ocsp_url[256];		/* AIA OCSP, "" none */
	char		issuer_url[256];	/* AIA caIssuers, "" none */
	char		policy_oid[128];	/* certificate policies, "OID[,OID...]", "" none */
	char		cps_url[256];		/* CPS qualifier of each policy, "" none */
	int		ocsp_nocheck;		/* id-pkix-ocsp-nocheck (OCSP responders) */
	int		no_ski;			/* omit subjectKeyIdentifier ("ski = false") */
	int		no_aki;			/* omit authorityKeyIdentifier ("aki = false") */
	char		freshest_url[256];	/* Freshest CRL (delta CRL) pointer, "" none */
	char		allowed_domains[1024];	/* "a.org,b.net" lower case; "" any */
	uint32_t	approvals;		/* operators who must approve; 0 none */
	uint32_t	approval_timeout;	/* seconds a request may wait for them */
};

#define CFG_MAX_APPROVALS		16	/* a profile's approvals at most */

/* A profile's caps on a request's names (issue 16, item 9) */
#define CFG_MAX_SAN_DEFAULT		100	/* max_san */
#define CFG_MAX_SAN			1000
#define CFG_MAX_SUBJECT_ATTRS_DEFAULT	16	/* max_subject_attrs */
#define CFG_MAX_SUBJECT_ATTRS		64

struct cfg_root {
	char		name[AIRLOCK_NAME_MAX];
	char		dir[CFG_PATH];		/* ca.crt, chain.pem, ca.key or key.uri */
	char		pass_file[CFG_PATH];	/* passphrase for ca.key, "" none */
	char		profiles[CFG_MAX_PROFILES][AIRLOCK_NAME_MAX];
	int		nprofiles;
	uint32_t	crl_days;		/* nextUpdate - thisUpdate */
	uint32_t	crl_grace_days;		/* keep expired entries this long */
	uint32_t	crl_seconds;		/* overrides crl_days when not 0 */
	int		crl_keep_expired;	/* never drop; ExpiredCertsOnCRL */
	char		freshest_url[256];	/* Freshest CRL in full CRLs, "" none */
};

/* a root whose CRLs airlock-client keeps on webdb */
struct cfg_crl_root {
	char		name[AIRLOCK_NAME_MAX];
	char		ca_cert[CFG_PATH];	/* the issuing CA certificate, PEM or DER */
};

/* a root whose certificates airlock-ocspd answers for (docs/ocsp.md) */
struct cfg_ocsp_root {
	char		name[AIRLOCK_NAME_MAX];	/* one of client.crl_roots */
	char		key[CFG_PATH];		/* the responder's key, PEM, 0600 */
	char		cert[CFG_PATH];		/* its certificate (profile "ocsp") */
	char		index[CFG_PATH];	/* an openssl ca index.txt, "" none */
	char		subject[256];		/* of renewal requests, "" the cert's */
};

/* the ocsp group: airlock-ocspd on webdb */
struct cfg_ocsp {
	char		listen[64];		/* address to bind; default 127.0.0.1 */
	int		port;			/* default 8080 */
	char		user[32];		/* user to run as, "" keep */
	char		cache_dir[CFG_PATH];	/* its only writable directory */
	uint32_t	validity;		/* seconds from thisUpdate to nextUpdate */
	uint32_t	refresh;		/* seconds between looks at the sources */
	uint32_t	max_request;		/* bytes; larger requests are refused */
	uint32_t	cache_entries;		/* pre-signed responses kept */
	int		renew;			/* renew the certificates through the spool */
	uint32_t	renew_days;		/* renew this long before expiry (or at 2/3) */
	char		profile[AIRLOCK_NAME_MAX];	/* of renewal requests: "ocsp" */
	uint32_t	threads;		/* HTTP threads; 0: one per online CPU */
	struct cfg_ocsp_root roots[CFG_MAX_ROOTS];
	int		nroots;
};

struct cfg_link {
	char		transport[16];		/* "serial" or "usb-pl2501" */
	char		device[CFG_PATH];	/* serial device path */
	int		baud;			/* 115200; 0 for usb-pl2501 (unpaced) */
	int		rtscts;			/* hardware flow control */
	int		pace;			/* 1; 0 unpaced, a pty only (bench) */
	char		key_file[CFG_PATH];	/* pre-shared link key, 0600 */
	char		usb_id[16];		/* "067b:2501" */
	char		usb_path[32];		/* "bus-port.port", "" any */
	int		max_payload;		/* frame payload bytes */
	int		window;			/* frames in flight */
	char		status_file[CFG_PATH];	/* state_dir/link.status, for "usb" */
	char		protocol[16];		/* "airlock", or "commmodule-v1" (linkd) */
	int		revision;		/* link revision offered: 2, or 1 */
};

#define CFG_V1_ROOTS	16	/* v1 root indexes 0..15 */
#define CFG_V1_PROFILES	12	/* v1 profile indexes 0..11 */

/* The CommModule v1 listener's maps (docs/legacy-v1.md); "" is refused. */
struct cfg_v1 {
	char		roots[CFG_V1_ROOTS][AIRLOCK_NAME_MAX];	/* index -> X.509 root */
	int		nroots;
	char		profiles[CFG_V1_PROFILES][AIRLOCK_NAME_MAX];	/* index -> profile */
	char		pgp_root[AIRLOCK_NAME_MAX];	/* OpenPGP root; "" refused */
	char		pgp_profile[AIRLOCK_NAME_MAX];
	uint32_t	time_interval;		/* seconds between time samples */
};

struct cfg {
	char		path[CFG_PATH];		/* the file read */
	char		state_dir[CFG_PATH];	/* databases */
	char		run_dir[CFG_PATH];	/* FIFOs */
	char		link_user[32];		/* user for airlock-linkd, "" keep */
	char		signer_user[32];	/* user for airlock-signerd, "" keep */
	int		verbose;
	int		sandbox;			/* seccomp allow-list (default 1) */
	struct cfg_link	link;
	struct cfg_v1	v1;			/* link.protocol "commmodule-v1" */
	/* signer host */
	char		queue_db[CFG_PATH];	/* linkd queue; default state_dir/queue.db */
	char		ca_db[CFG_PATH];	/* signer CA db; default state_dir/ca.db */
	char		psl_file[CFG_PATH];	/* public suffix list; "" none (psl.h) */
	char		audit_key[CFG_PATH];	/* Ed25519 key signing the audit head; "" none */
	uint32_t	signer_retention_days;	/* queue.db, ca.db CRL answers; 0 forever */
	uint32_t	signer_in_flight;	/* requests linkd hands to the signer at once */
	/* webdb host */
	char		outbox_db[CFG_PATH];	/* client outbox; default state_dir/outbox.db */
	char		spool_dir[CFG_PATH];	/* in/ out/ err/ below it */
	uint32_t	client_retention_days;	/* answered outbox rows; 0 forever */
	char		audit_db[CFG_PATH];	/* the audit mirror; default state_dir/audit.db */
	char		audit_pubkey[CFG_PATH];	/* the signer's audit key, pinned; "" none */
	uint32_t	audit_interval;		/* seconds between fetches when caught up */
	uint32_t	audit_busy_interval;	/* ... while requests are outstanding */
	uint32_t	time_interval;		/* seconds between TIME samples */
	/* the signer host's clock (time group; seconds) */
	uint32_t	time_max_age;		/* older samples are refused */
	uint32_t	time_warn_offset;	/* warn above this offset */
	uint32_t	time_stop_offset;	/* pause signing above it; 0 never */
	uint32_t	time_max_step;		/* larger corrections need --force */
	char		crl_dir[CFG_PATH];	/* CRL files; default state_dir/crl */
	uint32_t	crl_refresh;		/* seconds between CRL fetches of a root */
	struct cfg_crl_root crl_roots[CFG_MAX_ROOTS];
	int		ncrl_roots;
	struct cfg_root	roots[CFG_MAX_ROOTS];
	int		nroots;
	struct cfg_root	pgp_roots[CFG_MAX_ROOTS];	/* OpenPGP roots (docs/openpgp.md) */
	int		npgp_roots;
	struct cfg_profile profiles[CFG_MAX_PROFILES];
	int		nprofiles;
	struct cfg_ocsp	ocsp;			/* airlock-ocspd */
};

/* config_check.c */
/* What is valid but probably not meant: each warning, a sentence, to say(arg, line). */
void	 config_warnings(const struct cfg *, void (*say)(void *, const char *),
	    void *arg);

/* config.c */
/* Reads path into c. On error returns -1 and puts "file:line: sentence" in why. */
int	 config_load(const char *path, struct cfg *c, char *why, size_t whysz);
const struct cfg_root	 *config_root(const struct cfg *, const char *name, size_t len);
const struct cfg_profile *config_profile(const struct cfg *, const char *name, size_t len);
const struct cfg_root	 *config_pgp_root(const struct cfg *, const char *name, size_t len);
int	 config_root_allows(const struct cfg_root *, const char *profile, size_t len);
const struct cfg_crl_root *config_crl_root(const struct cfg *, const char *name);

#endif
