"""Helper functions in the same module (inlined by srcgrad)."""

import math

import numpy as np

from ._registry import case


def _sq(t):
    return t * t


def _poly(t):
    return _sq(t) + 3.0 * t


def _clip_pos(t):
    if t < 0.0:
        return 0.1 * t
    return t


def _dot(a, b, n):
    s = 0.0
    for i in range(n):
        s += a[i] * b[i]
    return s


def _axpy(y, a, x):
    for i in range(len(x)):
        y[i] += a * x[i]


def helper_chain(x, y):
    return _poly(x * y) + _sq(y)


def _helper_chain_grad(x, y):
    u = x * y
    return ((2 * u + 3.0) * y, (2 * u + 3.0) * x + 2 * y)


case(helper_chain, args=(0.6, -1.4), wrt=("x", "y"), expect=_helper_chain_grad)


def helper_early_return(x):
    return _clip_pos(x - 1.0) + _clip_pos(2.0 * x - 5.0)


def _helper_early_return_grad(x):
    return (1.0 if x > 1.0 else 0.1) + (2.0 if x > 2.5 else 0.2)


case(helper_early_return, args=(2.0,), wrt="x", expect=_helper_early_return_grad)
case(helper_early_return, args=(0.5,), wrt="x", expect=_helper_early_return_grad)


def helper_array(w, x):
    return _dot(w, x, len(x)) + _dot(w, w, len(w))


def _helper_array_grad(w, x):
    return (x + 2.0 * w, w.copy())


case(helper_array, args=(np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.2, -0.7])), wrt=("w", "x"),
     expect=_helper_array_grad)


def helper_in_loop(x, n):
    for i in range(n):
        x = _poly(0.5 * x) * 0.1 + _sq(math.sin(x))
    return x


case(helper_in_loop, args=(0.8, 5), wrt="x")


def helper_axpy_local(x, a):
    n = len(x)
    y = np.zeros(n)
    _axpy(y, a, x)
    _axpy(y, a * a, x)
    s = 0.0
    for i in range(n):
        s += y[i] * y[i]
    return s


def _helper_axpy_local_grad(x, a):
    c = a + a * a
    sx = float(np.sum(x * x))
    return (2.0 * c * c * x, 2.0 * c * (1.0 + 2.0 * a) * sx)


case(helper_axpy_local, args=(np.array([0.5, -1.0, 2.0]), 0.6), wrt=("x", "a"),
     expect=_helper_axpy_local_grad)
