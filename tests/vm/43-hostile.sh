#!/bin/bash
# Hostile packets from raw sockets: truncated headers, bad IHL, zero-length
# and overlapping fragments, long and truncated IPv6 extension header chains.
# Never a crash (the VM runner checks the kernel log), never a mismatch, and
# `unparsed` counts exactly what it should. The netns have no conntrack, so
# no defragmentation hides anything from the hook.
. "$(dirname "$0")/lib.sh"
plan 57

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

N=5
BMAC=$(ip -n "$B" -o link show b0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
run() { # run KIND RULES: send KIND, compare both netns's counters
	local kind=$1 dst src
	case $kind in v4*) dst=10.0.1.2 src=10.0.1.1;; *) dst=fd00:1::2 src=fd00:1::1;; esac
	sysw $SYS/rules "$2" >/dev/null
	declare -A a b
	snap "$A" a; snap "$B" b
	read -r _ want_u _ want_p _ _wire < <(ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" $kind $dst $src $N a0 $BMAC)
	sleep 0.3
	check_eq "$kind: sender untracked +$want_u" "$want_u" "$(delta "$A" a untracked)"
	check_eq "$kind: sender unparsed +$want_p" "$want_p" "$(delta "$A" a unparsed)"
	check_eq "$kind: receiver untracked +$want_u" "$want_u" "$(delta "$B" b untracked)"
	check_eq "$kind: receiver unparsed +$want_p" "$want_p" "$(delta "$B" b unparsed)"
}
for kind in v4-badihl-wire v4-short-wire v4-options v4-truncated-udp v4-zero-frag v4-overlap-frags \
	    v4-first-frag v6-long-chain v6-overlong-chain v6-truncated-chain v6-later-frag v6-zero-payload v6-first-frag; do
	run $kind "udp dport 5555"
done
# A later fragment matches a rule without ports (its protocol is known) ...
sysw $SYS/rules "udp" >/dev/null
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
sysw $SYS/rules "tcp" >/dev/null
snap "$A" a
ip netns exec "$A" python3 "$TESTS_DIR/hostile.py" v6-later-frag fd00:1::2 fd00:1::1 $N >/dev/null
sleep 0.3
check_eq "later IPv6 UDP fragment: a tcp rule does not match" 0 "$(delta "$A" a untracked)"
sysw $SYS/rules "udp dport 5555" >/dev/null
check "a normal flow still matches afterwards" sh -c "ip netns exec $A $TRAFFIC send udp fd00:1::2 5555 -n 1 && [ \$(ip netns exec $A awk '\$1==\"untracked_ipv6\"{print \$2}' /proc/net/ctskip) -ge 1 ]"
done_testing
