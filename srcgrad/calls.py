"""Calls inside differentiated code: primitives, array constructors, helpers.

Part of stage 3 (normalize). `CallLowering` is mixed into the `Normalizer`:
a call to a `math`/`np` function becomes one `Op` of the rule table; `np.zeros`
and friends become array-binding ops; a call to one of the user's own
functions is inlined with its locals renamed `<helper>N_<name>` (recursion is
rejected), its `return` becoming an assignment to the call's target.
Conditions keep their shape as 'raw' expressions (`_RawRewriter`).
"""
import ast
import copy
import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from . import fence, nesting
from .array_calls import ARRAY_FUNCTIONS, ARRAY_METHODS
from .parse import MISSING, parse
from .program import Const, Name
from .rules import CALLS, RULES
from .rules.scalar import polygamma_rule
from .runtime import polygamma

CREATE = {np.zeros: "zeros", np.ones: "ones", np.empty: "empty"}
CREATE_LIKE = {np.zeros_like: "zeros_like", np.ones_like: "ones_like", np.empty_like: "empty_like",
               np.copy: "array_copy"}
OTHER_NUMPY = {np.arange, np.eye}
PREDICATES = {math.isnan: "isnan", math.isinf: "isinf", math.isfinite: "isfinite",
              np.isnan: "isnan", np.isinf: "isinf", np.isfinite: "isfinite"}
DTYPES = {float: "float64", np.float64: "float64", int: "int64", np.int64: "int64",
          bool: "bool", np.bool_: "bool"}


@dataclass
class Scope:
    """Name bindings of the function being lowered (the main one or an inlined helper)."""
    parsed: object
    rename: dict                       # local name -> Atom
    ret_flag: str = None
    ret_var: str = None
    final_target: str = None           # where the final `return` writes (helpers)
    procedure: bool = False            # a helper called as a statement (returns nothing)
    loops: list = field(default_factory=list)   # innermost last: (break flag, continue flag)


