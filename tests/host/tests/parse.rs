//! Parsing, errors and canonical form of the rule language.

use ctskip_core::rules::parse_rules;
use ctskip_core::{canon, parse};

fn one(s: &str) -> String {
    let v = parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
    assert_eq!(v.len(), 1, "{s:?}");
    canon(&v[0])
}

fn bad(s: &str) -> String {
    parse(s).expect_err(s)
}

#[test]
fn examples_from_the_interface() {
    assert_eq!(one("udp dport 53"), "udp dport 53");
    assert_eq!(
        one("ip6 tcp daddr 2001:db8::/32 dport 80-443"),
        "ip6 tcp daddr 2001:db8::/32 dport 80-443"
    );
    assert_eq!(
        one("ip udp saddr 10.0.0.0/8 sport 4789 oneway"),
        "ip udp saddr 10.0.0.0/8 sport 4789 oneway"
    );
    assert_eq!(
        one("tcp daddr 2001:db8::1/32"),
        "ip6 tcp daddr 2001:db8::/32"
    );
    assert_eq!(one("proto 6"), "tcp");
}

#[test]
fn canonical_form() {
    // Any order on input, grammar order on output.
    assert_eq!(one("oneway dport 53 udp ip"), "ip udp dport 53 oneway");
    assert_eq!(one("oif eth0 iif veth1 tcp"), "tcp iif veth1 oif eth0");
    // Host bits cleared, full prefixes dropped.
    assert_eq!(one("saddr 10.1.2.3/8"), "ip saddr 10.0.0.0/8");
    assert_eq!(one("saddr 10.1.2.3/32"), "ip saddr 10.1.2.3");
    assert_eq!(
        one("daddr 2001:DB8:0:0:0:0:0:1/128"),
        "ip6 daddr 2001:db8::1"
    );
    assert_eq!(one("daddr 0.0.0.0/0"), "ip daddr 0.0.0.0/0");
    assert_eq!(one("saddr ::/0"), "ip6 saddr ::/0");
    assert_eq!(one("saddr 2001:0:0:1:0:0:0:1"), "ip6 saddr 2001:0:0:1::1");
    // N-M only when N < M.
    assert_eq!(one("udp dport 53-53"), "udp dport 53");
    assert_eq!(one("tcp sport 0-65535"), "tcp sport 0-65535");
    // Protocol numbers of named protocols print as names; family implied.
    assert_eq!(one("proto 17"), "udp");
    assert_eq!(one("proto 1"), "ip icmp");
    assert_eq!(one("proto 58"), "ip6 icmpv6");
    assert_eq!(one("icmp"), "ip icmp");
    assert_eq!(one("icmpv6"), "ip6 icmpv6");
    assert_eq!(one("proto 0"), "proto 0");
    assert_eq!(one("proto 255"), "proto 255");
    assert_eq!(one("ip proto 4"), "ip proto 4");
    assert_eq!(one("gre"), "gre");
    assert_eq!(one("ip6 esp"), "ip6 esp");
    assert_eq!(one("ah"), "ah");
    for p in ["udplite", "sctp", "dccp"] {
        assert_eq!(one(&format!("{p} dport 1-2")), format!("{p} dport 1-2"));
    }
    assert_eq!(one("  \tudp\t dport   53  "), "udp dport 53");
    assert_eq!(one("iif eth0"), "iif eth0");
    assert_eq!(one("oif a.b-c_d@1234567"), "oif a.b-c_d@1234567");
}

#[test]
fn separators_and_comments() {
    let v = parse("udp dport 53; tcp dport 80\n# comment; not a rule\n\n ; ;\nudp dport 123 # trailing; comment\n").unwrap();
    let c: Vec<_> = v.iter().map(canon).collect();
    assert_eq!(c, ["udp dport 53", "tcp dport 80", "udp dport 123"]);
    assert!(parse("").unwrap().is_empty());
    assert!(parse("  \n\t\n# only\n;;").unwrap().is_empty());
}

