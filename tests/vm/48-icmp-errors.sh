#!/bin/bash
# ICMP errors about untracked flows are untracked too: behind a stateful
# firewall (`ct state invalid drop`) a skipped UDP flow still gets its port
# unreachable (ECONNREFUSED, not a timeout) over IPv4 and IPv6, and a
# skipped TCP flow its "fragmentation needed" / "packet too big", so path
# MTU discovery works. Errors about tracked flows stay `related`; crafted
# errors with a truncated, fragmented or ICMP-error payload are not matched.
. "$(dirname "$0")/lib.sh"
plan 32
pair A B || { not_ok "topology"; done_testing; exit; }
load 'rules="udp dport 5999"' || { not_ok "insmod"; done_testing; exit; }
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
# A's stateful input: counts related packets, drops invalid ones.
ip netns exec "$A" nft -f - <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority 0; policy accept;
		ct state related counter
		ct state invalid counter drop
	}
}
NFT
# fw_count NS STATE: packets counted by NS's `ct state STATE` rule.
fw_count() {
	ip netns exec "$1" nft list chain inet fw input |
		awk -v s="$2" '$0 ~ "ct state " s " " { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'
}
# why NS ADDR: one UDP message to the closed port 5999; "timeout T refused R other O".
why() { ip netns exec "$1" $TRAFFIC talk udp "$2" 5999 -n 1 --timeout 2 --why | sed -n 's/^failed //p'; }
REFUSED="timeout 0 refused 1 other 0"

for addr in 10.0.1.2 fd00:1::2; do
	fam=IPv4; [ "${addr#*:}" != "$addr" ] && fam=IPv6
	declare -A a b
	snap "$A" a; snap "$B" b
	inv=$(fw_count "$A" invalid)
	check_eq "$fam port unreachable through 'ct state invalid drop': refused, not a timeout" "$REFUSED" "$(why "$A" $addr)"
	check_eq "  B untracked the error at LOCAL_OUT" 1 "$(delta "$B" b untracked_icmp_errors)"
	check_eq "  A untracked it at PRE_ROUTING" 1 "$(delta "$A" a untracked_icmp_errors)"
	check_eq "  A's firewall dropped nothing as invalid" "$inv" "$(fw_count "$A" invalid)"
done

# oneway rules: the error is classified as the packet it is about.
setw $SYS/rules 'udp dport 5999 oneway'
snap "$A" a
check_eq "udp dport 5999 oneway: refused" "$REFUSED" "$(why "$A" 10.0.1.2)"
check_eq "  the error untracked in A (it is about A -> B dport 5999)" 1 "$(delta "$A" a untracked_icmp_errors)"
setw $SYS/rules 'udp sport 5999 oneway'
ct_flush "$A"
snap "$A" a
check_eq "udp sport 5999 oneway (matches only the other way): refused" "$REFUSED" "$(why "$A" 10.0.1.2)"
check_eq "  the error not untracked" 0 "$(delta "$A" a untracked_icmp_errors)"
check_eq "  A tracks the flow" 1 "$(ct_count "$A" -p udp --dport 5999)"

# A tracked flow: its error stays related.
setw $SYS/rules 'tcp dport 1'
snap "$A" a
rel=$(fw_count "$A" related)
check_eq "tracked flow: refused" "$REFUSED" "$(why "$A" 10.0.1.2)"
check_eq "  the error not untracked" 0 "$(delta "$A" a untracked_icmp_errors)"
check_eq "  the error is related in A's firewall" $((rel + 1)) "$(fw_count "$A" related)"

