#!/usr/bin/env bash
# t_console.sh: the operator's side on a running system: every airlockctl
# console command on the demo's flow (status, queue, show, retry, reject,
# certs, crl, roots, time, audit verify/tail/export), airlock-timesync on a
# fake clock (latency compensation, stale and unauthenticated samples, no
# confirmation), audit tampering found by the command line, the export
# checked by an independent implementation (Python), `airlockctl top`
# driven in tmux (its screen, its refresh, q), and `make demo`'s state
# answering the console commands. Exit codes are checked throughout.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-console.XXXXXX)
DEMO=
trap 'al_stop "$D"; tmux kill-session -t "al$$" 2>/dev/null; [ -n "$DEMO" ] && rm -rf "$DEMO"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
# rc NAME WANT CMD...: runs CMD, keeps its output in $out, checks the exit code
rc() {
	local name=$1 want=$2; shift 2
	out=$("$@" 2>&1); local got=$?
	if [ "$got" = "$want" ]; then ok "$name (exit $got)"; else bad "$name: exit $got, want $want"; echo "$out" | sed 's/^/    /' | head -20; fi
}
has() { grep -q -- "$1" <<<"$out"; }
fits() { ! awk 'length > 80 { bad = 1 } END { exit !bad }' <<<"$out"; }

CTL="$AL_BIN/airlockctl -c $D/signer/airlock.conf"
TS="$AL_BIN/airlock-timesync -c $D/signer/airlock.conf"
CADB=$D/signer/state/ca.db

AL_TIME_INTERVAL=1 al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"

declare -A id
for spec in "c1 ec:P-256 demo-ec server" "c2 rsa:2048 demo-rsa client" "c3 ec:P-256 demo-ec client"; do
	set -- $spec
	al_csr "$D" "$1" "$2" "$1.console.example"
	id[$1]=$(al_client "$D" submit --root "$3" --profile "$4" --name "$1" "$D/csr/$1.csr")
done
id[noroot]=$(al_client "$D" submit --root no-such-root --profile server --name noroot "$D/csr/c1.csr")
check "requests answered" 'al_client "$D" wait --timeout 60 ${id[@]}'
for _ in $(seq 100); do
	[ "$(sqlite3 "$CADB" "select count(*) from time_samples where rtt_ns is not null")" -ge 2 ] && break
	sleep 0.1
done

# --- the console on the live system ---
rc "status" 0 $CTL status
check "status: link up, queue, certificates, clock, audit" \
	'has "^link    up" && has "delivered" && has "certificates 3" && has "^time    signer" && has "^audit   "'
check "status fits 80 columns" fits
rc "queue" 0 $CTL queue
check "queue: sections and the failed request with its reason" \
	'has "^pending" && has "^in flight" && has "^failed (final error answers): 1" && has "${id[noroot]}" && has "    200 unknown root"'
check "queue fits 80 columns" fits
rc "queue --state delivered" 0 $CTL queue --state delivered -n 2
rc "queue --state bogus" 2 $CTL queue --state bogus
rc "show" 0 $CTL show "${id[c1]}"
check "show: request, certificate, audit record" \
	'has "state    delivered" && has "^serial   [0-9a-f]" && has "CN=c1.console.example" && has "^audit    #[0-9]* issue"'
rc "show a failed one" 0 $CTL show "${id[noroot]}"
check "show: the error" 'has "error    200 unknown root"'
rc "show a bad id" 2 $CTL show 12345
rc "show an unknown id" 1 $CTL show 00000000000000000000000000000000
rc "certs" 0 $CTL certs --root demo-ec --since 1d
check "certs: two of demo-ec, valid" '[ "$(grep -c " valid$" <<<"$out")" = 2 ] && has "CN=c3.console.example"'
rc "certs --since tomorrow" 0 $CTL certs --root demo-ec --since "$(date -u -d tomorrow +%F)"
check "certs: none since tomorrow" 'has "^0 certificates"'
rc "certs: unknown root" 1 $CTL certs --root nope
rc "certs: bad date" 2 $CTL certs --root demo-ec --since yesterdayish
rc "crl" 0 $CTL crl
rc "roots" 0 $CTL roots
rc "time" 0 $CTL time
check "time: offset, round trip, authenticated samples" \
	'has "^offset         [+-]" && has "^round trip     0\.[0-9]" && has "^ SAMPLE" && ! grep -q " NO$" <<<"$(grep -E "^ +[0-9]+ " <<<"$out")"'
