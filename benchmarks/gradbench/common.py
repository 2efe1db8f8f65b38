"""Shared helpers of the GradBench evals: direct handles on srcgrad's compiled code."""
import math

import numba
import numpy as np

import srcgrad


class Differentiated:
    """``srcgrad.value_and_grad(f, wrt)`` with direct access to its compiled code.

    The public wrapper ``value_and_grad(f)(*args)`` checks and converts its
    arguments on every call (about 2 us); a GradBench evaluation repeats one
    call on the same arguments, so it binds them once, outside the timed
    region, to srcgrad's compiled pair for their kinds: ``compiled.primal``
    (the Numba-compiled primal srcgrad generated from ``f``) and
    ``compiled.adjoint`` (the generated adjoint: ``(value, *gradients)``).
    """

    def __init__(self, f, wrt):
        self.f = f
        self.value_and_grad = srcgrad.value_and_grad(f, wrt=wrt)

    def _compiled(self, args):
        gf = getattr(self.value_and_grad, "__srcgrad__", None)
        if gf is None or not hasattr(gf, "convert") or not hasattr(gf, "get"):
            return None, args
        values, kinds = gf.convert(args)
        return gf.get(kinds), tuple(values)

    def bind_value_and_grad(self, *args):
        """A zero-argument callable returning ``(value, *gradients)`` at ``args``."""
        compiled, values = self._compiled(args)
        if compiled is None:                 # no handle: the public API (tuple or single gradient)
            vg = self.value_and_grad
            return lambda: _flatten(vg(*args))
        adjoint = _compiled_for(compiled.adjoint, values + (1.0,))
        return lambda: adjoint(*values, 1.0)

    def bind_primal(self, *args):
        """A zero-argument callable returning ``f(*args)``, run by srcgrad's compiled primal."""
        compiled, values = self._compiled(args)
        if compiled is None:
            primal = _compiled_for(numba.njit(self.f), args)
            return lambda: primal(*args)
        primal = _compiled_for(compiled.primal, values)
        return lambda: primal(*values)

    def dispatchers(self, *args):
        """``(primal, adjoint)``: the compiled Numba dispatchers for the kinds of ``args``, to be
        called on other arguments of the same kinds: ``primal(*a)`` -> ``f(*a)`` and
        ``adjoint(*a, 1.0)`` -> ``(value, *gradients)``."""
        compiled, values = self._compiled(args)
        return _compiled_for(compiled.primal, values), _compiled_for(compiled.adjoint, values + (1.0,))


class Transformed:
    """A derivative transform of srcgrad (``srcgrad.jvp``/``hvp``/``jacobian``/... of ``f``) with
    direct access to its compiled code, as ``Differentiated`` for ``value_and_grad``.

    ``bind(kind, *args)`` converts the primal arguments once (outside the timed region) and
    returns ``(compiled, values)``: the Numba dispatcher srcgrad compiled for these argument
    kinds and the converted arguments. ``kind`` is ``"vjp"`` (``compiled(*values, u, 1.0)`` ->
    ``(_, *uᵀJ)``), ``"jvp"`` (``compiled(*values, *tangents)``
    -> ``(value, tangent)``), ``"hvp"`` (``compiled(*values, *vectors, 1.0)`` ->
    ``(_, *H·v)``), ``"jacfwd"``/``"jacrev"`` (``compiled(*values, m0, m1)`` -> one
    ``(m0*m1, size)`` block per wrt parameter) or ``"value"`` (the primal alone).
    """

    def __init__(self, wrapper):
        self.wrapper = wrapper
        self.transform = wrapper.__srcgrad_transform__

    def bind(self, kind, *args, extra=()):
        values, kinds = self.transform.gf.convert(args)
        values = tuple(values)
        compiled = self.transform.get((kind, kinds))
        dispatcher = {"jvp": lambda c: c.jvp, "hvp": lambda c: c.adjoint, "vjp": lambda c: c.adjoint}.get(
            kind, lambda c: c)(compiled)
        return _compiled_for(dispatcher, values + tuple(extra)), values


def _compiled_for(dispatcher, args):
    """The Numba dispatcher, compiled (or loaded from its cache) for these arguments' types now,
    not lazily in the first timed call."""
    dispatcher.compile(tuple(numba.typeof(a) for a in args))
    return dispatcher


def argmin(objective, gradient, x):
    """The gradient descent of GradBench's ``particle`` and ``saddle`` (kit ``src/cpp/gradbench/gd.hpp``,
    ``multivariate_argmin``), step for step: the evals' expected constants depend on it.

    ``x``: the start, a tuple of floats; ``objective(x)`` -> float, ``gradient(x)`` -> tuple of floats.
    """
    fx = objective(x)
    g = gradient(x)
    i = 0
    eta = 1e-5
    while True:
        if math.sqrt(_sum_of_squares(g)) <= 1e-5:
            return x
        if i == 10:
            eta *= 2
            i = 0
            continue
        x_new = tuple(xj - eta * gj for xj, gj in zip(x, g))
        if math.sqrt(_sum_of_squares(tuple(a - b for a, b in zip(x, x_new)))) <= 1e-5:
            return x
        f_new = objective(x_new)
        if f_new < fx:
            x, fx = x_new, f_new
            g = gradient(x)
            i += 1
        else:
            eta /= 2
            i = 0


def argmax(objective, gradient, x):
    """gd.hpp's ``multivariate_argmax``: ``argmin`` of the negated objective and gradient."""
    return argmin(lambda y: -objective(y), lambda y: tuple(-gj for gj in gradient(y)), x)


def _sum_of_squares(v):
    acc = 0.0
    for a in v:
        acc += a * a
    return acc


def _flatten(value_grads):
    value, grads = value_grads
    return (value,) + (tuple(grads) if isinstance(grads, tuple) else (grads,))


def floats(values):
    """A JSON list (of lists) of numbers as a float64 array."""
    return np.asarray(values, dtype=np.float64)


def to_float(value):
    return float(value)


def to_list(array):
    return np.asarray(array, dtype=np.float64).tolist()
