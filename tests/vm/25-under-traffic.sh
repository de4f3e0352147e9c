#!/bin/bash
# rules/add/del while traffic flows, and rmmod under traffic: the flows keep
# going, matched flows stay untracked, unmatched ones tracked.
. "$(dirname "$0")/lib.sh"
plan 12

pair A B || { not_ok "topology"; done_testing; exit; }
load 'rules="udp dport 5353; tcp dport 8080"' || { not_ok "insmod"; done_testing; exit; }
serve "$B" udp 10.0.1.2 5353
serve "$B" udp fd00:1::2 5353
serve "$B" tcp 10.0.1.2 8080
serve "$B" udp 10.0.1.2 6000

# Background traffic in both families until told to stop.
traffic() {
	while [ ! -e /tmp/stop-$$ ]; do
		ip netns exec "$A" $TRAFFIC talk udp 10.0.1.2 5353 -n 20 --timeout 1 >/dev/null
		ip netns exec "$A" $TRAFFIC talk udp fd00:1::2 5353 -n 20 --timeout 1 >/dev/null
		ip netns exec "$A" $TRAFFIC talk tcp 10.0.1.2 8080 -n 5 --timeout 1 >/dev/null
	done
}
traffic & tpid=$!
sleep 2

fails=0
for i in $(seq 1 40); do
	case $((i % 4)) in
	0) r=$(sysw $SYS/rules 'udp dport 5353; tcp dport 8080; udp dport %d' $((10000 + i)));;
	1) r=$(sysw $SYS/add 'gre; tcp dport %d' $((20000 + i)));;
	2) r=$(sysw $SYS/del 'gre');;
	3) r=$(sysw $SYS/rules 'tcp dport 8080\nudp dport 5353');;
	esac
	[ "$r" = OK ] || fails=$((fails + 1))
done
check_eq "40 writes while traffic flows" 0 $fails
check "matched udp still answered during writes" talk "$A" udp 10.0.1.2 5353 -n 5
ct_flush "$A"; ct_flush "$B"
check "matched udp answered after writes" talk "$A" udp fd00:1::2 5353 -n 5
check_eq "matched flows untracked after writes (B)" 0 "$(ct_count "$B" -p udp --dport 5353)"
check "unmatched udp answered" talk "$A" udp 10.0.1.2 6000 -n 1
check_eq "unmatched flow tracked" 1 "$(ct_count "$B" -p udp --dport 6000)"

# rmmod while the traffic loop runs.
check "rmmod under traffic" unload
# A flow of its own (fixed source port): the background loop keeps making
# others to the same port.
check "traffic flows after rmmod" talk "$A" udp 10.0.1.2 5353 -n 5 --sport 33333
check_eq "after rmmod the flow is tracked again" 1 "$(ct_count "$B" -p udp --sport 33333 --dport 5353)"
check "insmod under traffic" load 'rules="udp dport 5353"'
sleep 1
check "rmmod under traffic again" unload
touch /tmp/stop-$$
wait $tpid
check "traffic loop ended" true
done_testing
