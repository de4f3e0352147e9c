#!/usr/bin/env python3
"""Hostile packets for ctskip's hook, from raw sockets (IPv4 with IP_HDRINCL,
IPv6 with IPPROTO_RAW) or, for what no raw socket sends, a packet socket on
the wire. Each kind is sent N times to DST and its expected effect (rule
set: udp dport 5555) printed, for the sender's LOCAL_OUT and the receiver's
PRE_ROUTING (neither netns runs conntrack, so nothing is reassembled):

  hostile.py KIND DST SRC N [DEV DSTMAC]
      ->  "untracked U unparsed P wire W refused R"

U, P: what the sender's LOCAL_OUT hook counts. W=1: the packets went out on
the wire from a packet socket (no LOCAL_OUT). R: sends the raw socket
refused with EINVAL (none of those reaches any hook).

IPv4 kinds:
  v4-options, v4-truncated-udp, v4-zero-frag, v4-overlap-frags,
  v4-first-frag: reach both hooks.
  v4-badversion: version 6 in an IPv4 header. raw_send_hdrinc() checks
    only IHL and length, so LOCAL_OUT sees it (unparsed); the receiver's
    ip_rcv_core() drops it before PRE_ROUTING (InHdrErrors).
  v4-badihl, v4-longihl: a well-formed UDP packet with IP ID 2989 or 2990,
    for the caller's nft rule at raw priority in the sender's output hook to
    rewrite IHL to 3 or 15 (raw_send_hdrinc() itself refuses IHL < 5 and a
    header longer than the packet). Unparsed at LOCAL_OUT; the receiver's
    IP layer drops them (InHdrErrors). Linux 7.x's nft refuses to write IHL
    (nft_nh_write_ok_ip4() breaks the rule), so there the packet stays
    intact and is matched on both sides.
  v4-badihl-raw, v4-short-raw: IHL 3, or 14 bytes, from the raw socket:
    refused (EINVAL).
  v4-short-wire: 14 bytes on the wire: the receiver's IP layer drops them
    (InHdrErrors).
IPv6 kinds:
  v6-long-chain, v6-overlong-chain, v6-truncated-chain, v6-later-frag,
  v6-zero-payload, v6-first-frag: reach both hooks.
  v6-badversion: version 4 in an IPv6 header. rawv6_send_hdrinc() does
    not look at it, so LOCAL_OUT sees it (unparsed); the receiver's
    ip6_rcv_core() drops it (Ip6InHdrErrors).
  v6-short-raw: 32 bytes from the raw socket: refused (EINVAL).
  v6-short-wire: 32 bytes on the wire: the receiver's IP layer drops them
    (Ip6InHdrErrors).
"""
import errno
import os
import socket
import struct
import sys

kind, dst, src, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
UDP = struct.pack("!HHHH", 40000, 5555, 8 + 4, 0) + b"data"


def v4(payload, frag=0, ihl=5, proto=17, opts=b"", ident=777, version=4):
    hdr = struct.pack("!BBHHHBBH4s4s", version << 4 | ihl, 0, 0, ident, frag, 64, proto, 0,
                      socket.inet_aton(src), socket.inet_aton(dst)) + opts
    return hdr + payload


