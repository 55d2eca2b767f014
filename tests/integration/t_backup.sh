#!/usr/bin/env bash
# t_backup.sh: backup, restore and the catch-up after it (issue 18,
# docs/operations.md, docs/protocol.md 9.8). A running signer host is
# backed up (the daemons keep running) and the file verified; a wrong
# passphrase and a flipped byte are refused; restore refuses live state
# without --force; a restore into a fresh state followed by a backup gives
# identical contents, byte for byte. After the restore the signer waits:
# status says so, a SIGN accepted meanwhile is not lost and is answered
# after the catch-up, and a certificate webdb sends back that our CA did
# not sign is refused and counted. Then the drill (scripts/drill.sh) in
# small: every certificate recovered, CRL numbers monotonic, audit ok.
# webdb's side likewise: a backup while the client runs, a restore into a
# fresh state, refusal of live state, identical contents after.
# Backups sealed to OpenPGP public keys (an RSA and a Curve25519 custodian
# key made by gpg): gpg decrypts them with either secret key to the very
# bytes of a plain backup of the same state; webdb's is restored from
# gpg's output through a pipe; keys that cannot encrypt are refused.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-backup.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
CTL=$AL_BIN/airlockctl SCONF=$D/signer/airlock.conf SDB=$D/signer/state/ca.db
OUT=$D/webdb/state/spool/out

al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
sign() {	# NAME: a certificate through the client, waited for
	local id
	al_csr "$D" "$1" ec:P-256 "$1.backup.example"
	id=$(al_client "$D" submit --root demo-ec --profile server --name "$1" "$D/csr/$1.csr") &&
		al_client "$D" wait --timeout 60 "$id" >/dev/null
}
for n in k1 k2; do sign "$n" || bad "certificate $n"; done
echo "backup passphrase" > "$D/pass"
# two custodians' OpenPGP keys, made by gpg in their own homes
G="gpg -q --batch --pinentry-mode loopback --passphrase ''"
mkdir -m 700 "$D/gA" "$D/gB" "$D/gC"
trap 'for g in gA gB gC; do GNUPGHOME=$D/$g gpgconf --kill all 2>/dev/null; done; al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
GNUPGHOME=$D/gA eval "$G --quick-gen-key 'Custodian A <a@example.org>' default default never"
GNUPGHOME=$D/gA gpg --export -a > "$D/A.asc"
GNUPGHOME=$D/gB eval "$G --quick-gen-key 'Custodian B <b@example.org>' ed25519 cert never"
FB=$(GNUPGHOME=$D/gB gpg --list-keys --with-colons | awk -F: '/^fpr/ { print $10; exit }')
GNUPGHOME=$D/gB eval "$G --quick-add-key $FB cv25519 encr never"
GNUPGHOME=$D/gB gpg --export > "$D/B.pgp"
GNUPGHOME=$D/gC eval "$G --quick-gen-key 'Signing only <c@example.org>' ed25519 sign never"
GNUPGHOME=$D/gC gpg --export -a > "$D/C.asc"
GNUPGHOME=$D/gC eval "$G --faked-system-time 20200101T000000 --quick-gen-key 'Old <o@example.org>' rsa2048 default 1y" 2>/dev/null
GNUPGHOME=$D/gC gpg --export -a o@example.org > "$D/O.asc"
GNUPGHOME=$D/gC eval "$G --quick-gen-key 'One key <d@example.org>' rsa2048 sign,cert,encr never"
GNUPGHOME=$D/gC gpg --export -a d@example.org > "$D/E.asc"
echo "another passphrase" > "$D/wrong"

echo "alice's long secret" > "$D/alice.secret"
check "an operator of dual control is added" \
	'"$CTL" -c "$SCONF" operator add alice --secret-file "$D/alice.secret" >/dev/null'
check "backup of the running signer" \
	'"$CTL" -c "$SCONF" backup --pass-file "$D/pass" "$D/b1" > "$D/b1.out"'
check "the daemons still run" 'kill -0 $(cat "$D/signerd.pid") && kill -0 $(cat "$D/linkd.pid")'
check "the backup file is mode 0600" '[ "$(stat -c %a "$D/b1")" = 600 ]'
check "backup --verify lists the manifest" \
	'"$CTL" backup --verify --pass-file "$D/pass" "$D/b1" > "$D/v1.out" &&
	 grep -q " db/ca.db $SDB\$" "$D/v1.out" && grep -q " db/queue.db " "$D/v1.out" &&
	 grep -q " key/link.key " "$D/v1.out" && grep -q " ca/demo-ec/ca.key " "$D/v1.out" &&
	 grep -q " key/operators $D/signer/state/operators\$" "$D/v1.out" &&
	 grep -q "^verified .*audit head [0-9]*:[0-9a-f]\{64\}" "$D/v1.out"'
