#!/usr/bin/env bash
# t_ocsp_renew.sh: airlock-ocspd renews its own responder certificate
# through the spool (docs/ocsp.md, "Responder certificates"). The first
# certificate is issued by airlock-signerd for one day; with renew_days = 2
# it is in its renewal window at once. While airlock-client is stopped the
# request waits in spool/in, and the answers are made by hand: an error
# answer and a certificate for another key are refused and counted, and
# the old certificate keeps answering; a kill -9 while a request waits
# submits nothing twice. Then the client carries the request over the
# cable, the signer signs it, airlock-ocspd installs key and certificate in
# its cache_dir and answers with the new one: `openssl ocsp -resp_text`
# shows the new certificate's serial and verifies the response to the root.
# Last, the renewed pair removed by hand is renewed again at once, and an
# answer not valid for a few seconds more (a signer whose clock runs ahead)
# is waited for and then installed. And from nothing (no key, no
# certificate): tryLater until a key and certificate of its own arrive.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-ocspr.XXXXXX)
OPID=
trap '[ -n "$OPID" ] && kill "$OPID" 2>/dev/null; al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_ocsp_setup "$D" "renew_days = 2;"
al_cable "$D" --baud 115200
al_start "$D"
SP=$D/webdb/state/spool OUT=$D/webdb/state/spool/out CACHE=$D/webdb/state/ocsp
SUB=$D/ca/sub-ec/ca.crt
cat "$SUB" "$D/ca/root/ca.crt" > "$D/chain.pem"
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }
counter() { sed -n "1s/.* $1=\([0-9]*\).*/\1/p" "$CACHE/ocspd.status" 2>/dev/null; }
rootval() { sed -n "/^root=demo-ec /s/.* $1=\([^ ]*\).*/\1/p" "$CACHE/ocspd.status" 2>/dev/null; }
ossl() { openssl ocsp -issuer "$SUB" -cert "$OUT/good.crt" -url "$URL" -CAfile "$D/chain.pem" -resp_text 2>&1; }
# the responder certificate's serial in openssl ocsp -resp_text: the
# "Serial Number:" of the certificate the response carries (after the
# CertID's), as hex digits
resp_serial() {
	ossl | awk '/^Certificate:/ { c = 1 } c && /Serial Number:/ { s = $0; sub(/.*Serial Number: */, "", s)
		if (s ~ /\(0x/) { sub(/.*\(0x/, "", s); sub(/\).*/, "", s); print s; exit }
		if (s != "") { print s; exit }
		getline; gsub(/[ :]/, ""); print; exit }' | tr a-f A-F | sed 's/^0*//'
}
plain() { echo "$1" | tr a-f A-F | sed 's/^0*//'; }
pending() { local v; v=$(rootval request); [ "$v" = - ] || echo "$v"; }	# "" when none
start_ocspd() {
	"$AL_BIN/airlock-ocspd" -d -c "$D/webdb/airlock-client.conf" 2>>"$D/log/ocspd.log" &
	OPID=$!
}

# the first responder certificate: the key made on webdb, one day
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/webdb/ocsp.key" 2>/dev/null
chmod 600 "$D/webdb/ocsp.key"
openssl req -new -key "$D/webdb/ocsp.key" -subj "/CN=airlock demo OCSP responder/O=airlock demo" \
	-out "$D/csr/ocsp.csr" 2>/dev/null
id=$(al_client "$D" submit --root demo-ec --profile ocsp --days 1 --name ocsp1 "$D/csr/ocsp.csr")
al_client "$D" wait --timeout 60 "$id" >/dev/null
cp "$OUT/ocsp1.crt" "$D/webdb/ocsp.crt"
OLD=$(serial_of "$D/webdb/ocsp.crt")
check "the first responder certificate is valid for one day" \
	'[ $(( $(date -d "$(openssl x509 -in "$D/webdb/ocsp.crt" -noout -enddate | cut -d= -f2)" +%s) - $(date +%s) )) -le 86400 ]'
