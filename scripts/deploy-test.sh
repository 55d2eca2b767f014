#!/usr/bin/env bash
# deploy-test.sh: `make deploy-test`. airlock as deployed, on one machine:
# both hosts installed with DESTDIR into staging roots (install-signer,
# install-webdb), their users made by systemd-sysusers --root from the
# shipped sysusers files (plus a web application user in the client's
# group), their folders, FIFOs and modes by systemd-tmpfiles --root from
# the shipped tmpfiles files, and the daemons started the way their
# installed units say: ExecStart=, User=, Group=, UMask=,
# RuntimeDirectory= read from the unit files (setpriv; no systemd runs
# here). Each host runs in its own mount namespace where the staging
# root's /etc/passwd, /etc/group, /etc/airlock and state folders stand at
# their real paths, so the shipped configuration is used as it is (only
# the cable's device and the roots are edited, as an operator would).
# A simulated pty cable joins the two. Then each numbered failure of
# issue 16 is checked, and the demo flow (a request from the web
# application's user through the spool, signed over the cable).
# Ends with "DEPLOY checks=N failed=F" and the names of failed checks.
# Needs root (namespaces, users); skips (exit 77) without.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bin
if [ "$(id -u)" != 0 ]; then
	echo "deploy-test: needs root (mount namespaces, staging users); skipped"
	exit 77
fi
for t in unshare setpriv systemd-sysusers systemd-tmpfiles python3 openssl; do
	command -v $t >/dev/null || { echo "deploy-test: no $t; skipped"; exit 77; }
done
unshare -m true 2>/dev/null || { echo "deploy-test: no mount namespaces here; skipped"; exit 77; }

