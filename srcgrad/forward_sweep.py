"""Stage 7a: the forward sweep — the primal, recording what the backward sweep needs.

Mixed into `reverse.Generator`. Emits each statement of the normalized
function as Python, with the pushes the `TapePlan` asks for (old values of
restored names before an assignment, loop indices and trip counts after a
structure), tape reservations before `for` loops, counters for loops that can
stop early, and bounds checks on element accesses (hoisted before a loop
where every iteration makes the access). The primal function is the same
sweep without pushes.
"""
import ast
import os
import re

from .emit import atom_text, index_text, part_update, render, substitute
from .program import BreakIf, Const, For, If, Name, Op, Return, SetItem, While, raw_names, walk, writes
from .rules import RULES, arrays
from .tape import TAPE_DTYPES, region_of
from .typeinfer import VIEW_OPS, in_place, is_array

WHILE_CHUNK = 64       # while-loop iterations per check of the tape's room
MAX_BOUNDED_TRIPS = 4096   # `while ... and k < C`: room for C iterations reserved at once up to this C


class ForwardSweep:
    """Forward-sweep emission; needs fn, plan, types, active, kinds, wrt, tape, checked."""

    # -- forward sweep ---------------------------------------------------------------------
    def return_atom(self):
        return [s for s in self.fn.body if isinstance(s, Return)][-1].value

    def prologue(self, code, adjoint):
        written = {s.array for s in walk(self.fn.body) if isinstance(s, SetItem)}
        for p, kind in zip(self.fn.params, self.kinds):
            if is_array(kind) and p in written:
                code.line(f"{p} = {p}.copy()", "never mutate the caller's array")
            if adjoint and p in self.wrt and kind == "int":
                code.line(f"{p} = float({p})")
        nested = {s.target for block in _nested_blocks(self.fn.body) for s in walk(block) if isinstance(s, Op)}
        if adjoint:
            for name in self.program_order(set(self.active) | set(self.plan.restored)):
                t = self.types[name]
                if is_array(t) and name not in self.fn.params and \
                        (name in nested or name in self.plan.restored or name in self.plan.rebindable):
                    shape = "0" if t[1] == 1 else "(0, 0)"
                    dtype = "" if t[2] == "float64" else f", dtype=np.{t[2] if t[2] != 'bool' else 'bool_'}"
                    code.line(f"{name} = np.empty({shape}{dtype})", "bound on every path")
            for name in self.plan.restored:
                if name not in self.fn.params and not is_array(self.types[name]):
                    initial = {"float": "0.0", "int": "0", "bool": "False"}[self.types[name]]
                    code.line(f"{name} = {initial}", "its old value is saved before each assignment")

    def tapes_used(self):
        used = {kind for entries in self.plan.snapshots.values() for kind, _ in entries}
        for stmt in walk(self.fn.body):
            for kind, _ in self.plan.pushes(stmt) if self.plan.work.get(stmt.sid) else []:
                used.add(kind[0])
        return used | self.checkpoint_tapes()

    def forward(self, block, code, taping, inside=None):
        """The forward sweep of `block`; `inside`: the if/for/while statement
        whose body it is, inside which the bounds checks passed before it stay
        valid unless it writes what they read (its loop index included)."""
        outer = getattr(self, "valid_checks", {})
        changed = writes(inside) if inside is not None else None
        self.valid_checks = {} if changed is None else \
            {test: names for test, names in outer.items() if not names & changed}
        try:
            self.forward_block(block, code, taping)
        finally:
            self.valid_checks = outer

    def forward_block(self, block, code, taping):
        for stmt in block:
            if isinstance(stmt, Return) or stmt.sid in self.skip:
                self.push_snapshot(code, stmt, taping)
                continue
            if isinstance(stmt, BreakIf):
                with code.block(f"if {render(stmt.cond)}:"):
                    code.line("break")
                continue
            self.source_comment(code, stmt)      # `# line N:` as in the backward sweep (show --html pairs them)
            taped = taping and self.plan.work.get(stmt.sid)
            before = self.plan.pushes_before(stmt) if taped else []
            after = self.plan.pushes_after(stmt) if taped else []
            self.push(code, stmt, before)
            self.bounds_check(code, stmt)
            if isinstance(stmt, Op) and self.shared_binding(stmt):
                code.line(f"{stmt.target} = {stmt.args[0].id}", "the same array: nothing writes into it while both name it")
            elif isinstance(stmt, Op):
                code.line(f"{stmt.target} = {self.op_text(stmt)}")
            elif isinstance(stmt, SetItem):
                code.line(self.setitem_text(stmt))
            elif isinstance(stmt, If):
                with code.block(f"if {stmt.flag}:"):
                    self.forward(stmt.body, code, taping, inside=stmt)
                if stmt.orelse:
                    with code.block("else:"):
                        self.forward(stmt.orelse, code, taping, inside=stmt)
            elif isinstance(stmt, For) and taping and stmt.sid in self.segmented:
                self.forward_checkpointed(stmt, code)
            elif isinstance(stmt, For):
                self.forward_for(stmt, code, taping)
            elif isinstance(stmt, While):
                counting = taping and self.plan.work.get(stmt.sid)
                if counting:
                    code.line(f"{stmt.counter} = 0")
                needed = self.reservation(stmt.body, stmt) if taping and stmt.sid not in self.covered else None
                bound = self.while_bound(stmt)
                if needed is not None and bound is not None:
                    # `while ... and k < 50`: room for the most iterations it can run, once
                    self.reserve_for(needed, f"max(0, {bound[0]} - {bound[1]})", code)
                    self.cover(stmt)
                    needed = None
                if needed is not None and any(e != "0" for e in needed.values()) and \
                        not any(isinstance(s, BreakIf) for s in walk(stmt.body)):
                    self.forward_while_chunked(stmt, needed, counting, code, taping)
                else:
                    with code.block(f"while {render(stmt.cond)}:"):
                        if counting:
                            code.line(f"{stmt.counter} += 1")
                        if needed is not None:          # room for this iteration's pushes, checked once
                            self.reserve_for(needed, "1", code)
                            self.cover(stmt)
                        self.forward(stmt.body, code, taping, inside=stmt)
            self.push(code, stmt, after)
            self.push_snapshot(code, stmt, taping)
            changed = set() if isinstance(stmt, SetItem) else writes(stmt)    # (elements: shapes unchanged)
            self.valid_checks = {test: names for test, names in self.valid_checks.items() if not names & changed}

    def push_snapshot(self, code, stmt, taping):
        """Names the backward steps before `stmt`'s read from one push after it (`tape.Snapshot`)."""
        if taping and stmt.sid in self.plan.snapshots:
            self.push(code, stmt, self.plan.snapshots[stmt.sid])

    def forward_while_chunked(self, stmt, needed, counting, code, taping):
        """A while loop whose iterations push a known number of entries runs in
        chunks of WHILE_CHUNK iterations, the tape's room checked once per
        chunk: a tape that may be replaced inside the hot loop (by a growth
        check per iteration) keeps Numba from holding it in registers, which
        cost a Newton solve 40% of its time. The condition is evaluated again
        when a chunk ends (conditions are pure expressions)."""
        chunk = self.namer.fresh("chunk", numbered=True)
        condition = render(stmt.cond)
        with code.block(f"while {condition}:"):
            code.comment(f"room for up to {WHILE_CHUNK} iterations, checked once")
            self.reserve_for(needed, str(WHILE_CHUNK), code)
            self.cover(stmt)
            with code.block(f"for {chunk} in range({WHILE_CHUNK}):"):
                if counting:
                    code.line(f"{stmt.counter} += 1")
                self.forward(stmt.body, code, taping, inside=stmt)
                with code.block(f"if not ({condition}):"):
                    code.line("break")

    def forward_for(self, stmt, code, taping):
        counting = taping and stmt.counter and self.plan.work.get(stmt.sid)
        if counting:
            code.line(f"{stmt.counter} = 0")
        if taping and stmt.sid not in self.covered:
            self.reserve_loop(stmt, self.trips_text(stmt), code)
        self.hoist_bounds_checks(code, stmt)
        with code.block(f"for {stmt.var} in {self.range_text(stmt)}:"):
            if counting:
                code.line(f"{stmt.counter} += 1")
            self.forward(stmt.body, code, taping, inside=stmt)

    def range_text(self, stmt):
        start, stop, step = (atom_text(a) for a in (stmt.start, stmt.stop, stmt.step))
        if stmt.step == Const(1):
            return f"range({stop})" if stmt.start == Const(0) else f"range({start}, {stop})"
        return f"range({start}, {stop}, {step})"

    def trips_text(self, loop, texts=None):
        start, stop, step = texts or (atom_text(a) for a in (loop.start, loop.stop, loop.step))
        if loop.step == Const(1):
            return stop if loop.start == Const(0) else f"max(0, {stop} - {start})"
        return f"range_len({start}, {stop}, {step})"

    def reservation(self, block, loop):
        """{tape kind: expression} bounding what one pass over `block` (the
        body of `loop`) pushes, nested `for` loops included; None when that is
        unknown before `loop` starts (a while loop inside, or a nested loop
        whose bounds `loop` changes). Arrays ('fa') grow the tape themselves."""
        total = {kind: [] for kind in TAPE_DTYPES}
        for pos, stmt in enumerate(block):
            for kind, _ in self.plan.snapshots.get(stmt.sid, ()):
                total[kind].append("1")
            if not self.plan.work.get(stmt.sid):
                continue
            for kind, _ in self.plan.pushes(stmt):
                if kind in total:
                    total[kind].append("1")
            if isinstance(stmt, While):
                if any(self.plan.pushes(s) for s in walk(stmt.body) if self.plan.work.get(s.sid)):
                    trips = self.while_trips_before(stmt, loop, block[:pos])
                    inner = self.reservation(stmt.body, loop) if trips is not None else None
                    if inner is None:
                        return None
                    for kind, expr in inner.items():
                        if expr != "0":
                            total[kind].append(f"{trips} * ({expr})" if expr != "1" else trips)
            elif isinstance(stmt, For):
                inner = self.reservation(stmt.body, loop)
                if inner is None:
                    return None
                if not any(e != "0" for e in inner.values()):
                    continue
                texts = [self.invariant_text(a, loop, block[:pos]) for a in (stmt.start, stmt.stop, stmt.step)]
                if None in texts:
                    return None
                trips = self.trips_text(stmt, texts)
                for kind, expr in inner.items():
                    if expr != "0":
                        total[kind].append(f"{trips} * ({expr})" if expr != "1" else trips)
            elif isinstance(stmt, If):
                branches = [self.reservation(b, loop) for b in (stmt.body, stmt.orelse)]
                if None in branches:
                    return None
                for kind in total:
                    a, b = (br[kind] for br in branches)
                    if a == b or b == "0":
                        total[kind].append(a)
                    elif a == "0":
                        total[kind].append(b)
                    else:
                        total[kind].append(f"max({a}, {b})")
        return {kind: _sum_text(terms) for kind, terms in total.items()}

    def while_bound(self, stmt):
        """(C, k) as text when a while loop's condition is `... and k < C`
        (also `k <= C`, `C > k`, `C >= k`), C an int constant up to
        MAX_BOUNDED_TRIPS, k an int the body steps by `k = k + 1` once per
        iteration, at its top level, and writes nowhere else: the loop runs at
        most max(0, C - k) times (an iteration cap, as Newton solvers have)."""
        tests = stmt.cond.values if isinstance(stmt.cond, ast.BoolOp) and isinstance(stmt.cond.op, ast.And) \
            else [stmt.cond]
        for test in tests:
            if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
                continue
            left, op, right = test.left, test.ops[0], test.comparators[0]
            if isinstance(op, (ast.Gt, ast.GtE)):
                left, right = right, left
                op = ast.Lt() if isinstance(op, ast.Gt) else ast.LtE()
            if not (isinstance(op, (ast.Lt, ast.LtE)) and isinstance(left, ast.Name)):
                continue
            k = left.id
            limit = right.value if isinstance(right, ast.Constant) else None
            if type(limit) is not int or limit > MAX_BOUNDED_TRIPS:
                continue            # (a large cap would reserve far more than the loop uses)
            steps = [s for s in walk(stmt.body) if k in writes(s)]
            if self.types.get(k) != "int" or len(steps) != 1 or not any(steps[0] is s for s in stmt.body):
                continue
            step = steps[0]
            if isinstance(step, Op) and step.op == "add" and step.args[0] == Name(k) and step.args[1] == Const(1):
                return str(limit if isinstance(op, ast.Lt) else limit + 1), k
        return None

    def while_trips_before(self, stmt, loop, before):
        """The most iterations of a bounded while loop (see `while_bound`) as
        text valid before `loop` starts: k is set once per iteration of `loop`,
        before the while, from values `loop` does not change (`k = 0`)."""
        bound = self.while_bound(stmt)
        if bound is None or loop is not self.plan.fused:
            return None     # (reserved for every iteration of `loop` only where it pops each one's)
        limit, k = bound
        inside = {s.sid for s in walk([stmt])}
        defs = [s for s in walk(loop.body) if isinstance(s, Op) and s.target == k and s.sid not in inside]
        if len(defs) != 1 or not any(defs[0] is s for s in before) or defs[0].op != "copy":
            return None
        start = self.invariant_text(defs[0].args[0], loop, before)
        return None if start is None else f"max(0, {limit} - {start})"

    def invariant_text(self, atom, loop, before):
        """`atom` as text valid before `loop` starts, or None when its value
        changes inside the loop. A name `loop` assigns once, at the top of
        `before` (the statements preceding the use), from such values by
        +, -, *, // or a shape, is written out (`4 * nh` for range(4 * nh))."""
        if isinstance(atom, Const):
            return atom_text(atom)
        name = atom.id
        if name not in writes(loop):
            return name
        defs = [s for s in walk(loop.body) if isinstance(s, (Op, SetItem)) and name in writes(s)]
        if len(defs) != 1 or not any(defs[0] is s for s in before):
            return None
        op = defs[0]
        symbol = {"add": "+", "sub": "-", "mul": "*", "floordiv": "//"}.get(op.op)
        if symbol and len(op.args) == 2:
            a, b = (self.invariant_text(x, loop, before) for x in op.args)
            return None if a is None or b is None else f"({a} {symbol} {b})"
        if op.op in ("shape", "len") and not any(isinstance(s, Op) and s.target == op.args[0].id
                                                 for s in walk(loop.body)):
            return self.op_text(op)     # (elements written in the loop do not change the shape)
        return None

    def reserve_for(self, needed, times, code):
        for kind in sorted(needed):
            if needed[kind] != "0":
                tape, top = self.tape[kind]
                per = needed[kind] if _is_atom(needed[kind]) else f"({needed[kind]})"
                room = per if times == "1" else f"{times} * {per}"
                # the test inline: calling reserve (and passing the array) costs more than the push
                code.line(f"if {top} + {room} > {tape}.shape[0]: {tape} = reserve({tape}, {top} + {room})",
                          self.grows_here())

    def grows_here(self):
        """The comment of a room check that grows its tape even inside a loop
        (`tape_retry` leaves the others' loops and starts the adjoint again)."""
        if self.refilling:
            return "one segment's tape: grown here, as starting again would redo the forward sweep"
        return None

    def cover(self, loop):
        """Every push inside `loop` has room reserved: no check per push."""
        self.covered |= {s.sid for s in walk([loop]) if isinstance(s, (For, While))}

    def reserve_loop(self, loop, times, code):
        """Room on the tapes for `times` passes over `loop`'s body. When the
        body's pushes are bounded before it starts (nested loops included), the
        loop is covered: no push inside checks the tape's end. Otherwise only
        the body's own pushes are counted; inner loops reserve theirs."""
        needed = self.reservation(loop.body, loop)
        if needed is not None:
            self.reserve_for(needed, times, code)
            self.cover(loop)
            return
        counts = dict.fromkeys(TAPE_DTYPES, 0)
        self.count_pushes(loop.body, loop, counts)
        self.reserve_for({kind: str(n) for kind, n in counts.items()}, times, code)

    def count_pushes(self, block, loop, counts):
        for stmt in block:
            for kind, _ in self.plan.snapshots.get(stmt.sid, ()):
                counts[kind] += 1
            if not self.plan.work.get(stmt.sid):
                continue
            for kind, _ in self.plan.pushes(stmt):
                if kind in counts:          # (arrays, 'fa', grow the tape themselves)
                    counts[kind] += 1
            if isinstance(stmt, If):
                branches = []
                for child in (stmt.body, stmt.orelse):
                    sub = dict.fromkeys(TAPE_DTYPES, 0)
                    self.count_pushes(child, loop, sub)
                    branches.append(sub)
                for kind in counts:
                    counts[kind] += max(b[kind] for b in branches)

    def push(self, code, stmt, pushes):
        loop = self.plan.contexts[stmt.sid].loop
        checked = loop is None or loop.sid not in self.covered
        for kind, value in pushes:
            if kind == "fa":
                tape, top = self.tape["f"]
                code.line(f"{tape}, {top} = push_array({tape}, {top}, {value})", self.grows_here())
                continue
            tape, top = self.tape[kind]
            if checked:
                code.line(f"if {top} >= {tape}.shape[0]: {tape} = reserve({tape}, {top} + 1)", self.grows_here())
            code.line(f"{tape}[{top}] = {value}")
            code.line(f"{top} += 1")

    def hoist_bounds_checks(self, code, loop):
        """One check before `for i in range(a, b)` instead of one per
        iteration, for accesses that every iteration makes: A[..., i, ...]
        (checked against the range's ends) and indices the loop never changes."""
        if loop.counter or loop.step != Const(1):
            return          # (a loop that can stop early may never reach the bad index)
        from_zero = isinstance(loop.start, Const) and loop.start.value >= 0
        written = set().union(*(writes(s) for s in loop.body)) | {loop.var} if loop.body else set()
        start, stop = atom_text(loop.start), atom_text(loop.stop)
        rebound = {s.target for s in walk(loop.body) if isinstance(s, Op)}   # shapes may change
        strides = _running_offsets(loop)
        shifted = _shifted_indices(loop)
        done = set()
        for pos, stmt in enumerate(loop.body):
            access = _access(stmt)
            if access is None or access[0] in rebound:
                continue
            array, index = access
            where = f"{os.path.basename(stmt.loc.filename)}:{stmt.loc.lineno}"
            for k, atom in index:
                if self.rank(atom):
                    continue
                if atom == Name(loop.var) and from_zero:
                    test = f"{stop} > {array}.shape[{k}]"
                elif atom == Name(loop.var):        # every i in [start, stop) within [-len, len)
                    test = f"not (-{array}.shape[{k}] <= {start} and {stop} <= {array}.shape[{k}])"
                elif isinstance(atom, Const) or atom.id not in written:
                    i = atom_text(atom)
                    test = f"not (-{array}.shape[{k}] <= {i} < {array}.shape[{k}])"
                elif atom.id in shifted and shifted[atom.id][0] < pos:    # t = i + c: a stencil's neighbour
                    c = shifted[atom.id][1]
                    low, high = f"{start} + ({c})", f"{stop} - 1 + ({c})"
                    test = f"not (-{array}.shape[{k}] <= {low} and {high} < {array}.shape[{k}])"
                elif atom.id in strides:            # idx += c once per iteration: idx0, idx0 + c, ...
                    step_at, c = strides[atom.id]
                    first = atom.id if pos < step_at else f"{atom.id} + {c}"
                    last = f"{first} + ({self.trips_text(loop)} - 1) * {c}"
                    low, high = (first, last) if c > 0 else (last, first)
                    test = f"not (-{array}.shape[{k}] <= {low} and {high} < {array}.shape[{k}])"
                else:
                    continue
                self.checked.setdefault(stmt.sid, set()).add(k)
                if (array, k, test) not in done:
                    done.add((array, k, test))
                    code.line(f"if {stop} > {start} and {test}: "
                              f"raise IndexError('index out of range for {array} at {where}')")

    def bounds_check(self, code, stmt):
        """Python raises IndexError on a bad index; compiled code would read
        garbage. Check every element access of the forward sweep (the
        backward sweep reuses the same, checked indices)."""
        access = _access(stmt)
        if access is None:
            return
        array, index = access
        tests, every = [], []
        for k, atom in index:
            if self.rank(atom):
                continue
            i = atom_text(atom)
            every.append(f"-{array}.shape[{k}] <= {i} < {array}.shape[{k}]")
            if k not in self.checked.get(stmt.sid, ()):      # (else checked once before the loop)
                tests.append(every[-1])
        whole = " and ".join(every)         # what holds once this access is checked
        if not whole or whole in self.valid_checks or " and ".join(tests) in self.valid_checks:
            return          # (passed already here or in an enclosing block, nothing it reads changed since)
        self.valid_checks[whole] = set(re.findall(r"[A-Za-z_]\w*", whole))
        if not tests:
            return
        test = " and ".join(tests)
        where = f"{os.path.basename(stmt.loc.filename)}:{stmt.loc.lineno}"
        code.line(f"if not ({test}): raise IndexError('index out of range for {array} at {where}')")

    def shared_binding(self, stmt):
        """May `x = y` (arrays) bind y's array itself instead of a copy, as
        Python does? Yes when nothing can write into the array while both
        names hold it: x is never written element by element, and y only in
        the block holding `x = y`, between an unconditional rebinding of y to
        a fresh array and `x = y` (`new = u.copy()`, `new[i] = ...`, `u = new`
        in a time step: the copy per step is saved)."""
        if stmt.op != "copy" or not isinstance(stmt.args[0], Name) or not is_array(self.types.get(stmt.target)):
            return False
        x, y = stmt.target, stmt.args[0].id
        if x in self.fn.params or y in self.fn.params or x == y:
            return False
        for s in walk(self.fn.body):
            if isinstance(s, Op) and s.op == "opaque" and {x, y} & set(raw_names(s.raw)):
                return False            # (what an opaque call does with them is not known)
        written = [s for s in walk(self.fn.body) if (isinstance(s, SetItem) and s.array in (x, y))
                   or (in_place(s, self.types) and s.target in (x, y))]
        if not written:
            return True
        if any(getattr(s, "array", getattr(s, "target", None)) == x for s in written):
            return False
        ctx = self.plan.contexts.get(stmt.sid)
        if ctx is None:
            return False
        block = ctx.block
        tops = []
        for s in written:
            k = next((k for k, top in enumerate(block) if any(s is t for t in walk([top]))), None)
            if k is None:
                return False            # written outside the block of `x = y`
            tops.append(k)
        first, last = min(tops), max(tops)
        if last >= ctx.pos:
            return False
        def binds(top):
            return any(isinstance(s, Op) and s.target == y for s in walk([top]))
        rebind = [k for k, top in enumerate(block[:first]) if binds(top)]
        fresh = block[rebind[-1]] if rebind else None
        return isinstance(fresh, Op) and fresh.op not in VIEW_OPS | {"copy", "opaque"} \
            and not in_place(fresh, self.types) \
            and not any(binds(top) for top in block[first:ctx.pos])

    def op_text(self, stmt):
        op, args = stmt.op, stmt.args
        if op == "opaque":
            return render(stmt.raw)
        if op == "getitem":
            fancy = [a for a in args[1:] if is_array(self.types.get(getattr(a, "id", None)))]
            if len(fancy) == 2:
                return f"gather2({', '.join(atom_text(a) for a in args)})"
            return self.index_text(args[0].id, args[1:]) + self.copy_suffix(stmt)
        if op == "slice":
            return index_text(args[0].id, args[1:], stmt.static) + self.copy_suffix(stmt)
        if op == "eye":
            return f"np.eye({atom_text(args[0])})"
        if op == "arange":
            return f"np.arange({', '.join(atom_text(a) for a in args)})"
        if op == "shape":
            return f"{args[0].id}.shape[{args[1].value}]"
        if op == "len":
            return f"len({args[0].id})"
        if op in ("size", "ndim"):
            return f"{args[0].id}.{op}"
        if op.endswith("_shape"):
            dtype = "" if stmt.dtype == "float64" else f", dtype=np.{stmt.dtype if stmt.dtype != 'bool' else 'bool_'}"
            return f"np.{op[:-6]}({args[0].id}.shape{dtype})"
        if op in ("zeros", "ones", "empty"):
            dims = ", ".join(atom_text(a) for a in args)
            dtype = "" if stmt.dtype == "float64" else f", dtype=np.{stmt.dtype if stmt.dtype != 'bool' else 'bool_'}"
            return f"np.{op}(({dims}{',' if len(args) == 1 else ''}){dtype})"
        if op in ("zeros_like", "ones_like", "empty_like"):
            return f"np.{op}({args[0].id})"
        if op == "array_copy":
            return f"{args[0].id}.copy()"
        ranks = [self.rank(a) for a in args]
        if op == "dot":
            found = arrays.dot_variant(ranks, stmt.static)
            return render(substitute(found.primal, dict(zip(("x", "y"), args))))
        if op in arrays.ARRAY_RULES or any(ranks):
            found = arrays.variant(op, ranks, stmt.static)
            inputs = arrays.ARRAY_RULES[op].inputs if op in arrays.ARRAY_RULES else RULES[op].inputs
            text = render(substitute(found.primal, dict(zip(inputs, args))))
            if found.rank and text.isidentifier():      # `1.0 * x` folded to `x`: still a new array
                return text + ".copy()"
            return text + (self.copy_suffix(stmt) if op in ("transpose", "reshape") else "")
        rule = RULES[op]
        return render(substitute(rule.primal, dict(zip(rule.inputs, args))))

    def setitem_text(self, stmt):
        """`A[i] = v`, `A[:, k] += v`, ...: an array written into a part of
        another (basic indexing) by the `into_part` kernels (`emit.part_update`)."""
        region = index_text(stmt.array, stmt.index, stmt.spec)
        value = atom_text(stmt.value)
        basic = not any(self.rank(a) for a in stmt.index) and "n" not in (stmt.spec or ())
        call = basic and part_update(region, region_of(stmt, self.types)[1], value, self.rank(stmt.value),
                                     stmt.mode)
        return call or f"{region} {dict(set='=', add='+=', sub='-=')[stmt.mode]} {value}"

    def rank(self, atom):
        t = self.types.get(atom.id) if isinstance(atom, Name) else None
        return t[1] if is_array(t) else 0

    def copy_suffix(self, stmt):
        """A view of an array that is written later is taken as a copy: the
        adjoint keeps values, and the user's code never sees the difference
        (writes through views and reads of views after a write are rejected)."""
        if not is_array(self.types.get(stmt.target)):
            return ""
        written = getattr(self, "_written", None)
        if written is None:
            written = self._written = {s.array for s in walk(self.fn.body) if isinstance(s, SetItem)}
        return ".copy()" if stmt.args[0].id in written else ""

    def index_text(self, array, index):
        return f"{array}[{', '.join(atom_text(i) for i in index)}]"

    # -- backward sweep -----------------------------------------------------------------


