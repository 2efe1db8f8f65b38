"""Scaling of the loop workload (Lotka-Volterra Euler, benchmarks/ode.py) with its length T.

For T = 10^3 ... 10^6 (and 10^7, 10^8 in the full run) Euler steps over the same
10 time units (h = 10/T), this measures per gradient:

* time of srcgrad's ordinary adjoint (every step's overwritten state taped),
  of srcgrad with ``checkpoint="sqrt"`` (the state stored every √T steps, one
  segment re-run and taped at a time), and of the hand-written Numba adjoint;
* the tape: entries the forward sweep leaves (with checkpointing: the snapshots
  plus one segment's tape), as reported by
  ``srcgrad.tape_size(g, *args).nbytes``, and the peak resident memory a
  gradient call adds, measured in a fresh subprocess (``ru_maxrss`` before and
  after one call at size T, after a warm-up call at T = 10; the peak is reset
  just before the call).

Both must grow linearly in T for the ordinary adjoint (time and memory per
step constant); checkpointing keeps the memory at ~√T for about one more
forward run of the loop. Results: ``benchmarks/results/scaling.{json,md,png}``.

    python -m benchmarks.scaling [--quick] [--no-write]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from .harness import RESULTS_DIR
from .ode import WRT, hand_grad, loss, make_args

SIZES = [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7]
QUICK_SIZES = [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6]
#: Sizes timed with checkpointing only: the ordinary tape (and the hand adjoint's
#: trajectory) would take 1.6 GB here, over the 1 GB budget the issue sets.
CHECKPOINT_ONLY = [10 ** 8]
#: Peak-RSS growth is measured from this T on (below, the tape is under the kernel's
#: accounting granularity and the subprocesses would only cost time).
RSS_FROM = 10 ** 5
MODES = {"srcgrad": None, "srcgrad checkpoint=sqrt": "sqrt"}


def _median_time(fn, budget=0.5, max_calls=31):
    """Median seconds per call over repeated single calls (at least 3, about `budget` s)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < 3 or (len(times) < max_calls and time.perf_counter() - start < budget):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _tape_bytes(g, args):
    import srcgrad
    return srcgrad.tape_size(g, *args).nbytes


_RSS_CHILD = r"""
import sys
sys.path.insert(0, {root!r})
from benchmarks.ode import WRT, hand_grad, loss, make_args
mode, T = {mode!r}, {T}
if mode == "hand":
    g = hand_grad
else:
    import srcgrad
    g = srcgrad.grad(loss, wrt=WRT, checkpoint=None if mode == "full" else mode)
g(*make_args(10))                               # compile / load and warm up
args = list(make_args(T))
args[6] = 10.0 / T                              # the same 10 time units at every T


def status(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith(field + ":"))


with open("/proc/self/clear_refs", "w") as fh:  # Linux: "5" resets the peak RSS (VmHWM) to the current RSS
    fh.write("5")
before = status("VmRSS")
g(*args)
print(status("VmHWM") - before)
"""


