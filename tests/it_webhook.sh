#!/usr/bin/env bash
# `blackout alerts --webhook`: the alerts of a generated blackout and a failover (replayed
# into a private Redis) POSTed to a local endpoint (tests/webhook_sink.py) that fails the
# first POSTs: every alert arrives (at least once, none lost), acknowledged only after a
# 2xx, bodies the stored JSON, with Content-Type, X-Blackout-Id and the --webhook-header
# lines; failures are logged without the URL's credentials or the headers; the
# Alertmanager format is accepted by a stand-in checking the v2 API's fields, each *_up
# resolving its *_down; a timeout and a refused connection leave the alert pending (exit
# 1); bad --webhook options exit 2 with one line.
. "$(dirname "$0")/lib.sh"
need_gen
redis_start

ROUTES=(--route cn=vlan:100 --route ru=vlan:101 --warmup 600)
"$GEN" blackout --duration 1800 --outage 900:1200 --no-bins -o "$T/b.pcap" >/dev/null ||
    not_ok "generator: blackout"
"$GEN" failover --duration 1800 --failover 900:1200:cn:ru --no-bins -o "$T/f.pcap" >/dev/null ||
    not_ok "generator: failover"
"$BO" replay -q --redis "$REDIS_URL" --sensor s1 "${ROUTES[@]}" "$T/b.pcap" || not_ok "replay s1"
"$BO" replay -q --redis "$REDIS_URL" --sensor s2 "${ROUTES[@]}" "$T/f.pcap" || not_ok "replay s2"
NALL=$(rcli XLEN blackout:alerts)
[ "$NALL" -eq 4 ] && ok "4 alerts in the stream (country down and up, route down and up)" ||
    not_ok "$NALL alerts in the stream"
A=(--redis "$REDIS_URL")
pending() { rcli XPENDING blackout:alerts "$1" | head -1; }

# sink NAME ARGS...: starts webhook_sink.py, its log in $T/NAME.log; sets SINK_PORT
sink() {
    local name=$1
    shift
    python3 "$ROOT/tests/webhook_sink.py" "$T/$name.port" "$T/$name.log" "$@" &
    at_exit "kill $! 2>/dev/null"
    wait_for 10 test -s "$T/$name.port" || not_ok "webhook_sink.py did not start"
    SINK_PORT=$(cat "$T/$name.port")
}

# ---- a failing endpoint: retried until every alert is taken ----
sink fail --fail 3
"$BO" alerts "${A[@]}" --group w --consumer c1 --follow --webhook "http://127.0.0.1:$SINK_PORT/hook" \
    --webhook-header 'Authorization: Bearer s3cret-t0ken' --webhook-header 'X-Team: noc' 2>"$T/w.err" &
W=$!
at_exit "kill $W 2>/dev/null"
delivered() { [ "$(pending w)" = 0 ] && [ "$(cat "$T/fail.log" 2>/dev/null | grep -c '"status": 200')" -ge "$NALL" ]; }
wait_for 30 delivered || not_ok "not every alert was delivered: $(pending w) pending"
kill -TERM $W
wait $W
RC=$?
[ "$RC" -eq 0 ] && ok "--follow consumer stops on SIGTERM with exit 0" || not_ok "exit $RC: $(cat "$T/w.err")"
rcli --raw XRANGE blackout:alerts - + | python3 -c '
import json, sys
l = sys.stdin.read().split("\n")
out = {}
i = 0
while i < len(l):
    if "-" in l[i] and l[i].replace("-", "").isdigit():
        id = l[i]
        j = i + 1
        while j < len(l) and not ("-" in l[j] and l[j].replace("-", "").isdigit()):
            if l[j] == "json":
                out[id] = l[j + 1]
            j += 1
        i = j
    else:
        i += 1
