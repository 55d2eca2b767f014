#!/bin/sh
# fuzz.sh SECONDS FUZZER...: run each libFuzzer binary for SECONDS.
# A FUZZER is a path such as build/fuzz/fuzz_frame, or just "frame" (in
# $AL_BUILD/fuzz, default build/fuzz). Its
# seeds, tests/fuzz/corpus/NAME, are copied into a temporary corpus first, so
# the repository is never written to. Crash artifacts go to
# $AL_BUILD/fuzz/artifacts/. One line per fuzzer:
#   fuzz: NAME seconds=S execs=N crashes=C
# and the exit status is non-zero when any fuzzer crashed or did not run, in
# which case its artifact and the tail of its log are printed.
set -u

usage() {
	echo "usage: $0 SECONDS FUZZER..." >&2
	exit 2
}

[ $# -ge 2 ] || usage
secs=$1
shift
case $secs in
''|*[!0-9]*) usage ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
build=${AL_BUILD:-$root/build}
artifacts=$build/fuzz/artifacts
mkdir -p "$artifacts" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/airlock-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# run_one BINARY: fuzz it; prints the summary line; returns non-zero on failure
run_one() {
	bin=$1
	name=$(basename "$bin")
	name=${name#fuzz_}
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name: no executable $bin" >&2
		return 1
	fi
	corpus=$work/corpus-$name
	log=$work/$name.log
	mkdir -p "$corpus"
	if [ -d "$root/tests/fuzz/corpus/$name" ]; then
		cp -R "$root/tests/fuzz/corpus/$name/." "$corpus/"
	fi
	# the fuzzer's own files go in $work too (removed at exit, whatever
	# became of the fuzzer)
	mkdir -p "$work/tmp-$name"
	TMPDIR=$work/tmp-$name "$bin" -max_total_time="$secs" -max_len=20000 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$artifacts/" \
	    "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -n 1)
	crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
	    tail -n 1)
	crashes=0
	[ $rc -ne 0 ] && crashes=1
	echo "fuzz: $name seconds=$secs execs=${execs:-0} crashes=$crashes"
	[ $rc -eq 0 ] && return 0
	echo "fuzz: $name failed (exit $rc), artifact: ${crash:-none}" >&2
	tail -n 40 "$log" >&2
	return 1
}

status=0
for arg in "$@"; do
	case $arg in
	*/*) bin=$arg ;;
	*) bin=$build/fuzz/fuzz_${arg#fuzz_} ;;
	esac
	run_one "$bin" || status=1
done
exit $status
