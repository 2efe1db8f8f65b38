#!/usr/bin/env python3
"""Tables of srcgrad vs GradBench's C++ ``manual`` tool (and the kit's PyTorch/JAX numbers) from run logs.

    python benchmarks/gradbench/table.py QUICK_OUT [FULL_OUT] [--cold COLD_OUT] [--srcgrad NAME] [--manual NAME]
                                         [--evals LABEL,...]

QUICK_OUT and FULL_OUT are ``--out`` folders of the kit's ``run.py``, each
holding the sessions of both tools: ``OUT/srcgrad/<label>.summary.json`` (from
``run.py --tool "python benchmarks/gradbench/tool.py" --name srcgrad``) and
``OUT/manual/<label>.summary.json`` (from ``run.py --tool manual``). Prints
Markdown: per eval, the summed ``evaluate`` time of each tool (the kit README's
measure) and the ratios; then, per evaluation, the mean ``evaluate`` time per
run of both tools and their ratio. Every ratio is srcgrad / other: below 1
means srcgrad is faster. ``--cold COLD_OUT``: a srcgrad run with empty caches
(``SRCGRAD_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` pointing at empty folders),
for a table of the ``define`` compile times, cold vs from the disk caches.
"""
import argparse
import json
import os
import sys

EVALS = ("hello", "lse", "llsq", "det", "ode", "gmm", "lstm", "ba", "ht", "ht-simple", "kmeans", "particle", "saddle")

# The kit's README ("Reference results (quick sizes)", 2-core CPU machine): summed
# tool `evaluate` time of upstream's PyTorch tool (torch 2.13.0 CPU) and JAX tool
# (jax 0.4.38) at the quick sizes, in ms; None: the tool does not implement the eval.
REFERENCE_QUICK_MS = {
    "hello": {"PyTorch": 5.0, "JAX": 60.7},
    "lse": {"PyTorch": 8.9, "JAX": 451.8},
    "llsq": {"PyTorch": None, "JAX": 499.1},
    "gmm": {"PyTorch": 27.5, "JAX": 2210.0},
    "ode": {"PyTorch": None, "JAX": 564.4},
    "lstm": {"PyTorch": 1032.0, "JAX": None},
    "det": {"PyTorch": None, "JAX": None},
    "ba": {"PyTorch": 48283.0, "JAX": None},
    "ht": {"PyTorch": 6528.0, "JAX": None},
    "ht-simple": {"PyTorch": 2429.0, "JAX": None},
    "kmeans": {"PyTorch": 340.2, "JAX": 374.7},
    "particle": {"PyTorch": None, "JAX": None},
    "saddle": {"PyTorch": None, "JAX": None},
}


def load(out, name, label):
    """{(function, description): (mean ns per run, runs)} and the define's compile ns of one session."""
    path = os.path.join(out, name, f"{label}.summary.json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        summary = json.load(handle)
    runs, compile_ns = {}, None
    for rnd in summary["rounds"]:
        timings = rnd.get("timings") or {}
        if rnd["kind"] == "define" and "compile" in timings:
            compile_ns = timings["compile"]["total_ns"]
        if rnd["kind"] == "evaluate" and "evaluate" in timings and rnd.get("valid"):
            t = timings["evaluate"]
            runs[(rnd["function"], rnd["description"])] = (t["total_ns"] / t["count"], t["count"])
    return {"runs": runs, "compile_ns": compile_ns, "outcome": summary.get("outcome")}


def fmt_time(ns):
    if ns is None:
        return "–"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.3g} ms"
    return f"{ns / 1e9:.3g} s"


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return "–"
    r = a / b
    if r < 0.1:
        return f"{r:.2g}×"
    return f"**{r:.2f}×**" if r > 2 else f"{r:.2f}×"


