// SPDX-License-Identifier: GPL-2.0

//! One rule, in canonical form, and the reference (naive) matcher.

use super::key::PacketKey;
pub use super::key::{IfName, IFNAME_MAX};

/// The address family a rule is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Both IPv4 and IPv6.
    Any,
    /// IPv4 only (`ip`).
    V4,
    /// IPv6 only (`ip6`).
    V6,
}

/// An address prefix. IPv4 addresses sit in the low 32 bits; host bits below
/// the prefix are always zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Prefix {
    /// The network address.
    pub addr: u128,
    /// The prefix length (at most 32 for IPv4, 128 for IPv6).
    pub len: u8,
}

/// An inclusive port range; `lo == hi` for a single port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port.
    pub hi: u16,
}

/// Transport protocols whose rules may name ports.
#[inline]
pub fn proto_has_ports(p: u8) -> bool {
    // One load: the hook asks for every packet.
    HAS_PORTS[usize::from(p)]
}

/// [`proto_has_ports`] by protocol number.
static HAS_PORTS: [bool; 256] = {
    let mut t = [false; 256];
    let mut p = 0;
    while p < 256 {
        t[p] = matches!(
            p as u8,
            PROTO_TCP | PROTO_UDP | PROTO_UDPLITE | PROTO_SCTP | PROTO_DCCP
        );
        p += 1;
    }
    t
};

/// IANA protocol numbers used by the rule language.
pub const PROTO_ICMP: u8 = 1;
/// TCP.
pub const PROTO_TCP: u8 = 6;
/// UDP.
pub const PROTO_UDP: u8 = 17;
/// DCCP.
pub const PROTO_DCCP: u8 = 33;
/// GRE.
pub const PROTO_GRE: u8 = 47;
/// ESP.
pub const PROTO_ESP: u8 = 50;
/// AH.
pub const PROTO_AH: u8 = 51;
/// ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;
/// SCTP.
pub const PROTO_SCTP: u8 = 132;
/// UDP-Lite.
pub const PROTO_UDPLITE: u8 = 136;

/// Protocol names of the rule language, with their numbers.
pub const PROTO_NAMES: [(&str, u8); 10] = [
    ("tcp", PROTO_TCP),
    ("udp", PROTO_UDP),
    ("udplite", PROTO_UDPLITE),
    ("sctp", PROTO_SCTP),
    ("dccp", PROTO_DCCP),
    ("icmp", PROTO_ICMP),
    ("icmpv6", PROTO_ICMPV6),
    ("gre", PROTO_GRE),
    ("esp", PROTO_ESP),
    ("ah", PROTO_AH),
];

/// One rule in canonical form: two rules are the same rule exactly when they
/// compare equal (and then they print the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rule {
    /// The family, explicit or implied by addresses, `icmp` or `icmpv6`.
    pub family: Family,
    /// The transport protocol number.
    pub proto: Option<u8>,
    /// Source prefix.
    pub saddr: Option<Prefix>,
    /// Destination prefix.
    pub daddr: Option<Prefix>,
    /// Source ports.
    pub sport: Option<PortRange>,
    /// Destination ports.
    pub dport: Option<PortRange>,
    /// Input device (at PRE_ROUTING).
    pub iif: Option<IfName>,
    /// Output device (at LOCAL_OUT).
    pub oif: Option<IfName>,
    /// Match only the direction written (no reverse match).
    pub oneway: bool,
}

/// Mask of the top `len` bits of an address of `family` (V4 uses 32 bits).
pub fn prefix_mask(v6: bool, len: u8) -> u128 {
    let width: u32 = if v6 { 128 } else { 32 };
    let len = u32::from(len).min(width);
    if len == 0 {
        return 0;
    }
    let ones: u128 = if width == 128 {
        u128::MAX
    } else {
        u128::from(u32::MAX)
    };
    (ones >> (width - len)) << (width - len)
}

impl Prefix {
    /// Whether `addr` (of the prefix's family) falls in the prefix.
    pub fn contains(&self, v6: bool, addr: u128) -> bool {
        addr & prefix_mask(v6, self.len) == self.addr
    }
}

impl PortRange {
    /// Whether `p` is in the range.
    pub fn contains(&self, p: u16) -> bool {
        self.lo <= p && p <= self.hi
    }
}

impl Rule {
    /// The rule for the reverse direction of a flow: addresses, ports and
    /// devices swapped.
    pub fn reversed(&self) -> Rule {
        Rule {
            saddr: self.daddr,
            daddr: self.saddr,
            sport: self.dport,
            dport: self.sport,
            iif: self.oif,
            oif: self.iif,
            ..*self
        }
    }

    /// Whether the rule needs the transport header (it names ports).
    pub fn needs_ports(&self) -> bool {
        self.sport.is_some() || self.dport.is_some()
    }

    /// The reference matcher: field by field, in the written direction only.
    pub fn matches_forward(&self, k: &PacketKey) -> bool {
        let v6 = k.v6;
        match self.family {
            Family::Any => {}
            Family::V4 if v6 => return false,
            Family::V6 if !v6 => return false,
            _ => {}
        }
        if let Some(p) = self.proto {
            if p != k.proto {
                return false;
            }
        }
        if let Some(p) = self.saddr {
            if !p.contains(v6, k.saddr) {
                return false;
            }
        }
        if let Some(p) = self.daddr {
            if !p.contains(v6, k.daddr) {
                return false;
            }
        }
        if self.needs_ports() && !k.has_ports {
            return false;
        }
        if let Some(r) = self.sport {
            if !r.contains(k.sport) {
                return false;
            }
        }
        if let Some(r) = self.dport {
            if !r.contains(k.dport) {
                return false;
            }
        }
        if let Some(n) = self.iif {
            if n != k.iif {
                return false;
            }
        }
        if let Some(n) = self.oif {
            if n != k.oif {
                return false;
            }
        }
        true
    }

    /// The reference matcher: the rule matches `k` in either direction
    /// (only the written one for `oneway`).
    pub fn matches(&self, k: &PacketKey) -> bool {
        self.matches_forward(k) || (!self.oneway && self.reversed().matches_forward(k))
    }
}
