"""Stage 3: administrative normal form, one primitive per assignment.

Input: a fenced `Parsed` function. Output: a `program.Function` whose body
contains only `Op` (x_{k+1} = g_k(x_k) over atoms), `SetItem`, `If`, `For`,
`While`, `BreakIf` and one final `Return`. On the way:

- nested expressions get temporaries `t1, t2, …`; a statement never assigns
  a name it also reads (``x = x * y`` becomes ``t1 = x * y; x = t1``), so
  each rule sees its inputs unchanged;
- ``+=``, tuple assignment and swaps, ternaries, ``A[i][j]``, ``n, d = X.shape``
  are desugared;
- ``break``/``continue``/early ``return`` become flags: the rest of the block
  is guarded by ``if not flag`` and loops end with ``BreakIf``;
- calls to the user's helper functions are inlined with prefixed local names
  (recursion is rejected);
- comparisons and boolean logic stay whole, as 'opaque' forward-only ops.
"""
import ast
import copy
import inspect
import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from . import fence
from .naming import Namer
from .parse import MISSING, error_at, parse
from .program import (BreakIf, Const, For, Function, If, Loc, Name, Op, Return,
                      SetItem, While)
from .rules import BINOPS, CALLS, RULES, UNARY
from .rules.scalar import CONSTANTS

CREATE = {np.zeros: "zeros", np.ones: "ones", np.empty: "empty"}
CREATE_LIKE = {np.zeros_like: "zeros_like", np.ones_like: "ones_like", np.empty_like: "empty_like",
               np.copy: "array_copy"}
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


def run(parsed):
    """Normalize a parsed function into a `program.Function`."""
    fence.run(parsed)
    return Normalizer(parsed).function()


def local_names(fn_node):
    """Parameters and every name the function assigns."""
    names = [a.arg for a in fn_node.args.posonlyargs + fn_node.args.args]
    for node in ast.walk(ast.Module(body=fn_node.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.append(node.id)
    return list(dict.fromkeys(names))


def jumps(stmt):
    """Which of 'return'/'break'/'continue' a statement may perform (break and
    continue only when they leave the enclosing loop, not a nested one)."""
    found = set()

    def visit(node, in_loop):
        if isinstance(node, ast.Return):
            found.add("return")
        elif isinstance(node, (ast.Break, ast.Continue)) and not in_loop:
            found.add("break" if isinstance(node, ast.Break) else "continue")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.expr,)):
                continue
            visit(child, in_loop or isinstance(node, (ast.For, ast.While)))
    visit(stmt, False)
    return found


