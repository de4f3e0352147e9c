//! Host build of ctskip's kernel-free core: the very files the module compiles
//! (`src/rules/`), built `no_std` here too, with `Vec` as the allocator.

#![no_std]

extern crate std;

extern crate alloc;

use alloc::vec::Vec;

#[path = "../../src/rules/mod.rs"]
pub mod rules;

/// The independent oracle: the rule language and matching written from
/// README.md, importing nothing from `rules` but the packet key.
#[path = "src/reference.rs"]
pub mod reference;

// The pure parts of the module's safe kernel layer (src/kapi): no kernel
// calls, so they build here too. Tested below (their items are crate-private).
#[path = "../../src/kapi/args.rs"]
#[allow(dead_code)]
mod kapi_args;
#[path = "../../src/kapi/window.rs"]
#[allow(dead_code)]
mod kapi_window;
// How /proc/net/ctskip's counters follow from the hook's per-CPU slots.
#[path = "../../src/counters.rs"]
#[allow(dead_code)]
mod counters;

use rules::{classify, Alloc, Buf, NoMem};

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

/// A packet key made from 12 bytes, aimed at the rules of `set` (the
/// reference's rules, so the key's shape owes nothing to the module): most
/// fields are taken from a chosen rule, then nudged onto or just past its
/// edges (a prefix's first address outside, a port range's ends and their
/// neighbours), and the key may be turned around so it hits the rule in the
/// reply direction. Shared by the fuzz oracle and the property tests.
pub fn key_for(set: &[reference::RefRule], b: &[u8; 12]) -> rules::PacketKey {
    use reference::{mask, Fam, Net};
    let r = set.get(usize::from(b[1]) % set.len().max(1));
    let v6 = match r.map(|r| r.family) {
        Some(Fam::Ip) if b[0] & 4 == 0 => false,
        Some(Fam::Ip6) if b[0] & 4 == 0 => true,
        _ => b[0] & 1 != 0,
    };
    let noise = |sel: u8| {
        u128::from(sel).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ u128::from(b[10])
    };
    // An address inside the prefix (host bits from the selector), the first
    // one outside it (its last prefix bit flipped), or an unrelated one.
    // (The rule's own width: a key may be of the other family.)
    let nw = if r.is_some_and(|r| r.family == Fam::Ip6) {
        128
    } else {
        32
    };
    let addr = |sel: u8| -> u128 {
        let net: Option<Net> = r.and_then(|r| if sel & 0x80 != 0 { r.saddr } else { r.daddr });
        let a = match net {
            Some(n) if sel & 0x40 == 0 || n.len == 0 => n.addr | (noise(sel) & !mask(nw, n.len)),
            Some(n) => n.addr ^ (1u128 << (nw - u32::from(n.len))),
            None if sel & 0x20 != 0 => noise(sel),
            None if v6 => u128::from(sel) << 100 | 1,
            None => u128::from(0x0a00_0000u32 | u32::from(sel)),
        };
        if v6 {
            a
        } else {
            a & 0xffff_ffff
        }
    };
    let proto = match r.and_then(|r| r.proto) {
        Some(p) if b[0] & 8 == 0 => p,
        _ => [6, 17, 1, 58, 47, 132, 136, 33][usize::from(b[11] & 7)] ^ (b[11] & 0x80),
    };
    // A port range's ends and their neighbours, a point inside, or noise.
    let port = |sel: u8, range: Option<(u16, u16)>| match range {
        Some((lo, hi)) => match sel & 7 {
            0 => lo,
            1 => hi,
            2 => lo.wrapping_sub(1),
            3 => hi.wrapping_add(1),
            4 | 5 => lo + ((u32::from(hi - lo) * u32::from(sel >> 3)) / 31) as u16,
            _ => u16::from(sel) * 257,
        },
        None => u16::from(sel) * 257,
    };
    let pick_range = |sel: u8| r.and_then(|r| if sel & 0x80 == 0 { r.sport } else { r.dport });
    let name = |sel: u8, own: Option<&alloc::vec::Vec<u8>>| -> rules::IfName {
        match (sel & 3, own) {
            (0, Some(n)) | (1, Some(n)) => rules::IfName::from_bytes(n),
            (2, _) => rules::IfName::from_bytes(b"eth0"),
            _ => rules::IfName::from_bytes(b"veth1"),
        }
    };
    // Where the packet is: PRE_ROUTING has an input device only, LOCAL_OUT
    // an output one; keys with both or neither are checked as well.
    let (with_iif, with_oif) = match (b[0] >> 4) & 3 {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => (false, false),
    };
    let k = rules::PacketKey {
        v6,
        proto,
        saddr: addr(b[2]),
        daddr: addr(b[3]),
        has_ports: b[0] & 2 == 0,
        sport: port(b[4], pick_range(b[5])),
        dport: port(b[6], pick_range(b[7] ^ 0x80)),
        iif: if with_iif {
            name(b[8], r.and_then(|r| r.iif.as_ref()))
        } else {
            rules::IfName::default()
        },
        oif: if with_oif {
            name(b[9], r.and_then(|r| r.oif.as_ref()))
        } else {
            rules::IfName::default()
        },
    };
    if b[0] & 0x40 != 0 {
        reverse(&k)
    } else {
        k
    }
}

