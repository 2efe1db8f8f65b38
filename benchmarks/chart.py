"""Bar chart of a benchmark report: time per gradient relative to the hand adjoint, log scale.

One group of bars per workload, one bar per timed tool (same colour for a tool
in every group), height = the tool's median time / the hand adjoint's median
time (hand = 1, the dashed line); hatched bars are tools timed on a reduced
problem and scaled (``slow_tools``).  Tools that were skipped or failed have
no bar.  ``python -m benchmarks`` writes ``benchmarks/results/latest.png``
after ``latest.json``/``latest.md``; ``python -m benchmarks.chart [REPORT.json
[OUT.png]]`` redraws it from a saved report (default ``results/latest.json``).

matplotlib is optional: without it, ``available()`` is False and nothing is drawn.
"""

from __future__ import annotations

import json
import os
import sys

CHART_FILE = "latest.png"

#: Bar order (and colours) within a group; tools not listed follow in report order.
TOOL_ORDER = ("srcgrad", "hand", "primal", "fd", "autograd", "torch", "jax")
COLOURS = {"srcgrad": "#d62728", "hand": "#2ca02c", "primal": "#7f7f7f", "fd": "#bcbd22",
           "autograd": "#9467bd", "torch": "#ff7f0e", "jax": "#1f77b4"}


def available():
    """Whether matplotlib can be imported (the chart is skipped otherwise)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _tools_in_order(workloads):
    seen = [t for t in TOOL_ORDER if any(t in w["tools"] for w in workloads)]
    for w in workloads:
        seen += [t for t in w["tools"] if t not in seen]
    return seen


def _relative(res, tool):
    """Median of ``tool`` / median of the reference, or None."""
    st, ref = res["tools"].get(tool), res["tools"].get(res["reference"])
    if not st or not ref:
        return None
    return st["median_s"] / ref["median_s"]


def write_chart(report, path):
    """Draw ``report`` (the dict of latest.json) into the PNG ``path``; returns ``path`` or None.

    Returns None (and draws nothing) when matplotlib is missing or no workload
    has a timed reference.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only, never a window
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    workloads = [w for w in report["workloads"] if w["reference"] in w["tools"]]
    if not workloads:
        return None
    from matplotlib.patches import Patch

    from .harness import _fmt_time

    tools = _tools_in_order(workloads)
    width = 0.8 / len(tools)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(workloads) + 2.0), 4.8), dpi=120)
    handles = []
    for k, tool in enumerate(tools):
        xs, ys, hatched = [], [], []
        for i, res in enumerate(workloads):
            rel = _relative(res, tool)
            if rel is not None:
                xs.append(i - 0.4 + (k + 0.5) * width)
                ys.append(rel)
                hatched.append(tool in res.get("slow_tools", {}))
        if not xs:
            continue
        colour = COLOURS.get(tool, f"C{k % 10}")
        bars = ax.bar(xs, ys, width, color=colour, edgecolor="black", linewidth=0.4)
        handles.append(Patch(facecolor=colour, edgecolor="black", linewidth=0.4, label=tool))
        for bar, h, y in zip(bars, hatched, ys):
            if h:
                bar.set_hatch("///")
            ax.annotate(f"{y:.3g}" if y < 1000 else f"{y:.0f}", (bar.get_x() + bar.get_width() / 2, y),
                        xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=5,
                        rotation=90)
    if any(w.get("slow_tools") for w in workloads):
        handles.append(Patch(facecolor="white", edgecolor="black", linewidth=0.4, hatch="///",
                             label="reduced size, scaled"))
    ax.set_yscale("log")
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([f"{w['name']}\nhand {_fmt_time(w['tools'][w['reference']]['median_s'])}"
                        for w in workloads], fontsize=7)
    ax.set_ylabel("time per gradient / hand adjoint (log)")
    env = report.get("environment", {})
    ax.set_title(f"srcgrad benchmarks {report.get('date', '')[:10]} -- {env.get('cpu', '')}, "
                 f"1 thread, float64", fontsize=8)
    ax.legend(handles=handles, fontsize=7, ncol=4, loc="upper left", frameon=False)
    ax.margins(y=0.25)
    fig.tight_layout()
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png")
    plt.close(fig)
    os.replace(tmp, path)
    return path


def main(argv=None):
    from .harness import RESULTS_DIR

    argv = sys.argv[1:] if argv is None else argv
    src = argv[0] if argv else os.path.join(RESULTS_DIR, "latest.json")
    dst = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(src)), CHART_FILE)
    if not available():
        print("matplotlib is not installed: no chart (pip install matplotlib)")
        return 0
    with open(src) as fh:
        report = json.load(fh)
    out = write_chart(report, dst)
    print("wrote", out if out else "nothing: no workload with a timed reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
