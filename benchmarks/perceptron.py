"""Workload 1: gradient of the lecture's sigmoid-perceptron loss, written as scalar loops.

    loss(w, b, X, y) = 1/n * sum_i (y_i - sigmoid(b + sum_j w_j X_ij))^2

with n = 100_000 samples and d = 3 features; gradient w.r.t. ``w`` (array) and
``b`` (scalar).  This is the typical "loop over samples, accumulate a scalar"
kernel that array-level AD tools handle badly and that srcgrad is built for.

Tools timed (single-threaded):

* ``srcgrad`` -- ``srcgrad.grad(loss, wrt=("w", "b"))`` called from Python.
* ``hand``    -- the reference: a hand-written ``@numba.njit`` adjoint, fused
  per sample (forward z and p, then immediately accumulate dL/dz into d_w, d_b),
  which is what a competent engineer writes for this loss.  No tape, no
  allocation beyond the d-vector.
* ``primal``  -- ``numba.njit(loss)``: the cost of just evaluating the loss.
* ``fd``      -- central finite differences of the Numba primal (8 primal calls).
* ``autograd`` -- ``autograd.grad`` of the same loops on ``autograd.numpy`` (boxed
  scalars, ``anp.exp``).
* ``torch``   -- PyTorch eager: the same loops over 0-d tensors.
* ``jax``     -- ``jax.jit(jax.grad(...))`` of a ``lax.scan`` over the samples
  (per-sample body ``b + w . x_i``, sigmoid, squared error).

autograd and PyTorch take tens of seconds per gradient at N=100_000 (a Python
loop of ~10^6 recorded scalar operations), so both are timed at N_SLOW=1000
samples and the time is scaled by N/N_SLOW = 100 (their cost is linear in N);
the table flags them.  This workload is the seed, not one of the "loop"
workloads of the suite's loop targets (it is a sum over samples, which
srcgrad fuses into one pass without a tape).

``python -m benchmarks.perceptron --check`` verifies the hand adjoint against
central finite differences; ``python -m benchmarks.perceptron`` times this
workload alone.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

N, D = 100_000, 3
N_SLOW = 1_000  # samples for the peers too slow to time at N (see "slow_tools")
WRT_INDICES = (0, 1)


def loss(w, b, X, y):
    """Mean squared error of a sigmoid perceptron -- the function being differentiated."""
    n, d = X.shape
    L = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += w[j] * X[i, j]
        p = 1.0 / (1.0 + math.exp(-z))
        L += (y[i] - p) ** 2
    return L / n


primal_numba = numba.njit(cache=True)(loss)  # for the fd tool and the self-check


@numba.njit(cache=True)
def hand_grad(w, b, X, y):
    """Hand-written adjoint of ``loss``: returns (d_w, d_b)."""
    n, d = X.shape
    d_w = np.zeros(d)
    d_b = 0.0
    for i in range(n):
        z = b
        for j in range(d):
            z += w[j] * X[i, j]
        p = 1.0 / (1.0 + math.exp(-z))
        # d/dz (y - p)^2 = -2 (y - p) p (1 - p); the common factor 2/n is applied once at the end
        g = (p - y[i]) * p * (1.0 - p)
        d_b += g
        for j in range(d):
            d_w[j] += g * X[i, j]
    scale = 2.0 / n
    for j in range(d):
        d_w[j] *= scale
    return d_w, d_b * scale


def make_args(n=N, d=D, seed=0):
    """Synthetic, roughly separable data and a non-optimal starting point (non-trivial gradient)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = np.array([1.5, -2.0, 0.5])[:d]
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(X @ w_true + 0.3)))).astype(np.float64)
    w = 0.1 * rng.standard_normal(d)
    return w, 0.1, X, y


def make_loop_loss(xp):
    """``loss`` in a tool's namespace (``xp.exp`` on its scalars): autograd and PyTorch eager."""
    def loss_xp(w, b, X, y):
        n, d = X.shape
        L = 0.0
        for i in range(n):
            z = b
            for j in range(d):
                z = z + w[j] * X[i, j]
            p = 1.0 / (1.0 + xp.exp(-z))
            L = L + (y[i] - p) ** 2
        return L / n
    return loss_xp


def make_jax_loss(jnp):
    """JAX idiom: ``lax.scan`` over the samples (rows of X with their labels), summing the errors."""
    from jax import lax

    def loss_jax(w, b, X, y):
        def step(L, sample):
            x_i, y_i = sample
            p = 1.0 / (1.0 + jnp.exp(-(b + jnp.dot(w, x_i))))
            return L + (y_i - p) ** 2, None
        L, _ = lax.scan(step, jnp.zeros((), X.dtype), (X, y))
        return L / X.shape[0]
    return loss_jax


def workload(quick: bool) -> dict:
    """The perceptron workload; autograd and PyTorch run on N_SLOW samples, scaled (both modes)."""
    args, slow_args = make_args(), make_args(n=N_SLOW)
    factor = N / N_SLOW
    slow = {"factor": factor, "reference": lambda: hand_grad(*slow_args),
            "note": f"timed at N={N_SLOW}, x{factor:g} (cost linear in N)"}
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, ("w", "b"), args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.numba_primal(loss, args),
        "fd": central_fd(primal_numba, args, WRT_INDICES),
        "autograd": tools.autograd_grad(make_loop_loss, WRT_INDICES, slow_args),
        "torch": tools.torch_grad(make_loop_loss, WRT_INDICES, slow_args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": "perceptron",
            "description": f"sigmoid perceptron MSE, scalar loops, N={N} samples, d={D} features; "
                           "grad wrt (w, b)",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "slow_tools": {name: slow for name in ("autograd", "torch") if name in built},
            "tool_rtol": {"fd": 1e-5}, "loop": False}


def self_check() -> bool:
    """Hand adjoint vs central differences (on a 2_000-sample slice to keep FD cheap)."""
    args = make_args(n=2_000)
    return fd_check("perceptron", loss, primal_numba, hand_grad, args, wrt=WRT_INDICES)


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.perceptron"]))
