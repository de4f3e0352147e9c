#!/bin/bash
# ctskipctl suggest (README "Which traffic to skip"): a client netns A that
# reaches DNS through a DNATed Service VIP (10.96.0.10:53 -> 10.0.1.2:5353),
# memcached (TCP and UDP 11211) on B, and a VXLAN overlay between them
# (vxlan devices, VNI 42 over UDP 4789, carrying UDP to 10.200.0.2:7000).
# An FTP control connection from A gets the ftp helper there (nft's ct
# helper). The suggestions name memcached, the VXLAN underlay and the overlay's
# flows with their entries (each group's count is conntrack's own, read
# with conntrack -L in each netns), and exclude the DNATed DNS, in A as a
# VIP and in B as its endpoint, and FTP (its helper), saying why. Both sources
# (libnetfilter_conntrack and /proc/net/nf_conntrack) give the same rules.
# Loaded as printed, they untrack memcached and VXLAN while DNS through the
# VIP still works (positive control: the same flows were tracked before).
. "$(dirname "$0")/lib.sh"
# What the overlay and the helper need (the debug kernel has both).
if ! { ip link add ctskip-vxprobe type vxlan id 1 dstport 4789 2>/dev/null && ip link del ctskip-vxprobe; } ||
	[ ! -d /sys/module/nf_conntrack_ftp ]; then
	# Counted as skipped; on the debug kernel (CI) a skip is a failure.
	ktap_skip_all "needs CONFIG_VXLAN and CONFIG_NF_CONNTRACK_FTP (the test kernels have them)"
	exit 0
fi
plan 21
[ -x "$CTL" ] || { not_ok "ctskipctl is built ($CTL)"; done_testing; exit; }
pair A B || { not_ok "topology"; done_testing; exit; }
load || { not_ok "insmod"; done_testing; exit; }
T=$(mktemp -d)
# Entries outlive the run (a debug guest takes longer than UDP's 30 s and
# closed TCP's 120 s).
for ns in "$A" "$B"; do
	ip netns exec "$ns" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 net.netfilter.nf_conntrack_udp_timeout_stream=3600 \
		net.netfilter.nf_conntrack_tcp_timeout_time_wait=3600 net.netfilter.nf_conntrack_tcp_timeout_close=3600
done

# The Service VIP: DNAT in A's output path (as kube-proxy's nft rules do).
ip -n "$A" route add 10.96.0.0/24 dev a0
ip netns exec "$A" nft -f - <<'NFT'
table ip svc {
	chain out { type nat hook output priority -100; ip daddr 10.96.0.10 udp dport 53 dnat to 10.0.1.2:5353; }
}
NFT
# An FTP control connection from A, given the ftp helper in A (nft's ct
# helper object, as a firewall that allows active FTP sets it).
ip netns exec "$A" nft -f - <<'NFT' || not_ok "ct helper ftp in A"
table inet h {
	ct helper ftp { type "ftp" protocol tcp; }
	chain out { type filter hook output priority 0; tcp dport 21 ct helper set "ftp"; }
}
NFT
serve "$B" tcp 10.0.1.2 21
serve "$B" udp 10.0.1.2 5353
serve "$B" udp 10.0.1.2 11211
serve "$B" tcp 10.0.1.2 11211
# The overlay: a vxlan device on each side of the veth pair.
for side in "A 10.0.1.1 10.0.1.2 a0 10.200.0.1" "B 10.0.1.2 10.0.1.1 b0 10.200.0.2"; do
	read -r ns local remote dev addr <<< "$side"
	# (No IPv6 on vx0: its own DAD, MLD and RS packets would add underlay
	# entries at any time, between the counts below.)
	ip -n "${!ns}" link add vx0 type vxlan id 42 local "$local" remote "$remote" dstport 4789 dev "$dev" &&
		ip netns exec "${!ns}" sysctl -qw net.ipv6.conf.vx0.disable_ipv6=1 &&
		ip -n "${!ns}" addr add "$addr/24" dev vx0 && ip -n "${!ns}" link set vx0 up ||
		not_ok "vxlan device in $ns"
done
serve "$B" udp 10.200.0.2 7000

