#!/usr/bin/env bash
# Mirror transports and tunnels. Golden: the generator's capture wrapped in each of them
# (blackout-gen --wrap) counts exactly as its bare twin (every bin line and the per-route
# totals, protocols and flows equal; every frame decapsulated once), routed by the inner
# frame's VLAN and, with the inner VLAN removed, by erspan:ID and vni:ID; --tunnels off
# counts a tunnel's outer packet (as before tunnels were opened). Real captures of
# ../shared/pcaps: what each ERSPAN, VXLAN, GENEVE, GRE and GTP-U capture holds is listed,
# and some of it checked (skipped when the folder is absent).
. "$(dirname "$0")/lib.sh"
need_gen
VLAN=(--route cn=vlan:100 --route ru=vlan:101)
gen() { "$GEN" golden --duration 200 "$@" >/dev/null || not_ok "generator $*"; } # 29k frames

# replay OUT ARGS...: one replay with --json into OUT.
replay() {
    local out=$1
    shift
    "$BO" replay --no-redis --json --sensor g "$@" >"$out" 2>"$T/err" || {
        not_ok "replay $*: exit $?: $(head -2 "$T/err")"
        return 1
    }
}

# twins WHAT BARE.json WRAPPED.json COUNTER: the wrapped capture's output equals the bare
# one's (every bin line; per-route totals, protocols, flows; packets and decode statuses);
# every packet opened once as COUNTER (or none with "-").
twins() {
    local diff
    if diff=$(python3 - "$2" "$3" "$4" <<'PY'
import json, sys
def load(f):
    lines = [json.loads(l) for l in open(f)]
    return [o for o in lines if o["type"] == "bin"], lines[-1]
bare_bins, bare = load(sys.argv[1])
bins, s = load(sys.argv[2])
counter = sys.argv[3]
bad = []
if bins != bare_bins:
    diff = [(a, b) for a, b in zip(bins, bare_bins) if a != b]
    bad.append(f"{len(diff) + abs(len(bins) - len(bare_bins))} bin lines differ, first {diff[:1]}")
if s["routes"] != bare["routes"]:
    bad.append(f"routes {s['routes']} != {bare['routes']}")
if s["packets"] != bare["packets"]:
    bad.append(f"packets {s['packets']} != {bare['packets']}")
opened = s["decode"].pop("decapsulated")
for k in opened:
    want = s["packets"] if k == counter else 0
    if opened[k] != want:
        bad.append(f"decapsulated {k} {opened[k]}, expected {want}")
bare["decode"].pop("decapsulated")
if s["decode"] != bare["decode"]:
    bad.append(f"decode {s['decode']} != {bare['decode']}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
    ); then
        ok "$1: every bin, total, protocol and flow equal to the bare twin's"
    else
        not_ok "$1: $diff"
    fi
}

# ---- each encapsulation against the bare capture, routed by the (inner) VLAN ----
gen -o "$T/bare.pcap"
replay "$T/bare.json" "${VLAN[@]}" "$T/bare.pcap"
for w in erspan1:erspan_i erspan2:erspan_ii erspan3:erspan_iii vxlan:vxlan geneve:geneve \
    gre-teb:gre_teb ipip:ipip gre-ip:gre_ip gtpu:gtp_u; do
    gen --wrap "${w%%:*}" -o "$T/w.pcap"
    replay "$T/w.json" "${VLAN[@]}" "$T/w.pcap" && twins "--wrap ${w%%:*}" "$T/bare.json" "$T/w.json" "${w##*:}"
done

# IPv6 conversations in IPv4 tunnels: 6in4 (IP protocol 41) beside IP in IP
gen --v6 2001:db8:100::/48 -o "$T/bare6.pcap"
gen --v6 2001:db8:100::/48 --wrap ipip -o "$T/w6.pcap"
replay "$T/bare6.json" "${VLAN[@]}" "$T/bare6.pcap"
replay "$T/w6.json" "${VLAN[@]}" "$T/w6.pcap"
if out=$(python3 - "$T/bare6.json" "$T/w6.json" <<'PY'
import json, sys
a, b = (json.loads(open(f).readlines()[-1]) for f in sys.argv[1:])
d = b["decode"]["decapsulated"]
ok = a["routes"] == b["routes"] and d["6in4"] > 0 and d["6in4"] + d["ipip"] == b["packets"]
print(f"6in4 {d['6in4']}, ipip {d['ipip']} of {b['packets']}")
sys.exit(0 if ok else 1)
PY
); then ok "6in4 and IP in IP: the routes of the bare twin ($out)"; else not_ok "6in4: $out"; fi

# ---- mirror sessions: the inner VLAN removed, routes by ERSPAN session and VNI ----
gen --mark mac -o "$T/m.pcap"
replay "$T/m.json" --route cn=mac:02:00:00:00:01:00 --route ru=mac:02:00:00:00:01:01 "$T/m.pcap"
for w in erspan2:erspan:erspan_ii erspan3:erspan:erspan_iii vxlan:vni:vxlan geneve:vni:geneve; do
    IFS=: read -r kind sel counter <<<"$w"
    gen --mark mac --wrap "$kind" -o "$T/w.pcap"
    replay "$T/w.json" --route "cn=$sel:100" --route "ru=$sel:101" "$T/w.pcap" &&
        twins "--wrap $kind, no inner VLAN, routes $sel:100 and $sel:101" "$T/m.json" "$T/w.json" "$counter"
done
# combined with the other forms: a session or a VLAN (the VLAN-tagged twin, routed by VLAN)
gen --wrap erspan2 -o "$T/e.pcap"
replay "$T/e.json" --route cn=erspan:100,vlan:100 --route ru=vlan:101,erspan:101 "$T/e.pcap" &&
    twins "routes erspan:100,vlan:100 and vlan:101,erspan:101" "$T/bare.json" "$T/e.json" erspan_ii

# ---- --tunnels off: the outer packet of a tunnel, as before tunnels were opened ----
gen --wrap gre-ip -o "$T/t.pcap"
replay "$T/t.json" "${VLAN[@]}" --tunnels off "$T/t.pcap"
if out=$(python3 - "$T/t.json" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).readlines()[-1])
country = sum(r["pkts_in"] + r["pkts_out"] for r in s["routes"].values())
ctl = sum(r["ctl_pkts"] for r in s["routes"].values())
opened = sum(s["decode"]["decapsulated"].values())
print(f"country {country}, control {ctl} of {s['packets']}, opened {opened}")
sys.exit(0 if country == 0 and ctl == s["packets"] and opened == 0 else 1)
PY
); then ok "--tunnels off: every tunnel packet is the outer one ($out)"; else not_ok "--tunnels off: $out"; fi
gen --wrap vxlan -o "$T/v.pcap"
replay "$T/v.json" "${VLAN[@]}" --tunnels off "$T/v.pcap" &&
    twins "--tunnels off leaves mirror transports opened (vxlan)" "$T/bare.json" "$T/v.json" vxlan

