//! The host model of ctskip's control interface, for the in-guest bad-input
//! test (tests/vm/40-bad-input.sh, tests/vm/badinput.py): it says what the
//! module must answer to each write. It is written from README.md ("Control
//! files", "Writing: a text is what one open file writes", "Other errors",
//! "Module parameters") with the README reference's parser and printer
//! (`ctskip_core::reference`), not with the module's own planners, so a bug
//! shared by the module and its set code cannot hide.
//!
//! stdin, one command per line:  FILE HEX   (FILE: rules|add|del|enabled|insmod|reset)
//! stdout, one line per command: ERRNO     (OK, EINVAL, ENOSPC, ENOENT)
//! followed by the expected `rules` text, hex-encoded, on a second line.
//!
//! Each write is one `write(2)` through a fresh open file, as the bad-input
//! test makes it, and the file is closed right after. README: kernfs hands
//! a write over "at most a page (4096 bytes) at a time"; the test's writer
//! does not retry a short write, so the module gets the first page only: a
//! text of one piece. What the README says of such a text:
//!
//! - "after each piece it holds every complete rule received so far (ended
//!   by a newline, a `;` or a `#` comment), except while a page-long write is
//!   still arriving": a piece shorter than a page applies its complete rules
//!   at the write, and a refusal of them is the write's errno; a full page
//!   might be followed by more, so the set moves only when the text is final.
//! - A complete rule that does not parse is EINVAL.
//! - "An end that ctskip can tell no bytes could make a rule (an unknown or
//!   repeated keyword, `udp dport 99999`) is refused at once, before the
//!   write's complete lines are taken (`del` of `udp dport 7\nbogus` is
//!   EINVAL even if `udp dport 7` is absent); otherwise the complete lines
//!   are taken first", then their set change's errno; any other unfinished
//!   end (`saddr 10`, but also `ip6 saddr 10.0.0.1`) waits for the close.
//!   The README does not say which ends ctskip "can tell"; the
//!   model answers EINVAL for every end that the reference shows no bytes
//!   could make a rule (`ip6 saddr 10.0.0.1` included), the strict reading.
//!   Either way the set stays as it was; badinput.py accepts OK from the
//!   module there (`unfinished_end_allows`), and `tests/model.rs` names the
//!   ends the module holds (`ctskip_core::cut_word_checked_alone`).
//! - Once the file is closed, "the text's end is final — applied if it is a
//!   rule (for `del`, a present one), otherwise the whole text is undone";
//!   nobody gets an errno then: the write had succeeded.
//!
//! README gaps this model fills (the module was checked to agree):
//! - the errno for more than 65,536 rules through `rules` or `add` is not
//!   given (only `commit`'s ENOSPC): ENOSPC here too;
//! - a full page's complete rules that do not parse are refused at the
//!   write (EINVAL), although its set change waits for the text's end;
//! - `enabled` takes `1` or `0` with or without one trailing newline (as
//!   `echo 1 >` writes it); nothing else (` 1`, `1\n\n`, empty);
//! - repeated rules in a `del` text are one rule (not ENOENT for the second);
//! - a zero-byte write never reaches the module (the kernel does not call
//!   the attribute's write for it): nothing changes, no error.
//!
//! README "Bounds": a set past a bound on the work per packet is refused
//! like one past 65,536 rules (ENOSPC; EINVAL for `insmod`). The bounds
//! count the classifier's lookup tables, which depend on how it lays the
//! rules out, so this is the one answer the model takes from the module's
//! own code: it builds the module's classifier (`Classifier::build`) from
//! the set's canonical text.
//!
//! `insmod` takes the value of the `rules` parameter (README: "Any invalid
//! value makes `insmod` fail with EINVAL") and starts a new set; `reset`
//! empties it.

use std::io::{self, BufRead, Write};

use ctskip_core::reference::{self as re, RefRule, RefTail, MAX_RULES};
use ctskip_core::rules::{BuildError, Classifier};
use ctskip_core::Host;