check "time fits 80 columns" fits
warn=0; has "WARNING" && warn=1
out=$($CTL time --check 2>&1); got=$?
check "time --check: 3 exactly when there is a warning" '[ $got = $((warn * 3)) ]'
rc "audit verify" 0 $CTL audit verify
check "audit verify: intact, with its head" 'has "records, intact" && has "^head [0-9]*:[0-9a-f]\{64\}$"'
head=$(sed -n 's/^head //p' <<<"$out")
rc "audit tail" 0 $CTL audit tail -n 3
check "audit tail: records with request ids" 'has "req=" && has "issue\|reject"'
check "audit tail fits 80 columns" fits
rc "audit verify --head" 0 $CTL audit verify --head "$head"
rc "audit verify --head bad" 2 $CTL audit verify --head 12:zz

# --- retry and reject, with the signer away ---
al_stop_one "$D" signerd
al_csr "$D" r1 ec:P-256 r1.console.example
al_csr "$D" r2 ec:P-256 r2.console.example
id[r1]=$(al_client "$D" submit --root demo-ec --profile server --name r1 "$D/csr/r1.csr")
id[r2]=$(al_client "$D" submit --root demo-ec --profile server --name r2 "$D/csr/r2.csr")
for _ in $(seq 100); do
	[ "$(sqlite3 "$D/signer/state/queue.db" "select count(*) from queue where state = 0")" = 2 ] && break
	sleep 0.1
done
rc "queue: two pending" 0 $CTL queue
check "queue lists them as pending" 'has "^pending (received, not yet at the signer): 2"'
rc "reject without a reason" 2 $CTL reject "${id[r1]}"
rc "reject with a control character" 2 $CTL reject "${id[r1]}" --reason "$(printf 'a\tb')"
rc "reject" 0 $CTL reject "${id[r1]}" --reason "duplicate of an earlier order"
check "reject: error 400, audited" 'has "rejected with error 400; audit record"'
rc "reject again" 1 $CTL reject "${id[r1]}" --reason "twice"
check "reject again: says the signer has answered" 'has "already answered"'
rc "retry" 0 $CTL retry "${id[r2]}"
rc "retry an answered request" 1 $CTL retry "${id[c1]}"
rc "retry a failed request" 1 $CTL retry "${id[noroot]}"
check "retry a failed request: says why" 'has "final answer"'
"$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" &
echo $! > "$D/signerd.pid"
check "both answered once the signer is back" 'al_client "$D" wait --timeout 60 ${id[r1]} ${id[r2]}'
check "the rejection reached webdb as error 400" \
	'grep -q "^400 rejected by the operator: duplicate of an earlier order" "$D/webdb/state/spool/err/r1.err"'
check "the retried request was signed" 'openssl x509 -in "$D/webdb/state/spool/out/r2.crt" -noout'
check "operator actions are in the audit log" \
	'[ "$(sqlite3 "$CADB" "select count(*) from audit where kind = '"'operator'"'")" = 2 ]'
rc "audit verify after operator actions" 0 $CTL audit verify

# --- airlock-timesync on a fake clock ---
for _ in $(seq 50); do
	[ "$(sqlite3 "$CADB" "select rtt_ns is not null from time_samples order by id desc limit 1 offset 1")" = 1 ] && break
	sleep 0.1
done
al_stop_one "$D" client		# no new samples while we look at the newest
sleep 0.3
boot_id=$(cat /proc/sys/kernel/random/boot_id)
read -r w0 m0 r0 rtt <<<"$(sqlite3 -separator ' ' "$CADB" "select webdb_ns, mono_ns, local_ns, coalesce(rtt_ns, rtt_prev_ns, 0) from time_samples order by id desc limit 1")"
clock() {	# ELAPSED_NS OFFSET_NS: the fake clock, ELAPSED after the sample,
	# its real time OFFSET ahead of webdb's time then
	printf 'real=%s\nmono=%s\nboot_id=%s\n' $((w0 + rtt / 2 + $1 + $2)) \
		$((m0 + $1)) "$boot_id" > "$D/clock"
}
clock 30000000000 100000000000		# 30 s later, the signer 100 s ahead
rc "timesync: dry run" 0 $TS --dry-run --allow-unsynced --test-clock "$D/clock"
check "timesync: shows age, round trip, offset, correction" \
	'has "^its age          30\.000 s" && has "^round trip       0\." && has "^offset           +100\.000 s" && has "^correction       -100\.000 s"'
