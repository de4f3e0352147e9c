// SPDX-License-Identifier: GPL-2.0

//! Small sets: each direction of each rule compiled to a flat test of only
//! the fields it names (a mask and a value, a port interval, a name), tried in
//! rule order. Cheaper than probing tables for a handful of rules, and the
//! same answer: the earliest rule matching in either direction.

use super::key::PacketKey;
use super::rule::{prefix_mask, Family, PortRange, Rule};

const PROTO: u8 = 1;
const PORTS: u8 = 2;
const SADDR: u8 = 4;
const DADDR: u8 = 8;
const IIF: u8 = 16;
const OIF: u8 = 32;

/// One direction of one rule.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flat {
    /// The rule's index.
    pub(super) rule: u32,
    /// 0: both families, 1: IPv4, 2: IPv6.
    fam: u8,
    /// Which fields are tested.
    named: u8,
    proto: u8,
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
        let mut named = 0;
        let mut flag = |set: bool, bit: u8| {
            if set {
                named |= bit;
            }
        };
        flag(d.proto.is_some(), PROTO);
        flag(d.needs_ports(), PORTS);
        flag(d.saddr.is_some_and(|p| p.len > 0), SADDR);
        flag(d.daddr.is_some_and(|p| p.len > 0), DADDR);
        flag(d.iif.is_some(), IIF);
        flag(d.oif.is_some(), OIF);
        Flat {
            rule,
            fam: match d.family {
                Family::Any => 0,
                Family::V4 => 1,
                Family::V6 => 2,
            },
            named,
            proto: d.proto.unwrap_or(0),
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

    /// Whether `k` matches this direction.
    #[inline]
    pub(super) fn matches(&self, k: &PacketKey) -> bool {
        (self.fam == 0 || self.fam == 1 + u8::from(k.v6))
            && (self.named & PROTO == 0 || self.proto == k.proto)
            && self.matches_in_bucket(k)
    }

    /// Whether `k`, whose family and protocol this direction's are known
    /// to match, matches it.
    #[inline]
    pub(super) fn matches_in_bucket(&self, k: &PacketKey) -> bool {
        let n = self.named;
        (n & PORTS == 0
            || (k.has_ports && self.sport.contains(k.sport) && self.dport.contains(k.dport)))
            && (n & SADDR == 0 || k.saddr & self.smask == self.saddr)
            && (n & DADDR == 0 || k.daddr & self.dmask == self.daddr)
            && (n & IIF == 0 || k.iif.0 == self.iif)
            && (n & OIF == 0 || k.oif.0 == self.oif)
    }
}
