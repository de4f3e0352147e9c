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
pub(crate) mod log;
pub(crate) mod module;
pub(crate) mod mutex;
pub(crate) mod netfilter;
pub(crate) mod percpu;
pub(crate) mod pernet;
pub(crate) mod poll;
pub(crate) mod proc;
pub(crate) mod process;
pub(crate) mod rcu;
pub(crate) mod sysfs;
pub(crate) mod trace;
pub(crate) mod window;

/// The `const char *` of a C string, for the kernel's C functions.
///
/// Kernel 7.x lints `CStr::as_ptr` in favour of its own `as_char_ptr`
/// (Rust's `c_char` may be signed, the kernel's is not), which 6.12 does not
/// have for `core::ffi::CStr`; the pointer is cast to the bindings' type here
/// anyway, so the signedness cannot matter.
#[allow(clippy::disallowed_methods)]
fn char_ptr<T>(s: &core::ffi::CStr) -> *const T {
    s.as_ptr().cast()
}

/// The bytes (without the NUL) of the C string at `p`.
///
/// # Safety
///
/// `p` must point at a NUL-terminated string that is live and unchanged for
/// `'a`.
// `CStr::from_ptr` is linted on 7.x for the reason given at [`char_ptr`].
#[allow(clippy::disallowed_methods)]
unsafe fn c_bytes<'a>(p: *const u8) -> &'a [u8] {
    // SAFETY: a live, unchanged, NUL-terminated string for `'a` (caller).
    unsafe { core::ffi::CStr::from_ptr(p.cast()) }.to_bytes()
}

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
