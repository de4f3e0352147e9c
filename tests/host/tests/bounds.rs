//! The classifier's bounds on the work per packet (README: "Bounds"): the
//! sets the issue calls adversarial are refused with the bound they would
//! pass (or accepted within it), common real sets are accepted, every lookup
//! of an accepted set stays within the bounds (`check_bounds`, through
//! `check_classifier`, which also compares the answer with the README
//! reference), and the compiled set's memory follows its rules.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::time::Instant;

use ctskip_core::reference::{self as re, RefRule};
use ctskip_core::rules::classify::{MAX_BOXES, MAX_FLAT, MAX_TABLES};
use ctskip_core::rules::{
    Alloc, Buf, BuildError, Classifier, Family, LimitKind, NoMem, PacketKey, Rule,
};
use ctskip_core::{build_accepted, check_classifier, key_for, parse, Host};
use proptest::prelude::*;

/// The module's rules and the reference's, from one text (repeats dropped).
fn both(text: &str) -> (Vec<Rule>, Vec<RefRule>) {
    let mut seen = std::collections::HashSet::new();
    let mut ours = parse(text).unwrap_or_else(|e| panic!("{e}"));
    ours.retain(|r| seen.insert(*r));
    let refs = re::parse_set(text.as_bytes()).unwrap();
    assert_eq!(ours.len(), refs.len());
    (ours, refs)
}

/// `n` pseudo-random key seeds (deterministic).
fn seeds(n: u32) -> impl Iterator<Item = [u8; 12]> {
    (0..n).map(|b| {
        core::array::from_fn(|i| {
            (b.wrapping_mul(2_654_435_761).rotate_left(i as u32 * 5) >> (i % 4 * 8)) as u8
                ^ (i as u8).wrapping_mul(37)
        })
    })
}

/// Builds `text`'s set, which must be accepted, and checks `n` keys aimed
/// at its rules against the reference and the bounds.
fn accepted(text: &str, n: u32) -> Classifier<Host> {
    let (ours, refs) = both(text);
    let c = Classifier::<Host>::build(&ours).unwrap_or_else(|e| match e {
        BuildError::Limit(l) => panic!("{} rules refused: {l}", ours.len()),
        e => panic!("{e:?}"),
    });
    let (tables, flats) = c.max_bucket_size();
    assert!(tables <= MAX_TABLES && flats <= MAX_FLAT);
    for b in seeds(n) {
        check_classifier(&c, &refs, &key_for(&refs, &b));
    }
    c
}

/// The limit `rules` is refused with.
fn refused(rules: &[Rule]) -> ctskip_core::rules::Limit {
    match Classifier::<Host>::build(rules) {
        Err(BuildError::Limit(l)) => {
            assert!(l.count > l.max, "{l:?}");
            assert_eq!(rules[l.index as usize], l.rule);
            l
        }
        Err(e) => panic!("{e:?}"),
        Ok(c) => panic!("accepted: {:?}", c.max_bucket_size()),
    }
}

// ------------------------------------------------ the adversarial sets

/// 1,024 rules `ip saddr 172.16.0.0/A daddr 172.16.0.0/B oneway` (A, B in
/// 1..32) plus `udp dport 53`: 32 tables for every IPv4 packet, refused;
/// the longest accepted part is within the bounds.
#[test]
fn prefix_length_pairs_v4_are_refused() {
    let mut text = String::new();
    for a in 1..=32 {
        for b in 1..=32 {
            text.push_str(&format!(
                "ip saddr 172.16.0.0/{a} daddr 172.16.0.0/{b} oneway\n"
            ));
        }
    }
    text.push_str("udp dport 53\n");
    let (ours, refs) = both(&text);
    let l = refused(&ours);
    assert_eq!(
        (l.kind, l.family, l.proto, l.max),
        (LimitKind::Tables, Family::V4, None, MAX_TABLES)
    );
    let line = l.to_string();
    assert!(
        line.starts_with("ip (every protocol) packets would probe ")
            && line.contains(&format!("at most {MAX_TABLES}"))
            && line.contains("fewer distinct prefix lengths")
            && line.contains("merge prefixes")
            && !line.contains('\n'),
        "{line}"
    );
    let (c, m) = build_accepted(&ours);
    assert!(m > 100, "only {m} accepted");
    for b in seeds(3000) {
        check_classifier(&c, &refs[..m], &key_for(&refs[..m], &b));
    }
}

