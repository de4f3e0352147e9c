// SPDX-License-Identifier: GPL-2.0

//! `ctskipctl suggest`: which traffic fills the conntrack tables, and
//! whether it is safe to skip.
//!
//! Every network namespace's table is read through libnetfilter_conntrack,
//! or from `/proc/net/nf_conntrack` where that library is missing
//! (conntrack.rs), in a child (`nsenter --net ... ctskipctl suggest --dump`,
//! so ctskipctl itself never changes its namespace). Entries are grouped by family, protocol,
//! destination port and destination prefix (/24 for IPv4, /64 for IPv6) of
//! their original direction. A group is a candidate rule in ctskip's
//! language, with the number of entries it would have kept out; a group
//! with NATed entries, a helper, a mark or a zone is listed as a comment
//! saying why it must not be skipped. The output is valid input for
//! `ctskipctl check` and `ctskipctl load`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use ctskip_core::rules::rule::{proto_has_ports, PROTO_NAMES};

use crate::conntrack::{self, Entry, Source, IPS_DST_NAT, IPS_SRC_NAT};
use crate::top::{discover, Roots};
use crate::{check_text, fail, usage, Fail, Res};

/// The conntrack helpers' standard ports (net/netfilter/nf_conntrack_*.c:
/// ftp, tftp, sip, irc, h323 and its RAS, pptp, amanda, snmp and
/// snmp_trap, netbios-ns, sane). `/proc/net/nf_conntrack` does not show an
/// entry's helper: read from there, traffic to these ports is taken to
/// have one. (A helper a rule sets on another port cannot be seen there.)
const HELPER_PORTS: [(u8, u16, &str); 13] = [
    (6, 21, "ftp"),
    (17, 69, "tftp"),
    (17, 5060, "sip"),
    (6, 5060, "sip"),
    (6, 6667, "irc"),
    (6, 1720, "h323"),
    (17, 1719, "RAS"),
    (6, 1723, "pptp"),
    (17, 10080, "amanda"),
    (17, 161, "snmp"),
    (17, 162, "snmp_trap"),
    (17, 137, "netbios-ns"),
    (6, 6566, "sane"),
];

/// Why an entry's traffic must stay tracked, if it must. `helpers_shown`:
/// the source shows helpers (libnetfilter_conntrack does, /proc does not).
fn reason(e: &Entry, helpers_shown: bool) -> Option<String> {
    if e.status & IPS_DST_NAT != 0 {
        Some("DNATed: a Service VIP, do not skip (untracked packets are not NATed)".into())
    } else if e.status & IPS_SRC_NAT != 0 {
        Some("SNATed (masquerade): do not skip (untracked packets are not NATed)".into())
    } else if let Some(h) = &e.helper {
        Some(format!("has the conntrack helper {h}: it needs conntrack"))
    } else if let Some((_, _, h)) = HELPER_PORTS
        .iter()
        .find(|(p, port, _)| !helpers_shown && *p == e.proto && Some(*port) == e.dport)
    {
        Some(format!(
            "may have the conntrack helper {h} (its port; /proc/net/nf_conntrack does not show helpers): it would need conntrack"
        ))
    } else if e.mark != 0 {
        Some("carries a conntrack mark: a rule uses its state".into())
    } else if e.zone != 0 {
        Some(format!(
            "in conntrack zone {}: placed there on purpose",
            e.zone
        ))
    } else {
        None
    }
}

/// A group: family, protocol, destination port, destination prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    v6: bool,
    proto: u8,
    dport: Option<u16>,
    net: IpAddr,
}

impl Key {
    fn of(e: &Entry) -> Key {
        Key::to(e.dst, e.proto, e.dport)
    }

