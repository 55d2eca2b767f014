/*
 * usb.c: the "usb-pl2501" transport, a Prolific PL2501 USB 2.0 host-to-host
 * bridge driven from user space with libusb-1.0. The only module that
 * includes libusb.h; libusb's error codes and transfer states become the
 * outcomes of enum usb_res in one function, usb_map().
 *
 * The chip, as Linux's plusb driver and the PL2301/PL2501 notes describe
 * it: one vendor-class interface 0 with a bulk OUT and a bulk IN endpoint
 * (0x02 and 0x83 on the cables seen so far; we take whatever the descriptors
 * say) and an interrupt IN endpoint whose one-byte status carries the
 * "QuickLink" handshake bits the other host set, bit 0 (PEER_E) meaning
 * "the peer is there". Vendor request 3 sets and 1 clears those bits
 * (wValue); the same requests with RESET_IN/RESET_OUT empty the chip's
 * pipes. Bytes written to one host's bulk OUT come out of the other host's
 * bulk IN; a transfer ends at a short or zero-length packet, so we ask for
 * a zero-length packet after a write that fills its last packet.
 *
 * Shape: open() finds the device (by usb_path, else the first free device
 * with usb_id), detaches a bound kernel driver (plusb takes this chip as a
 * network device), claims interface 0, clears halts and resets the pipes
 * (some units refuse that reset, as plusb notes: we count it and go on),
 * announces PEER_E, and starts a worker thread that owns every transfer.
 * The daemon and the worker exchange bytes over a socketpair, so the
 * daemon polls one fd, t->fd, as with the serial line. When the worker
 * stops (device unplugged, re-enumerated, a stall storm) it shuts its end:
 * the daemon reads end-of-file, read() returns -1, and the daemon closes
 * and reopens the transport, which finds the device again by path or id
 * under whatever address it now has (polling, once a second, is our
 * hotplug). Nothing here knows frames or sessions: bytes lost in a
 * transfer that timed out or stalled are recovered by the link layer.
 *
 * Memory is bounded: USB_NIN receive transfers of USB_XFER bytes, a receive
 * buffer of the same total that is only refilled as the daemon reads, one
 * send transfer, and socket buffers of USB_SOCKBUF.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libusb.h>

#include "transport.h"
#include "util.h"

#define USB_XFER		16384	/* bytes per bulk transfer, a multiple of 512 */
#define USB_NIN			4	/* bulk IN transfers kept submitted */
#define USB_RXCAP		(USB_NIN * USB_XFER)
#define USB_SOCKBUF		(64 * 1024)
#define USB_OUT_TIMEOUT_MS	1000	/* a write the peer does not take */
#define USB_CTL_TIMEOUT_MS	500
#define USB_STATUS_MS		1000	/* read the chip's status byte this often */
#define USB_STALL_MAX		20	/* stalls in one second: a storm, reopen */
#define USB_ERROR_MAX		50	/* transfer errors in one second: reopen */
#define USB_MAXDEV		32	/* devices examined per open */

/* QuickLink handshake bits and vendor requests of the PL2301/PL2501 */
#define PL_PEER_E		0x01	/* the peer is there */
#define PL_RESET_IN		0x08	/* empty the input pipe */
#define PL_RESET_OUT		0x10	/* empty the output pipe */
#define PL_S_EN			0x80	/* suspend enable */
#define PL_REQ_CLEAR		1
#define PL_REQ_SET		3

/* What a libusb return code or transfer status means to us. */
enum usb_res {
	USB_OK = 0,
	USB_TIMEOUT,	/* nothing moved in time; not an error */
	USB_STALL,	/* endpoint halted: clear it */
	USB_GONE,	/* unplugged or re-enumerated: close and find it again */
	USB_BUSY,	/* another program has it */
	USB_DENIED,	/* no permission on the device node */
	USB_CANCEL,	/* we cancelled it */
	USB_FAIL,	/* anything else: counted, retried */
};

struct usb_stats {
	uint64_t	 opens, lost, detached, pipe_resets, reset_refused;
	uint64_t	 xfers_in, xfers_out, bytes_in, bytes_out, short_in, zlp_in;
	uint64_t	 timeouts, stalls, clear_halts, errors, dropped;
};

