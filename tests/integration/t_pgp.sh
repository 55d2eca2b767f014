#!/usr/bin/env bash
# t_pgp.sh: OpenPGP certification end to end (docs/openpgp.md). Keys made by
# GnuPG in a scratch GNUPGHOME go through the spool and the command line,
# over the pty cable, to the signer's OpenPGP root; the certified keys that
# come back are checked by GnuPG (gpg --check-sigs) and Sequoia (sq). Then
# every refusal: a bad self-signature, an expired key, a revoked key, a
# revoked user ID, a user ID not in the list, RSA-1024, DSA, a truncated
# key, malformed packets, too many packets, an oversized key; each gets its
# error code and a sentence, and a good request right after it is certified,
# so nothing blocks the queue. Exactly-once: the same id gets the same bytes.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-pgp.XXXXXX)
# the gpg-agents of the scratch GnuPG homes go with the test
trap 'for h in "$D"/gnupg "$D"/gv-*; do GNUPGHOME=$h gpgconf --kill gpg-agent 2>/dev/null; done
	al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

command -v gpg >/dev/null || { echo "SKIP: gpg not installed"; exit 77; }
AL_PGP=1 al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
K=$D/keys
mkdir -p "$K"
export GNUPGHOME=$D/gnupg
mkdir -m 0700 "$GNUPGHOME"
G="gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase="
gen() {	# NAME ALGO USAGE EXPIRE [more args]: a key with one user ID
	local n=$1 a=$2 u=$3 e=$4; shift 4
	$G "$@" --quick-gen-key "$n <$n@example.org>" "$a" "$u" "$e" 2>/dev/null || bad "gpg key $n"
	$G --export "$n@example.org" > "$K/$n.pgp"
	$G --armor --export "$n@example.org" > "$K/$n.asc"
}
spool() {	# NAME EMAIL KEYFILE: a request through the spool directory
	{ echo "type=pgp"; echo "root=demo-pgp"; echo "profile=openpgp"; echo "email=$2"
	  cat "$3"; } > "$D/webdb/state/spool/in/$1.req.tmp"
	mv "$D/webdb/state/spool/in/$1.req.tmp" "$D/webdb/state/spool/in/$1.req"
}
waitfor() {	# NAME: its .asc or .err
	for _ in $(seq 600); do
		[ -f "$D/webdb/state/spool/out/$1.asc" ] || [ -f "$D/webdb/state/spool/err/$1.err" ] && return 0
		sleep 0.1
	done
	return 1
}
code_of() { cut -d' ' -f1 "$D/webdb/state/spool/err/$1.err" 2>/dev/null; }
CA=$(gpg --batch --with-colons --show-keys "$D/ca/pgp/ca.asc" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')

# --- the good path ---
gen alice ed25519 cert,sign never
gen bob rsa3072 cert,sign never
$G --quick-add-uid "bob@example.org" "Bob Other <bob.other@example.org>" 2>/dev/null
$G --armor --export bob@example.org > "$K/bob.asc"
spool alice alice@example.org "$K/alice.asc"
id=$(al_client "$D" pgp-certify --root demo-pgp --profile openpgp --email bob@example.org \
	--name bob "$K/bob.asc") || bad "pgp-certify bob"
check "alice certified through the spool" 'waitfor alice && [ -f "$D/webdb/state/spool/out/alice.asc" ]'
check "bob certified through the command line" 'waitfor bob && [ -f "$D/webdb/state/spool/out/bob.asc" ]'
check "result of bob's request prints the certified key, as the spool has it" \
	'al_client "$D" result "$id" > "$D/bob-result.asc" && cmp -s "$D/bob-result.asc" "$D/webdb/state/spool/out/bob.asc"'

verify_gpg() {	# NAME EMAIL: a good certification by the root on that user ID, per gpg
	local h=$D/gv-$1
	rm -rf "$h"; mkdir -m 0700 "$h"
	GNUPGHOME=$h gpg --batch --quiet --import "$D/ca/pgp/ca.asc" "$D/webdb/state/spool/out/$1.asc" 2>/dev/null
	GNUPGHOME=$h gpg --batch --with-colons --check-sigs "$2" 2>/dev/null > "$h/sigs"
	# sig:!: on the uid, by the CA's key id, class 10x
	awk -F: -v uid="$2" -v ca="${CA:24:16}" '
		/^uid:/ { cur = ($10 ~ uid) } /^sub:/ { cur = 0 }
		cur && /^sig:!:/ && $5 == ca && $11 == "10x" { n++ } END { exit n ? 0 : 1 }' "$h/sigs"
}
check "gpg --check-sigs: alice's user ID certified by the root" 'verify_gpg alice alice@example.org'
check "gpg --check-sigs: bob's listed user ID certified by the root" 'verify_gpg bob "<bob@example.org>"'
check "bob's other user ID (not listed) is not certified" '! verify_gpg bob bob.other@example.org'
check "the certification expires after 366 days" \
	'GNUPGHOME=$D/gv-alice gpg --batch --with-colons --list-sigs alice@example.org 2>/dev/null |
	 awk -F: -v ca="${CA:24:16}" "/^sig:/ && \$5 == ca { d = \$7 - \$6 } END { exit d == 366 * 86400 ? 0 : 1 }"'
if command -v sq >/dev/null; then
	# sq 0.27 has no command that checks third-party certifications
	# cryptographically; it parses the key and names the certifier
	sqcheck() {	# NAME EMAIL
		sq inspect --certifications "$D/webdb/state/spool/out/$1.asc" > "$D/sq-$1" 2>&1 &&
		awk -v uid="$2" -v ca="${CA:24:16}" '
			/UserID:/ { cur = index($0, uid) > 0 }
			cur && /Alleged certifier:/ && index($0, ca) { n++ } END { exit n ? 0 : 1 }' "$D/sq-$1" &&
		! grep -qi invalid "$D/sq-$1"
	}
	check "sq parses alice's key and names the root as certifier" 'sqcheck alice "<alice@example.org>"'
	check "sq parses bob's key and names the root as certifier" 'sqcheck bob "<bob@example.org>"'
fi
check "the answer carries only the new signatures" \
	'[ "$(sqlite3 "$D/webdb/state/outbox.db" "select length(answer) from outbox where name = '"'"'alice'"'"'")" -lt 300 ]'

# --- exactly-once: the same id again gets the same bytes ---
id2=$(al_client "$D" pgp-certify --root demo-pgp --profile openpgp --email bob@example.org \
	--id "$id" --name bob-again "$K/bob.asc" 2>/dev/null)
check "a repeated id is not queued twice" '[ "$id2" = "$id" ]'

# --- refusals: each one its code, and the queue moves on ---
gen badsig ed25519 cert,sign never
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-1]^=1; open(sys.argv[1],"wb").write(b)' "$K/badsig.pgp"
gen expired ed25519 cert,sign seconds=1
gen revkey ed25519 cert,sign never
fp=$(gpg --batch --with-colons --show-keys "$K/revkey.pgp" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
sed 's/^:-----/-----/' "$GNUPGHOME/openpgp-revocs.d/$fp.rev" | $G --import 2>/dev/null
$G --export revkey@example.org > "$K/revkey.pgp"
gen revuid ed25519 cert,sign never
$G --quick-add-uid revuid@example.org "Revuid Two <revuid2@example.org>" 2>/dev/null
$G --quick-revoke-uid revuid@example.org "revuid <revuid@example.org>" 2>/dev/null
$G --export revuid@example.org > "$K/revuid.pgp"
gen notlisted ed25519 cert,sign never
gen rsa1024 rsa1024 cert,sign never
gen dsa dsa2048 cert,sign never
head -c 60 "$K/alice.pgp" > "$K/truncated.pgp"
printf '\x80\x00garbage-that-is-no-packet' > "$K/malformed.pgp"
python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); open(sys.argv[2],"wb").write(b + b"\xcc\x00" * 300)' \
	"$K/alice.pgp" "$K/manypackets.pgp"
