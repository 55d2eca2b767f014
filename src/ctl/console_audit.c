/*
 * console_audit.c: airlockctl audit verify | tail | export.
 *
 * verify walks the chain in ca.db (audit.c) and names the first record
 * that was changed, deleted or moved; with --head SEQ:HASH (the head a
 * previous verify printed, kept off the machine) it also catches records
 * cut off the end. export writes the chain as text for review elsewhere,
 * one record a line, tab-separated, with the hashes, so that
 * `airlockctl audit verify --file EXPORT` (or any program that follows
 * docs/architecture.md) can check it without ca.db:
 *
 *   # airlock audit export v1
 *   # ...comment lines...
 *   seq TAB time TAB kind TAB reqid|- TAB root TAB actor TAB text TAB prev TAB hash
 *   # end N records
 *
 * kind, root, actor and text are escaped: backslash, tab, newline and
 * carriage return as \\ \t \n \r, other control bytes as \xHH; reqid,
 * prev and hash are lower-case hex. The end line shows whether the file
 * itself was cut short.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "console.h"
#include "castore.h"

#define EXPORT_MAGIC	"# airlock audit export v1"
#define EXPORT_FIELDS	9

static struct db *
console_audit_db(const struct cfg *cfg)
{
	struct db *ca;

	if (castore_open(cfg->ca_db, DB_RO, &ca) == -1)
		errx(CONSOLE_FAIL, "%s: cannot open the CA database", cfg->ca_db);
	if (castore_check(ca, cfg->ca_db) == -1)
		errx(CONSOLE_BROKEN, "%s: damaged: the audit chain in it cannot be "
		    "trusted", cfg->ca_db);
	return ca;
}

/* "SEQ:HEX" */
static void
console_parse_head(const char *s, int64_t *seq, uint8_t head[AUDIT_HASH_LEN])
{
	char *end;

	*seq = strtoll(s, &end, 10);
	if (end == s || *end != ':' || *seq < 1 || strlen(end + 1) !=
	    2 * AUDIT_HASH_LEN || hex_decode(end + 1, head, AUDIT_HASH_LEN) == -1)
		errx(CONSOLE_USAGE, "--head takes SEQ:HASH as printed by audit "
		    "verify (a number, a colon, 64 hex digits)");
}

static int
console_verify_result(const char *what, int r, const struct audit_check *c)
{
	char head[2 * AUDIT_HASH_LEN + 1];

	if (r == 1) {
		printf("audit chain in %s: BROKEN at record %lld\n  %s\n", what,
		    (long long)c->bad_seq, c->why);
		if (c->bad_seq > 1)
			printf("  records 1 to %lld are intact\n",
			    (long long)c->bad_seq - 1);
		return CONSOLE_BROKEN;
	}
	hex_encode(c->head, AUDIT_HASH_LEN, head);
	printf("audit chain in %s: %lld records, intact\n", what,
	    (long long)c->head_seq);
	if (c->head_seq > 0)
		printf("head %lld:%s\n", (long long)c->head_seq, head);
	printf("(keep the head line elsewhere: --head SEQ:HASH later also "
	    "shows that\n nothing was cut off the end)\n");
	return CONSOLE_OK;
}

/* --- reading an export --- */

static int
console_unescape(const char *s, char *out, size_t outsz)
{
	size_t n = 0;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (n + 1 >= outsz)
			return -1;
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		switch (*++s) {
		case '\\': out[n++] = '\\'; break;
		case 't': out[n++] = '\t'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 'x':
			if (sscanf(s + 1, "%2x", &v) != 1 || strlen(s + 1) < 2)
				return -1;
			out[n++] = (char)v;
			s += 2;
			break;
		default:
			return -1;
		}
	}
	out[n] = '\0';
	return 0;
}

static int
console_split(char *line, char *f[EXPORT_FIELDS])
{
	int n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	for (;;) {
		if (n == EXPORT_FIELDS)
			return -1;
		f[n++] = p;
		if ((p = strchr(p, '\t')) == NULL)
			break;
		*p++ = '\0';
	}
	return n == EXPORT_FIELDS ? 0 : -1;
}

static int
console_export_rec(char *line, struct audit_rec *r)
{
	char *f[EXPORT_FIELDS], *end;

	memset(r, 0, sizeof(*r));
	if (console_split(line, f) == -1)
		return -1;
	r->seq = strtoll(f[0], &end, 10);
	if (*end != '\0' || end == f[0])
		return -1;
	r->time = strtoll(f[1], &end, 10);
	if (*end != '\0' || end == f[1])
		return -1;
	r->has_reqid = strcmp(f[3], "-") != 0;
	if ((r->has_reqid && hex_decode(f[3], r->reqid, AIRLOCK_REQID_LEN) == -1) ||
	    console_unescape(f[2], r->kind, sizeof(r->kind)) == -1 ||
	    console_unescape(f[4], r->root, sizeof(r->root)) == -1 ||
	    console_unescape(f[5], r->actor, sizeof(r->actor)) == -1 ||
	    console_unescape(f[6], r->text, sizeof(r->text)) == -1 ||
	    hex_decode(f[7], r->prev, AUDIT_HASH_LEN) == -1 ||
	    hex_decode(f[8], r->hash, AUDIT_HASH_LEN) == -1)
		return -1;
	return 0;
}

