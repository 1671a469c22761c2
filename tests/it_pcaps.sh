#!/usr/bin/env bash
# Replays every capture under ../shared/pcaps (tcpdump's malformed-packet corpus and nDPI's
# real traffic) through build/asan/blackout with every address as country traffic: no
# sanitizer report and no leak; exit 0, or exit 1 with exactly one line on stderr (a link
# type we do not read, a file cut short). Two files run at a time.
. "$(dirname "$0")/lib.sh"

if [ ! -d "$SHARED/pcaps" ]; then
    skip "$SHARED/pcaps is absent: real-capture replay not run"
    done_testing
fi
printf '0.0.0.0/0\n::/0\n' >"$T/all.txt"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
export ASAN T

# One capture: prints "clean", "refused" or "FAIL file: why".
one() {
    local f=$1 err
    err=$(mktemp "$T/err.XXXXXX")
    # The shared captures are small: a smaller flow table keeps sanitizer start-up short.
    timeout 120 "$ASAN" replay -q --no-redis --max-flows 65536 --prefixes "$T/all.txt" "$f" \
        >/dev/null 2>"$err"
    local rc=$? lines
    lines=$(wc -l <"$err")
    if grep -q "Sanitizer\|runtime error" "$err" || [ $rc -gt 1 ]; then
        echo "FAIL $f: exit $rc: $(head -c 600 "$err" | tr '\n' ' ')"
    elif [ $rc -eq 1 ] && [ "$lines" -ne 1 ]; then
        echo "FAIL $f: exit 1 with $lines stderr lines"
    elif [ $rc -eq 1 ]; then
        echo "refused"
    else
        echo "clean"
    fi
    rm -f "$err"
}
export -f one

find "$SHARED/pcaps/tcpdump" "$SHARED/pcaps/ndpi" -type f \
    \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z |
    xargs -0 -n 1 -P 2 bash -c 'one "$0"' >"$T/results"
files=$(wc -l <"$T/results")
clean=$(grep -c '^clean$' "$T/results")
refused=$(grep -c '^refused$' "$T/results")
grep '^FAIL' "$T/results" | while read -r line; do not_ok "$line"; done
bad=$(grep -c '^FAIL' "$T/results")
echo "# replayed $files captures: $clean clean, $refused refused with one line, $bad failures"
if [ "$bad" -eq 0 ] && [ "$files" -gt 0 ]; then
    ok "all $files captures: no sanitizer report, no leak, no crash"
else
    not_ok "$bad of $files captures failed"
fi
done_testing
