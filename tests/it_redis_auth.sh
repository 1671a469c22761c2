#!/usr/bin/env bash
# Redis AUTH from the URL: a password, an ACL user; a wrong password exits 1 with one
# clear line that never holds the secret. Also runs the sink unit tests against the server.
. "$(dirname "$0")/lib.sh"
redis_start "requirepass s3cr3t-pw" "user sensor on >acl-pw ~* &* +@all"
REDIS_CLI_AUTH=(--pass s3cr3t-pw)

printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' >"$T/empty.pcap"
if [ -x "$GEN" ]; then
    "$GEN" golden --duration 60 -o "$T/in.pcap" >/dev/null || not_ok "generator"
else
    cp "$T/empty.pcap" "$T/in.pcap"
fi

"$BO" replay -q --redis "redis://:s3cr3t-pw@127.0.0.1:$REDIS_PORT/3" --sensor a1 "$T/in.pcap" &&
    ok "password in the URL, database 3" || not_ok "password"
[ -x "$GEN" ] && { [ "$(rcli -n 3 EXISTS 'blackout:{a1}:heartbeat')" -eq 1 ] && ok "written to database 3" || not_ok "nothing in database 3"; }
"$BO" replay -q --redis "redis://sensor:acl-pw@127.0.0.1:$REDIS_PORT" --sensor a2 "$T/in.pcap" &&
    ok "ACL user and password" || not_ok "ACL user"
"$BO" status --redis "redis://sensor:acl-pw@127.0.0.1:$REDIS_PORT" --sensor a2 >/dev/null &&
    ok "status with an ACL user" || not_ok "status with an ACL user"

for url in "redis://:wrong-secret@127.0.0.1:$REDIS_PORT" "redis://sensor:wrong-secret@127.0.0.1:$REDIS_PORT"; do
    expect_exit 1 "wrong password refused" "$BO" replay --redis "$url" "$T/in.pcap"
    [[ $LAST_ERR == *"authentication refused"* && $LAST_ERR != *wrong-secret* ]] &&
        ok "the line says why and not the secret" || not_ok "error line: $LAST_ERR"
    grep -q wrong-secret "$T/out" && not_ok "secret on stdout" || ok "no secret on stdout"
done
expect_exit 1 "no password where one is needed" "$BO" replay --redis "redis://127.0.0.1:$REDIS_PORT" "$T/in.pcap"
expect_exit 1 "export with a wrong password" "$BO" export --redis "redis://:wrong-secret@127.0.0.1:$REDIS_PORT" --from 0 --to 1
[[ $LAST_ERR != *wrong-secret* ]] && ok "export error without the secret" || not_ok "export: $LAST_ERR"
expect_exit 2 "a bad URL is a usage error" "$BO" replay --redis "redis://:wrong-secret@h:0" "$T/in.pcap"
[[ $LAST_ERR != *wrong-secret* ]] && ok "URL error without the secret" || not_ok "URL error: $LAST_ERR"

# The sink unit tests that need a server: exactly-once, records, OOM, lost data.
if [ -x build/tests/test_sink ]; then
    BLACKOUT_TEST_REDIS="redis://:s3cr3t-pw@127.0.0.1:$REDIS_PORT/9" build/tests/test_sink >"$T/unit" 2>&1 &&
        ! grep -q SKIPPED "$T/unit" && ok "test_sink against redis-server" || not_ok "test_sink: $(tail -20 "$T/unit")"
fi
done_testing
