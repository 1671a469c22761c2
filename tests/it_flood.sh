#!/usr/bin/env bash
# A spoofed-source SYN flood of two million distinct flows (100 s, 10,000 SYNs/s on each of
# two routes, 64-byte snaplen) replayed with --max-flows 65536 --host-cap 1024: memory stays
# bounded by the caps, the refused flows are counted (the HyperLogLog estimate within 3% of
# the truth), and counting goes on: every bin is emitted with the exact packet and byte
# counts, the estimated host counts are within 3%, and the detector learns from the bins.
#
# Memory cap, 64 MB: at --max-flows 65536 the sensor peaks near 38 MB here (flow table,
# nDPI pools, the classifier's ring, read buffer, libraries). A table that grew with the
# flood would cross 64 MB long before two million flows.
. "$(dirname "$0")/lib.sh"
need_gen
CAP_KB=$((64 * 1024))

t0=$SECONDS
"$GEN" flood --rate 1 --duration 100 --flows 3000000 --syn-flood 0:100:10000 --snaplen 64 \
    -o "$T/f.pcap" >/dev/null || not_ok "generator"
FLOWS=$(python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(sum(r["flows"] for r in e["routes"].values()))' "$T/f.expect.json")
echo "# generated $FLOWS flows, $(($(stat -c %s "$T/f.pcap") >> 20)) MB in $((SECONDS - t0)) s"
[ "$FLOWS" -ge 2000000 ] && ok "the capture holds $FLOWS distinct flows" || not_ok "only $FLOWS flows"

# run OUT ARGS...: the sensor as a child of Python, which reads its peak RSS (KB) from
# wait4's rusage; sets RC and RSS_KB.
run() {
    local out=$1
    shift
    read -r RC RSS_KB < <(python3 - "$out" "$@" <<'PY'
import os, subprocess, sys
with open(sys.argv[1], "wb") as out:
    p = subprocess.Popen(sys.argv[2:], stdout=out)
    _, status, ru = os.wait4(p.pid, 0)
print(os.waitstatus_to_exitcode(status), ru.ru_maxrss)
PY
)
}

t0=$SECONDS
run "$T/out.json" "$BO" replay --no-redis --json --max-flows 65536 --host-cap 1024 \
    --route cn=vlan:100 --route ru=vlan:101 "$T/f.pcap"
took=$((SECONDS - t0))
[ "$RC" -eq 0 ] && ok "replay exits 0 in $took s" || not_ok "replay: exit $RC"
[ "$RSS_KB" -le "$CAP_KB" ] && ok "peak RSS $((RSS_KB / 1024)) MB <= $((CAP_KB / 1024)) MB" ||
    not_ok "peak RSS $((RSS_KB / 1024)) MB over $((CAP_KB / 1024)) MB"

if out=$(python3 - "$T/f.expect.json" "$T/out.json" "$FLOWS" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
flows = int(sys.argv[3])
bins, s = {}, None
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["type"] == "bin":
        bins[(o["route"], o["start"])] = o
    elif o["type"] == "summary":
        s = o
bad = []
ft = s["flow_table"]
truth = flows - ft["created"]
est = ft["refused_flows"]
print(f"flow table: peak {ft['peak']}, created {ft['created']}, refused flows {est} "
      f"(truth {truth}), refused packets {ft['refused_pkts']}")
if ft["peak"] > 65536:
    bad.append(f"table peak {ft['peak']} over --max-flows")
if truth <= 0 or abs(est - truth) > 0.03 * truth:
    bad.append(f"refused flows {est}, truth {truth}")
if ft["refused_pkts"] < truth:
    bad.append(f"refused packets {ft['refused_pkts']} < refused flows {truth}")
for r, e in exp["routes"].items():
    for k in ("pkts_in", "pkts_out", "bytes_in", "bytes_out"):
        if s["routes"][r][k] != e[k]:
            bad.append(f"{r} {k}: {s['routes'][r][k]}, expected {e[k]}")
    for b in exp["bins"][r]:
        g = bins.get((r, b["start"]))
        if g is None:
            bad.append(f"bin {r} {b['start']} missing")
            continue
        for k in ("pkts_in", "pkts_out", "bytes_in", "bytes_out"):
            if g[k] != b[k]:
                bad.append(f"bin {r} {b['start']} {k}: {g[k]}, expected {b[k]}")
        if abs(g["hosts"] - b["hosts"]) > max(1, 0.03 * b["hosts"]):
            bad.append(f"bin {r} {b['start']} hosts: {g['hosts']}, expected {b['hosts']}")
    det = s["detector"]["countries"]["KP"]["routes"][r]
    if not det["baseline_pps"] > 0:
        bad.append(f"detector {r}: {det}")
nb = len(exp["bins"]["cn"])
print(f"{nb} bins per route, each exact; detector baseline cn {s['detector']['countries']['KP']['routes']['cn']['baseline_pps']} pps")
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
); then
    ok "$(echo "$out" | head -1)"
    ok "$(echo "$out" | sed -n 2p)"
else
    not_ok "$out"
fi
done_testing
