// SPDX-License-Identifier: GPL-2.0

//! The core's buffers in the kernel: `KVVec` (kmalloc, falling back to
//! vmalloc for large rule sets), every growth fallible with `GFP_KERNEL`.

use kernel::alloc::{flags::GFP_KERNEL, KVVec};

use crate::rules::{Alloc, Buf, NoMem};

/// Allocator of the core's data structures in the kernel.
pub(crate) struct KAlloc;

impl Alloc for KAlloc {
    type Buf<T: Copy> = KVVec<T>;

    fn relax() {
        super::process::relax();
    }
}

impl<T: Copy> Buf<T> for KVVec<T> {
    fn with_capacity(n: usize) -> Result<Self, NoMem> {
        KVVec::with_capacity(n, GFP_KERNEL).map_err(|_| NoMem)
    }

    fn push(&mut self, v: T) -> Result<(), NoMem> {
        // Every build's loops grow buffers: each push is a point where
        // other tasks may run (a GFP_KERNEL growth may sleep anyway).
        super::process::relax();
        KVVec::push(self, v, GFP_KERNEL).map_err(|_| NoMem)
    }

    #[cfg(not(ctskip_vec_truncate))]
    fn truncate(&mut self, n: usize) {
        if n < self.len() {
            // SAFETY: `n` is below the length, so the first `n` elements are
            // initialised; `T: Copy` has no destructor to run for the rest.
            unsafe { self.set_len(n) };
        }
    }

    #[cfg(ctskip_vec_truncate)]
    fn truncate(&mut self, n: usize) {
        KVVec::truncate(self, n);
    }
}

/// `fmt::Write` into a `KVVec<u8>`; an allocation failure is a `fmt::Error`.
pub(crate) struct TextBuf(pub(crate) KVVec<u8>);

impl core::fmt::Write for TextBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}
