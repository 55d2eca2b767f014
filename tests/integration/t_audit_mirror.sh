#!/usr/bin/env bash
# t_audit_mirror.sh: the signer's audit chain mirrored on webdb (issue 17,
# docs/protocol.md section 9.7). Certificates issued over the pty cable
# leave audit records; webdb's mirror catches up and `airlock-client audit
# verify` says the chain is intact and its head signed, with the signer's
# own count. Then the signer's history is tampered with, as whoever
# controls the signer might: an already-mirrored record rewritten (webdb
# reports a fork), the chain rewritten and re-hashed from that record on
# (a fork at the head), the last records deleted (a gap); a mirror pinned
# to another audit key reports the signature. None of it is repaired
# silently: the alarms stay and verify exits 1. Restarts resume without a
# record twice; an audit.db that cannot be opened stops no certificate;
# AUDIT_FETCH never enters the signer's queue.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-audit.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

AL_AUDIT_INTERVAL=1 al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
CA=$D/signer/state/ca.db
AU=$D/webdb/state/audit.db

sign() {	# NAME: a CSR through the client; waits for its certificate
	al_csr "$D" "$1" ec:P-256 "$1.example.org"
	al_client "$D" submit --root demo-rsa --profile server --name "$1" "$D/csr/$1.csr" >/dev/null
	for _ in $(seq 300); do [ -f "$D/webdb/state/spool/out/$1.crt" ] && return 0; sleep 0.1; done
	return 1
}
signer_n() { sqlite3 -cmd ".timeout 5000" "$CA" "select count(*) from audit"; }
mirror_n() { sqlite3 -cmd ".timeout 5000" "$AU" "select count(*) from record" 2>/dev/null; }
caught_up() {	# the mirror holds the signer's chain, signed, and the signer knows
	for _ in $(seq 300); do
		[ "$(mirror_n)" = "$(signer_n)" ] &&
		[ "$(sqlite3 -cmd ".timeout 5000" "$AU" "select seq from signed_head")" = "$(signer_n)" ] &&
		[ "$(sqlite3 -cmd ".timeout 5000" "$CA" "select seq from audit_mirror")" = "$(signer_n)" ] && return 0
		sleep 0.1
	done
	return 1
}
alarm() {	# KIND SEQ: raised, in the verify output
	for _ in $(seq 200); do
		al_client "$D" audit verify > "$D/verify.out" 2>&1
		grep -q "^ALARM .* $1 record $2:" "$D/verify.out" && return 0
		sleep 0.1
	done
	return 1
}

for n in a1 a2 a3 a4; do sign "$n" || bad "certificate $n"; done
check "the mirror catches up with the signer's chain" caught_up
N=$(signer_n)
out=$(al_client "$D" audit verify); rc=$?
check "audit verify exits 0" '[ $rc = 0 ]'
check "audit verify: \"audit: $N records, chain intact, head signed\"" \
	'[ "$(echo "$out" | head -1)" = "audit: $N records, chain intact, head signed" ]'
check "the same count as airlockctl audit verify" \
	'"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" audit verify | grep -q ": $N records, intact"'
check "airlockctl status shows how far webdb holds the chain" \
	'"$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" status | grep -q "webdb holds $N of them (0 behind)"'
check "audit tail shows the issuances" \
	'[ "$(al_client "$D" audit tail -n 2 | grep -c " issue demo-rsa airlock-signerd serial=")" = 2 ]'
check "audit export --json: one JSON object per record, chained" \
	'al_client "$D" audit export --json | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin]