/// 65,536 IPv6 rules whose (source, destination) prefix lengths take every
/// pair of 1..128, four addresses each: refused, and fast.
#[test]
fn prefix_length_pairs_v6_are_refused() {
    let mut text = String::new();
    for i in 0..4u128 {
        // Four rules a pair, told apart by their first address bits.
        let s = std::net::Ipv6Addr::from((i & 1) << 127 | 0x2001_0db8 << 64);
        let d = std::net::Ipv6Addr::from((i >> 1) << 127 | 0x2001_0db9 << 64);
        for a in 1..=128 {
            for b in 1..=128 {
                text.push_str(&format!("ip6 saddr {s}/{a} daddr {d}/{b} oneway\n"));
            }
        }
    }
    let (ours, _) = both(&text);
    assert_eq!(ours.len(), 65536);
    let t = Instant::now();
    let l = refused(&ours);
    assert_eq!(
        (l.kind, l.family, l.proto),
        (LimitKind::Tables, Family::V6, None)
    );
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
}

/// Overlapping `tcp sport A-B dport C-D` boxes on one key: up to
/// MAX_BOXES directions accepted (and scanned within the bound), more
/// refused, naming the first box past the bound.
#[test]
fn port_boxes_are_bounded() {
    let boxes = |n: u32, oneway: bool| -> String {
        (0..n)
            .map(|i| {
                format!(
                    "tcp sport {}-{} dport {}-{}{}\n",
                    1000 + i * 7,
                    3000 + i * 11,
                    2000 + i * 5,
                    9000 - i * 3,
                    if oneway { " oneway" } else { "" }
                )
            })
            .collect()
    };
    let pad: String = (0..10)
        .map(|i| format!("udp dport {}\n", 100 + i))
        .collect();
    // Both directions of 8 rules: 16 boxes on the empty key.
    let c = accepted(
        &format!("{pad}{}", boxes(MAX_BOXES as u32 / 2, false)),
        4000,
    );
    assert_eq!(c.bucket_size(false, 6).0, 1);
    // A packet inside every box's source range and none's destination
    // range tries all 16 in its one probe (the per-probe count that
    // check_bounds holds to the bound, seen to reach it).
    let k = PacketKey {
        proto: 6,
        saddr: 0x0a00_0001,
        daddr: 0x0a00_0002,
        has_ports: true,
        sport: 1100,
        dport: 1500,
        ..Default::default()
    };
    let (got, cost) = c.lookup_cost(&k);
    assert_eq!(got, None);
    assert_eq!(
        (cost.tables, cost.probe_boxes, cost.boxes),
        (1, MAX_BOXES as u32, MAX_BOXES as u32),
        "{cost:?}"
    );
    let (ours, _) = both(&format!("{pad}{}", boxes(MAX_BOXES as u32 + 1, true)));
    let l = refused(&ours);
    assert_eq!(
        (l.kind, l.proto, l.count, l.index),
        (
            LimitKind::Boxes,
            Some(6),
            MAX_BOXES + 1,
            10 + MAX_BOXES as u32
        )
    );
    assert!(l.to_string().contains("merge the port ranges"), "{l}");
    // Many boxes told apart by an exact key: fine.
    let many: String = (0..2000)
        .map(|i| {
            format!(
                "ip tcp saddr 10.{}.{}.1 sport 1000-2000 dport {}-{}\n",
                i / 250,
                i % 250,
                i,
                i + 50
            )
        })
        .collect();
    accepted(&format!("{pad}{many}"), 4000);
}

/// 65,536 rules of every shape (the language's fields combined at random):
/// refused with a bound, or accepted within it; either way quickly, and the
/// longest accepted part answers as the reference does.
#[test]
fn every_shape_at_once() {
    let mut text = String::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let mut n = 0;
    while n < 65536 {
        let r = random_rule(&mut rnd);
        text.push_str(&r);
        text.push('\n');
        n += 1;
    }
    let (ours, refs) = both(&text);
    let t = Instant::now();
    match Classifier::<Host>::build(&ours) {
        Ok(c) => {
            for b in seeds(2000) {
                check_classifier(&c, &refs, &key_for(&refs, &b));
            }
        }
        Err(BuildError::Limit(l)) => {
            assert!(l.count > l.max, "{l}");
        }
        Err(e) => panic!("{e:?}"),
    }
    assert!(t.elapsed().as_secs() < 10, "{:?}", t.elapsed());
    let (c, m) = build_accepted(&ours[..ours.len().min(3000)]);
    for b in seeds(3000) {
        check_classifier(&c, &refs[..m], &key_for(&refs[..m], &b));
    }
}

