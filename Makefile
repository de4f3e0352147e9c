# SPDX-License-Identifier: GPL-2.0
# ctskip: skip conntrack for chosen traffic in every network namespace.
#
#   make                 ctskip.ko against KDIR (default: the cached release
#                        kernel of KVER) and the ctskipctl tool (if cargo is here)
#   make KDIR=/path      build against any Rust-enabled kernel build tree
#   make KVER=7.2 ...    use the cached test kernels of Linux 7.2 (default 6.12)
#   make check           what CI runs: host tests, lint, in-guest tests on the
#                        debug kernel, a 7.2 subset, DKMS (FULL=1: more)
#   make demo            the main job: before/after demonstration in a VM
#   make bench           benchmarks (release kernel): docs/bench/, docs/BENCHMARKS.md
#   make clippy          the kernel's clippy (make CLIPPY=1) over the module,
#                        warnings as errors
#   make lint            scripts/lint: rustfmt, clippy (module, ctskipctl,
#                        tests/host), shellcheck
#   make install         modules_install into KDIR's module tree (and depmod);
#                        INSTALL_MOD_PATH=/staging/root for a staging root;
#                        ctskipctl into $(DESTDIR)$(PREFIX)/sbin if it was built
#   make clean

KVER ?= 6.12
export KVER
KDIR ?= $(shell scripts/kernel-dir release)
# Where Kbuild builds the module (default: here); scripts/build-module uses
# out/<kver>-<variant>/.
BUILD_DIR ?= $(CURDIR)
PREFIX ?= /usr/local
DESTDIR ?=
# Debian's rustc and LLVM 19 (rustup's rustc is incompatible with the kernel's).
RUSTC_BIN ?= /usr/bin/rustc
BINDGEN_BIN ?= $(shell command -v bindgen 2>/dev/null || echo $(HOME)/.cargo/bin/bindgen)
# The clippy-driver of that rustc (Debian's rust-web-clippy), for `make clippy`.
CLIPPY_DRIVER_BIN ?= $(dir $(RUSTC_BIN))clippy-driver
KMAKE_ARGS ?= LLVM=1 RUSTC=$(RUSTC_BIN) HOSTRUSTC=$(RUSTC_BIN) BINDGEN=$(BINDGEN_BIN)
CARGO ?= $(shell command -v cargo 2>/dev/null || echo $(HOME)/.cargo/bin/cargo)
CTL := tools/ctskipctl/target/release/ctskipctl
export PATH := /usr/lib/llvm-19/bin:$(PATH)

all: modules ctskipctl

modules:
	$(MAKE) -C $(KDIR) M=$(BUILD_DIR) $(KMAKE_ARGS) modules

# Kbuild recompiles the crate when the command changes, so this lints it
# (and a later `make` compiles it again with rustc).
clippy:
	$(MAKE) -C $(KDIR) M=$(BUILD_DIR) $(KMAKE_ARGS) CLIPPY=1 \
		CLIPPY_DRIVER=$(CLIPPY_DRIVER_BIN) KRUSTFLAGS=-Dwarnings modules

# The user-space tool: plain Rust with no dependencies beyond the module's
# own core (src/rules); skipped with a note where there is no cargo.
ctskipctl:
	@if [ -x "$(CARGO)" ]; then \
		$(CARGO) build --release --offline --quiet --manifest-path tools/ctskipctl/Cargo.toml && \
		echo "  CARGO   $(CTL)"; \
	else \
		echo "  SKIP    ctskipctl (no cargo: install Rust's cargo to build the tool)"; \
	fi

# Kbuild's modules_install runs depmod too (INSTALL_MOD_PATH for a staging root).
install: modules
	$(MAKE) -C $(KDIR) M=$(BUILD_DIR) $(KMAKE_ARGS) modules_install
	@if [ -x $(CTL) ]; then \
		install -D -m 0755 $(CTL) $(DESTDIR)$(PREFIX)/sbin/ctskipctl && \
		echo "  INSTALL $(DESTDIR)$(PREFIX)/sbin/ctskipctl"; \
	fi

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(KMAKE_ARGS) clean 2>/dev/null || true
	rm -f src/bindings_generated.rs src/.bindings_generated.rs.cmd
	rm -rf tests/host/target tests/host/fuzz/target tools/ctskipctl/target out

kernel:
	scripts/build-kernel release
	scripts/build-kernel debug

check:
	scripts/check $(if $(FULL),--full)

demo:
	scripts/demo

bench:
	scripts/bench

lint:
	scripts/lint

.PHONY: all modules clippy ctskipctl install clean kernel check demo bench lint
