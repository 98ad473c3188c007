# libswing - one entry point: deps, build, test, bench, demo, install, clean.
# Objects go under build/ (sanitizer build under build/asan/).

PREFIX  ?= /usr/local
CC      ?= cc
BUILD   := build
ASAN    := $(BUILD)/asan

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CSTD    := -std=c11 -D_GNU_SOURCE
LUA_CFLAGS := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
GEN     := $(BUILD)/gen
INCS    := -I. -I$(GEN) $(LUA_CFLAGS)
CFLAGS  ?= -O2 -g
LIBS    := -lleveldb -lnettle -ljansson -llua5.4 -lprotobuf-c -lm
# Tests also link libsodium: an independent SHA-256 oracle for hash checks.
TLIBS   := -lcmocka -lsodium
ALL_CFLAGS  = $(CSTD) $(WARN) $(INCS) $(CFLAGS) -fPIC -fvisibility=hidden -DSWING_BUILDING_LIBRARY
ASAN_CFLAGS = $(CSTD) $(WARN) $(INCS) -O1 -g -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=all -DSWING_DEBUG \
              -DSWING_BUILDING_LIBRARY

LIB_SRCS   := $(wildcard base/*.c abi/*.c store/*.c vatproto/*.c kernel/*.c liveslots/*.c liveslots/lua/*.c)
CLI_SRCS   := $(wildcard cli/*.c)
TESTLIB    := $(wildcard tests/lib/*.c)
TESTHDRS   := $(wildcard tests/*/*.h)
TEST_SRCS  := $(wildcard tests/*/*_test.c)
BENCH_SRCS := $(wildcard tests/bench/*_bench.c)
BENCHLIB   := tests/lib/scratch.c tests/lib/syscalls.c

# Library versions (KEEP IN SYNC: abi/swing.h SWING_ABI_VERSION, abi/version.c).
ABI_VERSION := $(shell sed -n 's/^\#define SWING_ABI_VERSION \([0-9]*\)/\1/p' abi/swing.h)
LIB_VERSION := $(shell sed -n 's/.*swing_version(void) { return "\([0-9.]*\)"; }/\1/p' abi/version.c)
SO_NAME    := libswing.so.$(ABI_VERSION)
SO_FILE    := $(SO_NAME).$(word 2,$(subst ., ,$(LIB_VERSION))).$(word 3,$(subst ., ,$(LIB_VERSION)))

# C code generated from the ABI schema at build time (protoc-c).
PROTOS     := $(wildcard proto/swing/v1/*.proto)
GEN_SRCS   := $(PROTOS:proto/%.proto=$(GEN)/%.pb-c.c)
GEN_HDRS   := $(GEN_SRCS:.c=.h)

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o) $(GEN_SRCS:$(GEN)/%.c=$(BUILD)/obj/gen/%.o)
ASAN_OBJS  := $(LIB_SRCS:%.c=$(ASAN)/obj/%.o) $(GEN_SRCS:$(GEN)/%.c=$(ASAN)/obj/gen/%.o)
TESTS      := $(TEST_SRCS:%.c=$(BUILD)/%)
ASAN_TESTS := $(TEST_SRCS:%.c=$(ASAN)/%)
BENCHES    := $(BENCH_SRCS:%.c=$(BUILD)/%)
DEPS_STAMP := $(BUILD)/.deps-ok

# Quiet by default; `make V=1` prints full commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1) $(2)"
endif

.PHONY: all deps build test test-unit test-asan test-valgrind test-go test-chain test-fuzz go chain localnet bench bench-anchor demo install clean FORCE
all: build

deps:
	@sh mk/deps.sh
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)

$(DEPS_STAMP): mk/deps.sh
	@sh mk/deps.sh
	@mkdir -p $(BUILD) && touch $@

build: $(BUILD)/libswing.so $(BUILD)/libswing.a $(BUILD)/swing

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto | $(DEPS_STAMP)
	@mkdir -p $(GEN)
	$(call say,PROTOC,$<)
	$(Q)protoc-c --c_out=$(GEN) -Iproto $<

# Generated code: no -Werror on protoc-c's output, only our own files.
$(BUILD)/obj/gen/%.o: $(GEN)/%.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CSTD) $(INCS) $(CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(ASAN)/obj/gen/%.o: $(GEN)/%.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(call say,CC-ASAN,$<)
	$(Q)$(CC) $(CSTD) $(INCS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fPIC -c $< -o $@

# Sources that include the generated header wait for it.
$(filter $(BUILD)/obj/abi/% $(BUILD)/obj/cli/%,$(LIB_OBJS)) $(filter $(ASAN)/obj/abi/%,$(ASAN_OBJS)): $(GEN_HDRS)

$(ASAN)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CC-ASAN,$<)
	$(Q)$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libswing.a: $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(ASAN)/libswing.a: $(ASAN_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

# The shared library: SONAME libswing.so.<ABI version> (abi/swing.h), file
# libswing.so.<ABI>.<minor>.<patch> of the library version (abi/version.c),
# and the usual links: libswing.so (what -lswing finds) -> libswing.so.<ABI>
# (what the loader looks for) -> the file.
$(BUILD)/$(SO_FILE): $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SO_NAME) -o $@ $^ $(LIBS)

$(BUILD)/$(SO_NAME): $(BUILD)/$(SO_FILE)
	$(Q)ln -sf $(SO_FILE) $@

$(BUILD)/libswing.so: $(BUILD)/$(SO_NAME)
	$(Q)ln -sf $(SO_NAME) $@

$(BUILD)/swing: $(CLI_SRCS) $(GEN_HDRS) $(BUILD)/libswing.a
	$(call say,LD,$@)
	$(Q)$(CC) $(CSTD) $(WARN) $(INCS) $(CFLAGS) -o $@ $(CLI_SRCS) $(BUILD)/libswing.a $(LIBS)

$(BUILD)/tests/%: tests/%.c $(TESTLIB) $(TESTHDRS) $(GEN_HDRS) $(BUILD)/libswing.a
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(CSTD) $(WARN) $(INCS) $(CFLAGS) -o $@ $< $(TESTLIB) $(BUILD)/libswing.a $(LIBS) $(TLIBS)

$(ASAN)/tests/%: tests/%.c $(TESTLIB) $(TESTHDRS) $(GEN_HDRS) $(ASAN)/libswing.a
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(ASAN_CFLAGS) -o $@ $< $(TESTLIB) $(ASAN)/libswing.a $(LIBS) $(TLIBS)

$(BUILD)/tests/bench/%: tests/bench/%.c $(BENCHLIB) $(TESTHDRS) $(GEN_HDRS) $(BUILD)/libswing.a
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(CSTD) $(WARN) $(INCS) -O2 -g -o $@ $< $(BENCHLIB) $(BUILD)/libswing.a $(LIBS)

# libFuzzer: the library again, built by clang with coverage and ASan+UBSan,
# and the envelope target (tests/fuzz/). Seeds are text protobufs encoded by
# protoc; `make test` fuzzes for FUZZ_SECONDS.
FUZZ         := $(BUILD)/fuzz
FUZZ_SECONDS ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = $(CSTD) $(WARN) $(INCS) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) \
                -fsanitize=fuzzer-no-link -DSWING_BUILDING_LIBRARY
FUZZ_OBJS    := $(LIB_SRCS:%.c=$(FUZZ)/obj/%.o) $(GEN_SRCS:$(GEN)/%.c=$(FUZZ)/obj/gen/%.o)
FUZZ_SEEDS   := $(wildcard tests/fuzz/seeds/*.txtpb)

$(FUZZ)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(call say,CLANG,$<)
	$(Q)clang $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ)/obj/gen/%.o: $(GEN)/%.c $(GEN_HDRS)
	@mkdir -p $(dir $@)
	$(call say,CLANG,$<)
	$(Q)clang $(CSTD) $(INCS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(filter $(FUZZ)/obj/abi/%,$(FUZZ_OBJS)): $(GEN_HDRS)

$(FUZZ)/libswing.a: $(FUZZ_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

FUZZ_LIB := tests/lib/scratch.c tests/lib/utf8oracle.c
$(FUZZ)/envelope_fuzz: tests/fuzz/envelope_fuzz.c $(FUZZ_LIB) $(GEN_HDRS) $(FUZZ)/libswing.a
	$(call say,LD,$@)
	$(Q)clang $(CSTD) $(WARN) $(INCS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) \
	  $(FUZZ)/libswing.a $(LIBS)

$(FUZZ)/seeds/.stamp: $(FUZZ_SEEDS) $(PROTOS) | $(DEPS_STAMP)
	@rm -rf $(FUZZ)/seeds && mkdir -p $(FUZZ)/seeds
	$(Q)for f in $(FUZZ_SEEDS); do \
	  protoc --encode=swing.v1.Request -Iproto swing/v1/swing.proto <$$f >$(FUZZ)/seeds/$$(basename $$f .txtpb) || exit 1; \
	done
	@touch $@

# A fresh corpus each run (seeds only): the time is fixed, the outcome is
# "no crash, no leak, no broken invariant" (mk/fuzz.sh).
test-fuzz: $(FUZZ)/envelope_fuzz $(FUZZ)/seeds/.stamp
	@sh mk/fuzz.sh $(FUZZ)/envelope_fuzz $(FUZZ_SECONDS) $(FUZZ)/corpus $(FUZZ)/seeds

# Go bindings: protoc-gen-go comes from the Go module proxy (pinned), the Go
# code for the schema is generated at build time like the C code.
GOBIN_DIR     := $(abspath $(BUILD))/gobin
PROTOC_GEN_GO := $(GOBIN_DIR)/protoc-gen-go
GO_PB         := go-bindings/swingpb/swing.pb.go
# The cgo package links build/libswing.a; its hash in CGO_CFLAGS makes Go's
# build cache relink when the library changes.
GO_ENV = CGO_CFLAGS="-O2 -g -DSWING_LIB=$$(sha256sum $(abspath $(BUILD))/libswing.a | cut -c1-16)"

$(PROTOC_GEN_GO): | $(DEPS_STAMP)
	$(call say,GO,install protoc-gen-go)
	$(Q)GOBIN=$(GOBIN_DIR) go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.10

$(GO_PB): $(PROTOS) $(PROTOC_GEN_GO)
	$(call say,PROTOC,$(GO_PB))
	$(Q)protoc --plugin=protoc-gen-go=$(PROTOC_GEN_GO) --go_out=go-bindings \
	  --go_opt=module=libswing/go-bindings -Iproto $(PROTOS)

go: $(BUILD)/libswing.a $(GO_PB)
	$(Q)cd go-bindings && $(GO_ENV) go build ./... && $(GO_ENV) go vet ./...
	$(Q)cd go-bindings/iavlsync && $(GO_ENV) go vet ./...

# Go tests under the strictest cgo pointer checks and the race detector; the
# IAVL module (its own go.mod, so the bindings stay free of IAVL's
# dependencies) prints its per-block summary line.
test-go: go $(BUILD)/swing
	cd go-bindings && $(GO_ENV) GOEXPERIMENT=cgocheck2 GORACE=halt_on_error=1 go test -race -count=1 ./...
	@cd go-bindings/iavlsync && $(GO_ENV) GOEXPERIMENT=cgocheck2 GORACE=halt_on_error=1 \
	  go test -race -count=1 -v ./... >$(abspath $(BUILD))/iavl-test.log 2>&1; rc=$$?; \
	  if [ $$rc -ne 0 ]; then cat $(abspath $(BUILD))/iavl-test.log; else grep -E '^ok|IAVL:' $(abspath $(BUILD))/iavl-test.log; fi; exit $$rc

# The chain (chain/, its own module so that CometBFT's dependencies stay out
# of the bindings): build/swingd, a node binary (CometBFT v0.38 with the
# kernel as its ABCI app), and its tests under cgocheck2 and -race like the
# bindings: the app without a network, then a 4-validator localnet plus a
# node that state-syncs, in one process on 127.0.0.1 (about 20 s).
$(BUILD)/swingd: go FORCE
	$(call say,GO,$@)
	$(Q)cd chain && $(GO_ENV) go build -o $(abspath $(BUILD))/swingd ./cmd/swingd

chain: $(BUILD)/swingd
	$(Q)cd chain && $(GO_ENV) go vet ./...

# 4 validator processes, a load generator through the RPC, a fifth node by
# state sync, one validator SIGKILLed and restarted; a row per block.
LOCALNET_BLOCKS ?= 40
$(BUILD)/localnet: $(BUILD)/swingd
	$(call say,GO,$@)
	$(Q)cd chain && $(GO_ENV) go build -o $(abspath $(BUILD))/localnet ./cmd/localnet

localnet: $(BUILD)/localnet
	$(BUILD)/localnet --swingd $(BUILD)/swingd --config examples/chain/chain.json --blocks $(LOCALNET_BLOCKS)

test-chain: chain
	cd chain && $(GO_ENV) GOEXPERIMENT=cgocheck2 GORACE=halt_on_error=1 go test -race -count=1 ./...

# make test: the unit and scenario tests, the same under ASan+UBSan, the ABI
# tests under valgrind, then Go (bindings, then the chain), then a
# fixed-time fuzz run of the ABI envelope.
test: test-unit test-asan test-valgrind test-go test-chain test-fuzz

test-unit: build $(TESTS)
	CMOCKA_MESSAGE_OUTPUT=TAP prove -f $(TESTS) tests/cli/cli_test.sh tests/abi/install_test.sh \
	  tests/layout/layout_test.sh

test-asan: $(ASAN_TESTS)
	CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1 prove -f $(ASAN_TESTS)

# The ABI tests (once abi_test, split by abi/*.c) under valgrind's memcheck,
# handle_test's soak short (ABI_TEST_SHORT): uninitialized reads, invalid
# accesses and definite or indirect leaks fail them.
ABI_VALGRIND := $(addprefix $(BUILD)/tests/abi/,handle_test block_test admin_test upgrade_test winddown_test replay_test)
test-valgrind: $(ABI_VALGRIND)
	@for t in $(ABI_VALGRIND); do echo "  VALGRIND $$t"; \
	  ABI_TEST_SHORT=1 CMOCKA_MESSAGE_OUTPUT=TAP valgrind -q --error-exitcode=99 --leak-check=full \
	    --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect $$t || exit 1; \
	done

# The C benchmarks, then `localnet`: 4 swingd validators on 127.0.0.1 at a
# fixed block time under load, against the same app and kernel alone
# (chain/cmd/localnet/bench.go; about 2 minutes).
bench: build $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done
	@$(MAKE) --no-print-directory $(BUILD)/localnet >&2
	@$(BUILD)/localnet --bench --swingd $(BUILD)/swingd --config examples/chain/chain.json --blocks 10

# SwingSet 0.33.0 on XS workers (npm, into build/anchor) and libswing on the
# same workloads, back to back: one JSON line each with both times and the
# ratio (about 15 minutes; SMALL=1: smaller VOM sizes, about 4).
bench-anchor:
	@$(MAKE) --no-print-directory build $(BENCHES) >&2
	@sh tests/bench/anchor/install.sh $(BUILD)/anchor >&2
	@node mk/bench_anchor.js $(BUILD) $(if $(SMALL),--small)

demo: build $(BUILD)/simchain
	@sh mk/demo.sh $(BUILD)/swing $(BUILD)/simchain

$(BUILD)/simchain: go FORCE
	$(Q)cd go-bindings && $(GO_ENV) go build -o $(abspath $(BUILD))/simchain ./cmd/simchain

FORCE:

install: build
	install -d $(DESTDIR)$(PREFIX)/include/swing $(DESTDIR)$(PREFIX)/lib/pkgconfig
	@# One self-contained header: base/status.h inlined where swing.h includes it.
	awk '/swing-install: inline/ { while ((getline l < "base/status.h") > 0) print l; next } { print }' \
	  abi/swing.h > $(BUILD)/swing.h
	install -m 0644 $(BUILD)/swing.h $(DESTDIR)$(PREFIX)/include/swing/swing.h
	install -m 0644 $(BUILD)/libswing.a $(DESTDIR)$(PREFIX)/lib/libswing.a
	install -m 0755 $(BUILD)/$(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(PREFIX)/lib/libswing.so
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/swing $(DESTDIR)$(PREFIX)/bin/swing
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(LIB_VERSION)|g' mk/libswing.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/libswing.pc

clean:
	rm -rf $(BUILD) $(GO_PB)

-include $(LIB_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(FUZZ_OBJS:.o=.d)
