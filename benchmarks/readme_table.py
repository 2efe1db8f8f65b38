"""Print the README's performance table from ``benchmarks/results/latest.json``.

    python -m benchmarks.readme_table

One row per workload: medians of the primal, the hand adjoint, srcgrad, its
ratios, finite differences and the peers (a ``*`` marks a peer timed on a
shorter problem and scaled, see latest.md). The README's numbers are pasted
from this output, so they always come from one run.
"""
from __future__ import annotations

import json
import os
import sys

from .harness import RESULTS_DIR

PEERS = ("fd", "autograd", "torch", "jax")


def _t(seconds):
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def table(report):
    head = ["workload", "primal", "hand adjoint", "srcgrad", "srcgrad / hand", "srcgrad / primal",
            "finite diff.", "autograd", "PyTorch eager", "JAX jit(grad)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for res in report["workloads"]:
        tools = res["tools"]

        def median(name):
            st = tools.get(name)
            if not st:
                return "–"
            star = "*" if name in res.get("slow_tools", {}) else ""
            return _t(st["median_s"]) + star

        src = tools.get("srcgrad")
        ratio = lambda key: f"{src[key]:.2f}×" if src and src.get(key) else "–"  # noqa: E731
        rows.append("| " + " | ".join([res["name"], median("primal"), median("hand"), median("srcgrad"),
                                       ratio("x_reference"), ratio("x_primal")] +
                                      [median(p) for p in PEERS]) + " |")
    return "\n".join(rows)


def main(argv=None):
    path = os.path.join(RESULTS_DIR, "latest.json")
    with open(path) as fh:
        report = json.load(fh)
    print(f"<!-- from {os.path.relpath(path)}, {report['date']}, `{report['command']}` -->")
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
