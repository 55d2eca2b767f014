#!/usr/bin/env bash
# bench-sign.sh: `make bench-sign`. The signer's throughput against what it
# replaces and against the key itself, on the same 2,000 P-256 CSRs
# (BENCH_N; made once, not timed) and the same RSA-4096 CA:
#   (a) airlock's signer path in-process (tools/bench-sign.c): decode the
#       SIGN message (the CSR's DER, as airlock-client sends a PEM request
#       since 2026-12-06), check the CSR, sign, and commit certificate and answer
#       to ca.db durably (WAL, synchronous=FULL), up to 128 requests per
#       commit, on every core: airlock-signerd's signing threads and its
#       pipeline (batches k+1 and k+2 signed while k is committed);
#   (b) `openssl ca -batch`, one process per CSR as the old system ran it,
#       on an openssl ca directory holding the same key and certificate;
#       BENCH_OPENSSL_N of them (default 400) are run and the rate scaled;
#   (c) the CA key's bare signature rate in the same process as (a), in
#       alternating rounds with it;
# and (a) again with a P-256 CA (three runs, the median reported); then
#   (e) end to end: BENCH_E2E_N (all 2,000) of the CSRs submitted to
#       airlock-client, through the cable simulator unthrottled (linksim --baud 0)
#       and both ends with pace = 0 (a pty only: the link does not pace its
#       frames to a line rate),
#       airlock-linkd and airlock-signerd (its signing threads on every
#       core) to the RSA-4096 subroot of scripts/harness.sh, timed from the
#       client's start until every answer is back; over the single-core
#       raw rate (c'), measured as (c) is (BENCH_RAW_N signatures, 500)
#       just before the daemons start and again just after they stop, the
#       mean of the two: that is rsa4096_2core_ratio. Until 2026-12-06 it
#       was over (c), measured a minute or more before, and this machine's
#       single-core rate moves by a fifth within minutes (1.54 and 1.85 in
#       two runs of one build, where the rate beside (e) gave about 1.5 in
#       both). A rate:
#       the first answer comes a batch after the start and the last batch
#       is signed and committed with nothing behind it, about 0.3 s
#       together, a quarter of a 400-request run (the default was 400 until
#       2026-12-05; that day 400 gave 1.17 where 2,000 gave 1.32-1.75).
# The rates are wall-clock; the table also shows them per CPU second, to
# tell a busy machine from a slow path, and for (e) the CPU each process
# spent per request (read from /proc before they stop) and how often the
# signing threads were preempted: where the two CPUs went. Beside (c'),
# (c'') runs two of it at once, as `openssl speed -multi 2` does: what the
# machine allowed on both cores in that minute (the issue's own yardstick
# for the ratio; on this machine 1.6 to 2.1 times one core).
# A benchmark, not a test. Ends with
#   BENCH sign rsa4096_per_s=A ratio_vs_raw=A/c ratio_vs_openssl_ca=A/b
#       p256_per_s=D rsa4096_e2e_per_s=E rsa4096_2core_ratio=E/c'
#       raw_2core_ratio=c''/c'
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${AL_BIN:-$top/build/bin}
N=${BENCH_N:-2000}
NO=${BENCH_OPENSSL_N:-400}
[ "$NO" -gt "$N" ] && NO=$N
W=$(mktemp -d /tmp/airlock-bench-sign.XXXXXX)
trap '[ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
die() { echo "bench-sign: $*" >&2; exit 1; }

echo "bench-sign: $N P-256 CSRs, an RSA-4096 and a P-256 CA in $W (not timed)"
"$bin/bench-sign" gen "$W/csr" "$N" || die "cannot make the CSRs"
"$bin/airlockctl" root init --dir "$W/rsa" --subject "/CN=bench RSA-4096 CA/O=airlock bench" \
	--key rsa:4096 --days 3650 >/dev/null || die "RSA CA"
