#!/bin/bash
# Staged replace: a set of any size written to `stage` in many pieces, then
# `1` to `commit` replaces the active set at once (all or nothing), `0`
# discards it. A bad line anywhere rejects the whole commit, naming its line.
. "$(dirname "$0")/lib.sh"
E="python3 $TESTS_DIR/errno.py"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }
S=$SYS/stage C=$SYS/commit R=$SYS/rules
T=$(mktemp -d)

# 10,000 rules in canonical form (so the read-back is the same text): udp
# ports 10001-19000 and 1,000 IPv6 prefixes.
{ seq 10001 19000 | sed 's/^/udp dport /'
  for i in $(seq 1 1000); do printf 'ip6 daddr 2001:db8:%x::/48\n' "$i"; done; } > $T/big
check_eq "10,000 rules generated" 10000 "$(wc -l < $T/big)"
check "the staged text is many pages" test "$(stat -c %s $T/big)" -gt 65536

pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 15000
serve "$B" udp 10.0.1.2 53

check_eq "stage: 10,000 rules written in 64 KiB pieces" OK "$($E stream $S < $T/big)"
check_eq "before commit the active set is unchanged" "udp dport 53" "$(cat $R)"
declare -A b0; snap "$B" b0
check_eq "commit" OK "$(printf 1 | $E write $C)"
check_eq "after commit: the staged set is active, in order" "$(md5sum < $T/big)" "$(md5sum < $R)"
check_eq "hits lists 10,000 rules" 10000 "$(wc -l < $SYS/hits)"
check "a port in the new set is untracked" talk "$A" udp 10.0.1.2 15000 -n 3
check_eq "  no conntrack entry for it" 0 "$(ct_count "$B" -p udp --dport 15000)"
check_eq "  3 packets each way untracked in B" 6 "$(delta "$B" b0 untracked)"
check "a port no longer in the set is tracked again" talk "$A" udp 10.0.1.2 53 -n 1
check "  it has a conntrack entry" test "$(ct_count "$B" -p udp --dport 53)" -ge 1
check_eq "the committed stage is gone: commit again is ENODATA" ENODATA "$(printf 1 | $E write $C)"

# A bad line anywhere: EINVAL naming the line, nothing changes.
sed '7777s/.*/udp dport 99999/' $T/big > $T/bad
$E stream $S < $T/bad >/dev/null
mark badline
check_eq "commit with a bad line is EINVAL" EINVAL "$(printf 1 | $E write $C)"
check_eq "the log line names line, rule, text and word" \
	'ctskip: commit: line 7777: rule 7777 "udp dport 99999": bad port or port range "99999"' \
	"$(kmsg_since badline | sed 's/^\[[ 0-9.]*\] //' | grep '^ctskip:')"
check_eq "active set unchanged after the failed commit" "$(md5sum < $T/big)" "$(md5sum < $R)"
# Comments and blank lines count as lines.
printf '# ctskip rules\n\nudp dport 1; udp dport 2\nudp dport 3 bogus\n' | $E stream $S >/dev/null
mark comment
check_eq "line numbers count comments and blank lines" EINVAL "$(printf 1 | $E write $C)"
check "  the log line says line 4, rule 3" sh -c "dmesg | sed -n '/ctskip-test-mark comment\$/,\$p' | grep -qF 'commit: line 4: rule 3 \"udp dport 3 bogus\": unknown keyword \"bogus\"'"

# More than 65,536 rules: ENOSPC, nothing changes.
seq 1 65537 | awk '{ printf "udp sport %d dport %d\n", $1 % 65536, int($1 / 65536) }' > $T/toomany
$E stream $S < $T/toomany >/dev/null
check_eq "commit of 65,537 rules is ENOSPC" ENOSPC "$(printf 1 | $E write $C)"
check_eq "active set unchanged after ENOSPC" "$(md5sum < $T/big)" "$(md5sum < $R)"

# Discard with 0.
printf 'udp dport 7\n' | $E write $S >/dev/null
check_eq "commit 0 discards the stage" OK "$(printf 0 | $E write $C)"
check_eq "  and then there is nothing to commit" ENODATA "$(printf 1 | $E write $C)"
check_eq "  the active set is unchanged" "$(md5sum < $T/big)" "$(md5sum < $R)"
check_eq "commit: a bad value is EINVAL" EINVAL "$(printf 2 | $E write $C)"

# Pieces must continue the staged text from the same open file.
check_eq "a piece at a gap is EINVAL" EINVAL "$(printf 'udp dport 8\n' | $E pwrite $S 100)"
check_eq "two writers: the second cannot continue the first's stage (EBUSY); the first goes on" \
	"EBUSY OK" "$($E stagerace $S)"
check_eq "the first writer's stage commits" OK "$(printf 1 | $E write $C)"
check_eq "  with exactly its text" "$(printf 'udp dport 1\nudp dport 2')" "$(cat $R)"
check_eq "a piece that does not continue the stage is EINVAL" EINVAL "$($E stagegap $S)"
check_eq "  and it discards the whole stage" ENODATA "$(printf 1 | $E write $C)"

# Size limit: more than 16 MiB is EFBIG and discards the stage.
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '\n' > $T/huge
check_eq "a stage over 16 MiB is EFBIG" EFBIG "$($E stream $S < $T/huge)"
check_eq "  and nothing is left to commit" ENODATA "$(printf 1 | $E write $C)"

# A blank stage clears the set, as a blank write to rules does.
printf '\n' | $E write $S >/dev/null
check_eq "a blank staged text commits" OK "$(printf 1 | $E write $C)"
check_eq "  to an empty set" "" "$(cat $R)"
rm -rf $T
check "rmmod" unload
done_testing
