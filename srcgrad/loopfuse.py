"""Stage 4b: an elementwise chain ending in a full sum becomes a scalar loop.

Input: a typed `Function`. Output: the same function where each chain

    t2 = t1 + b;  p = 1.0 / (1.0 + np.exp(-t2));  t6 = (y - p) ** 2;  L = np.sum(t6)

(elementwise rules on arrays of one rank, each intermediate read only by the
chain, closed by `np.sum` of its last value) is rewritten into the loop a
hand-written adjoint would use:

    n = max(t1.shape[0], y.shape[0]);  t1_s = stretch1(t1, n);  y_s = stretch1(y, n)
    acc = 0.0
    for i in range(n):  t2_i = t1_s[i] + b;  …;  acc = acc + t6_i
    L = acc

The loop only adds to a sum, so `fusion` runs each iteration's forward and
backward sweep together: no N-sized temporaries, one pass over the data in
each direction instead of one per NumPy operation. `stretch` applies NumPy's
broadcasting of size-1 axes (a no-op, returning its argument, when shapes
already agree); its δ is summed back like any broadcast.

A matrix known to have a single row or column (`np.sum(e, axis=1,
keepdims=True)`, a 1-D vector beside matrices, elementwise work on such) is
read at index 0 along that axis instead of being stretched into a copy: its
δ then sums over the loop in one element (a register, `registers`) rather
than in a stretched array summed back afterwards.
"""
import dataclasses

from .program import Const, For, If, Name, Op, While, control_reads, reads, walk
from .rules import RULES
from .typeinfer import is_array

MIN_OPS = 1          # elementwise operations before the sum (np.sum(x * x) already pays)


def run(fn, types, namer):
    """The function with its eligible chains lowered (unchanged if none)."""
    readers = {}
    for stmt in walk(fn.body):
        for name in reads(stmt) + control_reads(stmt):
            readers.setdefault(name, []).append(stmt.sid)
    bindings = binding_counts(fn)
    lowering = _Lowering(types, namer, readers, bindings, set(fn.params), unit_axes(fn, types, bindings))
    body = lowering.block(fn.body)
    return dataclasses.replace(fn, body=body) if lowering.changed else fn


