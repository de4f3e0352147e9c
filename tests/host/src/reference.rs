//! An independent reference for ctskip's rule language and rule matching,
//! written from README.md alone ("Rule language", "Control files"), not from
//! `src/rules`. It is the oracle the property tests, the fuzz oracle and the
//! bad-input model (`src/bin/ctskip-model.rs`) compare the module's code with.
//!
//! It imports nothing from `src/rules` but the packet key (`PacketKey` and
//! the `IfName` it is made of): its own rule representation, its own parser,
//! its own canonical printer, its own matcher (both directions spelled out
//! here, not through a shared `reversed()`).
//!
//! Where README.md did not say when this was written, the choice made here
//! is marked "README:" below (the behaviour was checked against the module so
//! that the oracle does not flag documented-nowhere choices as bugs). README's
//! "The rule language exactly" now states each of them, and
//! `tests/readme_edges.rs` pins them:
//!
//! - README: which bytes are "blanks": here space, tab, CR, VT and FF (the
//!   ASCII white space other than the newline that ends a rule).
//! - README: numbers (`proto N`, ports, `/LEN`) are decimal digits only, and
//!   leading zeros are accepted (`dport 053`, `/032`), while IPv4 addresses
//!   refuse them (`010.0.0.1` is an error): the address forms are those of
//!   the usual strict text forms (four decimal octets without leading zeros;
//!   RFC 4291 IPv6 text, hex in either case, with an embedded dotted IPv4 in
//!   the last 32 bits; no zone `%eth0`, no brackets).
//! - README: "IPv6 compressed" is RFC 5952 (lower case, longest run of zero
//!   groups, a single zero group not compressed) and an IPv4-mapped address
//!   prints as `::ffff:1.2.3.4`; other addresses with an embedded IPv4
//!   print in hex (`::1.2.3.4` reads back as `::102:304`).
//! - README: "full prefixes left out" means a /32 (IPv4) or /128 (IPv6)
//!   length is not printed; a /0 is kept (`saddr 0.0.0.0/0` reads back as
//!   `ip saddr 0.0.0.0/0`, not as `ip`), and so is a full port range
//!   (`sport 0-65535` stays; `dport 53-53` reads back as `dport 53`).
//! - README: `proto 1` and `proto 58` are `icmp` and `icmpv6` (they read
//!   back so), so they imply the family too (`ip6 proto 1` is a conflict).
//! - README: `oneway` is not a "field": `oneway` alone is an error (a rule
//!   needs at least one field), `ip oneway` is a rule.
//! - README: interface names also refuse `.` and `..` (as the kernel's
//!   `dev_valid_name()` does), which "visible ASCII, no '/' or ':'" allows.
//! - README: a rule naming both `iif` and `oif` is accepted, but since a
//!   packet has an input device at PRE_ROUTING and an output one at
//!   LOCAL_OUT, never both, no packet can match it.
//! - README: comments may hold any bytes (NUL, non-ASCII); the rules may
//!   not (a non-ASCII or control byte in a word is an unknown word).
//! - README: a rule with ports matches only a packet whose ports were read
//!   (`PacketKey::has_ports`); a rule without ports matches regardless.
//!   ("unparsed ... never matched" in the counters table describes the hook
//!   giving up on a packet, not a rule without ports.)

use alloc::vec::Vec;
use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::rules::key::{IfName, PacketKey};

/// The families a rule is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fam {
    Both,
    Ip,
    Ip6,
}

/// An address prefix; an IPv4 address is the low 32 bits. Host bits clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net {
    pub addr: u128,
    pub len: u8,
}

/// A rule in canonical form: two rules are the same rule exactly when they
/// are equal (README: "Two rules with the same canonical form are the same
/// rule").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefRule {
    pub family: Fam,
    pub proto: Option<u8>,
    pub saddr: Option<Net>,
    pub daddr: Option<Net>,
    /// Inclusive port range.
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub iif: Option<Vec<u8>>,
    pub oif: Option<Vec<u8>>,
    pub oneway: bool,
}

/// README: "Ports need tcp, udp, udplite, sctp or dccp."
pub const PORT_PROTOS: [u8; 5] = [6, 17, 136, 132, 33];

