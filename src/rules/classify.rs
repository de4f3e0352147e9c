// SPDX-License-Identifier: GPL-2.0

//! The classifier: which rule (the earliest in the set's order) matches a
//! packet key.
//!
//! Tuple-space search, as in Open vSwitch: every rule, and its reverse unless
//! `oneway`, becomes a *variant*; variants are grouped by *mask* (which fields
//! they name, the prefix lengths, whether each port is exact or a range), and
//! each mask gets one hash table keyed by the masked fields. A lookup probes
//! one table per distinct mask, so its cost depends on how many shapes of
//! rule there are, not on how many rules.
//!
//! Port ranges are not hashed: variants that share a masked key and differ in
//! one port range are resolved by a binary search over precomputed disjoint
//! intervals, each labelled with the earliest rule covering it. Variants with
//! ranges on both ports (rare) are scanned in rule order.
//!
//! Tables are probed in order of the earliest rule they hold, and the lookup
//! stops when no remaining table can hold an earlier rule than the best match
//! so far: the result is always the earliest matching rule.
//!
//! Before a table is probed, one bit of its prefilter is tested: a 64K-bit
//! bitmap over one cheap and selective field of its keys (the exact
//! destination or source port, a 16-bit fold of a masked address, or the
//! protocol). A clear bit skips the table without masking, hashing or
//! comparing; the bitmap is a superset test, so it never changes a result.
//!
//! The structure is immutable once built: the datapath reads it without locks
//! while a writer builds its replacement.

use core::cmp::Ordering;

use super::buf::{Alloc, Buf, NoMem};
use super::key::PacketKey;
use super::rule::{prefix_mask, Family, PortRange, Rule};

const NONE: u32 = u32::MAX;
const PORT_NONE: u8 = 0;
const PORT_EXACT: u8 = 1;
const PORT_RANGE: u8 = 2;

/// Which fields a variant names, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Mask {
    /// 0: both families, 4: IPv4, 6: IPv6.
    fam: u8,
    proto: bool,
    slen: u8,
    dlen: u8,
    sport: u8,
    dport: u8,
    iif: bool,
    oif: bool,
}

impl Mask {
    fn needs_ports(&self) -> bool {
        self.sport != PORT_NONE || self.dport != PORT_NONE
    }
}

/// The masked fields a table is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct MKey {
    saddr: u128,
    daddr: u128,
    iif: u128,
    oif: u128,
    sport: u16,
    dport: u16,
    proto: u8,
}

impl MKey {
    /// One multiply over an xor-fold of the fields. Keys come from the
    /// administrator's rules, not from packets, and a collision only makes
    /// a probe sequence longer, never a result wrong.
    #[inline]
    fn hash(&self) -> u32 {
        let fold =
            |v: u128, r: u32| ((v as u64) ^ ((v >> 64) as u64).rotate_left(29)).rotate_left(r);
        let h = fold(self.saddr, 0)
            ^ fold(self.daddr, 17)
            ^ fold(self.iif, 31)
            ^ fold(self.oif, 47)
            ^ (u64::from(self.proto) | u64::from(self.sport) << 8 | u64::from(self.dport) << 24);
        let h = (h ^ (h >> 32)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 32) as u32
    }
}

/// One direction of one rule.
#[derive(Debug, Clone, Copy)]
struct Variant {
    mask: Mask,
    key: MKey,
    sport: PortRange,
    dport: PortRange,
    rule: u32,
}

