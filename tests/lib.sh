# Shared helpers for the integration tests (sourced). Every test gets a private temporary
# directory that is removed on exit, and reports "ok - ..." / "not ok - ..." lines.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BO=$ROOT/build/blackout
ASAN=$ROOT/build/asan/blackout
GEN=$ROOT/build/blackout-gen
SHARED=$ROOT/../shared
T=$(mktemp -d "${TMPDIR:-/tmp}/blackout-test.XXXXXX")
_cleanups=()
_failures=0
_cleanup() {
    local c
    for c in "${_cleanups[@]}"; do eval "$c" || true; done
    rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM
at_exit() { _cleanups+=("$1"); }

ok() { echo "ok - $*"; }
not_ok() {
    echo "not ok - $*"
    _failures=$((_failures + 1))
}
skip() { echo "# skip: $*"; }
done_testing() {
    if [ "$_failures" -gt 0 ]; then
        echo "$_failures check(s) failed"
        exit 1
    fi
    exit 0
}

# check "description" command...: runs the command, ok if it exits 0.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_exit CODE "description" command...: ok if the command exits with CODE and writes
# exactly one line to stderr; the line is kept in $LAST_ERR.
expect_exit() {
    local want=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    LAST_ERR=$(cat "$T/err")
    local lines
    lines=$(wc -l <"$T/err")
    if [ "$rc" -eq "$want" ] && [ "$lines" -eq 1 ]; then
        ok "$what (exit $rc: $LAST_ERR)"
    else
        not_ok "$what: exit $rc (want $want), $lines stderr line(s): $LAST_ERR"
    fi
}

# A JSON checker in Python (Debian's python3 is a test dependency).
py() { python3 "$@"; }
