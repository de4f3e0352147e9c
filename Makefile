# SPDX-License-Identifier: GPL-2.0
# ctskip: skip conntrack for chosen traffic in every network namespace.
#
#   make                 build ctskip.ko against KDIR (default: cached release kernel)
#   make KDIR=/path      build against any Rust-enabled kernel build tree
#   make check           host unit tests + in-guest tests on the debug kernel
#   make demo            the main job: before/after demonstration in a VM
#   make bench           benchmarks (release kernel): docs/bench/, docs/BENCHMARKS.md
#   make install         modules_install into KDIR's module tree (and depmod)
#   make clean

KDIR ?= $(shell scripts/kernel-dir release)
# Debian's rustc and LLVM 19 (rustup's rustc is incompatible with the kernel's).
RUSTC_BIN ?= /usr/bin/rustc
KMAKE_ARGS ?= LLVM=1 RUSTC=$(RUSTC_BIN) HOSTRUSTC=$(RUSTC_BIN) \
	BINDGEN=$(shell command -v bindgen 2>/dev/null || echo $(HOME)/.cargo/bin/bindgen)
export PATH := /usr/lib/llvm-19/bin:$(PATH)

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_ARGS) modules

# Kbuild's modules_install runs depmod too (INSTALL_MOD_PATH for a staging root).
install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_ARGS) modules_install

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_ARGS) clean 2>/dev/null || true
	rm -f src/bindings_generated.rs src/.bindings_generated.rs.cmd
	rm -rf tests/host/target tests/host/fuzz/target out

kernel:
	scripts/build-kernel release
	scripts/build-kernel debug

check:
	scripts/check

demo:
	scripts/demo

bench:
	scripts/bench

.PHONY: all modules install clean kernel check demo bench