impl Variant {
    fn new(r: &Rule, rule: u32) -> Self {
        let kind = |p: Option<PortRange>| match p {
            None => PORT_NONE,
            Some(p) if p.lo == p.hi => PORT_EXACT,
            Some(_) => PORT_RANGE,
        };
        let exact = |p: Option<PortRange>| match p {
            Some(p) if p.lo == p.hi => p.lo,
            _ => 0,
        };
        let any = PortRange {
            lo: 0,
            hi: u16::MAX,
        };
        Variant {
            mask: Mask {
                fam: match r.family {
                    Family::Any => 0,
                    Family::V4 => 4,
                    Family::V6 => 6,
                },
                proto: r.proto.is_some(),
                slen: r.saddr.map_or(0, |p| p.len),
                dlen: r.daddr.map_or(0, |p| p.len),
                sport: kind(r.sport),
                dport: kind(r.dport),
                iif: r.iif.is_some(),
                oif: r.oif.is_some(),
            },
            key: MKey {
                saddr: r.saddr.map_or(0, |p| p.addr),
                daddr: r.daddr.map_or(0, |p| p.addr),
                iif: r.iif.map_or(0, |n| n.0),
                oif: r.oif.map_or(0, |n| n.0),
                sport: exact(r.sport),
                dport: exact(r.dport),
                proto: r.proto.unwrap_or(0),
            },
            sport: r.sport.unwrap_or(any),
            dport: r.dport.unwrap_or(any),
            rule,
        }
    }

    fn order(&self, o: &Self) -> Ordering {
        (self.mask, self.key, self.rule).cmp(&(o.mask, o.key, o.rule))
    }
}

/// The field a table's prefilter looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Dport,
    Sport,
    /// Ports covered by any of the table's destination (source) port ranges.
    DportRange,
    SportRange,
    Saddr,
    Daddr,
    Proto,
    None,
}

/// Bits per prefilter bitmap (indexed by a 16-bit value).
const FILTER_BITS: usize = 1 << 16;
const FILTER_WORDS: usize = FILTER_BITS / 64;

/// Sets bits `lo..=hi` of a bitmap, a word at a time.
fn set_bits(bits: &mut [u64], lo: usize, hi: usize) {
    let mut i = lo;
    while i <= hi {
        // On a word boundary (not `is_multiple_of`: newer than the kernel's MSRV).
        if (i & 63) == 0 && i + 63 <= hi {
            bits[i / 64] = u64::MAX;
            i += 64;
        } else {
            bits[i / 64] |= 1 << (i % 64);
            i += 1;
        }
    }
}

/// A 16-bit fold of an address (IPv4 in the low 32 bits).
#[inline]
fn fold16(a: u128) -> u32 {
    let x = (a as u64) ^ ((a >> 64) as u64);
    let x = x ^ (x >> 32);
    ((x ^ (x >> 16)) & 0xffff) as u32
}

impl Filter {
    /// The most selective cheap field of a mask.
    fn of(m: &Mask) -> Filter {
        if m.dport == PORT_EXACT {
            Filter::Dport
        } else if m.sport == PORT_EXACT {
            Filter::Sport
        } else if m.dport == PORT_RANGE {
            Filter::DportRange
        } else if m.sport == PORT_RANGE {
            Filter::SportRange
        } else if m.slen >= 8 {
            Filter::Saddr
        } else if m.dlen >= 8 {
            Filter::Daddr
        } else if m.proto {
            Filter::Proto
        } else {
            Filter::None
        }
    }

    /// The filter's index for a masked key (range filters set whole
    /// ranges instead: see `add_table`).
    #[inline]
    fn index(self, k: &MKey) -> u32 {
        match self {
            Filter::Dport => u32::from(k.dport),
            Filter::Sport => u32::from(k.sport),
            Filter::DportRange | Filter::SportRange => 0,
            Filter::Saddr => fold16(k.saddr),
            Filter::Daddr => fold16(k.daddr),
            Filter::Proto => u32::from(k.proto),
            Filter::None => 0,
        }
    }

    /// The filter's index for a packet, without building its masked key.
    #[inline]
    fn packet_index(self, t: &Table, k: &PacketKey) -> u32 {
        match self {
            Filter::Dport | Filter::DportRange => u32::from(k.dport),
            Filter::Sport | Filter::SportRange => u32::from(k.sport),
            Filter::Saddr => fold16(k.saddr & t.smask),
            Filter::Daddr => fold16(k.daddr & t.dmask),
            Filter::Proto => u32::from(k.proto),
            Filter::None => 0,
        }
    }
}

/// One hash table: the variants of one mask.
#[derive(Debug, Clone, Copy)]
struct Table {
    mask: Mask,
    /// Address masks of the table's prefixes (for its family; zero when the
    /// table names no address).
    smask: u128,
    dmask: u128,
    filter: Filter,
    /// Its prefilter: `bits[filter_off..filter_off + FILTER_WORDS]`.
    filter_off: u32,
    /// Earliest rule in the table.
    min_rule: u32,
    /// Its slots: `slots[off..off + size]`, size a power of two.
    off: u32,
    size_mask: u32,
}

