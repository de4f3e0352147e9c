// SPDX-License-Identifier: GPL-2.0

//! Fallible growable buffers, so the core can allocate without knowing whose
//! allocator it runs on (the kernel's `KVVec`, or `Vec` on the host).

use core::ops::{Deref, DerefMut};

/// An allocation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoMem;

/// A growable buffer of plain (`Copy`) values whose growth can fail.
pub trait Buf<T: Copy>: Deref<Target = [T]> + DerefMut + Sized {
    /// An empty buffer with room for `n` values.
    fn with_capacity(n: usize) -> Result<Self, NoMem>;
    /// Appends `v`, growing the buffer if needed.
    fn push(&mut self, v: T) -> Result<(), NoMem>;
    /// Keeps the first `n` values (no effect if there are fewer).
    fn truncate(&mut self, n: usize);
    /// Removes every value (keeps the memory).
    fn clear(&mut self) {
        self.truncate(0);
    }
}

/// Chooses the buffer type the core's data structures are made of.
pub trait Alloc {
    /// The buffer type.
    type Buf<T: Copy>: Buf<T>;

    /// A point in a long build where other tasks may run (the kernel's
    /// `cond_resched()`: without it a 65,536-rule build holds its CPU for
    /// seconds on a kernel without preemption); nothing on the host. Called
    /// only where the build may sleep.
    fn relax() {}
}

/// A buffer filled with `n` copies of `v`.
pub fn filled<A: Alloc, T: Copy>(v: T, n: usize) -> Result<A::Buf<T>, NoMem> {
    let mut b = A::Buf::<T>::with_capacity(n)?;
    for _ in 0..n {
        b.push(v)?;
    }
    Ok(b)
}
