//! The host model of ctskip's control interface, for the in-guest bad-input
//! test: it applies the same writes with the same core code and says what
//! the module must answer.
//!
//! stdin, one command per line:  FILE HEX   (FILE: rules|add|del|enabled|insmod|reset)
//! stdout, one line per command: ERRNO     (OK, EINVAL, ENOSPC, ENOENT, E2BIG)
//! followed by the expected `rules` text, hex-encoded, on a second line.
//!
//! `insmod` takes the value of the `rules` parameter (EINVAL for any error,
//! as the module's init does) and starts a new set; `reset` empties it.

use std::io::{self, BufRead, Write};

use ctskip_core::rules::{plan_add, plan_del, plan_replace, Rule, SetError};
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
            "enabled" if data.len() >= PAGE_SIZE => "E2BIG".into(),
            "enabled" => match data.as_slice() {
                b"0" | b"1" | b"0\n" | b"1\n" => "OK".into(),
                _ => "EINVAL".into(),
            },
            _ if data.len() >= PAGE_SIZE => "E2BIG".into(),
            op => {
                let plan = match op {
                    "rules" => plan_replace::<Host>(&set, &data),
                    "add" => plan_add::<Host>(&set, &data),
                    "del" => plan_del::<Host>(&set, &data),
                    _ => panic!("unknown file {op}"),
                };
                match plan {
                    Ok(p) => {
                        set = p.iter().map(|p| p.rule).collect();
                        "OK".into()
                    }
                    Err(e) => errno(&e).into(),
                }
            }
        };
        let text: String = set.iter().map(|r| format!("{r}\n")).collect();
        writeln!(out, "{verdict}\n{}", hex(text.as_bytes())).unwrap();
        out.flush().unwrap();
    }
}