/// The other direction of a packet's flow: addresses, ports and devices
/// swapped (README: what a rule without `oneway` also matches).
pub fn reverse(k: &rules::PacketKey) -> rules::PacketKey {
    rules::PacketKey {
        saddr: k.daddr,
        daddr: k.saddr,
        sport: k.dport,
        dport: k.sport,
        iif: k.oif,
        oif: k.iif,
        ..*k
    }
}

/// The classifier of the longest prefix of `rules` whose build its bounds
/// accept, and that prefix's length. A refusal must be a bound's
/// ([`rules::BuildError::Limit`], never out of memory here), past its
/// bound, naming a rule of the set; the rules before the one it names are
/// tried next.
pub fn build_accepted(rules: &[rules::Rule]) -> (rules::Classifier<Host>, usize) {
    let mut m = rules.len();
    loop {
        match rules::Classifier::<Host>::build(&rules[..m]) {
            Ok(c) => return (c, m),
            Err(rules::BuildError::Limit(l)) => {
                assert!(l.count > l.max, "{l:?}");
                assert!((l.index as usize) < m, "{l:?}");
                assert_eq!(l.rule, rules[l.index as usize], "{l:?}");
                assert!(m > classify::LINEAR_MAX, "a small set is refused: {l:?}");
                m = (l.index as usize).min(m - 1);
            }
            Err(e) => panic!("{} rules: {e:?}", m),
        }
    }
}

/// The work `c`'s lookup of `k` did is within the classifier's bounds (and
/// gives the answer `lookup` gave, `got`): at most [`classify::MAX_TABLES`]
/// hash tables visited (probed or skipped by their prefilter), no more than
/// the packet's bucket holds, each probe reading at most
/// [`classify::MAX_SLOTS`] slots and then searching at most
/// [`rules::limit::MAX_STEPS`] steps or trying [`classify::MAX_BOXES`]
/// boxes; at most [`classify::MAX_FLAT`] rule directions tested one by one;
/// and the same answer with the buckets' shared prefilters ignored.
pub fn check_bounds(c: &rules::Classifier<Host>, k: &rules::PacketKey, got: Option<u32>) {
    use classify::{MAX_BOXES, MAX_FLAT, MAX_SLOTS, MAX_TABLES};
    let (again, cost) = c.lookup_cost(k);
    assert_eq!(again, got, "lookup_cost and lookup disagree on {k:?}");
    let (tables, flats) = c.bucket_size(k.v6, k.proto);
    let visited = (cost.tables + cost.filtered) as usize;
    assert!(
        visited <= tables && tables <= MAX_TABLES,
        "{cost:?}: {tables} tables in the bucket of {k:?}"
    );
    assert!(
        cost.flats as usize <= flats.max(2 * classify::LINEAR_MAX) && flats <= MAX_FLAT,
        "{cost:?}: {flats} flat tests in the bucket of {k:?}"
    );
    assert_eq!(
        c.lookup_unmasked(k),
        got,
        "the shared prefilters skipped a match of {k:?}"
    );
    let probes = cost.tables as usize;
    assert!(cost.slots as usize <= probes * MAX_SLOTS, "{cost:?}");
    assert!(
        cost.steps as usize <= probes * rules::limit::MAX_STEPS,
        "{cost:?}"
    );
    assert!(cost.boxes as usize <= probes * MAX_BOXES, "{cost:?}");
    // And each probe on its own (the README's bound is per probe).
    assert!(cost.probe_slots as usize <= MAX_SLOTS, "{cost:?}");
    assert!(
        cost.probe_steps as usize <= rules::limit::MAX_STEPS,
        "{cost:?}"
    );
    assert!(cost.probe_boxes as usize <= MAX_BOXES, "{cost:?}");
}

