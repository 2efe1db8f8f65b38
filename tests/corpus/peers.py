"""Constructs seen in peer projects' test functions (Tangent, micrograd) and
in numeric code people write: chained calls, overwritten branches, swaps of
array elements, names that clash with srcgrad's own, bools in arithmetic."""
import math

import numpy as np

from ._registry import case


def _mul(a, b):
    return a * b


def _add(a, b):
    return a + b


def saxpy_call(a, b, c):
    return _add(_mul(a, b), c)


case(saxpy_call, args=(1.2, 0.7, -0.3), wrt=("a", "b", "c"), expect=lambda a, b, c: (b, a, 1.0))


def multiarg_if(a):
    if a * a / 3.0 > 0:
        b = 3.0
    else:
        b = 4.0
    a = a * b
    if a < b - a * b:
        a = a * a
    elif a > b + 3.0 * a:
        a = a / b
    else:
        a = -a
    return a


case(multiarg_if, args=(0.7,), wrt="a", expect=lambda a: -3.0)


def super_iterpower(a):
    for i in range(3):
        a = a * a * a
    return a


case(super_iterpower, args=(1.01,), wrt="a", expect=lambda a: 27.0 * a ** 26)


def micrograd_mix(x):
    z = 2 * x + 2 + x
    q = max(0.0, z) + z * x
    h = max(0.0, z * z)
    y = h + q + q * x
    return y


case(micrograd_mix, args=(-4.0,), wrt="x", expect=lambda x: 46.0)


def powers(x, y):
    return x ** 0.5 + x ** -1 + 2 ** x + abs(y) ** 1.5 + math.pow(x, 3) - y ** 2 + math.e ** y


def _powers_grad(x, y):
    dx = 0.5 / math.sqrt(x) - 1.0 / x ** 2 + math.log(2.0) * 2 ** x + 3 * x ** 2
    dy = -1.5 * math.sqrt(abs(y)) - 2 * y + math.exp(y)
    return dx, dy


case(powers, args=(1.3, -0.7), wrt=("x", "y"), expect=_powers_grad)


def bools_in_arithmetic(x, y):
    return (x > 0) * x + float(x > y) * y + int(x * 3) * x


case(bools_in_arithmetic, args=(0.7, 0.2), wrt=("x", "y"), expect=lambda x, y: (1.0 + 2.0, 1.0))


def srcgrad_names(x, tape_f, top_f, result, d_out):
    tape_i = 0.0
    for i in range(3):
        tape_i = tape_i * x + result
        x = x * 1.1
    return tape_i * tape_f + top_f + d_out


case(srcgrad_names, args=(0.7, 0.3, 0.1, 0.5, 0.2), wrt=("x", "tape_f", "top_f", "result", "d_out"))


def bubble_sort_weights(x):
    a = x.copy()
    n = len(a)
    for i in range(n):
        for j in range(n - 1 - i):
            if a[j] > a[j + 1]:
                a[j], a[j + 1] = a[j + 1], a[j]
    s = 0.0
    for i in range(n):
        s += a[i] * (i + 1)
    return s


case(bubble_sort_weights, args=(np.array([0.3, -1.0, 2.0, 0.7]),), wrt="x",
     expect=lambda x: np.array([2.0, 1.0, 4.0, 3.0]))


def keyword_helper_calls(x):
    return _scaled_square(x, k=3.0) + _scaled_square(k=0.5, a=x)


def _scaled_square(a, k=2.0):
    return a * k * a


case(keyword_helper_calls, args=(0.8,), wrt="x", expect=lambda x: 7.0 * x)


def _euler_step(x, y, a, h):
    fx = a * x - x * y
    fy = x * y - y
    return x + h * fx, y + h * fy


def ode_with_step_helper(a, x0, y0, h, n):          # a helper returning a tuple, unpacked
    x, y = x0, y0
    for t in range(n):
        x, y = _euler_step(x, y, a, h)
    return x * y


case(ode_with_step_helper, args=(1.1, 1.5, 0.8, 0.01, 30), wrt=("a", "x0", "y0"))


def _sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def helper_in_condition(w, x):
    s = 0.0
    for i in range(len(x)):
        if _sig(w * x[i]) > 0.5:
            s += w * x[i]
        else:
            s -= _sig(w * x[i]) * 0.1
    return s


case(helper_in_condition, args=(0.7, np.array([1.0, -2.0, 0.5])), wrt="w")


def reversed_loops(x):
    s = 0.0
    for i in reversed(range(len(x))):
        s = s * 0.5 + x[i]
    for i in reversed(range(1, 3)):
        s = s * x[i]
    return s


case(reversed_loops, args=(np.array([1.0, -2.0, 0.5, 0.3]),), wrt="x")


def _pair(x):
    if x > 1.0:
        return x, 2.0 * x
    return x * x, x


def tuple_helper_early_return(x):
    a, b = _pair(x)
    return a * b


case(tuple_helper_early_return, args=(0.7,), wrt="x", expect=lambda x: 3.0 * x * x)
case(tuple_helper_early_return, args=(1.7,), wrt="x", expect=lambda x: 4.0 * x)


def _residual(x, a):
    return x * x - a


def newton_helper_in_while(a):                    # a helper call in a while condition
    x = a
    k = 0
    while abs(_residual(x, a)) > 1e-12 * a and k < 60:
        k += 1
        if k % 2 == 0:
            x = x - _residual(x, a) / (2.0 * x)
            continue
        x = 0.5 * (x + a / x)
    return x


case(newton_helper_in_while, args=(2.0,), wrt="a", expect=lambda a: 0.5 / math.sqrt(a))


def shape_attributes(A, x):                       # np.zeros(A.shape), A.size, A.ndim
    B = np.zeros(A.shape)
    n, m = A.shape
    for i in range(n):
        for j in range(m):
            B[i, j] = A[i, j] * x[j]
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += B[i, j] * B[i, j]
    return s / A.size + A.ndim


case(shape_attributes, args=(np.arange(6.0).reshape(2, 3) / 5.0, np.array([0.5, -1.0, 2.0])), wrt=("A", "x"),
     expect=lambda A, x: (2.0 * A * x * x / A.size, 2.0 * (A * A).sum(axis=0) * x / A.size))