check "timesync: dry run sets nothing" '[ ! -e "$D/clock.set" ]'
rc "timesync: not confirmed" 4 $TS --allow-unsynced --test-clock "$D/clock" </dev/null
rc "timesync --yes" 0 $TS --yes --allow-unsynced --test-clock "$D/clock"
want=$((w0 + rtt / 2 + 30000000000))
check "timesync: set to sample + rtt/2 + elapsed ($want)" 'grep -qx "set=$want" "$D/clock.set"'
check "timesync: the correction is in the audit log" \
	'sqlite3 "$CADB" "select text from audit where kind = '"'time'"'" | grep -q "TEST CLOCK.*stepped by -100\.000 s"'
clock 400000000000 0			# 400 s later: older than time.max_sample_age
rc "timesync: stale sample refused" 3 $TS --yes --allow-unsynced --test-clock "$D/clock"
check "timesync: says how old" 'has "400 s old, more than time.max_sample_age (300 s)"'
rc "timesync: --max-age lets it through" 0 $TS --dry-run --allow-unsynced --max-age 500 --test-clock "$D/clock"
sqlite3 "$CADB" "insert into time_samples (webdb_ns, local_ns, mono_ns, sync, boot_id) values ($w0, $r0, $m0, 1, '$boot_id')"
clock 1000000000 0
rc "timesync: a sample not from the link refused" 3 $TS --yes --allow-unsynced --force --test-clock "$D/clock"
check "timesync: says it was not authenticated" 'has "authenticated link"'
sqlite3 "$CADB" "delete from time_samples where auth = 0 and boot_id != ''"
rc "timesync: bad option" 2 $TS --bogus
rc "timesync: --test-clock with --hwclock" 2 $TS --hwclock --test-clock "$D/clock"

# --- airlockctl top in tmux ---
if command -v tmux >/dev/null; then
	tmux new-session -d -s "al$$" -x 80 -y 24 \
		"$CTL top; echo \$? > $D/top.rc; sleep 5" 2>/dev/null
	sleep 1.5
	s1=$(tmux capture-pane -t "al$$" -p)
	sleep 1.2
	s2=$(tmux capture-pane -t "al$$" -p)
	out=$s1
	check "top: link, queue, time, CRL and audit on screen" \
		'has "^LINK     link up" && has "^QUEUE    received 0" && has "delivered [1-9]" && has "^TIME     offset [+-]" && has "^CRL" && has "demo-ec" && has "^AUDIT    [0-9]* records" && has "q quit"'
	check "top: 24 lines of at most 80 columns" '[ "$(wc -l <<<"$s1")" -le 24 ] && fits'
	check "top: refreshes (the clock moved)" '[ "$(head -1 <<<"$s1")" != "$(head -1 <<<"$s2")" ]'
	toppid=$(pgrep -n -f "airlockctl -c $D/signer/airlock.conf top")
	check "top: no core dumps (core file size limit 0)" \
		'grep -q "^Max core file size *0 *0 " /proc/$toppid/limits'
	tmux send-keys -t "al$$" q
	for _ in $(seq 30); do [ -s "$D/top.rc" ] && break; sleep 0.1; done
	check "top: q quits with exit 0" '[ "$(cat "$D/top.rc" 2>/dev/null)" = 0 ]'
	tmux kill-session -t "al$$" 2>/dev/null
	# below 80x24: lines cut at the edge, and a sentence below 40x12
	tmux new-session -d -s "al$$" -x 60 -y 16 "$CTL top; sleep 5" 2>/dev/null
	sleep 1.5
	out=$(tmux capture-pane -t "al$$" -p)
	check "top at 60x16: the link line, nothing wider than 60 columns" \
		'has "^LINK     link up" && ! awk "length > 60 { bad = 1 } END { exit !bad }" <<<"$out"'
	tmux kill-session -t "al$$" 2>/dev/null
	tmux new-session -d -s "al$$" -x 30 -y 8 "$CTL top; sleep 5" 2>/dev/null
	sleep 1.5
	out=$(tmux capture-pane -t "al$$" -J -p)
	check "top at 30x8: says it needs 40x12" 'has "^airlock top needs 40x12"'
	tmux kill-session -t "al$$" 2>/dev/null
else
	echo "ok - top: SKIPPED, tmux is not installed"
fi
rc "top without a terminal" 1 $CTL top </dev/null

# --- tampering, found from the command line ---
al_stop "$D"
rc "audit export" 0 $CTL audit export -o "$D/audit.tsv"
rc "audit export never overwrites" 1 $CTL audit export -o "$D/audit.tsv"
rc "audit verify --file (no configuration needed)" 0 "$AL_BIN/airlockctl" audit verify --file "$D/audit.tsv"
check "the export checks out with an independent implementation" \
	'python3 - "$D/audit.tsv" <<"PY"
