"""Central finite differences as a benchmark *tool* ("fd"): the gradient from 2n primal calls.

``central_fd(primal, args, wrt_indices)`` is a builder like those in
``benchmarks.tools``: the callable it builds returns the tuple of gradients
w.r.t. the argument positions ``wrt_indices`` (float scalars and float64
arrays), each component from two calls of ``primal`` with that one component
moved by ``+-h``, ``h = eps * max(1, |x|)``.  It is the no-AD baseline: cost
grows with the number of inputs (2n primal calls), accuracy is ~1e-8 relative
instead of round-off, hence the harness's default ``rtol`` of 1e-5 for a tool
named "fd" (``harness.DEFAULT_TOOL_RTOL``).

The perturbed arguments are copies made once at build time and modified in
place, one component at a time and restored after, so the timed call is the
2n primal calls and nothing else (no array copy per component).  With more
than ``MAX_ELEMENTS`` inputs the builder raises ``ToolUnavailable``: the table
then says "skipped" with the count, instead of the suite spending minutes.
"""

from __future__ import annotations

import numpy as np

from .harness import ToolUnavailable

#: Largest number of scalar inputs FD is timed for (2 * 2000 primal calls per gradient).
MAX_ELEMENTS = 2000


def n_elements(args, wrt_indices):
    """Number of scalar inputs the gradient has: scalars count 1, arrays their size."""
    return sum(int(np.size(args[k])) for k in wrt_indices)


def central_fd(primal, args, wrt_indices, eps=1e-6, max_elements=MAX_ELEMENTS):
    """Builder of the zero-arg callable returning central-difference gradients of ``primal(*args)``."""
    wrt_indices = tuple(wrt_indices)

    def build():
        n = n_elements(args, wrt_indices)
        if n > max_elements:
            raise ToolUnavailable(f"{n} scalar inputs > {max_elements}: central differences would take "
                                  f"2n = {2 * n} primal calls per gradient")
        work = list(args)
        for k in wrt_indices:
            if np.ndim(args[k]) != 0:  # private copy, perturbed in place and restored
                work[k] = np.array(args[k], dtype=np.float64, copy=True)
        return lambda: gradient(primal, work, wrt_indices, eps)
    return build


def gradient(primal, work, wrt_indices, eps=1e-6):
    """Central differences of ``primal(*work)``; ``work`` (a list) is perturbed in place and restored.

    The denominator is the difference of the two perturbed values as actually
    stored (``x + h`` and ``x - h`` are rounded), not ``2 h``.
    """
    grads = []
    for k in wrt_indices:
        value = work[k]
        if np.ndim(value) == 0:
            x = float(value)
            h = eps * max(1.0, abs(x))
            work[k] = x + h
            f_plus = primal(*work)
            work[k] = x - h
            f_minus = primal(*work)
            work[k] = value
            grads.append((f_plus - f_minus) / ((x + h) - (x - h)))
            continue
        g = np.empty(value.shape)
        flat, g_flat = value.reshape(-1), g.reshape(-1)  # views: value is a contiguous private copy
        for i in range(flat.size):
            x = flat[i]
            h = eps * max(1.0, abs(x))
            flat[i] = x + h
            f_plus = primal(*work)
            flat[i] = x - h
            f_minus = primal(*work)
            flat[i] = x
            g_flat[i] = (f_plus - f_minus) / ((x + h) - (x - h))
        grads.append(g)
    return tuple(grads)
