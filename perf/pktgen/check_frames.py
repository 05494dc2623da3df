#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Capture frames on an interface (AF_PACKET) and check that baton-pktgen wrote them
completely: Ethernet addresses and type, IPv4/IPv6 header fields and checksums, the
TCP/UDP checksum over the pseudo-header, flags, destination, frame size, and the number
of distinct 5-tuples. Prints one JSON line; exit 1 on the first malformed frame.

  check_frames.py IFACE --count N --timeout S --dst ADDR --dport P --proto syn|ack|udp
                  --size B --dst-mac MAC [--ipv6] [--flows N]
"""
import argparse, ipaddress, json, socket, struct, sys, time

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

def fail(n, why, frame):
    print("frame %d: %s: %s" % (n, why, frame[:80].hex()), file=sys.stderr)
    sys.exit(1)

ap = argparse.ArgumentParser()
ap.add_argument("iface")
ap.add_argument("--count", type=int, required=True)
ap.add_argument("--timeout", type=float, default=10)
ap.add_argument("--dst", required=True)
ap.add_argument("--dport", type=int, required=True)
ap.add_argument("--proto", choices=["syn", "ack", "udp"], required=True)
ap.add_argument("--size", type=int, required=True, help="frame size with FCS")
ap.add_argument("--dst-mac", required=True)
ap.add_argument("--ipv6", action="store_true")
ap.add_argument("--flows", type=int, default=0, help="expected distinct 5-tuples")
ap.add_argument("--ready", help="file to create once the socket is open")
a = ap.parse_args()

ETH_P_ALL = 3
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind((a.iface, 0))
s.settimeout(0.2)
if a.ready:
    open(a.ready, "w").close()
dmac = bytes.fromhex(a.dst_mac.replace(":", ""))
dst = ipaddress.ip_address(a.dst).packed
want_l4 = 17 if a.proto == "udp" else 6
tuples, n, seen = set(), 0, 0
deadline = time.monotonic() + a.timeout
while n < a.count and time.monotonic() < deadline:
    try:
        f, addr = s.recvfrom(4096)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    seen += 1
    if f[0] & 1:
        continue  # multicast: the kernel's own IPv6 MLD / ND on the link
    etype = struct.unpack("!H", f[12:14])[0]
    if etype not in (0x0800, 0x86DD):
        continue  # neighbour discovery and the like from the kernel
    n += 1
    if f[0:6] != dmac:
        fail(n, "destination MAC", f)
    if len(f) != a.size - 4:
        fail(n, "frame length %d, want %d" % (len(f), a.size - 4), f)
    if a.ipv6:
        if etype != 0x86DD or f[14] >> 4 != 6:
            fail(n, "not IPv6", f)
        plen, nh = struct.unpack("!HB", f[18:21])
        src, dsta = f[22:38], f[38:54]
        l4 = f[54:54 + plen]
        pseudo = src + dsta + struct.pack("!IxxxB", plen, nh)
    else:
        if etype != 0x0800 or f[14] != 0x45:
            fail(n, "not IPv4 with a 20-byte header", f)
        if csum(f[14:34]) != 0xffff:
            fail(n, "IPv4 header checksum", f)
        tot, nh = struct.unpack("!H", f[16:18])[0], f[23]
        src, dsta = f[26:30], f[30:34]
        l4 = f[34:14 + tot]
        pseudo = src + dsta + struct.pack("!xBH", nh, len(l4))
    if nh != want_l4:
        fail(n, "L4 protocol %d" % nh, f)
    if dsta != dst:
        fail(n, "destination address", f)
    sport, dport = struct.unpack("!HH", l4[0:4])
    if dport != a.dport:
        fail(n, "destination port %d" % dport, f)
    if csum(pseudo + l4) != 0xffff:
        fail(n, "TCP/UDP checksum", f)
    if a.proto != "udp":
        flags = l4[13]
        if flags != (0x02 if a.proto == "syn" else 0x10):
            fail(n, "TCP flags 0x%02x" % flags, f)
    elif struct.unpack("!H", l4[4:6])[0] != len(l4):
        fail(n, "UDP length", f)
    tuples.add((src, sport))
print(json.dumps({"frames": n, "distinct_flows": len(tuples)}))
if n < a.count:
    print("only %d of %d frames within %.0f s" % (n, a.count, a.timeout), file=sys.stderr)
    sys.exit(1)
if a.flows and len(tuples) != a.flows:
    print("%d distinct flows, want %d" % (len(tuples), a.flows), file=sys.stderr)
    sys.exit(1)
