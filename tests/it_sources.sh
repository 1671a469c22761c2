#!/usr/bin/env bash
# Country sources end to end: registry files written here in the classic and extended
# formats, a MaxMind DB written by tests/mmdb-write, a prefix file with a country column; a
# capture of packets to and from addresses of each country; `blackout replay --country`
# with one country, a list and `all` counts exactly the packets with an end in a watched
# country, the most specific prefix of all sources deciding. Bad sources exit 2 with one
# line naming the file (and line). The real registry files of ../shared/data/rir load, when
# present.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# ---- sources ----
cat >"$T/apnic.txt" <<'EOF'
2|apnic|20250601|4|19830613|20250531|+1000
apnic|*|ipv4|*|3|summary
apnic|*|ipv6|*|1|summary
apnic|KP|ipv4|175.45.176.0|1024|20091221|allocated
apnic|CN|ipv4|1.0.1.0|768|20110414|allocated
apnic|KP|asn|131279|1|20090101|allocated
apnic|KP|ipv6|2001:db8:4b50::|48|20200101|allocated
apnic||ipv4|1.0.0.0|256||reserved
EOF
cat >"$T/ripencc-extended.txt" <<'EOF'
# extended format: opaque ids, available and reserved lines
2.3|ripencc|1749254400|5|19830705|20250606|+0200
ripencc|*|ipv4|*|4|summary
ripencc|DE|ipv4|198.51.100.0|256|20100712|allocated|a1b2c3
ripencc|FR|ipv4|198.51.100.128|64|20100712|assigned|d4e5f6
ripencc|ZZ|ipv4|203.0.113.0|256||available|
ripencc|ZZ|ipv4|203.0.112.0|256||reserved|ietf|iana
ripencc|DE|ipv6|2001:db8:de00::|40|20120101|allocated|a1b2c3
EOF
if ! printf '10.0.0.0/8 CN\n10.1.0.0/16 IR\n2001:db8:1000::/36 IR\n' |
    tests/mmdb-write "$T/geo.mmdb" 2>"$T/mmdb.err"; then
    not_ok "tests/mmdb-write: $(head -1 "$T/mmdb.err") (scripts/install-deps installs libmaxmind-db-writer-perl)"
    done_testing
fi
printf '# operator overrides\n10.9.0.0/16 IT\n1.0.2.0/24 MM\n' >"$T/own.txt"
SOURCES=(--rir "$T/apnic.txt" --rir "$T/ripencc-extended.txt" --geoip "$T/geo.mmdb" --prefixes "$T/own.txt")

# ---- a capture: PACKETS packets between an outside host and each address ----
# address -> the country that must own it (most specific prefix of every source)
cat >"$T/hosts" <<'EOF'
175.45.177.9 KP
1.0.1.7 CN
1.0.2.7 MM
198.51.100.9 DE
198.51.100.130 FR
198.51.100.200 DE
10.0.0.9 CN
10.1.0.9 IR
10.9.0.9 IT
203.0.113.9 -
8.8.8.8 -
2001:db8:4b50::9 KP
2001:db8:de00::9 DE
2001:db8:1000::9 IR
2001:db8:2000::9 -
EOF
$PY - "$T/hosts" "$T/c.pcap" <<'EOF'
import socket, struct, sys
hosts = [l.split()[0] for l in open(sys.argv[1])]
out = open(sys.argv[2], "wb")
out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
t = 1749254400
def frame(src, dst, v6):
    udp = struct.pack("!HHHH", 40000, 53, 8 + 4, 0) + b"ping"
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(udp), 17, 64)
        ip += socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        et = 0x86DD
    else:
        ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0)
        ip += socket.inet_aton(src) + socket.inet_aton(dst)
        et = 0x0800
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", et) + ip + udp
for i, h in enumerate(hosts):
    v6 = ":" in h
    other = "2001:db8:ffff::1" if v6 else "100.64.0.1"
    for k in range(4):  # 2 toward the host, 2 from it
        f = frame(other, h, v6) if k % 2 == 0 else frame(h, other, v6)
        out.write(struct.pack("<IIII", t, (i * 4 + k) * 1000, len(f), len(f)))
        out.write(f)
EOF

