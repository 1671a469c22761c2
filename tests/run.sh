#!/usr/bin/env bash
# Runs every test: the cmocka unit tests (built with ASan/UBSan), then the integration
# scripts tests/it_*.sh. ONLY=pattern runs the matching ones only. Exit 1 if any failed.
set -u
cd "$(dirname "$0")/.."

only=${ONLY:-}
passed=0
failed=()
run() {
    local name=$1
    shift
    [ -n "$only" ] && [[ $name != *$only* ]] && return
    echo "=== $name"
    local t0=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: passed ($((SECONDS - t0)) s)"
    else
        failed+=("$name")
        echo "=== $name: FAILED ($((SECONDS - t0)) s)"
    fi
}

for t in build/tests/test_*; do
    [[ $t == *.d ]] && continue
    run "$(basename "$t")" "$t"
done
for s in tests/it_*.sh; do
    run "$(basename "$s" .sh)" bash "$s"
done

echo
echo "test suites passed: $passed, failed: ${#failed[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    printf '  failed: %s\n' "${failed[@]}"
    exit 1
fi
