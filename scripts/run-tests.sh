#!/usr/bin/env bash
# run-tests.sh UNIT... [-- INTEGRATION...] [-- FUZZER...]
# Runs cmocka unit test binaries, integration scripts (tests/integration/t_*.sh)
# and a short libFuzzer run of each fuzzer (two at a time). A test script that exits 77 is
# counted as skipped (for example: needs root). Ends with one line
#   N passed, N failed, N skipped
# and exits non-zero if anything failed, or if a test was not counted.
#
# Integration scripts run AL_TEST_JOBS at a time (default: the number of
# CPUs, at most 2; 1 runs them one by one): each works in its own mktemp
# folder and on ports it asks the kernel for. Those in ALONE are timing-
# bound (a kill during a burst, a throughput floor, a pty at line rate, the
# system's users) and run first, one by one, with nothing beside them.
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

finish() {	# NAME [STATUS]: waits for it (unless wait -n had) and counts it
	local name=$1 rc=${2:-} reports
	local out="$log/$name.log" t0=${t0_of[$1]} sd=$san/$1
	if [ -z "$rc" ]; then
		wait "${pid_of[$name]}"
		rc=$?
	fi
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

ALONE=" t_privsep t_chaos t_flap t_linksim "
jobs=${AL_TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -gt 2 ] 2>/dev/null && jobs=2
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
itests=()

# The integration scripts: those in ALONE one by one, then the others
# $jobs at a time, each counted as it ends.
integration() {
	local a name
	declare -A name_of; running=0
	for a in "${itests[@]}"; do
		name=$(basename "$a" .sh)
		[[ $ALONE == *" $name "* ]] && run "$name" env AL_TOP="$top" bash "$a"
	done
	for a in "${itests[@]}"; do
		name=$(basename "$a" .sh)
		[[ $ALONE == *" $name "* ]] && continue
		[ "$running" -ge "$jobs" ] && reap
		start "$name" env AL_TOP="$top" bash "$a"
		name_of[${pid_of[$name]}]=$name; running=$((running + 1))
	done
	while [ "$running" -gt 0 ]; do reap; done
}
reap() {	# the next of the running scripts to end, counted
	local done_pid rc n
	wait -n -p done_pid "${!name_of[@]}"
	rc=$?
	n=${name_of[$done_pid]}; unset "name_of[$done_pid]"
	finish "$n" "$rc"; running=$((running - 1))
}

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

want=0
for a in "$@"; do [ "$a" = "--" ] || want=$((want + 1)); done
for a in "$@"; do
	if [ "$a" = "--" ]; then
		case $section in unit) section=integration ;; integration) section=fuzz ;; esac
		continue
	fi
	case $section in
	unit) run "$(basename "$a")" "$a" ;;
	integration) itests+=("$a") ;;
	fuzz) [ ${#itests[@]} -gt 0 ] && { integration; itests=(); }
	      fuzz "$a" ;;
	esac
done
[ ${#itests[@]} -gt 0 ] && integration
[ -n "$fuzz_pending" ] && finish "$fuzz_pending"
if [ $((pass + fail + skip)) != "$want" ]; then	# a test lost by the runner is a failure
	echo "run-tests: counted $((pass + fail + skip)) of $want tests"
	fail=$((fail + 1)); failed+=("(uncounted)")
fi
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
