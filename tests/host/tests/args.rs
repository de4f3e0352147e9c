//! The module's argument string as the kernel splits it, and the refusal of
//! a `rules` value cut at blanks (`src/rules/args.rs`).

use ctskip_core::rules::args::{split, split_rules};

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
    let s = split_rules(b"rules=\"udp dport 53\" x").unwrap();
    assert_eq!(s.stray, b"x");
    for fine in [
        "rules=udp",
        "rules=\"udp dport 53\"",
        "rules=\"udp dport 53; tcp dport 80\" priority=-250 enabled=0",
        "priority=-250",
        "",
        "unknown=1 rules=udp",
        "rules=udp priority=-201",
    ] {
        assert_eq!(split_rules(fine.as_bytes()), None, "{fine:?}");
    }
}