assert len(rs) == $N and [r[\"seq\"] for r in rs] == list(range(1, $N + 1))
assert all(rs[i][\"prev\"] == rs[i - 1][\"hash\"] for i in range(1, len(rs)))
assert rs[2][\"kind\"] == \"issue\" and rs[2][\"root\"] == \"demo-rsa\""'
check "AUDIT_FETCH never enters the signer's queue" \
	'[ "$(sqlite3 -cmd ".timeout 5000" "$D/signer/state/queue.db" "select count(*) from queue where type = 7")" = 0 ]'
check "the export agrees with the signer's own hashes" \
	'[ "$(al_client "$D" audit export --json | tail -1 | python3 -c "import json,sys; print(json.load(sys.stdin)[\"hash\"])")" = \
	   "$(sqlite3 "$CA" "select lower(hex(hash)) from audit where seq = $N")" ]'

check "the signer's start is in the mirror" \
	'al_client "$D" audit tail -n 100 | grep -q "^1 .* daemon - airlock-signerd started airlock-signerd .* pid [0-9]*; the run before ended without a clean stop"'
check "its first integrity report is in the mirror, with the configuration's digest" \
	'al_client "$D" audit tail -n 100 | grep "^2 .* integrity - airlock-signerd at start: [0-9]* files, all=[0-9a-f]\{64\}, first report: " |
	 grep -q "$D/signer/airlock.conf=$(sha256sum < "$D/signer/airlock.conf" | cut -c1-64)"'

# --- restarts of both sides resume: nothing twice, nothing missing ---
al_stop_one "$D" client
al_stop_one "$D" signerd
echo "# edited in place while the signer was stopped" >> "$D/signer/airlock.conf"
"$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" & echo $! > "$D/signerd.pid"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" & echo $! > "$D/client.pid"
sign a5 || bad "certificate a5"
check "after restarts the mirror catches up again" caught_up
check "the restart says the run before stopped cleanly" \
	'al_client "$D" audit tail -n 100 | grep -q "daemon - airlock-signerd started .*; the run before stopped cleanly at 20"'
check "the integrity report names the changed configuration" \
	'al_client "$D" audit tail -n 100 | grep "integrity - airlock-signerd at start: .*changed since the last report: " |
	 grep -q "$D/signer/airlock.conf=$(sha256sum < "$D/signer/airlock.conf" | cut -c1-64)"'
# a malformed request in the outbox: linkd refuses it and warns; the
# warning goes into the signer's chain (IPC_LOG) and so to the mirror
rid=0123456789abcdef0123456789abcdef
sqlite3 -cmd ".timeout 5000" "$D/webdb/state/outbox.db" "insert into outbox (reqid, type, name, state, created, updated, request)
	values (X'$rid', 1, '', 0, strftime('%s'), strftime('%s'), X'0101${rid}001a00000000')"
check "linkd's warning reaches webdb's mirror through the signer's chain" \
	'for _ in $(seq 200); do al_client "$D" audit tail -n 100 | grep -q "warning - airlock-linkd req=$rid" && break; sleep 0.1; done;
	 al_client "$D" audit tail -n 100 | grep -q "warning - airlock-linkd req=$rid"'
check "caught up after the warning" caught_up
check "no record twice, none missing" \
	'[ "$(sqlite3 "$AU" "select count(*), min(seq), max(seq) from record")" = "$(signer_n)|1|$(signer_n)" ]'

# --- an audit.db that cannot be opened stops no certificate ---
al_stop_one "$D" client
mv "$AU" "$AU.kept"; mkdir "$AU"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" & echo $! > "$D/client.pid"
check "a certificate is issued while audit.db cannot be opened" 'sign a6'
check "the client says the mirror waits" 'grep -q "audit.db cannot be opened; the mirror waits" "$D/log/client.log"'
al_stop_one "$D" client
rmdir "$AU"; mv "$AU.kept" "$AU"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" & echo $! > "$D/client.pid"
check "then it catches up" caught_up
check "still intact" 'al_client "$D" audit verify >/dev/null'

# --- tampering on the signer ---
# a mirrored record rewritten in place (its stored hash kept)
sqlite3 "$CA" "update audit set text = 'serial=00 profile=server forged' where seq = 3"
check "a rewritten mirrored record: webdb reports the fork" 'alarm fork 3'
check "audit verify exits 1 on the alarm" '! al_client "$D" audit verify >/dev/null'
check "the fork is logged at LOG_CRIT" 'grep -q "audit ALARM fork at record 3" "$D/log/client.log"'
check "webdb's copy of record 3 is unchanged" \
	'al_client "$D" audit export --json | sed -n 3p | grep -q "\"seq\":3,.*subject=" && ! al_client "$D" audit export --json | grep -q forged'
# the last records deleted from the signer's chain
M=$(signer_n)
sqlite3 "$CA" "delete from audit where seq > $((M - 2))"
check "the signer's last records deleted: webdb reports the gap" "alarm gap $((M - 1))"
check "the gap names the records webdb holds" 'grep -q "chain ends at record $((M - 2)) but webdb holds records up to $M" "$D/verify.out"'
# the chain rebuilt past the deleted records, re-hashed: new records at old numbers
sign a7 || bad "certificate a7 after the deletion"
check "records re-issued under old numbers: webdb reports the fork" "alarm fork $((M - 1))"
check "nothing webdb holds was replaced" \
	'[ "$(sqlite3 "$AU" "select count(*) from record")" = "$M" ]'
check "the signer's status says webdb's copy differs" \
	'for _ in $(seq 100); do "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" status | grep -q "ITS COPY DIFFERS" && break; sleep 0.1; done;
	 "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" status | grep -q "ITS COPY DIFFERS"'

check "the signer's own warning about it is in its chain" \
	'for _ in $(seq 100); do [ "$(sqlite3 -cmd ".timeout 5000" "$CA" "select count(*) from audit where kind = '"'warning'"' and actor = '"'airlock-signerd'"' and text like '"'audit: webdb%'"'")" -ge 1 ] && break; sleep 0.1; done;
	 [ "$(sqlite3 -cmd ".timeout 5000" "$CA" "select count(*) from audit where kind = '"'warning'"' and actor = '"'airlock-signerd'"' and text like '"'audit: webdb%'"'")" -ge 1 ]'

# --- a mirror pinned to another audit key ---
al_stop_one "$D" client
"$AL_BIN/airlockctl" audit-key new "$D/other.key" "$D/other.pub" >/dev/null
sed -i "s#$D/webdb/audit.pub#$D/other.pub#" "$D/webdb/airlock-client.conf"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" & echo $! > "$D/client.pid"
check "a head signed by another key: webdb reports the signature" \
	'for _ in $(seq 200); do grep -q "ALARM signature" <(al_client "$D" audit verify 2>&1) && break; sleep 0.1; done;
	 al_client "$D" audit verify | grep -q "ALARM .* signature record .*does not verify with the pinned audit key"'
check "the signer is still running" 'kill -0 "$(cat "$D/signerd.pid")"'
check "linkd is still running" 'kill -0 "$(cat "$D/linkd.pid")"'

[ "$fails" = 0 ]
