// SPDX-License-Identifier: GPL-2.0

//! This network namespace's conntrack entries, through ctnetlink (a dump of
//! `IPCTNL_MSG_CT_GET`, as `conntrack -L` asks for them): the original
//! tuple, the status bits, the mark, the zone and the helper's name.
//!
//! The socket calls are the C library's (std links it); everything else
//! is safe parsing of the kernel's messages, bounds-checked.

use std::io;
use std::net::IpAddr;

/// One conntrack entry, as the suggestions need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The original direction's source, destination, protocol and ports
    /// (`None` for protocols without ports).
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) proto: u8,
    pub(crate) sport: Option<u16>,
    pub(crate) dport: Option<u16>,
    /// The reply direction's source and source port: after DNAT, the
    /// real destination (a Service VIP's endpoint).
    pub(crate) reply_src: IpAddr,
    pub(crate) reply_sport: Option<u16>,
    /// `IPS_*` status bits.
    pub(crate) status: u32,
    pub(crate) mark: u32,
    pub(crate) zone: u16,
    /// The helper's name, if the entry has one.
    pub(crate) helper: Option<String>,
}

/// `IPS_SRC_NAT`, `IPS_DST_NAT` (nf_conntrack_common.h).
pub(crate) const IPS_SRC_NAT: u32 = 1 << 4;
pub(crate) const IPS_DST_NAT: u32 = 1 << 5;

const AF_NETLINK: i32 = 16;
const SOCK_RAW: i32 = 3;
const SOCK_CLOEXEC: i32 = 0o2000000;
const NETLINK_NETFILTER: i32 = 12;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
/// `(NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET`.
const CT_GET: u16 = (1 << 8) | 1;
const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_HELP: u16 = 5;
const CTA_MARK: u16 = 8;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_HELP_NAME: u16 = 1;

extern "C" {
    fn socket(domain: i32, ty: i32, protocol: i32) -> i32;
    fn send(fd: i32, buf: *const u8, len: usize, flags: i32) -> isize;
    fn recv(fd: i32, buf: *mut u8, len: usize, flags: i32) -> isize;
    fn close(fd: i32) -> i32;
}

/// A netlink socket, closed on drop.
struct Socket(i32);

impl Socket {
    fn open() -> io::Result<Socket> {
        // SAFETY: plain arguments; the result is checked.
        let fd = unsafe { socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Socket(fd))
    }

    fn send(&self, msg: &[u8]) -> io::Result<()> {
        // SAFETY: `msg` is valid for `msg.len()` bytes for the call. An
        // unbound netlink socket sends to the kernel (pid 0).
        let n = unsafe { send(self.0, msg.as_ptr(), msg.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid and writable for `buf.len()` bytes.
            let n = unsafe { recv(self.0, buf.as_mut_ptr(), buf.len(), 0) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { close(self.0) };
    }
}

/// Every entry of this network namespace's conntrack table.
pub(crate) fn dump() -> io::Result<Vec<Entry>> {
    let s = Socket::open()?;
    let mut req = Vec::with_capacity(20);
    req.extend_from_slice(&20u32.to_ne_bytes());
    req.extend_from_slice(&CT_GET.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    req.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel's
    req.extend_from_slice(&[0, 0, 0, 0]); // nfgenmsg: AF_UNSPEC, v0, res_id 0
    s.send(&req)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = s.recv(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "ctnetlink: the dump ended early",
            ));
        }
        let mut msgs = &buf[..n];
        while msgs.len() >= 16 {
            let len = u32::from_ne_bytes([msgs[0], msgs[1], msgs[2], msgs[3]]) as usize;
            let ty = u16::from_ne_bytes([msgs[4], msgs[5]]);
            if len < 16 || len > msgs.len() {
                return Err(bad("a message longer than what was read"));
            }
            let body = &msgs[16..len];
            match ty {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = body
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code != 0 {
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                }
                CT_GET | 0x0100 => {
                    // IPCTNL_MSG_CT_NEW (0x0100) is what the dump answers with.
                    if let Some(e) = body.get(4..).and_then(entry) {
                        out.push(e);
                    }
                }
                _ => {}
            }
            msgs = &msgs[align(len).min(msgs.len())..];
        }
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("ctnetlink: {what}"))
}

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// The attributes of `data`: (type without flags, payload).
fn attrs(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let ty = u16::from_ne_bytes([data[2], data[3]]) & 0x3fff;
        if len < 4 || len > data.len() {
            return None;
        }
        let payload = &data[4..len];
        data = &data[align(len).min(data.len())..];
        Some((ty, payload))
    })
}

fn be16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(..2)?.try_into().ok()?))
}

fn be32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(..4)?.try_into().ok()?))
}

fn addr(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}

/// A tuple's (source, destination, protocol, source port, destination port).
type Tuple = (
    Option<IpAddr>,
    Option<IpAddr>,
    Option<u8>,
    Option<u16>,
    Option<u16>,
);

