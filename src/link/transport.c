/*
 * transport.c: picks the transport named in the configuration, runs one
 * turn of the cable for a link, and keeps a small status file (the
 * transport's and the link's counters, rewritten about once a second) that
 * the "usb" commands of airlockctl and airlock-client show, since they run
 * in another process than the daemon that holds the cable.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "link.h"
#include "transport.h"
#include "util.h"

#define TRANSPORT_PUBLISH_MS	1000
#define TRANSPORT_STALE_S	10	/* an older status file: no daemon writes it */

static const struct transport_ops *const transports[] = {
	&serial_ops,
	&usb_pl2501_ops,
};

int
transport_init(struct transport *t, const struct cfg_link *c, char *why, size_t whysz)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->cfg = c;
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i]->name, c->transport) == 0) {
			t->ops = transports[i];
			return 0;
		}
	snprintf(why, whysz, "transport \"%s\" is not available in this build", c->transport);
	return -1;
}

void
transport_free(struct transport *t)
{
	if (t->ops == NULL)
		return;
	t->ops->close(t);
	if (t->ops->release != NULL)
		t->ops->release(t);
	t->priv = NULL;
	t->fd = -1;
}

#define TRANSPORT_WARN_MS	300000	/* a cable that stays unopenable: warn again */

/*
 * A device that is missing for a while (unplugged, or the wrong name in the
 * configuration, or a user without access to it) is tried every second; the
 * reason is a warning when it changes and every TRANSPORT_WARN_MS while it
 * lasts, so the sysadmin sees it without a flood of lines.
 */
int
transport_reopen(struct transport *t, uint64_t now)
{
	char why[sizeof(t->open_why)];

	if (t->fd != -1)
		return 0;
	if (t->ops->open(t, why, sizeof(why)) == 0) {
		log_info("cable open: %s", t->cfg->device);
		t->open_why[0] = '\0';
		return 0;
	}
	if (strcmp(why, t->open_why) != 0 || now >= t->open_warn_at) {
		log_warnx("cable: %s (trying again every second)", why);
		snprintf(t->open_why, sizeof(t->open_why), "%s", why);
		t->open_warn_at = now + TRANSPORT_WARN_MS;
	} else
		log_debug("cable: %s", why);
	return -1;
}

/*
 * One turn of the cable for a link: read what is there into the link, let
 * it run its timers, and write what it has within the pacing allowance.
 * Returns -1 when the device has gone: the caller closes and reopens it.
 */
int
transport_link_read(struct transport *t, struct link *l, short revents,
    uint64_t now)
{
	uint8_t tmp[8192];
	ssize_t r = 0;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while ((r = t->ops->read(t, tmp, sizeof(tmp))) > 0)
			link_input(l, tmp, (size_t)r, now);
		if (r == -1)
			return -1;
	}
	return 0;
}

int
transport_link_write(struct transport *t, struct link *l, uint64_t now)
{
	ssize_t r = 0;
	size_t n;

	link_pump(l, now);
	while (l->out.len > 0 && (n = link_write_allowance(l, now)) > 0) {
		if ((r = t->ops->write(t, l->out.p, n < l->out.len ? n : l->out.len)) <= 0)
			break;
		buf_consume(&l->out, (size_t)r);
		link_wrote(l, (size_t)r, now);
		link_pump(l, now);
	}
	return r == -1 ? -1 : 0;
}

int
transport_link_io(struct transport *t, struct link *l, short revents, uint64_t now)
{
	if (transport_link_read(t, l, revents, now) == -1)
		return -1;
	return transport_link_write(t, l, now);
}

#define TRANSPORT_SHOW_COLS	79	/* `usb` output: within an 80-column console */

static const char *
transport_peer_name(int peer)
{
	return peer == 1 ? "present" : peer == 0 ? "absent" : "unknown";
}

void
transport_publish(struct transport *t, const struct link *l, uint64_t now)
{
	char ls[1024];

	if (t->cfg->status_file[0] == '\0' || now < t->publish_at)
		return;
	link_stats_line(l, ls, sizeof(ls));
	transport_publish_text(t, ls, now);
}

void
transport_publish_text(struct transport *t, const char *ls, uint64_t now)
{
	char text[3072], st[1024];
	int peer, n;

	if (t->cfg->status_file[0] == '\0' || now < t->publish_at)
		return;
	t->publish_at = now + TRANSPORT_PUBLISH_MS;
	t->ops->status(t, st, sizeof(st));
	peer = t->ops->link_status ? t->ops->link_status(t) : -1;
	n = snprintf(text, sizeof(text), "pid %ld\nupdated %lld\ntransport %s\n"
	    "cable %s\npeer %s\n%s\nlink %s\n", (long)getpid(), (long long)time(NULL),
	    t->ops->name, t->fd == -1 ? "closed" : "open", transport_peer_name(peer),
	    st, ls);
	/* a new file renamed over the old: never written through a link */
	if (write_file_atomic(t->cfg->status_file, text, (size_t)n < sizeof(text) ?
	    (size_t)n : sizeof(text) - 1, 0644) == -1)
		log_debug("%s: %s", t->cfg->status_file, strerror(errno));
}

/*
 * One line of the status file for `usb`, within 80 columns: "updated"
 * as a date, long counter lines wrapped at their spaces.
 */
static void
transport_show_line(char *line, FILE *out)
{
	char when[32];
	long long t;
	struct tm tm;
	time_t tt;
	size_t col = 2, w;
	char *tok, *save = NULL;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "updated %lld", &t) == 1) {
		tt = (time_t)t;
		gmtime_r(&tt, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(out, "  updated %s\n", when);
		return;
	}
	fputs("  ", out);
	for (tok = strtok_r(line, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		w = strlen(tok);
		if (col > 2 && col + 1 + w > TRANSPORT_SHOW_COLS) {
			fputs("\n    ", out);
			col = 4;
		} else if (col > 2) {
			fputc(' ', out);
			col++;
		}
		fputs(tok, out);
		col += w;
	}
	fputc('\n', out);
}

int
transport_show(const struct cfg_link *c, FILE *out)
{
	char line[2048];
	struct stat sb;
	time_t age;
	FILE *f;
	int rv;

	rv = usb_list(c, out);
	fprintf(out, "\nconfigured transport: %s\n", c->transport);
	if ((f = fopen(c->status_file, "r")) == NULL) {
		fprintf(out, "no status in %s: %s (is the daemon running?)\n",
		    c->status_file, strerror(errno));
		return -1;
	}
	age = fstat(fileno(f), &sb) == 0 ? time(NULL) - sb.st_mtime : 0;
	fprintf(out, "in use (%llds ago%s), from\n  %s:\n", (long long)age,
	    age > TRANSPORT_STALE_S ? "; stale: is the daemon running?" : "",
	    c->status_file);
	while (fgets(line, sizeof(line), f) != NULL)
		transport_show_line(line, out);
	fclose(f);
	return rv;
}
