#!/usr/bin/env bash
# Every country at once. Five generator captures, one per country (KP blacked out on every
# route, IR with an outage of cn only, MM, CU and ET steady), are merged into one capture by
# tests/countries.py (the generator's KP blocks moved to each country's blocks). Registry
# files written here (two classic, two extended; countries without traffic too) and a
# MaxMind DB made from them (tests/mmdb-write) are the sources. Replayed with --country all
# and with a list, through the registry files and through the database: every country's
# per-route totals are exactly the generator's, KP raises country_down (and country_up)
# only, IR route_down (and route_up) of cn only, the steady countries and the countries
# without traffic nothing; into Redis, the per-country keys hold the same totals. Packets
# between two watched countries count for both (in for the one they go to, out for the one
# they come from).
. "$(dirname "$0")/lib.sh"
need_gen
PY=/usr/bin/python3

# ---- sources: every block of the captures, and countries that carry no traffic ----
cat >"$T/apnic.txt" <<'EOF'
2|apnic|20250601|7|19830613|20250531|+1000
apnic|*|asn|*|1|summary
apnic|*|ipv4|*|5|summary
apnic|*|ipv6|*|1|summary
apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated
apnic|KP|ipv4|210.52.109.0|256|20091221|allocated
apnic|MM|ipv4|103.25.12.0|1024|20120101|allocated
apnic|MM|ipv4|103.25.16.0|512|20120101|assigned
apnic|CN|ipv4|1.0.1.0|768|20110414|allocated
apnic|KP|asn|131279|1|20090101|allocated
apnic|CN|ipv6|2001:db8:c000::|36|20110414|allocated
EOF
cat >"$T/lacnic.txt" <<'EOF'
2|lacnic|20250601|3|19870101|20250531|-0300
lacnic|*|ipv4|*|3|summary
lacnic|CU|ipv4|152.206.0.0|1024|20030101|allocated
lacnic|CU|ipv4|152.207.0.0|768|20030101|allocated
lacnic|BR|ipv4|200.160.0.0|4096|19980101|allocated
EOF
cat >"$T/ripencc-extended.txt" <<'EOF'
2.3|ripencc|1749254400|6|19830705|20250606|+0200
ripencc|*|ipv4|*|5|summary
ripencc|*|ipv6|*|1|summary
ripencc|RU|ipv4|77.94.32.0|4096|20060101|allocated|f7a1
ripencc|KP|ipv4|77.94.35.0|256|20100712|assigned|c3d0
ripencc|IR|ipv4|2.176.0.0|1024|20100712|allocated|9e2b
ripencc|IR|ipv4|2.177.0.0|512|20100712|allocated|9e2b
ripencc|DE|ipv4|198.51.100.0|256|20100712|allocated|a1b2
ripencc|ZZ|ipv4|203.0.113.0|256||available|
ripencc|DE|ipv6|2001:db8:de00::|40|20120101|allocated|a1b2
EOF
cat >"$T/afrinic-extended.txt" <<'EOF'
2.3|afrinic|1749254400|3|00000000|20250606|00000
afrinic|*|ipv4|*|3|summary
afrinic|ET|ipv4|197.156.64.0|1536|20100712|allocated|e71a
afrinic|ZA|ipv4|41.0.0.0|65536|20070101|allocated|2f0c
afrinic||ipv4|41.1.0.0|256||reserved|
EOF
RIR=(--rir "$T/apnic.txt" --rir "$T/lacnic.txt" --rir "$T/ripencc-extended.txt" --rir "$T/afrinic-extended.txt")
# the same addresses as a MaxMind DB (RU's /20 before KP's /24 inside it: the later wins)
if ! cat "$T/apnic.txt" "$T/lacnic.txt" "$T/ripencc-extended.txt" "$T/afrinic-extended.txt" |
    tests/mmdb-write --rir "$T/geo.mmdb" 2>"$T/mmdb.err"; then
    not_ok "tests/mmdb-write: $(head -1 "$T/mmdb.err") (scripts/install-deps installs libmaxmind-db-writer-perl)"
    done_testing
fi
GEO=(--geoip "$T/geo.mmdb")

