#!/usr/bin/env bash
# t_ocsp_cable.sh: airlock-ocspd fed by the cable, as deployed on webdb.
# The responder's key is made on webdb and its certificate issued by
# airlock-signerd through the normal request path (profile "ocsp");
# certificates come back over the cable into outbox.db (and their serials
# into crl_dir/ROOT.serials), the CRL arrives with a CRL_FETCH. Independent clients (openssl ocsp, GnuTLS ocsptool)
# see good for a certificate that crossed the cable, unknown for a serial
# never issued, and revoked (with its reason) once a revocation has
# crossed the cable and webdb holds the CRL that carries it; both verify
# the responder's delegation up to the root.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-ocspc.XXXXXX)
OPID=
trap '[ -n "$OPID" ] && kill "$OPID" 2>/dev/null; al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
command -v ocsptool >/dev/null || { echo "SKIP: ocsptool (gnutls-bin) not installed"; exit 77; }

al_ocsp_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
OUT=$D/webdb/state/spool/out CRL=$D/webdb/state/crl
SUB=$D/ca/sub-ec/ca.crt
cat "$SUB" "$D/ca/root/ca.crt" > "$D/chain.pem"
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }
fetch() {	# a CRL_FETCH of demo-ec now; waits for its answer
	local id
	id=$(al_client "$D" crl --root demo-ec) && al_client "$D" wait --timeout 120 "$id" >/dev/null
}
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$D/webdb/state/ocsp/ocspd.status" 2>/dev/null; }
ossl() {	# CERT-or-"-serial N" [args]: openssl ocsp, the responder verified to the root
	openssl ocsp -issuer "$SUB" "$@" -url "$URL" -CAfile "$D/chain.pem" 2>&1
}
gnutls() {	# CERT
	ocsptool --ask="$URL" --load-issuer "$SUB" --load-cert "$1" --load-trust "$D/chain.pem" 2>&1
}

# the responder's key stays on webdb; its certificate comes over the cable
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/webdb/ocsp.key" 2>/dev/null
chmod 600 "$D/webdb/ocsp.key"
openssl req -new -key "$D/webdb/ocsp.key" -subj "/CN=airlock demo OCSP responder/O=airlock demo" \
	-out "$D/csr/ocsp.csr" 2>/dev/null
id=$(al_client "$D" submit --root demo-ec --profile ocsp --name ocsp "$D/csr/ocsp.csr")
al_client "$D" wait --timeout 60 "$id" >/dev/null
check "the responder certificate issued by the signer" '[ -s "$OUT/ocsp.crt" ] && al_verify "$D" sub-ec "$OUT/ocsp.crt"'
check "... with OCSPSigning and ocsp-nocheck" \
	'openssl x509 -in "$OUT/ocsp.crt" -noout -text | grep -q "OCSP Signing" && openssl x509 -in "$OUT/ocsp.crt" -noout -text | grep -q "OCSP No Check"'
cp "$OUT/ocsp.crt" "$D/webdb/ocsp.crt"

for n in good gone; do
	al_csr "$D" "$n" ec:P-256 "$n.ocsp.test.example"
	id=$(al_client "$D" submit --root demo-ec --profile server --name "$n" "$D/csr/$n.csr")
	al_client "$D" wait --timeout 60 "$id" >/dev/null
done
check "two certificates over the cable" '[ -s "$OUT/good.crt" ] && [ -s "$OUT/gone.crt" ]'
check "they name the responder in their AIA" \
	'openssl x509 -in "$OUT/good.crt" -noout -ocsp_uri | grep -qx "$URL"'
fetch
check "webdb holds demo-ec's CRL" '[ -s "$CRL/demo-ec.crl" ]'

"$AL_BIN/airlock-ocspd" -d -c "$D/webdb/airlock-client.conf" 2>>"$D/log/ocspd.log" &
OPID=$!
check "airlock-ocspd presigned what webdb holds" 'waitfor 20 "[ \"\$(counter presign_passes)\" -ge 1 ] 2>/dev/null"'

out=$(ossl -cert "$OUT/good.crt")
check "openssl ocsp: good for a certificate that crossed the cable, verified" \
	'echo "$out" | grep -q "Response verify OK" && echo "$out" | grep -q ": good"'
out=$(gnutls "$OUT/good.crt")
check "ocsptool: good, verified" 'echo "$out" | grep -q "Certificate Status: good" && echo "$out" | grep -q "Verifying OCSP Response: Success"'
out=$(ossl -serial 0x4A0011223344556677)
check "openssl ocsp: unknown for a serial never issued" 'echo "$out" | grep -q ": unknown"'
out=$(ossl -cert "$OUT/gone.crt")
check "openssl ocsp: good before the revocation" 'echo "$out" | grep -q ": good"'

# the revocation crosses the cable; webdb fetches the CRL carrying it
id=$(al_client "$D" revoke --root demo-ec --serial "$(serial_of "$OUT/gone.crt")" --reason 1 --name gone-rev)
check "revoke answered over the cable" 'al_client "$D" wait --timeout 60 "$id" && grep -q "^revoked demo-ec" "$OUT/gone-rev.revoked"'
fetch
check "the new CRL at webdb lists it" \
	'openssl crl -inform DER -in "$CRL/demo-ec.crl" -noout -text | grep -qi "$(serial_of "$OUT/gone.crt")"'
check "openssl ocsp: revoked, keyCompromise, within a refresh" \
	'waitfor 10 "ossl -cert \"$OUT/gone.crt\" | grep -q \": revoked\"" && ossl -cert "$OUT/gone.crt" | grep -q "Reason: keyCompromise"'
out=$(gnutls "$OUT/gone.crt")
check "ocsptool: revoked, verified" 'echo "$out" | grep -q "Certificate Status: revoked" && echo "$out" | grep -q "Verifying OCSP Response: Success"'
out=$(ossl -cert "$OUT/good.crt")
check "the other certificate still good" 'echo "$out" | grep -q "Response verify OK" && echo "$out" | grep -q ": good"'
check "airlock-ocspd still running" 'kill -0 "$OPID"'

# ROOT.serials: what airlock-ocspd reads as deployed, where outbox.db is not
# readable to it (t_deploy's ocspd-answers-as-deployed); rebuilt whole from
# the outbox at start when missing (an upgrade, a lost file), and filled
# again by SERIALS_FETCH, which may repeat a line then (t_ocsp_import)
want=$(for n in ocsp good gone; do serial_of "$OUT/$n.crt"; done | tr A-F a-f | sort)
have() { tr A-F a-f < "$CRL/demo-ec.serials" | sort -u; }
check "demo-ec.serials lists the three certificates that came back" '[ "$(have)" = "$want" ]'
check "... each once (SERIALS answers do not repeat what CERT answers appended)" \
	'[ -z "$(tr A-F a-f < "$CRL/demo-ec.serials" | sort | uniq -d)" ]'
check "... 0644 in a 0750 crl_dir" \
	'[ "$(stat -c %a "$CRL/demo-ec.serials")" = 644 ] && [ "$(stat -c %a "$CRL")" = 750 ]'
al_stop_one "$D" client
rm -f "$CRL/demo-ec.serials"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
check "a restarted client writes demo-ec.serials again from outbox.db" \
	'waitfor 10 "[ -s \"$CRL/demo-ec.serials\" ]" && [ "$(have)" = "$want" ]'
check "... and says so in its log" 'grep -q "3 serials of earlier certificates published" "$D/log/client.log"'

[ "$fails" = 0 ] || { [ "${KEEP:-}" ] || tail -20 "$D/log/ocspd.log"; exit 1; }
