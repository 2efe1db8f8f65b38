"""Stage 6: tape planning — what the backward sweep needs and how it gets it.

Input: a normalized `Function`, its types and active set. Output: a `TapePlan`
saying, for every statement with backward work, which primal values that work
reads and how each one is obtained:

- 'loopvar'   an enclosing for-loop index: the reversed loop recreates it;
- 'direct'    the name still holds the value: either nothing assigns it after
              the statement, or it is *restored*, or a *snapshot* (see below);
- 'recompute' a cheap definition (indexing a read-only array, integer or
              +,-,* arithmetic on available values; for arrays: views, and
              sums, differences and products of arrays themselves available
              or cheap to redo, `x - mu[k]`) in the same block: redo it;
- 'tape'      otherwise: pushed after the statement, popped before its
              backward step (only loop indices and trip counters end up here).

Restored names: a name the backward sweep needs after it has been overwritten
gets its old value pushed just before each assignment and popped right after
that assignment's backward step, so during the backward sweep it always holds
the value it had at that point of the forward sweep. One push per overwrite,
however many statements read it (a loop's state `x`, `y` costs two pushes per
step, like a hand-written trajectory). Names are chosen so that cheap
temporaries are recomputed from restored values rather than stored
(Tapenade's TBR idea: store only what is overwritten and needed). An
integer step `i += c` and a negation `x = -x`, `a[i] = -a[i]` are undone
instead (exact).

Snapshots: what the restore fixpoint still leaves on the tape is, where it
can, pushed once after the last statement of its block that still sees it
(a `Snapshot`) and popped before that statement's backward step: the
backward steps of the statements before read it directly, and values
computed from it are recomputed rather than taped.

Three tapes: float64 values ('f'), int64 indices, counts and shapes ('i'),
one-byte flags ('b'). Pushes whose innermost loop is a `for` are
pre-reserved once per loop (no bounds check per push); others check the
room left. A tape grows only outside loops: inside one, a full tape starts
the adjoint again with the size it needs, remembered for the next call
(`tape_retry`).
"""
import ast
from dataclasses import dataclass, field

from . import fusion
from .program import BreakIf, Const, For, If, Name, Op, SetItem, While, children, control_reads, reads, walk, writes
from .rules import RULES, arrays
from .typeinfer import is_array

SHAPE_OPS = {"shape", "len", "size", "ndim"}
# the tapes: float64 values, int64 integers (indices, trip counts, shapes) and
# uint8 flags (branch conditions, booleans: one byte each, not eight)
TAPE_DTYPES = {"f": "np.float64", "i": "np.int64", "b": "np.uint8"}
# entries each tape starts with: malloc'd, not touched, so a short tape costs
# nothing for it, and a few thousand pushes need no regrowth and copy
INITIAL_TAPE = 4096
CHEAP_OPS = {"getitem", "copy", "len", "shape", "size", "ndim", "float", "int", "opaque"}
MAX_RECOMPUTE_DEPTH = 4
# one division: redone off the δ chain's critical path, cheaper than a push and a pop
CHEAP_RECOMPUTE = {"div", "recip"}
ARRAY_RECOMPUTE = {"add", "sub", "mul", "neg"}
MAX_PRUNE_TRIES = 40       # planning rounds spent looking for redundant restored names


@dataclass(frozen=True)
class Snapshot:
    """`name`, pushed once just after statement `last` and popped just before
    that statement's backward step, where nothing from the name's previous
    write in the block up to `last` writes it: the backward steps of all those
    statements read it directly."""
    last: int
    name: str


@dataclass
class Need:
    name: str
    how: str                 # 'loopvar' | 'direct' | 'recompute' | 'tape'
    tape: str = ""           # 'f', 'i' or 'b' when taped ('i' for a shape)
    define: tuple = ()       # the Ops to redo, in order, when recomputed (and Snapshots they read)
    shape: bool = False      # only the array's shape is needed (un-broadcasting)


@dataclass
class Context:
    block: tuple
    pos: int
    after: frozenset         # names possibly written after this statement
    loopvars: frozenset      # indices of enclosing for loops
    loop: object             # innermost enclosing loop statement (or None)


