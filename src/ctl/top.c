/*
 * top.c: airlockctl top, a live full-screen view for the crash-cart
 * console: link state, queue depth and request rates, the last time sample
 * and the drift, CRL freshness per root, the audit log's length. It is
 * airlockctl's only ncurses user, so it is kept out of the library and
 * linked into airlockctl alone.
 *
 * Built for an 80x24 serial console without colour: labels in bold (or
 * plain), no colour pairs, nothing wider than 80 columns. Each refresh
 * erases and redraws the whole screen in curses' buffer and lets curses
 * send only the cells that changed, so nothing flickers even at 9600 baud.
 * 'q' quits, any other key refreshes at once.
 */
#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curses.h>

#include "console.h"
#include "crl.h"
#include "msg.h"
#include "queue.h"
#include "crlsign.h"

#define TOP_COLS	80
#define TOP_MIN_COLS	40	/* smaller: a sentence instead of the view */
#define TOP_MIN_LINES	12

struct top {
	struct console	 c;
	struct console_snap s;
	int		 interval;	/* seconds between refreshes */
	int		 row;
};

/* The columns used: 80, or fewer on a smaller terminal. */
static int
top_width(void)
{
	return COLS < TOP_COLS ? COLS : TOP_COLS;
}

static void
top_label(struct top *t, const char *label)
{
	attron(A_BOLD);
	mvprintw(t->row, 0, "%s", label);
	attroff(A_BOLD);
}

