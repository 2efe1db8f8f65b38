"""Array rules: the same δ recurrences on whole NumPy arrays.

Two kinds of entries:

- every scalar rule of `scalar.py` is *lifted* to arrays automatically:
  ``math.exp`` becomes ``np.exp``, ``a if c else b`` becomes
  ``where_elementwise(c, a, b)`` (``np.where`` as a ufunc), and each input's δ is summed back over the axes the
  input was broadcast along (``ub21(δ, SHAPE(b))`` for a bias row added to a
  matrix; ``sum_all2(δ)``, the sum of all elements, for a scalar). So the
  lecture's sum, product, max and chain rules hold elementwise, with broadcasting;
- array primitives with their own algebra (``@``, ``np.outer``, ``.T``,
  ``reshape``, reductions with ``axis=``/``keepdims=``, ``np.cumsum``):

      @array_rule("matmul", ("x", "y"), label="matmul: δ·yᵀ to x, xᵀ·δ to y",
                  samples=[((3, 4), (4, 2)), ...])
      def matmul(ranks, static):
          if ranks == (2, 2):
              return "x @ y", ("d_z @ y.T", "x.T @ d_z"), 2

A variant is chosen from the operands' static ranks (0 = scalar) and the
op's static arguments (`axis`, `keepdims`). Templates may use two
pseudo-calls the generator resolves: ``SHAPE(x)`` (x's shape: read from x,
or from the tape when x was overwritten: only the shape is kept, not x) and
``BCAST(e, SHAPE(x))`` (e broadcast to x's shape: ``d_x += e`` in place).
Helpers such as ``ub21`` live in `kernels.py`; those in `IN_PLACE` have a
twin that adds into an existing δ (``route_axis_add(d_x, …)`` instead of
``d_x += route_axis(…)``: no zero array, no extra pass).
"""
import ast
from dataclasses import dataclass
from functools import lru_cache

from .table import RULES


@dataclass(frozen=True)
class Variant:
    primal: ast.expr          # over the rule's input names
    vjp: tuple                # one expression (or None: no δ) per input
    rank: int                 # rank of the result (0: a scalar)


@dataclass(frozen=True)
class ArrayRule:
    name: str
    inputs: tuple
    build: object             # (ranks, static dict) -> (primal, vjp, rank) or None
    label: str
    samples: tuple            # ((shapes per input), static) configurations the rule test runs
    usage: str                # how a user writes it; {kw}: ", axis=0", {kwargs}: "axis=0"

    def written(self, static):
        """The user-level source of one sample, e.g. `np.sum(x, axis=0)`."""
        kwargs = ", ".join(f"{k}={v!r}" for k, v in static.items() if k != "shape")
        return self.usage.format(kw=", " + kwargs if kwargs else "", kwargs=kwargs, shape=static.get("shape"))


ARRAY_RULES = {}

# helpers whose δ is zero but for a few elements: `reverse` adds into an existing δ with the twin
IN_PLACE = {"route_all1": "route_all1_add", "route_all2": "route_all2_add", "route_axis": "route_axis_add"}


class Unsupported(Exception):
    """No variant of the rule for these ranks / arguments (message says why)."""


def array_rule(name, inputs, *, label, samples, usage):
    def register(build):
        ARRAY_RULES[name] = ArrayRule(name, tuple(inputs), build, label,
                                      tuple((tuple(map(tuple, shapes)), dict(static)) for shapes, static in samples),
                                      usage)
        return build
    return register


def _parse(text):
    return None if text is None else ast.parse(text, mode="eval").body


@lru_cache(maxsize=None)
def _variant_cached(op, ranks, static_items):
    static = dict(static_items)
    if op in ARRAY_RULES:
        built = ARRAY_RULES[op].build(ranks, static)
        if built is None:
            raise Unsupported(f"{op} of operands of rank {ranks}")
        primal, vjp, rank = built
        return Variant(_parse(primal), tuple(_parse(v) for v in vjp), rank)
    return _lift(RULES[op], ranks)


def variant(op, ranks, static=()):
    """The templates of `op` for operands of these ranks (0 = scalar)."""
    items = tuple(sorted(dict(static).items())) if not isinstance(static, tuple) else static
    return _variant_cached(op, tuple(ranks), items)


