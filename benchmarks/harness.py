"""Generic timing harness: correctness check, interleaved timing rounds, reports.

A *workload* is a dict produced by ``<module>.workload(quick)``::

    {"name": "perceptron",
     "description": "...",                   # one line: what is computed, sizes
     "tools": {"hand": fn, "primal": fn, ...},  # name -> zero-arg callable
     "skipped": {"srcgrad": "reason"},       # tools that could not be built here
     "failed": {"x": "error"},               # tools whose builder crashed
     "reference": "hand",                    # gradient every other tool is checked/ratioed against
     "primal": "primal",                     # the plain forward computation (no gradient)
     "rtol": 1e-9,                           # gradient agreement required before timing
     # optional:
     "tool_rtol": {"fd": 1e-5},              # per-tool tolerance (default: DEFAULT_TOOL_RTOL, else rtol)
     "slow_tools": {"autograd": {"factor": 10.0, "note": "timed at T=1000, x10 (cost linear in T)",
                                 "reference": fn}},   # see below
     "loop": True}                           # a loop workload: speed-up targets vs the peers apply

``slow_tools``: peers too slow to time at full size.  Their callable in
``tools`` runs a *reduced* problem; its gradient is checked against
``reference()`` (the reference tool at that reduced size) instead of the
reference's full-size gradient, and every time of it is multiplied by
``factor`` (flagged ``*`` in the tables, with the note).

Use ``build_tools`` to create ``tools``/``skipped`` from builder functions; a
builder raises ``ToolUnavailable`` when its package is not installed (that is
how optional tools such as autograd/PyTorch/JAX plug in).  A tool whose first
call raises ``ToolUnavailable`` is reported as skipped too (srcgrad rejecting a
workload it does not support yet, see ``tools.skip_unsupported``).

Method, per workload:

1. **Warm-up / check.**  Every callable is called once (this triggers Numba and
   srcgrad compilation; the time is reported as "first call").  The result of
   every gradient tool is compared to the reference with ``max_rel_error``; a
   tool that disagrees beyond its tolerance is reported and *not* timed.
2. **Calibration.**  Each tool is called once more (warm).  The number of
   back-to-back calls per sample is chosen so that one sample lasts at least
   ``min_sample`` seconds (5 ms by default), making timer resolution and call
   overhead negligible.  A tool whose warm call takes over ``SLOW_CALL_S``
   (0.2 s) gets one call per sample and only as many rounds as fit in
   ``tool_budget`` seconds (at least one): a peer taking seconds per gradient
   cannot stretch the suite to many minutes.  The GC is disabled while timing.
3. **Interleaved rounds.**  ``rounds`` times, every tool (still within its
   rounds) is timed once (one sample = mean time per call over its loop), in
   a fresh (seeded) random order each round, so that drift (frequency
   scaling, other load) hits all tools alike and no tool always runs right
   after the same one (a rotation of one order keeps each tool's successor).
   autograd and PyTorch eager (``LATE_PEERS``) and scaled slow tools are
   warmed up, checked and timed in a second phase, after the others: once
   autograd had run in the process, the compiled tools' samples came out
   bimodal (perceptron: the hand adjoint 0.75-0.80 or 0.87-1.0 ms from
   sample to sample, srcgrad alike, so their ratio was 1.03-1.3x by chance;
   unimodal, 0.76 ms, when autograd had not run).
4. **Statistics.**  Median, min, max and inter-quartile range per tool; ratios
   of medians vs the reference (hand-written adjoint) and vs the primal;
   srcgrad's speed-up over each peer (ratio of medians).

Result JSON (``run_workload``; fields are only ever added): per timed tool
``median_s``, ``min_s``, ``max_s``, ``q1_s``, ``q3_s``, ``samples_s`` (all
already multiplied by ``scale_factor`` for a slow tool), ``measured_median_s``
(as measured), ``scale_factor``, ``rounds`` (rounds actually timed),
``calls_per_sample``, ``first_call_s`` and ``warm_call_s`` (as measured),
``x_reference``, ``x_primal``; per workload also ``tool_rtol``, ``slow_tools``
(factor, note), ``loop``, ``tool_budget_s`` and ``speedups`` (srcgrad's over
each timed peer).  The report adds ``loop_targets``, ``startup`` and ``elapsed_s``.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone

from .check import max_rel_error

#: Speed targets for srcgrad: median time at most this many times the reference / the primal.
TARGETS = {"srcgrad": {"reference": 1.2, "primal": 3.0}}

#: Extra targets on loop workloads (``"loop": True``): srcgrad's speed-up over each peer
#: (peer median / srcgrad median) must be >= (or, with "op" ">", strictly above) "speedup".
LOOP_TARGETS = {"autograd": {"speedup": 100.0, "op": ">="},
                "torch": {"speedup": 100.0, "op": ">="},
                "jax": {"speedup": 1.0, "op": ">"}}

#: Peers srcgrad's speed-up is reported against (on every workload; verdicts on loop workloads).
PEERS = ("autograd", "torch", "jax")
#: Peers timed after the compiled tools (see run_workload): Python-heavy, they change the process.
LATE_PEERS = ("autograd", "torch")

#: Gradient tolerance of a tool by name when the workload's "tool_rtol" does not set one
#: (the workload's "rtol" applies if it is looser): finite differences are not exact.
DEFAULT_TOOL_RTOL = {"fd": 1e-5}

#: A tool whose warm call takes longer than this gets fewer rounds (see ``tool_budget``).
SLOW_CALL_S = 0.2

#: Default seconds of timing per slow tool (``--tool-budget``).
TOOL_BUDGET_S = 8.0

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


def _calibrate(fn, min_sample, single):
    """Calls per sample so one sample lasts >= ``min_sample`` seconds (fn already warm).

    ``single`` is one warm call's time; the first estimate is the fastest of it
    and two more single calls, so that one slow outlier call cannot shrink the
    loop to a single call per sample.
    """
    single = min([single] + [_time_loop(fn, 1) for _ in range(2)])
    number = max(1, math.ceil(min_sample / max(single, 1e-9)))
    per_call = _time_loop(fn, number)  # re-estimate on a sample-sized loop
    return max(1, math.ceil(min_sample / max(per_call, 1e-9)))


def tool_tolerance(wl, name):
    """Gradient tolerance for tool ``name`` of workload ``wl``."""
    rtol = wl.get("rtol", 1e-9)
    if name in wl.get("tool_rtol", {}):
        return wl["tool_rtol"][name]
    return max(rtol, DEFAULT_TOOL_RTOL.get(name, rtol))


def _check(results, name, wl, slow, failed, out):
    """Compare tool ``name``'s gradient with the reference's (its own reduced one if slow)."""
    ref = wl["reference"]
    rtol = tool_tolerance(wl, name)
    if name in slow:
        try:
            expected = slow[name]["reference"]()
        except Exception as exc:  # noqa: BLE001
            failed[name] = f"reduced-size reference raised {type(exc).__name__}: {str(exc)[:300]}"
            return False
        against = f"{ref} at its reduced size"
    else:
        expected, against = results[ref], ref
    err = max_rel_error(results[name], expected)
    out["errors"][name] = err
    if rtol != out["rtol"]:
        out["tool_rtol"][name] = rtol
    if not err <= rtol:
        failed[name] = f"gradient mismatch vs {against}: max rel err {err:.3e} > rtol {rtol:g}"
        return False
    return True


def run_workload(wl, rounds, min_sample=5e-3, tool_budget=TOOL_BUDGET_S):
    """Check and time one workload; returns a JSON-serialisable result dict."""
    tools, ref, primal = wl["tools"], wl["reference"], wl["primal"]
    slow = wl.get("slow_tools", {})
    rtol = wl.get("rtol", 1e-9)
    failed = dict(wl.get("failed", {}))
    out = {"name": wl["name"], "description": wl.get("description", ""),
           "reference": ref, "primal": primal, "rtol": rtol, "tool_rtol": {}, "rounds": rounds,
           "min_sample_s": min_sample, "tool_budget_s": tool_budget, "loop": bool(wl.get("loop")),
           "slow_tools": {name: {"factor": float(spec["factor"]), "note": spec.get("note", "")}
                          for name, spec in slow.items() if name in tools},
           "skipped": dict(wl.get("skipped", {})), "errors": {}, "tools": {}}

    # Two phases, each 1. warm-up (compiles) + gradient check against the reference, 2. calibration
    # (+ the round budget of slow tools), 3. interleaved rounds: first the compiled tools, then the
    # Python-heavy peers (LATE_PEERS, any scaled slow tool): why, in the module doc (step 3).
    late = [name for name in tools if name in LATE_PEERS or name in slow]
    first_call, results, timed = {}, {}, []
    samples, number, tool_rounds, warm_call = {}, {}, {}, {}
    for group in ([name for name in tools if name not in late], late):
        phase = []
        for name in group:
            t0 = time.perf_counter()
            try:
                results[name] = tools[name]()
            except ToolUnavailable as exc:  # e.g. srcgrad rejecting code it does not support yet
                out["skipped"][name] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. srcgrad failing to generate/compile
                failed[name] = f"first call raised {type(exc).__name__}: {str(exc)[:300]}"
                continue
            first_call[name] = time.perf_counter() - t0
            checkable = name not in (ref, primal) and (ref in results or name in slow)
            if not checkable or _check(results, name, wl, slow, failed, out):
                phase.append(name)
        timed += phase
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for name in phase:
                samples[name] = []
                single = warm_call[name] = _time_loop(tools[name], 1)
                if single > SLOW_CALL_S:  # the call above already spent one call of the budget
                    number[name] = 1
                    tool_rounds[name] = max(1, min(rounds, int((tool_budget - single) / single)))
                else:
                    number[name] = _calibrate(tools[name], min_sample, single)
                    tool_rounds[name] = rounds
            for r in range(rounds if phase else 0):
                for name in random.Random(r).sample(phase, len(phase)):
                    if r < tool_rounds[name]:
                        samples[name].append(_time_loop(tools[name], number[name]))
        finally:
            if gc_was_enabled:
                gc.enable()
    out["failed"] = failed

    # 4. statistics (a slow tool's times scaled to the full problem)
    for name in timed:
        factor = out["slow_tools"].get(name, {}).get("factor", 1.0)
        measured = sorted(samples[name])
        s = [t * factor for t in measured]
        q1, _, q3 = statistics.quantiles(s, n=4, method="inclusive") if len(s) > 1 else (s[0],) * 3
        out["tools"][name] = {"median_s": statistics.median(s), "min_s": s[0], "max_s": s[-1],
                              "q1_s": q1, "q3_s": q3, "calls_per_sample": number[name],
                              "first_call_s": first_call[name], "warm_call_s": warm_call[name],
                              "samples_s": [t * factor for t in samples[name]],
                              "measured_median_s": statistics.median(measured), "scale_factor": factor,
                              "rounds": len(s)}
    for name, st in out["tools"].items():
        for key, base in (("x_reference", ref), ("x_primal", primal)):
            base_st = out["tools"].get(base)
            st[key] = st["median_s"] / base_st["median_s"] if base_st else None
    sg = out["tools"].get("srcgrad")
    if sg:
        out["speedups"] = {peer: out["tools"][peer]["median_s"] / sg["median_s"]
                           for peer in PEERS if peer in out["tools"]}
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


def _tool_label(res, name):
    """Tool name, with ``*`` when its times are scaled from a reduced problem."""
    return name + "*" if name in res.get("slow_tools", {}) else name


def _table_rows(res):
    header = ["tool", "median", "min", "max", "IQR", f"x {res['reference']}",
              f"x {res['primal']}", "rounds", "calls/sample", "first call"]
    rows = []
    for name, st in res["tools"].items():
        rows.append([_tool_label(res, name), _fmt_time(st["median_s"]), _fmt_time(st["min_s"]),
                     _fmt_time(st["max_s"]), _fmt_time(st["q3_s"] - st["q1_s"]),
                     _fmt_ratio(st["x_reference"]), _fmt_ratio(st["x_primal"]),
                     str(st.get("rounds", res["rounds"])), str(st["calls_per_sample"]),
                     _fmt_time(st["first_call_s"])])
    # tools not timed stay visible in the table: a missing row reads like a forgotten tool
    for state, names in (("SKIPPED", res["skipped"]), ("FAILED", res["failed"])):
        for name in names:
            if name not in res["tools"]:
                rows.append([_tool_label(res, name), state] + ["-"] * (len(header) - 2))
    return header, rows


def _verdict(ok):
    return "OK" if ok else "MISSED"


def _notes(res):
    """Human-readable lines: gradient check, scaling, target verdicts, skipped/failed tools."""
    lines = []
    slow = res.get("slow_tools", {})
    for name, err in res["errors"].items():
        rtol = res.get("tool_rtol", {}).get(name, res["rtol"])
        against = f"{res['reference']} at reduced size" if name in slow else res["reference"]
        lines.append(f"gradient check {name} vs {against}: max rel err {err:.2e} (rtol {rtol:g})")
    for name, spec in slow.items():
        lines.append(f"* {name}: {spec['note'] or 'timed on a reduced problem'}; "
                     f"times multiplied by {spec['factor']:g}")
    for name, st in res["tools"].items():
        if st.get("rounds", res["rounds"]) < res["rounds"]:
            lines.append(f"{name}: {st['rounds']} of {res['rounds']} rounds (warm call "
                         f"{_fmt_time(st.get('warm_call_s'))} > {SLOW_CALL_S:g} s; "
                         f"tool budget {res.get('tool_budget_s', TOOL_BUDGET_S):g} s)")
    for name, targets in TARGETS.items():
        st = res["tools"].get(name)
        if not st:
            continue
        for key, base in (("reference", res["reference"]), ("primal", res["primal"])):
            ratio = st[f"x_{key}"]
            if ratio is not None:
                lines.append(f"target {name}/{base} = {ratio:.2f}x (<= {targets[key]}x): "
                             f"{_verdict(ratio <= targets[key])}")
    speedups = res.get("speedups", {})
    if res.get("loop"):
        for peer, target in LOOP_TARGETS.items():
            if peer in speedups:
                x, want, op = speedups[peer], target["speedup"], target["op"]
                ok = x > want if op == ">" else x >= want
                lines.append(f"target srcgrad speed-up over {_tool_label(res, peer)} = {x:.3g}x "
                             f"({op} {want:g}x): {_verdict(ok)}")
            elif "srcgrad" in res["tools"]:
                lines.append(f"target srcgrad speed-up over {peer}: not measured ({peer} not timed)")
    elif speedups:
        lines.append("srcgrad speed-up: " + ", ".join(f"{_tool_label(res, p)} {x:.3g}x"
                                                     for p, x in speedups.items()))
    for name, why in res["skipped"].items():
        lines.append(f"SKIPPED {name}: {why}")
    for name, why in res["failed"].items():
        lines.append(f"FAILED {name}: {why}")
    return lines


def _align(header, rows):
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
            for r in [header] + rows]


def format_text(res):
    header, rows = _table_rows(res)
    lines = [f"== {res['name']}: {res['description']}",
             f"   {res['rounds']} interleaved rounds, each sample >= {res['min_sample_s'] * 1e3:g} ms, "
             f"slow tools <= {res.get('tool_budget_s', TOOL_BUDGET_S):g} s each"]
    lines += _align(header, rows)
    return "\n".join(lines + ["   " + n for n in _notes(res)])


def format_markdown(report, chart_file=None):
    """The markdown report; ``chart_file`` (relative to the report) is linked when given."""
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
             "interleaved rounds; medians of per-call time, ratios are of medians. `*`: timed on a "
             "reduced problem, times scaled (see the notes).",
             f"- targets: srcgrad <= {TARGETS['srcgrad']['reference']}x hand and "
             f"<= {TARGETS['srcgrad']['primal']}x primal; on loop workloads srcgrad's speed-up "
             + ", ".join(f"over {p} {t['op']} {t['speedup']:g}x" for p, t in LOOP_TARGETS.items()), ""]
    if "elapsed_s" in report:
        lines[-1:-1] = [f"- whole run: {report['elapsed_s']:.0f} s"]
    if chart_file:
        lines += [f"![time per gradient relative to the hand adjoint, log scale]({chart_file})", ""]
    for res in report["workloads"]:
        header, rows = _table_rows(res)
        lines += [f"## {res['name']}", "", res["description"], "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += [""] + [f"- {n}" for n in _notes(res)] + [""]
    if report.get("startup"):
        from .startup import format_markdown as startup_markdown
        lines += startup_markdown(report["startup"])
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


def make_report(workload_results, env=None, startup=None, elapsed_s=None):
    """The full report; pass ``env=environment()`` taken before the runs to record the load then.

    ``startup``: the ``benchmarks.startup.run`` result (compile time, cached start, memory).
    """
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "command": " ".join(["python -m", _invoked_module()] + sys.argv[1:]),
              "environment": env or environment(), "targets": TARGETS, "loop_targets": LOOP_TARGETS,
              "workloads": workload_results}
    if startup is not None:
        report["startup"] = startup
    if elapsed_s is not None:
        report["elapsed_s"] = elapsed_s
    return report


def write_report(report, directory=RESULTS_DIR, chart=True):
    """Write latest.json, latest.md and (``chart`` and matplotlib installed) latest.png.

    Each is written via a *.tmp file (which git ignores) and renamed, so a
    reader never sees half a file.  Returns the directory.
    """
    from . import chart as chart_module

    os.makedirs(directory, exist_ok=True)
    draw = chart and chart_module.available()
    for fname, text in (("latest.json", json.dumps(report, indent=2) + "\n"),
                        ("latest.md", format_markdown(report, chart_module.CHART_FILE if draw else None))):
        path = os.path.join(directory, fname)
        with open(path + ".tmp", "w") as fh:
            fh.write(text)
        os.replace(path + ".tmp", path)
    if draw:
        chart_module.write_chart(report, os.path.join(directory, chart_module.CHART_FILE))
    return directory