@dataclass
class TapePlan:
    needs: dict = field(default_factory=dict)        # sid -> [Need]
    rebind: dict = field(default_factory=dict)       # sid -> array whose old shape is pushed first
    rebindable: frozenset = frozenset()
    restored: dict = field(default_factory=dict)     # restored name -> 'f', 'i', 'b' (scalars) or 'fa' (an array)
    contexts: dict = field(default_factory=dict)     # sid -> Context
    work: dict = field(default_factory=dict)         # sid -> bool (has backward work)
    fused: object = None                             # the top-level loop run forward+backward at once
    hoisted: tuple = ()                              # statements after it that run before it
    ranks: dict = field(default_factory=dict)        # array name -> rank (and name.dtype -> dtype)
    region: object = None                            # SetItem -> (text of the written region, its rank)
    shape_root: dict = field(default_factory=dict)   # array -> an array known to have the same shape
    lazy: frozenset = frozenset()                    # loop-local arrays whose δ needs no restart
    undo: dict = field(default_factory=dict)         # sid -> expression giving a restored value's old value
    saved: dict = field(default_factory=dict)        # loop sid -> restored sums pushed once around the loop
    unsaved: frozenset = frozenset()                 # sids of those sums' updates (nothing pushed)
    snapshots: dict = field(default_factory=dict)    # sid -> [(tape, name)] pushed after it (Snapshot)

    def pushes_before(self, stmt):
        """(tape, expression) pushed just before `stmt` runs: old shapes, old
        values; 'fa' pushes an array's elements (its shape goes first on 'i')."""
        out = []
        for name in self.saved.get(stmt.sid, ()):
            out.append((self.restored[name], name))
        if stmt.sid in self.rebind:
            array, ndim = self.rebind[stmt.sid]
            out += [("i", f"{array}.shape[{k}]") for k in range(ndim)]
        if isinstance(stmt, Op) and stmt.target in self.restored and stmt.sid not in self.undo \
                and stmt.sid not in self.unsaved:
            kind = self.restored[stmt.target]
            if kind == "fa":
                out += [("i", f"{stmt.target}.shape[{k}]") for k in range(self.ranks[stmt.target])]
            out.append((kind, stmt.target))
        if isinstance(stmt, SetItem) and stmt.array in self.restored:
            region, rank = self.region(stmt)
            if rank:
                out += [("i", f"{region}.shape[{k}]") for k in range(rank)] + [("fa", region)]
            elif stmt.sid in self.undo:
                pass                    # (the old element follows from the new one)
            else:
                out.append(("f" if self.ranks.get(stmt.array + ".dtype") != "int64" else "i", region))
        return out

    def pushes_after(self, stmt):
        out = []
        for n in self.needs.get(stmt.sid, []):
            if n.how == "tape" and n.shape:
                out += [("i", f"{n.name}.shape[{k}]") for k in range(self.ranks[n.name])]
            elif n.how == "tape":
                out.append((n.tape, n.name))
        return out

    def pushes(self, stmt):
        return self.pushes_before(stmt) + self.pushes_after(stmt)

    def reserved_loop(self, stmt):
        """The for loop whose reservation covers this statement's pushes, if any.

        None inside a loop that holds another loop: the inner loop's pushes
        (not counted in the outer reservation: their number is unknown) may use
        up the room reserved for the outer body, whose pushes then check it."""
        loop = self.contexts[stmt.sid].loop
        if not isinstance(loop, For):
            return None
        if any(isinstance(s, (For, While)) for s in walk(loop.body)):
            return None
        return loop


def run(fn, types, active, temps=frozenset()):
    """Plan with the fewest restored names that leave nothing but indices on
    the tape; fuse a sum-over-iterations loop when `fusion` finds one."""
    plan = _fixpoint(fn, types, active, None, temps)
    choice = fusion.choose(fn, types, active, plan)
    if choice is not None:
        fused = _fixpoint(fn, types, active, choice[0], temps)
        if fusion.choose(fn, types, active, fused) == choice:
            fused.fused, fused.hoisted = choice
            plan = _save_sums_around_loops(fn, fused)
            plan.unsaved |= _fresh_each_iteration(fn, plan)
            return plan
    return _save_sums_around_loops(fn, plan)


def _fresh_each_iteration(fn, plan):
    """In a fused loop, the first assignment of an iteration to a restored
    name that nothing outside the loop reads (`x = b[i]` before a Newton
    solve) overwrites a value no later backward step needs: the previous
    iteration's backward sweep is already done. No push, no pop."""
    loop = plan.fused
    inside = {s.sid for s in walk(loop.body)}
    read_outside = {n for s in walk(fn.body) if s.sid not in inside and s is not loop
                    for n in reads(s) + control_reads(s)}
    out = set()
    for name in plan.restored:
        if name in read_outside or name in fn.params or not fusion.iteration_local(name, loop.body):
            continue
        first = next(s for s in loop.body if name in fusion.names_read([s]) or name in writes(s))
        if isinstance(first, Op) and first.target == name:
            out.add(first.sid)
    return frozenset(out)


