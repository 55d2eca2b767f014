#!/usr/bin/env bash
# t_lifecycle.sh: CA key rollover under load (docs/ca-layout.md section 9).
# Three roots roll over while webdb keeps sending SIGN and REVOKE requests
# over the simulated cable: demo-root (self-signed, file key: a new root and
# a link certificate), demo-ec (a subroot whose parent demo-root is on this
# signer, file key) and hsm-ec (a subroot on a SoftHSM2 token, rolled over
# to another key on the token). airlock-signerd is restarted to switch;
# linkd holds what arrives meanwhile. Then: every request was answered with
# a certificate or REVOKED; certificates before the switch come from the
# old keys and after it from the new ones (openssl verify, AKI); webdb
# holds both CRL series of each root, ROOT.crl (old key) and ROOT.g2.crl
# (new key), each verified by openssl and GnuTLS certtool against its own
# key, a revocation of an old certificate after the switch on the old key's
# CRL and its delta, one of a new certificate on the new key's; the new CA
# certificates came over the link; a key whose certificates have all
# expired retires (error 305, `airlockctl roots` says so).
# LIFECYCLE_N requests per root and phase (default 6; make test-lifecycle: 40).
# Prints LIFECYCLE rollover_ok=0|1 requests_failed=N old_key_crls_ok=0|1
# dual_control_ok=0|1 (dual control: tests/integration/t_dual.sh when there).
set -u
. "$AL_TOP/scripts/harness.sh"

N=${LIFECYCLE_N:-6}
MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
ENGINE=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')/pkcs11.so
for t in softhsm2-util pkcs11-tool certtool sqlite3; do
	command -v "$t" >/dev/null || { echo "needs $t (softhsm2, opensc, gnutls-bin, sqlite3)"; exit 77; }
done
[ -f "$MODULE" ] || { echo "needs $MODULE (softhsm2)"; exit 77; }
[ -f "$ENGINE" ] || { echo "needs the pkcs11 engine $ENGINE (libengine-pkcs11-openssl)"; exit 77; }

