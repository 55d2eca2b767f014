/*
 * usbpair.c: an emulated Prolific PL2501 host-to-host cable for the tests
 * and the USB benchmark. One process holds a umockdev testbed with two fake
 * PL2501 devices, side "a" (the webdb host's end, bus 1 port 1, path 1-1)
 * and side "b" (the signer host's end, bus 2 port 1, path 2-1), plus a
 * decoy "x" (a PL2303 serial adapter, 067b:2303, path 1-2) that is not a
 * PL2501. Programs run under libumockdev-preload with UMOCKDEV_DIR set to
 * the testbed see these devices in /sys and /dev, and every usbdevfs ioctl
 * they make on a device node comes here over umockdev's ioctl socket.
 *
 * What the fake chip does, per side:
 *  - descriptors in sysfs (libusb reads them there): interface 0, vendor
 *    class, interrupt IN 0x81 (1 byte), bulk OUT 0x02 and bulk IN 0x83
 *    (512 bytes, high speed); the kernel driver "plusb" is bound until the
 *    program detaches it (USBDEVFS_IOCTL/DISCONNECT or DISCONNECT_CLAIM);
 *  - bulk OUT URBs are cut into 512-byte packets (plus a zero-length packet
 *    when the URB asks for one) and queued at the other side's bulk IN, at
 *    most PL_RX_CAP bytes; beyond that, or while the cable is cut or the
 *    other side is unplugged, the OUT URB waits (the chip NAKs) until the
 *    host times it out and discards it;
 *  - a bulk IN URB takes packets until it is full or a short or zero-length
 *    packet ends it, as a USB host controller does;
 *  - the interrupt IN endpoint answers at once with the status byte: the
 *    handshake bits the other side set (bit 0, PEER_E: the peer is there);
 *  - vendor requests on endpoint 0: 3 sets and 1 clears handshake bits
 *    (wValue); RESET_IN (bit 3) empties this side's receive queue and
 *    RESET_OUT (bit 4) is counted; anything else stalls;
 *  - an injected stall fails the endpoint's oldest URB with -EPIPE and
 *    halts the endpoint: nothing moves on it until CLEAR_HALT.
 *
 * Completed URBs wait for the program's REAPURBNDELAY. The device node is a
 * FIFO shrunk to one page: this process keeps one byte in it while nothing
 * is reapable, so the program's poll() on the node sees POLLOUT exactly
 * when a URB can be reaped, as with the real usbfs.
 *
 * Faults, one command per line written to the control FIFO (--control):
 *   unplug S | plug S | replug S   remove the device / add it again under
 *                                  the next device address (same port)
 *   cut | join                     the cable between the chips
 *   stall S in|out [N]             the next N URBs on that endpoint stall
 *   vanish S N                     side S sends N more bytes, then unplugs
 *   garbage S N                    N random bytes arrive at side S
 *   junk S N                       N bytes without a frame delimiter
 *   stats                          rewrite the stats file
 * After each command the stats file (--stats) is rewritten; its first line
 * "cmds=N" counts the commands done, so a script can wait for its own.
 * On start the testbed directory is written to the --ready file.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>
#include <glib-unix.h>
#include <umockdev.h>

#define PL_MPS		512		/* bulk wMaxPacketSize */
#define PL_RX_CAP	(64 * 1024)	/* bytes the chip and host queue per direction */
#define PL_EP_INT	0x81
#define PL_EP_OUT	0x02
#define PL_EP_IN	0x83
#define PL_PEER_E	0x01		/* handshake: the peer is there */
#define PL_RESET_IN	0x08		/* action: empty the receive queue */
#define PL_RESET_OUT	0x10		/* action: empty the send queue */
#define PL_HANDSHAKE	0x07		/* bits mirrored to the other side */
#define PL_REQ_CLEAR	1
#define PL_REQ_SET	3

struct pl_stats {
	unsigned long	 urbs_out, urbs_in, urbs_int, urbs_ctl, bytes_out, bytes_in;
	unsigned long	 zlp, short_in, discards, stalls, clear_halts, claims;
	unsigned long	 detaches, pipe_resets, enodev, plugs, injected;
};

struct pl_side {
	const char	*name;
	int		 bus, port, devnum, gen;
	int		 is_pl2501;
	struct pl_side	*peer;
	int		 plugged, dying;
	char		 syspath[256], devnode[64], fifo[PATH_MAX];
	int		 fifo_fd, fifo_full;
	UMockdevIoctlClient *owner;	/* has interface 0 claimed */
	int		 bound;		/* kernel driver attached */
	unsigned	 features;	/* handshake bits this side set */
	GQueue		 out_q, in_q;	/* pending bulk URBs */
	GQueue		 rx;		/* GByteArray packets for bulk IN */
	size_t		 rx_bytes;
	int		 halt_in, halt_out, stall_in, stall_out;
	long		 vanish;	/* bytes left before it vanishes; -1 off */
	struct pl_stats	 st;
};

