#!/usr/bin/env bash
# Host names from packets with hostile bytes (quotes, backslashes, control bytes, a newline,
# an escape sequence, DEL, invalid UTF-8, U+2028, a JSON look-alike, 300 bytes) in HTTP Host,
# TLS SNI and DNS query names, in a capture crafted here. Through the sanitizer build:
#  - --json --flows: every line valid UTF-8 and JSON, one line to any reader (no raw control
#    byte, DEL, U+2028 or U+2029), host names at most 127 bytes;
#  - the text output: printable bytes and newlines only;
#  - the Redis flow stream: the bytes as they came (binary-safe argv), read back with
#    redis-cli, equal to what the JSON line says, at most 127 bytes.
. "$(dirname "$0")/lib.sh"
BIN=$BO
[ -x "$ASAN" ] && BIN=$ASAN
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99

python3 - "$T/h.pcap" <<'PY'
import struct, sys  # one conversation of each kind per name, toward 175.45.176.x

NAMES = [
    b'evil"quote\\back.kp',
    b'new\nline\r\x1b[31mred.kp',
    b'\xff\xfe\xc0\xafbad-utf8.kp',
    b'tab\there\x7f\x01ctl.kp',
    b'{"type":"bin","x":1}\\u0000.kp',
    b'\xe2\x80\xa8sep\xf0\x9f\x92\xa3.kp',
    b'L' * 300,
]

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF

