#!/usr/bin/env bash
# Redis Sentinel: one master, one replica, three sentinels. A sensor replays slowly through
# the sentinel URL while the master is SIGKILLed; the promoted replica must hold the exact
# totals and bins and every alert once, and a consumer group following through the
# sentinels must get every alert once, across the failover, with a pending entry surviving
# it. A second failover with the replica cut off (stopped, its link killed) while the master
# applies flushes: the new master lacks them and the sensor sends them again from its
# backlog.
# Measured and printed: seconds until the sensor writes again, backlog peak, units resent.
# Bad input: a master no sentinel knows, no sentinel answering, a URL without #MASTER.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ha.sh"
need_gen
command -v redis-server >/dev/null || {
    skip "no redis-server (scripts/install-deps)"
    done_testing
}

"$GEN" blackout --duration 1800 --outage 900:1200 --rate 2 --snaplen 96 -o "$T/o.pcap" \
    >/dev/null || not_ok "generator"
ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
SIZE=$(stat -c %s "$T/o.pcap")
CHUNK=$((SIZE / 120 + 1)) # about 12 s at 0.1 s a chunk
BIN=$BO
[ -x "$ASAN" ] && BIN=$ASAN

sentinel_start || {
    not_ok "sentinel set-up"
    done_testing
}
ok "master, replica and three sentinels up ($SENTINEL_URL)"

# feed SENSOR: the slow replay through the sentinels, in the background ($FEED).
feed() {
    pace "$T/o.pcap" "$CHUNK" 0.1 | "$BIN" replay --json --warmup 600 --redis "$SENTINEL_URL" \
        --sensor "$1" --redis-timeout 1000 --flush-timeout 60 "${ROUTES[@]}" - \
        >"$T/$1.json" 2>"$T/$1.err" &
    FEED=$!
}

