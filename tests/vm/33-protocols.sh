#!/bin/bash
# The rule language's other protocols, IPv6 extension headers before TCP,
# iif/oif in both directions (local and forwarded), and the priority
# parameter against a raw-table CT zone rule: real packets between netns,
# each "not tracked" next to the same traffic tracked without the rule, and
# exact counter/hits deltas.
#
# What conntrack does with each protocol on the 6.12 test kernels
# (NF_CT_PROTO_DCCP, _SCTP, _UDPLITE =y; NF_CT_PROTO_GRE unset, as nothing
# selects it without PPTP): tcp/udp/icmp/icmpv6 have their trackers; dccp
# (a Request starts an entry), sctp (an INIT with vtag 0 starts one, CRC32c
# checked at PRE_ROUTING) and udplite theirs; gre, esp, ah and any other
# number get the generic tracker (one entry per address pair, no ports;
# "unknown" in conntrack -L; GRE shows as "gre" with zero keys when its
# tracker is built). UDP-Lite: conntrack verifies the checksum at
# PRE_ROUTING with the UDP pseudo-header (protocol 17, nf_checksum_partial
# in udplite_error) where UDP-Lite uses 136, so a correct UDP-Lite request
# arriving with CHECKSUM_NONE (veth) is "bad checksum" there: the receiver
# tracks only its own reply, as a new entry. Over IPv6, AH is an extension
# header that ipv6_skip_exthdr() (ctskip's and conntrack's) walks past, so
# the protocol of an IPv6 packet is the one after AH. Linux 7.x has no
# UDP-Lite sockets (net/ipv4/udplite.c is gone): the UDP-Lite socket checks
# are skipped there, with that reason.
. "$(dirname "$0")/lib.sh"
plan 97

# Speed: on a TCG guest a Python start costs ~2 s and `ip netns exec` ~0.5 s,
# so all traffic comes from one agent (craft.py, entering each netns with
# setns), and counters and conntrack entries are read with shell builtins
# from /proc/PID/net/{ctskip,nf_conntrack} of a holder process per netns.
declare -A HOLD
hold() { local ns; for ns in "$@"; do nsenter --net="/run/netns/$ns" sleep 100000 & HOLD[$ns]=$!; done; }
coproc AGENT { exec python3 "$TESTS_DIR/craft.py"; }
# ag NETNS COMMAND ARGS: one command to the agent; its answer in AR.
ag() { printf '%s\n' "$*" >&"${AGENT[1]}"; AR=; IFS= read -r -t 30 AR <&"${AGENT[0]}" || AR="agent-timeout"; }
echoed() { ag "$@"; [ "$AR" = "echoed ${*: -1} of ${*: -1}" ] || [ "$AR" = "echoed ${*: -2:1} of ${*: -2:1}" ]; }
# ctp NS PROTO-NUMBER [REGEX]: conntrack entries of that protocol (whose
# text after the protocol number matches REGEX).
ctp() {
	local f=/proc/${HOLD[$1]}/net/nf_conntrack n=0 name num rest
	[ -r "$f" ] || { echo "nf_conntrack-unreadable"; return 1; }
	while read -r _ _ name num rest; do
		[ "$num" = "$2" ] || continue
		[ -z "${3:-}" ] || [[ $rest =~ $3 ]] || continue
		n=$((n + 1))
	done < "$f"
	echo $n
}
osport() { echo "^[^=]*=[^ ]+ dst=[^ ]+ sport=$1 "; }   # original direction's source port
odport() { echo "^[^=]*=[^ ]+ dst=[^ ]+ sport=[0-9]+ dport=$1 "; }
flush() { local ns; for ns in "$@"; do ct_flush "$ns"; done; }
# csnap NS VAR / cdelta NS VAR NAME: /proc/net/ctskip of NS, and growth.
# shellcheck disable=SC2178 # a nameref to the caller's array
csnap() { local -n _s=$2; local k v; _s=(); while read -r k v; do _s[$k]=$v; done < "/proc/${HOLD[$1]}/net/ctskip"; }
cdelta() {
	local -n _d=$2; local k v
	# A counter not in the snapshot (or not a number) is a word, never 0.
	[[ ${_d[$3]-} =~ ^[0-9]+$ ]] || { echo "no-snap-$3"; return 1; }
	while read -r k v; do [ "$k" = "$3" ] && { echo $((v - _d[$k])); return; }; done < "/proc/${HOLD[$1]}/net/ctskip"
	echo "no-$3"
}
# hitp RULE: the rule's packet count in hits; 0 for no rule at all ("").
# (An unreadable hits file, or a rule not in it, prints a word, not 0, so no
# count check passes on it; hdelta turns it into the check's value.)
hitp() {
	local p b r
	[ -z "$1" ] && { echo 0; return; }
	[ -r $SYS/hits ] || { echo "hits-unreadable"; return 1; }
	while read -r p b r; do [ "$r" = "$1" ] && { echo "$p"; return; }; done < $SYS/hits
	echo "no-rule"
	return 1
}
# hdelta RULE H0: how much RULE's count grew since H0 (hitp's), or the
# word either one printed.
hdelta() {
	local now
	now=$(hitp "$1")
	if [[ $now =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ ]]; then echo $((now - $2)); else echo "hits($now, before: $2)"; fi
}
setrules() { { printf '%s\n' "$1" > $SYS/rules; } 2>/dev/null; }
clear_rules() { setrules ""; }
# shellcheck disable=SC2034 # read by name: csnap and cdelta take namerefs
declare -A sa sb sr

