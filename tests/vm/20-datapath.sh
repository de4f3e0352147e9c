#!/bin/bash
# Matched flows skip conntrack in both directions and both netns; unmatched
# flows are tracked; oneway matches one direction only.
. "$(dirname "$0")/lib.sh"
plan 32

pair A B || { not_ok "topology"; done_testing; exit; }
load 'rules="udp dport 5353; tcp dport 8080"' || { not_ok "insmod"; done_testing; exit; }

serve "$B" udp 0.0.0.0 5353
serve "$B" udp :: 5353
serve "$B" tcp 0.0.0.0 8080
serve "$B" tcp :: 8080
serve "$B" udp 0.0.0.0 5354
serve "$B" tcp :: 8081

for proto in udp tcp; do
	port=$([ $proto = udp ] && echo 5353 || echo 8080)
	for addr in 10.0.1.2 fd00:1::2; do
		off=$(tracked_off "$A" "$B" talk "$A" $proto $addr $port -n 5)
		check "$proto $addr: with ctskip off the same flow is tracked in A and B (positive control: $off)" both_tracked "$off"
		if talk "$A" $proto $addr $port -n 5 >/dev/null; then
			ok "$proto to $addr:$port answered"
		else
			not_ok "$proto to $addr:$port answered"
		fi
		check_eq "$proto $addr: no conntrack entry in the client netns" 0 "$(ct_count "$A" -p $proto)"
		check_eq "$proto $addr: no conntrack entry in the server netns" 0 "$(ct_count "$B" -p $proto)"
	done
done

# Unmatched flows are tracked as usual.
ct_flush "$A"; ct_flush "$B"
check "unmatched udp answered" talk "$A" udp 10.0.1.2 5354 -n 3
check "unmatched tcp answered" talk "$A" tcp fd00:1::2 8081 -n 3
check_eq "unmatched udp tracked in client" 1 "$(ct_count "$A" -p udp --dport 5354)"
check_eq "unmatched udp tracked in server" 1 "$(ct_count "$B" -p udp --dport 5354)"
check_eq "unmatched tcp tracked in client" 1 "$(ct_count "$A" -f ipv6 -p tcp --dport 8081)"
check_eq "unmatched tcp tracked in server" 1 "$(ct_count "$B" -f ipv6 -p tcp --dport 8081)"

# Counters: B saw untracked packets at PRE_ROUTING, A at LOCAL_OUT.
check "server netns counted untracked prerouting packets" test "$(ctstat "$B" untracked_prerouting)" -gt 0
check "client netns counted untracked output packets" test "$(ctstat "$A" untracked_output)" -gt 0

# oneway: only the written direction is untracked. Requests A->B (dport
# 5354) match; B's replies (sport 5354) do not, so B's LOCAL_OUT and A's
# PRE_ROUTING see unmatched reply packets: A tracks nothing for the request
# direction it sent untracked... but the reply creates an entry there.
echo "ip udp daddr 10.0.1.2 dport 5354 oneway" > $SYS/rules || not_ok "setting up: the write to rules failed"
ct_flush "$A"; ct_flush "$B"
check "oneway flow answered" talk "$A" udp 10.0.1.2 5354 -n 1
check_eq "oneway: B got the request untracked, but its reply is tracked" 1 "$(ct_count "$B" -p udp --sport 5354)"
check_eq "oneway: A sent the request untracked, the reply is tracked" 1 "$(ct_count "$A" -p udp --sport 5354)"
check_eq "oneway: no entry for the request direction in B" 0 "$(ct_count "$B" -p udp --dport 5354)"
check_eq "oneway: no entry for the request direction in A" 0 "$(ct_count "$A" -p udp --dport 5354)"

# The same rule without oneway skips both directions.
echo "ip udp daddr 10.0.1.2 dport 5354" > $SYS/rules || not_ok "setting up: the write to rules failed"
ct_flush "$A"; ct_flush "$B"
check "two-way flow answered" talk "$A" udp 10.0.1.2 5354 -n 1
check_eq "two-way: nothing tracked in A" 0 "$(ct_count "$A" -p udp)"
check_eq "two-way: nothing tracked in B" 0 "$(ct_count "$B" -p udp)"

done_testing
