// SPDX-License-Identifier: GPL-2.0

//! Per-CPU counters: an owned array of `u64` per CPU. The hot path adds to
//! this CPU's copy (no lock, no shared atomic); readers sum over all CPUs.

use kernel::prelude::*;

use super::bindings;

/// Marks "no add" in [`PerCpu::count`].
pub(crate) const NO_ADD: u32 = 64;

/// An owned per-CPU array of `n` `u64`, zeroed at allocation.
pub(crate) struct PerCpu {
    ptr: *mut u64,
    n: u32,
}

// SAFETY: the per-CPU area may be updated from any CPU (each CPU its own
// copy, through this_cpu ops) and read from any thread; the pointer itself is
// never changed after allocation.
unsafe impl Send for PerCpu {}
// SAFETY: see `Send`: all access goes through this_cpu ops or per_cpu_ptr sums.
unsafe impl Sync for PerCpu {}

impl PerCpu {
    /// Allocates `n` zeroed counters per CPU.
    pub(crate) fn new(n: u32) -> Result<Self> {
        // SAFETY: plain allocation; a null return is handled.
        let ptr = unsafe { bindings::ctskip_pcpu_alloc(n) };
        if ptr.is_null() {
            return Err(ENOMEM);
        }
        Ok(PerCpu { ptr, n })
    }

    /// Increments the counters whose bits are set in `inc` and adds `v` to
    /// counter `idx` (none if `idx` is [`NO_ADD`]), on this CPU.
    #[inline]
    pub(crate) fn count(&self, inc: u64, idx: u32, v: u64) {
        // Only counters below `n` (a mask and a bound, kept in release builds).
        let inc = if self.n >= 64 {
            inc
        } else {
            inc & ((1u64 << self.n) - 1)
        };
        let idx = if idx < self.n { idx } else { NO_ADD };
        // SAFETY: `ptr` is a live per-CPU array of `n` counters, every bit of
        // `inc` is below `n`, and `idx` is below `n` or NO_ADD (none).
        unsafe { bindings::ctskip_pcpu_count(self.ptr, inc, idx, v) };
    }

    /// Counter `idx` summed over all CPUs.
    pub(crate) fn sum(&self, idx: u32) -> u64 {
        if idx >= self.n {
            return 0;
        }
        // SAFETY: `ptr` is a live per-CPU array and `idx < n`.
        unsafe { bindings::ctskip_pcpu_sum(self.ptr, idx) }
    }
}

impl Drop for PerCpu {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `ctskip_pcpu_alloc` and is freed once; no
        // updater can still run (the owners drop this only after the hooks
        // that use it are gone and an RCU grace period has passed).
        unsafe { bindings::ctskip_pcpu_free(self.ptr) };
    }
}