struct usb_priv {
	pthread_mutex_t	 mu;		/* st, peer, where */
	struct usb_stats st;
	int		 peer;		/* 1 present, 0 absent, -1 unknown */
	char		 where[96];	/* the open device, for status() */
	/* the open device: the worker's after open() */
	libusb_context	*ctx;
	libusb_device_handle *h;
	char		 path[32];	/* "bus-port.port" */
	uint8_t		 ep_in, ep_out, ep_int;
	pthread_t	 thr;
	int		 running;
	int		 sv[2];		/* [0] is t->fd, [1] the worker's */
	_Atomic int	 stop;
	/* worker state */
	struct libusb_transfer *in[USB_NIN], *out, *intr;
	int		 in_busy[USB_NIN], out_busy, intr_busy;
	uint8_t		 inbuf[USB_NIN][USB_XFER];
	uint8_t		 outbuf[USB_XFER];
	uint8_t		 intrbuf[8];
	uint8_t		 rx[USB_RXCAP];	/* received, not yet passed on */
	size_t		 rxlen;
	int		 clear_in, clear_out;	/* halted: clear before going on */
	uint64_t	 next_status, window_at;
	int		 nstall, nerror;
	const char	*fatal;		/* why the worker stops; NULL runs */
};

static enum usb_res
usb_map(int code, int is_status)
{
	if (is_status) {
		switch (code) {
		case LIBUSB_TRANSFER_COMPLETED:	return USB_OK;
		case LIBUSB_TRANSFER_TIMED_OUT:	return USB_TIMEOUT;
		case LIBUSB_TRANSFER_STALL:	return USB_STALL;
		case LIBUSB_TRANSFER_NO_DEVICE:	return USB_GONE;
		case LIBUSB_TRANSFER_CANCELLED:	return USB_CANCEL;
		default:			return USB_FAIL;	/* ERROR, OVERFLOW */
		}
	}
	switch (code) {
	case LIBUSB_SUCCESS:		return USB_OK;
	case LIBUSB_ERROR_TIMEOUT:	return USB_TIMEOUT;
	case LIBUSB_ERROR_PIPE:		return USB_STALL;
	case LIBUSB_ERROR_NO_DEVICE:
	case LIBUSB_ERROR_NOT_FOUND:	return USB_GONE;
	case LIBUSB_ERROR_BUSY:		return USB_BUSY;
	case LIBUSB_ERROR_ACCESS:	return USB_DENIED;
	default:			return code >= 0 ? USB_OK : USB_FAIL;
	}
}

static struct usb_priv *
usb_priv(struct transport *t)
{
	return t->priv;
}

/* "067b:2501" -> vid, pid; 0 or -1. */
static int
usb_parse_id(const char *s, uint16_t *vid, uint16_t *pid)
{
	const char *hex = "0123456789abcdefABCDEF";
	unsigned v, p;

	if (strlen(s) != 9 || s[4] != ':' || strspn(s, hex) != 4 || strspn(s + 5, hex) != 4 ||
	    sscanf(s, "%4x:%4x", &v, &p) != 2)
		return -1;
	*vid = (uint16_t)v;
	*pid = (uint16_t)p;
	return 0;
}

/* The kernel's name for where a device is plugged: "1-1", "2-1.4.2". */
static void
usb_dev_path(libusb_device *dev, char *out, size_t outsz)
{
	uint8_t ports[8];
	int i, n, off;

	n = libusb_get_port_numbers(dev, ports, sizeof(ports));
	off = snprintf(out, outsz, "%u", libusb_get_bus_number(dev));
	for (i = 0; i < n && off > 0 && (size_t)off < outsz; i++)
		off += snprintf(out + off, outsz - (size_t)off, "%c%u", i ? '.' : '-', ports[i]);
	if (n <= 0 && off > 0 && (size_t)off < outsz)
		snprintf(out + off, outsz - (size_t)off, "-0");
}

static void
usb_count(struct usb_priv *u, uint64_t *ctr, uint64_t n)
{
	pthread_mutex_lock(&u->mu);
	*ctr += n;
	pthread_mutex_unlock(&u->mu);
}

static void
usb_set_peer(struct usb_priv *u, int peer)
{
	int was;

	pthread_mutex_lock(&u->mu);
	was = u->peer;
	u->peer = peer;
	pthread_mutex_unlock(&u->mu);
	if (was != peer && peer != -1)
		log_info("usb %s: peer %s", u->path, peer ? "present" : "absent");
}

/*
 * The bulk and interrupt endpoints of interface 0, from the descriptors.
 * -1 with a sentence if the device cannot be a host-to-host bridge.
 */
