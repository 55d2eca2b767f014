/*
 * transport.c: picks the transport named in the configuration.
 */
#include <stdio.h>
#include <string.h>

#include "transport.h"

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
