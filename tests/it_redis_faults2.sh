#!/usr/bin/env bash
# More Redis faults, each with a generated capture arriving slowly on stdin and the sanitizer
# build of the sensor:
#  1. a proxy in front of redis-server that answers some flushes and SCRIPT LOADs with
#     malformed RESP (garbage, wrong reply types, huge lengths, an error reply with a newline
#     and an escape sequence, a reply dripping in, a reply cut in half or lost): one clear
#     line each, reconnects, exact totals in the end, never the password in a message;
#  2. a fake server that never answers a flush properly: exit 1 at --flush-timeout, in
#     bounded time, saying what was not written;
#  3. Redis restarted with its data gone: one line says so, the sensor goes on, the bins
#     flushed after the loss are in Redis and the totals start again from them;
#  4. maxmemory with noeviction: OOM replies are reported (rate-limited), the bins wait in
#     the backlog and are written once memory is freed: exact totals;
#  5. the same with a backlog too small to wait it out: the dropped bins are counted and
#     reported, and Redis holds exactly the others.
. "$(dirname "$0")/lib.sh"
need_gen
if [ ! -x "$ASAN" ]; then
    skip "$ASAN not built (make asan)"
    done_testing
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99
PW=s3cr3t-fault-pw
redis_start "requirepass $PW"
REDIS_CLI_AUTH=(--pass "$PW")
URL=redis://:$PW@127.0.0.1:$REDIS_PORT/0

"$GEN" golden --duration 300 --snaplen 96 -o "$T/g.pcap" >/dev/null || not_ok "generator"
ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
SIZE=$(stat -c %s "$T/g.pcap")
CHUNK=$((SIZE / 80 + 1)) # about 8 s at 0.1 s a chunk

# feed NAME URL [OPTIONS...]: the slow replay in the background, PID in $FEED.
feed() {
    local name=$1 url=$2
    shift 2
    pace "$T/g.pcap" "$CHUNK" 0.1 | "$ASAN" replay --json --redis "$url" --sensor "$name" \
        --redis-timeout 500 "${ROUTES[@]}" "$@" - >"$T/$name.json" 2>"$T/$name.err" &
    FEED=$!
}

# finish NAME: waits for the replay; RC is its exit status, SUMMARY its summary's redis object.
finish() {
    wait "$FEED"
    RC=$?
    SUMMARY=$(tail -1 "$T/$1.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("redis", {})))' 2>/dev/null)
    echo "# $1: exit $RC, $SUMMARY"
}
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], -1))' "$SUMMARY" "$1"; }

# clean_err NAME: no sanitizer report, every line a "blackout: " line with printable bytes only,
# never the password.
clean_err() {
    local f=$T/$1.err
    if grep -q 'Sanitizer\|runtime error' "$f"; then
        not_ok "$1: sanitizer report: $(grep -m1 -A3 'Sanitizer\|runtime error' "$f" | tr '\n' ' ')"
    elif grep -qv '^blackout: ' "$f" || LC_ALL=C grep -q '[^[:print:]]' "$f"; then
        not_ok "$1: a message that is not one printable 'blackout: ' line: $(LC_ALL=C grep -m1 -v '^blackout: [[:print:]]*$' "$f" | od -c | head -3)"
    else
        ok "$1: no sanitizer report; $(wc -l <"$f") message line(s), each one printable line"
    fi
    if grep -q -- "$PW" "$T/$1.err" "$T/$1.json"; then not_ok "$1: the password was printed"; else ok "$1: the password never printed"; fi
}

# has NAME REGEX WHAT: a line of the sensor's stderr matches.
has() {
    if grep -Eq "$2" "$T/$1.err"; then ok "$1: $3: $(grep -Em1 "$2" "$T/$1.err" | cut -c1-160)"; else not_ok "$1: no line says $3"; fi
}

exact() {
    local out
    if out=$(redis_compare "$T/g.expect.json" "$T/$1.json" "$1" blackout:); then
        ok "$1: totals and bins in Redis equal the exact counters"
    else
        not_ok "$1: $out"
    fi
}

# fake NAME ARGS...: starts tests/fake_redis.py, port in FAKE_PORT.
fake() {
    local pf=$T/$1.port
    shift
    python3 "$ROOT/tests/fake_redis.py" "$pf" "$@" &
    local pid=$!
    at_exit "kill $pid 2>/dev/null"
    wait_for 10 test -s "$pf" || not_ok "fake server did not start"
    FAKE_PORT=$(cat "$pf")
}

