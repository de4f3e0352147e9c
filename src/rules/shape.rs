// SPDX-License-Identifier: GPL-2.0

//! Rule shapes: which fields a lookup table hashes and how it resolves the
//! rest, the choice of shape for each direction of each rule, and the hash
//! keys of rules and packets.

use super::key::PacketKey;
use super::rule::{prefix_mask, Family, PortRange, Prefix, Rule};
use super::Alloc;

/// The protocol of a table whose rules name none.
pub(super) const ANY_PROTO: u16 = 256;

/// Fields a shape hashes, besides its address prefixes.
pub(super) const H_SPORT: u8 = 1;
pub(super) const H_DPORT: u8 = 2;
pub(super) const H_IIF: u8 = 4;
pub(super) const H_OIF: u8 = 8;

/// How a table resolves what its key leaves open: nothing (the key's
/// earliest rule), one field by intervals, or port boxes.
pub(super) const RES_RULE: u8 = 0;
pub(super) const RES_SPORT: u8 = 1;
pub(super) const RES_DPORT: u8 = 2;
pub(super) const RES_SADDR: u8 = 3;
pub(super) const RES_DADDR: u8 = 4;
pub(super) const RES_BOXES: u8 = 5;

/// While grouping variants for their address decisions, `res` holds these.
const PRE_SRANGE: u8 = 1;
const PRE_DRANGE: u8 = 2;
const PRE_SADDR: u8 = 4;
const PRE_DADDR: u8 = 8;

/// A variant's flags: the reverse direction; its source (destination)
/// prefix is hashed (else, if present, resolved by intervals).
pub(super) const REV: u8 = 1;
const HASH_S: u8 = 2;
const HASH_D: u8 = 4;

/// Which variants share a table. Ordered so that the tables of one
/// (family, protocol) are adjacent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Shape {
    /// 0: both families, 1: IPv4, 2: IPv6.
    pub(super) fam: u8,
    /// The protocol, or [`ANY_PROTO`].
    pub(super) proto: u16,
    /// `H_*`: exact ports and interfaces hashed.
    pub(super) hashed: u8,
    /// `RES_*` (`PRE_*` while grouping).
    pub(super) res: u8,
    /// Length of the hashed source prefix (0: none hashed).
    pub(super) slen: u8,
    /// Length of the hashed destination prefix.
    pub(super) dlen: u8,
}

impl Shape {
    pub(super) fn needs_ports(&self) -> bool {
        self.hashed & (H_SPORT | H_DPORT) != 0
            || matches!(self.res, RES_SPORT | RES_DPORT | RES_BOXES)
    }

    pub(super) fn v6(&self) -> bool {
        self.fam == 2
    }

    /// The family of its packets.
    pub(super) fn family(&self) -> Family {
        match self.fam {
            0 => Family::Any,
            1 => Family::V4,
            _ => Family::V6,
        }
    }
}

/// A prefix's length, 0 for none (a /0 prefix matches every address of its
/// family, which the rule's family says already).
pub(super) fn len_of(p: Option<Prefix>) -> u8 {
    p.map_or(0, |p| p.len)
}

fn is_range(p: Option<PortRange>) -> bool {
    p.is_some_and(|p| p.lo != p.hi)
}

fn is_exact(p: Option<PortRange>) -> bool {
    p.is_some_and(|p| p.lo == p.hi)
}

/// The shape of direction `d` of a rule before its address decisions: the
/// group it is decided in, and its prefix lengths.
pub(super) fn pre_shape(d: &Rule) -> Shape {
    let mut hashed = 0;
    let mut res = 0;
    let set = |on: bool, bits: &mut u8, bit: u8| {
        if on {
            *bits |= bit;
        }
    };
    set(is_exact(d.sport), &mut hashed, H_SPORT);
    set(is_exact(d.dport), &mut hashed, H_DPORT);
    set(d.iif.is_some(), &mut hashed, H_IIF);
    set(d.oif.is_some(), &mut hashed, H_OIF);
    set(is_range(d.sport), &mut res, PRE_SRANGE);
    set(is_range(d.dport), &mut res, PRE_DRANGE);
    set(len_of(d.saddr) > 0, &mut res, PRE_SADDR);
    set(len_of(d.daddr) > 0, &mut res, PRE_DADDR);
    Shape {
        fam: match d.family {
            Family::Any => 0,
            Family::V4 => 1,
            Family::V6 => 2,
        },
        proto: d.proto.map_or(ANY_PROTO, u16::from),
        hashed,
        res,
        slen: len_of(d.saddr),
        dlen: len_of(d.daddr),
    }
}