/// Compares the module's classifier, built from `set`, with the README
/// reference's first match over `refs` (the same rules, read by the
/// reference parser) on `k` and on its reverse.
pub fn check_classifier(
    c: &rules::Classifier<Host>,
    refs: &[reference::RefRule],
    k: &rules::PacketKey,
) {
    for k in [*k, reverse(k)] {
        let want = reference::first_match(refs, &k);
        let got = c.lookup(&k);
        check_bounds(c, &k, got);
        // A small set of port rules is decided on the packet's head alone
        // (the hook's fast path): the same answer.
        if c.by_head() {
            assert_eq!(c.lookup_head(k.head()), want, "head of {k:?}");
        }
        // The usual packet as the hook reads it for a set naming no device
        // (whatever the packet's devices): its head and addresses.
        if refs.iter().all(|r| r.iif.is_none() && r.oif.is_none()) {
            let q = rules::Quick {
                head: k.head(),
                saddr: k.saddr,
                daddr: k.daddr,
            };
            assert_eq!(c.lookup_quick_outline(&q), want, "quick of {k:?}");
        }
        if got != want {
            let show = |i: Option<u32>| i.map(|i| alloc::format!("{i}: {}", refs[i as usize]));
            panic!(
                "classifier {:?} but the README reference {:?}\nkey {k:?}\n{} rules:\n{}",
                show(got),
                show(want),
                refs.len(),
                refs.iter()
                    .map(|r| alloc::format!("  {r}\n"))
                    .collect::<alloc::string::String>()
            );
        }
    }
}

/// The ends the module may hold although no bytes could make them a rule,
/// narrowly: whether the unfinished end of a text (after its last newline
/// or `;`, no `#`) is one that the module's `could_continue`
/// (src/rules/parse.rs) holds as unfinished for one of its two known
/// reasons:
///
/// 1. a word cut short is checked on its own, not against the words before
///    it: a keyword prefix (`gre dp`, `icmp ip6`, `sport 5 g`), a protocol
///    number (`sport 0 proto 5`: no protocol with ports starts with 5), or
///    an address value, checked for "their characters only" (`saddr
///    10.0.0.0/33`, `ip6 saddr 10.0.0.1`, `ip saddr :`);
/// 2. while a keyword still lacks its value, a family conflict among the
///    words before it is not seen (`icmp ip6 saddr `, `ip icmpv6 oif eth0`).
///
/// Such an end waits for the close (the write succeeds; then the text is
/// undone). README.md allows it: an end is refused at once when "ctskip can
/// tell" no bytes could make it a rule, "any other unfinished end (`saddr
/// 10`, but also `ip6 saddr 10.0.0.1`) waits for the close" (it does not say
/// which ends ctskip can tell). The tests comparing the module's ends with
/// the README reference (which always can tell) tolerate exactly these
/// cases, and nothing else: any other leniency is a regression.
pub fn cut_word_checked_alone(end: &[u8]) -> bool {
    let w = reference::words(end);
    let cut = end.last().is_some_and(|&b| !reference::is_blank(b));
    fn takes_value(x: &[u8]) -> bool {
        [
            &b"proto"[..],
            b"saddr",
            b"daddr",
            b"sport",
            b"dport",
            b"iif",
            b"oif",
        ]
        .contains(&x)
    }
    // The keyword still waiting for its value after `ws` (a keyword's value
    // may itself look like a keyword: `iif iif`).
    fn pending<'a>(ws: &[&'a [u8]]) -> Option<&'a [u8]> {
        ws.iter().fold(None, |p, &x| {
            if p.is_none() && takes_value(x) {
                Some(x)
            } else {
                None
            }
        })
    }
    // 2: the complete words end with a keyword waiting for its value (which
    // the cut word, if any, begins) and the words before it conflict.
    let done = &w[..w.len() - usize::from(cut && !w.is_empty())];
    if pending(done).is_some() {
        let before = &done[..done.len() - 1];
        if reference::parse_rule(&before.join(&b' ')) == Err("address family conflict") {
            return true;
        }
    }
    // 1: a cut keyword prefix, protocol number or address value.
    let Some(&last) = w.last().filter(|_| cut) else {
        return false;
    };
    match pending(done) {
        Some(k) => [&b"saddr"[..], b"daddr", b"proto"].contains(&k),
        None => [
            "ip", "ip6", "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmpv6", "gre", "esp",
            "ah", "proto", "saddr", "daddr", "sport", "dport", "iif", "oif", "oneway",
        ]
        .iter()
        .any(|k| k.as_bytes().starts_with(last)),
    }
}

