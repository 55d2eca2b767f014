#!/usr/bin/env bash
# t_pgp_import.sh: an existing GnuPG DSA-1024 root (the old system's kind),
# its secret key exported under a passphrase, imported with `airlockctl
# pgp-root import`: the fingerprint is kept, a wrong passphrase is refused,
# and a certification made with it through the signer's path (tools/
# bench-pgp.c, which drives signer_handle_batch) is a good signature for
# `gpg --check-sigs`.
set -u
AL_BIN=${AL_BIN:-$AL_TOP/build/bin}
command -v gpg >/dev/null || { echo "SKIP: gpg not installed"; exit 77; }
D=$(mktemp -d /tmp/airlock-pgpimport.XXXXXX)
export GNUPGHOME=$D/g
trap 'gpgconf --kill gpg-agent 2>/dev/null; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
. "$AL_TOP/scripts/tap.sh"
mkdir -m 0700 "$GNUPGHOME" "$D/keys"
G="gpg --batch --quiet --no-tty --pinentry-mode loopback"
$G --passphrase oldpass --quick-gen-key "Old DSA CA <old@ca.example>" dsa1024 cert,sign never 2>/dev/null
$G --passphrase oldpass --armor --export-secret-keys old@ca.example > "$D/old.sec"
fpr=$(gpg --batch --with-colons --list-keys old@ca.example | awk -F: '/^fpr/ {print $10; exit}')
echo wrong > "$D/bad"
echo oldpass > "$D/good"
check "a wrong passphrase is refused" \
	'! "$AL_BIN/airlockctl" pgp-root import --dir "$D/bad-root" --secret-key "$D/old.sec" --key-pass-file "$D/bad" --no-pass 2>/dev/null'
check "the DSA-1024 key is imported with its fingerprint" \
	'"$AL_BIN/airlockctl" pgp-root import --dir "$D/root" --secret-key "$D/old.sec" --key-pass-file "$D/good" \
	 --no-pass | grep -q "$fpr"'
$G --passphrase= --quick-gen-key "user0 <user0@bench.example>" ed25519 cert,sign never 2>/dev/null
$G --armor --export user0@bench.example > "$D/keys/0.asc"
check "the signer path certifies with the imported key" \
	'"$AL_BIN/bench-pgp" run "$D/root" "$D/keys" 1 1 "$D/ca.db" 2>/dev/null | grep -q "ok 1"'
python3 - "$D" <<'PY'
import sqlite3, struct, subprocess, sys
d = sys.argv[1]
a = sqlite3.connect(d + '/ca.db').execute("select answer from answers").fetchone()[0]
p, sigs = 18, b''
while p < len(a):
    t, l = struct.unpack('>HI', a[p:p + 6])
    if t == 25:
        sigs = a[p + 6:p + 6 + l]
    p += 6 + l
k = subprocess.run(['gpg', '--batch', '--export', 'user0@bench.example'], capture_output=True).stdout
open(d + '/merged.pgp', 'wb').write(k + sigs)
PY
$G --import "$D/merged.pgp" 2>/dev/null
check "gpg --check-sigs: a good certification by the imported DSA key" \
	'gpg --batch --with-colons --check-sigs user0@bench.example 2>/dev/null | grep -q "^sig:!:.*:${fpr:24:16}:"'
[ "$fails" = 0 ]