pair A B || { not_ok "topology"; done_testing; exit; }
no_icmp_errors "$A"; no_icmp_errors "$B"
load || { not_ok "insmod"; done_testing; exit; }
hold "$A" "$B"
# Static neighbours: no neighbour discovery (ICMPv6) during the test.
amac=$(ip -n "$A" -br link show a0 | awk '{print $3}')
bmac=$(ip -n "$B" -br link show b0 | awk '{print $3}')
for a in fd00:1::2 10.0.1.2; do ip -n "$A" neigh replace $a lladdr "$bmac" dev a0 nud permanent; done
for a in fd00:1::1 10.0.1.1; do ip -n "$B" neigh replace $a lladdr "$amac" dev b0 nud permanent; done
# UDP-Lite sockets: Linux 7.x has none (socket() says EPROTONOSUPPORT);
# the UDP-Lite socket checks are then skipped, with that reason. Any other
# failure to make one is a failure.
udplite=
python3 -c 'import errno, socket, sys
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 136)
except OSError as e:
    sys.exit(3 if e.errno == errno.EPROTONOSUPPORT else 2)'
case $? in
0) udplite=1 ;;
3) ;;
*) udplite_error=1 ;;
esac
servers="" want=""
for s in ${udplite:+"udplite 10.0.1.2 7003" "udplite 10.0.1.2 7004"} "tcp fd00:1::2 7100" "tcp fd00:1::2 7101" \
	"udp 10.0.1.2 7150" "udp 10.0.1.2 7151" "udp 10.0.1.2 7200" "udp 10.0.1.2 7400" "udp 10.0.1.2 7401"; do
	ag "$B" serve $s; servers+="$AR "; want+="serving "
done

# --- 1. Protocols: raw packets A -> B ---------------------------------------
# raw_block KIND NUMBER RULE DST OTHER-KIND OTHER-NUMBER OTHER-DPORT
raw_block() {
	local kind=$1 num=$2 rule=$3 dst=$4 okind=$5 onum=$6 odport=$7 h0
	clear_rules; flush "$A" "$B"
	ag "$A" send "$kind" "$dst" 1 40000 7001
	check_eq "$kind to $dst, no rule: tracked in A and B" "1 1" "$(ctp "$A" "$num") $(ctp "$B" "$num")"
	check "rules: $rule" setrules "$rule"
	flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "$rule")
	ag "$A" send "$kind" "$dst" 3 40000 7001
	check_eq "$rule: 3 packets, no entry in A or B" "0 0" "$(ctp "$A" "$num") $(ctp "$B" "$num")"
	check_eq "$rule: hits +6, A untracked_output +3, B untracked_prerouting +3" "6 3 3" \
		"$(hdelta "$rule" "$h0") $(cdelta "$A" sa untracked_output) $(cdelta "$B" sb untracked_prerouting)"
	h0=$(hitp "$rule")
	ag "$A" send "$okind" "$dst" 1 40000 "$odport"
	check_eq "$rule: $okind (dport $odport) still tracked in A and B, no hit" "1 1 0" \
		"$(ctp "$A" "$onum") $(ctp "$B" "$onum") $(hdelta "$rule" "$h0")"
}
raw_block sctp 132 "sctp dport 7001" 10.0.1.2 sctp 132 7002
raw_block dccp 33 "dccp dport 7001" fd00:1::2 dccp 33 7002
raw_block gre 47 "gre" 10.0.1.2 esp 50 7001
raw_block esp 50 "esp" fd00:1::2 gre 47 7001
raw_block ah 51 "ah" 10.0.1.2 gre 47 7001
# The ah rule is still active: IPv6 AH followed by UDP is UDP to both
# ctskip and conntrack (AH is walked as an extension header).
h0=$(hitp ah); flush "$A" "$B"
ag "$A" send ah-udp fd00:1::2 1 40000 7005
check_eq "ah: IPv6 AH+UDP is not matched by 'ah' (tracked as udp in A and B, no hit)" "1 1 0" \
	"$(ctp "$A" 17) $(ctp "$B" 17) $(hdelta ah "$h0")"
