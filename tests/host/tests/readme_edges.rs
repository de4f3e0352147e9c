//! The edge cases of README.md's "The rule language exactly", each checked
//! against the module's core (`src/rules`): its parser and printer, its text
//! receiver (`Incoming`, behind `rules`/`add`/`del`), its set planners and
//! its classifier. Where the README reference (`src/reference.rs`) reads
//! texts too, it must agree, so the oracle and the README say one thing.

use ctskip_core::reference as re;
use ctskip_core::rules::{
    plan_del, plan_replace, Classifier, IfName, Incoming, PacketKey, Rule, SetError, Tail,
    MAX_RULES,
};
use ctskip_core::{canon, Host};

/// The canonical texts of a text's rules (repeats kept), `ERR reason` on an
/// error, from the module's parser; the reference must say the same.
fn read(text: &[u8]) -> String {
    let mut v: Vec<Rule> = Vec::new();
    let got = match ctskip_core::rules::parse_rules::<()>(text, |r| {
        v.push(r);
        Ok(())
    }) {
        Ok(()) => v.iter().map(canon).collect::<Vec<_>>().join("; "),
        Err(e) => format!("ERR {}", e.unwrap().reason),
    };
    let want = match re::parse_text(text) {
        Ok(v) => v
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        Err(e) => format!("ERR {}", e.why),
    };
    assert_eq!(
        got.starts_with("ERR"),
        want.starts_with("ERR"),
        "{:?}: module {got:?}, reference {want:?}",
        String::from_utf8_lossy(text)
    );
    if !got.starts_with("ERR") {
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(text));
    }
    got
}

fn ok(text: &str, want: &str) {
    assert_eq!(read(text.as_bytes()), want, "{text:?}");
}

fn err(text: &str, reason: &str) {
    assert_eq!(read(text.as_bytes()), format!("ERR {reason}"), "{text:?}");
}

fn rules(text: &str) -> Vec<Rule> {
    let mut v = Vec::new();
    ctskip_core::rules::parse_rules::<()>(text.as_bytes(), |r| {
        v.push(r);
        Ok(())
    })
    .unwrap();
    v
}

/// The distinct rules a `rules` write (or a commit) of `text` makes.
fn set_of(text: &str) -> Vec<String> {
    plan_replace::<Host>(&[], text.as_bytes())
        .unwrap()
        .iter()
        .map(|p| canon(&p.rule))
        .collect()
}

#[test]
fn text_blanks_separators_and_comments() {
    // Blanks: space, tab, CR, VT, FF; CRLF lines read fine.
    ok("udp\tdport\x0b53\x0c\r", "udp dport 53");
    ok("udp dport 53\r\ntcp\r\n", "udp dport 53; tcp");
    // Any other byte belongs to a word.
    err("udp\0 dport 53", "unknown keyword");
    err("udp\u{a0}dport 53", "unknown keyword");
    err("UDP", "unknown keyword");
    err("Ip", "unknown keyword");
    // `#` anywhere, even in a word; any bytes in a comment; `;` in it ends
    // nothing.
    ok("udp#x", "udp");
    assert_eq!(read(b"udp # \0 \xff\xfe ; tcp\ngre"), "udp; gre");
    ok(";; \n\n# only a comment\n ; udp ; ; tcp", "udp; tcp");
    // A keyword's value is the next word, whatever it is.
    ok("iif oneway", "iif oneway");
    ok("oif iif", "oif iif");
    err("ip ip6", "repeated keyword");
    err("tcp proto 6", "more than one protocol");
}

#[test]
fn errors_count_lines_and_rules() {
    let at = |text: &str| {
        let e = ctskip_core::rules::parse_rules::<()>(text.as_bytes(), |_| Ok(())).unwrap_err();
        let e = e.unwrap();
        (e.line_no, e.rule_no)
    };
    assert_eq!(at("udp; bogus"), (1, 2));
    assert_eq!(at("udp\n\n;;\n# c; d\nudp; udp; bogus"), (5, 4));
}

#[test]
fn numbers_are_decimal_with_leading_zeros() {
    ok("udp dport 0053", "udp dport 53");
    ok("udp dport 0010-00020", "udp dport 10-20");
    ok("proto 006", "tcp");
    ok("proto 0", "proto 0");
    ok("udp sport 0", "udp sport 0");
    ok("saddr 10.1.2.3/08", "ip saddr 10.0.0.0/8");
    ok("saddr ::1/0128", "ip6 saddr ::1");
    for bad in ["proto +6", "proto 0x6", "udp dport +53", "udp dport 0x35"] {
        assert!(read(bad.as_bytes()).starts_with("ERR"), "{bad:?}");
    }
    err("saddr 10.0.0.0/+8", "bad address");
}