"$bin/airlockctl" root init --dir "$W/p256" --subject "/CN=bench P-256 CA/O=airlock bench" \
	--key ec:P-256 --days 3650 >/dev/null || die "P-256 CA"

# (a) and (c)
out=$("$bin/bench-sign" run "$W/rsa" "$W/csr" "$N" "$W/rsa.db" 2>"$W/rsa.log") ||
	die "signer path (RSA): $(tail -n 3 "$W/rsa.log")"
A=$(awk '$1 == "sign" { print $4 }' <<<"$out")
RAW=$(awk '$1 == "raw" { print $4 }' <<<"$out")
A_CPU=$(awk -v n="$N" '$1 == "sign" { printf "%.1f", n / $6 }' <<<"$out")
RAW_CPU=$(awk -v n="$N" '$1 == "raw" { printf "%.1f", n / $6 }' <<<"$out")

# (b): an openssl ca directory with the same key and certificate
o=$W/openssl-ca
mkdir -p "$o/newcerts" "$o/out"
cp "$W/rsa/ca.crt" "$o/ca.crt"
cp "$W/rsa/ca.key" "$o/ca.key"
: > "$o/index.txt"
echo 1000 > "$o/serial"
cat > "$o/openssl.cnf" <<CNF
[ ca ]
default_ca = bench
[ bench ]
dir = $o
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
serial = \$dir/serial
default_md = sha256
default_days = 90
policy = anything
unique_subject = no
copy_extensions = copy
x509_extensions = server
[ anything ]
commonName = supplied
organizationName = optional
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
crlDistributionPoints = URI:http://crl.bench.example/ca.crl
authorityInfoAccess = OCSP;URI:http://ocsp.bench.example/
CNF
t0=$(date +%s.%N)
for ((i = 0; i < NO; i++)); do
	f=$(printf '%05d' "$i")
	openssl ca -batch -config "$o/openssl.cnf" -in "$W/csr/$f.csr" \
		-out "$o/out/$f.crt" -notext 2>>"$W/openssl-ca.log" ||
		die "openssl ca failed on $f.csr (see $W/openssl-ca.log)"
