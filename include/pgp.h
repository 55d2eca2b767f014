/*
 * pgp.h: OpenPGP key certification (docs/openpgp.md). A small, strict
 * OpenPGP v4 module of our own on OpenSSL EVP: packets with hard caps,
 * v4 fingerprints, certification signatures (types 0x10..0x13, 0x30),
 * RSA / EdDSA / ECDSA / DSA verify and sign, S2K secret-key import.
 *
 *   src/pki/pgp_packet.c  armour, packet walking, key and signature parsing (pure)
 *   src/pki/pgp_crypto.c  the OpenSSL boundary: keys, hashes, verify, sign, S2K
 *   src/pki/pgp_encrypt.c encryption to custodians' public keys (backups)
 *   src/pki/pgp_cert.c    the signer's policy and certification; the client's
 *                         verify and merge
 *   src/ca/pgp_import.c   S2K-protected secret keys (import of an existing root)
 *   src/ca/pgp_root.c     OpenPGP root directories: create, import, load
 *                         (pgp_root.h)
 *   src/client/pgp_client.c  webdb's side (pgp_client.h)
 *
 * Everything parsed points into the caller's bytes; nothing outlives them.
 */
#ifndef PGP_H
#define PGP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util.h"

#define PGP_MAX_KEY		(64u << 10)	/* a submitted key, binary or armour */
#define PGP_MAX_PACKETS		256	/* packets in one transferable key */
#define PGP_MAX_UID_LEN		2048	/* one user ID */
#define PGP_MAX_CERT_UIDS	16	/* user IDs certified per request */
#define PGP_MAX_EMAILS		16	/* addresses in one request */
#define PGP_FPR_LEN		20	/* v4 fingerprint, SHA-1 */
#define PGP_DEFAULT_DAYS	366

/* packet tags (RFC 4880 4.3) */
enum {
	PGP_TAG_SIG = 2, PGP_TAG_SECKEY = 5, PGP_TAG_PUBKEY = 6,
	PGP_TAG_SECSUB = 7, PGP_TAG_TRUST = 12, PGP_TAG_UID = 13,
	PGP_TAG_PUBSUB = 14, PGP_TAG_UATTR = 17,
};
/* public-key algorithms (RFC 4880 9.1, RFC 9580 9.1) */
enum {
	PGP_PK_RSA = 1, PGP_PK_RSA_E = 2, PGP_PK_RSA_S = 3, PGP_PK_ELG = 16,
	PGP_PK_DSA = 17, PGP_PK_ECDH = 18, PGP_PK_ECDSA = 19, PGP_PK_EDDSA = 22,
	PGP_PK_ED25519 = 27,
};
/* hash algorithms */
enum { PGP_H_SHA1 = 2, PGP_H_SHA256 = 8, PGP_H_SHA384 = 9, PGP_H_SHA512 = 10,
	PGP_H_SHA224 = 11 };
/* signature types */
enum { PGP_SIG_GENERIC = 0x10, PGP_SIG_POSITIVE = 0x13, PGP_SIG_SUBKEY = 0x18,
	PGP_SIG_DIRECT = 0x1f, PGP_SIG_KEYREV = 0x20, PGP_SIG_SUBREV = 0x28,
	PGP_SIG_CERTREV = 0x30 };
/* curves */
enum { PGP_CURVE_NONE = 0, PGP_CURVE_P256, PGP_CURVE_P384, PGP_CURVE_P521,
	PGP_CURVE_ED25519, PGP_CURVE_CV25519, PGP_CURVE_OTHER };

struct pgp_pkt {
	uint8_t		 tag;
	const uint8_t	*body;		/* packet body */
	size_t		 len;
	const uint8_t	*raw;		/* header and body, as found */
	size_t		 rawlen;
};

struct pgp_pub {
	int		 version;	/* 4 */
	uint32_t	 created;
	int		 alg;		/* PGP_PK_* */
	int		 curve;		/* PGP_CURVE_* */
	int		 bits;		/* RSA/DSA modulus, curve size */
	const uint8_t	*body;		/* the packet body, for hashing */
	size_t		 len;
	const uint8_t	*mat;		/* the key material after alg */
	size_t		 matlen;
	uint8_t		 fpr[PGP_FPR_LEN];
	void		*pkey;		/* EVP_PKEY *, owned */
};

