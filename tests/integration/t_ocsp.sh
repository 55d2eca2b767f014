#!/usr/bin/env bash
# t_ocsp.sh: airlock-ocspd seen by independent OCSP clients (openssl ocsp,
# GnuTLS ocsptool), on an `openssl ca` directory (scripts/ocsp-ca.sh: its
# index stands for certificates imported from before airlock, its CRL for
# the one airlock-client publishes). Checks: good, revoked (time, reason)
# and unknown, the responder's signature verified up to the CA by both
# clients, with and without a nonce, POST and GET; a revocation on a new
# CRL shows within one refresh; unknown issuer -> unauthorized; garbage ->
# malformedRequest; a nonce of 40 bytes -> malformedRequest; oversized ->
# HTTP 413; other methods -> 405; an expired or mismatched responder
# certificate is never used (tryLater); the daemon survives all of it and
# counts it. The cable is not used here (see docs/ocsp.md, "Tests").
set -u
. "$AL_TOP/scripts/ocsp-ca.sh"
BIN=${AL_BIN:-$AL_TOP/build/bin}
D=$(mktemp -d /tmp/airlock-ocsp.XXXXXX)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
. "$AL_TOP/scripts/tap.sh"
command -v ocsptool >/dev/null || { echo "SKIP: ocsptool (gnutls-bin) not installed"; exit 77; }

ocsp_ca "$D/ca" || { echo "not ok - the test CA"; exit 1; }
ocsp_ca "$D/other" || { echo "not ok - the other CA"; exit 1; }
mkdir -p "$D/state/crl" "$D/state/ocsp"
ocsp_ca_crl "$D/ca" "$D/state/crl/t.crl"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/
conf() {	# KEY CERT
	cat > "$D/ocspd.conf" <<CONF
state_dir = "$D/state";
client = { crl_roots = ( { name = "t"; ca_cert = "$D/ca/ca.crt"; } ); };
ocsp = { listen = "127.0.0.1"; port = $PORT; refresh = 1; max_request = 2048;
  renew = false;   # an openssl ca directory, no signer to renew through
  roots = ( { name = "t"; key = "$1"; cert = "$2"; index = "$D/ca/index.txt"; } ); };
CONF
}
start() {
	"$BIN/airlock-ocspd" -d -c "$D/ocspd.conf" 2>>"$D/ocspd.log" &
	PID=$!
	waitfor 10 'python3 -c "import socket; socket.create_connection((\"127.0.0.1\", $PORT), 1)" 2>/dev/null'
}
stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=; }
ossl() {	# CERT [args]: openssl ocsp, the responder verified up to the CA
	local c=$1; shift
	openssl ocsp -issuer "$D/ca/ca.crt" -cert "$c" -url "$URL" -CAfile "$D/ca/ca.crt" "$@" 2>&1
}
gnutls() {	# CERT [args]
	local c=$1; shift
	ocsptool --ask="$URL" --load-issuer "$D/ca/ca.crt" --load-cert "$c" \
		--load-trust "$D/ca/ca.crt" "$@" 2>&1
}
counter() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$D/state/ocsp/ocspd.status"; }

