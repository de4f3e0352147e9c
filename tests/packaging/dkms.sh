#!/usr/bin/env bash
# DKMS builds and installs ctskip from dkms.conf for a kernel: `dkms add` of
# the committed sources (git archive HEAD) into a private DKMS tree, then for
# each series given `dkms build` against its cached test kernel (the module is
# for that kernel: vermagic) and `dkms install` into a private module tree
# (--installtree, --no-depmod; depmod -b on that tree): the host's
# /lib/modules is never written. Prints KTAP lines.
#
#   tests/packaging/dkms.sh KVER[:VARIANT]...   (e.g. 6.12:debug 7.2:release;
#                                                the variant defaults to release)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
. scripts/lib/ktap.sh
ok() { ktap_ok "dkms: $*"; }
not_ok() { ktap_not_ok "dkms: $*"; }
ktap_header
per_series=7
ktap_plan $((2 + per_series * $#))
command -v dkms >/dev/null || ktap_bail "dkms is not installed (scripts/setup)"
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
grep -q "const VERSION: &str = \"$version\";" src/ctskip.rs && ok "dkms.conf's version $version is the module's" \
	|| not_ok "dkms.conf's version $version is the module's"
T=$(mktemp -d /tmp/ctskip-dkms.XXXXXX)
[ -e /lib/modules ] && touch "$T/had-lib-modules"
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/src/ctskip-$version" "$T/tree"
git archive HEAD | tar -x -C "$T/src/ctskip-$version"
# Everything dkms is told to use is private (the default trees are
# /var/lib/dkms, /usr/src and /lib/modules).
dk() { dkms "$@" --dkmstree "$T/tree" --sourcetree "$T/src"; }
# fail_rest N WHAT: the N results a failed step leaves unreached.
fail_rest() { local i; for ((i = 0; i < $1; i++)); do not_ok "$2"; done; }
if dk add "ctskip/$version" > "$T/add.log" 2>&1 && [ -L "$T/tree/ctskip/$version/source" ]; then
	ok "dkms add ctskip/$version"
else
	not_ok "dkms add ctskip/$version"; tail -20 "$T/add.log" | sed 's/^/# /'
fi
for series in "$@"; do
	kver=${series%%:*} variant=release
	[ "$kver" = "$series" ] || variant=${series#*:}
	kdir=$(KVER=$kver scripts/kernel-dir "$variant")
	if [ ! -e "$kdir/.ctskip-built" ]; then
		not_ok "Linux $kver: no cached $variant kernel"; fail_rest $((per_series - 1)) "Linux $kver: not built"; continue
	fi
	rel=$(cat "$kdir/include/config/kernel.release")
	if dk build -m ctskip -v "$version" -k "$rel" --kernelsourcedir "$kdir" \
		--no-depmod > "$T/build-$kver.log" 2>&1; then
		ok "Linux $kver ($rel): dkms build"
	else
		not_ok "Linux $kver ($rel): dkms build"; tail -20 "$T/build-$kver.log" | sed 's/^/# /'
		fail_rest $((per_series - 1)) "Linux $kver: no module"
		continue
	fi
	ko=$(find "$T/tree/ctskip/$version/$rel" -name 'ctskip.ko*' | head -1)
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	[ "$magic" = "$rel" ] && ok "Linux $kver: the module is built for $rel" \
		|| not_ok "Linux $kver: the module is built for $rel (vermagic '$magic')"

	# dkms install into a private root's module tree; the host's stays as it
	# was (nothing under /lib/modules newer than the stamp).
	root_k=$T/root-$kver
	mkdir -p "$root_k/lib/modules/$rel"
	touch "$T/stamp-$kver"
	if dk install "ctskip/$version" -k "$rel" --kernelsourcedir "$kdir" \
		--installtree "$root_k/lib/modules" --no-depmod > "$T/install-$kver.log" 2>&1; then
		ok "Linux $kver: dkms install (private module tree)"
	else
		not_ok "Linux $kver: dkms install (private module tree)"; tail -20 "$T/install-$kver.log" | sed 's/^/# /'
	fi
	inst=$(cd "$root_k/lib/modules/$rel" 2>/dev/null && find . -name 'ctskip.ko*' | sed 's|^\./||')
	[ "$inst" = updates/dkms/ctskip.ko ] && ok "Linux $kver: installed as updates/dkms/ctskip.ko (dkms.conf)" \
		|| not_ok "Linux $kver: installed as updates/dkms/ctskip.ko (dkms.conf) (found '$inst')"
	# (modules.order and modules.builtin belong to the kernel's own tree, not here.)
	depmod -b "$root_k" -F "$kdir/System.map" "$rel" 2>&1 | grep -v 'could not open modules\.' | sed 's/^/# /'
	grep -q '^updates/dkms/ctskip.ko:' "$root_k/lib/modules/$rel/modules.dep" 2>/dev/null \
		&& ok "Linux $kver: depmod on that tree lists it" || not_ok "Linux $kver: depmod on that tree lists it"
	st=$(dk status ctskip/"$version" -k "$rel" 2>&1)
	[[ $st == *": installed"* ]] && ok "Linux $kver: dkms status says installed" \
		|| not_ok "Linux $kver: dkms status says installed ('$st')"
	# A find that fails (its message, its status) is a failure, not
	# "untouched"; a host without /lib/modules (before and after) is untouched.
	if [ ! -e /lib/modules ] && [ ! -e "$T/had-lib-modules" ]; then
		ok "Linux $kver: the host's /lib/modules is untouched (there is none)"
	elif new=$(find /lib/modules -newer "$T/stamp-$kver" -print -quit 2>&1) && [ -z "$new" ]; then
		ok "Linux $kver: the host's /lib/modules is untouched"
	else
		not_ok "Linux $kver: the host's /lib/modules is untouched (newer, or find failed: $new)"
	fi
done
ktap_done
