#!/bin/bash
# /proc/net/ctskip: exact per-netns figures; /sys/kernel/ctskip/hits.
. "$(dirname "$0")/lib.sh"
plan 68

pair A B || { not_ok "topology"; done_testing; exit; }
no_icmp_errors "$A"; no_icmp_errors "$B"
new_netns C
load 'rules="udp dport 5555; tcp dport 9; udp dport 5557"' || { not_ok "insmod"; done_testing; exit; }
N=10 SIZE=100
names="seen untracked untracked_bytes untracked_ipv4 untracked_ipv6 untracked_prerouting untracked_output already_tracked unparsed untracked_icmp_errors"

# Exactly N matched datagrams A -> B, IPv4 then IPv6.
for fam in 4 6; do
	[ $fam = 4 ] && addr=10.0.1.2 hdr=28 || addr=fd00:1::2 hdr=48
	# shellcheck disable=SC2034 # read by name: snap and delta take namerefs
	declare -A a b c
	snap "$A" a; snap "$B" b; snap "$C" c
	ip netns exec "$A" $TRAFFIC send udp $addr 5555 -n $N --size $SIZE
	sleep 0.5
	check_eq "IPv$fam: B untracked_prerouting +$N" $N "$(delta "$B" b untracked_prerouting)"
	check_eq "IPv$fam: B untracked_ipv$fam +$N" $N "$(delta "$B" b untracked_ipv$fam)"
	check_eq "IPv$fam: B untracked +$N" $N "$(delta "$B" b untracked)"
	check_eq "IPv$fam: B untracked_bytes +N*(headers+payload)" $((N * (hdr + SIZE))) "$(delta "$B" b untracked_bytes)"
	check_eq "IPv$fam: B untracked_output unchanged" 0 "$(delta "$B" b untracked_output)"
	check_eq "IPv$fam: A untracked_output +$N" $N "$(delta "$A" a untracked_output)"
	check_eq "IPv$fam: A untracked_ipv$fam +$N" $N "$(delta "$A" a untracked_ipv$fam)"
	check_eq "IPv$fam: A untracked_bytes +N*(headers+payload)" $((N * (hdr + SIZE))) "$(delta "$A" a untracked_bytes)"
	check_eq "IPv$fam: A untracked_prerouting unchanged" 0 "$(delta "$A" a untracked_prerouting)"
	check "IPv$fam: seen grew at least as much as untracked in B" test "$(delta "$B" b seen)" -ge $N
	changed=0
	for k in $names; do [ "$(delta "$C" c $k)" = 0 ] || changed=1; done
	check_eq "IPv$fam: a third netns sees no change" 0 $changed
	ident=$(ip netns exec "$A" cat /proc/net/ctskip)
	check "IPv$fam: each netns reads its own figures" test "$ident" != "$(ip netns exec "$B" cat /proc/net/ctskip)"
done

# Unmatched traffic moves seen, not untracked.
snap "$B" b
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5556 -n $N
sleep 0.5
check "unmatched: seen grew" test "$(delta "$B" b seen)" -ge $N
check_eq "unmatched: untracked unchanged" 0 "$(delta "$B" b untracked)"

# A raw-table NOTRACK rule marks packets first: already_tracked.
ip netns exec "$B" iptables -t raw -A PREROUTING -p udp --dport 5557 -j CT --notrack
snap "$B" b
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5557 -n $N
sleep 0.5
check_eq "raw NOTRACK first: already_tracked +$N" $N "$(delta "$B" b already_tracked)"
check_eq "raw NOTRACK first: untracked unchanged" 0 "$(delta "$B" b untracked)"

# Packets a port rule cannot classify: unparsed.
snap "$A" a; snap "$B" b
ip netns exec "$A" $TRAFFIC craft truncated 10.0.1.2 5555 -n 7
sleep 0.5
check_eq "truncated UDP header: unparsed +7 at LOCAL_OUT" 7 "$(delta "$A" a unparsed)"
check_eq "truncated UDP header: unparsed +7 at PRE_ROUTING" 7 "$(delta "$B" b unparsed)"
check_eq "truncated UDP header: not untracked" 0 "$(delta "$B" b untracked)"
snap "$A" a
ip netns exec "$A" $TRAFFIC craft fragment 10.0.1.2 5555 -n 5
sleep 0.5
check_eq "non-first fragment: unparsed +5" 5 "$(delta "$A" a unparsed)"

