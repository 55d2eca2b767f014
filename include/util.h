/*
 * util.h: small helpers used everywhere: a growable byte buffer, EINTR-safe
 * whole reads and writes, big-endian packing, hex, clocks, logging.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* buf.c */
struct buf {
	uint8_t	*p;		/* data, owned */
	size_t	 len;		/* bytes used */
	size_t	 cap;		/* bytes allocated */
};
void	 buf_init(struct buf *);
void	 buf_free(struct buf *);		/* clears the bytes too */
void	 buf_reset(struct buf *);
int	 buf_reserve(struct buf *, size_t);
int	 buf_put(struct buf *, const void *, size_t);
int	 buf_put_u8(struct buf *, uint8_t);
int	 buf_put_u16(struct buf *, uint16_t);
int	 buf_put_u32(struct buf *, uint32_t);
int	 buf_put_u64(struct buf *, uint64_t);
void	 buf_consume(struct buf *, size_t);	/* drop n bytes from the front */

static inline uint16_t get_be16(const uint8_t *p)
{ return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t get_be64(const uint8_t *p)
{ return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }
static inline void put_be16(uint8_t *p, uint16_t v)
{ p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{ p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline void put_be64(uint8_t *p, uint64_t v)
{ put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }

/* util.c */
ssize_t	 read_full(int, void *, size_t);	/* 0 on EOF before any byte; -1 on error or short EOF */
int	 write_full(int, const void *, size_t);
int	 set_nonblock(int, int);
void	 hex_encode(const uint8_t *, size_t, char *);	/* out holds 2n+1 */
int	 hex_decode(const char *, uint8_t *, size_t);	/* exact length n; 0 or -1 */
/* A decimal integer, all of s, in lo..hi: 0, or -1 (empty, junk, out of range). */
int	 parse_num(const char *s, long long lo, long long hi, long long *out);
uint64_t mono_ms(void);				/* CLOCK_MONOTONIC in ms */
uint64_t real_ns(void);				/* CLOCK_REALTIME in ns */
/* The whole file (at most max bytes) in b: 0; or -1 (errno set), b freed. */
int	 read_file(const char *, struct buf *, size_t max);
int	 read_fd_close(int, struct buf *, size_t max);	/* closes the fd */
int	 write_file_atomic(const char *, const void *, size_t, int mode);
/* A new file (O_EXCL, no link followed) written whole, with mode whatever
 * the umask, fsynced when sync: 0, or -1 with errno and nothing left. */
int	 write_file_new(const char *, const void *, size_t, int mode, int sync);
int	 name_ok(const char *, size_t);		/* [A-Za-z0-9._-]{1,63} */
int	 name_chars_ok(const char *, size_t);	/* only [A-Za-z0-9._-] */
/* Puts a sentence in why (for the many "why" out-parameters); NULL is fine. */
void	 say(char *why, size_t whysz, const char *, ...) __attribute__((format(printf, 3, 4)));
void	 reqid_hex(const uint8_t *, char out[33]);
/* Well-formed UTF-8 sequence at p: its length 1..4 (code point in *cp), or 0. */
size_t	 utf8_seq(const uint8_t *p, size_t left, uint32_t *cp);
/* The value of a base64 digit (RFC 4648 alphabet), or -1. */
int	 b64_value(int c);
/* Well-formed UTF-8 throughout, and no NUL: 1, else 0. */
int	 utf8_text_ok(const uint8_t *p, size_t len);
/* Prints s to stdout in lines of at most width columns, indented. */
void	 text_wrap(const char *s, int indent, int width);

/* askpass.c */
/* Prompts on stderr and reads a line from the terminal on stdin without
 * echo. -1 if stdin or stderr is not a terminal, or the line does not fit. */
int	 askpass(const char *prompt, char *out, size_t outsz);

/* log.c */
enum { LOG_TO_STDERR = 1, LOG_TO_SYSLOG = 2 };
void	 log_init(const char *ident, int where, int verbose);
/* fn sees every warning and error line (not debug or info) after it is
 * logged; it must not log itself. NULL removes it. */
void	 log_hook(void (*fn)(int pri, const char *line));
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* An alarm an operator must act on (LOG_CRIT). */
void	 log_crit(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
/* errors (LOG_ERR): what failed and was not done; warnings are for what
 * was refused or will be retried as a matter of course */
void	 log_err(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
