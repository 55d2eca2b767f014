#!/usr/bin/env bash
# t_retention.sh: pruning on the databases of real daemons (docs/architecture.md
# section 3.5). Two certificates and a CRL fetch go through the cable; their
# rows are aged past the 90 days with sqlite3. Then, with the daemons stopped:
#   - `airlockctl prune` deletes exactly the aged delivered requests from
#     queue.db and the aged CRL answer from ca.db (not the aged SIGN answer),
#     says how many, and leaves an audit record; `airlockctl status` shows the
#     retention;
#   - `airlock-client prune` deletes exactly the aged answered requests from
#     outbox.db.
# Then the daemons run again: the first SIGN submitted again under its id is
# answered with the same certificate from ca.db, and nothing is signed twice.
# Last, the rows are aged again and the daemons prune them by themselves,
# RETENTION_FIRST_MS (10 s) after they start, each with one log line.
set -u
. "$AL_TOP/scripts/harness.sh"

D=$(mktemp -d /tmp/airlock-retention.XXXXXX)
trap 'al_stop "$D"; [ "${KEEP:-}" ] || rm -rf "$D"' EXIT
fails=0
q() { sqlite3 -cmd ".timeout 5000" "$@"; }
eventually() {	# SECONDS CONDITION
	local i
	for i in $(seq $(($1 * 10))); do eval "$2" && return 0; sleep 0.1; done
	return 1
}

export AL_CLIENT_EXTRA="crl_roots = ( { name = \"demo-ec\"; ca_cert = \"$D/ca/sub-ec/ca.crt\"; } );"
al_setup "$D"
S=$D/signer/state W=$D/webdb/state
QDB=$S/queue.db CADB=$S/ca.db ODB=$W/outbox.db OUT=$W/spool/out
CTL="$AL_BIN/airlockctl -c $D/signer/airlock.conf"
start() { al_cable "$D" --baud 921600; al_start "$D"; }
submit() {	# NAME [submit args]: a SIGN for csr/NAME.csr; prints its id
	local n=$1; shift
	[ -f "$D/csr/$n.csr" ] || al_csr "$D" "$n" ec:P-256 "$n.retention.example"
	al_client "$D" submit --root demo-ec --profile server --name "$n" "$@" "$D/csr/$n.csr"
}
hexid() { echo "upper('$1')"; }
qstate() { q "$QDB" "select state from queue where hex(reqid) = $(hexid "$1")"; }
delivered() { [ "$(qstate "$1")" = 3 ]; }
age() {	# DB TABLE COLUMN ID: 100 days back
	q "$1" "update $2 set $3 = $3 - 100 * 86400 where hex(reqid) = $(hexid "$4")"
}
logged() {	# LOG TEXT: the daemon's log has the line within 30 s
	local i
	for i in $(seq 300); do grep -q "$2" "$D/log/$1.log" && return 0; sleep 0.1; done
	return 1
}
intact() {
	local f
	for f in "$QDB" "$CADB" "$ODB"; do
		[ "$(q "$f" "pragma integrity_check")" = ok ] || return 1
	done
}
alive() {
	local p
	for p in signerd linkd client; do kill -0 "$(cat "$D/$p.pid")" || return 1; done
}

start
a=$(submit a)
b=$(submit b)
crl=$(al_client "$D" crl --root demo-ec --full)
c=$(submit c)			# the newest row: never pruned
check "the requests are answered" 'al_client "$D" wait --timeout 60 $a $b $crl $c'
check "and delivered" \
	'eventually 10 "delivered $a && delivered $b && delivered $crl && delivered $c"'
al_stop "$D"
certs=$(q "$CADB" "select count(*) from certs")
check "three certificates" '[ "$certs" = 3 ]'
for id in $a $crl; do
	age "$QDB" queue updated "$id"
	age "$CADB" answers answered "$id"
	age "$ODB" outbox updated "$id"
done
qn=$(q "$QDB" "select count(*) from queue") on=$(q "$ODB" "select count(*) from outbox")
an=$(q "$CADB" "select count(*) from answers")

# the operator's prune, signer host
out=$($CTL prune 2>&1); rc=$?
echo "$out"
check "airlockctl prune: exit 0" '[ $rc = 0 ]'
check "airlockctl prune: 2 requests from queue.db" \
	'grep -q "^pruned 2 delivered or failed requests older than 90 days from $QDB\$" <<<"$out"'