    /// The group of traffic to `dst` port `dport`. A port is kept only for
    /// protocols whose rules can name one (conntrack reports GRE's key
    /// fields as ports too, 0 for plain GRE; `gre dport 0` is no rule).
    fn to(dst: IpAddr, proto: u8, dport: Option<u16>) -> Key {
        let dport = dport.filter(|_| proto_has_ports(proto));
        let net = match dst {
            IpAddr::V4(a) => IpAddr::from(std::net::Ipv4Addr::from(u32::from(a) & 0xffff_ff00)),
            IpAddr::V6(a) => IpAddr::from(std::net::Ipv6Addr::from(
                u128::from(a) & !((1u128 << 64) - 1),
            )),
        };
        Key {
            v6: dst.is_ipv6(),
            proto,
            dport,
            net,
        }
    }

    /// The rule, in ctskip's language.
    fn rule(&self) -> String {
        let mut r = String::from(if self.v6 { "ip6 " } else { "ip " });
        match PROTO_NAMES.iter().find(|p| p.1 == self.proto) {
            Some((name, _)) => r.push_str(name),
            None => {
                let _ = write!(r, "proto {}", self.proto);
            }
        }
        let _ = write!(r, " daddr {}/{}", self.net, if self.v6 { 64 } else { 24 });
        if let Some(p) = self.dport {
            let _ = write!(r, " dport {p}");
        }
        r
    }
}

#[derive(Default)]
struct Group {
    entries: usize,
    netns: BTreeSet<u64>,
    /// Entries that must stay tracked, by reason.
    reasons: BTreeMap<String, usize>,
}

struct Options {
    netns: Option<String>,
    top: usize,
    source: Source,
}

fn options(args: &[String]) -> Res<Options> {
    let mut o = Options {
        netns: None,
        top: 20,
        source: Source::Auto,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--netns" => match it.next() {
                Some(v) => o.netns = Some(v.clone()),
                None => return usage(),
            },
            "--source" => {
                o.source = match it.next().map(|v| Source::parse(v)) {
                    Some(Some(s)) => s,
                    _ => return fail("suggest: --source takes auto, library or proc"),
                }
            }
            "--top" => {
                o.top = match it.next().map(|v| v.parse::<usize>()) {
                    Some(Ok(v)) if v > 0 => v,
                    _ => return fail("suggest: --top takes a number of rules, at least 1"),
                }
            }
            _ => return usage(),
        }
    }
    Ok(o)
}

/// `suggest --dump [--source S]`: this namespace's entries for the parent:
/// `source library|proc`, then one per line (`SRC DST PROTO SPORT DPORT
/// REPLY_SRC REPLY_SPORT STATUS MARK ZONE HELPER`, `-` for none).
pub(crate) fn cmd_dump(args: &[String]) -> Res {
    let source = match args {
        [] => Source::Auto,
        [o, v] if o == "--source" => match Source::parse(v) {
            Some(s) => s,
            None => return fail("suggest: --source takes auto, library or proc"),
        },
        _ => return usage(),
    };
    print!("{}", dump_text(source)?);
    Ok(())
}

/// This namespace's entries, as `--dump` prints them.
fn dump_text(source: Source) -> Res<String> {
    let (from, entries) = conntrack::dump(source).map_err(|e| Fail(format!("conntrack: {e}")))?;
    let mut out = format!("source {}\n", from.name());
    let opt = |v: Option<u16>| v.map_or("-".to_string(), |p| p.to_string());
    for e in entries {
        let _ = writeln!(
            out,
            "{} {} {} {} {} {} {} {} {} {} {}",
            e.src,
            e.dst,
            e.proto,
            opt(e.sport),
            opt(e.dport),
            e.reply_src,
            opt(e.reply_sport),
            e.status,
            e.mark,
            e.zone,
            e.helper.as_deref().unwrap_or("-")
        );
    }
    Ok(out)
}

/// A child's dump: its source, its entries.
fn parse_dump(text: &str) -> Res<(Source, Vec<Entry>)> {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let source = match first.strip_prefix("source ").and_then(Source::parse) {
        Some(s @ (Source::Library | Source::Proc)) => s,
        _ => {
            return fail(format!(
                "suggest: a dump without its source line: {first:?}"
            ))
        }
    };
    parse_entries(rest).map(|e| (source, e))
}

