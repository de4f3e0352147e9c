// SPDX-License-Identifier: GPL-2.0

//! The netfilter hook: skb → key → classify → untrack → count (and, for an
//! ICMP error the rules do not match, the key of the packet it is about),
//! then the `ctskip:untrack` or `ctskip:skip` trace event when enabled.
//!
//! Registered per netns for IPv4 and IPv6 at PRE_ROUTING and LOCAL_OUT, just
//! before conntrack. It never drops: every packet is accepted. A matching
//! packet gets what the NOTRACK target gives it, so conntrack skips it.

use crate::counters::{Stat, NO_ADD};
use crate::kapi::module;
use crate::kapi::netfilter::{Family, Hook, HookPoint, HookState, SkBuff};
use crate::kapi::percpu::PerCpu;
use crate::kapi::rcu::ReadSide;
use crate::kapi::trace::{self, SkipReason};
use crate::packet::{dev_name, icmp_error_key, read_key};
use crate::rules::key::IfName;
use crate::rules::rule::proto_has_ports;
use crate::ruleset::{self, RuleSet};

/// The hook of every registration, over its netns's counters.
pub(crate) struct Untrack;

impl Hook for Untrack {
    type Data = PerCpu;

    #[inline]
    fn hook(stats: &PerCpu, skb: &SkBuff, state: &HookState, rcu: &ReadSide<'_>) {
        if module::enabled() {
            examine(stats, skb, state, rcu);
        }
    }
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

#[inline]
fn examine(stats: &PerCpu, skb: &SkBuff, state: &HookState, rcu: &ReadSide<'_>) {
    bisect_stop!("entry");
    if skb.has_conntrack() {
        stats.count(Stat::Seen.bit() | Stat::AlreadyTracked.bit(), NO_ADD, 0);
        return;
    }
    let Some(set) = ruleset::active(rcu) else {
        stats.count(Stat::Seen.bit(), NO_ADD, 0);
        return;
    };
    if set.classifier.is_empty() {
        stats.count(Stat::Seen.bit(), NO_ADD, 0);
        return;
    }
    let v6 = state.family() == Family::Ipv6;
    let prerouting = state.hook() == HookPoint::PreRouting;
    let parsed = match read_key(skb, v6) {
        Ok(p) => p,
        Err(_) => {
            stats.count(Stat::Seen.bit() | Stat::Unparsed.bit(), NO_ADD, 0);
            return;
        }
    };
    let mut key = parsed.key;
    bisect_stop!("key");
    // The device a packet came in by (PRE_ROUTING) or leaves by
    // (LOCAL_OUT), when some rule names one.
    let (iif, oif) = if !set.uses_ifnames {
        (IfName::default(), IfName::default())
    } else if prerouting {
        (dev_name(state.in_dev()), IfName::default())
    } else {
        (IfName::default(), dev_name(state.out_dev()))
    };
    key.iif = iif;
    key.oif = oif;
    let found = set.classifier.lookup(&key);
    bisect_stop!("lookup");
    if let Some(rule) = found {
        untracked(stats, skb, set, rule, v6, prerouting, 0);
        if trace::untrack_enabled() {
            trace::untrack(state, &key, false, rule.saturating_add(1));
        }
        return;
    }
    // An ICMP error about a packet the rules match: untracked like that
    // packet, so a firewall's `ct state invalid drop` does not eat the
    // errors (port unreachable, fragmentation needed) of skipped flows.
    if let Some(mut inner) = icmp_error_key(skb, &parsed) {
        // That packet went the other way through this host: it left by the
        // device an error arrives on, and came in by the one an error
        // leaves by.
        inner.iif = oif;
        inner.oif = iif;
        if let Some(rule) = set.classifier.lookup(&inner) {
            untracked(
                stats,
                skb,
                set,
                rule,
                v6,
                prerouting,
                Stat::UntrackedIcmpErrors.bit(),
            );
            if trace::untrack_enabled() {
                trace::untrack(state, &inner, true, rule.saturating_add(1));
            }
            return;
        }
    }
    // Ports a rule needed could not be read (a later fragment or a
    // truncated transport header).
    let unparsed = !key.has_ports && proto_has_ports(key.proto) && set.classifier.needs_ports();
    let bits = if unparsed { Stat::Unparsed.bit() } else { 0 };
    stats.count(Stat::Seen.bit() | bits, NO_ADD, 0);
    if trace::skip_enabled() {
        let why = if unparsed {
            SkipReason::NoPorts
        } else {
            SkipReason::NoMatch
        };
        trace::skip(state, &key, why);
    }
}

/// Marks a matched packet untracked and counts it (`extra`: more counters).
#[inline]
fn untracked(
    stats: &PerCpu,
    skb: &SkBuff,
    set: &RuleSet,
    rule: u32,
    v6: bool,
    prerouting: bool,
    extra: u64,
) {
    // The skb carries no conntrack state (checked by the caller): this is
    // what the NOTRACK target does.
    skb.untrack();
    bisect_stop!("untrack");
    let len = u64::from(skb.len());
    let family = if v6 {
        Stat::UntrackedIpv6
    } else {
        Stat::UntrackedIpv4
    };
    let place = if prerouting {
        Stat::UntrackedPrerouting
    } else {
        Stat::UntrackedOutput
    };
    stats.count(
        Stat::Seen.bit() | Stat::Untracked.bit() | family.bit() | place.bit() | extra,
        Stat::UntrackedBytes as u32,
        len,
    );
    set.hit(rule, len);
}
