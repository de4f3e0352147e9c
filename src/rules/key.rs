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

/// Bits of a [`Head`]: the protocol, IPv6, ports read; the ports' four
/// bytes from bit [`H_PORT_BYTES`] on.
pub(super) const H_PROTO: u64 = 0xff;
pub(super) const H_V6: u64 = 1 << 8;
pub(super) const H_PORTS: u64 = 1 << 9;
const H_PORT_BYTES: u32 = 16;

/// A packet's family, protocol and ports packed in one word: all that a set
/// of rules naming only those looks at (the masked compare of each small
/// set's tests, [`Classifier::lookup_head`](super::Classifier::lookup_head)).
///
/// The ports are the transport header's first four bytes as they lie in
/// the packet (source port, destination port, each big-endian), read as one
/// native-endian `u32`: the hook loads them without reordering a byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head(pub(super) u64);

impl Head {
    /// The word of a packet of family `v6` and protocol `proto` whose
    /// transport header starts with `ports` (its first four bytes), if they
    /// were read.
    #[inline(always)]
    pub fn from_wire(v6: bool, proto: u8, ports: Option<[u8; 4]>) -> Head {
        let (has, bytes) = match ports {
            Some(p) => (H_PORTS, p),
            None => (0, [0; 4]),
        };
        Head(
            u64::from(proto)
                | if v6 { H_V6 } else { 0 }
                | has
                | u64::from(u32::from_ne_bytes(bytes)) << H_PORT_BYTES,
        )
    }

    /// The word of a packet with ports `(source, destination)` (host
    /// order), if they were read.
    #[inline(always)]
    pub fn new(v6: bool, proto: u8, ports: Option<(u16, u16)>) -> Head {
        Head::from_wire(v6, proto, ports.map(|(s, d)| wire(s, d)))
    }

    /// The protocol.
    #[inline(always)]
    pub fn proto(self) -> u8 {
        self.0 as u8
    }

    /// IPv6 (else IPv4).
    #[inline(always)]
    pub fn v6(self) -> bool {
        self.0 & H_V6 != 0
    }

    /// The ports `(source, destination)` (host order), if they were read.
    #[inline(always)]
    pub fn ports(self) -> Option<(u16, u16)> {
        let b = ((self.0 >> H_PORT_BYTES) as u32).to_ne_bytes();
        (self.0 & H_PORTS != 0).then(|| {
            (
                u16::from_be_bytes([b[0], b[1]]),
                u16::from_be_bytes([b[2], b[3]]),
            )
        })
    }

    /// The mask of a source port's bits, and their value for port `p`.
    pub(super) fn sport_bits(p: u16) -> (u64, u64) {
        (port_word(wire(0xffff, 0)), port_word(wire(p, 0)))
    }

    /// The mask of a destination port's bits, and their value for port `p`.
    pub(super) fn dport_bits(p: u16) -> (u64, u64) {
        (port_word(wire(0, 0xffff)), port_word(wire(0, p)))
    }
}

/// Ports as their four bytes on the wire.
fn wire(s: u16, d: u16) -> [u8; 4] {
    let (s, d) = (s.to_be_bytes(), d.to_be_bytes());
    [s[0], s[1], d[0], d[1]]
}

/// Four port bytes placed in a [`Head`].
fn port_word(b: [u8; 4]) -> u64 {
    u64::from(u32::from_ne_bytes(b)) << H_PORT_BYTES
}

/// What a large set's lookup reads of a packet: its whole [`PacketKey`],
/// or what the hook reads of the usual packet ([`Quick`]).
pub trait Fields {
    /// The transport protocol.
    fn proto(&self) -> u8;
    /// Whether the ports were read.
    fn has_ports(&self) -> bool;
    /// The ports as one word: source port << 16 | destination port.
    fn ports(&self) -> u32;
    /// The source address.
    fn saddr(&self) -> u128;
    /// The destination address.
    fn daddr(&self) -> u128;
    /// The whole key.
    fn key(&self) -> PacketKey;
    /// The packed word of the family, protocol and ports.
    fn head(&self) -> Head;
    /// The whole key if that is what this is (no copy).
    fn as_key(&self) -> Option<&PacketKey> {
        None
    }
}

impl Fields for PacketKey {
    #[inline(always)]
    fn proto(&self) -> u8 {
        self.proto
    }
    #[inline(always)]
    fn has_ports(&self) -> bool {
        self.has_ports
    }
    #[inline(always)]
    fn ports(&self) -> u32 {
        (u32::from(self.sport) << 16) | u32::from(self.dport)
    }
    #[inline(always)]
    fn saddr(&self) -> u128 {
        self.saddr
    }
    #[inline(always)]
    fn daddr(&self) -> u128 {
        self.daddr
    }
    #[inline(always)]
    fn key(&self) -> PacketKey {
        *self
    }
    #[inline(always)]
    fn head(&self) -> Head {
        PacketKey::head(self)
    }
    #[inline(always)]
    fn as_key(&self) -> Option<&PacketKey> {
        Some(self)
    }
}

/// A packet that names no device, as the hook reads the usual one: its
/// [`Head`] and its addresses (host order, IPv4 in the low 32 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quick {
    /// Family, protocol, ports.
    pub head: Head,
    /// Source address.
    pub saddr: u128,
    /// Destination address.
    pub daddr: u128,
}

impl Fields for Quick {
    #[inline(always)]
    fn proto(&self) -> u8 {
        self.head.proto()
    }
    #[inline(always)]
    fn has_ports(&self) -> bool {
        self.head.0 & H_PORTS != 0
    }
    #[inline(always)]
    fn ports(&self) -> u32 {
        // The wire's bytes, big-endian: source port, destination port.
        u32::from_be_bytes(((self.head.0 >> H_PORT_BYTES) as u32).to_ne_bytes())
    }
    #[inline(always)]
    fn saddr(&self) -> u128 {
        self.saddr
    }
    #[inline(always)]
    fn daddr(&self) -> u128 {
        self.daddr
    }
    #[inline(always)]
    fn head(&self) -> Head {
        self.head
    }
    #[inline]
    fn key(&self) -> PacketKey {
        let (has_ports, sport, dport) = match self.head.ports() {
            Some((s, d)) => (true, s, d),
            None => (false, 0, 0),
        };
        PacketKey {
            v6: self.head.v6(),
            proto: self.head.proto(),
            saddr: self.saddr,
            daddr: self.daddr,
            has_ports,
            sport,
            dport,
            ..PacketKey::default()
        }
    }
}

impl PacketKey {
    /// The key's [`Head`].
    #[inline(always)]
    pub fn head(&self) -> Head {
        let ports = self.has_ports.then_some((self.sport, self.dport));
        Head::new(self.v6, self.proto, ports)
    }
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