T=$(mktemp -d /tmp/airlock-deploy.XXXXXX)
chmod 0755 "$T"	# the daemons' users reach the cable's links in it
S=$T/signer W=$T/webdb L=$T/log
mkdir -p "$L"
made=()	# mount points made on this host (empty folders), removed at the end
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${made[@]}"; do rmdir "$p" 2>/dev/null; done
	[ -n "${KEEP:-}" ] && echo "deploy-test: state kept in $T" || rm -rf "$T"
}
trap cleanup EXIT
checks=0 failed=()
check() {	# NAME COMMAND...: one numbered check
	checks=$((checks + 1))
	if "${@:2}" >>"$L/checks.log" 2>&1; then echo "ok   $1"
	else echo "FAIL $1"; failed+=("$1"); fi
}
eventually() {	# SECONDS COMMAND...
	local n=$(($1 * 10)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

# --- install, users, folders ---
echo "deploy-test: staging roots in $T"
make -s -C "$top" install-signer DESTDIR="$S" PREFIX=/usr >"$L/install.log" 2>&1 &&
make -s -C "$top" install-webdb DESTDIR="$W" PREFIX=/usr >>"$L/install.log" 2>&1 ||
	{ echo "deploy-test: make install failed (see $L/install.log)"; exit 1; }
for r in "$S" "$W"; do	# the hosts' own users, then the shipped ones
	cp -p /etc/passwd /etc/group /etc/shadow /etc/gshadow "$r/etc/"
	systemd-sysusers --root="$r" >>"$L/install.log" 2>&1 || exit 1
done
systemd-sysusers --root="$W" --inline 'u airlock-webapp - "web application"' \
	'm airlock-webapp airlock-client' >>"$L/install.log" 2>&1 || exit 1
uid_of() { awk -F: -v u="$2" '$1 == u {print $3}' "$1/etc/passwd"; }
unitdir() { dirname "$(find "$1" -name "$2.service" | head -n 1)"; }

# the staging root's files at their real paths, in a private namespace
SIGNER_BINDS="etc/passwd etc/group etc/airlock var/lib/airlock run/airlock"
WEBDB_BINDS="etc/passwd etc/group etc/airlock var/lib/airlock-client var/spool/airlock var/cache/airlock-ocsp"
for p in /etc/airlock /var/lib/airlock /run/airlock /var/lib/airlock-client /var/spool/airlock \
	/var/cache/airlock-ocsp; do
	[ -e "$p" ] || { mkdir -p "$p" && made+=("$p"); }
done
mkdir -p "$S/run/airlock" "$W/var/lib/airlock-client" "$W/var/spool/airlock" "$W/var/cache/airlock-ocsp"
in_host() {	# ROOT BINDS COMMAND...: COMMAND on that host
	local r=$1 b=$2; shift 2
	unshare -m --propagation private bash -c '
		r=$1 b=$2; shift 2
		for m in $b; do mount --bind "$r/$m" "/$m" || exit 1; done
		exec "$@"' in_host "$r" "$b" "$@"
}
# in_host with exec, for a daemon started in the background: $! is its pid.
# With AL_PROTECT=strict (the unit's ProtectSystem=), the staging folders
# are read-only but those of AL_RW (its ReadWritePaths=, StateDirectory=,
# CacheDirectory=), as systemd would mount them; the rest of / is not
# made read-only here
in_host_exec() {
	local r=$1 b=$2; shift 2
	exec unshare -m --propagation private bash -c '
		r=$1 b=$2; shift 2
		for m in $b; do mount --bind "$r/$m" "/$m" || exit 1; done
		if [ "${AL_PROTECT:-}" = strict ]; then
			for p in $AL_RW; do [ -e "$p" ] && { mount --bind "$p" "$p" || exit 1; }; done
			for m in $b; do
				case " $AL_RW " in *" /$m "*) continue ;; esac
				mount -o remount,bind,ro "/$m" || exit 1
			done
		fi
		exec "$@"' in_host "$r" "$b" "$@"
}
in_s() { in_host "$S" "$SIGNER_BINDS" "$@"; }
in_w() { in_host "$W" "$WEBDB_BINDS" "$@"; }
# USER GROUP COMMAND...: on that host as that user (and its groups)
s_as() { local u=$1 g=$2; shift 2; in_s setpriv --reuid="$u" --regid="$g" --init-groups "$@"; }
w_as() { local u=$1 g=$2; shift 2; in_w setpriv --reuid="$u" --regid="$g" --init-groups "$@"; }
tmpfiles() { systemd-tmpfiles --root="$1" --create >>"$L/install.log" 2>&1; }
tmpfiles "$S" && tmpfiles "$W" || { echo "deploy-test: systemd-tmpfiles failed"; exit 1; }

# --- the cable, the keys, the root: what an operator does once ---
"$bin/linksim" --a "$T/cable-webdb" --b "$T/cable-signer" --baud 921600 \
	--ready "$T/cable.ready" 2>"$L/linksim.log" &
pids+=($!)
eventually 5 test -e "$T/cable.ready" || { echo "deploy-test: no cable"; exit 1; }
for e in signer webdb; do	# a serial port's owner and mode: root:dialout 0660
	chgrp dialout "$(readlink -f "$T/cable-$e")"
	chmod 0660 "$(readlink -f "$T/cable-$e")"
done
python3 - "$S/etc/airlock/airlock.conf" "$T/cable-signer" <<'PY' || exit 1
import re, sys
p, dev = sys.argv[1:]
s = open(p).read()
s = s.replace('device = "/dev/ttyS0"', 'device = "%s"' % dev)
s = s.replace('baud = 115200', 'baud = 921600')
# the example's second root lives on a token: not on this host
s = re.sub(r',\n  \{ name = "xroad";.*?\}\n\);', '\n);', s, flags=re.S)
open(p, 'w').write(s)
PY
sed -i -e "s|device = \"/dev/ttyS0\"|device = \"$T/cable-webdb\"|" \
	-e 's|baud = 115200|baud = 921600|' "$W/etc/airlock/airlock-client.conf"
ctl=$S/usr/sbin/airlockctl
in_s "$ctl" link-key new /etc/airlock/link.key >/dev/null &&
in_s chown airlock-link /etc/airlock/link.key && in_s chmod 0400 /etc/airlock/link.key &&
install -m 0400 "$S/etc/airlock/link.key" "$W/etc/airlock/link.key" &&
in_w chown airlock-client /etc/airlock/link.key || { echo "deploy-test: link key"; exit 1; }
# the audit key: its secret half stays on the signer (root's, read before the
# drop), its public half is pinned on webdb
in_s "$ctl" audit-key new /etc/airlock/audit.key /etc/airlock/audit.pub >/dev/null &&
in_s chown airlock-signer /etc/airlock/audit.key && in_s chmod 0400 /etc/airlock/audit.key &&
install -m 0644 "$S/etc/airlock/audit.pub" "$W/etc/airlock/audit.pub" ||
	{ echo "deploy-test: audit key"; exit 1; }
head -c 24 /dev/urandom | base64 > "$S/etc/airlock/class1.pass"
tmpfiles "$S"	# z /etc/airlock/*.pass 0400 airlock-signer
s_as airlock-signer airlock "$ctl" -c /etc/airlock/airlock.conf root init \
	--dir /var/lib/airlock/signer/ca/class1 --subject "/CN=airlock deploy class1/O=airlock test" \
	--key ec:P-256 --days 3650 --pass-file /etc/airlock/class1.pass >"$L/rootinit.log" 2>&1 ||
	{ echo "deploy-test: root init failed (see $L/rootinit.log)"; exit 1; }
mkdir -p "$W/etc/airlock/ca"
cp "$S/var/lib/airlock/signer/ca/class1/ca.crt" "$W/etc/airlock/ca/class1.crt"

# --- the daemons as their units say ---
unit_key() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
start_unit() {	# ROOT UNIT: started like systemd would; the pid in $T/UNIT.pid
	local r=$1 u f exec user group umask rt sd cd rw b=$SIGNER_BINDS
	f=$(unitdir "$r" "$2")/$2.service
	[ "$r" = "$W" ] && b=$WEBDB_BINDS
	exec=$(unit_key "$f" ExecStart) user=$(unit_key "$f" User)
	group=$(unit_key "$f" Group) umask=$(unit_key "$f" UMask)
	rt=$(unit_key "$f" RuntimeDirectory)
	sd=$(unit_key "$f" StateDirectory) cd=$(unit_key "$f" CacheDirectory)
	rw="$(unit_key "$f" ReadWritePaths)${sd:+ /var/lib/$sd}${cd:+ /var/cache/$cd}"
	[ -n "$rt" ] && install -d -m 0755 -o "$user" "$r/run/$rt"
	# shellcheck disable=SC2086
	(AL_PROTECT=$(unit_key "$f" ProtectSystem) AL_RW=$rw \
		in_host_exec "$r" "$b" bash -c 'umask "$1"; shift; exec "$@"' start \
		"${umask:-0022}" setpriv --reuid="$user" --regid="$group" \
		--init-groups --no-new-privs $r$exec 2>>"$L/$2.log") &
	echo $! > "$T/$2.pid"
	pids+=($!)
}
stop_unit() {	# UNIT [SIGNAL]
	local p
	p=$(cat "$T/$1.pid" 2>/dev/null) || return 0
	kill "-${2:-TERM}" "$p" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	rm -f "$T/$1.pid"
}
alive() {	# UNIT: running (an exited child stays a zombie until waited for)
	local p
	p=$(cat "$T/$1.pid" 2>/dev/null) || return 1
	[ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ]
}
dead() { ! alive "$1"; }
logged() { grep -q "$2" "$L/$1.log"; }

start_unit "$S" airlock-signerd
start_unit "$S" airlock-linkd
start_unit "$W" airlock-client
eventually 10 logged airlock-linkd "started" && eventually 10 logged airlock-signerd "started" ||
	echo "deploy-test: a signer-host daemon did not start (see $L)"

# --- the demo flow: the web application's user writes to the spool ---
spool=/var/spool/airlock
csr() {	# NAME SUBJECT [openssl req args]: $T/NAME.csr
	local n=$1 s=$2; shift 2
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$n.key" -subj "$s" -out "$T/$n.csr" "$@" 2>/dev/null
}
webapp_submit() {	# NAME PROFILE [DAYS]: as airlock-webapp, into spool/in
	{ echo "root=class1"; echo "profile=$2"; echo "days=${3:-0}"; cat "$T/$1.csr"; } |
	w_as airlock-webapp airlock-webapp bash -c 'umask 0027; cat > "$1/in/$2.req.tmp" &&
		mv "$1/in/$2.req.tmp" "$1/in/$2.req"' w "$spool" "$1"
}
result() {	# NAME: the web application's user reads out/NAME.crt or err/NAME.err
	w_as airlock-webapp airlock-webapp cat "$spool/out/$1.crt" 2>/dev/null ||
	w_as airlock-webapp airlock-webapp cat "$spool/err/$1.err" 2>/dev/null
}
answered() { [ -e "$W$spool/out/$1.crt" ] || [ -e "$W$spool/err/$1.err" ]; }

csr web1 "/CN=www.deploy.example" -addext "subjectAltName=DNS:www.deploy.example"
webapp_submit web1 server
check "1-spool-in-writable-by-webapp" test -e "$W$spool/accepted/web1.req" -o -e "$W$spool/out/web1.crt" -o -e "$W$spool/in/web1.req"
eventually 60 answered web1
demo_ok() {
	result web1 > "$T/web1.out" && grep -q "BEGIN CERTIFICATE" "$T/web1.out" &&
	openssl verify -CAfile "$S/var/lib/airlock/signer/ca/class1/ca.crt" "$T/web1.out"
}
check "demo-sign-over-pty-cable" demo_ok
mirror_ok() {	# webdb's mirror of the signer's audit chain, as the client's user
	local n out
	for _ in $(seq 600); do
		n=$(sqlite3 "$S/var/lib/airlock/signer/ca.db" "select count(*) from audit")
		out=$(w_as airlock-client airlock-client "$W/usr/bin/airlock-client" audit verify 2>&1 | head -n 1)
		[ "$out" = "audit: $n records, chain intact, head signed" ] && return 0
		sleep 0.1
	done
	echo "webdb: $out; signer: $n records"
	return 1
}
check "audit-mirror-on-webdb" mirror_ok
check "1-spool-folder-modes" bash -c "[ \$(stat -c %a $W$spool/in) = 2770 ] && [ \$(stat -c %a $W$spool/out) = 2750 ]"

# 2. linkd started once as root with link_user; then as its unit says
linkd_root_then_user() {
	stop_unit airlock-linkd
	rm -f "$S/run/airlock/linkd.lock"	# /run is new at each boot
	(in_host_exec "$S" "$SIGNER_BINDS" "$S/usr/sbin/airlock-linkd" -d -c \
		/etc/airlock/airlock.conf 2>>"$L/linkd-root.log") &
	local p=$!
	eventually 10 grep -q "started" "$L/linkd-root.log" || return 1
	kill "$p"; wait "$p" 2>/dev/null
	: > "$L/airlock-linkd.log"
	start_unit "$S" airlock-linkd
	eventually 10 logged airlock-linkd "started" && sleep 0.5 && alive airlock-linkd &&
	[ "$(stat -c %u "$S/run/airlock/linkd.lock")" = "$(uid_of "$S" airlock-link)" ]
}
check "2-linkd-lock-after-root-start" linkd_root_then_user

# 3. linkd killed, restarted as the link user while the cable is held open
linkd_restart() {
	stop_unit airlock-linkd KILL
	: > "$L/airlock-linkd.log"
	start_unit "$S" airlock-linkd
	eventually 10 logged airlock-linkd "started" && sleep 1 && alive airlock-linkd &&
	! logged airlock-linkd "busy"
}
check "3-linkd-restart-on-held-line" linkd_restart

# 4. root's operator commands and queries create no database
no_create() {
	local q=/var/lib/airlock/link/queue.db
	stop_unit airlock-linkd
	mv "$S$q" "$T/queue.db.saved"; rm -f "$S$q-wal" "$S$q-shm"
	in_s "$ctl" retry 0123456789abcdef0123456789abcdef >/dev/null 2>&1
	local made_q=0; [ -e "$S$q" ] && made_q=1
	mv "$T/queue.db.saved" "$S$q"
	# root opens the real one read-write while linkd is stopped: the files
	# SQLite makes beside it (-wal, -shm) must not shut linkd out
	in_s "$ctl" retry 0123456789abcdef0123456789abcdef >/dev/null 2>&1
	in_w "$W/usr/bin/airlock-client" status >/dev/null 2>&1
	mkdir -p "$T/empty"
	local before after
	before=$(find "$W/var/lib/airlock-client" "$W$spool" | sort | md5sum)
	unshare -m --propagation private bash -c 'mount --bind "$1" /var/lib/airlock-client &&
		mount --bind "$2/etc/airlock" /etc/airlock && mount --bind "$2/etc/passwd" /etc/passwd &&
		exec "$3" status' x "$T/empty" "$W" "$W/usr/bin/airlock-client" >/dev/null 2>&1
	after=$(find "$W/var/lib/airlock-client" "$W$spool" | sort | md5sum)
	start_unit "$S" airlock-linkd
	[ $made_q = 0 ] && [ -z "$(ls -A "$T/empty")" ] && [ "$before" = "$after" ]
}
check "4-root-queries-create-nothing" no_create
# and the link still answers afterwards (no "readonly database")
csr web2 "/CN=www2.deploy.example" -addext "subjectAltName=DNS:www2.deploy.example"
webapp_submit web2 server
eventually 60 answered web2
check "4-link-works-after-root-commands" test -e "$W$spool/out/web2.crt"

# the operator migrates an old `openssl ca` directory of class1 into ca.db,
# as root, while the signer runs (its files read ahead, O_NOATIME, inside
# airlockctl's sandbox): the certificates are in ca.db, ca.db and the files
# SQLite keeps beside it stay the signer's, and the signer signs on after
old_ca() {	# $S/root/oldca (where root keeps it): three certificates of class1, as openssl ca leaves them
	local o=$S/root/oldca d=$S/var/lib/airlock/signer/ca/class1 i sn end
	mkdir -p "$o/newcerts" && : > "$o/index.txt" || return 1
	for i in 1 2 3; do
		sn=$(printf '%04X' $((0x5000 + i)))
		csr "old$i" "/CN=old$i.deploy.example" &&
		openssl x509 -req -in "$T/old$i.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-passin "file:$S/etc/airlock/class1.pass" -set_serial "0x$sn" \
			-days 30 -out "$o/newcerts/$sn.pem" 2>>"$L/oldca.log" || return 1
		end=$(date -u -d "$(openssl x509 -in "$o/newcerts/$sn.pem" -noout -enddate |
			cut -d= -f2)" +%y%m%d%H%M%SZ) || return 1
		printf 'V\t%s\t\t%s\tunknown\t/CN=old%d.deploy.example\n' "$end" "$sn" "$i" \
			>> "$o/index.txt"
	done
	echo 01 > "$o/crlnumber"
}
import_as_root() {
	local db=/var/lib/airlock/signer/ca.db u f
	u=$(uid_of "$S" airlock-signer)
	old_ca || return 1
	in_s "$ctl" -c /etc/airlock/airlock.conf import-openssl-ca class1 "$S/root/oldca" \
		>"$L/import.log" 2>&1 || { cat "$L/import.log"; return 1; }
	grep -q "imported 3 certificates" "$L/import.log" || { cat "$L/import.log"; return 1; }
	[ "$(sqlite3 "$S$db" "select count(*) from certs where serial in
		(x'5001', x'5002', x'5003')")" = 3 ] || { echo "not in ca.db"; return 1; }
	for f in "$S$db" "$S$db-wal" "$S$db-shm"; do
		[ ! -e "$f" ] || [ "$(stat -c %u "$f")" = "$u" ] ||
			{ echo "$f: owner $(stat -c %U "$f")"; return 1; }
	done
	alive airlock-signerd
}
check "import-openssl-ca-beside-the-signer" import_as_root
csr web3 "/CN=www3.deploy.example" -addext "subjectAltName=DNS:www3.deploy.example"
webapp_submit web3 server
eventually 60 answered web3
check "signer-signs-after-the-import" test -e "$W$spool/out/web3.crt"

# 5. a damaged ca.db stops the signer and shows in status and audit verify
damaged_db() {
	local db=$S/var/lib/airlock/signer/ca.db rc=0
	stop_unit airlock-signerd
	in_s "$ctl" audit verify >/dev/null 2>&1 || return 1	# sound before
	cp -p "$db" "$T/ca.db.saved"
	: > "$db"
	: > "$L/airlock-signerd.log"
	start_unit "$S" airlock-signerd
	eventually 5 dead airlock-signerd || rc=1
	logged airlock-signerd "empty" || rc=1
	stop_unit airlock-signerd
	cp -p "$T/ca.db.saved" "$db"
	sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	local pages=$(($(stat -c %s "$db") / 4096))
	dd if=/dev/zero of="$db" bs=4096 seek=$((pages - 2)) count=1 conv=notrunc 2>/dev/null
	in_s "$ctl" audit verify >/dev/null 2>&1 && rc=1
	in_s "$ctl" status 2>&1 | grep -q DAMAGED || rc=1
	: > "$L/airlock-signerd.log"
	start_unit "$S" airlock-signerd
	eventually 5 dead airlock-signerd || rc=1
	stop_unit airlock-signerd
	cp -p "$T/ca.db.saved" "$db"
	: > "$L/airlock-signerd.log"
	start_unit "$S" airlock-signerd
	eventually 10 logged airlock-signerd "started" || rc=1
	return $rc
}
check "5-damaged-ca-db-refused" damaged_db

# 6. SIGTERM at the passphrase prompt (a console, no pass_file)
prompt_sigterm() {
	sed 's|^\( *pass_file = "/etc/airlock/class1.pass";\)|#\1|' \
		"$S/etc/airlock/airlock.conf" > "$S/etc/airlock/prompt.conf"
	sed -i 's|^run_dir = .*|run_dir = "/tmp";|' "$S/etc/airlock/prompt.conf"
	in_s python3 - "$S/usr/sbin/airlock-signerd" <<'PY'
import os, pty, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "-d", "-c", "/etc/airlock/prompt.conf"])
out, t0 = b"", time.time()
while b"Passphrase" not in out and time.time() - t0 < 10:
    try:
        out += os.read(fd, 256)
    except OSError:
        break
