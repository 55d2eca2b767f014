#!/usr/bin/env bash
# t_ocsp_import.sh: certificates from before airlock reach airlock-ocspd.
# An `openssl ca` directory run with the EC subroot's key, as the old system
# would have run it (some certificates revoked), is imported on the signer
# host with airlockctl import-openssl-ca while the daemons run. Those
# certificates never come back in an answer: airlock-client asks for the
# serials of demo-ec (SERIALS_FETCH, docs/protocol.md 9.9) and appends them
# to crl_dir/demo-ec.serials. Then openssl ocsp against airlock-ocspd says
# good for an imported certificate, revoked for an imported one that was
# revoked (from the CRL), unknown for a serial never issued; each serial is
# in the file once; the cursor survives a restart of the client (nothing
# appended again); a lost file is written again and filled again; a root
# the signer does not have is refused once and not asked again.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-ocspi.XXXXXX)
OPID=
trap '[ -n "$OPID" ] && kill "$OPID" 2>/dev/null; al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
N=${OCSP_IMPORT_N:-12}

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/
export AL_OCSP=1 AL_AUDIT_INTERVAL=2
# demo-none is on webdb's list but not on the signer host: error 200, once
export AL_CLIENT_EXTRA="crl_refresh = 3600; crl_roots = (
    { name = \"demo-ec\"; ca_cert = \"$D/ca/sub-ec/ca.crt\"; },
    { name = \"demo-none\"; ca_cert = \"$D/ca/sub-rsa/ca.crt\"; } );"
al_setup "$D"
cat >> "$D/webdb/airlock-client.conf" <<CONF
ocsp = { listen = "127.0.0.1"; port = $PORT; refresh = 1;
  roots = ( { name = "demo-ec"; key = "$D/webdb/ocsp.key"; cert = "$D/webdb/ocsp.crt"; } ); };
CONF
SUB=$D/ca/sub-ec/ca.crt OUT=$D/webdb/state/spool/out CRL=$D/webdb/state/crl
FILE=$CRL/demo-ec.serials
cat "$SUB" "$D/ca/root/ca.crt" > "$D/chain.pem"

# --- the old CA: openssl ca with the subroot's own certificate and key ---
O=$D/oldca
mkdir -p "$O/newcerts" "$D/req"
: > "$O/index.txt"
echo 4A00 > "$O/serial"
cat > "$O/openssl.cnf" <<CNF
[ ca ]
default_ca = old
[ old ]
dir = $O
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = $SUB
private_key = $D/ca/sub-ec/ca.key
serial = \$dir/serial
default_md = sha256
default_days = 365
policy = anything
unique_subject = no
x509_extensions = usr
[ anything ]
commonName = supplied
organizationName = optional
[ usr ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
authorityKeyIdentifier = keyid
CNF
oca() { openssl ca -batch -config "$O/openssl.cnf" "$@" >>"$D/openssl.log" 2>&1; }
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/req/k.pem" 2>/dev/null
for ((i = 1; i <= N; i++)); do
	openssl req -new -key "$D/req/k.pem" -subj "/CN=old$i.example.test/O=Old Users" \
		-out "$D/req/$i.csr" 2>/dev/null
	oca -in "$D/req/$i.csr" -out "$D/req/$i.pem" || bad "openssl ca $i"
done
oca -revoke "$D/req/3.pem" -crl_reason keyCompromise
check "the old CA issued $N certificates with the subroot's key" \
	'[ "$(wc -l < "$O/index.txt")" = $N ] && al_verify "$D" sub-ec "$D/req/1.pem"'
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//' | tr a-f A-F; }
old_serials=$(for ((i = 1; i <= N; i++)); do serial_of "$D/req/$i.pem"; done | sort)
have() { tr a-f A-F 2>/dev/null < "$FILE" | sort; }

al_cable "$D" --baud 115200
al_start "$D"
# the responder's certificate, through the normal request path
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/webdb/ocsp.key" 2>/dev/null
chmod 600 "$D/webdb/ocsp.key"
openssl req -new -key "$D/webdb/ocsp.key" -subj "/CN=airlock demo OCSP responder/O=airlock demo" \
	-out "$D/csr/ocsp.csr" 2>/dev/null
id=$(al_client "$D" submit --root demo-ec --profile ocsp --name ocsp "$D/csr/ocsp.csr")
al_client "$D" wait --timeout 60 "$id" >/dev/null
check "the responder certificate came back" '[ -s "$OUT/ocsp.crt" ]'
cp "$OUT/ocsp.crt" "$D/webdb/ocsp.crt"
ocsp_serial=$(serial_of "$OUT/ocsp.crt")
check "the signer's ca.db has the index certs_by_root (schema step \"order\")" \
	'[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*) from sqlite_master where name = '"'certs_by_root'"'")" = 1 ] && grep -q "schema step \"order\" made" "$D/log/signerd.log"'
check "... which the serials query uses" \
	'sqlite3 "$D/signer/state/ca.db" "explain query plan select rowid, serial from certs where root = '"'demo-ec'"' and rowid > 0 order by rowid" | grep -q "USING INDEX certs_by_root (root=? AND rowid>?)"'
check "the signer host has no root demo-none: refused once, not asked again" \
	'waitfor 20 "grep -q \"no root demo-none (error 200\" \"$D/log/client.log\"" && sleep 5 && [ "$(grep -c "no root demo-none" "$D/log/client.log")" = 1 ]'

# --- the import, while everything runs ---
"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" import-openssl-ca demo-ec "$O" > "$D/import.out" 2>&1
check "airlockctl import-openssl-ca imports them" 'grep -q "imported $N certificates" "$D/import.out"'
check "webdb's demo-ec.serials lists every imported certificate" \
	'waitfor 60 "[ \"\$(have | grep -v -x \"$ocsp_serial\")\" = \"\$old_serials\" ]"'
check "... and the one that came back over the cable, each serial once" \
	'have | grep -qx "$ocsp_serial" && [ -z "$(have | uniq -d)" ]'
check "... 0644 in a 0750 crl_dir" \
	'[ "$(stat -c %a "$FILE")" = 644 ] && [ "$(stat -c %a "$CRL")" = 750 ]'
check "linkd counts the SERIALS answers it passed on" \
	'al_client "$D" status --signer | grep -q "^serials_answers=[1-9]"'
id=$(al_client "$D" crl --root demo-ec) && al_client "$D" wait --timeout 120 "$id" >/dev/null
check "webdb holds a CRL listing the imported revocation" \
	'openssl crl -inform DER -in "$CRL/demo-ec.crl" -noout -text | grep -qi "$(serial_of "$D/req/3.pem")"'

"$AL_BIN/airlock-ocspd" -d -c "$D/webdb/airlock-client.conf" 2>>"$D/log/ocspd.log" &
OPID=$!
ossl() { openssl ocsp -issuer "$SUB" "$@" -url "$URL" -CAfile "$D/chain.pem" 2>&1; }
check "openssl ocsp: good for an imported certificate, verified" \
	'waitfor 20 "ossl -cert \"$D/req/5.pem\" | grep -q \": good\"" && ossl -cert "$D/req/5.pem" | grep -q "Response verify OK"'
check "openssl ocsp: good for the last one imported" 'ossl -cert "$D/req/$N.pem" | grep -q ": good"'
check "openssl ocsp: revoked for the imported one that was revoked" \
	'ossl -cert "$D/req/3.pem" | grep -q ": revoked" && ossl -cert "$D/req/3.pem" | grep -q "Reason: keyCompromise"'
check "openssl ocsp: unknown for a serial never issued" \
	'ossl -serial 0x4A0011223344556677 | grep -q ": unknown"'

# --- the cursor is kept: a restarted client appends nothing again ---
lines=$(wc -l < "$FILE")
al_stop_one "$D" client
check "the client's cursor for demo-ec is in outbox.db" \
	'[ "$(sqlite3 "$D/webdb/state/outbox.db" "select value > 0 from cursors where name = '"'serials:demo-ec'"'")" = 1 ]'
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client2.log" &
echo $! > "$D/client.pid"
sleep 8	# several fetches at audit_interval 2
check "a restarted client asks from where it was: nothing appended" \
	'grep -q "link up" "$D/log/client2.log" && [ "$(wc -l < "$FILE")" = "$lines" ]'

# --- a lost file: written again from the outbox, then filled again ---
al_stop_one "$D" client
rm -f "$FILE"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client3.log" &
echo $! > "$D/client.pid"
check "a lost demo-ec.serials is filled again with the imported serials" \
	'waitfor 60 "[ \"\$(have | sort -u | grep -v -x \"$ocsp_serial\")\" = \"\$old_serials\" ]"'
check "... and says why" 'grep -q "demo-ec: crl_dir has no ROOT.serials; its serials are asked for again from the start" "$D/log/client3.log"'
check "airlock-ocspd still running" 'kill -0 "$OPID"'
al_stop_one "$D" client
check "the client's counters at its stop" \
	'grep -q "serials: [0-9]* fetches, [0-9]* answers, [1-9][0-9]* serials appended" "$D/log/client3.log"'

[ "$fails" = 0 ] || { [ "${KEEP:-}" ] || tail -20 "$D/log/client.log"; exit 1; }
