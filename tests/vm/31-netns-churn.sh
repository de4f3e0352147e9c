#!/bin/bash
# 200 netns created and deleted with traffic while ctskip is loaded: each
# new netns starts at zero, nothing leaks (kmemleak is checked by the VM
# runner on the debug kernel).
. "$(dirname "$0")/lib.sh"
plan 4

load 'rules="icmp; udp dport 5555"' || { not_ok "insmod"; done_testing; exit; }
read -r _ made _ zero _ good < <(python3 "$TESTS_DIR/netns-churn.py" 200)
check_eq "200 netns created, pinged and deleted" 200 "$made"
check_eq "every new netns started at zero" 200 "$zero"
check_eq "every netns counted its ping: untracked 2 (request and reply at LOCAL_OUT)" 200 "$good"
# Let the deleted netns finish their cleanup before unloading.
sleep 2
check "rmmod after churn" unload
done_testing
