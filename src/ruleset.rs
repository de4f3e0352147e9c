// SPDX-License-Identifier: GPL-2.0

//! The active rule set and how writers replace it.
//!
//! The datapath reads the set through one pointer ([`ACTIVE`]) without any
//! lock: netfilter runs hooks inside an RCU read-side section. Writers are
//! serialised by the module's mutex; each builds a complete new set, publishes
//! it with one pointer swap, waits for an RCU grace period and only then
//! frees the old set (after carrying the hit counts of kept rules over).

use core::cell::UnsafeCell;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

use kernel::alloc::{flags::GFP_KERNEL, KBox, KVVec};
use kernel::prelude::*;

use crate::bindings;
use crate::counters::PerCpu;
use crate::kalloc::{KAlloc, TextBuf};
use crate::rules::print::Escaped;
use crate::rules::set::{Planned, NEW};
use crate::rules::{plan_add, plan_del, plan_replace, Classifier, Rule, SetError, MAX_RULES};

/// Rules per per-CPU chunk of hit counters (two `u64` each: 16 KiB).
const HIT_CHUNK: usize = 1024;

/// A compiled, immutable rule set as the datapath sees it.
pub(crate) struct RuleSet {
    rules: KVVec<Rule>,
    /// The classifier over `rules`.
    pub(crate) classifier: Classifier<KAlloc>,
    /// Whether some rule names a device (the hook then reads device names).
    pub(crate) uses_ifnames: bool,
    /// Canonical text of `rules`, one per line (what `rules` reads).
    text: KVVec<u8>,
    /// Per-CPU hit counters: packets and bytes per rule.
    hits: KVVec<PerCpu>,
    /// Counts carried over from earlier sets, per rule: only touched with
    /// the writers' lock held.
    base: UnsafeCell<KVVec<[u64; 2]>>,
}

impl RuleSet {
    fn build(planned: &[Planned]) -> Result<KBox<RuleSet>> {
        let mut rules = KVVec::with_capacity(planned.len(), GFP_KERNEL)?;
        let mut text = TextBuf(KVVec::new());
        for p in planned {
            rules.push(p.rule, GFP_KERNEL)?;
            writeln!(text, "{}", p.rule).map_err(|_| ENOMEM)?;
        }
        let classifier = Classifier::build(&rules).map_err(|_| ENOMEM)?;
        let mut hits = KVVec::new();
        for _ in 0..planned.len().div_ceil(HIT_CHUNK) {
            hits.push(PerCpu::new(2 * HIT_CHUNK as u32)?, GFP_KERNEL)?;
        }
        let base = KVVec::from_elem([0u64; 2], planned.len(), GFP_KERNEL)?;
        Ok(KBox::new(
            RuleSet {
                uses_ifnames: rules.iter().any(|r| r.iif.is_some() || r.oif.is_some()),
                rules,
                classifier,
                text: text.0,
                hits,
                base: UnsafeCell::new(base),
            },
            GFP_KERNEL,
        )?)
    }

    /// Counts one packet of `bytes` for rule `i` (datapath).
    #[inline]
    pub(crate) fn hit(&self, i: u32, bytes: u64) {
        let i = i as usize;
        if let Some(chunk) = self.hits.get(i / HIT_CHUNK) {
            chunk.pair_add(2 * (i % HIT_CHUNK) as u32, bytes);
        }
    }

    /// Packets and bytes counted for rule `i` in this set alone.
    fn own_hits(&self, i: usize) -> [u64; 2] {
        match self.hits.get(i / HIT_CHUNK) {
            Some(c) => {
                let at = 2 * (i % HIT_CHUNK) as u32;
                [c.sum(at), c.sum(at + 1)]
            }
            None => [0, 0],
        }
    }
}

/// The published rule set (never null while the module is loaded).
static ACTIVE: AtomicPtr<RuleSet> = AtomicPtr::new(ptr::null_mut());

/// The active set, for the datapath.
///
/// # Safety
///
/// The caller must be inside an RCU read-side critical section (netfilter
/// hooks are) or hold the writers' lock, and must not keep the reference
/// beyond that.
#[inline]
pub(crate) unsafe fn current<'a>() -> Option<&'a RuleSet> {
    let p = ACTIVE.load(Ordering::Acquire);
    // SAFETY: a published set is freed only after it was unpublished and an
    // RCU grace period passed, which the caller's read-side section (or the
    // lock, which every unpublisher holds) prevents.
    unsafe { p.as_ref() }
}

/// The writers' lock (a C mutex: see `ctskip_lock` in shim.c), held for the
/// guard's lifetime.
pub(crate) struct Locked(());

impl Locked {
    pub(crate) fn new() -> Self {
        // SAFETY: a plain mutex_lock from process context (sysfs, module
        // init/exit); never taken from the datapath.
        unsafe { bindings::ctskip_lock() };
        Locked(())
    }

    /// The active set (stable while the lock is held).
    pub(crate) fn set(&self) -> &RuleSet {
        // SAFETY: only lock holders replace or free the set.
        unsafe { current() }.expect("ctskip: no active rule set")
    }
}

impl Drop for Locked {
    fn drop(&mut self) {
        // SAFETY: this guard took the lock in `new`.
        unsafe { bindings::ctskip_unlock() };
    }
}

