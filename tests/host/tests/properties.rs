//! Property tests: parse(canonical(r)) == r, and the classifier agrees with
//! the naive reference matcher (earliest matching rule, both directions).

use ctskip_core::rules::rule::{prefix_mask, proto_has_ports};
use ctskip_core::rules::{Classifier, Family, IfName, PacketKey, PortRange, Prefix, Rule};
use ctskip_core::{canon, parse, Host};
use proptest::prelude::*;

// Small value pools so random packets often hit random rules.
const V4: [u128; 4] = [0x0a00_0001, 0x0a00_0102, 0xc0a8_0101, 0x0a01_0000];
const V6: [u128; 3] = [0x2001_0db8 << 96 | 1, 0x2001_0db8 << 96 | 0x1_0000_0002, 0xfe80 << 112 | 7];
const PROTOS: [u8; 8] = [6, 17, 136, 132, 33, 1, 58, 47];
const PORTS: [u16; 6] = [0, 53, 80, 443, 4789, 65535];
const NAMES: [&str; 3] = ["eth0", "veth1", "lo"];

fn prefix(v6: bool) -> impl Strategy<Value = Prefix> {
    let (pool, width): (Vec<u128>, u8) = if v6 { (V6.to_vec(), 128) } else { (V4.to_vec(), 32) };
    (prop::sample::select(pool), prop_oneof![Just(width), 0..=width]).prop_map(move |(a, len)| Prefix {
        addr: a & prefix_mask(v6, len),
        len,
    })
}

fn ports() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        prop::sample::select(PORTS.to_vec()).prop_map(|p| PortRange { lo: p, hi: p }),
        (prop::sample::select(PORTS.to_vec()), 0u16..600).prop_map(|(lo, w)| PortRange { lo, hi: lo.saturating_add(w) }),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortRange { lo: a.min(b), hi: a.max(b) }),
    ]
}

fn ifname() -> impl Strategy<Value = IfName> {
    prop::sample::select(NAMES.to_vec()).prop_map(|n| IfName::from_bytes(n.as_bytes()))
}

/// A valid rule in canonical form.
fn rule() -> impl Strategy<Value = Rule> {
    (
        prop_oneof![Just(Family::Any), Just(Family::V4), Just(Family::V6)],
        prop::option::of(prop_oneof![prop::sample::select(PROTOS.to_vec()), any::<u8>()]),
        any::<(bool, bool)>(),
        prefix(false),
        prefix(false),
        prefix(true),
        prefix(true),
        prop::option::of(ports()),
        prop::option::of(ports()),
        prop::option::of(ifname()),
        prop::option::of(ifname()),
        any::<bool>(),
    )
        .prop_filter_map("no field", |(fam, proto, (s, d), s4, d4, s6, d6, sp, dp, iif, oif, oneway)| {
            let mut fam = fam;
            match proto {
                Some(1) if fam == Family::V6 => return None,
                Some(58) if fam == Family::V4 => return None,
                Some(1) => fam = Family::V4,
                Some(58) => fam = Family::V6,
                _ => {}
            }
            let (sa, da) = match fam {
                Family::Any => (None, None),
                Family::V4 => (s.then_some(s4), d.then_some(d4)),
                Family::V6 => (s.then_some(s6), d.then_some(d6)),
            };
            let with_ports = proto.is_some_and(proto_has_ports);
            let r = Rule {
                family: fam,
                proto,
                saddr: sa,
                daddr: da,
                sport: if with_ports { sp } else { None },
                dport: if with_ports { dp } else { None },
                iif,
                oif,
                oneway,
            };
            let has_field = r.family != Family::Any
                || r.proto.is_some()
                || r.iif.is_some()
                || r.oif.is_some();
            has_field.then_some(r)
        })
}

fn key() -> impl Strategy<Value = PacketKey> {
    (
        any::<bool>(),
        prop_oneof![prop::sample::select(PROTOS.to_vec()), any::<u8>()],
        (0usize..4, 0usize..4),
        any::<(bool, u32, u32)>(),
        prop_oneof![prop::sample::select(PORTS.to_vec()), any::<u16>()],
        prop_oneof![prop::sample::select(PORTS.to_vec()), any::<u16>()],
        any::<bool>(),
        (prop::option::of(ifname()), prop::option::of(ifname()), any::<bool>()),
    )
        .prop_map(|(v6, proto, (si, di), (noise, ns, nd), sport, dport, ports_ok, (iif, oif, pre))| {
            let pick = |i: usize, n: u32| -> u128 {
                let base = if v6 { V6[i % 3] } else { V4[i % 4] };
                if noise { base ^ u128::from(n & 0xff) } else { base }
            };
            PacketKey {
                v6,
                proto,
                saddr: pick(si, ns),
                daddr: pick(di, nd),
                has_ports: ports_ok && proto_has_ports(proto),
                sport,
                dport,
                // A packet has an input device at PRE_ROUTING, an output one at LOCAL_OUT.
                iif: if pre { iif.unwrap_or_default() } else { IfName::default() },
                oif: if pre { IfName::default() } else { oif.unwrap_or_default() },
            }
        })
}

