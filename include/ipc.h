/*
 * ipc.h: records between airlock-linkd and airlock-signerd over two FIFOs
 * in the runtime directory: signer.req (linkd writes, signer reads) and
 * signer.ans (signer writes, linkd reads). A record is
 *   magic "ALK1" (4) || type (4) || length (4) || payload,
 * big-endian, the payload one message (msg.h) of at most MSG_MAX_LEN bytes,
 * or for IPC_LOG one line of UTF-8 text of at most IPC_LOG_MAX bytes.
 * A complete record that breaks these rules is fatal to its reader: it
 * means a bug or a compromised peer. A partial record at the peer's exit
 * is dropped (the peer died mid-write; the queue sends the request again).
 */
#ifndef IPC_H
#define IPC_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define IPC_MAGIC	0x414c4b31u	/* "ALK1" */
#define IPC_HDR_LEN	12
#define IPC_LOG_MAX	512

enum ipc_type {
	IPC_REQUEST	= 1,	/* linkd -> signer: a request message */
	IPC_ANSWER	= 2,	/* signer -> linkd: the answer message */
	IPC_LOG		= 3,	/* linkd -> signer: a warning line for the audit chain */
};

struct ipc_chan {
	int		 fd;
	struct buf	 in;	/* bytes read, not yet a whole record */
	struct buf	 out;	/* records not yet written */
	const char	*path;
	int		 reading;	/* this end reads */
};

/* ipc.c */
int	 ipc_make_fifos(const char *run_dir, char *req, char *ans, size_t sz);
void	 ipc_init(struct ipc_chan *, const char *path, int reading);
/* Opens without blocking; 0 open, -1 not yet (no reader on a write end). */
int	 ipc_open(struct ipc_chan *);
void	 ipc_close(struct ipc_chan *);
int	 ipc_queue(struct ipc_chan *, uint32_t type, const uint8_t *, size_t);
/* Writes what it can: 0 ok (maybe partly), -1 the reader has gone. */
int	 ipc_flush(struct ipc_chan *);
/* Reads what is there: 1 data, 0 nothing, -1 the writer has gone. */
int	 ipc_fill(struct ipc_chan *);
/* Next whole record: 1 (type, pointer into in, length; consume with
 * ipc_consume), 0 need more. Malformed: fatalx. */
int	 ipc_next(struct ipc_chan *, uint32_t *type, const uint8_t **p, size_t *n);
void	 ipc_consume(struct ipc_chan *);

#endif
