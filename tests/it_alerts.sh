#!/usr/bin/env bash
# The alert path against a private redis-server: a replay's events land in the alerts
# stream, on the events channel and in the state hash; `blackout alerts` prints them
# (readable lines, JSON as stored, from --since); a consumer group gives each alert to one
# consumer; a consumer killed before acknowledging gets its entry again on restart; --exec
# receives the JSON and the environment, a failing command is retried and acknowledged once
# it succeeds; exit codes.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

ROUTES=(--route cn=vlan:100 --route ru=vlan:101)
"$GEN" blackout --no-bins -o "$T/b.pcap" >/dev/null || not_ok "generator: blackout"
"$GEN" failover --no-bins -o "$T/f.pcap" >/dev/null || not_ok "generator: failover"
"$GEN" blackout --duration 4800 --no-bins -o "$T/cut.pcap" >/dev/null || not_ok "generator: cut"
A=(--redis "$REDIS_URL")

subscribed() { [ "$(rcli PUBSUB NUMSUB blackout:events | tail -1)" -ge 1 ]; }
pending() { rcli XPENDING blackout:alerts "$1" | head -1; }
stream_json() { # the json field of every entry, in order
    rcli --raw XRANGE blackout:alerts - + | python3 -c '
import sys
lines = sys.stdin.read().split("\n")
for i, l in enumerate(lines):
    if l == "json":
        print(lines[i + 1])'
}

# ---- the write side: stream, channel, state hash ----
redis-cli -p "$REDIS_PORT" SUBSCRIBE blackout:events >"$T/sub.txt" &
SUB=$!
at_exit "kill $SUB 2>/dev/null"
wait_for 5 subscribed || not_ok "redis-cli did not subscribe"
"$BO" replay --redis "$REDIS_URL" --sensor s1 "${ROUTES[@]}" --json "$T/b.pcap" >"$T/s1.json" ||
    not_ok "replay s1"
grep '"type":"event"' "$T/s1.json" >"$T/s1.events"
N1=$(wc -l <"$T/s1.events")
[ "$N1" -eq 2 ] && ok "the blackout replay raised 2 events" || not_ok "replay raised $N1 events"
stream_json >"$T/stream.json"
cmp -s "$T/stream.json" "$T/s1.events" && ok "stream: one entry per event, JSON as printed" ||
    not_ok "stream JSON differs: $(diff "$T/stream.json" "$T/s1.events" | head -4)"
rcli --raw XRANGE blackout:alerts - + COUNT 1 | python3 -c '
import sys
l = sys.stdin.read().split("\n")
f = dict(zip(l[1::2], l[2::2]))
assert f["event"] == "country_down" and f["country"] == "KP" and f["route"] == "*" and f["sensor"] == "s1", f
assert f["since"] == "1749258000" and f["detected"] == "1749258010" and f["cause"] == "internal", f
' && ok "stream entry fields: event country route sensor since detected cause json" || not_ok "stream fields"
wait_for 5 grep -q country_up "$T/sub.txt"
python3 - "$T/sub.txt" "$T/s1.events" <<'PY' && ok "channel: every event's JSON published" || not_ok "channel: $(cat "$T/sub.txt")"
import sys
got = [l.strip() for l in open(sys.argv[1]) if l.startswith("{")]
want = [l.strip() for l in open(sys.argv[2])]
assert got == want, (got, want)
PY
kill $SUB
[ "$(rcli HGET blackout:state 's1/KP/*')" = up ] && [ "$(rcli HGET blackout:state s1/KP/cn)" = up ] &&
    ok "state hash after the outage: s1/KP/* and s1/KP/cn up" || not_ok "state: $(rcli HGETALL blackout:state)"
"$BO" replay -q --redis "$REDIS_URL" --sensor s3 "${ROUTES[@]}" "$T/cut.pcap" || not_ok "replay s3"
[ "$(rcli HGET blackout:state 's3/KP/*')" = down ] && [ "$(rcli HGET blackout:state s3/KP/ru)" = down ] &&
    ok "state hash of a capture that ends in the outage: s3/KP/* and s3/KP/ru down" ||
    not_ok "state s3: $(rcli HGETALL blackout:state)"
"$BO" replay -q --redis "$REDIS_URL" --sensor s2 "${ROUTES[@]}" "$T/f.pcap" || not_ok "replay s2"
NALL=$(rcli XLEN blackout:alerts)
[ "$NALL" -eq 5 ] && ok "5 alerts in the stream (2 + 1 + 2)" || not_ok "$NALL alerts in the stream"

# ---- reading without a group ----
"$BO" alerts "${A[@]}" >"$T/all.txt" 2>"$T/err" && [ ! -s "$T/err" ] || not_ok "alerts: $(cat "$T/err")"
[ "$(wc -l <"$T/all.txt")" -eq "$NALL" ] && grep -q '^2025-06-07 01:00:10Z  country_down  KP/\*      sensor s1 .*since 01:00:00Z (10 s to detect) .*cause internal, routes 2/2 silent$' "$T/all.txt" &&
    ok "alerts: one readable line per alert" || not_ok "alerts output: $(cat "$T/all.txt")"