def label(op):
    return ARRAY_RULES[op].label if op in ARRAY_RULES else RULES[op].label


# --- lifting scalar rules -------------------------------------------------------------------

_NP_BUILTINS = {"max": "maximum", "min": "minimum", "abs": "abs"}
# math functions whose NumPy (as Numba knows it) name differs, or that only exist as kernels
_NP_NAMES = {"atan": "arctan", "asin": "arcsin", "acos": "arccos", "asinh": "arcsinh", "acosh": "arccosh",
             "atanh": "arctanh", "atan2": "arctan2", "pow": "power"}
# (tanh: the kernel computes it from expm1, as accurately as libm's tanh and ~1.5x faster on arrays)
_KERNELS = {"erf": "erf_elementwise", "erfc": "erfc_elementwise", "tanh": "tanh_elementwise"}
NUMPY_FORM = {"tanh_elementwise": "tanh", "where_elementwise": "where"}  # kernels users reach through NumPy
_SCALAR_ONLY = {"lgamma", "gamma"}             # no NumPy form: math.lgamma(array) fails in Python too


class _Lift(ast.NodeTransformer):
    """math.f -> np.f, max/min/abs -> np.maximum/np.minimum/np.abs,
    ternaries -> where_elementwise (np.where as a ufunc), chained comparisons and `and` -> `&`."""

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == "math":
            if node.attr in _KERNELS:
                return ast.Name(_KERNELS[node.attr], ast.Load())
            if node.attr in _SCALAR_ONLY:
                raise Unsupported(f"math.{node.attr} of an array")
            return ast.Attribute(ast.Name("np", ast.Load()), _NP_NAMES.get(node.attr, node.attr), ast.Load())
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if isinstance(node.func, ast.Name):
            if node.func.id in _NP_BUILTINS:
                node.func = ast.Attribute(ast.Name("np", ast.Load()), _NP_BUILTINS[node.func.id], ast.Load())
            elif node.func.id in ("int", "float", "digamma", "polygamma"):
                raise Unsupported(f"{node.func.id}() of an array")
        return node

    def visit_IfExp(self, node):
        self.generic_visit(node)
        # a ufunc (kernels.where_elementwise), not np.where: Numba's np.where of an array
        # condition with a scalar branch takes ~2 ns per element, the ufunc ~0.2 ns
        where = ast.Name("where_elementwise", ast.Load())
        return ast.Call(where, [node.test, node.body, node.orelse], [])

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1:
            return node
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.Compare(left, [op], [right]))
            left = right
        return _and(parts)

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.And):
            return _and(node.values)
        out = node.values[0]
        for value in node.values[1:]:
            out = ast.BinOp(out, ast.BitOr(), value)
        return out


def _and(parts):
    out = parts[0]
    for part in parts[1:]:
        out = ast.BinOp(out, ast.BitAnd(), part)
    return out


def _lift(rule, ranks):
    import copy
    rank = max(ranks)
    primal = _Lift().visit(copy.deepcopy(rule.primal))
    others_scalar = [all(r == 0 for j, r in enumerate(ranks) if j != k) for k in range(len(ranks))]
    vjp = []
    for k, (expr, name) in enumerate(zip(rule.vjp, rule.inputs)):
        if isinstance(expr, ast.Constant) and expr.value == 0:
            vjp.append(None)
            continue
        lifted = _Lift().visit(copy.deepcopy(expr))
        # −δ summed is −(δ summed), exactly: negate the small result, not the full-size δ
        negated = isinstance(lifted, ast.UnaryOp) and isinstance(lifted.op, ast.USub)
        if negated:
            lifted = lifted.operand
        if ranks[k] == 0:
            lifted = _call(f"sum_all{rank}", lifted)
        elif not (others_scalar[k] and ranks[k] == rank):
            shape = _call("SHAPE", ast.Name(name, ast.Load()))
            lifted = _call(f"ub{rank}{ranks[k]}", lifted, shape)
        vjp.append(ast.UnaryOp(ast.USub(), lifted) if negated else lifted)
    return Variant(primal, tuple(vjp), rank)


