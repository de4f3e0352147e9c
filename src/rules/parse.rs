// SPDX-License-Identifier: GPL-2.0

//! Parsing the rule language.
//!
//! ```text
//! rule   := [family] [proto] [saddr CIDR] [daddr CIDR] [sport PORTS] [dport PORTS]
//!           [iif NAME] [oif NAME] [oneway]
//! family := ip | ip6
//! proto  := tcp | udp | udplite | sctp | dccp | icmp | icmpv6 | gre | esp | ah | proto N
//! ```
//! One rule per line or per `;`; `#` comments to the end of the line; any
//! keyword order; each keyword at most once.

use core::fmt::{self, Display, Formatter};
use core::net::{Ipv4Addr, Ipv6Addr};

use super::print::Escaped;
use super::rule::{
    prefix_mask, proto_has_ports, Family, IfName, PortRange, Prefix, Rule, IFNAME_MAX, PROTO_ICMP,
    PROTO_ICMPV6, PROTO_NAMES,
};

/// Why a rule did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError<'a> {
    /// The rule's number in the text (1 = the first non-blank rule).
    pub rule_no: usize,
    /// The line the rule is on (1 = the text's first line; 0 = unknown).
    pub line_no: usize,
    /// The rule's text (comment removed, blanks trimmed).
    pub text: &'a [u8],
    /// The offending word.
    pub word: &'a [u8],
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Display for ParseError<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} \"{}\": {} \"{}\"",
            self.rule_no,
            Escaped(self.text, 80),
            self.reason,
            Escaped(self.word, 40)
        )
    }
}

impl ParseError<'_> {
    /// The error with its line number first: `line L: rule N "...": ...`
    /// (for large texts, such as a staged set or a rules file).
    pub fn with_line(&self) -> WithLine<'_, '_> {
        WithLine(self)
    }
}

/// [`ParseError`] displayed with its line number, see [`ParseError::with_line`].
pub struct WithLine<'e, 'a>(&'e ParseError<'a>);

impl Display for WithLine<'_, '_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.0.line_no, self.0)
    }
}

/// The reason given for a rule with no field.
const REASON_NO_FIELD: &str = "rule has no field";
/// The reason given for ports without a protocol that has them.
const REASON_PORTS_NEED_PROTO: &str = "ports need tcp, udp, udplite, sctp or dccp";

/// Whether `b` separates words.
pub fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// `s` without blanks at either end.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_blank(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_blank(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Iterator over the rules of a text: yields each non-blank rule's line
/// number and text.
struct Pieces<'a> {
    rest: &'a [u8],
    line: &'a [u8],
    line_no: usize,
}

impl<'a> Pieces<'a> {
    fn new(text: &'a [u8]) -> Self {
        Pieces {
            rest: text,
            line: &[],
            line_no: 0,
        }
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        loop {
            if self.line.is_empty() {
                if self.rest.is_empty() {
                    return None;
                }
                self.line_no += 1;
                let end = self
                    .rest
                    .iter()
                    .position(|&b| b == b'\n')
                    .unwrap_or(self.rest.len());
                let mut line = &self.rest[..end];
                self.rest = if end < self.rest.len() {
                    &self.rest[end + 1..]
                } else {
                    &[]
                };
                if let Some(c) = line.iter().position(|&b| b == b'#') {
                    line = &line[..c];
                }
                self.line = line;
                // An empty line still ends a rule: loop to the next one.
                if line.is_empty() {
                    continue;
                }
            }
            let end = self
                .line
                .iter()
                .position(|&b| b == b';')
                .unwrap_or(self.line.len());
            let piece = trim(&self.line[..end]);
            self.line = if end < self.line.len() {
                &self.line[end + 1..]
            } else {
                &[]
            };
            if !piece.is_empty() {
                return Some((self.line_no, piece));
            }
        }
    }
}