/// README: the protocol names of the grammar.
pub const PROTO_NAMES: [(&str, u8); 10] = [
    ("tcp", 6),
    ("udp", 17),
    ("udplite", 136),
    ("sctp", 132),
    ("dccp", 33),
    ("icmp", 1),
    ("icmpv6", 58),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
];

/// README: "At most 65536 rules."
pub const MAX_RULES: usize = 65536;

/// README: interface names are 1 to 15 bytes.
pub const NAME_MAX: usize = 15;

fn width(fam: Fam) -> u32 {
    if fam == Fam::Ip6 {
        128
    } else {
        32
    }
}

/// The top `len` bits of a `w`-bit value, as a mask.
pub fn mask(w: u32, len: u8) -> u128 {
    let all = if w == 128 {
        u128::MAX
    } else {
        (1u128 << w) - 1
    };
    if len == 0 {
        0
    } else {
        all & !((1u128 << (w - u32::from(len))) - 1) & all
    }
}

impl Net {
    fn contains(&self, w: u32, a: u128) -> bool {
        let a = if w == 32 { a & 0xffff_ffff } else { a };
        a & mask(w, self.len) == self.addr
    }
}

fn name_is(name: &[u8], n: &IfName) -> bool {
    let b = n.bytes();
    let len = b.iter().position(|&c| c == 0).unwrap_or(16);
    &b[..len] == name
}

impl RefRule {
    /// README: "A packet matches a rule when every field given matches";
    /// "Without `oneway` a rule also matches the reverse direction
    /// (addresses, ports and `iif`/`oif` swapped)".
    pub fn matches(&self, k: &PacketKey) -> bool {
        self.matches_forward(k) || (!self.oneway && self.matches_backward(k))
    }

    /// The packet as written in the rule: saddr is the packet's source, etc.
    pub fn matches_forward(&self, k: &PacketKey) -> bool {
        self.fields_match(k, k.saddr, k.daddr, k.sport, k.dport, &k.iif, &k.oif)
    }

    /// The reply direction: the rule's source is the packet's destination,
    /// its source port the packet's destination port, its input device the
    /// packet's output device, and the other way round.
    pub fn matches_backward(&self, k: &PacketKey) -> bool {
        self.fields_match(k, k.daddr, k.saddr, k.dport, k.sport, &k.oif, &k.iif)
    }

    #[allow(clippy::too_many_arguments)]
    fn fields_match(
        &self,
        k: &PacketKey,
        src: u128,
        dst: u128,
        sport: u16,
        dport: u16,
        indev: &IfName,
        outdev: &IfName,
    ) -> bool {
        let fam_ok = match self.family {
            Fam::Both => true,
            Fam::Ip => !k.v6,
            Fam::Ip6 => k.v6,
        };
        let w = if k.v6 { 128 } else { 32 };
        let in_range = |r: Option<(u16, u16)>, p: u16| r.is_none_or(|(lo, hi)| lo <= p && p <= hi);
        fam_ok
            && self.proto.is_none_or(|p| p == k.proto)
            && self.saddr.is_none_or(|n| n.contains(w, src))
            && self.daddr.is_none_or(|n| n.contains(w, dst))
            && ((self.sport.is_none() && self.dport.is_none()) || k.has_ports)
            && in_range(self.sport, sport)
            && in_range(self.dport, dport)
            && self.iif.as_ref().is_none_or(|n| name_is(n, indev))
            && self.oif.as_ref().is_none_or(|n| name_is(n, outdev))
    }
}

/// README: "A packet's hit is counted for the earliest rule (in `rules`
/// order) that matches it."
pub fn first_match(rules: &[RefRule], k: &PacketKey) -> Option<u32> {
    rules.iter().position(|r| r.matches(k)).map(|i| i as u32)
}

// ---------------------------------------------------------------- printing

fn fmt_net(f: &mut fmt::Formatter<'_>, fam: Fam, n: &Net) -> fmt::Result {
    if fam == Fam::Ip6 {
        write!(f, "{}", Ipv6Addr::from(n.addr))?;
    } else {
        write!(f, "{}", Ipv4Addr::from(n.addr as u32))?;
    }
    if u32::from(n.len) != width(fam) {
        write!(f, "/{}", n.len)?;
    }
    Ok(())
}

