"""Workload: gradient of a stabilised log-sum-exp, of a vector and row by row of a matrix.

    lse(x)       = m + log(sum_i exp(x_i - m)),   m = max_i x_i         x: (N,) = (100_000,)
    lse_rows(X)  = sum_r lse(X[r])                                      X: (1000, 100)

gradient w.r.t. x (resp. X): softmax(x) (resp. the row-wise softmax).  The max
shift does not change the value, only keeps exp from overflowing; its
gradient contributions cancel (srcgrad routes 1 - sum(softmax) ~ 1e-16 to the
arg-max, as the rules for max and sum say).  A memory-bound element-wise
workload: the primal reads x once for the max and once for the sum; a good
adjoint adds one pass writing the gradient.

Tools timed (single-threaded, float64):

* ``srcgrad``  -- ``srcgrad.grad(lse)`` / ``srcgrad.grad(lse_rows)``: the NumPy code
  a user writes (``np.max``, ``np.sum(np.exp(x - m))``; ``axis=1, keepdims=True`` per row).
* ``hand``     -- the reference: ``@numba.njit`` loops: max, then exp(x - m) written
  into the gradient while summing, then one scaling pass by 1/sum.
* ``primal``   -- ``numba.njit(lse)``; for the rows, ``lse_rows_numba`` (the same
  maths with the row max as a loop: Numba's ``np.max`` takes no ``axis``).
* ``fd``       -- skipped: 100_000 inputs (the builder reports the count).
* ``autograd`` -- ``autograd.scipy.special.logsumexp``; ``torch`` -- ``torch.logsumexp``
  (eager); ``jax`` -- ``jax.jit(jax.grad(jax.nn.logsumexp))``: each tool's library
  function, which is what a user of that tool calls.

``python -m benchmarks.lse --check`` verifies the hand adjoints against central
finite differences (on small inputs); ``python -m benchmarks.lse`` times these workloads.
"""

from __future__ import annotations

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

N = 100_000
ROWS, COLS = 1000, 100


def lse(x):
    """Max-shifted log-sum-exp of a vector -- the function being differentiated."""
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def lse_rows(X):
    """Sum over the rows of their max-shifted log-sum-exps -- the function being differentiated."""
    m = np.max(X, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(X - m), axis=1, keepdims=True)))


primal_numba = numba.njit(cache=True)(lse)


@numba.njit(cache=True)
def lse_rows_numba(X):
    """``lse_rows`` in Numba's subset (no ``axis`` for ``np.max``): the rows' primal."""
    total = 0.0
    for r in range(X.shape[0]):
        m = np.max(X[r])
        total += m + np.log(np.sum(np.exp(X[r] - m)))
    return total


@numba.njit(cache=True)
def hand_grad(x):
    """Hand-written adjoint of ``lse``: softmax(x)."""
    n = x.shape[0]
    m = x[0]
    for i in range(1, n):
        m = max(m, x[i])
    g = np.empty(n)
    s = 0.0
    for i in range(n):
        e = np.exp(x[i] - m)
        g[i] = e
        s += e
    inv_s = 1.0 / s
    for i in range(n):
        g[i] *= inv_s
    return g


@numba.njit(cache=True)
def hand_grad_rows(X):
    """Hand-written adjoint of ``lse_rows``: the row-wise softmax of X."""
    rows, cols = X.shape
    G = np.empty((rows, cols))
    for r in range(rows):
        m = X[r, 0]
        for c in range(1, cols):
            m = max(m, X[r, c])
        s = 0.0
        for c in range(cols):
            e = np.exp(X[r, c] - m)
            G[r, c] = e
            s += e
        inv_s = 1.0 / s
        for c in range(cols):
            G[r, c] *= inv_s
    return G


def make_x(n=N, seed=0, scale=3.0):
    """Logits with a spread of a few units (softmax neither uniform nor one-hot)."""
    return scale * np.random.default_rng(seed).standard_normal(n)


def make_X(rows=ROWS, cols=COLS, seed=1, scale=3.0):
    return scale * np.random.default_rng(seed).standard_normal((rows, cols))


def make_autograd_loss(anp):
    from autograd.scipy.special import logsumexp
    return lambda x: logsumexp(x)


def make_autograd_rows_loss(anp):
    from autograd.scipy.special import logsumexp
    return lambda X: anp.sum(logsumexp(X, axis=1))


def make_torch_loss(torch):
    return lambda x: torch.logsumexp(x, dim=0)


def make_torch_rows_loss(torch):
    return lambda X: torch.logsumexp(X, dim=1).sum()


def make_jax_loss(jnp):
    import jax
    return lambda x: jax.nn.logsumexp(x)


def make_jax_rows_loss(jnp):
    import jax
    return lambda X: jnp.sum(jax.nn.logsumexp(X, axis=1))


def _workload(name, description, f, primal, hand, peers, args):
    autograd_loss, torch_loss, jax_loss = peers
    builders = {
        "srcgrad": tools.srcgrad_grad(f, 0, args),
        "hand": tools.call(hand, args),
        "primal": tools.call(primal, args),
        "fd": central_fd(primal, args, (0,)),       # skipped: too many inputs
        "autograd": tools.autograd_grad(autograd_loss, (0,), args),
        "torch": tools.torch_grad(torch_loss, (0,), args),
        "jax": tools.jax_grad(jax_loss, (0,), args),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": name, "description": description,
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9}


def workloads(quick: bool) -> list:
    """The vector and the row-wise form (both cheap: the same in quick and full mode)."""
    return [workload(quick),
            _workload("lse-rows", f"sum of row-wise log-sum-exps of a {ROWS}x{COLS} matrix; grad wrt X",
                      lse_rows, lse_rows_numba, hand_grad_rows,
                      (make_autograd_rows_loss, make_torch_rows_loss, make_jax_rows_loss), (make_X(),))]


def workload(quick: bool) -> dict:
    """The vector form, N = 100_000."""
    return _workload("lse", f"max-shifted log-sum-exp of a vector, N={N}; grad wrt x (softmax)",
                     lse, primal_numba, hand_grad, (make_autograd_loss, make_torch_loss, make_jax_loss),
                     (make_x(),))


def self_check() -> bool:
    """Hand adjoints vs central differences on 50 entries / a 6x7 matrix; Numba row primal vs ``lse_rows``.

    Unit spread here: with the benchmark's spread of 3 some softmax entries are ~1e-6,
    below what central differences of an O(10) function resolve to 1e-6 relative.
    """
    ok = fd_check("lse N=50", lse, primal_numba, hand_grad, (make_x(50, scale=1.0),), wrt=(0,))
    return fd_check("lse-rows 6x7", lse_rows, lse_rows_numba, hand_grad_rows, (make_X(6, 7, scale=1.0),),
                    wrt=(0,)) and ok


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.lse"]))
