//! Property tests against an oracle that is not the code under test: the
//! README reference (`src/reference.rs`: its own rule type, parser, printer
//! and matcher, written from README.md). Rule *texts* are generated, in
//! random field order and non-canonical spellings; the module reads them with
//! its parser, the reference with its own; the module's classifier (linear
//! for up to 4 rules, compiled tables above) must find the rule the
//! reference's first match finds, for packets in both directions.

use ctskip_core::reference::{self as re, RefRule};
use ctskip_core::rules::{classify, Classifier, IfName, PacketKey, Rule};
use ctskip_core::{build_accepted, canon, check_classifier, key_for, parse, reverse, Host};
use proptest::prelude::*;

// Small value pools so random packets often hit random rules.
const V4: [u32; 4] = [0x0a00_0001, 0x0a00_0102, 0xc0a8_0101, 0x0a01_0000];
const V6: [u128; 3] = [
    0x2001_0db8 << 96 | 1,
    0x2001_0db8 << 96 | 0x1_0000_0002,
    0xfe80 << 112 | 7,
];
const PROTOS: [u8; 10] = [6, 17, 136, 132, 33, 1, 58, 47, 50, 51];
const PORTS: [u16; 6] = [0, 53, 80, 443, 4789, 65535];
const NAMES: [&str; 3] = ["eth0", "veth1", "lo"];
const NAMED: [(u8, &str); 10] = [
    (6, "tcp"),
    (17, "udp"),
    (136, "udplite"),
    (132, "sctp"),
    (33, "dccp"),
    (1, "icmp"),
    (58, "icmpv6"),
    (47, "gre"),
    (50, "esp"),
    (51, "ah"),
];

/// An address in one of its text forms, with host bits past `len` left in
/// (the parsers must clear them) and the length written or, when full, maybe
/// left out.
fn addr_text(v6: bool, base: usize, len: u8, host: u128, spelling: u8) -> String {
    if v6 {
        let a = std::net::Ipv6Addr::from(V6[base % V6.len()] ^ (host & 0xffff));
        let s = match spelling % 3 {
            0 => a.to_string(),
            1 => a
                .segments()
                .iter()
                .map(|g| format!("{g:x}"))
                .collect::<Vec<_>>()
                .join(":"),
            _ => a.to_string().to_uppercase(),
        };
        if len == 128 && spelling & 4 == 0 {
            s
        } else {
            format!("{s}/{len}")
        }
    } else {
        let a = std::net::Ipv4Addr::from(V4[base % V4.len()] ^ (host as u32 & 0xff));
        if len == 32 && spelling & 4 == 0 {
            a.to_string()
        } else {
            format!("{a}/{}{len}", if spelling & 8 != 0 { "0" } else { "" })
        }
    }
}

fn ports_text(lo: u16, w: u16, single: bool, zero: bool) -> String {
    let z = if zero { "0" } else { "" };
    if single {
        format!("{z}{lo}")
    } else {
        format!("{z}{lo}-{}", lo.saturating_add(w))
    }
}

fn prefix_len(v6: bool) -> impl Strategy<Value = u8> {
    let w = if v6 { 128u8 } else { 32 };
    prop_oneof![Just(w), Just(0), Just(w / 4), Just(w - 8), 0..=w]
}

fn port_lo() -> impl Strategy<Value = u16> {
    prop_oneof![prop::sample::select(PORTS.to_vec()), any::<u16>()]
}

