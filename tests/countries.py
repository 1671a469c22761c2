#!/usr/bin/env python3
"""Several countries in one capture, from captures of the project's generator.

usage: tests/countries.py OUT.pcap CC=IN.pcap[:CIDR,CIDR,CIDR] ...

Each IN.pcap is a blackout-gen capture of Ethernet frames (VLAN tags allowed; IPv4, no
--encap-mix, no --v6) whose country hosts are in the generator's KP blocks
(175.45.176.0/22, 210.52.109.0/24, 77.94.35.0/24). With CIDRs (a /22, a /24, a /24), those
blocks are moved there, address for address, so the capture speaks for country CC; without,
they stay. The frames of every input are merged in time order into OUT.pcap (classic pcap,
microseconds), and OUT.expect.json holds, per country, the generator's expectations of its
capture (routes, bins, events). Exit 0, 1 on a file problem, 2 on bad usage."""
import ipaddress
import json
import os
import struct
import sys

KP_BLOCKS = ["175.45.176.0/22", "210.52.109.0/24", "77.94.35.0/24"]


def fail(msg, code=1):
    print(f"countries.py: {msg}", file=sys.stderr)
    sys.exit(code)


def read_pcap(path):
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 24:
        fail(f"{path}: not a pcap file")
    magic = struct.unpack("<I", raw[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        fail(f"{path}: not a little-endian classic pcap file")
    nano = magic == 0xA1B23C4D
    link = struct.unpack("<I", raw[20:24])[0]
    if link != 1:
        fail(f"{path}: link type {link}, Ethernet expected")
    off, out = 24, []
    while off + 16 <= len(raw):
        sec, frac, cap, wire = struct.unpack("<IIII", raw[off:off + 16])
        off += 16
        out.append((sec, frac // 1000 if nano else frac, raw[off:off + cap], wire))
        off += cap
    return out


def mover(cidrs):
    """A function from a 4-byte address to its moved form (KP blocks -> cidrs)."""
    pairs = []
    for src, dst in zip(KP_BLOCKS, cidrs):
        s, d = ipaddress.ip_network(src), ipaddress.ip_network(dst)
        if s.num_addresses != d.num_addresses:
            fail(f"{dst}: the generator's {src} moves to a block of the same size", 2)
        pairs.append((int(s.network_address), s.num_addresses, int(d.network_address)))

    def move(b):
        a = int.from_bytes(b, "big")
        for first, n, to in pairs:
            if first <= a < first + n:
                return (to + a - first).to_bytes(4, "big")
        return b
    return move


def ip_offset(frame):
    """Offset of the IPv4 header of an Ethernet frame (VLAN tags skipped), or None."""
    off = 12
    while off + 2 <= len(frame):
        et = struct.unpack(">H", frame[off:off + 2])[0]
        if et in (0x8100, 0x88A8):
            off += 4
            continue
        return off + 2 if et == 0x0800 else None
    return None


def rewrite(frame, move):
    ip = ip_offset(frame)
    if ip is None or ip + 20 > len(frame):
        return frame
    f = bytearray(frame)
    f[ip + 12:ip + 16] = move(bytes(f[ip + 12:ip + 16]))
    f[ip + 16:ip + 20] = move(bytes(f[ip + 16:ip + 20]))
    return bytes(f)


def main(argv):
    if len(argv) < 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    out, frames, expect = argv[0], [], {}
    for spec in argv[1:]:
        cc, _, rest = spec.partition("=")
        path, _, blocks = rest.partition(":")
        if len(cc) != 2 or not path:
            fail(f"'{spec}': CC=IN.pcap[:CIDR,CIDR,CIDR] expected", 2)
        move = mover(blocks.split(",")) if blocks else (lambda b: b)
        for i, (sec, usec, data, wire) in enumerate(read_pcap(path)):
            frames.append((sec, usec, len(frames), rewrite(data, move), wire))
        base = path[:-5] if path.endswith(".pcap") else path
        try:
            with open(base + ".expect.json") as f:
                expect[cc] = json.load(f)
        except OSError as e:
            fail(f"{base}.expect.json: {e.strerror}")
    frames.sort()
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for sec, usec, _, data, wire in frames:
            f.write(struct.pack("<IIII", sec, usec, len(data), wire))
            f.write(data)
    base = out[:-5] if out.endswith(".pcap") else out
    with open(base + ".expect.json", "w") as f:
        json.dump({"countries": expect}, f)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        fail(f"{e.filename}: {e.strerror}")
