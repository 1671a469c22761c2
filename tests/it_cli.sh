#!/usr/bin/env bash
# Command line: help, version, exit codes 0/1/2 and one-line errors naming the problem.
. "$(dirname "$0")/lib.sh"

check "--help exits 0 and lists replay" bash -c "$BO --help | grep -q 'blackout replay'"
check "replay --help lists --route" bash -c "$BO replay --help | grep -q -- '--route NAME=MATCH'"
check "capture --help lists -i, --buffer-mb and the signals" bash -c "$BO capture --help | grep -q -- '-i, --interface IFACE' && $BO capture --help | grep -q -- --buffer-mb && $BO capture --help | grep -q SIGHUP"
check "the README's option table is the one --help-markdown prints (scripts/readme-options)" scripts/readme-options --check "$BO"
check "--version" bash -c "$BO --version | grep -q '^blackout [0-9]'"

expect_exit 2 "no subcommand" "$BO"
expect_exit 2 "unknown subcommand" "$BO" replya
expect_exit 2 "unknown option" "$BO" replay --bni 3 x.pcap
expect_exit 2 "bad number" "$BO" replay --bin 0 x.pcap
expect_exit 2 "no files" "$BO" replay
expect_exit 2 "--down-below 0" "$BO" replay --down-below 0 x.pcap
expect_exit 2 "--down-below 1" "$BO" replay --down-below 1 x.pcap
expect_exit 2 "--up-above 2" "$BO" replay --up-above 2 x.pcap
expect_exit 2 "--up-above below --down-below" "$BO" replay --down-below 0.3 --up-above 0.2 x.pcap
[[ $LAST_ERR == "blackout: --up-above 0.2 must be above --down-below 0.3" ]] && ok "the pair's error names both" || not_ok "pair error: $LAST_ERR"
printf 'up-above = 0.25\n' >"$T/u.conf"
expect_exit 2 "--up-above equal to --down-below from a config file" "$BO" detect -c "$T/u.conf"
expect_exit 2 "--down-below not a number" "$BO" detect --down-below half
expect_exit 2 "bad route rule" "$BO" replay --route cn=vlna:10 x.pcap
[[ $LAST_ERR == *"unknown match 'vlna'"* ]] && ok "route error names the match" || not_ok "route error: $LAST_ERR"
expect_exit 2 "unknown country" "$BO" replay --country XX x.pcap
printf '175.45.176.0/22\n175.45.176.0/33\n' >"$T/kp.txt"
expect_exit 2 "bad prefix file" "$BO" replay --prefixes "$T/kp.txt" x.pcap
[[ $LAST_ERR == "blackout: $T/kp.txt:2: bad prefix '175.45.176.0/33'" ]] && ok "prefix error names file:line" || not_ok "prefix error: $LAST_ERR"
printf 'bin = 10\nroute = cn=vlna:1\n' >"$T/b.conf"
expect_exit 2 "bad route in config file" "$BO" replay -c "$T/b.conf" x.pcap
[[ $LAST_ERR == "blackout: $T/b.conf:2: route 'cn=vlna:1': unknown match 'vlna'"* ]] && ok "route error names config file:line" || not_ok "route config error: $LAST_ERR"
printf 'bni = 10\n' >"$T/c.conf"
expect_exit 2 "unknown key in config file" "$BO" replay -c "$T/c.conf" x.pcap
[[ $LAST_ERR == "blackout: $T/c.conf:1: unknown option 'bni'" ]] && ok "config error names file:line" || not_ok "config error: $LAST_ERR"

expect_exit 1 "missing capture file" "$BO" replay --no-redis "$T/none.pcap"
printf 'not a capture at all, just text\n' >"$T/text.pcap"
expect_exit 1 "a file that is not a capture" "$BO" replay --no-redis "$T/text.pcap"
# A pcap header with link type 105 (IEEE 802.11): one line naming the file and the type.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x69\x00\x00\x00' >"$T/wifi.pcap"
expect_exit 1 "unsupported link type" "$BO" replay --no-redis "$T/wifi.pcap"
[[ $LAST_ERR == *"$T/wifi.pcap: unsupported link type IEEE802_11 (105)"* ]] && ok "link type error names file and type" || not_ok "link error: $LAST_ERR"
# scripts/bench: --help prints the usage (it once ran the whole benchmark), bad arguments exit 2.
if "$ROOT/scripts/bench" --help >"$T/bench-help" 2>&1 && grep -q '^usage: scripts/bench' "$T/bench-help"; then
    ok "scripts/bench --help prints the usage"
else
    not_ok "scripts/bench --help: $(head -3 "$T/bench-help")"
fi
expect_exit 2 "scripts/bench unknown workload" "$ROOT/scripts/bench" --only foo
expect_exit 2 "scripts/bench unknown option" "$ROOT/scripts/bench" --rusn 3
# The other scripts: --help prints the usage and exits 0 without doing the work; bad arguments
# exit 2 with one line.
for s in bench-countries demo eval install-deps live-loss readme-options redis-memory; do
    if "$ROOT/scripts/$s" --help >"$T/help" 2>&1 && [ -s "$T/help" ]; then
        ok "scripts/$s --help exits 0 with its usage"
    else
        not_ok "scripts/$s --help: $(head -3 "$T/help")"
    fi
done
expect_exit 2 "scripts/demo refuses arguments" "$ROOT/scripts/demo" now
expect_exit 2 "scripts/eval unknown scenario" "$ROOT/scripts/eval" --only nosuch
expect_exit 2 "scripts/live-loss bad rate" "$ROOT/scripts/live-loss" fast
expect_exit 2 "scripts/install-deps unknown argument" "$ROOT/scripts/install-deps" --yes
expect_exit 2 "scripts/bench-countries unknown option" "$ROOT/scripts/bench-countries" --rusn 3
expect_exit 2 "scripts/readme-options unknown option" "$ROOT/scripts/readme-options" --chek
expect_exit 2 "scripts/redis-memory bad hours" "$ROOT/scripts/redis-memory" --hours 1.5
done_testing
