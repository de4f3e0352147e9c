// SPDX-License-Identifier: GPL-2.0

//! The active rule set, and how it is replaced.
//!
//! Packets and readers reach the published set through [`ACTIVE`], an
//! RCU-published `Arc` (netfilter runs hooks inside an RCU read-side
//! section). A set never changes once built. The writers (serialised by
//! their mutex in `control`) own a [`Publisher`], the only way to publish:
//! it builds nothing itself, swaps the pointer, and carries the hit counts of
//! the rules kept over to the new set.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::alloc::{flags::GFP_KERNEL, KVVec};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::kapi::alloc::{KAlloc, TextBuf};
use crate::kapi::rcu::{RcuArc, ReadLock, ReadSide};
use crate::rules::set::{replace_with, Planned, NEW};
use crate::rules::{BuildError, Classifier, Rule};

/// The published set, for packets and readers; replaced only through the
/// [`Publisher`].
static ACTIVE: RcuArc<RuleSet> = RcuArc::new();

/// Whether the one [`Publisher`] exists.
static PUBLISHER: AtomicBool = AtomicBool::new(false);

/// The published set, for the rest of a read-side section (the hook).
#[inline]
pub(crate) fn active<'a>(rcu: &'a ReadSide<'_>) -> Option<&'a RuleSet> {
    ACTIVE.get(rcu)
}

/// A reference of its own to the published set (a reader's snapshot).
pub(crate) fn active_arc() -> Option<Arc<RuleSet>> {
    let rcu = ReadLock::new();
    ACTIVE.get_arc(rcu.side())
}

/// A compiled, immutable rule set.
pub(crate) struct RuleSet {
    rules: KVVec<Rule>,
    /// The classifier over `rules`.
    pub(crate) classifier: Classifier<KAlloc>,
    /// Whether some rule names a device (the hook then reads device names).
    pub(crate) uses_ifnames: bool,
    /// Canonical text of `rules`, one per line (what `rules` reads).
    text: KVVec<u8>,
    /// Hit counters, packets and bytes per rule: shared atomics, 16 bytes
    /// a rule whatever the number of CPUs (exact; a rule hit by many CPUs at
    /// once moves one cache line between them). Earlier sets' counts of the
    /// same rule are carried in when the set is published.
    hits: KVVec<[AtomicU64; 2]>,
}

impl RuleSet {
    /// Builds the set of `rules` (distinct, in order). Fails with
    /// [`BuildError::Limit`] if the set would go past a bound on the work
    /// per packet (ENOSPC for the writer), [`BuildError::NoMem`] without
    /// memory.
    // The error carries the rule it names by value, as the classifier's
    // does: returned at most once per build, never per packet.
    #[allow(clippy::result_large_err)]
    pub(crate) fn build(
        rules: impl Iterator<Item = Rule>,
    ) -> core::result::Result<Arc<RuleSet>, BuildError> {
        let no_mem = |_| BuildError::NoMem;
        let mut list = KVVec::new();
        let mut text = TextBuf(KVVec::new());
        for r in rules {
            list.push(r, GFP_KERNEL).map_err(no_mem)?;
            writeln!(text, "{}", r).map_err(|_| BuildError::NoMem)?;
        }
        let classifier = Classifier::build(&list)?;
        let mut hits = KVVec::with_capacity(list.len(), GFP_KERNEL).map_err(no_mem)?;
        for _ in 0..list.len() {
            hits.push([AtomicU64::new(0), AtomicU64::new(0)], GFP_KERNEL)
                .map_err(no_mem)?;
        }
        Arc::new(
            RuleSet {
                uses_ifnames: list.iter().any(|r| r.iif.is_some() || r.oif.is_some()),
                rules: list,
                classifier,
                text: text.0,
                hits,
            },
            GFP_KERNEL,
        )
        .map_err(|_| BuildError::NoMem)
    }

