#!/usr/bin/env bash
# DKMS builds ctskip from dkms.conf for a kernel: `dkms build` of the
# committed sources (git archive HEAD) against the cached test kernel of each
# series given, into a private DKMS tree; the module it makes is for that
# kernel (vermagic). Prints KTAP lines.
#
#   tests/packaging/dkms.sh KVER...      (e.g. 6.12 7.2)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
n=0
ok() { n=$((n + 1)); echo "ok $n - dkms: $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - dkms: $*"; }
command -v dkms >/dev/null || { not_ok "dkms is installed (scripts/setup)"; echo "1..$n"; exit 1; }
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
grep -q "const VERSION: &str = \"$version\";" src/ctskip.rs && ok "dkms.conf's version $version is the module's" \
	|| not_ok "dkms.conf's version $version is the module's"
T=$(mktemp -d /tmp/ctskip-dkms.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/src/ctskip-$version" "$T/tree"
git archive HEAD | tar -x -C "$T/src/ctskip-$version"
for kver in "$@"; do
	kdir=$(KVER=$kver scripts/kernel-dir release)
	if [ ! -e "$kdir/.ctskip-built" ]; then not_ok "Linux $kver: no cached release kernel"; continue; fi
	rel=$(cat "$kdir/include/config/kernel.release")
	if dkms build -m ctskip -v "$version" -k "$rel" --kernelsourcedir "$kdir" \
		--dkmstree "$T/tree" --sourcetree "$T/src" --no-depmod > "$T/build-$kver.log" 2>&1; then
		ok "Linux $kver ($rel): dkms build"
	else
		not_ok "Linux $kver ($rel): dkms build"; tail -20 "$T/build-$kver.log" | sed 's/^/# /'
		continue
	fi
	ko=$(find "$T/tree/ctskip/$version/$rel" -name 'ctskip.ko*' | head -1)
	magic=$(modinfo -F vermagic "$ko" 2>/dev/null | cut -d' ' -f1)
	[ "$magic" = "$rel" ] && ok "Linux $kver: the module is built for $rel" \
		|| not_ok "Linux $kver: the module is built for $rel (vermagic '$magic')"
done
echo "1..$n"
