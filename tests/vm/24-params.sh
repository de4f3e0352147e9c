#!/bin/bash
# Module parameters: rules, priority, enabled. Any invalid value makes insmod
# fail with EINVAL and a log line; nothing stays registered.
. "$(dirname "$0")/lib.sh"

E="python3 $TESTS_DIR/errno.py insmod $KO"

nothing_left() {
	! grep -q '^ctskip ' /proc/modules && [ ! -e $SYS ] && [ ! -e /proc/net/ctskip ]
}
# unload_leftover: if a check above failed by loading, unload for the next.
unload_leftover() { if grep -q '^ctskip ' /proc/modules; then rmmod ctskip; fi; }

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

# A rules value with blanks typed with outer quotes only: the shell removes
# them and the kernel splits the value at blanks. Refused, with a line that
# says how to quote it.
split_line=$(cat <<'EOF'
ctskip: parameter rules: the value was split at blanks ("udp" then "dport 53"): quote it as rules='"udp dport 53"' on the command line, or rules="udp dport 53" in modprobe.d
EOF
)
mark split
check "insmod KO rules=\"udp dport 53\" (outer quotes only) fails" fails insmod "$KO" rules="udp dport 53"
check "  nothing registered" nothing_left
check "  the log line says the value was split at blanks" grep -qF 'the value was split at blanks' <(kmsg_since split)
check "  the whole line, as documented" grep -qxF "$split_line" <(kmsg_since split | sed 's/^\[[ 0-9.]*\] //')
unload_leftover
check_eq "  the same arguments through finit_module: EINVAL" EINVAL "$($E 'rules=udp dport 53')"
check "  nothing registered" nothing_left
unload_leftover
mark split-prio
check "insmod KO rules=\"udp dport 53\" priority=-250 fails" fails insmod "$KO" rules="udp dport 53" priority=-250
check "  nothing registered" nothing_left
check "  the log line says the value was split at blanks" grep -qF 'the value was split at blanks' <(kmsg_since split-prio)
unload_leftover
check "insmod KO rules=udp (no blanks) loads" insmod "$KO" rules=udp
check_eq "  the rule is active" udp "$(cat $SYS/rules)"
check "unload" unload
# modprobe passes an options line's value with its quotes: the kernel keeps
# a quoted value whole.
T=$(mktemp -d)
echo 'options ctskip rules="udp dport 53; tcp dport 80"' > $T/ctskip.conf
opts=$(sed -n 's/^options ctskip //p' $T/ctskip.conf)
check_eq "modprobe.d: options ctskip $opts loads (finit_module with the quotes kept)" OK "$($E "$opts")"
check_eq "  both rules active" "$(printf 'udp dport 53\ntcp dport 80')" "$(cat $SYS/rules)"
check "unload" unload
rm -rf $T

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
check "insmod from the shell with inner quotes: rules='\"...\"'" insmod "$KO" 'rules="udp dport 53; tcp dport 11211"'
check_eq "shell-quoted rules active" "$(printf 'udp dport 53\ntcp dport 11211')" "$(cat $SYS/rules)"
done_testing
