#!/usr/bin/env python3
"""Traffic for ctskip's guest tests: echo servers and clients with exact
counts, and long-lived flows for the table-full scenario.

  serve udp|tcp ADDR PORT                 echo server (until killed)
  talk  udp|tcp ADDR PORT [-n N] [--sport P] [--size S] [--timeout T]
                                          N messages, each echoed; exit 0 iff all were;
                                          --why also prints why messages failed:
                                          "failed timeout T refused R other O"
  hold  udp|tcp ADDR PORT -n N [--hold S] open N flows (TCP connections, or UDP
                                          flows from N source ports, each answered),
                                          keep them S seconds; prints "flows K of N"
  send  udp ADDR PORT -n N [--sport P] [--size S]
                                          N datagrams, no answer expected
  flood udp|tcp ADDR PORT --seconds S    exchange messages for S seconds (a new
                                          connection or source port every 50);
                                          prints "sent N echoed M"; with
                                          --stop-file F it also ends once F exists;
                                          --rate R sends at most R messages a second
  craft truncated|fragment ADDR PORT -n N
                                          N IPv4 UDP packets from a raw socket that a
                                          port rule cannot classify: a UDP header cut
                                          to 2 bytes, or a non-first fragment (sent
                                          with IP_NODEFRAG, so LOCAL_OUT sees it as is)
"""
import struct
import argparse
import os
import socket
import sys
import threading
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server_socket(fam, kind):
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return s


def serve(a):
    fam = family(a.addr)
    if a.proto == "udp":
        s = server_socket(fam, socket.SOCK_DGRAM)
        s.bind((a.addr, a.port))
        while True:
            data, peer = s.recvfrom(65535)
            s.sendto(data, peer)
    s = server_socket(fam, socket.SOCK_STREAM)
    s.bind((a.addr, a.port))
    s.listen(4096)

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

    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def connect(a, sport=0):
    fam = family(a.addr)
    kind = socket.SOCK_DGRAM if a.proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sport:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
    if getattr(a, "exthdr", False):
        # Hop-by-hop and destination options headers, each one PadN option.
        pad = b"\x00\x00\x01\x04\x00\x00\x00\x00"
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, pad)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, pad)
    s.settimeout(a.timeout)
    s.connect((a.addr, a.port))
    return s


def talk(a):
    s = connect(a, a.sport)
    payload = b"x" * a.size
    got = 0
    why = {"timeout": 0, "refused": 0, "other": 0}
    for _ in range(a.n):
        try:
            s.send(payload)
            want = len(payload)
            buf = b""
            while len(buf) < want:
                d = s.recv(65535)
                if not d:
                    break
                buf += d
            if len(buf) == want:
                got += 1
            else:
                why["other"] += 1
        except socket.timeout:
            why["timeout"] += 1
        except ConnectionRefusedError:
            why["refused"] += 1
        except OSError:
            why["other"] += 1
    s.close()
    print(f"echoed {got} of {a.n}")
    if a.why:
        print(f"failed timeout {why['timeout']} refused {why['refused']} other {why['other']}")
    return 0 if got == a.n else 1


def send(a):
    # Unconnected: with no listener, ICMP port unreachable would make a
    # connected socket's next send fail.
    fam = family(a.addr)
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if a.sport:
        s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", a.sport))
    for _ in range(a.n):
        s.sendto(b"x" * a.size, (a.addr, a.port))
    s.close()
    return 0


def craft(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_IP, 22, 1)  # IP_NODEFRAG
    dst = socket.inet_aton(a.addr)
    for i in range(a.n):
        if a.proto == "truncated":
            frag, payload = 0, struct.pack("!H", 40000)  # only the source port
        else:
            frag, payload = 1, b"y" * 16  # offset 8 bytes, no transport header
        # The kernel fills in tot_len, the checksum and the source address.
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 4242 + i, frag, 64, 17, 0, bytes(4), dst)
        s.sendto(hdr + payload, (a.addr, 0))
    s.close()
    return 0


def flood(a):
    start = time.time()
    end = start + a.seconds
    sent = echoed = 0
    while time.time() < end and not (a.stop_file and os.path.exists(a.stop_file)):
        try:
            s = connect(a)
        except OSError:
            sent += 1
            time.sleep(0.05)
            continue
        for _ in range(50):
            if a.rate:
                # Each message waits for its slot: at most a.rate a second.
                wait = start + sent / a.rate - time.time()
                if wait > 0:
                    time.sleep(wait)
            sent += 1
            try:
                s.send(b"flood")
                if s.recv(64):
                    echoed += 1
            except OSError:
                break
        s.close()
    print(f"sent {sent} echoed {echoed}", flush=True)
    return 0


def hold(a):
    flows = []
    ok = 0
    for _ in range(a.n):
        try:
            # UDP flows differ by source port (each socket gets its own).
            s = connect(a)
            s.send(b"hello")
            if s.recv(64):
                ok += 1
                flows.append(s)
            else:
                s.close()
        except OSError:
            pass
    print(f"flows {ok} of {a.n}", flush=True)
    time.sleep(a.hold)
    for s in flows:
        s.close()
    return 0 if ok == a.n else 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["serve", "talk", "hold", "send", "craft", "flood"])
    p.add_argument("proto", choices=["udp", "tcp", "truncated", "fragment"])
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("-n", type=int, default=1)
    p.add_argument("--sport", type=int, default=0)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--hold", type=float, default=0)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--stop-file", default="", help="flood: end once this file exists")
    p.add_argument("--rate", type=float, default=0, help="flood: at most this many messages a second (0: no limit)")
    p.add_argument("--why", action="store_true", help="talk: print why messages failed")
    p.add_argument("--exthdr", action="store_true", help="IPv6 hop-by-hop and destination options")
    a = p.parse_args()
    return {"serve": serve, "talk": talk, "hold": hold, "send": send, "craft": craft, "flood": flood}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
