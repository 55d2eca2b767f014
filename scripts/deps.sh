#!/bin/sh
# deps.sh [--quiet] PKG...: install the Debian packages airlock needs.
# As root, missing packages are installed with apt-get; otherwise the
# command to run is printed and the build goes on (it fails later, clearly,
# if a header is really missing).
quiet=0
[ "$1" = "--quiet" ] && { quiet=1; shift; }
missing=""
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { [ $quiet = 1 ] || echo "deps: all Debian packages present"; exit 0; }
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q $missing >/dev/null 2>&1 || {
		apt-get update -q >/dev/null 2>&1
		apt-get install -y -q $missing || { echo "deps: apt-get install failed" >&2; exit 1; }
	}
	exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: run as root:  apt-get install$missing" >&2
[ $quiet = 1 ] && exit 0
exit 1
