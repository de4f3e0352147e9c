// SPDX-License-Identifier: GPL-2.0

//! Per-netns state: the counters of each network namespace, its
//! /proc/net/ctskip and its four hooks (IPv4 and IPv6, PRE_ROUTING and
//! LOCAL_OUT), set up in every netns that exists at load and every later
//! one. As in iptable_raw.c: hooks are unregistered in `pre_exit`, the rest
//! is freed in `exit`, after an RCU grace period.

use core::sync::atomic::{AtomicI32, Ordering};

use kernel::prelude::*;
use kernel::sync::Arc;

use crate::hook::{Stats, Untrack};
use crate::kapi::log::warn_anyone;
use crate::kapi::netfilter::{Family, HookPoint, NetHooks};
use crate::kapi::pernet::{Grace, Net, Pernet, PernetOps, PernetSlot, PreExit};
use crate::kapi::proc::ProcFile;
use crate::procfs::Figures;

/// Where the hooks sit in each netns.
const HOOKS: [(Family, HookPoint); 4] = [
    (Family::Ipv4, HookPoint::PreRouting),
    (Family::Ipv4, HookPoint::LocalOut),
    (Family::Ipv6, HookPoint::PreRouting),
    (Family::Ipv6, HookPoint::LocalOut),
];

/// The hook priority, set once at load before registration.
static PRIORITY: AtomicI32 = AtomicI32::new(-201);

static SLOT: PernetSlot = PernetSlot::new();

/// One netns's ctskip: its hooks and its proc file, both over its counters.
pub(crate) struct NetState {
    hooks: NetHooks<Untrack, 4>,
    _proc: ProcFile<Figures>,
}

impl PernetOps for NetState {
    fn slot() -> &'static PernetSlot {
        &SLOT
    }

    fn init(net: &Net) -> Result<Self> {
        setup(net)
    }

    fn init_failed(e: Error) {
        // The netns creation fails with this error: say it was ctskip's.
        if e == ENOMEM {
            warn_anyone!("netns setup failed: out of memory (ENOMEM)\n");
        } else {
            warn_anyone!("netns setup failed: error {}\n", e.to_errno());
        }
    }

    fn pre_exit(&mut self, _net: &Net, pre_exit: &PreExit) {
        self.hooks.unregister(pre_exit);
    }

    fn exit(self, _net: &Net, grace: &Grace) {
        self.hooks.release(grace);
    }
}

/// Counters, proc file, then the hooks (once they are registered nothing
/// fails); on error what was made is undone by its `Drop`.
fn setup(net: &Net) -> Result<NetState> {
    let stats = Arc::new(Stats::new()?, GFP_KERNEL)?;
    let proc = ProcFile::create(net, c"ctskip", 0o444, stats.clone())?;
    let hooks = NetHooks::register(net, HOOKS, PRIORITY.load(Ordering::Relaxed), stats)?;
    Ok(NetState { hooks, _proc: proc })
}

/// Registers ctskip in every existing netns and every later one, at
/// `priority`.
pub(crate) fn register(priority: i32) -> Result<Pernet<NetState>> {
    PRIORITY.store(priority, Ordering::Relaxed);
    Pernet::register()
}
