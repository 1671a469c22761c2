#!/usr/bin/env bash
# The detector's scenario set, its quick part (make eval runs them all, and the long ones):
# every scenario must be judged correct.
. "$(dirname "$0")/lib.sh"
need_gen
if "$ROOT/scripts/eval" --seeds 1 --quick >"$T/eval.txt" 2>&1; then
    ok "scripts/eval --quick: $(tail -1 "$T/eval.txt")"
else
    cat "$T/eval.txt"
    not_ok "scripts/eval --quick failed"
fi
done_testing
