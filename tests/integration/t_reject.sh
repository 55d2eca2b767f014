#!/usr/bin/env bash
# t_reject.sh: every reason a SIGN request can be refused for, through the
# whole path (client -> cable -> linkd -> signer and back). For each: the
# client gets an ERROR with the reason's code and a sentence; linkd's queue
# records the request as failed with that code and sentence; the signer
# logs it once and never sees it again (the old system retried a bad
# request forever); and a good request submitted right after each bad one
# is issued, so nothing blocks the queue.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-reject.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0

al_setup "$D"
al_cable "$D" --baud 115200
al_start "$D"
c=$D/csr
req() {	# NAME SUBJECT [openssl req args]: a P-256 request
	local n=$1 s=$2; shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$c/$n.key" \
		-subj "$s" -out "$c/$n.csr" "$@" 2>/dev/null || bad "CSR $n"
}
req good0 "/CN=good.example.test/O=airlock test" -addext "subjectAltName=DNS:good.example.test"
cp "$c/good0.csr" "$c/noroot.csr"
cp "$c/good0.csr" "$c/noprofile.csr"
head -c 600 /dev/urandom > "$c/garbage.csr"
openssl req -in "$c/good0.csr" -outform DER -out "$c/badsig.csr"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-2]^=1; open(sys.argv[1],"wb").write(b)' "$c/badsig.csr"
openssl genpkey -algorithm ed25519 -out "$c/ed.key" 2>/dev/null
openssl req -new -key "$c/ed.key" -subj "/CN=ed.example.test" -out "$c/keytype.csr" 2>/dev/null
openssl req -new -newkey rsa:1024 -nodes -keyout "$c/small.key" -subj "/CN=small.example.test" \
	-out "$c/keysize.csr" 2>/dev/null
req digest "/CN=sha1.example.test" -sha1
req subject "/CN=x.example.test/emailAddress=x@example.test"
req san "/CN=san.example.test" -addext "subjectAltName=email:san@example.test"
req validity "/CN=long.example.test"

# NAME ROOT PROFILE DAYS CODE
cases=(
	"noroot no-such-root server 0 200"
	"noprofile demo-ec timestamp 0 201"
	"garbage demo-ec server 0 202"
	"badsig demo-rsa server 0 203"
	"keytype demo-ec server 0 204"
	"keysize demo-rsa server 0 205"
	"digest demo-ec server 0 206"
	"subject demo-ec server 0 207"
	"san demo-rsa server 0 208"
	"validity demo-ec server 5000 209"
)
declare -A id code good
i=0
for cs in "${cases[@]}"; do
	read -r n r p days want <<<"$cs"
	args=(--root "$r" --profile "$p" --name "$n")
	[ "$days" != 0 ] && args+=(--days "$days")
	id[$n]=$(al_client "$D" submit "${args[@]}" "$c/$n.csr")
	code[$n]=$want
	i=$((i + 1))
	req "good$i" "/CN=good$i.example.test" -addext "subjectAltName=DNS:good$i.example.test"
	good[$n]=$(al_client "$D" submit --root demo-ec --profile server --name "good$i" "$c/good$i.csr")
done
check "every request answered within 120 s" \
	'al_client "$D" wait --timeout 120 ${id[@]} ${good[@]} >/dev/null'

q=$D/signer/state/queue.db err=$D/webdb/state/spool/err out=$D/webdb/state/spool/out
i=0
for cs in "${cases[@]}"; do
	read -r n r p days want <<<"$cs"
	i=$((i + 1))
	check "$n: error $want with a sentence for the client" \
		'grep -q "^$want .\{20,\}" "$err/$n.err"'
	check "$n: failed in linkd's queue with code $want and its sentence" \
		'[ "$(sqlite3 "$q" "select state, code, length(reason) > 20 from queue where hex(reqid) = upper('"'"'${id[$n]}'"'"')")" = "4|$want|1" ]'
	[ "$want" -ge 202 ] &&
	check "$n: the signer logged it once" \
		'[ "$(grep -c "req=${id[$n]} SIGN rejected: $want " "$D/log/signerd.log")" = 1 ]'
	check "$n: the good request after it was issued" \
		'openssl verify -CAfile "$D/ca/root/ca.crt" -untrusted "$D/ca/sub-ec/ca.crt" "$out/good$i.crt" >/dev/null 2>&1'
done
check "airlockctl queue shows the failures with code and reason" \
	'[ "$("$AL_BIN/airlockctl" -c "$D/signer/airlock.conf" queue --state failed -n 50 | grep -c " 20[0-9] ")" = ${#cases[@]} ]'
# a second look: the client asks again for everything unanswered; nothing is
sleep 2
check "nothing is handed to the signer again" \
	'[ "$(sqlite3 "$q" "select count(*) from queue where state < 2")" = 0 ]'

# refused before they are queued: numbers that are not numbers, on the
# command line (usage error, exit 2) and in spool files (error 103 and the
# file moved to rejected/, the client daemon going on)
for v in abc -3 12x 99999999999999999999 ""; do
	al_client "$D" submit --root demo-ec --profile server --days "$v" "$D/csr/good1.csr" \
		>/dev/null 2>"$D/days.err"; rc=$?
	check "submit --days '$v': exit 2 and a sentence" '[ $rc = 2 ] && grep -q "days needs a number" "$D/days.err"'
done
check "submit --days 36501: refused" \
	'! al_client "$D" submit --root demo-ec --profile server --days 36501 "$D/csr/good1.csr" >/dev/null 2>&1'
spool=$D/webdb/state/spool
k=0
for v in abc -3 12x 99999999999999999999 36501; do
	k=$((k + 1))
	{ echo "root=demo-ec"; echo "profile=server"; echo "days=$v"; cat "$D/csr/good1.csr"; } > "$spool/in/baddays$k.req.tmp"
	mv "$spool/in/baddays$k.req.tmp" "$spool/in/baddays$k.req"
done
{ echo "root=demo-ec"; echo "profile=server"; echo "days=30"; cat "$D/csr/good1.csr"; } > "$spool/in/okdays.req.tmp"
mv "$spool/in/okdays.req.tmp" "$spool/in/okdays.req"
for _ in $(seq 100); do [ -f "$out/okdays.crt" ] && [ -f "$err/baddays5.err" ] && break; sleep 0.1; done
for k in 1 2 3 4 5; do
	check "spool days= junk #$k: error 103 naming the line, file in rejected/" \
		'grep -q "^103 .*days=" "$err/baddays$k.err" && [ -f "$spool/rejected/baddays$k.req" ]'
done
check "spool days=30 beside them: issued" '[ -f "$out/okdays.crt" ]'
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