def ip(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload

def l4(src, dst, proto, seg):
    ph = bytes(src) + bytes(dst) + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(ph + seg)
    off = 16 if proto == 6 else 6
    return seg[:off] + struct.pack("!H", c) + seg[off + 2:]

def tcp(src, dst, sp, dp, seq, ack, flags, data=b""):
    seg = struct.pack("!HHIIBBHHH", sp, dp, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    return ip(src, dst, 6, l4(src, dst, 6, seg))

def udp(src, dst, sp, dp, data):
    seg = struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data
    return ip(src, dst, 17, l4(src, dst, 17, seg))

def eth(p):
    return b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x01\x00" + b"\x08\x00" + p

pkts = []
t = [1749254400.0]
def add(p):
    t[0] += 0.01
    pkts.append((t[0], eth(p)))

def tcp_conv(cli, srv, sp, dp, req, resp=b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"):
    add(tcp(cli, srv, sp, dp, 1000, 0, 0x02))
    add(tcp(srv, cli, dp, sp, 5000, 1001, 0x12))
    add(tcp(cli, srv, sp, dp, 1001, 5001, 0x10))
    add(tcp(cli, srv, sp, dp, 1001, 5001, 0x18, req))
    add(tcp(srv, cli, dp, sp, 5001, 1001 + len(req), 0x18, resp))

def client_hello(sni):
    ext_sni = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    exts = ext_sni + bytes.fromhex("000a00080006001d00170018" "000d000a000804030804040105010201" "002b0003020303")
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\xc0\x2f" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs

def dns_query(name, qid):
    q = b""
    for i in range(0, len(name), 63):
        lab = name[i:i + 63]
        q += bytes([len(lab)]) + lab
    q += b"\x00" + struct.pack("!HH", 1, 1)
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q

cli = [192, 0, 2, 10]
for i, n in enumerate(NAMES):
    srv = [175, 45, 176, 10 + i]
    tcp_conv(cli, srv, 40000 + i, 80, b"GET / HTTP/1.1\r\nHost: " + n + b"\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n")
    tcp_conv(cli, srv, 41000 + i, 443, client_hello(n), b"\x16\x03\x03\x00\x04\x0e\x00\x00\x00")
    add(udp(cli, srv, 42000 + i, 53, dns_query(n, 0x1000 + i)))

with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for ts, p in pkts:
        sec = int(ts)
        f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(p), len(p)) + p)
PY
NFLOWS=21

# The JSON lines.
"$BIN" replay --no-redis --json --flows "$T/h.pcap" >"$T/out.json" 2>"$T/err"
rc=$?
[ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && ok "replay --json --flows: exit 0, nothing on stderr" ||
    not_ok "replay --json --flows: exit $rc: $(head -c 300 "$T/err")"
if out=$(python3 - "$T/out.json" "$NFLOWS" <<'PY'
import json, sys
raw = open(sys.argv[1], "rb").read()
bad = []
if any(b < 0x20 and b != 0x0A or b == 0x7F for b in raw):
    bad.append("a raw control byte or DEL in the output")
text = raw.decode("utf-8")  # raises on invalid UTF-8
lines = text.split("\n")[:-1]
if len(text.splitlines()) != len(lines):
    bad.append(f"{len(text.splitlines())} lines to str.splitlines(), {len(lines)} newline-separated")
flows = [json.loads(l) for l in lines if '"type":"flow"' in l]
for l in lines:
    json.loads(l)
if len(flows) != int(sys.argv[2]):
    bad.append(f"{len(flows)} flow lines")
hosts = {f["sport"]: f["host"] for f in flows}
if hosts.get(40001) != "new\nline\r\x1b[31mred.kp":
    bad.append(f"HTTP host with a newline came out as {hosts.get(40001)!r}")
if hosts.get(40005) != "\u2028sep\U0001f4a3.kp":
    bad.append(f"HTTP host with U+2028 came out as {hosts.get(40005)!r}")
for f in flows:
    if len(f["host"].encode("utf-8", "surrogatepass")) > 2 * 127 or len(f["host"]) > 127:
        bad.append(f"host of {f['sport']} is {len(f['host'])} characters")
longest = max(len(h) for h in hosts.values())
print(f"{len(flows)} flow lines, each valid JSON and one line; longest host {longest} characters")
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
); then ok "$(echo "$out" | head -1)"; else not_ok "JSON lines: $out"; fi

# The text output.
"$BIN" replay --no-redis "$T/h.pcap" >"$T/out.txt" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s "$T/err" ] && ! LC_ALL=C grep -q '[^[:print:]]' "$T/out.txt"; then
    ok "text output: printable bytes only ($(wc -l <"$T/out.txt") lines)"
else
    not_ok "text output: exit $rc, stderr $(head -c 200 "$T/err"), $(LC_ALL=C grep -c '[^[:print:]]' "$T/out.txt") lines with other bytes"
fi

# The Redis flow stream, read back with redis-cli (quoted output: \xHH, \n, \", ...).
redis_start
"$BIN" replay --redis "$REDIS_URL" --sensor h1 --json --flows "$T/h.pcap" >"$T/r.json" 2>"$T/err" &&
    ok "replay into Redis: exit 0" || not_ok "replay into Redis: $(head -c 300 "$T/err")"
rcli --no-raw XRANGE 'blackout:{h1}:flows' - + >"$T/stream"
if out=$(python3 - "$T/stream" "$T/r.json" "$NFLOWS" <<'PY'
import json, re, sys

def unquote(s):
    out, i = bytearray(), 0
    simple = {"n": 10, "r": 13, "t": 9, "a": 7, "b": 8, "\\": 92, '"': 34}
    while i < len(s):
        c = s[i]
        if c == "\\" and s[i + 1] == "x":
            out.append(int(s[i + 2 : i + 4], 16))
            i += 4
        elif c == "\\":
            out.append(simple[s[i + 1]])
            i += 2
        else:
            out += c.encode("latin-1")
            i += 1
    return bytes(out)

# what json.c makes of bytes: valid UTF-8 as it is, any other byte as U+00XX
def as_json(b):
    s = b.decode("utf-8", "surrogateescape")
    return "".join(chr(ord(c) - 0xDC00) if 0xDC80 <= ord(c) <= 0xDCFF else c for c in s)

text = open(sys.argv[1], encoding="latin-1").read()
tokens = [unquote(t) for t in re.findall(r'"((?:[^"\\]|\\.)*)"', text)]
entries, cur = [], None
for t in tokens:
    if re.fullmatch(rb"\d+-\d+", t):
        cur = {}
        entries.append(cur)
        key = None
        continue
    if key is None:
        key = t
    else:
        cur[key.decode()] = t
        key = None
stream = {int(e["sport"]): e["host"] for e in entries}
flows = {}
for line in open(sys.argv[2], encoding="utf-8"):
    o = json.loads(line)
    if o["type"] == "flow":
        flows[o["sport"]] = o["host"]
bad = []
if len(stream) != int(sys.argv[3]):
    bad.append(f"{len(stream)} stream entries")
for sport, h in stream.items():
    if len(h) > 127:
        bad.append(f"{sport}: {len(h)} bytes")
    if as_json(h) != flows.get(sport):
        bad.append(f"{sport}: stream {h!r}, JSON {flows.get(sport)!r}")
if stream.get(40001) != b"new\nline\r\x1b[31mred.kp" or stream.get(40002) != b"\xff\xfe\xc0\xafbad-utf8.kp":
    bad.append(f"raw bytes changed: {stream.get(40001)!r} {stream.get(40002)!r}")
print(f"{len(stream)} stream entries, host bytes as sent, equal to the JSON lines")
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
); then ok "$(echo "$out" | head -1)"; else not_ok "flow stream: $out"; fi
done_testing
