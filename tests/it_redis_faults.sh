#!/usr/bin/env bash
# Exactly-once through failures: a generated capture arrives slowly on stdin while Redis is
# SIGKILLed and restarted (AOF, fsync always), paused longer than the command timeout, or
# the sensor's connection is killed mid-flush and replies are lost. Every time the totals
# and bins in Redis equal the exact counters: nothing lost, nothing counted twice.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

"$GEN" golden --snaplen 96 -o "$T/g.pcap" >/dev/null || not_ok "generator"
ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
SIZE=$(stat -c %s "$T/g.pcap")
CHUNK=$((SIZE / 100 + 1)) # about 10 s at 0.1 s a chunk
BIN=$BO
[ -x "$ASAN" ] && BIN=$ASAN

# feed SENSOR [ENV=VALUE...]: starts the slow replay in the background, PID in $FEED.
feed() {
    local sensor=$1
    shift
    pace "$T/g.pcap" "$CHUNK" 0.1 | env "$@" "$BIN" replay --json --redis "$REDIS_URL" --sensor "$sensor" \
        --redis-timeout 500 --flush-timeout 30 "${ROUTES[@]}" - >"$T/$sensor.json" 2>"$T/$sensor.err" &
    FEED=$!
}

# verify SENSOR WHAT: exit status, exact counters, and the summary's redis object.
verify() {
    local sensor=$1 what=$2 rc out
    wait "$FEED"
    rc=$?
    [ "$rc" -eq 0 ] && ok "$what: replay exits 0" || not_ok "$what: exit $rc: $(tail -3 "$T/$sensor.err")"
    if out=$(redis_compare "$T/g.expect.json" "$T/$sensor.json" "$sensor" blackout:); then
        ok "$what: totals and bins in Redis equal the exact counters"
    else
        not_ok "$what: $out"
    fi
    REDIS_SUMMARY=$(tail -1 "$T/$sensor.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["redis"]))')
    echo "# $what: $REDIS_SUMMARY"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$REDIS_SUMMARY" "$1"; }

# 1. redis-server SIGKILLed twice and restarted while bins keep closing.
feed k1
sleep 2.5
redis_kill
sleep 2
redis_launch
sleep 2
redis_kill
redis_launch
verify k1 "SIGKILL and restart"
[ "$(field reconnects)" -ge 2 ] && ok "SIGKILL: the sensor reconnected ($(field reconnects) times)" ||
    not_ok "SIGKILL: reconnects $(field reconnects)"

# 2. CLIENT PAUSE (all commands) for 3 s, six times the command timeout.
feed p1
sleep 3
rcli CLIENT PAUSE 3000 ALL >/dev/null
sleep 1
rcli -p "$REDIS_PORT" INFO clients >/dev/null 2>&1 # answered after the pause
verify p1 "CLIENT PAUSE 3 s > 500 ms timeout"
[ "$(field reconnects)" -ge 1 ] && ok "PAUSE: the command timed out and the sensor reconnected" ||
    not_ok "PAUSE: reconnects $(field reconnects)"

# 3. The sensor's connection killed again and again (CLIENT KILL), and every 5th round trip
# the replies are lost after Redis has applied the flush (the writer drops the connection
# once the answer is there): those flushes are retried and must be found applied.
feed c1 BLACKOUT_TEST_LOSE_REPLY=5
for _ in $(seq 16); do
    sleep 0.6
    rcli CLIENT KILL TYPE normal SKIPME yes >/dev/null
done
verify c1 "CLIENT KILL and lost replies"
[ "$(field duplicates)" -ge 1 ] && ok "ambiguous flushes retried and found applied: $(field duplicates)" ||
    not_ok "no flush was retried after a lost reply (duplicates $(field duplicates))"
done_testing
