#!/usr/bin/env bash
# chaos.sh: crash consistency under SIGKILL (make chaos). Streams
# CHAOS_N requests -- signing requests, through the CLI and the spool
# directory, and revocations of certificates issued in a warm-up -- over
# the simulated cable (921600 baud, a little noise, the odd cable pull),
# while it kills airlock-client, airlock-linkd and airlock-signerd with
# SIGKILL at random moments, CHAOS_KILLS times, restarting each at once or
# after a random pause. Then it waits for the answers and checks:
#   - every request has exactly one final answer in the client's outbox
#     (lost: none; failed: no ERROR answers either);
#   - the answer the client holds is, byte for byte, the one ca.db holds
#     for that request id, and a certificate it carries is the one ca.db
#     holds for it; no request id has two certificates, no serial repeats
#     (duplicated: none), every revoked certificate is marked in ca.db, and
#     every spool request has its .crt, equal to the certificate in ca.db;
#   - PRAGMA integrity_check on the three databases;
#   - the audit chain verifies (airlockctl audit verify), when the build
#     has one ("n/a" otherwise).
# The last line is
#   CHAOS kills=K requests=N answered=N lost=0 duplicated=0 integrity=ok audit=ok
# and the exit status is 0 only when all of it holds. Settings (environment):
#   CHAOS_KILLS (200)  CHAOS_N (400)  CHAOS_SEED (the clock)
#   CHAOS_PACE (seconds between requests; default: spread over the kills)
#   CHAOS_WAIT (300: seconds to wait for the last answers)
#   CHAOS_CABLE ("--ber 1e-6 --disconnect-every 20 --disconnect-for 300")
#   KEEP=1 keeps the state directory; it is kept anyway on failure.
set -u
AL_TOP=${AL_TOP:-$(cd "$(dirname "$0")/.." && pwd)}
. "$AL_TOP/scripts/harness.sh"

KILLS=${CHAOS_KILLS:-200}
N=${CHAOS_N:-400}
SEED=${CHAOS_SEED:-$(date +%s)}
CABLE=${CHAOS_CABLE:---ber 1e-6 --disconnect-every 20 --disconnect-for 300}
RANDOM=$SEED
NREV=$((N / 5))			# revocations, of the warm-up's certificates
NSIGN=$((N - NREV))
[ "$NREV" -ge 1 ] && [ "$NSIGN" -gt "$NREV" ] || al_die "CHAOS_N must be at least 10"

D=$(mktemp -d /tmp/airlock-chaos.XXXXXX)
ok=0
trap 'al_stop "$D"; [ $ok = 1 ] && [ -z "${KEEP:-}" ] && rm -rf "$D"' EXIT
say() { echo "chaos: $*" >&2; }

export AL_BAUD=921600
al_setup "$D"
OUTBOX=$D/webdb/state/outbox.db CADB=$D/signer/state/ca.db
SPOOL=$D/webdb/state/spool

# CSRs (one key, a new name each: each is a new request) and request ids
python3 - "$D/csr" "$NSIGN" <<'PY' || al_die "CSRs"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
out, n = sys.argv[1], int(sys.argv[2])
k = ec.generate_private_key(ec.SECP256R1())
for i in range(n):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"c{i}.chaos.example")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(k, hashes.SHA256())
    open(f"{out}/{i}.pem", "wb").write(csr.public_bytes(serialization.Encoding.PEM))
PY
newid() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

start_one() {	# NAME: start (again) one of signerd, linkd, client
	case $1 in
	signerd) "$AL_BIN/airlock-signerd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/signerd.log" & ;;
	linkd) "$AL_BIN/airlock-linkd" -d -c "$D/signer/airlock.conf" 2>>"$D/log/linkd.log" & ;;
	client) "$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run \
		2>>"$D/log/client.log" & ;;
	esac
	echo $! > "$D/$1.pid"
}

retry() {	# CMD...: a CLI call that may meet a database in recovery
	local i
	for i in $(seq 50); do "$@" && return 0; sleep 0.2; done
	say "gave up: $*"
	return 1
}

sign_cli() {	# I ID
	local root=demo-ec
	[ $(($1 % 3)) = 0 ] && root=demo-rsa
	retry al_client "$D" submit --root $root --profile server --id "$2" \
		--name "c$1" "$D/csr/$1.pem" >/dev/null 2>>"$D/log/feed.log"
}

