#!/usr/bin/env python3
"""Cuts pcap and pcapng files into fuzz_packet inputs.

usage: split_pcap.py OUTDIR PREFIX MAX FILE...

Each input is byte 0 the decoder's link type (enum decode_link), then frames as
(seconds since the previous frame, 1 byte; length, 2 bytes big-endian; the frame).
Per file: up to MAX single-frame inputs, and up to MAX/4 inputs of 8 consecutive frames
(the start of conversations). Files of other link types are skipped; a file cut short
gives what was read before the cut."""
import os
import struct
import sys

# LINKTYPE_ value -> enum decode_link
LINKS = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5, 0: 6, 108: 7}


def pcap_frames(b):
    """(link, ts, frame) of a classic pcap file."""
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    lt = struct.unpack(e + "I", b[20:24])[0] & 0xFFFF
    off = 24
    while off + 16 <= len(b):
        sec, frac, incl, _ = struct.unpack(e + "IIII", b[off:off + 16])
        off += 16
        if incl > len(b) - off:
            return
        yield lt, sec + frac / (1e9 if nano else 1e6), b[off:off + incl]
        off += incl


def pcapng_frames(b):
    """(link, ts, frame) of the enhanced and simple packet blocks of a pcapng file."""
    e, links, off = "<", [], 0
    while off + 12 <= len(b):
        btype = struct.unpack(e + "I", b[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            e = "<" if b[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(e + "I", b[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(b):
            return
        body = b[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:
            links.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            ifc, hi, lo, cap, _ = struct.unpack(e + "IIIII", body[:20])
            if ifc < len(links):
                yield links[ifc], (hi << 32 | lo) / 1e6, body[20:20 + cap]
        elif btype == 3 and len(body) >= 4 and links:
            wire = struct.unpack(e + "I", body[:4])[0]
            yield links[0], 0.0, body[4:4 + min(wire, len(body) - 4)]
        off += blen


def frames(path):
    with open(path, "rb") as f:
        b = f.read()
    gen = pcapng_frames(b) if b[:4] == b"\x0a\x0d\x0d\x0a" else pcap_frames(b)
    link = None
    for lt, ts, frame in gen:
        if lt not in LINKS:
            return
        if link is not None and LINKS[lt] != link:
            return  # one link type per input
        link = LINKS[lt]
        yield link, ts, frame


def encode(link, pkts):
    out, prev = bytearray([link]), None
    for ts, frame in pkts:
        gap = 0 if prev is None else int(max(0, min(255, ts - prev)))
        prev = ts
        frame = frame[:0xFFFF]
        out += bytes([gap]) + struct.pack(">H", len(frame)) + frame
    return bytes(out)


def main():
    outdir, prefix, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for path in sys.argv[4:]:
        name = prefix + os.path.basename(path).rsplit(".", 1)[0]
        pkts, link = [], None
        try:
            for link, ts, frame in frames(path):
                pkts.append((ts, frame))
                if len(pkts) >= 8 * (most // 4) and len(pkts) >= most:
                    break
        except (OSError, struct.error):
            pass
        for i, p in enumerate(pkts[:most]):
            with open(os.path.join(outdir, "%s-%d" % (name, i)), "wb") as f:
                f.write(encode(link, [p]))
        for g in range(min(most // 4, (len(pkts) + 7) // 8)):
            group = pkts[8 * g:8 * g + 8]
            if len(group) > 1:
                with open(os.path.join(outdir, "%s-g%d" % (name, g)), "wb") as f:
                    f.write(encode(link, group))


main()
