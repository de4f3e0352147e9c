// SPDX-License-Identifier: GPL-2.0

//! ctskipctl: the operator's tool for the ctskip kernel module.
//!
//! It talks to the module through /sys/kernel/ctskip and /proc/net/ctskip
//! only, and checks rule files offline with the very code the module parses
//! them with (src/rules). Every error is one line on stderr; the exit status
//! is 0 on success, 1 on an error, 2 on a usage error.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::process::ExitCode;

use ctskip_core::rules::{plan_replace, SetError, MAX_RULES};
use ctskip_core::Host;

mod conntrack;
mod kmsg;
mod suggest;
mod top;

const USAGE: &str = "\
usage: ctskipctl COMMAND [ARGS]

  load FILE          replace the active rules with FILE's (- for stdin),
                     atomically, whatever its size
  add RULE...        add rules (all or none); the words form one text, so
                     `add udp dport 53` and `add 'udp dport 53; tcp dport 80'`
  del RULE...        remove rules (all of which must be active)
  list [--json]      the active rules with their hit counts
  stats [--json]     this network namespace's counters (/proc/net/ctskip)
  top [--json] [--watch] [--interval SECONDS] [--count N]
                     every network namespace on the host (/proc/*/ns/net,
                     /run/netns), by conntrack pressure: name, conntrack
                     count/max, untracked share, packets seen and untracked
                     per second over the interval (default 1 s); --watch
                     repeats (N times with --count)
  suggest [--netns NAME|INUM] [--top N] [--source auto|library|proc]
                     rules for the traffic that fills the conntrack tables
                     of every netns (libnetfilter_conntrack, else
                     /proc/net/nf_conntrack), grouped by destination
                     port and prefix, with the entries each would have kept
                     out; NATed, helper, marked or zoned traffic is listed
                     as comments saying why not. Valid input for check/load
  check FILE         parse FILE offline, as the module would; errors name
                     the line
  enable | disable   switch skipping on or off (the rules stay)

Environment: CTSKIP_SYSFS (default /sys/kernel/ctskip) and CTSKIP_PROC
(default /proc/net/ctskip) point elsewhere, for tests.
";

/// A failure: one line for stderr.
struct Fail(String);

type Res<T = ()> = Result<T, Fail>;

fn fail<T>(msg: impl Into<String>) -> Res<T> {
    Err(Fail(msg.into()))
}

fn sysfs() -> String {
    std::env::var("CTSKIP_SYSFS").unwrap_or_else(|_| "/sys/kernel/ctskip".into())
}

fn procfs() -> String {
    std::env::var("CTSKIP_PROC").unwrap_or_else(|_| "/proc/net/ctskip".into())
}

/// The file of the control directory, or a clear error when ctskip is absent.
fn ctl(name: &str) -> Res<String> {
    let dir = sysfs();
    if std::fs::metadata(&dir).is_err() {
        return fail(format!("ctskip is not loaded ({dir} does not exist)"));
    }
    Ok(format!("{dir}/{name}"))
}

/// The errno's name and meaning for ctskip's control files.
fn explain(e: &io::Error) -> String {
    let what = match e.raw_os_error() {
        Some(1) => "permission denied: needs CAP_NET_ADMIN in the initial user namespace",
        Some(13) => "permission denied (run as root)",
        Some(2) => "a rule to delete is not active",
        Some(22) => "rejected: the text does not parse",
        Some(28) => "more than 65536 rules",
        Some(7) => "text too large for one write",
        Some(12) => "out of memory",
        Some(16) => "busy: another writer's text is still arriving, or its stage awaits its commit; try again",
        Some(27) => "rule text larger than 16 MiB",
        Some(61) => "nothing staged",
        _ => "",
    };
    let base = e.to_string();
    if what.is_empty() {
        base
    } else {
        format!(
            "{what} ({})",
            base.split(" (os error").next().unwrap_or(&base)
        )
    }
}

/// Writes `data` to a control file through one open file (the module joins
/// the pieces the kernel hands it a page at a time); on a refusal the
/// module's own log line (if readable) says why.
fn write_ctl(name: &str, data: &[u8]) -> Res {
    let path = ctl(name)?;
    let mut log = kmsg::Tail::open();
    let mut f = OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| Fail(format!("{path}: {}", explain(&e))))?;
    let r = if data.is_empty() {
        f.write(b"\n").map(|_| ())
    } else {
        f.write_all(data)
    };
    r.and_then(|()| f.flush())
        .map_err(|e| match log.as_mut().and_then(|l| l.ctskip_line()) {
            // The module's line names the file already; EBUSY says to retry.
            Some(line) if e.raw_os_error() == Some(16) => Fail(format!("{line}: busy, try again")),
            Some(line) => Fail(line),
            None => Fail(format!("{name}: {}", explain(&e))),
        })
}

fn read_input(file: &str) -> Res<Vec<u8>> {
    let mut data = Vec::new();
    let r = if file == "-" {
        io::stdin().read_to_end(&mut data)
    } else {
        File::open(file).and_then(|mut f| f.read_to_end(&mut data))
    };
    r.map_err(|e| Fail(format!("{file}: {e}")))?;
    Ok(data)
}

/// Parses a rules text offline: the number of distinct rules, or the error
/// with its line number.
fn check_text(name: &str, text: &[u8]) -> Res<usize> {
    match plan_replace::<Host>(&[], text) {
        Ok(p) => Ok(p.len()),
        Err(SetError::Parse(e)) => fail(format!("{name}:{}: {e}", e.line_no)),
        Err(SetError::TooMany) => fail(format!("{name}: more than {MAX_RULES} rules")),
        Err(SetError::NoMem) => fail(format!("{name}: out of memory")),
        Err(SetError::NotFound(_)) => fail(format!("{name}: internal error")),
    }
}

fn cmd_check(args: &[String]) -> Res {
    let [file] = args else { return usage() };
    let text = read_input(file)?;
    let n = check_text(file, &text)?;
    println!("{file}: {n} rules, OK");
    Ok(())
}

fn cmd_load(args: &[String]) -> Res {
    let [file] = args else { return usage() };
    let text = read_input(file)?;
    let n = check_text(file, &text)?;
    // Stage in one open (the module takes it a page at a time), then
    // commit: the active set changes once, all or nothing.
    write_ctl("stage", &text)?;
    write_ctl("commit", b"1")?;
    println!("loaded {n} rules");
    Ok(())
}

fn cmd_edit(file: &str, args: &[String]) -> Res {
    if args.is_empty() {
        return usage();
    }
    // A newline ends the text's last rule (the module then never waits for
    // more of it).
    let text = args.join(" ") + "\n";
    check_text("rules", text.as_bytes())?;
    write_ctl(file, text.as_bytes())
}

fn read_file(path: &str) -> Res<String> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|e| Fail(format!("{path}: {}", explain(&e))))?;
    Ok(s)
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// `PACKETS BYTES RULE` lines of `hits`.
fn parse_hits(text: &str) -> Res<Vec<(u64, u64, &str)>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut it = l.splitn(3, ' ');
            match (
                it.next().map(str::parse),
                it.next().map(str::parse),
                it.next(),
            ) {
                (Some(Ok(p)), Some(Ok(b)), Some(r)) => Ok((p, b, r)),
                _ => fail(format!("hits: unexpected line {l:?}")),
            }
        })
        .collect()
}

fn json_flag(args: &[String]) -> Res<bool> {
    match args {
        [] => Ok(false),
        [a] if a == "--json" => Ok(true),
        _ => usage(),
    }
}

fn cmd_list(args: &[String]) -> Res {
    let json = json_flag(args)?;
    let text = read_file(&ctl("hits")?)?;
    let hits = parse_hits(&text)?;
    let mut out = String::new();
    if json {
        out.push('[');
        for (i, (p, b, r)) in hits.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(
                out,
                "{sep}\n  {{\"rule\": {}, \"packets\": {p}, \"bytes\": {b}}}",
                json_str(r)
            );
        }
        out.push_str(if hits.is_empty() { "]\n" } else { "\n]\n" });
    } else {
        let _ = writeln!(out, "{:>12} {:>14}  RULE", "PACKETS", "BYTES");
        for (p, b, r) in &hits {
            let _ = writeln!(out, "{p:>12} {b:>14}  {r}");
        }
        if hits.is_empty() {
            out.push_str("(no rules)\n");
        }
    }
    print!("{out}");
    Ok(())
}

fn cmd_stats(args: &[String]) -> Res {
    let json = json_flag(args)?;
    let path = procfs();
    let text = read_file(&path).map_err(|Fail(m)| {
        if std::fs::metadata(&path).is_err() {
            Fail(format!("ctskip is not loaded ({path} does not exist)"))
        } else {
            Fail(m)
        }
    })?;
    let mut pairs = Vec::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        match l.split_once(' ').map(|(k, v)| (k, v.parse::<u64>())) {
            Some((k, Ok(v))) => pairs.push((k, v)),
            _ => return fail(format!("{path}: unexpected line {l:?}")),
        }
    }
    let mut out = String::new();
    if json {
        out.push('{');
        for (i, (k, v)) in pairs.iter().enumerate() {
            let _ = write!(
                out,
                "{}{}: {v}",
                if i == 0 { "" } else { ", " },
                json_str(k)
            );
        }
        out.push_str("}\n");
    } else {
        let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in &pairs {
            let _ = writeln!(out, "{k:<w$} {v}");
        }
    }
    print!("{out}");
    Ok(())
}

fn usage<T>() -> Res<T> {
    eprint!("{USAGE}");
    std::process::exit(2);
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        usage::<()>().ok();
        return ExitCode::from(2);
    };
    let r = match cmd.as_str() {
        "load" => cmd_load(rest),
        "add" => cmd_edit("add", rest),
        "del" => cmd_edit("del", rest),
        "list" => cmd_list(rest),
        "stats" => cmd_stats(rest),
        "top" => top::cmd_top(rest),
        "suggest" if rest.first().map(String::as_str) == Some("--dump") => {
            suggest::cmd_dump(&rest[1..])
        }
        "suggest" => suggest::cmd_suggest(rest),
        "check" => cmd_check(rest),
        "enable" if rest.is_empty() => write_ctl("enabled", b"1"),
        "disable" if rest.is_empty() => write_ctl("enabled", b"0"),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        _ => usage(),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(m)) => {
            eprintln!("ctskipctl: {m}");
            ExitCode::from(1)
        }
    }
}