# ---- the capture: 30 minutes per country, outages from 20 to 25 min ----
# (a 10-minute warm-up, 2 conversations/s per route: every decision takes a bin or two)
G=(--no-bins --duration 1800 --rate 2 --bg 1)
"$GEN" blackout "${G[@]}" --seed 1 --outage 1200:1500 -o "$T/kp.pcap" >/dev/null || not_ok "generator: KP"
"$GEN" blackout "${G[@]}" --seed 2 --outage 1200:1500:cn -o "$T/ir.pcap" >/dev/null || not_ok "generator: IR"
for s in 3:mm 4:cu 5:et; do # steady traffic, no event
    "$GEN" golden "${G[@]}" --no-encap-mix --seed "${s%:*}" -o "$T/${s#*:}.pcap" >/dev/null ||
        not_ok "generator: ${s#*:}"
done
$PY tests/countries.py "$T/all.pcap" KP="$T/kp.pcap" \
    IR="$T/ir.pcap:2.176.0.0/22,2.177.0.0/24,2.177.1.0/24" \
    MM="$T/mm.pcap:103.25.12.0/22,103.25.16.0/24,103.25.17.0/24" \
    CU="$T/cu.pcap:152.206.0.0/22,152.207.0.0/24,152.207.1.0/24" \
    ET="$T/et.pcap:197.156.64.0/22,197.156.68.0/24,197.156.69.0/24" || not_ok "countries.py"
rm -f "$T"/{kp,ir,mm,cu,et}.pcap
ROUTES=(--route cn=vlan:100 --route ru=vlan:101 --warmup 600)

# verify OUT WATCHED: the replay's JSON lines against the generator's expectations, with the
# countries WATCHED (comma list) watched; prints what differs. Every watched country's
# totals per route exact, no other country anywhere, each country's events those of its
# generator capture (same events, routes and since), the control series the rest.
verify() {
    $PY - "$1" "$T/all.expect.json" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
exp = json.load(open(sys.argv[2]))["countries"]
watched = sys.argv[3].split(",")
s = lines[-1]
bad = []
assert s["type"] == "summary", s["type"]
if sorted(s["countries"]) != sorted(watched):
    bad.append(f"countries {sorted(s['countries'])}, expected {sorted(watched)}")
binned = {o["country"] for o in lines if o["type"] == "bin"}
if binned != set(watched):
    bad.append(f"bin lines of {sorted(binned)}")
for cc in watched:
    got = s["countries"].get(cc, {}).get("routes", {})
    for r, e in exp[cc]["routes"].items():
        for k in ("pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows"):
            if got.get(r, {}).get(k) != e[k]:
                bad.append(f"{cc}/{r} {k} {got.get(r, {}).get(k)}, expected {e[k]}")
    if any(got.get("other", {}).get(k, 0) for k in ("pkts_in", "pkts_out")):
        bad.append(f"{cc}/other carries traffic")
    events = [(o["event"], o["route"], o["since"]) for o in lines
              if o["type"] == "event" and o["country"] == cc]
    want = [(e["event"], e["route"], e["since"]) for e in exp[cc]["events"]]
    if events != want:
        bad.append(f"{cc} events {events}, expected {want}")
other = [o for o in lines if o["type"] == "event" and o["country"] not in watched]
if other:
    bad.append(f"events of no watched country: {other[:2]}")
for r in ("cn", "ru"):
    ctl = sum(e["ctl_pkts"][r] for e in exp.values()) + sum(
        e["routes"][r]["pkts_in"] + e["routes"][r]["pkts_out"]
        for cc, e in exp.items() if cc not in watched)
    if s["routes"][r]["ctl_pkts"] != ctl:
        bad.append(f"{r} ctl_pkts {s['routes'][r]['ctl_pkts']}, expected {ctl}")
print("; ".join(bad[:6]))
sys.exit(1 if bad else 0)
PY
}

