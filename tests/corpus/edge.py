"""Edge cases of the supported constructs (scoping, inlining, loop corner cases,
2-D local arrays, defaults, module constants)."""

import math

import numpy as np

from ._registry import case

DECAY = 0.3  # module-level constant read by a corpus function


def loopvar_after_loop(x, n):
    for i in range(n):
        x = x * 1.1
    return x * i  # Python keeps the last loop value


def _loopvar_after_loop_grad(x, n):
    return 1.1 ** n * (n - 1)


case(loopvar_after_loop, args=(1.3, 5), wrt="x", expect=_loopvar_after_loop_grad)


def zero_trip_loop(x, n):
    s = x
    for i in range(n):
        s = s * x
    return s


def _zero_trip_loop_grad(x, n):
    return (n + 1) * x ** n


case(zero_trip_loop, args=(1.3, 0), wrt="x", expect=_zero_trip_loop_grad)
case(zero_trip_loop, args=(1.3, 3), wrt="x", expect=_zero_trip_loop_grad)


def int_param_countdown(x, n):
    while n > 0:
        x = x * 1.5
        n -= 1
    return x


def _int_param_countdown_grad(x, n):
    return 1.5 ** n


case(int_param_countdown, args=(1.3, 4), wrt="x", expect=_int_param_countdown_grad)


def _sumsq_prefix(a, n):
    s = 0.0
    for i in range(n):
        s += a[i] * a[i]
    return s


def helper_name_clash(x):
    # the helper's `s` and `i` must not clobber the caller's
    s = 0.0
    for i in range(len(x)):
        s += x[i] * _sumsq_prefix(x, i + 1)
    return s


def _helper_name_clash_grad(x):
    n = len(x)
    pref = np.cumsum(x * x)
    g = pref.copy()
    for j in range(n):
        g[j] += 2.0 * x[j] * np.sum(x[j:])
    return g


case(helper_name_clash, args=(np.array([0.5, -1.0, 2.0, 0.3]),), wrt="x", expect=_helper_name_clash_grad)


def _first_above(a, thr):
    for i in range(len(a)):
        if a[i] > thr:
            return a[i] * 2.0
    return 0.0


def helper_return_in_loop(x):
    return _first_above(x, 0.4) + _first_above(x, 1.5) + _first_above(x, 9.0)


def _helper_return_in_loop_grad(x):
    g = np.zeros_like(x)
    for thr in (0.4, 1.5):
        g[int(np.argmax(x > thr))] += 2.0
    return g


case(helper_return_in_loop, args=(np.array([0.1, 0.5, 2.0, 0.3]),), wrt="x",
     expect=_helper_return_in_loop_grad)


