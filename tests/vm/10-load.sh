#!/bin/bash
# The module loads with its version line, creates its files with the right
# modes, shows its parameters, and unloads cleanly.
. "$(dirname "$0")/lib.sh"
plan 19

mark load
check "insmod" load
check "version line in dmesg" grep -q "ctskip: version [0-9.]* loaded" <(kmsg_since load)
check "lsmod lists ctskip" grep -q "^ctskip " /proc/modules
for f in rules:-rw------- add:--w------- del:--w------- enabled:-rw-r--r-- hits:-r--------; do
	check_eq "mode of $SYS/${f%%:*}" "${f#*:}" "$(stat -c %A $SYS/${f%%:*} 2>/dev/null)"
done
check_eq "mode of /proc/net/ctskip" "-r--r--r--" "$(stat -c %A /proc/net/ctskip)"
check_eq "priority parameter" -201 "$(cat /sys/module/ctskip/parameters/priority)"
check_eq "enabled parameter" Y "$(cat /sys/module/ctskip/parameters/enabled)"
check_eq "enabled file" 1 "$(cat $SYS/enabled)"
check_eq "no rules by default" "" "$(cat $SYS/rules)"
check_eq "procfs names in order" "seen untracked untracked_bytes untracked_ipv4 untracked_ipv6 untracked_prerouting untracked_output already_tracked unparsed untracked_icmp_errors conntrack_count conntrack_max" "$(awk '{print $1}' /proc/net/ctskip | xargs)"
check "rmmod" unload
check "sysfs directory gone" test ! -e $SYS
check "procfs file gone" test ! -e /proc/net/ctskip
check "reload" load
check "unload again" unload
done_testing