def _save_sums_around_loops(fn, plan):
    """A restored float that a loop only accumulates into (`e += v[k] * h[k]`,
    read by nothing else in the loop) needs no push per update: no backward
    step inside the loop reads it. One push before the loop and one pop after
    its reversal give the value before the loop back (the outermost such loop)."""
    unsaved = set()

    def visit(block, sums):
        for stmt in block:
            if isinstance(stmt, (For, While)) and stmt is not plan.fused:
                here = [n for n in sums if fusion.is_sum(n, stmt.body)]
                if here:
                    plan.saved[stmt.sid] = tuple(here)
                    unsaved.update(s.sid for s in walk(stmt.body) if isinstance(s, Op) and s.target in here)
                visit(stmt.body, [n for n in sums if n not in here])
            else:
                for child in children(stmt):
                    visit(child, sums)
    visit(fn.body, [n for n, kind in plan.restored.items() if kind == "f"])
    plan.unsaved = frozenset(unsaved)
    return plan


def _fixpoint(fn, types, active, fused, temps):
    """Restore names until nothing but indices is left on the tape; then
    plan with snapshots for what is still taped, dropping restored names
    that became redundant."""
    restored = set()
    for _ in range(50):
        planner = _Planner(fn, types, active, restored, fused, temps, snapshots=False)
        blocking = planner.plan_all()
        if not blocking - restored:
            break
        restored |= blocking
    return _prune(fn, types, active, fused, temps, restored)


def _prune(fn, types, active, fused, temps, restored):
    """Drop restored scalars that later rounds made redundant: `t = xc[j]` is
    restored when first met, but once `xc` itself is restored (for another
    statement) `t` can be recomputed from it, which saves a push and a pop
    per assignment; or `t = s * A[k, c]` once `c` is a Snapshot. A name goes
    only if nothing new must be taped without it."""
    def taped(p):
        return sum(n.how == "tape" for needs in p.needs.values() for n in needs) + \
            sum(len(entries) for entries in p.snapshots.values())

    planner = _Planner(fn, types, active, restored, fused, temps)
    planner.plan_all()
    plan = planner.plan
    candidates = [n for n in sorted(restored) if not is_array(types.get(n))]
    for name in candidates[:MAX_PRUNE_TRIES]:
        fewer = restored - {name}
        planner = _Planner(fn, types, active, fewer, fused, temps)
        if not planner.plan_all() - fewer and taped(planner.plan) <= taped(plan):
            restored, plan = fewer, planner.plan
    return plan


