# Helpers for the Sentinel and Cluster tests (sourced after lib.sh): private redis-servers,
# sentinels and cluster nodes on free loopback ports, each in its own directory under $T,
# all stopped when the test exits.

declare -A HA_PID # name -> pid

# ha_server NAME [--sentinel] [CONFIG-LINE]...: starts a server (or a sentinel) in $T/NAME
# on a free port, sets HA_PORT; waits until it answers.
ha_server() {
    local name=$1 mode=
    shift
    if [ "${1:-}" = --sentinel ]; then
        mode=--sentinel
        shift
    fi
    local dir=$T/$name i
    mkdir -p "$dir"
    HA_PORT=$(redis_free_port)
    {
        echo "port $HA_PORT"
        echo "bind 127.0.0.1"
        echo "dir $dir"
        echo "logfile $dir/log"
        [ -z "$mode" ] && echo 'save ""'
        printf '%s\n' "$@"
    } >"$dir/redis.conf"
    echo "$HA_PORT" >"$dir/port"
    redis-server "$dir/redis.conf" $mode &
    HA_PID[$name]=$!
    for i in $(seq 100); do
        redis-cli -p "$HA_PORT" PING 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    echo "# $name did not start on port $HA_PORT: $(tail -3 "$dir/log")"
    return 1
}

# ha_restart NAME [ARG]...: starts NAME again on its port with its config and the extra
# command-line arguments (--replicaof HOST PORT: back as a replica of the new master, as an
# operator would restart it; the sentinels alone take some 10 s to convert it).
ha_restart() {
    local dir=$T/$1 mode= port
    shift
    port=$(cat "$dir/port")
    grep -q '^sentinel monitor' "$dir/redis.conf" && mode=--sentinel
    redis-server "$dir/redis.conf" $mode "$@" &
    HA_PID[$(basename "$dir")]=$!
    wait_for 10 sh -c "redis-cli -p $port PING 2>/dev/null | grep -q PONG"
}

ha_port() { cat "$T/$1/port"; }

