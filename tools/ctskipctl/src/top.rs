// SPDX-License-Identifier: GPL-2.0

//! `ctskipctl top`: every network namespace on the host, sorted by conntrack
//! pressure (this netns's entries against the limit that applies to them).
//!
//! Namespaces are found through `/proc/*/ns/net` and `/run/netns/*`, one
//! per inode. A namespace's figures are its `/proc/net/ctskip`, read
//! through `/proc/PID/net/ctskip` of a process inside it; a namespace with
//! no process (an `ip netns add` one) is read by a child,
//! `nsenter --net=/run/netns/NAME cat /proc/self/net/ctskip`. ctskipctl
//! itself never changes its network namespace, so no error can leave it in
//! another one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{fail, json_str, usage, Fail, Res};

/// Where the namespaces are found (tests point them elsewhere).
pub(crate) struct Roots {
    pub(crate) proc: String,
    pub(crate) run_netns: String,
}

impl Roots {
    pub(crate) fn from_env() -> Self {
        Roots {
            proc: std::env::var("CTSKIP_PROC_ROOT").unwrap_or_else(|_| "/proc".into()),
            run_netns: std::env::var("CTSKIP_RUN_NETNS").unwrap_or_else(|_| "/run/netns".into()),
        }
    }
}

/// One network namespace.
pub(crate) struct Netns {
    /// Its `ip netns` names.
    pub(crate) names: Vec<String>,
    /// The processes inside it, lowest first.
    pub(crate) pids: Vec<u32>,
    /// Whether it is init's (the host's).
    host: bool,
}

impl Netns {
    /// `ip netns` name, else `host`, else `pid N (comm)` of its first
    /// process.
    pub(crate) fn name(&self, roots: &Roots) -> String {
        if let Some(n) = self.names.first() {
            return n.clone();
        }
        if self.host {
            return "host".into();
        }
        match self.pids.first() {
            Some(p) => {
                let comm = std::fs::read_to_string(format!("{}/{p}/comm", roots.proc))
                    .map(|c| c.trim_end().to_string())
                    .unwrap_or_default();
                format!("pid {p} ({comm})")
            }
            None => "?".into(),
        }
    }
}

/// The namespace of inode `ino` in `all`, added if new.
fn netns(all: &mut BTreeMap<u64, Netns>, ino: u64, host: Option<u64>) -> &mut Netns {
    all.entry(ino).or_insert_with(|| Netns {
        names: Vec::new(),
        pids: Vec::new(),
        host: Some(ino) == host,
    })
}

/// Every network namespace, by inode.
pub(crate) fn discover(roots: &Roots) -> Res<BTreeMap<u64, Netns>> {
    let mut all: BTreeMap<u64, Netns> = BTreeMap::new();
    let host = std::fs::metadata(format!("{}/1/ns/net", roots.proc))
        .map(|m| m.ino())
        .ok();
    let entries =
        std::fs::read_dir(&roots.proc).map_err(|e| Fail(format!("{}: {e}", roots.proc)))?;
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    let mut denied = 0;
    for pid in pids {
        // A process may exit meanwhile; a kernel thread shares init's.
        match std::fs::metadata(format!("{}/{pid}/ns/net", roots.proc)) {
            Ok(m) => {
                netns(&mut all, m.ino(), host).pids.push(pid);
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => denied += 1,
            Err(_) => {}
        }
    }
    if denied > 0 && all.is_empty() {
        return fail("top: permission denied reading /proc/*/ns/net (run as root)");
    }
    // A name is a bind mount of an nsfs inode; a leftover file (its mount
    // gone) is on another filesystem.
    let nsfs = std::fs::metadata(format!("{}/self/ns/net", roots.proc))
        .map(|m| m.dev())
        .ok();
    if let Ok(dir) = std::fs::read_dir(&roots.run_netns) {
        let mut names: Vec<String> = dir
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        for name in names {
            let Ok(m) = std::fs::metadata(format!("{}/{name}", roots.run_netns)) else {
                continue;
            };
            if Some(m.dev()) != nsfs {
                continue;
            }
            netns(&mut all, m.ino(), host).names.push(name);
        }
    }
    Ok(all)
}

/// `/proc/net/ctskip` as name → value.
type Figures = BTreeMap<String, u64>;

fn parse_figures(text: &str) -> Res<Figures> {
    let mut f = Figures::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        match l.split_once(' ').map(|(k, v)| (k, v.trim().parse::<u64>())) {
            Some((k, Ok(v))) => {
                f.insert(k.to_string(), v);
            }
            _ => return fail(format!("/proc/net/ctskip: unexpected line {l:?}")),
        }
    }
    Ok(f)
}

