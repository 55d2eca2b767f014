#!/usr/bin/env bash
# demo.sh: `make demo`. A throwaway root CA with two subroots (RSA-4096 and
# ECDSA P-384), a simulated 115200-baud cable between two pseudo-terminals,
# the signer, the link daemon and the webdb client as separate processes;
# six CSRs across both subroots and both profiles, submitted through the
# spool directory and the command line; every certificate checked with
# `openssl verify`; one OpenPGP key certified by an OpenPGP root and checked
# with `gpg --check-sigs` (STATE/pgp/certified.asc, the root's key in
# STATE/pgp/ca.asc). The state stays behind for airlockctl.
set -u
# time samples every 5 s, so that the short demo leaves several behind
AL_TIME_INTERVAL=${AL_TIME_INTERVAL:-2}
. "$(dirname "$0")/harness.sh"

D=$(mktemp -d /tmp/airlock-demo.XXXXXX)
trap 'al_stop "$D"' EXIT
echo "demo: state in $D"
AL_PGP=1 al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"

ids=()
n=0
for spec in "web1 rsa:2048 demo-rsa server" "web2 ec:P-256 demo-ec server" \
	    "alice ec:P-256 demo-rsa client" "bob rsa:2048 demo-ec client" \
	    "web3 ec:P-384 demo-ec server" "carol ec:P-256 demo-ec client"; do
	set -- $spec
	al_csr "$D" "$1" "$2" "$1.demo.example"
	n=$((n + 1))
	if [ $((n % 2)) = 0 ]; then
		# through the spool directory, as the web application would
		{ echo "root=$3"; echo "profile=$4"; cat "$D/csr/$1.csr"; } > "$D/webdb/state/spool/in/$1.req.tmp"
		mv "$D/webdb/state/spool/in/$1.req.tmp" "$D/webdb/state/spool/in/$1.req"
		ids+=("spool:$1:$3")
	else
		id=$(al_client "$D" submit --root "$3" --profile "$4" --name "$1" "$D/csr/$1.csr") || exit 1
		ids+=("$id:$1:$3")
	fi
done

issued=0 verified=0
for entry in "${ids[@]}"; do
	IFS=: read -r id name root <<<"$entry"
	out=$D/webdb/state/spool/out/$name.crt
	for _ in $(seq 600); do [ -f "$out" ] || [ -f "$D/webdb/state/spool/err/$name.err" ] && break; sleep 0.1; done
	if [ ! -f "$out" ]; then
		echo "demo: $name: no certificate: $(cat "$D/webdb/state/spool/err/$name.err" 2>/dev/null || echo timeout)"
		continue
	fi
	issued=$((issued + 1))
	sub=sub-rsa; [ "$root" = demo-ec ] && sub=sub-ec
	echo "  $name: $(openssl x509 -in "$out" -noout -subject -nameopt oneline)"
	echo "        $(openssl x509 -in "$out" -noout -issuer -nameopt oneline)"
	echo "        $(openssl x509 -in "$out" -noout -serial)"
	if al_verify "$D" "$sub" "$out"; then
		verified=$((verified + 1))
		echo "        openssl verify: OK"
	else
		echo "        openssl verify: FAILED"
	fi
done
# one OpenPGP key, made by GnuPG, certified by the OpenPGP root "demo-pgp"
pgp=0 pgpok=0
mkdir -p "$D/pgp"
cp "$D/ca/pgp/ca.asc" "$D/pgp/ca.asc"
export GNUPGHOME=$D/pgp/gnupg
mkdir -m 0700 -p "$GNUPGHOME"
if gpg --batch --quiet --pinentry-mode loopback --passphrase= --quick-gen-key \
	"Dora Demo <dora@demo.example>" ed25519 cert,sign never 2>/dev/null; then
	{ echo "type=pgp"; echo "root=demo-pgp"; echo "profile=openpgp"; echo "email=dora@demo.example"
	  gpg --batch --armor --export dora@demo.example; } > "$D/webdb/state/spool/in/dora.req.tmp"
	mv "$D/webdb/state/spool/in/dora.req.tmp" "$D/webdb/state/spool/in/dora.req"
	out=$D/webdb/state/spool/out/dora.asc
	for _ in $(seq 600); do [ -f "$out" ] || [ -f "$D/webdb/state/spool/err/dora.err" ] && break; sleep 0.1; done
	if [ -f "$out" ]; then
		pgp=1
		cp "$out" "$D/pgp/certified.asc"
		gpg --batch --quiet --import "$D/pgp/ca.asc" "$D/pgp/certified.asc" 2>/dev/null
		echo "  dora: OpenPGP key certified by the root (gpg --check-sigs):"
		gpg --batch --check-sigs dora@demo.example 2>/dev/null | sed -n '/^uid/,/^$/p' | sed 's/^/        /'
		ca=$(gpg --batch --with-colons --show-keys "$D/pgp/ca.asc" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
		gpg --batch --with-colons --check-sigs dora@demo.example 2>/dev/null |
			grep -q "^sig:!:.*:${ca:24:16}:" && pgpok=1
	else
		echo "demo: dora: no certified key: $(cat "$D/webdb/state/spool/err/dora.err" 2>/dev/null || echo timeout)"
	fi
else
	echo "demo: gpg could not make a key; no OpenPGP certification"
fi
gpgconf --kill gpg-agent 2>/dev/null	# the demo's GnuPG home keeps no agent
# a few time samples for airlockctl time (at most 15 s more)
for _ in $(seq 150); do
	[ "$(sqlite3 "$D/signer/state/ca.db" "select count(*) from time_samples" 2>/dev/null)" -ge 3 ] 2>/dev/null && break
	sleep 0.1
done
ln -sf signer/airlock.conf "$D/airlock.conf"
# webdb's mirror of the signer's audit chain catches up (at most 30 s more)
for _ in $(seq 300); do
	s=$(sqlite3 "$D/signer/state/ca.db" "select max(seq) from audit" 2>/dev/null)
	w=$(sqlite3 "$D/webdb/state/audit.db" "select max(seq) from record where seq = (select seq from signed_head)" 2>/dev/null)
	m=$(sqlite3 "$D/signer/state/ca.db" "select seq from audit_mirror" 2>/dev/null)
	[ -n "$s" ] && [ "$s" = "$w" ] && [ "$s" = "$m" ] && break
	sleep 0.1
done
echo "  the signer's record as webdb mirrors it (airlock-client -c $D/webdb/airlock-client.conf audit verify):"
al_client "$D" audit verify | sed 's/^/    /'
echo "  operator's view (airlockctl -c $D/airlock.conf status):"
"$AL_BIN/airlockctl" -c "$D/airlock.conf" status | sed 's/^/    /'
echo "  more on the console: airlockctl -c $D/airlock.conf"
echo "    queue | show ID | time | audit verify | audit tail | certs --root demo-ec"
echo "    crl | roots | top (q quits); the clock: airlock-timesync -c ... --dry-run"
echo "demo: $issued certificates issued, $verified verified, $pgp OpenPGP keys certified, $pgpok verified, state in $D"
[ "$issued" = 6 ] && [ "$verified" = 6 ] && [ "$pgp" = 1 ] && [ "$pgpok" = 1 ]
