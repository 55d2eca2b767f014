#!/usr/bin/env bash
# t_import.sh: migrating a real `openssl ca` directory into ca.db and back.
# The test makes the old CA the way the old system ran it (openssl req -x509,
# openssl ca -batch per request, revocations with reasons, an expired
# certificate, -updatedb, -gencrl), then:
#   - imports it in two runs (--limit, as if the first had been stopped)
#     and checks that a third run does nothing;
#   - exports it again with airlockctl export-index and compares the result
#     with the original index.txt, line for line;
#   - lets openssl ca make a CRL from the exported index and compares its
#     revoked entries with a CRL made from the original;
#   - checks airlockctl roots' counts, the audit records of the runs, that
#     a missing certificate file stops the import with the serial and the
#     path (and the lines before it stay), and that a directory of another
#     CA is refused.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-import.XXXXXX)
trap '[ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
N=${IMPORT_N:-60}
O=$D/oldca

# --- the old CA ---
mkdir -p "$O/newcerts" "$O/private" "$D/req"
: > "$O/index.txt"
echo 1000 > "$O/serial"
echo 01 > "$O/crlnumber"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$O/private/cakey.pem" \
	-out "$O/cacert.pem" -days 3650 -subj "/C=AU/O=Old CA Inc./CN=Old Class 1 CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
	2>/dev/null || { echo "cannot make the old CA"; exit 1; }