check "the snapshot of ca.db holds both certificates" \
	'sqlite3 "$SDB" "select count(*) from certs" | grep -qx 2'
check "a wrong passphrase is refused" \
	'! "$CTL" backup --verify --pass-file "$D/wrong" "$D/b1" 2>&1 | grep -q verified'
cp "$D/b1" "$D/b1.bad"
printf '\x55' | dd of="$D/b1.bad" bs=1 seek=2000 conv=notrunc 2>/dev/null
check "a flipped byte is refused" '! "$CTL" backup --verify --pass-file "$D/pass" "$D/b1.bad" >/dev/null 2>&1'
check "no key material in clear in the sealed file" '! grep -q "PRIVATE KEY" "$D/b1"'
check "backup of webdb's state while the client runs, to two OpenPGP keys" \
	'al_client "$D" backup --to "$D/A.asc" --to "$D/B.pgp" "$D/w1" > "$D/w1.out" &&
	 grep -q "encrypted to OpenPGP key .* $FB)" "$D/w1.out" &&
	 GNUPGHOME=$D/gB gpg -q --batch --decrypt "$D/w1" 2>/dev/null |
	 al_client "$D" backup --verify - > "$D/wv1.out" &&
	 grep -q " db/outbox.db " "$D/wv1.out" && grep -q " db/audit.db " "$D/wv1.out" &&
	 grep -q " key/link.key " "$D/wv1.out"'
check "a key without an encryption subkey is refused, and nothing is written" \
	'! "$CTL" -c "$SCONF" backup --to "$D/C.asc" "$D/bx" 2>"$D/bx.err" &&
	 grep -q "no valid encryption subkey" "$D/bx.err" && [ ! -e "$D/bx" ]'
check "an expired key is refused" \
	'! "$CTL" -c "$SCONF" backup --to "$D/O.asc" "$D/bx" 2>"$D/bx.err" &&
	 grep -q "has expired" "$D/bx.err" && [ ! -e "$D/bx" ]'
check "restore refuses live state" \
	'! "$CTL" restore --pass-file "$D/pass" "$D/b1" 2>"$D/r0.err" && grep -q "use --force" "$D/r0.err"'

# a fresh state: restore, then back up again
al_stop_one "$D" client
al_stop_one "$D" linkd
al_stop_one "$D" signerd
mv "$D/signer" "$D/signer.old"
mv "$D/ca" "$D/ca.old"
check "restore into a fresh state" '"$CTL" restore --pass-file "$D/pass" "$D/b1" > "$D/r1.out"'
check "the restore leaves the catch-up mark" '[ -f "$SDB.restored" ]'
check "keys come back 0600" '[ "$(stat -c %a "$D/ca/sub-ec/ca.key")" = 600 ]'
check "the operators come back" \
	'"$CTL" -c "$SCONF" operator list 2>/dev/null | grep -q alice'
mv "$SDB.restored" "$D/mark"	# not part of the state that was backed up
check "restore then backup: identical contents" \
	'"$CTL" -c "$SCONF" backup --no-encrypt "$D/b2" >/dev/null &&
	 "$CTL" backup --verify "$D/b2" | sed "\$d" > "$D/m2" &&
	 sed "\$d" "$D/v1.out" > "$D/m1" && cmp -s "$D/m1" "$D/m2"'
"$CTL" -c "$SCONF" backup --no-encrypt "$D/b3" >/dev/null
check "two backups of the same state are the same bytes" 'cmp -s "$D/b2" "$D/b3"'
check "sealed to OpenPGP keys: gpg (RSA key) decrypts it to the plain backup's bytes" \
	'"$CTL" -c "$SCONF" backup --to "$D/A.asc" --to "$D/B.pgp" "$D/b4" >/dev/null &&
	 GNUPGHOME=$D/gA gpg -q --batch --decrypt "$D/b4" > "$D/b4.a" 2>/dev/null &&
	 cmp -s "$D/b4.a" "$D/b2"'
check "... and so does the Curve25519 custodian's key" \
	'GNUPGHOME=$D/gB gpg -q --batch --decrypt "$D/b4" > "$D/b4.b" 2>/dev/null &&
	 cmp -s "$D/b4.b" "$D/b2"'
