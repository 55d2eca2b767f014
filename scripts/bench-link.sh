#!/usr/bin/env bash
# bench-link.sh: `make bench-link`. CSR round trips through the cable
# simulator at 115200 baud, with real P-256 CSRs and certificates issued by
# an RSA-4096 subroot, on four lines:
#   clean     BENCH_N (default 1000) requests on a clean line
#   ber1e-5   the same at a bit error rate of 1e-5
#   unplug20  the same with the cable pulled for 1 s at a time, the pulls
#             1 s + an exponential interval of mean 4 s apart (linksim
#             --disconnect-every 4 --disconnect-for 1000: down 20 % of the
#             time, 1 s in every 5 s on average)
#   flap      200 requests on a cable that is up for an exponential 4 s
#             (mean) and then down for 16 s (--disconnect-every 4
#             --disconnect-for 16000), given at most 300 s
# Goodput R is the busier direction's useful bytes (certificate DER
# delivered to webdb, or CSR DER delivered to the signer) per second,
# divided by the line rate of 11,520 bytes/s. unplug20_ratio is unplug20's
# goodput over clean's; flap_done is 1 when all 200 flap requests were
# answered within 300 s; flap_ratio is the certificates per connected second
# under flapping (the simulator's down_ms taken off the time) over the clean
# line's certificates per second. Every run is checked for exactly-once:
# each request answered in the outbox, one certificate per request id in
# ca.db, one result file each, and as many answers taken by the client as
# requests; exactly_once=1 only when all runs pass. A benchmark, not a
# test: it prints a table and one line
#   BENCH link goodput_clean=R1 goodput_ber1e-5=R2 unplug20_ratio=U
#     flap_done=0|1 flap_ratio=F exactly_once=0|1 line_rate_Bps=11520
# BENCH_SEED (default 11) seeds the simulator's noise and pulls;
# BENCH_FLAP_N (default 200) and BENCH_FLAP_MAX (default 300) size the flap run.
set -u
. "$(dirname "$0")/harness.sh"
N=${BENCH_N:-1000}
FN=${BENCH_FLAP_N:-200}
FMAX=${BENCH_FLAP_MAX:-300}
SEED=${BENCH_SEED:-11}
export AL_PAYLOAD=${BENCH_PAYLOAD:-8192} AL_WINDOW=${BENCH_WINDOW:-32} AL_TIME_INTERVAL=3600
W=$(mktemp -d /tmp/airlock-bench.XXXXXX)
trap 'for d in "$W"/run-*; do al_stop "$d"; done; [ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT

# the CSRs, made once (not timed)
al_bench_csrs "$W/csr" "$((N > FN ? N : FN))" || exit 1

down_ms() {	# DIR: the simulator's down_ms now
	local d=$1 f=$1/log/cable.stats before
	before=$(stat -c %Y.%N "$f" 2>/dev/null || echo none)
	kill -USR1 "$(cat "$d/cable.pid")" 2>/dev/null
	for _ in $(seq 100); do
		[ "$(stat -c %Y.%N "$f" 2>/dev/null || echo none)" != "$before" ] && break
		sleep 0.01
	done
	sed -n 's/^down_ms=//p' "$f"
}

