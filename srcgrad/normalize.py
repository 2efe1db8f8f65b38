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
- calls are lowered by `calls.py` (primitives, array constructors, inlined
  helpers);
- comparisons and boolean logic stay whole, as 'opaque' forward-only ops.
"""
import ast
import inspect
from contextlib import contextmanager

import numpy as np

from . import fence, nesting
from .array_calls import ArrayLowering
from .calls import CallLowering, Scope, _hashable, _python_function, local_names
from .naming import Namer
from .parse import MISSING, error_at
from .program import BreakIf, Const, For, Function, If, Loc, Name, Op, Return, SetItem, While
from .rules import BINOPS, CALLS, UNARY
from .rules.scalar import CONSTANTS


def run(parsed):
    """Fence and normalize a parsed function: (`program.Function`, the `Namer`
    holding every name it uses, for collision-free names in later stages)."""
    fence.run(parsed)
    normalizer = Normalizer(parsed)
    return normalizer.function(), normalizer.namer


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


class Normalizer(CallLowering, ArrayLowering):
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
            self.emit(Op(target, "copy", (Name(out),), self.loc(node), static=extra.get("static", ())))
        return Name(target if target is not None else out)

    def bind(self, atom, node, target, static=()):
        if target is None or atom == Name(target):
            return atom
        self.emit(Op(target, "copy", (atom,), self.loc(node), static=static))
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
        func = node.value.func if isinstance(node.value, ast.Call) else None
        if isinstance(func, ast.Attribute) and self.resolve(func.value) is MISSING:
            raise self.error(node, f"method '.{func.attr}()' changes an array in place, which srcgrad does not "
                             "differentiate", f".{func.attr}()", "compute a new array instead")
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
            array, index, spec = self.store_parts(target)
            atom = self.expr(value)
            self.emit(SetItem(array, index, atom, "set", self.loc(node), spec))
        elif isinstance(target, ast.Tuple):
            self.assign_tuple(target, value, node)
        else:
            raise self.error(node, "unsupported assignment target", type(target).__name__,
                             "assign to names or array elements")

    def assign_tuple(self, target, value, node):
        """`a, b = b, a + b`, `A[i], A[j] = A[j], A[i]`, `n, d = X.shape`: every
        right-hand value is read before any target is written."""
        if not all(isinstance(e, (ast.Name, ast.Subscript)) for e in target.elts):
            raise self.error(node, "tuple assignment to something other than names or elements",
                             "tuple assignment", "unpack into plain variables")
        names = [self.store(e) for e in target.elts if isinstance(e, ast.Name)]
        if isinstance(value, ast.Attribute) and value.attr == "shape" and len(names) == len(target.elts):
            array = self.array_name(value.value)
            for k, name in enumerate(names):
                self.op("shape", (Name(array), Const(k)), node, name)
            return
        inner = nesting.inner_of(self.resolve(value.func)) if isinstance(value, ast.Call) else None
        if inner is not None and len(names) == len(target.elts):      # v, t = jvp_g(x, t_x)
            nesting.lower(self, value, inner, tuple(names))
            return
        helper = _python_function(self.resolve(value.func)) if isinstance(value, ast.Call) else None
        if inspect.isfunction(helper) and len(names) == len(target.elts):
            self.inline(helper, value, tuple(names))
            return
        if not isinstance(value, ast.Tuple) or len(value.elts) != len(target.elts):
            raise self.error(node, "the right side must be a tuple of the same length (or X.shape)",
                             "tuple assignment", "assign the values one by one")
        written = set(names) | {self.store_parts(e)[0] for e in target.elts if isinstance(e, ast.Subscript)}
        atoms = []
        for elt in value.elts:
            atom = self.expr(elt)
            if isinstance(atom, Name) and atom.id in written:   # swap: read before overwrite
                atom = self.op("copy", (atom,), node)
            atoms.append(atom)
        for elt, atom in zip(target.elts, atoms):
            if isinstance(elt, ast.Name):
                self.bind(atom, node, self.store(elt))
            else:
                array, index, spec = self.store_parts(elt)
                self.emit(SetItem(array, index, atom, "set", self.loc(node), spec))

    def store_parts(self, target):
        """(array name, index atoms, slice spec or None) of an assignment target."""
        parts = self.slice_parts(target)
        if parts is None:
            return self.subscript_parts(target) + (None,)
        base, spec, atoms = parts
        return self.array_name(base), atoms, spec

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
            # (on an array, Python updates it in place: typeinfer checks no alias sees that)
            self.op(opname, (Name(name), rhs), node, name, static=(("inplace", True),))
        elif isinstance(target, ast.Subscript):
            array, index, spec = self.store_parts(target)
            rhs = self.expr(node.value)
            if opname in ("add", "sub"):
                self.emit(SetItem(array, index, rhs, opname, self.loc(node), spec))
            else:
                if spec is None:
                    old = self.op("getitem", (Name(array),) + index, node)
                else:
                    old = self.op("slice", (Name(array),) + index, node, static=spec)
                new = self.op(opname, (old, rhs), node)
                self.emit(SetItem(array, index, new, "set", self.loc(node), spec))
        else:
            raise self.error(node, "unsupported augmented assignment target", "augmented assignment")

    def stmt_Return(self, node):
        if node.value is None and self.scope.procedure:
            self.const_flag(self.scope.ret_flag, True, node)
            return
        if node.value is None:
            raise self.error(node, "returning None: the function must return a float", "return",
                             "return the scalar loss")
        targets = self.scope.ret_var if self.scope.ret_flag else self.scope.final_target
        if isinstance(targets, tuple):     # a helper whose caller unpacks a tuple
            if not isinstance(node.value, ast.Tuple) or len(node.value.elts) != len(targets):
                raise self.error(node, f"the caller unpacks {len(targets)} values here", "tuple return",
                                 "return a tuple of that length")
            self.bind_all(targets, node.value.elts, node)
        elif isinstance(node.value, ast.Tuple):
            raise self.error(node, "the function returns a tuple; grad needs one scalar output", "tuple return",
                             "return a single float (e.g. the sum of the outputs)")
        elif self.scope.ret_flag is None:   # the final statement
            self.final_value = self.expr(node.value, self.scope.final_target)
            return
        else:
            self.expr(node.value, self.scope.ret_var)
        if self.scope.ret_flag:
            self.const_flag(self.scope.ret_flag, True, node)

    def bind_all(self, names, values, node):
        """names[k] = values[k] for all k, every value read before any name is written."""
        atoms = []
        for value in values:
            atom = self.expr(value)
            if isinstance(atom, Name) and atom.id in names:
                atom = self.op("copy", (atom,), node)
            atoms.append(atom)
        for name, atom in zip(names, atoms):
            self.bind(atom, node, name)

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

    def loop_body(self, node, brk, cont, exits, reevaluate=None):
        self.scope.loops.append((brk, cont))
        with self.collect() as body:
            if cont:
                self.const_flag(cont, False, node)
            self.block(node.body)
            if reevaluate:
                self.opaque(self.raw(reevaluate[0]), node, reevaluate[1])
            if exits:
                body.append(BreakIf(_or([ast.Name(f, ast.Load()) for f in exits]), self.loc(node)))
        self.scope.loops.pop()
        return tuple(body)

    def stmt_For(self, node):
        call = _unreverse(node.iter, self.resolve)
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
        brk, cont, exits = self.loop_flags(node)
        if brk:
            self.const_flag(brk, False, node)
        if self.calls_helper(node.test):
            # `while f(x) > tol`: the condition becomes a flag computed before
            # the loop and again at the end of every iteration
            flag = self.namer.fresh("again", numbered=True)
            self.opaque(self.raw(node.test), node, flag)
            body = self.loop_body(node, brk, cont, exits, reevaluate=(node.test, flag))
            cond = ast.Name(flag, ast.Load())
        else:
            cond = self.raw(node.test, hoist=False)     # re-evaluated every iteration
            body = self.loop_body(node, brk, cont, exits)
        self.emit(While(cond, body, self.loc(node), self.namer.fresh("n_iter", numbered=True)))

    def calls_helper(self, expr):
        return any(isinstance(n, ast.Call) and self.computed_call(n) for n in ast.walk(expr))

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
            logit = self.sigmoid_operand(node)
            if logit is not None:
                return self.op("sigmoid", (self.expr(logit),), node, target)
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
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self.compare_value(node, target)
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
        if node.attr == "T" and self.resolve(node.value) is MISSING:
            return self.op("transpose", (self.expr(node.value),), node)
        if isinstance(node.value, ast.Name) and isinstance(self.scope.rename.get(node.value.id), Name):
            if node.attr in ("size", "ndim"):
                return self.op(node.attr, (Name(self.array_name(node.value)),), node)
            if node.attr == "shape":
                raise self.error(node, "use X.shape[k] or `n, d = X.shape`", "x.shape", "index the shape tuple")
        raise self.error(node, f"attribute '{ast.unparse(node)}' is not supported", "attribute",
                         "use math/np constants, x.shape[k], x.size, x.ndim or len(x)")

    def sigmoid_operand(self, node):
        """x when `node` is the logistic sigmoid `1 / (1 + exp(-x))` (1 or 1.0, the sum
        in either order, math.exp or np.exp, `-x` also as `-a * b`), else None: one
        primitive, whose δ σ(1−σ)·δ reads only its output (see the `sigmoid` rule)."""
        def one(n):
            return isinstance(n, ast.Constant) and type(n.value) in (int, float) and n.value == 1

        if not (isinstance(node.op, ast.Div) and one(node.left) and isinstance(node.right, ast.BinOp)
                and isinstance(node.right.op, ast.Add)):
            return None

        def negated(e):
            """y where e is -y; `-a * b` parses as (-a) * b, which is -(a * b) exactly
            (rounding is symmetric), so a leading negation of a product counts too."""
            if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
                return e.operand
            if isinstance(e, ast.BinOp) and isinstance(e.op, (ast.Mult, ast.Div, ast.MatMult)):
                left = negated(e.left)
                if left is not None:
                    return ast.copy_location(ast.BinOp(left, e.op, e.right), e)
            return None

        for constant, call in ((node.right.left, node.right.right), (node.right.right, node.right.left)):
            if one(constant) and isinstance(call, ast.Call) and len(call.args) == 1 and not call.keywords:
                obj = self.resolve(call.func)
                if obj is not MISSING and _hashable(obj) and CALLS.get(obj) == "exp":
                    return negated(call.args[0])
        return None

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
        if isinstance(node, ast.Name) and node.id not in self.scope.rename:
            value = self.scope.parsed.namespace.get(node.id, MISSING)
            kind = "undefined" if value is MISSING else f"a global or closure {type(value).__name__}"
            raise self.error(node, f"'{node.id}' is {kind}, not an argument or local array", "global array",
                             f"pass {node.id} as an argument")
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
        sliced = self.slice_read(node, target)
        if sliced is not None:
            return sliced
        base = node
        while isinstance(base, ast.Subscript):
            base = base.value
        if not isinstance(base, ast.Name):     # (x * y)[i], A.T[0]: index a computed array
            array = self.expr(base)
            index = tuple(self.expr(i) for i in _flat_index(node))
            return self.op("getitem", (array,) + index, node, target)
        array, index = self.subscript_parts(node)
        return self.op("getitem", (Name(array),) + index, node, target)

def _flat_index(node):
    out = []
    while isinstance(node, ast.Subscript):
        idx = node.slice
        out = list(idx.elts if isinstance(idx, ast.Tuple) else [idx]) + out
        node = node.value
    return out


def _unreverse(iterable, resolve):
    """`reversed(range(n))` / `reversed(range(a, b))` as `range(b - 1, a - 1, -1)`."""
    if not (isinstance(iterable, ast.Call) and resolve(iterable.func) is reversed and len(iterable.args) == 1):
        return iterable
    inner = iterable.args[0]
    if not (isinstance(inner, ast.Call) and resolve(inner.func) is range and 1 <= len(inner.args) <= 2):
        return iterable
    start, stop = (ast.Constant(0), inner.args[0]) if len(inner.args) == 1 else inner.args
    minus_one = [ast.BinOp(stop, ast.Sub(), ast.Constant(1)), ast.BinOp(start, ast.Sub(), ast.Constant(1)),
                 ast.UnaryOp(ast.USub(), ast.Constant(1))]
    return ast.copy_location(ast.Call(inner.func, minus_one, []), iterable)


def _or(names):
    return names[0] if len(names) == 1 else ast.BoolOp(ast.Or(), names)


def _is_docstring(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _always_returns(stmts):
    """True if every path through the block ends in return (if/else both returning)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Return):
            return True
        if isinstance(stmt, ast.If) and stmt.orelse and _always_returns(stmt.body) and _always_returns(stmt.orelse):
            return True
        if isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and stmt.test.value is True \
                and "break" not in jumps(stmt):      # `while True:` left only by return
            return True
    return False