class Normalizer:
    def __init__(self, parsed):
        self.parsed = parsed
        taken = set(local_names(parsed.node))
        self.namer = Namer(taken)
        self.stack = [parsed.func]     # helpers being inlined (recursion check)
        self.out = []
        self.scope = None

    # -- helpers ---------------------------------------------------------------
    def error(self, node, message, construct=None, hint=None):
        return error_at(self.scope.parsed, node, message, construct, hint)

    def loc(self, node):
        p = self.scope.parsed
        return Loc(p.filename, p.abs_line(node), p.text(node))

    def emit(self, stmt):
        self.out.append(stmt)

    @contextmanager
    def collect(self):
        saved, self.out = self.out, []
        try:
            yield self.out
        finally:
            self.out = saved

    def op(self, name, args, node, target=None, **extra):
        """Emit target = name(*args); returns the Name holding the result."""
        arg_names = [a.id for a in args if isinstance(a, Name)]
        # accumulation `s = s + e` stays in place: its δ rule needs no values
        accumulate = name in ("add", "sub") and arg_names.count(target) == 1 and args[0] == Name(target)
        out = target if target is not None and (target not in arg_names or accumulate) else self.namer.temp()
        self.emit(Op(out, name, tuple(args), self.loc(node), **extra))
        if target is not None and out != target:
            self.emit(Op(target, "copy", (Name(out),), self.loc(node)))
        return Name(target if target is not None else out)

    def bind(self, atom, node, target):
        if target is None or atom == Name(target):
            return atom
        self.emit(Op(target, "copy", (atom,), self.loc(node)))
        return Name(target)

    def opaque(self, raw, node, target=None):
        target = target or self.namer.fresh("flag", numbered=True)
        self.emit(Op(target, "opaque", (), self.loc(node), raw=raw))
        return target

    def const_flag(self, name, value, node):
        self.emit(Op(name, "opaque", (), self.loc(node), raw=ast.Constant(value)))

    # -- function ----------------------------------------------------------------
    def function(self):
        fn = self.parsed.node
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
        self.scope = Scope(self.parsed, {p: Name(p) for p in local_names(fn)})
        body = self.function_body(fn.body, fn)
        names = frozenset(self.namer.taken)
        return Function(fn.name, tuple(params), tuple(body), self.parsed.filename,
                        self.parsed.first_line, "\n".join(self.parsed.lines), names)

    def function_body(self, stmts, fn):
        """Lower a function body; its value ends up in a final Return (main
        function) or in scope.final_target (inlined helper)."""
        stmts = [s for s in stmts if not _is_docstring(s)]
        returns = [n for n in ast.walk(ast.Module(body=stmts, type_ignores=[])) if isinstance(n, ast.Return)]
        last = stmts[-1] if stmts else None
        if self.scope.procedure:
            if isinstance(last, ast.Return) and last.value is None:
                stmts, returns = stmts[:-1], [r for r in returns if r is not last]
            if any(r.value is not None for r in returns):
                raise self.error(fn, f"{fn.name} returns a value but the call ignores it", "expression statement",
                                 "assign the result: y = helper(...)")
            last = None
        elif not isinstance(last, ast.Return) and not (returns and _always_returns(stmts)):
            raise self.error(last or fn, "the function can finish without returning a value", "return",
                             "end every path with `return <float>`")
        early = [r for r in returns if r is not last]
        with self.collect() as body:
            if early:
                self.scope.ret_flag = self.namer.fresh("returned", numbered=True)
                self.scope.ret_var = self.scope.final_target or self.namer.fresh("ret")
                self.const_flag(self.scope.ret_flag, False, fn)
            self.block(stmts)
        if self.scope.final_target is None and not self.scope.procedure:
            value = Name(self.scope.ret_var) if early else self.final_value
            body.append(Return(value, self.loc(last if isinstance(last, ast.Return) else fn)))
        return body

    # -- blocks and statements ------------------------------------------------------
    def block(self, stmts):
        for k, stmt in enumerate(stmts):
            self.stmt(stmt)
            rest = stmts[k + 1:]
            exits = jumps(stmt)
            if exits and rest:
                flags = self.exit_flags(exits)
                raw = ast.UnaryOp(ast.Not(), _or([ast.Name(f, ast.Load()) for f in flags]))
                guard = self.opaque(raw, rest[0], self.namer.fresh("go_on", numbered=True))
                with self.collect() as inner:
                    self.block(rest)
                self.emit(If(guard, tuple(inner), (), self.loc(rest[0])))
                return

    def exit_flags(self, exits):
        flags = []
        if "return" in exits:
            flags.append(self.scope.ret_flag)
        if self.scope.loops:
            brk, cont = self.scope.loops[-1]
            if "break" in exits:
                flags.append(brk)
            if "continue" in exits:
                flags.append(cont)
        return [f for f in flags if f]

    def stmt(self, node):
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            raise self.error(node, f"'{type(node).__name__}' statements are not supported",
                             type(node).__name__.lower(), "rewrite it with assignments, if, for or while")
        method(node)

    def stmt_Pass(self, node):
        pass

    def stmt_Assert(self, node):
        pass  # checks do not change the value: nothing to differentiate

    def stmt_Expr(self, node):
        if _is_docstring(node):
            return
        if isinstance(node.value, ast.Call) and inspect.isfunction(_python_function(self.resolve(node.value.func))):
            self.inline(_python_function(self.resolve(node.value.func)), node.value, None, procedure=True)
            return
        raise self.error(node, "an expression statement has no effect on the result (or a side effect)",
                         "expression statement", "assign the value to a variable or remove it")

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return
        self.assign(node.target, node.value, node)

    def stmt_Assign(self, node):
        first = node.targets[0]
        self.assign(first, node.value, node)
        for other in node.targets[1:]:
            self.assign(other, first, node)

    def assign(self, target, value, node):
        if isinstance(target, ast.Name):
            self.expr(value, self.store(target))
        elif isinstance(target, ast.Subscript):
            array, index = self.subscript_parts(target)
            atom = self.expr(value)
            self.emit(SetItem(array, index, atom, "set", self.loc(node)))
        elif isinstance(target, ast.Tuple):
            self.assign_tuple(target, value, node)
        else:
            raise self.error(node, "unsupported assignment target", type(target).__name__,
                             "assign to names or array elements")

    def assign_tuple(self, target, value, node):
        names = []
        for elt in target.elts:
            if not isinstance(elt, ast.Name):
                raise self.error(node, "tuple assignment to non-names", "tuple assignment",
                                 "unpack into plain variables")
            names.append(self.store(elt))
        if isinstance(value, ast.Attribute) and value.attr == "shape":
            array = self.array_name(value.value)
            for k, name in enumerate(names):
                self.op("shape", (Name(array), Const(k)), node, name)
            return
        if not isinstance(value, ast.Tuple) or len(value.elts) != len(names):
            raise self.error(node, "the right side must be a tuple of the same length (or X.shape)",
                             "tuple assignment", "assign the values one by one")
        atoms = []
        for elt in value.elts:
            atom = self.expr(elt)
            if isinstance(atom, Name) and atom.id in names:   # swap: read before overwrite
                atom = self.op("copy", (atom,), node)
            atoms.append(atom)
        for name, atom in zip(names, atoms):
            self.bind(atom, node, name)

    def store(self, name_node):
        atom = self.scope.rename.get(name_node.id)
        if not isinstance(atom, Name):
            raise self.error(name_node, f"cannot assign to '{name_node.id}' here", "assignment")
        return atom.id

    def stmt_AugAssign(self, node):
        opname = BINOPS.get(type(node.op))
        if opname is None:
            raise self.error(node, f"augmented operator {type(node.op).__name__}", "augmented assignment",
                             "use + - * / ** % //")
        target = node.target
        if isinstance(target, ast.Name):
            name = self.store(target)
            rhs = self.expr(node.value)
            self.op(opname, (Name(name), rhs), node, name)
        elif isinstance(target, ast.Subscript):
            array, index = self.subscript_parts(target)
            rhs = self.expr(node.value)
            if opname in ("add", "sub"):
                self.emit(SetItem(array, index, rhs, opname, self.loc(node)))
            else:
                old = self.op("getitem", (Name(array),) + index, node)
                new = self.op(opname, (old, rhs), node)
                self.emit(SetItem(array, index, new, "set", self.loc(node)))
        else:
            raise self.error(node, "unsupported augmented assignment target", "augmented assignment")

    def stmt_Return(self, node):
        if node.value is None and self.scope.procedure:
            self.const_flag(self.scope.ret_flag, True, node)
            return
        if node.value is None:
            raise self.error(node, "returning None: the function must return a float", "return",
                             "return the scalar loss")
        if isinstance(node.value, ast.Tuple):
            raise self.error(node, "the function returns a tuple; grad needs one scalar output", "tuple return",
                             "return a single float (e.g. the sum of the outputs)")
        if self.scope.ret_flag is None:   # the final statement
            self.final_value = self.expr(node.value, self.scope.final_target)
            return
        self.expr(node.value, self.scope.ret_var)
        self.const_flag(self.scope.ret_flag, True, node)

    def stmt_Break(self, node):
        self.const_flag(self.scope.loops[-1][0], True, node)

    def stmt_Continue(self, node):
        self.const_flag(self.scope.loops[-1][1], True, node)

    def stmt_If(self, node):
        flag = self.opaque(self.raw(node.test), node, self.namer.fresh("branch", numbered=True))
        with self.collect() as body:
            self.block(node.body)
        with self.collect() as orelse:
            self.block(node.orelse)
        self.emit(If(flag, tuple(body), tuple(orelse), self.loc(node)))

    def loop_flags(self, node):
        inner = set()
        for stmt in node.body:
            inner |= jumps(stmt)
        brk = self.namer.fresh("broke", numbered=True) if "break" in inner else None
        cont = self.namer.fresh("skip", numbered=True) if "continue" in inner else None
        exits = [f for f in (brk, self.scope.ret_flag if "return" in inner else None) if f]
        return brk, cont, exits

    def loop_body(self, node, brk, cont, exits):
        self.scope.loops.append((brk, cont))
        with self.collect() as body:
            if cont:
                self.const_flag(cont, False, node)
            self.block(node.body)
            if exits:
                body.append(BreakIf(_or([ast.Name(f, ast.Load()) for f in exits]), self.loc(node)))
        self.scope.loops.pop()
        return tuple(body)

    def stmt_For(self, node):
        call = node.iter
        if not (isinstance(call, ast.Call) and self.resolve(call.func) is range and not call.keywords
                and 1 <= len(call.args) <= 3):
            raise self.error(node, "only `for i in range(...)` loops are supported", "for loop",
                             "loop over an index: for i in range(len(x))")
        if not isinstance(node.target, ast.Name):
            raise self.error(node, "the loop variable must be a plain name", "for loop")
        var = self.store(node.target)
        bounds = [self.expr(a) for a in call.args]
        start, stop, step = (Const(0), bounds[0], Const(1)) if len(bounds) == 1 else \
            (bounds[0], bounds[1], Const(1)) if len(bounds) == 2 else tuple(bounds)
        assigned = {n.id for n in ast.walk(ast.Module(body=node.body, type_ignores=[]))
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        if node.target.id in assigned:
            raise self.error(node, f"the loop variable '{node.target.id}' is reassigned inside the loop",
                             "loop variable assignment", "use another variable inside the loop")
        # range() is evaluated once: freeze bounds the body may change
        changed = {self.scope.rename[a].id for a in assigned if isinstance(self.scope.rename.get(a), Name)}
        start, stop, step = (self.op("copy", (b,), node) if isinstance(b, Name) and b.id in changed else b
                             for b in (start, stop, step))
        if isinstance(step, Const) and step.value == 0:
            raise self.error(node, "range() step must not be zero", "range")
        brk, cont, exits = self.loop_flags(node)
        if brk:
            self.const_flag(brk, False, node)
        body = self.loop_body(node, brk, cont, exits)
        counter = self.namer.fresh("n_iter", numbered=True) if exits else None
        self.emit(For(var, start, stop, step, body, self.loc(node), counter))

    def stmt_While(self, node):
        cond = self.raw(node.test)
        brk, cont, exits = self.loop_flags(node)
        if brk:
            self.const_flag(brk, False, node)
        body = self.loop_body(node, brk, cont, exits)
        self.emit(While(cond, body, self.loc(node), self.namer.fresh("n_iter", numbered=True)))

    # -- expressions --------------------------------------------------------------------
    def expr(self, node, target=None):
        """Lower an expression; returns the atom holding its value (in `target` if given)."""
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or isinstance(node.value, (int, float)):
                return self.bind(Const(node.value), node, target)
            raise self.error(node, f"constant {node.value!r} is not a number", "constant", "use numbers only")
        if isinstance(node, ast.Name):
            return self.bind(self.load(node), node, target)
        if isinstance(node, ast.Attribute):
            return self.bind(self.attribute(node), node, target)
        if isinstance(node, ast.BinOp):
            opname = BINOPS.get(type(node.op))
            if opname is None:
                raise self.error(node, f"operator {type(node.op).__name__} is not supported",
                                 type(node.op).__name__, "use + - * / ** % //")
            left, right = self.expr(node.left), self.expr(node.right)
            if opname == "div" and left == Const(1.0) or opname == "div" and left == Const(1):
                return self.op("recip", (right,), node, target)
            return self.op(opname, (left, right), node, target)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand, target)
            if isinstance(node.op, ast.USub):
                operand = self.expr(node.operand)
                if isinstance(operand, Const):
                    return self.bind(Const(-operand.value), node, target)
                return self.op(UNARY[ast.USub], (operand,), node, target)
            return Name(self.opaque(self.raw(node), node, target))
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            return Name(self.opaque(self.raw(node), node, target))
        if isinstance(node, ast.IfExp):
            return self.ternary(node, target)
        if isinstance(node, ast.Call):
            return self.call(node, target)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, target)
        if isinstance(node, ast.Tuple):
            raise self.error(node, "tuples are only supported in tuple assignment", "tuple",
                             "use separate variables")
        raise self.error(node, f"'{type(node).__name__}' expressions are not supported",
                         type(node).__name__, "use arithmetic, math/np functions and indexing")

    def load(self, node):
        if node.id in self.scope.rename:
            return self.scope.rename[node.id]
        value = self.scope.parsed.namespace.get(node.id, MISSING)
        if isinstance(value, (bool, int, float, np.floating, np.integer)):
            return Const(value.item() if hasattr(value, "item") else value)
        if value is MISSING:
            raise self.error(node, f"name '{node.id}' is not defined", "name")
        raise self.error(node, f"global '{node.id}' ({type(value).__name__}) cannot be used as a value",
                         "global value", "pass arrays and other values as arguments")

    def attribute(self, node):
        base = self.resolve(node.value)
        if base is np or base is __import__("math"):
            if node.attr in CONSTANTS:
                return Const(CONSTANTS[node.attr])
        if isinstance(node.value, ast.Name) and node.value.id in self.scope.rename and node.attr == "shape":
            raise self.error(node, "use X.shape[k] or `n, d = X.shape`", "x.shape", "index the shape tuple")
        raise self.error(node, f"attribute '{ast.unparse(node)}' is not supported", "attribute",
                         "use math/np constants, x.shape[k] or len(x)")

    def resolve(self, func):
        """The object a call's function expression denotes (MISSING if local/unknown)."""
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id in self.scope.rename:
            return MISSING
        return self.scope.parsed.resolve(func)

    def ternary(self, node, target):
        out = target or self.namer.temp()
        flag = self.opaque(self.raw(node.test), node, self.namer.fresh("branch", numbered=True))
        with self.collect() as body:
            self.expr(node.body, out)
        with self.collect() as orelse:
            self.expr(node.orelse, out)
        self.emit(If(flag, tuple(body), tuple(orelse), self.loc(node)))
        return Name(out)

    def array_name(self, node):
        if isinstance(node, ast.Name) and isinstance(self.scope.rename.get(node.id), Name):
            return self.scope.rename[node.id].id
        raise self.error(node, "expected an array variable", "indexing", "index a named array: x[i]")

    def subscript_parts(self, node):
        """(array name, index atoms) of a[i], A[i, j] or A[i][j]."""
        indices = []
        while isinstance(node, ast.Subscript):
            idx = node.slice
            elts = idx.elts if isinstance(idx, ast.Tuple) else [idx]
            indices = list(elts) + indices
            node = node.value
        if isinstance(node, ast.Attribute) and node.attr == "shape":
            raise self.error(node, "shape indexing here is not supported", "x.shape")
        array = self.array_name(node)
        return array, tuple(self.expr(i) for i in indices)

    def subscript(self, node, target):
        if isinstance(node.value, ast.Attribute) and node.value.attr == "shape":
            array = self.array_name(node.value.value)
            k = node.slice
            if not (isinstance(k, ast.Constant) and isinstance(k.value, int)):
                raise self.error(node, "x.shape must be indexed by a constant", "x.shape[k]")
            return self.op("shape", (Name(array), Const(k.value)), node, target)
        array, index = self.subscript_parts(node)
        return self.op("getitem", (Name(array),) + index, node, target)

    def call(self, node, target):
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and \
                func.value.id in self.scope.rename:
            if func.attr == "copy" and not node.args and not node.keywords:
                return self.op("array_copy", (Name(self.array_name(func.value)),), node, target)
            raise self.error(node, f"method '.{func.attr}()' is not supported", f".{func.attr}()",
                             "use x.copy(), len(x), x.shape or loops over elements")
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
        if _hashable(obj) and obj in CALLS:
            return self.primitive(node, CALLS[obj], label, target)
        if obj is range:
            raise self.error(node, "range() is only supported as a for-loop iterator", "range")
        obj = _python_function(obj)
        if inspect.isfunction(obj):
            return self.inline(obj, node, target)
        raise self.error(node, f"'{label}' has no derivative rule in srcgrad", "call",
                         "use math/np elementary functions or write a helper function")

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
        dims = shape.elts if isinstance(shape, ast.Tuple) else [shape]
        if not 1 <= len(dims) <= 2:
            raise self.error(node, "only 1-D and 2-D arrays are supported", "array rank",
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
                self.bind(atom, node, rename[name].id)
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

    # -- raw (forward-only) expressions ------------------------------------------------------
    def raw(self, node):
        """A copy of a condition/boolean expression with locals renamed, globals
        frozen to constants and calls mapped to their canonical form."""
        return _RawRewriter(self).visit(copy.deepcopy(node))


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


def _or(names):
    return names[0] if len(names) == 1 else ast.BoolOp(ast.Or(), names)


def _hashable(obj):
    try:
        hash(obj)
        return True
    except TypeError:
        return False


def _is_docstring(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _always_returns(stmts):
    """True if every path through the block ends in return (if/else both returning)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Return):
            return True
        if isinstance(stmt, ast.If) and stmt.orelse and _always_returns(stmt.body) and _always_returns(stmt.orelse):
            return True
    return False


def _assigned_params(fn):
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args}
    out = set()
    for node in ast.walk(ast.Module(body=fn.body, type_ignores=[])):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in params:
            out.add(node.id)
    return out
