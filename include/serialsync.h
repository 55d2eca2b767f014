/*
 * serialsync.h: airlock-client's crl_dir/ROOT.serials for airlock-ocspd,
 * the serial of every certificate of each client.crl_roots entry: those
 * that come back over the cable, and those the signer host sends when asked
 * (SERIALS_FETCH, docs/protocol.md section 9.9), so that certificates
 * imported there (airlockctl import-openssl-ca), or whose answer webdb
 * lost, are "good" too.
 */
#ifndef SERIALSYNC_H
#define SERIALSYNC_H

#include <stddef.h>
#include <stdint.h>

struct cfg;
struct db;
struct msg;
struct serialsync;

/* serialsync.c */
/* At start: each root's cursor from outbox.db; a missing ROOT.serials is
 * written whole from the certificates outbox.db holds, and its cursor
 * starts again at 0. send puts one message on the link: 0, or -1 (not
 * sent). NULL when out of memory. */
struct serialsync *serialsync_new(const struct cfg *, struct db *outbox,
	    int (*send)(void *, const uint8_t *, size_t), void *arg);
void	 serialsync_free(struct serialsync *);	/* logs its counters */
/* A session that starts anew: every root is asked at once, and again
 * after an ERROR 101 or 200 of the session before. */
void	 serialsync_link_up(struct serialsync *);
/* Sends a SERIALS_FETCH when one is due (call while the link is ready);
 * while requests of the outbox wait for answers, small ones and seldom.
 * restoring: the signer waits for a catch-up after a restore (every
 * cursor starts again at 0, nothing is asked until it is over). */
void	 serialsync_tick(struct serialsync *, uint64_t now, int restoring);
/* 1 when m answers the fetch in flight (then it is handled), else 0. */
int	 serialsync_answer(struct serialsync *, const struct msg *m, uint64_t now);
/* A certificate that came back: its serial appended to the file of the
 * crl_roots entry whose CA certificate signed it (none: nothing), and not
 * appended again when a SERIALS answer brings it. */
void	 serialsync_publish_cert(struct serialsync *, const uint8_t *der, size_t len);
/* A serial appended for crl_roots[i] otherwise (the same, for tests). */
void	 serialsync_note(struct serialsync *, int i, const uint8_t *serial, size_t len);

#endif
