#!/bin/bash
# In-guest packet-rate benchmark (run by scripts/bench with -icount, one vCPU,
# release kernel). pktgen injects 64-byte UDP packets (10.9.0.2, random
# source ports 32768-65535, to 10.9.0.1:53) into veth v0 of netns R with
# xmit_mode netif_receive; an nftables rule at prerouting priority -150
# (the sink) drops them after conntrack.
#
# Every configuration starts clean: R is deleted and made again for it, and
# holds the sink and what the configuration measures, nothing else. Before
# it is measured, R's IPv4 PRE_ROUTING hooks (`nft list hooks`) must be
# exactly the ones expected, and ctskip must be loaded exactly when the
# configuration measures it; otherwise it is refused ("CONFIG refused:
# WHY") and scripts/bench fails. Prints "CONFIG RATE" lines (packets per
# guest second; with -icount, guest time counts instructions) and "# ..."
# notes.
set -u
KO=${CTSKIP_KO:?}
KO_NOTRACE=${CTSKIP_KO_NOTRACE:-}
COUNT=${BENCH_COUNT:-200000}
SLOW_COUNT=${BENCH_SLOW_COUNT:-3000}
ONLY=${BENCH_ONLY:-}
GEN="python3 $(dirname "$0")/rulegen.py"
insmod "${PKTGEN_KO:?}" 2>/dev/null
R() { ip netns exec R "$@"; }
refused=0

fresh() { # a new netns R: veth v0/v1 and lo up, no netfilter hook
	ip netns del R 2>/dev/null
	ip netns add R
	R ip link add v0 type veth peer name v1
	R ip addr add 10.9.0.1/24 dev v0
	R ip link set v0 up; R ip link set v1 up; R ip link set lo up
	MAC=$(R ip -o link show v0 | sed 's/.*link\/ether \([^ ]*\).*/\1/')
}

sink() { # sink [ct]: the drop rule after conntrack; ct: conntrack active
	{
		printf 'table ip bench {\n chain sink {\n  type filter hook prerouting priority -150;\n  udp dport 53 counter drop\n }\n'
		# A stateful rule elsewhere (output) makes conntrack active in R.
		[ "${1:-}" = ct ] && printf ' chain ctuse {\n  type filter hook output priority 0;\n  ct state established accept\n }\n'
		printf '}\n'
	} | R nft -f -
}

# R's IPv4 PRE_ROUTING hooks, "PRIORITY WHAT" in priority order (WHAT: an
# nft chain, or a function and its module).
hooks() {
	R nft list hooks ip 2>&1 | awk '
		/hook prerouting/ { on = 1; next }
		on && /^[[:space:]]*}/ { on = 0 }
		on { $1 = $1 + 0; print }'
}

# Hook sets, as patterns over hooks' lines.
H_SINK='^-150 chain ip bench sink'
H_CT='^-400 ipv4_conntrack_defrag|^-200 ipv4_conntrack_in'
H_CTSKIP='^-201 .*\[ctskip\]'

# expect NAME MODULE PATTERN...: R's hooks are exactly one line per PATTERN
# (ERE, in any order), and ctskip is loaded iff MODULE is "ctskip".
expect() {
	local name=$1 module=$2 got want n p; shift 2
	got=$(hooks)
	want=$#
	n=$(printf '%s\n' "$got" | grep -c .)
	if [ "$n" -ne "$want" ]; then
		echo "$name refused: $n PRE_ROUTING hooks, expected $want: $(printf '%s' "$got" | tr '\n' ';')"
		refused=1; return 1
	fi
	for p in "$@"; do
		if [ "$(printf '%s\n' "$got" | grep -cE "$p")" -ne 1 ]; then
			echo "$name refused: no single hook like '$p' in: $(printf '%s' "$got" | tr '\n' ';')"
			refused=1; return 1
		fi
	done
	if { [ -e /sys/module/ctskip ] && [ "$module" != ctskip ]; } ||
		{ [ ! -e /sys/module/ctskip ] && [ "$module" = ctskip ]; }; then
		echo "$name refused: ctskip $( [ -e /sys/module/ctskip ] && echo loaded || echo 'not loaded')"
		refused=1; return 1
	fi
	if [ -n "$(R cat /proc/net/ip_tables_names)" ] && [[ $name != I* ]]; then
		echo "$name refused: iptables tables in R: $(R cat /proc/net/ip_tables_names | tr '\n' ' ')"
		refused=1; return 1
	fi
	return 0
}

