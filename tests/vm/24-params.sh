#!/bin/bash
# Module parameters: rules, priority, enabled. Any invalid value makes insmod
# fail with EINVAL and a log line; nothing stays registered.
. "$(dirname "$0")/lib.sh"

E="python3 $TESTS_DIR/errno.py insmod $KO"

nothing_left() {
	! grep -q '^ctskip ' /proc/modules && [ ! -e $SYS ] && [ ! -e /proc/net/ctskip ]
}

mark bad-rules
check_eq "bad rules parameter: EINVAL" EINVAL "$($E 'rules="udp dport 53;udp dport 70000"')"
check "bad rules parameter: log line" grep -q 'ctskip: parameter rules: rule 2 "udp dport 70000": bad port or port range "70000"' <(kmsg_since bad-rules)
check "bad rules parameter: nothing registered" nothing_left
for p in -400 -200 -500 0 100; do
	mark prio$p
	check_eq "priority $p: EINVAL" EINVAL "$($E "priority=$p")"
	check "priority $p: log line" grep -q "ctskip: parameter priority: $p is out of range" <(kmsg_since prio$p)
	check "priority $p: nothing registered" nothing_left
done
check_eq "priority abc: EINVAL" EINVAL "$($E 'priority=abc')"
check "priority abc: nothing registered" nothing_left
check_eq "enabled maybe: EINVAL" EINVAL "$($E 'enabled=maybe')"

check_eq "good parameters load" OK "$($E 'priority=-250 enabled=0 rules="udp dport 53; ip6 tcp dport 80"')"
check_eq "priority visible" -250 "$(cat /sys/module/ctskip/parameters/priority)"
check_eq "enabled visible" 0 "$(cat $SYS/enabled)"
check_eq "rules parameter visible" "udp dport 53; ip6 tcp dport 80" "$(cat /sys/module/ctskip/parameters/rules)"
check_eq "initial rules active" "$(printf 'udp dport 53\nip6 tcp dport 80')" "$(cat $SYS/rules)"
check "unload" unload
check_eq "priority -399 loads" OK "$($E 'priority=-399')"
check "unload" unload
check_eq "priority -201 loads" OK "$($E 'priority=-201')"
check "unload" unload
check "insmod from the shell with quoted rules" insmod "$KO" 'rules="udp dport 53; tcp dport 11211"'
check_eq "shell-quoted rules active" "$(printf 'udp dport 53\ntcp dport 11211')" "$(cat $SYS/rules)"
done_testing