/// The shape of direction `d` once its address decisions are in `flags`.
pub(super) fn shape_of(d: &Rule, flags: u8) -> Shape {
    let pre = pre_shape(d);
    let hs = flags & HASH_S != 0;
    let hd = flags & HASH_D != 0;
    let res = if pre.res & (PRE_SRANGE | PRE_DRANGE) == PRE_SRANGE | PRE_DRANGE {
        RES_BOXES
    } else if pre.res & PRE_SRANGE != 0 {
        RES_SPORT
    } else if pre.res & PRE_DRANGE != 0 {
        RES_DPORT
    } else if pre.res & PRE_SADDR != 0 && !hs {
        RES_SADDR
    } else if pre.res & PRE_DADDR != 0 && !hd {
        RES_DADDR
    } else {
        RES_RULE
    };
    Shape {
        res,
        slen: if hs { pre.slen } else { 0 },
        dlen: if hd { pre.dlen } else { 0 },
        ..pre
    }
}

/// One direction of one rule, while building.
#[derive(Debug, Clone, Copy)]
pub(super) struct Var {
    pub(super) shape: Shape,
    /// Its key's hash (seed 0), to sort equal keys together.
    pub(super) hash: u32,
    pub(super) rule: u32,
    pub(super) flags: u8,
}

/// Stands in for a rule index out of range (never, by construction).
pub(super) const NO_RULE: Rule = Rule {
    family: Family::Any,
    proto: None,
    saddr: None,
    daddr: None,
    sport: None,
    dport: None,
    iif: None,
    oif: None,
    oneway: true,
};

impl Var {
    /// The direction of its rule it stands for.
    pub(super) fn dir(&self, rules: &[Rule]) -> Rule {
        let r = rules.get(self.rule as usize).copied().unwrap_or(NO_RULE);
        if self.flags & REV != 0 {
            r.reversed()
        } else {
            r
        }
    }

    /// Its key in its table (its shape final).
    pub(super) fn key(&self, rules: &[Rule], seed: u64) -> Key {
        self.shape
            .key_def()
            .key(seed, &Words::of(&fields_of(&self.dir(rules))))
    }
}

/// Decides, group by group (variants of one shape but for their prefix
/// lengths; `vars` sorted by shape), which prefixes are hashed and which
/// are resolved by intervals, for as few tables as possible:
///
/// - with a port range, every prefix is hashed (the range takes the
///   intervals), so each distinct length is one table;
/// - one address: hashed if every variant of the group has the same length
///   (one probe, no search), else intervals (one table for all lengths);
/// - both addresses: both hashed if all have the same pair of lengths, else
///   one hashed and the other by intervals, the hashed lengths chosen
///   greedily to cover every pair of lengths with few tables.
pub(super) fn decide<A: Alloc>(vars: &mut [Var]) {
    let group_of = |s: &Shape| (s.fam, s.proto, s.hashed, s.res);
    let mut g0 = 0;
    while g0 < vars.len() {
        let g = group_of(&vars[g0].shape);
        let mut g1 = g0 + 1;
        while g1 < vars.len() && group_of(&vars[g1].shape) == g {
            g1 += 1;
        }
        let group = &mut vars[g0..g1];
        let res = g.3;
        let ranges = res & (PRE_SRANGE | PRE_DRANGE) != 0;
        let (s, d) = (res & PRE_SADDR != 0, res & PRE_DADDR != 0);
        let first = group[0].shape;
        let one_pair = group
            .iter()
            .all(|v| (v.shape.slen, v.shape.dlen) == (first.slen, first.dlen));
        if ranges || one_pair {
            for v in group.iter_mut() {
                if s {
                    v.flags |= HASH_S;
                }
                if d {
                    v.flags |= HASH_D;
                }
            }
        } else if s && d {
            let (cs, cd) = cover::<A>(group);
            for v in group.iter_mut() {
                if bit(cs, v.shape.slen) {
                    v.flags |= HASH_S;
                } else if bit(cd, v.shape.dlen) {
                    v.flags |= HASH_D;
                }
            }
        }
        g0 = g1;
    }
}