/// Why a namespace's figures could not be read.
enum ReadError {
    /// It no longer exists (every process gone, no name left).
    Gone,
    /// Anything else: shown, and the exit status is 1.
    Failed(String),
}

/// The figures of `ns`: through a process inside it, else through its name.
fn read_figures(ns: &Netns, roots: &Roots) -> Result<Figures, ReadError> {
    let mut last = None;
    for pid in &ns.pids {
        let path = format!("{}/{pid}/net/ctskip", roots.proc);
        match std::fs::read_to_string(&path) {
            Ok(text) => return parse_figures(&text).map_err(|Fail(m)| ReadError::Failed(m)),
            // The process exited, or was never in that netns any more.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && gone(pid, roots) => continue,
            Err(e) => last = Some(format!("{path}: {e}")),
        }
    }
    if let Some(m) = last {
        return Err(ReadError::Failed(m));
    }
    let Some(name) = ns.names.first() else {
        return Err(ReadError::Gone);
    };
    let path = format!("{}/{name}", roots.run_netns);
    let out = Command::new("nsenter")
        .arg(format!("--net={path}"))
        .args(["cat", "/proc/self/net/ctskip"])
        .output()
        .map_err(|e| ReadError::Failed(format!("nsenter --net={path}: {e}")))?;
    if !out.status.success() {
        if std::fs::metadata(&path).is_err() {
            return Err(ReadError::Gone);
        }
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(ReadError::Failed(format!(
            "nsenter --net={path} cat /proc/self/net/ctskip: {}",
            err.trim()
        )));
    }
    parse_figures(&String::from_utf8_lossy(&out.stdout)).map_err(|Fail(m)| ReadError::Failed(m))
}

/// Whether process `pid` has exited.
fn gone(pid: &u32, roots: &Roots) -> bool {
    std::fs::metadata(format!("{}/{pid}", roots.proc)).is_err()
}

/// One row: a namespace and its figures over the interval.
struct Row {
    inum: u64,
    name: String,
    count: u64,
    max: u64,
    seen: u64,
    untracked: u64,
    seen_per_s: f64,
    untracked_per_s: f64,
}

impl Row {
    /// Entries against the limit, 0 to 1 (0 without a limit).
    fn pressure(&self) -> f64 {
        if self.max == 0 {
            0.0
        } else {
            self.count as f64 / self.max as f64
        }
    }

    /// Untracked packets among those seen since the module was loaded.
    fn share(&self) -> f64 {
        if self.seen == 0 {
            0.0
        } else {
            self.untracked as f64 / self.seen as f64
        }
    }
}

struct Options {
    json: bool,
    watch: bool,
    interval: f64,
    count: Option<u64>,
}

fn options(args: &[String]) -> Res<Options> {
    let mut o = Options {
        json: false,
        watch: false,
        interval: 1.0,
        count: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => o.json = true,
            "--watch" => o.watch = true,
            "--interval" => {
                o.interval = match it.next().map(|v| v.parse::<f64>()) {
                    Some(Ok(v)) if v > 0.0 && v <= 3600.0 => v,
                    _ => return fail("top: --interval takes seconds, above 0 and at most 3600"),
                }
            }
            "--count" => {
                o.count = match it.next().map(|v| v.parse::<u64>()) {
                    Some(Ok(v)) if v > 0 => Some(v),
                    _ => return fail("top: --count takes a number of refreshes, at least 1"),
                }
            }
            _ => return usage(),
        }
    }
    Ok(o)
}