fn tuple(p: &[u8]) -> Tuple {
    let (mut src, mut dst, mut proto, mut sport, mut dport) = (None, None, None, None, None);
    for (t, q) in attrs(p) {
        match t {
            CTA_TUPLE_IP => {
                for (a, v) in attrs(q) {
                    match a {
                        CTA_IP_V4_SRC | CTA_IP_V6_SRC => src = addr(v),
                        CTA_IP_V4_DST | CTA_IP_V6_DST => dst = addr(v),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for (a, v) in attrs(q) {
                    match a {
                        CTA_PROTO_NUM => proto = v.first().copied(),
                        CTA_PROTO_SRC_PORT => sport = be16(v),
                        CTA_PROTO_DST_PORT => dport = be16(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    (src, dst, proto, sport, dport)
}

/// An entry from the attributes of one `IPCTNL_MSG_CT_NEW` message.
fn entry(data: &[u8]) -> Option<Entry> {
    let (mut orig, mut reply) = (None, None);
    let (mut status, mut mark, mut zone, mut helper) = (0, 0, 0, None);
    for (ty, p) in attrs(data) {
        match ty {
            CTA_TUPLE_ORIG => orig = Some(tuple(p)),
            CTA_TUPLE_REPLY => reply = Some(tuple(p)),
            CTA_STATUS => status = be32(p).unwrap_or(0),
            CTA_MARK => mark = be32(p).unwrap_or(0),
            CTA_ZONE => zone = be16(p).unwrap_or(0),
            CTA_HELP => {
                for (a, v) in attrs(p) {
                    if a == CTA_HELP_NAME {
                        let name = v.split(|&c| c == 0).next().unwrap_or(&[]);
                        helper = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let (src, dst, proto, sport, dport) = orig?;
    let (reply_src, _, _, reply_sport, _) = reply?;
    Some(Entry {
        src: src?,
        dst: dst?,
        proto: proto?,
        sport,
        dport,
        reply_src: reply_src?,
        reply_sport,
        status,
        mark,
        zone,
        helper,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, payload: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + payload.len() as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(payload);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn nested(ty: u16, parts: &[Vec<u8>]) -> Vec<u8> {
        attr(ty | 0x8000, &parts.concat())
    }

    /// A DNATed UDP entry with a helper, a mark and a zone, as the kernel
    /// sends it (ctnetlink_fill_info): every field read back.
    #[test]
    fn reads_an_entry() {
        let orig = nested(
            CTA_TUPLE_ORIG,
            &[
                nested(
                    CTA_TUPLE_IP,
                    &[
                        attr(CTA_IP_V4_SRC, &[10, 0, 1, 1]),
                        attr(CTA_IP_V4_DST, &[10, 96, 0, 10]),
                    ],
                ),
                nested(
                    CTA_TUPLE_PROTO,
                    &[
                        attr(CTA_PROTO_NUM, &[17]),
                        attr(CTA_PROTO_SRC_PORT, &40000u16.to_be_bytes()),
                        attr(CTA_PROTO_DST_PORT, &53u16.to_be_bytes()),
                    ],
                ),
            ],
        );
        let reply = nested(
            CTA_TUPLE_REPLY,
            &[
                nested(
                    CTA_TUPLE_IP,
                    &[
                        attr(CTA_IP_V4_SRC, &[10, 0, 1, 2]),
                        attr(CTA_IP_V4_DST, &[10, 0, 1, 1]),
                    ],
                ),
                nested(
                    CTA_TUPLE_PROTO,
                    &[
                        attr(CTA_PROTO_NUM, &[17]),
                        attr(CTA_PROTO_SRC_PORT, &5353u16.to_be_bytes()),
                        attr(CTA_PROTO_DST_PORT, &40000u16.to_be_bytes()),
                    ],
                ),
            ],
        );
        let msg = [
            orig,
            reply,
            attr(CTA_STATUS, &(IPS_DST_NAT | 8).to_be_bytes()),
            attr(CTA_MARK, &7u32.to_be_bytes()),
            attr(CTA_ZONE, &3u16.to_be_bytes()),
            nested(CTA_HELP, &[attr(CTA_HELP_NAME, b"ftp\0")]),
        ]
        .concat();
        let e = entry(&msg).unwrap();
        assert_eq!(
            e,
            Entry {
                src: "10.0.1.1".parse().unwrap(),
                dst: "10.96.0.10".parse().unwrap(),
                proto: 17,
                sport: Some(40000),
                dport: Some(53),
                reply_src: "10.0.1.2".parse().unwrap(),
                reply_sport: Some(5353),
                status: IPS_DST_NAT | 8,
                mark: 7,
                zone: 3,
                helper: Some("ftp".into()),
            }
        );
        // Cut anywhere: no panic, and no entry without its tuple.
        for n in 0..msg.len() {
            let _ = entry(&msg[..n]);
        }
        assert_eq!(entry(&msg[40..]), None);
    }
}
