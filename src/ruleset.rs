// SPDX-License-Identifier: GPL-2.0

//! The active rule set, and how it is replaced.
//!
//! Packets and readers reach the published set through [`ACTIVE`], an
//! RCU-published `Arc` (netfilter runs hooks inside an RCU read-side
//! section). A set never changes once built. The writers (serialised by
//! their mutex in `control`) own a [`Publisher`], the only way to publish:
//! it builds nothing itself and swaps the pointer. The hit counts of a rule
//! that a change keeps are shared by the old and the new set (built beside
//! the published one), never copied.

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kernel::alloc::{flags::GFP_KERNEL, KVVec};
use kernel::prelude::*;
use kernel::sync::Arc;

use crate::kapi::alloc::{KAlloc, TextBuf};
use crate::kapi::process;
use crate::kapi::rcu::{RcuArc, ReadLock, ReadSide};
use crate::rules::classify::LINEAR_MAX;
use crate::rules::set::index_of;
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

/// One rule's hit counts, packets and bytes: two shared atomics, the same
/// whatever the number of CPUs (exact; a rule hit by many CPUs at once moves
/// one cache line between them). Every set that holds the rule holds the
/// same `Hits`: a change shares it, never copies it.
struct Hits {
    packets: AtomicU64,
    bytes: AtomicU64,
}

/// A compiled, immutable rule set.
pub(crate) struct RuleSet {
    rules: KVVec<Rule>,
    /// The classifier over `rules`.
    pub(crate) classifier: Classifier<KAlloc>,
    /// Whether some rule names a device (the hook then reads device names).
    pub(crate) uses_ifnames: bool,
    /// Whether the hook walks the classifier's tables for the usual packet:
    /// a set of more than [`LINEAR_MAX`] rules naming no device.
    pub(crate) by_tables: bool,
    /// Canonical text of `rules`, one per line (what `rules` reads).
    text: KVVec<u8>,
    /// Each rule's hit counts: the counts of the set it was built beside
    /// for the rules both hold, new counts for the others.
    hits: KVVec<Arc<Hits>>,
}

impl RuleSet {
    /// Builds the set of `rules` (distinct, in order) beside `previous`
    /// (the published set, and the set from before a text still arriving),
    /// whose hit counts the rules it keeps keep: shared, not copied, so
    /// packets either set counts go to the same place (the first of
    /// `previous` that holds a rule gives its counts). Fails with
    /// [`BuildError::Limit`] if the set would go past a bound on the work
    /// per packet (ENOSPC for the writer), [`BuildError::NoMem`] without
    /// memory.
    // The error carries the rule it names by value, as the classifier's
    // does: returned at most once per build, never per packet. Out of line:
    // the classifier is moved by value here, a frame that should not join
    // the writer's.
    #[allow(clippy::result_large_err)]
    #[inline(never)]
    pub(crate) fn build(
        rules: impl Iterator<Item = Rule>,
        previous: &[&RuleSet],
    ) -> core::result::Result<Arc<RuleSet>, BuildError> {
        let no_mem = |_| BuildError::NoMem;
        let mut list = KVVec::new();
        let mut text = TextBuf(KVVec::new());
        for r in rules {
            list.push(r, GFP_KERNEL).map_err(no_mem)?;
            writeln!(text, "{}", r).map_err(|_| BuildError::NoMem)?;
            process::relax();
        }
        let classifier = Classifier::build(&list)?;
        let hits = Self::share_hits(&list, previous).ok_or(BuildError::NoMem)?;
        let uses_ifnames = list.iter().any(|r| r.iif.is_some() || r.oif.is_some());
        Arc::new(
            RuleSet {
                uses_ifnames,
                by_tables: !uses_ifnames && list.len() > LINEAR_MAX,
                rules: list,
                classifier,
                text: text.0,
                hits,
            },
            GFP_KERNEL,
        )
        .map_err(|_| BuildError::NoMem)
    }

    /// The hit counts of `list`: the first of `previous` that holds a rule
    /// gives its counts, the others get new (zero) ones; `None` without
    /// memory.
    fn share_hits(list: &[Rule], previous: &[&RuleSet]) -> Option<KVVec<Arc<Hits>>> {
        let mut index = KVVec::with_capacity(previous.len(), GFP_KERNEL).ok()?;
        for (i, &p) in previous.iter().enumerate() {
            // A text's first write: the set before it is the published one.
            let earlier = previous.get(..i).unwrap_or(&[]);
            if earlier.iter().any(|&q| core::ptr::eq(q, p)) {
                continue;
            }
            let idx = index_of::<KAlloc>(p.rules(), p.rules().len()).ok()?;
            index.push((idx, p), GFP_KERNEL).ok()?;
        }
        let mut hits = KVVec::with_capacity(list.len(), GFP_KERNEL).ok()?;
        for r in list {
            let kept = index
                .iter()
                .find_map(|(idx, p)| idx.find(p.rules(), r).and_then(|i| p.hits.get(i as usize)));
            let h = match kept {
                Some(h) => h.clone(),
                None => Arc::new(
                    Hits {
                        packets: AtomicU64::new(0),
                        bytes: AtomicU64::new(0),
                    },
                    GFP_KERNEL,
                )
                .ok()?,
            };
            hits.push(h, GFP_KERNEL).ok()?;
            process::relax();
        }
        Some(hits)
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
        if let Some(h) = self.hits.get(i as usize) {
            h.packets.fetch_add(1, Ordering::Relaxed);
            h.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// `PACKETS BYTES RULE` per rule: the text of `hits`.
    pub(crate) fn render_hits(&self) -> Result<KVVec<u8>> {
        let mut t = TextBuf(KVVec::new());
        for (r, h) in self.rules.iter().zip(self.hits.iter()) {
            let p = h.packets.load(Ordering::Relaxed);
            let b = h.bytes.load(Ordering::Relaxed);
            writeln!(t, "{} {} {}", p, b, r).map_err(|_| ENOMEM)?;
            process::relax();
        }
        Ok(t.0)
    }
}

impl Drop for RuleSet {
    /// A large set's hit counts are freed one at a time, letting other tasks
    /// run between them. The last reference to a set is dropped where
    /// sleeping is allowed: by a writer after a grace period, by a reader's
    /// snapshot (under the readers' mutex at most), at module exit.
    fn drop(&mut self) {
        for h in core::mem::replace(&mut self.hits, KVVec::new()) {
            drop(h);
            process::relax();
        }
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

    /// Publishes `new` (built beside the published set, or an earlier set
    /// put back) and returns once no packet can still see the old one. It
    /// cannot fail, and moves no counts: the rules `new` shares with the old
    /// set share their hit counts already.
    pub(crate) fn publish(&mut self, new: Arc<RuleSet>) {
        if Arc::ptr_eq(&new, &self.current) {
            return;
        }
        ACTIVE.replace(Some(new.clone()));
        self.current = new;
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        ACTIVE.replace(None);
        PUBLISHER.store(false, Ordering::Release);
    }
}
