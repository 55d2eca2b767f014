#!/usr/bin/env bash
# t_units.sh: the units' SystemCallFilter= lets the daemons do what they do
# under systemd. A daemon installs its own Landlock rules and seccomp
# filter (src/common/sandbox.c, sandbox_fs.c) inside the unit's filter, so
# the unit must allow those calls (landlock_*, seccomp, prctl), and every
# call on the daemons' own allow-lists: a call the unit forbids kills the
# daemon with SIGSYS before our own list is ever asked. The unit's filter
# is worked out with systemd-analyze syscall-filter (its groups expanded,
# lines applied in order, as systemd does). Found this way: the client's
# adjtimex (the NTP status of a TIME sample) was taken away again by
# "~@privileged", which holds @clock.
# Skips (77) without systemd-analyze.
set -u
top=${AL_TOP:?}
command -v systemd-analyze >/dev/null || { echo "needs systemd-analyze (systemd)"; exit 77; }
fails=0
. "$AL_TOP/scripts/tap.sh"

expand() {	# GROUP-or-NAME...: the system call names, one a line
	local t
	for t in "$@"; do
		case $t in
		@*) systemd-analyze syscall-filter --no-pager "$t" 2>/dev/null |
			awk 'NR > 1 && $1 !~ /^#/ && NF { print $1 }' |
			while read -r x; do expand "$x"; done ;;
		*) echo "$t" ;;
		esac
	done
}
allowed() {	# UNIT: what its SystemCallFilter= lines allow, in their order: the
	# first (an allow-list) sets, a later "~" line removes, a later plain one adds
	local line set="" names
	while read -r line; do
		# shellcheck disable=SC2086
		case $line in
		"~"*) names=$(expand ${line#\~} | sort -u)
			set=$(comm -23 <(echo "$set") <(echo "$names")) ;;
		*) set=$( (echo "$set"; expand $line) | sed '/^$/d' | sort -u) ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$1")
	echo "$set"
}
# the names in one of sandbox.c's arrays: ARRAY
names() {
	awk -v a="$1" '$0 ~ "^static const int " a "\\[\\]" { on = 1 } on { print } on && /};/ { exit }' \
		"$top/src/common/sandbox.c" | grep -o 'SCMP_SYS([a-z0-9_]*)' | sed 's/SCMP_SYS(\(.*\))/\1/'
}

setup="landlock_create_ruleset landlock_add_rule landlock_restrict_self seccomp prctl"
# shellcheck disable=SC2046
# fchown: SQLite calls it only when running as root (to give new -wal and
# -shm files the database's owner), which a unit never is (User=)
daemons=$(echo $(names sandbox_common) $(names sandbox_rename) | tr ' ' '\n' | grep -vx fchown)
# and those allowed with conditions on their arguments
daemons+=" mmap mprotect sendto socket tgkill"
[ -n "$daemons" ] || { echo "no names found in src/common/sandbox.c"; exit 1; }
for unit in linkd signerd client ocspd; do
	f=$top/systemd/airlock-$unit.service
	a=$(allowed "$f")
	extra=""
	case $unit in
	linkd) extra="$(names sandbox_cable) $(names sandbox_usb) ioctl clone" ;;
	client) extra="$(names sandbox_cable) $(names sandbox_usb) $(names sandbox_ntp) $(names sandbox_mkdir) ioctl clone" ;;
	signerd) extra="ioctl" ;;
	ocspd) extra="$(names sandbox_http) sendmsg" ;;
	esac
	missing=""
	for n in $setup; do grep -qxF "$n" <<<"$a" || missing+=" $n"; done
	check "airlock-$unit.service allows its sandbox's set-up calls${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
	missing=""
	for n in $daemons $extra; do grep -qxF "$n" <<<"$a" || missing+=" $n"; done
	check "airlock-$unit.service allows every call on its own allow-list${missing:+ (missing:$missing)}" '[ -z "$missing" ]'
done
exit $fails
