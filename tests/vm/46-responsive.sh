#!/bin/bash
# Responsive under a long write: the writers' lock is taken killably (a
# writer killed while it waits ends at once), readers never wait for a
# writer's build, a 1-byte read loop on `hits` does not stall an `add`, and
# a commit whose writer is killed leaves either the old set or the new one,
# whole, and a usable module.
. "$(dirname "$0")/lib.sh"
plan 13
load || { not_ok "insmod"; done_testing; exit; }
E="python3 $UTESTS/errno.py"
BIG=$(mktemp /tmp/ctskip-big.XXXXXX)
seq 1 65535 | sed 's/^/udp dport /' > "$BIG"
echo "tcp dport 1" >> "$BIG"
check_eq "65,536 rules staged with cat" OK "$(cat "$BIG" > $SYS/stage 2>&1 && echo OK)"
check_eq "  and committed" OK "$($E write $SYS/commit <<< 1)"
check_eq "  active" 65536 "$(wc -l < $SYS/rules)"
sysw $SYS/rules 'udp dport 53' >/dev/null

# state PID: the process's state letter, or "gone".
state() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null || echo gone; }
alive() { [ -e "/proc/$1" ]; }

# A commit of 65,536 rules holds the writers' lock while it builds. Catch a
# second writer waiting for it, and a reader during it.
caught=0 killed_fast=0 reader_fast=0 gre_after=unknown
for attempt in 1 2 3 4 5; do
	cat "$BIG" > $SYS/stage
	$E write $SYS/commit <<< 1 > /tmp/commit.out & cpid=$!
	sleep 0.05
	( printf 'gre' > $SYS/add ) 2>/dev/null & wpid=$!
	# Wait (up to 2 s) until the writer sleeps in the lock while the commit runs.
	for _ in $(seq 1 200); do
		[ "$(state $wpid)" = D ] && alive $cpid && break
		sleep 0.01
	done
	if [ "$(state $wpid)" = D ] && alive $cpid; then
		caught=1
		# A reader now: it must not wait for the build.
		t0=$(date +%s%N)
		lines=$(wc -l < $SYS/rules)
		t1=$(date +%s%N)
		rstill=$(alive $cpid && echo 1 || echo 0)
		kill -9 $wpid
		for _ in $(seq 1 100); do alive $wpid || break; sleep 0.01; done
		gone=$(alive $wpid && echo 0 || echo 1)
		cstill=$(alive $cpid && echo 1 || echo 0)
		[ "$gone" = 1 ] && [ "$cstill" = 1 ] && killed_fast=1
		[ "$rstill" = 1 ] && [ "$lines" -ge 1 ] && reader_fast=1
		echo "# attempt $attempt: reader ${lines} lines in $(( (t1 - t0) / 1000000 )) ms, commit still running after: $rstill; killed writer gone within 1 s: $gone (commit still running: $cstill)"
	fi
	wait $cpid
	kill -9 $wpid 2>/dev/null; wait $wpid 2>/dev/null
	[ $caught = 1 ] && [ "$gre_after" = unknown ] && gre_after=$(grep -cx gre $SYS/rules)
	sysw $SYS/rules 'udp dport 53' >/dev/null
	[ $killed_fast = 1 ] && [ $reader_fast = 1 ] && break
done
check_eq "a second writer was caught waiting for a long commit" 1 $caught
check_eq "  killed, it ended while the commit still ran (killable lock)" 1 $killed_fast
check_eq "  a reader of rules finished while the commit still ran" 1 $reader_fast
check_eq "the killed writer's rule (gre) was not added" 0 "$gre_after"
check_eq "  a writer not killed adds it (positive control)" 1 "$(printf 'gre' > $SYS/add && grep -cx gre $SYS/rules)"

# A commit whose writer is killed during the build: the old set or the new
# one, whole; never a mix; the module stays usable.
cat "$BIG" > $SYS/stage
t0=$(date +%s%N)
$E write $SYS/commit <<< 1 >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# a 65,536-rule commit took $ms ms"
sysw $SYS/rules 'udp dport 53' >/dev/null
cat "$BIG" > $SYS/stage
mark killcommit
$E write $SYS/commit <<< 1 > /tmp/commit.out & cpid=$!
sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 2000 }')"
kill -9 $cpid; wait $cpid 2>/dev/null
n=$(wc -l < $SYS/rules)
echo "# after the kill: $n rules"
check "killed commit: the old set (1 rule) or the new (65,536), whole" test "$n" = 1 -o "$n" = 65536
if [ "$n" = 1 ]; then
	check "  old set: the log says the writer was killed" grep -q 'commit: the writer was killed; the rules are unchanged (EINTR)' <(kmsg_since killcommit)
else
	check "  new set: its last rule is there" grep -qx 'tcp dport 1' $SYS/rules
fi
check_eq "the module is usable: a write" OK "$(sysw $SYS/rules 'udp dport 54')"

# A 1-byte read loop on hits, as root, while an add of 100 rules runs.
sysw $SYS/rules 'udp dport 53' >/dev/null
seq 2001 2100 | sed 's/^/udp dport /' > /tmp/add100
t0=$(date +%s%N); cat /tmp/add100 > $SYS/add; alone=$(( ($(date +%s%N) - t0) / 1000000 ))
sysw $SYS/rules 'udp dport 53' >/dev/null
touch /tmp/readloop
( while [ -e /tmp/readloop ]; do dd if=$SYS/hits of=/dev/null bs=1 status=none; done ) & rpid=$!
sleep 0.5
t0=$(date +%s%N); cat /tmp/add100 > $SYS/add; busy=$(( ($(date +%s%N) - t0) / 1000000 ))
rm -f /tmp/readloop; wait $rpid
echo "# add of 100 rules: $alone ms alone, $busy ms beside a 1-byte read loop on hits"
check "  the add completes within 10 s beside the read loop ($busy ms)" test "$busy" -lt 10000
check_eq "  all 101 rules active" 101 "$(wc -l < $SYS/rules)"
rm -f "$BIG" /tmp/add100 /tmp/commit.out
done_testing
