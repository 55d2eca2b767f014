/*
 * util.c: EINTR-safe whole reads and writes (one helper instead of a loop
 * at every call), hex, clocks, atomic file replacement, name checks and the
 * table of error sentences.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "airlock.h"
#include "util.h"

ssize_t
read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (char *)p + got, n - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			if (got == 0)
				return 0;
			errno = EPIPE;
			return -1;
		}
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
write_full(int fd, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = write(fd, (const char *)p + done, n - done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int
set_nonblock(int fd, int on)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl);
}

void
hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
parse_num(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int
hex_decode(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(s[2 * i])) < 0 || (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
reqid_hex(const uint8_t *id, char out[33])
{
	hex_encode(id, AIRLOCK_REQID_LEN, out);
}

uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int
read_file(const char *path, struct buf *b, size_t max)
{
	int fd, saved;

	buf_reset(b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		saved = errno;
		buf_free(b);
		errno = saved;
		return -1;
	}
	return read_fd_close(fd, b, max);
}

int
read_fd_close(int fd, struct buf *b, size_t max)
{
	int saved;
	ssize_t r;
	uint8_t tmp[4096];

	buf_reset(b);
	for (;;) {
		r = read(fd, tmp, sizeof(tmp));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (b->len + (size_t)r > max || buf_put(b, tmp, (size_t)r) == -1) {
			r = -1;
			errno = EFBIG;
			break;
		}
	}
	saved = errno;
	close(fd);
	explicit_bzero(tmp, sizeof(tmp));	/* it may have held a passphrase */
	if (r != 0) {
		buf_free(b);	/* a part of a file is of no use: cleared, released */
		errno = saved;
		return -1;
	}
	return 0;
}

int
write_file_new(const char *path, const void *p, size_t n, int mode, int sync)
{
	int fd, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	/* the mode asked for, not the umask's (spool results under UMask=0077) */
	if (fchmod(fd, (mode_t)mode) == -1 || write_full(fd, p, n) == -1 ||
	    (sync && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

/* write, fsync, rename: a reader sees the old file or the new one, whole */
int
write_file_atomic(const char *path, const void *p, size_t n, int mode)
{
	char tmp[PATH_MAX];
	int saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (write_file_new(tmp, p, n, mode, 1) == -1)
		return -1;
	if (rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

void
say(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

int
name_chars_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
name_ok(const char *s, size_t n)
{
	return n > 0 && n < AIRLOCK_NAME_MAX && name_chars_ok(s, n);
}

static const struct {
	int		 code;
	const char	*text;
} al_errors[] = {
	{ AL_OK,		"success" },
	{ AL_E_MSG,		"the message does not decode" },
	{ AL_E_MSG_TYPE,	"unknown message type" },
	{ AL_E_MSG_FIELD,	"a required field is missing or a field is not allowed here" },
	{ AL_E_MSG_VALUE,	"a field has a bad value" },
	{ AL_E_ROOT,		"unknown root" },
	{ AL_E_PROFILE,		"unknown profile, or profile not allowed for this root" },
	{ AL_E_CSR_PARSE,	"the certificate request does not parse" },
	{ AL_E_CSR_SIG,		"the certificate request's self-signature does not verify" },
	{ AL_E_KEY_TYPE,	"the public key type is not allowed" },
	{ AL_E_KEY_SIZE,	"the public key is too small or has bad parameters" },
	{ AL_E_DIGEST,		"the request's signature digest is not allowed" },
	{ AL_E_SUBJECT,		"the subject name is not acceptable" },
	{ AL_E_SAN,		"the subjectAltName is not acceptable" },
	{ AL_E_VALIDITY,	"the requested validity is not acceptable" },
	{ AL_E_PGP_PARSE,	"the OpenPGP key does not parse" },
	{ AL_E_PGP_VERSION,	"the OpenPGP key's version is not supported" },
	{ AL_E_PGP_SELFSIG,	"a user ID to certify has no valid self-signature" },
	{ AL_E_PGP_EXPIRED,	"the OpenPGP key or a user ID to certify has expired" },
	{ AL_E_PGP_REVOKED,	"the OpenPGP key or a user ID to certify is revoked" },
	{ AL_E_PGP_UID,		"no user ID of the key has an address from the request's list" },
	{ AL_E_PGP_SIZE,	"the OpenPGP key is too large or has too many packets" },
	{ AL_E_SERIAL,		"unknown serial number for this root" },
	{ AL_E_REVOKED,		"the certificate is already revoked" },
	{ AL_E_REASON,		"bad revocation reason" },
	{ AL_E_CRL_NUMBER,	"the CRL number is newer than any CRL of this root" },
	{ AL_E_INVALIDITY,	"bad invalidity date" },
	{ AL_E_KEY_GEN,		"no such CA key generation, or it has retired" },
	{ AL_E_OPERATOR,	"rejected by the operator of the signer host" },
	{ AL_E_DENIED,		"denied by an operator (dual control)" },
	{ AL_E_NOT_APPROVED,	"not approved by enough operators in time" },
	{ AL_E_INTERNAL,	"internal error in the signer; see its log" },
	{ AL_E_STORAGE,		"database error on the signer; the request may be retried" },
	{ AL_E_BUSY,		"the signer is unavailable; the request may be retried" },
	{ AL_E_HELD,		"held for approval by operators" },
};

const char *
al_strerror(int code)
{
	size_t i;

	for (i = 0; i < sizeof(al_errors) / sizeof(al_errors[0]); i++)
		if (al_errors[i].code == code)
			return al_errors[i].text;
	return "unknown error";
}

/* Prints s in lines of at most width columns, broken at spaces if it can. */
void
text_wrap(const char *s, int indent, int width)
{
	size_t n = strlen(s), at = 0, take, sp;

	while (at < n) {
		take = n - at > (size_t)width ? (size_t)width : n - at;
		if (at + take < n) {
			for (sp = take; sp > 0 && s[at + sp] != ' '; sp--)
				;
			if (sp > 0)
				take = sp;
		}
		printf("%*s%.*s\n", indent, "", (int)take, s + at);
		at += take;
		while (s[at] == ' ')
			at++;
	}
}

/*
 * Length of the well-formed UTF-8 sequence at p (1..4), or 0: overlong
 * forms, surrogates, code points above U+10FFFF and sequences cut short are
 * refused, so a byte string has exactly one reading. The code point goes
 * to *cp when cp is not NULL.
 */
size_t
utf8_seq(const uint8_t *p, size_t left, uint32_t *cp)
{
	uint32_t c, min;
	size_t need, i;

	if (left == 0)
		return 0;
	if (p[0] < 0x80)
		need = 0, c = p[0], min = 0;
	else if ((p[0] & 0xe0) == 0xc0)
		need = 1, c = p[0] & 0x1f, min = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		need = 2, c = p[0] & 0x0f, min = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		need = 3, c = p[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (left - 1 < need)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = c;
	return need + 1;
}

int
utf8_text_ok(const uint8_t *p, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		if (p[i] == 0)
			return 0;
		if ((n = utf8_seq(p + i, len - i, NULL)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

int
b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}