cat > "$O/openssl.cnf" <<CNF
[ ca ]
default_ca = old
[ old ]
dir = $O
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
certificate = \$dir/cacert.pem
private_key = \$dir/private/cakey.pem
serial = \$dir/serial
crlnumber = \$dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 7
policy = anything
unique_subject = no
x509_extensions = usr
[ anything ]
commonName = supplied
emailAddress = optional
organizationName = optional
[ usr ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
oca() { openssl ca -batch -config "$O/openssl.cnf" "$@" >>"$D/openssl.log" 2>&1; }
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/req/k.pem" 2>/dev/null
for ((i = 1; i <= N; i++)); do
	openssl req -new -key "$D/req/k.pem" -subj "/CN=user$i.example.test/O=Old Users" \
		-out "$D/req/$i.csr" 2>/dev/null
	if [ $i = 7 ] || [ $i = 8 ]; then	# already expired
		oca -in "$D/req/$i.csr" -startdate 20200101000000Z -enddate 20210101000000Z || bad "openssl ca $i"
	else
		oca -in "$D/req/$i.csr" || bad "openssl ca $i"
	fi
done
oca -revoke "$O/newcerts/1003.pem" -crl_reason keyCompromise
oca -revoke "$O/newcerts/1009.pem" -crl_reason superseded
oca -revoke "$O/newcerts/100A.pem"
oca -revoke "$O/newcerts/100C.pem" -crl_compromise 20240101120000Z
oca -revoke "$O/newcerts/100D.pem" -crl_reason cessationOfOperation
oca -updatedb
oca -gencrl -out "$D/orig.crl"
check "the old CA has $N lines" '[ "$(wc -l < "$O/index.txt")" = $N ]'
check "with revoked and expired entries" 'grep -q "^R" "$O/index.txt" && grep -q "^E" "$O/index.txt"'

# --- airlock's view of it: a CA directory holding the same certificate ---
mkdir -m 0700 "$D/ca-old" "$D/state"
cp "$O/cacert.pem" "$D/ca-old/ca.crt"
cp "$O/private/cakey.pem" "$D/ca-old/ca.key"
: > "$D/ca-old/chain.pem"
"$AL_BIN/airlockctl" root init --dir "$D/ca-other" --subject "/CN=Some Other CA" --key ec:P-256 >/dev/null
cat > "$D/airlock.conf" <<CONF
state_dir = "$D/state";
profiles = ( { name = "server"; san = ["dns"]; } );
roots = ( { name = "old"; dir = "$D/ca-old"; profiles = ["server"]; },
          { name = "other"; dir = "$D/ca-other"; profiles = ["server"]; } );
CONF
ctl() { "$AL_BIN/airlockctl" -c "$D/airlock.conf" "$@"; }
db() { sqlite3 "$D/state/ca.db" "$1"; }

check "the first run stops after 25 lines" \
	'ctl import-openssl-ca old "$O" --limit 25 > "$D/run1.out" && grep -q "stopped after line 25 of $N" "$D/run1.out"'
check "25 certificates in ca.db" '[ "$(db "select count(*) from certs where root = '"'old'"'")" = 25 ]'
check "the second run finishes" \
	'ctl import-openssl-ca old "$O" > "$D/run2.out" && grep -q "imported $((N - 25)) certificates.*resumed" "$D/run2.out"'
check "all $N in ca.db, no duplicate" \
	'[ "$(db "select count(*), count(distinct serial) from certs where root = '"'old'"'")" = "$N|$N" ]'
check "a third run does nothing" \
	'ctl import-openssl-ca old "$O" | grep -q "imported into old already" && [ "$(db "select count(*) from certs")" = $N ]'
check "each run that did something is in the audit chain" \
	'[ "$(db "select count(*) from audit where kind = '"'operator'"' and root = '"'old'"' and text like '"'import-openssl-ca %'"'")" = 2 ] && db "select text from audit" | grep -q "lines 26 to $N of $N, $((N - 25)) certificates added; finished"'
check "serial and crlnumber are kept for what follows" \
	'[ "$(db "select next_serial, crlnumber from imports")" = "$(cat "$O/serial")|$(cat "$O/crlnumber")" ]'
check "revocation reasons are kept" \
	'[ "$(db "select reason from certs where hex(serial) = '"'1003'"'")" = 1 ] && [ "$(db "select reason from certs where hex(serial) = '"'100A'"'")" = "" ] && [ "$(db "select count(*) from certs where revoked is not null")" = 5 ]'

ctl export-index old -o "$D/exported.txt"
# the one thing that does not survive: none here (no holdInstruction entries)
check "export-index gives back the original index.txt" 'diff -u "$O/index.txt" "$D/exported.txt"'
cp -r "$O" "$D/oldca2"
cp "$D/exported.txt" "$D/oldca2/index.txt"
sed -i "s#^dir = .*#dir = $D/oldca2#" "$D/oldca2/openssl.cnf"
openssl ca -config "$D/oldca2/openssl.cnf" -gencrl -out "$D/exp.crl" >>"$D/openssl.log" 2>&1
check "openssl ca makes the same revocation list from the export" \
	'diff <(openssl crl -in "$D/orig.crl" -noout -text | sed -n "/Revoked/,/Signature Algorithm/p" | grep -v "Signature Algorithm") <(openssl crl -in "$D/exp.crl" -noout -text | sed -n "/Revoked/,/Signature Algorithm/p" | grep -v "Signature Algorithm")'
check "airlockctl roots counts them" \
	'ctl roots | grep "^old " | awk "{ exit !(\$6 == $N && \$7 == 5 && \$8 == 2) }"'

# a certificate file missing in the middle: stop, say which, keep the lines before
cp -r "$O" "$D/broken"
sed -i "s#$D/state#$D/state-b#" "$D/airlock.conf"; mkdir -p "$D/state-b"
rm "$D/broken/newcerts/1014.pem"
ctl import-openssl-ca old "$D/broken" --limit 10 > /dev/null
ctl import-openssl-ca old "$D/broken" > "$D/broken.out" 2>&1
check "a missing certificate stops the import with serial and path" \
	'grep -q "line 21.*1014.*newcerts/1014.pem" "$D/broken.out"'
check "what was committed before stays, nothing after" \
	'[ "$(sqlite3 "$D/state-b/ca.db" "select lines_done, (select count(*) from certs) from imports")" = "10|10" ]'
cp "$O/newcerts/1014.pem" "$D/broken/newcerts/"
check "after the fix the same command finishes" \
	'ctl import-openssl-ca old "$D/broken" > /dev/null && [ "$(sqlite3 "$D/state-b/ca.db" "select count(*) from certs")" = $N ]'
check "another CA's directory is refused" \
	'! ctl import-openssl-ca other "$O" > "$D/other.out" 2>&1 && grep -q "not issued by this root" "$D/other.out" && [ "$(sqlite3 "$D/state-b/ca.db" "select count(*) from certs where root = '"'other'"'")" = 0 ]'
[ $fails = 0 ] || { echo "files in $D"; KEEP=1; }
exit $fails
