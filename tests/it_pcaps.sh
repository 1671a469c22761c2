#!/usr/bin/env bash
# Replays every capture under ../shared/pcaps (tcpdump's malformed-packet corpus and nDPI's
# real traffic) through build/asan/blackout with every address as country traffic: no
# sanitizer report and no leak; exit 0, or exit 1 with exactly one line on stderr (a link
# type we do not read, a file cut short).
. "$(dirname "$0")/lib.sh"

if [ ! -d "$SHARED/pcaps" ]; then
    skip "$SHARED/pcaps is absent: real-capture replay not run"
    done_testing
fi
printf '0.0.0.0/0\n::/0\n' >"$T/all.txt"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
files=0 clean=0 refused=0 bad=0
for f in "$SHARED"/pcaps/tcpdump/* "$SHARED"/pcaps/ndpi/*; do
    case $f in *.pcap | *.pcapng | *.cap) ;; *) continue ;; esac
    files=$((files + 1))
    timeout 120 "$ASAN" replay -q --no-redis --prefixes "$T/all.txt" "$f" >/dev/null 2>"$T/err"
    rc=$?
    lines=$(wc -l <"$T/err")
    if grep -q "Sanitizer\|runtime error\|LeakSanitizer" "$T/err" || [ $rc -gt 1 ]; then
        bad=$((bad + 1))
        not_ok "$f: exit $rc: $(head -c 600 "$T/err")"
    elif [ $rc -eq 1 ] && [ "$lines" -ne 1 ]; then
        bad=$((bad + 1))
        not_ok "$f: exit 1 with $lines stderr lines"
    elif [ $rc -eq 1 ]; then
        refused=$((refused + 1))
    else
        clean=$((clean + 1))
    fi
done
echo "# replayed $files captures: $clean clean, $refused refused with one line, $bad failures"
[ "$bad" -eq 0 ] && ok "all ${files} captures: no sanitizer report, no crash"
done_testing
