#!/bin/bash
# 200 netns created and deleted with traffic while ctskip is loaded: each
# new netns starts at zero, nothing leaks (kmemleak is checked by the VM
# runner on the debug kernel).
. "$(dirname "$0")/lib.sh"

load 'rules="icmp; udp dport 5555"' || { not_ok "insmod"; done_testing; exit; }
bad=0 zero=0
for i in $(seq 200); do
	ns=cts-churn-$$-$i
	ip netns add $ns || { bad=$((bad + 1)); continue; }
	ip -n $ns link set lo up
	[ "$(ip netns exec $ns awk '$1 == "untracked" { print $2 }' /proc/net/ctskip)" = 0 ] && zero=$((zero + 1))
	ip netns exec $ns ping -c 1 -W 1 -q 127.0.0.1 >/dev/null || bad=$((bad + 1))
	if [ $((i % 20)) = 0 ]; then
		u=$(ip netns exec $ns awk '$1 == "untracked" { print $2 }' /proc/net/ctskip)
		[ "$u" = 2 ] || { echo "# netns $i: untracked $u, want 2 (request and reply at LOCAL_OUT)"; bad=$((bad + 1)); }
	fi
	ip netns del $ns
done
check_eq "200 netns: created, pinged, counted, deleted" 0 $bad
check_eq "every new netns started at zero" 200 $zero
check "rmmod after churn" unload
done_testing
