#!/usr/bin/env python3
"""Create and delete N network namespaces with traffic, cheaply (fork, no
exec): each child unshares a new netns, brings lo up, reads its
/proc/net/ctskip (every counter zero: a new netns starts at zero;
conntrack_max is the host's limit, not a counter), pings 127.0.0.1
over a raw ICMP socket, reads the counters again, and exits (the netns goes
with it).

  netns-churn.py N [--expect-untracked U]

Prints "made M zero Z untracked_ok K" (K: children whose untracked counter
equalled U after the ping; U defaults to 2, the request and the reply at
LOCAL_OUT when a rule matches icmp).
"""
import ctypes
import fcntl
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
n = int(sys.argv[1])
want = int(sys.argv[sys.argv.index("--expect-untracked") + 1]) if "--expect-untracked" in sys.argv else 2


def counters():
    with open("/proc/self/net/ctskip") as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


def checksum(b):
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff


def child():
    if libc.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))  # IFF_UP
    c = counters()
    zero = "untracked" in c and all(v == 0 for k, v in c.items() if k != "conntrack_max")
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    r.settimeout(2)
    body = struct.pack("!BBHHH", 8, 0, 0, 42, 1) + b"ctskip"
    r.sendto(body[:2] + struct.pack("!H", checksum(body)) + body[4:], ("127.0.0.1", 0))
    got = False
    try:
        while not got:
            pkt = r.recv(1500)
            got = pkt[20] == 0  # echo reply
    except OSError:
        pass
    ok = got and counters().get("untracked") == want
    os._exit((0 if zero else 1) | (0 if ok else 2))


made = zero = good = 0
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        try:
            child()
        except Exception as e:  # noqa: BLE001
            print(f"netns-churn: child: {e}", file=sys.stderr, flush=True)
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code & 4 == 0:
        made += 1
        zero += code & 1 == 0
        good += code & 2 == 0
print(f"made {made} zero {zero} untracked_ok {good}")
