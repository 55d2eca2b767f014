#!/usr/bin/env bash
# t_e2e.sh: the demo's flow as a test, over a noisy simulated cable:
# client -> linkd -> signer -> linkd -> client as separate processes. Checks
# every good certificate with `openssl verify`; that bad requests (broken
# self-signature, unknown root, profile not allowed, CSR that does not parse)
# get their error code while the good request after them is still signed;
# that a request sent again after its answer was lost gets the same
# certificate bytes and no second signature; and that killing linkd with
# SIGKILL mid-queue loses nothing.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-e2e.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_setup "$D"
# noise bursts on the line: the link must resynchronise and retransmit
al_cable "$D" --baud 115200 --burst-every 3 --burst-len 24 --seed 7
al_start "$D"

submit() {	# NAME ROOT PROFILE FILE [args]
	local n=$1 r=$2 p=$3 f=$4; shift 4
	al_client "$D" submit --root "$r" --profile "$p" --name "$n" "$@" "$f"
}
declare -A id
for spec in "g1 rsa:2048 demo-rsa server" "g2 ec:P-256 demo-ec client" \
	    "g3 ec:P-384 demo-ec server" "g4 rsa:3072 demo-rsa client"; do
	set -- $spec
	al_csr "$D" "$1" "$2" "$1.test.example"
	id[$1]=$(submit "$1" "$3" "$4" "$D/csr/$1.csr")
done
# a CSR whose signature is broken: last byte of the DER flipped
openssl req -in "$D/csr/g1.csr" -outform DER -out "$D/csr/badsig.der"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-1]^=1; open(sys.argv[1],"wb").write(b)' "$D/csr/badsig.der"
id[badsig]=$(submit badsig demo-rsa server "$D/csr/badsig.der")
id[noroot]=$(submit noroot no-such-root server "$D/csr/g2.csr")
id[noprof]=$(submit noprof demo-rsa timestamp "$D/csr/g2.csr")
head -c 700 /dev/urandom > "$D/csr/garbage.bin"
id[garbage]=$(submit garbage demo-ec server "$D/csr/garbage.bin")
al_csr "$D" after ec:P-256 "after.test.example"
id[after]=$(submit after demo-ec server "$D/csr/after.csr")

# SIGKILL linkd while the queue is busy, start it again; the last three are
# submitted just before, so that some are on the cable or in queue.db then
sleep 1
for n in k1 k2 k3; do
	al_csr "$D" $n ec:P-256 "$n.test.example"
	id[$n]=$(submit $n demo-ec server "$D/csr/$n.csr")
done
sleep 0.3
kill -9 "$(cat "$D/linkd.pid")"
# the signer waits for linkd without spinning on its FIFOs
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
spid=$(cat "$D/signerd.pid")
sleep 0.3; c0=$(cpu_ticks "$spid"); sleep 1; c1=$(cpu_ticks "$spid")
check "signer idle while linkd is down (used $((c1 - c0)) of $(getconf CLK_TCK) ticks in 1 s)" \
	'[ $((c1 - c0)) -lt $(( $(getconf CLK_TCK) / 5 )) ]'
"$AL_BIN/airlock-linkd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" &
echo $! > "$D/linkd.pid"

check "every request answered within 120 s" \
	'al_client "$D" wait --timeout 120 ${id[@]} >/dev/null'
out=$D/webdb/state/spool/out err=$D/webdb/state/spool/err
for n in g1 g2 g3 g4 after k1 k2 k3; do
	sub=sub-rsa; case $n in g2|g3|after|k?) sub=sub-ec ;; esac
	check "$n: certificate verifies against its chain" 'al_verify "$D" $sub "$out/$n.crt"'
	check "$n: certificate carries the CSR's public key" \
		'[ "$(openssl x509 -in "$out/$n.crt" -noout -pubkey)" = "$(openssl req -in "$D/csr/$n.csr" -noout -pubkey)" ]'