fn reference(rules: &[Rule], k: &PacketKey) -> Option<u32> {
    rules.iter().position(|r| r.matches(k)).map(|i| i as u32)
}

fn dedup(mut v: Vec<Rule>) -> Vec<Rule> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|r| seen.insert(*r));
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn canonical_round_trips(r in rule()) {
        let text = canon(&r);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back.len(), 1);
        prop_assert_eq!(back[0], r, "{}", text);
        prop_assert_eq!(canon(&back[0]), text);
    }

    #[test]
    fn classifier_agrees_with_reference(rules in prop::collection::vec(rule(), 0..40),
                                        keys in prop::collection::vec(key(), 1..60)) {
        let rules = dedup(rules);
        let c = Classifier::<Host>::build(&rules).unwrap();
        for k in &keys {
            prop_assert_eq!(c.lookup(k), reference(&rules, k), "key {:?}", k);
            // The reverse direction of the same flow.
            let mut r = *k;
            core::mem::swap(&mut r.saddr, &mut r.daddr);
            core::mem::swap(&mut r.sport, &mut r.dport);
            core::mem::swap(&mut r.iif, &mut r.oif);
            prop_assert_eq!(c.lookup(&r), reference(&rules, &r), "reverse key {:?}", r);
        }
    }

    #[test]
    fn many_ranges_on_one_key(ranges in prop::collection::vec((any::<u16>(), 0u16..2000), 1..300),
                              probes in prop::collection::vec(any::<u16>(), 1..200)) {
        let rules = dedup(ranges.iter().map(|&(lo, w)| Rule {
            family: Family::Any, proto: Some(17), saddr: None, daddr: None, sport: None,
            dport: Some(PortRange { lo, hi: lo.saturating_add(w) }), iif: None, oif: None, oneway: true,
        }).collect());
        let c = Classifier::<Host>::build(&rules).unwrap();
        for &p in &probes {
            let k = PacketKey { v6: false, proto: 17, has_ports: true, dport: p, ..Default::default() };
            prop_assert_eq!(c.lookup(&k), reference(&rules, &k));
        }
    }
}

#[test]
fn empty_set_matches_nothing() {
    let c = Classifier::<Host>::empty().unwrap();
    assert_eq!(c.lookup(&PacketKey::default()), None);
    assert!(c.is_empty());
}

#[test]
fn both_directions_and_oneway() {
    let rules = parse("udp dport 53; ip tcp saddr 10.0.0.0/8 sport 80 oneway").unwrap();
    let c = Classifier::<Host>::build(&rules).unwrap();
    let q = PacketKey { proto: 17, has_ports: true, sport: 40000, dport: 53, ..Default::default() };
    let a = PacketKey { sport: 53, dport: 40000, ..q };
    assert_eq!(c.lookup(&q), Some(0));
    assert_eq!(c.lookup(&a), Some(0));
    let t = PacketKey { proto: 6, has_ports: true, saddr: 0x0a000001, sport: 80, dport: 999, ..Default::default() };
    assert_eq!(c.lookup(&t), Some(1));
    let back = PacketKey { saddr: 0, daddr: 0x0a000001, sport: 999, dport: 80, ..t };
    assert_eq!(c.lookup(&back), None);
    // Without readable ports a port rule cannot match.
    assert_eq!(c.lookup(&PacketKey { has_ports: false, ..q }), None);
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
    let c = Classifier::<Host>::build(&rules).unwrap();
    assert!(c.tables() <= 8, "{} tables", c.tables());
    assert_eq!(Classifier::<Host>::build(&rules[..4]).unwrap().tables(), 0, "tiny sets scan linearly");
    let k = PacketKey { proto: 17, has_ports: true, sport: 5, dport: 1000 + 9996, ..Default::default() };
    assert_eq!(c.lookup(&k), Some(9996));
    assert_eq!(c.lookup(&k), reference(&rules, &k));
}
