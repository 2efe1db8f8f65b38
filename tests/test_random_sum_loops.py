"""Hypothesis-generated sum-over-samples losses (the fused schedule): a loop
over samples whose iterations only add to sums, with per-sample code that
overwrites temporaries, branches, runs an inner loop over features, and code
after the loop that divides by the count or mixes the sums. Gradients vs
central differences."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import srcgrad
from fd import assert_grad_matches_fd, short_mode
from smooth_programs import expressions, load_function

LEAVES = ("z", "u", "w[0]", "w[1]", "b", "X[i, 0]", "X[i, 1]", "y[i]", "0.5")
AFTER = ("L / n", "L / n + 0.1 * S", "(L + S * S) / len(y)", "2.0 * L - S", "L * 0.5 + S / X.shape[0]")


@st.composite
def programs(draw):
    body = ["        z = b", "        for j in range(d):", "            z += w[j] * X[i, j]", "        u = 0.0"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 2))
        target = draw(st.sampled_from(("z", "u")))
        if kind == 0:
            body.append(f"        {target} = math.tanh({draw(expressions(LEAVES))})")
        elif kind == 1:
            body += [f"        if {draw(expressions(LEAVES, 1))} > 0.1:",
                     f"            {target} = {draw(expressions(LEAVES))}",
                     "        else:",
                     f"            {target} = 0.5 * {target}"]
        else:
            body += ["        for k in range(2):", f"            u = u * 0.5 + math.sin({draw(expressions(LEAVES, 1))})"]
    body.append(f"        L += {draw(expressions(LEAVES))}")
    body.append("        S += z * u")
    lines = ["import math", "", "", "def f(w, b, X, y):", "    n, d = X.shape", "    L = 0.0", "    S = 0.0",
             "    for i in range(n):"] + body + [f"    return {draw(st.sampled_from(AFTER))}"]
    return "\n".join(lines) + "\n"


@settings(max_examples=3 if short_mode() else 10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(source=programs(), seed=st.integers(0, 2 ** 16))
def test_sum_loops_match_finite_differences(tmp_path, source, seed):
    rng = np.random.default_rng(seed)
    args = (rng.uniform(-1, 1, 2), float(rng.uniform(-1, 1)), rng.uniform(-1, 1, (5, 2)), rng.uniform(0, 1, 5))
    f = load_function(source, tmp_path, "sum_loop")
    # keep away from the branch boundaries, where differences are not derivatives
    nudged = [args[0] + 1e-4, args[1] + 1e-4, args[2], args[3]]
    assume(abs(f(*args) - f(*nudged)) < 1e-2)
    wrt = ("w", "b")
    assert_grad_matches_fd(f, args, wrt, srcgrad.grad(f, wrt=wrt)(*args), rtol=1e-5, atol=1e-6)
    value, _ = srcgrad.value_and_grad(f, wrt=wrt)(*args)
    assert abs(value - f(*args)) <= 1e-9 * max(1.0, abs(value))
