#!/bin/bash
# ctskipctl suggest (README "Which traffic to skip"): a client netns A that
# reaches DNS through a DNATed Service VIP (10.96.0.10:53 -> 10.0.1.2:5353),
# memcached (TCP and UDP 11211) and VXLAN (UDP 4789) on B. The suggestions
# name memcached and VXLAN with their entries, and exclude the DNATed DNS,
# in A as a VIP and in B as its endpoint, saying why. Loaded as printed,
# they untrack memcached and VXLAN while DNS through the VIP still works
# (positive control: the same flows were tracked before).
. "$(dirname "$0")/lib.sh"
plan 12
[ -x "$CTL" ] || { not_ok "ctskipctl is built ($CTL)"; done_testing; exit; }
pair A B || { not_ok "topology"; done_testing; exit; }
load || { not_ok "insmod"; done_testing; exit; }
T=$(mktemp -d)
# Entries outlive the run (a debug guest takes longer than UDP's 30 s).
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 net.netfilter.nf_conntrack_udp_timeout_stream=3600
done

# The Service VIP: DNAT in A's output path (as kube-proxy's nft rules do).
ip -n "$A" route add 10.96.0.0/24 dev a0
ip netns exec "$A" nft -f - <<'NFT'
table ip svc {
	chain out { type nat hook output priority -100; ip daddr 10.96.0.10 udp dport 53 dnat to 10.0.1.2:5353; }
}
NFT
serve "$B" udp 10.0.1.2 5353
serve "$B" udp 10.0.1.2 11211
serve "$B" tcp 10.0.1.2 11211
serve "$B" udp 10.0.1.2 4789

traffic() {
	local i r=0
	for i in 1 2 3; do talk "$A" udp 10.96.0.10 53 -n 1 --sport $((30000 + i)) > /dev/null || r=1; done
	for i in 1 2 3 4 5; do
		talk "$A" udp 10.0.1.2 11211 -n 1 --sport $((31000 + i)) > /dev/null || r=1
		talk "$A" tcp 10.0.1.2 11211 -n 1 > /dev/null || r=1
	done
	for i in 1 2 3 4; do talk "$A" udp 10.0.1.2 4789 -n 1 --sport $((32000 + i)) > /dev/null || r=1; done
	return $r
}
check "DNS through the VIP, memcached and VXLAN answered" traffic
"$CTL" suggest > $T/out 2> $T/err
check_eq "suggest: status 0, nothing on stderr" "0 0" "$? $(wc -c < $T/err)"
sed 's/^/# /' $T/out
# grouprule RULE: the comment after RULE's line, or "absent".
grouprule() { awk -v r="$1" '{ s = $0; sub(/ *#.*/, "", s) } s == r { sub(/^[^#]*# /, ""); print; f = 1 } END { if (!f) print "absent" }' $T/out; }
check_eq "memcached over UDP suggested, with its entries in A and B" "10 entries in 2 netns" "$(grouprule "ip udp daddr 10.0.1.0/24 dport 11211")"
check_eq "memcached over TCP suggested" "10 entries in 2 netns" "$(grouprule "ip tcp daddr 10.0.1.0/24 dport 11211")"
check_eq "VXLAN suggested" "8 entries in 2 netns" "$(grouprule "ip udp daddr 10.0.1.0/24 dport 4789")"
check "the DNATed DNS (the VIP, in A) is not suggested, and says why" \
	grep -q '^# not suggested: ip udp daddr 10.96.0.0/24 dport 53 (3 entries in 1 netns, 3 of them): DNATed: a Service VIP, do not skip' $T/out
check "  nor its endpoint (in B), and says why" \
	grep -q '^# not suggested: ip udp daddr 10.0.1.0/24 dport 5353 (3 entries in 1 netns, 3 of them): the endpoint of DNATed traffic (10.96.0.10 port 53 -> 10.0.1.2 port 5353)' $T/out
check_eq "nothing else suggested" 3 "$(grep -vc '^#' $T/out)"
check_eq "ctskipctl check accepts the output" "$T/out: 3 rules, OK" "$("$CTL" check $T/out 2>&1)"
check_eq "ctskipctl load accepts it" "loaded 3 rules" "$("$CTL" load $T/out 2>&1)"
ct_flush "$A"; ct_flush "$B"
check "with the suggestions loaded: DNS through the VIP, memcached and VXLAN still answered" traffic
check_eq "  memcached and VXLAN untracked in A and B; the DNATed DNS still tracked in A and B" "0 0 0 0 3 3" \
	"$(ct_count "$A" -p udp --dport 11211) $(ct_count "$A" -p tcp --dport 11211) $(ct_count "$B" -p udp --dport 4789) $(ct_count "$B" -p tcp --dport 11211) $(ct_count "$A" -p udp --dport 53) $(ct_count "$B" -p udp --dport 5353)"
rm -rf "$T"
done_testing