#[test]
fn addresses() {
    // IPv4: four decimal octets, no leading zeros, no short forms.
    for bad in [
        "010.0.0.1",
        "10.0.0.01",
        "10.1",
        "0x0a.0.0.1",
        "1.2.3.4.5",
        "256.0.0.0",
    ] {
        err(&format!("saddr {bad}"), "bad address");
    }
    ok("saddr 0.0.0.0", "ip saddr 0.0.0.0");
    // IPv6: RFC 4291 text, either case, `::` for one or more zero groups,
    // a dotted IPv4 tail under the IPv4 rules; no zone, no brackets.
    for bad in [
        "fe80::1%eth0",
        "[::1]",
        "1::2::3",
        "00001::",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "1::2:3:4:5:6:7:8",
        "::ffff:010.0.0.1",
        ":1::",
    ] {
        err(&format!("saddr {bad}"), "bad address");
    }
    ok("saddr ::", "ip6 saddr ::");
    ok("saddr 2001:DB8::1", "ip6 saddr 2001:db8::1");
    ok("saddr ::1:2:3:4:5:6:7", "ip6 saddr 0:1:2:3:4:5:6:7");
    ok("saddr 1:2:3:4:5:6:1.2.3.4", "ip6 saddr 1:2:3:4:5:6:102:304");
    // `/LEN` optional, bits past it cleared, /0 accepted and kept.
    ok("saddr 10.1.2.3/8", "ip saddr 10.0.0.0/8");
    ok("saddr 10.1.2.3/32", "ip saddr 10.1.2.3");
    ok("daddr 10.1.2.3/0", "ip daddr 0.0.0.0/0");
    ok("daddr 2001:db8::1/0", "ip6 daddr ::/0");
    err("saddr 10.0.0.0/33", "bad address");
    err("saddr ::/129", "bad address");
    err("saddr 10.0.0.0/", "bad address");
}

#[test]
fn ipv6_prints_as_rfc5952() {
    ok("saddr 1:2:3:4:5:6:7::", "ip6 saddr 1:2:3:4:5:6:7:0");
    ok("saddr 2001:db8:0:0:1:0:0:1", "ip6 saddr 2001:db8::1:0:0:1");
    ok("saddr 2001:db8:0:1:0:0:0:1", "ip6 saddr 2001:db8:0:1::1");
    ok(
        "saddr 2001:0DB8:0000:0000:0000:0000:0000:0001",
        "ip6 saddr 2001:db8::1",
    );
    ok("saddr 0:0:0:0:0:0:0:0", "ip6 saddr ::");
    // IPv4-mapped: dotted; other embedded IPv4: hex.
    ok("saddr ::ffff:10.0.0.1", "ip6 saddr ::ffff:10.0.0.1");
    ok("saddr ::FFFF:10.0.0.1/120", "ip6 saddr ::ffff:10.0.0.0/120");
    ok("saddr ::ffff:10.0.0.1/96", "ip6 saddr ::ffff:0.0.0.0/96");
    ok("saddr ::10.0.0.1", "ip6 saddr ::a00:1");
    ok("saddr 64:ff9b::10.0.0.1", "ip6 saddr 64:ff9b::a00:1");
}

fn key(v6: bool, proto: u8, saddr: u128, daddr: u128) -> PacketKey {
    PacketKey {
        v6,
        proto,
        saddr,
        daddr,
        ..PacketKey::default()
    }
}

/// A set of `rule` after a few others that match none of the keys used
/// here, so the classifier builds compiled tables (above 4 rules) too.
fn classifiers(rule: &str) -> [Classifier<Host>; 2] {
    let alone = rules(rule);
    let mut many =
        rules("ip6 sctp dport 9; ip6 dccp dport 9; ip6 udplite dport 9; ip6 esp; ip6 gre");
    many.extend(&alone);
    [
        Classifier::<Host>::build(&alone).unwrap(),
        Classifier::<Host>::build(&many).unwrap(),
    ]
}

#[test]
fn an_ipv4_mapped_address_is_ipv6() {
    ok("saddr ::ffff:10.0.0.1", "ip6 saddr ::ffff:10.0.0.1");
    let v4 = key(false, 6, 0x0a00_0001, 0x0a00_0002);
    let v6 = key(true, 6, 0xffff_0a00_0001, 1);
    for c in classifiers("saddr ::ffff:10.0.0.1") {
        assert!(c.lookup(&v4).is_none(), "an IPv4 packet from 10.0.0.1");
        assert!(
            c.lookup(&v6).is_some(),
            "positive control: IPv6 from ::ffff:10.0.0.1"
        );
    }
}