struct pl_urb {
	struct pl_side	*side;
	int		 gen;
	UMockdevIoctlClient *client;
	UMockdevIoctlData *urb;		/* the program's struct usbdevfs_urb */
	UMockdevIoctlData *buf;		/* its buffer; NULL when empty */
	gulong		 addr;		/* its address in the program */
	size_t		 done;		/* bytes moved so far */
};

static struct {
	UMockdevTestbed	*tb;
	UMockdevIoctlBase *h;
	GRecMutex	 mu;
	struct pl_side	 side[3];
	GQueue		 reap;		/* finished URBs */
	int		 nextaddr[3];	/* per bus: the next device address */
	int		 cable;		/* joined */
	const char	*stats;
	unsigned long	 cmds, empty_reaps;
	int		 verbose;
	GMainLoop	*loop;
} P;

static guint8 pl2501_desc[] = {
	0x12, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x40, 0x7b, 0x06, 0x01, 0x25,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x09, 0x02, 0x27, 0x00, 0x01, 0x01, 0x00, 0xa0, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x03, 0xff, 0x00, 0x00, 0x00,
	0x07, 0x05, PL_EP_INT, 0x03, 0x01, 0x00, 0x01,
	0x07, 0x05, PL_EP_OUT, 0x02, 0x00, 0x02, 0x00,
	0x07, 0x05, PL_EP_IN, 0x02, 0x00, 0x02, 0x00,
};
static guint8 pl2303_desc[] = {
	0x12, 0x01, 0x10, 0x01, 0x00, 0x00, 0x00, 0x40, 0x7b, 0x06, 0x03, 0x23,
	0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
	0x09, 0x02, 0x27, 0x00, 0x01, 0x01, 0x00, 0x80, 0x32,
	0x09, 0x04, 0x00, 0x00, 0x03, 0xff, 0x00, 0x00, 0x00,
	0x07, 0x05, 0x81, 0x03, 0x0a, 0x00, 0x01,
	0x07, 0x05, 0x02, 0x02, 0x40, 0x00, 0x00,
	0x07, 0x05, 0x83, 0x02, 0x40, 0x00, 0x00,
};
static guint8 hub_desc[] = {
	0x12, 0x01, 0x00, 0x02, 0x09, 0x00, 0x01, 0x40, 0x6b, 0x1d, 0x02, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x09, 0x02, 0x19, 0x00, 0x01, 0x01, 0x00, 0xe0, 0x00,
	0x09, 0x04, 0x00, 0x00, 0x01, 0x09, 0x00, 0x00, 0x00,
	0x07, 0x05, 0x81, 0x03, 0x04, 0x00, 0x0c,
};

static void pair_unplug(struct pl_side *);
static void client_track(UMockdevIoctlClient *);

