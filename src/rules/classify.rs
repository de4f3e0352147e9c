// SPDX-License-Identifier: GPL-2.0

//! The classifier: which rule (the earliest in the set's order) matches a
//! packet key, with the work per packet bounded for every set it accepts.
//!
//! **Small sets** (up to [`LINEAR_MAX`] rules): each direction of each rule
//! is a flat test of only the fields it names, tried in rule order
//! (`flat.rs`).
//!
//! **Larger sets**: tuple-space search, as in Open vSwitch, indexed by
//! (family, protocol). Every rule, and its reverse unless `oneway`, is a
//! *variant*; variants of one *shape* (`shape.rs`) share a hash table keyed
//! by the fields the shape hashes: the exact ports, the interfaces, and an
//! address prefix of one given length. What the key leaves open is resolved
//! inside the slot the key finds, in one step:
//!
//! - nothing: the slot holds the earliest rule with that key;
//! - one port range, or one address prefix of any length: a binary search
//!   over disjoint intervals, each labelled with the earliest rule covering
//!   it (`intervals.rs`). So prefixes of many lengths cost one table, not
//!   one per length (when they come with exact ports or none, and when both
//!   addresses are given, for the lengths of one of them);
//! - a source and a destination port range: at most [`MAX_BOXES`] boxes,
//!   tried in rule order.
//!
//! A shape of at most [`SMALL_SHAPE`] variants gets no table: its variants
//! are flat tests (cheaper than a probe), at most [`MAX_FLAT`] a bucket.
//!
//! A packet of family f and protocol p visits only its *bucket*: the tables
//! and flat tests whose rules can match (f, p) (rules naming no family or
//! no protocol are in every bucket they can match), in order of their
//! earliest rule, and stops once nothing left can hold an earlier rule than
//! the best match so far, so the result is always the earliest matching
//! rule.
//!
//! **Bounds** (`limit.rs`), checked when the set is built: at most
//! [`MAX_TABLES`] tables and [`MAX_FLAT`] flat tests per bucket, at most
//! [`MAX_BOXES`] port boxes per key, and a table probe reads at most
//! [`MAX_SLOTS`] slots (Robin Hood insertion, the size or the seed changed
//! until it holds). An interval search takes at most
//! [`MAX_STEPS`](super::limit::MAX_STEPS) steps. A set past a bound fails to
//! build with [`BuildError::Limit`], which says which bound and what to do.
//!
//! **Port tables**: a table keyed by one exact port alone, from
//! [`PORT_TABLE`] variants on, is a direct map in two levels (blocks of 64
//! ports): a probe reads the port's block offset, then its payload, with no
//! hash and no key to compare.
//!
//! **Prefilters**, all superset tests (they never change a result):
//! - shared per field, per bucket ([`Bucket`]): for each of the source and
//!   destination ports and addresses that tells the bucket's entries apart,
//!   256 cells (a port's high byte; a hash of an address's first bits, as
//!   many as the bucket's shortest prefix in that field), each a mask of
//!   the entries that may match a packet in that cell. A packet visits only
//!   the entries set in all its cells' masks: four loads, whatever the
//!   bucket holds, at most 8 KiB a bucket;
//! - each hash table's own bitmap over one field of its entries (an exact
//!   port it hashes, else the field its intervals resolve, else a hashed
//!   prefix), 16 bits an entry, 64 bytes to 8 KiB: a clear bit skips the
//!   table without hashing or searching.
//!
//! The structure is immutable once built: the datapath reads it without locks
//! while a writer builds its replacement.

// The build's error carries the rule it names by value (as set.rs's do):
// it is returned at most once per build, never per packet.
#![allow(clippy::result_large_err)]

use core::mem::size_of;

use super::buf::{filled, Alloc, Buf, NoMem};
use super::flat::Flat;
use super::intervals::{self, Painter, Seg, Seg6, NONE};
use super::key::{Fields, Head, PacketKey, Quick};
pub use super::limit::{
    BuildError, Limit, LimitKind, MAX_BOXES, MAX_FLAT, MAX_SLOTS, MAX_TABLES, SMALL_SHAPE,
};
use super::rule::{prefix_mask, Family, PortRange, Prefix, Rule};
use super::shape::{
    addr_field, decide, fields_of, len_of, pre_shape, prefix_words, shape_of, KeyDef, Shape, Var,
    Words, ANY_PROTO, H_DPORT, H_SPORT, MAX_WORDS, NO_RULE, RES_BOXES, RES_DADDR, RES_DPORT,
    RES_RULE, RES_SADDR, RES_SPORT, REV, W_PORTS,
};
use super::sort;

/// Up to this many rules, a lookup tries each rule's flat tests in order
/// (cheaper than probing tables for tiny sets, and the same answer).
pub const LINEAR_MAX: usize = 4;

/// An empty slot, or no slot found.
const EMPTY: u32 = u32::MAX;
// A port table's empty payload is no rule: `best.min(payload)` keeps `best`.
const _: () = assert!(EMPTY == NONE);

/// In a bucket's list, an entry with this bit is a rule direction tested on
/// its own (an index into `flat`), not a table.
const FLAT: u32 = 1 << 31;

// A bucket's entries are bits of one mask (see `Bucket`).
const _: () = assert!(MAX_TABLES + MAX_FLAT <= 64);

/// A table keyed by one exact port (and nothing else hashed) with at
/// least this many rule directions is a *port table* if that takes at most
/// twice the memory of the hash table it replaces ([`port_table_pays`]): a
/// direct map in two levels, 1,024 blocks of 64 ports (4 KiB of block
/// offsets), each block that holds a port 64 payloads (256 bytes). A probe
/// reads the port's block offset, then its payload: no hash, no key to
/// compare, and no prefilter (the map is exact).
pub const PORT_TABLE: usize = 128;

/// Whether a table of the variants `vars`, keyed by one port (the source
/// port if `source`), is a port table: when it takes at most twice the
/// bytes of the hash table and prefilter it replaces (a probe of it is far
/// cheaper). A port table is 4 KiB and 256 bytes per block holding a port.
fn port_table_pays<A: Alloc>(rules: &[Rule], vars: &[Var], source: bool) -> bool {
    let mut blocks = [0u64; PORT_BLOCKS / 64];
    // Its keys: the distinct ports (variants of one key are adjacent).
    let mut n = 0usize;
    let mut last = None;
    for v in vars {
        A::relax();
        let d = v.dir(rules);
        let p = port_of(&d, source).map_or(0, |p| usize::from(p.lo));
        if last != Some(p) {
            n += 1;
            last = Some(p);
        }
        let b = p / PORT_BLOCK;
        if let Some(w) = blocks.get_mut(b / 64) {
            *w |= 1 << (b % 64);
        }
    }
    let used: usize = blocks.iter().map(|w| w.count_ones() as usize).sum();
    let hash =
        (2 * n).next_power_of_two() * 16 + ((n * 16).next_power_of_two() / 8).clamp(64, 8192);
    PORT_BLOCKS * 4 + used * PORT_BLOCK * 4 <= 2 * hash
}

/// A rule direction's source (`source`) or destination port.
fn port_of(d: &Rule, source: bool) -> Option<PortRange> {
    if source {
        d.sport
    } else {
        d.dport
    }
}

/// Ports per block of a port table, and its blocks.
const PORT_BLOCK: usize = 64;
const PORT_BLOCKS: usize = 65536 / PORT_BLOCK;

/// A bucket's shared prefilters: for each field, 256 masks (one per *cell*
/// of the field's values; all ones for a field that does not tell the
/// bucket's entries apart), bit i set when
/// the bucket's i-th entry (table or flat test) may match a packet whose
/// field is in that cell. Fields, in this order: source port, destination
/// port (a cell is 256 ports), source address, destination address (a cell
/// is a hash of the address's first `len` bits, `len` the bucket's shortest
/// prefix in that field of at least [`MIN_CELL_PREFIX`] bits; a shorter
/// prefix is in every cell).
const M_SPORT: u8 = 1;
const M_DPORT: u8 = 2;
const M_SADDR: u8 = 4;
const M_DADDR: u8 = 8;
const CELLS: usize = 256;
/// A bucket with prefilters has all four fields' cells (a field that does
/// not tell its entries apart lets every entry through), so a lookup reads
/// them with one bound check.
const FIELDS: usize = 4;

/// The shared prefilters of a set take at most this many bytes, plus
/// [`MASK_BYTES_PER_VAR`] per rule direction (so a set of any size can
/// have them in the 8 buckets with the most tables, 8 KiB each).
const MASK_BYTES: usize = 64 << 10;
const MASK_BYTES_PER_VAR: usize = 64;

/// A set of cells (one bit each).
type CellSet = [u64; CELLS / 64];

/// Whether a set holds every cell.
fn is_full(s: &CellSet) -> bool {
    s.iter().all(|&w| w == u64::MAX)
}

/// Address prefixes shorter than this (IPv4; twice this for IPv6) do not
/// set a bucket's address cells' length: they are in every cell.
const MIN_CELL_PREFIX: u8 = 8;

/// What a table's prefilter looks at: nothing, a port, an address prefix.
const F_NONE: u8 = 0;
const F_PORT: u8 = 1;
const F_ADDR: u8 = 2;

/// A run of something: `[off, off + len)`.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    off: u32,
    len: u32,
}

