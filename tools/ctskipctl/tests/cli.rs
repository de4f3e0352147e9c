//! ctskipctl against stand-in control files (a temporary directory in place
//! of /sys/kernel/ctskip and /proc/net/ctskip): output formats, offline
//! checks with line numbers, one-line errors, exit statuses.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ctskipctl-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sys")).unwrap();
        Dir(d)
    }
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ctskipctl"))
            .args(args)
            .env("CTSKIP_SYSFS", self.0.join("sys"))
            .env("CTSKIP_PROC", self.0.join("proc"))
            .output()
            .unwrap()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_counts_distinct_rules() {
    let d = Dir::new("check-ok");
    let f = d.file(
        "r",
        "# dns\nudp dport 53\nproto 17 dport 53 # same rule\n\ntcp dport 80-443; ip6 gre\n",
    );
    let o = d.run(&["check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), format!("{}: 3 rules, OK\n", f.display()));
}

#[test]
fn check_names_the_line() {
    let d = Dir::new("check-bad");
    let f = d.file("r", "udp dport 53\n\n# x\ntcp dport 1; tcp dport 70000\n");
    let o = d.run(&["check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!(
            "ctskipctl: {}:4: rule 3 \"tcp dport 70000\": bad port or port range \"70000\"\n",
            f.display()
        )
    );
    assert_eq!(out(&o), "");
}

#[test]
fn check_refuses_too_many_rules() {
    let d = Dir::new("check-many");
    let text: String = (0..65537u32)
        .map(|i| format!("udp sport {} dport {}\n", i % 65536, i / 65536))
        .collect();
    let f = d.file("r", &text);
    let o = d.run(&["check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        format!("ctskipctl: {}: more than 65536 rules\n", f.display())
    );
}

#[test]
fn missing_file_is_one_line() {
    let d = Dir::new("nofile");
    let o = d.run(&["check", "/nonexistent/rules"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "ctskipctl: /nonexistent/rules: No such file or directory (os error 2)\n"
    );
}

#[test]
fn list_table_and_json() {
    let d = Dir::new("list");
    d.file(
        "sys/hits",
        "12 1800 udp dport 53\n0 0 ip6 tcp daddr 2001:db8::/32 dport 80-443\n",
    );
    let o = d.run(&["list"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "     PACKETS          BYTES  RULE\n          12           1800  udp dport 53\n           0              0  ip6 tcp daddr 2001:db8::/32 dport 80-443\n"
    );
    let o = d.run(&["list", "--json"]);
    assert_eq!(
        out(&o),
        "[\n  {\"rule\": \"udp dport 53\", \"packets\": 12, \"bytes\": 1800},\n  {\"rule\": \"ip6 tcp daddr 2001:db8::/32 dport 80-443\", \"packets\": 0, \"bytes\": 0}\n]\n"
    );
    d.file("sys/hits", "");
    assert_eq!(out(&d.run(&["list", "--json"])), "[]\n");
    assert_eq!(
        out(&d.run(&["list"])),
        "     PACKETS          BYTES  RULE\n(no rules)\n"
    );
}

#[test]
fn stats_text_and_json() {
    let d = Dir::new("stats");
    d.file("proc", "seen 10\nuntracked 7\nuntracked_bytes 700\n");
    let o = d.run(&["stats"]);
    assert_eq!(
        out(&o),
        "seen            10\nuntracked       7\nuntracked_bytes 700\n"
    );
    let o = d.run(&["stats", "--json"]);
    assert_eq!(
        out(&o),
        "{\"seen\": 10, \"untracked\": 7, \"untracked_bytes\": 700}\n"
    );
}

#[test]
fn absent_module_is_one_line() {
    let d = Dir::new("absent");
    std::fs::remove_dir(d.0.join("sys")).unwrap();
    let o = d.run(&["list"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("ctskipctl: ctskip is not loaded ("),
        "{}",
        err(&o)
    );
    assert_eq!(err(&o).lines().count(), 1);
    let o = d.run(&["stats"]);
    assert!(
        err(&o).starts_with("ctskipctl: ctskip is not loaded ("),
        "{}",
        err(&o)
    );
}

#[test]
fn load_checks_offline_then_stages_and_commits() {
    let d = Dir::new("load");
    // Stand-ins for the control files (regular files record the writes).
    d.file("sys/stage", "");
    d.file("sys/commit", "");
    let bad = d.file("bad", "udp dport 53\nudp dpoort 54\n");
    let o = d.run(&["load", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains(":2: rule 2 \"udp dpoort 54\": unknown keyword \"dpoort\""),
        "{}",
        err(&o)
    );
    assert_eq!(
        std::fs::read_to_string(d.0.join("sys/stage")).unwrap(),
        "",
        "nothing staged after a bad file"
    );
    let good = d.file("good", "udp dport 53\ntcp dport 80\n");
    let o = d.run(&["load", good.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), "loaded 2 rules\n");
    assert_eq!(
        std::fs::read_to_string(d.0.join("sys/stage")).unwrap(),
        "udp dport 53\ntcp dport 80\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.0.join("sys/commit")).unwrap(),
        "1"
    );
}

#[test]
fn add_checks_offline_and_writes_any_size() {
    let d = Dir::new("add");
    d.file("sys/add", "");
    let o = d.run(&["add", "udp", "dport", "5300"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(d.0.join("sys/add")).unwrap(),
        "udp dport 5300\n"
    );
    let o = d.run(&["add", "udp", "dport", "x"]);
    assert_eq!(
        err(&o),
        "ctskipctl: rules:1: rule 1 \"udp dport x\": bad port or port range \"x\"\n"
    );
    let many: Vec<String> = (0..400).map(|i| format!("udp dport {i};")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let mut args = vec!["add"];
    args.extend(many);
    let o = d.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // One text through one open file, whatever its size (the module joins
    // the pieces).
    assert_eq!(
        std::fs::read_to_string(d.0.join("sys/add")).unwrap(),
        args[1..].join(" ") + "\n"
    );
}

#[test]
fn usage_errors_exit_2() {
    let d = Dir::new("usage");
    assert_eq!(d.run(&[]).status.code(), Some(2));
    assert_eq!(d.run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(d.run(&["list", "--yaml"]).status.code(), Some(2));
    assert_eq!(d.run(&["check"]).status.code(), Some(2));
}

/// A stand-in /proc for `top`: processes whose ns/net files are hard links
/// of one file per namespace (one inode per namespace, as nsfs gives),
/// their comm, and each namespace's /proc/net/ctskip.
struct FakeProc {
    d: Dir,
}

impl FakeProc {
    fn new(name: &str) -> FakeProc {
        let d = Dir::new(name);
        std::fs::create_dir_all(d.0.join("proc/self/ns")).unwrap();
        std::fs::create_dir_all(d.0.join("ns")).unwrap();
        std::fs::create_dir_all(d.0.join("run")).unwrap();
        FakeProc { d }
    }
    /// Namespace `ns` (its figures) with processes `pids` (`comm` each).
    fn netns(&self, ns: &str, figures: &str, pids: &[(u32, &str)]) {
        let f = self.d.0.join("ns").join(ns);
        if !f.exists() {
            std::fs::write(&f, "").unwrap();
        }
        for (pid, comm) in pids {
            let p = self.d.0.join(format!("proc/{pid}"));
            std::fs::create_dir_all(p.join("ns")).unwrap();
            std::fs::create_dir_all(p.join("net")).unwrap();
            std::fs::hard_link(&f, p.join("ns/net")).unwrap();
            std::fs::write(p.join("net/ctskip"), figures).unwrap();
            std::fs::write(p.join("comm"), format!("{comm}\n")).unwrap();
        }
    }
    /// An `ip netns` name for namespace `ns`.
    fn name(&self, name: &str, ns: &str) {
        std::fs::hard_link(
            self.d.0.join("ns").join(ns),
            self.d.0.join("run").join(name),
        )
        .unwrap();
    }
    fn top(&self, args: &[&str]) -> Output {
        // Our own namespace: ctskip loaded (the file exists), on the same
        // filesystem as the names (as nsfs is for the real ones).
        let own = self.d.0.join("proc/self");
        std::fs::create_dir_all(own.join("net")).unwrap();
        std::fs::write(own.join("net/ctskip"), "seen 0\n").unwrap();
        if !own.join("ns/net").exists() {
            std::fs::write(own.join("ns/net"), "").unwrap();
        }
        Command::new(env!("CARGO_BIN_EXE_ctskipctl"))
            .arg("top")
            .args(args)
            .env("CTSKIP_PROC_ROOT", self.d.0.join("proc"))
            .env("CTSKIP_RUN_NETNS", self.d.0.join("run"))
            .output()
            .unwrap()
    }
}

fn figures(seen: u64, untracked: u64, count: u64, max: u64) -> String {
    format!("seen {seen}\nuntracked {untracked}\nuntracked_bytes 0\nconntrack_count {count}\nconntrack_max {max}\n")
}

#[test]
fn top_lists_each_netns_once_by_pressure() {
    let p = FakeProc::new("top");
    p.netns(
        "host",
        &figures(1000, 900, 10, 100),
        &[(1, "init"), (50, "sshd")],
    );
    p.netns(
        "a",
        &figures(400, 100, 90, 100),
        &[(200, "memcached"), (201, "memcached")],
    );
    p.netns("b", &figures(50, 0, 40, 100), &[(300, "sleep")]);
    p.name("red", "b");
    let o = p.top(&["--json", "--interval", "0.05"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let s = out(&o);
    // By pressure: a (90/100), b (40/100, named), host (10/100); once each.
    let names: Vec<&str> = s
        .lines()
        .filter_map(|l| l.split("\"name\": \"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(names, ["pid 200 (memcached)", "red", "host"], "{s}");
    assert!(s.contains("\"conntrack_count\": 90, \"conntrack_max\": 100, \"pressure\": 0.900000, \"seen\": 400, \"untracked\": 100, \"untracked_share\": 0.250000"), "{s}");
    // Nothing changed over the interval: no packets per second.
    assert!(
        s.contains("\"seen_per_s\": 0.0, \"untracked_per_s\": 0.0"),
        "{s}"
    );
    let t = p.top(&["--interval", "0.05"]);
    assert_eq!(t.status.code(), Some(0), "{}", err(&t));
    let text = out(&t);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("NETNS") && lines[0].contains("PRESSURE"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("pid 200 (memcached)")
            && lines[1].contains("90/100")
            && lines[1].contains("90.0%")
            && lines[1].contains("25.0%"),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("red") && lines[2].contains("40/100"),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 4, "{lines:?}");
}

#[test]
fn top_fails_on_an_unreadable_netns_and_without_ctskip() {
    let p = FakeProc::new("top-bad");
    p.netns("host", &figures(1, 0, 1, 100), &[(1, "init")]);
    p.netns("x", "seen oops\n", &[(7, "bad")]);
    let o = p.top(&["--interval", "0.01"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        err(&o).contains("unexpected line \"seen oops\""),
        "{}",
        err(&o)
    );
    // ctskip not loaded: our own /proc/self/net/ctskip is absent.
    let q = FakeProc::new("top-none");
    let o = Command::new(env!("CARGO_BIN_EXE_ctskipctl"))
        .args(["top"])
        .env("CTSKIP_PROC_ROOT", q.d.0.join("proc"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("ctskip is not loaded"), "{}", err(&o));
    let o = p.top(&["--interval", "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("--interval"), "{}", err(&o));
}

#[test]
fn suggest_groups_by_destination_and_names_what_not_to_skip() {
    let p = FakeProc::new("suggest");
    p.netns("host", &figures(0, 0, 0, 100), &[(1, "init")]);
    p.netns("a", &figures(0, 0, 0, 100), &[(200, "memcached")]);
    p.netns("b", &figures(0, 0, 0, 100), &[(300, "app")]);
    p.name("blue", "b");
    let dumps = p.d.0.join("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    let ino = |ns: &str| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p.d.0.join("ns").join(ns)).unwrap().ino()
    };
    // memcached on 10.0.1.0/24 from both netns (5 + 3), VXLAN to
    // 192.168.5.0/24 (4), DNS to a DNATed VIP (6, status 0x20 | 0x8), an
    // FTP control flow with a helper, a marked flow; ICMPv6 without ports.
    // a's dump comes from libnetfilter_conntrack, b's from /proc (which
    // shows no helpers: traffic to a helper's port is not suggested).
    let mut a = String::from("source library\n");
    for i in 0..5 {
        a += &format!(
            "10.0.2.{i} 10.0.1.{d} 17 4000{i} 11211 10.0.1.{d} 11211 8 0 0 -\n",
            d = 7 + i
        );
    }
    for i in 0..6 {
        a += &format!("10.0.2.9 10.96.0.10 17 5000{i} 53 10.0.1.50 5353 40 0 0 -\n");
    }
    a += "10.0.2.9 10.0.9.21 6 41000 21 10.0.9.21 21 14 0 0 ftp\n";
    a += "10.0.2.9 10.0.9.80 6 41001 80 10.0.9.80 80 14 5 0 -\n";
    std::fs::write(dumps.join(ino("a").to_string()), a).unwrap();
    let mut b = String::from("source proc\n");
    b += "10.0.3.1 10.0.8.21 6 41000 21 10.0.8.21 21 14 0 0 -\n";
    for i in 0..3 {
        b += &format!("10.0.3.1 10.0.1.200 6 4100{i} 11211 10.0.1.200 11211 14 0 0 -\n");
        b += &format!("10.0.3.1 10.0.1.201 17 4200{i} 11211 10.0.1.201 11211 8 0 0 -\n");
    }
    for i in 0..4 {
        b += &format!(
            "192.168.5.1 192.168.5.{d} 17 3300{i} 4789 192.168.5.{d} 4789 8 0 0 -\n",
            d = 2 + i
        );
    }
    b += "fd00::1 fd00::2 58 - - fd00::2 - 8 0 0 -\n";
    // The DNAT's endpoint, seen untranslated where it runs: not suggested
    // either.
    for i in 0..2 {
        b += &format!("10.0.2.9 10.0.1.50 17 5000{i} 5353 10.0.1.50 5353 8 0 0 -\n");
    }
    std::fs::write(dumps.join(ino("b").to_string()), b).unwrap();
    let run = |args: &[&str]| {
        let own = p.d.0.join("proc/self");
        std::fs::create_dir_all(own.join("ns")).unwrap();
        if !own.join("ns/net").exists() {
            std::fs::write(own.join("ns/net"), "").unwrap();
        }
        Command::new(env!("CARGO_BIN_EXE_ctskipctl"))
            .arg("suggest")
            .args(args)
            .env("CTSKIP_PROC_ROOT", p.d.0.join("proc"))
            .env("CTSKIP_RUN_NETNS", p.d.0.join("run"))
            .env("CTSKIP_CT_DUMPS", &dumps)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let s = out(&o);
    let rules: Vec<&str> = s.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(rules.len(), 4, "{s}");
    assert!(
        rules[0].starts_with("ip udp daddr 10.0.1.0/24 dport 11211 ")
            && rules[0].ends_with("# 8 entries in 2 netns"),
        "{s}"
    );
    assert!(
        rules[1].starts_with("ip udp daddr 192.168.5.0/24 dport 4789 ")
            && rules[1].ends_with("# 4 entries in 1 netns"),
        "{s}"
    );
    assert!(
        rules[2].starts_with("ip tcp daddr 10.0.1.0/24 dport 11211 ")
            && rules[2].ends_with("# 3 entries in 1 netns"),
        "{s}"
    );
    assert!(
        rules[3].starts_with("ip6 icmpv6 daddr fd00::/64 ")
            && rules[3].ends_with("# 1 entry in 1 netns"),
        "{s}"
    );
    assert!(s.contains("# not suggested: ip udp daddr 10.96.0.0/24 dport 53 (6 entries in 1 netns, 6 of them): DNATed: a Service VIP, do not skip"), "{s}");
    assert!(s.contains("# not suggested: ip tcp daddr 10.0.9.0/24 dport 21 (1 entry in 1 netns, 1 of them): has the conntrack helper ftp"), "{s}");
    assert!(s.contains("# not suggested: ip udp daddr 10.0.1.0/24 dport 5353 (2 entries in 1 netns, 2 of them): the endpoint of DNATed traffic (10.96.0.10 port 53 -> 10.0.1.50 port 5353)"), "{s}");
    assert!(s.contains("# not suggested: ip tcp daddr 10.0.8.0/24 dport 21 (1 entry in 1 netns, 1 of them): may have the conntrack helper ftp (its port; /proc/net/nf_conntrack does not show helpers)"), "{s}");
    assert!(s.contains("# read with libnetfilter_conntrack: 1, from /proc/net/nf_conntrack: 1 (it shows no helpers"), "{s}");
    assert!(s.contains("# not suggested: ip tcp daddr 10.0.9.0/24 dport 80 (1 entry in 1 netns, 1 of them): carries a conntrack mark"), "{s}");
    // The output is valid input for check (and so load).
    let f = p.d.file("suggested", &s);
    let c = p.d.run(&["check", f.to_str().unwrap()]);
    assert_eq!(
        out(&c),
        format!("{}: 4 rules, OK\n", f.display()),
        "{}",
        err(&c)
    );
    // --top 1, --netns by name.
    let o = run(&["--top", "1", "--netns", "blue"]);
    let s = out(&o);
    assert_eq!(s.lines().filter(|l| !l.starts_with('#')).count(), 1, "{s}");
    assert!(
        s.contains("ip udp daddr 192.168.5.0/24 dport 4789")
            || s.contains("ip udp daddr 10.0.1.0/24 dport 11211"),
        "{s}"
    );
    assert!(!s.contains("10.96.0.0"), "{s}");
    let o = run(&["--netns", "nosuch"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("no network namespace \"nosuch\""),
        "{}",
        err(&o)
    );
}
