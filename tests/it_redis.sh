#!/usr/bin/env bash
# Redis sink, clean path: a generated capture replayed into a private redis-server gives the
# exact totals and bins; the command count is O(bins x routes + flows); export and status
# read it back; a new run is not taken for a duplicate; --flush-timeout and --backlog.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

"$GEN" golden --snaplen 96 -o "$T/g.pcap" >/dev/null || not_ok "generator"
ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
PKTS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$T/g.expect.json")

rcli CONFIG RESETSTAT >/dev/null
"$BO" replay --redis "$REDIS_URL" --sensor s1 "${ROUTES[@]}" --json "$T/g.pcap" >"$T/out.json" 2>"$T/err" &&
    ok "replay into Redis exits 0" || not_ok "replay into Redis"
[ -s "$T/err" ] && not_ok "clean replay wrote to stderr: $(head -3 "$T/err")"
if out=$(redis_compare "$T/g.expect.json" "$T/out.json" s1 blackout:); then
    ok "totals and bins in Redis equal the exact counters"
else
    not_ok "Redis differs: $out"
fi

# Budget: commands Redis ran (those inside the flush script included), from INFO.
read -r BINS ROUTES_N FLOWS FLUSHES SENT < <(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
r = s["redis"]
print(s["bins"], len(s["routes"]), sum(v["flows"] for v in s["routes"].values()), r["flushes"], r["commands"])' "$T/out.json")
CALLS=$(rcli INFO commandstats | python3 -c '
import sys
n = 0
for line in sys.stdin:
    if line.startswith("cmdstat_") and not line.startswith(("cmdstat_info", "cmdstat_config", "cmdstat_ping")):
        n += int(line.split("calls=")[1].split(",")[0])
print(n)')
BUDGET=$((16 * BINS * ROUTES_N + 2 * FLOWS + 50))
echo "# $PKTS packets, $BINS bins x $ROUTES_N routes: $CALLS commands in Redis (budget $BUDGET), $SENT on the wire"
# (each finished flow is one stream entry, about one per 20 packets here: far from one per packet)
[ "$CALLS" -le "$BUDGET" ] && [ "$CALLS" -lt $((PKTS / 5)) ] && ok "command count $CALLS within O(bins x routes + flows) budget $BUDGET" ||
    not_ok "command count $CALLS over budget $BUDGET"
[ "$FLUSHES" -eq "$BINS" ] && [ "$SENT" -eq $((BINS + 1)) ] && ok "one command on the wire per bin ($SENT = $BINS bins + SCRIPT LOAD)" ||
    not_ok "flushes $FLUSHES, commands on the wire $SENT for $BINS bins"

# Distinct hosts per hour: one HyperLogLog per pair and hour (packet time). The golden capture
# is 10 min of the hour from 1749254400: its sketch against the exact count of one bin as long
# as the hour (--bin 3600).
"$BO" replay --no-redis --json --bin 3600 "${ROUTES[@]}" "$T/g.pcap" >"$T/hour.json"
HOSTS=$(python3 -c '
import json, sys
b = [o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "bin" and o["route"] == "cn"]
assert len(b) == 1 and b[0]["start"] == 1749254400, b
print(b[0]["hosts"])' "$T/hour.json")
# within2 ESTIMATE EXACT: a HyperLogLog estimate within 2% of the exact count.
within2() { [ $((100 * ($1 - $2))) -le $((2 * $2)) ] && [ $((100 * ($2 - $1))) -le $((2 * $2)) ]; }
HLL=$(rcli PFCOUNT "blackout:{s1}:hosts:KP:cn:1749254400")
within2 "$HLL" "$HOSTS" && [ "$(rcli --scan --pattern 'blackout:{s1}:hosts:KP:cn:*' | wc -l)" -eq 1 ] &&
    ok "HyperLogLog of the hour: $HLL hosts, the exact count over the hour $HOSTS; one key" ||
    not_ok "HyperLogLog $HLL, expected $HOSTS: $(rcli --scan --pattern 'blackout:{s1}:hosts:KP:cn:*')"
TTL=$(rcli TTL "blackout:{s1}:hosts:KP:cn:1749254400")
[ "$TTL" -gt 0 ] && ok "host sketch has a TTL ($TTL s)" || not_ok "host sketch TTL $TTL"
# Over any span of whole hours, PFCOUNT of its hour keys: a capture of two hours and a bit,
# against one bin per hour (--bin 3600) and one bin for the whole day (--bin 86400).
"$GEN" blackout --no-bins -o "$T/b.pcap" >/dev/null || not_ok "generator: blackout"
"$BO" replay -q --redis "$REDIS_URL" --redis-prefix h: --sensor s1 "${ROUTES[@]}" "$T/b.pcap" ||
    not_ok "replay of the blackout capture"
for BIN in 3600 86400; do
    "$BO" replay --no-redis --json --bin $BIN "${ROUTES[@]}" "$T/b.pcap" | grep '"type":"bin"' >"$T/b$BIN.json"
done
BAD=$(python3 - "$T" "$REDIS_PORT" <<'PY'
import json, subprocess, sys
t, port = sys.argv[1], sys.argv[2]
def redis(*a):
    return subprocess.run(["redis-cli", "-p", port, *a], capture_output=True, text=True).stdout.split()
def close(est, exact):
    return abs(est - exact) <= 0.02 * exact
bad, keys = [], {}
for b in map(json.loads, open(f"{t}/b3600.json")):
    k = f"h:{{s1}}:hosts:KP:{b['route']}:{b['start']}"
    if b["hosts"]:
        keys.setdefault(b["route"], []).append(k)
        est = int(redis("PFCOUNT", k)[0])
        ttl = int(redis("TTL", k)[0])
        if not close(est, b["hosts"]) or ttl <= 0:
            bad.append(f"{k}: PFCOUNT {est}, exact {b['hosts']}, TTL {ttl}")
for b in map(json.loads, open(f"{t}/b86400.json")):
    if b["hosts"]:
        est = int(redis("PFCOUNT", *keys[b["route"]])[0])
        if not close(est, b["hosts"]) or len(keys[b["route"]]) < 3:
            bad.append(f"{b['route']} over {len(keys[b['route']])} hours: PFCOUNT {est}, exact {b['hosts']}")
        else:
            print(f"# {b['route']}: PFCOUNT of {len(keys[b['route']])} hour keys {est}, exact {b['hosts']}", file=sys.stderr)
print("; ".join(bad))
PY
)
[ -z "$BAD" ] && ok "distinct hosts of each hour and of the whole capture: PFCOUNT of the hour keys within 2%, TTL set" ||
    not_ok "hour sketches: $BAD"
TTL=$(rcli TTL "blackout:{s1}:heartbeat")
[ "$TTL" -gt 0 ] && ok "heartbeat has a TTL ($TTL s)" || not_ok "heartbeat TTL $TTL"
TTL=$(rcli TTL "blackout:{s1}:bins:KP:cn")
[ "$TTL" -gt 0 ] && ok "bins series has a TTL ($TTL s)" || not_ok "bins TTL $TTL"

# export: CSV header, one row per bin and route, same numbers as the sensor printed.
"$BO" export --redis "$REDIS_URL" --from 2025-06-07T00:00:00Z --to 1749258000 >"$T/x.csv"
python3 - "$T/x.csv" "$T/out.json" <<'PY' && ok "export CSV equals the bins the sensor reported" || not_ok "export CSV"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert list(rows[0].keys()) == "sensor,country,route,start,len,pkts_in,pkts_out,bytes_in,bytes_out,flows_new,hosts,ctl_pkts,drops,partial".split(","), rows[0].keys()
assert all(r["country"] == "KP" for r in rows), rows
bins = {(o["route"], o["start"]): o for o in map(json.loads, open(sys.argv[2])) if o["type"] == "bin"}
assert len(rows) == len(bins), (len(rows), len(bins))
for r in rows:
    o = bins[(r["route"], int(r["start"]))]
    for k in r:
        if k != "partial":
            assert str(o[k]) == r[k], (k, r, o)
# partial: 1 only for a bin cut short by the end of input, the last one of a route
last = {}
for r in rows:
    last[r["route"]] = max(last.get(r["route"], 0), int(r["start"]))
assert all(r["partial"] == "0" or int(r["start"]) == last[r["route"]] for r in rows), rows
assert all(r["partial"] in ("0", "1") for r in rows)
PY
"$BO" export --redis "$REDIS_URL" --from 1749254400 --to 1749254460 --route ru --json >"$T/x.json"
python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 6 and all(r["route"] == "ru" and r["type"] == "bin" and r["country"] == "KP" for r in rows), rows' "$T/x.json" &&
    ok "export --json --route: 6 bins of ru in [from, to)" || not_ok "export --json --route"
expect_exit 2 "export without --to" "$BO" export --redis "$REDIS_URL" --from 1
expect_exit 2 "export with a bad time" "$BO" export --redis "$REDIS_URL" --from 2025-13-01 --to 1

# status: a table, and JSON lines.
"$BO" status --redis "$REDIS_URL" >"$T/status.txt"
grep -Eq '^s1 +cn ' "$T/status.txt" && grep -q ROUTE "$T/status.txt" && grep -Eq '^country KP: [0-9.]+ pkt/s$' "$T/status.txt" &&
    ok "status table lists the routes under the country" ||
    not_ok "status: $(cat "$T/status.txt")"
"$BO" status --redis "$REDIS_URL" --json | python3 -c '
import json, sys
rows = {r["route"]: r for r in map(json.loads, sys.stdin)}
assert set(rows) == {"cn", "ru", "other", "*"}, rows
assert all(r["country"] == "KP" and r["blind"] is False for r in rows.values()), rows
assert rows["cn"]["current_pps"] > 0 and rows["cn"]["heartbeat"] is True, rows' &&
    ok "status --json: routes, current packets/s, heartbeat" || not_ok "status --json"
"$BO" status --redis "$REDIS_URL" --json | python3 -c '
import json, sys
rows = {r["route"]: r for r in map(json.loads, sys.stdin)}
want = sum(r["current_pps"] for k, r in rows.items() if k != "*")
assert abs(rows["*"]["current_pps"] - want) < 1e-6, rows
assert rows["*"]["last_bin"] == max(r["last_bin"] for r in rows.values()), rows' &&
    ok "status: the country row sums its routes' current packets/s" ||
    not_ok "status: the country row's current packets/s is not its routes' sum"
# a sensor id longer than the old fixed column: the columns stay aligned
LONG=sensor-with-a-rather-long-name.example.net
"$BO" replay -q --redis "$REDIS_URL" --redis-prefix wide: --sensor "$LONG" "${ROUTES[@]}" "$T/g.pcap" ||
    not_ok "replay with a long sensor id"
"$BO" status --redis "$REDIS_URL" --redis-prefix wide: >"$T/wide.txt"
python3 - "$T/wide.txt" "$LONG" <<'PY' && ok "status: columns aligned with a long sensor id" ||
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0].startswith("country KP: "), lines
head, rows = lines[1], lines[2:]
assert len(rows) == 4, lines
for col in ["ROUTE", "STATE", "BASELINE_PPS", "SINCE"]:
    p = head.index(col)
    for r in rows:
        assert r.startswith(sys.argv[2] + " "), r
        assert r[p - 1] == " " and r[p] != " " or col == "BASELINE_PPS", (col, r)
for r in rows:  # right-aligned numbers end under the header's end
    p = head.index("BASELINE_PPS") + len("BASELINE_PPS")
    assert r[p - 1] != " " and r[p] == " ", r
PY
    not_ok "status columns: $(cat "$T/wide.txt")"

# A second run of the sensor: its first flushes are new (a new run id), totals double;
# the bins series holds one member per bin start.
"$BO" replay -q --redis "$REDIS_URL" --sensor s1 "${ROUTES[@]}" "$T/g.pcap" || not_ok "second replay"
P2=$(rcli HGET "blackout:{s1}:totals:KP:cn" pkts_in)
P1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["routes"]["cn"]["pkts_in"])' "$T/g.expect.json")
[ "$P2" -eq $((2 * P1)) ] && ok "a restarted sensor is not taken for a duplicate ($P2 = 2 x $P1)" || not_ok "after two runs: $P2, want $((2 * P1))"
N=$(rcli ZCARD "blackout:{s1}:bins:KP:cn")
[ "$N" -eq "$BINS" ] && ok "bins series: one member per bin start ($N)" || not_ok "bins series has $N members, $BINS bins"

# Redis away at the end: wait --flush-timeout, exit 1 with one clear line, no secret.
redis_stop
"$BO" replay -q --redis "redis://:hunter2@127.0.0.1:$REDIS_PORT/0" --flush-timeout 1 "${ROUTES[@]}" "$T/g.pcap" 2>"$T/err"
rc=$?
LAST=$(tail -1 "$T/err")
[ "$rc" -eq 1 ] && [[ $LAST == *"61 bins"*"not written to Redis"*"flush-timeout 1 s"* ]] && ok "Redis away: exit 1, $LAST" ||
    not_ok "Redis away: exit $rc, $LAST"
grep -q hunter2 "$T/err" && not_ok "the password was printed" || ok "the password is not printed"
"$BO" replay --json --redis "$REDIS_URL" --flush-timeout 0 --backlog 4 "${ROUTES[@]}" "$T/g.pcap" >"$T/o2" 2>"$T/err"
D=$(tail -1 "$T/o2" | python3 -c 'import json,sys; r=json.load(sys.stdin)["redis"]; print(r["bins_dropped"], r["bins_pending"])')
[ "$D" = "57 4" ] && [ "$(grep -c 'dropping the oldest' "$T/err")" -eq 1 ] && ok "backlog of 4: 57 bins dropped, logged once, 4 pending" ||
    not_ok "backlog overflow: dropped/pending $D; $(cat "$T/err")"
check "--no-redis needs no Redis" "$BO" replay -q --no-redis "${ROUTES[@]}" "$T/g.pcap"
done_testing