/// Whether length `len` (1 to 128) is in a set of lengths.
fn bit(set: u128, len: u8) -> bool {
    len > 0
        && 1u128
            .checked_shl(u32::from(len) - 1)
            .is_some_and(|b| set & b != 0)
}

/// A small set of source lengths and destination lengths such that every
/// variant's (source, destination) pair has one of them: greedily, the
/// length covering the most pairs not yet covered, until all are. `group`
/// is sorted by lengths.
fn cover<A: Alloc>(group: &[Var]) -> (u128, u128) {
    let (mut cs, mut cd) = (0u128, 0u128);
    loop {
        let mut ds = [0u16; 128];
        let mut dd = [0u16; 128];
        let mut prev = None;
        for v in group {
            A::relax();
            let pair = (v.shape.slen, v.shape.dlen);
            // Count each pair once.
            if prev == Some(pair) || bit(cs, pair.0) || bit(cd, pair.1) {
                continue;
            }
            prev = Some(pair);
            if let Some(x) = ds.get_mut(usize::from(pair.0).wrapping_sub(1)) {
                *x += 1;
            }
            if let Some(x) = dd.get_mut(usize::from(pair.1).wrapping_sub(1)) {
                *x += 1;
            }
        }
        let best = |deg: &[u16; 128]| {
            deg.iter()
                .enumerate()
                .fold((0, 0), |b, (i, &n)| if n > b.1 { (i, n) } else { b })
        };
        let (si, sn) = best(&ds);
        let (di, dn) = best(&dd);
        if sn == 0 && dn == 0 {
            return (cs, cd);
        }
        if sn >= dn {
            cs |= 1u128 << si;
        } else {
            cd |= 1u128 << di;
        }
    }
}

/// The fields of direction `d` of a rule as a packet would carry them: what
/// its key is made of (a range's start stands for the range; a table never
/// hashes a range).
pub(super) fn fields_of(d: &Rule) -> PacketKey {
    PacketKey {
        v6: d.family == Family::V6,
        proto: d.proto.unwrap_or(0),
        saddr: d.saddr.map_or(0, |p| p.addr),
        daddr: d.daddr.map_or(0, |p| p.addr),
        has_ports: true,
        sport: d.sport.map_or(0, |p| p.lo),
        dport: d.dport.map_or(0, |p| p.lo),
        iif: d.iif.unwrap_or_default(),
        oif: d.oif.unwrap_or_default(),
    }
}

/// A packet's fields as 64-bit words, read once per lookup; keys and
/// prefilters pick and mask words of these.
pub(super) struct Words(pub(super) [u64; MAX_WORDS]);

/// The words: both ports, then each address and interface in two halves
/// (an IPv4 address in the low half).
pub(super) const W_PORTS: u8 = 0;
const W_SADDR: u8 = 1;
const W_DADDR: u8 = 3;
const W_IIF: u8 = 5;
const W_OIF: u8 = 7;

impl Words {
    #[inline]
    pub(super) fn of(k: &PacketKey) -> Words {
        Words([
            (u64::from(k.sport) << 16) | u64::from(k.dport),
            (k.saddr >> 64) as u64,
            k.saddr as u64,
            (k.daddr >> 64) as u64,
            k.daddr as u64,
            (k.iif.0 >> 64) as u64,
            k.iif.0 as u64,
            (k.oif.0 >> 64) as u64,
            k.oif.0 as u64,
        ])
    }

    /// Word `i`, masked.
    #[inline(always)]
    pub(super) fn get(&self, i: u8, mask: u64) -> u64 {
        self.0.get(usize::from(i)).map_or(0, |&w| w & mask)
    }
}

