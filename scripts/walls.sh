#!/usr/bin/env bash
# walls.sh OBJDIR: the walls between airlock's folders, checked on the
# compiler's dependency files (OBJDIR/FOLDER/NAME.d, from -MD: system headers too), so what is
# checked is what the compiler really read, not a grep of the source.
#
# 1. A folder includes only the headers of the folders it may use (the
#    USES_ lists of the Makefile, which are also what each program links).
# 2. One boundary module per foreign library: sqlite3.h only in the store
#    modules, libconfig.h only in config.c, libusb.h only in usb.c,
#    OpenSSL's X.509, PEM and EVP headers only in the CA engine, the CRL
#    reader and crypto.c (OCSP's: src/pki/ocsp.c), ncurses only in top.c,
#    libmicrohttpd only in ocspd/http.c.
# 3. The framing codec (link/frame.c) reaches no transport, no database and
#    no clock: it includes none of their headers and calls none of their
#    functions (nm of frame.o).
# Prints each crossing and exits 1 if there is one.
set -u
objdir=${1:?usage: walls.sh OBJDIR}
top=$(cd "$(dirname "$0")/.." && pwd)

declare -A owner=(
	[airlock.h]=common [util.h]=common [config.h]=common [crypto.h]=common
	[health.h]=common [proc.h]=common [retention.h]=common [sandbox.h]=common
	[store.h]=common [db.h]=common [spool.h]=common [timesync.h]=common [psl.h]=common
	[msg.h]=wire [ipc.h]=wire [revoke.h]=wire
	[frame.h]=link [link.h]=link [transport.h]=link [v1frame.h]=link
	[crl.h]=pki [crl_x509.h]=pki [pgp.h]=pki [pgp_root.h]=ca [pgp_client.h]=client [ctlpgp.h]=ctl
	[ca.h]=ca [caindex.h]=ca [audit.h]=ca [auditrec.h]=pki [backup.h]=pki [castore.h]=ca [crlsign.h]=ca [holdstore.h]=ca
	[queue.h]=store [outbox.h]=store [auditmirror.h]=store
	[signer.h]=signerd
	[crlsync.h]=client [mirror.h]=client [catchup.h]=client [client_maint.h]=client [serialsync.h]=client
	[console.h]=ctl [ctlca.h]=ctl [ctlbackup.h]=ctl [ctlcrl.h]=ctl
	[ocsp.h]=pki
)
declare -A uses=(
	[common]="common" [wire]="wire common" [link]="link wire common"
	[pki]="pki wire common" [ca]="ca pki wire common" [store]="store wire common"
	[linkd]="linkd store link wire common" [signerd]="signerd ca pki wire common"
	[client]="client store link pki wire common"
	[ctl]="ctl ca store link pki wire common" [timesync]="timesync ca pki wire common"
	[ocspd]="ocspd store pki wire common"
)
# foreign headers (a pattern on the path) -> the objects allowed to include them
declare -A foreign=(
	['/sqlite3\.h$']='common/db ca/holdstore ca/castore ca/castore_bulk ca/crlstore ca/audit ca/timestore store/queue store/queue_op store/outbox store/auditmirror'
	['/libconfig\.h$']='common/config'
	['/libusb\.h$']='link/usb'
	['/openssl/(x509|x509v3|pem|evp|ocsp)\.h$']='ca/* pki/* common/crypto'
	['/microhttpd\.h$']='ocspd/http'
	['/(n)?curses\.h$']='ctl/top'
)
fails=0
crossing() { echo "walls: $*" >&2; fails=$((fails + 1)); }

allowed_obj() {	# OBJ PATTERNS: 1 if OBJ (folder/name) matches one of them
	local o=$1 p
	for p in $2; do
		# shellcheck disable=SC2053
		[[ $o == $p ]] && return 0
	done
	return 1
}

n=0
for d in "$objdir"/*/*.d; do
	[ -e "$d" ] || continue
	folder=$(basename "$(dirname "$d")")
	name=$(basename "$d" .d)
	o=$folder/$name
	[ -n "${uses[$folder]:-}" ] || { crossing "$o: unknown folder $folder (add it to walls.sh)"; continue; }
	n=$((n + 1))
	# the prerequisites of the object: everything after the first colon, one per line
	deps=$(sed -e '/^[^ ]*\.h:/d' -e 's/^[^:]*://' -e 's/\\$//' "$d" | tr ' ' '\n' | grep -v '^$')
	for h in $deps; do
		case $h in
		include/*.h|"$top"/include/*.h)
			base=$(basename "$h")
			own=${owner[$base]:-}
			if [ -z "$own" ]; then
				crossing "$o includes $h, which belongs to no folder (add it to walls.sh)"
			elif [[ " ${uses[$folder]} " != *" $own "* ]]; then
				crossing "$o includes $base, a header of $own/ ($folder/ may use: ${uses[$folder]})"
			fi ;;
		src/*/*.h)
			hf=$(basename "$(dirname "$h")")
			[ "$hf" = "$folder" ] || [[ " ${uses[$folder]} " == *" $hf "* ]] ||
				crossing "$o includes $h, private to $hf/" ;;
		esac
		for pat in "${!foreign[@]}"; do
			if [[ $h =~ $pat ]] && ! allowed_obj "$o" "${foreign[$pat]}"; then
				crossing "$o includes $h (only ${foreign[$pat]} may)"
			fi
		done
	done
	if [ "$o" = link/frame ]; then
		for base in transport.h store.h db.h queue.h outbox.h; do
			grep -q "include/$base" "$d" && crossing "link/frame includes $base: the framing codec reaches no transport or database"
		done
		syms=$(nm -u "${d%.d}.o" 2>/dev/null | awk '{print $2}' |
			grep -E '^(clock_gettime|time|gettimeofday|read|write|open|openat|poll|sqlite3_.*|libusb_.*|mono_ms|real_ns|transport_.*)$')
		[ -z "$syms" ] || crossing "link/frame calls $(echo $syms): the framing codec reaches no I/O or clock"
	fi
done
[ "$n" -gt 0 ] || { echo "walls: no dependency files in $objdir (build first)" >&2; exit 1; }
[ "$fails" = 0 ] || { echo "walls: $fails crossing(s) in $n objects" >&2; exit 1; }
echo "walls: $n objects, no crossing"
