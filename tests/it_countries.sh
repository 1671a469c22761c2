#!/usr/bin/env bash
# Two countries in one Redis, kept apart by every reader. Sensor s1 watches KP (the
# generator's blocks, a blackout on every route) and, in a second run, MM (the same blocks
# under another code, --prefixes: a failover of cn); s2 watches KP (the same blackout); s3
# KP, blind for ten minutes. status shows a block per country, export a country column and
# --country, alerts --country (with a group: the other countries' alerts acknowledged),
# detect combines each country on its own; with --follow a country and a route that
# appear at a sensor join.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

# 50-minute captures (silences from 25 to 40 min) and a 10-minute warm-up keep it short
ROUTES=(--route cn=vlan:100 --route ru=vlan:101 --warmup 600)
A=(--redis "$REDIS_URL")
D=("${A[@]}" --warmup 600) # detect
G=(--no-bins --duration 3000)
"$GEN" blackout "${G[@]}" --outage 1500:2400 -o "$T/kp.pcap" >/dev/null || not_ok "generator: blackout"
"$GEN" failover "${G[@]}" --failover 1500:2400:cn:ru -o "$T/mm.pcap" >/dev/null || not_ok "generator: failover"
"$GEN" blind "${G[@]}" --blind 1500:2100 -o "$T/blind.pcap" >/dev/null || not_ok "generator: blind"
printf '175.45.176.0/22\n210.52.109.0/24\n77.94.35.0/24\n' >"$T/mm.txt"

# feed PREFIX SENSOR CAPTURE [OPTIONS]: a replay into Redis under PREFIX.
feed() {
    "$BO" replay -q --redis "$REDIS_URL" --redis-prefix "$1" --sensor "$2" "${ROUTES[@]}" "${@:4}" "$3" ||
        not_ok "replay $2 of $3"
}
feed blackout: s1 "$T/kp.pcap"
feed blackout: s1 "$T/mm.pcap" --country MM --prefixes "$T/mm.txt"
feed blackout: s2 "$T/kp.pcap"
feed blackout: s3 "$T/blind.pcap"

[ "$(rcli SMEMBERS 'blackout:{s1}:pairs' | sort | tr '\n' ' ')" = "KP/cn KP/other KP/ru MM/cn MM/other MM/ru " ] &&
    ok "s1 has the pairs of both countries" || not_ok "pairs of s1: $(rcli SMEMBERS 'blackout:{s1}:pairs')"

# ---- status: a block per country, the busiest first ----
"$BO" status "${A[@]}" >"$T/status.txt"
grep -E '^country ' "$T/status.txt" | cut -d: -f1 | tr '\n' ' ' | grep -qx 'country KP country MM ' &&
    [ "$(sed -n '/^country MM/,$p' "$T/status.txt" | grep -Ec '^s1 ')" -eq 4 ] &&
    [ "$(sed -n '/^country MM/,$p' "$T/status.txt" | grep -Ec '^s[23] ')" -eq 0 ] &&
    ok "status: KP's block (3 sensors) before MM's (s1 only)" || not_ok "status: $(cat "$T/status.txt")"
"$BO" status "${A[@]}" --json --country mm | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert {(r["sensor"], r["country"], r["route"]) for r in rows} == {("s1", "MM", r) for r in ["*", "cn", "ru", "other"]}, rows
assert all(r["state"] in ("up", "unknown") for r in rows), rows' &&
    ok "status --json --country mm: MM's rows only" || not_ok "status --country mm"
"$BO" status "${A[@]}" --json | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
cc = [r["country"] for r in rows]
assert cc == sorted(cc, key=lambda c: c != "KP"), cc  # the busier block first
pps = {c: sum(r["current_pps"] for r in rows if r["country"] == c and r["route"] != "*") for c in set(cc)}
assert pps["KP"] > pps["MM"] > 0, pps' &&
    ok "status --json: the blocks in order of their packets/s" || not_ok "status --json order"

# ---- export: the country column, --country ----
"$BO" export "${A[@]}" --from 1749254400 --to 1749262000 >"$T/all.csv"
python3 - "$T/all.csv" "$T/kp.expect.json" "$T/mm.expect.json" <<'PY' && ok "export: each (sensor, country, route) sums to its own capture's exact counters" ||
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
kp, mm = (json.load(open(p))["routes"] for p in sys.argv[2:4])
want = {("s1", "KP"): kp, ("s2", "KP"): kp, ("s3", "KP"): None, ("s1", "MM"): mm}
assert {(r["sensor"], r["country"]) for r in rows} == set(want), {(r["sensor"], r["country"]) for r in rows}
for (s, c), routes in want.items():
    for route, e in (routes or {}).items():
        for k in ["pkts_in", "pkts_out", "bytes_in", "bytes_out"]:
            got = sum(int(r[k]) for r in rows if (r["sensor"], r["country"], r["route"]) == (s, c, route))
            assert got == e[k], (s, c, route, k, got, e[k])
PY
    not_ok "export totals per country"
"$BO" export "${A[@]}" --from 1749254400 --to 1749262000 --country MM --json >"$T/mm.json"
"$BO" export "${A[@]}" --from 1749254400 --to 1749262000 --country KP --route cn >"$T/kpcn.csv"
python3 - "$T/mm.json" "$T/kpcn.csv" <<'PY' && ok "export --country MM (JSON), --country KP --route cn (CSV)" ||
import csv, json, sys
mm = [json.loads(l) for l in open(sys.argv[1])]
assert mm and {(o["sensor"], o["country"]) for o in mm} == {("s1", "MM")}, mm[:2]
kp = list(csv.DictReader(open(sys.argv[2])))
assert kp and {(r["country"], r["route"]) for r in kp} == {("KP", "cn")}, kp[:2]
assert {r["sensor"] for r in kp} == {"s1", "s2", "s3"}, kp[:2]
PY
    not_ok "export filters"

