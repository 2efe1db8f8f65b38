"""Stage 4c: small vectors made inside a loop become buffers written element by element.

Input: a typed `Function`. Output: the same function where the vectors a
loop builds on every iteration,

    for t in range(n):
        z = Wx @ X[t] + Wh @ h + b
        i = 1.0 / (1.0 + np.exp(-z[:nh]))
        ...
        cell = f * cell + i * g
        h = o * np.tanh(cell)

live in buffers allocated once before the loop and are written by element
loops, one per vector, with the elementwise steps between them fused into
scalar temporaries (what a hand-written adjoint does):

    t2 = np.empty(n_t2); ...                    # before the loop, lengths checked once
    for t in range(n):
        for e in range(n_t2):                   # Wx @ X[t]: a dot product per row
            acc = 0.0
            for j in range(n_x): acc += Wx[e, j] * X[t, j]
            t2[e] = acc
        ...
        for e in range(n_i): i[e] = 1.0 / (1.0 + math.exp(-z[e]))
        for e in range(n_cell): cell[e] = f[e] * cell[e] + i[e] * g[e]

NumPy allocates every such vector (and the adjoint its δ, its restored copy,
each δ product), which costs more than the arithmetic when vectors are
short. As buffers, a vector's overwritten elements are restored like those
of any array written in place, its δ is one array zeroed element by element,
and rows and slices (`means[k]`, `z[nh:2 * nh]`) are read through the array
they view.

What qualifies, inside a top-level loop (float64 vectors only):
- *materialized* (a buffer): an elementwise rule, a matrix-vector product
  with a matrix bound before the loop, or np.zeros / np.ones, bound once in
  the loop -- or a state vector: bound once by a fresh array before the loop
  and once in it (an elementwise rule reading at most its own element);
- *virtual* (no buffer; its expression is inlined): an elementwise step read
  by exactly one other qualifying step later in its block;
- *views*: a row `A[i]` of a matrix bound before the loop, a slice `v[a:b]`
  of a buffer or of a vector bound before the loop, read only by
  qualifying steps.
A buffer must never escape: read only by element, by elementwise rules, full
reductions, products, or copied into another array. Lengths and slice bounds
must be computable before the loop (from names bound before it, by integer
arithmetic); operands of unequal length are reported there, at the user's
line (`equal_length`; NumPy would broadcast a length-1 operand, here it is an
error).
"""
import ast
import dataclasses
import os

from . import fusion
from .program import Const, For, If, Name, Op, SetItem, While, children, control_reads, reads, walk, writes
from .rules import RULES
from .typeinfer import is_array