static int
usb_endpoints(struct usb_priv *u, libusb_device *dev, char *why, size_t whysz)
{
	struct libusb_config_descriptor *cd;
	const struct libusb_interface_descriptor *id;
	int i, r;

	u->ep_in = u->ep_out = u->ep_int = 0;
	if ((r = libusb_get_active_config_descriptor(dev, &cd)) != 0 &&
	    (r = libusb_get_config_descriptor(dev, 0, &cd)) != 0) {
		snprintf(why, whysz, "usb %s: no configuration descriptor: %s", u->path,
		    libusb_strerror(r));
		return -1;
	}
	if (cd->bNumInterfaces >= 1 && cd->interface[0].num_altsetting >= 1) {
		id = &cd->interface[0].altsetting[0];
		for (i = 0; i < id->bNumEndpoints; i++) {
			const struct libusb_endpoint_descriptor *e = &id->endpoint[i];
			int type = e->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK;
			int in = (e->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN;

			if (type == LIBUSB_TRANSFER_TYPE_BULK && in && u->ep_in == 0)
				u->ep_in = e->bEndpointAddress;
			else if (type == LIBUSB_TRANSFER_TYPE_BULK && !in && u->ep_out == 0)
				u->ep_out = e->bEndpointAddress;
			else if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT && in && u->ep_int == 0)
				u->ep_int = e->bEndpointAddress;
		}
	}
	libusb_free_config_descriptor(cd);
	if (u->ep_in == 0 || u->ep_out == 0) {
		snprintf(why, whysz, "usb %s: interface 0 has no bulk IN and OUT endpoints",
		    u->path);
		return -1;
	}
	return 0;
}

/* Detaches a kernel driver (plusb) from interface 0 and claims it. */
static int
usb_claim(struct usb_priv *u, char *why, size_t whysz)
{
	int r;

	if (libusb_kernel_driver_active(u->h, 0) == 1) {
		if ((r = libusb_detach_kernel_driver(u->h, 0)) != 0) {
			snprintf(why, whysz, "usb %s: cannot detach the kernel driver: %s",
			    u->path, libusb_strerror(r));
			return -1;
		}
		log_info("usb %s: detached the kernel driver from interface 0", u->path);
		usb_count(u, &u->st.detached, 1);
	}
	if ((r = libusb_claim_interface(u->h, 0)) == 0)
		return 0;
	if (usb_map(r, 0) == USB_BUSY)
		snprintf(why, whysz, "usb %s: in use by another program", u->path);
	else
		snprintf(why, whysz, "usb %s: cannot claim interface 0: %s", u->path,
		    libusb_strerror(r));
	return -1;
}

static int
usb_vendor(struct usb_priv *u, uint8_t req, uint16_t bits)
{
	return libusb_control_transfer(u->h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_VENDOR |
	    LIBUSB_RECIPIENT_DEVICE, req, bits, 0, NULL, 0, USB_CTL_TIMEOUT_MS);
}

/* Session start: halts cleared, both pipes emptied, PEER_E announced. */
static void
usb_reset_pipes(struct usb_priv *u)
{
	int r;

	libusb_clear_halt(u->h, u->ep_in);
	libusb_clear_halt(u->h, u->ep_out);
	r = usb_vendor(u, PL_REQ_SET, PL_S_EN | PL_RESET_OUT | PL_RESET_IN | PL_PEER_E);
	if (r < 0) {
		/* some units reject the reset (Linux plusb says so too) */
		log_debug("usb %s: pipe reset refused: %s", u->path, libusb_strerror(r));
		usb_count(u, &u->st.reset_refused, 1);
	} else
		usb_count(u, &u->st.pipe_resets, 1);
}

/* Is dev the device the configuration names? 1 yes, 0 no, -1 wrong chip. */
static int
usb_match(const struct cfg_link *c, libusb_device *dev, uint16_t vid, uint16_t pid,
    char *why, size_t whysz)
{
	struct libusb_device_descriptor dd;
	char path[32];

	if (libusb_get_device_descriptor(dev, &dd) != 0)
		return 0;
	usb_dev_path(dev, path, sizeof(path));
	if (c->usb_path[0] != '\0') {
		if (strcmp(path, c->usb_path) != 0)
			return 0;
		if (dd.idVendor != vid || dd.idProduct != pid) {
			snprintf(why, whysz, "usb %s: %04x:%04x is not a PL2501 bridge "
			    "(usb_id %04x:%04x)", path, dd.idVendor, dd.idProduct, vid, pid);
			return -1;
		}
		return 1;
	}
	return dd.idVendor == vid && dd.idProduct == pid;
}