if b"Passphrase" not in out:
    print("no prompt:", out); os.kill(pid, 9); sys.exit(1)
os.kill(pid, signal.SIGTERM)
for _ in range(30):
    if os.waitpid(pid, os.WNOHANG)[0] == pid:
        sys.exit(0)
    time.sleep(0.1)
print("still waiting at the prompt after SIGTERM"); os.kill(pid, 9); sys.exit(1)
PY
}
check "6-sigterm-at-passphrase-prompt" prompt_sigterm

# 7, 8. the disk full (the LD_PRELOAD shim of t_diskfull.sh)
[ -n "${DEPLOY_SKIP_DISKFULL:-}" ] || check "7-8-disk-full-recovery" env AL_TOP="$top" bash "$top/tests/integration/t_diskfull.sh"

# 9. request policy: RFC 5280 upper bounds, subjectAltName caps, quickly
# openssl req refuses a CN over 64 characters; python3-cryptography does not check
python3 - "$T/longcn.csr" <<'PY'
import sys
import warnings; warnings.simplefilter("ignore")
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
k = ec.generate_private_key(ec.SECP256R1())
cn = x509.NameAttribute(NameOID.COMMON_NAME, "a" * 300 + ".example", _validate=False)
csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([cn])).sign(k, hashes.SHA256())
open(sys.argv[1], "wb").write(csr.public_bytes(serialization.Encoding.PEM))
PY
webapp_submit longcn server
sans=$(for i in $(seq 2000); do printf 'DNS:h%d.x.example,' "$i"; done)
csr manysan "/CN=many.deploy.example" -addext "subjectAltName=${sans%,}"
webapp_submit manysan server
eventually 60 answered longcn; eventually 60 answered manysan
check "9-long-cn-refused-naming-limit" bash -c "grep -q '64' '$W$spool/err/longcn.err'"
check "9-many-sans-refused-naming-limit" bash -c "grep -qi 'subjectAltName' '$W$spool/err/manysan.err'"

