#!/bin/bash
# ctskipctl against the loaded module: load (atomic, any size), add, del,
# list (with hits), stats (--json), check; errors are one line naming what
# was wrong (the module's own reason where it refused).
. "$(dirname "$0")/lib.sh"
plan 26
[ -x "$CTL" ] || { not_ok "ctskipctl is built ($CTL)"; done_testing; exit; }
T=$(mktemp -d)
# said CMD...: the command's output and stderr, then "status N".
said() { "$@" 2>&1; echo "status $?"; }

check_eq "without the module: one clear line, status 1" \
	"ctskipctl: ctskip is not loaded (/sys/kernel/ctskip does not exist)"$'\n'"status 1" \
	"$(said "$CTL" list)"
load 'rules="udp dport 53"' || { not_ok "insmod"; done_testing; exit; }

{ seq 20001 29000 | sed 's/^/udp dport /'; for i in $(seq 1 1000); do printf 'ip daddr 10.%d.%d.0/24\n' $((i / 256)) $((i % 256)); done; } > $T/big
check_eq "check: 10,000 rules" "$T/big: 10000 rules, OK" "$("$CTL" check $T/big)"
check_eq "load: 10,000 rules" "loaded 10000 rules" "$("$CTL" load $T/big)"
check_eq "  the set is exactly the file's" "$(md5sum < $T/big)" "$(md5sum < $SYS/rules)"

sed '8123s/.*/udp dport 20001 sport x/' $T/big > $T/bad
check_eq "check: a bad line is named, status 1" \
	"ctskipctl: $T/bad:8123: rule 8123 \"udp dport 20001 sport x\": bad port or port range \"x\""$'\n'"status 1" \
	"$(said "$CTL" check $T/bad)"
check_eq "load refuses the bad file before touching the module" 1 "$("$CTL" load $T/bad >/dev/null 2>&1; echo $?)"
check_eq "  the active set is unchanged" "$(md5sum < $T/big)" "$(md5sum < $SYS/rules)"

printf 'udp dport 53\n# tunnels\nudp dport 4789 oneway\n' > $T/small
check_eq "load from stdin" "loaded 2 rules" "$("$CTL" load - < $T/small)"
check_eq "  rules" "$(printf 'udp dport 53\nudp dport 4789 oneway')" "$(cat $SYS/rules)"
check_eq "add (words form one text)" "" "$("$CTL" add tcp dport 80 2>&1)"
check_eq "del" "" "$("$CTL" del 'udp dport 4789 oneway' 2>&1)"
check_eq "  rules after add and del" "$(printf 'udp dport 53\ntcp dport 80')" "$(cat $SYS/rules)"
check_eq "del of an absent rule: the module's reason (naming the line), one line, status 1" \
	"ctskipctl: del: line 1: rule not present: udp dport 54"$'\n'"status 1" "$(said "$CTL" del udp dport 54)"

pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53
talk "$A" udp 10.0.1.2 53 -n 4 >/dev/null
check_eq "list: the rule's hits (4 requests and 4 answers in each netns)" \
	"16 udp dport 53" "$("$CTL" list | awk '$3 == "udp" && $5 == "53" { print $1, $3, $4, $5 }')"
check "list --json parses, with the same counts" python3 -c '
import json, sys
l = json.loads(sys.stdin.read())
assert [r["rule"] for r in l] == ["udp dport 53", "tcp dport 80"], l
assert l[0]["packets"] == 16 and l[0]["bytes"] > 0 and l[1]["packets"] == 0, l
' < <("$CTL" list --json)
# (`seen` may move between the reads: stray IPv6 neighbour traffic.)
s0=$(ctstat "$B" seen)
ctl=$(ip netns exec "$B" "$CTL" stats | awk '{ print $1, $2 }')
s1=$(ctstat "$B" seen)
check_eq "stats: this netns's counters, as /proc/net/ctskip" \
	"$(ip netns exec "$B" cat /proc/net/ctskip | awk '$1 != "seen" { print $1, $2 }')" \
	"$(printf '%s\n' "$ctl" | awk '$1 != "seen"')"