/// The fuzz oracle, shared by the cargo-fuzz target (`fuzz/`) and the corpus
/// replay in `tests/fuzz_corpus.rs`. Every expectation comes from the
/// README reference (`reference`), not from the module's own code: the
/// module's parser accepts exactly the texts the reference accepts (an
/// error on the same line), its canonical text is the reference's, its
/// canonical text parses back to the same rule; replace, add and del give the
/// sets the reference says; and the classifier finds the rule the
/// reference's first-match finds, in both directions.
pub fn fuzz_check(data: &[u8]) {
    use alloc::string::String;
    use reference::RefRule;
    use rules::{plan_add, plan_del, plan_replace, Rule, SetError};

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
    let want = reference::parse_text(text);
    let texts = |v: &[Rule]| {
        v.iter()
            .map(|r| alloc::format!("{r}"))
            .collect::<Vec<String>>()
    };
    let ref_texts = |v: &[RefRule]| {
        v.iter()
            .map(|r| alloc::format!("{r}"))
            .collect::<Vec<String>>()
    };
    match (&res, &want) {
        (Ok(()), Ok(w)) => assert_eq!(texts(&parsed), ref_texts(w), "canonical forms of {text:?}"),
        (Err(Ok(e)), Err(w)) => assert_eq!(
            e.line_no, w.line,
            "error line of {text:?}: {e} vs reference {w:?}"
        ),
        _ => panic!(
            "{text:?}: module {:?} but the README reference {want:?}",
            res.as_ref()
                .map_err(|e| e.as_ref().map(|e| alloc::format!("{e}")))
        ),
    }
    for r in &parsed {
        let c = alloc::format!("{r}");
        let back = parse(&c).unwrap_or_else(|e| panic!("canonical {c:?} does not parse: {e}"));
        assert_eq!(back, [*r], "round trip of {c:?}");
        assert_eq!(alloc::format!("{}", back[0]), c, "canonical text is stable");
    }
    // Replace: the text's rules, first occurrences, or a parse error.
    let refs = reference::dedup(want.clone().unwrap_or_default());
    let uniq: Vec<Rule> = match (plan_replace::<Host>(&[], text), &want) {
        (Ok(p), Ok(_)) => {
            let got: Vec<Rule> = p.iter().map(|p| p.rule).collect();
            assert_eq!(texts(&got), ref_texts(&refs), "replace with {text:?}");
            got
        }
        (Err(SetError::Parse(_)), Err(_)) => Vec::new(),
        (got, want) => panic!("replace: {got:?} vs reference {want:?}"),
    };
    if !uniq.is_empty() {
        // Add to half of the set (present rules skipped, new ones appended
        // in text order), then delete it all again.
        let n = uniq.len() / 2;
        let added = plan_add::<Host>(&uniq[..n], text).unwrap();
        let mut want_add = ref_texts(&refs[..n]);
        want_add.extend(ref_texts(&refs[n..]));
        let all: Vec<Rule> = added.iter().map(|p| p.rule).collect();
        assert_eq!(texts(&all), want_add, "add {text:?}");
        assert!(plan_del::<Host>(&all, text).unwrap().is_empty());
        // Deleting from a set that lacks some of the text's rules: ENOENT.
        if n > 0 {
            assert!(matches!(
                plan_del::<Host>(&uniq[..n], text),
                Err(SetError::NotFound(_))
            ));
        }
    }
    // Classifier vs reference on keys made from the remaining bytes (the
    // longest part of the set the classifier's bounds accept).
    let (c, m) = build_accepted(&uniq[..uniq.len().min(64)]);
    for chunk in keys.chunks(12) {
        let mut b = [0u8; 12];
        b[..chunk.len()].copy_from_slice(chunk);
        check_classifier(&c, &refs[..m], &key_for(&refs[..m], &b));
    }
}