def peak_rss_growth(mode, T):
    """Bytes of peak resident memory one gradient call at size T adds (fresh process;
    Linux only: the peak is reset through /proc/self/clear_refs; None elsewhere)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = _RSS_CHILD.format(root=root, mode=mode, T=T)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return None
    return int(out.stdout.strip().splitlines()[-1])


def run(quick=False):
    import srcgrad

    sizes = QUICK_SIZES if quick else SIZES
    grads = {name: srcgrad.grad(loss, wrt=WRT, checkpoint=ck) for name, ck in MODES.items()}
    rows = []
    for T in sizes:
        rows.append(_measure(T, grads))
        print(_text_row(rows[-1]), flush=True)
    for T in ([] if quick else CHECKPOINT_ONLY):
        rows.append(_measure(T, {name: g for name, g in grads.items() if MODES[name]}, hand=False))
        print(_text_row(rows[-1]), flush=True)
    return {"workload": "ode (explicit-Euler Lotka-Volterra), gradient w.r.t. 6 parameters",
            "rows": rows, "summary": summarize(rows)}


def scaled_args(T):
    """The ODE over the same 10 time units at every T (h = 10 / T): refining the
    steps, not integrating further (10^8 steps of h = 1e-3 would leave the orbit)."""
    args = list(make_args(T))
    args[6] = 10.0 / T
    return tuple(args)


def _measure(T, grads, hand=True):
    """One row: times, tape bytes, peak memory growth, agreement with the hand adjoint
    (with ``hand=False``: with the ordinary srcgrad adjoint's value at the smallest checkpointed run)."""
    args = scaled_args(T)
    row = {"T": T, "hand_s": None, "hand_rss_bytes": None}
    ref = None
    if hand:
        ref = np.array(hand_grad(*args))
        row["hand_s"] = _median_time(lambda: hand_grad(*args))
        row["hand_rss_bytes"] = peak_rss_growth("hand", T) if T >= RSS_FROM else None
    for key in ("full", "sqrt"):
        for field in ("s", "tape_bytes", "rss_bytes", "max_rel_err"):
            row[f"{key}_{field}"] = None
    for name, g in grads.items():
        got = np.array(g(*args))
        key = "sqrt" if MODES[name] else "full"
        if ref is not None:
            row[f"{key}_max_rel_err"] = float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1.0)))
        elif not np.all(np.isfinite(got)):
            raise RuntimeError(f"{name} at T={T}: non-finite gradient {got}")
        row[f"{key}_s"] = _median_time(lambda: g(*args), budget=0.5 if T < 10 ** 7 else 0.0)
        row[f"{key}_tape_bytes"] = _tape_bytes(g, args)
        row[f"{key}_rss_bytes"] = peak_rss_growth(MODES[name] or "full", T) if T >= RSS_FROM else None
    return row


def summarize(rows):
    """Per-step cost at the largest T over that at 10^4 (1.0 = perfectly linear) and
    checkpointing's time overhead."""
    by_t = {r["T"]: r for r in rows if r["full_s"] is not None}
    big = max(by_t)
    base = by_t.get(10 ** 4) or by_t[min(by_t)]
    out = {"largest_T": big,
           "time_per_step_ratio_full": (by_t[big]["full_s"] / big) / (base["full_s"] / base["T"]),
           "tape_per_step_ratio_full": (by_t[big]["full_tape_bytes"] / big) / (base["full_tape_bytes"] / base["T"]),
           "checkpoint_time_overhead": {r["T"]: r["sqrt_s"] / r["full_s"] for r in by_t.values()},
           "checkpoint_tape_bytes_at_largest_T": by_t[big]["sqrt_tape_bytes"],
           "full_tape_bytes_at_largest_T": by_t[big]["full_tape_bytes"],
           "checkpoint_only": {r["T"]: {"time_s": r["sqrt_s"], "tape_bytes": r["sqrt_tape_bytes"],
                                        "rss_bytes": r["sqrt_rss_bytes"]}
                               for r in rows if r["full_s"] is None}}
    return out


def _fmt_bytes(b):
    if b is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b} B"


def _fmt_s(t):
    if t is None:
        return "-"
    return f"{t * 1e3:.3g} ms" if t >= 1e-3 else f"{t * 1e6:.3g} us"


HEADER = ["T", "hand", "srcgrad", "x hand", "tape", "peak RSS +", "checkpoint=sqrt", "x srcgrad", "tape (ckpt)",
          "peak RSS + (ckpt)", "hand peak RSS +"]


def _ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def _cells(r):
    return [f"{r['T']:.0e}".replace("e+0", "e"), _fmt_s(r["hand_s"]), _fmt_s(r["full_s"]),
            _ratio(r["full_s"], r["hand_s"]), _fmt_bytes(r["full_tape_bytes"]), _fmt_bytes(r["full_rss_bytes"]),
            _fmt_s(r["sqrt_s"]), _ratio(r["sqrt_s"], r["full_s"]), _fmt_bytes(r["sqrt_tape_bytes"]),
            _fmt_bytes(r["sqrt_rss_bytes"]), _fmt_bytes(r["hand_rss_bytes"])]