/// One rule of a random shape: any family, protocol, addresses of any
/// length, exact ports or ranges, interfaces, `oneway`.
fn random_rule(rnd: &mut impl FnMut(u64) -> u64) -> String {
    let mut w: Vec<String> = Vec::new();
    let fam = rnd(3);
    let proto = [6u64, 17, 132, 33, 136, 47, 50, 99][rnd(8) as usize];
    if rnd(4) > 0 {
        w.push(format!("proto {proto}"));
    }
    if fam > 0 {
        w.push(if fam == 1 { "ip" } else { "ip6" }.into());
        for k in ["saddr", "daddr"] {
            if rnd(2) == 0 {
                let len = 1 + rnd(if fam == 1 { 32 } else { 128 });
                let a = if fam == 1 {
                    std::net::Ipv4Addr::from(0x0a00_0000 | rnd(1 << 24) as u32).to_string()
                } else {
                    std::net::Ipv6Addr::from(0x2001_0db8u128 << 96 | u128::from(rnd(1 << 40)) << 40)
                        .to_string()
                };
                w.push(format!("{k} {a}/{len}"));
            }
        }
    }
    if w.first().is_some_and(|p| p.starts_with("proto")) && [6, 17, 132, 33, 136].contains(&proto) {
        for k in ["sport", "dport"] {
            match rnd(3) {
                0 => w.push(format!("{k} {}", rnd(65536))),
                1 => {
                    let lo = rnd(65000);
                    w.push(format!("{k} {lo}-{}", lo + rnd(500)));
                }
                _ => {}
            }
        }
    }
    for k in ["iif", "oif"] {
        if rnd(6) == 0 {
            w.push(format!("{k} eth{}", rnd(4)));
        }
    }
    if w.is_empty() {
        w.push("gre".into());
    }
    if rnd(3) == 0 {
        w.push("oneway".into());
    }
    w.join(" ")
}

// ---------------------------------------------- any accepted set, any packet

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Sets of random shapes, some with many rules of a few shapes: every
    /// lookup of the part accepted is within the bounds and agrees with
    /// the reference.
    #[test]
    fn lookups_stay_within_the_bounds(seed in any::<u64>(), n in 5usize..3000, shapes in 1u64..40,
                                      keys in prop::collection::vec(any::<[u8; 12]>(), 200..400)) {
        let mut x = seed | 1;
        let mut rnd = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        // A few templates (shapes), each filled with fresh values.
        let mut text = String::new();
        let templates: Vec<u64> = (0..shapes).map(|_| rnd(u64::MAX)).collect();
        for _ in 0..n {
            let t = templates[rnd(shapes) as usize];
            let mut y = t | 1;
            let mut shape = |m: u64| {
                y ^= y << 13;
                y ^= y >> 7;
                y ^= y << 17;
                y % m
            };
            // The template decides which fields there are; values vary.
            let r = random_rule(&mut shape);
            let v = rnd(1 << 16);
            let r = r
                .split(' ')
                .map(|w| match w.parse::<u32>() {
                    Ok(p) if p > 255 => ((p as u64 + v) % 65536).to_string(),
                    _ => w.to_string(),
                })
                .collect::<Vec<_>>()
                .join(" ");
            text.push_str(&r);
            text.push('\n');
        }
        let (ours, refs) = both(&text);
        let (c, m) = build_accepted(&ours);
        for b in &keys {
            check_classifier(&c, &refs[..m], &key_for(&refs[..m], b));
        }
    }
}

// ------------------------------------------------------ common real sets

/// 10,000 exact UDP and TCP ports: two tables per protocol.
#[test]
fn ten_thousand_exact_ports() {
    let text: String = (0..10_000)
        .map(|i| format!("{} dport {}\n", ["udp", "tcp"][i % 2], 1024 + i))
        .collect();
    let c = accepted(&text, 4000);
    assert_eq!(c.bucket_size(false, 17), (2, 0));
    assert_eq!(c.bucket_size(true, 6), (2, 0));
    assert_eq!(c.bucket_size(false, 1), (0, 0));
    // Both port tables (destination, and source for the answers) are
    // answered by the port alone.
    assert_eq!(c.bucket_direct(false, 17), 2);
    assert_eq!(c.bucket_direct(true, 6), 2);
}

/// Port tables whose payload names more than a rule: 200 destination ports,
/// each with two source port ranges (the payload is the ranges' intervals),
/// beside 200 exact ports alone (the payload is the rule). Only the second
/// are answered by the port alone.
#[test]
fn port_tables_with_ranges_behind_the_port() {
    let mut text = String::new();
    for p in 2000..2200 {
        text.push_str(&format!("udp sport 1000-2000 dport {p}\n"));
        text.push_str(&format!("udp sport 5000-6000 dport {p}\n"));
        text.push_str(&format!("udp dport {}\n", p + 1000));
    }
    let c = accepted(&text, 6000);
    // Only the exact ports alone (both directions); the ports with ranges
    // behind them go through the general loop.
    assert_eq!(c.bucket_direct(false, 17), 2);
    assert_eq!(c.bucket_size(false, 17).0, 4);
}