al_csr "$D" good ec:P-256 good.ocsp.test.example
id=$(al_client "$D" submit --root demo-ec --profile server --name good "$D/csr/good.csr")
al_client "$D" wait --timeout 60 "$id" >/dev/null
id=$(al_client "$D" crl --root demo-ec) && al_client "$D" wait --timeout 120 "$id" >/dev/null
check "a certificate and the CRL at webdb" '[ -s "$OUT/good.crt" ] && [ -s "$D/webdb/state/crl/demo-ec.crl" ]'

# the client stopped: the request waits in spool/in, answers made by hand
al_stop_one "$D" client
start_ocspd
check "a renewal request in spool/in at once" 'waitfor 20 "[ -n \"\$(pending)\" ] && [ -e \"$SP/in/\$(pending).req\" ]"'
N1=$(pending)
check "... named ocsp-demo-ec-*, status pending" '[[ $N1 == ocsp-demo-ec-* ]] && [ "$(rootval renewal)" = pending ]'
check "... 0640 (the client's group reads it), root=, profile=ocsp, id=, a PKCS#10 request" \
	'[ "$(stat -c %a "$SP/in/$N1.req")" = 640 ] && grep -qx "root=demo-ec" "$SP/in/$N1.req" &&
	 grep -qx "profile=ocsp" "$SP/in/$N1.req" && grep -qE "^id=[0-9a-f]{32}$" "$SP/in/$N1.req" &&
	 sed -n "/BEGIN CERTIFICATE REQUEST/,\$p" "$SP/in/$N1.req" | openssl req -noout -verify 2>&1 | grep -q "verify OK"'
check "... with the subject of the certificate in use" \
	'sed -n "/BEGIN CERTIFICATE REQUEST/,\$p" "$SP/in/$N1.req" | openssl req -noout -subject | grep -q "CN *= *airlock demo OCSP responder"'
check "the new key stays in cache_dir, 0600" '[ "$(stat -c %a "$CACHE/demo-ec.next.key")" = 600 ]'
check "the old certificate answers meanwhile" \
	'waitfor 10 "ossl | grep -q \"Response verify OK\"" && [ "$(resp_serial)" = "$(plain "$OLD")" ]'

# an error answer: refused, counted, retried later; the old one answers
mkdir -p "$SP/err"
echo "201 root demo-ec does not issue profile \"ocsp\"" > "$SP/err/$N1.err"
check "an error answer is counted (renew_failed=1) and logged" \
	'waitfor 10 "[ \"\$(counter renew_failed)\" = 1 ]" && grep -q "$N1 answered with an error: 201" "$D/log/ocspd.log"'
check "... the renewal waits (backoff), the key is gone" \
	'[ "$(rootval renewal)" = waiting ] && [ ! -e "$CACHE/demo-ec.next.key" ]'
check "... the old certificate still answers" '[ "$(resp_serial)" = "$(plain "$OLD")" ] && ossl | grep -q ": good"'
out=$("$AL_BIN/airlock-ocspd" -c "$D/webdb/airlock-client.conf" status 2>&1)
check "airlock-ocspd status: the certificate, the renewal failing, the last error" \
	'echo "$out" | grep -q "responder certificate $OLD (configured)" && echo "$out" | grep -q "renewal failing since" &&
	 echo "$out" | grep -q "last renewal error: request $N1 answered with an error: 201"'

# SIGHUP: a new attempt at once; a certificate for another key is refused
kill -HUP "$OPID"
check "SIGHUP: a new request (new key, new name)" 'waitfor 10 "[ -n \"\$(pending)\" ] && [ \"\$(pending)\" != $N1 ] && [ -e \"$SP/in/\$(pending).req\" ]"'
N2=$(pending)
cp "$D/webdb/ocsp.crt" "$OUT/$N2.crt"
check "a certificate for another key is refused and counted (renew_refused=1)" \
	'waitfor 10 "[ \"\$(counter renew_refused)\" = 1 ]" && grep -q "the answer to $N2 is refused: the responder certificate does not match its key" "$D/log/ocspd.log"'
