// SPDX-License-Identifier: GPL-2.0

//! A mutex that owns its data and can be waited for killably: a writer that
//! is killed while it waits (a `ctskipctl` stuck behind a long commit) gets
//! EINTR instead of sleeping on in D state. The kernel crate's `Mutex` of
//! 6.12 has no killable lock.

use core::cell::UnsafeCell;
use core::marker::{PhantomData, PhantomPinned};
use core::ops::{Deref, DerefMut};

use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;

/// Which of ctskip's locks a mutex is (its lockdep class and name).
#[derive(Clone, Copy)]
pub(crate) enum Class {
    /// `ctskip_writers`: the rule writers' state.
    Writers = 0,
    /// `ctskip_readers`: the readers' snapshots.
    Readers = 1,
}

/// A `struct mutex` guarding a `T`.
///
/// # Invariants
///
/// `mutex` is initialised (pinned in place) and guards `data`: `data` is
/// only reached through a [`Guard`], which exists only while `mutex` is held.
#[pin_data]
pub(crate) struct KMutex<T> {
    #[pin]
    mutex: Opaque<bindings::mutex>,
    data: UnsafeCell<T>,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: the data moves between tasks only behind the mutex.
unsafe impl<T: Send> Send for KMutex<T> {}
// SAFETY: `&KMutex` gives access to `T` only under the mutex.
unsafe impl<T: Send> Sync for KMutex<T> {}

impl<T> KMutex<T> {
    /// A new unlocked mutex of `class` over `data`.
    pub(crate) fn new(data: T, class: Class) -> impl PinInit<Self> {
        pin_init!(KMutex {
            // SAFETY: `slot` is the pinned, uninitialised `struct mutex`;
            // __mutex_init() initialises it in place.
            mutex <- unsafe {
                Opaque::ffi_init(|slot: *mut bindings::mutex| {
                    bindings::ctskip_mutex_init(slot, class as u32)
                })
            },
            data: UnsafeCell::new(data),
            _pin: PhantomPinned,
        })
    }

    /// Takes the mutex, or gives EINTR if the caller is killed while it
    /// waits.
    pub(crate) fn lock_killable(&self) -> Result<Guard<'_, T>> {
        // SAFETY: the mutex is initialised (invariant).
        let r = unsafe { bindings::ctskip_mutex_lock_killable(self.mutex.get()) };
        if r != 0 {
            return Err(EINTR);
        }
        // INVARIANT: the mutex is held from here until the guard drops.
        Ok(Guard {
            lock: self,
            _owner: PhantomData,
        })
    }

    /// Takes the mutex (for contexts no signal can end: a work item).
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        // SAFETY: the mutex is initialised (invariant).
        unsafe { bindings::ctskip_mutex_lock(self.mutex.get()) };
        // INVARIANT: the mutex is held from here until the guard drops.
        Guard {
            lock: self,
            _owner: PhantomData,
        }
    }
}

/// The mutex held: access to its data.
///
/// # Invariants
///
/// `lock.mutex` is held by this task while the guard exists.
pub(crate) struct Guard<'a, T> {
    lock: &'a KMutex<T>,
    /// Not `Send`: a mutex is released by the task that took it.
    _owner: PhantomData<*mut ()>,
}

// SAFETY: sharing the guard shares `&T` only; fine when `T` is `Sync`.
unsafe impl<T: Sync> Sync for Guard<'_, T> {}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mutex is held (invariant): nobody else reaches the data.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the mutex is held (invariant): nobody else reaches the data.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: this task holds the mutex (invariant) and releases it once.
        unsafe { bindings::ctskip_mutex_unlock(self.lock.mutex.get()) };
    }
}
