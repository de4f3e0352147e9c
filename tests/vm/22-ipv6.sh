#!/bin/bash
# IPv6 extension headers are walked to find the transport header; a UDP
# datagram fragmented on the wire is matched.
. "$(dirname "$0")/lib.sh"

pair A B || { not_ok "topology"; done_testing; exit; }
load 'rules="udp dport 5353"' || { not_ok "insmod"; done_testing; exit; }
serve "$B" udp fd00:1::2 5353
serve "$B" udp 10.0.1.2 5353

check "with hop-by-hop and destination options: answered" talk "$A" udp fd00:1::2 5353 -n 3 --exthdr
check_eq "with extension headers: nothing tracked in A" 0 "$(ct_count "$A")"
check_eq "with extension headers: nothing tracked in B" 0 "$(ct_count "$B")"
check "with extension headers: B untracked them at prerouting" test "$(ctstat "$B" untracked_prerouting)" -ge 3

for addr in fd00:1::2 10.0.1.2; do
	ct_flush "$A"; ct_flush "$B"
	check "fragmented datagram to $addr answered" talk "$A" udp $addr 5353 -n 2 --size 4000
	check_eq "fragmented datagram to $addr: nothing tracked in A" 0 "$(ct_count "$A")"
	check_eq "fragmented datagram to $addr: nothing tracked in B" 0 "$(ct_count "$B")"
done
done_testing
