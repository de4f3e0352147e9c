#!/usr/bin/env python3
"""The benchmark's CSVs and docs/BENCHMARKS.md's tables (scripts/bench).

  report.py pktgen TXT META PKTGEN_CSV TARGETS_CSV
      from guest-pktgen.sh's "CONFIG RATE" lines: docs/bench/pktgen.csv
      (rate, instructions per packet, over L, ratio to L) and targets.csv
      (each target of the benchmark issue, its figure and whether it is met);
      META is "commit,kernel,kernel_config,date" (kernel_config: the hash
      of the kernel's .config), added to every row. Fails if a
      configuration is missing.
  report.py limits DIR TXT META PKTGEN_CSV LIMITS_CSV
      the adversarial families at the bounds: from tests/bench/limits's
      DIR/*.host (the host's verdict and the most work one lookup did) and
      guest-pktgen.sh's "LIMIT" lines in TXT (the kernel's errno and log
      line for each whole text, the part loaded), with the parts' cost over
      L from PKTGEN_CSV: docs/bench/limits.csv. Fails if a family is
      missing, or a whole text the host refuses is not refused in the guest
      with ENOSPC, its line and the set unchanged.
  report.py markdown DIR MD
      rewrites MD's generated tables (between "<!-- generated: NAME -->" and
      "<!-- end generated -->") from DIR's CSVs, so no figure is typed.
"""
import csv
import sys

CONFIGS = [
    ("L", "conntrack not active"),
    ("E", "empty nft base chain at -300"),
    ("C", "conntrack active, every packet a new flow"),
    ("Nbare", "nft `notrack` (no match: every packet)"),
    ("N1", "nft `udp dport 53 notrack`"),
    ("Nset", "nft `udp dport @ports notrack`, 10,000-element set"),
    ("N10k", "nft, 10,000 linear rules of 7 shapes (inet table, both families)"),
    ("I1", "iptables-legacy raw `-p udp --dport 53 -j CT --notrack`"),
    ("I10k", "iptables-legacy raw, the IPv4 rules of the same 10,000"),
    ("S0", "ctskip loaded, no rules (conntrack tracks everything)"),
    ("S1", "ctskip, `udp dport 53`"),
    ("S10k", "ctskip, 10,000 `udp dport N`, the match last"),
    ("S10kmix", "ctskip, 10,000 rules of 7 shapes, both families, the match last"),
    ("Sworst", "ctskip, the issue's adversarial family (prefix pairs) cut at the bounds, the match last"),
    ("Sadv", "ctskip, a family built against the shared prefilters, cut at the bounds, the match last (the worst case known)"),
    ("Sboxes", "ctskip, 64 overlapping port-range boxes cut at the bounds (16), the match last"),
    ("Severy", "ctskip, 65,536 rules of every shape cut at the bounds, the match last"),
    ("S65kmix", "ctskip, 65,536 rules of the 7 shapes of S10kmix (accepted whole), the match last"),
    ("H1", "ctskip, 1 matching rule, conntrack not active (the hook alone)"),
    ("H0", "ctskip, 1 rule matching nothing, conntrack not active"),
    ("S1notrace", "S1 with the module built without its trace events (CTSKIP_NOTRACE=1)"),
    ("H0notrace", "H0 with the module built without its trace events (CTSKIP_NOTRACE=1)"),
]
META = ["commit", "kernel", "kernel_config", "date"]