impl Span {
    fn range(&self) -> core::ops::Range<usize> {
        self.off as usize..self.off as usize + self.len as usize
    }
}

/// A (family, protocol) bucket: its tables and flat tests, and their
/// shared prefilters.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Its entries: `order[list]`, by earliest rule.
    list: Span,
    /// IPv6 (its address cells are bytes of 128-bit addresses).
    v6: bool,
    /// `M_*`: the fields that tell its entries apart (0: it has no
    /// prefilters). Its cells, if any: [`FIELDS`] blocks of `CELLS` from
    /// `masks`, in the order of `M_*` (a field not named lets every entry
    /// through).
    fields: u8,
    masks: u32,
    /// The address cells: the bits of the address they hash.
    smask: u128,
    dmask: u128,
    /// Bit i for its i-th entry.
    all: u64,
    /// Bit i for its i-th entry if that is a flat test.
    flats: u64,
    /// Bit i for an entry answered by its port alone: a port table whose
    /// payload is the rule, at most [`DIRECT`] of them, the earliest, kept
    /// in `port_alone` (looked up first, without the general loop).
    direct: u64,
    port_alone: [Direct; DIRECT],
}

/// Entries of a bucket answered by the port alone, at most (the others are
/// looked up as any table: two, a destination and a source port table,
/// cover the usual sets of exact ports in both directions).
const DIRECT: usize = 2;

/// A bucket's entry answered by the port alone.
#[derive(Debug, Clone, Copy, Default)]
struct Direct {
    /// Its bit in the bucket's entries (0: none).
    bit: u64,
    /// The table's blocks in `pays`, and its key's shift, as in [`Table`].
    off: u32,
    port: u8,
}

/// A table's prefilter: a bitmap over one field of its entries, 16 bits an
/// entry (512 to 65,536 bits). A port's value is the port; an address's, a
/// 16-bit hash of its bits of the table's shortest prefix.
#[derive(Debug, Clone, Copy, Default)]
struct Filter {
    /// `F_*`.
    kind: u8,
    /// A port: the packet's ports word shifted right by this much (16 for
    /// the source port).
    port: u8,
    /// Bit index: the 16-bit value shifted right by this much.
    shift: u8,
    /// An address: its two words and their masks.
    hi: (u8, u64),
    lo: (u8, u64),
    /// Its bits: `bits[off..off + words]`.
    off: u32,
    words: u32,
}

impl Filter {
    /// The 16-bit value of a packet's (or a rule direction's) words.
    #[inline]
    fn value(&self, w: &Words) -> u32 {
        if self.kind == F_PORT {
            w.get(W_PORTS, u64::MAX).wrapping_shr(u32::from(self.port)) as u32 & 0xffff
        } else {
            let a = w.get(self.hi.0, self.hi.1) ^ w.get(self.lo.0, self.lo.1).rotate_left(32);
            (a.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as u32
        }
    }
}

/// One hash table: the variants of one shape.
#[derive(Debug, Clone, Copy)]
struct Table {
    shape: Shape,
    def: KeyDef,
    /// Words per key (0: one key, kept in `single`, no slots).
    words: u32,
    seed: u64,
    /// Earliest rule in the table.
    min_rule: u32,
    /// Its slots: `slots[off..]`, `size_mask + 1` of `1 + words` words each.
    off: u32,
    size_mask: u32,
    /// Slots a probe reads at most.
    reads: u32,
    /// The payload of the one key when `words` is 0.
    single: u32,
    needs_ports: bool,
    filter: Filter,
    /// A port table (see [`PORT_TABLE`]): the packet's ports word shifted
    /// right by `port` (16 for the source port) is its key; its blocks'
    /// offsets in `pays` are `blocks[off..off + PORT_BLOCKS]`.
    is_ports: bool,
    port: u8,
    /// Variants in the table (while building).
    vars: u32,
    /// Its variants are tested one by one instead: `flat[flats]`.
    flats: Option<Span>,
}

impl Table {
    /// A port table whose payload is the rule: the packet's port alone
    /// answers it (see [`Direct`]).
    fn port_alone(&self) -> bool {
        self.is_ports && self.needs_ports && self.shape.res == RES_RULE
    }
}

/// A port box: one direction of a rule with both port ranges.
#[derive(Debug, Clone, Copy)]
struct PortBox {
    sport: PortRange,
    dport: PortRange,
    rule: u32,
}

/// What one lookup did (for tests and benchmarks).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Tables probed (hashed, or the one key of a keyless table read).
    pub tables: u32,
    /// Slots read in those probes.
    pub slots: u32,
    /// Steps of interval searches.
    pub steps: u32,
    /// Port boxes tried.
    pub boxes: u32,
    /// Flat tests tried (a small set's, or small shapes').
    pub flats: u32,
    /// Tables skipped by their prefilter.
    pub filtered: u32,
    /// Tables and flat tests skipped by their bucket's shared prefilters.
    pub skipped: u32,
    /// The most slots one probe read.
    pub probe_slots: u32,
    /// The most interval-search steps one probe took.
    pub probe_steps: u32,
    /// The most port boxes one probe tried.
    pub probe_boxes: u32,
    /// The current probe's slots, steps and boxes.
    this: [u32; 3],
}

/// Counts a lookup's work; the datapath's `()` counts nothing.
trait Count {
    /// Whether the buckets' shared prefilters are used.
    const MASKS: bool = true;
    fn table(&mut self) {}
    fn slot(&mut self) {}
    fn steps(&mut self, _n: u32) {}
    fn boxes(&mut self, _n: u32) {}
    fn flat(&mut self) {}
    fn filtered(&mut self) {}
    /// Of `n` entries, those not in `m` skipped.
    fn skipped(&mut self, _n: usize, _m: u64) {}
}

impl Count for () {}

/// A lookup that ignores the shared prefilters (for tests: it must find
/// what a lookup finds).
struct Unmasked;

impl Count for Unmasked {
    const MASKS: bool = false;
}

impl Count for Cost {
    fn table(&mut self) {
        self.tables += 1;
        self.this = [0; 3];
    }
    fn slot(&mut self) {
        self.slots += 1;
        self.this[0] += 1;
        self.probe_slots = self.probe_slots.max(self.this[0]);
    }
    fn steps(&mut self, n: u32) {
        self.steps += n;
        self.this[1] += n;
        self.probe_steps = self.probe_steps.max(self.this[1]);
    }
    fn boxes(&mut self, n: u32) {
        self.boxes += n;
        self.this[2] += n;
        self.probe_boxes = self.probe_boxes.max(self.this[2]);
    }
    fn flat(&mut self) {
        self.flats += 1;
    }
    fn filtered(&mut self) {
        self.filtered += 1;
    }
    fn skipped(&mut self, n: usize, m: u64) {
        self.skipped += n.min(64) as u32 - m.count_ones();
    }
}

/// A compiled rule set.
pub struct Classifier<A: Alloc> {
    /// Flat tests: a small set's, in rule order, or a larger set's small
    /// shapes'.
    flat: A::Buf<Flat>,
    tables: A::Buf<Table>,
    /// Bucket of (family, protocol): `bucket_of[v6 << 8 | proto]` (on the
    /// heap: the classifier is moved by value while a set is built, on the
    /// kernel stack).
    bucket_of: A::Buf<u16>,
    /// Each bucket's tables and flat tests (`FLAT | index`): `order[span]`,
    /// by earliest rule.
    buckets: A::Buf<Bucket>,
    order: A::Buf<u32>,
    /// The buckets' shared prefilters.
    masks: A::Buf<u64>,
    /// Every table's slots: a word `tag << 32 | payload`, then the key.
    slots: A::Buf<u64>,
    /// Payloads of interval and box keys: runs of `segs`, `segs6`, `boxes`.
    spans: A::Buf<Span>,
    segs: A::Buf<Seg>,
    segs6: A::Buf<Seg6>,
    boxes: A::Buf<PortBox>,
    /// The prefilters' bits.
    bits: A::Buf<u64>,
    /// Port tables: each table's [`PORT_BLOCKS`] block offsets (EMPTY: no
    /// port in it), then the payloads of its blocks, [`PORT_BLOCK`] each.
    pays: A::Buf<u32>,
    rules: usize,
    needs_ports: bool,
    /// A small set whose every rule direction names only the family, the
    /// protocol and exact ports: its tests as masked compares of a
    /// packet's [`Head`], in rule order, then [`HeadTest::END`]s (all of
    /// them for any other set). Kept in the classifier itself: no pointer
    /// to follow, and the last entry an end: no bound to check.
    heads: [HeadTest; 2 * LINEAR_MAX + 1],
}

/// One rule direction as a masked compare of a [`Head`].
#[derive(Debug, Clone, Copy)]
struct HeadTest {
    mask: u64,
    value: u64,
    rule: u32,
}

impl HeadTest {
    /// Matches every head, and names no rule: where a lookup ends.
    const END: HeadTest = HeadTest {
        mask: 0,
        value: 0,
        rule: NONE,
    };
}

/// Sorted insertion of `x` among the smallest values kept in `keep[..*n]`
/// (at most `keep.len()` of them).
fn keep_smallest(keep: &mut [u32], n: &mut usize, x: u32) {
    let cap = keep.len();
    let mut i = *n;
    if i >= cap {
        match keep.last() {
            Some(&last) if x < last => i = cap - 1,
            _ => return,
        }
    } else {
        *n += 1;
    }
    while i > 0 && keep[i - 1] > x {
        keep[i] = keep[i - 1];
        i -= 1;
    }
    keep[i] = x;
}

