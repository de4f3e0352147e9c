#!/usr/bin/env python3
"""docs/bench/bench.png from the benchmark CSVs: packet rate per
configuration (bars, with the ratio to L) and classifier cost against rule
count (lines, log scale)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/pktgen.csv")))
cls = list(csv.DictReader(open(f"{d}/classifier.csv")))

fig, (a, b) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [3, 2]})
names = [r["config"] for r in rows]
rates = [int(r["rate_pps"]) / 1000 for r in rows]
colors = ["tab:green" if n.startswith("S") else "tab:red" if n == "C" else "tab:gray" if n in ("L", "E") else "tab:blue" for n in names]
bars = a.bar(names, rates, color=colors)
for bar, r in zip(bars, rows):
    a.text(bar.get_x() + bar.get_width() / 2, bar.get_height(), r["ratio_to_L"], ha="center", va="bottom", fontsize=8)
a.set_ylabel("thousand packets per guest second")
a.set_title("64-byte UDP into a veth (pktgen), -icount: higher is better\n(label: ratio to L)")
a.set_yscale("log")

n = [int(r["rules"]) for r in cls]
b.plot(n, [int(r["classifier_instructions_per_lookup"]) for r in cls], "o-", label="ctskip classifier")
b.plot(n, [int(r["reference_instructions_per_lookup"]) for r in cls], "s--", label="naive reference (linear)")
b.set_xscale("log")
b.set_yscale("log")
b.set_xlabel("rules")
b.set_ylabel("instructions per lookup (callgrind)")
b.set_title("Lookup cost against rule count")
b.legend()
b.grid(True, which="both", alpha=0.3)
fig.tight_layout()
fig.savefig(f"{d}/bench.png", dpi=110)