prop_compose! {
    /// The text of one valid rule, its words in random order.
    fn rule_text()(
        fam in 0u8..3,
        write_fam in any::<bool>(),
        proto in prop::option::of(prop_oneof![prop::sample::select(PROTOS.to_vec()), any::<u8>()]),
        proto_spelling in 0u8..4,
        s in prop::option::of((0usize..4, prefix_len(false), prefix_len(true), any::<u128>(), any::<u8>())),
        d in prop::option::of((0usize..4, prefix_len(false), prefix_len(true), any::<u128>(), any::<u8>())),
        sp in prop::option::of((port_lo(), 0u16..600, any::<bool>(), any::<bool>())),
        dp in prop::option::of((port_lo(), 0u16..600, any::<bool>(), any::<bool>())),
        iif in prop::option::of(prop::sample::select(NAMES.to_vec())),
        oif in prop::option::of(prop::sample::select(NAMES.to_vec())),
        oneway in any::<bool>(),
        order in any::<u64>(),
    ) -> String {
        let mut fam = fam;
        let proto = match proto {
            Some(1) if fam == 2 => Some(6),
            Some(58) if fam == 1 => Some(6),
            p => p,
        };
        let mut w: Vec<String> = Vec::new();
        if let Some(p) = proto {
            let name = NAMED.iter().find(|n| n.0 == p).map(|n| n.1);
            w.push(match (name, proto_spelling) {
                (Some(n), 0 | 1) => n.to_string(),
                (_, 2) => format!("proto 0{p}"),
                _ => format!("proto {p}"),
            });
            if fam == 0 && p == 1 { fam = 1 }
            if fam == 0 && p == 58 { fam = 2 }
        }
        if fam != 0 {
            let v6 = fam == 2;
            for (k, a) in [("saddr", s), ("daddr", d)] {
                if let Some((base, l4, l6, host, spelling)) = a {
                    w.push(format!("{k} {}", addr_text(v6, base, if v6 { l6 } else { l4 }, host, spelling)));
                }
            }
            if write_fam || w.iter().all(|x| !x.contains("addr")) {
                w.push(if v6 { "ip6" } else { "ip" }.to_string());
            }
        }
        if proto.is_some_and(|p| re::PORT_PROTOS.contains(&p)) {
            for (k, p) in [("sport", sp), ("dport", dp)] {
                if let Some((lo, wd, single, zero)) = p {
                    w.push(format!("{k} {}", ports_text(lo, wd, single, zero)));
                }
            }
        }
        if let Some(n) = iif { w.push(format!("iif {n}")) }
        if let Some(n) = oif { w.push(format!("oif {n}")) }
        if w.is_empty() { w.push("gre".into()) }
        if oneway { w.push("oneway".into()) }
        // A random order of the words (keywords with their values).
        let mut o = order;
        for i in (1..w.len()).rev() {
            w.swap(i, (o % (i as u64 + 1)) as usize);
            o /= i as u64 + 1;
        }
        w.join(if order & 1 == 0 { " " } else { " \t " })
    }
}

/// A rules text: the module's rules and the reference's, read from it by
/// each side's own parser, first occurrences kept. Both must accept it and
/// agree on every rule's canonical text.
fn both(texts: &[String]) -> (String, Vec<Rule>, Vec<RefRule>) {
    let text = texts.join("\n");
    let mut seen = std::collections::HashSet::new();
    let mut ours: Vec<Rule> =
        parse(&text).unwrap_or_else(|e| panic!("module refuses {text:?}: {e}"));
    ours.retain(|r| seen.insert(*r));
    let refs = re::parse_set(text.as_bytes())
        .unwrap_or_else(|e| panic!("reference refuses {text:?}: {e:?}"));
    let a: Vec<String> = ours.iter().map(canon).collect();
    let b: Vec<String> = refs.iter().map(|r| r.to_string()).collect();
    assert_eq!(a, b, "canonical forms of {text:?}");
    (text, ours, refs)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn canonical_form_is_the_readmes(t in rule_text()) {
        let (_, ours, refs) = both(&[t]);
        let text = canon(&ours[0]);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(back[0], ours[0], "{}", text);
        prop_assert_eq!(canon(&back[0]), text.clone());
        // The reference reads the canonical text back to the same rule too.
        prop_assert_eq!(re::parse_set(text.as_bytes()).unwrap(), refs);
    }

    #[test]
    fn classifier_agrees_with_reference(texts in prop::collection::vec(rule_text(), 0..40),
                                        keys in prop::collection::vec(any::<[u8; 12]>(), 1..60)) {
        let (_, ours, refs) = both(&texts);
        let (c, m) = build_accepted(&ours);
        for b in &keys {
            check_classifier(&c, &refs[..m], &key_for(&refs[..m], b));
        }
    }

    #[test]
    fn many_ranges_on_one_key(ranges in prop::collection::vec((any::<u16>(), 0u16..2000), 1..300),
                              probes in prop::collection::vec(any::<u16>(), 1..200)) {
        let texts: Vec<String> = ranges.iter().map(|&(lo, w)| format!("udp dport {lo}-{} oneway", lo.saturating_add(w))).collect();
        let (_, ours, refs) = both(&texts);
        let c = Classifier::<Host>::build(&ours).unwrap();
        for &p in &probes {
            let k = PacketKey { v6: false, proto: 17, has_ports: true, dport: p, ..Default::default() };
            prop_assert_eq!(c.lookup(&k), re::first_match(&refs, &k));
            prop_assert_eq!(c.lookup(&reverse(&k)), re::first_match(&refs, &reverse(&k)));
        }
    }
}