check "... and to a lone RSA key marked for encryption" \
	'"$CTL" -c "$SCONF" backup --to "$D/E.asc" "$D/b5" >/dev/null &&
	 GNUPGHOME=$D/gC gpg -q --batch --decrypt "$D/b5" 2>/dev/null | cmp -s - "$D/b2"'
check "an OpenPGP-sealed file handed to restore names its keys and the way to decrypt" \
	'! "$CTL" restore "$D/b4" 2>"$D/b4.err" && grep -q "encrypted to OpenPGP key(s) [0-9A-F]\{16\} [0-9A-F]\{16\}" "$D/b4.err" &&
	 grep -q "gpg --decrypt" "$D/b4.err"'
mv "$D/mark" "$SDB.restored"
mkdir -p "$D/signer/run"

# the signer waits for the catch-up; nothing accepted meanwhile is lost
"$AL_BIN/airlock-signerd" -d -c "$SCONF" 2>>"$D/log/signerd.log" & echo $! > "$D/signerd.pid"
"$AL_BIN/airlock-linkd" -d -c "$SCONF" 2>>"$D/log/linkd.log" & echo $! > "$D/linkd.pid"
sleep 1
check "status says the signer waits for the catch-up" \
	'"$CTL" -c "$SCONF" status | grep -q "^restore RESTORED FROM A BACKUP"'
# a certificate of another CA in webdb's outbox, as a forger would put it
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/x.key" \
	-subj "/CN=forged" -days 30 -outform DER -out "$D/x.der" 2>/dev/null
python3 - "$D/webdb/state/outbox.db" "$D/x.der" <<'PY'
import os, sqlite3, sys, time
der = open(sys.argv[2], "rb").read()
rid = os.urandom(16)
ans = bytes([1, 0x81]) + rid + (12).to_bytes(2, "big") + len(der).to_bytes(4, "big") + der
db = sqlite3.connect(sys.argv[1])
db.execute("insert into outbox (reqid, type, name, state, created, updated, request, answer, code)"
           " values (?, 1, 'forged', 2, ?, ?, x'00', ?, 0)", (rid, int(time.time()), int(time.time()), ans))
db.commit()
PY
al_csr "$D" k3 ec:P-256 k3.backup.example
ID3=$(al_client "$D" submit --root demo-ec --profile server --name k3 "$D/csr/k3.csr")
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
check "the SIGN accepted during the wait is answered after the catch-up" \
	'al_client "$D" wait --timeout 120 "$ID3" >/dev/null && [ -s "$OUT/k3.crt" ]'
check "the catch-up finished and the mark is gone" '[ ! -f "$SDB.restored" ]'
check "the certificate our CA did not sign was refused" \
	'"$CTL" -c "$SCONF" status | grep -q "^restore catch-up finished: .*refused 1"'
check "and is not in ca.db" \
	'[ "$(sqlite3 "$SDB" "select count(*) from certs where subject like \"%forged%\"")" = 0 ]'
check "the signer's chain verifies after the catch-up" '"$CTL" -c "$SCONF" audit verify >/dev/null'
al_stop "$D"

# webdb: restore into a fresh state, back up again, same contents
mv "$D/webdb" "$D/webdb.old"
check "webdb's restore into a fresh state, from gpg through a pipe" \
	'GNUPGHOME=$D/gA gpg -q --batch --decrypt "$D/w1" 2>/dev/null |
	 "$AL_BIN/airlock-client" restore - >/dev/null'
check "webdb's restore refuses live state" \
	'! GNUPGHOME=$D/gA gpg -q --batch --decrypt "$D/w1" 2>/dev/null |
	 "$AL_BIN/airlock-client" restore - 2>/dev/null'
check "webdb: restore then backup gives identical contents" \
	'al_client "$D" backup --no-encrypt "$D/w2" >/dev/null &&
	 al_client "$D" backup --verify "$D/w2" | sed "\$d" > "$D/wm2" &&
	 sed "\$d" "$D/wv1.out" > "$D/wm1" && cmp -s "$D/wm1" "$D/wm2"'

out=$(DRILL_N=3 DRILL_M=3 DRILL_REVOKE=2 DRILL_QUIET=1 "$AL_TOP/scripts/drill.sh" 2>&1); rc=$?
echo "$out" | sed 's/^/# /'
check "the drill: everything recovered, CRL numbers monotonic, audit ok" \
	'[ $rc = 0 ] && echo "$out" | grep -q "^DRILL certs=3+3 recovered=3 lost=0 crl_monotonic=1 audit=ok "'

[ "$fails" = 0 ] || { echo "t_backup: $fails failed"; exit 1; }
echo "t_backup: all passed"