# 10. delta CRLs without a Freshest CRL pointer: the configuration test says so
nofresh() {
	sed 's|freshest_crl_url = "[^"]*";||' "$S/etc/airlock/airlock.conf" > "$S/etc/airlock/nofresh.conf"
	in_s "$S/usr/sbin/airlock-signerd" -n -c /etc/airlock/nofresh.conf 2>&1 | grep -i "freshest"
}
check "10-config-test-freshest-crl" nofresh

# operator items: --version everywhere, -n in each daemon
versions() {
	local p
	for p in "$S/usr/sbin/"airlock* "$W/usr/bin/airlock-client"; do
		"$p" --version >/dev/null 2>&1 || { echo "$p --version"; return 1; }
	done
}
check "version-in-every-program" versions
config_tests() {
	in_s "$S/usr/sbin/airlock-linkd" -n -c /etc/airlock/airlock.conf &&
	in_s "$S/usr/sbin/airlock-signerd" -n -c /etc/airlock/airlock.conf &&
	in_w "$W/usr/bin/airlock-client" -n -c /etc/airlock/airlock-client.conf
}
check "config-test-each-daemon" config_tests

json_all() {
	local c
	for c in status queue crl time roots; do
		in_s "$ctl" --json "$c" | python3 -c 'import json, sys; json.load(sys.stdin)' ||
			{ echo "airlockctl --json $c"; return 1; }
	done
}
check "airlockctl-json" json_all
unknown_cmd() {
	in_s "$ctl" frobnicate 2>&1 | head -n 1 | grep -q 'unknown command "frobnicate"'
}
check "airlockctl-unknown-command" unknown_cmd

