/*
 * signer_serials.c: SERIALS_FETCH, the serial numbers of a root's
 * certificates leaving the room (docs/protocol.md section 9.9), so that
 * webdb's OCSP responder knows every certificate the root holds: those
 * imported from an `openssl ca` directory, those whose answer webdb lost,
 * those of every key generation, revoked ones too.
 *
 * A read: never recorded, and the same for any request id. Positions are
 * ca.db row ids (the order certificates were stored in); a batch is an
 * index range of certs_by_root from the position webdb holds, so it costs
 * its own rows whatever the root holds, and it stops at the byte budget.
 * The signer's serials are positive and at most 20 bytes; a row that is not
 * (none is written so, but ca.db is a file anyone with the key can edit) is
 * passed over with a log line, never sent: an answer the decoder would
 * refuse would stop airlock-linkd.
 */
#include <stdio.h>
#include <string.h>

#include "castore.h"
#include "msg.h"
#include "signer.h"
#include "util.h"

#define SERIALS_DEFAULT_MAX	16384	/* SERIALS_LIST bytes when SERIALS_MAX is absent */

struct serials_walk {
	struct buf	*out;
	size_t		 max;		/* bytes of SERIALS_LIST at most */
	int64_t		 last;		/* the answer covers rows up to here */
	const char	*root;
	size_t		 n, skipped;
};

static int
serials_one(void *arg, int64_t pos, const uint8_t *serial, size_t len)
{
	struct serials_walk *w = arg;
	char hex[2 * MSG_SERIAL_MAX + 1];

	while (len > 0 && serial[0] == 0) {	/* leading zero bytes */
		serial++;
		len--;
	}
	if (len == 0 || len > MSG_SERIAL_MAX) {
		hex_encode(serial, len < MSG_SERIAL_MAX ? len : MSG_SERIAL_MAX, hex);
		log_warnx("serials: root %s: the certificate at row %lld has the "
		    "serial %s%s, which is not a positive number of at most %d "
		    "bytes; not sent to webdb", w->root, (long long)pos, len ? hex : "0",
		    len > MSG_SERIAL_MAX ? "..." : "", MSG_SERIAL_MAX);
		w->skipped++;
		w->last = pos;
		return 0;
	}
	if (w->out->len + 1 + len > w->max)
		return -1;		/* no room: the next batch starts here */
	if (msg_serials_put(w->out, serial, len) == -1)
		return -1;
	w->n++;
	w->last = pos;
	return 0;
}

int
signer_serials_fetch(struct signer *s, const struct msg *req, struct msg *ans,
    struct buf *list, char *root, size_t rootsz, char *why, size_t whysz)
{
	const struct cfg_root *r;
	struct serials_walk w;
	int64_t end;

	buf_reset(list);
	if ((r = config_root(s->cfg, (const char *)req->root.p, req->root.len)) == NULL) {
		snprintf(why, whysz, "unknown root \"%.*s\"", (int)req->root.len,
		    req->root.p);
		return AL_E_ROOT;
	}
	snprintf(root, rootsz, "%s", r->name);
	memset(&w, 0, sizeof(w));
	w.out = list;
	w.max = MSG_HAS(req, T_SERIALS_MAX) ? req->serials_max : SERIALS_DEFAULT_MAX;
	w.last = (int64_t)req->serials_after;
	w.root = r->name;
	/* the end first: in the batch's transaction both see the same rows */
	if (castore_serial_end(s->db, r->name, &end) == -1 ||
	    castore_each_serial(s->db, r->name, w.last, serials_one, &w) == -1) {
		snprintf(why, whysz, "cannot read the certificates of root %s now",
		    r->name);
		return AL_E_STORAGE;
	}
	memset(ans, 0, sizeof(*ans));
	ans->type = MSG_SERIALS;
	memcpy(ans->reqid, req->reqid, AIRLOCK_REQID_LEN);
	ans->root = req->root;
	ans->serials_list.p = list->p;
	ans->serials_list.len = list->len;
	ans->serials_last = (uint64_t)w.last;
	ans->serials_end = (uint64_t)end;
	MSG_SET(ans, T_ROOT);
	MSG_SET(ans, T_SERIALS_LIST);
	MSG_SET(ans, T_SERIALS_LAST);
	MSG_SET(ans, T_SERIALS_END);
	log_debug("serials: root %s: %zu sent after %lld, up to %lld of %lld", r->name,
	    w.n, (long long)req->serials_after, (long long)w.last, (long long)end);
	return AL_OK;
}
