#!/usr/bin/env bash
# t_profiles.sh: one certificate per example profile of conf/airlock.conf
# (the old system's set and the X-Road pair), each issued through the whole
# path (airlock-client -> cable -> airlock-linkd -> airlock-signerd and
# back), then checked by three stacks: `openssl verify -x509_strict` with
# the purpose that fits the profile, GnuTLS `certtool --verify-chain` and
# `certtool --verify --verify-purpose`, and python3-cryptography (Debian's)
# through certcheck.py, which knows what each profile must contain. The
# profiles are taken from the shipped example file, so the example is what
# is tested. A request with the subjectAltName DNS:*.com is refused end to
# end (the signer reads the public suffix list of the Debian package).
set -u
. "$AL_TOP/scripts/harness.sh"

for t in certtool /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "needs $t"; exit 77; }
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || { echo "needs python3-cryptography"; exit 77; }

D=$(mktemp -d /tmp/airlock-profiles.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_setup "$D"
all='"client", "client-org", "client-codesign", "client-machine", "client-ads",
  "server", "server-org", "server-jabber", "ocsp", "timestamp", "xroad-sign", "xroad-auth"'
{
	sed -n '/^state_dir/,/^};/p' "$D/signer/airlock.conf" | sed '/^profiles/,$d'
	sed -n '/^profiles = (/,/^);/p' "$AL_TOP/conf/airlock.conf"
	cat <<CONF
roots = (
  { name = "t-rsa"; dir = "$D/ca/sub-rsa"; profiles = [ $all ]; },
  { name = "t-ec"; dir = "$D/ca/sub-ec"; profiles = [ $all ]; },
  { name = "t-root"; dir = "$D/ca/root"; profiles = ["subca"]; }
);
CONF
} > "$D/signer/airlock.conf.new"
mv "$D/signer/airlock.conf.new" "$D/signer/airlock.conf"
check "the example profiles load" '"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" roots >/dev/null'

al_cable "$D" --baud 115200
al_start "$D"

# NAME|PROFILE|ROOT|KEY|SUBJECT|SAN
specs=(
	"client|client|t-ec|ec:P-256|/CN=Alice Example/emailAddress=alice@example.test|email:alice@example.test"
	"client-org|client-org|t-rsa|rsa:2048|/CN=Bob Example/emailAddress=bob@example.test/O=Example Org/C=DE|email:bob@example.test"
	"codesign|client-codesign|t-ec|rsa:3072|/CN=Carol Coder/emailAddress=carol@example.test/O=Example Org|email:carol@example.test"
	"machine|client-machine|t-rsa|ec:P-384|/CN=m1.example.test/O=Example Org|DNS:m1.example.test"
	"ads|client-ads|t-ec|ec:P-256|/CN=Dave/emailAddress=dave@example.test|email:dave@example.test"
	"server|server|t-rsa|ec:P-256|/CN=www.example.test|DNS:www.example.test,DNS:example.test,IP:192.0.2.10"
	"server-org|server-org|t-ec|rsa:2048|/CN=shop.example.test/O=Example Org/L=Berlin/C=DE|DNS:shop.example.test"
	"jabber|server-jabber|t-rsa|ec:P-256|/CN=xmpp.example.test|DNS:xmpp.example.test,otherName:1.3.6.1.5.5.7.8.5;UTF8:xmpp.example.test"
	"ocsp|ocsp|t-ec|ec:P-256|/CN=OCSP responder/O=Example CA|"
	"timestamp|timestamp|t-rsa|rsa:3072|/CN=Example TSA/O=Example CA/C=DE|"
	"subca|subca|t-root|rsa:3072|/CN=Example Issuing CA/O=Example CA/C=DE|"
	"xroad-sign|xroad-sign|t-ec|ec:P-256|/C=EE/O=Example Member/CN=12345678/serialNumber=EE-COM-12345678|"
	"xroad-auth|xroad-auth|t-rsa|rsa:2048|/C=EE/O=Example Member/CN=12345678/serialNumber=EE-COM-12345678|DNS:ss1.example.test"
)
declare -A id prof root
for spec in "${specs[@]}"; do
	IFS='|' read -r n p r k subj san <<<"$spec"
	args=(-new -nodes -keyout "$D/csr/$n.key" -out "$D/csr/$n.csr" -subj "$subj" -utf8)
	case $k in
	rsa:*) args+=(-newkey "$k") ;;
	ec:*) args+=(-newkey ec -pkeyopt "ec_paramgen_curve:${k#ec:}") ;;
	esac
	[ -n "$san" ] && args+=(-addext "subjectAltName=$san")
	openssl req "${args[@]}" 2>"$D/log/req-$n.log" || { bad "CSR for $n"; continue; }
	prof[$n]=$p root[$n]=$r
	id[$n]=$(al_client "$D" submit --root "$r" --profile "$p" --name "$n" "$D/csr/$n.csr")
done
# a wildcard right under a public suffix is refused (public_suffix_list.dat)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/csr/wildcom.key" \
	-subj "/CN=www.example.test" -addext "subjectAltName=DNS:www.example.test,DNS:*.com" \
	-out "$D/csr/wildcom.csr" 2>"$D/log/req-wildcom.log" || bad "CSR for wildcom"
