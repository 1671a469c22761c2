#!/usr/bin/env bash
# The libFuzzer harnesses (tests/fuzz/): builds them (make fuzz) and their seed corpora,
# replays every committed regression input (tests/fuzz/regress/HARNESS/*) through its
# harness, then fuzzes each harness for FUZZ_SECONDS (default 60), one at a time, and
# reports executions and coverage. A crash, leak or timeout fails the harness; its input is
# kept in build/fuzz/artifacts/. Skips when clang's fuzzer runtime is missing.
. "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
HARNESSES=(fuzz_packet fuzz_prefix fuzz_config fuzz_redis_url fuzz_json)
ARTIFACTS=$ROOT/build/fuzz/artifacts

printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return 0; }\n' \
    >"$T/probe.c"
if ! command -v clang >/dev/null; then
    skip "clang is not installed (scripts/install-deps): no fuzzing"
    done_testing
fi
if ! clang -fsanitize=fuzzer,address,undefined -o "$T/probe" "$T/probe.c" 2>"$T/probe.err"; then
    skip "clang's fuzzer runtime is missing (libclang-rt-14-dev): $(head -1 "$T/probe.err")"
    done_testing
fi
if ! nice -n 10 "${MAKE:-make}" -s -j2 fuzz >"$T/make.out" 2>&1; then
    not_ok "make fuzz: $(grep -m1 error "$T/make.out")"
    done_testing
fi
check "seed corpora written" tests/fuzz/seeds "$T/seeds"
mkdir -p "$ARTIFACTS"

FUZZ_OPTS=(-rss_limit_mb=2048 -timeout=10)

# replay HARNESS: every committed regression input of the harness, in one run.
replay() {
    local h=$1 inputs
    inputs=(tests/fuzz/regress/"$h"/*)
    if [ ! -e "${inputs[0]}" ]; then
        ok "$h: no regression inputs yet"
        return
    fi
    if build/fuzz/"$h" "${FUZZ_OPTS[@]}" "${inputs[@]}" >"$T/$h.replay" 2>&1; then
        ok "$h: ${#inputs[@]} regression input(s) replayed clean"
    else
        not_ok "$h: regression replay: $(grep -m1 -E 'ERROR|SUMMARY' "$T/$h.replay")"
    fi
}

# fuzz HARNESS: FUZZ_SECONDS of fuzzing from the seeds (new inputs go to a scratch corpus).
fuzz() {
    local h=$1 log=$T/$h.log rc execs cov ft corpus
    mkdir -p "$T/corpus-$h"
    nice -n 10 build/fuzz/"$h" "$T/corpus-$h" "$T/seeds/$h" -dict="tests/fuzz/$h.dict" \
        "${FUZZ_OPTS[@]}" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
        -artifact_prefix="$ARTIFACTS/$h-" >"$log" 2>&1
    rc=$?
    execs=$(grep -oE 'stat::number_of_executed_(units|runs): *[0-9]+' "$log" | grep -oE '[0-9]+$')
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE ' ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    corpus=$(find "$T/corpus-$h" "$T/seeds/$h" -type f | wc -l)
    if [ "$rc" -eq 0 ] && ! grep -q '^==[0-9]*==.*ERROR' "$log"; then
        ok "$h: ${FUZZ_SECONDS} s, ${execs:-?} execs, cov ${cov:-?}, ft ${ft:-?}, corpus $corpus"
    else
        not_ok "$h: exit $rc after ${execs:-?} execs: $(grep -m1 -E 'ERROR|SUMMARY' "$log")"
        grep -E "Test unit written to" "$log" | sed 's/^/# /'
    fi
}

for h in "${HARNESSES[@]}"; do
    replay "$h"
done
for h in "${HARNESSES[@]}"; do
    fuzz "$h"
done
done_testing
