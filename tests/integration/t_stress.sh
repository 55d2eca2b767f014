#!/usr/bin/env bash
# t_stress.sh: STRESS_N (default 500) requests through the cable simulator
# at a bit error rate of 1e-4 with random cable pulls, at 460800 baud so
# that it fits in `make check`. Every request must get exactly one
# certificate, no request may be signed twice, no serial may repeat.
set -u
. "$AL_TOP/scripts/harness.sh"
N=${STRESS_N:-500}
D=$(mktemp -d /tmp/airlock-stress.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
q() { sqlite3 -cmd ".timeout 5000" "$@"; }

export AL_BAUD=460800
al_setup "$D"
python3 - "$D/csr" "$N" <<'PY' || exit 1
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
out, n = sys.argv[1], int(sys.argv[2])
k = ec.generate_private_key(ec.SECP256R1())	# one key, many requests: each is a new request id
for i in range(n):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"s{i}.stress.example")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(k, hashes.SHA256())
    open(f"{out}/{i}.der", "wb").write(csr.public_bytes(serialization.Encoding.DER))
PY
for i in $(seq 0 $((N - 1))); do
	root=demo-ec; [ $((i % 3)) = 0 ] && root=demo-rsa
	al_client "$D" submit --root $root --profile server "$D/csr/$i.der" >/dev/null || exit 1
done
al_cable "$D" --baud 460800 --ber 1e-4 --disconnect-every 4 --disconnect-for 700 --seed 5
al_start "$D"
for _ in $(seq 1800); do
	[ "$(q "$D/webdb/state/outbox.db" "select count(*) from outbox where state < 2")" = 0 ] && break
	sleep 0.1
done
kill -USR1 "$(cat "$D/cable.pid")"; sleep 0.3
check "all $N requests answered" '[ "$(q "$D/webdb/state/outbox.db" "select count(*) from outbox where state = 2")" = $N ]'
check "no request failed" '[ "$(q "$D/webdb/state/outbox.db" "select count(*) from outbox where state = 3")" = 0 ]'
check "exactly $N certificates signed" '[ "$(q "$D/signer/state/ca.db" "select count(*) from certs")" = $N ]'
check "one certificate per request id" '[ "$(q "$D/signer/state/ca.db" "select count(distinct reqid) from certs")" = $N ]'
check "no serial issued twice" '[ -z "$(q "$D/signer/state/ca.db" "select 1 from certs group by root, serial having count(*) > 1")" ]'
check "every answer is the signer's certificate" \
	'[ "$(q "$D/webdb/state/outbox.db" "select count(*) from outbox where length(answer) > 300")" = $N ]'
check "the cable flipped bits" 'grep -q "bits_flipped=[1-9]" "$D/log/cable.stats"'
check "the cable was pulled" 'grep -q "a2b.disconnects=[1-9]" "$D/log/cable.stats"'
check "the link resynchronised after bad frames" 'grep -q "bad_crc=[1-9]" "$D/log/client.log" || { al_stop_one "$D" client; grep -q "bad_crc=[1-9]" "$D/log/client.log"; }'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
