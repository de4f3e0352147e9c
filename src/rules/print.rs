// SPDX-License-Identifier: GPL-2.0

//! Canonical printing: fields in the grammar's order, one space apart, host
//! bits cleared, full prefixes left out, IPv6 compressed (RFC 5952), the
//! family printed whenever the rule is limited to one.

use core::fmt::{self, Display, Formatter, Write};
use core::net::{Ipv4Addr, Ipv6Addr};

use super::rule::{Family, IfName, PortRange, Prefix, Rule, PROTO_NAMES};

struct Addr(bool, Prefix);

impl Display for Addr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (v6, p) = (self.0, self.1);
        if v6 {
            write!(f, "{}", Ipv6Addr::from(p.addr))?;
        } else {
            write!(f, "{}", Ipv4Addr::from(p.addr as u32))?;
        }
        if p.len != if v6 { 128 } else { 32 } {
            write!(f, "/{}", p.len)?;
        }
        Ok(())
    }
}

impl Display for PortRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

impl Display for IfName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for &b in self.bytes().iter().take_while(|&&b| b != 0) {
            f.write_char(char::from(b))?;
        }
        Ok(())
    }
}

impl Display for Rule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut word = |f: &mut Formatter<'_>, args: fmt::Arguments<'_>| -> fmt::Result {
            f.write_str(sep)?;
            sep = " ";
            f.write_fmt(args)
        };
        match self.family {
            Family::Any => {}
            Family::V4 => word(f, format_args!("ip"))?,
            Family::V6 => word(f, format_args!("ip6"))?,
        }
        if let Some(p) = self.proto {
            match PROTO_NAMES.iter().find(|(_, n)| *n == p) {
                Some((name, _)) => word(f, format_args!("{name}"))?,
                None => word(f, format_args!("proto {p}"))?,
            }
        }
        let v6 = self.family == Family::V6;
        if let Some(p) = self.saddr {
            word(f, format_args!("saddr {}", Addr(v6, p)))?;
        }
        if let Some(p) = self.daddr {
            word(f, format_args!("daddr {}", Addr(v6, p)))?;
        }
        if let Some(r) = self.sport {
            word(f, format_args!("sport {r}"))?;
        }
        if let Some(r) = self.dport {
            word(f, format_args!("dport {r}"))?;
        }
        if let Some(n) = self.iif {
            word(f, format_args!("iif {n}"))?;
        }
        if let Some(n) = self.oif {
            word(f, format_args!("oif {n}"))?;
        }
        if self.oneway {
            word(f, format_args!("oneway"))?;
        }
        Ok(())
    }
}

/// Bytes shown safely in a log line: printable ASCII as is, the rest as
/// `\xNN`, cut after `max` bytes with `...`.
pub struct Escaped<'a>(pub &'a [u8], pub usize);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for &b in self.0.iter().take(self.1) {
            if b == b'"' || b == b'\\' {
                write!(f, "\\{}", char::from(b))?;
            } else if (0x20..0x7f).contains(&b) {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if self.0.len() > self.1 {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// A `fmt::Write` into a fixed byte buffer; fails (rather than truncating
/// silently) when the buffer is full.
pub struct SliceWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> SliceWriter<'a> {
    /// A writer filling `buf` from the start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        SliceWriter { buf, len: 0 }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        let end = self.len.checked_add(b.len()).ok_or(fmt::Error)?;
        if end > self.buf.len() {
            return Err(fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(b);
        self.len = end;
        Ok(())
    }
}
