"""Command line: ``python -m benchmarks [--quick] [--rounds N] [--only NAME] [--check]``.

Runs every registered workload through the harness, prints one table per
workload and writes ``benchmarks/results/latest.json`` and ``latest.md``.
Workloads: perceptron, ode (scalar loops), perceptron-vec, mlp, mlp-epoch
(array programs, also timed with autograd / PyTorch / JAX where installed;
``pip install torch==2.13.0 jax jaxlib autograd``).  Every tool runs on one
thread (see ``benchmarks/__init__.py``).
``--check`` instead validates the hand-written adjoints against finite
differences (no srcgrad needed, nothing written).  Exit status is 1 if a tool
failed to build or its gradient disagreed with the hand adjoint.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks import WORKLOADS


def main(argv=None, workloads=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time srcgrad against a hand-written Numba adjoint, the Numba primal and "
                    "autograd / PyTorch / JAX (where installed).")
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds (7 instead of 21); for smoke tests")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved timing rounds per workload (default 21, 7 with --quick)")
    parser.add_argument("--min-sample-ms", type=float, default=None,
                        help="minimum duration of one timing sample (default 5)")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only this workload (module name without 'benchmarks.', or the workload's "
                             "name, e.g. mlp-epoch); repeatable")
    parser.add_argument("--check", action="store_true",
                        help="only check the hand adjoints against finite differences")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args(argv)

    modules = workloads or WORKLOADS
    if args.only:  # module name or workload name: "mlp_epoch" and "mlp-epoch" both work
        wanted = {name.replace("-", "_") for name in args.only}
        modules = [m for m in modules if m.rsplit(".", 1)[-1] in wanted]
        if not modules:
            parser.error(f"no workload named {args.only}")
    modules = [importlib.import_module(m) for m in modules]

    if args.check:
        return 0 if all([m.self_check() for m in modules]) else 1

    from benchmarks import harness

    rounds = args.rounds or (7 if args.quick else 21)
    min_sample = (args.min_sample_ms or 5.0) * 1e-3
    env = harness.environment()  # before running: the load average then says how quiet the machine was
    results = []
    for m in modules:
        res = harness.run_workload(m.workload(args.quick), rounds=rounds, min_sample=min_sample)
        print(harness.format_text(res), flush=True)
        print()
        results.append(res)
    if not args.no_write:
        print("wrote", harness.write_report(harness.make_report(results, env)))
    return 1 if any(r["failed"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