/// One sample of every namespace, `interval` apart: the rows, sorted by
/// pressure, and the failures.
fn sample(roots: &Roots, interval: f64) -> Res<(Vec<Row>, Vec<String>)> {
    let all = discover(roots)?;
    let mut first = BTreeMap::new();
    let mut errors = Vec::new();
    for (ino, ns) in &all {
        match read_figures(ns, roots) {
            Ok(f) => {
                first.insert(*ino, (f, Instant::now()));
            }
            Err(ReadError::Gone) => {}
            Err(ReadError::Failed(m)) => errors.push(m),
        }
    }
    if first.is_empty() && errors.is_empty() {
        return fail("top: no network namespace found");
    }
    std::thread::sleep(Duration::from_secs_f64(interval));
    let mut rows = Vec::new();
    for (ino, (f0, t0)) in &first {
        let ns = &all[ino];
        let f1 = match read_figures(ns, roots) {
            Ok(f) => f,
            Err(ReadError::Gone) => continue,
            Err(ReadError::Failed(m)) => {
                errors.push(m);
                continue;
            }
        };
        // Each namespace's own time between its two reads.
        let dt = t0.elapsed().as_secs_f64();
        let get = |f: &Figures, k: &str| f.get(k).copied().unwrap_or(0);
        let rate = |k: &str| get(&f1, k).saturating_sub(get(f0, k)) as f64 / dt;
        if !f1.contains_key("conntrack_max") {
            errors.push(format!(
                "{}: /proc/net/ctskip has no conntrack_count/conntrack_max (ctskip too old?)",
                ns.name(roots)
            ));
            continue;
        }
        rows.push(Row {
            inum: *ino,
            name: ns.name(roots),
            count: get(&f1, "conntrack_count"),
            max: get(&f1, "conntrack_max"),
            seen: get(&f1, "seen"),
            untracked: get(&f1, "untracked"),
            seen_per_s: rate("seen"),
            untracked_per_s: rate("untracked"),
        });
    }
    rows.sort_by(|a, b| {
        b.pressure()
            .total_cmp(&a.pressure())
            .then(b.count.cmp(&a.count))
            .then(a.inum.cmp(&b.inum))
    });
    Ok((rows, errors))
}

fn render(rows: &[Row], interval: f64, json: bool) -> String {
    let mut out = String::new();
    if json {
        let _ = write!(out, "{{\"interval\": {interval}, \"netns\": [");
        for (i, r) in rows.iter().enumerate() {
            let _ = write!(
                out,
                "{}\n  {{\"inum\": {}, \"name\": {}, \"conntrack_count\": {}, \"conntrack_max\": {}, \"pressure\": {:.6}, \"seen\": {}, \"untracked\": {}, \"untracked_share\": {:.6}, \"seen_per_s\": {:.1}, \"untracked_per_s\": {:.1}}}",
                if i == 0 { "" } else { "," },
                r.inum,
                json_str(&r.name),
                r.count,
                r.max,
                r.pressure(),
                r.seen,
                r.untracked,
                r.share(),
                r.seen_per_s,
                r.untracked_per_s
            );
        }
        out.push_str(if rows.is_empty() { "]}\n" } else { "\n]}\n" });
    } else {
        let w = rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        let _ = writeln!(
            out,
            "{:<10}  {:<w$}  {:>17}  {:>8}  {:>9}  {:>10}  {:>11}",
            "NETNS", "NAME", "CONNTRACK", "PRESSURE", "UNTRACKED", "SEEN/s", "UNTRACKED/s"
        );
        for r in rows {
            let _ = writeln!(
                out,
                "{:<10}  {:<w$}  {:>17}  {:>7.1}%  {:>8.1}%  {:>10.0}  {:>11.0}",
                r.inum,
                r.name,
                format!("{}/{}", r.count, r.max),
                100.0 * r.pressure(),
                100.0 * r.share(),
                r.seen_per_s,
                r.untracked_per_s
            );
        }
    }
    out
}

/// `top [--json] [--watch] [--interval SECONDS] [--count N]`.
pub(crate) fn cmd_top(args: &[String]) -> Res {
    let o = options(args)?;
    let roots = Roots::from_env();
    let own = format!("{}/self/net/ctskip", roots.proc);
    if std::fs::metadata(&own).is_err() {
        return fail(format!("ctskip is not loaded ({own} does not exist)"));
    }
    let mut n = 0;
    loop {
        let (rows, errors) = sample(&roots, o.interval)?;
        let text = render(&rows, o.interval, o.json);
        if o.watch && !o.json {
            // Home and clear, then the table.
            print!("\x1b[H\x1b[2J{text}");
        } else {
            print!("{text}");
        }
        for e in &errors {
            eprintln!("ctskipctl: top: {e}");
        }
        n += 1;
        if !errors.is_empty() && !o.watch {
            return fail(format!(
                "top: {} namespaces could not be read",
                errors.len()
            ));
        }
        if !o.watch || o.count.is_some_and(|c| n >= c) {
            return Ok(());
        }
    }
}
