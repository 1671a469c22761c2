#!/usr/bin/env bash
# The detector's scenario set (make eval): every scenario must be judged correct.
. "$(dirname "$0")/lib.sh"
need_gen
if "$ROOT/scripts/eval" --seeds 1 >"$T/eval.txt" 2>&1; then
    ok "make eval: $(tail -1 "$T/eval.txt")"
else
    cat "$T/eval.txt"
    not_ok "make eval failed"
fi
done_testing