echo "# $(head -1 "$T/all.txt")"
"$BO" alerts "${A[@]}" --json >"$T/all.json"
stream_json | cmp -s - "$T/all.json" && ok "alerts --json: the JSON exactly as stored" || not_ok "alerts --json"
SECOND=$(rcli XRANGE blackout:alerts - + COUNT 2 | grep -E '^[0-9]+-[0-9]+$' | sed -n 2p)
"$BO" alerts "${A[@]}" --json --since "$SECOND" >"$T/since.json"
[ "$(wc -l <"$T/since.json")" -eq $((NALL - 1)) ] && [ "$(head -1 "$T/since.json")" = "$(sed -n 2p "$T/all.json")" ] &&
    ok "--since ID: from that entry on" || not_ok "--since $SECOND: $(cat "$T/since.json")"
MS=${SECOND%-*}
"$BO" alerts "${A[@]}" --since $((MS / 1000 + 3600)) >"$T/future.txt" && [ ! -s "$T/future.txt" ] &&
    ok "--since a time after the last alert: nothing" || not_ok "--since future: $(cat "$T/future.txt")"
[ "$("$BO" alerts "${A[@]}" --since 2020-01-01T00:00:00Z | wc -l)" -eq "$NALL" ] &&
    ok "--since an ISO time before the first: all" || not_ok "--since ISO"
[ -z "$("$BO" alerts "${A[@]}" --since '$')" ] && ok "--since \$: only new ones" || not_ok "--since \$"

# ---- a consumer group: two consumers share, nobody gets one twice ----
for c in c1 c2; do
    "$BO" alerts "${A[@]}" --group g --consumer $c --follow --json >"$T/g.$c" 2>"$T/g.$c.err" &
    eval "G_$c=\$!"
done
at_exit "kill $G_c1 $G_c2 2>/dev/null"
wait_for 10 lines_at_least "$NALL" "$T/g.c1" "$T/g.c2"
"$BO" replay -q --redis "$REDIS_URL" --sensor s4 "${ROUTES[@]}" "$T/b.pcap" || not_ok "replay s4"
wait_for 10 lines_at_least $((NALL + 2)) "$T/g.c1" "$T/g.c2"
sleep 0.5
kill -TERM "$G_c1" "$G_c2"
wait "$G_c1"
rc1=$?
wait "$G_c2"
rc2=$?
[ "$rc1" -eq 0 ] && [ "$rc2" -eq 0 ] && ok "--follow consumers stop on SIGTERM with exit 0" || not_ok "consumers exited $rc1, $rc2"
stream_json | sort >"$T/want"
cat "$T/g.c1" "$T/g.c2" | sort >"$T/got"
cmp -s "$T/want" "$T/got" && ok "group: every alert once over two consumers ($(wc -l <"$T/g.c1") + $(wc -l <"$T/g.c2"))" ||
    not_ok "group: $(diff "$T/want" "$T/got" | head -5)"
[ "$(pending g)" -eq 0 ] && ok "group: nothing left pending" || not_ok "group: $(pending g) pending"
NALL=$(rcli XLEN blackout:alerts)

# ---- a consumer killed before acknowledging gets its entry again ----
{
    "$BO" alerts "${A[@]}" --group k --consumer c1 --exec 'kill -KILL $PPID' &
    wait $!
} 2>/dev/null # no "Killed" line from the shell
rc=$?
FIRST=$(rcli XRANGE blackout:alerts - + COUNT 1 | head -1)
[ "$rc" -eq 137 ] && [ "$(pending k)" -eq 1 ] && [ "$(rcli XPENDING blackout:alerts k - + 1 | head -2 | tr '\n' ' ')" = "$FIRST c1 " ] &&
    ok "killed consumer: its entry is pending for it" || not_ok "killed consumer: rc $rc, $(rcli XPENDING blackout:alerts k - + 10)"
export OUT="$T/k.ids"
"$BO" alerts "${A[@]}" --group k --consumer c1 --exec 'echo "$BLACKOUT_ID" >>"$OUT"' 2>"$T/err" && [ ! -s "$T/err" ] ||
    not_ok "restart: $(cat "$T/err")"
unset OUT
[ "$(head -1 "$T/k.ids")" = "$FIRST" ] && [ "$(wc -l <"$T/k.ids")" -eq "$NALL" ] && [ "$(sort -u "$T/k.ids" | wc -l)" -eq "$NALL" ] &&
    [ "$(pending k)" -eq 0 ] && ok "restarted consumer: its pending entry first, then the rest, each once" ||
    not_ok "restart: $(head -3 "$T/k.ids"), first $FIRST, $(pending k) pending"