/* Opens and claims one candidate; 0, or -1 with a sentence. */
static int
usb_try(struct usb_priv *u, libusb_device *dev, char *why, size_t whysz)
{
	int r;

	usb_dev_path(dev, u->path, sizeof(u->path));
	if (usb_endpoints(u, dev, why, whysz) == -1)
		return -1;
	if ((r = libusb_open(dev, &u->h)) != 0) {
		snprintf(why, whysz, "usb %s: cannot open: %s%s", u->path, libusb_strerror(r),
		    usb_map(r, 0) == USB_DENIED ? " (see docs/usb.md for the udev rule)" : "");
		u->h = NULL;
		return -1;
	}
	if (usb_claim(u, why, whysz) == -1) {
		libusb_close(u->h);
		u->h = NULL;
		return -1;
	}
	pthread_mutex_lock(&u->mu);
	snprintf(u->where, sizeof(u->where), "%s bus %u address %u", u->path,
	    libusb_get_bus_number(dev), libusb_get_device_address(dev));
	pthread_mutex_unlock(&u->mu);
	return 0;
}

/* Finds the configured device and claims it; 0 or -1 with a sentence. */
static int
usb_find(struct transport *t, char *why, size_t whysz)
{
	struct usb_priv *u = usb_priv(t);
	libusb_device **list;
	uint16_t vid, pid;
	ssize_t n, i;
	int m, tried = 0;

	if (usb_parse_id(t->cfg->usb_id, &vid, &pid) == -1) {
		snprintf(why, whysz, "usb_id \"%s\" is not vendor:product in hex", t->cfg->usb_id);
		return -1;
	}
	if ((n = libusb_get_device_list(u->ctx, &list)) < 0) {
		snprintf(why, whysz, "usb: cannot list devices: %s", libusb_strerror((int)n));
		return -1;
	}
	snprintf(why, whysz, "usb: no %04x:%04x device%s%s", vid, pid,
	    t->cfg->usb_path[0] ? " at " : "", t->cfg->usb_path);
	for (i = 0; i < n && tried < USB_MAXDEV; i++) {
		if ((m = usb_match(t->cfg, list[i], vid, pid, why, whysz)) == -1)
			break;
		if (m == 0)
			continue;
		tried++;
		if (usb_try(u, list[i], why, whysz) == 0) {
			libusb_free_device_list(list, 1);
			return 0;
		}
	}
	libusb_free_device_list(list, 1);
	return -1;
}

/* ---- the worker thread ---- */

static void usb_submit_in(struct usb_priv *, int);

static void
usb_fatal(struct usb_priv *u, const char *why)
{
	if (u->fatal == NULL)
		u->fatal = why;
}

/* Counts a stall or an error; too many in one second ends the device. */
static void
usb_trouble(struct usb_priv *u, int stall)
{
	uint64_t now = mono_ms();

	if (now >= u->window_at + 1000) {
		u->window_at = now;
		u->nstall = u->nerror = 0;
	}
	if (stall) {
		usb_count(u, &u->st.stalls, 1);
		if (++u->nstall > USB_STALL_MAX)
			usb_fatal(u, "stall storm");
	} else {
		usb_count(u, &u->st.errors, 1);
		if (++u->nerror > USB_ERROR_MAX)
			usb_fatal(u, "too many transfer errors");
	}
}

static int
usb_in_index(struct usb_priv *u, struct libusb_transfer *x)
{
	int i;

	for (i = 0; i < USB_NIN; i++)
		if (u->in[i] == x)
			return i;
	return 0;
}

static void LIBUSB_CALL
usb_in_done(struct libusb_transfer *x)
{
	struct usb_priv *u = x->user_data;
	int i = usb_in_index(u, x);
	size_t n = (size_t)x->actual_length;

	u->in_busy[i] = 0;
	switch (usb_map(x->status, 1)) {
	case USB_OK:
		pthread_mutex_lock(&u->mu);
		u->st.xfers_in++;
		u->st.bytes_in += n;
		if (n == 0)
			u->st.zlp_in++;
		else if (n < (size_t)x->length)
			u->st.short_in++;
		pthread_mutex_unlock(&u->mu);
		break;
	case USB_STALL:
		if (!u->clear_in)
			usb_trouble(u, 1);
		u->clear_in = 1;
		break;
	case USB_GONE:
		usb_fatal(u, "unplugged");
		return;
	case USB_CANCEL:
		return;
	default:
		usb_trouble(u, 0);
		break;
	}
	/* the room was reserved at submission: it always fits */
	if (n > 0 && u->rxlen + n <= sizeof(u->rx)) {
		memcpy(u->rx + u->rxlen, x->buffer, n);
		u->rxlen += n;
	}
}