sign_spool() {	# I ID: a spool file, written under a hidden name and renamed
	{ printf 'root=demo-ec\nprofile=server\nid=%s\n' "$2"; cat "$D/csr/$1.pem"; } \
		> "$SPOOL/in/.c$1.tmp" && mv "$SPOOL/in/.c$1.tmp" "$SPOOL/in/c$1.req"
}

# Warm-up, no kills: NREV certificates to revoke later.
al_cable "$D" --baud 921600 $CABLE --seed "$SEED"
for p in signerd linkd client; do start_one $p; done
: > "$D/ids"
for i in $(seq 0 $((NREV - 1))); do
	id=$(newid)
	sign_cli "$i" "$id" || al_die "warm-up submit"
	echo "sign $id c$i" >> "$D/ids"
done
al_client "$D" wait --timeout 120 $(cut -d' ' -f2 "$D/ids") >/dev/null || al_die "warm-up"
sqlite3 -cmd ".timeout 5000" -separator " " "$CADB" "select root, hex(serial) from certs" > "$D/serials"
[ "$(wc -l < "$D/serials")" = "$NREV" ] || al_die "warm-up: $(wc -l < "$D/serials") certificates"

# The stream: signs (CLI and spool) and revocations, interleaved.
plan() {
	local i=$NREV r=0 k
	while [ $i -lt "$NSIGN" ] || [ $r -lt "$NREV" ]; do
		if [ $r -lt "$NREV" ] && { [ $i -ge "$NSIGN" ] || [ $((RANDOM % 4)) = 0 ]; }; then
			r=$((r + 1)); echo "revoke $(newid) $(sed -n "${r}p" "$D/serials")"
		else
			k=cli; [ $((i % 3)) = 1 ] && k=spool
			echo "$k $(newid) $i"; i=$((i + 1))
		fi
	done
}
plan > "$D/plan"
feed() {	# runs in the background while the killing goes on
	local kind id a b pace=$1
	while read -r kind id a b; do
		case $kind in
		cli) sign_cli "$a" "$id"; echo "sign $id c$a" ;;
		spool) sign_spool "$a" "$id"; echo "spool $id c$a" ;;
		revoke) retry al_client "$D" revoke --root "$a" --serial "$b" --id "$id" \
			>/dev/null 2>>"$D/log/feed.log"; echo "revoke $id $a:$b" ;;
		esac
		sleep "$pace"
	done < "$D/plan" >> "$D/ids"
}
# the stream is spread over the killing: about 0.3 s between kills
pace=${CHAOS_PACE:-$(awk -v k="$KILLS" -v n="$((N - NREV))" 'BEGIN { printf "%.3f", k * 0.3 / n }')}
feed "$pace" &
feeder=$!

kills=0 t0=$SECONDS
victims=(client linkd signerd)
while [ $kills -lt "$KILLS" ]; do
	sleep "$(printf '0.%02d' $((RANDOM % 45 + 5)))"
	v=${victims[$((RANDOM % 3))]}
	pid=$(cat "$D/$v.pid")
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null
	echo "$(date +%T.%N | cut -c1-12) kill -9 $v ($pid)" >> "$D/log/kills.log"
	[ $((RANDOM % 3)) = 0 ] && sleep "$(printf '0.%02d' $((RANDOM % 30)))"
	start_one "$v"
done
say "$kills kills in $((SECONDS - t0)) s; waiting for the answers"
wait $feeder
ids=$(cut -d' ' -f2 "$D/ids")
# `wait` answers at once (2) for an id outbox.db has not seen, and a spool
# file is in it only once the client (perhaps just restarted) scanned
# spool/in: first let the client take every spool file
end=$((SECONDS + ${CHAOS_WAIT:-300}))
while compgen -G "$D/webdb/state/spool/in/*.req" >/dev/null && [ $SECONDS -lt $end ]; do
	sleep 0.1
done
al_client "$D" wait --timeout "${CHAOS_WAIT:-300}" $ids >/dev/null 2>&1 ||
	say "not every request was answered in ${CHAOS_WAIT:-300} s"
al_stop "$D"

