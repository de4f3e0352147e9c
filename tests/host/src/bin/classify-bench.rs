//! Classifier lookup cost, for the scaling benchmark (tests/bench/classifier).
//!
//!   classify-bench classifier|reference LOOKUPS < rules.txt
//!
//! Builds the rule set from stdin, then does LOOKUPS lookups alternating a
//! packet that matches `udp dport 53` (placed mid-set by rulegen.py) and one
//! that matches nothing. Run under `valgrind --tool=callgrind` twice (L and
//! 2L lookups): the difference over L is the instructions per lookup.
//!
//!   classify-bench classifier LOOKUPS PACKET < rules.txt
//!
//! looks up one packet, `[v6:]PROTO:SADDR:DADDR:SPORT:DPORT` (addresses as
//! integers), every time, and prints what a lookup of it does.
//!
//!   classify-bench longest < rules.txt
//!
//! prints the longest leading part of the rules that the classifier
//! accepts with the last rule kept after it (the benchmark's worst-case
//! accepted set: an adversarial family cut where ctskip refuses it).
//!
//!   classify-bench limits PACKET PART < rules.txt
//!
//! the whole text's verdict (`whole accepted`, or `whole refused: ` and the
//! bound's text), the longest accepted part as `longest` cuts it (written
//! to the file PART) and its size (`accepted N`), and the
//! most work one lookup of that part did (`cost ...`: tables probed, slots,
//! interval-search steps and port boxes of one probe, flat tests) over
//! PACKET (`v4` or `v6`: the benchmark's UDP packet to port 53 from the
//! source port range, 10.9.0.2 to 10.9.0.1 or 2001:db8:9::2 to
//! 2001:db8:9::1) and 20,000 packets aimed at the part's rules, each also
//! reversed; with the bounds beside them (`bound ...`).

use std::hint::black_box;
use std::io::Read;

use ctskip_core::rules::{Classifier, PacketKey};
use ctskip_core::{parse, Host};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args[1].as_str();
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text).unwrap();
    let rules = parse(&text).unwrap();
    if mode == "limits" {
        limits(&rules, args[2] == "v6", &args[3]);
        return;
    }
    if mode == "longest" {
        for r in longest(&rules) {
            println!("{r}");
        }
        return;
    }
    let n: u64 = args[2].parse().unwrap();
    let c = Classifier::<Host>::build(&rules).unwrap();
    // TEST-NET-3 addresses and a low source port: outside every generated rule.
    let hit = PacketKey {
        proto: 17,
        saddr: 0xcb00_7102,
        daddr: 0xcb00_7101,
        has_ports: true,
        sport: 7,
        dport: 53,
        ..Default::default()
    };
    let miss = PacketKey { dport: 54, ..hit };
    if let Some(spec) = args.get(3) {
        let mut f: Vec<&str> = spec.split(':').collect();
        let v6 = f.first() == Some(&"v6");
        if v6 {
            f.remove(0);
        }
        let k = PacketKey {
            v6,
            proto: f[0].parse().unwrap(),
            saddr: f[1].parse().unwrap(),
            daddr: f[2].parse().unwrap(),
            has_ports: true,
            sport: f[3].parse().unwrap(),
            dport: f[4].parse().unwrap(),
            ..Default::default()
        };
        let mut found = 0u64;
        for _ in 0..n {
            found += u64::from(black_box(c.lookup(black_box(&k))).is_some());
        }
        eprintln!(
            "rules {} tables {} found {} {:?}",
            rules.len(),
            c.tables(),
            found,
            c.lookup_cost(&k)
        );
        return;
    }
    let mut found = 0u64;
    for i in 0..n {
        let k = black_box(if i % 2 == 0 { &hit } else { &miss });
        let r = match mode {
            "classifier" => c.lookup(k),
            _ => rules.iter().position(|r| r.matches(k)).map(|i| i as u32),
        };
        found += u64::from(black_box(r).is_some());
    }
    assert_eq!(
        found,
        n.div_ceil(2),
        "the matching packet must match, the other not"
    );
    eprintln!(
        "rules {} tables {} found {}",
        rules.len(),
        c.tables(),
        found
    );
}

