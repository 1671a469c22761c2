#!/usr/bin/env bash
# The demo (scripts/demo, `make demo`) into the test's directory: exit 0, the alerts as the
# consumer receives them (a country_down among them), the status table, a real PNG of a
# sensible size, no redis-server left behind; the replay progress line (with --progress, on
# a terminal, never otherwise); plot-timeline's usage and errors.
. "$(dirname "$0")/lib.sh"
need_gen
for cmd in redis-server gnuplot python3; do
    if ! command -v "$cmd" >/dev/null; then
        skip "the demo needs $cmd (scripts/install-deps)"
        done_testing
    fi
done

# ---- the demo ----

redis_pids() { pgrep -x redis-server | sort; }
BEFORE=$(redis_pids)
t0=$SECONDS
DEMO_DIR=$T/demo TMPDIR=$T scripts/demo >"$T/demo.out" 2>"$T/demo.err"
rc=$?
echo "# demo: exit $rc in $((SECONDS - t0)) s"
[ "$rc" -eq 0 ] && ok "demo exits 0" || not_ok "demo: exit $rc: $(tail -5 "$T/demo.err")"

# the alerts step: what `blackout alerts --group demo --consumer demo` printed
sed -n '/^[0-9]*\. Alerts, as consumer/,/^[0-9]*\. /p' "$T/demo.out" >"$T/alerts-step"
grep -Eq '^ +.* country_down +KP/\* .*cause internal' "$T/alerts-step" &&
    ok "the consumer received the country_down (cause internal)" ||
    not_ok "no country_down in the alerts step: $(cat "$T/alerts-step")"
grep -Eq '^ +.* route_down +KP/cn ' "$T/alerts-step" && grep -Eq '^ +.* route_up +KP/cn ' "$T/alerts-step" &&
    ok "and the failover of cn (route_down, route_up)" || not_ok "no failover alerts: $(cat "$T/alerts-step")"
cmp -s <(sed 's/^   //' "$T/alerts-step" | grep -E '^[0-9]{4}-') "$T/demo/alerts.txt" &&
    ok "the printed alerts are the consumer's output" || not_ok "printed alerts differ from alerts.txt"

grep -Eq '^ +country KP: [0-9.]+ pkt/s$' "$T/demo.out" &&
    grep -Eq '^ +SENSOR +ROUTE +STATE +BASELINE_PPS +CURRENT_PPS +SINCE +LAST_BIN +ALIVE$' "$T/demo.out" &&
    ok "status prints the country's block and the table header" || not_ok "no status block"
grep -Eq '^ +demo +\* +up ' "$T/demo.out" && grep -Eq '^ +demo +cn +up ' "$T/demo.out" &&
    ok "status: the country and cn are up again" || not_ok "status rows"
grep -q $'\r''replay 100%' "$T/demo.err" && ok "the replay step shows its progress line" ||
    not_ok "no progress line in the demo's stderr"

PNG=$T/demo/timeline.png
grep -q "demo/timeline.png" "$T/demo.out" && ok "the PNG's path is printed" || not_ok "PNG path not printed"
if [ -f "$PNG" ]; then
    python3 - "$PNG" <<'PY' && ok "timeline.png: PNG magic, IHDR at least 800x400, > 10 kB" ||
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "magic"
assert b[12:16] == b"IHDR", "IHDR"
w, h = struct.unpack(">II", b[16:24])
print(f"# timeline.png: {w}x{h}, {len(b)} bytes")
assert w >= 800 and h >= 400 and len(b) > 10000, (w, h, len(b))
PY
        not_ok "timeline.png is not a sensible PNG"
else
    not_ok "no $PNG"
fi
head -1 "$T/demo/bins.csv" | grep -q '^sensor,country,route,start,len,pkts_in,pkts_out' &&
    ok "bins.csv has the export header" || not_ok "bins.csv"
grep -q '"event":"country_down"' "$T/demo/alerts.jsonl" && ok "alerts.jsonl holds the events" ||
    not_ok "alerts.jsonl"
# every route_down has its route_up: cn, down alone a bin before the country, comes back
# with it (a consumer must not see it down for ever)
python3 - "$T/demo/alerts.jsonl" <<'PY' && ok "every route_down is followed by its route_up" ||
import json, sys
down = set()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "route_down":
        down.add(e["route"])
    elif e["event"] == "route_up":
        down.discard(e["route"])
assert not down, f"still down: {down}"
PY
    not_ok "a route_down without its route_up: $(cat "$T/demo/alerts.txt")"