fn fmt_ports(f: &mut fmt::Formatter<'_>, (lo, hi): (u16, u16)) -> fmt::Result {
    if lo == hi {
        write!(f, "{lo}")
    } else {
        write!(f, "{lo}-{hi}")
    }
}

/// README: "Everything reads back in canonical form: grammar order, host
/// bits cleared, full prefixes left out, IPv6 compressed, the family printed
/// whenever the rule is limited to one"; `proto 6` as `tcp`.
impl fmt::Display for RefRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        let mut word = |f: &mut fmt::Formatter<'_>, w: &str| -> fmt::Result {
            let r = write!(f, "{sep}{w}");
            sep = " ";
            r
        };
        match self.family {
            Fam::Both => {}
            Fam::Ip => word(f, "ip")?,
            Fam::Ip6 => word(f, "ip6")?,
        }
        if let Some(p) = self.proto {
            match PROTO_NAMES.iter().find(|(_, n)| *n == p) {
                Some((name, _)) => word(f, name)?,
                None => {
                    word(f, "proto")?;
                    write!(f, " {p}")?;
                }
            }
        }
        if let Some(n) = &self.saddr {
            word(f, "saddr ")?;
            fmt_net(f, self.family, n)?;
        }
        if let Some(n) = &self.daddr {
            word(f, "daddr ")?;
            fmt_net(f, self.family, n)?;
        }
        if let Some(p) = self.sport {
            word(f, "sport ")?;
            fmt_ports(f, p)?;
        }
        if let Some(p) = self.dport {
            word(f, "dport ")?;
            fmt_ports(f, p)?;
        }
        if let Some(n) = &self.iif {
            word(f, "iif ")?;
            f.write_str(core::str::from_utf8(n).unwrap_or("?"))?;
        }
        if let Some(n) = &self.oif {
            word(f, "oif ")?;
            f.write_str(core::str::from_utf8(n).unwrap_or("?"))?;
        }
        if self.oneway {
            word(f, "oneway")?;
        }
        Ok(())
    }
}

// ----------------------------------------------------------------- parsing

/// README: "keywords are lower case, separated by blanks".
pub fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// The words of one rule's text.
pub fn words(s: &[u8]) -> Vec<&[u8]> {
    s.split(|&b| is_blank(b))
        .filter(|w| !w.is_empty())
        .collect()
}

/// A keyword of the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kw {
    Family(Fam),
    Proto(u8),
    ProtoN,
    Saddr,
    Daddr,
    Sport,
    Dport,
    Iif,
    Oif,
    Oneway,
}

impl Kw {
    fn takes_value(self) -> bool {
        !matches!(self, Kw::Family(_) | Kw::Proto(_) | Kw::Oneway)
    }
}

const KEYWORDS: [(&str, Kw); 20] = [
    ("ip", Kw::Family(Fam::Ip)),
    ("ip6", Kw::Family(Fam::Ip6)),
    ("tcp", Kw::Proto(6)),
    ("udp", Kw::Proto(17)),
    ("udplite", Kw::Proto(136)),
    ("sctp", Kw::Proto(132)),
    ("dccp", Kw::Proto(33)),
    ("icmp", Kw::Proto(1)),
    ("icmpv6", Kw::Proto(58)),
    ("gre", Kw::Proto(47)),
    ("esp", Kw::Proto(50)),
    ("ah", Kw::Proto(51)),
    ("proto", Kw::ProtoN),
    ("saddr", Kw::Saddr),
    ("daddr", Kw::Daddr),
    ("sport", Kw::Sport),
    ("dport", Kw::Dport),
    ("iif", Kw::Iif),
    ("oif", Kw::Oif),
    ("oneway", Kw::Oneway),
];

fn keyword(w: &[u8]) -> Option<Kw> {
    KEYWORDS
        .iter()
        .find(|(n, _)| n.as_bytes() == w)
        .map(|&(_, k)| k)
}