def totals_table(out, srcgrad, manual, reference=None, labels=EVALS):
    head = ["eval", "manual (C++)", "srcgrad", "srcgrad / manual"]
    if reference:
        head += ["PyTorch", "srcgrad / PyTorch", "JAX", "srcgrad / JAX"]
    head += ["srcgrad outcome", "srcgrad compile (define)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label in labels:
        s, m = load(out, srcgrad, label), load(out, manual, label)
        if s is None:
            continue
        s_total = sum(ns for ns, _ in s["runs"].values())
        m_total = sum(ns for ns, _ in m["runs"].values()) if m and m["runs"] else None
        m_cell = m["outcome"] if m and m["outcome"] != "success" and not m["runs"] else fmt_time(m_total)
        row = [label, m_cell, fmt_time(s_total), fmt_ratio(s_total, m_total)]
        if reference:
            for tool in ("PyTorch", "JAX"):
                ms = reference.get(label, {}).get(tool)
                ref_ns = None if ms is None else ms * 1e6
                row += [fmt_time(ref_ns) if ref_ns is not None else "undefined",
                        fmt_ratio(s_total, ref_ns) if ref_ns else "–"]
        row += [s["outcome"] or "?", fmt_time(s["compile_ns"])]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def runs_table(out, srcgrad, manual, labels=EVALS):
    lines = ["| eval | function | size | manual (C++) | srcgrad | srcgrad / manual | runs (manual, srcgrad) |",
             "|---|---|---|---|---|---|---|"]
    for label in labels:
        s, m = load(out, srcgrad, label), load(out, manual, label)
        if s is None or label == "hello":
            continue
        for key, (s_ns, s_runs) in s["runs"].items():
            m_ns, m_runs = (m["runs"].get(key) if m else None) or (None, None)
            lines.append(f"| {label} | {key[0]} | {key[1]} | {fmt_time(m_ns)} | {fmt_time(s_ns)} | "
                         f"{fmt_ratio(s_ns, m_ns)} | {m_runs or '–'}, {s_runs} |")
    return "\n".join(lines)


def compile_table(cold, warm, srcgrad, labels=EVALS):
    lines = ["| eval | compile, empty caches | compile, from srcgrad's and Numba's disk caches |",
             "|---|---|---|"]
    for label in labels:
        c, w = load(cold, srcgrad, label), load(warm, srcgrad, label)
        if c is None and w is None:
            continue
        lines.append(f"| {label} | {fmt_time(c and c['compile_ns'])} | {fmt_time(w and w['compile_ns'])} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("quick", help="run.py --out folder of the quick-size runs")
    parser.add_argument("full", nargs="?", help="run.py --out folder of the --full runs")
    parser.add_argument("--cold", help="run.py --out folder of a srcgrad run with empty caches")
    parser.add_argument("--srcgrad", default="srcgrad", help="run.py --name of the srcgrad runs")
    parser.add_argument("--manual", default="manual", help="run.py --name of the manual runs")
    parser.add_argument("--evals", help="comma-separated labels: only their rows (default: all)")
    args = parser.parse_args(argv)
    labels = EVALS if not args.evals else tuple(label for label in EVALS if label in args.evals.split(","))
    parts = ["### Quick sizes (`run.py`, one run per evaluation): summed `evaluate` time per eval\n",
             totals_table(args.quick, args.srcgrad, args.manual, REFERENCE_QUICK_MS, labels),
             "\n### Quick sizes: mean `evaluate` time per evaluation\n",
             runs_table(args.quick, args.srcgrad, args.manual, labels)]
    if args.full:
        parts += [("\n### Default sizes (`run.py --full`, each evaluation repeated for >= 1 s): "
                   "sum over evaluations of the mean `evaluate` time per run\n"),
                  totals_table(args.full, args.srcgrad, args.manual, labels=labels),
                  "\n### Default sizes: mean `evaluate` time per run, per evaluation\n",
                  runs_table(args.full, args.srcgrad, args.manual, labels)]
    if args.cold:
        parts += ["\n### srcgrad compile time (`define`, quick sizes)\n",
                  compile_table(args.cold, args.quick, args.srcgrad, labels)]
    sys.stdout.write("\n".join(parts) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