json.dump(out, sys.stdout)' >"$T/stream.json"
if out=$(python3 - "$T/fail.log" "$T/stream.json" <<'PY'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
stream = json.load(open(sys.argv[2]))
bad = []
ok_ids = {}
for r in reqs:
    h = {k.lower(): v for k, v in r["headers"].items()}
    id = h.get("x-blackout-id")
    if id not in stream:
        bad.append(f"request {r['n']}: X-Blackout-Id {id!r} is no stream entry")
        continue
    if r["body"] != stream[id]:
        bad.append(f"request {r['n']}: body is not the stored JSON")
    json.loads(r["body"])
    if h.get("content-type") != "application/json":
        bad.append(f"Content-Type {h.get('content-type')}")
    if h.get("authorization") != "Bearer s3cret-t0ken" or h.get("x-team") != "noc":
        bad.append(f"--webhook-header lines missing: {h}")
    if r["status"] == 200:
        ok_ids[id] = ok_ids.get(id, 0) + 1
failed = [r for r in reqs if r["status"] == 503]
if set(ok_ids) != set(stream):
    bad.append(f"delivered {sorted(ok_ids)}, stream {sorted(stream)}")
if len(failed) != 3:
    bad.append(f"{len(failed)} failed requests, want 3")
print(f"{len(reqs)} POSTs for {len(stream)} alerts: {len(failed)} answered 503, then each alert 200 "
      f"{'once' if all(v == 1 for v in ok_ids.values()) else 'at least once'}")
print("; ".join(bad))
sys.exit(1 if bad else 0)
PY
); then
    ok "every alert arrived, none lost: $(echo "$out" | head -1)"
else
    not_ok "deliveries: $(echo "$out" | tr '\n' ' ')"
fi
[ "$(pending w)" -eq 0 ] && ok "nothing left pending" || not_ok "$(pending w) pending"
grep -q "answered 503: failing on purpose; left pending, retried in 1 s" "$T/w.err" &&
    ok "a failure is one line: $(head -1 "$T/w.err")" || not_ok "failure log: $(cat "$T/w.err")"
! grep -q 's3cret' "$T/w.err" && ok "the header's token is never logged" || not_ok "token in the log"

# ---- credentials in the URL: used, never shown ----
sink cred --fail 1
"$BO" alerts "${A[@]}" --group c --consumer c1 --since "$(rcli XRANGE blackout:alerts - + COUNT 1 | head -1)" \
    --webhook "http://alice:pa55word@127.0.0.1:$SINK_PORT/hook/tok3npath?key=k3y" 2>"$T/c.err"
RC=$?
[ "$RC" -eq 1 ] && [ "$(pending c)" -eq 1 ] && ok "one failed POST without --follow: exit 1, the alert stays pending" ||
    not_ok "exit $RC, $(pending c) pending: $(cat "$T/c.err")"
grep -q "webhook http://\*\*\*@127.0.0.1:$SINK_PORT/…" "$T/c.err" && ! grep -Eq 'alice|pa55word|tok3npath|k3y' "$T/c.err" &&
    ok "the URL is shown without its credentials, path or query: $(head -1 "$T/c.err")" ||
    not_ok "URL in the log: $(cat "$T/c.err")"
"$BO" alerts "${A[@]}" --group c --consumer c1 --webhook "http://alice:pa55word@127.0.0.1:$SINK_PORT/hook/tok3npath?key=k3y" 2>"$T/c2.err" &&
    [ "$(pending c)" -eq 0 ] && ok "the next run delivers the pending alert first, then the rest" ||
    not_ok "second run: $(cat "$T/c2.err")"
python3 - "$T/cred.log" <<'PY' && ok "the URL's credentials go as HTTP basic auth" || not_ok "basic auth: $(head -c 300 "$T/cred.log")"
import base64, json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
want = "Basic " + base64.b64encode(b"alice:pa55word").decode()
assert all({k.lower(): v for k, v in r["headers"].items()}.get("authorization") == want for r in reqs), reqs[0]["headers"]
assert all(r["path"] == "/hook/tok3npath?key=k3y" for r in reqs)
PY

# ---- the Alertmanager v2 shape ----
sink am --alertmanager
"$BO" alerts "${A[@]}" --group am --consumer c1 --webhook "http://127.0.0.1:$SINK_PORT/api/v2/alerts" \
    --webhook-format alertmanager 2>"$T/am.err"
RC=$?
[ "$RC" -eq 0 ] && [ "$(pending am)" -eq 0 ] && ok "--webhook-format alertmanager: the stand-in accepts all $NALL" ||
    not_ok "exit $RC, $(pending am) pending: $(cat "$T/am.err")"
