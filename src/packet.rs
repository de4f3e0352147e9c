// SPDX-License-Identifier: GPL-2.0

//! Reading a packet's key from an skb: the IPv4/IPv6 header, the IPv6
//! extension header chain and the transport ports, all through
//! `skb_header_pointer()`, so non-linear and truncated skbs are safe.

use crate::bindings;
use crate::rules::rule::{proto_has_ports, IfName};
use crate::rules::PacketKey;

/// The headers could not be read as far as the network layer needs.
pub(crate) struct Unparsed;

/// Copies `N` bytes at `off` from the network header, if the packet has them.
///
/// # Safety
///
/// `skb` must be a valid skb for the duration of the call.
#[inline]
unsafe fn header<const N: usize>(skb: *const bindings::sk_buff, off: usize) -> Option<[u8; N]> {
    let mut buf = [0u8; N];
    // SAFETY: `skb` is valid (caller); `buf` has room for `N` bytes, the
    // most skb_header_pointer() copies into it.
    let p = unsafe { bindings::ctskip_skb_header(skb, off as i32, N as i32, buf.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    if p.cast::<u8>() != buf.as_ptr() {
        // SAFETY: a non-null result points at `N` readable bytes (linear data
        // of the skb, alive for the call).
        unsafe { core::ptr::copy_nonoverlapping(p.cast::<u8>(), buf.as_mut_ptr(), N) };
    }
    Some(buf)
}

/// The device's name as an [`IfName`] (bytes after the NUL cleared: a
/// renamed device may keep stale bytes there).
///
/// # Safety
///
/// `dev` must be null or a valid net_device.
#[inline]
pub(crate) unsafe fn dev_name(dev: *const bindings::net_device) -> IfName {
    if dev.is_null() {
        return IfName::default();
    }
    let mut raw = [0u8; 16];
    // SAFETY: `dev` is valid (caller); the shim copies its IFNAMSIZ-byte
    // name into `raw`.
    unsafe { bindings::ctskip_dev_name(dev, raw.as_mut_ptr().cast()) };
    let mut v = u128::from_le_bytes(raw);
    if let Some(nul) = raw.iter().position(|&b| b == 0) {
        v &= (1u128 << (8 * nul)) - 1;
    }
    IfName(v)
}

/// Reads the packet key of an IPv4 (`v6` false) or IPv6 packet.
///
/// # Safety
///
/// `skb` must be a valid skb whose network header is set (as at the
/// PRE_ROUTING and LOCAL_OUT hooks).
pub(crate) unsafe fn read_key(skb: *const bindings::sk_buff, v6: bool) -> Result<PacketKey, Unparsed> {
    let mut k = PacketKey { v6, ..PacketKey::default() };
    let thoff;
    let first_fragment;
    if !v6 {
        // SAFETY: `skb` is valid (caller).
        let h: [u8; 20] = unsafe { header(skb, 0) }.ok_or(Unparsed)?;
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
        // SAFETY: `skb` is valid (caller).
        let h: [u8; 40] = unsafe { header(skb, 0) }.ok_or(Unparsed)?;
        if h[0] >> 4 != 6 {
            return Err(Unparsed);
        }
        let mut a = [0u8; 16];
        a.copy_from_slice(&h[8..24]);
        k.saddr = u128::from_be_bytes(a);
        a.copy_from_slice(&h[24..40]);
        k.daddr = u128::from_be_bytes(a);
        let mut nexthdr = h[6];
        let mut frag_off: u16 = 0;
        // SAFETY: `skb` is valid (caller); the out-pointers are locals.
        let off = unsafe { bindings::ctskip_ipv6_skip_exthdr(skb, 40, &mut nexthdr, &mut frag_off) };
        if off < 0 {
            return Err(Unparsed);
        }
        first_fragment = u16::from_be(frag_off) & !7 == 0;
        thoff = off as usize;
        k.proto = if first_fragment {
            nexthdr
        } else {
            // A later fragment: the walk stops at the fragment header, whose
            // first byte names the transport protocol.
            // SAFETY: `skb` is valid (caller).
            unsafe { header::<1>(skb, thoff) }.ok_or(Unparsed)?[0]
        };
    }
    if first_fragment && proto_has_ports(k.proto) {
        // SAFETY: `skb` is valid (caller).
        if let Some(p) = unsafe { header::<4>(skb, thoff) } {
            k.sport = u16::from_be_bytes([p[0], p[1]]);
            k.dport = u16::from_be_bytes([p[2], p[3]]);
            k.has_ports = true;
        }
    }
    Ok(k)
}
