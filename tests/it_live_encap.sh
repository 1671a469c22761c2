#!/usr/bin/env bash
# Live capture of a remote mirror, and receive offloads, on a veth pair in a private network
# namespace. A VXLAN-wrapped capture (blackout-gen --wrap vxlan) sent at top speed by
# tcpreplay into one end while `blackout capture` listens on the other, routing by VNI:
# every counter equals the generator's truth for the traffic inside, every frame opened.
# Then GRO: on, capture warns in one line with the ethtool command that turns it off;
# with --disable-offloads it is off while the sensor runs and on again after it exits.
. "$(dirname "$0")/lib.sh"
need_gen
need_netns

"$GEN" golden --duration 300 --wrap vxlan -o "$T/v.pcap" >/dev/null || not_ok "generator"
live_start --no-redis --sensor live --route cn=vni:100 --route ru=vni:101 --json --bin 1 \
    --buffer-mb 128
send_and_stop "$T/v.pcap"
live_exact "VXLAN mirror at top speed, routed by VNI" "$T/v.expect.json" vxlan

# ---- receive offloads ----
if ! command -v ethtool >/dev/null; then
    skip "ethtool is not installed (scripts/install-deps): offload checks not run"
    done_testing
fi
gro() { in_ns ethtool -k vb | sed -n 's/^generic-receive-offload: \([a-z]*\).*/\1/p'; }
if ! in_ns ethtool -K vb gro on 2>"$T/ethtool.err" || [ "$(gro)" != on ]; then
    skip "GRO cannot be turned on on vb: $(head -1 "$T/ethtool.err")"
    done_testing
fi
live_start --no-redis
live_stop TERM
line=$(grep -c "vb: receive offloads are on: .*'ethtool -K vb gro off' or --disable-offloads" "$T/live.err")
[ "$line" -eq 1 ] && ok "GRO on: one warning line with the command that turns it off" ||
    not_ok "GRO on: $line warning lines in: $(head -3 "$T/live.err")"
[ "$(gro)" = on ] && ok "without --disable-offloads GRO is left as it was" || not_ok "GRO is $(gro)"

live_start --no-redis --disable-offloads
during=$(gro)
live_stop TERM
[ "$during" = off ] && ok "--disable-offloads: GRO off while capturing" || not_ok "GRO $during while capturing"
[ "$(gro)" = on ] && ok "--disable-offloads: GRO on again after exit" || not_ok "GRO $(gro) after exit"
grep -q "vb: receive offloads turned off (gro off) until the sensor exits" "$T/live.err" &&
    grep -q "vb: receive offloads turned on again (gro on)" "$T/live.err" &&
    ! grep -q "receive offloads are on" "$T/live.err" && ok "--disable-offloads: says what it did" ||
    not_ok "--disable-offloads messages: $(cat "$T/live.err")"
done_testing
