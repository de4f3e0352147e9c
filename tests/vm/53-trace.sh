#!/bin/bash
# The ctskip:untrack and ctskip:skip trace events (README "Tracing").
# Enabled through tracefs (in an instance of its own), each matched packet
# gives one untrack record per hook it passes, carrying the netns (inum and
# cookie), the hook, the family, the protocol, the addresses and ports and
# the line of the rule that took it. Unmatched packets give skip records
# with their reason. An ICMP error untracked for the packet it is about
# carries that packet and icmp_error=1. perf reads the same records.
# Disabled, the events record nothing, while the same traffic is untracked
# (the positive control: the hook ran).
. "$(dirname "$0")/lib.sh"
plan 15
T=$(mktemp -d)
TR=/sys/kernel/tracing
[ -d $TR/events ] || mount -t tracefs nodev $TR 2>/dev/null
check "tracefs has events/ctskip/untrack and events/ctskip/skip (module not loaded: none)" \
	test -d $TR/events -a ! -e $TR/events/ctskip
load || { not_ok "insmod"; done_testing; exit; }
check_eq "ctskip's events appear with the module" "skip untrack" \
	"$(cd $TR/events/ctskip 2>&1 && for e in */; do printf '%s ' "${e%/}"; done | sed 's/ $//')"
fields() { sed -n 's/^\s*field:[^;]* \([a-z_]*\)\(\[[0-9]*\]\)\?;.*/\1/p' "$1" | grep -v '^common_' | sort | tr '\n' ' '; }
check_eq "untrack's fields" "daddr dport family hook icmp_error netns netns_cookie proto rule saddr sport " \
	"$(fields $TR/events/ctskip/untrack/format)"
check_eq "skip's fields" "daddr dport family hook icmp_error netns netns_cookie proto reason saddr sport " \
	"$(fields $TR/events/ctskip/skip/format)"

pair A B || { not_ok "netns"; done_testing; exit; }
serve "$B" udp 0.0.0.0 7001
serve "$B" udp :: 7001
serve "$B" udp 0.0.0.0 7500
check_eq "rules: 3 lines" OK "$(sysw $SYS/rules 'tcp dport 6000\nudp dport 7001\nudp dport 7002\n')"
inum() { ip netns exec "$1" stat -L -c %i /proc/self/ns/net; }
cookie() { ip netns exec "$1" python3 -c 'import socket,struct; s=socket.socket(); print(struct.unpack("Q", s.getsockopt(socket.SOL_SOCKET, 71, 8))[0])'; }
IA=$(inum "$A") IB=$(inum "$B") CA=$(cookie "$A") CB=$(cookie "$B")

# An instance of its own: its buffer and its enables are this test's.
I=$TR/instances/ctskip-test-$$
mkdir $I || { not_ok "tracefs instance"; done_testing; exit; }
trap 'echo 0 > $I/events/ctskip/enable 2>/dev/null; rmdir $I 2>/dev/null; cleanup' EXIT
# records: the instance's records, "EVENT FIELDS..." a line; a trace file
# that cannot be read is a line saying so (no count check passes on it).
records() {
	[ -r $I/trace ] || { echo "trace-unreadable"; return 1; }
	grep -E " (untrack|skip): " $I/trace | sed 's/.* \(untrack\|skip\): /\1 /'
}
clear() { echo > $I/trace; }
untracked_both() { plus "$(ctstat "$A" untracked)" "$(ctstat "$B" untracked)"; }

# offstate: the events' enable files at the top level and in the instance
# ("0 0" when off everywhere: insmod enables nothing by itself).
offstate() { echo "$(cat $TR/events/ctskip/enable) $(cat $I/events/ctskip/enable)"; }
# Disabled: off everywhere after insmod, and no record, while the same
# exchanges are untracked.
clear; u0=$(untracked_both)
talk "$A" udp 10.0.1.2 7001 -n 5 --sport 40001 > /dev/null
check_eq "disabled (top level, instance): 5 exchanges untracked 20 times (2 hooks each way), 0 records" "0 0 20 0" \
	"$(offstate) $(minus "$(untracked_both)" "$u0") $(records | wc -l)"

# Enabled: one record per hook passed, with every field right.
echo 1 > $I/events/ctskip/untrack/enable
clear; u0=$(untracked_both)
talk "$A" udp 10.0.1.2 7001 -n 5 --sport 40001 > /dev/null
records > $T/v4
grep -m1 ' untrack: ' $I/trace | sed 's/^ */# a record: /'
check_eq "enabled: 20 untrack records for 20 untracked packets" "20 20" \
	"$(grep -c '^untrack ' $T/v4) $(minus "$(untracked_both)" "$u0")"
want() { # NETNS COOKIE HOOK FAMILY SRC DST ICMP RULE
	echo "untrack netns=$1 netns_cookie=$2 hook=$3 family=$4 proto=17 src=$5 dst=$6 icmp_error=$7 rule=$8"
}
{
	want "$IA" "$CA" LOCAL_OUT ipv4 10.0.1.1:40001 10.0.1.2:7001 0 2
	want "$IB" "$CB" PRE_ROUTING ipv4 10.0.1.1:40001 10.0.1.2:7001 0 2
	want "$IB" "$CB" LOCAL_OUT ipv4 10.0.1.2:7001 10.0.1.1:40001 0 2
	want "$IA" "$CA" PRE_ROUTING ipv4 10.0.1.2:7001 10.0.1.1:40001 0 2
} | sort > $T/want4
check_eq "IPv4: 5 records of each: request out of A and into B, reply out of B and into A (netns, cookie, hook, addresses, ports, rule 2)" \
	"$(sed 's/^/5 /' $T/want4 | tr '\n' ';')" "$(sort $T/v4 | uniq -c | sed 's/^ *//' | tr '\n' ';')"

