#!/bin/bash
# Concurrency stress: at once, traffic in 20 netns over IPv4 and IPv6, a loop
# replacing the rule set (small sets, and every tenth a 1,000-rule set), a loop creating and deleting
# netns, readers of /proc/net/ctskip and hits. Then rmmod/insmod cycles under
# traffic. No kernel report (the VM runner checks), traffic keeps flowing,
# matched flows stay untracked and unmatched ones tracked.
. "$(dirname "$0")/lib.sh"
plan 11
# CTSKIP_SCALE=full (make check FULL=1) runs the long storm; the default
# (what CI runs) a third of it, with the same shapes.
if [ "${CTSKIP_SCALE:-}" = full ]; then
	REPLACES=1000 CHURN=200 CYCLES=20
else
	REPLACES=300 CHURN=60 CYCLES=8
fi
REPLACES=${CTSKIP_STRESS_REPLACES:-$REPLACES} CHURN=${CTSKIP_STRESS_NETNS:-$CHURN} CYCLES=${CTSKIP_STRESS_CYCLES:-$CYCLES}
PAIRS=10

load 'rules="udp dport 5353; tcp dport 8080"' || { not_ok "insmod"; done_testing; exit; }
for i in $(seq $PAIRS); do
	pair C$i S$i || { not_ok "topology"; done_testing; exit; }
	s=S$i
	serve "${!s}" udp 10.0.1.2 5353
	serve "${!s}" tcp fd00:1::2 8080
	serve "${!s}" udp fd00:1::2 6000
done
small="udp dport 5353\ntcp dport 8080"
printf "$small\n" > /tmp/small-$$
# A large set (1,000 rules of mixed shapes), the matched rules first.
python3 -c 'import random; r=[f"udp dport {n}" for n in range(10000, 10700)]+[f"ip saddr 10.{n}.0.0/16" for n in range(150)]+[f"ip6 tcp daddr 2001:db8:{n:x}::/48 dport 1-1024" for n in range(148)]; random.seed(1); random.shuffle(r); print("\n".join(["udp dport 5353", "tcp dport 8080"] + r))' > /tmp/large-$$

FLOODS=()
flood_all() { # flood_all SECONDS TAG: matched and unmatched traffic in every pair
	local i c
	FLOODS=()
	for i in $(seq $PAIRS); do
		c=C$i
		ip netns exec "${!c}" $TRAFFIC flood udp 10.0.1.2 5353 --seconds $1 > /tmp/fl-$2-u4-$i-$$ &
		FLOODS+=($!)
		ip netns exec "${!c}" $TRAFFIC flood tcp fd00:1::2 8080 --seconds $1 > /tmp/fl-$2-t6-$i-$$ &
		FLOODS+=($!)
		ip netns exec "${!c}" $TRAFFIC flood udp fd00:1::2 6000 --seconds $1 > /tmp/fl-$2-u6-$i-$$ &
		FLOODS+=($!)
	done
}
flood_result() { # flood_result TAG: "sent echoed" summed
	cat /tmp/fl-$1-*-$$ | awk '{s += $2; e += $4} END {print s + 0, e + 0}'
	rm -f /tmp/fl-$1-*-$$
}

# Phase 1: everything at once.
flood_all $((REPLACES > 300 ? 90 : 40)) p1
(
	python3 "$TESTS_DIR/replace-loop.py" $REPLACES /tmp/small-$$ /tmp/large-$$ > /tmp/replace-out-$$
	echo "done" > /tmp/replaces-$$
) &
workers=($!)
(
	python3 "$TESTS_DIR/netns-churn.py" $CHURN --expect-untracked -1 > /tmp/churn-out-$$
	echo "done" > /tmp/churn-$$
) &
workers+=($!)
(
	while [ ! -e /tmp/churn-$$ ] || [ ! -e /tmp/replaces-$$ ]; do
		for i in 1 5 10; do c=C$i; ip netns exec "${!c}" cat /proc/net/ctskip >/dev/null; done
		cat $SYS/hits > /dev/null
	done
) &
workers+=($!)
# Only what this phase started: the echo servers run until cleanup.
wait "${workers[@]}" "${FLOODS[@]}"
check "rule replaces finished" test -e /tmp/replaces-$$
cat /tmp/replace-out-$$
check_eq "every replace succeeded ($((REPLACES / 10)) of them large sets)" "replaces $REPLACES errors 0 large $((REPLACES / 10))" "$(tail -1 /tmp/replace-out-$$)"
check "netns churn finished" test -e /tmp/churn-$$
check_eq "netns churn: all $CHURN made" $CHURN "$(awk '{print $2}' /tmp/churn-out-$$)"
read -r sent echoed < <(flood_result p1)
echo "# phase 1: sent $sent, echoed $echoed"
check "phase 1: traffic flowed" test "$echoed" -gt 0
check "phase 1: at most 1% lost" test $((sent - echoed)) -le $((sent / 100))

# After the storm: matched untracked, unmatched tracked, in every pair.
setw $SYS/rules "$small"
bad=0
for i in $(seq $PAIRS); do
	c=C$i s=S$i
	ct_flush "${!c}"; ct_flush "${!s}"
	talk "${!c}" udp 10.0.1.2 5353 -n 2 >/dev/null && talk "${!c}" udp fd00:1::2 6000 -n 1 >/dev/null || bad=$((bad + 1))
	[ "$(ct_count "${!s}" -p udp --dport 5353)" = 0 ] || bad=$((bad + 1))
	[ "$(ct_count "${!s}" -p udp --dport 6000)" = 1 ] || bad=$((bad + 1))
done
check_eq "after the storm: every pair untracks matched and tracks unmatched flows" 0 $bad

# Phase 2: rmmod/insmod cycles under traffic.
flood_all $((CYCLES > 8 ? 60 : 30)) p2
sleep 3
cyc=0
for i in $(seq $CYCLES); do
	unload && load 'rules="udp dport 5353; tcp dport 8080"' && cyc=$((cyc + 1))
	sleep 0.5
done
wait "${FLOODS[@]}"
check_eq "$CYCLES rmmod/insmod cycles under traffic" $CYCLES $cyc
read -r sent echoed < <(flood_result p2)
echo "# phase 2: sent $sent, echoed $echoed"
check "phase 2: traffic flowed" test "$echoed" -gt 0
check "phase 2: at most 1% lost" test $((sent - echoed)) -le $((sent / 100))
check "rmmod" unload
rm -f /tmp/replaces-$$ /tmp/churn-$$ /tmp/churn-out-$$ /tmp/replace-out-$$ /tmp/small-$$ /tmp/large-$$
done_testing
