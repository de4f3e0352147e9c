// SPDX-License-Identifier: GPL-2.0

//! The rule-set operations behind `rules` (replace), `add` and `del`: each
//! plans the complete new set from the active one and a text, or fails and
//! changes nothing. Rules keep their order of addition; a planned rule that
//! was already active remembers its old index (its hit counts carry over).

// The errors carry the refused rule by value (176 bytes), for the message
// that names it: they are returned at most once per control write, never per
// packet, and boxing them would need an allocation that can itself fail.
#![allow(clippy::result_large_err)]

use core::hash::{Hash, Hasher};

use super::buf::{filled, Alloc, Buf, NoMem};
use super::parse::{parse_rules, ParseError};
use super::rule::Rule;

/// At most this many rules are active.
pub const MAX_RULES: usize = 65536;

/// No old index: a new rule.
pub const NEW: u32 = u32::MAX;

/// One rule of a planned set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// The rule.
    pub rule: Rule,
    /// Its index in the active set, or [`NEW`].
    pub old: u32,
}

/// Why a planned change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError<'a> {
    /// A rule did not parse (EINVAL).
    Parse(ParseError<'a>),
    /// More than [`MAX_RULES`] rules (ENOSPC).
    TooMany,
    /// `del` of a rule that is not active (ENOENT).
    NotFound(Rule),
    /// Out of memory (ENOMEM).
    NoMem,
}

impl From<NoMem> for SetError<'_> {
    fn from(_: NoMem) -> Self {
        SetError::NoMem
    }
}

/// FxHash-style hasher: fast, deterministic, good enough for rule keys (the
/// rules come from the administrator, not from packets).
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }

    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }

    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }

    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn hash_rule(r: &Rule) -> u64 {
    let mut h = FxHasher::default();
    r.hash(&mut h);
    h.finish()
}

/// An index from rules to their position in a slice (open addressing).
pub struct RuleIndex<A: Alloc> {
    slots: A::Buf<u32>,
    /// Rules recorded.
    len: usize,
}

impl<A: Alloc> RuleIndex<A> {
    /// An index with room for `n` rules.
    pub fn with_capacity(n: usize) -> Result<Self, NoMem> {
        let cap = (n.max(4) * 2).next_power_of_two();
        Ok(RuleIndex {
            slots: filled::<A, u32>(NEW, cap)?,
            len: 0,
        })
    }

    /// Whether one more rule fits (at most half the slots are used).
    pub fn has_room(&self) -> bool {
        2 * (self.len + 1) <= self.slots.len()
    }

    fn probe(&self, rules: &[Rule], r: &Rule) -> (usize, Option<u32>) {
        let m = self.slots.len() - 1;
        let mut i = hash_rule(r) as usize & m;
        loop {
            match self.slots[i] {
                NEW => return (i, None),
                j if rules[j as usize] == *r => return (i, Some(j)),
                _ => i = (i + 1) & m,
            }
        }
    }

    /// The position of `r` in `rules` (the slice this index was filled from).
    pub fn find(&self, rules: &[Rule], r: &Rule) -> Option<u32> {
        self.probe(rules, r).1
    }

    /// Records that `rules[at]` is present; `rules` must hold it already.
    /// Returns false if an equal rule was already recorded. The index must
    /// have been made with room for every rule inserted.
    pub fn insert(&mut self, rules: &[Rule], at: u32) -> bool {
        match self.probe(rules, &rules[at as usize]) {
            (_, Some(_)) => false,
            (i, None) => {
                self.slots[i] = at;
                self.len += 1;
                true
            }
        }
    }
}

/// Index over the rules of a planned set.
pub fn index_of<A: Alloc>(rules: &[Rule], cap: usize) -> Result<RuleIndex<A>, NoMem> {
    let mut idx = RuleIndex::<A>::with_capacity(cap)?;
    for i in 0..rules.len() {
        idx.insert(rules, i as u32);
        A::relax();
    }
    Ok(idx)
}

/// Parses all of `text` into a de-duplicated list (first occurrence kept).
///
/// Memory follows the distinct rules, not the text: the list and its index
/// grow as distinct rules come (a 16 MiB text of one repeated rule holds one
/// rule), and more than [`MAX_RULES`] distinct rules stop the parse there
/// (TooMany, as for a text written to `rules`).
fn parse_unique<'a, A: Alloc>(text: &'a [u8]) -> Result<A::Buf<Rule>, SetError<'a>> {
    let mut rules = A::Buf::<Rule>::with_capacity(0)?;
    let mut idx = RuleIndex::<A>::with_capacity(0)?;
    parse_rules::<SetError<'a>>(text, |r| {
        // Every rule parsed, repeats too (a 16 MiB text of one rule).
        A::relax();
        if idx.find(&rules, &r).is_some() {
            // Already listed: keep the first occurrence only.
            return Ok(());
        }
        if rules.len() >= MAX_RULES {
            return Err(SetError::TooMany);
        }
        rules.push(r)?;
        if !idx.has_room() {
            idx = index_of::<A>(&rules, 2 * rules.len())?;
        } else {
            idx.insert(&rules, (rules.len() - 1) as u32);
        }
        Ok(())
    })
    .map_err(|e| match e {
        Ok(p) => SetError::Parse(p),
        Err(e) => e,
    })?;
    Ok(rules)
}

