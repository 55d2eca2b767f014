#!/usr/bin/env bash
# t_hostile.sh: the web application is not trusted. It can write anything
# into spool/in and run airlock-client's commands; here it tries what a
# security review proved possible: symbolic and hard links to the link key,
# a FIFO and a device that would block the client, a file of a terabyte,
# a directory, names with control characters, a file swapped for a link
# while the client scans, names with ".." for result paths, and a flood of
# time samples while the signer is stopped. Each is refused with a reason
# that quotes nothing of the file; nothing of the key reaches a file the
# web application can read; and the client keeps serving good requests.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-hostile.XXXXXX)
trap 'kill $swapper 2>/dev/null; al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
swapper=
fails=0

# linkd's in-flight limit (signer.in_flight) as small as section 4 needs
# to go past it
export AL_SIGNER_EXTRA="in_flight = 32;"
AL_TIME_INTERVAL=1 al_setup "$D"
al_cable "$D" --baud 115200
AL_TIME_INTERVAL=1 al_config "$D"
al_start "$D"
S=$D/webdb/state/spool
key=$D/webdb/link.key
secret=$(head -c 16 "$key")		# the start of the link key's hex
for _ in $(seq 100); do [ -d "$S/in" ] && break; sleep 0.1; done

good_req() {	# NAME: a good request file written the way the web application does
	al_csr "$D" "$1" ec:P-256 "$1.example.test" -addext "subjectAltName=DNS:$1.example.test"
	{ printf 'root=demo-ec\nprofile=server\n'; cat "$D/csr/$1.csr"; } > "$S/in/.$1.tmp"
	mv "$S/in/.$1.tmp" "$S/in/$1.req"
}

# 1. links to secrets, a line that is a secret, FIFOs, devices, huge files
ln -s "$key" "$S/in/symlink.req"
ln "$key" "$S/in/hardlink.req"
ln -s /dev/tty "$S/in/tty.req"
mkfifo "$S/in/fifo.req"
mkdir "$S/in/dir.req"
truncate -s 1T "$S/in/huge.req"
{ cat "$key"; echo; } > "$S/in/keyline.req"	# the sender's own file, quoting a key
printf 'type=revoke\n%s\n' "$(cat "$key")" > "$S/in/revline.req"
[ "$(id -u)" = 0 ] && mknod "$S/in/null.req" c 1 3
touch "$S/in/$(printf 'ctl\033[2J\nname').req" "$S/in/sp ace.req"
good_req after1
check "the client is not blocked: a good request after them is issued" \
	'for _ in $(seq 300); do [ -s "$S/out/after1.crt" ] && break; sleep 0.1; done; [ -s "$S/out/after1.crt" ]'
check "hardlink.req: removed from the spool (a second name of the key), reason in err/" \
	'[ ! -e "$S/rejected/hardlink.req" ] && [ ! -e "$S/in/hardlink.req" ] && grep -q "^[0-9]\{3\} refused: .*hard links" "$S/err/hardlink.err"'
for n in symlink tty fifo dir huge null; do
	[ "$n" = null ] && [ "$(id -u)" != 0 ] && continue
	check "$n.req: moved to rejected/ with a reason in err/" \
		'[ -e "$S/rejected/$n.req" ] || [ -L "$S/rejected/$n.req" ] && grep -q "^[0-9]\{3\} refused: " "$S/err/$n.err"'
done
check "keyline.req and revline.req: refused without quoting the line" \
	'grep -q "^[0-9]\{3\} " "$S/err/keyline.err" && grep -q "^[0-9]\{3\} " "$S/err/revline.err"'
check "names with control characters or spaces: rejected, no err file made from them" \
	'[ "$(ls "$S/rejected" | grep -c "ctl\|sp ace")" = 2 ] && ! ls "$S/err" | grep -q "ctl\|sp ace"'
# (keyline.req and revline.req are the sender's own files: they are kept in rejected/)
check "the link key's bytes appear in no file of spool/ but the sender's own" \
	'! grep -rqF --exclude=keyline.req --exclude=revline.req "$secret" "$S"'
