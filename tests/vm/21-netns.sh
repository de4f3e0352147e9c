#!/bin/bash
# Every netns is covered, including ones created after insmod; loopback
# inside a netns; packets that already carry conntrack state are left alone.
. "$(dirname "$0")/lib.sh"
plan 14

load 'rules="udp dport 5353; tcp dport 8080"' || { not_ok "insmod"; done_testing; exit; }

# A pair created after the module was loaded.
pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 5353
serve "$B" tcp fd00:1::2 8080
both_flows() { talk "$A" udp 10.0.1.2 5353 -n 3 && talk "$A" tcp fd00:1::2 8080 -n 3; }
off=$(tracked_off "$A" "$B" both_flows)
check "netns created after insmod: with ctskip off the same flows are tracked in A and B (positive control: $off)" both_tracked "$off"
check "netns created after insmod: udp answered" talk "$A" udp 10.0.1.2 5353 -n 3
check "netns created after insmod: tcp answered" talk "$A" tcp fd00:1::2 8080 -n 3
check_eq "netns created after insmod: nothing tracked in A" 0 "$(ct_count "$A")"
check_eq "netns created after insmod: nothing tracked in B" 0 "$(ct_count "$B")"

# Loopback inside a netns: LOCAL_OUT marks the packet; on re-entry at
# PRE_ROUTING it already carries that state and is left alone.
new_netns L
ct_active "$L"
serve "$L" udp 127.0.0.1 5353
serve "$L" udp 127.0.0.1 5354
before=$(ctstat "$L" already_tracked)
check "loopback matched flow answered" talk "$L" udp 127.0.0.1 5353 -n 4
check_eq "loopback matched flow not tracked" 0 "$(ct_count "$L" -p udp --dport 5353)"
check "loopback re-entry counted as already tracked" test "$(( $(ctstat "$L" already_tracked) - before ))" -ge 8
check "loopback unmatched flow answered" talk "$L" udp 127.0.0.1 5354 -n 1
check_eq "loopback unmatched flow tracked" 1 "$(ct_count "$L" -p udp --dport 5354)"

# A raw-table CT rule gives the packet a template (zone 7) before ctskip's
# hook: ctskip must leave it alone, so conntrack tracks it in zone 7.
ip netns exec "$B" iptables -t raw -A PREROUTING -p udp --dport 5353 -j CT --zone 7
ct_flush "$A"; ct_flush "$B"
before=$(ctstat "$B" already_tracked)
check "raw CT zone: udp answered" talk "$A" udp 10.0.1.2 5353 -n 2
check_eq "raw CT zone: B tracks the flow in zone 7" 1 "$(ct_count "$B" -p udp --dport 5353 -w 7)"
check "raw CT zone: counted as already tracked" test "$(( $(ctstat "$B" already_tracked) - before ))" -ge 2
check_eq "raw CT zone: A (no raw rule) still skips it" 0 "$(ct_count "$A" -p udp)"
done_testing