struct pgp_sig {
	int		 version;	/* 4 */
	int		 type;		/* PGP_SIG_* */
	int		 pkalg, hashalg;
	const uint8_t	*hashed;	/* from the version octet to the end of the hashed subpackets */
	size_t		 hashedlen;
	uint8_t		 left16[2];
	const uint8_t	*mpis;		/* the signature material */
	size_t		 mpilen;
	uint32_t	 created;	/* 0: none (refused) */
	uint32_t	 sig_expires;	/* seconds after created; 0 never */
	uint32_t	 key_expires;	/* seconds after the key's creation; 0 never */
	int		 has_flags;
	uint8_t		 key_flags;	/* first octet of key flags (hashed) */
	int		 has_issuer;
	uint8_t		 issuer[8];	/* issuer key id (hashed or not) */
	int		 has_fpr;
	uint8_t		 issuer_fpr[PGP_FPR_LEN];
	int		 critical_unknown;	/* an unknown critical subpacket */
};

/* A transferable public key, parsed: the packets in order. */
struct pgp_key {
	struct buf	 bin;		/* the binary key (owned) */
	struct pgp_pkt	 pkt[PGP_MAX_PACKETS];
	int		 npkt;
	struct pgp_pub	 pub;		/* the primary key */
};

/* Signing side: an OpenPGP root's key (pgp_root.c). */
struct pgp_root {
	struct buf	 pub;		/* transferable public key, binary */
	struct pgp_key	*key;		/* pub parsed */
	void		*sk;		/* EVP_PKEY *, the secret key */
	char		 uid[256];	/* its first user ID */
};