/// A decimal number of any number of digits (leading zeros allowed), at
/// most `max`.
fn number(w: &[u8], max: u32) -> Option<u32> {
    if w.is_empty() || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u32 = 0;
    for &d in w {
        v = v.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

/// README: `PORTS := N | N-M (0 <= N <= M <= 65535)`.
fn ports(w: &[u8]) -> Option<(u16, u16)> {
    let (lo, hi) = match w.iter().position(|&b| b == b'-') {
        Some(i) => (number(&w[..i], 65535)?, number(&w[i + 1..], 65535)?),
        None => {
            let n = number(w, 65535)?;
            (n, n)
        }
    };
    (lo <= hi).then_some((lo as u16, hi as u16))
}

/// README: `CIDR := IPv4 or IPv6 address, optionally /LEN`; host bits are
/// cleared. The address's family comes with it.
fn cidr(w: &[u8]) -> Option<(Fam, Net)> {
    let s = core::str::from_utf8(w).ok()?;
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let (fam, addr) = if let Ok(v4) = a.parse::<Ipv4Addr>() {
        (Fam::Ip, u128::from(u32::from(v4)))
    } else if let Ok(v6) = a.parse::<Ipv6Addr>() {
        (Fam::Ip6, u128::from(v6))
    } else {
        return None;
    };
    let w = width(fam);
    let len = match len {
        Some(l) => number(l.as_bytes(), w)? as u8,
        None => w as u8,
    };
    Some((
        fam,
        Net {
            addr: addr & mask(w, len),
            len,
        },
    ))
}

/// README: `NAME := network interface name, 1 to 15 bytes (visible ASCII,
/// no '/' or ':')`; see the module doc for `.` and `..`.
fn ifname(w: &[u8]) -> Option<Vec<u8>> {
    let ok = !w.is_empty()
        && w.len() <= NAME_MAX
        && w.iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'/' && b != b':')
        && w != b"."
        && w != b"..";
    ok.then(|| w.to_vec())
}

/// A rule being read: what its words so far say.
#[derive(Debug, Clone, Default)]
struct Draft {
    family: Option<Fam>,
    proto: Option<u8>,
    saddr: Option<(Fam, Net)>,
    daddr: Option<(Fam, Net)>,
    sport: Option<(u16, u16)>,
    dport: Option<(u16, u16)>,
    iif: Option<Vec<u8>>,
    oif: Option<Vec<u8>>,
    oneway: bool,
}

impl Draft {
    /// The family the words imply so far, or None on a conflict. README:
    /// "The family is implied by addresses, `icmp` (ip) and `icmpv6` (ip6);
    /// a conflict is an error."
    fn implied(&self) -> Option<Fam> {
        let from_proto = match self.proto {
            Some(1) => Some(Fam::Ip),
            Some(58) => Some(Fam::Ip6),
            _ => None,
        };
        let mut fam = Fam::Both;
        for f in [
            self.family,
            from_proto,
            self.saddr.map(|a| a.0),
            self.daddr.map(|a| a.0),
        ]
        .into_iter()
        .flatten()
        {
            if fam != Fam::Both && fam != f {
                return None;
            }
            fam = f;
        }
        Some(fam)
    }

    /// Whether more words could still make this a rule.
    fn can_finish(&self) -> bool {
        let ports = self.sport.is_some() || self.dport.is_some();
        self.implied().is_some()
            && !(ports && self.proto.is_some_and(|p| !PORT_PROTOS.contains(&p)))
    }

    fn used(&self, k: Kw) -> bool {
        match k {
            Kw::Family(_) => self.family.is_some(),
            Kw::Proto(_) | Kw::ProtoN => self.proto.is_some(),
            Kw::Saddr => self.saddr.is_some(),
            Kw::Daddr => self.daddr.is_some(),
            Kw::Sport => self.sport.is_some(),
            Kw::Dport => self.dport.is_some(),
            Kw::Iif => self.iif.is_some(),
            Kw::Oif => self.oif.is_some(),
            Kw::Oneway => self.oneway,
        }
    }

    /// Applies a keyword and its value; Err names what is wrong.
    fn set(&mut self, k: Kw, v: &[u8]) -> Result<(), &'static str> {
        if self.used(k) {
            return Err("repeated keyword or second protocol");
        }
        match k {
            Kw::Family(f) => self.family = Some(f),
            Kw::Proto(p) => self.proto = Some(p),
            Kw::ProtoN => self.proto = Some(number(v, 255).ok_or("bad protocol number")? as u8),
            Kw::Saddr => self.saddr = Some(cidr(v).ok_or("bad address")?),
            Kw::Daddr => self.daddr = Some(cidr(v).ok_or("bad address")?),
            Kw::Sport => self.sport = Some(ports(v).ok_or("bad port or port range")?),
            Kw::Dport => self.dport = Some(ports(v).ok_or("bad port or port range")?),
            Kw::Iif => self.iif = Some(ifname(v).ok_or("bad interface name")?),
            Kw::Oif => self.oif = Some(ifname(v).ok_or("bad interface name")?),
            Kw::Oneway => self.oneway = true,
        }
        if self.can_finish() {
            Ok(())
        } else if self.implied().is_none() {
            Err("address family conflict")
        } else {
            Err("ports need tcp, udp, udplite, sctp or dccp")
        }
    }

    /// Whether keyword `k` may come next, with some value.
    fn may_take(&self, k: Kw) -> bool {
        match k {
            Kw::Sport | Kw::Dport => {
                !self.used(k) && self.proto.is_none_or(|p| PORT_PROTOS.contains(&p))
            }
            // Any family can find an address of its own, and `proto 6`
            // fits any rule that may have a protocol.
            Kw::Saddr | Kw::Daddr | Kw::Iif | Kw::Oif | Kw::ProtoN => !self.used(k),
            _ => self.clone().set(k, b"").is_ok(),
        }
    }

    fn finish(self) -> Result<RefRule, &'static str> {
        let family = self.implied().ok_or("address family conflict")?;
        if (self.sport.is_some() || self.dport.is_some())
            && !self.proto.is_some_and(|p| PORT_PROTOS.contains(&p))
        {
            return Err("ports need tcp, udp, udplite, sctp or dccp");
        }
        // README: "A rule needs at least one field" (`oneway` is none).
        let fields = self.family.is_some()
            || self.proto.is_some()
            || self.saddr.is_some()
            || self.daddr.is_some()
            || self.sport.is_some()
            || self.dport.is_some()
            || self.iif.is_some()
            || self.oif.is_some();
        if !fields {
            return Err("rule has no field");
        }
        Ok(RefRule {
            family,
            proto: self.proto,
            saddr: self.saddr.map(|a| a.1),
            daddr: self.daddr.map(|a| a.1),
            sport: self.sport,
            dport: self.dport,
            iif: self.iif,
            oif: self.oif,
            oneway: self.oneway,
        })
    }
}