traffic() {
	local i r=0
	for i in 1 2 3; do talk "$A" udp 10.96.0.10 53 -n 1 --sport $((30000 + i)) > /dev/null || r=1; done
	for i in 1 2 3 4 5; do
		talk "$A" udp 10.0.1.2 11211 -n 1 --sport $((31000 + i)) > /dev/null || r=1
		talk "$A" tcp 10.0.1.2 11211 -n 1 > /dev/null || r=1
	done
	talk "$A" tcp 10.0.1.2 21 -n 1 > /dev/null || r=1
	for i in 1 2 3 4; do talk "$A" udp 10.200.0.2 7000 -n 1 --sport $((32000 + i)) > /dev/null || r=1; done
	return $r
}
check "DNS through the VIP, memcached and the overlay answered" traffic
# conntrack's own counts (the oracle): the underlay's entries to UDP 4789 in
# A and B (each overlay flow's packets go out with a source port of their
# own, in each direction), and the overlay's to 7000.
vx=$(plus "$(ct_count "$A" -p udp --dport 4789)" "$(ct_count "$B" -p udp --dport 4789)")
ov=$(plus "$(ct_count "$A" -p udp --dport 7000)" "$(ct_count "$B" -p udp --dport 7000)")
check "  conntrack tracks the VXLAN underlay ($vx entries) and the overlay ($ov)" test "$vx" -ge 4 -a "$ov" = 8
"$CTL" suggest > $T/out 2> $T/err
check_eq "suggest: status 0, nothing on stderr" "0 0" "$? $(wc -c < $T/err)"
sed 's/^/# /' $T/out
# grouprule RULE: the comment after RULE's line, or "absent".
grouprule() { awk -v r="$1" '{ s = $0; sub(/ *#.*/, "", s) } s == r { sub(/^[^#]*# /, ""); print; f = 1 } END { if (!f) print "absent" }' $T/out; }
check_eq "memcached over UDP suggested, with its entries in A and B" "10 entries in 2 netns" "$(grouprule "ip udp daddr 10.0.1.0/24 dport 11211")"
check_eq "memcached over TCP suggested" "10 entries in 2 netns" "$(grouprule "ip tcp daddr 10.0.1.0/24 dport 11211")"
check_eq "VXLAN (the underlay) suggested" "$vx entries in 2 netns" "$(grouprule "ip udp daddr 10.0.1.0/24 dport 4789")"
check_eq "  and the overlay's flows" "$ov entries in 2 netns" "$(grouprule "ip udp daddr 10.200.0.0/24 dport 7000")"
check "the DNATed DNS (the VIP, in A) is not suggested, and says why" \
	grep -q '^# not suggested: ip udp daddr 10.96.0.0/24 dport 53 (3 entries in 1 netns, 3 of them): DNATed: a Service VIP, do not skip' $T/out
check "  nor its endpoint (in B), and says why" \
	grep -q '^# not suggested: ip udp daddr 10.0.1.0/24 dport 5353 (3 entries in 1 netns, 3 of them): the endpoint of DNATed traffic (10.96.0.10 port 53 -> 10.0.1.2 port 5353)' $T/out
check "FTP (its helper, in A) is not suggested, and says why" \
	grep -q '^# not suggested: ip tcp daddr 10.0.1.0/24 dport 21 (2 entries in 2 netns, 1 of them): has the conntrack helper ftp: it needs conntrack' $T/out
check_eq "nothing else suggested" 4 "$(grep -vc '^#' $T/out)"
check "read with libnetfilter_conntrack" grep -q '^# read with libnetfilter_conntrack: [1-9][0-9]*, from /proc/net/nf_conntrack: 0$' $T/out
"$CTL" suggest --source proc > $T/proc 2> $T/err
check_eq "suggest --source proc: status 0, the same rules (/proc/net/nf_conntrack)" "0 same" \
	"$? $(diff <(grep -v '^#' $T/out) <(grep -v '^#' $T/proc) > $T/diff && echo same || sed 's/^/#   /' $T/diff)"
check "  FTP is not suggested there either: /proc shows no helper, its port does" \
	grep -q '^# not suggested: ip tcp daddr 10.0.1.0/24 dport 21 (2 entries in 2 netns, 2 of them): may have the conntrack helper ftp (its port; /proc/net/nf_conntrack does not show helpers)' $T/proc
check "  and says where it read them" grep -q '^# read with libnetfilter_conntrack: 0, from /proc/net/nf_conntrack: [1-9][0-9]* (it shows no helpers' $T/proc
# auto without the library (a file name that does not exist): /proc.
CTSKIP_NFCT_LIBRARY=libctskip-absent.so.0 "$CTL" suggest > $T/auto 2> $T/err
check_eq "without libnetfilter_conntrack, auto reads /proc/net/nf_conntrack: status 0, the same output as --source proc" "0 same" \
	"$? $(diff $T/proc $T/auto > $T/diff && echo same || sed 's/^/#   /' $T/diff)"
check_eq "  --source library without it: an error naming it" "1 yes" \
	"$(CTSKIP_NFCT_LIBRARY=libctskip-absent.so.0 "$CTL" suggest --source library > /dev/null 2> $T/err; echo $?) $(grep -q 'libctskip-absent.so.0' $T/err && echo yes || head -c 200 $T/err)"
check_eq "ctskipctl check accepts the output" "$T/out: 4 rules, OK" "$("$CTL" check $T/out 2>&1)"
check_eq "ctskipctl load accepts it" "loaded 4 rules" "$("$CTL" load $T/out 2>&1)"
ct_flush "$A"; ct_flush "$B"
check "with the suggestions loaded: DNS through the VIP, memcached and the overlay still answered" traffic
check_eq "  memcached, VXLAN and the overlay untracked in A and B; the DNATed DNS still tracked in A and B" "0 0 0 0 0 0 0 0 3 3" \
	"$(ct_count "$A" -p udp --dport 11211) $(ct_count "$A" -p tcp --dport 11211) $(ct_count "$B" -p udp --dport 11211) $(ct_count "$B" -p tcp --dport 11211) $(ct_count "$A" -p udp --dport 4789) $(ct_count "$B" -p udp --dport 4789) $(ct_count "$A" -p udp --dport 7000) $(ct_count "$B" -p udp --dport 7000) $(ct_count "$A" -p udp --dport 53) $(ct_count "$B" -p udp --dport 5353)"
rm -rf "$T"
done_testing
