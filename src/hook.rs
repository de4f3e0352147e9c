// SPDX-License-Identifier: GPL-2.0

//! The netfilter hook: skb → key → classify → untrack → count (and, for an
//! ICMP error the rules do not match, the key of the packet it is about),
//! then the `ctskip:untrack` or `ctskip:skip` trace event when enabled.
//!
//! Registered per netns for IPv4 and IPv6 at PRE_ROUTING and LOCAL_OUT, just
//! before conntrack. It never drops: every packet is accepted. A matching
//! packet gets what the NOTRACK target gives it, so conntrack skips it.

use crate::counters::{count, Adder, Outcome, SLOTS};
use crate::kapi::module;
use crate::kapi::netfilter::{
    Family, Headers, Hook, HookPoint, HookState, NoConntrack, Place, SkBuff,
};
use crate::kapi::percpu::PerCpu;
use crate::kapi::rcu::ReadSide;
use crate::kapi::trace::{self, SkipReason};
use crate::packet::{
    dev_name, icmp_error_key, icmp_proto, is_icmp, ports_unread, read_key, read_quick, Parsed,
};
use crate::rules::{Fields, PacketKey};
use crate::ruleset::{self, RuleSet};

/// A netns's counters (`counters.rs`).
pub(crate) type Stats = PerCpu<SLOTS>;

impl Adder for Stats {
    #[inline(always)]
    fn add(&self, i: usize, v: u64) {
        PerCpu::add(self, i, v);
    }

    #[inline(always)]
    fn add2(&self, i: usize, a: u64, j: usize, b: u64) {
        PerCpu::add2(self, i, a, j, b);
    }
}

/// Where a packet is counted: its netns's counters, its family and hook.
#[derive(Clone, Copy)]
struct Counting<'a> {
    stats: &'a Stats,
    v6: bool,
    prerouting: bool,
}

impl<'a> Counting<'a> {
    /// Counting in `stats` what runs at `at`.
    #[inline(always)]
    fn at(stats: &'a Stats, at: Place) -> Self {
        Counting {
            stats,
            v6: at.family == Family::Ipv6,
            prerouting: at.point == HookPoint::PreRouting,
        }
    }

    /// Counts an untracked packet of `bytes`.
    #[inline(always)]
    fn untracked(self, bytes: u64, icmp_error: bool) {
        let outcome = Outcome::Untracked {
            v6: self.v6,
            prerouting: self.prerouting,
            icmp_error,
        };
        count(self.stats, outcome, bytes);
    }

    /// Counts a packet the rules do not match.
    #[inline(always)]
    fn skipped(self, unparsed: bool) {
        count(self.stats, Outcome::Skipped { unparsed }, 0);
    }
}

/// The hook of every registration, over its netns's counters.
pub(crate) struct Untrack;

impl Hook for Untrack {
    type Data = Stats;

    #[inline(always)]
    fn hook(stats: &Stats, skb: &SkBuff, state: &HookState, at: Place, rcu: &ReadSide<'_>) {
        if module::enabled() {
            examine(stats, skb, state, at, rcu);
        }
    }
}

/// Profiling by bisection (`make CTSKIP_BISECT=STAGE`, see
/// docs/BENCHMARKS.md): stop after a stage of the packet's path, returning
/// what follows the stage's name, if anything. Compiled out of normal
/// builds.
macro_rules! bisect_stop {
    ($stage:literal) => {
        #[cfg(ctskip_bisect = $stage)]
        return;
    };
    ($stage:literal => $ret:expr) => {
        #[cfg(ctskip_bisect = $stage)]
        return $ret;
    };
    // The same, keeping what the stage worked out (else the compiler may
    // drop the stage's work, its result unused).
    ($stage:literal, $keep:expr) => {
        #[cfg(ctskip_bisect = $stage)]
        {
            core::hint::black_box($keep);
            return;
        }
    };
    ($stage:literal, $keep:expr => $ret:expr) => {
        #[cfg(ctskip_bisect = $stage)]
        {
            core::hint::black_box($keep);
            return $ret;
        }
    };
}

/// What the lookup of a packet read quick ([`read_quick`]) found.
#[derive(Clone, Copy)]
enum Found {
    /// The earliest rule it matches.
    Rule(u32),
    /// No rule matches it.
    Nothing,
    /// Its whole key is needed ([`by_key`]): it is not read quick, or it
    /// is an ICMP message no rule matches (maybe an error about a packet
    /// one does).
    Key,
    /// A profiling build stopped before the lookup's end.
    #[cfg(any(ctskip_bisect = "key", ctskip_bisect = "lookup"))]
    Stopped,
}

impl Found {
    /// What a lookup's answer `found` for a packet of protocol `proto` of
    /// the family `v6` means.
    #[inline(always)]
    fn of(found: Option<u32>, proto: u8, v6: bool) -> Self {
        match found {
            Some(rule) => Found::Rule(rule),
            // ICMP: maybe an error about a matching packet (`by_key`).
            // (Only IPv4's: an ICMPv6 packet is not read quick.)
            None if proto == icmp_proto(v6) => Found::Key,
            None => Found::Nothing,
        }
    }
}