seen=$(printf '%s\n' "$ctl" | awk '$1 == "seen" { print $2 }')
check "  and seen between the reads before and after ($s0 <= $seen <= $s1)" test "$s0" -le "$seen" -a "$seen" -le "$s1"
check "stats --json in B: 8 untracked, the same names in the same order" python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
names = [l.split()[0] for l in open("/proc/net/ctskip")]
assert list(d) == names, (list(d), names)
assert d["untracked"] == 8 and d["untracked_ipv4"] == 8, d
' < <(ip netns exec "$B" "$CTL" stats --json)
check_eq "disable" 0 "$("$CTL" disable; cat $SYS/enabled)"
check_eq "enable" 1 "$("$CTL" enable; cat $SYS/enabled)"
out=$(unshare -Ur "$CTL" add udp dport 9 2>&1; echo "status $?")
check "a container root is refused in one line naming CAP_NET_ADMIN, status 1" \
	sh -c '[ "$(printf "%s\n" "$1" | wc -l)" = 2 ] && printf "%s" "$1" | head -1 | grep -q "^ctskipctl: .*CAP_NET_ADMIN" && printf "%s" "$1" | tail -1 | grep -qx "status 1"' _ "$out"
echo "# $out" | head -1

# Two loads started together, 10 times: the set is exactly one of the two
# files; each run loaded its file or said the module was busy (EBUSY); at
# least one loaded, and when only one did, its file is the set.
seq 30001 33000 | sed 's/^/udp dport /' > $T/la
seq 30001 33000 | sed 's/^/tcp dport /' > $T/lb
ma=$(md5sum < $T/la) mb=$(md5sum < $T/lb)
one=0 each=0 won=0 consistent=0 both=0
for i in $(seq 10); do
	"$CTL" load $T/small > /dev/null
	"$CTL" load $T/la > $T/oa 2> $T/ea & pa=$!
	"$CTL" load $T/lb > $T/ob 2> $T/eb & pb=$!
	wait $pa; sa=$?
	wait $pb; sb=$?
	got=$(md5sum < $SYS/rules)
	ra=busy rb=busy
	[ $sa = 0 ] && [ "$(cat $T/oa)" = "loaded 3000 rules" ] && ra=ok
	[ $sb = 0 ] && [ "$(cat $T/ob)" = "loaded 3000 rules" ] && rb=ok
	[ $ra = busy ] && { [ $sa = 1 ] && grep -qi busy $T/ea || ra=bad; }
	[ $rb = busy ] && { [ $sb = 1 ] && grep -qi busy $T/eb || rb=bad; }
	{ [ "$got" = "$ma" ] || [ "$got" = "$mb" ]; } && one=$((one + 1))
	[ $ra != bad ] && [ $rb != bad ] && each=$((each + 1))
	{ [ $ra = ok ] || [ $rb = ok ]; } && won=$((won + 1))
	case $ra/$rb in
	ok/ok) both=$((both + 1)); consistent=$((consistent + 1));;
	ok/busy) [ "$got" = "$ma" ] && consistent=$((consistent + 1));;
	busy/ok) [ "$got" = "$mb" ] && consistent=$((consistent + 1));;
	esac
	if [ $ra = bad ] || [ $rb = bad ] || { [ "$got" != "$ma" ] && [ "$got" != "$mb" ]; }; then
		echo "# round $i: A status $sa ($(cat $T/oa $T/ea | head -c 200)), B status $sb ($(cat $T/ob $T/eb | head -c 200)), $(wc -l < $SYS/rules) rules active"
	fi
done
echo "# two loads at once: both loaded in $both of 10 rounds"
check_eq "two loads at once, 10 rounds: the set is exactly one of the two files" 10 $one
check_eq "  each run loaded its file or reported busy, status 1" 10 $each
check_eq "  at least one loaded every round" 10 $won
check_eq "  when one was busy, the other's file is the set" 10 $consistent
rm -rf $T
check "rmmod" unload
done_testing