if out=$(python3 - "$T/am.log" <<'PY'
import json, sys, time
from datetime import datetime
reqs = [json.loads(l) for l in open(sys.argv[1])]
bad, open_, resolved = [], {}, 0
now = time.time()
for r in reqs:
    if r["status"] != 200:
        bad.append(f"status {r['status']}")
    a = json.loads(r["body"])[0]
    key = json.dumps(a["labels"], sort_keys=True)
    ends = datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00")).timestamp()
    if a["annotations"]["event"].endswith("_down"):
        open_[key] = a
        if ends <= now:
            bad.append(f"an open alert ends at {a['endsAt']}")
    else:
        if key not in open_:
            bad.append(f"an *_up without its *_down's labels: {a['labels']}")
        elif a["startsAt"] != open_[key]["startsAt"] or ends > now:
            bad.append(f"the *_up does not resolve: {a['startsAt']} .. {a['endsAt']}")
        else:
            resolved += 1
names = sorted({json.loads(r["body"])[0]["labels"]["alertname"] for r in reqs})
print(f"{len(reqs)} alerts ({', '.join(names)}), {resolved} resolved by their *_up")
print("; ".join(bad))
sys.exit(1 if bad or resolved != 2 else 0)
PY
); then
    ok "Alertmanager shape: $(echo "$out" | head -1)"
else
    not_ok "Alertmanager shape: $(echo "$out" | tr '\n' ' ')"
fi

# ---- a timeout, a refused connection: pending, exit 1 ----
LAST=$(rcli XREVRANGE blackout:alerts + - COUNT 1 | head -1)
sink slow --slow 3
"$BO" alerts "${A[@]}" --group t --consumer c1 --since "$LAST" --webhook "http://127.0.0.1:$SINK_PORT/slow" \
    --webhook-timeout 1 2>"$T/t.err"
RC=$?
[ "$RC" -eq 1 ] && [ "$(pending t)" -eq 1 ] && grep -q "(--webhook-timeout)" "$T/t.err" &&
    ok "--webhook-timeout 1 against a 3 s answer: pending, exit 1: $(head -1 "$T/t.err")" ||
    not_ok "timeout: exit $RC, $(pending t) pending: $(cat "$T/t.err")"
FREE=$(redis_free_port)
"$BO" alerts "${A[@]}" --group r --consumer c1 --since "$LAST" --webhook "http://127.0.0.1:$FREE/" 2>"$T/r.err"
RC=$?
[ "$RC" -eq 1 ] && [ "$(pending r)" -eq 1 ] && grep -q "Couldn't connect to server\|Connection refused" "$T/r.err" &&
    ok "a refused connection: pending, exit 1: $(head -1 "$T/r.err")" ||
    not_ok "refused: exit $RC, $(pending r) pending: $(cat "$T/r.err")"

# ---- bad options ----
expect_exit 2 "a malformed --webhook URL" "$BO" alerts "${A[@]}" --webhook 'http//user:hunter2@example.org/'
[[ $LAST_ERR != *hunter2* ]] && ok "the malformed URL is not echoed" || not_ok "URL echoed: $LAST_ERR"
expect_exit 2 "--webhook ftp://" "$BO" alerts "${A[@]}" --webhook ftp://example.org/
expect_exit 2 "--webhook without a host" "$BO" alerts "${A[@]}" --webhook http://:8080/hook
expect_exit 2 "a --webhook-header without a colon" "$BO" alerts "${A[@]}" --webhook http://127.0.0.1:1/ --webhook-header 'Bearer t0ken'
[[ $LAST_ERR != *t0ken* ]] && ok "the header is not echoed" || not_ok "header echoed: $LAST_ERR"
expect_exit 2 "--webhook-format xml" "$BO" alerts "${A[@]}" --webhook http://127.0.0.1:1/ --webhook-format xml
expect_exit 2 "--webhook-header without --webhook" "$BO" alerts "${A[@]}" --webhook-header 'X-A: 1'
expect_exit 2 "--exec and --webhook together" "$BO" alerts "${A[@]}" --webhook http://127.0.0.1:1/ --exec true
printf 'webhook = http//bad\n' >"$T/w.conf"
expect_exit 2 "a malformed webhook in the config file" "$BO" alerts -c "$T/w.conf" "${A[@]}"
[[ $LAST_ERR == *"w.conf:1: not an http:// or https:// URL"* ]] && ok "it names file:line" || not_ok "message: $LAST_ERR"
done_testing
