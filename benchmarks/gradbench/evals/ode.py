"""GradBench ``ode``: y' = (x_0, x_1 y_0, ..., x_{n-1} y_{n-2}), y(0) = 0, integrated to t = 2
with s classic Runge-Kutta steps; the gradient of the last component y_{n-1}(2) w.r.t. x.

Written like the reference (``src/cpp/gradbench/evals/ode.hpp``): the right-hand
side fills a preallocated vector, each stage is an element loop. ``solve`` (the
``primal`` output, a vector) is compiled with ``numba.njit``; srcgrad inlines it
into ``last_component`` (the scalar whose gradient is asked for) and
differentiates through all s steps.
"""
import numba
import numpy as np

from benchmarks.gradbench.common import Differentiated, floats, to_list


@numba.njit(cache=True)
def rhs(x, y, z):
    """z = f(y) = (x_0, x_1 y_0, x_2 y_1, ...)."""
    z[0] = x[0]
    for i in range(1, x.shape[0]):
        z[i] = x[i] * y[i - 1]


@numba.njit(cache=True)
def solve(x, s):
    """y(2) after s RK4 steps of size h = 2 / s."""
    n = x.shape[0]
    h = 2.0 / s
    y = np.zeros(n)
    k1 = np.zeros(n)
    k2 = np.zeros(n)
    k3 = np.zeros(n)
    k4 = np.zeros(n)
    y_tmp = np.zeros(n)
    for _ in range(s):
        rhs(x, y, k1)
        for i in range(n):
            y_tmp[i] = y[i] + h * k1[i] / 2.0
        rhs(x, y_tmp, k2)
        for i in range(n):
            y_tmp[i] = y[i] + h * k2[i] / 2.0
        rhs(x, y_tmp, k3)
        for i in range(n):
            y_tmp[i] = y[i] + h * k3[i]
        rhs(x, y_tmp, k4)
        for i in range(n):
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0
    return y


def last_component(x, s):
    """y_{n-1}(2): the scalar whose gradient the eval asks for."""
    y = solve(x, s)
    return y[x.shape[0] - 1]


LAST = Differentiated(last_component, wrt="x")


def prepare(function, input):
    x, s = floats(input["x"]), int(input["s"])
    if function == "primal":
        return (lambda: solve(x, s)), to_list
    if function == "gradient":
        return LAST.bind_value_and_grad(x, s), lambda out: to_list(out[1])
    raise KeyError(f"ode has no function {function!r}")


EXAMPLES = {"primal": {"x": [0.5, 0.6, 0.7], "s": 2}, "gradient": {"x": [0.5, 0.6, 0.7], "s": 2}}
