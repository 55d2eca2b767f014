#!/usr/bin/env bash
# bench-scale.sh: `make bench-scale`. Ten years of one root on one signer:
#   - an `openssl ca` directory with BENCH_SCALE_N (1,000,000) lines, one in
#     ten revoked, most of the rest expired, every certificate in newcerts/
#     (tools/scalegen.c, RSA-2048 root, P-256 leaves). Made once and kept in
#     BENCH_SCALE_DIR (/var/tmp/airlock-scale), made again when scalegen.c
#     or N changes; not timed;
#   - airlockctl import-openssl-ca of it into a fresh ca.db, its files out
#     of the page cache first (import_cache=dropped as root, evicted
#     otherwise, warm with BENCH_SCALE_WARM=1): wall time and peak RSS (GNU
#     time);
#   - airlockctl export-index back, timed, and compared with index.txt byte
#     for byte;
#   - ca.db's bytes (after a checkpoint) over the certificates' DER bytes;
#   - airlock-signerd started on that ca.db: seconds until it logs
#     "started", then BENCH_SCALE_REQ (20) requests signed through the pty
#     cable, then its peak RSS (VmHWM);
#   - the console queries against the running signer (status, queue, show,
#     crl, roots, certs), each timed, best of 3: the slowest is reported.
# A benchmark, not a test. Ends with
#   BENCH scale import_1m_s=A import_cache=dropped|evicted|warm
#       import_rss_mb=B export_1m_s=C identical=0|1
#       signer_rss_mb=D start_s=E bytes_per_cert_ratio=F ctl_query_ms=G
set -u
. "$(dirname "$0")/harness.sh"
top=$AL_TOP
N=${BENCH_SCALE_N:-1000000}
NREQ=${BENCH_SCALE_REQ:-20}
CACHE=${BENCH_SCALE_DIR:-/var/tmp/airlock-scale}
export AL_TIME_INTERVAL=3600
W=$(mktemp -d /tmp/airlock-bench-scale.XXXXXX)
trap 'al_stop "$W"; [ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
die() { echo "bench-scale: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# --- the old CA, cached ---
h=$(sha256sum "$top/tools/scalegen.c" | cut -c1-12)
G=$CACHE/oldca-$h-$N
if [ ! -f "$G/index.txt" ] || [ ! -f "$G/complete" ]; then
	mkdir -p "$CACHE" || die "$CACHE"
	rm -rf "$CACHE"/oldca-*	# an older generator's
	echo "bench-scale: making $N certificates in $G (once; several minutes)"
	t0=$(now)
	rm -rf "$G.tmp"
	"$AL_BIN/scalegen" "$G.tmp" "$N" || die "scalegen failed"
	: > "$G.tmp/complete"
	mv "$G.tmp" "$G" || die "$G"
	echo "bench-scale: made in $(since "$t0") s"
fi
echo "bench-scale: $(wc -l < "$G/index.txt") lines in $G/index.txt ($(cut -c1 "$G/index.txt" | sort | uniq -c | tr -s ' ' | tr '\n' ' '))"

# --- a signer estate with the old root added ---
al_setup "$W"
mkdir -m 0700 "$W/ca/old"
cp "$G/ca.crt" "$W/ca/old/ca.crt"
install -m 0600 "$G/ca.key" "$W/ca/old/ca.key"
: > "$W/ca/old/chain.pem"
sed -i "s#^roots = (#roots = (\n  { name = \"old\"; dir = \"$W/ca/old\"; profiles = [\"server\"]; },#" \
	"$W/signer/airlock.conf"
ctl() { "$AL_BIN/airlockctl" -c "$W/signer/airlock.conf" "$@"; }
CADB=$W/signer/state/ca.db

# --- import ---
# As a migration finds them: the old CA's files read from the disk, not
# from the page cache its generation or an earlier run left them in (with
# them cached the import takes a third less time). As root the machine's
# caches are dropped; otherwise the files' pages are evicted one by one
# (their directory entries and inodes may stay cached). BENCH_SCALE_WARM=1
# keeps whatever is cached.
if [ -n "${BENCH_SCALE_WARM:-}" ]; then
	IMPORT_CACHE=warm
elif [ "$(id -u)" = 0 ] && sync && echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
	IMPORT_CACHE=dropped
else
	python3 - "$G" <<'PY' || die "cannot evict $G from the page cache"
import os, sys
d = sys.argv[1]
for sub in ("", "newcerts"):
    p = os.path.join(d, sub)
    for e in os.scandir(p):
        if e.is_file(follow_symlinks=False):
            fd = os.open(e.path, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
PY
	IMPORT_CACHE=evicted
fi
echo "bench-scale: the old CA's files: $IMPORT_CACHE"
/usr/bin/time -f "%e %M" -o "$W/import.time" \
	"$AL_BIN/airlockctl" -c "$W/signer/airlock.conf" import-openssl-ca old "$G" \
	> "$W/import.out" 2>"$W/import.err" || die "import: $(tail -n 3 "$W/import.err")"
IMPORT_S=$(awk '{ print $1 }' "$W/import.time")
IMPORT_MB=$(awk '{ printf "%.1f", $2 / 1024 }' "$W/import.time")
echo "bench-scale: $(cat "$W/import.out")"

# --- export ---
t0=$(now)
ctl export-index old -o "$W/export.txt" || die "export-index"
EXPORT_S=$(since "$t0")
IDENTICAL=0
cmp -s "$G/index.txt" "$W/export.txt" && IDENTICAL=1
[ $IDENTICAL = 1 ] || echo "bench-scale: the export differs: $(cmp "$G/index.txt" "$W/export.txt" 2>&1)"

# --- ca.db's size ---
sqlite3 "$CADB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null || die "checkpoint"
DER=$(sqlite3 "$CADB" "SELECT sum(length(der)) FROM certs")
SIZE=$(stat -c %s "$CADB")
RATIO=$(awk -v a="$SIZE" -v b="$DER" 'BEGIN { printf "%.3f", a / b }')
echo "bench-scale: ca.db $SIZE bytes, certificates $DER bytes DER ($(sqlite3 "$CADB" "SELECT count(*) FROM certs") rows)"

# --- the signer on it: start-up, a few requests, memory ---
for i in $(seq 1 "$NREQ"); do
	al_csr "$W" "r$i" ec:P-256 "host$i.scale.example"
	al_client "$W" submit --root old --profile server "$W/csr/r$i.csr" >/dev/null || die "submit $i"
done
al_cable "$W" --baud 115200
t0=$(now)
"$AL_BIN/airlock-signerd" -d -c "$W/signer/airlock.conf" 2>>"$W/log/signerd.log" &
echo $! > "$W/signerd.pid"
for _ in $(seq 2000); do grep -q "started:" "$W/log/signerd.log" && break; sleep 0.005; done
START_S=$(since "$t0")
grep -q "started:" "$W/log/signerd.log" || die "the signer did not start: $(tail -n 3 "$W/log/signerd.log")"
"$AL_BIN/airlock-linkd" -d -c "$W/signer/airlock.conf" 2>>"$W/log/linkd.log" & echo $! > "$W/linkd.pid"
"$AL_BIN/airlock-client" -d -c "$W/webdb/airlock-client.conf" run 2>>"$W/log/client.log" & echo $! > "$W/client.pid"
for _ in $(seq 600); do
	[ "$(sqlite3 -cmd ".timeout 5000" "$W/webdb/state/outbox.db" "select count(*) from outbox where state < 2")" = 0 ] && break
	sleep 0.1
done
[ "$(sqlite3 "$CADB" "select count(*) from certs where reqid is not null")" = "$NREQ" ] ||
	die "the $NREQ requests were not all signed (see $W/log)"

# --- console queries, each best of 3 ---
ID=$(sqlite3 "$W/signer/state/queue.db" "select lower(hex(reqid)) from queue order by id desc limit 1")
qms() {	# NAME ARGS...: the best of 3 in ms
	local name=$1 best="" t0 ms; shift
	for _ in 1 2 3; do
		t0=$(now)
		ctl "$@" > "$W/q-$name.out" 2>&1 || echo "bench-scale: $name failed: $(tail -n 2 "$W/q-$name.out")" >&2
		ms=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%d", (b - a) * 1000 }')
		[ -z "$best" ] || [ "$ms" -lt "$best" ] && best=$ms
	done
	printf '  %-8s %5d ms\n' "$name" "$best" >&2
	echo "$best"
}
echo "bench-scale: console queries on $((N + NREQ)) certificates (best of 3):" >&2
Q=0
for q in status queue "show:$ID" crl roots "certs:--root old -n 20"; do
	name=${q%%:*} args=""
	[ "$name" != "$q" ] && args=${q#*:}
	# shellcheck disable=SC2086
	ms=$(qms "$name" "$name" $args)
	[ "$ms" -gt "$Q" ] && Q=$ms
done
SIGNER_MB=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$(cat "$W/signerd.pid")/status")
echo "BENCH scale import_1m_s=$IMPORT_S import_cache=$IMPORT_CACHE import_rss_mb=$IMPORT_MB export_1m_s=$EXPORT_S identical=$IDENTICAL signer_rss_mb=$SIGNER_MB start_s=$START_S bytes_per_cert_ratio=$RATIO ctl_query_ms=$Q"