def pktgen(txt, meta, out_csv, out_targets):
    rates = {}
    for line in open(txt):
        p = line.split()
        if len(p) == 2 and p[1].isdigit():
            rates[p[0]] = int(p[1])
    missing = [k for k, _ in CONFIGS if k not in rates or rates[k] <= 0]
    if missing:
        sys.exit(f"report.py: no rate for {', '.join(missing)}")
    instr = {k: 1e9 / r for k, r in rates.items()}
    L = instr["L"]
    m = meta.split(",")
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["config", "description", "rate_pps", "instructions_per_packet", "over_L", "ratio_to_L"] + META)
        for k, d in CONFIGS:
            w.writerow([k, d, rates[k], f"{instr[k]:.0f}", f"{instr[k] - L:.0f}", f"{rates[k] / rates['L']:.3f}"] + m)
    over = {k: instr[k] - L for k in instr}
    r = rates
    # The benchmark issue's targets, as ratios of packets per second (or
    # instructions where it says so).
    targets = [
        ("S1 > N1 (ahead of nft at one equal rule)", f"{r['S1'] / r['N1']:.3f}", "> 1", r["S1"] > r["N1"]),
        ("S1 > I1 (ahead of iptables at one equal rule)", f"{r['S1'] / r['I1']:.3f}", "> 1", r["S1"] > r["I1"]),
        ("S1 >= 0.90 L", f"{r['S1'] / r['L']:.3f}", ">= 0.90", r["S1"] >= 0.90 * r["L"]),
        ("S10k >= 0.97 S1", f"{r['S10k'] / r['S1']:.3f}", ">= 0.97", r["S10k"] >= 0.97 * r["S1"]),
        ("S10kmix >= 0.97 S1", f"{r['S10kmix'] / r['S1']:.3f}", ">= 0.97", r["S10kmix"] >= 0.97 * r["S1"]),
        ("S10kmix >= Nset", f"{r['S10kmix'] / r['Nset']:.3f}", ">= 1", r["S10kmix"] >= r["Nset"]),
        ("Sworst over L <= 2 x S1 over L (instructions): the issue's adversarial family", f"{over['Sworst'] / over['S1']:.2f}", "<= 2", over["Sworst"] <= 2 * over["S1"]),
        ("Sadv over L <= 2 x S1 over L (instructions): the worst-case accepted set known", f"{over['Sadv'] / over['S1']:.2f}", "<= 2", over["Sadv"] <= 2 * over["S1"]),
        ("H0 over L <= 60 instructions (a packet matching nothing, the hook alone)", f"{over['H0']:.0f}", "<= 60", over["H0"] <= 60),
        ("disabled ctskip:untrack (a match): S1 - S1notrace <= 5 instructions", f"{instr['S1'] - instr['S1notrace']:.0f}", "<= 5",
         instr["S1"] - instr["S1notrace"] <= 5),
        ("disabled ctskip:skip (no match): H0 - H0notrace <= 5 instructions", f"{instr['H0'] - instr['H0notrace']:.0f}", "<= 5",
         instr["H0"] - instr["H0notrace"] <= 5),
    ]
    with open(out_targets, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["target", "figure", "bound", "met"] + META)
        for t in targets:
            w.writerow([t[0], t[1], t[2], "met" if t[3] else "short"] + m)
    print(open(out_csv).read())
    print(open(out_targets).read())


LIMITS = [
    ("worst", "v4", "Sworst", "`ip saddr P/A daddr Q/B oneway`, A in 1..32, B in 17..32, over the packets' addresses"),
    ("adversarial", "v4", "Sadv", "built against the shared prefilters (Sadv's family)"),
    ("v6pairs", "v6", "", "`ip6 saddr P/A daddr Q/B oneway`, A in 1..128, B in 113..128, over the IPv6 packet's addresses"),
    ("boxes", "v4", "Sboxes", "64 overlapping `udp sport A-B dport C-D oneway` boxes holding the packets' source ports"),
    ("every", "v4", "Severy", "65,536 rules cycling through the language's fields: no family, ip, ip6; 8 protocols or none; each port absent, exact or a range; prefixes of many lengths; iif, oif; `oneway`"),
    ("mix65k", "v4", "S65kmix", "65,536 rules of S10kmix's 7 shapes, both families"),
]
BOUND_KEYS = ["tables", "slots", "steps", "boxes", "flats"]