# ha_kill NAME: SIGKILL, no shutdown.
ha_kill() {
    local pid=${HA_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    HA_PID[$1]=
}

ha_stop_all() {
    local name
    for name in "${!HA_PID[@]}"; do
        [ -n "${HA_PID[$name]}" ] && kill -KILL "${HA_PID[$name]}" 2>/dev/null
    done
    wait 2>/dev/null
}
at_exit ha_stop_all

# ---- the sensors' side ----

# ha_prepare SECONDS: skips the test without redis-server or the generator; makes $T/o.pcap
# (30 min, a 5 min country outage: two alerts) and CHUNK, the pace of a replay of about
# SECONDS (0.1 s a chunk); BIN is the sanitizer build when there is one.
ha_prepare() {
    need_gen
    if ! command -v redis-server >/dev/null; then
        skip "no redis-server (scripts/install-deps)"
        done_testing
    fi
    "$GEN" blackout --duration 1800 --outage 900:1200 --rate 2 --snaplen 96 -o "$T/o.pcap" \
        >/dev/null || not_ok "generator"
    ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
    CHUNK=$(($(stat -c %s "$T/o.pcap") / ($1 * 10) + 1))
    BIN=$BO
    [ -x "$ASAN" ] && BIN=$ASAN
}

# ha_feed SENSOR URL: the slow replay in the background, its pid in FEED[SENSOR].
declare -A FEED
ha_feed() {
    pace "$T/o.pcap" "$CHUNK" 0.1 | "$BIN" replay --json --warmup 600 --redis "$2" --sensor "$1" \
        --redis-timeout 1000 --flush-timeout 60 "${ROUTES[@]}" - >"$T/$1.json" 2>"$T/$1.err" &
    FEED[$1]=$!
}

# ha_verify SENSOR STREAM WHAT: the replay's exit status, its exact counters in Redis and
# every event it raised once in STREAM (read with rcli: REDIS_PORT and REDIS_CLI_AUTH say
# where); SUMMARY is then its summary's redis object.
ha_verify() {
    local s=$1 rc out
    wait "${FEED[$s]}"
    rc=$?
    [ "$rc" -eq 0 ] && ok "$3: replay exits 0" || not_ok "$3: exit $rc: $(tail -3 "$T/$s.err")"
    if out=$(redis_compare "$T/o.expect.json" "$T/$s.json" "$s" blackout:); then
        ok "$3: the totals and bins in Redis equal the exact counters"
    else
        not_ok "$3: $out"
    fi
    grep '"type":"event"' "$T/$s.json" >"$T/$s.events"
    rcli --raw XRANGE "$2" - + | python3 -c '
import json, sys
lines = sys.stdin.read().split("\n")
got = [lines[i + 1] for i, l in enumerate(lines) if l == "json"]
want = [l.strip() for l in open(sys.argv[1])]
mine = [g for g in got if json.loads(g)["sensor"] == sys.argv[2]]
assert len(want) == 2 and mine == want, (mine, want)
' "$T/$s.events" "$s" && ok "$3: every alert once in $2" || not_ok "$3: the alerts in $2"
    SUMMARY=$(tail -1 "$T/$s.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["redis"]))')
    echo "# $3: $SUMMARY"
    [ "$(field data_lost)" -eq 0 ] || not_ok "$3: data_lost $(field data_lost)"
}

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$SUMMARY" "$1"; }

# ---- failover timing (KILLED: the time of the kill, date +%s.%N) ----

# marker SENSOR PORT: the sensor run's flush marker on the server at PORT.
marker() {
    local k
    k=$(redis-cli -p "$2" --scan --pattern "blackout:{$1}:run:*" | head -1)
    [ -n "$k" ] && redis-cli -p "$2" GET "$k" || echo 0
}

since() { python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"; }

# connected_again SENSOR NEW_PORT: waits until the sensor's connection is on the server at
# NEW_PORT (CLIENT SETNAME blackout-SENSOR); prints the seconds since $KILLED.
connected_again() {
    wait_for 60 sh -c "redis-cli -p $2 CLIENT LIST | grep -q 'name=blackout-$1 '"
    since "$KILLED"
}

# writes_again SENSOR NEW_PORT: waits until the sensor's flushes are applied on the server
# at NEW_PORT (its marker moves on); prints the seconds since $KILLED.
writes_again() {
    local m0 i
    m0=$(marker "$1" "$2")
    for i in $(seq 600); do
        [ "$(marker "$1" "$2")" != "$m0" ] && break
        sleep 0.05
    done
    since "$KILLED"
}

# ---- Sentinel: one master, one replica, three sentinels watching "mymaster" ----

# sentinel_start: sets M (master), R (replica) names, SENTINEL_URL, SENTINEL_PORTS.
sentinel_start() {
    local s ports=() n
    ha_server master "repl-diskless-sync yes" "repl-diskless-sync-delay 0" || return 1
    ha_server replica "replicaof 127.0.0.1 $(ha_port master)" \
        "repl-diskless-sync yes" "repl-diskless-sync-delay 0" || return 1
    wait_for 10 sh -c "redis-cli -p $(ha_port replica) INFO replication | grep -q 'master_link_status:up'" ||
        return 1
    for s in 1 2 3; do
        ha_server "sentinel$s" --sentinel "sentinel monitor mymaster 127.0.0.1 $(ha_port master) 2" \
            "sentinel down-after-milliseconds mymaster 1000" \
            "sentinel failover-timeout mymaster 4000" "sentinel parallel-syncs mymaster 1" ||
            return 1
        ports+=("127.0.0.1:$HA_PORT")
    done
    SENTINEL_PORTS=$(
        IFS=,
        echo "${ports[*]}"
    )
    SENTINEL_URL="redis-sentinel://$SENTINEL_PORTS#mymaster"
    # each sentinel knows the replica and the two others (hello messages every 2 s)
    for s in 1 2 3; do
        n=$(ha_port "sentinel$s")
        wait_for 20 sh -c "[ \"\$(redis-cli -p $n SENTINEL sentinels mymaster | grep -c '^name$')\" -eq 2 ] &&
            [ \"\$(redis-cli -p $n SENTINEL replicas mymaster | grep -c '^name$')\" -eq 1 ]" || return 1
    done
}

# sentinel_master_port: the master's port as the first sentinel sees it.
sentinel_master_port() {
    redis-cli -p "$(ha_port sentinel1)" SENTINEL get-master-addr-by-name mymaster | tail -1
}

# ---- Cluster: six nodes, three masters with a replica each ----

# cluster_start: nodes node1..node6, CLUSTER_URL (seeds: the first three).
cluster_start() {
    local i addrs=()
    for i in 1 2 3 4 5 6; do
        ha_server "node$i" "cluster-enabled yes" "cluster-config-file nodes.conf" \
            "cluster-port $(redis_free_port)" \
            "cluster-node-timeout 1000" "cluster-replica-validity-factor 0" \
            "repl-diskless-sync yes" "repl-diskless-sync-delay 0" || return 1
        addrs+=("127.0.0.1:$HA_PORT")
    done
    redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
        >"$T/cluster-create.log" 2>&1 || {
        echo "# redis-cli --cluster create: $(tail -3 "$T/cluster-create.log")"
        return 1
    }
    CLUSTER_URL="redis-cluster://${addrs[0]},${addrs[1]},${addrs[2]}"
    cluster_wait_ok
}

# cluster_wait_ok: every live node says cluster_state:ok and every master has its replica
# in sync.
cluster_wait_ok() {
    local i p
    for i in 1 2 3 4 5 6; do
        [ -n "${HA_PID[node$i]:-}" ] || continue
        p=$(ha_port "node$i")
        wait_for 30 sh -c "redis-cli -p $p CLUSTER INFO | grep -q 'cluster_state:ok'" || return 1
    done
    redis-cli --cluster check "127.0.0.1:$(ha_port node1)" >"$T/cluster-check.log" 2>&1
}

# cluster_live_port: the port of a node that runs.
cluster_live_port() {
    local i
    for i in 1 2 3 4 5 6; do
        [ -n "${HA_PID[node$i]:-}" ] && ha_port "node$i" && return 0
    done
    return 1
}

# cluster_node_of KEY: the name of the master that serves KEY's slot now.
cluster_node_of() {
    local p slot port i
    p=$(cluster_live_port)
    slot=$(redis-cli -p "$p" CLUSTER KEYSLOT "$1")
    port=$(redis-cli -p "$p" CLUSTER NODES | python3 -c '
import sys
slot = int(sys.argv[1])
for line in sys.stdin:
    f = line.split()
    if "master" not in f[2] or "fail" in f[2]:
        continue
    for r in f[8:]:
        a, _, b = r.partition("-")
        if not r.startswith("[") and int(a) <= slot <= int(b or a):
            print(f[1].split("@")[0].rsplit(":", 1)[1])
' "$slot")
    for i in 1 2 3 4 5 6; do
        [ "$(ha_port "node$i")" = "$port" ] && echo "node$i" && return 0
    done
    return 1
}

# ccli PORT ARGS...: redis-cli in cluster mode (follows MOVED) from a node.
ccli() {
    local p=$1
    shift
    redis-cli -c -p "$p" "$@"
}