/* pgp_packet.c */
/* A sentence in why (may be NULL); returns -1. */
int	 pgp_fail(char *why, size_t whysz, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* ASCII armour: decodes a "PGP PUBLIC KEY BLOCK" / "PRIVATE KEY BLOCK" into
 * out, or copies binary input; checks the CRC-24 when present. 0 or -1. */
int	 pgp_dearmor(const uint8_t *, size_t, struct buf *out, char *why, size_t whysz);
int	 pgp_armor(const char *label, const uint8_t *, size_t, struct buf *out);
/* Next packet at *off of p (len); 1 one, 0 end, -1 malformed (why). */
int	 pgp_next(const uint8_t *p, size_t len, size_t *off, struct pgp_pkt *,
	    char *why, size_t whysz);
/* Packet header (new format) for a body of len into out. */
int	 pgp_put_hdr(struct buf *out, int tag, size_t len);
int	 pgp_put_mpi(struct buf *out, const uint8_t *, size_t);
/* One MPI at *off of p[0..n): its value bytes in v, vlen; -1 if it runs past n. */
int	 pgp_mpi_get(const uint8_t *p, size_t n, size_t *off, const uint8_t **v,
	    size_t *vlen);
/* The public key fields of a key packet body; the secret part, if any,
 * starts at *pubend. No EVP key yet (pgp_pub_load). */
int	 pgp_parse_pub(const uint8_t *, size_t, struct pgp_pub *, size_t *pubend,
	    char *why, size_t whysz);
int	 pgp_parse_sig(const uint8_t *, size_t, struct pgp_sig *, char *why, size_t whysz);
/* Splits a binary transferable key into packets; checks the shape
 * (a primary key first, then user IDs, attributes, subkeys with their
 * signatures) and the caps. *key is allocated; 0 or -1 with why. */
int	 pgp_key_parse(const uint8_t *, size_t, int secret, struct pgp_key **,
	    char *why, size_t whysz);
void	 pgp_key_free(struct pgp_key *);
/* The e-mail address of a user ID ("Name <a@b>" or "a@b"), NUL-terminated
 * in out; -1 when it has none. */
int	 pgp_uid_email(const uint8_t *, size_t, char *out, size_t outsz);
void	 pgp_fpr_hex(const uint8_t fpr[PGP_FPR_LEN], char out[41]);

/* pgp_crypto.c */
int	 pgp_pub_load(struct pgp_pub *, char *why, size_t whysz);	/* fills fpr, bits, pkey */
void	 pgp_pub_free(struct pgp_pub *);
/* Verifies sig over (key, uid) (uid NULL: over the key alone) with signer. */
int	 pgp_verify_cert(const struct pgp_pub *signer, const struct pgp_pub *key,
	    const uint8_t *uid, size_t uidlen, const struct pgp_sig *, const uint8_t *raw,
	    size_t rawlen);
/* Verifies a subkey binding or subkey revocation sig of primary over sub. */
int	 pgp_verify_binding(const struct pgp_pub *primary, const struct pgp_pub *sub,
	    const struct pgp_sig *);
/* Makes a v4 signature packet of type over (key, uid) with the secret key
 * sk of signer: creation time, expiry (0 none), issuer fingerprint and
 * key id; extra hashed subpackets may be NULL. Appends it to out. */
int	 pgp_sign_cert(const struct pgp_pub *signer, void *sk, const struct pgp_pub *key,
	    const uint8_t *uid, size_t uidlen, int type, uint32_t created,
	    uint32_t expires, const struct buf *extra, struct buf *out);
/* A new secret key ("ed25519" or "rsa4096") and its public key packet
 * body (created at t). */
int	 pgp_keygen(const char *alg, uint32_t t, void **sk, struct buf *pubbody,
	    char *why, size_t whysz);
/* The EVP key of an unencrypted or S2K-protected secret key packet. */
int	 pgp_seckey_decrypt(const uint8_t *body, size_t len, const char *pass,
	    void **sk, char *why, size_t whysz);
int	 pgp_sk_write(const char *path, void *sk, const char *pass, char *why, size_t whysz);
int	 pgp_sk_write_dir(const char *dir, void *sk, const char *pass, char *why,
	    size_t whysz);	/* DIR/pgp.key (pgp_root.c) */
int	 pgp_sk_read(const char *path, const char *pass, void **sk, char *why, size_t whysz);
void	 pgp_sk_free(void *);
/* 1 when sk is the secret half of pub */
int	 pgp_sk_matches(void *sk, const struct pgp_pub *pub);

/* pgp_cert.c */
struct cfg_profile;
struct pgp_request {
	const uint8_t	*key;		/* the user's key, binary or armour */
	size_t		 keylen;
	const char	*emails;	/* addresses, one per line */
	size_t		 emailslen;
	uint32_t	 days;		/* 0: the profile's default */
	time_t		 now;		/* the signer's clock */
};
struct pgp_result {
	struct buf	 sigs;		/* the new signature packets, concatenated */
	int		 nsigs;
	char		 fpr[41];	/* the user key's fingerprint, hex */
	char		 uids[512];	/* certified user IDs' addresses, comma-separated */
	time_t		 expires;
};
/* The signer's policy and certification: AL_OK, or an AL_E_* code and one
 * sentence in why. */
int	 pgp_certify(const struct pgp_root *, const struct cfg_profile *,
	    const struct pgp_request *, struct pgp_result *, char *why, size_t whysz);
/* 0 when the primary key of k is usable at now: not revoked, a user ID
 * with a valid self-signature (SHA-256 or stronger), not expired; else -1
 * and a sentence in why. *flags: the key flags of the newest such
 * self-signature (-1 none). */
int	 pgp_key_usable(const struct pgp_key *k, time_t now, int *flags, char *why,
	    size_t whysz);
/* The client's side: checks that every packet of sigs is a certification by
 * rootpub (a binary transferable key) of a user ID of key, merges them and
 * writes the ASCII-armoured result to out. 0, or -1 with why. */
int	 pgp_merge(const uint8_t *rootpub, size_t rootlen, const uint8_t *key, size_t keylen,
	    const uint8_t *sigs, size_t sigslen, struct buf *out, char *why, size_t whysz);

/* pgp_encrypt.c: encryption to recipients' public keys (backups) */
#define PGP_MAX_RECIPIENTS	4
struct pgp_enc_key {
	struct buf	 bin;		/* the key as given, binary (owned) */
	struct pgp_pub	 sub;		/* the encryption subkey (points into bin) */
	char		 primary_hex[41], sub_hex[41];
	int		 found;
};
/* The encryption subkey of a transferable public key (binary or armour),
 * valid at now; 0, or -1 and a sentence in why. */
int	 pgp_enc_key(const uint8_t *, size_t, time_t now, struct pgp_enc_key *,
	    char *why, size_t whysz);
void	 pgp_enc_key_free(struct pgp_enc_key *);
/* An OpenPGP message (binary) of msg as a literal file name, date,
 * encrypted to every key of to[0..nto), appended to out. */
int	 pgp_encrypt(const struct pgp_enc_key *to, int nto, const char *name, uint32_t date,
	    const uint8_t *msg, size_t n, struct buf *out, char *why, size_t whysz);
/* The number of recipients when p starts an OpenPGP message encrypted to
 * public keys (their key IDs, hex, blank-separated, in out), else 0. */
int	 pgp_recipients(const uint8_t *p, size_t n, char *out, size_t outsz);

#endif