class _Planner:
    def __init__(self, fn, types, active, restored, fused=None, temps=frozenset(), snapshots=True):
        self.fn = fn
        self.snapshots = snapshots
        self.fused = fused
        self.types = types
        self.active = active
        self.plan = TapePlan()
        self.plan.lazy = frozenset(lazy_locals(fn, types, active))
        self.plan.rebindable = frozenset(self._rebindable()) - self.plan.lazy
        self.counters = {s.counter for s in walk(fn.body) if isinstance(s, (For, While)) and s.counter}
        unrestorable = {s.var for s in walk(fn.body) if isinstance(s, For)} | self.counters
        self.restorable = lambda name: name not in unrestorable and (
            not is_array(types.get(name)) or types[name][2] == "float64")
        self.plan.restored = {n: ("fa" if is_array(types.get(n)) else scalar_tape(types.get(n)))
                              for n in sorted(restored)}
        for name, t in types.items():
            if is_array(t):
                self.plan.ranks[name] = t[1]
                self.plan.ranks[name + ".dtype"] = t[2]
        self.plan.region = lambda stmt: region_of(stmt, types)
        self.plan.shape_root = shape_roots(fn, types, temps)
        self.written = {s.array for s in walk(fn.body) if isinstance(s, SetItem)}
        self.read_mostly = _read_mostly(fn, types)
        bindings = {}
        for s in walk(fn.body):
            if isinstance(s, Op):
                bindings[s.target] = bindings.get(s.target, 0) + 1
        self.write_depth = {}             # name -> deepest loop nesting of a statement writing it
        self.depth = {}                   # sid -> loops around the statement
        def depths(block, depth):
            for st in block:
                self.depth[st.sid] = depth
                for name in (writes(st) if isinstance(st, (Op, SetItem)) else ()):
                    self.write_depth[name] = max(self.write_depth.get(name, 0), depth)
                for child in children(st):
                    depths(child, depth + isinstance(st, (For, While)))
        depths(fn.body, 0)
        self.bound_once = {n for n, c in bindings.items() if c == 1 and n not in fn.params} | \
            {p for p in fn.params if p not in bindings}
        self.blocking = set()

    def plan_all(self):
        """Fill the plan; returns names whose restoration would avoid per-use taping."""
        self.contexts(self.fn.body, frozenset(), frozenset(), None)
        self.plan_block(self.fn.body)
        return self.blocking

    # -- where each statement sits ----------------------------------------------------
    def contexts(self, block, follow, loopvars, loop):
        suffix = set()
        for pos in range(len(block) - 1, -1, -1):
            stmt = block[pos]
            after = frozenset(follow | suffix)
            self.plan.contexts[stmt.sid] = Context(block, pos, after, loopvars, loop)
            if isinstance(stmt, If):
                for child in children(stmt):
                    self.contexts(child, after, loopvars, loop)
            elif stmt is self.fused:          # each iteration's backward follows its forward
                self.contexts(stmt.body, frozenset(), frozenset(loopvars | {stmt.var}), stmt)
            elif isinstance(stmt, (For, While)):
                inner = after | writes(stmt)
                inner_vars = loopvars | {stmt.var} if isinstance(stmt, For) else loopvars
                self.contexts(stmt.body, inner, frozenset(inner_vars), stmt)
            suffix |= writes(stmt)

    # -- backward work and needs --------------------------------------------------------
    def plan_block(self, block):
        any_work = False
        for stmt in block:
            any_work |= self.plan_stmt(stmt)
        return any_work

    def plan_stmt(self, stmt):
        if isinstance(stmt, (If, For, While)):
            work = False
            for child in children(stmt):
                work |= self.plan_block(child)
            names = []
            if work and isinstance(stmt, If):
                names = [stmt.flag]
            elif work and isinstance(stmt, For):
                bounds = (stmt.start, stmt.step) if stmt.counter else (stmt.start, stmt.stop, stmt.step)
                names = [b.id for b in bounds if isinstance(b, Name)] + ([stmt.counter] if stmt.counter else [])
            elif work and isinstance(stmt, While):
                names = [stmt.counter]
        else:
            work = self._has_work(stmt)
            names = self._needed_names(stmt) if work else []
            if isinstance(stmt, SetItem) and stmt.array in self.plan.restored:
                # the element put back (or negated back) is found by the same index
                names += [a.id for a in stmt.index if isinstance(a, Name) and a.id not in names]
            work = work or (isinstance(stmt, Op) and stmt.target in self.plan.restored) \
                or (isinstance(stmt, SetItem) and stmt.array in self.plan.restored)
            if work and self._binds_array(stmt) and stmt.target in self.plan.rebindable \
                    and stmt.target not in self.plan.restored:
                self.plan.rebind[stmt.sid] = (stmt.target, self.types[stmt.target][1])
        self.plan.work[stmt.sid] = work
        if isinstance(stmt, Op) and self.plan.restored.get(stmt.target) in ("i", "f"):
            undo = self._undo(stmt)
            if undo:
                self.plan.undo[stmt.sid] = undo
        if isinstance(stmt, SetItem) and stmt.array in self.plan.restored:
            undo = self._undo_negated_element(stmt)
            if undo:
                self.plan.undo[stmt.sid] = undo
        if work:
            ctx = self.plan.contexts[stmt.sid]
            shapes = [n[len(SHAPE_PREFIX):] for n in names if n.startswith(SHAPE_PREFIX)]
            values = [n for n in names if not n.startswith(SHAPE_PREFIX)]
            self.plan.needs[stmt.sid] = [self._need(n, ctx) for n in dict.fromkeys(values)] + \
                [self._shape_need(n, ctx) for n in dict.fromkeys(shapes) if n not in values]
        return work

    def _undo(self, stmt):
        """`i = i + c` on integers, c a constant or a name not written after it:
        its old value is `i - c` exactly, so nothing goes on the tape (a
        running index such as ADBench's triangle offset). Likewise `x = -x`
        (negation is exact in floating point too)."""
        if stmt.op == "neg" and stmt.args[0] == Name(stmt.target):
            return f"-{stmt.target}"
        if stmt.op == "copy" and isinstance(stmt.args[0], Name):       # `x = -x` normalized: `t = -x; x = t`
            ctx = self.plan.contexts[stmt.sid]
            negate = self._reaching_def(stmt.args[0].id, ctx)
            if negate is not None and negate.op == "neg" and negate.args[0] == Name(stmt.target) and \
                    not self._written_between(ctx.block, self.plan.contexts[negate.sid].pos, ctx.pos - 1, stmt.target):
                return f"-{stmt.target}"
            return None
        if stmt.op not in ("add", "sub") or stmt.args[0] != Name(stmt.target) or \
                self.types.get(stmt.target) != "int":
            return None
        step = stmt.args[1]
        if isinstance(step, Const):
            if type(step.value) is not int:
                return None
            text = repr(step.value)
        elif isinstance(step, Name) and self.types.get(step.id) == "int" and step.id != stmt.target \
                and step.id not in self.plan.contexts[stmt.sid].after:
            text = step.id
        else:
            return None
        return f"{stmt.target} {'-' if stmt.op == 'add' else '+'} {text}"

    def _undo_negated_element(self, stmt):
        """`a[i] = -a[i]` (normalized: `t = a[i]; u = -t; a[i] = u`, nothing
        writing `a` or the index between): the old element is minus the new
        one, exactly; nothing taped (an alternating sign in a cofactor
        expansion)."""
        if stmt.mode != "set" or stmt.spec is not None or not isinstance(stmt.value, Name):
            return None
        ctx = self.plan.contexts[stmt.sid]
        negate = self._reaching_def(stmt.value.id, ctx)
        if negate is None or negate.op != "neg" or not isinstance(negate.args[0], Name):
            return None
        read = self._reaching_def(negate.args[0].id, self.plan.contexts[negate.sid])
        if read is None or read.op != "getitem" or read.args[0] != Name(stmt.array) or \
                len(read.args) - 1 != len(stmt.index):
            return None
        start = self.plan.contexts[read.sid].pos
        names = [stmt.array] + [a.id for a in stmt.index if isinstance(a, Name)]
        if any(self._written_between(ctx.block, start, ctx.pos - 1, n) for n in names) or \
                not all(self._same_value(a, b, ctx) for a, b in zip(read.args[1:], stmt.index)):
            return None
        region, _ = self.plan.region(stmt)
        return f"-{region}"

    def _same_value(self, a, b, ctx):
        """Do atoms a and b (read at ctx) hold the same value: the same atom,
        or integer temporaries of the block computed the same way from the same
        unchanged names (`signs[k % 2] = -signs[k % 2]` reads `k % 2` twice)?"""
        if a == b:
            return True
        if not (isinstance(a, Name) and isinstance(b, Name)):
            return False
        defs = [self._reaching_def(x.id, ctx) for x in (a, b)]
        if None in defs or defs[0].op != defs[1].op or defs[0].op not in ("add", "sub", "mul", "mod", "floordiv") \
                or defs[0].args != defs[1].args or self.types.get(a.id) != "int":
            return False
        first = min(self.plan.contexts[d.sid].pos for d in defs)
        return not any(self._written_between(ctx.block, first, ctx.pos - 1, x.id)
                       for x in defs[0].args if isinstance(x, Name))

    def _shape_need(self, name, ctx):
        """Only `name`'s shape: read it when the array is still there, else tape
        its dimensions (a few integers instead of the whole array)."""
        how, _ = self._avail(name, ctx, ctx.pos, MAX_RECOMPUTE_DEPTH)
        if how == "direct":
            return Need(name, "direct", shape=True)
        return Need(name, "tape", "i", shape=True)

    def _has_work(self, stmt):
        if isinstance(stmt, Op):
            return stmt.target in self.active
        if isinstance(stmt, SetItem):
            return stmt.array in self.active
        return False

    def _needed_names(self, stmt):
        """Primal names the backward step of a simple statement reads (names
        whose shape only is needed come as SHAPE_PREFIX + name)."""
        if isinstance(stmt, SetItem):
            names = [a.id for a in stmt.index if isinstance(a, Name)]
            if is_array(self.types.get(getattr(stmt.value, "id", None))) and stmt.value.id in self.active:
                # the same root as SHAPE(value) resolves to in `reverse` (it must be the one taped)
                names.append(SHAPE_PREFIX + self.plan.shape_root.get(stmt.value.id, stmt.value.id))
            return names
        if stmt.op in ("getitem", "slice"):
            return [a.id for a in stmt.args[1:] if isinstance(a, Name)] if stmt.args[0].id in self.active else []
        templates = rule_templates(stmt, self.types)
        if templates is None:
            return []
        inputs, vjp = templates
        mapping = {"z": Name(stmt.target), **dict(zip(inputs, stmt.args))}
        names = []
        for expr, arg in zip(vjp, stmt.args):
            if expr is not None and isinstance(arg, Name) and arg.id in self.active:
                for used, shape_only in _free_names(expr):
                    atom = mapping.get(used)
                    if isinstance(atom, Name):
                        names.append(SHAPE_PREFIX + self.plan.shape_root.get(atom.id, atom.id) if shape_only
                                     else atom.id)
        return names

    def _binds_array(self, stmt):
        return isinstance(stmt, Op) and is_array(self.types.get(stmt.target))

    def _rebindable(self):
        """Active arrays bound more than once (or in a loop): each binding's
        backward step must restart δ with the previous binding's shape."""
        sites = {}
        in_loop = set()

        def visit(block, looped):
            for stmt in block:
                if isinstance(stmt, Op) and is_array(self.types.get(stmt.target)):
                    sites[stmt.target] = sites.get(stmt.target, 0) + 1
                    if looped:
                        in_loop.add(stmt.target)
                for child in children(stmt):
                    visit(child, looped or isinstance(stmt, (For, While)))
        visit(self.fn.body, False)
        out = set()
        for name, count in sites.items():
            if name in self.active and (count + (name in self.fn.params) > 1 or name in in_loop):
                out.add(name)
        return out

    # -- availability -----------------------------------------------------------------------
    def _need(self, name, ctx):
        root = ctx.pos
        stmt = ctx.block[root]
        if isinstance(stmt, Op) and stmt.target == name:
            # the statement's own output: as if read just after it
            ctx = Context(ctx.block, root + 1, ctx.after, ctx.loopvars, ctx.loop)
        how, chain = self._avail(name, ctx, root, 0)
        tape = ""
        if how == "tape":
            tape = scalar_tape(self.types.get(name))
            self.blocking |= self._blockers(name, ctx, root, 0)
        for snap in chain:
            if isinstance(snap, Snapshot):
                entries = self.plan.snapshots.setdefault(snap.last, [])
                entry = (scalar_tape(self.types.get(snap.name)), snap.name)
                if entry not in entries:
                    entries.append(entry)
        return Need(name, how, tape, tuple(chain))

    def _avail(self, name, ctx, root, depth):
        """(how, Ops to redo in order) to have, during the backward step of the
        statement at position `root` of ctx.block, the value `name` had at ctx."""
        if name in ctx.loopvars:
            return "loopvar", []
        if name not in ctx.after:
            return "direct", []
        if name in self.plan.restored and not self._written_between(ctx.block, ctx.pos, root, name):
            return "direct", []
        define = self._reaching_def(name, ctx)
        if define is not None and depth < MAX_RECOMPUTE_DEPTH and self._cheap(define):
            chain = self._recompute_chain(define, root, depth)
            if chain is not None:
                return "recompute", chain + [define]
        snapshot = self._snapshot(name, ctx, root)
        if snapshot is not None:
            return "direct", [snapshot]
        return "tape", []

    def _recompute_chain(self, define, root, depth):
        """What redoing `define` needs first (Ops, Snapshots), or None when an
        input is not to be had without the tape."""
        dctx = self.plan.contexts[define.sid]
        chain = []
        for arg in reads(define):
            if is_array(self.types.get(arg)) and define.op in SHAPE_OPS and arg in self.bound_once:
                continue                  # its shape never changes (only its elements may)
            if is_array(self.types.get(arg)):
                # the array's contents must be unchanged, or put back by the time
                # root's backward step runs (a restored array written only later),
                # or the array itself cheap to redo (`mu[k]`, `x - mu[k]`)
                if arg in dctx.after and not (arg in self.plan.restored and
                                              not self._written_between(dctx.block, dctx.pos, root, arg)):
                    how, sub = self._avail(arg, dctx, root, depth + 1)
                    if how != "recompute":
                        return None
                    chain += [op for op in sub if op not in chain]
                continue
            how, sub = self._avail(arg, dctx, root, depth + 1)
            if how == "tape":
                return None
            chain += [op for op in sub if op not in chain]
        return chain

    def _snapshot(self, name, ctx, root):
        """A Snapshot of `name` after the last statement of ctx's block before
        the block's next write of `name` (or its end), when nothing in between
        can leave the loop early and the block sits in as many loops as the
        deepest write of `name` (else restoring `name` at its writes, the
        blockers' way, pushes less): one push per pass serves the backward
        steps of all the statements up to there, and lets values computed
        from `name` be recomputed instead of taped."""
        block = ctx.block
        if not self.snapshots or block is self.fn.body or name in self.plan.restored or name in self.counters \
                or self.types.get(name) not in ("float", "int", "bool") \
                or self.write_depth.get(name, 0) < self.depth[block[0].sid]:
            return None
        last = ctx.pos - 1            # the value before block[ctx.pos]: the same after block[last]
        while last + 1 < len(block) and name not in writes(block[last + 1]):
            last += 1
        if last < root or _leaves_early(block[:last + 1]):
            return None               # (popped before root's backward step, or not at all)
        return Snapshot(block[last].sid, name)

    def _blockers(self, name, ctx, root, depth):
        """Names to restore so that `name` becomes available (itself, or what a
        cheap definition of it reads)."""
        if self._avail(name, ctx, root, depth)[0] != "tape":
            return set()
        define = self._reaching_def(name, ctx)
        if define is not None and depth < MAX_RECOMPUTE_DEPTH and self._cheap(define):
            dctx = self.plan.contexts[define.sid]
            out = set()
            for arg in reads(define):
                if is_array(self.types.get(arg)):
                    if arg in dctx.after and (arg in self.read_mostly or self._rebound_outside(arg, define)) \
                            and not self._written_between(dctx.block, dctx.pos, root, arg):
                        return {arg}              # restore the array (once per write or rebinding): its reads need no tape
                    if arg in dctx.after:
                        return {name} if self.restorable(name) else set()
                    continue
                out |= self._blockers(arg, dctx, root, depth + 1)
            if out and all(self.restorable(n) for n in out) and not out <= set(self.plan.restored) \
                    and max(self.write_depth.get(n, 0) for n in out) <= self.write_depth.get(name, 0):
                return out            # (not when they change in a deeper loop: `t = acc` after acc's loop)
        return {name} if self.restorable(name) else set()     # (restoring what it reads did not do)

    def _rebound_outside(self, array, read):
        """Is `array` a float64 array that is only ever rebound (never written
        element by element), and only in loops shallower than the loop
        reading it (`u = new` once per time step, `u[i - 1]`, `u[i]`,
        `u[i + 1]` read for every cell)? Restoring its elements once per
        rebinding then stores less than taping every value read from it."""
        return self.restorable(array) and is_array(self.types.get(array)) and array not in self.written \
            and array not in self.fn.params and self.write_depth.get(array, 0) < self.depth[read.sid]

    @staticmethod
    def _written_between(block, start, root, name):
        """Does a statement at positions start+1 .. root of `block` assign `name`?"""
        return any(name in writes(stmt) for stmt in block[start + 1:root + 1])

    def _reaching_def(self, name, ctx):
        for stmt in reversed(ctx.block[:ctx.pos]):
            if name in writes(stmt):
                return stmt if isinstance(stmt, Op) and stmt.target == name else None
        return None

    def _cheap(self, op):
        if op.op == "opaque":
            return not any(isinstance(n, ast.Call) and getattr(n.func, "id", "") != "len"
                           for n in ast.walk(op.raw))
        if is_array(self.types.get(op.target)):
            # a view (x[t], A[:, j], A.T) of an array that is not written: free to take again;
            # a sum, difference or product of arrays: one pass over its operands, where the tape
            # would cost a copy in and a copy out (and the memory)
            if op.op in ARRAY_RECOMPUTE:
                return True
            return op.op in ("getitem", "slice", "transpose") and all(
                not is_array(self.types.get(a.id)) or a.id not in self.written
                for a in op.args[1:] if isinstance(a, Name))
        if op.op == "pow" and isinstance(op.args[1], Const) and op.args[1].value in (2, 3, 2.0, 3.0):
            return True         # x ** 2, x ** 3: one or two multiplications
        return op.op in CHEAP_OPS or op.op in CHEAP_RECOMPUTE or (op.op in RULES and RULES[op.op].cheap)


