#!/usr/bin/env bash
# Live capture, operations: start-up errors (one line, the right exit status); --user drops
# root after the interface is open (checked in /proc/PID/status) and the sensor still
# counts and writes to Redis; --pidfile is written, locked against a second sensor and
# emptied at exit; SIGHUP reloads routes and prefixes from the next bin without losing a
# packet, and a bad configuration is refused with one line while the old one goes on.
. "$(dirname "$0")/lib.sh"
need_gen
need_netns
redis_start "unixsocket $T/redis/redis.sock" "unixsocketperm 777"
chmod 711 "$T" "$T/redis" # the socket, for the unprivileged sensor
SOCK=unix://$T/redis/redis.sock

"$GEN" golden -o "$T/g.pcap" >/dev/null || not_ok "generator"
read -r CN_IN RU_IN PKTS < <(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
print(e["routes"]["cn"]["pkts_in"], e["routes"]["ru"]["pkts_in"], e["packets"])' "$T/g.expect.json")

# ---- start-up errors ----
expect_exit 2 "capture without an interface" "$BO" capture --no-redis
expect_exit 2 "iface: rule for an interface not captured" \
    in_ns "$BO" capture -i vb --route cn=iface:eth9 --no-redis
expect_exit 1 "an interface that does not exist" in_ns "$BO" capture -i nosuch0 --no-redis
[[ $LAST_ERR == *nosuch0* ]] || not_ok "the message names the interface: $LAST_ERR"
expect_exit 1 "an unknown --user" in_ns "$BO" capture -i vb --user no-such-user-x --no-redis
# every key of the example config is valid (exit 2 otherwise); its eth1 is not in here
expect_exit 1 "scripts/blackout.conf.example loads" in_ns "$BO" capture -c scripts/blackout.conf.example
[[ $LAST_ERR == *eth1* ]] || not_ok "the example stops at its interface: $LAST_ERR"

# ---- --user, --pidfile ----
mkdir -p "$T/run"
USER_ID=$(id -u nobody)
live_start --redis "$SOCK" --sensor priv --user nobody --pidfile "$T/run/bo.pid" --json \
    --route cn=vlan:100 --route ru=vlan:101
STATUS=$(grep -E '^(Uid|Gid|Groups|CapEff):' "/proc/$LIVE_PID/status" | tr -s '\t ' ' ' | tr '\n' ';')
echo "# /proc/$LIVE_PID/status: $STATUS"
[[ $STATUS == "Uid: $USER_ID $USER_ID $USER_ID $USER_ID;"* && $STATUS == *"CapEff: 0000000000000000;"* ]] &&
    [[ $STATUS != *"Gid: 0 "* && $STATUS != *"Groups: 0"* ]] &&
    ok "root dropped after opening the interface: uid $USER_ID everywhere, no capabilities" ||
    not_ok "privileges after --user nobody: $STATUS"
[ "$(cat "$T/run/bo.pid")" = "$LIVE_PID" ] && ok "pid file holds $LIVE_PID" ||
    not_ok "pid file: $(cat "$T/run/bo.pid")"
expect_exit 1 "a second sensor on the same pid file" \
    in_ns "$BO" capture -i vb --no-redis --pidfile "$T/run/bo.pid"
[[ $LAST_ERR == *"locked by a running process (pid $LIVE_PID)"* ]] || not_ok "message: $LAST_ERR"
send_pcap "$T/g.pcap"
sleep 1
live_stop INT
[ "$LIVE_RC" -eq 0 ] && ok "SIGINT as nobody: exit 0" || not_ok "SIGINT: exit $LIVE_RC"
GOT=$(rcli HGET 'blackout:{priv}:totals:KP:cn' pkts_in)
[ "$GOT" = "$CN_IN" ] && ok "unprivileged sensor counted and wrote to Redis (cn pkts_in $GOT)" ||
    not_ok "Redis cn pkts_in $GOT, expected $CN_IN"
[ ! -s "$T/run/bo.pid" ] && ok "pid file emptied at exit (nobody may not remove it)" ||
    not_ok "pid file left with: $(cat "$T/run/bo.pid")"

# ---- SIGHUP ----
# summary_total ROUTE FIELD: from the last summary line of the sensor.
summary_total() {
    python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
print(s["routes"].get(sys.argv[2], {}).get(sys.argv[3], 0) if s["type"] == "summary" else "none")' \
        "$T/live.out" "$1" "$2"
}
printf 'bin = 1\nroute = cn=vlan:100\n' >"$T/live.conf"
printf '175.45.176.0/22\n210.52.109.0/24\n77.94.35.0/24\n' >"$T/kp.txt"
live_start -c "$T/live.conf" --prefixes "$T/kp.txt" --redis "$SOCK" --sensor hup --json
send_pcap "$T/g.pcap" # 1: ru's traffic is on `other`

printf 'bin = 1\nroute = cn=vlan:100\nroute = ru=vlan:101\n' >"$T/live.conf"
kill -HUP "$LIVE_PID"
wait_match "$T/live.err" 'reload in force' 30 && ok "reload with a new route in force from the next bin" ||
    not_ok "no reload: $(tail -2 "$T/live.err")"
send_pcap "$T/g.pcap" # 2: ru is a route

printf 'bin = 1\nroute = ru=vlna:101\n' >"$T/live.conf"
kill -HUP "$LIVE_PID"
if wait_match "$T/live.err" 'reload refused' 30; then
    LINE=$(grep 'reload refused' "$T/live.err")
    [[ $LINE == *"live.conf:2: route 'ru=vlna:101': unknown match 'vlna'"* ]] &&
        ok "bad configuration refused in one line: $LINE" || not_ok "refusal: $LINE"
else
    not_ok "bad configuration not refused: $(tail -2 "$T/live.err")"
fi
send_pcap "$T/g.pcap" # 3: the configuration of 2 goes on

printf 'bin = 1\nroute = cn=vlan:100\nroute = ru=vlan:101\n' >"$T/live.conf"
printf '192.0.2.0/24\n' >"$T/kp.txt"
kill -HUP "$LIVE_PID"
wait_match "$T/live.err" 'reload in force' 30 2 || not_ok "no second reload: $(tail -2 "$T/live.err")"
send_pcap "$T/g.pcap" # 4: no country traffic any more: all of it is control
sleep 1
live_stop TERM
[ "$LIVE_RC" -eq 0 ] && ok "SIGTERM after reloads: exit 0" || not_ok "SIGTERM: exit $LIVE_RC"

WANT="cn $((3 * CN_IN)) ru $((2 * RU_IN)) other $RU_IN"
GOT="cn $(summary_total cn pkts_in) ru $(summary_total ru pkts_in) other $(summary_total other pkts_in)"
[ "$GOT" = "$WANT" ] && ok "pkts_in per route across the reloads: $GOT" ||
    not_ok "pkts_in per route: $GOT, expected $WANT"
REDIS="cn $(rcli HGET 'blackout:{hup}:totals:KP:cn' pkts_in) ru $(rcli HGET 'blackout:{hup}:totals:KP:ru' pkts_in) other $(rcli HGET 'blackout:{hup}:totals:KP:other' pkts_in)"
[ "$REDIS" = "$WANT" ] && ok "Redis totals agree: $REDIS" || not_ok "Redis totals: $REDIS, expected $WANT"
CTL=$(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
print(s["packets"], sum(r["ctl_pkts"] + r["pkts_in"] + r["pkts_out"] for r in s["routes"].values()), s["reloads"])' "$T/live.out")
read -r SEEN COUNTED RELOADS <<<"$CTL"
[ "$SEEN" -eq $((4 * PKTS)) ] && [ "$COUNTED" -eq "$SEEN" ] && [ "$RELOADS" -eq 2 ] &&
    ok "every one of 4 x $PKTS packets counted once over 2 reloads (the last one all control)" ||
    not_ok "packets $SEEN, counted $COUNTED, reloads $RELOADS (want $((4 * PKTS)), 2)"

done_testing