    /// The rules, in order.
    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The canonical text (what `rules` reads).
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }

    /// Counts one packet of `bytes` for rule `i` (datapath).
    #[inline]
    pub(crate) fn hit(&self, i: u32, bytes: u64) {
        if let Some(c) = self.hits.get(i as usize) {
            c[0].fetch_add(1, Ordering::Relaxed);
            c[1].fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Packets and bytes for rule `i`, earlier sets included.
    fn total_hits(&self, i: usize) -> [u64; 2] {
        match self.hits.get(i) {
            Some(c) => [c[0].load(Ordering::Relaxed), c[1].load(Ordering::Relaxed)],
            None => [0, 0],
        }
    }

    /// `PACKETS BYTES RULE` per rule: the text of `hits`.
    pub(crate) fn render_hits(&self) -> Result<KVVec<u8>> {
        let mut t = TextBuf(KVVec::new());
        for (i, r) in self.rules.iter().enumerate() {
            let h = self.total_hits(i);
            writeln!(t, "{} {} {}", h[0], h[1], r).map_err(|_| ENOMEM)?;
        }
        Ok(t.0)
    }
}

/// The writers' handle on [`ACTIVE`]: publishing needs `&mut Publisher`,
/// which only the holder of the writers' mutex has. There is one at most.
pub(crate) struct Publisher {
    current: Arc<RuleSet>,
}

impl Publisher {
    /// Publishes the first set; EBUSY if a publisher exists already.
    pub(crate) fn new(first: Arc<RuleSet>) -> Result<Self> {
        if PUBLISHER.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        ACTIVE.replace(Some(first.clone()));
        Ok(Publisher { current: first })
    }

    /// The published set.
    pub(crate) fn current(&self) -> &Arc<RuleSet> {
        &self.current
    }

    /// Publishes `new` (built from planned rules, or an earlier set put
    /// back) and returns once no packet can still see the old one. It cannot
    /// fail: the hit counts of the rules `new` shares with the old set are
    /// carried over when there is memory to plan that, and lost otherwise.
    pub(crate) fn publish(&mut self, new: Arc<RuleSet>) {
        if Arc::ptr_eq(&new, &self.current) {
            return;
        }
        let old = self.current.clone();
        let carry = self.plan_carry(&old, &new);
        ACTIVE.replace(Some(new.clone()));
        // Packets the old set counted until the grace period ended.
        if let Some((planned, snap)) = carry {
            for (i, p) in planned.iter().enumerate() {
                if p.old != NEW {
                    let t = old.total_hits(p.old as usize);
                    new.hits[i][0].fetch_add(t[0].wrapping_sub(snap[i][0]), Ordering::Relaxed);
                    new.hits[i][1].fetch_add(t[1].wrapping_sub(snap[i][1]), Ordering::Relaxed);
                }
            }
        }
        self.current = new;
    }

    /// Before publishing `new` (which no packet sees yet): its counts of
    /// the rules it keeps take the old set's totals; returns the plan and
    /// the totals taken, or `None` without memory.
    fn plan_carry(
        &self,
        old: &RuleSet,
        new: &RuleSet,
    ) -> Option<(KVVec<Planned>, KVVec<[u64; 2]>)> {
        let planned = replace_with::<KAlloc>(old.rules(), new.rules()).ok()?;
        let mut snap = KVVec::with_capacity(planned.len(), GFP_KERNEL).ok()?;
        for (i, p) in planned.iter().enumerate() {
            let t = if p.old == NEW {
                [0, 0]
            } else {
                old.total_hits(p.old as usize)
            };
            snap.push(t, GFP_KERNEL).ok()?;
            if p.old != NEW {
                new.hits[i][0].store(t[0], Ordering::Relaxed);
                new.hits[i][1].store(t[1], Ordering::Relaxed);
            }
        }
        Some((planned, snap))
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        ACTIVE.replace(None);
        PUBLISHER.store(false, Ordering::Release);
    }
}
