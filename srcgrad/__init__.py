"""srcgrad: compiled source-transformation AD for numeric Python (reverse and forward mode).

    import srcgrad

    def neuron(w, b, x):
        return max(0.0, w * x + b)

    dneuron = srcgrad.grad(neuron, wrt=("w", "b"))
    dneuron(1.0, 1.0, 2.0)        # (2.0, 1.0): δ reaches w and b
    dneuron(-1.0, -1.0, 2.0)      # (0.0, 0.0): killed by the ReLU
    print(srcgrad.source(dneuron))  # the generated adjoint, as Python source

The gradient is generated ahead of time as Python source (loops reversed,
branches replayed, overwritten values restored from a tape) and compiled with
Numba, so scalar loops run at native speed.
"""
from .api import GradCheck, check_grad, grad, source, source_html, tape_size, value_and_grad
from .errors import SrcgradError
from .explain import Explanation, explain, graph
from .marks import custom_rule, nondifferentiable, stop_gradient
from .transforms import hessian, hvp, jacobian, jvp, vjp

__version__ = "0.1.0"
__all__ = ["grad", "value_and_grad", "source", "source_html", "tape_size", "check_grad", "GradCheck", "SrcgradError",
           "explain", "graph", "Explanation", "jvp", "vjp", "jacobian", "hvp", "hessian",
           "custom_rule", "nondifferentiable", "stop_gradient"]
