"""Stage 7: the reverse sweep — generating the adjoint (and primal) source.

Input: a normalized `Function`, its types, active set and `TapePlan`.
Output: Python source text of

    <name>_primal(params)            the forward computation only
    <name>_adjoint(params, d_out)    forward sweep (with pushes) + backward sweep

The forward sweep is emitted by `forward_sweep.ForwardSweep` (mixed in).
The backward sweep visits statements last to first. For `z = g(x, y)` it
restores what the plan says (pop, recompute), then adds the rule's δ
contributions, ``d_x += …`` one per line (the first one as ``d_x = …``: an
IEEE ``0.0 + x`` is a real addition), then restarts ``d_z = 0.0`` where an
earlier z exists. `for` loops run reversed (or forward when their iterations
only add to sums, `fusion.order_free`), `if` replays the recorded branch,
`while` runs its recorded trip count; a straight-line loop body carrying state
is reversed by `preaccumulate`, and a fused loop (`fusion.choose`) gets the
schedule of `fused_sweeps`. Every backward step carries a
``# line N: <source>`` comment and the rule's label from the lecture (sum,
product, max, split, chain through g').
"""
import ast
import re

from . import first_writes, fusion, inline, loop_helpers, preaccumulate, registers, rotate, tape_retry
from .checkpoint import Checkpointing
from .errors import SrcgradError
from .emit import Code, atom_text, index_text, is_zero, part_update, render, substitute
from .forward_sweep import ForwardSweep
from .program import Const, For, If, Name, Op, Return, SetItem, While, control_reads, reads, walk, writes
from .rules import RULES, arrays
from .tape import INITIAL_TAPE, TAPE_DTYPES, recompute_order, rule_templates
from .typeinfer import is_array



RECOMPUTED = "  # recomputed, not taped"


def still_recomputed(code, text, names):
    """Was `text` (a recomputation) emitted earlier in the current block, with
    no line since assigning any of `names` (its target and inputs) and no
    nested block in between? Then the value is still there: the backward step
    of `o = 1 / (1 + e)` and that of the cell update both read `o`, and the
    division is done once."""
    pad = "    " * code.depth
    for line in reversed(code.lines):
        if not line.startswith(pad) or line[len(pad):len(pad) + 1] == " ":
            return False                  # the block started, or a nested one sits in between
        body = line[len(pad):]
        if body == text + RECOMPUTED:
            return True
        if body.startswith("#"):
            continue
        targets = body.split("#")[0].split(" = ")[0] if " = " in body else ""
        assigned = [re.match(r"\w*", part.strip()).group() for part in targets.split(",")]
        updated = re.match(r"(\w+)\s*(\[[^\]]*\])?\s*[-+*/]=", body)     # `x += ...`, `a[i] -= ...`
        if names.intersection(assigned) or (updated and updated.group(1) in names):
            return False
    return False