# replay_check SOURCE-NAME WATCHED REPLAY-OPTIONS...: a --no-redis replay, verified.
replay_check() {
    local what=$1 watched=$2 out
    shift 2
    "$BO" replay --no-redis --json -q --sensor w "${ROUTES[@]}" "$@" "$T/all.pcap" >"$T/r.json" 2>"$T/r.err" ||
        not_ok "replay $*: exit $? $(head -2 "$T/r.err")"
    if out=$(verify "$T/r.json" "$watched"); then
        ok "$what: $watched, every route's totals exact, each country's events its capture's"
    else
        not_ok "$what: $out"
    fi
}
ALL=KP,IR,MM,CU,ET
replay_check "--country all, 4 registry files" "$ALL" --country all "${RIR[@]}"
replay_check "--country all, the MaxMind DB" "$ALL" --country all "${GEO[@]}"
replay_check "--country KP,ir,MM, 4 registry files (CU, ET: control traffic)" KP,IR,MM --country KP,ir,MM "${RIR[@]}"
replay_check "--country KP,IR,MM, the MaxMind DB" KP,IR,MM --country KP,IR,MM "${GEO[@]}"
replay_check "--country CU,ET,KP, registry files and MaxMind DB together" CU,ET,KP --country CU,ET,KP "${RIR[@]}" "${GEO[@]}"
# the steady countries' detectors came out of the warm-up and stayed up
$PY - "$T/r.json" <<'PY' && ok "the detectors of CU, ET (steady) and KP (back after its outage) are up at the end" ||
import json, sys
d = json.loads(open(sys.argv[1]).readlines()[-1])["detector"]["countries"]
for cc in ("CU", "ET", "KP"):
    assert d[cc]["state"] == "up", (cc, d[cc])
    assert all(d[cc]["routes"][r]["state"] == "up" for r in ("cn", "ru")), (cc, d[cc])
PY
    not_ok "detector states: $(tail -1 "$T/r.json" | head -c 600)"

# ---- through Redis: the per-country keys ----
redis_start
"$BO" replay -q --redis "$REDIS_URL" --sensor w --country all "${RIR[@]}" "${ROUTES[@]}" "$T/all.pcap" ||
    not_ok "replay into Redis"
$PY - "$T/all.expect.json" "$REDIS_PORT" <<'PY' && ok "Redis: blackout:{w}:totals:CC:R exact for every country and route, the pairs of the 5 countries only" ||
import json, subprocess, sys
exp = json.load(open(sys.argv[1]))["countries"]
def r(*a):
    return subprocess.run(["redis-cli", "--raw", "-p", sys.argv[2], *a], capture_output=True,
                          text=True, check=True).stdout.split("\n")[:-1]
pairs = set(r("SMEMBERS", "blackout:{w}:pairs"))
want = {f"{cc}/{route}" for cc in exp for route in ("cn", "ru", "other")}
assert pairs <= want and {p for p in want if not p.endswith("/other")} <= pairs, sorted(pairs)
for cc, e in exp.items():
    for route, t in e["routes"].items():
        h = r("HGETALL", f"blackout:{{w}}:totals:{cc}:{route}")
        got = dict(zip(h[::2], map(int, h[1::2])))
        for k in ("pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows"):
            assert got.get(k) == t[k], (cc, route, k, got.get(k), t[k])
PY
    not_ok "Redis totals: $(rcli SMEMBERS 'blackout:{w}:pairs' | paste -sd' ')"
rcli --raw XRANGE blackout:alerts - + | $PY -c '
import sys
f = sys.stdin.read().split("\n")
ev = sorted((f[i + 3], f[i + 5], f[i + 1]) for i, x in enumerate(f) if x == "event")
assert ev == [("IR", "cn", "route_down"), ("IR", "cn", "route_up"), ("KP", "*", "country_down"),
              ("KP", "*", "country_up")], ev' &&
    [ "$(rcli HGET blackout:state 'w/KP/*')" = up ] && [ "$(rcli HGET blackout:state w/IR/cn)" = up ] &&
    [ "$(rcli HGET blackout:state 'w/MM/*')" = up ] && [ -z "$(rcli HGET blackout:state 'w/RU/*')" ] &&
    ok "Redis: the alerts stream holds KP's country events and IR's route events only; Pstate w/CC/R" ||
    not_ok "alerts: $(rcli XRANGE blackout:alerts - + | head -40 | paste -sd' ')"

