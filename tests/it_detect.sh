#!/usr/bin/env bash
# `blackout detect` over bins in a private redis-server, several sensors combined: a route
# silent at every sensor is a route outage, silent at one sensor that sensor's problem
# (logged, no event); every route silent everywhere is the country. Events go to stdout and
# through the alert path (stream, channel, state hash) and nowhere else; old 11-field bins
# members still read; --from/--to, --follow; exit codes.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
"$GEN" blackout --no-bins -o "$T/b.pcap" >/dev/null || not_ok "generator: blackout"
"$GEN" failover --no-bins -o "$T/f.pcap" >/dev/null || not_ok "generator: failover"
A=(--redis "$REDIS_URL")
OUTAGE=1749258000 BACK=1749259800

# feed PREFIX SENSOR CAPTURE: a replay into Redis under PREFIX.
feed() {
    "$BO" replay -q --redis "$REDIS_URL" --redis-prefix "$1" --sensor "$2" "${ROUTES[@]}" "$3" ||
        not_ok "replay $2 of $3"
}

# events FILE EXPECTED: the JSON event lines of FILE, as "event CC/route since cause sensors",
# against the expected text.
events_are() {
    local got
    got=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    assert e["type"] == "event" and e["sensor"] == "detect", e
    ev = e["evidence"]
    print(e["event"], e["country"] + "/" + e["route"], e["since"], e.get("cause", "-"),
          "%s/%s" % (ev.get("sensors_silent"), ev.get("sensors_total")))' "$1")
    if [ "$got" = "$2" ]; then return 0; fi
    echo "got: $got" >&2
    return 1
}

# ---- s1 sees a blackout on both routes, s2 only cn failing over to ru ----
feed blackout: s1 "$T/b.pcap"
feed blackout: s2 "$T/f.pcap"
rcli CONFIG RESETSTAT >/dev/null
"$BO" detect "${A[@]}" --json >"$T/d.json" 2>"$T/d.err"
rc=$?
[ "$rc" -eq 0 ] && ok "detect over s1 and s2 exits 0" || not_ok "detect exited $rc: $(cat "$T/d.err")"
events_are "$T/d.json" "route_down KP/cn $OUTAGE - 2/2
route_up KP/cn $BACK - 0/2" 2>"$T/why" && ok "blackout at s1 + failover at s2: route_down and route_up of cn, nothing else" ||
    not_ok "combined events: $(cat "$T/why")"
grep -q "sensor s1 lost route KP/ru at 2025-06-07T01:00:00Z, 1 other sensor(s) still see it: a problem at s1, not a route outage" "$T/d.err" &&
    grep -q "sensor s1 sees route KP/ru again" "$T/d.err" && [ "$(wc -l <"$T/d.err")" -eq 2 ] &&
    ok "ru silent at s1 only: logged as s1's problem" || not_ok "log: $(cat "$T/d.err")"

# the alert path: stream entries, state hash, and nothing else written
rcli --raw XRANGE blackout:alerts - + | python3 -c '
import json, sys
lines = sys.stdin.read().split("\n")
js = [json.loads(lines[i + 1]) for i, l in enumerate(lines) if l == "json"]
mine = [(e["event"], e["route"]) for e in js if e["sensor"] == "detect"]
assert mine == [("route_down", "cn"), ("route_up", "cn")], mine
' && ok "stream: the two combined events, sensor detect" || not_ok "stream: $(rcli XRANGE blackout:alerts - +)"
[ "$(rcli HGET blackout:state detect/KP/cn)" = up ] && [ "$(rcli HGET blackout:state 'detect/KP/*')" = up ] &&
    [ "$(rcli HGET blackout:state detect/KP/ru)" = up ] && [ "$(rcli HGET 'blackout:{detect}:state:KP:cn' state)" = up ] &&
    ok "state hash: detect/KP/cn, detect/KP/ru, detect/KP/* up; {detect}:state:KP:cn" || not_ok "state: $(rcli HGETALL blackout:state)"
[ "$(rcli SISMEMBER blackout:sensors detect)" -eq 0 ] && ok "detect does not list itself among the sensors" ||
    not_ok "sensors: $(rcli SMEMBERS blackout:sensors)"
WRITES=$(rcli INFO commandstats | grep -Eo '^cmdstat_(xadd|publish|zadd|hincrby):calls=[0-9]+' | tr '\n' ' ')
[[ $WRITES != *zadd* && $WRITES != *hincrby* && $WRITES == *xadd:calls=2* && $WRITES == *publish:calls=2* ]] &&
    ok "detect writes events and states only ($WRITES)" || not_ok "writes: $WRITES"
"$BO" detect "${A[@]}" >"$T/d.txt" 2>/dev/null
grep -q '^2025-06-07 01:00:10Z  route_down    KP/cn     sensor detect    since 01:00:00Z (10 s to detect) .*silent at 2/2 sensors$' "$T/d.txt" &&
    ok "readable output: $(head -1 "$T/d.txt")" || not_ok "text: $(cat "$T/d.txt")"

