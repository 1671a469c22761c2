#!/usr/bin/env bash
# Protocol parity with ndpiReader (the same nDPI 4.2) over ../shared/pcaps/ndpi, every address
# treated as country traffic: the per-protocol packet counts summed over all files must agree
# for at least 95% of ndpiReader's packets (tests/ndpi_parity.py computes and prints it).
. "$(dirname "$0")/lib.sh"

if [ ! -d "$SHARED/pcaps/ndpi" ]; then
    skip "$SHARED/pcaps/ndpi is absent: protocol parity not measured"
    done_testing
fi
if ! command -v ndpiReader >/dev/null; then
    not_ok "ndpiReader not installed (scripts/install-deps installs libndpi-bin)"
    done_testing
fi
if py "$ROOT/tests/ndpi_parity.py" "$BO" "$SHARED/pcaps/ndpi" --min 95 --show 5 \
    >"$T/parity.txt" 2>&1; then
    sed 's/^/# /' "$T/parity.txt"
    ok "$(tail -1 "$T/parity.txt")"
else
    cat "$T/parity.txt"
    not_ok "protocol parity below 95%"
fi
done_testing