static void __attribute__((format(printf, 1, 2)))
dbg(const char *fmt, ...)
{
	va_list ap;

	if (!P.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "usbpair: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* Reap readiness: the FIFO is empty (POLLOUT) iff a URB of this side waits. */
static void
fifo_sync(struct pl_side *s)
{
	GList *e;
	char c = 0;
	int want_full = 1;

	if (s->fifo_fd == -1)
		return;
	for (e = P.reap.head; e != NULL; e = e->next) {
		struct pl_urb *u = e->data;

		if (u->side == s && u->gen == s->gen) {
			want_full = 0;
			break;
		}
	}
	if (want_full && !s->fifo_full && write(s->fifo_fd, &c, 1) == 1)
		s->fifo_full = 1;
	else if (!want_full && s->fifo_full && read(s->fifo_fd, &c, 1) == 1)
		s->fifo_full = 0;
}

static void
urb_free(struct pl_urb *u)
{
	if (u->urb != NULL)
		g_object_unref(u->urb);
	if (u->buf != NULL)
		g_object_unref(u->buf);
	g_free(u);
}

static struct usbdevfs_urb *
urb_of(struct pl_urb *u)
{
	return (struct usbdevfs_urb *)u->urb->data;
}

/* The URB is done: it waits in the reap queue with this status. */
static void
urb_finish(GQueue *q, struct pl_urb *u, int status, size_t actual)
{
	struct usbdevfs_urb *k = urb_of(u);

	if (q != NULL)
		g_queue_remove(q, u);
	k->status = status;
	k->actual_length = (int)actual;
	g_queue_push_tail(&P.reap, u);
}

static void
rx_push(struct pl_side *s, const guint8 *p, size_t n)
{
	GByteArray *pk = g_byte_array_sized_new((guint)n);

	g_byte_array_append(pk, p, (guint)n);
	g_queue_push_tail(&s->rx, pk);
	s->rx_bytes += n;
}

static void
rx_clear(struct pl_side *s)
{
	GByteArray *pk;

	while ((pk = g_queue_pop_head(&s->rx)) != NULL)
		g_byte_array_unref(pk);
	s->rx_bytes = 0;
}

/* Moves packets of one OUT URB to the peer. 1 when the URB is all taken. */
static int
out_deliver(struct pl_side *s, struct pl_side *p, struct pl_urb *u)
{
	struct usbdevfs_urb *k = urb_of(u);
	size_t len = (size_t)k->buffer_length, n;

	while (u->done < len) {
		n = len - u->done < PL_MPS ? len - u->done : PL_MPS;
		if (p->rx_bytes + n > PL_RX_CAP)
			return 0;
		if (s->vanish >= 0) {
			if ((long)n > s->vanish)
				n = (size_t)s->vanish;
			s->vanish -= (long)n;
			if (n > 0)
				rx_push(p, u->buf->data + u->done, n);
			u->done += n;
			if (s->vanish == 0) {
				s->dying = 1;
				return 0;
			}
			continue;
		}
		rx_push(p, u->buf->data + u->done, n);
		u->done += n;
	}
	if (len == 0 || (len % PL_MPS == 0 && (k->flags & USBDEVFS_URB_ZERO_PACKET))) {
		rx_push(p, NULL, 0);
		s->st.zlp++;
	}
	s->st.bytes_out += len;
	return 1;
}

static void
pump_out(struct pl_side *s)
{
	struct pl_urb *u;

	while ((u = g_queue_peek_head(&s->out_q)) != NULL) {
		if (s->halt_out)
			return;		/* until CLEAR_HALT */
		if (s->stall_out > 0) {
			s->stall_out--;
			s->halt_out = 1;
			s->st.stalls++;
			urb_finish(&s->out_q, u, -EPIPE, u->done);
			continue;
		}
		if (!P.cable || s->peer == NULL || !s->peer->plugged || s->dying)
			return;		/* NAK: nobody takes the packets */
		if (!out_deliver(s, s->peer, u))
			return;
		urb_finish(&s->out_q, u, 0, u->done);
	}
}

/* Fills the oldest IN URB; it ends on a short or zero-length packet or when full. */
static void
pump_in(struct pl_side *s)
{
	struct pl_urb *u;
	GByteArray *pk;
	size_t cap;
	int end;

	while ((u = g_queue_peek_head(&s->in_q)) != NULL) {
		if (s->halt_in)
			return;		/* until CLEAR_HALT */
		if (s->stall_in > 0) {
			s->stall_in--;
			s->halt_in = 1;
			s->st.stalls++;
			urb_finish(&s->in_q, u, -EPIPE, u->done);
			continue;
		}
		cap = (size_t)urb_of(u)->buffer_length;
		end = u->done == cap;
		while (!end && (pk = g_queue_peek_head(&s->rx)) != NULL) {
			if (u->done + pk->len > cap)
				break;		/* babble: the packet does not fit */
			memcpy(u->buf->data + u->done, pk->data, pk->len);
			u->done += pk->len;
			s->rx_bytes -= pk->len;
			s->st.bytes_in += pk->len;
			g_queue_pop_head(&s->rx);
			if (pk->len < PL_MPS) {
				s->st.short_in++;
				end = 1;
			}
			g_byte_array_unref(pk);
			if (u->done == cap)
				end = 1;
		}
		if (!end && pk != NULL) {
			urb_finish(&s->in_q, u, -EOVERFLOW, u->done);
			continue;
		}
		if (!end)
			return;		/* waits for more packets */
		urb_finish(&s->in_q, u, 0, u->done);
	}
}

static gboolean
vanish_idle(gpointer arg)
{
	struct pl_side *s = arg;

	g_rec_mutex_lock(&P.mu);
	if (s->plugged)
		pair_unplug(s);
	g_rec_mutex_unlock(&P.mu);
	return G_SOURCE_REMOVE;
}

/* Runs the chips after any change; caller holds P.mu. */
static void
pump(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct pl_side *s = &P.side[i];

		if (!s->plugged)
			continue;
		pump_out(s);
		if (s->dying && s->vanish == 0) {
			s->vanish = -1;
			g_idle_add(vanish_idle, s);
		}
	}
	for (i = 0; i < 3; i++)
		if (P.side[i].plugged)
			pump_in(&P.side[i]);
	for (i = 0; i < 3; i++)
		fifo_sync(&P.side[i]);
}

static unsigned
status_byte(const struct pl_side *s)
{
	const struct pl_side *p = s->peer;

	if (p == NULL || !P.cable || !p->plugged)
		return 0;
	return p->features & PL_HANDSHAKE;
}

/* A control URB: setup packet, then data. Returns the URB status. */
static int
do_control(struct pl_side *s, struct pl_urb *u, size_t *actual)
{
	const guint8 *st = u->buf ? u->buf->data : NULL;
	unsigned type, req, val;

	*actual = 0;
	s->st.urbs_ctl++;
	if (st == NULL || urb_of(u)->buffer_length < 8)
		return -EINVAL;
	type = st[0];
	req = st[1];
	val = (unsigned)(st[2] | st[3] << 8);
	if (!s->is_pl2501 || (type & 0x60) != 0x40)
		return -EPIPE;
	if (req == PL_REQ_SET) {
		if (val & PL_RESET_IN)
			rx_clear(s);
		if (val & (PL_RESET_IN | PL_RESET_OUT))
			s->st.pipe_resets++;
		s->features |= val & PL_HANDSHAKE;
		return 0;
	}
	if (req == PL_REQ_CLEAR) {
		s->features &= ~(val & PL_HANDSHAKE);
		return 0;
	}
	return -EPIPE;
}

static int
do_submit(struct pl_side *s, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	struct usbdevfs_urb *k;
	struct pl_urb *u;
	size_t actual;
	GError *e = NULL;

	u = g_new0(struct pl_urb, 1);
	u->side = s;
	u->gen = s->gen;
	u->client = c;
	u->addr = *(gulong *)arg->data;
	if ((u->urb = umockdev_ioctl_data_resolve(arg, 0, sizeof(*k), &e)) == NULL) {
		g_clear_error(&e);
		g_free(u);
		return -EFAULT;
	}
	k = urb_of(u);
	if (k->buffer_length > 0 && (u->buf = umockdev_ioctl_data_resolve(u->urb,
	    G_STRUCT_OFFSET(struct usbdevfs_urb, buffer), (gsize)k->buffer_length, &e)) == NULL) {
		g_clear_error(&e);
		urb_free(u);
		return -EFAULT;
	}
	dbg("%s submit type %d ep %02x len %d", s->name, k->type, k->endpoint, k->buffer_length);
	if (k->type == USBDEVFS_URB_TYPE_CONTROL) {
		int st = do_control(s, u, &actual);

		urb_finish(NULL, u, st, actual);
	} else if (k->type == USBDEVFS_URB_TYPE_INTERRUPT && k->endpoint == PL_EP_INT &&
	    k->buffer_length >= 1) {
		s->st.urbs_int++;
		u->buf->data[0] = (guint8)status_byte(s);
		urb_finish(NULL, u, 0, 1);
	} else if (k->type == USBDEVFS_URB_TYPE_BULK && k->endpoint == PL_EP_OUT) {
		s->st.urbs_out++;
		g_queue_push_tail(&s->out_q, u);
	} else if (k->type == USBDEVFS_URB_TYPE_BULK && k->endpoint == PL_EP_IN) {
		s->st.urbs_in++;
		g_queue_push_tail(&s->in_q, u);
	} else {
		urb_free(u);
		return -EINVAL;
	}
	return 0;
}

static struct pl_urb *
find_urb(GQueue *q, UMockdevIoctlClient *c, gulong addr)
{
	GList *e;

	for (e = q->head; e != NULL; e = e->next) {
		struct pl_urb *u = e->data;

		if (u->client == c && (addr == 0 || u->addr == addr))
			return u;
	}
	return NULL;
}

static int
do_discard(struct pl_side *s, UMockdevIoctlClient *c, UMockdevIoctlData *arg)
{
	gulong addr = *(gulong *)arg->data;
	struct pl_urb *u;

	if ((u = find_urb(&s->out_q, c, addr)) != NULL) {
		s->st.discards++;
		urb_finish(&s->out_q, u, -ENOENT, u->done);
		return 0;
	}
	if ((u = find_urb(&s->in_q, c, addr)) != NULL) {
		s->st.discards++;
		urb_finish(&s->in_q, u, -ENOENT, u->done);
		return 0;
	}
	return -EINVAL;
}

/* Hands the oldest finished URB of this client back; -EAGAIN if none. */
static int
do_reap(UMockdevIoctlClient *c, UMockdevIoctlData *arg, int gone)
{
	UMockdevIoctlData *ptr;
	struct pl_urb *u;
	GError *e = NULL;

	if ((u = find_urb(&P.reap, c, 0)) == NULL) {
		P.empty_reaps++;
		return gone ? -ENODEV : -EAGAIN;
	}
	if ((ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &e)) == NULL) {
		g_clear_error(&e);
		return -EFAULT;
	}
	umockdev_ioctl_data_set_ptr(ptr, 0, u->urb);
	g_object_unref(ptr);
	g_queue_remove(&P.reap, u);
	urb_free(u);
	return 0;
}