/// Sets bits `lo..=hi` of a bitmap.
fn set_bits(bits: &mut [u64], lo: usize, hi: usize) {
    let mut i = lo;
    while i <= hi {
        let Some(w) = bits.get_mut(i / 64) else {
            return;
        };
        // On a word boundary (not `is_multiple_of`: newer than the kernel's MSRV).
        if (i & 63) == 0 && i + 63 <= hi {
            *w = u64::MAX;
            i += 64;
        } else {
            *w |= 1 << (i % 64);
            i += 1;
        }
    }
}

/// A buffer holding exactly `b`'s values (growth by doubling leaves up to
/// half a buffer unused).
fn tight<A: Alloc, T: Copy>(b: &A::Buf<T>) -> Result<A::Buf<T>, NoMem> {
    let mut t = A::Buf::<T>::with_capacity(b.len())?;
    for &v in b.iter() {
        t.push(v)?;
    }
    Ok(t)
}

/// The limit error for `kind` in the packets of `shape`'s table, past
/// `max` with `count`, from rule `index`.
fn limit(
    rules: &[Rule],
    kind: LimitKind,
    shape: &Shape,
    count: usize,
    max: usize,
    index: u32,
) -> BuildError {
    BuildError::Limit(Limit {
        kind,
        family: shape.family(),
        proto: u8::try_from(shape.proto).ok(),
        count,
        max,
        index,
        rule: rules.get(index as usize).copied().unwrap_or(NO_RULE),
    })
}

impl<A: Alloc> Classifier<A> {
    /// An empty classifier (matches nothing).
    pub fn empty() -> Result<Self, NoMem> {
        Self::new(0)
    }

    fn new(rules: usize) -> Result<Self, NoMem> {
        Ok(Classifier {
            flat: A::Buf::with_capacity(0)?,
            tables: A::Buf::with_capacity(0)?,
            bucket_of: A::Buf::with_capacity(0)?,
            buckets: A::Buf::with_capacity(0)?,
            order: A::Buf::with_capacity(0)?,
            masks: A::Buf::with_capacity(0)?,
            slots: A::Buf::with_capacity(0)?,
            spans: A::Buf::with_capacity(0)?,
            segs: A::Buf::with_capacity(0)?,
            segs6: A::Buf::with_capacity(0)?,
            boxes: A::Buf::with_capacity(0)?,
            bits: A::Buf::with_capacity(0)?,
            pays: A::Buf::with_capacity(0)?,
            rules,
            needs_ports: false,
            heads: [HeadTest::END; 2 * LINEAR_MAX + 1],
        })
    }

    /// Compiles `rules`; a lookup returns indices into this slice. Fails
    /// with [`BuildError::Limit`] if the set would go past a bound on the
    /// work per packet, [`BuildError::NoMem`] without memory.
    pub fn build(rules: &[Rule]) -> Result<Self, BuildError> {
        let mut c = Self::new(rules.len())?;
        c.needs_ports = rules.iter().any(Rule::needs_ports);
        if rules.len() <= LINEAR_MAX {
            c.flat = A::Buf::with_capacity(2 * rules.len())?;
            for (i, r) in rules.iter().enumerate() {
                c.flat.push(Flat::new(r, i as u32))?;
                let rev = r.reversed();
                if !r.oneway && rev != *r {
                    c.flat.push(Flat::new(&rev, i as u32))?;
                }
            }
            if c.flat.iter().all(|f| f.rest == 0) {
                for (t, f) in c.heads.iter_mut().zip(c.flat.iter()) {
                    *t = HeadTest {
                        mask: f.mask,
                        value: f.value,
                        rule: f.rule,
                    };
                }
            }
            return Ok(c);
        }
        let vars = variants::<A>(rules)?;
        c.plan_tables(rules, &vars)?;
        c.plan_flats(rules, &vars)?;
        c.plan_buckets(rules)?;
        c.plan_masks(rules, &vars)?;
        c.fill_tables(rules, &vars)?;
        c.plan_direct();
        c.order = tight::<A, u32>(&c.order)?;
        c.spans = tight::<A, Span>(&c.spans)?;
        c.segs = tight::<A, Seg>(&c.segs)?;
        c.segs6 = tight::<A, Seg6>(&c.segs6)?;
        c.boxes = tight::<A, PortBox>(&c.boxes)?;
        c.pays = tight::<A, u32>(&c.pays)?;
        Ok(c)
    }

    /// One table per run of one shape in `vars` (sorted), its prefilter
    /// planned, without slots.
    fn plan_tables(&mut self, rules: &[Rule], vars: &[Var]) -> Result<(), NoMem> {
        let mut n = 0;
        let mut t0 = 0;
        while t0 < vars.len() {
            let mut t1 = t0 + 1;
            while t1 < vars.len() && vars[t1].shape == vars[t0].shape {
                t1 += 1;
            }
            n += 1;
            t0 = t1;
        }
        self.tables = A::Buf::with_capacity(n)?;
        let mut t0 = 0;
        while t0 < vars.len() {
            let shape = vars[t0].shape;
            let def = shape.key_def();
            let mut t1 = t0;
            let mut min_rule = NONE;
            while t1 < vars.len() && vars[t1].shape == shape {
                min_rule = min_rule.min(vars[t1].rule);
                t1 += 1;
            }
            let source = shape.hashed == H_SPORT;
            let is_ports = shape.slen == 0
                && shape.dlen == 0
                && (shape.hashed == H_DPORT || source)
                && t1 - t0 >= PORT_TABLE
                && port_table_pays::<A>(rules, &vars[t0..t1], source);
            let filter = if is_ports {
                Filter::default()
            } else {
                Self::plan_filter(rules, &shape, &vars[t0..t1])
            };
            self.tables.push(Table {
                shape,
                def,
                words: def.words(),
                seed: 0,
                min_rule,
                off: 0,
                size_mask: 0,
                reads: 0,
                single: EMPTY,
                needs_ports: shape.needs_ports(),
                filter,
                is_ports,
                port: if shape.hashed == H_SPORT { 16 } else { 0 },
                vars: (t1 - t0) as u32,
                flats: None,
            })?;
            t0 = t1;
        }
        Ok(())
    }

    /// The prefilter of a table of `shape` holding `vars` (its bits not
    /// placed yet). It looks at an exact port if the table hashes one, else
    /// at the field its intervals or boxes resolve, else at a hashed prefix;
    /// a table with one key and nothing left to resolve has none.
    fn plan_filter(rules: &[Rule], shape: &Shape, vars: &[Var]) -> Filter {
        // (kind, source field)
        let (kind, source) = if shape.hashed & H_DPORT != 0 {
            (F_PORT, false)
        } else if shape.hashed & H_SPORT != 0 {
            (F_PORT, true)
        } else {
            match shape.res {
                RES_SPORT | RES_BOXES => (F_PORT, true),
                RES_DPORT => (F_PORT, false),
                RES_SADDR => (F_ADDR, true),
                RES_DADDR => (F_ADDR, false),
                _ if shape.slen > 0 => (F_ADDR, true),
                _ if shape.dlen > 0 => (F_ADDR, false),
                _ => (F_NONE, false),
            }
        };
        if kind == F_NONE {
            return Filter::default();
        }
        // An address's value: the bits of the table's shortest prefix.
        let mut shortest = u8::MAX;
        if kind == F_ADDR {
            for v in vars {
                A::relax();
                let d = v.dir(rules);
                shortest = shortest.min(len_of(if source { d.saddr } else { d.daddr }));
            }
        }
        let [hi, lo] = prefix_words(addr_field(source), shape.v6(), shortest);
        let want = (vars.len() as u64 * 16).next_power_of_two();
        let log2 = want.trailing_zeros().clamp(9, 16);
        Filter {
            kind,
            port: if source { 16 } else { 0 },
            shift: (16 - log2) as u8,
            hi,
            lo,
            off: 0,
            words: (1u32 << log2) / 64,
        }
    }

    /// Marks the values of direction `d` in table `t`'s prefilter: a port
    /// range's, or its prefix's.
    fn mark(&mut self, t: &Table, d: &Rule) {
        let f = &t.filter;
        let (lo, hi) = match f.kind {
            F_NONE => return,
            F_PORT => {
                let p = port_of(d, f.port == 16);
                p.map_or((0, 0), |p| (u32::from(p.lo), u32::from(p.hi)))
            }
            _ => {
                let v = f.value(&Words::of(&fields_of(d)));
                (v, v)
            }
        };
        let off = f.off as usize;
        if let Some(bits) = self.bits.get_mut(off..off + f.words as usize) {
            set_bits(bits, (lo >> f.shift) as usize, (hi >> f.shift) as usize);
        }
    }

    /// Whether table `t`'s prefilter lets the packet of `w` through.
    #[inline]
    fn passes(&self, t: &Table, w: &Words) -> bool {
        let f = &t.filter;
        let i = f.value(w).wrapping_shr(u32::from(f.shift)) as usize;
        self.bits
            .get(f.off as usize + i / 64)
            .is_some_and(|b| b & (1 << (i % 64)) != 0)
    }