# airlock-ocspd as its unit says, beside airlock-client: its key made on
# webdb, its certificate requested through the spool (profile ocsp, one
# day: with renew_days = 2 it is renewed at once), and then it answers from
# what airlock-client publishes (crl_dir: the CRL and ROOT.serials), which
# its user must be able to read as installed
ocsp_deployed() {
	local k=/etc/airlock/ocsp/class1.key crt=/etc/airlock/ocsp/class1.crt u
	u=$(uid_of "$W" airlock-ocsp)
	mkdir -p "$W/etc/airlock/ocsp" &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W$k" 2>/dev/null &&
	chown "$u" "$W$k" && chmod 0600 "$W$k" &&
	openssl req -new -key "$W$k" -subj "/CN=airlock deploy OCSP responder/O=airlock test" \
		-out "$T/ocsp.csr" 2>/dev/null || return 1
	sed -i 's/renew_days = 0;/renew_days = 2;/' "$W/etc/airlock/airlock-client.conf"
	grep -q "renew_days = 2;" "$W/etc/airlock/airlock-client.conf" || return 1
	webapp_submit ocsp ocsp 1
	eventually 60 answered ocsp && result ocsp > "$W$crt" && grep -q "BEGIN CERTIFICATE" "$W$crt" ||
		{ echo "no responder certificate: $(result ocsp)"; return 1; }
	# CacheDirectory=airlock-ocsp, CacheDirectoryMode=0700
	install -d -m 0700 -o "$u" "$W/var/cache/airlock-ocsp"
	start_unit "$W" airlock-ocspd
	eventually 20 bash -c "openssl ocsp -issuer '$W/etc/airlock/ca/class1.crt' -cert '$T/web1.out' \
		-url http://127.0.0.1:8080/ -CAfile '$W/etc/airlock/ca/class1.crt' 2>&1 |
		grep -q 'web1.out: good'" ||
		{ openssl ocsp -issuer "$W/etc/airlock/ca/class1.crt" -cert "$T/web1.out" \
			-url http://127.0.0.1:8080/ -CAfile "$W/etc/airlock/ca/class1.crt" 2>&1;
		  tail -5 "$L/airlock-ocspd.log"; return 1; }
	openssl ocsp -issuer "$W/etc/airlock/ca/class1.crt" -cert "$T/web1.out" \
		-url http://127.0.0.1:8080/ -CAfile "$W/etc/airlock/ca/class1.crt" 2>&1 |
		grep -q "Response verify OK" && alive airlock-ocspd
}
check "ocspd-answers-as-deployed" ocsp_deployed