static void LIBUSB_CALL
usb_out_done(struct libusb_transfer *x)
{
	struct usb_priv *u = x->user_data;
	size_t n = (size_t)x->actual_length, lost = (size_t)x->length - n;

	u->out_busy = 0;
	pthread_mutex_lock(&u->mu);
	u->st.bytes_out += n;
	u->st.xfers_out++;
	pthread_mutex_unlock(&u->mu);
	switch (usb_map(x->status, 1)) {
	case USB_OK:
		return;
	case USB_TIMEOUT:
		/* the peer does not take data: what did not go is dropped */
		usb_count(u, &u->st.timeouts, 1);
		break;
	case USB_STALL:
		u->clear_out = 1;
		usb_trouble(u, 1);
		break;
	case USB_GONE:
		usb_fatal(u, "unplugged");
		return;
	case USB_CANCEL:
		return;
	default:
		usb_trouble(u, 0);
		break;
	}
	usb_count(u, &u->st.dropped, lost);
}

static void LIBUSB_CALL
usb_intr_done(struct libusb_transfer *x)
{
	struct usb_priv *u = x->user_data;

	u->intr_busy = 0;
	switch (usb_map(x->status, 1)) {
	case USB_OK:
		if (x->actual_length >= 1)
			usb_set_peer(u, (x->buffer[0] & PL_PEER_E) != 0);
		break;
	case USB_GONE:
		usb_fatal(u, "unplugged");
		break;
	default:
		break;		/* no news: the last state stands */
	}
}

/* Submits IN transfer i if its buffer's worth of room is free. */
static void
usb_submit_in(struct usb_priv *u, int i)
{
	size_t reserved = u->rxlen;
	int j, r;

	if (u->in_busy[i] || u->clear_in || u->fatal)
		return;
	for (j = 0; j < USB_NIN; j++)
		if (u->in_busy[j])
			reserved += USB_XFER;
	if (reserved + USB_XFER > sizeof(u->rx))
		return;		/* wait until the daemon has read */
	libusb_fill_bulk_transfer(u->in[i], u->h, u->ep_in, u->inbuf[i], USB_XFER,
	    usb_in_done, u, 0);
	if ((r = libusb_submit_transfer(u->in[i])) == 0)
		u->in_busy[i] = 1;
	else if (usb_map(r, 0) == USB_GONE)
		usb_fatal(u, "unplugged");
	else
		usb_trouble(u, 0);
}

static void
usb_submit_out(struct usb_priv *u, size_t n)
{
	int r;

	libusb_fill_bulk_transfer(u->out, u->h, u->ep_out, u->outbuf, (int)n, usb_out_done,
	    u, USB_OUT_TIMEOUT_MS);
	u->out->flags = LIBUSB_TRANSFER_ADD_ZERO_PACKET;
	if ((r = libusb_submit_transfer(u->out)) == 0) {
		u->out_busy = 1;
		return;
	}
	usb_count(u, &u->st.dropped, n);
	if (usb_map(r, 0) == USB_GONE)
		usb_fatal(u, "unplugged");
	else
		usb_trouble(u, 0);
}

static void
usb_submit_status(struct usb_priv *u, uint64_t now)
{
	if (u->ep_int == 0 || u->intr_busy || now < u->next_status)
		return;
	u->next_status = now + USB_STATUS_MS;
	libusb_fill_interrupt_transfer(u->intr, u->h, u->ep_int, u->intrbuf, 1, usb_intr_done,
	    u, USB_CTL_TIMEOUT_MS);
	if (libusb_submit_transfer(u->intr) == 0)
		u->intr_busy = 1;
}

/*
 * Halted endpoints are cleared outside the callbacks (a synchronous call).
 * The transfers still queued on a halted endpoint wait and go on after it.
 */
static void
usb_clear_halts(struct usb_priv *u)
{
	int r;

	if (u->clear_in) {
		if ((r = libusb_clear_halt(u->h, u->ep_in)) != 0 && usb_map(r, 0) == USB_GONE)
			usb_fatal(u, "unplugged");
		usb_count(u, &u->st.clear_halts, 1);
		u->clear_in = 0;
	}
	if (u->clear_out && !u->out_busy) {
		if ((r = libusb_clear_halt(u->h, u->ep_out)) != 0 && usb_map(r, 0) == USB_GONE)
			usb_fatal(u, "unplugged");
		usb_count(u, &u->st.clear_halts, 1);
		u->clear_out = 0;
	}
}

