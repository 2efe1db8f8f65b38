"""srcgrad benchmarks: srcgrad vs a hand-written Numba adjoint vs the Numba primal.

Run ``python -m benchmarks [--quick] [--rounds N]`` from the repository root.
Each workload module exposes ``workload(quick) -> dict`` (see
``benchmarks.harness`` for the dict's keys) and ``self_check()``; register new
workload modules in ``WORKLOADS`` and new tools in ``benchmarks.tools``.
"""

#: Workload modules run by ``python -m benchmarks``, in order.
WORKLOADS = ["benchmarks.perceptron", "benchmarks.ode"]