/// 30 distinct IPv4 prefix lengths (3 to 32), with exact ports: prefixes
/// of every length share one table per direction.
#[test]
fn thirty_prefix_lengths_with_ports() {
    let mut text = String::new();
    for i in 0..3000u32 {
        let len = 3 + i % 30;
        let a = std::net::Ipv4Addr::from(i.wrapping_mul(0x9e37_79b9));
        let proto = ["tcp", "udp"][(i / 30 % 2) as usize];
        text.push_str(&format!(
            "ip {proto} saddr {a}/{len} dport {}\n",
            [80, 443, 8080][(i % 3) as usize]
        ));
    }
    let c = accepted(&text, 6000);
    assert_eq!(c.bucket_size(false, 6).0, 2);
}

/// 1,000 overlapping port ranges, TCP and UDP.
#[test]
fn a_thousand_port_ranges() {
    let text: String = (0..1000u32)
        .map(|i| {
            let lo = i.wrapping_mul(2_654_435_761) % 60000;
            format!(
                "{} dport {lo}-{}\n",
                ["tcp", "udp"][(i % 2) as usize],
                lo + i % 700
            )
        })
        .collect();
    let c = accepted(&text, 4000);
    assert_eq!(c.bucket_size(false, 17).0, 2);
}

/// The 7-shape mix, 10,000 rules: exact ports (tcp, udp, sctp),
/// port ranges, IPv4 /16 to /32 source and destination prefixes, IPv6 /48
/// with a port, a source port with a prefix.
fn seven_shapes(n: u32) -> String {
    (0..n)
        .map(|i| {
            let j = i / 7;
            let len = 16 + j % 17;
            let a = std::net::Ipv4Addr::from(0x0a00_0000 | (j.wrapping_mul(40503) & 0xff_ffff));
            match i % 7 {
                0 => format!(
                    "{} dport {}\n",
                    ["tcp", "udp", "sctp"][(j % 3) as usize],
                    1024 + j
                ),
                1 => format!("udp dport {}-{}\n", 2000 + j * 3, 2000 + j * 3 + j % 40),
                2 => format!("ip saddr {a}/{len}\n"),
                3 => format!("ip daddr {a}/{len}\n"),
                4 => format!("ip6 udp daddr 2001:db8:{j:x}::/48 dport 4789\n"),
                5 => format!("ip udp saddr 10.{}.0.0/16 sport {}\n", j % 256, 1024 + j),
                _ => format!("tcp dport {}\n", 30000 + j),
            }
        })
        .collect()
}

#[test]
fn seven_shapes_ten_thousand_rules() {
    let c = accepted(&seven_shapes(10_000), 8000);
    let (tables, flats) = c.max_bucket_size();
    assert!(tables <= MAX_TABLES && flats == 0, "{tables} {flats}");
}

/// The benchmark's 10,000 rules (tests/bench/rulegen.py): exact ports,
/// UDP port ranges, /32 and /24 IPv4 prefixes, IPv6 /48 with a port, /16
/// with a source port, /16 with a TCP source port range; `udp dport 53`
/// in the middle.
fn bench_rules(n: usize) -> String {
    let mut rules = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut i = 0u32;
    while rules.len() < n - 1 {
        let (j, k) = (i / 6, i % 6);
        let r = match k {
            0 => format!(
                "{} dport {}",
                ["tcp", "sctp", "dccp"][(j / 64000 % 3) as usize],
                1024 + j % 64000
            ),
            1 => {
                let lo = 1024 + j % 60000;
                format!("udp dport {lo}-{}", lo + 7)
            }
            2 if j % 2 == 1 => format!(
                "ip saddr 172.{}.{}.{}",
                16 + (j >> 16) % 16,
                (j >> 8) & 255,
                j & 255
            ),
            2 => format!("ip daddr 10.{}.{}.0/24", (j >> 8) & 255, j & 255),
            3 => format!("ip6 udp daddr 2001:db8:{j:x}::/48 dport 4789"),
            4 => format!(
                "ip udp saddr 10.{}.0.0/16 sport {}",
                j / 64000 % 256,
                1024 + j % 64000
            ),
            _ => format!(
                "ip tcp saddr {}.{}.0.0/16 sport 1-1023",
                j % 200 + 1,
                j / 200 % 256
            ),
        };
        if seen.insert(r.clone()) {
            rules.push(r);
        }
        i += 1;
    }
    rules.insert(rules.len() / 2, "udp dport 53".into());
    rules.join("\n")
}

#[test]
fn the_benchmark_set() {
    let c = accepted(&bench_rules(10_000), 8000);
    let k = PacketKey {
        proto: 17,
        saddr: 0xcb00_7102,
        daddr: 0xcb00_7101,
        has_ports: true,
        sport: 7,
        dport: 53,
        ..Default::default()
    };
    assert_eq!(c.lookup(&k), Some(4999));
    let (_, cost) = c.lookup_cost(&k);
    assert!(cost.tables <= 2, "{cost:?}");
}