D=$(mktemp -d /tmp/airlock-life.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0 rollover_ok=1 old_ok=1
roll() { if eval "$2"; then ok "$1"; else bad "$1"; rollover_ok=0; fi; }
oldk() { if eval "$2"; then ok "$1"; else bad "$1"; old_ok=0; fi; }

# the token: the subroot's key and the one it rolls over to
mkdir -p "$D/tokens"
export SOFTHSM2_CONF=$D/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$D/tokens" > "$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label airlock-life --pin 123456 --so-pin 654321 \
	>"$D/softhsm.log" 2>&1 || { cat "$D/softhsm.log"; exit 1; }
p11() { pkcs11-tool --module "$MODULE" --token-label airlock-life --login --pin 123456 "$@"; }
p11 --keypairgen --key-type EC:prime256v1 --label hsm-1 --id 01 >>"$D/softhsm.log" 2>&1 &&
p11 --keypairgen --key-type EC:prime256v1 --label hsm-2 --id 02 >>"$D/softhsm.log" 2>&1 ||
	{ echo "cannot make key pairs on the token"; exit 1; }
printf '123456\n' > "$D/pin"
chmod 0400 "$D/pin"

export AL_ROOT_EC_EXTRA='crl_seconds = 3600;'
export AL_CLIENT_EXTRA="crl_refresh = 3600; crl_roots = (
    { name = \"demo-root\"; ca_cert = \"$D/ca/root/ca.crt\"; },
    { name = \"demo-ec\"; ca_cert = \"$D/ca/sub-ec/ca.crt\"; },
    { name = \"hsm-ec\"; ca_cert = \"$D/ca/hsm/ca.crt\"; } );"
al_setup "$D"
C=$D/signer/airlock.conf
"$AL_BIN/airlockctl" root init --dir "$D/ca/hsm" --subject "/CN=airlock HSM subroot/O=airlock test" \
	--key-uri "pkcs11:token=airlock-life;object=hsm-1;type=private" --module "$MODULE" \
	--pin-file "$D/pin" --parent "$D/ca/root" --pathlen 0 --days 1000 >"$D/log/init-hsm.log" 2>&1 ||
	{ cat "$D/log/init-hsm.log"; exit 1; }
sed -i "s#^roots = (#roots = (\n  { name = \"demo-root\"; dir = \"$D/ca/root\"; profiles = [\"server\"]; crl_seconds = 3600; },\n  { name = \"hsm-ec\"; dir = \"$D/ca/hsm\"; pass_file = \"$D/pin\"; profiles = [\"server\"]; crl_seconds = 3600; },#" "$C"

# dual control: a profile that needs two operators, on demo-ec
python3 - "$C" <<'PY' || exit 1
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace("profiles = (\n", """profiles = (
  { name = "held"; max_days = 397; default_days = 90;
    key_usage = ["digitalSignature"]; ext_key_usage = ["serverAuth"]; san = ["dns"];
    subject = "CN,O"; approvals = 2; approval_timeout = 25; },
""", 1)
s = s.replace('dir = "%s/ca/sub-ec"; profiles = ["server", "client"]' % sys.argv[1].rsplit("/signer/", 1)[0],
              'dir = "%s/ca/sub-ec"; profiles = ["server", "client", "held"]' % sys.argv[1].rsplit("/signer/", 1)[0], 1)
open(p, "w").write(s)
PY
grep -q '"server", "client", "held"' "$C" || { echo "cannot add the dual-control profile"; exit 1; }
al_cable "$D" --baud 115200
al_start "$D"
OUT=$D/webdb/state/spool/out CRL=$D/webdb/state/crl SDB=$D/signer/state/ca.db
ROOTS="demo-root demo-ec hsm-ec"
declare -A dir=([demo-root]=$D/ca/root [demo-ec]=$D/ca/sub-ec [hsm-ec]=$D/ca/hsm)
ids=()
k=0
submit() {	# ROOT TAG: one SIGN, queued
	local n="$2-$1-$k"
	k=$((k + 1))
	al_csr "$D" "$n" ec:P-256 "$n.life.example" -addext "subjectAltName=DNS:$n.life.example"
	ids+=("$(al_client "$D" submit --root "$1" --profile server --name "$n" "$D/csr/$n.csr")")
}
revoke() {	# ROOT CERTFILE TAG
	local s
	s=$(openssl x509 -in "$2" -noout -serial | sed 's/serial=//')
	ids+=("$(al_client "$D" revoke --root "$1" --serial "$s" --reason 1 --name "$3")")
}
crl_now() {	# KEYNAME: a CRL fetch through the daemon's schedule, answered
	local id
	id=$(al_client "$D" crl --root "$1") && al_client "$D" wait --timeout 120 "$id" >/dev/null
}
# webdb holds the first key's CRLs before anything happens
for r in $ROOTS; do crl_now "$r"; done
check "webdb holds the first CRL of each root" \
	'[ -s "$CRL/demo-root.crl" ] && [ -s "$CRL/demo-ec.crl" ] && [ -s "$CRL/hsm-ec.crl" ]'

# phase 1: a stream of requests; the rollover happens in the middle of it
for i in $(seq "$N"); do for r in $ROOTS; do submit "$r" old; done; done
al_client "$D" wait --timeout 300 "${ids[@]}" >/dev/null
"$AL_BIN/airlockctl" -c "$C" root rollover demo-root --key ec:P-256 >"$D/log/roll-root.log" 2>&1 &&
"$AL_BIN/airlockctl" -c "$C" root rollover demo-ec >"$D/log/roll-ec.log" 2>&1 &&
"$AL_BIN/airlockctl" -c "$C" root rollover hsm-ec --key-uri "pkcs11:token=airlock-life;object=hsm-2;type=private" \
	--module "$MODULE" >"$D/log/roll-hsm.log" 2>&1
roll "root rollover for the three roots" '[ $? = 0 ]' || cat "$D"/log/roll-*.log
roll "the self-signed root got a link certificate, the subroots none" \
	'[ -s "$D/ca/root/gen/2/link.crt" ] && [ ! -e "$D/ca/sub-ec/gen/2/link.crt" ] && [ -s "$D/ca/hsm/gen/2/key.uri" ]'
"$AL_BIN/airlockctl" -c "$C" roots > "$D/roots-before.txt" 2>&1
roll "roots shows both keys of each root" \
	'[ $(grep -c "key 1: retiring" "$D/roots-before.txt") = 3 ] && [ $(grep -c "key 2: current" "$D/roots-before.txt") = 3 ]'
# requests arrive while the signer restarts: linkd keeps them. The switch is
# the signer's start (docs/ca-layout.md 9.3): a request the old process
# still answered was rightly issued by the old key, so they are all sent
# after it stopped (one sent just before raced the stop)
al_stop_one "$D" signerd
for r in $ROOTS; do submit "$r" mid; done
for r in $ROOTS; do submit "$r" mid; done
"$AL_BIN/airlock-signerd" -d -c "$C" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
for i in $(seq "$N"); do for r in $ROOTS; do submit "$r" new; done; done
# revocations after the switch: an old certificate and a new one per root
al_client "$D" wait --timeout 300 "${ids[@]}" >/dev/null
declare -A revold revnew
for r in $ROOTS; do
	revold[$r]=$(ls "$OUT"/old-$r-*.crt | head -1)
	revnew[$r]=$(ls "$OUT"/new-$r-*.crt | head -1)
	revoke "$r" "${revold[$r]}" "rev-old-$r"
	revoke "$r" "${revnew[$r]}" "rev-new-$r"
done
al_client "$D" wait --timeout 300 "${ids[@]}" >/dev/null

failed=0
for id in "${ids[@]}"; do
	al_client "$D" result "$id" >/dev/null 2>&1 || failed=$((failed + 1))
done
check "every request of the stream was answered with a certificate or REVOKED ($failed failed)" '[ $failed = 0 ]'

# which key issued what
ski() { openssl x509 -in "$1" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :'; }
aki() { openssl x509 -in "$1" -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' :' | sed 's/^keyid//'; }
for r in $ROOTS; do
	d=${dir[$r]}
	cat "$d/ca.crt" "$d/chain.pem" > "$D/old-$r.pem"
	cat "$d/gen/2/ca.crt" "$d/gen/2/chain.pem" > "$D/new-$r.pem"
	anchor_new=$D/ca/root/gen/2/ca.crt	# the root rolled over first
	o=0 nw=0 bado=0 badn=0
	for f in "$OUT"/old-$r-*.crt; do
		o=$((o + 1))
		[ "$(aki "$f")" = "$(ski "$d/ca.crt")" ] &&
			openssl verify -partial_chain -CAfile "$D/old-$r.pem" "$f" >/dev/null 2>&1 || bado=$((bado + 1))
	done
	for f in "$OUT"/new-$r-*.crt; do
		nw=$((nw + 1))
		[ "$(aki "$f")" = "$(ski "$d/gen/2/ca.crt")" ] &&
			openssl verify -CAfile "$anchor_new" -untrusted "$D/new-$r.pem" "$f" >/dev/null 2>&1 || badn=$((badn + 1))
	done
	roll "$r: $o certificates before the switch from the old key, $nw after from the new ($bado, $badn wrong)" \
		'[ $o -ge $N ] && [ $nw -ge $N ] && [ $bado = 0 ] && [ $badn = 0 ]'
	m=0
	for f in "$OUT"/mid-$r-*.crt; do
		[ "$(aki "$f")" = "$(ski "$d/gen/2/ca.crt")" ] && m=$((m + 1))
	done
	roll "$r: requests sent while the signer restarted were issued by the new key" '[ $m = 2 ]'
done
roll "a relying party that trusts the old root reaches the new one over link.crt" \
	'f=$(ls "$OUT"/new-demo-root-*.crt | head -1); openssl verify -CAfile "$D/ca/root/ca.crt" -untrusted "$D/ca/root/gen/2/link.crt" "$f" >/dev/null'

# both CRL series at webdb
for r in $ROOTS; do crl_now "$r"; done
for r in $ROOTS; do
	waitfor 60 "[ -s \"$CRL/$r.g2.crl\" ] && [ -s \"$CRL/$r.g2.crt\" ]" || true
	crl_now "$r.g2"
done
for r in $ROOTS; do
	d=${dir[$r]}
	so=$(openssl x509 -in "${revold[$r]}" -noout -serial | sed 's/serial=//')
	sn=$(openssl x509 -in "${revnew[$r]}" -noout -serial | sed 's/serial=//')
	roll "$r: webdb received the new CA certificate over the link" \
		'[ -s "$CRL/$r.g2.crt" ] && [ -s "$d/gen/2/ca.crt" ] && cmp -s <(openssl x509 -in "$CRL/$r.g2.crt" -outform DER) <(openssl x509 -in "$d/gen/2/ca.crt" -outform DER)'
	oldk "$r: old key's CRL verifies with the old certificate (openssl)" \
		'openssl crl -in "$CRL/$r.crl" -inform DER -CAfile "$d/ca.crt" -noout 2>&1 | grep -q "verify OK"'
	oldk "$r: new key's CRL verifies with the new certificate (openssl)" \
		'openssl crl -in "$CRL/$r.g2.crl" -inform DER -CAfile "$d/gen/2/ca.crt" -noout 2>&1 | grep -q "verify OK"'
	oldk "$r: both CRLs verify with GnuTLS certtool, each only with its own key" \
		'certtool --verify-crl --load-ca-certificate "$d/ca.crt" --infile "$CRL/$r.crl.pem" >/dev/null 2>&1 &&
		 certtool --verify-crl --load-ca-certificate "$d/gen/2/ca.crt" --infile "$CRL/$r.g2.crl.pem" >/dev/null 2>&1 &&
		 ! certtool --verify-crl --load-ca-certificate "$d/gen/2/ca.crt" --infile "$CRL/$r.crl.pem" >/dev/null 2>&1'
	oldk "$r: distinct authority key identifiers, each the key's own" \
		'a1=$(openssl crl -in "$CRL/$r.crl" -inform DER -noout -text | grep -A1 "Authority Key Identifier" | tail -1 | tr -d " :" | sed "s/^keyid//");
		 a2=$(openssl crl -in "$CRL/$r.g2.crl" -inform DER -noout -text | grep -A1 "Authority Key Identifier" | tail -1 | tr -d " :" | sed "s/^keyid//");
		 [ -n "$a1" ] && [ -n "$a2" ] && [ "$a1" = "$(ski "$d/ca.crt")" ] && [ "$a2" = "$(ski "$d/gen/2/ca.crt")" ] && [ "$a1" != "$a2" ]'
	oldk "$r: the old certificate revoked after the switch is on the old key's CRL only" \
		'openssl crl -in "$CRL/$r.crl" -inform DER -noout -text | grep -q "Serial Number: $so" &&
		 ! openssl crl -in "$CRL/$r.g2.crl" -inform DER -noout -text | grep -q "Serial Number: $so"'
	oldk "$r: the new certificate revoked is on the new key's CRL only" \
		'openssl crl -in "$CRL/$r.g2.crl" -inform DER -noout -text | grep -q "Serial Number: $sn" &&
		 ! openssl crl -in "$CRL/$r.crl" -inform DER -noout -text | grep -q "Serial Number: $sn"'
	oldk "$r: the old key's delta CRL lists the revocation and verifies" \
		'openssl crl -in "$CRL/$r-delta.crl" -inform DER -CAfile "$d/ca.crt" -noout -text 2>&1 | grep -q "Serial Number: $so" &&
		 openssl crl -in "$CRL/$r-delta.crl" -inform DER -CAfile "$d/ca.crt" -noout 2>&1 | grep -q "verify OK"'
	oldk "$r: openssl verify -crl_check with the old key's CRL: the revoked old certificate is refused, another accepted" \
		'openssl crl -in "$CRL/$r.crl" -inform DER -out "$D/$r-old.crl.pem" &&
		 other=$(ls "$OUT"/old-$r-*.crt | grep -v "^${revold[$r]}$" | head -1) &&
		 openssl verify -crl_check -CAfile "$D/ca/root/ca.crt" -untrusted "$d/ca.crt" -CRLfile "$D/$r-old.crl.pem" \
			"${revold[$r]}" 2>&1 | grep -q "certificate revoked" &&
		 openssl verify -crl_check -CAfile "$D/ca/root/ca.crt" -untrusted "$d/ca.crt" -CRLfile "$D/$r-old.crl.pem" \
			"$other" >/dev/null 2>&1'
done
check "the signer's CRL series are kept apart in ca.db" \
	'[ "$(sqlite3 "$SDB" "select count(distinct root) from crls where root like \"%#2\"")" = 3 ]'

# retirement: every certificate of demo-ec's first key expires
sqlite3 "$SDB" ".timeout 5000" "update certs set not_after = strftime('%s','now') - 10 where root = 'demo-ec' and cakey = 1" ||
	bad "ageing demo-ec's first certificates"
id=$(al_client "$D" crl --root demo-ec)
al_client "$D" wait --timeout 120 "$id" >/dev/null
check "a key whose certificates all expired retires: error 305" \
	'al_client "$D" result "$id" 2>&1 | grep -q "error 305: key generation 1 of root demo-ec has retired"'
check "roots shows it retired" \
	'"$AL_BIN/airlockctl" -c "$C" roots | grep -A6 "^demo-ec" | grep -q "key 1: retired"'
check "its last CRLs stay published at webdb" '[ -s "$CRL/demo-ec.crl" ]'

# dual control: two operators approve one request, one denies another, a
# third times out; other requests go through meanwhile
dual_ok=1
dual() { if eval "$2"; then ok "$1"; else bad "$1"; dual_ok=0; fi; }
for o in alice bob carol; do printf '%s-secret-%s\n' "$o" "$RANDOM$RANDOM" > "$D/$o.secret"; done
dual "operators added with their own secrets" \
	'for o in alice bob carol; do "$AL_BIN/airlockctl" -c "$C" operator add $o --secret-file "$D/$o.secret" >/dev/null || exit 1; done;
	 [ "$(stat -c %a "$D/signer/state/operators")" = 600 ] && ! grep -q "secret" "$D/signer/state/operators"'
dual "an operator name is taken once" \
	'! "$AL_BIN/airlockctl" -c "$C" operator add alice --secret-file "$D/alice.secret" 2>/dev/null'
declare -A hid
for n in approve deny timeout; do
	al_csr "$D" "dual-$n" ec:P-256 "dual-$n.life.example" -addext "subjectAltName=DNS:dual-$n.life.example"
	hid[$n]=$(al_client "$D" submit --root demo-ec --profile held --name "dual-$n" "$D/csr/dual-$n.csr")
done
al_csr "$D" dual-bad ec:P-256 "dual-bad.life.example" -addext "subjectAltName=email:x@life.example"
hid[bad]=$(al_client "$D" submit --root demo-ec --profile held --name dual-bad "$D/csr/dual-bad.csr")
dual "webdb sees the requests held for approval (503)" \
	'waitfor 60 "al_client \"$D\" result ${hid[approve]} | grep -q \"^held (503): held for approval: 0 of 2\""'
dual "a request that would be refused is refused at once, not held" \
	'al_client "$D" wait --timeout 60 ${hid[bad]} >/dev/null; al_client "$D" result ${hid[bad]} 2>&1 | grep -q "^error 208"'
submit demo-ec other
dual "other requests are not held up meanwhile" 'al_client "$D" wait --timeout 60 ${ids[-1]} >/dev/null && al_client "$D" result ${ids[-1]} >/dev/null'
dual "airlockctl held lists the three" \
	'[ $("$AL_BIN/airlockctl" -c "$C" held | grep -c "demo-ec held approved=0/2") = 3 ]'
dual "a wrong secret decides nothing" \
	'echo wrong-secret-123 > "$D/wrong"; ! "$AL_BIN/airlockctl" -c "$C" approve ${hid[approve]} --operator bob --secret-file "$D/wrong" 2>/dev/null'
dual "alice approves" '"$AL_BIN/airlockctl" -c "$C" approve ${hid[approve]} --operator alice --secret-file "$D/alice.secret" >/dev/null'
dual "alice's second approval does not count" \
	'! "$AL_BIN/airlockctl" -c "$C" approve ${hid[approve]} --operator alice --secret-file "$D/alice.secret" 2>/dev/null'
dual "one approval is not enough" \
	'waitfor 30 "al_client \"\$D\" result ${hid[approve]} | grep -q \"^held (503): held for approval: 1 of 2 operators have approved (alice)\""'
dual "webdb does not send a held request again (linkd asks the signer)" \
	'! grep -q "req=${hid[approve]} repeated" "$D/log/linkd.log"'
dual "bob approves" '"$AL_BIN/airlockctl" -c "$C" approve ${hid[approve]} --operator bob --secret-file "$D/bob.secret" >/dev/null'
dual "carol denies another" '"$AL_BIN/airlockctl" -c "$C" deny ${hid[deny]} --operator carol --secret-file "$D/carol.secret" >/dev/null'
al_client "$D" wait --timeout 60 ${hid[approve]} ${hid[deny]} >/dev/null
dual "signed after two distinct approvals, by the new key" \
	'[ -s "$OUT/dual-approve.crt" ] && [ "$(aki "$OUT/dual-approve.crt")" = "$(ski "$D/ca/sub-ec/gen/2/ca.crt")" ] &&
	 openssl verify -CAfile "$D/ca/root/gen/2/ca.crt" -untrusted "$D/new-demo-ec.pem" "$OUT/dual-approve.crt" >/dev/null'
dual "the denied one is refused with 401 naming the operator" \
	'al_client "$D" result ${hid[deny]} 2>&1 | grep -q "^error 401: denied by operator carol"'
al_client "$D" wait --timeout 90 ${hid[timeout]} >/dev/null
dual "the one nobody approved times out with 402" \
	'al_client "$D" result ${hid[timeout]} 2>&1 | grep -q "^error 402: not approved in time: 0 of 2"'
dual "a late decision is refused" \
	'! "$AL_BIN/airlockctl" -c "$C" approve ${hid[timeout]} --operator alice --secret-file "$D/alice.secret" 2>/dev/null'
dual "each decision is an audit record naming the operator" \
	'[ "$(sqlite3 "$SDB" "select count(*) from audit where kind = \"operator\" and actor like \"airlockctl operator=%\" and (text like \"approve: operator alice approved%\" or text like \"approve: operator bob approved%\" or text like \"deny: operator carol denied%\")")" = 3 ]'
dual "the audit chain still verifies" '"$AL_BIN/airlockctl" -c "$C" audit verify >/dev/null 2>&1'

check "the signer logged no error" '! grep -qi "fatal\|cannot" "$D/log/signerd.log"'
al_stop "$D"

[ $failed = 0 ] || rollover_ok=0
dual=$dual_ok
echo "LIFECYCLE rollover_ok=$rollover_ok requests_failed=$failed old_key_crls_ok=$old_ok dual_control_ok=$dual"
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