# counted SELECTION...: packets counted (in + out) with --country SELECTION, and the expected
counted() {
    "$BO" replay --no-redis --json -q "$@" "$T/c.pcap" 2>"$T/err" |
        $PY -c 'import json,sys
for l in sys.stdin:
    o = json.loads(l)
    if o["type"] == "summary":
        r = o["routes"]["all"]; print(r["pkts_in"] + r["pkts_out"])'
}
expected() { # expected CC... : 4 packets per host of a listed country
    local n=0 cc
    while read -r _ cc; do
        for c in "$@"; do [ "$c" = "$cc" ] && n=$((n + 4)); done
    done <"$T/hosts"
    echo "$n"
}
for sel in all KP DE FR CN IR IT MM KP,DE,IR; do
    want=$(if [ "$sel" = all ]; then expected KP CN MM DE FR IR IT; else expected ${sel//,/ }; fi)
    got=$(counted --country "$sel" "${SOURCES[@]}")
    [ "$got" = "$want" ] && ok "--country $sel: $got packets, the most specific prefix of four sources deciding" ||
        not_ok "--country $sel: $got packets counted, want $want ($(cat "$T/err"))"
done
got=$(counted --country KP)
[ "$got" = 4 ] && ok "--country KP without a source: the built-in set, IPv4 only ($got packets)" ||
    not_ok "built-in KP: $got packets, want 4 ($(cat "$T/err"))"
printf '198.51.100.0/24\n2001:db8:de00::/40\n' >"$T/plain.txt"
got=$(counted --country DE --prefixes "$T/plain.txt")
[ "$got" = 16 ] && ok "a prefix file without a country column belongs to the one --country ($got)" ||
    not_ok "plain prefix file: $got packets, want 16 ($(cat "$T/err"))"

# ---- bad sources: exit 2, one line naming the file and line ----
bad_rir() { # bad_rir "LINE" "what the error says"
    printf '2|apnic|20250601|1|19830613|20250531|+1000\n%s\n' "$1" >"$T/bad.txt"
    expect_exit 2 "registry line '$1'" "$BO" replay --no-redis --country all --rir "$T/apnic.txt" \
        --rir "$T/bad.txt" "$T/c.pcap"
    [[ $LAST_ERR == "blackout: $T/bad.txt:2: $2"* ]] && ok "the error names file:line: $2" ||
        not_ok "error: '$LAST_ERR', want '$T/bad.txt:2: $2'"
}
bad_rir 'apnic|KP|ipv4|175.45.276.0|1024|20091221|allocated' "bad ipv4 address '175.45.276.0'"
bad_rir 'apnic|KP|ipv4|175.45.176.0|1O24|20091221|allocated' "bad ipv4 address count '1O24'"
bad_rir 'apnic|KP|ipv4|255.255.255.0|512|20091221|allocated' "bad ipv4 address count '512'"
bad_rir 'apnic|KP|ipv6|2001:db8::|129|20200101|allocated' "bad ipv6 prefix length '129'"
bad_rir 'apnic|KP|ipv6|2001:db8::1|48|20200101|allocated' "bad ipv6 prefix '2001:db8::1/48'"
bad_rir 'apnic|K9|ipv4|175.45.176.0|1024|20091221|allocated' "bad country code 'K9'"
bad_rir 'apnic|KP|ipv4|175.45.176.0' "expected registry|cc|type|start|value|date|status"
printf 'not a database\n' >"$T/not.mmdb"
expect_exit 2 "an mmdb that is not one" "$BO" replay --no-redis --country all --geoip "$T/not.mmdb" "$T/c.pcap"
[[ $LAST_ERR == "blackout: $T/not.mmdb: not a MaxMind DB"* ]] && ok "names the file: $LAST_ERR" || not_ok "mmdb error: $LAST_ERR"
for opt in --rir --geoip --prefixes; do
    expect_exit 2 "$opt of a file that does not exist" "$BO" replay --no-redis --country all "$opt" "$T/none" "$T/c.pcap"
    [[ $LAST_ERR == "blackout: $T/none: No such file or directory" ]] && ok "names the file" || not_ok "$opt error: $LAST_ERR"
done
printf '10.0.0.0/8 CN\n10.9.0.0/16\n' >"$T/nocc.txt"
expect_exit 2 "a prefix line without a country, --country all" "$BO" replay --no-redis --country all --prefixes "$T/nocc.txt" "$T/c.pcap"
[[ $LAST_ERR == "blackout: $T/nocc.txt:2: no country code after '10.9.0.0/16'"* ]] && ok "names file:line" || not_ok "error: $LAST_ERR"
printf '10.0.0.0/8 CHN\n' >"$T/badcc.txt"
expect_exit 2 "a malformed country code in a prefix file" "$BO" replay --no-redis --country all --prefixes "$T/badcc.txt" "$T/c.pcap"
[[ $LAST_ERR == "blackout: $T/badcc.txt:1: bad country code 'CHN'" ]] && ok "names file:line" || not_ok "error: $LAST_ERR"
expect_exit 2 "a country in none of the sources" "$BO" replay --no-redis --country KP,BR "${SOURCES[@]}" "$T/c.pcap"
[[ $LAST_ERR == "blackout: country 'BR' has no address in the loaded sources" ]] && ok "$LAST_ERR" || not_ok "error: $LAST_ERR"
expect_exit 2 "a malformed --country" "$BO" replay --no-redis --country KP,K1 "$T/c.pcap"
expect_exit 2 "ZZ is not a country" "$BO" replay --no-redis --country ZZ "$T/c.pcap"

# ---- the real registry files ----
rir=("$SHARED"/data/rir/delegated-*-20140630.txt)
if [ -e "${rir[0]}" ]; then
    args=()
    for f in "${rir[@]}"; do args+=(--rir "$f"); done
    got=$(counted --country all "${args[@]}")
    # of the hosts: KP 175.45.177.9, CN 1.0.1.7 and 1.0.2.7 (APNIC), 8.8.8.8 is ARIN's (absent)
    [ "$got" = 12 ] && ok "the ${#rir[@]} real registry files, every country: $got packets" ||
        not_ok "real registry files: $got packets, want 12 ($(cat "$T/err"))"
else
    skip "$SHARED/data/rir is absent: no real registry files"
fi
done_testing
