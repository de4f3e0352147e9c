#!/bin/bash
# make install into a staging root (INSTALL_MOD_PATH, DESTDIR, PREFIX), then
# into the test kernel's module tree; `modprobe ctskip`
# loads it with the options of the example /etc/modprobe.d/ctskip.conf; the
# installed ctskipctl works; `modprobe -r` unloads it.
#
# The guest's root is the host's, read-only: /lib/modules, /etc/modprobe.d
# and the module's build directory get writable stand-ins at the same paths
# (the build directory keeps its contents, so make sees it up to date).
. "$(dirname "$0")/lib.sh"
plan 24
OUT=$(dirname "$KO")
[ -n "$KDIR" ] && [ -d "$KDIR" ] || { not_ok "CTSKIP_KDIR names the kernel build tree"; done_testing; exit; }
rel=$(uname -r)
T=$(mktemp -d)
cp -a "$OUT" $T/build && mount --bind $T/build "$OUT" && _cleanup_mounts+=("$OUT")
[ -d /lib/modules ] || { not_ok "/lib/modules exists on the host (scripts/setup makes it)"; done_testing; exit; }
for d in /lib/modules /etc/modprobe.d; do
	mount -t tmpfs tmpfs $d && _cleanup_mounts+=("$d")
done
check_eq "the test kernel's module tree starts empty" "" "$(ls /lib/modules)"

# A staging root: INSTALL_MOD_PATH puts the module tree (the module and
# depmod's files) under it, DESTDIR and PREFIX place ctskipctl; nothing goes
# to the real module tree.
make -C "$ROOT" -s install KDIR="$KDIR" BUILD_DIR="$OUT" INSTALL_MOD_PATH=$T/stage \
	DESTDIR=$T/dest PREFIX=/usr ${CTSKIP_BINDGEN:+BINDGEN_BIN=$CTSKIP_BINDGEN} > $T/stage.log 2>&1
check_eq "make install INSTALL_MOD_PATH=STAGE DESTDIR=DEST PREFIX=/usr" 0 $?
grep -v '^make\[' $T/stage.log | sed 's/^/# /' | head -20
check "  ctskip.ko is in STAGE/lib/modules/$rel/updates" test -f $T/stage/lib/modules/$rel/updates/ctskip.ko
check "  depmod ran in the staging root: its modules.dep lists it" grep -q '^updates/ctskip.ko:' $T/stage/lib/modules/$rel/modules.dep
check_eq "  modinfo -b STAGE finds it by name" GPL "$(modinfo -b $T/stage -k "$rel" -F license ctskip)"
check "  ctskipctl is DEST/usr/sbin/ctskipctl" test -x $T/dest/usr/sbin/ctskipctl
check_eq "  and is all DESTDIR got" "$T/dest/usr/sbin/ctskipctl" "$(find $T/dest -type f)"
check_eq "  the real module tree is still empty" "" "$(ls /lib/modules)"

# The same bindgen path as the host build's (HOME differs in the guest), so
# Kbuild's recorded commands match and nothing is rebuilt.
make -C "$ROOT" -s install KDIR="$KDIR" BUILD_DIR="$OUT" PREFIX=$T/prefix \
	${CTSKIP_BINDGEN:+BINDGEN_BIN=$CTSKIP_BINDGEN} > $T/make.log 2>&1
check_eq "make install" 0 $?
grep -v '^make\[' $T/make.log | sed 's/^/# /' | head -20
check "ctskip.ko is in the test kernel's module tree" test -f /lib/modules/$rel/updates/ctskip.ko
check "depmod ran: modules.dep lists it" grep -q '^updates/ctskip.ko:' /lib/modules/$rel/modules.dep
check_eq "modinfo finds it by name" GPL "$(modinfo -F license ctskip)"
check "ctskipctl is installed" test -x $T/prefix/sbin/ctskipctl

cp "$ROOT/etc/ctskip.conf" /etc/modprobe.d/ctskip.conf
want=$(sed -n 's/^options ctskip rules="\(.*\)"$/\1/p' /etc/modprobe.d/ctskip.conf)
check "the example config sets rules" test -n "$want"
check "modprobe ctskip" modprobe ctskip
check_eq "loaded with the config's rules parameter" "$want" "$(cat /sys/module/ctskip/parameters/rules)"
check_eq "the active rules are the config's, canonical" \
	"$(printf '%s' "$want" | tr ';' '\n' | sed 's/^ *//')" "$(cat $SYS/rules)"
check_eq "installed ctskipctl lists them" "$(printf '%s' "$want" | tr ';' '\n' | grep -c .)" \
	"$($T/prefix/sbin/ctskipctl list --json | grep -c '"rule"')"

pair A B || { not_ok "topology"; done_testing; exit; }
serve "$B" udp 10.0.1.2 53
off=$(tracked_off "$A" "$B" talk "$A" udp 10.0.1.2 53 -n 2)
check "with ctskip off the same DNS flow is tracked in A and B (positive control: $off)" both_tracked "$off"
check "DNS traffic flows" talk "$A" udp 10.0.1.2 53 -n 2
check_eq "  and is not tracked (the config's first rule)" 0 "$(ct_count "$B" -p udp --dport 53)"
check_eq "  counted as untracked in B" 4 "$(ctstat "$B" untracked)"
check "modprobe -r ctskip" modprobe -r ctskip
check "  unloaded" test ! -e /sys/module/ctskip
done_testing
