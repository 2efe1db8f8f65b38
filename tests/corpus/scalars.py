"""Scalar straight-line code, branches on scalars, builtins."""

import math

import numpy as np

from ._registry import case


# --- lecture example: sigmoid perceptron loss -------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def perceptron_loss(w1, w2, b, x1, x2, y):
    z = w1 * x1 + w2 * x2 + b
    L = (y - sigmoid(z)) ** 2
    return L


def _perceptron_loss_grad(w1, w2, b, x1, x2, y):
    s = 1.0 / (1.0 + math.exp(-(w1 * x1 + w2 * x2 + b)))
    d = -2.0 * (y - s) * s * (1.0 - s)
    return (d * x1, d * x2, d)


case(perceptron_loss, args=(0.3, -0.7, 0.1, 1.5, 0.5, 1.0), wrt=("w1", "w2", "b"),
     expect=_perceptron_loss_grad)


# --- lecture example: ReLU neuron --------------------------------------------

def relu_neuron(w, b, x):
    y = max(0, w * x + b)
    return y


def _relu_active(w, b, x):
    return (2.0, 1.0)  # dy/dw = x = 2, dy/db = 1


def _relu_dead(w, b, x):
    return (0.0, 0.0)


case(relu_neuron, args=(1.0, 1.0, 2.0), wrt=("w", "b"), expect=_relu_active, exact=True)
case(relu_neuron, args=(-1.0, -1.0, 2.0), wrt=("w", "b"), expect=_relu_dead, exact=True)


# --- arithmetic: + - * / ** unary minus --------------------------------------

def poly_straight(x):
    y = -x ** 3 / 4.0 + 2.5 * x ** 2.5 - 1.0 / x + 7.0
    return y


def _poly_straight_grad(x):
    return -0.75 * x ** 2 + 6.25 * x ** 1.5 + 1.0 / x ** 2


case(poly_straight, args=(1.3,), wrt="x", expect=_poly_straight_grad)


# --- parameters reassigned ---------------------------------------------------

def params_reassigned(x, y):
    x = x * y
    y = x + y
    x = x * x
    return x - y


def _params_reassigned_grad(x, y):
    # x^2 y^2 - x y - y
    return (2 * x * y * y - y, 2 * x * x * y - x - 1.0)


case(params_reassigned, args=(0.7, -1.3), wrt=("x", "y"), expect=_params_reassigned_grad)


# --- unused parameter: zero gradient ----------------------------------------

def unused_param(x, unused, y):
    return x * y + 2.0 * x


def _unused_param_grad(x, unused, y):
    return (y + 2.0, 0.0, x)


case(unused_param, args=(1.5, 3.0, -0.5), wrt=("x", "unused", "y"),
     expect=_unused_param_grad, exact=True)


# --- tuple swap in a loop (Fibonacci recurrence) ------------------------------

def fib_swap(a, b, n):
    for i in range(n):
        a, b = b, a + b
    return a + 0.5 * b


def _fib_swap_grad(a, b, n):
    M = np.array([[0.0, 1.0], [1.0, 1.0]])
    J = np.linalg.matrix_power(M, n)  # (a_n, b_n) = J (a, b)
    g = np.array([1.0, 0.5]) @ J
    return (float(g[0]), float(g[1]))


case(fib_swap, args=(0.3, 0.8, 9), wrt=("a", "b"), expect=_fib_swap_grad)


# --- tuple assignment ---------------------------------------------------------

def tuple_assign(x, y):
    u, v = x * y, x + y
    return u * v - v


def _tuple_assign_grad(x, y):
    return (2 * x * y + y * y - 1.0, x * x + 2 * x * y - 1.0)


case(tuple_assign, args=(1.1, -0.4), wrt=("x", "y"), expect=_tuple_assign_grad)


# --- ternary -----------------------------------------------------------------

def ternary(x, y):
    r = x * y if x > y else x - y * y
    return r + x


def _ternary_grad(x, y):
    return (y + 1.0, x) if x > y else (2.0, -2.0 * y)


case(ternary, args=(2.0, 1.0), wrt=("x", "y"), expect=_ternary_grad)
case(ternary, args=(0.5, 1.5), wrt=("x", "y"), expect=_ternary_grad)


