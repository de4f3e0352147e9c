#!/bin/bash
# Staged replace: a set of any size written to `stage` in many pieces, then
# `1` to `commit` replaces the active set at once (all or nothing), `0`
# discards it. A bad line anywhere rejects the whole commit, naming its line.
# The stage belongs to its writer and the writer's parent (the shell that ran
# `cat f > stage`): another process can neither stage over it nor commit it
# (EBUSY); once both have exited an uncommitted stage is dropped.
#
# Commits here come from this shell itself (shw: bash's printf builtin, no
# subshell), the parent of the stage writers it runs, or from the writing
# process itself (errno.py stagecommit / stagehold / restage).
. "$(dirname "$0")/lib.sh"
plan 60
E="python3 $TESTS_DIR/errno.py"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }
S=$SYS/stage C=$SYS/commit R=$SYS/rules
T=$(mktemp -d)

# shw FILE VALUE: writes VALUE to FILE from this shell's own
# process; RES is OK or the errno's name (from bash's message).
shw() {
	if printf '%s' "$2" 2> $T/shw.err > "$1"; then RES=OK; else RES=$($E errname < $T/shw.err); fi
}
# keep: saves the active set; unchanged WHAT: it is still exactly that.
keep() { cat $R > $T/before; }
unchanged() { check_eq "$1" "$(md5sum < $T/before) $(wc -l < $T/before)" "$(md5sum < $R) $(wc -l < $R)"; }
# set_is WHAT FILE: the active set reads exactly as FILE.
set_is() { check_eq "$1" "$(md5sum < "$2") $(wc -l < "$2")" "$(md5sum < $R) $(wc -l < $R)"; }

# 10,000 rules in canonical form (so the read-back is the same text): udp
# ports 10001-19000 and 1,000 IPv6 prefixes.
{ seq 10001 19000 | sed 's/^/udp dport /'
  for i in $(seq 1 1000); do printf 'ip6 daddr 2001:db8:%x::/48\n' "$i"; done; } > $T/big
check_eq "10,000 rules generated" 10000 "$(wc -l < $T/big)"
check "the staged text is many pages" test "$(stat -c %s $T/big)" -gt 65536

pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 15000
serve "$B" udp 10.0.1.2 53

keep
# (run by this shell directly, not in $(...): this shell is the writer's parent)
shcat $S < $T/big > $T/out
check_eq "stage: 10,000 rules written by cat (a page per write(2) reaches sysfs)" OK "$(cat $T/out)"
unchanged "before commit the active set is unchanged"
# shellcheck disable=SC2034 # b0 is read by name: delta takes a nameref
declare -A b0; snap "$B" b0
shw $C 1
check_eq "commit from the shell that ran the stage writer" OK "$RES"
set_is "after commit: the staged set is active, in order" $T/big
check_eq "hits lists 10,000 rules" 10000 "$(wc -l < $SYS/hits)"
off=$(tracked_off "$A" "$B" talk "$A" udp 10.0.1.2 15000 -n 3)
check "with ctskip off the same flow is tracked in A and B (positive control: $off)" both_tracked "$off"
check "a port in the new set is untracked" talk "$A" udp 10.0.1.2 15000 -n 3
check_eq "  no conntrack entry for it" 0 "$(ct_count "$B" -p udp --dport 15000)"
check_eq "  3 packets each way untracked in B" 6 "$(delta "$B" b0 untracked)"
check "a port no longer in the set is tracked again" talk "$A" udp 10.0.1.2 53 -n 1
check "  it has a conntrack entry" test "$(ct_count "$B" -p udp --dport 53)" -ge 1
shw $C 1
check_eq "the committed stage is gone: commit again is ENODATA" ENODATA "$RES"

# A bad line anywhere: EINVAL naming the line, nothing changes. (After each
# refused commit, `0` discards whatever may be left, so that the next stage
# writer, another process, starts clean.)
sed '7777s/.*/udp dport 99999/' $T/big > $T/bad
shcat $S < $T/bad > /dev/null
keep; mark badline
shw $C 1
check_eq "commit with a bad line is EINVAL" EINVAL "$RES"
check_eq "the log line names line, rule, text and word" \
	'ctskip: commit: line 7777: rule 7777 "udp dport 99999": bad port or port range "99999"' \
	"$(kmsg_since badline | sed 's/^\[[ 0-9.]*\] //' | grep '^ctskip:')"