run_one() {	# LABEL NREQ MAXSECS [linksim args...]: one line of figures
	local label=$1 n=$2 max=$3; shift 3
	local d=$W/run-$label t0 t1 dn0 dn1
	mkdir -p "$d"
	al_setup "$d"
	for i in $(seq 0 $((n - 1))); do
		al_client "$d" submit --root demo-rsa --profile server "$W/csr/$i.der" >/dev/null || exit 1
	done
	al_cable "$d" --baud 115200 "$@"
	"$AL_BIN/airlock-signerd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/signerd.log" & echo $! > "$d/signerd.pid"
	"$AL_BIN/airlock-linkd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/linkd.log" & echo $! > "$d/linkd.pid"
	sleep 0.5
	dn0=$(down_ms "$d")
	t0=$(date +%s.%N)
	"$AL_BIN/airlock-client" -d -c "$d/webdb/airlock-client.conf" run 2>>"$d/log/client.log" & echo $! > "$d/client.pid"
	while [ "$(sqlite3 -cmd ".timeout 5000" "$d/webdb/state/outbox.db" "select count(*) from outbox where state < 2")" != 0 ]; do
		awk -v a="$(date +%s.%N)" -v b="$t0" -v m="$max" 'BEGIN { exit !(a - b > m) }' && break
		sleep 0.05
	done
	t1=$(date +%s.%N)
	dn1=$(down_ms "$d")
	al_stop "$d"
	python3 - "$d" "$W/csr" "$n" "$t0" "$t1" "$dn0" "$dn1" <<'PY'
import base64, glob, os, re, sys, sqlite3
d, csrdir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0, t1, dn0, dn1 = (float(x or 0) for x in sys.argv[4:8])
db = sqlite3.connect(f"{d}/webdb/state/outbox.db")
done = db.execute("select count(*) from outbox where state = 2").fetchone()[0]
reqids = {r[0] for r in db.execute("select reqid from outbox where state = 2")}
ca = sqlite3.connect(f"{d}/signer/state/ca.db")
rows = ca.execute("select count(*), count(distinct reqid) from certs").fetchone()
careqs = {r[0] for r in ca.execute("select reqid from certs")}
files = glob.glob(f"{d}/webdb/state/spool/out/*.crt")
certs = 0
for f in files:
    pem = open(f).read().split("-----")[2]
    certs += len(base64.b64decode("".join(pem.split())))
answers = dups = -1
for line in open(f"{d}/log/client.log"):
    m = re.search(r"stopping: (\d+) answers, (\d+) duplicate answers", line)
    if m:
        answers, dups = int(m.group(1)), int(m.group(2))
once = int(done == n and rows[0] == n and rows[1] == n and reqids == careqs
           and len(files) == n and answers == n)
csrs = sum(os.path.getsize(f"{csrdir}/{i}.der") for i in range(n))
secs = t1 - t0
connected = secs - (dn1 - dn0) / 1000
busier = max(certs, csrs) / secs
retx = "-"
for line in open(f"{d}/log/linkd.log"):
    if " retransmits=" in line:
        retx = line.split(" retransmits=")[1].split()[0]
print(f"{busier / 11520:.3f} {csrs / secs:.0f} {certs / secs:.0f} {secs:.1f} "
      f"{connected:.1f} {done} {retx} {once} {dups}")
PY
}

row() { printf '%-9s %8s %8s %8s %8s %9s %6s %6s %5s %5s\n' "$@"; }
row line goodput csr_B/s cert_B/s seconds connected done retx once dups
all_once=1
bench() {	# NAME NREQ MAXSECS [linksim args]: sets r_NAME etc.
	local name=$1 n=$2; shift
	local r a b s c k x o u
	read -r r a b s c k x o u <<<"$(run_one "$name" "$@")"
	row "$name" "$r" "$a" "$b" "$s" "$c" "$k" "$x" "$o" "$u"
	[ "$o" = 1 ] || { all_once=0; echo "bench-link: $name: not every request answered exactly once ($k of $n answered)" >&2; }
	eval "r_$name=\$r s_$name=\$s c_$name=\$c k_$name=\$k"
}
bench clean "$N" 3600
bench ber "$N" 3600 --ber 1e-5 --seed "$SEED"
bench unplug "$N" 3600 --disconnect-every 4 --disconnect-for 1000 --seed "$SEED"
bench flap "$FN" "$FMAX" --disconnect-every 4 --disconnect-for 16000 --seed "$SEED"
ratio=$(awk -v u="$r_unplug" -v c="$r_clean" 'BEGIN { printf "%.3f", (c > 0 ? u / c : 0) }')
fdone=0
[ "$k_flap" = "$FN" ] && awk -v s="$s_flap" -v m="$FMAX" 'BEGIN { exit !(s <= m) }' && fdone=1
fratio=$(awk -v k="$k_flap" -v c="$c_flap" -v kc="$k_clean" -v sc="$s_clean" \
	'BEGIN { printf "%.3f", (c > 0 && kc > 0) ? (k / c) / (kc / sc) : 0 }')
echo "BENCH link goodput_clean=$r_clean goodput_ber1e-5=$r_ber unplug20_ratio=$ratio" \
	"flap_done=$fdone flap_ratio=$fratio exactly_once=$all_once line_rate_Bps=11520"
