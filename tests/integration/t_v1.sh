#!/usr/bin/env bash
# t_v1.sh: the CommModule v1 listener (docs/legacy-v1.md). linkd runs with
# link.protocol = "commmodule-v1" on the simulated 115200-baud cable;
# tests/integration/v1peer.py plays webdb's old client. Covers keepalive and
# time, signing (PKCS#10 and SPKAC, with v1's subject and SAN strings),
# repeats, refusals, revocation and CRL refresh, hostile frames, and one
# check per defect of the old system listed in LEGACY.md ("defect:").
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-v1.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
PEER="python3 $AL_TOP/tests/integration/v1peer.py $D/cable-webdb"

AL_PGP=1 al_setup "$D"
python3 - "$D/signer/airlock.conf" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('transport = "serial";', 'transport = "serial";\n  protocol = "commmodule-v1";', 1)
s += '''
v1 = {
  roots = ["demo-rsa", "demo-ec"];
  profiles = ["client", "client", "", "", "", "server", "server", "", "", "", "", ""];
  pgp_root = "demo-pgp";
  pgp_profile = "openpgp";
  time_interval = 1;
};
'''
open(p, "w").write(s)
EOF
rm -f "$D/signer/link.key"		# v1 needs no link key
al_cable "$D" --baud 115200
"$AL_BIN/airlock-signerd" -d -v -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
"$AL_BIN/airlock-linkd" -d -v -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" &
echo $! > "$D/linkd.pid"
sleep 0.5

check "linkd warns at start that v1 has no authentication" \
	"grep -q 'WITHOUT AUTHENTICATION' '$D/log/linkd.log'"

# --- keepalive and time --------------------------------------------------
out=$($PEER keepalive 2>&1)
check "keepalive answered ($out)" "[ \"$out\" = 'KEEPALIVE 0' ]"
sleep 1.2
check "the keepalive's time became a time sample at the signer" \
	"grep -q 'TIME_ACK' '$D/log/linkd.log'"
# defect: webdb's time was pasted into a root shell script
$PEER keepalive --time '0101000020$(touch /tmp/v1pwn).00' >/dev/null
$PEER keepalive --time '"; date 0101; #' >/dev/null
sleep 0.3
check "defect: hostile time text gives no sample and runs nothing" \
	"[ ! -e /tmp/v1pwn ] && grep -q 'is not MMDDhhmmYYYY.SS' '$D/log/linkd.log' && \
	 [ -z \"\$(find '$D' -name '*.sh' -newer '$D/signer/airlock.conf')\" ]"

# --- X.509 signing -------------------------------------------------------
al_csr "$D" s1 ec:P-256 "ignored.example.org"
files0=$(find "$D/signer" -type f | wc -l)
$PEER sign --root 0 --profile 5 --md 8 --days 9999 --csr "$D/csr/s1.csr" \
	--san "DNS:www.v1.example.org,DNS:v1.example.org" \
	--subject "/CN=www.v1.example.org/O=v1 test" --out "$D/s1.crt" >/dev/null
check "PKCS#10 signed over v1" "[ -s '$D/s1.crt' ] && al_verify '$D' sub-rsa '$D/s1.crt'"
txt=$(openssl x509 -in "$D/s1.crt" -noout -text 2>/dev/null)
check "the subject is v1's, not the CSR's" \
	"openssl x509 -in '$D/s1.crt' -noout -subject | grep -q 'CN *= *www.v1.example.org'"
check "the SAN is v1's" "grep -q 'DNS:www.v1.example.org, DNS:v1.example.org' <<<\"\$txt\""
nb=$(date -d "$(openssl x509 -in "$D/s1.crt" -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in "$D/s1.crt" -noout -enddate | cut -d= -f2)" +%s)
check "9999 days capped by the profile (397)" "[ $(( (na - nb) / 86400 )) -le 397 ]"

# defect: no message ids -- a repeat got a second certificate
$PEER sign --root 0 --profile 5 --md 8 --days 9999 --csr "$D/csr/s1.csr" \
	--san "DNS:www.v1.example.org,DNS:v1.example.org" \
	--subject "/CN=www.v1.example.org/O=v1 test" --out "$D/s1b.crt" >/dev/null