#[inline(always)]
fn examine(stats: &Stats, skb: &SkBuff, state: &HookState, at: Place, rcu: &ReadSide<'_>) {
    bisect_stop!("entry");
    let Some(bare) = skb.without_conntrack() else {
        count(stats, Outcome::AlreadyTracked, 0);
        return;
    };
    let Some(set) = ruleset::active(rcu) else {
        count(stats, Outcome::Skipped { unparsed: false }, 0);
        return;
    };
    if set.classifier.is_empty() {
        count(stats, Outcome::Skipped { unparsed: false }, 0);
        return;
    }
    if set.classifier.by_head() {
        let v6 = at.family == Family::Ipv6;
        let found = by_head(set, skb, v6);
        return conclude(found, stats, at, skb, state, set, bare);
    }
    if set.by_tables {
        return by_table_at::<true>(stats, at, bare, state, set);
    }
    if set.uses_ifnames {
        return by_key(stats, at, skb, state, set);
    }
    by_table_at::<false>(stats, at, bare, state, set)
}

/// [`by_table`] of the copy for the family and hook of `at` (known where
/// this is inlined: `examine` is inlined into each hook's callback), so
/// that neither is carried in a register.
#[inline(always)]
fn by_table_at<const TABLES: bool>(
    stats: &Stats,
    at: Place,
    bare: NoConntrack<'_>,
    state: &HookState,
    set: &RuleSet,
) {
    match (at.family, at.point) {
        (Family::Ipv4, HookPoint::PreRouting) => {
            by_table::<false, true, TABLES>(stats, bare, state, set)
        }
        (Family::Ipv4, HookPoint::LocalOut) => {
            by_table::<false, false, TABLES>(stats, bare, state, set)
        }
        (Family::Ipv6, HookPoint::PreRouting) => {
            by_table::<true, true, TABLES>(stats, bare, state, set)
        }
        (Family::Ipv6, HookPoint::LocalOut) => {
            by_table::<true, false, TABLES>(stats, bare, state, set)
        }
    }
}

/// Untracks and counts a packet by what its lookup found, or sends it to
/// [`by_key`].
#[inline(always)]
fn conclude(
    found: Found,
    stats: &Stats,
    at: Place,
    skb: &SkBuff,
    state: &HookState,
    set: &RuleSet,
    bare: NoConntrack<'_>,
) {
    let to = Counting::at(stats, at);
    let v6 = to.v6;
    match found {
        Found::Rule(rule) => {
            untracked(to, bare, set, rule, false);
            if trace::untrack_enabled() {
                trace_untrack(state, skb, v6, rule);
            }
        }
        Found::Nothing => {
            to.skipped(false);
            if trace::skip_enabled() {
                trace_skip(state, skb, v6);
            }
        }
        Found::Key => by_key(stats, at, skb, state, set),
        #[cfg(any(ctskip_bisect = "key", ctskip_bisect = "lookup"))]
        Found::Stopped => {}
    }
}

/// Looks up the usual packet (see [`read_quick`]) in a small set of port
/// rules, on its family, protocol and ports alone, read straight from the
/// linear data ([`Classifier::by_head`](crate::rules::Classifier::by_head)).
#[inline(always)]
fn by_head(set: &RuleSet, skb: &SkBuff, v6: bool) -> Found {
    let Some(q) = read_quick::<false>(&skb.headers(), v6) else {
        return Found::Key;
    };
    bisect_stop!("key", q => Found::Stopped);
    let found = set.classifier.lookup_head(q.head);
    bisect_stop!("lookup", found => Found::Stopped);
    Found::of(found, q.head.proto(), v6)
}

/// Classifies the usual packet (see [`read_quick`]) in the tables of a set
/// naming no device, of more than a few rules or with port ranges or
/// addresses: out of line, the lookup inlined; at IPv6's hook if `V6`,
/// else IPv4's, at PRE_ROUTING if `PRE`, else LOCAL_OUT; in a set of
/// more than a few rules ([`RuleSet::by_tables`]) if `TABLES`, else in one
/// of a few.
#[inline(never)]
fn by_table<const V6: bool, const PRE: bool, const TABLES: bool>(
    stats: &Stats,
    bare: NoConntrack<'_>,
    state: &HookState,
    set: &RuleSet,
) {
    let skb = bare.skb();
    let at = Place::of::<V6, PRE>();
    let found = match read_quick::<true>(&skb.headers(), V6) {
        Some(q) => {
            bisect_stop!("key", q);
            let found = if TABLES {
                set.classifier.lookup_quick_tables::<V6>(&q)
            } else {
                set.classifier.lookup_quick_flat(&q)
            };
            bisect_stop!("lookup", found);
            Found::of(found, q.head.proto(), V6)
        }
        None => Found::Key,
    };
    conclude(found, stats, at, skb, state, set, bare);
}

