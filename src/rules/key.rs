// SPDX-License-Identifier: GPL-2.0

//! The packet key: the header fields a rule can match, read from one packet.

use super::rule::IfName;

/// What the hook read from one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketKey {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Transport protocol (IPv6: after the extension headers).
    pub proto: u8,
    /// Source address (IPv4 in the low 32 bits, host order).
    pub saddr: u128,
    /// Destination address.
    pub daddr: u128,
    /// Whether `sport`/`dport` were read: a protocol with ports, the first
    /// fragment, and a transport header long enough.
    pub has_ports: bool,
    /// Source port (host order).
    pub sport: u16,
    /// Destination port (host order).
    pub dport: u16,
    /// Input device at PRE_ROUTING (zero elsewhere).
    pub iif: IfName,
    /// Output device at LOCAL_OUT (zero elsewhere).
    pub oif: IfName,
}
