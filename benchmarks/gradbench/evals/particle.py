"""GradBench ``particle``: steer a charged particle to the origin, with nested derivatives.

Two fixed unit charges at (10, 10 - w) and (10, 0) make the potential
``potential(x0, x1, w) = 1/|x - (10, 10 - w)| + 1/|x - (10, 0)|``. The particle starts at
(0, 8) with velocity (0.75, 0) and is integrated by Euler steps of dt = 0.1 with
acceleration ``-grad_x potential`` until it crosses the x axis; ``F(w)`` is the square of
the crossing abscissa (linear interpolation in the last step). The output is
``argmin_w F(w)`` by the kit's gradient descent (``common.argmin``, gd.hpp), started at the
input w.

Both derivatives are srcgrad's, nested: the force inside ``F`` is a srcgrad gradient of
``potential`` (the *inner* derivative, the function name's second letter), and the
descent needs ``dF/dw`` (the *outer* one, the first letter), which srcgrad takes through
the Euler loop and through the inner gradient:

* inner ``r``: ``srcgrad.grad(potential, wrt=("x0", "x1"))`` (its reverse sweep, inlined
  into ``F``); inner ``f``: the same with ``mode="fwd"`` (one tangent sweep per
  component). The 2-D vectors are scalar components (x0, x1): an inner reverse gradient
  must be straight-line scalar code, an inner forward one needs scalar wrt parameters.
* outer ``r``: ``srcgrad.value_and_grad(F)`` (reverse sweep over the loop); outer ``f``:
  ``srcgrad.jvp(F, wrt="w")`` with tangent 1 (one forward sweep: the gradient of a
  function of one scalar).

``final_distance_r`` and ``final_distance_f`` are one primal (``flight_with``); they differ only in
which inner gradient object they call. The descent is a Python loop over srcgrad's
compiled code: ``F`` by the compiled primal, ``dF/dw`` by the compiled adjoint or
tangent code.
"""
import math

import srcgrad
from benchmarks.gradbench.common import Differentiated, Transformed, argmin, to_float


def potential(x0, x1, w):
    return 1.0 / math.hypot(x0 - 10.0, x1 - (10.0 - w)) + 1.0 / math.hypot(x0 - 10.0, x1)


force_rev = srcgrad.grad(potential, wrt=("x0", "x1"))                 # inner reverse mode
force_fwd = srcgrad.grad(potential, wrt=("x0", "x1"), mode="fwd")     # inner forward mode


def flight_with(force):
    """F with the given inner gradient of the potential (srcgrad reads it from the closure)."""

    def final_distance(w):
        """F(w): the square of the abscissa where the particle crosses the x axis."""
        x0, x1 = 0.0, 8.0
        v0, v1 = 0.75, 0.0
        dt = 0.1
        while True:
            g0, g1 = force(x0, x1, w)             # acceleration = -grad_x potential
            x0 = x0 + dt * v0
            x1 = x1 + dt * v1
            if x1 <= 0.0:
                break
            v0 = v0 - dt * g0
            v1 = v1 - dt * g1
        dt_f = -x1 / v1                           # back to the crossing of the x axis
        return (x0 + dt_f * v0) ** 2
    return final_distance


final_distance_r = flight_with(force_rev)
final_distance_f = flight_with(force_fwd)
FINAL_DISTANCE = {"r": final_distance_r, "f": final_distance_f}
REVERSE = {inner: Differentiated(F, wrt="w") for inner, F in FINAL_DISTANCE.items()}
FORWARD = {inner: Transformed(srcgrad.jvp(F, wrt="w")) for inner, F in FINAL_DISTANCE.items()}


def bind(function, w0):
    """A zero-argument callable running the descent for ``function`` ("rr", "ff", "fr", "rf")."""
    if function not in ("rr", "ff", "fr", "rf"):
        raise KeyError(f"particle has no function {function!r}")
    outer, inner = function
    primal, adjoint = REVERSE[inner].dispatchers(w0)      # F itself: the compiled primal
    if outer == "r":
        def gradient(x):
            return (adjoint(x[0], 1.0)[1],)
    else:
        tangent, _ = FORWARD[inner].bind("jvp", w0, extra=(1.0,))

        def gradient(x):
            return (tangent(x[0], 1.0)[1],)

    def objective(x):
        return primal(x[0])

    return lambda: argmin(objective, gradient, (w0,))[0]


def prepare(function, input):
    return bind(function, float(input["w"])), to_float


EXAMPLES = {name: {"w": 0.0, "min_runs": 1, "min_seconds": 0.0} for name in ("rr", "ff", "fr", "rf")}
