#!/bin/bash
# What the README's usage section says about NAT and stateful firewalls,
# shown with real traffic: untracked packets are not NATed, and a firewall
# that accepts only established and explicitly new traffic drops them until
# it accepts `ct state untracked`.
. "$(dirname "$0")/lib.sh"
plan 14
load || { not_ok "insmod"; done_testing; exit; }
pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53

# A stateful input policy in B: established/related, new DNS, nothing else.
ip netns exec "$B" nft -f - <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		ct state new udp dport 53 accept
	}
}
NFT
check "firewall, no ctskip rule: DNS answered (new, then established)" talk "$A" udp 10.0.1.2 53 -n 2
ct_flush "$B"; ct_flush "$A"
check_eq "ctskip: udp dport 53" OK "$(sysw $SYS/rules 'udp dport 53')"
check "firewall without 'ct state untracked accept': untracked DNS is dropped" fails talk "$A" udp 10.0.1.2 53 -n 1 --timeout 1
ip netns exec "$B" nft insert rule inet fw input ct state untracked accept
check "with 'ct state untracked accept': answered" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and not tracked" 0 "$(ct_count "$B" -p udp --dport 53)"
ip netns exec "$B" nft delete table inet fw
check_eq "ctskip: no rules" OK "$(sysw $SYS/rules '\n')"

# DNAT in B: port 5353 is redirected to the server on 53.
ip netns exec "$B" nft -f - <<'NFT'
table ip nat {
	chain prerouting {
		type nat hook prerouting priority -100;
		udp dport 5353 dnat to 10.0.1.2:53
	}
}
NFT
check "DNAT, no ctskip rule for it: answered through the NAT" talk "$A" udp 10.0.1.2 5353 -n 2
check "  conntrack holds the NATed flow" test "$(ct_count "$B" -p udp --orig-port-dst 5353)" -ge 1
ct_flush "$B"; ct_flush "$A"
check_eq "ctskip: udp dport 5353" OK "$(sysw $SYS/rules 'udp dport 5353')"
check "untracked packets are not NATed: no answer" fails talk "$A" udp 10.0.1.2 5353 -n 1 --timeout 1
check_eq "  and no conntrack entry" 0 "$(ct_count "$B" -p udp --orig-port-dst 5353)"
# A rule on the translated port catches the answers (source port 53) in
# reverse: they are not translated back either.
check_eq "ctskip: udp dport 53 (the port behind the NAT)" OK "$(sysw $SYS/rules 'udp dport 53')"
check "answers untracked in reverse are not translated back: no answer" fails talk "$A" udp 10.0.1.2 5353 -n 1 --timeout 1
check "rmmod" unload
done_testing