    /// Tables of at most [`SMALL_SHAPE`] variants become rule directions
    /// tested one by one (cheaper than a probe), smallest first, as long as
    /// no bucket gets more than [`MAX_FLAT`] of them.
    fn plan_flats(&mut self, rules: &[Rule], vars: &[Var]) -> Result<(), NoMem> {
        // Flat tests per (family, protocol or 256 for the rest).
        let mut load = filled::<A, u32>(0, 2 * 257)?;
        let mut small = A::Buf::<(u32, u32)>::with_capacity(0)?;
        for (i, t) in self.tables.iter().enumerate() {
            if t.vars as usize <= SMALL_SHAPE {
                small.push((t.vars, i as u32))?;
            }
        }
        sort::sort::<A, _>(&mut small);
        // Where each table's variants start in `vars`.
        let mut starts = A::Buf::<u32>::with_capacity(self.tables.len())?;
        let mut at = 0;
        for t in self.tables.iter() {
            starts.push(at)?;
            at += t.vars;
        }
        for &(n, ti) in small.iter() {
            let Some(t) = self.tables.get(ti as usize).copied() else {
                continue;
            };
            // The buckets it is in: its families' (every protocol's, if it
            // names none).
            let fams: &[usize] = match t.shape.fam {
                0 => &[0, 1],
                1 => &[0],
                _ => &[1],
            };
            let protos = if t.shape.proto == ANY_PROTO {
                0..257
            } else {
                let p = usize::from(t.shape.proto);
                p..p + 1
            };
            let fits = fams.iter().all(|f| {
                protos.clone().all(|p| {
                    load.get(f * 257 + p)
                        .is_some_and(|&l| (l + n) as usize <= MAX_FLAT)
                })
            });
            if !fits {
                continue;
            }
            for f in fams {
                for p in protos.clone() {
                    if let Some(l) = load.get_mut(f * 257 + p) {
                        *l += n;
                    }
                }
            }
            let off = self.flat.len() as u32;
            let first = starts.get(ti as usize).copied().unwrap_or(0) as usize;
            for v in vars.get(first..first + n as usize).unwrap_or(&[]) {
                self.flat.push(Flat::new(&v.dir(rules), v.rule))?;
            }
            if let Some(t) = self.tables.get_mut(ti as usize) {
                t.flats = Some(Span { off, len: n });
            }
        }
        Ok(())
    }

    /// The buckets: for each family, one for the protocols no rule names
    /// and one per protocol some rule names, each listing its tables by
    /// earliest rule. Fails if a bucket has more than [`MAX_TABLES`].
    fn plan_buckets(&mut self, rules: &[Rule]) -> Result<(), BuildError> {
        // Tables are sorted by (family, protocol): runs[fam * 257 + proto].
        let mut runs = filled::<A, Span>(Span::default(), 3 * 257)?;
        let mut i = 0;
        while i < self.tables.len() {
            let s = self.tables[i].shape;
            let mut j = i + 1;
            while j < self.tables.len()
                && (self.tables[j].shape.fam, self.tables[j].shape.proto) == (s.fam, s.proto)
            {
                j += 1;
            }
            if let Some(r) = runs.get_mut(usize::from(s.fam) * 257 + usize::from(s.proto)) {
                *r = Span {
                    off: i as u32,
                    len: (j - i) as u32,
                };
            }
            i = j;
        }
        let run =
            |fam: usize, proto: usize| runs.get(fam * 257 + proto).copied().unwrap_or_default();
        let parts = |fam: usize, proto: usize| {
            let own = |f| {
                if proto < 256 {
                    run(f, proto)
                } else {
                    Span::default()
                }
            };
            [run(0, 256), run(fam, 256), own(0), own(fam)]
        };
        // Check every bucket first: the error is the one whose first rule
        // past the bound comes first.
        let mut worst: Option<BuildError> = None;
        let mut worst_index = NONE;
        for fam in 1..3usize {
            // The bucket of every protocol first: its tables are in all.
            for proto in (256..=256).chain(0..256usize) {
                let p = parts(fam, proto);
                if proto < 256 && p[2].len + p[3].len == 0 {
                    continue;
                }
                let hashed = |part: &Span| {
                    self.tables
                        .get(part.range())
                        .unwrap_or(&[])
                        .iter()
                        .filter(|t| t.flats.is_none())
                };
                let count: usize = p.iter().map(|part| hashed(part).count()).sum();
                if count <= MAX_TABLES {
                    continue;
                }
                let mut keep = [0u32; MAX_TABLES + 1];
                let mut n = 0;
                for part in &p {
                    for t in hashed(part) {
                        keep_smallest(&mut keep, &mut n, t.min_rule);
                    }
                }
                let index = keep[MAX_TABLES];
                if index < worst_index {
                    let shape = Shape {
                        fam: fam as u8,
                        proto: proto as u16,
                        hashed: 0,
                        res: 0,
                        slen: 0,
                        dlen: 0,
                    };
                    worst = Some(limit(
                        rules,
                        LimitKind::Tables,
                        &shape,
                        count,
                        MAX_TABLES,
                        index,
                    ));
                    worst_index = index;
                }
            }
        }
        if let Some(e) = worst {
            return Err(e);
        }
        self.bucket_of = filled::<A, u16>(0, 512)?;
        for fam in 1..3usize {
            let generic = self.push_bucket(&parts(fam, 256), fam == 2)?;
            for proto in 0..256usize {
                let p = parts(fam, proto);
                let b = if p[2].len + p[3].len == 0 {
                    generic
                } else {
                    self.push_bucket(&p, fam == 2)?
                };
                if let Some(x) = self.bucket_of.get_mut(((fam - 1) << 8) | proto) {
                    *x = b;
                }
            }
        }
        Ok(())
    }

    /// A bucket of the tables in `parts` (of the variants of those tested
    /// one by one), by earliest rule.
    fn push_bucket(&mut self, parts: &[Span], v6: bool) -> Result<u16, NoMem> {
        let off = self.order.len();
        for p in parts {
            for ti in p.range() {
                match self.tables.get(ti).and_then(|t| t.flats) {
                    Some(f) => {
                        for i in f.range() {
                            self.order.push(FLAT | i as u32)?;
                        }
                    }
                    None => self.order.push(ti as u32)?,
                }
            }
        }
        let (tables, flat) = (&self.tables, &self.flat);
        let key = |&e: &u32| {
            if e & FLAT != 0 {
                flat.get((e & !FLAT) as usize).map_or(NONE, |f| f.rule)
            } else {
                tables.get(e as usize).map_or(NONE, |t| t.min_rule)
            }
        };
        sort::sort_by::<A, _, _>(&mut self.order[off..], |a, b| {
            key(a).cmp(&key(b)).then(a.cmp(b))
        });
        let n = self.order.len() - off;
        let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
        let mut flats = 0;
        for (i, &e) in self.order[off..].iter().enumerate().take(64) {
            if e & FLAT != 0 {
                flats |= 1 << i;
            }
        }
        let b = self.buckets.len() as u16;
        self.buckets.push(Bucket {
            list: Span {
                off: off as u32,
                len: (self.order.len() - off) as u32,
            },
            v6,
            all,
            flats,
            ..Bucket::default()
        })?;
        Ok(b)
    }

    /// Every bucket's entries answered by the port alone (see
    /// [`Bucket::direct`]), once the port tables are placed.
    fn plan_direct(&mut self) {
        for b in self.buckets.iter_mut() {
            let list = self.order.get(b.list.range()).unwrap_or(&[]);
            let mut n = 0;
            for (i, &e) in list.iter().enumerate().take(64) {
                let t = (e & FLAT == 0)
                    .then(|| self.tables.get(e as usize))
                    .flatten();
                if let (Some(t), Some(d)) = (t.filter(|t| t.port_alone()), b.port_alone.get_mut(n))
                {
                    *d = Direct {
                        bit: 1 << i,
                        off: t.off,
                        port: t.port,
                    };
                    b.direct |= 1 << i;
                    n += 1;
                }
            }
        }
    }