# Crafted errors from B to A (raw sockets), about a packet A -> B.
setw $SYS/rules 'udp dport 5999; ip daddr 10.0.1.2 oneway; ip6 daddr fd00:1::2 oneway'
for dst in 10.0.1.1 fd00:1::1; do
	src=10.0.1.2; fam=IPv4
	[ "${dst#*:}" != "$dst" ] && src=fd00:1::2 fam=IPv6
	for kw in udp:3 truncated:0 fragment:0 echo:3 error:0; do
		kind=${kw%%:*} want=${kw#*:}
		snap "$A" a
		ip netns exec "$B" python3 "$TESTS_DIR/icmperr.py" "$kind" "$dst" "$src" 3
		sleep 0.3
		check_eq "$fam crafted error about $kind: untracked_icmp_errors +$want in A" "$want" "$(delta "$A" a untracked_icmp_errors)"
	done
done

# Path MTU: A2 -- R1 -- R2 -- B2, the R1-R2 link at MTU 1280 (the ends
# have 1500, so their TCP MSS does not avoid it). A TCP transfer from A2
# with `tcp dport 8080` skipped completes: R1's "fragmentation needed" /
# "packet too big" reach A2 through its `ct state invalid drop`.
setw $SYS/rules 'tcp dport 8080'
new_netns A2; new_netns R1; new_netns R2; new_netns B2
ip link add a0 netns "$A2" type veth peer name r0 netns "$R1"
ip link add r1 netns "$R1" mtu 1280 type veth peer name s1 netns "$R2" mtu 1280
ip link add s0 netns "$R2" type veth peer name b0 netns "$B2"
ip -n "$A2" addr add 10.0.2.1/24 dev a0; ip -n "$A2" addr add fd00:2::1/64 dev a0 nodad
ip -n "$R1" addr add 10.0.2.254/24 dev r0; ip -n "$R1" addr add fd00:2::fe/64 dev r0 nodad
ip -n "$R1" addr add 10.0.4.1/24 dev r1; ip -n "$R1" addr add fd00:4::1/64 dev r1 nodad
ip -n "$R2" addr add 10.0.4.2/24 dev s1; ip -n "$R2" addr add fd00:4::2/64 dev s1 nodad
ip -n "$R2" addr add 10.0.3.254/24 dev s0; ip -n "$R2" addr add fd00:3::fe/64 dev s0 nodad
ip -n "$B2" addr add 10.0.3.1/24 dev b0; ip -n "$B2" addr add fd00:3::1/64 dev b0 nodad
for l in "$A2:a0" "$R1:r0" "$R1:r1" "$R2:s1" "$R2:s0" "$B2:b0"; do ip -n "${l%%:*}" link set "${l#*:}" up; done
ip -n "$A2" route add default via 10.0.2.254; ip -n "$A2" -6 route add default via fd00:2::fe
ip -n "$R1" route add 10.0.3.0/24 via 10.0.4.2; ip -n "$R1" -6 route add fd00:3::/64 via fd00:4::2
ip -n "$R2" route add 10.0.2.0/24 via 10.0.4.1; ip -n "$R2" -6 route add fd00:2::/64 via fd00:4::1
ip -n "$B2" route add default via 10.0.3.254; ip -n "$B2" -6 route add default via fd00:3::fe
for ns in "$R1" "$R2"; do
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
done
ct_active "$A2"; ct_active "$R1"; ct_active "$R2"; ct_active "$B2"
ip netns exec "$A2" nft -f - <<'NFT'
table inet fw {
	chain input {
		type filter hook input priority 0; policy accept;
		ct state invalid counter drop
	}
}
NFT
serve "$B2" tcp 10.0.3.1 8080
serve "$B2" tcp fd00:3::1 8080
for addr in 10.0.3.1 fd00:3::1; do
	fam=IPv4; [ "${addr#*:}" != "$addr" ] && fam=IPv6
	# shellcheck disable=SC2034 # filled and read by snap/delta
	declare -A a2 r
	snap "$A2" a2; snap "$R1" r
	check "$fam: a 20,000-byte TCP exchange over the 1280-byte link completes" \
		talk "$A2" tcp $addr 8080 -n 3 --size 20000 --timeout 10
	check "  R1 untracked its errors (fragmentation needed / packet too big)" test "$(delta "$R1" r untracked_icmp_errors)" -ge 1
	check "  A2 untracked them on the way in" test "$(delta "$A2" a2 untracked_icmp_errors)" -ge 1
done
done_testing
