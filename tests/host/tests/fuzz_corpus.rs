//! Short fuzzing inside `cargo test`: replays the kept corpus
//! (`fuzz/corpus/rules/`) through the fuzz oracle, then a few thousand
//! random inputs built from rule-language words. The long run is
//! `tests/host/fuzz/run` (cargo-fuzz, coverage-guided).

use ctskip_core::fuzz_check;
use proptest::prelude::*;

#[test]
fn corpus_replays_clean() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/rules");
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("corpus directory") {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        fuzz_check(&data);
        n += 1;
    }
    assert!(n > 0, "empty corpus");
}

const WORDS: &[&str] = &[
    "ip",
    "ip6",
    "tcp",
    "udp",
    "udplite",
    "sctp",
    "dccp",
    "icmp",
    "icmpv6",
    "gre",
    "esp",
    "ah",
    "proto",
    "saddr",
    "daddr",
    "sport",
    "dport",
    "iif",
    "oif",
    "oneway",
    "6",
    "17",
    "58",
    "256",
    "53",
    "80-443",
    "443-80",
    "0-65535",
    "65536",
    "10.0.0.1",
    "10.0.0.0/8",
    "10.1.2.3/33",
    "::1",
    "2001:db8::/32",
    "fe80::1/129",
    "eth0",
    "veth1",
    "0123456789abcdef",
    ";",
    "\n",
    "#",
    " ",
    "\t",
    "\0",
    "\u{e9}",
    "-",
    "/",
    "",
];

/// One rule's text: a random subset of the fields, in random order, with
/// values mostly valid (so most rules parse and keys hit them).
fn rule_text() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        prop::sample::select(vec!["ip", "ip6"]).prop_map(String::from),
        prop::sample::select(vec![
            "tcp", "udp", "sctp", "icmp", "icmpv6", "gre", "proto 6", "proto 17", "proto 99"
        ])
        .prop_map(String::from),
        (
            prop::sample::select(vec!["saddr", "daddr"]),
            prop::sample::select(vec![
                "10.0.0.1",
                "10.0.0.0/8",
                "10.0.0.0/30",
                "2001:db8::/32",
                "2001:db8::1",
                "::/0"
            ])
        )
            .prop_map(|(k, v)| format!("{k} {v}")),
        (
            prop::sample::select(vec!["sport", "dport"]),
            0u16..2000,
            0u16..300,
            any::<bool>()
        )
            .prop_map(|(k, lo, w, single)| if single {
                format!("{k} {lo}")
            } else {
                format!("{k} {lo}-{}", lo + w)
            }),
        (
            prop::sample::select(vec!["iif", "oif"]),
            prop::sample::select(vec!["eth0", "veth1"])
        )
            .prop_map(|(k, v)| format!("{k} {v}")),
        Just(String::from("oneway")),
    ];
    prop::collection::vec(field, 1..6).prop_map(|f| f.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn random_word_soup(words in prop::collection::vec(prop::sample::select(WORDS), 0..40),
                        keys in prop::collection::vec(any::<u8>(), 0..120)) {
        let mut data = words.join(" ").into_bytes();
        data.push(0xff);
        data.extend_from_slice(&keys);
        fuzz_check(&data);
    }

    #[test]
    fn grammar_shaped_rules(rules in prop::collection::vec(rule_text(), 1..12),
                            keys in prop::collection::vec(any::<u8>(), 0..240)) {
        let mut data = rules.join(";").into_bytes();
        data.push(0xff);
        data.extend_from_slice(&keys);
        fuzz_check(&data);
    }

    #[test]
    fn random_bytes(data in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzz_check(&data);
    }
}