    /// Every bucket's shared prefilters (see [`Bucket`]) if a field tells
    /// its entries apart, but for a bucket of at most [`DIRECT`] entries
    /// answered by the port alone; the buckets with the most tables first,
    /// while they fit in [`MASK_BYTES`] plus [`MASK_BYTES_PER_VAR`] a
    /// variant (a bucket past that has none: slower, never wrong). Each
    /// entry's cells are worked out once, not once per bucket it is in.
    fn plan_masks(&mut self, rules: &[Rule], vars: &[Var]) -> Result<(), NoMem> {
        // Entries: table `ti` is `ti`, flat test `fi` is `tables + fi`.
        let nt = self.tables.len();
        let ne = nt + self.flat.len();
        let mut first = filled::<A, (u32, u32)>((0, 0), ne)?;
        let mut at = 0;
        for (ti, t) in self.tables.iter().enumerate() {
            if let Some(x) = first.get_mut(ti) {
                *x = (at, t.vars);
            }
            if let Some(f) = t.flats {
                for j in 0..f.len {
                    if let Some(x) = first.get_mut(nt + (f.off + j) as usize) {
                        *x = (at + j, 1);
                    }
                }
            }
            at += t.vars;
        }
        let dirs = |e: usize| {
            let (v, n) = first.get(e).copied().unwrap_or((0, 0));
            vars.get(v as usize..(v + n) as usize)
                .unwrap_or(&[])
                .iter()
                .map(|v| v.dir(rules))
        };
        // Per entry: its port cells, and its shortest source and
        // destination prefixes that count (`u8::MAX`: none).
        let mut ports = filled::<A, [CellSet; 2]>([[0; 4]; 2], ne)?;
        let mut short = filled::<A, [u8; 2]>([u8::MAX; 2], ne)?;
        for e in 0..ne {
            A::relax();
            let mut p = [[0u64; 4]; 2];
            let mut sh = [u8::MAX; 2];
            for d in dirs(e) {
                A::relax();
                for (set, r) in p.iter_mut().zip([d.sport, d.dport]) {
                    if !is_full(set) {
                        let (lo, hi) = port_cells(r);
                        set_bits(set, lo, hi);
                    }
                }
                let floor = if d.family == Family::V6 {
                    2 * MIN_CELL_PREFIX
                } else {
                    MIN_CELL_PREFIX
                };
                for (x, a) in sh.iter_mut().zip([d.saddr, d.daddr]) {
                    if let Some(a) = a.filter(|a| a.len >= floor) {
                        *x = (*x).min(a.len);
                    }
                }
            }
            if let (Some(x), Some(y)) = (ports.get_mut(e), short.get_mut(e)) {
                (*x, *y) = (p, sh);
            }
        }
        // Per entry and address field: its cells for the last mask length
        // asked (0: none yet).
        let mut addrs = filled::<A, [(u8, CellSet); 2]>([(0, [0; 4]); 2], ne)?;
        // The buckets worth it, most tables first.
        let mut todo = A::Buf::<(u32, u32, u32)>::with_capacity(0)?;
        for (bi, b) in self.buckets.iter().enumerate() {
            let list = self.order.get(b.list.range()).unwrap_or(&[]);
            // A bucket whose entries are all answered by the port alone
            // (`plan_direct`) probes them straight away: cells would cost
            // about as much as the probes they spare.
            let alone = |&e: &u32| {
                e & FLAT == 0 && self.tables.get(e as usize).is_some_and(Table::port_alone)
            };
            if list.len() >= 2 && !(list.len() <= DIRECT && list.iter().all(alone)) {
                let tables = list.iter().filter(|&&e| e & FLAT == 0).count() as u32;
                todo.push((u32::MAX - tables, u32::MAX - list.len() as u32, bi as u32))?;
            }
        }
        sort::sort::<A, _>(&mut todo);
        let budget = (MASK_BYTES + MASK_BYTES_PER_VAR * vars.len()) / size_of::<u64>();
        let mut cells = filled::<A, u64>(0, CELLS)?;
        for &(_, _, bi) in todo.iter() {
            if self.masks.len() + FIELDS * CELLS > budget {
                // Not one more bucket's fits.
                break;
            }
            let bi = bi as usize;
            let Some(mut b) = self.buckets.get(bi).copied() else {
                continue;
            };
            let list = self.order.get(b.list.range()).unwrap_or(&[]);
            let entry = |e: u32| {
                if e & FLAT != 0 {
                    nt + (e & !FLAT) as usize
                } else {
                    e as usize
                }
            };
            let width = if b.v6 { 128 } else { 32 };
            for (f, m) in [(0, &mut b.smask), (1, &mut b.dmask)] {
                let len = list
                    .iter()
                    .map(|&e| short.get(entry(e)).map_or(u8::MAX, |s| s[f]))
                    .min()
                    .unwrap_or(u8::MAX);
                *m = prefix_mask(b.v6, len.min(width));
            }
            // Every field's masks, kept if they tell the entries apart.
            let all = b.all;
            let mut kept = 0;
            let off = self.masks.len();
            for field in [M_SPORT, M_DPORT, M_SADDR, M_DADDR] {
                cells.fill(0);
                let mut always = 0u64;
                for (i, &e) in list.iter().enumerate() {
                    let e = entry(e);
                    let set = match field {
                        M_SPORT | M_DPORT => {
                            let f = usize::from(field == M_DPORT);
                            ports.get(e).map_or([u64::MAX; 4], |p| p[f])
                        }
                        _ => {
                            let f = usize::from(field == M_DADDR);
                            let mask = if f == 0 { b.smask } else { b.dmask };
                            let len = mask.count_ones() as u8;
                            match addrs.get_mut(e) {
                                Some(a) if a[f].0 == len + 1 => a[f].1,
                                Some(a) => {
                                    let mut set = [0u64; 4];
                                    for d in dirs(e) {
                                        A::relax();
                                        let (lo, hi) = addr_cells(
                                            if f == 0 { d.saddr } else { d.daddr },
                                            mask,
                                        );
                                        set_bits(&mut set, lo, hi);
                                        if is_full(&set) {
                                            break;
                                        }
                                    }
                                    a[f] = (len + 1, set);
                                    set
                                }
                                None => [u64::MAX; 4],
                            }
                        }
                    };
                    if is_full(&set) {
                        always |= 1 << i;
                        continue;
                    }
                    for (w, &bits) in set.iter().enumerate() {
                        let mut bits = bits;
                        while bits != 0 {
                            if let Some(c) = cells.get_mut(w * 64 + bits.trailing_zeros() as usize)
                            {
                                *c |= 1 << i;
                            }
                            bits &= bits - 1;
                        }
                    }
                }
                // A field that does not tell the entries apart lets them
                // all through.
                let tells = !(always == all || cells.iter().all(|&c| c | always == all));
                if tells {
                    b.fields |= field;
                    kept += 1;
                }
                for &c in cells.iter() {
                    self.masks.push(if tells { c | always } else { u64::MAX })?;
                }
            }
            if kept > 0 {
                b.masks = off as u32;
                self.buckets[bi] = b;
            } else {
                // No field tells its entries apart: it has none.
                self.masks.truncate(off);
            }
        }
        self.masks = tight::<A, u64>(&self.masks)?;
        Ok(())
    }

    /// Every table's prefilter, keys and payloads.
    fn fill_tables(&mut self, rules: &[Rule], vars: &[Var]) -> Result<(), BuildError> {
        // The prefilters of the tables that stay tables.
        let mut words = 0;
        for t in self.tables.iter_mut() {
            if t.flats.is_some() {
                t.filter = Filter::default();
            }
            t.filter.off = words;
            words += t.filter.words;
        }
        self.bits = filled::<A, u64>(0, words as usize)?;
        let mut painter = (Painter::<A, u64>::new()?, Painter::<A, u128>::new()?);
        // Per key of the table being filled: its first variant, payload.
        let mut keys = A::Buf::<(u32, u32)>::with_capacity(0)?;
        let mut t0 = 0;
        for ti in 0..self.tables.len() {
            let t = self.tables[ti];
            let t1 = t0 + t.vars as usize;
            if t.flats.is_some() {
                t0 = t1;
                continue;
            }
            let table = vars.get(t0..t1).unwrap_or(&[]);
            for v in table {
                self.mark(&t, &v.dir(rules));
                A::relax();
            }
            keys.clear();
            let mut k0 = 0;
            while k0 < table.len() {
                let mut k1 = k0 + 1;
                if t.words == 0 {
                    k1 = table.len();
                } else {
                    let kw = table[k0].key(rules, 0);
                    while k1 < table.len()
                        && table[k1].hash == table[k0].hash
                        && table[k1].key(rules, 0).words() == kw.words()
                    {
                        k1 += 1;
                    }
                }
                let payload = self.payload(rules, &table[k0..k1], &mut painter)?;
                keys.push(((t0 + k0) as u32, payload))?;
                k0 = k1;
            }
            if t.is_ports {
                self.place_ports(rules, vars, ti, &keys)?;
            } else {
                self.place(rules, vars, ti, &keys)?;
            }
            t0 = t1;
        }
        Ok(())
    }

