"""Checkpointed loops: store the loop's state every k iterations, not its tape.

Mixed into `reverse.Generator` when `grad(f, checkpoint=k)` is asked for.
A top-level `for` loop whose iterations push onto the tape normally keeps a
tape proportional to its trip count T. Checkpointed, its forward sweep runs
the plain primal in segments of k iterations and pushes only the state that
enters each segment (the snapshot); the backward sweep takes the segments
last to first: pop the snapshot, rerun the segment's forward sweep *with*
its pushes, then run the segment's backward sweep, as for a normal loop.

    memory  ~ T/k snapshots + k iterations of tape   (k = √T: both ~ √T)
    time    ~ one more forward sweep of the loop

The snapshot holds the loop-carried state: the names the body writes and
reads before writing in an iteration, the names the tape plan restores, and
arrays the body writes in place (copied whole: a trajectory array written
element by element is copied per segment, so checkpointing pays off for
loops whose state is small). Names the body reads but only code *after*
the loop overwrites are pushed once, when the loop ends, and put back before
its backward sweep: the reruns must see the values the loop saw.

Everything stays on the one tape, in stack order: the snapshots of the
forward sweep are popped last-segment-first, and each rerun's pushes are
popped by its own backward sweep before the next snapshot is reached.
"""
from dataclasses import dataclass

from .emit import atom_text
from .errors import SrcgradError
from .program import Const, For, Op, SetItem, control_reads, reads, walk, writes
from .tape import scalar_tape
from .typeinfer import is_array

SQRT = "sqrt"


def check_option(checkpoint, filename=None, lineno=None):
    """None, a positive int (iterations per segment) or "sqrt" (k = √T); an
    error names the differentiated function's file and line."""
    if checkpoint is None or checkpoint == SQRT:
        return checkpoint
    if isinstance(checkpoint, bool) or not isinstance(checkpoint, int) or checkpoint < 1:
        raise SrcgradError(f"checkpoint={checkpoint!r} is not a segment length", filename=filename,
                           lineno=lineno, construct="checkpoint",
                           hint="pass checkpoint=k (store the loop state every k iterations, k >= 1) "
                                "or checkpoint='sqrt' (k = √T: memory ~ 2√T)")
    return checkpoint


@dataclass
class Segmented:
    """Names of one checkpointed loop's generated variables and its state."""
    loop: For
    state: list          # snapshot pushed at each segment start
    at_exit: list        # read by the loop, overwritten after it: pushed once at the end
    fresh: list          # state names undefined before the loop: given a typed start value
    shapes: list         # arrays rebound per iteration whose old binding's shape the body pushes
    trips: str
    length: str
    count: str
    segment: str
    size: str