/// One rule from its text (no `;`, `#` or newline in it); `Ok(None)` for a
/// blank text.
pub fn parse_rule(text: &[u8]) -> Result<Option<RefRule>, &'static str> {
    let ws = words(text);
    if ws.is_empty() {
        return Ok(None);
    }
    let mut d = Draft::default();
    let mut it = ws.iter();
    while let Some(w) = it.next() {
        let k = keyword(w).ok_or("unknown keyword")?;
        let v: &[u8] = if k.takes_value() {
            it.next().ok_or("missing value")?
        } else {
            b""
        };
        d.set(k, v)?;
    }
    d.finish().map(Some)
}

/// A rule text's error: its line (from 1) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    pub line: usize,
    pub why: &'static str,
}

/// The rules of a text, in order, repeats included. README: "One rule per
/// line; `;` also ends a rule; `#` starts a comment to the end of the line".
pub fn parse_text(text: &[u8]) -> Result<Vec<RefRule>, RefError> {
    let mut v = Vec::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = &line[..line.iter().position(|&b| b == b'#').unwrap_or(line.len())];
        for r in line.split(|&b| b == b';') {
            match parse_rule(r) {
                Ok(Some(r)) => v.push(r),
                Ok(None) => {}
                Err(why) => return Err(RefError { line: i + 1, why }),
            }
        }
    }
    Ok(v)
}

/// The rules of a text with repeats dropped (first occurrence kept): the
/// set a `rules` write of it makes.
pub fn parse_set(text: &[u8]) -> Result<Vec<RefRule>, RefError> {
    Ok(dedup(parse_text(text)?))
}