def _call(func, *args):
    parts = func.split(".")
    node = ast.Name(parts[0], ast.Load())
    for attr in parts[1:]:
        node = ast.Attribute(node, attr, ast.Load())
    return ast.Call(node, list(args), [])


# --- array primitives -------------------------------------------------------------------------

def _axis(static, rank):
    axis = static.get("axis")
    if axis is None:
        return None
    if not -rank <= axis < rank:
        raise Unsupported(f"axis {axis} of a {rank}-D array")
    return axis % rank


def _flat(rank, name="d_z"):
    return f"flat{rank}({name})" if rank else name


@array_rule("matmul", ("x", "y"), label="matmul: δ·yᵀ to x, xᵀ·δ to y",
            samples=[([(3, 4), (4, 2)], {}), ([(3, 4), (4,)], {}), ([(4,), (4, 3)], {}), ([(4,), (4,)], {})],
            usage="x @ y")
def matmul(ranks, static):
    return {
        (2, 2): ("x @ y", ("d_z @ y.T", "x.T @ d_z"), 2),
        (2, 1): ("x @ y", ("np.outer(d_z, y)", "x.T @ d_z"), 1),
        (1, 2): ("x @ y", ("y @ d_z", "np.outer(x, d_z)"), 1),
        (1, 1): ("np.dot(x, y)", ("d_z * y", "d_z * x"), 0),
    }.get(ranks)


@array_rule("outer", ("x", "y"), label="outer: δ·y to x, δᵀ·x to y", samples=[([(3,), (4,)], {})],
            usage="np.outer(x, y)")
def outer(ranks, static):
    if ranks == (1, 1):
        return "np.outer(x, y)", ("d_z @ y", "x @ d_z"), 2
    return None


@array_rule("transpose", ("x",), label="transpose: δ transposed back", samples=[([(3, 4)], {})],
            usage="x.T")
def transpose(ranks, static):
    if ranks == (2,):
        return "x.T", ("d_z.T",), 2
    if ranks == (1,):
        return "x", ("d_z",), 1
    return None


@array_rule("reshape", ("x", "n0", "n1"), label="reshape: δ reshaped back",
            samples=[([(3, 4)], {"shape": (2, 6)}), ([(2, 3)], {"shape": (6,)}), ([(6,)], {"shape": (3, 2)})],
            usage="x.reshape{shape}")
def reshape(ranks, static):
    if ranks[0] == 0 or any(ranks[1:]):
        return None
    shape = "(n0,)" if len(ranks) == 2 else "(n0, n1)"
    return f"reshape_to(x, {shape})", ("reshape_to(d_z, SHAPE(x))",) + (None,) * (len(ranks) - 1), len(ranks) - 1


@array_rule("sum", ("x",), label="sum: δ copied to every summed element",
            samples=[([(3, 4)], {}), ([(3, 4)], {"axis": 0}), ([(3, 4)], {"axis": -1}),
                     ([(3, 4)], {"axis": 1, "keepdims": True}), ([(3, 4)], {"axis": 0, "keepdims": True}),
                     ([(5,)], {"axis": 0})],
            usage="np.sum(x{kw})")
def sum_(ranks, static):
    (rank,) = ranks
    axis, keep = _axis(static, rank), static.get("keepdims", False)
    spread = "BCAST(d_z, SHAPE(x))"
    if rank == 0:           # the sum of a scalar is the scalar
        return "x", ("d_z",), 0
    if axis is None or rank == 1:    # (kernels: Numba's np.sum adds one element at a time)
        if keep:
            return f"np.full({'(1,)' if rank == 1 else '(1, 1)'}, sum_all{rank}(x))", (spread,), rank
        return f"sum_all{rank}(x)", (spread,), 0
    if keep:
        return f"sum_keep{axis}(x)", (spread,), 2
    if axis == 0:               # (kernels: Numba's np.sum along an axis is ~10x slower)
        return "sum_axis0(x)", (spread,), 1
    return "sum_axis1(x)", ("BCAST(d_z[:, None], SHAPE(x))",), 1


