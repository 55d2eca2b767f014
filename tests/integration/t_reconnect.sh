#!/usr/bin/env bash
# t_reconnect.sh: the serial device goes away and comes back. The cable
# simulator is killed mid-queue (both pseudo-terminals vanish, as a USB
# serial adapter does when unplugged) and started again a few seconds later
# under the same names; both daemons must notice, keep running, reopen the
# device, start a new session and finish every request exactly once. Also a
# second linkd on the same device must be refused (exclusive open).
set -u
. "$AL_TOP/scripts/harness.sh"
D=$(mktemp -d /tmp/airlock-reconnect.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
ids=()
for i in $(seq 12); do
	al_csr "$D" r$i ec:P-256 "r$i.reconnect.example"
	ids+=("$(al_client "$D" submit --root demo-ec --profile server --name r$i "$D/csr/r$i.csr")")
done
sleep 1
al_stop_one "$D" cable
# more requests while the device is gone: these can only be answered after it returns
for i in $(seq 13 18); do
	al_csr "$D" r$i ec:P-256 "r$i.reconnect.example"
	ids+=("$(al_client "$D" submit --root demo-ec --profile server --name r$i "$D/csr/r$i.csr")")
done
sleep 2
check "daemons survive the device vanishing" 'kill -0 $(cat "$D/linkd.pid") && kill -0 $(cat "$D/client.pid")'
check "requests queued while it was gone are not answered yet" \
	'! al_client "$D" wait --timeout 0 ${ids[@]:12} >/dev/null 2>&1'
al_cable "$D" --baud 115200
check "every request answered after the device came back" \
	'al_client "$D" wait --timeout 90 ${ids[@]}'
check "linkd logged the lost device" 'grep -q "device lost" "$D/log/linkd.log"'
check "linkd reopened the device" '[ "$(grep -c "cable open" "$D/log/linkd.log")" -ge 2 ]'
check "exactly 18 certificates, one per request" \
	'[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*) from certs")" = 18 ]'
# exclusive open: a second daemon on the same device gets a clear refusal
# (its own run_dir, or the run_dir lock below would refuse it first)
sed -e "s|$D/signer/state|$D/second|" -e "s|$D/signer/run|$D/second|" "$D/signer/airlock.conf" > "$D/second.conf"
mkdir -p "$D/second"
timeout 5 "$AL_BIN/airlock-linkd" -d -v -c "$D/second.conf" 2>"$D/log/second.log"
check "a second linkd on the same device is refused" 'grep -q "in use by another process\|Device or resource busy" "$D/log/second.log"'
# one linkd per signer: another cable but the same run_dir (the signer's FIFOs)
sed -e "s|$D/signer/state|$D/fourth|" -e "s|$D/cable-signer|$D/other-tty|" "$D/signer/airlock.conf" > "$D/fourth.conf"
mkdir -p "$D/fourth"
timeout 5 "$AL_BIN/airlock-linkd" -d -c "$D/fourth.conf" 2>"$D/log/fourth.log"; rc=$?
check "a second linkd for the same signer (run_dir) is refused at once (exit $rc)" \
	'[ $rc != 124 ] && [ $rc != 0 ] && grep -q "another airlock-linkd serves this signer" "$D/log/fourth.log"'
check "... and the first one still serves" 'kill -0 $(cat "$D/linkd.pid") && al_client "$D" status --signer --timeout 20 | grep -q "^signer=up"'
# a device that cannot be opened (a wrong name in the configuration): one
# warning with the reason, not a line per retry and not only at debug level
sed -e "s|$D/signer/state|$D/third|" -e "s|$D/signer/run|$D/third|" -e "s|$D/cable-signer|$D/no-such-tty|" \
	"$D/signer/airlock.conf" > "$D/third.conf"
mkdir -p "$D/third"
timeout 3.5 "$AL_BIN/airlock-linkd" -d -c "$D/third.conf" 2>"$D/log/third.log"
check "a device that cannot be opened: one warning naming it, in 3.5 s of retries" \
	'[ "$(grep -c "cable: .*no-such-tty.*trying again every second" "$D/log/third.log")" = 1 ]'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
