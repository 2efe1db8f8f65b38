"""Command line: ``python -m benchmarks [--quick] [--rounds N] [--only NAME] [--check] ...``.

Runs every registered workload through the harness, prints one table per
workload, then the compile-time / start-up / memory measurements
(``benchmarks.startup``, in fresh processes), and writes
``benchmarks/results/latest.json``, ``latest.md`` and ``latest.png`` (bar
chart, when matplotlib is installed).  Peers (autograd, PyTorch, JAX;
``pip install torch==2.13.0 jax jaxlib autograd``) that are not installed show
up as SKIPPED rows with the reason.  Every tool runs on one thread (see
``benchmarks/__init__.py``).

Then the loop-length sweep (``benchmarks.scaling``: the ODE for T = 10^3 ...
10^7, time and tape memory, with and without ``checkpoint="sqrt"``), written
to ``benchmarks/results/scaling.{json,md,png}``.

``--quick``: 7 rounds of >= 2 ms samples, 2 s per slow tool, the start-up
measurements for the ODE only -- the whole suite in under ~3 minutes on 2 cores.
``--check`` instead validates the hand-written adjoints against finite
differences (no srcgrad needed, nothing written).  Exit status is 1 if a tool
failed to build or its gradient disagreed with the hand adjoint.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from benchmarks import WORKLOADS

#: (rounds, min sample ms, slow-tool budget s) for full and quick runs.
FULL = (21, 5.0, 8.0)
QUICK = (7, 2.0, 2.0)


def main(argv=None, workloads=None):
    t_start = time.perf_counter()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time srcgrad against a hand-written Numba adjoint, the Numba primal, finite differences "
                    "and autograd / PyTorch / JAX (where installed); then compile time, cached start and memory.")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK[0]} rounds of >= {QUICK[1]:g} ms samples, {QUICK[2]:g} s per slow tool, "
                             "start-up for the ODE only; for smoke tests (< ~3 min)")
    parser.add_argument("--rounds", type=int, default=None,
                        help=f"interleaved timing rounds per workload (default {FULL[0]}, {QUICK[0]} with --quick)")
    parser.add_argument("--min-sample-ms", type=float, default=None,
                        help=f"minimum duration of one timing sample (default {FULL[1]:g}, {QUICK[1]:g} with --quick)")
    parser.add_argument("--tool-budget", type=float, default=None, metavar="SECONDS",
                        help="timing seconds for a tool whose call takes > 0.2 s: it gets fewer rounds "
                             f"(at least 1; default {FULL[2]:g}, {QUICK[2]:g} with --quick)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this workload (module name without 'benchmarks.', or the workload's "
                             "name, e.g. mlp-epoch), or 'startup'; the start-up measurements run for the "
                             "named workloads that have a start-up case; repeatable")
    parser.add_argument("--no-startup", action="store_true", help="skip the compile-time/start-up/memory part")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the loop-length sweep (benchmarks.scaling: T = 1e3..1e7, checkpointing)")
    parser.add_argument("--check", action="store_true",
                        help="only check the hand adjoints against finite differences")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args(argv)

    from benchmarks import startup

    modules = workloads or WORKLOADS
    startup_cases = None if workloads is None else []  # None: the default set; a module's own __main__: none
    scaling_wanted = workloads is None and not args.no_scaling
    if args.only:  # module name or workload name: "mlp_epoch" and "mlp-epoch" both work
        wanted = {name.replace("-", "_") for name in args.only}
        modules = [m for m in modules if m.rsplit(".", 1)[-1] in wanted
                   or any(w.startswith(m.rsplit(".", 1)[-1]) for w in wanted)]   # lstm-loops -> lstm
        if startup_cases is None and "startup" not in wanted:
            startup_cases = [c for c in startup.CASES if c in wanted]
        scaling_wanted = scaling_wanted and "scaling" in wanted
        if not modules and not {"startup", "scaling"} & wanted:
            parser.error(f"no workload named {args.only}")
    if args.no_startup:
        startup_cases = []
    modules = [importlib.import_module(m) for m in modules]

    if args.check:
        return 0 if all([m.self_check() for m in modules]) else 1

    from benchmarks import harness

    preset = QUICK if args.quick else FULL
    rounds = args.rounds or preset[0]
    min_sample = (args.min_sample_ms or preset[1]) * 1e-3
    budget = args.tool_budget or preset[2]
    env = harness.environment()  # before running: the load average then says how quiet the machine was
    results = []
    wanted_names = {name.replace("_", "-") for name in args.only or ()}
    for m in modules:
        module_name = m.__name__.rsplit(".", 1)[-1].replace("_", "-")
        for wl in (m.workloads(args.quick) if hasattr(m, "workloads") else [m.workload(args.quick)]):
            if wanted_names and module_name not in wanted_names and wl["name"] not in wanted_names:
                continue
            res = harness.run_workload(wl, rounds=rounds, min_sample=min_sample, tool_budget=budget)
            print(harness.format_text(res), flush=True)
            print()
            results.append(res)

    startup_result = None
    if startup_cases is None or startup_cases:
        startup_result = startup.run(startup_cases, quick=args.quick)
        print(startup.format_text(startup_result), flush=True)
        print()

    elapsed = time.perf_counter() - t_start
    print(summary(results, startup_result))
    if not args.no_write:
        report = harness.make_report(results, env, startup=startup_result, elapsed_s=elapsed)
        directory = harness.write_report(report)
        from benchmarks import chart
        print("wrote", directory, "(latest.json, latest.md" + (", latest.png)" if chart.available()
                                                               else "; no chart: matplotlib not installed)"))
    if scaling_wanted:         # after the main report is written: its files are its own
        from benchmarks import scaling
        try:
            scaling_result = scaling.run(quick=args.quick)
        except Exception as exc:  # noqa: BLE001 - report, keep the exit status honest
            print(f"FAILED scaling: {type(exc).__name__}: {exc}")
            return 1
        print(scaling.markdown(scaling_result), flush=True)
        if not args.no_write:
            print("wrote", scaling.write(scaling_result), "(scaling.json, scaling.md, scaling.png)")
    print(f"total elapsed: {time.perf_counter() - t_start:.1f} s")
    return 1 if any(r["failed"] for r in results) else 0


def summary(results, startup_result=None):
    """Closing lines: failed and skipped tools, missed targets, over all workloads."""
    from benchmarks import harness, startup

    failed, skipped, missed = [], [], []
    for res in results:
        failed += [f"{res['name']}/{name}" for name in res["failed"]]
        skipped += [f"{res['name']}/{name}" for name in res["skipped"]]
        missed += [f"{res['name']}: {n}" for n in harness._notes(res) if n.endswith("MISSED")]
    if startup_result:
        notes = startup.format_notes(startup_result)
        missed += [n for n in notes if "MISSED" in n]
        failed += [n[len("FAILED "):].split(":")[0] for n in notes if n.startswith("FAILED ")]
    lines = [f"== summary: {len(results)} workloads; failed tools: {', '.join(failed) or 'none'}; "
             f"skipped tools: {', '.join(skipped) or 'none'}"]
    lines += ["   missed " + n for n in missed]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