check "... the old certificate still answers, nothing installed" \
	'[ "$(resp_serial)" = "$(plain "$OLD")" ] && [ ! -e "$CACHE/demo-ec.responder.pem" ] && [ "$(counter renew_installed)" = 0 ]'

# kill -9 while a request waits for its answer: not submitted twice
kill -HUP "$OPID"
waitfor 10 '[ -n "$(pending)" ] && [ "$(pending)" != "$N2" ] && [ -e "$SP/in/$(pending).req" ]'
N3=$(pending)
before=$(ls "$SP/in" | wc -l)
kill -9 "$OPID"; wait "$OPID" 2>/dev/null
start_ocspd
check "restarted: the pending request is remembered, nothing submitted again" \
	'waitfor 10 "grep -q \"renewal request $N3 is still waiting for its answer\" \"$D/log/ocspd.log\"" &&
	 sleep 2 && [ "$(ls "$SP/in" | wc -l)" = "$before" ] && [ "$(pending)" = "$N3" ] && [ "$(counter renew_requests)" = 0 ]'

# the client carries it over the cable; the signer signs; ocspd installs
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
check "the client accepted the request (not rejected)" 'waitfor 30 "[ -e \"$SP/accepted/$N3.req\" ]" && [ ! -e "$SP/rejected/$N3.req" ]'
check "the signer answered it over the cable" 'waitfor 60 "[ -s \"$OUT/$N3.crt\" ]"'
check "airlock-ocspd installed it (renew_installed=1, cert=renewed)" \
	'waitfor 20 "[ \"\$(counter renew_installed)\" = 1 ] && [ \"\$(rootval cert)\" = renewed ]"'
NEW=$(serial_of "$OUT/$N3.crt")
check "... in cache_dir/demo-ec.responder.pem, 0600, key and certificate" \
	'[ "$(stat -c %a "$CACHE/demo-ec.responder.pem")" = 600 ] &&
	 [ "$(openssl x509 -in "$CACHE/demo-ec.responder.pem" -noout -serial)" = "serial=$NEW" ] &&
	 [ "$(openssl pkey -in "$CACHE/demo-ec.responder.pem" -pubout)" = "$(openssl x509 -in "$OUT/$N3.crt" -noout -pubkey)" ]'
check "... the pending key is gone, the renewal idle" '[ ! -e "$CACHE/demo-ec.next.key" ] && [ "$(rootval renewal)" = idle ]'
check "the new certificate: OCSPSigning, ocsp-nocheck, the profile's 30 days, a P-256 key like the old" \
	'openssl x509 -in "$OUT/$N3.crt" -noout -text | grep -q "OCSP Signing" &&
	 openssl x509 -in "$OUT/$N3.crt" -noout -text | grep -q "OCSP No Check" &&
	 openssl x509 -in "$OUT/$N3.crt" -noout -checkend $((29 * 86400)) >/dev/null &&
	 openssl x509 -in "$OUT/$N3.crt" -noout -text | grep -q "NIST CURVE: P-256"'
out=$(ossl)
check "openssl ocsp: a response signed by the NEW certificate, verified to the root" \
	'[ "$(resp_serial)" = "$(plain "$NEW")" ] && [ "$NEW" != "$OLD" ] && echo "$out" | grep -q "Response verify OK" && echo "$out" | grep -q ": good"'
check "ocsptool: verified as well" \
	'! command -v ocsptool >/dev/null || ocsptool --ask="$URL" --load-issuer "$SUB" --load-cert "$OUT/good.crt" \
		--load-trust "$D/chain.pem" 2>&1 | grep -q "Verifying OCSP Response: Success"'
check "the stale answers to the abandoned requests change nothing" \
	'waitfor 60 "[ -s \"$OUT/$N1.crt\" ]" && sleep 2 && [ "$(counter renew_installed)" = 1 ] && [ "$(resp_serial)" = "$(plain "$NEW")" ]'