/// The longest leading part of `rules` the classifier accepts, with the
/// last rule kept after it.
fn longest(rules: &[ctskip_core::rules::Rule]) -> Vec<ctskip_core::rules::Rule> {
    let (last, head) = rules.split_last().expect("rules");
    let with = |k: usize| {
        let mut v = head[..k].to_vec();
        v.push(*last);
        v
    };
    // The accepted lengths are a prefix of 0..=len (a rule added never
    // removes a table), so bisect.
    let (mut lo, mut hi) = (0, head.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if Classifier::<Host>::build(&with(mid)).is_ok() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    with(lo)
}

/// `classify-bench limits` (see the top): the part is written to `part`.
fn limits(rules: &[ctskip_core::rules::Rule], v6: bool, part: &str) {
    use ctskip_core::reference as re;
    use ctskip_core::rules::classify::{Cost, MAX_BOXES, MAX_FLAT, MAX_SLOTS, MAX_TABLES};
    use ctskip_core::rules::limit::MAX_STEPS;
    use ctskip_core::rules::BuildError;
    use ctskip_core::{key_for, reverse};
    match Classifier::<Host>::build(rules) {
        Ok(_) => println!("whole accepted"),
        Err(BuildError::Limit(l)) => println!("whole refused: {l}"),
        Err(e) => panic!("{e:?}"),
    }
    let kept = longest(rules);
    let text: String = kept.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(part, &text).unwrap();
    let c = Classifier::<Host>::build(&kept).unwrap();
    println!("accepted {}", kept.len());
    let refs = re::parse_set(text.as_bytes()).unwrap();
    let refs = &refs[..];
    let mut keys = Vec::new();
    for sport in [32768u16, 40000, 65535] {
        keys.push(if v6 {
            PacketKey {
                v6: true,
                proto: 17,
                saddr: 0x2001_0db8_0009_0000_0000_0000_0000_0002,
                daddr: 0x2001_0db8_0009_0000_0000_0000_0000_0001,
                has_ports: true,
                sport,
                dport: 53,
                ..Default::default()
            }
        } else {
            PacketKey {
                proto: 17,
                saddr: 0x0a09_0002,
                daddr: 0x0a09_0001,
                has_ports: true,
                sport,
                dport: 53,
                ..Default::default()
            }
        });
    }
    for b in 0..20_000u32 {
        let seed: [u8; 12] = core::array::from_fn(|i| {
            (b.wrapping_mul(2_654_435_761).rotate_left(i as u32 * 5) >> (i % 4 * 8)) as u8
                ^ (i as u8).wrapping_mul(37)
        });
        let k = key_for(refs, &seed);
        keys.push(k);
        keys.push(reverse(&k));
    }
    let mut most = Cost::default();
    for k in &keys {
        let (_, w) = c.lookup_cost(k);
        most.tables = most.tables.max(w.tables);
        most.probe_slots = most.probe_slots.max(w.probe_slots);
        most.probe_steps = most.probe_steps.max(w.probe_steps);
        most.probe_boxes = most.probe_boxes.max(w.probe_boxes);
        most.flats = most.flats.max(w.flats);
    }
    let bench = c.lookup_cost(&keys[1]).1;
    println!(
        "cost packets {} tables {} slots {} steps {} boxes {} flats {}",
        keys.len(),
        most.tables,
        most.probe_slots,
        most.probe_steps,
        most.probe_boxes,
        most.flats
    );
    println!(
        "bench tables {} slots {} steps {} boxes {} flats {}",
        bench.tables, bench.probe_slots, bench.probe_steps, bench.probe_boxes, bench.flats
    );
    println!("bound tables {MAX_TABLES} slots {MAX_SLOTS} steps {MAX_STEPS} boxes {MAX_BOXES} flats {MAX_FLAT}");
}