#[test]
fn family_and_fields() {
    ok("proto 1", "ip icmp");
    ok("proto 58", "ip6 icmpv6");
    ok("ip6 gre; ip esp; ip6 ah", "ip6 gre; ip esp; ip6 ah");
    for conflict in [
        "ip6 proto 1",
        "ip proto 58",
        "ip saddr ::1",
        "icmp saddr ::1",
        "saddr 10.0.0.1 daddr ::1",
        "ip6 icmp",
    ] {
        err(conflict, "address family conflict");
    }
    ok("proto 6 dport 80", "tcp dport 80");
    err("dport 53", "ports need tcp, udp, udplite, sctp or dccp");
    err("gre dport 1", "ports need tcp, udp, udplite, sctp or dccp");
    err(
        "proto 47 sport 1",
        "ports need tcp, udp, udplite, sctp or dccp",
    );
    err("oneway", "rule has no field");
    ok("ip oneway", "ip oneway");
    ok("oneway iif eth0", "iif eth0 oneway");
}

fn name(n: &str) -> IfName {
    IfName::from_bytes(n.as_bytes())
}

/// A packet as ctskip sees it at PRE_ROUTING (input device only) or at
/// LOCAL_OUT (output device only), or with both (which the hook never
/// makes).
fn at(iif: &str, oif: &str) -> PacketKey {
    PacketKey {
        iif: if iif.is_empty() {
            IfName::default()
        } else {
            name(iif)
        },
        oif: if oif.is_empty() {
            IfName::default()
        } else {
            name(oif)
        },
        ..key(false, 17, 0x0a00_0001, 0x0a00_0002)
    }
}

#[test]
fn iif_and_oif_together_match_no_packet() {
    ok("iif eth0 oif eth1", "iif eth0 oif eth1");
    for c in classifiers("iif eth0 oif eth1") {
        for k in [
            at("eth0", ""),
            at("eth1", ""),
            at("", "eth0"),
            at("", "eth1"),
        ] {
            assert!(c.lookup(&k).is_none(), "{k:?}");
        }
    }
    // Positive control: the two rules the README suggests instead.
    for c in classifiers("iif eth0; oif eth1") {
        for k in [
            at("eth0", ""),
            at("eth1", ""),
            at("", "eth0"),
            at("", "eth1"),
        ] {
            assert!(c.lookup(&k).is_some(), "{k:?}");
        }
    }
}

#[test]
fn interface_names_are_exact() {
    ok(
        "iif ...; iif .a; iif eth0.100",
        "iif ...; iif .a; iif eth0.100",
    );
    ok("iif 123456789012345", "iif 123456789012345");
    for bad in [".", "..", "a/b", "a:b", "1234567890123456", "caf\u{e9}"] {
        err(&format!("iif {bad}"), "bad interface name");
    }
    assert_eq!(set_of("iif eth0; iif ETH0"), ["iif eth0", "iif ETH0"]);
    let cases = [
        ("iif eth0", "ETH0", false),
        ("iif eth*", "eth0", false),
        ("iif eth+", "eth0", false),
        ("iif eth0", "eth0.100", false),
        ("iif eth*", "eth*", true),
        ("iif eth0", "eth0", true),
    ];
    for (rule, dev, hit) in cases {
        for c in classifiers(rule) {
            assert_eq!(c.lookup(&at(dev, "")).is_some(), hit, "{rule} on {dev}");
        }
    }
}

#[test]
fn one_rule_is_one_canonical_text() {
    assert_eq!(
        set_of("udp dport 53; dport 0053 proto 17"),
        ["udp dport 53"]
    );
    assert_eq!(set_of("udp; ip udp"), ["udp", "ip udp"]);
    assert_eq!(set_of("icmp; ip icmp; proto 1"), ["ip icmp"]);
    assert_eq!(set_of("ip; saddr 0.0.0.0/0"), ["ip", "ip saddr 0.0.0.0/0"]);
    ok(
        "udp dport 53-53; tcp sport 0-65535",
        "udp dport 53; tcp sport 0-65535",
    );
}

/// Pushes `text` as one piece to a receiver, as a write to `rules`, `add`
/// or `del` does: its error's reason, or the complete rules.
fn push(text: &[u8]) -> Result<usize, String> {
    let mut t = Incoming::<Host>::new().unwrap();
    match t.push(text) {
        Ok(()) => Ok(t.rules().len()),
        Err(SetError::Parse(p)) => Err(p.reason.to_string()),
        Err(e) => Err(format!("{e:?}")),
    }
}