const PAGE_SIZE: usize = 4096;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// The set after writing `rules` (already de-duplicated) to `op`, or the
/// errno. README: `rules` replaces "the whole set with the written text";
/// `add` adds "the written rules, all or none; present rules are skipped";
/// `del` removes "the written rules, all or none; ENOENT if any is absent";
/// "At most 65536 rules".
fn apply(op: &str, set: &[RefRule], rules: &[RefRule]) -> Result<Vec<RefRule>, &'static str> {
    let new: Vec<RefRule> = match op {
        "rules" => rules.to_vec(),
        "add" => set
            .iter()
            .chain(rules.iter().filter(|r| !set.contains(r)))
            .cloned()
            .collect(),
        "del" => {
            if rules.iter().any(|r| !set.contains(r)) {
                return Err("ENOENT");
            }
            set.iter().filter(|r| !rules.contains(r)).cloned().collect()
        }
        _ => panic!("unknown file {op}"),
    };
    if new.len() > MAX_RULES || !within_bounds(&new) {
        return Err("ENOSPC");
    }
    Ok(new)
}

/// Whether the module's classifier takes `set` (README "Bounds").
fn within_bounds(set: &[RefRule]) -> bool {
    let text: String = set.iter().map(|r| format!("{r}\n")).collect();
    let rules = ctskip_core::parse(&text).expect("canonical text parses");
    match Classifier::<Host>::build(&rules) {
        Ok(_) => true,
        Err(BuildError::Limit(_)) => false,
        Err(e) => panic!("{e:?}"),
    }
}

/// The verdict of a text of one piece to `op` (`rules`, `add`, `del`), and
/// the set once its file is closed and ctskip has seen it.
fn one_piece(op: &str, set: &[RefRule], piece: &[u8]) -> (&'static str, Vec<RefRule>) {
    let (done, tail) = re::split_tail(piece);
    let Ok(complete) = re::parse_set(done) else {
        return ("EINVAL", set.to_vec());
    };
    // An end no bytes could make a rule: refused at once, before the
    // complete lines are taken.
    if let RefTail::Never(_) = tail {
        return ("EINVAL", set.to_vec());
    }
    // At the write: the complete rules of a piece shorter than a page.
    if piece.len() < PAGE_SIZE {
        if let Err(e) = apply(op, set, &complete) {
            return (e, set.to_vec());
        }
    }
    // At close: the end of the text joins if it is a rule; if it is only
    // the start of one, or the whole does not apply, the text is undone.
    let mut all = complete;
    match tail {
        RefTail::Unfinished => return ("OK", set.to_vec()),
        RefTail::Rule(r) if !all.contains(&r) => all.push(r),
        _ => {}
    }
    match apply(op, set, &all) {
        Ok(s) => ("OK", s),
        Err(_) => ("OK", set.to_vec()),
    }
}

fn main() {
    let mut set: Vec<RefRule> = Vec::new();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line.unwrap();
        let (file, data) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let data = unhex(data.trim());
        let verdict: &str = match file {
            "reset" => {
                set.clear();
                "OK"
            }
            // The parameter is one final text (no pieces, no unfinished end).
            "insmod" => match re::parse_set(&data) {
                Ok(v) if v.len() <= MAX_RULES && within_bounds(&v) => {
                    set = v;
                    "OK"
                }
                _ => "EINVAL",
            },
            _ if data.is_empty() => "OK",
            "enabled" => match &data[..data.len().min(PAGE_SIZE)] {
                b"0" | b"1" | b"0\n" | b"1\n" => "OK",
                _ => "EINVAL",
            },
            op => {
                let (verdict, new) = one_piece(op, &set, &data[..data.len().min(PAGE_SIZE)]);
                set = new;
                verdict
            }
        };
        // README: `rules` reads "active rules, canonical, one per line, in
        // the order added"; the canonical form is the reference printer's.
        let text: String = set.iter().map(|r| format!("{r}\n")).collect();
        writeln!(out, "{verdict}\n{}", hex(text.as_bytes())).unwrap();
        out.flush().unwrap();
    }
}
