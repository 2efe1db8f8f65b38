"""Workload: gradient through while-loop Newton solves with data-dependent trip counts.

For each of n = 10_000 data points b_i, Newton's method solves

    g(x) = x^3 + a x - s b_i = 0          (a > 0: one real root, g' = 3 x^2 + a > 0)

from x = b_i, ``while abs(step) > tol and k < 50`` (tol = 1e-12; 3 to 9
iterations here, depending on b_i); the loss compares the roots with targets:

    loss = sum_i (x_i(a, s) - t_i)^2

gradient w.r.t. the two scalars (a, s).  The gradient is that of the code as
run: reverse mode goes back THROUGH the iterations each point actually took
(srcgrad records the trip count and reverses the ``while`` loop).  Near
convergence d x_new / d x = 6 x g / g'^2 -> 0, so this equals the implicit
derivative dx/dθ = -(dg/dθ) / g'(x) to within the last step's size.

Tools timed (single-threaded, float64):

* ``srcgrad``  -- ``srcgrad.grad(loss, wrt=("a", "s"))`` on the plain scalar code.
* ``hand``     -- the reference: ``@numba.njit``; per point, the Newton iterates
  are stored in a small buffer on the way forward, then the iteration is run
  backwards exactly (same trip count): with step = g / g',
  d step/d a = (x g' - g) / g'^2, d step/d s = -b / g', d x_new/d x = 6 x g / g'^2.
  It differentiates through the iterations as srcgrad does, so the two agree
  to round-off.
* ``primal``   -- ``numba.njit(loss)``.
* ``fd``       -- central differences of the Numba primal (4 primal calls).
* ``autograd`` / ``torch`` -- vectorised over the points, the idiom of those tools:
  a Python ``while`` loop that runs while any point is still active, each
  iteration updating the active points only (``where``), a point leaving
  when its step is below tol -- the same iterates as the scalar code.
* ``jax``      -- ``jax.jit(jax.grad(...))`` of the same vectorised iteration in a
  ``lax.fori_loop`` of a fixed 50 iterations (``lax.while_loop`` cannot be
  reverse-differentiated), converged points frozen by ``jnp.where``: the same
  iterates, but always 50 iterations of work.

``python -m benchmarks.newton --check`` verifies the hand adjoint against central
finite differences; ``python -m benchmarks.newton`` times this workload alone.
"""

from __future__ import annotations

import numba
import numpy as np

from . import tools
from .check import fd_check
from .fd import central_fd
from .harness import build_tools

N_POINTS = 10_000
MAX_ITER = 50
WRT = ("a", "s")
WRT_INDICES = (0, 1)


def loss(a, s, b, t, tol):
    """Squared error of Newton roots of x^3 + a x - s b_i = 0 -- the function being differentiated."""
    L = 0.0
    for i in range(b.shape[0]):
        x = b[i]
        step = 1.0
        k = 0
        while abs(step) > tol and k < 50:
            g = x ** 3 + a * x - s * b[i]
            dg = 3.0 * x ** 2 + a
            step = g / dg
            x = x - step
            k += 1
        r = x - t[i]
        L += r * r
    return L


primal_numba = numba.njit(cache=True)(loss)


@numba.njit(cache=True)
def hand_grad(a, s, b, t, tol):
    """Hand-written adjoint of ``loss``, through the iterations: (d_a, d_s)."""
    xs = np.empty(MAX_ITER)          # the iterates of the current point
    d_a = 0.0
    d_s = 0.0
    for i in range(b.shape[0]):
        bi = b[i]
        x = bi
        step = 1.0
        k = 0
        while abs(step) > tol and k < MAX_ITER:
            xs[k] = x
            step = (x ** 3 + a * x - s * bi) / (3.0 * x ** 2 + a)   # as in ``loss``: same iterates
            x = x - step
            k += 1
        bx = 2.0 * (x - t[i])        # d loss / d x_final
        for j in range(k - 1, -1, -1):
            x = xs[j]
            g = x ** 3 + a * x - s * bi
            inv_dg = 1.0 / (3.0 * x ** 2 + a)
            step = g * inv_dg
            # x_new = x - step
            d_a -= bx * (x - step) * inv_dg          # d step / d a = (x g' - g) / g'^2
            d_s += bx * bi * inv_dg                  # d step / d s = -b / g'
            bx *= 6.0 * x * step * inv_dg            # d x_new / d x = 6 x g / g'^2
    return d_a, d_s