conf "$D/ca/ocsp.key" "$D/ca/ocsp.crt"
start
check "airlock-ocspd listens" '[ -n "$PID" ] && kill -0 "$PID"'
out=$(ossl "$D/ca/good.crt")
check "openssl ocsp: good, the response verified" 'echo "$out" | grep -q "Response verify OK" && echo "$out" | grep -q "good.crt: good"'
out=$(ossl "$D/ca/revoked.crt" -no_nonce)
check "openssl ocsp: revoked, keyCompromise, with its time" 'echo "$out" | grep -q "revoked.crt: revoked" && echo "$out" | grep -q "Reason: keyCompromise" && echo "$out" | grep -q "Revocation Time"'
out=$(openssl ocsp -issuer "$D/ca/ca.crt" -serial 0x7777777 -url "$URL" -CAfile "$D/ca/ca.crt" 2>&1)
check "openssl ocsp: a serial never issued is unknown" 'echo "$out" | grep -q "0x7777777: unknown" && echo "$out" | grep -q "Response verify OK"'
out=$(gnutls "$D/ca/good.crt")
check "ocsptool: good, verified" 'echo "$out" | grep -q "Certificate Status: good" && echo "$out" | grep -q "Verifying OCSP Response: Success"'
out=$(gnutls "$D/ca/revoked.crt" --nonce)
check "ocsptool: revoked, with a nonce, verified" 'echo "$out" | grep -q "Certificate Status: revoked" && echo "$out" | grep -q "Verifying OCSP Response: Success"'
openssl ocsp -issuer "$D/ca/ca.crt" -cert "$D/ca/good.crt" -no_nonce -reqout "$D/req.der" >/dev/null 2>&1
curl -s "$URL$(base64 -w0 "$D/req.der")" -o "$D/get.der" -D "$D/get.hdr"
check "GET (RFC 5019): good, with Cache-Control max-age" \
	'openssl ocsp -respin "$D/get.der" -resp_text -noverify 2>/dev/null | grep -q "Cert Status: good" && grep -qi "cache-control: max-age=" "$D/get.hdr"'

# a revocation on a new CRL
openssl ca -config "$D/ca/ca.cnf" -revoke "$D/ca/good.crt" -crl_reason superseded >/dev/null 2>&1
ocsp_ca_crl "$D/ca" "$D/state/crl/t.crl.new" && mv "$D/state/crl/t.crl.new" "$D/state/crl/t.crl"
check "a revocation on a new CRL shows within a refresh" \
	'waitfor 10 "ossl \"$D/ca/good.crt\" -no_nonce | grep -q \"Reason: superseded\""'

# bad input: answered, logged, counted
out=$(openssl ocsp -issuer "$D/other/ca.crt" -cert "$D/other/good.crt" -url "$URL" 2>&1)
check "an issuer it does not answer for: unauthorized" 'echo "$out" | grep -q "unauthorized"'
curl -s --data-binary 'not an OCSP request' -H 'Content-Type: application/ocsp-request' "$URL" -o "$D/m.der"
check "garbage: malformedRequest" '[ "$(xxd -p "$D/m.der")" = "30030a0101" ]'
python3 - "$D/req.der" "$D/nonce40.der" <<'PY'
import sys
# the request of req.der with a 40-byte nonce extension (RFC 8954: at most 32)
req = open(sys.argv[1], "rb").read()
def tlv(t, b):
    n = len(b)
    l = bytes([n]) if n < 128 else (bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 255]))
    return bytes([t]) + l + b
def body(b):	# contents of a TLV with a short or long length
    i = 2 if b[1] < 128 else 2 + (b[1] & 127)
    return b[i:]
tbs = body(req)	# OCSPRequest -> TBSRequest
inner = body(tbs)	# TBSRequest contents: requestList
nonce = tlv(0x30, tlv(0x06, bytes.fromhex("2b0601050507300102")) + tlv(0x04, tlv(0x04, b"\x55" * 40)))
ext = tlv(0xa2, tlv(0x30, nonce))
open(sys.argv[2], "wb").write(tlv(0x30, tlv(0x30, inner + ext)))
PY
curl -s --data-binary @"$D/nonce40.der" -H 'Content-Type: application/ocsp-request' "$URL" -o "$D/n.der"
check "a nonce of 40 bytes: malformedRequest (RFC 8954)" '[ "$(xxd -p "$D/n.der")" = "30030a0101" ]'
code=$(head -c 5000 /dev/zero | curl -s --data-binary @- -H 'Content-Type: application/ocsp-request' "$URL" -o /dev/null -w '%{http_code}')
check "a request over max_request: HTTP 413" '[ "$code" = 413 ]'
code=$(curl -s "$URL$(head -c 3000 /dev/zero | tr '\0' A)" -o /dev/null -w '%{http_code}')
check "a GET path over max_request: HTTP 413 (from the responder, not 414)" '[ "$code" = 413 ]'
code=$(curl -s "$URL$(head -c 20000 /dev/zero | tr '\0' A)" -o /dev/null -w '%{http_code}')
check "a GET path far over it: refused (414) before it is read" '[ "$code" = 414 ]'
code=$(curl -s -X PUT "$URL" -o /dev/null -w '%{http_code}')
check "PUT: HTTP 405" '[ "$code" = 405 ]'
check "still running after all that" 'kill -0 "$PID"'
check "bad input counted" 'waitfor 5 "[ \"\$(counter malformed)\" -ge 2 ] && [ \"\$(counter unauthorized)\" -ge 1 ] && [ \"\$(counter oversized)\" -ge 1 ] && [ \"\$(counter bad_http)\" -ge 1 ]"'
check "bad input logged" 'grep -q "malformedRequest: not a DER OCSPRequest" "$D/ocspd.log" && grep -q "nonce of 40 bytes" "$D/ocspd.log"'
check "answers came from pre-signed responses" '[ "$(counter presigned)" -ge 3 ] && [ "$(counter cache_hits)" -ge 1 ]'

