#!/bin/bash
# Hostile packets from raw sockets: truncated headers, bad version and IHL,
# zero-length and overlapping fragments, long and truncated IPv6 extension
# header chains. Never a crash (the VM runner checks the kernel log), never a
# mismatch, and `unparsed` counts exactly what it should. The netns have no
# conntrack, so no defragmentation hides anything from the hook.
#
# Headers the IP layer refuses never reach a hook from user space: the raw
# socket refuses IHL < 5 and anything shorter than an IP header (EINVAL,
# raw_send_hdrinc() and rawv6_send_hdrinc()), and the receiver's
# ip_rcv_core()/ip6_rcv_core() drop them before PRE_ROUTING. What does reach
# LOCAL_OUT: a wrong version (neither raw path looks at it), and, before
# Linux 7.x, an IHL that another hook rewrote before ctskip's (here an nft
# rule at raw priority; 7.x's nft refuses to write IHL or version). Each
# such kind is shown to reach the sender's hook (unparsed +N), to reach the
# receiver and be dropped by its IP layer (InHdrErrors +N), and to leave the
# receiver's hook untouched.
. "$(dirname "$0")/lib.sh"
plan 116

new_netns A; new_netns B
ip link add a0 netns "$A" type veth peer name b0 netns "$B"
ip -n "$A" addr add 10.0.1.1/24 dev a0; ip -n "$B" addr add 10.0.1.2/24 dev b0
ip -n "$A" addr add fd00:1::1/64 dev a0 nodad; ip -n "$B" addr add fd00:1::2/64 dev b0 nodad
ip -n "$A" link set a0 up; ip -n "$B" link set b0 up
# Errors about these packets (port unreachable) would be untracked too:
# drop them before ctskip sees them, so the counts are the packets sent.
no_icmp_errors "$A"; no_icmp_errors "$B"
ip netns exec "$A" ping -c1 -W2 -q 10.0.1.2 >/dev/null; ip netns exec "$A" ping -c1 -W2 -q fd00:1::2 >/dev/null
load 'rules="udp dport 5555"' || { not_ok "insmod"; done_testing; exit; }
# Before ctskip's hook (priority -201): IHL 3 and 15 for hostile.py's
# v4-badihl and v4-longihl (by IP ID), each counted once rewritten.
ip netns exec "$A" nft -f - <<'NFT'
table ip mangle {
	counter ihl3 { }
	counter ihl15 { }
	chain out {
		type filter hook output priority raw; policy accept;
		ip id 2989 ip hdrlength set 3 counter name ihl3
		ip id 2990 ip hdrlength set 15 counter name ihl15
	}
}
NFT

N=5
BMAC=$(ip -n "$B" -o link show b0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
# hostile KIND: sends KIND N times from A to B; prints hostile.py's line.
hostile() {
	case $1 in
	v4*) ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" "$1" 10.0.1.2 10.0.1.1 $N a0 "$BMAC";;
	*) ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" "$1" fd00:1::2 fd00:1::1 $N a0 "$BMAC";;
	esac
}
# hdrerr NS KIND: header errors of NS's IP layer for KIND's family
# (InHdrErrors of /proc/net/snmp, Ip6InHdrErrors of /proc/net/snmp6).
hdrerr() {
	case $2 in
	v4*) ip netns exec "$1" awk '$1 == "Ip:" { if (!c) { for (i = 2; i <= NF; i++) if ($i == "InHdrErrors") c = i } else print $c }' /proc/net/snmp;;
	*) ip netns exec "$1" awk '$1 == "Ip6InHdrErrors" { print $2 }' /proc/net/snmp6;;
	esac
}
# npkts NS FAMILY TABLE COUNTER: packets of a named nft counter, or
# "nft-failed(...)".
npkts() {
	local n
	n=$(ip netns exec "$1" nft list counter "$2" "$3" "$4" 2>&1 | awk '$1 == "packets" { print $2 }')
	case $n in '' | *[!0-9]*) echo "nft-failed($3 $4)";; *) echo "$n";; esac
}
# since BEFORE NOW: NOW - BEFORE, or both as they are when either is not a
# number (so no count check passes on a failed read).
since() { case "$1$2" in '' | *[!0-9]*) echo "unreadable($1 $2)";; *) echo $(($2 - $1));; esac; }