def _sum_text(terms):
    ones = sum(1 for t in terms if t == "1")
    rest = [t for t in terms if t not in ("0", "1")]
    parts = rest + ([str(ones)] if ones else [])
    return " + ".join(parts) if parts else "0"


def _is_atom(text):
    return text.isidentifier() or text.isdigit()


def _nested_blocks(block):
    """The blocks inside if/for/while statements of `block`."""
    for stmt in block:
        yield from (child for child in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)) if child)


def _access(stmt):
    """(array, [(axis, index atom)]) of the integer indices an element, row or
    slice access uses, else None (slice bounds are clipped, never out of range)."""
    if isinstance(stmt, SetItem):
        return stmt.array, _indexed_axes(stmt.index, stmt.spec)
    if isinstance(stmt, Op) and stmt.op in ("getitem", "slice") and isinstance(stmt.args[0], Name):
        return stmt.args[0].id, _indexed_axes(stmt.args[1:], stmt.static if stmt.op == "slice" else None)
    return None


def _indexed_axes(index, spec):
    if spec is None:
        return list(enumerate(index))
    out, atoms, axis = [], list(index), 0
    for part in spec:
        if part == "i":
            out.append((axis, atoms.pop(0)))
            axis += 1
        elif part != "n":
            for _ in range(sum(part[1:])):
                atoms.pop(0)
            axis += 1
    return out