expect_exit 2 "--tunnels takes on or off" "$BO" replay --no-redis --tunnels maybe "$T/t.pcap"
[[ $LAST_ERR == "blackout: --tunnels: bad value 'maybe' (on or off)" ]] || not_ok "message: $LAST_ERR"
expect_exit 2 "a VNI has 24 bits" "$BO" replay --no-redis --route cn=vni:16777216 "$T/t.pcap"

# ---- real captures: what they hold ----
if [ ! -d "$SHARED/pcaps" ]; then
    skip "$SHARED/pcaps is absent: real encapsulated captures not checked"
    done_testing
fi
printf '0.0.0.0/0\n::/0\n' >"$T/all.txt"
: >"$T/inside"
for f in "$SHARED"/pcaps/tcpdump/{erspan-type-*,vxlan*,geneve*,various_gre,gso-*-*-*,bigtcp-*-*-*}.pcap \
    "$SHARED"/pcaps/ndpi/{vxlan,4in4tunnel,4in6tunnel,6in4tunnel,6in6tunnel}.pcap \
    "$SHARED"/pcaps/ndpi/{ja3_lots_of_cipher_suites_2_anon.pcap,reasm_segv_anon.pcapng}; do
    [ -e "$f" ] || continue
    "$BO" replay --no-redis --json --flows --prefixes "$T/all.txt" "$f" >"$T/r.json" 2>"$T/err" ||
        not_ok "$(basename "$f"): exit $?: $(head -1 "$T/err")"
    python3 - "$f" "$T/r.json" >>"$T/inside" <<'PY'
import collections, json, sys
flows, s = collections.Counter(), None
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["type"] == "flow":
        flows[(o["proto"], o["src"], o["dst"])] += o["pkts_in"] + o["pkts_out"]
    elif o["type"] == "summary":
        s = o
d = s["decode"]
opened = " ".join(f"{k} {v}" for k, v in d.pop("decapsulated").items() if v) or "nothing opened"
status = " ".join(f"{k} {v}" for k, v in d.items() if v)
inner = "; ".join(f"{p} {a} > {b} ({n})" for (p, a, b), n in flows.most_common(3))
name = "/".join(sys.argv[1].split("/")[-2:])
print(f"{name}: {s['packets']} packets, {opened}; {status}; {inner}")
PY
done
sed 's/^/# /' "$T/inside"
# expect FILE TEXT...: the line of FILE holds every TEXT.
expect() {
    local f=$1 line t
    shift
    line=$(grep "^$f: " "$T/inside")
    for t in "$@"; do
        if [[ $line != *"$t"* ]]; then
            not_ok "$f: '$t' not in: $line"
            return
        fi
    done
    ok "$f: $*"
}
expect tcpdump/erspan-type-i-1.pcap "erspan_i 2" "ICMP 10.52.128.233 > 10.52.128.234 (2)"
expect tcpdump/erspan-type-i-4.pcap "erspan_i 88 gre_ip 8" "ICMP 10.1.1.100 > 10.1.1.1 (80)"
expect tcpdump/erspan-type-ii-1.pcap "erspan_ii 1" "10.48.6.1 > 224.0.0.13"
expect tcpdump/erspan-type-iii-ft-0.pcap "erspan_iii 9" "ICMP 10.29.11.1 > 10.29.20.21 (9)"
expect tcpdump/erspan-type-iii-ft-7.pcap "nothing opened" "unsupported 58"
expect tcpdump/vxlan.pcap "vxlan 10" "ok 8 not_ip 2" "ICMP 192.168.203.3 > 192.168.203.5 (8)"
expect tcpdump/vxlan_port_8472.pcap "vxlan 10" "ICMP 192.168.203.3 > 192.168.203.5 (8)"
expect tcpdump/geneve.pcap "geneve 39" "SSH 30.0.0.2 > 30.0.0.1 (33)"
expect ndpi/6in4tunnel.pcap "6in4 127" "2001:470:1f17:13f:3e97:eff:fe73:4dec"
expect ndpi/reasm_segv_anon.pcapng "gtp_u 82" "HTTP 172.17.36.21 > 63.190.145.43 (82)"
done_testing