# ... and renews its one-day certificate itself: the request written by
# its user into spool/in (UMask=0077, the unit's ReadWritePaths=), taken by
# the client (not rejected), signed over the cable, the answer read from
# out/ and installed in its cache; the responses are signed by the new one
ocsp_renewed() {
	local st=$W/var/cache/airlock-ocsp/ocspd.status n crt u g
	u=$(uid_of "$W" airlock-ocsp)
	eventually 90 grep -q "^root=class1 cert=renewed " "$st" ||
		{ cat "$st"; tail -5 "$L/airlock-ocspd.log"; return 1; }
	n=$(ls "$W$spool/accepted" | sed -n 's/^\(ocsp-class1-[0-9a-f]*\)\.req$/\1/p' | head -n 1)
	crt=$W$spool/out/$n.crt
	[ -n "$n" ] && [ -s "$crt" ] && [ ! -e "$W$spool/rejected/$n.req" ] || { echo "request $n"; return 1; }
	g=$(awk -F: '$1 == "airlock-client" {print $3}' "$W/etc/group")
	[ "$(stat -c '%u %g %a' "$W$spool/accepted/$n.req")" = "$u $g 640" ] ||
		{ stat -c '%u %g %a' "$W$spool/accepted/$n.req"; return 1; }
	[ "$(stat -c '%u %a' "$W/var/cache/airlock-ocsp/class1.responder.pem")" = "$u 600" ] || return 1
	openssl ocsp -issuer "$W/etc/airlock/ca/class1.crt" -cert "$T/web1.out" \
		-url http://127.0.0.1:8080/ -CAfile "$W/etc/airlock/ca/class1.crt" -resp_text 2>&1 |
		awk '/^Certificate:/ { c = 1 } c && /Serial Number:/ { getline; gsub(/[ :]/, ""); print; exit }' |
		tr a-f A-F > "$T/ocsp-resp.serial"
	[ "$(openssl x509 -in "$crt" -noout -serial | sed 's/serial=//')" = "$(cat "$T/ocsp-resp.serial")" ] ||
		{ echo "responder serial $(cat "$T/ocsp-resp.serial"), renewed $(openssl x509 -in "$crt" -noout -serial)"; return 1; }
	alive airlock-ocspd && in_w "$W/usr/sbin/airlock-ocspd" -c /etc/airlock/airlock-client.conf status |
		grep -q "root class1: renewal idle"
}
check "ocspd-renews-as-deployed" ocsp_renewed

# journald: stderr is the journal when $JOURNAL_STREAM names it
journal_prefix() {
	local f=$T/journal.txt
	: > "$f"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$f") in_s "$S/usr/sbin/airlock-linkd" \
		-c /etc/airlock/missing.conf 2>>"$f"
	grep -q '^<2>airlock-linkd: /etc/airlock/missing.conf' "$f" &&
	"$S/usr/sbin/airlock-linkd" -c /nonexistent.conf 2>&1 | grep -q '^[0-9:.]* airlock-linkd: '
}
check "journald-priority-prefixes" journal_prefix

echo "DEPLOY checks=$checks failed=${#failed[@]}${failed:+ (${failed[*]})}"
[ ${#failed[@]} = 0 ]