def v6(nexthdr, body, version=6):
    return struct.pack("!IHBB16s16s", version << 28, len(body), nexthdr, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + body


def dstopts(nexthdr, length=0):
    # A destination options header of (length + 1) * 8 bytes, PadN filled.
    size = (length + 1) * 8
    return bytes([nexthdr, length, 1, size - 4]) + bytes(size - 4)


def frag6(nexthdr, offset, more):
    return struct.pack("!BBHI", nexthdr, 0, (offset << 3) | (1 if more else 0), 4242)


packets = []  # (bytes, untracked, unparsed) per send
wire = kind.endswith("-wire")
if kind == "v4-badversion":
    packets = [(v4(UDP, version=6), 0, 1)]
elif kind in ("v4-badihl", "v4-longihl"):
    # Sent well-formed: the caller's nft rule rewrites IHL by the IP ID,
    # where nft still may.
    rewritten = int(os.uname().release.split(".")[0]) < 7
    ident = 2989 if kind == "v4-badihl" else 2990
    packets = [(v4(UDP, ident=ident), 0 if rewritten else 1, 1 if rewritten else 0)]
elif kind == "v4-badihl-raw":
    packets = [(v4(b"", ihl=3)[:20] + UDP, 0, 0)]
elif kind in ("v4-short-raw", "v4-short-wire"):
    packets = [(v4(UDP)[:14], 0, 0)]  # shorter than an IPv4 header
elif kind == "v6-badversion":
    packets = [(v6(17, UDP, version=4), 0, 1)]
elif kind in ("v6-short-raw", "v6-short-wire"):
    packets = [(v6(17, UDP)[:32], 0, 0)]  # shorter than an IPv6 header
elif kind == "v4-options":
    # IHL 6: four bytes of options (NOP, NOP, NOP, EOL) before UDP: matched.
    packets = [(v4(UDP, ihl=6, opts=b"\x01\x01\x01\x00"), 1, 0)]
elif kind == "v4-truncated-udp":
    packets = [(v4(UDP[:3]), 0, 1)]
elif kind == "v4-zero-frag":
    packets = [(v4(b"", frag=4), 0, 1)]  # offset 32 bytes, no data
elif kind == "v4-overlap-frags":
    # First fragment with the UDP header (matched), then one overlapping it.
    packets = [(v4(UDP + b"x" * 12, frag=0x2000), 1, 0), (v4(b"y" * 16, frag=0x2001), 0, 1)]
elif kind == "v4-first-frag":
    packets = [(v4(UDP + b"x" * 12, frag=0x2000), 1, 0)]
elif kind in ("v6-long-chain", "v6-overlong-chain"):
    # 12 destination options headers, then UDP: must still match. 30 of
    # them: the kernel's ipv6_skip_exthdr() walks at most 12 since Linux 7.x
    # (IP6_MAX_EXT_HDRS_CNT; conntrack cannot parse such a packet either),
    # so there it is unparsed; older kernels walk any number: matched.
    count = 12 if kind == "v6-long-chain" else 30
    body = UDP
    nh = 17
    for _ in range(count):
        body = dstopts(nh) + body
        nh = 60
    limited = int(os.uname().release.split(".")[0]) >= 7
    matched = count <= 12 or not limited
    packets = [(v6(nh, body), 1 if matched else 0, 0 if matched else 1)]
elif kind == "v6-truncated-chain":
    # A header claiming 64 bytes, but the packet ends first.
    packets = [(v6(60, dstopts(17, 7)[:16]), 0, 1)]
elif kind == "v6-later-frag":
    packets = [(v6(44, frag6(17, 8, False) + b"z" * 16), 0, 1)]
elif kind == "v6-zero-payload":
    packets = [(v6(17, b""), 0, 1)]
elif kind == "v6-first-frag":
    packets = [(v6(44, frag6(17, 0, True) + UDP + b"w" * 4), 1, 0)]
else:
    sys.exit(f"unknown kind {kind}")

fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
if wire:
    dev, mac = sys.argv[5], bytes.fromhex(sys.argv[6].replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((dev, 0))
    ethertype = b"\x86\xdd" if fam == socket.AF_INET6 else b"\x08\x00"
    eth = mac + b"\x02\x00\x00\x00\x00\x01" + ethertype
else:
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
    if fam == socket.AF_INET:
        s.setsockopt(socket.SOL_IP, 22, 1)  # IP_NODEFRAG
untracked = unparsed = refused = 0
for _ in range(n):
    for pkt, u, p in packets:
        if wire:
            s.send(eth + pkt)
            continue
        try:
            s.sendto(pkt, (dst, 0))
        except OSError as e:
            # EINVAL is the kernel refusing the header; any other error
            # is this tool failing.
            if e.errno != errno.EINVAL:
                raise
            refused += 1
            continue
        untracked += u
        unparsed += p
print(f"untracked {untracked} unparsed {unparsed} wire {int(wire)} refused {refused}")
