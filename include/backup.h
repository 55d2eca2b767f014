/*
 * backup.h: airlock's backup file (src/pki/backup.c; the format is in
 * docs/operations.md, "The backup file"). A backup is a list of entries
 * (name, original path, mode, owner, bytes) with a manifest of SHA-256
 * sums, optionally sealed to a passphrase (scrypt, AES-256-GCM). The
 * archive is built and read in memory; airlockctl and airlock-client
 * decide what goes in and where it goes back.
 */
#ifndef BACKUP_H
#define BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "pgp.h"
#include "util.h"

#define BK_NAME_MAX	256
#define BK_PATH_MAX	4096
#define BK_HEAD_NAME	"audit-head"	/* the chain head at the snapshot: "SEQ:HASH\n" */

struct bk_entry {
	char		 name[BK_NAME_MAX];	/* in the backup: "db/ca.db", no blanks */
	char		 path[BK_PATH_MAX];	/* where it came from (restore target) */
	uint32_t	 mode;			/* permission bits */
	char		 owner[64], group[64];	/* names; "-" unknown */
	uint64_t	 size;
	uint8_t		 sha[32];		/* SHA-256 of the bytes */
	size_t		 off;			/* the bytes: data.p + off */
};

struct bk_archive {
	struct bk_entry	*e;
	size_t		 n, cap;
	struct buf	 data;			/* every entry's bytes, in order */
};

/* backup.c */
void	 bk_init(struct bk_archive *);
void	 bk_free(struct bk_archive *);		/* clears the bytes too */
/* Adds an entry with these bytes (owner and group from st_uid/st_gid). */
int	 bk_add(struct bk_archive *, const char *name, const char *path,
	    uint32_t mode, uint32_t uid, uint32_t gid, const void *p, size_t n,
	    char *why, size_t whysz);
/* Adds the regular file at path (mode and owner from the file). */
int	 bk_add_file(struct bk_archive *, const char *name, const char *path,
	    char *why, size_t whysz);
const struct bk_entry *bk_find(const struct bk_archive *, const char *name);
/* The manifest text: one line per entry, "SHA256 SIZE MODE OWNER GROUP NAME PATH". */
int	 bk_manifest(const struct bk_archive *, struct buf *out);
/* The whole file: plain when pass is NULL, else sealed to pass. */
int	 bk_encode(const struct bk_archive *, const char *pass, struct buf *out,
	    char *why, size_t whysz);
/* 1 sealed, 0 plain, -1 neither (not a backup). */
int	 bk_sealed(const uint8_t *p, size_t n);
/* Opens (pass needed when sealed), parses and checks every sum. */
int	 bk_decode(const uint8_t *p, size_t n, const char *pass,
	    struct bk_archive *, char *why, size_t whysz);

void	 bk_owner_names(uint32_t uid, uint32_t gid, struct bk_entry *);

/* backup_io.c */
/* A consistent snapshot of the database at path (in use or not). */
int	 bk_add_db(struct bk_archive *, const char *name, const char *path,
	    char *why, size_t whysz);
/* The regular files of dir as prefix/FILE, subdirectories depth deep. */
int	 bk_add_dir(struct bk_archive *, const char *prefix, const char *dir,
	    int depth, char *why, size_t whysz);
/* "what: done/total files, X MiB" on a terminal (stderr), else nothing. */
void	 bk_progress(const char *what, size_t done, size_t total, uint64_t bytes);
/* From pass_file (first line), else asked on the terminal when ask (twice
 * when confirm); at least 8 characters. */
int	 bk_passphrase(const char *pass_file, int ask, int confirm, char *out,
	    size_t outsz, char *why, size_t whysz);
int	 bk_read_in(const char *file, const char *pass_file, int ask,
	    struct bk_archive *, char *why, size_t whysz);
/* -1 (why) when a target of the backup exists and not force. */
int	 bk_targets_free(const struct bk_archive *, int force, char *why, size_t whysz);
/* Writes one entry back to its path (parents made 0700; owner by name as root). */
int	 bk_put_entry(const struct bk_archive *, const struct bk_entry *,
	    char *why, size_t whysz);

/* backup_cmd.c */
struct bk_opts {
	const char	*pass_file;		/* --pass-file */
	int		 plain, verify, force;	/* --no-encrypt, --verify, --force */
	int		 ask;			/* stdin is a terminal */
	const char	*to[PGP_MAX_RECIPIENTS];	/* --to KEYFILE (OpenPGP public keys) */
	int		 nto;
};
/* How a new backup is sealed: to OpenPGP keys, to a passphrase, or not. */
struct bk_seal {
	struct pgp_enc_key to[PGP_MAX_RECIPIENTS];
	int		 nto;
	char		 pass[256];		/* "" with --to and --no-encrypt */
	char		 what[512];		/* for the summary line */
};
/* Before anything is collected: the keys read and checked, or the
 * passphrase asked (twice). 0, or -1 and why. */
int	 bk_seal_prepare(const struct bk_opts *, struct bk_seal *, char *why, size_t whysz);
/* The archive, sealed as prepared, to file (mode 0600, atomically). */
int	 bk_seal_write(const struct bk_archive *, const char *file, const struct bk_seal *,
	    char *why, size_t whysz);
void	 bk_seal_free(struct bk_seal *);
/* The options of "backup|restore [...] FILE": FILE's index, or -1. */
int	 bk_opts_parse(int argc, char **argv, struct bk_opts *);
void	 bk_summary(const struct bk_archive *, const char *verb, const char *file);
/* backup --verify: the manifest and the summary; exit 1 (errx) if bad. */
int	 bk_verify_file(const char *file, const struct bk_opts *);
/* Every entry with a path back to it, with the progress line. */
int	 bk_put_all(const struct bk_archive *, char *why, size_t whysz);

#endif
