#!/usr/bin/env bash
# Live capture, warm restart: a sensor watches 30 s of traffic (300 s of a generated capture
# sent ten times faster than recorded, one-second bins, a 20 s warm-up) into Redis and is
# stopped; the same sensor id started again reads those bins back ("warm restart" in its
# log) and decides from its first bin: every route goes silent about 6 s into the second
# part, and country_down is raised well inside the 20 s a sensor without history spends
# learning. The second part is already being sent when the sensor starts, as on a mirror
# port that never stops, so the sensor's first bins carry traffic.
. "$(dirname "$0")/lib.sh"
need_gen
need_netns
redis_start "unixsocket $T/redis/redis.sock" "unixsocketperm 700"

SPEED=10
WARMUP=20
"$GEN" blackout --duration 500 --outage 360:500 --only 0:300 -o "$T/a.pcap" >/dev/null &&
    "$GEN" blackout --duration 500 --outage 360:500 --only 300:500 -o "$T/b.pcap" >/dev/null ||
    not_ok "generator"
OPTS=(--redis "unix://$T/redis/redis.sock" --sensor s1 --route cn=vlan:100 --route ru=vlan:101
    --bin 1 --warmup "$WARMUP" --json)

live_start "${OPTS[@]}"
send_pcap "$T/a.pcap" -T nano -x $SPEED
sleep 1.5 # the last bin ends
live_stop INT
[ "$LIVE_RC" -eq 0 ] && ok "first run: SIGINT, exit 0" || not_ok "first run: exit $LIVE_RC"
KEY=$(rcli --scan --pattern '*{s1}:bins:KP:cn' | head -1)
BINS=$(rcli ZCARD "$KEY")
[ "${BINS:-0}" -ge $((WARMUP + 5)) ] && ok "first run: $BINS bins of cn in Redis" ||
    not_ok "first run: ${BINS:-no} bins of cn in Redis"
if grep -q '"event":"country_down"' "$T/live.out"; then not_ok "first run raised country_down"; fi

# The second part, already on the wire when the sensor starts.
send_pcap "$T/b.pcap" -T nano -x $SPEED &
SENDER=$!
sleep 0.5
live_start "${OPTS[@]}"
if wait_match "$T/live.out" '"event":"country_down"' 40; then
    ok "country_down raised after the restart"
else
    not_ok "no country_down within 40 s of the restart"
fi
wait "$SENDER"
live_stop INT
[ "$LIVE_RC" -eq 0 ] && ok "second run: SIGINT, exit 0" || not_ok "second run: exit $LIVE_RC"
grep -q 'warm restart: [0-9]* bins of history' "$T/live.err" &&
    ok "$(grep -o 'warm restart: [0-9]* bins of history' "$T/live.err" | head -1)" ||
    not_ok "no warm restart in the log: $(head -3 "$T/live.err")"

# From the sensor's first bin to the decision: less than the warm-up a cold sensor learns for.
R=$(python3 - "$T/live.out" "$WARMUP" <<'PY'
import json, sys
first, down = None, None
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["type"] == "bin" and first is None:
        first = e["start"]
    if e["type"] == "event" and e["event"] == "country_down" and down is None:
        down = e
if first is None or down is None:
    print(f"not ok first bin {first}, country_down {down}")
    sys.exit()
after = down["detected"] - first
within = after < float(sys.argv[2])
print(f"{'ok' if within else 'not ok'} country_down {after:.0f} s after the first bin "
      f"(a sensor without history learns for {sys.argv[2]} s), since {down['since'] - first:.0f} s, "
      f"kind {down['evidence'].get('kind')}, cause {down.get('cause')}")
PY
)
if [[ $R == ok* ]]; then ok "${R#ok }"; else not_ok "${R#not ok }"; fi
done_testing
