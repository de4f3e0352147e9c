#!/bin/bash
# ctskipctl top (README "ctskipctl top"): 50 named netns with different
# loads and one netns that only a process holds. top lists each netns once,
# sorted by pressure; its conntrack count and limit agree with `conntrack
# -C` and nf_conntrack_max in each netns, its untracked figures with
# ctskip's own counters, and its rates with the traffic sent while it
# sampled.
. "$(dirname "$0")/lib.sh"
plan 10
[ -x "$CTL" ] || { not_ok "ctskipctl is built ($CTL)"; done_testing; exit; }
load 'rules="udp dport 9999"' || { not_ok "insmod"; done_testing; exit; }
M=50
T=$(mktemp -d)

# Netns i holds i tracked UDP flows on lo (i ports with no listener: one
# entry each; the port-unreachable errors are related, not new). Even ones
# also send 10 datagrams ctskip untracks (to 9999). Entries last 10 minutes.
for i in $(seq $M); do
	new_netns "N$i" || { not_ok "netns $i"; done_testing; exit; }
	ns=N$i
	ip netns exec "${!ns}" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600
	ct_active "${!ns}"
	ip netns exec "${!ns}" python3 - "$i" <<-'PY'
	import socket, sys
	i = int(sys.argv[1])
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	for p in range(i):
	    s.sendto(b"x", ("127.0.0.1", 20000 + p))
	if i % 2 == 0:
	    for _ in range(10):
	        s.sendto(b"x", ("127.0.0.1", 9999))
	PY
done
# A netns no name points to, held by a process.
unshare -n sleep 600 &
HOLDER=$!
sleep 0.5

# N1 gets traffic that ctskip untracks while top samples (paced).
ip netns exec "$N1" $TRAFFIC flood udp 127.0.0.1 9999 --seconds 300 --rate 100 > /dev/null 2>&1 &
FLOOD=$!
sleep 0.5
"$CTL" top --json --interval 2 > $T/top.json 2> $T/top.err
check_eq "top --json --interval 2: status 0, nothing on stderr" "0 0" "$? $(wc -c < $T/top.err)"
kill $FLOOD; wait $FLOOD 2>/dev/null
for i in $(seq $M); do ns=N$i; echo "${!ns} $(ip netns exec "${!ns}" conntrack -C 2>&1) $(ctstat "${!ns}" untracked)"; done > $T/want
echo "holder $HOLDER $(cat /proc/sys/net/netfilter/nf_conntrack_max)" >> $T/want

python3 - $T/top.json $T/want "$N1" > $T/got <<'PY'
import json, sys
top = json.load(open(sys.argv[1]))["netns"]
lines = open(sys.argv[2]).read().split("\n")
want = {l.split()[0]: l.split()[1:] for l in lines if l and not l.startswith("holder")}
_, pid, limit = [l for l in lines if l.startswith("holder")][0].split()
by = {}
for r in top:
    by.setdefault(r["name"], []).append(r)
print("once", sum(len(by.get(n, [])) == 1 for n in want), "holder", len(by.get(f"pid {pid} (sleep)", [])), "host", len(by.get("host", [])))
print("count", sum(by[n][0]["conntrack_count"] == int(w[0]) for n, w in want.items() if n in by),
      "spread", len({w[0] for w in want.values()}))
print("max", sum(r["conntrack_max"] == int(limit) for r in top), "of", len(top))
p = [r["pressure"] for r in top]
print("sorted", int(all(a >= b for a, b in zip(p, p[1:]))), "first", int(top[0]["name"] == max(want, key=lambda n: int(want[n][0]))))
# N1's counters still moved after top read them (its traffic): the others.
still = {n: w for n, w in want.items() if n != sys.argv[3] and n in by}
print("untracked", sum(by[n][0]["untracked"] == int(w[1]) for n, w in still.items()),
      "share", sum((by[n][0]["untracked_share"] > 0) == (int(w[1]) > 0) for n, w in still.items()),
      "matched", sum(int(w[1]) > 0 for w in still.values()))
n1 = by[sys.argv[3]][0]
quiet = [by[n][0]["untracked_per_s"] for n in want if n != sys.argv[3]]
print("rate", int(n1["untracked_per_s"] >= 50), int(n1["seen_per_s"] >= n1["untracked_per_s"]), "quiet", int(max(quiet) == 0), round(n1["untracked_per_s"]))
PY
read -r _ once _ holder _ host < <(sed -n 1p $T/got)
check_eq "each of the $M named netns listed once" $M "$once"
check_eq "  the netns only a process holds: once, named 'pid N (sleep)'" 1 "$holder"
check_eq "  the host's: once, named host" 1 "$host"
read -r _ count _ spread < <(sed -n 2p $T/got)
check_eq "conntrack_count is each netns's conntrack -C (counts 1..$M: $spread distinct)" "$M $M" "$count $spread"
read -r _ max _ rows < <(sed -n 3p $T/got)
check_eq "conntrack_max is nf_conntrack_max in every row" "$rows" "$max"
check_eq "sorted by pressure, the fullest ($M entries) first" "1 1" "$(sed -n 4p $T/got | awk '{print $2, $4}')"
read -r _ untracked _ share _ matched < <(sed -n 5p $T/got)
check_eq "untracked is each quiet netns's ctskip counter; the untracked share is above 0 exactly where ctskip untracked ($matched netns)" "$((M - 1)) $((M - 1)) $((M / 2))" "$untracked $share $matched"
read -r _ rate seen _ quiet persec < <(sed -n 6p $T/got)
check_eq "rates: the netns with traffic during the sample untracked at least 50/s ($persec/s), seen at least as many" "1 1" "$rate $seen"
check_eq "  every other netns: 0/s" 1 "$quiet"
kill $HOLDER 2>/dev/null
rm -rf "$T"
done_testing