/// The sets the guest tests load: 45-selftests' eight rules of every shape,
/// 41-stress's large set, 32-writers' 65,536 rules.
#[test]
fn the_guest_tests_sets() {
    accepted(
        "udp dport 9; tcp sport 9 dport 9; ip saddr 192.0.2.0/24; ip6 daddr 2001:db8:ffff::/48; sctp; udp sport 7 dport 7 oneway; ip daddr 198.51.100.0/24 udp; iif nomatch0",
        2000,
    );
    let mut big = String::from("udp dport 5353\ntcp dport 8080\n");
    for n in 10000..10700 {
        big.push_str(&format!("udp dport {n}\n"));
    }
    for n in 0..150 {
        big.push_str(&format!("ip saddr 10.{n}.0.0/16\n"));
    }
    for n in 0..148 {
        big.push_str(&format!("ip6 tcp daddr 2001:db8:{n:x}::/48 dport 1-1024\n"));
    }
    accepted(&big, 2000);
    let writers: String = (1..=65536u32)
        .map(|k| {
            if k % 2 == 0 {
                format!("udp dport {}\n", k % 65535 + 1)
            } else {
                format!("tcp sport {} dport {}\n", k % 250 + 1, k / 250 % 65535 + 1)
            }
        })
        .collect();
    accepted(&writers, 2000);
}

// ------------------------------------------------------------------ memory

/// Bytes of the compiled set per rule, and the most the build held at once
/// (through a counting allocator) over the compiled size or the rules it
/// was built from, whichever is larger (a port table is smaller than the
/// rules it holds).
fn memory(text: &str) -> (usize, f64) {
    let (ours, _) = both(text);
    PEAK.with(|p| p.set(0));
    LIVE.with(|l| l.set(0));
    let c = Classifier::<Counting>::build(&ours).unwrap_or_else(|e| panic!("{e:?}"));
    let peak = PEAK.with(Cell::get);
    let size = c.memory();
    let input = ours.len() * std::mem::size_of_val(&ours[0]);
    (size / ours.len(), peak as f64 / size.max(input) as f64)
}

#[test]
fn memory_follows_the_rules() {
    let ports: String = (0..65536u32)
        .map(|i| format!("{} dport {}\n", ["udp", "tcp"][(i % 2) as usize], i / 2 + 1))
        .collect();
    let prefixes: String = (0..65536u32)
        .map(|i| format!("ip saddr 10.{}.{}.0/{}\n", i >> 8, i & 255, 24 + i % 9))
        .collect();
    let v6: String = (0..65536u32)
        .map(|i| format!("ip6 udp daddr 2001:db8:{i:x}::/48 dport 4789\n"))
        .collect();
    for (what, text, most) in [
        ("65,536 exact ports", ports.as_str(), 16),
        ("65,536 IPv4 prefixes of 9 lengths", prefixes.as_str(), 80),
        ("65,536 IPv6 /48 with a port", v6.as_str(), 200),
        ("the 7-shape mix", &seven_shapes(10_000), 100),
        ("the benchmark set", &bench_rules(10_000), 100),
    ] {
        let (per_rule, peak) = memory(text);
        println!("{what}: {per_rule} bytes a rule, build peak {peak:.1} times that");
        assert!(per_rule <= most, "{what}: {per_rule} bytes a rule");
        assert!(
            peak <= 4.0,
            "{what}: the build held {peak:.1} times the result"
        );
    }
}

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

/// A `Vec` whose allocations are counted (live and peak bytes).
struct Counted<T>(Vec<T>);

impl<T> Counted<T> {
    fn bytes(&self) -> usize {
        self.0.capacity() * std::mem::size_of::<T>()
    }

    fn account(&mut self, f: impl FnOnce(&mut Vec<T>)) {
        let before = self.bytes();
        f(&mut self.0);
        let after = self.bytes();
        LIVE.with(|l| {
            l.set(l.get() + after - before.min(after));
            PEAK.with(|p| p.set(p.get().max(l.get())));
        });
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        let b = self.bytes();
        LIVE.with(|l| l.set(l.get().saturating_sub(b)));
    }
}

impl<T> Deref for Counted<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T> DerefMut for Counted<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T: Copy> Buf<T> for Counted<T> {
    fn with_capacity(n: usize) -> Result<Self, NoMem> {
        let mut c = Counted(Vec::new());
        c.account(|v| v.reserve_exact(n));
        Ok(c)
    }

    fn push(&mut self, x: T) -> Result<(), NoMem> {
        self.account(|v| v.push(x));
        Ok(())
    }

    fn truncate(&mut self, n: usize) {
        self.0.truncate(n);
    }
}