pg() { R sh -c "echo '$2' > /proc/net/pktgen/$1"; }
run_pktgen() { # run_pktgen COUNT: prints packets per (guest) second
	pg pgctrl reset
	pg kpktgend_0 rem_device_all
	pg kpktgend_0 "add_device v0"
	for c in "count $1" "pkt_size 60" "delay 0" "flag NO_TIMESTAMP" "flag UDPSRC_RND" "udp_src_min 32768" \
		 "udp_src_max 65535" "udp_dst_min 53" "udp_dst_max 53" "dst_mac $MAC" "dst_min 10.9.0.1" \
		 "dst_max 10.9.0.1" "src_min 10.9.0.2" "src_max 10.9.0.2" "xmit_mode netif_receive" "burst 1"; do
		pg v0 "$c"
	done
	pg pgctrl start
	R cat /proc/net/pktgen/v0 | sed -n 's/.* \([0-9]*\)pps.*/\1/p'
}

want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
# measure NAME COUNT MODULE PATTERN...: checks R (expect), then measures.
measure() {
	local name=$1 count=$2
	shift 2
	expect "$name" "$@" || return 0
	echo "$name $(run_pktgen "$count")"
}

nraw() { # nraw STATEMENT: a raw-priority prerouting chain with one rule
	printf 'table ip nraw {\n chain pre {\n  type filter hook prerouting priority -300;\n  %s\n }\n}\n' "$1" | R nft -f -
}
H_NRAW='^-300 chain ip nraw pre'

# --- without ctskip ------------------------------------------------------
rmmod ctskip 2>/dev/null
if want L; then fresh; sink; measure L "$COUNT" none "$H_SINK"; fi
if want E; then # an empty nft base chain at -300
	fresh; sink; R nft add table ip raw0; R nft add chain ip raw0 pre '{ type filter hook prerouting priority -300; }'
	measure E "$COUNT" none "$H_SINK" '^-300 chain ip raw0 pre'
fi
if want C; then fresh; sink ct; measure C "$COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}"; fi
if want Nbare; then fresh; sink ct; nraw notrack; measure Nbare "$COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_NRAW"; fi
if want N1; then fresh; sink ct; nraw "udp dport 53 notrack"; measure N1 "$COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_NRAW"; fi
if want Nset; then
	fresh; sink ct; $GEN nftset | R nft -f -
	measure Nset "$COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_NRAW"
fi
if want N10k; then
	fresh; sink ct; $GEN nft | R nft -f -
	echo "# N10k: $(R nft list ruleset | grep -c notrack) nft rules"
	measure N10k "$SLOW_COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" '^-300 chain inet nraw pre'
fi
H_IPT='^-300 ipt_do_table'
if want I1; then
	fresh; sink ct; R iptables-legacy -t raw -A PREROUTING -p udp --dport 53 -j CT --notrack
	measure I1 "$COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_IPT"
fi
if want I10k; then
	fresh; sink ct; $GEN iptables | R iptables-legacy-restore -n
	echo "# I10k: $(R iptables-legacy -t raw -S PREROUTING | grep -c CT) iptables rules (IPv4 ones)"
	measure I10k "$SLOW_COUNT" none "$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_IPT"
fi

