#!/usr/bin/env bash
# bench-link.sh: `make bench-link`. BENCH_N (default 1000) CSR round trips
# through the cable simulator at 115200 baud, once on a clean line and once
# at a bit error rate of 1e-5, with real P-256 CSRs and certificates issued
# by an RSA-4096 subroot. Goodput R is the busier direction's useful bytes
# (certificate DER delivered to webdb, or CSR DER delivered to the signer)
# per second, divided by the line rate of 11,520 bytes/s. A benchmark, not a
# test: it prints a table and one line
#   BENCH link goodput_clean=R1 goodput_ber1e-5=R2 line_rate_Bps=11520
set -u
. "$(dirname "$0")/harness.sh"
N=${BENCH_N:-1000}
export AL_PAYLOAD=${BENCH_PAYLOAD:-8192} AL_WINDOW=${BENCH_WINDOW:-32} AL_TIME_INTERVAL=3600
W=$(mktemp -d /tmp/airlock-bench.XXXXXX)
trap 'for d in "$W"/run-*; do al_stop "$d"; done; [ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT

# N CSRs, made once (not timed)
al_bench_csrs "$W/csr" "$N" || exit 1

run_one() {	# LABEL [linksim args...]: prints "R csr_Bps cert_Bps seconds retransmits"
	local label=$1; shift
	local d=$W/run-$label
	mkdir -p "$d"
	al_setup "$d"
	for i in $(seq 0 $((N - 1))); do
		al_client "$d" submit --root demo-rsa --profile server "$W/csr/$i.der" >/dev/null || exit 1
	done
	al_cable "$d" --baud 115200 "$@"
	"$AL_BIN/airlock-signerd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/signerd.log" & echo $! > "$d/signerd.pid"
	"$AL_BIN/airlock-linkd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/linkd.log" & echo $! > "$d/linkd.pid"
	sleep 0.5
	local t0 t1
	t0=$(date +%s.%N)
	"$AL_BIN/airlock-client" -d -c "$d/webdb/airlock-client.conf" run 2>>"$d/log/client.log" & echo $! > "$d/client.pid"
	while [ "$(sqlite3 -cmd ".timeout 5000" "$d/webdb/state/outbox.db" "select count(*) from outbox where state < 2")" != 0 ]; do
		sleep 0.05
	done
	t1=$(date +%s.%N)
	al_stop "$d"
	python3 - "$d" "$W/csr" "$t0" "$t1" <<'PY'
import base64, glob, os, sys, sqlite3
d, csrdir, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
db = sqlite3.connect(f"{d}/webdb/state/outbox.db")
done = db.execute("select count(*) from outbox where state = 2").fetchone()[0]
certs = 0
for f in glob.glob(f"{d}/webdb/state/spool/out/*.crt"):
    pem = open(f).read().split("-----")[2]
    certs += len(base64.b64decode("".join(pem.split())))
csrs = sum(os.path.getsize(f) for f in glob.glob(f"{csrdir}/*.der"))
secs = t1 - t0
busier = max(certs, csrs) / secs
retx = 0
for line in open(f"{d}/log/linkd.log"):
    if " retransmits=" in line:
        retx = line.split(" retransmits=")[1].split()[0]
print(f"{busier / 11520:.3f} {csrs / secs:.0f} {certs / secs:.0f} {secs:.1f} {done} {retx}")
PY
}

printf '%-10s %8s %10s %10s %8s %6s %6s\n' line goodput csr_B/s cert_B/s seconds done retx
if [ "${BENCH_SKIP_CLEAN:-}" ]; then	# for tuning: the noisy line only
	r1=- a1=- b1=- s1=- n1=$N x1=-
else
	read -r r1 a1 b1 s1 n1 x1 <<<"$(run_one clean)"
fi
printf '%-10s %8s %10s %10s %8s %6s %6s\n' clean "$r1" "$a1" "$b1" "$s1" "$n1" "$x1"
read -r r2 a2 b2 s2 n2 x2 <<<"$(run_one ber1e-5 --ber 1e-5 --seed "${BENCH_SEED:-11}")"
printf '%-10s %8s %10s %10s %8s %6s %6s\n' ber1e-5 "$r2" "$a2" "$b2" "$s2" "$n2" "$x2"
[ "$n1" = "$N" ] && [ "$n2" = "$N" ] || echo "bench-link: not every request was answered ($n1, $n2 of $N)" >&2
echo "BENCH link goodput_clean=$r1 goodput_ber1e-5=$r2 line_rate_Bps=11520"
