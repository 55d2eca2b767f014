#!/usr/bin/env bash
# t_diskfull.sh: a full disk in the middle of requests. The daemons run with
# the LD_PRELOAD shim tests/shim/enospc.c: while a control file exists,
# every write and fsync to their database files fails with ENOSPC.
#   1. ca.db full: the request stays queued on the signer host (queue.db
#      state "handed"), the signer logs "database or disk is full",
#      `airlockctl status` shows the signer's storage error; when space
#      returns the request is answered without anyone doing anything.
#   2. queue.db full: linkd cannot accept the request; it stays in the
#      client's outbox, linkd's error shows in `airlockctl status`; when
#      space returns it is accepted and answered.
#   3. ca.db full with more requests waiting than linkd's in-flight limit
#      (signer.in_flight, 32 here), the signer restarted while full, then
#      space again: every waiting request moves on, not only the first 32;
#      the signer never logs "issued" for a certificate its failed commit
#      withdrew.
#   4. queue.db full with requests streaming in: linkd's lines about it
#      are rate-limited; when space returns its WAL is checkpointed.
#   5. webdb's spool full (spool/out): airlock-client cannot write a
#      certificate's result file, so it does not store the answer (the
#      request stays unanswered in outbox.db, no .crt appears) and logs it;
#      when space returns the answer is asked for again and the file
#      written. Before 2026-12-06 the answer was stored and the file lost.
# Then: one certificate per request, every database intact, daemons alive.
set -u
. "$AL_TOP/scripts/harness.sh"
SHIM=$AL_BIN/../lib/enospc.so
[ -f "$SHIM" ] || { echo "no $SHIM (make check builds it)"; exit 1; }

