#!/usr/bin/env bash
# t_oneshot.sh: the one-shot programs (airlockctl, airlock-timesync and
# airlock-client's commands other than run) run under a seccomp filter,
# with no-new-privileges, and make no core dump (RLIMIT_CORE 0, not
# dumpable) -- docs/hardening.md section 3. Each is started as an ordinary
# user (nobody, with setpriv) with core dumps allowed by the shell, and left
# waiting in open(2) on a FIFO; /proc then shows what it set on itself:
#   Seccomp 2, NoNewPrivs 1, "Max core file size 0 0" in its limits, and
#   its /proc files owned by root although it runs as nobody (not dumpable).
# Also: the "usb" commands, with the serial transport, run under the filter
# (libusb's threads and sockets are on the tools' lists whatever the
# transport). What the filters refuse is in tests/unit/test_sandbox.c; that
# the programs still work under them is every other integration test.
# Needs root (setpriv --reuid); exit 77 otherwise.
set -u
. "$AL_TOP/scripts/harness.sh"

[ "$(id -u)" = 0 ] || { echo "needs root: runs the programs as nobody with setpriv"; exit 77; }
command -v setpriv >/dev/null || { echo "needs setpriv (util-linux)"; exit 77; }

D=$(mktemp -d /tmp/airlock-oneshot.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "${KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
fails=0

al_setup "$D"
# nobody reads the configurations and writes only webdb's state (the outbox)
chmod 0755 "$D" "$D/signer" "$D/webdb"
chmod 0644 "$D/signer/airlock.conf" "$D/webdb/airlock-client.conf"
chown -R 65534 "$D/webdb/state"
mkdir -m 0777 "$D/fifo"

# a sanitizer build installs no filter (docs/hardening.md)
sandboxed=1
grep -qa "AddressSanitizer" "$AL_BIN/airlockctl" && sandboxed=0	# clang links it in

# run NAME CMD...: start CMD as nobody, core dumps allowed, stdin from a
# FIFO nobody writes to; its pid goes to $D/NAME.pid
run() {
	local n=$1; shift
	mkfifo -m 0666 "$D/fifo/$n"
	(ulimit -c unlimited; exec setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$@" 2>"$D/$n.err" >/dev/null) &
	pids+=($!)
	echo $! > "$D/$n.pid"
}
field() {	# PID NAME: a field of /proc/PID/status
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}
# waiting PID: blocked in open(2) on its FIFO (the kernel's fifo_open), so
# everything it does before reading its input is done
waiting() {
	local i
	for i in $(seq 200); do
		grep -q "fifo\|partner" "/proc/$1/wchan" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

run ctl "$AL_BIN/airlockctl" audit verify --file "$D/fifo/ctl"
run timesync "$AL_BIN/airlock-timesync" -c "$D/signer/airlock.conf" -n --test-clock "$D/fifo/timesync"
run client "$AL_BIN/airlock-client" -c "$D/webdb/airlock-client.conf" submit \
	--root demo-ec --profile server --name x "$D/fifo/client"

for n in ctl timesync client; do
	p=$(cat "$D/$n.pid")
	check "$n: started as nobody, waiting in open(2) on its FIFO" \
		'waiting $p && [ "$(field $p Uid)" = 65534 ]'
	check "$n: no core file (RLIMIT_CORE 0, set by itself)" \
		'grep -q "^Max core file size *0 *0 " "/proc/$p/limits"'
	check "$n: not dumpable (its /proc belongs to root, it runs as nobody)" \
		'[ "$(stat -c %u "/proc/$p/environ")" = 0 ]'
	if [ $sandboxed = 1 ]; then
		check "$n: seccomp filter (mode 2) and no-new-privileges" \
			'[ "$(field $p Seccomp)" = 2 ] && [ "$(field $p NoNewPrivs)" = 1 ]'
	else
		echo "ok - $n: seccomp filter # SKIP sanitizer build"
	fi
done

# under the filter, whatever the transport: "usb" lists devices with libusb
# (threads, eventfd, a netlink socket); a missing entry would be SIGSYS (159)
"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" usb >"$D/ctl-usb.out" 2>&1; rc=$?
check "airlockctl usb with the serial transport is not killed by the filter (exit $rc)" '[ $rc != 159 ]'
"$AL_BIN/airlock-client" -c "$D/webdb/airlock-client.conf" usb >"$D/client-usb.out" 2>&1; rc=$?
check "airlock-client usb with the serial transport is not killed by the filter (exit $rc)" '[ $rc != 159 ]'

[ $fails = 0 ] || { echo "stderr of each in $D/*.err"; KEEP=1; }
exit $fails
