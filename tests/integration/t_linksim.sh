#!/bin/bash
# t_linksim.sh: integration test of tools/linksim.c, the serial cable
# simulator: byte timing at the configured baud rate, bit errors, drops,
# cable pulls, and clients that open late or close and reopen a port.
# Uses $LINKSIM, else $AL_BIN/linksim (default build/bin). Needs python3 (skips without it).
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
LINKSIM=${LINKSIM:-${AL_BIN:-$here/build/bin}/linksim}

if ! command -v python3 >/dev/null 2>&1; then
	echo "skip: python3 not found"
	exit 0
fi
if [ ! -x "$LINKSIM" ]; then
	echo "FAIL - $LINKSIM not built"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/t_linksim.XXXXXX")
sim_pid=
failed=0

cleanup() {
	if [ -n "$sim_pid" ]; then
		kill "$sim_pid" 2>/dev/null || true
		wait "$sim_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Start linksim with the given options; wait for its ready file.
sim_start() {
	rm -f "$tmp/ready" "$tmp/stats"
	"$LINKSIM" --a "$tmp/A" --b "$tmp/B" --ready "$tmp/ready" \
	    --stats "$tmp/stats" "$@" 2>"$tmp/sim.err" &
	sim_pid=$!
	for _ in $(seq 100); do
		[ -f "$tmp/ready" ] && return 0
		kill -0 "$sim_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL - linksim did not become ready: $(cat "$tmp/sim.err")"
	exit 1
}

# Stop linksim cleanly; its counters land in $tmp/stats.
sim_stop() {
	kill -TERM "$sim_pid"
	local st=0
	wait "$sim_pid" || st=$?
	if [ "$st" -ne 0 ]; then
		echo "FAIL - linksim exited with status $st:"
		sed 's/^/    /' "$tmp/sim.err"
		failed=1
	fi
	sim_pid=
}

# check NAME MODE ARGS...: run one python check against the simulator.
check() {
	local name=$1
	shift
	if python3 "$tmp/check.py" "$tmp" "$@" >"$tmp/out" 2>&1; then
		echo "ok - $name: $(tail -n 1 "$tmp/out")"
	else
		echo "FAIL - $name:"
		sed 's/^/    /' "$tmp/out"
		failed=1
	fi
}

cat >"$tmp/check.py" <<'PY'
# Checks run against a running linksim; arguments: TMPDIR MODE [N].
import os, select, sys, threading, time, tty, random

tmp, mode = sys.argv[1], sys.argv[2]

def port(name):
    fd = os.open(os.path.join(tmp, name), os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    return fd

def stats():
    d = {}
    for line in open(os.path.join(tmp, "stats")):
        k, v = line.strip().split("=", 1)
        d[k] = int(v)
    return d

def read_until(fd, want=None, idle=1.0, limit=20.0):
    # Read until `want` bytes arrived, or nothing arrived for `idle` s.
    buf = bytearray()
    start = last = time.monotonic()
    while (want is None or len(buf) < want) and last - start < limit:
        r, _, _ = select.select([fd], [], [], idle)
        if not r:
            break
        buf += os.read(fd, 65536)
        last = time.monotonic()
    return bytes(buf), last

def transfer(n, idle=1.0, exact=False):
    # Send n random bytes A -> B; return (sent, received, seconds).
    a, b = port("A"), port("B")
    data = random.Random(n).randbytes(n)
    t0 = time.monotonic()
    w = threading.Thread(target=lambda: os.write(a, data) and None)
    w.start()
    got, t1 = read_until(b, n if exact else None, idle)
    w.join()
    os.close(a)
    os.close(b)
    return data, got, t1 - t0

def align(sent, recv, k=8):
    # Greedy alignment of random data: (substituted, deleted, gap sizes).
    i = j = subs = 0
    gaps = []
    while i < len(sent) and j < len(recv):
        if sent[i] == recv[j]:
            i += 1; j += 1
        elif sent[i + 1:i + 1 + k] == recv[j + 1:j + 1 + k]:
            subs += 1; i += 1; j += 1
        else:
            p = sent.find(recv[j:j + k], i)
            if p < 0:
                subs += 1; i += 1; j += 1
            else:
                gaps.append(p - i); i = p
    if i < len(sent):
        gaps.append(len(sent) - i)
    return subs, sum(gaps), gaps

def fail(msg):
    print(msg)
    sys.exit(1)

def check_clean():
    n = int(sys.argv[3])
    sent, got, secs = transfer(n, idle=2.0, exact=True)
    if got != sent:
        fail("data differs: sent %d, received %d" % (len(sent), len(got)))
    if not 1.8 <= secs <= 2.6:
        fail("%d bytes took %.3f s, expected 1.8..2.6" % (n, secs))
    print("%d bytes intact in %.3f s" % (n, secs))

def check_ber():
    n, ber = int(sys.argv[3]), float(sys.argv[4])
    sent, got, _ = transfer(n)
    subs, dels, _ = align(sent, got)
    bad, expect = subs + dels, 10 * ber * n
    if not expect / 3 <= bad <= expect * 3:
        fail("%d bytes differ, expected about %.0f" % (bad, expect))
    print("%d of %d bytes differ (%d changed, %d lost), expected ~%.0f"
          % (bad, n, subs, dels, expect))

def check_drop():
    n, p = int(sys.argv[3]), float(sys.argv[4])
    sent, got, _ = transfer(n)
    i = 0
    for c in got:                   # greedy: is got a subsequence of sent?
        i = sent.find(bytes([c]), i) + 1
        if i == 0:
            fail("received bytes that were not sent in that order")
    dels = n - len(got)
    if not n * p / 2 <= dels <= n * p * 2:
        fail("%d of %d bytes dropped, expected about %.0f" % (dels, n, n * p))
    print("%d of %d bytes dropped, expected ~%.0f" % (dels, n, n * p))

def check_cut():
    n = int(sys.argv[3])
    sent, got, _ = transfer(n, idle=1.5)
    subs, dels, gaps = align(sent, got)
    big = [g for g in gaps if g >= 500]
    if subs or not big or len(got) + dels != n:
        fail("changed %d, gaps %s" % (subs, gaps))
    print("%d of %d bytes lost in runs %s" % (dels, n, gaps))

def check_reopen():
    a = port("A")
    os.write(a, b"x" * 300)         # nobody listens on B: lost
    time.sleep(0.2)
    b = port("B")
    os.write(a, b"hello")
    got, _ = read_until(b, 5)
    if got != b"hello":
        fail("late opener got %r" % got[:40])
    os.write(a, b"y" * 100)         # left unread when B closes: lost
    time.sleep(0.1)
    os.close(b)
    time.sleep(0.2)
    b = port("B")
    os.write(b, b"back")            # and the other direction works
    got, _ = read_until(a, 4)
    if got != b"back":
        fail("B -> A after reopen got %r" % got[:40])
    os.write(a, b"again")
    got, _ = read_until(b, 5)
    if got != b"again":
        fail("reopened B got %r" % got[:40])
    print("late open, close and reopen work; stale bytes discarded")

def check_stats():
    s, n = stats(), int(sys.argv[3])
    ber = float(sys.argv[4])
    if s["a2b.bytes_in"] != n:
        fail("a2b.bytes_in=%d, sent %d" % (s["a2b.bytes_in"], n))
    if s["a2b.overrun_lost"] or s["a2b.queued"]:
        fail("overrun_lost=%d queued=%d" % (s["a2b.overrun_lost"],
                                            s["a2b.queued"]))
    flips, expect = s["a2b.bits_flipped"], 10 * ber * n
    if not expect / 1.5 <= flips <= expect * 1.5:
        fail("bits_flipped=%d, expected about %.0f" % (flips, expect))
    print("bits_flipped=%d (expected ~%.0f), bytes_in matches" % (flips, expect))

def check_counters():
    s, keys = stats(), sys.argv[3:]
    for k in keys:
        name, _, op = k.partition(">")
        if not s[name] > int(op):
            fail("%s=%d, want > %s" % (name, s[name], op))
    print(", ".join("%s=%d" % (k.partition(">")[0], s[k.partition(">")[0]])
                    for k in keys))

globals()["check_" + mode]()
PY

# 1. No noise: data intact, 23040 bytes take 2 s at 115200 baud.
sim_start --baud 115200 --seed 1
check "clean line at 115200 baud" clean 23040
sim_stop

# 2. Bit errors at 1 Mbaud: about 10 * BER * bytes bytes differ.
sim_start --baud 1000000 --ber 1e-4 --seed 2
check "ber 1e-4" ber 204800 1e-4
sim_stop
check "ber counters" stats 204800 1e-4

# 3. Dropped bytes: fewer arrive, the rest in order.
sim_start --baud 1000000 --drop 0.01 --seed 3
check "drop 0.01" drop 51200 0.01
sim_stop
check "drop counters" counters a2b.bytes_dropped\>0

# 4. Cable pulls: whole runs of bytes are lost, the rest intact.
sim_start --baud 115200 --disconnect-every 0.5 --disconnect-for 200 --seed 4
check "disconnect" cut 23040
sim_stop
check "disconnect counters" counters a2b.disconnects\>0 a2b.outage_lost\>0

# 5. A port opened late, closed and reopened; stale bytes are discarded.
sim_start --baud 115200 --seed 5
check "reopen" reopen
sim_stop
check "reopen counters" counters a2b.closed_lost\>299 a2b.unread_lost\>0

# Argument errors exit with status 2.
st=0
"$LINKSIM" --a "$tmp/A" --ber 2 >/dev/null 2>&1 || st=$?
if [ "$st" -eq 2 ]; then
	echo "ok - bad arguments exit 2"
else
	echo "FAIL - bad arguments exit $st, want 2"
	failed=1
fi

exit "$failed"
