"""Stage 4a: small vectors made inside a loop become buffers written in place.

Input: a typed `Function`. Output: the same function where a vector that a
loop body builds with an elementwise operation on every iteration,

    for k in range(K):
        xc = x[i] - means[k]              # a new d-vector per iteration
        Qxc = Qdiags[k] * xc

is kept in one buffer, allocated once before the loop, and written element
by element, as a hand-written adjoint keeps `xcs[k, j]`:

    xc = np.empty(n_xc)                   # n_xc = max(x.shape[1], means.shape[1])
    for k in range(K):
        for e in range(n_xc):  xc[e] = x[i, e] - means[k, e]
        for e in range(n_Qxc): Qxc[e] = Qdiags[k, e] * xc[e]

NumPy allocates every such vector (and the adjoint its δ, its restored copy
and each δ product), which costs more than the arithmetic when d is small.
As a buffer, the vector's old elements are restored like any array written
in place, its δ is one array zeroed element by element, and row views such
as `means[k]` are read through the matrix itself.

A vector qualifies when it is bound once, by an elementwise rule or
`np.zeros(n)`, inside a loop; it never escapes (read only by element, by
elementwise rules, by full reductions, or copied into another array); and
its length is fixed before the loop starts: each operand is an array bound
before the loop (or a row of one) or another buffer. Operands of unequal
length are reported before the loop, at the user's line (`equal_length`;
NumPy would broadcast a length-1 operand, here it is an error).
"""
import ast
import dataclasses
import os

from . import fusion
from .program import Const, For, If, Name, Op, Return, SetItem, While, children, control_reads, reads, walk
from .rules import RULES
from .typeinfer import is_array

VECTOR = ("array", 1, "float64")
REDUCTIONS = {"sum", "amax", "amin", "prod"}


def run(fn, types, namer):
    """(function, buffer names): the function with its qualifying vectors in buffers."""
    analysis = _Analysis(fn, types)
    chosen = analysis.choose()
    if not chosen:
        return fn, frozenset()
    rewrite = _Rewrite(fn, types, namer, analysis, chosen)
    local = frozenset(z for z, (pos, _) in chosen.items() if fusion.iteration_local(z, fn.body[pos].body))
    return dataclasses.replace(rewrite.function(), local_buffers=fn.local_buffers | local), frozenset(chosen)


