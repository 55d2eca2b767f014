#!/usr/bin/env bash
# bench-v1.sh: `make bench-v1`. The CommModule v1 listener as webdb's old
# client drives it: tests/integration/v1peer.py signs BENCH_N (default 200)
# P-256 CSRs one after another (strict stop-and-wait, a keepalive every 10
# requests) through airlock-linkd (link.protocol = "commmodule-v1") and
# airlock-signerd over the cable simulator at 115200 baud, on an RSA-4096
# subroot. The CSRs are made first and not timed. The old system drained
# its queue at about one request per 14 s (docs/legacy-v1.md). A benchmark,
# not a test. Ends with
#   BENCH v1 requests=N ok=N certs_per_s=X
set -u
AL_TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$AL_TOP/scripts/harness.sh"
N=${BENCH_N:-200}
D=$(mktemp -d /tmp/airlock-bench-v1.XXXXXX)
trap 'al_stop "$D"; [ "${BENCH_KEEP:-}" ] && echo "kept $D" >&2 || rm -rf "$D"' EXIT
die() { echo "bench-v1: $*" >&2; exit 1; }

echo "bench-v1: $N P-256 CSRs, CA estate in $D (not timed)"
al_setup "$D"
"$AL_BIN/bench-sign" gen "$D/bench-csr" "$N" || die "cannot make the CSRs"
python3 - "$D/signer/airlock.conf" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('transport = "serial";', 'transport = "serial";\n  protocol = "commmodule-v1";', 1)
s += '\nv1 = { roots = ["demo-rsa", "demo-ec"];\n  profiles = ["client", "client", "", "", "", "server", "", "", "", "", "", ""]; };\n'
open(p, "w").write(s)
PY
al_cable "$D" --baud 115200
"$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
"$AL_BIN/airlock-linkd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" &
echo $! > "$D/linkd.pid"
sleep 0.5
out=$(python3 "$AL_TOP/tests/integration/v1peer.py" "$D/cable-webdb" bench --dir "$D/bench-csr" --n "$N") ||
	die "the v1 peer died: $out (logs in $D/log)"
REQ=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
OK=$(sed -n 's/.* ok=\([0-9]*\).*/\1/p' <<<"$out")
SEC=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")
RATE=$(awk -v n="$OK" -v s="$SEC" 'BEGIN { printf "%.1f", n / s }')
printf "  %-46s %8s s\n" "$REQ v1 requests, stop-and-wait, 115200 baud" "$SEC"
printf "  %-46s %8s/s\n" "certificates" "$RATE" "the old system (one per 14 s)" "0.07"
echo "BENCH v1 requests=$REQ ok=$OK certs_per_s=$RATE"
