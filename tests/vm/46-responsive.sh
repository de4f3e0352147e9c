#!/bin/bash
# Responsive under a long write: the writers' lock is taken killably (a
# writer killed while it waits ends at once), readers never wait for a
# writer's build, a 1-byte read loop on `hits` does not stall an `add`, and
# a commit whose writer is killed leaves either the old set or the new one,
# whole, and a usable module.
. "$(dirname "$0")/lib.sh"
plan 12
load || { not_ok "insmod"; done_testing; exit; }
BIG=$(mktemp /tmp/ctskip-big.XXXXXX)
seq 1 65535 | sed 's/^/udp dport /' > "$BIG"
echo "tcp dport 1" >> "$BIG"
# nap MS: sleeps MS milliseconds without a fork (a builtin read that times
# out: on the debug guest a fork of sleep(1) takes half a second).
exec {NAPFD}<> <(:)
nap() { local s; printf -v s '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); read -r -t "$s" -u $NAPFD _ || :; }
# stage_commit: stages $BIG with cat and commits it with echo, from one
# shell (the stage belongs to cat and its shell) pinned to CPU 0, where
# the readers below run too: on a kernel without preemption a reader there
# gets the CPU during the build only if the build lets it (cond_resched).
# Run in the background as `( stage_commit ) &`: the shell is that PID.
# /tmp/staged appears between the two.
stage_commit() { exec taskset -c 0 bash -c "cat '$BIG' > $SYS/stage && : > /tmp/staged && echo 1 > $SYS/commit"; }
# committing PID: waits (up to 60 s) until shell PID has staged and is
# committing; fails if it ended first.
committing() {
	for _ in $(seq 1 6000); do
		[ -e /tmp/staged ] && return 0
		alive "$1" || return 1
		nap 10
	done
	return 1
}
# state PID: the process's state letter, or "gone".
state() { local l; read -r l 2>/dev/null < "/proc/$1/stat" || { echo gone; return; }; l=${l##*) }; echo "${l%% *}"; }
alive() { [ -e "/proc/$1" ]; }

cat "$BIG" > $SYS/stage
t0=$(date +%s%N)
echo 1 > $SYS/commit || not_ok "setting up: the write to commit failed"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "# a 65,536-rule commit took $ms ms"
check_eq "65,536 rules staged with cat and committed with echo" 65536 "$(wc -l < $SYS/rules)"
setw $SYS/rules 'udp dport 53'

# A commit of 65,536 rules holds the writers' lock while it builds. Catch a
# second writer waiting for it, and a reader during it.
caught=0 killed_fast=0 reader_fast=0 gre_after=unknown
for attempt in 1 2 3 4 5; do
	rm -f /tmp/staged
	( stage_commit ) & cpid=$!
	committing $cpid || { echo "# attempt $attempt: the commit ended before it was seen"; wait $cpid; setw $SYS/rules 'udp dport 53'; continue; }
	# Let the commit take the lock (a tenth of its time).
	nap $((ms / 10))
	( exec bash -c "printf gre > $SYS/add" ) 2>/dev/null & wpid=$!
	# A one-rule add takes well under a millisecond: a writer asleep in
	# the kernel (state D) while the commit runs is waiting for the lock.
	for _ in $(seq 1 300); do
		[ "$(state $wpid)" = D ] && break
		alive $wpid && alive $cpid || break
		nap 10
	done
	if alive $cpid; then cstate=running; else cstate=ended; fi
	echo "# attempt $attempt: the writer's state $(state $wpid), the commit $cstate"
	if [ "$(state $wpid)" = D ] && alive $cpid; then
		caught=1
		echo "# attempt $attempt: the writer waits (state $(state $wpid))"
		kill -9 $wpid
		for _ in $(seq 1 100); do alive $wpid || break; nap 10; done
		gone=$(alive $wpid && echo 0 || echo 1)
		cstill=$(alive $cpid && echo 1 || echo 0)
		[ "$gone" = 1 ] && [ "$cstill" = 1 ] && killed_fast=1
		# A reader now, on the commit's CPU: it must not wait for the build.
		t0=$(date +%s%N)
		lines=$(taskset -c 0 wc -l < $SYS/rules)
		t1=$(date +%s%N)
		rstill=$(alive $cpid && echo 1 || echo 0)
		[ "$rstill" = 1 ] && [ "$lines" = 1 ] && reader_fast=1
		echo "# attempt $attempt: killed writer gone within 1 s: $gone (commit still running: $cstill); reader ${lines} lines in $(( (t1 - t0) / 1000000 )) ms, commit still running after: $rstill"
	fi
	wait $cpid
	kill -9 $wpid 2>/dev/null; wait $wpid 2>/dev/null
	[ $caught = 1 ] && [ "$gre_after" = unknown ] && gre_after=$(grep -cx gre $SYS/rules)
	setw $SYS/rules 'udp dport 53'
	[ $killed_fast = 1 ] && [ $reader_fast = 1 ] && break
done
check_eq "a second writer was caught waiting for a long commit" 1 $caught
check_eq "  killed, it ended while the commit still ran (killable lock)" 1 $killed_fast
check_eq "  a reader of rules (on the commit's CPU) read the old set while the commit still ran" 1 $reader_fast
check_eq "the killed writer's rule (gre) was not added" 0 "$gre_after"
check_eq "  a writer not killed adds it (positive control)" 1 "$(printf 'gre' > $SYS/add && grep -cx gre $SYS/rules)"

# A commit whose writer is killed during the build publishes nothing: the
# old set stays, whole, and the log says so. The kill must land while the
# writer is in its write(2) to commit (/proc/PID/syscall) and the old set
# still there after it; the new set means too late, a writer not yet in its
# write too early, and the next attempt's delay is bisected from that, so
# any kernel's speed (the debug kernel's too) gets there within a few
# attempts. The log line is checked after, apart from the landing.
killed_in_commit=0 n=unknown lo=0 hi=$((ms * 2)) delay=$((ms / 4))
for attempt in 1 2 3 4 5 6 7 8; do
	setw $SYS/rules 'udp dport 53'
	mark killcommit$attempt
	rm -f /tmp/staged
	( stage_commit ) & cpid=$!
	in_write=none
	if committing $cpid; then
		nap $delay
		# In write(2) (1) while asleep, "running" while it builds: past its
		# stage, the subshell does nothing but that write.
		read -r in_write _ 2>/dev/null < /proc/$cpid/syscall || in_write=''
		kill -9 $cpid
	fi
	wait $cpid 2>/dev/null
	n=$(wc -l < $SYS/rules)
	echo "# attempt $attempt: killed $delay ms after its stage (its syscall then: ${in_write:-gone}); after the kill: $n rules"
	if [ "$n" -gt 1 ]; then
		hi=$delay
	else
		case $in_write in 1|running) killed_in_commit=1; break;; esac
		lo=$delay
	fi
	delay=$(( (lo + hi) / 2 ))
done
check_eq "a commit's writer was killed inside its write to commit" 1 $killed_in_commit
check_eq "  the old set stays, whole" "udp dport 53" "$(cat $SYS/rules)"
check "  the log says the writer was killed" grep -q 'commit: the writer was killed; the rules are unchanged, the stage discarded (EINTR)' <(kmsg_since killcommit$attempt)
check_eq "the module is usable: a write" OK "$(sysw $SYS/rules 'udp dport 54')"

# A 1-byte read loop on hits, as root, while an add of 100 rules runs.
setw $SYS/rules 'udp dport 53'
seq 2001 2100 | sed 's/^/udp dport /' > /tmp/add100
t0=$(date +%s%N); cat /tmp/add100 > $SYS/add; alone=$(( ($(date +%s%N) - t0) / 1000000 ))
setw $SYS/rules 'udp dport 53'
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