struct console_export {
	struct audit_check c;
	uint8_t		 prev[AUDIT_HASH_LEN];
	int		 bad;		/* the chain broke */
	int		 ended;		/* the end line was seen */
	long long	 end_n;
};

static int
console_export_line(struct console_export *x, char *line, int lineno,
    const char *path)
{
	struct audit_rec *r;

	if (lineno == 1 && strncmp(line, EXPORT_MAGIC, strlen(EXPORT_MAGIC)) != 0)
		errx(CONSOLE_FAIL, "%s: not an airlock audit export", path);
	if (sscanf(line, "# end %lld records", &x->end_n) == 1) {
		x->ended = 1;
		return 0;
	}
	if (line[0] == '#' || line[0] == '\n' || x->bad)
		return 0;
	if (x->ended)
		errx(CONSOLE_FAIL, "%s:%d: records after the end line", path, lineno);
	if ((r = malloc(sizeof(*r))) == NULL)
		err(CONSOLE_FAIL, "malloc");
	if (console_export_rec(line, r) == -1)
		errx(CONSOLE_FAIL, "%s:%d: not a record of 9 tab-separated fields",
		    path, lineno);
	x->bad = audit_check_next(&x->c, x->prev, r);
	free(r);
	return 0;
}

static int
console_verify_file(const char *path, int64_t head_seq, const uint8_t *head)
{
	struct console_export x;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *f;

	memset(&x, 0, sizeof(x));
	if ((f = fopen(path, "r")) == NULL)
		err(CONSOLE_FAIL, "%s", path);
	while (getline(&line, &cap, f) != -1)
		console_export_line(&x, line, ++lineno, path);
	free(line);
	fclose(f);
	if (lineno == 0)
		errx(CONSOLE_FAIL, "%s: empty", path);
	if (!x.bad && (!x.ended || x.end_n != x.c.head_seq)) {
		printf("%s: the export is cut short or was edited: its end line "
		    "is missing or does not match the %lld records\n", path,
		    (long long)x.c.head_seq);
		return CONSOLE_BROKEN;
	}
	if (!x.bad && head_seq > 0 && (head_seq > x.c.head_seq ||
	    (head_seq == x.c.head_seq && memcmp(head, x.c.head, AUDIT_HASH_LEN))))
		errx(CONSOLE_BROKEN, "%s: --head %lld is not in this export",
		    path, (long long)head_seq);
	return console_verify_result(path, x.bad, &x.c);
}

static int
console_verify(const struct cfg *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "head", required_argument, NULL, 'H' },
		{ "file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	uint8_t head[AUDIT_HASH_LEN];
	struct audit_check c;
	const char *file = NULL;
	int64_t head_seq = 0;
	struct db *ca;
	int ch, r;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'H')
			console_parse_head(optarg, &head_seq, head);
		else if (ch == 'f')
			file = optarg;
		else
			return CONSOLE_USAGE;
	}
	if (optind != argc)
		return CONSOLE_USAGE;
	if (file != NULL)
		return console_verify_file(file, head_seq, head);
	if (cfg == NULL)
		return CONSOLE_USAGE;
	ca = console_audit_db(cfg);
	if ((r = audit_verify(ca, head_seq, head_seq ? head : NULL, &c)) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the audit log: %s", cfg->ca_db,
		    db_last_error(ca));
	db_close(ca);
	return console_verify_result(cfg->ca_db, r, &c);
}

/* --- tail --- */

static int
console_tail_one(void *arg, const struct audit_rec *r)
{
	char when[32], id[33], line[AUDIT_TEXT_MAX + 64];
	time_t t = (time_t)r->time;
	struct tm tm;

	(void)arg;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%6lld %s %-8s %-14.14s %.28s\n", (long long)r->seq, when, r->kind,
	    r->root[0] ? r->root : "-", r->actor);
	if (r->has_reqid) {
		reqid_hex(r->reqid, id);
		snprintf(line, sizeof(line), "req=%s %s", id, r->text);
	} else
		snprintf(line, sizeof(line), "%s", r->text);
	text_wrap(line, 7, 72);
	return 0;
}