# hits: the matching rule grows, the others do not.
read -r p0 b0 < <(hits "udp dport 5555")
read -r q0 _ < <(hits "tcp dport 9")
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5555 -n $N --size $SIZE
sleep 0.5
read -r p1 b1 < <(hits "udp dport 5555")
read -r q1 _ < <(hits "tcp dport 9")
# Counted at A's LOCAL_OUT and B's PRE_ROUTING: twice per datagram.
check_eq "hits: matching rule +2N packets" $((2 * N)) $((p1 - p0))
check_eq "hits: matching rule bytes" $((2 * N * (28 + SIZE))) $((b1 - b0))
check_eq "hits: other rule unchanged" 0 $((q1 - q0))
check_eq "hits: format PACKETS BYTES RULE" 3 "$(wc -l < $SYS/hits)"
# A replace that keeps the rule keeps its counts, however the text is
# written: bash's printf and dd bs=1 write it in pieces, so the rule
# (on a later line) leaves the published set for a moment and comes back.
kept() {
	if [ "$1" = "dd bs=1" ]; then
		printf "$2" | dd of=$SYS/rules bs=1 status=none 2>/dev/null || not_ok "setting up: dd bs=1 to rules"
	else
		CTSKIP_SYSW=$1 setw $SYS/rules "$2"
	fi
	read -r p2 b2 < <(hits "udp dport 5555")
	check_eq "hits: kept across a replace written by $1 (the rule on a later line)" "$p1 $b1" "$p2 $b2"
}
kept printf 'gre\ntcp dport 9\nudp dport 5555'
kept "dd bs=1" 'tcp dport 9\nudp dport 5555\ngre'
kept cat 'gre\ntcp dport 9\nudp dport 5555'
kept tee 'tcp dport 9\nudp dport 5555\ngre'
check_eq "hits: in the order of rules" "tcp dport 9|udp dport 5555|gre" "$(cut -d' ' -f3- $SYS/hits | paste -sd'|')"
setw $SYS/add 'udp dport 5557'
setw $SYS/del 'gre'
read -r p3 _ < <(hits "udp dport 5555")
check_eq "hits: kept across add and del" "$p1" "$p3"
# hits stay exact while the set changes under traffic: a kept rule's counts
# are shared by the set being replaced and its successor, so no packet is
# lost or counted twice across a change. The control: the netns counters,
# which do not depend on the set, count the same packets.
M=20000
snap "$A" a; snap "$B" b
read -r p4 _ < <(hits "udp dport 5555")
# A second operator adds and removes another rule in a loop, from before
# the first datagram to after the last; its progress file says how many
# changes fell within the sending.
stop=$(mktemp -u) progress=$(mktemp)
echo "0 0" > "$progress"
(
	n=0 failed=0
	while [ ! -e "$stop" ] && [ $n -lt 20000 ]; do
		printf 'tcp dport %d\n' $((10000 + n % 50000)) > $SYS/add || failed=$((failed + 1))
		printf 'tcp dport %d\n' $((10000 + n % 50000)) > $SYS/del || failed=$((failed + 1))
		n=$((n + 1))
		echo "$n $failed" > "$progress.new" && mv "$progress.new" "$progress"
	done
) &
changer=$!
sleep 0.5
read -r c0 _ < "$progress"
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5555 -n $M --size 10
rc=$?
read -r c1 _ < "$progress"
touch "$stop"
wait $changer
read -r _ failed < "$progress"
rm -f "$stop" "$progress"
sleep 0.5
read -r p5 _ < <(hits "udp dport 5555")
check_eq "under changes: the sender sent its $M datagrams" 0 $rc
check "under changes: $((c1 - c0)) add/del pairs ran while the datagrams were sent (at least 3)" test $((c1 - c0)) -ge 3
check_eq "under changes: every add and del accepted" 0 "$failed"
check_eq "under changes: A untracked_output +$M" $M "$(delta "$A" a untracked_output)"
check_eq "under changes: hits of the kept rule = packets untracked at A and B" \
	$(($(delta "$A" a untracked_output) + $(delta "$B" b untracked_prerouting))) $((p5 - p4))
