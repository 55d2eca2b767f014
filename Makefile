# airlock: GNU Makefile. `make` builds, `make check` tests, `make demo` runs
# the main job on a throwaway CA over a pty cable. See README.md.

PREFIX	?= /usr/local
DESTDIR	?=
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc

CC	?= cc
B	:= build
PKGS	:= libssl libcrypto sqlite3 libconfig libusb-1.0
WARN	:= -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 \
	   -Wno-format-truncation
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lutil -lm

MAINS	:= src/linkd.c src/signerd.c src/client.c src/ctl.c
LIBSRC	:= $(filter-out $(MAINS),$(wildcard src/*.c))
LIBOBJ	:= $(LIBSRC:src/%.c=$(B)/obj/%.o)
LIB	:= $(B)/libairlock.a
PROGS	:= $(B)/bin/airlock-linkd $(B)/bin/airlock-signerd \
	   $(B)/bin/airlock-client $(B)/bin/airlockctl
TOOLSRC	:= $(wildcard tools/*.c)
TOOLS	:= $(TOOLSRC:tools/%.c=$(B)/bin/%)
UNITSRC	:= $(wildcard tests/unit/test_*.c)
UNITS	:= $(UNITSRC:tests/unit/%.c=$(B)/tests/%)
ITESTS	:= $(sort $(wildcard tests/integration/t_*.sh))
FUZZSRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS	:= $(FUZZSRC:tests/fuzz/%.c=$(B)/fuzz/%)

DEB_PKGS := build-essential pkg-config libssl-dev libsqlite3-dev libconfig-dev \
	    libusb-1.0-0-dev libcmocka-dev libumockdev-dev umockdev openssl \
	    socat clang libclang-rt-14-dev gnutls-bin python3-cryptography \
	    softhsm2 libengine-pkcs11-openssl opensc libseccomp-dev \
	    libncurses-dev tmux sqlite3

.PHONY: all deps check unit integration fuzz fuzz-smoke demo clean asan \
	install bench-link

all: deps-ok $(PROGS) $(TOOLS)

# Install missing Debian packages when root; say what to install otherwise.
deps:
	@scripts/deps.sh $(DEB_PKGS)

.PHONY: deps-ok
deps-ok:
	@scripts/deps.sh --quiet $(DEB_PKGS)

$(B)/obj/%.o: src/%.c $(wildcard include/*.h) | $(B)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/bin/airlock-linkd: $(B)/obj/linkd.o $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bin/airlock-signerd: $(B)/obj/signerd.o $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bin/airlock-client: $(B)/obj/client.o $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
$(B)/bin/airlockctl: $(B)/obj/ctl.o $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/%: tools/%.c $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm

$(B)/tests/%: tests/unit/%.c $(LIB) | $(B)/tests
	$(CC) $(CFLAGS) -Isrc -o $@ $^ $(LDLIBS) -lcmocka -lm

$(B)/obj $(B)/bin $(B)/tests:
	mkdir -p $@

check: all $(UNITS) $(FUZZERS)
	@scripts/run-tests.sh $(UNITS) -- $(ITESTS) -- $(FUZZERS)

unit: all $(UNITS)
	@scripts/run-tests.sh $(UNITS)

integration: all
	@scripts/run-tests.sh -- $(ITESTS)

demo: all
	@scripts/demo.sh

# Fuzzing: libFuzzer targets in tests/fuzz, built with clang and ASan/UBSan.
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Iinclude -D_GNU_SOURCE \
	   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
$(B)/fuzz/%: tests/fuzz/%.c $(LIBSRC) $(wildcard include/*.h)
	@mkdir -p $(B)/fuzz
	clang $(FUZZ_CFLAGS) $(shell pkg-config --cflags $(PKGS)) -o $@ $< $(LIBSRC) $(LDLIBS)
fuzz: $(FUZZERS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)
fuzz-smoke: $(FUZZERS)
	@scripts/fuzz.sh 5 $(FUZZERS)

bench-link: all
	@scripts/bench-link.sh

asan:
	$(MAKE) B=build-asan CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" check

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/airlock
	install -m 0755 $(B)/bin/airlock-linkd $(B)/bin/airlock-signerd $(B)/bin/airlockctl $(DESTDIR)$(SBINDIR)
	install -m 0755 $(B)/bin/airlock-client $(DESTDIR)$(BINDIR)
	install -m 0640 conf/airlock.conf conf/airlock-client.conf $(DESTDIR)$(SYSCONFDIR)/airlock

clean:
	rm -rf build build-asan