check "airlockctl prune: 1 CRL answer from ca.db" \
	'grep -q "^pruned 1 CRL answers older than 90 days from $CADB\$" <<<"$out"'
check "queue.db: exactly the aged rows went" \
	'[ "$(q "$QDB" "select count(*) from queue")" = $((qn - 2)) ] && [ -z "$(qstate $a)" ] &&
	 [ -z "$(qstate $crl)" ] && [ "$(qstate $b)$(qstate $c)" = 33 ]'
check "ca.db: the aged SIGN answer stays, the aged CRL answer went" \
	'[ "$(q "$CADB" "select count(*) from answers")" = $((an - 1)) ] &&
	 [ "$(q "$CADB" "select type from answers where hex(reqid) = $(hexid $a)")" = 1 ] &&
	 [ -z "$(q "$CADB" "select type from answers where hex(reqid) = $(hexid $crl)")" ]'
check "ca.db: every certificate stays" '[ "$(q "$CADB" "select count(*) from certs")" = 3 ]'
check "the prune is in the audit log" \
	'$CTL audit tail -n 1 | grep -q "prune: 2 delivered or failed requests from queue.db, 1 CRL answers"'
check "the audit chain holds" '$CTL audit verify >/dev/null'
check "airlockctl status shows the retention" \
	'$CTL status | grep -q "^  retention: 90 days; the oldest delivered or failed: "'
out=$($CTL prune 2>&1)
check "airlockctl prune again: nothing, no audit record" \
	'grep -q "^pruned 0 delivered" <<<"$out" && grep -q "^pruned 0 CRL" <<<"$out" &&
	 [ "$($CTL audit tail -n 1 | grep -c "prune:")" = 1 ]'

# the operator's prune, webdb
out=$(al_client "$D" prune 2>&1); rc=$?
echo "$out"
check "airlock-client prune: 2 answered requests" \
	'[ $rc = 0 ] && grep -q "^pruned 2 answered requests older than 90 days from $ODB\$" <<<"$out"'
check "outbox.db: exactly the aged rows went" \
	'[ "$(q "$ODB" "select count(*) from outbox")" = $((on - 2)) ] &&
	 [ -z "$(q "$ODB" "select state from outbox where hex(reqid) = $(hexid $a)")" ] &&
	 [ "$(q "$ODB" "select state from outbox where hex(reqid) = $(hexid $b)")" = 2 ]'

# exactly once: the first request again, under its id, after every trace of
# it but ca.db's is gone
start
a2=$(submit a --id "$a" --name a2)
check "the repeat is queued under the same id" '[ "$a2" = "$a" ]'
check "and answered" 'al_client "$D" wait --timeout 60 $a'
check "with the same certificate" 'cmp -s "$OUT/a.crt" "$OUT/a2.crt"'
check "from the signer's store" \
	'grep -q "req=$a answered again from the store" "$D/log/signerd.log"'
check "nothing signed twice" '[ "$(q "$CADB" "select count(*) from certs")" = 3 ]'
check "delivered" 'eventually 10 "delivered $a"'
d=$(submit d)
check "a newer request answered" 'al_client "$D" wait --timeout 60 $d'
al_stop "$D"

# the daemons' own prune, soon after they start
age "$QDB" queue updated "$a"
age "$ODB" outbox updated "$a"
q "$CADB" "update answers set answered = answered - 100 * 86400 where type = 3"
crls=$(q "$CADB" "select count(*) from answers where type = 3")
start
check "linkd prunes by itself" \
	'logged linkd "pruned 1 delivered or failed requests older than 90 days from queue.db"'
check "the signer prunes by itself" \
	'logged signerd "pruned $crls CRL answers older than 90 days from ca.db"'
check "the client prunes by itself" \
	'logged client "pruned 1 answered requests older than 90 days from outbox.db"'
check "queue.db and outbox.db: the row went" \
	'[ -z "$(qstate $a)" ] && [ -z "$(q "$ODB" "select 1 from outbox where hex(reqid) = $(hexid $a)")" ]'
check "ca.db: the SIGN answer stays" \
	'[ "$(q "$CADB" "select type from answers where hex(reqid) = $(hexid $a)")" = 1 ]'
check "every database intact" intact
check "daemons alive" alive
[ $fails = 0 ] || { echo "logs in $D/log"; KEEP=1; }
exit $fails
