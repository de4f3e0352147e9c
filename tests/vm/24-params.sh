#!/bin/bash
# Module parameters: rules, priority, enabled. Any invalid value makes insmod
# fail with EINVAL and a log line; nothing stays registered.
. "$(dirname "$0")/lib.sh"
plan 94

E="python3 $TESTS_DIR/errno.py insmod $KO"

nothing_left() {
	! grep -q '^ctskip ' /proc/modules && [ ! -e $SYS ] && [ ! -e /proc/net/ctskip ]
}
# unload_leftover: if a check above failed by loading, unload for the next.
unload_leftover() { if grep -q '^ctskip ' /proc/modules; then rmmod ctskip; fi; }
# log_lines MARK: the kernel log since MARK without timestamps, less the
# kernel's one-time notice that an out-of-tree module taints it (the first
# load of the boot prints it, whatever its parameters).
# (Lines of the kernel's own timekeeping, which a loaded TCG guest logs at
# any moment, are not the module's: left out. Whatever else is logged
# counts.)
log_lines() {
	kmsg_since "$1" | sed 's/^\[[ 0-9.]*\] //' | grep -v -e 'taints kernel' -e 'module verification failed' \
		-e '^clocksource: ' -e '^tsc: ' -e '^TSC found unstable' -e '^sched_clock: '
}
# refused MARK LINE ARGS...: `insmod ctskip.ko ARGS...` as typed fails with
# EINVAL (kmod's insmod says "Invalid parameters"), the log gets exactly LINE,
# and nothing is loaded.
refused() {
	local m=$1 line=$2 msg; shift 2
	mark "$m"
	msg=$(insmod "$KO" "$@" 2>&1)
	check "insmod ctskip.ko $*: fails with EINVAL (\"Invalid parameters\")" grep -q 'Invalid parameters' <<< "$msg"
	check_eq "  exactly one log line, naming the parameter and the value" "$line" "$(log_lines "$m")"
	check "  nothing loaded" nothing_left
	unload_leftover
}

mark bad-rules
check_eq "bad rules parameter: EINVAL" EINVAL "$($E 'rules="udp dport 53;udp dport 70000"')"
check_eq "bad rules parameter: exactly one log line" 'ctskip: parameter rules: rule 2 "udp dport 70000": bad port or port range "70000"' "$(log_lines bad-rules)"
check "bad rules parameter: nothing registered" nothing_left
for p in -400 -200 -500 0 100; do
	mark prio$p
	check_eq "priority $p: EINVAL" EINVAL "$($E "priority=$p")"
	check_eq "priority $p: exactly one log line" "ctskip: parameter priority: $p is out of range (must be greater than -400 and less than -200)" "$(log_lines prio$p)"
	check "priority $p: nothing registered" nothing_left
done
check_eq "priority abc: EINVAL" EINVAL "$($E 'priority=abc')"
check "priority abc: nothing registered" nothing_left
check_eq "enabled maybe: EINVAL" EINVAL "$($E 'enabled=maybe')"

# Each parameter with a bad value, typed as a user types it: one log line
# each (the kernel's own for a value that is not an int or a bool).
refused bad-enabled "ctskip: \`maybe' invalid for parameter \`enabled'" enabled=maybe
refused bad-enabled2 "ctskip: \`2' invalid for parameter \`enabled'" enabled=2
refused bad-prio "ctskip: \`abc' invalid for parameter \`priority'" priority=abc
refused bad-prio2 "ctskip: parameter priority: -200 is out of range (must be greater than -400 and less than -200)" priority=-200
refused bad-rules2 'ctskip: parameter rules: rule 2 "udp dport 70000": bad port or port range "70000"' rules='"udp dport 53; udp dport 70000"'
refused bad-rules3 'ctskip: parameter rules: rule 1 "bogus": unknown keyword "bogus"' rules=bogus

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
mark p399
check_eq "priority -399 loads" OK "$($E 'priority=-399')"
check "  the log says raw-table CT rules will not apply before the raw table" grep -qF 'ctskip: priority -399 runs before the raw table (-300)' <(kmsg_since p399)
check "unload" unload
mark p201
check_eq "priority -201 loads" OK "$($E 'priority=-201')"
check "  the version line is logged (positive control)" grep -qF 'ctskip: version' <(kmsg_since p201)
check "  no raw-table warning after the raw table" not_in_log 'runs before the raw table' p201
check "unload" unload
check "insmod from the shell with inner quotes: rules='\"...\"'" insmod "$KO" 'rules="udp dport 53; tcp dport 11211"'
check_eq "shell-quoted rules active" "$(printf 'udp dport 53\ntcp dport 11211')" "$(cat $SYS/rules)"
check "unload" unload

