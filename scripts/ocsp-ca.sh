# ocsp-ca.sh: an `openssl ca` directory for the OCSP tests and benchmark
# (sourced, bash). Not airlock's CA: it stands for a CA whose index was
# imported (docs/ocsp.md), and lets `openssl ocsp -index` answer from the
# same data as airlock-ocspd.
#
#   ocsp_ca DIR            DIR/ca.crt, ca.key (RSA-2048), a responder key and
#                          certificate (OCSPSigning, ocsp-nocheck, 7 days),
#                          good.crt and revoked.crt (keyCompromise), index.txt
#   ocsp_ca_fill DIR N     N more index entries (every tenth revoked) and
#                          DIR/expected: "SERIAL good|revoked REASON|unknown"
#   ocsp_ca_crl DIR OUT    a v2 CRL (DER, with a CRL number) of the index

ocsp_ca() {
	local d=$1 n
	mkdir -p "$d/newcerts"
	: > "$d/index.txt"
	echo 1000 > "$d/serial"
	echo 01 > "$d/crlnumber"
	cat > "$d/ca.cnf" <<CNF
[ ca ]
default_ca = my
[ my ]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 30
default_crl_days = 7
policy = pol
unique_subject = no
[ pol ]
commonName = supplied
[ leaf ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
authorityKeyIdentifier = keyid
[ ocsp ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
authorityKeyIdentifier = keyid
[ crlext ]
authorityKeyIdentifier = keyid
[ v3ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
CNF
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.crt" \
		-subj "/CN=ocsp test CA" -days 365 -config "$d/ca.cnf" -extensions v3ca 2>/dev/null &&
	openssl req -new -newkey rsa:2048 -nodes -keyout "$d/ocsp.key" -out "$d/ocsp.csr" \
		-subj "/CN=ocsp test responder" 2>/dev/null &&
	openssl ca -batch -config "$d/ca.cnf" -extensions ocsp -days 7 -notext \
		-in "$d/ocsp.csr" -out "$d/ocsp.crt" 2>/dev/null || return 1
	for n in good revoked; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$n" 2>/dev/null &&
		openssl ca -batch -config "$d/ca.cnf" -extensions leaf -notext \
			-in "$d/$n.csr" -out "$d/$n.crt" 2>/dev/null || return 1
	done
	openssl ca -config "$d/ca.cnf" -revoke "$d/revoked.crt" -crl_reason keyCompromise 2>/dev/null
}

ocsp_ca_fill() {
	local d=$1 n=$2
	python3 - "$d" "$n" <<'PY'
import sys, datetime
d, n = sys.argv[1], int(sys.argv[2])
now = datetime.datetime.utcnow()
exp = (now + datetime.timedelta(days=30)).strftime("%y%m%d%H%M%SZ")
rev = (now - datetime.timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
reasons = ["keyCompromise", "superseded", "cessationOfOperation", "affiliationChanged"]
with open(f"{d}/index.txt", "a") as idx, open(f"{d}/expected", "w") as ex:
    ex.write("1001 good\n1002 revoked keyCompromise\n")
    for i in range(n):
        s = "%X" % (0x5A0000000000 + i * 7919)
        if i % 10 == 3:
            r = reasons[i % 4]
            idx.write(f"R\t{exp}\t{rev},{r}\t{s}\tunknown\t/CN=fill{i}\n")
            ex.write(f"{s} revoked {r}\n")
        else:
            idx.write(f"V\t{exp}\t\t{s}\tunknown\t/CN=fill{i}\n")
            ex.write(f"{s} good\n")
    for i in range(max(1, n // 20)):	# never issued
        ex.write("%X unknown\n" % (0x7B0000000000 + i * 104729))
PY
}

ocsp_ca_crl() {
	local d=$1 out=$2
	openssl ca -batch -config "$d/ca.cnf" -gencrl -crlexts crlext -out "$d/crl.pem" 2>/dev/null &&
	openssl crl -in "$d/crl.pem" -outform DER -out "$out"
}
