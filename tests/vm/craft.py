#!/usr/bin/env python3
"""Traffic for tests/vm/33-protocols.sh from ONE long-lived process (a
Python start costs seconds on a slow guest): reads commands from stdin, one
per line, each "NETNS COMMAND ARGS" (NETNS: a name under /run/netns, entered
with setns(2) before the command's sockets are made; "-" for the current
one), and answers each with one line.

  NETNS send KIND DST N SPORT DPORT        -> "sent N"
      Well-formed packets from a raw socket (the kernel adds the IP header;
      the transport checksums the receiver's conntrack verifies at
      PRE_ROUTING are filled in). KIND: sctp (an INIT chunk, vtag 0,
      CRC32c), dccp (a Request, 48-bit sequence numbers), udplite (full
      checksum coverage), gre (version 0 carrying IPv4), esp (SPI, sequence,
      opaque payload), ah (96-bit ICV, next header 59), ah-udp (AH then a UDP
      datagram; over IPv6 AH is an extension header), proto:N (16 opaque
      bytes of protocol N).
  NETNS serve udp|tcp|udplite ADDR PORT    -> "serving" once bound (an echo
                                              server in a thread)
  NETNS talk udp|tcp|udplite ADDR PORT N [exthdr]
                                           -> "echoed K of N" (one socket;
      exthdr: IPv6 hop-by-hop and destination options on every packet sent;
      ipopt: an IPv4 Record Route option on every packet sent)
"""
import ctypes
import os
import socket
import struct
import sys
import threading

IPPROTO_UDPLITE = 136
CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def enter(ns):
    if ns == "-":
        return
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def source_for(dst):
    # The address the routing table picks for DST (for pseudo-headers).
    s = socket.socket(family(dst), socket.SOCK_DGRAM)
    s.connect((dst, 9))
    src = s.getsockname()[0]
    s.close()
    return src


def csum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def pseudo(src, dst, proto, length):
    fam = family(dst)
    s, d = socket.inet_pton(fam, src), socket.inet_pton(fam, dst)
    if fam == socket.AF_INET:
        return s + d + struct.pack("!BBH", 0, proto, length)
    return s + d + struct.pack("!IxxxB", length, proto)


def with_csum(src, dst, proto, seg, at):
    c = csum(pseudo(src, dst, proto, len(seg)) + seg)
    return seg[:at] + struct.pack("!H", c or 0xFFFF) + seg[at + 2:]


_CRC32C = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C.append(_c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC32C[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def packet(kind, src, dst, sport, dport, i):
    if kind == "udplite":
        seg = struct.pack("!HHHH", sport, dport, 0, 0) + b"udplite!"  # coverage 0: all
        return IPPROTO_UDPLITE, with_csum(src, dst, IPPROTO_UDPLITE, seg, 6)
    if kind == "sctp":
        init = struct.pack("!BBHIIHHI", 1, 0, 20, 0x1000 + i, 65536, 1, 1, 100 + i)
        seg = struct.pack("!HHII", sport, dport, 0, 0) + init
        return 132, seg[:8] + struct.pack("<I", crc32c(seg)) + seg[12:]
    if kind == "dccp":
        # Generic header, X=1, type Request (0), data offset 5 words, then
        # the Request's service code.
        seg = struct.pack("!HHBBHBBHII", sport, dport, 5, 0, 0, 0 << 1 | 1, 0, 0, 1000 + i, 42)
        return 33, with_csum(src, dst, 33, seg, 6)
    if kind == "gre":
        inner = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, i, 0, 64, 17, 0,
                            socket.inet_aton("192.0.2.1"), socket.inet_aton("192.0.2.2"))
        inner += struct.pack("!HHHH", 1000, 2000, 8, 0)
        return 47, struct.pack("!HH", 0, 0x0800) + inner
    if kind == "esp":
        return 50, struct.pack("!II", 0x1234, 1 + i) + bytes(range(24))
    if kind in ("ah", "ah-udp"):
        nh = 59 if kind == "ah" else 17
        ah = struct.pack("!BBHII", nh, 4, 0, 0x4321, 1 + i) + bytes(12)
        if kind == "ah-udp":
            udp = struct.pack("!HHHH", sport, dport, 12, 0) + b"data"
            return 51, ah + with_csum(src, dst, 17, udp, 6)
        return 51, ah
    if kind.startswith("proto:"):
        return int(kind[6:]), b"p" * 16
    raise ValueError("unknown kind " + kind)


def send(kind, dst, n, sport, dport):
    src = source_for(dst)
    for i in range(int(n)):
        proto, payload = packet(kind, src, dst, int(sport), int(dport), i)
        s = socket.socket(family(dst), socket.SOCK_RAW, proto)
        s.sendto(payload, (dst, 0))
        s.close()
    return f"sent {n}"


def sock(proto, addr):
    fam = family(addr)
    if proto == "tcp":
        return socket.socket(fam, socket.SOCK_STREAM)
    return socket.socket(fam, socket.SOCK_DGRAM, IPPROTO_UDPLITE if proto == "udplite" else 0)


def serve(proto, addr, port):
    s = sock(proto, addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))

    def dgram():
        while True:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)

    def echo(c):
        with c:
            while True:
                try:
                    d = c.recv(65535)
                except OSError:
                    return
                if not d:
                    return
                c.sendall(d)

    def stream():
        s.listen(64)
        while True:
            c, _ = s.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()

    if proto == "tcp":
        s.listen(64)
    threading.Thread(target=stream if proto == "tcp" else dgram, daemon=True).start()
    return "serving"


def talk(proto, addr, port, n, *opts):
    s = sock(proto, addr)
    if "exthdr" in opts:
        pad = b"\x00\x00\x01\x04\x00\x00\x00\x00"  # one PadN option
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, pad)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, pad)
    if "ipopt" in opts:
        # Record Route with one slot, then End of Options: an IPv4 header
        # of 28 bytes (IHL 7).
        s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\x07\x07\x04\x00\x00\x00\x00\x00")
    s.settimeout(2)
    got = 0
    try:
        s.connect((addr, int(port)))
        for _ in range(int(n)):
            s.send(b"msg!")
            buf = b""
            while len(buf) < 4:
                d = s.recv(64)
                if not d:
                    break
                buf += d
            got += buf == b"msg!"
    except OSError:
        pass
    s.close()
    return f"echoed {got} of {n}"


def main():
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            enter(words[0])
            cmd = {"send": send, "serve": serve, "talk": talk}[words[1]]
            answer = cmd(*words[2:])
        except Exception as e:  # one line back, whatever happened
            answer = f"error {type(e).__name__}: {e}"
        finally:
            libc.setns(home, CLONE_NEWNET)
        print(answer, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