/// What a slot resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payload {
    Empty,
    /// No port range: the earliest rule with this key.
    Rule(u32),
    /// One port range: `segs[off..off + len]`.
    Segs(u32, u32),
    /// Two port ranges: `boxes[off..off + len]`, in rule order.
    Boxes(u32, u32),
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    key: MKey,
    hash: u32,
    payload: Payload,
}

/// A disjoint port interval starting at `start` (up to the next one's start):
/// the earliest rule covering it, or NONE.
#[derive(Debug, Clone, Copy)]
struct Seg {
    start: u32,
    rule: u32,
}

#[derive(Debug, Clone, Copy)]
struct PortBox {
    sport: PortRange,
    dport: PortRange,
    rule: u32,
}

/// Up to this many rules, a lookup scans them in order (cheaper than probing
/// hash tables for tiny sets, and the same answer: the earliest match).
pub const LINEAR_MAX: usize = 4;

/// A compiled rule set.
pub struct Classifier<A: Alloc> {
    /// The rules themselves when there are at most [`LINEAR_MAX`].
    linear: A::Buf<Rule>,
    tables: A::Buf<Table>,
    /// Tables that can match IPv4 (IPv6) packets, by earliest rule.
    order_v4: A::Buf<u32>,
    order_v6: A::Buf<u32>,
    slots: A::Buf<Slot>,
    segs: A::Buf<Seg>,
    boxes: A::Buf<PortBox>,
    bits: A::Buf<u64>,
    rules: usize,
    needs_ports: bool,
}

/// Scratch space for building the interval lists of one table entry.
struct Scratch<A: Alloc> {
    bounds: A::Buf<u32>,
    label: A::Buf<u32>,
    next: A::Buf<u32>,
}

impl<A: Alloc> Classifier<A> {
    /// An empty classifier (matches nothing).
    pub fn empty() -> Result<Self, NoMem> {
        Self::build(&[])
    }

    /// Compiles `rules`; a lookup returns indices into this slice.
    pub fn build(rules: &[Rule]) -> Result<Self, NoMem> {
        let mut vars = A::Buf::<Variant>::with_capacity(if rules.len() <= LINEAR_MAX {
            0
        } else {
            rules.len() * 2
        })?;
        for (i, r) in rules.iter().enumerate() {
            if rules.len() <= LINEAR_MAX {
                continue;
            }
            vars.push(Variant::new(r, i as u32))?;
            if !r.oneway {
                let rev = r.reversed();
                if rev != *r {
                    vars.push(Variant::new(&rev, i as u32))?;
                }
            }
        }
        vars.sort_unstable_by(Variant::order);

        let mut c = Classifier {
            linear: A::Buf::with_capacity(0)?,
            tables: A::Buf::with_capacity(0)?,
            order_v4: A::Buf::with_capacity(0)?,
            order_v6: A::Buf::with_capacity(0)?,
            slots: A::Buf::with_capacity(0)?,
            segs: A::Buf::with_capacity(0)?,
            boxes: A::Buf::with_capacity(0)?,
            bits: A::Buf::with_capacity(0)?,
            rules: rules.len(),
            needs_ports: rules.iter().any(Rule::needs_ports),
        };
        if rules.len() <= LINEAR_MAX {
            for r in rules {
                Buf::push(&mut c.linear, *r)?;
            }
        }
        let mut scratch = Scratch::<A> {
            bounds: A::Buf::with_capacity(0)?,
            label: A::Buf::with_capacity(0)?,
            next: A::Buf::with_capacity(0)?,
        };

        let mut t0 = 0;
        while t0 < vars.len() {
            let mask = vars[t0].mask;
            let mut t1 = t0;
            let mut keys = 0usize;
            let mut min_rule = NONE;
            while t1 < vars.len() && vars[t1].mask == mask {
                if t1 == t0 || vars[t1].key != vars[t1 - 1].key {
                    keys += 1;
                }
                min_rule = min_rule.min(vars[t1].rule);
                t1 += 1;
            }
            c.add_table(&vars[t0..t1], mask, keys, min_rule, &mut scratch)?;
            t0 = t1;
        }

        for (fam, order) in [(4u8, &mut c.order_v4), (6u8, &mut c.order_v6)] {
            for (i, t) in c.tables.iter().enumerate() {
                if t.mask.fam == 0 || t.mask.fam == fam {
                    order.push(i as u32)?;
                }
            }
            let tables = &c.tables;
            order.sort_unstable_by_key(|&i| tables[i as usize].min_rule);
        }
        Ok(c)
    }