done
check "broken self-signature: error 203" 'grep -q "^203 " "$err/badsig.err"'
check "unknown root: error 200" 'grep -q "^200 " "$err/noroot.err"'
check "profile not allowed: error 201" 'grep -q "^201 " "$err/noprof.err"'
check "CSR that does not parse: error 202" 'grep -q "^202 " "$err/garbage.err"'
check "error files carry a sentence" '[ "$(wc -w < "$err/badsig.err")" -gt 3 ]'
check "result exits 1 for a failed request" \
	'al_client "$D" result ${id[badsig]} >/dev/null 2>&1; [ $? = 1 ]'
check "result prints the certificate for a good one" \
	'al_client "$D" result ${id[g1]} | openssl x509 -noout 2>/dev/null'

# Exactly once: the client loses its answer and sends the request again.
certs_before=$(sqlite3 "$D/signer/state/ca.db" "select count(*) from certs")
cp "$out/g3.crt" "$D/g3.first"
al_stop_one "$D" client
sqlite3 "$D/webdb/state/outbox.db" "update outbox set state=0, answer=NULL where hex(reqid)=upper('${id[g3]}')"
rm -f "$out/g3.crt"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
check "re-sent request answered again" 'al_client "$D" wait --timeout 60 ${id[g3]}'
check "same certificate bytes the second time" 'cmp -s "$D/g3.first" "$out/g3.crt"'
check "no second signature in ca.db" \
	'[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*) from certs")" = "$certs_before" ]'
check "serials are unique" \
	'[ -z "$(sqlite3 "$D/signer/state/ca.db" "select serial from certs group by root, serial having count(*) > 1")" ]'
check "signer still running" 'kill -0 $(cat "$D/signerd.pid")'
check "linkd still running" 'kill -0 $(cat "$D/linkd.pid")'
check "the cable carried noise" 'kill -USR1 $(cat "$D/cable.pid"); sleep 0.2; grep -q "burst_bytes=[1-9]" "$D/log/cable.stats"'
check "airlockctl status works" '"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" status | grep -q "delivered"'
al_client "$D" status --signer --timeout 30 > "$D/signer.status" 2>"$D/signer.status.err"; rc=$?
check "status --signer: linkd's queue and clock over the link (exit $rc)" \
	'[ $rc = 0 ] && grep -q "^airlock-linkd " "$D/signer.status" && grep -q "^signer=up" "$D/signer.status" && grep -Eq "^delivered=[1-9]" "$D/signer.status"'
check "status --signer: the reply also lands in the spool as a .status file" \
	'ls "$out"/*.status >/dev/null 2>&1'
for a in "--timeout abc" "--timeout -1" "--timeout 99999999999999999999" "--timeout" "--bogus"; do
	al_client "$D" status --signer $a >/dev/null 2>"$D/st.err"; rc=$?
	check "status --signer $a: usage error (exit $rc) with a sentence" \
		'[ $rc = 2 ] && grep -q "airlock-client: status" "$D/st.err"'
done
al_client "$D" wait --timeout 5x "${id[g1]}" >/dev/null 2>"$D/st.err"; rc=$?
check "wait --timeout 5x: usage error (exit $rc) with a sentence" '[ $rc = 2 ] && grep -q "timeout needs a number" "$D/st.err"'
al_client "$D" prune extra >/dev/null 2>&1; rc=$?
check "prune with an argument: usage error (exit $rc)" '[ $rc = 2 ]'
check "status --signer with nobody to answer: exit 3 and a sentence" \
	'kill -STOP $(cat "$D/linkd.pid"); al_client "$D" status --signer --timeout 1 >/dev/null 2>"$D/st.err"; r=$?; kill -CONT $(cat "$D/linkd.pid"); [ $r = 3 ] && grep -q "no answer from the signer host" "$D/st.err"'
check "airlockctl queue lists a failed request" \
	'"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" queue --state failed | grep -q "${id[badsig]}"'
check "integrity of the three databases" \
	'for f in signer/state/ca.db signer/state/queue.db webdb/state/outbox.db; do [ "$(sqlite3 "$D/$f" "pragma integrity_check")" = ok ] || exit 1; done'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
