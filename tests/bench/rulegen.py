#!/usr/bin/env python3
"""Rule sets for the benchmarks, in each tool's syntax. The benchmark's
packets (UDP 10.9.0.2:1024-65535 to 10.9.0.1:53) match `udp dport 53`,
the last rule added.

  rulegen.py ctskip|nft|iptables [N]
      N rules (default 10,000) of 7 shapes, both families: exact ports (tcp,
      udp, sctp), UDP port ranges, IPv4 /16 to /32 source and destination
      prefixes, IPv6 /48 prefixes with a port, /16 source prefixes with a
      source port, /16 prefixes with a TCP source port range (S10kmix,
      N10k, I10k)
  rulegen.py ports [N]      N `udp dport P` rules (S10k)
  rulegen.py nftset [N]     nft: `udp dport @ports notrack`, the same N ports (Nset)
  rulegen.py worst          ctskip: the issue's adversarial family, whole
                            (scripts/bench keeps the part ctskip accepts:
                            Sworst)
  rulegen.py adversarial    ctskip: a family built against the shared
                            prefilters, whole (the accepted part: Sadv)
  rulegen.py v6pairs        ctskip: distinct IPv6 prefix-length pairs over
                            the IPv6 benchmark packet's addresses, whole
  rulegen.py boxes          ctskip: overlapping source and destination port
                            range boxes holding the packets' source ports,
                            none their destination port, whole (Sboxes)
  rulegen.py every          ctskip: 65,536 distinct rules cycling through
                            the rule language's fields, whole (Severy)

The adversarial families end with `udp dport 53` (the match); scripts/bench
measures each whole text (refused, and with what line, or accepted) and the
longest leading part ctskip accepts (classify-bench limits).
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
            p = 1024 + j // 3 % 64000
            proto = ["tcp", "udp", "sctp"][j % 3]
            yield (f"{proto} dport {p}", f"{proto} dport {p}", f"-p {proto} --dport {p}" if proto != "sctp" else None)
        elif k == 1:  # port range
            lo = 1024 + j % 60000
            yield (f"udp dport {lo}-{lo + 7}", f"udp dport {lo}-{lo + 7}", f"-p udp --dport {lo}:{lo + 7}")
        elif k == 2:  # IPv4 source and destination prefixes, /16 to /32
            plen = [32, 24, 28, 20, 16][j % 5]
            a = (172 << 24) | ((16 + j % 16) << 16) | ((j * 97) & 0xffff)
            a &= (0xffffffff << (32 - plen)) & 0xffffffff
            pfx = f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}"
            if j % 2:
                yield (f"ip saddr {pfx}", f"ip saddr {pfx}", f"-s {pfx}")
            else:
                yield (f"ip daddr {pfx}", f"ip daddr {pfx}", f"-d {pfx}")
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


def worst():
    """The issue's adversarial family (`ip saddr P/A daddr Q/B oneway` for
    many prefix-length pairs), over the benchmark packets' own addresses:
    each source prefix holds their source (10.9.0.2), no destination prefix
    their destination (10.9.0.1), so every flat test and table probe passes
    its prefilter and misses. Then the match. ctskip refuses it whole;
    scripts/bench keeps the longest leading part it accepts
    (classify-bench longest): the worst-case accepted set (Sworst)."""
    def net(addr, plen):
        m = (0xffffffff << (32 - plen)) & 0xffffffff
        a = addr & m
        return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}"
    src, far = (10 << 24) | (9 << 16) | 2, (10 << 24) | (9 << 16) | (128 << 8)
    out = [f"ip saddr {net(src, a)} daddr {net(far, b)} oneway" for b in range(32, 16, -1) for a in range(32, 0, -1)]
    out.append("udp dport 53")
    return out


def adversarial():
    """A family built against the buckets' shared prefilters: one rule with
    /8 prefixes sets their address cells to the first 8 bits (10, the
    packets' own); every source prefix holds the packets' source, no
    destination prefix (10.9.0.128/25 to /32) their destination, and all
    other cells hold the packets' too. So every table and flat test it makes
    is visited and misses. Then the match. ctskip refuses it whole;
    scripts/bench keeps the longest leading part it accepts (Sadv)."""
    def net(addr, plen):
        m = (0xffffffff << (32 - plen)) & 0xffffffff
        a = addr & m
        return f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}"
    src, far = (10 << 24) | (9 << 16) | 2, (10 << 24) | (9 << 16) | 128
    out = ["ip saddr 11.0.0.0/8 daddr 10.0.0.0/8 oneway"]
    out += [f"ip saddr {net(src, a)} daddr {net(far, b)} oneway" for b in range(32, 24, -1) for a in range(32, 7, -1)]
    out.append("udp dport 53")
    return out


def v6pairs():
    """`ip6 saddr P/A daddr Q/B oneway` for prefix lengths A in 128..1 and
    B in 128..113, each source prefix holding the IPv6 packet's source
    (2001:db8:9::2), no destination prefix its destination (2001:db8:9::1:
    the prefixes are of 2001:db8:9::8000). Then the match."""
    def net(addr, plen):
        m = ((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1)
        a = addr & m
        groups = [(a >> (112 - 16 * i)) & 0xffff for i in range(8)]
        return ":".join(f"{g:x}" for g in groups) + f"/{plen}"
    base = 0x20010db8000900000000000000000000
    src, far = base | 2, base | 0x8000
    out = [f"ip6 saddr {net(src, a)} daddr {net(far, b)} oneway" for b in range(128, 112, -1) for a in range(128, 0, -1)]
    out.append("udp dport 53")
    return out


def boxes():
    """64 overlapping `udp sport A-B dport C-D oneway` boxes: every source
    range holds the packets' source ports (32768-65535), no destination
    range their destination port (53). Then the match."""
    out = [f"udp sport {32768 - i}-65535 dport 54-{60 + i} oneway" for i in range(64)]
    out.append("udp dport 53")
    return out


def every():
    """65,536 distinct rules, cycling through every shape of the language:
    family (none, ip, ip6), protocol (none, tcp, udp, sctp, udplite, dccp,
    gre, esp), each port absent, exact or a range (protocols with ports),
    each address absent or a prefix of a length that cycles too, iif and
    oif, `oneway`. Then the match."""
    protos = [None, "tcp", "udp", "sctp", "udplite", "dccp", "gre", "esp"]
    out, seen, i = [], set(), 0
    while len(out) < 65535:
        j = i
        fam = j % 3; j //= 3
        proto = protos[j % 8]; j //= 8
        sp = j % 3; j //= 3
        dp = j % 3; j //= 3
        sa = j % 2; j //= 2
        da = j % 2; j //= 2
        dev = j % 3; j //= 3
        oneway = j % 2; j //= 2
        v = i // 7  # the values change at another rate than the shape
        w = [["", "ip", "ip6"][fam]] if fam else []
        if proto:
            w.append(proto)
        if fam == 1:
            for on, k in ((sa, "saddr"), (da, "daddr")):
                if on:
                    plen = 8 + (v + len(k)) % 25
                    a = ((10 << 24) | (v * 2654435761 & 0xffffff)) & ((0xffffffff << (32 - plen)) & 0xffffffff)
                    w.append(f"{k} {a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}")
        if fam == 2:
            for on, k in ((sa, "saddr"), (da, "daddr")):
                if on:
                    plen = 16 + (v + len(k)) % 113
                    a = ((0x20010db8 << 96) | ((v * 0x9e3779b97f4a7c15) & ((1 << 96) - 1))) & (((1 << 128) - 1) ^ ((1 << (128 - plen)) - 1))
                    w.append(f"{k} " + ":".join(f"{(a >> (112 - 16 * g)) & 0xffff:x}" for g in range(8)) + f"/{plen}")
        if proto in ("tcp", "udp", "sctp", "udplite", "dccp"):
            for kind, k in ((sp, "sport"), (dp, "dport")):
                p = 1024 + (v * 7919 + len(k)) % 60000
                if kind == 1:
                    w.append(f"{k} {p}")
                elif kind == 2:
                    w.append(f"{k} {p}-{p + 1 + v % 300}")
        if dev == 1:
            w.append(f"iif eth{v % 4}")
        elif dev == 2:
            w.append(f"oif eth{v % 4}")
        if not w:
            w.append("gre")
        if oneway:
            w.append("oneway")
        r = " ".join(w)
        if r not in seen and r != "udp dport 53":
            seen.add(r)
            out.append(r)
        i += 1
    out.append("udp dport 53")
    return out


families = {"v6pairs": v6pairs, "boxes": boxes, "every": every}
if kind in families:
    print("\n".join(families[kind]()))
    sys.exit(0)
if kind == "worst":
    print("\n".join(worst()))
    sys.exit(0)
if kind == "adversarial":
    print("\n".join(adversarial()))
    sys.exit(0)
if kind == "ports":
    print("\n".join(f"udp dport {1024 + i}" for i in range(n - 1)))
    print("udp dport 53")
    sys.exit(0)

rules, seen = [], set()
for r in shapes():
    if len(rules) == n - 1:
        break
    if r[0] not in seen:
        seen.add(r[0])
        rules.append(r)
rules.append(("udp dport 53", "udp dport 53", "-p udp --dport 53"))
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
    ports = [1024 + i for i in range(n - 1)] + [53]
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
