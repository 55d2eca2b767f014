#!/usr/bin/env bash
# t_cadir.sh: CA directories at the signer's start. Each way a directory
# can be broken (wrong passphrase, no passphrase and no terminal, a missing
# pass file, a truncated ca.crt, the key of another CA, a chain.pem that
# did not issue ca.crt, a missing directory, a key.uri that is not a
# pkcs11 URI) stops airlock-signerd at once with exit status 1 and one
# sentence naming the file and the reason. An encrypted key with no
# pass_file is asked for on the console when the signer starts on a
# terminal (here a pseudo-terminal made by script(1)); a wrong answer stops
# it like a wrong pass file. airlockctl roots describes every directory.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-cadir.XXXXXX)
trap 'for p in $(cat "$D"/*.pid 2>/dev/null); do kill "$p" 2>/dev/null; done; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
ctl() { "$AL_BIN/airlockctl" "$@"; }

printf 'right horse battery\n' > "$D/root.pass"
chmod 0400 "$D/root.pass"
ctl root init --dir "$D/root" --subject "/CN=cadir root/O=airlock test" --key ec:P-256 \
	--pass-file "$D/root.pass" >/dev/null || { echo "root init"; exit 1; }
ctl root init --dir "$D/other" --subject "/CN=other root" --key ec:P-256 >/dev/null
# shorter than the root's 3650 days: with both at the default, a root made
# in an earlier second would be outlived by a few seconds (and refused)
ctl root init --dir "$D/sub" --subject "/CN=cadir sub" --key ec:P-256 --parent "$D/root" \
	--parent-pass-file "$D/root.pass" --days 1825 >/dev/null
check "the new key is encrypted" 'grep -q "ENCRYPTED PRIVATE KEY" "$D/root/ca.key"'
check "key files are 0600" '[ "$(stat -c %a "$D/root/ca.key")" = 600 ] && [ "$(stat -c %a "$D/sub/ca.key")" = 600 ]'
check "root init refuses an existing key file" \
	'! ctl root init --dir "$D/root" --subject "/CN=again" >/dev/null 2>&1 && grep -q ENCRYPTED "$D/root/ca.key"'

conf() {	# NAME DIR PASSFILE: a signer configuration with one root
	mkdir -p "$D/$1-state" "$D/$1-run"
	cat > "$D/$1.conf" <<CONF
state_dir = "$D/$1-state";
run_dir = "$D/$1-run";
profiles = ( { name = "server"; san = ["dns"]; } );
roots = ( { name = "r"; dir = "$2"; pass_file = "$3"; profiles = ["server"]; } );
CONF
}
start_fails() {	# NAME PATTERN: the signer must stop with status 1 and say PATTERN
	timeout 20 "$AL_BIN/airlock-signerd" -d -c "$D/$1.conf" </dev/null >"$D/$1.log" 2>&1
	local rc=$?
	[ $rc = 1 ] && grep -q "$2" "$D/$1.log" && [ "$(wc -l < "$D/$1.log")" -le 2 ] ||
		{ echo "status $rc:"; cat "$D/$1.log"; return 1; }
}

printf 'wrong\n' > "$D/wrong.pass"
conf wrongpass "$D/root" "$D/wrong.pass"
check "wrong passphrase: stops, names ca.key" 'start_fails wrongpass "root/ca.key: wrong passphrase or corrupt key"'
conf nopass "$D/root" ""
check "no passphrase and no terminal: stops, says so" \
	'start_fails nopass "root/ca.key: the key is encrypted and no passphrase is configured (pass_file), and there is no terminal to ask on"'
cp -rp "$D/root" "$D/open"
chmod 0640 "$D/open/ca.key"
conf openkey "$D/open" "$D/root.pass"
check "a CA key readable by its group: stops, says so" \
	'start_fails openkey "open/ca.key: the CA key is open to its group or to others (mode 0640)"'
conf nofile "$D/root" "$D/missing.pass"
check "missing pass file: stops, names it" 'start_fails nofile "missing.pass: No such file"'

