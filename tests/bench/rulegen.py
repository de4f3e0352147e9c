#!/usr/bin/env python3
"""N rules of mixed shapes for the benchmarks (default 10,000), in each
tool's syntax: exact ports, port ranges, address prefixes of several lengths,
both families. The rule matching the benchmark's packets (udp dport 53) sits
in the middle, not first.

  rulegen.py ctskip|nft|nftset|iptables [N]
"""
import sys

kind = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000


def shapes():
    """(ctskip, nft match or None, iptables match or None), all distinct."""
    i = 0
    while True:
        j = i // 6
        k = i % 6
        if k == 0:  # exact port
            p = 1024 + j % 64000
            proto = ["tcp", "sctp", "dccp"][j // 64000 % 3]
            yield (f"{proto} dport {p}", f"{proto} dport {p}", f"-p {proto} --dport {p}" if proto == "tcp" else None)
        elif k == 1:  # port range
            lo = 1024 + j % 60000
            yield (f"udp dport {lo}-{lo + 7}", f"udp dport {lo}-{lo + 7}", f"-p udp --dport {lo}:{lo + 7}")
        elif k == 2:  # /32 and /24 IPv4 prefixes
            if j % 2:
                a = f"172.{16 + (j >> 16) % 16}.{(j >> 8) & 255}.{j & 255}"
                yield (f"ip saddr {a}", f"ip saddr {a}", f"-s {a}")
            else:
                a = f"10.{(j >> 16) % 256}.{(j >> 8) & 255}.0/24" if j >> 16 else f"10.{(j >> 8) & 255}.{j & 255}.0/24"
                yield (f"ip daddr {a}", f"ip daddr {a}", f"-d {a}")
        elif k == 3:  # IPv6 prefix and port
            yield (f"ip6 udp daddr 2001:db8:{j:x}::/48 dport 4789", f"ip6 daddr 2001:db8:{j:x}::/48 udp dport 4789", None)
        elif k == 4:  # source prefix and source port
            p = 1024 + j % 64000
            yield (f"ip udp saddr 10.{j // 64000 % 256}.0.0/16 sport {p}", f"ip saddr 10.{j // 64000 % 256}.0.0/16 udp sport {p}",
                   f"-s 10.{j // 64000 % 256}.0.0/16 -p udp --sport {p}")
        else:  # /8 and /16 prefixes with a protocol
            a = f"{j % 200 + 1}.{j // 200 % 256}.0.0/16"
            yield (f"ip tcp saddr {a} sport 1-1023", f"ip saddr {a} tcp sport 1-1023", f"-s {a} -p tcp --sport 1:1023")
        i += 1


rules, seen = [], set()
for r in shapes():
    if len(rules) == n - 1:
        break
    if r[0] not in seen:
        seen.add(r[0])
        rules.append(r)
rules.insert(len(rules) // 2, ("udp dport 53", "udp dport 53", "-p udp --dport 53"))

if kind == "ctskip":
    print("\n".join(r[0] for r in rules))
elif kind == "nft":
    # inet: one table for both families, so all N rules are there (an IPv4
    # packet skips the ip6 rules at their first match).
    print("table inet nraw {\n chain pre {\n  type filter hook prerouting priority -300;")
    for r in rules:
        if r[1]:
            print(f"  {r[1]} notrack")
    print(" }\n}")
elif kind == "nftset":
    ports = [53] + [1024 + 5 * i for i in range(n - 1)]
    print("table ip nraw {\n set ports { type inet_service; elements = { " + ", ".join(map(str, sorted(set(p % 65536 for p in ports)))) + " } }")
    print(" chain pre {\n  type filter hook prerouting priority -300;\n  udp dport @ports notrack\n }\n}")
elif kind == "iptables":
    # IPv4 rules only: the IPv6 ones belong in ip6tables, which IPv4 packets
    # never traverse.
    print("*raw")
    for r in rules:
        if r[2]:
            print(f"-A PREROUTING {r[2]} -j CT --notrack")
    print("COMMIT")