#[test]
fn rule_text_limit_through_rules_add_del() {
    let text = |blanks: usize, rule: &str, end: &str| {
        let mut v = vec![b' '; blanks];
        v.extend_from_slice(rule.as_bytes());
        v.extend_from_slice(end.as_bytes());
        v
    };
    assert_eq!(push(&text(8192, "", "\n")), Ok(0));
    assert_eq!(
        push(&text(8193, "", "\n")),
        Err("rule text too long".into())
    );
    assert_eq!(push(&text(8189, "udp", "\n")), Ok(1));
    assert_eq!(
        push(&text(8190, "udp", "\n")),
        Err("rule text too long".into())
    );
    // A comment does not count; the limit is per rule.
    let mut long_comment = b"udp #".to_vec();
    long_comment.extend(vec![b'x'; 100_000]);
    long_comment.extend_from_slice(b"\ntcp;");
    long_comment.extend(vec![b' '; 8000]);
    long_comment.extend_from_slice(b"gre\n");
    assert_eq!(push(&long_comment), Ok(3));
    // No such limit through stage/commit (and insmod rules=).
    let t = text(9000, "udp", "\n");
    assert_eq!(plan_replace::<Host>(&[], &t).unwrap().len(), 1);
}

#[test]
fn at_most_65536_distinct_rules() {
    let mut text = String::new();
    for i in 0..MAX_RULES {
        text += &format!("udp dport {i}\n");
    }
    // Repeats do not count.
    text += "udp dport 0\nproto 17 dport 00001\n";
    assert_eq!(push(text.as_bytes()), Ok(MAX_RULES));
    text += "tcp dport 1\n";
    assert_eq!(push(text.as_bytes()), Err("TooMany".into()));
}

#[test]
fn repeats_in_a_del_text_are_one_rule() {
    let set = rules("udp dport 53; tcp");
    let left = plan_del::<Host>(&set, b"udp dport 53\nproto 17 dport 53\nudp dport 53\n").unwrap();
    assert_eq!(
        left.iter().map(|p| canon(&p.rule)).collect::<Vec<_>>(),
        ["tcp"]
    );
    assert_eq!(push(b"udp dport 53\nproto 17 dport 53\n"), Ok(1));
    // Positive control: an absent rule is ENOENT.
    assert!(matches!(
        plan_del::<Host>(&set, b"udp dport 53\nudp dport 54\n"),
        Err(SetError::NotFound(_))
    ));
}

/// What the module does with `end` as the unfinished end of a text.
fn end(end: &str) -> &'static str {
    let mut t = Incoming::<Host>::new().unwrap();
    t.push(end.as_bytes()).unwrap();
    match t.tail() {
        Ok(Tail::Rule(_)) => "rule",
        Ok(Tail::Unfinished) => "waits",
        Ok(Tail::Empty) => "empty",
        Err(_) => "refused",
    }
}

#[test]
fn unfinished_ends_wait_or_are_refused_as_the_readme_says() {
    let address = |n: usize| format!("saddr {}", "1".repeat(n));
    for waits in [
        "dport 53",
        "oneway",
        "oneway ",
        "dport 5 u",
        "dport 5 proto ",
        "dport 5 proto 47",
        "icmp ip6 saddr ",
        "icmp ip6 saddr 1",
        "ip icmpv6 oif eth0",
        "udp dp",
        "gre dp",
        "icmp ip6",
        "sport 0 proto 5",
        "udp dport 100-",
        "udp dport 6-5",
        "ip6 saddr 10.0.0.1",
        "saddr 10.0.0.0/33",
        "ip saddr :",
        &address(49),
        "iif .",
    ] {
        assert_eq!(end(waits), "waits", "{waits:?}");
    }
    for refused in [
        "gre dport 5",
        "dport 5 gre ",
        "dport 5 proto 47 ",
        "proto 47 dport 5",
        "ip6 saddr 10.0.0.1 ",
        "icmp ip6 saddr",
        "saddr 10.0.0.0/33 ",
        "udp dport 99999",
        "udp dport 7000x",
        "udp dport -5",
        "proto 256",
        "iif a/b",
        "iif 1234567890123456",
        &address(50),
        "udp udp",
        "ip ip6",
        "bogus",
        "udp x",
    ] {
        assert_eq!(end(refused), "refused", "{refused:?}");
    }
    assert_eq!(end("udp dport 53"), "rule");
    assert_eq!(end("udp dport 53 # x"), "empty");
}