check "defect: the same request again gets the same certificate" "cmp -s '$D/s1.crt' '$D/s1b.crt'"
check "defect: no work directories or certificate files on the signer" \
	"[ \$(find '$D/signer' -type f | wc -l) -le \$((files0 + 2)) ]"

al_csr "$D" s2 rsa:2048 "x"
$PEER sign --root 1 --profile 6 --md 0 --days 0 --csr "$D/csr/s2.csr" \
	--san "DNS:two.example.org" --subject "/CN=two.example.org" --out "$D/s2.crt" >/dev/null
check "second root and profile index, digest 0, days 0" "al_verify '$D' sub-ec '$D/s2.crt'"
s1=$(openssl x509 -in "$D/s1.crt" -noout -serial | cut -d= -f2)
s2=$(openssl x509 -in "$D/s2.crt" -noout -serial | cut -d= -f2)
check "defect: serials are random, 64 bits or more ($s1, $s2)" \
	"[ \${#s1} -ge 16 ] && [ \${#s2} -ge 16 ]"

# SPKAC, as webdb sends it for <keygen> requests (flag 1)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/csr/sp.key" 2>/dev/null
openssl spkac -key "$D/csr/sp.key" -challenge v1 -digest sha256 > "$D/csr/sp.spkac" 2>/dev/null
$PEER sign --root 0 --profile 0 --md 8 --days 365 --spkac --csr "$D/csr/sp.spkac" \
	--san "email:joe@v1.example.org" --subject "/CN=Joe V1/emailAddress=joe@v1.example.org" \
	--out "$D/sp.crt" >/dev/null
check "SPKAC signed over v1" "al_verify '$D' sub-rsa '$D/sp.crt' && \
	openssl x509 -in '$D/sp.crt' -noout -text | grep -q 'email:joe@v1.example.org'"

# refusals: an empty answer, which the old client records as a failure
refused() {	# DESCRIPTION ARGS...
	local what=$1 out; shift
	out=$($PEER sign --csr "$D/csr/s1.csr" --out "$D/r.crt" "$@" 2>&1); rc=$?
	check "$what: refused with an empty answer" "[ $rc = 3 ] && grep -q ZERO <<<\"\$out\""
}
refused "digest md5" --root 0 --profile 5 --md 1 --subject /CN=a.example.org
refused "digest sha1" --root 0 --profile 5 --md 2 --subject /CN=a.example.org
refused "digest rmd160" --root 0 --profile 5 --md 3 --subject /CN=a.example.org
refused "unmapped root index" --root 7 --profile 5 --md 8 --subject /CN=a.example.org
refused "unmapped profile index" --root 0 --profile 3 --md 8 --subject /CN=a.example.org
refused "profile index 12" --root 0 --profile 12 --md 8 --subject /CN=a.example.org
refused "subject attribute the profile does not allow" --root 0 --profile 5 --md 8 \
	--subject "/CN=a.example.org/emailAddress=x@a.example.org"
refused "SAN type the profile does not allow" --root 0 --profile 5 --md 8 \
	--subject /CN=a.example.org --san "email:x@a.example.org"
refused "SAN type v1 cannot express" --root 0 --profile 5 --md 8 \
	--subject /CN=a.example.org --san "RID:1.2.3"
refused "broken subject" --root 0 --profile 5 --md 8 --subject "CN=no-slash"
printf 'garbage\n' > "$D/csr/junk.csr"
out=$($PEER sign --csr "$D/csr/junk.csr" --root 0 --profile 5 --md 8 --subject /CN=j.example.org \
	--out "$D/r.crt" 2>&1); rc=$?
check "a CSR that does not parse: refused" "[ $rc = 3 ]"
# defect: a bad request was retried for ever and blocked the queue
out=$($PEER sign --csr "$D/csr/junk.csr" --root 0 --profile 5 --md 8 --subject /CN=j.example.org \
	--out "$D/r.crt" 2>&1); rc1=$?
al_csr "$D" s3 ec:P-256 "x"
$PEER sign --root 0 --profile 5 --md 8 --days 30 --csr "$D/csr/s3.csr" \
	--subject "/CN=three.example.org" --san "DNS:three.example.org" --out "$D/s3.crt" >/dev/null
