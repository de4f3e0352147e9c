//! Rule-set operations behind `rules`, `add` and `del`.

use ctskip_core::rules::set::{replace_with, Planned, RulesError, NEW};
use ctskip_core::rules::{plan_add, plan_del, plan_replace, Rule, SetError, MAX_RULES};
use ctskip_core::{canon, parse, Host};

fn rules(s: &str) -> Vec<Rule> {
    parse(s).unwrap()
}

fn texts(p: &[Planned]) -> Vec<String> {
    p.iter().map(|p| canon(&p.rule)).collect()
}

#[test]
fn replace_keeps_order_dedupes_and_tracks_identity() {
    let old = rules("udp dport 53; tcp dport 80");
    let p = plan_replace::<Host>(
        &old,
        b"tcp dport 80\nudp dport 123; proto 6 dport 80; udp dport 53",
    )
    .unwrap();
    assert_eq!(texts(&p), ["tcp dport 80", "udp dport 123", "udp dport 53"]);
    assert_eq!(p.iter().map(|p| p.old).collect::<Vec<_>>(), [1, NEW, 0]);
    assert!(plan_replace::<Host>(&old, b"  \n").unwrap().is_empty());
}

#[test]
fn add_skips_present_rules() {
    let old = rules("udp dport 53");
    let p = plan_add::<Host>(
        &old,
        b"udp dport 53; dport 53 udp; tcp dport 1; tcp dport 1",
    )
    .unwrap();
    assert_eq!(texts(&p), ["udp dport 53", "tcp dport 1"]);
    assert_eq!(p.iter().map(|p| p.old).collect::<Vec<_>>(), [0, NEW]);
}

#[test]
fn del_is_all_or_nothing() {
    let old = rules("udp dport 53; tcp dport 80; gre");
    let p = plan_del::<Host>(&old, b"proto 17 dport 53; gre").unwrap();
    assert_eq!(texts(&p), ["tcp dport 80"]);
    assert_eq!(p[0].old, 1);
    match plan_del::<Host>(&old, b"gre; udp dport 54") {
        Err(SetError::NotFound(r)) => assert_eq!(canon(&r), "udp dport 54"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn parse_errors_win_and_report() {
    let old = rules("udp dport 53");
    assert!(
        matches!(plan_add::<Host>(&old, b"tcp dport 1; bogus"), Err(SetError::Parse(e)) if e.rule_no == 2)
    );
    assert!(matches!(
        plan_del::<Host>(&old, b"udp dport 53; bogus"),
        Err(SetError::Parse(_))
    ));
}

#[test]
fn limit_is_enforced() {
    let mut text = String::new();
    for i in 0..MAX_RULES {
        text.push_str(&format!(
            "udp sport {} dport {}\n",
            i / 65536 + 1,
            i % 65536
        ));
    }
    let full = plan_replace::<Host>(&[], text.as_bytes()).unwrap();
    assert_eq!(full.len(), MAX_RULES);
    let old: Vec<Rule> = full.iter().map(|p| p.rule).collect();
    assert_eq!(
        plan_add::<Host>(&old, b"tcp dport 1"),
        Err(SetError::TooMany)
    );
    // Adding only present rules is fine at the limit.
    assert_eq!(
        plan_add::<Host>(&old, b"udp sport 1 dport 7")
            .unwrap()
            .len(),
        MAX_RULES
    );
    text.push_str("tcp dport 1\n");
    assert_eq!(
        plan_replace::<Host>(&[], text.as_bytes()),
        Err(SetError::TooMany)
    );
}

/// A set compiled from something other than a parsed text (the module's
/// stage and parameter paths hand `replace_with` a list) is held to the
/// same limit: 65,536 rules are taken, 65,537 refused.
#[test]
fn replace_with_holds_the_limit() {
    let mut text = String::new();
    for i in 0..=MAX_RULES {
        text.push_str(&format!(
            "udp sport {} dport {}\n",
            i / 65536 + 1,
            i % 65536
        ));
    }
    let all = rules(&text);
    assert_eq!(all.len(), MAX_RULES + 1);
    assert_eq!(
        replace_with::<Host>(&[], &all[..MAX_RULES]).map(|p| p.len()),
        Ok(MAX_RULES)
    );
    assert_eq!(
        replace_with::<Host>(&[], &all).map(|p| p.len()),
        Err(RulesError::TooMany)
    );
}
