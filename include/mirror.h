/*
 * mirror.h: airlock-client's mirror of the signer's audit chain
 * (src/client/mirror.c, docs/protocol.md section 9.7): AUDIT_FETCH as
 * low-priority traffic, every record checked as it arrives, alarms that
 * are never cleared silently, and `airlock-client audit`.
 */
#ifndef MIRROR_H
#define MIRROR_H

#include <stdint.h>

#include "config.h"

struct mirror;
struct link;
struct msg;

struct mirror *mirror_new(const struct cfg *);
void	 mirror_free(struct mirror *);	/* logs its counters */
/* Sends an AUDIT_FETCH when one is due; while requests in outbox wait for
 * answers, only a small one, and seldom. */
struct db;
void	 mirror_tick(struct mirror *, struct link *, uint64_t now, struct db *outbox);
/* 1 when m is the answer to the mirror's fetch (then it is handled). */
int	 mirror_answer(struct mirror *, const struct msg *m, uint64_t now);
void	 mirror_link_up(struct mirror *);
/* 1 while a restored signer is sent what webdb holds (catchup.c). */
int	 mirror_catchup_active(const struct mirror *);
/* airlock-client audit verify | tail [-n N] | export --json */
int	 mirror_command(const struct cfg *, int argc, char **argv);

#endif
