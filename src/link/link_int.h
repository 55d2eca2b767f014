/*
 * link_int.h: what link.c and link_stream.c share inside the link folder;
 * nothing outside src/link includes it.
 */
#ifndef LINK_INT_H
#define LINK_INT_H

#include "link.h"

/* link.c */
void	 link_emit(struct link *, int type, uint32_t seq, const uint8_t *payload,
	    size_t len, uint64_t now);
void	 link_deliver_pending(struct link *);
void	 link_announce(struct link *, int resumed);

/* link_stream.c */
void	 link_stream_clear(struct link *);
void	 link_stream_fold(struct link *);
void	 link_resume_begin(struct link *, uint64_t now);
void	 link_on_resume(struct link *, const uint8_t *payload, uint64_t now);
void	 link_resume_timer(struct link *, uint64_t now);
void	 link_resume_send(struct link *, int reply, uint64_t now);
int	 link_stream_accepts(struct link *);

#endif
