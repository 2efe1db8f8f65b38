"""The rule table: one entry per primitive, giving δ_in from δ_out.

A rule is written as a tiny Python function that reads like the lecture:
it receives δ of the output (`d_z`), the output `z`, then the inputs, and
returns one δ contribution per input. `reverse.py` never evaluates these
functions: it parses their `return` expression once and inlines it into the
generated adjoint with the real names substituted (Tangent-style templates).

    @rule("x * y", label="product: δ times the other side", domain=[(-3, 3), (-3, 3)])
    def mul(d_z, z, x, y):
        return d_z * y, d_z * x
"""
import ast
import inspect
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    name: str              # op name used in the IR
    inputs: tuple          # input parameter names of the template (x, y, …)
    primal: ast.expr       # forward expression over `inputs`
    vjp: tuple             # one δ expression per input, over d_z, z and inputs
    label: str             # the lecture's wording, printed in adjoint comments
    domain: tuple          # per input (lo, hi): where the rule test samples points
    result: str            # 'float', 'same' (int if all inputs int) or 'int'
    cheap: bool            # cheap enough to recompute instead of taping its output
    differentiable: bool
    jvp: tuple = None      # a custom rule's own tangent template (else forward mode reads vjp with δ := t_x)
    written: str = None    # how a user writes it, where the primal template is not that (stop_gradient)

    def primal_source(self):
        return ast.unparse(self.primal)


RULES = {}


def _template(func):
    """The returned expressions of a rule function, as a tuple of ASTs."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    ret = tree.body[0].body[-1]
    assert isinstance(ret, ast.Return), f"rule {func.__name__} must end in return"
    value = ret.value
    return tuple(value.elts) if isinstance(value, ast.Tuple) else (value,)


def rule(primal, *, label="chain through g'", domain=None, result="float", cheap=False, name=None):
    """Register a differentiable primitive (see module docstring)."""
    def register(func):
        params = list(inspect.signature(func).parameters)
        assert params[:2] == ["d_z", "z"], f"rule {func.__name__}: first parameters are d_z, z"
        inputs = tuple(params[2:])
        vjp = _template(func)
        assert len(vjp) == len(inputs), f"rule {func.__name__}: one δ per input"
        key = name or func.__name__.rstrip("_")
        RULES[key] = Rule(key, inputs, ast.parse(primal, mode="eval").body, vjp, label,
                          tuple(domain or [(-2.0, 2.0)] * len(inputs)), result, cheap, True)
        return func
    return register


def nondifferentiable(name, primal, inputs=("x",), result="float", domain=None,
                      label="zero gradient (piecewise constant)", written=None):
    """A primitive whose derivative is zero almost everywhere (floor, ceil, sign…),
    or declared zero (stop_gradient)."""
    zero = tuple(ast.Constant(0.0) for _ in inputs)
    RULES[name] = Rule(name, tuple(inputs), ast.parse(primal, mode="eval").body, zero, label,
                       tuple(domain or [(-2.3, 2.3)] * len(inputs)), result, True, False, written=written)