class Generator(ForwardSweep, Checkpointing):
    def __init__(self, fn, types, active, plan, wrt, kinds, namer, want_value=True, checkpoint=None):
        self.want_value = want_value  # False: a fused loop may skip what only the value needs
        self.skip = set()             # sids the forward sweep leaves out
        self.fn, self.types, self.active, self.plan = fn, types, active, plan
        self.wrt, self.kinds, self.namer = wrt, kinds, namer
        self.d = namer.d
        self.tape = {kind: (namer.fresh(f"tape_{kind}"), namer.fresh(f"top_{kind}")) for kind in TAPE_DTYPES}
        self.result = namer.fresh("result")
        self.d_out = namer.fresh("d_out")
        self.last_line = None
        self.redefined = self.names_redefined()
        self.checked = {}            # sid -> axes whose bounds a loop already checked
        self.covered = set()         # sids of loops whose pushes have room reserved (no check per push)
        self.refilling = False       # emitting a checkpointed segment's rerun: its room checks grow the tape
        self.shape_vars = {}         # array -> variable holding its shape popped from the tape
        self.uniform = {}            # array δ -> the scalar all its elements hold (δ of a sum)
        self.handed_off = False
        self.choose_checkpointed(checkpoint)   # sid -> Segmented: loops run in stored segments
        self.popping_views = False    # emitting a backward sweep after which nothing pushes: pop views

    def names_redefined(self):
        """Names assigned at several places or inside a loop."""
        count = {}

        def visit(block, looped):
            for stmt in block:
                if isinstance(stmt, Op):
                    count[stmt.target] = count.get(stmt.target, 0) + (2 if looped else 1)
                for child in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
                    if child:
                        visit(child, looped or isinstance(stmt, (For, While)))
        visit(self.fn.body, False)
        return {n for n, c in count.items() if c > 1} | set(self.fn.params)

    # -- public -----------------------------------------------------------------------
    def primal(self):
        self.last_line = None
        self.checked = {}
        self.covered = set()
        code = Code()
        with code.block(f"def {self.fn.name}_primal({', '.join(self.fn.params)}):"):
            self.prologue(code, adjoint=False)
            self.forward(self.fn.body, code, taping=False)
            code.line(f"return {atom_text(self.return_atom())}")
        return self.finished(code)

    def tape_summary(self):
        """What the tape stores, one comment line per kind of push (Tapenade's
        rule: only values that are overwritten and needed later)."""
        lines = []
        for stmt in walk(self.fn.body):
            if not self.plan.work.get(stmt.sid):
                continue
            pushes = self.plan.pushes(stmt)
            if not pushes:
                continue
            loop = self.plan.contexts[stmt.sid].loop
            where = f"line {stmt.loc.lineno}" + (f", every iteration of the loop at line {loop.loc.lineno}"
                                                  if loop is not None else "")
            arrays_ = [v for k, v in pushes if k == "fa"]
            scalars = [v for k, v in pushes if k == "f"]
            ints = [v for k, v in pushes if k == "i"]
            flags = [v for k, v in pushes if k == "b"]
            parts = [f"the elements of {v} (float64)" for v in arrays_] + [f"{v} (float64)" for v in scalars] + \
                    ([f"{len(ints)} int64 ({', '.join(ints)})"] if ints else []) + \
                    ([f"{len(flags)} flag{'s' * (len(flags) > 1)} ({', '.join(flags)}: a byte each)"] if flags else [])
            lines.append(f"tape at {where}: {'; '.join(parts)}")
        for stmt in walk(self.fn.body):
            for kind, name in self.plan.snapshots.get(stmt.sid, ()):
                loop = self.plan.contexts[stmt.sid].loop
                what = {"f": "float64", "i": "int64", "b": "a byte"}[kind]
                lines.append(f"tape after line {stmt.loc.lineno}"
                             + (f", every iteration of the loop at line {loop.loc.lineno}" if loop else "")
                             + f": {name} ({what}), read by the backward steps before it")
        lines += self.checkpoint_summary()
        return lines or ["tape: nothing (no value the backward sweep needs is overwritten)"]

    def tape_probe(self):
        """The forward sweep alone, returning how many tape entries it pushed
        (float64, int64, flag): what `srcgrad.source` reports as the tape's memory."""
        self.last_line = None
        self.checked = {}
        self.covered = set()
        self.probing = True
        code = Code()
        with code.block(f"def {self.fn.name}_tape_probe({', '.join(self.fn.params)}):"):
            self.prologue(code, adjoint=True)
            for kind in TAPE_DTYPES:
                tape, top = self.tape[kind]
                code.line(f"{tape} = np.empty({INITIAL_TAPE}, dtype={TAPE_DTYPES[kind]})")
                code.line(f"{top} = 0")
            if self.plan.fused is None:
                self.forward(self.fn.body, code, taping=True)
            else:       # a fused loop pops what each iteration pushes: the code before it holds the tape
                idx = next(k for k, s in enumerate(self.fn.body) if s is self.plan.fused)
                self.forward(self.fn.body[:idx], code, taping=True)
            code.line(f"return {', '.join(self.tape[kind][1] for kind in TAPE_DTYPES)}")
        self.probing = False
        return code.text()

    def adjoint(self):
        self.last_line = None
        self.checked = {}
        self.covered = set()
        code = Code()
        params = ", ".join(self.fn.params + (self.d_out,))
        with code.block(f"def {self.fn.name}_adjoint({params}):"):
            for line in self.tape_summary():
                code.comment(line)
            code.comment("forward sweep: the primal, recording what the backward sweep needs")
            self.prologue(code, adjoint=True)
            uses = self.tapes_used()
            for kind in sorted(uses):
                tape, top = self.tape[kind]
                code.line(f"{tape} = np.empty({INITIAL_TAPE}{'' if kind == 'f' else ', dtype=' + TAPE_DTYPES[kind]})")
                code.line(f"{top} = 0")
            if self.plan.fused is None:
                self.forward(self.fn.body, code, taping=True)
                code.line(f"{self.result} = {atom_text(self.return_atom())}")
                code.comment("backward sweep: δ = 1 at the output, the δ recurrences last step first")
                self.last_line = None
                self.init_deltas(code)
                self.popping_views = not self.segmented
                self.backward(self.fn.body, code)
                self.popping_views = False
            else:
                self.fused_sweeps(code)
            grads = [self.gradient_of(w) for w in self.wrt]
            code.line(f"return {', '.join([self.result] + grads)}")
        self.drop_needless_inits(code)
        return self.finished(code, adjoint=True)

    def finished(self, code, adjoint=False):
        """The text passes over emitted code (`inline`, `registers`, `loop_helpers`, `first_writes`;
        in an adjoint, `tape_retry` last), then the source."""
        code.lines = inline.run(code.lines, self.fusible())
        code.lines = registers.run(code.lines, {self.d(n): self.types[n][1] for n in sorted(self.active)
                                                if is_array(self.types.get(n))})
        code.lines = loop_helpers.run(code.lines)
        vectors = {self.d(n): n for n in sorted(self.active) if is_array(self.types.get(n)) and self.types[n][1] == 1}
        code.lines = first_writes.run(code.lines, vectors)
        code.lines = rotate.run(code.lines, set(vectors))
        if adjoint:
            code.lines = tape_retry.run(code.lines, self.namer.fresh, self.fn.params + (self.d_out,))
        return code.text()

    def fusible(self):
        """Array temporaries of normalization and their δ's: names the
        elementwise fusion (`inline`) may remove."""
        temps = {t for t in self.namer.temps if is_array(self.types.get(t))} - set(self.plan.restored)
        return temps | {self.d(t) for t in temps if t in self.active}

    def drop_needless_inits(self, code):
        """A scalar δ whose first use is an unconditional assignment needs no
        `= 0.0` start (it only makes the adjoint longer to read)."""
        start, stop = self.init_lines
        keep = []
        for k in range(start, stop):
            line = code.lines[k]
            name = line.split(" = ")[0].strip()
            if line.endswith(" = 0.0") or re.search(r" = np\.zeros_like\(\w+\)$", line):
                word = re.compile(rf"\b{re.escape(name)}\b")
                first = next((ln for ln in code.lines[stop:] if word.search(ln.split("#")[0])), "")
                if first.startswith(f"    {name} = ") and word.search(first.split(" = ", 1)[1].split("#")[0]) is None:
                    continue
            keep.append(line)
        code.lines[start:stop] = keep

    def fused_sweeps(self, code):
        """The schedule of `fusion`: the loop's iterations each run forward then
        backward, between the early backward and the late forward sweep of the
        code after the loop."""
        loop = self.plan.fused
        idx = next(k for k, s in enumerate(self.fn.body) if s is loop)
        before, after = self.fn.body[:idx], self.fn.body[idx + 1:]
        self.forward(before, code, taping=True)
        for stmt in self.plan.hoisted:
            code.line(f"{stmt.target} = {self.op_text(stmt)}")
        code.comment("backward sweep: δ = 1 at the output, the δ recurrences last step first")
        self.last_line = None
        self.init_deltas(code)
        self.backward(after, code)
        self.source_comment(code, loop)
        code.comment("iterations only add to sums: each one's forward and backward sweep run together")
        self.restore(code, loop)
        self.reserve_loop(loop, "1", code)      # each iteration pops what it pushed: room for one will do
        self.last_line = None
        self.hoist_bounds_checks(code, loop)
        if not self.want_value:
            self.skip = self.value_only(loop.body)
        # a name an iteration's backward part restores must still go on from its
        # forward value in the next iteration (and reach the value after the loop);
        # the backward sweep of the code before the loop wants it as it was before
        kept = self.kept_for_value(loop, after) if self.want_value else {}
        copy = {n: ".copy()" if is_array(self.types[n]) else "" for n in kept}
        for name, (first, _) in kept.items():
            code.line(f"{first} = {name}{copy[name]}", "as the code before the loop left it")
        with code.block(f"for {loop.var} in {self.range_text(loop)}:"):
            self.forward(loop.body, code, taping=True)
            for name, (_, last) in kept.items():
                code.line(f"{last} = {name}{copy[name]}", "its value at the end of this iteration")
            # arrays bound inside an iteration: their δ's start at zero, shaped
            # like this iteration's arrays (the restarts of the backward sweep
            # prepare the previous iteration's shapes, which this order never visits)
            inside = {s.sid for s in _walk(loop.body)}
            for name in self.program_order({s.target for s in _walk(loop.body) if isinstance(s, Op)}):
                if name in self.active and is_array(self.types[name]) and name not in self.plan.lazy and \
                        all(s.sid in inside for s in _walk(self.fn.body)
                            if name in reads(s) + control_reads(s) or
                            (isinstance(s, (Op, SetItem)) and name in writes(s))):
                    code.line(f"{self.d(name)} = np.zeros_like({name})")
            self.loop_body(code, loop)
            for name, (_, last) in kept.items():
                code.line(f"{name} = {last}", "the next iteration goes on from it")
        self.skip = set()
        self.last_line = None
        if self.want_value:
            code.comment("forward sweep of the code after the loop: the value")
            self.forward(after, code, taping=True)
            code.line(f"{self.result} = {atom_text(self.return_atom())}")
            for name, (first, _) in kept.items():
                code.line(f"{name} = {first}", "for the backward sweep of the code before the loop")
        else:
            code.line(f"{self.result} = 0.0  # only the gradient was asked for: the sums are not formed")
        code.comment("backward sweep of the code before the loop")
        self.popping_views = not self.segmented
        self.backward(before, code)
        self.popping_views = False

    def kept_for_value(self, loop, after):
        """{name: (fresh name before the loop, fresh name for an iteration's
        end)} for the names a fused loop writes and restores in each iteration
        that the loop or the code after it reads."""
        restored = {n for st in _walk(loop.body) if isinstance(st, (Op, SetItem))
                    for n in writes(st) if n in self.plan.restored}
        read = {n for st in _walk(tuple(loop.body) + tuple(after)) for n in reads(st) + control_reads(st)}
        return {n: (self.namer.fresh(f"{n}_first"), self.namer.fresh(f"{n}_last"))
                for n in self.program_order(restored & read)}

    def value_only(self, block):
        """Statements of a fused loop body that only build the value (the sums
        and what feeds nothing but them): a gradient-only adjoint skips them.
        Element reads stay, with their bounds checks."""
        needed = set()
        for stmt in walk(block):
            if self.plan.work.get(stmt.sid):
                for need in self.plan.needs.get(stmt.sid, []):
                    needed.add(need.name)
                    needed.update(n for op in need.define for n in reads(op))
            needed.update(control_reads(stmt))
            needed.update(name for _, name in self.plan.snapshots.get(stmt.sid, ()))
            if isinstance(stmt, SetItem):
                needed.update(reads(stmt))
            elif isinstance(stmt, Op) and stmt.target in self.plan.restored:
                needed.add(stmt.target)
        changed = True
        while changed:
            changed = False
            for stmt in walk(block):
                if isinstance(stmt, Op) and stmt.target in needed and not set(reads(stmt)) <= needed:
                    needed.update(reads(stmt))
                    changed = True
        return {s.sid for s in walk(block)
                if isinstance(s, Op) and s.op != "getitem" and s.target not in needed}

    def program_order(self, names):
        """`names` ordered by first appearance: parameters, then definitions."""
        seen = list(self.fn.params)
        for stmt in _walk(self.fn.body):
            if isinstance(stmt, Op):
                seen.append(stmt.target)
        rank = {n: k for k, n in reversed(list(enumerate(seen)))}
        return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))

    def init_deltas(self, code):
        self.init_lines = (len(code.lines), len(code.lines) + len(self.active))
        for name in self.program_order(self.active):
            t = self.types[name]
            code.line(f"{self.d(name)} = np.zeros_like({name})" if is_array(t) else f"{self.d(name)} = 0.0")
        self.zero = set(self.active)     # (an array's δ: zeros of its final shape, until assigned)
        ret = self.return_atom()
        if isinstance(ret, Name) and ret.id in self.active:
            self.add_delta(code, ret.id, self.d_out, "δ of the output")

    def add_delta(self, code, name, expr, comment, sign="+="):
        """d_name += expr, written as an assignment while d_name is known to be
        zero (0.0 + x is a real addition in IEEE arithmetic: it would lengthen
        the dependency chains of the backward loop)."""
        if name in self.zero:
            self.zero.discard(name)
            value = expr if sign == "+=" else f"-({expr})" if " " in expr else f"-{expr}"
            code.line(f"{self.d(name)} = {value}", comment)
        else:
            code.line(f"{self.d(name)} {sign} {expr}", comment)

    def gradient_of(self, w):
        if w in self.active:
            return self.d(w)
        return f"np.zeros({w}.shape)" if is_array(self.types.get(w)) else "0.0"

    def backward(self, block, code):
        for stmt in reversed(block):
            self.pop_snapshot(code, stmt)
            if not self.plan.work.get(stmt.sid):
                continue
            self.source_comment(code, stmt)
            self.restore(code, stmt)
            if isinstance(stmt, Op):
                if stmt.target in self.active:
                    self.backward_op(code, stmt)
                self.pop_old_value(code, stmt)
                if stmt.target in self.active and is_array(self.types[stmt.target]):
                    self.restart_array(code, stmt)
            elif isinstance(stmt, SetItem):
                if stmt.array in self.active:
                    self.backward_setitem(code, stmt)
                self.pop_old_region(code, stmt)
            elif isinstance(stmt, If):
                self.backward_if(code, stmt)
            elif isinstance(stmt, For) and stmt.sid in self.segmented:
                self.backward_checkpointed(stmt, code)
            elif isinstance(stmt, For):
                self.backward_for(code, stmt)
            elif isinstance(stmt, While):
                k = self.namer.fresh("k", numbered=True)
                with code.block(f"for {k} in range({stmt.counter}):"):
                    self.last_line = None
                    self.loop_body(code, stmt)
            if isinstance(stmt, (For, While)):
                self.pop_saved(code, stmt)

    def source_comment(self, code, stmt):
        if stmt.loc.lineno != self.last_line:
            code.comment(f"line {stmt.loc.lineno}: {stmt.loc.text}")
            self.last_line = stmt.loc.lineno

    def restore(self, code, stmt):
        needs = self.plan.needs.get(stmt.sid, [])
        for need in reversed([n for n in needs if n.how == "tape"]):
            if need.shape:
                tape, top = self.tape["i"]
                ndim = self.types[need.name][1]
                code.line(f"{top} -= {ndim}")
                dims = ", ".join(f"{tape}[{top}{f' + {k}' if k else ''}]" for k in range(ndim))
                code.line(f"{self.shape_var(need.name)} = ({dims}{',' if ndim == 1 else ''})",
                          "its shape, from the tape")
                continue
            if is_array(self.types.get(need.name)):
                raise SrcgradError(f"the backward sweep needs the array '{need.name}' after it was overwritten, "
                                   "and srcgrad cannot keep it (an integer or boolean array)",
                                   filename=stmt.loc.filename, lineno=stmt.loc.lineno, construct="array overwrite",
                                   hint=f"give each value of '{need.name}' its own name")
            tape, top = self.tape[need.tape]
            value = f"{tape}[{top}]"
            if self.types.get(need.name) == "bool":
                value += " != 0"
            code.line(f"{top} -= 1")
            code.line(f"{need.name} = {value}", "restored from the tape")
        for define in recompute_order(needs):
            text = f"{define.target} = {self.op_text(define)}"
            if not still_recomputed(code, text, {define.target, *reads(define)}):
                code.line(text, "recomputed, not taped")

    def pop_snapshot(self, code, stmt):
        """The names pushed just after `stmt` (`TapePlan.snapshots`), for the backward steps from here."""
        for kind, name in reversed(self.plan.snapshots.get(stmt.sid, ())):
            tape, top = self.tape[kind]
            code.line(f"{top} -= 1")
            code.line(f"{name} = {tape}[{top}]" + (" != 0" if kind == "b" else ""),
                      "its value here, from the tape")

    def shape_var(self, name):
        if name not in self.shape_vars:
            self.shape_vars[name] = self.namer.fresh(f"shape_{name}")
        return self.shape_vars[name]

    def pop_array(self, code, target, ndim):
        """target = the array last pushed (its shape first, on the int tape)."""
        tape_i, top_i = self.tape["i"]
        tape_f, top_f = self.tape["f"]
        code.line(f"{top_i} -= {ndim}")
        dims = [f"{tape_i}[{top_i}{f' + {k}' if k else ''}]" for k in range(ndim)]
        size = " * ".join(dims)
        code.line(f"{top_f} -= {size}")
        elements = f"{tape_f}[{top_f}:{top_f} + {size}]"
        if not self.popping_views:
            # a fused loop's next iteration, a checkpointed segment's rerun push over what was popped
            elements += ".copy()"
            why = "restore the value before this assignment"
        else:
            why = "restore the value before this assignment: a view of the tape (nothing pushes after the forward sweep)"
        if ndim > 1:
            elements += f".reshape(({', '.join(dims)}))"
        code.line(f"{target} = {elements}", why)

    def pop_old_region(self, code, stmt):
        """Put back the elements a SetItem overwrote (a restored array)."""
        if stmt.array not in self.plan.restored or not self.plan.work.get(stmt.sid):
            return
        region, rank = self.plan.region(stmt)
        if rank:
            popped = self.namer.fresh("popped")
            self.pop_array(code, popped, rank)
            code.line(f"{region} = {popped}")
            return
        if stmt.sid in self.plan.undo:
            code.line(f"{region} = {self.plan.undo[stmt.sid]}", "undo the negation: nothing taped")
            return
        kind = "i" if self.types[stmt.array][2] != "float64" else "f"
        tape, top = self.tape[kind]
        code.line(f"{top} -= 1")
        code.line(f"{region} = {tape}[{top}]", "restore the overwritten element")

    def restart_array(self, code, stmt):
        """δ of the array's previous binding starts at zero, with its shape."""
        z = stmt.target
        if stmt.sid in self.plan.rebind:
            ndim = self.plan.rebind[stmt.sid][1]
            tape, top = self.tape["i"]
            code.line(f"{top} -= {ndim}")
            dims = ", ".join(f"{tape}[{top}{f' + {k}' if k else ''}]" for k in range(ndim))
            code.line(f"{self.d(z)} = np.zeros(({dims}{',' if ndim == 1 else ''}))", "δ of the previous binding")
            self.zero.add(z)
        elif z in self.plan.restored and z in self.plan.rebindable:
            code.line(f"{self.d(z)} = np.zeros_like({z})", "δ of the previous binding")
            self.zero.add(z)
        elif z in self.plan.lazy:
            self.zero.add(z)        # the next contribution assigns it

    def pop_saved(self, code, loop):
        """Give back the values of the sums saved around `loop` (`TapePlan.saved`)."""
        for name in reversed(self.plan.saved.get(loop.sid, ())):
            tape, top = self.tape[self.plan.restored[name]]
            code.line(f"{top} -= 1")
            code.line(f"{name} = {tape}[{top}]", "its value before the loop that only added to it")

    def pop_old_value(self, code, stmt):
        if stmt.sid in self.plan.unsaved:
            return              # (saved once around its loop)
        if stmt.sid in self.plan.undo:
            code.line(f"{stmt.target} = {self.plan.undo[stmt.sid]}",
                      "undo the negation: nothing taped" if self.plan.undo[stmt.sid].startswith("-")
                      else "undo the integer step: nothing taped")
            return
        kind = self.plan.restored.get(stmt.target)
        if kind == "fa":
            self.pop_array(code, stmt.target, self.types[stmt.target][1])
            return
        if kind:
            tape, top = self.tape[kind]
            value = f"{tape}[{top}]" + (" != 0" if self.types.get(stmt.target) == "bool" else "")
            code.line(f"{top} -= 1")
            code.line(f"{stmt.target} = {value}", "restore the value before this assignment")

    def backward_op(self, code, stmt):
        z, d_z = stmt.target, self.d(stmt.target)
        z_array = is_array(self.types[z])
        if stmt.op in ("getitem", "slice"):
            self.backward_read(code, stmt)
        elif z_array and stmt.op in ("copy", "array_copy"):
            source = stmt.args[0]
            self.handed_off, self.dying_is_array, self.dying_z = False, True, z
            if isinstance(source, Name) and source.id in self.active:
                self.add_array_delta(code, source.id, ast.Name(d_z, ast.Load()), "copy: δ passes unchanged", d_z)
        elif not z_array and stmt.args and stmt.args[0] == Name(z):   # s = s ± e: d_s flows unchanged
            if isinstance(stmt.args[1], Name) and stmt.args[1].id in self.active:
                sign = "+=" if stmt.op == "add" else "-="
                self.add_delta(code, stmt.args[1].id, d_z, RULES[stmt.op].label, sign)
            return
        elif z_array and z in self.zero:
            pass        # no δ reached this array: nothing flows back
        elif rule_templates(stmt, self.types) is not None:
            self.backward_rule(code, stmt)
        if not z_array:
            if z in self.redefined:      # an earlier value of z has its own δ: restart it
                code.line(f"{d_z} = 0.0")
            self.zero.add(z)

    def touched(self, name):
        """d_name is about to change in place: no longer known zero or uniform."""
        self.zero.discard(name)
        self.uniform.pop(name, None)

    def uniform_delta(self, stmt):
        """What d_z is a spread copy of (δ of a sum: a scalar, or an array
        broadcasting to z's shape) when the rule may read it instead of d_z:
        an elementwise rule whose single array operand has z's shape, each of
        its δ templates reading that operand (so broadcasting restores the shape)."""
        z = stmt.target
        if z not in self.uniform or stmt.op not in RULES:
            return None
        arrays_in = [a for a in stmt.args if self.rank(a)]
        root = self.plan.shape_root.get(z)
        if len(arrays_in) != 1 or root is None or self.plan.shape_root.get(arrays_in[0].id, arrays_in[0].id) != root:
            return None
        rule = RULES[stmt.op]
        array_input = rule.inputs[stmt.args.index(arrays_in[0])]
        for expr in rule.vjp:
            names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
            if not (isinstance(expr, ast.Constant) or names & {array_input, "z"}):
                return None
        return self.uniform[z]

    def backward_rule(self, code, stmt):
        """The rule's δ contributions, one line per active input."""
        z, d_z = stmt.target, self.d(stmt.target)
        inputs, vjp = rule_templates(stmt, self.types)
        uniform = self.uniform_delta(stmt)
        mapping = {"d_z": Name(uniform or d_z), "z": Name(z), **dict(zip(inputs, stmt.args))}
        label = arrays.label(stmt.op if stmt.op != "dot" else "matmul")
        seen = set()
        self.handed_off = False
        self.dying_is_array, self.dying_z = is_array(self.types[z]), z
        for expr, arg in zip(vjp, stmt.args):
            if expr is None or not (isinstance(arg, Name) and arg.id in self.active):
                continue
            contribution = self.shapes_resolved(substitute(expr, mapping), stmt)
            if is_zero(contribution):
                continue
            text = label if arg.id not in seen else "split: a reused value sums its δ's"
            seen.add(arg.id)
            if is_array(self.types[arg.id]):
                self.add_array_delta(code, arg.id, contribution, text, d_z)
            else:
                self.add_delta(code, arg.id, render(contribution), text)

    def shapes_resolved(self, expr, stmt):
        """SHAPE(x) -> x.shape, or the shape popped from the tape when x was overwritten."""
        taped = {n.name for n in self.plan.needs.get(stmt.sid, []) if n.shape and n.how == "tape"}
        gen = self

        class Shapes(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if isinstance(node.func, ast.Name) and node.func.id == "SHAPE":
                    name = gen.plan.shape_root.get(node.args[0].id, node.args[0].id)
                    if name in taped:
                        return ast.Name(gen.shape_var(name), ast.Load())
                    return ast.Attribute(ast.Name(name, ast.Load()), "shape", ast.Load())
                return node
        return Shapes().visit(expr)

    def add_array_delta(self, code, name, expr, comment, dying=None):
        """d_name += expr for an array δ. While d_name is known zero it is
        assigned instead; an expression that may share memory with a living δ
        (a view, or a δ handed to two inputs) is copied first. Added to a δ
        that holds values, a negation subtracts and a router (`IN_PLACE`)
        adds its few elements in place: no full-size temporary."""
        d = self.d(name)
        call = expr.func.id if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) else None
        if name not in self.zero:
            self.touched(name)
            if call == "BCAST":
                code.line(f"{d} += {render(expr.args[0])}", comment)
            elif isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
                code.line(f"{d} -= {render(expr.operand)}", comment)
            elif call in arrays.IN_PLACE:
                code.line(f"{arrays.IN_PLACE[call]}({', '.join([d] + [render(a) for a in expr.args])})", comment)
            elif scaled := self.scaled(name, expr):
                # written out here: a helper call (passing the arrays) costs more than the loop
                scalar, array = (render(a) for a in scaled)
                k = self.namer.fresh("q", numbered=True)
                with code.block(f"if {d}.shape[0] == {array}.shape[0]:"):
                    with code.block(f"for {k} in range({array}.shape[0]):"):
                        code.line(f"{d}[{k}] += {scalar} * {array}[{k}]", comment + " (in place)")
                with code.block("else:"):
                    code.line(f"{d} += {scalar} * {array}", comment)
            else:
                code.line(f"{d} += {render(expr)}", comment)
            return
        self.zero.discard(name)
        if call == "BCAST":     # the δ of a sum, the same for every summed element
            value, shape = (render(a) for a in expr.args)
            scalar = value == dying and not self.dying_is_array
            code.line(f"{d} = np.full({shape}, {value})" if scalar else f"{d} = np.zeros({shape}) + {value}",
                      comment)
            # the sum's dying δ (a scalar, or an array broadcasting to the shape) stays as it is:
            # the next elementwise rule may read it instead of d_name (`uniform_delta`)
            if dying is not None and value in (dying, f"{dying}[:, None]") and self.dying_z not in self.redefined:
                self.uniform[name] = value
            return
        text = render(expr)
        source = _alias_source(expr)
        if source is not None:
            if source == dying and not self.handed_off:
                self.handed_off = True           # the δ dies here: hand it over
            else:
                text += ".copy()"
        code.line(f"{d} = {text}", comment)

    def scaled(self, name, expr):
        """(scalar, array) when expr is `scalar * array` (either order) for a
        vector δ: added in place by a loop, no temporary (the δ of a dot product)."""
        rank = self.types[name][1] if is_array(self.types.get(name)) else 0
        if rank != 1 or self.types[name][2] != "float64" or \
                not (isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mult)):
            return None
        primal_of = {d: n for n, d in self.namer.delta.items()}       # a δ has its primal's type
        for scalar, array in ((expr.left, expr.right), (expr.right, expr.left)):
            scalar_ok = isinstance(scalar, ast.Constant) or isinstance(scalar, ast.Name) and \
                self.types.get(primal_of.get(scalar.id, scalar.id)) in ("float", "int")
            array_ok = isinstance(array, ast.Name) and self.types.get(array.id) == ("array", rank, "float64")
            if scalar_ok and array_ok:
                return scalar, array
        return None

    def backward_read(self, code, stmt):
        """An element, row, slice or gathered part read from an array: its δ
        goes back into that part of the array's δ."""
        array, d_z = stmt.args[0].id, self.d(stmt.target)
        if array not in self.active:
            return
        self.touched(array)             # updated in place from here on
        index = stmt.args[1:]
        fancy = [a for a in index if self.rank(a)]
        if fancy:
            helper = "scatter1" if len(index) == 1 else "scatter2"
            code.line(f"{helper}({self.d(array)}, {', '.join(atom_text(a) for a in index)}, {d_z})",
                      "gather: δ scattered back to the picked elements")
            return
        spec = stmt.static if stmt.op == "slice" else None
        if spec and "n" in spec:
            parts = [("0" if p == "n" else ":") for p in spec if p != "i"]
            d_z = f"{d_z}[{', '.join(parts)}]"
            keep = tuple(p for p in spec if p != "n")
            region = index_text(self.d(array), index, keep)
            code.line(f"{region} += {d_z}", "read: δ back into the part read")
            return
        region = index_text(self.d(array), index, spec)
        rank = self.rank(Name(stmt.target))
        code.line(part_update(region, rank, d_z, rank, "add") or f"{region} += {d_z}",
                  "read: δ back into the part read")

    def backward_setitem(self, code, stmt):
        if stmt.spec is None and len(stmt.index) == self.types[stmt.array][1]:
            self.backward_set_element(code, stmt)
            return
        region = index_text(self.d(stmt.array), stmt.index, stmt.spec)
        value = stmt.value
        if isinstance(value, Name) and value.id in self.active:
            text = "write: the part's δ goes to the value"
            region_rank = self.plan.region(stmt)[1]
            if is_array(self.types[value.id]):
                shape = self.shapes_resolved(ast.parse(f"SHAPE({value.id})", mode="eval").body, stmt)
                expr = ast.parse(f"ub{region_rank}{self.types[value.id][1]}({region}, {render(shape)})",
                                 mode="eval").body
                if stmt.mode == "sub":
                    expr = ast.UnaryOp(ast.USub(), expr)
                self.add_array_delta(code, value.id, expr, text)
            else:
                self.add_delta(code, value.id, f"np.sum({region})", text, "-=" if stmt.mode == "sub" else "+=")
        if stmt.mode == "set":
            self.touched(stmt.array)
            code.line(f"{region} = 0.0", "the old part was overwritten")

    def backward_set_element(self, code, stmt):
        d_elem = self.d_index(stmt.array, stmt.index)
        value = stmt.value
        if isinstance(value, Name) and value.id in self.active:
            sign = "-=" if stmt.mode == "sub" else "+="
            self.add_delta(code, value.id, d_elem, "write: the element's δ goes to the value", sign)
        if stmt.mode == "set":
            code.line(f"{d_elem} = 0.0", "the old element was overwritten")

    def d_index(self, array, index):
        return f"{self.d(array)}[{', '.join(atom_text(i) for i in index)}]"

    def backward_if(self, code, stmt):
        body = self.plan_has_work(stmt.body)
        orelse = self.plan_has_work(stmt.orelse)
        self.last_line = None
        before = set(self.zero)
        if body:
            with code.block(f"if {stmt.flag}:"):
                self.backward(stmt.body, code)
            after_body, self.zero = self.zero, set(before)
            if orelse:
                self.last_line = None
                with code.block("else:"):
                    self.backward(stmt.orelse, code)
            self.zero &= after_body
        else:
            with code.block(f"if not {stmt.flag}:"):
                self.backward(stmt.orelse, code)
            self.zero &= before
        self.last_line = None

    def loop_body(self, code, loop):
        """Reverse a loop body; δ's known zero inside are those of temporaries
        local to one iteration (each iteration zeroes them again)."""
        local = self.iteration_locals(loop)
        touched = {n for s in _walk(loop.body) for n in reads(s) + sorted(writes(s))}
        outside = self.zero - touched
        self.zero = set(local)
        carried = {s.target for s in loop.body if isinstance(s, Op) and s.target in self.active
                   and not is_array(self.types[s.target]) and s.target not in local}
        if preaccumulate.eligible(self, loop, carried):
            preaccumulate.Preaccumulator(self, code, carried, loop.body).run(loop.body)
        else:
            self.backward(loop.body, code)
        self.zero = outside | local

    def iteration_locals(self, loop):
        inside = {s.sid for s in _walk(loop.body)}
        users, readers = {}, {}
        for s in _walk(self.fn.body):
            if isinstance(s, (Op, SetItem, Return)):
                for n in reads(s) + sorted(writes(s)):
                    users.setdefault(n, []).append(s)
                for n in reads(s):
                    readers.setdefault(n, []).append(s)
        local = {n for n in self.plan.lazy if all(s.sid in inside for s in users.get(n, []))}
        for name in self.active:
            # (a binding outside the loop, `step = 1.0` before a while, sends no δ into it)
            if is_array(self.types[name]) or not all(s.sid in inside for s in readers.get(name, [])):
                continue
            # (the first statement touching it: a branch or inner loop reading it, ahead of the
            # assignment, reads the previous iteration's value, whose δ crosses iterations)
            first = next((s for s in loop.body if name in _reads_within(s) or name in writes(s)), None)
            if isinstance(first, Op) and first.target == name and name not in reads(first):
                local.add(name)
        return local

    def plan_has_work(self, block):
        return any(self.plan.work.get(s.sid) for s in block)

    def backward_for(self, code, stmt):
        var = stmt.var
        start, stop, step = (atom_text(a) for a in (stmt.start, stmt.stop, stmt.step))
        self.last_line = None
        if not stmt.counter and fusion.order_free(self.fn, stmt, self.types, self.plan):
            code.comment("its iterations only add to sums and use no tape: any order will do")
            with code.block(f"for {var} in {self.range_text(stmt)}:"):
                self.loop_body(code, stmt)
        elif stmt.step == Const(1):
            last = f"{start} + {stmt.counter} - 1" if stmt.counter else f"{stop} - 1"
            header = f"for {var} in range({_simplify(last)}, {_simplify(f'{start} - 1')}, -1):"
            with code.block(header):
                self.loop_body(code, stmt)
        else:
            trips = stmt.counter or f"range_len({start}, {stop}, {step})"
            k = self.namer.fresh("k", numbered=True)
            with code.block(f"for {k} in range({trips} - 1, -1, -1):"):
                code.line(f"{var} = {start} + {k} * {step}")
                self.loop_body(code, stmt)
        self.last_line = None


def _alias_source(expr):
    """The δ name an expression may share memory with (a name, a view of it,
    or a helper that may return its argument); None for a fresh array."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, (ast.Subscript, ast.Attribute)):
        return _alias_source(expr.value)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and \
            expr.func.id in ("ub11", "ub22", "reshape_to", "flat1", "flat2"):
        return _alias_source(expr.args[0])
    return None


def _simplify(text):
    """Tidy `0 + n - 1` / `0 - 1` style bounds."""
    if text.startswith("0 + "):
        text = text[4:]
    return {"0 - 1": "-1"}.get(text, text)


def _walk(block):
    from .program import walk
    return walk(block)


def _reads_within(stmt):
    """Names a statement reads, those of the statements nested in it included."""
    from .program import walk
    names = set(reads(stmt)) | set(control_reads(stmt))
    for child in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
        for inner in walk(child or ()):
            names |= set(reads(inner)) | set(control_reads(inner))
    return names
