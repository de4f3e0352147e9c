# shellcheck shell=bash
# shellcheck disable=SC2034 # KDIR, CTL are for the tests that source this
# Helpers for ctskip's in-guest tests (sourced). KTAP-style output like the
# kernel's netfilter selftests: "ok N - what" / "not ok N - what".
#
# Each test runs in network namespaces of its own (names carry the PID) and
# removes them on exit. CTSKIP_KO names the module to load, CTSKIP_KDIR the
# kernel build tree it was built against, CTSKIP_CTL the ctskipctl binary.

set -u
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KO=${CTSKIP_KO:-$TESTS_DIR/../../ctskip.ko}
ROOT=$(cd "$TESTS_DIR/../.." && pwd)
KDIR=${CTSKIP_KDIR:-}
CTL=${CTSKIP_CTL:-$ROOT/tools/ctskipctl/target/release/ctskipctl}
TRAFFIC="python3 $TESTS_DIR/traffic.py"
SYS=/sys/kernel/ctskip
_netns=()
_cleanup_mounts=()
# What unprivileged steps run (errno.py and its imports), copied where any
# uid can read it: the checkout may be in a 0700 home directory.
UTESTS=$(mktemp -d /tmp/ctskip-unpriv.XXXXXX)
cp "$TESTS_DIR"/*.py "$UTESTS"/ && chmod 0755 "$UTESTS" && chmod 0644 "$UTESTS"/*.py

# shellcheck source=scripts/lib/ktap.sh
. "$ROOT/scripts/lib/ktap.sh"
ktap_header

# plan N: declares the number of results first; done_testing compares.
plan() { ktap_plan "$1"; }
ok() { ktap_ok "$*"; }
not_ok() { ktap_not_ok "$*"; }
# skip WHAT WHY: a result that could not be had here (counted as skipped,
# and as failed where CI promises it runs).
skip() { ktap_skip "$1" "$2"; }

# check "description" command...: ok if the command succeeds.
check() {
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}

# fails command...: succeeds when the command fails (for check).
fails() { ! "$@"; }

# check_eq "description" expected actual
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}

# Ends the test: checks the count against the declared plan and returns
# non-zero on any failure.
done_testing() { ktap_done; }

cleanup() {
	local ns
	for ns in "${_netns[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	jobs -p | xargs -r kill 2>/dev/null
	lsmod 2>/dev/null | grep -q '^ctskip ' && rmmod ctskip 2>/dev/null
	for ns in "${_cleanup_mounts[@]}"; do umount -l "$ns" 2>/dev/null; done
	rm -rf "$UTESTS"
	return 0
}
trap cleanup EXIT

# new_netns VAR: creates a netns, stores its name in VAR, loopback up. The
# name is unique (cts-VAR-PID-N), or VAR itself with CTSKIP_NS_PLAIN=1 (the
# demo, whose output names them).
new_netns() {
	local name=cts-$1-$$-$RANDOM
	[ -n "${CTSKIP_NS_PLAIN:-}" ] && name=$1
	ip netns add "$name" || return 1
	_netns+=("$name")
	ip -n "$name" link set lo up
	printf -v "$1" '%s' "$name"
}

# ct_active NS: makes conntrack track IPv4 and IPv6 in NS (an nft rule that
# uses conntrack, as a stateful firewall would).
ct_active() {
	ip netns exec "$1" nft -f - <<-'NFT'
	table inet ctskip_test {
		chain pre { type filter hook prerouting priority 0; ct state new counter; }
		chain out { type filter hook output priority 0; ct state new counter; }
	}
	NFT
}

# pair A B: two netns joined by veth (a0 in A, b0 in B), conntrack active in
# both. A: 10.0.1.1, fd00:1::1; B: 10.0.1.2, fd00:1::2.
pair() {
	new_netns "$1" && new_netns "$2" || return 1
	local a=${!1} b=${!2}
	ip link add a0 netns "$a" type veth peer name b0 netns "$b" || return 1
	ip -n "$a" addr add 10.0.1.1/24 dev a0
	ip -n "$b" addr add 10.0.1.2/24 dev b0
	ip -n "$a" addr add fd00:1::1/64 dev a0 nodad
	ip -n "$b" addr add fd00:1::2/64 dev b0 nodad
	ip -n "$a" link set a0 up
	ip -n "$b" link set b0 up
	ct_active "$a" && ct_active "$b"
}

# no_icmp_errors NS: NS's ICMP errors (port or protocol unreachable about a
# test's own packets) are dropped before ctskip's hook sees them, so that
# exact counts count only the test's packets (ctskip untracks the errors
# about matched packets too: see 48-icmp-errors).
no_icmp_errors() {
	ip netns exec "$1" nft -f - <<-'NFT'
	table inet ctskip_test_noerr {
		chain out {
			type filter hook output priority -350;
			icmp type { destination-unreachable, time-exceeded, parameter-problem } drop
			icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } drop
		}
	}
	NFT
}

# ct_count NS [conntrack filter args]: number of conntrack entries in NS. A
# conntrack command that fails prints "conntrack-failed(...)" instead of a
# number (so no count check can pass on it) and returns 1.
ct_count() {
	local ns=$1 out err status; shift
	err=$(mktemp)
	out=$(ip netns exec "$ns" conntrack -L "$@" 2>"$err")
	status=$?
	if [ $status -ne 0 ]; then
		echo "conntrack-failed(status $status: $(head -c 200 "$err" | tr '\n' ' '))"
		rm -f "$err"; return 1
	fi
	rm -f "$err"
	printf '%s' "$out" | grep -c .
	return 0
}

# ct_flush NS: empties NS's conntrack table. A conntrack -F that fails is a
# failing result of its own (the plan then no longer matches either), never
# a silent "flushed".
ct_flush() {
	local out
	out=$(ip netns exec "$1" conntrack -F 2>&1) && return 0
	not_ok "conntrack -F in $1 failed: $(printf '%s' "$out" | head -c 200 | tr '\n' ' ')"
	return 1
}

# tracked_off A B CMD...: the positive control of a "nothing tracked"
# check: with ctskip switched off (enabled 0) the same traffic (CMD) leaves
# entries in A and in B; prints "A B" (their counts), then flushes both
# and switches ctskip back on.
tracked_off() {
	local a=$1 b=$2 na nb; shift 2
	echo 0 > "$SYS/enabled"
	if ! ip netns exec "$a" conntrack -F > /dev/null 2>&1 ||
		! ip netns exec "$b" conntrack -F > /dev/null 2>&1; then
		echo 1 > "$SYS/enabled"; echo "flush-failed"; return 1
	fi
	"$@" > /dev/null
	na=$(ct_count "$a") nb=$(ct_count "$b")
	# A failed flush prints "flush-failed" in place of the counts (the
	# caller's check then fails on it), not a not_ok inside its $(...).
	ip netns exec "$a" conntrack -F > /dev/null 2>&1 &&
		ip netns exec "$b" conntrack -F > /dev/null 2>&1 || na=flush-failed
	echo 1 > "$SYS/enabled"
	echo "$na $nb"
}
# Both counts at least 1.
both_tracked() { [[ $1 =~ ^[1-9][0-9]*\ [1-9][0-9]*$ ]]; }

# plus X Y: their sum, or "X+Y" when either is not a number (a word a
# failed read printed, or nothing): no arithmetic on words under set -u,
# and no check passes on it.
plus() { if [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]]; then echo $(($1 + $2)); else echo "$1+$2"; fi; }
# minus X Y: X - Y, the same way.
minus() { if [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]]; then echo $(($1 - $2)); else echo "$1-$2"; fi; }

# ctstat NS NAME: a counter of /proc/net/ctskip in NS.
ctstat() { ip netns exec "$1" awk -v n="$2" '$1 == n { print $2 }' /proc/net/ctskip; }

load() {
	insmod "$KO" "$@"
}

unload() {
	rmmod ctskip
}

# serve NS udp|tcp ADDR PORT: echo server in the background; returns once
# the server's socket is bound (so a first request never meets a closed
# port), or after 10 s.
serve() {
	local ns=$1 proto=$2 port=$4 i
	shift
	ip netns exec "$ns" $TRAFFIC serve "$@" &
	for _ in $(seq 1 100); do
		ip netns exec "$ns" ss -Hln --"$proto" "sport = :$port" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	echo "# serve: no $proto socket on port $port in $ns after 10 s"
}

# talk NS udp|tcp ADDR PORT [options]: exchanges messages, fails unless all
# were echoed.
talk() {
	local ns=$1; shift
	ip netns exec "$ns" $TRAFFIC talk "$@"
}

# sysw FILE FORMAT [ARGS]: writes printf's output to FILE the way operators
# do, with one of bash's printf (a write(2) per line), cat, tee, dd or a
# program's single write(2) of the whole text (errno.py: as ctskipctl and
# most programs write) — picked from the text, so each call does the same
# every run and the suite as a whole uses every writer; prints OK or the
# errno's name (from the writer's own message). CTSKIP_SYSW=printf|cat|tee|
# dd|once forces one. ctskipctl itself (load, add, del, enable, disable)
# is the writer of 28-ctskipctl, 52-suggest and the demo.
SYSW_WRITERS=(printf cat tee dd once)
sysw() {
	local f=$1 text how err status; shift
	# shellcheck disable=SC2059 # the text is a printf format on purpose
	text=$(printf "$@"; echo x); text=${text%x}
	how=${CTSKIP_SYSW:-${SYSW_WRITERS[$(( $(printf '%s' "$text" | cksum | cut -d' ' -f1) % 5 ))]}}
	err=$(mktemp)
	case $how in
	printf) printf '%s' "$text" 2>"$err" > "$f";;
	cat) printf '%s' "$text" | cat 2>"$err" > "$f";;
	tee) printf '%s' "$text" | tee "$f" 2>"$err" >/dev/null;;
	dd) printf '%s' "$text" | dd of="$f" bs=64k status=none 2>"$err";;
	*) printf '%s' "$text" | python3 "$UTESTS/errno.py" write "$f"; rm -f "$err"; return;;
	esac
	status=${PIPESTATUS[-1]}
	if [ -s "$err" ]; then python3 "$UTESTS/errno.py" errname < "$err"
	elif [ "$status" -ne 0 ]; then echo "FAILED(status $status, no message)"
	else echo OK; fi
	rm -f "$err"
}
# setw FILE FORMAT [ARGS]: a write that sets the scene (sysw); one that does
# not answer OK is a failing result of its own (the plan then no longer
# matches either), never lost.
setw() {
	local r
	r=$(sysw "$@")
	[ "$r" = OK ] && return 0
	not_ok "setting up: writing '$2' to $1: $r"
	return 1
}
# shwrite FILE TEXT [PREFIX...]: writes TEXT to FILE from a new bash (its
# printf builtin, `> FILE`), run under PREFIX if one is given (unshare -Ur,
# setpriv ..., setsid): another process, as another operator's shell would
# be; prints OK or the errno's name (from bash's message).
shwrite() {
	local f=$1 text=$2 err; shift 2
	err=$(mktemp)
	if "$@" bash -c 'printf "%s" "$1" > "$2"' bash "$text" "$f" 2> "$err"; then echo OK
	else python3 "$UTESTS/errno.py" errname < "$err"; fi
	rm -f "$err"
}
# shcat FILE: stdin to FILE through cat (an operator's `cat rules.txt >
# FILE`: write(2) calls of up to 128 KiB, a page at a time for sysfs), from
# a child process of this shell (redirect stdin from a file: at the end of
# a pipeline the function runs in a subshell, whose child cat would be);
# prints OK or the errno's name.
shcat() {
	local err
	err=$(mktemp)
	if cat > "$1" 2> "$err"; then echo OK
	else python3 "$UTESTS/errno.py" errname < "$err"; fi
	rm -f "$err"
}
# sysw1 FILE FORMAT [ARGS]: the same in exactly one write(2).
sysw1() {
	local f=$1; shift
	# shellcheck disable=SC2059
	printf "$@" | python3 "$UTESTS/errno.py" write "$f"
}

# kmsg_since MARK: kernel log lines after the line containing MARK.
mark() { echo "ctskip-test-mark $1" > /dev/kmsg; }
# A log without the mark line (the /dev/kmsg write or dmesg failed, or the
# ring wrapped) prints "MARK-MISSING(MARK)" and returns 1: a check on what
# was (not) logged since then cannot pass on an empty read.
kmsg_since() {
	local log
	log=$(dmesg) || { echo "MARK-MISSING($1: dmesg failed)"; return 1; }
	if ! grep -q "ctskip-test-mark $1\$" <<< "$log"; then
		echo "MARK-MISSING($1)"; return 1
	fi
	sed -n "/ctskip-test-mark $1\$/,\$p" <<< "$log" | tail -n +2
}
# not_in_log TEXT MARK: TEXT was not logged since MARK (and MARK is there).
not_in_log() {
	local since
	since=$(kmsg_since "$2") || return 1
	! grep -q "$1" <<< "$since"
}

# snap NS VAR: saves NS's /proc/net/ctskip counters in associative array VAR.
snap() {
	local -n _s=$2
	local k v
	_s=()
	while read -r k v; do _s[$k]=$v; done < <(ip netns exec "$1" cat /proc/net/ctskip)
}

# delta NS VAR NAME: how much NAME grew in NS since `snap NS VAR`.
# A counter that cannot be read now or was not in the snapshot prints
# "unreadable(NAME)" and returns 1, never a number.
delta() {
	local -n _d=$2
	local v
	v=$(ctstat "$1" "$3")
	if ! [[ $v =~ ^[0-9]+$ && ${_d[$3]-} =~ ^[0-9]+$ ]]; then
		echo "unreadable($3)"; return 1
	fi
	echo $((v - _d[$3]))
}

# hits RULE: "PACKETS BYTES" of RULE in /sys/kernel/ctskip/hits.
hits() { awk -v r="$1" '{ p = $1; b = $2; $1 = $2 = ""; sub(/^  /, ""); if ($0 == r) print p, b }' $SYS/hits; }