# enabled=0 on the command line: loaded, marking nothing (the bool parameter
# reads N, the enabled file 0), so matched traffic is tracked; after
# `echo 1 > enabled` the same traffic is untracked (the positive control).
pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53
check "insmod ctskip.ko enabled=0 rules='\"udp dport 53\"'" insmod "$KO" enabled=0 rules='"udp dport 53"'
check_eq "  the parameter reads N" N "$(cat /sys/module/ctskip/parameters/enabled)"
check_eq "  the enabled file reads 0" 0 "$(cat $SYS/enabled)"
check "  DNS traffic flows" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and is tracked in B" 1 "$(ct_count "$B" -p udp --dport 53)"
check_eq "  and in A" 1 "$(ct_count "$A" -p udp --dport 53)"
check_eq "  nothing counted as untracked" "0 0" "$(ctstat "$A" untracked) $(ctstat "$B" untracked)"
ct_flush "$A"; ct_flush "$B"
echo 1 > $SYS/enabled
check_eq "echo 1 > enabled: the file reads 1" 1 "$(cat $SYS/enabled)"
check_eq "  the parameter reads Y" Y "$(cat /sys/module/ctskip/parameters/enabled)"
check "  the same DNS traffic flows" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and is not tracked in B" 0 "$(ct_count "$B" -p udp --dport 53)"
check_eq "  nor in A" 0 "$(ct_count "$A" -p udp --dport 53)"
check_eq "  counted as untracked (2 requests, 2 replies on each side)" "4 4" "$(ctstat "$A" untracked) $(ctstat "$B" untracked)"

# The control files' limits. enabled and commit take 1 or 0 only: a write of
# a page or more (kernfs hands over a page at a time) is EINVAL and changes
# nothing. rules, add, del and stage take up to 16 MiB per open file (EFBIG
# beyond: rules and add in 32-writers, stage in 27-stage, del here).
L=$(mktemp -d)
errname() { python3 "$TESTS_DIR/errno.py" errname < "$1"; }
head -c 5000 /dev/zero | tr '\0' 1 > $L/ones
echo 0 > $SYS/enabled || not_ok "setting up: the write to enabled failed"
cat $L/ones 2>$L/err > $SYS/enabled
check_eq "cat of 5000 bytes of 1s > enabled: EINVAL" EINVAL "$(errname $L/err)"
printf '1%4095s' '' 2>$L/err > $SYS/enabled
check_eq "printf '1%4095s' > enabled (a whole page): EINVAL" EINVAL "$(errname $L/err)"
check_eq "  enabled still 0" 0 "$(cat $SYS/enabled)"
echo 1 > $SYS/enabled || not_ok "setting up: the write to enabled failed"
echo 'tcp dport 80' > $SYS/stage || not_ok "setting up: the write to stage failed"
cat $L/ones 2>$L/err > $SYS/commit
check_eq "cat of 5000 bytes of 1s > commit: EINVAL" EINVAL "$(errname $L/err)"
printf '1%4095s' '' 2>$L/err > $SYS/commit
check_eq "printf '1%4095s' > commit (a whole page): EINVAL" EINVAL "$(errname $L/err)"
check_eq "  the active set unchanged" "udp dport 53" "$(cat $SYS/rules)"
echo 1 2>$L/err > $SYS/commit
check_eq "  the stage is intact: echo 1 > commit applies it" "" "$(cat $L/err)"
check_eq "  the staged set is active" "tcp dport 80" "$(cat $SYS/rules)"
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' '\n' > $L/huge
echo 'tcp dport 80' >> $L/huge
mark del-efbig
cat $L/huge 2>$L/err > $SYS/del
check_eq "cat of 16 MiB + a rule > del: EFBIG" EFBIG "$(errname $L/err)"
check_eq "  the rule is still there" "tcp dport 80" "$(cat $SYS/rules)"
check_eq "  one log line" "ctskip: del: the text would exceed 16777216 bytes (EFBIG)" "$(log_lines del-efbig)"
rm -rf $L
done_testing
