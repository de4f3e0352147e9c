// SPDX-License-Identifier: GPL-2.0

//! Per-CPU counters: an owned array of `N` `u64` per CPU. The hot path adds
//! to this CPU's copy (no lock, no shared atomic); readers sum over all
//! CPUs.

use kernel::prelude::*;

use super::bindings;

/// An owned per-CPU array of `N` `u64`, zeroed at allocation.
///
/// # Invariants
///
/// `ptr` is a live per-CPU array of `N` counters, from `ctskip_pcpu_alloc`.
pub(crate) struct PerCpu<const N: usize> {
    ptr: *mut u64,
}

// SAFETY: the per-CPU area may be updated from any CPU (each CPU its own
// copy, through this_cpu ops) and read from any thread; the pointer itself is
// never changed after allocation.
unsafe impl<const N: usize> Send for PerCpu<N> {}
// SAFETY: see `Send`: all access goes through this_cpu ops or per_cpu_ptr sums.
unsafe impl<const N: usize> Sync for PerCpu<N> {}

impl<const N: usize> PerCpu<N> {
    /// Allocates `N` zeroed counters per CPU.
    pub(crate) fn new() -> Result<Self> {
        let n = u32::try_from(N).map_err(|_| EINVAL)?;
        // SAFETY: plain allocation; a null return is handled.
        let ptr = unsafe { bindings::ctskip_pcpu_alloc(n) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: allocated just above, `N` counters per CPU.
        Ok(PerCpu { ptr })
    }

    /// Adds `v` to counter `i` on this CPU (nothing if `i` is not below
    /// `N`: a bound the compiler drops for constant indices).
    #[inline]
    pub(crate) fn add(&self, i: usize, v: u64) {
        if i < N {
            // SAFETY: `ptr` is a live per-CPU array of `N` counters
            // (invariant) and `i < N`.
            unsafe { this_cpu_add(self.ptr, i, v) };
        }
    }

    /// Adds `a` to counter `i` and `b` to counter `j` on this CPU (nothing
    /// if either is not below `N`).
    #[inline]
    pub(crate) fn add2(&self, i: usize, a: u64, j: usize, b: u64) {
        if i < N && j < N {
            // SAFETY: `ptr` is a live per-CPU array of `N` counters
            // (invariant) and both indices are below `N`.
            unsafe {
                this_cpu_add(self.ptr, i, a);
                this_cpu_add(self.ptr, j, b);
            }
        }
    }

    /// Every counter summed over all CPUs.
    pub(crate) fn sums(&self) -> [u64; N] {
        let mut s = [0u64; N];
        for (i, v) in s.iter_mut().enumerate() {
            // SAFETY: `ptr` is a live per-CPU array (invariant) and `i < N`.
            *v = unsafe { bindings::ctskip_pcpu_sum(self.ptr, i as u32) };
        }
        s
    }
}

/// `this_cpu_add(p[i], v)`. On x86_64 SMP kernels the kernel's own
/// instruction, inline (one `add` through the per-CPU segment: preemption
/// and interrupts cannot split it); elsewhere the C macro, through the shim
/// (without SMP, x86_64 per-CPU pointers are plain addresses and `%gs` is not
/// their base).
///
/// # Safety
///
/// `p` must be a live per-CPU array of more than `i` `u64`.
#[inline(always)]
unsafe fn this_cpu_add(p: *mut u64, i: usize, v: u64) {
    #[cfg(all(target_arch = "x86_64", CONFIG_SMP))]
    // SAFETY: `p + 8 * i` is a counter of the per-CPU array (caller), which
    // `%gs`-relative addressing places in this CPU's copy, as
    // `this_cpu_add()` does on x86_64 with SMP.
    unsafe {
        core::arch::asm!(
            "add qword ptr gs:[{p} + {i} * 8], {v}",
            p = in(reg) p,
            i = in(reg) i,
            v = in(reg) v,
            options(nostack),
        );
    }
    #[cfg(not(all(target_arch = "x86_64", CONFIG_SMP)))]
    // SAFETY: as the caller promises; `i < N <= u32::MAX` (checked in `new`).
    unsafe {
        bindings::ctskip_pcpu_add(p, i as u32, v)
    };
}

impl<const N: usize> Drop for PerCpu<N> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `ctskip_pcpu_alloc` and is freed once; no
        // updater can still run (the owners drop this only after the hooks
        // that use it are gone and an RCU grace period has passed).
        unsafe { bindings::ctskip_pcpu_free(self.ptr) };
    }
}