SHAPE_PREFIX = "shape of "


def scalar_tape(t):
    """The tape a scalar of type `t` goes on: 'f', 'i' or 'b' (see TAPE_DTYPES)."""
    return {"float": "f", "bool": "b"}.get(t, "i")


def _free_names(expr):
    """(name, only its shape is read) for every name of a template."""
    out = []

    def visit(node, shape_only):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "SHAPE":
            shape_only = True
        if isinstance(node, ast.Name):
            out.append((node.id, shape_only))
        for child in ast.iter_child_nodes(node):
            if not (isinstance(node, ast.Call) and child is node.func):
                visit(child, shape_only)
    visit(expr, False)
    return out


def rule_templates(stmt, types):
    """(input names, δ templates) of an Op's rule, for its operands' ranks;
    None for structural ops."""
    ranks = tuple(_rank(types, a) for a in stmt.args)
    if stmt.op == "dot":
        return ("x", "y"), arrays.dot_variant(ranks, stmt.static).vjp
    if stmt.op in arrays.ARRAY_RULES:
        inputs = arrays.ARRAY_RULES[stmt.op].inputs
        return inputs[:len(ranks)], arrays.variant(stmt.op, ranks, stmt.static).vjp
    if stmt.op not in RULES:
        return None
    rule = RULES[stmt.op]
    if any(ranks):
        return rule.inputs, arrays.variant(stmt.op, ranks, stmt.static).vjp
    return rule.inputs, rule.vjp


