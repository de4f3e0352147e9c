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
    if mode == "longest" {
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
        for r in with(lo) {
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