# ---- 1. malformed replies between good ones ----
FAULTS=load:int,load:shortsha,flush:garbage,flush:strings,flush:int,flush:badstatus,flush:bigarray
FAULTS=$FAULTS,flush:bigbulk,flush:errnl,flush:drip,flush:cut,flush:lost
fake m1 "$FAULTS" --upstream "$REDIS_PORT" --every 2 --gap 0.5
t0=$SECONDS
feed m1 "redis://:$PW@127.0.0.1:$FAKE_PORT/0" -v # -v: no message is rate-limited
finish m1
[ "$RC" -eq 0 ] && ok "malformed replies: exit 0 after $((SECONDS - t0)) s" || not_ok "malformed replies: exit $RC: $(tail -2 "$T/m1.err")"
[ "$(wc -l <"$T/m1.port.log")" -eq 12 ] && ok "all 12 faults were served" || not_ok "faults served: $(tr '\n' ' ' <"$T/m1.port.log")"
exact m1
clean_err m1
has m1 'SCRIPT LOAD answered with an integer, not a script hash' "a wrong SCRIPT LOAD reply"
has m1 'Protocol error' "garbage bytes"
has m1 'flush script answered with (an array|an integer), not its result' "a wrong flush reply type"
has m1 'reply array over [0-9]+ elements refused' "an over-long array"
has m1 'no complete reply within 500 ms' "a reply that never completes"
has m1 'Redis refused a flush \(keeping it, retrying\): ERR two\?lines \?\[31mred' "an error reply, made printable"
[ "$(field reconnects)" -ge 8 ] && ok "reconnected after each fault ($(field reconnects) times)" || not_ok "reconnects $(field reconnects)"
[ "$(field duplicates)" -ge 1 ] && ok "a flush whose reply was cut or lost was found applied ($(field duplicates))" ||
    not_ok "duplicates $(field duplicates)"

# ---- 2. a server that never answers a flush properly ----
for kind in strings drip; do
    fake "f-$kind" --always "$kind"
    t0=$SECONDS
    timeout 60 "$ASAN" replay -q --redis "redis://:$PW@127.0.0.1:$FAKE_PORT" --sensor "f-$kind" --redis-timeout 500 \
        --flush-timeout 2 "${ROUTES[@]}" "$T/g.pcap" >"$T/f-$kind.json" 2>"$T/f-$kind.err"
    RC=$?
    took=$((SECONDS - t0))
    [ "$RC" -eq 1 ] && [ "$took" -le 20 ] && ok "fake server ($kind): exit 1 in $took s" ||
        not_ok "fake server ($kind): exit $RC in $took s: $(tail -2 "$T/f-$kind.err")"
    has "f-$kind" '[0-9]+ bins \(starts .*not written to Redis at 127\.0\.0\.1:[0-9]+/0 within --flush-timeout 2 s; last error: ' "what was not written"
    clean_err "f-$kind"
    n=$(wc -l <"$T/f-$kind.err")
    [ "$n" -le 6 ] && ok "fake server ($kind): $n lines in $took s (rate-limited)" || not_ok "fake server ($kind): $n lines: $(head -8 "$T/f-$kind.err")"
done

