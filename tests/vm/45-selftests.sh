#!/bin/bash
# Someone else's tests: the kernel's own netfilter selftests, from the source
# of the kernel under test (tools/testing/selftests/net/netfilter). Each must
# end exactly as it does without ctskip (and pass: a skip at the baseline
# means the test kernel lacks what it needs), with ctskip loaded and no rules,
# and with rules that match none of its traffic (the hook classifies every
# packet and leaves it to conntrack).
#
# Which ones run, and why the others do not: see README "Someone else's tests".
. "$(dirname "$0")/lib.sh"
# nft_nat.sh is not among them: its portshadow cases fail here without
# ctskip (socat's UDP replies are refused with Debian 12's socat/nft).
SELFTESTS=${CTSKIP_SELFTESTS:-conntrack_icmp_related.sh conntrack_tcp_unreplied.sh nft_conntrack_helper.sh}
n=$(wc -w <<< "$SELFTESTS")
# Each runs three times: without ctskip, with ctskip and no rules, and with
# rules that match none of its traffic.
plan $((3 * n + 1))
dir=$(readlink -f "$KDIR/source")/tools/testing/selftests/net/netfilter
check "the kernel's netfilter selftests are in $dir" test -r "$dir/lib.sh"
# Rules of every shape (more than four, so the compiled classifier runs) that
# none of these tests' traffic matches: they use 10.0.0.0/8, 192.168.0.0/16,
# dead:: and fd00:: addresses and no port 9, and no SCTP.
NONE='udp dport 9; tcp sport 9 dport 9; ip saddr 192.0.2.0/24; ip6 daddr 2001:db8:ffff::/48; sctp; udp sport 7 dport 7 oneway; ip daddr 198.51.100.0/24 udp; iif nomatch0'
T=$(mktemp -d)

# selftest NAME: runs it in its directory; prints its exit status.
selftest() {
	(cd "$dir" && timeout -k 10 900 bash "./$1") > "$T/$1.out" 2>&1
	echo $?
}
# same NAME HOW BASE: a run HOW ended as the baseline BASE did.
same() {
	local got
	got=$(selftest "$1")
	if [ "$got" = "$3" ]; then
		ok "$1 $2: exit $got, as without ctskip"
	else
		not_ok "$1 $2: exit $got, without ctskip $3"
		tail -25 "$T/$1.out" | sed 's/^/#   /'
	fi
}
for t in $SELFTESTS; do
	lsmod | grep -q '^ctskip ' && unload
	base=$(selftest "$t")
	if [ "$base" = 0 ]; then
		ok "$t without ctskip: passes (exit 0)"
	else
		not_ok "$t without ctskip: exit $base (4 is a skip: the test kernel lacks what it needs)"
		tail -25 "$T/$t.out" | sed 's/^/#   /'
	fi
	if load; then
		same "$t" "with ctskip and no rules" "$base"
		if [ "$(sysw $SYS/rules "$(tr ';' '\n' <<< "$NONE" | sed 's/^ //')")" = OK ]; then
			same "$t" "with rules that match none of its traffic" "$base"
		else
			not_ok "$t: the non-matching rules load"
		fi
		unload
	else
		not_ok "$t: insmod"; not_ok "$t: insmod"
	fi
done
rm -rf "$T"
done_testing
