#!/usr/bin/env bash
# t_walls.sh: `make walls` (scripts/walls.sh) passes on the tree and refuses
# a crossing. Scratch files are compiled the way the Makefile compiles the
# folders (-MD into OBJDIR/FOLDER/NAME.d), in a scratch object tree, so the
# real tree is not touched: a link-side file that includes a CA header, one
# that includes sqlite3.h, a framing codec that reads the clock; and the
# per-folder archives refuse to link linkd against the CA engine.
set -u
: "${AL_TOP:?}"
AL_BIN=${AL_BIN:-$AL_TOP/build/bin}
B=$(dirname "$AL_BIN")
W=$AL_TOP/scripts/walls.sh
T=$(mktemp -d /tmp/airlock-walls.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
. "$AL_TOP/scripts/tap.sh"
CFLAGS="-std=gnu11 -I$AL_TOP/include -D_GNU_SOURCE $(pkg-config --cflags libusb-1.0)"
# the compiler and sanitizer flags of the archives (make asan: clang, ASan)
LINK=${AL_LINK:-cc}

scratch() {	# FOLDER NAME: compile $T/NAME.c into $T/obj/FOLDER/NAME.o (+ .d)
	mkdir -p "$T/obj/$1"
	(cd "$AL_TOP" && $LINK $CFLAGS -MD -MP -MF "$T/obj/$1/$2.d" -c -o "$T/obj/$1/$2.o" "$T/$2.c")
}

check "the tree has no crossing" '"$W" "$B/obj" >/dev/null'

printf '#include "msg.h"\n#include "queue.h"\nint probe_ok(void) { return MSG_MAX_LEN > 0; }\n' > "$T/fine.c"
scratch linkd fine
check "a linkd file with the headers linkd may use passes" '"$W" "$T/obj" >/dev/null'

printf '#include "ca.h"\nint probe(void) { return 0; }\n' > "$T/keys.c"
scratch linkd keys
check "a linkd file that includes ca.h is refused, and the crossing named" \
	'! "$W" "$T/obj" 2>"$T/out" && grep -q "linkd/keys includes ca.h, a header of ca/" "$T/out"'
rm -f "$T"/obj/linkd/keys.*

printf '#include <sqlite3.h>\nint probe(void) { return SQLITE_OK; }\n' > "$T/db.c"
scratch client db
check "a client file that includes sqlite3.h is refused" \
	'! "$W" "$T/obj" 2>"$T/out" && grep -q "client/db includes .*sqlite3.h" "$T/out"'
rm -f "$T"/obj/client/db.*

printf '#include <time.h>\n#include "frame.h"\nlong frame_probe(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec; }\n' > "$T/frame.c"
scratch link frame
check "a framing codec that reads the clock is refused" \
	'! "$W" "$T/obj" 2>"$T/out" && grep -q "link/frame calls clock_gettime" "$T/out"'
rm -f "$T"/obj/link/frame.*

printf '#include "signer.h"\nint probe(void) { return 0; }\n' > "$T/sig.c"
scratch client sig
check "a client file that includes signer.h is refused" \
	'! "$W" "$T/obj" 2>"$T/out" && grep -q "client/sig includes signer.h" "$T/out"'
rm -f "$T"/obj/client/sig.*

# the link-level wall: linkd's archives have no CA engine in them
printf '#include "ca.h"\nint main(void) { return ca_load(0, 0, 0, 0) == 0; }\n' > "$T/main.c"
check "linking a linkd main that calls ca_load against linkd's folders fails" \
	'! (cd "$AL_TOP" && $LINK $CFLAGS -o "$T/main" "$T/main.c" -Wl,--start-group "$B"/lib/lib{linkd,store,link,wire,common}.a -Wl,--end-group $(pkg-config --libs libssl libcrypto sqlite3 libconfig libusb-1.0 libseccomp) -lutil -lm) 2>"$T/out" && grep -q "undefined reference to .ca_load" "$T/out"'
check "the same main links against the signer's folders" \
	'(cd "$AL_TOP" && $LINK $CFLAGS -o "$T/main" "$T/main.c" -Wl,--start-group "$B"/lib/lib{signerd,ca,pki,wire,common}.a -Wl,--end-group $(pkg-config --libs libssl libcrypto sqlite3 libconfig libusb-1.0 libseccomp) -lutil -lm) 2>"$T/out"'
exit $fails
