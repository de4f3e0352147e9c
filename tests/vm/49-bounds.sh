#!/bin/bash
# Bounded per-packet work (README "Limits and repeats"): a rule set that
# would go past one of the classifier's bounds is refused with ENOSPC and
# one log line naming the bound and what to do, and changes nothing; a set
# at a bound is accepted and classifies as the README says (the earliest
# matching rule), with the same traffic tracked outside it as the positive
# control. Written as operators write: cat, printf, stage and commit, insmod.
. "$(dirname "$0")/lib.sh"
plan 30

pair A B || { not_ok "topology"; done_testing; exit; }
no_icmp_errors "$A"; no_icmp_errors "$B"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }
N=5
T=$(mktemp -d)

# errname: the errno name in a writer's message on stdin (OK if none).
errname() { python3 "$UTESTS/errno.py" errname; }
# written CMD...: runs a writer; prints OK or the errno name of its message.
written() { local e; if e=$("$@" 2>&1 >/dev/null); then echo OK; else errname <<<"$e"; fi; }
rules_now() { paste -sd'|' $SYS/rules; }

# 1. 1,024 IPv4 rules, one per (source, destination) prefix-length pair,
# then `udp dport 53`: one lookup table per pair, past the bound of 8 per
# (family, protocol). Written with cat (64 KiB writes).
for a in $(seq 32); do for b in $(seq 32); do
	echo "ip saddr 172.16.0.0/$a daddr 172.16.0.0/$b oneway"
done; done > $T/pairs4
echo "udp dport 53" >> $T/pairs4
mark pairs4
check_eq "1,024 IPv4 prefix-length pairs: cat > rules is ENOSPC" ENOSPC "$(written sh -c "cat $T/pairs4 > $SYS/rules")"
# The README's own example, word for word.
want4='ctskip: rules: line 257: ip (every protocol) packets would probe 32 lookup tables, at most 8 (one per rule shape; the 9th for "ip saddr 172.0.0.0/9 daddr 128.0.0.0/1 oneway"): use fewer distinct prefix lengths in rules with two addresses or with a port range, merge prefixes, or use fewer mixes of ports, addresses and iif/oif (ENOSPC)'
check_eq "  one log line, the README's" "$want4" "$(kmsg_since pairs4 | grep -o 'ctskip: .*')"
check_eq "  the rules are unchanged" "udp dport 53" "$(rules_now)"

# At the bound: the first 256 lines (source lengths 1..8, one table each)
# are accepted; the next 9 (source length 9: more than 8 rules, so a table,
# not flat tests), added, are refused, naming the first of them.
head -n 256 $T/pairs4 > $T/pairs4-256
check_eq "its first 256 lines (8 tables): cat > rules is accepted" OK "$(written sh -c "cat $T/pairs4-256 > $SYS/rules")"
check_eq "  256 rules active" 256 "$(wc -l < $SYS/rules)"
mark pairs257
check_eq "  its lines 257-265: sed > add is ENOSPC" ENOSPC "$(written sh -c "sed -n 257,265p $T/pairs4 > $SYS/add")"
check "  naming line 1, 9 tables and that rule" test "$(kmsg_since pairs257 | grep -c 'ctskip: add: line 1: ip (every protocol) packets would probe 9 lookup tables, at most 8 (one per rule shape; the 9th for "ip saddr 172.0.0.0/9 daddr 128.0.0.0/1 oneway")')" = 1
check_eq "  still 256 rules" 256 "$(wc -l < $SYS/rules)"

# 2. 65,536 IPv6 rules, every (source, destination) prefix-length pair of
# 1..128 with four address pairs, through stage and commit.
awk 'BEGIN { for (i = 0; i < 4; i++) for (a = 1; a <= 128; a++) for (b = 1; b <= 128; b++)
	printf "ip6 saddr %s:db8::/%d daddr %s:db9::/%d oneway\n", (i % 2 ? "a001" : "2001"), a, (i >= 2 ? "a001" : "2001"), b }' > $T/pairs6
echo "udp dport 53" > $SYS/rules || not_ok "setting up: the write to rules failed"
mark pairs6
check_eq "65,536 IPv6 prefix-length pairs: stage OK, commit ENOSPC" "OK ENOSPC" "$(python3 "$UTESTS/errno.py" stagecommit $SYS/stage $SYS/commit < $T/pairs6)"
check "  one log line: commit: ip6 ... lookup tables, at most 8 ... (ENOSPC)" test "$(kmsg_since pairs6 | grep -c 'ctskip: commit: ip6 (every protocol) packets would probe [0-9]* lookup tables, at most 8 .*(ENOSPC)$')" = 1
check_eq "  the rules are unchanged" "udp dport 53" "$(rules_now)"

