#!/usr/bin/env bash
# Self-check of blackout-gen, the project's deterministic traffic generator.
#
# Builds the tool, generates every scenario into a temporary directory and
# checks each capture against its expect file with tools that share no code
# with the generator: tcpdump (file structure, packet counts, checksums,
# per-route/per-direction packets and bytes through BPF filters) and
# ndpiReader (protocol labels and host names). Also checks that the same
# arguments give the same bytes. Exit status 0 when every check passes.
#
# Usage: tests/gen/check-gen.sh            (from anywhere in the repository)
# Needs: cc, tcpdump; ndpiReader (package libndpi-bin) for the label checks.
set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GEN=$ROOT/build/blackout-gen
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

FAILS=0
fail() {
    echo "FAIL: $*"
    FAILS=$((FAILS + 1))
}
ok() { echo "ok:   $*"; }

IN_F="dst net 175.45.176.0/22 or dst net 210.52.109.0/24 or dst net 77.94.35.0/24"
OUT_F="src net 175.45.176.0/22 or src net 210.52.109.0/24 or src net 77.94.35.0/24"

# ---- expect file readers (the writer puts each route on one line) ----

# top-level number: expect_num FILE KEY
expect_num() { grep -o "\"$2\":[0-9]*" "$1" | head -1 | cut -d: -f2; }

# route total: route_num FILE ROUTE FIELD
route_num() {
    grep "^  \"$2\":{\"vlan\"" "$1" | grep -o "\"$3\":[0-9]*" | head -1 | cut -d: -f2
}