    fn add_table(
        &mut self,
        vars: &[Variant],
        mask: Mask,
        keys: usize,
        min_rule: u32,
        scratch: &mut Scratch<A>,
    ) -> Result<(), NoMem> {
        let size = (keys * 2).next_power_of_two();
        let off = self.slots.len();
        let empty = Slot {
            key: MKey::default(),
            hash: 0,
            payload: Payload::Empty,
        };
        for _ in 0..size {
            self.slots.push(empty)?;
        }
        let filter = Filter::of(&mask);
        let filter_off = self.bits.len();
        if filter != Filter::None {
            for _ in 0..FILTER_WORDS {
                self.bits.push(0)?;
            }
            let bits = &mut self.bits[filter_off..filter_off + FILTER_WORDS];
            for v in vars {
                let (lo, hi) = match filter {
                    Filter::DportRange => (v.dport.lo as usize, v.dport.hi as usize),
                    Filter::SportRange => (v.sport.lo as usize, v.sport.hi as usize),
                    f => {
                        let i = f.index(&v.key) as usize;
                        (i, i)
                    }
                };
                set_bits(bits, lo, hi);
            }
        }
        let v6 = mask.fam == 6;
        self.tables.push(Table {
            mask,
            smask: if mask.slen != 0 {
                prefix_mask(v6, mask.slen)
            } else {
                0
            },
            dmask: if mask.dlen != 0 {
                prefix_mask(v6, mask.dlen)
            } else {
                0
            },
            filter,
            filter_off: filter_off as u32,
            min_rule,
            off: off as u32,
            size_mask: (size - 1) as u32,
        })?;

        let mut k0 = 0;
        while k0 < vars.len() {
            let mut k1 = k0 + 1;
            while k1 < vars.len() && vars[k1].key == vars[k0].key {
                k1 += 1;
            }
            let group = &vars[k0..k1];
            let payload = match (mask.sport == PORT_RANGE, mask.dport == PORT_RANGE) {
                (false, false) => Payload::Rule(group[0].rule),
                (true, true) => {
                    let at = self.boxes.len() as u32;
                    for v in group {
                        self.boxes.push(PortBox {
                            sport: v.sport,
                            dport: v.dport,
                            rule: v.rule,
                        })?;
                    }
                    Payload::Boxes(at, group.len() as u32)
                }
                (s, _) => self.add_segs(group, s, scratch)?,
            };
            let key = group[0].key;
            let hash = key.hash();
            let m = size - 1;
            let mut i = hash as usize & m;
            while self.slots[off + i].payload != Payload::Empty {
                i = (i + 1) & m;
            }
            self.slots[off + i] = Slot { key, hash, payload };
            k0 = k1;
        }
        Ok(())
    }

