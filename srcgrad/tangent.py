"""Forward mode: the tangent program, as a normalized function.

Input: a normalized `Function` (what `pipeline.semantic` gives), its types
and the `wrt` parameters. Output: a new normalized `Function` with one more
parameter `t_<w>` per wrt parameter (the tangent: the direction of the
derivative) that runs the primal and, after each step z = g(x, y) that
depends on a wrt parameter, the step's tangent

    t_z = ∂g/∂x · t_x + ∂g/∂y · t_y

and returns `t_<out>`, the directional derivative of the output.

No tangent rule is written anywhere: every rule of the table is linear in
δ, so its reverse template read with δ := t_x *is* ∂g/∂x · t_x for scalar and
elementwise rules (``mul``: ``d_z * y`` → ``t_x * y``); the array primitives
with their own algebra are linear (sum, transpose, reshape, cumsum: the
primal applied to the tangent) or bilinear (``@``, ``np.outer``: one term per
side). The template is lowered to ops of the same table, so the result is an
ordinary program: `pipeline` emits it (jvp), and can differentiate it in
reverse mode again (Hessian-vector products, reverse over forward).

Control flow is kept: loops, branches and early exits run as in the primal,
each branch carrying its tangents; arrays written element by element have
tangent arrays written at the same elements.
"""
import ast
import copy
import dataclasses
import math

import numpy as np

from . import activity
from .emit import fold
from .errors import SrcgradError
from .program import BreakIf, Const, For, Function, If, Name, Op, Return, SetItem, While
from .rules import BINOPS, CALLS, RULES, arrays
from .rules.scalar import polygamma_rule
from .runtime import digamma, polygamma
from .typeinfer import ARRAY_OPS, INT_OPS, LIKE_OPS, SHAPE_OF_OPS, is_array

# array primitives whose tangent is the primal applied to the tangent of the first input
_LINEAR = {"transpose", "reshape", "sum", "cumsum", "stretch"}
# ... and those linear in each input separately: one term per varied input
_BILINEAR = {"matmul", "dot", "outer"}
# structural ops passing their first input's tangent on
_PASS = {"copy", "float", "array_copy"}
# reductions whose tangent is the sum (same axis) of their δ template read with δ = 1, times t_x
_PICKING = {"amax", "amin", "prod"}

_NAMED_CALLS = {"max": max, "min": min, "abs": abs, "float": float, "digamma": digamma,
                "polygamma": polygamma}


@dataclasses.dataclass(frozen=True)
class Linearized:
    """The tangent program and what a caller needs to know about it."""
    fn: Function
    value: object          # atom of the primal's return value
    tangents: tuple        # tangent parameter names, one per wrt parameter
    namer: object


def run(fn, types, wrt, namer):
    """The tangent program of `fn` w.r.t. `wrt` (see module docstring)."""
    return _Linearizer(fn, types, wrt, namer).function()