struct Counting;

impl Alloc for Counting {
    type Buf<T: Copy> = Counted<T>;
}

/// 65,536 rules `udp sport X dport Y`: 131,072 keys in one table (each rule
/// in both directions), so some share a 32-bit hash (about two, by the
/// birthday bound); every packet still finds the earliest rule of its own
/// key.
#[test]
fn keys_sharing_a_hash_stay_apart() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut pairs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while pairs.len() < 65536 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = ((x >> 16) as u16, (x >> 40) as u16);
        if seen.insert(p) {
            pairs.push(p);
        }
    }
    let text: String = pairs
        .iter()
        .map(|(s, d)| format!("udp sport {s} dport {d}\n"))
        .collect();
    let rules = parse(&text).unwrap();
    let c = Classifier::<Host>::build(&rules).unwrap();
    // The earliest rule of each (sport, dport), in either direction.
    let mut want = std::collections::HashMap::new();
    for (i, &(s, d)) in pairs.iter().enumerate() {
        want.entry((s, d)).or_insert(i as u32);
        want.entry((d, s)).or_insert(i as u32);
    }
    let key = |s: u16, d: u16| PacketKey {
        proto: 17,
        has_ports: true,
        sport: s,
        dport: d,
        ..Default::default()
    };
    for (&(s, d), &i) in &want {
        let k = key(s, d);
        let got = c.lookup(&k);
        assert_eq!(got, Some(i), "{s} {d}");
        ctskip_core::check_bounds(&c, &k, got);
    }
    for n in 0..20000u32 {
        let (s, d) = ((n * 7919) as u16, (n * 104_729) as u16);
        assert_eq!(c.lookup(&key(s, d)), want.get(&(s, d)).copied());
    }
}

/// Up to LINEAR_MAX rules, a lookup tests each rule's directions in order,
/// whatever the packet's protocol (no buckets: cheaper for a handful).
#[test]
fn small_sets_are_tested_in_order() {
    let rules = parse("tcp dport 1; sctp dport 3; udp dport 2; gre").unwrap();
    assert_eq!(rules.len(), ctskip_core::rules::classify::LINEAR_MAX);
    let c = Classifier::<Host>::build(&rules).unwrap();
    let k = PacketKey {
        proto: 17,
        has_ports: true,
        sport: 9,
        dport: 2,
        ..Default::default()
    };
    let (got, cost) = c.lookup_cost(&k);
    assert_eq!(got, Some(2));
    // tcp and sctp in both directions, then udp as written.
    assert_eq!(
        (cost.flats, cost.tables, cost.filtered),
        (5, 0, 0),
        "{cost:?}"
    );
    assert_eq!(c.tables(), 0);
}

/// The bounds README.md states, by number: 8 tables, 8 slots a probe, 19
/// search steps, 16 boxes, 32 flat tests, sets of up to 4 rules flat.
#[test]
fn the_readmes_bounds() {
    use ctskip_core::rules::classify::LINEAR_MAX;
    use ctskip_core::rules::limit::{MAX_SLOTS, MAX_STEPS};
    assert_eq!(
        (MAX_TABLES, MAX_SLOTS, MAX_STEPS, MAX_BOXES, MAX_FLAT, LINEAR_MAX),
        (8, 8, 19, 16, 32, 4)
    );
}

/// 65,536 rules of 7 shapes (the benchmark's kinds) build on a 16 KiB
/// stack, the kernel's on x86_64: nothing in the build recurses, and no
/// frame is large (the module's own frames: `scripts/lint`, 2 KiB at most).
#[test]
fn a_large_build_needs_little_stack() {
    let text = seven_shapes(65_536);
    let (ours, _) = both(&text);
    std::thread::Builder::new()
        .stack_size(16 << 10)
        .spawn(move || {
            let _ = Classifier::<Host>::build(&ours);
        })
        .unwrap()
        .join()
        .unwrap();
}

/// At the bound (as 49-bounds does in the guest): 8 tables (source lengths
/// 1..8, each with 32 destination lengths) plus 8 rules of a 9th length
/// (flat tests) are accepted; a 9th rule of that length makes a 9th table,
/// refused, naming the first rule of that length.
#[test]
fn a_ninth_table_is_refused() {
    let pairs: Vec<String> = (1..=9)
        .flat_map(|a| (1..=32).map(move |b| (a, b)))
        .map(|(a, b)| format!("ip saddr 172.16.0.0/{a} daddr 172.16.0.0/{b} oneway\n"))
        .collect();
    accepted(&pairs[..256 + 8].concat(), 500);
    let (ours, _) = both(&pairs[..256 + 9].concat());
    let l = refused(&ours);
    assert_eq!(
        (l.kind, l.count, l.max, l.index),
        (LimitKind::Tables, 9, MAX_TABLES, 256),
        "{l}"
    );
}

