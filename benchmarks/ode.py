"""Workload 2: gradient through a long explicit-Euler ODE integration (Lotka-Volterra).

    x' = alpha x - beta x y,   y' = delta x y - gamma y,   T = 10_000 Euler steps of h = 1e-3
    loss = (x_T - x_target)^2 + (y_T - y_target)^2

gradient w.r.t. the six scalars (alpha, beta, delta, gamma, x0, y0); ``h``,
``T`` and the targets are constants.  This is a long sequential loop carrying
scalar state: reverse mode must store (or recompute) the trajectory, so it
measures how cheap srcgrad's tape for loop-carried scalars is.

Tools timed (single-threaded):

* ``srcgrad`` -- ``srcgrad.grad(loss, wrt=<the six names>)`` called from Python.
* ``hand``    -- the reference: a hand-written ``@numba.njit`` adjoint that
  stores the trajectory (x_t, y_t) in two arrays on the way forward and runs the
  transposed Euler step backwards, accumulating the parameter adjoints.
* ``primal``  -- ``numba.njit(loss)``.
* ``fd``      -- central finite differences of the Numba primal (12 primal calls).
* ``autograd`` -- ``autograd.grad`` of ``loss`` itself (a Python loop of boxed
  scalar operations).  Always timed at T=1000 and scaled x10: its cost is linear
  in T (with the GC off, as while timing: 0.26 s at T=1000, 2.6 s at T=10_000).
* ``torch``   -- PyTorch eager: ``loss`` itself on 0-d float64 tensors (the
  Python loop builds a 10^5-node graph); about 1 s per call at full size, so
  with ``--quick`` it is timed at T=1000 and scaled x10.
* ``jax``     -- ``jax.jit(jax.grad(...))`` of a ``lax.scan`` over the T steps
  (a Python loop would unroll 10^4 steps into the traced graph).

``python -m benchmarks.ode --check`` verifies the hand adjoint against central
finite differences; ``python -m benchmarks.ode`` times this workload alone.
"""

from __future__ import annotations

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

T = 10_000
T_SLOW = 1_000  # steps for the peers too slow to time at T (see "slow_tools")
WRT = ("alpha", "beta", "delta", "gamma", "x0", "y0")
WRT_INDICES = (0, 1, 2, 3, 4, 5)


def loss(alpha, beta, delta, gamma, x0, y0, h, T, x_target, y_target):
    """Final-state squared error of an explicit-Euler Lotka-Volterra integration."""
    x, y = x0, y0
    for t in range(T):
        dx = alpha * x - beta * x * y
        dy = delta * x * y - gamma * y
        x = x + h * dx
        y = y + h * dy
    return (x - x_target) ** 2 + (y - y_target) ** 2


primal_numba = numba.njit(cache=True)(loss)  # for the fd tool and the self-check


@numba.njit(cache=True)
def hand_grad(alpha, beta, delta, gamma, x0, y0, h, T, x_target, y_target):
    """Hand-written adjoint of ``loss``: (d_alpha, d_beta, d_delta, d_gamma, d_x0, d_y0)."""
    xs = np.empty(T)
    ys = np.empty(T)
    x, y = x0, y0
    for t in range(T):
        xs[t] = x
        ys[t] = y
        dx = alpha * x - beta * x * y
        dy = delta * x * y - gamma * y
        x = x + h * dx
        y = y + h * dy
    bx = 2.0 * (x - x_target)
    by = 2.0 * (y - y_target)
    d_alpha = d_beta = d_delta = d_gamma = 0.0  # accumulated without the common factor h
    for t in range(T - 1, -1, -1):
        x = xs[t]
        y = ys[t]
        xy = x * y
        d_alpha += bx * x
        d_beta -= bx * xy
        d_delta += by * xy
        d_gamma -= by * y
        bx, by = (bx * (1.0 + h * (alpha - beta * y)) + by * (h * delta * y),
                  by * (1.0 + h * (delta * x - gamma)) - bx * (h * beta * x))
    return h * d_alpha, h * d_beta, h * d_delta, h * d_gamma, bx, by


def make_args(steps=T):
    """Parameters of a classic predator-prey cycle; t_end = steps * h = 10 time units."""
    return (1.1, 0.4, 0.1, 0.4, 10.0, 5.0, 1e-3, steps, 5.0, 2.0)


def make_loop_loss(xp):
    """autograd and PyTorch eager run ``loss`` itself: it only uses + - * and ``**``."""
    return loss


def make_jax_loss(jnp):
    """JAX idiom: ``lax.scan`` over the T Euler steps carrying (x, y); T is a static argument."""
    from jax import lax

    def loss_jax(alpha, beta, delta, gamma, x0, y0, h, T, x_target, y_target):
        def step(state, _):
            x, y = state
            dx = alpha * x - beta * x * y
            dy = delta * x * y - gamma * y
            return (x + h * dx, y + h * dy), None
        (x, y), _ = lax.scan(step, (x0, y0), None, length=T)
        return (x - x_target) ** 2 + (y - y_target) ** 2
    return loss_jax


def workload(quick: bool) -> dict:
    """The ODE workload; autograd (always) and PyTorch (with ``quick``) run at T_SLOW steps, scaled."""
    args, slow_args = make_args(), make_args(T_SLOW)
    factor = T / T_SLOW
    slow = {"factor": factor, "reference": lambda: hand_grad(*slow_args),
            "note": f"timed at T={T_SLOW}, x{factor:g} (cost linear in T)"}
    torch_args = slow_args if quick else args
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, WRT, args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.numba_primal(loss, args),
        "fd": central_fd(primal_numba, args, WRT_INDICES),
        "autograd": tools.autograd_grad(make_loop_loss, WRT_INDICES, slow_args),
        "torch": tools.torch_grad(make_loop_loss, WRT_INDICES, torch_args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    slow_tools = {"autograd": slow} | ({"torch": slow} if quick else {})
    return {"name": "ode",
            "description": f"explicit-Euler Lotka-Volterra, T={T} steps, final-state squared error; "
                           "grad wrt (alpha, beta, delta, gamma, x0, y0)",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "slow_tools": {k: v for k, v in slow_tools.items() if k in built},
            "tool_rtol": {"fd": 1e-5}, "loop": True}


def self_check() -> bool:
    """Hand adjoint vs central differences on the full problem."""
    return fd_check("ode", loss, primal_numba, hand_grad, make_args(), wrt=WRT_INDICES)


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.ode"]))
