/*
 * link_int.h: what link.c and link_stream.c share inside the link folder;
 * nothing outside src/link includes it.
 */
#ifndef LINK_INT_H
#define LINK_INT_H

#include "link.h"

#define LINK_FRAME_OVERHEAD	46	/* header, MAC, CRC, delimiter, COBS */
#define LINK_BACKOFF_MAX	1	/* doublings of the timer without progress */
#define LINK_QUIET_BACKOFF	3	/* ... while no bytes come back at all */

/* link.c */
void	 link_emit(struct link *, int type, uint32_t seq, const uint8_t *payload,
	    size_t len, uint64_t now);
void	 link_deliver_pending(struct link *);
void	 link_announce(struct link *, int resumed);
int	 link_max_seg(const struct link *);

/* link_timer.c */
uint64_t link_line_ms(const struct link *, uint64_t);
void	 link_update_rto(struct link *);
uint64_t link_rto(const struct link *);
void	 link_rtt_sample(struct link *, int32_t);
void	 link_adapt(struct link *);
uint64_t link_quiet_ms(const struct link *);
uint64_t link_quiet_since(const struct link *);
int	 link_in_quiet(const struct link *, const struct link_seg *);
int	 link_rtt_ok(const struct link *, const struct link_seg *);

/* link_piece.c */
void	 link_transmit(struct link *, struct link_seg *, uint16_t off, uint16_t n,
	    uint64_t now);
int	 link_send_lost(struct link *, uint64_t now);
int	 link_piece_size(const struct link *);
int	 link_rseg_fill(struct link_rseg *, uint16_t off, uint16_t n, uint16_t total,
	    const uint8_t *);

/* link_stream.c */
void	 link_stream_clear(struct link *);
void	 link_stream_fold(struct link *);
void	 link_resume_begin(struct link *, uint64_t now);
void	 link_on_resume(struct link *, const uint8_t *payload, uint64_t now);
void	 link_resume_timer(struct link *, uint64_t now);
void	 link_resume_send(struct link *, int reply, uint64_t now);
int	 link_stream_accepts(struct link *);

#endif