# ---- alerts: --country; with a group, one group per filter ----
# what_alerts: "event CC/route sensor" of each JSON line on stdin.
what_alerts() { python3 -c '
import json, sys
for l in sys.stdin:
    e = json.loads(l)
    print(e["event"], e["country"] + "/" + e["route"], e["sensor"])'; }
"$BO" alerts "${A[@]}" --json --country MM | what_alerts >"$T/a.mm"
[ "$(cat "$T/a.mm")" = "route_down MM/cn s1
route_up MM/cn s1
sensor_blind */* s3
sensor_ok */* s3" ] && ok "alerts --country MM: MM's route events and the sensors' own" ||
    not_ok "alerts --country MM: $(cat "$T/a.mm")"
export OUT="$T/exec"
"$BO" alerts "${A[@]}" --country KP --group kp --consumer c1 \
    --exec 'echo "$BLACKOUT_COUNTRY $BLACKOUT_EVENT $BLACKOUT_SENSOR" >>"$OUT"' || not_ok "alerts --exec"
unset OUT
[ "$(grep -c '^KP country_' "$T/exec")" -eq 4 ] && [ "$(grep -c '^\* sensor_' "$T/exec")" -eq 2 ] &&
    [ "$(wc -l <"$T/exec")" -eq 6 ] && [ "$(rcli XPENDING blackout:alerts kp | head -1)" -eq 0 ] &&
    ok "--country KP --group: KP's 4 and the sensors' 2 run with BLACKOUT_COUNTRY; MM's acknowledged, none pending" ||
    not_ok "group kp: $(cat "$T/exec"), pending $(rcli XPENDING blackout:alerts kp | head -1)"
"$BO" alerts "${A[@]}" --country MM --group mm --consumer c1 --json | what_alerts >"$T/g.mm"
cmp -s "$T/g.mm" "$T/a.mm" && ok "--country MM in a group of its own: MM's alerts, all of them" ||
    not_ok "group mm: $(cat "$T/g.mm")"

# ---- detect: each country combined on its own ----
events_of() { what_alerts | sed 's/ detect$//'; }
"$BO" detect "${D[@]}" --sensor s1 --sensor s2 --json 2>"$T/d.err" | events_of >"$T/d.txt"
# the two countries' events interleave by time; each country's come in its own order
[ "$(grep KP "$T/d.txt")" = "country_down KP/*
country_up KP/*" ] && [ "$(grep MM "$T/d.txt")" = "route_down MM/cn
route_up MM/cn" ] && [ "$(wc -l <"$T/d.txt")" -eq 4 ] && [ ! -s "$T/d.err" ] &&
    ok "detect s1+s2: KP's country outage, MM's failover of cn, nothing mixed" ||
    not_ok "detect: $(cat "$T/d.txt") $(cat "$T/d.err")"
[ "$(rcli HGET blackout:state 'detect/KP/*')" = up ] && [ "$(rcli HGET blackout:state detect/MM/cn)" = up ] &&
    [ "$(rcli HGET 'blackout:{detect}:state:MM:ru' state)" = up ] &&
    ok "detect writes the states per country (detect/KP/*, detect/MM/cn, {detect}:state:MM:ru)" ||
    not_ok "detect states: $(rcli HGETALL blackout:state | paste -sd' ')"
"$BO" detect "${D[@]}" --sensor s1 --sensor s2 --country MM --json | events_of >"$T/d.mm"
[ "$(cat "$T/d.mm")" = "route_down MM/cn
route_up MM/cn" ] && ok "detect --country MM: MM only" || not_ok "detect --country MM: $(cat "$T/d.mm")"

# ---- detect --follow: a country, then a route, that appear at a sensor join ----
feed f: s1 "$T/kp.pcap"
"$BO" detect "${D[@]}" --redis-prefix f: --follow --poll 1 --json -v >"$T/f.json" 2>"$T/f.err" &
F=$!
at_exit "kill $F 2>/dev/null"
wait_match "$T/f.err" 'history read' 20 || not_ok "detect --follow did not read the history"
"$GEN" failover "${G[@]}" --failover 1500:2400:cn:ru --start 1749258000 -o "$T/mm2.pcap" >/dev/null ||
    not_ok "generator: later failover"
feed f: s1 "$T/mm2.pcap" --country MM --prefixes "$T/mm.txt"
wait_for 20 lines_at_least 2 "$T/f.json"
"$GEN" golden --routes 3 --start 1749261600 -o "$T/r3.pcap" >/dev/null || not_ok "generator: three routes"
feed f: s1 "$T/r3.pcap" --route r3=vlan:102
has_r3() { [ -n "$(rcli HGET f:state detect/KP/r3)" ]; }
wait_for 20 has_r3
sleep 2
kill -TERM $F
wait $F
rc=$?
[ "$rc" -eq 0 ] && [ "$(events_of <"$T/f.json")" = "route_down MM/cn
route_up MM/cn" ] && ok "--follow: MM, new at s1, joins and its failover is raised (KP's history is not)" ||
    not_ok "follow: rc $rc, $(cat "$T/f.json") $(grep -v INFO "$T/f.err")"
has_r3 && ! grep -Eq "learning again|left out" "$T/f.err" &&
    ok "--follow: route r3, new for KP at s1, joins ($(rcli HGET f:state detect/KP/r3)), KP's detector state kept" ||
    not_ok "r3: $(rcli HGETALL f:state | paste -sd' ') $(cat "$T/f.err")"
done_testing