sleep 1.2	# "expired" has expired
for spec in badsig expired revkey revuid notlisted rsa1024 dsa truncated malformed manypackets; do
	email=$spec@example.org
	[ "$spec" = notlisted ] && email=someone.else@example.org
	case $spec in truncated|malformed|manypackets) email=alice@example.org ;; esac
	{ echo "type=pgp"; echo "root=demo-pgp"; echo "profile=openpgp"; echo "email=$email"; echo
	  cat "$K/$spec.pgp"; } > "$D/webdb/state/spool/in/$spec.req.tmp"
	mv "$D/webdb/state/spool/in/$spec.req.tmp" "$D/webdb/state/spool/in/$spec.req"
	# a good request right behind each bad one
	cp "$K/alice.asc" "$K/after-$spec.asc"
	al_client "$D" pgp-certify --root demo-pgp --profile openpgp --email alice@example.org \
		--days 30 --name "after-$spec" "$K/after-$spec.asc" >/dev/null
done
for spec in "badsig 212" "expired 213" "revkey 214" "revuid 214" "notlisted 215" "rsa1024 205" \
	    "dsa 204" "truncated 210" "malformed 210" "manypackets 216"; do
	set -- $spec
	n=$1 want=$2
	waitfor "$n"
	check "$n refused with $want: $(cut -c1-90 "$D/webdb/state/spool/err/$n.err" 2>/dev/null)" \
		'[ "$(code_of "$n")" = "$want" ] && [ "$(wc -w < "$D/webdb/state/spool/err/$n.err")" -ge 4 ]'
	check "the request after $n is certified" 'waitfor "after-$n" && [ -f "$D/webdb/state/spool/out/after-$n.asc" ]'
done
head -c 70000 /dev/urandom > "$K/huge.pgp"
check "an oversized key is refused by the client" \
	'! al_client "$D" pgp-certify --root demo-pgp --profile openpgp --email a@example.org "$K/huge.pgp" 2>/dev/null'
check "more days than the profile allows: 209" \
	'al_client "$D" pgp-certify --root demo-pgp --profile openpgp --email alice@example.org --days 400 \
	 --name days "$K/alice.asc" >/dev/null && waitfor days && [ "$(code_of days)" = 209 ]'
check "an unknown OpenPGP root: 200" \
	'al_client "$D" pgp-certify --root nosuch --profile openpgp --email alice@example.org \
	 --name noroot "$K/alice.asc" >/dev/null && waitfor noroot && [ "$(code_of noroot)" = 200 ]'
check "audit records of the certifications" \
	'[ "$("$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" audit tail -n 100 | grep -c pgp-certify)" -ge 2 ]'
check "audit chain verifies" '"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" audit verify >/dev/null'
check "airlockctl roots lists the OpenPGP root with its fingerprint" \
	'"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" roots | grep -q "demo-pgp .*$CA"'
check "the signer is still running" 'kill -0 "$(cat "$D/signerd.pid")"'
[ "$fails" = 0 ]
