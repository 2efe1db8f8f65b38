"""Control flow: if/elif/else, early return, while loops with data-dependent
trip counts, break/continue, nested loops, range with 1-3 args and negative steps."""

import math

import numpy as np

from ._registry import case


def if_elif_else(x):
    if x < -1.0:
        y = -x * x
    elif x < 1.0:
        y = x * x * x
    else:
        y = 2.0 * x + 5.0
    return y + 0.5 * x


def _if_elif_else_grad(x):
    if x < -1.0:
        return -2.0 * x + 0.5
    if x < 1.0:
        return 3.0 * x * x + 0.5
    return 2.5


case(if_elif_else, args=(-2.0,), wrt="x", expect=_if_elif_else_grad)
case(if_elif_else, args=(0.5,), wrt="x", expect=_if_elif_else_grad)
case(if_elif_else, args=(3.0,), wrt="x", expect=_if_elif_else_grad)


def early_return_branches(x, y):
    if x > 2.0:
        return x * y
    y = y * y
    if y > 10.0:
        return y - x
    z = x + y
    return z * x


def _early_return_branches_grad(x, y):
    if x > 2.0:
        return (y, x)
    if y * y > 10.0:
        return (-1.0, 2.0 * y)
    return (2.0 * x + y * y, 2.0 * x * y)


case(early_return_branches, args=(3.0, 1.5), wrt=("x", "y"), expect=_early_return_branches_grad)
case(early_return_branches, args=(1.0, 4.0), wrt=("x", "y"), expect=_early_return_branches_grad)
case(early_return_branches, args=(1.0, 2.0), wrt=("x", "y"), expect=_early_return_branches_grad)


# --- Newton iteration: while loop with a data-dependent trip count -----------

def newton_sqrt(a):
    x = a if a > 1.0 else 1.0
    it = 0
    while abs(x * x - a) > 1e-14 * a and it < 50:
        x = 0.5 * (x + a / x)
        it += 1
    return x


def _newton_sqrt_grad(a):
    return 0.5 / math.sqrt(a)


case(newton_sqrt, args=(2.0,), wrt="a", expect=_newton_sqrt_grad, rtol=1e-7)
case(newton_sqrt, args=(30.0,), wrt="a", expect=_newton_sqrt_grad, rtol=1e-7)


def halving_loop(x):
    y = x
    while y > 1.0:
        y = 0.5 * y
    return y * y + y


def _halving_loop_grad(x):
    k = 0
    y = x
    while y > 1.0:
        y *= 0.5
        k += 1
    return (2.0 * y + 1.0) * 0.5 ** k


case(halving_loop, args=(5.3,), wrt="x", expect=_halving_loop_grad)
case(halving_loop, args=(0.7,), wrt="x", expect=_halving_loop_grad)


def loop_break(x, n):
    for i in range(n):
        x = 1.1 * x + 0.1
        if x > 5.0:
            break
    return x * x


def _loop_break_grad(x, n):
    k = 0
    for i in range(n):
        x = 1.1 * x + 0.1
        k += 1
        if x > 5.0:
            break
    return 2.0 * x * 1.1 ** k


case(loop_break, args=(1.0, 30), wrt="x", expect=_loop_break_grad)


def loop_continue(x):
    s = 0.0
    for i in range(10):
        if i == 3 or i == 7:
            continue
        t = x * float(i)
        if t > 4.0:
            continue
        s += t * t
    return s


def _loop_continue_grad(x):
    return 2.0 * x * sum(i * i for i in range(10) if i not in (3, 7) and x * i <= 4.0)


case(loop_continue, args=(0.9,), wrt="x", expect=_loop_continue_grad)


def early_return_loop(x):
    for i in range(20):
        x = x * x * 0.5 + 0.3
        if x > 3.0:
            return x * float(i)
    return -x


case(early_return_loop, args=(1.7,), wrt="x")
case(early_return_loop, args=(0.5,), wrt="x")


def logistic_map(r, x):
    for i in range(8):
        x = r * x * (1.0 - x)
    return x


def _logistic_map_grad(r, x):
    dr, dx = 0.0, 1.0  # forward-mode tangents of x w.r.t. r and x0
    for i in range(8):
        dr = x * (1.0 - x) + r * (1.0 - 2.0 * x) * dr
        dx = r * (1.0 - 2.0 * x) * dx
        x = r * x * (1.0 - x)
    return (dr, dx)


case(logistic_map, args=(3.2, 0.3), wrt=("r", "x"), expect=_logistic_map_grad)


def while_counter(x, n):
    k = 0
    acc = 0.0
    while k < n:
        acc = acc + x ** k / (k + 1.0)
        k += 1
    return acc


def _while_counter_grad(x, n):
    return sum(k * x ** (k - 1) / (k + 1.0) for k in range(1, n))


case(while_counter, args=(0.8, 6), wrt="x", expect=_while_counter_grad)


def while_break_continue(x):
    k = 0
    s = 0.0
    while k < 40:
        k += 1
        x = math.cos(x)
        if k < 3:
            continue
        s += x
        if abs(x - 0.739085) < 0.02:
            break
    return s + x * k


