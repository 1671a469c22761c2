#!/usr/bin/env bash
# Live capture, exact: a generated capture sent at top speed by tcpreplay into one end of a
# veth pair while `blackout capture` listens on the other, in a private network namespace.
# Every counter equals the generator's truth, nothing is dropped or late, and Redis holds
# what a replay of the same file writes (totals, flows, protocols; bins as reported).
# Then a 1 MB ring under a flood: what it drops is reported, exactly.
. "$(dirname "$0")/lib.sh"
need_gen
need_netns
redis_start "unixsocket $T/redis/redis.sock" "unixsocketperm 700"
SOCK=unix://$T/redis/redis.sock

"$GEN" golden -o "$T/g.pcap" >/dev/null || not_ok "generator"
ROUTES=(--route cn=vlan:100 --route ru=vlan:101)

# The ring holds the whole file (31 MB of frames plus ring headers): loss-free even if
# the sensor does not run at all while tcpreplay sends.
live_start --redis "$SOCK" --sensor live "${ROUTES[@]}" --json --bin 1 --buffer-mb 128
send_and_stop "$T/g.pcap"
grep -v -E 'capturing on|vb: [0-9]+ frames received' "$T/live.err" >"$T/unexpected"
[ -s "$T/unexpected" ] && not_ok "unexpected messages: $(head -3 "$T/unexpected")"

live_exact "at top speed (packets, bytes, flows, control, no drops)" "$T/g.expect.json"

# Same Redis output as a replay of the file: totals, protocols, flows stream length; the
# bins in Redis are the ones the sensor reported (their times are the kernel's).
"$BO" replay --redis "$SOCK" --sensor replayed "${ROUTES[@]}" "$T/g.pcap" >/dev/null 2>"$T/replay.err" ||
    not_ok "replay: $(head -2 "$T/replay.err")"
dump() {
    local s=$1 r
    for r in $(rcli SMEMBERS "blackout:{$s}:pairs" | sort); do
        echo "totals $r $(rcli --raw HGETALL "blackout:{$s}:totals:${r/\//:}" | paste -d' ' - - | sort | tr '\n' ' ')"
        echo "proto $r $(rcli --raw HGETALL "blackout:{$s}:proto:${r/\//:}" | paste -d' ' - - | sort | tr '\n' ' ')"
    done
    echo "flows $(rcli XLEN "blackout:{$s}:flows")"
}
dump live >"$T/live.redis"
dump replayed >"$T/replay.redis"
if diff "$T/replay.redis" "$T/live.redis" >"$T/diff"; then
    ok "Redis: totals, protocols and flows equal those of a replay ($(grep -c . "$T/live.redis") lines)"
else
    not_ok "Redis differs from a replay: $(head -6 "$T/diff" | tr '\n' ' ')"
fi
for r in cn ru other; do
    rcli --raw ZRANGE "blackout:{live}:bins:KP:$r" 0 -1 | sed "s/^/$r /"
done >"$T/live.bins"
if out=$(python3 - "$T/live.out" "$T/live.bins" <<'PY'
import json, sys
bins = {(o["route"], o["start"]): o for o in map(json.loads, open(sys.argv[1])) if o["type"] == "bin"}
names = ["start", "len", "pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows_new", "hosts",
         "ctl_pkts", "drops"]
bad, seen = [], 0
for line in open(sys.argv[2]):
    route, row = line.split()
    f = [int(x) for x in row.split(":")]
    o = bins.get((route, f[0]))
    seen += 1
    if o is None or f[:10] != [o[n] for n in names]:
        bad.append(f"{route} {row} vs {o}")
if seen != len(bins) or not bins:
    bad.append(f"{seen} bins in Redis, {len(bins)} reported")
print("; ".join(bad[:4]) or seen)
sys.exit(1 if bad else 0)
PY
); then
    ok "Redis bins equal the $out bins (route x time) the sensor reported"
else
    not_ok "Redis bins: $out"
fi
TTL=$(rcli TTL "blackout:{live}:heartbeat")
[ "$TTL" -gt 0 ] && ok "heartbeat with a TTL ($TTL s)" || not_ok "heartbeat TTL $TTL"

# Drops are accounted: a small ring under a flood at top speed may lose frames, and then
# frames counted plus drops reported equal frames sent, the bins carry the drops and a
# warning says so. (Whether it loses any depends on the machine's load: either way the
# sum holds.)
"$GEN" flood --packets 300000 --no-bins -o "$T/f.pcap" >/dev/null || not_ok "generator"
live_start --no-redis --json --bin 1 --buffer-mb 1
K0=$(kernel_drops)
send_pcap "$T/f.pcap" -K -t
LOST=$(($(kernel_drops) - K0))
sleep 1
live_stop TERM
# (a warning is due when a bin lost 0.1% of its frames: checked where it lost 1%)
read -r SEEN DROPS BIN_DROPS HEAVY < <(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
bins = [o for o in lines if o["type"] == "bin"]
s = lines[-1]
heavy = any(b["drops"] * 100 >= b["pkts_in"] + b["pkts_out"] + b["ctl_pkts"] + b["drops"] > 0
            for b in bins)
print(s["packets"], sum(r["drops"] for r in s["routes"].values()), sum(b["drops"] for b in bins),
      int(heavy))' "$T/live.out")
SENT=$(grep -Eo 'Successful packets: +[0-9]+' "$T/tcpreplay.out" | grep -Eo '[0-9]+$')
WARNED=$(grep -c 'frames lost in the last bin' "$T/live.err")
[ "$LOST" -gt 0 ] && echo "# the kernel dropped $LOST frames before the capture socket"
if [ "$((SEEN + DROPS + LOST))" -eq "$SENT" ] && [ "$BIN_DROPS" -eq "$DROPS" ] &&
    { [ "$HEAVY" -eq 0 ] || [ "$WARNED" -ge 1 ]; }; then
    ok "1 MB ring at top speed: $SEEN counted + $DROPS dropped = $SENT sent ($WARNED warning(s))"
else
    not_ok "drop accounting: $SEEN counted, $DROPS dropped ($BIN_DROPS in bins), $LOST by the kernel, $SENT sent, $WARNED warnings"
fi

done_testing
