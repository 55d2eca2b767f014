#!/usr/bin/env bash
# t_usb.sh: the whole flow over the emulated PL2501 USB cable (usbpair, a
# umockdev testbed with two fake bridges joined to each other): client ->
# linkd -> signer -> linkd -> client, with airlock-linkd and airlock-client
# each driving their own fake device through libusb. Then the faults:
# unplug/replug of both ends (the device comes back under a new address), a
# stall on each endpoint, a peer that disappears in the middle of a frame, a
# cut cable and a peer that crashes, garbage and oversized transfers, a
# stall storm, and a device that is not a PL2501. Every request must be
# answered exactly once, both daemons must keep running, and the "usb"
# commands must show the device, the peer and the counters.
# Skips (77) without umockdev.
set -u
. "$AL_TOP/scripts/harness.sh"
. "$AL_TOP/scripts/usbharness.sh"

al_usb_ok || { echo "umockdev (libumockdev-dev, umockdev) is not installed"; exit 77; }
D=$(mktemp -d /tmp/airlock-usb.XXXXXX)
trap 'al_usb_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_setup "$D"
al_usb_config "$D"
al_usb_cable "$D"
al_usb_start "$D"
out=$D/webdb/state/spool/out err=$D/webdb/state/spool/err
n=0
declare -A id

submit() {	# NAME KEY ROOT PROFILE: a fresh CSR, queued
	al_csr "$D" "$1" "$2" "$1.usb.example"
	id[$1]=$(al_client "$D" submit --root "$3" --profile "$4" --name "$1" "$D/csr/$1.csr")
	n=$((n + 1))
}
wait_all() {	# SECONDS
	al_client "$D" wait --timeout "$1" "${id[@]}" >/dev/null
}
status_has() {	# SIDE(webdb|signer) REGEX
	grep -Eq "$2" "$D/$1/state/link.status"
}
counter() {	# SIDE NAME: a counter from the status file
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$D/$1/state/link.status" | head -n 1
}
eventually() {	# SECONDS COMMAND: polls the status files, which change once a second
	local t=$(( $1 * 10 )); shift
	while [ $t -gt 0 ]; do eval "$*" && return 0; sleep 0.1; t=$((t - 1)); done
	return 1
}
alive() { kill -0 "$(cat "$D/linkd.pid")" && kill -0 "$(cat "$D/client.pid")"; }

# 1. end to end
for i in 1 2 3; do submit "e$i" ec:P-256 demo-ec server; done
submit e4 rsa:2048 demo-rsa client
submit noroot ec:P-256 no-such-root server
check "end to end: every request answered over USB" 'wait_all 30'
for i in 1 2 3; do
	check "e$i: certificate verifies" 'al_verify "$D" sub-ec "$out/e$i.crt"'
done
check "e4: certificate verifies" 'al_verify "$D" sub-rsa "$out/e4.crt"'
check "unknown root: error 200" 'grep -q "^200 " "$err/noroot.err"'
check "linkd detached plusb and claimed its device" \
	'grep -q "usb 2-1: detached the kernel driver" "$D/log/linkd.log"'
check "the pipes were reset at session start" '[ "$(al_usb_stat "$D" b pipe_resets)" -ge 1 ]'
check "the client sees the peer" 'eventually 4 status_has webdb "^peer present"'

# 2. unplug and replug both ends while requests are in flight
for i in $(seq 1 12); do submit "u$i" ec:P-256 demo-ec server; done
sleep 0.2
al_usb_cmd "$D" replug a
sleep 0.4
al_usb_cmd "$D" replug b
al_usb_cmd "$D" unplug a
for i in $(seq 13 16); do submit "u$i" ec:P-256 demo-ec server; done	# queued while unplugged
sleep 1.5
al_usb_cmd "$D" plug a
check "unplug/replug: every request answered" 'wait_all 40'
# the answers may all have come before the replug: the reopen is polled for
client_moved() {
	[ "$(grep -c "usb 1-1: open" "$D/log/client.log")" -ge 2 ] &&
		grep -q "usb 1-1: open (1-1 bus 1 address [4-9]" "$D/log/client.log"
}
linkd_reopened() {
	grep -q "usb 2-1: unplugged" "$D/log/linkd.log" &&
		[ "$(grep -c "usb 2-1: open" "$D/log/linkd.log")" -ge 2 ]
}
check "the client found its device under a new address" 'eventually 10 client_moved'
check "linkd lost and reopened its device" 'eventually 10 linkd_reopened'

# 3. stalls on each endpoint: cleared, and the traffic goes on
al_usb_cmd "$D" stall a out 1
al_usb_cmd "$D" stall b in 1
for i in 1 2 3; do submit "s$i" ec:P-256 demo-ec client; done
al_usb_cmd "$D" stall b out 1
al_usb_cmd "$D" stall a in 1
for i in 4 5 6; do submit "s$i" ec:P-256 demo-ec client; done
check "stalls: every request answered" 'wait_all 30'
sleep 1.2
check "stalls were counted and cleared on both hosts" \
	'[ "$(counter webdb stalls)" -ge 1 ] && [ "$(counter signer stalls)" -ge 1 ] && [ "$(al_usb_stat "$D" a clear_halts)" -ge 1 ] && [ "$(al_usb_stat "$D" b clear_halts)" -ge 1 ]'

# 4. the peer disappears in the middle of a frame (a 3 KB request), then returns
al_usb_cmd "$D" vanish a 900
submit v1 rsa:4096 demo-rsa server
sleep 1.5
check "the webdb end vanished after part of a frame" '[ "$(al_usb_stat "$D" a plugged)" = 0 ]'
al_usb_cmd "$D" plug a
check "vanished mid-frame: the request is answered after the peer returns" 'wait_all 30'