static int
do_claim(struct pl_side *s, UMockdevIoctlClient *c, unsigned ifno, int disconnect)
{
	if (ifno != 0)
		return -ENOENT;
	if (disconnect && s->bound) {
		s->bound = 0;
		s->st.detaches++;
	}
	if (s->bound || (s->owner != NULL && s->owner != c))
		return -EBUSY;
	s->owner = c;
	s->st.claims++;
	return 0;
}

/* Reads the ioctl's struct argument into *out (len bytes); 0 or -EFAULT. */
static int
arg_get(UMockdevIoctlData *arg, void **out, size_t len, UMockdevIoctlData **keep)
{
	GError *e = NULL;

	if ((*keep = umockdev_ioctl_data_resolve(arg, 0, len, &e)) == NULL) {
		g_clear_error(&e);
		return -EFAULT;
	}
	*out = (*keep)->data;
	return 0;
}

static int
do_usbfs(struct pl_side *s, UMockdevIoctlClient *c, gulong req, UMockdevIoctlData *arg)
{
	UMockdevIoctlData *d = NULL;
	void *p;
	int rv = 0;

	switch (req) {
	case USBDEVFS_GET_CAPABILITIES:
		if ((rv = arg_get(arg, &p, sizeof(guint32), &d)) == 0)
			*(guint32 *)p = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
			    USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
		break;
	case USBDEVFS_GETDRIVER:
		if ((rv = arg_get(arg, &p, sizeof(struct usbdevfs_getdriver), &d)) == 0) {
			struct usbdevfs_getdriver *g = p;

			if (!s->bound || g->interface != 0)
				rv = -ENODATA;
			else
				snprintf(g->driver, sizeof(g->driver), "%s",
				    s->is_pl2501 ? "plusb" : "pl2303");
		}
		break;
	case USBDEVFS_IOCTL:
		if ((rv = arg_get(arg, &p, sizeof(struct usbdevfs_ioctl), &d)) == 0) {
			struct usbdevfs_ioctl *io = p;

			if (io->ioctl_code != (int)USBDEVFS_DISCONNECT || io->ifno != 0)
				rv = -ENOTTY;
			else if (!s->bound)
				rv = -ENODATA;
			else {
				s->bound = 0;
				s->st.detaches++;
			}
		}
		break;
	case USBDEVFS_DISCONNECT_CLAIM:
		if ((rv = arg_get(arg, &p, sizeof(struct usbdevfs_disconnect_claim), &d)) == 0)
			rv = do_claim(s, c, ((struct usbdevfs_disconnect_claim *)p)->interface, 1);
		break;
	case USBDEVFS_CLAIMINTERFACE:
		if ((rv = arg_get(arg, &p, sizeof(unsigned), &d)) == 0)
			rv = do_claim(s, c, *(unsigned *)p, 0);
		break;
	case USBDEVFS_RELEASEINTERFACE:
		if (s->owner == c) {
			s->owner = NULL;
			s->features = 0;
		}
		break;
	case USBDEVFS_CLEAR_HALT:
		if ((rv = arg_get(arg, &p, sizeof(unsigned), &d)) == 0) {
			unsigned ep = *(unsigned *)p;

			s->st.clear_halts++;
			if (ep == PL_EP_IN)
				s->halt_in = 0;
			else if (ep == PL_EP_OUT)
				s->halt_out = 0;
		}
		break;
	case USBDEVFS_RESETEP:
	case USBDEVFS_SETINTERFACE:
	case USBDEVFS_SETCONFIGURATION:
		break;
	case USBDEVFS_SUBMITURB:
		rv = do_submit(s, c, arg);
		break;
	case USBDEVFS_DISCARDURB:
		rv = do_discard(s, c, arg);
		break;
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY:
		rv = do_reap(c, arg, 0);
		break;
	default:
		dbg("%s: ioctl %lx not emulated", s->name, req);
		rv = -ENOTTY;
	}
	if (d != NULL)
		g_object_unref(d);
	return rv;
}