/// The key, addresses included, of a packet read quick (no device: the
/// quick paths serve sets naming none), for a trace event: read again, so
/// the hot path keeps nothing for it.
#[cold]
#[inline(never)]
fn quick_key(skb: &SkBuff, v6: bool) -> PacketKey {
    read_quick::<true>(&skb.headers(), v6).map_or_else(PacketKey::default, |q| q.key())
}

/// The `ctskip:untrack` event of a packet read quick that matched `rule`.
#[cold]
#[inline(never)]
fn trace_untrack(state: &HookState, skb: &SkBuff, v6: bool, rule: u32) {
    trace::untrack(state, &quick_key(skb, v6), false, rule.saturating_add(1));
}

/// The `ctskip:skip` event of a packet read quick that matched nothing.
#[cold]
#[inline(never)]
fn trace_skip(state: &HookState, skb: &SkBuff, v6: bool) {
    trace::skip(state, &quick_key(skb, v6), SkipReason::NoMatch);
}

/// A key with the packet's family and, when some rule names one, the device
/// it came in by (PRE_ROUTING) or leaves by (LOCAL_OUT); the rest zero, for
/// [`read_key`].
#[inline(always)]
fn key_base(to: Counting<'_>, state: &HookState, set: &RuleSet) -> PacketKey {
    let mut key = PacketKey {
        v6: to.v6,
        ..PacketKey::default()
    };
    if set.uses_ifnames {
        if to.prerouting {
            key.iif = dev_name(state.in_dev());
        } else {
            key.oif = dev_name(state.out_dev());
        }
    }
    key
}

/// Classifies a packet on its whole key: the general path, out of line
/// (a small set of port rules decides most packets on their head). It reads
/// again what [`examine`] read, rather than have it kept for the call.
#[inline(never)]
fn by_key(stats: &Stats, at: Place, skb: &SkBuff, state: &HookState, set: &RuleSet) {
    let to = Counting::at(stats, at);
    // `examine` found no conntrack state attached; nothing attaches one
    // while the hook runs.
    let Some(bare) = skb.without_conntrack() else {
        return;
    };
    let headers = skb.headers();
    // The key is built in place, the devices first.
    let mut key = key_base(to, state, set);
    let Ok(parsed) = read_key(&headers, &mut key) else {
        to.skipped(true);
        return;
    };
    bisect_stop!("key", &key);
    let found = set.classifier.lookup(&key);
    bisect_stop!("lookup", found);
    if let Some(rule) = found {
        untracked(to, bare, set, rule, false);
        if trace::untrack_enabled() {
            trace::untrack(state, &key, false, rule.saturating_add(1));
        }
        return;
    }
    // The usual miss: neither an ICMP message (which may be an error about
    // a matching packet) nor a packet whose ports could not be read.
    if !is_icmp(&key) && !ports_unread(&key) {
        to.skipped(false);
        if trace::skip_enabled() {
            trace::skip(state, &key, SkipReason::NoMatch);
        }
        return;
    }
    unmatched(to, bare, state, set, &headers, parsed, &key);
}

/// An ICMP message, or a packet whose ports could not be read, that the
/// rules do not match: an ICMP error may still be untracked for the packet it
/// carries; otherwise it is counted and traced as skipped. Out of line: few
/// packets come here.
#[inline(never)]
fn unmatched(
    to: Counting<'_>,
    bare: NoConntrack<'_>,
    state: &HookState,
    set: &RuleSet,
    headers: &Headers<'_>,
    parsed: Parsed,
    key: &PacketKey,
) {
    // An ICMP error about a packet the rules match: untracked like that
    // packet, so a firewall's `ct state invalid drop` does not eat the
    // errors (port unreachable, fragmentation needed) of skipped flows.
    if let Some(mut inner) = icmp_error_key(headers, key, parsed) {
        // That packet went the other way through this host: it left by the
        // device an error arrives on, and came in by the one an error
        // leaves by.
        inner.iif = key.oif;
        inner.oif = key.iif;
        if let Some(rule) = set.classifier.lookup(&inner) {
            untracked(to, bare, set, rule, true);
            if trace::untrack_enabled() {
                trace::untrack(state, &inner, true, rule.saturating_add(1));
            }
            return;
        }
    }
    // Ports a rule needed could not be read (a later fragment or a
    // truncated transport header).
    let unparsed = ports_unread(key) && set.classifier.needs_ports();
    to.skipped(unparsed);
    if trace::skip_enabled() {
        let why = if unparsed {
            SkipReason::NoPorts
        } else {
            SkipReason::NoMatch
        };
        trace::skip(state, key, why);
    }
}

/// Marks a matched packet untracked and counts it (`icmp_error`: an ICMP
/// error untracked for the packet it carries).
#[inline]
fn untracked(to: Counting<'_>, bare: NoConntrack<'_>, set: &RuleSet, rule: u32, icmp_error: bool) {
    // What the NOTRACK target does; `bare` says no conntrack state was
    // attached.
    let len = u64::from(bare.len());
    bare.untrack();
    bisect_stop!("untrack");
    to.untracked(len, icmp_error);
    set.hit(rule, len);
}