# many relying parties at once, on the HTTP threads (one per CPU, at least
# two here) while the main thread signs the new serials ahead of time:
# 300 more index entries (every tenth revoked, on a new CRL) and unknown
# serials, 3,000 requests over 16 connections, every answer checked by
# tools/ocspbench.c (status, reason; signature and delegation verified)
conf "$D/ca/ocsp.key" "$D/ca/ocsp.crt"
sed -i 's/refresh = 1;/refresh = 1; threads = 2;/' "$D/ocspd.conf"
stop
start
ocsp_ca_fill "$D/ca" 300
sed -i 's/^1001 good$/1001 revoked superseded/' "$D/ca/expected"	# good.crt, revoked above
ocsp_ca_crl "$D/ca" "$D/state/crl/t.crl.new" && mv "$D/state/crl/t.crl.new" "$D/state/crl/t.crl"
check "the new index and CRL taken in" 'waitfor 15 "grep -q \"root t: 30[0-9] serials from\" \"\$D/ocspd.log\" && grep -q \"root t: CRL 3,\" \"\$D/ocspd.log\""'
check "two HTTP threads" 'grep -q "for 1 root(s), 2 thread(s)" "$D/ocspd.log"'
res=$("$BIN/ocspbench" "$PORT" "$D/ca/ca.crt" "$D/ca/expected" 3000 16 2>&1)
check "3,000 requests over 16 connections: every answer right ($res)" 'echo "$res" | grep -q "responses=3000 ok=3000 .*revoked_ok=1 unknown_ok=1 good_ok=1"'
check "still running after that" 'kill -0 "$PID"'
stop

# a responder certificate that does not match its key, one expired: never used
conf "$D/other/ocsp.key" "$D/ca/ocsp.crt"
start
out=$(ossl "$D/ca/good.crt")
check "a mismatched responder key: tryLater, no signature" 'echo "$out" | grep -qi "trylater"'
check "... and the log says why" 'grep -q "does not match its key" "$D/ocspd.log"'
stop
openssl req -new -key "$D/ca/ocsp.key" -subj "/CN=old responder" -out "$D/old.csr" 2>/dev/null
openssl ca -batch -config "$D/ca/ca.cnf" -extensions ocsp -startdate 20200101000000Z \
	-enddate 20200201000000Z -notext -in "$D/old.csr" -out "$D/old.crt" >/dev/null 2>&1
conf "$D/ca/ocsp.key" "$D/old.crt"
start
out=$(ossl "$D/ca/good.crt")
check "an expired responder certificate: tryLater" 'echo "$out" | grep -qi "trylater"'
check "... and the log says expired" 'grep -q "expired" "$D/ocspd.log"'
stop

[ "$fails" = 0 ] || { [ "${KEEP:-}" ] || tail -20 "$D/ocspd.log"; exit 1; }
