#!/usr/bin/env bash
# The Prometheus endpoint, without a network namespace: the rules and the example scrape
# configuration pass promtool (check and unit tests); a replay into a private Redis serves
# /metrics while it reads a capture from a FIFO: an exposition promtool accepts, with the
# totals of every closed bin exactly (the open bin is not in them), the end of the last
# closed bin, and the Redis writer's families; 404 for other paths, 405 for other
# methods; the README lists every family; bad addresses exit 2 at parse time (command line
# and config file), a port in use exits 1, each with one line.
. "$(dirname "$0")/lib.sh"
need_gen

PROM=$ROOT/scripts/prometheus
if command -v promtool >/dev/null; then
    check "promtool check rules blackout.rules.yml" promtool check rules "$PROM/blackout.rules.yml"
    check "promtool test rules blackout.rules.test.yml" bash -c "cd '$PROM' && promtool test rules blackout.rules.test.yml"
    check "promtool check config prometheus.yml (the example scrape configuration)" promtool check config "$PROM/prometheus.yml"
else
    not_ok "promtool not installed (scripts/install-deps installs Debian's prometheus)"
fi

# get URL [METHOD]: prints "STATUS CONTENT-TYPE" on the first line, then the body
get() {
    python3 - "$1" "${2:-GET}" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1], method=sys.argv[2], data=b"x" if sys.argv[2] == "POST" else None)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        status, headers, body = r.status, r.headers, r.read()
except urllib.error.HTTPError as e:
    status, headers, body = e.code, e.headers, e.read()
print(status, headers.get("Content-Type"), headers.get("Allow", ""))
sys.stdout.write(body.decode())
PY
}

redis_start
# cut short after the outage, in the middle of its traffic: the last bin has country packets
"$GEN" blackout --duration 900 --outage 400:700 --rate 1 --bg 2 --packets 30000 -o "$T/b.pcap" >/dev/null ||
    not_ok "generator"
# the open bin once every packet is read: the one of the last packet
OPEN=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(int(e["last_ts"]) // 10 * 10)' "$T/b.expect.json")
PORT=$(redis_free_port)
URL=http://127.0.0.1:$PORT/metrics
mkfifo "$T/in"
"$BO" replay --redis "$REDIS_URL" --sensor 's"1' --route cn=vlan:100 --route ru=vlan:101 \
    --warmup 60 --json --metrics "127.0.0.1:$PORT" - <"$T/in" >"$T/r.out" 2>"$T/r.err" &
RP=$!
exec 3>"$T/in"
cat "$T/b.pcap" >&3
# every packet read, the last bin still open: the FIFO is not closed yet
read_all() { get "$URL" | grep -q "^blackout_last_bin_end_seconds{.*} $OPEN\$"; }
if wait_for 30 read_all; then
    ok "replay --metrics serves while it runs (every bin closed up to $OPEN)"
else
    not_ok "no exposition up to $OPEN: $(get "$URL" | grep last_bin); $(cat "$T/r.err")"
fi
get "$URL" >"$T/m.txt"
get "$URL/x" >"$T/404.txt"
get "${URL%/metrics}/" >"$T/404b.txt"
get "$URL" POST >"$T/405.txt"
get "$URL" HEAD >"$T/head.txt"
exec 3>&-
wait $RP
RC=$?
[ "$RC" -eq 0 ] && ok "replay exits 0 at the end of the FIFO" || not_ok "replay exit $RC: $(cat "$T/r.err")"
grep -q "^blackout: metrics at $URL\$" "$T/r.err" && ok "the URL is logged: $(head -1 "$T/r.err")" ||
    not_ok "log: $(cat "$T/r.err")"

head -1 "$T/m.txt" | grep -q '^200 text/plain; version=0.0.4; charset=utf-8' && ok "200, Content-Type text/plain; version=0.0.4" ||
    not_ok "status: $(head -1 "$T/m.txt")"
tail -n +2 "$T/m.txt" >"$T/expo.txt"
if command -v promtool >/dev/null; then
    if promtool check metrics <"$T/expo.txt" >"$T/lint" 2>&1; then
        ok "promtool check metrics accepts the exposition ($(grep -vc '^#' "$T/expo.txt") samples)"
    else
        not_ok "promtool check metrics: $(head -5 "$T/lint")"
    fi
fi
[[ $(head -1 "$T/404.txt") == 404* ]] && [[ $(head -1 "$T/404b.txt") == 404* ]] && ok "other paths: 404" ||
    not_ok "other paths: $(head -1 "$T/404.txt"), $(head -1 "$T/404b.txt")"
[[ $(head -1 "$T/405.txt") == "405 "*" GET" ]] && [[ $(head -1 "$T/head.txt") == 405* ]] &&
    ok "POST and HEAD: 405 with Allow: GET" || not_ok "methods: $(head -1 "$T/405.txt"), $(head -1 "$T/head.txt")"

# the scraped totals are the closed bins': every bin line but the last (the open one)
if out=$(python3 - "$T/expo.txt" "$T/r.out" <<'PY'
import json, re, sys
samples = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    m = re.match(r'(\w+)\{(.*)\} (\S+)$', line.strip())
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2)))
    samples.setdefault(m.group(1), []).append((labels, float(m.group(3))))
