# airlock: GNU Makefile. `make` builds, `make check` tests, `make demo` runs
# the main job on a throwaway CA over a pty cable. See README.md.

PREFIX	?= /usr/local
DESTDIR	?=
SBINDIR	?= $(PREFIX)/sbin
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
DOCDIR	?= $(PREFIX)/share/doc/airlock
UNITDIR	?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
SYSUSERSDIR ?= $(or $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null),/usr/lib/sysusers.d)
TMPFILESDIR ?= $(or $(shell pkg-config --variable=tmpfilesdir systemd 2>/dev/null),/usr/lib/tmpfiles.d)

CC	?= cc
B	:= build
PKGS	:= libssl libcrypto sqlite3 libconfig libusb-1.0 libseccomp
WARN	:= -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2
# gcc only: clang has no -Wformat-truncation (and warns about the option)
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c clang),0)
WARN	+= -Wno-format-truncation
endif
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN	+= -Werror
endif
CFLAGS	?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS	+= $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lutil -lm

# One folder per program and shared folders for what they share
# (docs/architecture.md section 10). Each program links only the folders it
# may use (USES_*); `make walls` checks the headers each object includes.
FOLDERS	:= common wire link pki ca store linkd signerd client ctl timesync ocspd
# ocspd/http.c is the only libmicrohttpd user: like a main, it is linked
# into airlock-ocspd alone and kept out of the archives.
MAINS	:= src/linkd/linkd.c src/signerd/signerd.c src/client/client.c \
	   src/ctl/ctl.c src/ctl/top.c src/timesync/timesync.c \
	   src/ocspd/ocspd.c src/ocspd/http.c
