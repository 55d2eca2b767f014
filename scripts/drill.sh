#!/usr/bin/env bash
# drill.sh: `make drill`, the restore drill of issue 18 (docs/operations.md).
# Issue N certificates over the simulated cable, back the running signer
# up, issue M more and revoke some, destroy the signer host's state,
# restore the backup, let webdb bring the signer up to date (CATCHUP,
# docs/protocol.md 9.8), then check that every certificate is known, every
# revocation is in the next CRL, CRL numbers never went back, the audit
# chain is continuous (the signer's verifies, webdb's mirror raises no
# alarm) and no serial repeats. Prints one line:
#   DRILL certs=N+M recovered=R lost=L crl_monotonic=0|1 audit=ok|bad backup_s=X restore_s=Y
# and exits 1 unless R = M, L = 0, crl_monotonic=1, audit=ok and every
# revocation is listed. DRILL_N, DRILL_M, DRILL_REVOKE set the sizes;
# KEEP=1 keeps the state directory.
set -u
AL_TOP=${AL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
. "$AL_TOP/scripts/harness.sh"
N=${DRILL_N:-8} M=${DRILL_M:-8} NREV=${DRILL_REVOKE:-3}

D=$(mktemp -d /tmp/airlock-drill.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
say() { [ -n "${DRILL_QUIET:-}" ] || echo "drill: $*" >&2; }
fail() { echo "drill: $*" >&2; problems=$((problems + 1)); }
problems=0
CTL=$AL_BIN/airlockctl
SCONF=$D/signer/airlock.conf SDB=$D/signer/state/ca.db AU=$D/webdb/state/audit.db
OUT=$D/webdb/state/spool/out CRL=$D/webdb/state/crl

export AL_AUDIT_INTERVAL=1
export AL_CLIENT_EXTRA="crl_refresh = 3600; crl_roots = (
    { name = \"demo-rsa\"; ca_cert = \"$D/ca/sub-rsa/ca.crt\"; } );"
al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"

q() { sqlite3 -cmd ".timeout 5000" "$@"; }
issue() {	# PREFIX COUNT: certificates PREFIX1..PREFIXCOUNT, waited for
	local ids=() i
	for i in $(seq "$2"); do
		al_csr "$D" "$1$i" ec:P-256 "$1$i.drill.example"
		ids+=("$(al_client "$D" submit --root demo-rsa --profile server --name "$1$i" "$D/csr/$1$i.csr")")
	done
	al_client "$D" wait --timeout 120 "${ids[@]}" >/dev/null
}
serial_of() { openssl x509 -in "$OUT/$1.crt" -noout -serial | sed 's/serial=//'; }
crl_number() {	# webdb's CRL of demo-rsa: its number
	openssl crl -inform DER -in "$CRL/demo-rsa.crl" -noout -crlnumber 2>/dev/null |
		sed 's/crlNumber=0x//' | tr 'a-f' 'A-F' | { read -r h; echo $((16#${h:-0})); }
}
crl_fetch() {	# ABOVE: a CRL_FETCH of demo-rsa now; webdb's number once above ABOVE
	local id n
	id=$(al_client "$D" crl --root demo-rsa) && al_client "$D" wait --timeout 120 "$id" >/dev/null
	# an answer that sends webdb back for the full CRL is followed by that
	for _ in $(seq 300); do
		n=$(crl_number)
		[ "$n" -gt "$1" ] && break
		sleep 0.1
	done
	echo "$n"
}
mirrored() {	# the mirror holds the signer's whole chain
	local s
	for _ in $(seq 600); do
		s=$(q "$SDB" "select count(*) from audit")
		[ "$(q "$AU" "select count(*) from record" 2>/dev/null)" = "$s" ] &&
		[ "$(q "$SDB" "select coalesce(max(seq),0) from audit_mirror")" = "$s" ] && return 0
		sleep 0.1
	done
	return 1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

say "issuing $N certificates"
issue a "$N"
C0=$(crl_fetch 0)
mirrored || fail "the mirror did not catch up before the backup"
echo "drill passphrase" > "$D/pass"
t0=$(now)
"$CTL" -c "$SCONF" backup --pass-file "$D/pass" "$D/signer.backup" >/dev/null || fail "backup"
BACKUP_S=$(secs "$t0" "$(now)")
"$CTL" backup --verify --pass-file "$D/pass" "$D/signer.backup" >/dev/null || fail "backup --verify"

say "issuing $M more, revoking $NREV"
issue b "$M"
revoked=()
ids=()
for n in a1 $(seq -f b%g $((NREV - 1))); do
	s=$(serial_of "$n")
	revoked+=("$s")
	ids+=("$(al_client "$D" revoke --root demo-rsa --serial "$s" --reason 1)")
done
al_client "$D" wait --timeout 120 "${ids[@]}" >/dev/null || fail "revocations"
# and one by the operator at the console: in no answer webdb holds, only on
# the CRLs that follow (the catch-up sends their entries back)
op=$(serial_of "b$M")
"$CTL" -c "$SCONF" revoke demo-rsa "$op" --reason 4 >/dev/null || fail "airlockctl revoke"
revoked+=("$op")
C1=$(crl_fetch "$C0")
mirrored || fail "the mirror did not catch up before the loss"
A1=$(q "$SDB" "select count(*) from audit")

say "destroying the signer host's state"
al_stop_one "$D" linkd
al_stop_one "$D" signerd
rm -rf "$D/signer" "$D/ca"
t0=$(now)
"$CTL" restore --pass-file "$D/pass" "$D/signer.backup" >/dev/null || fail "restore"
RESTORE_S=$(secs "$t0" "$(now)")
[ -f "$SDB.restored" ] || fail "restore left no mark for the catch-up"
mkdir -p "$D/signer/run"	# the runtime directory: tmpfiles.d's on a real host
al_stop_one "$D" client	# a new session at once, as after a move
al_start_signer() {
	"$AL_BIN/airlock-signerd" -d -c "$SCONF" 2>>"$D/log/signerd.log" &
	echo $! > "$D/signerd.pid"
	"$AL_BIN/airlock-linkd" -d -c "$SCONF" 2>>"$D/log/linkd.log" &
	echo $! > "$D/linkd.pid"
	"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
	echo $! > "$D/client.pid"
}
al_start_signer
say "waiting for the catch-up"
for _ in $(seq 1200); do
	[ -f "$SDB.restored" ] || break
	kill -0 "$(cat "$D/signerd.pid")" 2>/dev/null || { fail "airlock-signerd died"; break; }
	sleep 0.1
done
[ -f "$SDB.restored" ] && fail "the catch-up did not finish"
"$CTL" -c "$SCONF" status > "$D/status.out" 2>&1
grep -q "^restore catch-up finished: certificates $M," "$D/status.out" ||
	fail "airlockctl status does not show the catch-up"

# every certificate known; the M issued after the backup recovered
known=0 rec=0
for n in $(seq -f a%g "$N") $(seq -f b%g "$M"); do
	s=$(serial_of "$n" | tr 'A-F' 'a-f')
	if [ "$(q "$SDB" "select count(*) from certs where root = 'demo-rsa' and lower(hex(serial)) = '$s'")" = 1 ]; then
		known=$((known + 1))
		case $n in b*) rec=$((rec + 1)) ;; esac
	fi
done
LOST=$(( N + M - known ))
[ "$(q "$SDB" "select count(*) - count(distinct root || hex(serial)) from certs")" = 0 ] ||
	fail "a serial repeats"

# signing resumes; the next CRL lists every revocation, numbered above all
issue c 1
[ -s "$OUT/c1.crt" ] || fail "no certificate after the catch-up"
C2=$(crl_fetch "$C1")
listed=0
text=$(openssl crl -inform DER -in "$CRL/demo-rsa.crl" -noout -text 2>/dev/null)
for s in "${revoked[@]}"; do
	grep -qi "Serial Number: *0*$s\$" <<<"$text" && listed=$((listed + 1))
done
[ "$listed" = "${#revoked[@]}" ] ||
	fail "$listed of ${#revoked[@]} revocations (one by the operator) in CRL $C2"
MONO=0
[ "$C0" -ge 1 ] && [ "$C1" -gt "$C0" ] && [ "$C2" -gt "$C1" ] && MONO=1

# the audit chain: intact on the signer, continuous with webdb's mirror
AUDIT=bad
if "$CTL" -c "$SCONF" audit verify >/dev/null 2>&1 && mirrored &&
    al_client "$D" audit verify >/dev/null 2>&1 &&
    [ "$(q "$SDB" "select count(*) from audit")" -gt "$A1" ]; then
	AUDIT=ok
fi
say "CRL numbers $C0 $C1 $C2; audit records $A1 before the loss, $(q "$SDB" "select count(*) from audit") now"
echo "DRILL certs=$N+$M recovered=$rec lost=$LOST crl_monotonic=$MONO audit=$AUDIT backup_s=$BACKUP_S restore_s=$RESTORE_S"
[ "$problems" = 0 ] && [ "$rec" = "$M" ] && [ "$LOST" = 0 ] && [ "$MONO" = 1 ] && [ "$AUDIT" = ok ]