raw_block proto:253 253 "proto 253" 10.0.1.2 proto:254 254 7001

# UDP-Lite over real sockets: echo servers in B on 7003 and 7004.
check_eq "echo servers in B" "$want" "$servers"
clear_rules; flush "$A" "$B"
if [ -n "$udplite" ]; then
	check "udplite, no rule: echoed" echoed "$A" talk udplite 10.0.1.2 7003 2
	# B's entry is its reply's (see the top): one entry in each netns.
	check_eq "udplite, no rule: tracked in A and B" "1 1" "$(ctp "$A" 136) $(ctp "$B" 136)"
	check "rules: udplite dport 7003" setrules "udplite dport 7003"
	flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "udplite dport 7003")
	check "udplite dport 7003: echoed" echoed "$A" talk udplite 10.0.1.2 7003 3
	check_eq "udplite dport 7003: no entry in A or B" "0 0" "$(ctp "$A" 136) $(ctp "$B" 136)"
	check_eq "udplite dport 7003: hits +12, untracked A out/in +3/+3, B in/out +3/+3" "12 3 3 3 3" \
		"$(hdelta "udplite dport 7003" "$h0") $(cdelta "$A" sa untracked_output) $(cdelta "$A" sa untracked_prerouting) $(cdelta "$B" sb untracked_prerouting) $(cdelta "$B" sb untracked_output)"
	h0=$(hitp "udplite dport 7003")
	ag "$A" talk udplite 10.0.1.2 7004 1
	check_eq "udplite dport 7003: dport 7004 tracked in A and B, no hit" "1 1 0" \
		"$(ctp "$A" 136) $(ctp "$B" 136) $(hdelta "udplite dport 7003" "$h0")"
else
	for c in "udplite, no rule: echoed" "udplite, no rule: tracked in A and B" \
		"rules: udplite dport 7003" "udplite dport 7003: echoed" \
		"udplite dport 7003: no entry in A or B" \
		"udplite dport 7003: hits +12, untracked A out/in +3/+3, B in/out +3/+3" \
		"udplite dport 7003: dport 7004 tracked in A and B, no hit"; do
		if [ -n "${udplite_error:-}" ]; then
			not_ok "$c (a UDP-Lite socket failed, not with EPROTONOSUPPORT)"
		else
			skip "$c" "this kernel has no UDP-Lite sockets"
		fi
	done
fi

# ICMPv6 echo (static neighbours: no other ICMPv6 between A's and B's
# addresses; router solicitations and MLD go from link-local addresses).
ping6() { nsenter --net="/run/netns/$A" ping -q -c "$1" -i 0.2 -W 2 "$2" >/dev/null; }
r6="ip6 icmpv6 daddr fd00:1::2"
clear_rules; flush "$A" "$B"
check "icmpv6, no rule: answered" ping6 1 fd00:1::2
check_eq "icmpv6, no rule: tracked in A and B" "1 1" "$(ctp "$A" 58) $(ctp "$B" 58)"
check "rules: $r6" setrules "$r6"
flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "$r6")
check "$r6: 3 echoes answered" ping6 3 fd00:1::2
check_eq "$r6: no entry in A or B" "0 0" "$(ctp "$A" 58) $(ctp "$B" 58)"
check_eq "$r6: hits +12, untracked_ipv6 A +6, B +6" "12 6 6" \
	"$(hdelta "$r6" "$h0") $(cdelta "$A" sa untracked_ipv6) $(cdelta "$B" sb untracked_ipv6)"