def _shifted_indices(loop):
    """{name: (position, c)} for integers a loop body sets once, at its top
    level, to `i + c` or `i - c` (i the loop index, c an int constant): a
    neighbour's index, whose values over the loop are known before it runs."""
    shifted = {}
    for pos, stmt in enumerate(loop.body):
        if not (isinstance(stmt, Op) and stmt.op in ("add", "sub") and len(stmt.args) == 2):
            continue
        a, b = stmt.args
        if stmt.op == "add" and isinstance(a, Const):
            a, b = b, a
        if a == Name(loop.var) and isinstance(b, Const) and type(b.value) is int:
            shifted[stmt.target] = (pos, b.value if stmt.op == "add" else -b.value)
    counts = _write_counts(loop)
    return {name: s for name, s in shifted.items() if counts.get(name) == 1}


def _write_counts(loop):
    """{name: how many statements of the loop body (nested ones included) write it}."""
    counts = {}
    for stmt in walk(loop.body):
        for name in writes(stmt):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _running_offsets(loop):
    """{name: (position, c)} for integers a loop body steps once per iteration,
    at its top level, by `name = name + c` (c a nonzero int constant), and
    writes nowhere else: their value at each iteration is known from the first."""
    counts, steps = _write_counts(loop), {}
    for pos, stmt in enumerate(loop.body):
        if isinstance(stmt, Op) and stmt.op in ("add", "sub") and stmt.args[0] == Name(stmt.target) \
                and isinstance(stmt.args[1], Const) and type(stmt.args[1].value) is int and stmt.args[1].value:
            c = stmt.args[1].value if stmt.op == "add" else -stmt.args[1].value
            steps[stmt.target] = (pos, c)
    return {name: step for name, step in steps.items() if counts.get(name) == 1}
