"""GradBench ``hello``: ``square(x) = x * x`` and ``double`` = its derivative (by srcgrad)."""
from benchmarks.gradbench.common import Differentiated, to_float


def square(x):
    return x * x


SQUARE = Differentiated(square, wrt="x")


def prepare(function, input):
    x = float(input)
    if function == "square":
        return SQUARE.bind_primal(x), to_float
    if function == "double":
        value_and_grad = SQUARE.bind_value_and_grad(x)
        return value_and_grad, lambda out: float(out[1])
    raise KeyError(f"hello has no function {function!r}")


EXAMPLES = {"square": 1.0, "double": 1.0}
