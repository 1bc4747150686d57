#!/usr/bin/env python3
"""Writes a tcpdump text capture of N short connections (default 300,000; 7 packets each: handshake,
10 bytes of data, both FINs), for measuring `tcpsim analyze`'s memory on many connections:

    python3 benches/many_connections.py > /tmp/many.txt
    /usr/bin/time -f '%M KB %e s' target/release/tcpsim analyze --json /tmp/many.txt > /dev/null

With --nested, a first connection stays open until the end, so every other one closes before it
(the report still lists connections in order of first packet)."""
import sys

n = 300_000
nested = "--nested" in sys.argv
args = [a for a in sys.argv[1:] if not a.startswith("--")]
if args:
    n = int(args[0])


def ts(us):
    s, f = divmod(us, 1_000_000)
    return "%02d:%02d:%02d.%06d" % ((s // 3600) % 24, (s // 60) % 60, s % 60, f)


out = sys.stdout
long_lived = "10.250.0.1.50000 > 10.200.0.1.443"
if nested:
    out.write(f"{ts(0)} IP {long_lived}: Flags [S], seq 1000, win 64240, length 0\n")
lines = []
for i in range(n):
    a = "10.%d.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255, 40000 + i % 20000)
    b = "10.200.0.1.443"
    t = i * 200
    for dt, src, dst, flags, rest in (
        (0, a, b, "[S]", "seq 1000, win 64240, length 0"),
        (10, b, a, "[S.]", "seq 5000, ack 1001, win 65160, length 0"),
        (20, a, b, "[P.]", "seq 1:11, ack 1, win 502, length 10"),
        (30, b, a, "[.]", "ack 11, win 509, length 0"),
        (40, a, b, "[F.]", "seq 11, ack 1, win 502, length 0"),
        (50, b, a, "[F.]", "seq 1, ack 12, win 509, length 0"),
        (60, a, b, "[.]", "ack 2, win 502, length 0"),
    ):
        lines.append(f"{ts(t + dt)} IP {src} > {dst}: Flags {flags}, {rest}\n")
    if len(lines) > 70_000:
        out.write("".join(lines))
        lines = []
out.write("".join(lines))
if nested:
    out.write(f"{ts(n * 200 + 100)} IP {long_lived}: Flags [R], seq 1001, win 0, length 0\n")