static struct pl_side *
side_of(UMockdevIoctlClient *c)
{
	const char *dn = umockdev_ioctl_client_get_devnode(c);
	int i;

	for (i = 0; i < 3; i++)
		if (P.side[i].plugged && strcmp(P.side[i].devnode, dn) == 0)
			return &P.side[i];
	return NULL;
}

static gboolean
on_ioctl(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer ud)
{
	gulong req = umockdev_ioctl_client_get_request(c);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(c);
	struct pl_side *s;
	int rv;

	(void)h;
	(void)ud;
	g_rec_mutex_lock(&P.mu);
	client_track(c);
	if ((s = side_of(c)) == NULL) {
		/* unplugged: what finished can still be reaped, then ENODEV */
		if (req == USBDEVFS_REAPURBNDELAY || req == USBDEVFS_REAPURB)
			rv = do_reap(c, arg, 1);
		else
			rv = -ENODEV;
	} else {
		rv = do_usbfs(s, c, req, arg);
		pump();
	}
	g_rec_mutex_unlock(&P.mu);
	umockdev_ioctl_client_complete(c, rv < 0 ? -1 : rv, rv < 0 ? -rv : 0);
	return TRUE;
}

static void
drop_client(GQueue *q, UMockdevIoctlClient *c)
{
	struct pl_urb *u;

	while ((u = find_urb(q, c, 0)) != NULL) {
		g_queue_remove(q, u);
		urb_free(u);
	}
}