check "defect: a refused request repeated is refused again at once, the next one is signed" \
	"[ $rc1 = 3 ] && al_verify '$D' sub-rsa '$D/s3.crt'"

# an accepted request is never lost: linkd killed right after it took the
# frame; the old client, restarted, asks again and gets the one certificate
al_csr "$D" s4 ec:P-256 "x"
s4args="--root 0 --profile 5 --md 8 --days 30 --csr $D/csr/s4.csr --subject /CN=crash.example.org --san DNS:crash.example.org"
$PEER sign $s4args --out "$D/s4.crt" --no-wait >/dev/null
lpid=$(cat "$D/linkd.pid")
disown "$lpid" 2>/dev/null
kill -9 "$lpid"
while kill -0 "$lpid" 2>/dev/null; do sleep 0.05; done
"$AL_BIN/airlock-linkd" -d -v -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" &
echo $! > "$D/linkd.pid"
sleep 0.5
$PEER sign $s4args --out "$D/s4.crt" >/dev/null
n4=$(sqlite3 "$D/signer/state/ca.db" "select count(*) from certs where subject like '%crash.example.org%'")
check "linkd killed after taking a request: the repeat gets its certificate, signed once ($n4)" \
	"al_verify '$D' sub-rsa '$D/s4.crt' && [ '$n4' = 1 ]"

# --- revocation and CRLs -------------------------------------------------
rm -f "$D/webdb.crl"
out=$($PEER revoke --root 0 --crl "$D/webdb.crl" 2>&1)
check "CRL refresh of a CRL the listener never sent: a full CRL ($out)" "grep -q 'CRL full' <<<\"\$out\" && \
	openssl crl -inform der -in '$D/webdb.crl' -noout -CAfile '$D/ca/sub-rsa/ca.crt' 2>&1 | grep -q 'verify OK'"
crl_ok() {	# FILE: a DER CRL of the RSA subroot that verifies
	openssl crl -inform der -in "$1" -noout -CAfile "$D/ca/sub-rsa/ca.crt" 2>&1 | grep -q 'verify OK'
}
out=$($PEER revoke --root 0 --cert "$D/s1.crt" --crl "$D/webdb.crl" 2>&1)
check "revoked over v1: an xdelta patch to the CRL webdb holds, which lists the serial ($out)" \
	"grep -q 'CRL patch' <<<\"\$out\" && crl_ok '$D/webdb.crl' && \
	 openssl crl -inform der -in '$D/webdb.crl' -noout -text | grep -qi 'Serial Number: *$s1'"
out=$($PEER revoke --root 0 --cert "$D/s1.crt" --crl "$D/webdb.crl" 2>&1)
check "revoking it again: a patch again, still listed ($out)" \
	"grep -q 'CRL patch' <<<\"\$out\" && crl_ok '$D/webdb.crl' && \
	 openssl crl -inform der -in '$D/webdb.crl' -noout -text | grep -qi '$s1'"
out=$($PEER revoke --root 0 --cert "$D/s3.crt" --crl "$D/webdb.crl" 2>&1)
check "a second revocation: patched, both listed ($out)" \
	"grep -q 'CRL patch' <<<\"\$out\" && crl_ok '$D/webdb.crl' && \
	 openssl crl -inform der -in '$D/webdb.crl' -noout -text | grep -qi '$s1' && \
	 openssl crl -inform der -in '$D/webdb.crl' -noout -text | grep -qi \"\$(openssl x509 -in '$D/s3.crt' -noout -serial | cut -d= -f2)\""
out=$($PEER revoke --root 0 --crl "$D/webdb.crl" 2>&1)
check "a refresh of a current CRL: a patch ($out)" "grep -q 'CRL patch' <<<\"\$out\" && crl_ok '$D/webdb.crl'"
# defect: the signer answered an unknown CRL hash with an empty "out of sync" CRL
printf 'not the CRL the signer made' > "$D/other.crl"
out=$($PEER revoke --root 0 --crl "$D/other.crl" 2>&1)
check "defect: a CRL the signer does not know gets a full CRL, never an empty one" \
	"grep -q 'CRL full' <<<\"\$out\" && crl_ok '$D/other.crl'"
