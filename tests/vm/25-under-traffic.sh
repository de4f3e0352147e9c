#!/bin/bash
# rules/add/del while traffic flows, and rmmod/insmod under traffic: the
# flows keep going (each reports what it sent and got back), matched flows
# stay untracked and an unmatched flow run at the same time stays tracked.
#
# Conntrack is sampled during the writes: both tables are flushed, five
# writes go by, then the entries are counted while the traffic still flows.
# An entry lives for an hour here, so a sample holds every flow that was
# tracked at any moment since its flush: matched flows must have none, and
# the unmatched flow (the positive control) at least one.
. "$(dirname "$0")/lib.sh"
plan 20

pair A B || { not_ok "topology"; done_testing; exit; }
# A sample holds every flow tracked since its flush only while entries
# outlive the time between them (5 writes: up to a minute on a loaded
# debug guest), so UDP entries last an hour here.
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 net.netfilter.nf_conntrack_udp_timeout_stream=3600
done
load 'rules="udp dport 5353; tcp dport 8080"' || { not_ok "insmod"; done_testing; exit; }
serve "$B" udp 10.0.1.2 5353
serve "$B" udp fd00:1::2 5353
serve "$B" tcp 10.0.1.2 8080
serve "$B" udp 10.0.1.2 6000

# Matched flows (udp over IPv4 and IPv6, tcp), then the unmatched one.
FLOWS=("udp 10.0.1.2 5353" "udp fd00:1::2 5353" "tcp 10.0.1.2 8080" "udp 10.0.1.2 6000")
FLOOD_PIDS=()
# floods PHASE: one flood per flow from A, until stop_floods PHASE. Paced
# at 50 messages a second each: unpaced (or at 200 each), four floods starve a
# debug guest (the writes then take minutes); loss is what is measured.
# (At 50 each, a packet crosses a hook every few milliseconds: every rules
# swap, a pointer published under RCU, still has packets on both sides.)
# They end at the stop file (1800 s at most: a loaded debug guest takes
# up to 20 minutes for 20 writes beside other VMs).
floods() {
	local i
	FLOOD_PIDS=()
	for i in "${!FLOWS[@]}"; do
		# shellcheck disable=SC2086 # a flow is "PROTO ADDR PORT"
		ip netns exec "$A" $TRAFFIC flood ${FLOWS[i]} --seconds 1800 --rate 50 \
			--stop-file "/tmp/stop-$1-$$" > "/tmp/flood-$1-$i-$$" &
		FLOOD_PIDS+=($!)
	done
}
stop_floods() { touch "/tmp/stop-$1-$$"; wait "${FLOOD_PIDS[@]}"; }
# lossok SENT ECHOED: at least one answer, at most 1% of the messages lost.
lossok() {
	[[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]] && [ "$2" -gt 0 ] && [ $(($1 - $2)) -le $(($1 / 100)) ]
}
# flood_checks PHASE: each flow's report ("sent N echoed M") against lossok.
flood_checks() {
	local i sent='' echoed=''
	for i in "${!FLOWS[@]}"; do
		sent='' echoed=''
		read -r _ sent _ echoed < "/tmp/flood-$1-$i-$$"
		check "$1: ${FLOWS[i]} answered, at most 1% lost (sent $sent, echoed $echoed)" lossok "$sent" "$echoed"
	done
}
# matched NS: entries of the matched flows, "udp-IPv4/udp-IPv6/tcp".
matched() {
	echo "$(ct_count "$1" -f ipv4 -p udp --dport 5353)/$(ct_count "$1" -f ipv6 -p udp --dport 5353)/$(ct_count "$1" -f ipv4 -p tcp --dport 8080)"
}
# control NS: "tracked" when the unmatched flow has an entry, else the
# count and what else NS shows (all its entries, ctskip's counters, the
# rules then).
control() {
	local n
	n=$(ct_count "$1" -f ipv4 -p udp --dport 6000)
	if [ "$n" -ge 1 ] 2>/dev/null; then echo tracked; return; fi
	echo "$n(all:$(ct_count "$1"),seen:$(ctstat "$1" seen),untracked:$(ctstat "$1" untracked),rules:$(paste -sd, $SYS/rules | tr ' ' _))"
}

# after_flush NS SEEN: waits (60 s at most) until ctskip has seen 40
# packets in NS since its counter read SEEN at a flush: then a sample
# spans traffic, whatever the writes took (four writes can pass in a
# fraction of a second while a loaded guest runs no flood: every flow then
# shows nothing, the control's included). The four flows run at one pace,
# so the unmatched one is among them but for a chance of 0.75^40.
after_flush() {
	local _
	for _ in $(seq 600); do
		[ "$(ctstat "$1" seen)" -ge $(($2 + 40)) ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
floods writes
sleep 1
fails=0 inB='' inA='' ctl='' ctlA='' seen0=0
for i in $(seq 1 20); do
	[ $((i % 5)) = 1 ] && { ct_flush "$A"; ct_flush "$B"; seen0=$(ctstat "$B" seen); }
	case $((i % 4)) in
	0) r=$(sysw $SYS/rules 'udp dport 5353; tcp dport 8080; udp dport %d' $((10000 + i)));;
	1) r=$(sysw $SYS/add 'gre; tcp dport %d' $((20000 + i)));;
	2) r=$(sysw $SYS/del 'gre');;
	3) r=$(sysw $SYS/rules 'tcp dport 8080\nudp dport 5353');;
	esac
	[ "$r" = OK ] || fails=$((fails + 1))
	sleep 0.05
	if [ $((i % 5)) = 0 ]; then
		after_flush "$B" "$seen0" || fails=$((fails + 1))
		inB+=" $(matched "$B")" inA+=" $(matched "$A")" ctl+=" $(control "$B")" ctlA+=" $(control "$A")"
	fi
done
stop_floods writes
check_eq "20 writes while traffic flows (and traffic in B before each sample)" 0 $fails
check_eq "matched flows (udp IPv4/udp IPv6/tcp): no entry in B in 4 samples during the writes" \
	" 0/0/0 0/0/0 0/0/0 0/0/0" "$inB"
check_eq "matched flows: no entry in A in the same samples" " 0/0/0 0/0/0 0/0/0 0/0/0" "$inA"
check_eq "the unmatched flow, at the same time: tracked in B in every sample" \
	" tracked tracked tracked tracked" "$ctl"
check_eq "  and in A" " tracked tracked tracked tracked" "$ctlA"
flood_checks writes

# rmmod and insmod while the flows go on.
floods rmmod
sleep 1
check "rmmod under traffic" unload
# Flows of their own (fixed source ports): the floods make others to the
# same port.
check "traffic flows after rmmod" talk "$A" udp 10.0.1.2 5353 -n 5 --sport 33333
check_eq "after rmmod the flow is tracked again" 1 "$(ct_count "$B" -p udp --sport 33333 --dport 5353)"
check "insmod under traffic" load 'rules="udp dport 5353"'
check "after insmod a new matched flow is answered" talk "$A" udp 10.0.1.2 5353 -n 5 --sport 33334
check_eq "  and not tracked" 0 "$(ct_count "$B" -p udp --sport 33334 --dport 5353)"
sleep 1
check "rmmod under traffic again" unload
sleep 1
stop_floods rmmod
flood_checks rmmod
rm -f /tmp/stop-*-$$ /tmp/flood-*-$$
done_testing
