// SPDX-License-Identifier: GPL-2.0

//! Small sets: each direction of each rule compiled to a flat test of only
//! the fields it names, tried in rule order. Cheaper than probing tables for
//! a handful of rules, and the same answer: the earliest rule matching in
//! either direction.
//!
//! The family, the protocol and exact ports are one masked compare of a
//! packed word ([`head`]); port ranges, addresses and devices are tested
//! after it, only by the directions that name them.

use super::key::{Head, PacketKey, H_PORTS, H_PROTO, H_V6};
use super::rule::{prefix_mask, Family, PortRange, Rule};

/// Which fields are tested after the packed word.
const SRANGE: u8 = 1;
const DRANGE: u8 = 2;
const SADDR: u8 = 4;
const DADDR: u8 = 8;
const IIF: u8 = 16;
const OIF: u8 = 32;

/// One direction of one rule.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flat {
    /// The rule's index.
    pub(super) rule: u32,
    /// The packed word's bits this direction names, and their values.
    pub(super) mask: u64,
    pub(super) value: u64,
    /// Which fields are tested after it.
    pub(super) rest: u8,
    sport: PortRange,
    dport: PortRange,
    smask: u128,
    saddr: u128,
    dmask: u128,
    daddr: u128,
    iif: u128,
    oif: u128,
}

impl Flat {
    /// The test for `d`, one direction of rule `rule` (the rule itself or
    /// its reverse).
    pub(super) fn new(d: &Rule, rule: u32) -> Flat {
        let v6 = d.family == Family::V6;
        let any = PortRange {
            lo: 0,
            hi: u16::MAX,
        };
        let (mut mask, mut value) = (0u64, 0u64);
        match d.family {
            Family::Any => {}
            Family::V4 => mask |= H_V6,
            Family::V6 => {
                mask |= H_V6;
                value |= H_V6;
            }
        }
        if let Some(p) = d.proto {
            mask |= H_PROTO;
            value |= u64::from(p);
        }
        if d.needs_ports() {
            mask |= H_PORTS;
            value |= H_PORTS;
        }
        let mut rest = 0;
        // A port is exact in the packed word, a range tested after it.
        let mut port = |r: Option<PortRange>, bits: fn(u16) -> (u64, u64), range: u8| match r {
            Some(p) if p.lo == p.hi => {
                let (m, v) = bits(p.lo);
                mask |= m;
                value |= v;
            }
            Some(_) => rest |= range,
            None => {}
        };
        port(d.sport, Head::sport_bits, SRANGE);
        port(d.dport, Head::dport_bits, DRANGE);
        let mut flag = |set: bool, bit: u8| {
            if set {
                rest |= bit;
            }
        };
        flag(d.saddr.is_some_and(|p| p.len > 0), SADDR);
        flag(d.daddr.is_some_and(|p| p.len > 0), DADDR);
        flag(d.iif.is_some(), IIF);
        flag(d.oif.is_some(), OIF);
        Flat {
            rule,
            mask,
            value,
            rest,
            sport: d.sport.unwrap_or(any),
            dport: d.dport.unwrap_or(any),
            smask: d.saddr.map_or(0, |p| prefix_mask(v6, p.len)),
            saddr: d.saddr.map_or(0, |p| p.addr),
            dmask: d.daddr.map_or(0, |p| prefix_mask(v6, p.len)),
            daddr: d.daddr.map_or(0, |p| p.addr),
            iif: d.iif.map_or(0, |n| n.0),
            oif: d.oif.map_or(0, |n| n.0),
        }
    }

    /// Whether `k`, whose packed word is `h` (`k.head().0`), matches this
    /// direction.
    #[inline]
    pub(super) fn matches(&self, h: u64, k: &PacketKey) -> bool {
        h & self.mask == self.value && (self.rest == 0 || self.matches_rest(k))
    }

    /// Whether the packed word `h` matches (all this direction tests
    /// when it has no [`rest`](Self::rest)).
    #[inline(always)]
    pub(super) fn matches_head(&self, h: u64) -> bool {
        h & self.mask == self.value
    }

    /// The fields tested after the packed word.
    #[inline]
    pub(super) fn matches_rest(&self, k: &PacketKey) -> bool {
        let n = self.rest;
        (n & SRANGE == 0 || self.sport.contains(k.sport))
            && (n & DRANGE == 0 || self.dport.contains(k.dport))
            && (n & SADDR == 0 || k.saddr & self.smask == self.saddr)
            && (n & DADDR == 0 || k.daddr & self.dmask == self.daddr)
            && (n & IIF == 0 || k.iif.0 == self.iif)
            && (n & OIF == 0 || k.oif.0 == self.oif)
    }
}