import hashlib, struct, sys
def unesc(s):
    out, i = bytearray(), 0
    b = s.encode()
    while i < len(b):
        if b[i] == 0x5c:
            c = chr(b[i + 1])
            if c == "x":
                out.append(int(b[i + 2:i + 4], 16)); i += 4; continue
            out += {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}[c]
            i += 2; continue
        out.append(b[i]); i += 1
    return bytes(out)
prev, n = bytes(32), 0
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("#"): continue
    f = line.rstrip("\n").split("\t")
    seq, t = int(f[0]), int(f[1])
    reqid = b"" if f[3] == "-" else bytes.fromhex(f[3])
    body = b"airlock-audit-v1" + struct.pack(">QQ", seq, t & (2**64 - 1))
    for x in (unesc(f[2]), reqid, unesc(f[4]), unesc(f[5])):
        body += struct.pack(">H", len(x)) + x
    text = unesc(f[6]); body += struct.pack(">I", len(text)) + text
    assert bytes.fromhex(f[7]) == prev, seq
    h = hashlib.sha256(prev + body).digest()
    assert h.hex() == f[8], seq
    prev, n = h, n + 1
assert n > 5
PY'
sed 's/duplicate of an earlier order/a forged reason/' "$D/audit.tsv" > "$D/forged.tsv"
rc "audit verify --file: an edited export" 4 "$AL_BIN/airlockctl" audit verify --file "$D/forged.tsv"
head -n -2 "$D/audit.tsv" > "$D/short.tsv"
rc "audit verify --file: a cut export" 4 "$AL_BIN/airlockctl" audit verify --file "$D/short.tsv"
head=$($CTL audit verify | sed -n 's/^head //p')
cp "$CADB" "$D/ca.db.good"
sqlite3 "$CADB" "update audit set text = 'nothing to see' where seq = 2"
rc "audit verify: an edited record" 4 $CTL audit verify
check "names record 2 as changed" 'has "BROKEN at record 2" && has "changed"'
cp "$D/ca.db.good" "$CADB"
sqlite3 "$CADB" "delete from audit where seq = 3"
rc "audit verify: a deleted record" 4 $CTL audit verify
check "names record 3 as missing" 'has "BROKEN at record 3" && has "missing"'
cp "$D/ca.db.good" "$CADB"
sqlite3 "$CADB" "update audit set seq = 1000 where seq = 2; update audit set seq = 2 where seq = 3; update audit set seq = 3 where seq = 1000"
rc "audit verify: two records swapped" 4 $CTL audit verify
check "names record 2 as out of place" 'has "BROKEN at record 2" && has "does not follow"'
cp "$D/ca.db.good" "$CADB"
last=${head%%:*}
sqlite3 "$CADB" "delete from audit where seq = $last"
rc "audit verify: the last record deleted looks intact alone" 0 $CTL audit verify
rc "audit verify --head: ... but not against the kept head" 4 $CTL audit verify --head "$head"
check "says records were deleted from the end" 'has "deleted from the end"'
cp "$D/ca.db.good" "$CADB"

# --- make demo's state answers the console ---
demo_out=$(cd "$AL_TOP" && scripts/demo.sh 2>&1)
DEMO=$(sed -n 's/^demo: .* state in //p' <<<"$demo_out")
check "demo ran and named its state" '[ -n "$DEMO" ] && [ -f "$DEMO/airlock.conf" ]'
if [ -n "$DEMO" ]; then
	DCTL="$AL_BIN/airlockctl -c $DEMO/airlock.conf"
	for cmd in status queue time "audit verify" "audit tail" "certs --root demo-ec" crl roots; do
		rc "demo state: $cmd" 0 $DCTL $cmd
	done
	out=$($DCTL status)
	# 9 audit records: the signer's start and its integrity report, six
	# certificates and one OpenPGP certification; all of them on webdb
	check "demo state: status shows certificates, clock and audit" \
		'has "certificates 6" && has "^time    signer" && has "^audit   9 records" &&
		 has "webdb holds 9 of them (0 behind)"'
	check "demo state: webdb's mirror verifies with the same count" \
		'[ "$("$AL_BIN/airlock-client" -c "$DEMO/webdb/airlock-client.conf" audit verify | head -1)" = "audit: 9 records, chain intact, head signed" ]'
	id1=$(sqlite3 "$DEMO/signer/state/queue.db" "select lower(hex(reqid)) from queue limit 1")
	rc "demo state: show" 0 $DCTL show "$id1"
	rc "demo state: timesync dry run" 0 "$AL_BIN/airlock-timesync" -c "$DEMO/airlock.conf" --dry-run --allow-unsynced --max-age 86400
fi

[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