def return_in_nested_loop(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(len(x)):
            s += x[i] * x[j]
            if s > 3.0:
                return s * x[0]
    return -s


case(return_in_nested_loop, args=(np.array([0.5, 1.0, 2.0]),), wrt="x")
case(return_in_nested_loop, args=(np.array([0.1, 0.2, 0.3]),), wrt="x")


def break_inner_loop(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(len(x)):
            if j > i:
                break
            s += x[i] * x[j]
    return s


def _break_inner_loop_grad(x):
    return np.cumsum(x) + np.cumsum(x[::-1])[::-1]


case(break_inner_loop, args=(np.array([0.5, -1.0, 2.0, 0.3]),), wrt="x", expect=_break_inner_loop_grad)


def chained_comparison(x):
    if 0.0 < x < 1.0:
        return x * x
    return x


def _chained_comparison_grad(x):
    return 2.0 * x if 0.0 < x < 1.0 else 1.0


case(chained_comparison, args=(0.5,), wrt="x", expect=_chained_comparison_grad)
case(chained_comparison, args=(1.5,), wrt="x", expect=_chained_comparison_grad)


def bool_variables(x):
    neg = x < 0.0
    if neg:
        x = -x
    big = x > 2.0 and not neg
    return x * 2.0 if big else x * x


def _bool_variables_grad(x):
    if x < 0.0:
        return 2.0 * x  # (-x)^2
    return 2.0 if x > 2.0 else 2.0 * x


case(bool_variables, args=(-2.5,), wrt="x", expect=_bool_variables_grad)
case(bool_variables, args=(2.5,), wrt="x", expect=_bool_variables_grad)


def default_argument(x, c=2.0):
    return c * x * x


def _default_argument_grad(x, c=2.0):
    return 2.0 * c * x


case(default_argument, args=(1.3,), wrt="x", expect=_default_argument_grad)


def module_constants(x):
    return DECAY * x * x + math.pi * x + np.e


def _module_constants_grad(x):
    return 2.0 * DECAY * x + math.pi


case(module_constants, args=(1.3,), wrt="x", expect=_module_constants_grad)


def floordiv_mod_ints(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            s += x * (i // 2)
    return s


def _floordiv_mod_ints_grad(x, n):
    return float(sum(i // 2 for i in range(n) if i % 2 == 0))


case(floordiv_mod_ints, args=(1.3, 7), wrt="x", expect=_floordiv_mod_ints_grad)


def rebind_array_param(x):
    x = x.copy()
    for i in range(len(x)):
        x[i] = x[i] * 3.0
    return x[0] + x[1] * x[2]


def _rebind_array_param_grad(x):
    return np.array([3.0, 9.0 * x[2], 9.0 * x[1]])


case(rebind_array_param, args=(np.array([0.5, -1.0, 2.0]),), wrt="x", expect=_rebind_array_param_grad)


def negative_index(x):
    return x[-1] * x[0] + x[len(x) - 2]


def _negative_index_grad(x):
    return np.array([x[2], 1.0, x[0]])


case(negative_index, args=(np.array([0.5, -1.0, 2.0]),), wrt="x", expect=_negative_index_grad)


def gram_local_2d(X):
    n, d = X.shape
    G = np.zeros((d, d))
    for i in range(d):
        for j in range(d):
            for k in range(n):
                G[i, j] += X[k, i] * X[k, j]
    s = 0.0
    for i in range(d):
        for j in range(d):
            s += G[i, j] * G[i, j]
    return s


def _gram_local_2d_grad(X):
    return 4.0 * X @ (X.T @ X)


_X43 = np.array([[1.0, 0.5, -0.2], [0.3, -1.0, 0.8], [2.0, 0.1, 0.4], [-0.5, 0.7, 1.5]])
case(gram_local_2d, args=(_X43,), wrt="X", expect=_gram_local_2d_grad)


def ones_2d_len_rows(A):
    n = len(A)
    m = A.shape[1]
    B = np.ones((n, m))
    for i in range(n):
        for j in range(m):
            B[i, j] = B[i, j] * A[i, j] + A[i][j] ** 2
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += B[i, j] * (i + 1.0)
    return s


def _ones_2d_len_rows_grad(A):
    return (1.0 + 2.0 * A) * (np.arange(A.shape[0])[:, None] + 1.0)


case(ones_2d_len_rows, args=(_X43,), wrt="A", expect=_ones_2d_len_rows_grad)


def long_condition(x, y):
    if math.sin(x) + math.cos(y) + math.tanh(x * y) + math.atan(x - y) + math.exp(-x * x) - (-0.75) >= 2.5:
        return x * y + math.sin(x) * math.cos(y) * math.tanh(x * y) * math.atan(x - y) * math.exp(-x * x) * 0.5
    return x + y


def _long_condition_grad(x, y):
    c = math.sin(x) + math.cos(y) + math.tanh(x * y) + math.atan(x - y) + math.exp(-x * x) + 0.75
    if c < 2.5:
        return (1.0, 1.0)
    a, b, t, q, e = math.sin(x), math.cos(y), math.tanh(x * y), math.atan(x - y), math.exp(-x * x)
    dt = 1.0 - t * t
    dq = 1.0 / (1.0 + (x - y) ** 2)
    gx = y + 0.5 * (math.cos(x) * b * t * q * e + a * b * dt * y * q * e + a * b * t * dq * e
                    + a * b * t * q * e * (-2.0 * x))
    gy = x + 0.5 * (a * -math.sin(y) * t * q * e + a * b * dt * x * q * e - a * b * t * dq * e)
    return (gx, gy)


case(long_condition, args=(0.9, 0.2), wrt=("x", "y"), expect=_long_condition_grad)
case(long_condition, args=(-0.5, 0.3), wrt=("x", "y"), expect=_long_condition_grad)
