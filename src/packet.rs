// SPDX-License-Identifier: GPL-2.0

//! Reading a packet's key from an skb: the IPv4/IPv6 header, the IPv6
//! extension header chain and the transport ports. Every read goes through
//! [`Headers::read`], so non-linear and truncated skbs are safe.

use crate::kapi::netfilter::{Headers, NetDevice};
use crate::rules::key::IfName;
use crate::rules::rule::{proto_has_ports, PROTO_ICMP, PROTO_ICMPV6};
use crate::rules::{Head, PacketKey, Quick};

/// The headers could not be read as far as the network layer needs.
pub(crate) struct Unparsed;

/// The device's name as an [`IfName`] (bytes after the NUL cleared: a
/// renamed device may keep stale bytes there).
#[inline]
pub(crate) fn dev_name(dev: Option<&NetDevice>) -> IfName {
    let Some(dev) = dev else {
        return IfName::default();
    };
    let raw = dev.name();
    let mut v = u128::from_le_bytes(raw);
    if let Some(nul) = raw.iter().position(|&b| b == 0) {
        v &= (1u128 << (8 * nul)) - 1;
    }
    IfName(v)
}

/// Where a packet's transport header starts (its key is written in place).
#[derive(Clone, Copy)]
pub(crate) struct Parsed {
    /// The transport header's offset from the network header.
    thoff: usize,
    /// Whether this is an unfragmented packet or a first fragment.
    first_fragment: bool,
}

/// Reads into `k` the key of an IPv4 (`k.v6` false) or IPv6 packet: its
/// addresses, protocol and ports (`k` comes zeroed but for `v6` and the
/// devices, which are left alone).
#[inline(always)]
pub(crate) fn read_key(skb: &Headers<'_>, k: &mut PacketKey) -> Result<Parsed, Unparsed> {
    let v6 = k.v6;
    let thoff;
    let first_fragment;
    if !v6 {
        // The IPv4 header as three big-endian words, read in place: version
        // and IHL in the top byte of the first, the fragment field in its
        // low 16 bits; the protocol and the source address in the second;
        // the destination address.
        let w0 = u64::from_be_bytes(skb.read::<8>(0).ok_or(Unparsed)?);
        let w1 = u64::from_be_bytes(skb.read::<8>(8).ok_or(Unparsed)?);
        let w2 = u32::from_be_bytes(skb.read::<4>(16).ok_or(Unparsed)?);
        let b0 = (w0 >> 56) as u8;
        let ihl = usize::from(b0 & 0xf) * 4;
        if b0 >> 4 != 4 || ihl < 20 {
            return Err(Unparsed);
        }
        k.proto = (w1 >> 48) as u8;
        k.saddr = u128::from(w1 as u32);
        k.daddr = u128::from(w2);
        first_fragment = w0 as u16 & 0x1fff == 0;
        thoff = ihl;
    } else {
        // Version in the top bits of the first word, the next header in
        // byte 6; then the two addresses.
        let w0 = u64::from_be_bytes(skb.read::<8>(0).ok_or(Unparsed)?);
        if w0 >> 60 != 6 {
            return Err(Unparsed);
        }
        k.saddr = u128::from_be_bytes(skb.read::<16>(8).ok_or(Unparsed)?);
        k.daddr = u128::from_be_bytes(skb.read::<16>(24).ok_or(Unparsed)?);
        let nexthdr = (w0 >> 8) as u8;
        let (off, nexthdr, frag_off) = skb.ipv6_skip_exthdr(40, nexthdr).ok_or(Unparsed)?;
        first_fragment = frag_off & !7 == 0;
        thoff = off;
        k.proto = if first_fragment {
            nexthdr
        } else {
            // A later fragment: the walk stops at the fragment header, whose
            // first byte names the transport protocol.
            skb.read::<1>(thoff).ok_or(Unparsed)?[0]
        };
    }
    if first_fragment && proto_has_ports(k.proto) {
        if let Some(p) = skb.read::<4>(thoff) {
            k.sport = u16::from_be_bytes([p[0], p[1]]);
            k.dport = u16::from_be_bytes([p[2], p[3]]);
            k.has_ports = true;
        }
    }
    Ok(Parsed {
        thoff,
        first_fragment,
    })
}

