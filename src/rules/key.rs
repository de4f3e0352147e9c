// SPDX-License-Identifier: GPL-2.0

//! The packet key: the header fields a rule can match, read from one packet,
//! and the interface name type both keys and rules use.

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

/// A network interface name: 1 to 15 bytes, NUL-padded to 16, kept as one
/// `u128` (little-endian bytes) so comparing names is one comparison. Zero is
/// "no interface".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct IfName(pub u128);

/// Longest interface name, as in the kernel (`IFNAMSIZ - 1`).
pub const IFNAME_MAX: usize = 15;

impl IfName {
    /// The name from its bytes (at most 15, not checked for content here).
    pub fn from_bytes(b: &[u8]) -> IfName {
        let mut a = [0u8; 16];
        let n = b.len().min(IFNAME_MAX);
        a[..n].copy_from_slice(&b[..n]);
        IfName(u128::from_le_bytes(a))
    }

    /// The name as NUL-padded bytes.
    pub fn bytes(&self) -> [u8; 16] {
        self.0.to_le_bytes()
    }
}
