// SPDX-License-Identifier: GPL-2.0

//! A poller: a delayed work on the system workqueue that calls back into
//! its owner, armed again by the owner whenever it wants another call (here:
//! to see, soon after the fact, that a writer closed its file).

use core::ptr::NonNull;

use kernel::ffi::c_void;
use kernel::prelude::*;

use super::bindings;

/// What a [`Poller`] calls.
pub(crate) trait Tick: Send + Sync + 'static {
    /// One call, in process context (the system workqueue).
    fn tick(&self);
}

/// # Safety
///
/// `data` must point at a live `T` (see [`Poller::bind`]).
unsafe extern "C" fn tick_cb<T: Tick>(data: *mut c_void) {
    if let Some(t) = NonNull::new(data.cast::<T>()) {
        // SAFETY: the bound owner outlives every call: it frees the poller
        // (which waits for a call in progress) before it goes.
        unsafe { t.as_ref().tick() };
    }
}

/// A delayed work calling `T::tick` on its owner.
///
/// # Invariants
///
/// `0` is a poller made by the shim, freed only in `drop`; once bound, its
/// data is a `T` that outlives the poller.
pub(crate) struct Poller<T: Tick>(
    NonNull<bindings::ctskip_poller>,
    core::marker::PhantomData<T>,
);

// SAFETY: the poller may be armed and freed from any task.
unsafe impl<T: Tick> Send for Poller<T> {}
// SAFETY: arming is safe from several tasks at once (schedule_delayed_work).
unsafe impl<T: Tick> Sync for Poller<T> {}

impl<T: Tick> Poller<T> {
    /// An unbound poller (its calls do nothing until [`Poller::bind`]).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: allocates and initialises a delayed work; null on failure.
        let p = unsafe { bindings::ctskip_poller_new(Some(tick_cb::<T>)) };
        Ok(Poller(
            NonNull::new(p).ok_or(ENOMEM)?,
            core::marker::PhantomData,
        ))
    }

    /// Binds the poller to its owner, `owner`, which must contain it (so
    /// that it is dropped, and its calls waited for, before the owner goes).
    pub(crate) fn bind(&self, owner: &T) {
        // SAFETY: the poller is live (invariant); the owner contains the
        // poller, so it lives as long as any call.
        unsafe {
            bindings::ctskip_poller_set_data(
                self.0.as_ptr(),
                core::ptr::from_ref(owner).cast_mut().cast(),
            )
        };
    }

    /// Asks for a call in about `ms` milliseconds (none if one is pending).
    pub(crate) fn arm(&self, ms: u32) {
        // SAFETY: the poller is live (invariant).
        unsafe { bindings::ctskip_poller_arm(self.0.as_ptr(), ms) };
    }
}

impl<T: Tick> Drop for Poller<T> {
    fn drop(&mut self) {
        // SAFETY: made in `new`, freed once; this waits for a call in
        // progress and cancels a pending one.
        unsafe { bindings::ctskip_poller_free(self.0.as_ptr()) };
    }
}
