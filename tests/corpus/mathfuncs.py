"""Every math.* and np.* scalar function of the supported subset.

(abs/fabs, floor/ceil and math.pow are in scalars.py.)
"""

import math

import numpy as np

from ._registry import case


def math_exp_log(x):
    return math.exp(0.5 * x) + math.log(x) + math.log1p(x * x) + math.expm1(-x) + math.sqrt(x)


def _math_exp_log_grad(x):
    return (0.5 * math.exp(0.5 * x) + 1.0 / x + 2.0 * x / (1.0 + x * x)
            - math.exp(-x) + 0.5 / math.sqrt(x))


case(math_exp_log, args=(0.7,), wrt="x", expect=_math_exp_log_grad)


def math_trig(x, y):
    return math.sin(x * y) + math.cos(x) * math.tan(y)


def _math_trig_grad(x, y):
    gx = y * math.cos(x * y) - math.sin(x) * math.tan(y)
    gy = x * math.cos(x * y) + math.cos(x) / math.cos(y) ** 2
    return (gx, gy)


case(math_trig, args=(0.4, 0.9), wrt=("x", "y"), expect=_math_trig_grad)


def math_hyperbolic(x):
    return math.tanh(x) + math.sinh(0.5 * x) * math.cosh(x)


def _math_hyperbolic_grad(x):
    return (1.0 - math.tanh(x) ** 2 + 0.5 * math.cosh(0.5 * x) * math.cosh(x)
            + math.sinh(0.5 * x) * math.sinh(x))


case(math_hyperbolic, args=(0.6,), wrt="x", expect=_math_hyperbolic_grad)


def math_inverse(x, y):
    return (math.atan(x) + math.asin(0.5 * y) + math.acos(x * y)
            + math.atan2(y, x) + math.hypot(x, y))


def _math_inverse_grad(x, y):
    r2 = x * x + y * y
    r = math.sqrt(r2)
    dacos = -1.0 / math.sqrt(1.0 - (x * y) ** 2)
    gx = 1.0 / (1.0 + x * x) + dacos * y - y / r2 + x / r
    gy = 0.5 / math.sqrt(1.0 - 0.25 * y * y) + dacos * x + x / r2 + y / r
    return (gx, gy)


case(math_inverse, args=(0.6, 0.9), wrt=("x", "y"), expect=_math_inverse_grad)


def np_exp_log(x):
    return np.exp(-x) + np.log(2.0 * x) + np.log1p(x) + np.expm1(x * x) + np.sqrt(1.0 + x)


def _np_exp_log_grad(x):
    return (-math.exp(-x) + 1.0 / x + 1.0 / (1.0 + x) + 2.0 * x * math.exp(x * x)
            + 0.5 / math.sqrt(1.0 + x))


case(np_exp_log, args=(0.8,), wrt="x", expect=_np_exp_log_grad)


def np_trig(x):
    return (np.sin(x) * np.cos(2.0 * x) + np.tan(0.5 * x) + np.tanh(x)
            + np.sinh(x) - np.cosh(0.3 * x))


def _np_trig_grad(x):
    return (math.cos(x) * math.cos(2 * x) - 2.0 * math.sin(x) * math.sin(2 * x)
            + 0.5 / math.cos(0.5 * x) ** 2 + 1.0 - math.tanh(x) ** 2
            + math.cosh(x) - 0.3 * math.sinh(0.3 * x))


case(np_trig, args=(0.9,), wrt="x", expect=_np_trig_grad)


def np_inverse(x, y):
    return (np.arctan(x * y) + np.arcsin(x) + np.arccos(0.5 * y)
            + np.arctan2(x, y) + np.hypot(2.0 * x, y))


def _np_inverse_grad(x, y):
    q = 1.0 + (x * y) ** 2
    r2 = x * x + y * y
    h = math.sqrt(4 * x * x + y * y)
    gx = y / q + 1.0 / math.sqrt(1.0 - x * x) + y / r2 + 4.0 * x / h
    gy = x / q - 0.5 / math.sqrt(1.0 - 0.25 * y * y) - x / r2 + y / h
    return (gx, gy)


case(np_inverse, args=(0.3, -0.8), wrt=("x", "y"), expect=_np_inverse_grad)
