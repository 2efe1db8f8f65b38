"""Tool builders: turn (function, arguments) into the zero-arg callables the harness times.

Each builder returns a zero-arg *builder* for ``harness.build_tools``; building
happens lazily so an uninstalled or broken tool only removes itself from the
table.  A builder imports its package inside ``build`` and raises
``ToolUnavailable`` on ``ImportError``, so optional tools simply show up as
"skipped" where they are not installed.

Tools:

* ``call``          -- an already-compiled callable (the hand-written ``@njit`` adjoints).
* ``numba_primal``  -- ``numba.njit(f)``: the loss alone, no gradient.
* ``srcgrad_grad``  -- ``srcgrad.grad(f, wrt=...)`` called from Python on NumPy arrays.
* ``autograd_grad`` -- ``autograd.grad`` (tape of boxed NumPy calls, eager).
* ``torch_grad``    -- PyTorch eager: forward on float64 tensors + ``torch.autograd.grad``.
* ``jax_grad``      -- ``jax.jit(jax.grad(...))`` on float64 ``jax.Array`` s.

The peer builders (autograd, PyTorch, JAX) take ``make_loss(xp)``: a function
that receives the tool's array namespace (``autograd.numpy``, ``torch`` or
``jax.numpy``) and returns the loss written in that tool's idiom, so a workload
module never imports the optional packages itself.  ``wrt_indices`` are
argument positions; every peer returns a tuple of gradients in that order
(0-d results as Python floats / 0-d arrays), which the harness compares with
the hand adjoint.  Arguments are converted to the tool's array type once, at
build time (``torch.from_numpy`` shares memory, JAX copies to its CPU device),
so the timed call is forward + backward only, as for srcgrad on NumPy arrays.

All tools run in float64 on one thread: the thread-count environment variables
and ``JAX_ENABLE_X64`` are set in ``benchmarks/__init__.py`` before anything
imports NumPy, Numba or JAX; PyTorch's pools are limited here.
"""

from __future__ import annotations

import numbers

import numba
import numpy as np

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


def import_srcgrad_grad(f, wrt, skip_if_unsupported=False):
    """``srcgrad.grad(f, wrt=wrt)``, or ``ToolUnavailable`` if srcgrad cannot be used here.

    With ``skip_if_unsupported`` a rejection of ``f`` by srcgrad's fence (a
    ``SrcgradError`` about an unsupported construct, raised by ``grad`` itself)
    becomes ``ToolUnavailable`` -- "skipped", not "failed" -- for workloads that
    use features srcgrad does not support yet (e.g. array operations).  Any other
    error still fails the tool.
    """
    try:
        import srcgrad
    except ImportError as exc:
        raise ToolUnavailable(f"srcgrad does not import: {exc}") from exc
    if not hasattr(srcgrad, "grad"):  # e.g. the package is still being written
        raise ToolUnavailable("srcgrad imports but has no 'grad' yet")
    try:
        return srcgrad.grad(f, wrt=wrt)
    except Exception as exc:
        if skip_if_unsupported and _is_unsupported_construct(exc):
            raise ToolUnavailable(f"srcgrad does not support this function yet: {exc}") from exc
        raise


def _is_unsupported_construct(exc):
    """A ``SrcgradError`` about code srcgrad cannot differentiate (not about bad input)."""
    if type(exc).__name__ != "SrcgradError":
        return False
    construct = getattr(exc, "construct", None)
    return construct not in getattr(type(exc), "INPUT_ERRORS", ())


def skip_unsupported(fn, probe=None):
    """Wrap zero-arg ``fn`` so that srcgrad rejecting the code on the first (compiling) call
    raises ``ToolUnavailable`` (the harness then reports the tool as skipped).

    The rejection is a ``SrcgradError`` about an unsupported construct, raised by
    ``fn`` itself or -- when ``fn`` fails otherwise, e.g. Numba wrapping the error
    while compiling a caller of the gradient -- by ``probe()``, a direct call of
    the gradient from Python.  Every other error propagates unchanged.
    """
    def run():
        try:
            return fn()
        except ToolUnavailable:
            raise
        except Exception as exc:
            cause = exc
            if not _is_unsupported_construct(exc) and probe is not None:
                try:
                    probe()
                except Exception as probe_exc:  # noqa: BLE001 - only inspected
                    cause = probe_exc
            if _is_unsupported_construct(cause):
                raise ToolUnavailable(f"srcgrad does not support this function yet: {cause}") from cause
            raise
    return run


