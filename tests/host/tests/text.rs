//! A rules text received in pieces (`src/rules/text.rs`): joining pieces cut
//! anywhere gives what the whole text gives, and an unfinished last rule is
//! held only while more bytes could still make it a rule.

use ctskip_core::rules::parse::could_continue;
use ctskip_core::rules::{Incoming, Rule, SetError, Tail};
use ctskip_core::{parse, Host};

/// The whole text's rules, de-duplicated (the model: every rule of the
/// text, first occurrence kept), or the error's line and rule numbers.
fn whole(text: &[u8]) -> Result<Vec<Rule>, (usize, usize)> {
    let mut v: Vec<Rule> = Vec::new();
    ctskip_core::rules::parse_rules::<()>(text, |r| {
        if !v.contains(&r) {
            v.push(r);
        }
        Ok(())
    })
    .map_err(|e| match e {
        Ok(p) => (p.line_no, p.rule_no),
        Err(()) => (0, 0),
    })?;
    Ok(v)
}

/// Feeds `pieces`, then reads the result as the module does after the
/// last piece: the complete rules plus the tail if it is a rule.
fn joined(pieces: &[&[u8]]) -> Result<Vec<Rule>, (usize, usize)> {
    let mut t = Incoming::<Host>::new().unwrap();
    for p in pieces {
        if let Err(e) = t.push(p) {
            return match e {
                SetError::Parse(p) => Err((p.line_no, p.rule_no)),
                _ => Err((0, 0)),
            };
        }
        if let Err(p) = t.tail() {
            return Err((p.line_no, p.rule_no));
        }
    }
    let mut v = t.rules().to_vec();
    match t.tail() {
        Ok(Tail::Rule(r)) if !v.contains(&r) => v.push(r),
        Ok(Tail::Unfinished) => return Err((usize::MAX, 0)),
        Ok(_) => {}
        Err(p) => return Err((p.line_no, p.rule_no)),
    }
    Ok(v)
}

const TEXTS: &[&str] = &[
    "udp dport 1\ntcp dport 2\n",
    "udp dport 1\ntcp dport 2",
    "# header\n\nudp dport 53; tcp dport 80 # web; not a rule\nip6 daddr 2001:db8::/32\n",
    "udp dport 53\nudp dport 53\ndport 53 udp\n",
    "ip saddr 10.1.2.3/8 daddr 10.0.0.0/16 oneway\niif eth0 oif veth1\n",
    "udp dport 1\nudp dport 99999\ntcp dport 3\n",
    "udp dport 1\nbogus\n",
    "udp dport 1; tcp dport 2; gre\n",
    "tcp sport 1000-2000 dport 80-443\n\n\n",
];

#[test]
fn every_two_piece_cut_joins_to_the_whole() {
    for text in TEXTS {
        let b = text.as_bytes();
        let want = whole(b);
        for cut in 0..=b.len() {
            let got = joined(&[&b[..cut], &b[cut..]]);
            match (&want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{text:?} cut at {cut}"),
                // An error names the same line and rule, though a word cut
                // short may be refused as soon as it cannot be completed.
                (Err(w), Err(g)) => assert_eq!(w, g, "{text:?} cut at {cut}"),
                _ => panic!("{text:?} cut at {cut}: whole {want:?}, pieces {got:?}"),
            }
        }
    }
}

#[test]
fn one_byte_pieces_join_to_the_whole() {
    for text in TEXTS {
        let b = text.as_bytes();
        let pieces: Vec<&[u8]> = b.chunks(1).collect();
        assert_eq!(whole(b), joined(&pieces), "{text:?} in one-byte pieces");
    }
}

#[test]
fn errors_name_the_line_in_the_whole_text() {
    let mut t = Incoming::<Host>::new().unwrap();
    t.push(b"# one\nudp dport 1\n").unwrap();
    t.push(b"\ntcp dport 2; udp dport 70").unwrap();
    match t.push(b"000\n") {
        Err(SetError::Parse(p)) => {
            assert_eq!((p.line_no, p.rule_no), (4, 3));
            assert_eq!(p.word, b"70000");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unfinished_tails_are_held_and_wrong_ones_refused() {
    for held in [
        "u",
        "udp",
        "udp d",
        "udp dport",
        "udp dport ",
        "udp dport 5",
        "dport 53",
        "ip saddr 10.0.",
        "ip6 daddr 2001:d",
        "tcp dport 100-",
        "iif et",
        "oneway",
        "proto 25",
        "udp dport 53 one",
    ] {
        assert!(
            could_continue(held.as_bytes()) || parse(held).is_ok(),
            "{held:?} should be held or whole"
        );
        let mut t = Incoming::<Host>::new().unwrap();
        t.push(held.as_bytes()).unwrap();
        assert!(t.tail().is_ok(), "{held:?}");
    }
    for bad in [
        "b",
        "bogus",
        "udp dport 99999",
        "udp dport 7000x",
        "udp udp",
        "tcp udp",
        "proto 256",
        "ip daddr 2001:db8::1 ",
        "udp dport 1 dport 2",
        "iif a/b",
        "ip saddr 10.0.0.x",
        "gre dport 80",
        "esp dport 5 ",
        "ip6 saddr 10.0.0.1 dp",
        "dport 80 gre ",
    ] {
        assert!(
            !could_continue(bad.as_bytes()),
            "{bad:?} cannot become a rule"
        );
        let mut t = Incoming::<Host>::new().unwrap();
        t.push(bad.as_bytes()).unwrap();
        assert!(t.tail().is_err(), "{bad:?} is refused at once");
    }
}

#[test]
fn memory_holds_distinct_rules_only() {
    let mut t = Incoming::<Host>::new().unwrap();
    for _ in 0..10_000 {
        t.push(b"ip\n").unwrap();
    }
    assert_eq!(t.rules().len(), 1);
    assert_eq!(t.len(), 30_000);
    let long = vec![b' '; 9000];
    assert!(
        matches!(t.push(&long), Err(SetError::Parse(_))),
        "an endless rule is refused"
    );
}