class _Analysis:
    def __init__(self, fn, types):
        self.fn, self.types = fn, types
        self.bindings, self.readers, self.defs = {}, {}, {}
        for stmt in walk(fn.body):
            if isinstance(stmt, Op):
                self.bindings[stmt.target] = self.bindings.get(stmt.target, 0) + 1
                self.defs[stmt.target] = stmt
            for name in reads(stmt) + control_reads(stmt):
                self.readers.setdefault(name, []).append(stmt)
        self.place = {}                        # sid -> (id of its block, position in it)
        self.index_blocks(fn.body)
        # names bound once at the top level, with the position of their binding
        self.top_level = {s.target: pos for pos, s in enumerate(fn.body) if isinstance(s, Op)}

    def index_blocks(self, block):
        for pos, stmt in enumerate(block):
            self.place[stmt.sid] = (id(block), pos)
            for child in children(stmt):
                self.index_blocks(child)

    def stable_at(self, name, pos):
        """Bound before top-level statement `pos` and never again: a parameter
        nothing rebinds, or a name bound once at the top level before it."""
        if name in self.fn.params:
            return self.bindings.get(name, 0) == 0
        return self.bindings.get(name) == 1 and self.top_level.get(name, pos) < pos

    def choose(self):
        """{vector: (top-level position to allocate at, [length sources])} in program order."""
        chosen = {}
        for pos, top in enumerate(self.fn.body):
            if not isinstance(top, (For, While)):
                continue
            for stmt in walk(top.body):
                if isinstance(stmt, Op):
                    sources = self.sources(stmt, pos, chosen)
                    if sources is not None and self.kept_inside(stmt.target):
                        chosen[stmt.target] = (pos, sources)
        return chosen

    def sources(self, stmt, pos, chosen):
        """Where the vector's length comes from (None: it does not qualify).
        Each source is ('shape', array, axis), ('buffer', name) or ('scalar', atom)."""
        z = stmt.target
        if self.types.get(z) != VECTOR or self.bindings.get(z) != 1 or z in self.fn.params:
            return None
        if stmt.op == "zeros":
            (size,) = stmt.args if len(stmt.args) == 1 else (None,)
            if isinstance(size, Const) or (isinstance(size, Name) and self.types.get(size.id) == "int"
                                           and self.stable_at(size.id, pos)):
                return [("scalar", size)]
            return None
        if stmt.op not in RULES or Name(z) in stmt.args:
            return None
        out = []
        for arg in stmt.args:
            t = self.types.get(arg.id) if isinstance(arg, Name) else None
            if not is_array(t):
                continue
            if t != VECTOR:
                return None
            if arg.id in chosen:
                out.append(("buffer", arg.id))
            elif self.stable_at(arg.id, pos):
                out.append(("shape", arg.id, 0))
            elif self.row_of(arg.id, pos):
                out.append(("shape", self.defs[arg.id].args[0].id, 1))
            else:
                return None
        return out or None

    def row_of(self, name, pos):
        """Is `name` bound once as a row `A[i]` of a matrix bound before the loop?"""
        define = self.defs.get(name)
        if not (self.bindings.get(name) == 1 and define is not None and define.op == "getitem"
                and len(define.args) == 2):
            return False
        matrix, index = define.args
        return isinstance(matrix, Name) and self.types.get(matrix.id) == ("array", 2, "float64") \
            and self.stable_at(matrix.id, pos) and self.scalar_index(index)

    def scalar_index(self, atom):
        return isinstance(atom, Const) or self.types.get(atom.id) == "int"

    def kept_inside(self, name):
        """Is every use of the vector one that reads its values (none keeps a reference)?"""
        for stmt in self.readers.get(name, []):
            if isinstance(stmt, SetItem):
                if stmt.array == name and not (stmt.spec is None and len(stmt.index) == 1):
                    return False
                continue
            if not isinstance(stmt, Op):
                return False
            if stmt.op == "getitem" and stmt.args[0] == Name(name):
                if len(stmt.args) != 2 or not self.scalar_index(stmt.args[1]):
                    return False
            elif stmt.op in REDUCTIONS:
                if dict(stmt.static).get("axis") is not None or dict(stmt.static).get("keepdims"):
                    return False
            elif stmt.op in RULES:
                if not is_array(self.types.get(stmt.target)):
                    return False          # (a rule with an array operand gives an array)
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


