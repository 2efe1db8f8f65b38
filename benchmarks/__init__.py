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

Freed memory stays with the process (``keep_freed_memory``): every tool
allocates its arrays per call, and glibc's default is to hand a freed block
above its (moving) thresholds back to the kernel, so the next call page-faults
it in again -- a cost of the allocator, not of the tool, that came and went
from run to run (GradBench gmm 2_100 jacobian: 8.1 ms or 4.5 ms per call,
264 000-478 000 page faults per session against 35 000).
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


def keep_freed_memory():
    """glibc only (elsewhere a no-op, False): blocks up to 32 MiB come from the
    heap and freed heap memory is not trimmed, so a call reuses what the last
    one freed instead of faulting fresh pages in (``mallopt``; larger blocks,
    e.g. a 1.8 GB tape, are still mapped and unmapped per call)."""
    import ctypes
    import ctypes.util
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))


KEEPS_FREED_MEMORY = keep_freed_memory()

#: Workload modules run by ``python -m benchmarks``, in order.
WORKLOADS = ["benchmarks.perceptron", "benchmarks.ode", "benchmarks.rnn", "benchmarks.lstm",
             "benchmarks.newton", "benchmarks.lse", "benchmarks.gmm", "benchmarks.perceptron_vec",
             "benchmarks.mlp", "benchmarks.mlp_epoch"]