bins = [json.loads(l) for l in open(sys.argv[2]) if '"type":"bin"' in l]
summary = [json.loads(l) for l in open(sys.argv[2]) if '"type":"summary"' in l][0]
last = max(b["start"] for b in bins)
want, bad = {}, []
for b in bins:
    if b["start"] != last:
        for d in ("in", "out"):
            k = (b["route"], d)
            want[k] = want.get(k, 0) + b["pkts_" + d]
got = {(l["route"], l["direction"]): v for l, v in samples["blackout_packets_total"]}
if got != want:
    bad.append(f"packets_total {got}, closed bins {want}")
if any(l["sensor"] != 's\\"1' or l["country"] != "KP" for l, _ in samples["blackout_packets_total"]):
    bad.append("labels: " + str(samples["blackout_packets_total"][0][0]))
end = samples["blackout_last_bin_end_seconds"][0][1]
if end != last:
    bad.append(f"last_bin_end {end}, open bin starts {last}")
# (the writer's figures are read at most every 100 ms: in a replay that waits for input
# they are as of shortly before its last closed bin)
conn = samples["blackout_redis_connected"][0][1]
if conn != 1 or "blackout_redis_backlog_bins" not in samples or "blackout_redis_flush_seconds_bucket" not in samples:
    bad.append(f"redis families: connected {conn}")
states = {(l["route"], l["state"]): v for l, v in samples["blackout_route_state"]}
if sorted(r for (r, s), v in states.items() if v == 1) != ["*", "cn", "other", "ru"]:
    bad.append(f"one-hot states: {states}")
tot = sum(summary["routes"][r]["pkts_" + d] for r in summary["routes"] for d in ("in", "out"))
if tot <= sum(want.values()):
    bad.append("the open bin should hold country packets")
up = sorted(r for (r, s), v in states.items() if v == 1 and s == "up")
print(f"{sum(want.values())} packets in closed bins, {tot} with the open bin; last bin end {int(end)}; "
      f"routes up: {' '.join(up)}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "scraped totals = the closed bins exactly: $(echo "$out" | head -1)"
else
    not_ok "scraped values: $(echo "$out" | tr '\n' ' ')"
fi

# the README's table lists exactly the families served
grep -o '^# TYPE [a-z_]*' "$T/expo.txt" | cut -d' ' -f3 | sort >"$T/fam.served"
grep -o '^| `blackout_[a-z_]*`' README.md | tr -d '|` ' | sort >"$T/fam.readme"
cmp -s "$T/fam.served" "$T/fam.readme" && ok "README lists the $(wc -l <"$T/fam.served") families served" ||
    not_ok "README families differ: $(diff "$T/fam.served" "$T/fam.readme" | tr '\n' ' ')"

# ---- bad input ----
expect_exit 2 "--metrics without a port" "$BO" replay --no-redis --metrics 127.0.0.1 "$T/b.pcap"
[[ $LAST_ERR == *"--metrics: '127.0.0.1' is not ADDR:PORT"* ]] && ok "the message names the option" || not_ok "message: $LAST_ERR"
expect_exit 2 "--metrics with a host name" "$BO" capture -i lo --metrics localhost:9469
expect_exit 2 "--metrics port out of range" "$BO" replay --no-redis --metrics '[::1]:70000' "$T/b.pcap"
printf 'metrics = 127.0.0.1:99999\n' >"$T/bad.conf"
expect_exit 2 "--metrics in the config file" "$BO" replay --no-redis -c "$T/bad.conf" "$T/b.pcap"
[[ $LAST_ERR == *"bad.conf:1: '127.0.0.1:99999' is not ADDR:PORT"* ]] && ok "the config error names file:line" || not_ok "message: $LAST_ERR"

python3 -c 'import socket,sys,time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(30)' >"$T/held" &
HOLDER=$!
at_exit "kill $HOLDER 2>/dev/null"
wait_for 5 test -s "$T/held"
TAKEN=$(cat "$T/held")
expect_exit 1 "--metrics on a port in use (replay)" "$BO" replay --no-redis --metrics "127.0.0.1:$TAKEN" "$T/b.pcap"
[[ $LAST_ERR == "blackout: --metrics 127.0.0.1:$TAKEN: cannot listen: Address already in use" ]] &&
    ok "it says which address and why" || not_ok "message: $LAST_ERR"
printf 'metrics = 127.0.0.1:%s\n' "$TAKEN" >"$T/taken.conf"
expect_exit 1 "--metrics from the config file, port in use" "$BO" replay --no-redis -c "$T/taken.conf" "$T/b.pcap"
kill $HOLDER 2>/dev/null
done_testing
