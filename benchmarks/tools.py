"""Tool builders: turn (function, arguments) into the zero-arg callables the harness times.

Each builder returns a zero-arg *builder* for ``harness.build_tools``; building
happens lazily so an uninstalled or broken tool only removes itself from the
table.  To add a tool (autograd, PyTorch, JAX, ...) write one more function
here that imports its package inside ``build`` and raises
``ToolUnavailable`` on ``ImportError``, then list it in the workloads'
``builders`` dicts.
"""

from __future__ import annotations

import numba

from .harness import ToolUnavailable


def call(fn, args):
    """Builder for an already-compiled callable (e.g. a hand-written ``@njit`` adjoint)."""
    return lambda: (lambda: fn(*args))


def numba_primal(f, args):
    """Builder for the primal ``f`` compiled with ``numba.njit`` (no gradient)."""
    def build():
        primal = numba.njit(cache=True)(f)
        return lambda: primal(*args)
    return build


def srcgrad_grad(f, wrt, args):
    """Builder for ``srcgrad.grad(f, wrt=wrt)`` called from Python on ``args``."""
    def build():
        try:
            import srcgrad
        except ImportError as exc:
            raise ToolUnavailable(f"srcgrad does not import: {exc}") from exc
        if not hasattr(srcgrad, "grad"):  # e.g. the package is still being written
            raise ToolUnavailable("srcgrad imports but has no 'grad' yet")
        g = srcgrad.grad(f, wrt=wrt)
        return lambda: g(*args)
    return build