#[test]
fn errors_name_rule_number_text_and_word() {
    assert_eq!(
        bad("udp dport 53\nudp dport 70000"),
        r#"rule 2 "udp dport 70000": bad port or port range "70000""#
    );
    assert_eq!(
        bad("udp dpoort 53"),
        r#"rule 1 "udp dpoort 53": unknown keyword "dpoort""#
    );
    assert_eq!(
        bad("udp dport 53 dport 54"),
        r#"rule 1 "udp dport 53 dport 54": repeated keyword "dport""#
    );
    assert_eq!(
        bad("tcp udp"),
        r#"rule 1 "tcp udp": more than one protocol "udp""#
    );
    assert_eq!(
        bad("tcp proto 6"),
        r#"rule 1 "tcp proto 6": more than one protocol "proto""#
    );
    assert_eq!(bad("ip ip6"), r#"rule 1 "ip ip6": repeated keyword "ip6""#);
    assert_eq!(
        bad("udp dport"),
        r#"rule 1 "udp dport": missing value after "dport""#
    );
    assert_eq!(
        bad("oneway"),
        r#"rule 1 "oneway": rule has no field "oneway""#
    );
    assert_eq!(
        bad("dport 53"),
        r#"rule 1 "dport 53": ports need tcp, udp, udplite, sctp or dccp "dport""#
    );
    assert_eq!(
        bad("icmp sport 1"),
        r#"rule 1 "icmp sport 1": ports need tcp, udp, udplite, sctp or dccp "sport""#
    );
    assert_eq!(
        bad("ip6 saddr 10.0.0.1"),
        r#"rule 1 "ip6 saddr 10.0.0.1": address family conflict "10.0.0.1""#
    );
    assert_eq!(
        bad("saddr 10.0.0.1 daddr ::1"),
        r#"rule 1 "saddr 10.0.0.1 daddr ::1": address family conflict "::1""#
    );
    assert_eq!(
        bad("ip icmpv6"),
        r#"rule 1 "ip icmpv6": address family conflict "icmpv6""#
    );
    assert_eq!(
        bad("ip proto 58"),
        r#"rule 1 "ip proto 58": address family conflict "58""#
    );
    assert_eq!(
        bad("ip6 icmp"),
        r#"rule 1 "ip6 icmp": address family conflict "icmp""#
    );
    assert_eq!(
        bad("UDP dport 53"),
        r#"rule 1 "UDP dport 53": unknown keyword "UDP""#
    );
}

#[test]
fn bad_values() {
    for s in [
        "proto 256",
        "proto -1",
        "proto x",
        "proto 1e3",
        "proto +6",
        "proto 99999999999999999999",
        "udp dport 65536",
        "udp dport 2-1",
        "udp dport 1-",
        "udp dport -1",
        "udp dport 1-2-3",
        "udp dport 0x10",
        "saddr 10.0.0.1/33",
        "saddr ::1/129",
        "saddr 10.0.0/8",
        "saddr 10.0.0.256",
        "saddr 10.0.0.1/",
        "saddr 1::2::3",
        "saddr 10.0.0.1/-1",
        "saddr /8",
        "saddr 010.0.0.1",
        "daddr fe80::1%eth0",
        "iif 0123456789abcdef",
        "iif a/b",
        "iif a:b",
        "iif .",
        "iif ..",
        "oif caf\u{e9}",
        "udp dport 5\u{0}3",
        "ud\u{0}p",
    ] {
        let e = bad(s);
        assert!(e.starts_with("rule 1 \""), "{s:?}: {e}");
    }
    assert_eq!(one("iif 0123456789abcde"), "iif 0123456789abcde");
    assert_eq!(one("proto 006"), "tcp");
}

#[test]
fn error_text_escapes_unprintable_bytes() {
    let mut v = Vec::new();
    let r = ctskip_core::rules::parse_rules::<()>(b"udp dport \xff\x01", |r| {
        v.push(r);
        Ok(())
    });
    let e = format!("{}", r.unwrap_err().unwrap());
    assert_eq!(
        e,
        r#"rule 1 "udp dport \xff\x01": bad port or port range "\xff\x01""#
    );
}

#[test]
fn rule_numbers_count_rules_not_lines() {
    let e = bad("# header\n\nudp dport 53; tcp dport 80\n\nsctp dport x\n");
    assert!(e.starts_with("rule 3 \"sctp dport x\""), "{e}");
}

fn bad_line(s: &str) -> String {
    let mut err = None;
    let _ = parse_rules::<()>(s.as_bytes(), |_| Ok(())).map_err(|e| {
        err = Some(e.ok().unwrap().with_line().to_string());
    });
    err.expect(s)
}

#[test]
fn errors_with_line_numbers_count_physical_lines() {
    // Comments, blank lines and `;` shift rule numbers and lines apart.
    let text = "# header\n\nudp dport 53; tcp dport 80\n  # note\nudp dport 99999\n";
    assert_eq!(
        bad_line(text),
        r#"line 5: rule 3 "udp dport 99999": bad port or port range "99999""#
    );
    assert_eq!(
        bad_line("udp dport 1; udp dpor 2"),
        r#"line 1: rule 2 "udp dpor 2": unknown keyword "dpor""#
    );
    let big: String = (0..10_000)
        .map(|i| format!("udp dport {}\n", i % 65536))
        .collect::<String>()
        + "tcp dport x\n";
    assert!(bad_line(&big).starts_with("line 10001: rule 10001 "));
}
