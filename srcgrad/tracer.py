"""The tracing interpreter behind `explain`: the normalized program run step
by step in Python, then the δ recurrence run backwards over the record
(`delta_sweep`).

Input: a normalized `Function` (`pipeline.normalized`), checked argument
values and the wrt names. Output: a `Trace` holding one `Row` per executed
primitive step in program order -- its forward value x_k, its local
derivatives g_k'(x_k), the δ it received and the δ it passed to each input --
plus the loops and branches around the rows (`Loop`, `Branch`).

Invariants:
- no derivative math here: forward values (and, in `delta_sweep`, δ's) are
  the rule table's own templates evaluated by Python (`pyeval.rule_forms`);
  only structure (indexing, shapes, new arrays) is written out;
- every assignment makes a new version of its name (a node of the
  computational graph): an overwritten value keeps its own δ, and a value
  read twice sums the δ's its readers pass back (a split adds);
- arrays are never changed in place: an element write copies the array (a
  Python tape), so every row keeps the values it saw;
- what the interpreter cannot run raises `SrcgradError` naming the line.
"""
import ast
import copy
from dataclasses import dataclass, field

import numpy as np

from .delta_sweep import backward
from .emit import atom_ast, atom_text, index_text, render
from .errors import SrcgradError
from .program import BreakIf, For, If, Name, Op, Return, SetItem, While
from .pyeval import (
    NAMESPACE,
    evaluate,
    flows,
    format_value,
    is_float,
    numpy_index,
    plain,
    rank,
    rule_forms,
)
from .rules import RULES, arrays

MAX_STEPS = 200_000              # rows a trace may hold (each keeps its values)
MAX_COPIED_BYTES = 256 * 2 ** 20  # arrays copied by element writes, all together


@dataclass
class Row:
    """One executed primitive step (raw values; `explain` prints them)."""
    index: int               # 0-based position in program order (the table's # is index + 1)
    lineno: int
    source: str              # text of the source line the step comes from
    filename: str
    iteration: tuple         # 0-based iteration number in each enclosing loop, outermost first
    target: str              # the name assigned (the array, for an element write)
    op: str                  # rule name ('mul', 'exp', …) or 'getitem', 'setitem', 'opaque', …
    text: str                # the step written out: 't1 = w1 * x1'
    inputs: tuple            # each input as written: 'w1', '2.0'
    input_values: tuple
    producers: tuple         # per input: step index (int), parameter name (str), None (constant)
    value: object            # x_k: the step's forward value
    label: str               # the rule's wording from the lecture
    static: tuple = ()       # the Op's static arguments; ("set" | "add" | "sub", spec) for a write
    active: bool = False     # carries a δ: a float that depends on a wrt parameter
    active_inputs: tuple = ()
    local: tuple = ()        # per input: ∂ value / ∂ input at x_k (None where not shown)
    delta: object = None     # δ received: δ of the value (None if not active)
    passed: tuple = ()       # per input: δ passed on (None for inputs without δ)


@dataclass
class Loop:
    number: int              # 1, 2, … in execution order (deterministic graph ids)
    stmt: object             # the `For` or `While`
    iterations: list = field(default_factory=list)   # per iteration: its items
    values: list = field(default_factory=list)       # the loop variable per iteration (for loops)


@dataclass
class Branch:
    stmt: object             # the `If`
    taken: bool
    items: list = field(default_factory=list)


@dataclass
class Trace:
    rows: list
    items: list              # row indices, `Loop`s and `Branch`es in program order
    params: dict             # parameter name -> value (wrt ints made floats)
    wrt: tuple
    value: object
    output: object           # producer of the returned value (like Row.producers)
    output_text: str
    param_deltas: dict       # wrt name -> final δ (the gradient)


def rows_in(items):
    """The row indices among `items` and inside their loops and branches, in program order."""
    for item in items:
        if isinstance(item, Loop):
            for iteration in item.iterations:
                yield from rows_in(iteration)
        elif isinstance(item, Branch):
            yield from rows_in(item.items)
        else:
            yield item