# The verdict, from the databases and the spool.
audit=n/a
if "$AL_BIN/airlockctl" 2>&1 | grep -q "audit verify"; then
	if "$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" audit verify \
	    >"$D/log/audit.log" 2>&1; then audit=ok; else audit=fail; fi
fi
python3 - "$D" "$kills" "$audit" <<'PY'
import os, sqlite3, subprocess, sys
d, kills, audit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
reqs = [l.split() for l in open(f"{d}/ids")]
ob = sqlite3.connect(f"{d}/webdb/state/outbox.db")
ob.execute(f"attach '{d}/signer/state/ca.db' as ca")
bad = []
answered = failed = dup = 0
for kind, rid, what in reqs:
    key = bytes.fromhex(rid)
    rows = ob.execute("select state, answer from outbox where reqid = ?", (key,)).fetchall()
    if len(rows) != 1 or rows[0][0] not in (2, 3) or rows[0][1] is None:
        bad.append(f"lost {kind} {rid} {what}: {rows[0][0] if rows else 'not in outbox'}")
        continue
    answered += 1
    state, ans = rows[0]
    if state == 3:
        failed += 1
        bad.append(f"failed {kind} {rid} {what}")
    stored = ob.execute("select answer from ca.answers where reqid = ?", (key,)).fetchall()
    if len(stored) != 1 or bytes(stored[0][0]) != bytes(ans):
        dup += 1
        bad.append(f"answer of {rid} differs from ca.db's ({len(stored)} stored)")
    if kind in ("sign", "spool"):
        certs = ob.execute("select der from ca.certs where reqid = ?", (key,)).fetchall()
        if len(certs) != 1 or bytes(certs[0][0]) not in bytes(ans):
            dup += 1
            bad.append(f"{rid}: {len(certs)} certificates in ca.db, or not the one answered")
        elif kind == "spool":
            crt = f"{d}/webdb/state/spool/out/{what}.crt"
            der = subprocess.run(["openssl", "x509", "-in", crt, "-outform", "DER"],
                                 capture_output=True).stdout if os.path.exists(crt) else b""
            if der != bytes(certs[0][0]):
                dup += 1
                bad.append(f"{crt}: missing or not the certificate in ca.db")
    elif state == 2:
        root, serial = what.split(":")
        r = ob.execute("select revoked from ca.certs where root = ? and hex(serial) = ?",
                       (root, serial)).fetchall()
        if len(r) != 1 or not r[0][0]:
            bad.append(f"revocation {rid} of {what} not in ca.db")
            failed += 1
n = len(reqs)
dup += ob.execute("select count(*) from (select 1 from ca.certs group by root, serial "
                  "having count(*) > 1)").fetchone()[0]
dup += ob.execute("select count(*) from (select 1 from ca.certs group by reqid "
                  "having count(*) > 1)").fetchone()[0]
extra = ob.execute("select count(*) from ca.certs where reqid not in "
                   "(select reqid from outbox)").fetchone()[0]
if extra:
    dup += extra
    bad.append(f"{extra} certificates in ca.db for requests the client never made")
ob.close()
integrity = "ok"
for f in ("signer/state/ca.db", "signer/state/queue.db", "webdb/state/outbox.db"):
    c = sqlite3.connect(f"{d}/{f}")
    if c.execute("pragma integrity_check").fetchone()[0] != "ok":
        integrity = "fail"
        bad.append(f"{f}: integrity_check fails")
    c.close()
for b in bad[:20]:
    print("chaos:", b, file=sys.stderr)
kinds = {k: sum(1 for r in reqs if r[0] == k) for k in ("sign", "spool", "revoke")}
print(f"chaos: {kinds['sign']} signs by CLI, {kinds['spool']} by spool, "
      f"{kinds['revoke']} revocations; failed={failed}", file=sys.stderr)
print(f"CHAOS kills={kills} requests={n} answered={answered} lost={n - answered} "
      f"duplicated={dup} integrity={integrity} audit={audit}")
sys.exit(0 if answered == n and dup == 0 and failed == 0 and integrity == "ok"
         and audit != "fail" else 1)
PY
rc=$?
[ $rc = 0 ] && ok=1 || say "state and logs kept in $D (seed $SEED)"
exit $rc