/* Bytes between the socket and the transfers, both ways, without blocking. */
static void
usb_pump(struct usb_priv *u)
{
	ssize_t r;
	int i;

	if (u->rxlen > 0) {
		r = send(u->sv[1], u->rx, u->rxlen, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			memmove(u->rx, u->rx + r, u->rxlen - (size_t)r);
			u->rxlen -= (size_t)r;
		} else if (r == -1 && errno != EAGAIN && errno != EINTR)
			usb_fatal(u, "closed by the daemon");
	}
	for (i = 0; i < USB_NIN; i++)
		usb_submit_in(u, i);
	if (!u->out_busy && !u->clear_out && !u->fatal) {
		r = recv(u->sv[1], u->outbuf, sizeof(u->outbuf), MSG_DONTWAIT);
		if (r > 0)
			usb_submit_out(u, (size_t)r);
		else if (r == 0)
			usb_fatal(u, "closed by the daemon");
	}
}

/* Waits for libusb's fds, the socket, or the next status read. */
static void
usb_wait(struct usb_priv *u)
{
	const struct libusb_pollfd **lf;
	struct pollfd pfd[16];
	struct timeval tv;
	uint64_t now = mono_ms();
	int n = 0, timeout, i;

	pfd[n].fd = u->sv[1];
	pfd[n].events = (u->rxlen ? POLLOUT : 0) | (!u->out_busy && !u->clear_out ? POLLIN : 0);
	n++;
	if ((lf = libusb_get_pollfds(u->ctx)) != NULL) {
		for (i = 0; lf[i] != NULL && n < 16; i++, n++) {
			pfd[n].fd = lf[i]->fd;
			pfd[n].events = lf[i]->events;
		}
		libusb_free_pollfds(lf);
	}
	timeout = u->ep_int && !u->intr_busy ? (int)(u->next_status > now ?
	    u->next_status - now : 0) : USB_STATUS_MS;
	if (libusb_get_next_timeout(u->ctx, &tv) == 1) {
		int ms = (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000);

		if (ms < timeout)
			timeout = ms;
	}
	if (u->clear_in || u->clear_out)
		timeout = 0;
	poll(pfd, (nfds_t)n, timeout);
}

/* Cancels what is in flight and lets the cancellations finish. */
static void
usb_drain(struct usb_priv *u)
{
	struct timeval tv = { 0, 100000 };
	uint64_t until = mono_ms() + 2000;
	int i, busy;

	for (i = 0; i < USB_NIN; i++)
		if (u->in_busy[i])
			libusb_cancel_transfer(u->in[i]);
	if (u->out_busy)
		libusb_cancel_transfer(u->out);
	if (u->intr_busy)
		libusb_cancel_transfer(u->intr);
	do {
		busy = u->out_busy || u->intr_busy;
		for (i = 0; i < USB_NIN; i++)
			busy |= u->in_busy[i];
		if (busy)
			libusb_handle_events_timeout_completed(u->ctx, &tv, NULL);
	} while (busy && mono_ms() < until);
}

static void *
usb_worker(void *arg)
{
	struct usb_priv *u = arg;
	struct timeval zero = { 0, 0 };
	int r;

	while (!u->stop && u->fatal == NULL) {
		usb_pump(u);
		usb_submit_status(u, mono_ms());
		usb_wait(u);
		r = libusb_handle_events_timeout_completed(u->ctx, &zero, NULL);
		if (r != 0 && usb_map(r, 0) == USB_GONE)
			usb_fatal(u, "unplugged");
		usb_clear_halts(u);
	}
	usb_drain(u);
	if (u->fatal != NULL && !u->stop) {
		log_warnx("usb %s: %s; the link will reopen it", u->path, u->fatal);
		usb_count(u, &u->st.lost, 1);
	}
	shutdown(u->sv[1], SHUT_RDWR);	/* the daemon reads end-of-file */
	return NULL;
}

/* ---- the transport ops ---- */

static int
usb_alloc_transfers(struct usb_priv *u)
{
	int i;

	for (i = 0; i < USB_NIN; i++)
		if ((u->in[i] = libusb_alloc_transfer(0)) == NULL)
			return -1;
	if ((u->out = libusb_alloc_transfer(0)) == NULL ||
	    (u->intr = libusb_alloc_transfer(0)) == NULL)
		return -1;
	return 0;
}