/// Parses every rule of `text`, calling `f` with each one in order. Stops at
/// the first rule that does not parse, or the first error of `f`.
pub fn parse_rules<'a, E>(
    text: &'a [u8],
    mut f: impl FnMut(Rule) -> Result<(), E>,
) -> Result<(), Result<ParseError<'a>, E>> {
    for (i, (line_no, piece)) in Pieces::new(text).enumerate() {
        let rule = parse_rule(piece, i + 1).map_err(|e| Ok(ParseError { line_no, ..e }))?;
        f(rule).map_err(Err)?;
    }
    Ok(())
}

/// Parses one rule's text (no `;`, `#` or newline in it).
pub fn parse_rule(text: &[u8], rule_no: usize) -> Result<Rule, ParseError<'_>> {
    let err = |word, reason| ParseError {
        rule_no,
        line_no: 0,
        text,
        word,
        reason,
    };

    let mut words = text.split(|&b| is_blank(b)).filter(|w| !w.is_empty());
    let mut r = Rule {
        family: Family::Any,
        proto: None,
        saddr: None,
        daddr: None,
        sport: None,
        dport: None,
        iif: None,
        oif: None,
        oneway: false,
    };
    // The words that set each field, for error messages.
    let mut proto_w: Option<&[u8]> = None;
    let mut saddr_w: Option<(&[u8], bool)> = None;
    let mut daddr_w: Option<(&[u8], bool)> = None;
    let mut ports_w: Option<&[u8]> = None;
    let mut seen = [false; 9];

    while let Some(w) = words.next() {
        let slot = match w {
            b"ip" | b"ip6" => 0,
            b"proto" => 1,
            b"saddr" => 2,
            b"daddr" => 3,
            b"sport" => 4,
            b"dport" => 5,
            b"iif" => 6,
            b"oif" => 7,
            b"oneway" => 8,
            _ if PROTO_NAMES.iter().any(|(n, _)| n.as_bytes() == w) => 1,
            _ => return Err(err(w, "unknown keyword")),
        };
        if seen[slot] {
            return Err(err(
                w,
                if slot == 1 {
                    "more than one protocol"
                } else {
                    "repeated keyword"
                },
            ));
        }
        seen[slot] = true;
        let mut value = || words.next().ok_or_else(|| err(w, "missing value after"));
        match slot {
            0 => {
                r.family = if w == b"ip" { Family::V4 } else { Family::V6 };
            }
            1 => {
                if w == b"proto" {
                    let v = value()?;
                    let n = parse_num(v, 255).ok_or_else(|| err(v, "bad protocol number"))?;
                    r.proto = Some(n as u8);
                    proto_w = Some(v);
                } else {
                    r.proto = PROTO_NAMES
                        .iter()
                        .find(|(n, _)| n.as_bytes() == w)
                        .map(|(_, p)| *p);
                    proto_w = Some(w);
                }
            }
            2 | 3 => {
                let v = value()?;
                let (p, v6) = parse_cidr(v).ok_or_else(|| err(v, "bad address"))?;
                if slot == 2 {
                    r.saddr = Some(p);
                    saddr_w = Some((v, v6));
                } else {
                    r.daddr = Some(p);
                    daddr_w = Some((v, v6));
                }
            }
            4 | 5 => {
                let v = value()?;
                let pr = parse_ports(v).ok_or_else(|| err(v, "bad port or port range"))?;
                if slot == 4 {
                    r.sport = Some(pr);
                } else {
                    r.dport = Some(pr);
                }
                ports_w.get_or_insert(w);
            }
            6 | 7 => {
                let v = value()?;
                if !valid_ifname(v) {
                    return Err(err(v, "bad interface name"));
                }
                if slot == 6 {
                    r.iif = Some(IfName::from_bytes(v));
                } else {
                    r.oif = Some(IfName::from_bytes(v));
                }
            }
            _ => r.oneway = true,
        }
    }

    if !seen[..8].iter().any(|&s| s) {
        return Err(err(text, REASON_NO_FIELD));
    }

    // The family: explicit, implied by addresses, by icmp or icmpv6.
    let mut fam = r.family;
    let mut imply = |want: Family, w| {
        if fam == Family::Any {
            fam = want;
            Ok(())
        } else if fam != want {
            Err(err(w, "address family conflict"))
        } else {
            Ok(())
        }
    };
    if let Some((w, v6)) = saddr_w {
        imply(if v6 { Family::V6 } else { Family::V4 }, w)?;
    }
    if let Some((w, v6)) = daddr_w {
        imply(if v6 { Family::V6 } else { Family::V4 }, w)?;
    }
    match (r.proto, proto_w) {
        (Some(PROTO_ICMP), Some(w)) => imply(Family::V4, w)?,
        (Some(PROTO_ICMPV6), Some(w)) => imply(Family::V6, w)?,
        _ => {}
    }
    r.family = fam;

    if let Some(w) = ports_w {
        if !r.proto.is_some_and(proto_has_ports) {
            return Err(err(w, REASON_PORTS_NEED_PROTO));
        }
    }
    Ok(r)
}

