//! The host model of ctskip's control interface, for the in-guest bad-input
//! test: it applies the same writes with the same core code and says what
//! the module must answer.
//!
//! stdin, one command per line:  FILE HEX   (FILE: rules|add|del|enabled|insmod|reset)
//! stdout, one line per command: ERRNO     (OK, EINVAL, ENOSPC, ENOENT)
//! followed by the expected `rules` text, hex-encoded, on a second line.
//!
//! Each write is one `write(2)` through a fresh open file, as the bad-input
//! test makes it: the module gets its first page only (kernfs cuts the
//! write; the writer then closes the file), a text of one piece. Its
//! complete rules apply; its unfinished end applies only if the write ended
//! there (a piece shorter than a page, longer than a byte) and it reads as a
//! rule (for `del`, a present one); an end no bytes could make a rule is
//! EINVAL.
//!
//! `insmod` takes the value of the `rules` parameter (EINVAL for any error,
//! as the module's init does) and starts a new set; `reset` empties it.

use std::io::{self, BufRead, Write};

use ctskip_core::rules::set::{add_rules, del_rules, replace_with};
use ctskip_core::rules::{plan_replace, Incoming, Rule, RulesError, SetError, Tail};
use ctskip_core::Host;

const PAGE_SIZE: usize = 4096;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2).map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap()).collect()
}

fn errno(e: &SetError<'_>) -> &'static str {
    match e {
        SetError::Parse(_) => "EINVAL",
        SetError::TooMany => "ENOSPC",
        SetError::NotFound(_) => "ENOENT",
        SetError::NoMem => "ENOMEM",
    }
}

/// The verdict of a text of one piece to `op` (`rules`, `add`, `del`), and
/// the set once its file is closed and ctskip has seen it (the end of the
/// text is final then: applied if a rule, for `del` a present one; else the
/// whole text is undone, though the write itself had succeeded).
fn one_piece(op: &str, set: &[Rule], piece: &[u8]) -> (&'static str, Vec<Rule>) {
    let mut t = Incoming::<Host>::new().unwrap();
    if let Err(e) = t.push(piece) {
        return (errno(&e), set.to_vec());
    }
    // At the write: rules complete in the piece, unless a full page (more
    // may come), are planned now; their refusal is the write's errno.
    let list = t.rules().to_vec();
    let tail = match t.tail() {
        Err(_) => return ("EINVAL", set.to_vec()),
        Ok(Tail::Rule(r)) => Some(r),
        Ok(_) => None,
    };
    let plan = |list: &[Rule]| match op {
        "rules" => replace_with::<Host>(&[], list),
        "add" => add_rules::<Host>(set, list),
        "del" => del_rules::<Host>(set, list),
        _ => panic!("unknown file {op}"),
    };
    if piece.len() < PAGE_SIZE {
        if let Err(e) = plan(&list) {
            return (rules_errno(e), set.to_vec());
        }
    }
    if matches!(t.tail(), Ok(Tail::Unfinished)) {
        return ("OK", set.to_vec());
    }
    // At close: the tail joins; a refusal now undoes the text silently.
    let mut all = list;
    if let Some(r) = tail {
        if !all.contains(&r) {
            all.push(r);
        }
    }
    match plan(&all) {
        Ok(p) => ("OK", p.iter().map(|p| p.rule).collect()),
        Err(_) => ("OK", set.to_vec()),
    }
}

fn rules_errno(e: RulesError) -> &'static str {
    match e {
        RulesError::TooMany => "ENOSPC",
        RulesError::NotFound(_) => "ENOENT",
        RulesError::NoMem => "ENOMEM",
    }
}

fn main() {
    let mut set: Vec<Rule> = Vec::new();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for line in io::stdin().lock().lines() {
        let line = line.unwrap();
        let (file, data) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let data = unhex(data.trim());
        let verdict: String = match file {
            "reset" => {
                set.clear();
                "OK".into()
            }
            "insmod" => match plan_replace::<Host>(&[], &data) {
                Ok(p) => {
                    set = p.iter().map(|p| p.rule).collect();
                    "OK".into()
                }
                Err(_) => "EINVAL".into(),
            },
            // A zero-byte write never reaches the module: nothing changes.
            _ if data.is_empty() => "OK".into(),
            "enabled" => match &data[..data.len().min(PAGE_SIZE)] {
                b"0" | b"1" | b"0\n" | b"1\n" => "OK".into(),
                _ => "EINVAL".into(),
            },
            op => {
                let piece = &data[..data.len().min(PAGE_SIZE)];
                let (verdict, new) = one_piece(op, &set, piece);
                set = new;
                verdict.into()
            }
        };
        let text: String = set.iter().map(|r| format!("{r}\n")).collect();
        writeln!(out, "{verdict}\n{}", hex(text.as_bytes())).unwrap();
        out.flush().unwrap();
    }
}
