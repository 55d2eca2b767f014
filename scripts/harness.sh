# harness.sh: shared by `make demo` and the integration tests (sourced, bash).
# Builds a throwaway CA estate and a pty cable in a state directory and runs
# the three airlock processes on it, each as its own process.
#
#   al_setup DIR             CAs (root, RSA-4096 and P-384 subroots), link key,
#                            configs for both hosts
#   al_cable DIR [ARGS...]   start the cable simulator (linksim) with ARGS
#   al_start DIR             start airlock-signerd, airlock-linkd, airlock-client
#   al_stop DIR              stop everything started here
#   al_csr DIR NAME KEY CN   make DIR/csr/NAME.csr (KEY: rsa:2048, ec:P-256, ...)
#   al_client DIR ARGS...    run airlock-client with the webdb config
#   al_ocsp_setup DIR [SET]  al_setup for airlock-ocspd beside the client
#
# Extra settings, for tests that need them (empty by default):
# AL_PROFILE_EXTRA goes into the "server" profile, AL_ROOT_RSA_EXTRA and
# AL_ROOT_EC_EXTRA into the two roots, AL_CLIENT_EXTRA into webdb's client.
# AL_PGP=1 adds an OpenPGP root "demo-pgp" (ca/pgp, key AL_PGP_KEY, default
# ed25519) with the profile "openpgp", and its public key for the client.
# AL_OCSP=1 adds the profile "ocsp" (as in conf/airlock.conf) to demo-ec.