def limits(d, txt, meta, pktgen_csv, out_csv):
    guest = {}
    for line in open(txt):
        p = line.rstrip("\n").split(" ", 3)
        if len(p) >= 3 and p[0] == "LIMIT":
            guest.setdefault(p[1], {})[p[2]] = p[3] if len(p) > 3 else ""
    over = {r["config"]: r["over_L"] for r in csv.DictReader(open(pktgen_csv))}
    m = meta.split(",")
    rows, bad = [], []
    for fam, packet, cfg, what in LIMITS:
        host = {}
        for line in open(f"{d}/{fam}.host"):
            if line.startswith("whole "):
                host["whole"] = line[len("whole "):].strip()
            else:
                p = line.split()
                host[p[0]] = dict(zip(p[1::2], p[2::2])) if p[0] != "accepted" else p[1]
        g = guest.get(fam)
        if not g:
            sys.exit(f"report.py: no guest LIMIT lines for {fam}")
        refused = host["whole"].startswith("refused")
        why = host["whole"][len("refused: "):] if refused else ""
        if refused and (g.get("whole") != "refused" or g.get("error") != "No space left on device"
                        or not g.get("line", "").endswith(f": {why} (ENOSPC)") or g.get("unchanged") != "yes"):
            bad.append(f"{fam}: the host refuses it, the guest answered {g}")
        if not refused and g.get("whole") != "accepted":
            bad.append(f"{fam}: the host accepts it, the guest answered {g}")
        if g.get("part") != host["accepted"]:
            bad.append(f"{fam}: part of {host['accepted']} rules, the guest loaded {g.get('part')}")
        cost, bound = host["cost"], host["bound"]
        within = all(int(cost[k]) <= int(bound[k]) for k in BOUND_KEYS)
        if not within:
            bad.append(f"{fam}: {cost} past {bound}")
        whole = sum(1 for _ in open(f"{d}/{fam}.whole"))
        rows.append([fam, what, packet, whole, "refused" if refused else "accepted", g.get("line", ""), host["accepted"], cost["packets"]]
                    + [cost[k] for k in BOUND_KEYS] + ["yes" if within else "no", cfg, over.get(cfg, "")] + m
                    + [bound[k] for k in BOUND_KEYS])
    with open(out_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["family", "description", "packet", "rules", "whole", "kernel_line", "accepted_rules", "packets"]
                   + [f"most_{k}" for k in BOUND_KEYS] + ["within_bounds", "pktgen_config", "over_L"] + META
                   + [f"bound_{k}" for k in BOUND_KEYS])
        w.writerows(rows)
    print(open(out_csv).read())
    if bad:
        sys.exit("report.py: limits: " + "; ".join(bad))


def num(s):
    return f"{int(float(s)):,}"