class _Linearizer:
    def __init__(self, fn, types, wrt, namer):
        self.fn, self.types, self.wrt, self.namer = fn, types, tuple(wrt), namer
        self.varied = activity.varied(fn, types, wrt)
        self.tangent_names = {}
        self.primal_of = {}          # tangent name -> its primal (a tangent has its primal's rank)
        self.out = []

    def t(self, name):
        """The tangent name of a variable: t_<name> (stable, collision-free)."""
        if name not in self.tangent_names:
            cand = "t_" + name
            while cand in self.namer.taken:
                cand += "_"
            self.namer.taken.add(cand)
            self.tangent_names[name] = cand
            self.primal_of[cand] = name
        return self.tangent_names[name]

    def function(self):
        tangents = tuple(self.t(w) for w in self.wrt)
        body = []
        for p in self.fn.params:           # a non-wrt argument written with varied values
            if p in self.varied and p not in self.wrt:
                body += self.zero_tangent(p, self.fn.body[0].loc if self.fn.body else None)
        body += self.block(self.fn.body)
        ret = body.pop()
        assert isinstance(ret, Return)
        value = ret.value
        if isinstance(value, Name) and value.id in self.varied:
            t_value = Name(self.t(value.id))
        else:
            t_value = Name(self.namer.fresh("t_out"))
            body += self.zero_tangent_as(t_value.id, value, ret.loc)
        body.append(Return(t_value, ret.loc))
        fn = dataclasses.replace(self.fn, name=f"{self.fn.name}_jvp", params=self.fn.params + tangents,
                                 body=tuple(body), names=frozenset(self.namer.taken))
        return Linearized(fn, value, tangents, self.namer)

    # -- statements ------------------------------------------------------------------------
    def block(self, stmts):
        out = []
        for stmt in stmts:
            out += self.stmt(stmt)
        return out

    def stmt(self, stmt):
        if isinstance(stmt, Op):
            return [stmt] + (self.op(stmt) if stmt.target in self.varied else [])
        if isinstance(stmt, SetItem):
            return [stmt] + self.setitem(stmt)
        if isinstance(stmt, If):
            return [dataclasses.replace(stmt, body=tuple(self.block(stmt.body)),
                                        orelse=tuple(self.block(stmt.orelse)))]
        if isinstance(stmt, (For, While)):
            return [dataclasses.replace(stmt, body=tuple(self.block(stmt.body)))]
        if isinstance(stmt, (BreakIf, Return)):
            return [stmt]
        raise AssertionError(f"unknown statement {stmt}")

    def setitem(self, stmt):
        if stmt.array not in self.varied:
            return []
        value = stmt.value
        if isinstance(value, Name) and value.id in self.varied:
            t_value = Name(self.t(value.id))
        elif stmt.mode == "set":
            t_value = Const(0.0)        # the written part no longer depends on anything varied
        else:
            return []
        return [SetItem(self.t(stmt.array), stmt.index, t_value, stmt.mode, stmt.loc, stmt.spec)]

    def op(self, stmt):
        """The tangent ops of a step whose target is varied."""
        z, op, args = stmt.target, stmt.op, stmt.args
        varied = [isinstance(a, Name) and a.id in self.varied for a in args]
        if not any(varied) or op in INT_OPS or op in ARRAY_OPS or op in SHAPE_OF_OPS or \
                (op in LIKE_OPS and op != "array_copy") or op in ("opaque", "eye", "arange"):
            return self.zero_tangent(z, stmt.loc)
        lower = _Lowering(self, stmt)
        if op in _PASS:
            return lower.assign(z, (Name(self.t(args[0].id)),), "copy" if op != "array_copy" else op, stmt.static)
        if op in ("getitem", "slice"):
            return lower.assign(z, (Name(self.t(args[0].id)),) + args[1:], op, stmt.static)
        if op in _LINEAR:
            return lower.assign(z, (Name(self.t(args[0].id)),) + args[1:], op, stmt.static)
        if op in _BILINEAR:
            terms = []
            for k, is_varied in enumerate(varied):
                if is_varied:
                    swapped = list(args)
                    swapped[k] = Name(self.t(args[k].id))
                    terms.append(lower.op(op, tuple(swapped), stmt.static))
            return lower.finish(z, [ast.Name(t.id, ast.Load()) for t in terms])
        if op in _PICKING:
            return lower.picking()
        rule = RULES.get(op)
        if rule is None:
            raise SrcgradError(f"forward mode of '{op}' is not supported yet", filename=stmt.loc.filename,
                               lineno=stmt.loc.lineno, construct=op, hint="differentiate this function with grad")
        if not rule.differentiable:
            return self.zero_tangent(z, stmt.loc)
        mapping = {"z": Name(z), **dict(zip(rule.inputs, args))}
        if rule.jvp is not None:            # a custom rule's own tangent
            tangents = {f"t_{x}": (Name(self.t(a.id)) if is_varied else Const(0.0))
                        for x, a, is_varied in zip(rule.inputs, args, varied)}
            return lower.finish(z, [fold(_substitute(rule.jvp[0], {**mapping, **tangents}))])
        terms = []
        for template, arg, is_varied in zip(rule.vjp, args, varied):
            if not is_varied or (isinstance(template, ast.Constant) and template.value == 0):
                continue
            terms.append(fold(_substitute(template, {**mapping, "d_z": Name(self.t(arg.id))})))
        return lower.finish(z, terms)

    def zero_tangent(self, name, loc):
        return self.zero_tangent_as(self.t(name), Name(name), loc)

    def zero_tangent_as(self, target, like, loc):
        t = self.types.get(like.id) if isinstance(like, Name) else None
        if is_array(t):
            op = Op(target, "zeros_like", (like,), loc, dtype="float64")
            if t[2] != "float64":       # the tangent of an int array is a float array of its shape
                op = Op(target, "zeros_shape", (like,), loc, dtype="float64")
            return [op]
        return [Op(target, "copy", (Const(0.0),), loc)]

    def rank(self, atom):
        if not isinstance(atom, Name):
            return 0
        t = self.types.get(self.primal_of.get(atom.id, atom.id)) or self.types.get(atom.id)
        return t[1] if is_array(t) else 0


