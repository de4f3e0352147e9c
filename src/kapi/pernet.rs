// SPDX-License-Identifier: GPL-2.0

//! Network namespaces and pernet operations: state set up in every netns
//! that exists when registered and every later one, torn down in two steps
//! as `iptable_raw.c` does (hooks unregistered in `pre_exit`, the rest freed
//! in `exit`, after the RCU grace period the pernet core waits for between
//! the two).

use core::marker::PhantomData;
use core::mem::size_of;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use kernel::error::{from_result, to_result};
use kernel::ffi::c_int;
use kernel::prelude::*;
use kernel::types::Opaque;

use super::bindings;

/// A network namespace.
///
/// # Invariants
///
/// The wrapped `struct net` is live for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct Net(Opaque<bindings::net>);

impl Net {
    /// Borrows a netns.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a live netns for `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Net {
        // SAFETY: transparent wrapper, live for `'a` (caller).
        unsafe { &*ptr.cast::<Net>() }
    }

    /// The raw pointer, for the other wrappers of this layer.
    pub(crate) fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// Conntrack's entries in this netns (`nf_conntrack_count()`).
    pub(crate) fn conntrack_count(&self) -> u32 {
        // SAFETY: the netns is live (invariant); reads its entry count.
        unsafe { bindings::ctskip_ct_count(self.as_ptr()) }
    }
}

/// The conntrack table's limit (`nf_conntrack_max`): one number for the
/// host, checked against each netns's own count.
pub(crate) fn conntrack_max() -> u32 {
    // SAFETY: reads a global integer.
    unsafe { bindings::ctskip_ct_max() }
}

impl Net {}

/// Proof, handed to [`PernetOps::pre_exit`], that the netns's teardown has
/// begun and that a grace period will pass before `exit`.
pub(crate) struct PreExit(PhantomData<*mut ()>);

/// Proof, handed to [`PernetOps::exit`], that an RCU grace period has
/// passed since every `pre_exit` of the same teardown.
pub(crate) struct Grace(PhantomData<*mut ()>);

/// Per-netns state of a pernet registration.
pub(crate) trait PernetOps: Sized + Send + Sync + 'static {
    /// Where the registration keeps its id.
    fn slot() -> &'static PernetSlot;
    /// Sets up a new netns. On error nothing of it may be left.
    fn init(net: &Net) -> Result<Self>;
    /// The netns's setup failed with `err` (in `init` or around it): the
    /// netns creation fails with it.
    fn init_failed(err: Error);
    /// First step of teardown (unregister hooks).
    fn pre_exit(&mut self, net: &Net, pre_exit: &PreExit);
    /// Last step, after a grace period.
    fn exit(self, net: &Net, grace: &Grace);
}

/// The id and operations of one pernet registration (a `static`).
pub(crate) struct PernetSlot {
    id: AtomicU32,
    registered: AtomicBool,
    ops: Opaque<bindings::pernet_operations>,
}

// SAFETY: `ops` is written before registration (under the registration
// guard's exclusive setup) and afterwards only by the pernet core, under its
// own lock; `id` is atomic.
unsafe impl Sync for PernetSlot {}

impl PernetSlot {
    /// An unused slot.
    pub(crate) const fn new() -> Self {
        PernetSlot {
            id: AtomicU32::new(0),
            registered: AtomicBool::new(false),
            ops: Opaque::uninit(),
        }
    }
}

/// The netns's state of `T`.
///
/// # Safety
///
/// `net` must be live, with `T` registered, between `init` and `exit`.
unsafe fn state<T: PernetOps>(net: *mut bindings::net) -> *mut *mut T {
    // SAFETY: our generic slot (a pointer) exists for the netns (caller).
    unsafe { bindings::ctskip_net_generic(net, T::slot().id.load(Ordering::Acquire)).cast() }
}

/// The pernet core's `init` of `T`: makes the netns's state.
///
/// # Safety
///
/// Called by the pernet core only, for a live `net` with `T` registered.
unsafe extern "C" fn init_cb<T: PernetOps>(net: *mut bindings::net) -> c_int {
    from_result(|| {
        let made = (|| {
            // The box first: once `init` made the state, nothing may fail.
            let room = KBox::<T>::new_uninit(GFP_KERNEL)?;
            // SAFETY: the pernet core calls init for a live netns.
            Ok(KBox::write(room, T::init(unsafe { Net::from_raw(net) })?))
        })();
        let state_box = made.inspect_err(|e| T::init_failed(*e))?;
        // SAFETY: our zeroed slot, allocated by the pernet core for `net`.
        unsafe { *state::<T>(net) = KBox::into_raw(state_box) };
        Ok(0)
    })
}

/// The pernet core's `pre_exit` of `T`.
///
/// # Safety
///
/// Called by the pernet core only, for a `net` whose `init` succeeded.
unsafe extern "C" fn pre_exit_cb<T: PernetOps>(net: *mut bindings::net) {
    // SAFETY: init succeeded for this netns (the core calls pre_exit only
    // then), so the slot holds our state; the core serialises the calls.
    unsafe {
        let s = &mut **state::<T>(net);
        s.pre_exit(Net::from_raw(net), &PreExit(PhantomData));
    }
}

/// The pernet core's `exit` of `T`: drops the netns's state.
///
/// # Safety
///
/// Called by the pernet core only, once, after `pre_exit` and a grace period.
unsafe extern "C" fn exit_cb<T: PernetOps>(net: *mut bindings::net) {
    // SAFETY: as for pre_exit; the state is taken back from the slot once.
    unsafe {
        let slot = state::<T>(net);
        let s = KBox::from_raw(*slot);
        *slot = core::ptr::null_mut();
        // The core waited for a grace period since pre_exit.
        KBox::into_inner(s).exit(Net::from_raw(net), &Grace(PhantomData));
    }
}

/// A pernet registration: `T` in every netns while it lives.
pub(crate) struct Pernet<T: PernetOps>(PhantomData<T>);

impl<T: PernetOps> Pernet<T> {
    /// Registers `T` (running `init` for every existing netns).
    pub(crate) fn register() -> Result<Self> {
        let slot = T::slot();
        // One registration per slot: its operations are in use until then.
        if slot.registered.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        let ops = bindings::pernet_operations {
            init: Some(init_cb::<T>),
            pre_exit: Some(pre_exit_cb::<T>),
            exit: Some(exit_cb::<T>),
            id: slot.id.as_ptr(),
            size: size_of::<*mut T>(),
            // SAFETY: all-zero is valid for the rest (list head unused until
            // registration, optional callbacks absent).
            ..unsafe { core::mem::zeroed() }
        };
        // SAFETY: the slot is not registered (checked above), so nothing
        // else touches `ops`.
        unsafe { slot.ops.get().write(ops) };
        // SAFETY: `ops` stays registered, in its static, until `drop`.
        to_result(unsafe { bindings::register_pernet_subsys(slot.ops.get()) })
            .inspect_err(|_| slot.registered.store(false, Ordering::Release))?;
        Ok(Pernet(PhantomData))
    }
}

impl<T: PernetOps> Drop for Pernet<T> {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; this runs pre_exit and exit for
        // every netns (a grace period between) and returns when all is gone.
        unsafe { bindings::unregister_pernet_subsys(T::slot().ops.get()) };
        T::slot().registered.store(false, Ordering::Release);
    }
}
