#!/bin/bash
# Fault injection (debug kernel): allocations fail during rule writes and
# netns creation. A write returns ENOMEM and the active rules stay intact (or
# it succeeds whole); a netns whose setup failed does not break the others;
# nothing leaks (kmemleak, checked by the VM runner).
. "$(dirname "$0")/lib.sh"
D=/sys/kernel/debug
if [ ! -d $D/failslab ] || [ ! -d $D/fail_page_alloc ]; then
	# Counted as skipped; on the debug kernel (CI) a skip is a failure.
	ktap_skip_all "no fault injection in this kernel (the debug kernel has it)"
	exit 0
fi
plan 26
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

# Every allocation made from ctskip's own code, failing in turn: the fault
# injection's stack-trace filter is set to the module's text, and
# /proc/thread-self/fail-nth fails the Nth such allocation of one call.
if [ -e $D/failslab/require-start ]; then
	text=$(cat /sys/module/ctskip/sections/.text)
	size=$(readelf -SW "$KO" | awk '{ for (i = 1; i < NF; i++) if ($i == ".text") print $(i + 4) }')
	end=$(python3 -c "print(hex(int('$text', 16) + int('$size', 16)))")
	for a in failslab fail_page_alloc; do
		echo "$text" > $D/$a/require-start
		echo "$end" > $D/$a/require-end
		echo 32 > $D/$a/stacktrace-depth
		echo N > $D/$a/ignore-gfp-wait; echo 0 > $D/$a/verbose
	done
	echo 0 > $D/fail_page_alloc/min-order
	same() { python3 -c 'import sys; a = [int(x, 0) for x in sys.argv[1:]]; sys.exit(a[:2] != a[2:])' "$@"; }
	if ! check "the fault-injection filter is ctskip's text ($text + 0x$size)" \
		same "$text" "$end" "$(cat $D/failslab/require-start)" "$(cat $D/fail_page_alloc/require-end)"; then
		done_testing; exit
	fi
	# netns setup: ENOMEM and one log line for each of ctskip's allocations.
	n=0 hit=0 bad=0 nomem=0
	while [ $n -lt 60 ]; do
		n=$((n + 1)); mark "nth-netns-$n"
		r=$(python3 "$TESTS_DIR/errno.py" nth $n netns)
		[ "$r" = "OK unreached" ] && break
		hit=$((hit + 1))
		logged=$(kmsg_since "nth-netns-$n" | grep -c "ctskip: netns setup failed: out of memory (ENOMEM)")
		case "$r/$logged" in
		"ENOMEM consumed/1") nomem=$((nomem + 1)) ;;
		"OK consumed/0") ;;  # absorbed (the slab allocator retried)
		*) bad=$((bad + 1)); echo "# allocation $n of netns setup: $r, $logged log lines" ;;
		esac
	done
	echo "# ctskip's netns setup makes $hit filtered allocations: $nomem failed the netns creation"
	check "netns setup: each of ctskip's allocations was failed in turn" test $hit -ge 3 -a "$r" = "OK unreached"
	check "  some failed the netns creation" test $nomem -gt 0
	check_eq "  each is ENOMEM with one log line (or absorbed, and the netns made)" 0 $bad
	# A write to rules (a dozen rules of different shapes, so that every
	# kind of classifier table is built), with every allocation made from
	# ctskip's code failing once the write has used SPACE bytes (retries and
	# kvmalloc's vmalloc fallback fail too), SPACE growing until the write
	# goes through: until then ENOMEM with the rules intact, every time.
	mixed="udp dport 53; tcp dport 80-443; ip saddr 10.0.0.0/8; ip6 daddr 2001:db8::/32; gre; sctp sport 9
