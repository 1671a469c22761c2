#!/usr/bin/env bash
# Golden captures from the generator, replayed with --no-redis: per-route, per-direction
# packet and byte totals exactly the generator's; every field of every bin it wrote down
# (pkts, bytes, hosts, control packets) equal; each route's bins contiguous from the first to
# the last and summing to the totals; routing by VLAN and by router MAC giving the same totals;
# the same counts from every link type (Ethernet, SLL, SLL2, raw IP, BSD null and loopback),
# from pcapng, from stdin, and from the capture split into two files read in order.
. "$(dirname "$0")/lib.sh"
need_gen
VLAN=(--route cn=vlan:100 --route ru=vlan:101)
MAC=(--route cn=mac:02:00:00:00:01:00 --route ru=mac:02:00:00:00:01:01)

# compare_expect EXPECT OUT.json [merged]: the sensor's output against the generator's
# expect file. With "merged" the routes cannot be told apart (no layer 2): route "all"
# carries the sum.
compare_expect() {
    python3 - "$@" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
merged = len(sys.argv) > 3
lines = [json.loads(l) for l in open(sys.argv[2])]
summary = lines[-1]
assert summary["type"] == "summary", "last line is not the summary"
bins = [o for o in lines if o["type"] == "bin"]
keys = ["pkts_in", "pkts_out", "bytes_in", "bytes_out"]
bad = []
if summary["packets"] != exp["packets"]:
    bad.append(f"packets {summary['packets']}, expected {exp['packets']}")
if summary["decode"]["ok"] != exp["packets"]:
    bad.append(f"decode {summary['decode']}")
want = {r: {k: e[k] for k in keys} for r, e in exp["routes"].items()}
if merged:
    want = {"all": {k: sum(w[k] for w in want.values()) for k in keys}}
for r, w in want.items():
    got = {k: summary["routes"].get(r, {}).get(k) for k in keys}
    if got != w:
        bad.append(f"route {r}: {got}, expected {w}")
step = exp["bin"]
for r in summary["routes"]:
    mine = sorted((o for o in bins if o["route"] == r), key=lambda o: o["start"])
    if not mine:
        continue
    starts = [o["start"] for o in mine]
    if starts != list(range(starts[0], starts[-1] + step, step)):
        bad.append(f"route {r}: bins not contiguous")
    for k in keys:
        if sum(o[k] for o in mine) != summary["routes"][r][k]:
            bad.append(f"route {r}: bins' {k} do not add up to the total")
if not merged:
    by = {(o["route"], o["start"]): o for o in bins}
    for r, lst in exp["bins"].items():
        for b in lst:
            o = by.get((r, b["start"]))
            for k in keys + ["hosts", "ctl_pkts"]:
                if o is None or o[k] != b[k]:
                    bad.append(f"bin {r} {b['start']} {k}: {o and o[k]}, expected {b[k]}")
                    break
for line in bad[:8]:
    print(line)
sys.exit(1 if bad else 0)
PY
}

# replay WHAT EXPECT OUT [merged] -- blackout arguments: one replay, then check.
replay() {
    local what=$1 expect=$2 out=$3 merged=$4
    shift 5
    if ! "$BO" replay --no-redis --json --sensor g "$@" >"$out" 2>"$T/err"; then
        not_ok "$what: exit $?: $(head -2 "$T/err")"
        return
    fi
    local diff
    if diff=$(compare_expect "$expect" "$out" $merged); then
        ok "$what: totals, bins and hosts exact"
    else
        not_ok "$what: $diff"
    fi
}

"$GEN" golden -o "$T/g.pcap" >/dev/null || not_ok "generator"
replay "ethernet, VLAN rules" "$T/g.expect.json" "$T/vlan.json" "" -- "${VLAN[@]}" "$T/g.pcap"
replay "ethernet, MAC rules" "$T/g.expect.json" "$T/mac.json" "" -- "${MAC[@]}" "$T/g.pcap"
python3 - "$T/vlan.json" "$T/mac.json" <<'PY' && ok "VLAN and MAC routing: the same totals" ||
import json, sys
a, b = (json.loads(open(f).readlines()[-1])["routes"] for f in sys.argv[1:])
assert a == b, (a, b)
PY
    not_ok "VLAN and MAC routing differ"
replay "ethernet, no rules (route all)" "$T/g.expect.json" "$T/all.json" merged -- "$T/g.pcap"
replay "stdin" "$T/g.expect.json" "$T/stdin.json" "" -- "${VLAN[@]}" - <"$T/g.pcap"

"$GEN" golden --mark mac -o "$T/m.pcap" >/dev/null || not_ok "generator"
replay "MAC only on the wire" "$T/m.expect.json" "$T/m.json" "" -- "${MAC[@]}" "$T/m.pcap"
"$GEN" golden --pcapng -o "$T/n.pcapng" >/dev/null || not_ok "generator"
replay "pcapng" "$T/n.expect.json" "$T/n.json" "" -- "${VLAN[@]}" "$T/n.pcapng"
for link in sll sll2; do
    "$GEN" golden --link $link -o "$T/$link.pcap" >/dev/null || not_ok "generator"
    replay "link $link, MAC rules" "$T/$link.expect.json" "$T/$link.json" "" -- "${MAC[@]}" \
        "$T/$link.pcap"
done
for link in raw null loop; do
    "$GEN" golden --link $link -o "$T/$link.pcap" >/dev/null || not_ok "generator"
    replay "link $link" "$T/$link.expect.json" "$T/$link.json" merged -- "$T/$link.pcap"
done

# the capture in two files, read in order: the same as one
python3 - "$T/g.pcap" 40000 "$T/part1.pcap" "$T/part2.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off = 24
for _ in range(int(sys.argv[2])):
    off += 16 + struct.unpack_from("<I", data, off + 8)[0]
open(sys.argv[3], "wb").write(data[:off])
open(sys.argv[4], "wb").write(data[:24] + data[off:])
PY
replay "two files in order" "$T/g.expect.json" "$T/two.json" "" -- "${VLAN[@]}" \
    "$T/part1.pcap" "$T/part2.pcap"
done_testing
