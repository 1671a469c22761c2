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
ha_prepare 12

sentinel_start || {
    not_ok "sentinel set-up"
    done_testing
}
ok "master, replica and three sentinels up ($SENTINEL_URL)"

master_is() { [ "$(sentinel_master_port)" = "$1" ]; }

# recover SENSOR KILLED_NAME NEW_PORT WHAT: the killed server back at once as a replica of
# the new master (as systemd and an operator would: with one replica, the new master has
# none until then, and the sensor keeps its flushes: WAIT 1 answers 0); when the sensor is
# on the new master, when its flushes flow again, and the checks of ha_verify there.
recover() {
    ha_restart "$2" --replicaof 127.0.0.1 "$3"
    CONNECTED=$(connected_again "$1" "$3")
    AGAIN=$(writes_again "$1" "$3")
    REDIS_PORT=$3
    ha_verify "$1" blackout:alerts "$4"
    [ "$(field master_changes)" -ge 1 ] && ok "$4: the sensor followed the master to $3" ||
        not_ok "$4: master_changes $(field master_changes)"
}

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
ha_feed s1 "$SENTINEL_URL"
wait_match "$T/s1.json" '"type":"bin"' 20 60 || not_ok "s1 did not start writing"
ha_kill master
KILLED=$(date +%s.%N)
wait_for 30 master_is "$R" || not_ok "the sentinels did not promote the replica"
PROMOTED=$(since "$KILLED")
recover s1 master "$R" "SIGKILL of the master"
echo "# failover 1: sentinels promoted the replica after $PROMOTED s; the sensor was on it after $CONNECTED s and its flushes flowed again after $AGAIN s; backlog peak $(field backlog_peak) units; resent $(field resent); master changes $(field master_changes)"

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
ha_feed s2 "$SENTINEL_URL"
wait_match "$T/s2.json" '"type":"bin"' 20 60 || not_ok "s2 did not start writing"
kill -STOP "${HA_PID[master]}"
redis-cli -p "$R" CLIENT KILL TYPE replica >/dev/null
M0=$(marker s2 "$R")
wait_for 3 sh -c "[ \"\$(redis-cli -p $R GET \"\$(redis-cli -p $R --scan --pattern 'blackout:{s2}:run:*' | head -1)\")\" != $M0 ]" ||
    not_ok "no flush applied on the master after its replica was cut off"
ha_kill replica # the master of the moment, with flushes its replica never got
KILLED=$(date +%s.%N)
kill -CONT "${HA_PID[master]}"
wait_for 30 master_is "$M" || not_ok "the sentinels did not promote the old master"
recover s2 replica "$M" "SIGKILL with the replica behind"
echo "# failover 2: the sensor was on the new master after $CONNECTED s and its flushes flowed again after $AGAIN s; backlog peak $(field backlog_peak) units; resent $(field resent); replica waits $(field replica_waits)"
[ "$(field resent)" -ge 1 ] && ok "the flushes the new master lacked were sent again ($(field resent))" ||
    not_ok "resent $(field resent)"
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