# the last bin of each route, cut short by the end of the capture, is marked partial (the
# plot leaves it out rather than draw a false dip)
python3 - "$T/demo/bins.csv" <<'PY' && ok "bins.csv marks the cut-short last bins partial" ||
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
last = {}
for r in rows:
    last[r["route"]] = max(last.get(r["route"], 0), int(r["start"]))
flagged = {(r["route"], int(r["start"])) for r in rows if r["partial"] == "1"}
assert flagged and flagged <= set(last.items()), flagged
PY
    not_ok "partial column of bins.csv"

# the last step: a sensor watching every country of a registry file; KP's blackout is the only
# alert, its neighbours are up, the countries without traffic are nowhere
sed -n '/^[0-9]*\. Every country of a registry file/,/^Done/p' "$T/demo.out" >"$T/world-step"
python3 - "$T/world-step" <<'PY' && ok "every country: KP's country_down the only alert, CN JP KR MN up, TW HK absent" ||
import re, sys
text = open(sys.argv[1]).read()
alerts = re.findall(r"^ +\S+ \S+ +(\w+) +(\S+) +sensor ixp", text, re.M)
assert alerts == [("country_down", "KP/*")], alerts
blocks = dict(re.findall(r"^ +country (\w\w): .*\n.*\n +ixp +\* +(\w+)", text, re.M))
assert blocks == {"KP": "down", "CN": "up", "JP": "up", "KR": "up", "MN": "up"}, blocks
PY
    not_ok "every-country step: $(cat "$T/world-step")"
[ -s "$T/demo/delegated-apnic-sample.txt" ] && [ -s "$T/demo/world.pcap" ] &&
    ok "the sample registry file and world.pcap are left in the demo's folder" || not_ok "world files"

# no redis-server of the demo left: its pid gone, nothing new on its port, its directory gone
DPID=$(sed -n 's/.*(pid \([0-9]*\);.*/\1/p' "$T/demo.out")
DPORT=$(sed -n 's|.*redis://127.0.0.1:\([0-9]*\)/0 (pid.*|\1|p' "$T/demo.out")
LEFT=$(comm -13 <(echo "$BEFORE") <(redis_pids) | while read -r p; do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q ":$DPORT" && echo "$p"
done)
if [ -n "$DPID" ] && [ -n "$DPORT" ] && ! kill -0 "$DPID" 2>/dev/null && [ -z "$LEFT" ] &&
    ! redis-cli -p "$DPORT" PING >/dev/null 2>&1; then
    ok "no redis-server of the demo left running (pid $DPID, port $DPORT)"
else
    not_ok "redis-server left: pid '$DPID' port '$DPORT' still: $LEFT"
fi
ls -d "$T"/blackout-demo.* >/dev/null 2>&1 && not_ok "the demo's redis directory was left" ||
    ok "the demo's redis directory was removed"

# a demo stopped half-way cleans up too (SIGTERM: a background job ignores SIGINT)
DEMO_DIR=$T/demo2 TMPDIR=$T scripts/demo >"$T/demo2.out" 2>&1 &
DEMO=$!
wait_match "$T/demo2.out" 'Generating' 60 || not_ok "second demo did not get to its redis-server"
PID2=$(sed -n 's/.*(pid \([0-9]*\);.*/\1/p' "$T/demo2.out")
kill -TERM "$DEMO"
wait "$DEMO"
rc=$?
sleep 0.2
if [ -n "$PID2" ] && ! kill -0 "$PID2" 2>/dev/null && ! ls -d "$T"/blackout-demo.* >/dev/null 2>&1; then
    ok "a demo stopped by SIGTERM (exit $rc) stops its redis-server and removes its directory"
else
    not_ok "after SIGTERM: redis pid '$PID2' alive or directory left"
fi

# ---- the progress line ----

"$GEN" golden -o "$T/g.pcap" >/dev/null || not_ok "generator"
R=("$BO" replay --no-redis --route cn=vlan:100 --route ru=vlan:101)
"${R[@]}" --progress "$T/g.pcap" >/dev/null 2>"$T/p.err"
LINE=$(tr '\r' '\n' <"$T/p.err" | tail -1)
[[ $LINE =~ ^replay\ 100%\ \ [0-9.]+\ [KM]iB\ of\ [0-9.]+\ [KM]iB\ \ [0-9,]+\ packets.*\ in\ [0-9.]+\ s$ ]] &&
    [ "$(tail -c1 "$T/p.err" | od -An -c | tr -d ' ')" = '\n' ] &&
    ok "--progress: $LINE" || not_ok "--progress printed: $(od -c "$T/p.err" | head -5)"