# one sensor alone: its own view
"$BO" detect "${A[@]}" --json --sensor s1 --id detect >"$T/s1.json" 2>"$T/err"
events_are "$T/s1.json" "country_down KP/* $OUTAGE internal 1/1
country_up KP/* $BACK - 0/1" 2>"$T/why" && ok "--sensor s1: s1's country_down and country_up" ||
    not_ok "--sensor s1: $(cat "$T/why")"

# ---- the same blackout at both sensors: the country ----
feed p2: s1 "$T/b.pcap"
feed p2: s2 "$T/b.pcap"
"$BO" detect "${A[@]}" --redis-prefix p2: --json >"$T/c.json" 2>"$T/c.err"
events_are "$T/c.json" "country_down KP/* $OUTAGE internal 2/2
country_up KP/* $BACK - 0/2" 2>"$T/why" && [ ! -s "$T/c.err" ] &&
    ok "blackout at both sensors: country_down (internal) and country_up only" ||
    not_ok "country: $(cat "$T/why") $(cat "$T/c.err")"
# a range that ends before the outage: nothing
"$BO" detect "${A[@]}" --redis-prefix p2: --json --from 2025-06-07T00:00:00Z --to $OUTAGE >"$T/r.json" &&
    [ ! -s "$T/r.json" ] && ok "--from/--to before the outage: no event" || not_ok "range: $(cat "$T/r.json")"
# a range that starts 10 min before the outage: the bins before --from teach the detectors
# (a warm start), so the outage is raised
"$BO" detect "${A[@]}" --redis-prefix p2: --json --from $((OUTAGE - 600)) >"$T/r.json" 2>"$T/r.err"
events_are "$T/r.json" "country_down KP/* $OUTAGE internal 2/2
country_up KP/* $BACK - 0/2" 2>"$T/why" &&
    ok "--from 10 min before the outage: warmed by the bins before it, the outage is raised" ||
    not_ok "late range: $(cat "$T/why") $(cat "$T/r.err")"

# ---- members written before the starts were added (11 fields) ----
feed p3: s1 "$T/b.pcap"
feed p3: s2 "$T/f.pcap"
rcli EVAL "
for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
  local m = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  redis.call('DEL', k)
  for i = 1, #m, 2 do redis.call('ZADD', k, m[i + 1], (string.gsub(m[i], ':%d+:%d+$', ''))) end
end" 0 'p3:{*}:bins:*' >/dev/null
[ "$(rcli ZRANGE 'p3:{s1}:bins:KP:cn' 0 0 | tr -cd : | wc -c)" -eq 10 ] || not_ok "members not rewritten"
"$BO" detect "${A[@]}" --redis-prefix p3: --json >"$T/o.json" 2>"$T/o.err"
events_are "$T/o.json" "route_down KP/cn $OUTAGE - 2/2
route_up KP/cn $BACK - 0/2" 2>"$T/why" && grep -q "older version" "$T/o.err" &&
    ok "old 11-field members: the same events, and a warning" || not_ok "old members: $(cat "$T/why") $(cat "$T/o.err")"

# ---- --follow: bins that arrive after the start raise events; SIGTERM exits 0 ----
"$BO" detect "${A[@]}" --redis-prefix p4: --follow --poll 1 --json >"$T/f.json" 2>"$T/f.err" &
F=$!
at_exit "kill $F 2>/dev/null"
sleep 1.5
feed p4: s1 "$T/b.pcap"
wait_for 10 lines_at_least 2 "$T/f.json"
sleep 1
kill -TERM $F
wait $F
rc=$?
events_are "$T/f.json" "country_down KP/* $OUTAGE internal 1/1
country_up KP/* $BACK - 0/1" 2>"$T/why" && [ "$rc" -eq 0 ] &&
    ok "--follow: the new bins' events, exit 0 on SIGTERM" || not_ok "follow: rc $rc, $(cat "$T/why") $(cat "$T/f.err")"
# restarted, it learns from what is there and raises nothing again
"$BO" detect "${A[@]}" --redis-prefix p4: --follow --poll 1 --json >"$T/f2.json" 2>/dev/null &
F=$!
at_exit "kill $F 2>/dev/null"
sleep 2
kill -TERM $F
wait $F
[ ! -s "$T/f2.json" ] && [ "$(rcli XLEN p4:alerts)" -eq 4 ] && ok "--follow restarted: history not raised again" ||
    not_ok "restart: $(cat "$T/f2.json"), $(rcli XLEN p4:alerts) alerts"

# ---- exit codes ----
expect_exit 2 "--to with --follow" "$BO" detect "${A[@]}" --follow --to 1
expect_exit 2 "a bad --from" "$BO" detect "${A[@]}" --from yesterday
expect_exit 2 "an argument" "$BO" detect "${A[@]}" extra
expect_exit 1 "no sensor under the prefix" "$BO" detect "${A[@]}" --redis-prefix none:
expect_exit 1 "Redis not there" "$BO" detect --redis "redis://:hunter2@127.0.0.1:1/0"
[[ $LAST_ERR != *hunter2* ]] && ok "the password is not printed" || not_ok "password printed"
done_testing
