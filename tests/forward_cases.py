"""Vector-valued functions for the forward-mode, Jacobian and Hessian tests
(plain numeric code: loops, branches, element writes, while loops, broadcasting)."""
import math

import numpy as np


def lotka_volterra(p, y0):
    """Explicit Euler, 30 steps: the final state (2,) from 4 parameters and the start."""
    y = y0.copy()
    dt = 0.02
    for _ in range(30):
        prey = y[0] * (p[0] - p[1] * y[1])
        pred = y[1] * (p[2] * y[0] - p[3])
        y[0] += dt * prey
        y[1] += dt * pred
    return y


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def layer(W, b, x):
    """A 2-D output: tanh of a broadcast product plus a bias row."""
    return np.tanh(W * x + b)


def piecewise(x, a):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            out[i] = a * x[i] ** 2
        else:
            out[i] = math.sin(a * x[i])
    return out


def halve_until(x, c):
    """A data-dependent while loop: the trip count depends on the input."""
    y = x * c
    while np.sum(y * y) > 0.5:
        y = 0.5 * y + 0.01 * np.sin(y)
    return y


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def rosenbrock_hessian(x):
    """Closed form."""
    n = x.shape[0]
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i + 1, i + 1] += 200.0
        H[i, i + 1] -= 400.0 * x[i]
        H[i + 1, i] -= 400.0 * x[i]
    return H


def quadratic_form(x, A):
    return x @ (A @ x) + np.sum(np.exp(0.1 * x))


def mixed(x, y):
    """Two wrt arguments of different kinds (a vector and a scalar)."""
    return np.sum(x ** 2) * y + math.log(y) * x[0]


def writes_its_argument(x):
    x[0] = x[0] * 2.0
    return x * x


def neighbours(x, a):
    """out[i] depends on x[i-1], x[i], x[i+1] and on a[i % 2]: a banded Jacobian plus two dense-ish columns."""
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        left = x[i - 1] if i > 0 else 0.0
        right = x[i + 1] if i < n - 1 else 0.0
        out[i] = left * x[i] + math.sin(right) * a[i % 2] + x[i] ** 3
    return out


def neighbours_pattern(n):
    """Where the Jacobian of neighbours w.r.t. x and a may be non-zero."""
    px = np.zeros((n, n), dtype=bool)
    for i in range(n):
        px[i, max(i - 1, 0):min(i + 2, n)] = True
    pa = np.zeros((n, 2), dtype=bool)
    pa[np.arange(n), np.arange(n) % 2] = True
    return px, pa


def row_of(A, i):
    """A row (a view) of a matrix; its parameter `i` has the name the Jacobian driver loops use."""
    return A[i] * 1.0