    /// The payload of one key's variants (in rule order): the earliest
    /// rule, or a run of intervals or boxes.
    fn payload(
        &mut self,
        rules: &[Rule],
        group: &[Var],
        painter: &mut (Painter<A, u64>, Painter<A, u128>),
    ) -> Result<u32, BuildError> {
        let Some(first) = group.first() else {
            return Ok(EMPTY);
        };
        let shape = first.shape;
        let span = self.spans.len() as u32;
        match shape.res {
            RES_RULE => return Ok(first.rule),
            RES_BOXES => {
                if let Some(v) = group.get(MAX_BOXES) {
                    return Err(limit(
                        rules,
                        LimitKind::Boxes,
                        &shape,
                        group.len(),
                        MAX_BOXES,
                        v.rule,
                    ));
                }
                let off = self.boxes.len() as u32;
                let any = PortRange {
                    lo: 0,
                    hi: u16::MAX,
                };
                for v in group {
                    let d = v.dir(rules);
                    self.boxes.push(PortBox {
                        sport: d.sport.unwrap_or(any),
                        dport: d.dport.unwrap_or(any),
                        rule: v.rule,
                    })?;
                }
                self.spans.push(Span {
                    off,
                    len: group.len() as u32,
                })?;
                return Ok(span);
            }
            _ => {}
        }
        // One field resolved by intervals: ports, or a prefix's addresses.
        let v6 = shape.v6();
        let width = if v6 { u128::MAX } else { u128::from(u32::MAX) };
        let range = |i: usize| -> (u128, u128, u32) {
            let Some(v) = group.get(i) else {
                return (0, 0, NONE);
            };
            let d = v.dir(rules);
            let port = |p: Option<PortRange>| {
                let p = p.unwrap_or(PortRange { lo: 0, hi: 0 });
                (u128::from(p.lo), u128::from(p.hi), v.rule)
            };
            let addr = |p: Option<Prefix>| {
                let p = p.unwrap_or(Prefix { addr: 0, len: 0 });
                let host = !prefix_mask(v6, p.len) & width;
                (p.addr, p.addr | host, v.rule)
            };
            match shape.res {
                RES_SPORT => port(d.sport),
                RES_DPORT => port(d.dport),
                RES_SADDR => addr(d.saddr),
                _ => addr(d.daddr),
            }
        };
        let wide = v6 && matches!(shape.res, RES_SADDR | RES_DADDR);
        let top = match shape.res {
            RES_SPORT | RES_DPORT => u128::from(u16::MAX),
            _ => width,
        };
        let (segs, segs6) = (&mut self.segs, &mut self.segs6);
        let off = if wide { segs6.len() } else { segs.len() } as u32;
        if wide {
            painter.1.paint(group.len(), top, range, |start, rule| {
                segs6.push(Seg6 {
                    hi: (start >> 64) as u64,
                    lo: start as u64,
                    rule,
                })
            })?;
        } else {
            let narrow = |i| {
                let (lo, hi, rule) = range(i);
                (lo as u64, hi as u64, rule)
            };
            painter
                .0
                .paint(group.len(), top as u64, narrow, |start, rule| {
                    segs.push(Seg {
                        start: start as u32,
                        rule,
                    })
                })?;
        }
        let end = if wide { segs6.len() } else { segs.len() } as u32;
        self.spans.push(Span {
            off,
            len: end - off,
        })?;
        Ok(span)
    }

    /// Puts table `ti`'s keys (`keys`: first variant, payload) in its
    /// slots: Robin Hood insertion, at most half full; the size doubles and
    /// the seed changes until no probe needs more than [`MAX_SLOTS`] reads.
    fn place(
        &mut self,
        rules: &[Rule],
        vars: &[Var],
        ti: usize,
        keys: &[(u32, u32)],
    ) -> Result<(), BuildError> {
        let Some(mut t) = self.tables.get(ti).copied() else {
            return Ok(());
        };
        if t.words == 0 {
            // One key (no field hashed): no slots.
            t.single = keys.first().map_or(EMPTY, |k| k.1);
            t.reads = 1;
            self.tables[ti] = t;
            return Ok(());
        }
        let stride = 1 + t.words as usize;
        let base = (keys.len() * 2).next_power_of_two().max(2);
        let mut worst = 0;
        for attempt in 0..4u32 {
            let size = base << attempt.min(2);
            let seed = u64::from(attempt).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let off = self.slots.len();
            for _ in 0..size * stride {
                self.slots.push(u64::MAX)?;
            }
            let mask = (size - 1) as u32;
            for &(v, payload) in keys {
                A::relax();
                let Some(var) = vars.get(v as usize) else {
                    continue;
                };
                let key = var.key(rules, seed);
                let mut item = [0u64; 1 + MAX_WORDS];
                item[0] = (u64::from(key.hash) << 32) | u64::from(payload);
                // Element by element: `copy_from_slice`'s length check ends
                // in a panic path objtool cannot follow.
                for (d, w) in item[1..].iter_mut().zip(key.words()) {
                    *d = *w;
                }
                let mut i = key.hash & mask;
                let mut dist = 0;
                loop {
                    let at = off + i as usize * stride;
                    let slot = &mut self.slots[at..at + stride];
                    if slot[0] as u32 == EMPTY {
                        for (d, w) in slot.iter_mut().zip(&item) {
                            *d = *w;
                        }
                        break;
                    }
                    let home = ((slot[0] >> 32) as u32) & mask;
                    let theirs = i.wrapping_sub(home) & mask;
                    if theirs < dist {
                        for (a, b) in slot.iter_mut().zip(item.iter_mut()) {
                            core::mem::swap(a, b);
                        }
                        dist = theirs;
                    }
                    i = (i + 1) & mask;
                    dist += 1;
                }
            }
            // The longest probe: one more than the farthest any key sits
            // from its home slot.
            let mut far = 0;
            for i in 0..size {
                if i % 1024 == 0 {
                    A::relax();
                }
                let w0 = self.slots[off + i * stride];
                if w0 as u32 != EMPTY {
                    let home = ((w0 >> 32) as u32) & mask;
                    far = far.max((i as u32).wrapping_sub(home) & mask);
                }
            }
            if (far as usize) < MAX_SLOTS {
                t.seed = seed;
                t.off = off as u32;
                t.size_mask = mask;
                t.reads = far + 1;
                self.tables[ti] = t;
                return Ok(());
            }
            worst = far + 1;
            self.slots.truncate(off);
        }
        Err(limit(
            rules,
            LimitKind::Slots,
            &t.shape,
            worst as usize,
            MAX_SLOTS,
            t.min_rule,
        ))
    }

    /// Puts port table `ti`'s keys (`keys`: first variant, payload) in its
    /// blocks.
    fn place_ports(
        &mut self,
        rules: &[Rule],
        vars: &[Var],
        ti: usize,
        keys: &[(u32, u32)],
    ) -> Result<(), NoMem> {
        let Some(mut t) = self.tables.get(ti).copied() else {
            return Ok(());
        };
        // Offsets in `pays` are u32 far below EMPTY, an empty block's offset,
        // which must stay past the buffer's end: a buffer of 2^31 entries is
        // refused as memory (8 GiB; 65,536 rules take a few MiB).
        let offset = |len: usize| {
            u32::try_from(len)
                .ok()
                .filter(|&o| o < EMPTY / 2)
                .ok_or(NoMem)
        };
        t.off = offset(self.pays.len())?;
        t.reads = 1;
        self.tables[ti] = t;
        for _ in 0..PORT_BLOCKS {
            self.pays.push(EMPTY)?;
        }
        for &(v, payload) in keys {
            let d = vars.get(v as usize).map_or(NO_RULE, |v| v.dir(rules));
            let p = port_of(&d, t.port == 16);
            let p = p.map_or(0, |p| usize::from(p.lo));
            let at = t.off as usize + p / PORT_BLOCK;
            let Some(&b) = self.pays.get(at) else {
                continue;
            };
            let b = if b == EMPTY {
                let new = offset(self.pays.len())?;
                for _ in 0..PORT_BLOCK {
                    self.pays.push(EMPTY)?;
                }
                if let Some(x) = self.pays.get_mut(at) {
                    *x = new;
                }
                new
            } else {
                b
            };
            if let Some(x) = self.pays.get_mut(b as usize + p % PORT_BLOCK) {
                *x = payload;
            }
        }
        Ok(())
    }

