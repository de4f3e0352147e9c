// SPDX-License-Identifier: GPL-2.0

//! An RCU-published `Arc`: readers borrow the current value only inside an
//! RCU read-side section (a [`ReadSide`] proves it), writers replace it and
//! get the old value back only after a grace period.

use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::sync::{Arc, ArcBorrow};

use super::bindings;

/// Proof that the holder is inside an RCU read-side critical section.
pub(crate) struct ReadSide<'a>(PhantomData<(&'a (), *mut ())>);

impl ReadSide<'_> {
    /// Asserts a read-side section that the caller's context guarantees.
    ///
    /// # Safety
    ///
    /// The caller must be inside an RCU read-side critical section for the
    /// whole lifetime of the value (netfilter runs hooks in one).
    pub(crate) unsafe fn assume() -> Self {
        ReadSide(PhantomData)
    }
}

/// An RCU read-side section of our own, ended when dropped.
pub(crate) struct ReadLock(ReadSide<'static>);

impl ReadLock {
    /// Enters a read-side section.
    pub(crate) fn new() -> Self {
        // SAFETY: rcu_read_lock() may be called from any context; `drop`
        // unlocks.
        unsafe { bindings::ctskip_rcu_read_lock() };
        ReadLock(ReadSide(PhantomData))
    }

    /// The proof of the section, borrowed from the lock.
    pub(crate) fn side(&self) -> &ReadSide<'_> {
        &self.0
    }
}

impl Drop for ReadLock {
    fn drop(&mut self) {
        // SAFETY: the section was entered in `new`.
        unsafe { bindings::ctskip_rcu_read_unlock() };
    }
}

/// Waits for every RCU read-side section in progress to end.
pub(crate) fn synchronize() {
    // SAFETY: process context (every caller is a sysfs callback, module
    // init/exit or a pernet callback).
    unsafe { bindings::synchronize_rcu() };
}

/// An `Arc<T>` published to RCU readers (possibly none).
///
/// # Invariants
///
/// `ptr` is null or comes from `Arc::into_raw` and owns that reference; the
/// value it pointed at is released only after a grace period following its
/// replacement.
pub(crate) struct RcuArc<T> {
    ptr: AtomicPtr<T>,
}

// SAFETY: readers on any CPU share `&T` (T: Sync) and writers move `Arc<T>`
// between tasks (T: Send).
unsafe impl<T: Send + Sync> Sync for RcuArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for RcuArc<T> {}

impl<T> RcuArc<T> {
    /// Nothing published.
    pub(crate) const fn new() -> Self {
        RcuArc {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The published value, borrowed for the read-side section.
    #[inline]
    pub(crate) fn get<'a>(&self, _rcu: &'a ReadSide<'_>) -> Option<&'a T> {
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: a published value is released only after a grace period
        // that follows its replacement (invariant); the section `_rcu`
        // proves is not over before `'a` ends.
        unsafe { p.as_ref() }
    }

    /// A reference of its own to the published value.
    pub(crate) fn get_arc(&self, rcu: &ReadSide<'_>) -> Option<Arc<T>> {
        let p = core::ptr::from_ref::<T>(self.get(rcu)?);
        // SAFETY: `p` came from `Arc::into_raw` (invariant) and the value is
        // live during the section; incrementing the count here is what
        // `ArcBorrow` is for.
        Some(unsafe { ArcBorrow::from_raw(p) }.into())
    }

    /// Publishes `new` and returns what was published, once no reader can
    /// still see it (after a grace period).
    pub(crate) fn replace(&self, new: Option<Arc<T>>) -> Option<Arc<T>> {
        let new = new.map_or(ptr::null_mut(), |a| Arc::into_raw(a).cast_mut());
        let old = self.ptr.swap(new, Ordering::AcqRel);
        synchronize();
        if old.is_null() {
            return None;
        }
        // SAFETY: `old` came from `Arc::into_raw` (invariant), was
        // unpublished above, and the grace period has passed.
        Some(unsafe { Arc::from_raw(old) })
    }
}

impl<T> Drop for RcuArc<T> {
    fn drop(&mut self) {
        let p = *self.ptr.get_mut();
        if !p.is_null() {
            synchronize();
            // SAFETY: as in `replace`: nobody can reach it any more.
            drop(unsafe { Arc::from_raw(p) });
        }
    }
}