class _Lowering:
    def __init__(self, types, namer, readers, bindings, params, units):
        self.types, self.namer, self.units = types, namer, units
        self.readers, self.bindings, self.params = readers, bindings, params
        self.changed = False

    def block(self, stmts):
        out, k = [], 0
        while k < len(stmts):
            stmt = stmts[k]
            if isinstance(stmt, If):
                stmt = dataclasses.replace(stmt, body=self.block(stmt.body), orelse=self.block(stmt.orelse))
            elif isinstance(stmt, (For, While)):
                stmt = dataclasses.replace(stmt, body=self.block(stmt.body))
            out.append(stmt)
            k += 1
            found = self.chain_before(out)
            if found:
                ops = out[-found:]
                del out[-found:]
                out += self.lower(ops)
                self.changed = True
        return tuple(out)

    # -- recognising a chain ------------------------------------------------------------
    def chain_before(self, out):
        """How many statements at the end of `out` form a chain closed by a full sum."""
        last = out[-1]
        if not (isinstance(last, Op) and last.op == "sum" and dict(last.static).get("axis") is None
                and not dict(last.static).get("keepdims") and isinstance(last.args[0], Name)):
            return 0
        arg = self.types.get(last.args[0].id)
        if not (is_array(arg) and arg[2] == "float64"):
            return 0
        rank = arg[1]
        members = {last.args[0].id}
        count = 1
        for stmt in reversed(out[:-1]):
            if not (isinstance(stmt, Op) and stmt.target in members and self.elementwise(stmt, rank)):
                break
            inside = {s.sid for s in out[len(out) - count - 1:]}
            if not all(sid in inside for sid in self.readers.get(stmt.target, [])):
                break
            members.discard(stmt.target)
            members |= {a.id for a in stmt.args if isinstance(a, Name) and is_array(self.types.get(a.id))}
            count += 1
        return count if count - 1 >= MIN_OPS else 0

    def elementwise(self, stmt, rank):
        """A lifted scalar rule on arrays of `rank` (scalars allowed), bound once."""
        if stmt.op not in RULES or self.bindings.get(stmt.target) != 1 or stmt.target in self.params:
            return False
        if self.types.get(stmt.target) != ("array", rank, "float64"):
            return False
        for arg in stmt.args:
            t = self.types.get(arg.id) if isinstance(arg, Name) else None
            if is_array(t) and t != ("array", rank, "float64"):
                return False
        return True

    # -- the loop -----------------------------------------------------------------------
    def lower(self, ops):
        *body_ops, total = ops
        rank = self.types[total.args[0].id][1]
        loc = total.loc
        produced = {op.target for op in body_ops}
        externals = []
        for op in body_ops:
            for arg in op.args:
                if isinstance(arg, Name) and is_array(self.types.get(arg.id)) and arg.id not in produced \
                        and arg.id not in externals:
                    externals.append(arg.id)
        out = []
        dims = []
        for axis in range(rank):
            sizes = []
            for name in externals:
                if axis in self.units.get(name, ()):
                    continue                     # one row/column: read at 0, not a size to agree with
                size = self.fresh(f"{name}_n{axis}", "int")
                out.append(Op(size, "shape", (Name(name), Const(axis)), loc))
                sizes.append(size)
            if not sizes:                        # every operand has one element along this axis
                sizes.append(self.fresh(f"n{axis}", "int"))
                out.append(Op(sizes[0], "copy", (Const(1),), loc))
            dim, low = sizes[0], sizes[0]
            for other in sizes[1:]:
                joined = self.fresh(f"n{axis}", "int")
                out.append(Op(joined, "max", (Name(dim), Name(other)), loc))
                dim = joined
                smallest = self.fresh(f"n{axis}", "int")
                out.append(Op(smallest, "min", (Name(low), Name(other)), loc))
                low = smallest
            if len(sizes) > 1:         # NumPy's rule: a length-1 axis meeting a length-0 one gives 0
                empty = self.fresh(f"n{axis}", "int")
                out.append(Op(empty, "min", (Name(low), Const(1)), loc))
                joined = self.fresh(f"n{axis}", "int")
                out.append(Op(joined, "mul", (Name(dim), Name(empty)), loc))
                dim = joined
            dims.append(dim)
        stretched = {}
        for name in externals:
            stretched[name] = self.fresh(f"{name}_s", self.types[name])
            units = self.units.get(name, ())
            sizes = tuple(Const(1) if axis in units else Name(d) for axis, d in enumerate(dims))
            out.append(Op(stretched[name], "stretch", (Name(name),) + sizes, loc))
        acc = self.fresh(f"{total.target}_acc", "float")
        out.append(Op(acc, "copy", (Const(0.0),), loc))
        index = [self.fresh("i" if axis == 0 else "j", "int") for axis in range(rank)]
        inner, scalar = [], {}
        for name in externals:
            scalar[name] = self.fresh(f"{name}_e", "float")
            units = self.units.get(name, ())
            at = tuple(Const(0) if axis in units else Name(i) for axis, i in enumerate(index))
            inner.append(Op(scalar[name], "getitem", (Name(stretched[name]),) + at, loc))
        for op in body_ops:
            scalar[op.target] = self.fresh(f"{op.target}_e", "float")
            args = tuple(Name(scalar[a.id]) if isinstance(a, Name) and a.id in scalar else a for a in op.args)
            inner.append(Op(scalar[op.target], op.op, args, op.loc))
        inner.append(Op(acc, "add", (Name(acc), Name(scalar[total.args[0].id])), loc))
        body = tuple(inner)
        for axis in reversed(range(rank)):
            body = (For(index[axis], Const(0), Name(dims[axis]), Const(1), body, loc),)
        out += list(body)
        out.append(Op(total.target, "copy", (Name(acc),), loc))
        return out

    def fresh(self, base, type_):
        name = self.namer.fresh(base)
        self.types[name] = type_
        return name


def binding_counts(fn):
    """{name: how many statements bind it}."""
    bindings = {}
    for stmt in walk(fn.body):
        if isinstance(stmt, Op):
            bindings[stmt.target] = bindings.get(stmt.target, 0) + 1
    return bindings


def unit_axes(fn, types, bindings):
    """{matrix name: the axes along which it has exactly one element}, for
    names bound once: keepdims reductions, and elementwise rules whose array
    operands all have them (a 1-D operand broadcasts as one row)."""
    units = {}
    for stmt in walk(fn.body):
        if not (isinstance(stmt, Op) and bindings.get(stmt.target) == 1
                and types.get(stmt.target) == ("array", 2, "float64")):
            continue
        if stmt.op in ("sum", "amax", "amin", "prod") and dict(stmt.static).get("keepdims"):
            axis = dict(stmt.static).get("axis")
            units[stmt.target] = frozenset((0, 1) if axis is None else (axis % 2,))
        elif stmt.op == "stretch" and any(isinstance(a, Const) and a.value == 1 for a in stmt.args[1:]):
            units[stmt.target] = frozenset(k for k, a in enumerate(stmt.args[1:])
                                           if isinstance(a, Const) and a.value == 1)
        elif stmt.op in RULES:
            found = None
            for arg in stmt.args:
                t = types.get(arg.id) if isinstance(arg, Name) else None
                if is_array(t):
                    mine = frozenset((0,)) if t[1] == 1 else units.get(arg.id, frozenset())
                    found = mine if found is None else found & mine
            if found:
                units[stmt.target] = found
    return units
