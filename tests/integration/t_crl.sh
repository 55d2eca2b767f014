#!/usr/bin/env bash
# t_crl.sh: revocation and CRLs end to end, client -> linkd -> signer over a
# noisy simulated cable. Real certificates are issued through the link;
# CRL_N (default 300) more certificates are rows put straight into ca.db and
# revoked through the link from spool files. Checks: the REVOKE refusals
# and their codes; webdb's CRL, rebuilt from a delta, byte-identical to the
# signer's; the delta carried over the cable instead of the full CRL; old
# full CRL + new delta seen through `openssl verify -crl_check -use_deltas`
# (with -extended_crl: without it OpenSSL 3.0 may take the newer delta for
# the full CRL and miss what only the full CRL lists), python3-cryptography
# and GnuTLS certtool; a lost, a damaged CRL and a
# CRL number from the future recovered by themselves; an operator
# revocation (airlockctl) reaching webdb; a root with a short CRL period
# re-issued although nothing was revoked. CRL_N=10000 makes it the long
# test (make test-crl-long), which also prints its figures.
set -u
. "$AL_TOP/scripts/harness.sh"

N=${CRL_N:-300}
D=$(mktemp -d /tmp/airlock-crl.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

export AL_PROFILE_EXTRA='freshest_crl_url = "http://crl.example.test/demo-rsa-delta.crl";'
export AL_ROOT_RSA_EXTRA='crl_days = 7; freshest_crl_url = "http://crl.example.test/demo-rsa-delta.crl";'
export AL_ROOT_EC_EXTRA='crl_seconds = 40;'
export AL_CLIENT_EXTRA="crl_refresh = 3600; crl_roots = (
    { name = \"demo-rsa\"; ca_cert = \"$D/ca/sub-rsa/ca.crt\"; },
    { name = \"demo-ec\"; ca_cert = \"$D/ca/sub-ec/ca.crt\"; } );"
al_setup "$D"
al_cable "$D" --baud 115200 --burst-every 5 --burst-len 16 --seed 11
al_start "$D"
T0=$SECONDS
CRL=$D/webdb/state/crl SDB=$D/signer/state/ca.db
OUT=$D/webdb/state/spool/out ERR=$D/webdb/state/spool/err
ROOTCA=$D/ca/root/ca.crt RSACA=$D/ca/sub-rsa/ca.crt

field() {	# ROOT KEY: a value from `airlock-client crl --list`
	al_client "$D" crl --list 2>/dev/null | awk -v r="$1" -v k="$2=" \
		'$1 == r { for (i = 2; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1) }'
}
signer_crl() {	# ROOT FILE: the signer's newest full CRL
	rm -f "$2"
	sqlite3 "$SDB" ".timeout 5000" "select writefile('$2', der) from crls where root = '$1' order by number desc limit 1" >/dev/null
}
identical() {	# ROOT
	signer_crl "$1" "$D/signer-$1.crl" && cmp -s "$D/signer-$1.crl" "$CRL/$1.crl"
}
fetch() {	# ROOT [args]: a CRL_FETCH now; waits for its answer
	local id
	id=$(al_client "$D" crl --root "$@") && al_client "$D" wait --timeout 120 "$id" >/dev/null
	echo "$id"
}
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/serial=//'; }
code_of() { al_client "$D" result "$1" 2>&1 | sed -n 's/^error \([0-9]*\):.*/\1/p'; }

# certificates through the link
for spec in "a rsa:2048 demo-rsa" "b ec:P-256 demo-rsa" "c ec:P-256 demo-rsa" "e ec:P-256 demo-ec"; do
	set -- $spec
	al_csr "$D" "$1" "$2" "$1.crl.test.example"
	id=$(al_client "$D" submit --root "$3" --profile server --name "$1" "$D/csr/$1.csr")
	al_client "$D" wait --timeout 60 "$id" >/dev/null
done
check "certificates issued" '[ -s "$OUT/a.crt" ] && [ -s "$OUT/b.crt" ] && [ -s "$OUT/c.crt" ] && [ -s "$OUT/e.crt" ]'
check "the profile puts a Freshest CRL pointer in certificates" \
	'openssl x509 -in "$OUT/a.crt" -noout -text | grep -q "Freshest CRL"'
check "webdb fetched both roots' CRLs at start" \
	'waitfor 60 "[ -s \"$CRL/demo-rsa.crl\" ] && [ -s \"$CRL/demo-ec.crl\" ]"'
check "the first CRL is identical to the signer's" 'identical demo-rsa'
B=$(field demo-rsa number)

# revoke b through the link, with a reason and an invalidity date
SB=$(serial_of "$OUT/b.crt") SC=$(serial_of "$OUT/c.crt") SE=$(serial_of "$OUT/e.crt")
id=$(al_client "$D" revoke --root demo-rsa --serial "$SB" --reason 1 \
	--invalidity $(( $(date +%s) - 86400 )) --name b-rev)
check "revoke answered REVOKED" 'al_client "$D" wait --timeout 60 $id && grep -q "^revoked demo-rsa" "$OUT/b-rev.revoked"'
check "the same revoke again: same answer" \
	'id2=$(al_client "$D" revoke --root demo-rsa --serial "$SB" --reason 1 --id $id 2>/dev/null); [ "$id2" = "$id" ]'
declare -A badid
badid[300]=$(al_client "$D" revoke --root demo-rsa --serial 4a00112233445566778899aabbccddee)
badid[other]=$(al_client "$D" revoke --root demo-rsa --serial "$SE")
badid[301]=$(al_client "$D" revoke --root demo-rsa --serial "$SB" --reason 4)
badid[302]=$(al_client "$D" revoke --root demo-rsa --serial "$SC" --reason 8)
badid[304]=$(al_client "$D" revoke --root demo-rsa --serial "$SC" --invalidity $(( $(date +%s) + 864000 )))
badid[200]=$(al_client "$D" revoke --root no-such-root --serial "$SC")
al_client "$D" wait --timeout 60 ${badid[@]} >/dev/null
for c in 300 301 302 304 200; do
	check "bad revoke: error $c" '[ "$(code_of ${badid[$c]})" = $c ]'
done
check "another root's serial: 300, naming the root" \
	'al_client "$D" result ${badid[other]} 2>&1 | grep -q "error 300: .*issued by root demo-ec"'

# CRL_N more certificates straight into ca.db, revoked from spool files
python3 - "$D" "$N" <<'PY' || exit 1
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
now = int(time.time())
sql = ["BEGIN;"]
os.makedirs(f"{d}/syn", exist_ok=True)
for i in range(n):
    s = bytearray(os.urandom(16)); s[0] = (s[0] & 0x3f) | 0x40
    sql.append(f"INSERT INTO certs (root, serial, not_before, not_after, subject, der) "
               f"VALUES ('demo-rsa', X'{s.hex()}', {now - 86400}, {now + 90 * 86400}, 'CN=syn{i}', X'3000');")
    reason = [0, 1, 3, 4, 5, 9][i % 6]
    body = f"type=revoke\nroot=demo-rsa\nserial={s.hex()}\nreason={reason}\n"
    if i % 10 == 0:
        body += f"invalidity={now - 3600}\n"
    open(f"{d}/syn/r{i}.req", "w").write(body)
sql.append("COMMIT;")
open(f"{d}/syn.sql", "w").write("\n".join(sql))
PY
sqlite3 "$SDB" ".timeout 10000" ".read $D/syn.sql" || bad "synthetic certificates"
t_rev=$SECONDS
for f in "$D"/syn/*.req; do mv "$f" "$D/webdb/state/spool/in/"; done
if [ "$N" -gt 1000 ]; then	# the long run: a CRL refresh every 20 s while revocations flow
	( while [ ! -f "$D/stop" ]; do fetch demo-rsa >/dev/null; sleep 20; done ) &
	refresher=$!
fi
check "$N revocations through the link answered" \
	'waitfor $((N / 5 + 60)) "[ \$(ls \"$OUT\" | grep -c \"^r.*\\.revoked$\") -ge $N ]"'
t_rev=$((SECONDS - t_rev))
[ "$N" -gt 1000 ] && { touch "$D/stop"; wait $refresher; }
check "no revocation refused" '[ -z "$(ls "$ERR" | grep "^r[0-9]*\.err$")" ]'

# the refresh: a delta crosses the cable, webdb rebuilds the full CRL
sleep 1; B2=$(field demo-rsa number) t_fetch=$SECONDS
check "CRL refresh answered" 'fetch demo-rsa >/dev/null'
t_fetch=$((SECONDS - t_fetch))
N1=$(field demo-rsa number)
check "a new CRL number" '[ "$N1" -gt "$B" ]'
check "webdb's CRL lists $((N + 1)) entries" '[ "$(field demo-rsa entries)" = $((N + 1)) ]'
check "rebuilt from a delta, not a full transfer" \
	'grep -q "root demo-rsa: CRL $N1 published (rebuilt from a delta;" "$D/log/client.log"'
check "webdb's rebuilt CRL is byte-identical to the signer's" 'identical demo-rsa'
check "the delta's base is the CRL webdb held before" '[ "$(field demo-rsa base)" = "$B2" ]'
V="openssl verify -CAfile $ROOTCA -untrusted $RSACA -crl_check"
check "openssl: new full CRL: b revoked, a good" \
	'! $V -CRLfile "$CRL/demo-rsa.crl.pem" "$OUT/b.crt" >/dev/null 2>&1 && $V -CRLfile "$CRL/demo-rsa.crl.pem" "$OUT/a.crt" >/dev/null 2>&1'
check "python3-cryptography: signatures, numbers, extensions, entries" 'python3 - "$CRL" "$RSACA" "$SB" "$B2" "$N1" $((N + 1)) <<'"'"'PY'"'"'
import sys, warnings
warnings.simplefilter("ignore")
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, CRLEntryExtensionOID
d, ca, sb, base, num, count = sys.argv[1], sys.argv[2], int(sys.argv[3], 16), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
pub = x509.load_pem_x509_certificate(open(ca, "rb").read()).public_key()
full = x509.load_der_x509_crl(open(f"{d}/demo-rsa.crl", "rb").read())
delta = x509.load_der_x509_crl(open(f"{d}/demo-rsa-delta.crl", "rb").read())
assert full.is_signature_valid(pub) and delta.is_signature_valid(pub)
assert full.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER).value.crl_number == num
assert delta.extensions.get_extension_for_oid(ExtensionOID.CRL_NUMBER).value.crl_number == num
di = delta.extensions.get_extension_for_oid(ExtensionOID.DELTA_CRL_INDICATOR)
assert di.critical and di.value.crl_number == base
full.extensions.get_extension_for_oid(ExtensionOID.FRESHEST_CRL)
full.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
assert len(full) == count and 0 < len(delta) <= count
serials = [r.serial_number for r in full]
assert serials == sorted(serials)
r = full.get_revoked_certificate_by_serial_number(sb)
assert r.extensions.get_extension_for_oid(CRLEntryExtensionOID.CRL_REASON).value.reason == x509.ReasonFlags.key_compromise
r.extensions.get_extension_for_oid(CRLEntryExtensionOID.INVALIDITY_DATE)
assert full.last_update == delta.last_update and full.next_update == delta.next_update
PY'
check "certtool verifies the full and the delta CRL" \
	'certtool --verify-crl --load-ca-certificate "$RSACA" --infile "$CRL/demo-rsa.crl.pem" 2>&1 | grep -q "Verified" &&
	 certtool --verify-crl --load-ca-certificate "$RSACA" --infile "$CRL/demo-rsa-delta.crl.pem" 2>&1 | grep -q "Verified"'

# an operator revocation at the signer's console reaches webdb; relying
# parties see it in the delta on top of the full CRL they already have
cp "$CRL/demo-rsa.crl.pem" "$D/full-old.pem"
check "airlockctl revoke" '"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" revoke demo-rsa "$SC" --reason 4 | grep -q "^revoked"'
check "airlockctl crl shows the pending revocation" \
	'"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" crl demo-rsa | awk '"'"'$1 == "demo-rsa" { exit !($4 == 1) }'"'"''
fetch demo-rsa >/dev/null
check "operator revocation on webdb's CRL, still identical" \
	'[ "$(field demo-rsa entries)" = $((N + 2)) ] && identical demo-rsa'
check "openssl: c revoked" '! $V -CRLfile "$CRL/demo-rsa.crl.pem" "$OUT/c.crt" >/dev/null 2>&1'
check "openssl: c is good on the old full CRL alone" '$V -CRLfile "$D/full-old.pem" "$OUT/c.crt" >/dev/null 2>&1'
check "openssl -extended_crl -use_deltas: old full + delta: c revoked" \
	'! $V -extended_crl -use_deltas -CRLfile "$D/full-old.pem" -CRLfile "$CRL/demo-rsa-delta.crl.pem" "$OUT/c.crt" >"$D/v.out" 2>&1 && grep -q "certificate revoked" "$D/v.out"'
check "openssl -extended_crl -use_deltas: old full + delta: a good, b revoked" \
	'$V -extended_crl -use_deltas -CRLfile "$D/full-old.pem" -CRLfile "$CRL/demo-rsa-delta.crl.pem" "$OUT/a.crt" >/dev/null 2>&1 &&
	 ! $V -extended_crl -use_deltas -CRLfile "$D/full-old.pem" -CRLfile "$CRL/demo-rsa-delta.crl.pem" "$OUT/b.crt" >/dev/null 2>&1'
check "python3-cryptography: the one-entry delta" 'python3 - "$CRL/demo-rsa-delta.crl" "$RSACA" "$SC" <<'"'"'PY'"'"'
import sys
from cryptography import x509
pub = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read()).public_key()
d = x509.load_der_x509_crl(open(sys.argv[1], "rb").read())
assert d.is_signature_valid(pub) and len(d) == 1
assert d.get_revoked_certificate_by_serial_number(int(sys.argv[3], 16)) is not None
PY'

# webdb loses its CRL, then gets a damaged one: the next fetch recovers
rm -f "$CRL/demo-rsa.crl" "$CRL/demo-rsa.crl.pem"
fetch demo-rsa >/dev/null
check "lost CRL: recovered by a full transfer, identical" \
	'grep -q "root demo-rsa: CRL [0-9]* published (full transfer;" "$D/log/client.log" && identical demo-rsa'
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[len(b)//2]^=4; open(sys.argv[1],"wb").write(b)' "$CRL/demo-rsa.crl"
fetch demo-rsa >/dev/null
check "damaged CRL: recovered, identical" 'identical demo-rsa'
id=$(fetch demo-rsa --have 999999)
check "a CRL number from the future: error 303" '[ "$(code_of $id)" = 303 ]'
check "... and webdb resynchronises by itself" \
	'waitfor 60 "grep -q \"asking for the full CRL\" \"$D/log/client.log\"" && identical demo-rsa'
id=$(fetch no-such-root 2>/dev/null)
check "CRL_FETCH for an unknown root: error 200" '[ "$(code_of $id)" = 200 ]'

# nothing was revoked on demo-ec; its 40 s CRLs are re-issued all the same
check "demo-ec re-issued before nextUpdate without revocations" \
	'waitfor $(( T0 + 90 - SECONDS > 5 ? T0 + 90 - SECONDS : 5 )) "[ \"\$(field demo-ec number)\" -ge 2 ]" && [ "$(field demo-ec entries)" = 0 ] && identical demo-ec'
check "every published CRL verifies, none is empty" \
	'for f in "$CRL"/*.crl; do [ -s "$f" ] || exit 1; ca=$D/ca/sub-rsa/ca.crt; case $f in *demo-ec*) ca=$D/ca/sub-ec/ca.crt ;; esac;
	 openssl crl -inform DER -in "$f" -CAfile "$ca" -noout 2>&1 | grep -q "verify OK" || exit 1; done'
check "signer and linkd still running" 'kill -0 $(cat "$D/signerd.pid") && kill -0 $(cat "$D/linkd.pid")'
check "integrity of the three databases" \
	'for f in signer/state/ca.db signer/state/queue.db webdb/state/outbox.db; do [ "$(sqlite3 "$D/$f" "pragma integrity_check")" = ok ] || exit 1; done'
kill -USR1 "$(cat "$D/cable.pid")" 2>/dev/null; sleep 0.2
echo "# figures: $N revocations answered over the link in ${t_rev}s; refresh to CRL $N1" \
	"($(field demo-rsa entries) entries now, $(stat -c %s "$CRL/demo-rsa.crl") bytes) in ${t_fetch}s;" \
	"$(grep -c 'published (rebuilt from a delta' "$D/log/client.log") CRLs rebuilt from deltas" \
	"(largest answer $(sed -n 's/.*rebuilt from a delta; \([0-9]*\) bytes.*/\1/p' "$D/log/client.log" | sort -n | tail -n 1) bytes)," \
	"$(grep -c 'published (full transfer' "$D/log/client.log") full transfers; cable bytes" \
	"$(sed -n 's/.*a2b.bytes_out=\([0-9]*\).*/webdb->signer \1/p' "$D/log/cable.stats")" \
	"$(sed -n 's/.*b2a.bytes_out=\([0-9]*\).*/signer->webdb \1/p' "$D/log/cable.stats")"
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