/// `rules` write: the new set is exactly the rules of `text`.
pub fn plan_replace<'a, A: Alloc>(
    old: &[Rule],
    text: &'a [u8],
) -> Result<A::Buf<Planned>, SetError<'a>> {
    let new = parse_unique::<A>(text)?;
    replace_with::<A>(old, &new).map_err(SetError::from_rules)
}

/// `add` write: the active rules, then those of `text` not yet active.
pub fn plan_add<'a, A: Alloc>(
    old: &[Rule],
    text: &'a [u8],
) -> Result<A::Buf<Planned>, SetError<'a>> {
    let add = parse_unique::<A>(text)?;
    add_rules::<A>(old, &add).map_err(SetError::from_rules)
}

/// `del` write: the active rules less those of `text`, all of which must be
/// active.
pub fn plan_del<'a, A: Alloc>(
    old: &[Rule],
    text: &'a [u8],
) -> Result<A::Buf<Planned>, SetError<'a>> {
    let del = parse_unique::<A>(text)?;
    del_rules::<A>(old, &del).map_err(SetError::from_rules)
}

/// Why a change given as rules (already parsed) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RulesError {
    /// More than [`MAX_RULES`] rules (ENOSPC).
    TooMany,
    /// `del` of a rule that is not active (ENOENT).
    NotFound(Rule),
    /// Out of memory (ENOMEM).
    NoMem,
}

impl From<NoMem> for RulesError {
    fn from(_: NoMem) -> Self {
        RulesError::NoMem
    }
}

impl SetError<'_> {
    fn from_rules(e: RulesError) -> Self {
        match e {
            RulesError::TooMany => SetError::TooMany,
            RulesError::NotFound(r) => SetError::NotFound(r),
            RulesError::NoMem => SetError::NoMem,
        }
    }
}

/// The new set is exactly `new` (distinct rules), each remembering its
/// index in `old` if it was there.
pub fn replace_with<A: Alloc>(old: &[Rule], new: &[Rule]) -> Result<A::Buf<Planned>, RulesError> {
    if new.len() > MAX_RULES {
        return Err(RulesError::TooMany);
    }
    let old_idx = index_of::<A>(old, old.len())?;
    let mut out = A::Buf::<Planned>::with_capacity(new.len())?;
    for r in new.iter() {
        out.push(Planned {
            rule: *r,
            old: old_idx.find(old, r).unwrap_or(NEW),
        })?;
    }
    Ok(out)
}

/// `old`, then the rules of `add` (distinct) not in it.
pub fn add_rules<A: Alloc>(old: &[Rule], add: &[Rule]) -> Result<A::Buf<Planned>, RulesError> {
    let old_idx = index_of::<A>(old, old.len())?;
    let fresh = add
        .iter()
        .filter(|r| old_idx.find(old, r).is_none())
        .count();
    if old.len() + fresh > MAX_RULES {
        return Err(RulesError::TooMany);
    }
    let mut out = A::Buf::<Planned>::with_capacity(old.len() + fresh)?;
    for (i, r) in old.iter().enumerate() {
        out.push(Planned {
            rule: *r,
            old: i as u32,
        })?;
    }
    for r in add.iter().filter(|r| old_idx.find(old, r).is_none()) {
        out.push(Planned { rule: *r, old: NEW })?;
    }
    Ok(out)
}

/// `old` less the rules of `del` (distinct), every one of which must be in it.
pub fn del_rules<A: Alloc>(old: &[Rule], del: &[Rule]) -> Result<A::Buf<Planned>, RulesError> {
    let old_idx = index_of::<A>(old, old.len())?;
    let mut gone = filled::<A, bool>(false, old.len())?;
    for r in del.iter() {
        A::relax();
        match old_idx.find(old, r) {
            Some(i) => gone[i as usize] = true,
            None => return Err(RulesError::NotFound(*r)),
        }
    }
    let mut out = A::Buf::<Planned>::with_capacity(old.len() - del.len())?;
    for (i, r) in old.iter().enumerate() {
        if !gone[i] {
            out.push(Planned {
                rule: *r,
                old: i as u32,
            })?;
        }
    }
    Ok(out)
}
