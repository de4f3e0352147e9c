// SPDX-License-Identifier: GPL-2.0

//! The module's load-time parameters and argument string.

use core::ptr::NonNull;

use super::bindings;

/// The argument string as the loading process passed it, before the
/// kernel cut it at blanks (freed when dropped).
///
/// # Invariants
///
/// `0` is a NUL-terminated string from kmalloc, owned by this value.
pub(crate) struct LoadArgs(NonNull<u8>);

impl LoadArgs {
    /// Reads it from the loading syscall's arguments; only valid during
    /// module init. `None` if it cannot be read.
    pub(crate) fn read() -> Option<LoadArgs> {
        // SAFETY: called from module init, in the loading syscall's task;
        // the result is a new kmalloc'd string or null.
        NonNull::new(unsafe { bindings::ctskip_load_args() }.cast()).map(LoadArgs)
    }

    /// The text.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: a NUL-terminated string owned by `self` (invariant).
        unsafe { super::c_bytes(self.0.as_ptr()) }
    }
}

impl Drop for LoadArgs {
    fn drop(&mut self) {
        // SAFETY: owned kmalloc memory (invariant), freed once.
        unsafe { bindings::ctskip_kfree(self.0.as_ptr().cast()) };
    }
}

/// The `rules` parameter's value.
pub(crate) fn param_rules() -> &'static [u8] {
    // SAFETY: set by the kernel before init (mode 0444: never written
    // later); it points into the module's own copy of its arguments, which
    // lives as long as the module.
    let p = unsafe { bindings::ctskip_param_rules };
    if p.is_null() {
        return &[];
    }
    // SAFETY: as above: a NUL-terminated string.
    unsafe { super::c_bytes(p.cast()) }
}

/// The `priority` parameter's value.
pub(crate) fn param_priority() -> i32 {
    // SAFETY: set by the kernel before init and never written afterwards.
    unsafe { bindings::ctskip_param_priority }
}

/// The live on/off switch (`enabled` parameter and control file).
pub(crate) fn enabled() -> bool {
    // SAFETY: a C bool; a racy read of one byte is what READ_ONCE() does,
    // and writers store only 0 or 1 (`set_enabled`).
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::ctskip_enabled)) }
}

/// Turns marking on or off.
pub(crate) fn set_enabled(on: bool) {
    // SAFETY: a single-byte store of a valid bool (WRITE_ONCE); readers use
    // volatile loads.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!(bindings::ctskip_enabled), on) };
}
