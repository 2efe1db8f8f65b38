"""Hypothesis-generated loops that carry state: straight-line bodies that read
and overwrite a few scalars every step (the shape of ODE steps and recurrent
cells), differentiated w.r.t. parameters, initial state and an input array,
compared with central differences. Exercises restoration from the tape and
the preaccumulated (Jacobian) backward step."""
import importlib.util
import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import srcgrad
from fd import assert_grad_matches_fd, short_mode

STATE = ("x", "y", "z")
LEAVES = ("x", "y", "z", "a", "b", "v[t]", "0.5", "1.3")
UNARY = ("math.sin({})", "math.tanh({})", "math.cos({})", "({}) * ({})", "math.exp(-({}) * ({}))")
BINARY = ("({} + {})", "({} - {})", "({} * {})", "({} / (1.5 + {} * {}))")
_counter = itertools.count()


@st.composite
def expressions(draw, depth=2):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(LEAVES))
    if draw(st.booleans()):
        inner = draw(expressions(depth - 1))
        template = draw(st.sampled_from(UNARY))
        return template.format(*([inner] * template.count("{}")))
    left, right = draw(expressions(depth - 1)), draw(expressions(depth - 1))
    template = draw(st.sampled_from(BINARY))
    return template.format(left, right, right) if template.count("{}") == 3 else template.format(left, right)


@st.composite
def programs(draw):
    lines = ["import math", "", "", "def f(a, b, x0, v):", "    x = x0", "    y = 0.5 * x0", "    z = b"]
    lines.append("    for t in range(len(v)):")
    for _ in range(draw(st.integers(2, 6))):
        target = draw(st.sampled_from(STATE + ("w",)))
        lines.append(f"        {target} = math.tanh({draw(expressions())})")
    lines.append("    return x + 2.0 * y - z")
    return "\n".join(lines) + "\n"


def _load(source, directory):
    path = directory / f"state_loop_{next(_counter)}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


@settings(max_examples=5 if short_mode() else 20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(source=programs(), a=st.floats(-1.2, 1.2), b=st.floats(-1.2, 1.2), x0=st.floats(-1.0, 1.0))
def test_state_loops_match_finite_differences(tmp_path, source, a, b, x0):
    if "w =" in source and "w" not in source.split("w =", 1)[0]:
        source = source.replace("    z = b\n", "    z = b\n    w = 0.0\n")
    f = _load(source, tmp_path)
    v = np.array([0.3, -0.7, 1.1, 0.2, -0.4])
    args = (a, b, x0, v)
    wrt = ("a", "b", "x0", "v")
    assert_grad_matches_fd(f, args, wrt, srcgrad.grad(f, wrt=wrt)(*args), rtol=1e-5, atol=1e-6)