static void
usb_free_device(struct usb_priv *u)
{
	int i;

	for (i = 0; i < USB_NIN; i++) {
		libusb_free_transfer(u->in[i]);
		u->in[i] = NULL;
		u->in_busy[i] = 0;
	}
	libusb_free_transfer(u->out);
	libusb_free_transfer(u->intr);
	u->out = u->intr = NULL;
	u->out_busy = u->intr_busy = 0;
	if (u->h != NULL) {
		if (u->fatal == NULL || strcmp(u->fatal, "unplugged") != 0) {
			usb_vendor(u, PL_REQ_CLEAR, PL_PEER_E);
			libusb_release_interface(u->h, 0);
		}
		libusb_close(u->h);
	}
	u->h = NULL;
	if (u->ctx != NULL)
		libusb_exit(u->ctx);
	u->ctx = NULL;
	if (u->sv[1] != -1)
		close(u->sv[1]);
	u->sv[0] = u->sv[1] = -1;
	pthread_mutex_lock(&u->mu);
	u->where[0] = '\0';
	u->peer = -1;
	pthread_mutex_unlock(&u->mu);
}

static int
usb_socketpair(struct usb_priv *u)
{
	int sz = USB_SOCKBUF, i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, u->sv) == -1)
		return -1;
	for (i = 0; i < 2; i++) {
		setsockopt(u->sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(u->sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	return 0;
}

static int
usb_start(struct transport *t, char *why, size_t whysz)
{
	struct usb_priv *u = usb_priv(t);
	int r;

	if ((r = libusb_init(&u->ctx)) != 0) {
		snprintf(why, whysz, "usb: libusb cannot start: %s", libusb_strerror(r));
		u->ctx = NULL;
		return -1;
	}
	if (usb_find(t, why, whysz) == -1)
		return -1;
	usb_reset_pipes(u);
	if (usb_alloc_transfers(u) == -1 || usb_socketpair(u) == -1) {
		snprintf(why, whysz, "usb %s: out of memory or descriptors", u->path);
		return -1;
	}
	u->stop = 0;
	u->fatal = NULL;
	u->rxlen = 0;
	u->clear_in = u->clear_out = 0;
	u->next_status = 0;
	if ((r = pthread_create(&u->thr, NULL, usb_worker, u)) != 0) {
		snprintf(why, whysz, "usb %s: cannot start a thread: %s", u->path, strerror(r));
		return -1;
	}
	u->running = 1;
	t->fd = u->sv[0];
	return 0;
}

static int
usb_open(struct transport *t, char *why, size_t whysz)
{
	struct usb_priv *u = usb_priv(t);

	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL) {
			snprintf(why, whysz, "usb: out of memory");
			return -1;
		}
		pthread_mutex_init(&u->mu, NULL);
		u->peer = -1;
		u->sv[0] = u->sv[1] = -1;
		t->priv = u;
	}
	if (usb_start(t, why, whysz) == -1) {
		if (u->sv[0] != -1)
			close(u->sv[0]);
		usb_free_device(u);
		return -1;	/* transport_reopen() logs why */
	}
	pthread_mutex_lock(&u->mu);
	u->st.opens++;
	pthread_mutex_unlock(&u->mu);
	log_info("usb %s: open (%s), endpoints in 0x%02x out 0x%02x status 0x%02x", u->path,
	    u->where, u->ep_in, u->ep_out, u->ep_int);
	return 0;
}

static void
usb_close(struct transport *t)
{
	struct usb_priv *u = usb_priv(t);

	if (u == NULL || !u->running)
		return;
	u->stop = 1;
	close(u->sv[0]);	/* wakes the worker's poll */
	t->fd = -1;
	pthread_join(u->thr, NULL);
	u->running = 0;
	usb_free_device(u);
}

static void
usb_release(struct transport *t)
{
	struct usb_priv *u = usb_priv(t);

	if (u == NULL)
		return;
	pthread_mutex_destroy(&u->mu);
	free(u);
	t->priv = NULL;
}