# --- and / or / not in conditions ----------------------------------------------

def and_or_not(x, y):
    r = 0.0
    if (x > 0.0 and y > 0.0) or not (x > -1.0):
        r = x * y
    else:
        r = x + y
    if not (x > 2.0) and y < 5.0:
        r = r * x
    return r


def _and_or_not_grad(x, y):
    if (x > 0.0 and y > 0.0) or not (x > -1.0):
        return (2 * x * y, x * x)  # r = x^2 y
    return (2 * x + y, x)  # r = x^2 + x y


case(and_or_not, args=(0.5, 0.8), wrt=("x", "y"), expect=_and_or_not_grad)
case(and_or_not, args=(-2.0, 0.7), wrt=("x", "y"), expect=_and_or_not_grad)
case(and_or_not, args=(-0.5, 1.0), wrt=("x", "y"), expect=_and_or_not_grad)


# --- min / max with 2 and 3 arguments ------------------------------------------

def min_max(x, y, z):
    return min(x, y) * 2.0 + max(x, y, z) + min(x, y, z) * 3.0 + max(x, 1.0)


def _min_max_grad(x, y, z):
    g = [0.0, 0.0, 0.0]
    v = (x, y, z)
    g[0 if x < y else 1] += 2.0
    g[int(np.argmax(v))] += 1.0
    g[int(np.argmin(v))] += 3.0
    if x > 1.0:
        g[0] += 1.0
    return tuple(g)


case(min_max, args=(0.5, 1.5, -1.0), wrt=("x", "y", "z"), expect=_min_max_grad, exact=True)
case(min_max, args=(2.0, 0.3, 1.0), wrt=("x", "y", "z"), expect=_min_max_grad, exact=True)


# --- abs / fabs ---------------------------------------------------------------

def abs_fabs(x, y):
    return abs(x) * y + math.fabs(y - x) + np.abs(x * y) + np.fabs(y)


def _abs_fabs_grad(x, y):
    s1, s2, s3, s4 = np.sign(x), np.sign(y - x), np.sign(x * y), np.sign(y)
    gx = s1 * y - s2 + s3 * y
    gy = abs(x) + s2 + s3 * x + s4
    return (float(gx), float(gy))


case(abs_fabs, args=(-1.5, 0.7), wrt=("x", "y"), expect=_abs_fabs_grad)


# --- floor / ceil: zero gradient ------------------------------------------------

def floor_ceil(x):
    return math.floor(x) * x + math.ceil(x * 2.0) + np.floor(x) * np.ceil(x) + x


def _floor_ceil_grad(x):
    return float(math.floor(x)) + 1.0


case(floor_ceil, args=(2.3,), wrt="x", expect=_floor_ceil_grad, exact=True)


# --- float() / int() -----------------------------------------------------------

def float_int(x, n):
    k = int(x * 3.0)
    return float(n) * x + k * x + float(k)


def _float_int_grad(x, n):
    return float(n + int(x * 3.0))


case(float_int, args=(1.7, 3), wrt="x", expect=_float_int_grad, exact=True)


# --- integer counters and boolean flags --------------------------------------------

def counters_flags(x):
    count = 0
    flag = False
    for i in range(12):
        x = 0.9 * x + 0.2 * math.sin(x)
        if x > 0.5:
            count += 1
            flag = True
    bonus = 1.0 if flag else 0.0
    return x * count + bonus


case(counters_flags, args=(0.3,), wrt="x")


# --- powers: ** with float/int/negative exponents, math.pow, variable base and exponent ---

def pow_forms(x, y):
    return x ** y + math.pow(y, x) + x ** 2 + y ** -1.5 + 2.0 ** x


def _pow_forms_grad(x, y):
    gx = y * x ** (y - 1) + y ** x * math.log(y) + 2 * x + 2.0 ** x * math.log(2.0)
    gy = x ** y * math.log(x) + x * y ** (x - 1) - 1.5 * y ** -2.5
    return (gx, gy)


case(pow_forms, args=(1.3, 0.8), wrt=("x", "y"), expect=_pow_forms_grad)
