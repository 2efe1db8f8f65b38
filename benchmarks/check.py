"""Gradient comparison helpers shared by the workloads and the harness.

* ``flatten``/``max_rel_error`` turn any gradient result (a scalar, an array,
  or a tuple of those) into one vector and compare two of them component-wise.
  The harness uses them to check every gradient tool against the hand-written
  adjoint before anything is timed.
* ``central_difference``/``fd_check`` validate a hand-written adjoint against
  central finite differences of the primal, independently of srcgrad, so the
  reference the benchmarks compare against is itself trustworthy
  (``python -m benchmarks --check``).
"""

from __future__ import annotations

import numpy as np


def flatten(result) -> np.ndarray:
    """Concatenate a gradient result (scalar, array, or tuple of them) into a 1-D float vector."""
    parts = result if isinstance(result, (tuple, list)) else (result,)
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def max_rel_error(got, ref) -> float:
    """Worst component-wise relative error of ``got`` against ``ref``.

    Each component is scaled by ``|ref_i|``, floored at ``1e-12 * max|ref|`` so that a
    component which happens to be ~0 cannot blow the ratio up.  A shape mismatch
    or a non-finite value counts as an infinite error.
    """
    g, r = flatten(got), flatten(ref)
    if g.shape != r.shape or not np.all(np.isfinite(g)):
        return float("inf")
    floor = 1e-12 * max(float(np.max(np.abs(r))), 1e-300)
    return float(np.max(np.abs(g - r) / np.maximum(np.abs(r), floor)))


def central_difference(f, args, wrt, eps=1e-6):
    """Central-difference gradient of scalar ``f(*args)`` w.r.t. the argument positions ``wrt``.

    Scalars and float arrays are both supported; the step is relative
    (``eps * max(1, |a|)``).  Returns a tuple in ``wrt`` order.
    """
    args = list(args)
    grads = []
    for k in wrt:
        a = args[k]
        if np.ndim(a) == 0:
            step = eps * max(1.0, abs(a))
            grads.append((_shifted(f, args, k, a + step) - _shifted(f, args, k, a - step)) / (2 * step))
        else:
            g = np.empty(a.shape)
            for idx in np.ndindex(a.shape):
                step = eps * max(1.0, abs(a[idx]))
                ap, am = a.copy(), a.copy()
                ap[idx] += step
                am[idx] -= step
                g[idx] = (_shifted(f, args, k, ap) - _shifted(f, args, k, am)) / (2 * step)
            grads.append(g)
    return tuple(grads)


def _shifted(f, args, k, value):
    shifted = list(args)
    shifted[k] = value
    return f(*shifted)


def fd_check(name, python_primal, primal, hand_grad, args, wrt, tol=1e-6, eps=1e-6) -> bool:
    """Self-check one workload's non-srcgrad tools; prints a line and returns pass/fail.

    1. The Numba primal must agree with the plain-Python primal (so the primal
       timed is the same function srcgrad differentiates).
    2. The hand adjoint must agree with central differences of the primal
       (relative step ``eps``, see ``central_difference``).
    """
    py_val, nb_val = python_primal(*args), primal(*args)
    primal_err = abs(nb_val - py_val) / max(abs(py_val), 1e-300)
    fd_err = max_rel_error(hand_grad(*args), central_difference(primal, args, wrt, eps))
    ok = primal_err <= 1e-12 and fd_err <= tol
    print(f"{name}: loss={py_val:.12g}  |numba-python|/|python|={primal_err:.1e}  "
          f"hand vs central FD: max rel err={fd_err:.1e} (tol {tol:g})  {'OK' if ok else 'FAIL'}")
    return ok