def run(fn, values, wrt):
    """Trace `fn` at `values` (one per parameter) and run the δ sweep."""
    tracer = Tracer(fn, values, wrt)
    trace = tracer.forward()
    backward(trace)
    return trace


# --- the forward run --------------------------------------------------------------------------

class Tracer:
    def __init__(self, fn, values, wrt):
        self.fn, self.wrt = fn, tuple(wrt)
        self.env = {}            # name -> current value
        self.producer = {}       # name -> what made the current value (Row.producers)
        for name, value in zip(fn.params, values):
            if name in self.wrt and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)        # as the compiled gradient does
            self.env[name], self.producer[name] = value, name
        self.params = dict(self.env)
        self.varied = {w for w in self.wrt if is_float(self.env[w])}
        self.rows, self.path, self.loops, self.copied = [], (), 0, 0
        self.raw_code = {}       # sid -> compiled condition

    def fail(self, stmt, message, construct="runtime error", hint=None):
        return SrcgradError(message, filename=stmt.loc.filename, lineno=stmt.loc.lineno, construct=construct,
                            hint=hint)

    def forward(self):
        items, _ = self.block(self.fn.body)
        ret = [s for s in self.fn.body if isinstance(s, Return)][-1]
        value = self.atom(ret.value)
        if isinstance(value, np.ndarray):
            raise self.fail(ret, f"{self.fn.name} returns an array of shape {value.shape}; explain needs one "
                                 "scalar output", "non-scalar output", "return a float, e.g. a sum of squares")
        output = self.producer.get(ret.value.id) if isinstance(ret.value, Name) else None
        return Trace(self.rows, items, self.params, self.wrt, value, output, atom_text(ret.value), {})

    def atom(self, atom):
        return self.env[atom.id] if isinstance(atom, Name) else atom.value

    def source_of(self, atom):
        return self.producer.get(atom.id) if isinstance(atom, Name) else None

    def block(self, stmts):
        """Run statements; (items, whether a BreakIf fired)."""
        items = []
        for stmt in stmts:
            if isinstance(stmt, Op):
                items.append(self.op(stmt))
            elif isinstance(stmt, SetItem):
                items.append(self.setitem(stmt))
            elif isinstance(stmt, If):
                taken = bool(self.env[stmt.flag])
                branch = Branch(stmt, taken)
                branch.items, broke = self.block(stmt.body if taken else stmt.orelse)
                items.append(branch)
                if broke:
                    return items, True
            elif isinstance(stmt, (For, While)):
                items.append(self.loop(stmt))
            elif isinstance(stmt, BreakIf):
                if self.condition(stmt, stmt.cond):
                    return items, True
            elif not isinstance(stmt, Return):
                raise self.fail(stmt, f"explain cannot run a {type(stmt).__name__} statement", type(stmt).__name__)
        return items, False

    def compiled_raw(self, stmt):
        """The forward-only expression of an opaque Op, a while or a BreakIf, compiled once."""
        if stmt.sid not in self.raw_code:
            expr = stmt.raw if isinstance(stmt, Op) else stmt.cond
            tree = ast.fix_missing_locations(ast.Expression(copy.deepcopy(expr)))
            self.raw_code[stmt.sid] = compile(tree, "<condition>", "eval")
        return self.raw_code[stmt.sid]

    def condition(self, stmt, expr):
        try:
            return bool(eval(self.compiled_raw(stmt), NAMESPACE, dict(self.env)))
        except Exception as exc:       # noqa: BLE001  (the user's condition fails: say where)
            raise self.fail(stmt, f"the condition `{render(expr)}` fails: {type(exc).__name__}: {exc}") from None

    def loop(self, stmt):
        self.loops += 1
        loop = Loop(self.loops, stmt)
        outer = self.path
        for value in self.loop_values(stmt):
            if isinstance(stmt, For):
                self.env[stmt.var], self.producer[stmt.var] = value, None
                loop.values.append(value)
            self.path = outer + (len(loop.iterations),)
            items, broke = self.block(stmt.body)
            loop.iterations.append(items)
            if broke:
                break
        self.path = outer
        if stmt.counter:
            self.env[stmt.counter], self.producer[stmt.counter] = len(loop.iterations), None
        return loop

    def loop_values(self, stmt):
        """The for loop's variable per iteration; for a while loop, None while its condition holds."""
        if isinstance(stmt, For):
            bounds = [self.atom(a) for a in (stmt.start, stmt.stop, stmt.step)]
            if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
                raise self.fail(stmt, f"range() bounds must be integers, got {bounds}", "range")
            yield from range(*bounds)
            return
        while self.condition(stmt, stmt.cond):
            yield None

    def op(self, stmt):
        args = [self.atom(a) for a in stmt.args]
        atoms = [atom_text(a) for a in stmt.args]
        try:
            shown, label, compute = self.describe(stmt, args, atoms)
        except arrays.Unsupported as exc:
            raise self.fail(stmt, f"explain has no form of '{stmt.op}' here: {exc}", stmt.op) from None
        text = f"{stmt.target} = {shown}"
        try:
            value = plain(compute())
        except Exception as exc:       # noqa: BLE001  (a step fails for these values: say which)
            named = ", ".join(f"{a}={format_value(v)}" for a, v in zip(atoms, args) if a.isidentifier())
            raise self.fail(stmt, f"the step `{text}` fails{' for ' + named if named else ''}: "
                                  f"{type(exc).__name__}: {exc}") from None
        producers = tuple(self.source_of(a) for a in stmt.args)
        row = self.record(stmt, stmt.target, text, atoms, args, producers, value, label)
        row.static = stmt.static
        flowing = (1 if stmt.op in ("getitem", "slice") else len(args)) if flows(stmt.op) else 0
        row.active_inputs = tuple(k < flowing and p in self.varied for k, p in enumerate(producers))
        self.finish(row, stmt.target)
        return row.index

    def describe(self, stmt, args, atoms):
        """(the step's right side as written, its label, a function computing its value)."""
        op = stmt.op
        if op == "opaque":
            return render(stmt.raw), "condition: forward only, no δ", \
                lambda: eval(self.compiled_raw(stmt), NAMESPACE, dict(self.env))
        if op == "array_copy":
            return f"{atoms[0]}.copy()", RULES["copy"].label, lambda: args[0]
        if op in STRUCTURAL:
            shown, compute = STRUCTURAL[op](stmt, args, atoms)
            return shown, "read: δ back into the part read" if op in ("getitem", "slice") else "", compute
        forms = rule_forms(op, tuple(rank(a) for a in args), stmt.static)
        shown = render(_written(forms.shown, dict(zip(forms.inputs, stmt.args))))
        return shown, forms.label, lambda: evaluate(forms.primal, args)

    def setitem(self, stmt):
        array, value = self.env[stmt.array], self.atom(stmt.value)
        index = [self.atom(a) for a in stmt.index]
        if any(isinstance(i, np.ndarray) for i in index):
            raise self.fail(stmt, "explain does not show writes through an integer-array index",
                            "array write", "write the elements in a loop")
        self.copied += array.nbytes
        if self.copied > MAX_COPIED_BYTES:
            raise self.fail(stmt, "explain keeps a copy of an array for every element write, and these arguments "
                                  f"need more than {MAX_COPIED_BYTES >> 20} MiB", "runtime error",
                            "explain the function on smaller arrays")
        new = array.copy()
        where = numpy_index(index, stmt.spec)
        try:
            if stmt.mode == "set":
                new[where] = value
            else:
                new[where] = new[where] + value if stmt.mode == "add" else new[where] - value
        except Exception as exc:       # noqa: BLE001
            raise self.fail(stmt, f"the write `{index_text(stmt.array, stmt.index, stmt.spec)}` fails: "
                                  f"{type(exc).__name__}: {exc}") from None
        sign = {"set": "=", "add": "+=", "sub": "-="}[stmt.mode]
        text = f"{index_text(stmt.array, stmt.index, stmt.spec)} {sign} {atom_text(stmt.value)}"
        producers = (self.producer.get(stmt.array), self.source_of(stmt.value)) + \
            tuple(self.source_of(a) for a in stmt.index)
        row = self.record(stmt, stmt.array, text, [stmt.array, atom_text(stmt.value)] +
                          [atom_text(a) for a in stmt.index], [array, value] + index, producers, new,
                          "write: the part's δ goes to the value, the rest stays with the array")
        row.static = (stmt.mode, stmt.spec)
        row.active_inputs = (producers[0] in self.varied, producers[1] in self.varied) + (False,) * len(index)
        self.finish(row, stmt.array)
        return row.index

    def record(self, stmt, target, text, inputs, values, producers, value, label):
        if len(self.rows) >= MAX_STEPS:
            raise self.fail(stmt, f"explain records every step, and this call runs more than {MAX_STEPS}",
                            "runtime error", "explain the function with fewer iterations (smaller arguments)")
        row = Row(len(self.rows), stmt.loc.lineno, stmt.loc.text, stmt.loc.filename, self.path, target,
                  getattr(stmt, "op", "setitem"), text, tuple(inputs), tuple(values), producers, value, label)
        self.rows.append(row)
        return row

    def finish(self, row, name):
        row.active = is_float(row.value) and any(row.active_inputs)
        if not row.active:
            row.active_inputs = (False,) * len(row.inputs)
        else:
            self.varied.add(row.index)
        self.env[name], self.producer[name] = row.value, row.index


