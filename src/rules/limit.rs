// SPDX-License-Identifier: GPL-2.0

//! The classifier's bounds on the work one packet costs, and the error a rule
//! set that would go past one of them gets (ENOSPC for the writer, with the
//! error's text as its log line).

use core::fmt::{self, Display, Formatter};

use super::buf::NoMem;
use super::rule::{Family, Rule, PROTO_NAMES};

/// At most this many lookup tables per (family, protocol): a packet probes
/// at most this many hash tables. Eight is what the largest common mixes
/// need (the benchmark's 10,000 rules and the 7-shape mix: 8 for IPv4 UDP),
/// and keeps a lookup whose tables hash all they match (about 90
/// instructions a probe with its prefilter) within about a one-rule packet's
/// whole cost; each table's interval search (at most [`MAX_STEPS`] steps of
/// about 6 instructions) comes on top.
pub const MAX_TABLES: usize = 8;

/// A rule shape with at most this many rule directions has no table: they
/// are tested one by one (cheaper than a probe), while there is room.
pub const SMALL_SHAPE: usize = 8;

/// At most this many rule directions tested one by one per (family,
/// protocol).
pub const MAX_FLAT: usize = 32;

/// At most this many port boxes (one direction of a rule with both a source
/// and a destination port range) share one key: a probe tests at most this
/// many.
pub const MAX_BOXES: usize = 16;

/// A probe of one hash table reads at most this many slots.
pub const MAX_SLOTS: usize = 8;

/// An interval search (a port range or an address prefix resolved by binary
/// search) takes at most this many steps: one key holds at most
/// `2 * 2 * MAX_RULES + 1` intervals (two directions of each rule, two ends
/// each).
pub const MAX_STEPS: usize = 19;

/// Which bound a rule set would go past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// More than [`MAX_TABLES`] lookup tables for one (family, protocol).
    Tables,
    /// More than [`MAX_BOXES`] source and destination port-range pairs on
    /// one key.
    Boxes,
    /// Keys colliding so that a probe would read more than [`MAX_SLOTS`]
    /// slots, whatever the hash seed and table size tried.
    Slots,
}

/// A bound a rule set would go past, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The bound.
    pub kind: LimitKind,
    /// The packets concerned: IPv4 ([`Family::V4`]), IPv6 ([`Family::V6`]),
    /// or both ([`Family::Any`], a bound of rules naming no family).
    pub family: Family,
    /// Their protocol; `None` for every protocol (tables of rules that name
    /// no protocol, which every packet of the family probes).
    pub proto: Option<u8>,
    /// How many there would be.
    pub count: usize,
    /// The bound.
    pub max: usize,
    /// The rule that goes past it (its index in the slice given to
    /// [`Classifier::build`](super::Classifier::build)): the earliest rule
    /// of the first table, box or key beyond the bound.
    pub index: u32,
    /// That rule.
    pub rule: Rule,
}

/// Why a rule set could not be compiled.
// A `Limit` carries its rule by value, for the message that names it: it is
// returned at most once per build, and boxing it would need an allocation
// that can itself fail.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// Out of memory (ENOMEM).
    NoMem,
    /// The set would go past a bound on per-packet work (ENOSPC).
    Limit(Limit),
}

impl From<NoMem> for BuildError {
    fn from(_: NoMem) -> Self {
        BuildError::NoMem
    }
}

/// The packets of a (family, protocol) bucket, as the rule language names
/// them: `ip udp`, `ip6 proto 99`, `ip (every protocol)`, `ip and ip6 tcp`.
struct Packets(Family, Option<u8>);

impl Display for Packets {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Family::Any => "ip and ip6",
            Family::V4 => "ip",
            Family::V6 => "ip6",
        })?;
        match self.1 {
            None => f.write_str(" (every protocol)"),
            Some(p) => match PROTO_NAMES.iter().find(|n| n.1 == p) {
                Some((name, _)) => write!(f, " {}", name),
                None => write!(f, " proto {}", p),
            },
        }
    }
}

impl Display for Limit {
    /// One line (no newline), for the log: which bound, for which packets,
    /// how far, the rule that goes past it, and what to do.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let packets = Packets(self.family, self.proto);
        match self.kind {
            LimitKind::Tables => write!(
                f,
                "{} packets would probe {} lookup tables, at most {} (one per rule shape; the {}th for \"{}\"): use fewer distinct prefix lengths in rules with two addresses or with a port range, merge prefixes, or use fewer mixes of ports, addresses and iif/oif",
                packets,
                self.count,
                self.max,
                self.max + 1,
                self.rule
            ),
            LimitKind::Boxes => write!(
                f,
                "{} packets: {} source and destination port-range pairs share one key, at most {} (the {}th from \"{}\"): merge the port ranges, or tell the rules apart by address, exact port or iif/oif",
                packets,
                self.count,
                self.max,
                self.max + 1,
                self.rule
            ),
            LimitKind::Slots => write!(
                f,
                "{} packets: the rules' keys collide in a lookup table ({} slots to read, at most {}; from \"{}\"): change those rules' ports, addresses or interfaces",
                packets, self.count, self.max, self.rule
            ),
        }
    }
}