# ---- 3. Redis restarted with its data gone ----
feed d1 "$URL"
sleep 2.5
redis_stop
find "$REDIS_DIR" -mindepth 1 ! -name redis.conf ! -name redis.log -exec rm -rf {} +
redis_launch
finish d1
[ "$RC" -eq 0 ] && ok "data gone: exit 0" || not_ok "data gone: exit $RC: $(tail -2 "$T/d1.err")"
has d1 'Redis lost earlier data of this sensor run' "Redis lost its state"
[ "$(grep -c 'lost earlier data' "$T/d1.err")" -eq 1 ] && ok "data gone: said once" || not_ok "data gone: said $(grep -c 'lost earlier data' "$T/d1.err") times"
[ "$(field data_lost)" -ge 1 ] && ok "data gone: counted in the summary (data_lost $(field data_lost))" || not_ok "data_lost $(field data_lost)"
clean_err d1
# What Redis holds now: every bin after the loss, each as the sensor reported it, and totals
# that are the sum of those bins.
: >"$T/dump"
for p in $(rcli SMEMBERS "blackout:{d1}:pairs"); do
    r=${p#*/}
    rcli --raw ZRANGE "blackout:{d1}:bins:${p/\//:}" 0 -1 | sed "s/^/bin $r /" >>"$T/dump"
    rcli --raw HGETALL "blackout:{d1}:totals:${p/\//:}" | paste -d' ' - - | sed "s/^/total $r /" >>"$T/dump"
done
if out=$(python3 - "$T/d1.json" "$T/dump" <<'PY'
import json, sys
rep = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "bin":
        rep[(o["route"], o["start"])] = [o["start"], o["len"], o["pkts_in"], o["pkts_out"], o["bytes_in"], o["bytes_out"]]
bins, tot = {}, {}
for line in open(sys.argv[2]):
    kind, route, rest = (line.rstrip("\n") + "  ").split(" ", 2)
    if not rest.strip():
        continue
    if kind == "bin":
        f = [int(x) for x in rest.split(":")]
        bins[(route, f[0])] = f
    else:
        k, v = rest.split()
        tot.setdefault(route, {})[k] = int(v)
bad = []
starts = sorted({s for _, s in bins})
if not starts:
    bad.append("no bins in Redis after the loss")
else:
    after = [k for k in rep if k[1] >= starts[0]]
    for k in after:
        if bins.get(k, [None])[:6] != rep[k]:
            bad.append(f"bin {k}: redis {bins.get(k)}, sensor {rep[k]}")
    if len(after) >= len(rep):
        bad.append(f"Redis holds every bin ({len(after)}): nothing was lost?")
    for r in {rr for rr, _ in bins}:
        for i, k in enumerate(["pkts_in", "pkts_out", "bytes_in", "bytes_out"]):
            s = sum(f[2 + i] for (rr, _), f in bins.items() if rr == r)
            if tot.get(r, {}).get(k, 0) != s:
                bad.append(f"{r} {k}: total {tot.get(r, {}).get(k, 0)}, sum of bins {s}")
    print(f"{len(after)} of {len(rep)} route bins after the loss, from {starts[0]}")
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
); then ok "data gone: $out; totals restart from them"; else not_ok "data gone: $out"; fi

# ---- 4. maxmemory with noeviction, freed again ----
feed o1 "$URL"
sleep 1.5
rcli CONFIG SET maxmemory-policy noeviction >/dev/null
rcli CONFIG SET maxmemory 1 >/dev/null
sleep 4
rcli CONFIG SET maxmemory 0 >/dev/null
finish o1
[ "$RC" -eq 0 ] && ok "OOM: exit 0" || not_ok "OOM: exit $RC: $(tail -2 "$T/o1.err")"
exact o1
has o1 'Redis refused a flush \(keeping it, retrying\): OOM command not allowed' "the OOM reply"
n=$(grep -c 'refused a flush' "$T/o1.err")
[ "$n" -eq 1 ] && ok "OOM: reported once in 4 s of refusals ($(field errors) errors counted)" || not_ok "OOM: $n lines"
[ "$(field bins_dropped)" -eq 0 ] && ok "OOM: nothing dropped" || not_ok "OOM: bins_dropped $(field bins_dropped)"
clean_err o1

# ---- 5. maxmemory for longer than a small backlog can wait ----
rcli CONFIG SET maxmemory 1 >/dev/null
feed o2 "$URL" --backlog 4
wait_for 30 grep -q 'Redis backlog full' "$T/o2.err"
rcli CONFIG SET maxmemory 0 >/dev/null
finish o2
[ "$RC" -eq 0 ] && ok "backlog overflow: exit 0" || not_ok "backlog overflow: exit $RC: $(tail -2 "$T/o2.err")"
has o2 'Redis backlog full \(4 bins\): dropping the oldest bins' "the backlog overflowed"
has o2 '[0-9]+ bins dropped from the Redis backlog .* are missing from Redis' "how many bins are missing"
DROPPED=$(field bins_dropped)
STORED=0 NR=0
for p in $(rcli SMEMBERS "blackout:{o2}:pairs"); do
    STORED=$((STORED + $(rcli ZCARD "blackout:{o2}:bins:${p/\//:}")))
    NR=$((NR + 1))
done
REPORTED=$(grep -c '"type":"bin"' "$T/o2.json")
[ "$DROPPED" -gt 0 ] && [ $((STORED + DROPPED * NR)) -eq "$REPORTED" ] &&
    ok "backlog overflow: $STORED route bins in Redis + $DROPPED dropped bins x $NR routes = $REPORTED reported" ||
    not_ok "backlog overflow: $STORED in Redis, $DROPPED dropped x $NR routes, $REPORTED reported"
clean_err o2
done_testing
