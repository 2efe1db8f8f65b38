"""Functions using srcgrad's marks: custom rules, nondifferentiable helpers, stop_gradient."""
import math

import numpy as np

import srcgrad


@srcgrad.custom_rule
def softplus(x):
    if x > 30.0:            # (its own code: srcgrad never differentiates it)
        return x
    return math.log1p(math.exp(x))


@softplus.defvjp
def softplus_vjp(d_z, z, x):
    return d_z * (1.0 - math.exp(-z))        # σ(x) = 1 − e^(−softplus(x))


def uses_softplus(w, x):
    return softplus(w * x) * w


@srcgrad.custom_rule
def capped_square(x, c):
    return min(x * x, c)


@capped_square.defvjp
def capped_square_vjp(d_z, z, x, c):
    return (2.0 * x * d_z if x * x < c else 0.0), (0.0 if x * x < c else d_z)


@capped_square.defjvp
def capped_square_jvp(z, x, c, t_x, t_c):
    return 2.0 * x * t_x if x * x < c else t_c


def uses_capped(x, c):
    return capped_square(x, c) * x


@srcgrad.custom_rule
def wrong_on_purpose(x):
    return x * x


@wrong_on_purpose.defvjp
def wrong_vjp(d_z, z, x):
    return d_z * 3.0          # the user's rule is what srcgrad uses (even when it is not x²'s derivative)


def uses_wrong(x):
    return wrong_on_purpose(x) + x


@srcgrad.nondifferentiable
def step_size(g):
    return 0.1 / (1.0 + abs(g))


def descent(x):
    for _ in range(3):
        g = 2.0 * x
        x = x - step_size(g) * g
    return x * x


def descent_reference(x):
    """descent(x) = x²·Π(1 − 2 s_k)² with the step sizes s_k constant: d/dx = 2 descent(x) / x."""
    return 2.0 * descent(x) / x


def stopped(x, y, v):
    a = srcgrad.stop_gradient(x * y) * x
    return a + np.sum(srcgrad.stop_gradient(v * x) * y)