/// The safe layer's pure parts: the module's argument string split as the
/// kernel splits it (and a `rules` value cut at blanks found), and where
/// header bytes lie in an skb's linear data.
#[cfg(test)]
mod kapi_pure {
    use crate::kapi_args::{split, split_rules};
    use crate::kapi_window::{Linear, Window};
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    fn words(s: &str) -> Vec<(String, Option<String>)> {
        split(s.as_bytes())
            .map(|a| {
                (
                    String::from_utf8_lossy(a.name).into_owned(),
                    a.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn splits_like_the_kernel() {
        let w = |n: &str, v: Option<&str>| (n.to_string(), v.map(str::to_string));
        assert_eq!(
            words("rules=udp dport 53"),
            [w("rules", Some("udp")), w("dport", None), w("53", None)]
        );
        assert_eq!(
            words(" rules=\"udp dport 53; tcp dport 80\"  priority=-250 "),
            [
                w("rules", Some("udp dport 53; tcp dport 80")),
                w("priority", Some("-250"))
            ]
        );
        assert_eq!(
            words("\"rules=udp dport 53\""),
            [w("rules", Some("udp dport 53"))]
        );
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
        Linear {
            head,
            data,
            network_header: nh,
            len,
            data_len,
        }
    }

    /// What `Headers::read` does with a window: the offset from `data`
    /// of `n` bytes at `off` past the network header, or `None` for the
    /// slow path.
    fn find(s: Linear, off: usize, n: usize) -> Option<usize> {
        s.window().find(off, n)
    }

    /// Where a kernel heap address lies on x86_64 (the direct map): the
    /// top bit set.
    const KHEAD: usize = 0xffff_8880_0412_3000;

    #[test]
    fn linear_window_as_skb_header_pointer() {
        for base in [1000, KHEAD, usize::MAX - 300] {
            // Network header at data (PRE_ROUTING): 40 linear bytes.
            let s = skb(base, base + 64, 64, 100, 60);
            assert_eq!(find(s, 0, 20), Some(0), "{base:#x}");
            assert_eq!(find(s, 20, 20), Some(20));
            assert_eq!(find(s, 21, 20), None, "one byte past the linear data");
            assert_eq!(find(s, 40, 0), Some(40));
            // Network header after data (a link header in front): the
            // offset moves.
            let s = skb(base, base + 50, 64, 100, 0);
            assert_eq!(find(s, 0, 4), Some(14));
            assert_eq!(find(s, 82, 4), Some(96));
            assert_eq!(find(s, 83, 4), None);
            // Network header before data (headroom): slow path.
            let s = skb(base, base + 70, 64, 100, 0);
            assert_eq!(find(s, 0, 4), None);
            assert_eq!(find(s, 6, 4), None);
            // Broken or huge values never wrap into a direct read.
            assert_eq!(
                find(skb(base, base + 64, 64, 10, 20), 0, 1),
                None,
                "data_len > len"
            );
            assert_eq!(find(skb(base, base + 64, 64, 100, 0), usize::MAX, 4), None);
            assert_eq!(find(skb(base, base + 64, 64, 100, 0), 4, usize::MAX), None);
        }
        // A packet as the kernel hands it to a hook: every header of a
        // 64-byte UDP packet is read directly (the slow path is for
        // non-linear skbs, not for kernel addresses).
        let s = skb(KHEAD, KHEAD + 78, 78, 50, 0);
        assert_eq!(
            s.window(),
            Window {
                start: 0,
                avail: 50
            }
        );
        assert_eq!(find(s, 20, 4), Some(20));
    }

    /// Against a model in exact (`i128`) arithmetic of the rule the window
    /// keeps: bytes are read directly when the network header is at or
    /// after `data` (`skb_network_offset() >= 0`) and all `n` bytes at `off`
    /// from it lie within the linear data, `data[..len - data_len]`
    /// (`skb_header_pointer()`'s test, with the offset from the network
    /// header); anything else takes the slow path.
    #[test]
    fn linear_window_against_a_model() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for _ in 0..200_000 {
            let head = match next(3) {
                0 => KHEAD + next(1 << 20) as usize,
                1 => usize::MAX - next(1 << 16) as usize,
                _ => next(1 << 20) as usize,
            };
            let nh = next(300) as u16;
            let data = head.wrapping_add(next(320) as usize);
            let len = next(200) as u32;
            let data_len = next(4) as u32 * next(100) as u32;
            let off = next(120) as usize;
            let n = [1, 4, 8, 16, 20, 40][next(6) as usize];
            // Exact: no wrapping anywhere (a huge `head` plus `nh` stays a
            // number, and `data` wrapped past the top is the same bytes
            // after `head` in the skb's buffer).
            let model = {
                let buf_nh = i128::from(nh);
                let buf_data = data.wrapping_sub(head) as i128;
                let start = buf_nh - buf_data;
                let headlen = i128::from(len) - i128::from(data_len);
                let end = start + (off + n) as i128;
                (headlen >= 0 && start >= 0 && end <= headlen)
                    .then_some((start + off as i128) as usize)
            };
            let s = skb(head, data, nh, len, data_len);
            assert_eq!(find(s, off, n), model, "{s:?} off {off} n {n}");
        }
    }
}

/// /proc/net/ctskip's counters from the hook's slots, against a model of
/// the README's table (each counter's meaning, per packet).
#[cfg(test)]
mod proc_counters {
    use crate::counters::{self, count, figures, Adder, SLOTS, STAT_NAMES};
    use alloc::vec::Vec;
    use core::cell::Cell;

    /// What happened to one packet at the hook.
    #[derive(Clone, Copy)]
    enum Outcome {
        Untracked { bytes: u64, icmp_error: bool },
        AlreadyTracked,
        Skipped { unparsed: bool },
    }

    /// The README's counters, counted packet by packet.
    fn model(events: &[(bool, bool, Outcome)]) -> [u64; 10] {
        let mut c = [0u64; 10];
        let name = |n: &str| STAT_NAMES.iter().position(|&x| x == n).unwrap();
        for &(v6, pre, o) in events {
            c[name("seen")] += 1;
            match o {
                Outcome::Untracked { bytes, icmp_error } => {
                    c[name("untracked")] += 1;
                    c[name("untracked_bytes")] += bytes;
                    c[name(if v6 {
                        "untracked_ipv6"
                    } else {
                        "untracked_ipv4"
                    })] += 1;
                    c[name(if pre {
                        "untracked_prerouting"
                    } else {
                        "untracked_output"
                    })] += 1;
                    if icmp_error {
                        c[name("untracked_icmp_errors")] += 1;
                    }
                }
                Outcome::AlreadyTracked => c[name("already_tracked")] += 1,
                Outcome::Skipped { unparsed } => {
                    if unparsed {
                        c[name("unparsed")] += 1;
                    }
                }
            }
        }
        c
    }

    /// Plain counters, added to as the hook adds to its per-CPU ones.
    struct Plain(Cell<[u64; SLOTS]>);

    impl Adder for Plain {
        fn add(&self, i: usize, v: u64) {
            let mut s = self.0.get();
            s[i] += v;
            self.0.set(s);
        }
        fn add2(&self, i: usize, a: u64, j: usize, b: u64) {
            self.add(i, a);
            self.add(j, b);
        }
    }

    /// What the hook counts for one packet (`counters::count`, which the
    /// hook calls).
    fn count_one(s: &mut [u64; SLOTS], v6: bool, pre: bool, o: Outcome) {
        let plain = Plain(Cell::new(*s));
        let (outcome, bytes) = match o {
            Outcome::Untracked { bytes, icmp_error } => (
                counters::Outcome::Untracked {
                    v6,
                    prerouting: pre,
                    icmp_error,
                },
                bytes,
            ),
            Outcome::AlreadyTracked => (counters::Outcome::AlreadyTracked, 0),
            Outcome::Skipped { unparsed } => (counters::Outcome::Skipped { unparsed }, 0),
        };
        count(&plain, outcome, bytes);
        *s = plain.0.get();
    }

    #[test]
    fn figures_follow_the_readme() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut events = Vec::new();
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let o = match x % 5 {
                0 | 1 => Outcome::Untracked {
                    bytes: 40 + (x >> 8) % 1500,
                    icmp_error: (x >> 20).is_multiple_of(7),
                },
                2 => Outcome::AlreadyTracked,
                _ => Outcome::Skipped {
                    unparsed: (x >> 24).is_multiple_of(3),
                },
            };
            events.push(((x >> 30) & 1 == 1, (x >> 31) & 1 == 1, o));
        }
        let mut slots = [0u64; SLOTS];
        for (i, &(v6, pre, o)) in events.iter().enumerate() {
            count_one(&mut slots, v6, pre, o);
            if i % 97 == 0 {
                assert_eq!(
                    figures(&slots),
                    model(&events[..=i]),
                    "after {} packets",
                    i + 1
                );
            }
        }
        assert_eq!(figures(&slots), model(&events));
        // Every family and hook pair lands in its own lines.
        for (v6, pre) in [(false, false), (false, true), (true, false), (true, true)] {
            let mut s = [0u64; SLOTS];
            let o = Outcome::Untracked {
                bytes: 100,
                icmp_error: false,
            };
            count_one(&mut s, v6, pre, o);
            assert_eq!(
                figures(&s),
                model(&[(v6, pre, o)]),
                "v6 {v6} prerouting {pre}"
            );
        }
    }
}
