# shellcheck shell=bash
# Shared settings for ctskip's scripts. Source it; it defines no side effects
# beyond variables and functions.
#
# The kernel build must use Debian's rustc (1.96, /usr/bin/rustc) and LLVM 19:
# rustup's rustc comes first on PATH and its std is incompatible with the
# kernel's (E0514), so every kernel/module make gets these explicitly.

CTSKIP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CTSKIP_CACHE=${CTSKIP_CACHE:-$HOME/.cache/ctskip}
# The kernel series to build and test against: Debian's linux-source-$KVER
# (6.12, the LTS default, or 7.2 from Debian unstable). `KVER=7.2 make check`.
KVER=${KVER:-6.12}
case $KVER in
6.12|7.2) ;;
*) echo "ctskip: KVER=$KVER is not supported (6.12 or 7.2)" >&2; return 2 2>/dev/null || exit 2;;
esac
export KVER
KVER_SERIES=$KVER
RUSTC_BIN=/usr/bin/rustc
# Its clippy-driver and rustfmt (Debian's rust-web-clippy, rustfmt-web): the
# kernel's `make CLIPPY=1` needs the driver of the very rustc that builds.
# shellcheck disable=SC2034 # for the scripts that source this
CLIPPY_DRIVER_BIN=/usr/bin/clippy-driver RUSTFMT_BIN=/usr/bin/rustfmt
export PATH="/usr/lib/llvm-19/bin:$PATH:$HOME/.cargo/bin"

if command -v bindgen >/dev/null 2>&1; then
	BINDGEN_BIN=$(command -v bindgen)
else
	BINDGEN_BIN=$HOME/.cargo/bin/bindgen
fi

# Arguments every kernel or module make needs.
ctskip_kmake_args() {
	echo "LLVM=1 RUSTC=$RUSTC_BIN HOSTRUSTC=$RUSTC_BIN BINDGEN=$BINDGEN_BIN"
}

# Version of the Debian kernel source package, e.g. 6.12.117-1.
ctskip_source_version() {
	dpkg-query -W -f='${Version}' "linux-source-$KVER_SERIES" 2>/dev/null || echo unknown
}

ctskip_toolchain_key() {
	{ "$RUSTC_BIN" --version; clang --version | head -1; "$BINDGEN_BIN" --version 2>/dev/null; } \
		| sha256sum | cut -c1-12
}

KSRC="$CTSKIP_CACHE/src/linux-$(ctskip_source_version)"

# Unpack Debian's tarball once into the cache (read-only use afterwards: every
# kernel variant builds out of tree with O=).
ctskip_unpack_source() {
	[ -e "$KSRC/.ctskip-unpacked" ] && return 0
	local tarball
	tarball=$(ls /usr/src/linux-source-"$KVER_SERIES".tar.* 2>/dev/null | head -1)
	[ -n "$tarball" ] || { echo "no /usr/src/linux-source-$KVER_SERIES tarball; run scripts/setup" >&2; return 1; }
	echo "unpacking $tarball into $KSRC"
	rm -rf "$KSRC.tmp" && mkdir -p "$KSRC.tmp"
	tar -C "$KSRC.tmp" --strip-components=1 -xf "$tarball"
	rm -rf "$KSRC" && mv "$KSRC.tmp" "$KSRC"
	touch "$KSRC/.ctskip-unpacked"
}

# Where ctskip.ko is built for a kernel variant (out of the source tree).
ctskip_out_dir() {
	echo "$CTSKIP_ROOT/out/$KVER_SERIES-$1"
}

# Build directory of a kernel variant (release|debug), keyed by source version,
# the config fragments and the toolchain.
ctskip_kernel_dir() {
	local variant=$1 key
	key=$( { ctskip_source_version; cat "$CTSKIP_ROOT/qemu/kernel.config";
		 [ "$variant" = debug ] && cat "$CTSKIP_ROOT/qemu/kernel-debug.config";
		 [ "$variant" = release ] && cat "$CTSKIP_ROOT/qemu/kernel-release.config";
		 ctskip_toolchain_key; } | sha256sum | cut -c1-12)
	echo "$CTSKIP_CACHE/kernel/$variant-$(ctskip_source_version)-$key"
}