class Checkpointing:
    """Segment-wise forward and backward sweeps of the loops in `self.segmented`."""

    def choose_checkpointed(self, checkpoint):
        """sid -> Segmented for the top-level `for` loops worth checkpointing."""
        self.checkpoint = checkpoint
        self.segmented = {}
        if checkpoint is None:
            return
        body = list(self.fn.body)
        stop_at = len(body)
        if self.plan.fused is not None:      # the code after a fused loop runs backward first
            stop_at = next(k for k, s in enumerate(body) if s is self.plan.fused)
        for idx, stmt in enumerate(body[:stop_at]):
            if not isinstance(stmt, For) or stmt.counter or not self.plan.work.get(stmt.sid):
                continue
            if not any(self.plan.pushes(s) for s in walk(stmt.body) if self.plan.work.get(s.sid)):
                continue                     # nothing taped per iteration: nothing to save
            state = self._loop_state(stmt)
            if state is None:
                continue
            before = set(self.fn.params)
            for s in body[:idx]:
                before |= writes(s)
            after = set()
            for s in body[idx + 1:]:
                after |= writes(s)
            read = set(control_reads(stmt))
            for s in walk(stmt.body):
                read |= set(reads(s)) | set(control_reads(s))
            written = writes(stmt)
            at_exit = self.program_order((read - written) & after)
            if any(is_array(self.types.get(n)) and self.types[n][2] != "float64" for n in at_exit):
                continue
            # a rerun pushes the shape of each such array's binding before the
            # segment: the snapshot keeps it (the arrays are bound by then, see `prologue`)
            shapes = self.program_order({self.plan.rebind[s.sid][0] for s in walk(stmt.body)
                                         if s.sid in self.plan.rebind} - set(state))
            fresh = [n for n in state if n not in before]
            names = {key: self.namer.fresh(f"{key}_", numbered=True)
                     for key in ("trips", "length", "count", "segment", "size")}
            self.segmented[stmt.sid] = Segmented(stmt, state, at_exit, fresh, shapes, **names)

    def _loop_state(self, loop):
        """The names a segment's rerun needs at its start (None: cannot snapshot)."""
        written = writes(loop) - {loop.var}
        carried = set(self.plan.restored) & written
        carried |= {s.array for s in walk(loop.body) if isinstance(s, SetItem)}
        local = set()
        for stmt in loop.body:           # read before written in an iteration: carried
            if isinstance(stmt, Op):
                carried |= (set(reads(stmt)) & written) - local
                local.add(stmt.target)
            else:
                inner = set(control_reads(stmt))
                for s in walk([stmt]):
                    inner |= set(reads(s)) | set(control_reads(s))
                carried |= (inner & written) - local
                if isinstance(stmt, SetItem):
                    local.add(stmt.array)
        for name in carried:
            t = self.types.get(name)
            if t is None or (is_array(t) and t[2] != "float64"):
                return None              # (int / bool arrays have no tape of their own)
        return self.program_order(carried)

    # -- forward sweep ------------------------------------------------------------------------
    def forward_checkpointed(self, stmt, code):
        seg = self.segmented[stmt.sid]
        loop = seg.loop
        start, stop, step = (atom_text(a) for a in (loop.start, loop.stop, loop.step))
        every = "max(1, int(math.ceil(math.sqrt(%s))))" % seg.trips if self.checkpoint == SQRT else str(self.checkpoint)
        state = ", ".join(seg.state) or "nothing"
        code.comment(f"checkpointed: the loop's state ({state}) is stored every {seg.length} iterations; "
                     "the backward sweep reruns each segment")
        # never negative (unlike `trips_text`'s bare stop): √T and the segment count need it
        trips = f"max(0, {stop} - {start})" if loop.step == Const(1) else f"range_len({start}, {stop}, {step})"
        code.line(f"{seg.trips} = {trips}")
        code.line(f"{seg.length} = {every}")
        code.line(f"{seg.count} = ({seg.trips} + {seg.length} - 1) // {seg.length}")
        for name in seg.fresh:
            code.line(f"{name} = {self._start_value(name)}", "bound before the first snapshot")
        self.hoist_bounds_checks(code, loop)
        with code.block(f"for {seg.segment} in range({seg.count}):"):
            self.push(code, loop, [("i", f"{name}.shape[{k}]") for name in seg.shapes
                                   for k in range(self.types[name][1])])
            self._push_names(code, seg.state, loop)
            lo, hi = self._segment_bounds(seg)
            with code.block(f"for {loop.var} in range({lo}, {hi}{'' if loop.step == Const(1) else ', ' + step}):"):
                self.forward(loop.body, code, taping=False)
        self._push_names(code, seg.at_exit, loop)
        if getattr(self, "probing", False):     # the tape's peak: the snapshots + one segment's pushes
            counts = {"f": 0, "i": 0}
            self.count_pushes(loop.body, loop, counts)
            for kind, n in counts.items():
                if n:
                    code.line(f"{self.tape[kind][1]} += min({seg.length}, {seg.trips}) * {n}")

    def _segment_bounds(self, seg):
        loop = seg.loop
        start, step = atom_text(loop.start), atom_text(loop.step)
        first = f"{seg.segment} * {seg.length}"
        last = f"min({first} + {seg.length}, {seg.trips})"
        if loop.step == Const(1):
            base = "" if loop.start == Const(0) else f"{start} + "
            return f"{base}{first}", f"{base}{last}"
        return f"{start} + {first} * {step}", f"{start} + {last} * {step}"

    def _start_value(self, name):
        t = self.types[name]
        if is_array(t):
            return "np.empty(0)" if t[1] == 1 else "np.empty((0, 0))"
        return {"float": "0.0", "int": "0", "bool": "False"}[t]

    def _push_names(self, code, names, loop):
        """Push `names` (an array: its shape on the int tape, then its elements),
        checked against the tape's end: `loop` is top-level, nothing reserved it."""
        pushes = []
        for name in names:
            t = self.types[name]
            if is_array(t):
                pushes += [("i", f"{name}.shape[{k}]") for k in range(t[1])] + [("fa", name)]
            else:
                pushes.append((scalar_tape(t), name))
        self.push(code, loop, pushes)

    def _pop_names(self, code, names, comment):
        for name in reversed(names):
            t = self.types[name]
            if is_array(t):
                self.pop_array(code, name, t[1])
                continue
            tape, top = self.tape[scalar_tape(t)]
            code.line(f"{top} -= 1")
            code.line(f"{name} = {tape}[{top}]" + (" != 0" if t == "bool" else ""), comment)

    def checkpoint_tapes(self):
        """Tape kinds the snapshots use (added to those the plan's pushes use)."""
        used = set()
        for seg in self.segmented.values():
            for name in seg.state + seg.at_exit:
                t = self.types[name]
                used |= {"f", "i"} if is_array(t) else {scalar_tape(t)}
            used |= {"i"} if seg.shapes else set()
        return used

    def checkpoint_summary(self):
        lines = []
        for seg in self.segmented.values():
            every = "√T" if self.checkpoint == SQRT else str(self.checkpoint)
            lines.append(f"checkpointed loop at line {seg.loop.loc.lineno}: its state "
                         f"({', '.join(seg.state) or 'nothing'}) every {every} iterations; "
                         "one segment's tape at a time")
        return lines

    # -- backward sweep -----------------------------------------------------------------------
    def backward_checkpointed(self, stmt, code):
        seg = self.segmented[stmt.sid]
        loop = seg.loop
        self._pop_names(code, seg.at_exit, "the value the loop saw")
        self.last_line = None
        with code.block(f"for {seg.segment} in range({seg.count} - 1, -1, -1):"):
            code.comment("rerun this segment from its snapshot, recording its tape, then reverse it")
            self._pop_names(code, seg.state, "the segment's start, from its snapshot")
            tape, top = self.tape["i"]
            for name in reversed(seg.shapes):
                ndim = self.types[name][1]
                code.line(f"{top} -= {ndim}")
                dims = ", ".join(f"{tape}[{top} + {k}]" if k else f"{tape}[{top}]" for k in range(ndim))
                code.line(f"{name} = np.empty(({dims}{',' if ndim == 1 else ''}))",
                          "shaped as before the segment: the rerun tapes that shape")
            lo, hi = self._segment_bounds(seg)
            code.line(f"{seg.size} = min({seg.length}, {seg.trips} - {seg.segment} * {seg.length})")
            self.refilling = True
            self.reserve_loop(loop, seg.size, code)
            step = "" if loop.step == Const(1) else f", {atom_text(loop.step)}"
            with code.block(f"for {loop.var} in range({lo}, {hi}{step}):"):
                self.forward(loop.body, code, taping=True)
            self.refilling = False
            self.last_line = None
            if loop.step == Const(1):
                header = f"for {loop.var} in range({hi} - 1, {lo} - 1, -1):"
                with code.block(header):
                    self.loop_body(code, loop)
            else:
                k = self.namer.fresh("k", numbered=True)
                with code.block(f"for {k} in range({seg.size} - 1, -1, -1):"):
                    code.line(f"{loop.var} = {lo} + {k} * {atom_text(loop.step)}")
                    self.loop_body(code, loop)
        self.last_line = None
