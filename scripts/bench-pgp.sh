#!/usr/bin/env bash
# bench-pgp.sh: `make bench-pgp`. OpenPGP certification throughput against
# what the old system did, on the same machine in the same run:
#   (a) airlock's signer path in-process (tools/bench-pgp.c): decode the
#       PGP_CERTIFY message, parse the key, verify its self-signatures,
#       apply the profile, certify with an Ed25519 root and commit answer
#       and audit record to ca.db durably, 64 requests per commit as
#       airlock-signerd batches them; BENCH_N requests (default 2000) over
#       BENCH_KEYS user keys;
#   (b) `gpg --batch --quick-sign-key`, one process per key as the old
#       system ran gpg, with an Ed25519 certifying key in the same GnuPG home
#       (its gpg-agent stays up, as it would), on the BENCH_KEYS keys.
# The user keys are Ed25519 keys made by GnuPG (not timed). A benchmark, not
# a test. Ends with
#   BENCH pgp certified=N ok=N per_s=X ratio_vs_gpg=Y
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${AL_BIN:-$top/build/bin}
N=${BENCH_N:-2000}
K=${BENCH_KEYS:-50}
W=$(mktemp -d /tmp/airlock-bench-pgp.XXXXXX)
export GNUPGHOME=$W/gnupg
cleanup() {
	gpgconf --kill gpg-agent 2>/dev/null
	[ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"
}
trap cleanup EXIT
die() { echo "bench-pgp: $*" >&2; exit 1; }
command -v gpg >/dev/null || die "gpg is needed (apt-get install gnupg)"
mkdir -m 0700 "$GNUPGHOME" "$W/keys"
G="gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase="

echo "bench-pgp: $K user keys, an airlock and a GnuPG Ed25519 CA key in $W (not timed)"
"$bin/airlockctl" pgp-root init --dir "$W/root" --uid "bench CA <ca@bench.example>" \
	--no-pass >/dev/null || die "OpenPGP root"
$G --quick-gen-key "gpg bench CA <gpgca@bench.example>" ed25519 cert,sign never 2>/dev/null ||
	die "GnuPG CA key"
for i in $(seq 0 $((K - 1))); do
	$G --quick-gen-key "user$i <user$i@bench.example>" ed25519 cert,sign never 2>/dev/null ||
		die "user key $i"
	$G --armor --export "user$i@bench.example" > "$W/keys/$i.asc"
done
CAFPR=$(gpg --batch --with-colons --list-keys gpgca@bench.example | awk -F: '/^fpr/ {print $10; exit}')

# (a)
out=$("$bin/bench-pgp" run "$W/root" "$W/keys" "$K" "$N" "$W/ca.db" 2>"$W/a.log") ||
	die "signer path: $(tail -n 3 "$W/a.log")"
A=$(awk '$1 == "pgp" { print $4 }' <<<"$out")
OK=$(awk '$1 == "pgp" { print $6 }' <<<"$out")

# (b)
fprs=$(gpg --batch --with-colons --list-keys | awk -F: '/^pub/ {p = 1} /^fpr/ && p {print $10; p = 0}' |
	grep -v "$CAFPR")
t0=$(date +%s.%N)
nb=0
for f in $fprs; do
	$G --default-key "$CAFPR" --quick-sign-key "$f" >/dev/null 2>&1 && nb=$((nb + 1))
done
t1=$(date +%s.%N)
B=$(awk -v n="$nb" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
GOOD=$(gpg --batch --with-colons --check-sigs 2>/dev/null | awk -F: -v ca="${CAFPR:24:16}" \
	'/^sig:!:/ && $5 == ca && $11 ~ /^1[0-3]x$/ { n++ } END { print n + 0 }')
[ "$GOOD" -ge "$nb" ] || die "gpg made $nb certifications but only $GOOD check out"
printf "  %-46s %10s/s\n" "airlock signer path (Ed25519 root)" "$A" \
	"gpg --quick-sign-key, one process per key ($nb)" "$B"
R=$(awk -v a="$A" -v b="$B" 'BEGIN { printf "%.1f", a / b }')
echo "BENCH pgp certified=$N ok=$OK per_s=$A ratio_vs_gpg=$R"