VECTOR = ("array", 1, "float64")
MATRIX = ("array", 2, "float64")
REDUCTIONS = {"sum", "amax", "amin", "prod"}
PRODUCTS = {"dot", "matmul", "outer"}
FRESH = {"zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "array_copy"}
INT_OPS = {"add", "sub", "mul", "floordiv", "mod", "copy", "max", "min"}


def run(fn, types, namer):
    """(function, buffer names): the function with its qualifying vectors in buffers."""
    analysis = _Analysis(fn, types)
    steps = analysis.choose()
    if not steps:
        return fn, frozenset()
    rewrite = _Rewrite(fn, types, namer, analysis, steps)
    new_fn = rewrite.function()
    if new_fn is None:
        return fn, frozenset()
    buffers = {z for z, s in steps.items() if s.kind in ("ew", "matvec", "fill")}
    local = frozenset(z for z in buffers if fusion.iteration_local(z, fn.body[steps[z].pos].body))
    return dataclasses.replace(new_fn, local_buffers=fn.local_buffers | local), frozenset(buffers)


@dataclasses.dataclass
class _Step:
    kind: str          # 'ew' | 'matvec' | 'fill' (materialized), 'virtual', 'row' | 'slice' (views), 'vecdot'
    op: Op
    pos: int           # the top-level statement (loop) it belongs to
    state: Op = None   # a state vector's binding before the loop


class _Analysis:
    def __init__(self, fn, types):
        self.fn, self.types = fn, types
        self.bindings, self.readers, self.defs = {}, {}, {}
        for stmt in walk(fn.body):
            if isinstance(stmt, Op):
                self.bindings[stmt.target] = self.bindings.get(stmt.target, 0) + 1
                self.defs.setdefault(stmt.target, []).append(stmt)
            for name in reads(stmt) + control_reads(stmt):
                self.readers.setdefault(name, []).append(stmt)
        self.place = {}                        # sid -> (block, position in it)
        self.index_blocks(fn.body)
        self.top_level = {}
        for pos, stmt in enumerate(fn.body):
            if isinstance(stmt, Op):
                self.top_level.setdefault(stmt.target, []).append(pos)

    def index_blocks(self, block):
        for pos, stmt in enumerate(block):
            self.place[stmt.sid] = (block, pos)
            for child in children(stmt):
                self.index_blocks(child)

    def stable_at(self, name, pos):
        """Bound before top-level statement `pos` and never again: a parameter
        nothing rebinds, or a name bound once, at the top level, before it."""
        if name in self.fn.params:
            return self.bindings.get(name, 0) == 0
        return self.bindings.get(name) == 1 and self.top_level.get(name, [pos])[0] < pos

    # -- candidates -------------------------------------------------------------------
    def choose(self):
        steps = {}
        for pos, top in enumerate(self.fn.body):
            if isinstance(top, (For, While)):
                for stmt in walk(top.body):
                    if isinstance(stmt, Op):
                        step = self.candidate(stmt, pos)
                        if step is not None:
                            steps[stmt.target] = step
        changed = True
        while changed:                        # drop what its readers or operands rule out
            changed = False
            for z in list(steps):
                if z in steps and not self.holds(z, steps):
                    del steps[z]
                    changed = True
            for z, step in steps.items():
                if step.kind == "virtual" and not self.virtual_ok(z, steps):
                    step.kind = "ew"
                    changed = True
        return steps

    def candidate(self, stmt, pos):
        z, t = stmt.target, self.types.get(stmt.target)
        if stmt.op == "dot" and t == "float" and [self.rank(a) for a in stmt.args] == [1, 1] and \
                all(self.types.get(a.id) == VECTOR for a in stmt.args):
            return _Step("vecdot", stmt, pos)       # np.dot(v, h): a sum over one element loop
        if t != VECTOR or z in self.fn.params:
            return None
        state = None
        defs = self.defs[z]
        if len(defs) == 2 and defs[1] is stmt:
            first = defs[0]
            top = self.top_level.get(z, [None])[0]
            if top is None or top >= pos or self.fn.body[top] is not first or not self.fresh(first):
                return None
            state = first
        elif len(defs) != 1:
            return None
        if stmt.op in ("zeros", "ones") and len(stmt.args) == 1 and state is None:
            return _Step("fill", stmt, pos)
        ranks = [self.rank(a) for a in stmt.args]
        if stmt.op in ("matmul", "dot") and ranks == [2, 1] and state is None:
            if self.types.get(stmt.args[0].id) == MATRIX and self.stable_at(stmt.args[0].id, pos) \
                    and self.types.get(stmt.args[1].id) == VECTOR:
                return _Step("matvec", stmt, pos)
            return None
        if stmt.op == "getitem" and ranks == [2, 0] and state is None:
            matrix = stmt.args[0].id
            if self.types.get(matrix) == MATRIX and self.stable_at(matrix, pos) and self.int_atom(stmt.args[1]):
                return _Step("row", stmt, pos)
            return None
        if stmt.op == "slice" and state is None and len(stmt.static) == 1 and stmt.static[0][0] == "s" \
                and not stmt.static[0][3] and self.types.get(stmt.args[0].id) == VECTOR \
                and all(self.int_atom(a) for a in stmt.args[1:]):
            return _Step("slice", stmt, pos)
        if stmt.op in RULES and all(r in (0, 1) for r in ranks) and any(ranks) and all(
                self.types.get(a.id) == VECTOR for a in stmt.args if self.rank(a)):
            return _Step("virtual" if state is None else "ew", stmt, pos, state)
        return None

    def fresh(self, op):
        return op.op in FRESH or (op.op in RULES and any(self.rank(a) for a in op.args))

    def rank(self, atom):
        t = self.types.get(atom.id) if isinstance(atom, Name) else None
        return t[1] if is_array(t) else 0

    def int_atom(self, atom):
        return (isinstance(atom, Const) and type(atom.value) is int) or \
            (isinstance(atom, Name) and self.types.get(atom.id) == "int")

    # -- conditions ---------------------------------------------------------------------
    def holds(self, z, steps):
        step = steps[z]
        op = step.op
        operands = {"matvec": op.args[1:], "row": (), "fill": ()}.get(step.kind, op.args)
        for arg in operands:                  # vector operands must be readable by element
            if self.rank(arg) and not self.readable(arg.id, step, steps):
                return False
        if step.kind == "matvec" and (op.args[1].id in steps and steps[op.args[1].id].kind == "virtual"):
            return False                      # (a virtual operand would be recomputed per row)
        if step.state is not None and not self.self_reads_ok(z, op, steps):
            return False
        if step.kind in ("virtual", "vecdot"):
            return True                       # (a virtual step's one reader: `virtual_ok`; a sum is a float)
        if step.kind in ("row", "slice"):
            return all(self.view_reader_ok(op, r, steps) for r in self.readers.get(z, []))
        return self.kept_inside(z, steps)

    def view_reader_ok(self, view, reader, steps):
        """A row or slice vanishes: each reader must read it by element, or ask its length."""
        if not (isinstance(reader, Op) and self.after_in_block(view, reader)):
            return False
        if reader.op == "shape":
            return reader.args[1] == Const(0)
        if reader.op == "stretch":               # `loopfuse`'s operand: read by element in the loop after it
            if not self.element_reads_only(reader.target):
                return False
            block, start = self.place[view.sid]
            users = {s.sid for s in self.readers.get(reader.target, [])}
            last = max(pos for pos, stmt in enumerate(block) if any(s.sid in users for s in walk([stmt])))
            return all(not (writes(stmt) & set(reads(view))) for stmt in block[start + 1:last])
        return reader.target in steps and steps[reader.target].kind not in ("row", "slice") and \
            self.unchanged_between(view, reader)

    def readable(self, name, step, steps):
        """Can `step`'s element loop read `name` by element?"""
        if name in steps:
            return steps[name].pos == step.pos
        return self.stable_at(name, step.pos) and self.types.get(name) == VECTOR

    def self_reads_ok(self, z, op, steps):
        """A state vector's in-loop step may read its own element e, nothing else of it."""
        def reads_self(name, direct):
            if name == z:
                return not direct
            s = steps.get(name)
            if s is None or s.kind not in ("virtual", "slice"):
                return False
            return any(reads_self(a.id, s.kind == "virtual" and direct) for a in s.op.args if isinstance(a, Name)
                       and self.rank(a))
        return not any(reads_self(a.id, True) for a in op.args if isinstance(a, Name) and self.rank(a))

    def virtual_ok(self, z, steps):
        readers = self.readers.get(z, [])
        if len(readers) != 1:
            return False
        reader = readers[0]
        return isinstance(reader, Op) and reader.target in steps and \
            steps[reader.target].kind in ("ew", "virtual", "vecdot") and \
            self.after_in_block(steps[z].op, reader) and \
            self.unchanged_between(steps[z].op, reader, self.expression_names(z, steps))

    def expression_names(self, z, steps):
        """Every name a virtual step's expression reads (through other virtual steps and views)."""
        out = set()
        step = steps.get(z)
        for name in reads(step.op):
            out.add(name)
            if name in steps and steps[name].kind in ("virtual", "row", "slice"):
                out |= self.expression_names(name, steps)
        return out

    def after_in_block(self, define, reader):
        (block_d, pos_d), (block_r, pos_r) = self.place[define.sid], self.place[reader.sid]
        return block_d is block_r and pos_d < pos_r

    def unchanged_between(self, define, reader, names=None):
        """No statement strictly between `define` and `reader` (same block) writes what `define` reads."""
        block, start = self.place[define.sid]
        stop = self.place[reader.sid][1]
        names = set(reads(define)) if names is None else names
        for stmt in block[start + 1:stop]:
            if writes(stmt) & names:
                return False
        return True

    def kept_inside(self, z, steps):
        """Is every use of the buffer one that reads its values (none keeps a reference)?"""
        for stmt in self.readers.get(z, []):
            if isinstance(stmt, SetItem):
                if stmt.array == z and not (stmt.spec is None and len(stmt.index) == 1):
                    return False
                continue
            if not isinstance(stmt, Op):
                return False
            if stmt.target in steps and steps[stmt.target].kind not in ("row",):
                continue
            if stmt.op == "getitem" and stmt.args[0] == Name(z):
                if len(stmt.args) != 2 or not self.int_atom(stmt.args[1]):
                    return False
            elif stmt.op in REDUCTIONS:
                if dict(stmt.static).get("axis") is not None or dict(stmt.static).get("keepdims"):
                    return False
            elif stmt.op in RULES or stmt.op in PRODUCTS:
                if not (is_array(self.types.get(stmt.target)) or stmt.op in PRODUCTS):
                    return False
            elif stmt.op == "stretch":
                if not self.element_reads_only(stmt.target):
                    return False
            elif stmt.op not in ("shape", "len", "size"):
                return False
        return True

    def element_reads_only(self, name):
        """`loopfuse`'s stretched operand (`Qxc_s = stretch(Qxc, n)`, bound once):
        read only by element inside its loop, so it can read the buffer itself."""
        return self.bindings.get(name) == 1 and all(
            isinstance(s, Op) and s.op == "getitem" and s.args[0] == Name(name) and len(s.args) == 2
            for s in self.readers.get(name, []))


class _Cannot(Exception):
    """A length or bound that cannot be computed before the loop."""


class _Rewrite:
    def __init__(self, fn, types, namer, analysis, steps):
        self.fn, self.types, self.namer = fn, types, namer
        self.a, self.steps = analysis, steps
        self.length = {}                       # vector -> atom of its length (before its loop)
        self.offset = {}                       # slice -> atom of its first element's index in its base
        self.hoisted = {}                      # (name, pos) -> atom: integer names recomputed before the loop
        self.before = {}                       # top-level position -> statements to put before it
        self.replaced = {}                     # sid -> element loop
        self.dropped = set()                   # sids of steps that vanish (virtual, views, aliases)
        self.renamed = {}                      # stretched alias of a buffer -> the buffer
        self.preparing = set()
        self.lengths_of = {}                   # sid of `n = v.shape[0]` of a vanished view -> the view

    def function(self):
        order = [z for z in self.steps]        # program order (walk order of `choose`)
        for z in list(order):
            try:
                self.prepare(z)
            except _Cannot:
                return None
        for z in order:
            step = self.steps[z]
            if step.kind == "vecdot":
                self.replaced[step.op.sid] = self.dot_loop(z)
            elif step.kind in ("ew", "matvec", "fill"):
                self.replaced[step.op.sid] = self.element_loop(z)
                if step.state is None:
                    self.before.setdefault(step.pos, []).append(Op(z, "empty", (self.length[z],), step.op.loc))
                for reader in self.a.readers.get(z, []):
                    if isinstance(reader, Op) and reader.op == "stretch" and reader.target not in self.steps:
                        self.renamed[reader.target] = z
                        self.dropped.add(reader.sid)
            else:
                self.dropped.add(step.op.sid)
                for reader in self.a.readers.get(z, []):
                    if reader.op == "stretch":
                        self.renamed[reader.target] = z
                        self.dropped.add(reader.sid)
                    elif reader.op == "shape":
                        self.lengths_of[reader.sid] = z
        body = []
        for pos, stmt in enumerate(self.fn.body):
            body += self.before.get(pos, [])
            body += self.block([stmt])
        return dataclasses.replace(self.fn, body=tuple(body))

    # -- lengths, before the loop ------------------------------------------------------------
    def prepare(self, z):
        if z in self.length or (z, "dot") in self.length:
            return
        self.preparing.add(z)
        self.compute_length(z)
        self.preparing.discard(z)

    def compute_length(self, z):
        step = self.steps[z]
        op, pos, loc = step.op, step.pos, step.op.loc
        if step.kind == "fill":
            self.length[z] = self.hoist_int(op.args[0], pos)
            return
        if step.kind == "row":
            self.length[z] = self.shape(op.args[0].id, 1, pos, loc)
            return
        if step.kind == "slice":
            base = op.args[0].id
            size = self.operand_length(base, pos, loc)
            _, has_start, has_stop, _ = op.static[0]
            bounds = list(op.args[1:])
            start = self.hoist_int(bounds.pop(0), pos) if has_start else Const(0)
            stop = self.hoist_int(bounds.pop(0), pos) if has_stop else size
            first = self.call("slice_index", (size, start), "int", f"{z}_from", pos, loc)
            last = self.call("slice_index", (size, stop), "int", f"{z}_to", pos, loc)
            self.offset[z] = first
            self.length[z] = self.emit(Op(self.fresh(f"n_{z}", "int"), "max",
                                          (Const(0), self.emit(Op(self.fresh(f"{z}_span", "int"), "sub",
                                                                  (last, first), loc), pos)), loc), pos)
            return
        if step.kind == "vecdot":
            self.length[z, "dot"] = self.equal(self.operand_length(op.args[0].id, pos, loc),
                                               self.operand_length(op.args[1].id, pos, loc), z, pos, loc)
            return
        if step.kind == "matvec":
            matrix, vector = op.args[0].id, op.args[1].id
            self.length[z] = self.shape(matrix, 0, pos, loc)
            self.length[z, "inner"] = self.equal(self.shape(matrix, 1, pos, loc),
                                                 self.operand_length(vector, pos, loc), z, pos, loc)
            return
        sizes = [self.operand_length(a.id, pos, loc) for a in op.args if isinstance(a, Name) and self.a.rank(a)]
        if step.state is not None:
            sizes.append(self.shape(z, 0, pos, loc))
        length = sizes[0]
        for other in sizes[1:]:
            if other != length:
                length = self.equal(length, other, z, pos, loc)
        self.length[z] = length

    def operand_length(self, name, pos, loc):
        if name not in self.steps:
            return self.shape(name, 0, pos, loc)
        if self.steps[name].state is not None:
            return self.shape(name, 0, pos, loc)      # the state vector's buffer, bound before the loop
        if name not in self.length:
            if name in self.preparing:
                raise _Cannot(name)
            self.prepare(name)
        return self.length[name]

    def shape(self, array, axis, pos, loc):
        key = (array, axis, pos)
        if key not in self.hoisted:
            self.hoisted[key] = self.emit(Op(self.fresh(f"{array}_n{axis}", "int"), "shape",
                                             (Name(array), Const(axis)), loc), pos)
        return self.hoisted[key]

    def equal(self, n, m, z, pos, loc):
        where = f"{os.path.basename(loc.filename)}:{loc.lineno}"
        text = f"equal_length({_text(n)}, {_text(m)}, {where!r})"
        return self.emit(Op(self.fresh(f"n_{z}", "int"), "opaque", (), loc, raw=ast.parse(text, mode="eval").body,
                            dtype="int64"), pos)

    def call(self, helper, args, type_, base, pos, loc):
        text = f"{helper}({', '.join(_text(a) for a in args)})"
        return self.emit(Op(self.fresh(base, type_), "opaque", (), loc, raw=ast.parse(text, mode="eval").body,
                            dtype="int64"), pos)

    def hoist_int(self, atom, pos):
        """The value of integer `atom`, computed before top-level statement `pos`."""
        if isinstance(atom, Const):
            return atom
        name = atom.id
        if self.a.stable_at(name, pos):
            return atom
        key = (name, pos)
        if key in self.hoisted:
            return self.hoisted[key]
        defs = self.a.defs.get(name, [])
        if len(defs) != 1 or self.a.types.get(name) != "int" or name in self.fn.params:
            raise _Cannot(name)
        define = defs[0]
        if define.op == "shape" and isinstance(define.args[0], Name):
            array = define.args[0].id
            if array in self.steps:
                self.hoisted[key] = self.length[array]
                return self.hoisted[key]
            if not self.a.stable_at(array, pos):
                raise _Cannot(name)
            args = define.args
        elif define.op in INT_OPS:
            args = tuple(self.hoist_int(a, pos) for a in define.args)
        else:
            raise _Cannot(name)
        copy = Op(self.fresh(name, "int"), define.op, args, define.loc, raw=define.raw, dtype=define.dtype,
                  static=define.static)           # (a new statement: a sid of its own)
        self.hoisted[key] = self.emit(copy, pos)
        return self.hoisted[key]

    def emit(self, op, pos):
        self.before.setdefault(pos, []).append(op)
        return Name(op.target)

    # -- element loops ---------------------------------------------------------------------
    def element_loop(self, z):
        step = self.steps[z]
        op, loc = step.op, step.op.loc
        e = self.fresh("e", "int")
        body = []
        if step.kind == "fill":
            value = Const(0.0 if op.op == "zeros" else 1.0)
        elif step.kind == "matvec":
            acc, j = self.fresh(f"{z}_acc", "float"), self.fresh("j", "int")
            body.append(Op(acc, "copy", (Const(0.0),), loc))
            inner = []
            w = self.fresh(f"{op.args[0].id}_e", "float")
            inner.append(Op(w, "getitem", (op.args[0], Name(e), Name(j)), loc))
            x = self.read(op.args[1].id, Name(j), inner, loc)
            product = self.fresh(f"{z}_term", "float")
            inner.append(Op(product, "mul", (Name(w), x), loc))
            inner.append(Op(acc, "add", (Name(acc), Name(product)), loc, static=(("inplace", True),)))
            body.append(For(j, Const(0), self.length[z, "inner"], Const(1), tuple(inner), loc))
            value = Name(acc)
        else:
            value = self.expression(z, Name(e), body)
        body.append(SetItem(z, (Name(e),), value, "set", loc))
        return For(e, Const(0), self.length[z], Const(1), tuple(body), loc)

    def dot_loop(self, z):
        """`z = np.dot(a, b)` of vectors: acc = 0.0; for e: acc += a[e] * b[e]; z = acc."""
        op, loc = self.steps[z].op, self.steps[z].op.loc
        e, acc = self.fresh("e", "int"), self.fresh(f"{z}_acc", "float")
        body = []
        x = self.read(op.args[0].id, Name(e), body, loc)
        y = self.read(op.args[1].id, Name(e), body, loc)
        product = self.fresh(f"{z}_term", "float")
        body.append(Op(product, "mul", (x, y), loc))
        body.append(Op(acc, "add", (Name(acc), Name(product)), loc, static=(("inplace", True),)))
        return (Op(acc, "copy", (Const(0.0),), loc),
                For(e, Const(0), self.length[z, "dot"], Const(1), tuple(body), loc),
                Op(z, "copy", (Name(acc),), loc))

    def expression(self, z, index, body):
        """Ops computing element `index` of elementwise step z into `body`; its atom."""
        op = self.steps[z].op
        args = []
        for arg in op.args:
            if isinstance(arg, Name) and self.a.rank(arg):
                args.append(self.read(arg.id, index, body, op.loc))
            else:
                args.append(arg)
        value = self.fresh(f"{z}_e", "float")
        body.append(Op(value, op.op, tuple(args), op.loc, static=op.static))
        return Name(value)

    def read(self, name, index, body, loc):
        """Element `index` of vector `name` (a buffer, a stable vector or a view), read into `body`."""
        step = self.steps.get(name)
        if step is not None and step.kind == "virtual":
            return self.expression(name, index, body)
        if step is not None and step.kind == "row":
            matrix, row = step.op.args
            value = self.fresh(f"{name}_e", "float")
            body.append(Op(value, "getitem", (matrix, row, index), loc))
            return Name(value)
        if step is not None and step.kind == "slice":
            offset = self.offset[name]
            if offset != Const(0):
                shifted = self.fresh(f"{name}_at", "int")
                body.append(Op(shifted, "add", (index, offset), loc))
                index = Name(shifted)
            return self.read(step.op.args[0].id, index, body, loc)
        value = self.fresh(f"{name}_e", "float")
        body.append(Op(value, "getitem", (Name(name), index), loc))
        return Name(value)

    def block(self, stmts):
        out = []
        for stmt in stmts:
            if stmt.sid in self.dropped:
                continue
            if stmt.sid in self.replaced:
                loop = self.replaced[stmt.sid]
                out += list(loop) if isinstance(loop, tuple) else [loop]
            elif isinstance(stmt, Op) and stmt.op == "getitem" and stmt.args[0].id in self.renamed:
                source = self.renamed[stmt.args[0].id]
                if source in self.steps and self.steps[source].kind in ("row", "slice"):
                    value = self.read(source, stmt.args[1], out, stmt.loc)
                    out.append(Op(stmt.target, "copy", (value,), stmt.loc))
                else:
                    out.append(dataclasses.replace(stmt, args=(Name(source),) + stmt.args[1:]))
            elif stmt.sid in self.lengths_of:
                out.append(Op(stmt.target, "copy", (self.length[self.lengths_of[stmt.sid]],), stmt.loc))
            elif isinstance(stmt, If):
                out.append(dataclasses.replace(stmt, body=self.block(stmt.body), orelse=self.block(stmt.orelse)))
            elif isinstance(stmt, (For, While)):
                out.append(dataclasses.replace(stmt, body=self.block(stmt.body)))
            else:
                out.append(stmt)
        return tuple(out)

    def fresh(self, base, type_):
        name = self.namer.fresh(base)
        self.types[name] = type_
        return name


def _text(atom):
    return repr(atom.value) if isinstance(atom, Const) else atom.id