static ssize_t
usb_read(struct transport *t, void *p, size_t n)
{
	ssize_t r = recv(t->fd, p, n, MSG_DONTWAIT);

	if (r > 0)
		return r;
	if (r == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;	/* end-of-file: the worker has given the device up */
}

static ssize_t
usb_write(struct transport *t, const void *p, size_t n)
{
	ssize_t r = send(t->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (r >= 0)
		return r;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return -1;
}

static int
usb_link_status(struct transport *t)
{
	struct usb_priv *u = usb_priv(t);
	int peer;

	if (u == NULL)
		return -1;
	pthread_mutex_lock(&u->mu);
	peer = u->peer;
	pthread_mutex_unlock(&u->mu);
	return peer;
}

static int
usb_status(struct transport *t, char *out, size_t outsz)
{
	struct usb_priv *u = usb_priv(t);
	struct usb_stats s;
	char where[96];

	if (u == NULL) {
		snprintf(out, outsz, "usb-pl2501 %s %s closed", t->cfg->usb_id,
		    t->cfg->usb_path[0] ? t->cfg->usb_path : "any");
		return 0;
	}
	pthread_mutex_lock(&u->mu);
	s = u->st;
	snprintf(where, sizeof(where), "%s", u->where[0] ? u->where : "closed");
	pthread_mutex_unlock(&u->mu);
	snprintf(out, outsz, "usb-pl2501 %s %s\nusb opens=%llu lost=%llu detached=%llu "
	    "pipe_resets=%llu reset_refused=%llu xfers_in=%llu xfers_out=%llu bytes_in=%llu "
	    "bytes_out=%llu short_in=%llu zlp_in=%llu timeouts=%llu stalls=%llu "
	    "clear_halts=%llu errors=%llu dropped=%llu", t->cfg->usb_id, where,
	    (unsigned long long)s.opens, (unsigned long long)s.lost,
	    (unsigned long long)s.detached, (unsigned long long)s.pipe_resets,
	    (unsigned long long)s.reset_refused, (unsigned long long)s.xfers_in,
	    (unsigned long long)s.xfers_out, (unsigned long long)s.bytes_in,
	    (unsigned long long)s.bytes_out, (unsigned long long)s.short_in,
	    (unsigned long long)s.zlp_in, (unsigned long long)s.timeouts,
	    (unsigned long long)s.stalls, (unsigned long long)s.clear_halts,
	    (unsigned long long)s.errors, (unsigned long long)s.dropped);
	return 0;
}

const struct transport_ops usb_pl2501_ops = {
	.name = "usb-pl2501",
	.open = usb_open,
	.close = usb_close,
	.read = usb_read,
	.write = usb_write,
	.status = usb_status,
	.link_status = usb_link_status,
	.release = usb_release,
};

/* ---- listing, for "airlockctl usb" and "airlock-client usb" ---- */

static const char *
usb_role(const struct cfg_link *c, libusb_device *dev, const struct libusb_device_descriptor *dd,
    uint16_t vid, uint16_t pid)
{
	char path[32];

	usb_dev_path(dev, path, sizeof(path));
	if (dd->idVendor != vid || dd->idProduct != pid)
		return strcmp(path, c->usb_path) == 0 ? "configured, but not a PL2501" :
		    "not a PL2501";
	if (c->usb_path[0] == '\0')
		return "candidate";
	return strcmp(path, c->usb_path) == 0 ? "selected by usb_path" :
	    "candidate (usb_path selects another)";
}

/* Lists the USB devices this host has, marking what the transport would take. */
int
usb_list(const struct cfg_link *c, FILE *out)
{
	struct libusb_device_descriptor dd;
	libusb_context *ctx;
	libusb_device **list;
	uint16_t vid = 0, pid = 0;
	char path[32];
	ssize_t n, i;
	int r, shown = 0;

	if (usb_parse_id(c->usb_id, &vid, &pid) == -1)
		fprintf(out, "usb_id \"%s\" is not vendor:product in hex\n", c->usb_id);
	if ((r = libusb_init(&ctx)) != 0) {
		fprintf(out, "no USB on this host: %s\n", libusb_strerror(r));
		return -1;
	}
	if ((n = libusb_get_device_list(ctx, &list)) < 0) {
		fprintf(out, "cannot list USB devices: %s\n", libusb_strerror((int)n));
		libusb_exit(ctx);
		return -1;
	}
	fprintf(out, "USB devices (usb_id %s, usb_path %s):\n", c->usb_id,
	    c->usb_path[0] ? c->usb_path : "any");
	for (i = 0; i < n; i++) {
		if (libusb_get_device_descriptor(list[i], &dd) != 0 ||
		    dd.bDeviceClass == LIBUSB_CLASS_HUB)
			continue;
		usb_dev_path(list[i], path, sizeof(path));
		fprintf(out, "  %-8s bus %03u addr %03u  %04x:%04x  %s\n", path,
		    libusb_get_bus_number(list[i]), libusb_get_device_address(list[i]),
		    dd.idVendor, dd.idProduct, usb_role(c, list[i], &dd, vid, pid));
		shown++;
	}
	if (shown == 0)
		fprintf(out, "  none\n");
	libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	return 0;
}