    /// The payload of port `p` in the port table at `off` in `pays`, or
    /// EMPTY.
    #[inline]
    fn port_payload(&self, off: u32, p: u32) -> u32 {
        let p = p as usize;
        // An empty block's offset, EMPTY, is past every buffer: its
        // payload reads as EMPTY with no test of its own (in u64, and no
        // wider than `usize`, so nothing wraps on any target).
        let block = self.pays.get(off as usize + p / PORT_BLOCK).copied();
        block
            .and_then(|b| usize::try_from(u64::from(b) + (p % PORT_BLOCK) as u64).ok())
            .and_then(|i| self.pays.get(i))
            .copied()
            .unwrap_or(EMPTY)
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

    /// Number of hash tables (rule shapes, but for those whose few rules
    /// are tested one by one; 0 for a small set).
    pub fn tables(&self) -> usize {
        self.tables.iter().filter(|t| t.flats.is_none()).count()
    }

    /// Hash tables and rule directions tested one by one that a packet of
    /// this family and protocol may visit.
    pub fn bucket_size(&self, v6: bool, proto: u8) -> (usize, usize) {
        let list = self
            .bucket_of
            .get((usize::from(v6) << 8) | usize::from(proto))
            .and_then(|&b| self.buckets.get(usize::from(b)))
            .and_then(|s| self.order.get(s.list.range()))
            .unwrap_or(&[]);
        let flat = list.iter().filter(|&&e| e & FLAT != 0).count();
        (list.len() - flat, flat)
    }

    /// Entries of the bucket of this family and protocol answered by the
    /// port alone (at most [`DIRECT`]: looked up without the general loop).
    pub fn bucket_direct(&self, v6: bool, proto: u8) -> usize {
        self.bucket_of
            .get((usize::from(v6) << 8) | usize::from(proto))
            .and_then(|&b| self.buckets.get(usize::from(b)))
            .map_or(0, |b| b.direct.count_ones() as usize)
    }

    /// The most hash tables (at most [`MAX_TABLES`]) and the most rule
    /// directions tested one by one (at most [`MAX_FLAT`]) that any packet
    /// may visit.
    pub fn max_bucket_size(&self) -> (usize, usize) {
        let mut most = (0, 0);
        for b in self.buckets.iter() {
            let list = self.order.get(b.list.range()).unwrap_or(&[]);
            let flat = list.iter().filter(|&&e| e & FLAT != 0).count();
            most = (most.0.max(list.len() - flat), most.1.max(flat));
        }
        most
    }

    /// Bytes of the compiled structure (its buffers and itself).
    pub fn memory(&self) -> usize {
        size_of::<Self>()
            + self.flat.len() * size_of::<Flat>()
            + self.tables.len() * size_of::<Table>()
            + self.buckets.len() * size_of::<Bucket>()
            + self.bucket_of.len() * size_of::<u16>()
            + self.order.len() * size_of::<u32>()
            + self.masks.len() * size_of::<u64>()
            + self.slots.len() * size_of::<u64>()
            + self.spans.len() * size_of::<Span>()
            + self.segs.len() * size_of::<Seg>()
            + self.segs6.len() * size_of::<Seg6>()
            + self.boxes.len() * size_of::<PortBox>()
            + self.bits.len() * size_of::<u64>()
            + self.pays.len() * size_of::<u32>()
    }

    /// Whether a packet's [`Head`] is all [`lookup_head`](Self::lookup_head)
    /// needs: a small set whose rules name only the family, the protocol
    /// and exact ports.
    #[inline(always)]
    pub fn by_head(&self) -> bool {
        self.heads[0].rule != NONE
    }

    /// [`lookup`](Self::lookup) of a packet whose key has head `h`, in a set
    /// that is [`by_head`](Self::by_head) (none in any other).
    #[inline(always)]
    pub fn lookup_head(&self, h: Head) -> Option<u32> {
        let rule = self
            .heads
            .iter()
            .find(|t| h.0 & t.mask == t.value)
            .map_or(NONE, |t| t.rule);
        (rule != NONE).then_some(rule)
    }

    /// The earliest rule matching `k` in either of its directions, if any.
    #[inline(always)]
    pub fn lookup(&self, k: &PacketKey) -> Option<u32> {
        self.find(k, &mut ())
    }

    /// [`lookup`](Self::lookup) without the buckets' shared prefilters
    /// (every table and flat test of the packet's bucket visited, for
    /// tests: the prefilters may only skip what cannot match).
    pub fn lookup_unmasked(&self, k: &PacketKey) -> Option<u32> {
        self.find(k, &mut Unmasked)
    }

    /// [`lookup`](Self::lookup), and what it did.
    pub fn lookup_cost(&self, k: &PacketKey) -> (Option<u32>, Cost) {
        let mut c = Cost::default();
        let r = self.find(k, &mut c);
        (r, c)
    }

    #[inline(always)]
    fn find<C: Count>(&self, k: &PacketKey, c: &mut C) -> Option<u32> {
        if self.rules <= LINEAR_MAX {
            let best = self.find_flat(k, c);
            return (best != NONE).then_some(best);
        }
        // Each family its own copy (the hook knows the family: one of
        // them is left).
        let best = if k.v6 {
            self.find_in_tables::<C, true>(k, c)
        } else {
            self.find_in_tables::<C, false>(k, c)
        };
        (best != NONE).then_some(best)
    }

    /// A small set's lookup: its flat tests in rule order. NONE: no match.
    #[inline(always)]
    fn find_flat<C: Count>(&self, k: &PacketKey, c: &mut C) -> u32 {
        let h = k.head().0;
        for f in self.flat.iter() {
            c.flat();
            if f.matches(h, k) {
                return f.rule;
            }
        }
        NONE
    }

    /// [`find`](Self::find) in a set larger than [`LINEAR_MAX`] (out of
    /// line: the small sets' loop stays small where it is inlined). The
    /// packet's bucket's entries that its prefilters let through: first
    /// those answered by the port alone, here, then the others, if any, by
    /// [`find_rest`](Self::find_rest). Each is visited at most once, and
    /// the earliest rule found wins whatever the order. NONE: no match.
    #[inline(never)]
    fn find_in_tables<C: Count, const V6: bool>(&self, k: &PacketKey, c: &mut C) -> u32 {
        self.walk_tables::<C, V6, PacketKey>(k, c)
    }

    /// [`lookup`](Self::lookup) of packet `q`, read as the hook reads the
    /// usual one, in a set of at most [`LINEAR_MAX`] rules.
    #[inline(always)]
    pub fn lookup_quick_flat(&self, q: &Quick) -> Option<u32> {
        let best = self.find_flat(&q.key(), &mut ());
        (best != NONE).then_some(best)
    }

    /// [`lookup`](Self::lookup) of packet `q` of family `V6` (that of its
    /// head), read as the hook reads the usual one, in a set of more than
    /// [`LINEAR_MAX`] rules: the walk of the tables inlined into the caller
    /// (one copy: the hook's path for the usual packet).
    #[inline(always)]
    pub fn lookup_quick_tables<const V6: bool>(&self, q: &Quick) -> Option<u32> {
        let best = self.walk_tables::<(), V6, Quick>(q, &mut ());
        (best != NONE).then_some(best)
    }

    /// [`lookup_quick_flat`](Self::lookup_quick_flat) or
    /// [`lookup_quick_tables`](Self::lookup_quick_tables), by the set's
    /// size, with the walk out of line (tests).
    pub fn lookup_quick_outline(&self, q: &Quick) -> Option<u32> {
        let best = if self.rules <= LINEAR_MAX {
            self.find_flat(&q.key(), &mut ())
        } else if q.head.v6() {
            self.quick_tables::<true>(q)
        } else {
            self.quick_tables::<false>(q)
        };
        (best != NONE).then_some(best)
    }

    #[inline(never)]
    fn quick_tables<const V6: bool>(&self, q: &Quick) -> u32 {
        self.walk_tables::<(), V6, Quick>(q, &mut ())
    }

    /// The body of [`find_in_tables`](Self::find_in_tables), over what the
    /// packet is read as.
    #[inline(always)]
    fn walk_tables<C: Count, const V6: bool, P: Fields>(&self, k: &P, c: &mut C) -> u32 {
        let b = self
            .bucket_of
            .get((usize::from(V6) << 8) | usize::from(k.proto()));
        let Some(b) = b.and_then(|&b| self.buckets.get(usize::from(b))) else {
            return NONE;
        };
        let m = if C::MASKS {
            self.candidates::<V6, P>(b, k)
        } else {
            b.all
        };
        c.skipped(b.list.len as usize, m);
        let mut best = NONE;
        // Port tables need ports: without them they are skipped.
        if k.has_ports() {
            let ports = k.ports();
            for d in b.port_alone.iter() {
                if m & d.bit != 0 {
                    c.table();
                    c.slot();
                    let p = ports.wrapping_shr(u32::from(d.port)) & 0xffff;
                    best = best.min(self.port_payload(d.off, p));
                }
            }
        }
        let rest = m & !b.direct;
        if rest != 0 {
            best = self.find_rest(b, rest, k, best, c);
        }
        best
    }

    /// The earliest rule, before `best`, of the entries `m` of bucket `b`
    /// (not answered by the port alone) that `k` matches, else `best` (out
    /// of line: the usual packet never needs it).
    #[inline(never)]
    fn find_rest<C: Count, P: Fields>(
        &self,
        b: &Bucket,
        m: u64,
        k: &P,
        mut best: u32,
        c: &mut C,
    ) -> u32 {
        let Some(list) = self.order.get(b.list.range()) else {
            return best;
        };
        // The packet's whole key, once a test needs it.
        let mut key = None;
        // The flat tests (cheap), then the tables: each in the order of
        // their earliest rules, each loop ending at the first entry that
        // cannot be earlier than what is found. (A flat test is tried even
        // when a table holds an earlier rule: at most 32, a few
        // instructions each, against a table's probe.)
        let mut mf = m & b.flats;
        if mf != 0 {
            let h = k.head().0;
            while mf != 0 {
                let i = mf.trailing_zeros() as usize;
                mf &= mf - 1;
                let Some(f) = list
                    .get(i)
                    .and_then(|&e| self.flat.get((e & !FLAT) as usize))
                else {
                    break;
                };
                if f.rule >= best {
                    break;
                }
                c.flat();
                if f.matches_head(h) && (f.rest == 0 || flat_rest(f, whole(k, &mut key))) {
                    best = f.rule;
                }
            }
        }
        let mut mt = m & !b.flats;
        if mt != 0 {
            let ports = k.ports();
            // The packet's words, once a hash table needs them.
            let mut w = None;
            while mt != 0 {
                let i = mt.trailing_zeros() as usize;
                mt &= mt - 1;
                let Some(t) = list.get(i).and_then(|&e| self.tables.get(e as usize)) else {
                    break;
                };
                if t.min_rule >= best {
                    break;
                }
                if t.needs_ports && !k.has_ports() {
                    continue;
                }
                let p = if t.is_ports {
                    c.table();
                    c.slot();
                    self.port_payload(t.off, ports.wrapping_shr(u32::from(t.port)) & 0xffff)
                } else {
                    self.probe_hashed(t, whole(k, &mut key), &mut w, c)
                };
                if p != EMPTY {
                    best = best.min(self.resolve(t, p, whole(k, &mut key), best, c));
                }
            }
        }
        best
    }

    /// The entries of bucket `b` that `k` may match, by its shared
    /// prefilters: bit i for the i-th. (A bucket holds at most 40 entries,
    /// checked at compile time above: a 65th would never be visited.)
    #[inline]
    fn candidates<const V6: bool, P: Fields>(&self, b: &Bucket, k: &P) -> u64 {
        if b.fields == 0 {
            return b.all;
        }
        let at = b.masks as usize;
        let Some(cells) = self
            .masks
            .get(at..at + FIELDS * CELLS)
            .and_then(|c| <&[u64; FIELDS * CELLS]>::try_from(c).ok())
        else {
            return b.all;
        };
        let ports = k.ports();
        b.all
            & cells[usize::from((ports >> 24) as u8)]
            & cells[CELLS + usize::from((ports >> 8) as u8)]
            & cells[2 * CELLS + bucket_cell(V6, k.saddr(), b.smask)]
            & cells[3 * CELLS + bucket_cell(V6, k.daddr(), b.dmask)]
    }

    /// The payload of `k`'s key in hash table `t` if its prefilter lets
    /// `k` through, else EMPTY (out of line: the lookup's loop then keeps
    /// neither the packet's words nor the slots in registers).
    #[inline(never)]
    fn probe_hashed<C: Count>(
        &self,
        t: &Table,
        k: &PacketKey,
        w: &mut Option<Words>,
        c: &mut C,
    ) -> u32 {
        let w = w.get_or_insert_with(|| Words::of(k));
        if t.filter.kind != F_NONE && !self.passes(t, w) {
            c.filtered();
            return EMPTY;
        }
        c.table();
        self.probe(t, w, c)
    }

    /// The payload of `k`'s key in table `t`, or EMPTY.
    #[inline]
    fn probe<C: Count>(&self, t: &Table, w: &Words, c: &mut C) -> u32 {
        c.slot();
        if t.words == 0 {
            return t.single;
        }
        let tag = t.def.hash(t.seed, w);
        let stride = 1 + t.words as usize;
        let mut i = tag & t.size_mask;
        for n in 0..t.reads {
            if n > 0 {
                c.slot();
            }
            let at = t.off as usize + i as usize * stride;
            let Some(&w0) = self.slots.get(at) else {
                break;
            };
            if w0 as u32 == EMPTY {
                break;
            }
            if (w0 >> 32) as u32 == tag {
                if let Some(words) = self.slots.get(at + 1..at + stride) {
                    if t.def.is(w, words) {
                        return w0 as u32;
                    }
                }
            }
            i = (i + 1) & t.size_mask;
        }
        EMPTY
    }

    /// The earliest rule of payload `p` (of table `t`) matching `k`, or
    /// NONE; boxes are tried only while they could beat `best`.
    #[inline]
    fn resolve<C: Count>(&self, t: &Table, p: u32, k: &PacketKey, best: u32, c: &mut C) -> u32 {
        if t.shape.res == RES_RULE {
            return p;
        }
        self.resolve_in_payload(t, p, k, best, c)
    }

    /// [`resolve`](Self::resolve) of a payload naming more than a rule (out
    /// of line: a lookup's loop then holds fewer of the structure's
    /// buffers).
    #[inline(never)]
    fn resolve_in_payload<C: Count>(
        &self,
        t: &Table,
        p: u32,
        k: &PacketKey,
        best: u32,
        c: &mut C,
    ) -> u32 {
        let res = t.shape.res;
        let Some(span) = self.spans.get(p as usize) else {
            return NONE;
        };
        match res {
            RES_BOXES => {
                let boxes = self.boxes.get(span.range()).unwrap_or(&[]);
                for b in boxes {
                    if b.rule >= best {
                        break;
                    }
                    c.boxes(1);
                    if b.sport.contains(k.sport) && b.dport.contains(k.dport) {
                        return b.rule;
                    }
                }
                NONE
            }
            RES_SADDR | RES_DADDR if t.shape.v6() => {
                let segs = self.segs6.get(span.range()).unwrap_or(&[]);
                c.steps(intervals::steps(segs.len()));
                intervals::find6(segs, if res == RES_SADDR { k.saddr } else { k.daddr })
            }
            _ => {
                let segs = self.segs.get(span.range()).unwrap_or(&[]);
                c.steps(intervals::steps(segs.len()));
                let x = match res {
                    RES_SPORT => u32::from(k.sport),
                    RES_DPORT => u32::from(k.dport),
                    RES_SADDR => k.saddr as u32,
                    _ => k.daddr as u32,
                };
                intervals::find(segs, x)
            }
        }
    }
}

/// The cells (`port >> 8`) of a rule direction's port, all if it names none.
fn port_cells(p: Option<PortRange>) -> (usize, usize) {
    p.map_or((0, CELLS - 1), |p| {
        (usize::from(p.lo >> 8), usize::from(p.hi >> 8))
    })
}

/// The cell of an address: a hash of its bits in `mask`.
#[inline]
fn addr_cell(a: u128, mask: u128) -> usize {
    let x = a & mask;
    fold_cell((x >> 64) as u64 ^ x as u64)
}

/// [`addr_cell`] of a packet's address in a bucket of its family (`v6`): an
/// IPv4 address, a packet's ([`PacketKey`]) or a rule's, has no bit above
/// the 32nd, so the high half of `a & mask` is zero and not worked out.
#[inline(always)]
fn bucket_cell(v6: bool, a: u128, mask: u128) -> usize {
    if v6 {
        addr_cell(a, mask)
    } else {
        fold_cell(a as u64 & mask as u64)
    }
}

/// A cell from 64 bits of an address.
#[inline(always)]
fn fold_cell(x: u64) -> usize {
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize
}

/// The cells of a rule direction's address prefix, for cells that hash the
/// address's bits in `mask`: one if the prefix holds them all, else all.
fn addr_cells(p: Option<Prefix>, mask: u128) -> (usize, usize) {
    match p {
        Some(p) if prefix_holds(p, mask) => {
            let c = addr_cell(p.addr, mask);
            (c, c)
        }
        _ => (0, CELLS - 1),
    }
}

/// Whether prefix `p` fixes every bit of `mask` (its length is at least
/// the mask's).
fn prefix_holds(p: Prefix, mask: u128) -> bool {
    u32::from(p.len) >= mask.count_ones()
}

/// Whether `k` matches the fields flat test `f` tests after the packed
/// word (out of line in a large set's lookup: its loop then keeps the
/// packet's fields out of registers).
#[inline(never)]
fn flat_rest(f: &Flat, k: &PacketKey) -> bool {
    f.matches_rest(k)
}

/// The whole key of `k`: itself if it is one, else made once in `key`.
#[inline(always)]
fn whole<'a, P: Fields>(k: &'a P, key: &'a mut Option<PacketKey>) -> &'a PacketKey {
    match k.as_key() {
        Some(k) => k,
        None => key.get_or_insert_with(|| make_key(k)),
    }
}

/// `k`'s whole key (out of line: the lookup's loop would otherwise make
/// part of it ahead of the loop, for every packet, whether a test needs it
/// or not).
#[inline(never)]
fn make_key<P: Fields>(k: &P) -> PacketKey {
    k.key()
}

/// Every rule's variants, with their shapes decided, sorted by table, then
/// key, then rule.
fn variants<A: Alloc>(rules: &[Rule]) -> Result<A::Buf<Var>, NoMem> {
    let mut vars = directions::<A>(rules)?;
    sort::sort_by::<A, _, _>(&mut vars, |a, b| {
        a.shape.cmp(&b.shape).then(a.rule.cmp(&b.rule))
    });
    decide::<A>(&mut vars);
    for v in vars.iter_mut() {
        A::relax();
        let d = v.dir(rules);
        v.shape = shape_of(&d, v.flags);
        v.hash = v.shape.key_def().hash(0, &Words::of(&fields_of(&d)));
    }
    // By key's hash; the rare different keys of one hash are sorted apart
    // after.
    sort::sort_by_key::<A, _, _, _>(&mut vars, |v| (v.shape, v.hash, v.rule));
    let mut k0 = 0;
    while k0 < vars.len() {
        let (shape, hash) = (vars[k0].shape, vars[k0].hash);
        let mut k1 = k0 + 1;
        while k1 < vars.len() && (vars[k1].shape, vars[k1].hash) == (shape, hash) {
            k1 += 1;
        }
        let run = &mut vars[k0..k1];
        if shape.key_def().words() > 0 && run.len() > 1 {
            let first = run[0].key(rules, 0);
            if run.iter().any(|v| v.key(rules, 0).words() != first.words()) {
                sort::sort_by::<A, _, _>(run, |a, b| {
                    a.key(rules, 0)
                        .words()
                        .cmp(b.key(rules, 0).words())
                        .then(a.rule.cmp(&b.rule))
                });
            }
        }
        k0 = k1;
    }
    Ok(vars)
}

/// Every rule's directions: the rule as written, and its reverse unless
/// `oneway` (or the same rule), each with its shape before the address
/// decisions.
fn directions<A: Alloc>(rules: &[Rule]) -> Result<A::Buf<Var>, NoMem> {
    let n = rules
        .iter()
        .map(|r| 1 + usize::from(!r.oneway && r.reversed() != *r))
        .sum();
    let mut vars = A::Buf::<Var>::with_capacity(n)?;
    for (i, r) in rules.iter().enumerate() {
        let mut push = |d: &Rule, flags: u8| {
            vars.push(Var {
                shape: pre_shape(d),
                hash: 0,
                rule: i as u32,
                flags,
            })
        };
        push(r, 0)?;
        let rev = r.reversed();
        if !r.oneway && rev != *r {
            push(&rev, REV)?;
        }
    }
    Ok(vars)
}
