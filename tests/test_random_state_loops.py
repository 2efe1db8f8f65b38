"""Hypothesis-generated loops that carry state: straight-line bodies that read
and overwrite a few scalars every step (the shape of ODE steps and recurrent
cells), differentiated w.r.t. parameters, initial state and an input array,
compared with central differences. Exercises restoration from the tape and
the preaccumulated (Jacobian) backward step."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import srcgrad
from fd import assert_grad_matches_fd, short_mode
from smooth_programs import expressions, load_function

STATE = ("x", "y", "z")
LEAVES = ("x", "y", "z", "a", "b", "v[t]", "0.5", "1.3")


@st.composite
def programs(draw):
    lines = ["import math", "", "", "def f(a, b, x0, v):", "    x = x0", "    y = 0.5 * x0", "    z = b"]
    lines.append("    for t in range(len(v)):")
    for _ in range(draw(st.integers(2, 6))):
        target = draw(st.sampled_from(STATE + ("w",)))
        lines.append(f"        {target} = math.tanh({draw(expressions(LEAVES))})")
    lines.append("    return x + 2.0 * y - z")
    return "\n".join(lines) + "\n"


@settings(max_examples=5 if short_mode() else 20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(source=programs(), a=st.floats(-1.2, 1.2), b=st.floats(-1.2, 1.2), x0=st.floats(-1.0, 1.0))
def test_state_loops_match_finite_differences(tmp_path, source, a, b, x0):
    if "w =" in source and "w" not in source.split("w =", 1)[0]:
        source = source.replace("    z = b\n", "    z = b\n    w = 0.0\n")
    f = load_function(source, tmp_path, "state_loop")
    v = np.array([0.3, -0.7, 1.1, 0.2, -0.4])
    args = (a, b, x0, v)
    wrt = ("a", "b", "x0", "v")
    assert_grad_matches_fd(f, args, wrt, srcgrad.grad(f, wrt=wrt)(*args), rtol=1e-5, atol=1e-6)
