"""GradBench ``llsq``: linear least squares of a polynomial fit to sign(t) on n points."""
import numpy as np

from benchmarks.gradbench.common import Differentiated, floats, to_float, to_list


def llsq_objective(x, n):
    """0.5 sum_i (s_i - sum_j x_j t_i^j)^2 with t_i = -1 + 2i/(n-1), s_i = sign(t_i)."""
    m = x.shape[0]
    total = 0.0
    for i in range(n):
        t = -1.0 + i * 2.0 / (n - 1)
        r = np.sign(t)
        power = 1.0
        for j in range(m):
            r -= x[j] * power
            power *= t
        total += r * r
    return total / 2.0


LLSQ = Differentiated(llsq_objective, wrt="x")


def prepare(function, input):
    x, n = floats(input["x"]), int(input["n"])
    if function == "primal":
        return LLSQ.bind_primal(x, n), to_float
    if function == "gradient":
        return LLSQ.bind_value_and_grad(x, n), lambda out: to_list(out[1])
    raise KeyError(f"llsq has no function {function!r}")


EXAMPLES = {"primal": {"x": [0.1, 0.2, 0.3], "n": 4}, "gradient": {"x": [0.1, 0.2, 0.3], "n": 4}}
