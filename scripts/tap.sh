# tap.sh: the lines the integration tests print, sourced by harness.sh and
# by tests without it. "ok - WHAT" or "not ok - WHAT"; fails counts the
# second kind and a test ends with exit status 1 when it is not 0.
fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }	# WHAT CONDITION
waitfor() {	# SECONDS CONDITION: 0 as soon as it holds, 1 if it never did
	local i
	for i in $(seq $(($1 * 10))); do eval "$2" && return 0; sleep 0.1; done
	return 1
}
