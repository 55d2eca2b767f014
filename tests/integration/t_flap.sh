#!/usr/bin/env bash
# t_flap.sh: a cable that comes and goes (issue 19), on a real pty cable at
# 115200 baud, with every request checked to be answered exactly once.
#  1. short cable pulls (linksim --disconnect-for 1500) during a batch: the
#     session survives them (one session at each end), the link counts
#     them as outages, and the frame size is not cut for them;
#  2. the device vanishes mid-batch and comes back (the simulator killed and
#     started again): a new session, which resumes both streams: the client
#     sends nothing again and linkd sees no repeated request;
#  3. an old-behaviour client (link.revision = 1) against the new linkd: they
#     speak revision 1, and after the device comes back the client resends
#     every unanswered request as before; still exactly once;
#  4. the same with an old-behaviour linkd and the new client.
set -u
. "$AL_TOP/scripts/harness.sh"
D=$(mktemp -d /tmp/airlock-flap.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
stat_of() {	# HOST KEY: a counter from that host's link.status
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$D/$1/state/link.status" 2>/dev/null
}
submit() {	# FROM TO: submit CSRs FROM..TO-1, print their ids
	local i
	for i in $(seq "$1" $(($2 - 1))); do
		al_client "$D" submit --root demo-ec --profile server --name f$i "$D/reqs/$i.der" || exit 1
	done
}
exactly_once() {	# N: N answered requests, N certificates, one per request id
	[ "$(sqlite3 "$D/webdb/state/outbox.db" "select count(*) from outbox where state = 2")" = "$1" ] &&
	[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*), count(distinct reqid) from certs")" = "$1|$1" ] &&
	[ "$(ls "$D/webdb/state/spool/out/"*.crt | wc -l)" = "$1" ]
}
answered() { sqlite3 -cmd ".timeout 5000" "$D/webdb/state/outbox.db" "select count(*) from outbox where state = 2"; }
wait_answered() {	# N SECONDS
	local t=0
	while [ "$(answered)" -lt "$1" ] && [ $t -lt $(($2 * 10)) ]; do sleep 0.1; t=$((t + 1)); done
	[ "$(answered)" -ge "$1" ]
}
start_client() {
	"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
	echo $! > "$D/client.pid"
}
start_linkd() {
	"$AL_BIN/airlock-linkd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" &
	echo $! > "$D/linkd.pid"
}
replug() {	# the device vanishes and comes back, clean
	al_stop_one "$D" cable
	sleep 1.5
	al_cable "$D" --baud 115200
}
set_revision() {	# HOST-CONF REV
	sed -i -e '/^  revision = /d' -e "s|^  window = \(.*\);|  window = \1;\n  revision = $2;|" "$1"
}

export AL_PAYLOAD=4096
al_setup "$D"
al_bench_csrs "$D/reqs" 120 || exit 1

# 1. short pulls within one session
al_cable "$D" --baud 115200 --disconnect-every 1.5 --disconnect-for 1500 --seed 19
al_start "$D"
submit 0 40 >/dev/null
check "1: 40 requests answered through 1.5 s cable pulls" 'wait_answered 40 45'
kill -USR1 "$(cat "$D/cable.pid")"; sleep 0.3
check "1: the cable was pulled" '[ "$(sed -n "s/^a2b.disconnects=//p" "$D/log/cable.stats")" -ge 1 ]'
sleep 1.2	# link.status is rewritten each second
check "1: one session at each end throughout" '[ "$(stat_of webdb sessions)" = 1 ] && [ "$(stat_of signer sessions)" = 1 ]'
check "1: the link counted outages" '[ $(( $(stat_of webdb outages) + $(stat_of signer outages) )) -ge 1 ]'
check "1: exactly once" 'exactly_once 40'

# 2. the device vanishes mid-batch: a new session resumes the streams
replug
submit 40 80 >/dev/null
wait_answered 45 30
replug
check "2: every request answered after the device came back" 'wait_answered 80 45'
sleep 1.2
check "2: a new session, which resumed both streams" \
	'grep -q "session resumed; nothing is sent again" "$D/log/client.log" && [ "$(stat_of webdb resumes)" -ge 1 ] && [ "$(stat_of signer resumes)" -ge 1 ]'
check "2: no request went twice (linkd saw no repeat)" '! grep -q "repeated:" "$D/log/linkd.log"'
check "2: exactly once" 'exactly_once 80'

# 3. an old-behaviour client against the new linkd
al_stop_one "$D" client
set_revision "$D/webdb/airlock-client.conf" 1
start_client
submit 80 100 >/dev/null
wait_answered 85 30
replug
check "3: old client and new linkd: every request answered" 'wait_answered 100 45'
sleep 1.2
check "3: they spoke revision 1" '[ "$(stat_of webdb revision)" = 1 ] && [ "$(stat_of signer revision)" = 1 ]'
check "3: the old client resent what was unanswered, as before" \
	'[ "$(grep -c "sending every unanswered request" "$D/log/client.log")" -ge 3 ]'
check "3: exactly once" 'exactly_once 100'

# 4. an old-behaviour linkd against the new client
al_stop_one "$D" client
set_revision "$D/webdb/airlock-client.conf" 2
al_stop_one "$D" linkd
set_revision "$D/signer/airlock.conf" 1
start_linkd
start_client
submit 100 120 >/dev/null
wait_answered 105 30
replug
check "4: new client and old linkd: every request answered" 'wait_answered 120 45'
sleep 1.2
check "4: they spoke revision 1" '[ "$(stat_of webdb revision)" = 1 ] && [ "$(stat_of signer revision)" = 1 ]'
check "4: exactly once" 'exactly_once 120'
check "no protocol errors anywhere" '[ "$(stat_of webdb protocol_errors)" = 0 ] && [ "$(stat_of signer protocol_errors)" = 0 ]'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
