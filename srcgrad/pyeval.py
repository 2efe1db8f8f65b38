"""Pieces of the normalized program evaluated by plain Python, for `explain`.

The rule table's templates (`rules.RULES`, `rules.arrays.variant`) are
compiled once per (rule, operand ranks, static arguments) into code objects
over `_a0, _a1, …` (the inputs), `_z` (the output) and `_dz` (its δ), and
evaluated in a namespace holding `math`, `np`, the compiled helpers of
`rules/kernels.py` and the two pseudo-calls of the array templates (`SHAPE`,
`BCAST`). So the interpreter computes x_k and δ's with the very expressions
the generated adjoint inlines: no derivative is written twice.
"""
import ast
import copy
import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from . import runtime
from .rules import RULES, arrays, kernels

# ops a δ flows through (as in activity.py): the differentiable rules and these
_FLOWS = {"copy", "float", "getitem", "array_copy", "slice", "dot"}


def _bcast(value, shape):
    """BCAST(e, SHAPE(x)) of the array templates: e spread to x's shape (a new array)."""
    return np.zeros(shape) + value


NAMESPACE = {name: getattr(kernels, name) for name in dir(kernels) if not name.startswith("_")}
NAMESPACE.update(math=math, np=np, digamma=runtime.digamma, polygamma=runtime.polygamma, SHAPE=np.shape, BCAST=_bcast)


@dataclass(frozen=True)
class Forms:
    """A rule's templates compiled for one case."""
    primal: object
    vjp: tuple               # code per input, None where the input gets no δ
    shown: ast.expr          # how a user writes the step, over the rule's input names
    inputs: tuple            # the rule's input names
    label: str               # the lecture's wording
    elementwise: bool        # a (lifted) scalar rule: g' is elementwise on same-shape inputs


def _compiled(expr, inputs):
    names = {name: f"_a{k}" for k, name in enumerate(inputs)}
    names.update(z="_z", d_z="_dz")

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            return ast.Name(names.get(node.id, node.id), ast.Load())
    tree = ast.Expression(Rename().visit(copy.deepcopy(expr)))
    return compile(ast.fix_missing_locations(tree), "<srcgrad rule>", "eval")


@cache
def rule_forms(op, ranks, static):
    """The compiled templates of `op` for operands of these ranks (0 = scalar);
    raises `arrays.Unsupported` where the table has no variant."""
    op = "copy" if op == "array_copy" else op
    if op == "dot" and any(ranks):
        variant, inputs, label = arrays.dot_variant(ranks, static), ("x", "y"), arrays.label("matmul")
    elif op in arrays.ARRAY_RULES:
        variant, inputs = arrays.variant(op, ranks, static), arrays.ARRAY_RULES[op].inputs[:len(ranks)]
        label = arrays.label(op)
    else:
        rule = RULES["mul" if op == "dot" else op]     # np.dot of two scalars is their product
        variant = arrays.variant(rule.name, ranks, static) if any(ranks) else rule
        inputs, label = rule.inputs, rule.label
    vjp = tuple(None if e is None else _compiled(e, inputs) for e in variant.vjp)
    return Forms(_compiled(variant.primal, inputs), vjp, _shown(op, variant, dict(static), len(ranks)),
                 inputs, label, op in RULES)


_SHOWN = {"matmul": "x @ y", "dot": "np.dot(x, y)", "outer": "np.outer(x, y)", "transpose": "x.T",
          "stretch": "np.broadcast_to(x, (n0, n1))", "cumsum": "np.cumsum(x{kw})"}


def _shown(op, variant, static, arity):
    """How a user writes the step: `np.exp(x)`, `np.sum(x, axis=0)`, `x @ y`."""
    if op == "reshape":
        return ast.parse("x.reshape(n0)" if arity == 2 else "x.reshape(n0, n1)", mode="eval").body
    if op in arrays.ARRAY_RULES or op == "dot":
        kwargs = ", ".join(f"{k}={v!r}" for k, v in static.items()
                           if (k, v) not in (("axis", None), ("keepdims", False)))
        text = _SHOWN.get(op) or arrays.ARRAY_RULES[op].usage
        return ast.parse(text.format(kw=", " + kwargs if kwargs else "", kwargs=kwargs), mode="eval").body
    shown = copy.deepcopy(variant.primal)
    for node in ast.walk(shown):        # the compiled kernels users reach through np.tanh
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in arrays.NUMPY_FORM:
            node.func = ast.Attribute(ast.Name("np", ast.Load()), arrays.NUMPY_FORM[node.func.id], ast.Load())
    return shown


def evaluate(code, inputs, z=None, d_z=None):
    """A compiled template's value for these inputs (and output, δ of the output)."""
    scope = {f"_a{k}": v for k, v in enumerate(inputs)}
    scope.update(_z=z, _dz=d_z)
    return plain(eval(code, NAMESPACE, scope))


def plain(value):
    """NumPy scalars as Python numbers (tables and graphs show Python values)."""
    return value.item() if isinstance(value, np.generic) else value


def rank(value):
    return np.ndim(value) if isinstance(value, np.ndarray) else 0


def is_float(value):
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    return isinstance(value, float)


def flows(op):
    """Whether a δ can flow from the op's output to its inputs."""
    return op in _FLOWS or op in arrays.ARRAY_RULES or (op in RULES and RULES[op].differentiable)


def numpy_index(values, spec):
    """The NumPy index of `x[...]`: the index values, or with a slice spec
    (see `program.SetItem`) slices, indices and new axes."""
    if spec is None:
        return tuple(values)
    values, out = iter(values), []
    for part in spec:
        if part == "i":
            out.append(next(values))
        elif part == "n":
            out.append(None)
        else:
            _, has_start, has_stop, has_step = part
            out.append(slice(*(next(values) if has else None for has in (has_start, has_stop, has_step))))
    return tuple(out)


def format_value(value, digits=6):
    """A value as the table and graph show it: numbers to `digits` significant
    digits, arrays as shape and norm (`array(3,) |.|=2.41`)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.{digits}g}"
        return text if any(c in text for c in ".eni") else text + ".0"     # a float looks like one
    if isinstance(value, np.ndarray):
        shape = f"array{value.shape}"
        if value.dtype.kind == "b":
            return f"{shape} {int(np.count_nonzero(value))} True"
        return f"{shape} |.|={float(np.linalg.norm(value.ravel().astype(float))):.{min(digits, 3)}g}"
    return str(value)
