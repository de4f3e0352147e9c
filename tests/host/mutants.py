#!/usr/bin/env python3
"""Hand-written mutation testing of the kernel-free core (src/rules), the
scripted stand-in for `cargo mutants` (not installed here).

  tests/host/mutants.py [ID...]        default: every mutant below

Each mutant replaces one exact snippet of one file of src/rules. The run
works on a copy (src/ and tests/host/ copied to a temporary directory with
the same layout, its own target directory), so the working tree's src/ is
never written, whatever happens to the run. For each mutant, `cargo test
--release --offline` runs over the copy: a failing test kills the mutant, a
build error makes it unviable, a clean pass lets it survive. Results go to
stdout, one line per mutant, and a summary; docs/MUTANTS.md records them.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

# (id, file under src/rules, exact snippet, replacement, what it breaks)
MUTANTS = [
    # rule.rs: the reverse direction and the naive matcher (the linear path).
    ("R1", "rule.rs", "            iif: self.oif,\n            oif: self.iif,\n", "",
     "reversed() keeps iif/oif (no device swap)"),
    ("R2", "rule.rs", "            sport: self.dport,\n            dport: self.sport,\n", "",
     "reversed() keeps the ports"),
    ("R3", "rule.rs", "            saddr: self.daddr,\n            daddr: self.saddr,\n", "",
     "reversed() keeps the addresses"),
    ("R4", "rule.rs", "(!self.oneway && self.reversed().matches_forward(k))", "self.reversed().matches_forward(k)",
     "oneway ignored by the naive matcher"),
    ("R5", "rule.rs", "self.lo <= p && p <= self.hi", "self.lo <= p && p < self.hi",
     "port range end off by one"),
    ("R6", "rule.rs", "self.lo <= p && p <= self.hi", "self.lo < p && p <= self.hi",
     "port range start off by one"),
    ("R7", "rule.rs", "    if len == 0 {\n        return 0;\n    }\n    let ones", "    if len <= 1 {\n        return 0;\n    }\n    let ones",
     "prefix mask of /1 is /0"),
    ("R8", "rule.rs", "(ones >> (width - len)) << (width - len)", "(ones >> (width - len)) << (width - len) & !1",
     "prefix mask drops the last address bit"),
    ("R9", "rule.rs", "        if self.needs_ports() && !k.has_ports {\n            return false;\n        }\n", "",
     "port rules match packets whose ports were not read"),
    ("R10", "rule.rs", "            Family::V4 if v6 => return false,\n", "",
     "ip rules match IPv6 packets"),
    ("R11", "rule.rs", "            if n != k.iif {", "            if n != k.oif {",
     "iif compared with the output device"),
    ("R12", "rule.rs", "u128::from(u32::MAX)", "u128::MAX",
     "IPv4 prefix mask spills into the upper 96 bits"),
    # classify.rs and its parts (shape.rs, intervals.rs, flat.rs): the
    # compiled path (more than 4 rules), and its bounds.
    ("C1", "classify.rs", "        if !r.oneway && rev != *r {\n            push(&rev, REV)?;", "        if !r.oneway && rev == *r {\n            push(&rev, REV)?;",
     "compiled: reverse variant dropped"),
    ("C2", "classify.rs", "        if !r.oneway && rev != *r {\n            push(&rev, REV)?;", "        if r.oneway && rev != *r {\n            push(&rev, REV)?;",
     "compiled: oneway inverted"),
    ("C3", "intervals.rs", "            if hi < top {\n                b.push(hi.after())?;", "            if hi < top {\n                b.push(hi)?;",
     "compiled: interval end off by one"),
    ("C4", "intervals.rs", "            Some(h) if h.start <= x => hi,", "            Some(h) if h.start < x => hi,",
     "compiled: interval search off by one"),
    ("C5", "classify.rs", "                if t.min_rule >= best {\n                    break;\n                }", "                if best != NONE {\n                    break;\n                }",
     "compiled: stops at the first table that matches (not the earliest rule)"),
    ("C6", "classify.rs", "                if t.needs_ports && !k.has_ports() {\n                    continue;\n                }\n", "",
     "compiled: port tables probed for packets without ports"),
    ("C7", "classify.rs", "let a = w.get(self.hi.0, self.hi.1) ^ w.get(self.lo.0, self.lo.1).rotate_left(32);", "let a = w.get(self.hi.0, u64::MAX) ^ w.get(self.lo.0, u64::MAX).rotate_left(32);",
     "compiled: address prefilter without the prefix mask"),
    ("C8", "flat.rs", "            && (n & IIF == 0 || k.iif.0 == self.iif)", "            && (n & IIF == 0 || k.oif.0 == self.iif)",
     "compiled: a small shape's iif looked up in the output device"),
    ("C9", "classify.rs", "        sort::sort_by::<A, _, _>(&mut self.order[off..], |a, b| {\n            key(a).cmp(&key(b)).then(a.cmp(b))\n        });\n", "",
     "compiled: tables not probed in rule order"),
    ("C10", "classify.rs", "            [run(0, 256), run(fam, 256), own(0), own(fam)]", "            [Span::default(), run(fam, 256), Span::default(), own(fam)]",
     "compiled: family-free tables never probed"),
    ("C11", "classify.rs", "if b.sport.contains(k.sport) && b.dport.contains(k.dport) {", "if b.sport.contains(k.sport) || b.dport.contains(k.dport) {",
     "compiled: two-range boxes match on either port"),
    ("C12", "intervals.rs", "                b.binary_search(&hi.after()).unwrap_or(m)", "                b.binary_search(&hi).unwrap_or(m)",
     "compiled: painted interval stops one bound early"),
    ("C13", "classify.rs", "set_bits(bits, (lo >> f.shift) as usize, (hi >> f.shift) as usize);", "set_bits(bits, (lo >> f.shift) as usize, (lo >> f.shift) as usize);",
     "compiled: a port range's prefilter marks its first value only"),
    ("C14", "classify.rs", "                t.reads = far + 1;", "                t.reads = far;",
     "compiled: a probe stops one slot short of the farthest key"),
    ("C15", "classify.rs", "pub const LINEAR_MAX: usize = 4;", "pub const LINEAR_MAX: usize = 0;",
     "every set compiled"),
    ("C16", "flat.rs", "        if d.needs_ports() {\n            mask |= H_PORTS;\n            value |= H_PORTS;\n        }\n", "",
     "compiled: a small shape's ports match packets whose ports were not read"),
    ("C17", "intervals.rs", "        (u128::from(self.hi) << 64) | u128::from(self.lo)", "        u128::from(self.lo)",
     "compiled: IPv6 intervals compared on their low half"),
    ("C18", "shape.rs", "    let m = prefix_mask(v6, len);\n    let hi", "    let m = prefix_mask(v6, 128);\n    let hi",
     "compiled: hashed prefixes (and prefilters) not masked"),
    ("C19", "classify.rs", "                if count <= MAX_TABLES {", "                if count < MAX_TABLES {",
     "bounds: a bucket of exactly MAX_TABLES tables refused"),
    ("C20", "classify.rs", "                if let Some(v) = group.get(MAX_BOXES) {", "                if let Some(v) = group.get(MAX_BOXES - 1) {",
     "bounds: a key of exactly MAX_BOXES boxes refused"),
    ("C21", "classify.rs", "                if count <= MAX_TABLES {", "                if count <= MAX_TABLES + 1 {",
     "bounds: one table more than MAX_TABLES accepted"),
    ("C22", "classify.rs", "u64::from(b) + (p % PORT_BLOCK) as u64", "u64::from(b) + ((p + 1) % PORT_BLOCK) as u64",
     "compiled: a port table's payload one port off"),
    ("C23", "classify.rs", "port: if shape.hashed == H_SPORT { 16 } else { 0 },", "port: if shape.hashed == H_SPORT { 0 } else { 16 },",
     "compiled: a port table reads the other port"),
    ("C24", "classify.rs", "(usize::from(p.lo >> 8), usize::from(p.hi >> 8))", "(usize::from(p.lo >> 8), usize::from(p.lo >> 8))",
     "compiled: a shared port prefilter marks a range's first cell only"),
    ("C25", "classify.rs", "        Some(p) if prefix_holds(p, mask) => {", "        Some(p) => {",
     "compiled: a shared address prefilter puts a shorter prefix in one cell"),
    ("C26", "classify.rs", "                b.fields |= field;", "                b.fields |= 0;",
     "compiled: no shared prefilter (cost only)"),
    ("C27", "classify.rs", "                && t1 - t0 >= PORT_TABLE\n", "                && t1 - t0 >= 1 << 20\n",
     "compiled: no port table (cost and memory only)"),
    ("C28", "classify.rs", "Some(a) if a[f].0 == len + 1 => a[f].1,", "Some(a) if a[f].0 != 0 => a[f].1,",
     "compiled: an entry's address cells reused for another mask length"),
    ("C29", "classify.rs", "self.masks.push(if tells { c | always }", "self.masks.push(if tells { c }",
     "compiled: entries in every cell left out of the shared prefilters"),
    ("C30", "classify.rs", "const MASK_BYTES: usize = 64 << 10;", "const MASK_BYTES: usize = 1 << 30;",
     "compiled: no budget for the shared prefilters (memory only)"),
    ("C31", "classify.rs", "self.is_ports && self.needs_ports && self.shape.res == RES_RULE", "self.is_ports && self.needs_ports",
     "lookup: a port table whose payload names more than a rule answered by the port alone"),
    ("C32", "classify.rs", "        if k.has_ports() {\n            let ports", "        if true {\n            let ports",
     "lookup: port tables probed for a packet without ports"),
    ("C33", "classify.rs", "fold_cell(a as u64 & mask as u64)", "fold_cell(a as u64)",
     "lookup: an IPv4 address cell hashes the whole address, not its bits in the mask"),
    ("C34", "classify.rs", "                        bit: 1 << i,", "                        bit: 1 << (i + 1),",
     "compiled: a port-alone entry takes the next entry's prefilter bit"),
    ("C35", "classify.rs", "        c.plan_direct();\n", "",
     "compiled: no port-alone entries (cost only: every entry through the general loop)"),
    ("C36", "classify.rs", "        if rest != 0 {", "        if rest != 0 && best == NONE {",
     "lookup: the other entries skipped once a port-alone table matched (an earlier rule there lost)"),
    ("C37", "classify.rs", "        self.this = [0; 3];\n", "",
     "cost: a probe's slots, steps and boxes not started afresh (each probe counted with those before it)"),
    ("C38", "classify.rs", "        self.probe_boxes = self.probe_boxes.max(self.this[2]);\n", "",
     "cost: the most boxes one probe tried never recorded (the per-probe bound checked against 0)"),
    ("C39", "classify.rs", "            .find(|t| h.0 & t.mask == t.value)", "            .find(|t| h.0 & t.mask & !0xffff_0000 == t.value & !0xffff_0000)",
     "head lookup: the source port ignored (a rule naming one matches any; on a little-endian host)"),
    ("C40", "classify.rs", "            if c.flat.iter().all(|f| f.rest == 0) {", "            if c.flat.iter().any(|f| f.rest == 0) {",
     "head lookup used for a small set with a port range or an address"),
    ("C41", "key.rs", "            Some(p) => (H_PORTS, p),", "            Some(p) => (0, p),",
     "head: ports read but not flagged (rules needing ports never match by head)"),
    ("C42", "classify.rs", "                    self.masks.push(if tells { c | always } else { u64::MAX })?;", "                    self.masks.push(if tells { c | always } else { 0 })?;",
     "shared prefilters: a field that does not tell the entries apart skips them all"),
    ("C43", "classify.rs", "            & cells[3 * CELLS + bucket_cell(V6, k.daddr(), b.dmask)]", "            & cells[3 * CELLS + bucket_cell(V6, k.saddr(), b.dmask)]",
     "shared prefilters: the destination address's cell taken from the source address"),
    ("C44", "classify.rs", "            if list.len() >= 2 && !(list.len() <= DIRECT && list.iter().all(alone)) {", "            if list.len() >= 2 {",
     "shared prefilters built for a bucket of two port-alone entries (S10k's cost grows)"),
    ("C45", "classify.rs", "                flats |= 1 << i;", "                flats |= 1 << (i + 1);",
     "compiled: a bucket's flat tests marked one entry off (tables read as flat tests)"),
    ("C46", "classify.rs", "if f.matches_head(h) && (f.rest == 0 || flat_rest(f, whole(k, &mut key))) {", "if f.matches_head(h) {",
     "lookup: a large set's flat test ignores the fields after the packed word"),
    ("C47", "classify.rs", "        let mut mt = m & !b.flats;", "        let mut mt = m & !b.flats & !1;",
     "lookup: a bucket's first table never probed"),
    ("C48", "classify.rs", "                if f.rule >= best {\n                    break;\n                }", "                if best != NONE {\n                    break;\n                }",
     "lookup: a large set's flat tests stop at any match found before them (not the earliest rule)"),
    ("C49", "classify.rs", "            if kept > 0 {\n                b.masks = off as u32;", "            if kept > 1 {\n                b.masks = off as u32;",
     "shared prefilters: a bucket that one field alone tells apart gets none (cost only)"),
    # sort.rs: the heapsort the build uses (no recursion on the kernel stack).
    ("SO1", "sort.rs", "        if child + 1 < end && cmp(&v[child], &v[child + 1]) == Ordering::Less {", "        if child + 1 < end && cmp(&v[child], &v[child + 1]) == Ordering::Greater {",
     "sort: sift-down follows the smaller child"),
    ("SO2", "sort.rs", "    for start in (0..n / 2).rev() {", "    for start in 0..n / 2 {",
     "sort: heap built top-down"),
    ("SO3", "sort.rs", "    for end in (1..n).rev() {\n        v.swap(0, end);\n        sift_down(v, 0, end, &mut cmp);", "    for end in (1..n).rev() {\n        v.swap(0, end);\n        sift_down(v, 0, end - 1, &mut cmp);",
     "sort: the heap shrinks one too many"),
    # parse.rs: the rule language.
    ("P1", "parse.rs", "(lo <= hi).then_some(PortRange { lo, hi })", "(lo < hi).then_some(PortRange { lo, hi })",
     "N-N refused"),
    ("P2", "parse.rs", "            addr: addr & prefix_mask(v6, len),", "            addr,",
     "host bits kept"),
    ("P3", "parse.rs", "        if n > max {", "        if n > max + 1 {",
     "numbers one past the maximum accepted"),
    ("P4", "parse.rs", "        && w.len() <= IFNAME_MAX\n        && w != b\".\"", "        && w.len() < IFNAME_MAX\n        && w != b\".\"",
     "15-byte interface names refused"),
    ("P5", "parse.rs", "        (Some(PROTO_ICMP), Some(w)) => imply(Family::V4, w)?,\n", "",
     "icmp does not imply ip"),
    ("P6", "parse.rs", "        if !r.proto.is_some_and(proto_has_ports) {", "        if r.proto.is_none() {",
     "ports allowed with any protocol"),
    ("P7", "parse.rs", "        if seen[slot] {\n            return Err(err(", "        if seen[slot] && slot != 0 {\n            return Err(err(",
     "ip and ip6 both accepted"),
    ("P8", "parse.rs", "    if !seen[..8].iter().any(|&s| s) {", "    if !seen.iter().any(|&s| s) {",
     "oneway alone is a rule"),
    ("P9", "parse.rs", "if let Some(c) = line.iter().position(|&b| b == b'#') {", "if let Some(c) = line.iter().position(|&b| b == b'$') {",
     "no comments"),
    ("P10", "parse.rs", "    matches!(b, b' ' | b'\\t' | b'\\r' | 0x0b | 0x0c)", "    matches!(b, b' ' | b'\\r' | 0x0b | 0x0c)",
     "tab is not a blank"),
    ("P11", "parse.rs", "(u128::from(a.parse::<Ipv6Addr>().ok()?), true, 128)", "(u128::from(a.parse::<Ipv6Addr>().ok()?), true, 64)",
     "IPv6 prefixes longer than /64 refused"),
    ("P12", "parse.rs", "            Some(i) => parse_num(&w[..i], 65535).is_some() && digits_upto(&w[i + 1..], 65535),", "            Some(i) => parse_num(&w[..i], 65535).is_some(),",
     "could_continue: any end of a port range held"),
    ("P13", "parse.rs", "                || (b\"oneway\".starts_with(w) && !seen[ONEWAY_SLOT]);", ";",
     "could_continue: a cut `oneway` refused"),
    ("P14", "parse.rs", "        (Some(PROTO_ICMPV6), Some(w)) => imply(Family::V6, w)?,\n", "",
     "icmpv6 does not imply ip6"),
    ("P15", "parse.rs", "        && w.iter()\n            .all(|&b| (0x21..0x7f).contains(&b) && b != b'/' && b != b':')\n}", "        && w.iter()\n            .all(|&b| (0x21..0x7f).contains(&b) && b != b'/')\n}",
     "':' allowed in interface names"),
    ("P16", "parse.rs", "    if (seen[4] || seen[5]) && ports_proto == Some(false) {\n        return false;\n    }\n", "",
     "could_continue: ports after a protocol without ports held"),
    ("P17", "parse.rs", "        1 => parse_num(w, 255).is_some(),\n        2 | 3 => {\n            w.len() <= 49", "        1 => true,\n        2 | 3 => {\n            w.len() <= 49",
     "could_continue: any cut protocol number held"),
    # print.rs: the canonical form.
    ("PR1", "print.rs", "        if p.len != if v6 { 128 } else { 32 } {", "        if p.len != 128 {",
     "IPv4 /32 printed"),
    ("PR2", "print.rs", "        if self.lo == self.hi {", "        if false {",
     "single port printed as N-N"),
    ("PR3", "print.rs", "            Family::V4 => word(f, format_args!(\"ip\"))?,", "            Family::V4 => {}",
     "ip family not printed"),
    # set.rs: replace, add, del.
    ("S1", "set.rs", "        if idx.find(&rules, &r).is_some() {\n            // Already listed", "        if false {\n            // Already listed",
     "replace keeps repeated rules"),
    ("S2", "set.rs", "            None => return Err(RulesError::NotFound(*r)),", "            None => {}",
     "del of an absent rule succeeds"),
    ("S3", "set.rs", "    if new.len() > MAX_RULES {", "    if new.len() > MAX_RULES + 1 {",
     "replace allows 65537 rules"),
    ("S4", "set.rs", "    if old.len() + fresh > MAX_RULES {", "    if old.len() + fresh >= MAX_RULES {",
     "add refuses the 65536th rule"),
]


def run(cmd, cwd, env, timeout):
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")


def main():
    want = set(sys.argv[1:])
    work = tempfile.mkdtemp(prefix="ctskip-mutants-")
    shutil.copytree(os.path.join(ROOT, "src"), os.path.join(work, "src"))
    shutil.copytree(os.path.join(ROOT, "tests", "host"), os.path.join(work, "tests", "host"),
                    ignore=shutil.ignore_patterns("target"))
    host = os.path.join(work, "tests", "host")
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "target"))
    cmd = ["cargo", "test", "--release", "--offline", "-q", "--no-fail-fast"]
    rc, out = run(cmd, host, env, 1800)
    if rc != 0:
        print(out[-3000:])
        sys.exit("the unmutated tests fail: fix that first")
    results = []
    for mid, f, old, new, what in MUTANTS:
        if want and mid not in want:
            continue
        path = os.path.join(work, "src", "rules", f)
        with open(path) as fh:
            orig = fh.read()
        n = orig.count(old)
        if n != 1:
            results.append((mid, "NOT APPLIED", f"snippet found {n} times", what))
            print(f"{mid:5} NOT APPLIED ({n} matches)  {what}", flush=True)
            continue
        with open(path, "w") as fh:
            fh.write(orig.replace(old, new))
        t0 = time.time()
        rc, out = run(cmd, host, env, 900)
        with open(path, "w") as fh:
            fh.write(orig)
        if rc == 0:
            verdict, why = "SURVIVED", ""
        elif rc == "timeout":
            verdict, why = "KILLED", "timeout"
        elif "error[E" in out or "could not compile" in out:
            verdict, why = "UNVIABLE", "does not build"
        else:
            verdict = "KILLED"
            failed = [l.split()[1] for l in out.splitlines() if l.startswith("test ") and l.rstrip().endswith("FAILED")]
            failed += [l.strip().split("---- ")[1].split(" ")[0] for l in out.splitlines() if l.startswith("---- ")]
            why = ", ".join(sorted(set(failed))) or "a test failed"
        results.append((mid, verdict, why, what))
        print(f"{mid:5} {verdict:9} {time.time() - t0:5.0f}s  {what}  [{why}]", flush=True)
    killed = sum(r[1] == "KILLED" for r in results)
    viable = sum(r[1] in ("KILLED", "SURVIVED") for r in results)
    print(f"\n{killed} of {viable} viable mutants killed; "
          f"survivors: {' '.join(r[0] for r in results if r[1] == 'SURVIVED') or 'none'}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