check "the link key's bytes appear in no log line of the client" \
	'! grep -qF "$secret" "$D/log/client.log"'
check "the link key itself is untouched" '[ -f "$key" ] && [ ! -L "$key" ]'
check "the client counts what it rejected" \
	'grep -q "rejected so far" "$D/log/client.log"'

# 2. a file swapped for a link to the key while the client scans
( while :; do
	printf 'root=demo-ec\nprofile=server\n-----BEGIN x\n' > "$S/in/.swap.tmp"
	mv -f "$S/in/.swap.tmp" "$S/in/swap.req" 2>/dev/null
	ln -sfn "$key" "$S/in/.swap.lnk"; mv -f "$S/in/.swap.lnk" "$S/in/swap.req" 2>/dev/null
  done ) &
swapper=$!
sleep 3
kill $swapper; wait $swapper 2>/dev/null; swapper=
check "swapping a file for a link while scanning leaks nothing" \
	'! grep -rqF --exclude=keyline.req --exclude=revline.req "$secret" "$S" && ! grep -qF "$secret" "$D/log/client.log"'

# 3. names with ".." for result paths, at entry and where a path is built
check "submit --name ../../x is a usage error" \
	'! al_client "$D" submit --root demo-ec --profile server --name ../../x "$D/csr/after1.csr" 2>"$D/err.txt"; grep -q -- "--name needs" "$D/err.txt"'
check "revoke --name ../x is a usage error" \
	'! al_client "$D" revoke --root demo-ec --serial 01 --name ../x 2>/dev/null'
al_stop_one "$D" client
al_csr "$D" esc ec:P-256 esc.example.test -addext "subjectAltName=DNS:esc.example.test"
id=$(al_client "$D" submit --root demo-ec --profile server --name esc "$D/csr/esc.csr")
sqlite3 "$D/webdb/state/outbox.db" "update outbox set name = '../../../escape' where hex(reqid) = upper('$id')"
"$AL_BIN/airlock-client" -d -c "$D/webdb/airlock-client.conf" run 2>>"$D/log/client.log" &
echo $! > "$D/client.pid"
check "a bad name in outbox.db does not become a path outside the spool" \
	'al_client "$D" wait --timeout 60 "$id" >/dev/null && [ -s "$S/out/$id.crt" ] && [ ! -e "$D/escape.crt" ] && [ ! -e "$D/webdb/escape.crt" ]'

# 4. time samples while the signer is stopped: they count against the limit
kill -STOP "$(cat "$D/signerd.pid")"
ids=()
for i in $(seq 40); do
	ids+=("$(al_client "$D" submit --root demo-ec --profile server --name "flood$i" --id "$(printf '%032x' $((0xf100 + i)))" "$D/csr/after1.csr")")
done
sleep 6
st=$(al_client "$D" status --signer --timeout 20)
inflight=$(echo "$st" | sed -n 's/^in_flight=//p')
busy=$(echo "$st" | sed -n 's/^busy=//p')
check "with the signer stopped, linkd holds at most 32 in flight (in_flight=$inflight)" \
	'[ -n "$inflight" ] && [ "$inflight" -le 32 ]'
check "time samples over the limit are refused as busy (busy=$busy)" \
	'[ -n "$busy" ] && [ "$busy" -gt 0 ] && grep -q "time sample refused: 502" "$D/log/client.log"'
kill -CONT "$(cat "$D/signerd.pid")"
check "after the signer resumes, all 40 are answered" \
	'al_client "$D" wait --timeout 120 "${ids[@]}" >/dev/null'
good_req after2
check "and the spool still serves" \
	'for _ in $(seq 300); do [ -s "$S/out/after2.crt" ] && break; sleep 0.1; done; [ -s "$S/out/after2.crt" ]'
check "no daemon died" \
	'kill -0 $(cat "$D/signerd.pid") && kill -0 $(cat "$D/linkd.pid") && kill -0 $(cat "$D/client.pid")'

[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
