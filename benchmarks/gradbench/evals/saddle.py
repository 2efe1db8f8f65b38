"""GradBench ``saddle``: a saddle point of ``f(p1, p2) = |p1|^2 - |p2|^2``, with nested derivatives.

``G(p1) = max_{p2} f(p1, p2)``, the maximum found by the kit's gradient ascent
(gd.hpp's ``multivariate_argmax``, i.e. its descent on ``-f``) started at the input
``start``, written out inside ``G`` as a ``while`` loop with the same eta/i logic. Step 1:
``r1 = argmin_{p1} G(p1)`` by the descent (``common.argmin``) started at ``start``;
step 2: ``r2 = argmax_{p2} f(r1, p2)`` by the ascent (``common.argmax``), also from
``start``. Output ``r1 + r2``. The 2-D points are scalar components:
``f(x1, y1, x2, y2)`` as in the reference ``src/cpp/gradbench/evals/saddle.hpp``.

Both derivatives are srcgrad's, nested. The ascent inside ``G`` calls a srcgrad gradient
of ``f`` w.r.t. p2 (the *inner* derivative, the function name's second letter):
``srcgrad.grad(saddle_objective, wrt=("x2", "y2"))``, reverse (``r``) or ``mode="fwd"``
(``f``). The descent on ``G`` needs ``grad_{p1} G`` (the *outer* one, the first letter),
which srcgrad takes through the ascent loop and the inner gradient:
``srcgrad.value_and_grad(G, wrt=("x1", "y1"))`` (``r``) or two ``srcgrad.jvp`` sweeps,
one per component of p1 (``f``). Step 2 uses the inner gradient of the same mode (its
compiled code: the adjoint, resp. two tangent sweeps).

``max_over_p2_r`` and ``max_over_p2_f`` are one primal (``ascent_with``); they differ only in which
inner gradient object they call. The outer descent and the final ascent are Python
loops over srcgrad's compiled code.
"""
import math

import srcgrad
from benchmarks.gradbench.common import Differentiated, Transformed, argmax, argmin, to_list


def saddle_objective(x1, y1, x2, y2):
    return (x1 * x1 + y1 * y1) - (x2 * x2 + y2 * y2)


inner_rev = srcgrad.grad(saddle_objective, wrt=("x2", "y2"))                 # inner reverse mode
inner_fwd = srcgrad.grad(saddle_objective, wrt=("x2", "y2"), mode="fwd")     # inner forward mode


def ascent_with(inner_gradient):
    """G with the given inner gradient of f w.r.t. p2 (srcgrad reads it from the closure)."""

    def max_over_p2(x1, y1, s0, s1):
        """G(p1) = f(p1, argmax_{p2} f(p1, p2)), the ascent started at (s0, s1)."""
        x2, y2 = s0, s1
        fx = -saddle_objective(x1, y1, x2, y2)          # the ascent is a descent on -f
        g0, g1 = inner_gradient(x1, y1, x2, y2)
        g0, g1 = -g0, -g1
        i = 0
        eta = 1e-5
        while math.sqrt(g0 * g0 + g1 * g1) > 1e-5:
            if i == 10:
                eta = 2.0 * eta
                i = 0
            else:
                n0 = x2 - eta * g0
                n1 = y2 - eta * g1
                if math.sqrt((x2 - n0) * (x2 - n0) + (y2 - n1) * (y2 - n1)) <= 1e-5:
                    break
                f_new = -saddle_objective(x1, y1, n0, n1)
                if f_new < fx:
                    x2, y2 = n0, n1
                    fx = f_new
                    g0, g1 = inner_gradient(x1, y1, x2, y2)
                    g0, g1 = -g0, -g1
                    i += 1
                else:
                    eta = eta / 2.0
                    i = 0
        return saddle_objective(x1, y1, x2, y2)
    return max_over_p2


max_over_p2_r = ascent_with(inner_rev)
max_over_p2_f = ascent_with(inner_fwd)
MAX_OVER_P2 = {"r": max_over_p2_r, "f": max_over_p2_f}
OUTER_REVERSE = {inner: Differentiated(G, wrt=("x1", "y1")) for inner, G in MAX_OVER_P2.items()}
OUTER_FORWARD = {inner: Transformed(srcgrad.jvp(G, wrt=("x1", "y1"))) for inner, G in MAX_OVER_P2.items()}
INNER_REVERSE = Differentiated(saddle_objective, wrt=("x2", "y2"))
INNER_FORWARD = Transformed(srcgrad.jvp(saddle_objective, wrt=("x2", "y2")))


def bind(function, s0, s1):
    """A zero-argument callable computing ``r1 + r2`` for ``function`` ("rr", "ff", "fr", "rf")."""
    if function not in ("rr", "ff", "fr", "rf"):
        raise KeyError(f"saddle has no function {function!r}")
    outer, inner = function
    G, dG = OUTER_REVERSE[inner].dispatchers(s0, s1, s0, s1)       # G itself: the compiled primal
    if outer == "f":
        G_jvp, _ = OUTER_FORWARD[inner].bind("jvp", s0, s1, s0, s1, extra=(1.0, 0.0))

        def G_gradient(p):
            return (G_jvp(p[0], p[1], s0, s1, 1.0, 0.0)[1], G_jvp(p[0], p[1], s0, s1, 0.0, 1.0)[1])
    else:
        def G_gradient(p):
            return dG(p[0], p[1], s0, s1, 1.0)[1:]

    f, df = INNER_REVERSE.dispatchers(s0, s1, s0, s1)
    if inner == "f":
        f_jvp, _ = INNER_FORWARD.bind("jvp", s0, s1, s0, s1, extra=(1.0, 0.0))

    def compute():
        r1 = argmin(lambda p: G(p[0], p[1], s0, s1), G_gradient, (s0, s1))
        x1, y1 = r1
        if inner == "r":
            def f_gradient(p):
                return df(x1, y1, p[0], p[1], 1.0)[1:]
        else:
            def f_gradient(p):
                return (f_jvp(x1, y1, p[0], p[1], 1.0, 0.0)[1], f_jvp(x1, y1, p[0], p[1], 0.0, 1.0)[1])
        r2 = argmax(lambda p: f(x1, y1, p[0], p[1]), f_gradient, (s0, s1))
        return r1 + r2
    return compute


def prepare(function, input):
    s0, s1 = (float(s) for s in input["start"])
    return bind(function, s0, s1), to_list


EXAMPLES = {name: {"start": [1.0, 1.0], "min_runs": 1, "min_seconds": 0.0} for name in ("rr", "ff", "fr", "rf")}