/// Drops repeats, keeping first occurrences.
pub fn dedup(v: Vec<RefRule>) -> Vec<RefRule> {
    let mut seen = std::collections::HashSet::new();
    v.into_iter().filter(|r| seen.insert(r.clone())).collect()
}

// ------------------------------------------- could more bytes make a rule?

/// Whether some text that starts with `s` (the unfinished end of a rules
/// text: no newline, `;` or `#`) is a rule. README: "An end that ctskip
/// can tell no bytes could make a rule (an unknown or repeated keyword, `udp
/// dport 99999`) is refused at once; any other unfinished end ... waits for
/// the close". README gap: which ends ctskip "can tell" is not said; this
/// answers exactly, for every end (see `cut_word_checked_alone` in lib.rs
/// for the ends the module holds anyway).
pub fn could_become_rule(s: &[u8]) -> bool {
    let ws = words(s);
    let (done, part): (&[&[u8]], Option<&[u8]>) = match s.last() {
        Some(&b) if !is_blank(b) => (&ws[..ws.len() - 1], Some(ws[ws.len() - 1])),
        _ => (&ws[..], None),
    };
    let mut d = Draft::default();
    let mut pending: Option<Kw> = None;
    for w in done {
        match pending.take() {
            Some(k) => {
                if d.set(k, w).is_err() {
                    return false;
                }
            }
            None => {
                let Some(k) = keyword(w) else { return false };
                if !d.may_take(k) {
                    return false;
                }
                if k.takes_value() {
                    pending = Some(k);
                } else if d.set(k, b"").is_err() {
                    return false;
                }
            }
        }
    }
    match (pending, part) {
        (_, None) => true,
        (Some(k), Some(p)) => value_could_be(&d, k, p),
        (None, Some(p)) => KEYWORDS
            .iter()
            .any(|&(n, k)| n.as_bytes().starts_with(p) && d.may_take(k)),
    }
}

/// Whether some value for keyword `k` that starts with `p` fits `d`.
fn value_could_be(d: &Draft, k: Kw, p: &[u8]) -> bool {
    let fits = |v: &[u8]| d.clone().set(k, v).is_ok();
    let digits = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    // A number that starts with digits `p` is `p` itself or `p` followed by
    // more digits, which only makes it larger.
    let num_prefix =
        |p: &[u8], max: u32| -> bool { digits(p) && (p.is_empty() || number(p, max).is_some()) };
    match k {
        Kw::ProtoN => {
            digits(p)
                && (0..=255u32).any(|n| {
                    let s = std::format!("{n}");
                    // `p` may carry leading zeros: compare its value's digits.
                    let q = strip_zeros(p);
                    (s.as_bytes().starts_with(q) || q.is_empty()) && fits(s.as_bytes())
                })
        }
        Kw::Sport | Kw::Dport => match p.iter().position(|&b| b == b'-') {
            None => num_prefix(p, 65535),
            Some(i) => {
                let Some(lo) = number(&p[..i], 65535) else {
                    return false;
                };
                let q = strip_zeros(&p[i + 1..]);
                digits(q)
                    && (lo..=65535u32)
                        .any(|m| std::format!("{m}").as_bytes().starts_with(q) || q.is_empty())
            }
        },
        Kw::Saddr | Kw::Daddr => match p.iter().position(|&b| b == b'/') {
            Some(i) => {
                let addr = &p[..i];
                if !fits(addr) {
                    return false;
                }
                let w = if cidr(addr).is_some_and(|(f, _)| f == Fam::Ip6) {
                    128
                } else {
                    32
                };
                let q = strip_zeros(&p[i + 1..]);
                digits(q) && (q.is_empty() || number(q, w).is_some())
            }
            None => ADDR_ENDS.iter().any(|end| {
                let mut v = p.to_vec();
                v.extend_from_slice(end.as_bytes());
                fits(&v)
            }),
        },
        Kw::Iif | Kw::Oif => ifname(p).is_some() || p == b"." || p == b"..",
        Kw::Family(_) | Kw::Proto(_) | Kw::Oneway => false,
    }
}