fn parse_entries(text: &str) -> Res<Vec<Entry>> {
    let port = |s: &str| -> Res<Option<u16>> {
        if s == "-" {
            Ok(None)
        } else {
            s.parse()
                .map(Some)
                .map_err(|_| Fail(format!("suggest: bad port {s:?}")))
        }
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let [src, dst, proto, sport, dport, rsrc, rsport, status, mark, zone, helper] = f[..]
            else {
                return fail(format!("suggest: unexpected line {l:?}"));
            };
            let bad = || Fail(format!("suggest: unexpected line {l:?}"));
            Ok(Entry {
                src: src.parse().map_err(|_| bad())?,
                dst: dst.parse().map_err(|_| bad())?,
                proto: proto.parse().map_err(|_| bad())?,
                sport: port(sport)?,
                dport: port(dport)?,
                reply_src: rsrc.parse().map_err(|_| bad())?,
                reply_sport: port(rsport)?,
                status: status.parse().map_err(|_| bad())?,
                mark: mark.parse().map_err(|_| bad())?,
                zone: zone.parse().map_err(|_| bad())?,
                helper: (helper != "-").then(|| helper.to_string()),
            })
        })
        .collect()
}

/// "1 entry", "2 entries".
fn entries(n: usize) -> String {
    if n == 1 {
        "1 entry".into()
    } else {
        format!("{n} entries")
    }
}

