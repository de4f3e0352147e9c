//! Host build of ctskip's kernel-free core: the very files the module compiles
//! (`src/rules/`), built `no_std` here too, with `Vec` as the allocator.

#![no_std]

extern crate std;

extern crate alloc;

use alloc::vec::Vec;

#[path = "../../src/rules/mod.rs"]
pub mod rules;

// The pure parts of the module's safe kernel layer (src/kapi): no kernel
// calls, so they build here too. Tested below (their items are crate-private).
#[path = "../../src/kapi/args.rs"]
#[allow(dead_code)]
mod kapi_args;
#[path = "../../src/kapi/window.rs"]
#[allow(dead_code)]
mod kapi_window;

use rules::{Alloc, Buf, NoMem};

/// The host allocator: plain `Vec` (growth failures abort, as usual in std).
pub struct Host;

impl Alloc for Host {
    type Buf<T: Copy> = Vec<T>;
}

impl<T: Copy> Buf<T> for Vec<T> {
    fn with_capacity(n: usize) -> Result<Self, NoMem> {
        let mut v = Vec::new();
        v.try_reserve(n).map_err(|_| NoMem)?;
        Ok(v)
    }

    fn push(&mut self, v: T) -> Result<(), NoMem> {
        self.try_reserve(1).map_err(|_| NoMem)?;
        Vec::push(self, v);
        Ok(())
    }

    fn truncate(&mut self, n: usize) {
        Vec::truncate(self, n);
    }
}

/// Parses `text` into rules (test helper).
pub fn parse(text: &str) -> Result<Vec<rules::Rule>, alloc::string::String> {
    let mut v = Vec::new();
    rules::parse_rules::<()>(text.as_bytes(), |r| {
        v.push(r);
        Ok(())
    })
    .map_err(|e| match e {
        Ok(p) => alloc::format!("{p}"),
        Err(()) => alloc::string::String::from("callback"),
    })?;
    Ok(v)
}

/// Canonical text of a rule (test helper).
pub fn canon(r: &rules::Rule) -> alloc::string::String {
    alloc::format!("{r}")
}

/// The fuzz oracle, shared by the cargo-fuzz target (`fuzz/`) and the corpus
/// replay in `tests/fuzz_corpus.rs`: nothing panics; every rule that parses
/// prints canonically and parses back to itself; the set operations agree
/// with a plain model; the classifier agrees with the reference matcher.
pub fn fuzz_check(data: &[u8]) {
    use rules::{plan_add, plan_del, plan_replace, Classifier, PacketKey, Rule, SetError};

    // The rule text runs up to the first 0xff byte (never valid in a rule);
    // the bytes after it make packet keys.
    let (text, keys) = match data.iter().position(|&b| b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };

    let mut parsed: Vec<Rule> = Vec::new();
    let res = rules::parse_rules::<()>(text, |r| {
        parsed.push(r);
        Ok(())
    });
    for r in &parsed {
        let c = alloc::format!("{r}");
        let back = parse(&c).unwrap_or_else(|e| panic!("canonical {c:?} does not parse: {e}"));
        assert_eq!(back, [*r], "round trip of {c:?}");
        assert_eq!(alloc::format!("{}", back[0]), c, "canonical text is stable");
    }
    // Replace: the parsed rules, first occurrences, or the same error.
    let mut uniq: Vec<Rule> = Vec::new();
    for r in &parsed {
        if !uniq.contains(r) {
            uniq.push(*r);
        }
    }
    match (plan_replace::<Host>(&[], text), &res) {
        (Ok(p), Ok(())) => assert!(p.iter().map(|p| p.rule).eq(uniq.iter().copied())),
        (Err(SetError::Parse(_)), Err(_)) => {}
        (got, want) => panic!("replace: {got:?} vs parse {want:?}"),
    }
    if res.is_ok() && !uniq.is_empty() {
        // Add to half of the set, then delete it again.
        let half = &uniq[..uniq.len() / 2];
        let added = plan_add::<Host>(half, text).unwrap();
        assert!(added.iter().map(|p| p.rule).eq(half.iter().chain(uniq.iter().filter(|r| !half.contains(r))).copied()));
        let all: Vec<Rule> = added.iter().map(|p| p.rule).collect();
        assert!(plan_del::<Host>(&all, text).unwrap().is_empty());
        if !half.is_empty() && half.len() < uniq.len() {
            assert!(matches!(plan_del::<Host>(half, text), Err(SetError::NotFound(_))));
        }
    }
    // Classifier vs reference on keys made from the remaining bytes.
    let set = &uniq[..uniq.len().min(64)];
    let c = Classifier::<Host>::build(set).unwrap();
    for chunk in keys.chunks(12) {
        let mut b = [0u8; 12];
        b[..chunk.len()].copy_from_slice(chunk);
        // Addresses come from the rules (so keys hit them) or from the bytes.
        let pick = |sel: u8, v6: bool| -> u128 {
            let r = set.get(sel as usize % set.len().max(1));
            let from_rule = r.and_then(|r| if sel & 0x80 != 0 { r.saddr } else { r.daddr });
            match from_rule {
                Some(p) => p.addr | u128::from(sel & 3),
                None if v6 => u128::from(sel) << 100 | 1,
                None => u128::from(0x0a00_0000u32 | u32::from(sel)),
            }
        };
        // Protocol and ports too: mostly taken from a rule, so keys hit rules
        // (and often several at once).
        let r = set.get(b[1] as usize % set.len().max(1));
        let v6 = match r.map(|r| r.family) {
            Some(rules::Family::V4) if b[0] & 4 == 0 => false,
            Some(rules::Family::V6) if b[0] & 4 == 0 => true,
            _ => b[0] & 1 != 0,
        };
        let proto = match r.and_then(|r| r.proto) {
            Some(p) if b[0] & 8 == 0 => p,
            _ => b[1],
        };
        let port = |sel: u8, range: Option<rules::PortRange>| match range {
            Some(p) if sel & 1 == 0 => p.lo.saturating_add(u16::from(sel >> 5)),
            _ => u16::from(sel) * 257,
        };
        let k = PacketKey {
            v6,
            proto,
            saddr: pick(b[2], v6),
            daddr: pick(b[3], v6),
            has_ports: b[0] & 2 == 0,
            sport: port(b[4], r.and_then(|r| if b[5] & 1 == 0 { r.sport } else { r.dport })),
            dport: port(b[6], r.and_then(|r| if b[7] & 1 == 0 { r.dport } else { r.sport })),
            iif: rules::IfName::from_bytes(if b[8] & 1 != 0 { b"eth0" } else { b"" }),
            oif: rules::IfName::from_bytes(if b[9] & 1 != 0 { b"veth1" } else { b"" }),
        };
        let want = set.iter().position(|r| r.matches(&k)).map(|i| i as u32);
        assert_eq!(c.lookup(&k), want, "key {k:?} rules {set:?}");
    }
}

