// SPDX-License-Identifier: GPL-2.0

//! The safe layer over the kernel's C API: the only place in ctskip with
//! `unsafe` code and `bindings::`. Each type wraps one kernel object or
//! service thinly, states what it relies on (`# Safety`, `// SAFETY:`,
//! `// INVARIANT:`), and undoes what it set up when dropped, in the manner of
//! `rust/kernel/net/phy.rs`. Product code (`control`, `ruleset`, `hook`, ...)
//! uses these types only. `args.rs` and `window.rs` are the layer's pure
//! parts (no kernel calls), tested on the host by `tests/host`.

pub(crate) mod alloc;
pub(crate) mod args;
mod bindings;
pub(crate) mod file;
pub(crate) mod percpu;
pub(crate) mod poll;
pub(crate) mod module;
pub(crate) mod netfilter;
pub(crate) mod pernet;
pub(crate) mod proc;
pub(crate) mod process;
pub(crate) mod rcu;
pub(crate) mod sysfs;
pub(crate) mod window;

/// Milliseconds since boot, at jiffies resolution.
pub(crate) fn now_ms() -> u64 {
    // SAFETY: reads jiffies.
    unsafe { bindings::ctskip_now_ms() }
}

/// ESTALE, which the kernel crate does not name.
pub(crate) fn estale() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(bindings::ESTALE as i32))
}

/// ENODATA, which the kernel crate does not name.
pub(crate) fn enodata() -> kernel::error::Error {
    kernel::error::Error::from_errno(-(bindings::ENODATA as i32))
}