def _extreme(sign):
    def build(ranks, static):
        (rank,) = ranks
        axis, keep = _axis(static, rank), static.get("keepdims", False)
        if rank == 0:
            return "x", ("d_z",), 0
        if axis is None or rank == 1:
            if keep:
                return None
            return f"amax_all{rank}(x, {sign}.0)", (f"route_all{rank}(d_z, x, z)",), 0
        primal = f"amax_axis(x, {axis}, {sign}.0)"
        if keep:
            primal = f"reshape_to({primal}, {'(1, x.shape[1])' if axis == 0 else '(x.shape[0], 1)'})"
        flat = 2 if keep else 1     # (the router finds each line's extreme by comparing with z)
        return primal, (f"route_axis({_flat(flat)}, x, {_flat(flat, 'z')}, {axis})",), 2 if keep else 1
    return build


_EXTREME_SAMPLES = [([(3, 4)], {}), ([(3, 4)], {"axis": 0}), ([(3, 4)], {"axis": 1, "keepdims": True}), ([(5,)], {})]
array_rule("amax", ("x",), label="max: δ routed to the largest element (ties: first)",
           samples=_EXTREME_SAMPLES, usage="np.max(x{kw})")(_extreme(1))
array_rule("amin", ("x",), label="min: δ routed to the smallest element (ties: first)",
           samples=_EXTREME_SAMPLES, usage="x.min({kwargs})")(_extreme(-1))


@array_rule("prod", ("x",), label="product: δ times the product of the others",
            samples=[([(3, 4)], {}), ([(3, 4)], {"axis": 1}), ([(4,)], {}), ([(3, 4)], {"axis": 0, "keepdims": True})],
            usage="np.prod(x{kw})")
def prod(ranks, static):
    (rank,) = ranks
    axis, keep = _axis(static, rank), static.get("keepdims", False)
    if rank == 0:
        return "x", ("d_z",), 0
    if axis is None or rank == 1:
        if keep:
            return None
        return "np.prod(x)", ("prod_vjp_all(d_z, x)",), 0
    if keep:
        shape = "(1, x.shape[1])" if axis == 0 else "(x.shape[0], 1)"
        return f"reshape_to(prod_axis(x, {axis}), {shape})", (f"prod_vjp_axis(flat2(d_z), x, {axis})",), 2
    return f"prod_axis(x, {axis})", (f"prod_vjp_axis(d_z, x, {axis})",), 1


@array_rule("cumsum", ("x",), label="cumulative sum: δ summed over the later outputs",
            samples=[([(5,)], {}), ([(3, 4)], {}), ([(3, 4)], {"axis": 0}), ([(3, 4)], {"axis": 1})],
            usage="np.cumsum(x{kw})")
def cumsum(ranks, static):
    (rank,) = ranks
    axis = _axis(static, rank)
    if rank == 0:
        return None
    if rank == 1:
        return "np.cumsum(x)", ("rcumsum1(d_z)",), 1
    if axis is None:
        return "np.cumsum(x)", ("reshape_to(rcumsum1(d_z), SHAPE(x))",), 1
    return f"cumsum_axis(x, {axis})", (f"rcumsum_axis(d_z, {axis})",), 2


@array_rule("stretch", ("x", "n0", "n1"), label="broadcast: δ summed over the stretched axes",
            samples=[([(1, 3)], {"shape": (4, 3)}), ([(1,)], {"shape": (5,)}), ([(2, 1)], {"shape": (2, 3)})],
            usage="np.broadcast_to(x, {shape})")
def stretch(ranks, static):
    """x with its size-1 axes stretched to (n0[, n1]) (x itself when they agree)."""
    if ranks[0] == 1 and ranks[1:] == (0,):
        return "stretch1(x, n0)", ("ub11(d_z, SHAPE(x))", None), 1
    if ranks[0] == 2 and ranks[1:] == (0, 0):
        return "stretch2(x, n0, n1)", ("ub22(d_z, SHAPE(x))", None, None), 2
    return None


# `dot` is `@` for arrays and `*` when one side is a scalar (np.dot semantics)
def dot_variant(ranks, static=()):
    if 0 in ranks:
        return variant("mul", ranks)
    return variant("matmul", ranks, static)
