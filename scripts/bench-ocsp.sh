#!/usr/bin/env bash
# bench-ocsp.sh: `make bench-ocsp`. airlock-ocspd and OpenSSL's own responder
# (`openssl ocsp -index ... -port`) answer the same requests, from the same
# `openssl ca` index (OCSP_SERIALS entries, every tenth revoked, plus serials
# never issued) and the CRL made from it, on this machine, in this run.
# tools/ocspbench.c sends OCSP_N requests (the serials in turn, POSTs over
# OCSP_CONN HTTP/1.1 connections kept alive, each with one request in
# flight) to each and checks every answer. OpenSSL's responder runs with
# -multi OCSP_PROCS (default OCSP_CONN: a process serves one kept-alive
# connection at a time, and with fewer processes than connections the run
# stalls); airlock-ocspd answers on its default ocsp.threads (one per CPU).
# ocspbench shares the machine with the responder it measures: about half
# the CPU of a run is its own, mostly the kernel's loopback TCP.
# After one uncounted round of 2,000 each, the two take turns, OCSP_ROUNDS
# rounds of OCSP_N requests each (ours, theirs, ours, ...), so that both see
# the same machine; per_s is each one's median round, responses and ok
# count every round of ours. 64 connections by default: relying parties are
# many (docs/ocsp.md).
# Prints one line:
#   BENCH ocsp responses=N ok=N per_s=X openssl_ocsp_per_s=Y ratio=Z revoked_ok=0|1 unknown_ok=0|1
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin
. "$top/scripts/ocsp-ca.sh"
N=${OCSP_N:-10000}
SERIALS=${OCSP_SERIALS:-2000}
CONN=${OCSP_CONN:-64}
ROUNDS=${OCSP_ROUNDS:-3}
PROCS=${OCSP_PROCS:-$CONN}
D=$(mktemp -d /tmp/airlock-bench-ocsp.XXXXXX)
pids=()
# openssl ocsp -multi: its children first (by parent id), then it
stop() { local p; for p in "${pids[@]}"; do kill -9 $(pgrep -P "$p") "$p"; wait "$p"; done; }
trap 'exec 2>/dev/null; stop; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
die() { echo "bench-ocsp: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Is something listening on TCP port $1? Read from the kernel's socket
# table, not by connecting: a child of `openssl ocsp -multi` (OpenSSL 3.0)
# that accepts a connection closed before any request spins on read() = 0
# for the rest of its life, and such a probe cost both responders a share
# of a CPU for the whole run (airlock-ocspd's figure halved: 24,000 a second
# instead of 50,000; docs/testing.md).
listening() {
	awk -v p="$(printf ':%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$D/state/ocsp/ocspd.status" 2>/dev/null; }

ocsp_ca "$D/ca" || die "the test CA"
ocsp_ca_fill "$D/ca" "$SERIALS" || die "the index"
mkdir -p "$D/state/crl" "$D/state/ocsp"
ocsp_ca_crl "$D/ca" "$D/state/crl/bench.crl" || die "the CRL"
P1=$(free_port) P2=$(free_port)
cat > "$D/ocspd.conf" <<CONF
state_dir = "$D/state";
client = { crl_roots = ( { name = "bench"; ca_cert = "$D/ca/ca.crt"; } ); };
ocsp = { listen = "127.0.0.1"; port = $P1; refresh = 1; renew = false;
  roots = ( { name = "bench"; key = "$D/ca/ocsp.key"; cert = "$D/ca/ocsp.crt";
              index = "$D/ca/index.txt"; } ); };
CONF
"$bin/airlock-ocspd" -d -c "$D/ocspd.conf" 2>"$D/ocspd.log" &
pids+=($!)
openssl ocsp -index "$D/ca/index.txt" -port "$P2" -rsigner "$D/ca/ocsp.crt" \
	-rkey "$D/ca/ocsp.key" -CA "$D/ca/ca.crt" -nmin 60 -ignore_err -multi "$PROCS" >"$D/openssl.log" 2>&1 &
pids+=($!)
# airlock-ocspd signs every issued serial's response ahead of time: wait for it
for _ in $(seq 600); do
	[ "$(counter presign_passes)" -ge 1 ] 2>/dev/null && listening "$P2" && break
	sleep 0.1
done
[ "$(counter presign_passes)" -ge 1 ] 2>/dev/null ||
	die "airlock-ocspd did not presign its responses (see $D/ocspd.log)"
listening "$P2" || die "openssl ocsp did not start (see $D/openssl.log)"

val() { echo "$1" | sed -n "s/.*\b$2=\([0-9.]*\).*/\1/p"; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# one short round each first, not counted: the first round of a run was
# the slowest for both (airlock-ocspd at two thirds of its later rounds)
"$bin/ocspbench" "$P1" "$D/ca/ca.crt" "$D/ca/expected" 2000 "$CONN" >/dev/null ||
	die "ocspbench airlock-ocspd (warm-up)"
"$bin/ocspbench" "$P2" "$D/ca/ca.crt" "$D/ca/expected" 2000 "$CONN" >/dev/null ||
	die "ocspbench openssl ocsp (warm-up)"
xs=() ys=() resp=0 ok=0 rok=1 uok=1 tok=1
for _ in $(seq "$ROUNDS"); do
	ours=$("$bin/ocspbench" "$P1" "$D/ca/ca.crt" "$D/ca/expected" "$N" "$CONN") ||
		die "ocspbench airlock-ocspd"
	theirs=$("$bin/ocspbench" "$P2" "$D/ca/ca.crt" "$D/ca/expected" "$N" "$CONN") ||
		die "ocspbench openssl ocsp"
	echo "bench-ocsp: round: airlock-ocspd $ours; openssl ocsp $theirs" >&2
	xs+=("$(val "$ours" per_s)") ys+=("$(val "$theirs" per_s)")
	resp=$((resp + $(val "$ours" responses))) ok=$((ok + $(val "$ours" ok)))
	rok=$((rok & $(val "$ours" revoked_ok))) uok=$((uok & $(val "$ours" unknown_ok)))
	[ "$(val "$theirs" ok)" = "$N" ] || tok=0
done
x=$(median "${xs[@]}") y=$(median "${ys[@]}")
ratio=$(python3 -c "print(f'{$x / max($y, 1):.1f}')")
[ $tok = 1 ] || echo "bench-ocsp: openssl ocsp did not answer every request right" >&2
echo "bench-ocsp: airlock-ocspd $(cat "$D/state/ocsp/ocspd.status")" >&2
echo "BENCH ocsp responses=$resp ok=$ok per_s=$x openssl_ocsp_per_s=$y ratio=$ratio" \
	"revoked_ok=$rok unknown_ok=$uok"
