#!/usr/bin/env bash
# Live capture scraped by a real Prometheus: a sensor on a veth pair serves --metrics while
# tcpreplay sends a generated blackout (every route silent from 100 s to 180 s of 250 s,
# ten times faster than recorded, one-second bins). Prometheus (Debian's, in the same
# network namespace, a generated config with a one-second scrape interval, the project's
# rule file, its TSDB in the test's directory) scrapes it throughout. Afterwards its HTTP
# API gives blackout_packets_total equal to the sensor's exact totals (and to the
# generator's, when the kernel dropped nothing before the capture socket), and a range
# query shows blackout_route_state{route="*",state="down"} at 1 during the outage only;
# the rule BlackoutCountryDown fired. A second sensor asking for the same port exits 1; a
# sensor with --user serves on a privileged port it bound as root.
. "$(dirname "$0")/lib.sh"
need_gen
need_netns
if ! command -v prometheus >/dev/null; then
    not_ok "prometheus not installed (scripts/install-deps installs Debian's prometheus)"
    done_testing
fi
redis_start "unixsocket $T/redis/redis.sock" "unixsocketperm 700"

SPEED=10
MPORT=9469 # inside the test's own network namespace: nothing else listens there
PPORT=9090
"$GEN" blackout --duration 250 --outage 100:180 -o "$T/b.pcap" >/dev/null || not_ok "generator"
cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
rule_files:
  - $ROOT/scripts/prometheus/blackout.rules.yml
scrape_configs:
  - job_name: blackout
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF
ip netns exec "$NETNS" prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$T/prom.log" 2>&1 &
PROM_PID=$!
at_exit "kill $PROM_PID 2>/dev/null; wait $PROM_PID 2>/dev/null"

# api PATH [PARAM=VALUE]...: the JSON of a Prometheus API call (GET), from inside the namespace
api() {
    in_ns python3 - "http://127.0.0.1:$PPORT" "$@" <<'PY'
import sys, urllib.parse, urllib.request
base, path, params = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
with urllib.request.urlopen(url, timeout=5) as r:
    sys.stdout.write(r.read().decode())
PY
}
# value QUERY: the instant value of a query with one result, or nothing
value() {
    api /api/v1/query query="$1" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r) == 1 else "")'
}
ready() { api /-/ready >/dev/null 2>&1; }
wait_for 30 ready || not_ok "Prometheus did not start: $(tail -3 "$T/prom.log")"

# the sensor starts right before the traffic: idle bins before any traffic would teach its
# detector a near-zero baseline at this warm-up of 5 s
live_start --redis "unix://$T/redis/redis.sock" --sensor s1 --route cn=vlan:100 \
    --route ru=vlan:101 --bin 1 --warmup 5 --json --metrics "127.0.0.1:$MPORT"
DROPS0=$(kernel_drops)
T0=$(date +%s.%N)
send_pcap "$T/b.pcap" -T nano -x $SPEED
END=$(date +%s.%N)
echo "# tcpreplay: $(grep -Eo 'Actual: .* seconds' "$T/tcpreplay.out")"
scraped() { [ "$(value 'up{job="blackout"}')" = 1 ]; }
if wait_for 30 scraped; then
    ok "Prometheus scrapes the sensor (up == 1)"
else
    not_ok "Prometheus does not scrape the sensor: $(tail -3 "$T/prom.log")"
fi

grep -q "metrics at http://127.0.0.1:$MPORT/metrics" "$T/live.err" && ok "capture serves http://127.0.0.1:$MPORT/metrics" ||
    not_ok "no metrics line: $(cat "$T/live.err")"

expect_exit 1 "a second sensor on the same --metrics port" \
    ip netns exec "$NETNS" "$BO" capture -i vb --no-redis --metrics "127.0.0.1:$MPORT"
[[ $LAST_ERR == *"--metrics 127.0.0.1:$MPORT: cannot listen: Address already in use" ]] &&
    ok "it says so in one line" || not_ok "message: $LAST_ERR"

DROPS=$(($(kernel_drops) - DROPS0))
# the tick closes every bin after the traffic; then the sensor goes blind
blind() { [ "$(value 'blackout_sensor_blind{sensor="s1"}')" = 1 ]; }
wait_for 30 blind && ok "Prometheus saw blackout_sensor_blind go to 1 after the traffic" ||
    not_ok "no blackout_sensor_blind == 1 in Prometheus"
sleep 1.5 # a scrape after the last bin
api /api/v1/query query='blackout_packets_total' >"$T/totals.json"
api /api/v1/query_range query='blackout_route_state{route="*",state="down"}' \
    start="$T0" end="$(date +%s.%N)" step=0.5 >"$T/down.json"
api /api/v1/query_range query='ALERTS{alertname="BlackoutCountryDown",alertstate="firing"}' \
    start="$T0" end="$(date +%s.%N)" step=0.5 >"$T/alerts.json"
in_ns python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:'$MPORT'/metrics").read().decode(), end="")' >"$T/expo.txt"
live_stop INT
[ "$LIVE_RC" -eq 0 ] && ok "SIGINT: exit 0" || not_ok "SIGINT: exit $LIVE_RC"
python3 - "$T/live.out" "$T0" <<'PY'
import json, sys
t0 = float(sys.argv[2])
ev = [json.loads(l) for l in open(sys.argv[1]) if '"type":"event"' in l]
print("# events:", "; ".join(f"{e['event']} {e['route']} since {e['since'] - t0:+.0f} s, "
                             f"detected {e['detected'] - t0:+.0f} s" for e in ev))
