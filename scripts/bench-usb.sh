#!/usr/bin/env bash
# bench-usb.sh: `make bench-usb`. BENCH_N (default 2000) CSR round trips
# over the emulated PL2501 USB cable (usbpair; docs/usb.md): real P-256
# CSRs, certificates issued by the RSA-4096 subroot (BENCH_ROOT=demo-ec for
# the P-384 one), airlock-client -> airlock-linkd -> airlock-signerd and
# back, each daemon on its own fake device through libusb. The requests are
# queued first (not timed); the clock runs from the client's start until
# every request has its answer. Over USB the signer's key, not the cable,
# is the bound. A benchmark, not a test: it ends with one line
#   BENCH usb requests=N ok=N certs_per_s=X
# where ok counts requests answered with a certificate.
set -u
. "$(dirname "$0")/harness.sh"
. "$(dirname "$0")/usbharness.sh"
N=${BENCH_N:-2000}
ROOT=${BENCH_ROOT:-demo-rsa}
export AL_PAYLOAD=${BENCH_PAYLOAD:-4096} AL_WINDOW=${BENCH_WINDOW:-32} AL_TIME_INTERVAL=3600
al_usb_ok || { echo "bench-usb: needs umockdev (apt-get install libumockdev-dev umockdev)" >&2; exit 1; }
D=$(mktemp -d /tmp/airlock-bench-usb.XXXXXX)
trap 'al_usb_stop "$D"; [ "${BENCH_KEEP:-}" ] && echo "kept $D" >&2 || rm -rf "$D"' EXIT

al_bench_csrs "$D/csr" "$N" || exit 1

al_setup "$D"
al_usb_config "$D"
for i in $(seq 0 $((N - 1))); do
	al_client "$D" submit --root "$ROOT" --profile server "$D/csr/$i.der" >/dev/null || exit 1
done
al_usb_cable "$D"
"$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
al_usb_daemon "$D" linkd
sleep 0.5
t0=$(date +%s.%N)
al_usb_daemon "$D" client
outbox=$D/webdb/state/outbox.db
limit=$((SECONDS + 600))
while [ "$(sqlite3 "$outbox" "select count(*) from outbox where state < 2")" != 0 ]; do
	[ $SECONDS -lt $limit ] || { echo "bench-usb: gave up after 600 s" >&2; break; }
	sleep 0.05
done
t1=$(date +%s.%N)
ok=$(sqlite3 "$outbox" "select count(*) from outbox where state = 2")
sleep 1.2	# one more status file from each daemon
grep -h "^usb \|^link " "$D/webdb/state/link.status" | sed 's/^/client /' >&2
[ "$ok" = "$N" ] || echo "bench-usb: $((N - ok)) of $N requests without a certificate" >&2
echo "BENCH usb requests=$N ok=$ok certs_per_s=$(python3 -c "print(f'{$ok / ($t1 - $t0):.1f}')")"