setw $SYS/del 'udp dport 5555'
setw $SYS/add 'udp dport 5555'
check_eq "hits: a removed and re-added rule starts at zero" "0 0" "$(hits "udp dport 5555")"

# Overlapping rules: a packet's hit is counted for the earliest rule (in
# rules order) that matches it, and for no later one. Each datagram is
# counted twice (A's LOCAL_OUT, B's PRE_ROUTING).
pk() { hits "$1" | cut -d' ' -f1; }
udp_to() { ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 "$1" -n $N; sleep 0.5; }
printf 'udp dport 53\nudp\n' > $SYS/rules || not_ok "setting up: the write to rules failed"
check_eq "overlap: printf 'udp dport 53\\nudp\\n' > rules" "udp dport 53|udp" "$(cut -d' ' -f3- $SYS/hits | paste -sd'|')"
udp_to 53
check_eq "  UDP to 53: the first rule (udp dport 53) +2N" $((2 * N)) "$(pk "udp dport 53")"
check_eq "  UDP to 53: the later rule (udp) unchanged" 0 "$(pk udp)"
udp_to 5556
check_eq "  UDP to 5556: the later rule (udp) +2N" $((2 * N)) "$(pk udp)"
check_eq "  UDP to 5556: the first rule unchanged" $((2 * N)) "$(pk "udp dport 53")"
printf 'udp dport 6000-6010\nudp dport 6005-6020\n' > $SYS/rules || not_ok "setting up: the write to rules failed"
udp_to 6007
check_eq "overlapping ranges: UDP to 6007 (in both): the first range +2N" $((2 * N)) "$(pk "udp dport 6000-6010")"
check_eq "  the second range unchanged" 0 "$(pk "udp dport 6005-6020")"
udp_to 6015
check_eq "  UDP to 6015 (only in the second): the second range +2N" $((2 * N)) "$(pk "udp dport 6005-6020")"
check_eq "  the first range unchanged" $((2 * N)) "$(pk "udp dport 6000-6010")"
printf 'udp\nudp dport 53\n' > $SYS/rules || not_ok "setting up: the write to rules failed"
check_eq "the other order: printf 'udp\\nudp dport 53\\n' > rules" "udp|udp dport 53" "$(cut -d' ' -f3- $SYS/hits | paste -sd'|')"
udp_to 53
check_eq "  UDP to 53: the first rule (udp) +2N" $((2 * N)) "$(pk udp)"
check_eq "  the later rule (udp dport 53) unchanged" 0 "$(pk "udp dport 53")"

# Conntrack's own figures, per netns: B tracks the unmatched flows sent
# to it, C (no traffic) nothing. No rule matches UDP to 5556 here (the set
# above held `udp`).
# (B's table is emptied first: an older entry expiring between the two
# reads below would make them differ.)
printf 'udp dport 53\n' > $SYS/rules || not_ok "setting up: the write to rules failed"
ct_flush "$B"
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5556 -n 3 --sport 40556
sleep 0.3
cc=$(ip netns exec "$B" conntrack -C 2>&1)
check "B tracks entries (positive control: conntrack -C = $cc)" test "$cc" -ge 1
check_eq "conntrack_count is B's conntrack -C" "$cc" "$(ctstat "$B" conntrack_count)"
check_eq "  and C's is 0" 0 "$(ctstat "$C" conntrack_count)"
check_eq "conntrack_max is nf_conntrack_max" "$(cat /proc/sys/net/netfilter/nf_conntrack_max)" "$(ctstat "$B" conntrack_max)"

# The file goes with the module and comes back at zero.
check "rmmod" unload
check "procfs file gone after rmmod" test ! -e /proc/net/ctskip
check "insmod" load
zero=1
for k in $names; do [ "$(ctstat "$A" $k)" = 0 ] || zero=0; done
check_eq "back at zero after insmod" 1 $zero
done_testing