/* The program closed the device or died: its URBs go, its claim too. */
static void
client_gone(UMockdevIoctlClient *c)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct pl_side *s = &P.side[i];

		drop_client(&s->out_q, c);
		drop_client(&s->in_q, c);
		if (s->owner == c) {
			s->owner = NULL;
			s->features = 0;
		}
	}
	drop_client(&P.reap, c);
	pump();
}

/*
 * umockdev 0.17 says nothing when a program closes the device node; its
 * connection object is finalized then. Only the address is used here.
 */
static void
on_finalized(gpointer ud, GObject *gone)
{
	(void)ud;
	g_rec_mutex_lock(&P.mu);
	client_gone((UMockdevIoctlClient *)gone);
	g_rec_mutex_unlock(&P.mu);
}

static void
on_vanished(UMockdevIoctlBase *h, UMockdevIoctlClient *c, gpointer ud)
{
	(void)h;
	(void)ud;
	g_rec_mutex_lock(&P.mu);
	client_gone(c);
	g_rec_mutex_unlock(&P.mu);
}

static void
client_track(UMockdevIoctlClient *c)
{
	if (g_object_get_data(G_OBJECT(c), "pl-tracked") != NULL)
		return;
	g_object_set_data(G_OBJECT(c), "pl-tracked", GINT_TO_POINTER(1));
	g_object_weak_ref(G_OBJECT(c), on_finalized, NULL);
}

static void
pair_add_hub(int bus)
{
	char name[16], busnum[8], dev[16], devname[64];
	gchar *p;

	snprintf(name, sizeof(name), "usb%d", bus);
	snprintf(busnum, sizeof(busnum), "%d\n", bus);
	snprintf(dev, sizeof(dev), "189:%d\n", (bus - 1) * 128);
	snprintf(devname, sizeof(devname), "/dev/bus/usb/%03d/001", bus);
	p = umockdev_testbed_add_device(P.tb, "usb", name, NULL,
	    "busnum", busnum, "devnum", "1\n", "speed", "480\n", "bConfigurationValue", "1\n",
	    "idVendor", "1d6b\n", "idProduct", "0002\n", "dev", dev, NULL,
	    "DEVNAME", devname, "DEVTYPE", "usb_device", "PRODUCT", "1d6b/2/600", NULL);
	umockdev_testbed_set_attribute_binary(P.tb, p, "descriptors", hub_desc,
	    sizeof(hub_desc));
	g_free(p);
}

static void
side_node(struct pl_side *s)
{
	char *root = umockdev_testbed_get_root_dir(P.tb), dir[PATH_MAX];
	char c = 0;

	snprintf(dir, sizeof(dir), "%s/dev/bus/usb/%03d", root, s->bus);
	g_mkdir_with_parents(dir, 0755);
	snprintf(s->fifo, sizeof(s->fifo), "%s/%03d", dir, s->devnum);
	unlink(s->fifo);
	if (mkfifo(s->fifo, 0666) == -1)
		g_error("mkfifo %s: %s", s->fifo, strerror(errno));
	if ((s->fifo_fd = open(s->fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC)) == -1)
		g_error("open %s: %s", s->fifo, strerror(errno));
	fcntl(s->fifo_fd, F_SETPIPE_SZ, 4096);
	s->fifo_full = write(s->fifo_fd, &c, 1) == 1;
	g_free(root);
}

/* Plugs side s in under the next device address. Caller holds P.mu. */
static void
pair_plug(struct pl_side *s)
{
	char name[32], busnum[8], devnum[8], dev[16], vid[8], pid[8], prod[32];
	GError *e = NULL;
	gchar *p;

	s->devnum = P.nextaddr[s->bus]++;
	/* a name with the hub's directory: umockdev checks a parent path outside the testbed */
	snprintf(name, sizeof(name), "usb%d/%d-%d", s->bus, s->bus, s->port);
	snprintf(busnum, sizeof(busnum), "%d\n", s->bus);
	snprintf(devnum, sizeof(devnum), "%d\n", s->devnum);
	snprintf(dev, sizeof(dev), "189:%d\n", (s->bus - 1) * 128 + s->devnum - 1);
	snprintf(s->devnode, sizeof(s->devnode), "/dev/bus/usb/%03d/%03d", s->bus, s->devnum);
	snprintf(vid, sizeof(vid), "067b\n");
	snprintf(pid, sizeof(pid), "%s\n", s->is_pl2501 ? "2501" : "2303");
	snprintf(prod, sizeof(prod), "67b/%s/%s", s->is_pl2501 ? "2501" : "2303",
	    s->is_pl2501 ? "100" : "300");
	p = umockdev_testbed_add_device(P.tb, "usb", name, NULL,
	    "busnum", busnum, "devnum", devnum, "speed", s->is_pl2501 ? "480\n" : "12\n",
	    "bConfigurationValue", "1\n", "idVendor", vid, "idProduct", pid, "dev", dev, NULL,
	    "DEVNAME", s->devnode, "DEVTYPE", "usb_device", "PRODUCT", prod,
	    "DRIVER", "usb", NULL);
	snprintf(s->syspath, sizeof(s->syspath), "%s", p);
	g_free(p);
	umockdev_testbed_set_attribute_binary(P.tb, s->syspath, "descriptors",
	    s->is_pl2501 ? pl2501_desc : pl2303_desc,
	    s->is_pl2501 ? sizeof(pl2501_desc) : sizeof(pl2303_desc));
	side_node(s);
	if (!umockdev_testbed_attach_ioctl(P.tb, s->devnode, P.h, &e))
		g_error("attach_ioctl %s: %s", s->devnode, e->message);
	s->gen++;
	s->plugged = 1;
	s->dying = 0;
	s->vanish = -1;
	s->bound = 1;
	s->features = 0;
	s->owner = NULL;
	s->halt_in = s->halt_out = 0;
	s->st.plugs++;
	dbg("%s plugged as %s", s->name, s->devnode);
}

