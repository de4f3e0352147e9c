#!/usr/bin/env python3
"""10,000 rules of mixed shapes for the benchmarks, in each tool's syntax:
exact ports, port ranges, prefixes of several lengths, both families. The
one that matches the benchmark's packets (udp dport 53) is not first.

  rulegen.py ctskip|nft|nftset|iptables [N]
"""
import random
import sys

kind = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
rnd = random.Random(7)
rules = []  # (ctskip text, nft match, iptables match or None)
for i in range(n - 1):
    k = i % 5
    if k == 0:
        p = 1000 + i
        rules.append((f"tcp dport {p}", f"tcp dport {p}", f"-p tcp --dport {p}"))
    elif k == 1:
        lo = 20000 + (i % 4000) * 10
        rules.append((f"udp dport {lo}-{lo + 5}", f"udp dport {lo}-{lo + 5}", f"-p udp --dport {lo}:{lo + 5}"))
    elif k == 2:
        plen = rnd.choice([8, 16, 24, 32])
        a = f"172.{16 + i % 16}.{(i // 16) % 256}.{i % 256}"
        net = ".".join(str(int(o) & m) for o, m in zip(a.split("."), [(0xffffffff << (32 - plen) >> s) & 255 for s in (24, 16, 8, 0)]))
        rules.append((f"ip saddr {net}/{plen}", f"ip saddr {net}/{plen}", f"-s {net}/{plen}"))
    elif k == 3:
        rules.append((f"ip6 udp daddr 2001:db8:{i:x}::/48 dport 4789", None, None))
    else:
        p = 30000 + i
        rules.append((f"ip udp saddr 10.{i % 256}.0.0/16 sport {p}", f"ip saddr 10.{i % 256}.0.0/16 udp sport {p}",
                      f"-s 10.{i % 256}.0.0/16 -p udp --sport {p}"))
rules.insert(n // 2, ("udp dport 53", "udp dport 53", "-p udp --dport 53"))

if kind == "ctskip":
    print("\n".join(r[0] for r in rules))
elif kind == "nft":
    print("table ip nraw {\n chain pre {\n  type filter hook prerouting priority -300;")
    for r in rules:
        if r[1]:
            print(f"  {r[1]} notrack")
    print(" }\n}")
elif kind == "nftset":
    ports = sorted({53} | {1000 + i for i in range(0, 50000, 5)})[: n]
    print("table ip nraw {\n set ports { type inet_service; elements = { " + ", ".join(map(str, ports)) + " } }")
    print(" chain pre {\n  type filter hook prerouting priority -300;\n  udp dport @ports notrack\n }\n}")
elif kind == "iptables":
    print("*raw")
    for r in rules:
        if r[2]:
            print(f"-A PREROUTING {r[2]} -j CT --notrack")
    print("COMMIT")
