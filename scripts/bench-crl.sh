#!/usr/bin/env bash
# bench-crl.sh: `make bench-crl`. A root with BENCH_ISSUED (1,000,000)
# certificates, BENCH_REVOKED (100,000) of them revoked, put straight into
# ca.db (synthetic rows: serial, validity, revocation data; not timed), and:
#   - full CRL generation as the signer does it (tools/crlbench.c full),
#     best of 3 runs, each a fresh process whose peak RSS is reported;
#   - `openssl ca -gencrl` on the same revoked entries, exported from ca.db
#     as index.txt (revoked lines only, so OpenSSL parses 100,000 lines,
#     not 1,000,000), same CA key, best of 3;
#   - BENCH_DELTA (50) revocations over a simulated 115200-baud link, then
#     one CRL refresh: the delta CRL's build time, and the bytes on the line
#     that bring webdb's CRL up to date (tools/crlbench.c delta), with
#     webdb's rebuilt CRL compared byte for byte with the signer's.
# A benchmark, not a test: it ends with one line
#   BENCH crl full_100k_s=A openssl_gencrl_100k_s=B ratio=A/B rss_mb=C
#       delta50_ms=D bytes_per_revocation=E identical=1
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${AL_BIN:-$top/build/bin}
ISSUED=${BENCH_ISSUED:-1000000} REVOKED=${BENCH_REVOKED:-100000} DELTA=${BENCH_DELTA:-50}
W=$(mktemp -d /tmp/airlock-bench-crl.XXXXXX)
trap '[ "${BENCH_KEEP:-}" ] && echo "kept $W" >&2 || rm -rf "$W"' EXIT
die() { echo "bench-crl: $*" >&2; exit 1; }

mkdir -p "$W/state" "$W/webdb" "$W/ossl"
"$bin/airlockctl" root init --dir "$W/ca" --subject "/CN=airlock bench CRL CA/O=airlock bench" \
	--key ec:P-384 --days 3650 >/dev/null || die "root init"
cat > "$W/signer.conf" <<CONF
state_dir = "$W/state";
profiles = ( { name = "server"; } );
roots = ( { name = "bench"; dir = "$W/ca"; profiles = ["server"]; crl_days = 7;
            crl_grace_days = 30; } );
CONF
cat > "$W/client.conf" <<CONF
state_dir = "$W/webdb";
client = { crl_roots = ( { name = "bench"; ca_cert = "$W/ca/ca.crt"; } ); };
CONF

echo "populating: $ISSUED certificates, $REVOKED revoked (not timed)"
"$bin/crlbench" populate "$W/signer.conf" bench "$ISSUED" "$REVOKED" 2>"$W/populate.log" ||
	die "populate (see $W/populate.log)"

# OpenSSL: the same revoked entries as index.txt, the same key
"$bin/crlbench" index "$W/signer.conf" bench "$W/ossl/index.txt" 2>>"$W/populate.log" ||
	die "index.txt"
[ "$(wc -l < "$W/ossl/index.txt")" = "$REVOKED" ] || die "export: $(wc -l < "$W/ossl/index.txt") revoked lines"
echo 01 > "$W/ossl/crlnumber"
cat > "$W/ossl/ca.cnf" <<CONF
[ ca ]
default_ca = bench
[ bench ]
database = $W/ossl/index.txt
certificate = $W/ca/ca.crt
private_key = $W/ca/ca.key
crlnumber = $W/ossl/crlnumber
default_md = sha384
default_crl_days = 7
unique_subject = no
new_certs_dir = $W/ossl
CONF

best() { sort -g | head -n 1; }
for i in 1 2 3; do
	/usr/bin/time -f "%e %M" -o "$W/ossl/time.$i" openssl ca -config "$W/ossl/ca.cnf" -gencrl \
		-out "$W/ossl/crl.$i.pem" -batch 2>"$W/ossl/log.$i" || die "openssl ca -gencrl (see $W/ossl/log.$i)"
	/usr/bin/time -f "%e %M" -o "$W/ftime.$i" "$bin/crlbench" full "$W/signer.conf" bench \
		2>>"$W/full.log" > "$W/full.$i" || die "full (see $W/full.log)"
done
B=$(for i in 1 2 3; do cut -d' ' -f1 "$W/ossl/time.$i"; done | best)
B_RSS=$(for i in 1 2 3; do echo "scale=1; $(cut -d' ' -f2 "$W/ossl/time.$i") / 1024" | bc; done | sort -g | tail -n 1)
A=$(for i in 1 2 3; do sed 's/.*full_s=\([0-9.]*\).*/\1/' "$W/full.$i"; done | best)
C=$(for i in 1 2 3; do sed 's/.*rss_mb=\([0-9.]*\).*/\1/' "$W/full.$i"; done | sort -g | tail -n 1)
O_ENTRIES=$(openssl crl -in "$W/ossl/crl.1.pem" -noout -text | grep -c 'Serial Number')
echo "full CRL, airlock: $(cat "$W/full.1"); whole process, best of 3:" \
	"$(for i in 1 2 3; do cut -d' ' -f1 "$W/ftime.$i"; done | best)s"
echo "full CRL, openssl ca -gencrl: best ${B}s, peak RSS ${B_RSS} MB, $O_ENTRIES entries"

"$bin/crlbench" delta "$W/signer.conf" "$W/client.conf" bench "$DELTA" 2>"$W/delta.log" > "$W/delta.out" ||
	die "delta (see $W/delta.log)"
cat "$W/delta.out"
D=$(sed -n 's/.*delta_ms=\([0-9.]*\).*/\1/p' "$W/delta.out")
E=$(sed -n 's/.*bytes_per_revocation=\([0-9.]*\).*/\1/p' "$W/delta.out")
I=$(sed -n 's/.*identical=\([01]\).*/\1/p' "$W/delta.out")
R=$(echo "scale=3; $A / $B" | bc | sed 's/^\./0./')
echo "BENCH crl full_100k_s=$A openssl_gencrl_100k_s=$B ratio=$R rss_mb=$C delta50_ms=$D bytes_per_revocation=$E identical=$I"
