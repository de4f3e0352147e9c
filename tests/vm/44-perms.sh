#!/bin/bash
# Permissions: only CAP_NET_ADMIN in the initial user namespace changes or
# reads the rules and their counts (rules 0600, hits 0400, the rules
# parameter 0400, and a check with
# the opener's credentials), a root in a user namespace (a container) is
# refused, a descriptor keeps its opener's rights, refusals are logged
# within a rate limit, and a netns's counters are not readable from another
# netns (EACCES exactly).
. "$(dirname "$0")/lib.sh"
plan 45
E="python3 $TESTS_DIR/errno.py"
U="setpriv --reuid 65534 --regid 65534 --clear-groups"
NOCAP="setpriv --bounding-set -net_admin --inh-caps -net_admin"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }
for f in rules add del enabled stage commit; do
	check_eq "user-namespace root: $f is EPERM" EPERM "$(printf '1' | unshare -Ur $E write $SYS/$f)"
	check_eq "non-root user: $f cannot be written" EACCES "$(printf '1' | $U python3 "$UTESTS/errno.py" write $SYS/$f)"
done
check_eq "rules unchanged" "udp dport 53" "$(cat $SYS/rules)"

# Reading the rules and their counts (every netns's traffic volumes).
check_eq "root reads rules (positive control)" "udp dport 53" "$(cat $SYS/rules)"
check_eq "root reads hits (positive control)" "0 0 udp dport 53" "$(cat $SYS/hits)"
for f in rules hits; do
	check_eq "non-root user: $f cannot be read (EACCES)" EACCES "$($U python3 "$UTESTS/errno.py" read $SYS/$f)"
	check_eq "user-namespace root: reading $f is EPERM" EPERM "$(unshare -Ur $E read $SYS/$f)"
	check_eq "root without CAP_NET_ADMIN: reading $f is EPERM" EPERM "$($NOCAP $E read $SYS/$f)"
done
check_eq "non-root user reads enabled" 1 "$($U cat $SYS/enabled)"
# The load-time rules are the host's policy too (mode 0400).
P=/sys/module/ctskip/parameters/rules
check_eq "root reads the rules parameter (positive control)" "udp dport 53" "$(cat $P)"
check_eq "non-root user: the rules parameter cannot be read (EACCES)" EACCES "$($U python3 "$UTESTS/errno.py" read $P)"
# A container's root: root of a user namespace whose uid outside is 65534.
check_eq "container root: the rules parameter cannot be read (EACCES)" EACCES "$($U unshare -Ur python3 "$UTESTS/errno.py" read $P)"
check_eq "root without CAP_NET_ADMIN: writing add is EPERM" EPERM "$(printf 'udp dport 1' | $NOCAP $E write $SYS/add)"

# A descriptor opened without CAP_NET_ADMIN keeps its opener's rights, even
# when a process that has it uses it.
check_eq "descriptor opened without CAP_NET_ADMIN, written with it: EPERM" EPERM "$(printf 'udp dport 2' | $E handwrite $SYS/add)"
check_eq "descriptor opened without CAP_NET_ADMIN, read with it: EPERM" EPERM "$($E handread $SYS/hits)"
check_eq "  rules unchanged" "udp dport 53" "$(cat $SYS/rules)"

# Refusals are logged, within the shared budget (20 lines per 5 seconds).
sleep 6
mark flood
# One process, 100 writes in well under the 5-second interval.
check_eq "100 writes by a user-namespace root: all EPERM" "EPERM 100" "$(printf 'udp dport 3' | unshare -Ur $E repeat 100 $SYS/add)"
lines=$(kmsg_since flood | grep -c 'ctskip: add: permission denied')
check "  logged (positive control: $lines lines)" test "$lines" -ge 1
check "  at most 20 lines of them ($lines)" test "$lines" -le 20

# Another netns's counters: a process in netns B, owned by the real root.
new_netns B
ip netns exec "$B" sleep 300 & pid=$!
sleep 0.5
check "root reads netns B's counters through /proc/PID/net" sh -c "cat /proc/$pid/net/ctskip >/dev/null"
check_eq "a non-root user of another netns cannot read them: EACCES" EACCES "$($U python3 "$UTESTS/errno.py" read /proc/$pid/net/ctskip)"
# A container's root maps to an unprivileged host uid (here 65534).
C="$U unshare -Urn"
check_eq "a container root (user namespace) cannot read them: EACCES" EACCES "$($C python3 "$UTESTS/errno.py" read /proc/$pid/net/ctskip)"
check_eq "  the same reader gets its own netns's counters (positive control)" OK "$($C python3 "$UTESTS/errno.py" read /proc/net/ctskip)"
check "a container root reads its own netns's counters" sh -c "$C cat /proc/net/ctskip | grep -q '^seen 0$'"
kill $pid
for f in rules:600 add:200 del:200 enabled:644 hits:400 stage:200 commit:200; do
	check_eq "mode of ${f%%:*}" "${f#*:}" "$(/usr/bin/stat -c %a $SYS/${f%%:*})"
done
check_eq "mode of /proc/net/ctskip" 444 "$(/usr/bin/stat -c %a /proc/net/ctskip)"
done_testing
