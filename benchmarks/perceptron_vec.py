"""Workload 3: the perceptron of workload 1, written as vectorised NumPy instead of loops.

    loss(w, b, X, y) = 1/n * sum_i (y_i - sigmoid(b + X_i . w))^2

N = 100_000 samples, d = 3 features, gradient w.r.t. ``w`` (array) and ``b``
(scalar): exactly the function and data of ``benchmarks.perceptron``, but in
the array style that the tape-based tools are built for, so they can be
compared with srcgrad on their home ground.

Tools timed (single-threaded, float64):

* ``hand``     -- the reference: ``hand_grad``, an ``@numba.njit`` adjoint with BLAS
  for the two products (``z = X @ w`` forward, ``d_w = X.T @ g`` backward) and
  one fused loop in between that turns z into dL/dz in place.  The fastest of
  the variants tried (on the 2-core AMD EPYC, one thread: 0.66 ms; the
  per-sample loop adjoint of ``benchmarks.perceptron``, whose ``d_w[j] +=``
  chain goes through memory: 0.89 ms; a fully vectorised ``@njit`` adjoint
  with N-sized temporaries: 1.3 ms).
* ``primal``   -- ``numba.njit(loss)`` of the vectorised loss below (N-sized
  temporaries: its time depends on how the allocator reuses them).
* ``srcgrad``  -- ``srcgrad.grad(loss, wrt=("w", "b"))`` from Python; skipped
  while srcgrad rejects array operations (``@``, whole-array ``np.exp``).
* ``autograd`` -- ``autograd.grad`` of the same code on ``autograd.numpy``.
* ``torch``    -- PyTorch eager, ``torch.sigmoid``, ``torch.autograd.grad``.
* ``jax``      -- ``jax.jit(jax.grad(...))`` with ``jax.nn.sigmoid``.

``python -m benchmarks.perceptron_vec --check`` verifies the vectorised primal
against the loop primal and the hand adjoint against central differences.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import perceptron, tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

N, D = perceptron.N, perceptron.D
WRT = ("w", "b")
WRT_INDICES = (0, 1)


def loss(w, b, X, y):
    """Mean squared error of a sigmoid perceptron, vectorised -- the function being differentiated."""
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return np.sum((y - p) ** 2) / X.shape[0]


@numba.njit(cache=True)
def hand_grad(w, b, X, y):
    """Hand-written adjoint of ``loss``: returns (d_w, d_b)."""
    n = X.shape[0]
    z = X @ w                      # forward pre-activations (without b), overwritten by dL/dz * n/2
    d_b = 0.0
    for i in range(n):
        p = 1.0 / (1.0 + math.exp(-(z[i] + b)))
        # d/dz (y - p)^2 = -2 (y - p) p (1 - p); the common factor 2/n is applied once at the end
        g = (p - y[i]) * p * (1.0 - p)
        d_b += g
        z[i] = g
    scale = 2.0 / n
    return (X.T @ z) * scale, d_b * scale


make_args = perceptron.make_args


def make_autograd_loss(anp):
    def loss(w, b, X, y):
        p = 1.0 / (1.0 + anp.exp(-(X @ w + b)))
        return anp.sum((y - p) ** 2) / X.shape[0]
    return loss


def make_torch_loss(torch):
    def loss(w, b, X, y):
        p = torch.sigmoid(X @ w + b)
        return ((y - p) ** 2).sum() / X.shape[0]
    return loss


def make_jax_loss(jnp):
    import jax

    def loss(w, b, X, y):
        p = jax.nn.sigmoid(X @ w + b)
        return jnp.sum((y - p) ** 2) / X.shape[0]
    return loss


def workload(quick: bool) -> dict:
    """The vectorised-perceptron workload (sizes do not depend on ``quick``: it is cheap already)."""
    args = make_args()
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, WRT, args, skip_if_unsupported=True),
        "hand": tools.call(hand_grad, args),
        "primal": tools.numba_primal(loss, args),
        "fd": central_fd(numba.njit(cache=True)(loss), args, WRT_INDICES),
        "autograd": tools.autograd_grad(make_autograd_loss, WRT_INDICES, args),
        "torch": tools.torch_grad(make_torch_loss, WRT_INDICES, args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": "perceptron-vec",
            "description": f"sigmoid perceptron MSE, vectorised NumPy (X @ w, np.exp, np.sum), N={N} samples, "
                           f"d={D} features; grad wrt (w, b); hand = BLAS products + one fused loop",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-8, "tool_rtol": {"fd": 1e-5}}


def self_check() -> bool:
    """Vectorised primal == loop primal; hand adjoint vs central differences of the vectorised primal."""
    args = make_args(n=2_000)
    same = abs(loss(*args) - perceptron.loss(*args)) <= 1e-13 * abs(perceptron.loss(*args))
    print(f"perceptron-vec: vectorised loss == loop loss: {'OK' if same else 'FAIL'}")
    return fd_check("perceptron-vec", loss, numba.njit(loss), hand_grad, args, wrt=WRT_INDICES) and same


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.perceptron_vec"]))