done
t1=$(date +%s.%N)
OCA=$(awk -v n="$NO" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')

# (a) with a P-256 CA: three runs, each on a new ca.db, and the median. One
# run of 2,000 takes a fifth of a second, a window in which this machine's
# speed moves by a fifth and more (single runs of one build: 8,300 to
# 11,600 a second within minutes, until 2026-12-06 one run was reported)
P256_RUNS=""
for k in 1 2 3; do
	rm -f "$W/p256.db" "$W/p256.db-wal" "$W/p256.db-shm"
	o256=$("$bin/bench-sign" run "$W/p256" "$W/csr" "$N" "$W/p256.db" 2>"$W/p256.log") ||
		die "signer path (P-256): $(tail -n 3 "$W/p256.log")"
	P256_RUNS="$P256_RUNS$(awk -v n="$N" '$1 == "sign" { printf "%s %.1f", $4, n / $6 }
	    $1 == "raw" { printf " %s", $4 }' <<<"$o256")
"
done
# the run with the median rate: its rate, its rate per CPU s, its raw rate
read -r D D_CPU RAW256 < <(awk NF <<<"$P256_RUNS" | sort -n | sed -n 2p)
P256_ALL=$(awk 'NF { printf "%s%s", sep, $1; sep = ", " }' <<<"$P256_RUNS")

# (e) end to end, over the unthrottled cable
. "$top/scripts/harness.sh"
NE=${BENCH_E2E_N:-$N}
[ "$NE" -gt "$N" ] && NE=$N
export AL_PAYLOAD=8192 AL_WINDOW=32 AL_TIME_INTERVAL=3600 AL_BAUD=4000000 AL_PACE=0
E2E=$W/e2e
mkdir -p "$E2E"
trap 'al_stop "$E2E"; [ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
al_setup "$E2E"
for ((i = 0; i < NE; i++)); do
	al_client "$E2E" submit --root demo-rsa --profile server \
		"$W/csr/$(printf '%05d' "$i").csr" >/dev/null || die "submit $i"
done
NR=${BENCH_RAW_N:-500}
raw_rate() { "$bin/bench-sign" raw "$W/rsa" "$NR" | awk '$1 == "raw" { print $4 }'; }
# what the machine allows on both cores at that minute: two such processes
# at once, their rates summed (as `openssl speed -multi 2`), over one alone
raw_rate2() {
	"$bin/bench-sign" raw "$W/rsa" "$NR" >"$W/raw2a" &
	"$bin/bench-sign" raw "$W/rsa" "$NR" >"$W/raw2b" || return
	wait $! || return
	awk '$1 == "raw" { s += $4; n++ } END { if (n != 2) exit 1; printf "%.1f", s }' \
	    "$W/raw2a" "$W/raw2b"
}
RB=$(raw_rate) || die "raw signatures before (e)"
RB2=$(raw_rate2) || die "raw signatures on both cores before (e)"
al_cable "$E2E" --baud 0 --buffer 1048576
"$bin/airlock-signerd" -d -c "$E2E/signer/airlock.conf" 2>>"$E2E/log/signerd.log" & echo $! > "$E2E/signerd.pid"
"$bin/airlock-linkd" -d -c "$E2E/signer/airlock.conf" 2>>"$E2E/log/linkd.log" & echo $! > "$E2E/linkd.pid"
# the wait: one python3 polling outbox.db through the state index, started
# before the clock (its start-up is not timed), printing the time it saw
# nothing unanswered; it looks less often while much is left (a quarter
# second with 1,000 left, 10 ms with 40), so that its wake-ups do not
# take the signing threads' CPUs (every 20 ms until 2026-12-07: about 230
# a run). A sqlite3 and a sleep started every 20 ms took a fifth of the
# two CPUs from the run (until 2026-12-05); bash driving one sqlite3
# through a coprocess, with read -t for the pause, still took about 5 %
# of them (until 2026-12-06)
python3 - "$E2E/webdb/state/outbox.db" >"$W/t1" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
q = "SELECT count(*) FROM outbox WHERE state IN (0, 1)"
while True:
    left = db.execute(q).fetchone()[0]
    if left == 0:
        break
    time.sleep(min(0.25, max(0.01, left / 4000)))
print("%.6f" % time.time())
PY
watcher=$!
sleep 0.5
t0=$(date +%s.%N)
"$bin/airlock-client" -d -c "$E2E/webdb/airlock-client.conf" run 2>>"$E2E/log/client.log" & echo $! > "$E2E/client.pid"
wait "$watcher" || die "end to end: cannot watch outbox.db"
t1=$(cat "$W/t1")
# where the two CPUs went in (e): each process's CPU time (its threads
# summed; airlock-signerd's signing threads apart from its main thread)
# and the switches its threads were made to take, before they stop
cpu_of() {	# NAME: "cpu_ms forced_switches" of its process (or its threads but the first)
	local pid t tk=$(getconf CLK_TCK) ms=0 nv=0 skip=${2:-}
	pid=$(cat "$E2E/$1.pid") || return
	for t in /proc/"$pid"/task/*; do
		[ "$skip" = threads ] && [ "${t##*/}" = "$pid" ] && continue
		[ "$skip" = main ] && [ "${t##*/}" != "$pid" ] && continue
		ms=$((ms + $(awk -v tk="$tk" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / tk) }' "$t/stat")))
		nv=$((nv + $(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "$t/status")))
	done
	echo "$ms $nv"
}
CPU_SIGN=$(cpu_of signerd threads) CPU_MAIN=$(cpu_of signerd main)
CPU_LINKD=$(cpu_of linkd) CPU_CLIENT=$(cpu_of client) CPU_CABLE=$(cpu_of cable)
al_stop "$E2E"
RA=$(raw_rate) || die "raw signatures after (e)"
RA2=$(raw_rate2) || die "raw signatures on both cores after (e)"
RAW_E2E=$(awk -v a="$RB" -v b="$RA" 'BEGIN { printf "%.1f", (a + b) / 2 }')
RAW2_RATIO=$(awk -v a="$RB" -v b="$RA" -v c="$RB2" -v d="$RA2" 'BEGIN { printf "%.2f", (c + d) / (a + b) }')
GOT=$(sqlite3 "$E2E/signer/state/ca.db" "select count(*), count(distinct reqid) from certs where root = 'demo-rsa'")
[ "$GOT" = "$NE|$NE" ] || die "end to end: $GOT certificates for $NE requests (see $E2E/log)"
E=$(awk -v n="$NE" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
E_RATIO=$(awk -v e="$E" -v c="$RAW_E2E" 'BEGIN { printf "%.2f", e / c }')
THREADS=$(grep -o "signing on [0-9]* threads\{0,1\}" "$E2E/log/signerd.log" | head -n 1)

B=$(awk -v a="$A" -v c="$RAW" 'BEGIN { printf "%.2f", a / c }')
C=$(awk -v a="$A" -v b="$OCA" 'BEGIN { printf "%.2f", a / b }')
printf '%-50s %10s %10s\n' "what" "per second" "per CPU s"
printf '%-50s %10s %10s\n' "(a) airlock signer path, RSA-4096 CA, $N CSRs" "$A" "$A_CPU"
printf '%-50s %10s %10s\n' "(b) openssl ca -batch per CSR, $NO of $N CSRs" "$OCA" "-"
printf '%-50s %10s %10s\n' "(c) raw RSA-4096 signatures, same process" "$RAW" "$RAW_CPU"
printf '%-50s %10s %10s\n' "(a) airlock signer path, P-256 CA, $N CSRs" "$D" "$D_CPU"
printf '%-50s %10s %10s\n' "    (median of three runs: $P256_ALL)" "" ""
printf '%-50s %10s %10s\n' "    raw P-256 signatures, same process" "$RAW256" "-"
printf '%-50s %10s %10s\n' "(e) end to end, RSA-4096, $NE CSRs ($THREADS)" "$E" "-"
printf '%-50s %10s %10s\n' "(c') raw RSA-4096, $NR just before / after (e)" "$RB / $RA" "-"
printf '%-50s %10s %10s\n' "(c'') the same on both cores at once (two processes)" "$RB2 / $RA2" "-"
printf '%-50s %10s %10s\n' "    what the machine allowed: (c'') over (c')" "$RAW2_RATIO" "-"
awk -v n="$NE" -v s="$CPU_SIGN" -v m="$CPU_MAIN" -v l="$CPU_LINKD" -v c="$CPU_CLIENT" \
    -v k="$CPU_CABLE" -v raw="$RAW_E2E" 'BEGIN {
	split(s, S, " "); split(m, M, " "); split(l, L, " "); split(c, C, " "); split(k, K, " ")
	printf "(e) CPU ms per request: signing threads %.2f (raw signature %.2f), signerd main %.3f,\n",
	    S[1] / n, 1000 / raw, M[1] / n
	printf "    linkd %.3f, client %.3f, simulator %.3f; signing threads preempted %d times\n",
	    L[1] / n, C[1] / n, K[1] / n, S[2] }'
echo "(per second: wall clock, what the BENCH line reports; per CPU s: the same work"
echo " divided by this process's CPU time, which other load on the machine does not change)"
[ "$NO" -lt "$N" ] && echo "(b) ran $NO openssl ca processes; the rate is theirs, not scaled further"
echo "BENCH sign rsa4096_per_s=$A ratio_vs_raw=$B ratio_vs_openssl_ca=$C p256_per_s=$D rsa4096_e2e_per_s=$E rsa4096_2core_ratio=$E_RATIO raw_2core_ratio=$RAW2_RATIO"