/// The words of a prefix field of `len` bits, and their masks: (word,
/// mask) for the high half (IPv6 only) and the low half.
pub(super) fn prefix_words(field: u8, v6: bool, len: u8) -> [(u8, u64); 2] {
    let m = prefix_mask(v6, len);
    let hi = if v6 {
        (field, (m >> 64) as u64)
    } else {
        (field, 0)
    };
    [hi, (field + 1, m as u64)]
}

/// Most words a key has: the ports, two IPv6 prefixes, two interfaces.
pub(super) const MAX_WORDS: usize = 9;

/// Which words of a packet's (or a rule direction's) [`Words`] a table's
/// keys are made of, each masked.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyDef {
    n: u8,
    sel: [u8; MAX_WORDS],
    mask: [u64; MAX_WORDS],
}

impl KeyDef {
    fn push(&mut self, sel: u8, mask: u64) {
        let i = usize::from(self.n);
        if let (Some(s), Some(m)) = (self.sel.get_mut(i), self.mask.get_mut(i)) {
            *s = sel;
            *m = mask;
            self.n += 1;
        }
    }

    /// Words of each key.
    pub(super) fn words(&self) -> u32 {
        u32::from(self.n)
    }

    /// The hash of the key of `w` with `seed`: the slot's tag, whose low
    /// bits are the key's home slot.
    #[inline]
    pub(super) fn hash(&self, seed: u64, w: &Words) -> u32 {
        let mut h = seed;
        for (&s, &m) in self
            .sel
            .iter()
            .zip(self.mask.iter())
            .take(usize::from(self.n))
        {
            h = (h.rotate_left(5) ^ w.get(s, m)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
        let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        (h >> 32) as u32
    }

    /// Whether the key of `w` is `words` (a slot's key, as long as the
    /// table's keys).
    #[inline]
    pub(super) fn is(&self, w: &Words, words: &[u64]) -> bool {
        words
            .iter()
            .zip(self.sel.iter().zip(self.mask.iter()))
            .all(|(&x, (&s, &m))| x == w.get(s, m))
    }

    /// The key of `w`: its words and their hash.
    pub(super) fn key(&self, seed: u64, w: &Words) -> Key {
        let mut k = Key {
            w: [0; MAX_WORDS],
            n: usize::from(self.n),
            hash: self.hash(seed, w),
        };
        for (x, (&s, &m)) in k.w.iter_mut().zip(self.sel.iter().zip(self.mask.iter())) {
            *x = w.get(s, m);
        }
        k
    }
}

impl Shape {
    /// Which words its keys are made of.
    pub(super) fn key_def(&self) -> KeyDef {
        let v6 = self.v6();
        let mut d = KeyDef {
            n: 0,
            sel: [0; MAX_WORDS],
            mask: [0; MAX_WORDS],
        };
        let mut ports = 0;
        if self.hashed & H_SPORT != 0 {
            ports |= 0xffff_0000;
        }
        if self.hashed & H_DPORT != 0 {
            ports |= 0xffff;
        }
        if ports != 0 {
            d.push(W_PORTS, ports);
        }
        for (field, len) in [(W_SADDR, self.slen), (W_DADDR, self.dlen)] {
            if len > 0 {
                for (sel, mask) in prefix_words(field, v6, len) {
                    if v6 || sel == field + 1 {
                        d.push(sel, mask);
                    }
                }
            }
        }
        for (field, bit) in [(W_IIF, H_IIF), (W_OIF, H_OIF)] {
            if self.hashed & bit != 0 {
                d.push(field, u64::MAX);
                d.push(field + 1, u64::MAX);
            }
        }
        d
    }
}

/// A rule direction's key: its words and their hash.
pub(super) struct Key {
    w: [u64; MAX_WORDS],
    n: usize,
    pub(super) hash: u32,
}

impl Key {
    pub(super) fn words(&self) -> &[u64] {
        self.w.get(..self.n).unwrap_or(&[])
    }
}

/// The source (`true`) or destination address words.
pub(super) fn addr_field(source: bool) -> u8 {
    if source {
        W_SADDR
    } else {
        W_DADDR
    }
}
