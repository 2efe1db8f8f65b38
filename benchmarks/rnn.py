"""Workload: gradient of a scalar tanh RNN's loss over a sequence of T = 1000 inputs.

    h_0 = 0,   h_t = tanh(w_h h_{t-1} + w_x x_t + b),   loss = 1/T sum_t (v h_t + c - y_t)^2

gradient w.r.t. the five scalars (w_h, w_x, b, v, c); the input sequence ``xs``
and the targets ``ys`` are float64 arrays.  The primal is a plain Python loop of
scalar operations -- a long chain of loop-carried state through a nonlinearity,
like the ODE workload, plus a per-step read of the data and a summed loss.

Tools timed (single-threaded, float64):

* ``srcgrad``  -- ``srcgrad.grad(loss, wrt=("w_h", "w_x", "b", "v", "c"))`` from Python.
* ``hand``     -- the reference: a hand-written ``@numba.njit`` adjoint that stores
  the hidden-state trajectory on the way forward and runs one reverse loop.
* ``primal``   -- ``numba.njit(loss)``.
* ``fd``       -- central finite differences of the Numba primal (10 primal calls).
* ``autograd`` -- ``autograd.grad`` of the same Python loop on ``autograd.numpy``.
* ``torch``    -- PyTorch eager: the same Python loop over 0-d tensors.
* ``jax``      -- ``jax.jit(jax.grad(...))`` of a ``lax.scan`` over the sequence
  (a Python loop would unroll 1000 steps into the traced graph).

``python -m benchmarks.rnn --check`` verifies the hand adjoint against central
finite differences; ``python -m benchmarks.rnn`` times this workload alone.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

T = 1000
WRT = ("w_h", "w_x", "b", "v", "c")
WRT_INDICES = (0, 1, 2, 3, 4)


def loss(w_h, w_x, b, v, c, xs, ys):
    """Mean squared error of a scalar tanh RNN's linear readout -- the function being differentiated."""
    n = len(xs)
    h = 0.0
    L = 0.0
    for t in range(n):
        h = math.tanh(w_h * h + w_x * xs[t] + b)
        e = v * h + c - ys[t]
        L += e * e
    return L / n


primal_numba = numba.njit(cache=True)(loss)


@numba.njit(cache=True)
def hand_grad(w_h, w_x, b, v, c, xs, ys):
    """Hand-written adjoint of ``loss``: (d_w_h, d_w_x, d_b, d_v, d_c)."""
    n = len(xs)
    hs = np.empty(n)
    h = 0.0
    for t in range(n):
        h = math.tanh(w_h * h + w_x * xs[t] + b)
        hs[t] = h
    d_w_h = d_w_x = d_b = d_v = d_c = 0.0  # accumulated without the common factor 2/n
    bh = 0.0  # adjoint of h_t coming from step t+1
    for t in range(n - 1, -1, -1):
        h = hs[t]
        e = v * h + c - ys[t]
        d_v += e * h
        d_c += e
        bh += e * v
        ba = bh * (1.0 - h * h)  # through tanh
        h_prev = hs[t - 1] if t > 0 else 0.0
        d_w_h += ba * h_prev
        d_w_x += ba * xs[t]
        d_b += ba
        bh = ba * w_h
    s = 2.0 / n
    return s * d_w_h, s * d_w_x, s * d_b, s * d_v, s * d_c


def make_args(n=T, seed=0):
    """A noisy teacher RNN's outputs as targets; the student starts away from the teacher."""
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal(n)
    h, ys = 0.0, np.empty(n)
    for t in range(n):
        h = math.tanh(0.8 * h + 1.2 * xs[t] - 0.1)
        ys[t] = 1.5 * h + 0.2
    ys += 0.1 * rng.standard_normal(n)
    return 0.5, 0.7, 0.1, 1.0, 0.0, xs, ys


def make_loop_loss(xp):
    """``loss`` on 0-d values in a tool's namespace (``xp.tanh``): autograd and PyTorch eager."""
    def loss_xp(w_h, w_x, b, v, c, xs, ys):
        n = len(xs)
        h = 0.0
        L = 0.0
        for t in range(n):
            h = xp.tanh(w_h * h + w_x * xs[t] + b)
            e = v * h + c - ys[t]
            L = L + e * e
        return L / n
    return loss_xp


def make_jax_loss(jnp):
    """JAX idiom: ``lax.scan`` carrying h over (x_t, y_t), summing the squared errors."""
    from jax import lax

    def loss_jax(w_h, w_x, b, v, c, xs, ys):
        def step(h, xy):
            h = jnp.tanh(w_h * h + w_x * xy[0] + b)
            e = v * h + c - xy[1]
            return h, e * e
        _, sq = lax.scan(step, jnp.zeros((), xs.dtype), (xs, ys))
        return jnp.sum(sq) / xs.shape[0]
    return loss_jax


def workload(quick: bool) -> dict:
    """The RNN workload (full size in both modes: every tool is well under a second per call)."""
    args = make_args()
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, WRT, args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.call(primal_numba, args),
        "fd": central_fd(primal_numba, args, WRT_INDICES),
        "autograd": tools.autograd_grad(make_loop_loss, WRT_INDICES, args),
        "torch": tools.torch_grad(make_loop_loss, WRT_INDICES, args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": "rnn",
            "description": f"scalar tanh RNN, T={T} steps, mean squared readout error; "
                           "grad wrt (w_h, w_x, b, v, c)",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "tool_rtol": {"fd": 1e-5}, "loop": True}


def self_check() -> bool:
    """Hand adjoint vs central differences on the full problem."""
    return fd_check("rnn", loss, primal_numba, hand_grad, make_args(), wrt=WRT_INDICES)


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.rnn"]))