out=$($PEER revoke --root 0 --cert "$D/ca/root/ca.crt" --crl "$D/webdb.crl" 2>&1); rc=$?
check "revoking a certificate this root did not issue: empty, nothing marked" \
	"[ $rc = 3 ] && grep -q 'EMPTY CRL' <<<\"\$out\""
printf 'not a certificate' > "$D/notcert.pem"
out=$($PEER revoke --root 0 --cert "$D/notcert.pem" --crl "$D/webdb.crl" 2>&1); rc=$?
check "revoking something that is not a certificate: empty" "[ $rc = 3 ]"

# --- OpenPGP ---------------------------------------------------------------
export GNUPGHOME="$D/gnupg"; mkdir -m 700 -p "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "V1 User <v1user@v1.example.org>" ed25519 cert 1y 2>/dev/null
gpg --batch --armor --export v1user@v1.example.org > "$D/user.asc"
out=$($PEER pgp --key "$D/user.asc" --out "$D/user-signed.asc" 2>&1); rc=$?
if [ $rc = 0 ]; then
	gpg --batch --quiet --import "$D/ca/pgp/ca.asc" 2>/dev/null
	gpg --batch --quiet --import "$D/user-signed.asc" 2>/dev/null
	check "OpenPGP over v1: the key comes back certified by the root" \
		"gpg --batch --check-sigs v1user@v1.example.org 2>/dev/null | grep -q 'sig!.*airlock demo OpenPGP CA'"
else
	bad "OpenPGP over v1 ($out)"
fi
# armour with a header line (RFC 4880 6.2), and a key with no address
gpg --batch --armor --comment "exported for v1" --export v1user@v1.example.org > "$D/user-c.asc"
out=$($PEER pgp --key "$D/user-c.asc" --out "$D/user-c-signed.asc" 2>&1); rc=$?
check "OpenPGP over v1: armour with a header line ($out)" "[ $rc = 0 ] && grep -q 'BEGIN PGP PUBLIC KEY BLOCK' '$D/user-c-signed.asc'"
gpg --batch --quiet --passphrase '' --quick-gen-key "No Address" ed25519 cert 1y 2>/dev/null
gpg --batch --armor --export "No Address" > "$D/noaddr.asc"
out=$($PEER pgp --key "$D/noaddr.asc" --out "$D/noaddr-signed.asc" 2>&1); rc=$?
check "OpenPGP over v1: a key without an address is refused (empty)" "[ $rc = 3 ]"
# the old client takes the expiry from gpg -vv's "critical hashed subpkt
# ... (sig expires after ...)" line of the certification
check "OpenPGP over v1: the old client finds the certification's expiry" \
	"gpg -vv '$D/user-signed.asc' 2>&1 | grep -Eq '^\s*critical hashed subpkt [0-9]+ len [0-9]+ \(sig expires after ([0-9]+y)?([0-9]+d)?([0-9]+h)?[0-9]+m\)'"
gpgconf --kill gpg-agent 2>/dev/null

# --- hostile frames --------------------------------------------------------
for c in xor long short notrailer garbage oversize bigfield badheader naks; do
	out=$($PEER hostile $c 2>&1); rc=$?
	check "hostile v1 input: $c" "[ $rc = 0 ]" || true
	[ $rc = 0 ] || echo "$out" | sed 's/^/#   /'
done
check "defect: the XOR byte is checked (NAK counted)" "grep -q 'wrong XOR byte' '$D/log/linkd.log'"
check "defect: linkd survived everything" "kill -0 \$(cat '$D/linkd.pid')"

st=$("$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" status 2>&1)
check "airlockctl status shows the v1 listener" "grep -q '^link *v1: cable open' <<<\"\$st\""
check "the status file carries the v1 counters" "grep -rqs 'state=v1 requests=[1-9]' '$D/signer/state/link.status'"
al_stop "$D"
check "counters in linkd's last line" "grep -q 'stopping:.*v1 requests=[1-9].*refused=[1-9].*bad_xor=[1-9]' '$D/log/linkd.log'"
[ "$fails" = 0 ] || { echo "# logs in $D/log"; KEEP=1; }
exit $((fails > 0))