class _Lowering:
    """Turns a tangent expression (a rule's template with names filled in)
    into ops of the rule table, appended in order; temporaries t1, t2, …"""

    def __init__(self, lin, stmt):
        self.lin, self.stmt, self.out = lin, stmt, []
        self.ranks = {}             # rank of each temporary made here

    def rank(self, atom):
        if isinstance(atom, Name) and atom.id in self.ranks:
            return self.ranks[atom.id]
        return self.lin.rank(atom)

    def op(self, name, args, static=(), target=None, rank=None):
        out = target or self.lin.namer.temp()
        self.out.append(Op(out, name, tuple(args), self.stmt.loc, static=static))
        self.ranks[out] = max((self.rank(a) for a in args), default=0) if rank is None else rank
        return Name(out)

    def assign(self, target, args, name, static=()):
        self.op(name, args, static, target=self.lin.t(target))
        return self.out

    def finish(self, z, terms):
        """t_z = the sum of the terms (ASTs), broadcast to z's shape."""
        t_z = self.lin.t(z)
        if not terms:
            return self.lin.zero_tangent(z, self.stmt.loc)
        positive = [t for t in terms if not _negated(t)]
        negative = [t.operand for t in terms if _negated(t)]
        if not positive:
            total = self.expr(ast.UnaryOp(ast.USub(), _sum(negative)))
        else:
            total = self.expr(_sum(positive))
            for term in negative:
                total = self.op("sub", (total, self.expr(term)))
        if self.rank(total) < self.lin.rank(Name(z)):
            total = self.op("add", (total, self.op("zeros_like", (Name(z),), rank=self.lin.rank(Name(z)))))
        last = self.out[-1] if self.out else None
        if isinstance(last, Op) and isinstance(total, Name) and last.target == total.id and total.id in self.lin.namer.temps:
            # the last op computed the total: let it assign t_z directly
            self.out[-1] = dataclasses.replace(last, target=t_z)
        elif self.rank(total) and not (isinstance(total, Name) and total.id in self.lin.namer.temps):
            # another name's tangent array: a copy, never a second name for one array
            self.out.append(Op(t_z, "array_copy", (total,), self.stmt.loc))
        else:
            static = self.stmt.static if self.stmt.op == "copy" else ()
            self.out.append(Op(t_z, "copy", (total,), self.stmt.loc, static=static))
        return self.out

    def picking(self):
        """np.max/np.min/np.prod of an array (np.max(x), np.prod(A, axis=1), …)."""
        stmt = self.stmt
        x = stmt.args[0]
        rank = self.rank(x)
        if rank == 0:
            return self.assign(stmt.target, (Name(self.lin.t(x.id)),), "copy")
        static = dict(stmt.static)
        axis = static.get("axis")
        axis = None if axis is None or rank == 1 else axis % rank
        keep = bool(static.get("keepdims", False))
        if stmt.op == "prod":
            return self.product(x, rank, axis, keep)
        return self.extreme(x, rank, axis, keep)

    def extreme(self, x, rank, axis, keep):
        """max/min: the tangent of the extreme element (the mean over ties, a
        subgradient: ties have measure zero), summed like the primal reduces."""
        stmt, z = self.stmt, Name(self.stmt.target)
        picked = z
        if axis == 1 and not keep:          # a row's extreme against the row: z[:, None]
            picked = self.op("slice", (z,), static=(("s", False, False, False), "n"), rank=2)
        mask = self.opaque(ast.Compare(ast.Name(x.id, ast.Load()), [ast.Eq()], [ast.Name(picked.id, ast.Load())]))
        self.ranks[mask.id] = rank
        hit = self.op("where", (mask, Name(self.lin.t(x.id)), Const(0.0)))
        ties = self.op("where", (mask, Const(1.0), Const(0.0)), rank=rank)
        total = self.op("sum", (hit,), static=stmt.static, rank=self.lin.rank(z))
        count = self.op("sum", (ties,), static=stmt.static, rank=self.lin.rank(z))
        self.op("div", (total, count), target=self.lin.t(stmt.target))
        return self.out

    def product(self, x, rank, axis, keep):
        """prod: the dual-number recurrence (p, t_p) <- (p·x_j, t_p·x_j + p·t_x_j)
        along the reduced elements, exact where elements are zero."""
        stmt, namer, loc = self.stmt, self.lin.namer, self.stmt.loc
        t_x = Name(self.lin.t(x.id))
        sizes = [self.op("shape", (x, Const(k)), rank=0) for k in range(rank)]

        def recurrence(p, t_p, element_index):
            x_j = self.op("getitem", (x,) + element_index, rank=0)
            t_j = self.op("getitem", (t_x,) + element_index, rank=0)
            a = self.op("mul", (Name(t_p), x_j), rank=0)
            b = self.op("mul", (Name(p), t_j), rank=0)
            self.op("add", (a, b), target=t_p, rank=0)
            p_new = self.op("mul", (Name(p), x_j), rank=0)
            self.op("copy", (p_new,), target=p, rank=0)

        def loop(var, size, build):
            saved, self.out = self.out, []
            build()
            body, self.out = self.out, saved
            self.out.append(For(var, Const(0), size, Const(1), tuple(body), loc))

        p, t_p = namer.fresh("p", numbered=True), namer.fresh("t_p", numbered=True)
        if axis is None:
            self.op("copy", (Const(1.0),), target=p, rank=0)
            self.op("copy", (Const(0.0),), target=t_p, rank=0)
            i, j = namer.fresh("i", numbered=True), namer.fresh("j", numbered=True)
            if rank == 1:
                loop(i, sizes[0], lambda: recurrence(p, t_p, (Name(i),)))
            else:
                loop(i, sizes[0], lambda: loop(j, sizes[1], lambda: recurrence(p, t_p, (Name(i), Name(j)))))
            self.op("copy", (Name(t_p),), target=self.lin.t(stmt.target), rank=0)
            return self.out
        kept = 1 - axis
        line = self.op("zeros", (sizes[kept],), rank=1)
        i, j = namer.fresh("i", numbered=True), namer.fresh("j", numbered=True)

        def per_line():
            self.op("copy", (Const(1.0),), target=p, rank=0)
            self.op("copy", (Const(0.0),), target=t_p, rank=0)
            index = (lambda: (Name(j), Name(i))) if axis == 0 else (lambda: (Name(i), Name(j)))
            loop(j, sizes[axis], lambda: recurrence(p, t_p, index()))
            self.out.append(SetItem(line.id, (Name(i),), Name(t_p), "set", loc))
        loop(i, sizes[kept], per_line)
        if keep:
            dims = (Const(1), sizes[1]) if axis == 0 else (sizes[0], Const(1))
            self.op("reshape", (line,) + dims, target=self.lin.t(stmt.target), rank=2)
        else:
            self.op("copy", (line,), target=self.lin.t(stmt.target), rank=1)
        return self.out

    # -- expressions -----------------------------------------------------------------------------
    def expr(self, node):
        if isinstance(node, ast.Constant):
            return Const(node.value)
        if isinstance(node, ast.Name):
            return Name(node.id)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.expr(node.operand)
            return Const(-inner.value) if isinstance(inner, Const) else self.op("neg", (inner,))
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            left, right = self.expr(node.left), self.expr(node.right)
            name = BINOPS[type(node.op)]
            if name == "div" and left in (Const(1.0), Const(1)):
                return self.op("recip", (right,))
            return self.op(name, (left, right))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.IfExp):
            return self.ternary(node)
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            return self.opaque(node)
        raise self.unsupported(ast.unparse(node))

    def call(self, node):
        func = node.func
        target = None
        if isinstance(func, ast.Name):
            target = _NAMED_CALLS.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            module = {"math": math, "np": np}.get(func.value.id)
            target = getattr(module, func.attr, None) if module else None
        name = CALLS.get(target) if target is not None else None
        if target is polygamma and isinstance(node.args[0], ast.Constant):   # ψ⁽ⁿ⁾: one rule per order
            return self.op(polygamma_rule(node.args[0].value), (self.expr(node.args[1]),))
        if name is None or name not in RULES:
            raise self.unsupported(ast.unparse(node))
        return self.op(name, tuple(self.expr(a) for a in node.args))

    def ternary(self, node):
        """`a if c else b`: an If for scalars (the other side is not evaluated),
        np.where for arrays."""
        if not any(isinstance(n, ast.Name) for n in ast.walk(node.test)):      # `2.0 > 0`: decided now
            decided = eval(compile(ast.fix_missing_locations(ast.Expression(node.test)), "<test>", "eval"))
            return self.expr(node.body if decided else node.orelse)
        test = self.opaque(node.test)
        if self.rank(test):
            return self.op("where", (test, self.expr(node.body), self.expr(node.orelse)))
        out = self.lin.namer.temp()
        z = Name(self.stmt.target)
        saved, branches, values = self.out, [], []
        for branch in (node.body, node.orelse):
            self.out = []
            values.append(self.expr(branch))
            branches.append(self.out)
        arrays_ = any(self.rank(v) for v in values)
        for k, value in enumerate(values):
            self.out = branches[k]
            if arrays_ and self.rank(value) < self.lin.rank(z):       # one array type on both paths
                value = self.op("add", (value, self.op("zeros_like", (z,), rank=self.lin.rank(z))))
            if arrays_ and not (isinstance(value, Name) and value.id in self.lin.namer.temps):
                self.op("array_copy", (value,), target=out)
            else:
                self.op("copy", (value,), target=out)
            branches[k] = tuple(self.out)
        self.out = saved
        self.ranks[out] = self.lin.rank(z) if arrays_ else 0
        self.out.append(If(test.id, branches[0], branches[1], self.stmt.loc))
        return Name(out)

    def opaque(self, node):
        flag = self.lin.namer.fresh("flag", numbered=True)
        raw = copy.deepcopy(node)
        rank = max((self.rank(Name(n.id)) for n in ast.walk(raw) if isinstance(n, ast.Name)), default=0)
        if rank:
            raw = arrays._Lift().visit(raw)         # chained comparisons and `and` of masks: &
        self.out.append(Op(flag, "opaque", (), self.stmt.loc, raw=raw))
        self.ranks[flag] = rank
        return Name(flag)

    def unsupported(self, text):
        stmt = self.stmt
        return SrcgradError(f"forward mode of `{stmt.loc.text}` needs `{text}`, which srcgrad cannot differentiate "
                            "again yet", filename=stmt.loc.filename, lineno=stmt.loc.lineno,
                            construct=f"forward mode of {stmt.op}", hint="use grad for this function")


def _substitute(template, mapping):
    class Sub(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in mapping:
                value = mapping[node.id]
                return ast.Name(value.id, ast.Load()) if isinstance(value, Name) else ast.Constant(value.value)
            return node
    return Sub().visit(copy.deepcopy(template))


def _negated(node):
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)


def _sum(terms):
    total = terms[0]
    for term in terms[1:]:
        total = ast.BinOp(total, ast.Add(), term)
    return total
