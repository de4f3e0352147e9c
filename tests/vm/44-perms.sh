#!/bin/bash
# Permissions: a root in a user namespace (a container) cannot change rules
# and cannot read another netns's counters; a non-root user cannot write;
# the files have their modes.
. "$(dirname "$0")/lib.sh"
plan 28
E="python3 $TESTS_DIR/errno.py"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }
for f in rules add del enabled stage commit; do
	check_eq "user-namespace root: $f is EPERM" EPERM "$(printf '1' | unshare -Ur $E write $SYS/$f)"
	check_eq "non-root user: $f cannot be written" EACCES "$(printf '1' | setpriv --reuid 65534 --regid 65534 --clear-groups python3 "$UTESTS/errno.py" write $SYS/$f)"
done
check_eq "rules unchanged" "udp dport 53" "$(cat $SYS/rules)"
U="setpriv --reuid 65534 --regid 65534 --clear-groups"
check_eq "non-root user can read rules" "udp dport 53" "$($U cat $SYS/rules)"
check_eq "non-root user can read hits" "0 0 udp dport 53" "$($U cat $SYS/hits)"
check "non-root user can read its /proc/net/ctskip" sh -c "$U cat /proc/net/ctskip | grep -q '^seen '"

# Another netns's counters: a process in netns B, owned by the real root.
new_netns B
ip netns exec "$B" sleep 300 & pid=$!
sleep 0.5
check "root reads netns B's counters through /proc/PID/net" sh -c "cat /proc/$pid/net/ctskip >/dev/null"
# A container's root maps to an unprivileged host uid (here 65534).
C="setpriv --reuid 65534 --regid 65534 --clear-groups unshare -Urn"
check_eq "a container root (user namespace) cannot read them: EACCES" EACCES "$($C python3 "$UTESTS/errno.py" read /proc/$pid/net/ctskip)"
check_eq "  the same reader gets its own netns's counters (positive control)" OK "$($C python3 "$UTESTS/errno.py" read /proc/net/ctskip)"
check "a container root reads its own netns's counters" sh -c "$C cat /proc/net/ctskip | grep -q '^seen 0$'"
kill $pid
for f in rules:644 add:200 del:200 enabled:644 hits:444 stage:200 commit:200; do
	check_eq "mode of ${f%%:*}" "${f#*:}" "$(/usr/bin/stat -c %a $SYS/${f%%:*})"
done
check_eq "mode of /proc/net/ctskip" 444 "$(/usr/bin/stat -c %a /proc/net/ctskip)"
done_testing