def make_args(n=N_POINTS, seed=0):
    """(a, s, b, t, tol): targets are the roots at (a, s) = (2, 1.5) plus noise; we start at (1, 1)."""
    rng = np.random.default_rng(seed)
    b = rng.uniform(-5.0, 5.0, n)
    t = np.empty(n)
    for i in range(n):  # roots at the teacher's parameters (numpy: the real root of the cubic)
        roots = np.roots([1.0, 0.0, 2.0, -1.5 * b[i]])
        t[i] = roots[np.argmin(np.abs(roots.imag))].real
    t += 0.05 * rng.standard_normal(n)
    return 1.0, 1.0, b, t, 1e-12


def make_vector_loss(xp):
    """autograd / PyTorch: the iteration vectorised over the points, active points updated only."""
    where = xp.where

    def loss_vec(a, s, b, t, tol):
        x = b
        active = abs(b) >= 0.0                      # every point starts active (step = 1 > tol)
        k = 0
        while k < MAX_ITER and bool(active.any()):
            step = (x ** 3 + a * x - s * b) / (3.0 * x ** 2 + a)
            x = where(active, x - step, x)
            active = active & (abs(_value(step)) > tol)
            k += 1
        r = x - t
        return (r * r).sum()
    return loss_vec


def _value(v):
    """The plain array under an autograd box / a detached tensor: the stopping test is not differentiated."""
    return v.detach() if hasattr(v, "detach") else getattr(v, "_value", v)


def make_jax_loss(jnp):
    """JAX: a fixed 50-iteration ``lax.fori_loop``, converged points frozen by ``jnp.where``."""
    from jax import lax

    def loss_jax(a, s, b, t, tol):
        def body(_, state):
            x, active = state
            step = (x ** 3 + a * x - s * b) / (3.0 * x ** 2 + a)
            return jnp.where(active, x - step, x), active & (jnp.abs(lax.stop_gradient(step)) > tol)
        x, _ = lax.fori_loop(0, MAX_ITER, body, (b, jnp.ones(b.shape, dtype=bool)))
        r = x - t
        return jnp.sum(r * r)
    return loss_jax


def trip_counts(args):
    """Newton iterations per point (for the description)."""
    a, s, b, _, tol = args
    counts = np.empty(b.shape[0], dtype=np.int64)
    for i in range(b.shape[0]):
        x, step, k = b[i], 1.0, 0
        while abs(step) > tol and k < MAX_ITER:
            step = (x ** 3 + a * x - s * b[i]) / (3.0 * x ** 2 + a)
            x, k = x - step, k + 1
        counts[i] = k
    return counts


def workload(quick: bool) -> dict:
    """The Newton workload (full size in both modes)."""
    args = make_args()
    counts = trip_counts(args)
    builders = {
        "srcgrad": tools.srcgrad_grad(loss, WRT, args),
        "hand": tools.call(hand_grad, args),
        "primal": tools.call(primal_numba, args),
        "fd": central_fd(primal_numba, args, WRT_INDICES),
        "autograd": tools.autograd_grad(make_vector_loss, WRT_INDICES, args),
        "torch": tools.torch_grad(make_vector_loss, WRT_INDICES, args),
        "jax": tools.jax_grad(make_jax_loss, WRT_INDICES, args),
    }
    built, skipped, failed = build_tools(builders)
    return {"name": "newton",
            "description": f"Newton solves of x^3 + a x - s b_i = 0 in a while loop (tol 1e-12), "
                           f"n={N_POINTS} points, {counts.min()}-{counts.max()} iterations "
                           f"(mean {counts.mean():.1f}); squared error of the roots, grad wrt (a, s)",
            "tools": built, "skipped": skipped, "failed": failed,
            "reference": "hand", "primal": "primal", "rtol": 1e-9,
            "tool_rtol": {"fd": 1e-5}, "loop": True}


def self_check() -> bool:
    """Hand adjoint vs central differences on the full problem."""
    return fd_check("newton", loss, primal_numba, hand_grad, make_args(), wrt=WRT_INDICES)


if __name__ == "__main__":
    import sys

    from benchmarks.__main__ import main

    sys.exit(main(sys.argv[1:], workloads=["benchmarks.newton"]))