def local_names(fn_node):
    """Parameters and every name the function assigns."""
    names = [a.arg for a in fn_node.args.posonlyargs + fn_node.args.args]
    for node in ast.walk(ast.Module(body=fn_node.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
    return list(dict.fromkeys(names))


class CallLowering:
    """Lowering of calls; mixed into normalize.Normalizer."""

    def call(self, node, target):
        func = node.func
        if isinstance(func, ast.Attribute) and self.resolve(func.value) is MISSING:
            if func.attr in ARRAY_METHODS:
                return self.array_method(node, target)
            raise self.error(node, f"method '.{func.attr}()' is not supported", f".{func.attr}()",
                             "use NumPy functions (np.sum(x, axis=0)), x.copy(), x.reshape, x.T or loops")
        obj = self.resolve(func)
        label = ast.unparse(func)
        if obj is MISSING:
            raise self.error(node, f"unknown function '{label}'", "call",
                             "call math/np functions or functions defined in a module")
        if obj is len:
            self.no_keywords(node, label)
            if len(node.args) != 1:
                raise self.error(node, "len takes one argument", "len")
            return self.op("len", (Name(self.array_name(node.args[0])),), node, target)
        if obj in CREATE:
            return self.create(node, CREATE[obj], target)
        if obj in CREATE_LIKE:
            self.no_keywords(node, label)
            return self.op(CREATE_LIKE[obj], (Name(self.array_name(node.args[0])),), node, target)
        lowered = self.array_call(node, obj, target)
        if lowered is not None:
            return lowered
        if getattr(obj, "rule_name", None) in RULES and hasattr(obj, "__wrapped_for_srcgrad__"):
            return self.custom(node, obj, target)
        if hasattr(obj, "rule_name") and hasattr(obj, "__wrapped_for_srcgrad__"):
            raise self.error(node, f"the custom rule {label} has no vjp", "custom rule",
                             f"add one with @{label}.defvjp")
        if _hashable(obj) and obj in CALLS:
            return self.primitive(node, CALLS[obj], label, target)
        if obj is polygamma and len(node.args) == 2 and isinstance(node.args[0], ast.Constant) and \
                type(node.args[0].value) is int and node.args[0].value >= 1:      # ψ⁽ⁿ⁾: one rule per order
            return self.op(polygamma_rule(node.args[0].value), (self.expr(node.args[1]),), node, target)
        if obj is range:
            raise self.error(node, "range() is only supported as a for-loop iterator", "range")
        inner = nesting.inner_of(obj)
        if inner is not None:                # grad/jvp of a user function: its derivative program, later
            return nesting.lower(self, node, inner, (target,))
        obj = _python_function(obj)
        if inspect.isfunction(obj) and getattr(obj, "__srcgrad_nondifferentiable__", False):
            value = self.inline(obj, node, None)
            return self.op("stop_gradient", (value,), node, target)      # its results are constants
        if inspect.isfunction(obj):
            return self.inline(obj, node, target)
        raise self.error(node, f"'{label}' has no derivative rule in srcgrad", "call",
                         "use math/np elementary functions or write a helper function")

    def custom(self, node, rule, target):
        """A helper with a user rule: its own code computes the value (a
        constant to srcgrad), the rule's op carries the derivative."""
        self.no_keywords(node, rule.__name__)
        if len(node.args) != len(rule.inputs):
            raise self.error(node, f"{rule.__name__} takes {len(rule.inputs)} argument(s), got {len(node.args)}",
                             "call", "check the call")
        args = tuple(self.expr(a) for a in node.args)
        # the helper's code reads the argument values already lowered (no second evaluation)
        call = ast.copy_location(ast.Call(node.func, [_atom_node(a) for a in args], []), node)
        saved, self.scope.rename = self.scope.rename, {**self.scope.rename,
                                                      **{a.id: a for a in args if isinstance(a, Name)}}
        try:
            value = self.inline(rule.func, call, None)
        finally:
            self.scope.rename = saved
        constant = self.op("stop_gradient", (value,), node)
        return self.op(rule.rule_name, args + (constant,), node, target)

    def no_keywords(self, node, label):
        if node.keywords:
            raise self.error(node, f"keyword arguments to {label}", "keyword argument", "pass arguments by position")

    def primitive(self, node, name, label, target):
        self.no_keywords(node, label)
        args = [self.expr(a) for a in node.args]
        if name == "log" and len(args) == 2:          # math.log(x, base) = log x / log base
            num = self.op("log", (args[0],), node)
            den = self.op("log", (args[1],), node)
            return self.op("div", (num, den), node, target)
        if name in ("max", "min") and len(args) > 2:    # fold left: max(a, b, c) = max(max(a, b), c)
            acc = args[0]
            for arg in args[1:-1]:
                acc = self.op(name, (acc, arg), node)
            return self.op(name, (acc, args[-1]), node, target)
        if len(args) != len(RULES[name].inputs):
            raise self.error(node, f"{label} takes {len(RULES[name].inputs)} argument(s) here, got {len(args)}",
                             label, "check the call")
        return self.op(name, tuple(args), node, target)

    def create(self, node, kind, target):
        dtype = "float64"
        for kw in node.keywords:
            value = self.resolve(kw.value) if kw.arg == "dtype" else MISSING
            if kw.arg != "dtype" or not _hashable(value) or value not in DTYPES:
                raise self.error(node, f"keyword '{kw.arg}' of np.{kind}", "keyword argument",
                                 "only dtype=float/np.float64/int/np.int64/bool is supported")
            dtype = DTYPES[value]
        if len(node.args) != 1:
            raise self.error(node, f"np.{kind} needs one shape argument", f"np.{kind}")
        shape = node.args[0]
        if isinstance(shape, ast.Attribute) and shape.attr == "shape":     # np.zeros(X.shape)
            return self.op(f"{kind}_shape", (Name(self.array_name(shape.value)),), node, target, dtype=dtype)
        dims = shape.elts if isinstance(shape, ast.Tuple) else [shape]
        if not 1 <= len(dims) <= 2:
            raise self.error(node, f"np.{kind} with {len(dims)} dimensions: only 1-D and 2-D arrays are supported",
                             "array rank",
                             "use 1-D or 2-D arrays")
        return self.op(kind, tuple(self.expr(d) for d in dims), node, target, dtype=dtype)

    # -- helper functions -------------------------------------------------------------------
    def inline(self, func, node, target, procedure=False):
        if func in self.stack:
            chain = " -> ".join(f.__name__ for f in self.stack + [func])
            raise self.error(node, f"recursion is not supported ({chain})", "recursion",
                             "rewrite the recursion as a loop")
        parsed = parse(func)
        fence.run(parsed)
        fn = parsed.node
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        args = self.bind_args(node, func, params)
        prefix = self.namer.fresh(func.__name__, numbered=True)
        rename = {}
        for name in local_names(fn):
            if name not in params:
                rename[name] = Name(self.namer.fresh(f"{prefix}_{name}"))
        assigned = set(local_names(fn)) - set(params) | _assigned_params(fn)
        for name, atom in zip(params, args):
            if name in assigned:
                rename[name] = Name(self.namer.fresh(f"{prefix}_{name}"))
                # (marked: an array argument updated in place by `y += …` is the caller's array)
                self.bind(atom, node, rename[name].id, static=(("argument", True),))
            else:
                rename[name] = atom
        out = None if procedure else target or self.namer.fresh(f"{prefix}_out")
        saved = self.scope
        self.scope = Scope(parsed, rename, final_target=out, procedure=procedure)
        self.stack.append(func)
        try:
            self.out.extend(self.function_body(fn.body, fn))
        finally:
            self.stack.pop()
            self.scope = saved
        return Name(out)

    def bind_args(self, node, func, params):
        sig = inspect.signature(func)
        try:
            bound = sig.bind(*node.args, **{k.arg: k.value for k in node.keywords})
        except TypeError as exc:
            raise self.error(node, f"bad call to {func.__name__}: {exc}", "call") from None
        atoms = []
        for name in params:
            if name in bound.arguments:
                atoms.append(self.expr(bound.arguments[name]))
            else:
                default = sig.parameters[name].default
                if not isinstance(default, (int, float, bool)):
                    raise self.error(node, f"default of '{name}' is not a number", "default argument")
                atoms.append(Const(default))
        return atoms

    def computed_call(self, node):
        """A call a condition cannot keep inline: one of the user's helpers, or
        an array function (np.sum(h) > 0): it is computed into a temporary first."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ARRAY_METHODS and self.resolve(func.value) is MISSING:
            return True
        obj = self.resolve(func)
        return inspect.isfunction(_python_function(obj)) or (_hashable(obj) and obj in ARRAY_FUNCTIONS)

    # -- raw (forward-only) expressions ------------------------------------------------------
    def raw(self, node, hoist=True):
        """A copy of a condition/boolean expression with locals renamed, globals
        frozen to constants and calls mapped to their canonical form. With
        `hoist`, calls to the user's helpers that Python always evaluates (not
        in the later operands of `and`/`or` or a ternary's branches) are
        computed first, into temporaries."""
        node = copy.deepcopy(node)
        if hoist:
            node = _HelperHoister(self).visit(node)
        return _RawRewriter(self).visit(node)


class _HelperHoister(ast.NodeTransformer):
    def __init__(self, lowering):
        self.lowering = lowering

    def visit_BoolOp(self, node):        # only the first operand is always evaluated
        node.values[0] = self.visit(node.values[0])
        return node

    def visit_IfExp(self, node):         # only the test is always evaluated
        node.test = self.visit(node.test)
        return node

    def visit_Call(self, node):
        if not self.lowering.computed_call(node):
            return self.generic_visit(node)
        atom = self.lowering.expr(node)
        if isinstance(atom, Const):
            return ast.Constant(atom.value)
        self.lowering.scope.rename.setdefault(atom.id, atom)
        return ast.Name(atom.id, ast.Load())


class _RawRewriter(ast.NodeTransformer):
    ALLOWED = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Subscript,
               ast.Tuple, ast.Attribute, ast.Call, ast.IfExp, ast.Load, ast.operator, ast.unaryop,
               ast.boolop, ast.cmpop, ast.expr_context)

    def __init__(self, normalizer):
        self.n = normalizer

    def generic_visit(self, node):
        if not isinstance(node, self.ALLOWED):
            raise self.n.error(node, f"'{type(node).__name__}' in a condition", type(node).__name__)
        return super().generic_visit(node)

    def visit_Name(self, node):
        atom = self.n.load(node)
        return ast.Name(atom.id, ast.Load()) if isinstance(atom, Name) else ast.Constant(atom.value)

    def visit_Attribute(self, node):
        if node.attr == "shape" and isinstance(node.value, ast.Name):
            return ast.Attribute(self.visit(node.value), "shape", ast.Load())
        return ast.Constant(self.n.attribute(node).value)

    def visit_Call(self, node):
        obj = self.n.resolve(node.func)
        if obj is len:
            return ast.Call(ast.Name("len", ast.Load()), [self.visit(a) for a in node.args], [])
        if _hashable(obj) and obj in PREDICATES and len(node.args) == 1 and not node.keywords:
            func = ast.Attribute(ast.Name("math", ast.Load()), PREDICATES[obj], ast.Load())
            return ast.Call(func, [self.visit(node.args[0])], [])
        if _hashable(obj) and obj in CALLS and not node.keywords:
            rule = RULES[CALLS[obj]]
            args = [self.visit(a) for a in node.args]
            if len(args) == len(rule.inputs):
                return _substitute(rule.primal, dict(zip(rule.inputs, args)))
            if CALLS[obj] in ("max", "min") and len(args) > 2:
                return ast.Call(ast.Name(CALLS[obj], ast.Load()), args, [])
        raise self.n.error(node, f"call to '{ast.unparse(node.func)}' inside a condition", "call in condition",
                           "assign the call's result to a variable first")


def _atom_node(atom):
    return ast.Name(atom.id, ast.Load()) if isinstance(atom, Name) else ast.Constant(atom.value)


def _python_function(obj):
    """The Python function behind a Numba dispatcher (users may @njit helpers)."""
    py_func = getattr(obj, "py_func", None)
    return py_func if inspect.isfunction(py_func) else obj


def _substitute(template, mapping):
    """A copy of `template` with each input Name replaced by an AST."""
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            return copy.deepcopy(mapping[node.id]) if node.id in mapping else node
    return Sub().visit(copy.deepcopy(template))


def _hashable(obj):
    try:
        hash(obj)
        return True
    except TypeError:
        return False


def _assigned_params(fn):
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    out = set()
    for node in ast.walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in params:
            out.add(node.id)
    return out