static int
console_tail(const struct cfg *cfg, int argc, char **argv)
{
	int64_t last, n = 10;
	struct db *ca;
	char *end;
	int ch;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch != 'n' || (n = strtoll(optarg, &end, 10)) < 1 || *end != '\0')
			errx(CONSOLE_USAGE, "usage: airlockctl audit tail [-n N]");
	}
	if (optind != argc)
		return CONSOLE_USAGE;
	ca = console_audit_db(cfg);
	if (audit_last_seq(ca, &last) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the audit log: %s", cfg->ca_db,
		    db_last_error(ca));
	printf("   SEQ TIME (UTC)          KIND     ROOT           ACTOR\n");
	if (audit_each(ca, last > n ? last - n : 0, n, NULL, console_tail_one,
	    NULL) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the audit log", cfg->ca_db);
	printf("%lld records in all\n", (long long)last);
	db_close(ca);
	return CONSOLE_OK;
}

/* --- export --- */

static void
console_escape(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

struct console_out {
	FILE		*f;
	long long	 n;
};

static int
console_export_one(void *arg, const struct audit_rec *r)
{
	char hex[2 * AUDIT_HASH_LEN + 1];
	struct console_out *o = arg;
	FILE *f = o->f;

	o->n++;
	fprintf(f, "%lld\t%lld\t", (long long)r->seq, (long long)r->time);
	console_escape(f, r->kind);
	if (r->has_reqid) {
		hex_encode(r->reqid, AIRLOCK_REQID_LEN, hex);
		fprintf(f, "\t%s\t", hex);
	} else
		fputs("\t-\t", f);
	console_escape(f, r->root);
	fputc('\t', f);
	console_escape(f, r->actor);
	fputc('\t', f);
	console_escape(f, r->text);
	hex_encode(r->prev, AUDIT_HASH_LEN, hex);
	fprintf(f, "\t%s\t", hex);
	hex_encode(r->hash, AUDIT_HASH_LEN, hex);
	fprintf(f, "%s\n", hex);
	return ferror(f) ? -1 : 0;
}

static int
console_export(const struct cfg *cfg, int argc, char **argv)
{
	struct audit_check c;
	struct console_out o;
	const char *out = NULL;
	char when[40], head[2 * AUDIT_HASH_LEN + 1];
	struct db *ca;
	FILE *f = stdout;
	int ch, r;

	optind = 0;	/* glibc: start afresh, and permute again */
	while ((ch = getopt(argc, argv, "o:")) != -1) {
		if (ch != 'o')
			errx(CONSOLE_USAGE, "usage: airlockctl audit export [-o FILE]");
		out = optarg;
	}
	if (optind != argc)
		return CONSOLE_USAGE;
	ca = console_audit_db(cfg);
	if ((r = audit_verify(ca, 0, NULL, &c)) == -1)
		errx(CONSOLE_FAIL, "%s: cannot read the audit log", cfg->ca_db);
	if (out != NULL && (f = fopen(out, "wx")) == NULL)
		err(CONSOLE_FAIL, "%s (an export is never overwritten)", out);
	hex_encode(c.head, AUDIT_HASH_LEN, head);
	fprintf(f, "%s\n# from %s at %s\n# chain %s when exported; head %lld:%s\n"
	    "# seq\ttime\tkind\treqid\troot\tactor\ttext\tprev\thash\n",
	    EXPORT_MAGIC, cfg->ca_db, console_stamp(time(NULL), when,
	    sizeof(when)), r == 0 ? "intact" : "BROKEN", (long long)c.head_seq,
	    head);
	o.f = f;
	o.n = 0;
	if (audit_each(ca, 0, 0, NULL, console_export_one, &o) == -1)
		errx(CONSOLE_FAIL, "cannot export the audit log");
	fprintf(f, "# end %lld records\n", o.n);
	if (fflush(f) == EOF || (out != NULL && fclose(f) == EOF))
		err(CONSOLE_FAIL, "%s", out ? out : "stdout");
	if (out != NULL)
		printf("%s: %lld records exported; check it anywhere with "
		    "airlockctl audit verify --file %s\n", out, o.n, out);
	db_close(ca);
	return r == 0 ? CONSOLE_OK : CONSOLE_BROKEN;
}

int
console_audit(const struct cfg *cfg, int argc, char **argv)
{
	if (argc < 2)
		return CONSOLE_USAGE;
	if (strcmp(argv[1], "verify") == 0)
		return console_verify(cfg, argc - 1, argv + 1);
	if (cfg == NULL)
		return CONSOLE_USAGE;
	if (strcmp(argv[1], "tail") == 0)
		return console_tail(cfg, argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return console_export(cfg, argc - 1, argv + 1);
	return CONSOLE_USAGE;
}