def _rank(types, atom):
    t = types.get(atom.id) if isinstance(atom, Name) else None
    return t[1] if is_array(t) else 0


def region_of(stmt, types):
    """(text, rank) of the part of an array a SetItem writes."""
    from .emit import index_text
    text = index_text(stmt.array, stmt.index, stmt.spec)
    ndim = types[stmt.array][1]
    if stmt.spec is None:
        return text, ndim - len(stmt.index)
    consumed = sum(1 for p in stmt.spec if p != "n")
    return text, sum(1 for p in stmt.spec if p != "i") + ndim - consumed


def recompute_order(needs):
    """The Ops to redo before a backward step, dependencies first, each once."""
    order = []
    for need in needs:
        if need.how == "recompute":
            order += [op for op in need.define if isinstance(op, Op) and op not in order]
    return order


def _leaves_early(block):
    """Can a pass over `block` stop before its end (a break out of the loop
    it is the body of, or of a loop around it)?"""
    for stmt in block:
        if isinstance(stmt, BreakIf):
            return True
        if isinstance(stmt, If) and (_leaves_early(stmt.body) or _leaves_early(stmt.orelse)):
            return True
    return False


def shape_roots(fn, types, temps):
    """Temporaries whose shape is, by construction, the shape of an earlier
    array: the result of an elementwise rule whose other operands are scalars
    (`t7 = t6 ** 2`), or a copy. Each name must have a single binding.
    Reading the root's shape instead lets the temporary be fused away."""
    bindings = {}
    for stmt in walk(fn.body):
        if isinstance(stmt, Op):
            bindings[stmt.target] = bindings.get(stmt.target, 0) + 1 + (stmt.target in fn.params)
    single = {n for n, c in bindings.items() if c == 1} | (set(fn.params) - set(bindings))
    roots = {}
    for stmt in walk(fn.body):
        if not (isinstance(stmt, Op) and stmt.target in single and stmt.target in temps
                and is_array(types.get(stmt.target))):
            continue
        arrays_in = [a.id for a in stmt.args if isinstance(a, Name) and is_array(types.get(a.id))]
        elementwise = stmt.op in RULES or stmt.op in ("copy", "array_copy")
        if elementwise and len(arrays_in) == 1 and arrays_in[0] in single \
                and types[arrays_in[0]][1] == types[stmt.target][1]:
            roots[stmt.target] = roots.get(arrays_in[0], arrays_in[0])
    return roots