unchanged "active set unchanged after the failed commit"
shw $C 0
# Comments and blank lines count as lines.
printf '# ctskip rules\n\nudp dport 1; udp dport 2\nudp dport 3 bogus\n' > $T/comment
# (not `printf | shcat`: a pipeline's function runs in a subshell, and cat,
# the writer, would be that subshell's child, not this shell's)
shcat $S < $T/comment >/dev/null
mark comment
shw $C 1
check_eq "line numbers count comments and blank lines" EINVAL "$RES"
check "  the log line says line 4, rule 3" sh -c "dmesg | sed -n '/ctskip-test-mark comment\$/,\$p' | grep -qF 'commit: line 4: rule 3 \"udp dport 3 bogus\": unknown keyword \"bogus\"'"
shw $C 0

# More than 65,536 rules: ENOSPC, nothing changes.
seq 1 65537 | awk '{ printf "udp sport %d dport %d\n", $1 % 65536, int($1 / 65536) }' > $T/toomany
shcat $S < $T/toomany >/dev/null
keep
shw $C 1
check_eq "commit of 65,537 rules is ENOSPC" ENOSPC "$RES"
unchanged "active set unchanged after ENOSPC"
shw $C 0

# Discard with 0.
shw $S 'udp dport 7'$'\n'
keep
shw $C 0
check_eq "commit 0 discards the stage" OK "$RES"
shw $C 1
check_eq "  and then there is nothing to commit" ENODATA "$RES"
unchanged "  the active set is unchanged"
shw $C 2
check_eq "commit: a bad value is EINVAL" EINVAL "$RES"

# Pieces must continue the staged text from the same open file.
check_eq "a piece at a gap is EINVAL" EINVAL "$(printf 'udp dport 8\n' | $E pwrite $S 100)"
$E stagegap $S > $T/out
check_eq "a piece that does not continue the stage is EINVAL" EINVAL "$(cat $T/out)"
shw $C 1
check_eq "  and it discards the whole stage (its writer's parent finds nothing to commit)" ENODATA "$RES"

# Size limit: more than 16 MiB is EFBIG and discards the stage.
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '\n' > $T/huge
shcat $S < $T/huge > $T/out
check_eq "a stage over 16 MiB is EFBIG" EFBIG "$(cat $T/out)"
shw $C 1
check_eq "  and nothing is left to commit" ENODATA "$RES"
rm $T/huge

# --- Ownership -----------------------------------------------------------
# One process stages (and keeps the file open after its first page): other
# processes can neither stage nor commit; this shell, its parent, cannot
# commit before it has finished; it commits itself.
seq 30001 33000 | sed 's/^/udp dport /' > $T/p1
mkfifo $T/said $T/told
exec 4<>$T/said 5<>$T/told
$E stagehold $S $C $T/said $T/told < $T/p1 > $T/p1.out &
p1=$!
read -r -t 300 -u 4 step
check_eq "a writer (another process) has staged its first page, its file open" piece "$step"
keep
check_eq "  a second process's stage write at offset 0: EBUSY" EBUSY "$(shwrite $S 'tcp dport 2'$'\n')"
check_eq "  a commit from another process (setsid): EBUSY" EBUSY "$(shwrite $C 1 setsid)"
shw $C 1
check_eq "  a commit from the writer's parent before the writer finished: EBUSY" EBUSY "$RES"
shw $C 0
check_eq "  a discard from the writer's parent before the writer finished: EBUSY" EBUSY "$RES"
check_eq "  a write to rules while the stage text arrives: EBUSY" EBUSY "$(sysw $R 'tcp dport 2\n')"
unchanged "  the active set is unchanged"
echo go >&5
read -r -t 300 -u 4 step
check_eq "the writer has staged the rest and closed the file" closed "$step"
check_eq "  a second process's stage write at offset 0: EBUSY (a stage is pending)" EBUSY "$(shwrite $S 'tcp dport 2'$'\n')"
check_eq "  a commit from another process (setsid): EBUSY" EBUSY "$(shwrite $C 1 setsid)"
unchanged "  the active set is unchanged"
check_eq "  a write to rules proceeds (the stage file is closed)" OK "$(sysw $R 'tcp dport 2\n')"
check_eq "  and applies" "tcp dport 2" "$(cat $R)"
echo go >&5
wait $p1
check_eq "the writer commits its own stage" "OK OK" "$(cat $T/p1.out)"
set_is "  exactly its text is active" $T/p1
exec 4>&- 5>&-