/// Reads the usual packet as a [`Quick`]: an unfragmented or
/// first-fragment IPv4 packet without options, an IPv6 packet whose first
/// next header is TCP, UDP, UDP-Lite, SCTP or DCCP, its headers in the
/// linear data; `None` for any other packet, whose key [`read_key`] reads.
/// The addresses are read when `ADDRS` (else zero). Its key is the one
/// `read_key` reads (but for the devices), where both answer.
#[inline(always)]
pub(crate) fn read_quick<const ADDRS: bool>(skb: &Headers<'_>, v6: bool) -> Option<Quick> {
    let proto;
    let thoff;
    let (mut saddr, mut daddr) = (0, 0);
    if !v6 {
        // Version and IHL, then the fragment field in the low 16 bits; the
        // rest of the 20 bytes: TTL, protocol, checksum, the addresses.
        let w0 = u64::from_be_bytes(skb.linear::<8>(0)?);
        let rest = skb.linear::<12>(8)?;
        if w0 >> 56 != 0x45 || w0 as u16 & 0x1fff != 0 {
            return None;
        }
        proto = rest[1];
        if ADDRS {
            saddr = u128::from(u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]));
            daddr = u128::from(u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]));
        }
        thoff = 20;
    } else {
        // Version in the top bits, the next header in byte 6; the
        // addresses.
        let w0 = u64::from_be_bytes(skb.linear::<8>(0)?);
        proto = (w0 >> 8) as u8;
        if w0 >> 60 != 6 || !proto_has_ports(proto) {
            return None;
        }
        if ADDRS {
            saddr = u128::from_be_bytes(skb.linear::<16>(8)?);
            daddr = u128::from_be_bytes(skb.linear::<16>(24)?);
        }
        thoff = 40;
    }
    let ports = if proto_has_ports(proto) {
        Some(skb.linear::<4>(thoff)?)
    } else {
        None
    };
    Some(Quick {
        head: Head::from_wire(v6, proto, ports),
        saddr,
        daddr,
    })
}

/// The ICMP protocol of a family (ICMP for IPv4, ICMPv6 for IPv6).
#[inline(always)]
pub(crate) fn icmp_proto(v6: bool) -> u8 {
    if v6 {
        PROTO_ICMPV6
    } else {
        PROTO_ICMP
    }
}

/// Whether `k` is an ICMP message of its family: only those can be errors
/// about another packet.
#[inline]
pub(crate) fn is_icmp(k: &PacketKey) -> bool {
    k.proto == icmp_proto(k.v6)
}

/// Whether `k`'s protocol has ports that were not read (a later fragment,
/// or a transport header too short).
#[inline]
pub(crate) fn ports_unread(k: &PacketKey) -> bool {
    !k.has_ports && proto_has_ports(k.proto)
}

/// ICMP error types (destination unreachable, source quench, redirect, time
/// exceeded, parameter problem): an error about one of these is not matched.
fn icmp_is_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// ICMPv6 error types (destination unreachable, packet too big, time
/// exceeded, parameter problem: all below 128).
fn icmpv6_is_error(t: u8) -> bool {
    t < 128
}

/// The key of the packet an ICMP or ICMPv6 error is about (destination
/// unreachable, packet too big / fragmentation needed, time exceeded,
/// parameter problem), read from the error's payload with the same care as
/// an outer header: `None` if `outer` is not such an error, or if the
/// embedded packet is truncated before its ports, is a fragment, or is
/// itself an ICMP error.
#[inline]
pub(crate) fn icmp_error_key(
    skb: &Headers<'_>,
    key: &PacketKey,
    outer: Parsed,
) -> Option<PacketKey> {
    if !is_icmp(key) || !outer.first_fragment {
        return None;
    }
    let (v6, icmp_proto) = (key.v6, key.proto);
    let t = skb.read::<1>(outer.thoff)?[0];
    let is_error = if v6 {
        matches!(t, 1..=4)
    } else {
        matches!(t, 3 | 11 | 12)
    };
    if !is_error {
        return None;
    }
    // The embedded packet follows the 8-byte ICMP header.
    let inner = outer.thoff + 8;
    let mut k = PacketKey {
        v6,
        ..PacketKey::default()
    };
    let thoff;
    if !v6 {
        let h: [u8; 20] = skb.read(inner)?;
        let ihl = usize::from(h[0] & 0xf) * 4;
        // A fragment (more fragments, or an offset) is not matched.
        if h[0] >> 4 != 4 || ihl < 20 || u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
            return None;
        }
        k.proto = h[9];
        k.saddr = u128::from(u32::from_be_bytes([h[12], h[13], h[14], h[15]]));
        k.daddr = u128::from(u32::from_be_bytes([h[16], h[17], h[18], h[19]]));
        thoff = inner + ihl;
    } else {
        let h: [u8; 40] = skb.read(inner)?;
        if h[0] >> 4 != 6 {
            return None;
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[8..24]);
        k.saddr = u128::from_be_bytes(a);
        a.copy_from_slice(&h[24..40]);
        k.daddr = u128::from_be_bytes(a);
        let (off, nexthdr, frag_off) = skb.ipv6_skip_exthdr(inner + 40, h[6])?;
        if frag_off != 0 {
            return None;
        }
        k.proto = nexthdr;
        thoff = off;
    }
    if proto_has_ports(k.proto) {
        let p = skb.read::<4>(thoff)?;
        k.sport = u16::from_be_bytes([p[0], p[1]]);
        k.dport = u16::from_be_bytes([p[2], p[3]]);
        k.has_ports = true;
    } else if k.proto == icmp_proto {
        let t = skb.read::<1>(thoff)?[0];
        let error = if v6 {
            icmpv6_is_error(t)
        } else {
            icmp_is_error(t)
        };
        if error {
            return None;
        }
    }
    Some(k)
}
