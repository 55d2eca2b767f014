#!/usr/bin/env bash
# run-tests.sh UNIT... [-- INTEGRATION...] [-- FUZZER...]
# Runs cmocka unit test binaries, integration scripts (tests/integration/t_*.sh)
# and a short libFuzzer run of each fuzzer. A test script that exits 77 is
# counted as skipped (for example: needs root). Ends with one line
#   N passed, N failed, N skipped
# and exits non-zero if anything failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
log=$top/build/test-logs
mkdir -p "$log"
pass=0 fail=0 skip=0 failed=()
section=unit

run() {	# NAME CMD...
	local name=$1 rc; shift
	local out="$log/$name.log" t0=$SECONDS
	"$@" >"$out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($((SECONDS - t0))s)"
	elif [ $rc = 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$out")"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc; log $out)"
		tail -n 25 "$out" | sed 's/^/    /'
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
	fuzz) run "$(basename "$a")" "$top/scripts/fuzz.sh" "${FUZZ_SMOKE_SECONDS:-5}" "$a" ;;
	esac
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ]