static void
flush_q(GQueue *q)
{
	struct pl_urb *u;

	while ((u = g_queue_peek_head(q)) != NULL)
		urb_finish(q, u, -ENODEV, u->done);
}

/* Unplugs side s: its URBs fail with ENODEV. Caller holds P.mu. */
static void
pair_unplug(struct pl_side *s)
{
	GError *e = NULL;
	char c;

	if (!s->plugged)
		return;
	s->st.enodev += g_queue_get_length(&s->out_q) + g_queue_get_length(&s->in_q);
	flush_q(&s->out_q);
	flush_q(&s->in_q);
	rx_clear(s);
	s->plugged = 0;
	s->owner = NULL;
	s->features = 0;
	umockdev_testbed_detach_ioctl(P.tb, s->devnode, &e);
	g_clear_error(&e);
	umockdev_testbed_remove_device(P.tb, s->syspath);
	/* the program's fd stays open: leave the FIFO empty (reapable) */
	if (s->fifo_full && read(s->fifo_fd, &c, 1) == 1)
		s->fifo_full = 0;
	close(s->fifo_fd);
	s->fifo_fd = -1;
	unlink(s->fifo);
	pump();
	dbg("%s unplugged", s->name);
}

static void
pair_stats(void)
{
	char tmp[PATH_MAX];
	FILE *f;
	int i;

	if (P.stats == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", P.stats);
	if ((f = fopen(tmp, "w")) == NULL)
		return;
	fprintf(f, "cmds=%lu\ncable=%s\nempty_reaps=%lu\n", P.cmds,
	    P.cable ? "joined" : "cut", P.empty_reaps);
	for (i = 0; i < 3; i++) {
		struct pl_side *s = &P.side[i];
		struct pl_stats *t = &s->st;

		fprintf(f, "%s plugged=%d devnode=%s claimed=%d bound=%d features=%u "
		    "rx_bytes=%zu urbs_out=%lu urbs_in=%lu urbs_int=%lu urbs_ctl=%lu "
		    "bytes_out=%lu bytes_in=%lu zlp=%lu short_in=%lu discards=%lu "
		    "stalls=%lu clear_halts=%lu claims=%lu detaches=%lu pipe_resets=%lu "
		    "enodev=%lu plugs=%lu injected=%lu\n", s->name, s->plugged,
		    s->plugged ? s->devnode : "-", s->owner != NULL, s->bound, s->features,
		    s->rx_bytes, t->urbs_out, t->urbs_in, t->urbs_int, t->urbs_ctl,
		    t->bytes_out, t->bytes_in, t->zlp, t->short_in, t->discards, t->stalls,
		    t->clear_halts, t->claims, t->detaches, t->pipe_resets, t->enodev,
		    t->plugs, t->injected);
	}
	fclose(f);
	rename(tmp, P.stats);
}

static struct pl_side *
side_named(const char *n)
{
	int i;

	for (i = 0; i < 3; i++)
		if (n != NULL && strcmp(P.side[i].name, n) == 0)
			return &P.side[i];
	return NULL;
}

static void
inject(struct pl_side *s, long n, int junk)
{
	guint8 b[PL_MPS];
	long i, k;

	while (n > 0) {
		k = n < PL_MPS ? n : PL_MPS;
		for (i = 0; i < k; i++)
			b[i] = junk ? 0x55 : (guint8)g_random_int();
		rx_push(s, b, (size_t)k);
		s->st.injected += (unsigned long)k;
		n -= k;
	}
}

/* One control command; 0 or -1 for a bad one. Caller holds P.mu. */
static int
pair_command(char *line)
{
	char *w[4] = { NULL, NULL, NULL, NULL };
	struct pl_side *s;
	long n;
	int i;

	for (i = 0; i < 4 && (w[i] = strtok(i ? NULL : line, " \t\r\n")) != NULL; i++)
		;
	if (w[0] == NULL)
		return -1;
	if (strcmp(w[0], "cut") == 0 || strcmp(w[0], "join") == 0) {
		P.cable = w[0][0] == 'j';
		return 0;
	}
	if (strcmp(w[0], "stats") == 0)
		return 0;
	if ((s = side_named(w[1])) == NULL)
		return -1;
	n = w[2] ? strtol(w[2], NULL, 10) : 0;
	if (strcmp(w[0], "unplug") == 0)
		pair_unplug(s);
	else if (strcmp(w[0], "plug") == 0 && !s->plugged)
		pair_plug(s);
	else if (strcmp(w[0], "replug") == 0) {
		pair_unplug(s);
		pair_plug(s);
	} else if (strcmp(w[0], "stall") == 0 && w[2] != NULL) {
		n = w[3] ? strtol(w[3], NULL, 10) : 1;
		if (strcmp(w[2], "in") == 0)
			s->stall_in += (int)n;
		else
			s->stall_out += (int)n;
	} else if (strcmp(w[0], "vanish") == 0 && n > 0)
		s->vanish = n;
	else if ((strcmp(w[0], "garbage") == 0 || strcmp(w[0], "junk") == 0) && n > 0)
		inject(s, n, w[0][0] == 'j');
	else
		return -1;
	return 0;
}

static gboolean
on_control(GIOChannel *ch, GIOCondition cond, gpointer ud)
{
	gchar *line = NULL;
	gsize len;

	(void)cond;
	(void)ud;
	while (g_io_channel_read_line(ch, &line, &len, NULL, NULL) == G_IO_STATUS_NORMAL) {
		g_rec_mutex_lock(&P.mu);
		if (pair_command(line) == -1)
			fprintf(stderr, "usbpair: bad command: %s", line);
		else
			dbg("command: %s", line);
		pump();
		P.cmds++;
		pair_stats();
		g_rec_mutex_unlock(&P.mu);
		g_free(line);
	}
	return G_SOURCE_CONTINUE;
}

static gboolean
on_term(gpointer ud)
{
	(void)ud;
	g_main_loop_quit(P.loop);
	return G_SOURCE_REMOVE;
}

static void
side_init(struct pl_side *s, const char *name, int bus, int port, int pl2501)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->bus = bus;
	s->port = port;
	s->is_pl2501 = pl2501;
	s->fifo_fd = -1;
	s->vanish = -1;
	g_queue_init(&s->out_q);
	g_queue_init(&s->in_q);
	g_queue_init(&s->rx);
}

