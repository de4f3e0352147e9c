// SPDX-License-Identifier: GPL-2.0

//! Disjoint intervals of one field (a port, or an IPv4 or IPv6 address), each
//! labelled with the earliest rule covering it: how a lookup table resolves
//! port ranges and address prefixes of any length with one binary search.

use super::buf::{Alloc, Buf, NoMem};

/// No rule.
pub(super) const NONE: u32 = u32::MAX;

/// Values from `start` up to the next interval's start (ports and IPv4
/// addresses): the earliest rule covering them, or [`NONE`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg {
    pub(super) start: u32,
    pub(super) rule: u32,
}

/// The same for IPv6 addresses (the start in two halves, so a list is
/// 24 bytes an interval, not 32).
#[derive(Debug, Clone, Copy)]
pub(super) struct Seg6 {
    pub(super) hi: u64,
    pub(super) lo: u64,
    pub(super) rule: u32,
}

impl Seg6 {
    #[inline]
    fn start(&self) -> u128 {
        (u128::from(self.hi) << 64) | u128::from(self.lo)
    }
}

/// The rule of the interval holding `x` (the last one starting at or before
/// it).
#[inline]
pub(super) fn find(segs: &[Seg], x: u32) -> u32 {
    let mut s = segs;
    while s.len() > 1 {
        let mid = s.len() / 2;
        let (Some(lo), Some(hi)) = (s.get(..mid), s.get(mid..)) else {
            break;
        };
        s = match hi.first() {
            Some(h) if h.start <= x => hi,
            _ => lo,
        };
    }
    match s.first() {
        Some(f) if f.start <= x => f.rule,
        _ => NONE,
    }
}

/// [`find`] over IPv6 intervals.
#[inline]
pub(super) fn find6(segs: &[Seg6], x: u128) -> u32 {
    let mut s = segs;
    while s.len() > 1 {
        let mid = s.len() / 2;
        let (Some(lo), Some(hi)) = (s.get(..mid), s.get(mid..)) else {
            break;
        };
        s = match hi.first() {
            Some(h) if h.start() <= x => hi,
            _ => lo,
        };
    }
    match s.first() {
        Some(f) if f.start() <= x => f.rule,
        _ => NONE,
    }
}

/// Steps of a binary search over `n` intervals.
pub(super) fn steps(n: usize) -> u32 {
    usize::BITS - n.leading_zeros()
}

/// A value of a field being painted: a port or an IPv4 address (`u64`),
/// an IPv6 address (`u128`).
pub(super) trait Point: Copy + Ord {
    /// The next value (never past the field's end, where it is not asked).
    fn after(self) -> Self;
}

impl Point for u64 {
    fn after(self) -> u64 {
        self.saturating_add(1)
    }
}

impl Point for u128 {
    fn after(self) -> u128 {
        self.saturating_add(1)
    }
}

/// Scratch space for painting, kept across the keys of a build: the
/// interval bounds (in the width of the field), their labels, and the
/// painting's skip links.
pub(super) struct Painter<A: Alloc, P: Copy> {
    bounds: A::Buf<P>,
    label: A::Buf<u32>,
    next: A::Buf<u32>,
}

impl<A: Alloc, P: Point> Painter<A, P> {
    pub(super) fn new() -> Result<Self, NoMem> {
        Ok(Painter {
            bounds: A::Buf::with_capacity(0)?,
            label: A::Buf::with_capacity(0)?,
            next: A::Buf::with_capacity(0)?,
        })
    }

    /// The disjoint intervals of the inclusive ranges `(lo, hi, rule)` that
    /// `ranges(i)` gives for `i` in `0..n`, in rule order, of a field whose
    /// values end at `top`: each interval is labelled with the earliest rule
    /// covering it. Calls `out(start, rule)` for each, in order, adjacent
    /// intervals of one label merged.
    pub(super) fn paint(
        &mut self,
        n: usize,
        top: P,
        ranges: impl Fn(usize) -> (P, P, u32),
        mut out: impl FnMut(P, u32) -> Result<(), NoMem>,
    ) -> Result<(), NoMem> {
        let b = &mut self.bounds;
        b.clear();
        for i in 0..n {
            let (lo, hi, _) = ranges(i);
            b.push(lo)?;
            // The end of the whole field needs no bound after it.
            if hi < top {
                b.push(hi.after())?;
            }
        }
        super::sort::sort::<A, _>(b);
        let mut m = 0;
        for i in 0..b.len() {
            if i == 0 || b[i] != b[m - 1] {
                b[m] = b[i];
                m += 1;
            }
        }
        b.truncate(m);
        // Paint the intervals in rule order; `next` skips painted ones
        // (union-find with path halving), so this is near-linear.
        self.label.clear();
        self.next.clear();
        for i in 0..m {
            self.label.push(NONE)?;
            self.next.push(i as u32)?;
        }
        let find = |next: &mut [u32], mut i: usize| -> usize {
            while i < next.len() && next[i] as usize != i {
                let j = next[i] as usize;
                if j < next.len() {
                    next[i] = next[j];
                }
                i = j;
            }
            i
        };
        for r in 0..n {
            A::relax();
            let (lo, hi, rule) = ranges(r);
            let first = b.binary_search(&lo).unwrap_or(0);
            let end = if hi < top {
                b.binary_search(&hi.after()).unwrap_or(m)
            } else {
                m
            };
            let mut i = find(&mut self.next, first);
            while i < end {
                self.label[i] = rule;
                self.next[i] = (i + 1) as u32;
                i = find(&mut self.next, i + 1);
            }
        }
        let mut prev = None;
        for i in 0..m {
            if prev != Some(self.label[i]) {
                out(b[i], self.label[i])?;
                prev = Some(self.label[i]);
            }
        }
        Ok(())
    }
}