# 3. Port boxes: rules with both a source and a destination port range
# share one key; at most 16 boxes a key. Ten exact ports first, so that the
# set is past the small sets tested one rule at a time.
pad() { for i in $(seq 100 109); do echo "udp dport $i"; done; }
box() { echo "udp sport $((1000 + $1 * 7))-$((3000 + $1 * 11)) dport $((2000 + $1 * 5))-$((9000 - $1 * 3)) oneway"; }
{ pad; for i in $(seq 0 15); do box $i; done; } > $T/boxes16
# (A comment first: its line counts, so the line named is not the rule's
# place in the set.)
{ echo "# overlapping boxes"; pad; for i in $(seq 0 16); do box $i; done; } > $T/boxes17
mark boxes
check_eq "10 ports and 17 overlapping oneway port boxes: add (tee) is ENOSPC" ENOSPC "$(written sh -c "tee $SYS/add < $T/boxes17")"
check "  one log line names the bound ($(kmsg_since boxes | grep -c ctskip) lines)" test "$(kmsg_since boxes | grep -c 'ctskip: add: line 28: ip and ip6 udp packets: 17 source and destination port-range pairs share one key, at most 16 (the 17th from "udp sport 1112-3176 dport 2080-8952 oneway"): merge the port ranges.*(ENOSPC)$')" = 1
check_eq "  the rules are unchanged" "udp dport 53" "$(rules_now)"

check_eq "16 boxes: add (dd) is accepted" OK "$(written dd if=$T/boxes16 of=$SYS/add bs=64k status=none)"
check_eq "  27 rules active" 27 "$(wc -l < $SYS/rules)"
pk() { hits "$1" | cut -d' ' -f1; }
b0=$(box 0) b14=$(box 14) b15=$(box 15)
ct_flush "$A"; ct_flush "$B"
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5000 -n $N --sport 2000; sleep 0.3
# By hand from the README: sport 2000, dport 5000 lies in every box; the
# earliest rule (box 0) takes the hits.
check_eq "UDP 2000 -> 5000 (in all 16 boxes): box 0 +2N" $((2 * N)) "$(pk "$b0")"
check_eq "  box 15 unchanged" 0 "$(pk "$b15")"
check_eq "  not tracked in B" 0 "$(ct_count "$B" -p udp --dport 5000)"
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5000 -n $N --sport 3160; sleep 0.3
# sport 3160 is past box 14's 3154 and within box 15's 3165.
check_eq "UDP 3160 -> 5000 (only in box 15): box 15 +2N" $((2 * N)) "$(pk "$b15")"
check_eq "  box 14 unchanged" 0 "$(pk "$b14")"
check_eq "  not tracked in B" 0 "$(ct_count "$B" -p udp --sport 3160)"
ip netns exec "$A" $TRAFFIC send udp 10.0.1.2 5000 -n $N --sport 3170; sleep 0.3
check_eq "positive control: UDP 3170 -> 5000 (in no box) is tracked in B" 1 "$(ct_count "$B" -p udp --sport 3170)"
ip netns exec "$B" $TRAFFIC send udp 10.0.1.1 2000 -n $N --sport 5000; sleep 0.3
check_eq "  and the reverse of box 0 (5000 -> 2000; the rules are oneway) is tracked in B" 1 "$(ct_count "$B" -p udp --sport 5000)"

# 4. insmod: a parameter past a bound fails the load (EINVAL) with its line.
check "rmmod" unload
mark param
p=$( (pad; for i in $(seq 0 16); do box $i; done) | paste -sd';')
check_eq "insmod rules= with 17 boxes on one key: EINVAL" EINVAL "$(python3 "$UTESTS/errno.py" insmod "$KO" "rules=\"$p\"")"
check "  one log line: parameter rules: ... at most 16 ..." test "$(kmsg_since param | grep -c 'ctskip: parameter rules: ip and ip6 udp packets: 17 source and destination port-range pairs share one key, at most 16 ')" = 1
check "  not loaded" test ! -e $SYS
p=$( (pad; for i in $(seq 0 15); do box $i; done) | paste -sd';')
check_eq "insmod rules= with 16 boxes: loads" OK "$(python3 "$UTESTS/errno.py" insmod "$KO" "rules=\"$p\"")"
check_eq "  26 rules active" 26 "$(wc -l < $SYS/rules)"
rm -rf "$T"
done_testing
