#!/usr/bin/env bash
# Live capture, detection: a short generated blackout (every route silent from 100 s to
# 220 s of 300 s) sent by tcpreplay ten times faster than recorded, with one-second bins
# and a five-second warm-up. From live traffic alone: country_down, then country_up with
# the silence measured within 2.5 s of the truth; then tcpreplay ends, nothing
# more arrives, and the tick alone makes the sensor say sensor_blind within seconds. The
# events also reach the alerts stream in Redis.
#
# The truth is taken from an independent tcpdump on the same interface: the longest gap
# between two country frames as the kernel stamped them (nominally 120 s / 10 = 12 s, but
# tcpreplay's nanosleep pacing, chosen so as not to busy-wait a core, stretches time a
# little).
. "$(dirname "$0")/lib.sh"
need_gen
need_netns
redis_start "unixsocket $T/redis/redis.sock" "unixsocketperm 700"

SPEED=10
"$GEN" blackout --duration 300 --outage 100:220 -o "$T/b.pcap" >/dev/null || not_ok "generator"
live_start --redis "unix://$T/redis/redis.sock" --sensor s1 --route cn=vlan:100 \
    --route ru=vlan:101 --bin 1 --warmup 5 --json
ip netns exec "$NETNS" tcpdump -Q in -B 16384 -i vb -w "$T/seen.pcap" 2>"$T/tcpdump.err" &
TCPDUMP=$!
wait_match "$T/tcpdump.err" 'listening on' 30 || not_ok "tcpdump did not start: $(cat "$T/tcpdump.err")"
send_pcap "$T/b.pcap" -T nano -x $SPEED # nanosleep between frames: no busy wait
END=$(date +%s.%N)
echo "# tcpreplay: $(grep -Eo 'Actual: .* seconds' "$T/tcpreplay.out")"
if wait_match "$T/live.out" '"event":"sensor_blind"' 30; then
    SEEN=$(date +%s.%N)
    ok "sensor_blind while the sensor still runs, $(python3 -c "print(round($SEEN - $END, 1))") s after the last frame was sent"
else
    not_ok "no sensor_blind within 30 s of the end of traffic"
fi
live_stop INT
[ "$LIVE_RC" -eq 0 ] && ok "SIGINT: exit 0" || not_ok "SIGINT: exit $LIVE_RC"
kill -INT "$TCPDUMP"
wait "$TCPDUMP"

# The longest silence between two country frames (802.1Q-tagged IPv4 here) in the capture.
TRUTH=$(python3 - "$T/seen.pcap" <<'PY'
import ipaddress, struct, sys
kp = [ipaddress.ip_network(n) for n in ("175.45.176.0/22", "210.52.109.0/24", "77.94.35.0/24")]
data = open(sys.argv[1], "rb").read()
off, last, gap = 24, None, 0.0
while off + 16 <= len(data):
    sec, usec, caplen, _ = struct.unpack_from("<IIII", data, off)
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    p, etype = 14, struct.unpack_from(">H", frame, 12)[0]
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack_from(">H", frame, p + 2)[0]
        p += 4
    if etype != 0x0800:
        continue
    src, dst = (ipaddress.ip_address(frame[p + 12:p + 16]), ipaddress.ip_address(frame[p + 16:p + 20]))
    if any(a in n for a in (src, dst) for n in kp):
        t = sec + usec / 1e6
        if last is not None:
            gap = max(gap, t - last)
        last = t
print(round(gap, 2))
PY
)
echo "# truth from tcpdump: the country was silent for $TRUTH s"

if out=$(python3 - "$T/live.out" "$TRUTH" "$END" <<'PY'
import json, sys
truth, end = float(sys.argv[2]), float(sys.argv[3])
lines = [json.loads(l) for l in open(sys.argv[1])]
ev = [o for o in lines if o["type"] == "event"]
names = [e["event"] for e in ev]
print("events:", " ".join(f"{e['event']}@{e['detected'] - int(end)}" for e in ev))
bad = []
try:
    down = names.index("country_down")
    up = names.index("country_up", down)
    blind = names.index("sensor_blind", up)
except ValueError:
    bad.append("want country_down, country_up, sensor_blind in that order")
else:
    d, u, b = ev[down], ev[up], ev[blind]
    measured = u["since"] - d["since"]
    print(f"silence measured {measured} s (duration {u['duration']}), truth {truth:g} s")
    if abs(measured - truth) > 2.5 or u["duration"] != measured:
        bad.append(f"silence {measured} s, truth {truth:g} s")
    if d["cause"] != "internal" or d["evidence"]["routes_silent"] != 2:
        bad.append(f"country_down cause {d['cause']}, evidence {d['evidence']}")
    # the blind sensor: from the tick alone, within a few seconds of the last frame
    print(f"sensor_blind since {b['since'] - end:+.1f} s, detected {b['detected'] - end:+.1f} s "
          "from the end of traffic")
    if abs(b["since"] - end) > 2.5 or not 0 < b["detected"] - end <= 6:
        bad.append(f"sensor_blind since {b['since']}, detected {b['detected']}, end {end:.1f}")
    late = [e["event"] for e in ev[down + 1:] if e["event"] in ("route_down", "country_down")]
    if late:
        bad.append(f"outage events after the recovery: {late}")
s = lines[-1]
if s["type"] != "summary" or s["late_packets"] or any(r["drops"] for r in s["routes"].values()):
    bad.append("summary: late packets or drops")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "from live traffic: $(echo "$out" | sed -n 2p)"
    echo "$out" | sed 's/^/# /'
else
    not_ok "live detection: $(echo "$out" | tr '\n' ' ')"
fi

N=$(rcli XLEN blackout:alerts)
EVENTS=$(rcli --raw XRANGE blackout:alerts - + | grep -E '^(country|route|sensor)_' | tr '\n' ' ')
[[ $EVENTS == *country_down*country_up*sensor_blind* ]] && ok "alerts stream: $EVENTS" ||
    not_ok "alerts stream ($N): $EVENTS"
STATE=$(rcli HGET blackout:state 's1/*')
[ "$STATE" = blind ] && ok "state of s1/* is blind" || not_ok "state of s1/*: $STATE"
"$BO" status --redis "unix://$T/redis/redis.sock" >"$T/status.txt"
"$BO" status --redis "unix://$T/redis/redis.sock" --json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert rows and all(r["blind"] is True and r["country"] == "KP" for r in rows), rows' &&
    [ "$(grep -Ec '^s1 .* blind$' "$T/status.txt")" -eq 4 ] &&
    ok "status: every row of s1 says blind (ALIVE column, \"blind\": true)" || not_ok "status: $(cat "$T/status.txt")"

done_testing