/// The safe layer's pure parts: the module's argument string split as the
/// kernel splits it (and a `rules` value cut at blanks found), and where
/// header bytes lie in an skb's linear data.
#[cfg(test)]
mod kapi_pure {
    use crate::kapi_args::{split, split_rules};
    use crate::kapi_window::Linear;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    fn words(s: &str) -> Vec<(String, Option<String>)> {
        split(s.as_bytes())
            .map(|a| {
                (String::from_utf8_lossy(a.name).into_owned(), a.value.map(|v| String::from_utf8_lossy(v).into_owned()))
            })
            .collect()
    }

    #[test]
    fn splits_like_the_kernel() {
        let w = |n: &str, v: Option<&str>| (n.to_string(), v.map(str::to_string));
        assert_eq!(words("rules=udp dport 53"), [w("rules", Some("udp")), w("dport", None), w("53", None)]);
        assert_eq!(words(" rules=\"udp dport 53; tcp dport 80\"  priority=-250 "), [
            w("rules", Some("udp dport 53; tcp dport 80")),
            w("priority", Some("-250"))
        ]);
        assert_eq!(words("\"rules=udp dport 53\""), [w("rules", Some("udp dport 53"))]);
        assert_eq!(words("enabled"), [w("enabled", None)]);
        assert_eq!(words(""), []);
    }

    #[test]
    fn finds_a_split_rules_value() {
        let s = split_rules(b"rules=udp dport 53").unwrap();
        assert_eq!((s.kept, s.stray), (&b"udp"[..], &b"dport 53"[..]));
        let s = split_rules(b"priority=-250 rules=udp dport 53 enabled=0").unwrap();
        assert_eq!((s.kept, s.stray), (&b"udp"[..], &b"dport 53"[..]));
        let s = split_rules(b"rules=ip6 udp dport 53 -- x").unwrap();
        assert_eq!((s.kept, s.stray), (&b"ip6"[..], &b"udp dport 53"[..]));
        for fine in [
            "rules=udp",
            "rules=\"udp dport 53\"",
            "rules=\"udp dport 53; tcp dport 80\" priority=-250 enabled=0",
            "priority=-250",
            "",
            "unknown=1 rules=udp",
            "rules=udp priority=-201",
            "rules=\"udp dport 53\" x",
            "rules=\"udp dport 53\" dyndbg=+p",
            "rules=udp dyndbg=+p",
            "rules=udp async_probe",
            "rules=udp -- dport 53",
            "rules=udp foo=1",
        ] {
            assert_eq!(split_rules(fine.as_bytes()), None, "{fine:?}");
        }
    }

    fn skb(head: usize, data: usize, nh: u16, len: u32, data_len: u32) -> Linear {
        Linear { head, data, network_header: nh, len, data_len }
    }

    #[test]
    fn linear_window_as_skb_header_pointer() {
        // Network header at data (PRE_ROUTING): 40 linear bytes.
        let s = skb(1000, 1064, 64, 100, 60);
        assert_eq!(s.find(0, 20), Some(0));
        assert_eq!(s.find(20, 20), Some(20));
        assert_eq!(s.find(21, 20), None, "one byte past the linear data");
        assert_eq!(s.find(40, 0), Some(40));
        // Network header after data (a link header in front): offset moves.
        let s = skb(1000, 1050, 64, 100, 0);
        assert_eq!(s.find(0, 4), Some(14));
        assert_eq!(s.find(82, 4), Some(96));
        assert_eq!(s.find(83, 4), None);
        // Network header before data (headroom): slow path.
        let s = skb(1000, 1070, 64, 100, 0);
        assert_eq!(s.find(0, 4), None);
        assert_eq!(s.find(6, 4), Some(0));
        // Broken or huge values never wrap.
        assert_eq!(skb(1000, 1064, 64, 10, 20).find(0, 1), None, "data_len > len");
        assert_eq!(skb(usize::MAX - 10, 0, 64, 100, 0).find(0, 1), None);
        assert_eq!(skb(1000, 1064, 64, 100, 0).find(usize::MAX, 4), None);
    }
}