# a restart keeps the renewed pair and asks for nothing
kill "$OPID"; wait "$OPID" 2>/dev/null
before=$(ls "$SP/in" "$SP/accepted" | wc -l)
start_ocspd
check "restarted: still the new certificate, no new request" \
	'waitfor 10 "[ \"\$(rootval cert)\" = renewed ]" && sleep 2 && [ "$(resp_serial)" = "$(plain "$NEW")" ] &&
	 [ "$(ls "$SP/in" "$SP/accepted" | wc -l)" = "$before" ] && [ "$(rootval renewal)" = idle ]'
out=$("$AL_BIN/airlock-ocspd" -c "$D/webdb/airlock-client.conf" status 2>&1)
check "airlock-ocspd status: the renewed certificate and when it will be renewed" \
	'echo "$out" | grep -q "responder certificate $NEW (renewed), valid until" && echo "$out" | grep -q "renewal idle"'
# the renewed pair removed (a responder key thought compromised,
# docs/operations.md): renewed again at once. The answer is made by hand
# with the CA's key, valid from a few seconds on, as from a signer whose
# clock runs ahead: waited for, not refused, then installed
al_stop_one "$D" client
rm "$CACHE/demo-ec.responder.pem"
kill -HUP "$OPID"
check "the renewed pair removed: the first certificate answers, a new request at once" \
	'waitfor 10 "[ \"\$(resp_serial)\" = \"$(plain "$OLD")\" ] && [ -n \"\$(pending)\" ] && [ -e \"$SP/in/\$(pending).req\" ]"'
N4=$(pending)
python3 - "$SP/in/$N4.req" "$D/ca/sub-ec/ca.crt" "$D/ca/sub-ec/ca.key" "$OUT/$N4.crt" <<'PY'
import datetime, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
req, cacrt, cakey, out = sys.argv[1:]
text = open(req, "rb").read()
csr = x509.load_pem_x509_csr(text[text.index(b"-----BEGIN"):])
ca = x509.load_pem_x509_certificate(open(cacrt, "rb").read())
key = serialization.load_pem_private_key(open(cakey, "rb").read(), None)
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca.subject)
        .public_key(csr.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(seconds=6))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), False)
        .sign(key, hashes.SHA384()))
open(out + ".tmp", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
os.rename(out + ".tmp", out)
PY
EARLY=$(serial_of "$OUT/$N4.crt")
check "an answer not valid yet (the signer's clock ahead) is waited for, not refused" \
	'waitfor 5 "grep -q \"the answer to $N4 is not valid yet\" \"$D/log/ocspd.log\"" &&
	 [ "$(counter renew_refused)" = 0 ] && [ "$(pending)" = "$N4" ] && [ "$(resp_serial)" = "$(plain "$OLD")" ]'
check "... and installed once it is valid; the responses are signed by it" \
	'waitfor 20 "[ \"\$(rootval cert)\" = renewed ] && [ \"\$(resp_serial)\" = \"$(plain "$EARLY")\" ]" &&
	 ossl | grep -q "Response verify OK"'
# from nothing: no key, no certificate (a new webdb): tryLater, then a key
# and a certificate of its own, the subject its default
kill "$OPID"; wait "$OPID" 2>/dev/null
rm -f "$CACHE/demo-ec.responder.pem" "$D/webdb/ocsp.key" "$D/webdb/ocsp.crt"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
start_ocspd
check "no key and no certificate: tryLater, and a request at once" \
	'waitfor 10 "ossl | grep -qi trylater" && waitfor 10 "[ -n \"\$(pending)\" ]"'
N5=$(pending)
check "... signed and installed; the responses verify, the subject is the default" \
	'waitfor 60 "[ \"\$(rootval cert)\" = renewed ]" && ossl | grep -q "Response verify OK" &&
	 openssl x509 -in "$CACHE/demo-ec.responder.pem" -noout -subject | grep -q "CN *= *demo-ec OCSP responder" &&
	 [ "$(resp_serial)" = "$(plain "$(serial_of "$OUT/$N5.crt")")" ]'
check "airlock-ocspd still running" 'kill -0 "$OPID"'

[ "$fails" = 0 ] || { [ "${KEEP:-}" ] || tail -30 "$D/log/ocspd.log"; exit 1; }
