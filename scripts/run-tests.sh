#!/usr/bin/env bash
# run-tests.sh UNIT... [-- INTEGRATION...] [-- FUZZER...]
# Runs cmocka unit test binaries, integration scripts (tests/integration/t_*.sh)
# and a short libFuzzer run of each fuzzer (two at a time). A test script that exits 77 is
# counted as skipped (for example: needs root). Ends with one line
#   N passed, N failed, N skipped
# and exits non-zero if anything failed.
#
# The programs are those of $AL_BIN (default build/bin), logs go to
# $AL_BUILD/test-logs (default build/). Sanitizer reports (ASan, LSan,
# UBSan) go to files under $AL_BUILD/sanitizer/NAME/, since the daemons'
# stderr is often redirected: a test after which any such file exists fails,
# whatever its exit status. The options apply to every sanitized program
# the test starts, daemons included, and do nothing to the others.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export AL_BUILD=${AL_BUILD:-$top/build}
export AL_BIN=${AL_BIN:-$AL_BUILD/bin}
log=$AL_BUILD/test-logs
san=$AL_BUILD/sanitizer
mkdir -p "$log" "$san"
pass=0 fail=0 skip=0 failed=()
section=unit

# sanitizer options for one test, its reports in DIR
sanitize() {	# DIR
	local d=$1 supp=$top/tests/lsan.supp
	export AL_SANITIZER_DIR=$d
	export ASAN_OPTIONS="log_path=$d/report:halt_on_error=1:detect_leaks=1:abort_on_error=0"
	export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
	export UBSAN_OPTIONS="log_path=$d/report:halt_on_error=1:print_stacktrace=1"
}

declare -A pid_of t0_of

start() {	# NAME CMD...: runs it in the background
	local name=$1; shift
	local out="$log/$name.log" sd=$san/$name
	rm -rf "$sd"
	mkdir -p "$sd" && chmod 1777 "$sd"	# daemons that dropped to their users report too
	t0_of[$name]=$SECONDS
	( sanitize "$sd"; exec "$@" ) >"$out" 2>&1 &
	pid_of[$name]=$!
}

finish() {	# NAME: waits for it and counts it
	local name=$1 rc reports
	local out="$log/$name.log" t0=${t0_of[$1]} sd=$san/$1
	wait "${pid_of[$name]}"
	rc=$?
	reports=$(find "$sd" -type f | sort)
	if [ -n "$reports" ]; then
		fail=$((fail + 1)); failed+=("$name")
		echo "FAIL $name (sanitizer report, exit $rc; log $out)"
		for r in $reports; do
			echo "    == $r"
			head -n 30 "$r" | sed 's/^/    /'
		done
		return
	fi
	rmdir "$sd"
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($((SECONDS - t0))s)"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$out")"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc; log $out)"
		tail -n 25 "$out" | sed 's/^/    /'
	fi
}

run() { start "$@"; finish "$1"; }	# NAME CMD...

# The fuzzers' smoke runs are fixed-time, one CPU each: two at a time.
fuzz_pending=
fuzz() {	# FUZZER
	local name
	name=$(basename "$1")
	start "$name" "$top/scripts/fuzz.sh" "${FUZZ_SMOKE_SECONDS:-5}" "$1"
	if [ -n "$fuzz_pending" ]; then
		finish "$fuzz_pending"
		finish "$name"
		fuzz_pending=
	else
		fuzz_pending=$name
	fi
}

for a in "$@"; do
	if [ "$a" = "--" ]; then
		case $section in unit) section=integration ;; integration) section=fuzz ;; esac
		continue
	fi
	case $section in
	unit) run "$(basename "$a")" "$a" ;;
	integration) run "$(basename "$a" .sh)" env AL_TOP="$top" bash "$a" ;;
	fuzz) fuzz "$a" ;;
	esac
done
[ -n "$fuzz_pending" ] && finish "$fuzz_pending"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