// ------------------------------------------------ port tables, shared masks

/// The benchmarks' packet: UDP 10.9.0.2:40000 to 10.9.0.1:53.
fn bench_packet() -> PacketKey {
    PacketKey {
        proto: 17,
        saddr: 0x0a09_0002,
        daddr: 0x0a09_0001,
        has_ports: true,
        sport: 40000,
        dport: 53,
        ..Default::default()
    }
}

/// 10,000 `udp dport N` (S10k): two port tables (each rule and its
/// reverse), both answered by the port alone, so the bucket has no shared
/// prefilter (its cells would cost about what the second probe costs): the
/// packet probes one slot of each, no more.
#[test]
fn ten_thousand_ports_are_one_probe() {
    let mut text: String = (0..9999)
        .map(|i| format!("udp dport {}\n", 1024 + i))
        .collect();
    text.push_str("udp dport 53\n");
    let c = accepted(&text, 4000);
    let (got, cost) = c.lookup_cost(&bench_packet());
    assert_eq!(got, Some(9999));
    assert_eq!(
        (
            cost.tables,
            cost.slots,
            cost.filtered,
            cost.skipped,
            cost.flats
        ),
        (2, 2, 0, 0, 0),
        "{cost:?}"
    );
    assert_eq!(c.bucket_direct(false, 17), 2);
    // The reverse direction's table answers a reply (source port 53).
    let mut reply = bench_packet();
    (reply.sport, reply.dport) = (53, 40000);
    assert_eq!(c.lookup(&reply), Some(9999));
}

/// A large set's flat tests come before its tables only up to the first
/// table's earliest rule, and a flat test's rule earlier than a port-alone
/// table's answer still wins: `ip tcp saddr 10.0.0.0/8 dport 22` (a flat
/// test, rule 0) ahead of 300 `tcp dport N` (port-alone tables, one of
/// them answering port 22 with rule 23).
#[test]
fn an_earlier_flat_test_beats_a_port_alone_answer() {
    let mut text = String::from("ip tcp saddr 10.0.0.0/8 dport 22\n");
    for i in 0..300 {
        text.push_str(&format!("tcp dport {i}\n"));
    }
    let c = accepted(&text, 2000);
    assert_eq!(c.bucket_direct(false, 6), 2);
    let mut k = PacketKey {
        proto: 6,
        saddr: 0x0a01_0203,
        daddr: 0x0a09_0001,
        has_ports: true,
        sport: 40000,
        dport: 22,
        ..Default::default()
    };
    assert_eq!(c.lookup(&k), Some(0));
    // From elsewhere, the port's own rule.
    k.saddr = 0x0b01_0203;
    assert_eq!(c.lookup(&k), Some(23));
}

/// Small sets over several protocols: each protocol's bucket gets its
/// shared prefilters (8 KiB a bucket, eight buckets always fit), so a
/// packet of any of them skips the entries its cells rule out.
#[test]
fn five_protocols_all_get_prefilters() {
    let mut text = String::new();
    for p in ["tcp", "udp", "sctp", "dccp", "udplite"] {
        for i in 0..10 {
            text.push_str(&format!("ip {p} saddr 10.{i}.0.0/16 oneway\n"));
            text.push_str(&format!("ip {p} dport {} oneway\n", 1000 + i));
        }
    }
    let c = accepted(&text, 2000);
    for proto in [6, 17, 132, 33, 136] {
        let k = PacketKey {
            proto,
            saddr: 0xc0a8_0001,
            daddr: 0x0a09_0001,
            has_ports: true,
            sport: 40000,
            dport: 9,
            ..Default::default()
        };
        let (got, cost) = c.lookup_cost(&k);
        assert_eq!(got, None);
        assert!(cost.skipped >= 2, "protocol {proto}: {cost:?}");
    }
}

/// A bucket whose entries only one field tells apart (here the
/// destination port) still gets its shared prefilters: a packet to another
/// port skips every entry.
#[test]
fn one_telling_field_is_enough() {
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!(
            "ip udp dport {}-{} oneway\n",
            1000 + 100 * i,
            1001 + 100 * i
        ));
        text.push_str(&format!("ip udp dport {} oneway\n", 5000 + 300 * i));
    }
    let c = accepted(&text, 2000);
    let (tables, flats) = c.bucket_size(false, 17);
    let k = PacketKey {
        proto: 17,
        saddr: 0x0a09_0002,
        daddr: 0x0a09_0001,
        has_ports: true,
        sport: 40000,
        dport: 9,
        ..Default::default()
    };
    let (got, cost) = c.lookup_cost(&k);
    assert_eq!(got, None);
    assert_eq!(cost.skipped as usize, tables + flats, "{cost:?}");
}

