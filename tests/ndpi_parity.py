#!/usr/bin/env python3
"""Per-protocol packet parity between blackout and ndpiReader (the same nDPI) over a folder
of captures, every address treated as country traffic.

For each file both tools give packets per protocol label; the packets that agree are
sum(min(ours[p], theirs[p])) over labels. The figure is agreed / ndpiReader's packets,
summed over all files. Prints the figure and the files that differ most.
usage: ndpi_parity.py BLACKOUT PCAP_DIR [--min PERCENT] [--show N] [-- extra blackout args]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

LINE = re.compile(r"^\s+(\S.*?)\s+packets:\s+(\d+)\s+bytes:\s+(\d+)\s+flows:\s+(\d+)")


def ndpi_reader(path):
    out = subprocess.run(["ndpiReader", "-i", path], capture_output=True, text=True,
                         timeout=300).stdout
    protos, inside = {}, False
    for line in out.splitlines():
        if line.startswith("Detected protocols:"):
            inside = True
            continue
        if inside:
            m = LINE.match(line)
            if not m:
                break
            protos[m.group(1)] = int(m.group(2))
    return protos


def blackout(binary, path, prefixes, extra):
    r = subprocess.run([binary, "replay", "--no-redis", "--json", "-q", "--prefixes", prefixes,
                        *extra, path], capture_output=True, text=True, timeout=300)
    protos = {}
    for line in r.stdout.splitlines():
        obj = json.loads(line)
        if obj.get("type") != "summary":
            continue
        for route in obj["routes"].values():
            for name, c in route.get("protocols", {}).items():
                protos[name] = protos.get(name, 0) + c["pkts"]
    return protos, r.returncode


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    binary, folder = args[0], args[1]
    minimum = float(args[args.index("--min") + 1]) if "--min" in args else 0.0
    show = int(args[args.index("--show") + 1]) if "--show" in args else 10
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("0.0.0.0/0\n::/0\n")
        prefixes = f.name
    total = agreed = ours_total = 0
    diffs = []
    files = sorted(p for p in os.listdir(folder) if p.endswith((".pcap", ".pcapng", ".cap")))
    for name in files:
        path = os.path.join(folder, name)
        theirs = ndpi_reader(path)
        ours, rc = blackout(binary, path, prefixes, extra)
        t = sum(theirs.values())
        a = sum(min(ours.get(p, 0), n) for p, n in theirs.items())
        total += t
        agreed += a
        ours_total += sum(ours.values())
        if t - a:
            diffs.append((t - a, name, theirs, ours))
    os.unlink(prefixes)
    pct = 100.0 * agreed / total if total else 100.0
    diffs.sort(reverse=True)
    for miss, name, theirs, ours in diffs[:show]:
        d = {p: (theirs.get(p, 0), ours.get(p, 0)) for p in set(theirs) | set(ours)
             if theirs.get(p, 0) != ours.get(p, 0)}
        print(f"  {miss:7d} packets differ in {name}: (ndpiReader, blackout) {d}")
    print(f"protocol parity: {agreed} of {total} ndpiReader packets ({pct:.2f}%) over "
          f"{len(files)} files; blackout labelled {ours_total} packets; "
          f"{len(diffs)} files differ")
    sys.exit(0 if pct >= minimum else 1)


main()