run() { # run KIND: send KIND, compare both netns's counters with hostile.py's
	local kind=$1 want_u want_p refused
	declare -A a b
	snap "$A" a; snap "$B" b
	read -r _ want_u _ want_p _ _ _ refused < <(hostile "$kind")
	# A send the kernel refused would lower both expectations: fail instead.
	[ "$refused" = 0 ] || want_u="refused($refused)" want_p="refused($refused)"
	sleep 0.3
	check_eq "$kind: sender untracked +$want_u" "$want_u" "$(delta "$A" a untracked)"
	check_eq "$kind: sender unparsed +$want_p" "$want_p" "$(delta "$A" a unparsed)"
	check_eq "$kind: receiver untracked +$want_u" "$want_u" "$(delta "$B" b untracked)"
	check_eq "$kind: receiver unparsed +$want_p" "$want_p" "$(delta "$B" b unparsed)"
}
dropped() { # dropped KIND: reaches the sender's LOCAL_OUT, not the receiver's PRE_ROUTING
	local kind=$1 e0
	declare -A a b
	snap "$A" a; snap "$B" b; e0=$(hdrerr "$B" "$kind")
	check_eq "$kind: the raw socket sends all $N" "untracked 0 unparsed $N wire 0 refused 0" "$(hostile "$kind")"
	sleep 0.3
	check_eq "$kind: the sender's LOCAL_OUT hook counts each unparsed (unparsed, untracked)" "$N 0" \
		"$(delta "$A" a unparsed) $(delta "$A" a untracked)"
	check_eq "$kind: they reach the receiver, whose IP layer drops them (header errors +$N)" "$N" "$(since "$e0" "$(hdrerr "$B" "$kind")")"
	check_eq "$kind: so the receiver's hook never sees one (unparsed, untracked +0)" "0 0" \
		"$(delta "$B" b unparsed) $(delta "$B" b untracked)"
}
mangled() { # mangled KIND COUNTER: IHL rewritten by nft before the sender's hook
	local kind=$1 e0 r0 want_u want_p refused
	declare -A a b
	snap "$A" a; snap "$B" b; e0=$(hdrerr "$B" "$kind"); r0=$(npkts "$A" ip mangle "$2")
	read -r _ want_u _ want_p _ _ _ refused < <(hostile "$kind")
	[ "$refused" = 0 ] || want_u="refused($refused)" want_p="refused($refused)"
	sleep 0.3
	# want_p: the packets nft rewrote (all N, or none where nft refuses).
	check_eq "$kind: nft rewrote IHL in $want_p of $N (Linux 7.x's nft refuses to)" "$want_p" \
		"$(since "$r0" "$(npkts "$A" ip mangle "$2")")"
	check_eq "$kind: the sender's LOCAL_OUT hook: unparsed +$want_p, untracked +$want_u" "$want_p $want_u" \
		"$(delta "$A" a unparsed) $(delta "$A" a untracked)"
	check_eq "$kind: the receiver's IP layer drops the rewritten ones (header errors +$want_p)" "$want_p" \
		"$(since "$e0" "$(hdrerr "$B" "$kind")")"
	check_eq "$kind: the receiver's hook sees only intact ones (unparsed +0, untracked +$want_u)" "0 $want_u" \
		"$(delta "$B" b unparsed) $(delta "$B" b untracked)"
}
wire() { # wire KIND: from a packet socket: only the receiver's IP layer sees it
	local kind=$1 e0
	# shellcheck disable=SC2034 # read by name: snap and delta take namerefs
	declare -A b
	snap "$B" b; e0=$(hdrerr "$B" "$kind")
	hostile "$kind" >/dev/null
	sleep 0.3
	check_eq "$kind: all $N reach the receiver, whose IP layer drops them (header errors +$N)" "$N" "$(since "$e0" "$(hdrerr "$B" "$kind")")"
	check_eq "$kind: so the receiver's hook never sees one (unparsed, untracked +0)" "0 0" \
		"$(delta "$B" b unparsed) $(delta "$B" b untracked)"
}
refused() { # refused KIND: the raw socket refuses it, no hook can see it
	check_eq "$1: the raw socket refuses all $N (EINVAL)" "untracked 0 unparsed 0 wire 0 refused $N" "$(hostile "$1")"
}

KINDS="v4-options v4-truncated-udp v4-zero-frag v4-overlap-frags v4-first-frag
	v6-long-chain v6-overlong-chain v6-truncated-chain v6-later-frag v6-zero-payload v6-first-frag"
setw $SYS/rules "udp dport 5555"
for kind in $KINDS; do
	run $kind
done
# Again under a set whose lookup walks the classifier's tables (a rule with
# an address, never matching here) rather than testing the packet's head:
# the hook's other quick path must give these packets up the same way.
setw $SYS/rules "udp dport 5555
ip daddr 10.9.9.9"
for kind in $KINDS; do
	run $kind
done
setw $SYS/rules "udp dport 5555"
dropped v4-badversion
dropped v6-badversion
mangled v4-badihl ihl3
mangled v4-longihl ihl15
wire v4-short-wire
wire v6-short-wire
refused v4-badihl-raw
refused v4-short-raw
refused v6-short-raw
# A later fragment matches a rule without ports (its protocol is known) ...
setw $SYS/rules "udp"
# shellcheck disable=SC2034 # read by name: snap and delta take namerefs
declare -A a
snap "$A" a
ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" v6-later-frag fd00:1::2 fd00:1::1 $N >/dev/null
sleep 0.3
check_eq "later IPv6 fragment: a port-less udp rule matches it" $N "$(delta "$A" a untracked)"
check_eq "later IPv6 fragment: not unparsed then" 0 "$(delta "$A" a unparsed)"
snap "$A" a
ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" v4-zero-frag 10.0.1.2 10.0.1.1 $N >/dev/null
sleep 0.3
check_eq "later IPv4 fragment: a port-less udp rule matches it" $N "$(delta "$A" a untracked)"
# ... and never a rule of another protocol.
setw $SYS/rules "tcp"
snap "$A" a
ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" v6-later-frag fd00:1::2 fd00:1::1 $N >/dev/null
sleep 0.3
check_eq "later IPv6 UDP fragment: a tcp rule does not match" 0 "$(delta "$A" a untracked)"
setw $SYS/rules "udp dport 5555"
snap "$A" a
ip netns exec "$A" $TRAFFIC send udp fd00:1::2 5555 -n 1
sleep 0.3
check_eq "a normal flow still matches afterwards (untracked_ipv6 +1)" 1 "$(delta "$A" a untracked_ipv6)"
done_testing