def lazy_locals(fn, types, active):
    """Active arrays local to one iteration of a loop whose δ is only ever
    assigned or added to as a whole, at the top level of that loop's body:
    each backward iteration's first contribution assigns their δ, so the δ of
    the previous binding needs no zero array (and no taped shape) to restart."""
    users = {}
    for stmt in walk(fn.body):
        simple = isinstance(stmt, (Op, SetItem)) or not children(stmt)
        for name in (reads(stmt) + sorted(writes(stmt)) if simple else []) + control_reads(stmt):
            users.setdefault(name, []).append(stmt)
    out = set()
    for loop in walk(fn.body):
        if not isinstance(loop, (For, While)):
            continue
        top = {s.sid for s in loop.body}
        for name in active:
            if not is_array(types.get(name)) or name in fn.params:
                continue
            uses = users.get(name, [])
            if not uses or not all(s.sid in top and isinstance(s, Op) and s.op not in ("getitem", "slice")
                                   for s in uses):
                continue
            first = next(s for s in loop.body if s in uses)
            if first.target == name and name not in reads(first):
                out.add(name)
    return out


def _read_mostly(fn, types):
    """float64 arrays written element by element only (never rebound after
    their creation outside loops) whose element reads outnumber their writes,
    counting a statement 8x per enclosing loop: restoring each overwritten
    element is cheaper than taping every value read from them (an LSTM's
    h[j], read by 4·nh units, written once per unit)."""
    weight = {}

    def visit(block, scale):
        for stmt in block:
            if isinstance(stmt, Op) and stmt.op == "getitem" and isinstance(stmt.args[0], Name):
                weight.setdefault(stmt.args[0].id, [0, 0, False])[0] += scale
            elif isinstance(stmt, SetItem):
                weight.setdefault(stmt.array, [0, 0, False])[1] += scale
            elif isinstance(stmt, Op) and scale > 1:
                weight.setdefault(stmt.target, [0, 0, False])[2] = True     # rebound inside a loop
            for child in children(stmt):
                visit(child, scale * (8 if isinstance(stmt, (For, While)) else 1))
    visit(fn.body, 1)
    return {name for name, (reads_, writes_, rebound) in weight.items()
            if not rebound and writes_ and reads_ > writes_ and is_array(types.get(name))
            and types[name][2] == "float64" and name not in fn.params}
