# Shared helpers for the integration tests (sourced). Every test gets a private temporary
# directory that is removed on exit, and reports "ok - ..." / "not ok - ..." lines.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BO=$ROOT/build/blackout
ASAN=$ROOT/build/asan/blackout
GEN=${BLACKOUT_GEN:-$ROOT/build/blackout-gen}
SHARED=$ROOT/../shared
T=$(mktemp -d "${TMPDIR:-/tmp}/blackout-test.XXXXXX")
_cleanups=()
_failures=0
_cleanup() {
    local c
    for c in "${_cleanups[@]}"; do eval "$c" || true; done
    rm -rf "$T"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM
at_exit() { _cleanups+=("$1"); }

ok() { echo "ok - $*"; }
not_ok() {
    echo "not ok - $*"
    _failures=$((_failures + 1))
}
skip() { echo "# skip: $*"; }
done_testing() {
    if [ "$_failures" -gt 0 ]; then
        echo "$_failures check(s) failed"
        exit 1
    fi
    exit 0
}

# check "description" command...: runs the command, ok if it exits 0.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_exit CODE "description" command...: ok if the command exits with CODE and writes
# exactly one line to stderr; the line is kept in $LAST_ERR.
expect_exit() {
    local want=$1 what=$2
    shift 2
    "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    LAST_ERR=$(cat "$T/err")
    local lines
    lines=$(wc -l <"$T/err")
    if [ "$rc" -eq "$want" ] && [ "$lines" -eq 1 ]; then
        ok "$what (exit $rc: $LAST_ERR)"
    else
        not_ok "$what: exit $rc (want $want), $lines stderr line(s): $LAST_ERR"
    fi
}

# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
    local n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# lines_at_least N FILE...: the files hold N lines or more.
lines_at_least() { [ "$(cat "${@:2}" 2>/dev/null | wc -l)" -ge "$1" ]; }

# A JSON checker in Python (Debian's python3 is a test dependency).
py() { python3 "$@"; }

# ---- a private redis-server (AOF on, fsync always) on a free port in $T/redis ----

. "$ROOT/scripts/redis-private.sh" # redis_free_port, redis_write_conf, redis_launch

# redis_start [CONFIG-LINE]...: writes the config (extra lines appended) and starts the
# server; sets REDIS_PORT, REDIS_URL, REDIS_PID. The server is stopped when the test exits.
redis_start() {
    REDIS_DIR=$T/redis
    mkdir -p "$REDIS_DIR"
    REDIS_PORT=$(redis_free_port)
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
    redis_write_conf "appendonly yes" "appendfsync always" "$@"
    if [ -z "${_redis_at_exit:-}" ]; then
        at_exit redis_stop
        _redis_at_exit=1
    fi
    redis_launch
}

# SIGKILL: no shutdown, no final save; what the AOF holds is what survives.
redis_kill() {
    [ -n "${REDIS_PID:-}" ] || return 0
    kill -KILL "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

redis_stop() {
    [ -n "${REDIS_PID:-}" ] || return 0
    kill -TERM "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

# redis-cli against the private server; REDIS_CLI_AUTH=(--user U --pass P) when needed.
REDIS_CLI_AUTH=()
rcli() { redis-cli --no-auth-warning -p "$REDIS_PORT" "${REDIS_CLI_AUTH[@]}" "$@"; }

# pace FILE CHUNK SECONDS: copies FILE to stdout CHUNK bytes at a time, SECONDS apart (a
# capture arriving slowly on stdin, as from a live tap).
pace() {
    python3 -c '
import sys, time
f, n, d = open(sys.argv[1], "rb"), int(sys.argv[2]), float(sys.argv[3])
out = sys.stdout.buffer
while True:
    b = f.read(n)
    if not b:
        break
    out.write(b)
    out.flush()
    time.sleep(d)
' "$@"
}

# need_gen: skips the whole test when the traffic generator is not built.
need_gen() {
    if [ ! -x "$GEN" ]; then
        skip "traffic generator $GEN not built"
        done_testing
    fi
}

# redis_dump SENSOR PREFIX: every pair's totals and bins members, as lines "route CC/R",
# "total FIELD VALUE", "bin MEMBER", into $T/dump.
redis_dump() {
    local sensor=$1 prefix=$2 p
    : >"$T/dump"
    for p in $(rcli SMEMBERS "$prefix{$sensor}:pairs"); do
        echo "route $p" >>"$T/dump"
        rcli --raw HGETALL "$prefix{$sensor}:totals:${p/\//:}" | paste -d' ' - - |
            sed 's/^/total /' >>"$T/dump"
        rcli --raw ZRANGE "$prefix{$sensor}:bins:${p/\//:}" 0 -1 | sed 's/^/bin /' >>"$T/dump"
    done
}

# redis_compare EXPECT SENSOR_JSON SENSOR PREFIX: the totals and the per-bin series in Redis
# against the generator's exact counters (packets and bytes, country KP) and against the bins
# the sensor reported (every field). Prints one line per difference; exit 0 when none.
redis_compare() {
    local expect=$1 sensor_out=$2 sensor=$3 prefix=$4
    redis_dump "$sensor" "$prefix"
    python3 - "$expect" "$sensor_out" "$T/dump" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
bins, summary = {}, None
for line in open(sys.argv[2]):
    o = json.loads(line)
    if o["type"] == "bin" and o["country"] == "KP":
        bins[(o["route"], o["start"])] = o
    elif o["type"] == "summary":
        summary = o
totals, rbins, route = {}, {}, None
for line in open(sys.argv[3]):
    kind, rest = (line.rstrip("\n") + " ").split(" ", 1)
    rest = rest.strip()
    if not rest:
        continue
    if kind == "route":
        cc, route = rest.split("/", 1)
        if cc != "KP":
            route = None
            continue
        totals[route] = {}
    elif route is None:
        continue
    elif kind == "total":
        k, v = rest.split(" ")
        totals[route][k] = int(v)
    else:
        f = [int(x) for x in rest.split(":")]
        rbins[(route, f[0])] = f
bad = []
names = ["pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows_new", "hosts", "ctl_pkts", "drops"]
for r, e in exp["routes"].items():
    t = totals.get(r, {})
    for k in ["pkts_in", "pkts_out", "bytes_in", "bytes_out"]:
        if t.get(k, 0) != e[k]:
            bad.append(f"{r} {k}: redis {t.get(k, 0)}, expected {e[k]}")
    if t.get("flows", 0) != summary["routes"][r]["flows"]:
        bad.append(f"{r} flows: redis {t.get('flows', 0)}, sensor {summary['routes'][r]['flows']}")
for key, o in bins.items():
    f = rbins.get(key)
    want = [o["start"], o["len"]] + [o[n] for n in names]
    if f is None or f[:10] != want:
        bad.append(f"bin {key}: redis {f}, sensor {want}")
for key in rbins:
    if key not in bins:
        bad.append(f"bin {key} in redis, not reported by the sensor")
for r, lst in exp.get("bins", {}).items():
    for b in lst:
        f = rbins.get((r, b["start"]))
        if f is None or f[2] != b["pkts_in"] or f[3] != b["pkts_out"] or f[4] != b["bytes_in"]:
            bad.append(f"bin {r} {b['start']}: redis {f}, expected {b}")
for line in bad[:10]:
    print(line)
sys.exit(1 if bad else 0)
PY
}

# ---- live capture: a private network namespace with a veth pair ----

# need_netns: skips the whole test unless we are root and can make a network namespace
# with a veth pair (va, vb: tcpreplay sends on va, the sensor listens on vb) and run
# tcpreplay. The namespace, and with it the pair, is removed when the test exits.
need_netns() {
    local why
    if [ "$(id -u)" -ne 0 ]; then
        skip "live capture needs root (a network namespace and a veth pair)"
        done_testing
    fi
    for why in ip tcpreplay; do
        if ! command -v "$why" >/dev/null; then
            skip "live capture needs $why (scripts/install-deps)"
            done_testing
        fi
    done
    NETNS=blackout-test-$$
    if ! why=$(ip netns add "$NETNS" 2>&1); then
        skip "no network namespaces here: $why"
        done_testing
    fi
    at_exit netns_remove
    if ! why=$(ip -n "$NETNS" link add va type veth peer name vb 2>&1); then
        skip "no veth pairs here: $why"
        done_testing
    fi
    # no IPv6 neighbour discovery or MLD: the only frames on the pair are the test's
    in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        net.ipv6.conf.va.disable_ipv6=1 net.ipv6.conf.vb.disable_ipv6=1 2>/dev/null
    # room for QinQ and MPLS frames of full size
    ip -n "$NETNS" link set va mtu 9000 up && ip -n "$NETNS" link set vb mtu 9000 up &&
        ip -n "$NETNS" link set lo up
}

in_ns() { ip netns exec "$NETNS" "$@"; }

# Stops what still runs in the namespace (processes this test started there), then
# removes it.
netns_remove() {
    local pids
    pids=$(ip netns pids "$NETNS" 2>/dev/null)
    if [ -n "$pids" ]; then
        kill -KILL $pids 2>/dev/null
        sleep 0.2
    fi
    ip netns del "$NETNS" 2>/dev/null
}

# wait_match FILE REGEX SECONDS [COUNT]: waits until COUNT (default 1) lines of FILE
# match; 1 on timeout.
wait_match() {
    local i
    for i in $(seq $(($3 * 10))); do
        [ "$(grep -Ec "$2" "$1" 2>/dev/null)" -ge "${4:-1}" ] && return 0
        sleep 0.1
    done
    return 1
}

# live_start ARGS...: starts `blackout capture -i vb ARGS` in the namespace (stdout in
# $T/live.out, stderr in $T/live.err) and waits until it captures; sets LIVE_PID.
live_start() {
    : >"$T/live.out"
    : >"$T/live.err"
    # not through in_ns: $! is then ip's pid, which execs blackout
    ip netns exec "$NETNS" "$BO" capture -i vb "$@" >"$T/live.out" 2>"$T/live.err" &
    LIVE_PID=$!
    if ! wait_match "$T/live.err" 'capturing on' 30; then
        not_ok "capture did not start: $(head -3 "$T/live.err")"
        done_testing
    fi
}

# live_stop [SIGNAL]: stops the sensor (SIGTERM by default) and waits up to 60 s; sets
# LIVE_RC (137 when it had to be killed).
live_stop() {
    local i
    kill -"${1:-TERM}" "$LIVE_PID" 2>/dev/null
    for i in $(seq 600); do
        kill -0 "$LIVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$LIVE_PID" 2>/dev/null; then
        kill -KILL "$LIVE_PID"
        not_ok "capture did not stop within 60 s of SIG${1:-TERM}"
    fi
    wait "$LIVE_PID"
    LIVE_RC=$?
}

# kernel_drops: frames the kernel dropped before any capture socket could see them
# (per-CPU backlog overflows, on every CPU; frames the sending veth could not pass on). A
# loaded machine can drop there at top speed; no sensor can count those. (vb's rx_dropped
# is no such loss: it counts frames no protocol wanted, after capture sockets saw them.)
kernel_drops() {
    local backlog=0 va line
    local -a f
    while read -r line; do
        read -ra f <<<"$line"
        backlog=$((backlog + 16#${f[1]}))
    done </proc/net/softnet_stat
    va=$(in_ns cat /sys/class/net/va/statistics/tx_dropped)
    echo $((backlog + va))
}

# send_and_stop FILE: sends FILE at top speed into va while the sensor started by live_start
# listens, then stops it with SIGTERM (ok when it exits 0). Sets LOST to the frames the
# kernel dropped before any capture socket saw them (the counters are not comparable then).
send_and_stop() {
    local k0
    k0=$(kernel_drops)
    send_pcap "$1"
    LOST=$(($(kernel_drops) - k0))
    echo "# tcpreplay: $(grep -Eo 'Rated: [^,]+, [^,]+, [0-9.]+ pps' "$T/tcpreplay.out" | head -1)"
    sleep 1
    live_stop TERM
    [ "$LIVE_RC" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "SIGTERM: exit $LIVE_RC"
}

# live_exact WHAT EXPECT [COUNTER]: after send_and_stop, the summary the sensor printed
# ($T/live.out, --json) against the generator's truth: packets, per-route packets, bytes,
# flows and control packets exact, no drops, no late packet, every packet decoded ok (and,
# with COUNTER, opened once as that encapsulation). Skipped when the kernel lost frames.
live_exact() {
    local out
    if [ "$LOST" -gt 0 ]; then
        skip "the kernel dropped $LOST frames before the capture socket (a loaded machine): counters not comparable"
        return
    fi
    if out=$(python3 - "$2" "$T/live.out" "${3:-}" <<'PY'
import json, sys
exp = json.load(open(sys.argv[1]))
s = json.loads(open(sys.argv[2]).readlines()[-1])
assert s["type"] == "summary", s["type"]
bad = []
if s["packets"] != exp["packets"]:
    bad.append(f"packets {s['packets']}, expected {exp['packets']}")
for r, e in exp["routes"].items():
    t = s["routes"][r]
    for k in ["pkts_in", "pkts_out", "bytes_in", "bytes_out", "flows"]:
        if t[k] != e[k]:
            bad.append(f"{r} {k} {t[k]}, expected {e[k]}")
    if t["ctl_pkts"] != exp["ctl_pkts"][r] or t["drops"] != 0:
        bad.append(f"{r} ctl_pkts {t['ctl_pkts']} (expected {exp['ctl_pkts'][r]}), drops {t['drops']}")
if s["late_packets"] != 0:
    bad.append(f"late packets {s['late_packets']}")
opened = s["decode"].get("decapsulated", {}).get(sys.argv[3], exp["packets"])
if s["decode"]["ok"] != exp["packets"] or opened != exp["packets"]:
    bad.append(f"decode {s['decode']}")
print("; ".join(bad[:8]) or f"{s['packets']} packets")
sys.exit(1 if bad else 0)
PY
    ); then
        ok "$1: every counter exact ($out)"
    else
        not_ok "$1: $out"
    fi
}

# send_pcap FILE [TCPREPLAY OPTIONS]: replays FILE into va (at top speed by default).
send_pcap() {
    local f=$1
    shift
    [ $# -gt 0 ] || set -- -t
    in_ns tcpreplay -q "$@" -i va "$f" >"$T/tcpreplay.out" 2>&1 ||
        not_ok "tcpreplay $f: $(tail -2 "$T/tcpreplay.out")"
}