static void
usage(void)
{
	fprintf(stderr, "usage: usbpair --ready FILE --control FIFO [--stats FILE] [-v]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *ready = NULL, *control = NULL;
	GIOChannel *ch;
	char *root;
	FILE *f;
	int i, fd;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
			ready = argv[++i];
		else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			control = argv[++i];
		else if (strcmp(argv[i], "--stats") == 0 && i + 1 < argc)
			P.stats = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			P.verbose = 1;
		else
			usage();
	}
	if (ready == NULL || control == NULL)
		usage();
	signal(SIGPIPE, SIG_IGN);
	g_rec_mutex_init(&P.mu);
	g_queue_init(&P.reap);
	P.cable = 1;
	P.tb = umockdev_testbed_new();
	P.h = umockdev_ioctl_base_new();
	g_signal_connect(P.h, "handle-ioctl", G_CALLBACK(on_ioctl), NULL);
	g_signal_connect(P.h, "client-vanished", G_CALLBACK(on_vanished), NULL);
	side_init(&P.side[0], "a", 1, 1, 1);
	side_init(&P.side[1], "b", 2, 1, 1);
	side_init(&P.side[2], "x", 1, 2, 0);
	P.side[0].peer = &P.side[1];
	P.side[1].peer = &P.side[0];
	P.nextaddr[1] = P.nextaddr[2] = 2;	/* the root hubs have 1 */
	pair_add_hub(1);
	pair_add_hub(2);
	g_rec_mutex_lock(&P.mu);
	for (i = 0; i < 3; i++)
		pair_plug(&P.side[i]);
	g_rec_mutex_unlock(&P.mu);
	unlink(control);
	if (mkfifo(control, 0600) == -1 || (fd = open(control, O_RDWR | O_NONBLOCK)) == -1) {
		fprintf(stderr, "usbpair: %s: %s\n", control, strerror(errno));
		return 1;
	}
	ch = g_io_channel_unix_new(fd);
	g_io_add_watch(ch, G_IO_IN, on_control, NULL);
	P.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_term, NULL);
	g_unix_signal_add(SIGINT, on_term, NULL);
	pair_stats();
	root = umockdev_testbed_get_root_dir(P.tb);
	if ((f = fopen(ready, "w")) == NULL)
		return 1;
	fprintf(f, "%s\n", root);
	fclose(f);
	g_free(root);
	g_main_loop_run(P.loop);
	unlink(control);
	g_object_unref(P.tb);
	return 0;
}