h0=$(hitp "$r6")
ping6 1 10.0.1.2
check_eq "$r6: ICMP echo over IPv4 tracked in A and B, no hit" "1 1 0" \
	"$(ctp "$A" 1) $(ctp "$B" 1) $(hdelta "$r6" "$h0")"

# --- 2. TCP over IPv6 behind hop-by-hop and destination options -------------
ip netns exec "$B" nft -f - <<'NFT'
table ip6 exth {
	chain pre {
		type filter hook prerouting priority -150;
		exthdr hbh exists exthdr dst exists tcp dport 7100 counter
	}
}
NFT
hbh() { nsenter --net="/run/netns/$B" nft list chain ip6 exth pre | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }
clear_rules; flush "$A" "$B"; c0=$(hbh)
check "tcp with extension headers, no rule: echoed" echoed "$A" talk tcp fd00:1::2 7100 2 exthdr
check_eq "tcp with extension headers, no rule: tracked in A and B, the headers reached B" "1 1 yes" \
	"$(ctp "$A" 6) $(ctp "$B" 6) $([ "$(hbh)" -gt "$c0" ] && echo yes || echo no)"
check "rules: ip6 tcp dport 7100" setrules "ip6 tcp dport 7100"
flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "ip6 tcp dport 7100"); c0=$(hbh)
check "ip6 tcp dport 7100 with extension headers: echoed" echoed "$A" talk tcp fd00:1::2 7100 3 exthdr
check_eq "ip6 tcp dport 7100 with extension headers: no entry in A or B" "0 0" "$(ctp "$A" 6) $(ctp "$B" 6)"
c1=$(($(hbh) - c0)) h1=$(hdelta "ip6 tcp dport 7100" "$h0")
check_eq "ip6 tcp dport 7100: every A->B packet (with the headers) untracked in B; hits = A + B untracked" \
	"$c1 $h1" "$(cdelta "$B" sb untracked_prerouting) $(plus "$(cdelta "$A" sa untracked)" "$(cdelta "$B" sb untracked)")"
check "  (and there were such packets: $c1)" test "$c1" -ge 4
check "ip6 tcp dport 7100: dport 7101 with extension headers echoed" echoed "$A" talk tcp fd00:1::2 7101 1 exthdr
check_eq "ip6 tcp dport 7100: dport 7101 tracked in A and B" "1 1" "$(ctp "$A" 6) $(ctp "$B" 6)"

# --- 2b. UDP over IPv4 with header options ------------------------------------
# A header longer than 20 bytes: the ports lie past the options (the hook's
# quick read of the usual packet does not apply; the whole key is read).
ip netns exec "$B" nft -f - <<'NFT'
table ip opts {
	chain pre {
		type filter hook prerouting priority -150;
		ip option rr exists udp dport 7150 counter
	}
}
NFT
rr() { nsenter --net="/run/netns/$B" nft list chain ip opts pre | awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }
clear_rules; flush "$A" "$B"; c0=$(rr)
check "udp with IPv4 options, no rule: echoed" echoed "$A" talk udp 10.0.1.2 7150 2 ipopt
check_eq "udp with IPv4 options, no rule: tracked in A and B, the options reached B" "1 1 yes" \
	"$(ctp "$A" 17) $(ctp "$B" 17) $([ "$(rr)" -gt "$c0" ] && echo yes || echo no)"
check "rules: udp dport 7150" setrules "udp dport 7150"
flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "udp dport 7150"); c0=$(rr)
check "udp dport 7150 with IPv4 options: echoed" echoed "$A" talk udp 10.0.1.2 7150 3 ipopt
check_eq "udp dport 7150 with IPv4 options: no entry in A or B" "0 0" "$(ctp "$A" 17) $(ctp "$B" 17)"
c1=$(($(rr) - c0)) h1=$(hdelta "udp dport 7150" "$h0")
check_eq "udp dport 7150: every A->B packet (with the options) untracked in B; hits = A + B untracked" \
	"$c1 $h1" "$(cdelta "$B" sb untracked_prerouting) $(plus "$(cdelta "$A" sa untracked)" "$(cdelta "$B" sb untracked)")"