def tables(d):
    rows = list(csv.DictReader(open(f"{d}/pktgen.csv")))
    first = rows[0]
    t = {}
    out = [f"Commit {first['commit']}, kernel {first['kernel']} (config {first['kernel_config']}), {first['date']}.", "",
           "| config | what | packets/s | instr/packet | over L | ratio to L |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        b = "**" if r["config"].startswith("S") and r["config"] not in ("S0", "S1notrace") else ""
        out.append(f"| {b}{r['config']}{b} | {r['description']} | {num(r['rate_pps'])} | {num(r['instructions_per_packet'])} | "
                   f"{int(r['over_L']):+,} | {r['ratio_to_L']} |")
    t["pktgen"] = out
    tg = list(csv.DictReader(open(f"{d}/targets.csv")))
    out = ["| target | figure | bound | met? |", "|---|---:|---|---|"]
    for r in tg:
        out.append(f"| {r['target']} | {r['figure']} | {r['bound']} | {'**met**' if r['met'] == 'met' else 'short'} |")
    t["targets"] = out
    cls = list(csv.DictReader(open(f"{d}/classifier.csv")))
    out = ["| rules | tables | ctskip classifier | naive reference (linear) |", "|---:|---:|---:|---:|"]
    for r in cls:
        out.append(f"| {num(r['rules'])} | {r['tables']} | {num(r['classifier_instructions_per_lookup'])} | "
                   f"{num(r['reference_instructions_per_lookup'])} |")
    out += ["", f"Commit {cls[0]['commit']}, {cls[0]['date']} (host, callgrind)."]
    t["classifier"] = out
    sc = {r["measure"]: r for r in csv.DictReader(open(f"{d}/scale.csv"))}
    v = {k: int(r["value"]) for k, r in sc.items()}
    out = ["| | flows that worked (of {:,}) | lost | conntrack entries (all netns) | most in one netns | \"table full\" log lines |".format(
        v["tablefull_flows_wanted"]), "|---|---:|---:|---:|---:|---:|"]
    for side, what in (("without", "without ctskip"), ("with", "with ctskip (`tcp dport 7000; udp dport 7001`)")):
        out.append(f"| {what} | {v[f'tablefull_{side}_flows_ok']:,} | {v[f'tablefull_{side}_flows_lost']:,} | "
                   f"{v[f'tablefull_{side}_conntrack_total']:,} | {v[f'tablefull_{side}_conntrack_max_netns']:,} | "
                   f"{v[f'tablefull_{side}_log_lines']:,} |")
    any_row = next(iter(sc.values()))
    out += ["", f"{v['tablefull_netns']} netns; commit {any_row['commit']}, kernel {any_row['kernel']}, {any_row['date']}."]
    t["scale"] = out
    t["memory"] = [
        "| measure | bytes |", "|---|---:|",
        f"| per netns (loading ctskip with {v['memory_netns_count']:,} netns present) | {v['memory_per_netns_bytes']:,} |",
        f"| per rule (adding {v['memory_rules']:,} rules) | {v['memory_per_rule_bytes']:,} |",
    ]
    lim = list(csv.DictReader(open(f"{d}/limits.csv")))
    out = ["| family (rules, the match last) | whole text: the guest kernel's answer | part accepted (rules) | host: most one lookup did, tables / slots a probe / "
           "steps a probe / boxes a probe / flat tests | host: within the bounds | guest: part's cost over L (pktgen, instructions) |",
           "|---|---|---:|---|---|---:|"]
    for r in lim:
        ans = "accepted" if r["whole"] == "accepted" else f"ENOSPC: `{r['kernel_line']}`"
        cost = " / ".join(r[f"most_{k}"] for k in BOUND_KEYS)
        pk = f"{r['pktgen_config']} {int(r['over_L']):+,}" if r["pktgen_config"] else "– (IPv6: host only)"
        out.append(f"| {r['family']}: {r['description']} ({num(r['rules'])}) | {ans} | {num(r['accepted_rules'])} | {cost} | "
                   f"{'**yes**' if r['within_bounds'] == 'yes' else 'NO'} | {pk} |")
    b = lim[0]
    out += ["", f"Bounds (README, as classify-bench reads them from the code): {b['bound_tables']} tables, {b['bound_slots']} slots a probe, "
            f"{b['bound_steps']} steps a probe, {b['bound_boxes']} boxes a probe, {b['bound_flats']} flat tests. "
            f"Most work over {num(lim[0]['packets'])} packets per family (host; a probe's steps are those of its interval search, "
            f"counted from the intervals' number); commit {lim[0]['commit']}, "
            f"kernel {lim[0]['kernel']} (config {lim[0]['kernel_config']}), {lim[0]['date']}."]
    t["limits"] = out
    try:
        bis = list(csv.DictReader(open(f"{d}/bisect.csv")))
    except FileNotFoundError:
        bis = []
    if bis:
        names = {"L": "L (no hook)", "entry": "entry: netfilter calls the hook, `enabled` read",
                 "key": "key: conntrack-state check, rule set load, IPv4 and UDP headers read",
                 "lookup": "lookup: one rule", "untrack": "untrack (`nf_ct_set(skb, NULL, IP_CT_UNTRACKED)`)",
                 "full": "full: per-netns counters and the rule's hit counters"}
        out = ["| stage | instr/packet | added |", "|---|---:|---:|"]
        for r in bis:
            added = f"{int(r['added']):+,}" if r["added"] else "–"
            out.append(f"| {names.get(r['stage'], r['stage'])} | {num(r['instructions_per_packet'])} | {added} |")
        out += ["", f"Commit {bis[0]['commit']}, kernel {bis[0]['kernel']} (config {bis[0]['kernel_config']}), {bis[0]['date']} (`scripts/bisect-hook`)."]
        t["bisect"] = out
    return t


def markdown(d, md):
    t = tables(d)
    lines = open(md).read().split("\n")
    res, i, seen = [], 0, set()
    while i < len(lines):
        line = lines[i]
        res.append(line)
        if line.startswith("<!-- generated: "):
            name = line[len("<!-- generated: "):].split()[0]
            if name not in t:
                sys.exit(f"report.py: no table {name}")
            seen.add(name)
            res += t[name]
            i += 1
            while i < len(lines) and lines[i] != "<!-- end generated -->":
                i += 1
            if i == len(lines):
                sys.exit(f"report.py: {name}: no end marker")
            res.append(lines[i])
        i += 1
    if seen != set(t):
        sys.exit(f"report.py: {md} lacks the tables {sorted(set(t) - seen)}")
    open(md, "w").write("\n".join(res))
    print(f"report.py: {md}: {', '.join(sorted(seen))} generated")


if __name__ == "__main__":
    if sys.argv[1] == "pktgen":
        pktgen(*sys.argv[2:6])
    elif sys.argv[1] == "limits":
        limits(*sys.argv[2:7])
    elif sys.argv[1] == "markdown":
        markdown(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