PY
grep -q '^blackout_capture_drops_total{sensor="s1",interface="vb"} ' "$T/expo.txt" &&
    ok "capture drops per interface: $(grep '^blackout_capture_drops_total' "$T/expo.txt")" ||
    not_ok "no capture drops of vb: $(grep capture_drops "$T/expo.txt")"
grep -Eq '^blackout_redis_flush_seconds_count\{sensor="s1"\} [1-9]' "$T/expo.txt" &&
    ok "Redis round trips timed: $(grep '^blackout_redis_flush_seconds_count' "$T/expo.txt")" ||
    not_ok "flush histogram: $(grep flush_seconds_count "$T/expo.txt")"

if out=$(python3 - "$T/totals.json" "$T/live.out" "$T/b.expect.json" "$DROPS" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["data"]["result"]
prom = {(r["metric"]["route"], r["metric"]["direction"]): int(r["value"][1]) for r in res}
summary = [json.loads(l) for l in open(sys.argv[2]) if '"type":"summary"' in l][0]
exp = json.load(open(sys.argv[3]))
drops = int(sys.argv[4])
sensor = {(r, d): t["pkts_" + d] for r, t in summary["routes"].items() for d in ("in", "out")}
gen = {(r, d): 0 for r in summary["routes"] for d in ("in", "out")}
for r, t in exp["routes"].items():
    for d in ("in", "out"):
        gen[(r, d)] = t["pkts_" + d]
bad = []
if prom != sensor:
    bad.append(f"Prometheus {prom}, sensor summary {sensor}")
if drops == 0 and prom != gen:
    bad.append(f"Prometheus {prom}, generator {gen}")
print(f"{sum(prom.values())} packets over {len(prom)} series, the sensor's {sum(sensor.values())}, "
      f"the generator's {sum(gen.values())}" + (f" ({drops} frames dropped by the kernel: generator not compared)" if drops else ""))
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "Prometheus's blackout_packets_total = exact totals: $(echo "$out" | head -1)"
else
    not_ok "totals: $(echo "$out" | tr '\n' ' ')"
fi

# the outage as the sensor decided it (its events), against what Prometheus stored
if out=$(python3 - "$T/down.json" "$T/alerts.json" "$T/live.out" "$T0" <<'PY'
import json, sys
t0 = float(sys.argv[4])
ev = {}
for l in open(sys.argv[3]):
    o = json.loads(l)
    if o["type"] == "event" and o["event"] not in ev:
        ev[o["event"]] = o
bad = []
if "country_down" not in ev or "country_up" not in ev:
    print("the sensor raised no country_down and country_up")
    sys.exit(1)
down, up = ev["country_down"]["detected"], ev["country_up"]["detected"]
res = json.load(open(sys.argv[1]))["data"]["result"]
pts = [(float(t), float(v)) for t, v in res[0]["values"]] if res else []
ones = [t for t, v in pts if v == 1]
# a scrape each second, a point each half second: within 2 s of each decision
if not ones:
    bad.append("never 1")
elif abs(min(ones) - down) > 2 or abs(max(ones) - up) > 2:
    bad.append(f"1 from {min(ones) - t0:.1f} s to {max(ones) - t0:.1f} s")
if any(v for t, v in pts if t < down - 1 or t > up + 2):
    bad.append("1 outside the outage")
fired = json.load(open(sys.argv[2]))["data"]["result"]
ft = [float(t) for r in fired for t, v in r["values"]]
if not ft or min(ft) < down - 1 or max(ft) > up + 3:
    bad.append(f"BlackoutCountryDown firing at {[round(t - t0, 1) for t in ft[:3]]}")
if ones:
    print(f"state down = 1 from {min(ones) - t0:.1f} s to {max(ones) - t0:.1f} s after the first frame "
          f"(the sensor: country_down at {down - t0:.0f} s, country_up at {up - t0:.0f} s; silence "
          f"{ev['country_down']['since'] - t0:.0f}..{ev['country_up']['since'] - t0:.0f} s); "
          f"BlackoutCountryDown firing from {min(ft) - t0 if ft else float('nan'):.1f} s")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "range query: $(echo "$out" | head -1)"
else
    not_ok "outage in Prometheus: $(echo "$out" | tr '\n' ' ')"
fi
kill $PROM_PID
wait $PROM_PID 2>/dev/null

# a privileged port is bound as root, then the sensor runs as --user; the server goes on
live_start --no-redis --sensor priv --user nobody --metrics 127.0.0.1:80
UID_NOW=$(awk '/^Uid:/ {print $2}' "/proc/$LIVE_PID/status")
in_ns python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:80/metrics").read().decode(), end="")' >"$T/priv.txt" 2>&1
[ "$UID_NOW" = "$(id -u nobody)" ] && grep -q '^blackout_build_info{sensor="priv",' "$T/priv.txt" &&
    ok "--metrics 127.0.0.1:80 with --user nobody: bound as root, served as uid $UID_NOW" ||
    not_ok "privileged port with --user: uid $UID_NOW, $(head -3 "$T/priv.txt")"
live_stop TERM
done_testing