/// Publishes `new`, waits for readers of the old set to finish, carries the
/// hit counts of kept rules over, and frees the old set.
fn publish(_lock: &Locked, new: KBox<RuleSet>, planned: &[Planned]) {
    let new = KBox::into_raw(new);
    let old = ACTIVE.swap(new, Ordering::AcqRel);
    // SAFETY: waits for every hook still reading the old set.
    unsafe { bindings::synchronize_rcu() };
    if old.is_null() {
        return;
    }
    // SAFETY: `old` was unpublished above and a grace period has passed: no
    // reader is left, and we own it again.
    let old = unsafe { KBox::from_raw(old) };
    // SAFETY: `new` is the published set; `base` is only touched with the
    // writers' lock held, which `_lock` proves.
    let base = unsafe { &mut *(*new).base.get() };
    // SAFETY: as above, for the old set, now exclusively ours.
    let old_base = unsafe { &*old.base.get() };
    for (i, p) in planned.iter().enumerate() {
        if p.old != NEW {
            let o = p.old as usize;
            let own = old.own_hits(o);
            base[i] = [old_base[o][0] + own[0], old_base[o][1] + own[1]];
        }
    }
    drop(old);
}

/// What a write to the sysfs files asks for.
#[derive(Clone, Copy)]
pub(crate) enum Op {
    Replace,
    Add,
    Del,
    /// A replace by the staged text (large, so errors name the line).
    Commit,
}

impl Op {
    /// The file (or parameter) name, for log lines.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Replace => "rules",
            Op::Add => "add",
            Op::Del => "del",
            Op::Commit => "commit",
        }
    }
}

/// Applies `text` to the active set: all of it, or nothing with an errno
/// and one log line saying what was wrong. `what` names the source.
pub(crate) fn apply(op: Op, what: &str, text: &[u8]) -> Result {
    let lock = Locked::new();
    apply_locked(&lock, op, what, text)
}

/// [`apply`] for a caller that holds the writers' lock.
pub(crate) fn apply_locked(lock: &Locked, op: Op, what: &str, text: &[u8]) -> Result {
    let old = &lock.set().rules;
    let planned = match op {
        Op::Replace | Op::Commit => plan_replace::<KAlloc>(old, text),
        Op::Add => plan_add::<KAlloc>(old, text),
        Op::Del => plan_del::<KAlloc>(old, text),
    };
    let planned = planned.map_err(|e| match e {
        SetError::Parse(p) if matches!(op, Op::Commit) => {
            pr_err!("{}: {}\n", what, p.with_line());
            EINVAL
        }
        SetError::Parse(p) => {
            pr_err!("{}: {}\n", what, p);
            EINVAL
        }
        SetError::TooMany => {
            pr_err!("{}: more than {} rules\n", what, MAX_RULES);
            ENOSPC
        }
        SetError::NotFound(r) => {
            pr_err!("{}: rule not present: {}\n", what, r);
            ENOENT
        }
        SetError::NoMem => {
            pr_err!("{}: out of memory\n", what);
            ENOMEM
        }
    })?;
    let new = RuleSet::build(&planned).inspect_err(|_| pr_err!("{}: out of memory\n", what))?;
    publish(lock, new, &planned);
    Ok(())
}

/// The active set's canonical text (what `rules` reads) copied from `off`.
pub(crate) fn read_rules(off: usize, out: &mut [u8]) -> usize {
    let lock = Locked::new();
    copy_window(&lock.set().text, off, out)
}

/// Copies `src[off..]` into `out`; returns the bytes copied.
pub(crate) fn copy_window(src: &[u8], off: usize, out: &mut [u8]) -> usize {
    if off >= src.len() {
        return 0;
    }
    let n = out.len().min(src.len() - off);
    out[..n].copy_from_slice(&src[off..off + n]);
    n
}

/// `PACKETS BYTES RULE` per active rule: the text of `hits`.
pub(crate) fn render_hits(lock: &Locked) -> Result<KVVec<u8>> {
    let set = lock.set();
    // SAFETY: `base` is only touched with the writers' lock held (`lock`).
    let base = unsafe { &*set.base.get() };
    let mut t = TextBuf(KVVec::new());
    for (i, r) in set.rules.iter().enumerate() {
        let own = set.own_hits(i);
        writeln!(t, "{} {} {}", base[i][0] + own[0], base[i][1] + own[1], r).map_err(|_| ENOMEM)?;
    }
    Ok(t.0)
}

/// Owns the published set for the module's lifetime: made at load from the
/// `rules` parameter, freed at unload (after the hooks are gone).
pub(crate) struct ActiveSet(());

impl ActiveSet {
    /// Publishes the initial set, parsed from `text` (the `rules`
    /// parameter). A bad parameter fails with EINVAL and a log line.
    pub(crate) fn new(text: &[u8]) -> Result<Self> {
        let lock = Locked::new();
        let planned = plan_replace::<KAlloc>(&[], text).map_err(|e| {
            match e {
                SetError::Parse(p) => pr_err!("parameter rules: {}\n", p),
                SetError::TooMany => pr_err!("parameter rules: more than {} rules\n", MAX_RULES),
                SetError::NotFound(_) | SetError::NoMem => {
                    pr_err!("parameter rules: out of memory \"{}\"\n", Escaped(text, 40));
                    return ENOMEM;
                }
            }
            EINVAL
        })?;
        let set = RuleSet::build(&planned)?;
        publish(&lock, set, &planned);
        Ok(ActiveSet(()))
    }
}

impl Drop for ActiveSet {
    fn drop(&mut self) {
        let _lock = Locked::new();
        let p = ACTIVE.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: waits for any reader of the set (none should remain: the
        // hooks were unregistered before this runs).
        unsafe { bindings::synchronize_rcu() };
        if !p.is_null() {
            // SAFETY: unpublished above, grace period passed: ours to free.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}