static void
top_line(struct top *t, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
top_line(struct top *t, const char *label, const char *fmt, ...)
{
	char line[TOP_COLS + 1];
	va_list ap;

	if (t->row >= LINES - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 9, fmt, ap);
	va_end(ap);
	if (label != NULL)
		top_label(t, label);
	/* a narrower terminal: the line is cut at its edge, never wrapped */
	mvaddnstr(t->row++, 9, line, top_width() - 9);
}

static void
top_head(struct top *t)
{
	char now[40];

	attron(A_BOLD);
	mvprintw(0, 0, "airlock top: signer host");
	attroff(A_BOLD);
	console_stamp(t->s.now, now, sizeof(now));
	if (top_width() >= 26 + (int)strlen(now))	/* else left out */
		mvprintw(0, top_width() - (int)strlen(now) - 1, "%s", now);
	t->row = 2;
}

static void
top_link(struct top *t)
{
	const struct console_link *l = &t->s.link;
	char age[16];

	if (!l->known) {
		top_line(t, "LINK", "unknown: linkd has written no status file");
		return;
	}
	console_age(l->age, age, sizeof(age));
	if (l->age > 10)
		top_line(t, "LINK", "linkd SILENT for %s (last: link %s)", age,
		    l->state);
	else
		top_line(t, "LINK", "link %s   cable %s (%s)   linkd pid %lld",
		    l->state, l->cable, l->transport, l->pid);
	top_line(t, NULL, "sessions %llu  frames in %llu out %llu  "
	    "retransmits %llu", l->sessions, l->frames_in, l->frames_out,
	    l->retransmits);
	top_line(t, NULL, "messages in %llu out %llu  bad crc %llu  bad mac %llu"
	    "  srtt %d ms", l->msgs_in, l->msgs_out, l->bad_crc, l->bad_mac,
	    l->srtt_ms);
}

static void
top_queue(struct top *t)
{
	const struct console_snap *s = &t->s;
	char age[16];

	t->row++;
	if (!s->queue_ok) {
		top_line(t, "QUEUE", "cannot read %s", t->c.cfg->queue_db);
		return;
	}
	top_line(t, "QUEUE", "received %lld  handed %lld  answered %lld  "
	    "delivered %lld  failed %lld", (long long)s->n[Q_RECEIVED],
	    (long long)s->n[Q_HANDED], (long long)s->n[Q_ANSWERED],
	    (long long)s->n[Q_DELIVERED], (long long)s->n[Q_FAILED]);
	top_line(t, NULL, "oldest pending %s   requests %lld/min  %lld/10min  "
	    "%lld/h", s->oldest ? console_age(s->now - s->oldest, age,
	    sizeof(age)) : "-", (long long)s->rate_1m, (long long)s->rate_10m,
	    (long long)s->rate_1h);
}

static void
top_time(struct top *t)
{
	const struct console_snap *s = &t->s;
	char off[32], age[16], rtt[24];
	int64_t r;

	t->row++;
	if (!s->time_ok) {
		top_line(t, "TIME", "no sample yet");
		top_line(t, NULL, "WARNING: %s", s->time_why);
		return;
	}
	r = drift_rtt(&s->sample);
	if (r >= 0)
		snprintf(rtt, sizeof(rtt), "%.3f s", (double)r / 1e9);
	else
		snprintf(rtt, sizeof(rtt), "unknown");
	top_line(t, "TIME", "offset %s%s  sample %s old  rtt %s",
	    drift_fmt_offset(s->offset_ns, off, sizeof(off)), s->offset_now ? "" :
	    " (then)", s->verdict == DRIFT_REBOOT ? "(before boot)" : console_age(
	    (s->clock.mono_ns - s->sample.mono_ns) / DRIFT_NS, age, sizeof(age)), rtt);
	if (s->trend_ok)
		top_line(t, NULL, "webdb NTP %s   drift %+.1f ppm (%+.2f s/day)",
		    drift_sync_name(s->sample.sync), s->trend.ppm,
		    s->trend.ppm * 0.0864);
	else
		top_line(t, NULL, "webdb NTP %s   drift: too few samples",
		    drift_sync_name(s->sample.sync));
	if (s->time_warn)
		top_line(t, NULL, "WARNING: %.62s", s->time_why);
	else
		top_line(t, NULL, "OK (warn above %u s)", t->c.cfg->time_warn_offset);
}

static void
top_crl_root(struct top *t, const char *name)
{
	struct crlstore_crl crl;
	char age[16], next[16];
	int r = t->c.ca ? crlstore_current(t->c.ca, name, &crl) : -1;

	if (r != 1) {
		top_line(t, NULL, "%-20.20s %8s  %s", name, "-", r == 0 ?
		    "no CRL issued yet" : "cannot read");
		return;
	}
	console_age(t->s.now - crl.this_update, age, sizeof(age));
	if (crl.next_update >= t->s.now)
		console_age(crl.next_update - t->s.now, next, sizeof(next));
	top_line(t, NULL, "%-20.20s %8lld  %6s  %s%s", name, (long long)crl.number,
	    age, crl.next_update >= t->s.now ? "in " : "OVERDUE",
	    crl.next_update >= t->s.now ? next : "");
}

static void
top_crl(struct top *t)
{
	const struct cfg *cfg = t->c.cfg;
	int i;

	t->row++;
	top_line(t, "CRL", "%-20s %8s  %6s  %s", "ROOT", "NUMBER", "AGE",
	    "NEXT UPDATE");
	for (i = 0; i < cfg->nroots && t->row < LINES - 4; i++)
		top_crl_root(t, cfg->roots[i].name);
	if (i < cfg->nroots)
		top_line(t, NULL, "... %d more roots", cfg->nroots - i);
}

/* Below TOP_MIN_COLS x TOP_MIN_LINES: one sentence instead of a cut view. */
static int
top_too_small(void)
{
	if (COLS >= TOP_MIN_COLS && LINES >= TOP_MIN_LINES)
		return 0;
	/* short lines, each cut at the edge: it may be very narrow */
	mvaddnstr(0, 0, "airlock top needs 40x12", COLS);
	if (LINES > 1)
		mvaddnstr(1, 0, "(80x24 shows all); q quits", COLS);
	refresh();
	return 1;
}

static void
top_draw(struct top *t)
{
	char foot[64];

	erase();
	if (top_too_small())
		return;
	top_head(t);
	top_link(t);
	top_queue(t);
	top_time(t);
	top_crl(t);
	t->row++;
	if (t->s.audit_ok)
		top_line(t, "AUDIT", "%lld records", (long long)t->s.audit_seq);
	attron(A_REVERSE);
	snprintf(foot, sizeof(foot), " q quit   any key refreshes   every %d s ",
	    t->interval);
	mvaddnstr(LINES - 1, 0, foot, top_width());
	attroff(A_REVERSE);
	refresh();
}

int
top_run(const struct cfg *cfg, int argc, char **argv)
{
	struct top t;
	char *end;
	int ch;

	memset(&t, 0, sizeof(t));
	t.interval = 1;
	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt(argc, argv, "d:")) != -1) {
		if (ch != 'd' || (t.interval = (int)strtol(optarg, &end, 10)) < 1 ||
		    t.interval > 3600 || *end != '\0')
			errx(CONSOLE_USAGE, "usage: airlockctl top [-d SECONDS]");
	}
	if (optind != argc)
		return CONSOLE_USAGE;
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		errx(CONSOLE_FAIL, "top needs a terminal; use airlockctl status");
	if (initscr() == NULL)
		errx(CONSOLE_FAIL, "cannot start curses (is TERM set?)");
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	timeout(t.interval * 1000);
	for (;;) {
		console_open(&t.c, cfg);	/* again each time: files may appear */
		console_snap(&t.c, &t.s);
		top_draw(&t);
		console_close(&t.c);
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
	}
	endwin();
	return CONSOLE_OK;
}
