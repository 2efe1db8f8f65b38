"""Functions for tests/test_explain.py (srcgrad reads their source).

Each one shows one thing a δ table must get right: a loop, a long loop, a
branch, a while loop, a helper call, a value read twice, array programs.
"""
import math

import numpy as np


def poly_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
    return s * x


def logistic(r, x, n):
    for i in range(n):
        x = r * x * (1.0 - x)
    return x


def branch(x, y):
    if x > y:
        z = x * y
    else:
        z = x + y
    return z * z


def halve(x):
    k = 0.0
    while x > 1.0:
        x = x * 0.5
        k = k + 1.0
    return x * k


def scale(u, v):
    return u * v + math.sin(u)


def uses_helper(a, b):
    c = scale(a, b)
    return scale(c, a)


def square_shifted(x):
    z = x + 1.0
    return z * z


def layer(W, x, b):
    h = np.tanh(W @ x + b)
    return np.sum(h * h)


def fill(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[i]
    return np.sum(y[1:]) + 2.0 * y[0]


def log_of(x):
    return math.log(x)
