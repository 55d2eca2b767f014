#!/usr/bin/env bash
# t_chaos.sh: a short run of scripts/chaos.sh for `make check`: 20 SIGKILLs
# of the client, linkd and the signer while 60 requests (signs by CLI and
# spool, revocations) stream over a noisy cable that is pulled now and
# then. Nothing may be lost, nothing answered twice or differently, every
# database intact, the audit chain whole. `make chaos` is the long run.
set -u
CHAOS_KILLS=${CHAOS_KILLS:-20} CHAOS_N=${CHAOS_N:-60} CHAOS_WAIT=${CHAOS_WAIT:-60} \
	exec bash "$AL_TOP/scripts/chaos.sh"