USES_linkd	:= linkd store link wire common
USES_signerd	:= signerd ca pki wire common
USES_client	:= client store link pki wire common
USES_ctl	:= ctl ca store link pki wire common
USES_timesync	:= timesync ca pki wire common
USES_ocspd	:= ocspd store pki wire common
ALLSRC	:= $(wildcard $(FOLDERS:%=src/%/*.c))
LIBSRC	:= $(filter-out $(MAINS),$(ALLSRC))
obj	= $(patsubst src/%.c,$(B)/obj/%.o,$(1))
LIBOBJ	:= $(call obj,$(LIBSRC))
LIB	:= $(B)/libairlock.a
flibs	= $(foreach f,$(USES_$(1)),$(B)/lib/lib$(f).a)
PROGS	:= $(B)/bin/airlock-linkd $(B)/bin/airlock-signerd \
	   $(B)/bin/airlock-client $(B)/bin/airlockctl $(B)/bin/airlock-timesync \
	   $(B)/bin/airlock-ocspd
TOOLSRC	:= $(wildcard tools/*.c)
TOOLS	:= $(TOOLSRC:tools/%.c=$(B)/bin/%)
UNITSRC	:= $(wildcard tests/unit/test_*.c)
UNITS	:= $(UNITSRC:tests/unit/%.c=$(B)/tests/%)
ITESTS	:= $(sort $(wildcard tests/integration/t_*.sh))
FUZZSRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS	:= $(FUZZSRC:tests/fuzz/%.c=$(B)/fuzz/%)

# The build folder, for the test scripts (scripts/run-tests.sh, harness.sh):
# `make asan` runs every test against the programs in build-asan/bin.
export AL_BUILD	:= $(CURDIR)/$(B)
export AL_BIN	:= $(AL_BUILD)/bin
# how t_walls links a scratch main against the folder archives
export AL_LINK	:= $(CC) $(filter -fsanitize=%,$(CFLAGS))

DEB_PKGS := build-essential pkg-config libssl-dev libsqlite3-dev libconfig-dev \
	    libusb-1.0-0-dev libcmocka-dev libumockdev-dev umockdev openssl \
	    socat clang libclang-rt-14-dev gnutls-bin python3-cryptography \
	    softhsm2 libengine-pkcs11-openssl opensc libseccomp-dev \
	    libncurses-dev tmux sqlite3 publicsuffix gnupg sq xdelta libmicrohttpd-dev

.PHONY: all deps check walls unit integration fuzz fuzz-smoke demo clean asan \
	install install-signer install-webdb install-dirs install-systemd-now deploy-test chaos drill bench-link bench-sign bench-usb bench-crl bench-pgp bench-v1 bench-ocsp bench-scale test-crl-long test-lifecycle

# The emulated PL2501 cable of the USB tests, when umockdev is there.
USBPAIR	:= $(if $(shell pkg-config --exists umockdev-1.0 && echo y),$(B)/bin/usbpair)

all: deps-ok $(PROGS) $(TOOLS) $(USBPAIR)

# `make check` and `make asan` build on every CPU (the packages are checked
# first: every compile waits for deps-ok); the tests then share the CPUs
# their own way (scripts/run-tests.sh).
ifneq ($(filter check asan,$(MAKECMDGOALS)),)
MAKEFLAGS += -j$(shell nproc)
endif

# Install missing Debian packages when root; say what to install otherwise.
deps:
	@scripts/deps.sh $(DEB_PKGS)

.PHONY: deps-ok
deps-ok:
	@scripts/deps.sh --quiet $(DEB_PKGS)

$(B)/obj/%.o: src/%.c | deps-ok
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MD -MP -c -o $@ $<

-include $(LIBOBJ:.o=.d) $(patsubst %.o,%.d,$(call obj,$(MAINS)))

# Every object but the mains, for the tests and the tools.
$(LIB): $(LIBOBJ)
	rm -f $@
	ar rcs $@ $^

# One archive per folder: a program links only those of its USES_ list, so
# a call across a wall does not link.
define folder_lib
$(B)/lib/lib$(1).a: $$(call obj,$$(filter src/$(1)/%,$$(LIBSRC)))
	@mkdir -p $$(@D)
	rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach f,$(FOLDERS),$(eval $(call folder_lib,$(f))))

$(B)/bin/airlock-linkd: $(B)/obj/linkd/linkd.o $(call flibs,linkd) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $< -Wl,--start-group $(call flibs,linkd) -Wl,--end-group $(LDLIBS)
$(B)/bin/airlock-signerd: $(B)/obj/signerd/signerd.o $(call flibs,signerd) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $< -Wl,--start-group $(call flibs,signerd) -Wl,--end-group $(LDLIBS)
$(B)/bin/airlock-client: $(B)/obj/client/client.o $(call flibs,client) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $< -Wl,--start-group $(call flibs,client) -Wl,--end-group $(LDLIBS)
$(B)/bin/airlockctl: $(B)/obj/ctl/ctl.o $(B)/obj/ctl/top.o $(call flibs,ctl) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(call flibs,ctl) -Wl,--end-group $(LDLIBS) -lncurses
$(B)/bin/airlock-timesync: $(B)/obj/timesync/timesync.o $(call flibs,timesync) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $< -Wl,--start-group $(call flibs,timesync) -Wl,--end-group $(LDLIBS)

$(B)/bin/airlock-ocspd: $(B)/obj/ocspd/ocspd.o $(B)/obj/ocspd/http.o $(call flibs,ocspd) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(call flibs,ocspd) -Wl,--end-group $(LDLIBS) -lmicrohttpd

# The walls between the folders, from the compiler's dependency files.
walls: $(PROGS)
	@scripts/walls.sh $(B)/obj

$(B)/bin/usbpair: tests/usb/usbpair.c | $(B)/bin deps-ok
	$(CC) $(CFLAGS) $(shell pkg-config --cflags umockdev-1.0) -o $@ $< \
	    $(shell pkg-config --libs umockdev-1.0)

$(B)/bin/%: tools/%.c $(LIB) | $(B)/bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lm

$(B)/tests/%: tests/unit/%.c $(LIB) | $(B)/tests
	$(CC) $(CFLAGS) $(FOLDERS:%=-Isrc/%) -o $@ $^ $(LDLIBS) -lcmocka -lm

$(B)/obj $(B)/bin $(B)/tests:
	mkdir -p $@

# Helpers of the integration tests: the disk-full shim (t_diskfull.sh,
# LD_PRELOAD, so no sanitizer flags) and the privilege probe (t_privsep.sh).
HELPERS	:= $(B)/lib/enospc.so $(B)/tests/privsep-probe
$(B)/lib/enospc.so: tests/shim/enospc.c
	@mkdir -p $(B)/lib
	$(CC) -O2 -g -Wall -Wextra -fPIC -shared -o $@ $< -ldl
$(B)/tests/privsep-probe: tests/privsep/probe.c $(LIB) | $(B)/tests
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

check: all walls $(UNITS) $(FUZZERS) $(HELPERS)
	@scripts/run-tests.sh $(UNITS) -- $(ITESTS) -- $(FUZZERS)

unit: all $(UNITS)
	@scripts/run-tests.sh $(UNITS)

integration: all $(HELPERS)
	@scripts/run-tests.sh -- $(ITESTS)

# Crash consistency: SIGKILL the three processes at random while requests
# stream; ends with one line "CHAOS kills=K requests=N ...".
CHAOS_KILLS ?= 200
CHAOS_N	?= 400
chaos: all
	@CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_N=$(CHAOS_N) scripts/chaos.sh

demo: all
	@scripts/demo.sh

# The restore drill (issue 18): back up, lose, restore, catch up; one line
# "DRILL certs=N+M recovered=R lost=L crl_monotonic=0|1 audit=ok|bad ...".
drill: all
	@scripts/drill.sh

# Fuzzing: libFuzzer targets in tests/fuzz, built with clang and ASan/UBSan.
# The library objects are compiled once for all of them (fuzzer-no-link).
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Iinclude -D_GNU_SOURCE \
	   -fsanitize=address,undefined -fno-sanitize-recover=all \
	   $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SECONDS ?= 60
FUZZOBJ	:= $(patsubst src/%.c,$(B)/fuzzobj/%.o,$(LIBSRC))
$(B)/fuzzobj/%.o: src/%.c | deps-ok
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MD -MP -c -o $@ $<
-include $(FUZZOBJ:.o=.d)
$(B)/fuzz/libfuzz.a: $(FUZZOBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^
$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libfuzz.a $(wildcard include/*.h)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FOLDERS:%=-Isrc/%) -o $@ $< $(B)/fuzz/libfuzz.a $(LDLIBS)
fuzz: $(FUZZERS)
	@scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)
fuzz-smoke: $(FUZZERS)
	@scripts/fuzz.sh 5 $(FUZZERS)

bench-link: all
	@scripts/bench-link.sh

bench-crl: all
	@scripts/bench-crl.sh

# t_crl.sh with 10,000 revocations through the link (several minutes)
test-crl-long: all
	@CRL_N=10000 AL_TOP=$(CURDIR) bash tests/integration/t_crl.sh

# key rollover under a longer stream of requests (docs/operations.md)
test-lifecycle: all
	@LIFECYCLE_N=40 AL_TOP=$(CURDIR) bash tests/integration/t_lifecycle.sh

bench-sign: all
	@scripts/bench-sign.sh

bench-usb: all
	@scripts/bench-usb.sh

bench-pgp: all
	@scripts/bench-pgp.sh

bench-v1: all
	@scripts/bench-v1.sh
bench-ocsp: all
	@scripts/bench-ocsp.sh

# a million certificates on one signer (the state is cached in /var/tmp)
bench-scale: all
	@scripts/bench-scale.sh

asan:
	$(MAKE) B=build-asan CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" check

# `make install` both hosts' files; `install-signer` the signer host's
# (airlock-linkd, airlock-signerd, airlockctl, airlock-timesync),
# `install-webdb` webdb's (airlock-client). Man pages are gzipped; an
# existing configuration is the operator's and is never overwritten.
install: install-signer install-webdb

# install_unit NAME: a unit with the paths as installed
install_unit = sed -e 's|/usr/sbin/|$(SBINDIR)/|; s|/usr/bin/|$(BINDIR)/|' \
	    -e 's|/etc/airlock/|$(SYSCONFDIR)/airlock/|g' \
	    -e 's|/usr/share/doc/airlock/|$(DOCDIR)/|' systemd/$(1).service \
	    > $(DESTDIR)$(UNITDIR)/$(1).service && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$(1).service
# install_conf FILE: conf/FILE unless there is one
install_conf = [ -e $(DESTDIR)$(SYSCONFDIR)/airlock/$(1) ] || \
	    install -m 0640 conf/$(1) $(DESTDIR)$(SYSCONFDIR)/airlock/$(1)
# install_man PAGE SECTION
install_man = install -d $(DESTDIR)$(MANDIR)/man$(2) && \
	    gzip -9n < docs/$(1).$(2) > $(DESTDIR)$(MANDIR)/man$(2)/$(1).$(2).gz && \
	    chmod 0644 $(DESTDIR)$(MANDIR)/man$(2)/$(1).$(2).gz

install-dirs:
	install -d $(DESTDIR)$(SYSCONFDIR)/airlock $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -m 0644 README.md LICENSE $(wildcard docs/*.md) \
	    systemd/airlock-usb.conf $(DESTDIR)$(DOCDIR)

install-signer: all install-dirs
	install -d $(DESTDIR)$(SBINDIR)
	install -m 0755 $(B)/bin/airlock-linkd $(B)/bin/airlock-signerd \
	    $(B)/bin/airlockctl $(B)/bin/airlock-timesync $(DESTDIR)$(SBINDIR)
	$(call install_conf,airlock.conf)
	for p in airlock-linkd airlock-signerd airlockctl airlock-timesync; do \
	    $(call install_man,$$p,8) || exit 1; done
	$(call install_unit,airlock-linkd)
	$(call install_unit,airlock-signerd)
	install -m 0644 systemd/airlock.sysusers $(DESTDIR)$(SYSUSERSDIR)/airlock.conf
	install -m 0644 systemd/airlock.tmpfiles $(DESTDIR)$(TMPFILESDIR)/airlock.conf
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/airlock
	install -d -m 0700 $(DESTDIR)$(LOCALSTATEDIR)/lib/airlock/link \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/airlock/signer \
	    $(DESTDIR)$(LOCALSTATEDIR)/lib/airlock/signer/ca
	@$(MAKE) --no-print-directory install-systemd-now CONFS=airlock.conf

install-webdb: all install-dirs
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(B)/bin/airlock-client $(DESTDIR)$(BINDIR)
	install -m 0755 $(B)/bin/airlock-ocspd $(DESTDIR)$(SBINDIR)
	$(call install_conf,airlock-client.conf)
	$(call install_man,airlock-client,1)
	$(call install_man,airlock-ocspd,8)
	$(call install_unit,airlock-client)
	$(call install_unit,airlock-ocspd)
	install -m 0644 systemd/airlock-client.sysusers $(DESTDIR)$(SYSUSERSDIR)/airlock-client.conf
	install -m 0644 systemd/airlock-client.tmpfiles $(DESTDIR)$(TMPFILESDIR)/airlock-client.conf
	@$(MAKE) --no-print-directory install-systemd-now CONFS=airlock-client.conf

# the users, folders and FIFOs at once, on this system as root (without
# DESTDIR); tmpfiles.d makes /run/airlock again at each boot
install-systemd-now:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    command -v systemd-sysusers >/dev/null; then \
	    echo "systemd-sysusers, systemd-tmpfiles --create $(CONFS)"; \
	    systemd-sysusers $(CONFS) && systemd-tmpfiles --create $(CONFS); \
	else echo "DESTDIR set or not root: run systemd-sysusers and" \
	    "systemd-tmpfiles --create on the target (README.md, Deploying)"; fi

# As deployed (needs root; skips without): both hosts installed into
# staging roots, their users and folders from the shipped sysusers and
# tmpfiles files, the daemons started as their units say; ends with
# "DEPLOY checks=N failed=F" (scripts/deploy-test.sh).
deploy-test: all $(HELPERS)
	@scripts/deploy-test.sh

clean:
	rm -rf build build-asan
