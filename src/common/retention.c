/*
 * retention.c: when and how much a daemon prunes (retention.h). The store
 * modules say which rows may go (queue_prune, castore_prune, outbox_prune);
 * this file runs them: a run starts RETENTION_FIRST_MS after start and
 * then every RETENTION_EVERY_MS, takes the cut-off "now minus the
 * retention" once, and deletes RETENTION_BATCH rows per statement until a
 * batch comes back short. A daemon's loop gives it RETENTION_SLICE_MS per
 * turn, so a first run over years of rows is spread over many turns and
 * the cable and the signer are served in between. The cut-off is the real
 * clock's: a clock set years ahead prunes early, one set back prunes late.
 */
#include <string.h>
#include <time.h>

#include "retention.h"
#include "util.h"

#define RETENTION_DAY	86400

void
retention_init(struct retention *r, struct db *db, retention_fn fn,
    const char *db_name, const char *rows, uint32_t days, uint64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->prune = fn;
	r->db_name = db_name;
	r->rows = rows;
	r->days = days;
	r->due_ms = now_ms + RETENTION_FIRST_MS;
}

static void
retention_start(struct retention *r, time_t now)
{
	r->running = 1;
	r->before = (int64_t)now - (int64_t)r->days * RETENTION_DAY;
	r->run_rows = 0;
}

/* One batch of the run: 1 there may be more, 0 the run is done, -1 error. */
static int
retention_batch(struct retention *r)
{
	int64_t n;

	if (r->prune(r->db, r->before, RETENTION_BATCH, &n) == -1) {
		r->errors++;
		return -1;
	}
	r->run_rows += n;
	r->pruned += (uint64_t)n;
	return n == RETENTION_BATCH;
}

int
retention_tick(struct retention *r, uint64_t now_ms)
{
	uint64_t start = mono_ms();
	int rc;

	if (r->days == 0 || (!r->running && now_ms < r->due_ms))
		return 0;
	if (!r->running) {
		retention_start(r, time(NULL));
		r->due_ms = now_ms + RETENTION_EVERY_MS;
	}
	while ((rc = retention_batch(r)) == 1)
		if (mono_ms() - start >= RETENTION_SLICE_MS)
			return 1;
	r->running = 0;
	if (rc == -1)
		log_warnx("cannot prune %s (the error is above); trying again "
		    "in an hour", r->db_name);
	if (r->run_rows > 0)
		log_info("pruned %lld %s older than %u days from %s",
		    (long long)r->run_rows, r->rows, r->days, r->db_name);
	return 0;
}

int
retention_run(struct retention *r, time_t now, int64_t *n)
{
	int rc;

	*n = 0;
	if (r->days == 0)
		return 0;
	retention_start(r, now);
	while ((rc = retention_batch(r)) == 1)
		;
	r->running = 0;
	*n = r->run_rows;
	return rc == -1 ? -1 : 0;
}
