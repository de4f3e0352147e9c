#!/bin/bash
# In-guest packet-rate benchmark (run by scripts/bench with -icount, one vCPU,
# release kernel). pktgen injects 64-byte UDP packets (random source ports,
# dport 53) into a veth in netns R with xmit_mode netif_receive; an nftables
# rule at prerouting priority -150 drops them after conntrack. Each
# configuration adds what it measures. Prints "CONFIG RATE" lines (packets
# per guest second; with -icount, guest time counts instructions).
set -u
KO=${CTSKIP_KO:?}
COUNT=${BENCH_COUNT:-200000}
SLOW_COUNT=${BENCH_SLOW_COUNT:-3000}
ONLY=${BENCH_ONLY:-}
insmod "${PKTGEN_KO:?}" 2>/dev/null
ip netns del R 2>/dev/null
ip netns add R
ip -n R link add v0 type veth peer name v1
ip -n R addr add 10.9.0.1/24 dev v0
ip -n R link set v0 up; ip -n R link set v1 up; ip -n R link set lo up
MAC=$(ip -n R -o link show v0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
R() { ip netns exec R "$@"; }

base_nft() { # the drop rule after conntrack; $1=ct: make conntrack active
	R nft flush ruleset
	{
		printf 'table ip bench {\n chain sink {\n  type filter hook prerouting priority -150;\n  udp dport 53 counter drop\n }\n'
		# A stateful rule elsewhere (output) makes conntrack active in R.
		[ "$1" = ct ] && printf ' chain ctuse {\n  type filter hook output priority 0;\n  ct state established accept\n }\n'
		printf '}\n'
	} | R nft -f -
}

pg() { echo "$2" > /proc/net/pktgen/$1; }
run_pktgen() { # run_pktgen COUNT: prints packets per (guest) second
	R sh -c "echo reset > /proc/net/pktgen/pgctrl"
	R sh -c "echo rem_device_all > /proc/net/pktgen/kpktgend_0; echo add_device v0 > /proc/net/pktgen/kpktgend_0"
	for c in "count $1" "pkt_size 60" "delay 0" "flag NO_TIMESTAMP" "flag UDPSRC_RND" "udp_src_min 1024" \
		 "udp_src_max 65535" "udp_dst_min 53" "udp_dst_max 53" "dst_mac $MAC" "dst_min 10.9.0.1" \
		 "dst_max 10.9.0.1" "src_min 10.9.0.2" "src_max 10.9.0.2" "xmit_mode netif_receive" "burst 1"; do
		R sh -c "echo '$c' > /proc/net/pktgen/v0"
	done
	R sh -c "echo start > /proc/net/pktgen/pgctrl"
	R cat /proc/net/pktgen/v0 | sed -n 's/.* \([0-9]*\)pps.*/\1/p'
}

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
measure() { # measure NAME COUNT
	want "$1" || return 0
	R conntrack -F >/dev/null 2>&1
	local rate
	rate=$(run_pktgen "$2")
	echo "$1 $rate"
}

rules10k() { python3 "$(dirname "$0")/rulegen.py" "$@"; }

# L: conntrack not active.
base_nft noct; measure L $COUNT
# An empty nft base chain at -300, conntrack not active.
R nft add table ip raw0; R nft add chain ip raw0 pre '{ type filter hook prerouting priority -300; }'
measure E $COUNT; R nft delete table ip raw0
# C: conntrack active, every packet a new flow.
base_nft ct; measure C $COUNT
# nft notrack: bare (every packet), N1, Nset, N10k.
nraw() { # nraw STATEMENT: a raw-priority prerouting chain with one rule
	printf 'table ip nraw {\n chain pre {\n  type filter hook prerouting priority -300;\n  %s\n }\n}\n' "$1" | R nft -f -
}
nraw "notrack"
measure Nbare $COUNT; R nft delete table ip nraw
nraw "udp dport 53 notrack"
measure N1 $COUNT; R nft delete table ip nraw
if want Nset; then
	rules10k nftset | R nft -f -; measure Nset $COUNT; R nft delete table ip nraw
fi
if want N10k; then
	rules10k nft | R nft -f -
	echo "# N10k: $(R nft list ruleset | grep -c notrack) nft rules"
	measure N10k $SLOW_COUNT; R nft delete table inet nraw
fi
# iptables-legacy raw CT --notrack: I1, I10k.
R iptables-legacy -t raw -A PREROUTING -p udp --dport 53 -j CT --notrack
measure I1 $COUNT; R iptables-legacy -t raw -F
if want I10k; then
	rules10k iptables | R iptables-legacy-restore -n
	echo "# I10k: $(R iptables-legacy -t raw -S PREROUTING | grep -c CT) iptables rules (IPv4 ones)"
	measure I10k $SLOW_COUNT; R iptables-legacy -t raw -F
fi
# ctskip: S0 (loaded, no rules), S1, S10k.
insmod "$KO"
measure S0 $COUNT
echo "udp dport 53" > /sys/kernel/ctskip/rules
measure S1 $COUNT
if want S10k; then
	rules10k ctskip > /tmp/s10k
	python3 "$(dirname "$0")/load-rules.py" /tmp/s10k
	echo "# S10k: $(wc -l < /sys/kernel/ctskip/rules) rules, match at line $(grep -n '^udp dport 53$' /sys/kernel/ctskip/rules | cut -d: -f1)"
	measure S10k $COUNT
fi
echo "# untracked in R: $(R awk '$1=="untracked"{print $2}' /proc/net/ctskip)"
# H1: the hook's own cost: ctskip with one rule, conntrack not active.
echo "udp dport 53" > /sys/kernel/ctskip/rules
base_nft noct
measure H1 $COUNT
rmmod ctskip
ip netns del R
