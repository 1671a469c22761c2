#!/usr/bin/env bash
# Cut and corrupt captures, made from a generated one: a classic pcap cut inside a record's
# data and inside a record header, a record length of 0x7fffffff and one just over the
# 256 KiB maximum; a pcapng cut inside a block, a block length of 0x7ffffff0 and one that is
# not a multiple of 4. Each through the sanitizer build, from the file and from stdin (there
# libpcap reads it): exit 1 (the capture could not be read to its end) with exactly one
# stderr line naming the file, what is wrong and where (the record, the offset), no
# sanitizer report, and on stdout the bins and the summary of every packet before the fault,
# equal to those of a clean file holding just those packets.
. "$(dirname "$0")/lib.sh"
need_gen
BIN=$BO
[ -x "$ASAN" ] && BIN=$ASAN
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99

"$GEN" golden --duration 40 -o "$T/g.pcap" >/dev/null || not_ok "generator (pcap)"
"$GEN" golden --duration 40 --pcapng -o "$T/g.pcapng" >/dev/null || not_ok "generator (pcapng)"
KEEP=1000 # records before the fault

# Writes the damaged files and the clean "head" files (the first KEEP records); prints
# "NAME OFFSET" for each damaged file: the offset its message must give.
python3 - "$T" "$KEEP" <<'PY' >"$T/offsets"
import struct, sys
t, keep = sys.argv[1], int(sys.argv[2])
d = open(f"{t}/g.pcap", "rb").read()
off, recs = 24, []
while off < len(d):
    recs.append(off)
    off += 16 + struct.unpack("<I", d[off + 8 : off + 12])[0]
k = recs[keep]
caplen = struct.unpack("<I", d[k + 8 : k + 12])[0]
def put(name, data, at):
    open(f"{t}/{name}", "wb").write(data)
    print(name, at)
put("cut-data.pcap", d[: k + 16 + caplen // 2], k)
put("cut-header.pcap", d[: k + 7], k)
for name, v in (("len-max.pcap", 0x7FFFFFFF), ("len-over.pcap", 262145)):
    b = bytearray(d)
    b[k + 8 : k + 12] = struct.pack("<I", v)
    put(name, bytes(b), k)
open(f"{t}/head.pcap", "wb").write(d[:k])
n = open(f"{t}/g.pcapng", "rb").read()
off, blocks, epb = 0, [], []
while off < len(n):
    typ, ln = struct.unpack("<II", n[off : off + 8])
    if typ == 6:
        epb.append(off)
    off += ln
o = epb[keep]
# libpcap reads pcapng: it says how far it read (the end of the cut file; the bad block's
# length field)
put("cut.pcapng", n[: o + 40], o + 40)
for name, v in (("len-max.pcapng", 0x7FFFFFF0), ("len-odd.pcapng", 13)):
    b = bytearray(n)
    b[o + 4 : o + 8] = struct.pack("<I", v)
    put(name, bytes(b), o + 8)
open(f"{t}/head.pcapng", "wb").write(n[:o])
PY

# summary_of FILE.json: the bins and the summary's counters (without the run's own figures).
summary_of() {
    python3 - "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = lines[-1]
assert s["type"] == "summary", s["type"]
bins = [l for l in lines if l["type"] == "bin"]
print(json.dumps({"bins": bins, "packets": s["packets"], "routes": s["routes"], "decode": s["decode"]}, sort_keys=True))
PY
}

"$BO" replay --no-redis --json "$T/head.pcap" >"$T/head.json" && summary_of "$T/head.json" >"$T/want.pcap" ||
    not_ok "clean head of the pcap"
"$BO" replay --no-redis --json "$T/head.pcapng" >"$T/head.json" && summary_of "$T/head.json" >"$T/want.pcapng" ||
    not_ok "clean head of the pcapng"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$T/want.pcap")" -eq "$KEEP" ] ||
    not_ok "the clean head does not hold $KEEP packets"

# damaged NAME OFFSET REGEX: the file, then the same bytes on stdin.
damaged() {
    local name=$1 at=$2 want=$3 kind=${1##*.} src label
    for src in file stdin; do
        label="$name ($src)"
        if [ "$src" = file ]; then
            "$BIN" replay --no-redis --max-flows 65536 --json "$T/$name" >"$T/out.json" 2>"$T/err"
        else
            "$BIN" replay --no-redis --max-flows 65536 --json - <"$T/$name" >"$T/out.json" 2>"$T/err"
        fi
        local rc=$? err
        err=$(cat "$T/err")
        if grep -q 'Sanitizer\|runtime error' "$T/err"; then
            not_ok "$label: sanitizer report: $(head -c 400 "$T/err")"
            continue
        fi
        [ "$rc" -eq 1 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && ok "$label: exit 1, one line: $err" ||
            not_ok "$label: exit $rc, $(wc -l <"$T/err") stderr lines: $(head -3 "$T/err")"
        local who=$T/$name
        [ "$src" = stdin ] && who=stdin
        [[ $err == "blackout: $who: "* ]] && [[ $err =~ $want ]] && [[ $err == *"record $((KEEP + 1))"* ]] &&
            ok "$label: names the file, the problem and the record" || not_ok "$label: message '$err' (want /$want/)"
        if [ "$src" = file ]; then
            [[ $err == *"offset $at"* ]] && ok "$label: says the offset ($at)" ||
                not_ok "$label: no offset $at in '$err'"
        fi
        if summary_of "$T/out.json" >"$T/got" 2>/dev/null && cmp -s "$T/got" "$T/want.$kind"; then
            ok "$label: summary and bins of the $KEEP packets before the fault"
        else
            not_ok "$label: summary differs from the clean head: $(head -c 300 "$T/got")"
        fi
    done
}

while read -r name at; do
    case $name in
    cut-data.pcap) want='truncated dump file' ;;
    cut-header.pcap) want='truncated dump file' ;;
    len-max.pcap) want='(corrupt record .*captured length 2147483647|invalid packet capture length 2147483647)' ;;
    len-over.pcap) want='(corrupt record .*captured length 262145|invalid packet capture length 262145)' ;;
    cut.pcapng) want='truncated pcapng dump file' ;;
    len-max.pcapng) want='pcapng block size 2147483632 > maximum' ;;
    len-odd.pcapng) want='length of 13 that is not a multiple of 4' ;;
    esac
    damaged "$name" "$at" "$want"
done <"$T/offsets"
done_testing