clear
talk "$A" udp fd00:1::2 7001 -n 2 --sport 40002 > /dev/null
{
	want "$IA" "$CA" LOCAL_OUT ipv6 '[fd00:1::1]:40002' '[fd00:1::2]:7001' 0 2
	want "$IB" "$CB" PRE_ROUTING ipv6 '[fd00:1::1]:40002' '[fd00:1::2]:7001' 0 2
	want "$IB" "$CB" LOCAL_OUT ipv6 '[fd00:1::2]:7001' '[fd00:1::1]:40002' 0 2
	want "$IA" "$CA" PRE_ROUTING ipv6 '[fd00:1::2]:7001' '[fd00:1::1]:40002' 0 2
} | sort | sed 's/^/2 /' > $T/want6
check_eq "IPv6: 2 records of each, addresses as [fd00:1::1]:40002" \
	"$(tr '\n' ';' < $T/want6)" "$(records | sort | uniq -c | sed 's/^ *//' | tr '\n' ';')"

# The port-unreachable error about a datagram to a closed matched port:
# untracked for that datagram, which the record carries.
clear
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 7002 -n 1 --sport 40003
# (the error arrives in A a moment later: wait for its record, 5 s at most)
for _ in $(seq 50); do [ "$(records | grep -c 'icmp_error=1')" -ge 2 ] && break; sleep 0.1; done
{
	want "$IA" "$CA" LOCAL_OUT ipv4 10.0.1.1:40003 10.0.1.2:7002 0 3
	want "$IB" "$CB" PRE_ROUTING ipv4 10.0.1.1:40003 10.0.1.2:7002 0 3
	want "$IB" "$CB" LOCAL_OUT ipv4 10.0.1.1:40003 10.0.1.2:7002 1 3
	want "$IA" "$CA" PRE_ROUTING ipv4 10.0.1.1:40003 10.0.1.2:7002 1 3
} | sort > $T/wanticmp
check_eq "ICMP error: its 2 records carry the datagram it is about, icmp_error=1, rule 3" \
	"$(tr '\n' ';' < $T/wanticmp)" "$(records | sort | tr '\n' ';')"

# skip: unmatched exchanges, and fragments a port rule cannot classify.
echo 1 > $I/events/ctskip/skip/enable
clear; u0=$(untracked_both)
talk "$A" udp 10.0.1.2 7500 -n 3 --sport 40004 > /dev/null
records > $T/skip
check_eq "skip: 3 unmatched exchanges, 12 nomatch records, 0 untrack, 0 untracked" \
	"12 12 0 0" "$(grep -c '^skip .*family=ipv4 proto=17 ' $T/skip) $(grep -c 'family=ipv4 proto=17 .*reason=nomatch$' $T/skip) $(grep -c '^untrack ' $T/skip) $(minus "$(untracked_both)" "$u0")"
check_eq "  the request into B: netns, hook, addresses, ports" 3 \
	"$(grep -cxF "skip netns=$IB netns_cookie=$CB hook=PRE_ROUTING family=ipv4 proto=17 src=10.0.1.1:40004 dst=10.0.1.2:7500 icmp_error=0 reason=nomatch" $T/skip)"
clear
ip netns exec "$A" $TRAFFIC craft fragment 10.0.1.2 7001 -n 3
check_eq "skip: 3 later fragments out of A, reason noports" 3 \
	"$(records | grep -cxF "skip netns=$IA netns_cookie=$CA hook=LOCAL_OUT family=ipv4 proto=17 src=10.0.1.1:0 dst=10.0.1.2:0 icmp_error=0 reason=noports")"

# perf reads the event as any tracepoint (the host's perf, over the 9p root).
if perf record -q -o $T/perf.data -e ctskip:untrack -a -- \
	ip netns exec "$A" python3 "$TESTS_DIR/traffic.py" talk udp 10.0.1.2 7001 -n 3 --sport 40005 > $T/perf.out 2>&1; then
	perf script -i $T/perf.data > $T/perf.script 2>> $T/perf.out
fi
check_eq "perf record -e ctskip:untrack: 12 samples, rule=2" 12 \
	"$(grep -c 'ctskip:untrack:.*rule=2' $T/perf.script 2>/dev/null || head -c 300 $T/perf.out)"

# Disabled again: nothing more, while the traffic is still untracked.
echo 0 > $I/events/ctskip/enable
clear; u0=$(untracked_both)
talk "$A" udp 10.0.1.2 7001 -n 5 --sport 40006 > /dev/null
check_eq "disabled again (top level, instance): 20 untracked, 0 records" "0 0 20 0" \
	"$(offstate) $(minus "$(untracked_both)" "$u0") $(records | wc -l)"
done_testing