check "  (and there were such packets: $c1)" test "$c1" -ge 3
check "udp dport 7150: dport 7151 with IPv4 options echoed" echoed "$A" talk udp 10.0.1.2 7151 1 ipopt
check_eq "udp dport 7150: dport 7151 tracked in A and B" "1 1" "$(ctp "$A" 17) $(ctp "$B" 17)"

# --- 3. iif / oif ------------------------------------------------------------
# iif is the input device at PRE_ROUTING, oif the output device at
# LOCAL_OUT; the reverse of a rule swaps them (and the addresses and ports).
# Between A and B, 3 UDP echoes: "entries-A entries-B hits B-pre B-out
# A-out A-pre".
iif_case() {
	local rule=$1 want=$2 h0 got
	if [ -n "$rule" ]; then check "rules: $rule" setrules "$rule"; else clear_rules; fi
	flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb; h0=$(hitp "$rule")
	echoed "$A" talk udp 10.0.1.2 7200 3 || { not_ok "${rule:-no rule}: echo failed ($AR)"; return; }
	got="$(ctp "$A" 17) $(ctp "$B" 17) $(hdelta "$rule" "$h0")"
	got+=" $(cdelta "$B" sb untracked_prerouting) $(cdelta "$B" sb untracked_output)"
	got+=" $(cdelta "$A" sa untracked_output) $(cdelta "$A" sa untracked_prerouting)"
	check_eq "${rule:-no rule}: entries A B, hits, untracked B pre/out, A out/pre" "$want" "$got"
}
iif_case "" "1 1 0 0 0 0 0"
# Requests enter B via b0 (iif); B's replies leave via b0 (oif, reverse).
iif_case "udp dport 7200 iif b0" "1 0 6 3 3 0 0"
# oneway: B tracks its replies (as a new connection B -> A).
iif_case "udp dport 7200 iif b0 oneway" "1 1 3 3 0 0 0"
check_eq "  B's entry is the reply's" 1 "$(ctp "$B" 17 "$(osport 7200)")"
iif_case "udp dport 7200 oif a0" "0 1 6 0 0 3 3"
iif_case "udp dport 7200 oif a0 oneway" "1 1 3 0 0 3 0"
# iif never matches at LOCAL_OUT: A's requests leave via a0 unmatched, and
# its replies enter via a0 with source port 7200 (the reverse needs oif).
iif_case "udp dport 7200 iif a0" "1 1 0 0 0 0 0"

# Forwarded: F1 (f1 10.0.2.1) -- (ra 10.0.2.254) R (rb 10.0.3.254) -- (f2
# 10.0.3.2) F2. At R both directions pass PRE_ROUTING only (no LOCAL_OUT), so
# only the iif half of a rule or of its reverse can match there: `iif ra`
# catches the requests (its reverse, oif ra, nothing), `oif rb` the replies
# (its reverse is iif rb with the ports swapped) and never the requests.
new_netns F1 && new_netns R && new_netns F2
ip link add f1 netns "$F1" type veth peer name ra netns "$R"
ip link add f2 netns "$F2" type veth peer name rb netns "$R"
ip -n "$F1" addr add 10.0.2.1/24 dev f1
ip -n "$R" addr add 10.0.2.254/24 dev ra
ip -n "$R" addr add 10.0.3.254/24 dev rb
ip -n "$F2" addr add 10.0.3.2/24 dev f2
ip -n "$F1" link set f1 up; ip -n "$R" link set ra up; ip -n "$R" link set rb up; ip -n "$F2" link set f2 up
ip -n "$F1" route add default via 10.0.2.254
ip -n "$F2" route add default via 10.0.3.254
ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1
ct_active "$F1"; ct_active "$R"; ct_active "$F2"
hold "$F1" "$R" "$F2"
ag "$F2" serve udp 10.0.3.2 7300
# "entries F1, R (request-origin), R (reply-origin), F2, hits, R untracked_prerouting"
fwd_case() {
	local rule=$1 want=$2 hitrule=${3:-$1} h0 got
	if [ -n "$rule" ]; then check "rules: $rule" setrules "$rule"; else clear_rules; fi
	flush "$F1" "$R" "$F2"; csnap "$R" sr; h0=$(hitp "$hitrule")
	echoed "$F1" talk udp 10.0.3.2 7300 3 || { not_ok "forwarded, ${rule:-no rule}: echo failed ($AR)"; return; }
	got="$(ctp "$F1" 17) $(ctp "$R" 17 "$(odport 7300)") $(ctp "$R" 17 "$(osport 7300)") $(ctp "$F2" 17)"
	got+=" $(hdelta "$hitrule" "$h0") $(cdelta "$R" sr untracked_prerouting)"
	check_eq "forwarded, ${rule:-no rule}: entries F1, R (request's, reply's), F2; hits; R untracked at prerouting" "$want" "$got"
}
fwd_case "" "1 1 0 1 0 0"
# The replies enter R via rb: tracked as a new connection.
fwd_case "udp dport 7300 iif ra" "1 0 1 1 3 3"
fwd_case "udp dport 7300 iif ra oneway" "1 0 1 1 3 3"
# The requests are tracked; the replies (reverse: iif rb, sport 7300) are
# not, so R's entry stays unreplied.
fwd_case "udp dport 7300 oif rb" "1 1 0 1 3 3"
# Both directions at R: iif ra for the requests, oif rb for the replies.
h0=$(hitp "udp dport 7300 oif rb")
fwd_case "udp dport 7300 iif ra; udp dport 7300 oif rb" "1 0 0 1 3 6" "udp dport 7300 iif ra"
check_eq "  the replies hit 'udp dport 7300 oif rb'" 3 "$(hdelta "udp dport 7300 oif rb" "$h0")"