# ---- packets between two watched countries count for both ----
# Each line: source, destination, VLAN (100 cn, 101 ru), packets, payload bytes. KP and IR
# talk both ways, MM sends to CU, ET to ET (inside one country: out, once), KP to and from
# an address of no country.
cat >"$T/cross.txt" <<'EOF'
175.45.177.10 2.176.1.20 100 3 100
2.176.1.20 175.45.177.10 100 2 700
103.25.16.5 152.206.1.9 101 4 60
197.156.65.1 197.156.68.2 101 2 300
175.45.176.7 6.1.2.3 101 1 40
6.1.2.3 175.45.176.7 101 1 1000
EOF
$PY - "$T/cross.txt" "$T/cross.pcap" <<'PY' || not_ok "the cross-country capture"
import socket, struct, sys
out = open(sys.argv[2], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
t = 1749254400
for n, line in enumerate(open(sys.argv[1])):
    src, dst, vlan, count, size = line.split()
    for k in range(int(count)):
        udp = struct.pack("!HHHH", 40000 + n, 5000, 8 + int(size), 0) + bytes(int(size))
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), k, 0, 64, 17, 0)
        ip += socket.inet_aton(src) + socket.inet_aton(dst) + udp
        frame = (b"\x02\0\0\0\0\x01\x02\0\0\0\x01\0" + struct.pack("!HHH", 0x8100, int(vlan), 0x0800)
                 + ip)
        out.write(struct.pack("<IIII", t, n * 10000 + k * 1000, len(frame), len(frame)))
        out.write(frame)
PY
# cross_check SELECTION SOURCE-NAME SOURCE-OPTIONS...: each country's in/out packets and
# bytes per route and its flows, against the rule applied to the lines of cross.txt
cross_check() {
    local sel=$1 what=$2 out
    shift 2
    "$BO" replay --no-redis --json -q --route cn=vlan:100 --route ru=vlan:101 --country "$sel" "$@" \
        "$T/cross.pcap" 2>"$T/x.err" | tail -1 >"$T/x.json"
    if out=$($PY - "$T/cross.txt" "$T/x.json" "$sel" <<'PY'
import collections, ipaddress, json, sys
blocks = {"KP": "175.45.176.0/22", "IR": "2.176.0.0/22", "MM": "103.25.16.0/23",
          "CU": "152.206.0.0/22", "ET": "197.156.64.0/21"}
sel = sys.argv[3].upper()
watched = set(blocks) if sel == "ALL" else set(sel.split(","))
def country(a):
    for cc, b in blocks.items():
        if cc in watched and ipaddress.ip_address(a) in ipaddress.ip_network(b):
            return cc
want = collections.defaultdict(lambda: collections.Counter())
for line in open(sys.argv[1]):
    src, dst, vlan, count, size = line.split()
    n, wire = int(count), 14 + 4 + 20 + 8 + int(size)
    route = "cn" if vlan == "100" else "ru"
    s, d = country(src), country(dst)
    if s and s == d:  # both ends inside one country: out, once
        d = None
    for cc, way in ((d, "in"), (s, "out")):
        if cc:
            want[(cc, route)]["pkts_" + way] += n
            want[(cc, route)]["bytes_" + way] += n * wire
            want[(cc, route)]["flows"] += 1
got = {}
for cc, c in json.load(open(sys.argv[2]))["countries"].items():
    for route, t in c["routes"].items():
        x = collections.Counter({k: t[k] for k in ("pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows")})
        if +x:
            got[(cc, route)] = +x
want = {k: +v for k, v in want.items()}
print(" ".join(f"{cc}/{r}:{dict(v)}" for (cc, r), v in sorted(got.items())))
sys.exit(0 if got == want else 1)
PY
    ); then
        ok "between watched countries, --country $sel, $what: $out"
    else
        not_ok "between watched countries, --country $sel, $what: got $out $(cat "$T/x.err")"
    fi
}
cross_check all "registry files" "${RIR[@]}"
cross_check all "MaxMind DB" "${GEO[@]}"
cross_check KP,MM "registry files" "${RIR[@]}"
cross_check IR "MaxMind DB" "${GEO[@]}"
# through Redis: the same packets under both countries' keys
"$BO" replay -q --redis "$REDIS_URL" --sensor x --country all "${RIR[@]}" --route cn=vlan:100 \
    --route ru=vlan:101 "$T/cross.pcap" || not_ok "cross replay into Redis"
kp=$(rcli HMGET 'blackout:{x}:totals:KP:cn' pkts_in pkts_out | paste -sd' ')
ir=$(rcli HMGET 'blackout:{x}:totals:IR:cn' pkts_in pkts_out | paste -sd' ')
[ "$kp" = "2 3" ] && [ "$ir" = "3 2" ] &&
    ok "Redis: KP->IR counts out for KP:cn and in for IR:cn (KP in/out $kp, IR $ir)" ||
    not_ok "Redis cross totals: KP:cn $kp, IR:cn $ir"
done_testing