cat $T/big > $S && echo 1 > $C
check_eq "cat FILE > stage && echo 1 > commit, from this shell" 0 $?
set_is "  exactly the file's set is active" $T/big
printf 'udp dport 4\nudp dport 5\n' > $T/x
seq 40001 42000 | sed 's/^/tcp dport /' > $T/y
check_eq "the writer may start over from a new open (offset 0), then commit" "OK OK OK" "$($E restage $S $C $T/x $T/y)"
set_is "  the second text is active" $T/y

# The writer (cat) and its parent (sh) exit without a commit: dropped.
keep
sh -c 'cat "$1" > "$2"; true' sh $T/x $S
shw $C 1
check_eq "a stage whose writer and parent have exited is dropped: ENODATA" ENODATA "$RES"
unchanged "  the active set is unchanged"
check_eq "  a new writer may stage, and commit itself" "OK OK" "$(printf 'udp dport 6\n' | $E stagecommit $S $C)"
check_eq "  its text is active" "udp dport 6" "$(cat $R)"

# Two writers at once, 20 times: each stages its own multi-page text and
# commits it; the loser of the race gets EBUSY; the set is one whole text.
# Both open stage, meet at a barrier (fifos), then write.
seq 50001 53000 | sed 's/^/udp dport /' > $T/ra
seq 50001 53000 | sed 's/^/tcp dport /' > $T/rb
mkfifo $T/ready $T/go
exec 4<>$T/ready 5<>$T/go
good=0 results=0 won=0 consistent=0 both=0
for i in $(seq 20); do
	printf 'udp dport 53\n' > $R
	$E stagecommit $S $C $T/ready $T/go < $T/ra > $T/oa &
	pa=$!
	$E stagecommit $S $C $T/ready $T/go < $T/rb > $T/ob &
	pb=$!
	read -r -N 2 -t 300 -u 4 _
	printf gg >&5
	wait $pa $pb
	oa=$(cat $T/oa) ob=$(cat $T/ob) got=$(md5sum < $R)
	ma=$(md5sum < $T/ra) mb=$(md5sum < $T/rb)
	[ "$got" = "$ma" ] || [ "$got" = "$mb" ] && good=$((good + 1))
	case "$oa/$ob" in "OK OK/OK OK"|"OK OK/EBUSY -"|"EBUSY -/OK OK") results=$((results + 1));; esac
	[ "$oa" = "OK OK" ] || [ "$ob" = "OK OK" ] && won=$((won + 1))
	case "$oa/$ob" in
	"OK OK/OK OK") both=$((both + 1)); consistent=$((consistent + 1));;
	"OK OK/"*) [ "$got" = "$ma" ] && consistent=$((consistent + 1));;
	*"/OK OK") [ "$got" = "$mb" ] && consistent=$((consistent + 1));;
	esac
	[ "$got" = "$ma" ] || [ "$got" = "$mb" ] || echo "# round $i: A '$oa', B '$ob', neither text active ($(wc -l < $R) rules)"
done
exec 4>&- 5>&-
echo "# two writers: both committed in $both of 20 rounds"
check_eq "two writers, 20 rounds: the set is always exactly one of the two texts" 20 $good
check_eq "  each writer committed (OK OK) or its stage was refused (EBUSY)" 20 $results
check_eq "  at least one committed every round" 20 $won
check_eq "  when one was refused, the other's text is the set" 20 $consistent

# A blank stage clears the set, as a blank write to rules does.
shw $S $'\n'
shw $C 1
check_eq "a blank staged text commits" OK "$RES"
check_eq "  to an empty set" "" "$(cat $R)"
rm -rf $T
check "rmmod" unload
done_testing