AL_TOP=${AL_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
AL_BIN=${AL_BIN:-$AL_TOP/build/bin}
. "$AL_TOP/scripts/tap.sh"	# ok, bad, check, waitfor

al_die() { echo "harness: $*" >&2; exit 1; }

al_config() {	# DIR: the two configuration files
	local d=$1 pgp_profile="" pgp_roots="" ocsp_profile="" ec_profiles='"server", "client"'
	if [ -n "${AL_OCSP:-}" ]; then
		ocsp_profile=',
  { name = "ocsp"; max_days = 90; default_days = 30;
    key_usage = ["digitalSignature"]; ext_key_usage = ["OCSPSigning"];
    ocsp_nocheck = true; san = []; subject = "CN,O,OU,C"; }'
		ec_profiles='"server", "client", "ocsp"'
	fi
	if [ -n "${AL_PGP:-}" ]; then
		pgp_profile=',
  { name = "openpgp"; max_days = 366; default_days = 366;
    key_types = ["rsa", "ec", "ed25519"]; min_rsa_bits = 2048; }'
		pgp_roots="
pgp_roots = (
  { name = \"demo-pgp\"; dir = \"$d/ca/pgp\"; pass_file = \"$d/ca/pgp.pass\";
    profiles = [\"openpgp\"]; }
);"
	fi
	cat > "$d/signer/airlock.conf" <<CONF
# airlock signer host (made by scripts/harness.sh)
state_dir = "$d/signer/state";
run_dir = "$d/signer/run";
signer = { audit_key = "$d/signer/audit.key"; ${AL_SIGNER_EXTRA:-} };
link = {
  transport = "serial";
  device = "$d/cable-signer";
  baud = ${AL_BAUD:-115200};
${AL_PACE:+  pace = $AL_PACE;
}  key_file = "$d/signer/link.key";
  max_payload = ${AL_PAYLOAD:-1024};
  window = ${AL_WINDOW:-32};
};
profiles = (
  { name = "server"; max_days = 397; default_days = 90;
    key_usage = ["digitalSignature", "keyEncipherment"];
    ext_key_usage = ["serverAuth"]; san = ["dns", "ip"];
    subject = "CN,O,OU,C,L,ST"; ${AL_PROFILE_EXTRA:-} },
  { name = "client"; max_days = 730; default_days = 365;
    key_usage = ["digitalSignature"]; ext_key_usage = ["clientAuth"];
    san = ["email"]; subject = "CN,O,OU,C,emailAddress"; }$pgp_profile$ocsp_profile
);
roots = (
  { name = "demo-rsa"; dir = "$d/ca/sub-rsa"; profiles = ["server", "client"];
    ${AL_ROOT_RSA_EXTRA:-} },
  { name = "demo-ec"; dir = "$d/ca/sub-ec"; profiles = [$ec_profiles];
    ${AL_ROOT_EC_EXTRA:-} }
);$pgp_roots
CONF
	cat > "$d/webdb/airlock-client.conf" <<CONF
# airlock webdb host (made by scripts/harness.sh)
state_dir = "$d/webdb/state";
link = {
  transport = "serial";
  device = "$d/cable-webdb";
  baud = ${AL_BAUD:-115200};
${AL_PACE:+  pace = $AL_PACE;
}  key_file = "$d/webdb/link.key";
  max_payload = ${AL_PAYLOAD:-1024};
  window = ${AL_WINDOW:-32};
};
client = { time_interval = ${AL_TIME_INTERVAL:-60};
  audit_pubkey = "$d/webdb/audit.pub"; audit_interval = ${AL_AUDIT_INTERVAL:-10};
  ${AL_CLIENT_EXTRA:-} };
CONF
}

al_setup() {
	local d=$1 ctl=$AL_BIN/airlockctl
	mkdir -p "$d/ca" "$d/signer/state" "$d/signer/run" "$d/webdb/state" "$d/csr" "$d/log"
	"$ctl" root init --dir "$d/ca/root" --subject "/CN=airlock demo root/O=airlock demo" \
		--key ec:P-384 --days 3650 >/dev/null || al_die "root CA"
	"$ctl" root init --dir "$d/ca/sub-rsa" --subject "/CN=airlock demo RSA subroot/O=airlock demo" \
		--key rsa:4096 --days 1825 --parent "$d/ca/root" --pathlen 0 >/dev/null || al_die "RSA subroot"
	"$ctl" root init --dir "$d/ca/sub-ec" --subject "/CN=airlock demo EC subroot/O=airlock demo" \
		--key ec:P-384 --days 1825 --parent "$d/ca/root" --pathlen 0 >/dev/null || al_die "EC subroot"
	if [ -n "${AL_PGP:-}" ]; then	# an OpenPGP root; its public key for webdb
		echo "demo pgp passphrase" > "$d/ca/pgp.pass"
		"$ctl" pgp-root init --dir "$d/ca/pgp" --uid "airlock demo OpenPGP CA <pgp-ca@demo.example>" \
			--key "${AL_PGP_KEY:-ed25519}" --pass-file "$d/ca/pgp.pass" >/dev/null || al_die "OpenPGP root"
		mkdir -p "$d/webdb/state/pgp"
		cp "$d/ca/pgp/ca.asc" "$d/webdb/state/pgp/demo-pgp.asc"
	fi
	"$ctl" link-key new "$d/signer/link.key" >/dev/null || al_die "link key"
	install -m 0600 "$d/signer/link.key" "$d/webdb/link.key"
	"$ctl" audit-key new "$d/signer/audit.key" "$d/webdb/audit.pub" >/dev/null || al_die "audit key"
	al_config "$d"
}

al_cable() {
	local d=$1; shift
	rm -f "$d/cable.ready"
	"$AL_BIN/linksim" --a "$d/cable-webdb" --b "$d/cable-signer" --ready "$d/cable.ready" \
		--stats "$d/log/cable.stats" --pidfile "$d/cable.pid" "$@" 2>"$d/log/linksim.log" &
	for _ in $(seq 100); do [ -f "$d/cable.ready" ] && return 0; sleep 0.05; done
	al_die "the cable simulator did not start (see $d/log/linksim.log)"
}

al_start() {
	local d=$1
	"$AL_BIN/airlock-signerd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/signerd.log" &
	echo $! > "$d/signerd.pid"
	"$AL_BIN/airlock-linkd" -d -c "$d/signer/airlock.conf" 2>>"$d/log/linkd.log" &
	echo $! > "$d/linkd.pid"
	"$AL_BIN/airlock-client" -d -c "$d/webdb/airlock-client.conf" run 2>>"$d/log/client.log" &
	echo $! > "$d/client.pid"
}

al_stop_one() {	# DIR NAME
	local f=$1/$2.pid pid
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$f"
}

al_stop() {
	local d=$1
	for p in client linkd signerd cable; do al_stop_one "$d" $p; done
	wait 2>/dev/null
}

al_csr() {	# DIR NAME KEY CN [extra openssl req args]
	local d=$1 n=$2 k=$3 cn=$4; shift 4
	case $k in
	rsa:*) openssl req -new -newkey "$k" -nodes -keyout "$d/csr/$n.key" \
		-subj "/CN=$cn/O=airlock demo" -out "$d/csr/$n.csr" "$@" 2>/dev/null ;;
	ec:*) openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:"${k#ec:}" -nodes \
		-keyout "$d/csr/$n.key" -subj "/CN=$cn/O=airlock demo" -out "$d/csr/$n.csr" "$@" 2>/dev/null ;;
	esac || al_die "CSR $n"
}

# al_ocsp_setup DIR [SETTINGS]: al_setup for airlock-ocspd on webdb: the
# profile "ocsp" on demo-ec, the responder's URL (a free port: PORT, URL)
# in the server profile, demo-ec's CRLs kept on webdb, and an ocsp group
# for demo-ec with the key and certificate webdb/ocsp.key, webdb/ocsp.crt
# (made by the test) and SETTINGS
al_ocsp_setup() {
	local d=$1
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	URL=http://127.0.0.1:$PORT/
	export AL_OCSP=1
	export AL_PROFILE_EXTRA="ocsp_url = \"$URL\";"
	export AL_ROOT_EC_EXTRA='crl_days = 7;'
	export AL_CLIENT_EXTRA="crl_refresh = 3600; crl_roots = (
    { name = \"demo-ec\"; ca_cert = \"$d/ca/sub-ec/ca.crt\"; } );"
	al_setup "$d"
	cat >> "$d/webdb/airlock-client.conf" <<CONF
ocsp = { listen = "127.0.0.1"; port = $PORT; refresh = 1; ${2:-}
  roots = ( { name = "demo-ec"; key = "$d/webdb/ocsp.key"; cert = "$d/webdb/ocsp.crt"; } ); };
CONF
}

al_client() {
	local d=$1; shift
	"$AL_BIN/airlock-client" -c "$d/webdb/airlock-client.conf" "$@"
}

# al_verify DIR ROOTNAME CERTFILE: openssl verify against the root and the subroot
al_verify() {
	local d=$1 sub=$2 cert=$3
	openssl verify -CAfile "$d/ca/root/ca.crt" -untrusted "$d/ca/$sub/ca.crt" "$cert" >/dev/null 2>&1
}

# al_bench_csrs DIR N: N P-256 CSRs DIR/0.der .. DIR/N-1.der for the
# benchmarks, made with python3-cryptography (far faster than N openssl runs)
al_bench_csrs() {
	python3 - "$1" "$2" <<'PY'
import os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
for i in range(n):
    k = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"host{i}.bench.example"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "airlock bench")])
    csr = (x509.CertificateSigningRequestBuilder().subject_name(name)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"host{i}.bench.example")]), False)
           .sign(k, hashes.SHA256()))
    open(f"{out}/{i}.der", "wb").write(csr.public_bytes(serialization.Encoding.DER))
PY
}
