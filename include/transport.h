/*
 * transport.h: the cable behind one small vtable, so that framing, session
 * and queue code never know whether a serial line or the PL2501 USB bridge
 * carries the bytes. Reads and writes never block; the caller polls fd().
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"

struct transport;

struct transport_ops {
	const char	*name;
	int	 (*open)(struct transport *, char *why, size_t whysz);
	void	 (*close)(struct transport *);
	/* >0 bytes; 0 nothing now; -1 the device is gone (close and reopen) */
	ssize_t	 (*read)(struct transport *, void *, size_t);
	ssize_t	 (*write)(struct transport *, const void *, size_t);
	/* what the transport is and its counters, one or more lines */
	int	 (*status)(struct transport *, char *, size_t);
	/* 1 the peer is there, 0 it is not, -1 the transport cannot tell */
	int	 (*link_status)(struct transport *);
	/* frees what open() kept in priv (after close); NULL: nothing kept */
	void	 (*release)(struct transport *);
};

struct transport {
	const struct transport_ops *ops;
	const struct cfg_link	*cfg;
	int			 fd;	/* poll this; -1 when closed */
	void			*priv;
	uint64_t		 publish_at;	/* next status file update */
	char			 open_why[256];	/* the last reason open failed */
	uint64_t		 open_warn_at;	/* when that may be logged again */
};

struct link;

/* transport.c */
/* Reads the cable into the link (messages reach the callbacks), then lets
 * the link write (acknowledgements, frames); _io is both. -1: device lost. */
int	 transport_link_io(struct transport *, struct link *, short revents, uint64_t now_ms);
int	 transport_link_read(struct transport *, struct link *, short revents, uint64_t now_ms);
int	 transport_link_write(struct transport *, struct link *, uint64_t now_ms);
int	 transport_init(struct transport *, const struct cfg_link *, char *why, size_t whysz);
/* Closes the cable and frees the transport's private state; init may follow. */
void	 transport_free(struct transport *);
/* Opens the cable if it is closed: 0 open, -1 not (logged as a warning
 * when the reason is new, and again every few minutes while it lasts). */
int	 transport_reopen(struct transport *, uint64_t now_ms);
/* About once a second: the transport's and the link's state to cfg->status_file. */
void	 transport_publish(struct transport *, const struct link *, uint64_t now_ms);
/* The same with the "link" line given (the v1 listener's counters). */
void	 transport_publish_text(struct transport *, const char *linkline, uint64_t now_ms);
/* The "usb" command of airlockctl and airlock-client: devices, then the file. */
int	 transport_show(const struct cfg_link *, FILE *);

/* serial.c */
extern const struct transport_ops serial_ops;

/* usb.c */
extern const struct transport_ops usb_pl2501_ops;
int	 usb_list(const struct cfg_link *, FILE *);

#endif