/// A decimal number (digits only) no larger than `max`.
fn parse_num(w: &[u8], max: u32) -> Option<u32> {
    if w.is_empty() {
        return None;
    }
    let mut n: u32 = 0;
    for &b in w {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        if n > max {
            return None;
        }
    }
    Some(n)
}

fn parse_ports(w: &[u8]) -> Option<PortRange> {
    match w.iter().position(|&b| b == b'-') {
        None => {
            let p = parse_num(w, 65535)? as u16;
            Some(PortRange { lo: p, hi: p })
        }
        Some(i) => {
            let lo = parse_num(&w[..i], 65535)? as u16;
            let hi = parse_num(&w[i + 1..], 65535)? as u16;
            (lo <= hi).then_some(PortRange { lo, hi })
        }
    }
}

/// `addr[/len]`; returns the prefix (host bits cleared) and whether it is IPv6.
fn parse_cidr(w: &[u8]) -> Option<(Prefix, bool)> {
    let s = core::str::from_utf8(w).ok()?;
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let (addr, v6, full) = if a.contains(':') {
        (u128::from(a.parse::<Ipv6Addr>().ok()?), true, 128)
    } else {
        (
            u128::from(u32::from(a.parse::<Ipv4Addr>().ok()?)),
            false,
            32,
        )
    };
    let len = match len {
        Some(l) => parse_num(l.as_bytes(), full)? as u8,
        None => full as u8,
    };
    Some((
        Prefix {
            addr: addr & prefix_mask(v6, len),
            len,
        },
        v6,
    ))
}

/// Interface names as the kernel accepts them (dev_valid_name()), limited to
/// visible ASCII so every name prints back as written.
fn valid_ifname(w: &[u8]) -> bool {
    !w.is_empty()
        && w.len() <= IFNAME_MAX
        && w != b"."
        && w != b".."
        && w.iter()
            .all(|&b| (0x21..0x7f).contains(&b) && b != b'/' && b != b':')
}

/// The keywords of the rule language: the field slot each one fills (as in
/// [`parse_rule`]) and whether a value follows it.
const KEYWORDS: [(&str, usize, bool); 19] = [
    ("ip", 0, false),
    ("ip6", 0, false),
    ("proto", 1, true),
    ("tcp", 1, false),
    ("udp", 1, false),
    ("udplite", 1, false),
    ("sctp", 1, false),
    ("dccp", 1, false),
    ("icmp", 1, false),
    ("icmpv6", 1, false),
    ("gre", 1, false),
    ("esp", 1, false),
    ("ah", 1, false),
    ("saddr", 2, true),
    ("daddr", 3, true),
    ("sport", 4, true),
    ("dport", 5, true),
    ("iif", 6, true),
    ("oif", 7, true),
];

/// `oneway`, the one keyword outside [`KEYWORDS`]' slots 0..8.
const ONEWAY_SLOT: usize = 8;

/// Whether `w` is a complete, valid value for the keyword of `slot`.
fn value_ok(slot: usize, w: &[u8]) -> bool {
    match slot {
        1 => parse_num(w, 255).is_some(),
        2 | 3 => parse_cidr(w).is_some(),
        4 | 5 => parse_ports(w).is_some(),
        _ => valid_ifname(w),
    }
}