# --- 4. priority against a raw-table CT zone rule ------------------------------
# In B, at raw priority (-300), in both directions: udp 7400 through
# iptables' CT target (xt_CT: leaves any packet whose skb->_nfct is set,
# untracked included), udp 7401 through nft's `ct zone set` (skips only a
# packet with a conntrack entry or template: an untracked packet has none,
# so it gets the zone-7 template and conntrack tracks it after all).
ip netns exec "$B" iptables -t raw -A PREROUTING -p udp --dport 7400 -j CT --zone 7
ip netns exec "$B" iptables -t raw -A OUTPUT -p udp --sport 7400 -j CT --zone 7
ip netns exec "$B" nft -f - <<'NFT'
table inet zone7 {
	chain pre {
		type filter hook prerouting priority -300;
		udp dport 7401 ct zone set 7
	}
	chain out {
		type filter hook output priority -300;
		udp sport 7401 ct zone set 7
	}
}
NFT
# "zone-7 entries in B, B already_tracked, B untracked, A entries"
zone_case() {
	local port=$1 what=$2 want=$3
	flush "$A" "$B"; csnap "$A" sa; csnap "$B" sb
	echoed "$A" talk udp 10.0.1.2 "$port" 3 || { not_ok "$what: echo failed ($AR)"; return; }
	check_eq "$what: B zone-7 entries, B already_tracked, B untracked, A entries" "$want" \
		"$(ctp "$B" 17 " zone=7 ") $(cdelta "$B" sb already_tracked) $(cdelta "$B" sb untracked) $(ctp "$A" 17)"
}
check "rules: udp dport 7400; udp dport 7401" setrules "udp dport 7400; udp dport 7401"
zone_case 7400 "priority -201, iptables CT --zone 7" "1 6 0 0"
zone_case 7401 "priority -201, nft ct zone set 7" "1 6 0 0"
check "rmmod" unload
mark prio350
check "insmod priority=-350" load priority=-350
check "  the load log says raw-table CT rules will not apply" grep -qF "ctskip: priority -350 runs before the raw table (-300): iptables raw-table CT rules (zone, helper, notrack) do not apply to packets ctskip untracks; nft 'ct zone set' still does" <(kmsg_since prio350)
check_eq "priority reads back" -350 "$(cat /sys/module/ctskip/parameters/priority)"
check "rules: udp dport 7400; udp dport 7401" setrules "udp dport 7400; udp dport 7401"
zone_case 7400 "priority -350, iptables CT --zone 7" "0 0 6 0"
check_eq "  and no entry for it in any zone of B" 0 "$(ctp "$B" 17)"
zone_case 7401 "priority -350, nft ct zone set 7 (overrides the untracked mark)" "1 0 6 0"
done_testing