def _text_row(r):
    return "  ".join(f"{h}={c}" for h, c in zip(HEADER, _cells(r)))


def markdown(result):
    s = result["summary"]
    lines = ["# Scaling with the loop length (Lotka-Volterra Euler, 6 parameters)", "",
             "Per gradient; tape = bytes left by the forward sweep (`srcgrad.tape_size(...).nbytes`); "
             "peak RSS + = resident memory one call adds, measured in a fresh process.", "",
             "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in result["rows"]]
    overheads = ", ".join(f"{k:.0e}: {v:.2f}x" for k, v in s["checkpoint_time_overhead"].items())
    lines += ["", f"- time per step at T={s['largest_T']:.0e} / at T=1e4: {s['time_per_step_ratio_full']:.2f} "
                  "(1 = linear)",
              f"- tape per step at T={s['largest_T']:.0e} / at T=1e4: {s['tape_per_step_ratio_full']:.2f}",
              f"- checkpoint='sqrt' time / ordinary adjoint: {overheads}",
              f"- tape at T={s['largest_T']:.0e}: {_fmt_bytes(s['full_tape_bytes_at_largest_T'])} ordinary, "
              f"{_fmt_bytes(s['checkpoint_tape_bytes_at_largest_T'])} with checkpoint='sqrt'"]
    for T, r in s["checkpoint_only"].items():
        lines.append(f"- T={int(T):.0e}, checkpoint='sqrt' only (the ordinary tape would be "
                     f"{_fmt_bytes(16 * int(T))}): {_fmt_s(r['time_s'])} per gradient, tape "
                     f"{_fmt_bytes(r['tape_bytes'])}, peak RSS growth {_fmt_bytes(r['rss_bytes'])}")
    lines += ["", "![scaling](scaling.png)", ""]
    return "\n".join(lines)


def plot(result, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no scaling plot (pip install matplotlib)")
        return None
    rows = result["rows"]
    ordinary = [r for r in rows if r["full_s"] is not None]
    T = np.array([r["T"] for r in rows], dtype=float)
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.2))
    for key, label, style in (("hand_s", "hand-written adjoint", "k--"), ("full_s", "srcgrad", "C0o-"),
                              ("sqrt_s", "srcgrad checkpoint='sqrt'", "C1s-")):
        pts = [(t, r[key]) for t, r in zip(T, rows) if r.get(key)]
        ax_t.loglog(*zip(*pts), style, label=label)
    ax_t.loglog(T, ordinary[0]["full_s"] * T / T[0], ":", color="gray", label="linear")
    ax_t.set(xlabel="T (Euler steps)", ylabel="seconds per gradient", title="time")
    for key, label, style in (("full_tape_bytes", "srcgrad tape", "C0o-"),
                              ("sqrt_tape_bytes", "checkpoint='sqrt' tape", "C1s-"),
                              ("full_rss_bytes", "srcgrad peak RSS growth", "C0^:"),
                              ("sqrt_rss_bytes", "checkpoint='sqrt' peak RSS growth", "C1v:")):
        pts = [(t, r[key]) for t, r in zip(T, rows) if r.get(key)]
        if pts:
            ax_m.loglog(*zip(*pts), style, label=label)
    ax_m.axhline(1e9, color="red", lw=0.8, label="1 GB")
    ax_m.set(xlabel="T (Euler steps)", ylabel="bytes", title="memory")
    for ax in (ax_t, ax_m):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(result, directory=RESULTS_DIR):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "scaling.json"), "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(directory, "scaling.md"), "w") as fh:
        fh.write(markdown(result))
    plot(result, os.path.join(directory, "scaling.png"))
    return directory


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="T up to 10^6 instead of 10^7")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/scaling.*")
    args = parser.parse_args(argv)
    result = run(args.quick)
    print(markdown(result))
    if not args.no_write:
        print("wrote", write(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