class _Rewrite:
    def __init__(self, fn, types, namer, analysis, chosen):
        self.fn, self.types, self.namer = fn, types, namer
        self.analysis, self.chosen = analysis, chosen
        self.length = {}                       # buffer -> name of its length
        self.replaced = {}                     # sid of a vector's binding -> its element loop
        self.dropped = set()                   # sids of row views read only through their matrix
        self.allocations = {}                  # top-level position -> statements to put before it
        self.renamed = {}                      # stretched alias of a buffer -> the buffer
        self.through_matrix = {}               # sid of a vector's binding -> row views it reads via the matrix

    def function(self):
        for z, (pos, sources) in self.chosen.items():
            define = self.analysis.defs[z]
            self.allocations.setdefault(pos, []).extend(self.allocate(z, sources, define.loc))
            self.replaced[define.sid] = self.element_loop(define)
            for reader in self.analysis.readers.get(z, []):
                if isinstance(reader, Op) and reader.op == "stretch":
                    self.renamed[reader.target] = z
                    self.dropped.add(reader.sid)
        for name, define in self.analysis.defs.items():
            if define.op == "getitem" and self.types.get(name) == VECTOR and self.analysis.readers.get(name) \
                    and all(name in self.through_matrix.get(s.sid, ()) for s in self.analysis.readers[name]):
                self.dropped.add(define.sid)
        body = []
        for pos, stmt in enumerate(self.fn.body):
            body += self.allocations.get(pos, [])
            body += self.block([stmt])
        return dataclasses.replace(self.fn, body=tuple(body))

    def allocate(self, z, sources, loc):
        out, sizes = [], []
        for source in sources:
            if source[0] == "buffer":
                sizes.append(self.length[source[1]])
            elif source[0] == "scalar":
                atom = source[1]
                if isinstance(atom, Name):
                    sizes.append(atom.id)
                else:
                    size = self.fresh(f"n_{z}", "int")
                    out.append(Op(size, "copy", (atom,), loc))
                    sizes.append(size)
            else:
                _, array, axis = source
                size = self.fresh(f"{array}_n{axis}", "int")
                out.append(Op(size, "shape", (Name(array), Const(axis)), loc))
                sizes.append(size)
        length = sizes[0]
        where = f"{os.path.basename(loc.filename)}:{loc.lineno}"
        for other in sizes[1:]:
            if other != length:
                joined = self.fresh(f"n_{z}", "int")
                check = ast.parse(f"equal_length({length}, {other}, {where!r})", mode="eval").body
                out.append(Op(joined, "opaque", (), loc, raw=check, dtype="int64"))
                length = joined
        self.length[z] = length
        out.append(Op(z, "empty", (Name(length),), loc))
        return out

    def element_loop(self, define):
        z, loc = define.target, define.loc
        e = self.fresh("e", "int")
        body = []
        if define.op == "zeros":
            body.append(SetItem(z, (Name(e),), Const(0.0), "set", loc))
        else:
            args = []
            for arg in define.args:
                if not (isinstance(arg, Name) and is_array(self.types.get(arg.id))):
                    args.append(arg)
                    continue
                value = self.fresh(f"{arg.id}_e", "float")
                row = self.row_index(arg.id)
                view = self.analysis.defs.get(arg.id)
                same_block = view is not None and self.analysis.place[view.sid][0] == \
                    self.analysis.place[define.sid][0] and self.analysis.place[view.sid][1] < \
                    self.analysis.place[define.sid][1]
                if row is not None and arg.id not in self.chosen and same_block:
                    matrix, index = row
                    self.through_matrix.setdefault(define.sid, set()).add(arg.id)
                    body.append(Op(value, "getitem", (Name(matrix), index, Name(e)), loc))
                else:
                    body.append(Op(value, "getitem", (arg, Name(e)), loc))
                args.append(Name(value))
            value = self.fresh(f"{z}_e", "float")
            body.append(Op(value, define.op, tuple(args), loc, static=define.static))
            body.append(SetItem(z, (Name(e),), Name(value), "set", loc))
        return For(e, Const(0), Name(self.length[z]), Const(1), tuple(body), loc)

    def row_index(self, name):
        """(matrix, index) when `name` is a row view whose index cannot change
        before it is read (a loop index or a name bound before the loop)."""
        define = self.analysis.defs.get(name)
        if define is None or define.op != "getitem" or len(define.args) != 2 \
                or self.types.get(getattr(define.args[0], "id", None)) != ("array", 2, "float64"):
            return None
        matrix, index = define.args
        if isinstance(index, Name):
            loop_vars = {s.var for s in walk(self.fn.body) if isinstance(s, For)}
            rebound = self.analysis.bindings.get(index.id, 0) > (0 if index.id in self.fn.params else 1)
            if index.id not in loop_vars and rebound:
                return None
            if index.id in loop_vars and sum(1 for s in walk(self.fn.body)
                                             if isinstance(s, For) and s.var == index.id) != 1:
                return None
        return matrix.id, index

    def block(self, stmts):
        out = []
        for stmt in stmts:
            if stmt.sid in self.dropped:
                continue
            if stmt.sid in self.replaced:
                out.append(self.replaced[stmt.sid])
            elif isinstance(stmt, Op) and stmt.op == "getitem" and stmt.args[0].id in self.renamed:
                out.append(dataclasses.replace(stmt, args=(Name(self.renamed[stmt.args[0].id]),) + stmt.args[1:]))
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
