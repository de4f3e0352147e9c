//! The unfinished end of a text (what `printf 'udp dport 53' > rules`
//! leaves after its last newline or `;`) against the README reference.
//! README: the end "applies as soon as it is a whole rule"; an end that
//! "ctskip can tell no bytes could make a rule (an unknown or repeated
//! keyword, `udp dport 99999`) is refused at once"; any other end waits for
//! more bytes or the close. The module's `Incoming::tail` must say what the
//! reference's `split_tail` says, but for the impossible ends it holds, all
//! named by `cut_word_checked_alone`.

use ctskip_core::reference::{split_tail, RefTail};
use ctskip_core::rules::{Incoming, Tail};
use ctskip_core::{canon, cut_word_checked_alone, Host};
use proptest::prelude::*;

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
    "0",
    "00",
    "6",
    "17",
    "58",
    "1",
    "255",
    "256",
    "53",
    "053",
    "80-443",
    "443-80",
    "5-",
    "5-0",
    "5-x",
    "0-65535",
    "65536",
    "99999",
    "10.0.0.1",
    "10.0.0.0/8",
    "10.1.2.3/33",
    "::1",
    "::ffff:1.2.3.4",
    "2001:db8::/32",
    "fe80::1/129",
    "1:2:3:4:5:6:7:8",
    "eth0",
    "veth1",
    "0123456789abcdef",
    ".",
    "..",
    "a/b",
    "x:y",
    "UDP",
    "bogus",
    "5",
    "13",
    "3",
    "50",
    "1.2.3.4",
    "fe80::",
    ":",
    "12345",
    "7-9",
];

/// The module's view of a text's end, in the reference's terms.
fn module(text: &[u8]) -> String {
    let mut t = Incoming::<Host>::new().unwrap();
    if t.push(text).is_err() {
        return "never".into();
    }
    match t.tail() {
        Ok(Tail::Rule(r)) => format!("rule {}", canon(&r)),
        Ok(Tail::Unfinished) => "unfinished".into(),
        Ok(_) => "empty".into(),
        Err(_) => "never".into(),
    }
}

fn reference(text: &[u8]) -> String {
    match split_tail(text).1 {
        RefTail::Rule(r) => format!("rule {r}"),
        RefTail::Unfinished => "unfinished".into(),
        RefTail::Empty => "empty".into(),
        RefTail::Never(_) => "never".into(),
    }
}

fn check(text: &[u8]) -> Result<(), TestCaseError> {
    let (m, r) = (module(text), reference(text));
    let end = &text[split_tail(text).0.len()..];
    let known = m == "unfinished" && r == "never" && cut_word_checked_alone(end);
    prop_assert!(
        m == r || known,
        "end {:?}: module {} but the README reference {}",
        String::from_utf8_lossy(text),
        m,
        r
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 50000, ..ProptestConfig::default() })]

    #[test]
    fn ends_are_held_applied_or_refused_as_the_readme_says(
        words in prop::collection::vec(prop::sample::select(WORDS), 1..6),
        cut in any::<prop::sample::Index>(),
        blank in prop::sample::select(vec!["", "", " ", "\t"]),
        before in prop::sample::select(vec!["", "udp dport 1\n", "tcp; "]),
    ) {
        let mut s = words.join(" ");
        let last = words[words.len() - 1].len();
        s.truncate(s.len() - last + cut.index(last + 1));
        let text = format!("{before}{s}{blank}");
        check(text.as_bytes())?;
    }
}

#[test]
fn readme_examples_of_ends() {
    for (end, want) in [
        ("udp dport 53", "rule udp dport 53"),
        ("udp dp", "unfinished"),
        ("bogus", "never"),
        ("udp dport 99999", "never"),
        ("tcp dport", "unfinished"),
        ("udp dport 53 # comment", "empty"),
        ("udp dport 5-x", "never"),
        ("esp dport 5 ", "never"),
        ("proto 2555", "never"),
    ] {
        assert_eq!(reference(end.as_bytes()), want, "reference: {end:?}");
        assert_eq!(module(end.as_bytes()), want, "module: {end:?}");
    }
}