/// The adversarial family (`ip saddr P/A daddr Q/B oneway`, every
/// source prefix holding the packet's source, no destination prefix its
/// destination), as much of it as the bounds accept, then `udp dport 53`:
/// the shared destination-address prefilter (a hash of the first 17 bits,
/// the shortest destination prefix) skips every table and flat test of the
/// family, so the packet tries one flat test (`udp dport 53`'s: its few
/// directions have no table).
#[test]
fn the_adversarial_family_is_skipped_whole() {
    let net = |a: u32, len: u32| {
        let a = a & (u32::MAX << (32 - len));
        format!(
            "{}.{}.{}.{}/{len}",
            a >> 24,
            (a >> 16) & 255,
            (a >> 8) & 255,
            a & 255
        )
    };
    let (src, far) = (0x0a09_0002u32, 0x0a09_8000u32);
    let family: Vec<String> = (17..=32)
        .rev()
        .flat_map(|b| (1..=32).rev().map(move |a| (a, b)))
        .map(|(a, b)| format!("ip saddr {} daddr {} oneway", net(src, a), net(far, b)))
        .collect();
    let with = |n: usize| {
        let mut t = family[..n].join("\n");
        t.push_str("\nudp dport 53\n");
        t
    };
    // The longest accepted part (accepted lengths are a prefix of 0..=len).
    let (mut lo, mut hi) = (0, family.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let (ours, _) = both(&with(mid));
        if Classifier::<Host>::build(&ours).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    assert!(lo > 200, "only {lo} rules of the family accepted");
    let c = accepted(&with(lo), 2000);
    let (tables, flats) = c.bucket_size(false, 17);
    assert_eq!((tables, flats), (MAX_TABLES, 10), "the bucket is full");
    let (got, cost) = c.lookup_cost(&bench_packet());
    assert_eq!(got, Some(lo as u32));
    assert_eq!(
        (cost.tables, cost.flats, cost.filtered, cost.skipped),
        (0, 1, 0, (tables + flats - 1) as u32),
        "{cost:?}"
    );
}

/// Sets that put many entries in many buckets: tables naming no protocol
/// are in every protocol's bucket. The build works out each entry's cells
/// once (not once per bucket: 18.6 s for the first set below when it did),
/// and the shared prefilters stay within their budget (64 KiB plus 64
/// bytes a rule direction), whatever the number of buckets.
#[test]
fn many_buckets_build_fast_and_small() {
    let mut many: String = (0..64_000).map(|i| format!("iif e{i}\n")).collect();
    // (icmp is IPv4's, icmpv6 IPv6's.)
    for p in 0..=255 {
        if p != 58 {
            many.push_str(&format!("ip proto {p}\n"));
        }
        if p != 1 {
            many.push_str(&format!("ip6 proto {p}\n"));
        }
    }
    let (ours, _) = both(&many);
    let t = Instant::now();
    let c = Classifier::<Host>::build(&ours).unwrap_or_else(|e| panic!("{e:?}"));
    let took = t.elapsed();
    println!("{} rules in many buckets: built in {took:?}", ours.len());
    assert!(took.as_secs_f64() < 3.0, "built in {took:?}");
    drop(c);
    let mut buckets = String::from("ip saddr 10.0.0.0/8\nip6 saddr 2001:db8::/32\n");
    for p in 0..=255u32 {
        if p != 58 {
            buckets.push_str(&format!("ip proto {p} daddr 10.{p}.0.0/24\n"));
        }
        if p != 1 {
            buckets.push_str(&format!("ip6 proto {p} daddr 2001:db8:{p:x}::/48\n"));
        }
    }
    let (per_rule, _) = memory(&buckets);
    println!("512 rules in 512 buckets: {per_rule} bytes a rule");
    // (The prefilters' fixed 64 KiB is 128 bytes of it.)
    assert!(per_rule <= 1_100, "{per_rule} bytes a rule");
    accepted(&buckets, 2000);
}

/// A port table only where it pays: 128 rules on one port (the addresses
/// resolved by intervals) are one key, a hash table of one slot pair, not a
/// 4 KiB port map (the estimate counts keys, not rule directions).
#[test]
fn one_port_many_rules_stays_small() {
    let set = |n: u32| -> String {
        (0..n)
            .map(|i| format!("ip udp dport 53 daddr 10.{i}.0.0/{} oneway\n", 16 + i % 9))
            .collect()
    };
    let (at127, _) = memory(&set(127));
    let (at128, _) = memory(&set(128));
    println!("one port: {at127} bytes a rule at 127 rules, {at128} at 128");
    assert!(
        at128 <= at127 + at127 / 5,
        "{at127} -> {at128} bytes a rule"
    );
    accepted(&set(128), 500);
}
