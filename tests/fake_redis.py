#!/usr/bin/env python3
"""A misbehaving Redis for the fault tests.

Listens on a free loopback port (written to PORTFILE once listening). With --upstream it
forwards every command to a real redis-server and passes the replies back, except that
some flush commands (EVALSHA/EVAL) and SCRIPT LOAD get a broken reply instead, taken in
order from FAULTS (a comma list; "load:KIND" entries for SCRIPT LOAD, "flush:KIND" for
flushes: at most one in --every flushes and one per --gap seconds). Without --upstream it answers the handshake itself
and gives every flush the --always fault. After a broken reply the connection is closed.

Kinds: garbage (not RESP), int / status (wrong reply type), strings (an array of 3 strings
where the script returns integers), badstatus (integers out of range), bigbulk (a bulk
length of 2^31 - 1 and a few bytes), bigarray (an array of 2^31 - 1 elements), errnl (an
error reply with a newline and an escape sequence), drip (one byte every 0.3 s), cut (the
command reaches Redis, half its reply comes back), lost (the command reaches Redis, no
reply), shortsha (for SCRIPT LOAD: "abc").
"""
import argparse
import os
import socket
import threading
import time

SHA = b"0123456789abcdef0123456789abcdef01234567"
BROKEN = {
    "garbage": b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n",
    "int": b":1\r\n",
    "status": b"+OK\r\n",
    "strings": b"*3\r\n$1\r\n1\r\n$1\r\n1\r\n$1\r\n0\r\n",
    "badstatus": b"*3\r\n:7\r\n:1\r\n:0\r\n",
    "bigbulk": b"$2147483647\r\nabc",
    "bigarray": b"*2147483647\r\n:1\r\n",
    "errnl": b"-ERR two\nlines \x1b[31mred\r\n",
    "shortsha": b"$3\r\nabc\r\n",
}


class Peer:
    """RESP over one socket: commands in, replies out (raw bytes)."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _more(self):
        b = self.sock.recv(65536)
        if not b:
            raise EOFError
        self.buf += b

    def line(self):
        while b"\r\n" not in self.buf:
            self._more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self._more()
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def command(self):
        args = []
        for _ in range(int(self.line()[1:])):
            args.append(self.take(int(self.line()[1:]) + 2)[:-2])
        return args

    def reply(self):
        line = self.line()
        out = line + b"\r\n"
        n = int(line[1:]) if line[:1] in (b"$", b"*") else -1
        if line[:1] == b"$" and n >= 0:
            out += self.take(n + 2)
        elif line[:1] == b"*":
            for _ in range(max(n, 0)):
                out += self.reply()
        return out


def resp(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


class Faults:
    def __init__(self, spec, every, gap, always, log):
        self.todo = [f for f in spec.split(",") if f]
        self.every, self.gap, self.always, self.log = every, gap, always, log
        self.flushes, self.last = 0, 0.0
        self.lock = threading.Lock()

    def pick(self, name):
        """The fault for this command, or None to answer it properly."""
        with self.lock:
            if name == b"SCRIPT":
                kind = "load:"
            elif name in (b"EVALSHA", b"EVAL"):
                kind = "flush:"
                self.flushes += 1
                if self.always:
                    return self.always
                if self.flushes < self.every or time.monotonic() - self.last < self.gap:
                    return None
            else:
                return None
            for i, f in enumerate(self.todo):
                if f.startswith(kind):
                    self.todo.pop(i)
                    self.flushes, self.last = 0, time.monotonic()
                    self.log.write(f + "\n")
                    return f.split(":", 1)[1]
            return None


def answer_alone(args):
    name = args[0].upper()
    if name == b"SCRIPT":
        return b"$40\r\n" + SHA + b"\r\n"
    if name in (b"EVALSHA", b"EVAL"):
        return b"*3\r\n:1\r\n:1\r\n:0\r\n"
    return b"+OK\r\n"


def serve(sock, faults, upstream):
    client = Peer(sock)
    up = Peer(socket.create_connection(("127.0.0.1", upstream))) if upstream else None
    try:
        while True:
            args = client.command()
            fault = faults.pick(args[0].upper())
            if fault in (None, "cut", "lost"):
                if up:
                    up.sock.sendall(resp(args))
                    ans = up.reply()
                else:
                    ans = answer_alone(args)
                if fault is None:
                    sock.sendall(ans)
                    continue
                if fault == "cut":
                    sock.sendall(ans[: len(ans) // 2])
            elif fault == "drip":
                for _ in range(30):
                    sock.sendall(b"*")
                    time.sleep(0.3)
            else:
                sock.sendall(BROKEN[fault])
                time.sleep(0.1)
            return
    except (EOFError, OSError, ValueError):
        pass
    finally:
        sock.close()
        if up:
            up.sock.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("portfile")
    ap.add_argument("faults", nargs="?", default="")
    ap.add_argument("--upstream", type=int, default=0)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--always", default="")
    a = ap.parse_args()
    log = open(a.portfile + ".log", "a", buffering=1)
    faults = Faults(a.faults, a.every, a.gap, a.always, log)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    with open(a.portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(a.portfile + ".tmp", a.portfile)
    while True:
        s, _ = srv.accept()
        threading.Thread(target=serve, args=(s, faults, a.upstream), daemon=True).start()


if __name__ == "__main__":
    main()
