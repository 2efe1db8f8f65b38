"""Generic timing harness: correctness check, interleaved timing rounds, reports.

A *workload* is a dict produced by ``<module>.workload(quick)``::

    {"name": "perceptron",
     "description": "...",                   # one line: what is computed, sizes
     "tools": {"hand": fn, "primal": fn, ...},  # name -> zero-arg callable
     "skipped": {"srcgrad": "reason"},       # tools that could not be built here
     "reference": "hand",                    # gradient every other tool is checked/ratioed against
     "primal": "primal",                     # the plain forward computation (no gradient)
     "rtol": 1e-9}                           # gradient agreement required before timing

Use ``build_tools`` to create ``tools``/``skipped`` from builder functions; a
builder raises ``ToolUnavailable`` when its package is not installed (that is
how optional tools such as autograd/PyTorch/JAX plug in).  A tool whose first
call raises ``ToolUnavailable`` is reported as skipped too (srcgrad rejecting a
workload it does not support yet, see ``tools.skip_unsupported``).

Method, per workload:

1. **Warm-up / check.**  Every callable is called once (this triggers Numba and
   srcgrad compilation; the time is reported as "first call").  The result of
   every gradient tool is compared to the reference with ``max_rel_error``; a
   tool that disagrees beyond ``rtol`` is reported and *not* timed.
2. **Calibration.**  For each tool, the number of back-to-back calls per sample
   is chosen so that one sample lasts at least ``min_sample`` seconds (5 ms by
   default), making timer resolution and call overhead negligible.  The GC is
   disabled from here on.
3. **Interleaved rounds.**  ``rounds`` times, every tool is timed once (one
   sample = mean time per call over its loop); the order rotates each round so
   that drift (frequency scaling, other load) hits all tools alike.
4. **Statistics.**  Median, min, max and inter-quartile range per tool; ratios
   of medians vs the reference (hand-written adjoint) and vs the primal.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

from .check import max_rel_error

#: Speed targets for srcgrad: median time at most this many times the reference / the primal.
TARGETS = {"srcgrad": {"reference": 1.3, "primal": 3.0}}

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


class ToolUnavailable(Exception):
    """Raised by a tool builder when the tool cannot run in this environment."""


def build_tools(builders):
    """Run zero-arg ``builders`` (name -> builder returning a zero-arg callable).

    Returns ``(tools, skipped, failed)``: built callables, tools that raised
    ``ToolUnavailable`` (name -> reason), and tools whose builder crashed
    (name -> error; e.g. srcgrad rejecting the workload's source).
    """
    tools, skipped, failed = {}, {}, {}
    for name, build in builders.items():
        try:
            tools[name] = build()
        except ToolUnavailable as exc:
            skipped[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - report, keep benchmarking the others
            failed[name] = f"{type(exc).__name__}: {exc}"
    return tools, skipped, failed


def _time_loop(fn, number):
    """Mean seconds per call of ``fn`` over ``number`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def _calibrate(fn, min_sample):
    """Calls per sample so one sample lasts >= ``min_sample`` seconds (fn already warm).

    The first estimate is the fastest of three single calls, so that one slow
    outlier call cannot shrink the loop to a single call per sample.
    """
    single = min(_time_loop(fn, 1) for _ in range(3))
    number = max(1, math.ceil(min_sample / max(single, 1e-9)))
    per_call = _time_loop(fn, number)  # re-estimate on a sample-sized loop
    return max(1, math.ceil(min_sample / max(per_call, 1e-9)))


def run_workload(wl, rounds, min_sample=5e-3):
    """Check and time one workload; returns a JSON-serialisable result dict."""
    tools, ref, primal = wl["tools"], wl["reference"], wl["primal"]
    rtol = wl.get("rtol", 1e-9)
    failed = dict(wl.get("failed", {}))
    out = {"name": wl["name"], "description": wl.get("description", ""),
           "reference": ref, "primal": primal, "rtol": rtol, "rounds": rounds,
           "min_sample_s": min_sample, "skipped": dict(wl.get("skipped", {})),
           "errors": {}, "tools": {}}

    # 1. warm-up (compiles) + gradient check against the reference
    first_call, results = {}, {}
    for name, fn in tools.items():
        t0 = time.perf_counter()
        try:
            results[name] = fn()
        except ToolUnavailable as exc:  # e.g. srcgrad rejecting code it does not support yet
            out["skipped"][name] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - e.g. srcgrad failing to generate/compile
            failed[name] = f"first call raised {type(exc).__name__}: {str(exc)[:300]}"
            continue
        first_call[name] = time.perf_counter() - t0
    timed = list(results)
    for name in results:
        if name in (ref, primal) or ref not in results:
            continue
        err = max_rel_error(results[name], results[ref])
        out["errors"][name] = err
        if not err <= rtol:
            failed[name] = f"gradient mismatch vs {ref}: max rel err {err:.3e} > rtol {rtol:g}"
            timed.remove(name)
    out["failed"] = failed

    # 2. calibration, 3. interleaved rounds
    samples = {name: [] for name in timed}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        number = {name: _calibrate(tools[name], min_sample) for name in timed}
        for r in range(rounds if timed else 0):
            k = r % len(timed)
            for name in timed[k:] + timed[:k]:
                samples[name].append(_time_loop(tools[name], number[name]))
    finally:
        if gc_was_enabled:
            gc.enable()

    # 4. statistics
    for name in timed:
        s = sorted(samples[name])
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else (s[0],) * 3
        out["tools"][name] = {"median_s": statistics.median(s), "min_s": s[0], "max_s": s[-1],
                              "q1_s": q1, "q3_s": q3, "calls_per_sample": number[name],
                              "first_call_s": first_call[name], "samples_s": samples[name]}
    for name, st in out["tools"].items():
        for key, base in (("x_reference", ref), ("x_primal", primal)):
            base_st = out["tools"].get(base)
            st[key] = st["median_s"] / base_st["median_s"] if base_st else None
    return out


# ----------------------------------------------------------------------------- reporting

def _fmt_time(t):
    if t is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def _fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}x"


def _table_rows(res):
    header = ["tool", "median", "min", "max", "IQR", f"x {res['reference']}",
              f"x {res['primal']}", "calls/sample", "first call"]
    rows = []
    for name, st in res["tools"].items():
        rows.append([name, _fmt_time(st["median_s"]), _fmt_time(st["min_s"]), _fmt_time(st["max_s"]),
                     _fmt_time(st["q3_s"] - st["q1_s"]), _fmt_ratio(st["x_reference"]),
                     _fmt_ratio(st["x_primal"]), str(st["calls_per_sample"]),
                     _fmt_time(st["first_call_s"])])
    return header, rows


def _notes(res):
    """Human-readable lines: gradient check, target verdicts, skipped/failed tools."""
    lines = []
    for name, err in res["errors"].items():
        lines.append(f"gradient check {name} vs {res['reference']}: max rel err {err:.2e} "
                     f"(rtol {res['rtol']:g})")
    for name, targets in TARGETS.items():
        st = res["tools"].get(name)
        if not st:
            continue
        for key, base in (("reference", res["reference"]), ("primal", res["primal"])):
            ratio = st[f"x_{key}"]
            if ratio is not None:
                verdict = "OK" if ratio <= targets[key] else "MISSED"
                lines.append(f"target {name}/{base} = {ratio:.2f}x (<= {targets[key]}x): {verdict}")
    for name, why in res["skipped"].items():
        lines.append(f"skipped {name}: {why}")
    for name, why in res["failed"].items():
        lines.append(f"FAILED {name}: {why}")
    return lines


def format_text(res):
    header, rows = _table_rows(res)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    lines = [f"== {res['name']}: {res['description']}",
             f"   {res['rounds']} interleaved rounds, each sample >= {res['min_sample_s'] * 1e3:g} ms",
             fmt(header)] + [fmt(r) for r in rows]
    return "\n".join(lines + ["   " + n for n in _notes(res)])


def format_markdown(report):
    env = report["environment"]
    lines = ["# srcgrad benchmark results", "",
             f"- date: {report['date']}", f"- command: `{report['command']}`",
             f"- machine: {env['cpu']}, {env['cpu_count']} CPUs, load average {env['load_average_1min']:.2f} "
             f"at start ({env['platform']})",
             f"- python {env['python']}, numpy {env['numpy']}, numba {env['numba']}, "
             f"srcgrad commit {env['git_commit']}",
             "- peers: " + (", ".join(f"{k} {v or 'not installed'}" for k, v in env.get("peers", {}).items())
                            or "not recorded") + "; every tool float64 on one thread",
             "- method: warm-up call (compiles), gradients checked against the hand adjoint, then "
             "interleaved rounds; medians of per-call time, ratios are of medians.", ""]
    for res in report["workloads"]:
        header, rows = _table_rows(res)
        lines += [f"## {res['name']}", "", res["description"], "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += [""] + [f"- {n}" for n in _notes(res)] + [""]
    return "\n".join(lines)


def environment():
    import numba
    import numpy

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        git = {"capture_output": True, "text": True, "check": False, "timeout": 10,
               "cwd": os.path.dirname(RESULTS_DIR)}
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **git).stdout.strip()
        if commit and subprocess.run(["git", "status", "--porcelain", "--", "../srcgrad"], **git).stdout.strip():
            commit += " + uncommitted srcgrad changes"
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "load_average_1min": os.getloadavg()[0],
            "git_commit": commit or "unknown", "peers": _peer_versions(),
            "threads": {var: os.environ.get(var) for var in
                        ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS")}}


def _peer_versions():
    """Installed versions of the optional peer tools (read from metadata: nothing is imported)."""
    from importlib import metadata

    versions = {}
    for dist in ("autograd", "torch", "jax", "jaxlib"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return versions


def _invoked_module():
    """'benchmarks' or 'benchmarks.ode' etc., reconstructed from sys.argv[0] under ``python -m``."""
    path = os.path.relpath(os.path.abspath(sys.argv[0]), os.path.dirname(RESULTS_DIR) + "/..")
    module = os.path.splitext(path)[0].replace(os.sep, ".")
    return module[: -len(".__main__")] if module.endswith(".__main__") else module


def make_report(workload_results, env=None):
    """The full report; pass ``env=environment()`` taken before the runs to record the load then."""
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python -m", _invoked_module()] + sys.argv[1:]),
            "environment": env or environment(), "targets": TARGETS, "workloads": workload_results}


def write_report(report, directory=RESULTS_DIR):
    """Write latest.json and latest.md atomically (via *.tmp files, which git ignores)."""
    os.makedirs(directory, exist_ok=True)
    for fname, text in (("latest.json", json.dumps(report, indent=2) + "\n"),
                        ("latest.md", format_markdown(report))):
        path = os.path.join(directory, fname)
        with open(path + ".tmp", "w") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)
    return directory
