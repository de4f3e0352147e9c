#!/bin/bash
# IPv6 extension headers are walked to find the transport header; a UDP
# datagram fragmented on the wire is matched. Each flow runs twice in the
# same netns: first with no ctskip rule (the control: conntrack tracks it in
# A and B), then with the rule (nothing tracked).
. "$(dirname "$0")/lib.sh"
plan 22

pair A B || { not_ok "topology"; done_testing; exit; }
load || { not_ok "insmod"; done_testing; exit; }
serve "$B" udp fd00:1::2 5353
serve "$B" udp 10.0.1.2 5353

# ct_delta NS BEFORE [filter]: conntrack entries added in NS since BEFORE (a
# ct_count); the failure text if either count failed.
ct_delta() {
	local ns=$1 before=$2 now; shift 2
	now=$(ct_count "$ns" "$@") || { echo "$now"; return 1; }
	case $before in '' | *[!0-9]*) echo "before:$before"; return 1;; esac
	echo $((now - before))
}
# ge1 VALUE: VALUE is a number >= 1.
ge1() { case $1 in '' | *[!0-9]*) return 1;; esac; [ "$1" -ge 1 ]; }

# flow NAME TALK-ARGS...: the control, then the same flow under the rule.
flow() {
	local name=$1 a0 b0 da db; shift
	check_eq "$name: no rules" OK "$(sysw $SYS/rules '\n')"
	ct_flush "$A"; ct_flush "$B"
	a0=$(ct_count "$A" -p udp --dport 5353); b0=$(ct_count "$B" -p udp --dport 5353)
	check "$name, no rule: answered" talk "$A" "$@"
	da=$(ct_delta "$A" "$a0" -p udp --dport 5353); db=$(ct_delta "$B" "$b0" -p udp --dport 5353)
	check "$name, no rule: tracked in A and B (+$da, +$db)" eval 'ge1 "$da" && ge1 "$db"'
	check_eq "$name: rule udp dport 5353" OK "$(sysw $SYS/rules 'udp dport 5353')"
	ct_flush "$A"; ct_flush "$B"
	a0=$(ct_count "$A"); b0=$(ct_count "$B")
	# shellcheck disable=SC2034 # read by name: snap and delta take namerefs
	declare -A st; snap "$B" st
	check "$name: answered" talk "$A" "$@"
	check_eq "$name: nothing tracked in A" 0 "$(ct_delta "$A" "$a0")"
	check_eq "$name: nothing tracked in B" 0 "$(ct_delta "$B" "$b0")"
	_pre=$(delta "$B" st untracked_prerouting)
}

flow "with hop-by-hop and destination options" udp fd00:1::2 5353 -n 3 --exthdr
check "with extension headers: B untracked all 3 at prerouting (+$_pre)" test "$_pre" -ge 3
for addr in fd00:1::2 10.0.1.2; do
	flow "fragmented datagram to $addr" udp $addr 5353 -n 2 --size 4000
done
done_testing