ctl_num() { grep -o '"ctl_pkts":{[^}]*}' "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2; }

# event names in order, comma-separated
expect_events() {
    sed -n '/^"events":\[/,/\]/p' "$1" | grep -o '"event":"[a-z_]*"' | cut -d'"' -f4 |
        paste -sd, -
}

# ---- tcpdump helpers ----

# number of records in a capture, or empty on a read error
tcp_count() {
    local out
    out=$(tcpdump --count -r "$1" 2>"$TMP/tcpdump.err") || return 1
    if grep -v -e '^reading from file' -e 'interface names might be incorrect' \
        "$TMP/tcpdump.err" | grep -q .; then
        return 1
    fi
    echo "${out%% packets*}"
}

# "PACKETS BYTES" of the frames matching a filter (bytes = wire length)
tcp_sum() {
    tcpdump -nn -e -r "$1" "$2" 2>/dev/null |
        awk '{ if (match($0, /length [0-9]+: /)) { n++; s += substr($0, RSTART + 7, RLENGTH - 9) } }
             END { printf "%d %d\n", n, s }'
}

build() {
    mkdir -p "$ROOT/build"
    (cd "$ROOT" && cc -std=c11 -D_DEFAULT_SOURCE -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
        -Wstrict-prototypes -Wwrite-strings -Werror -o build/blackout-gen src/gen/*.c -lm)
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- checks ----

SCENARIOS="golden proto blackout flood-blackout oneway failover blind sparse partial decline
           diurnal demo haystack flood"

# The events each scenario must announce, in time order.
declare -A EVENTS=(
    [golden]="" [proto]="" [partial]="" [decline]="" [diurnal]="" [haystack]="" [flood]=""
    [blackout]="country_down,country_up" [flood-blackout]="country_down,country_up"
    [oneway]="country_down,country_up" [sparse]="country_down,country_up"
    [failover]="route_down,route_up" [blind]="sensor_blind,sensor_ok"
    [demo]="route_down,route_up,country_down,country_up"
)
declare -A GEN_TIME

check_cli() {
    local err
    if "$GEN" --help | grep -q 'flood-blackout'; then ok "--help lists the scenarios"; else
        fail "--help"; fi
    for bad in "golden --routes 9 -o x.pcap" "nosuch -o x.pcap" "golden --bogus -o x.pcap" "golden"; do
        # shellcheck disable=SC2086
        err=$(cd "$TMP" && "$GEN" $bad 2>&1 >/dev/null)
        local rc=$?
        if [ $rc -eq 2 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && [[ $err == blackout-gen:* ]]; then
            ok "'$bad' -> exit 2: $err"
        else
            fail "'$bad' -> exit $rc: $err"
        fi
    done
}

# Scenario-specific facts beyond the packet count.
check_facts() {
    local s=$1 e=$TMP/$1.expect.json
    case $s in
    flood-blackout) grep -q '"cause":"attack"' "$e" || fail "$s: cause is not attack" ;;
    blackout | sparse) grep -q '"cause":"internal"' "$e" || fail "$s: cause is not internal" ;;
    oneway) grep -q '"silent":"out"' "$e" || fail "$s: silence is not one-way" ;;
    haystack)
        awk -v n="$(expect_num "$e" packets)" -v c="$(($(route_num "$e" cn pkts_in) +
            $(route_num "$e" cn pkts_out) + $(route_num "$e" ru pkts_in) +
            $(route_num "$e" ru pkts_out)))" \
            'BEGIN { printf "      country share %.3f%% of %d packets\n", 100 * c / n, n;
                     exit !(n == 2000000 && c / n > 0.004 && c / n < 0.006) }' ||
            fail "$s: not 2,000,000 packets with ~0.5% country" ;;
    flood)
        awk -v n="$(expect_num "$e" packets)" -v p="$(expect_num "$e" payload_pkts)" \
            -v f="$(($(route_num "$e" cn flows) + $(route_num "$e" ru flows)))" \
            'BEGIN { printf "      %d flows, %.1f%% of %d packets without payload\n", f,
                     100 * (n - p) / n, n; exit !(f == 200000 && p / n > 0.45 && p / n < 0.55) }' ||
            fail "$s: not 200,000 flows with about half the packets empty" ;;
    esac
}

check_scenario() {
    local s=$1 f=$TMP/$1.pcap e=$TMP/$1.expect.json t0 n want ev
    t0=$(now)
    if ! "$GEN" "$s" -o "$f"; then
        fail "$s: the generator failed"
        return
    fi
    GEN_TIME[$s]=$(elapsed "$t0" "$(now)")
    want=$(expect_num "$e" packets)
    if ! n=$(tcp_count "$f"); then
        fail "$s: tcpdump could not read the capture: $(cat "$TMP/tcpdump.err")"
        return
    fi
    if [ "$n" = "$want" ]; then
        ok "$s: tcpdump reads $n packets, as the expect file says (generated in ${GEN_TIME[$s]} s)"
    else
        fail "$s: tcpdump reads $n packets, the expect file says $want"
    fi
    ev=$(expect_events "$e")
    [ "$ev" = "${EVENTS[$s]}" ] || fail "$s: events '$ev', wanted '${EVENTS[$s]}'"
    check_facts "$s"
    [ "$s" = golden ] || [ "$s" = proto ] || rm -f "$f"
}

# Per route and direction, packets and bytes counted by tcpdump BPF filters
# (plain VLAN, QinQ, MPLS under VLAN) must equal the expect file.
check_filters() {
    local s=$1 f=$TMP/$1.pcap e=$TMP/$1.expect.json r vlan mac dir flt p b n by enc
    while read -r r; do
        vlan=$(route_num "$e" "$r" vlan)
        for dir in in out; do
            [ $dir = in ] && flt=$IN_F || flt=$OUT_F
            p=0 b=0
            for enc in "vlan $vlan and ip" "vlan $vlan and vlan and ip" \
                "vlan $vlan and mpls and mpls and ip"; do
                read -r n by < <(tcp_sum "$f" "$enc and ($flt)")
                p=$((p + n)) b=$((b + by))
            done
            if [ "$p $b" = "$(route_num "$e" "$r" pkts_$dir) $(route_num "$e" "$r" bytes_$dir)" ]
            then
                ok "$s: route $r (vlan $vlan) $dir: $p packets, $b bytes (tcpdump filters)"
            else
                fail "$s: route $r $dir: tcpdump $p packets $b bytes, expect" \
                    "$(route_num "$e" "$r" pkts_$dir) $(route_num "$e" "$r" bytes_$dir)"
            fi
        done
        read -r n by < <(tcp_sum "$f" "vlan $vlan and ip and not ($IN_F) and not ($OUT_F)")
        [ "$n" = "$(ctl_num "$e" "$r")" ] || fail "$s: route $r control packets $n"
        mac=$(grep "^  \"$r\":{\"vlan\"" "$e" | grep -o '"mac":"[0-9a-f:]*"' | cut -d'"' -f4)
        [ "$(tcpdump --count -r "$f" "ether host $mac" 2>/dev/null)" = \
            "$(tcpdump --count -r "$f" "vlan $vlan" 2>/dev/null)" ] ||
            fail "$s: route $r: MAC $mac and VLAN $vlan do not mark the same frames"
    done < <(grep -o '^  "[a-z0-9]*":{"vlan"' "$e" | cut -d'"' -f2)
    n=$(tcpdump -nn -vv -r "$f" 2>/dev/null | grep -c -E 'incorrect|bad [a-z]* ?cksum|wrong')
    if [ "$n" = 0 ]; then
        ok "$s: every IP/TCP/UDP/ICMP checksum verifies (tcpdump -vv)"
    else
        fail "$s: $n bad checksums"
    fi
}

# ndpiReader must give every flow of the proto capture its expected label
# and show its host name.
check_ndpi_proto() {
    local f=$TMP/proto.pcap e=$TMP/proto.expect.json out=$TMP/ndpi-proto.txt
    local line proto src sport dst dport label host a b hit seen=0
    if ! ndpiReader -v 2 -i "$f" >"$out" 2>&1; then
        fail "ndpiReader could not read proto.pcap"
        return
    fi
    echo "      ndpiReader -v 2 -i proto.pcap shows:"
    grep '\[proto:' "$out" | sed -E 's/\]\[(bytes ratio|IAT|Pkt Len|Plen Bins|Goodput).*//' |
        sed 's/^/        /'
    while read -r line; do
        proto=$(echo "$line" | grep -o '"proto":"[a-z0-9]*"' | cut -d'"' -f4)
        src=$(echo "$line" | grep -o '"src":"[^"]*"' | cut -d'"' -f4)
        dst=$(echo "$line" | grep -o '"dst":"[^"]*"' | cut -d'"' -f4)
        sport=$(echo "$line" | grep -o '"sport":[0-9]*' | cut -d: -f2)
        dport=$(echo "$line" | grep -o '"dport":[0-9]*' | cut -d: -f2)
        label=$(echo "$line" | grep -o '"label":"[^"]*"' | cut -d'"' -f4)
        host=$(echo "$line" | grep -o '"host":"[^"]*"' | cut -d'"' -f4)
        [[ $src == *:* ]] && a="[$src]:$sport" || a="$src:$sport"
        [[ $dst == *:* ]] && b="[$dst]:$dport" || b="$dst:$dport"
        hit=$(grep -F -e "$a <-> $b " -e "$b <-> $a " "$out" | grep '\[proto:' | head -1)
        seen=$((seen + 1))
        if [ -z "$hit" ]; then
            fail "ndpiReader: no flow $proto $a <-> $b"
        elif ! echo "$hit" | grep -q "\[proto: [0-9.]*/$label\]"; then
            fail "ndpiReader: $proto $a <-> $b is $(echo "$hit" | grep -o '\[proto: [^]]*\]'), not $label"
        elif [ -n "$host" ] && ! echo "$hit" | grep -qF "[Hostname/SNI: $host]"; then
            fail "ndpiReader: $proto $a <-> $b ($label) does not show host $host"
        else
            ok "ndpiReader: $proto $a <-> $b is $label${host:+, host $host}"
        fi
    done < <(sed -n '/^"flows":\[/,/\]/p' "$e" | grep '"label"')
    [ "$seen" -ge 5 ] || fail "proto: the expect file lists $seen flows, not 5"
}

# "LABEL PKTS BYTES FLOWS" lines, sorted: from ndpiReader, then from an expect file.
ndpi_detected() {
    ndpiReader -i "$1" 2>/dev/null | sed -n '/^Detected protocols:/,/^$/p' |
        awk 'NF == 7 { print $1, $3, $5, $7 }' | sort
}
expect_protocols() {
    grep -o '"[A-Z0-9]*":{"pkts":[0-9]*,"bytes":[0-9]*,"flows":[0-9]*}' "$1" | tr -c 'A-Z0-9\n' ' ' |
        awk '{ p[$1] += $2; b[$1] += $3; f[$1] += $4 } END { for (k in p) print k, p[k], b[k], f[k] }' |
        sort
}

# Without extra encapsulations, ndpiReader's "Detected protocols" must equal
# the expect file's per-label totals (packets, bytes, flows): with SYN
# floods, with unanswered conversations (one-way silence) and with IPv6.
check_ndpi_totals() {
    local f=$TMP/labels.pcap v
    for v in "--syn-flood 500:510:200" "--oneway 0:600" "--v6 2001:db8:4b50::/48 --duration 120"; do
        # shellcheck disable=SC2086
        "$GEN" golden --no-encap-mix --bg 0 $v -o "$f" || fail "golden $v"
        if [ "$(ndpi_detected "$f")" = "$(expect_protocols "$TMP/labels.expect.json")" ]; then
            ok "ndpiReader 'Detected protocols' = expect protocols (golden --no-encap-mix $v):"
            ndpi_detected "$f" | sed 's/^/        /'
        else
            fail "ndpiReader totals differ from the expect file (golden $v)"
            diff <(ndpi_detected "$f") <(expect_protocols "$TMP/labels.expect.json") |
                sed 's/^/      /'
        fi
    done
    rm -f "$f" "$TMP/labels.expect.json"
}

check_determinism() {
    local args
    for args in "golden" "proto --v6 2001:db8:4b50::/48 --pcapng --link sll2" \
        "flood --flows 20000 --seed 9"; do
        # shellcheck disable=SC2086
        "$GEN" $args -o "$TMP/d1.pcap" && "$GEN" $args -o "$TMP/d2.pcap" --expect "$TMP/d2.json"
        if cmp -s "$TMP/d1.pcap" "$TMP/d2.pcap" && cmp -s "$TMP/d1.expect.json" "$TMP/d2.json"; then
            ok "same arguments, same bytes: $args"
        else
            fail "two runs of '$args' differ"
        fi
    done
    "$GEN" golden -o "$TMP/d1.pcap" && "$GEN" golden --seed 2 -o "$TMP/d2.pcap"
    if cmp -s "$TMP/d1.pcap" "$TMP/d2.pcap"; then
        fail "seeds 1 and 2 give the same capture"
    else
        ok "another seed gives another capture"
    fi
    rm -f "$TMP"/d[12].*
}

# Other link types and file formats: tcpdump reads them and counts agree.
check_links() {
    local v n f=$TMP/link.pcap
    for v in "--link sll" "--link sll2" "--link raw" "--link null" "--link loop" "--pcapng" \
        "--snaplen 96" "--mark mac" "--mark vlan" "--v6 2001:db8:4b50::/48" "--routes 8 --bin 60"; do
        # shellcheck disable=SC2086
        "$GEN" golden --duration 60 $v -o "$f" || fail "golden $v"
        n=$(tcp_count "$f") || n="unreadable"
        if [ "$n" = "$(expect_num "$TMP/link.expect.json" packets)" ]; then
            ok "golden --duration 60 $v: tcpdump reads $n packets"
        else
            fail "golden $v: tcpdump $n packets, expect $(expect_num "$TMP/link.expect.json" packets)"
        fi
    done
    rm -f "$f" "$TMP/link.expect.json"
}

main() {
    local s
    echo "== build"
    build || {
        echo "FAIL: build"
        exit 1
    }
    ok "built $GEN"
    echo "== command line"
    check_cli
    echo "== scenarios"
    for s in $SCENARIOS; do
        check_scenario "$s"
    done
    echo "== golden and proto: counts through tcpdump filters"
    check_filters golden
    check_filters proto
    echo "== nDPI labels"
    if command -v ndpiReader >/dev/null; then
        check_ndpi_proto
        check_ndpi_totals
    else
        echo "skip: ndpiReader not installed (Debian package libndpi-bin)"
    fi
    echo "== determinism"
    check_determinism
    echo "== link types and formats"
    check_links
    echo "== generation times (s)"
    for s in $SCENARIOS; do
        printf '      %-16s %s\n' "$s" "${GEN_TIME[$s]:-?}"
    done
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS check(s) FAILED"
        exit 1
    fi
    echo "all checks passed"
}

main "$@"