/// `suggest [--netns NAME|INUM] [--top N]`.
pub(crate) fn cmd_suggest(args: &[String]) -> Res {
    let o = options(args)?;
    let roots = Roots::from_env();
    let own = std::fs::metadata(format!("{}/self/ns/net", roots.proc))
        .map(|m| m.ino())
        .ok();
    let exe = std::env::current_exe().map_err(|e| Fail(format!("suggest: {e}")))?;
    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    let mut backends: BTreeMap<Key, String> = BTreeMap::new();
    let (mut total, mut read, mut from_proc) = (0, 0, 0);
    let mut errors = Vec::new();
    for (ino, ns) in discover(&roots)? {
        let name = ns.name(&roots);
        if let Some(want) = &o.netns {
            if *want != name && *want != ino.to_string() {
                continue;
            }
        }
        // Our own namespace directly; any other through a child. (Tests
        // give each namespace's dump as a file: CTSKIP_CT_DUMPS/INUM.)
        let text = if let Ok(dir) = std::env::var("CTSKIP_CT_DUMPS") {
            match std::fs::read_to_string(format!("{dir}/{ino}")) {
                Ok(t) => t,
                Err(_) => continue,
            }
        } else if Some(ino) == own {
            match dump_text(o.source) {
                Ok(t) => t,
                Err(Fail(m)) => {
                    errors.push(format!("{name}: {m}"));
                    continue;
                }
            }
        } else {
            let mut c = Command::new("nsenter");
            // The file that holds the namespace: still there afterwards
            // (the same inode), a failure is an error, not a netns gone.
            let holder = match (ns.pids.first(), ns.names.first()) {
                (Some(pid), _) => {
                    c.args(["--target", &pid.to_string(), "--net"]);
                    format!("{}/{pid}/ns/net", roots.proc)
                }
                (None, Some(n)) => {
                    let path = format!("{}/{n}", roots.run_netns);
                    c.arg(format!("--net={path}"));
                    path
                }
                (None, None) => continue,
            };
            let out = c
                .arg(&exe)
                .args(["suggest", "--dump", "--source", o.source.name()])
                .env("LC_ALL", "C")
                .output()
                .map_err(|e| Fail(format!("nsenter: {e}")))?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
                let gone = std::fs::metadata(&holder).map_or(true, |m| m.ino() != ino);
                if !gone {
                    errors.push(format!("{name}: {err}"));
                }
                continue;
            }
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        read += 1;
        let (source, list) = parse_dump(&text)?;
        if source == Source::Proc {
            from_proc += 1;
        }
        for e in list {
            total += 1;
            let g = groups.entry(Key::of(&e)).or_default();
            g.entries += 1;
            g.netns.insert(ino);
            if let Some(r) = reason(&e, source == Source::Library) {
                *g.reasons.entry(r).or_default() += 1;
            }
            if e.status & IPS_DST_NAT != 0 {
                backends.insert(
                    Key::to(e.reply_src, e.proto, e.reply_sport),
                    format!(
                        "the endpoint of DNATed traffic ({} port {} -> {} port {}): rules apply in every netns, and an untracked reply is not un-NATed where the DNAT was; do not skip",
                        e.dst,
                        e.dport.map_or("-".into(), |p| p.to_string()),
                        e.reply_src,
                        e.reply_sport.map_or("-".into(), |p| p.to_string())
                    ),
                );
            }
        }
    }
    // Traffic to a DNAT's real destination seen elsewhere (the endpoint's
    // own netns sees it untranslated) must stay tracked too.
    for (k, why) in &backends {
        if let Some(g) = groups.get_mut(k) {
            if g.reasons.is_empty() {
                g.reasons.insert(why.clone(), g.entries);
            }
        }
    }
    if let Some(want) = &o.netns {
        if read == 0 && errors.is_empty() {
            return fail(format!("suggest: no network namespace {want:?}"));
        }
    }
    let mut sorted: Vec<(&Key, &Group)> = groups.iter().collect();
    sorted.sort_by(|a, b| b.1.entries.cmp(&a.1.entries).then(a.0.cmp(b.0)));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# ctskipctl suggest: {total} conntrack entries in {read} network namespaces, grouped by destination (port, /24 or /64)"
    );
    let _ = writeln!(
        out,
        "# each rule: the entries it would have kept out of conntrack"
    );
    let _ = writeln!(
        out,
        "# read with libnetfilter_conntrack: {}, from /proc/net/nf_conntrack: {from_proc}{}",
        read - from_proc,
        if from_proc > 0 {
            " (it shows no helpers: traffic to a helper's standard port is not suggested, and a helper a rule sets on another port cannot be seen)"
        } else {
            ""
        }
    );
    let mut rules = String::new();
    for (k, g) in sorted
        .iter()
        .filter(|(_, g)| g.reasons.is_empty())
        .take(o.top)
    {
        let r = k.rule();
        let _ = writeln!(rules, "{r}");
        let _ = writeln!(
            out,
            "{r:<48} # {} in {} netns",
            entries(g.entries),
            g.netns.len()
        );
    }
    for (k, g) in sorted
        .iter()
        .filter(|(_, g)| !g.reasons.is_empty())
        .take(o.top)
    {
        let (why, n) = g
            .reasons
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(w, n)| (w.as_str(), *n))
            .unwrap_or(("", 0));
        let _ = writeln!(
            out,
            "# not suggested: {} ({} in {} netns, {n} of them): {why}",
            k.rule(),
            entries(g.entries),
            g.netns.len()
        );
    }
    // What is printed must load as it is.
    check_text("suggest", rules.as_bytes())?;
    print!("{out}");
    for e in &errors {
        eprintln!("ctskipctl: suggest: {e}");
    }
    if errors.is_empty() {
        Ok(())
    } else {
        fail(format!(
            "suggest: {} namespaces could not be read",
            errors.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRE entry (conntrack gives it ports, 0 for plain GRE) groups
    /// without a port, so its rule is one ctskip takes.
    #[test]
    fn gre_groups_without_ports() {
        let dst: IpAddr = "10.0.1.2".parse().unwrap();
        let gre = Key::to(dst, 47, Some(0)).rule();
        assert_eq!(gre, "ip gre daddr 10.0.1.0/24");
        assert!(ctskip_core::parse(&gre).is_ok(), "{gre}");
        assert_eq!(
            Key::to(dst, 17, Some(53)).rule(),
            "ip udp daddr 10.0.1.0/24 dport 53"
        );
    }
}