wid=$(al_client "$D" submit --root t-rsa --profile server --name wildcom "$D/csr/wildcom.csr")
check "every request answered within 120 s" 'al_client "$D" wait --timeout 120 ${id[@]} $wid >/dev/null'
check "server: DNS *.com refused with 208 and a sentence naming the public suffix" \
	'grep -q "^208 .*(\*\.com) is a wildcard directly under the public suffix com" "$D/webdb/state/spool/err/wildcom.err" && [ ! -e "$D/webdb/state/spool/out/wildcom.crt" ]'

out=$D/webdb/state/spool/out
cat "$D/ca/sub-rsa/ca.crt" "$D/ca/root/ca.crt" > "$D/chain-t-rsa.pem"
cat "$D/ca/sub-ec/ca.crt" "$D/ca/root/ca.crt" > "$D/chain-t-ec.pem"
cat "$D/ca/root/ca.crt" > "$D/chain-t-root.pem"
purposes() {	# PROFILE: openssl verify purposes that must pass
	case $1 in
	client|client-org) echo "sslclient smimesign" ;;
	client-ads) echo "sslclient" ;;
	client-codesign) echo "smimesign any" ;;
	client-machine|xroad-auth) echo "sslclient sslserver" ;;
	server|server-org|server-jabber) echo "sslserver sslclient" ;;
	ocsp) echo "ocsphelper" ;;
	timestamp) echo "timestampsign" ;;
	subca) echo "crlsign any" ;;
	xroad-sign) echo "any" ;;
	esac
}
oids() {	# PROFILE: extendedKeyUsage OIDs GnuTLS must find
	case $1 in
	client|client-org) echo "1.3.6.1.5.5.7.3.2 1.3.6.1.5.5.7.3.4" ;;
	client-codesign) echo "1.3.6.1.5.5.7.3.3" ;;
	client-ads) echo "1.3.6.1.5.5.7.3.2 1.3.6.1.4.1.311.20.2.2" ;;
	client-machine|xroad-auth|server|server-org|server-jabber) echo "1.3.6.1.5.5.7.3.1 1.3.6.1.5.5.7.3.2" ;;
	ocsp) echo "1.3.6.1.5.5.7.3.9" ;;
	timestamp) echo "1.3.6.1.5.5.7.3.8" ;;
	esac
}
for spec in "${specs[@]}"; do
	n=${spec%%|*}
	[ -n "${id[$n]:-}" ] || continue
	p=${prof[$n]} chain=$D/chain-${root[$n]}.pem c=$out/$n.crt
	check "$p: issued" '[ -s "$c" ]' || continue
	for pu in $(purposes "$p"); do
		check "$p: openssl verify -purpose $pu -x509_strict" \
			'openssl verify -x509_strict -purpose $pu -CAfile "$D/ca/root/ca.crt" -untrusted "$chain" "$c" >"$D/log/v-$n-$pu.log" 2>&1'
	done
	cat "$c" "$chain" > "$D/full-$n.pem"
	check "$p: certtool --verify-chain" \
		'certtool --verify-chain --infile "$D/full-$n.pem" >"$D/log/gnutls-$n.log" 2>&1 && grep -q "Verified" "$D/log/gnutls-$n.log"'
	for o in $(oids "$p"); do
		check "$p: certtool --verify --verify-purpose $o" \
			'certtool --verify --load-ca-certificate "$D/ca/root/ca.crt" --verify-purpose "$o" --infile "$D/full-$n.pem" >"$D/log/gnutls-$n-$o.log" 2>&1'
	done
	awk '/BEGIN/ { n++ } n == 1' "$chain" > "$D/issuer-$n.pem"
	check "$p: python3-cryptography: contents and signature" \
		'/usr/bin/python3 "$AL_TOP/tests/integration/certcheck.py" "$c" "$D/issuer-$n.pem" "$p" >"$D/log/py-$n.log" 2>&1 || { cat "$D/log/py-$n.log"; false; }'
done
check "subca: can itself issue (pathLen 0 below a root)" \
	'openssl x509 -in "$out/subca.crt" -noout -text | grep -q "CA:TRUE, pathlen:0"'
check "timestamp: the EKU is critical" \
	'openssl x509 -in "$out/timestamp.crt" -noout -text | grep -A1 "Extended Key Usage: critical" | grep -q "Time Stamping"'
check "ocsp: carries id-pkix-ocsp-nocheck" \
	'openssl x509 -in "$out/ocsp.crt" -noout -text | grep -q "OCSP No Check"'
check "xroad-sign: nonRepudiation alone, no EKU" \
	'openssl x509 -in "$out/xroad-sign.crt" -noout -ext keyUsage,extendedKeyUsage | tr -d " " | grep -qx "NonRepudiation" && ! openssl x509 -in "$out/xroad-sign.crt" -noout -text | grep -q "Extended Key Usage"'
check "jabber: the xmppAddr otherName survives" \
	'openssl x509 -in "$out/jabber.crt" -noout -ext subjectAltName | grep -qi "XmppAddr.*xmpp.example.test"'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