prop_compose! {
    /// A rule naming only a family, a protocol and exact ports: what a
    /// small set decides on a packet's head alone.
    fn port_rule_text()(
        fam in 0u8..3,
        proto in prop::sample::select(PROTOS.to_vec()),
        sp in prop::option::of(prop::sample::select(PORTS.to_vec())),
        dp in prop::option::of(prop::sample::select(PORTS.to_vec())),
        oneway in any::<bool>(),
    ) -> String {
        let mut w: Vec<String> = Vec::new();
        match (fam, proto) {
            (_, 1) => w.push("icmp".into()),
            (_, 58) => w.push("icmpv6".into()),
            (1, _) => w.push("ip".into()),
            (2, _) => w.push("ip6".into()),
            _ => {}
        }
        if proto != 1 && proto != 58 {
            w.push(format!("proto {proto}"));
        }
        if re::PORT_PROTOS.contains(&proto) {
            if let Some(p) = sp { w.push(format!("sport {p}")) }
            if let Some(p) = dp { w.push(format!("dport {p}")) }
        }
        if oneway { w.push("oneway".into()) }
        w.join(" ")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// Small sets of port rules: decided on the packet's head (the hook's
    /// fast path) and on its key, both as the reference decides.
    #[test]
    fn port_rules_by_head(texts in prop::collection::vec(port_rule_text(), 1..=classify::LINEAR_MAX),
                          keys in prop::collection::vec(any::<[u8; 12]>(), 1..40)) {
        let (_, ours, refs) = both(&texts);
        let c = Classifier::<Host>::build(&ours).unwrap();
        prop_assert!(c.by_head(), "{:?}", texts);
        for b in &keys {
            check_classifier(&c, &refs, &key_for(&refs, b));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Large sets (hundreds to thousands of rules, many sharing a shape):
    /// the compiled tables, their prefilters and the port intervals.
    #[test]
    fn large_sets_agree_with_reference(texts in prop::collection::vec(rule_text(), 100..1500),
                                       keys in prop::collection::vec(any::<[u8; 12]>(), 300..600)) {
        let (_, ours, refs) = both(&texts);
        let (c, m) = build_accepted(&ours);
        prop_assert!(m > classify::LINEAR_MAX, "{m} rules accepted");
        for b in &keys {
            check_classifier(&c, &refs[..m], &key_for(&refs[..m], b));
        }
    }
}

fn name(n: &str) -> IfName {
    IfName::from_bytes(n.as_bytes())
}

/// Both directions and `oneway`, by hand from the README, on a set small
/// enough for the linear scan and on the same rules behind enough others to
/// take the compiled path.
#[test]
fn both_directions_and_oneway() {
    let head =
        "udp dport 53\nip tcp saddr 10.0.0.0/8 sport 80 oneway\niif eth0 gre\nip6 oif veth1 esp\n";
    let pad: String = (0..20)
        .map(|i| format!("sctp dport {}\n", 1000 + i))
        .collect();
    for text in [head.to_string(), format!("{head}{pad}")] {
        let rules = parse(&text).unwrap();
        let refs = re::parse_set(text.as_bytes()).unwrap();
        let c = Classifier::<Host>::build(&rules).unwrap();
        let check = |k: PacketKey, want: Option<u32>| {
            assert_eq!(c.lookup(&k), want, "{k:?} in {} rules", rules.len());
            assert_eq!(re::first_match(&refs, &k), want, "reference: {k:?}");
        };
        let q = PacketKey {
            proto: 17,
            has_ports: true,
            sport: 40000,
            dport: 53,
            ..Default::default()
        };
        check(q, Some(0));
        check(reverse(&q), Some(0));
        // Without readable ports a port rule cannot match.
        check(
            PacketKey {
                has_ports: false,
                ..q
            },
            None,
        );
        let t = PacketKey {
            proto: 6,
            has_ports: true,
            saddr: 0x0a000001,
            sport: 80,
            dport: 999,
            ..Default::default()
        };
        check(t, Some(1));
        check(reverse(&t), None);
        check(PacketKey { v6: true, ..t }, None);
        // `iif eth0` also matches the reply leaving through eth0 (LOCAL_OUT,
        // oif eth0), and `oif veth1` the reply arriving on veth1.
        let g = PacketKey {
            proto: 47,
            iif: name("eth0"),
            ..Default::default()
        };
        check(g, Some(2));
        check(reverse(&g), Some(2));
        check(
            PacketKey {
                iif: name("eth1"),
                ..g
            },
            None,
        );
        let e = PacketKey {
            v6: true,
            proto: 50,
            oif: name("veth1"),
            ..Default::default()
        };
        check(e, Some(3));
        check(reverse(&e), Some(3));
        check(PacketKey { v6: false, ..e }, None);
        check(
            PacketKey {
                iif: name("veth1"),
                oif: name("eth0"),
                ..g
            },
            Some(2),
        );
    }
}

/// Which sets are decided on a packet's head: small ones whose every rule
/// names only a family, a protocol and exact ports.
#[test]
fn by_head_only_for_small_port_sets() {
    let by_head = |t: &str| {
        Classifier::<Host>::build(&parse(t).unwrap())
            .unwrap()
            .by_head()
    };
    assert!(by_head("udp dport 53"));
    assert!(by_head(
        "udp dport 53; tcp sport 80 dport 443 oneway; ip6 gre; icmp"
    ));
    assert!(!by_head(""));
    assert!(!by_head("udp dport 53; udp dport 1-5"));
    assert!(!by_head("udp dport 53; ip saddr 10.0.0.0/8"));
    assert!(!by_head("udp dport 53; ip6 daddr ::1"));
    assert!(!by_head("udp dport 53; iif eth0"));
    assert!(!by_head("udp dport 53; oif eth0"));
    assert!(!by_head(
        "udp dport 1; udp dport 2; udp dport 3; udp dport 4; udp dport 5"
    ));
}

#[test]
fn empty_set_matches_nothing() {
    let c = Classifier::<Host>::empty().unwrap();
    assert_eq!(c.lookup(&PacketKey::default()), None);
    assert!(c.is_empty());
}

#[test]
fn ten_thousand_rules_few_tables() {
    let mut text = String::new();
    for i in 0..10_000u32 {
        match i % 4 {
            0 => text.push_str(&format!("udp dport {}\n", 1000 + i)),
            1 => text.push_str(&format!("tcp dport {}-{}\n", i, i + 10)),
            2 => text.push_str(&format!("saddr 10.{}.{}.0/24\n", i >> 8 & 255, i & 255)),
            _ => text.push_str(&format!("ip6 udp daddr 2001:db8:{:x}::/48 dport 4789\n", i)),
        }
    }
    let rules = parse(&text).unwrap();
    let refs = re::parse_set(text.as_bytes()).unwrap();
    let c = Classifier::<Host>::build(&rules).unwrap();
    assert!(c.tables() <= 8, "{} tables", c.tables());
    assert_eq!(
        Classifier::<Host>::build(&rules[..4]).unwrap().tables(),
        0,
        "tiny sets scan linearly"
    );
    let k = PacketKey {
        proto: 17,
        has_ports: true,
        sport: 5,
        dport: 1000 + 9996,
        ..Default::default()
    };
    assert_eq!(c.lookup(&k), Some(9996));
    for b in 0..4000u32 {
        let bytes: [u8; 12] =
            core::array::from_fn(|i| (b.wrapping_mul(2654435761) >> (i % 4 * 8)) as u8 ^ i as u8);
        check_classifier(&c, &refs, &key_for(&refs, &bytes));
    }
}