def srcgrad_grad(f, wrt, args, skip_if_unsupported=False):
    """Builder for ``srcgrad.grad(f, wrt=wrt)`` called from Python on ``args``.

    ``skip_if_unsupported``: see ``import_srcgrad_grad`` and ``skip_unsupported``.
    """
    def build():
        g = import_srcgrad_grad(f, wrt, skip_if_unsupported)

        def run():
            return g(*args)
        return skip_unsupported(run) if skip_if_unsupported else run
    return build


# ----------------------------------------------------------------------------- peers

def _import(name, install):
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ToolUnavailable(f"{name} does not import ({exc}); pip install {install}") from exc


def import_autograd():
    """``(autograd, autograd.numpy)``."""
    return _import("autograd", "autograd"), _import("autograd.numpy", "autograd")


def import_torch():
    """``torch``, limited to one intra-op and one inter-op thread."""
    torch = _import("torch", "torch==2.13.0")
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable once, before any inter-op work; already done then
        pass
    return torch


def import_jax():
    """``(jax, jax.numpy)`` with float64 enabled."""
    jax = _import("jax", "jax jaxlib")
    jnp = _import("jax.numpy", "jax jaxlib")
    jax.config.update("jax_enable_x64", True)  # normally already on via JAX_ENABLE_X64
    return jax, jnp


def autograd_grad(make_loss, wrt_indices, args):
    """Builder for ``autograd.grad(loss, argnum=wrt_indices)`` with ``loss = make_loss(autograd.numpy)``."""
    def build():
        autograd, anp = import_autograd()
        g = autograd.grad(make_loss(anp), argnum=tuple(wrt_indices))
        return lambda: g(*args)
    return build


def to_torch(torch, a, requires_grad=False):
    """NumPy float array -> float64 tensor sharing its memory; float -> 0-d tensor; ints unchanged."""
    if isinstance(a, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
        return t.requires_grad_(True) if requires_grad else t
    if isinstance(a, numbers.Integral) and not requires_grad:
        return a
    return torch.tensor(float(a), dtype=torch.float64, requires_grad=requires_grad)


def from_torch(t):
    """Gradient tensor -> NumPy array (no copy) or Python float for 0-d."""
    return t.item() if t.dim() == 0 else t.numpy()


def torch_grad(make_loss, wrt_indices, args):
    """Builder for PyTorch eager: ``torch.autograd.grad(loss(*tensors), wrt_tensors)``."""
    def build():
        torch = import_torch()
        loss = make_loss(torch)
        targs = [to_torch(torch, a, i in wrt_indices) for i, a in enumerate(args)]
        wrt = [targs[i] for i in wrt_indices]

        def run():
            return tuple(from_torch(g) for g in torch.autograd.grad(loss(*targs), wrt))
        return run
    return build


def to_jax(jnp, a):
    """NumPy array / float -> float64 ``jax.Array`` (ints stay Python ints: static arguments)."""
    if isinstance(a, numbers.Integral):
        return a
    return jnp.asarray(a, dtype=jnp.float64)


def jax_grad(make_loss, wrt_indices, args):
    """Builder for ``jax.jit(jax.grad(loss, argnums=wrt_indices))`` with ``loss = make_loss(jax.numpy)``.

    Integer arguments are static; the timed call blocks until the result is ready.
    """
    def build():
        jax, jnp = import_jax()
        jargs = [to_jax(jnp, a) for a in args]
        static = tuple(i for i, a in enumerate(jargs) if isinstance(a, numbers.Integral))
        g = jax.jit(jax.grad(make_loss(jnp), argnums=tuple(wrt_indices)), static_argnums=static)
        return lambda: jax.block_until_ready(g(*jargs))
    return build