# verify SENSOR PORT WHAT: exit status, exact counters on PORT, every event once there.
verify() {
    local sensor=$1 port=$2 what=$3 rc out
    wait "$FEED"
    rc=$?
    [ "$rc" -eq 0 ] && ok "$what: replay exits 0" || not_ok "$what: exit $rc: $(tail -3 "$T/$sensor.err")"
    REDIS_PORT=$port
    if out=$(redis_compare "$T/o.expect.json" "$T/$sensor.json" "$sensor" blackout:); then
        ok "$what: the new master holds the exact totals and bins"
    else
        not_ok "$what: $out"
    fi
    grep '"type":"event"' "$T/$sensor.json" >"$T/$sensor.events"
    redis-cli -p "$port" --raw XRANGE blackout:alerts - + | python3 -c '
import json, sys
lines = sys.stdin.read().split("\n")
got = [lines[i + 1] for i, l in enumerate(lines) if l == "json"]
want = [l.strip() for l in open(sys.argv[1])]
mine = [g for g in got if json.loads(g)["sensor"] == sys.argv[2]]
assert len(want) == 2 and mine == want, (mine, want)
' "$T/$sensor.events" "$sensor" && ok "$what: every alert once in the stream" ||
        not_ok "$what: alerts in the stream differ from the events raised"
    SUMMARY=$(tail -1 "$T/$sensor.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["redis"]))')
    echo "# $what: $SUMMARY"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$SUMMARY" "$1"; }

# ---- a consumer group follows through the sentinels ----
M=$(ha_port master)
R=$(ha_port replica)
"$BO" replay -q --warmup 600 --redis "$SENTINEL_URL" --sensor s0 --json "${ROUTES[@]}" \
    "$T/o.pcap" >"$T/s0.json" || not_ok "replay s0"
grep '"type":"event"' "$T/s0.json" >"$T/s0.events"
# an entry delivered to c2 of group h and never acknowledged, on the replica too
printf 'XGROUP CREATE blackout:alerts h 0\nXREADGROUP GROUP h c2 COUNT 1 STREAMS blackout:alerts >\nWAIT 1 2000\n' |
    redis-cli -p "$M" >/dev/null
"$BO" alerts --redis "$SENTINEL_URL" --group g --consumer c1 --follow --json \
    >"$T/consumer.out" 2>"$T/consumer.err" &
CONSUMER=$!
at_exit "kill $CONSUMER 2>/dev/null"
wait_for 10 sh -c "redis-cli -p $M XINFO GROUPS blackout:alerts 2>/dev/null | grep -q '^g$'" ||
    not_ok "the consumer did not make its group"

# ---- 1. SIGKILL the master during the replay ----
feed s1
wait_match "$T/s1.json" '"type":"bin"' 20 60 || not_ok "s1 did not start writing"
ha_kill master
KILLED=$(date +%s.%N)
wait_for 30 sh -c "[ \"\$(redis-cli -p $(ha_port sentinel1) SENTINEL get-master-addr-by-name mymaster | tail -1)\" = $R ]" ||
    not_ok "the sentinels did not promote the replica"
PROMOTED=$(since "$KILLED")
# With one replica, the new master has none until the old one is back, and the sensor keeps
# its flushes meanwhile (WAIT 1 answers 0): the old master is restarted at once, as a
# replica of the new one (as systemd and an operator would).
ha_restart master --replicaof 127.0.0.1 "$R"
CONNECTED=$(connected_again s1 "$R")
AGAIN=$(writes_again s1 "$R")
verify s1 "$R" "SIGKILL of the master"
echo "# failover 1: sentinels promoted the replica after $PROMOTED s; the sensor was on it after $CONNECTED s and its flushes flowed again after $AGAIN s; backlog peak $(field backlog_peak) units; resent $(field resent); master changes $(field master_changes)"
[ "$(field master_changes)" -ge 1 ] && ok "the sensor followed the master to $R" ||
    not_ok "master_changes $(field master_changes)"
[ "$(field data_lost)" -eq 0 ] && ok "no data_lost" || not_ok "data_lost $(field data_lost)"

# the consumer, following through the sentinels, got every alert once
wait_for 20 sh -c "[ \$(wc -l <$T/consumer.out) -ge 4 ]"
sleep 1
python3 - "$T/consumer.out" "$T/s0.events" "$T/s1.events" <<'PY' && ok "the group consumer got every alert once across the failover" || not_ok "consumer: $(cut -c1-60 "$T/consumer.out") / $(tail -2 "$T/consumer.err")"
import sys
got = [l.strip() for l in open(sys.argv[1]) if l.strip()]
want = [l.strip() for f in sys.argv[2:] for l in open(f)]
assert len(want) == 4 and got == want, (got, want)
PY
grep -q "reconnected" "$T/consumer.err" && ok "the consumer reconnected through the sentinels" ||
    not_ok "consumer log: $(tail -2 "$T/consumer.err")"
kill "$CONSUMER"
wait "$CONSUMER" 2>/dev/null
[ "$(redis-cli -p "$R" XPENDING blackout:alerts g | head -1)" = 0 ] && ok "group g: nothing left pending" ||
    not_ok "pending: $(redis-cli -p "$R" XPENDING blackout:alerts g | head -1)"
# c2's entry of group h survived the failover, and c2 gets it again
[ "$(redis-cli -p "$R" XPENDING blackout:alerts h | head -1)" = 1 ] &&
    ok "a pending entry survived the failover" || not_ok "group h pending: $(redis-cli -p "$R" XPENDING blackout:alerts h)"
"$BO" alerts --redis "$SENTINEL_URL" --group h --consumer c2 --json >"$T/c2.out" 2>"$T/c2.err"
[ "$(head -1 "$T/c2.out")" = "$(head -1 "$T/s0.events")" ] && [ "$(wc -l <"$T/c2.out")" -eq 4 ] &&
    [ "$(redis-cli -p "$R" XPENDING blackout:alerts h | head -1)" = 0 ] &&
    ok "c2 got its pending entry again, then the rest" || not_ok "c2: $(cat "$T/c2.err") $(wc -l <"$T/c2.out")"

# ---- 2. the replica behind: the new master lacks flushes the old one applied ----
# The replica (M now) is stopped and cut off; the master (R) goes on applying flushes that
# WAIT finds on no replica; then the master dies and the replica, resumed, is promoted.
feed s2
wait_match "$T/s2.json" '"type":"bin"' 20 60 || not_ok "s2 did not start writing"
kill -STOP "${HA_PID[master]}"
redis-cli -p "$R" CLIENT KILL TYPE replica >/dev/null
M0=$(marker s2 "$R")
wait_for 3 sh -c "[ \"\$(redis-cli -p $R GET \"\$(redis-cli -p $R --scan --pattern 'blackout:{s2}:run:*' | head -1)\")\" != $M0 ]" ||
    not_ok "no flush applied on the master after its replica was cut off"
ha_kill replica # the master of the moment, with flushes its replica never got
KILLED=$(date +%s.%N)
kill -CONT "${HA_PID[master]}"
wait_for 30 sh -c "[ \"\$(redis-cli -p $(ha_port sentinel1) SENTINEL get-master-addr-by-name mymaster | tail -1)\" = $M ]" ||
    not_ok "the sentinels did not promote the old master"
ha_restart replica --replicaof 127.0.0.1 "$M"
CONNECTED=$(connected_again s2 "$M")
AGAIN=$(writes_again s2 "$M")
verify s2 "$M" "SIGKILL with the replica behind"
echo "# failover 2: the sensor was on the new master after $CONNECTED s and its flushes flowed again after $AGAIN s; backlog peak $(field backlog_peak) units; resent $(field resent); replica waits $(field replica_waits)"
[ "$(field resent)" -ge 1 ] && ok "the flushes the new master lacked were sent again ($(field resent))" ||
    not_ok "resent $(field resent)"
[ "$(field data_lost)" -eq 0 ] && ok "no data_lost" || not_ok "data_lost $(field data_lost)"
grep -q "sent again from the backlog" "$T/s2.err" && ok "the resend is logged" ||
    not_ok "no resend line: $(tail -3 "$T/s2.err")"

# ---- bad input ----
expect_exit 1 "a master no sentinel knows" "$BO" status --redis "redis-sentinel://$SENTINEL_PORTS#nosuch"
case $LAST_ERR in *"no sentinel knows the master 'nosuch'"*) ok "it says which master" ;; *) not_ok "message: $LAST_ERR" ;; esac
expect_exit 1 "a sensor with a master no sentinel knows" "$BO" replay -q --redis \
    "redis-sentinel://$SENTINEL_PORTS#nosuch" "$T/o.pcap"
expect_exit 1 "no sentinel answers" "$BO" status --redis "redis-sentinel://127.0.0.1:1,127.0.0.1:2#mymaster"
expect_exit 2 "a sentinel URL without #MASTER" "$BO" status --redis "redis-sentinel://$SENTINEL_PORTS"
expect_exit 1 "a wrong sentinel password" "$BO" status --redis "$SENTINEL_URL" --sentinel-password nope-s3cret
case $LAST_ERR in *nope-s3cret*) not_ok "the password is in the message" ;; *) ok "no password in it" ;; esac
done_testing
