/*
 * transport.c: picks the transport named in the configuration.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "link.h"
#include "transport.h"
#include "util.h"

static const struct transport_ops *const transports[] = {
	&serial_ops,
};

int
transport_init(struct transport *t, const struct cfg_link *c, char *why, size_t whysz)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->cfg = c;
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (strcmp(transports[i]->name, c->transport) == 0) {
			t->ops = transports[i];
			return 0;
		}
	snprintf(why, whysz, "transport \"%s\" is not available in this build", c->transport);
	return -1;
}

/*
 * One turn of the cable for a link: read what is there into the link, let
 * it run its timers, and write what it has within the pacing allowance.
 * Returns -1 when the device has gone: the caller closes and reopens it.
 */
int
transport_link_io(struct transport *t, struct link *l, short revents, uint64_t now)
{
	uint8_t tmp[8192];
	ssize_t r = 0;
	size_t n;

	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		while ((r = t->ops->read(t, tmp, sizeof(tmp))) > 0)
			link_input(l, tmp, (size_t)r, now);
		if (r == -1)
			return -1;
	}
	link_pump(l, now);
	while (l->out.len > 0 && (n = link_write_allowance(l, now)) > 0) {
		if ((r = t->ops->write(t, l->out.p, n < l->out.len ? n : l->out.len)) <= 0)
			break;
		buf_consume(&l->out, (size_t)r);
		link_wrote(l, (size_t)r, now);
		link_pump(l, now);
	}
	return r == -1 ? -1 : 0;
}
