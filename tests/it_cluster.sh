#!/usr/bin/env bash
# Redis Cluster: six nodes (three masters, three replicas) made with redis-cli --cluster
# create. Three sensors replay slowly at once, each in its own slot on its own master, while
# (b) 300 slots, one sensor's among them, are moved with redis-cli --cluster reshard and (a)
# another sensor's master is SIGKILLed (its replica takes over; the killed node is restarted
# and rejoins as a replica). Every sensor's totals and bins must be exact, `status` must list
# all three, every alert must be in its sensor's stream once, and a consumer group following
# the cluster must get every alert once. Bad input: no seed answering, slots not covered, a
# seed that is no cluster node, a database other than 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_ha.sh"
ha_prepare 16

cluster_start || {
    not_ok "cluster set-up: $(tail -3 "$T/cluster-create.log" 2>/dev/null)"
    done_testing
}
ok "six nodes, three masters with a replica each ($CLUSTER_URL)"

# sensor_in FROM TO: a sensor name whose hash tag falls in slots FROM..TO.
sensor_in() {
    python3 - "$1" "$2" <<'PY'
import sys
def crc16(b):
    c = 0
    for x in b:
        c ^= x << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else c << 1
            c &= 0xFFFF
    return c
lo, hi = int(sys.argv[1]), int(sys.argv[2])
i = 0
while not lo <= crc16(b"s%d" % i) % 16384 <= hi:
    i += 1
print("s%d" % i)
PY
}
SA=$(sensor_in 0 5460)         # on the master that is killed
SB=$(sensor_in 5461 5760)      # in the slots that are moved
SC=$(sensor_in 10923 16383)    # on the master that receives them
NA=$(cluster_node_of "{$SA}")
NB=$(cluster_node_of "{$SB}")
NC=$(cluster_node_of "{$SC}")
echo "# sensors $SA on $NA (killed), $SB on $NB (its slot moved to $NC), $SC on $NC"
P1=$(ha_port node1)
REDIS_CLI_AUTH=(-c) # rcli and redis_compare follow MOVED
REDIS_PORT=$P1


# ---- a consumer group follows the cluster ----
"$BO" alerts --redis "$CLUSTER_URL" --group g --consumer c1 --follow --json \
    >"$T/consumer.out" 2>"$T/consumer.err" &
CONSUMER=$!
at_exit "kill $CONSUMER 2>/dev/null"

# ---- three sensors at once; the slots move, a master dies ----
for s in "$SA" "$SB" "$SC"; do
    ha_feed "$s" "$CLUSTER_URL"
done
wait_match "$T/$SB.json" '"type":"bin"' 20 30 || not_ok "$SB did not start writing"

T0=$(date +%s.%N)
if redis-cli --cluster reshard "127.0.0.1:$P1" --cluster-from "$(redis-cli -p "$(ha_port "$NB")" CLUSTER MYID)" \
    --cluster-to "$(redis-cli -p "$(ha_port "$NC")" CLUSTER MYID)" --cluster-slots 300 --cluster-yes \
    >"$T/reshard.log" 2>&1; then
    ok "redis-cli --cluster reshard moved 300 slots from $NB to $NC in $(since "$T0") s"
else
    not_ok "reshard: $(tail -3 "$T/reshard.log")"
fi
[ "$(cluster_node_of "{$SB}")" = "$NC" ] && ok "$SB's slot is on $NC now" ||
    not_ok "$SB's slot is on $(cluster_node_of "{$SB}")"

ha_kill "$NA"
KILLED=$(date +%s.%N)
promoted() {
    NEW=$(cluster_node_of "{$SA}")
    [ -n "$NEW" ] && [ "$NEW" != "$NA" ]
}
wait_for 30 promoted || not_ok "no failover after the kill of $NA"
PROMOTED=$(since "$KILLED")
ha_restart "$NA" # it rejoins as a replica of $NEW: WAIT 1 can be met again
CONNECTED=$(connected_again "$SA" "$(ha_port "$NEW")")
AGAIN=$(writes_again "$SA" "$(ha_port "$NEW")")
echo "# failover: $NEW serves $SA's slot after $PROMOTED s; $SA was on it after $CONNECTED s and its flushes flowed again after $AGAIN s"

