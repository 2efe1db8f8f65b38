"""Array-level NumPy in normalize: reductions, products, shapes and slices.

Part of stage 3 (normalize), mixed into the `Normalizer` with `CallLowering`.
Each construct becomes one `Op` of the array rule table with its static
arguments (``axis``, ``keepdims``) in `Op.static`:

- ``np.sum/np.max/np.min/np.prod/np.cumsum(x, axis=, keepdims=)`` and the
  method forms ``x.sum(axis=0)``; ``np.mean`` / ``np.var`` / ``np.std`` /
  ``np.linalg.norm`` are rewritten into sums, so they need no rules of their own;
- ``@``, ``np.dot``, ``np.matmul``, ``np.outer``, ``.T``, ``np.transpose``,
  ``reshape``, ``ravel``/``flatten``;
- subscripts with slices or ``None``: one 'slice' op whose spec lists per
  position ``'i'`` (an index), ``('s', has_start, has_stop, has_step)`` or
  ``'n'`` (a new axis).
"""
import ast

import numpy as np

from .parse import MISSING
from .program import Const, Name

REDUCTIONS = {np.sum: "sum", np.max: "amax", np.amax: "amax", np.min: "amin", np.amin: "amin",
              np.prod: "prod", np.cumsum: "cumsum", np.mean: "mean", np.var: "var", np.std: "std"}
METHOD_REDUCTIONS = {"sum": "sum", "max": "amax", "min": "amin", "prod": "prod", "cumsum": "cumsum",
                     "mean": "mean", "var": "var", "std": "std"}
PRODUCTS = {np.dot: "dot", np.matmul: "matmul", np.outer: "outer"}
ARRAY_METHODS = set(METHOD_REDUCTIONS) | {"reshape", "ravel", "flatten", "dot", "transpose", "copy"}
ARRAY_FUNCTIONS = set(REDUCTIONS) | set(PRODUCTS) | {np.transpose, np.reshape, np.ravel, np.linalg.norm,
                                                     np.broadcast_to}