# 5. the cable is cut, then the peer host crashes and comes back
al_usb_cmd "$D" cut
submit c1 ec:P-256 demo-ec server
check "cut cable: both ends see the peer absent" \
	'eventually 5 "status_has webdb \"^peer absent\" && status_has signer \"^peer absent\""'
check "cut cable: writes the peer did not take timed out" \
	'eventually 5 "[ \"\$(counter webdb timeouts)\" -ge 1 ] 2>/dev/null"'
al_usb_cmd "$D" join
check "cut cable: answered once joined again" 'wait_all 30'
pid=$(cat "$D/client.pid")
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "crashed peer: linkd sees it absent" 'eventually 5 status_has signer "^peer absent"'
submit k1 ec:P-256 demo-ec server
al_usb_daemon "$D" client
check "crashed peer: answered after its restart" 'wait_all 30'

# 6. garbage and oversized transfers from the peer
rss0=$(awk '/VmRSS/ { print $2 }' "/proc/$(cat "$D/linkd.pid")/status")
al_usb_cmd "$D" garbage b 20000
al_usb_cmd "$D" junk b 400000
al_usb_cmd "$D" garbage a 5000
al_usb_cmd "$D" junk a 100000
submit g1 ec:P-256 demo-ec server
check "garbage and oversize: the next request is answered" 'wait_all 30'
rss1=$(awk '/VmRSS/ { print $2 }' "/proc/$(cat "$D/linkd.pid")/status")
check "garbage and oversize: counted by linkd's framing" \
	'sleep 1.2; [ $(( $(counter signer oversize) + $(counter signer garbage_bytes) )) -gt 0 ]'
check "garbage and oversize: linkd's memory stays bounded ($rss0 -> $rss1 kB)" \
	'[ $((rss1 - rss0)) -lt 16384 ]'

# 7. a stall storm: linkd gives the device up, reopens it and goes on
lost0=$(counter signer lost)
al_usb_cmd "$D" stall b in 70
sleep 4
check "stall storm: logged" 'grep -q "usb 2-1: stall storm" "$D/log/linkd.log"'
submit t1 ec:P-256 demo-ec server
check "stall storm: answered afterwards" 'wait_all 30'
sleep 1.2
check "stall storm: the device was reopened" '[ "$(counter signer lost)" -gt "$lost0" ]'

# 8. a device that is not a PL2501
check "airlockctl usb marks the PL2303 as not a PL2501" \
	'al_usb_run "$D" "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" usb | grep -q "1-2 .*067b:2303  not a PL2501"'
mkdir -p "$D/wrong/state"
sed -e 's|usb_path = "1-1"|usb_path = "1-2"|' -e "s|$D/webdb/state|$D/wrong/state|" \
	"$D/webdb/airlock-client.conf" > "$D/wrong/airlock-client.conf"
(al_usb_exec "$(cat "$D/umockdev.dir")" \
	"$AL_BIN/airlock-client" -d -c "$D/wrong/airlock-client.conf" run) 2>"$D/log/wrong.log" &
wrong=$!
sleep 1.5
t0=$(awk '{ print $14 + $15 }' "/proc/$wrong/stat")
sleep 1
t1=$(awk '{ print $14 + $15 }' "/proc/$wrong/stat")
check "wrong device: refused with a clear sentence" \
	'grep -q "usb 1-2: 067b:2303 is not a PL2501 bridge" "$D/log/wrong.log"'
check "wrong device: said once, not every second" '[ "$(grep -c "is not a PL2501" "$D/log/wrong.log")" = 1 ]'
check "wrong device: the daemon keeps running, idle" \
	'kill -0 $wrong && [ $((t1 - t0)) -lt 20 ]'
kill $wrong; wait $wrong 2>/dev/null

# 9. the "usb" commands and the end state
ctl=$(al_usb_run "$D" "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" usb)
cli=$(al_usb_run "$D" "$AL_BIN/airlock-client" -c "$D/webdb/airlock-client.conf" usb)
check "airlockctl usb: device in use, peer, frames, retransmits, resets" \
	'grep -q "2-1 .*selected by usb_path" <<<"$ctl" && grep -q "^  peer present" <<<"$ctl" && grep -q "frames_in=" <<<"$ctl" && grep -q "retransmits=" <<<"$ctl" && grep -q "pipe_resets=" <<<"$ctl"'
check "usb output: within 80 columns, the update time as a date" \
	'! printf "%s\n%s\n" "$ctl" "$cli" | awk "length > 80 { bad = 1 } END { exit !bad }" && grep -q "^  updated 20[0-9-]* [0-9:]* UTC" <<<"$ctl"'
check "airlock-client usb: its own device and counters" \
	'grep -q "1-1 .*selected by usb_path" <<<"$cli" && grep -q "usb-pl2501 067b:2501 1-1 bus 1" <<<"$cli"'
check "exactly once: one certificate per good request, none twice" \
	'[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*) || \" \" || count(distinct reqid) from certs")" = "$((n - 1)) $((n - 1))" ]'
check "exactly once: every outbox row has its final answer" \
	'[ "$(sqlite3 "$D/webdb/state/outbox.db" "select count(*) from outbox where state < 2")" = 0 ]'
check "both daemons still running" 'alive'
check "integrity of the three databases" \
	'for f in signer/state/ca.db signer/state/queue.db webdb/state/outbox.db; do [ "$(sqlite3 "$D/$f" "pragma integrity_check")" = ok ] || exit 1; done'
printf "%s\n%s\n" "$ctl" "$cli" | awk "length > 80" | sed "s/^/# too wide: /"
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
