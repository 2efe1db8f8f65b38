"""Functions decorated with srcgrad at import time (imported by test_api only,
not part of CASES, so a decorator failure cannot break corpus collection)."""

import math

import srcgrad


@srcgrad.grad
def bare_decorated(x, y):
    return x * x * y + math.sin(y)


@srcgrad.grad(wrt=("w", "b"))
def param_decorated(w, b, x):
    z = w * x + b
    return 1.0 / (1.0 + math.exp(-z))


@srcgrad.value_and_grad
def vg_decorated(x):
    return x ** 3