    /// Disjoint intervals of one port field for variants sharing a key (in
    /// rule order), each labelled with the earliest rule covering it.
    fn add_segs(
        &mut self,
        group: &[Variant],
        sport: bool,
        s: &mut Scratch<A>,
    ) -> Result<Payload, NoMem> {
        let range = |v: &Variant| if sport { v.sport } else { v.dport };
        s.bounds.clear();
        for v in group {
            let r = range(v);
            s.bounds.push(u32::from(r.lo))?;
            s.bounds.push(u32::from(r.hi) + 1)?;
        }
        s.bounds.sort_unstable();
        let mut n = 0;
        for i in 0..s.bounds.len() {
            if i == 0 || s.bounds[i] != s.bounds[n - 1] {
                s.bounds[n] = s.bounds[i];
                n += 1;
            }
        }
        s.bounds.truncate(n);
        // Paint intervals in rule order; `next` skips painted ones
        // (union-find with path halving), so this is near-linear.
        s.label.clear();
        s.next.clear();
        for i in 0..n {
            s.label.push(NONE)?;
            s.next.push(i as u32)?;
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
        for v in group {
            let r = range(v);
            let lo = s.bounds.binary_search(&u32::from(r.lo)).unwrap_or(0);
            let hi = s.bounds.binary_search(&(u32::from(r.hi) + 1)).unwrap_or(n);
            let mut i = find(&mut s.next, lo);
            while i < hi {
                s.label[i] = v.rule;
                s.next[i] = (i + 1) as u32;
                i = find(&mut s.next, i + 1);
            }
        }
        let at = self.segs.len() as u32;
        let mut prev = NONE - 1;
        for i in 0..n {
            if s.label[i] != prev {
                self.segs.push(Seg {
                    start: s.bounds[i],
                    rule: s.label[i],
                })?;
                prev = s.label[i];
            }
        }
        Ok(Payload::Segs(at, self.segs.len() as u32 - at))
    }

    /// Number of rules compiled in.
    pub fn len(&self) -> usize {
        self.rules
    }

    /// Whether no rule is compiled in.
    pub fn is_empty(&self) -> bool {
        self.rules == 0
    }

    /// Whether some rule names ports (a packet whose ports cannot be read
    /// may then be unclassifiable).
    pub fn needs_ports(&self) -> bool {
        self.needs_ports
    }

    /// Number of hash tables (distinct rule shapes; 0 for a linear set).
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// The earliest rule matching `k` in either of its directions, if any.
    pub fn lookup(&self, k: &PacketKey) -> Option<u32> {
        if !self.linear.is_empty() {
            return self
                .linear
                .iter()
                .position(|r| r.matches(k))
                .map(|i| i as u32);
        }
        let order = if k.v6 { &self.order_v6 } else { &self.order_v4 };
        let mut best = NONE;
        for &ti in order.iter() {
            let t = &self.tables[ti as usize];
            if t.min_rule >= best {
                break;
            }
            let m = &t.mask;
            if m.needs_ports() && !k.has_ports {
                continue;
            }
            if t.filter != Filter::None {
                let i = t.filter.packet_index(t, k) as usize;
                if self.bits[t.filter_off as usize + i / 64] & (1 << (i % 64)) == 0 {
                    continue;
                }
            }
            let mk = MKey {
                saddr: k.saddr & t.smask,
                daddr: k.daddr & t.dmask,
                iif: if m.iif { k.iif.0 } else { 0 },
                oif: if m.oif { k.oif.0 } else { 0 },
                sport: if m.sport == PORT_EXACT { k.sport } else { 0 },
                dport: if m.dport == PORT_EXACT { k.dport } else { 0 },
                proto: if m.proto { k.proto } else { 0 },
            };
            let hash = mk.hash();
            let mut i = hash & t.size_mask;
            loop {
                let s = &self.slots[(t.off + i) as usize];
                if s.payload == Payload::Empty {
                    break;
                }
                if s.hash == hash && s.key == mk {
                    best = best.min(self.resolve(m, s.payload, k));
                    break;
                }
                i = (i + 1) & t.size_mask;
            }
        }
        (best != NONE).then_some(best)
    }

    fn resolve(&self, m: &Mask, p: Payload, k: &PacketKey) -> u32 {
        match p {
            Payload::Empty => NONE,
            Payload::Rule(r) => r,
            Payload::Segs(off, len) => {
                let port = u32::from(if m.sport == PORT_RANGE {
                    k.sport
                } else {
                    k.dport
                });
                let segs = &self.segs[off as usize..(off + len) as usize];
                // The last interval starting at or before the port.
                match segs.partition_point(|s| s.start <= port) {
                    0 => NONE,
                    i => segs[i - 1].rule,
                }
            }
            Payload::Boxes(off, len) => self.boxes[off as usize..(off + len) as usize]
                .iter()
                .find(|b| b.sport.contains(k.sport) && b.dport.contains(k.dport))
                .map_or(NONE, |b| b.rule),
        }
    }
}
