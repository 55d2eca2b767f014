/*
 * link_report.c: the link's counters as people read them: one line with
 * every counter (logs, STATUS, link.status), and the periodic warning about
 * input that was thrown away.
 */
#include <stdio.h>

#include "link.h"

/*
 * Input that was thrown away gets a log line, but not one per frame: a
 * flood of garbage must not become a flood of log. Every LINK_REPORT_MS the
 * counters that moved are given with how much they moved in that window
 * (the garbage bytes too; before 2026-12 that figure was the total since
 * start, which read like a window's).
 */
size_t
link_report_line(struct link *l, char *line, size_t linesz)
{
	const uint64_t v[10] = { l->dec.st.bad_crc, l->dec.st.bad_cobs,
	    l->dec.st.runt + l->dec.st.bad_header + l->dec.st.cut, l->dec.st.oversize,
	    l->st.bad_mac, l->st.bad_session, l->st.dup, l->st.out_of_window,
	    l->st.protocol_errors, l->st.outages };
	static const char *const name[10] = { "bad CRC", "bad COBS",
	    "short, cut or bad header", "oversize", "bad MAC", "other session",
	    "duplicate", "out of window", "protocol error", "outage" };
	uint64_t garbage = l->dec.st.garbage - l->reported_garbage;
	size_t n = 0;
	int i, moved = 0;

	n = (size_t)snprintf(line, linesz, "in the last %d s:", LINK_REPORT_MS / 1000);
	for (i = 0; i < 10; i++) {
		if (v[i] == l->reported[i])
			continue;
		if (n < linesz)
			n += (size_t)snprintf(line + n, linesz - n, "%s %llu %s",
			    moved ? "," : "", (unsigned long long)(v[i] - l->reported[i]),
			    name[i]);
		l->reported[i] = v[i];
		moved = 1;
	}
	l->reported_garbage = l->dec.st.garbage;
	if (!moved) {
		line[0] = '\0';
		return 0;
	}
	if (n < linesz)
		n += (size_t)snprintf(line + n, linesz - n, " (%llu garbage bytes)",
		    (unsigned long long)garbage);
	return n < linesz ? n : linesz - 1;
}

void
link_stats_line(const struct link *l, char *out, size_t outsz)
{
	const struct link_stats *t = &l->st;
	const struct frame_stats *f = &l->dec.st;

	snprintf(out, outsz, "state=%s sessions=%llu frames_in=%llu frames_out=%llu "
	    "data_out=%llu retransmits=%llu timeouts=%llu bad_crc=%llu bad_cobs=%llu "
	    "runt=%llu oversize=%llu cut=%llu garbage_bytes=%llu bad_mac=%llu bad_session=%llu "
	    "dup=%llu out_of_window=%llu stale_acks=%llu resets_sent=%llu "
	    "resets_rcvd=%llu protocol_errors=%llu msgs_in=%llu msgs_out=%llu "
	    "frame_size=%d resizes=%llu srtt_ms=%d outages=%llu outage_retx=%llu "
	    "revision=%d resumes=%llu fresh=%llu early_data=%llu pieces_out=%llu pieces_in=%llu",
	    link_state_name(l->state), (unsigned long long)t->sessions,
	    (unsigned long long)t->frames_in, (unsigned long long)t->frames_out,
	    (unsigned long long)t->data_out, (unsigned long long)t->retransmits,
	    (unsigned long long)t->timeouts, (unsigned long long)f->bad_crc,
	    (unsigned long long)f->bad_cobs, (unsigned long long)f->runt,
	    (unsigned long long)f->oversize, (unsigned long long)f->cut,
	    (unsigned long long)f->garbage,
	    (unsigned long long)t->bad_mac, (unsigned long long)t->bad_session,
	    (unsigned long long)t->dup, (unsigned long long)t->out_of_window,
	    (unsigned long long)t->stale_acks, (unsigned long long)t->resets_sent,
	    (unsigned long long)t->resets_rcvd, (unsigned long long)t->protocol_errors,
	    (unsigned long long)t->msgs_in, (unsigned long long)t->msgs_out,
	    l->seg_size, (unsigned long long)t->resizes, (int)l->srtt_ms,
	    (unsigned long long)t->outages, (unsigned long long)t->outage_retx,
	    l->rev, (unsigned long long)t->resumes, (unsigned long long)t->fresh,
	    (unsigned long long)t->early_data, (unsigned long long)t->pieces_out,
	    (unsigned long long)t->pieces_in);
}
