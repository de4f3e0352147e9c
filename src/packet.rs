// SPDX-License-Identifier: GPL-2.0

//! Reading a packet's key from an skb: the IPv4/IPv6 header, the IPv6
//! extension header chain and the transport ports. Every read goes through
//! [`SkBuff::header`], so non-linear and truncated skbs are safe.

use crate::kapi::netfilter::{NetDevice, SkBuff};
use crate::rules::key::IfName;
use crate::rules::rule::proto_has_ports;
use crate::rules::PacketKey;

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

/// Reads the packet key of an IPv4 (`v6` false) or IPv6 packet.
#[inline]
pub(crate) fn read_key(skb: &SkBuff, v6: bool) -> Result<PacketKey, Unparsed> {
    let mut k = PacketKey {
        v6,
        ..PacketKey::default()
    };
    let thoff;
    let first_fragment;
    if !v6 {
        let h: [u8; 20] = skb.header(0).ok_or(Unparsed)?;
        let ihl = usize::from(h[0] & 0xf) * 4;
        if h[0] >> 4 != 4 || ihl < 20 {
            return Err(Unparsed);
        }
        k.proto = h[9];
        k.saddr = u128::from(u32::from_be_bytes([h[12], h[13], h[14], h[15]]));
        k.daddr = u128::from(u32::from_be_bytes([h[16], h[17], h[18], h[19]]));
        first_fragment = u16::from_be_bytes([h[6], h[7]]) & 0x1fff == 0;
        thoff = ihl;
    } else {
        let h: [u8; 40] = skb.header(0).ok_or(Unparsed)?;
        if h[0] >> 4 != 6 {
            return Err(Unparsed);
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[8..24]);
        k.saddr = u128::from_be_bytes(a);
        a.copy_from_slice(&h[24..40]);
        k.daddr = u128::from_be_bytes(a);
        let (off, nexthdr, frag_off) = skb.ipv6_skip_exthdr(40, h[6]).ok_or(Unparsed)?;
        first_fragment = frag_off & !7 == 0;
        thoff = off;
        k.proto = if first_fragment {
            nexthdr
        } else {
            // A later fragment: the walk stops at the fragment header, whose
            // first byte names the transport protocol.
            skb.header::<1>(thoff).ok_or(Unparsed)?[0]
        };
    }
    if first_fragment && proto_has_ports(k.proto) {
        if let Some(p) = skb.header::<4>(thoff) {
            k.sport = u16::from_be_bytes([p[0], p[1]]);
            k.dport = u16::from_be_bytes([p[2], p[3]]);
            k.has_ports = true;
        }
    }
    Ok(k)
}
