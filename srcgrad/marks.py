"""What users write in their code to steer differentiation.

- `stop_gradient(x)`: x's value, as a constant: no δ flows back through it
  (reverse mode), no tangent flows forward (forward mode);
- `@nondifferentiable` on a helper: its results are constants the same way
  (a lookup, a rounding, a step size chosen by a heuristic);
- `@custom_rule` on a helper: the user supplies its derivative as a rule of
  the table (`defvjp`: δ of each input from δ of the output, like the
  entries of `rules/scalar.py`; `defjvp` optionally: the tangent of the
  output). The helper's own code computes the value; srcgrad never looks
  inside it for derivatives.

        @srcgrad.custom_rule
        def softplus(x):
            return math.log1p(math.exp(x)) if x < 30.0 else x

        @softplus.defvjp
        def softplus_vjp(d_z, z, x):
            return d_z * (1.0 - math.exp(-z))        # σ(x) = 1 − e^(−softplus(x))

A rule's templates may use the rule's names (d_z, z, the inputs; t_<input>
in a jvp), numbers, arithmetic, comparisons, `a if c else b`, and math/np
functions srcgrad has rules for: the generated code inlines them, and forward
mode and Hessians differentiate them again.
"""
import ast
import builtins
import inspect
import math
import re
import textwrap

import numpy as np
from numba.extending import overload

from .errors import SrcgradError
from .rules import CALLS, RULES
from .rules.table import Rule


def stop_gradient(x):
    """x itself, treated by srcgrad as a constant (zero derivative)."""
    return x


@overload(stop_gradient)
def _stop_gradient_in_numba(x):        # (usable inside the user's own @njit code too)
    return lambda x: x


CALLS[stop_gradient] = "stop_gradient"


def nondifferentiable(func):
    """Mark a helper whose results srcgrad treats as constants."""
    func.__srcgrad_nondifferentiable__ = True
    return func


class custom_rule:  # noqa: N801  (used as a decorator, like functools.wraps)
    """A helper with a user-given derivative (see the module docstring)."""

    def __init__(self, func):
        self.func = func
        self.__name__ = func.__name__
        self.__doc__ = func.__doc__
        self.__wrapped_for_srcgrad__ = func
        self.inputs = tuple(inspect.signature(func).parameters)
        self.rule_name = "custom_" + re.sub(r"\W", "_", f"{func.__module__}_{func.__qualname__}")
        self.vjp = None
        self.jvp = None

    def __call__(self, *args):
        return self.func(*args)

    def __hash__(self):
        return id(self)

    def defvjp(self, vjp):
        """Register `vjp(d_z, z, *inputs)` returning one δ per input (0.0 for none)."""
        params = list(inspect.signature(vjp).parameters)
        want = ["d_z", "z", *self.inputs]
        if params != want:
            raise self._error(vjp, f"the vjp of {self.__name__} takes ({', '.join(params)})",
                              f"write it as def {vjp.__name__}({', '.join(want)})")
        self.vjp = self._templates(vjp, len(self.inputs))
        self._register()
        return vjp

    def defjvp(self, jvp):
        """Register `jvp(z, *inputs, *tangents)` returning the output's tangent
        (tangents named t_<input>; otherwise forward mode reads the vjp with δ := tangent)."""
        params = list(inspect.signature(jvp).parameters)
        want = ["z", *self.inputs, *(f"t_{x}" for x in self.inputs)]
        if params != want:
            raise self._error(jvp, f"the jvp of {self.__name__} takes ({', '.join(params)})",
                              f"write it as def {jvp.__name__}({', '.join(want)})")
        self.jvp = self._templates(jvp, 1)
        self._register()
        return jvp

    # -- the table entry ---------------------------------------------------------------------------
    def _register(self):
        if self.vjp is None:
            return          # (a jvp alone: registered once its vjp comes)
        # inputs, then the value the helper's own code computed (a constant: no δ reaches it)
        RULES[self.rule_name] = Rule(self.rule_name, self.inputs + ("value",), ast.Name("value", ast.Load()),
                                     self.vjp + (ast.Constant(0.0),), f"custom rule of {self.__name__}",
                                     ((-2.0, 2.0),) * (len(self.inputs) + 1), "float", False, True,
                                     jvp=self.jvp, written=f"{self.__name__}(...)")

    def _templates(self, func, count):
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
        body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
        if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
            raise self._error(func, f"{func.__name__} must be a single `return` of expressions",
                              "write the derivative as one expression per input")
        value = body[0].value
        exprs = tuple(value.elts) if isinstance(value, ast.Tuple) else (value,)
        if len(exprs) != count:
            raise self._error(func, f"{func.__name__} returns {len(exprs)} expression(s), expected {count}",
                              "return one expression per input of the helper")
        allowed = set(inspect.signature(func).parameters) | {"math", "np"}
        namespace = func.__globals__
        out = []
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Name) and node.id not in allowed:
                    raise self._error(func, f"{func.__name__} uses '{node.id}'",
                                      "a rule may use its parameters, numbers and math/np functions only")
                if isinstance(node, ast.Call):
                    called = _resolve(node.func, namespace)
                    if called is None or not (called in CALLS or called in (abs, max, min, float)):
                        raise self._error(func, f"{func.__name__} calls {ast.unparse(node.func)}, which has no "
                                          "rule in srcgrad", "use math/np elementary functions")
                    if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                        node.func.value.id = "np" if called is getattr(np, node.func.attr, None) else "math"
            out.append(expr)
        return tuple(out)

    def _error(self, func, message, hint):
        return SrcgradError(message, filename=inspect.getsourcefile(func),
                            lineno=func.__code__.co_firstlineno, construct="custom rule", hint=hint)


def _resolve(func, namespace):
    if isinstance(func, ast.Name):
        return namespace.get(func.id, getattr(builtins, func.id, None))
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        module = {"math": math, "np": np}.get(func.value.id, namespace.get(func.value.id))
        return getattr(module, func.attr, None)
    return None