# --- ctskip ---------------------------------------------------------------
# set_rules FILE: loads FILE's rules (sysfs stage and commit, one open).
set_rules() {
	if [ ! -s "$1" ]; then echo > /sys/kernel/ctskip/rules; return; fi
	cat "$1" > /sys/kernel/ctskip/stage && echo 1 > /sys/kernel/ctskip/commit
}
ctskip_rules() { # ctskip_rules NAME FILE: R fresh, conntrack active, FILE loaded
	fresh; sink ct; set_rules "$2" || { echo "$1 refused: rules not loaded"; refused=1; return 1; }
	echo "# $1: $(wc -l < /sys/kernel/ctskip/rules) rules, the match at line $(grep -n '^udp dport 53$' /sys/kernel/ctskip/rules | cut -d: -f1)"
}
S=("$H_SINK" "${H_CT%%|*}" "${H_CT##*|}" "$H_CTSKIP")
T=$(mktemp -d)
echo "udp dport 53" > "$T/s1"
: > "$T/s0"
$GEN ports > "$T/s10k"
$GEN ctskip > "$T/s10kmix"
# The adversarial families at the bounds (tests/bench/limits): their parts
# are measured below (Sworst, Sadv, Sboxes, Severy, S65kmix).
L_DIR=${BENCH_LIMITS:-}
part() { if [ -n "$L_DIR" ] && [ -s "$L_DIR/$1.part" ]; then cp "$L_DIR/$1.part" "$T/$2"; fi; }
part worst sworst; part adversarial sadv; part boxes sboxes; part every severy; part mix65k s65kmix
insmod "$KO"
# Each family's whole text written to rules as an operator would (cat): the
# kernel's answer (cat's error, the errno's text) and its log line, and
# whether the set before it stayed; then its part, loaded with stage and
# commit. Prints "LIMIT FAMILY KEY VALUE" lines (report.py limits).
limit_whole() {
	local f=$1 err line
	echo "udp dport 53" > /sys/kernel/ctskip/rules
	echo "ctskip-bench: limits $f" > /dev/kmsg
	if err=$(cat "$L_DIR/$f.whole" 2>&1 > /sys/kernel/ctskip/rules); then
		echo "LIMIT $f whole accepted"
		echo "LIMIT $f loaded $(wc -l < /sys/kernel/ctskip/rules)"
	else
		echo "LIMIT $f whole refused"
		echo "LIMIT $f error ${err##*: }"
		line=$(dmesg | sed -n "/ctskip-bench: limits $f\$/,\$p" | grep -m1 'ctskip: rules:' | sed 's/^\[[^]]*\] //')
		echo "LIMIT $f line $line"
		echo "LIMIT $f unchanged $( [ "$(cat /sys/kernel/ctskip/rules)" = "udp dport 53" ] && echo yes || echo no)"
	fi
	if set_rules "$L_DIR/$f.part"; then
		echo "LIMIT $f part $(wc -l < /sys/kernel/ctskip/rules)"
	else
		echo "LIMIT $f part refused"
	fi
}
if [ -n "$L_DIR" ] && want limits; then
	for f in worst adversarial v6pairs boxes every mix65k; do limit_whole "$f"; done
fi
# scripts/profile-hook: the kernel's and this load's text symbols.
if [ -n "${BENCH_SYMBOLS:-}" ]; then grep -i ' t ' /proc/kallsyms > "$BENCH_SYMBOLS"; fi
if want S0; then fresh; sink ct; set_rules "$T/s0"; measure S0 "$COUNT" ctskip "${S[@]}"; fi
if want S1; then ctskip_rules S1 "$T/s1" && measure S1 "$COUNT" ctskip "${S[@]}"; fi
if want S10k; then ctskip_rules S10k "$T/s10k" && measure S10k "$COUNT" ctskip "${S[@]}"; fi
if want S10kmix; then ctskip_rules S10kmix "$T/s10kmix" && measure S10kmix "$COUNT" ctskip "${S[@]}"; fi
if want Sworst && [ -s "$T/sworst" ]; then ctskip_rules Sworst "$T/sworst" && measure Sworst "$COUNT" ctskip "${S[@]}"; fi
if want Sadv && [ -s "$T/sadv" ]; then ctskip_rules Sadv "$T/sadv" && measure Sadv "$COUNT" ctskip "${S[@]}"; fi
for c in Sboxes:sboxes Severy:severy S65kmix:s65kmix; do
	n=${c%%:*} f=$T/${c##*:}
	if want "$n" && [ -s "$f" ]; then ctskip_rules "$n" "$f" && measure "$n" "$COUNT" ctskip "${S[@]}"; fi
done
echo "# untracked in R: $(R awk '$1=="untracked"{print $2}' /proc/net/ctskip)"
# H1: the hook alone, with one matching rule; H0: with a rule that matches
# nothing (conntrack not active in either).
if want H1; then fresh; sink; set_rules "$T/s1"; measure H1 "$COUNT" ctskip "$H_SINK" "$H_CTSKIP"; fi
echo "udp dport 54" > "$T/h0"
if want H0; then
	fresh; sink; set_rules "$T/h0"; measure H0 "$COUNT" ctskip "$H_SINK" "$H_CTSKIP"
fi
rmmod ctskip
# S1 and H0 with the module built without its trace events' static
# branches (make CTSKIP_NOTRACE=1): what the disabled ctskip:untrack (S1,
# a match) and ctskip:skip (H0, no match) cost.
if want S1notrace && [ -n "$KO_NOTRACE" ]; then
	insmod "$KO_NOTRACE"
	ctskip_rules S1notrace "$T/s1" && measure S1notrace "$COUNT" ctskip "${S[@]}"
	# The no-match path (ctskip:skip's branch) against H0.
	if want H0notrace; then fresh; sink; set_rules "$T/h0"; measure H0notrace "$COUNT" ctskip "$H_SINK" "$H_CTSKIP"; fi
	rmmod ctskip
fi
ip netns del R
rm -rf "$T"
[ $refused = 0 ]
