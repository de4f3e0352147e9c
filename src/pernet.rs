// SPDX-License-Identifier: GPL-2.0

//! Per-netns state: the hook registrations and the counters of each network
//! namespace, set up in every netns that exists at load and every one created
//! later (pernet operations). As in iptable_raw.c: hooks are unregistered in
//! `pre_exit`, the rest is freed in `exit`, after an RCU grace period.

use core::cell::UnsafeCell;
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use kernel::error::{from_result, to_result};
use kernel::ffi::{c_int, c_uint};
use kernel::prelude::*;

use crate::bindings;
use crate::counters::STAT_NAMES;
use crate::kapi::percpu::PerCpu;
use crate::hook::ctskip_hook;
use crate::procfs;

/// Hook registrations per netns: IPv4 and IPv6, PRE_ROUTING and LOCAL_OUT.
const NHOOKS: usize = 4;

/// One netns's state, in the memory the pernet core allocates (zeroed) for
/// it with `net_generic()`.
#[repr(C)]
pub(crate) struct NetState {
    ops: [bindings::nf_hook_ops; NHOOKS],
    /// The counters of /proc/net/ctskip; valid from init to exit.
    stats: *mut PerCpu,
}

impl NetState {
    /// This netns's counters.
    #[inline]
    pub(crate) fn stats(&self) -> &PerCpu {
        // SAFETY: set in `init` before the hooks and the proc file that use
        // it exist, freed in `exit` after both are gone.
        unsafe { &*self.stats }
    }
}

/// The id of our slot in `net_generic()` (written by the pernet core).
static NET_ID: AtomicU32 = AtomicU32::new(0);

/// The hook priority, set once at load before registration.
static PRIORITY: AtomicI32 = AtomicI32::new(-201);

/// The netns's [`NetState`].
///
/// # Safety
///
/// `net` must be a live netns in which our pernet data exists (between the
/// start of `init` and the end of `exit`).
pub(crate) unsafe fn state(net: *const bindings::net) -> *mut NetState {
    // SAFETY: `NET_ID` is written once by register_pernet_subsys() before any
    // netns callback runs; `net` is live (caller).
    unsafe { bindings::ctskip_net_generic(net, NET_ID.load(Ordering::Acquire)).cast() }
}

unsafe extern "C" fn net_init(net: *mut bindings::net) -> c_int {
    from_result(|| {
        // SAFETY: called by the pernet core for a netns being set up.
        unsafe { setup(net) }.inspect_err(|e| {
            // The netns creation fails with this error: say it was ctskip's.
            if *e == ENOMEM {
                pr_warn!("netns setup failed: out of memory (ENOMEM)\n");
            } else {
                pr_warn!("netns setup failed: error {}\n", e.to_errno());
            }
        })?;
        Ok(0)
    })
}

/// Sets up ctskip in a new netns: counters, proc file, then the hooks. On
/// error nothing of it is left behind.
///
/// # Safety
///
/// Only from the pernet `init` callback, for the netns it names.
unsafe fn setup(net: *mut bindings::net) -> Result {
    // SAFETY: the pernet core calls init with our data allocated.
    let ns = unsafe { state(net) };
    let stats = KBox::new(PerCpu::new(STAT_NAMES.len() as u32)?, GFP_KERNEL)?;
    // SAFETY: `ns` is our zeroed pernet data, not yet visible to anyone.
    unsafe { (*ns).stats = KBox::into_raw(stats) };
    let hooks = [
        (bindings::NFPROTO_IPV4, bindings::NF_INET_PRE_ROUTING),
        (bindings::NFPROTO_IPV4, bindings::NF_INET_LOCAL_OUT),
        (bindings::NFPROTO_IPV6, bindings::NF_INET_PRE_ROUTING),
        (bindings::NFPROTO_IPV6, bindings::NF_INET_LOCAL_OUT),
    ];
    for (i, (pf, hooknum)) in hooks.into_iter().enumerate() {
        // SAFETY: as above; the ops live in `ns` until `exit`.
        let ops = unsafe { &mut (*ns).ops[i] };
        ops.hook = Some(ctskip_hook);
        ops.pf = pf as u8;
        ops.hooknum = hooknum;
        ops.priority = PRIORITY.load(Ordering::Relaxed);
        ops.priv_ = ns.cast();
    }
    // The proc file first: once the hooks are registered nothing fails.
    // SAFETY: `net` is live; on error nothing was registered yet.
    if let Err(e) = unsafe { procfs::create(net) } {
        // SAFETY: allocated above, never shared.
        drop(unsafe { KBox::from_raw((*ns).stats) });
        return Err(e);
    }
    // SAFETY: `ops` are filled and live until `pre_exit` unregisters them.
    let r = to_result(unsafe { bindings::nf_register_net_hooks(net, (*ns).ops.as_ptr(), NHOOKS as c_uint) });
    if let Err(e) = r {
        // nf_register_net_hooks() may have published some of the hooks to
        // packets before it failed and unwound them (as x_tables.c says of
        // this path): wait for those packets before freeing the counters.
        crate::kapi::rcu::synchronize();
        // SAFETY: created above; after the grace period no hook uses the
        // counters.
        unsafe {
            procfs::remove(net);
            drop(KBox::from_raw((*ns).stats));
        }
        return Err(e);
    }
    Ok(())
}

unsafe extern "C" fn net_pre_exit(net: *mut bindings::net) {
    // SAFETY: `init` succeeded for this netns, so the hooks are registered.
    unsafe { bindings::nf_unregister_net_hooks(net, (*state(net)).ops.as_ptr(), NHOOKS as c_uint) };
}

unsafe extern "C" fn net_exit(net: *mut bindings::net) {
    // SAFETY: the hooks were unregistered in `pre_exit` and the pernet core
    // waited for an RCU grace period since: no hook can still use `stats`.
    // Removing the proc file waits for its readers.
    unsafe {
        procfs::remove(net);
        let ns = state(net);
        drop(KBox::from_raw((*ns).stats));
        (*ns).stats = ptr::null_mut();
    }
}

/// The pernet operations: written by the pernet core while registered (its
/// list head), so kept in an `UnsafeCell`.
struct PernetOps(UnsafeCell<bindings::pernet_operations>);

// SAFETY: only the pernet core touches the operations, under its own lock,
// between registration and unregistration.
unsafe impl Sync for PernetOps {}

static PERNET: PernetOps = PernetOps(UnsafeCell::new(bindings::pernet_operations {
    init: Some(net_init),
    pre_exit: Some(net_pre_exit),
    exit: Some(net_exit),
    // The pernet core writes our id there.
    id: NET_ID.as_ptr(),
    size: size_of::<NetState>(),
    // SAFETY: all-zero is valid for the remaining fields (list head unused
    // until registration, optional callbacks absent).
    ..unsafe { core::mem::zeroed() }
}));

/// The pernet registration: hooks and counters in every netns while alive.
pub(crate) struct Pernet(());

impl Pernet {
    /// Registers in every existing netns and every later one, at `priority`.
    pub(crate) fn register(priority: i32) -> Result<Self> {
        PRIORITY.store(priority, Ordering::Relaxed);
        // SAFETY: `PERNET` is a static that stays registered until `drop`.
        to_result(unsafe { bindings::register_pernet_subsys(PERNET.0.get()) })?;
        Ok(Pernet(()))
    }
}

impl Drop for Pernet {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; this runs `pre_exit` and `exit`
        // for every netns (with a grace period between) and returns when
        // all hooks and proc files are gone.
        unsafe { bindings::unregister_pernet_subsys(PERNET.0.get()) };
    }
}
