#!/bin/bash
# In-guest scale measurements (release kernel, plain TCG):
#  - the table-full scenario over 100 netns (50 client/server pairs), each
#    client holding long-lived flows with nf_conntrack_max low: flows lost
#    and conntrack entries, without and with ctskip;
#  - ctskip's memory per netns (over 1,000 netns) and per rule.
# Prints "key value" lines.
set -u
KO=${CTSKIP_KO:?}
CTSKIP_NO_TAP=1 . "$(dirname "$0")/../vm/lib.sh"
PAIRS=${SCALE_PAIRS:-50} FLOWS=${SCALE_FLOWS:-30} MAX=${SCALE_MAX:-20}

sysctl -qw net.netfilter.nf_conntrack_max=$MAX
for i in $(seq $PAIRS); do
	pair C$i S$i >/dev/null 2>&1 || { echo "error topology $i"; exit 1; }
	s=S$i
	serve "${!s}" tcp 10.0.1.2 7000
	serve "${!s}" udp 10.0.1.2 7001
done

flows() { # flows TIMEOUT: every client opens FLOWS TCP + FLOWS UDP flows at once
	local i c n max=0 total=0 pids=()
	for i in $(seq $PAIRS); do
		c=C$i
		ip netns exec "${!c}" $TRAFFIC hold tcp 10.0.1.2 7000 -n $FLOWS --timeout $1 --hold 5 > /tmp/sc-t-$i &
		pids+=($!)
		ip netns exec "${!c}" $TRAFFIC hold udp 10.0.1.2 7001 -n $FLOWS --timeout $1 --hold 5 > /tmp/sc-u-$i &
		pids+=($!)
	done
	sleep 4
	for i in $(seq $PAIRS); do
		c=C$i s=S$i
		for ns in "${!c}" "${!s}"; do
			# A conntrack that fails is no figure (never a 0 entries).
			n=$(ip netns exec "$ns" conntrack -C 2>&1)
			[[ $n =~ ^[0-9]+$ ]] || { echo "conntrack -C failed in $ns: $n" >&2; total=FAILED; break 2; }
			total=$((total + n)); [ "$n" -gt "$max" ] && max=$n
		done
	done
	wait "${pids[@]}"
	echo "$(cat /tmp/sc-* | awk '{s += $2} END {print s}') $total $max"
	rm -f /tmp/sc-*
}
want=$((2 * FLOWS * PAIRS))
mark without
read -r ok total max < <(flows 1)
echo "tablefull_without_flows_ok $ok"
echo "tablefull_without_flows_lost $((want - ok))"
echo "tablefull_without_conntrack_total $total"
echo "tablefull_without_conntrack_max_netns $max"
echo "tablefull_without_log_lines $(kmsg_since without | grep -c 'table full')"
for i in $(seq $PAIRS); do c=C$i s=S$i; ct_flush "${!c}"; ct_flush "${!s}"; done
insmod "$KO" 'rules="tcp dport 7000; udp dport 7001"' || { echo "insmod failed" >&2; exit 1; }
mark with
read -r ok total max < <(flows 3)
echo "tablefull_with_flows_ok $ok"
echo "tablefull_with_flows_lost $((want - ok))"
echo "tablefull_with_conntrack_total $total"
echo "tablefull_with_conntrack_max_netns $max"
echo "tablefull_with_log_lines $(kmsg_since with | grep -c 'table full')"
echo "tablefull_flows_wanted $want"
echo "tablefull_netns $((2 * PAIRS))"
rmmod ctskip
for i in $(seq $PAIRS); do c=C$i s=S$i; ip netns del "${!c}"; ip netns del "${!s}"; done
_netns=()
pkill -f traffic.py; sleep 1

# Memory. The kernel's own accounting: slab (unreclaimable), percpu and
# vmalloc, in KiB.
mem() { awk '/^SUnreclaim:|^Percpu:|^VmallocUsed:/ {s += $2} END {print s}' /proc/meminfo; }
settle() { sync; echo 3 > /proc/sys/vm/drop_caches; sleep 2; }
NS=${SCALE_NETNS:-1000}
for i in $(seq $NS); do ip netns add m$i; done
settle; before=$(mem)
insmod "$KO"
settle; after=$(mem)
echo "memory_netns_count $NS"
echo "memory_per_netns_bytes $(( (after - before) * 1024 / NS ))"
for i in $(seq $NS); do ip netns del m$i; done
rmmod ctskip; settle
insmod "$KO"
settle; before=$(mem)
python3 "$(dirname "$0")/rulegen.py" ctskip 10000 > /tmp/r10k
python3 "$(dirname "$0")/load-rules.py" /tmp/r10k
settle; after=$(mem)
echo "memory_rules $(wc -l < /sys/kernel/ctskip/rules)"
echo "memory_per_rule_bytes $(( (after - before) * 1024 / 10000 ))"
rmmod ctskip