ip udp daddr 192.0.2.1 dport 4789; ip6 tcp saddr 2001:db8::1 sport 22; udp sport 1000-2000 dport 3000-4000
icmp; ip udp saddr 198.51.100.0/24 oneway; tcp iif eth0"
	before=$(cat $SYS/rules)
	after=$(printf '%s' "$mixed" | python3 "$TESTS_DIR/errno.py" write $SYS/rules >/dev/null; cat $SYS/rules)
	for what in failslab fail_page_alloc; do
		printf '%s\n' "$before" | python3 "$TESTS_DIR/errno.py" write $SYS/rules >/dev/null
		space=0 fails=0 bad=0 r=
		while [ $space -lt 67108864 ]; do
			arm $what $space
			r=$(printf '%s' "$mixed" | python3 "$TESTS_DIR/errno.py" failwrite $SYS/rules)
			disarm
			[ "$r" = OK ] && break
			if [ "$r" = ENOMEM ] && [ "$(cat $SYS/rules)" = "$before" ]; then
				fails=$((fails + 1))
			else
				bad=$((bad + 1)); echo "# $what $space: $r, or the rules changed"
			fi
			space=$((space < 256 ? space + 32 : space * 5 / 4))
		done
		echo "# $what: $fails writes failed with ENOMEM, then it went through with $space bytes allowed"
		# (Whether the write needs a fresh page at all depends on the slab
		# state: only failslab is sure to hit it.)
		if [ $what = failslab ]; then
			check "$what on ctskip's allocations: writes fail until enough is allowed" test $fails -gt 0 -a "$r" = OK
		else
			check "$what on ctskip's allocations: the write goes through once enough is allowed" test "$r" = OK
		fi
		check_eq "  each failure is ENOMEM with the rules intact" 0 $bad
		check_eq "  then the complete new set" "$after" "$(cat $SYS/rules)"
	done
	# insmod while traffic flows in the existing netns, with the Nth hook
	# registration's allocation failing (the filter is now the kernel's
	# nf_register_net_hook(): only allocations made inside it count), N
	# across every hook of every netns. nf_register_net_hooks() registers a
	# netns's four hooks one by one: when the second (third, fourth) fails,
	# the first was published to packets already, and the netns's counters
	# may be freed only after a grace period (else KASAN reports a use after
	# free, which fails the VM run). Every failed load leaves nothing.
	read -r fstart fend < <(sort /proc/kallsyms | awk 'f { print start, "0x" $1; exit } $3 == "nf_register_net_hook" { start = "0x" $1; f = 1 }')
	for a in failslab fail_page_alloc; do
		echo "$fstart" > $D/$a/require-start
		echo "$fend" > $D/$a/require-end
	done
	check "the filter is nf_register_net_hook() ($fstart-$fend)" test -n "$fstart" -a -n "$fend"
	check "rmmod before the faulted loads" unload
	ip netns exec "$A" ping -q -i 0.01 10.0.1.2 >/dev/null 2>&1 & p4=$!
	ip netns exec "$A" ping -q -i 0.01 fd00:1::2 >/dev/null 2>&1 & p6=$!
	sleep 0.5
	n=0 hit=0 failed=0 bad=0 r=
	while [ $n -lt 60 ]; do
		n=$((n + 1))
		r=$(python3 "$TESTS_DIR/errno.py" nth $n insmod "$KO" 'rules="udp dport 53; tcp dport 80"')
		[ "$r" = "OK unreached" ] && break
		hit=$((hit + 1))
		case $r in
		"OK consumed") unload || { bad=$((bad + 1)); echo "# load with hook allocation $n failed: loaded, but rmmod failed"; } ;;
		*" consumed")
			failed=$((failed + 1))
			if grep -q '^ctskip ' /proc/modules || [ -e $SYS ] || ip netns exec "$A" test -e /proc/net/ctskip; then
				bad=$((bad + 1)); echo "# load with hook allocation $n failed ($r) but left something registered"
			fi ;;
		*) bad=$((bad + 1)); echo "# load with hook allocation $n failed: $r" ;;
		esac
	done
	kill $p4 $p6 2>/dev/null; wait $p4 $p6 2>/dev/null
	echo "# module load: $hit hook registrations' allocations, $failed loads failed"
	# Four hooks in each of at least three netns (init, A, B).
	check "load under traffic: every hook registration's allocation was failed in turn" test $hit -ge 12 -a "$r" = "OK unreached"
	check "  loads failed in later hook registrations too (more than one failure per netns)" test $failed -ge 6
	check_eq "  a failed load leaves nothing registered; a good one unloads" 0 $bad
	# The last load went through unfaulted ("unreached"): it stays loaded.
	check "loaded after the faulted loads" grep -q '^ctskip ' /proc/modules
	for a in failslab fail_page_alloc; do echo 0 > $D/$a/require-start; echo 0xffffffffffffffff > $D/$a/require-end; done
else
	not_ok "fault injection's stack filter (failslab/require-start) is in this kernel: CONFIG_FAULT_INJECTION_STACKTRACE_FILTER"
fi
off=$(tracked_off "$A" "$B" talk "$A" udp 10.0.1.2 53 -n 2)
check "with ctskip off the same flow is tracked in A and B (positive control: $off)" both_tracked "$off"
check "existing netns still work: answered" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "existing netns still untracked" 0 "$(ct_count "$B" -p udp --dport 53)"
new_netns C && check "a new netns afterwards has the counters file" ip netns exec "$C" test -r /proc/net/ctskip
check "rmmod" unload
done_testing
