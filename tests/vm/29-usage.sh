#!/bin/bash
# What the README's usage section says about NAT and stateful firewalls,
# shown with real traffic: untracked packets are not NATed, and a firewall
# that accepts only established and explicitly new traffic drops them until
# it accepts `ct state untracked`. Every "no answer" shows why (timeout or
# refused, from talk --why) and where the packet went (an nft counter that
# rose by exactly the packets sent), so a broken setup cannot pass for it.
. "$(dirname "$0")/lib.sh"
plan 22
load || { not_ok "insmod"; done_testing; exit; }
pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53

# why NS ADDR PORT: one message from NS, its fate on one line:
# "echoed E of 1, failed timeout T refused R other O".
why() { talk "$1" udp "$2" "$3" -n 1 --timeout 1 --why | paste -sd, | sed 's/,/, /'; }
# npkts NS FAMILY TABLE COUNTER: packets of a named nft counter, or
# "nft-failed(...)" (so no count check can pass on it).
npkts() {
	local n
	n=$(ip netns exec "$1" nft list counter "$2" "$3" "$4" 2>&1 | awk '$1 == "packets" { print $2 }')
	case $n in '' | *[!0-9]*) echo "nft-failed($3 $4)";; *) echo "$n";; esac
}
# since BEFORE NOW: NOW - BEFORE, or both when either is not a number.
since() { case "$1$2" in '' | *[!0-9]*) echo "$1 $2";; *) echo $(($2 - $1));; esac; }
TIMEOUT="echoed 0 of 1, failed timeout 1 refused 0 other 0"
REFUSED="echoed 0 of 1, failed timeout 0 refused 1 other 0"

# A stateful input policy in B: established/related, new DNS, nothing else.
# What it drops of DNS is counted.
ip netns exec "$B" nft -f - <<'NFT'
table inet fw {
	counter dns_dropped { }
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		ct state new udp dport 53 accept
		udp dport 53 counter name dns_dropped drop
	}
}
NFT
check "firewall, no ctskip rule: DNS answered (new, then established)" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and tracked" 1 "$(ct_count "$B" -p udp --dport 53)"
ct_flush "$B"; ct_flush "$A"
check_eq "ctskip: udp dport 53" OK "$(sysw $SYS/rules 'udp dport 53')"
d0=$(npkts "$B" inet fw dns_dropped); u0=$(ctstat "$B" untracked_prerouting)
check_eq "firewall without 'ct state untracked accept': untracked DNS gets no answer (timeout)" "$TIMEOUT" "$(why "$A" 10.0.1.2 53)"
check_eq "  B's hook untracked it (untracked_prerouting +1)" 1 "$(since "$u0" "$(ctstat "$B" untracked_prerouting)")"
check_eq "  and the firewall's DNS drop rule dropped it (+1)" 1 "$(since "$d0" "$(npkts "$B" inet fw dns_dropped)")"
ip netns exec "$B" nft insert rule inet fw input ct state untracked accept
d0=$(npkts "$B" inet fw dns_dropped)
check "with 'ct state untracked accept': answered" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and not tracked" 0 "$(ct_count "$B" -p udp --dport 53)"
check_eq "  and nothing dropped (+0)" 0 "$(since "$d0" "$(npkts "$B" inet fw dns_dropped)")"
ip netns exec "$B" nft delete table inet fw
check_eq "ctskip: no rules" OK "$(sysw $SYS/rules '\n')"

# DNAT in B: port 5353 is redirected to the server on 53. Counters on what
# reaches B's input on 5353 untracked (not NATed), and on answers from port
# 53 that reach A untracked (not translated back).
ip netns exec "$B" nft -f - <<'NFT'
table ip nat {
	chain prerouting {
		type nat hook prerouting priority -100;
		udp dport 5353 dnat to 10.0.1.2:53
	}
}
table ip probe {
	counter untracked_5353 { }
	chain input {
		type filter hook input priority 0;
		ct state untracked udp dport 5353 counter name untracked_5353
	}
}
NFT
ip netns exec "$A" nft -f - <<'NFT'
table ip probe {
	counter untracked_from_53 { }
	chain input {
		type filter hook input priority 0;
		ct state untracked ip saddr 10.0.1.2 udp sport 53 counter name untracked_from_53
	}
}
NFT
check "DNAT, no ctskip rule for it: answered through the NAT" talk "$A" udp 10.0.1.2 5353 -n 2
check_eq "  conntrack holds the NATed flow" 1 "$(ct_count "$B" -p udp --orig-port-dst 5353)"
ct_flush "$B"; ct_flush "$A"
check_eq "ctskip: udp dport 5353" OK "$(sysw $SYS/rules 'udp dport 5353')"
p0=$(npkts "$B" ip probe untracked_5353)
check_eq "untracked packets are not NATed: refused (nothing listens on 5353 itself)" "$REFUSED" "$(why "$A" 10.0.1.2 5353)"
check_eq "  B's input got it untracked on port 5353, not NATed (+1)" 1 "$(since "$p0" "$(npkts "$B" ip probe untracked_5353)")"
check_eq "  and no conntrack entry" 0 "$(ct_count "$B" -p udp --orig-port-dst 5353)"
# A rule on the translated port catches the answers (source port 53) in
# reverse: they are not translated back either.
check_eq "ctskip: udp dport 53 (the port behind the NAT)" OK "$(sysw $SYS/rules 'udp dport 53')"
p0=$(npkts "$B" ip probe untracked_5353); r0=$(npkts "$A" ip probe untracked_from_53)
check_eq "answers untracked in reverse are not translated back: no answer on 5353 (timeout)" "$TIMEOUT" "$(why "$A" 10.0.1.2 5353)"
check_eq "  the request was tracked and NATed (B's untracked-5353 counter +0)" 0 "$(since "$p0" "$(npkts "$B" ip probe untracked_5353)")"
check_eq "  the answer reached A untracked from port 53 (+1)" 1 "$(since "$r0" "$(npkts "$A" ip probe untracked_from_53)")"
check_eq "  B's conntrack holds the NATed request" 1 "$(ct_count "$B" -p udp --orig-port-dst 5353)"
check "rmmod" unload
done_testing
