# blackout — build, test, sanitizers, benchmarks, demo.
#   make            build/blackout and build/blackout-gen
#   make test       install what is missing, build, run every test
#   make asan       build/asan/blackout with AddressSanitizer and UBSan
#   make fuzz       build/fuzz/fuzz_* libFuzzer harnesses (clang), run by tests/it_fuzz.sh
#   make format     apply .clang-format to every source file
#   make check-style the house rules the compiler does not keep (run by make test)
#   make demo       install what is missing, build, run the demo (scripts/demo; outputs in build/demo)

CC      ?= cc
PKGS    := libpcap libndpi hiredis libmaxminddb libmicrohttpd libcurl
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Each library's compiler flags go to the one module that may include its headers
# (scripts/check-style also refuses its headers anywhere else).
PKG_capture  := libpcap
PKG_classify := libndpi
PKG_redis    := hiredis
PKG_geoip    := libmaxminddb
PKG_metrics  := libmicrohttpd
PKG_webhook  := libcurl
mod_cflags = $(if $(PKG_$(1)),$(shell pkg-config --cflags $(PKG_$(1))))

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wwrite-strings -Werror
# poison.h turns the banned functions (sprintf, strcpy, strcat, atoi ...) into build errors.
CPPFLAGS += -D_GNU_SOURCE -Iinclude -include include/poison.h
CFLAGS  ?= -O2 -g -flto=auto
CFLAGS  += -std=c11 $(WARN) -MMD -MP
LDLIBS  := $(PKG_LIBS) -lm -lpthread

ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

SRCS    := $(wildcard src/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJS    := $(SRCS:src/%.c=build/obj/%.o)
LIB_OBJS := $(LIB_SRCS:src/%.c=build/obj/%.o)
ASAN_OBJS := $(SRCS:src/%.c=build/asan/obj/%.o)
GEN_SRCS := $(wildcard src/gen/*.c)
TEST_SRCS := $(wildcard tests/test_*.c)
TESTS   := $(TEST_SRCS:tests/%.c=build/tests/%)

.PHONY: all asan fuzz test unit deps eval bench demo format check-format check-style clean
.DEFAULT_GOAL := all

all: build/blackout $(if $(GEN_SRCS),build/blackout-gen)

build/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(call mod_cflags,$*) $(CFLAGS) -c -o $@ $<

build/blackout: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

ASAN_LIB_OBJS := $(LIB_SRCS:src/%.c=build/asan/obj/%.o)

# Unit tests link the sanitizer build of the modules: every test runs under ASan and UBSan.
build/asan/libblackout.a: $(ASAN_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

build/asan/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(call mod_cflags,$*) -std=c11 $(WARN) -MMD -MP $(ASAN_FLAGS) -c -o $@ $<

build/asan/blackout: $(ASAN_OBJS)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LDLIBS)

asan: build/asan/blackout

# libFuzzer harnesses: the modules built with clang, coverage and sanitizers, one binary
# per tests/fuzz/fuzz_*.c.
FUZZ_CC    ?= clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJS  := $(LIB_SRCS:src/%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(call mod_cflags,$*) -std=c11 $(WARN) -MMD -MP $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

build/fuzz/libblackout.a: $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h build/fuzz/libblackout.a
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(WARN) -MMD -MP $(FUZZ_FLAGS) \
	    -fsanitize=fuzzer,address,undefined -Itests/fuzz -o $@ $< build/fuzz/libblackout.a $(LDLIBS)

fuzz: $(FUZZ_BINS)

build/blackout-gen: $(GEN_SRCS) $(wildcard src/gen/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -std=c11 $(WARN) -O2 -g -o $@ $(GEN_SRCS) -lm

# test_flow fails the flow table's allocations on purpose (out of memory growing its hash).
build/tests/test_flow: TEST_LDFLAGS = -Wl,--wrap=calloc

build/tests/%: tests/%.c build/asan/libblackout.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $$(pkg-config --cflags cmocka) -std=c11 $(WARN) -Wno-unused-parameter -MMD -MP \
	    $(ASAN_FLAGS) -Itests -o $@ $< build/asan/libblackout.a $(LDLIBS) $$(pkg-config --libs cmocka) \
	    $(TEST_LDFLAGS)

unit: $(TESTS)
	@for t in $(TESTS); do echo "== $$t"; $$t || exit 1; done

deps:
	@scripts/install-deps --check >/dev/null 2>&1 || scripts/install-deps

test: deps
	$(MAKE) all asan $(TESTS)
	scripts/check-style
	tests/run.sh

# Speed and memory beside tcpdump and ndpiReader, instructions per packet by stage (RUNS=5 for
# the median of more runs).
bench: deps all build/bench-prefix
	build/bench-prefix
	scripts/bench --runs $(or $(RUNS),3) --stages
	scripts/bench-countries --runs $(or $(RUNS),3) --callgrind

build/bench-prefix: tests/bench_prefix.c $(LIB_OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The detector against the generator's scenario set (SEEDS=1,2,3 for more), and the false
# alarms per 30 days of normal traffic.
eval: deps all
	scripts/eval --seeds $(or $(SEEDS),1) --month

# Sample traffic with a failover and a blackout, through Redis, to alerts, status and a plot.
demo: deps
	@scripts/demo

format:
	clang-format -i src/*.c src/gen/*.[ch] include/*.h tests/*.c tests/fuzz/*.[ch]

check-format:
	clang-format --dry-run --Werror src/*.c src/gen/*.[ch] include/*.h tests/*.c tests/fuzz/*.[ch]

# The house rules the compiler does not keep: no assignment inside a condition, each library's
# headers in its one module, clang-format clean (run by make test).
check-style:
	scripts/check-style

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(ASAN_OBJS:.o=.d) $(TESTS:=.d) $(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d)