class ArrayLowering:
    """Array calls, methods and slices; mixed into normalize.Normalizer."""

    def array_call(self, node, obj, target):
        """Lower np.<reduction/product/shape function>(...); None if `obj` is none of them."""
        label = ast.unparse(node.func)
        if _hashable(obj) and obj in REDUCTIONS:
            if not node.args:
                raise self.error(node, f"{label} needs an array", label)
            axis, keep = self.reduction_keywords(node, label, node.args[1:])
            return self.reduce(REDUCTIONS[obj], self.expr(node.args[0]), axis, keep, node, target)
        if _hashable(obj) and obj in PRODUCTS:
            self.positional(node, label, 2)
            x, y = (self.expr(a) for a in node.args)
            return self.op(PRODUCTS[obj], (x, y), node, target)
        if obj is np.transpose:
            self.positional(node, label, 1)
            return self.op("transpose", (self.expr(node.args[0]),), node, target)
        if obj is np.reshape:
            if len(node.args) != 2 or node.keywords:
                raise self.error(node, "np.reshape(x, shape) takes two arguments", label)
            return self.reshape(self.expr(node.args[0]), [node.args[1]], node, target)
        if obj is np.ravel:
            self.positional(node, label, 1)
            return self.op("reshape", (self.expr(node.args[0]), Const(-1)), node, target)
        if obj is np.linalg.norm:
            self.positional(node, label, 1)
            x = self.expr(node.args[0])
            return self.op("sqrt", (self.reduce("sum", self.op("square", (x,), node), None, False, node),),
                           node, target)
        if obj is np.broadcast_to:
            self.positional(node, label, 2)
            shape = node.args[1]
            dims = shape.elts if isinstance(shape, ast.Tuple) else [shape]
            return self.op("stretch", (self.expr(node.args[0]),) + tuple(self.expr(d) for d in dims), node, target)
        if obj is np.eye:
            self.positional(node, label, 1)
            return self.op("eye", (self.expr(node.args[0]),), node, target)
        if obj is np.arange:
            self.no_keywords(node, label)
            return self.op("arange", tuple(self.expr(a) for a in node.args), node, target, dtype="int64")
        return None

    def array_method(self, node, target):
        """x.sum(...), x.reshape(...), x.dot(y), x.T-style methods on any array expression."""
        func = node.func
        name = func.attr
        label = f".{name}()"
        if name == "copy":
            self.positional(node, label, 0)
            return self.op("array_copy", (self.expr(func.value),), node, target)
        x = self.expr(func.value)
        if name in METHOD_REDUCTIONS:
            axis, keep = self.reduction_keywords(node, label, node.args)
            return self.reduce(METHOD_REDUCTIONS[name], x, axis, keep, node, target)
        if name == "reshape":
            if node.keywords or not node.args:
                raise self.error(node, "x.reshape(shape) needs the new shape", label)
            return self.reshape(x, node.args, node, target)
        if name in ("ravel", "flatten"):
            self.positional(node, label, 0)
            return self.op("reshape", (x, Const(-1)), node, target)
        if name == "dot":
            self.positional(node, label, 1)
            return self.op("dot", (x, self.expr(node.args[0])), node, target)
        if name == "transpose":
            self.positional(node, label, 0)
            return self.op("transpose", (x,), node, target)
        raise self.error(node, f"method '{label}' is not supported", label)

    def positional(self, node, label, count):
        self.no_keywords(node, label)
        if len(node.args) != count:
            raise self.error(node, f"{label} takes {count} argument(s) here, got {len(node.args)}", label)

    def reduction_keywords(self, node, label, extra_args):
        """(axis, keepdims) of a reduction, from its positional tail and keywords."""
        values = {"axis": None, "keepdims": False}
        names = ["axis", "keepdims"]
        if len(extra_args) > 1:
            raise self.error(node, f"{label}: pass keepdims by keyword", label)
        given = {names[k]: a for k, a in enumerate(extra_args)}
        for kw in node.keywords:
            if kw.arg not in values:
                raise self.error(node, f"keyword '{kw.arg}' of {label} is not supported", "keyword argument",
                                 "use axis= and keepdims=")
            given[kw.arg] = kw.value
        for key, value in given.items():
            if isinstance(value, ast.Tuple):
                raise self.error(node, f"{key}= of {label} is a tuple: reduce over one axis at a time", label,
                                 "nest the reductions, or omit axis= to reduce over all elements")
            if not (isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, (bool, int)))):
                constant = self.constant_value(value)
                if constant is MISSING:
                    raise self.error(node, f"{key}= of {label} must be a constant", label,
                                     "write the axis as a number: axis=0")
                values[key] = constant
            else:
                values[key] = value.value
        if isinstance(values["axis"], bool) or not (values["axis"] is None or isinstance(values["axis"], int)):
            raise self.error(node, f"axis= of {label} must be an integer or None", label)
        return values["axis"], bool(values["keepdims"])

    def constant_value(self, node):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -node.operand.value
        return MISSING

    def reduce(self, kind, x, axis, keep, node, target=None):
        """sum/max/min/prod/cumsum directly; mean, var and std as sums."""
        if kind in ("sum", "amax", "amin", "prod", "cumsum"):
            static = (("axis", axis), ("keepdims", keep))
            return self.op(kind, (x,), node, target, static=static)
        count = self.count(x, axis, node)
        if kind == "mean":
            total = self.reduce("sum", x, axis, keep, node)
            return self.op("div", (total, count), node, target)
        mean = self.op("div", (self.reduce("sum", x, axis, True, node), count), node)
        centred = self.op("sub", (x, mean), node)
        var = self.op("div", (self.reduce("sum", self.op("square", (centred,), node), axis, keep, node), count),
                      node, None if kind == "std" else target)
        return self.op("sqrt", (var,), node, target) if kind == "std" else var

    def count(self, x, axis, node):
        """How many elements a reduction over `axis` adds up (as a float)."""
        if not isinstance(x, Name):
            raise self.error(node, "a reduction of a constant", "reduction")
        if axis is None:
            return self.op("float", (self.op("size", (x,), node),), node)
        return self.op("float", (self.op("shape", (x, Const(axis)), node),), node)

    def reshape(self, x, dims_nodes, node, target):
        if len(dims_nodes) == 1 and isinstance(dims_nodes[0], ast.Tuple):
            dims_nodes = dims_nodes[0].elts
        if len(dims_nodes) == 1 and isinstance(dims_nodes[0], ast.Attribute) and dims_nodes[0].attr == "shape":
            other = Name(self.array_name(dims_nodes[0].value))
            raise self.error(node, f"reshape to {other.id}.shape", "reshape",
                             f"write the dimensions: x.reshape({other.id}.shape[0], {other.id}.shape[1])")
        if not 1 <= len(dims_nodes) <= 2:
            raise self.error(node, "only 1-D and 2-D arrays are supported", "array rank",
                             "reshape to one or two dimensions")
        dims = tuple(self.expr(d) for d in dims_nodes)
        return self.op("reshape", (x,) + dims, node, target)

    # -- subscripts with slices --------------------------------------------------------
    def slice_parts(self, node):
        """(array atom, spec, index atoms) of x[...] with slices/None; None if the
        subscript only has plain indices (element or row access)."""
        indices = []
        base = node
        while isinstance(base, ast.Subscript):
            idx = base.slice
            elts = idx.elts if isinstance(idx, ast.Tuple) else [idx]
            indices = list(elts) + indices
            base = base.value
            if any(_is_slice(e) for e in elts):
                break
        if not any(_is_slice(e) for e in indices):
            return None
        if isinstance(base, ast.Subscript) or len(indices) != len(_flatten(node)):
            raise self.error(node, "chained slicing", "slicing", "slice once: A[1:, 2]")
        spec, atoms = [], []
        for e in indices:
            if isinstance(e, ast.Constant) and e.value is None:
                spec.append("n")
            elif isinstance(e, ast.Slice):
                parts = (e.lower, e.upper, e.step)
                spec.append(("s",) + tuple(p is not None for p in parts))
                atoms += [self.expr(p) for p in parts if p is not None]
            elif isinstance(e, ast.Constant) and e.value is Ellipsis:
                raise self.error(node, "'...' in a subscript", "slicing", "write the slices out: A[:, 1]")
            else:
                spec.append("i")
                atoms.append(self.expr(e))
        return base, tuple(spec), tuple(atoms)

    def slice_read(self, node, target):
        parts = self.slice_parts(node)
        if parts is None:
            return None
        base, spec, atoms = parts
        return self.op("slice", (self.expr(base),) + atoms, node, target, static=spec)

    def compare_value(self, node, target):
        """`x > 0` as a value (a mask): operands lowered first, then one opaque op."""
        left, right = self.expr(node.left), self.expr(node.comparators[0])
        raw = ast.Compare(_atom_expr(left), [node.ops[0]], [_atom_expr(right)])
        return Name(self.opaque(raw, node, target))


def _atom_expr(atom):
    return ast.Name(atom.id, ast.Load()) if isinstance(atom, Name) else ast.Constant(atom.value)


def _is_slice(e):
    return isinstance(e, ast.Slice) or (isinstance(e, ast.Constant) and e.value is None)


def _flatten(node):
    out = []
    while isinstance(node, ast.Subscript):
        idx = node.slice
        out = list(idx.elts if isinstance(idx, ast.Tuple) else [idx]) + out
        node = node.value
    return out


def _hashable(obj):
    try:
        hash(obj)
        return True
    except TypeError:
        return False
