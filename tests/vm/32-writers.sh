#!/bin/bash
# Operators' writing styles against rules, add and del. A text is everything
# one open file writes, in any number of write(2) calls (kernfs hands the
# module at most a page per call): bash's echo and printf (a line per write),
# cat, dd bs=1, tee, Python's buffered writes, up to 16 MiB. Each write is
# checked against the exact set read back, computed here from the input; a
# refused text (a bad line in any piece, an absent rule for del, EFBIG)
# leaves exactly the set from before its first write, with one log line that
# names the line. A second writer while a text is arriving gets EBUSY and
# changes nothing. Reads, one byte per read(2), see one whole set each while
# replaces run.
# shellcheck disable=SC2059,SC2005,SC2320,SC2016
# (on purpose: texts as printf formats, echo "$(cat file)" and its status,
# scripts for sh -c in single quotes)
. "$(dirname "$0")/lib.sh"
plan 146
E="python3 $TESTS_DIR/errno.py"
load || { not_ok "insmod"; done_testing; exit; }
R=$SYS/rules ADD=$SYS/add DEL=$SYS/del S=$SYS/stage C=$SYS/commit
T=$(mktemp -d)

# gen N START: N distinct rules in canonical form, one per line: `udp dport
# P` and `tcp sport P dport Q` alternately, numbered from START (calls with
# disjoint START..START+N/2 ranges give disjoint sets).
gen() {
	awk -v n="$1" -v s="$2" 'BEGIN { for (i = 0; i < n; i++) { k = s + int(i / 2)
		if (i % 2 == 0) printf "udp dport %d\n", k % 65535 + 1
		else printf "tcp sport %d dport %d\n", k % 250 + 1, int(k / 250) % 65535 + 1 } }'
}
# after_add OLD TEXT, after_del OLD TEXT: the set expected after adding
# (present rules skipped, new ones appended in order) or deleting the rules
# of TEXT (canonical, one per line; # lines and blank lines are no rules).
after_add() {
	awk 'FILENAME == ARGV[1] { s[$0]; print; next }
	     /^(#|$)/ { next } !($0 in s) { s[$0]; print }' "$1" "$2"
}
after_del() { awk 'FILENAME == ARGV[1] { d[$0]; next } !($0 in d)' "$2" "$1"; }
# keep: saves the active set, the "before" of the next write.
keep() { cat $R > $T/before; }
# is_set WHAT FILE: the active set reads exactly as FILE (the same bytes).
is_set() {
	cat $R > $T/now
	if [ "$(md5sum < "$2")" = "$(md5sum < $T/now)" ]; then
		ok "$1"
	else
		not_ok "$1 (read back $(wc -l < $T/now) lines, expected $(wc -l < "$2"); first difference: $(diff "$2" $T/now | grep -m1 '^[<>]'))"
	fi
}
unchanged() { is_set "$1" $T/before; }
# wrote WHAT STATUS: a writer (stderr in $T/err) exited 0.
wrote() {
	if [ "$2" = 0 ]; then ok "$1"; else not_ok "$1 (status $2: $(head -c 300 $T/err))"; fi
}
# refused WHAT STATUS MESSAGE: a writer failed, saying MESSAGE on stderr.
refused() {
	if [ "$2" != 0 ] && grep -qF "$3" $T/err; then ok "$1"; else not_ok "$1 (status $2: $(head -c 300 $T/err))"; fi
}
# klog MARK: ctskip's log lines since MARK, without timestamps.
klog() { kmsg_since "$1" | sed 's/^\[[ 0-9.]*\] //' | grep '^ctskip:'; }
# pad_to N: comment lines of N bytes in all (N >= 2).
pad_to() {
	local n=$1
	while [ "$n" -gt 100 ]; do printf '#%62s\n' ''; n=$((n - 64)); done
	printf "#%$((n - 2))s\n" ''
}
# line_in_page FILE P: the number of the first line starting at least 100
# bytes into FILE's page P (of 4096 bytes).
line_in_page() {
	awk -v lo=$((($2 - 1) * 4096 + 100)) '{ if (off >= lo) { print NR; f = 1; exit } off += length($0) + 1 }
		END { if (!f) print "none" }' "$1"
}
# page_of FILE LINE: the page (of 4096 bytes) in which LINE of FILE starts.
page_of() { echo $(( $(head -n $(($2 - 1)) "$1" | wc -c) / 4096 + 1 )); }

# --- bash's printf and echo: one line per write(2) ----------------------
t='udp dport 1\ntcp dport 2\n'
printf "$t" > $T/exp
printf "$t" 2>$T/err > $R; wrote "rules: printf of two lines" $?
is_set "  both rules active" $T/exp
keep; t='udp dport 3\ntcp dport 2\nsctp dport 4\n'; printf "$t" > $T/text
printf "$t" 2>$T/err > $ADD; wrote "add: printf of three lines" $?
after_add $T/before $T/text > $T/exp
is_set "  the two new rules appended (tcp dport 2 was present)" $T/exp
keep; t='udp dport 3\nudp dport 1\n'; printf "$t" > $T/text
printf "$t" 2>$T/err > $DEL; wrote "del: printf of two lines" $?
after_del $T/before $T/text > $T/exp
is_set "  both removed" $T/exp
printf 'udp dport 7\ntcp dport 8\n' > $T/exp
{ printf 'udp dp'; printf 'ort 7\ntcp dport 8\n'; } 2>$T/err > $R
wrote "rules: a line split across two printf calls" $?
is_set "  is one line" $T/exp

gen 400 100 > $T/text
echo "$(cat $T/text)" 2>$T/err > $R; wrote "rules: echo \"\$(cat file)\" (400 rules, more than a page)" $?
is_set "  exactly the file's rules" $T/text
keep; { gen 300 1000; awk 'NR % 5 == 0' $T/text; } > $T/text2
echo "$(cat $T/text2)" 2>$T/err > $ADD; wrote "add: echo \"\$(cat file)\"" $?
after_add $T/before $T/text2 > $T/exp
is_set "  old set, then the new rules" $T/exp
keep; awk 'NR % 2 == 1' $T/before | sort > $T/text2
echo "$(cat $T/text2)" 2>$T/err > $DEL; wrote "del: echo \"\$(cat file)\"" $?
after_del $T/before $T/text2 > $T/exp
is_set "  exactly those removed" $T/exp

# --- cat: a page per write(2) -----------------------------------------
gen 10000 0 > $T/r10k
cat $T/r10k 2>$T/err > $R; wrote "rules: cat of 10,000 rules ($(stat -c %s $T/r10k) bytes)" $?
check_eq "  read back: the file (md5)" "$(md5sum < $T/r10k)" "$(md5sum < $R)"
keep; { gen 1500 20000; awk 'NR % 7 == 0' $T/r10k; gen 1500 30000; } > $T/text
cat $T/text 2>$T/err > $ADD; wrote "add: cat of $(wc -l < $T/text) rules (some present)" $?
after_add $T/before $T/text > $T/exp
is_set "  old set, then the new rules in order" $T/exp
keep; awk 'NR % 3 == 1' $T/before | sort -r > $T/text
cat $T/text 2>$T/err > $DEL; wrote "del: cat of $(wc -l < $T/text) rules" $?
after_del $T/before $T/text > $T/exp
is_set "  exactly those removed, the rest in order" $T/exp
gen 65536 0 > $T/r64k
check_eq "65,536 distinct rules generated" 65536 "$(sort -u $T/r64k | wc -l)"
cat $T/r64k 2>$T/err > $R; wrote "rules: cat of 65,536 rules ($(stat -c %s $T/r64k) bytes)" $?
check_eq "  read back: the file (md5)" "$(md5sum < $T/r64k)" "$(md5sum < $R)"
check_eq "  hits lists 65,536 rules" 65536 "$(wc -l < $SYS/hits)"
rm $T/r64k

# --- dd bs=1 (a byte per write), tee, Python's buffered writes -----------
# `udp dport 3` reads as a whole rule until its 0 arrives: not kept after.
printf 'udp dport 1\ntcp dport 2\nudp dport 30\n' > $T/text
dd if=$T/text of=$R bs=1 status=none 2>$T/err; wrote "rules: dd bs=1 (a byte per write)" $?
is_set "  exactly its three rules" $T/text
keep; printf 'udp dport 3\nudp dport 300\ntcp dport 4\n' > $T/text
dd if=$T/text of=$ADD bs=1 status=none 2>$T/err; wrote "add: dd bs=1" $?
after_add $T/before $T/text > $T/exp
is_set "  the three new rules appended" $T/exp
# del, a byte per write: `udp dport 3` (present, a prefix of `udp dport
# 30`) and `udp dport 30` itself; each line whole only at its newline.
keep; printf 'udp dport 30\ntcp dport 4\n' > $T/text
dd if=$T/text of=$DEL bs=1 status=none 2>$T/err; wrote "del: dd bs=1" $?
after_del $T/before $T/text > $T/exp
is_set "  exactly those two removed" $T/exp
keep; printf 'udp dport 300\nudp dport 9999\n' > $T/text
dd if=$T/text of=$DEL bs=1 status=none 2>$T/err
refused "del: dd bs=1 with an absent rule is ENOENT" $? "No such file or directory"
unchanged "  all or none: the set from before the text"
gen 3000 50000 > $T/text
tee $R < $T/text 2>$T/err > /dev/null; wrote "rules: tee of 3,000 rules" $?
is_set "  exactly the file's rules" $T/text
gen 3000 60000 > $T/text
check "the next text's first page ends inside a line" test -n "$(head -c 4096 $T/text | tail -c 1)"
python3 -c 'import sys; open(sys.argv[1], "w").write(open(sys.argv[2]).read())' $R $T/text 2>$T/err
wrote "rules: Python open(rules, \"w\").write(text) of 3,000 rules" $?
is_set "  exactly the text's rules" $T/text
keep; gen 1000 62000 > $T/text
python3 -c 'import sys; open(sys.argv[1], "w").write(open(sys.argv[2]).read())' $ADD $T/text 2>$T/err
wrote "add: Python buffered write of 1,000 rules" $?
after_add $T/before $T/text > $T/exp
is_set "  appended" $T/exp
keep; head -n 700 $T/text > $T/deltext
tee $DEL < $T/deltext 2>$T/err > /dev/null; wrote "del: tee of 700 rules" $?
after_del $T/before $T/deltext > $T/exp
is_set "  removed" $T/exp
keep; tail -n 300 $T/text > $T/deltext
python3 -c 'import sys; open(sys.argv[1], "w").write(open(sys.argv[2]).read())' $DEL $T/deltext 2>$T/err
wrote "del: Python buffered write of 300 rules" $?
after_del $T/before $T/deltext > $T/exp
is_set "  removed" $T/exp

# --- A page boundary right after a line's beginning that is itself a rule
# (`udp dport 1` of `udp dport 12`): the line is one rule, whole.
{ pad_to $((4096 - 11)); printf 'udp dport 12\ntcp dport 13\n'; } > $T/text
check_eq "the text's first page ends with 'udp dport 1'" "udp dport 1" "$(head -c 4096 $T/text | tail -c 11)"
cat $T/text 2>$T/err > $R; wrote "rules: cat, a page boundary inside udp dport 12" $?
printf 'udp dport 12\ntcp dport 13\n' > $T/exp
is_set "  exactly udp dport 12 and tcp dport 13" $T/exp
keep; { pad_to $((4096 - 11)); printf 'udp dport 34\ntcp dport 5\n'; } > $T/text
cat $T/text 2>$T/err > $ADD; wrote "add: cat, a page boundary inside udp dport 34" $?
printf 'udp dport 34\ntcp dport 5\n' > $T/text; after_add $T/before $T/text > $T/exp
is_set "  udp dport 34 and tcp dport 5 appended, no udp dport 3" $T/exp
keep; { pad_to $((4096 - 11)); printf 'udp dport 34\n'; } > $T/text
cat $T/text 2>$T/err > $DEL; wrote "del: cat, a page boundary inside udp dport 34 (udp dport 3 is absent)" $?
printf 'udp dport 34\n' > $T/text; after_del $T/before $T/text > $T/exp
is_set "  udp dport 34 removed, nothing else" $T/exp

# --- A refused piece: the first, a middle or the last page of a cat -----
gen 2000 70000 > $T/good
pages=$(( ($(stat -c %s $T/good) + 4095) / 4096 ))
gen 40 90000 > $T/prev
for p in 1 $((pages / 2)) $pages; do
	L=$(line_in_page $T/good $p)
	check_eq "bad line $L starts in page $p of $pages" $p "$(page_of $T/good "$L")"
	sed "${L}s/.*/udp dport 99999/" $T/good > $T/bad
	cat $T/prev > $R; keep
	mark "bad-rules-$p"
	cat $T/bad 2>$T/err > $R; refused "rules: cat with a bad line in page $p: fails with EINVAL" $? "Invalid argument"
	unchanged "  the active set is exactly the one before"
	check_eq "  one log line naming line $L" \
		"ctskip: rules: line $L: rule $L \"udp dport 99999\": bad port or port range \"99999\"" "$(klog "bad-rules-$p")"
	keep; mark "bad-add-$p"
	cat $T/bad 2>$T/err > $ADD; refused "add: the same text: fails with EINVAL" $? "Invalid argument"
	unchanged "  all or none: the active set is exactly the one before"
	check_eq "  one log line naming line $L" \
		"ctskip: add: line $L: rule $L \"udp dport 99999\": bad port or port range \"99999\"" "$(klog "bad-add-$p")"
	sed "${L}s/.*/udp dport 65000/" $T/good > $T/absent
	cat $T/good > $R; keep; mark "absent-del-$p"
	cat $T/absent 2>$T/err > $DEL; refused "del: cat with an absent rule in page $p: fails with ENOENT" $? "No such file or directory"
	unchanged "  all or none: the active set is exactly the one before"
	check_eq "  one log line naming line $L" \
		"ctskip: del: line $L: rule not present: udp dport 65000" "$(klog "absent-del-$p")"
done

# After a refused piece the text has ended: the same open file gets EINVAL.
cat $T/prev > $R; keep
exec 3>$R
printf 'udp dport 5\n' 2>$T/err >&3; wrote "rules: a text's first line through fd 3" $?
mark bogus
printf 'bogus 1\n' 2>$T/err >&3; refused "  its second line bogus 1: EINVAL" $? "Invalid argument"
unchanged "  the active set is again the one before the text's first write"
check_eq "  one log line naming line 2" 'ctskip: rules: line 2: rule 2 "bogus 1": unknown keyword "bogus"' "$(klog bogus)"
printf 'udp dport 6\n' 2>$T/err >&3; refused "  a later write from the same open file: EINVAL" $? "Invalid argument"
unchanged "  the active set is still the one before"
printf 'tcp dport 9\n' 2>$T/err > $ADD; wrote "  the text has ended: another writer proceeds (fd 3 still open)" $?
exec 3>&-
printf 'tcp dport 9\n' > $T/text; after_add $T/before $T/text > $T/exp
is_set "  with exactly its change" $T/exp

# --- More than 16 MiB: EFBIG ------------------------------------------
head -c $((16 * 1024 * 1024)) /dev/zero | tr '\0' '\n' > $T/huge
keep
check_eq "add: a text of exactly 16 MiB (blank lines) is accepted" OK "$($E stream $ADD < $T/huge)"
unchanged "  and adds nothing"
printf '\n' >> $T/huge
mark efbig
cat $T/huge 2>$T/err > $R; refused "rules: cat of 16 MiB + 1 byte: fails with EFBIG" $? "File too large"
unchanged "  the active set is exactly the one before"
check_eq "  one log line" 1 "$(klog efbig | wc -l)"
check_eq "add: 16 MiB + 1 byte is EFBIG" EFBIG "$($E stream $ADD < $T/huge)"
unchanged "  the active set is exactly the one before"
rm $T/huge

# --- Two writers: the second gets EBUSY while the first's text arrives ---
printf 'udp dport 53\n' > $R
exec 3>$R
printf 'udp dport 1\n' 2>$T/err >&3; wrote "a first writer's text starts (rules, fd 3 kept open)" $?
check_eq "  the active set follows it as it arrives" "udp dport 1" "$(cat $R)"
keep; mark ebusy
printf 'tcp dport 2\n' 2>$T/err > $ADD; refused "a second writer (printf > add): EBUSY" $? "Device or resource busy"
unchanged "  nothing changed"
check "  one log line: another writer's text is still arriving" \
	grep -qxE "ctskip: [a-z]+: another writer's text is still arriving \(EBUSY\)" <(klog ebusy)
check_eq "  (only one)" 1 "$(klog ebusy | wc -l)"
check_eq "a second writer to rules: EBUSY" EBUSY "$(sysw $R 'tcp dport 2\n')"
unchanged "  nothing changed"
check_eq "a second writer to del: EBUSY" EBUSY "$(sysw $DEL 'udp dport 1\n')"
unchanged "  nothing changed"
check_eq "a second writer to stage: EBUSY" EBUSY "$(sysw $S 'tcp dport 2\n')"
check_eq "a second writer to commit: EBUSY" EBUSY "$(sysw $C '1')"
unchanged "  nothing changed"
printf 'tcp dport 3\n' 2>$T/err >&3; wrote "the first writer goes on" $?
exec 3>&-
printf 'udp dport 1\ntcp dport 3\n' > $T/exp
is_set "  its text undisturbed: exactly udp dport 1, tcp dport 3" $T/exp
printf 'tcp dport 2\n' 2>$T/err > $ADD; wrote "after the first file is closed, a new writer proceeds" $?
printf 'udp dport 1\ntcp dport 3\ntcp dport 2\n' > $T/exp
is_set "  with its change" $T/exp
check_eq "  the second writer's stage attempt left nothing staged" ENODATA "$(sysw $C '1')"
exec 3>$ADD
printf 'sctp dport 9\n' 2>$T/err >&3; wrote "a first writer to add (fd 3 kept open)" $?
keep
check_eq "a second writer to rules: EBUSY" EBUSY "$(sysw $R 'udp dport 2\n')"
unchanged "  nothing changed"
exec 3>&-
printf 'sctp dport 9\n' >> $T/exp
is_set "the add arrived whole" $T/exp

# The active set follows a text as it arrives: a partial last line counts
# once it reads as a whole rule, one that could still grow is held.
exec 3>$R
printf 'udp dport 4' >&3
check_eq "a partial line udp dport 4 counts" "udp dport 4" "$(cat $R)"
printf '0\ntcp dpo' >&3
check_eq "  it became udp dport 40; tcp dpo is held" "udp dport 40" "$(cat $R)"
printf 'rt 5\n' >&3
exec 3>&-
check_eq "  the whole text" "$(printf 'udp dport 40\ntcp dport 5')" "$(cat $R)"

# --- Reads of one byte per read(2) while replaces run -------------------
# Replaces through stage and commit (a replace written to rules passes through
# its intermediate sets, checked last).
gen 600 40000 > $T/setA; gen 600 41000 > $T/setB
rep='cat "$1" > /sys/kernel/ctskip/stage && echo 1 > /sys/kernel/ctskip/commit'
cat $T/setA > $S && echo 1 > $C
is_set "set A ($(stat -c %s $T/setA) bytes) active" $T/setA
for f in rules hits; do
	check_eq "$f: 20 snapshots read a byte at a time, each across a whole replace (stage and commit) from another process" \
		"snapshots 20 A 10 B 10 wrong 0 replaced 20 failed 0" \
		"$(python3 "$TESTS_DIR/snapread.py" handshake $SYS/$f $T/setA $T/setB 20 "$rep")"
done
# free-running: a loop replaces while a reader takes snapshots.
mkfifo $T/started
exec 6<>$T/started
replace_loop() { # replace_loop stage|rules: B, A, B, ... until $T/stop exists
	local n=0 failed=0 x
	while [ ! -e $T/stop ]; do
		for x in $T/setB $T/setA; do
			if [ "$1" = stage ]; then cat $x > $S && echo 1 > $C; else cat $x > $R; fi || failed=$((failed + 1))
			n=$((n + 1))
			[ $n = 1 ] && echo started >&6
		done
	done
	echo "replaces $n failed $failed"
}
for how in stage rules; do
	for f in rules hits; do
		rm -f $T/stop
		replace_loop $how > $T/loop.out 2>&1 &
		loop=$!
		read -r -t 300 -u 6 _
		if [ $how = stage ]; then
			out=$(python3 "$TESTS_DIR/snapread.py" free $SYS/$f $T/setA $T/setB 20 100)
		else
			out=$(python3 "$TESTS_DIR/snapread.py" free $SYS/$f $T/setA $T/setB 20 20 --prefix)
		fi
		touch $T/stop; wait $loop
		echo "# $f with replaces through $how: $out; $(cat $T/loop.out)"
		check "$f, replaces through $how running: every byte-wise snapshot is one whole set" \
			sh -c 'case "$1" in *" wrong 0") exit 0;; esac; exit 1' _ "$out"
		if [ $how = stage ]; then
			check "  both sets were seen (the loop did replace during the reads)" \
				sh -c 'set -- $1; [ "$2" -ge 20 ] && [ "$4" -gt 0 ] && [ "$6" -gt 0 ]' _ "$out"
		fi
		check "  the loop's replaces all succeeded" grep -qE '^replaces [0-9]+ failed 0$' $T/loop.out
	done
done
exec 6>&-

# --- The end of a text is final once its file is closed ------------------
# ctskip looks every 20 ms whether the writer closed its file: the last
# line then applies if it is a rule, and otherwise the whole text is undone
# (nobody is left to get an errno: one log line says it).
# settles_to WHAT FILE: within 2 s the active set reads exactly as FILE.
settles_to() {
	for _ in $(seq 1 40); do
		cat $R > $T/now
		cmp -s "$2" $T/now && { ok "$1"; return; }
		sleep 0.05
	done
	not_ok "$1 (read back: $(head -c 200 $T/now | tr '\n' ';'))"
}
printf 'udp dport 1\n' > $R
keep; mark unfinished
printf 'udp dport 2\ntcp dport' > $R; wrote "a text ending in an unfinished rule: the write itself succeeds" $?
settles_to "  once the file is closed, the whole text is undone" $T/before
check "  one log line names the line and says the earlier rules are back" sh -c \
	"dmesg | sed -n '/ctskip-test-mark unfinished\$/,\$p' | grep -c 'rules: line 2: rule 2 \"tcp dport\": missing value after \"dport\" (the text ended there; the earlier rules are back)' | grep -qx 1"
# A control: the same text with its rule completed applies.
printf 'udp dport 2\ntcp dport 9' > $R; wrote "  the same text completed" $?
printf 'udp dport 2\ntcp dport 9\n' > $T/exp
settles_to "  applies whole" $T/exp
# A line split across two writes, no newline at the end: final at close.
{ printf 'udp dp'; printf 'ort 7'; } > $R; wrote "a line split across two writes, no final newline" $?
printf 'udp dport 7\n' > $T/exp
settles_to "  is one rule, applied once the file is closed" $T/exp
# del of an absent rule on a last line without a newline: undone at close.
printf 'udp dport 7\nudp dport 8\n' > $R
keep; mark delabsent
printf 'udp dport 7\nudp dport 54' > $DEL; wrote "del: an absent rule on the last line, no newline" $?
settles_to "  once closed, all or none: nothing deleted" $T/before
check "  one log line names it" sh -c \
	"dmesg | sed -n '/ctskip-test-mark delabsent\$/,\$p' | grep -q 'del: line 2: rule not present: udp dport 54'"
# A text of exactly two pages whose last line has no newline: its last
# piece is a full page (more may come), so it applies at close.
{ pad_to 8180; printf "udp dport 12"; } > $T/text
check_eq "the text is exactly 8192 bytes" 8192 "$(stat -c %s $T/text)"
cat $T/text > $R; wrote "cat of exactly two pages, no final newline" $?
printf 'udp dport 12\n' > $T/exp
settles_to "  applies once the file is closed" $T/exp
rm -rf $T
done_testing