/// Whether more bytes appended to `w` could make a valid value for the
/// keyword of `slot` (lenient for addresses: their characters only).
fn value_could_continue(slot: usize, w: &[u8]) -> bool {
    let digits_upto = |s: &[u8], max: u32| s.is_empty() || parse_num(s, max).is_some();
    match slot {
        1 => parse_num(w, 255).is_some(),
        2 | 3 => {
            w.len() <= 49
                && w.iter()
                    .all(|&b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'/'))
        }
        4 | 5 => match w.iter().position(|&b| b == b'-') {
            None => parse_num(w, 65535).is_some(),
            Some(i) => parse_num(&w[..i], 65535).is_some() && digits_upto(&w[i + 1..], 65535),
        },
        _ => {
            w.len() <= IFNAME_MAX
                && w.iter()
                    .all(|&b| (0x21..0x7f).contains(&b) && b != b'/' && b != b':')
        }
    }
}

/// Whether a rule's text that does not parse (yet) could still become a
/// rule when more bytes are appended to it: the last word may be cut short,
/// a keyword may still lack its value, and a rule may still lack a field (a
/// protocol for its ports, any field at all). A word that is wrong already,
/// a repeated keyword or an address family conflict cannot be mended by
/// appending.
pub fn could_continue(text: &[u8]) -> bool {
    let cut_short = text.last().is_some_and(|&b| !is_blank(b));
    let n = text
        .split(|&b| is_blank(b))
        .filter(|w| !w.is_empty())
        .count();
    let mut seen = [false; 9];
    let mut want_value: Option<usize> = None;
    // Whether the protocol given has ports (unknown while being written).
    let mut ports_proto: Option<bool> = None;
    for (i, w) in text
        .split(|&b| is_blank(b))
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let partial = cut_short && i + 1 == n;
        if let Some(slot) = want_value.take() {
            let ok = if partial {
                value_could_continue(slot, w)
            } else {
                value_ok(slot, w)
            };
            if !ok {
                return false;
            }
            if slot == 1 && !partial {
                ports_proto = parse_num(w, 255).map(|p| proto_has_ports(p as u8));
            }
            continue;
        }
        if partial {
            let could = KEYWORDS
                .iter()
                .any(|(k, slot, _)| k.as_bytes().starts_with(w) && !seen[*slot])
                || (b"oneway".starts_with(w) && !seen[ONEWAY_SLOT]);
            if !could {
                return false;
            }
            break;
        }
        let (slot, takes_value) = match KEYWORDS.iter().find(|(k, _, _)| k.as_bytes() == w) {
            Some((_, slot, v)) => (*slot, *v),
            None if w == b"oneway" => (ONEWAY_SLOT, false),
            None => return false,
        };
        if seen[slot] {
            return false;
        }
        seen[slot] = true;
        if takes_value {
            want_value = Some(slot);
        } else if slot == 1 {
            ports_proto = PROTO_NAMES
                .iter()
                .find(|(k, _)| k.as_bytes() == w)
                .map(|(_, p)| proto_has_ports(*p));
        }
    }
    if (seen[4] || seen[5]) && ports_proto == Some(false) {
        return false;
    }
    // The complete words must not contradict each other already: a family
    // conflict stays one, and ports without a protocol can only be mended
    // while no protocol is given.
    let complete = if cut_short {
        let end = text.iter().rposition(|&b| is_blank(b)).map_or(0, |i| i + 1);
        &text[..end]
    } else {
        text
    };
    let complete_ok = match parse_rule(complete, 0) {
        Ok(_) => true,
        Err(e) => {
            e.reason == REASON_NO_FIELD
                || e.reason == "missing value after"
                || (e.reason == REASON_PORTS_NEED_PROTO && !seen[1])
        }
    };
    if !complete_ok {
        return false;
    }
    if want_value.is_some() || cut_short {
        return true;
    }
    match parse_rule(text, 0) {
        Ok(_) => true,
        Err(e) => e.reason == REASON_NO_FIELD || (e.reason == REASON_PORTS_NEED_PROTO && !seen[1]),
    }
}
