"""GradBench ``lse``: log-sum-exp of a vector (max-shifted) and its gradient."""
import numpy as np

from benchmarks.gradbench.common import Differentiated, floats, to_float, to_list


def logsumexp(x):
    a = np.max(x)
    return a + np.log(np.sum(np.exp(x - a)))


LSE = Differentiated(logsumexp, wrt="x")


def prepare(function, input):
    x = floats(input["x"])
    if function == "primal":
        return LSE.bind_primal(x), to_float
    if function == "gradient":
        return LSE.bind_value_and_grad(x), lambda out: to_list(out[1])
    raise KeyError(f"lse has no function {function!r}")


EXAMPLES = {"primal": {"x": [0.1, 0.5, 0.3]}, "gradient": {"x": [0.1, 0.5, 0.3]}}