for s in "$SA" "$SB" "$SC"; do
    ha_verify "$s" "blackout:{$s}:alerts" "$s"
    case $s in
    "$SA")
        echo "# $SA through the failover: backlog peak $(field backlog_peak) units, resent $(field resent), replica waits $(field replica_waits), master changes $(field master_changes)"
        [ "$(field master_changes)" -ge 1 ] && ok "$SA followed its slot to $NEW" || not_ok "$SA: $SUMMARY"
        ;;
    "$SB")
        echo "# $SB through the reshard: redirects $(field redirects), master changes $(field master_changes)"
        [ "$(field master_changes)" -ge 1 ] && ok "$SB followed its slot to $NC" || not_ok "$SB: $SUMMARY"
        ;;
    esac
done

# ---- readers across the nodes ----
"$BO" status --redis "$CLUSTER_URL" --json >"$T/status.json" 2>"$T/status.err" || not_ok "status: $(cat "$T/status.err")"
python3 - "$T/status.json" "$SA" "$SB" "$SC" <<'PY' && ok "status lists the three sensors, their country up" || not_ok "status: $(cat "$T/status.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for s in sys.argv[2:]:
    mine = {r["route"]: r for r in rows if r["sensor"] == s}
    assert mine["*"]["state"] == "up" and "cn" in mine and "ru" in mine, (s, mine)
PY
"$BO" export --redis "$CLUSTER_URL" --from 1749254400 --to 1749256200 >"$T/export.csv" ||
    not_ok "export"
[ "$(grep -c "^$SB,KP,cn," "$T/export.csv")" -eq 180 ] && ok "export reads every sensor's bins" ||
    not_ok "export: $(grep -c "^$SB,KP,cn," "$T/export.csv") rows of $SB cn"

wait_for 20 sh -c "[ \$(wc -l <$T/consumer.out) -ge 6 ]"
sleep 1
python3 - "$T/consumer.out" "$T/$SA.events" "$T/$SB.events" "$T/$SC.events" <<'PY' && ok "the group consumer got every alert once" || not_ok "consumer: $(wc -l <"$T/consumer.out") lines; $(tail -2 "$T/consumer.err")"
import sys
got = sorted(l.strip() for l in open(sys.argv[1]) if l.strip())
want = sorted(l.strip() for f in sys.argv[2:] for l in open(f))
assert len(want) == 6 and got == want, (got, want)
PY
kill "$CONSUMER"
wait "$CONSUMER" 2>/dev/null
for s in "$SA" "$SB" "$SC"; do
    [ "$(rcli XPENDING "blackout:{$s}:alerts" g | head -1)" = 0 ] || not_ok "$s: entries left pending"
done
"$BO" detect --redis "$CLUSTER_URL" --warmup 600 --json >"$T/detect.json" 2>"$T/detect.err" ||
    not_ok "detect: $(tail -2 "$T/detect.err")"
[ "$(grep -c country_ "$T/detect.json")" -eq 2 ] && ok "detect over the three sensors across the nodes" ||
    not_ok "detect: $(cat "$T/detect.json")"

# ---- bad input ----
expect_exit 1 "no seed answers" "$BO" status --redis "redis-cluster://127.0.0.1:1,127.0.0.1:2"
ha_server lone "cluster-enabled yes" "cluster-config-file nodes.conf" "cluster-port $(redis_free_port)"
LONE=$HA_PORT
expect_exit 1 "a cluster with slots not covered" "$BO" status --redis "redis-cluster://127.0.0.1:$LONE"
case $LAST_ERR in *"not covered"*) ok "it says so" ;; *) not_ok "message: $LAST_ERR" ;; esac
expect_exit 1 "a sensor on a cluster with its slot not covered" "$BO" replay -q --redis \
    "redis-cluster://127.0.0.1:$LONE" "$T/o.pcap"
ha_server plain
expect_exit 1 "a seed that is no cluster node" "$BO" status --redis "redis-cluster://127.0.0.1:$HA_PORT"
expect_exit 2 "a cluster URL with database 1" "$BO" status --redis "redis-cluster://127.0.0.1:$P1/1"
done_testing