def _written(template, atoms):
    """The template with its inputs replaced by the step's atoms, not simplified
    (`emit.substitute` would print `M * 1.0` as `M`: the table shows what runs)."""
    class Fill(ast.NodeTransformer):
        def visit_Name(self, node):
            return atom_ast(atoms[node.id]) if node.id in atoms else node
    return Fill().visit(copy.deepcopy(template))


def _read(stmt, args, atoms):
    spec = stmt.static if stmt.op == "slice" else None
    return index_text(atoms[0], stmt.args[1:], spec), lambda: args[0][numpy_index(args[1:], spec)]


def _create(stmt, args, atoms):
    kind = stmt.op.replace("_shape", "").replace("_like", "")
    fill = np.ones if kind == "ones" else np.zeros     # (np.empty's garbage shown as zeros)
    if stmt.op.endswith("_like"):
        return f"np.{stmt.op}({atoms[0]})", lambda: fill(args[0].shape, dtype=args[0].dtype)
    dtype = np.dtype(stmt.dtype)
    if stmt.op.endswith("_shape"):
        return f"np.{kind}({atoms[0]}.shape)", lambda: fill(args[0].shape, dtype=dtype)
    return f"np.{kind}(({', '.join(atoms)}{',' if len(atoms) == 1 else ''}))", lambda: fill(tuple(args), dtype=dtype)


STRUCTURAL = {      # op -> (stmt, argument values, argument texts) -> (text, value function)
    "getitem": _read, "slice": _read,
    "shape": lambda s, a, t: (f"{t[0]}.shape[{t[1]}]", lambda: a[0].shape[a[1]]),
    "len": lambda s, a, t: (f"len({t[0]})", lambda: len(a[0])),
    "size": lambda s, a, t: (f"{t[0]}.size", lambda: a[0].size),
    "ndim": lambda s, a, t: (f"{t[0]}.ndim", lambda: a[0].ndim),
    "eye": lambda s, a, t: (f"np.eye({t[0]})", lambda: np.eye(a[0])),
    "arange": lambda s, a, t: (f"np.arange({', '.join(t)})", lambda: np.arange(*a)),
}
for _kind in ("zeros", "ones", "empty"):
    for _suffix in ("", "_shape", "_like"):
        STRUCTURAL[_kind + _suffix] = _create