fn strip_zeros(p: &[u8]) -> &[u8] {
    let i = p.iter().position(|&b| b != b'0').unwrap_or(p.len());
    &p[i..]
}

/// Endings that complete any start of an address text that some address
/// text starts with: nothing; a zero group or `::` (IPv6); the missing
/// octets of a dotted quad (IPv4, or IPv6's last 32 bits).
const ADDR_ENDS: [&str; 13] = [
    "",
    "0",
    ":",
    "::",
    ":0",
    "::0",
    ".0",
    ".0.0",
    ".0.0.0",
    "0.0",
    "0.0.0",
    "0.0.0.0",
    "::0.0.0.0",
];

/// What the end of a text (after its last newline or `;`, with no `#`)
/// is: nothing, a whole rule, the start of a rule, or never a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTail {
    Empty,
    Rule(RefRule),
    Unfinished,
    Never(&'static str),
}

/// Splits a text into its complete part (every rule ended by a newline, a
/// `;` or a `#` comment) and the classified unfinished end.
pub fn split_tail(text: &[u8]) -> (&[u8], RefTail) {
    let line_start = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let last = &text[line_start..];
    if last.contains(&b'#') {
        return (text, RefTail::Empty);
    }
    let cut = last
        .iter()
        .rposition(|&b| b == b';')
        .map_or(line_start, |i| line_start + i + 1);
    let (done, end) = text.split_at(cut);
    let tail = match parse_rule(end) {
        Ok(None) => RefTail::Empty,
        Ok(Some(r)) => RefTail::Rule(r),
        Err(_) if could_become_rule(end) => RefTail::Unfinished,
        Err(why) => RefTail::Never(why),
    };
    (done, tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    fn canon(t: &str) -> String {
        match parse_text(t.as_bytes()) {
            Ok(v) => v
                .iter()
                .map(|r| format!("{r}"))
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => format!("ERR {}", e.why),
        }
    }

    #[test]
    fn readme_examples() {
        assert_eq!(
            canon("tcp daddr 2001:db8::1/32"),
            "ip6 tcp daddr 2001:db8::/32"
        );
        assert_eq!(canon("proto 6"), "tcp");
        assert_eq!(
            canon("dport 53 udp # c\n\n;ip6 udp dport 4789"),
            "udp dport 53; ip6 udp dport 4789"
        );
        assert_eq!(canon("udp dport 70000"), "ERR bad port or port range");
        assert_eq!(canon("tcp dport"), "ERR missing value");
        assert_eq!(canon("icmp saddr ::1"), "ERR address family conflict");
        assert_eq!(
            canon("gre dport 1"),
            "ERR ports need tcp, udp, udplite, sctp or dccp"
        );
        assert_eq!(canon("oneway"), "ERR rule has no field");
        assert_eq!(
            canon("oneway sport 1-2 saddr 10.1.2.3/8 iif eth0 tcp"),
            "ip tcp saddr 10.0.0.0/8 sport 1-2 iif eth0 oneway"
        );
    }

    #[test]
    fn tails() {
        for held in [
            "u",
            "udp d",
            "udp dport",
            "dport 53",
            "ip saddr 10.0.",
            "ip6 daddr 2001:d",
            "tcp dport 100-",
            "iif et",
            "oneway",
            "udp dport 53 one",
            "saddr 1:2:3:4:5:6:1.2",
            "udp dport 6-5",
        ] {
            assert!(could_become_rule(held.as_bytes()), "{held:?}");
        }
        for bad in [
            "b",
            "bogus",
            "udp dport 99999",
            "udp dport 7000x",
            "udp udp",
            "tcp ud",
            "ip6 ip",
            "proto 256",
            "ip daddr 2001:db8::1 ",
            "udp dport 1 dport 2",
            "iif a/b",
            "ip saddr 10.0.0.x",
            "gre dport 80",
            "esp dport 5 ",
            "ip6 saddr 10.0.0.1 dp",
            "dport 80 gre ",
            "saddr 10.0.0.0/33",
            "saddr 12345",
            "saddr 1:2:3:4:5:6:7:8:",
            "iif eeeeeeeeeeeeeeee",
        ] {
            assert!(!could_become_rule(bad.as_bytes()), "{bad:?}");
        }
    }
}
