#!/usr/bin/env python3
"""Crafted ICMP/ICMPv6 errors for 48-icmp-errors.sh, sent from a raw socket
(the kernel adds the outer IP header) to DST, about a packet from DST to SRC.

  icmperr.py KIND DST SRC [N]
  KIND: udp (destination unreachable about UDP DST:40000 -> SRC:5999),
        truncated (the same with only 2 bytes of its UDP header),
        fragment (the same, its embedded header marked as a fragment),
        echo (about an ICMP echo request DST -> SRC),
        error (about an ICMP error DST -> SRC: an error about an error)
"""
import socket
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4(src, dst, proto, payload, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def v6(src, dst, nexthdr, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nexthdr, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + payload


def main():
    kind, dst, src = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    six = ":" in dst
    udp = struct.pack("!HHHH", 40000, 5999, 16, 0) + b"payload!"
    if six:
        if kind == "udp":
            inner = v6(dst, src, 17, udp)
        elif kind == "truncated":
            inner = v6(dst, src, 17, udp)[:42]
        elif kind == "fragment":
            # A fragment header (offset 0, more fragments) before the UDP header.
            inner = v6(dst, src, 44, struct.pack("!BBHI", 17, 0, 1, 7) + udp)
        elif kind == "echo":
            inner = v6(dst, src, 58, struct.pack("!BBHHH", 128, 0, 0, 1, 1))
        elif kind == "error":
            inner = v6(dst, src, 58, struct.pack("!BBHI", 1, 4, 0, 0) + v6(src, dst, 17, udp))
        else:
            sys.exit(f"unknown kind {kind}")
        msg = struct.pack("!BBHI", 1, 4, 0, 0) + inner  # port unreachable
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    else:
        if kind == "udp":
            inner = v4(dst, src, 17, udp)
        elif kind == "truncated":
            inner = v4(dst, src, 17, udp)[:22]
        elif kind == "fragment":
            inner = v4(dst, src, 17, udp, frag=0x2000)  # more fragments
        elif kind == "echo":
            inner = v4(dst, src, 1, struct.pack("!BBHHH", 8, 0, 0, 1, 1))
        elif kind == "error":
            inner = v4(dst, src, 1, struct.pack("!BBHI", 3, 3, 0, 0) + v4(src, dst, 17, udp))
        else:
            sys.exit(f"unknown kind {kind}")
        body = struct.pack("!BBHI", 3, 3, 0, 0) + inner  # port unreachable
        msg = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    for _ in range(n):
        s.sendto(msg, (dst, 0))


if __name__ == "__main__":
    main()
