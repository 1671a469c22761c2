# A private redis-server on a free loopback port, for `make demo` (scripts/demo) and the
# tests (tests/lib.sh). Sourced, not run. Uses REDIS_DIR and REDIS_PORT; sets REDIS_PID.

# redis_free_port: a TCP port free on 127.0.0.1 right now.
redis_free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# redis_write_conf [LINE]...: REDIS_DIR/redis.conf for a server on 127.0.0.1:REDIS_PORT with
# its data and log (redis.log) in REDIS_DIR and no RDB snapshots; the lines are appended.
redis_write_conf() {
    {
        echo "port $REDIS_PORT"
        echo "bind 127.0.0.1"
        echo "dir $REDIS_DIR"
        echo 'save ""'
        echo "logfile $REDIS_DIR/redis.log"
        printf '%s\n' "$@"
    } >"$REDIS_DIR/redis.conf"
}

# redis_launch: starts redis-server on REDIS_DIR/redis.conf in the background, sets
# REDIS_PID and waits up to 10 s for it to answer (PONG, or NOAUTH behind a password).
# Returns 1, with a line and the end of its log on stderr, when it exited or never answered.
redis_launch() {
    redis-server "$REDIS_DIR/redis.conf" &
    REDIS_PID=$!
    local i
    for i in $(seq 100); do
        if redis-cli -p "$REDIS_PORT" PING 2>&1 | grep -Eq 'PONG|NOAUTH'; then
            return 0
        fi
        kill -0 "$REDIS_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "redis-server did not start on port $REDIS_PORT:" >&2
    tail -n 5 "$REDIS_DIR/redis.log" >&2
    return 1
}
