#!/usr/bin/env bash
# t_pkcs11.sh: a CA key on a PKCS#11 token, end to end. A throwaway
# SoftHSM2 token (its own SOFTHSM2_CONF and token directory), an EC P-256
# and an RSA-2048 key pair generated on it with pkcs11-tool; airlockctl
# root init makes a subroot for each, signed by the file-based test root,
# writing key.uri instead of ca.key; then the three processes issue through
# them over the simulated cable, and the certificates are checked with
# openssl and GnuTLS. A wrong PIN and a missing object stop the signer at
# start with a sentence naming key.uri. Skips (77) without softhsm2,
# opensc's pkcs11-tool or the libp11 engine.
set -u
. "$AL_TOP/scripts/harness.sh"

MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
ENGINE=$(openssl version -e 2>/dev/null | sed -n 's/^ENGINESDIR: "\(.*\)"/\1/p')/pkcs11.so
for t in softhsm2-util pkcs11-tool certtool; do
	command -v "$t" >/dev/null || { echo "needs $t (softhsm2, opensc, gnutls-bin)"; exit 77; }
done
[ -f "$MODULE" ] || { echo "needs $MODULE (softhsm2)"; exit 77; }
[ -f "$ENGINE" ] || { echo "needs the pkcs11 engine $ENGINE (libengine-pkcs11-openssl)"; exit 77; }

D=$(mktemp -d /tmp/airlock-pkcs11.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

# the token
mkdir -p "$D/tokens"
export SOFTHSM2_CONF=$D/softhsm2.conf
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$D/tokens" > "$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label airlock-test --pin 123456 --so-pin 654321 \
	>"$D/softhsm.log" 2>&1 || { cat "$D/softhsm.log"; exit 1; }
p11() { pkcs11-tool --module "$MODULE" --token-label airlock-test --login --pin 123456 "$@"; }
p11 --keypairgen --key-type EC:prime256v1 --label ec-ca --id 01 >>"$D/softhsm.log" 2>&1 ||
	{ bad "EC key pair on the token"; exit 1; }
p11 --keypairgen --key-type rsa:2048 --label rsa-ca --id 02 >>"$D/softhsm.log" 2>&1 ||
	{ bad "RSA key pair on the token"; exit 1; }
printf '123456\n' > "$D/pin"
chmod 0400 "$D/pin"

al_setup "$D"
for k in ec rsa; do
	check "root init with the $k key on the token" \
		'"$AL_BIN/airlockctl" root init --dir "$D/ca/hsm-$k" --subject "/CN=airlock HSM $k subroot/O=airlock test" \
			--key-uri "pkcs11:token=airlock-test;object=$k-ca;type=private" --module "$MODULE" \
			--pin-file "$D/pin" --parent "$D/ca/root" --pathlen 0 --days 1000 >"$D/log/init-$k.log" 2>&1 || { cat "$D/log/init-$k.log"; false; }'
	check "hsm-$k: key.uri written, no ca.key" '[ -f "$D/ca/hsm-$k/key.uri" ] && [ ! -e "$D/ca/hsm-$k/ca.key" ]'
	check "hsm-$k: certificate verifies under the root" \
		'openssl verify -x509_strict -CAfile "$D/ca/root/ca.crt" "$D/ca/hsm-$k/ca.crt" >/dev/null'
done
check "roots shows the token keys" \
	'sed -i "s#^roots = (#roots = (\n  { name = \"hsm-ec\"; dir = \"$D/ca/hsm-ec\"; pass_file = \"$D/pin\"; profiles = [\"server\", \"client\"]; },\n  { name = \"hsm-rsa\"; dir = \"$D/ca/hsm-rsa\"; pass_file = \"$D/pin\"; profiles = [\"server\"]; },#" "$D/signer/airlock.conf" &&
	 "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" roots | grep -q "^hsm-ec .*pkcs11"'

al_cable "$D" --baud 115200
al_start "$D"
declare -A id
for spec in "t1 ec:P-256 hsm-ec server DNS" "t2 rsa:2048 hsm-ec client email" \
	    "t3 ec:P-384 hsm-rsa server DNS"; do
	read -r n k r p san <<<"$spec"
	[ "$san" = DNS ] && san="DNS:$n.hsm.example" || san="email:$n@hsm.example"
	al_csr "$D" "$n" "$k" "$n.hsm.example" -addext "subjectAltName=$san"
	id[$n]=$(al_client "$D" submit --root "$r" --profile "$p" --name "$n" "$D/csr/$n.csr")
done
check "every request answered within 60 s" 'al_client "$D" wait --timeout 60 ${id[@]} >/dev/null'
out=$D/webdb/state/spool/out
for spec in "t1 hsm-ec sslserver" "t2 hsm-ec sslclient" "t3 hsm-rsa sslserver"; do
	read -r n r pu <<<"$spec"
	check "$n: issued by the token key of $r" '[ -s "$out/$n.crt" ]'
	check "$n: openssl verify -purpose $pu" \
		'openssl verify -x509_strict -purpose $pu -CAfile "$D/ca/root/ca.crt" -untrusted "$D/ca/$r/ca.crt" "$out/$n.crt" >/dev/null'
	cat "$out/$n.crt" "$D/ca/$r/ca.crt" "$D/ca/root/ca.crt" > "$D/full-$n.pem" 2>/dev/null
	# the leaf first: without it certtool verifies the CA certificates alone
	check "$n: certtool --verify-chain" \
		'[ -s "$out/$n.crt" ] && certtool --verify-chain --infile "$D/full-$n.pem" 2>&1 | grep -q "Verified"'
done
check "the signer says nothing went wrong" '! grep -qi "error\|cannot" "$D/log/signerd.log"'
al_stop "$D"

# a wrong PIN and a missing object stop the signer at start, naming key.uri.
# In `make asan`: these exits unload the pkcs11 engine (OPENSSL_cleanup)
# with memory of its own still allocated (tests/lsan.supp); libcrypto has
# no frame pointers, so only full unwinding shows the engine calls that
# the suppressions name.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0
printf '000000\n' > "$D/badpin"
sed "s#pass_file = \"$D/pin\"#pass_file = \"$D/badpin\"#" "$D/signer/airlock.conf" > "$D/bad.conf"
timeout 30 "$AL_BIN/airlock-signerd" -d -c "$D/bad.conf" </dev/null >"$D/log/badpin.log" 2>&1
rc=$?
check "wrong PIN: the signer stops (status $rc)" '[ $rc = 1 ]'
check "wrong PIN: the sentence names key.uri and the token" \
	'grep -q "hsm-ec/key.uri: cannot load the key from the token" "$D/log/badpin.log"'
sed -i 's/object=ec-ca/object=no-such-key/' "$D/ca/hsm-ec/key.uri"
timeout 30 "$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" </dev/null >"$D/log/nokey.log" 2>&1
check "missing object: the signer stops with a sentence naming key.uri" \
	'[ $? = 1 ] && grep -q "hsm-ec/key.uri" "$D/log/nokey.log"'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