cp -r "$D/sub" "$D/trunc"
head -c 200 "$D/sub/ca.crt" > "$D/trunc/ca.crt"
conf trunc "$D/trunc" ""
check "truncated ca.crt: stops, names it" 'start_fails trunc "trunc/ca.crt: not a PEM certificate"'
cp -r "$D/sub" "$D/mixed"
cp "$D/other/ca.key" "$D/mixed/ca.key"
conf mixed "$D/mixed" ""
check "another CA's key: stops, says it does not match" 'start_fails mixed "mixed/ca.crt: the key does not match"'
cp -r "$D/sub" "$D/badchain"
cp "$D/other/ca.crt" "$D/badchain/chain.pem"
conf badchain "$D/badchain" ""
check "a chain.pem that did not issue ca.crt: stops, names it" \
	'start_fails badchain "badchain/ca.crt: certificate 1 of chain.pem did not issue ca.crt"'
conf nodir "$D/nowhere" ""
check "missing directory: stops, names ca.crt" 'start_fails nodir "nowhere/ca.crt: No such file"'
cp -r "$D/sub" "$D/baduri"
echo "file:///etc/shadow" > "$D/baduri/key.uri"
conf baduri "$D/baduri" ""
check "a key.uri that is not pkcs11: stops, names it" 'start_fails baduri "baduri/key.uri: expected a pkcs11: URI"'

# the console: the passphrase typed at the signer's terminal
prompt_run() {	# NAME PASSPHRASE: the signer on a pseudo-terminal, typed at after a second
	conf "$1" "$D/root" ""
	{ sleep 1; printf '%s\n' "$2"; sleep 8; } |
		script -qfec "$AL_BIN/airlock-signerd -d -c $D/$1.conf" /dev/null >"$D/$1.log" 2>&1 &
	echo $! > "$D/$1.pid"
	for _ in $(seq 100); do
		grep -q "started:\|wrong passphrase" "$D/$1.log" 2>/dev/null && break
		sleep 0.1
	done
}
if command -v script >/dev/null; then
	prompt_run tty "right horse battery"
	check "on a terminal it asks, and starts with the right passphrase" \
		'grep -q "Passphrase for $D/root/ca.key:" "$D/tty.log" && grep -q "started: 1 roots" "$D/tty.log"'
	check "the passphrase is not echoed" '! grep -q "right horse battery" "$D/tty.log"'
	kill "$(cat "$D/tty.pid")" 2>/dev/null	# script(1); the signer goes with its terminal
	prompt_run tty2 "not it"
	check "a wrong answer on the terminal stops it" 'grep -q "root/ca.key: wrong passphrase" "$D/tty2.log"'
else
	echo "ok - (skipped: no script(1) for a terminal)"
fi

conf roots "$D/root" "$D/root.pass"
sed -i "s#^roots = (.*#roots = ( { name = \"r\"; dir = \"$D/root\"; profiles = [\"server\"]; },\n  { name = \"s\"; dir = \"$D/sub\"; profiles = [\"server\"]; },\n  { name = \"t\"; dir = \"$D/trunc\"; profiles = [\"server\"]; } );#" "$D/roots.conf"
ctl -c "$D/roots.conf" roots > "$D/roots.out" 2>&1
check "roots: exit status 1 when a directory does not load" '! ctl -c "$D/roots.conf" roots >/dev/null 2>&1'
check "roots: the encrypted root, its validity and issuer" \
	'grep -q "^r  *encrypted EC P-256  *20[0-9-]* *36[45][0-9]" "$D/roots.out" && grep -q "issuer: self-signed" "$D/roots.out"'
check "roots: the subroot under it" 'grep -A2 "^s " "$D/roots.out" | grep -q "issuer: O=airlock test,CN=cadir root"'
check "roots: the broken one, with the reason" 'grep -q "^t  *error: .*trunc/ca.crt" "$D/roots.out"'
[ $fails = 0 ] || { echo "files in $D"; KEEP=1; }
exit $fails
