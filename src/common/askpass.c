/*
 * askpass.c: asks the operator for a passphrase or PIN on the console,
 * without echo. Only used at start-up (airlock-signerd loading an
 * encrypted CA key with no pass_file, airlockctl root init) and only when
 * standard input and standard error are a terminal; the caller clears the
 * answer after use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

/* Reads one line from fd into out, without its line end. */
static int
askpass_line(int fd, char *out, size_t outsz)
{
	size_t n = 0;
	ssize_t r;
	char c;

	for (;;) {
		if (proc_quit) {
			r = -1;
			break;
		}
		/* SIGTERM or SIGINT at the prompt (proc_signals) stop it */
		if ((r = read(fd, &c, 1)) == -1 && errno == EINTR && !proc_quit)
			continue;
		if (r <= 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 >= outsz) {
			explicit_bzero(out, outsz);
			return -1;	/* too long; the rest stays unread */
		}
		out[n++] = c;
	}
	out[n] = '\0';
	c = 0;
	return r < 0 ? -1 : 0;
}

int
askpass(const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	int rc, fd = STDIN_FILENO;

	if (outsz == 0 || !isatty(fd) || !isatty(STDERR_FILENO) ||
	    tcgetattr(fd, &old) == -1)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	fprintf(stderr, "%s", prompt);
	fflush(stderr);
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == -1)
		return -1;
	rc = askpass_line(fd, out, outsz);
	tcsetattr(fd, TCSAFLUSH, &old);
	return rc;
}
