// SPDX-License-Identifier: GPL-2.0

//! The netfilter hook: skb → key → classify → untrack → count.
//!
//! Registered per netns for IPv4 and IPv6 at PRE_ROUTING and LOCAL_OUT, just
//! before conntrack. It never drops: every packet is accepted. A matching
//! packet gets what the NOTRACK target gives it, so conntrack skips it.

use kernel::ffi::{c_uint, c_void};

use crate::bindings;
use crate::counters::{Stat, NO_ADD};
use crate::packet::{dev_name, read_key};
use crate::pernet::NetState;
use crate::rules::rule::proto_has_ports;
use crate::kapi::module;
use crate::kapi::rcu::ReadSide;
use crate::ruleset::ACTIVE;

/// The hook function for all four registrations.
///
/// # Safety
///
/// Called by netfilter only: `priv_` is the [`NetState`] the ops were
/// registered with, `skb` and `state` are valid, and the call runs inside an
/// RCU read-side critical section.
pub(crate) unsafe extern "C" fn ctskip_hook(
    priv_: *mut c_void,
    skb: *mut bindings::sk_buff,
    state: *const bindings::nf_hook_state,
) -> c_uint {
    if module::enabled() {
        // SAFETY: as promised by netfilter (see `# Safety`).
        unsafe { examine(&*priv_.cast::<NetState>(), skb, &*state) };
    }
    bindings::NF_ACCEPT
}

/// Profiling by bisection (`make CTSKIP_BISECT=STAGE`, see
/// docs/BENCHMARKS.md): stop after a stage of the packet's path. Compiled
/// out of normal builds.
macro_rules! bisect_stop {
    ($stage:literal) => {
        #[cfg(ctskip_bisect = $stage)]
        return;
    };
}

/// # Safety
///
/// As for [`ctskip_hook`].
#[inline]
unsafe fn examine(ns: &NetState, skb: *mut bindings::sk_buff, state: &bindings::nf_hook_state) {
    bisect_stop!("entry");
    let stats = ns.stats();
    // SAFETY: `skb` is valid (caller).
    if unsafe { bindings::ctskip_skb_has_nfct(skb) } {
        stats.count(Stat::Seen.bit() | Stat::AlreadyTracked.bit(), NO_ADD, 0);
        return;
    }
    // SAFETY: netfilter runs hooks inside an RCU read-side critical section.
    let rcu = unsafe { ReadSide::assume() };
    let Some(set) = ACTIVE.get(&rcu) else {
        stats.count(Stat::Seen.bit(), NO_ADD, 0);
        return;
    };
    if set.classifier.is_empty() {
        stats.count(Stat::Seen.bit(), NO_ADD, 0);
        return;
    }
    let v6 = u32::from(state.pf) == bindings::NFPROTO_IPV6;
    let prerouting = u32::from(state.hook) == bindings::NF_INET_PRE_ROUTING;
    // SAFETY: `skb` is valid and its network header set at these hooks.
    let mut key = match unsafe { read_key(skb, v6) } {
        Ok(k) => k,
        Err(_) => {
            stats.count(Stat::Seen.bit() | Stat::Unparsed.bit(), NO_ADD, 0);
            return;
        }
    };
    bisect_stop!("key");
    if set.uses_ifnames {
        // SAFETY: `in`/`out` are null or valid devices for the hook's call.
        unsafe {
            if prerouting {
                key.iif = dev_name(state.in_);
            } else {
                key.oif = dev_name(state.out);
            }
        }
    }
    let found = set.classifier.lookup(&key);
    bisect_stop!("lookup");
    match found {
        Some(rule) => {
            // SAFETY: `skb` is valid and carries no conntrack state (checked
            // above); this is what the NOTRACK target does.
            unsafe { bindings::ctskip_skb_untrack(skb) };
            bisect_stop!("untrack");
            // SAFETY: `skb` is valid.
            let len = u64::from(unsafe { bindings::ctskip_skb_len(skb) });
            let family = if v6 { Stat::UntrackedIpv6 } else { Stat::UntrackedIpv4 };
            let place = if prerouting { Stat::UntrackedPrerouting } else { Stat::UntrackedOutput };
            stats.count(
                Stat::Seen.bit() | Stat::Untracked.bit() | family.bit() | place.bit(),
                Stat::UntrackedBytes as u32,
                len,
            );
            set.hit(rule, len);
        }
        None => {
            // Ports a rule needed could not be read (a later fragment or a
            // truncated transport header).
            let unparsed = !key.has_ports && proto_has_ports(key.proto) && set.classifier.needs_ports();
            let bits = if unparsed { Stat::Unparsed.bit() } else { 0 };
            stats.count(Stat::Seen.bit() | bits, NO_ADD, 0);
        }
    }
}