case(while_break_continue, args=(0.2,), wrt="x")


def horner(c, x):
    n = len(c)
    y = c[n - 1]
    for i in range(n - 2, -1, -1):
        y = y * x + c[i]
    return y


def _horner_grad(c, x):
    n = len(c)
    gc = np.array([x ** i for i in range(n)])
    gx = sum(i * c[i] * x ** (i - 1) for i in range(1, n))
    return (gc, gx)


case(horner, args=(np.array([1.0, -2.0, 0.5, 3.0, -1.5]), 0.7), wrt=("c", "x"),
     expect=_horner_grad)


def power_sum(x, n):
    s = 0
    p = 1.0
    for i in range(n):
        s += p / (i + 1)
        p *= x
    return s


def _power_sum_grad(x, n):
    return sum(i * x ** (i - 1) / (i + 1.0) for i in range(1, n))


case(power_sum, args=(1.2, 7), wrt="x", expect=_power_sum_grad)


def nested_loops_var_bounds(x, n):
    s = 0.0
    for i in range(n):
        for j in range(i, n):
            s += x[i] * x[j] * (j - i + 1)
    return s


def _nested_loops_var_bounds_grad(x, n):
    g = np.zeros_like(x)
    for i in range(n):
        for j in range(i, n):
            c = j - i + 1
            g[i] += c * x[j]
            g[j] += c * x[i]
    return g


case(nested_loops_var_bounds, args=(np.array([0.5, -1.0, 2.0, 0.25, 1.5, -0.75]), 5), wrt="x",
     expect=_nested_loops_var_bounds_grad)


def range_steps(x):
    s = 0.0
    for i in range(1, 8, 3):
        s += x[i] * x[i]
    for i in range(7, -1, -2):
        s = s * 0.5 + x[i]
    for i in range(len(x) - 1, 0, -3):
        s += x[i] * x[i - 1]
    return s


def _range_steps_grad(x):
    g = np.zeros_like(x)
    # s0 = sum_{i in 1,4,7} x_i^2 is halved 4 times by the second loop
    for i in (1, 4, 7):
        g[i] += 2.0 * x[i] * 0.5 ** 4
    # x_i added at step k (i = 7,5,3,1) is then halved (3 - k) more times
    for k, i in enumerate((7, 5, 3, 1)):
        g[i] += 0.5 ** (3 - k)
    for i in (7, 4, 1):
        g[i] += x[i - 1]
        g[i - 1] += x[i]
    return g


case(range_steps, args=(np.array([0.3, -0.2, 1.1, 0.9, -1.4, 0.6, 2.0, -0.8]),), wrt="x",
     expect=_range_steps_grad)


# --- while loops with a counter bound: room for all iterations reserved once ----------


def bounded_while_top(x, n):
    y = x
    k = 0
    while y < 1e6 and k < 300:           # at most 300 iterations: the tape is reserved for them at once
        y = y * 1.01 + math.sin(y)
        k = k + 1
    while y > 0.0 and k < n:             # a bound that is no constant: checked in chunks
        y = y - 0.5 * math.sqrt(y) - 1.0
        k += 1
    return y


case(bounded_while_top, args=(0.3, 320), wrt="x", note="300 iterations, more than the first tape holds")


def bounded_while_forms(x, b):
    s = 0.0
    for i in range(b.shape[0]):
        y = x * b[i]
        j = 1
        while 40 >= j and abs(y) > 1e-3:  # `C >= k`: at most C - k + 1 iterations
            y = 0.5 * y + math.tanh(y) * 0.1
            j += 1
        k = 2
        while k <= 30 and y > -5.0:       # k starts at 2 in every point
            y = y - 0.01 * y * y
            k += 1
            if y > 10.0:
                break
        s += y * y
    return s


case(bounded_while_forms, args=(0.9, np.array([0.5, -1.5, 2.0])), wrt="x",
     note="bounds written k <= C and C >= k, a break, the counter reset per point")


def unbounded_while_counters(x, b):
    s = 0.0
    k = 0                                  # not reset per point: no bound known before the for loop
    for i in range(b.shape[0]):
        y = x * b[i]
        m = 0
        while abs(y) > 1e-2 and k < 200:
            y = y * 0.7
            k = k + 1
            if y > 100.0:
                m = m + 1                  # stepped in a branch: no bound from m
        while m < 5 and y < 3.0:
            y = y + 0.3 * math.cos(y)
            if y < 2.0:
                m = m + 1
        s += y
    return s


case(unbounded_while_counters, args=(1.3, np.array([0.5, -1.5, 2.0, 40.0])), wrt="x",
     note="counters that give no bound: chunked while loops, as before")


def halve_until_small(x):
    y = x
    while True:
        y = y * 0.5
        if y < 0.1:
            return y * y


case(halve_until_small, args=(1.0,), wrt="x", expect=lambda x: 2.0 * x / 256.0,
     note="`while True:` left only by return (y = x/16 for x = 1): no fall-through path")