"${R[@]}" --progress - <"$T/g.pcap" >/dev/null 2>"$T/p.err"
LINE=$(tr '\r' '\n' <"$T/p.err" | tail -1)
[[ $LINE =~ ^replay\ \ [0-9.]+\ [KM]iB\ \ [0-9,]+\ packets ]] && [[ $LINE != *%* ]] &&
    ok "--progress on stdin: bytes and packets, no total: $LINE" || not_ok "stdin progress: $LINE"
for args in "" "--progress --no-progress" "-q"; do
    # shellcheck disable=SC2086
    "${R[@]}" $args "$T/g.pcap" >/dev/null 2>"$T/p.err"
    [ ! -s "$T/p.err" ] && ok "stderr not a terminal, '${args:-no option}': no progress line" ||
        not_ok "'$args' printed: $(head -c 200 "$T/p.err")"
done
# a message logged while the line is shown starts on a line of its own (a capture cut short,
# arriving slowly on stdin)
head -c $(($(stat -c %s "$T/g.pcap") * 2 / 3)) "$T/g.pcap" >"$T/cut.pcap"
pace "$T/cut.pcap" 1000000 0.05 | "${R[@]}" --progress - >/dev/null 2>"$T/p.err"
python3 - "$T/p.err" <<'PY' && ok "an error during the progress line starts on its own line" ||
import sys
text = open(sys.argv[1], newline="").read()  # keep the \r
lines = text.split("\n")
err = [l for l in lines if "blackout:" in l]
assert len(err) == 1 and err[0].startswith("blackout: stdin: truncated"), lines
assert "\rreplay" in text[: text.index("blackout:")], "no progress line before the error"
assert text.endswith(" s\n"), "the last progress line is not ended"
PY
    not_ok "progress and error mixed: $(od -c "$T/p.err" | tail -8)"
# on a terminal it is on by default, and --no-progress or -q silence it
tty_err() { script -qec "$* 2>&1 >/dev/null" /dev/null </dev/null; }
tty_err "${R[*]}" "$T/g.pcap" | grep -q 'replay 100%' && ok "on a terminal: a progress line by default" ||
    not_ok "no progress line on a terminal"
for args in --no-progress -q; do
    [ -z "$(tty_err "${R[*]}" "$args" "$T/g.pcap" | tr -d '\r\n')" ] &&
        ok "on a terminal, $args: no progress line" || not_ok "on a terminal, $args printed"
done

# ---- plot-timeline: usage and errors ----

scripts/plot-timeline --help | grep -q '^usage: plot-timeline' && ok "plot-timeline --help prints its usage" ||
    not_ok "plot-timeline --help"
expect_exit 2 "plot-timeline without -o" scripts/plot-timeline "$T/demo/bins.csv"
printf 'a,b,c\n1,2,3\n' >"$T/bad.csv"
expect_exit 1 "plot-timeline on a CSV that is not an export" scripts/plot-timeline -o "$T/x.png" "$T/bad.csv"
[[ $LAST_ERR == *"bad.csv: not the CSV of 'blackout export --csv'"* ]] && ok "the error names the file" ||
    not_ok "error: $LAST_ERR"
expect_exit 1 "plot-timeline on a missing file" scripts/plot-timeline -o "$T/x.png" "$T/nosuch.csv"
printf 'not json\n' >"$T/bad.jsonl"
expect_exit 1 "plot-timeline with an alerts file that is not JSON lines" \
    scripts/plot-timeline --alerts "$T/bad.jsonl" -o "$T/x.png" "$T/demo/bins.csv"
[[ $LAST_ERR == *"bad.jsonl:1: not a JSON line"* ]] && ok "the error names file and line" || not_ok "error: $LAST_ERR"
# the replay's own --json output serves as the alerts file (bins and summary skipped); the
# bins as CSV with the country column, and without it (an export of an earlier version)
"${R[@]}" --json "$T/g.pcap" >"$T/g.json" 2>/dev/null
to_csv() {
    python3 -c '
import csv, json, sys
keys = sys.argv[2].split(",")
w = csv.writer(sys.stdout)
w.writerow(keys)
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "bin":
        w.writerow([o[k] for k in keys])
' "$T/g.json" "$1"
}
to_csv sensor,country,route,start,len,pkts_in,pkts_out,bytes_in,bytes_out,flows_new,hosts,ctl_pkts,drops >"$T/g.csv"
check "plot-timeline takes replay --json as the alerts file" \
    scripts/plot-timeline --alerts "$T/g.json" -o "$T/g.png" "$T/g.csv"
to_csv sensor,route,start,len,pkts_in,pkts_out,bytes_in,bytes_out,flows_new,hosts,ctl_pkts,drops >"$T/old.csv"
check "plot-timeline reads an export without the country column" \
    scripts/plot-timeline --alerts "$T/g.json" -o "$T/old.png" "$T/old.csv"
done_testing