# ---- --exec: the JSON on stdin, the environment ----
export DIR="$T/x" REDIS_PORT
mkdir -p "$DIR"
"$BO" alerts "${A[@]}" --group x --consumer c1 \
    --exec 'cat >"$DIR/$BLACKOUT_ID.json"; env | grep ^BLACKOUT_ | sort >"$DIR/$BLACKOUT_ID.env"' ||
    not_ok "--exec run"
unset DIR
python3 - "$T/x" <<'PY' && ok "--exec: the JSON on stdin and BLACKOUT_* in the environment, for every alert" || not_ok "--exec payload"
import json, os, subprocess, sys
d = sys.argv[1]
ids = sorted(f[:-5] for f in os.listdir(d) if f.endswith(".json"))
n = int(subprocess.run(["redis-cli", "-p", os.environ["REDIS_PORT"], "XLEN", "blackout:alerts"],
                       capture_output=True, text=True).stdout)
assert len(ids) == n, (len(ids), n)
for i in ids:
    raw = open(f"{d}/{i}.json").read()
    assert raw.endswith("}\n") and raw.count("\n") == 1, raw
    ev = json.loads(raw)
    env = dict(l.rstrip("\n").split("=", 1) for l in open(f"{d}/{i}.env"))
    assert env["BLACKOUT_ID"] == i, env
    assert env["BLACKOUT_EVENT"] == ev["event"] and env["BLACKOUT_ROUTE"] == ev["route"], env
    assert env["BLACKOUT_COUNTRY"] == ev["country"] == "KP", env
    assert env["BLACKOUT_SENSOR"] == ev["sensor"] and env["BLACKOUT_SINCE"] == str(ev["since"]), env
    assert env["BLACKOUT_DETECTED"] == str(ev["detected"]), env
    assert env.get("BLACKOUT_CAUSE") == ev.get("cause"), env
PY

# ---- a failing --exec is retried, then acknowledged once it succeeds ----
export CNT="$T/cnt" LOG="$T/handled"
"$BO" alerts "${A[@]}" --group r --consumer c1 --follow \
    --exec 'n=$(cat "$CNT" 2>/dev/null || echo 0); echo $((n + 1)) >"$CNT"; [ "$n" -ge 3 ] || exit 7; echo "$BLACKOUT_ID" >>"$LOG"' \
    2>"$T/r.err" &
R=$!
at_exit "kill $R 2>/dev/null"
retried() { [ "$(pending r)" = 0 ] && lines_at_least "$NALL" "$T/handled" 2>/dev/null; }
wait_for 20 retried
kill -TERM $R
wait $R
rc=$?
unset CNT LOG
[ "$rc" -eq 0 ] && [ "$(pending r)" -eq 0 ] && [ "$(sort -u "$T/handled" | wc -l)" -eq "$NALL" ] && [ "$(wc -l <"$T/handled")" -eq "$NALL" ] &&
    ok "failing --exec: retried, every alert handled once, nothing pending ($(cat "$T/cnt") runs for $NALL alerts)" ||
    not_ok "retry: rc $rc, $(pending r) pending, $(wc -l <"$T/handled" 2>/dev/null) handled, runs $(cat "$T/cnt")"
grep -q 'the --exec command exited 7; left pending, retried in 1 s' "$T/r.err" && ok "a failure says so: $(head -1 "$T/r.err")" ||
    not_ok "failure log: $(cat "$T/r.err")"
[ "$(wc -l <"$T/r.err")" -le 3 ] && ok "failure lines are rate-limited ($(wc -l <"$T/r.err"))" || not_ok "$(wc -l <"$T/r.err") failure lines"

# without --follow a failing command leaves the alerts pending and exits 1
"$BO" alerts -q "${A[@]}" --group f --consumer c1 --exec 'exit 3' 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && [ "$(pending f)" -eq "$NALL" ] && grep -q "left pending in group f" "$T/err" &&
    ok "failing --exec without --follow: exit 1, $NALL pending: $(cat "$T/err")" || not_ok "rc $rc, $(cat "$T/err")"
"$BO" alerts -q "${A[@]}" --exec 'exit 3' 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q "not handled: go on with --since" "$T/err" && ok "failing --exec without a group: exit 1 after 3 tries: $(cat "$T/err")" ||
    not_ok "no group: rc $rc, $(cat "$T/err")"

# ---- exit codes ----
expect_exit 2 "--group without --consumer" "$BO" alerts "${A[@]}" --group g
expect_exit 2 "a bad --since" "$BO" alerts "${A[@]}" --since yesterday
expect_exit 2 "an argument" "$BO" alerts "${A[@]}" extra
expect_exit 1 "Redis not there" "$BO" alerts --redis "redis://:hunter2@127.0.0.1:1/0"
[[ $LAST_ERR != *hunter2* ]] && ok "the password is not printed" || not_ok "password printed"
rcli SET wrong:alerts x >/dev/null
expect_exit 1 "the stream key holds a string" "$BO" alerts "${A[@]}" --redis-prefix wrong: --follow
done_testing