D=$(mktemp -d /tmp/airlock-diskfull.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
q() { sqlite3 -cmd ".timeout 5000" "$@"; }
eventually() {	# SECONDS COMMAND [ARGS]: true once COMMAND is, polling
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

# linkd's in-flight limit as small as the tests below need to go past it
AL_SIGNER_EXTRA="in_flight = 32;" al_setup "$D"
S=$D/signer
al_cable "$D" --baud 921600
# the harness's al_start, with the shim under the two signer-host daemons
env LD_PRELOAD="$SHIM" AIRLOCK_ENOSPC_PATH="$S/state/ca.db" \
    AIRLOCK_ENOSPC_CONTROL="$D/full.signer" \
    "$AL_BIN/airlock-signerd" -d -c "$S/airlock.conf" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
env LD_PRELOAD="$SHIM" AIRLOCK_ENOSPC_PATH="$S/state/queue.db" \
    AIRLOCK_ENOSPC_CONTROL="$D/full.linkd" \
    "$AL_BIN/airlock-linkd" -d -c "$S/airlock.conf" 2>>"$D/log/linkd.log" &
echo $! > "$D/linkd.pid"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"

submit() {	# NAME: a fresh request; prints its id
	al_csr "$D" "$1" ec:P-256 "$1.diskfull.example"
	al_client "$D" submit --root demo-ec --profile server --name "$1" "$D/csr/$1.csr"
}
status() { "$AL_BIN/airlockctl" -c "$S/airlock.conf" status 2>&1; }
status_clear() { status | grep -q "ok: no daemon reports a storage error"; }
state() {	# ID: the request's state in queue.db, "" if not there
	q "$S/state/queue.db" "select state from queue where hex(reqid) = upper('$1')"
}

r1=$(submit r1)
check "before: a request is answered" 'al_client "$D" wait --timeout 30 $r1'

# 1. the signer's disk is full
touch "$D/full.signer"
r2=$(submit r2)
check "ca.db full: the signer logs the error" \
	'eventually 20 grep -q "database or disk is full" "$D/log/signerd.log"'
sleep 2
check "ca.db full: the request is not answered" \
	'al_client "$D" result $r2 >/dev/null 2>&1; [ $? = 3 ]'
check "ca.db full: the request stays queued on the signer host" '[ "$(state $r2)" = 1 ]'
check "ca.db full: no certificate for it" \
	'[ "$(q "$S/state/ca.db" "select count(*) from certs where hex(reqid) = upper(\"$r2\")")" = 0 ]'
out=$(status)
echo "$out" | sed -n '/^storage/,/^[a-z]/p' | sed 's/^/# /'
check "ca.db full: airlockctl status shows the signer's error" \
	'printf "%s\n" "$out" | grep -q "signer: storage error since .*ca.db: database or disk is full"'
check "ca.db full: the signer keeps running" 'kill -0 $(cat "$D/signerd.pid")'
rm -f "$D/full.signer"
check "space again: answered by itself" 'al_client "$D" wait --timeout 40 $r2'
check "space again: the signer says so" 'grep -q "storage works again" "$D/log/signerd.log"'
check "space again: airlockctl status is clear" status_clear

# 2. linkd's disk is full
touch "$D/full.linkd"
r3=$(submit r3)
check "queue.db full: linkd logs the error" \
	'eventually 20 grep -q "queue.db: database or disk is full" "$D/log/linkd.log"'
sleep 2
check "queue.db full: the request waits in the client's outbox" \
	'al_client "$D" result $r3 >/dev/null 2>&1; [ $? = 3 ] && [ -z "$(state $r3)" ]'
check "queue.db full: airlockctl status shows linkd's error" \
	'status | grep -q "linkd: storage error since .*queue.db: database or disk is full"'
check "queue.db full: linkd keeps running" 'kill -0 $(cat "$D/linkd.pid")'
rm -f "$D/full.linkd"
check "space again: accepted and answered by itself" 'al_client "$D" wait --timeout 40 $r3'
check "space again: airlockctl status is clear" 'eventually 10 status_clear'

# 3. ca.db full, 40 requests waiting, the signer restarted (issue 16, item 7)
start_signer() {
	env LD_PRELOAD="$SHIM" AIRLOCK_ENOSPC_PATH="$S/state/ca.db" \
	    AIRLOCK_ENOSPC_CONTROL="$D/full.signer" \
	    "$AL_BIN/airlock-signerd" -d -c "$S/airlock.conf" 2>>"$D/log/signerd.log" &
	echo $! > "$D/signerd.pid"
}
touch "$D/full.signer"
many=()
for i in $(seq 40); do many+=("$(submit m$i)"); done
check "40 waiting, ca.db full: every one handed to the signer" \
	'eventually 60 bash -c "[ \$(sqlite3 -cmd \".timeout 5000\" $S/state/queue.db \"select count(*) from queue where state = 1\") -ge 40 ]"'
al_stop_one "$D" signerd
rm -f "$D/full.signer"
start_signer
check "space again after a signer restart: all 40 answered" \
	'al_client "$D" wait --timeout 90 "${many[@]}"'
check "the signer logged \"issued\" only for certificates it kept" \
	'[ "$(grep -c " issued root=" "$D/log/signerd.log")" = "$(q "$S/state/ca.db" "select count(*) from certs")" ]'

# 4. queue.db full with requests streaming in (issue 16, item 8)
touch "$D/full.linkd"
before=$(wc -l < "$D/log/linkd.log")
for i in $(seq 10); do submit f$i >/dev/null; done
sleep 8
lines=$(( $(wc -l < "$D/log/linkd.log") - before ))
echo "# queue.db full for 8 s with 10 requests: $lines lines from linkd"
check "queue.db full: linkd's lines are rate-limited" '[ "$lines" -le 8 ]'
rm -f "$D/full.linkd"
check "space again: queue.db's WAL checkpointed" \
	'eventually 20 grep -q "queue.db: WAL checkpointed after the storage error" "$D/log/linkd.log"'
check "space again: the 10 requests answered" \
	'eventually 60 bash -c "[ \$(ls $D/webdb/state/spool/out/f*.crt 2>/dev/null | wc -l) = 10 ]"'

# 5. webdb's spool full: the client again, under the shim
al_stop_one "$D" client
env LD_PRELOAD="$SHIM" AIRLOCK_ENOSPC_PATH="$D/webdb/state/spool/out" \
    AIRLOCK_ENOSPC_CONTROL="$D/full.client" \
    "$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
touch "$D/full.client"
s1=$(submit s1)
issued() { [ "$(q "$S/state/ca.db" "select count(*) from certs where hex(reqid) = upper('$1')")" = 1 ]; }
check "spool full: the signer issues the certificate" 'eventually 30 issued $s1'
check "spool full: the client says it cannot write the result" \
	'eventually 20 grep -q "req=$s1.s result file cannot be written to the spool" "$D/log/client.log"'
sleep 6	# past one resend: still not stored
check "spool full: no result file" '[ ! -e "$D/webdb/state/spool/out/s1.crt" ]'
check "spool full: the answer is not stored (the request is unanswered)" \
	'al_client "$D" result $s1 >/dev/null 2>&1; [ $? = 3 ]'
check "spool full: no stray temporary file" \
	'[ -z "$(ls "$D/webdb/state/spool/out" | grep "^s1\.crt\.tmp")" ]'
check "spool full: the client keeps running" 'kill -0 $(cat "$D/client.pid")'
rm -f "$D/full.client"
check "space again: the answer comes again and its file is written" \
	'eventually 30 test -s "$D/webdb/state/spool/out/s1.crt"'
check "space again: the request is answered in outbox.db" \
	'eventually 10 al_client "$D" result $s1'

check "every request has its certificate, once" \
	'[ "$(q "$S/state/ca.db" "select count(*), count(distinct reqid) from certs")" = "54|54" ]'
for r in r1 r2 r3 s1; do
	check "$r: certificate verifies" 'al_verify "$D" sub-ec "$D/webdb/state/spool/out/$r.crt"'
done
check "integrity of the three databases" \
	'for f in signer/state/ca.db signer/state/queue.db webdb/state/outbox.db; do [ "$(q "$D/$f" "pragma integrity_check")" = ok ] || exit 1; done'
check "all three daemons still running" \
	'for p in signerd linkd client; do kill -0 $(cat "$D/$p.pid") || exit 1; done'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
