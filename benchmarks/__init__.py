"""srcgrad benchmarks: srcgrad vs a hand-written Numba adjoint, the Numba primal and peers.

Run ``python -m benchmarks [--quick] [--rounds N] [--only NAME]`` from the
repository root.  Each workload module exposes ``workload(quick) -> dict`` (see
``benchmarks.harness`` for the dict's keys) and ``self_check()``; register new
workload modules in ``WORKLOADS`` (a module with several sizes or forms also
exposes ``workloads(quick) -> list``, which the runner prefers) and new tools in ``benchmarks.tools``.

Every tool runs on ONE thread, so the numbers compare algorithms, not core
counts.  The environment variables below are set here, at package import, i.e.
before NumPy, Numba, PyTorch or JAX is imported by any workload (they are read
once, at those packages' import).  PyTorch's own pools are limited in
``tools.torch_grad`` (``torch.set_num_threads(1)``).
"""

import os as _os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    _os.environ[_var] = "1"
_os.environ["JAX_ENABLE_X64"] = "1"          # float64 everywhere, like the other tools
_os.environ["JAX_PLATFORMS"] = "cpu"         # no accelerator probing
_xla = _os.environ.get("XLA_FLAGS", "")
for _flag in ("--xla_cpu_multi_thread_eigen=false", "intra_op_parallelism_threads=1"):
    if _flag.split("=")[0] not in _xla:
        _xla = f"{_xla} {_flag}".strip()
_os.environ["XLA_FLAGS"] = _xla

#: Workload modules run by ``python -m benchmarks``, in order.
WORKLOADS = ["benchmarks.perceptron", "benchmarks.ode", "benchmarks.rnn", "benchmarks.lstm",
             "benchmarks.newton", "benchmarks.lse", "benchmarks.gmm", "benchmarks.perceptron_vec",
             "benchmarks.mlp", "benchmarks.mlp_epoch"]
