# usbharness.sh: the emulated PL2501 cable (build/bin/usbpair, umockdev) for
# t_usb.sh and bench-usb.sh. Sourced after harness.sh (bash).
#
#   al_usb_ok                 0 if umockdev and usbpair are usable here
#   al_usb_config DIR         both configs to transport "usb-pl2501": webdb
#                             takes the device at 1-1, the signer host 2-1
#   al_usb_cable DIR          start usbpair (pid in DIR/usbpair.pid); its
#                             testbed directory goes to DIR/umockdev.dir
#   al_usb_run DIR PROG ARGS  run PROG in the testbed (preload, UMOCKDEV_DIR)
#   al_usb_start DIR          airlock-signerd, then airlock-linkd and
#                             airlock-client in the testbed
#   al_usb_daemon DIR NAME    (re)start one of linkd / client in the testbed
#   al_usb_cmd DIR CMD...     one usbpair command; returns when it is done
#   al_usb_stat DIR SIDE KEY  a counter of one fake device (a, b or x)
#   al_usb_stop DIR           stop everything, the cable last

AL_USB_PRELOAD=${AL_USB_PRELOAD:-libumockdev-preload.so.0}
# an ASan build would refuse a preload library that comes before its runtime
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0

# al_usb_exec TESTBED PROG ARGS: exec PROG under umockdev's preload library
# (TESTBED "" for usbpair, which makes it). In `make asan`: ASan creates the
# folders of an absolute log_path with mkdir(3) while it starts, before the
# preload library is initialised, and the preload's mkdir then crashes (a
# NULL call); so these processes write their sanitizer reports with a
# relative log_path, from the test's sanitizer folder (run-tests.sh).
al_usb_exec() {
	local tb=$1; shift
	if [ -n "${AL_SANITIZER_DIR:-}" ]; then
		cd "$AL_SANITIZER_DIR" || exit 1
		export ASAN_OPTIONS=${ASAN_OPTIONS//log_path="$AL_SANITIZER_DIR"\//log_path=}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS//log_path="$AL_SANITIZER_DIR"\//log_path=}
	fi
	[ -n "$tb" ] && export UMOCKDEV_DIR=$tb
	LD_PRELOAD=$AL_USB_PRELOAD exec "$@"
}

al_usb_ok() {
	[ -x "$AL_BIN/usbpair" ] || return 1
	ldconfig -p 2>/dev/null | grep -q "$AL_USB_PRELOAD" || return 1
}

al_usb_config() {
	local d=$1
	sed -i 's|^  transport = "serial";|  transport = "usb-pl2501";\n  usb_path = "2-1";|' \
		"$d/signer/airlock.conf"
	sed -i 's|^  transport = "serial";|  transport = "usb-pl2501";\n  usb_path = "1-1";|' \
		"$d/webdb/airlock-client.conf"
}

al_usb_cable() {
	local d=$1
	rm -f "$d/usbpair.ready"
	(al_usb_exec "" "$AL_BIN/usbpair" --ready "$d/usbpair.ready" \
		--control "$d/usbpair.ctl" --stats "$d/log/usbpair.stats") \
		2>>"$d/log/usbpair.log" &
	echo $! > "$d/usbpair.pid"
	for _ in $(seq 100); do
		[ -s "$d/usbpair.ready" ] && { cp "$d/usbpair.ready" "$d/umockdev.dir"; return 0; }
		sleep 0.05
	done
	al_die "the emulated USB cable did not start (see $d/log/usbpair.log)"
}

al_usb_run() {
	local d=$1; shift
	(al_usb_exec "$(cat "$d/umockdev.dir")" "$@")
}

al_usb_daemon() {	# DIR linkd|client
	local d=$1 tb
	tb=$(cat "$d/umockdev.dir")
	case $2 in
	linkd) (al_usb_exec "$tb" "$AL_BIN/airlock-linkd" \
		-d -c "$d/signer/airlock.conf") 2>>"$d/log/linkd.log" & ;;
	client) (al_usb_exec "$tb" "$AL_BIN/airlock-client" \
		-d -c "$d/webdb/airlock-client.conf" run) 2>>"$d/log/client.log" & ;;
	esac
	echo $! > "$d/$2.pid"
}

al_usb_start() {
	local d=$1
	"$AL_BIN/airlock-signerd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/signerd.log" &
	echo $! > "$d/signerd.pid"
	al_usb_daemon "$d" linkd
	al_usb_daemon "$d" client
}

al_usb_cmd() {
	local d=$1; shift
	local n
	n=$(sed -n 's/^cmds=//p' "$d/log/usbpair.stats")
	echo "$*" > "$d/usbpair.ctl"
	for _ in $(seq 200); do
		[ "$(sed -n 's/^cmds=//p' "$d/log/usbpair.stats")" -gt "$n" ] 2>/dev/null && return 0
		sleep 0.02
	done
	al_die "usbpair did not take the command: $*"
}

al_usb_stat() {	# DIR SIDE KEY
	al_usb_cmd "$1" stats
	awk -v s="$2" -v k="$3" '$1 == s { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == k) print kv[2] } }' "$1/log/usbpair.stats"
}

al_usb_stop() {
	local d=$1
	for p in client linkd usbpair; do al_stop_one "$d" $p; done
	al_stop "$d"
}
