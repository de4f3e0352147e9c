#!/bin/bash
# Fault injection (debug kernel): allocations fail during rule writes and
# netns creation. A write returns ENOMEM and the active rules stay intact (or
# it succeeds whole); a netns whose setup failed does not break the others;
# nothing leaks (kmemleak, checked by the VM runner).
. "$(dirname "$0")/lib.sh"
D=/sys/kernel/debug
if [ ! -d $D/failslab ] || [ ! -d $D/fail_page_alloc ]; then
	echo "ok 1 # SKIP no fault injection in this kernel (the debug kernel has it)"
	echo "1..1"; exit 0
fi
load 'rules="udp dport 53; tcp dport 80"' || { not_ok "insmod"; done_testing; exit; }
old=$(cat $SYS/rules)

# The VM runner tolerates the allocator's failure reports between these
# lines (and nothing else).
echo "ctskip-fault-injection begin" > /dev/kmsg
trap 'echo "ctskip-fault-injection end" > /dev/kmsg; cleanup' EXIT

arm() { # arm failslab|fail_page_alloc SPACE: fail every allocation after SPACE bytes
	local f=$D/$1
	echo Y > $f/task-filter; echo N > $f/ignore-gfp-wait; echo 0 > $f/verbose
	echo 100 > $f/probability; echo 1 > $f/interval; echo -1 > $f/times; echo "$2" > $f/space
	[ "$1" = fail_page_alloc ] && echo 0 > $f/min-order
	return 0
}
disarm() { echo 0 > $D/failslab/probability; echo 0 > $D/fail_page_alloc/probability; }

# A large new set (vmalloc'd tables) and a small one, each written while the
# Nth allocation of the writer fails, for N across the whole write path.
big=$(python3 -c 'print(";".join(f"udp dport {n}" for n in range(300)))')
enomem=0 okay=0 bad=0
for what in failslab fail_page_alloc; do
	for space in 0 128 1024 8192 65536 524288; do
		for text in "sctp dport 9; gre" "$big"; do
			arm $what $space
			r=$(printf '%s' "$text" | python3 "$TESTS_DIR/errno.py" failwrite $SYS/rules)
			disarm
			now=$(cat $SYS/rules)
			want=$(printf '%s' "$text" | tr ';' '\n' | sed 's/^ *//')
			case $r in
			ENOMEM) [ "$now" = "$old" ] && enomem=$((enomem + 1)) || { bad=$((bad + 1)); echo "# $what $space: ENOMEM but rules changed"; } ;;
			OK) [ "$now" = "$want" ] && okay=$((okay + 1)) || { bad=$((bad + 1)); echo "# $what $space: OK but rules differ"; } ;;
			*) bad=$((bad + 1)); echo "# $what $space: unexpected $r" ;;
			esac
			printf '%s\n' "$old" | python3 "$TESTS_DIR/errno.py" write $SYS/rules >/dev/null
		done
	done
done
echo "# $enomem writes failed with ENOMEM, $okay succeeded"
check_eq "every faulted write is ENOMEM with the rules intact, or complete" 0 $bad
check "some writes did fail with ENOMEM" test $enomem -gt 0
check_eq "rules intact after the series" "$old" "$(cat $SYS/rules)"

# netns creation with failing allocations (in a process that then exits,
# taking its netns along): some fail, maybe in ctskip's own setup; the
# others keep working.
pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53
# Another subsystem's setup may fail first, with the errno it chooses; when
# ctskip's own setup fails (it logs "netns setup failed"), unshare must
# report ctskip's ENOMEM.
made=0 failed=0 ours=0 bad=0 n=0
for what in failslab fail_page_alloc; do
	for space in 0 2048 16384 131072 1048576; do
		n=$((n + 1)); mark "netns-$n"
		arm $what $space
		r=$(python3 "$TESTS_DIR/errno.py" failnetns)
		disarm
		if kmsg_since "netns-$n" | grep -q "ctskip: netns setup failed"; then
			ours=$((ours + 1))
			[ "$r" = ENOMEM ] || { bad=$((bad + 1)); echo "# netns $what $space: ctskip failed, unshare said $r"; }
		fi
		case $r in OK) made=$((made + 1));; *) failed=$((failed + 1)); echo "# netns $what $space: $r";; esac
	done
done
echo "# netns creation under fault injection: $made made, $failed failed ($ours in ctskip's setup)"
check "some netns creations failed" test $failed -gt 0
check_eq "ctskip's own setup failures are ENOMEM" 0 $bad
check "existing netns still work: answered" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "existing netns still untracked" 0 "$(ct_count "$B" -p udp --dport 53)"
new_netns C && check "a new netns afterwards has the counters file" ip netns exec "$C" test -r /proc/net/ctskip
check "rmmod" unload
done_testing
